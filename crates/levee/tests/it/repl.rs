//! Replication between two levee processes on loopback (no peer servers:
//! those are in tests/interop, run by .ci/run): AXFR at start, IXFR after
//! a reload, IXFR out from the secondary, `levee ctl`, the journal and the
//! stored copy across restarts, and (with a minimal fake primary) a
//! received zone that fails the checks leaving the old one serving.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use levee_wire::rtype::t;

use crate::support::{levee, parse, query, udp, Server, TempDir};

const SECRET: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="; // "0123456789abcdef" twice

fn zone(serial: u32) -> String {
    format!(
        "$TTL 300\n@ SOA ns1 hostmaster {serial} 3600 600 86400 60\n@ NS ns1\nns1 A 127.0.0.1\nwww A 192.0.2.{serial}\n"
    )
}

fn conf(dir: &TempDir, zone_cfg: &str) -> String {
    let p = dir.path().join("levee.toml");
    // Unix socket paths are limited to 108 octets: keep it short.
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let sock =
        format!("/tmp/levee-it-{}-{}.sock", std::process::id(), N.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    std::fs::write(
        &p,
        format!(
            "version = 1\n[server]\nthreads = 1\nstorage-dir = \"store\"\ncontrol-socket = \"{sock}\"\n[[key]]\nname = \"xfr\"\nalgorithm = \"hmac-sha256\"\nsecret = \"{SECRET}\"\n[[zone]]\nname = \"r.test.\"\n{zone_cfg}\n"
        ),
    )
    .unwrap();
    p.to_str().unwrap().to_string()
}

fn serial(addr: SocketAddr) -> Option<u32> {
    let r = parse(&udp(addr, &query(9, "r.test.", t::SOA, Some(false)))?);
    let rd = &r.answer.first()?.rdata;
    Some(u32::from_be_bytes(rd[rd.len() - 20..rd.len() - 16].try_into().unwrap()))
}

fn wait_serial(addr: SocketAddr, s: u32) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if serial(addr) == Some(s) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

fn ctl(config: &str, args: &[&str]) -> (bool, String, String) {
    let o = levee().arg("ctl").arg("-c").arg(config).args(args).output().unwrap();
    (o.status.success(), String::from_utf8_lossy(&o.stdout).into(), String::from_utf8_lossy(&o.stderr).into())
}

#[test]
fn primary_and_secondary() {
    let pd = TempDir::new("repl-p");
    std::fs::write(pd.path().join("r.test.zone"), zone(1)).unwrap();
    let pconf = conf(&pd, "file = \"r.test.zone\"\nallow-transfer = [\"127.0.0.1 key xfr\"]");
    let p = Server::start(&["-c", &pconf, "--listen", "127.0.0.1:0"]);

    let sd = TempDir::new("repl-s");
    let sconf = conf(
        &sd,
        &format!(
            "primaries = [\"{} key xfr\"]\nallow-notify = [\"127.0.0.1 key xfr\"]\nallow-transfer = [\"127.0.0.1\"]",
            p.addr
        ),
    );
    let s = Server::start(&["-c", &sconf, "--listen", "127.0.0.1:0"]);
    assert!(wait_serial(s.addr, 1), "initial transfer; log:\n{}", s.log());
    assert!(s.wait_log("kind=\"AXFR\"", Duration::from_secs(10)), "{}", s.log());

    // A change on the primary: journal, then IXFR on `levee ctl refresh`.
    std::fs::write(pd.path().join("r.test.zone"), zone(2)).unwrap();
    p.signal("HUP");
    // "reload done" comes after the new set is published.
    assert!(p.wait_log("reload done", Duration::from_secs(10)), "{}", p.log());
    assert!(p.wait_log("journal: difference recorded", Duration::from_secs(10)), "{}", p.log());
    let (ok, out, err) = ctl(&sconf, &["refresh", "r.test."]);
    assert!(ok, "{out}{err}");
    assert!(wait_serial(s.addr, 2), "refresh; log:\n{}", s.log());
    assert!(s.wait_log("serial=2 primary", Duration::from_secs(5)));
    assert!(s.wait_log("kind=\"IXFR\"", Duration::from_secs(10)), "{}", s.log());
    assert!(p.wait_log("kind=\"IXFR\"", Duration::from_secs(10)), "{}", p.log());
    // The secondary answers IXFR from what it received (chained secondaries):
    // SOA 2, SOA 1, removed, SOA 2, added, SOA 2 (RFC 1995 §4).
    let soa1 = levee_zone::journal::Rr {
        owner: b"\x01r\x04test\x00".to_vec(),
        rtype: t::SOA,
        ttl: 300,
        rdata: {
            let mut rd = b"\x03ns1\x01r\x04test\x00\x0ahostmaster\x01r\x04test\x00".to_vec();
            for x in [1u32, 3600, 600, 86400, 60] {
                rd.extend_from_slice(&x.to_be_bytes());
            }
            rd
        },
    };
    let req = levee_xfr::request(77, b"\x01r\x04test\x00", t::IXFR, Some(&soa1), false, None, 0);
    let ixfr_types = |addr| {
        let msgs = crate::support::tcp(addr, &req.msg, 10);
        msgs.iter().flat_map(|m| parse(m).answer).map(|r| r.rtype).collect::<Vec<u16>>()
    };
    assert_eq!(ixfr_types(s.addr), [t::SOA, t::SOA, t::A, t::SOA, t::A, t::SOA], "{}", s.log());
    let (ok, out, _) = ctl(&sconf, &["zone-status", "r.test."]);
    assert!(ok && out.contains("role=secondary serial=2 lag=0") && out.contains("last-kind=IXFR"), "{out}");
    let (ok, out, _) = ctl(&pconf, &["zone-status"]);
    assert!(ok && out.contains("role=primary serial=2 journal-from=1"), "{out}");
    let (ok, _, err) = ctl(&sconf, &["refresh"]);
    assert!(!ok && err.contains("needs a zone"), "{err}");
    // A reload of the secondary's files keeps the secondary zone.
    s.signal("HUP");
    assert!(s.wait_log("reload done", Duration::from_secs(10)));
    assert_eq!(serial(s.addr), Some(2), "{}", s.log());

    // The journal survives a restart of the primary: IXFR again.
    drop(p);
    let p = Server::start(&["-c", &pconf, "--listen", &p_addr_string(&s, &sconf)]);
    assert!(p.wait_log("journal loaded", Duration::from_secs(10)), "{}", p.log());
    drop(p);

    // Restart of the secondary with the primary gone: the stored copy.
    drop(s);
    let s = Server::start(&["-c", &sconf, "--listen", "127.0.0.1:0"]);
    assert_eq!(serial(s.addr), Some(2), "{}", s.log());
    let r = parse(&udp(s.addr, &query(10, "www.r.test.", t::A, None)).unwrap());
    assert_eq!(r.answer[0].rdata, [192, 0, 2, 2]);
    // Issue 20: the received differences survived the restart too, so
    // its own secondaries still get IXFR (not the whole zone).
    assert_eq!(ixfr_types(s.addr), [t::SOA, t::SOA, t::A, t::SOA, t::A, t::SOA], "{}", s.log());
    drop(s);

    // No server: a clear error.
    let (ok, _, err) = ctl(&sconf, &["status"]);
    assert!(!ok && err.contains("no server is running"), "{err}");
}

/// `levee ctl reload ZONE` reads that zone's file again and answers once
/// the new version is served; a broken file is an error and the served
/// version stays; `levee ctl stats` prints the counters.
#[test]
fn ctl_reload_one_zone_and_stats() {
    let d = TempDir::new("ctl-reload");
    std::fs::write(d.path().join("r.test.zone"), zone(1)).unwrap();
    let c = conf(&d, "file = \"r.test.zone\"");
    let s = Server::start(&["-c", &c, "--listen", "127.0.0.1:0"]);
    assert_eq!(serial(s.addr), Some(1));
    std::fs::write(d.path().join("r.test.zone"), zone(2)).unwrap();
    let (ok, out, err) = ctl(&c, &["reload", "r.test."]);
    assert!(ok && out.contains("reloaded r.test."), "{out}{err}");
    // Answered when published: no waiting for the new serial.
    assert_eq!(serial(s.addr), Some(2), "{}", s.log());
    assert!(s.wait_log("zone reload done", Duration::from_secs(10)), "{}", s.log());

    std::fs::write(d.path().join("r.test.zone"), zone(3).replace("192.0.2.3", "192.0.2.999")).unwrap();
    let (ok, _, err) = ctl(&c, &["reload", "r.test."]);
    assert!(!ok && err.contains("failed to load and keep their served version"), "{err}");
    assert_eq!(serial(s.addr), Some(2), "the old version keeps serving");
    assert!(s.wait_log("r.test.zone:5", Duration::from_secs(5)), "FILE:LINE in the log: {}", s.log());

    let (ok, _, err) = ctl(&c, &["reload", "nosuch.test."]);
    assert!(!ok && err.contains("not configured"), "{err}");
    let (ok, out, err) = ctl(&c, &["stats"]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert!(v["queries"]["udp"].as_u64().unwrap() >= 3, "{out}");
}

/// The primary's old address (from the secondary's configuration).
fn p_addr_string(_s: &Server, sconf: &str) -> String {
    let text = std::fs::read_to_string(sconf).unwrap();
    let a = text.split("primaries = [\"").nth(1).unwrap().split(' ').next().unwrap();
    a.to_string()
}

/// A zone version: (owner, type, RDATA) records, the SOA first.
type Zone = std::sync::Arc<std::sync::Mutex<Vec<(Vec<u8>, u16, Vec<u8>)>>>;

/// A minimal primary for r.test.: SOA over UDP, AXFR over TCP, serving
/// whatever version `zone` holds (records as (owner, type, rdata)).
struct FakePrimary {
    addr: SocketAddr,
    zone: Zone,
}

fn soa_rdata(serial: u32) -> Vec<u8> {
    let mut rd = b"\x03ns1\x01r\x04test\x00\x0ahostmaster\x01r\x04test\x00".to_vec();
    for x in [serial, 3600, 600, 86400, 60] {
        rd.extend_from_slice(&x.to_be_bytes());
    }
    rd
}

fn reply(q: &[u8], records: &[(Vec<u8>, u16, Vec<u8>)]) -> Vec<u8> {
    // Header: the query's ID, QR|AA, one question, the answer records.
    let qend = 12 + levee_wire::name::wire_len(&q[12..]).unwrap() + 4;
    let mut m = q[..2].to_vec();
    m.extend_from_slice(&[0x84, 0, 0, 1]);
    m.extend_from_slice(&(records.len() as u16).to_be_bytes());
    m.extend_from_slice(&[0, 0, 0, 0]);
    m.extend_from_slice(&q[12..qend]);
    for (owner, rtype, rd) in records {
        m.extend_from_slice(owner);
        m.extend_from_slice(&rtype.to_be_bytes());
        m.extend_from_slice(&[0, 1, 0, 0, 1, 44]);
        m.extend_from_slice(&(rd.len() as u16).to_be_bytes());
        m.extend_from_slice(rd);
    }
    m
}

impl FakePrimary {
    fn start() -> FakePrimary {
        use std::io::{Read, Write};
        let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = tcp.local_addr().unwrap();
        let udp = std::net::UdpSocket::bind(addr).unwrap();
        let zone: Zone = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let z = std::sync::Arc::clone(&zone);
        std::thread::spawn(move || {
            let mut buf = [0u8; 512];
            while let Ok((n, from)) = udp.recv_from(&mut buf) {
                let soa = z.lock().unwrap()[0].clone();
                let _ = udp.send_to(&reply(&buf[..n], &[soa]), from);
            }
        });
        let z = std::sync::Arc::clone(&zone);
        std::thread::spawn(move || {
            for s in tcp.incoming() {
                let Ok(mut s) = s else { continue };
                let mut len = [0u8; 2];
                if s.read_exact(&mut len).is_err() {
                    continue;
                }
                let mut q = vec![0u8; u16::from_be_bytes(len) as usize];
                if s.read_exact(&mut q).is_err() {
                    continue;
                }
                let mut recs = z.lock().unwrap().clone();
                recs.push(recs[0].clone());
                let m = reply(&q, &recs);
                let _ = s.write_all(&(m.len() as u16).to_be_bytes());
                let _ = s.write_all(&m);
            }
        });
        FakePrimary { addr, zone }
    }

    fn set(&self, serial: u32, extra: &[(&[u8], u16, &[u8])]) {
        let apex = b"\x01r\x04test\x00".to_vec();
        let mut v = vec![
            (apex.clone(), t::SOA, soa_rdata(serial)),
            (apex, t::NS, b"\x03ns1\x01r\x04test\x00".to_vec()),
            (b"\x03ns1\x01r\x04test\x00".to_vec(), t::A, vec![127, 0, 0, 1]),
        ];
        v.extend(extra.iter().map(|(o, ty, rd)| (o.to_vec(), *ty, rd.to_vec())));
        *self.zone.lock().unwrap() = v;
    }
}

#[test]
fn broken_received_zone_keeps_the_old_one() {
    let fake = FakePrimary::start();
    fake.set(1, &[(b"\x03www\x01r\x04test\x00", t::A, &[192, 0, 2, 1])]);
    let sd = TempDir::new("repl-broken");
    let sconf = conf(&sd, &format!("primaries = [\"{}\"]", fake.addr));
    let s = Server::start(&["-c", &sconf, "--listen", "127.0.0.1:0"]);
    assert!(wait_serial(s.addr, 1), "{}", s.log());
    // Version 2: a CNAME beside other data at www (rejected by the checks).
    fake.set(
        2,
        &[
            (b"\x03www\x01r\x04test\x00", t::A, &[192, 0, 2, 2]),
            (b"\x03www\x01r\x04test\x00", t::CNAME, b"\x03ns1\x01r\x04test\x00"),
        ],
    );
    let (ok, out, err) = ctl(&sconf, &["refresh", "r.test."]);
    assert!(ok, "{out}{err}");
    assert!(s.wait_log("received zone rejected", Duration::from_secs(10)), "{}", s.log());
    assert_eq!(serial(s.addr), Some(1));
    let r = parse(&udp(s.addr, &query(11, "www.r.test.", t::A, None)).unwrap());
    assert_eq!(r.answer[0].rdata, [192, 0, 2, 1]);
    // A good version 3 is taken.
    fake.set(3, &[(b"\x03www\x01r\x04test\x00", t::A, &[192, 0, 2, 3])]);
    let (ok, _, _) = ctl(&sconf, &["refresh", "r.test."]);
    assert!(ok);
    assert!(wait_serial(s.addr, 3), "{}", s.log());
}

/// XoT (RFC 9103) with levee at both ends: a secondary whose primary entry
/// says `tls dot.test` (and `[transfer-in] tls-ca-file`) takes the zone by
/// AXFR and a change by IXFR over the primary's DoT listener, SOA queries
/// included: the primary logs every transfer with transport="tls" and
/// none over plain TCP. A secondary expecting another name in the
/// certificate gets nothing and says why.
#[test]
fn a_secondary_pulls_over_tls() {
    let pd = TempDir::new("xot-p");
    let (ca, crt, key) = crate::dot::make_certs(pd.path(), "p");
    std::fs::write(pd.path().join("r.test.zone"), zone(1)).unwrap();
    let tls =
        format!("[tls]\nlisten = [\"127.0.0.1:0\"]\ncertificate = \"{}\"\nkey = \"{}\"", crt.display(), key.display());
    let pconf = conf(&pd, &format!("file = \"r.test.zone\"\nallow-transfer = [\"127.0.0.1 key xfr\"]\n{tls}"));
    let p = Server::start(&["-c", &pconf, "--listen", "127.0.0.1:0"]);
    assert!(p.wait_log("DNS over TLS on", Duration::from_secs(10)), "{}", p.log());
    let dot = crate::dot::dot_addr(&p);
    let secondary = |tag: &str, name: &str| {
        let d = TempDir::new(tag);
        let c = conf(
            &d,
            &format!(
                "primaries = [\"{dot} key xfr tls {name}\"]\nallow-transfer = [\"127.0.0.1\"]\n[transfer-in]\ntls-ca-file = \"{}\"",
                ca.display()
            ),
        );
        (Server::start(&["-c", &c, "--listen", "127.0.0.1:0"]), c, d)
    };
    let (s, sconf, _sd) = secondary("xot-s", "dot.test");
    assert!(wait_serial(s.addr, 1), "initial transfer; log:\n{}", s.log());
    assert!(p.wait_log("kind=\"AXFR\" transport=\"tls\"", Duration::from_secs(10)), "{}", p.log());

    std::fs::write(pd.path().join("r.test.zone"), zone(2)).unwrap();
    p.signal("HUP");
    assert!(p.wait_log("journal: difference recorded", Duration::from_secs(10)), "{}", p.log());
    let (ok, out, err) = ctl(&sconf, &["refresh", "r.test."]);
    assert!(ok, "{out}{err}");
    assert!(wait_serial(s.addr, 2), "refresh; log:\n{}", s.log());
    assert!(s.wait_log("kind=\"IXFR\"", Duration::from_secs(10)), "{}", s.log());
    assert!(p.wait_log("kind=\"IXFR\" transport=\"tls\"", Duration::from_secs(10)), "{}", p.log());
    assert!(!p.log().contains("transport=\"tcp\""), "a transfer over plain TCP:\n{}", p.log());

    let (w, _, _wd) = secondary("xot-w", "wrong.test");
    // A zone with no data asks no SOA first: the transfer says it.
    assert!(w.wait_log(" over TLS: ", Duration::from_secs(10)), "{}", w.log());
    assert!(w.log().contains("certificate"), "{}", w.log());
    assert_eq!(serial(w.addr), None, "a secondary that refused the certificate serves the zone");
}

/// Mutual TLS for transfers (RFC 9103 §9.3.3): a primary whose only
/// `allow-transfer` rule is `tls-client sec.test` (with `tls.client-ca-file`)
/// transfers to a levee secondary presenting a certificate valid for
/// sec.test (`[transfer-in] tls-cert-file`/`tls-key-file`), and refuses one
/// presenting none, one valid for another name (same CA), one from another
/// CA (no handshake), and the same good certificate's holder over plain TCP.
#[test]
fn a_secondary_pulls_over_mutual_tls_and_others_are_refused() {
    let pd = TempDir::new("mtls-p");
    let (ca, crt, key) = crate::dot::make_certs(pd.path(), "p");
    let (_, good_crt, good_key) = crate::dot::make_certs_for(pd.path(), "good", "DNS:sec.test");
    let (_, wrong_crt, wrong_key) = crate::dot::make_certs_for(pd.path(), "wrong", "DNS:other.test");
    let od = TempDir::new("mtls-other-ca");
    let (_, alien_crt, alien_key) = crate::dot::make_certs_for(od.path(), "alien", "DNS:sec.test");
    std::fs::write(pd.path().join("r.test.zone"), zone(1)).unwrap();
    let tls = format!(
        "[tls]\nlisten = [\"127.0.0.1:0\"]\ncertificate = \"{}\"\nkey = \"{}\"\nclient-ca-file = \"{}\"",
        crt.display(),
        key.display(),
        ca.display()
    );
    let pconf = conf(&pd, &format!("file = \"r.test.zone\"\nallow-transfer = [\"tls-client sec.test\"]\n{tls}"));
    let p = Server::start(&["-c", &pconf, "--listen", "127.0.0.1:0"]);
    assert!(p.wait_log("DNS over TLS on", Duration::from_secs(10)), "{}", p.log());
    let dot = crate::dot::dot_addr(&p);
    let secondary = |tag: &str, client: Option<(&std::path::Path, &std::path::Path)>, tls: bool| {
        let d = TempDir::new(tag);
        let pair = client
            .map(|(c, k)| format!("\ntls-cert-file = \"{}\"\ntls-key-file = \"{}\"", c.display(), k.display()))
            .unwrap_or_default();
        let primary = if tls { format!("{dot} tls dot.test") } else { p.addr.to_string() };
        let c = conf(
            &d,
            &format!(
                "primaries = [\"{primary}\"]\nallow-transfer = [\"127.0.0.1\"]\n[transfer-in]\ntls-ca-file = \"{}\"{pair}",
                ca.display()
            ),
        );
        (Server::start(&["-c", &c, "--listen", "127.0.0.1:0"]), d)
    };
    let (s, _sd) = secondary("mtls-s", Some((&good_crt, &good_key)), true);
    assert!(wait_serial(s.addr, 1), "transfer with the right certificate; log:\n{}", s.log());
    assert!(p.wait_log("kind=\"AXFR\" transport=\"tls\"", Duration::from_secs(10)), "{}", p.log());
    let refused_before = p.log().matches("AXFR refused").count();
    let cases = [
        ("mtls-none", None, true),
        ("mtls-wrong", Some((wrong_crt.as_path(), wrong_key.as_path())), true),
        ("mtls-alien", Some((alien_crt.as_path(), alien_key.as_path())), true),
        ("mtls-tcp", Some((good_crt.as_path(), good_key.as_path())), false),
    ];
    let mut refused = 0;
    for (tag, pair, tls) in cases {
        let (w, _wd) = secondary(tag, pair, tls);
        if tag == "mtls-alien" {
            // A certificate from another CA: the primary fails the handshake.
            assert!(w.wait_log(" over TLS: ", Duration::from_secs(10)), "{tag}: {}", w.log());
        } else {
            refused += 1;
            let want = refused_before + refused;
            let t = std::time::Instant::now();
            while p.log().matches("AXFR refused").count() < want && t.elapsed() < Duration::from_secs(10) {
                std::thread::sleep(Duration::from_millis(50));
            }
            assert!(p.log().matches("AXFR refused").count() >= want, "{tag}: no refusal; primary:\n{}", p.log());
        }
        assert_eq!(serial(w.addr), None, "{tag}: a secondary without an accepted certificate serves the zone");
    }
    assert_eq!(p.log().matches("kind=\"AXFR\"").count(), 1, "only the accepted secondary got a transfer:\n{}", p.log());
}

/// Issue 20: source addresses. The primary lets only 127.0.0.2 transfer
/// (with the key): a secondary whose transfers leave from 127.0.0.2
/// (`[transfer-in] source`, or the zone's `transfer-source`) gets the
/// zone, one without is refused. NOTIFY leaves from `[notify] source`
/// (seen by a plain socket as the target), and a zone's `notify-source`
/// overrides it.
#[test]
fn transfers_and_notify_leave_from_the_configured_source() {
    let target = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    target.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let t_addr = target.local_addr().unwrap();
    let pd = TempDir::new("src-p");
    std::fs::write(pd.path().join("r.test.zone"), zone(1)).unwrap();
    let pconf = conf(
        &pd,
        &format!(
            "file = \"r.test.zone\"\nallow-transfer = [\"127.0.0.2 key xfr\"]\nnotify = [\"{t_addr} key xfr\"]\n[notify]\nsource = \"127.0.0.3\""
        ),
    );
    let p = Server::start(&["-c", &pconf, "--listen", "127.0.0.1:0"]);
    let mut buf = [0u8; 512];
    let (_, from) = target.recv_from(&mut buf).expect("a NOTIFY at start");
    assert_eq!(from.ip().to_string(), "127.0.0.3", "NOTIFY from [notify] source; log:\n{}", p.log());
    assert_eq!(buf[2] & 0x78, 4 << 3, "opcode NOTIFY");

    let secondary = |tag: &str, extra: &str, tail: &str| {
        let d = TempDir::new(tag);
        let c = conf(&d, &format!("primaries = [\"{} key xfr\"]\n{extra}{tail}", p.addr));
        (Server::start(&["-c", &c, "--listen", "127.0.0.1:0"]), d)
    };
    let (with_section, _d1) = secondary("src-s1", "", "\n[transfer-in]\nsource = \"127.0.0.2\"");
    let (with_zone_key, _d2) = secondary("src-s2", "transfer-source = \"127.0.0.2\"", "");
    let (without, _d3) = secondary("src-s3", "", "");
    assert!(wait_serial(with_section.addr, 1), "[transfer-in] source; log:\n{}", with_section.log());
    assert!(wait_serial(with_zone_key.addr, 1), "zone transfer-source; log:\n{}", with_zone_key.log());
    assert!(
        without.wait_log("transfer failed", Duration::from_secs(10)),
        "from 127.0.0.1 the primary must refuse; log:\n{}",
        without.log()
    );
    assert_eq!(serial(without.addr), None, "no zone without the source: {}", without.log());
    assert!(
        p.wait_log("client=127.0.0.2:", Duration::from_secs(5)),
        "the primary logs the transfer's source: {}",
        p.log()
    );

    // A zone's notify-source beats the section's.
    drop(p);
    let text =
        std::fs::read_to_string(&pconf).unwrap().replace("\n[notify]", "\nnotify-source = \"127.0.0.4\"\n[notify]");
    std::fs::write(&pconf, text).unwrap();
    let p = Server::start(&["-c", &pconf, "--listen", "127.0.0.1:0"]);
    let from = loop {
        let (n, from) = target.recv_from(&mut buf).expect("a NOTIFY at the second start");
        // Retries of the first primary's NOTIFY may still be queued here.
        if n > 12 && from.ip().to_string() != "127.0.0.3" {
            break from;
        }
    };
    assert_eq!(from.ip().to_string(), "127.0.0.4", "zone notify-source; log:\n{}", p.log());
}

/// A source address that is not this host's stops the start, naming the
/// key (the NOTIFYs and transfers would all fail later, quietly).
#[test]
fn a_source_address_not_of_this_host_is_refused_at_start() {
    for (tail, key) in [
        ("file = \"r.test.zone\"\n[notify]\nsource = \"192.0.2.1\"", "notify.source"),
        ("file = \"r.test.zone\"\n[transfer-in]\nsource = [\"127.0.0.1\", \"2001:db8::1\"]", "transfer-in.source"),
        ("file = \"r.test.zone\"\nnotify-source = \"192.0.2.1\"", "zone[0].notify-source"),
        ("primaries = [\"127.0.0.1:9\"]\ntransfer-source = \"198.51.100.7\"", "zone[0].transfer-source"),
    ] {
        let d = TempDir::new("src-bad");
        std::fs::write(d.path().join("r.test.zone"), zone(1)).unwrap();
        let c = conf(&d, tail);
        let out = crate::support::run_bounded(levee().args(["serve", "-c", &c, "--listen", "127.0.0.1:0"]));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{key}: {err}");
        assert!(err.contains(key) && err.contains("not an address of this host"), "{key}: {err}");
    }
    // Not an address at all: refused when the file is read.
    let d = TempDir::new("src-bad");
    let c = conf(&d, "file = \"r.test.zone\"\n[notify]\nsource = \"localhost\"");
    let out = crate::support::run_bounded(levee().args(["serve", "-c", &c, "--listen", "127.0.0.1:0"]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.code() == Some(2) && err.contains("notify.source") && err.contains("not an IP address"),
        "{err}"
    );
}

/// Issue 20 (found by the fleet with Knot as the primary, which gives up
/// a NOTIFY answered with BADTIME): after a step of the wall clock every
/// secondary zone checks with its primary at once instead of waiting for
/// its SOA refresh (3600 s here; nothing NOTIFYs). The secondary's clock
/// is moved by libfaketime (an offset file it re-reads every second; the
/// monotonic clock untouched, as NTP leaves it).
#[test]
fn a_clock_step_makes_every_secondary_zone_check_at_once() {
    let pd = TempDir::new("step-p");
    std::fs::write(pd.path().join("r.test.zone"), zone(1)).unwrap();
    let pconf = conf(&pd, "file = \"r.test.zone\"\nallow-transfer = [\"127.0.0.1 key xfr\"]");
    let p = Server::start(&["-c", &pconf, "--listen", "127.0.0.1:0"]);
    let sd = TempDir::new("step-s");
    let clock = sd.path().join("clock");
    std::fs::write(&clock, "+0\n").unwrap();
    let sconf = conf(&sd, &format!("primaries = [\"{} key xfr\"]", p.addr));
    let lib = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";
    assert!(std::path::Path::new(lib).exists(), "{lib} is needed (apt-get install faketime)");
    let s = Server::start_env(
        &["-c", &sconf, "--listen", "127.0.0.1:0"],
        &[
            ("LD_PRELOAD", lib),
            ("FAKETIME_TIMESTAMP_FILE", clock.to_str().unwrap()),
            ("FAKETIME_CACHE_DURATION", "1"),
            ("FAKETIME_DONT_FAKE_MONOTONIC", "1"),
        ],
    );
    assert!(wait_serial(s.addr, 1), "initial transfer; log:\n{}", s.log());
    std::fs::write(pd.path().join("r.test.zone"), zone(2)).unwrap();
    let (ok, out, err) = ctl(&pconf, &["reload", "r.test."]);
    assert!(ok, "{out}{err}");
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(serial(s.addr), Some(1), "nothing should have made the secondary check yet: {}", s.log());
    // A step of 100 s (inside the TSIG fudge, so the check succeeds).
    std::fs::write(&clock, "+100\n").unwrap();
    assert!(wait_serial(s.addr, 2), "after the step; log:\n{}", s.log());
    assert!(s.wait_log("the wall clock stepped", Duration::from_secs(1)), "{}", s.log());
}
