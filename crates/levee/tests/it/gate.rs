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

/// `levee ctl ARGS` on the control socket of test `tag` (by its path: the
/// file may be broken on purpose): (success, stdout, stderr).
fn ctl(tag: &str, args: &[&str]) -> (bool, String, String) {
    let o = crate::support::levee().arg("ctl").arg("-s").arg(sock(tag)).args(args).output().unwrap();
    (o.status.success(), String::from_utf8_lossy(&o.stdout).into(), String::from_utf8_lossy(&o.stderr).into())
}

/// `[server]` with the example zones and a control socket of its own.
fn server_section(tag: &str, listen: &str) -> String {
    let zones = crate::support::repo().join("examples/zones");
    format!(
        "[server]\nlisten = [\"{listen}\"]\nthreads = 1\nzones-dir = \"{}\"\ncontrol-socket = \"{}\"\n",
        zones.display(),
        sock(tag)
    )
}

/// Unix socket paths are limited to 108 octets: under /tmp.
fn sock(tag: &str) -> String {
    format!("/tmp/levee-it-{tag}-{}.sock", std::process::id())
}

/// Unprivileged: the gate is off. `levee ctl gate` says so (exit 1, as
/// for other commands that do not apply). A reload that finds `[gate]`
/// and `[xdp]` changed in the file names each key that waits for a
/// restart (SIGHUP and `levee ctl reload` alike), says a budget has no
/// effect with the gate off, and a file it cannot read is reported while
/// the zones are reloaded all the same. The `[xdp]` interface is never
/// set up (a restart would), so its name need not exist.
#[test]
fn a_reload_names_the_gate_and_xdp_keys_that_wait_for_a_restart() {
    let dir = TempDir::new("gate-reload");
    let cfg = dir.path().join("levee.toml");
    let base = server_section("gate-reload", "127.0.0.1:0");
    write_private(&cfg, &base);
    let s = Server::start(&["--config", cfg.to_str().unwrap()]);

    let (ok, out, err) = ctl("gate-reload", &["gate"]);
    assert!(!ok && err.contains("the flood gate is off"), "{out}{err}");
    // A reader that goes away (`levee ctl ... | head`) is no panic.
    let mut c = crate::support::levee()
        .args(["ctl", "-s", &sock("gate-reload"), "zone-status"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(c.stdout.take());
    let o = c.wait_with_output().unwrap();
    assert!(o.status.success(), "{o:?}");

    write_private(
        &cfg,
        &format!("{base}[gate]\nenabled = true\nprefix-rate = 10\n[xdp]\ninterfaces = [\"levee-none0\"]\nqueues = 2\n"),
    );
    let (ok, out, err) = ctl("gate-reload", &["reload"]);
    assert!(ok && out.contains("xdp.interfaces changed: takes effect at restart"), "{out}{err}");
    assert!(s.wait_log("xdp.interfaces changed: takes effect at restart", Duration::from_secs(5)), "{}", s.log());
    let log = s.log();
    for want in [
        "xdp.queues changed: takes effect at restart",
        "gate.enabled changed: takes effect at restart",
        "gate.prefix-rate changed: no effect while the flood gate is off",
    ] {
        assert!(log.contains(want), "{want:?} not in the log:\n{log}");
    }
    assert!(!log.contains("xdp.frames changed"), "only what changed is named:\n{log}");

    // SIGHUP reads the file too; the change is still waiting.
    s.signal("HUP");
    let twice = |l: &str| l.matches("xdp.interfaces changed: takes effect at restart").count() == 2;
    let end = Instant::now() + Duration::from_secs(5);
    while !twice(&s.log()) && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(twice(&s.log()), "{}", s.log());

    // A file refused now: said so, naming the key; the zones reload.
    write_private(&cfg, &format!("{base}[gate]\nprefix-rate = -1\n"));
    let (ok, out, err) = ctl("gate-reload", &["reload"]);
    assert!(ok && out.contains("reloaded all zones"), "{out}{err}");
    assert!(s.wait_log("configuration file not read again", Duration::from_secs(5)), "{}", s.log());
    assert!(s.log().contains("gate.prefix-rate"), "{}", s.log());
    let r = parse(&udp(s.addr, &query(1, "www.example.com.", t::A, None)).expect("still answering"));
    assert_eq!(r.rcode(), rcode::NOERROR);
}

/// Sends `n` queries for an existing name from `s`, paced, and returns
/// how many were answered.
fn existing_names(s: &UdpSocket, dns: SocketAddr, n: usize) -> usize {
    let mut buf = [0u8; 1500];
    s.set_nonblocking(true).unwrap();
    let mut answered = 0;
    for i in 0..n {
        s.send_to(&query(i as u16, "www.example.com.", t::A, None), dns).unwrap();
        std::thread::sleep(Duration::from_millis(2));
        while s.recv(&mut buf).is_ok() {
            answered += 1;
        }
    }
    std::thread::sleep(Duration::from_millis(300));
    while s.recv(&mut buf).is_ok() {
        answered += 1;
    }
    s.set_nonblocking(false).unwrap();
    answered
}

/// The value of `reason` in `levee ctl gate`'s packet table.
fn ctl_packets(out: &str, reason: &str) -> f64 {
    let line = out.lines().find(|l| l.split_whitespace().next() == Some(reason));
    let n = line.and_then(|l| l.split_whitespace().nth(1)).and_then(|n| n.parse().ok());
    n.unwrap_or_else(|| panic!("{reason} not in\n{out}"))
}

/// As root: `levee ctl gate` shows where the gate runs, its settings,
/// the known table (the trusted prefix's four addresses) and the same
/// packet counts as `/metrics`; a reload with new budgets in the file
/// applies them to the running gate: a new source /24 that got all its
/// 20 queries through before gets at most its new burst after.
#[test]
#[ignore = "needs CAP_BPF and CAP_NET_ADMIN: run by tests/gate/run.sh"]
fn ctl_gate_shows_the_gate_and_a_reload_changes_its_budgets() {
    let dir = TempDir::new("gate-ctl");
    let cfg = dir.path().join("levee.toml");
    let base = format!("{}{}", server_section("gate-ctl", "127.0.0.1:5922"), management_config("127.0.0.1:5923"));
    write_private(&cfg, &format!("{base}[gate]\nenabled = true\ntrusted = [\"127.0.7.0/30\"]\n"));
    let s = Server::start(&["--config", cfg.to_str().unwrap()]);
    assert!(s.wait_log("flood gate on", Duration::from_secs(5)), "{}", s.log());
    let m = management(&s);
    let dns = s.addr;

    let mut resp = query(1, "www.example.com.", t::A, None);
    resp[2] |= 0x80;
    from("127.0.0.9").send_to(&resp, dns).unwrap();
    assert_eq!(existing_names(&from("127.0.5.2"), dns, 20), 20, "prefix burst 4000: all answered");
    // Two ticks of the controller after the traffic: both show one tick.
    std::thread::sleep(Duration::from_millis(2500));
    let (ok, out, err) = ctl("gate-ctl", &["gate"]);
    assert!(ok, "{out}{err}");
    for want in [
        "flood gate: on",
        "socket filter: on 1 UDP socket(s)",
        "xdp: none",
        "  prefix             2000       4000",
        "trusted: [127.0.7.0/30]",
        "armed zones: 0",
        ", 4 trusted (counted",
    ] {
        assert!(out.contains(want), "{want:?} not in\n{out}");
    }
    let body = metrics(m);
    for r in ["garbage_response", "admit_unknown", "admit_known", "drop_prefix_budget", "pass_other"] {
        let key = format!("levee_gate_packets_total{{reason=\"{r}\"}}");
        assert_eq!(ctl_packets(&out, r), sample(&body, &key), "{r}: ctl\n{out}\n/metrics\n{body}");
    }
    assert_eq!(ctl_packets(&out, "garbage_response"), 1.0, "{out}");
    assert!(ctl_packets(&out, "admit_unknown") >= 3.0, "{out}");

    // New budgets in the file, applied by a reload.
    write_private(
        &cfg,
        &format!("{base}[gate]\nenabled = true\ntrusted = [\"127.0.7.0/30\"]\nprefix-rate = 0\nprefix-burst = 5\n"),
    );
    let (ok, out, err) = ctl("gate-ctl", &["reload"]);
    assert!(ok, "{out}{err}");
    assert!(s.wait_log("gate.prefix-burst changed: applied", Duration::from_secs(5)), "{}", s.log());
    let (_, out, _) = ctl("gate-ctl", &["gate"]);
    assert!(out.contains("  prefix                0          5"), "{out}");
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let answered = existing_names(&from("127.0.6.2"), dns, 20);
    assert!((1..=5 * cpus).contains(&answered), "a new /24 with burst 5 got {answered} of 20 answered");
    let key = "levee_gate_packets_total{reason=\"drop_prefix_budget\"}";
    let body = wait_metrics(m, 5, |b| sample(b, key) >= (20 - answered) as f64);
    assert_eq!(sample(&body, key), (20 - answered) as f64, "{body}");
}
