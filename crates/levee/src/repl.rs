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
use levee_config::repl::TransferLimits;
use levee_config::repl::{AclRule, Remote};
use levee_config::{Config, ZoneConfig};
use levee_tsig::{Key, KeyRing};
use levee_wire::name::{self, NameBuf};
use levee_wire::rtype::t;
use levee_xfr::{Timers, XfrError};
use levee_zone::journal::{self, Journal, Limits, Rr};
use levee_zone::{Acl, Zone, ZoneEntry, ZoneSet};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::Notify;

use crate::xfrin::{Cancel, Fail, Records};

type Shared = Arc<ArcSwap<ZoneSet>>;

/// How long one UDP exchange waits, and one TCP read.
const UDP_TIMEOUT: Duration = Duration::from_secs(2);
const TCP_TIMEOUT: Duration = Duration::from_secs(10);
/// NOTIFY attempts per target; attempt n waits 0.25 s × 2^(n-1) (at most
/// 8 s) for the acknowledgement before the next (about 32 s in all).
const NOTIFY_ATTEMPTS: u32 = 8;
/// A NOTIFY-triggered SOA check of a zone waits this long after the
/// previous check: a burst of NOTIFYs makes one refresh, and SOA queries
/// to the primary stay bounded (at most one a second per zone).
const NOTIFY_HOLDOFF: Duration = Duration::from_secs(1);
/// NOTIFYs are logged as one summary line per zone per interval.
const NOTIFY_SUMMARY_EVERY: Duration = Duration::from_secs(10);

static PUBLISH: Mutex<()> = Mutex::new(());
static STATE: OnceLock<Arc<Repl>> = OnceLock::new();

/// Serialises changes to the served set.
pub fn publish_lock() -> MutexGuard<'static, ()> {
    PUBLISH.lock().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn wall() -> u64 {
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
        not_loaded: e.not_loaded,
        journal: e.journal.clone(),
        expires: e.expires.clone(),
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
    /// Wall-clock start of the transfer in progress, if one is.
    pub transfer_since: Option<u64>,
}

/// NOTIFYs for one zone since the last summary line.
#[derive(Default)]
struct NotifyLog {
    /// Accepted NOTIFYs.
    received: u64,
    /// Of which scheduled a refresh (the others joined one already
    /// scheduled, or announced a serial we have or are fetching).
    scheduled: u64,
    /// Of which announced a serial we have or are fetching.
    current: u64,
    /// Of which were logged on a line of their own.
    logged: u64,
    /// When the last line of its own was logged.
    last_line: Option<std::time::Instant>,
}

/// What one secondary zone needs.
struct Secondary {
    name: String,
    apex: NameBuf,
    primaries: Vec<Remote>,
    transfer: Acl,
    notify: Acl,
    kick: Notify,
    force_axfr: std::sync::atomic::AtomicBool,
    status: Mutex<SecStatus>,
    /// Differences received by IXFR, for IXFR out to our own secondaries.
    journal: Mutex<Journal>,
    /// `[transfer-in]` limits for this zone.
    limits: TransferLimits,
    /// `semantic-checks` of this zone, applied to every received version.
    checks: levee_zone::Checks,
    /// The transfer in progress, to cancel (`levee ctl retransfer`).
    current: Mutex<Option<Arc<Cancel>>>,
    /// A NOTIFY asked for a check that has not started yet.
    notify_pending: std::sync::atomic::AtomicBool,
    /// The newest serial we serve or are fetching (`1 << 32 | serial`; 0:
    /// none): a NOTIFY for it or an older one needs no check.
    known_serial: AtomicU64,
    notify_log: Mutex<NotifyLog>,
    /// When the zone expires (wall clock, 0 = unknown), shared with its
    /// `ZoneEntry` for EDNS EXPIRE answers.
    expires: Arc<AtomicU64>,
}

impl Secondary {
    fn set_known_serial(&self, serial: Option<u32>) {
        self.known_serial.store(serial.map_or(0, |s| 1 << 32 | s as u64), Ordering::Relaxed);
    }

    /// Raises the known serial to `n` (RFC 1982 order) unless it is newer.
    fn raise_known_serial(&self, n: u32) {
        let new = 1 << 32 | n as u64;
        let _ = self.known_serial.fetch_update(Ordering::AcqRel, Ordering::Acquire, |k| {
            let newer = k >> 32 != 1 || !levee_xfr::serial_ge(k as u32, n);
            newer.then_some(new)
        });
    }

