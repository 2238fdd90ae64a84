//! Fault injection on the transfer-in path (issue 15): the real `levee`
//! binary as a secondary of a scripted fake primary ([`crate::fakeprim`]).
//!
//! Every case checks, besides its own point:
//!
//! * nothing acknowledged is lost: the version served before the fault is
//!   served whole after it (and, where the case restarts levee, from the
//!   stored copy);
//! * the zone's answers, polled all along by a monitor thread, are the old
//!   version or the new one, never malformed (every RDATA passes the zone
//!   loader's check), never partial (once a newer version answered, no
//!   older one does again);
//! * the server stays responsive: a query to another zone is answered
//!   within a second at every poll;
//! * SIGTERM is honoured within 2 s, while the fault is still going on.
//!
//! Every wait is bounded; the fake primary's streams stop by themselves.
//!
//! To see the cases fail on a levee without these fixes, run them with
//! that binary in place of `target/debug/levee` and
//! `LEVEE_FAULTS_OLD_CONFIG=1`: the per-zone `transfer-*` keys, which an
//! older levee refuses at start, are then left out (the cases fail on the
//! behaviour, not on the configuration).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use levee_wire::rtype::t;

use crate::fakeprim::{rec, soa_rdata, FakePrimary, Ixfr, Rec, Script, Stream};
use crate::support::{levee, parse, query, udp, Server, TempDir};

const ZONE: &str = "f.test.";

fn apex() -> Vec<u8> {
    levee_wire::name::from_text(ZONE, None).unwrap().as_slice().to_vec()
}

/// SOA timers (refresh, retry, expire, minimum) of the normal cases.
const TIMERS: [u32; 4] = [3600, 1, 3600, 60];

/// Version `serial` of f.test.: `first` and `last` (the first and last
/// records of every transfer) hold 192.0.2.SERIAL; `extra` in between.
fn version(serial: u32, timers: [u32; 4], extra: Vec<Rec>) -> Vec<Rec> {
    let a = apex();
    let mut v = vec![
        Rec { owner: a.clone(), rtype: t::SOA, ttl: 300, rdata: soa_rdata(&a, serial, timers) },
        rec("first.f.test.", t::A, &[192, 0, 2, serial as u8]),
        rec("f.test.", t::NS, b"\x03ns1\x01f\x04test\x00"),
        rec("ns1.f.test.", t::A, &[127, 0, 0, 1]),
    ];
    v.extend(extra);
    v.push(rec("last.f.test.", t::A, &[192, 0, 2, serial as u8]));
    v
}

fn script(serial: u32, timers: [u32; 4]) -> Script {
    Script { zone: version(serial, timers, vec![]), axfr: Stream::Split(vec![usize::MAX]), ixfr: Ixfr::Full }
}

//------------ the environment -------------------------------------------------

/// levee serving other.test. (a primary zone) and f.test. (a secondary of
/// the fake primary).
struct Env {
    _dir: TempDir,
    conf: String,
    server: Option<Server>,
}

