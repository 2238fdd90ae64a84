//! Tests of NS targets stored as references to their node (zone.rs,
//! [`NAME_REF`]): every RDATA reads back as the zone file parser gives
//! it, whatever the segment size, and incremental reloads that add,
//! remove or rename glue give the zone a full load gives.

use std::collections::BTreeMap;

use crate::snapshot::zone::*;
use crate::zonefile::parser::Record;
use crate::{load_with, reload_with, BuildOptions, Checks, ReloadKind, ReloadOptions, Source};
use levee_wire::name;
use levee_wire::rtype::t;

/// (lowercase owner, type) -> RDATAs in order, each once.
type Sets = BTreeMap<(Vec<u8>, u16), Vec<Vec<u8>>>;

fn origin() -> Vec<u8> {
    name::from_text("tld.", None).unwrap().to_vec()
}

fn load(text: &str, segment_names: usize) -> Zone {
    let opts = BuildOptions { checks: Checks::Warn, segment_names };
    let src = Source::Memory { name: "t", data: text.as_bytes() };
    load_with(src, &origin(), &Default::default(), opts, &mut |_| {}).unwrap().zone
}

/// The records of `text` as the zone file parser gives them.
fn parsed(text: &str) -> Sets {
    let mut sets = Sets::new();
    let mut diags = Vec::new();
    crate::zonefile::parse(
        Source::Memory { name: "t", data: text.as_bytes() },
        &origin(),
        &mut |r: &Record<'_>| {
            let v = sets.entry((name::to_lowercase(r.owner).to_vec(), r.rtype)).or_default();
            if !v.iter().any(|x| x == r.rdata) {
                v.push(r.rdata.to_vec());
            }
            Ok(())
        },
        &mut diags,
    );
    assert!(diags.iter().all(|d| d.warning), "{diags:?}");
    sets
}

/// The records of a zone, read through [`Zone::rdatas`].
fn stored(z: &Zone) -> Sets {
    let mut sets = Sets::new();
    for (owner, id) in z.all_rrsets() {
        let v: Vec<Vec<u8>> = z.rdatas(id).map(<[u8]>::to_vec).collect();
        assert!(sets.insert((owner.to_vec(), z.rrset(id).rtype), v).is_none());
    }
    sets
}

/// The NS records stored as a reference, per owner (text).
fn references(z: &Zone) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for seg in &z.segs {
        for local in 0..seg.nodes.len() {
            for i in seg.set_range(local) {
                let mut it = seg.rdatas_at(i);
                let mut n = 0;
                while let Some(r) = it.next_stored() {
                    if r.len() == 1 && r[0] >= NAME_REF {
                        assert_eq!(seg.rrsets[i].rtype, t::NS, "only NS targets are references");
                        n += 1;
                    }
                }
                if n > 0 {
                    out.insert(name::to_text(seg.name(local)), n);
                }
            }
        }
    }
    out
}

/// The linked names of every NS, MX and SRV RRset (the additional
/// section's targets).
fn links(z: &Zone) -> BTreeMap<(String, u16), Vec<String>> {
    z.all_rrsets()
        .filter(|&(_, id)| matches!(z.rrset(id).rtype, t::NS | t::MX | t::SRV))
        .map(|(o, id)| {
            let names = z.links(id).map(|n| name::to_text(z.node_name(n))).collect();
            ((name::to_text(o), z.rrset(id).rtype), names)
        })
        .collect()
}

const HEAD: &str = "$ORIGIN tld.\n$TTL 3600\n@ SOA ns1 h 1 3600 600 86400 60\n@ NS ns1\n@ NS ns.hoster.net.\n\
                    ns1 A 192.0.2.1\n";

/// A TLD of `n` delegations (an in-zone server with glue and one
/// outside each) and the cases around them: a target in another letter
/// case, targets without addresses (glue missing, a name with other
/// data), a delegation using another's server, two in-zone servers, MX
/// and SRV targets.
fn tld(n: usize) -> String {
    let mut s = HEAD.to_string();
    for i in 0..n {
        s.push_str(&format!(
            "d{i} NS ns1.d{i}\nd{i} NS ns{}.hoster{}.net.\nns1.d{i} A 192.0.2.{}\n",
            i % 4,
            i % 7,
            i % 250
        ));
        if i % 3 == 0 {
            s.push_str(&format!("ns1.d{i} AAAA 2001:db8::{i:x}\n"));
        }
    }
    s.push_str(
        "mixed NS NS1.Mixed\nmixed NS ns1.MIXED.tld.\nns1.mixed A 192.0.2.9\n\
         bare NS ns1.bare\nbare NS ns.hoster.net.\n\
         other NS host\nhost TXT \"no address\"\n\
         far NS ns1.d0\nfar NS ns1\n\
         multi NS b.multi\nmulti NS a.multi\nmulti NS ns.hoster.net.\na.multi A 192.0.2.10\nb.multi AAAA 2001:db8::10\n\
         mail MX 10 smtp\nmail MX 20 smtp.mail\nsmtp A 192.0.2.11\nsmtp.mail A 192.0.2.12\n\
         _s._tcp SRV 0 0 53 smtp\n",
    );
    s
}

