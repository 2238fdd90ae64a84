//! The operations a running server offers its operator, as JSON values:
//! `status`, `zones` (zone-status), `stats`, `live` (the dashboard's
//! feed) and `reload [ZONE]`. The management listener ([`crate::ops::http`])
//! serves them over HTTP; a local control socket (`levee ctl`) can call
//! the same functions.
//!
//! Everything here runs on the management runtime or a blocking thread,
//! never on a UDP worker: reading the counters is a sum of relaxed loads.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;
use levee_answer::policy::PolicyStats;
use levee_config::Config;
use levee_io::tcp::TcpStats;
use levee_zone::ZoneSet;
use serde_json::{json, Value};

use crate::ops::counters::{self, Sum, ZoneIds, KINDS, QTYPES};
use crate::ops::summaries::{self, Garbage, Totals};
use crate::zones::load::same_zone;

/// Reloads done since start (SIGHUP, the API or the control socket).
pub static RELOADS: AtomicU64 = AtomicU64::new(0);
/// Reloads in which at least one zone failed to load.
pub static RELOAD_FAILURES: AtomicU64 = AtomicU64::new(0);

/// The zone statistics ids of this process (see [`ZoneIds`]).
pub fn zone_ids() -> &'static ZoneIds {
    static IDS: std::sync::OnceLock<ZoneIds> = std::sync::OnceLock::new();
    IDS.get_or_init(ZoneIds::default)
}

/// What the operations read: the zone snapshot, the configuration and
/// every counter.
pub struct Ops {
    /// The configuration in force.
    pub cfg: Config,
    /// Serving the built-in example zones.
    pub builtin: bool,
    /// The published zone set.
    pub zones: Arc<ArcSwap<ZoneSet>>,
    /// Per-thread query counters.
    pub counters: counters::Set,
    /// Per-UDP-worker policy counters.
    pub policy: Vec<Arc<PolicyStats>>,
    /// Garbage dropped by the parser.
    pub garbage: Arc<Garbage>,
    /// The TCP server's counters.
    pub tcp: Arc<TcpStats>,
    /// DNS listen addresses (as bound).
    pub listen: Vec<SocketAddr>,
    /// UDP workers per address.
    pub threads: usize,
    /// Start time, Unix seconds.
    pub started: f64,
}

/// Wall-clock Unix seconds.
pub fn unix_now() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

impl Ops {
    /// Sum of every thread's query counters, with the UDP and TCP parts.
    pub fn sums(&self) -> (Sum, Sum) {
        (Sum::of(&self.counters.udp), Sum::of([&self.counters.tcp]))
    }

    /// The defence totals.
    pub fn totals(&self) -> Totals {
        summaries::totals(&self.policy, &self.counters.udp, &self.garbage, &self.tcp)
    }

    /// `status`: version, uptime, listeners, zone count, totals.
    pub fn status(&self) -> Value {
        let (udp, tcp) = self.sums();
        let set = self.zones.load();
        json!({
            "server": "levee",
            "version": env!("CARGO_PKG_VERSION"),
            "pid": std::process::id(),
            "started": self.started,
            "uptime_seconds": (unix_now() - self.started).max(0.0),
            "listen": self.listen.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
            "udp_workers": self.counters.udp.len(),
            "threads_per_address": self.threads,
            "zones": set.len(),
            "reloads": RELOADS.load(Ordering::Relaxed),
            "reload_failures": RELOAD_FAILURES.load(Ordering::Relaxed),
            "queries": { "udp": udp.responses(), "tcp": tcp.responses() },
            "tcp_connections_open": self.tcp.open.load(Ordering::Relaxed),
            "rate_limit": self.cfg.rate_limit.is_some(),
            "cookies": self.cfg.cookies.enabled,
        })
    }

    /// `zone-status`: every zone (or one) with its serial, records and
    /// load time.
    pub fn zones(&self, only: Option<&str>) -> Result<Value, String> {
        let set = self.zones.load();
        let ids = zone_ids();
        let (udp, tcp) = self.sums();
        let mut out = Vec::new();
        for (e, &id) in set.entries().iter().zip(set.stat_ids()) {
            let name = levee_wire::name::to_text(e.zone.apex());
            if let Some(o) = only {
                if !same_zone(o, &name) {
                    continue;
                }
            }
            let i = (id as usize).min(counters::ZONE_SLOTS - 1);
            out.push(json!({
                "zone": name,
                "serial": e.zone.serial(),
                "records": e.zone.record_count(),
                "loaded": ids.loaded_at(id),
                "responses": udp.zone_responses[i] + tcp.zone_responses[i],
                "nxdomain": udp.zone_nxdomain[i] + tcp.zone_nxdomain[i],
                "transfer_acl": e.transfer.prefixes().iter().map(|(ip, l)| format!("{ip}/{l}")).collect::<Vec<_>>(),
                "storage": crate::storage::status_json(e.zone.apex()),
            }));
        }
        if let Some(o) = only {
            if out.is_empty() {
                return Err(format!("zone {o} is not served"));
            }
        }
        Ok(json!({ "zones": out }))
    }

