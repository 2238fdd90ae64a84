//! DNS over TLS (RFC 7858, issue 21) on the real binary, with a rustls
//! client and certificates made by openssl for each test: answers equal
//! to TCP's, pipelining, resumption, the certificate's reload and its
//! errors at start, the handshake timeout, the caps and the handshake
//! budget, the metrics.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

use crate::ops::{check_prometheus, http, http_token, management};
use crate::padding::unpad;
use crate::support::{levee, query, run_bounded, tcp, write_private, Server, TempDir};

/// A CA and a server certificate for `dot.test` signed by it, made with
/// openssl in `dir`: (ca.crt, NAME.crt, NAME.key with mode 0600).
pub(crate) fn make_certs(dir: &Path, name: &str) -> (PathBuf, PathBuf, PathBuf) {
    make_certs_for(dir, name, "DNS:dot.test,IP:127.0.0.1")
}

/// As [`make_certs`], the certificate valid for `san` (an openssl
/// subjectAltName value).
pub(crate) fn make_certs_for(dir: &Path, name: &str, san: &str) -> (PathBuf, PathBuf, PathBuf) {
    let ca = dir.join("ca.crt");
    let run = |args: &[&str]| {
        let out = Command::new("openssl").current_dir(dir).args(args).output().expect("openssl is installed");
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    if !ca.exists() {
        let mut a = vec!["req", "-x509"];
        a.extend(ec);
        a.extend(["-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=levee test CA"]);
        run(&a);
    }
    let (key, csr, crt) = (format!("{name}.key"), format!("{name}.csr"), format!("{name}.crt"));
    let mut a = vec!["req"];
    a.extend(ec);
    let subj = format!("/CN={name}");
    a.extend(["-keyout", &key, "-out", &csr, "-subj", &subj]);
    run(&a);
    std::fs::write(dir.join("ext"), format!("subjectAltName={san}\n")).unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        &csr,
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        &crt,
        "-days",
        "2",
        "-extfile",
        "ext",
    ]);
    set_mode(&dir.join(&key), 0o600);
    (ca, dir.join(crt), dir.join(key))
}

fn set_mode(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A client trusting `ca`, offering ALPN "dot", remembering sessions.
pub(crate) fn client(ca: &Path) -> Arc<ClientConfig> {
    client_alpn(ca, &[b"dot"])
}

/// The same offering the ALPN protocols `alpn` (none: no ALPN).
fn client_alpn(ca: &Path, alpn: &[&[u8]]) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut c = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    c.alpn_protocols = alpn.iter().map(|a| a.to_vec()).collect();
    Arc::new(c)
}

pub(crate) type Tls = StreamOwned<ClientConnection, TcpStream>;

/// A connection to `addr` with its handshake done.
pub(crate) fn connect(cfg: &Arc<ClientConfig>, addr: SocketAddr) -> std::io::Result<Tls> {
    connect_from(cfg, addr, "127.0.0.1:0")
}

/// The same from the source address `src`.
fn connect_from(cfg: &Arc<ClientConfig>, addr: SocketAddr, src: &str) -> std::io::Result<Tls> {
    connect_with(cfg, addr, src, None)
}

/// The same with a small receive buffer (`rcvbuf` octets), so that the
/// server's writes block and resume.
fn connect_with(cfg: &Arc<ClientConfig>, addr: SocketAddr, src: &str, rcvbuf: Option<usize>) -> std::io::Result<Tls> {
    use socket2::{Domain, Socket, Type};
    let src: SocketAddr = src.parse().unwrap();
    let raw = Socket::new(Domain::for_address(src), Type::STREAM, None)?;
    if let Some(n) = rcvbuf {
        raw.set_recv_buffer_size(n)?;
    }
    raw.bind(&src.into())?;
    raw.connect_timeout(&addr.into(), Duration::from_secs(3))?;
    let sock: TcpStream = raw.into();
    sock.set_read_timeout(Some(Duration::from_secs(5)))?;
    let conn = ClientConnection::new(Arc::clone(cfg), ServerName::try_from("dot.test").unwrap()).unwrap();
    let mut s = StreamOwned::new(conn, sock);
    while s.conn.is_handshaking() {
        s.conn.complete_io(&mut s.sock)?;
    }
    Ok(s)
}

