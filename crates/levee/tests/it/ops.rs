//! The operator surface on the real binary: `/metrics` counts a known
//! sequence of queries exactly and is valid Prometheus text (checked by a
//! strict line checker), the JSON API, reload over HTTP, JSON logs, and
//! the privilege drop (as root).

use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::time::Duration;

use levee_wire::header::rcode;
use levee_wire::rtype::t;

use crate::support::{parse, query, tcp, write_private, Server, TempDir};

/// The tests' management tokens.
pub const READ: &str = "read-token-for-the-tests-0001";
pub const WRITE: &str = "write-token-for-the-tests-0001";

/// `[management]` listening on `listen` with a read and a write token.
pub fn management_config(listen: &str) -> String {
    format!(
        "[management]\nlisten = \"{listen}\"\n[[management.token]]\nscope = \"read\"\nsecret = \"{READ}\"\n\
         [[management.token]]\nscope = \"write\"\nsecret = \"{WRITE}\"\n"
    )
}

/// The management address the server logged.
pub fn management(s: &Server) -> SocketAddr {
    let log = s.log();
    let rest = log.split("management listener on http").nth(1).expect("management listener in the log");
    let rest = rest.trim_start_matches('s').trim_start_matches("://");
    rest.split('/').next().unwrap().parse().expect("management address")
}

/// One HTTP/1.1 request without a token; returns (status, headers, body).
pub fn http(addr: SocketAddr, method: &str, path: &str) -> (u16, String, String) {
    http_with(addr, method, path, &[])
}

/// One HTTP/1.1 request with `Host: addr` and a token.
pub fn http_token(addr: SocketAddr, method: &str, path: &str, token: &str) -> (u16, String, String) {
    http_with(addr, method, path, &[("Authorization", &format!("Bearer {token}"))])
}

/// One HTTP/1.1 request with these headers (and `Host: addr` unless
/// given); returns (status, headers, body).
pub fn http_with(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)]) -> (u16, String, String) {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(3)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\n");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        head.push_str(&format!("Host: {addr}\r\n"));
    }
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    write!(s, "{head}Content-Length: 0\r\n\r\n").unwrap();
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).unwrap();
    let resp = String::from_utf8(resp).expect("UTF-8 response");
    let (head, body) = resp.split_once("\r\n\r\n").expect("a head and a body");
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let len: usize =
        head.lines().find_map(|l| l.strip_prefix("Content-Length: ")).expect("Content-Length").trim().parse().unwrap();
    assert_eq!(len, body.len(), "Content-Length matches the body");
    (status, head.to_string(), body.to_string())
}

/// One UDP exchange, sent once (a retry would count twice).
fn udp_once(addr: SocketAddr, q: &[u8]) -> Vec<u8> {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.send_to(q, addr).unwrap();
    let mut buf = [0u8; 65535];
    let (n, _) = s.recv_from(&mut buf).expect("a UDP reply");
    buf[..n].to_vec()
}

fn is_name(s: &str, colon: bool) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(ch) if ch.is_ascii_alphabetic() || ch == '_' || (colon && ch == ':'))
        && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || (colon && ch == ':'))
}

fn is_value(v: &str) -> bool {
    matches!(v, "NaN" | "+Inf" | "-Inf") || (v.parse::<f64>().is_ok() && !v.contains(['i', 'I', 'n', 'N']))
}

type Labels = Vec<(String, String)>;

/// Parses `{k="v",...}` strictly; returns the labels and the rest.
fn labels(s: &str) -> Result<(Labels, &str), String> {
    let mut out = Vec::new();
    let Some(mut rest) = s.strip_prefix('{') else { return Ok((out, s)) };
    loop {
        if let Some(r) = rest.strip_prefix('}') {
            return Ok((out, r));
        }
        let eq = rest.find('=').ok_or("label without =")?;
        let name = &rest[..eq];
        if !is_name(name, false) || name.starts_with("__") {
            return Err(format!("bad label name {name:?}"));
        }
        rest = rest[eq + 1..].strip_prefix('"').ok_or("label value not quoted")?;
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            match chars.next() {
                None => return Err("unterminated label value".into()),
                Some((i, '"')) => break i,
                Some((_, '\\')) => match chars.next() {
                    Some((_, '\\')) => value.push('\\'),
                    Some((_, '"')) => value.push('"'),
                    Some((_, 'n')) => value.push('\n'),
                    other => return Err(format!("bad escape {other:?}")),
                },
                Some((_, '\n')) => return Err("newline in label value".into()),
                Some((_, c)) => value.push(c),
            }
        };
        if out.iter().any(|(n, _)| n == name) {
            return Err(format!("label {name} twice"));
        }
        out.push((name.to_string(), value));
        rest = &rest[end + 1..];
        if let Some(r) = rest.strip_prefix(',') {
            rest = r;
        } else if !rest.starts_with('}') {
            return Err("expected , or } after a label".into());
        }
    }
}

