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
use super::{GateSettings, GateSink, ZoneBudget, DROP_NX_BUDGET, NSTATS};
use crate::ops::counters::ZONE_SLOTS;

/// Milliseconds before a failed publication is tried again.
pub const RETRY_MS: u64 = 10_000;
/// Seconds a known source stays known without being seen again (the
/// policy stage's).
pub const KNOWN_TTL_S: u64 = levee_answer::policy::KNOWN_TTL as u64;

/// An armed zone, as the operator sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct ArmedZone {
    /// The zone's name.
    pub zone: String,
    /// When it was armed (Unix seconds).
    pub since: f64,
    /// NXDOMAIN a second reaching the daemon at the last tick.
    pub nxdomain_rate: f64,
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

/// What the operator surface reads (`/metrics`, `/api/status`).
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
}

impl Status {
    /// The gate's counters by reason (`None` until the gate answered) and
    /// the armed zones.
    pub fn read(&self) -> (Option<[u64; NSTATS]>, Vec<ArmedZone>) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).clone()
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
                    "names": a.keys,
                    "filter_octets": a.filter_octets,
                    "build_ms": a.build_ms,
                    "every_name_exists": a.all,
                })
            })
            .collect();
        serde_json::json!({
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
    seed: u64,
    armed: HashMap<u16, Armed>,
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
        Ok(Controller {
            sink,
            cfg: cfg.clone(),
            seed: settings.seed,
            armed: HashMap::new(),
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
        *self.status.state.lock().unwrap_or_else(|e| e.into_inner()) = (stats, views);
    }

    /// An armed zone at a tick: republished if its snapshot changed,
    /// disarmed after `hold` of calm.
    fn keep_armed(&mut self, id: u16, set: &ZoneSet, zone: &Arc<Zone>, rate: f64, dropping: bool, now_ms: u64) {
        let republish = self.armed.get(&id).is_some_and(|a| !Arc::ptr_eq(&a.zone, zone));
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
        let Some(apex_hash) = suffix_hashes(self.seed, zone.apex()).map(|s| s.name()) else { return false };
        let built = build(zone, &children(set, zone.apex()), self.seed, self.cfg.filter_bits_per_name as usize);
        let nx = ZoneBudget { rate: self.cfg.nx_budget.rate, burst: self.cfg.nx_budget.burst };
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
            keys: built.keys,
            filter_octets: built.filter.words.len() * 8,
            build_ms: built.millis,
            all: built.all,
        };
        let busy_at = self.armed.get(&id).map_or(now_ms, |a| a.busy_at);
        self.armed.insert(id, Armed { apex_hash, zone: Arc::clone(zone), busy_at, view });
        true
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
