//! Replication in the daemon (issue 5): journals and NOTIFY for primary
//! zones, the refresh loop of secondary zones, and the hooks the query
//! handlers call. The protocol logic is sans-IO in `levee-xfr`,
//! `levee-tsig` and `levee-zone::journal`; this module adds sockets,
//! timers, files and logging.
//!
//! Publication: every change to the served `ZoneSet` (SIGHUP reload, a
//! received zone, expiry) takes [`publish_lock`], loads the current set,
//! builds a new one and stores it, so no update is lost.
//!
//! Tasks run on the TCP runtime; zone building and file writing run on
//! blocking threads. The UDP workers never wait for any of it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;
use levee_config::repl::{AclRule, Remote};
use levee_config::{Config, ZoneConfig};
use levee_tsig::{Key, KeyRing};
use levee_wire::name::{self, NameBuf};
use levee_wire::rtype::t;
use levee_xfr::{Received, Receiver, Timers, XfrError};
use levee_zone::journal::{self, Journal, Limits, Rr};
use levee_zone::{Acl, Zone, ZoneEntry, ZoneSet};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::Notify;

type Shared = Arc<ArcSwap<ZoneSet>>;

/// How long one UDP exchange waits, and one TCP read.
const UDP_TIMEOUT: Duration = Duration::from_secs(2);
const TCP_TIMEOUT: Duration = Duration::from_secs(10);
/// NOTIFY attempts per target; attempt n waits 0.25 s × 2^(n-1) (at most
/// 8 s) for the acknowledgement before the next (about 32 s in all).
const NOTIFY_ATTEMPTS: u32 = 8;

static PUBLISH: Mutex<()> = Mutex::new(());
static STATE: OnceLock<Arc<Repl>> = OnceLock::new();

/// Serialises changes to the served set.
pub fn publish_lock() -> MutexGuard<'static, ()> {
    PUBLISH.lock().unwrap_or_else(|e| e.into_inner())
}

fn wall() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Adds configured ACL rules (keyed or not) to an ACL.
pub fn add_rules(a: &mut Acl, rules: &[AclRule]) {
    for r in rules {
        match &r.key {
            Some(k) => {
                if let Ok(n) = name::from_text(k, Some(b"\x00")) {
                    a.push_keyed(r.prefix, &n);
                }
            }
            None => {
                if let Some((ip, len)) = r.prefix {
                    a.push(ip, len);
                }
            }
        }
    }
}

pub fn clone_entry(e: &ZoneEntry) -> ZoneEntry {
    ZoneEntry {
        zone: Arc::clone(&e.zone),
        transfer: e.transfer.clone(),
        notify: e.notify.clone(),
        expired: e.expired,
        journal: e.journal.clone(),
    }
}

/// Status of a secondary zone, for `levee ctl zone-status`.
#[derive(Clone, Debug, Default)]
pub struct SecStatus {
    /// Serial served (none before the first transfer).
    pub serial: Option<u32>,
    /// Wall-clock time of the last transfer.
    pub last_transfer: Option<u64>,
    /// What it was (AXFR, IXFR).
    pub last_kind: &'static str,
    /// Next check (wall clock).
    pub next_refresh: u64,
    /// Expiry (wall clock).
    pub expires: Option<u64>,
    /// Past expire.
    pub expired: bool,
    /// Last error.
    pub last_error: Option<String>,
}

/// What one secondary zone needs.
struct Secondary {
    name: String,
    /// Where the received zone is stored (`file`, else `<storage-dir>/<name>zone`).
    file: Option<PathBuf>,
    apex: NameBuf,
    primaries: Vec<Remote>,
    transfer: Acl,
    notify: Acl,
    kick: Notify,
    force_axfr: std::sync::atomic::AtomicBool,
    status: Mutex<SecStatus>,
    /// Differences received by IXFR, for IXFR out to our own secondaries.
    journal: Mutex<Journal>,
}

/// The replication state shared by tasks and hooks.
pub struct Repl {
    shared: Shared,
    keys: KeyRing,
    storage: Option<PathBuf>,
    secondaries: HashMap<Vec<u8>, Arc<Secondary>>,
    /// Primary zones' NOTIFY targets, by apex.
    notify: HashMap<Vec<u8>, Vec<Remote>>,
    /// Log lines about refused requests in the current second (bounded).
    log_budget: AtomicU64,
}

impl Repl {
    fn key(&self, name_text: &Option<String>) -> Option<&Key> {
        let n = name::from_text(name_text.as_deref()?, Some(b"\x00")).ok()?;
        self.keys.find(&n)
    }
}

fn zone_file(storage: &Path, zname: &str) -> PathBuf {
    let base = if zname == "." { "root.".to_string() } else { zname.to_string() };
    storage.join(format!("{base}zone"))
}

fn journal_file(storage: &Path, zname: &str) -> PathBuf {
    let base = if zname == "." { "root.".to_string() } else { zname.to_string() };
    storage.join(format!("{base}journal"))
}

