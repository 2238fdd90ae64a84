//! The worker's stages as the drivers see them: what is sent, slipped or
//! withheld, on each path (cache hit, direct name error, plain, general),
//! and how garbage is classified.

use std::net::IpAddr;
use std::sync::Arc;

use levee_limit::rrl;
use levee_wire::header::{flag, rcode};
use levee_wire::message::Message;
use levee_wire::name;
use levee_wire::rtype::t;
use levee_zone::{Acl, Source, ZoneEntry, ZoneSet};

use crate::policy::{Overload, Policy};
use crate::{Config, Decision, Dropped, Kind, Load, Options, Received, Time, Transport, Worker};

const ZONE: &str =
    "$ORIGIN w.test.\n$TTL 300\n@ SOA ns1 hm 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.1\nwww A 192.0.2.2\n";
const T0: Time = Time { mono_ms: 10_000, wall: 1_700_000_000 };

fn zones() -> Arc<ZoneSet> {
    let o = name::from_text("w.test.", None).unwrap();
    let z = levee_zone::load(Source::Memory { name: "w.test.", data: ZONE.as_bytes() }, &o).unwrap();
    let mut set = ZoneSet::new();
    set.insert(ZoneEntry::new(Arc::new(z.zone), Acl::none()));
    Arc::new(set)
}

/// A query for `qname`/`qtype`, with a bare OPT, or OPT with an NSID
/// option (which the cache does not take).
fn query(qname: &str, qtype: u16, nsid: bool) -> Vec<u8> {
    let mut m = vec![0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1];
    m.extend_from_slice(&name::from_text(qname, None).unwrap());
    m.extend_from_slice(&qtype.to_be_bytes());
    m.extend_from_slice(&[0, 1, 0, 0, 41, 4, 208, 0, 0, 0, 0]);
    if nsid {
        m.extend_from_slice(&[0, 4, 0, 3, 0, 0]);
    } else {
        m.extend_from_slice(&[0, 0]);
    }
    m
}

fn worker(rrl: Option<rrl::Settings>, overload: bool) -> Worker {
    let overload = Overload { enabled: overload, ..Overload::default() };
    let policy = Arc::new(Policy::new(rrl, overload, 3));
    let cfg = Config { nsid: Some(b"n".to_vec()), ..Config::default() };
    let mut w = Worker::new(Arc::new(cfg), policy, Arc::default(), Options { cache_slots: 64, shortcuts: true });
    w.tick(T0, Load::default());
    w
}

fn udp(msg: &[u8], client: IpAddr) -> Received<'_> {
    Received { msg, client, transport: Transport::Udp }
}

const CLIENT: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 53));

/// Over the rate limit, every second response is a slip (TC=1, the
/// question, OPT) and the others are withheld, with the Meta of the
/// response they replace, on every path: a cache hit, a direct name
/// error, the plain path and the general path.
#[test]
fn rate_limited_responses_slip_or_are_withheld_on_every_path() {
    let z = zones();
    let cases = [
        ("www.w.test.", t::A, false, Kind::Answer, "cache hits"),
        ("nx.w.test.", t::A, false, Kind::NxDomain, "direct name errors"),
        ("a.b.nx.w.test.", t::A, false, Kind::NxDomain, "the plain path"),
        ("www.w.test.", t::A, true, Kind::Answer, "the general path"),
    ];
    for (qname, qtype, nsid, kind, what) in cases {
        let s = rrl::Settings { rates: [2; 5], burst: 1, slip: 2, ..Default::default() };
        let mut w = worker(Some(s), false);
        let q = query(qname, qtype, nsid);
        let mut out = vec![0u8; 1232];
        let (mut sent, mut slipped, mut withheld) = (0, 0, 0);
        for _ in 0..12 {
            match w.answer(udp(&q, CLIENT), &z, &mut out) {
                Decision::Send(n, meta) if meta.slip => {
                    slipped += 1;
                    assert_eq!(meta.kind, kind, "{what}: the slip's Meta is the response's");
                    let m = Message::parse(&out[..n]).unwrap();
                    assert!(m.header.has(flag::TC), "{what}: a slip has TC=1");
                    assert_eq!((m.question.len(), m.answer.len(), m.authority.len()), (1, 0, 0), "{what}");
                    assert!(m.opt().is_some(), "{what}: OPT echoed");
                    let qend = 12 + name::from_text(qname, None).unwrap().len() + 4;
                    assert_eq!(&out[12..qend], &q[12..qend], "{what}: the question");
                }
                Decision::Send(_, meta) => {
                    sent += 1;
                    assert_eq!(meta.kind, kind, "{what}");
                }
                Decision::Drop(Dropped::Withheld(meta)) => {
                    withheld += 1;
                    assert_eq!(meta.kind, kind, "{what}: a withheld response's Meta is counted");
                }
                Decision::Drop(d) => panic!("{what}: dropped as {d:?}"),
                Decision::Transfer(_) => panic!("{what}: a transfer"),
                Decision::Update(_) => panic!("{what}: an update"),
            }
        }
        assert!(
            sent >= 2 && slipped >= 3 && withheld >= 3,
            "{what}: {sent} sent, {slipped} slipped, {withheld} withheld"
        );
        let c = w.counters();
        match what {
            "cache hits" => assert!(c.hits >= 8, "{what}: {c:?}"),
            "direct name errors" => assert_eq!(c.name_errors, 12, "{what}: {c:?}"),
            "the plain path" => assert!(c.misses >= 2 && c.name_errors == 0, "{what}: {c:?}"),
            _ => assert_eq!(c.bypassed, 12, "{what}: {c:?}"),
        }
    }
}

