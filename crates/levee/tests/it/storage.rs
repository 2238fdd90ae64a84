//! Fault injection on the real binary for storage and zone reading
//! (issue 15): copies cut short or damaged, a full disk, zone names with
//! `/`, the storage directory after the privilege drop, zone files that
//! include FIFOs and devices or hang on a dead file system, `$GENERATE`
//! panics and budgets, serial mistakes, and a 65k-record RRset.
//!
//! In every case: nothing acknowledged is lost, answers are the old data
//! or the new (or SERVFAIL), never partial, other zones keep answering,
//! and SIGTERM stops the server within 2 s. Cases that need root (tmpfs
//! mounts, FUSE, a user to drop to) fail when not root unless
//! `LEVEE_SKIP_ROOT_TESTS=1`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use levee_wire::header::rcode;
use levee_wire::rtype::t;

use crate::support::{levee, parse, query, udp, Server, TempDir};

/// (owner, type, RDATA) records, the SOA first.
type Records = Vec<(Vec<u8>, u16, Vec<u8>)>;

fn wire(name: &str) -> Vec<u8> {
    levee_wire::name::from_text(name, None).unwrap().as_slice().to_vec()
}

/// True when the root-only cases can run; panics when they cannot and
/// were not skipped knowingly.
fn root() -> bool {
    let uid = std::fs::read_to_string("/proc/self/status").ok().and_then(|s| {
        s.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(1).unwrap_or("").to_string())
    });
    if uid.as_deref() == Some("0") {
        return true;
    }
    assert!(std::env::var("LEVEE_SKIP_ROOT_TESTS").is_ok(), "this test needs root (or LEVEE_SKIP_ROOT_TESTS=1)");
    eprintln!("skipped: not root (LEVEE_SKIP_ROOT_TESTS)");
    false
}

//------------ a scripted primary -------------------------------------------------

/// A primary for one zone: SOA over UDP, AXFR (also the answer to IXFR)
/// over TCP in messages of at most 500 records. `down()` makes it
/// answer nothing (a dead primary).
struct Primary {
    addr: SocketAddr,
    zone: Arc<Mutex<Records>>,
    up: Arc<AtomicBool>,
    /// SOA queries answered.
    soas: Arc<AtomicU32>,
}

fn soa_rdata(apex: &[u8], serial: u32) -> Vec<u8> {
    let mut rd = [&b"\x03ns1"[..], apex].concat();
    rd.extend_from_slice(&[&b"\x0ahostmaster"[..], apex].concat());
    for x in [serial, 3600, 600, 86400, 60] {
        rd.extend_from_slice(&x.to_be_bytes());
    }
    rd
}

