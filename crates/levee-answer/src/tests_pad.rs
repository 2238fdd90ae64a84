//! EDNS padding (`pad.rs`) through the worker as the drivers call it:
//! over DoT/DoQ ([`Worker::answer_stream`]) responses with OPT are padded
//! to a multiple of 468 octets, over UDP and TCP never; with TSIG the
//! record stays last and its MAC covers the padding; transfers pad each
//! message; the UDP response cache neither leaks nor loses padding.

use std::net::IpAddr;
use std::sync::Arc;

use levee_tsig::{self as ts, Algorithm, Key, KeyRing, SignParams, StreamVerifier};
use levee_wire::edns::code;
use levee_wire::message::Message;
use levee_wire::name;
use levee_wire::rtype::{c, t};
use levee_zone::{Acl, Source, ZoneEntry, ZoneSet};

use crate::testing::{opt_options, worker};
use crate::{Config, Decision, Received, StreamPeer, Transport, Worker, PADDING_BLOCK};

const NOW: u32 = 1_700_000_000;
const ZONE: &str = "$TTL 300\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\na A 192.0.2.2\n\
                    big TXT \"0123456789012345678901234567890123456789\" \"0123456789012345678901234567890123456789\"\n";
const PEER: StreamPeer<'static> = StreamPeer { alpn_ok: true, identity: None };
const CLIENT: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 1));

fn key() -> Key {
    Key::new("pad-key.", Algorithm::HmacSha256, b"0123456789abcdef".to_vec()).unwrap()
}

fn setup() -> (Arc<ZoneSet>, Config) {
    let o = name::from_text("example.", None).unwrap();
    let z = levee_zone::load(Source::Memory { name: "t", data: ZONE.as_bytes() }, &o).unwrap().zone;
    let mut acl = Acl::none();
    acl.push_keyed(Some(("127.0.0.0".parse().unwrap(), 8)), &key().name);
    let mut set = ZoneSet::new();
    set.insert(ZoneEntry::new(Arc::new(z), acl));
    let mut keys = KeyRing::new();
    keys.add(key());
    (Arc::new(set), Config { keys, ..Config::default() })
}

/// A query for `qname`/`qtype` in `example.`; `opt`: None (no EDNS), or
/// the OPT record's version and options.
fn query(qname: &str, qtype: u16, opt: Option<(u8, &[u8])>) -> Vec<u8> {
    let mut m = vec![0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, opt.is_some() as u8];
    m.extend_from_slice(&name::from_text(qname, Some(b"\x07example\x00")).unwrap());
    m.extend_from_slice(&qtype.to_be_bytes());
    m.extend_from_slice(&c::IN.to_be_bytes());
    if let Some((version, opts)) = opt {
        m.extend_from_slice(&[0, 0, 41, 4, 208, 0, version, 0, 0]);
        m.extend_from_slice(&(opts.len() as u16).to_be_bytes());
        m.extend_from_slice(opts);
    }
    m
}

