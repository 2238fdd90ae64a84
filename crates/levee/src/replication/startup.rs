//! What replication reads at start: the stored copies of secondary zones
//! (served at once when complete, with their age deciding expiry) and the
//! journals of primary zones (IXFR out), into the first zone set; and the
//! replication state the tasks will need.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use levee_config::{Config, ZoneConfig};
use levee_tsig::KeyRing;
use levee_wire::name::{self, NameBuf};
use levee_xfr::Timers;
use levee_zone::journal::Journal;
use levee_zone::{Acl, Zone, ZoneEntry, ZoneSet};
use tokio::sync::Notify;

use crate::clock::wall;
use crate::replication::state::{NotifyLog, Replication, SecStatus, Secondary};
use crate::storage::{self, Kind, Stores};
use crate::zones::load::add_rules;
use crate::zones::publish::clone_entry;

/// A zone that answers SERVFAIL until the first transfer.
fn placeholder(apex: &[u8]) -> Option<Arc<Zone>> {
    levee_zone::placeholder(apex).map(Arc::new)
}

/// At start: reads journals of primary zones and the stored copies of
/// secondary zones into `set` (setting up their stores), and returns what
/// the tasks need.
pub fn init(cfg: &Config, set: &mut ZoneSet, stores: &Stores) -> Replication {
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
        let checks = crate::zones::load::checks_of(cfg, Some(z));
        let sec = secondary_entry(z, &apex, storage.as_deref(), set, checks, stores, cfg.load.threads());
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
            if let Some(j) = load_journal(d, &e, stores) {
                set.insert(ZoneEntry { journal: Some(Arc::new(j)), ..clone_entry(&e) });
            }
        }
    }
    let notify_serial = notify.keys().map(|k| (k.clone(), AtomicU64::new(0))).collect();
    Replication {
        keys,
        secondaries: crate::replication::state::Secondaries::new(secondaries),
        notify,
        log_budget: AtomicU64::new(0),
        notify_refused: AtomicU64::new(0),
        update_refused: AtomicU64::new(0),
        notify_serial,
        counts: Default::default(),
        transfer_slots: Arc::new(tokio::sync::Semaphore::new(cfg.transfers_in_concurrent)),
        xfr_threads: crate::replication::pool::Pool::new("levee-xfr-in", crate::replication::pool::IDLE),
        notify_slots: Mutex::new(HashMap::new()),
        xot: None,
    }
}

pub(crate) fn secondary_entry(
    z: &ZoneConfig,
    apex: &NameBuf,
    storage: Option<&Path>,
    set: &mut ZoneSet,
    checks: levee_zone::Checks,
    stores: &Stores,
    threads: usize,
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
    let (loaded, unchecked) = path.as_deref().map_or((None, false), |p| load_stored(z, p, apex, stores, threads));
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
    let mut received = Journal::new();
    if let Some(zone) = zone {
        let mut e = ZoneEntry {
            zone,
            transfer: transfer.clone(),
            notify: notify.clone(),
            expired,
            not_loaded: status.serial.is_none(),
            journal: None,
            expires: Some(Arc::clone(&expires)),
        };
        // The differences received before the restart (IXFR out to our own
        // secondaries), if they end at the stored serial.
        if let (Some(d), Some(_)) = (storage, status.serial) {
            if let Some(j) = load_journal(d, &e, stores) {
                e.journal = Some(Arc::new(j.clone()));
                received = j;
            }
        }
        set.insert(e);
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
        journal: Mutex::new(received),
        limits: z.repl.transfer_limits,
        checks,
        current: Mutex::new(None),
        notify_pending: std::sync::atomic::AtomicBool::new(false),
        notify_log: Mutex::new(NotifyLog::default()),
        expires,
        heard_serial: AtomicU64::new(0),
        removed: false.into(),
        sign: z.dnssec.clone().zip(storage).map(|(policy, d)| crate::zones::sign::SignPlan {
            policy,
            key_dir: crate::keys::zone_dir(&d.join("keys"), &z.name),
            serial_floor: false,
        }),
    }
}

/// The journal of a zone from storage (a primary's differences between
/// reloads, a secondary's received ones), if it is complete and
/// ends at the served serial (else IXFR starts afresh, with a log line
/// saying why). Files of the old naming are read too.
fn load_journal(dir: &Path, e: &ZoneEntry, stores: &Stores) -> Option<Journal> {
    let apex = e.zone.apex();
    let zname = name::to_text(apex);
    let path = storage::journal_file(dir, apex);
    let legacy = storage::legacy_file(dir, &zname, "journal");
    let store = stores.store(apex, Kind::Journal, &path);
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
    z.file.clone().unwrap_or_else(|| storage::zone_file(dir, apex))
}

/// Reads the stored copy of a secondary zone at start, if it is complete
/// (storage.rs); returns the zone with its age in seconds, and whether it
/// had no integrity check (an older levee's copy). Sets up its store.
/// The copy is parsed on `threads` threads (`load.parse-threads`), as a
/// zone file is.
fn load_stored(
    z: &ZoneConfig,
    path: &Path,
    apex: &NameBuf,
    stores: &Stores,
    threads: usize,
) -> (Option<(Arc<Zone>, u64)>, bool) {
    let store = stores.store(apex, Kind::Zone, path);
    let mut from = path.to_path_buf();
    if !from.exists() && z.file.is_none() {
        if let Some(dir) = path.parent() {
            let legacy = storage::legacy_file(dir, &z.name, "zone");
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
    let checked = match storage::verify_zone_copy(&from, apex) {
        Ok(c) => c,
        Err(why) => {
            tracing::error!(zone = %z.name, path = %from.display(), "stored copy refused: {why}; the zone answers SERVFAIL until a transfer succeeds");
            return (None, false);
        }
    };
    let opts = levee_zone::LoadOptions { threads, ..levee_zone::LoadOptions::default() };
    let copy = levee_zone::Source::File(&from);
    let b = match levee_zone::load_with(copy, apex, &opts, levee_zone::Checks::default(), &mut |_| {}) {
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
        storage::Checked::Verified(serial) if serial == b.zone.serial() => {
            store.set_stored(Some(serial), (from != path).then(|| from.clone()));
            false
        }
        storage::Checked::Verified(serial) => {
            tracing::error!(zone = %z.name, path = %from.display(), header = serial, soa = b.zone.serial(), "stored copy refused: its header and its SOA disagree");
            return (None, false);
        }
        storage::Checked::Unchecked => {
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