/// A zone that answers SERVFAIL until the first transfer.
fn placeholder(apex: &[u8]) -> Option<Arc<Zone>> {
    let text = "@ 0 IN SOA invalid. invalid. 0 0 0 0 0\n@ 0 IN NS invalid.\n";
    let b = levee_zone::load(levee_zone::Source::Memory { name: "<placeholder>", data: text.as_bytes() }, apex).ok()?;
    Some(Arc::new(b.zone))
}

/// At start: reads journals of primary zones and the stored copies of
/// secondary zones into `set`, and records what the tasks need.
pub fn init(cfg: &Config, set: &mut ZoneSet, shared_later: &mut Option<Arc<Repl>>) {
    let mut keys = KeyRing::new();
    for k in &cfg.keys {
        keys.add(k.clone());
    }
    let storage = cfg.storage_dir.clone();
    if let Some(d) = &storage {
        if let Err(e) = std::fs::create_dir_all(d) {
            tracing::error!("storage directory {}: {e}", d.display());
        }
    }
    let mut secondaries = HashMap::new();
    let mut notify = HashMap::new();
    for z in &cfg.zones {
        let Ok(apex) = name::from_text(&z.name, None).map(|n| name::to_lowercase(&n)) else { continue };
        if !z.repl.notify.is_empty() {
            notify.insert(apex.as_slice().to_vec(), z.repl.notify.clone());
        }
        if z.repl.primaries.is_empty() {
            continue;
        }
        let sec = secondary_entry(z, &apex, storage.as_deref(), set);
        secondaries.insert(apex.as_slice().to_vec(), Arc::new(sec));
    }
    // Journals of primary zones.
    if let Some(d) = &storage {
        let entries: Vec<ZoneEntry> = set.entries().iter().map(clone_entry).collect();
        for mut e in entries {
            let apex = e.zone.apex().to_vec();
            if secondaries.contains_key(&apex) || e.transfer.is_empty() {
                continue;
            }
            let zname = name::to_text(&apex);
            let path = journal_file(d, &zname);
            match std::fs::read(&path) {
                Ok(b) => match Journal::decode(&b) {
                    Ok(j) if j.last_serial() == Some(e.zone.serial()) => {
                        tracing::info!(zone = %zname, from = j.first_serial(), "journal loaded");
                        e.journal = Some(Arc::new(j));
                        set.insert(e);
                    }
                    Ok(_) => {
                        tracing::info!(zone = %zname, "journal does not end at the served serial; IXFR starts afresh")
                    }
                    Err(err) => tracing::warn!(zone = %zname, "journal {}: {err}; ignored", path.display()),
                },
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                Err(err) => tracing::warn!(zone = %zname, "journal {}: {err}", path.display()),
            }
        }
    }
    let r = Arc::new(Repl {
        shared: Arc::new(ArcSwap::from_pointee(ZoneSet::new())),
        keys,
        storage,
        secondaries,
        notify,
        log_budget: AtomicU64::new(0),
    });
    *shared_later = Some(r);
}

fn secondary_entry(z: &ZoneConfig, apex: &NameBuf, storage: Option<&Path>, set: &mut ZoneSet) -> Secondary {
    let mut transfer = Acl::none();
    for &(ip, len) in &z.allow_transfer {
        transfer.push(ip, len);
    }
    add_rules(&mut transfer, &z.repl.transfer_keyed);
    let mut notify = Acl::none();
    add_rules(&mut notify, &z.repl.allow_notify);
    let mut status = SecStatus::default();
    // A stored copy is served at once; its age (the file's mtime is the
    // last time a primary confirmed it) decides whether it is expired.
    let mut loaded = None;
    if let Some(d) = storage {
        let path = z.file.clone().unwrap_or_else(|| zone_file(d, &z.name));
        if path.exists() {
            match levee_zone::load_file(&path, apex) {
                Ok(b) => {
                    let age = std::fs::metadata(&path)
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|m| SystemTime::now().duration_since(m).ok())
                        .map_or(0, |d| d.as_secs());
                    loaded = Some((Arc::new(b.zone), age));
                }
                Err(diags) => {
                    for d in diags.iter().filter(|d| !d.warning) {
                        tracing::error!("{d}");
                    }
                    tracing::error!(zone = %z.name, "stored copy does not load; waiting for a transfer");
                }
            }
        }
    }
    let (zone, expired) = match loaded {
        Some((zone, age)) => {
            let soa = zone.first_rdata(zone.soa());
            let mut tm = Timers::new(0);
            tm.set_from_soa(soa);
            let now = wall();
            tm.ok(now.saturating_sub(age));
            let expired = tm.expired(now);
            tracing::info!(zone = %z.name, serial = zone.serial(), age, expired, "secondary zone loaded from storage");
            status.serial = Some(zone.serial());
            status.expires = tm.expires_at();
            status.expired = expired;
            (Some(zone), expired)
        }
        None => (placeholder(apex), true),
    };
    if let Some(zone) = zone {
        set.insert(ZoneEntry { zone, transfer: transfer.clone(), notify: notify.clone(), expired, journal: None });
    }
    Secondary {
        name: z.name.clone(),
        file: z.file.clone().or_else(|| storage.map(|d| zone_file(d, &z.name))),
        apex: *apex,
        primaries: z.repl.primaries.clone(),
        transfer,
        notify,
        kick: Notify::new(),
        force_axfr: std::sync::atomic::AtomicBool::new(false),
        status: Mutex::new(status),
        journal: Mutex::new(Journal::new()),
    }
}

