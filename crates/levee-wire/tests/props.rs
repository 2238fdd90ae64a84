//! Property tests of the wire format: names (text round trip, canonical
//! order, decompression), query parsing, and the response writer read back
//! by the message reader.
//!
//! Case counts are kept moderate so that `cargo test --workspace` stays
//! fast; the fuzz targets in `fuzz/` explore the same code for longer.

use std::cmp::Ordering;

use levee_wire::edns::{self, Cookie, Edns};
use levee_wire::header::{flag, HEADER_LEN};
use levee_wire::message::{self, Message, Record};
use levee_wire::name::{self, NameBuf, MAX_NAME_LEN};
use levee_wire::query::{parse_query, Parsed};
use levee_wire::rtype::{c, t};
use levee_wire::writer::{Owner, Section, Writer};
use proptest::prelude::*;

/// No regression files: failures are reported with their minimal case and
/// turned into unit tests by hand.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

//------------ strategies -----------------------------------------------------

/// One label octet: any byte, with the ones that need escaping in
/// presentation format (and both letter cases) drawn more often.
fn label_octet() -> impl Strategy<Value = u8> {
    prop_oneof![
        3 => any::<u8>(),
        2 => prop::sample::select(vec![b'.', b'\\', b'"', 0x00, 0xFF, b' ', b'(', b')', b';', b'@', b'$', b'*', b'0', b'9']),
        2 => prop::sample::select(vec![b'a', b'A', b'z', b'Z', b'm', b'M']),
    ]
}

fn label() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => prop::collection::vec(label_octet(), 1..=8),
        1 => prop::collection::vec(label_octet(), 1..=63),
    ]
}

/// Joins labels into a wire name, dropping the labels that would make it
/// longer than 255 octets.
fn wire_name(labels: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for l in labels {
        if out.len() + 1 + l.len() + 1 > MAX_NAME_LEN {
            break;
        }
        out.push(l.len() as u8);
        out.extend_from_slice(l);
    }
    out.push(0);
    out
}

/// A random valid wire name, up to the full 255 octets.
fn any_name() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(label(), 0..10).prop_map(|ls| wire_name(&ls))
}

/// Names from a tiny alphabet (case variants, 0x00, 0x01) so that labels
/// often collide, share prefixes, or differ only in case.
fn colliding_labels() -> impl Strategy<Value = Vec<Vec<u8>>> {
    let octet = prop::sample::select(vec![0u8, 1, 2, b'a', b'A', b'b', b'B', 0xFF]);
    prop::collection::vec(prop::collection::vec(octet, 1..=3), 0..4)
}

/// Names from a small pool of labels under a few shared suffixes, so the
/// writer finds compression targets.
fn pooled_name() -> impl Strategy<Value = Vec<u8>> {
    let lab = prop::sample::select(vec!["www", "WWW", "mail", "ns1", "a", "B", "example", "ExAmple", "com", "net"]);
    prop::collection::vec(lab, 0..5)
        .prop_map(|ls| wire_name(&ls.iter().map(|l| l.as_bytes().to_vec()).collect::<Vec<_>>()))
}

/// Bytes for the decompressor: plenty of small lengths, pointers and zeros.
fn compressed_bytes() -> impl Strategy<Value = Vec<u8>> {
    let b = prop_oneof![3 => any::<u8>(), 3 => 0u8..=6, 2 => 0xC0u8..=0xC1, 1 => Just(0u8), 1 => prop::sample::select(vec![b'a', b'b'])];
    prop::collection::vec(b, 0..320)
}

/// Reference canonical order (RFC 4034 §6.1): the reversed list of
/// lowercased labels, compared as lists of octet strings.
fn reference_key(n: &[u8]) -> Vec<Vec<u8>> {
    let mut ls: Vec<Vec<u8>> = name::labels(n).map(|l| l.to_ascii_lowercase()).collect();
    ls.reverse();
    ls
}

fn key(n: &[u8]) -> Vec<u8> {
    let mut k = Vec::new();
    name::canonical_key(n, &mut k);
    k
}

