//! Tests of the snapshot's layout (zone.rs): the sizes of a node and an
//! RRset, and what is derived instead of stored (signatures, covered
//! types, links and RDATA bounds) across node and segment boundaries.

use crate::snapshot::zone::*;
use crate::{load_with, BuildOptions, Checks, Source};
use levee_wire::name;
use levee_wire::rtype::t;

fn load(text: &str, segment_names: usize) -> Zone {
    try_load(text, segment_names).unwrap().zone
}

fn try_load(text: &str, segment_names: usize) -> Result<crate::Built, Vec<crate::Diagnostic>> {
    let o = name::from_text("example.", None).unwrap();
    let opts = BuildOptions { checks: Checks::Warn, segment_names };
    load_with(Source::Memory { name: "t", data: text.as_bytes() }, &o, &Default::default(), opts, &mut |_| {})
}

/// The sizes the memory budget counts on (octets per node and RRset).
#[test]
fn node_and_rrset_sizes() {
    assert_eq!(std::mem::size_of::<Node>(), 8);
    assert_eq!(std::mem::size_of::<RRset>(), 12);
}

const SIG: &str = "20300101000000 20200101000000 1 example. AAAA";

/// RRSIG sets are found as the next RRset of their node: a signed set
/// gets its own (types covered in any file order), an RRSIG set
/// covering a type its node lacks links to nothing, and the first
/// RRSIG set of the next node (covering the type of this node's last
/// set) is not taken for this node's; the type covered is read from
/// the RDATA; RDATA and links end where the next RRset's begin.
#[test]
fn derived_fields() {
    for seg in [4096, 2] {
        let text = format!(
            "$TTL 60\n@ SOA ns h 7 1 1 1 1\n@ NS ns\nns A 192.0.2.1\n\
             a RRSIG MX 8 2 60 {SIG}\na TXT \"t\"\na RRSIG TXT 8 2 60 {SIG}\na MX 1 ns\na MX 2 b\n\
             b A 192.0.2.2\nb AAAA ::1\nb RRSIG A 8 2 60 {SIG}\nc RRSIG AAAA 8 2 60 {SIG}\nc SRV 0 0 1 b\n\
             d NS ns\nd NS ns.d\nns.d A 192.0.2.3\ne NS b\n"
        );
        let z = load(&text, seg);
        let id = |n: &str| z.lookup(&name::from_text(n, Some(z.apex())).unwrap()).unwrap();
        let a = id("a");
        let (mx, txt) = (z.find(a, t::MX).unwrap(), z.find(a, t::TXT).unwrap());
        assert_eq!(z.rrset(z.sigs(mx)).rtype, t::RRSIG);
        assert_eq!((z.covers(z.sigs(mx)), z.covers(z.sigs(txt))), (t::MX, t::TXT));
        assert_eq!(z.rdatas(mx).count(), 2);
        // The MX records follow their links, inside the block.
        let ns = name::from_text("ns", Some(z.apex())).unwrap();
        assert_eq!(z.rdatas(mx).next().unwrap(), [&[0, 1][..], &ns].concat());
        // TTLs come back without the SIGNED bit, signed or not.
        assert_eq!((z.rrset(mx).ttl(), z.rrset(txt).ttl(), z.rrset(z.sigs(mx)).ttl()), (60, 60, 60));
        assert_eq!(z.rdatas(z.sigs(txt)).count(), 1);
        // MX targets: ns and b own addresses.
        assert_eq!(z.links(mx).collect::<Vec<_>>(), vec![id("ns"), id("b")]);
        assert_eq!(z.links(txt).count(), 0);
        let b = id("b");
        assert_eq!(z.covers(z.sigs(z.find(b, t::A).unwrap())), t::A);
        assert_eq!(z.sigs(z.find(b, t::AAAA).unwrap()), NONE, "c's RRSIG AAAA is not b's");
        let c = id("c");
        let srv = z.find(c, t::SRV).unwrap();
        assert_eq!((z.sigs(srv), z.links(srv).collect::<Vec<_>>()), (NONE, vec![b]));
        assert_eq!(z.node_rrsets(c).iter().map(|r| r.rtype).collect::<Vec<_>>(), vec![t::RRSIG, t::SRV]);
        assert_eq!(z.covers(z.node_first_rrset(c)), t::AAAA);
        assert_eq!(z.covers(txt), 0);
        let d = z.find(id("d"), t::NS).unwrap();
        assert_eq!(z.links(d).collect::<Vec<_>>(), vec![id("ns"), id("ns.d")]);
        assert_eq!(z.rdatas(d).collect::<Vec<_>>(), [&ns[..], &name::from_text("ns.d", Some(z.apex())).unwrap()]);
        // The last RRset of the zone: its records end the data.
        let e = z.find(id("e"), t::NS).unwrap();
        assert_eq!((z.rdatas(e).count(), z.links(e).collect::<Vec<_>>()), (1, vec![b]));
        assert_eq!(z.sigs(z.soa()), NONE);
        let all: usize = z.all_rrsets().map(|(_, r)| z.rdatas(r).count()).sum();
        assert_eq!(all as u64, z.record_count());
    }
}

