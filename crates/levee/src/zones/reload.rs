//! Reloads: every zone (SIGHUP, `levee ctl reload`, `POST /api/reload`)
//! or one. The zones are read without the publish lock (each on a guarded
//! thread, `zones::load::load_guarded`); the lock is held only to merge
//! and publish. Reloads run one at a time, and systemd hears
//! `RELOADING=1` and then `READY=1` around each.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;
use levee_config::Config;
use levee_zone::ZoneSet;

use crate::daemon::sd_notify::notify;
use crate::ops::api::{self, zone_ids, Ops, RELOADS, RELOAD_FAILURES};
use crate::zones::load::{self, same_zone, ZonePlan};

type Shared = Arc<ArcSwap<ZoneSet>>;

/// A SIGHUP reload is waiting for the reload lock.
pub static RELOAD_QUEUED: AtomicBool = AtomicBool::new(false);
/// One reload at a time (SIGHUP, `levee ctl reload`, `POST /api/reload`).
static RELOADING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Tells systemd `RELOADING=1` now and `READY=1` when dropped, so every
/// way out of a reload (errors and panics included) reports its end.
pub struct Reloading {
    _one_at_a_time: std::sync::MutexGuard<'static, ()>,
}

impl Reloading {
    /// Waits for other reloads, then announces this one.
    pub fn start() -> Reloading {
        let g = RELOADING.lock().unwrap_or_else(|e| e.into_inner());
        notify("RELOADING=1");
        Reloading { _one_at_a_time: g }
    }
}

impl Drop for Reloading {
    fn drop(&mut self) {
        notify("READY=1");
    }
}

/// Builds a new zone set beside the current one and swaps it in; returns
/// the zones served and how many failed to load.
pub fn reload(cfg: &Config, builtin: bool, shared: &Shared) -> (usize, usize) {
    let _reloading = Reloading::start();
    RELOAD_QUEUED.store(false, Ordering::Release);
    api::RELOADS.fetch_add(1, Ordering::Relaxed);
    let plans: Vec<ZonePlan> = match load::plan(cfg, builtin) {
        Ok(p) => p,
        Err(e) => {
            tracing::error!("reload: {e}; keeping the current zones");
            api::RELOAD_FAILURES.fetch_add(1, Ordering::Relaxed);
            return (shared.load().len(), 0);
        }
    };
    // Read every zone without the publish lock (transfers of secondary
    // zones go on meanwhile); only reloads change primary zones, and they
    // are serialised, so the set read here is what they replace.
    let base = shared.load_full();
    let (mut set, failed) = load::load_all(&plans, Some(&base), &cfg.load);
    drop(base);
    let _publishing = crate::zones::publish::publish_lock();
    let old = shared.load_full();
    let notifies = crate::replication::primary::after_reload(&old, &mut set);
    api::zone_ids().assign(&mut set);
    let n = set.len();
    shared.store(Arc::new(set));
    notifies.send();
    crate::zones::publish::retire(old);
    if failed > 0 {
        api::RELOAD_FAILURES.fetch_add(1, Ordering::Relaxed);
    }
    tracing::info!(zones = n, failed, "reload done");
    (n, failed)
}

pub fn reload_zone(ops: &Ops, zone: &str) -> Result<(usize, usize), String> {
    let plans = crate::zones::load::plan(&ops.cfg, ops.builtin)?;
    let plan =
        plans.iter().find(|p| same_zone(&p.name, zone)).ok_or_else(|| format!("zone {zone} is not configured"))?;
    let _reloading = Reloading::start();
    // Read without the publish lock (see serve::reload).
    let base = ops.zones.load_full();
    let (one, failed) = crate::zones::load::load_all(std::slice::from_ref(plan), Some(&base), &ops.cfg.load);
    drop(base);
    // The same lock as every other change to the served set (reloads,
    // transfers of secondary zones).
    let _publishing = crate::zones::publish::publish_lock();
    let old = ops.zones.load_full();
    let mut set = ZoneSet::new();
    for e in old.entries() {
        if !same_zone(&levee_wire::name::to_text(e.zone.apex()), zone) {
            set.insert(crate::zones::publish::clone_entry(e));
        }
    }
    for e in one.entries() {
        set.insert(crate::zones::publish::clone_entry(e));
    }
    let notifies = crate::replication::primary::after_reload(&old, &mut set);
    zone_ids().assign(&mut set);
    let n = set.len();
    ops.zones.store(Arc::new(set));
    notifies.send();
    crate::zones::publish::retire(old);
    RELOADS.fetch_add(1, Ordering::Relaxed);
    if failed > 0 {
        RELOAD_FAILURES.fetch_add(1, Ordering::Relaxed);
    }
    tracing::info!(zone, failed, "zone reload done");
    Ok((n, failed))
}
