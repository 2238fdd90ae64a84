use std::net::UdpSocket;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use super::*;

/// A stand-in server: answers each query with its own bytes, QR set and
/// rcode NXDOMAIN when the name's first label starts with `n`; drops every
/// `drop_every`-th query. Stops when `stop` is set.
fn fake_server(drop_every: u64, stop: Arc<AtomicBool>) -> (SocketAddr, std::thread::JoinHandle<u64>) {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    let addr = s.local_addr().unwrap();
    let h = std::thread::spawn(move || {
        let mut buf = [0u8; 512];
        let mut seen = 0u64;
        while !stop.load(Ordering::Relaxed) {
            let Ok((n, from)) = s.recv_from(&mut buf) else { continue };
            seen += 1;
            if drop_every > 0 && seen % drop_every == 0 {
                continue;
            }
            buf[2] |= 0x80;
            if buf[13] == b'n' {
                buf[3] = (buf[3] & 0xF0) | 3;
            }
            let _ = s.send_to(&buf[..n], from);
        }
        seen
    });
    (addr, h)
}

fn opts(target: SocketAddr) -> Options {
    Options { target, timeout: Duration::from_millis(300), ..Options::default() }
}

#[test]
fn counts_answers_losses_and_rcodes() {
    let stop = Arc::new(AtomicBool::new(false));
    let (addr, h) = fake_server(10, stop.clone());
    let qs = queries::parse(b"www.a.test A\nnx.a.test AAAA\n", QueryStyle::default()).unwrap();
    let o = Options { max_queries: Some(2000), threads: 2, sockets: 3, outstanding: 64, ..opts(addr) };
    let never = AtomicBool::new(false);
    let r = run(&o, &qs, &never, |_, _, _, _| {}).unwrap();
    stop.store(true, Ordering::Relaxed);
    let seen = h.join().unwrap();
    let s = &r.stats;
    assert_eq!(s.sent, 2000);
    assert_eq!(seen, 2000);
    assert_eq!(s.lost, 200, "every 10th query is dropped");
    assert_eq!(s.answered, 1800);
    assert_eq!(s.unexpected, 0);
    // Both threads start at different points of the file but alternate
    // between the two names, so the rcodes split evenly.
    assert_eq!(s.rcodes[0] + s.rcodes[3], 1800);
    assert!(s.rcodes[0] > 800 && s.rcodes[3] > 800, "{:?}", &s.rcodes[..4]);
    assert_eq!(s.latency.count(), 1800);
    let j = r.json();
    assert!(j.contains("\"sent\":2000") && j.contains("\"lost\":200") && j.contains("\"NXDOMAIN\":"), "{j}");
    assert!(r.text().contains("queries lost:      200"));
}

#[test]
fn rate_is_respected_and_duration_bounds_the_run() {
    let stop = Arc::new(AtomicBool::new(false));
    let (addr, h) = fake_server(0, stop.clone());
    let qs = queries::parse(b"www.a.test A\n", QueryStyle::default()).unwrap();
    let o = Options { rate: Some(2000.0), duration: Duration::from_millis(500), ..opts(addr) };
    let never = AtomicBool::new(false);
    let r = run(&o, &qs, &never, |_, _, _, _| {}).unwrap();
    stop.store(true, Ordering::Relaxed);
    h.join().unwrap();
    // At most rate x duration (+1 for the first query at t=0).
    assert!(r.stats.sent <= 1001, "sent {}", r.stats.sent);
    assert!(r.stats.sent >= 500, "sent {}", r.stats.sent);
    assert_eq!(r.stats.answered + r.stats.lost, r.stats.sent);
    assert!(r.wall_time < Duration::from_secs(5));
}

#[test]
fn remote_targets_need_the_flag() {
    let mut o = opts("192.0.2.1:53".parse().unwrap());
    assert!(check(&o).unwrap_err().contains("--allow-remote"));
    o.allow_remote = true;
    assert!(check(&o).is_ok());
    for ok in ["127.0.0.1:53", "127.9.9.9:53", "[::1]:53", "[::ffff:127.0.0.1]:53"] {
        assert!(check(&opts(ok.parse().unwrap())).is_ok(), "{ok}");
    }
    assert!(check(&opts("[2001:db8::1]:53".parse().unwrap())).is_err());
    assert!(check(&Options { duration: Duration::from_secs(7200), ..opts("127.0.0.1:53".parse().unwrap()) }).is_err());
    assert!(check(&Options { rate: Some(-1.0), ..opts("127.0.0.1:53".parse().unwrap()) }).is_err());
}

#[test]
fn stop_flag_ends_a_run() {
    let stop = Arc::new(AtomicBool::new(false));
    let (addr, h) = fake_server(0, stop.clone());
    let qs = queries::parse(b"www.a.test A\n", QueryStyle::default()).unwrap();
    let o = Options { duration: Duration::from_secs(600), rate: Some(1000.0), ..opts(addr) };
    let flag = AtomicBool::new(false);
    let mut ticks = 0;
    let r = run(&o, &qs, &flag, |_, _, _, _| {
        ticks += 1;
        flag.store(true, Ordering::Relaxed);
    })
    .unwrap();
    stop.store(true, Ordering::Relaxed);
    h.join().unwrap();
    assert_eq!(ticks, 1);
    assert!(r.wall_time < Duration::from_secs(10));
    assert!(r.stats.sent > 0);
}