//------------ names ----------------------------------------------------------

proptest! {
    #![proptest_config(config(1000))]

    /// wire → presentation text → wire gives the same octets (case kept).
    #[test]
    fn name_text_round_trip(n in any_name()) {
        name::check(&n).unwrap();
        let text = name::to_text(&n);
        let back = name::from_text(&text, None).unwrap();
        prop_assert_eq!(back.as_slice(), n.as_slice(), "text {:?}", text);
        // Relative to an origin, the same text still reads back absolute.
        let origin = name::from_text("origin.test.", None).unwrap();
        let rel = name::from_text(&text, Some(&origin)).unwrap();
        prop_assert_eq!(rel.as_slice(), n.as_slice());
    }

    /// The memcmp order of canonical keys is canonical_cmp, and both agree
    /// with a direct reading of RFC 4034 §6.1.
    #[test]
    fn canonical_key_matches_cmp(suffix in colliding_labels(), p1 in colliding_labels(), p2 in colliding_labels()) {
        let a = wire_name(&[p1, suffix.clone()].concat());
        let b = wire_name(&[p2, suffix].concat());
        let cmp = name::canonical_cmp(&a, &b);
        prop_assert_eq!(key(&a).cmp(&key(&b)), cmp);
        prop_assert_eq!(reference_key(&a).cmp(&reference_key(&b)), cmp);
        prop_assert_eq!(name::canonical_cmp(&b, &a), cmp.reverse());
        prop_assert_eq!(cmp == Ordering::Equal, name::eq_ignore_case(&a, &b));
    }

    /// The same for arbitrary (long, mostly unrelated) names.
    #[test]
    fn canonical_key_matches_cmp_any(a in any_name(), b in any_name()) {
        let cmp = name::canonical_cmp(&a, &b);
        prop_assert_eq!(key(&a).cmp(&key(&b)), cmp);
        prop_assert_eq!(reference_key(&a).cmp(&reference_key(&b)), cmp);
    }

    /// Decompression never panics and only yields valid names of at most
    /// 255 octets, ending inside the message.
    #[test]
    fn read_compressed_is_total(msg in compressed_bytes(), at in 0usize..340) {
        let mut out = NameBuf::root();
        if let Ok(end) = name::read_compressed(&msg, at, &mut out) {
            prop_assert!(out.len() <= MAX_NAME_LEN);
            prop_assert!(name::check(&out).is_ok());
            prop_assert!(end > at && end <= msg.len());
        }
        // Skipping agrees on where an uncompressed or compressed name ends.
        if let (Ok(end), Ok(skip)) = (name::read_compressed(&msg, at, &mut out), name::skip_compressed(&msg, at)) {
            prop_assert_eq!(end, skip);
        }
    }

    /// A name written uncompressed decompresses to itself.
    #[test]
    fn read_compressed_plain(prefix in prop::collection::vec(any::<u8>(), 0..20), n in any_name()) {
        let mut msg = prefix.clone();
        msg.extend_from_slice(&n);
        let mut out = NameBuf::root();
        let end = name::read_compressed(&msg, prefix.len(), &mut out).unwrap();
        prop_assert_eq!(end, msg.len());
        prop_assert_eq!(out.as_slice(), n.as_slice());
    }
}

//------------ queries ----------------------------------------------------------

/// One EDNS option as the test generates it.
#[derive(Clone, Debug)]
enum Opt {
    ClientCookie([u8; 8]),
    FullCookie([u8; 8], Vec<u8>),
    Nsid,
    Keepalive,
    Padding(usize),
    Expire,
    Other(u16, Vec<u8>),
}