    fn known_serial(&self) -> Option<u32> {
        let k = self.known_serial.load(Ordering::Relaxed);
        (k >> 32 == 1).then_some(k as u32)
    }
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
    /// NOTIFYs refused by `allow-notify` since the last summary (the first
    /// of each interval is logged on its own).
    notify_refused: AtomicU64,
}

impl Repl {
    fn key(&self, name_text: &Option<String>) -> Option<&Key> {
        let n = name::from_text(name_text.as_deref()?, Some(b"\x00")).ok()?;
        self.keys.find(&n)
    }
}

/// A zone that answers SERVFAIL until the first transfer.
fn placeholder(apex: &[u8]) -> Option<Arc<Zone>> {
    levee_zone::placeholder(apex).map(Arc::new)
}

/// At start: reads journals of primary zones and the stored copies of
/// secondary zones into `set`, and records what the tasks need.
pub fn init(cfg: &Config, set: &mut ZoneSet, shared_later: &mut Option<Arc<Repl>>) {
    let mut keys = KeyRing::new();
    for k in &cfg.keys {
        keys.add(k.clone());
    }
    // The directory is made by `storage::prepare`, before the zones load.
    let storage = cfg.storage_dir.clone();
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
        let checks = crate::zones::checks_of(cfg, Some(z));
        let sec = secondary_entry(z, &apex, storage.as_deref(), set, checks);
        secondaries.insert(apex.as_slice().to_vec(), Arc::new(sec));
    }
    // Journals of primary zones.
    if let Some(d) = &storage {
        let entries: Vec<ZoneEntry> = set.entries().iter().map(clone_entry).collect();
        for e in entries {
            let apex = e.zone.apex().to_vec();
            if secondaries.contains_key(&apex) || e.transfer.is_empty() {
                continue;
            }
            if let Some(j) = load_journal(d, &e) {
                set.insert(ZoneEntry { journal: Some(Arc::new(j)), ..clone_entry(&e) });
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
        notify_refused: AtomicU64::new(0),
    });
    *shared_later = Some(r);
}

fn secondary_entry(
    z: &ZoneConfig,
    apex: &NameBuf,
    storage: Option<&Path>,
    set: &mut ZoneSet,
    checks: levee_zone::Checks,
) -> Secondary {
    let mut transfer = Acl::none();
    for &(ip, len) in &z.allow_transfer {
        transfer.push(ip, len);
    }
    add_rules(&mut transfer, &z.repl.transfer_keyed);
    let mut notify = Acl::none();
    add_rules(&mut notify, &z.repl.allow_notify);
    let mut status = SecStatus::default();
    // A stored copy is served at once if it is complete (storage.rs); its
    // age (the file's mtime is the last time a primary confirmed it)
    // decides whether it is expired.
    let path = storage.map(|d| secondary_path(z, d, apex));
    let (loaded, unchecked) = path.as_deref().map_or((None, false), |p| load_stored(z, p, apex));
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
    let expires = Arc::new(AtomicU64::new(status.expires.unwrap_or(0)));
    if let Some(zone) = zone {
        set.insert(ZoneEntry {
            zone,
            transfer: transfer.clone(),
            notify: notify.clone(),
            expired,
            not_loaded: status.serial.is_none(),
            journal: None,
            expires: Some(Arc::clone(&expires)),
        });
    }
    Secondary {
        name: z.name.clone(),
        apex: *apex,
        primaries: z.repl.primaries.clone(),
        transfer,
        notify,
        kick: Notify::new(),
        // A copy without an integrity check is replaced by a full
        // transfer at the first contact with a primary.
        force_axfr: std::sync::atomic::AtomicBool::new(unchecked),
        known_serial: AtomicU64::new(status.serial.map_or(0, |s| 1 << 32 | s as u64)),
        status: Mutex::new(status),
        journal: Mutex::new(Journal::new()),
        limits: z.repl.transfer_limits,
        checks,
        current: Mutex::new(None),
        notify_pending: std::sync::atomic::AtomicBool::new(false),
        notify_log: Mutex::new(NotifyLog::default()),
        expires,
    }
}

