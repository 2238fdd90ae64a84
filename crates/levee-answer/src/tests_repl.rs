//! TSIG, NOTIFY, UPDATE's checks, expired secondaries and IXFR on the
//! answering path.

use std::sync::Arc;

use levee_tsig::{self as ts, Algorithm, Key, KeyRing, SignParams, StreamVerifier};
use levee_wire::message::Message;
use levee_wire::name;
use levee_wire::rtype::{c, t};
use levee_zone::journal::{diff, Journal, Limits};
use levee_zone::{Acl, Source, ZoneEntry, ZoneSet};

use crate::testing::answer;
use crate::{Config, Decision, Event, Meta, Transport};

const NOW: u32 = 1_700_000_000;
const V1: &str = "$TTL 300\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\na A 192.0.2.2\nb TXT \"x\"\n";
const V2: &str = "$TTL 300\n@ SOA ns h 2 2 3 4 5\n@ NS ns\nns A 192.0.2.1\na A 192.0.2.3\nc TXT \"y\"\n";

fn key() -> Key {
    Key::new("xfr-key.", Algorithm::HmacSha256, b"0123456789abcdef".to_vec()).unwrap()
}

fn zone(text: &str) -> levee_zone::Zone {
    let o = name::from_text("example.", None).unwrap();
    levee_zone::load(Source::Memory { name: "t", data: text.as_bytes() }, &o).unwrap().zone
}

fn setup(expired: bool) -> (Arc<ZoneSet>, Config) {
    let mut acl = Acl::none();
    acl.push_keyed(Some(("127.0.0.0".parse().unwrap(), 8)), &key().name);
    let mut e = ZoneEntry::new(Arc::new(zone(V2)), acl.clone());
    e.notify = acl;
    e.expired = expired;
    let mut j = Journal::new();
    j.push(diff(&zone(V1), &zone(V2)), 0, Limits::default());
    e.journal = Some(Arc::new(j));
    let mut set = ZoneSet::new();
    set.insert(e);
    let mut keys = KeyRing::new();
    keys.add(key());
    (Arc::new(set), Config { keys, ..Config::default() })
}

fn query(qtype: u16, opcode: u8, ixfr_serial: Option<u32>) -> Vec<u8> {
    let mut m = vec![0x12, 0x34, opcode << 3, 0, 0, 1, 0, 0, 0, ixfr_serial.is_some() as u8, 0, 0];
    m.extend_from_slice(b"\x07example\x00");
    m.extend_from_slice(&qtype.to_be_bytes());
    m.extend_from_slice(&c::IN.to_be_bytes());
    if let Some(s) = ixfr_serial {
        m.extend_from_slice(b"\xc0\x0c\x00\x06\x00\x01\x00\x00\x00\x00\x00\x16\x00\x00");
        m.extend_from_slice(&s.to_be_bytes());
        m.extend_from_slice(&[0; 16]);
    }
    m
}

fn signed(mut m: Vec<u8>, k: &Key, time: u32) -> (Vec<u8>, ts::MacBuf) {
    let mac = ts::sign_vec(&mut m, k, &SignParams::at(time as u64));
    (m, mac)
}

fn ask(set: &Arc<ZoneSet>, cfg: &Config, msg: &[u8], client: &str, tr: Transport) -> Decision {
    let (d, out) = answer(set, cfg, msg, client, tr, NOW);
    if let Decision::Send(n, meta) = d {
        LAST.with(|l| *l.borrow_mut() = (out[..n].to_vec(), meta));
    }
    d
}

thread_local! {
    static LAST: std::cell::RefCell<(Vec<u8>, Meta)> = std::cell::RefCell::new((Vec::new(), Meta::default()));
}

/// The last response sent.
fn last() -> Vec<u8> {
    LAST.with(|l| l.borrow().0.clone())
}

/// The event of the last response sent.
fn last_event() -> Event {
    LAST.with(|l| l.borrow().1.event)
}

fn tsig_error(m: &[u8]) -> (u16, usize) {
    let rec = ts::parse(m).unwrap().unwrap();
    (rec.error, rec.mac.len())
}