/// A TTL with the top bit set (over 2^31 - 1, which RFC 2181 §8 reads
/// as 0) loads as 0 with a warning, and cannot be taken for the SIGNED
/// flag that shares its bit; 2^31 - 1 itself is kept, signed or not.
#[test]
fn ttl_top_bit_is_not_a_signature() {
    let text = format!(
        "@ 60 SOA ns h 7 1 1 1 1\n@ 60 NS ns\nns 60 A 192.0.2.1\n\
         a 4294967295 TXT \"t\"\nb 2147483647 TXT \"t\"\nb 60 RRSIG TXT 8 2 60 {SIG}\n"
    );
    let built = try_load(&text, 4096).unwrap();
    let w = built.warnings.iter().find(|d| d.message.contains("over 2147483647")).expect("a warning");
    assert_eq!((w.file.as_str(), w.line), ("t", 4));
    let z = built.zone;
    let id = |n: &str| z.lookup(&name::from_text(n, Some(z.apex())).unwrap()).unwrap();
    let a = z.find(id("a"), t::TXT).unwrap();
    assert_eq!((z.rrset(a).ttl(), z.sigs(a)), (0, NONE));
    let b = z.find(id("b"), t::TXT).unwrap();
    assert_eq!(z.rrset(b).ttl(), 2_147_483_647);
    assert_eq!(z.covers(z.sigs(b)), t::TXT);
}

/// A linked RRset's count is exact (and its link count fits 2 octets), so it holds at
/// most 65,535 records: 65,535 load (their links before them), 65,536
/// are refused with the file and line of the RRset.
#[test]
fn linked_rrset_count_is_exact_or_refused() {
    let mut text = String::from("$TTL 60\n@ SOA ns h 7 1 1 1 1\n@ NS ns\nns A 192.0.2.1\nd NS ns\n");
    for i in 1..65_535 {
        text.push_str(&format!("d NS n{i}.other.\n"));
    }
    let z = load(&text, 4096);
    let d = z.lookup(&name::from_text("d", Some(z.apex())).unwrap()).unwrap();
    let ns = z.find(d, t::NS).unwrap();
    assert_eq!(z.rrset(ns).count, u16::MAX);
    assert_eq!(z.rdatas(ns).count(), 65_535);
    assert_eq!(
        z.links(ns).collect::<Vec<_>>(),
        vec![z.lookup(&name::from_text("ns", Some(z.apex())).unwrap()).unwrap()]
    );
    text.push_str("d NS n0.other.\n");
    let errs = try_load(&text, 4096).err().expect("refused");
    let e = errs.iter().find(|d| d.message.contains("more than 65535 records")).expect("the error");
    assert_eq!((e.file.as_str(), e.line, e.warning), ("t", 5, false));
}

