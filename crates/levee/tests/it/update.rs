//! Dynamic update (RFC 2136) on the real daemon over sockets, signed with
//! TSIG: an accepted update is served at once (UDP and TCP) and survives a
//! reload; updates without the key, with an unknown key or a wrong secret,
//! for a zone without `allow-update` or one not served are answered as
//! BIND answers them (REFUSED, NOTAUTH) and change nothing; `kill -9`
//! during a burst of updates loses no acknowledged change; a levee
//! secondary gets an update by NOTIFY and IXFR. (The rcodes and zones of a
//! long update sequence are compared with BIND 9 in tests/update.)

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use levee_tsig::{Algorithm, Key, SignParams, StreamVerifier};
use levee_wire::header::rcode;
use levee_wire::name;
use levee_wire::rtype::{c, t};

use crate::support::{parse, query, tcp, udp, Server, TempDir};

const SECRET: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
const WRONG: &str = "d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldC13cm9uZy0=";

fn key(name: &str, secret: &str) -> Key {
    Key::new(name, Algorithm::HmacSha256, levee_tsig::decode_secret(secret).unwrap()).unwrap()
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// A server with u.test. (allow-update for key upd), n.test. (no
/// allow-update), storage in `dir`.
fn conf(dir: &TempDir, extra: &str) -> String {
    std::fs::write(
        dir.path().join("u.test.zone"),
        "$TTL 300\n@ SOA ns1 hostmaster 10 3600 600 86400 60\n@ NS ns1\nns1 A 127.0.0.1\nwww A 192.0.2.1\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("n.test.zone"), "$TTL 300\n@ SOA ns1 h 1 1 1 1 1\n@ NS ns1\nns1 A 127.0.0.1\n")
        .unwrap();
    let p = dir.path().join("levee.toml");
    // Unix socket paths are limited to 108 octets: keep it short.
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let sock = format!("/tmp/levee-upd-{}-{}.sock", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
    crate::support::write_private(
        &p,
        &format!(
            "version = 1\n[server]\nthreads = 1\nstorage-dir = \"store\"\ncontrol-socket = \"{sock}\"\n\
             [rate-limit]\nenabled = false\n{}\
             [[key]]\nname = \"upd\"\nalgorithm = \"hmac-sha256\"\nsecret = \"{SECRET}\"\n\
             [[key]]\nname = \"other\"\nalgorithm = \"hmac-sha256\"\nsecret = \"{SECRET}\"\n\
             [[zone]]\nname = \"u.test.\"\nfile = \"u.test.zone\"\nallow-update = [\"127.0.0.1 key upd\"]\n\
             allow-transfer = [\"127.0.0.1\"]\n{extra}\n\
             [[zone]]\nname = \"n.test.\"\nfile = \"n.test.zone\"\n",
            crate::ops::management_config("127.0.0.1:0")
        ),
    );
    p.to_str().unwrap().to_string()
}

/// An UPDATE of `zone` adding (`ttl` > 0, class IN) or, with `class`
/// ANY/NONE, deleting `owner A addr`; signed with `k` if given. Returns
/// the message and its MAC.
fn update(id: u16, zone: &str, owner: &str, class: u16, addr: [u8; 4], k: Option<&Key>) -> (Vec<u8>, Vec<u8>) {
    let mut m = vec![(id >> 8) as u8, id as u8, 0x28, 0, 0, 1, 0, 0, 0, 1, 0, 0];
    m.extend_from_slice(&name::from_text(zone, None).unwrap());
    m.extend_from_slice(&t::SOA.to_be_bytes());
    m.extend_from_slice(&c::IN.to_be_bytes());
    m.extend_from_slice(&name::from_text(owner, None).unwrap());
    m.extend_from_slice(&t::A.to_be_bytes());
    m.extend_from_slice(&class.to_be_bytes());
    let ttl: u32 = if class == c::IN { 300 } else { 0 };
    m.extend_from_slice(&ttl.to_be_bytes());
    if class == c::ANY {
        m.extend_from_slice(&[0, 0]);
    } else {
        m.extend_from_slice(&[0, 4]);
        m.extend_from_slice(&addr);
    }
    let mac = match k {
        Some(k) => levee_tsig::sign_vec(&mut m, k, &SignParams::at(now())).as_slice().to_vec(),
        None => Vec::new(),
    };
    (m, mac)
}

fn rc(reply: &[u8]) -> u16 {
    parse(reply).rcode()
}

/// The reply's TSIG verifies with `k` against the request MAC.
fn verified(reply: &[u8], k: &Key, mac: &[u8]) -> bool {
    let mut v = StreamVerifier::new(k, levee_tsig::MacBuf::from_slice(mac), now());
    v.message(reply).is_ok()
}

fn a_of(addr: SocketAddr, owner: &str) -> Vec<Vec<u8>> {
    let r = parse(&udp(addr, &query(3, owner, t::A, None)).unwrap());
    r.answer.into_iter().filter(|r| r.rtype == t::A).map(|r| r.rdata).collect()
}

fn serial(addr: SocketAddr, zone: &str) -> u32 {
    let r = parse(&udp(addr, &query(4, zone, t::SOA, None)).unwrap());
    let rd = &r.answer[0].rdata;
    u32::from_be_bytes(rd[rd.len() - 20..rd.len() - 16].try_into().unwrap())
}

fn ctl(config: &str, args: &[&str]) -> String {
    let o = crate::support::levee().arg("ctl").arg("-c").arg(config).args(args).output().unwrap();
    String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
}

fn tcp_one(addr: SocketAddr, m: &[u8]) -> Vec<u8> {
    tcp(addr, m, 1).pop().expect("a TCP reply")
}

#[test]
fn a_signed_update_is_served_at_once_and_survives_a_reload() {
    let dir = TempDir::new("upd-serve");
    let cfg = conf(&dir, "");
    let s = Server::start(&["-c", &cfg, "--listen", "127.0.0.1:0"]);
    let k = key("upd", SECRET);
    // Over UDP.
    let (m, mac) = update(1, "u.test.", "new.u.test.", c::IN, [192, 0, 2, 7], Some(&k));
    let r = udp(s.addr, &m).expect("a reply");
    assert_eq!(rc(&r), rcode::NOERROR, "{}", s.log());
    assert!(verified(&r, &k, &mac), "the reply is signed with the request's key");
    assert_eq!(parse(&r).question.len(), 1, "the zone section is echoed");
    assert_eq!(a_of(s.addr, "new.u.test."), vec![vec![192, 0, 2, 7]]);
    assert_eq!(serial(s.addr, "u.test."), 11);
    // Over TCP.
    let (m, mac) = update(2, "u.test.", "tcp.u.test.", c::IN, [192, 0, 2, 8], Some(&k));
    let r = tcp_one(s.addr, &m);
    assert_eq!(rc(&r), rcode::NOERROR);
    assert!(verified(&r, &k, &mac));
    assert_eq!(a_of(s.addr, "tcp.u.test."), vec![vec![192, 0, 2, 8]]);
    // A deletion.
    let (m, _) = update(3, "u.test.", "www.u.test.", c::ANY, [0; 4], Some(&k));
    assert_eq!(rc(&udp(s.addr, &m).unwrap()), rcode::NOERROR);
    assert!(a_of(s.addr, "www.u.test.").is_empty());
    assert_eq!(serial(s.addr, "u.test."), 13);
    // A reload does not read the dynamic zone's file again, even changed
    // with a higher serial; `levee ctl reload ZONE` says why.
    std::fs::write(
        dir.path().join("u.test.zone"),
        "$TTL 300\n@ SOA ns1 hostmaster 50 3600 600 86400 60\n@ NS ns1\nns1 A 127.0.0.1\nwww A 192.0.2.50\n",
    )
    .unwrap();
    let out = ctl(&cfg, &["reload", "u.test."]);
    assert!(out.contains("takes dynamic updates"), "{out}");
    s.signal("HUP");
    assert!(s.wait_log("reload done", Duration::from_secs(10)), "{}", s.log());
    assert_eq!(a_of(s.addr, "new.u.test."), vec![vec![192, 0, 2, 7]]);
    assert!(a_of(s.addr, "www.u.test.").is_empty());
    assert_eq!(serial(s.addr, "u.test."), 13);
    // Counted, and shown by `levee ctl zone-status`.
    let (_, _, m) = crate::ops::http(crate::ops::management(&s), "GET", "/metrics");
    assert!(m.contains("levee_updates_applied_total 3\n"), "{m}");
    assert!(m.contains("levee_updates_total{rcode=\"NOERROR\"} 3\n"), "{m}");
    let st = ctl(&cfg, &["zone-status", "u.test."]);
    assert!(st.contains("role=primary serial=13") && st.contains("updates=on update-log=3/"), "{st}");
    // The update log is private to the service.
    let meta = std::fs::metadata(dir.path().join("store/u.test.updates")).unwrap();
    assert_eq!(std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o777, 0o640);
}

#[test]
fn updates_without_the_grant_change_nothing() {
    let dir = TempDir::new("upd-refuse");
    let cfg = conf(&dir, "");
    let s = Server::start(&["-c", &cfg, "--listen", "127.0.0.1:0"]);
    let cases: [(&str, &str, Option<Key>, u16); 5] = [
        ("no key", "u.test.", None, rcode::REFUSED),
        ("a key allow-update does not name", "u.test.", Some(key("other", SECRET)), rcode::REFUSED),
        ("an unknown key (BADKEY)", "u.test.", Some(key("nokey", SECRET)), rcode::NOTAUTH),
        ("a wrong secret (BADSIG)", "u.test.", Some(key("upd", WRONG)), rcode::NOTAUTH),
        ("a zone without allow-update", "n.test.", Some(key("upd", SECRET)), rcode::REFUSED),
    ];
    for (what, zone, k, want) in &cases {
        let owner = format!("x.{zone}");
        let (m, _) = update(5, zone, &owner, c::IN, [192, 0, 2, 9], k.as_ref());
        assert_eq!(rc(&udp(s.addr, &m).unwrap()), *want, "UDP, {what}");
        assert_eq!(rc(&tcp_one(s.addr, &m)), *want, "TCP, {what}");
        assert!(a_of(s.addr, &owner).is_empty(), "{what}: nothing added");
    }
    // A zone not served.
    let (m, _) = update(6, "other.test.", "x.other.test.", c::IN, [192, 0, 2, 9], Some(&key("upd", SECRET)));
    assert_eq!(rc(&udp(s.addr, &m).unwrap()), rcode::NOTAUTH);
    assert_eq!(serial(s.addr, "u.test."), 10);
    assert_eq!(serial(s.addr, "n.test."), 1);
    assert!(s.log().contains("UPDATE refused"), "{}", s.log());
    let logged = std::fs::metadata(dir.path().join("store/u.test.updates")).map_or(0, |m| m.len());
    assert_eq!(logged, 0, "nothing journaled");
    // Six refusals by the grant (three cases, UDP and TCP); the TSIG
    // failures are answered before any grant is read.
    let (_, _, m) = crate::ops::http(crate::ops::management(&s), "GET", "/metrics");
    assert!(m.contains("levee_updates_refused_total{reason=\"grant\"} 6\n"), "{m}");
    assert!(m.contains("levee_updates_applied_total 0\n"), "{m}");
}

/// Sends updates adding `w{thread}-{i}.u.test.` until `stop`; records the
/// names whose NOERROR came back.
fn burst(addr: SocketAddr, thread: usize, acked: &Mutex<Vec<String>>, stop: &AtomicBool) {
    let k = key("upd", SECRET);
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
    for i in 0..2000u32 {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let owner = format!("w{thread}-{i}.u.test.");
        let (m, _) = update(
            (thread * 4096 + i as usize) as u16,
            "u.test.",
            &owner,
            c::IN,
            [10, 0, thread as u8, i as u8],
            Some(&k),
        );
        if sock.send_to(&m, addr).is_err() {
            return;
        }
        let mut buf = [0u8; 1024];
        match sock.recv_from(&mut buf) {
            Ok((n, _)) if rc(&buf[..n]) == rcode::NOERROR && buf[..2] == m[..2] => {
                acked.lock().unwrap().push(owner);
            }
            Ok(_) => {}
            Err(_) => return, // the server is gone
        }
    }
}

#[test]
fn kill_9_during_a_burst_loses_no_acknowledged_update() {
    let dir = TempDir::new("upd-kill");
    let cfg = conf(&dir, "");
    let s = Server::start(&["-c", &cfg, "--listen", "127.0.0.1:0"]);
    let addr = s.addr;
    let acked = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let senders: Vec<_> = (0..4)
        .map(|i| {
            let (acked, stop) = (Arc::clone(&acked), Arc::clone(&stop));
            std::thread::spawn(move || burst(addr, i, &acked, &stop))
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.lock().unwrap().len() < 150 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    // In the middle of the burst: updates are in flight.
    let killed = std::process::Command::new("kill").arg("-KILL").arg(s.pid().to_string()).status().unwrap();
    assert!(killed.success());
    let at_kill = acked.lock().unwrap().len();
    for h in senders {
        h.join().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    let acked = acked.lock().unwrap().clone();
    assert!(at_kill >= 150, "the burst ran ({at_kill} acknowledged)");
    drop(s);
    let s = Server::start(&["-c", &cfg, "--listen", &addr.to_string()]);
    assert!(s.log().contains("update log replayed"), "{}", s.log());
    let missing: Vec<&String> = acked.iter().filter(|o| a_of(s.addr, o).is_empty()).collect();
    assert!(missing.is_empty(), "{} of {} acknowledged updates lost: {missing:?}", missing.len(), acked.len());
    // Each acknowledged update raised the serial by one; an update written
    // but not acknowledged before the kill may be there too.
    let sv = serial(s.addr, "u.test.");
    assert!(sv >= 10 + acked.len() as u32 && sv <= 10 + acked.len() as u32 + 4, "serial {sv}, {} acked", acked.len());
    // And updates go on after the restart.
    let (m, _) = update(9, "u.test.", "after.u.test.", c::IN, [192, 0, 2, 99], Some(&key("upd", SECRET)));
    assert_eq!(rc(&udp(s.addr, &m).unwrap()), rcode::NOERROR, "{}", s.log());
    assert_eq!(serial(s.addr, "u.test."), sv + 1);
}

#[test]
fn a_secondary_gets_an_update_by_notify_and_ixfr() {
    let pd = TempDir::new("upd-p");
    let pconf = conf(&pd, "");
    let p = Server::start(&["-c", &pconf, "--listen", "127.0.0.1:0"]);
    let sd = TempDir::new("upd-s");
    let sconf = sd.path().join("levee.toml");
    std::fs::write(
        &sconf,
        format!(
            "version = 1\n[server]\nthreads = 1\nstorage-dir = \"store\"\n[[zone]]\nname = \"u.test.\"\nprimaries = [\"{}\"]\nallow-notify = [\"127.0.0.1\"]\n",
            p.addr
        ),
    )
    .unwrap();
    let sconf = sconf.to_str().unwrap().to_string();
    let s = Server::start(&["-c", &sconf, "--listen", "127.0.0.1:0"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while udp(s.addr, &query(1, "u.test.", t::SOA, None)).is_none_or(|r| parse(&r).answer.is_empty())
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(serial(s.addr, "u.test."), 10, "{}", s.log());
    // The primary again, now telling the secondary of new serials.
    let addr = p.addr.to_string();
    drop(p);
    let text = std::fs::read_to_string(&pconf).unwrap().replace(
        "allow-transfer = [\"127.0.0.1\"]\n",
        &format!("allow-transfer = [\"127.0.0.1\"]\nnotify = [\"{}\"]\n", s.addr),
    );
    std::fs::write(&pconf, text).unwrap();
    let p = Server::start(&["-c", &pconf, "--listen", &addr]);
    let k = key("upd", SECRET);
    let (m, _) = update(1, "u.test.", "new.u.test.", c::IN, [192, 0, 2, 7], Some(&k));
    assert_eq!(rc(&udp(p.addr, &m).unwrap()), rcode::NOERROR, "{}", p.log());
    let deadline = Instant::now() + Duration::from_secs(10);
    while a_of(s.addr, "new.u.test.").is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(a_of(s.addr, "new.u.test."), vec![vec![192, 0, 2, 7]], "{}\n{}", s.log(), p.log());
    assert!(p.wait_log("kind=\"IXFR\"", Duration::from_secs(5)), "by IXFR: {}", p.log());
}

/// The update log cannot be written (a directory stands where the file
/// goes): the update is answered SERVFAIL, not applied, counted; the
/// zone keeps answering.
#[test]
fn an_update_that_cannot_be_journaled_is_not_applied() {
    let dir = TempDir::new("upd-nolog");
    let cfg = conf(&dir, "");
    std::fs::create_dir_all(dir.path().join("store/u.test.updates")).unwrap();
    let s = Server::start(&["-c", &cfg, "--listen", "127.0.0.1:0"]);
    let (m, _) = update(1, "u.test.", "new.u.test.", c::IN, [192, 0, 2, 7], Some(&key("upd", SECRET)));
    assert_eq!(rc(&udp(s.addr, &m).unwrap()), rcode::SERVFAIL, "{}", s.log());
    assert!(a_of(s.addr, "new.u.test.").is_empty());
    assert_eq!(serial(s.addr, "u.test."), 10);
    assert_eq!(a_of(s.addr, "www.u.test."), vec![vec![192, 0, 2, 1]]);
    // Logged by the update thread, read from stderr by another: waited for.
    assert!(s.wait_log("update log cannot be written", Duration::from_secs(5)), "{}", s.log());
    let (_, _, m) = crate::ops::http(crate::ops::management(&s), "GET", "/metrics");
    assert!(m.contains("levee_updates_refused_total{reason=\"failed\"} 1\n"), "{m}");
    assert!(m.contains("levee_updates_total{rcode=\"SERVFAIL\"} 1\n"), "{m}");
}

/// After `log::COMPACT_ENTRIES` (1,000) updates the zone is written as
/// the log's base and the log emptied; a restart (after `kill -9`) serves
/// the base plus the log's remaining entries: every update.
#[test]
fn a_long_run_of_updates_is_compacted_and_replays() {
    let dir = TempDir::new("upd-compact");
    let cfg = conf(&dir, "");
    let s = Server::start(&["-c", &cfg, "--listen", "127.0.0.1:0"]);
    let k = key("upd", SECRET);
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let n = 1003u32;
    for i in 0..n {
        let owner = format!("c{i}.u.test.");
        let (m, _) = update(i as u16, "u.test.", &owner, c::IN, [10, 1, (i >> 8) as u8, i as u8], Some(&k));
        sock.send_to(&m, s.addr).unwrap();
        let mut buf = [0u8; 1024];
        let (len, _) = sock.recv_from(&mut buf).expect("a reply");
        assert_eq!(rc(&buf[..len]), rcode::NOERROR, "update {i}: {}", s.log());
    }
    assert!(s.log().contains("update log compacted into its base"), "{}", s.log());
    let st = ctl(&cfg, &["zone-status", "u.test."]);
    assert!(st.contains("update-log=3/"), "{st}");
    assert!(dir.path().join("store/u.test.updates-base").exists());
    let killed = std::process::Command::new("kill").arg("-KILL").arg(s.pid().to_string()).status().unwrap();
    assert!(killed.success());
    let addr = s.addr;
    drop(s);
    let s = Server::start(&["-c", &cfg, "--listen", &addr.to_string()]);
    assert!(s.log().contains("update log base loaded"), "{}", s.log());
    assert_eq!(serial(s.addr, "u.test."), 10 + n, "{}", s.log());
    for i in (0..n).step_by(97).chain([n - 3, n - 2, n - 1]) {
        assert_eq!(a_of(s.addr, &format!("c{i}.u.test.")), vec![vec![10, 1, (i >> 8) as u8, i as u8]], "c{i}");
    }
    assert_eq!(a_of(s.addr, "www.u.test."), vec![vec![192, 0, 2, 1]], "the file's data too");
}

/// A grant restricted by name and type (`allow-update = ["key other name
/// dyn type A"]`): its key may add A records at or below dyn.u.test.
/// only; anything else in its updates is REFUSED and nothing applied,
/// while the unrestricted key still may.
#[test]
fn a_restricted_grant_allows_only_its_names_and_types() {
    let dir = TempDir::new("upd-scope");
    let cfg = conf(&dir, "");
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        "allow-update = [\"127.0.0.1 key upd\"]",
        "allow-update = [\"127.0.0.1 key upd\", \"key other name dyn type A\"]",
    );
    crate::support::write_private(std::path::Path::new(&cfg), &text);
    let s = Server::start(&["-c", &cfg, "--listen", "127.0.0.1:0"]);
    let other = key("other", SECRET);
    let (m, _) = update(1, "u.test.", "h.dyn.u.test.", c::IN, [192, 0, 2, 5], Some(&other));
    assert_eq!(rc(&udp(s.addr, &m).unwrap()), rcode::NOERROR, "{}", s.log());
    assert_eq!(a_of(s.addr, "h.dyn.u.test."), vec![vec![192, 0, 2, 5]]);
    let (m, _) = update(2, "u.test.", "www.u.test.", c::IN, [192, 0, 2, 6], Some(&other));
    assert_eq!(rc(&udp(s.addr, &m).unwrap()), rcode::REFUSED);
    let (m, _) = update(3, "u.test.", "www.u.test.", c::ANY, [0; 4], Some(&other));
    assert_eq!(rc(&tcp_one(s.addr, &m)), rcode::REFUSED);
    assert_eq!(a_of(s.addr, "www.u.test."), vec![vec![192, 0, 2, 1]]);
    let (m, _) = update(4, "u.test.", "www.u.test.", c::IN, [192, 0, 2, 6], Some(&key("upd", SECRET)));
    assert_eq!(rc(&udp(s.addr, &m).unwrap()), rcode::NOERROR);
    assert_eq!(serial(s.addr, "u.test."), 12);
    assert!(s.log().contains("update outside the client's grant"), "{}", s.log());
}
