//! Answers one query in a loop with a `Worker` without a response cache
//! (the plain or general path every time), for profilers:
//! `valgrind --tool=callgrind target/release/examples/respond_loop nx.bench.test. A 100000`
//! or `perf record -g target/release/examples/respond_loop ...`.
//!
//! Arguments: QNAME QTYPE [COUNT] [do]. The zone is a small one built in
//! (answers, a CNAME chain, a wildcard, a delegation), or the zone file
//! `RESPOND_ZONE=ORIGIN:PATH` names (a signed one, say).

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use levee_answer::policy::{Overload, Policy};
use levee_answer::{Config, Decision, Options, Received, Time, Transport, Worker};
use levee_wire::name;
use levee_wire::rtype::type_from_text;
use levee_zone::{Acl, Source, ZoneEntry, ZoneSet};

#[path = "../benches/common/mod.rs"]
mod common;
use common::{query, ZONE};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let qname = args.get(1).map_or("nx.bench.test.", String::as_str);
    let qtype = type_from_text(args.get(2).map_or("A", String::as_str).as_bytes()).expect("type");
    let count: u64 = args.get(3).and_then(|c| c.parse().ok()).unwrap_or(1_000_000);
    let dnssec = args.get(4).is_some_and(|a| a == "do");
    let (origin, text) = match std::env::var("RESPOND_ZONE") {
        Ok(v) => {
            let (o, path) = v.split_once(':').expect("RESPOND_ZONE=ORIGIN:PATH");
            (o.to_string(), std::fs::read_to_string(path).expect("zone file"))
        }
        Err(_) => ("bench.test.".to_string(), ZONE.to_string()),
    };
    let o = name::from_text(&origin, None).unwrap();
    let z = levee_zone::load(Source::Memory { name: "zone", data: text.as_bytes() }, &o).unwrap();
    let mut set = ZoneSet::new();
    set.insert(ZoneEntry::new(Arc::new(z.zone), Acl::none()));
    let set = Arc::new(set);
    let q = query(qname, qtype, dnssec);
    let policy = Arc::new(Policy::new(None, Overload { enabled: false, ..Overload::default() }, 1));
    let mut w =
        Worker::new(Arc::new(Config::default()), policy, Arc::default(), Options { cache_slots: 0, shortcuts: true });
    w.tick(Time { mono_ms: 1, wall: 0 }, Default::default());
    let mut out = vec![0u8; 1232];
    let mut total = 0usize;
    for _ in 0..count {
        let rx = Received { msg: &q, client: IpAddr::V4(Ipv4Addr::LOCALHOST), transport: Transport::Udp };
        if let Decision::Send(n, _) = w.answer(rx, &set, &mut out) {
            total += n;
        }
    }
    println!("{total} octets in {count} responses");
}
