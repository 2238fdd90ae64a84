//! Primary zones: the journal of each changed zone after a reload (IXFR
//! out) and NOTIFY to its secondaries, retried until acknowledged.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use levee_config::repl::Remote;
use levee_wire::name;
use levee_wire::rtype::t;
use levee_wire::serial::Serial;
use levee_zone::journal::{self, Limits, Rr};
use levee_zone::{Zone, ZoneEntry, ZoneSet};

use crate::center::Center;
use crate::clock::wall;
use crate::replication::client::{random_id, udp_exchange};
use crate::replication::state::Replication;
use crate::storage::{self, Job, Kind};
use crate::zones::publish::clone_entry;

/// NOTIFY attempts per target; attempt n waits 0.25 s × 2^(n-1), at most
/// [`NOTIFY_MAX_WAIT`], for the acknowledgement before the next, about
/// 60 s in all. The short cap is for fleets: a secondary back from a
/// partition or a restart hears of the change within about 2 s (with a
/// cap of 8 s it waited up to 8 s), at the cost of one small datagram
/// every 2 s per unreachable secondary and changed zone for a minute.
const NOTIFY_ATTEMPTS: u32 = 32;
/// NOTIFY exchanges in flight to one target at once, all zones together:
/// a start or a reload that changes a thousand zones does not send a
/// thousand NOTIFYs (and their retries) to a secondary at once. Measured
/// in the fleet test (1,000 zones, a primary restart): NSD acknowledged
/// a burst of 1,000 so slowly that 198 were given up after a minute of
/// retries (26,468 retries in all).
const NOTIFY_IN_FLIGHT_PER_TARGET: usize = 32;
/// The longest wait between two NOTIFY attempts (before jitter).
const NOTIFY_MAX_WAIT: Duration = Duration::from_secs(2);

/// `wait` spread by ±25 % so that the NOTIFYs of many zones to many
/// secondaries, sent together after a reload or a start, do not retry in
/// lockstep.
fn jittered(wait: Duration) -> Duration {
    let r = crate::replication::client::random_id() as u32; // 0..=65535
    wait.mul_f64(0.75 + 0.5 * f64::from(r) / 65535.0)
}

