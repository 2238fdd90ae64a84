//! Issue 16 on the real binary: the management API's Host, Origin and
//! token checks, a scrape through slow clients, the command line's
//! allow-remote rule, the control socket's mode and path checks, the
//! instance lock, and `levee ctl`'s errors.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Output;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::ops::{check_prometheus, http, http_token, http_with, management, management_config, READ, WRITE};
use crate::support::{levee, repo, run_bounded, write_private, Server, TempDir};

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// A configuration serving the example zones on port 0, plus `extra`.
fn config(dir: &TempDir, extra: &str) -> std::path::PathBuf {
    let cfg = dir.path().join("levee.toml");
    let zones = repo().join("examples/zones");
    write_private(
        &cfg,
        &format!("[server]\nlisten = [\"127.0.0.1:0\"]\nthreads = 1\nzones-dir = \"{}\"\n{extra}", zones.display()),
    );
    cfg
}

fn metric(m: SocketAddr, key: &str) -> f64 {
    let (st, _, body) = http_token(m, "GET", "/metrics", READ);
    assert_eq!(st, 200, "{body}");
    *check_prometheus(&body).get(key).unwrap_or_else(|| panic!("{key} missing"))
}

/// Without a token only `/metrics` (from loopback) and the static page
/// answer; a read token reads; only a write token reloads; a wrong Host
/// (DNS rebinding) and a cross-origin request are refused whatever the
/// token.
#[test]
fn management_needs_the_right_host_origin_and_token() {
    let dir = TempDir::new("mgmt-auth");
    let cfg = config(&dir, &management_config("127.0.0.1:0"));
    let s = Server::start(&["--config", cfg.to_str().unwrap()]);
    let m = management(&s);
    let reloads = || metric(m, "levee_reloads_total");

    assert_eq!(http(m, "GET", "/metrics").0, 200, "anonymous metrics from loopback");
    assert_eq!(http(m, "GET", "/").0, 200, "the page holds no data");
    let (st, head, _) = http(m, "GET", "/api/status");
    assert_eq!(st, 401);
    assert!(head.contains("WWW-Authenticate: Bearer"), "{head}");
    assert_eq!(http_token(m, "GET", "/api/status", "not-a-token-at-all-0000").0, 401);
    assert_eq!(http_token(m, "GET", "/api/status", READ).0, 200);
    assert_eq!(http_token(m, "GET", "/api/live", READ).0, 200);

    // Writes: no token 401, a read token 403, a write token 200.
    assert_eq!(http(m, "POST", "/api/reload").0, 401);
    assert_eq!(http_token(m, "POST", "/api/reload", READ).0, 403);
    assert_eq!(reloads(), 0.0, "a refused reload ran");
    assert_eq!(http_token(m, "POST", "/api/reload", WRITE).0, 200);
    assert_eq!(reloads(), 1.0);

    // DNS rebinding: the page of evil.example, resolved to 127.0.0.1.
    let evil = format!("evil.example:{}", m.port());
    let bearer = format!("Bearer {WRITE}");
    for (method, path) in [("GET", "/metrics"), ("GET", "/api/live"), ("GET", "/"), ("POST", "/api/reload")] {
        let st = http_with(m, method, path, &[("Host", &evil), ("Authorization", &bearer)]).0;
        assert_eq!(st, 421, "{method} {path} with Host {evil}");
    }
    assert_eq!(http_with(m, "GET", "/metrics", &[("Host", "localhost")]).0, 200);
    // Cross-origin: refused even with a write token.
    let own = format!("http://{m}");
    for (origin, site) in [("http://evil.example", "cross-site"), ("null", "cross-site"), (own.as_str(), "same-site")] {
        let st = http_with(
            m,
            "POST",
            "/api/reload",
            &[("Authorization", &bearer), ("Origin", origin), ("Sec-Fetch-Site", site)],
        )
        .0;
        assert_eq!(st, 403, "Origin {origin}, Sec-Fetch-Site {site}");
    }
    let same = [("Authorization", bearer.as_str()), ("Origin", own.as_str()), ("Sec-Fetch-Site", "same-origin")];
    assert_eq!(http_with(m, "POST", "/api/reload", &same).0, 200);
    assert_eq!(reloads(), 2.0, "only the two authorised reloads ran");
    // The refusals are counted.
    let refused = |r: &str| metric(m, &format!("levee_management_refused_total{{reason=\"{r}\"}}"));
    assert_eq!((refused("host"), refused("origin"), refused("token"), refused("scope")), (4.0, 3.0, 3.0, 1.0));
}

