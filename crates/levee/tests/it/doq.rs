//! DNS over QUIC (RFC 9250, issue 21) on the real binary, with a quinn
//! client and certificates made by openssl for each test: answers equal to
//! TCP's on concurrent streams of one connection, a zone transfer on one
//! stream, the protocol errors that close a connection with
//! DOQ_PROTOCOL_ERROR, ALPN, Retry under load, the handshake budget and
//! the connection cap per prefix, dnstap's DOQ, the metrics.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use quinn::{Connection, ConnectionError, Endpoint, VarInt};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

use crate::dot::{make_certs, QUESTIONS}; // the DoT tests' questions, asked with Message ID 0
use crate::ops::{check_prometheus, http, management};
use crate::support::{query, tcp, write_private, Server, TempDir};

/// DOQ_PROTOCOL_ERROR (RFC 9250 §4.3).
const PROTOCOL_ERROR: u32 = 2;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// A QUIC client trusting `ca`, offering `alpn`.
fn client(ca: &Path, alpn: &[u8]) -> quinn::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut c = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    c.alpn_protocols = vec![alpn.to_vec()];
    quinn::ClientConfig::new(Arc::new(quinn::crypto::rustls::QuicClientConfig::try_from(c).unwrap()))
}

/// Connects from `src` (a 127.0.0.x address); the endpoint lives as long
/// as the connection is used.
async fn connect(cfg: &quinn::ClientConfig, addr: SocketAddr, src: &str) -> Result<(Endpoint, Connection), String> {
    let mut ep = Endpoint::client(format!("{src}:0").parse().unwrap()).unwrap();
    ep.set_default_client_config(cfg.clone());
    let c = ep.connect(addr, "dot.test").map_err(|e| e.to_string())?;
    match tokio::time::timeout(Duration::from_secs(5), c).await {
        Ok(Ok(c)) => Ok((ep, c)),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("handshake timed out".into()),
    }
}

