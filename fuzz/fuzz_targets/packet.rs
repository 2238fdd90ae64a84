//! Fuzz target `packet`: arbitrary octets as a query, over UDP and over TCP,
//! against a small zone set (levee's own golden zones, loaded once).
//!
//! The answering pipeline (`Worker::answer`) must never panic, and every
//! response must be a message that `Message::parse` reads, with QR=1, the
//! query's ID, at most one question (the query's own), and, over UDP, no
//! more octets than the payload size in force. Zone transfers are pulled to
//! the end and every message is checked the same way.
//!
//! The workers are the daemon's (a UDP worker with a small response cache
//! and every shortcut: cache hits, the plain path, direct name errors,
//! pre-rendered SOAs; the TCP thread's), and each decision must be the
//! one a worker without shortcuts makes (`Options::REFERENCE`: every
//! message parsed, negative answers written by the response writer):
//! the same octets and metadata, or the same reason to drop.

#![no_main]

use std::cell::RefCell;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, OnceLock};

use levee_answer::policy::{Overload, Policy};
use levee_answer::{Config, Decision, Dropped, Meta, Options, Received, Time, Transport, Worker};
use levee_limit::cookie::Secrets;
use levee_wire::header::{flag, HEADER_LEN};
use levee_wire::message::Message;
use levee_wire::name;
use levee_wire::query::{parse_query, Parsed, Query};
use levee_zone::{Acl, Source, ZoneEntry, ZoneSet};
use libfuzzer_sys::fuzz_target;

/// The zones (copies of `tests/golden/levee/zones/`) and whether
/// 127.0.0.1 may transfer them.
const ZONES: &[(&str, &str, bool)] = &[
    ("lv.test.", include_str!("../zones/lv.test.zone"), true),
    ("dnapex.test.", include_str!("../zones/dnapex.test.zone"), false),
    ("sec.test.", include_str!("../zones/sec.test.zone"), true),
    ("kid.sec.test.", include_str!("../zones/kid.sec.test.zone"), false),
    ("n3.test.", include_str!("../zones/n3.test.zone"), true),
    ("oo.test.", include_str!("../zones/oo.test.zone"), false),
    ("xp.test.", include_str!("../zones/xp.test.zone"), true),
    ("cnsec.test.", include_str!("../zones/cnsec.test.zone"), false),
    ("cnn3.test.", include_str!("../zones/cnn3.test.zone"), false),
];

/// A configured zone that did not load (answered SERVFAIL), and a
/// secondary zone with an expiry time (EDNS EXPIRE).
const UNAVAILABLE: &str = "gone.test.";
const SECONDARY: (&str, &str) = ("sec2.test.", "$TTL 300\n@ SOA ns1 hm 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.1\n");

/// The client address: allowed to transfer the zones marked so.
const CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// Most messages pulled from one transfer (the zones need far fewer).
const MAX_TRANSFER_MESSAGES: usize = 256;

struct Setup {
    zones: Arc<ZoneSet>,
    config: Config,
}

/// The clock the workers read.
const NOW: Time = Time { mono_ms: 1_000, wall: 1_767_225_600 };

thread_local! {
    /// The UDP worker, the TCP worker and the reference, kept across
    /// inputs (so the cache fills and hits).
    static WORKERS: RefCell<[Worker; 3]> = RefCell::new([
        worker(Options { cache_slots: 16, shortcuts: true }),
        worker(Options::TCP),
        worker(Options::REFERENCE),
    ]);
}

/// A worker without rate limiting or overload admission.
fn worker(opts: Options) -> Worker {
    let policy = Arc::new(Policy::new(None, Overload { enabled: false, ..Overload::default() }, 1));
    let mut w = Worker::new(Arc::new(setup().config.clone()), policy, Arc::default(), opts);
    w.tick(NOW, Default::default());
    w
}

/// A decision with a reply's octets copied out.
#[derive(Debug, PartialEq)]
enum Answered {
    Sent(Vec<u8>, Meta),
    Dropped(Dropped),
    Transfer,
    Update,
}

fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        let mut zones = ZoneSet::new();
        for &(origin, text, xfr) in ZONES {
            let o = name::from_text(origin, None).expect("zone name");
            let built = levee_zone::load(Source::Memory { name: origin, data: text.as_bytes() }, &o)
                .unwrap_or_else(|d| panic!("built-in zone {origin} does not load: {d:?}"));
            let mut transfer = Acl::none();
            if xfr {
                transfer.push(CLIENT, 32);
            }
            zones.insert(ZoneEntry::new(Arc::new(built.zone), transfer));
        }
        let gone = name::from_text(UNAVAILABLE, None).expect("zone name");
        zones.insert(ZoneEntry::unavailable(&gone, Acl::none()).expect("placeholder"));
        let o = name::from_text(SECONDARY.0, None).expect("zone name");
        let built = levee_zone::load(Source::Memory { name: SECONDARY.0, data: SECONDARY.1.as_bytes() }, &o)
            .expect("secondary zone");
        let mut transfer = Acl::none();
        transfer.push(CLIENT, 32);
        let mut e = ZoneEntry::new(Arc::new(built.zone), transfer);
        e.expires = Some(Arc::new(std::sync::atomic::AtomicU64::new(1_767_230_600)));
        zones.insert(e);
        // Every optional feature on, so that every path is reachable.
        let config = Config {
            udp_payload: 1232,
            nsid: Some(b"fuzz-nsid".to_vec()),
            identity: Some(b"fuzz-identity".to_vec()),
            version: Some(b"levee fuzz".to_vec()),
            cookies: Some(Secrets { current: [7; 16], previous: Some([9; 16]) }),
            tcp_keepalive: Some(300),
            // One key, so signed queries reach the MAC check (seeds may carry TSIG).
            keys: {
                let mut k = levee_tsig::KeyRing::new();
                k.add(levee_tsig::Key::new("fuzz-key.", levee_tsig::Algorithm::HmacSha256, b"fuzz".to_vec()).unwrap());
                k
            },
            // The first zone takes updates from the client, so a granted
            // UPDATE reaches its decision (the update thread replies).
            updates: {
                let mut acl = Acl::none();
                acl.push(CLIENT, 32);
                vec![(name::from_text(ZONES[0].0, None).expect("zone name").to_vec(), acl)]
            },
            // Never applied over UDP or TCP (only `answer_stream`): on,
            // so the fuzz checks that it stays so.
            padding: true,
        };
        Setup { zones: Arc::new(zones), config }
    })
}

/// The largest UDP response allowed for this query.
fn udp_limit(q: &Query, cfg: &Config) -> usize {
    match &q.edns {
        None => 512,
        Some(e) => e.udp_size.max(512).min(cfg.udp_payload.max(512)) as usize,
    }
}

/// Checks one response message to the query `query`. A transfer writes its
/// own question (class IN, as it transfers class IN data), so only the
/// name and type are compared there (`reply` false).
fn check_response(query: &[u8], q: &Query, resp: &[u8], limit: usize, first: bool, reply: bool) {
    assert!(resp.len() <= limit, "response of {} octets over the limit {limit}", resp.len());
    let m = Message::parse(resp).unwrap_or_else(|e| panic!("response does not parse: {e}: {resp:02x?}"));
    assert!(m.header.has(flag::QR), "QR not set");
    assert_eq!(m.header.id, q.header.id, "ID not echoed");
    assert!(m.question.len() <= 1, "more than one question");
    if let Some(qs) = m.question.first() {
        assert!(first, "question in a later transfer message");
        assert!(q.has_question, "a question the query did not have");
        // The question is echoed as received (RFC 1035 §4.1.2).
        assert_eq!(qs.name.as_slice(), q.qname.as_slice());
        assert_eq!(qs.qtype, q.qtype);
        if reply {
            assert_eq!(qs.qclass, q.qclass);
            assert_eq!(&resp[HEADER_LEN..HEADER_LEN + q.question_len], &query[HEADER_LEN..HEADER_LEN + q.question_len]);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let s = setup();
    let parsed = parse_query(data);
    let mut out = vec![0u8; 65535];
    let mut reference_out = vec![0u8; 65535];
    WORKERS.with(|ws| {
        let [udp, tcp, reference] = &mut *ws.borrow_mut();
        for (transport, w) in [(Transport::Udp, udp), (Transport::Tcp, tcp)] {
            let rx = Received { msg: data, client: CLIENT, transport };
            let want = match reference.answer(rx, &s.zones, &mut reference_out) {
                Decision::Send(n, meta) => Answered::Sent(reference_out[..n].to_vec(), meta),
                Decision::Drop(why) => Answered::Dropped(why),
                Decision::Transfer(_) => Answered::Transfer,
                Decision::Update(_) => Answered::Update,
            };
            let decision = w.answer(rx, &s.zones, &mut out);
            let got = match &decision {
                Decision::Send(n, meta) => Answered::Sent(out[..*n].to_vec(), *meta),
                Decision::Drop(why) => Answered::Dropped(*why),
                Decision::Transfer(_) => Answered::Transfer,
                Decision::Update(_) => Answered::Update,
            };
            assert_eq!(got, want, "{transport:?}: the shortcuts answer differently from the reference");
            let q = match (&parsed, &decision) {
                (_, Decision::Drop(_)) => continue,
                (Parsed::Query(q), _) => q,
                (Parsed::Drop, _) => panic!("a response to a query that parse_query drops"),
            };
            let limit = if transport == Transport::Udp { udp_limit(q, &s.config) } else { 65535 };
            match decision {
                Decision::Drop(_) | Decision::Update(_) => {}
                Decision::Send(n, _) => check_response(data, q, &out[..n], limit, true, true),
                Decision::Transfer(mut x) => {
                    assert_eq!(transport, Transport::Tcp, "a transfer over UDP");
                    let mut first = true;
                    let mut messages = 0;
                    while let Some(n) = x.next_message(&mut out) {
                        check_response(data, q, &out[..n], 65535, first, false);
                        first = false;
                        messages += 1;
                        assert!(messages <= MAX_TRANSFER_MESSAGES, "transfer does not end");
                    }
                    assert!(messages >= 1, "empty transfer");
                }
            }
        }
    });
});