/// The journal of a primary zone from storage, if it is complete and
/// ends at the served serial (else IXFR starts afresh, with a log line
/// saying why). Files of the old naming are read too.
fn load_journal(dir: &Path, e: &ZoneEntry) -> Option<Journal> {
    let apex = e.zone.apex();
    let zname = name::to_text(apex);
    let path = crate::storage::journal_file(dir, apex);
    let legacy = crate::storage::legacy_file(dir, &zname, "journal");
    let store = crate::storage::store(apex, crate::storage::Kind::Journal, &path);
    let (from, bytes) = match std::fs::read(&path) {
        Err(err) if err.kind() == std::io::ErrorKind::NotFound && legacy != path => (&legacy, std::fs::read(&legacy)),
        r => (&path, r),
    };
    store.set_stored(None, (from != &path).then(|| from.clone()));
    match bytes {
        Ok(b) => match Journal::decode(&b) {
            Ok(j) if j.last_serial() == Some(e.zone.serial()) => {
                tracing::info!(zone = %zname, from = j.first_serial(), "journal loaded");
                Some(j)
            }
            Ok(j) => {
                tracing::info!(zone = %zname, journal_ends = j.last_serial(), served = e.zone.serial(), "journal does not end at the served serial; IXFR starts afresh");
                None
            }
            Err(err) => {
                tracing::error!(zone = %zname, path = %from.display(), "journal refused: {err} (cut short or damaged); IXFR starts afresh, clients get a full transfer");
                None
            }
        },
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
        Err(err) => {
            tracing::error!(zone = %zname, path = %from.display(), "journal cannot be read: {err}; IXFR starts afresh");
            None
        }
    }
}

/// Where a secondary zone is stored: `[[zone]] file`, else
/// `<storage-dir>/<stem>zone` (storage.rs).
fn secondary_path(z: &ZoneConfig, dir: &Path, apex: &NameBuf) -> PathBuf {
    z.file.clone().unwrap_or_else(|| crate::storage::zone_file(dir, apex))
}

