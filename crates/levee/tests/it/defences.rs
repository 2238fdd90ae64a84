//! Flood defences on the real binary: response rate limiting with slip,
//! cookies that prove an address (shared secrets, rollover), TCP exempt.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use levee_wire::header::{flag, rcode};
use levee_wire::rtype::t;

use crate::support::{parse, query, tcp, Server, TempDir};

const ZONE: &str = "$ORIGIN rl.test.
$TTL 300
@    SOA ns1 hostmaster 1 3600 600 86400 60
@    NS  ns1
ns1  A   192.0.2.1
www  A   192.0.2.80
";

const S1: &str = "000102030405060708090a0b0c0d0e0f";
const S2: &str = "f0e0d0c0b0a090807060504030201000";

/// Starts levee with a rate limit of `rate` answers per second (burst 1
/// s, slip 2) and the given cookie secrets.
fn start(dir: &TempDir, tag: &str, rate: u32, secret: &str, previous: Option<&str>) -> Server {
    std::fs::write(dir.path().join("rl.test.zone"), ZONE).unwrap();
    let prev = previous.map(|p| format!("previous-secret = \"{p}\"\n")).unwrap_or_default();
    let cfg = format!(
        "[server]\nlisten = [\"127.0.0.1:0\"]\nzones-dir = \"{}\"\n\
         [rate-limit]\nresponses-per-second = {rate}\nburst = 1\nslip = 2\n\
         [cookies]\nsecret = \"{secret}\"\n{prev}",
        dir.path().display()
    );
    let path = dir.path().join(format!("{tag}.toml"));
    std::fs::write(&path, cfg).unwrap();
    Server::start(&["--config", path.to_str().unwrap()])
}

/// A query for www.rl.test A with a COOKIE option (client cookie and
/// optionally a server cookie).
fn cookie_query(id: u16, server: Option<&[u8]>) -> Vec<u8> {
    let mut q = query(id, "www.rl.test.", t::A, None);
    q[11] = 1; // ARCOUNT
    let mut opt = b"clientck".to_vec();
    if let Some(s) = server {
        opt.extend_from_slice(s);
    }
    q.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0]);
    q.extend_from_slice(&((opt.len() + 4) as u16).to_be_bytes());
    q.extend_from_slice(&10u16.to_be_bytes());
    q.extend_from_slice(&(opt.len() as u16).to_be_bytes());
    q.extend_from_slice(&opt);
    q
}

/// The server cookie of a response, if any.
fn server_cookie(resp: &[u8]) -> Option<Vec<u8>> {
    let m = parse(resp);
    let opt = m.opt()?;
    let mut rd = &opt.rdata[..];
    while rd.len() >= 4 {
        let code = u16::from_be_bytes([rd[0], rd[1]]);
        let len = u16::from_be_bytes([rd[2], rd[3]]) as usize;
        if code == 10 && len > 8 {
            return Some(rd[4 + 8..4 + len].to_vec());
        }
        rd = &rd[4 + len..];
    }
    None
}

#[derive(Debug, Default, PartialEq)]
struct Tally {
    answered: usize,
    truncated: usize,
    badcookie: usize,
    silent: usize,
}

/// Sends `n` queries made by `make` back to back from one socket and
/// sorts the replies.
fn burst(addr: SocketAddr, n: u16, make: impl Fn(u16) -> Vec<u8>) -> Tally {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    for id in 0..n {
        s.send_to(&make(id), addr).unwrap();
    }
    let mut t = Tally::default();
    let mut got = 0;
    let deadline = Instant::now() + Duration::from_millis(1500);
    s.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    let mut buf = [0u8; 4096];
    while got < n as usize && Instant::now() < deadline {
        let Ok((len, _)) = s.recv_from(&mut buf) else { continue };
        got += 1;
        let m = parse(&buf[..len]);
        if m.rcode() == rcode::BADCOOKIE {
            t.badcookie += 1;
        } else if m.header.has(flag::TC) {
            assert!(m.answer.is_empty());
            t.truncated += 1;
        } else {
            assert_eq!(m.answer.len(), 1);
            t.answered += 1;
        }
    }
    t.silent = n as usize - got;
    t
}

#[test]
fn rate_limit_slips_every_second_limited_response_and_tcp_is_exempt() {
    let dir = TempDir::new("rrl");
    let s = start(&dir, "a", 5, S1, None);
    let t = burst(s.addr, 41, |id| query(id, "www.rl.test.", t::A, None));
    // 5 within the limit (rate 5/s, burst 1 s), then of the 36 limited
    // every second one slips as TC=1 and the rest are dropped.
    assert_eq!(t, Tally { answered: 5, truncated: 18, badcookie: 0, silent: 18 });
    // The truncated client retries over TCP: always answered.
    for id in 0..20 {
        let r = parse(&tcp(s.addr, &query(id, "www.rl.test.", t::A, None), 1)[0]);
        assert_eq!(r.answer.len(), 1);
    }
    // A client that sends a cookie gets BADCOOKIE instead of TC (once
    // the bucket, which leaked while we waited, is full again), and with
    // the server cookie it got, it is no longer limited.
    let t = burst(s.addr, 30, |id| cookie_query(id, None));
    assert!(t.truncated == 0 && t.badcookie >= 9 && t.answered <= 15, "{t:?}");
    let r = crate::support::udp(s.addr, &cookie_query(99, None)).unwrap();
    let sc = server_cookie(&r).expect("server cookie");
    assert_eq!(sc.len(), 16);
    let t = burst(s.addr, 40, |id| cookie_query(id, Some(&sc)));
    assert_eq!(t, Tally { answered: 40, ..Tally::default() });
    assert!(s.wait_log("flood defences active", Duration::from_secs(15)), "no summary in the log:\n{}", s.log());
}

#[test]
fn cookies_from_one_node_prove_the_client_on_another_and_survive_rollover() {
    let dir = TempDir::new("cookies");
    let a = start(&dir, "a", 1, S1, None);
    let b = start(&dir, "b", 1, S1, None);
    let rolled = start(&dir, "c", 1, S2, Some(S1));
    let other = start(&dir, "d", 1, S2, None);
    let r = crate::support::udp(a.addr, &cookie_query(1, None)).unwrap();
    let sc = server_cookie(&r).expect("server cookie from a");
    // b shares the secret and rolled keeps it as the previous one: the
    // cookie proves the address, so 20 queries are all answered despite
    // the 1/s limit. `other` never had the secret: limited, BADCOOKIE slips.
    for s in [&b, &rolled] {
        let t = burst(s.addr, 20, |id| cookie_query(id, Some(&sc)));
        assert_eq!(t, Tally { answered: 20, ..Tally::default() }, "at {}", s.addr);
    }
    let t = burst(other.addr, 20, |id| cookie_query(id, Some(&sc)));
    assert!(t.answered <= 2 && t.badcookie >= 8, "{t:?}");
    // After the rollover the new cookie is made with the new secret: the
    // old node no longer accepts it, the new-secret node does.
    let r = crate::support::udp(rolled.addr, &cookie_query(2, None)).unwrap();
    let sc2 = server_cookie(&r).unwrap();
    let t = burst(other.addr, 10, |id| cookie_query(id, Some(&sc2)));
    assert_eq!(t.answered, 10);
}