/// Starts the tasks: NOTIFY for primary zones, a refresh loop per
/// secondary zone.
pub fn start(rt: &tokio::runtime::Runtime, shared: Shared, prepared: Option<Arc<Repl>>) {
    let Some(r) = prepared else { return };
    let r = Arc::new(Repl {
        shared,
        keys: r.keys.clone(),
        storage: r.storage.clone(),
        secondaries: r.secondaries.clone(),
        notify: r.notify.clone(),
        log_budget: AtomicU64::new(0),
    });
    let _ = STATE.set(Arc::clone(&r));
    let set = r.shared.load_full();
    for apex in r.notify.keys() {
        // A secondary zone notifies once it has data (after a transfer).
        if r.secondaries.get(apex).is_some_and(|s| s.status.lock().map_or(true, |st| st.serial.is_none())) {
            continue;
        }
        if let Some(e) = set.exact(apex) {
            send_notifies(rt.handle(), &r, &e.zone);
        }
    }
    for s in r.secondaries.values() {
        let (r, s) = (Arc::clone(&r), Arc::clone(s));
        rt.spawn(async move { secondary_loop(r, s).await });
    }
    if let Some(l) = crate::ctl::take_listener() {
        let r = Arc::clone(&r);
        rt.spawn(async move { crate::ctl::serve(l, r).await });
    }
}

/// After a reload built `new` from the zone files: keeps the secondary
/// zones, extends the journals of changed primary zones, and sends
/// NOTIFY for them. Called with the publish lock held; the NOTIFYs go
/// out when the caller calls [`Notifies::send`] after publishing `new`
/// (a secondary asking at once must see the new serial).
pub fn after_reload(old: &ZoneSet, new: &mut ZoneSet) -> Notifies {
    let mut pending = Notifies(Vec::new());
    let Some(r) = STATE.get() else { return pending };
    for apex in r.secondaries.keys() {
        if let Some(e) = old.exact(apex) {
            new.insert(clone_entry(e));
        }
    }
    let now = wall();
    let changed: Vec<ZoneEntry> = new
        .entries()
        .iter()
        .filter(|e| !r.secondaries.contains_key(e.zone.apex()))
        .filter_map(|e| {
            let o = old.exact(e.zone.apex())?;
            if Arc::ptr_eq(&o.zone, &e.zone) {
                return None;
            }
            let mut n = clone_entry(e);
            if o.zone.serial() == e.zone.serial() {
                n.journal = o.journal.clone();
                return Some(n);
            }
            if !e.transfer.is_empty() {
                let mut j = o.journal.as_deref().cloned().unwrap_or_default();
                let d = journal::diff(&o.zone, &e.zone);
                tracing::info!(
                    zone = %name::to_text(e.zone.apex()),
                    from = d.from(),
                    to = d.to(),
                    removed = d.removed.len(),
                    added = d.added.len(),
                    "journal: difference recorded"
                );
                j.push(d, now, Limits::default());
                if let Some(dir) = &r.storage {
                    write_atomic(&journal_file(dir, &name::to_text(e.zone.apex())), &j.encode());
                }
                n.journal = Some(Arc::new(j));
            }
            Some(n)
        })
        .collect();
    for e in changed {
        let notify = old.exact(e.zone.apex()).is_some_and(|o| o.zone.serial() != e.zone.serial());
        let zone = Arc::clone(&e.zone);
        new.insert(e);
        if notify {
            pending.0.push(zone);
        }
    }
    pending
}

/// NOTIFYs to send once a reloaded set is published.
#[must_use]
pub struct Notifies(Vec<Arc<Zone>>);

impl Notifies {
    /// Sends them (on the runtime; retried until acknowledged).
    pub fn send(self) {
        let (Some(r), Some(h)) = (STATE.get(), RUNTIME.get()) else { return };
        for zone in &self.0 {
            send_notifies(h, r, zone);
        }
    }
}

