//! The REST API (`/api/v1/`, issue 19) on the real daemon over HTTP:
//! every endpoint; bad input answered 4xx with JSON naming the field and
//! nothing written (checked by reading the zone and its serial back, and
//! by DNS); missing, unknown, read-only and wrong-zone tokens; writes to a
//! zone that is not dynamic (409); `levee ctl rrset-*`; API writes kept
//! across `kill -9` and a restart; a write seen on a levee secondary
//! within one second; zones created and deleted (`POST /api/v1/zones`,
//! `DELETE /api/v1/zones/{zone}`), kept across a restart, refused field by
//! field with nothing written, and put in a produced catalog that a levee
//! consumer follows (`PUT`/`DELETE /api/v1/zones/{zone}/catalog`).

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
    assert_eq!(call(api, "DELETE", "/api/v1/zones/d.test./rrsets", Some(WRITE), "").0, 405);
    assert_eq!(call(api, "DELETE", "/api/v1/zones/d.test.", Some(WRITE), "").0, 409, "configured");
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

//------------ zones created and deleted through the API -------------------------

fn post(api: SocketAddr, token: &str, body: Value) -> (u16, Value) {
    call(api, "POST", "/api/v1/zones", Some(token), &body.to_string())
}

/// The runtime zones of the registry file of `dir` (none without a file).
fn registry_names(dir: &TempDir) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(dir.path().join("store/runtime-zones.json")) else { return Vec::new() };
    let v: Value = serde_json::from_str(&text).unwrap();
    v["zones"].as_array().unwrap().iter().map(|z| z["name"].as_str().unwrap().to_string()).collect()
}

fn names(api: SocketAddr) -> Vec<String> {
    let v = get(api, "/api/v1/zones");
    let mut n: Vec<String> =
        v["zones"].as_array().unwrap().iter().map(|z| z["name"].as_str().unwrap().into()).collect();
    n.sort();
    n
}

const P1: &str = "$TTL 300\n@ SOA ns1 hostmaster 9 3600 600 86400 60\n@ NS ns1\nns1 A 127.0.0.1\nwww A 192.0.2.9\n";