impl Opt {
    fn encode(&self, out: &mut Vec<u8>) {
        let (code, data): (u16, Vec<u8>) = match self {
            Opt::ClientCookie(c) => (edns::code::COOKIE, c.to_vec()),
            Opt::FullCookie(c, s) => (edns::code::COOKIE, [c.as_slice(), s].concat()),
            Opt::Nsid => (edns::code::NSID, vec![]),
            Opt::Keepalive => (edns::code::TCP_KEEPALIVE, vec![]),
            Opt::Padding(n) => (edns::code::PADDING, vec![0; *n]),
            Opt::Expire => (edns::code::EXPIRE, vec![]),
            Opt::Other(code, d) => (*code, d.clone()),
        };
        out.extend_from_slice(&code.to_be_bytes());
        out.extend_from_slice(&(data.len() as u16).to_be_bytes());
        out.extend_from_slice(&data);
    }

    /// What the option does to the decoded OPT record.
    fn apply(&self, e: &mut Edns) {
        match self {
            Opt::ClientCookie(c) => e.cookie = Cookie::Client(*c),
            Opt::FullCookie(c, s) => {
                let mut server = [0; 32];
                server[..s.len()].copy_from_slice(s);
                e.cookie = Cookie::Full { client: *c, server, server_len: s.len() as u8 };
            }
            Opt::Nsid => e.nsid = true,
            Opt::Keepalive => e.keepalive = true,
            Opt::Padding(_) => e.padding = true,
            Opt::Expire => e.expire = true,
            Opt::Other(..) => {}
        }
    }
}

fn edns_option() -> impl Strategy<Value = Opt> {
    prop_oneof![
        any::<[u8; 8]>().prop_map(Opt::ClientCookie),
        (any::<[u8; 8]>(), prop::collection::vec(any::<u8>(), 8..=32)).prop_map(|(c, s)| Opt::FullCookie(c, s)),
        Just(Opt::Nsid),
        Just(Opt::Keepalive),
        (0usize..40).prop_map(Opt::Padding),
        Just(Opt::Expire),
        // Codes the parser ignores.
        (prop::sample::select(vec![0u16, 8, 15, 65001]), prop::collection::vec(any::<u8>(), 0..12))
            .prop_map(|(c, d)| Opt::Other(c, d)),
    ]
}

#[derive(Clone, Debug)]
struct OptRr {
    udp_size: u16,
    ext_rcode: u8,
    version: u8,
    flags: u16,
    options: Vec<Opt>,
}

fn opt_rr() -> impl Strategy<Value = OptRr> {
    (any::<u16>(), any::<u8>(), any::<u8>(), any::<u16>(), prop::collection::vec(edns_option(), 0..4)).prop_map(
        |(udp_size, ext_rcode, version, flags, options)| OptRr { udp_size, ext_rcode, version, flags, options },
    )
}

/// Builds a query; returns the message and the OPT record it should decode to.
fn build_query(
    id: u16,
    flags: u16,
    qname: &[u8],
    qtype: u16,
    qclass: u16,
    opt: &Option<OptRr>,
    ixfr_soa: Option<u32>,
) -> (Vec<u8>, Option<Edns>) {
    let mut m = Vec::new();
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&flags.to_be_bytes());
    for count in [1, 0, ixfr_soa.is_some() as u16, opt.is_some() as u16] {
        m.extend_from_slice(&count.to_be_bytes());
    }
    m.extend_from_slice(qname);
    m.extend_from_slice(&qtype.to_be_bytes());
    m.extend_from_slice(&qclass.to_be_bytes());
    if let Some(serial) = ixfr_soa {
        // Owner: a pointer to the question; MNAME and RNAME: the root.
        m.extend_from_slice(&[0xC0, 12]);
        m.extend_from_slice(&t::SOA.to_be_bytes());
        m.extend_from_slice(&c::IN.to_be_bytes());
        m.extend_from_slice(&[0, 0, 0, 0, 0, 22, 0, 0]);
        m.extend_from_slice(&serial.to_be_bytes());
        m.extend_from_slice(&[0; 16]);
    }
    let expected = opt.as_ref().map(|o| {
        let ttl = (o.ext_rcode as u32) << 24 | (o.version as u32) << 16 | o.flags as u32;
        let mut rdata = Vec::new();
        let mut e = Edns::bare(o.udp_size, ttl);
        for op in &o.options {
            op.encode(&mut rdata);
            op.apply(&mut e);
        }
        m.push(0);
        m.extend_from_slice(&t::OPT.to_be_bytes());
        m.extend_from_slice(&o.udp_size.to_be_bytes());
        m.extend_from_slice(&ttl.to_be_bytes());
        m.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        m.extend_from_slice(&rdata);
        e
    });
    (m, expected)
}

