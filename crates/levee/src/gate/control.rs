//! The controller's logic ([`Controller`]): pure, with the clock and the
//! counters passed in, so it is tested with a fake [`GateSink`] and a
//! virtual clock. `run` drives it from a thread.
//!
//! Each [`Controller::tick`] takes the time, the published zone set and
//! the NXDOMAIN counts per zone statistics id (`ops::counters::Sum`), and:
//!
//! 1. reads the gate's counters (`GateSink::stats`);
//! 2. for each served zone, its NXDOMAIN rate since the last tick;
//! 3. arms a zone whose rate passes `arm-nxdomain-rate`: builds its filter
//!    and publishes it with the NX budget (a failure is logged and retried
//!    after [`RETRY_MS`]);
//! 4. republishes an armed zone whose snapshot changed (reload, transfer);
//! 5. disarms an armed zone after `hold` seconds of calm, where calm means
//!    the gate dropped no NXDOMAIN query for lack of budget since the last
//!    tick (a global rule: the gate counts drops for all zones together)
//!    *and* the zone's own NXDOMAIN rate, which is what its budget let
//!    through plus what the filter took for existing names, is at most
//!    half its budget and half the arming rate. While a flood goes on,
//!    the budget is spent and drops are counted, so the zone stays armed:
//!    no flapping. A zone removed from the set is withdrawn at once.
//!
//! Every [`KNOWN_COUNT_TICKS`] ticks it also counts the gate's known
//! table (`GateSink::known_fill`) for the operator.
//!
//! A reload that read new `[gate]` settings leaves them in
//! [`Status::pending`]; [`Controller::reconfigure`] applies them on the
//! controller's thread: budgets and trusted prefixes at once (the
//! loader's `set_config`, `set_known`/`remove_known`), the NX budget by
//! republishing the armed zones at the next tick, the arming rate, the
//! hold and the filter size from the next tick or arming on.
//!
//! Zone ids past the counters' table (`ZONE_SLOTS - 1` and up share one
//! slot) are never armed: their NXDOMAINs cannot be told apart.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use levee_config::GateConfig;
use levee_limit::gate::suffix_hashes;
use levee_wire::name;
use levee_zone::{Zone, ZoneSet};

use super::filter::{build, children};
use super::keys::gate_keys;
use super::{GateSettings, GateSink, Placement, ZoneBudget, DROP_NX_BUDGET, NSTATS};
use crate::ops::counters::ZONE_SLOTS;

/// Milliseconds before a failed publication is tried again.
pub const RETRY_MS: u64 = 10_000;
/// Seconds a known source stays known without being seen again (the
/// policy stage's).
pub const KNOWN_TTL_S: u64 = levee_answer::policy::KNOWN_TTL as u64;
/// Ticks between two counts of the known table (a walk of the map: two
/// system calls per entry, up to 65,536 entries).
pub const KNOWN_COUNT_TICKS: u64 = 10;

/// An armed zone, as the operator sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct ArmedZone {
    /// The zone's name.
    pub zone: String,
    /// When it was armed (Unix seconds).
    pub since: f64,
    /// NXDOMAIN a second reaching the daemon at the last tick.
    pub nxdomain_rate: f64,
    /// NXDOMAIN a second that armed it (above `arm-nxdomain-rate`).
    pub armed_rate: f64,
    /// Its budget for names it does not have.
    pub nx: ZoneBudget,
    /// Keys in its filter.
    pub keys: usize,
    /// Octets of its filter.
    pub filter_octets: usize,
    /// Milliseconds its last filter build took.
    pub build_ms: f64,
    /// Every name of the zone exists (a wildcard or DNAME at the apex):
    /// arming it limits nothing.
    pub all: bool,
}

