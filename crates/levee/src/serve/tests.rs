//! The UDP worker's handler allocates nothing in steady state.
//!
//! The answering pipeline's own allocation test is levee-answer's
//! (`udp_query_path_does_not_allocate` in
//! crates/levee-answer/tests/golden/alloc.rs); this one covers the
//! daemon's handler around it, counters and events included. The test
//! binary's global allocator counts allocations per thread
//! (`levee_io::alloc_count`, installed in main.rs). Every query recorded in
//! the golden suites goes through `UdpWorker::handle`, the handler the UDP
//! driver calls: three passes on a fresh worker (cache misses, misses
//! whose responses are stored, then hits) must not allocate once a
//! warm-up worker has run the same queries.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use arc_swap::ArcSwap;
use levee_io::alloc_count::allocations;
use levee_io::udp::UdpHandler;
use levee_wire::name;
use levee_zone::{Acl, ZoneEntry, ZoneSet};

use levee_answer::policy::{Overload, Policy, PolicyStats};
use levee_answer::{Options, Worker};

use super::{answer_config, Shared, UdpWorker};

/// A worker as `run` builds it for the default configuration.
fn worker(shared: &Shared, cfg: &Arc<levee_answer::Config>) -> UdpWorker {
    let conf = levee_config::Config::default();
    let overload = Overload { enabled: conf.overload, ..Overload::default() };
    let policy = Arc::new(Policy::new(conf.rate_limit.clone(), overload, 7));
    let garbage = Arc::new(crate::ops::summaries::Garbage::default());
    let counters = Arc::new(crate::ops::counters::Counters::default());
    let stats = Arc::new(PolicyStats::default());
    let mut set = ZoneSet::new();
    let repl = Arc::new(crate::replication::startup::init(&conf, &mut set, &crate::storage::Stores::default()));
    let pipeline = Worker::new(Arc::clone(cfg), policy, stats, Options::UDP);
    UdpWorker::new(shared, pipeline, std::time::Instant::now(), &garbage, counters, &repl)
}

fn suite_dir(suite: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/golden").join(suite)
}

/// The suite's zones, each allowing transfers to 127.0.0.1 (so UDP IXFR
/// takes its answering path too).
fn zones(suite: &str) -> ZoneSet {
    let dir = suite_dir(suite).join("zones");
    let manifest = std::fs::read_to_string(dir.join("manifest.json")).unwrap();
    let mut set = ZoneSet::new();
    for line in manifest.lines().filter(|l| l.contains("\"origin\"")) {
        let field = |k: &str| line.split(&format!("\"{k}\":")).nth(1).unwrap().split('"').nth(1).unwrap().to_string();
        let origin = name::from_text(&field("origin"), None).unwrap();
        let built = levee_zone::load_file(&dir.join(field("file")), &origin).unwrap_or_else(|_| panic!("{line}"));
        let mut acl = Acl::none();
        acl.push("127.0.0.1".parse().unwrap(), 32);
        set.insert(ZoneEntry::new(Arc::new(built.zone), acl));
    }
    assert!(set.len() >= 5, "{suite}: only {} zones", set.len());
    set
}