/// Frees a replaced zone set (or record list) on a background thread.
///
/// Whoever drops the last reference to a large zone pays for freeing it:
/// about 100 ms of CPU for 1M delegations. The query threads must never be
/// that one, so the retiring thread keeps its reference until it is the
/// only one left: a busy worker lets go of the old set on its next query,
/// an idle one when its receive times out (`UdpHandler::idle`), the TCP
/// thread when its request is answered. Only then is the value dropped,
/// here, in the idle scheduling class (`levee_io::prio`).
pub fn retire<T: Send + Sync + 'static>(old: Arc<T>) {
    let _ = std::thread::Builder::new().name("levee-retire".into()).spawn(move || {
        levee_io::prio::background_current_thread();
        let mut old = old;
        let mut wait = Duration::from_millis(50);
        loop {
            match Arc::try_unwrap(old) {
                Ok(last) => {
                    drop(last);
                    return;
                }
                Err(still_shared) => {
                    old = still_shared;
                    std::thread::sleep(wait);
                    wait = (wait * 2).min(Duration::from_secs(1));
                }
            }
        }
    });
}

/// The runtime handle, for hooks called from plain threads.
pub static RUNTIME: OnceLock<tokio::runtime::Handle> = OnceLock::new();

fn write_atomic(path: &Path, data: &[u8]) -> bool {
    let tmp = path.with_extension("tmp");
    let r = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        std::io::Write::write_all(&mut f, data)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = r {
        tracing::error!("cannot write {}: {e}", path.display());
        return false;
    }
    true
}

//------------ hooks for the query handlers -----------------------------------

/// Called by the UDP and TCP handlers after `respond` produced `resp`:
/// schedules a refresh after an accepted NOTIFY and logs refused TSIG and
/// transfer requests (at most 20 lines a second). Does nothing for
/// ordinary answers (two header octets are read).
#[inline]
pub fn on_reply(query: &[u8], resp: &[u8], client: impl std::fmt::Display) {
    if resp.len() < 12 {
        return;
    }
    let rc = resp[3] & 0xF;
    let is_notify = (resp[2] >> 3) & 0xF == levee_wire::header::opcode::NOTIFY;
    if !is_notify && rc != 9 && rc != 5 {
        return;
    }
    on_notify_or_refusal(query, resp, client, is_notify, rc);
}

/// The rare replies [`on_reply`] acts on, out of the query path's line.
#[inline(never)]
fn on_notify_or_refusal(query: &[u8], resp: &[u8], client: impl std::fmt::Display, is_notify: bool, rc: u8) {
    let Some(r) = STATE.get() else { return };
    if is_notify && levee_answer::tsig::accepted_notify(resp) {
        if let Some(z) = levee_answer::tsig::notify_zone(query) {
            if let Some(s) = r.secondaries.get(z.as_slice()) {
                tracing::info!(zone = %s.name, %client, "NOTIFY received: refreshing");
                s.kick.notify_one();
            }
        }
        return;
    }
    // Refusals: log with the reason, bounded.
    let sec = wall();
    let b = r.log_budget.load(Ordering::Relaxed);
    let (bsec, used) = (b >> 8, b & 0xFF);
    let next = if bsec == sec { used + 1 } else { 1 };
    if next > 20 {
        return;
    }
    r.log_budget.store(sec << 8 | next, Ordering::Relaxed);
    if rc == 9 {
        if let Some((e, why)) = levee_answer::tsig::failure_reason(query, &r.keys, sec as u32) {
            tracing::warn!(%client, key = %why, "TSIG check failed: {e}");
        }
        return;
    }
    if let levee_wire::query::Parsed::Query(q) = levee_wire::query::parse_query(query) {
        let what = match (q.opcode(), q.qtype) {
            (levee_wire::header::opcode::NOTIFY, _) => "NOTIFY",
            (_, t::AXFR) => "AXFR",
            (_, t::IXFR) => "IXFR",
            _ => return,
        };
        tracing::warn!(%client, zone = %name::to_text(&q.qname), "{what} refused: not allowed by the zone's ACL");
    }
}

//------------ NOTIFY out -------------------------------------------------------

fn send_notifies(h: &tokio::runtime::Handle, r: &Arc<Repl>, zone: &Arc<Zone>) {
    let Some(targets) = r.notify.get(zone.apex()) else { return };
    let soa = Rr {
        owner: zone.apex().to_vec(),
        rtype: t::SOA,
        ttl: zone.rrset(zone.soa()).ttl,
        rdata: zone.first_rdata(zone.soa()).to_vec(),
    };
    for tgt in targets.clone() {
        let (r, soa) = (Arc::clone(r), soa.clone());
        h.spawn(async move { notify_one(r, tgt, soa).await });
    }
}