/// `anonymous-metrics = false`: `/metrics` needs a read token too.
#[test]
fn metrics_can_require_a_token() {
    let dir = TempDir::new("mgmt-closed");
    let closed =
        management_config("127.0.0.1:0").replacen("[management]\n", "[management]\nanonymous-metrics = false\n", 1);
    let cfg = config(&dir, &closed);
    let s = Server::start(&["--config", cfg.to_str().unwrap()]);
    let m = management(&s);
    assert_eq!(http(m, "GET", "/metrics").0, 401);
    assert_eq!(http_token(m, "GET", "/metrics", READ).0, 200);
}

/// The command line follows the file's rule: a non-loopback management
/// address needs allow-remote (and then tokens).
#[test]
fn a_remote_management_address_needs_allow_remote_on_the_command_line_too() {
    let out = run_bounded(levee().args(["serve", "--listen", "127.0.0.1:0", "--management", "0.0.0.0:0"]));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("--management") && text(&out).contains("allow-remote"), "{}", text(&out));
    let out = run_bounded(levee().args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--management",
        "0.0.0.0:0",
        "--management-allow-remote",
    ]));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("no [[management.token]]"), "{}", text(&out));
}

/// Clients that connect and then send a header octet every 100 ms,
/// reconnecting when closed; `addrs` are their source addresses.
struct SlowClients {
    stop: Arc<AtomicBool>,
    reconnects: Arc<AtomicU64>,
    th: Option<std::thread::JoinHandle<()>>,
}