/// A primary zone created from text, a secondary zone created on a
/// second levee transferring it, both listed; a runtime zone takes no
/// RRset writes; a configured zone cannot be deleted; a restart keeps the
/// created zones; a delete removes the zone, its file and its registry
/// entry.
#[test]
fn zones_are_created_listed_kept_and_deleted() {
    let ad = TempDir::new("api-cr-a");
    let acfg = conf(&ad, "");
    let mut a = Server::start(&["-c", &acfg, "--listen", "127.0.0.1:0"]);
    let api = management(&a);
    let (st, v) =
        post(api, WRITE, json!({ "name": "P1.test", "kind": "primary", "zone": P1, "allow-transfer": ["127.0.0.1"] }));
    assert_eq!(st, 201, "{v}");
    assert_eq!(
        (v["name"].as_str(), v["kind"].as_str(), v["serial"].as_u64()),
        (Some("p1.test."), Some("primary"), Some(9))
    );
    assert_eq!(serial(a.addr, "p1.test."), Some(9));
    assert_eq!(a_of(a.addr, "www.p1.test."), vec![vec![192, 0, 2, 9]]);
    assert_eq!(names(api), ["d.test.", "p1.test.", "s.test."]);
    let z = get(api, "/api/v1/zones/p1.test.");
    assert_eq!((z["runtime"].as_bool(), z["dynamic"].as_bool()), (Some(true), Some(false)), "{z}");
    assert_eq!(get(api, "/api/v1/zones/d.test.")["runtime"], false);
    assert_eq!(registry_names(&ad), ["p1.test."], "written before the reply");
    // No RRset writes to a runtime zone (yet): 409 saying why.
    let body = json!({ "rrsets": [rrset("www", "A", 60, &["192.0.2.1"])] }).to_string();
    let (st, v) = call(api, "PATCH", "/api/v1/zones/p1.test./rrsets", Some(WRITE), &body);
    assert_eq!((st, v["field"].as_str()), (409, Some("zone")), "{v}");
    assert!(v["error"].as_str().unwrap().contains("created at run time"), "{v}");
    assert_eq!(call(api, "PUT", "/api/v1/zones/p1.test.", Some(WRITE), P1).0, 409);
    // A configured zone is not deleted; an unknown one is 404.
    let (st, v) = call(api, "DELETE", "/api/v1/zones/d.test.", Some(WRITE), "");
    assert_eq!((st, v["field"].as_str()), (409, Some("zone")), "{v}");
    assert!(v["error"].as_str().unwrap().contains("configured"), "{v}");
    assert_eq!(serial(a.addr, "d.test."), Some(10));
    assert_eq!(call(api, "DELETE", "/api/v1/zones/none.test.", Some(WRITE), "").0, 404);

    // A secondary on a second levee, from the first.
    let bd = TempDir::new("api-cr-b");
    let bcfg = conf(&bd, "");
    let mut b = Server::start(&["-c", &bcfg, "--listen", "127.0.0.1:0"]);
    let bapi = management(&b);
    let (st, v) =
        post(bapi, WRITE, json!({ "name": "p1.test.", "kind": "secondary", "primaries": [a.addr.to_string()] }));
    assert_eq!((st, v["kind"].as_str()), (201, Some("secondary")), "{v}");
    crate::catalog::wait("p1.test. transferred", &b, || serial(b.addr, "p1.test.") == Some(9));
    let z = get(bapi, "/api/v1/zones/p1.test.");
    assert_eq!(
        (z["kind"].as_str(), z["serial"].as_u64(), z["runtime"].as_bool()),
        (Some("secondary"), Some(9), Some(true))
    );
    assert_eq!(names(bapi), ["d.test.", "p1.test.", "s.test."]);

    // Restarts keep both.
    a.stop();
    let a = Server::start(&["-c", &acfg, "--listen", "127.0.0.1:0"]);
    let api = management(&a);
    assert_eq!(serial(a.addr, "p1.test."), Some(9), "{}", a.log());
    assert_eq!(names(api), ["d.test.", "p1.test.", "s.test."]);
    b.stop();
    let b = Server::start(&["-c", &bcfg, "--listen", "127.0.0.1:0"]);
    assert_eq!(serial(b.addr, "p1.test."), Some(9), "served from its stored copy; {}", b.log());
    assert_eq!(get(management(&b), "/api/v1/zones/p1.test.")["kind"], "secondary");

    // Deleted: not served, not listed, not in the registry, its text gone.
    let (st, v) = call(api, "DELETE", "/api/v1/zones/p1.test", Some(WRITE), "");
    assert_eq!((st, &v), (200, &json!({ "name": "p1.test.", "deleted": true })));
    assert_eq!(serial(a.addr, "p1.test."), None);
    assert_eq!(names(api), ["d.test.", "s.test."]);
    assert!(registry_names(&ad).is_empty());
    assert!(!ad.path().join("store/p1.test.primary").exists());
    assert_eq!(call(api, "DELETE", "/api/v1/zones/p1.test", Some(WRITE), "").0, 404);
    let (st, _) = call(management(&b), "DELETE", "/api/v1/zones/p1.test.", Some(WRITE), "");
    assert_eq!(st, 200);
    assert_eq!(serial(b.addr, "p1.test."), None);
    // A primary zone given as RRsets.
    let rr = |name: &str, ty: &str, recs: &[&str]| json!({ "name": name, "type": ty, "ttl": 60, "records": recs });
    let rrsets = json!([
        rr("@", "SOA", &["ns1 hostmaster 21 3600 600 86400 60"]),
        rr("@", "NS", &["ns1"]),
        rr("ns1", "A", &["127.0.0.1"]),
        rr("www", "A", &["192.0.2.21", "192.0.2.22"])
    ]);
    let (st, v) = post(api, WRITE, json!({ "name": "p2.test.", "kind": "primary", "rrsets": rrsets }));
    assert_eq!((st, v["serial"].as_u64()), (201, Some(21)), "{v}");
    assert_eq!(a_of(a.addr, "www.p2.test."), vec![vec![192, 0, 2, 21], vec![192, 0, 2, 22]]);
}