proptest! {
    #![proptest_config(config(1000))]

    /// parse_query never panics on arbitrary octets.
    #[test]
    fn parse_query_is_total(msg in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = parse_query(&msg);
    }

    /// ... nor on a valid query with some octets overwritten or cut off.
    #[test]
    fn parse_query_survives_mutation(
        qname in any_name(),
        opt in proptest::option::of(opt_rr()),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let (mut m, _) = build_query(1, 0, &qname, t::A, c::IN, &opt, Some(7));
        for (i, b) in edits {
            let i = i.index(m.len());
            m[i] = b;
        }
        let keep = cut.index(m.len() + 1);
        let _ = parse_query(&m[..keep]);
        let _ = parse_query(&m);
    }

    /// A well-formed query reads back field for field.
    #[test]
    fn query_round_trip(
        id in any::<u16>(),
        flags in any::<u16>(),
        qname in any_name(),
        qtype in prop_oneof![any::<u16>(), Just(t::IXFR)],
        qclass in any::<u16>(),
        opt in proptest::option::of(opt_rr()),
        ixfr_soa in proptest::option::of(any::<u32>()),
    ) {
        let flags = flags & !flag::QR;
        let (m, expected_edns) = build_query(id, flags, &qname, qtype, qclass, &opt, ixfr_soa);
        let Parsed::Query(q) = parse_query(&m) else {
            return Err(TestCaseError::fail("query dropped"));
        };
        prop_assert_eq!(q.malformed, None);
        prop_assert_eq!(q.header.id, id);
        prop_assert_eq!(q.header.flags, flags);
        prop_assert!(q.has_question);
        prop_assert_eq!(q.qname.as_slice(), qname.as_slice());
        prop_assert_eq!(q.qtype, qtype);
        prop_assert_eq!(q.qclass, qclass);
        prop_assert_eq!(q.question_len, qname.len() + 4);
        prop_assert_eq!(q.edns, expected_edns);
        prop_assert_eq!(q.dnssec_ok(), opt.as_ref().is_some_and(|o| o.flags & edns::FLAG_DO != 0));
        let serial = if qtype == t::IXFR { ixfr_soa } else { None };
        prop_assert_eq!(q.ixfr_serial, serial);
        prop_assert_eq!(q.answer_records, 0);
    }
}

//------------ writer and message reader ----------------------------------------

/// One record to write.
#[derive(Clone, Debug)]
struct Rr {
    section: Section,
    owner: Vec<u8>,
    /// Write the owner as a pointer to the question (when there is one).
    owner_ptr: bool,
    rtype: u16,
    ttl: u32,
    rdata: Vec<u8>,
}

fn rdata_for(rtype: u16) -> BoxedStrategy<Vec<u8>> {
    match rtype {
        t::A => any::<[u8; 4]>().prop_map(|a| a.to_vec()).boxed(),
        t::NS | t::CNAME => prop_oneof![pooled_name(), any_name()].boxed(),
        t::MX => (any::<u16>(), prop_oneof![pooled_name(), any_name()])
            .prop_map(|(p, n)| [p.to_be_bytes().as_slice(), &n].concat())
            .boxed(),
        _ => prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 1..4)
            .prop_map(|ss| {
                let mut out = Vec::new();
                for s in ss {
                    out.push(s.len() as u8);
                    out.extend_from_slice(&s);
                }
                out
            })
            .boxed(),
    }
}