async fn notify_one(r: Arc<Repl>, tgt: Remote, soa: Rr) {
    let zname = name::to_text(&soa.owner);
    let serial = journal::soa_serial(&soa.rdata).unwrap_or(0);
    let key = r.key(&tgt.key).cloned();
    let mut wait = Duration::from_millis(250);
    for attempt in 1..=NOTIFY_ATTEMPTS {
        let started = tokio::time::Instant::now();
        let req = levee_xfr::request(random_id(), &soa.owner, t::SOA, Some(&soa), true, key.as_ref(), wall());
        match udp_exchange(tgt.addr, &req, key.as_ref(), wait).await {
            Ok(_) => {
                tracing::info!(zone = %zname, serial, target = %tgt.addr, attempt, "NOTIFY acknowledged");
                return;
            }
            Err(e) => tracing::debug!(zone = %zname, target = %tgt.addr, attempt, "NOTIFY: {e}"),
        }
        // An error that came at once (ICMP unreachable) still waits its turn.
        tokio::time::sleep_until(started + wait).await;
        wait = (wait * 2).min(Duration::from_secs(8));
    }
    tracing::warn!(zone = %zname, serial, target = %tgt.addr, "NOTIFY not acknowledged after {NOTIFY_ATTEMPTS} attempts");
}

//------------ a small DNS client -----------------------------------------------

fn random_id() -> u16 {
    let mut b = [0u8; 2];
    if getrandom::getrandom(&mut b).is_err() {
        return (wall() as u16).wrapping_mul(31421);
    }
    u16::from_be_bytes(b)
}

#[derive(Debug)]
enum Fail {
    Io(std::io::Error),
    Xfr(XfrError),
    Build(String),
}

impl std::fmt::Display for Fail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fail::Io(e) => write!(f, "{e}"),
            Fail::Xfr(e) => write!(f, "{e}"),
            Fail::Build(e) => write!(f, "received zone does not load: {e}"),
        }
    }
}

impl From<std::io::Error> for Fail {
    fn from(e: std::io::Error) -> Self {
        Fail::Io(e)
    }
}

impl From<XfrError> for Fail {
    fn from(e: XfrError) -> Self {
        Fail::Xfr(e)
    }
}

fn timeout_err() -> Fail {
    Fail::Io(std::io::ErrorKind::TimedOut.into())
}

async fn udp_exchange(
    addr: SocketAddr,
    req: &levee_xfr::Request,
    key: Option<&Key>,
    timeout: Duration,
) -> Result<levee_wire::message::Message, Fail> {
    let bind: SocketAddr = if addr.is_ipv4() { "0.0.0.0:0".parse().unwrap() } else { "[::]:0".parse().unwrap() };
    let sock = UdpSocket::bind(bind).await?;
    sock.connect(addr).await?;
    sock.send(&req.msg).await?;
    let mut buf = vec![0u8; 65535];
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let n = tokio::time::timeout_at(deadline, sock.recv(&mut buf)).await.map_err(|_| timeout_err())??;
        match levee_xfr::check_response(req, &buf[..n], key, wall()) {
            Err(XfrError::Mismatch) => continue, // a stray datagram
            r => return r.map_err(Fail::Xfr),
        }
    }
}

async fn tcp_connect_send(addr: SocketAddr, msg: &[u8]) -> Result<TcpStream, Fail> {
    let mut s = tokio::time::timeout(TCP_TIMEOUT, TcpStream::connect(addr)).await.map_err(|_| timeout_err())??;
    let mut out = (msg.len() as u16).to_be_bytes().to_vec();
    out.extend_from_slice(msg);
    tokio::time::timeout(TCP_TIMEOUT, s.write_all(&out)).await.map_err(|_| timeout_err())??;
    Ok(s)
}

async fn tcp_read(s: &mut TcpStream, buf: &mut Vec<u8>) -> Result<(), Fail> {
    let mut len = [0u8; 2];
    tokio::time::timeout(TCP_TIMEOUT, s.read_exact(&mut len)).await.map_err(|_| timeout_err())??;
    buf.resize(u16::from_be_bytes(len) as usize, 0);
    tokio::time::timeout(TCP_TIMEOUT, s.read_exact(buf)).await.map_err(|_| timeout_err())??;
    Ok(())
}

async fn soa_of(addr: SocketAddr, apex: &[u8], key: Option<&Key>) -> Result<Rr, Fail> {
    let req = levee_xfr::request(random_id(), apex, t::SOA, None, false, key, wall());
    let m = match udp_exchange(addr, &req, key, UDP_TIMEOUT).await {
        Err(Fail::Xfr(XfrError::Truncated)) => {
            let mut s = tcp_connect_send(addr, &req.msg).await?;
            let mut buf = Vec::new();
            tcp_read(&mut s, &mut buf).await?;
            levee_xfr::check_response(&req, &buf, key, wall())?
        }
        r => r?,
    };
    levee_xfr::soa_answer(&m, apex).ok_or(Fail::Xfr(XfrError::BadStructure))
}

