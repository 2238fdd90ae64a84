//! Replication (issue 5): zones served as a primary (journals, NOTIFY out)
//! and as a secondary (the refresh loop, transfers in).
//!
//! * [`xfrin`]: one transfer in, on a thread of its own.

pub mod client;
pub mod primary;
pub mod secondary;
pub mod startup;
pub mod state;
pub mod xfrin;

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use arc_swap::ArcSwap;
use levee_zone::ZoneSet;

use crate::replication::primary::send_notifies;
use crate::replication::secondary::{notify_summaries, secondary_loop};
use crate::replication::state::{Repl, STATE};

type Shared = Arc<ArcSwap<ZoneSet>>;

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
    if let Some(l) = crate::control_socket::take_listener() {
        let r = Arc::clone(&r);
        rt.spawn(async move { crate::control_socket::serve(l, r).await });
    }
}