fn message(q: &[u8], records: &[(Vec<u8>, u16, Vec<u8>)]) -> Vec<u8> {
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

impl Primary {
    fn start(apex: &str) -> Primary {
        let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = tcp.local_addr().unwrap();
        let udp = UdpSocket::bind(addr).unwrap();
        let p = Primary {
            addr,
            zone: Arc::new(Mutex::new(Vec::new())),
            up: Arc::new(AtomicBool::new(true)),
            soas: Arc::new(AtomicU32::new(0)),
        };
        p.set(apex, 1, Vec::new());
        let (z, up, soas) = (Arc::clone(&p.zone), Arc::clone(&p.up), Arc::clone(&p.soas));
        std::thread::spawn(move || {
            let mut buf = [0u8; 512];
            while let Ok((n, from)) = udp.recv_from(&mut buf) {
                if up.load(Ordering::Relaxed) && n > 12 {
                    let soa = z.lock().unwrap()[0].clone();
                    let _ = udp.send_to(&message(&buf[..n], &[soa]), from);
                    soas.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
        let (z, up) = (Arc::clone(&p.zone), Arc::clone(&p.up));
        std::thread::spawn(move || {
            for s in tcp.incoming() {
                let Ok(mut s) = s else { continue };
                if !up.load(Ordering::Relaxed) {
                    continue; // closed at once
                }
                let mut len = [0u8; 2];
                if s.read_exact(&mut len).is_err() {
                    continue;
                }
                let mut q = vec![0u8; u16::from_be_bytes(len) as usize];
                if s.read_exact(&mut q).is_err() || q.len() < 17 {
                    continue;
                }
                let mut recs = z.lock().unwrap().clone();
                recs.push(recs[0].clone());
                for chunk in recs.chunks(500) {
                    let m = message(&q, chunk);
                    let _ = s.write_all(&(m.len() as u16).to_be_bytes());
                    let _ = s.write_all(&m);
                }
            }
        });
        p
    }

    /// Serves version `serial`: SOA, NS, the name server's address, `extra`.
    fn set(&self, apex: &str, serial: u32, extra: Records) {
        let a = wire(apex);
        let ns = [&b"\x03ns1"[..], &a].concat();
        let mut v =
            vec![(a.clone(), t::SOA, soa_rdata(&a, serial)), (a, t::NS, ns.clone()), (ns, t::A, vec![127, 0, 0, 1])];
        v.extend(extra);
        *self.zone.lock().unwrap() = v;
    }

    fn down(&self) {
        self.up.store(false, Ordering::Relaxed);
    }

    fn up(&self) {
        self.up.store(true, Ordering::Relaxed);
    }
}

/// `n` A records, `h<i>.<apex>`.
fn hosts(apex: &str, n: usize, last: u8) -> Records {
    (0..n).map(|i| (wire(&format!("h{i}.{apex}")), t::A, vec![10, (i >> 8) as u8, i as u8, last])).collect()
}

//------------ a server with a secondary zone ----------------------------------------

static SOCK: AtomicU32 = AtomicU32::new(0);

/// Writes a configuration: storage in `store`, a control socket, the
/// management listener, a primary zone `p.test.` (always answering) and
/// whatever `zones` adds. Returns (path, control socket).
fn config(dir: &Path, store: &Path, extra_server: &str, zones: &str) -> (String, String) {
    std::fs::write(dir.join("p.test.zone"), "$TTL 300\n@ SOA ns1 h 1 3600 600 86400 60\n@ NS ns1\nns1 A 127.0.0.1\n")
        .unwrap();
    let sock = format!("/tmp/levee-st-{}-{}.sock", std::process::id(), SOCK.fetch_add(1, Ordering::Relaxed));
    let p = dir.join("levee.toml");
    std::fs::write(
        &p,
        format!(
            "version = 1\n[server]\nthreads = 1\nstorage-dir = \"{}\"\ncontrol-socket = \"{sock}\"\n{extra_server}\n\
             {}\
             [[zone]]\nname = \"p.test.\"\nfile = \"p.test.zone\"\n{zones}\n",
            store.display(),
            crate::ops::management_config("127.0.0.1:0"),
        ),
    )
    .unwrap();
    // It holds the management tokens: owner-only, or levee refuses it.
    std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    (p.to_str().unwrap().to_string(), sock)
}

fn secondary(apex: &str, p: &Primary) -> String {
    format!("[[zone]]\nname = \"{apex}\"\nprimaries = [\"{}\"]\nallow-notify = [\"127.0.0.1\"]\n", p.addr)
}

fn start(cfg: &str) -> Server {
    Server::start(&["-c", cfg, "--listen", "127.0.0.1:0"])
}

/// The SOA serial served for `apex`, or the rcode when there is none.
fn soa(addr: SocketAddr, apex: &str) -> Result<u32, u16> {
    let r = parse(&udp(addr, &query(7, apex, t::SOA, None)).expect("an answer"));
    match r.answer.first() {
        Some(a) => Ok(u32::from_be_bytes(a.rdata[a.rdata.len() - 20..a.rdata.len() - 16].try_into().unwrap())),
        None => Err(r.header.rcode() as u16),
    }
}

fn wait_for(what: &str, s: &Server, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what} did not happen within 15 s; log:\n{}", s.log());
}

/// `levee ctl ARGS`: (success, output). The control socket is bound by a
/// task that may start just after "ready": a missing socket is retried.
fn ctl(cfg: &str, args: &[&str]) -> (bool, String) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let o = levee().arg("ctl").arg("-c").arg(cfg).args(args).output().unwrap();
        let out = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
        if o.status.success() || !out.contains("no server is running") || Instant::now() > deadline {
            return (o.status.success(), out);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The A record of `name`: its last octet, or the rcode.
fn a_last(addr: SocketAddr, name: &str) -> Result<u8, u16> {
    let r = parse(&udp(addr, &query(8, name, t::A, None)).expect("an answer"));
    match r.answer.first() {
        Some(a) => Ok(a.rdata[3]),
        None => Err(r.header.rcode() as u16),
    }
}

/// The value of `key=` in a zone-status line.
fn field(status: &str, key: &str) -> String {
    status.split_whitespace().find_map(|w| w.strip_prefix(&format!("{key}="))).unwrap_or("").to_string()
}

fn failures(cfg: &str) -> u64 {
    field(&ctl(cfg, &["zone-status", "r.test."]).1, "store-failures").parse().unwrap_or(0)
}

/// The SOA serial in a stored copy (any format), if the file is there.
fn stored_serial(p: &Path) -> Option<u32> {
    let text = std::fs::read_to_string(p).ok()?;
    let soa = text.lines().find(|l| l.contains(" IN SOA "))?;
    soa.split_whitespace().nth(6)?.parse().ok()
}

fn mtime(p: &Path) -> u64 {
    std::fs::metadata(p).unwrap().modified().unwrap().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn stop(s: &mut Server) {
    let took = s.stop();
    assert!(took < Duration::from_secs(2), "SIGTERM took {took:?}");
}

/// The management address from the log.
fn management(s: &Server) -> SocketAddr {
    let log = s.log();
    let rest = log.split("management listener on http://").nth(1).expect("management listener in the log");
    rest.split('/').next().unwrap().parse().unwrap()
}

//------------ integrity ------------------------------------------------------------

/// A stored copy cut short (at a line boundary, which used to load
/// silently and serve a partial zone under the primary's serial) or
/// damaged is refused at start with the reason: the zone answers
/// SERVFAIL, the other zones answer, and a transfer brings it back whole.
/// A damaged journal is refused the same way.
#[test]
fn cut_or_damaged_copies_are_refused_at_start() {
    let d = TempDir::new("st-cut");
    let store = d.path().join("store");
    let pri = Primary::start("r.test.");
    pri.set("r.test.", 5, hosts("r.test.", 300, 5));
    let (cfg, _) = config(d.path(), &store, "", &secondary("r.test.", &pri));
    let mut s = start(&cfg);
    wait_for("the first transfer", &s, || soa(s.addr, "r.test.") == Ok(5));
    let copy = store.join("r.test.zone");
    wait_for("the stored copy", &s, || stored_serial(&copy) == Some(5));
    stop(&mut s);
    pri.down();
    let whole = std::fs::read(&copy).unwrap();
    let text = String::from_utf8(whole.clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let cut_lines = lines[..lines.len() * 2 / 3].join("\n") + "\n";
    let mut flipped = whole.clone();
    let at = text.find("h150.r.test. 300 IN A 10.0.150.5").unwrap() + 30;
    flipped[at] = b'6'; // 10.0.150.6: a different, valid address
    for (what, bytes, why) in [
        ("cut at a line boundary", cut_lines.into_bytes(), "integrity line at the end is missing"),
        ("cut inside a line", whole[..whole.len() - 10].to_vec(), "integrity line"),
        ("one octet changed", flipped, "SHA-256"),
    ] {
        std::fs::write(&copy, &bytes).unwrap();
        let mut s = start(&cfg);
        assert!(
            s.wait_log("stored copy refused", Duration::from_secs(10)) && s.wait_log(why, Duration::from_secs(10)),
            "{what}: {}",
            s.log()
        );
        assert_eq!(soa(s.addr, "r.test."), Err(rcode::SERVFAIL), "{what}: never served partial");
        assert_eq!(a_last(s.addr, "h299.r.test."), Err(rcode::SERVFAIL), "{what}");
        assert_eq!(soa(s.addr, "p.test."), Ok(1), "{what}: other zones answer");
        stop(&mut s);
    }
    // The primary back: the zone is fetched again, whole.
    pri.up();
    let mut s = start(&cfg);
    wait_for("the transfer", &s, || soa(s.addr, "r.test.") == Ok(5));
    assert_eq!(a_last(s.addr, "h299.r.test."), Ok(5));
    assert_eq!(a_last(s.addr, "h150.r.test."), Ok(5));
    stop(&mut s);

    // A journal cut short or damaged is refused with a clear line.
    let pd = TempDir::new("st-jcut");
    let pstore = pd.path().join("store");
    let (pcfg, _) = config(pd.path(), &pstore, "", "");
    let pcfg_text = std::fs::read_to_string(&pcfg)
        .unwrap()
        .replace("file = \"p.test.zone\"\n", "file = \"p.test.zone\"\nallow-transfer = [\"127.0.0.1\"]\n");
    std::fs::write(&pcfg, pcfg_text).unwrap();
    let mut p = start(&pcfg);
    std::fs::write(
        pd.path().join("p.test.zone"),
        "$TTL 300\n@ SOA ns1 h 2 3600 600 86400 60\n@ NS ns1\nns1 A 127.0.0.1\nx A 10.0.0.2\n",
    )
    .unwrap();
    p.signal("HUP");
    let journal = pstore.join("p.test.journal");
    wait_for("the journal", &p, || journal.exists());
    stop(&mut p);
    let j = std::fs::read(&journal).unwrap();
    std::fs::write(&journal, &j[..j.len() - 3]).unwrap();
    let mut p = start(&pcfg);
    assert!(p.wait_log("journal refused", Duration::from_secs(10)) && p.log().contains("damaged"), "{}", p.log());
    assert_eq!(soa(p.addr, "p.test."), Ok(2));
    stop(&mut p);
}

//------------ a full disk ------------------------------------------------------------

/// A small tmpfs as the storage directory, filled up: the received zone
/// is served, its write fails, is shown (zone-status, /api/zones,
/// /metrics), leaves no temporary file, and is retried with backoff
/// until space comes back. Meanwhile an "up to date" check does not
/// renew the old copy's time, and a restart with the primary down serves
/// SERVFAIL, not the older serial as if it were fresh.
#[test]
fn disk_full_writes_are_retried_shown_and_never_serve_stale_data() {
    if !root() {
        return;
    }
    let d = TempDir::new("st-full");
    let store = d.path().join("store");
    std::fs::create_dir_all(&store).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=256k,mode=755", "levee-test"])
        .arg(&store)
        .status()
        .unwrap();
    assert!(mounted.success(), "mount tmpfs");
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(store.clone());

    let pri = Primary::start("r.test.");
    pri.set("r.test.", 1, hosts("r.test.", 10, 1));
    let (cfg, _) = config(d.path(), &store, "", &secondary("r.test.", &pri));
    let mut s = start(&cfg);
    let copy = store.join("r.test.zone");
    wait_for("serial 1 stored", &s, || stored_serial(&copy) == Some(1));
    // Fill the disk.
    let filler = store.join("filler");
    let mut f = std::fs::File::create(&filler).unwrap();
    let block = vec![0u8; 4096];
    while f.write_all(&block).is_ok() {}
    drop(f);
    // Serial 2, larger than the space left: served from memory, not stored.
    pri.set("r.test.", 2, hosts("r.test.", 3000, 2));
    assert!(ctl(&cfg, &["refresh", "r.test."]).0);
    wait_for("serial 2 served", &s, || soa(s.addr, "r.test.") == Ok(2));
    assert_eq!(a_last(s.addr, "h2999.r.test."), Ok(2));
    wait_for("the failure shown", &s, || failures(&cfg) >= 1);
    let (_, status) = ctl(&cfg, &["zone-status", "r.test."]);
    assert!(status.contains("stored-serial=-") && status.contains("store-pending=yes"), "{status}");
    assert!(status.contains("No_space_left_on_device"), "{status}");
    let m = management(&s);
    let (_, _, metrics) = crate::ops::http(m, "GET", "/metrics");
    let v = crate::ops::check_prometheus(&metrics);
    assert!(v["levee_storage_write_failures_total{file=\"zone\",zone=\"r.test.\"}"] >= 1.0, "{metrics}");
    assert_eq!(v["levee_storage_write_pending{file=\"zone\",zone=\"r.test.\"}"], 1.0);
    let (_, _, zones) = crate::ops::http_token(m, "GET", "/api/zones?zone=r.test.", crate::ops::READ);
    let z: serde_json::Value = serde_json::from_str(&zones).unwrap();
    let st = &z["zones"][0]["storage"][0];
    assert!(st["write_failures"].as_u64() >= Some(1) && st["pending"] == true, "{zones}");
    assert!(s.wait_log("cannot write", Duration::from_secs(10)) && s.log().contains("retry_in=1"), "{}", s.log());
    // No temporary file is left behind, and the old copy (serial 1) is
    // marked unconfirmed; an "up to date" check does not renew it.
    let names: Vec<String> =
        std::fs::read_dir(&store).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(!names.iter().any(|n| n.ends_with(".tmp")), "{names:?}");
    assert_eq!(stored_serial(&copy), Some(1));
    assert_eq!(mtime(&copy), 0, "the serial-1 copy is marked as superseded");
    let asked = pri.soas.load(Ordering::Relaxed);
    assert!(ctl(&cfg, &["refresh", "r.test."]).0);
    wait_for("an up-to-date check", &s, || pri.soas.load(Ordering::Relaxed) > asked);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(mtime(&copy), 0, "an up-to-date check must not renew a copy that is not the version served");

    // A restart with the primary down: serial 1 must not be served as fresh.
    stop(&mut s);
    pri.down();
    let mut s = start(&cfg);
    assert_eq!(soa(s.addr, "r.test."), Err(rcode::SERVFAIL), "{}", s.log());
    assert_eq!(soa(s.addr, "p.test."), Ok(1));
    stop(&mut s);

    // Space again, primary back: the newest version is transferred and
    // written (retries go on until it is).
    std::fs::remove_file(&filler).unwrap();
    pri.up();
    let mut s = start(&cfg);
    wait_for("serial 2 served", &s, || soa(s.addr, "r.test.") == Ok(2));
    wait_for("serial 2 stored", &s, || ctl(&cfg, &["zone-status", "r.test."]).1.contains("stored-serial=2"));
    assert_eq!(stored_serial(&copy), Some(2));
    stop(&mut s);

    // Retries without a restart: fill, new serial, free: written within
    // the backoff.
    let mut s = start(&cfg);
    wait_for("serial 2 served", &s, || soa(s.addr, "r.test.") == Ok(2));
    let mut f = std::fs::File::create(&filler).unwrap();
    while f.write_all(&block).is_ok() {}
    drop(f);
    pri.set("r.test.", 3, hosts("r.test.", 3000, 3));
    assert!(ctl(&cfg, &["refresh", "r.test."]).0);
    wait_for("serial 3 served", &s, || soa(s.addr, "r.test.") == Ok(3));
    wait_for("a failed write", &s, || failures(&cfg) >= 1);
    std::fs::remove_file(&filler).unwrap();
    wait_for("serial 3 stored by a retry", &s, || ctl(&cfg, &["zone-status", "r.test."]).1.contains("stored-serial=3"));
    let (_, status) = ctl(&cfg, &["zone-status", "r.test."]);
    assert!(status.contains("store-pending=no") && status.contains("store-error=-"), "{status}");
    assert_eq!(stored_serial(&copy), Some(3));
    assert!(mtime(&copy) + 60 > SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs());
    stop(&mut s);
}

/// Temporary files a crash left behind are removed at start.
#[test]
fn stale_temporary_files_are_removed_at_start() {
    let d = TempDir::new("st-tmp");
    let store = d.path().join("store");
    std::fs::create_dir_all(&store).unwrap();
    for n in ["r.test.zone.tmp", "p.test.journal.tmp", "r.test.tmp"] {
        std::fs::write(store.join(n), "").unwrap();
    }
    std::fs::write(store.join("notes.tmp"), "mine").unwrap();
    let (cfg, _) = config(d.path(), &store, "", "");
    let mut s = start(&cfg);
    for n in ["r.test.zone.tmp", "p.test.journal.tmp"] {
        assert!(!store.join(n).exists(), "{n}: {}", s.log());
    }
    // Files that are not levee's are left alone; the old code's temporary
    // name (`<zone>tmp`) too: it was one name for a zone and its journal.
    assert!(store.join("notes.tmp").exists() && store.join("r.test.tmp").exists());
    assert!(s.wait_log("removed a temporary file left by an interrupted write", Duration::from_secs(10)));
    stop(&mut s);
}

//------------ names ------------------------------------------------------------------

/// An RFC 2317 classless reverse zone (`/` in its name) is stored and
/// journaled under an encoded file name, and comes back after a restart.
/// A copy stored by an older levee under a plain name is still read.
#[test]
fn zone_names_with_slash_are_stored_and_journaled() {
    let apex = "0/25.2.0.192.in-addr.arpa.";
    let d = TempDir::new("st-slash");
    let store = d.path().join("store");
    let pri = Primary::start(apex);
    let ptr: Records = (1..4).map(|i| (wire(&format!("{i}.{apex}")), t::PTR, wire("host.example."))).collect();
    pri.set(apex, 7, ptr);
    let (cfg, _) = config(d.path(), &store, "", &secondary(apex, &pri));
    let mut s = start(&cfg);
    wait_for("the transfer", &s, || soa(s.addr, apex) == Ok(7));
    let copy = store.join("0%2F25.2.0.192.in-addr.arpa.zone");
    wait_for("the stored copy", &s, || copy.exists());
    stop(&mut s);
    pri.down();
    let mut s = start(&cfg);
    assert_eq!(soa(s.addr, apex), Ok(7), "{}", s.log());
    let r = parse(&udp(s.addr, &query(3, &format!("2.{apex}"), t::PTR, None)).unwrap());
    assert_eq!(r.answer.len(), 1);
    stop(&mut s);

    // A primary zone with `/`: its journal is written and read back.
    let pd = TempDir::new("st-slash-p");
    let pstore = pd.path().join("store");
    let zone = |serial: u32| {
        format!(
            "$TTL 300\n@ SOA ns1 h {serial} 3600 600 86400 60\n@ NS ns1\nns1 A 127.0.0.1\n{serial} PTR h.example.\n"
        )
    };
    std::fs::write(pd.path().join("slash.zone"), zone(1)).unwrap();
    let (pcfg, _) = config(
        pd.path(),
        &pstore,
        "",
        &format!("[[zone]]\nname = \"{apex}\"\nfile = \"slash.zone\"\nallow-transfer = [\"127.0.0.1\"]\n"),
    );
    let mut p = start(&pcfg);
    std::fs::write(pd.path().join("slash.zone"), zone(2)).unwrap();
    p.signal("HUP");
    let journal = pstore.join("0%2F25.2.0.192.in-addr.arpa.journal");
    wait_for("the journal", &p, || journal.exists());
    stop(&mut p);
    let mut p = start(&pcfg);
    assert!(p.wait_log("journal loaded", Duration::from_secs(10)), "{}", p.log());
    stop(&mut p);
}

/// A copy written by an older levee (no integrity line; the plain name)
/// is served at start, and the first contact with the primary replaces
/// it by a full transfer in the new format.
#[test]
fn copies_of_an_older_levee_are_read_and_replaced() {
    let d = TempDir::new("st-legacy");
    let store = d.path().join("store");
    std::fs::create_dir_all(&store).unwrap();
    std::fs::write(
        store.join("r.test.zone"),
        "; written by levee after a zone transfer\nr.test. 300 IN SOA ns1.r.test. hostmaster.r.test. 4 3600 600 86400 60\n\
         r.test. 300 IN NS ns1.r.test.\nns1.r.test. 300 IN A 127.0.0.1\nh0.r.test. 300 IN A 10.0.0.4\n",
    )
    .unwrap();
    let pri = Primary::start("r.test.");
    pri.down();
    pri.set("r.test.", 4, hosts("r.test.", 2, 4));
    let (cfg, _) = config(d.path(), &store, "", &secondary("r.test.", &pri));
    let mut s = start(&cfg);
    assert_eq!(soa(s.addr, "r.test."), Ok(4), "{}", s.log());
    assert_eq!(a_last(s.addr, "h0.r.test."), Ok(4));
    assert!(s.wait_log("no integrity check", Duration::from_secs(10)), "{}", s.log());
    // Up at the same serial: a full transfer anyway, then the new format.
    pri.up();
    assert!(ctl(&cfg, &["refresh", "r.test."]).0);
    wait_for("the replacing transfer", &s, || s.log().contains("kind=\"AXFR\""));
    wait_for("the new copy", &s, || {
        std::fs::read_to_string(store.join("r.test.zone")).is_ok_and(|t| t.contains("levee-integrity"))
    });
    assert_eq!(a_last(s.addr, "h1.r.test."), Ok(4));
    stop(&mut s);
}

//------------ ownership ---------------------------------------------------------------

/// With `user = "nobody"`, a storage directory levee creates belongs to
/// nobody: the control socket and journals work after the drop. One that
/// nobody cannot write stops the start with a clear error.
#[test]
fn storage_belongs_to_the_service_user() {
    use std::os::unix::fs::MetadataExt;
    if !root() {
        return;
    }
    let d = TempDir::new("st-owner");
    let store = d.path().join("store");
    let (cfg, _) = config(d.path(), &store, "user = \"nobody\"", "");
    let cfg_text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("file = \"p.test.zone\"\n", "file = \"p.test.zone\"\nallow-transfer = [\"127.0.0.1\"]\n");
    std::fs::write(&cfg, cfg_text).unwrap();
    let mut s = start(&cfg);
    assert_eq!(std::fs::metadata(&store).unwrap().uid(), 65534, "{}", s.log());
    let (ok, out) = ctl(&cfg, &["status"]);
    assert!(ok, "the control socket works after the drop: {out}\n{}", s.log());
    std::fs::write(
        d.path().join("p.test.zone"),
        "$TTL 300\n@ SOA ns1 h 2 3600 600 86400 60\n@ NS ns1\nns1 A 127.0.0.1\nx A 10.0.0.2\n",
    )
    .unwrap();
    let (ok, out) = ctl(&cfg, &["reload"]);
    assert!(ok, "{out}");
    let journal = store.join("p.test.journal");
    wait_for("the journal written as nobody", &s, || journal.exists());
    assert_eq!(std::fs::metadata(&journal).unwrap().uid(), 65534);
    stop(&mut s);

    // A directory made for nobody beforehand (the install steps of
    // docs/operations.md: install -d -o levee -g levee) works too.
    let d3 = TempDir::new("st-owner3");
    let store3 = d3.path().join("store");
    std::fs::create_dir_all(&store3).unwrap();
    std::os::unix::fs::chown(&store3, Some(65534), Some(65534)).unwrap();
    let (cfg3, _) = config(d3.path(), &store3, "user = \"nobody\"", "");
    let mut s = start(&cfg3);
    assert!(ctl(&cfg3, &["status"]).0, "{}", s.log());
    stop(&mut s);

    // A directory nobody cannot write: a clear error at start.
    let d2 = TempDir::new("st-owner2");
    let store2 = d2.path().join("store");
    std::fs::create_dir_all(&store2).unwrap();
    let (cfg2, _) = config(d2.path(), &store2, "user = \"nobody\"", "");
    let out =
        levee().args(["serve", "-c", &cfg2, "--listen", "127.0.0.1:0"]).env("LEVEE_LOG", "info").output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("is not writable by user nobody") && err.contains(&store2.display().to_string()), "{err}");
}

//------------ zone reading ------------------------------------------------------------

/// A zone that `$INCLUDE`s a FIFO or `/dev/zero`, or whose `$GENERATE`
/// panicked the parser, fails alone on a reload: the error has FILE:LINE,
/// that zone keeps its version, the others are reloaded, systemd hears
/// READY=1 after RELOADING=1, and the server stays up.
#[test]
fn bad_includes_and_generates_fail_only_their_zone() {
    let d = TempDir::new("st-include");
    let store = d.path().join("store");
    let fifo = d.path().join("fifo");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let zone = |serial: u32, tail: &str| {
        format!("$TTL 300\n@ SOA ns1 h {serial} 3600 600 86400 60\n@ NS ns1\nns1 A 127.0.0.1\n{tail}\n")
    };
    std::fs::write(d.path().join("a.test.zone"), zone(1, "")).unwrap();
    std::fs::write(d.path().join("b.test.zone"), zone(1, "")).unwrap();
    let zones =
        "[[zone]]\nname = \"a.test.\"\nfile = \"a.test.zone\"\n[[zone]]\nname = \"b.test.\"\nfile = \"b.test.zone\"\n";
    let (cfg, _) = config(d.path(), &store, "", zones);
    let notify_path = d.path().join("notify.sock");
    let rx = std::os::unix::net::UnixDatagram::bind(&notify_path).unwrap();
    rx.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    let next = || {
        let mut buf = [0u8; 64];
        let n = rx.recv(&mut buf).expect("a notification within 15 s");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    let mut s = Server::start_env(
        &["-c", &cfg, "--listen", "127.0.0.1:0"],
        &[("NOTIFY_SOCKET", notify_path.to_str().unwrap())],
    );
    assert_eq!(next(), "READY=1");
    for (serial, bad) in [
        (2, format!("$INCLUDE {}", fifo.display())),
        (3, "$INCLUDE /dev/zero".to_string()),
        (4, "$GENERATE 1-1 h${0,4000000000,d} A 10.0.0.1".to_string()),
        (5, "$GENERATE 4294967295-4294967295 h${9223372036854775807} A 10.0.0.1".to_string()),
    ] {
        std::fs::write(d.path().join("a.test.zone"), zone(serial, &bad)).unwrap();
        std::fs::write(d.path().join("b.test.zone"), zone(serial, "")).unwrap();
        let before = s.log().matches("a.test.zone:5: ").count();
        s.signal("HUP");
        assert_eq!(next(), "RELOADING=1", "{bad}");
        assert_eq!(next(), "READY=1", "{bad}: the reload ends\n{}", s.log());
        wait_for("FILE:LINE in the log", &s, || s.log().matches("a.test.zone:5: ").count() > before);
        assert_eq!(soa(s.addr, "b.test."), Ok(serial), "{bad}: the other zone is reloaded");
        assert_eq!(soa(s.addr, "a.test."), Ok(1), "{bad}: the zone keeps its version");
        assert!(s.child.try_wait().unwrap().is_none(), "{bad}: the server is up");
    }
    // The same through the control socket and the HTTP API: they answer.
    let t0 = Instant::now();
    let (ok, out) = ctl(&cfg, &["reload"]);
    assert!(!ok && out.contains("1 zone(s) of all zones failed"), "{out}");
    let (code, _, body) = crate::ops::http_token(management(&s), "POST", "/api/reload?zone=a.test.", crate::ops::WRITE);
    assert!(code == 200 && body.contains("\"failed\":1"), "{code} {body}");
    assert!(t0.elapsed() < Duration::from_secs(5));
    stop(&mut s);
}

/// A zone file on a file system whose reads never return (a dead NFS
/// server): the load is abandoned after `read-timeout`, the zone keeps
/// its version and the others reload; SIGHUP, `levee ctl reload` and
/// `POST /api/reload` all finish; SIGTERM is honoured during the hang.
#[test]
fn a_hung_file_system_does_not_wedge_reloads() {
    if !root() {
        return;
    }
    let d = TempDir::new("st-hung");
    let store = d.path().join("store");
    let fs = crate::hungfs::HungFs::mount(&d.path().join("nfs")).expect("FUSE mount");
    let zone = |serial: u32, tail: &str| {
        format!("$TTL 300\n@ SOA ns1 h {serial} 3600 600 86400 60\n@ NS ns1\nns1 A 127.0.0.1\n{tail}\n")
    };
    std::fs::write(d.path().join("a.test.zone"), zone(1, "")).unwrap();
    std::fs::write(d.path().join("b.test.zone"), zone(1, "")).unwrap();
    let zones =
        "[[zone]]\nname = \"a.test.\"\nfile = \"a.test.zone\"\n[[zone]]\nname = \"b.test.\"\nfile = \"b.test.zone\"\n";
    let (cfg, _) = config(d.path(), &store, "[load]\nread-timeout = 2", zones);
    let mut s = start(&cfg);
    std::fs::write(d.path().join("a.test.zone"), zone(2, &format!("$INCLUDE {}", fs.file().display()))).unwrap();
    std::fs::write(d.path().join("b.test.zone"), zone(2, "")).unwrap();
    let t0 = Instant::now();
    s.signal("HUP");
    assert!(s.wait_log("reload done", Duration::from_secs(10)), "{}", s.log());
    let took = t0.elapsed();
    assert!(took >= Duration::from_secs(2) && took < Duration::from_secs(6), "{took:?} {}", s.log());
    assert!(s.wait_log("a.test.zone: a file-system call hung for 2 s", Duration::from_secs(10)), "{}", s.log());
    assert_eq!((soa(s.addr, "a.test."), soa(s.addr, "b.test.")), (Ok(1), Ok(2)));
    let t0 = Instant::now();
    let (ok, out) = ctl(&cfg, &["reload", "a.test."]);
    assert!(!ok && out.contains("failed to load"), "{out}");
    let (code, _, body) = crate::ops::http_token(management(&s), "POST", "/api/reload", crate::ops::WRITE);
    assert!(code == 200 && body.contains("\"failed\":1"), "{code} {body}");
    assert!(t0.elapsed() < Duration::from_secs(10), "{:?}", t0.elapsed());
    // SIGTERM while a load hangs.
    s.signal("HUP");
    std::thread::sleep(Duration::from_millis(300));
    stop(&mut s);
    drop(fs);
}

/// The record budget is per zone: two `$GENERATE` lines under the
/// per-line cap but over `max-zone-records` together fail the zone (at
/// start: not served; on reload: the old version stays).
#[test]
fn record_budget_is_per_zone() {
    let d = TempDir::new("st-budget");
    let store = d.path().join("store");
    let zone = |serial: u32, tail: &str| {
        format!("$TTL 300\n@ SOA ns1 h {serial} 3600 600 86400 60\n@ NS ns1\nns1 A 127.0.0.1\n{tail}\n")
    };
    std::fs::write(d.path().join("a.test.zone"), zone(1, "$GENERATE 1-400 h$ A 10.0.0.1")).unwrap();
    let (cfg, _) = config(
        d.path(),
        &store,
        "[load]\nmax-zone-records = 1000",
        "[[zone]]\nname = \"a.test.\"\nfile = \"a.test.zone\"\n",
    );
    let mut s = start(&cfg);
    assert_eq!(soa(s.addr, "a.test."), Ok(1));
    std::fs::write(
        d.path().join("a.test.zone"),
        zone(2, "$GENERATE 1-600 h$ A 10.0.0.1\n$GENERATE 1-600 g$ A 10.0.0.1"),
    )
    .unwrap();
    let (ok, _) = ctl(&cfg, &["reload", "a.test."]);
    assert!(!ok);
    assert!(s.wait_log("a.test.zone:6: $GENERATE: the range makes 600 records", Duration::from_secs(5)), "{}", s.log());
    assert_eq!(soa(s.addr, "a.test."), Ok(1));
    stop(&mut s);
}

//------------ serial mistakes -----------------------------------------------------------

/// Changed data under the same or a lower serial: a warning (BIND and
/// Knot warn too) and the journal is dropped rather than extended with a
/// difference "from 2026112501 to 2026112401"; with
/// `serial-must-increase = true` the reload is refused and the old
/// version stays.
#[test]
fn serial_mistakes_are_reported_and_never_journaled() {
    let d = TempDir::new("st-serial");
    let store = d.path().join("store");
    let zone = |serial: u32, x: u8| {
        format!("$TTL 300\n@ SOA ns1 h {serial} 3600 600 86400 60\n@ NS ns1\nns1 A 127.0.0.1\nx A 10.0.0.{x}\n")
    };
    std::fs::write(d.path().join("a.test.zone"), zone(2026112401, 1)).unwrap();
    std::fs::write(d.path().join("b.test.zone"), zone(2026112401, 1)).unwrap();
    let zones = "[[zone]]\nname = \"a.test.\"\nfile = \"a.test.zone\"\nallow-transfer = [\"127.0.0.1\"]\n\
                 [[zone]]\nname = \"b.test.\"\nfile = \"b.test.zone\"\nserial-must-increase = true\n";
    let (cfg, _) = config(d.path(), &store, "", zones);
    let mut s = start(&cfg);
    std::fs::write(d.path().join("a.test.zone"), zone(2026112501, 2)).unwrap();
    assert!(ctl(&cfg, &["reload", "a.test."]).0);
    assert!(ctl(&cfg, &["zone-status", "a.test."]).1.contains("journal-from=2026112401"));
    // A lower serial with new data: served (the default), warned, and no
    // difference recorded; the journal is dropped.
    std::fs::write(d.path().join("a.test.zone"), zone(2026112401, 3)).unwrap();
    assert!(ctl(&cfg, &["reload", "a.test."]).0);
    assert!(s.wait_log("its SOA serial went down (2026112501 -> 2026112401)", Duration::from_secs(5)), "{}", s.log());
    assert!(!s.log().contains("from=2026112501 to=2026112401"), "{}", s.log());
    assert_eq!(a_last(s.addr, "x.a.test."), Ok(3));
    let (_, status) = ctl(&cfg, &["zone-status", "a.test."]);
    assert!(status.contains("journal-from=-"), "{status}");
    // The same serial with new data: warned.
    std::fs::write(d.path().join("a.test.zone"), zone(2026112401, 4)).unwrap();
    assert!(ctl(&cfg, &["reload", "a.test."]).0);
    assert!(s.wait_log("its SOA serial did not change (2026112401 -> 2026112401)", Duration::from_secs(5)));
    // The same file again: nothing to say.
    let warnings = s.log().matches("secondaries will not see the change").count();
    assert!(ctl(&cfg, &["reload", "a.test."]).0);
    assert_eq!(s.log().matches("secondaries will not see the change").count(), warnings);
    // serial-must-increase: refused, the old version stays.
    std::fs::write(d.path().join("b.test.zone"), zone(2026112401, 9)).unwrap();
    let (ok, out) = ctl(&cfg, &["reload", "b.test."]);
    assert!(!ok, "{out}");
    assert!(s.wait_log("refused (serial-must-increase)", Duration::from_secs(5)));
    assert_eq!(a_last(s.addr, "x.b.test."), Ok(1));
    stop(&mut s);
}

//------------ a large RRset ---------------------------------------------------------------

/// One RRset of 65,000 records loads from a file and comes in by
/// transfer quickly (the duplicate check was a scan per record: 7-10 s
/// in a release build, 73 s for check-zone in a debug build). The bounds
/// here are for a debug build on a loaded 2-core machine (about 1 s
/// each unloaded): far below the quadratic time, far above the linear.
#[test]
fn a_65k_record_rrset_loads_and_transfers_quickly() {
    let d = TempDir::new("st-big");
    let store = d.path().join("store");
    let big: String = (0..65_000).map(|i| format!("big A 10.{}.{}.{}\n", i >> 16, (i >> 8) & 255, i & 255)).collect();
    let f = d.path().join("big.test.zone");
    std::fs::write(&f, format!("$TTL 300\n@ SOA ns1 h 1 3600 600 86400 60\n@ NS ns1\nns1 A 127.0.0.1\n{big}")).unwrap();
    let t0 = Instant::now();
    let out = levee().args(["check-zone", "--origin", "big.test."]).arg(&f).output().unwrap();
    let took = t0.elapsed();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(took < Duration::from_secs(30), "check-zone of a 65k-record RRset took {took:?}");

    let pri = Primary::start("r.test.");
    let recs: Records =
        (0..65_000u32).map(|i| (wire("big.r.test."), t::A, (0x0a00_0000 + i).to_be_bytes().to_vec())).collect();
    pri.set("r.test.", 1, recs);
    let (cfg, _) = config(d.path(), &store, "", &secondary("r.test.", &pri));
    let t0 = Instant::now();
    let mut s = start(&cfg);
    wait_for("the transfer", &s, || soa(s.addr, "r.test.") == Ok(1));
    let took = t0.elapsed();
    assert!(took < Duration::from_secs(30), "start and transfer of a 65k-record RRset took {took:?}");
    stop(&mut s);
}
