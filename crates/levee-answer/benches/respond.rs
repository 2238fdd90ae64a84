//! Micro-benchmarks of the answering path: parse, zone lookup,
//! `Worker::answer` per answer kind (no cache: the plain or general path
//! every time), and a response-cache hit.
//!
//! `cargo bench -p levee-answer` (divan). These are for finding where time
//! goes between two versions of the code on one machine; performance
//! claims come from `../shared/bench` ratios (see BENCHMARKS.md).

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use divan::{black_box, Bencher};
use levee_answer::policy::{Overload, Policy};
use levee_answer::{Config, Decision, Options, Received, Time, Transport, Worker};
use levee_wire::name;
use levee_wire::query::parse_query;
use levee_zone::{Acl, Source, ZoneEntry, ZoneSet};

mod common;
use common::{query, ZONE};

fn main() {
    divan::main();
}

fn zones() -> &'static Arc<ZoneSet> {
    static Z: OnceLock<Arc<ZoneSet>> = OnceLock::new();
    Z.get_or_init(|| {
        let mut set = ZoneSet::new();
        let mut text = ZONE.to_string();
        for i in 0..40 {
            text.push_str(&format!("big TXT \"{i:02} padding padding padding padding padding padding\"\n"));
        }
        let o = name::from_text("bench.test.", None).unwrap();
        let z = levee_zone::load(Source::Memory { name: "bench.test.", data: text.as_bytes() }, &o).unwrap();
        set.insert(ZoneEntry::new(Arc::new(z.zone), Acl::none()));
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/golden/levee/zones");
        for origin in ["sec.test.", "n3.test."] {
            let o = name::from_text(origin, None).unwrap();
            let z = levee_zone::load_file(&dir.join(format!("{origin}zone")), &o).unwrap();
            set.insert(ZoneEntry::new(Arc::new(z.zone), Acl::none()));
        }
        Arc::new(set)
    })
}

const KINDS: &[(&str, &str, u16, bool)] = &[
    ("answer", "www.bench.test.", 1, false),
    ("nodata", "www.bench.test.", 15, false),
    ("nxdomain", "nx-4f2a9c.bench.test.", 1, false),
    ("referral", "host.sub.bench.test.", 1, false),
    ("wildcard", "x7.wild.bench.test.", 1, false),
    ("cname_chain", "alias.bench.test.", 1, false),
    ("truncated", "big.bench.test.", 16, false),
    ("do_nsec_nodata", "www.sec.test.", 28, true),
    ("do_nsec3_nxdomain", "nx.n3.test.", 1, true),
];

const CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

#[divan::bench(args = ["plain", "edns_do"])]
fn parse(b: Bencher, which: &str) {
    let q = query("www.bench.test.", 1, which == "edns_do");
    b.bench(|| black_box(parse_query(black_box(&q))));
}

#[divan::bench]
fn lookup(b: Bencher) {
    let z = zones();
    let lname = name::from_text("www.bench.test.", None).unwrap();
    b.bench(|| {
        let e = z.find(black_box(lname.as_slice())).unwrap();
        black_box(e.zone.lookup(lname.as_slice()))
    });
}

/// A UDP worker without rate limiting or overload admission.
fn worker(opts: Options) -> Worker {
    let policy = Arc::new(Policy::new(None, Overload { enabled: false, ..Overload::default() }, 1));
    let mut w = Worker::new(Arc::new(Config::default()), policy, Arc::default(), opts);
    w.tick(Time { mono_ms: 1, wall: 0 }, Default::default());
    w
}

/// A query answered every time (a worker without a cache).
#[divan::bench(args = KINDS.iter().map(|k| k.0))]
fn answer_kind(b: Bencher, kind: &str) {
    let &(_, qname, qtype, dnssec) = KINDS.iter().find(|k| k.0 == kind).unwrap();
    let q = query(qname, qtype, dnssec);
    let z = zones();
    let mut w = worker(Options { cache_slots: 0, shortcuts: true });
    let mut out = vec![0u8; 1232];
    b.bench_local(|| {
        let rx = Received { msg: black_box(&q), client: CLIENT, transport: Transport::Udp };
        match w.answer(rx, z, &mut out) {
            Decision::Send(n, _) => black_box(n),
            _ => panic!("no reply"),
        }
    });
}

/// A query the cache answers (asked twice before: noted, then stored).
#[divan::bench(args = ["answer", "nxdomain", "do_nsec3_nxdomain"])]
fn cache_hit(b: Bencher, kind: &str) {
    let &(_, qname, qtype, dnssec) = KINDS.iter().find(|k| k.0 == kind).unwrap();
    let q = query(qname, qtype, dnssec);
    let z = zones();
    let mut w = worker(Options::UDP);
    let mut out = vec![0u8; 1232];
    let rx = Received { msg: &q, client: CLIENT, transport: Transport::Udp };
    for _ in 0..2 {
        w.answer(rx, z, &mut out);
    }
    b.bench_local(|| match w.answer(Received { msg: black_box(&q), ..rx }, z, &mut out) {
        Decision::Send(n, m) => black_box((n, m)),
        _ => panic!("no reply"),
    });
    assert!(w.counters().hits > 0, "not a hit");
}