/// A strict checker of the Prometheus text format 0.0.4 as levee writes
/// it: every line is a HELP, a TYPE or a sample; HELP and TYPE once per
/// family and before its samples; a family's samples together; no series
/// twice; counters end in `_total`; values are floats; the text ends with
/// a newline. Returns the samples as `name{k="v",...}` → value.
pub fn check_prometheus(text: &str) -> HashMap<String, f64> {
    assert!(text.ends_with('\n'), "exposition must end with a newline");
    let mut samples = HashMap::new();
    let mut types: HashMap<String, String> = HashMap::new();
    let mut helps: HashSet<String> = HashSet::new();
    let mut done: HashSet<String> = HashSet::new();
    let mut current: Option<String> = None;
    for (i, line) in text.lines().enumerate() {
        let ln = i + 1;
        let fail = |m: &str| -> ! { panic!("/metrics line {ln}: {m}: {line:?}") };
        if line.is_empty() {
            fail("empty line");
        }
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let (kw, name, arg) = (parts.next().unwrap(), parts.next().unwrap_or(""), parts.next());
            if !is_name(name, true) {
                fail("bad metric name");
            }
            if current.as_deref() != Some(name) {
                if let Some(c) = current.take() {
                    done.insert(c);
                }
                if done.contains(name) {
                    fail("family appears twice");
                }
                current = Some(name.to_string());
            }
            match kw {
                "HELP" => {
                    let Some(h) = arg.filter(|h| !h.is_empty()) else { fail("empty HELP") };
                    if h.contains('\\') && h.replace("\\\\", "").replace("\\n", "").contains('\\') {
                        fail("bad escape in HELP");
                    }
                    if !helps.insert(name.to_string()) {
                        fail("HELP twice");
                    }
                }
                "TYPE" => {
                    let ty = arg.unwrap_or("");
                    if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&ty) {
                        fail("bad TYPE");
                    }
                    if types.insert(name.to_string(), ty.to_string()).is_some() {
                        fail("TYPE twice");
                    }
                    if samples.keys().any(|k: &String| k.split('{').next() == Some(name)) {
                        fail("TYPE after samples");
                    }
                    if ty == "counter" && !name.ends_with("_total") {
                        fail("counter name without _total");
                    }
                }
                _ => fail("a comment that is neither HELP nor TYPE"),
            }
            continue;
        }
        if line.starts_with('#') {
            fail("bad comment");
        }
        let name_end = line.find(['{', ' ']).unwrap_or_else(|| fail("no value"));
        let name = &line[..name_end];
        if !is_name(name, true) {
            fail("bad metric name");
        }
        if current.as_deref() != Some(name) {
            fail("sample outside its family (no TYPE before it, or families interleaved)");
        }
        if !types.contains_key(name) || !helps.contains(name) {
            fail("sample without HELP and TYPE");
        }
        let (ls, rest) = labels(&line[name_end..]).unwrap_or_else(|e| fail(&e));
        let rest = rest.strip_prefix(' ').unwrap_or_else(|| fail("no space before the value"));
        let mut vt = rest.split(' ');
        let v = vt.next().unwrap();
        if !is_value(v) {
            fail("bad value");
        }
        if let Some(ts) = vt.next() {
            if ts.parse::<i64>().is_err() {
                fail("bad timestamp");
            }
        }
        if vt.next().is_some() {
            fail("trailing fields");
        }
        if types[name] == "counter" && v.parse::<f64>().unwrap() < 0.0 {
            fail("negative counter");
        }
        let key = if ls.is_empty() {
            name.to_string()
        } else {
            let mut ls = ls;
            ls.sort();
            format!("{name}{{{}}}", ls.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect::<Vec<_>>().join(","))
        };
        if samples.insert(key, v.parse::<f64>().unwrap()).is_some() {
            fail("series twice");
        }
    }
    samples
}

