//! Protocol details of issue 14, each as Knot DNS 3.2, NSD 4.6 and BIND
//! 9.18 were seen to answer (the answers themselves are also in the golden
//! suites; what the golden comparison treats as soft, such as EDNS
//! options, is asserted here).

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use levee_wire::edns;
use levee_wire::header::{flag, rcode};
use levee_wire::message::Message;
use levee_wire::name;
use levee_wire::rtype::{c, t};
use levee_zone::{Acl, Source, ZoneEntry, ZoneSet};

use crate::testing::{answer, opt_options};
use crate::{Config, Decision, Transport};

const NOW: u32 = 1_000_000;

const ZONE: &str = "$ORIGIN e.test.
$TTL 300
@     SOA ns1 hm 7 3600 600 86400 60
@     NS  ns1
ns1   A   192.0.2.1
www   A   192.0.2.80
";

fn entry(origin: &str, text: &str, acl: bool) -> ZoneEntry {
    let o = name::from_text(origin, None).unwrap();
    let built = levee_zone::load(Source::Memory { name: origin, data: text.as_bytes() }, &o).unwrap();
    let mut a = Acl::none();
    if acl {
        a.push("127.0.0.1".parse().unwrap(), 32);
    }
    ZoneEntry::new(Arc::new(built.zone), a)
}

fn cfg() -> Config {
    Config {
        nsid: Some(b"ns-a".to_vec()),
        cookies: Some(levee_limit::cookie::Secrets { current: [9; 16], previous: None }),
        ..Config::default()
    }
}

/// Header (id 0xabcd, `flags`, QDCOUNT `qd`), then `rest`.
fn msg(flags: u16, qd: u16, ar: u16, rest: &[u8]) -> Vec<u8> {
    let mut m = vec![0xab, 0xcd];
    m.extend_from_slice(&flags.to_be_bytes());
    m.extend_from_slice(&qd.to_be_bytes());
    m.extend_from_slice(&[0, 0, 0, 0]);
    m.extend_from_slice(&ar.to_be_bytes());
    m.extend_from_slice(rest);
    m
}

fn question(qname: &str, qtype: u16) -> Vec<u8> {
    let mut q = name::from_text(qname, None).unwrap().as_slice().to_vec();
    q.extend_from_slice(&qtype.to_be_bytes());
    q.extend_from_slice(&c::IN.to_be_bytes());
    q
}

fn opt(version: u8, options: &[u8]) -> Vec<u8> {
    let mut o = vec![0, 0, 41, 0x04, 0xd0, 0, version, 0, 0];
    o.extend_from_slice(&(options.len() as u16).to_be_bytes());
    o.extend_from_slice(options);
    o
}

fn ask(z: &Arc<ZoneSet>, m: &[u8], transport: Transport) -> Message {
    match answer(z, &cfg(), m, "127.0.0.1", transport, NOW) {
        (Decision::Send(n, _), out) => Message::parse(&out[..n]).expect("response parses"),
        (Decision::Drop(why), _) => panic!("dropped: {why:?}"),
        (Decision::Transfer(mut x), mut out) => {
            let n = x.next_message(&mut out).expect("a first message");
            Message::parse(&out[..n]).expect("response parses")
        }
        (Decision::Update(_), _) => panic!("an update handed to the update thread"),
    }
}

fn ede(m: &Message) -> Option<u16> {
    opt_options(m).into_iter().find(|o| o.0 == edns::code::EDE).map(|o| u16::from_be_bytes([o.1[0], o.1[1]]))
}

fn expire(m: &Message) -> Option<u32> {
    opt_options(m)
        .into_iter()
        .find(|o| o.0 == edns::code::EXPIRE)
        .map(|o| u32::from_be_bytes(o.1[..4].try_into().unwrap()))
}

const ALL: u16 = flag::AA | flag::TC | flag::RD | flag::Z | flag::AD | flag::CD;