/// One query on a new stream (length prefix, FIN), every message of the
/// answer back.
async fn ask(c: &Connection, q: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let (mut s, mut r) = c.open_bi().await.map_err(|e| e.to_string())?;
    let mut framed = (q.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(q);
    s.write_all(&framed).await.map_err(|e| e.to_string())?;
    s.finish().map_err(|e| e.to_string())?;
    let all = tokio::time::timeout(Duration::from_secs(5), r.read_to_end(1 << 26))
        .await
        .map_err(|_| "no answer in 5 s".to_string())?
        .map_err(|e| e.to_string())?;
    let mut msgs = Vec::new();
    let mut rest = &all[..];
    while rest.len() >= 2 {
        let n = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        assert!(rest.len() >= 2 + n, "a message cut short on the stream");
        msgs.push(rest[2..2 + n].to_vec());
        rest = &rest[2 + n..];
    }
    assert!(rest.is_empty(), "octets after the last message");
    Ok(msgs)
}

/// The DoQ address the server logged.
fn doq_addr(s: &Server) -> SocketAddr {
    let log = s.log();
    let rest = log.split("DNS over QUIC on ").nth(1).expect("no DoQ listener in the log");
    rest.split_whitespace().next().unwrap().parse().expect("DoQ address")
}

/// levee with DoQ on 127.0.0.1:0, the management listener, and `tls`
/// lines in `[tls]`.
fn start(d: &TempDir, tls: &str, extra: &[&str]) -> (Server, std::path::PathBuf) {
    let (ca, crt, key) = make_certs(d.path(), "a");
    let conf = d.path().join("levee.toml");
    let text = format!(
        "{}[tls]\nlisten-quic = [\"127.0.0.1:0\"]\ncertificate = \"{}\"\nkey = \"{}\"\n{tls}",
        crate::ops::management_config("127.0.0.1:0"),
        crt.display(),
        key.display()
    );
    write_private(&conf, &text);
    let mut args = vec!["--listen", "127.0.0.1:0", "--threads", "1", "--config", conf.to_str().unwrap()];
    args.extend(extra);
    (Server::start(&args), ca)
}

fn metrics(s: &Server) -> std::collections::HashMap<String, f64> {
    check_prometheus(&http(management(s), "GET", "/metrics").2)
}

#[test]
fn doq_answers_like_tcp_on_concurrent_streams_of_one_connection() {
    let d = TempDir::new("doq-answers");
    let (srv, ca) = start(&d, "", &[]);
    let addr = doq_addr(&srv);
    rt().block_on(async {
        let (_ep, c) = connect(&client(&ca, b"doq"), addr, "127.0.0.1").await.expect("handshake");
        assert_eq!(
            c.handshake_data().unwrap().downcast::<quinn::crypto::rustls::HandshakeData>().unwrap().protocol,
            Some(b"doq".to_vec())
        );
        // Every question on its own stream, all at once on one connection;
        // each answer equal octet for octet to TCP's.
        let asks: Vec<_> = QUESTIONS.iter().map(|&(n, t, e)| query(0, n, t, e)).collect();
        let answers = futures_join(&c, &asks).await;
        for (i, (q, a)) in asks.iter().zip(answers).enumerate() {
            let want = tcp(srv.addr, q, 1);
            // Less its EDNS padding, checked by unpad: a multiple of 468
            // octets for every answer with OPT (RFC 8467 §4.1).
            let a = a.expect("an answer");
            assert_eq!((a.len(), want.len()), (1, 1));
            let n = a[0].len();
            assert_eq!(n % 468 == 0, QUESTIONS[i].2.is_some(), "{:?}: {n} octets", QUESTIONS[i]);
            assert_eq!(crate::padding::unpad(&a[0]), want[0], "{:?}: DoQ differs from TCP", QUESTIONS[i]);
        }
    });
    let m = metrics(&srv);
    let n = QUESTIONS.len() as f64;
    assert_eq!(m["levee_queries_total{transport=\"quic\"}"], n);
    assert_eq!(m["levee_queries_total{transport=\"tcp\"}"], n);
    assert_eq!(m["levee_quic_handshakes_total"], 1.0);
    assert_eq!(m["levee_quic_streams_total"], n);
    assert_eq!(m["levee_quic_retries_total"], 0.0, "no Retry under the default rate");
    assert_eq!(m["levee_quic_protocol_errors_total"], 0.0);
}

/// RFC 9250 §4.2: a zone transfer's messages all go on the query's
/// stream; two transfers run at once on one connection (RFC 9250 §4.2.2
/// asks servers to take concurrent AXFRs on one connection), each equal
/// message for message to TCP's; the zone (about 450 KB) is many times a
/// stream's flow-control window.
#[test]
fn a_large_transfer_over_doq_equals_tcp() {
    let d = TempDir::new("doq-axfr");
    let zones = d.path().join("zones");
    std::fs::create_dir(&zones).unwrap();
    let mut z = String::from(
        "$ORIGIN big.test.\n$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.1\n",
    );
    for i in 0..4000 {
        z.push_str(&format!("r{i} TXT \"{}\"\n", "x".repeat(100)));
    }
    std::fs::write(zones.join("big.test.zone"), z).unwrap();
    let (srv, ca) = start(&d, "", &["--zones-dir", zones.to_str().unwrap(), "--allow-transfer", "big.test.=127.0.0.1"]);
    let addr = doq_addr(&srv);
    let axfr = query(0, "big.test.", 252, None);
    let want = tcp(srv.addr, &axfr, 100);
    assert!(want.len() >= 5, "{} messages over TCP", want.len());
    rt().block_on(async {
        let (_ep, c) = connect(&client(&ca, b"doq"), addr, "127.0.0.1").await.expect("handshake");
        let got = futures_join(&c, &[axfr.clone(), axfr.clone()]).await;
        for g in got {
            assert_eq!(g.expect("AXFR over DoQ"), want);
        }
    });
    assert!(srv.log().contains("transport=\"quic\""), "the transfer's log line names the transport");
}

/// Asks every query on its own stream of `c` at once.
async fn futures_join(c: &Connection, qs: &[Vec<u8>]) -> Vec<Result<Vec<Vec<u8>>, String>> {
    let set = tokio::task::LocalSet::new();
    let handles: Vec<_> = qs
        .iter()
        .map(|q| {
            let (c, q) = (c.clone(), q.clone());
            set.spawn_local(async move { ask(&c, &q).await })
        })
        .collect();
    set.await;
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

/// How the server closed `c`: its application error code.
async fn closed_with(c: &Connection) -> Option<u64> {
    match tokio::time::timeout(Duration::from_secs(5), c.closed()).await {
        Ok(ConnectionError::ApplicationClosed(a)) => Some(a.error_code.into_inner()),
        _ => None,
    }
}

#[test]
fn protocol_errors_close_the_connection_with_doq_protocol_error() {
    let d = TempDir::new("doq-errors");
    let (srv, ca) = start(&d, "", &[]);
    let addr = doq_addr(&srv);
    let cfg = client(&ca, b"doq");
    rt().block_on(async {
        // A Message ID other than 0.
        let (_ep, c) = connect(&cfg, addr, "127.0.0.1").await.unwrap();
        assert!(ask(&c, &query(0x1234, "example.com.", 6, None)).await.is_err());
        assert_eq!(closed_with(&c).await, Some(PROTOCOL_ERROR as u64), "non-zero Message ID");
        // An edns-tcp-keepalive option (RFC 9250 §5.5.2 keeps it out of
        // DoQ): answered as Knot DNS 3.4 answers it over DoQ, exactly as
        // the same query without the option (no keepalive in the answer),
        // on a connection that stays open.
        let (_ep, c) = connect(&cfg, addr, "127.0.0.1").await.unwrap();
        let mut plain = query(0, "example.com.", 6, None);
        plain[11] = 1;
        plain.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]);
        let mut keep = query(0, "example.com.", 6, None);
        keep[11] = 1;
        keep.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 4, 0, 11, 0, 0]);
        let with = ask(&c, &keep).await.expect("a query with the keepalive option is answered");
        let without = ask(&c, &plain).await.expect("the connection stays open");
        assert_eq!(with, without, "the keepalive option changes nothing in the answer");
        // The stream ends (FIN) inside the message its prefix announced.
        let (_ep, c) = connect(&cfg, addr, "127.0.0.1").await.unwrap();
        let (mut s, _r) = c.open_bi().await.unwrap();
        let q = query(0, "example.com.", 6, None);
        let mut framed = ((q.len() + 5) as u16).to_be_bytes().to_vec();
        framed.extend_from_slice(&q);
        s.write_all(&framed).await.unwrap();
        s.finish().unwrap();
        assert_eq!(closed_with(&c).await, Some(PROTOCOL_ERROR as u64), "FIN inside the message");
        // A good query on a new connection is still answered.
        let (_ep, c) = connect(&cfg, addr, "127.0.0.1").await.unwrap();
        assert_eq!(ask(&c, &query(0, "example.com.", 6, None)).await.unwrap().len(), 1);
        // A client offering only "dot" gets no DoQ handshake.
        assert!(connect(&client(&ca, b"dot"), addr, "127.0.0.1").await.is_err(), "ALPN dot accepted over QUIC");
    });
    // The server counts the refused handshake once it has sent its
    // alert, which the client may see first.
    let t = std::time::Instant::now();
    let mut m = metrics(&srv);
    while m["levee_quic_handshake_failures_total"] < 1.0 && t.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(50));
        m = metrics(&srv);
    }
    assert_eq!(m["levee_quic_protocol_errors_total"], 2.0);
    assert_eq!(m["levee_queries_total{transport=\"quic\"}"], 3.0, "the two keepalive-test queries and the good one");
    assert_eq!(m["levee_quic_handshake_failures_total"], 1.0, "the ALPN refusal");
}