/// Under overload an NXDOMAIN for an unknown source is withheld (with
/// the Meta a sent one has) and not cached; a source proven over TCP is
/// served.
#[test]
fn overload_withholds_nxdomain_from_unknown_sources() {
    let z = zones();
    let mut w = worker(None, true);
    let q = query("a.b.nx.w.test.", t::A, false);
    let mut out = vec![0u8; 65535];
    let Decision::Send(_, before) = w.answer(udp(&q, CLIENT), &z, &mut out) else { panic!("not sent") };
    assert_eq!((before.kind, before.rcode), (Kind::NxDomain, rcode::NXDOMAIN));
    // Two full batches in a row: overloaded.
    w.tick(Time { mono_ms: 10_001, ..T0 }, Load { full: true, dropped: 0 });
    w.tick(Time { mono_ms: 10_002, ..T0 }, Load { full: true, dropped: 0 });
    let inserts = w.counters().inserts;
    for _ in 0..3 {
        match w.answer(udp(&q, CLIENT), &z, &mut out) {
            Decision::Drop(Dropped::Withheld(m)) => assert_eq!(m, before),
            _ => panic!("an NXDOMAIN for an unknown source was not withheld"),
        }
    }
    assert_eq!(w.counters().inserts, inserts, "a shed NXDOMAIN is incomplete: never cached");
    // A TCP query proves its source.
    let tcp = Received { msg: &q, client: CLIENT, transport: Transport::Tcp };
    assert!(matches!(w.answer(tcp, &z, &mut out), Decision::Send(..)));
    assert!(matches!(w.answer(udp(&q, CLIENT), &z, &mut out), Decision::Send(..)));
}

/// Messages that are not queries are dropped with the reason the daemon
/// counts them under.
#[test]
fn garbage_is_classified() {
    let z = zones();
    let mut w = worker(None, false);
    let mut out = vec![0u8; 1232];
    let mut response = query("www.w.test.", t::A, false);
    response[2] |= 0x80;
    for (msg, why) in [(&[0u8; 11][..], Dropped::Short), (&response[..], Dropped::Response)] {
        for transport in [Transport::Udp, Transport::Tcp] {
            match w.answer(Received { msg, client: CLIENT, transport }, &z, &mut out) {
                Decision::Drop(d) => assert_eq!(d, why),
                _ => panic!("answered {msg:?}"),
            }
        }
    }
}

/// Whether the flood gate's model calls `msg` garbage (dropped below the
/// socket, docs/gate.md step 2), whatever its source and budgets.
fn gate_garbage(msg: &[u8]) -> bool {
    use levee_limit::gate::model::{self, reason, Budget, Maps, FLAG_ON};
    let mut m = Maps::new(1);
    let big = Budget { rate: 0, burst: u32::MAX };
    m.config = model::Config { port: 53, flags: FLAG_ON, seed: 1, prefix: big, unknown: big, deep: big, apex_bits: 0 };
    model::admit(&mut m, 0, 1, &model::addr(CLIENT), msg);
    let s = m.stats();
    s[reason::GARBAGE_SHORT] + s[reason::GARBAGE_RESPONSE] + s[reason::GARBAGE_QUESTION] > 0
}

/// Octets from valid queries of every kind, mutated, and random ones.
fn garbage_candidates() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
    use proptest::prelude::*;
    let seeds = vec![
        query("www.w.test.", t::A, false),
        query("nx.w.test.", t::AAAA, true),
        query("w.test.", t::SOA, false),
        vec![0x12, 0x34, 0x20, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, b'w', 4, b't', b'e', b's', b't', 0, 0, 6, 0, 1],
    ];
    let mutated = (
        proptest::sample::select(seeds),
        proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4),
        any::<usize>(),
    )
        .prop_map(|(mut m, edits, cut)| {
            for (i, b) in edits {
                let n = m.len();
                m[i % n] = b;
            }
            m.truncate(cut % (m.len() + 1));
            m
        });
    prop_oneof![mutated, proptest::collection::vec(any::<u8>(), 0..40)]
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 4096, ..Default::default() })]

    /// What the gate drops as garbage, the worker drops without a reply
    /// (and the other way round for Short and Response): the gate never
    /// takes away an answer levee would send.
    #[test]
    fn gate_garbage_is_what_the_worker_drops(msg in garbage_candidates()) {
        let z = zones();
        let mut w = worker(None, false);
        let mut out = vec![0u8; 1232];
        let d = w.answer(udp(&msg, CLIENT), &z, &mut out);
        let silent = matches!(d, Decision::Drop(Dropped::Short) | Decision::Drop(Dropped::Response));
        if gate_garbage(&msg) {
            proptest::prop_assert!(matches!(d, Decision::Drop(_)), "the gate drops {:02x?}, the worker answers it", msg);
        }
        proptest::prop_assert_eq!(gate_garbage(&msg), silent, "{:02x?}", msg);
    }
}
