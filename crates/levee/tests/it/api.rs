//! The REST API (`/api/v1/`, issue 19) on the real daemon over HTTP:
//! every endpoint; bad input answered 4xx with JSON naming the field and
//! nothing written (checked by reading the zone and its serial back, and
//! by DNS); missing, unknown, read-only and wrong-zone tokens; writes to a
//! zone that is not dynamic (409); `levee ctl rrset-*`; API writes kept
//! across `kill -9` and a restart; and a write seen on a levee secondary
//! within one second.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use levee_wire::header::rcode;
use levee_wire::rtype::t;
use serde_json::{json, Value};

use crate::ops::{management, management_config, READ, WRITE};
use crate::support::{parse, query, udp, write_private, Server, TempDir};

/// A write token limited to d.test., and one limited to s.test.
const D_TOKEN: &str = "zone-token-d-test-000001";
const S_TOKEN: &str = "zone-token-s-test-000001";
const SECRET: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

const D_ZONE: &str = "$TTL 300\n@ SOA ns1 hostmaster 10 3600 600 86400 60\n@ NS ns1\nns1 A 127.0.0.1\n\
                      www A 192.0.2.1\nalias CNAME www\n";

/// A server with d.test. (`api = "write"`) and s.test. (static), the
/// tests' read and write tokens and two zone-limited ones; storage in
/// `dir`. `extra` goes into d.test.'s `[[zone]]`.
fn conf(dir: &TempDir, extra: &str) -> String {
    std::fs::write(dir.path().join("d.test.zone"), D_ZONE).unwrap();
    std::fs::write(dir.path().join("s.test.zone"), "$TTL 300\n@ SOA ns1 h 1 1 1 1 1\n@ NS ns1\nns1 A 127.0.0.1\n")
        .unwrap();
    static N: AtomicU32 = AtomicU32::new(0);
    let sock = format!("/tmp/levee-api-{}-{}.sock", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
    let p = dir.path().join("levee.toml");
    write_private(
        &p,
        &format!(
            "version = 1\n[server]\nthreads = 1\nstorage-dir = \"store\"\ncontrol-socket = \"{sock}\"\n\
             [rate-limit]\nenabled = false\n{}\
             [[management.token]]\nscope = \"write\"\nzones = [\"d.test\"]\nsecret = \"{D_TOKEN}\"\n\
             [[management.token]]\nscope = \"write\"\nzones = [\"s.test.\"]\nsecret = \"{S_TOKEN}\"\n\
             [[key]]\nname = \"k1\"\nalgorithm = \"hmac-sha256\"\nsecret = \"{SECRET}\"\n\
             [[zone]]\nname = \"d.test.\"\nfile = \"d.test.zone\"\napi = \"write\"\n\
             allow-transfer = [\"127.0.0.1\"]\n{extra}\n\
             [[zone]]\nname = \"s.test.\"\nfile = \"s.test.zone\"\n",
            management_config("127.0.0.1:0")
        ),
    );
    p.to_str().unwrap().to_string()
}

/// One request: status and JSON body. `length` overrides the
/// Content-Length sent (the body is then not sent).
fn call_with(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &[u8],
    length: Option<usize>,
) -> (u16, Value) {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(3)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let len = length.unwrap_or(body.len());
    write!(s, "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Length: {len}\r\n\r\n").unwrap();
    if length.is_none() {
        s.write_all(body).unwrap();
    }
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).unwrap();
    let resp = String::from_utf8(resp).unwrap();
    let (head, body) = resp.split_once("\r\n\r\n").expect("a head and a body");
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, serde_json::from_str(body).unwrap_or_else(|e| panic!("{method} {path}: not JSON ({e}): {body}")))
}

fn call(addr: SocketAddr, method: &str, path: &str, token: Option<&str>, body: &str) -> (u16, Value) {
    call_with(addr, method, path, token, body.as_bytes(), None)
}

fn get(addr: SocketAddr, path: &str) -> Value {
    let (st, v) = call(addr, "GET", path, Some(READ), "");
    assert_eq!(st, 200, "GET {path}: {v}");
    v
}

fn patch(addr: SocketAddr, token: &str, body: Value) -> (u16, Value) {
    call(addr, "PATCH", "/api/v1/zones/d.test./rrsets", Some(token), &body.to_string())
}