/// Every field of a create checked (400 naming it), conflicts (409), the
/// bound, and tokens: nothing is written by a refused create, as the
/// list, the registry file and a restart show.
#[test]
fn a_refused_create_names_the_field_and_writes_nothing() {
    let dir = TempDir::new("api-cr-bad");
    let cfg = conf(&dir, "");
    // At most one runtime zone.
    let text = std::fs::read_to_string(&cfg).unwrap().replace("threads = 1\n", "threads = 1\nmax-runtime-zones = 1\n");
    write_private(std::path::Path::new(&cfg), &text);
    let mut s = Server::start(&["-c", &cfg, "--listen", "127.0.0.1:0"]);
    let api = management(&s);
    let before = names(api);
    let p = |extra: Value| {
        let mut v = json!({ "name": "n.test.", "kind": "primary", "zone": P1 });
        v.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        v
    };
    let cases: Vec<(Value, u16, Option<&str>)> = vec![
        (json!({ "kind": "primary", "zone": P1 }), 400, Some("name")),
        (p(json!({ "name": "a..b" })), 400, Some("name")),
        (p(json!({ "kind": "tertiary" })), 400, Some("kind")),
        (json!({ "name": "n.test.", "kind": "primary" }), 400, Some("zone")),
        (p(json!({ "zone": "$TTL 300\n@ SOA ns1 h 1 1 1 1 1\n@ NS ns1\nx A 192.0.2\n" })), 400, Some("zone")),
        (p(json!({ "allow-transfer": ["127.0.0.1 key nokey"] })), 400, Some("allow-transfer[0]")),
        (p(json!({ "catalog": "d.test." })), 400, Some("catalog")),
        (p(json!({ "group": "g" })), 400, Some("group")),
        (p(json!({ "bogus": true })), 400, Some("bogus")),
        (
            json!({ "name": "n.test.", "kind": "secondary", "primaries": ["127.0.0.1:53 key nokey"] }),
            400,
            Some("primaries[0]"),
        ),
        (json!({ "name": "n.test.", "kind": "secondary" }), 400, Some("primaries")),
        (
            json!({ "name": "n.test.", "kind": "primary", "rrsets": [{ "name": "x", "type": "A", "ttl": 1, "records": ["1.2.3"] }] }),
            400,
            Some("rrsets[0].records[0]"),
        ),
        (
            json!({ "name": "n.test.", "kind": "primary", "rrsets": [{ "name": "x", "type": "A", "ttl": 1, "records": ["1.2.3.4"] }] }),
            400,
            Some("rrsets"),
        ),
        (p(json!({ "name": "d.test." })), 409, Some("name")),
    ];
    for (body, status, field) in cases {
        let (st, v) = post(api, WRITE, body.clone());
        assert_eq!((st, v["field"].as_str()), (status, field), "{v} for {body:.200}");
        assert!(v["error"].as_str().is_some_and(|e| !e.is_empty()));
        assert_eq!(names(api), before, "nothing served after {body:.200}");
        assert!(registry_names(&dir).is_empty(), "nothing written after {body:.200}");
        assert!(!dir.path().join("store/n.test.primary").exists());
    }
    let (st, v) = call(api, "POST", "/api/v1/zones", Some(WRITE), "{\"name\": ");
    assert_eq!((st, v["field"].as_str()), (400, Some("body")));
    assert_eq!(serial(s.addr, "d.test."), Some(10), "the configured zone is untouched");
    // Tokens: none 401, read 403, limited to a zone 403 (even its own).
    let ok = json!({ "name": "n.test.", "kind": "primary", "zone": P1 }).to_string();
    assert_eq!(call(api, "POST", "/api/v1/zones", None, &ok).0, 401);
    assert_eq!(call(api, "POST", "/api/v1/zones", Some(READ), &ok).0, 403);
    let (st, v) = call(api, "POST", "/api/v1/zones", Some(D_TOKEN), &ok);
    assert_eq!(st, 403, "{v}");
    assert!(v["error"].as_str().unwrap().contains("zone list"), "{v}");
    assert!(registry_names(&dir).is_empty());
    // The bound: one zone, then 409 naming the key.
    assert_eq!(post(api, WRITE, p(json!({}))).0, 201);
    let (st, v) = post(api, WRITE, p(json!({ "name": "n2.test." })));
    assert_eq!(st, 409, "{v}");
    assert!(v["error"].as_str().unwrap().contains("max-runtime-zones"), "{v}");
    let (st, v) = post(api, WRITE, p(json!({})));
    assert_eq!((st, v["field"].as_str()), (409, Some("name")), "exists already: {v}");
    assert_eq!(registry_names(&dir), ["n.test."]);
    // A zone-limited token deletes nothing, not even its own zone.
    assert_eq!(call(api, "DELETE", "/api/v1/zones/d.test.", Some(D_TOKEN), "").0, 403);
    assert_eq!(call(api, "DELETE", "/api/v1/zones/n.test.", Some(D_TOKEN), "").0, 403);
    assert_eq!(call(api, "DELETE", "/api/v1/zones/n.test.", Some(READ), "").0, 403);
    assert_eq!(serial(s.addr, "n.test."), Some(9));
    s.stop();
    let s = Server::start(&["-c", &cfg, "--listen", "127.0.0.1:0"]);
    let mut want = before.clone();
    want.push("n.test.".into());
    want.sort();
    assert_eq!(names(management(&s)), want, "after a restart: the one zone created, nothing else");
}