/// What the operator surface reads (`/metrics`, `/api/status`, `levee
/// ctl gate`).
#[derive(Default)]
pub struct Status {
    /// The gate's counters and the armed zones, as of the last tick.
    pub state: Mutex<(Option<[u64; NSTATS]>, Vec<ArmedZone>)>,
    /// Times a zone was armed.
    pub armed_total: AtomicU64,
    /// Known sources written to the gate.
    pub known_written: AtomicU64,
    /// Newly known sources dropped because the channel was full.
    pub known_dropped: Arc<AtomicU64>,
    /// Calls to the gate that failed.
    pub errors: AtomicU64,
    /// Where the gate runs (written once at start).
    pub place: Mutex<Placement>,
    /// The `[gate]` settings in force (the controller's; a reload may
    /// change them).
    pub config: Mutex<GateConfig>,
    /// The known table's fill and when it was counted (Unix seconds).
    pub known: Mutex<Option<(levee_io::gate::KnownFill, f64)>>,
    /// `[gate]` settings a reload read, waiting for the controller.
    pub pending: Mutex<Option<GateConfig>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Status {
    /// The gate's counters by reason (`None` until the gate answered) and
    /// the armed zones.
    pub fn read(&self) -> (Option<[u64; NSTATS]>, Vec<ArmedZone>) {
        lock(&self.state).clone()
    }

    /// The `[gate]` settings in force.
    pub fn config(&self) -> GateConfig {
        lock(&self.config).clone()
    }

    /// Where the gate runs.
    pub fn placement(&self) -> Placement {
        lock(&self.place).clone()
    }

    /// Records where the gate runs (at start).
    pub fn set_placement(&self, p: Placement) {
        *lock(&self.place) = p;
    }

    /// Hands new `[gate]` settings to the controller (a reload); a newer
    /// request replaces one not yet applied.
    pub fn request(&self, g: GateConfig) {
        *lock(&self.pending) = Some(g);
    }

    /// The known table's fill and when it was counted.
    pub fn known_fill(&self) -> Option<(levee_io::gate::KnownFill, f64)> {
        *lock(&self.known)
    }

    /// As `/api/status` and `/api/live` show it.
    pub fn json(&self) -> serde_json::Value {
        let (stats, armed) = self.read();
        let packets: serde_json::Map<String, serde_json::Value> = super::REASONS
            .iter()
            .zip(stats.unwrap_or_default())
            .map(|(r, n)| ((*r).to_string(), serde_json::json!(n)))
            .collect();
        let armed: Vec<serde_json::Value> = armed
            .iter()
            .map(|a| {
                serde_json::json!({
                    "zone": a.zone,
                    "since": a.since,
                    "nxdomain_rate": a.nxdomain_rate,
                    "armed_rate": a.armed_rate,
                    "nx_rate": a.nx.rate,
                    "nx_burst": a.nx.burst,
                    "names": a.keys,
                    "filter_octets": a.filter_octets,
                    "build_ms": a.build_ms,
                    "every_name_exists": a.all,
                })
            })
            .collect();
        let place = self.placement();
        let xdp: Vec<serde_json::Value> = place
            .xdp
            .iter()
            .map(|x| {
                serde_json::json!({
                    "interface": x.interface,
                    "mode": x.mode,
                    "queues": x.queues,
                    "socket_mode": x.socket_mode,
                    "error": x.error,
                })
            })
            .collect();
        let settings: serde_json::Map<String, serde_json::Value> =
            gate_keys(&self.config()).into_iter().map(|(k, v)| (k.to_string(), serde_json::json!(v))).collect();
        let known = self.known_fill().map(|(f, at)| {
            serde_json::json!({
                "entries": f.entries,
                "live": f.live,
                "trusted": f.trusted,
                "capacity": levee_io::gate::KNOWN_CAPACITY,
                "counted_at": at,
            })
        });
        serde_json::json!({
            "socket_filter_sockets": place.sockets,
            "xdp": xdp,
            "settings": settings,
            "known": known,
            "packets": packets,
            "armed": armed,
            "armed_total": self.armed_total.load(Ordering::Relaxed),
            "known_written": self.known_written.load(Ordering::Relaxed),
            "known_dropped": self.known_dropped.load(Ordering::Relaxed),
            "errors": self.errors.load(Ordering::Relaxed),
        })
    }
}

struct Armed {
    apex_hash: u64,
    zone: Arc<Zone>,
    /// The last sample that showed a flood (or the arming).
    busy_at: u64,
    view: ArmedZone,
}

/// The arming logic and the known-source writer (module documentation).
pub struct Controller {
    sink: Box<dyn GateSink>,
    cfg: GateConfig,
    settings: GateSettings,
    armed: HashMap<u16, Armed>,
    ticks: u64,
    failed: HashMap<u16, u64>,
    last: Option<(u64, Vec<u64>, [u64; NSTATS])>,
    status: Arc<Status>,
    /// Wall clock (Unix seconds) for the operator's "since".
    wall: fn() -> f64,
}

impl Controller {
    /// A controller publishing to `sink`: writes the settings and the
    /// trusted prefixes first.
    pub fn new(
        mut sink: Box<dyn GateSink>,
        cfg: &GateConfig,
        settings: &GateSettings,
        status: Arc<Status>,
    ) -> Result<Controller, String> {
        sink.set_config(settings)?;
        for &(ip, len) in &cfg.trusted {
            for a in super::known::expand(ip, len) {
                sink.set_known(a, u64::MAX)?;
            }
        }
        *lock(&status.config) = cfg.clone();
        Ok(Controller {
            sink,
            cfg: cfg.clone(),
            settings: settings.clone(),
            armed: HashMap::new(),
            ticks: 0,
            failed: HashMap::new(),
            last: None,
            status,
            wall: crate::clock::unix_now,
        })
    }