fn a_of(dns: SocketAddr, owner: &str) -> Vec<Vec<u8>> {
    let r = parse(&udp(dns, &query(3, owner, t::A, None)).unwrap());
    r.answer.into_iter().filter(|r| r.rtype == t::A).map(|r| r.rdata).collect()
}

fn serial(dns: SocketAddr, zone: &str) -> Option<u32> {
    let r = parse(&udp(dns, &query(4, zone, t::SOA, None))?);
    let rd = &r.answer.first()?.rdata;
    Some(u32::from_be_bytes(rd[rd.len() - 20..rd.len() - 16].try_into().unwrap()))
}

fn ctl(config: &str, args: &[&str]) -> String {
    let o = crate::support::levee().arg("ctl").arg("-c").arg(config).args(args).output().unwrap();
    String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
}

/// What the zone is, as the API and DNS show it (compared before and
/// after a refused write).
fn state(api: SocketAddr, dns: SocketAddr) -> (Value, Option<u32>, Vec<Vec<u8>>) {
    (get(api, "/api/v1/zones/d.test./rrsets"), serial(dns, "d.test."), a_of(dns, "www.d.test."))
}

fn rrset(name: &str, ty: &str, ttl: u32, records: &[&str]) -> Value {
    json!({ "name": name, "type": ty, "changetype": "replace", "ttl": ttl, "records": records })
}