#[test]
fn signed_query_gets_signed_answer() {
    let (set, cfg) = setup(false);
    let k = key();
    let (q, mac) = signed(query(t::SOA, 0, None), &k, NOW);
    assert!(matches!(ask(&set, &cfg, &q, "192.0.2.9", Transport::Udp), Decision::Send(..)));
    let r = last();
    let m = Message::parse(&r).unwrap();
    assert_eq!((m.rcode(), m.answer.len()), (0, 1));
    let mut v = StreamVerifier::new(&k, mac, NOW as u64);
    v.message(&r).unwrap();
    v.finish().unwrap();
}

#[test]
fn tsig_failures() {
    let (set, cfg) = setup(false);
    let k = key();
    // Unknown key: NOTAUTH, BADKEY, unsigned.
    let other = Key::new("other.", Algorithm::HmacSha256, b"x".to_vec()).unwrap();
    let (q, _) = signed(query(t::SOA, 0, None), &other, NOW);
    ask(&set, &cfg, &q, "127.0.0.1", Transport::Udp);
    let r = last();
    assert_eq!(Message::parse(&r).unwrap().rcode(), 9);
    assert_eq!(tsig_error(&r), (ts::err::BADKEY, 0));
    assert_eq!(last_event(), Event::TsigFailed(ts::Error::BadKey));
    // Right name, wrong secret: BADSIG.
    let wrong = Key::new("xfr-key.", Algorithm::HmacSha256, b"not the secret".to_vec()).unwrap();
    let (q, _) = signed(query(t::SOA, 0, None), &wrong, NOW);
    ask(&set, &cfg, &q, "127.0.0.1", Transport::Udp);
    let r = last();
    assert_eq!(Message::parse(&r).unwrap().rcode(), 9);
    assert_eq!(tsig_error(&r), (ts::err::BADSIG, 0));
    assert_eq!(last_event(), Event::TsigFailed(ts::Error::BadSig));
    // Ten minutes off: BADTIME, signed, with our time.
    let (q, mac) = signed(query(t::SOA, 0, None), &k, NOW - 600);
    ask(&set, &cfg, &q, "127.0.0.1", Transport::Udp);
    let r = last();
    assert_eq!(Message::parse(&r).unwrap().rcode(), 9);
    let rec = ts::parse(&r).unwrap().unwrap();
    assert_eq!((rec.error, rec.mac.len(), rec.other.len()), (ts::err::BADTIME, 32, 6));
    assert_eq!(&rec.other[2..], &NOW.to_be_bytes());
    assert_eq!(last_event(), Event::TsigFailed(ts::Error::BadTime));
    let mut ks = KeyRing::new();
    ks.add(k.clone());
    let v = ts::verify(&r, &rec, &ks, Some(mac.as_slice()), (NOW - 600) as u64);
    assert!(v.is_ok(), "BADTIME answer signed with the request MAC");
    // A damaged TSIG record: FORMERR.
    let (mut q, _) = signed(query(t::SOA, 0, None), &k, NOW);
    let n = q.len();
    q[n - 1] = 5;
    ask(&set, &cfg, &q, "127.0.0.1", Transport::Udp);
    assert_eq!(Message::parse(&last()).unwrap().rcode(), 1);
    assert_eq!(last_event(), Event::None, "a malformed TSIG is FORMERR, not a TSIG failure");
}

#[test]
fn transfer_acl_with_key() {
    let (set, cfg) = setup(false);
    let k = key();
    // Unsigned from an allowed prefix: the rule needs the key.
    let q = query(t::AXFR, 0, None);
    ask(&set, &cfg, &q, "127.0.0.1", Transport::Tcp);
    assert_eq!(Message::parse(&last()).unwrap().rcode(), 5);
    assert_eq!(last_event(), Event::TransferRefused);
    // Signed from outside the prefix: REFUSED, signed.
    let (q, _) = signed(query(t::AXFR, 0, None), &k, NOW);
    ask(&set, &cfg, &q, "192.0.2.1", Transport::Tcp);
    let r = last();
    assert_eq!(Message::parse(&r).unwrap().rcode(), 5);
    assert_eq!(tsig_error(&r), (0, 32));
    // Signed from inside: every message verifies.
    let (q, mac) = signed(query(t::AXFR, 0, None), &k, NOW);
    let Decision::Transfer(mut x) = ask(&set, &cfg, &q, "127.0.0.1", Transport::Tcp) else { panic!("no transfer") };
    let mut v = StreamVerifier::new(&k, mac, NOW as u64);
    let mut out = vec![0u8; 65535];
    let mut records = 0;
    while let Some(n) = x.next_message(&mut out) {
        v.message(&out[..n]).unwrap();
        records += Message::parse(&out[..n]).unwrap().answer.len();
    }
    v.finish().unwrap();
    assert_eq!(records, 6);
}

