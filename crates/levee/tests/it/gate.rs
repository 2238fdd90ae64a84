//! The flood gate on the real daemon (issue 23, docs/gate.md): the BPF
//! loader, the socket filter on levee's UDP socket, the controller arming
//! a zone under a random-subdomain flood, and what the gate then lets
//! through. Loading BPF needs CAP_BPF and CAP_NET_ADMIN, so these tests
//! are `#[ignore]`d in a plain `cargo test` and run, as root, by
//! `tests/gate/run.sh` (in `.ci/run`). Without privileges the start is
//! refused with a message naming them (`cli::the_flood_gate_...`).
//!
//! Fixed ports 5920-5929: the gate needs one port for every address.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use levee_wire::header::rcode;
use levee_wire::rtype::t;

use crate::ops::{check_prometheus, http_token, management, management_config, READ};
use crate::support::{parse, query, udp, write_private, Server, TempDir};

fn metrics(m: SocketAddr) -> String {
    let (st, _, body) = http_token(m, "GET", "/metrics", READ);
    assert_eq!(st, 200);
    body
}

fn sample(body: &str, key: &str) -> f64 {
    *check_prometheus(body).get(key).unwrap_or_else(|| panic!("{key} missing from /metrics:\n{body}"))
}

/// Polls /metrics until `f` holds (at most `secs`).
fn wait_metrics(m: SocketAddr, secs: u64, f: impl Fn(&str) -> bool) -> String {
    let end = Instant::now() + Duration::from_secs(secs);
    loop {
        let body = metrics(m);
        if f(&body) || Instant::now() > end {
            return body;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A socket on a source address of its own (127.0.0.0/8 is all local).
fn from(src: &str) -> UdpSocket {
    let s = UdpSocket::bind(format!("{src}:0")).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    s
}

/// Sends `n` queries for random names of example.com. from `s`, paced so
/// the kernel keeps them all, and returns how many were answered.
fn random_names(s: &UdpSocket, dns: SocketAddr, n: usize, tag: &str) -> usize {
    let mut buf = [0u8; 1500];
    s.set_nonblocking(true).unwrap();
    let mut answered = 0;
    for i in 0..n {
        let q = query(i as u16, &format!("r{tag}{i}x{}.example.com.", i * 7919 % 10007), t::A, None);
        s.send_to(&q, dns).unwrap();
        std::thread::sleep(Duration::from_micros(500));
        while s.recv(&mut buf).is_ok() {
            answered += 1;
        }
    }
    let end = Instant::now() + Duration::from_millis(500);
    while Instant::now() < end {
        match s.recv(&mut buf) {
            Ok(_) => answered += 1,
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
    s.set_nonblocking(false).unwrap();
    answered
}

#[test]
#[ignore = "needs CAP_BPF and CAP_NET_ADMIN: run by tests/gate/run.sh"]
fn the_gate_drops_garbage_and_a_random_subdomain_flood_below_the_socket() {
    let dir = TempDir::new("gate");
    let cfg = dir.path().join("levee.toml");
    let zones = crate::support::repo().join("examples/zones");
    write_private(
        &cfg,
        &format!(
            "[server]\nlisten = [\"127.0.0.1:5920\"]\nthreads = 1\nzones-dir = \"{}\"\n\
             [gate]\nenabled = true\narm-nxdomain-rate = 100\nnx-rate = 20\nnx-burst = 20\nhold = 600\n{}",
            zones.display(),
            management_config("127.0.0.1:5921")
        ),
    );
    let s = Server::start(&["--config", cfg.to_str().unwrap()]);
    assert!(s.wait_log("flood gate on", Duration::from_secs(5)), "{}", s.log());
    let m = management(&s);
    let dns = s.addr;

    // Garbage the worker would drop (a response, QR=1) is dropped by the
    // socket filter: the gate counts it, the worker never sees it.
    let mut resp = query(1, "www.example.com.", t::A, None);
    resp[2] |= 0x80;
    from("127.0.0.9").send_to(&resp, dns).unwrap();
    let body = wait_metrics(m, 5, |b| b.contains("levee_gate_packets_total{reason=\"garbage_response\"} 1"));
    assert_eq!(sample(&body, "levee_gate_packets_total{reason=\"garbage_response\"}"), 1.0, "{body}");
    assert_eq!(sample(&body, "levee_dropped_total{reason=\"response\"}"), 0.0, "{body}");

    // Existing names are answered, gate on, zone not armed.
    let r = parse(&udp(dns, &query(2, "www.example.com.", t::A, None)).expect("answer"));
    assert_eq!(r.rcode(), rcode::NOERROR);

    // A random-subdomain flood (well over 100 NXDOMAIN a second) arms
    // example.com.: its filter of existing names is published.
    let flood = from("127.0.0.2");
    let answered = random_names(&flood, dns, 600, "a");
    assert!(answered > 100, "before arming the gate lets NXDOMAIN queries through: {answered}");
    let armed = "levee_gate_zone_armed{zone=\"example.com.\"}";
    let body = wait_metrics(m, 5, |b| b.contains(armed));
    assert_eq!(sample(&body, armed), 1.0, "{body}");

    // Armed: random names from another source get the zone's budget
    // (burst 20 plus 20/s) and the rest is dropped below the socket...
    let before = sample(&metrics(m), "levee_gate_packets_total{reason=\"drop_nx_budget\"}");
    let answered = random_names(&from("127.0.0.3"), dns, 400, "b");
    // The counters reach /metrics with the controller's next sample.
    let key = "levee_gate_packets_total{reason=\"drop_nx_budget\"}";
    let body = wait_metrics(m, 5, |b| sample(b, key) - before >= 340.0);
    let dropped = sample(&body, key) - before;
    assert!(answered <= 20 + 20 + 10, "armed: {answered} of 400 random names answered");
    assert!(dropped >= 340.0, "armed: {dropped} random names dropped by the gate\n{body}");
    // ... while every existing name, from any source, is answered.
    let asker = from("127.0.0.4");
    let mut buf = [0u8; 1500];
    for (i, name) in ["www.example.com.", "example.com.", "x.sub.example.com."].iter().cycle().take(60).enumerate() {
        asker.send_to(&query(100 + i as u16, name, t::A, None), dns).unwrap();
        let n = asker.recv(&mut buf).unwrap_or_else(|e| panic!("{name} not answered while armed: {e}"));
        assert_ne!(parse(&buf[..n]).rcode(), rcode::NXDOMAIN, "{name}");
    }
}
