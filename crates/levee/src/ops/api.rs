//! The operations a running server offers its operator, as JSON values:
//! `status`, `zones` (zone-status), `stats`, `live` (the dashboard's
//! feed) and `reload [ZONE]`, each a function of the `Center`. The
//! management listener ([`crate::ops::http`]) serves them over HTTP; the
//! control socket (`levee ctl`, `crate::control_socket`) calls `stats` and
//! `reload` too.
//!
//! Everything here runs on the management runtime or a blocking thread,
//! never on a UDP worker: reading the counters is a sum of relaxed loads.

use std::sync::atomic::Ordering;

use serde_json::{json, Value};

use crate::center::Center;
use crate::clock::unix_now;
use crate::ops::counters::{self, Sum, KINDS, QTYPES};
use crate::ops::summaries::{self, Totals};
use crate::zones::load::same_zone;
use crate::zones::reload;

/// Sum of every thread's query counters, with the UDP and the stream
/// parts (TCP and DNS over TLS together; `/metrics` splits them).
pub fn sums(c: &Center) -> (Sum, Sum) {
    (Sum::of(&c.counters.udp), Sum::of([&c.counters.tcp, &c.counters.tls, &c.counters.quic]))
}

/// Queries answered by transport: `udp`, `tcp`, and `tls` when DNS over
/// TLS runs (`stream` is TCP and DoT together, as [`sums`] gives it).
fn by_transport(c: &Center, udp: &Sum, stream: &Sum) -> Value {
    let stream = stream.responses();
    let quic = Sum::of([&c.counters.quic]).responses();
    let mut v = match &c.certs {
        None => json!({ "udp": udp.responses(), "tcp": stream - quic }),
        Some(_) => {
            let tls = Sum::of([&c.counters.tls]).responses();
            json!({ "udp": udp.responses(), "tcp": stream - tls - quic, "tls": tls })
        }
    };
    if c.quic.is_some() {
        v["quic"] = json!(quic);
    }
    v
}

/// The defence totals.
pub fn totals(c: &Center) -> Totals {
    summaries::totals(&c.policy, &c.counters.udp, &c.garbage, &c.tcp)
}

/// `status`: version, uptime, listeners, zone count, totals.
pub fn status(c: &Center) -> Value {
    let (udp, tcp) = sums(c);
    let set = c.zones.load();
    let mut v = json!({
        "server": "levee",
        "version": env!("CARGO_PKG_VERSION"),
        "pid": std::process::id(),
        "started": c.started,
        "uptime_seconds": (unix_now() - c.started).max(0.0),
        "listen": c.listen.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
        "udp_workers": c.counters.udp.len(),
        "threads_per_address": c.threads,
        "zones": set.len(),
        "reloads": c.reloads.done.load(Ordering::Relaxed),
        "reload_failures": c.reloads.failed.load(Ordering::Relaxed),
        "queries": by_transport(c, &udp, &tcp),
        "tcp_connections_open": c.tcp.open.load(Ordering::Relaxed),
        "rate_limit": c.cfg.rate_limit.is_some(),
        "cookies": c.cfg.cookies.enabled,
    });
    // Only when the flood gate runs: with it off the answer is unchanged.
    if let Some(g) = &c.gate {
        v["gate"] = g.json();
    }
    // Only when DNS over TLS runs, likewise.
    if c.certs.is_some() {
        v["tls_connections_open"] = json!(c.tls.open.load(Ordering::Relaxed));
    }
    v
}

/// `zone-status`: every zone (or one) with its serial, records and
/// load time.
pub fn zones(c: &Center, only: Option<&str>) -> Result<Value, String> {
    let set = c.zones.load();
    let ids = &c.zone_ids;
    let (udp, tcp) = sums(c);
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
            "storage": c.stores.status_json(e.zone.apex()),
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
pub fn stats(c: &Center) -> Value {
    let (udp, tcp) = sums(c);
    let t = totals(c);
    let all = |f: fn(&Sum) -> &[u64]| -> Vec<u64> { f(&udp).iter().zip(f(&tcp)).map(|(a, b)| a + b).collect() };
    let kinds = all(|s| &s.kinds);
    let qtypes = all(|s| &s.qtypes);
    let mut by_type = serde_json::Map::new();
    for (i, (_, n)) in QTYPES.iter().enumerate() {
        by_type.insert((*n).into(), qtypes[i].into());
    }
    by_type.insert("other".into(), qtypes[QTYPES.len()].into());
    json!({
        "queries": by_transport(c, &udp, &tcp),
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
pub fn live(c: &Center) -> Value {
    let (udp, tcp) = sums(c);
    let t = totals(c);
    let kinds: Vec<u64> = udp.kinds.iter().zip(&tcp.kinds).map(|(a, b)| a + b).collect();
    let workers: Vec<u64> = c.counters.udp.iter().map(|c| c.packets.load(Ordering::Relaxed)).collect();
    let set = c.zones.load();
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
    let top: Vec<Value> = counters::top_prefixes(&c.counters, 10, unix_now().fract())
        .into_iter()
        .map(|(p, qps)| json!({ "prefix": p, "qps": qps }))
        .collect();
    let mut v = json!({
        "time": unix_now(),
        "uptime_seconds": (unix_now() - c.started).max(0.0),
        "version": env!("CARGO_PKG_VERSION"),
        "responses": KINDS.iter().zip(&kinds).map(|(k, v)| ((*k).to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
        "queries": by_transport(c, &udp, &tcp),
        "dropped": drops(&t),
        "slipped": { "rrl": t.rrl_slipped },
        "workers": workers,
        "tcp_open": c.tcp.open.load(Ordering::Relaxed),
        "zones": zones,
        "top_prefixes": top,
    });
    if let Some(g) = &c.gate {
        v["gate"] = g.json();
    }
    v
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
pub fn reload(c: &Center, zone: Option<&str>) -> Result<Value, String> {
    let started = std::time::Instant::now();
    let (n, failed, restart) = match zone {
        None => reload::reload_all(c),
        Some(z) => reload::reload_zone(c, z).map(|(n, f)| (n, f, Vec::new()))?,
    };
    Ok(json!({
        "reloaded": zone.unwrap_or("*"),
        "zones": n,
        "failed": failed,
        "ms": started.elapsed().as_millis() as u64,
        "restart_needed": restart,
    }))
}