async fn transfer(
    addr: SocketAddr,
    apex: &[u8],
    ours: Option<&Rr>,
    key: Option<&Key>,
) -> Result<(Received, &'static str), Fail> {
    let qtype = if ours.is_some() { t::IXFR } else { t::AXFR };
    let req = levee_xfr::request(random_id(), apex, qtype, ours, false, key, wall());
    let mut s = tcp_connect_send(addr, &req.msg).await?;
    let our_serial = ours.and_then(|r| journal::soa_serial(&r.rdata));
    let mut rx = Receiver::new(&req, apex, our_serial, key, wall());
    let mut buf = Vec::new();
    // Bounded: every read has a timeout and the receiver caps the records.
    loop {
        tcp_read(&mut s, &mut buf).await?;
        if let Some(r) = rx.message(&buf)? {
            let kind = match (&r, qtype) {
                (Received::Incremental(_), _) => "IXFR",
                (Received::UpToDate(_), _) => "none",
                (Received::Full(_), t::IXFR) => "IXFR (full)",
                _ => "AXFR",
            };
            return Ok((r, kind));
        }
    }
}

//------------ the secondary loop ----------------------------------------------

enum Outcome {
    UpToDate,
    Updated,
}

async fn secondary_loop(r: Arc<Repl>, s: Arc<Secondary>) {
    let mut timers = Timers::new(wall());
    let mut records: Option<Arc<Vec<Rr>>> = None;
    // Data loaded from storage: its records, and timers from its age.
    if let Some(e) = r.shared.load().exact(&s.apex) {
        let st = s.status.lock().map(|x| x.clone()).unwrap_or_default();
        if st.serial.is_some() {
            records = Some(Arc::new(journal::records(&e.zone)));
            timers.set_from_soa(e.zone.first_rdata(e.zone.soa()));
            if let Some(exp) = st.expires {
                timers.last_ok = Some(exp.saturating_sub(timers.expire as u64));
            }
            // Check with the primary at once anyway.
            timers.next_check = wall();
        }
    }
    let mut expired_published = s.status.lock().map(|x| x.expired).unwrap_or(true);
    loop {
        let now = wall();
        let wake = timers.next_wake(now);
        if wake > now {
            let sleep = tokio::time::sleep(Duration::from_secs(wake - now));
            tokio::select! {
                _ = sleep => {}
                _ = s.kick.notified() => { timers.next_check = wall(); }
            }
        }
        let now = wall();
        if records.is_some() && timers.expired(now) && !expired_published {
            tracing::warn!(zone = %s.name, "zone expired: no primary reached for the SOA expire time; answering SERVFAIL");
            set_expired(&r, &s, true).await;
            expired_published = true;
        }
        if timers.next_check > now {
            continue;
        }
        match refresh(&r, &s, &mut records, &mut timers).await {
            Ok(o) => {
                timers.ok(wall());
                if expired_published && records.is_some() {
                    if matches!(o, Outcome::UpToDate) {
                        set_expired(&r, &s, false).await;
                    }
                    expired_published = false;
                    tracing::info!(zone = %s.name, "zone current again");
                }
                if let (Outcome::UpToDate, Some(f), Some(_)) = (&o, &s.file, &records) {
                    // The file's mtime is the last confirmation (see init).
                    if let Ok(fh) = std::fs::File::options().append(true).open(f) {
                        let _ = fh.set_modified(SystemTime::now());
                    }
                }
                if let Ok(mut st) = s.status.lock() {
                    st.last_error = None;
                }
            }
            Err(e) => {
                let now = wall();
                timers.failed(now);
                tracing::warn!(zone = %s.name, "refresh failed: {e}; retrying in {} s", timers.next_check - now);
                if let Ok(mut st) = s.status.lock() {
                    st.last_error = Some(e.to_string());
                }
            }
        }
        if let Ok(mut st) = s.status.lock() {
            st.next_refresh = timers.next_check;
            st.expires = timers.expires_at();
            st.expired = expired_published;
        }
    }
}