/// After a reload built `new` from the zone files: keeps the secondary
/// zones, extends the journals of changed primary zones, and sends
/// NOTIFY for them. Called with the publish lock held; the NOTIFYs go
/// out when the caller calls [`Notifies::send`] after publishing `new`
/// (a secondary asking at once must see the new serial).
pub fn after_reload(c: &Center, old: &ZoneSet, new: &mut ZoneSet) -> Notifies {
    let mut pending = Notifies(Vec::new());
    let r = &c.repl;
    for apex in r.secondaries.keys() {
        if let Some(e) = old.exact(&apex) {
            new.insert(clone_entry(e));
        }
    }
    // A produced catalog is written by levee, not read from a file
    // (`provision::producer`).
    // Runtime primary zones have no file of the configuration either.
    for apex in crate::provision::registry::produced_apexes(&c.cfg).into_iter().chain(c.registry.primary_apexes()) {
        if let Some(e) = old.exact(&apex) {
            new.insert(clone_entry(e));
        }
    }
    // A dynamic zone keeps its served version, updates included: its
    // file is read at start only, under its update log (`update`).
    for (apex, _) in crate::update::queue::grants(&c.cfg) {
        if let Some(e) = old.exact(&apex).filter(|e| !e.not_loaded) {
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
            // A difference the loader made (a signed zone re-signed in
            // place, `zones::sign::incremental`) is taken as it is.
            let pending = n.journal.take().and_then(|j| j.since(o.zone.serial()).map(|ds| ds.into_iter().cloned().collect::<Vec<_>>()));
            let increased = Serial(e.zone.serial()) > Serial(o.zone.serial());
            if !increased {
                // No difference to a lower or equal serial is recorded.
                // The same data keeps its journal; changed data under the
                // same or a lower serial makes it wrong: dropped.
                if o.zone.same_data(&e.zone) {
                    n.journal = o.journal.clone();
                } else if o.journal.is_some() {
                    tracing::warn!(zone = %name::to_text(e.zone.apex()), "journal dropped: the data changed without a higher serial (IXFR answers with a full transfer)");
                    write_journal(c, e.zone.apex(), Job::Remove);
                }
                return Some(n);
            }
            if !e.transfer.is_empty() {
                let mut j = o.journal.as_deref().cloned().unwrap_or_default();
                let d = match pending {
                    Some(mut ds) if ds.len() == 1 && ds[0].to() == e.zone.serial() => ds.remove(0),
                    _ => journal::diff(&o.zone, &e.zone),
                };
                tracing::info!(
                    zone = %name::to_text(e.zone.apex()),
                    from = d.from(),
                    to = d.to(),
                    removed = d.removed.len(),
                    added = d.added.len(),
                    "journal: difference recorded"
                );
                j.push(d, now, Limits::default());
                write_journal(c, e.zone.apex(), Job::Journal(j.encode()));
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

/// Hands a zone's journal (or its removal) to its store, with a storage
/// directory (primary zones here; secondary zones' received differences
/// in `secondary`).
pub fn write_journal(c: &Center, apex: &[u8], job: Job) {
    if let Some(dir) = &c.cfg.storage_dir {
        c.stores.store(apex, Kind::Journal, &storage::journal_file(dir, apex)).submit(job, &c.runtime);
    }
}

/// NOTIFYs to send once a reloaded set is published.
#[must_use]
pub struct Notifies(Vec<Arc<Zone>>);

impl Notifies {
    /// Sends them (on the runtime; retried until acknowledged).
    pub fn send(self, c: &Center) {
        for zone in &self.0 {
            send_notifies(&c.runtime, &c.repl, zone);
        }
    }
}

/// At start: NOTIFY for every primary zone with targets, and for every
/// secondary zone with targets that has data (one without gets its first
/// version by a transfer, and notifies then).
pub fn announce(c: &Center) {
    let set = c.zones.load_full();
    for apex in c.repl.notify.keys() {
        if c.repl.secondaries.get(apex).is_some_and(|s| s.status.lock().map_or(true, |st| st.serial.is_none())) {
            continue;
        }
        if let Some(e) = set.exact(apex) {
            send_notifies(&c.runtime, &c.repl, &e.zone);
        }
    }
}

pub fn send_notifies(h: &tokio::runtime::Handle, r: &Arc<Replication>, zone: &Arc<Zone>) {
    let Some(targets) = r.notify.get(zone.apex()) else { return };
    if let Some(n) = r.notify_serial.get(zone.apex()) {
        n.store(1 << 32 | zone.serial() as u64, Ordering::Release);
    }
    let soa = Rr {
        owner: zone.apex().to_vec(),
        rtype: t::SOA,
        ttl: zone.rrset(zone.soa()).ttl(),
        rdata: zone.first_rdata(zone.soa()).to_vec(),
    };
    for tgt in targets.clone() {
        let (r, soa) = (Arc::clone(r), soa.clone());
        h.spawn(async move { notify_one(r, tgt, soa).await });
    }
}

async fn notify_one(r: Arc<Replication>, tgt: Remote, soa: Rr) {
    let zname = name::to_text(&soa.owner);
    let serial = levee_wire::soa::serial(&soa.rdata).unwrap_or(0);
    let key = r.key(&tgt.key).cloned();
    let mut wait = Duration::from_millis(250);
    let current = |r: &Replication| {
        r.notify_serial.get(soa.owner.as_slice()).is_none_or(|n| n.load(Ordering::Acquire) == 1 << 32 | serial as u64)
    };
    for attempt in 1..=NOTIFY_ATTEMPTS {
        if attempt > 1 && !current(&r) {
            // A newer serial's NOTIFY to this target is under way.
            tracing::debug!(zone = %zname, serial, target = %tgt.addr, "NOTIFY superseded by a newer serial");
            return;
        }
        // Held for the attempt and its wait; closed only at shutdown.
        let slot = r.notify_slot(tgt.addr, NOTIFY_IN_FLIGHT_PER_TARGET);
        let Ok(_in_flight) = slot.acquire_owned().await else { return };
        let started = tokio::time::Instant::now();
        let wait_now = if attempt == 1 { wait } else { jittered(wait) };
        let req = levee_xfr::request(random_id(), &soa.owner, t::SOA, Some(&soa), true, key.as_ref(), wall());
        match udp_exchange(tgt.addr, tgt.source, &req, key.as_ref(), wait_now).await {
            Ok(_) => {
                r.counts.notify_acked.fetch_add(1, Ordering::Relaxed);
                tracing::info!(zone = %zname, serial, target = %tgt.addr, attempt, "NOTIFY acknowledged");
                return;
            }
            Err(e) => {
                r.counts.notify_retries.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(zone = %zname, target = %tgt.addr, attempt, "NOTIFY: {e}")
            }
        }
        // An error that came at once (ICMP unreachable) still waits its turn.
        tokio::time::sleep_until(started + wait_now).await;
        wait = (wait * 2).min(NOTIFY_MAX_WAIT);
    }
    r.counts.notify_given_up.fetch_add(1, Ordering::Relaxed);
    tracing::warn!(zone = %zname, serial, target = %tgt.addr, "NOTIFY not acknowledged after {NOTIFY_ATTEMPTS} attempts");
}