/// Reads the stored copy of a secondary zone at start, if it is complete
/// (storage.rs); returns the zone with its age in seconds, and whether it
/// had no integrity check (an older levee's copy). Sets up its store.
fn load_stored(z: &ZoneConfig, path: &Path, apex: &NameBuf) -> (Option<(Arc<Zone>, u64)>, bool) {
    let store = crate::storage::store(apex, crate::storage::Kind::Zone, path);
    let mut from = path.to_path_buf();
    if !from.exists() && z.file.is_none() {
        if let Some(dir) = path.parent() {
            let legacy = crate::storage::legacy_file(dir, &z.name, "zone");
            if legacy.exists() {
                from = legacy;
            }
        }
    }
    if !from.exists() {
        return (None, false);
    }
    let legacy = (from != path).then(|| from.clone());
    store.set_stored(None, legacy);
    let checked = match crate::storage::verify_zone_copy(&from, apex) {
        Ok(c) => c,
        Err(why) => {
            tracing::error!(zone = %z.name, path = %from.display(), "stored copy refused: {why}; the zone answers SERVFAIL until a transfer succeeds");
            return (None, false);
        }
    };
    let b = match levee_zone::load_file(&from, apex) {
        Ok(b) => b,
        Err(diags) => {
            for d in diags.iter().filter(|d| !d.warning) {
                tracing::error!("{d}");
            }
            tracing::error!(zone = %z.name, "stored copy does not load; waiting for a transfer");
            return (None, false);
        }
    };
    let unchecked = match checked {
        crate::storage::Checked::Verified(serial) if serial == b.zone.serial() => {
            store.set_stored(Some(serial), (from != path).then(|| from.clone()));
            false
        }
        crate::storage::Checked::Verified(serial) => {
            tracing::error!(zone = %z.name, path = %from.display(), header = serial, soa = b.zone.serial(), "stored copy refused: its header and its SOA disagree");
            return (None, false);
        }
        crate::storage::Checked::Unchecked => {
            store.set_unchecked();
            tracing::warn!(zone = %z.name, path = %from.display(), "stored copy has no integrity check (written by an older levee or by hand): served, and replaced by a full transfer at the first contact with a primary");
            true
        }
    };
    let age = std::fs::metadata(&from)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|m| SystemTime::now().duration_since(m).ok())
        .map_or(0, |d| d.as_secs());
    (Some((Arc::new(b.zone), age)), unchecked)
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
        notify_refused: AtomicU64::new(0),
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
    rt.spawn(notify_summaries(Arc::clone(&r)));
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
            // A zone that had not loaded, or does not now, has no
            // difference to record.
            let o = old.exact(e.zone.apex()).filter(|o| !o.not_loaded && !e.not_loaded)?;
            if Arc::ptr_eq(&o.zone, &e.zone) {
                return None;
            }
            let mut n = clone_entry(e);
            if !crate::zones::serial_gt(e.zone.serial(), o.zone.serial()) {
                // No difference to a lower or equal serial is recorded.
                // The same data keeps its journal; changed data under the
                // same or a lower serial makes it wrong: dropped.
                if o.zone.same_data(&e.zone) {
                    n.journal = o.journal.clone();
                } else if o.journal.is_some() {
                    tracing::warn!(zone = %name::to_text(e.zone.apex()), "journal dropped: the data changed without a higher serial (IXFR answers with a full transfer)");
                    if let Some(dir) = &r.storage {
                        let apex = e.zone.apex();
                        crate::storage::store(apex, crate::storage::Kind::Journal, &crate::storage::journal_file(dir, apex))
                            .submit(crate::storage::Job::Remove);
                    }
                }
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
                    let apex = e.zone.apex();
                    crate::storage::store(apex, crate::storage::Kind::Journal, &crate::storage::journal_file(dir, apex))
                        .submit(crate::storage::Job::Journal(j.encode()));
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
                on_notify(s, query, client);
            }
        }
        return;
    }
    if is_notify && rc == 5 {
        // Refused by allow-notify: counted, the first of each interval
        // logged, the rest in the summary.
        if r.notify_refused.fetch_add(1, Ordering::Relaxed) == 0 {
            let zone = levee_answer::tsig::notify_zone(query).map_or("-".into(), |z| name::to_text(&z));
            tracing::warn!(%client, %zone, "NOTIFY refused: not allowed by the zone's allow-notify (further ones are summarised)");
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
            (_, t::AXFR) => "AXFR",
            (_, t::IXFR) => "IXFR",
            _ => return,
        };
        tracing::warn!(%client, zone = %name::to_text(&q.qname), "{what} refused: not allowed by the zone's ACL");
    }
}

/// An accepted NOTIFY for a secondary zone: schedules one check unless one
/// is already scheduled or the NOTIFY announces a serial we serve or are
/// fetching; counted for the summary. A NOTIFY that schedules a check is
/// logged on a line of its own, at most one a second.
fn on_notify(s: &Secondary, query: &[u8], client: impl std::fmt::Display) {
    let serial = levee_answer::tsig::notify_serial(query, &s.apex);
    let current = match (serial, s.known_serial()) {
        (Some(n), Some(k)) => levee_xfr::serial_ge(k, n),
        _ => false,
    };
    if let (false, Some(n)) = (current, serial) {
        // The check about to happen fetches it: the rest of a burst for
        // the same serial is current already (a check that finds the
        // primary older sets this back).
        s.raise_known_serial(n);
    }
    let scheduled = !current && !s.notify_pending.swap(true, Ordering::AcqRel);
    if scheduled {
        s.kick.notify_one();
    }
    let mut log = s.notify_log.lock().unwrap_or_else(|e| e.into_inner());
    log.received += 1;
    log.scheduled += scheduled as u64;
    log.current += current as u64;
    // A line of its own for a NOTIFY that schedules a refresh, at most
    // one a second; the others are in the summary.
    let now = std::time::Instant::now();
    if scheduled && log.last_line.is_none_or(|t| now.duration_since(t) >= NOTIFY_HOLDOFF) {
        log.last_line = Some(now);
        log.logged += 1;
        let serial = serial.map_or("-".into(), |x| x.to_string());
        tracing::info!(zone = %s.name, %client, %serial, "NOTIFY received: refreshing");
    }
}

