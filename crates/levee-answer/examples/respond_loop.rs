//! Calls `respond` in a loop on one query, for profilers:
//! `valgrind --tool=callgrind target/release/examples/respond_loop nx.bench.test. A 100000`
//! or `perf record -g target/release/examples/respond_loop ...`.
//!
//! Arguments: QNAME QTYPE [COUNT] [do]. The zone is a small one built in
//! (answers, a CNAME chain, a wildcard, a delegation).

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use levee_answer::{respond, Config, Outcome, Request, Transport};
use levee_wire::name;
use levee_wire::rtype::type_from_text;
use levee_zone::{Acl, Source, ZoneEntry, ZoneSet};

const ZONE: &str = "$ORIGIN bench.test.
$TTL 3600
@        SOA ns1 hostmaster 1 3600 600 86400 300
@        NS  ns1
@        NS  ns2
@        MX  10 mail
ns1      A   192.0.2.1
ns2      A   192.0.2.2
mail     A   192.0.2.25
www      A   192.0.2.80
www      AAAA 2001:db8::80
alias    CNAME c2
c2       CNAME www
*.wild   A   192.0.2.99
sub      NS  ns1.sub
ns1.sub  A   192.0.2.53
";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let qname = args.get(1).map_or("nx.bench.test.", String::as_str);
    let qtype = type_from_text(args.get(2).map_or("A", String::as_str).as_bytes()).expect("type");
    let count: u64 = args.get(3).and_then(|c| c.parse().ok()).unwrap_or(1_000_000);
    let dnssec = args.get(4).is_some_and(|a| a == "do");
    let o = name::from_text("bench.test.", None).unwrap();
    let z = levee_zone::load(Source::Memory { name: "bench.test.", data: ZONE.as_bytes() }, &o).unwrap();
    let mut set = ZoneSet::new();
    set.insert(ZoneEntry::new(Arc::new(z.zone), Acl::none()));
    let mut q = vec![0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, dnssec as u8];
    q.extend_from_slice(name::from_text(qname, None).unwrap().as_slice());
    q.extend_from_slice(&qtype.to_be_bytes());
    q.extend_from_slice(&1u16.to_be_bytes());
    if dnssec {
        q.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 0]);
    }
    let cfg = Config::default();
    let mut out = vec![0u8; 1232];
    let mut total = 0usize;
    for _ in 0..count {
        let req = Request { msg: &q, client: IpAddr::V4(Ipv4Addr::LOCALHOST), transport: Transport::Udp, now: 0 };
        if let Outcome::Reply(n, _) = respond(&req, &set, &cfg, &mut out) {
            total += n;
        }
    }
    println!("{total} octets in {count} responses");
}
