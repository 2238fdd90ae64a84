//! Micro-benchmarks of the answering path: parse, zone lookup, `respond`
//! per answer kind, and a response-cache hit.
//!
//! `cargo bench -p levee-answer` (divan). These are for finding where time
//! goes between two versions of the code on one machine; performance
//! claims come from `../shared/bench` ratios (see BENCHMARKS.md).

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use divan::{black_box, Bencher};
use levee_answer::cache::{Lookup, ResponseCache, DEFAULT_SLOTS};
use levee_answer::{respond, Config, Outcome, Request, Transport};
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

#[divan::bench(args = KINDS.iter().map(|k| k.0))]
fn respond_kind(b: Bencher, kind: &str) {
    let &(_, qname, qtype, dnssec) = KINDS.iter().find(|k| k.0 == kind).unwrap();
    let q = query(qname, qtype, dnssec);
    let z = zones();
    let cfg = Config::default();
    let mut out = vec![0u8; 1232];
    b.bench_local(|| {
        let req = Request { msg: black_box(&q), client: CLIENT, transport: Transport::Udp, now: 0 };
        match respond(&req, z, &cfg, &mut out) {
            Outcome::Reply(n, _) => black_box(n),
            _ => panic!("no reply"),
        }
    });
}

#[divan::bench(args = ["answer", "nxdomain", "do_nsec3_nxdomain"])]
fn cache_hit(b: Bencher, kind: &str) {
    let &(_, qname, qtype, dnssec) = KINDS.iter().find(|k| k.0 == kind).unwrap();
    let q = query(qname, qtype, dnssec);
    let z = zones();
    let cfg = Config::default();
    let mut out = vec![0u8; 1232];
    let mut cache: ResponseCache<levee_answer::Meta> = ResponseCache::new(DEFAULT_SLOTS);
    let Lookup::Miss(k) = cache.lookup(z, &cfg, &q, &mut out) else { panic!("first lookup must miss") };
    let req = Request { msg: &q, client: CLIENT, transport: Transport::Udp, now: 0 };
    let Outcome::Reply(n, meta) = respond(&req, z, &cfg, &mut out) else { panic!("no reply") };
    let resp = out[..n].to_vec();
    cache.insert(&k, &resp, meta); // noted
    cache.insert(&k, &resp, meta); // stored
    b.bench_local(|| match cache.lookup(z, &cfg, black_box(&q), &mut out) {
        Lookup::Hit(n, m) => black_box((n, m)),
        _ => panic!("not a hit"),
    });
}