/// A node's name and RRsets end where the next node's start, or at the
/// end of its segment's names and RRsets: every name read back with its
/// label count and RRsets, with segments of 1 to 4 names (so each node is
/// somewhere the last of its segment), empty non-terminals (no RRsets)
/// in the middle and at the end of segments, and lookups and the
/// canonical searches through the derived names.
#[test]
fn node_names_and_rrsets_across_segments() {
    let text = "$TTL 60\n@ SOA ns h 7 1 1 1 1\n@ NS ns\nns A 192.0.2.1\nns AAAA ::1\n\
                x.y.a TXT \"1\"\nb A 192.0.2.2\nb TXT \"2\"\nb MX 1 ns\nc.d.e.f TXT \"3\"\n\
                long-label-name-to-vary-the-length NS ns\nz A 192.0.2.3\n";
    // name, labels below the apex's, types.
    let want: &[(&str, &[u16])] = &[
        ("@", &[t::NS, t::SOA]),
        ("a", &[]),
        ("y.a", &[]),
        ("x.y.a", &[t::TXT]),
        ("b", &[t::A, t::MX, t::TXT]),
        ("f", &[]),
        ("e.f", &[]),
        ("d.e.f", &[]),
        ("c.d.e.f", &[t::TXT]),
        ("long-label-name-to-vary-the-length", &[t::NS]),
        ("ns", &[t::A, t::AAAA]),
        ("z", &[t::A]),
    ];
    for seg in [1, 2, 3, 4, 4096] {
        let z = load(text, seg);
        assert_eq!(z.node_count(), want.len(), "segments of {seg}");
        for (ord, (n, types)) in want.iter().enumerate() {
            let full = name::from_text(n, Some(z.apex())).unwrap();
            let id = z.node_at(ord);
            assert_eq!(z.node_name(id), &full[..], "segments of {seg}: node {ord}");
            assert_eq!(z.node(id).labels() as usize, name::label_count(&full));
            let mut got: Vec<u16> = z.node_rrsets(id).iter().map(|r| r.rtype).collect();
            got.sort();
            assert_eq!(&got, types, "segments of {seg}: {n}");
            assert_eq!(z.node(id).has(nf::EMPTY), types.is_empty());
            assert_eq!(z.lookup(&full), Some(id));
            assert_eq!(z.node_at_or_before(&full), Some(id));
            if let Some(first) = z.node_rrsets(id).first() {
                assert_eq!(z.find(id, first.rtype), Some(z.node_first_rrset(id)));
            }
        }
        let all: Vec<(&[u8], RRsetId)> = z.all_rrsets().collect();
        assert_eq!(all.len(), want.iter().map(|w| w.1.len()).sum::<usize>());
        // Between names: the one before.
        let mid = name::from_text("c.d.e.f0", Some(z.apex())).unwrap();
        assert_eq!(
            z.node_name(z.node_at_or_before(&mid).unwrap()),
            &name::from_text("c.d.e.f", Some(z.apex())).unwrap()[..]
        );
    }
}