impl Env {
    /// `zone_extra`: more keys for f.test.'s `[[zone]]`.
    fn start(tag: &str, primary: SocketAddr, zone_extra: &str) -> Env {
        let zone_extra = if std::env::var_os("LEVEE_FAULTS_OLD_CONFIG").is_some() { "" } else { zone_extra };
        let dir = TempDir::new(tag);
        std::fs::write(
            dir.path().join("other.test.zone"),
            "$TTL 300\n@ SOA ns1 hm 1 3600 600 86400 60\n@ NS ns1\nns1 A 127.0.0.1\nwww A 192.0.2.200\n",
        )
        .unwrap();
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let sock = format!("/tmp/levee-it-f{}-{}.sock", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
        let conf = dir.path().join("levee.toml");
        std::fs::write(
            &conf,
            format!(
                "version = 1\n[server]\nthreads = 1\nstorage-dir = \"store\"\ncontrol-socket = \"{sock}\"\n\
                 [[zone]]\nname = \"other.test.\"\nfile = \"other.test.zone\"\n\
                 [[zone]]\nname = \"{ZONE}\"\nprimaries = [\"{primary}\"]\nallow-notify = [\"127.0.0.1\"]\n{zone_extra}\n"
            ),
        )
        .unwrap();
        let conf = conf.to_str().unwrap().to_string();
        let server = Server::start(&["-c", &conf, "--listen", "127.0.0.1:0"]);
        Env { _dir: dir, conf, server: Some(server) }
    }

    fn server(&self) -> &Server {
        self.server.as_ref().unwrap()
    }

    fn addr(&self) -> SocketAddr {
        self.server().addr
    }

    fn log(&self) -> String {
        self.server().log()
    }

    fn ctl(&self, args: &[&str]) -> String {
        let o = levee().arg("ctl").arg("-c").arg(&self.conf).args(args).output().unwrap();
        let out = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
        assert!(o.status.success(), "levee ctl {args:?}: {out}");
        out
    }

    fn zone_status(&self) -> String {
        self.ctl(&["zone-status", ZONE])
    }

    /// The serial f.test. answers with (None: no answer or not NOERROR).
    fn serial(&self) -> Option<u32> {
        let r = parse(&udp(self.addr(), &query(1, ZONE, t::SOA, None))?);
        (r.rcode() == 0).then(|| r.answer.first().map(|a| crate::fakeprim::serial_of(&a.rdata)))?
    }

    fn wait_serial(&self, serial: u32, within: Duration) -> bool {
        wait(within, || self.serial() == Some(serial))
    }

    fn wait_log(&self, needle: &str, within: Duration) -> bool {
        self.server().wait_log(needle, within)
    }

    /// The rcode and A RDATA of NAME.f.test.
    fn a(&self, name: &str) -> (u16, Vec<Vec<u8>>) {
        let r = parse(&udp(self.addr(), &query(2, &format!("{name}.{ZONE}"), t::A, None)).expect("answered"));
        (r.rcode(), r.answer.iter().filter(|a| a.rtype == t::A).map(|a| a.rdata.clone()).collect())
    }

    /// The whole of version `serial` is served: SOA, first, last, ns1.
    fn serves_whole(&self, serial: u32) {
        assert_eq!(self.serial(), Some(serial), "{}", self.log());
        for n in ["first", "last"] {
            assert_eq!(self.a(n), (0, vec![vec![192, 0, 2, serial as u8]]), "{n}: {}", self.log());
        }
        assert_eq!(self.a("ns1"), (0, vec![vec![127, 0, 0, 1]]));
    }

    /// SIGTERM, and the process must be gone within 2 s.
    fn sigterm_within_2s(&mut self) {
        let mut s = self.server.take().unwrap();
        let t0 = Instant::now();
        s.signal("TERM");
        while t0.elapsed() < Duration::from_secs(2) {
            if let Ok(Some(_)) = s.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("SIGTERM not honoured within 2 s; log:\n{}", s.log());
    }

    /// Starts levee again on the same configuration and storage.
    fn restart(&mut self) {
        if self.server.is_some() {
            self.sigterm_within_2s();
        }
        self.server = Some(Server::start(&["-c", &self.conf, "--listen", "127.0.0.1:0"]));
    }
}

fn wait(within: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if f() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

//------------ the monitor -----------------------------------------------------

/// What the monitor accepts from f.test.
struct Allowed {
    /// Serials that may answer, oldest first.
    serials: Vec<u32>,
    /// SERVFAIL is an accepted answer (the zone may expire).
    servfail: bool,
}

/// Polls both zones every 30 ms until stopped; collects violations.
struct Monitor {
    stop: Arc<AtomicBool>,
    allowed: Arc<Mutex<Allowed>>,
    handle: Option<std::thread::JoinHandle<(Vec<String>, u32)>>,
}

impl Monitor {
    fn start(addr: SocketAddr, serials: &[u32]) -> Monitor {
        let stop = Arc::new(AtomicBool::new(false));
        let allowed = Arc::new(Mutex::new(Allowed { serials: serials.to_vec(), servfail: false }));
        let (st, al) = (Arc::clone(&stop), Arc::clone(&allowed));
        let handle = std::thread::spawn(move || monitor(addr, &st, &al));
        Monitor { stop, allowed, handle: Some(handle) }
    }

    fn allow(&self, serials: &[u32], servfail: bool) {
        *self.allowed.lock().unwrap() = Allowed { serials: serials.to_vec(), servfail };
    }

    /// Stops and asserts there was no violation.
    fn finish(mut self, log: &str) {
        self.stop.store(true, Ordering::SeqCst);
        let (violations, rounds) = self.handle.take().unwrap().join().unwrap();
        assert!(rounds >= 1, "the monitor never polled");
        assert!(
            violations.is_empty(),
            "{} violations, first: {:?}\nlog:\n{log}",
            violations.len(),
            &violations[..violations.len().min(5)]
        );
    }
}

fn monitor(addr: SocketAddr, stop: &AtomicBool, allowed: &Mutex<Allowed>) -> (Vec<String>, u32) {
    let mut bad = Vec::new();
    let mut newest_seen = 0usize; // index into the allowed serials
    let mut rounds = 0;
    let mut id = 100u16;
    while !stop.load(Ordering::SeqCst) {
        rounds += 1;
        // Another zone: answered within a second.
        let t0 = Instant::now();
        id = id.wrapping_add(1);
        match udp(addr, &query(id, "www.other.test.", t::A, None)).map(|r| parse(&r)) {
            Some(r) if r.rcode() == 0 && r.answer.len() == 1 && t0.elapsed() < Duration::from_secs(1) => {}
            other => bad.push(format!(
                "other.test. not answered in time ({:?}): {:?}",
                t0.elapsed(),
                other.map(|m| m.rcode())
            )),
        }
        for (name, qtype) in
            [(ZONE.to_string(), t::SOA), (format!("first.{ZONE}"), t::A), (format!("last.{ZONE}"), t::A)]
        {
            id = id.wrapping_add(1);
            let Some(raw) = udp(addr, &query(id, &name, qtype, None)) else {
                bad.push(format!("{name}: no answer"));
                continue;
            };
            let al = allowed.lock().unwrap();
            match classify(&raw, qtype, &al) {
                Ok(None) => {}
                Ok(Some(i)) if i >= newest_seen => newest_seen = i,
                Ok(Some(i)) => bad.push(format!(
                    "{name}: serial {} after {} (partial or old data)",
                    al.serials[i], al.serials[newest_seen]
                )),
                Err(e) => bad.push(format!("{name}: {e}")),
            }
        }
        std::thread::sleep(Duration::from_millis(30));
    }
    (bad, rounds)
}

/// Which allowed version an answer comes from (`None`: an accepted
/// SERVFAIL), or what is wrong with it.
fn classify(raw: &[u8], qtype: u16, al: &Allowed) -> Result<Option<usize>, String> {
    let m = levee_wire::message::Message::parse(raw).map_err(|e| format!("malformed response: {e:?}"))?;
    for r in m.answer.iter().chain(&m.authority).chain(&m.additional) {
        if r.rtype != t::OPT {
            levee_zone::zonefile::check_record(r.rtype, &r.rdata).map_err(|e| format!("malformed record: {e}"))?;
        }
    }
    if m.rcode() == 2 && al.servfail {
        return Ok(None);
    }
    if m.rcode() != 0 || m.answer.len() != 1 {
        return Err(format!("rcode {} with {} answers", m.rcode(), m.answer.len()));
    }
    let rd = &m.answer[0].rdata;
    let serial = if qtype == t::SOA { crate::fakeprim::serial_of(rd) } else { rd[3] as u32 };
    al.serials
        .iter()
        .position(|&s| s == serial)
        .map(Some)
        .ok_or(format!("serial {serial} is not one of {:?}", al.serials))
}

//------------ the cases ------------------------------------------------------

/// Issue 15: "Bad record data from a transfer is accepted and served."
/// A with 3 octets, AAAA with 5, a truncated TXT, an empty CAA, a
/// malformed SVCB: each fails the whole transfer, logged with the record,
/// and the old version keeps serving, also from storage after a restart.
#[test]
fn bad_rdata_in_a_transfer_is_refused_whole() {
    let fake = FakePrimary::start(script(1, TIMERS));
    let mut env = Env::start("f-rdata", fake.addr, "");
    assert!(env.wait_serial(1, Duration::from_secs(10)), "{}", env.log());
    let mon = Monitor::start(env.addr(), &[1]);
    let bad: [(u16, &[u8], &str); 5] = [
        (t::A, &[192, 0, 2], "A RDATA must be 4 octets, not 3"),
        (t::AAAA, &[0x20, 1, 0xd, 0xb8, 0], "AAAA RDATA must be 16 octets, not 5"),
        (t::TXT, b"\x0atruncated", "not valid TXT data"),
        (t::CAA, b"", "not valid CAA data"),
        (t::SVCB, b"\x00\x01\x00\x00\x03\x00\x02\x00\x35\x00\x01\x00\x03\x02h2", "not valid SVCB data"),
    ];
    for (i, (rtype, rdata, why)) in bad.iter().enumerate() {
        let serial = 2 + i as u32;
        fake.set(|s| s.zone = version(serial, TIMERS, vec![rec("bad.f.test.", *rtype, rdata)]));
        env.ctl(&["refresh", ZONE]);
        let tname = levee_wire::rtype::type_to_text(*rtype);
        let needle = format!("bad record: bad.f.test. {tname}: ");
        assert!(env.wait_log(&needle, Duration::from_secs(10)), "{needle}\n{}", env.log());
        assert!(env.wait_log(why, Duration::from_secs(10)), "{why}\n{}", env.log());
        env.serves_whole(1);
    }
    mon.finish(&env.log());
    // Restart with the primary gone: the stored copy is version 1, whole.
    drop(fake);
    env.restart();
    env.serves_whole(1);
    env.sigterm_within_2s();
}

/// Issue 15: "A transfer whose first message holds only the SOA is read
/// as up to date." Any split is taken: the SOA alone first, one record per
/// message, everything in one; by AXFR and by IXFR answered in full.
#[test]
fn any_message_split_is_taken() {
    let mut s1 = script(1, TIMERS);
    s1.axfr = Stream::Split(vec![1, usize::MAX]);
    let fake = FakePrimary::start(s1);
    let mut env = Env::start("f-split", fake.addr, "");
    assert!(env.wait_serial(1, Duration::from_secs(10)), "SOA alone first (AXFR); log:\n{}", env.log());
    let mon = Monitor::start(env.addr(), &[1, 2, 3, 4]);
    let extra: Vec<Rec> = (0..30).map(|i| rec(&format!("h{i}.f.test."), t::TXT, b"\x05hello")).collect();
    for (serial, sizes) in [(2, vec![1]), (3, vec![usize::MAX]), (4, vec![1, usize::MAX])] {
        fake.set(|s| {
            s.zone = version(serial, TIMERS, extra.clone());
            s.axfr = Stream::Split(sizes.clone());
        });
        // IXFR is asked (and answered in full with this split).
        env.ctl(&["refresh", ZONE]);
        assert!(env.wait_serial(serial, Duration::from_secs(10)), "split {sizes:?}; log:\n{}", env.log());
        env.serves_whole(serial);
        let (rc, _) = env.a("h29");
        assert_eq!(rc, 0);
    }
    assert!(fake.count(t::IXFR) >= 3, "{:?}", fake.seen());
    mon.finish(&env.log());
    env.sigterm_within_2s();
}

/// Issue 15: "A trickling primary keeps a transfer open without limit; the
/// zone's expire time passes and it still answers NOERROR, zone-status
/// shows expired=false, and retransfer does nothing."
#[test]
fn a_trickling_transfer_does_not_stop_expiry_and_retransfer_cancels_it() {
    // SOA expire 4 s; the trickle sends a record every 0.3 s (well within
    // the idle timeout), forever.
    let timers = [3600, 1, 4, 60];
    let fake = FakePrimary::start(script(1, timers));
    let mut env = Env::start("f-trickle", fake.addr, "");
    assert!(env.wait_serial(1, Duration::from_secs(10)), "{}", env.log());
    let ok_at = Instant::now();
    let mon = Monitor::start(env.addr(), &[1, 2]);
    mon.allow(&[1, 2], true);
    fake.set(|s| {
        s.zone = version(2, timers, vec![]);
        s.axfr = Stream::Trickle { every: Duration::from_millis(300), endless: true };
    });
    env.ctl(&["retransfer", ZONE]);
    // Expired on time, while the transfer goes on.
    let servfail = || udp(env.addr(), &query(3, ZONE, t::SOA, None)).is_some_and(|r| parse(&r).rcode() == 2);
    assert!(wait(Duration::from_secs(8), servfail), "no SERVFAIL past expire; log:\n{}", env.log());
    assert!(ok_at.elapsed() >= Duration::from_secs(3), "expired too early: {:?}", ok_at.elapsed());
    let st = env.zone_status();
    assert!(st.contains("expired=true") && !st.contains("transfer-since=-"), "{st}");
    assert!(fake.sent.load(Ordering::Relaxed) >= 5, "the trickle was going on");
    // retransfer ends the trickle and takes a good version at once.
    fake.set(|s| s.axfr = Stream::Split(vec![usize::MAX]));
    env.ctl(&["retransfer", ZONE]);
    assert!(env.wait_log("cancelling the transfer in progress", Duration::from_secs(5)), "{}", env.log());
    assert!(env.wait_serial(2, Duration::from_secs(10)), "{}", env.log());
    env.serves_whole(2);
    assert!(env.zone_status().contains("expired=false"), "{}", env.zone_status());
    // Trickling again: SIGTERM within 2 s while it goes on.
    fake.set(|s| {
        s.zone = version(3, timers, vec![]);
        s.axfr = Stream::Trickle { every: Duration::from_millis(300), endless: true };
    });
    env.ctl(&["retransfer", ZONE]);
    assert!(wait(Duration::from_secs(5), || env.zone_status().contains("transfer-since=1")));
    mon.finish(&env.log());
    env.sigterm_within_2s();
}

/// Issue 15: limits. A transfer over its time budget and a silent primary
/// (idle timeout) are abandoned; the zone keeps its data and the retry
/// timer goes on (the primary sees the transfer asked again).
#[test]
fn time_budgets_end_a_transfer_and_retries_go_on() {
    let fake = FakePrimary::start(script(1, TIMERS));
    let mut env = Env::start("f-time", fake.addr, "transfer-timeout = 2\ntransfer-idle-timeout = 1");
    assert!(env.wait_serial(1, Duration::from_secs(10)), "{}", env.log());
    let mon = Monitor::start(env.addr(), &[1]);
    fake.set(|s| {
        s.zone = version(2, TIMERS, vec![]);
        s.axfr = Stream::Trickle { every: Duration::from_millis(200), endless: true };
    });
    env.ctl(&["retransfer", ZONE]);
    assert!(env.wait_log("longer than 2 s (transfer-in timeout)", Duration::from_secs(6)), "{}", env.log());
    env.serves_whole(1);
    // Retried (SOA retry 1 s) without being asked.
    let before = fake.count(t::AXFR) + fake.count(t::IXFR);
    assert!(wait(Duration::from_secs(6), || fake.count(t::AXFR) + fake.count(t::IXFR) > before), "{:?}", fake.seen());
    // A primary that sends nothing: the idle timeout.
    fake.set(|s| s.axfr = Stream::Silent);
    assert!(env.wait_log("no message for 1 s (transfer-in idle-timeout)", Duration::from_secs(8)), "{}", env.log());
    env.serves_whole(1);
    assert!(env.zone_status().contains("error=transfer_abandoned"), "{}", env.zone_status());
    mon.finish(&env.log());
    env.sigterm_within_2s();
}

/// RSS of a process (kB), from /proc.
fn rss_kb(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let l = s.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    l.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Issue 15: "An endless AXFR grows memory until a 50-million-record cap;
/// about 244 MB stays held after the primary goes away." It is cut at the
/// record budget (here 500k), and RSS comes back within 10 % of before.
#[test]
fn an_endless_transfer_is_cut_at_its_budget_and_memory_returns() {
    // SOA retry 60 s: no retry while RSS is measured after the cut.
    let timers = [3600, 60, 3600, 60];
    let fake = FakePrimary::start(script(1, timers));
    let mut env = Env::start("f-endless", fake.addr, "transfer-max-records = 500000");
    assert!(env.wait_serial(1, Duration::from_secs(10)), "{}", env.log());
    let pid = env.server().pid();
    let mon = Monitor::start(env.addr(), &[1, 2]);
    std::thread::sleep(Duration::from_millis(300));
    let before = rss_kb(pid);
    fake.set(|s| {
        s.zone = version(2, timers, vec![]);
        s.axfr = Stream::Endless;
    });
    env.ctl(&["refresh", ZONE]);
    let mut peak = before;
    let cut = wait(Duration::from_secs(40), || {
        peak = peak.max(rss_kb(pid));
        env.log().contains("more than 500000 records")
    });
    assert!(cut, "not cut at the budget; peak RSS {peak} kB (before {before} kB); log:\n{}", env.log());
    env.serves_whole(1);
    // Memory handed back.
    let mut after = rss_kb(pid);
    wait(Duration::from_secs(3), || {
        after = rss_kb(pid);
        after * 10 <= before * 11
    });
    eprintln!("endless AXFR: RSS before {before} kB, peak {peak} kB, after the cut {after} kB");
    if std::env::var("SMAPS").is_ok() {
        let sm = std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap();
        let mut cur = String::new();
        for l in sm.lines() {
            if l.contains('-') && !l.starts_with(|c: char| c.is_ascii_uppercase()) {
                cur = l.to_string();
            } else if let Some(v) = l.strip_prefix("Rss:") {
                let kb: u64 = v.trim().trim_end_matches(" kB").parse().unwrap();
                if kb > 1000 {
                    eprintln!("{kb} kB {cur}");
                }
            }
        }
    }
    assert!(peak > before + 20_000, "the stream did use memory: before {before} kB, peak {peak} kB");
    assert!(after * 10 <= before * 11, "RSS after the cut {after} kB, before {before} kB (peak {peak} kB)");
    // The zone is taken once the primary behaves.
    fake.set(|s| s.axfr = Stream::Split(vec![usize::MAX]));
    env.ctl(&["refresh", ZONE]);
    assert!(env.wait_serial(2, Duration::from_secs(10)), "{}", env.log());
    // An endless stream again: SIGTERM within 2 s while it runs.
    fake.set(|s| {
        s.zone = version(3, timers, vec![]);
        s.axfr = Stream::Endless;
    });
    env.ctl(&["retransfer", ZONE]);
    std::thread::sleep(Duration::from_millis(300));
    mon.finish(&env.log());
    env.sigterm_within_2s();
}

/// Issue 15: "An IXFR that deletes a record the secondary does not have is
/// rightly rejected, but levee never falls back to AXFR." It does now, and
/// for an IXFR refused with NOTIMP too.
#[test]
fn a_failed_ixfr_falls_back_to_axfr() {
    let fake = FakePrimary::start(script(1, TIMERS));
    let mut env = Env::start("f-ixfr", fake.addr, "");
    assert!(env.wait_serial(1, Duration::from_secs(10)), "{}", env.log());
    let mon = Monitor::start(env.addr(), &[1, 2, 3]);
    fake.set(|s| {
        s.zone = version(2, TIMERS, vec![]);
        s.ixfr = Ixfr::Diff {
            from: 1,
            removed: vec![rec("nothere.f.test.", t::A, &[192, 0, 2, 99])],
            added: vec![rec("added.f.test.", t::A, &[192, 0, 2, 98])],
        };
    });
    env.ctl(&["refresh", ZONE]);
    assert!(env.wait_serial(2, Duration::from_secs(10)), "{}", env.log());
    env.serves_whole(2);
    assert!(env.wait_log("falling back to AXFR", Duration::from_secs(10)), "{}", env.log());
    assert_eq!((fake.count(t::IXFR), fake.count(t::AXFR)), (1, 2), "{:?}", fake.seen());
    assert_eq!(env.a("added").0, 3, "the AXFR's data, not the IXFR's");
    fake.set(|s| {
        s.zone = version(3, TIMERS, vec![]);
        s.ixfr = Ixfr::Rcode(4);
    });
    env.ctl(&["refresh", ZONE]);
    assert!(env.wait_serial(3, Duration::from_secs(10)), "{}", env.log());
    assert_eq!((fake.count(t::IXFR), fake.count(t::AXFR)), (2, 3), "{:?}", fake.seen());
    mon.finish(&env.log());
    env.sigterm_within_2s();
}

/// Issue 15: "applying an IXFR scans the whole record set per removed
/// record (160k removals: 43 s)". A 200k-record zone, then an IXFR
/// removing 160k of them, applied as an IXFR within seconds (a debug
/// build, transfer and build included).
#[test]
fn an_ixfr_removing_160k_records_is_applied_quickly() {
    let many: Vec<Rec> = (0..200_000u32).map(|i| rec(&format!("h{i}.f.test."), t::A, &i.to_be_bytes())).collect();
    let mut s1 = script(1, TIMERS);
    s1.zone = version(1, TIMERS, many.clone());
    let fake = FakePrimary::start(s1);
    let mut env = Env::start("f-160k", fake.addr, "");
    assert!(env.wait_serial(1, Duration::from_secs(30)), "{}", env.log());
    let mon = Monitor::start(env.addr(), &[1, 2]);
    let (mut gone, mut kept) = (Vec::new(), Vec::new());
    for (i, r) in many.into_iter().enumerate() {
        if i % 5 != 0 {
            gone.push(r)
        } else {
            kept.push(r)
        }
    }
    assert_eq!(gone.len(), 160_000);
    fake.set(|s| {
        s.zone = version(2, TIMERS, kept.clone());
        let mut removed = gone.clone();
        removed.push(rec("first.f.test.", t::A, &[192, 0, 2, 1]));
        removed.push(rec("last.f.test.", t::A, &[192, 0, 2, 1]));
        s.ixfr = Ixfr::Diff {
            from: 1,
            removed,
            added: vec![rec("first.f.test.", t::A, &[192, 0, 2, 2]), rec("last.f.test.", t::A, &[192, 0, 2, 2])],
        };
    });
    let t0 = Instant::now();
    env.ctl(&["refresh", ZONE]);
    assert!(env.wait_serial(2, Duration::from_secs(30)), "{}", env.log());
    eprintln!("IXFR removing 160000 of 200004 records: serial 2 served {:?} after the refresh", t0.elapsed());
    assert!(env.wait_log("kind=\"IXFR\"", Duration::from_secs(10)), "applied as an IXFR: {}", env.log());
    env.serves_whole(2);
    assert_eq!(env.a("h1").0, 3);
    assert_eq!(env.a("h5").1, vec![5u32.to_be_bytes().to_vec()]);
    mon.finish(&env.log());
    env.sigterm_within_2s();
}

/// A NOTIFY for f.test. announcing `serial` (or no serial).
fn notify(id: u16, serial: Option<u32>) -> Vec<u8> {
    let a = apex();
    let mut m = vec![(id >> 8) as u8, id as u8, 0x20, 0, 0, 1, 0, serial.is_some() as u8, 0, 0, 0, 0];
    m.extend_from_slice(&a);
    m.extend_from_slice(&[0, 6, 0, 1]);
    if let Some(s) = serial {
        let rd = soa_rdata(&a, s, TIMERS);
        m.extend_from_slice(&[0xc0, 12, 0, 6, 0, 1, 0, 0, 1, 44]);
        m.extend_from_slice(&(rd.len() as u16).to_be_bytes());
        m.extend_from_slice(&rd);
    }
    m
}

/// Sends `n` NOTIFYs as fast as possible and reads the answers.
fn notify_burst(addr: SocketAddr, n: u16, serial: Option<u32>) -> usize {
    let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    for i in 0..n {
        s.send_to(&notify(i, serial), addr).unwrap();
    }
    let mut buf = [0u8; 512];
    let mut acked = 0;
    while s.recv_from(&mut buf).is_ok() {
        acked += (buf[3] & 0xF == 0) as usize;
    }
    acked
}

/// Issue 15: "2,000 NOTIFYs ... gave 2,000 log lines and 66 SOA queries
/// to the primary in 0.2 s." A burst makes one refresh and a summary.
#[test]
fn a_notify_flood_makes_one_refresh_and_a_summary() {
    let fake = FakePrimary::start(script(1, TIMERS));
    let mut env = Env::start("f-notify", fake.addr, "");
    assert!(env.wait_serial(1, Duration::from_secs(10)), "{}", env.log());
    let mon = Monitor::start(env.addr(), &[1, 2, 3]);
    std::thread::sleep(Duration::from_millis(1100));
    fake.set(|s| s.zone = version(2, TIMERS, vec![]));
    let (soa0, xfr0) = (fake.count(t::SOA), fake.count(t::IXFR) + fake.count(t::AXFR));
    let acked = notify_burst(env.addr(), 2000, Some(2));
    // Not all answered: response rate limiting applies to NOTIFY answers too.
    assert!(acked >= 100, "NOTIFYs acknowledged: {acked}");
    assert!(env.wait_serial(2, Duration::from_secs(5)), "{}", env.log());
    std::thread::sleep(Duration::from_millis(2500));
    let soa = fake.count(t::SOA) - soa0;
    let xfr = fake.count(t::IXFR) + fake.count(t::AXFR) - xfr0;
    assert_eq!((soa, xfr), (1, 1), "SOA queries and transfers for one burst; log:\n{}", env.log());
    // Without a serial in them: SOA checks at most one a second.
    fake.set(|s| s.zone = version(3, TIMERS, vec![]));
    let soa0 = fake.count(t::SOA);
    let t0 = Instant::now();
    for _ in 0..4 {
        notify_burst(env.addr(), 500, None);
    }
    assert!(env.wait_serial(3, Duration::from_secs(5)), "{}", env.log());
    std::thread::sleep(Duration::from_millis(1500));
    let secs = t0.elapsed().as_secs_f64();
    let soa = fake.count(t::SOA) - soa0;
    assert!((soa as f64) <= secs + 2.0, "{soa} SOA queries in {secs:.1} s");
    // Logged: a line per scheduled refresh at most once a second, and a
    // summary of the others.
    let lines = env.log().matches("NOTIFY received").count();
    assert!(lines <= 2 + secs as usize, "{lines} NOTIFY lines:\n{}", env.log());
    assert!(env.wait_log("NOTIFY summary for the last 10 s", Duration::from_secs(12)), "{}", env.log());
    for l in env.log().lines().filter(|l| l.contains("NOTIFY")) {
        eprintln!("{l}");
    }
    mon.finish(&env.log());
    env.sigterm_within_2s();
}

/// The RDATA check a transfer applies accepts every record the zone
/// loader reads from the golden zones (all the types levee knows, signed
/// zones included): a levee primary's zone always transfers.
#[test]
fn every_loadable_record_passes_the_transfer_check() {
    let mut n = 0;
    for suite in std::fs::read_dir(crate::support::repo().join("tests/golden")).unwrap() {
        let zdir = suite.unwrap().path().join("zones");
        let Ok(rd) = std::fs::read_dir(&zdir) else { continue };
        // Zones a suite marks broken (levee-broken) do not load on purpose.
        let manifest = std::fs::read_to_string(zdir.join("manifest.json")).unwrap_or_default();
        let manifest: serde_json::Value = serde_json::from_str(&manifest).expect("manifest.json");
        let broken: Vec<&str> = manifest
            .get("zones")
            .and_then(serde_json::Value::as_array)
            .into_iter()
            .flatten()
            .filter(|z| z.get("broken").and_then(serde_json::Value::as_bool).unwrap_or(false))
            .filter_map(|z| z.get("file").and_then(serde_json::Value::as_str))
            .collect();
        for e in rd {
            let p = e.unwrap().path();
            if p.extension().is_none_or(|x| x != "zone") {
                continue;
            }
            let fname = p.file_name().unwrap().to_str().unwrap();
            if broken.contains(&fname) {
                continue;
            }
            let stem = p.file_stem().unwrap().to_str().unwrap().to_string();
            let origin = levee_wire::name::from_text(&format!("{stem}."), None).unwrap();
            let z = levee_zone::load_file(&p, &origin).unwrap_or_else(|d| panic!("{}: {:?}", p.display(), d[0])).zone;
            for r in levee_zone::journal::records(&z) {
                levee_zone::zonefile::check_record(r.rtype, &r.rdata).unwrap_or_else(|e| {
                    panic!("{}: {} {}: {e}", p.display(), levee_wire::name::to_text(&r.owner), r.rtype)
                });
                n += 1;
            }
        }
    }
    assert!(n > 500, "{n} records checked");
}

/// A transfer the primary closes before its closing SOA (a busy primary
/// shedding connections) is retried like a network failure, after 1 s,
/// not after the SOA retry: a zone never received (a new catalog member)
/// would otherwise wait 30 s or more for it.
#[test]
fn a_transfer_cut_before_its_closing_soa_is_retried_within_seconds() {
    let mut s = script(1, [3600, 3600, 86400, 60]);
    s.axfr = Stream::Cut(2);
    let fake = FakePrimary::start(s);
    let env = Env::start("f-cut", fake.addr, "");
    assert!(env.wait_log("closed the transfer before its closing SOA", Duration::from_secs(10)), "{}", env.log());
    fake.set(|s| s.axfr = Stream::Split(vec![usize::MAX]));
    assert!(env.wait_serial(1, Duration::from_secs(8)), "not retried within 8 s; log:\n{}", env.log());
    env.serves_whole(1);
}

/// A zone with no data (a new catalog member, a zone never received)
/// is transferred by AXFR at once, without a SOA query first (as Knot
/// does): one query fewer per new zone at the primary. A zone with
/// data still asks the SOA first (after a restart from its stored copy:
/// a SOA query, no transfer).
#[test]
fn a_new_zone_is_transferred_without_a_soa_query_first() {
    let fake = FakePrimary::start(script(1, TIMERS));
    let mut env = Env::start("f-nosoa", fake.addr, "");
    assert!(env.wait_serial(1, Duration::from_secs(10)), "{}", env.log());
    assert_eq!((fake.count(t::SOA), fake.count(t::AXFR), fake.count(t::IXFR)), (0, 1, 0), "{:?}", fake.seen());
    let copy = env._dir.path().join("store").join("f.test.zone");
    assert!(wait(Duration::from_secs(10), || copy.exists()), "no stored copy; log:\n{}", env.log());
    env.restart();
    assert!(env.wait_serial(1, Duration::from_secs(10)), "{}", env.log());
    assert!(wait(Duration::from_secs(10), || fake.count(t::SOA) >= 1), "{:?}", fake.seen());
    assert_eq!((fake.count(t::AXFR), fake.count(t::IXFR)), (1, 0), "{:?}", fake.seen());
    env.serves_whole(1);
}