pub(crate) fn send(s: &mut Tls, q: &[u8]) {
    let mut m = (q.len() as u16).to_be_bytes().to_vec();
    m.extend_from_slice(q);
    s.write_all(&m).unwrap();
}

pub(crate) fn recv(s: &mut Tls) -> std::io::Result<Vec<u8>> {
    let mut l = [0u8; 2];
    s.read_exact(&mut l)?;
    let mut m = vec![0u8; u16::from_be_bytes(l) as usize];
    s.read_exact(&mut m)?;
    Ok(m)
}

/// True when the server ends the connection within `limit`.
fn closed_within(s: &mut Tls, limit: Duration) -> bool {
    use std::io::ErrorKind::{TimedOut, WouldBlock};
    s.sock.set_read_timeout(Some(limit)).unwrap();
    let mut b = [0u8; 1];
    match s.read(&mut b) {
        Ok(n) => n == 0,
        Err(e) => !matches!(e.kind(), WouldBlock | TimedOut),
    }
}

/// The DoT address the server logged.
pub(crate) fn dot_addr(s: &Server) -> SocketAddr {
    dot_addrs(s)[0]
}

/// Every DoT address the server logged.
fn dot_addrs(s: &Server) -> Vec<SocketAddr> {
    let log = s.log();
    let all: Vec<SocketAddr> = log
        .split("DNS over TLS on ")
        .skip(1)
        .map(|rest| rest.split_whitespace().next().unwrap().parse().expect("DoT address"))
        .collect();
    assert!(!all.is_empty(), "no DoT listener in the log");
    all
}

/// The served certificate's subject CN, as the client saw it.
fn peer_cn(s: &Tls) -> String {
    let der = s.conn.peer_certificates().unwrap()[0].as_ref().to_vec();
    let text = Command::new("sh")
        .arg("-c")
        .arg("openssl x509 -inform DER -noout -subject")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().unwrap().write_all(&der)?;
            c.wait_with_output()
        })
        .unwrap();
    String::from_utf8_lossy(&text.stdout).trim().rsplit('=').next().unwrap().trim().to_string()
}

/// A server with a DoT listener on 127.0.0.1 (other modules' tests use it too).
pub(crate) fn start(crt: &Path, key: &Path, extra: &[&str]) -> Server {
    let mut args = vec![
        "--listen",
        "127.0.0.1:0",
        "--threads",
        "1",
        "--listen-tls",
        "127.0.0.1:0",
        "--tls-cert",
        crt.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ];
    args.extend(extra);
    Server::start(&args)
}

/// The questions compared: answers, NODATA, NXDOMAIN, a referral-free
/// delegation-less zone's NS with glue, DO, no EDNS, CHAOS, a bad class.
pub(crate) const QUESTIONS: &[(&str, u16, Option<bool>)] = &[
    ("example.com.", 6, Some(false)),
    ("example.com.", 2, Some(true)),
    ("www.example.com.", 1, None),
    ("www.example.com.", 28, Some(false)),
    ("nope.example.com.", 1, Some(false)),
    ("example.net.", 255, Some(false)),
    ("not-served.test.", 1, Some(false)),
];