/// Every RDATA of a zone with in-zone NS targets reads back as the zone
/// file parser gives it, with segments of 1 name (every target in
/// another segment) to 4096; targets in the same segment in the same
/// case are references, the others are written out.
#[test]
fn ns_targets_read_back_exactly() {
    let text = tld(40);
    let want = parsed(&text);
    let full = load(&text, 4096);
    for seg in [1, 2, 3, 5, 17, 4096] {
        let z = load(&text, seg);
        assert_eq!(stored(&z), want, "segments of {seg}");
        assert_eq!(links(&z), links(&full), "segments of {seg}");
        assert!(z.same_data(&full) && full.same_data(&z), "segments of {seg}");
        let refs = references(&z);
        if seg == 1 {
            // Every target is in another segment.
            assert!(refs.is_empty(), "{refs:?}");
        }
        // The apex is a segment of its own: its server is in another.
        for k in ["mixed.tld.", "bare.tld.", "other.tld.", "tld."] {
            assert!(!refs.contains_key(k), "segments of {seg}: {k} {refs:?}");
        }
        if seg == 4096 {
            assert_eq!(refs.len(), 42, "{refs:?}");
            assert_eq!((refs["multi.tld."], refs["far.tld."]), (2, 2));
            assert_eq!(refs["d0.tld."], 1);
        } else if seg > 2 {
            // (Segments of 2 may cut every delegation from its server.)
            assert!(refs.len() > 10, "segments of {seg}: {refs:?}");
        }
    }
    // The references are where the memory goes: ~17 octets each saved.
    let (a, b) = (load(&text, 1), load(&text, 4096));
    let data = |z: &Zone| z.segs.iter().map(|s| s.data.len()).sum::<usize>();
    assert!(data(&b) + 44 * 10 < data(&a), "{} {}", data(&b), data(&a));
}

/// Incremental reloads that remove, rename, add or change the case of
/// glue, change a server's addresses, or move a target out of the zone
/// give the zone a full load of the same text gives (RDATA, links), and
/// read back as the parser gives the text; reloading back gives the
/// first version again.
#[test]
fn reloads_of_glue_keep_ns_targets_right() {
    let base = tld(300);
    let changes: [(&str, &str); 7] = [
        ("ns1.d5 A 192.0.2.5\n", ""),
        ("d7 NS ns1.d7\n", "d7 NS ns2.d7\n"),
        ("ns1.d7 A 192.0.2.7\n", "ns2.d7 A 192.0.2.7\n"),
        ("d9 NS ns1.d9\n", "d9 NS ns1.d9\nd9 NS ns3.d9\nns3.d9 A 192.0.2.99\n"),
        ("ns1.d11 A 192.0.2.11\n", "ns1.d11 A 192.0.2.111\n"),
        ("d13 NS ns1.d13\n", "d13 NS NS1.D13\n"),
        ("d15 NS ns1.d15\n", "d15 NS ns1.d16\n"),
    ];
    let opts = ReloadOptions { max_fraction: 0.9, min_segments: 2, checks: Checks::Warn, segment_names: 8 };
    let old = load(&base, 8);
    assert!(!references(&old).is_empty());
    for k in 0..=changes.len() {
        // Each change alone, then all of them.
        let mut text = base.clone();
        for (i, (from, to)) in changes.iter().enumerate() {
            if i == k || k == changes.len() {
                assert!(text.contains(from), "{from}");
                text = text.replacen(from, to, 1);
            }
        }
        let full = load(&text, 8);
        let src = Source::Memory { name: "t", data: text.as_bytes() };
        let inc = reload_with(&old, src, &origin(), &mut |_| {}, opts).unwrap();
        assert!(matches!(inc.kind, ReloadKind::Incremental { .. }), "change {k}: {:?}", inc.kind);
        let z = inc.built.zone;
        assert!(z.shared_segments(&old) > 0, "change {k}");
        assert_eq!(stored(&z), parsed(&text), "change {k}");
        assert_eq!(links(&z), links(&full), "change {k}");
        assert!(z.same_data(&full), "change {k}");
        // Back to the first version, from the reloaded one.
        let src = Source::Memory { name: "t", data: base.as_bytes() };
        let back = reload_with(&z, src, &origin(), &mut |_| {}, opts).unwrap();
        assert!(matches!(back.kind, ReloadKind::Incremental { .. }), "change {k} back: {:?}", back.kind);
        assert_eq!(stored(&back.built.zone), parsed(&base), "change {k} back");
        assert_eq!(links(&back.built.zone), links(&old), "change {k} back");
        assert!(back.built.zone.same_data(&old), "change {k} back");
    }
}

/// An RRset's links come before its records, with their count: 300
/// in-zone NS and MX targets (a count over one octet) read back with
/// their links, the first 64 NS targets as references and the others
/// written out; RRsets with no links (an occluded NS set, an MX set to
/// names outside the zone) read back as well.
#[test]
fn many_links_and_references_read_back() {
    let mut text = HEAD.to_string();
    for i in 0..300 {
        text.push_str(&format!(
            "big NS ns{i}.big\nns{i}.big A 192.0.2.{}\nbig MX {i} h{i}\nh{i} A 192.0.2.{}\n",
            i % 250,
            i % 250
        ));
    }
    text.push_str("big NS ns.hoster.net.\nsub.big NS ns.hoster.net.\nout MX 1 mail.example.\n");
    let want = parsed(&text);
    for seg in [3, 4096] {
        let z = load(&text, seg);
        assert_eq!(stored(&z), want, "segments of {seg}");
        let big = z.lookup(&name::from_text("big", Some(z.apex())).unwrap()).unwrap();
        let (ns, mx) = (z.find(big, t::NS).unwrap(), z.find(big, t::MX).unwrap());
        assert_eq!(z.links(mx).count(), 300, "segments of {seg}");
        assert_eq!(z.links(ns).count(), 300, "segments of {seg}");
        let refs = references(&z).get("big.tld.").copied().unwrap_or(0);
        // Segments of 3: at most the two names after big.tld. are in its segment.
        assert!(if seg == 4096 { refs == 64 } else { refs <= 2 }, "segments of {seg}: {refs}");
        let out = z.lookup(&name::from_text("out", Some(z.apex())).unwrap()).unwrap();
        assert_eq!(z.links(z.find(out, t::MX).unwrap()).count(), 0);
    }
}