#[test]
fn ixfr_from_the_journal() {
    let (set, cfg) = setup(false);
    let k = key();
    let (q, mac) = signed(query(t::IXFR, 0, Some(1)), &k, NOW);
    let Decision::Transfer(mut x) = ask(&set, &cfg, &q, "127.0.0.1", Transport::Tcp) else { panic!("no transfer") };
    assert!(x.is_incremental());
    let mut out = vec![0u8; 65535];
    let mut v = StreamVerifier::new(&k, mac, NOW as u64);
    let mut ans = Vec::new();
    while let Some(n) = x.next_message(&mut out) {
        v.message(&out[..n]).unwrap();
        ans.extend(Message::parse(&out[..n]).unwrap().answer);
    }
    v.finish().unwrap();
    // SOA 2, SOA 1, -a .2, -b, SOA 2, +a .3, +c, SOA 2 (RFC 1995 §4).
    let types: Vec<u16> = ans.iter().map(|r| r.rtype).collect();
    assert_eq!(types, [t::SOA, t::SOA, t::A, t::TXT, t::SOA, t::A, t::TXT, t::SOA]);
    let serial = |i: usize| levee_wire::soa::serial(&ans[i].rdata).unwrap();
    assert_eq!((serial(0), serial(1), serial(4), serial(7)), (2, 1, 2, 2));
    assert_eq!(ans[2].rdata, [192, 0, 2, 2]);
    assert_eq!(ans[5].rdata, [192, 0, 2, 3]);
    // A serial the journal does not reach: a full transfer.
    let (q, _) = signed(query(t::IXFR, 0, Some(0)), &k, NOW);
    let Decision::Transfer(x) = ask(&set, &cfg, &q, "127.0.0.1", Transport::Tcp) else { panic!("no transfer") };
    assert!(!x.is_incremental());
    // Up to date over UDP: the SOA alone.
    let (q, _) = signed(query(t::IXFR, 0, Some(2)), &k, NOW);
    ask(&set, &cfg, &q, "127.0.0.1", Transport::Udp);
    let m = Message::parse(&last()).unwrap();
    assert_eq!((m.rcode(), m.answer.len(), m.answer[0].rtype), (0, 1, t::SOA));
}

#[test]
fn notify_and_expiry() {
    let (set, cfg) = setup(false);
    let k = key();
    let (q, _) = signed(query(t::SOA, 4, None), &k, NOW);
    ask(&set, &cfg, &q, "127.0.0.1", Transport::Udp);
    let r = last();
    let m = Message::parse(&r).unwrap();
    assert_eq!((m.rcode(), m.header.opcode(), m.header.flags & 0x0400 != 0), (0, 4, true));
    assert_eq!(last_event(), Event::NotifyAccepted { serial: None });
    // The serial it announces, from the SOA in its answer section.
    let mut with_soa = query(t::SOA, 4, None);
    with_soa[7] = 1; // ANCOUNT
    with_soa.extend_from_slice(b"\xc0\x0c\x00\x06\x00\x01\x00\x00\x00\x3c\x00\x1d\x02ns\xc0\x0c\x01h\xc0\x0c");
    for x in [2026u32, 1, 2, 3, 4] {
        with_soa.extend_from_slice(&x.to_be_bytes());
    }
    ask(&set, &cfg, &signed(with_soa, &k, NOW).0, "127.0.0.1", Transport::Tcp);
    assert_eq!(last_event(), Event::NotifyAccepted { serial: Some(2026) });
    // Unsigned, or from elsewhere: REFUSED.
    ask(&set, &cfg, &query(t::SOA, 4, None), "127.0.0.1", Transport::Udp);
    assert_eq!(Message::parse(&last()).unwrap().rcode(), 5);
    assert_eq!(last_event(), Event::NotifyRefused);
    ask(&set, &cfg, &signed(query(t::SOA, 4, None), &k, NOW).0, "192.0.2.1", Transport::Udp);
    assert_eq!(Message::parse(&last()).unwrap().rcode(), 5);
    assert_eq!(last_event(), Event::NotifyRefused);
    // An expired secondary zone answers SERVFAIL.
    let (set, cfg) = setup(true);
    ask(&set, &cfg, &query(t::A, 0, None), "127.0.0.1", Transport::Udp);
    assert_eq!(Message::parse(&last()).unwrap().rcode(), 2);
}