#[test]
fn dot_answers_like_tcp_pipelined_and_resumed() {
    let d = TempDir::new("dot-answers");
    let (ca, crt, key) = make_certs(d.path(), "a");
    let conf = d.path().join("levee.toml");
    write_private(&conf, &crate::ops::management_config("127.0.0.1:0"));
    let srv = start(&crt, &key, &["--config", conf.to_str().unwrap(), "--listen-tls", "[::1]:0"]);
    let dot = dot_addr(&srv);
    let cfg = client(&ca);
    // Both listeners (IPv4 and IPv6) serve.
    let v6 = dot_addrs(&srv).into_iter().find(SocketAddr::is_ipv6).expect("an IPv6 DoT listener");
    let mut s6 = connect_from(&client(&ca), v6, "[::1]:0").expect("handshake over IPv6");
    send(&mut s6, &query(0x66, "example.com.", 6, None));
    assert_eq!(recv(&mut s6).unwrap(), tcp(srv.addr, &query(0x66, "example.com.", 6, None), 1)[0]);
    drop(s6);
    // One query per connection... on one persistent connection, each
    // answer equal octet for octet to the TCP answer.
    let mut s = connect(&cfg, dot).expect("handshake");
    assert_eq!(s.conn.alpn_protocol(), Some(&b"dot"[..]));
    for (i, &(name, t, edns)) in QUESTIONS.iter().enumerate() {
        let q = query(0x100 + i as u16, name, t, edns);
        let want = tcp(srv.addr, &q, 1);
        assert_eq!(want.len(), 1, "{name} over TCP");
        send(&mut s, &q);
        // Less its EDNS padding (it::padding checks it).
        assert_eq!(unpad(&recv(&mut s).unwrap()), want[0], "{name} {t}: DoT differs from TCP");
    }
    // Pipelined: every question in one write, every answer back.
    let mut all = Vec::new();
    for (i, &(name, t, edns)) in QUESTIONS.iter().enumerate() {
        let q = query(0x200 + i as u16, name, t, edns);
        all.extend_from_slice(&(q.len() as u16).to_be_bytes());
        all.extend_from_slice(&q);
    }
    s.write_all(&all).unwrap();
    let mut ids: Vec<u16> =
        (0..QUESTIONS.len()).map(|_| recv(&mut s).unwrap()).map(|m| u16::from_be_bytes([m[0], m[1]])).collect();
    ids.sort();
    assert_eq!(ids, (0..QUESTIONS.len() as u16).map(|i| 0x200 + i).collect::<Vec<_>>());
    assert!(!s.conn.handshake_kind().is_some_and(|k| k == rustls::HandshakeKind::Resumed));
    drop(s);
    // A second connection resumes the session (the ticket of the first).
    let mut s2 = connect(&cfg, dot).expect("second handshake");
    assert_eq!(s2.conn.handshake_kind(), Some(rustls::HandshakeKind::Resumed), "not resumed");
    send(&mut s2, &query(7, "example.com.", 6, None));
    assert_eq!(recv(&mut s2).unwrap(), tcp(srv.addr, &query(7, "example.com.", 6, None), 1)[0]);
    // The metrics count DoT apart.
    let m = check_prometheus(&http(management(&srv), "GET", "/metrics").2);
    let n = QUESTIONS.len() as f64;
    assert_eq!(m["levee_queries_total{transport=\"tls\"}"], 2.0 * n + 2.0);
    assert_eq!(m["levee_queries_total{transport=\"tcp\"}"], n + 2.0);
    assert_eq!(m["levee_tls_handshakes_total"], 3.0);
    assert_eq!(m["levee_tls_handshakes_resumed_total"], 1.0);
    assert_eq!(m["levee_tls_handshake_failures_total"], 0.0);
    assert_eq!(m["levee_tls_connections_accepted_total"], 3.0);
    // The JSON status splits the transports the same way.
    let st: serde_json::Value =
        serde_json::from_str(&http_token(management(&srv), "GET", "/api/status", crate::ops::READ).2).unwrap();
    assert_eq!(st["queries"]["tls"], 2 * QUESTIONS.len() + 2, "{st}");
    assert_eq!(st["queries"]["tcp"], QUESTIONS.len() + 2, "{st}");
    assert_eq!(st["tls_connections_open"], 1, "{st}");
}

