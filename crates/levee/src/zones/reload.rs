//! Reloads: every zone (SIGHUP, `levee ctl reload`, `POST /api/reload`)
//! or one. A reload of every zone also reads the configuration file's
//! `[gate]` and `[xdp]` again (`gate::reconfig`); the rest of the file is
//! read at start only. The zones are read without the publish lock (on the
//! load's threads, each watched: [`crate::zones::pool`]); the lock is held only to merge
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
        // A dynamic zone changes by updates only (its file is read at
        // start, under its update log): `after_reload` keeps it.
        Ok(p) => p.into_iter().filter(|p| !dynamic(c, &p.name)).collect(),
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
    let (mut set, failed) = crate::zones::pool::load_all(plans.into(), Some(&base), &c.cfg.load);
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
    if dynamic(c, &plan.name) {
        return Err(format!("zone {zone} takes dynamic updates (allow-update): it is not reloaded from its file"));
    }
    let _reloading = Reloading::start(&c.reloads);
    // Read without the publish lock (see reload_all).
    let base = c.zones.load_full();
    let (one, failed) = crate::zones::pool::load_all(std::sync::Arc::from([plan.clone()]), Some(&base), &c.cfg.load);
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

/// The signing timer: every minute (sooner when a policy leaves less
/// than four minutes between a signature's refresh point and its
/// expiry, or has short key lifetimes, DS TTL and propagation delay:
/// a rollover on an accelerated clock), each signed zone whose first signature has entered its
/// refresh window is reloaded, which signs again what is due (and keeps
/// the rest). Runs for the daemon's life.
pub async fn refresh_signatures(c: std::sync::Arc<crate::center::Center>) {
    let margin = c
        .cfg
        .zones
        .iter()
        .filter_map(|z| z.dnssec.as_ref())
        .map(|p| {
            let mut margin = p.signature_validity.saturating_sub(p.signature_refresh) as u64;
            if p.split_keys && p.zsk_lifetime > 0 {
                margin = margin.min(p.zsk_lifetime / 2);
            }
            if p.ksk_lifetime > 0 {
                margin = margin.min(p.ksk_lifetime / 2);
            }
            // A rollover's steps come at least the propagation delay
            // apart (`zones::keyroll`): wake that often (at most every
            // minute), so that a policy of seconds runs in seconds.
            margin.min(p.propagation_delay.max(1) * 4)
        })
        .min();
    let every = std::time::Duration::from_secs(margin.map_or(60, |m| (m as u64 / 4).clamp(1, 60)));
    loop {
        tokio::time::sleep(every).await;
        let set = c.zones.load_full();
        let now = crate::clock::wall();
        let due_zones: Vec<String> = c
            .cfg
            .zones
            .iter()
            .filter_map(|z| Some((z, z.dnssec.as_ref()?)))
            .filter(|(z, p)| {
                let Ok(apex) = levee_wire::name::from_text(&z.name, None) else { return false };
                let lname = levee_wire::name::to_lowercase(&apex);
                let Some(e) = set.exact(&lname).filter(|e| !e.not_loaded) else { return false };
                let sigs = crate::zones::sign::due(&e.zone, p.signature_refresh);
                let keys = crate::zones::sign::SignPlan::of_zone(&c.cfg, z)
                    .and_then(|s| crate::zones::sign::key_event(&s, &z.name, &e.zone));
                sigs.into_iter().chain(keys).min().is_some_and(|d| d <= now)
            })
            .map(|(z, _)| z.name.clone())
            .collect();
        drop(set);
        for zone in due_zones {
            let c2 = std::sync::Arc::clone(&c);
            let z2 = zone.clone();
            let r = tokio::task::spawn_blocking(move || reload_zone(&c2, &z2)).await;
            match r {
                Ok(Ok(_)) => tracing::info!(zone = %zone, "signatures refreshed"),
                Ok(Err(e)) => tracing::error!(zone = %zone, "signature refresh failed: {e}"),
                Err(e) => tracing::error!(zone = %zone, "signature refresh failed: {e}"),
            }
        }
    }
}

/// Whether the zone `name` (presentation form) takes dynamic updates and
/// is served (one whose file did not load at start is read again).
fn dynamic(c: &Center, name: &str) -> bool {
    let Ok(n) = levee_wire::name::from_text(name, None) else { return false };
    let apex = levee_wire::name::to_lowercase(&n);
    crate::update::queue::grants(&c.cfg).iter().any(|(a, _)| a.as_slice() == apex.as_slice())
        && c.zones.load().exact(apex.as_slice()).is_some_and(|e| !e.not_loaded)
}
