//! Reloads: every zone (SIGHUP, `levee ctl reload`, `POST /api/reload`)
//! or one. A reload of every zone also reads the configuration file's
//! `[gate]` and `[xdp]` again (`gate::reconfig`); the rest of the file is
//! read at start only. The zones are read without the publish lock (each on a guarded
//! thread, `zones::load::load_guarded`); the lock is held only to merge
//! and publish ([`crate::zones::publish`]). Reloads run one at a time
//! (`Center::reloads`), and systemd hears `RELOADING=1` and then
//! `READY=1` around each.

use std::sync::atomic::Ordering;
use std::sync::MutexGuard;

use levee_zone::ZoneSet;

use crate::center::{Center, Reloads};
use crate::daemon::sd_notify::notify;
use crate::replication::primary::after_reload;
use crate::zones::load::{self, same_zone, ZonePlan};
use crate::zones::publish::{clone_entry, publish};

/// Tells systemd `RELOADING=1` now and `READY=1` when dropped, so every
/// way out of a reload (errors and panics included) reports its end.
pub struct Reloading<'a> {
    _one_at_a_time: MutexGuard<'a, ()>,
}

impl<'a> Reloading<'a> {
    /// Waits for other reloads, then announces this one.
    pub fn start(r: &'a Reloads) -> Reloading<'a> {
        let g = r.running.lock().unwrap_or_else(|e| e.into_inner());
        notify("RELOADING=1");
        Reloading { _one_at_a_time: g }
    }
}

impl Drop for Reloading<'_> {
    fn drop(&mut self) {
        notify("READY=1");
    }
}

/// Builds a new zone set beside the current one and swaps it in; returns
/// the zones served, how many failed to load, and the `[gate]`/`[xdp]`
/// keys of the file that changed and wait for a restart.
pub fn reload_all(c: &Center) -> (usize, usize, Vec<String>) {
    let _reloading = Reloading::start(&c.reloads);
    c.reloads.queued.store(false, Ordering::Release);
    c.reloads.done.fetch_add(1, Ordering::Relaxed);
    // The file's [gate] and [xdp]: applied live or logged as needing a
    // restart (gate::reconfig).
    let restart = crate::gate::reconfig::on_reload(c);
    // The DoT certificate and key (a bad pair keeps the served one).
    if let Some(certs) = &c.certs {
        certs.reload();
    }
    let plans: Vec<ZonePlan> = match load::plan(&c.cfg, c.builtin) {
        Ok(p) => p,
        Err(e) => {
            tracing::error!("reload: {e}; keeping the current zones");
            c.reloads.failed.fetch_add(1, Ordering::Relaxed);
            return (c.zones.load().len(), 0, restart);
        }
    };
    // Read every zone without the publish lock (transfers of secondary
    // zones go on meanwhile); only reloads change primary zones, and they
    // are serialised, so the set read here is what they replace.
    let base = c.zones.load_full();
    let (mut set, failed) = load::load_all(&plans, Some(&base), &c.cfg.load);
    drop(base);
    let (n, notifies) = publish(c, |old| {
        let notifies = after_reload(c, old, &mut set);
        let n = set.len();
        (set, (n, notifies))
    });
    notifies.send(c);
    if failed > 0 {
        c.reloads.failed.fetch_add(1, Ordering::Relaxed);
    }
    tracing::info!(zones = n, failed, "reload done");
    (n, failed, restart)
}

/// Reads one zone again; the others keep their snapshots. Returns the
/// zones served and how many failed to load (0 or 1).
pub fn reload_zone(c: &Center, zone: &str) -> Result<(usize, usize), String> {
    let plans = load::plan(&c.cfg, c.builtin)?;
    let plan =
        plans.iter().find(|p| same_zone(&p.name, zone)).ok_or_else(|| format!("zone {zone} is not configured"))?;
    let _reloading = Reloading::start(&c.reloads);
    // Read without the publish lock (see reload_all).
    let base = c.zones.load_full();
    let (one, failed) = load::load_all(std::slice::from_ref(plan), Some(&base), &c.cfg.load);
    drop(base);
    // The same lock as every other change to the served set (reloads,
    // transfers of secondary zones).
    let (n, notifies) = publish(c, |old| {
        let mut set = ZoneSet::new();
        for e in old.entries() {
            if !same_zone(&levee_wire::name::to_text(e.zone.apex()), zone) {
                set.insert(clone_entry(e));
            }
        }
        for e in one.entries() {
            set.insert(clone_entry(e));
        }
        let notifies = after_reload(c, old, &mut set);
        let n = set.len();
        (set, (n, notifies))
    });
    notifies.send(c);
    c.reloads.done.fetch_add(1, Ordering::Relaxed);
    if failed > 0 {
        c.reloads.failed.fetch_add(1, Ordering::Relaxed);
    }
    tracing::info!(zone, failed, "zone reload done");
    Ok((n, failed))
}
