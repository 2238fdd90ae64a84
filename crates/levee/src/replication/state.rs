//! The replication state its parts share: the TSIG keys, the NOTIFY
//! targets of primary zones, and per secondary zone a [`Secondary`]
//! (status, NOTIFY bookkeeping, the transfer in progress).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use levee_config::repl::{Remote, TransferLimits};
use levee_tsig::{Key, KeyRing};
use levee_wire::name::{self, NameBuf};
use levee_wire::serial::Serial;
use levee_zone::journal::Journal;
use levee_zone::Acl;
use tokio::sync::Notify;

use crate::replication::xfrin::Cancel;

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
pub struct NotifyLog {
    /// Accepted NOTIFYs.
    pub received: u64,
    /// Of which scheduled a refresh (the others joined one already
    /// scheduled, or announced a serial we have or are fetching).
    pub scheduled: u64,
    /// Of which announced a serial we have or are fetching.
    pub current: u64,
    /// Of which were logged on a line of their own.
    pub logged: u64,
    /// When the last line of its own was logged.
    pub last_line: Option<std::time::Instant>,
}

/// What one secondary zone needs.
pub struct Secondary {
    pub name: String,
    pub apex: NameBuf,
    pub primaries: Vec<Remote>,
    pub transfer: Acl,
    pub notify: Acl,
    pub kick: Notify,
    pub force_axfr: std::sync::atomic::AtomicBool,
    pub status: Mutex<SecStatus>,
    /// Differences received by IXFR, for IXFR out to our own secondaries.
    pub journal: Mutex<Journal>,
    /// `[transfer-in]` limits for this zone.
    pub limits: TransferLimits,
    /// `semantic-checks` of this zone, applied to every received version.
    pub checks: levee_zone::Checks,
    /// The transfer in progress, to cancel (`levee ctl retransfer`).
    pub current: Mutex<Option<Arc<Cancel>>>,
    /// A NOTIFY asked for a check that has not started yet.
    pub notify_pending: std::sync::atomic::AtomicBool,
    /// The newest serial we serve or are fetching (`1 << 32 | serial`; 0:
    /// none): a NOTIFY for it or an older one needs no check.
    pub known_serial: AtomicU64,
    pub notify_log: Mutex<NotifyLog>,
    /// When the zone expires (wall clock, 0 = unknown), shared with its
    /// `ZoneEntry` for EDNS EXPIRE answers.
    pub expires: Arc<AtomicU64>,
    /// The newest serial a primary announced (NOTIFY) or answered (SOA
    /// query), `1 << 32 | serial` (0: none yet): the lag is its distance
    /// to the served serial (`levee ctl zone-status`, `/metrics`).
    pub heard_serial: AtomicU64,
    /// The zone was removed (a runtime zone, `provision`): its task ends
    /// and nothing it still receives is published or stored.
    pub removed: std::sync::atomic::AtomicBool,
    /// Signed in transit (`dnssec-signing` on a secondary zone): pulled
    /// unsigned, served signed (`zones::sign::signed_transfer`).
    pub sign: Option<crate::zones::sign::SignPlan>,
}

/// The secondary zones by apex: the configured ones, made at start, and
/// runtime ones (`provision`) added and removed while the server runs.
/// Read on NOTIFY, status and reload paths, never per query.
#[derive(Default)]
pub struct Secondaries(std::sync::RwLock<HashMap<Vec<u8>, Arc<Secondary>>>);

impl Secondaries {
    /// The zones made at start.
    pub fn new(m: HashMap<Vec<u8>, Arc<Secondary>>) -> Secondaries {
        Secondaries(std::sync::RwLock::new(m))
    }
    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<Vec<u8>, Arc<Secondary>>> {
        self.0.read().unwrap_or_else(|e| e.into_inner())
    }
    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<Vec<u8>, Arc<Secondary>>> {
        self.0.write().unwrap_or_else(|e| e.into_inner())
    }
    /// The zone at `apex` (lower-case wire), if it is a secondary one.
    pub fn get(&self, apex: &[u8]) -> Option<Arc<Secondary>> {
        self.read().get(apex).cloned()
    }
    /// Whether `apex` is a secondary zone.
    pub fn contains_key(&self, apex: &[u8]) -> bool {
        self.read().contains_key(apex)
    }
    /// No secondary zone.
    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }
    /// Every secondary zone (a copy of the list).
    pub fn values(&self) -> Vec<Arc<Secondary>> {
        self.read().values().cloned().collect()
    }
    /// Every apex (a copy of the list).
    pub fn keys(&self) -> Vec<Vec<u8>> {
        self.read().keys().cloned().collect()
    }
    /// Adds a zone (a runtime one); returns the one it replaced.
    pub fn insert(&self, apex: Vec<u8>, s: Arc<Secondary>) -> Option<Arc<Secondary>> {
        self.write().insert(apex, s)
    }
    /// Removes a zone (a runtime one).
    pub fn remove(&self, apex: &[u8]) -> Option<Arc<Secondary>> {
        self.write().remove(apex)
    }
}

impl Secondary {
    pub fn set_known_serial(&self, serial: Option<u32>) {
        self.known_serial.store(serial.map_or(0, |s| 1 << 32 | s as u64), Ordering::Relaxed);
    }