async fn refresh(
    r: &Arc<Repl>,
    s: &Arc<Secondary>,
    records: &mut Option<Arc<Vec<Rr>>>,
    timers: &mut Timers,
) -> Result<Outcome, Fail> {
    let force = s.force_axfr.swap(false, Ordering::Relaxed);
    let mut last_err = Fail::Xfr(XfrError::Mismatch);
    for p in &s.primaries {
        let key = r.key(&p.key);
        let theirs = match soa_of(p.addr, &s.apex, key).await {
            Ok(soa) => soa,
            Err(e) => {
                tracing::debug!(zone = %s.name, primary = %p.addr, "SOA query: {e}");
                last_err = e;
                continue;
            }
        };
        let their_serial = journal::soa_serial(&theirs.rdata).unwrap_or(0);
        let ours = records.as_ref().map(|v| v[0].clone());
        let our_serial = ours.as_ref().and_then(|o| journal::soa_serial(&o.rdata));
        if !force && our_serial.is_some_and(|o| levee_answer::respond::serial_ge(o, their_serial)) {
            timers.set_from_soa(&ours.as_ref().map_or(theirs.rdata.clone(), |o| o.rdata.clone()));
            return Ok(Outcome::UpToDate);
        }
        let ixfr_from = if force { None } else { ours.clone() };
        // The transfer and the build run on a thread of their own at a
        // lower priority (its own small runtime), so the query threads keep
        // the CPU while a large zone comes in.
        let (tx, rx) = tokio::sync::oneshot::channel();
        let (addr, apex, key, base) = (p.addr, s.apex, key.cloned(), records.clone());
        let spawned = std::thread::Builder::new().name("levee-xfr-in".into()).spawn(move || {
            levee_io::prio::background_current_thread();
            let _ = tx.send(fetch_and_build(addr, apex, ixfr_from, key, base));
        });
        if let Err(e) = spawned {
            return Err(Fail::Io(e));
        }
        let got = rx.await.unwrap_or_else(|_| Err(Fail::Build("transfer thread ended".into())));
        let (recs, zone, kind, diffs) = match got {
            Ok(x) => x,
            Err(Fail::Build(e)) => {
                tracing::error!(zone = %s.name, primary = %p.addr, "received zone rejected, the old one keeps serving: {e}");
                last_err = Fail::Build(e);
                continue;
            }
            Err(e) => {
                tracing::warn!(zone = %s.name, primary = %p.addr, "transfer failed: {e}");
                last_err = e;
                continue;
            }
        };
        let serial = zone.serial();
        timers.set_from_soa(zone.first_rdata(zone.soa()));
        let zone = Arc::new(zone);
        let recs = Arc::new(recs);
        // Differences received by IXFR are kept for IXFR out; a full
        // transfer starts the journal afresh.
        let jnl = {
            let mut j = s.journal.lock().unwrap_or_else(|e| e.into_inner());
            match diffs {
                Some(ds) => {
                    for d in ds {
                        j.push(d, wall(), Limits::default());
                    }
                }
                None => *j = Journal::new(),
            }
            (!j.is_empty()).then(|| Arc::new(j.clone()))
        };
        tracing::info!(zone = %s.name, serial, primary = %p.addr, kind, records = recs.len(), "zone transferred");
        {
            let (r2, s2, z2, j2) = (Arc::clone(r), Arc::clone(s), Arc::clone(&zone), jnl);
            let _ = tokio::task::spawn_blocking(move || {
                let _g = publish_lock();
                let old = r2.shared.load_full();
                let mut set = ZoneSet::new();
                for e in old.entries() {
                    if e.zone.apex() != s2.apex.as_slice() {
                        set.insert(clone_entry(e));
                    }
                }
                set.insert(ZoneEntry {
                    zone: z2,
                    transfer: s2.transfer.clone(),
                    notify: s2.notify.clone(),
                    expired: false,
                    journal: j2,
                });
                crate::control::zone_ids().assign(&mut set);
                r2.shared.store(Arc::new(set));
                retire(old);
            })
            .await;
        }
        // The previous records (millions of small allocations for a large
        // zone) are freed off the runtime threads too.
        if let Some(prev) = records.replace(Arc::clone(&recs)) {
            retire(prev);
        }
        // Our own secondaries (`notify` on a secondary zone).
        send_notifies(&tokio::runtime::Handle::current(), r, &zone);
        if let Ok(mut st) = s.status.lock() {
            st.serial = Some(serial);
            st.last_transfer = Some(wall());
            st.last_kind = kind;
        }
        if let Some(path) = s.file.clone() {
            let (tx, rx) = tokio::sync::oneshot::channel();
            let spawned = std::thread::Builder::new().name("levee-zone-write".into()).spawn(move || {
                levee_io::prio::background_current_thread();
                let _ = tx.send(write_zone(&path, &recs));
            });
            if spawned.is_ok() {
                let _ = rx.await;
            }
        }
        return Ok(Outcome::Updated);
    }
    Err(last_err)
}

/// A received zone: its records, the snapshot, how it came, and the
/// differences when it came by IXFR.
type Fetched = (Vec<Rr>, Zone, &'static str, Option<Vec<journal::Diff>>);

/// Transfers the zone (IXFR from `ours`, else AXFR; AXFR again when an
/// IXFR brings nothing) and builds the new snapshot. Runs on its own thread.
fn fetch_and_build(
    addr: SocketAddr,
    apex: NameBuf,
    ours: Option<Rr>,
    key: Option<Key>,
    base: Option<Arc<Vec<Rr>>>,
) -> Result<Fetched, Fail> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let key = key.as_ref();
    let (received, kind) = rt.block_on(async {
        match transfer(addr, &apex, ours.as_ref(), key).await {
            Ok((Received::UpToDate(_), _)) if ours.is_some() => transfer(addr, &apex, None, key).await,
            x => x,
        }
    })?;
    drop(rt);
    let mut kept = None;
    let recs = match received {
        Received::Full(v) => v,
        Received::Incremental(diffs) => {
            let mut cur: Vec<Rr> =
                base.as_deref().cloned().ok_or_else(|| Fail::Build("IXFR without a base version".into()))?;
            for d in &diffs {
                cur = journal::apply(&cur, d).map_err(|e| Fail::Build(e.to_string()))?;
            }
            kept = Some(diffs);
            cur
        }
        Received::UpToDate(_) => return Err(Fail::Build("primary sent no data".into())),
    };
    let b = journal::build_from(&apex, &recs).map_err(|d| {
        Fail::Build(d.iter().filter(|x| !x.warning).map(|x| x.message.clone()).collect::<Vec<_>>().join("; "))
    })?;
    Ok((recs, b.zone, kind, kept))
}