/// A query's OPT record: its version and options (None: no EDNS).
type Opt = Option<(u8, &'static [u8])>;

/// An empty Padding option, as a client asks with.
const ASK: &[u8] = &[0, 12, 0, 0];

fn answer(w: &mut Worker, zones: &Arc<ZoneSet>, msg: &[u8], transport: Option<Transport>) -> Vec<u8> {
    let mut out = vec![0u8; 65535];
    let d = match transport {
        Some(transport) => w.answer(Received { msg, client: CLIENT, transport }, zones, &mut out),
        None => w.answer_stream(Received { msg, client: CLIENT, transport: Transport::Tcp }, PEER, zones, &mut out),
    };
    match d {
        Decision::Send(n, _) => out[..n].to_vec(),
        _ => panic!("no response"),
    }
}

/// The Padding option's data length, when the OPT record ends with one.
fn padding(r: &[u8]) -> Option<usize> {
    let m = Message::parse(r).unwrap();
    m.opt()?;
    let opts = opt_options(&m);
    let n = opts.iter().filter(|(c, _)| *c == code::PADDING).count();
    assert!(n <= 1, "at most one Padding option: {opts:?}");
    match opts.last() {
        Some((code::PADDING, data)) => {
            assert!(data.iter().all(|&b| b == 0), "padding octets are zero");
            Some(data.len())
        }
        _ => {
            assert_eq!(n, 0, "the Padding option is the last option: {opts:?}");
            None
        }
    }
}

#[test]
fn padded_over_encrypted_transports_only() {
    let (zones, cfg) = setup();
    let mut w = worker(&cfg, NOW);
    let cases: [(&str, u16, Opt, u16); 7] = [
        ("@", t::SOA, Some((0, ASK)), 0),
        // Knot DNS 3.4 pads whenever the query had OPT, asked or not.
        ("@", t::SOA, Some((0, &[])), 0),
        ("big", t::TXT, Some((0, ASK)), 0),
        ("nope", t::A, Some((0, ASK)), 3),
        ("a", t::AAAA, Some((0, &[0, 3, 0, 0])), 0),
        ("x.other.", t::A, Some((0, ASK)), 5),
        ("@", t::SOA, Some((1, ASK)), 16),
    ];
    for (qname, qtype, opt, rc) in cases {
        let q = query(qname, qtype, opt);
        let enc = answer(&mut w, &zones, &q, None);
        let m = Message::parse(&enc).unwrap();
        assert_eq!(m.rcode(), rc, "{qname} {qtype}");
        assert_eq!(enc.len() % PADDING_BLOCK, 0, "{qname} {qtype}: {} octets over DoT", enc.len());
        let p = padding(&enc).unwrap_or_else(|| panic!("{qname} {qtype}: no Padding option over DoT"));
        // Over UDP and TCP: the same response without the option.
        for tr in [Transport::Udp, Transport::Tcp] {
            let clear = answer(&mut w, &zones, &q, Some(tr));
            assert_eq!(padding(&clear), None, "{qname} {qtype} over {tr:?}: padded");
            assert_eq!(clear.len() + 4 + p, enc.len(), "{qname} {qtype} over {tr:?}");
        }
    }
    // Without EDNS there is no OPT to pad.
    let q = query("@", t::SOA, None);
    let enc = answer(&mut w, &zones, &q, None);
    assert!(Message::parse(&enc).unwrap().opt().is_none());
    assert_eq!(enc, answer(&mut w, &zones, &q, Some(Transport::Tcp)));
    // tls.padding = false: never.
    let mut off = worker(&Config { padding: false, ..cfg }, NOW);
    let q = query("@", t::SOA, Some((0, ASK)));
    assert_eq!(padding(&answer(&mut off, &zones, &q, None)), None);
}

#[test]
fn the_udp_cache_neither_leaks_nor_loses_padding() {
    // A plain query (bare OPT) is cached by a UDP worker; the same worker
    // answering it over DoT must pad, and UDP must stay unpadded after.
    let (zones, cfg) = setup();
    let mut w = worker(&cfg, NOW);
    let q = query("a", t::A, Some((0, &[])));
    let udp: Vec<_> = (0..4).map(|_| answer(&mut w, &zones, &q, Some(Transport::Udp))).collect();
    assert!(w.counters().hits >= 1, "the UDP answers came from the cache: {:?}", w.counters());
    assert!(udp.iter().all(|r| r == &udp[0] && padding(r).is_none()));
    let enc = answer(&mut w, &zones, &q, None);
    assert_eq!(enc.len() % PADDING_BLOCK, 0);
    assert!(padding(&enc).is_some());
    let hits = w.counters().hits;
    assert_eq!(answer(&mut w, &zones, &q, Some(Transport::Udp)), udp[0]);
    assert_eq!(w.counters().hits, hits + 1, "a cache hit, unpadded");
}

fn signed(msg: Vec<u8>, k: &Key, time: u32) -> (Vec<u8>, ts::MacBuf) {
    let mut m = msg;
    let mac = ts::sign_vec(&mut m, k, &SignParams::at(time as u64));
    (m, mac)
}

/// TSIG is the last record of the additional section.
fn tsig_last(r: &[u8]) {
    let m = Message::parse(r).unwrap();
    assert_eq!(m.additional.last().map(|a| a.rtype), Some(t::TSIG), "TSIG last");
    assert_eq!(m.additional.iter().filter(|a| a.rtype == t::TSIG).count(), 1);
}

#[test]
fn tsig_stays_last_and_covers_the_padding() {
    let (zones, cfg) = setup();
    let k = key();
    let mut w = worker(&cfg, NOW);
    for (qname, qtype) in [("@", t::SOA), ("big", t::TXT), ("nope", t::A)] {
        let (q, mac) = signed(query(qname, qtype, Some((0, ASK))), &k, NOW);
        let r = answer(&mut w, &zones, &q, None);
        assert_eq!(r.len() % PADDING_BLOCK, 0, "{qname}: {} octets, TSIG included", r.len());
        assert!(padding(&r).is_some());
        tsig_last(&r);
        let mut v = StreamVerifier::new(&k, mac, NOW as u64);
        v.message(&r).expect("the MAC verifies over the padded message");
        v.finish().unwrap();
        // A flipped padding octet breaks it: the MAC covers the padding.
        if padding(&r) > Some(0) {
            let mut bad = r.clone();
            // The last padding octet: OPT ends just before TSIG.
            bad[ts::parse(&r).unwrap().unwrap().start - 1] = 1;
            let mut v = StreamVerifier::new(&k, mac, NOW as u64);
            assert!(v.message(&bad).is_err(), "{qname}: a changed padding octet still verified");
        }
    }
    // BADTIME: signed with our time, padded before signing.
    let (q, mac) = signed(query("@", t::SOA, Some((0, ASK))), &k, NOW - 600);
    let r = answer(&mut w, &zones, &q, None);
    assert_eq!((Message::parse(&r).unwrap().rcode(), r.len() % PADDING_BLOCK), (9, 0));
    tsig_last(&r);
    let rec = ts::parse(&r).unwrap().unwrap();
    let mut ks = KeyRing::new();
    ks.add(k.clone());
    assert!(ts::verify(&r, &rec, &ks, Some(mac.as_slice()), (NOW - 600) as u64).is_ok());
    // BADKEY: the unsigned TSIG echo stays last, after the padding.
    let other = Key::new("other.", Algorithm::HmacSha256, b"x".to_vec()).unwrap();
    let (q, _) = signed(query("@", t::SOA, Some((0, ASK))), &other, NOW);
    let r = answer(&mut w, &zones, &q, None);
    assert_eq!((Message::parse(&r).unwrap().rcode(), r.len() % PADDING_BLOCK), (9, 0));
    assert!(padding(&r).is_some());
    tsig_last(&r);
    assert_eq!(ts::parse(&r).unwrap().unwrap().error, ts::err::BADKEY);
}

#[test]
fn transfer_messages_are_each_padded_and_signed() {
    let (zones, cfg) = setup();
    let k = key();
    let mut w = worker(&cfg, NOW);
    for stream in [true, false] {
        let (q, mac) = signed(query("@", t::AXFR, Some((0, ASK))), &k, NOW);
        let mut out = vec![0u8; 65535];
        let rx = Received { msg: &q, client: CLIENT, transport: Transport::Tcp };
        let d = if stream { w.answer_stream(rx, PEER, &zones, &mut out) } else { w.answer(rx, &zones, &mut out) };
        let Decision::Transfer(mut x) = d else { panic!("no transfer") };
        let mut v = StreamVerifier::new(&k, mac, NOW as u64);
        let mut n_msgs = 0;
        while let Some(n) = x.next_message(&mut out) {
            let r = &out[..n];
            v.message(r).expect("each message verifies");
            tsig_last(r);
            if stream {
                assert_eq!(n % PADDING_BLOCK, 0, "message {n_msgs}: {n} octets");
                assert!(padding(r).is_some(), "every message carries OPT with Padding");
            } else {
                assert_eq!(Message::parse(r).unwrap().opt().map(|_| padding(r)), Some(None));
            }
            n_msgs += 1;
        }
        v.finish().unwrap();
        assert!(n_msgs >= 1);
    }
}