fn rr() -> impl Strategy<Value = Rr> {
    let section = prop::sample::select(vec![Section::Answer, Section::Authority, Section::Additional]);
    let rtype = prop::sample::select(vec![t::A, t::NS, t::MX, t::TXT, t::CNAME]);
    (section, prop_oneof![3 => pooled_name(), 1 => any_name()], any::<bool>(), rtype, any::<u32>()).prop_flat_map(
        |(section, owner, owner_ptr, rtype, ttl)| {
            rdata_for(rtype).prop_map(move |rdata| Rr { section, owner: owner.clone(), owner_ptr, rtype, ttl, rdata })
        },
    )
}

/// Compares a record read back with the one written: names (owner and the
/// names in RDATA) case-insensitively, since compression may point at a
/// spelling with other letter case; everything else exactly.
fn same_record(got: &Record, want: &Rr, owner: &[u8]) -> Result<(), TestCaseError> {
    prop_assert!(name::eq_ignore_case(&got.owner, owner), "owner {:?} vs {:?}", got.owner, owner);
    prop_assert_eq!(got.rtype, want.rtype);
    prop_assert_eq!(got.class, c::IN);
    prop_assert_eq!(got.ttl, want.ttl);
    match want.rtype {
        t::NS | t::CNAME => prop_assert!(name::eq_ignore_case(&got.rdata, &want.rdata)),
        t::MX => {
            prop_assert_eq!(&got.rdata[..2], &want.rdata[..2]);
            prop_assert!(name::eq_ignore_case(&got.rdata[2..], &want.rdata[2..]));
        }
        _ => prop_assert_eq!(&got.rdata, &want.rdata),
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(400))]

    /// Whatever the writer accepts reads back as the same records; a write
    /// that fails with `Full` leaves nothing behind.
    #[test]
    fn writer_message_round_trip(
        id in any::<u16>(),
        question in proptest::option::of(pooled_name()),
        limit in prop_oneof![12usize..200, 200usize..1500, Just(65535usize)],
        mut records in prop::collection::vec(rr(), 0..40),
    ) {
        // The writer appends; sections come one after the other.
        records.sort_by_key(|r| r.section as u8);
        let mut buf = vec![0u8; 65535];
        let mut q = Vec::new();
        if let Some(n) = &question {
            q.extend_from_slice(n);
            q.extend_from_slice(&[0, 1, 0, 1]);
        }
        let mut w = Writer::new(&mut buf, limit);
        if w.start(id, flag::QR | flag::AA, &q).is_err() {
            prop_assert!(HEADER_LEN + q.len() > limit);
            return Ok(());
        }
        let mut written: [Vec<(Rr, Vec<u8>)>; 3] = Default::default();
        for r in &records {
            let (owner, owner_name) = match (&question, r.owner_ptr) {
                (Some(qn), true) => (Owner::Ptr(HEADER_LEN as u16), qn.clone()),
                _ => (Owner::Name(&r.owner), r.owner.clone()),
            };
            let (len, counts) = (w.len(), [w.count(Section::Answer), w.count(Section::Authority), w.count(Section::Additional)]);
            match w.rr(r.section, owner, r.rtype, c::IN, r.ttl, &r.rdata) {
                Ok(()) => {
                    prop_assert!(w.len() <= limit);
                    written[r.section as usize].push((r.clone(), owner_name));
                }
                Err(_) => {
                    prop_assert_eq!(w.len(), len);
                    let now = [w.count(Section::Answer), w.count(Section::Authority), w.count(Section::Additional)];
                    prop_assert_eq!(now, counts);
                }
            }
        }
        let n = w.finish();
        prop_assert!(n <= limit);
        let m = Message::parse(&buf[..n]).map_err(|e| TestCaseError::fail(format!("parse: {e}")))?;
        prop_assert_eq!(m.header.id, id);
        prop_assert_eq!(m.question.len(), question.is_some() as usize);
        if let Some(qn) = &question {
            prop_assert_eq!(&m.question[0].name, qn);
        }
        for (got, want) in [(&m.answer, &written[0]), (&m.authority, &written[1]), (&m.additional, &written[2])] {
            prop_assert_eq!(got.len(), want.len());
            for (g, (w, owner)) in got.iter().zip(want) {
                same_record(g, w, owner)?;
            }
        }
        // The records end exactly where the message does: no partial record.
        let mut pos = HEADER_LEN + q.len();
        for _ in 0..written.iter().map(Vec::len).sum::<usize>() {
            pos = message::read_record(&buf[..n], pos).map_err(|e| TestCaseError::fail(format!("walk: {e}")))?.1;
        }
        prop_assert_eq!(pos, n);
    }
}