#[test]
fn a_bad_certificate_or_key_is_refused_at_start_naming_it() {
    let d = TempDir::new("dot-bad");
    let (_, crt, key) = make_certs(d.path(), "a");
    let (_, _, other_key) = make_certs(d.path(), "b");
    let missing = d.path().join("missing.crt");
    let garbage = d.path().join("garbage.crt");
    std::fs::write(&garbage, "not a certificate\n").unwrap();
    let open_key = d.path().join("open.key");
    std::fs::copy(&key, &open_key).unwrap();
    set_mode(&open_key, 0o644);
    let cases: [(&Path, &Path, &str, &Path); 5] = [
        (&missing, &key, "--tls-cert", &missing),
        (&garbage, &key, "--tls-cert", &garbage),
        (&crt, &other_key, "--tls-key", &other_key),
        (&crt, &d.path().join("none.key"), "--tls-key", &d.path().join("none.key")),
        (&crt, &open_key, "--tls-key", &open_key),
    ];
    for (c, k, flag, file) in cases {
        let out = run_bounded(levee().args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--listen-tls",
            "127.0.0.1:0",
            "--tls-cert",
            c.to_str().unwrap(),
            "--tls-key",
            k.to_str().unwrap(),
        ]));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{flag} {file:?} accepted:\n{err}");
        assert!(!err.contains(" ready"), "{err}");
        assert!(err.contains(flag) && err.contains(file.to_str().unwrap()), "{flag} {file:?} not named:\n{err}");
        assert!(!err.contains("PRIVATE KEY"), "key material in the log");
    }
    // The same from the file: the key of the file is named.
    let conf = d.path().join("levee.toml");
    std::fs::write(
        &conf,
        format!("[tls]\nlisten = [\"127.0.0.1:0\"]\ncertificate = \"{}\"\nkey = \"b.key\"\n", crt.display()),
    )
    .unwrap();
    let out = run_bounded(levee().args(["serve", "--listen", "127.0.0.1:0", "--config", conf.to_str().unwrap()]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("tls.key") && err.contains("b.key"), "{err}");
    std::fs::write(&conf, "[tls]\nlisten = [\"127.0.0.1:0\"]\n").unwrap();
    let out = run_bounded(levee().args(["serve", "--listen", "127.0.0.1:0", "--config", conf.to_str().unwrap()]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("tls.certificate"), "{err}");
}

#[test]
fn sighup_reloads_the_certificate_and_a_bad_one_keeps_the_old() {
    let d = TempDir::new("dot-reload");
    let (ca, crt, key) = make_certs(d.path(), "first");
    let (_, crt2, key2) = make_certs(d.path(), "second");
    let served = (d.path().join("served.crt"), d.path().join("served.key"));
    std::fs::copy(&crt, &served.0).unwrap();
    std::fs::copy(&key, &served.1).unwrap();
    set_mode(&served.1, 0o600);
    let srv = start(&served.0, &served.1, &[]);
    let dot = dot_addr(&srv);
    let cfg = client(&ca);
    assert_eq!(peer_cn(&connect(&cfg, dot).unwrap()), "first");
    // A connection open across the reload keeps working.
    let mut kept = connect(&cfg, dot).unwrap();
    std::fs::copy(&crt2, &served.0).unwrap();
    std::fs::copy(&key2, &served.1).unwrap();
    srv.signal("HUP");
    assert!(srv.wait_log("certificate reloaded", Duration::from_secs(10)), "{}", srv.log());
    assert_eq!(peer_cn(&connect(&client(&ca), dot).unwrap()), "second");
    send(&mut kept, &query(1, "example.com.", 6, None));
    assert!(recv(&mut kept).is_ok());
    // A broken certificate: logged with its file, the served one stays.
    std::fs::write(&served.0, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").unwrap();
    srv.signal("HUP");
    assert!(srv.wait_log("keeping the served certificate", Duration::from_secs(10)), "{}", srv.log());
    assert!(srv.log().contains(served.0.to_str().unwrap()), "{}", srv.log());
    assert_eq!(peer_cn(&connect(&client(&ca), dot).unwrap()), "second");
    // A key that does not match the certificate: the same.
    std::fs::copy(&crt, &served.0).unwrap();
    srv.signal("HUP");
    assert!(srv.wait_log("does not fit the certificate", Duration::from_secs(10)), "{}", srv.log());
    assert_eq!(peer_cn(&connect(&client(&ca), dot).unwrap()), "second");
}

#[test]
fn silent_connections_time_out_and_one_source_is_capped() {
    let d = TempDir::new("dot-limits");
    let (ca, crt, key) = make_certs(d.path(), "a");
    let conf = d.path().join("levee.toml");
    std::fs::write(&conf, "[tls]\nhandshake-timeout = 1\nmax-connections-per-source = 2\n").unwrap();
    let srv = start(&crt, &key, &["--config", conf.to_str().unwrap(), "--management", "127.0.0.1:0"]);
    let dot = dot_addr(&srv);
    // A TCP connection that never says hello is closed after ~1 s.
    let mut silent = TcpStream::connect(dot).unwrap();
    silent.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let t = Instant::now();
    let mut b = [0u8; 1];
    assert!(matches!(silent.read(&mut b), Ok(0) | Err(_)));
    let waited = t.elapsed();
    assert!(waited >= Duration::from_millis(900) && waited < Duration::from_secs(4), "{waited:?}");
    // Three connections from one address: the oldest makes room.
    let cfg = client(&ca);
    let mut first = connect(&cfg, dot).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    let mut second = connect(&cfg, dot).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    let mut third = connect(&cfg, dot).unwrap();
    send(&mut third, &query(3, "example.com.", 6, None));
    assert!(recv(&mut third).is_ok());
    assert!(closed_within(&mut first, Duration::from_secs(3)), "the oldest was not evicted");
    send(&mut second, &query(2, "example.com.", 6, None));
    assert!(recv(&mut second).is_ok(), "the second was closed too");
    let m = check_prometheus(&http(management(&srv), "GET", "/metrics").2);
    assert_eq!(m["levee_tls_handshake_failures_total"], 1.0);
    assert_eq!(m["levee_tls_connections_closed_total{reason=\"cap_per_source\"}"], 1.0);
    // Two connections open, each charged its TLS state (16 KiB) and nothing else.
    assert_eq!(m["levee_tls_connections_open"], 2.0);
    assert_eq!(m["levee_tls_buffer_bytes"], 2.0 * 16384.0);
}

#[test]
fn the_handshake_budget_refuses_a_flooding_prefix() {
    let d = TempDir::new("dot-budget");
    let (ca, crt, key) = make_certs(d.path(), "a");
    let conf = d.path().join("levee.toml");
    std::fs::write(&conf, "[tls]\nhandshake-rate = 1\nhandshake-burst = 3\n").unwrap();
    let srv = start(&crt, &key, &["--config", conf.to_str().unwrap(), "--management", "127.0.0.1:0"]);
    let dot = dot_addr(&srv);
    let cfg = client(&ca);
    // The burst is served (each connection kept open: no cap is involved).
    let kept: Vec<Tls> = (0..3).map(|i| connect(&cfg, dot).unwrap_or_else(|e| panic!("connection {i}: {e}"))).collect();
    // Then 127.0.0.0/24 is over its budget: closed before any TLS.
    for _ in 0..3 {
        assert!(connect(&cfg, dot).is_err(), "a handshake over the budget was served");
    }
    // Another prefix is not affected.
    let mut other = connect_from(&cfg, dot, "127.0.1.1:0").expect("another /24 refused");
    send(&mut other, &query(9, "example.com.", 6, None));
    assert!(recv(&mut other).is_ok());
    let m = check_prometheus(&http(management(&srv), "GET", "/metrics").2);
    assert_eq!(m["levee_tls_handshakes_refused_total{reason=\"prefix\"}"], 3.0);
    assert_eq!(m["levee_tls_handshakes_refused_total{reason=\"total\"}"], 0.0);
    assert_eq!(m["levee_tls_handshakes_total"], 4.0);
    // A second later the prefix has a handshake again.
    std::thread::sleep(Duration::from_millis(1100));
    assert!(connect(&cfg, dot).is_ok());
    drop(kept);
    // The 10 s log summary says what the defences did.
    assert!(srv.wait_log("DNS-over-TLS defences active", Duration::from_secs(15)), "{}", srv.log());
    let line = srv.log().lines().find(|l| l.contains("DNS-over-TLS defences active")).unwrap().to_string();
    assert!(line.contains("handshakes_refused_prefix=3") && line.contains("handshakes=5"), "{line}");
}

/// A zone transfer of several 64 KiB messages over DoT, read slowly
/// through a small receive buffer (the server's TLS writes block and
/// resume), equals the transfer over TCP, message for message; a query
/// on the same connection afterwards is answered.
#[test]
fn a_large_transfer_over_dot_equals_tcp() {
    let d = TempDir::new("dot-axfr");
    let (ca, crt, key) = make_certs(d.path(), "a");
    let zones = d.path().join("zones");
    std::fs::create_dir(&zones).unwrap();
    let mut z = String::from(
        "$ORIGIN big.test.\n$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.1\n",
    );
    for i in 0..4000 {
        z.push_str(&format!("r{i} TXT \"{}\"\n", "x".repeat(100)));
    }
    std::fs::write(zones.join("big.test.zone"), z).unwrap();
    let srv = start(&crt, &key, &["--zones-dir", zones.to_str().unwrap(), "--allow-transfer", "big.test.=127.0.0.1"]);
    let dot = dot_addr(&srv);
    let q = query(0x4242, "big.test.", 252, None);
    let want = tcp(srv.addr, &q, 100);
    assert!(want.len() >= 5, "{} messages over TCP", want.len());
    let mut s = connect_with(&client(&ca), dot, "127.0.0.1:0", Some(4096)).unwrap();
    send(&mut s, &q);
    for (i, w) in want.iter().enumerate() {
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(&recv(&mut s).unwrap(), w, "message {i} of the transfer differs");
    }
    send(&mut s, &query(5, "big.test.", 6, None));
    let soa = recv(&mut s).unwrap();
    assert_eq!(&soa[..2], &[0, 5]);
}

/// XoT (RFC 9103): a transfer whose writing lasts longer than the DoT
/// idle and message timeouts together (1 s each here) is not cut: the
/// zone (about 7 MB, over 100 messages) is larger than the socket buffers
/// (4 MiB at most on the server's side), and the secondary reads one
/// message every 35 ms through a small receive buffer (about 4 s in
/// all), so the server waits on the socket for seconds. Those timeouts
/// apply between and within queries; a transfer being written is closed
/// only after `write_timeout` without progress. Every message arrives,
/// equal to TCP's.
#[test]
fn a_transfer_longer_than_the_dot_timeouts_is_not_cut() {
    let d = TempDir::new("dot-xot-slow");
    let (ca, crt, key) = make_certs(d.path(), "a");
    let zones = d.path().join("zones");
    std::fs::create_dir(&zones).unwrap();
    let mut z = String::from(
        "$ORIGIN big.test.\n$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.1\n",
    );
    for i in 0..60000 {
        z.push_str(&format!("r{i} TXT \"{}\"\n", "x".repeat(100)));
    }
    std::fs::write(zones.join("big.test.zone"), z).unwrap();
    let conf = d.path().join("levee.toml");
    std::fs::write(&conf, "[tls]\nidle-timeout = 1\nmessage-timeout = 1\n").unwrap();
    let srv = start(
        &crt,
        &key,
        &[
            "--config",
            conf.to_str().unwrap(),
            "--zones-dir",
            zones.to_str().unwrap(),
            "--allow-transfer",
            "big.test.=127.0.0.1",
        ],
    );
    let q = query(0x4243, "big.test.", 252, None);
    let want = tcp(srv.addr, &q, 1000);
    assert!(want.len() >= 100, "{} messages over TCP", want.len());
    let mut s = connect_with(&client(&ca), dot_addr(&srv), "127.0.0.1:0", Some(4096)).unwrap();
    let t0 = std::time::Instant::now();
    send(&mut s, &q);
    for (i, w) in want.iter().enumerate() {
        std::thread::sleep(Duration::from_millis(35));
        let got =
            recv(&mut s).unwrap_or_else(|e| panic!("message {i} of {} after {:?}: {e}", want.len(), t0.elapsed()));
        assert_eq!(&got, w, "message {i} of the transfer differs");
    }
    assert!(t0.elapsed() > Duration::from_millis(2500), "the transfer took only {:?}", t0.elapsed());
}

/// Past the total of handshakes (a flood from many prefixes), a prefix
/// on whose connections a query was answered still gets handshakes; one
/// that never asked anything waits.
#[test]
fn past_the_total_only_known_prefixes_get_handshakes() {
    let d = TempDir::new("dot-total");
    let (ca, crt, key) = make_certs(d.path(), "a");
    let conf = d.path().join("levee.toml");
    std::fs::write(&conf, "[tls]\nhandshake-rate-total = 1\nhandshake-burst-total = 2\n").unwrap();
    let srv = start(&crt, &key, &["--config", conf.to_str().unwrap(), "--management", "127.0.0.1:0"]);
    let dot = dot_addr(&srv);
    let cfg = client(&ca);
    // The total's burst: one connection from 127.0.0.0/24 that asks a
    // query (its prefix becomes known), one from 127.0.2.0/24 that does not.
    let mut asked = connect(&cfg, dot).unwrap();
    send(&mut asked, &query(1, "example.com.", 6, None));
    assert!(recv(&mut asked).is_ok());
    let _silent = connect_from(&cfg, dot, "127.0.2.1:0").unwrap();
    // Spent: a new prefix and the silent one wait; the known one goes on.
    assert!(connect_from(&cfg, dot, "127.0.1.1:0").is_err(), "an unknown prefix got a handshake past the total");
    assert!(connect_from(&cfg, dot, "127.0.2.2:0").is_err(), "a prefix that asked nothing got a handshake");
    for _ in 0..3 {
        let mut s = connect(&cfg, dot).expect("the known prefix was refused");
        send(&mut s, &query(2, "example.com.", 6, None));
        assert!(recv(&mut s).is_ok());
    }
    let m = check_prometheus(&http(management(&srv), "GET", "/metrics").2);
    assert_eq!(m["levee_tls_handshakes_refused_total{reason=\"total\"}"], 2.0);
    assert_eq!(m["levee_tls_handshakes_refused_total{reason=\"prefix\"}"], 0.0);
}

/// dnstap marks a DoT exchange as DNS over TLS (`SocketProtocol` DOT = 3),
/// query and response octet for octet.
#[test]
fn dnstap_captures_dot_as_dot() {
    let d = TempDir::new("dot-dnstap");
    let (ca, crt, key) = make_certs(d.path(), "a");
    let path = d.path().join("c.sock");
    let l = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let srv = start(&crt, &key, &["--dnstap", path.to_str().unwrap()]);
    let (mut conn, mut buf) = crate::dnstap::accept(&l);
    let mut s = connect(&client(&ca), dot_addr(&srv)).unwrap();
    let q = query(0x77, "example.com.", 6, Some(false));
    send(&mut s, &q);
    let r = recv(&mut s).unwrap();
    let got = crate::dnstap::messages(&mut conn, &mut buf, 2);
    let (mq, mr) = (got[0].message.as_ref().unwrap(), got[1].message.as_ref().unwrap());
    assert_eq!((mq.kind, mr.kind), (1, 2));
    assert_eq!(mq.query_message.as_ref(), Some(&q));
    assert_eq!(mr.response_message.as_ref(), Some(&r));
    assert_eq!((mq.protocol, mr.protocol), (Some(3), Some(3)), "not marked DoT");
}

/// RFC 9103 §7.1: a zone transfer over TLS needs ALPN "dot". A client
/// that offered no ALPN still gets its queries answered, but an AXFR is
/// REFUSED; with "dot" the same AXFR goes through, equal to TCP's.
#[test]
fn a_transfer_over_dot_needs_alpn_dot() {
    let d = TempDir::new("dot-alpn");
    let (ca, crt, key) = make_certs(d.path(), "a");
    let srv = start(&crt, &key, &["--allow-transfer", "example.com=127.0.0.1"]);
    let dot = dot_addr(&srv);
    let axfr = query(0x51, "example.com.", 252, None);
    let want = tcp(srv.addr, &axfr, 10);
    assert!(want[0].len() > 100, "AXFR over TCP");
    let mut bare = connect(&client_alpn(&ca, &[]), dot).expect("a handshake without ALPN");
    assert_eq!(bare.conn.alpn_protocol(), None);
    send(&mut bare, &query(0x52, "example.com.", 6, None));
    let soa = recv(&mut bare).unwrap();
    assert_eq!(soa[3] & 0x0f, 0, "a query without ALPN is answered");
    send(&mut bare, &axfr);
    let refused = recv(&mut bare).unwrap();
    assert_eq!(refused[3] & 0x0f, 5, "AXFR over TLS without ALPN dot must be REFUSED");
    let mut with = connect(&client(&ca), dot).unwrap();
    send(&mut with, &axfr);
    assert_eq!(recv(&mut with).unwrap(), want[0], "AXFR over TLS with ALPN dot");
}