#[test]
fn above_the_retry_rate_addresses_are_validated_first() {
    let d = TempDir::new("doq-retry");
    // Retry for every new connection.
    let (srv, ca) = start(&d, "quic-retry-above = 0\n", &[]);
    let addr = doq_addr(&srv);
    let cfg = client(&ca, b"doq");
    rt().block_on(async {
        for _ in 0..3 {
            let (_ep, c) = connect(&cfg, addr, "127.0.0.1").await.expect("a handshake after the Retry");
            assert_eq!(
                ask(&c, &query(0, "example.com.", 6, None)).await.unwrap(),
                tcp(srv.addr, &query(0, "example.com.", 6, None), 1)
            );
        }
    });
    let m = metrics(&srv);
    assert_eq!(m["levee_quic_retries_total"], 3.0, "one Retry per connection");
    assert_eq!(m["levee_quic_handshakes_total"], 3.0);
}

#[test]
fn the_handshake_budget_and_the_prefix_cap_refuse_before_any_tls() {
    let d = TempDir::new("doq-budget");
    // 2 handshakes at once per prefix, 1 a second after.
    let (srv, ca) = start(&d, "handshake-rate = 1\nhandshake-burst = 2\n", &[]);
    let addr = doq_addr(&srv);
    let cfg = client(&ca, b"doq");
    rt().block_on(async {
        let _a = connect(&cfg, addr, "127.0.0.1").await.expect("first");
        let _b = connect(&cfg, addr, "127.0.0.2").await.expect("second, same /24");
        assert!(connect(&cfg, addr, "127.0.0.3").await.is_err(), "third at once from the /24");
    });
    let m = metrics(&srv);
    assert_eq!(m["levee_quic_refused_total{reason=\"prefix\"}"], 1.0);
    assert_eq!(m["levee_quic_handshakes_total"], 2.0);
    drop(srv);
    // The cap: 1 connection per prefix; the second is refused while the
    // first is open.
    let d = TempDir::new("doq-cap");
    let (srv, ca) = start(&d, "quic-max-connections-per-prefix = 1\n", &[]);
    let addr = doq_addr(&srv);
    let cfg = client(&ca, b"doq");
    rt().block_on(async {
        let (_ep, c) = connect(&cfg, addr, "127.0.0.1").await.expect("first");
        assert!(connect(&cfg, addr, "127.0.0.9").await.is_err(), "second from the /24 while one is open");
        c.close(VarInt::from_u32(0), b"");
        drop(_ep);
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (_ep, c) = connect(&cfg, addr, "127.0.0.9").await.expect("once the first is closed");
        assert_eq!(ask(&c, &query(0, "example.com.", 6, None)).await.unwrap().len(), 1);
    });
    assert_eq!(metrics(&srv)["levee_quic_refused_total{reason=\"cap\"}"], 1.0);
}