#[test]
fn line_checker_rejects_bad_expositions() {
    let good = "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1\\\"\"} 3\n";
    assert_eq!(check_prometheus(good)["a_total{x=\"1\"\"}"], 3.0);
    for bad in [
        "a_total 1\n",                                                               // no TYPE
        "# HELP a_total A.\n# TYPE a_total counter\na_total 1",                      // no final newline
        "# HELP a A.\n# TYPE a counter\na 1\n",                                      // counter without _total
        "# HELP a A.\n# TYPE a gauge\na{x=1} 1\n",                                   // unquoted label
        "# HELP a A.\n# TYPE a gauge\na{x=\"1\"} one\n",                             // bad value
        "# HELP a A.\n# TYPE a gauge\na 1\na 2\n",                                   // series twice
        "# HELP a A.\n# TYPE a gauge\na 1\n# HELP b B.\n# TYPE b gauge\nb 1\na 3\n", // interleaved
        "# HELP a A.\n# TYPE a gauge\na{x=\"\\q\"} 1\n",                             // bad escape
        "# HELP a A.\n# TYPE a gauge\n\na 1\n",                                      // empty line
    ] {
        assert!(std::panic::catch_unwind(|| check_prometheus(bad)).is_err(), "accepted {bad:?}");
    }
}