    /// Raises the known serial to `n` (RFC 1982 order) unless it is newer.
    pub fn raise_known_serial(&self, n: u32) {
        let new = 1 << 32 | n as u64;
        let _ = self.known_serial.fetch_update(Ordering::AcqRel, Ordering::Acquire, |k| {
            let current = Serial(k as u32) >= Serial(n);
            let newer = k >> 32 != 1 || !current;
            newer.then_some(new)
        });
    }

    /// Notes a serial a primary announced or answered: kept if newer.
    pub fn heard(&self, n: u32) {
        let new = 1 << 32 | n as u64;
        let _ = self.heard_serial.fetch_update(Ordering::AcqRel, Ordering::Acquire, |k| {
            (k >> 32 != 1 || Serial(n) > Serial(k as u32)).then_some(new)
        });
    }

    /// How many serials the served version is behind the newest one a
    /// primary announced (0 when current, or before anything was heard).
    pub fn serial_lag(&self, served: Option<u32>) -> u32 {
        let k = self.heard_serial.load(Ordering::Relaxed);
        match (k >> 32 == 1, served) {
            (false, _) => 0,
            (true, None) => 1,
            (true, Some(s)) if Serial(k as u32) > Serial(s) => (k as u32).wrapping_sub(s),
            _ => 0,
        }
    }

    pub fn known_serial(&self) -> Option<u32> {
        let k = self.known_serial.load(Ordering::Relaxed);
        (k >> 32 == 1).then_some(k as u32)
    }
}

/// The replication state shared by tasks and hooks (`Center::repl`).
pub struct Replication {
    /// The TSIG keys of the configuration.
    pub keys: KeyRing,
    /// Secondary zones, by apex (runtime ones come and go).
    pub secondaries: Secondaries,
    /// Primary zones' NOTIFY targets, by apex.
    pub notify: HashMap<Vec<u8>, Vec<Remote>>,
    /// Log lines about refused requests in the current second (bounded).
    pub log_budget: AtomicU64,
    /// NOTIFYs refused by `allow-notify` since the last summary (the first
    /// of each interval is logged on its own).
    pub notify_refused: AtomicU64,
    /// UPDATEs refused by `allow-update` (or for a zone that takes none).
    pub update_refused: AtomicU64,
    /// The serial each primary zone's NOTIFYs announce now, by apex
    /// (`1 << 32 | serial`): the retries of an older serial's NOTIFY stop
    /// once a newer one is being sent.
    pub notify_serial: HashMap<Vec<u8>, AtomicU64>,
    /// Counters for `/metrics`.
    pub counts: ReplCounts,
    /// Transfers in running at once (`[transfer-in] concurrent`): a
    /// secondary of a thousand zones starting up, or back after an outage,
    /// asks for them a few at a time instead of opening a thousand
    /// connections (which a primary's per-source cap would close).
    pub transfer_slots: Arc<tokio::sync::Semaphore>,
    /// The threads transfers in run on (kept between transfers).
    pub xfr_threads: Arc<crate::replication::pool::Pool>,
    /// NOTIFY exchanges in flight per target address (bounded by the
    /// NOTIFY targets of the configuration).
    pub notify_slots: Mutex<HashMap<std::net::SocketAddr, Arc<tokio::sync::Semaphore>>>,
    /// The TLS client of transfers in over TLS (XoT), when a primary
    /// says `tls` (`crate::tls::xot_client`).
    pub xot: Option<Arc<rustls::ClientConfig>>,
}

/// Replication events since start (`/metrics`).
#[derive(Default)]
pub struct ReplCounts {
    /// Transfers in that brought a new version by IXFR (differences).
    pub ixfr_in: AtomicU64,
    /// Transfers in that brought a whole zone (AXFR, or IXFR answered
    /// with the whole zone).
    pub axfr_in: AtomicU64,
    /// Refreshes that failed (no primary answered, or every transfer
    /// failed).
    pub refresh_failed: AtomicU64,
    /// NOTIFYs acknowledged by a secondary.
    pub notify_acked: AtomicU64,
    /// NOTIFY attempts that got no acknowledgement in time (retried).
    pub notify_retries: AtomicU64,
    /// NOTIFYs given up after every attempt.
    pub notify_given_up: AtomicU64,
}

impl Replication {
    /// The key a configuration names (`key = "..."`), if it exists.
    pub fn key(&self, name_text: &Option<String>) -> Option<&Key> {
        let n = name::from_text(name_text.as_deref()?, Some(b"\x00")).ok()?;
        self.keys.find(&n)
    }

    /// The NOTIFY slots of one target (`n` permits, made on first use).
    pub fn notify_slot(&self, addr: std::net::SocketAddr, n: usize) -> Arc<tokio::sync::Semaphore> {
        let mut m = self.notify_slots.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(m.entry(addr).or_insert_with(|| Arc::new(tokio::sync::Semaphore::new(n))))
    }

    /// Counts a NOTIFY refused by `allow-notify`; true for the first since
    /// the last summary, which is logged on its own.
    pub fn notify_refused(&self) -> bool {
        self.notify_refused.fetch_add(1, Ordering::Relaxed) == 0
    }

    /// Whether one more line about a refused request (TSIG, transfer) may
    /// be logged in this second (`now`, wall clock): at most 20.
    pub fn refusal_log_allowed(&self, now: u64) -> bool {
        let b = self.log_budget.load(Ordering::Relaxed);
        let (bsec, used) = (b >> 8, b & 0xFF);
        let next = if bsec == now { used + 1 } else { 1 };
        if next > 20 {
            return false;
        }
        self.log_budget.store(now << 8 | next, Ordering::Relaxed);
        true
    }
}