    /// `stats`: the summed counters.
    pub fn stats(&self) -> Value {
        let (udp, tcp) = self.sums();
        let t = self.totals();
        let all = |f: fn(&Sum) -> &[u64]| -> Vec<u64> { f(&udp).iter().zip(f(&tcp)).map(|(a, b)| a + b).collect() };
        let kinds = all(|s| &s.kinds);
        let qtypes = all(|s| &s.qtypes);
        let mut by_type = serde_json::Map::new();
        for (i, (_, n)) in QTYPES.iter().enumerate() {
            by_type.insert((*n).into(), qtypes[i].into());
        }
        by_type.insert("other".into(), qtypes[QTYPES.len()].into());
        json!({
            "queries": { "udp": udp.responses(), "tcp": tcp.responses() },
            "responses": KINDS.iter().zip(&kinds).map(|(k, v)| ((*k).to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
            "qtypes": by_type,
            "dropped": drops(&t),
            "slipped": { "rrl": t.rrl_slipped },
            "rrl_log_only": t.rrl_log_only,
        })
    }

    /// `live`: what the dashboard polls: cumulative counters and a server
    /// timestamp (the page computes rates), the top source prefixes and
    /// per-zone counters.
    pub fn live(&self) -> Value {
        let (udp, tcp) = self.sums();
        let t = self.totals();
        let kinds: Vec<u64> = udp.kinds.iter().zip(&tcp.kinds).map(|(a, b)| a + b).collect();
        let workers: Vec<u64> = self.counters.udp.iter().map(|c| c.packets.load(Ordering::Relaxed)).collect();
        let set = self.zones.load();
        let zones: Vec<Value> = set
            .entries()
            .iter()
            .zip(set.stat_ids())
            .map(|(e, &id)| {
                let i = (id as usize).min(counters::ZONE_SLOTS - 1);
                json!({
                    "zone": levee_wire::name::to_text(e.zone.apex()),
                    "serial": e.zone.serial(),
                    "responses": udp.zone_responses[i] + tcp.zone_responses[i],
                    "nxdomain": udp.zone_nxdomain[i] + tcp.zone_nxdomain[i],
                })
            })
            .collect();
        let top: Vec<Value> = counters::top_prefixes(&self.counters, 10, unix_now().fract())
            .into_iter()
            .map(|(p, qps)| json!({ "prefix": p, "qps": qps }))
            .collect();
        json!({
            "time": unix_now(),
            "uptime_seconds": (unix_now() - self.started).max(0.0),
            "version": env!("CARGO_PKG_VERSION"),
            "responses": KINDS.iter().zip(&kinds).map(|(k, v)| ((*k).to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
            "queries": { "udp": udp.responses(), "tcp": tcp.responses() },
            "dropped": drops(&t),
            "slipped": { "rrl": t.rrl_slipped },
            "workers": workers,
            "tcp_open": self.tcp.open.load(Ordering::Relaxed),
            "zones": zones,
            "top_prefixes": top,
        })
    }
}

fn drops(t: &Totals) -> Value {
    json!({
        "rrl": t.rrl_dropped,
        "overload": t.overload_dropped,
        "kernel": t.kernel_dropped,
        "malformed": t.garbage,
        "tcp_cap": t.tcp_evicted,
        "tcp_timeout": t.tcp_timeouts,
    })
}

/// `reload [ZONE]` (blocking: run it on a blocking thread). Without a
/// zone, every zone is reloaded (as SIGHUP); with one, only that zone is
/// read again and the others keep their snapshots. A zone that fails to
/// load keeps the version already served; the result says so.
pub fn reload(ops: &Ops, zone: Option<&str>) -> Result<Value, String> {
    let started = std::time::Instant::now();
    let (n, failed) = match zone {
        None => crate::zones::reload::reload(&ops.cfg, ops.builtin, &ops.zones),
        Some(z) => crate::zones::reload::reload_zone(ops, z)?,
    };
    Ok(json!({
        "reloaded": zone.unwrap_or("*"),
        "zones": n,
        "failed": failed,
        "ms": started.elapsed().as_millis() as u64,
    }))
}