#[test]
fn metrics_count_a_known_sequence_of_queries() {
    // Fixed ports of this module's range (5910-5919): with port 0 the UDP
    // sockets pick a port the TCP listener may find taken.
    let dir = TempDir::new("metrics");
    let cfg = dir.path().join("levee.toml");
    let zones = crate::support::repo().join("examples/zones");
    write_private(
        &cfg,
        &format!(
            "[server]\nlisten = [\"127.0.0.1:5910\"]\nthreads = 2\nzones-dir = \"{}\"\n{}",
            zones.display(),
            management_config("127.0.0.1:5911")
        ),
    );
    let s = Server::start(&["--config", cfg.to_str().unwrap()]);
    let m = management(&s);
    let api = |path: &str| http_token(m, "GET", path, READ);
    let dns = s.addr;
    let rc = |msg: &[u8]| parse(msg).rcode();
    // UDP: 3 answers, 2 NXDOMAIN, 1 NODATA, 1 REFUSED (no zone), 1 referral.
    for i in 0..3 {
        assert_eq!(rc(&udp_once(dns, &query(i, "www.example.com.", t::A, Some(false)))), rcode::NOERROR);
    }
    for i in 0..2 {
        assert_eq!(rc(&udp_once(dns, &query(10 + i, "nope.example.com.", t::A, None))), rcode::NXDOMAIN);
    }
    let nodata = parse(&udp_once(dns, &query(20, "www.example.com.", t::MX, None)));
    assert_eq!((nodata.rcode(), nodata.answer.len()), (rcode::NOERROR, 0));
    assert_eq!(rc(&udp_once(dns, &query(21, "www.example.org.", t::A, None))), rcode::REFUSED);
    assert_eq!(rc(&udp_once(dns, &query(22, "x.sub.example.com.", t::AAAA, None))), rcode::NOERROR);
    // Garbage: a datagram shorter than a header is dropped.
    UdpSocket::bind("127.0.0.1:0").unwrap().send_to(&[1, 2, 3], dns).unwrap();
    // TCP: 1 answer (MX), 1 NXDOMAIN in example.net., 1 REFUSED.
    let r = tcp(dns, &query(30, "example.com.", t::MX, None), 1);
    assert_eq!(rc(&r[0]), rcode::NOERROR);
    let r = tcp(dns, &query(31, "nope.example.net.", t::AAAA, None), 1);
    assert_eq!(rc(&r[0]), rcode::NXDOMAIN);
    let r = tcp(dns, &query(32, "example.org.", t::TXT, None), 1);
    assert_eq!(rc(&r[0]), rcode::REFUSED);

    // The short datagram has no reply: wait until a worker has counted it.
    let mut body = String::new();
    for _ in 0..100 {
        let (st, head, b) = http(m, "GET", "/metrics");
        assert_eq!(st, 200);
        assert!(head.contains("Content-Type: text/plain; version=0.0.4"), "{head}");
        body = b;
        if body.contains("levee_dropped_total{reason=\"short\"} 1") {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let v = check_prometheus(&body);
    let get = |k: &str| -> f64 { *v.get(k).unwrap_or_else(|| panic!("{k} missing from /metrics:\n{body}")) };
    let expect = [
        ("levee_queries_total{transport=\"udp\"}", 8.0),
        ("levee_queries_total{transport=\"tcp\"}", 3.0),
        ("levee_responses_total{kind=\"answer\",transport=\"udp\"}", 3.0),
        ("levee_responses_total{kind=\"nxdomain\",transport=\"udp\"}", 2.0),
        ("levee_responses_total{kind=\"nodata\",transport=\"udp\"}", 1.0),
        ("levee_responses_total{kind=\"referral\",transport=\"udp\"}", 1.0),
        ("levee_responses_total{kind=\"error\",transport=\"udp\"}", 1.0),
        ("levee_responses_total{kind=\"answer\",transport=\"tcp\"}", 1.0),
        ("levee_responses_total{kind=\"nxdomain\",transport=\"tcp\"}", 1.0),
        ("levee_responses_total{kind=\"error\",transport=\"tcp\"}", 1.0),
        ("levee_responses_total{kind=\"nodata\",transport=\"tcp\"}", 0.0),
        ("levee_responses_by_rcode_total{rcode=\"NOERROR\",transport=\"udp\"}", 5.0),
        ("levee_responses_by_rcode_total{rcode=\"NXDOMAIN\",transport=\"udp\"}", 2.0),
        ("levee_responses_by_rcode_total{rcode=\"REFUSED\",transport=\"udp\"}", 1.0),
        ("levee_responses_by_rcode_total{rcode=\"REFUSED\",transport=\"tcp\"}", 1.0),
        ("levee_queries_by_type_total{qtype=\"A\"}", 6.0),
        ("levee_queries_by_type_total{qtype=\"MX\"}", 2.0),
        ("levee_queries_by_type_total{qtype=\"AAAA\"}", 2.0),
        ("levee_queries_by_type_total{qtype=\"TXT\"}", 1.0),
        ("levee_queries_by_type_total{qtype=\"other\"}", 0.0),
        ("levee_zone_responses_total{zone=\"example.com.\"}", 8.0),
        ("levee_zone_nxdomain_total{zone=\"example.com.\"}", 2.0),
        ("levee_zone_responses_total{zone=\"example.net.\"}", 1.0),
        ("levee_zone_nxdomain_total{zone=\"example.net.\"}", 1.0),
        ("levee_zone_serial{zone=\"example.com.\"}", 2026112501.0),
        ("levee_zone_serial{zone=\"example.net.\"}", 1.0),
        ("levee_zones", 2.0),
        ("levee_udp_sent_total", 8.0),
        ("levee_dropped_total{reason=\"short\"}", 1.0),
        ("levee_dropped_total{reason=\"rrl\"}", 0.0),
        ("levee_slipped_total{reason=\"rrl\"}", 0.0),
        ("levee_tcp_connections_accepted_total", 3.0),
        ("levee_reloads_total", 0.0),
    ];
    for (k, want) in expect {
        assert_eq!(get(k), want, "{k}");
    }
    // Per-worker datagrams: two workers, nine datagrams between them.
    let workers: f64 = (0..2).map(|i| get(&format!("levee_worker_packets_total{{worker=\"{i}\"}}"))).sum();
    assert_eq!(workers, 9.0);
    assert!(get("levee_zone_loaded_timestamp_seconds{zone=\"example.com.\"}") > 1.7e9);

    // The JSON API agrees.
    let (st, _, body) = api("/api/status");
    assert_eq!(st, 200);
    let j: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(j["queries"]["udp"], 8);
    assert_eq!(j["zones"], 2);
    let (st, _, body) = api("/api/zones?zone=example.net.");
    assert_eq!(st, 200);
    let j: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(j["zones"][0]["serial"], 1);
    assert_eq!(j["zones"][0]["nxdomain"], 1);
    assert_eq!(api("/api/zones?zone=example.org.").0, 404);
    let (st, _, body) = api("/api/live");
    assert_eq!(st, 200);
    let j: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(j["responses"]["nxdomain"], 3);
    assert!(j["time"].as_f64().unwrap() > 1.7e9);
    let (st, head, page) = http(m, "GET", "/");
    assert_eq!(st, 200);
    assert!(head.contains("text/html"));
    assert!(page.contains("/api/live") && !page.contains("http://") && !page.contains("https://"), "no external asset");
    assert_eq!(api("/nothing").0, 404);
    assert_eq!(api("/api/reload").0, 405);

    // Reload over HTTP, as SIGHUP: counted, zones reloaded.
    let (st, _, body) = http_token(m, "POST", "/api/reload", WRITE);
    assert_eq!(st, 200, "{body}");
    let j: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!((j["zones"].as_u64(), j["failed"].as_u64()), (Some(2), Some(0)));
    let (st, _, body) = http_token(m, "POST", "/api/reload?zone=example.net.", WRITE);
    assert_eq!(st, 200, "{body}");
    assert_eq!(http_token(m, "POST", "/api/reload?zone=example.org.", WRITE).0, 404);
    let v = check_prometheus(&http(m, "GET", "/metrics").2);
    assert_eq!(v["levee_reloads_total"], 2.0);
    // Counters survive the reloads and stay with their zones.
    assert_eq!(v["levee_zone_nxdomain_total{zone=\"example.net.\"}"], 1.0);
    assert_eq!(v["levee_zone_responses_total{zone=\"example.com.\"}"], 8.0);
    assert_eq!(rc(&udp_once(dns, &query(40, "www.example.com.", t::A, None))), rcode::NOERROR);
}

#[test]
fn json_logs_on_request() {
    let dir = TempDir::new("jsonlog");
    let cfg = dir.path().join("levee.toml");
    std::fs::write(
        &cfg,
        format!(
            "[server]\nlisten = [\"127.0.0.1:5912\"]\n[[zone]]\nname = \"example.com.\"\nfile = \"{}\"\n[log]\nformat = \"json\"\n",
            crate::support::repo().join("examples/zones/example.com.zone").display()
        ),
    )
    .unwrap();
    let mut child = crate::support::levee()
        .args(["serve", "--config", cfg.to_str().unwrap()])
        .env("LEVEE_LOG", "info")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let err = child.stderr.take().unwrap();
    // Read until the "ready" line (at most 20 s), then stop the server and
    // read the rest.
    let mut text = String::new();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(err));
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    for l in lines.by_ref() {
        let l = l.unwrap();
        text.push_str(&l);
        text.push('\n');
        if (l.contains("\"message\":\"levee ") && l.contains(" ready\"")) || std::time::Instant::now() > deadline {
            break;
        }
    }
    let _ = std::process::Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
    for l in lines {
        text.push_str(&l.unwrap());
        text.push('\n');
    }
    let _ = child.wait();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() >= 4, "expected at least 4 log lines, got:\n{text}");
    for l in &lines {
        let j: serde_json::Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
        assert!(j["level"].is_string() && j["timestamp"].is_string() && j["fields"]["message"].is_string(), "{l}");
    }
    assert!(text.contains("\"zone\":\"example.com.\""), "structured fields: {text}");
    assert!(text.contains("stopped"), "{text}");
}

