//! The UDP query path allocates nothing in steady state.
//!
//! This test binary's global allocator counts allocations per thread
//! (`levee_io::alloc_count`, installed in main.rs). Every query recorded
//! in the golden suites (answers, referrals, NXDOMAIN, NODATA, wildcards,
//! CNAME and DNAME chains, DNSSEC with DO and NSEC or NSEC3 proofs,
//! truncation, malformed and odd queries, CHAOS, transfers over UDP) goes
//! through `Worker::answer` of a worker built as the daemon builds one for
//! its default configuration (response cache, rate limiting, overload
//! admission): three passes on a fresh worker (cache misses, misses whose
//! responses are stored, then hits) must not allocate once a warm-up
//! worker has run the same queries. (The daemon's handler around it,
//! counters and events included, has its own test:
//! `udp_handler_does_not_allocate` in crates/levee/src/serve/tests.rs.)

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use levee_answer::policy::{Overload, Policy, PolicyStats};
use levee_answer::{Decision, Load, Options, Received, Time, Transport, Worker};
use levee_io::alloc_count::allocations;
use levee_wire::header::{flag, rcode, HeaderRef};
use levee_zone::ZoneSet;

use crate::json::Json;

/// A UDP worker as the daemon builds it for its default configuration.
fn worker(cfg: &Arc<levee_answer::Config>) -> Worker {
    let conf = levee_config::Config::default();
    let overload = Overload { enabled: conf.overload, ..Overload::default() };
    let policy = Arc::new(Policy::new(conf.rate_limit.clone(), overload, 7));
    let mut w = Worker::new(Arc::clone(cfg), policy, Arc::new(PolicyStats::default()), Options::UDP);
    w.tick(Time { mono_ms: 10_000, wall: crate::NOW }, Load::default());
    w
}

#[derive(Default, Debug)]
struct Kinds {
    replies: usize,
    nxdomain: usize,
    formerr: usize,
    truncated: usize,
    referrals: usize,
    with_do: usize,
}

fn pass(w: &mut Worker, zones: &Arc<ZoneSet>, qs: &[Vec<u8>], out: &mut [u8], kinds: &mut Kinds) {
    for (i, q) in qs.iter().enumerate() {
        // One client per /24, so rate limiting (on by default) lets every
        // answer through and the kinds below are the answers' own.
        let client = IpAddr::V4(Ipv4Addr::new(10, (i >> 8) as u8, i as u8, 1));
        let Decision::Send(n, _) = w.answer(Received { msg: q, client, transport: Transport::Udp }, zones, out) else {
            continue;
        };
        // Read in place: nothing may allocate here.
        let h = HeaderRef::new(&out[..n]).expect("a header");
        kinds.replies += 1;
        match h.rcode() as u16 {
            rcode::NXDOMAIN => kinds.nxdomain += 1,
            rcode::FORMERR => kinds.formerr += 1,
            rcode::NOERROR if h.flags() & flag::AA == 0 && h.ancount() == 0 && h.nscount() > 0 => kinds.referrals += 1,
            _ => {}
        }
        kinds.truncated += (h.flags() & flag::TC != 0) as usize;
        kinds.with_do +=
            (q.len() > 23 && q[q.len() - 11..q.len() - 8] == [0, 0, 41] && q[q.len() - 4] & 0x80 != 0) as usize;
    }
}

#[test]
fn udp_query_path_does_not_allocate() {
    let root = crate::golden_root();
    for suite in ["public", "levee"] {
        let dir = root.join(suite);
        let meta = crate::read_json(&dir.join("meta.json"));
        let cfg = Arc::new(crate::answer_config(meta.get("hostname").and_then(Json::as_str).expect("hostname")));
        let zones = Arc::new(crate::load_zones(&dir));
        let qs: Vec<Vec<u8>> =
            crate::load_exchanges(&dir.join("responses.jsonl")).into_iter().map(|e| e.query).collect();
        assert!(qs.len() > 250, "{suite}: only {} queries", qs.len());
        let mut out = vec![0u8; cfg.udp_payload as usize];

        // Warm-up: lazily initialised state (thread-locals) settles; it
        // also tells which kinds the queries cover.
        let mut kinds = Kinds::default();
        pass(&mut worker(&cfg), &zones, &qs, &mut out, &mut kinds);
        assert!(
            kinds.nxdomain > 5 && kinds.formerr > 2 && kinds.truncated > 0 && kinds.referrals > 5 && kinds.with_do > 20,
            "{suite}: the queries do not cover every kind: {kinds:?}"
        );

        let mut w = worker(&cfg);
        // Pass 1: misses (keys noted), pass 2: misses stored, pass 3: hits.
        let mut allocs = [0u64; 3];
        let mut counters = Vec::new();
        for a in &mut allocs {
            let before = allocations();
            pass(&mut w, &zones, &qs, &mut out, &mut Kinds::default());
            *a = allocations() - before;
            counters.push(w.counters());
        }
        let (c1, c2, c3) = (counters[0], counters[1], counters[2]);
        assert!(c1.misses > 100 && c1.first_misses > 100 && c1.bypassed > 10, "{suite}: {c1:?}");
        assert!(c2.inserts > 100, "{suite}: {c2:?}");
        assert!(c3.hits - c2.hits > 100, "{suite}: {c3:?}");
        assert_eq!(allocs, [0, 0, 0], "{suite}: allocations in the three passes (misses, stores, hits)");
    }
}

#[test]
fn the_counter_counts() {
    let before = allocations();
    // black_box: an optimised build may otherwise elide the allocation.
    let v: Vec<u8> = std::hint::black_box(Vec::with_capacity(10));
    assert_eq!(allocations() - before, 1);
    drop(v);
}