/// The answering path's part of UPDATE: the zone section, the zone, the
/// grant; only a granted update is handed on (`Decision::Update`), with
/// the message, the zone and the verified key.
#[test]
fn update_checks_before_the_hand_off() {
    let (set, mut cfg) = setup(false);
    let k = key();
    let rc = |d: &(Decision, Vec<u8>)| match d {
        (Decision::Send(n, meta), out) => (Message::parse(&out[..*n]).unwrap().rcode(), meta.event),
        (d, _) => panic!("not answered: {:?}", std::mem::discriminant(d)),
    };
    let upd = query(t::SOA, 5, None);
    // No zone takes updates: REFUSED, signed or not, counted as an event.
    let d = answer(&set, &cfg, &upd, "127.0.0.1", Transport::Udp, NOW);
    assert_eq!(rc(&d), (5, Event::UpdateRefused));
    // A zone we do not serve: NOTAUTH (BIND).
    let mut other = upd.clone();
    other[13..20].copy_from_slice(b"exampl1");
    assert_eq!(rc(&answer(&set, &cfg, &other, "127.0.0.1", Transport::Udp, NOW)).0, 9);
    // The zone section must be of type SOA.
    assert_eq!(rc(&answer(&set, &cfg, &query(t::A, 5, None), "127.0.0.1", Transport::Udp, NOW)).0, 1);
    // Granted to the key from 127/8: unsigned or from elsewhere REFUSED.
    let mut acl = Acl::none();
    acl.push_keyed(Some(("127.0.0.0".parse().unwrap(), 8)), &k.name);
    cfg.updates = vec![(b"\x07example\x00".to_vec(), acl)];
    assert_eq!(rc(&answer(&set, &cfg, &upd, "127.0.0.1", Transport::Udp, NOW)), (5, Event::UpdateRefused));
    let (su, mac) = signed(upd.clone(), &k, NOW);
    assert_eq!(rc(&answer(&set, &cfg, &su, "192.0.2.1", Transport::Tcp, NOW)).0, 5);
    // Signed with the key from 127.0.0.1: handed on, over UDP and TCP.
    for tr in [Transport::Udp, Transport::Tcp] {
        let (Decision::Update(u), _) = answer(&set, &cfg, &su, "127.0.0.1", tr, NOW) else { panic!("not handed on") };
        assert_eq!((u.msg.as_slice(), u.zone.as_slice(), u.transport), (su.as_slice(), &b"\x07example\x00"[..], tr));
        let (uk, umac) = u.signed.as_ref().expect("the key travels with it");
        assert_eq!((uk.name.as_slice(), umac.as_slice()), (k.name.as_slice(), mac.as_slice()));
    }
    // A wrong signature never reaches the grant: NOTAUTH (BADSIG).
    let mut bad = su.clone();
    let n = bad.len();
    bad[n - 10] ^= 1;
    assert_eq!(rc(&answer(&set, &cfg, &bad, "127.0.0.1", Transport::Udp, NOW)).0, 9);
    // An expired (secondary) zone is not updated.
    let (set, _) = setup(true);
    assert_ne!(rc(&answer(&set, &cfg, &su, "127.0.0.1", Transport::Udp, NOW)).0, 0);
}
