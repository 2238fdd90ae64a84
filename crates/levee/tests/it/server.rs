//! The real binary on loopback: UDP and TCP, IPv4 and IPv6, replies from the
//! destination address, zone transfers, reload, shutdown.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use levee_wire::header::{flag, rcode};
use levee_wire::rtype::t;

use crate::support::{answers, parse, query, tcp, udp, Server, TempDir};

const ZONE: &str = "$ORIGIN it.test.
$TTL 300
@    SOA ns1 hostmaster SERIAL 3600 600 86400 60
@    NS  ns1
ns1  A   192.0.2.1
www  A   192.0.2.80
big  TXT \"0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789\"
";

fn write_zone(dir: &TempDir, serial: u32) {
    let mut z = ZONE.replace("SERIAL", &serial.to_string());
    for i in 0..12 {
        z.push_str(&format!("big TXT \"padding padding padding padding padding padding padding padding {i}\"\n"));
    }
    std::fs::write(dir.path().join("it.test.zone"), z).unwrap();
}

fn soa_serial(addr: SocketAddr) -> u32 {
    let r = parse(&udp(addr, &query(7, "it.test.", t::SOA, Some(false))).expect("SOA answer"));
    let rd = &r.answer[0].rdata;
    u32::from_be_bytes(rd[rd.len() - 20..rd.len() - 16].try_into().unwrap())
}

#[test]
fn serves_builtin_examples_without_arguments_but_a_port() {
    let s = Server::start(&["--listen", "127.0.0.1:0"]);
    let r = parse(&udp(s.addr, &query(1, "www.example.com.", t::A, None)).expect("answer"));
    assert!(r.header.has(flag::AA));
    assert_eq!(answers(&r), ["www.example.com. A 192.0.2.80"]);
    let m = tcp(s.addr, &query(2, "WWW.Example.COM.", t::AAAA, Some(false)), 1);
    let r = parse(&m[0]);
    assert_eq!(levee_wire::name::to_text(&r.question[0].name), "WWW.Example.COM.");
    assert_eq!(answers(&r), ["www.example.com. AAAA 2001:db8::80"]);
}

/// `--xdp` on interfaces that cannot take it (none of that name; the
/// loopback, which has no native XDP, or no privileges to try): the server
/// starts, says why for each, and answers through the sockets.
#[test]
fn xdp_falls_back_to_the_sockets_with_a_warning() {
    let s = Server::start(&["--listen", "127.0.0.1:0", "--threads", "1", "--xdp", "nosuchif0", "--xdp", "lo"]);
    let r = parse(&udp(s.addr, &query(1, "www.example.com.", t::A, None)).expect("answer"));
    assert_eq!(answers(&r), ["www.example.com. A 192.0.2.80"]);
    assert!(s.wait_log("AF_XDP path not available on lo", Duration::from_secs(5)), "{}", s.log());
    let log = s.log();
    assert!(log.contains("AF_XDP path not available on nosuchif0") && log.contains("no interface named"), "{log}");
    assert!(!log.contains("AF_XDP answering path on"), "{log}");
}

#[test]
fn ipv6_udp_and_tcp() {
    let s = Server::start(&["--listen", "[::1]:0", "--threads", "1"]);
    assert!(s.addr.is_ipv6());
    let r = parse(&udp(s.addr, &query(3, "example.net.", t::A, Some(true))).expect("answer"));
    assert_eq!(answers(&r), ["example.net. A 192.0.2.2"]);
    let r = parse(&tcp(s.addr, &query(4, "nope.example.net.", t::A, None), 1)[0]);
    assert_eq!(r.header.rcode() as u16, rcode::NXDOMAIN);
}

#[test]
fn wildcard_address_replies_from_the_destination() {
    let s = Server::start(&["--listen", "0.0.0.0:0"]);
    for dst in ["127.0.0.1", "127.0.0.2", "127.0.0.53"] {
        let a: SocketAddr = format!("{dst}:{}", s.addr.port()).parse().unwrap();
        // `udp` asserts the reply's source address equals `a`.
        let r = parse(&udp(a, &query(5, "example.com.", t::SOA, None)).expect("answer"));
        assert_eq!(r.answer.len(), 1);
    }
}

#[test]
fn truncation_then_tcp() {
    let dir = TempDir::new("tc");
    write_zone(&dir, 1);
    let s = Server::start(&["--listen", "127.0.0.1:0", "--zones-dir", dir.path().to_str().unwrap()]);
    let r = parse(&udp(s.addr, &query(6, "big.it.test.", t::TXT, None)).unwrap());
    assert!(r.header.has(flag::TC), "no EDNS: > 512 octets must truncate");
    assert!(r.answer.is_empty(), "a truncated response carries no partial RRset");
    let r = parse(&tcp(s.addr, &query(6, "big.it.test.", t::TXT, None), 1)[0]);
    assert!(!r.header.has(flag::TC));
    assert_eq!(r.answer.len(), 13);
}