impl SlowClients {
    fn start(target: SocketAddr, addrs: Vec<IpAddr>) -> SlowClients {
        let stop = Arc::new(AtomicBool::new(false));
        let reconnects = Arc::new(AtomicU64::new(0));
        let (st, rc) = (Arc::clone(&stop), Arc::clone(&reconnects));
        let th = std::thread::spawn(move || {
            let connect = |ip: IpAddr| -> Option<TcpStream> {
                let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).ok()?;
                s.bind(&SocketAddr::new(ip, 0).into()).ok()?;
                s.connect_timeout(&target.into(), Duration::from_secs(1)).ok()?;
                let s: TcpStream = s.into();
                s.set_write_timeout(Some(Duration::from_millis(200))).ok()?;
                let _ = (&s).write_all(b"GET /metrics HTTP/1.1\r\nX-Slow: ");
                Some(s)
            };
            let mut conns: Vec<(IpAddr, Option<TcpStream>)> = addrs.iter().map(|&ip| (ip, connect(ip))).collect();
            let deadline = Instant::now() + Duration::from_secs(60);
            while !st.load(Ordering::Relaxed) && Instant::now() < deadline {
                for (ip, c) in conns.iter_mut() {
                    let alive = c.as_mut().is_some_and(|s| s.write_all(b"a").is_ok());
                    if !alive {
                        rc.fetch_add(1, Ordering::Relaxed);
                        *c = connect(*ip);
                    }
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        SlowClients { stop, reconnects, th: Some(th) }
    }
}

impl Drop for SlowClients {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.th.take() {
            let _ = t.join();
        }
    }
}

/// One scrape with a 2-second budget; its time, or the error.
fn scrape(m: SocketAddr) -> Result<Duration, String> {
    let t = Instant::now();
    let mut s = TcpStream::connect_timeout(&m, Duration::from_secs(2)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    write!(s, "GET /metrics HTTP/1.1\r\nHost: {m}\r\n\r\n").map_err(|e| e.to_string())?;
    let mut body = String::new();
    s.read_to_string(&mut body).map_err(|e| format!("{e} after {:?}", t.elapsed()))?;
    if !body.starts_with("HTTP/1.1 200") || !body.contains("levee_queries_total") {
        return Err(format!("bad answer: {}", body.lines().next().unwrap_or("")));
    }
    Ok(t.elapsed())
}

/// 64 clients hold management connections by sending their request head
/// an octet at a time (from 8 addresses, and then all from the scraper's
/// own address): every scrape of `/metrics` is answered, well within 2 s.
#[test]
fn a_metrics_scrape_gets_through_64_slow_clients() {
    let dir = TempDir::new("mgmt-slow");
    // Anonymous metrics from loopback (the default): no token needed.
    let cfg = config(&dir, "[management]\nlisten = \"127.0.0.1:0\"\n");
    let s = Server::start(&["--config", cfg.to_str().unwrap()]);
    let m = management(&s);
    for (label, addrs) in [
        ("8 addresses", (0..64).map(|i| IpAddr::from([127, 0, 3, 2 + i / 8])).collect::<Vec<_>>()),
        ("the scraper's address", vec![IpAddr::from([127, 0, 0, 1]); 64]),
    ] {
        let slow = SlowClients::start(m, addrs);
        std::thread::sleep(Duration::from_millis(1500));
        let mut times = Vec::new();
        for _ in 0..20 {
            match scrape(m) {
                Ok(t) => times.push(t),
                Err(e) => panic!("{label}: a scrape failed while 64 slow clients held connections: {e}"),
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        times.sort();
        eprintln!(
            "64 slow clients from {label}: 20 scrapes, median {:?}, max {:?}, slow clients reconnected {} times",
            times[10],
            times[19],
            slow.reconnects.load(Ordering::Relaxed)
        );
        assert!(times[19] < Duration::from_secs(1), "{label}: slowest scrape {:?}", times[19]);
    }
    let v = check_prometheus(&http(m, "GET", "/metrics").2);
    assert!(v["levee_management_refused_total{reason=\"evicted\"}"] >= 20.0);
}

/// A control socket and storage directory of its own (socket paths are
/// limited to 108 octets: /tmp).
fn ctl_config(dir: &TempDir, tag: &str, extra: &str) -> (std::path::PathBuf, String) {
    let sock = format!("/tmp/levee-it-sec-{tag}-{}.sock", std::process::id());
    let _ = std::fs::remove_file(&sock);
    let store = dir.path().join("store");
    let cfg = config(dir, &format!("storage-dir = \"{}\"\ncontrol-socket = \"{sock}\"\n{extra}", store.display()));
    (cfg, sock)
}

fn ctl(sock: &str, args: &[&str]) -> Output {
    levee().args(["ctl", "-s", sock]).args(args).output().unwrap()
}

/// Even under umask 000 the control socket is 0600; a second server on
/// the same storage directory refuses to start, naming the first one's
/// pid, and the first keeps its socket.
#[test]
fn the_control_socket_is_private_and_a_second_instance_is_refused() {
    let dir = TempDir::new("ctl-sock");
    let (cfg, sock) = ctl_config(&dir, "a", "");
    let s = Server::start_wrapped(&["sh", "-c", "umask 000; exec \"$0\" \"$@\""], &["--config", cfg.to_str().unwrap()]);
    let t = Instant::now();
    while !Path::new(&sock).exists() && t.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let meta = std::fs::symlink_metadata(&sock).expect("the control socket exists");
    assert_eq!(meta.permissions().mode() & 0o777, 0o600, "control socket mode");
    assert!(ctl(&sock, &["status"]).status.success());
    let lock = dir.path().join("store/levee.lock");
    assert_eq!(std::fs::read_to_string(&lock).unwrap().trim(), s.pid().to_string());

    let t = Instant::now();
    let out = run_bounded(levee().args(["serve", "--config", cfg.to_str().unwrap()]));
    let msg = text(&out);
    assert_eq!(out.status.code(), Some(1), "{msg}");
    assert!(t.elapsed() < Duration::from_secs(10));
    assert!(msg.contains(&format!("another levee (pid {}) is already running on storage directory", s.pid())), "{msg}");
    // The first server still has its socket.
    let st = ctl(&sock, &["status"]);
    assert!(st.status.success(), "{}", text(&st));
    drop(s);
    assert!(!Path::new(&sock).exists(), "the socket is removed at exit");
}

/// A `control-socket` naming an existing file that is not a socket stops
/// the start, and the file is left as it was.
#[test]
fn a_control_socket_path_that_is_not_a_socket_is_never_removed() {
    let dir = TempDir::new("ctl-path");
    let (cfg, sock) = ctl_config(&dir, "b", "");
    std::fs::write(&sock, "precious\n").unwrap();
    let out = run_bounded(levee().args(["serve", "--config", cfg.to_str().unwrap()]));
    let msg = text(&out);
    assert_eq!(out.status.code(), Some(1), "{msg}");
    assert!(msg.contains("exists and is not a socket; refusing to replace it"), "{msg}");
    assert_eq!(std::fs::read_to_string(&sock).unwrap(), "precious\n");
    let c = ctl(&sock, &["status"]);
    assert!(text(&c).contains("is not a socket"), "{}", text(&c));
    std::fs::remove_file(&sock).unwrap();
}

/// `server.control-socket-group`: mode 0660 and that group.
#[test]
fn a_control_socket_group_opens_it_to_the_group() {
    if levee_io::privs::euid() != 0 {
        if std::env::var_os("LEVEE_SKIP_ROOT_TESTS").is_some() {
            eprintln!("SKIPPED (LEVEE_SKIP_ROOT_TESTS): changing a socket's group needs root");
            return;
        }
        panic!("this test needs root (CI runs as root); set LEVEE_SKIP_ROOT_TESTS=1 to skip it knowingly");
    }
    let dir = TempDir::new("ctl-group");
    let (cfg, sock) = ctl_config(&dir, "c", "control-socket-group = \"daemon\"\n");
    let _s = Server::start(&["--config", cfg.to_str().unwrap()]);
    let meta = std::fs::symlink_metadata(&sock).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o660);
    assert_eq!(meta.gid(), levee_io::privs::group_id("daemon").unwrap());
}

/// `levee ctl` says what failed: no socket, a stale socket, or (for a
/// user who may not use it) permission denied.
#[test]
fn ctl_errors_say_what_failed() {
    let dir = TempDir::new("ctl-errors");
    let missing = dir.path().join("none.sock");
    let c = ctl(missing.to_str().unwrap(), &["status"]);
    assert!(!c.status.success());
    assert!(text(&c).contains("no server is running") && text(&c).contains("does not exist"), "{}", text(&c));
    let stale = format!("/tmp/levee-it-sec-stale-{}.sock", std::process::id());
    let _ = std::fs::remove_file(&stale);
    drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
    let c = ctl(&stale, &["status"]);
    assert!(text(&c).contains("nothing listens on"), "{}", text(&c));
    std::fs::remove_file(&stale).unwrap();

    if levee_io::privs::euid() != 0 {
        if std::env::var_os("LEVEE_SKIP_ROOT_TESTS").is_some() {
            eprintln!("SKIPPED (LEVEE_SKIP_ROOT_TESTS): the permission check runs levee ctl as nobody");
            return;
        }
        panic!("this test needs root (CI runs as root); set LEVEE_SKIP_ROOT_TESTS=1 to skip it knowingly");
    }
    let (cfg, sock) = ctl_config(&dir, "d", "");
    let _s = Server::start(&["--config", cfg.to_str().unwrap()]);
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"])
        .arg(crate::support::levee_bin())
        .args(["ctl", "-s", &sock, "reload"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(text(&out).contains("permission denied on"), "{}", text(&out));
    assert!(!text(&out).contains("no server is running"), "{}", text(&out));
}

/// The shipped unit runs levee as the `levee` user with only the
/// capability to bind port 53, in directories systemd creates for it;
/// `systemd-analyze verify` accepts it (where installed).
#[test]
fn the_shipped_unit_runs_as_levee_without_root() {
    let unit = std::fs::read_to_string(repo().join("dist/levee.service")).unwrap();
    let lines: Vec<&str> = unit.lines().map(str::trim).filter(|l| !l.starts_with('#')).collect();
    for want in [
        "User=levee",
        "Group=levee",
        "AmbientCapabilities=CAP_NET_BIND_SERVICE",
        "CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
        "StateDirectory=levee",
        "RuntimeDirectory=levee",
        "NoNewPrivileges=yes",
        "UMask=0077",
    ] {
        assert!(lines.contains(&want), "dist/levee.service lacks {want}");
    }
    assert!(!unit.contains("CAP_SETUID"), "the unit must not keep the capability to change user");
    let users = std::fs::read_to_string(repo().join("dist/levee.sysusers")).unwrap();
    assert!(users.lines().any(|l| l.starts_with("u levee ")), "{users}");
    if std::process::Command::new("systemd-analyze").arg("--version").output().is_ok() {
        let dir = TempDir::new("unit");
        let f = dir.path().join("levee.service");
        let bin = crate::support::levee_bin();
        std::fs::write(&f, unit.replace("/usr/bin/levee", bin.to_str().unwrap())).unwrap();
        let out = std::process::Command::new("systemd-analyze").arg("verify").arg(&f).output().unwrap();
        assert!(out.status.success() && text(&out).trim().is_empty(), "systemd-analyze verify: {}", text(&out));
    } else {
        eprintln!("systemd-analyze not installed: dist/levee.service checked by its lines only");
    }
}

/// `management.tls-certificate`/`tls-key`: the listener speaks HTTPS
/// (checked with curl against a certificate made by openssl), refuses
/// plain HTTP, and its own origin is `https://`.
#[test]
fn management_over_tls() {
    let dir = TempDir::new("mgmt-tls");
    let (crt, key) = (dir.path().join("m.crt"), dir.path().join("m.key"));
    let made = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1"])
        .args(["-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&crt)
        .output()
        .expect("openssl (CI installs it)");
    assert!(made.status.success(), "{}", text(&made));
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let tls = format!("tls-certificate = \"{}\"\ntls-key = \"{}\"\n", crt.display(), key.display());
    let cfg =
        config(&dir, &management_config("127.0.0.1:0").replacen("[management]\n", &format!("[management]\n{tls}"), 1));
    let s = Server::start(&["--config", cfg.to_str().unwrap()]);
    assert!(s.wait_log("management listener on https://", Duration::from_secs(10)), "{}", s.log());
    let m = management(&s);
    let curl = |args: &[&str], url: &str| {
        let out = std::process::Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5", "--cacert"])
            .arg(&crt)
            .args(args)
            .arg(url)
            .output()
            .expect("curl (CI installs it)");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let url = |p: &str| format!("https://127.0.0.1:{}{p}", m.port());
    let read = format!("Authorization: Bearer {READ}");
    let write = format!("Authorization: Bearer {WRITE}");
    assert_eq!(curl(&["-H", &read], &url("/api/status")), "200");
    assert_eq!(curl(&[], &url("/api/status")), "401");
    assert_eq!(curl(&[], &url("/metrics")), "200");
    assert_eq!(curl(&["-X", "POST", "-H", &write], &url("/api/reload")), "200");
    let https = format!("Origin: https://127.0.0.1:{}", m.port());
    let http_origin = format!("Origin: http://127.0.0.1:{}", m.port());
    assert_eq!(curl(&["-X", "POST", "-H", &write, "-H", &https], &url("/api/reload")), "200");
    assert_eq!(curl(&["-X", "POST", "-H", &write, "-H", &http_origin], &url("/api/reload")), "403");
    // localhost matches the certificate and, on loopback, the Host check.
    assert_eq!(curl(&["-H", &read], &format!("https://localhost:{}/api/live", m.port())), "200");
    // Plain HTTP on the TLS port gets no answer.
    let plain = std::process::Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5"])
        .arg(format!("http://127.0.0.1:{}/metrics", m.port()))
        .output()
        .unwrap();
    assert_ne!(String::from_utf8_lossy(&plain.stdout), "200");
    let metrics = std::process::Command::new("curl")
        .args(["-s", "--max-time", "5", "--cacert"])
        .arg(&crt)
        .arg(url("/metrics"))
        .output()
        .unwrap();
    let v = check_prometheus(&String::from_utf8_lossy(&metrics.stdout));
    assert_eq!(v["levee_reloads_total"], 2.0);
    assert!(v["levee_management_refused_total{reason=\"tls\"}"] >= 1.0);
}