/// Records are stored with a length only where it cannot be known: A and
/// AAAA (fixed), NS, CNAME, PTR and DNAME (one name, up to its root
/// label) without, the others with one. Each form read back exactly,
/// RRset after RRset, node after node, segment after segment, with the
/// links before an NS RRset's names and an empty RDATA among prefixed ones.
#[test]
fn record_forms_read_back() {
    let text = "$TTL 60\n@ SOA ns h 7 1 1 1 1\n@ NS ns\n@ NS ns.other.\n@ MX 5 ns\nns A 192.0.2.1\nns A 192.0.2.9\n\
                ns AAAA 2001:db8::1\nns AAAA ::2\nc CNAME ns.other.\nd DNAME x.y.\np PTR ns\np PTR a.b.\n\
                t TXT \"x\"\nt TXT \"\" \"\"\nt TYPE65000 \\# 0\nt TYPE65000 \\# 1 00\nu A 192.0.2.3\n";
    let o = |n: &str| name::from_text(n, Some(&name::from_text("example.", None).unwrap())).unwrap().to_vec();
    for seg in [1, 2, 4096] {
        let z = load(text, seg);
        let rd = |n: &str, ty: u16| -> Vec<Vec<u8>> {
            let id = z.lookup(&o(n)).unwrap();
            z.rdatas(z.find(id, ty).unwrap()).map(<[u8]>::to_vec).collect()
        };
        assert_eq!(rd("@", t::NS), vec![o("ns"), o("ns.other.")]);
        let ns = z.find(z.apex_id(), t::NS).unwrap();
        assert_eq!(z.links(ns).collect::<Vec<_>>(), vec![z.lookup(&o("ns")).unwrap()]);
        assert_eq!(rd("@", t::MX), vec![[&[0, 5][..], &o("ns")].concat()]);
        assert_eq!(rd("ns", t::A), vec![vec![192, 0, 2, 1], vec![192, 0, 2, 9]]);
        let mut v6 = vec![0u8; 16];
        v6[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
        v6[15] = 1;
        let mut two = vec![0u8; 16];
        two[15] = 2;
        assert_eq!(rd("ns", t::AAAA), vec![v6, two]);
        assert_eq!(rd("c", t::CNAME), vec![o("ns.other.")]);
        assert_eq!(rd("d", t::DNAME), vec![o("x.y.")]);
        assert_eq!(rd("p", t::PTR), vec![o("ns"), o("a.b.")]);
        assert_eq!(rd("t", t::TXT), vec![vec![1, b'x'], vec![0, 0]]);
        assert_eq!(rd("t", 65000), vec![vec![], vec![0]]);
        assert_eq!(rd("u", t::A), vec![vec![192, 0, 2, 3]]);
        let all: usize = z.all_rrsets().map(|(_, r)| z.rdatas(r).count()).sum();
        assert_eq!(all as u64, z.record_count());
    }
}

/// A record that does not fit its type's form is refused at its line
/// (stored without a length, it would make the next records unreadable):
/// the zone file parser checks A and AAAA lengths itself, so records
/// from a transfer (any RDATA) are built here: an A record of 3 octets,
/// an NS record with an octet after its name, a CNAME with a compression
/// pointer.
#[test]
fn a_record_not_of_its_types_form_is_refused() {
    let apex = name::from_text("example.", None).unwrap().to_vec();
    let ns = name::from_text("ns.example.", None).unwrap().to_vec();
    let soa = [&ns[..], &ns[..], &[0u8; 20][..]].concat();
    let rr = |rtype, rdata: Vec<u8>| crate::journal::Rr { owner: apex.clone(), rtype, ttl: 60, rdata };
    let good = vec![
        rr(t::SOA, soa),
        rr(t::NS, ns.clone()),
        crate::journal::Rr { owner: ns.clone(), ..rr(t::A, vec![192, 0, 2, 1]) },
    ];
    assert!(crate::journal::build_from(&apex, &good, Checks::Warn).is_ok());
    for (bad, msg) in [
        (rr(t::A, vec![1, 2, 3]), "bad A RDATA: 3 octets"),
        (rr(t::NS, [&ns[..], &[0][..]].concat()), "bad NS RDATA: one uncompressed domain name"),
        (rr(t::CNAME, vec![0xC0, 12]), "bad CNAME RDATA: one uncompressed domain name"),
    ] {
        let mut recs = good.clone();
        recs.push(bad);
        let errs = crate::journal::build_from(&apex, &recs, Checks::Warn).err().expect("refused");
        assert!(errs.iter().any(|d| d.line == 4 && !d.warning && d.message == msg), "{errs:?}");
    }
}
