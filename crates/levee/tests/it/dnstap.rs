//! dnstap (issue 21) on the real binary, with a Frame Streams collector
//! written here on a Unix socket: the bidirectional handshake (READY,
//! ACCEPT, START; STOP, FINISH at shutdown), every query and response
//! sent over UDP and TCP found in the stream octet for octet, with the
//! client's address and port; a collector that stops reading costs
//! nothing to the queries and its drops are counted; a collector that
//! goes away is reconnected to.
//!
//! The messages are decoded with `levee_dnstap::decode`; that decoder is
//! checked against another implementation's octets in its crate, and the
//! stream levee writes is decoded by BIND's `dnstap-read` behind Debian's
//! `fstrm_capture` in tests/dnstap/run.sh.

use std::io::{Read, Write};
use std::net::{SocketAddr, UdpSocket};
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::{Duration, Instant};

use levee_dnstap::decode::{decode, Dnstap};
use levee_dnstap::fstrm::{self, next_frame, Frame};
use levee_dnstap::CONTENT_TYPE;

use crate::ops::{http, management};
use crate::support::{query, tcp, Server, TempDir};

/// Reads one frame (data or control) from the collector's connection.
fn read_frame(s: &mut UnixStream, buf: &mut Vec<u8>) -> Option<(bool, u32, Vec<u8>)> {
    loop {
        match next_frame(buf, 1 << 20).expect("a well-formed frame") {
            Some((Frame::Data(p), n)) => {
                let p = p.to_vec();
                buf.drain(..n);
                return Some((true, 0, p));
            }
            Some((Frame::Control { kind, content_types }, n)) => {
                assert!(content_types.iter().all(|t| *t == CONTENT_TYPE), "{content_types:?}");
                let has = !content_types.is_empty();
                buf.drain(..n);
                return Some((false, kind, if has { CONTENT_TYPE.to_vec() } else { Vec::new() }));
            }
            None => {}
        }
        let mut chunk = [0u8; 65536];
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// Accepts levee's connection within 10 s and answers its handshake.
pub fn accept(l: &UnixListener) -> (UnixStream, Vec<u8>) {
    l.set_nonblocking(true).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut s = loop {
        match l.accept() {
            Ok((s, _)) => break s,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => panic!("levee did not connect to the collector: {e}"),
        }
    };
    s.set_nonblocking(false).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = Vec::new();
    assert_eq!(read_frame(&mut s, &mut buf), Some((false, fstrm::READY, CONTENT_TYPE.to_vec())));
    let mut accept = Vec::new();
    fstrm::control(fstrm::ACCEPT, Some(CONTENT_TYPE), &mut accept);
    s.write_all(&accept).unwrap();
    assert_eq!(read_frame(&mut s, &mut buf), Some((false, fstrm::START, CONTENT_TYPE.to_vec())));
    (s, buf)
}

/// Reads `n` dnstap messages.
pub fn messages(s: &mut UnixStream, buf: &mut Vec<u8>, n: usize) -> Vec<Dnstap> {
    (0..n)
        .map(|i| match read_frame(s, buf) {
            Some((true, _, p)) => decode(&p).expect("a dnstap message"),
            other => panic!("message {i} of {n}: {other:?}"),
        })
        .collect()
}

/// One UDP exchange from `sock`.
fn ask(sock: &UdpSocket, to: SocketAddr, q: &[u8]) -> Vec<u8> {
    sock.send_to(q, to).unwrap();
    let mut b = [0u8; 65535];
    let (n, _) = sock.recv_from(&mut b).expect("an answer");
    b[..n].to_vec()
}

fn metric(text: &str, line: &str) -> u64 {
    let l = text.lines().find(|l| l.starts_with(line)).unwrap_or_else(|| panic!("no {line} in\n{text}"));
    l.rsplit(' ').next().unwrap().parse().unwrap()
}

#[test]
fn dnstap_carries_every_query_and_response() {
    let dir = TempDir::new("dnstap-all");
    let path = dir.path().join("c.sock");
    let l = UnixListener::bind(&path).unwrap();
    let config = dir.path().join("levee.toml");
    std::fs::write(&config, "[dnstap]\nidentity = \"ns-test\"\nversion = \"v-test\"\n").unwrap();
    let p = path.to_str().unwrap();
    let mut s = Server::start(&["--config", config.to_str().unwrap(), "--listen", "127.0.0.1:0", "--dnstap", p]);
    let (mut conn, mut buf) = accept(&l);

    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let exchanges = [
        (query(1, "example.com.", 6, Some(false)), false),
        (query(2, "www.example.com.", 1, None), false),
        (query(3, "nope.example.com.", 28, Some(true)), false),
        (query(4, "example.net.", 2, Some(false)), true),
    ];
    let mut want = Vec::new();
    for (q, over_tcp) in &exchanges {
        let r = if *over_tcp { tcp(s.addr, q, 1).remove(0) } else { ask(&sock, s.addr, q) };
        want.push((q.clone(), r, *over_tcp));
    }
    let got = messages(&mut conn, &mut buf, 2 * exchanges.len());
    for (i, (q, r, over_tcp)) in want.iter().enumerate() {
        let (mq, mr) = (&got[2 * i], &got[2 * i + 1]);
        for d in [mq, mr] {
            assert_eq!(d.identity.as_deref(), Some(&b"ns-test"[..]));
            assert_eq!(d.version.as_deref(), Some(&b"v-test"[..]));
            assert_eq!(d.kind, 1, "MESSAGE");
        }
        let (mq, mr) = (mq.message.as_ref().unwrap(), mr.message.as_ref().unwrap());
        assert_eq!((mq.kind, mr.kind), (1, 2), "AUTH_QUERY then AUTH_RESPONSE");
        assert_eq!(mq.query_message.as_ref(), Some(q), "exchange {i}: the query as sent");
        assert_eq!(mr.response_message.as_ref(), Some(r), "exchange {i}: the response as received");
        for m in [mq, mr] {
            assert_eq!((m.family, m.protocol), (Some(1), Some(if *over_tcp { 2 } else { 1 })), "exchange {i}");
            assert_eq!(m.query_address.as_deref(), Some(&[127, 0, 0, 1][..]));
            if !over_tcp {
                assert_eq!(m.query_port, Some(u64::from(sock.local_addr().unwrap().port())));
                assert_eq!(m.response_address.as_deref(), Some(&[127, 0, 0, 1][..]));
                assert_eq!(m.response_port, Some(u64::from(s.addr.port())));
            }
            let t = m.query_time_sec.expect("query time");
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
            assert!(t <= now && t + 60 > now, "query time {t}, now {now}");
        }
    }
    // Shutdown: STOP, answered with FINISH.
    s.signal("TERM");
    assert_eq!(read_frame(&mut conn, &mut buf), Some((false, fstrm::STOP, Vec::new())));
    let mut finish = Vec::new();
    fstrm::control(fstrm::FINISH, None, &mut finish);
    conn.write_all(&finish).unwrap();
    s.stop();
}

/// `log-responses = false` and `sample-rate = 4`: one query in four, no
/// responses.
#[test]
fn dnstap_samples_and_filters() {
    let dir = TempDir::new("dnstap-sample");
    let path = dir.path().join("c.sock");
    let l = UnixListener::bind(&path).unwrap();
    let config = dir.path().join("levee.toml");
    let text = "[server]\nthreads = 1\n[dnstap]\nenabled = true\nsocket-path = \"c.sock\"\nlog-responses = false\nsample-rate = 4\n";
    std::fs::write(&config, text).unwrap();
    let s = Server::start(&["--config", config.to_str().unwrap(), "--listen", "127.0.0.1:0"]);
    let (mut conn, mut buf) = accept(&l);
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let qs: Vec<_> = (0..12).map(|i| query(100 + i, "example.com.", 6, None)).collect();
    for q in &qs {
        ask(&sock, s.addr, q);
    }
    let got = messages(&mut conn, &mut buf, 3);
    for (m, i) in got.iter().zip([0, 4, 8]) {
        let m = m.message.as_ref().unwrap();
        assert_eq!((m.kind, m.query_message.as_ref()), (1, Some(&qs[i])));
    }
    // Nothing else: the next frame is the STOP of the shutdown.
    drop(s);
    assert_eq!(read_frame(&mut conn, &mut buf).map(|f| f.1), Some(fstrm::STOP));
}

/// The collector takes the handshake, then never reads: queries are
/// answered as fast as without dnstap, and the captures that do not fit
/// are dropped and counted.
#[test]
fn a_stalled_collector_costs_the_queries_nothing() {
    let dir = TempDir::new("dnstap-stall");
    let path = dir.path().join("c.sock");
    let l = UnixListener::bind(&path).unwrap();
    let config = dir.path().join("levee.toml");
    // Rate limiting off: one client asks the same name 4,000 times.
    let text = "[server]\nthreads = 1\n[rate-limit]\nenabled = false\n[management]\nlisten = \"127.0.0.1:0\"\n[dnstap]\nqueue-kib = 16\n";
    std::fs::write(&config, text).unwrap();
    let p = path.to_str().unwrap();
    let s = Server::start(&["--config", config.to_str().unwrap(), "--listen", "127.0.0.1:0", "--dnstap", p]);
    let (_conn, _) = accept(&l);
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    // 4,000 exchanges of ~400 octets of captures: several times the
    // socket's buffer and the 16 KiB queue. One answer too slow or
    // missing fails the test.
    let n = 4000u64;
    let start = Instant::now();
    let mut slowest = Duration::ZERO;
    for i in 0..n {
        let q = query(i as u16, "www.example.com.", 1, Some(false));
        let t = Instant::now();
        let r = ask(&sock, s.addr, &q);
        slowest = slowest.max(t.elapsed());
        assert_eq!(&r[..2], &q[..2]);
    }
    let took = start.elapsed();
    let m = management(&s);
    let text = http(m, "GET", "/metrics").2;
    let sent = metric(&text, "levee_dnstap_sent_total ");
    let full = metric(&text, "levee_dnstap_dropped_total{reason=\"queue-full\"}");
    let contended = metric(&text, "levee_dnstap_dropped_total{reason=\"contended\"}");
    assert!(full > 2 * n / 2, "queue-full drops {full} (sent {sent})");
    // Every capture was sent or dropped, none lost uncounted: those not
    // counted yet wait in the queue or in the writer's hands (two 16 KiB
    // buffers of records of 64 octets and more, two messages each).
    let counted = sent + full + contended;
    let pending = 2 * n - counted;
    assert!(counted <= 2 * n && pending <= 2 * 2 * 16 * 1024 / 64, "sent {sent} full {full} contended {contended}");
    assert!(slowest < Duration::from_millis(500), "slowest answer {slowest:?} ({n} in {took:?})");
    assert_eq!(metric(&text, "levee_dnstap_connected "), 1);
}

/// The collector goes away and comes back: levee connects again and
/// what it captures then arrives; what was lost in between is counted.
#[test]
fn dnstap_reconnects_to_a_restarted_collector() {
    let dir = TempDir::new("dnstap-reconnect");
    let path = dir.path().join("c.sock");
    let l = UnixListener::bind(&path).unwrap();
    let config = dir.path().join("levee.toml");
    std::fs::write(&config, "[management]\nlisten = \"127.0.0.1:0\"\n").unwrap();
    let p = path.to_str().unwrap();
    let s = Server::start(&["--config", config.to_str().unwrap(), "--listen", "127.0.0.1:0", "--dnstap", p]);
    let (conn, _) = accept(&l);
    drop(conn);
    drop(l);
    std::fs::remove_file(&path).unwrap();
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    // Captured while the collector is gone: lost, counted.
    ask(&sock, s.addr, &query(1, "example.com.", 6, None));
    let l = UnixListener::bind(&path).unwrap();
    let (mut conn, mut buf) = accept(&l);
    let q = query(2, "www.example.com.", 1, None);
    ask(&sock, s.addr, &q);
    let got = messages(&mut conn, &mut buf, 1);
    assert_eq!(got[0].message.as_ref().unwrap().query_message.as_ref(), Some(&q));
    let text = http(management(&s), "GET", "/metrics").2;
    let lost = metric(&text, "levee_dnstap_dropped_total{reason=\"write-failed\"}")
        + metric(&text, "levee_dnstap_dropped_total{reason=\"no-collector\"}");
    assert_eq!(lost, 2, "the first exchange's two messages\n{text}");
    assert!(s.log().contains("dnstap: no collector"), "{}", s.log());
}