/// Zones created through the API in a produced catalog reach a levee
/// consumer; membership moves with `PUT`/`DELETE .../catalog` (and
/// `levee ctl zone-catalog`); the
/// consumer's members are not the API's to delete (409 naming the
/// catalog).
#[test]
fn created_zones_in_a_produced_catalog_reach_a_levee_consumer() {
    use crate::catalog::{axfr, soa, wait};
    let pd = TempDir::new("api-cat-p");
    let pconf = conf(&pd, "");
    let text = std::fs::read_to_string(&pconf).unwrap()
        + "[[zone]]\nname = \"out.test.\"\ncatalog-role = \"generate\"\nallow-transfer = [\"127.0.0.1\"]\n";
    write_private(std::path::Path::new(&pconf), &text);
    let p = Server::start(&["-c", &pconf, "--listen", "127.0.0.1:0"]);
    let api = management(&p);
    let s0 = soa(p.addr, "out.test.").expect("the produced catalog is served");
    let cd = TempDir::new("api-cat-c");
    let cconf = cd.path().join("levee.toml");
    write_private(
        &cconf,
        &format!(
            "version = 1\n[server]\nthreads = 1\nstorage-dir = \"store\"\ncontrol-socket = \"{}\"\n{}\
             [[catalog-template]]\nname = \"gold\"\nallow-transfer = [\"127.0.0.1\"]\n\
             [[zone]]\nname = \"out.test.\"\nprimaries = [\"{}\"]\ncatalog-role = \"interpret\"\ncatalog-template = [\"default\", \"gold\"]\n",
            crate::catalog::sock(),
            management_config("127.0.0.1:0"),
            p.addr
        ),
    );
    let cconf = cconf.to_str().unwrap().to_string();
    let c = Server::start(&["-c", &cconf, "--listen", "127.0.0.1:0"]);
    let refresh = || assert!(!ctl(&cconf, &["refresh", "out.test."]).contains("error"));

    // Created in the catalog, group gold: transferable on the consumer.
    let m1 = crate::catalog::member_zone("m1.test.", 3);
    let body = json!({ "name": "m1.test.", "kind": "primary", "zone": m1, "allow-transfer": ["127.0.0.1"],
                       "catalog": "out.test.", "group": "gold" });
    let (st, v) = post(api, WRITE, body);
    assert_eq!((st, v["catalog"].as_str(), v["group"].as_str()), (201, Some("out.test."), Some("gold")), "{v}");
    assert_eq!(v["catalog-serial"].as_u64(), Some(u64::from(s0.wrapping_add(1))), "{v}");
    assert_eq!(soa(p.addr, "out.test."), Ok(s0.wrapping_add(1)));
    refresh();
    wait("m1 on the consumer", &c, || soa(c.addr, "m1.test.") == Ok(3));
    assert_eq!(axfr(c.addr, "m1.test."), axfr(p.addr, "m1.test."), "gold: transferable, the same data");
    assert!(!axfr(c.addr, "m1.test.").is_empty());
    // The consumer's member is its catalog's: 409 naming it.
    let (st, v) = call(management(&c), "DELETE", "/api/v1/zones/m1.test.", Some(WRITE), "");
    assert_eq!(st, 409, "{v}");
    assert!(v["error"].as_str().unwrap().contains("catalog out.test."), "{v}");
    let (st, _) =
        call(management(&c), "PUT", "/api/v1/zones/m1.test./catalog", Some(WRITE), "{\"catalog\": \"out.test.\"}");
    assert_eq!(st, 400, "the consumer produces no catalog");

    // Created outside, then put in the catalog.
    let (st, v) = post(
        api,
        WRITE,
        json!({ "name": "m2.test.", "kind": "primary", "zone": crate::catalog::member_zone("m2.test.", 4),
                "allow-transfer": ["127.0.0.1"] }),
    );
    assert_eq!((st, v["catalog"].as_str()), (201, None), "{v}");
    assert_eq!(soa(p.addr, "out.test."), Ok(s0.wrapping_add(1)), "not a member: no change");
    let path = "/api/v1/zones/m2.test./catalog";
    assert_eq!(call(api, "PUT", path, Some(D_TOKEN), "{\"catalog\": \"out.test.\"}").0, 403);
    let (st, v) = call(api, "PUT", path, Some(WRITE), "{\"catalog\": \"nowhere.test.\"}");
    assert_eq!((st, v["field"].as_str()), (400, Some("catalog")), "{v}");
    assert_eq!(soa(p.addr, "out.test."), Ok(s0.wrapping_add(1)), "a refused move changes nothing");
    let (st, v) = call(api, "PUT", path, Some(WRITE), "{\"catalog\": \"out.test.\"}");
    assert_eq!((st, v["catalog-serial"].as_u64()), (200, Some(u64::from(s0.wrapping_add(2)))), "{v}");
    assert_eq!(get(api, "/api/v1/zones/m2.test.")["catalog"], "out.test.");
    let (st, _) = call(api, "PUT", "/api/v1/zones/d.test./catalog", Some(WRITE), "{\"catalog\": \"out.test.\"}");
    assert_eq!(st, 409, "a configured zone's membership is the configuration's");
    refresh();
    wait("m2 on the consumer", &c, || soa(c.addr, "m2.test.") == Ok(4));
    assert!(axfr(c.addr, "m2.test.").is_empty(), "the default template: no transfer out");
    // levee ctl does the same: m2 regrouped to gold.
    let out = ctl(&pconf, &["zone-catalog", "m2.test.", "out.test.", "group", "gold"]);
    assert!(out.contains("zone-catalog done"), "{out}");
    assert_eq!(soa(p.addr, "out.test."), Ok(s0.wrapping_add(3)));
    let out = ctl(&pconf, &["zone-catalog", "m2.test.", "nowhere.test."]);
    assert!(out.contains("error: catalog:"), "{out}");
    refresh();
    wait("m2 regrouped on the consumer", &c, || !axfr(c.addr, "m2.test.").is_empty());

    // m1 out of the catalog, m2 deleted: both leave the consumer.
    let (st, v) = call(api, "DELETE", "/api/v1/zones/m1.test./catalog", Some(WRITE), "");
    assert_eq!((st, v["catalog"].as_str(), v["catalog-serial"].as_u64()), (200, None, None), "{v}");
    assert_eq!(soa(p.addr, "out.test."), Ok(s0.wrapping_add(4)));
    assert_eq!(soa(p.addr, "m1.test."), Ok(3), "still served by the producer");
    assert_eq!(call(api, "DELETE", "/api/v1/zones/m2.test.", Some(WRITE), "").0, 200);
    assert_eq!(soa(p.addr, "out.test."), Ok(s0.wrapping_add(5)));
    refresh();
    wait("m1 and m2 gone from the consumer", &c, || {
        soa(c.addr, "m1.test.") == Err(rcode::REFUSED) && soa(c.addr, "m2.test.") == Err(rcode::REFUSED)
    });
}