#[test]
fn dnstap_captures_doq_as_doq() {
    let d = TempDir::new("doq-dnstap");
    let path = d.path().join("c.sock");
    let l = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let (srv, ca) = start(&d, "", &["--dnstap", path.to_str().unwrap()]);
    let (mut conn, mut buf) = crate::dnstap::accept(&l);
    let q = query(0, "example.com.", 6, Some(false));
    let r = rt().block_on(async {
        let (_ep, c) = connect(&client(&ca, b"doq"), doq_addr(&srv), "127.0.0.1").await.unwrap();
        ask(&c, &q).await.unwrap().remove(0)
    });
    let got = crate::dnstap::messages(&mut conn, &mut buf, 2);
    let (mq, mr) = (got[0].message.as_ref().unwrap(), got[1].message.as_ref().unwrap());
    assert_eq!((mq.kind, mr.kind), (1, 2));
    assert_eq!(mq.query_message.as_ref(), Some(&q));
    assert_eq!(mr.response_message.as_ref(), Some(&r));
    assert_eq!((mq.protocol, mr.protocol), (Some(7), Some(7)), "not marked DoQ (SocketProtocol DOQ = 7)");
}

/// The end-entity certificate a connection was served.
fn served(c: &Connection) -> Vec<u8> {
    let certs = c.peer_identity().unwrap().downcast::<Vec<CertificateDer<'static>>>().unwrap();
    certs[0].as_ref().to_vec()
}