/// Started as root with `[server] user`, levee binds port 53 and then runs
/// without root: every thread's real, effective, saved and filesystem
/// ids are the user's, and no capability is left. Only meaningful as
/// root (CI runs as root); as another user it fails, unless
/// LEVEE_SKIP_ROOT_TESTS=1 says to skip it knowingly.
#[test]
fn privileges_are_dropped_after_binding_port_53() {
    if levee_io::privs::euid() != 0 {
        if std::env::var_os("LEVEE_SKIP_ROOT_TESTS").is_some() {
            eprintln!("SKIPPED (LEVEE_SKIP_ROOT_TESTS): privilege drop needs root");
            return;
        }
        panic!("this test needs root (CI runs as root); set LEVEE_SKIP_ROOT_TESTS=1 to skip it knowingly");
    }
    let dir = TempDir::new("privdrop");
    let zone = crate::support::repo().join("examples/zones/example.com.zone");
    let cfg = dir.path().join("levee.toml");
    // 127.0.0.59: a loopback address nothing else on this machine uses.
    std::fs::write(
        &cfg,
        format!(
            "[server]\nlisten = [\"127.0.0.59:53\"]\nthreads = 2\nuser = \"nobody\"\n[[zone]]\nname = \"example.com.\"\nfile = \"{}\"\n",
            zone.display()
        ),
    )
    .unwrap();
    let s = Server::start(&["--config", cfg.to_str().unwrap()]);
    assert_eq!(s.addr, "127.0.0.59:53".parse().unwrap());
    assert!(s.wait_log("dropped root privileges", Duration::from_secs(10)), "{}", s.log());
    let r = parse(&udp_once(s.addr, &query(1, "www.example.com.", t::A, None)));
    assert_eq!(r.rcode(), rcode::NOERROR);
    let nobody = levee_io::privs::resolve("nobody", None).unwrap();
    let tasks = std::fs::read_dir(format!("/proc/{}/task", s.pid())).unwrap();
    let mut n = 0;
    for task in tasks {
        let status = std::fs::read_to_string(task.unwrap().path().join("status")).unwrap();
        let field = |k: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(k))
                .unwrap()
                .split_whitespace()
                .map(String::from)
                .collect::<Vec<_>>()
        };
        assert_eq!(field("Uid:"), vec![nobody.uid.to_string(); 4], "{status}");
        assert_eq!(field("Gid:"), vec![nobody.gid.to_string(); 4], "{status}");
        assert_eq!(field("CapEff:"), vec!["0000000000000000"], "{status}");
        n += 1;
    }
    assert!(n >= 4, "UDP workers, TCP and the runtime: {n} threads");
}