/// The recorded query octets of every exchange of the suite.
fn queries(suite: &str) -> Vec<Vec<u8>> {
    let text = std::fs::read_to_string(suite_dir(suite).join("responses.jsonl")).unwrap();
    let mut out = Vec::new();
    for line in text.lines() {
        let hex = line.split("\"query\": \"").nth(1).unwrap().split('"').next().unwrap();
        let mut q = Vec::new();
        levee_zone::zonefile::hex_decode(hex.as_bytes(), &mut q).unwrap();
        out.push(q);
    }
    assert!(out.len() > 250, "{suite}: only {} queries", out.len());
    out
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

fn pass(w: &mut UdpWorker, qs: &[Vec<u8>], out: &mut [u8], kinds: &mut Kinds) {
    for (i, q) in qs.iter().enumerate() {
        // One client per /24, so rate limiting (on by default) lets every
        // answer through and the kinds below are the answers' own.
        let client = SocketAddr::from(([10, (i >> 8) as u8, i as u8, 1], 5800));
        let Some(n) = w.handle(q, client, out) else { continue };
        let r = &out[..n];
        kinds.replies += 1;
        let (flags, an, ns) = (u16::from_be_bytes([r[2], r[3]]), r[7], r[9]);
        match flags & 0xF {
            3 => kinds.nxdomain += 1,
            1 => kinds.formerr += 1,
            0 if flags & 0x0400 == 0 && an == 0 && ns > 0 => kinds.referrals += 1,
            _ => {}
        }
        kinds.truncated += (flags & 0x0200 != 0) as usize;
        // An OPT record at the end of the query with DO set.
        kinds.with_do +=
            (q.len() > 23 && q[q.len() - 11..q.len() - 8] == [0, 0, 41] && q[q.len() - 4] & 0x80 != 0) as usize;
    }
}

#[test]
fn udp_handler_does_not_allocate() {
    for suite in ["public", "levee"] {
        let shared: Shared = Arc::new(ArcSwap::from_pointee(zones(suite)));
        let cfg = Arc::new(answer_config(&levee_config::Config::default()));
        let qs = queries(suite);
        let mut out = vec![0u8; cfg.udp_payload as usize];

        // Warm-up: lazily initialised state (thread-locals, the snapshot
        // cache) settles; it also tells which kinds the queries cover.
        let mut kinds = Kinds::default();
        let mut warm = worker(&shared, &cfg);
        pass(&mut warm, &qs, &mut out, &mut kinds);
        assert!(
            kinds.nxdomain > 5 && kinds.formerr > 2 && kinds.truncated > 0 && kinds.referrals > 5 && kinds.with_do > 20,
            "{suite}: the queries do not cover every kind: {kinds:?}"
        );

        let mut w = worker(&shared, &cfg);
        // Pass 1: misses (keys noted), pass 2: misses stored, pass 3: hits.
        let mut allocs = [0u64; 3];
        let mut counters = Vec::new();
        for a in &mut allocs {
            let before = allocations();
            pass(&mut w, &qs, &mut out, &mut Kinds::default());
            *a = allocations() - before;
            counters.push(w.worker.counters());
        }
        let (c1, c2, c3) = (counters[0], counters[1], counters[2]);
        assert!(c1.misses > 100 && c1.first_misses > 100 && c1.bypassed > 10, "{suite}: {c1:?}");
        assert!(c2.inserts > 100, "{suite}: {c2:?}");
        assert!(c3.hits - c2.hits > 100, "{suite}: {c3:?}");
        assert_eq!(allocs, [0, 0, 0], "{suite}: allocations in the three passes (misses, stores, hits)");
    }
}

/// With the flood gate's feed (issue 23), the handler still allocates
/// nothing: sources that become known are noted in the worker's fixed
/// buffer and moved into the bounded channel once per batch.
#[test]
fn udp_handler_with_the_gate_feed_does_not_allocate() {
    let shared: Shared = Arc::new(ArcSwap::from_pointee(zones("levee")));
    let cfg = Arc::new(answer_config(&levee_config::Config::default()));
    let qs = queries("levee");
    let mut out = vec![0u8; cfg.udp_payload as usize];
    let dropped = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let (feed, rx) = crate::gate::known::channel(&dropped);
    let make = || {
        let conf = levee_config::Config::default();
        let overload = Overload { enabled: conf.overload, ..Overload::default() };
        let policy = Arc::new(Policy::new(conf.rate_limit.clone(), overload, 7).with_gate_feed());
        let mut set = ZoneSet::new();
        let repl = Arc::new(crate::replication::startup::init(&conf, &mut set, &crate::storage::Stores::default()));
        let pipeline = Worker::new(Arc::clone(&cfg), policy, Arc::new(PolicyStats::default()), Options::UDP);
        let garbage = Arc::new(crate::ops::summaries::Garbage::default());
        let counters = Arc::new(crate::ops::counters::Counters::default());
        UdpWorker::new(&shared, pipeline, std::time::Instant::now(), &garbage, counters, &repl)
            .with_gate_feed(feed.clone())
    };
    // Eight queries per client, a batch every 32: clients become known
    // within a pass and are drained at the next batch.
    let pass = |w: &mut UdpWorker, out: &mut [u8]| {
        for (i, q) in qs.iter().enumerate() {
            if i % 32 == 0 {
                w.batch(levee_io::udp::BatchInfo { received: 32, full: false, dropped: 0 });
            }
            w.handle(q, SocketAddr::from(([10, (i >> 11) as u8, (i >> 3) as u8, 1], 5800)), out);
        }
        w.batch(levee_io::udp::BatchInfo { received: 1, full: false, dropped: 0 });
    };
    let mut warm = make();
    pass(&mut warm, &mut out);
    let warmed = rx.try_iter().count();
    assert!(warmed > 20, "only {warmed} sources became known");
    let mut w = make();
    let before = allocations();
    pass(&mut w, &mut out);
    let allocs = allocations() - before;
    let fed = rx.try_iter().count();
    assert_eq!(allocs, 0, "allocations with the gate's feed");
    // Each worker has its own policy (its own table of known sources),
    // so the second worker's sources become known again, all of them.
    assert_eq!(fed, warmed);
    assert_eq!(dropped.load(std::sync::atomic::Ordering::Relaxed), 0);
}

/// With dnstap on (issue 21), the handler still allocates nothing: every
/// query and response is copied into the tap's fixed buffer (here large
/// enough for a whole pass, then drained as the writer thread would).
#[test]
fn udp_handler_with_dnstap_does_not_allocate() {
    let shared: Shared = Arc::new(ArcSwap::from_pointee(zones("levee")));
    let cfg = Arc::new(answer_config(&levee_config::Config::default()));
    let qs = queries("levee");
    let mut out = vec![0u8; cfg.udp_payload as usize];
    let dcfg = levee_config::DnstapConfig {
        enabled: true,
        collector: Some(levee_config::Collector::Unix("/nowhere".into())),
        queue_kib: 4096,
        ..Default::default()
    };
    let mut hub = crate::dnstap::Hub::new(&dcfg);
    let mut warm = worker(&shared, &cfg)
        .with_dnstap(Some(hub.tap(Some("127.0.0.1:53".parse().unwrap()), levee_dnstap::Protocol::Udp)));
    let mut w = worker(&shared, &cfg)
        .with_dnstap(Some(hub.tap(Some("127.0.0.1:53".parse().unwrap()), levee_dnstap::Protocol::Udp)));
    let (taps, _) = hub.finish();
    let mut kinds = Kinds::default();
    pass(&mut warm, &qs, &mut out, &mut kinds);
    let before = allocations();
    let mut replies = Kinds::default();
    pass(&mut w, &qs, &mut out, &mut replies);
    let allocs = allocations() - before;
    assert_eq!(allocs, 0, "allocations with dnstap on");
    let q = &taps.queues[1];
    let queued = q.queued.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(q.full.load(std::sync::atomic::Ordering::Relaxed), 0);
    // Every query, and every response sent.
    assert_eq!(queued, (qs.len() + replies.replies) as u64);
}

#[test]
fn the_counter_counts() {
    let before = allocations();
    // black_box: an optimised build may otherwise elide the allocation.
    let v: Vec<u8> = std::hint::black_box(Vec::with_capacity(10));
    assert_eq!(allocations() - before, 1);
    drop(v);
}

/// An idle worker lets go of a replaced zone set (its snapshot cache and
/// its response cache), so the retiring thread, not a query, frees it.
#[test]
fn an_idle_worker_lets_go_of_a_replaced_set() {
    let cfg = Arc::new(answer_config(&levee_config::Config::default()));
    let shared: Shared = Arc::new(ArcSwap::from_pointee(zones("public")));
    let mut w = worker(&shared, &cfg);
    let mut out = vec![0u8; 65535];
    let q = queries("public").into_iter().next().unwrap();
    let client: SocketAddr = "127.0.0.1:5300".parse().unwrap();
    w.handle(&q, client, &mut out);
    let old = shared.load_full();
    assert!(Arc::strong_count(&old) > 2, "the worker holds the set it answered from");
    shared.store(Arc::new(zones("public")));
    let before = Arc::strong_count(&old);
    w.idle();
    // Ours and the worker's snapshot cache and response cache: the last two go.
    assert_eq!(Arc::strong_count(&old), before - 2, "idle() released both references");
    assert_eq!(Arc::strong_count(&old), 1);
}