/// Logs one line per zone (and one for refusals) per interval in which
/// NOTIFYs arrived that were not logged on their own.
async fn notify_summaries(r: Arc<Repl>) {
    let mut tick = tokio::time::interval(NOTIFY_SUMMARY_EVERY);
    tick.tick().await;
    loop {
        tick.tick().await;
        for s in r.secondaries.values() {
            let log = {
                let mut l = s.notify_log.lock().unwrap_or_else(|e| e.into_inner());
                let last_line = l.last_line;
                std::mem::replace(&mut *l, NotifyLog { last_line, ..NotifyLog::default() })
            };
            if log.received > log.logged {
                tracing::info!(
                    zone = %s.name,
                    received = log.received,
                    refreshes = log.scheduled,
                    current = log.current,
                    "NOTIFY summary for the last {} s: {} received, {} scheduled a refresh, {} for a serial already current, the rest joined a scheduled refresh",
                    NOTIFY_SUMMARY_EVERY.as_secs(), log.received, log.scheduled, log.current
                );
            }
        }
        let refused = r.notify_refused.swap(0, Ordering::Relaxed);
        if refused > 1 {
            tracing::warn!(
                refused,
                "NOTIFY summary for the last {} s: {refused} refused by allow-notify",
                NOTIFY_SUMMARY_EVERY.as_secs()
            );
        }
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

pub(crate) fn random_id() -> u16 {
    let mut b = [0u8; 2];
    if getrandom::getrandom(&mut b).is_err() {
        return (wall() as u16).wrapping_mul(31421);
    }
    u16::from_be_bytes(b)
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

//------------ the secondary loop ----------------------------------------------

enum Outcome {
    UpToDate,
    Updated,
}

/// What a secondary zone's task keeps between checks.
struct ZoneState {
    timers: Timers,
    /// Our SOA, once we have data.
    soa: Option<Rr>,
    /// Our record list, the IXFR base. `None` at start and while a
    /// transfer holds it; the transfer thread then makes it from the
    /// served zone when an IXFR needs it.
    records: Option<Records>,
    /// SERVFAIL published (past expire).
    expired_published: bool,
    /// When the last check started (the NOTIFY holdoff).
    last_check: Option<tokio::time::Instant>,
}

impl ZoneState {
    /// Data loaded from storage: its SOA, and timers from its age.
    fn new(r: &Repl, s: &Secondary) -> ZoneState {
        let mut z = ZoneState {
            timers: Timers::new(wall()),
            soa: None,
            records: None,
            expired_published: s.status.lock().map(|x| x.expired).unwrap_or(true),
            last_check: None,
        };
        let st = s.status.lock().map(|x| x.clone()).unwrap_or_default();
        if let (Some(e), Some(_)) = (r.shared.load().exact(&s.apex), st.serial) {
            let (zone, soa) = (&e.zone, e.zone.soa());
            z.soa = Some(Rr {
                owner: zone.apex().to_vec(),
                rtype: t::SOA,
                ttl: zone.rrset(soa).ttl,
                rdata: zone.first_rdata(soa).to_vec(),
            });
            z.timers.set_from_soa(zone.first_rdata(soa));
            if let Some(exp) = st.expires {
                z.timers.last_ok = Some(exp.saturating_sub(z.timers.expire as u64));
            }
            // Check with the primary at once anyway.
            z.timers.next_check = wall();
        }
        z
    }
}

async fn secondary_loop(r: Arc<Repl>, s: Arc<Secondary>) {
    let mut z = ZoneState::new(&r, &s);
    loop {
        let now = wall();
        let wake = z.timers.next_wake(now);
        if wake > now {
            let sleep = tokio::time::sleep(Duration::from_secs(wake - now));
            tokio::select! {
                _ = sleep => {}
                _ = s.kick.notified() => {
                    // A NOTIFY-triggered check waits for the holdoff.
                    if let (true, Some(t)) = (s.notify_pending.load(Ordering::Acquire), z.last_check) {
                        tokio::time::sleep_until(t + NOTIFY_HOLDOFF).await;
                    }
                    z.timers.next_check = wall();
                }
            }
        }
        check_expiry(&r, &s, &mut z).await;
        if z.timers.next_check > wall() {
            continue;
        }
        z.last_check = Some(tokio::time::Instant::now());
        s.notify_pending.store(false, Ordering::Release);
        match refresh(&r, &s, &mut z).await {
            Ok(o) => {
                z.timers.ok(wall());
                if z.expired_published && z.soa.is_some() {
                    if matches!(o, Outcome::UpToDate) {
                        set_expired(&r, &s, false).await;
                    }
                    z.expired_published = false;
                    tracing::info!(zone = %s.name, "zone current again");
                }
                if let (Outcome::UpToDate, Some(soa)) = (&o, &z.soa) {
                    // The stored copy's mtime is the last confirmation; a copy
                    // without an integrity check is replaced (storage.rs).
                    if !crate::storage::confirmed(&s.apex, journal::soa_serial(&soa.rdata)) {
                        s.force_axfr.store(true, Ordering::Relaxed);
                        s.kick.notify_one();
                    }
                }
                if let Ok(mut st) = s.status.lock() {
                    st.last_error = None;
                }
            }
            Err(e) => {
                let now = wall();
                z.timers.failed(now);
                // A NOTIFY's serial we did not get is not "being fetched".
                s.set_known_serial(z.soa.as_ref().and_then(|o| journal::soa_serial(&o.rdata)));
                tracing::warn!(zone = %s.name, "refresh failed: {e}; retrying in {} s", z.timers.next_check - now);
                if let Ok(mut st) = s.status.lock() {
                    st.last_error = Some(e.to_string());
                }
            }
        }
        if let Ok(mut st) = s.status.lock() {
            st.next_refresh = z.timers.next_check;
            st.expires = z.timers.expires_at();
            st.expired = z.expired_published;
        }
        s.expires.store(z.timers.expires_at().unwrap_or(0), Ordering::Relaxed);
    }
}

/// Publishes SERVFAIL once the data is past its expire time: counted from
/// the last successful refresh, whatever a transfer in progress does.
async fn check_expiry(r: &Arc<Repl>, s: &Arc<Secondary>, z: &mut ZoneState) {
    if z.soa.is_some() && z.timers.expired(wall()) && !z.expired_published {
        tracing::warn!(zone = %s.name, "zone expired: no primary reached for the SOA expire time; answering SERVFAIL");
        set_expired(r, s, true).await;
        z.expired_published = true;
        if let Ok(mut st) = s.status.lock() {
            st.expired = true;
            st.expires = z.timers.expires_at();
        }
    }
}

async fn refresh(r: &Arc<Repl>, s: &Arc<Secondary>, z: &mut ZoneState) -> Result<Outcome, Fail> {
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
        let ours = z.soa.clone();
        let our_serial = ours.as_ref().and_then(|o| journal::soa_serial(&o.rdata));
        if !force && our_serial.is_some_and(|o| levee_answer::respond::serial_ge(o, their_serial)) {
            z.timers.set_from_soa(&ours.as_ref().map_or(theirs.rdata.clone(), |o| o.rdata.clone()));
            s.set_known_serial(our_serial);
            return Ok(Outcome::UpToDate);
        }
        let ixfr_from = if force { None } else { ours.clone() };
        s.set_known_serial(Some(their_serial));
        let got = run_transfer(r, s, z, p.addr, key, ixfr_from).await;
        if got.is_err() {
            s.set_known_serial(our_serial);
        }
        let (recs, zone, kind, diffs) = match got {
            Ok(x) => x,
            Err(Fail::Build(e)) => {
                tracing::error!(zone = %s.name, primary = %p.addr, "received zone rejected, the old one keeps serving: {e}");
                last_err = Fail::Build(e);
                continue;
            }
            Err(Fail::Cancelled) => return Err(Fail::Cancelled),
            Err(e) => {
                tracing::warn!(zone = %s.name, primary = %p.addr, "transfer failed, the old zone keeps serving: {e}");
                last_err = e;
                continue;
            }
        };
        let serial = zone.serial();
        z.timers.set_from_soa(zone.first_rdata(zone.soa()));
        let zone = Arc::new(zone);
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
                    not_loaded: false,
                    journal: j2,
                    expires: Some(Arc::clone(&s2.expires)),
                });
                crate::control::zone_ids().assign(&mut set);
                r2.shared.store(Arc::new(set));
                retire(old);
            })
            .await;
        }
        // The previous records (millions of small allocations for a large
        // zone) are freed off the runtime threads too.
        z.soa = recs.first().cloned();
        s.set_known_serial(Some(serial));
        if let Some(prev) = z.records.replace(Arc::clone(&recs)) {
            retire(prev);
        }
        // Our own secondaries (`notify` on a secondary zone).
        send_notifies(&tokio::runtime::Handle::current(), r, &zone);
        if let Ok(mut st) = s.status.lock() {
            st.serial = Some(serial);
            st.last_transfer = Some(wall());
            st.last_kind = kind;
        }
        // Written (and retried) by the zone's store (storage.rs).
        crate::storage::zone_received(&s.apex, serial, recs);
        return Ok(Outcome::Updated);
    }
    Err(last_err)
}