/// As the packaged unit starts it: as an unprivileged user holding only
/// the ambient CAP_NET_BIND_SERVICE (here given by `setpriv`, as systemd's
/// `AmbientCapabilities=` does), levee binds port 53 and then clears every
/// capability set in every thread. Root only (it changes user), as above.
#[test]
fn ambient_capabilities_are_cleared_after_binding_port_53() {
    if levee_io::privs::euid() != 0 {
        if std::env::var_os("LEVEE_SKIP_ROOT_TESTS").is_some() {
            eprintln!("SKIPPED (LEVEE_SKIP_ROOT_TESTS): setting capabilities needs root");
            return;
        }
        panic!("this test needs root (CI runs as root); set LEVEE_SKIP_ROOT_TESTS=1 to skip it knowingly");
    }
    let zone = crate::support::repo().join("examples/zones/example.com.zone");
    let wrapper = [
        "setpriv",
        "--reuid=nobody",
        "--regid=nogroup",
        "--clear-groups",
        "--inh-caps=+net_bind_service",
        "--ambient-caps=+net_bind_service",
    ];
    // 127.0.0.58: a loopback address nothing else on this machine uses.
    let s = Server::start_wrapped(
        &wrapper,
        &["--listen", "127.0.0.58:53", "--threads", "2", "--zones-dir", zone.parent().unwrap().to_str().unwrap()],
    );
    assert_eq!(s.addr, "127.0.0.58:53".parse().unwrap());
    assert!(s.wait_log("capabilities dropped after binding", Duration::from_secs(10)), "{}", s.log());
    let r = parse(&udp_once(s.addr, &query(1, "www.example.com.", t::A, None)));
    assert_eq!(r.rcode(), rcode::NOERROR);
    let mut n = 0;
    for task in std::fs::read_dir(format!("/proc/{}/task", s.pid())).unwrap() {
        let status = std::fs::read_to_string(task.unwrap().path().join("status")).unwrap();
        for k in ["CapInh:", "CapPrm:", "CapEff:", "CapAmb:"] {
            let v = status.lines().find_map(|l| l.strip_prefix(k)).unwrap().trim();
            assert_eq!(v, "0000000000000000", "{k} {status}");
        }
        n += 1;
    }
    assert!(n >= 4, "UDP workers, TCP and the runtime: {n} threads");
}

/// Under systemd (`Type=notify`) levee says READY=1 once it serves,
/// RELOADING=1 then READY=1 around a SIGHUP reload, STOPPING=1 on SIGTERM.
#[test]
fn sd_notify_readiness_reload_and_stop() {
    use std::os::unix::net::UnixDatagram;
    let dir = TempDir::new("notify");
    let sock_path = dir.path().join("notify.sock");
    let rx = UnixDatagram::bind(&sock_path).unwrap();
    rx.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut child = crate::support::levee()
        .args(["serve", "--listen", "127.0.0.1:5913"])
        .env("NOTIFY_SOCKET", &sock_path)
        .env("LEVEE_LOG", "warn")
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let next = || {
        let mut buf = [0u8; 256];
        let n = rx.recv(&mut buf).expect("a notification within 10 s");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    let kill = |sig: &str| {
        assert!(std::process::Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(child.id().to_string())
            .status()
            .unwrap()
            .success())
    };
    assert_eq!(next(), "READY=1");
    kill("HUP");
    assert_eq!(next(), "RELOADING=1");
    assert_eq!(next(), "READY=1");
    kill("TERM");
    assert_eq!(next(), "STOPPING=1");
    assert!(child.wait().unwrap().success());
}
