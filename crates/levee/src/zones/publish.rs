//! Publication of the served zone set. Every change (a reload, a
//! received zone, an expiry) goes through [`publish`]: under the center's
//! publish lock it loads the current set, builds the next one, gives its
//! zones their statistics ids and stores it, so no update is lost; the
//! replaced set is freed on a background thread ([`retire`]). The drivers
//! never take the lock: they load the set through their snapshot cache.

use std::sync::Arc;
use std::time::Duration;

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