/// Unknown opcodes are NOTIMP with or without a question, and only RD is
/// copied (Knot; NSD copies every flag, BIND none). QUERY, NOTIFY and
/// UPDATE without a question stay FORMERR; BADVERS comes first (Knot, BIND).
#[test]
fn unknown_opcodes_need_no_question() {
    let z = Arc::new(ZoneSet::new());
    for op in [1u16, 2, 3, 6, 15] {
        let m = ask(&z, &msg(op << 11 | ALL, 0, 0, &[]), Transport::Udp);
        assert_eq!(m.rcode(), rcode::NOTIMP, "opcode {op}");
        assert_eq!(m.header.flags, flag::QR | op << 11 | flag::RD | rcode::NOTIMP, "opcode {op}: flags");
        let m = ask(&z, &msg(op << 11 | ALL, 1, 0, &question("e.test.", t::A)), Transport::Tcp);
        assert_eq!(m.header.flags, flag::QR | op << 11 | flag::RD | rcode::NOTIMP, "opcode {op} with a question");
    }
    let m = ask(&z, &msg(15 << 11, 0, 1, &opt(0, &[])), Transport::Udp);
    assert_eq!((m.rcode(), m.opt().is_some()), (rcode::NOTIMP, true));
    let m = ask(&z, &msg(15 << 11, 0, 1, &opt(1, &[])), Transport::Udp);
    assert_eq!(m.rcode(), rcode::BADVERS);
    // Octets after the header are ignored as for a QUERY, and so is a
    // record the counts promise but the message lacks (NSD: NOTIMP; BIND
    // answers FORMERR, Knot nothing).
    assert_eq!(ask(&z, &msg(15 << 11, 0, 0, &[1, 2, 3]), Transport::Udp).rcode(), rcode::NOTIMP);
    let mut short = msg(15 << 11, 0, 0, &[]);
    short[7] = 1; // ANCOUNT 1
    assert_eq!(ask(&z, &short, Transport::Udp).rcode(), rcode::NOTIMP);
    for op in [0u16, 4, 5] {
        let m = ask(&z, &msg(op << 11 | ALL, 0, 0, &[]), Transport::Udp);
        assert_eq!(m.rcode(), rcode::FORMERR, "opcode {op} needs a question");
    }
    // A QUERY's error keeps RD and CD (BIND; RFC 4035 §3.1.6).
    let m = ask(&z, &msg(ALL, 2, 0, &[question("e.test.", t::A), question("e.test.", t::A)].concat()), Transport::Udp);
    assert_eq!(m.header.flags, flag::QR | flag::RD | flag::CD | rcode::FORMERR);
}

/// BADVERS answers none of the OPT's options: no cookie, no NSID (BIND,
/// the reference with cookies, sends neither; RFC 6891 §6.1.3).
#[test]
fn badvers_answers_no_options() {
    let mut z = ZoneSet::new();
    z.insert(entry("e.test.", ZONE, false));
    let z = Arc::new(z);
    let cookie_and_nsid = [&[0, 10, 0, 8][..], &[1, 2, 3, 4, 5, 6, 7, 8], &[0, 3, 0, 0]].concat();
    let m = ask(&z, &msg(0, 1, 1, &[question("www.e.test.", t::A), opt(1, &cookie_and_nsid)].concat()), Transport::Udp);
    assert_eq!(m.rcode(), rcode::BADVERS);
    assert!(opt_options(&m).is_empty(), "{:?}", opt_options(&m));
    // Version 0: both answered.
    let m = ask(&z, &msg(0, 1, 1, &[question("www.e.test.", t::A), opt(0, &cookie_and_nsid)].concat()), Transport::Udp);
    let codes: Vec<u16> = opt_options(&m).iter().map(|o| o.0).collect();
    assert_eq!(codes, [edns::code::COOKIE, edns::code::NSID]);
}

/// Extended DNS Errors where Knot or NSD send one: 20 for a name outside
/// every zone (Knot, NSD), 18 for a transfer the ACL refuses (NSD, BIND),
/// 14 for a configured zone that did not load (NSD; Knot sends 24), 24 for
/// an expired secondary zone (NSD). Only in responses to queries with OPT.
#[test]
fn extended_errors_where_the_references_send_them() {
    let mut z = ZoneSet::new();
    z.insert(entry("e.test.", ZONE, false));
    z.insert(ZoneEntry::unavailable(&name::from_text("bad.test.", None).unwrap(), Acl::none()).unwrap());
    let mut expired = entry("old.test.", &ZONE.replace("e.test.", "old.test."), true);
    expired.expired = true;
    z.insert(expired);
    let z = Arc::new(z);
    let q = |n: &str, ty: u16| msg(0, 1, 1, &[question(n, ty), opt(0, &[])].concat());
    let cases = [
        ("www.nowhere.", t::A, Transport::Udp, rcode::REFUSED, 20),
        ("e.test.", t::AXFR, Transport::Tcp, rcode::REFUSED, 18),
        ("www.bad.test.", t::A, Transport::Udp, rcode::SERVFAIL, 14),
        ("bad.test.", t::AXFR, Transport::Tcp, rcode::REFUSED, 18),
        ("www.old.test.", t::A, Transport::Udp, rcode::SERVFAIL, 24),
        ("old.test.", t::AXFR, Transport::Tcp, rcode::SERVFAIL, 24),
    ];
    for (n, ty, tr, rc, code) in cases {
        let m = ask(&z, &q(n, ty), tr);
        assert_eq!((m.rcode(), ede(&m)), (rc, Some(code)), "{n} type {ty}");
        assert!(!m.header.has(flag::AA), "{n}: no AA on an error");
    }
    let m = ask(&z, &msg(0, 1, 0, &question("www.bad.test.", t::A)), Transport::Udp);
    assert_eq!((m.rcode(), m.opt().is_none()), (rcode::SERVFAIL, true), "no OPT without OPT in the query");
    let m = ask(&z, &q("www.e.test.", t::A), Transport::Udp);
    assert_eq!((m.rcode(), ede(&m)), (rcode::NOERROR, None));
}