    /// What the operator surface reads.
    #[cfg(test)]
    pub fn status(&self) -> &Arc<Status> {
        &self.status
    }

    /// Ids of the armed zones (tests).
    #[cfg(test)]
    pub fn armed_ids(&self) -> Vec<u16> {
        let mut v: Vec<u16> = self.armed.keys().copied().collect();
        v.sort();
        v
    }

    /// Marks `addr` known until `now_ns + KNOWN_TTL` (both of
    /// `CLOCK_MONOTONIC`).
    pub fn known(&mut self, addr: IpAddr, now_ns: u64) {
        let until = now_ns.saturating_add(KNOWN_TTL_S * 1_000_000_000);
        match self.sink.set_known(super::known::key(addr), until) {
            Ok(()) => self.status.known_written.fetch_add(1, Ordering::Relaxed),
            Err(_) => self.status.errors.fetch_add(1, Ordering::Relaxed),
        };
    }

    /// One sample: at `now_ms` (monotonic), with the served `set` and
    /// the NXDOMAIN responses counted so far by zone statistics id.
    pub fn tick(&mut self, now_ms: u64, set: &ZoneSet, nxdomain: &[u64]) {
        if self.ticks % KNOWN_COUNT_TICKS == 0 {
            self.count_known();
        }
        self.ticks += 1;
        let stats = match self.sink.stats() {
            Ok(s) => Some(s),
            Err(_) => {
                self.status.errors.fetch_add(1, Ordering::Relaxed);
                None
            }
        };
        let Some((then, last_nx, last_stats)) =
            self.last.replace((now_ms, nxdomain.to_vec(), stats.unwrap_or_default()))
        else {
            return;
        };
        let dt = now_ms.saturating_sub(then).max(1) as f64 / 1000.0;
        let dropping = stats.is_some_and(|s| s[DROP_NX_BUDGET] > last_stats[DROP_NX_BUDGET]);
        let mut seen = Vec::new();
        for (e, &id) in set.entries().iter().zip(set.stat_ids()) {
            if e.expired || e.not_loaded || id as usize >= ZONE_SLOTS - 1 {
                continue;
            }
            seen.push(id);
            let count = |v: &[u64]| v.get(id as usize).copied().unwrap_or(0);
            let rate = count(nxdomain).saturating_sub(count(&last_nx)) as f64 / dt;
            if self.armed.contains_key(&id) {
                self.keep_armed(id, set, &e.zone, rate, dropping, now_ms);
            } else if rate > self.cfg.arm_nxdomain_rate as f64 && self.failed.get(&id).is_none_or(|&t| now_ms >= t) {
                self.arm(id, set, &e.zone, rate, now_ms);
            }
        }
        let gone: Vec<u16> = self.armed.keys().copied().filter(|id| !seen.contains(id)).collect();
        for id in gone {
            self.disarm(id, "the zone is no longer served");
        }
        let mut views: Vec<ArmedZone> = self.armed.values().map(|a| a.view.clone()).collect();
        views.sort_by(|a, b| a.zone.cmp(&b.zone));
        *lock(&self.status.state) = (stats, views);
    }

