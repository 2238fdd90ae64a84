//! Publication of the served zone set. Every change (a reload, a
//! received zone, an expiry) goes through [`publish`]: under the center's
//! publish lock it loads the current set, builds the next one, gives its
//! zones their statistics ids and stores it, so no update is lost; the
//! replaced set is freed on a background thread ([`retire`]). The drivers
//! never take the lock: they load the set through their snapshot cache.
//!
//! A new set costs a copy of the old one: O(zones). One zone changed at a
//! time that is nothing, but a secondary receiving thousands of zones at
//! once (the members of a catalog, a fleet node started empty) would copy
//! the set once per zone, O(zones²): 10,000 zones meant 10,000 copies of
//! up to 10,000 entries. The changes of one zone each (a received zone,
//! an expiry) therefore go through [`coalesced`], a group commit: a
//! change is queued, then its caller takes the publish lock; whoever holds
//! it takes *every* change queued so far and publishes them in one new
//! set (the old one cloned, [`ZoneSet`]'s `Clone` copies the index without
//! hashing a name again, then each change applied in the order queued).
//! A caller whose change someone else published finds it done and
//! returns. No extra thread: while one set is built, the transfers that
//! end meanwhile queue up, so the more zones arrive at once, the more each
//! publication carries. And the copies get at most a fifth of a core:
//! the next coalesced publication starts no sooner than four times the
//! last one's cost after it ended ([`PACE`]), and never sooner than
//! [`MIN_GAP`] (at most [`MAX_WAIT`]), so a storm of received zones waits
//! a little and is published in fewer, larger batches, while one change
//! alone (the previous publication long past) waits for nothing. The
//! floor matters on a machine running many servers: a fifth of a core
//! each is the whole machine for ten fleet nodes receiving 10,000 zones
//! at once, while at most one publication per [`MIN_GAP`] costs each a
//! few percent. Each caller returns only once its change is served.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use levee_zone::{ZoneEntry, ZoneSet};

use crate::center::Center;

/// Publishes the set `next` builds from the one served, with the publish
/// lock held (see the module documentation); returns what `next`
/// returned beside the set. Blocking: `next` may take time, and the lock
/// may be held by a reload merging its zones.
pub fn publish<T>(c: &Center, next: impl FnOnce(&ZoneSet) -> (ZoneSet, T)) -> T {
    let _publishing = c.publish_lock();
    let old = c.zones.load_full();
    let (mut set, out) = next(&old);
    c.zone_ids.assign(&mut set);
    c.zones.store(Arc::new(set));
    retire(old);
    out
}

/// A coalesced publication waits this many times the previous one's
/// cost after it ended (the copies then take at most 1/(1+PACE) of a core).
const PACE: u32 = 4;
/// ... and at least this long (publications during a storm of received
/// zones: at most 50 a second) ...
const MIN_GAP: Duration = Duration::from_millis(20);
/// ... but never longer than this (a change is served this soon).
const MAX_WAIT: Duration = Duration::from_millis(50);

/// Publishes `change` (applied to a copy of the served set), together
/// with every other change queued meanwhile (see the module
/// documentation); returns once it is served. Blocking, like [`publish`].
pub fn coalesced(c: &Center, change: impl FnOnce(&mut ZoneSet) + Send + 'static) {
    let p = &c.pending;
    let ticket = {
        let mut q = p.queue.lock().unwrap_or_else(|e| e.into_inner());
        q.0 += 1;
        q.1.push(Box::new(change));
        q.0
    };
    let _publishing = c.publish_lock();
    if p.done.load(Ordering::Acquire) >= ticket {
        return; // published by the holder before us
    }
    let last = *p.last.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((ended, cost)) = last {
        let wait = (cost * PACE).max(MIN_GAP).min(MAX_WAIT).saturating_sub(ended.elapsed());
        if !wait.is_zero() {
            std::thread::sleep(wait); // more changes queue meanwhile
        }
    }
    let started = Instant::now();
    let (last, changes) = {
        let mut q = p.queue.lock().unwrap_or_else(|e| e.into_inner());
        (q.0, std::mem::take(&mut q.1))
    };
    let old = c.zones.load_full();
    let mut set = ZoneSet::clone(&old);
    p.publications.fetch_add(1, Ordering::Relaxed);
    p.changes.fetch_add(changes.len() as u64, Ordering::Relaxed);
    for change in changes {
        change(&mut set);
    }
    c.zone_ids.assign(&mut set);
    c.zones.store(Arc::new(set));
    p.done.store(last, Ordering::Release);
    *p.last.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), started.elapsed()));
    retire(old);
}

/// A copy of an entry sharing its zone, ACLs, journal and expiry.
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