/// Zones created by many requests at once are applied together (one
/// publication, one registry write, one directory sync per group:
/// `Registry::apply` is a group commit), each request answered 201 only
/// once its zone is served and on disk: a `kill -9` right after the last
/// reply loses none of them.
#[test]
fn zones_created_at_once_are_applied_together_and_survive_kill_9() {
    let dir = TempDir::new("api-group");
    let cfg = conf(&dir, "");
    let s = Server::start(&["-c", &cfg, "--listen", "127.0.0.1:0"]);
    let (api, addr) = (management(&s), s.addr);
    let names: Vec<String> = (0..48).map(|i| format!("g{i}.test.")).collect();
    std::thread::scope(|sc| {
        for chunk in names.chunks(6) {
            sc.spawn(move || {
                for n in chunk {
                    let (st, v) = post(api, WRITE, json!({ "name": n, "kind": "primary", "zone": P1 }));
                    assert_eq!(st, 201, "{n}: {v}");
                }
            });
        }
    });
    let mut listed = registry_names(&dir);
    listed.retain(|n| n.starts_with('g'));
    assert_eq!(listed.len(), names.len(), "every acknowledged zone is in the registry file");
    assert!(s.log().contains("requests applied together"), "8 clients at once were never grouped: {}", s.log());
    let killed = std::process::Command::new("kill").arg("-KILL").arg(s.pid().to_string()).status().unwrap();
    assert!(killed.success());
    drop(s);
    let s = Server::start(&["-c", &cfg, "--listen", &addr.to_string()]);
    for n in &names {
        assert_eq!(serial(s.addr, n), Some(9), "{n} after kill -9; {}", s.log());
    }
}