    /// Counts the known table for the operator ([`Status::known_fill`]).
    fn count_known(&mut self) {
        match self.sink.known_fill(levee_io::gate::monotonic_ns()) {
            Ok(f) => *lock(&self.status.known) = Some((f, (self.wall)())),
            Err(_) => {
                self.status.errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// An armed zone at a tick: republished if its snapshot changed,
    /// disarmed after `hold` of calm.
    fn keep_armed(&mut self, id: u16, set: &ZoneSet, zone: &Arc<Zone>, rate: f64, dropping: bool, now_ms: u64) {
        let nx = self.nx_budget();
        let republish = self.armed.get(&id).is_some_and(|a| !Arc::ptr_eq(&a.zone, zone) || a.view.nx != nx);
        if republish {
            self.publish(id, set, zone, rate, now_ms);
        }
        let Some(a) = self.armed.get_mut(&id) else { return };
        a.view.nxdomain_rate = rate;
        let calm_at = (self.cfg.nx_budget.rate.min(self.cfg.arm_nxdomain_rate) as f64) / 2.0;
        if dropping || rate > calm_at {
            a.busy_at = now_ms;
        } else if now_ms.saturating_sub(a.busy_at) >= self.cfg.hold as u64 * 1000 {
            self.disarm(id, "calm");
        }
    }

    fn arm(&mut self, id: u16, set: &ZoneSet, zone: &Arc<Zone>, rate: f64, now_ms: u64) {
        if self.publish(id, set, zone, rate, now_ms) {
            self.status.armed_total.fetch_add(1, Ordering::Relaxed);
            let a = &self.armed[&id].view;
            if a.all {
                tracing::warn!(zone = %name::Display(zone.apex()), "flood gate: the zone has a wildcard or DNAME at its apex: every name exists, the gate cannot limit its flood");
            }
            tracing::warn!(
                zone = %name::Display(zone.apex()),
                nxdomain_rate = rate as u64,
                names = a.keys,
                filter_kib = a.filter_octets / 1024,
                build_ms = a.build_ms as u64,
                "flood gate: zone armed: names it does not have are admitted at {} a second",
                self.cfg.nx_budget.rate
            );
        }
    }

    /// Builds and publishes a zone's filter; on success the zone is armed.
    fn publish(&mut self, id: u16, set: &ZoneSet, zone: &Arc<Zone>, rate: f64, now_ms: u64) -> bool {
        let seed = self.settings.seed;
        let Some(apex_hash) = suffix_hashes(seed, zone.apex()).map(|s| s.name()) else { return false };
        let built = build(zone, &children(set, zone.apex()), seed, self.cfg.filter_bits_per_name as usize);
        let nx = self.nx_budget();
        if let Err(e) = self.sink.publish_zone(apex_hash, id as u32, &built.filter, nx) {
            self.status.errors.fetch_add(1, Ordering::Relaxed);
            self.failed.insert(id, now_ms + RETRY_MS);
            tracing::error!(zone = %name::Display(zone.apex()), "flood gate: publishing the zone's filter failed (retried in {} s): {e}", RETRY_MS / 1000);
            return false;
        }
        self.failed.remove(&id);
        let view = ArmedZone {
            zone: name::to_text(zone.apex()),
            since: self.armed.get(&id).map_or_else(self.wall, |a| a.view.since),
            nxdomain_rate: rate,
            armed_rate: self.armed.get(&id).map_or(rate, |a| a.view.armed_rate),
            nx,
            keys: built.keys,
            filter_octets: built.filter.words.len() * 8,
            build_ms: built.millis,
            all: built.all,
        };
        let busy_at = self.armed.get(&id).map_or(now_ms, |a| a.busy_at);
        self.armed.insert(id, Armed { apex_hash, zone: Arc::clone(zone), busy_at, view });
        true
    }

    fn nx_budget(&self) -> ZoneBudget {
        ZoneBudget { rate: self.cfg.nx_budget.rate, burst: self.cfg.nx_budget.burst }
    }

    /// Applies the settings a reload left in [`Status::pending`], if any.
    pub fn apply_pending(&mut self) {
        let pending = lock(&self.status.pending).take();
        if let Some(g) = pending {
            self.reconfigure(&g);
        }
    }

    /// New `[gate]` settings (a reload): the source budgets at once
    /// (`set_config`, which refills a global bucket whose budget changed),
    /// trusted prefixes added and removed at once, the armed zones
    /// republished with a new NX budget at the next tick, the rest from
    /// the next tick or arming on. `enabled` is not changed here (the gate
    /// runs or not from the start). Each key that changed is logged.
    pub fn reconfigure(&mut self, new: &GateConfig) {
        let mut new = new.clone();
        new.enabled = self.cfg.enabled;
        let (old_keys, new_keys) = (gate_keys(&self.cfg), gate_keys(&new));
        for ((key, was), (_, now)) in old_keys.iter().zip(&new_keys) {
            if was != now {
                tracing::info!(key = %format!("gate.{key}"), was = %was, now = %now, "flood gate: gate.{key} changed: applied");
            }
        }
        let b = |b: levee_config::Budget| ZoneBudget { rate: b.rate, burst: b.burst };
        let mut settings = self.settings.clone();
        settings.prefix = b(new.prefix_budget);
        settings.unknown = b(new.unknown_budget);
        settings.deep = b(new.deep_budget);
        if settings != self.settings {
            match self.sink.set_config(&settings) {
                Ok(()) => self.settings = settings,
                Err(e) => {
                    self.status.errors.fetch_add(1, Ordering::Relaxed);
                    tracing::error!("flood gate: the new budgets could not be written (the old ones stay): {e}");
                    new.prefix_budget = self.cfg.prefix_budget;
                    new.unknown_budget = self.cfg.unknown_budget;
                    new.deep_budget = self.cfg.deep_budget;
                }
            }
        }
        if new.trusted != self.cfg.trusted {
            self.retrust(&new.trusted);
            // Counted again at the next tick, so the operator sees it.
            self.ticks = 0;
        }
        self.cfg = new;
        *lock(&self.status.config) = self.cfg.clone();
    }

    /// Trusted prefixes changed: the addresses no longer trusted are
    /// removed from the known table (a source among them that is known
    /// by its own answers is written again at its next refresh), the new
    /// ones written without expiry.
    fn retrust(&mut self, trusted: &[(IpAddr, u8)]) {
        let expand = |t: &[(IpAddr, u8)]| -> std::collections::HashSet<IpAddr> {
            t.iter().flat_map(|&(ip, len)| super::known::expand(ip, len)).collect()
        };
        let (old, new) = (expand(&self.cfg.trusted), expand(trusted));
        let mut failed = 0;
        for a in old.difference(&new) {
            failed += usize::from(self.sink.remove_known(*a).is_err());
        }
        for a in new.difference(&old) {
            failed += usize::from(self.sink.set_known(*a, u64::MAX).is_err());
        }
        if failed > 0 {
            self.status.errors.fetch_add(failed as u64, Ordering::Relaxed);
            tracing::error!(failed, "flood gate: trusted prefixes: {failed} addresses could not be written");
        }
    }

    fn disarm(&mut self, id: u16, why: &str) {
        let Some(a) = self.armed.remove(&id) else { return };
        if let Err(e) = self.sink.withdraw_zone(a.apex_hash) {
            self.status.errors.fetch_add(1, Ordering::Relaxed);
            tracing::error!(zone = %a.view.zone, "flood gate: withdrawing the zone failed: {e}");
        }
        let armed_s = ((self.wall)() - a.view.since).max(0.0) as u64;
        tracing::info!(zone = %a.view.zone, armed_s, "flood gate: zone disarmed ({why})");
    }
}

#[cfg(test)]
#[path = "control_tests.rs"]
mod tests;