/// Runs one transfer in (IXFR or AXFR, see `xfrin`) on a thread of its own
/// at a lower priority, so the query threads keep the CPU while a large
/// zone comes in. Meanwhile the zone expires on time, and `levee ctl
/// retransfer` cancels it.
async fn run_transfer(
    r: &Arc<Repl>,
    s: &Arc<Secondary>,
    z: &mut ZoneState,
    addr: SocketAddr,
    key: Option<&Key>,
    ixfr_from: Option<Rr>,
) -> Result<crate::xfrin::Fetched, Fail> {
    let cancel = Arc::new(Cancel::default());
    *s.current.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::clone(&cancel));
    if let Ok(mut st) = s.status.lock() {
        st.transfer_since = Some(wall());
    }
    let served = if z.soa.is_some() { r.shared.load().exact(&s.apex).map(|e| Arc::clone(&e.zone)) } else { None };
    let job = crate::xfrin::Job {
        addr,
        apex: s.apex,
        ours: ixfr_from,
        key: key.cloned(),
        base: z.records.take(),
        served,
        limits: s.limits,
        checks: s.checks,
        cancel: Arc::clone(&cancel),
    };
    let (tx, rx) = tokio::sync::oneshot::channel();
    let spawned = std::thread::Builder::new().name("levee-xfr-in".into()).spawn(move || {
        levee_io::prio::background_current_thread();
        let _ = tx.send(crate::xfrin::run(job));
    });
    let out = match spawned {
        Err(e) => Err((Fail::Io(e), None)),
        Ok(_) => {
            tokio::pin!(rx);
            loop {
                let until_expiry = match z.timers.expires_at() {
                    Some(e) if z.soa.is_some() && !z.expired_published => Some(e.saturating_sub(wall())),
                    _ => None,
                };
                let expiry = tokio::time::sleep(Duration::from_secs(until_expiry.unwrap_or(3600)));
                tokio::select! {
                    got = &mut rx => break got.unwrap_or_else(|_| Err((Fail::Build("transfer thread ended".into()), None))),
                    _ = cancel.cancelled() => break Err((Fail::Cancelled, None)),
                    _ = expiry, if until_expiry.is_some() => check_expiry(r, s, z).await,
                }
            }
        }
    };
    *s.current.lock().unwrap_or_else(|e| e.into_inner()) = None;
    if let Ok(mut st) = s.status.lock() {
        st.transfer_since = None;
    }
    out.map_err(|(e, base)| {
        z.records = base;
        e
    })
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
            // A transfer in progress (a trickling primary) is ended: the
            // new one starts at once.
            if let Some(c) = s.current.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
                tracing::info!(zone = %s.name, "retransfer: cancelling the transfer in progress");
                c.cancel();
            }
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
                        "{zname} role=secondary serial={} expired={} last-transfer={} last-kind={} next-refresh={} expires={} transfer-since={} error={}",
                        st.serial.map_or("-".into(), |x| x.to_string()),
                        e.expired,
                        st.last_transfer.map_or("-".into(), |x| x.to_string()),
                        if st.last_kind.is_empty() { "-" } else { st.last_kind },
                        st.next_refresh,
                        st.expires.map_or("-".into(), |x| x.to_string()),
                        st.transfer_since.map_or("-".into(), |x| x.to_string()),
                        st.last_error.as_deref().unwrap_or("-").replace(' ', "_"),
                    ) + &crate::storage::status_fields(apex));
                }
                None => out.push(format!(
                    "{zname} role=primary serial={} journal-from={}{}",
                    e.zone.serial(),
                    e.journal.as_ref().and_then(|j| j.first_serial()).map_or("-".into(), |x| x.to_string()),
                    crate::storage::status_fields(apex)
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