fn first_der(p: &Path) -> Vec<u8> {
    CertificateDer::pem_file_iter(p).unwrap().next().unwrap().unwrap().as_ref().to_vec()
}

/// DoQ shares DoT's certificate store: a SIGHUP swaps the certificate
/// for new DoQ connections too, and one open across it keeps answering.
#[test]
fn sighup_reloads_the_doq_certificate() {
    let d = TempDir::new("doq-reload");
    let (ca, crt, key) = make_certs(d.path(), "first");
    let (_, crt2, key2) = make_certs(d.path(), "second");
    let (sc, sk) = (d.path().join("served.crt"), d.path().join("served.key"));
    std::fs::copy(&crt, &sc).unwrap();
    std::fs::copy(&key, &sk).unwrap();
    let srv = Server::start(&[
        "--listen",
        "127.0.0.1:0",
        "--threads",
        "1",
        "--listen-quic",
        "127.0.0.1:0",
        "--tls-cert",
        sc.to_str().unwrap(),
        "--tls-key",
        sk.to_str().unwrap(),
    ]);
    let addr = doq_addr(&srv);
    let cfg = client(&ca, b"doq");
    rt().block_on(async {
        let (_ep, kept) = connect(&cfg, addr, "127.0.0.1").await.unwrap();
        assert_eq!(served(&kept), first_der(&crt));
        std::fs::copy(&crt2, &sc).unwrap();
        std::fs::copy(&key2, &sk).unwrap();
        srv.signal("HUP");
        assert!(srv.wait_log("certificate reloaded", Duration::from_secs(10)), "{}", srv.log());
        // A client of its own: one that resumes the first session (its
        // ticket, from the same config) sees the first certificate again,
        // whatever the server now serves.
        let (_ep2, c) = connect(&client(&ca, b"doq"), addr, "127.0.0.1").await.unwrap();
        assert_eq!(served(&c), first_der(&crt2), "the new certificate is not served over DoQ");
        assert_eq!(ask(&kept, &query(0, "example.com.", 6, None)).await.unwrap().len(), 1);
    });
}

/// A query that stops arriving (a slowloris stream) is cancelled with
/// DOQ_REQUEST_CANCELLED after `tls.message-timeout`; the connection goes
/// on serving other streams.
#[test]
fn a_stalled_stream_is_cancelled_and_the_connection_lives_on() {
    let d = TempDir::new("doq-stall");
    let (srv, ca) = start(&d, "message-timeout = 1\n", &[]);
    let addr = doq_addr(&srv);
    rt().block_on(async {
        let (_ep, c) = connect(&client(&ca, b"doq"), addr, "127.0.0.1").await.unwrap();
        let (mut s, mut r) = c.open_bi().await.unwrap();
        s.write_all(&[0, 50, 0, 0, 1]).await.unwrap();
        let t = std::time::Instant::now();
        let end = tokio::time::timeout(Duration::from_secs(5), r.read_to_end(1024)).await.expect("not cancelled");
        match end {
            Err(quinn::ReadToEndError::Read(quinn::ReadError::Reset(code))) => {
                assert_eq!(code.into_inner(), 3, "DOQ_REQUEST_CANCELLED")
            }
            other => panic!("expected a reset stream, got {other:?}"),
        }
        assert!(t.elapsed() >= Duration::from_millis(800), "cancelled before the timeout");
        assert_eq!(ask(&c, &query(0, "example.com.", 6, None)).await.unwrap().len(), 1, "the connection lives on");
    });
    assert_eq!(metrics(&srv)["levee_quic_stream_timeouts_total"], 1.0);
}