//------------ text to name against a reference --------------------------------

/// The presentation-format reader written the simplest way, one octet at
/// a time and apart from `name::text_into`: the reader the zone loader
/// uses (and any faster one that replaces it) must give the same name or
/// the same error on any text.
fn text_reference(s: &[u8], origin: Option<&[u8]>) -> Result<Vec<u8>, String> {
    let err = |e: levee_wire::WireError| format!("{e:?}");
    if s == b"@" {
        let o = origin.ok_or_else(|| err(levee_wire::WireError::RelativeName))?;
        name::check(o).map_err(err)?;
        return Ok(o.to_vec());
    }
    if s == b"." {
        return Ok(vec![0]);
    }
    if s.is_empty() {
        return Err(err(levee_wire::WireError::BadLabel));
    }
    let mut out: Vec<u8> = Vec::new();
    let push = |out: &mut Vec<u8>, l: &[u8]| {
        if out.len() + 1 + l.len() + 1 > MAX_NAME_LEN {
            return Err(err(levee_wire::WireError::NameTooLong));
        }
        out.push(l.len() as u8);
        out.extend_from_slice(l);
        Ok(())
    };
    let (mut label, mut i, mut absolute) = (Vec::new(), 0, false);
    while i < s.len() {
        let (octet, used) = match s[i] {
            b'.' => {
                if label.is_empty() {
                    return Err(err(levee_wire::WireError::BadLabel));
                }
                push(&mut out, &label)?;
                label.clear();
                i += 1;
                absolute = i == s.len();
                continue;
            }
            b'\\' => name::unescape(&s[i..]).map_err(err)?,
            c => (c, 1),
        };
        if label.len() >= 63 {
            return Err(err(levee_wire::WireError::BadLabel));
        }
        label.push(octet);
        i += used;
    }
    if !label.is_empty() {
        push(&mut out, &label)?;
    }
    let tail: &[u8] = if absolute { &[0] } else { origin.ok_or_else(|| err(levee_wire::WireError::RelativeName))? };
    if out.len() + tail.len() > MAX_NAME_LEN {
        return Err(err(levee_wire::WireError::NameTooLong));
    }
    out.extend_from_slice(tail);
    Ok(out)
}

/// Name text: runs of plain letters (some long), dots, escapes (good and
/// broken), `@`.
fn name_text() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        4 => "[a-zA-Z0-9-]{1,12}".prop_map(String::into_bytes),
        1 => "[a-z]{55,70}".prop_map(String::into_bytes),
        3 => Just(b".".to_vec()),
        1 => Just(b"..".to_vec()),
        1 => prop::sample::select(vec![&b"\\."[..], b"\\\\", b"\\065", b"\\256", b"\\0", b"\\", b"\\ ", b"@"]).prop_map(<[u8]>::to_vec),
    ];
    prop::collection::vec(piece, 0..30).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(config(3000))]

    #[test]
    fn text_to_name_matches_the_reference(
        s in name_text(),
        origin in prop::sample::select(vec![None, Some(&b"\x07example\x00"[..]), Some(&[0u8][..])]),
    ) {
        let got = name::from_text_bytes(&s, origin).map(|n| n.as_slice().to_vec()).map_err(|e| format!("{e:?}"));
        prop_assert_eq!(got, text_reference(&s, origin), "{}", String::from_utf8_lossy(&s));
    }
}