/// Writes a received zone as zone-file text, atomically.
fn write_zone(path: &Path, recs: &[Rr]) -> bool {
    let mut text = String::with_capacity(recs.len() * 48);
    text.push_str("; written by levee after a zone transfer\n");
    for r in recs {
        text.push_str(&levee_zone::text::record_to_text(&r.owner, r.ttl, levee_wire::rtype::c::IN, r.rtype, &r.rdata));
        text.push('\n');
    }
    write_atomic(path, text.as_bytes())
}

async fn set_expired(r: &Arc<Repl>, s: &Arc<Secondary>, expired: bool) {
    let (r2, s2) = (Arc::clone(r), Arc::clone(s));
    let _ = tokio::task::spawn_blocking(move || {
        let _g = publish_lock();
        let old = r2.shared.load_full();
        let mut set = ZoneSet::new();
        for e in old.entries() {
            let mut n = clone_entry(e);
            if e.zone.apex() == s2.apex.as_slice() {
                n.expired = expired;
            }
            set.insert(n);
        }
        crate::control::zone_ids().assign(&mut set);
        r2.shared.store(Arc::new(set));
        retire(old);
    })
    .await;
}

//------------ control -----------------------------------------------------------

impl Repl {
    /// Schedules an immediate refresh (SOA check, then IXFR/AXFR).
    pub fn refresh(&self, apex: &[u8], force_axfr: bool) -> Result<(), String> {
        let s = self.secondaries.get(apex).ok_or("not a secondary zone")?;
        if force_axfr {
            s.force_axfr.store(true, Ordering::Relaxed);
        }
        s.kick.notify_one();
        Ok(())
    }

    /// One line per zone: name, serial, role, and for secondaries the
    /// last transfer, the next refresh and the expiry.
    pub fn zone_status(&self, only: Option<&[u8]>) -> Vec<String> {
        let set = self.shared.load_full();
        let mut out = Vec::new();
        for e in set.entries() {
            let apex = e.zone.apex();
            if only.is_some_and(|o| o != apex) {
                continue;
            }
            let zname = name::to_text(apex);
            match self.secondaries.get(apex) {
                Some(s) => {
                    let st = s.status.lock().map(|x| x.clone()).unwrap_or_default();
                    out.push(format!(
                        "{zname} role=secondary serial={} expired={} last-transfer={} last-kind={} next-refresh={} expires={} error={}",
                        st.serial.map_or("-".into(), |x| x.to_string()),
                        e.expired,
                        st.last_transfer.map_or("-".into(), |x| x.to_string()),
                        if st.last_kind.is_empty() { "-" } else { st.last_kind },
                        st.next_refresh,
                        st.expires.map_or("-".into(), |x| x.to_string()),
                        st.last_error.as_deref().unwrap_or("-").replace(' ', "_"),
                    ));
                }
                None => out.push(format!(
                    "{zname} role=primary serial={} journal-from={}",
                    e.zone.serial(),
                    e.journal.as_ref().and_then(|j| j.first_serial()).map_or("-".into(), |x| x.to_string())
                )),
            }
        }
        out
    }
}

#[cfg(test)]
mod retire_tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    /// Records the name of the thread that dropped it.
    struct Big(Arc<Mutex<Option<String>>>);

    impl Drop for Big {
        fn drop(&mut self) {
            *self.0.lock().unwrap() = std::thread::current().name().map(String::from);
        }
    }

    /// A worker that holds the old value for longer than any fixed delay
    /// still does not free it: the retiring thread waits for the last
    /// reference and frees it itself.
    #[test]
    fn the_retiring_thread_frees_even_after_a_slow_worker() {
        let who = Arc::new(Mutex::new(None));
        let old = Arc::new(Big(Arc::clone(&who)));
        let worker_copy = Arc::clone(&old);
        super::retire(old);
        std::thread::sleep(Duration::from_millis(300));
        assert!(who.lock().unwrap().is_none(), "not freed while a worker holds it");
        drop(worker_copy); // the "worker" lets go: not the last reference
        for _ in 0..100 {
            if who.lock().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        assert_eq!(who.lock().unwrap().as_deref(), Some("levee-retire"));
    }
}