#[test]
fn axfr_follows_the_acl() {
    let dir = TempDir::new("axfr");
    write_zone(&dir, 9);
    let d = dir.path().to_str().unwrap();
    let s = Server::start(&["--listen", "127.0.0.1:0", "--zones-dir", d, "--allow-transfer", "it.test=127.0.0.0/8"]);
    let msgs = tcp(s.addr, &query(8, "it.test.", t::AXFR, None), 100);
    let recs: Vec<_> = msgs.iter().flat_map(|m| parse(m).answer).collect();
    assert_eq!(recs.first().unwrap().rtype, t::SOA);
    assert_eq!(recs.last().unwrap().rtype, t::SOA);
    assert_eq!(recs.len(), 2 + 1 + 1 + 1 + 13, "SOA, NS, A, A, 13 TXT, SOA");
    // Over UDP AXFR is not implemented.
    let r = parse(&udp(s.addr, &query(9, "it.test.", t::AXFR, None)).unwrap());
    assert_eq!(r.header.rcode() as u16, rcode::NOTIMP);

    let s2 = Server::start(&["--listen", "127.0.0.1:0", "--zones-dir", d]);
    let r = parse(&tcp(s2.addr, &query(10, "it.test.", t::AXFR, None), 10)[0]);
    assert_eq!(r.header.rcode() as u16, rcode::REFUSED);
}

#[test]
fn sighup_reloads_and_a_broken_zone_keeps_the_old_one() {
    let dir = TempDir::new("reload");
    write_zone(&dir, 100);
    let s = Server::start(&["--listen", "127.0.0.1:0", "--zones-dir", dir.path().to_str().unwrap()]);
    assert_eq!(soa_serial(s.addr), 100);
    write_zone(&dir, 101);
    s.signal("HUP");
    assert!(s.wait_log("reload done", Duration::from_secs(10)), "{}", s.log());
    assert_eq!(soa_serial(s.addr), 101);
    // Break the file: the old zone keeps answering and the error names file:line.
    let path = dir.path().join("it.test.zone");
    let mut text = std::fs::read_to_string(&path).unwrap().replace("SOA ns1 hostmaster 101", "SOA ns1 hostmaster 102");
    text.push_str("bad A 192.0.2.999\n");
    std::fs::write(&path, text).unwrap();
    let lines = std::fs::read_to_string(&path).unwrap().lines().count();
    s.signal("HUP");
    assert!(s.wait_log("failed to load; the previous version keeps serving", Duration::from_secs(10)), "{}", s.log());
    assert!(
        s.wait_log(&format!("it.test.zone:{lines}: A record: bad IPv4 address"), Duration::from_secs(10)),
        "{}",
        s.log()
    );
    assert_eq!(soa_serial(s.addr), 101);
}

#[test]
fn sigterm_stops_cleanly() {
    let mut s = Server::start(&["--listen", "127.0.0.1:0"]);
    s.signal("TERM");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(st) = s.child.try_wait().unwrap() {
            assert!(st.success(), "exit status {st:?}");
            break;
        }
        assert!(Instant::now() < deadline, "levee did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(s.wait_log("stopped", Duration::from_secs(10)));
}

#[test]
fn garbage_is_dropped_and_the_server_keeps_answering() {
    let s = Server::start(&["--listen", "127.0.0.1:0", "--threads", "1"]);
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    // Too short, a response (QR=1), and random bytes: no answer, no crash.
    let mut seed = 0x2545F4914F6CDD1Du64;
    for i in 0..200u32 {
        let len = (i as usize * 7) % 600;
        let mut pkt: Vec<u8> = (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect();
        if len > 2 && i % 2 == 0 {
            pkt[2] |= 0x80; // QR=1: must be dropped
        }
        sock.send_to(&pkt, s.addr).unwrap();
    }
    let r = parse(&udp(s.addr, &query(11, "example.com.", t::NS, None)).expect("still answering"));
    assert_eq!(r.answer.len(), 2);
    // On a fresh socket: a response (QR=1) and a short packet get no reply.
    let quiet = UdpSocket::bind("127.0.0.1:0").unwrap();
    quiet.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
    let mut response = query(12, "example.com.", t::SOA, None);
    response[2] |= 0x80;
    quiet.send_to(&response, s.addr).unwrap();
    quiet.send_to(&[0u8; 5], s.addr).unwrap();
    let mut buf = [0u8; 512];
    assert!(quiet.recv_from(&mut buf).is_err(), "a response or a short packet was answered");
}

#[test]
fn perf_replays_a_query_file_against_the_server() {
    let dir = TempDir::new("perf");
    write_zone(&dir, 1);
    // Rate limiting (on by default) would hold back 1000 answers to one source.
    let cfg = format!(
        "[server]\nlisten = [\"127.0.0.1:0\"]\nthreads = 1\nzones-dir = \"{}\"\n[rate-limit]\nenabled = false\n",
        dir.path().display()
    );
    std::fs::write(dir.path().join("perf.toml"), cfg).unwrap();
    let s = Server::start(&["--config", dir.path().join("perf.toml").to_str().unwrap()]);
    let file = dir.path().join("q.txt");
    std::fs::write(&file, "www.it.test A\nnope.it.test A\n").unwrap();
    let out = crate::support::levee()
        .args(["perf", "--quiet", "--json", "-s", "127.0.0.1", "-n", "1000", "-l", "20"])
        .args(["-p", &s.addr.port().to_string(), "-d", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let j = String::from_utf8(out.stdout).unwrap();
    for want in ["\"sent\":1000", "\"answered\":1000", "\"lost\":0", "\"NOERROR\":500", "\"NXDOMAIN\":500"] {
        assert!(j.contains(want), "{want} not in {j}");
    }
    // Anything but loopback is refused without --allow-remote.
    let out = crate::support::levee().args(["perf", "-s", "192.0.2.1", "-d", file.to_str().unwrap()]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--allow-remote"));
}