#[test]
fn every_endpoint_reads_and_writes_as_documented() {
    let dir = TempDir::new("api-all");
    let cfg = conf(&dir, "");
    let s = Server::start(&["-c", &cfg, "--listen", "127.0.0.1:0"]);
    let api = management(&s);
    // The zones.
    let zones = get(api, "/api/v1/zones");
    let list = zones["zones"].as_array().unwrap();
    assert_eq!(list.len(), 2, "{zones}");
    let d = list.iter().find(|z| z["name"] == "d.test.").unwrap();
    assert_eq!(
        (d["kind"].as_str(), d["serial"].as_u64(), d["dynamic"].as_bool()),
        (Some("primary"), Some(10), Some(true))
    );
    assert_eq!(d["signed"], false);
    let st = list.iter().find(|z| z["name"] == "s.test.").unwrap();
    assert_eq!(st["dynamic"], false);
    assert_eq!(get(api, "/api/v1/zones/d.test")["serial"], 10, "with or without the final dot");
    let www = get(api, "/api/v1/zones/d.test./rrsets?name=www&type=A");
    assert_eq!(www["rrsets"], json!([{ "name": "www.d.test.", "type": "A", "ttl": 300, "records": ["192.0.2.1"] }]));
    assert_eq!(get(api, "/api/v1/zones/d.test./rrsets")["rrsets"].as_array().unwrap().len(), 5);
    // An atomic PATCH: a replacement, a new RRset, a deletion.
    let (st, v) = patch(
        api,
        WRITE,
        json!({ "serial": 10, "rrsets": [
            rrset("www", "A", 60, &["192.0.2.10", "192.0.2.11"]),
            rrset("d.test.", "MX", 300, &["10 mail"]),
            { "name": "alias", "type": "CNAME", "changetype": "delete" },
        ]}),
    );
    assert_eq!((st, &v), (200, &json!({ "zone": "d.test.", "serial": 11, "changed": true })), "{}", s.log());
    assert_eq!(a_of(s.addr, "www.d.test."), vec![vec![192, 0, 2, 10], vec![192, 0, 2, 11]]);
    assert_eq!(serial(s.addr, "d.test."), Some(11));
    let mx = get(api, "/api/v1/zones/d.test./rrsets?name=%40&type=MX");
    assert_eq!(mx["rrsets"][0]["records"], json!(["10 mail.d.test."]));
    // The same again: nothing changes, the serial stays.
    let (st, v) = patch(api, WRITE, json!({ "rrsets": [rrset("www", "A", 60, &["192.0.2.11", "192.0.2.10"])] }));
    assert_eq!((st, v["serial"].as_u64(), v["changed"].as_bool()), (200, Some(11), Some(false)));
    // The whole zone.
    let text = "$TTL 300\n@ SOA ns1 hostmaster 5 3600 600 86400 60\n@ NS ns1\nns1 A 127.0.0.1\nnew A 192.0.2.99\n";
    let (st, v) = call(api, "PUT", "/api/v1/zones/d.test.", Some(WRITE), text);
    assert_eq!((st, v["serial"].as_u64()), (200, Some(12)), "a lower serial in the text: the served one + 1: {v}");
    assert_eq!(a_of(s.addr, "new.d.test."), vec![vec![192, 0, 2, 99]]);
    assert!(a_of(s.addr, "www.d.test.").is_empty(), "replaced, not merged");
    let (st, v) = call(api, "PUT", "/api/v1/zones/d.test.", Some(WRITE), &text.replace(" 5 ", " 100 "));
    assert_eq!((st, v["serial"].as_u64()), (200, Some(100)), "a higher one is kept");
    // TSIG keys: names and algorithms, never the secret.
    let (st, v) = call(api, "GET", "/api/v1/tsig-keys", Some(READ), "");
    assert_eq!((st, &v), (200, &json!({ "keys": [{ "name": "k1.", "algorithm": "hmac-sha256" }] })));
    assert!(!v.to_string().contains(SECRET));
    // The OpenAPI document (its agreement with the router is a unit test).
    let doc = get(api, "/api/v1/openapi.json");
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert!(doc["paths"]["/zones/{zone}/rrsets"]["patch"].is_object());
    // levee ctl: the same operations.
    let out = ctl(&cfg, &["rrset-set", "d.test.", "txt", "TXT", "120", "\"hello world\"", "\"two\""]);
    assert!(out.starts_with("serial 101 changed true"), "{out}");
    let out = ctl(&cfg, &["rrset-get", "d.test.", "txt"]);
    assert!(out.contains("\"\\\"hello world\\\"\""), "{out}");
    let out = ctl(&cfg, &["rrset-delete", "d.test.", "new", "A"]);
    assert!(out.starts_with("serial 102"), "{out}");
    assert!(a_of(s.addr, "new.d.test.").is_empty());
    let out = ctl(&cfg, &["rrset-set", "d.test.", "x", "A", "60", "300.0.0.1"]);
    assert!(out.contains("records[0]:"), "{out}");
    let out = ctl(&cfg, &["rrset-set", "s.test.", "x", "A", "60", "192.0.2.1"]);
    assert!(out.contains("not dynamic"), "{out}");
    // Not granted to RFC 2136: api = "write" is not allow-update.
    let mut m = vec![0, 9, 0x28, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    m.extend_from_slice(&levee_wire::name::from_text("d.test.", None).unwrap());
    m.extend_from_slice(&[0, 6, 0, 1]);
    let r = udp(s.addr, &m).expect("a reply");
    assert_eq!(u16::from(r[3] & 0x0f), rcode::REFUSED);
}

#[test]
fn bad_input_names_the_field_and_changes_nothing() {
    let dir = TempDir::new("api-bad");
    let cfg = conf(&dir, "");
    let s = Server::start(&["-c", &cfg, "--listen", "127.0.0.1:0"]);
    let api = management(&s);
    let before = state(api, s.addr);
    assert_eq!(before.1, Some(10));
    let ok = rrset("www", "A", 60, &["192.0.2.50"]);
    let cases: Vec<(Value, u16, &str)> = vec![
        (json!({ "rrsets": [ok, rrset("x", "A", 60, &["300.1.2.3"])] }), 400, "rrsets[1].records[0]"),
        (json!({ "rrsets": [ok, rrset("x", "A", 2147483648, &["192.0.2.1"])] }), 400, "rrsets[1].ttl"),
        (json!({ "rrsets": [ok, rrset("x", "BOGUS", 60, &["192.0.2.1"])] }), 400, "rrsets[1].type"),
        (json!({ "rrsets": [ok, rrset("www.elsewhere.", "A", 60, &["192.0.2.1"])] }), 400, "rrsets[1].name"),
        (json!({ "rrsets": [ok, rrset("alias", "A", 60, &["192.0.2.1"])] }), 400, "rrsets[1].type"),
        (json!({ "rrsets": [ok, { "name": "@", "type": "SOA", "changetype": "delete" }] }), 400, "rrsets[1].type"),
        (json!({ "rrsets": [ok, { "name": "@", "type": "NS", "changetype": "delete" }] }), 400, "rrsets[1].type"),
        (json!({ "rrsets": [ok, rrset("x", "A", 60, &[])] }), 400, "rrsets[1].records"),
        (json!({ "rrsets": [ok], "serial": 9 }), 412, "serial"),
        (json!({ "rrsets": [ok], "bogus": 1 }), 400, "bogus"),
        (json!({ "rrsets": vec![ok.clone(); 1001] }), 400, "rrsets"),
        (json!({ "rrsets": [rrset("x", "A", 60, &vec!["192.0.2.1"; 1001])] }), 400, "rrsets[0].records"),
    ];
    for (body, status, field) in cases {
        let (st, v) = patch(api, WRITE, body.clone());
        assert_eq!((st, v["field"].as_str()), (status, Some(field)), "{v} for {body:.200}");
        assert!(v["error"].as_str().is_some_and(|e| !e.is_empty()));
        assert_eq!(state(api, s.addr), before, "nothing written by {body:.200}");
    }
    // Not JSON; too large (the body is refused from its length).
    let (st, v) = call(api, "PATCH", "/api/v1/zones/d.test./rrsets", Some(WRITE), "{\"rrsets\": [");
    assert_eq!((st, v["field"].as_str()), (400, Some("body")));
    let (st, v) = call_with(api, "PATCH", "/api/v1/zones/d.test./rrsets", Some(WRITE), b"", Some(5 << 20));
    assert_eq!((st, v["field"].as_str()), (413, Some("body")));
    // A broken zone text: the body's line.
    let text = "$TTL 300\n@ SOA ns1 h 50 1 1 1 1\n@ NS ns1\nns1 A 127.0.0.1\nbad A 192.0.2\n";
    let (st, v) = call(api, "PUT", "/api/v1/zones/d.test.", Some(WRITE), text);
    assert_eq!((st, v["field"].as_str(), v["line"].as_u64()), (400, Some("body"), Some(5)), "{v}");
    assert!(v["error"].as_str().unwrap().starts_with("body:5:"), "{v}");
    let (st, v) = call(api, "PUT", "/api/v1/zones/d.test.", Some(WRITE), "$INCLUDE /etc/passwd\n");
    assert_eq!((st, v["field"].as_str()), (400, Some("body")), "{v}");
    let (st, v) = call(api, "PUT", "/api/v1/zones/d.test.?serial=3", Some(WRITE), D_ZONE);
    assert_eq!((st, v["field"].as_str()), (412, Some("serial")), "{v}");
    // A zone that is not dynamic; one not served; a bad zone name.
    let (st, v) =
        call(api, "PATCH", "/api/v1/zones/s.test./rrsets", Some(WRITE), &json!({ "rrsets": [ok] }).to_string());
    assert_eq!((st, v["field"].as_str()), (409, Some("zone")), "{v}");
    assert!(v["error"].as_str().unwrap().contains("api = \"write\""), "{v}");
    let (st, _) = call(api, "PUT", "/api/v1/zones/s.test.", Some(WRITE), "$TTL 1\n@ SOA a b 9 1 1 1 1\n@ NS a\n");
    assert_eq!(st, 409);
    assert_eq!(serial(s.addr, "s.test."), Some(1));
    assert_eq!(call(api, "GET", "/api/v1/zones/none.test.", Some(READ), "").0, 404);
    assert_eq!(call(api, "GET", "/api/v1/zones/a..b", Some(READ), "").1["field"], "zone");
    assert_eq!(call(api, "DELETE", "/api/v1/zones/d.test.", Some(WRITE), "").0, 405);
    assert_eq!(call(api, "GET", "/api/v1/zones/d.test./rrsets?type=NOPE", Some(READ), "").1["field"], "type");
    assert_eq!(state(api, s.addr), before, "nothing written at all");
    assert!(!s.log().contains(WRITE), "tokens are never logged");
}

#[test]
fn tokens_are_checked_by_scope_and_zone() {
    let dir = TempDir::new("api-tok");
    let cfg = conf(&dir, "");
    let s = Server::start(&["-c", &cfg, "--listen", "127.0.0.1:0"]);
    let api = management(&s);
    let body = json!({ "rrsets": [rrset("www", "A", 60, &["192.0.2.77"])] }).to_string();
    let path = "/api/v1/zones/d.test./rrsets";
    // Missing, unknown: 401; read-only: 403; nothing written.
    assert_eq!(call(api, "GET", "/api/v1/zones", None, "").0, 401);
    assert_eq!(call(api, "GET", "/api/v1/zones", Some("not-a-token-at-all-000"), "").0, 401);
    assert_eq!(call(api, "PATCH", path, None, &body).0, 401);
    assert_eq!(call(api, "PATCH", path, Some("not-a-token-at-all-000"), &body).0, 401);
    assert_eq!(call(api, "PATCH", path, Some(READ), &body).0, 403);
    assert_eq!(call(api, "PUT", "/api/v1/zones/d.test.", Some(READ), D_ZONE).0, 403);
    // The other zone's token: 403 on this zone, for reads and writes.
    assert_eq!(call(api, "PATCH", path, Some(S_TOKEN), &body).0, 403);
    assert_eq!(call(api, "GET", "/api/v1/zones/d.test.", Some(S_TOKEN), "").0, 403);
    assert_eq!(call(api, "GET", "/api/v1/zones/none.test.", Some(S_TOKEN), "").0, 403, "no probing");
    assert!(a_of(s.addr, "www.d.test.") == vec![vec![192, 0, 2, 1]]);
    // A zone token sees and writes only its zone, and nothing else.
    let (st, v) = call(api, "GET", "/api/v1/zones", Some(D_TOKEN), "");
    assert_eq!((st, v["zones"].as_array().map(Vec::len)), (200, Some(1)));
    assert_eq!(v["zones"][0]["name"], "d.test.");
    let (st, v) = call(api, "PATCH", path, Some(D_TOKEN), &body);
    assert_eq!((st, v["serial"].as_u64()), (200, Some(11)), "{v}");
    assert_eq!(a_of(s.addr, "www.d.test."), vec![vec![192, 0, 2, 77]]);
    assert_eq!(call(api, "GET", "/api/v1/tsig-keys", Some(D_TOKEN), "").0, 403);
    assert_eq!(call(api, "GET", "/api/status", Some(D_TOKEN), "").0, 403);
    assert_eq!(call(api, "POST", "/api/reload", Some(D_TOKEN), "").0, 403);
    // The Host check applies to the API too.
    let mut c = TcpStream::connect(api).unwrap();
    write!(c, "GET /api/v1/zones HTTP/1.1\r\nHost: evil.example\r\nAuthorization: Bearer {WRITE}\r\n\r\n").unwrap();
    let mut r = String::new();
    c.read_to_string(&mut r).unwrap();
    assert!(r.starts_with("HTTP/1.1 421"), "{r}");
    let log = s.log();
    assert!(![WRITE, READ, D_TOKEN, S_TOKEN].iter().any(|t| log.contains(t)), "tokens are never logged");
}

#[test]
fn api_writes_survive_kill_9_and_a_restart() {
    let dir = TempDir::new("api-kill");
    let cfg = conf(&dir, "");
    let s = Server::start(&["-c", &cfg, "--listen", "127.0.0.1:0"]);
    let (api, addr) = (management(&s), s.addr);
    for i in 0..20u8 {
        let (st, v) =
            patch(api, WRITE, json!({ "rrsets": [rrset(&format!("h{i}"), "A", 60, &[&format!("192.0.2.{i}")])] }));
        assert_eq!((st, v["serial"].as_u64()), (200, Some(11 + u64::from(i))), "{v}");
    }
    let text = format!("{D_ZONE}put A 198.51.100.1\n");
    assert_eq!(call(api, "PUT", "/api/v1/zones/d.test.", Some(WRITE), &text).1["serial"], 31);
    // Acknowledged, so durable: killed without a chance to write anything.
    let killed = std::process::Command::new("kill").arg("-KILL").arg(s.pid().to_string()).status().unwrap();
    assert!(killed.success());
    drop(s);
    let s = Server::start(&["-c", &cfg, "--listen", &addr.to_string()]);
    assert!(s.log().contains("update log replayed"), "{}", s.log());
    assert_eq!(serial(s.addr, "d.test."), Some(31));
    assert_eq!(a_of(s.addr, "put.d.test."), vec![vec![198, 51, 100, 1]]);
    assert!(a_of(s.addr, "h3.d.test.").is_empty(), "the PUT replaced the PATCHed records");
    // Writes go on after the restart.
    let (st, v) = patch(management(&s), WRITE, json!({ "rrsets": [rrset("h3", "A", 60, &["192.0.2.3"])] }));
    assert_eq!((st, v["serial"].as_u64()), (200, Some(32)));
    assert_eq!(a_of(s.addr, "h3.d.test."), vec![vec![192, 0, 2, 3]]);
}

#[test]
fn an_api_write_reaches_a_levee_secondary_within_one_second() {
    let pd = TempDir::new("api-p");
    let pconf = conf(&pd, "");
    let p = Server::start(&["-c", &pconf, "--listen", "127.0.0.1:0"]);
    let sd = TempDir::new("api-s");
    let sconf = sd.path().join("levee.toml");
    std::fs::write(
        &sconf,
        format!(
            "version = 1\n[server]\nthreads = 1\nstorage-dir = \"store\"\n[[zone]]\nname = \"d.test.\"\n\
             primaries = [\"{}\"]\nallow-notify = [\"127.0.0.1\"]\n",
            p.addr
        ),
    )
    .unwrap();
    let sconf = sconf.to_str().unwrap().to_string();
    let s = Server::start(&["-c", &sconf, "--listen", "127.0.0.1:0"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while serial(s.addr, "d.test.").is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(serial(s.addr, "d.test."), Some(10), "{}", s.log());
    // The primary again, now sending NOTIFY to the secondary.
    let addr = p.addr.to_string();
    drop(p);
    let text = std::fs::read_to_string(&pconf).unwrap().replace(
        "allow-transfer = [\"127.0.0.1\"]\n",
        &format!("allow-transfer = [\"127.0.0.1\"]\nnotify = [\"{}\"]\n", s.addr),
    );
    write_private(std::path::Path::new(&pconf), &text);
    let p = Server::start(&["-c", &pconf, "--listen", &addr]);
    let api = management(&p);
    // A secondary checks a zone at most once a second after NOTIFY
    // (`replication::secondary::NOTIFY_HOLDOFF`, so a burst of writes
    // makes one transfer): its first check (the AXFR above) was just now.
    // The write measured is one after a quiet second, as in steady state.
    std::thread::sleep(Duration::from_millis(1100));
    let started = Instant::now();
    let (st, v) = patch(api, WRITE, json!({ "rrsets": [rrset("fresh", "A", 60, &["192.0.2.200"])] }));
    let acked = started.elapsed();
    assert_eq!((st, v["serial"].as_u64()), (200, Some(11)), "{v}");
    let deadline = started + Duration::from_secs(5);
    while a_of(s.addr, "fresh.d.test.").is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let seen = started.elapsed();
    assert_eq!(a_of(s.addr, "fresh.d.test."), vec![vec![192, 0, 2, 200]], "{}\n{}", s.log(), p.log());
    assert_eq!(serial(s.addr, "d.test."), Some(11));
    println!("API write acknowledged in {acked:?}, served by the levee secondary {seen:?} after the request");
    assert!(seen < Duration::from_secs(1), "the secondary served the write after {seen:?}");
}

/// The update log cannot be written (a directory stands where the file
/// goes): the write is answered 500, and nothing is applied or served.
#[test]
fn a_write_that_cannot_be_logged_is_not_applied() {
    let dir = TempDir::new("api-nolog");
    let cfg = conf(&dir, "");
    std::fs::create_dir_all(dir.path().join("store/d.test.updates")).unwrap();
    let s = Server::start(&["-c", &cfg, "--listen", "127.0.0.1:0"]);
    let api = management(&s);
    let before = state(api, s.addr);
    let (st, v) = patch(api, WRITE, json!({ "rrsets": [rrset("www", "A", 60, &["192.0.2.9"])] }));
    assert_eq!(st, 500, "{v}");
    assert!(v["error"].as_str().unwrap().contains("update log"), "{v}");
    let (st, _) = call(api, "PUT", "/api/v1/zones/d.test.", Some(WRITE), &format!("{D_ZONE}x A 192.0.2.8\n"));
    assert_eq!(st, 500);
    assert_eq!(state(api, s.addr), before, "nothing applied");
    assert!(a_of(s.addr, "x.d.test.").is_empty());
}