/// EDNS EXPIRE (RFC 7314) answers SOA, AXFR and IXFR queries that carry
/// it: a primary zone's SOA EXPIRE field (Knot and BIND send it), a
/// secondary zone's time left.
#[test]
fn expire_on_soa_and_transfers() {
    let mut z = ZoneSet::new();
    z.insert(entry("e.test.", ZONE, true));
    let mut sec = entry("s.test.", &ZONE.replace("e.test.", "s.test."), true);
    sec.expires = Some(Arc::new(AtomicU64::new(NOW as u64 + 500)));
    z.insert(sec);
    let z = Arc::new(z);
    let q = |n: &str, ty: u16, o: &[u8]| msg(0, 1, 1, &[question(n, ty), opt(0, o)].concat());
    let x = [0, 9, 0, 0];
    assert_eq!(expire(&ask(&z, &q("e.test.", t::SOA, &x), Transport::Udp)), Some(86400));
    assert_eq!(expire(&ask(&z, &q("www.e.test.", t::SOA, &x), Transport::Udp)), Some(86400), "NODATA too");
    assert_eq!(expire(&ask(&z, &q("e.test.", t::AXFR, &x), Transport::Tcp)), Some(86400));
    assert_eq!(expire(&ask(&z, &q("s.test.", t::SOA, &x), Transport::Udp)), Some(500));
    assert_eq!(expire(&ask(&z, &q("s.test.", t::AXFR, &x), Transport::Tcp)), Some(500));
    assert_eq!(expire(&ask(&z, &q("s.test.", t::SOA, &[]), Transport::Udp)), None, "not asked");
    assert_eq!(expire(&ask(&z, &q("www.e.test.", t::A, &x), Transport::Udp)), None, "not SOA/AXFR/IXFR");
    assert_eq!(expire(&ask(&z, &q("nowhere.", t::SOA, &x), Transport::Udp)), None, "REFUSED");
    // IXFR over UDP: the current SOA, with EXPIRE.
    assert_eq!(expire(&ask(&z, &q("e.test.", t::IXFR, &x), Transport::Udp)), Some(86400));
}

/// A record that does not fit in a 65535-octet message ends the transfer
/// with a SERVFAIL message after the ones that fit (as Knot DNS sends),
/// and the transfer says why.
#[test]
fn a_transfer_with_a_record_too_large_ends_with_servfail() {
    let mut text = ZONE.to_string();
    text.push_str(&format!("huge TYPE65000 \\# 65510 {}\n", "ab".repeat(65510)));
    text.push_str("zz A 192.0.2.9\n");
    let mut z = ZoneSet::new();
    z.insert(entry("e.test.", &text, true));
    let m = msg(0, 1, 1, &[question("e.test.", t::AXFR), opt(0, &[])].concat());
    let z = Arc::new(z);
    let (Decision::Transfer(mut x), mut out) = answer(&z, &cfg(), &m, "127.0.0.1", Transport::Tcp, NOW) else {
        panic!("no transfer")
    };
    let mut msgs = Vec::new();
    while let Some(n) = x.next_message(&mut out) {
        msgs.push(Message::parse(&out[..n]).unwrap());
        assert!(msgs.len() < 10, "the transfer does not end");
    }
    let last = msgs.last().unwrap();
    assert_eq!(last.rcode(), rcode::SERVFAIL);
    assert!(last.answer.is_empty() && !last.header.has(flag::AA));
    assert_eq!(last.question.len(), 1, "the question is echoed (Knot)");
    assert!(msgs[..msgs.len() - 1].iter().all(|m| m.rcode() == rcode::NOERROR && !m.answer.is_empty()));
    let f = x.failure().expect("failure").to_string();
    assert!(f.contains("huge.e.test. TYPE65000 (65510 octets of RDATA)"), "{f}");
    assert!(x.next_message(&mut out).is_none());
}
