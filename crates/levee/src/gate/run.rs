//! The controller's thread: samples once a [`SAMPLE_MS`], writes known
//! sources as they arrive in between.
//!
//! [`prepare`] opens nothing: it takes an opened [`GateSink`], publishes
//! the settings and trusted prefixes (`Controller::new`) and makes the
//! channel the drivers feed, all before the drivers start; [`start`]
//! runs the controller on a thread of its own once the counters exist.
//! Filters are built on this thread, never on a query thread.

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use levee_config::Config;
use levee_zone::ZoneSet;

use super::known::{channel, Feed};
use super::{Controller, GateSettings, GateSink, Status, ZoneBudget};
use crate::ops::counters::{self, Sum};

/// Milliseconds between two samples of the NXDOMAIN counters.
pub const SAMPLE_MS: u64 = 1000;

/// A controller ready to run, and what the rest of the daemon holds.
pub struct Prepared {
    controller: Controller,
    rx: Receiver<IpAddr>,
    /// The drivers' side of the known-source channel.
    pub feed: Feed,
    /// What the operator surface reads.
    pub status: Arc<Status>,
}

/// The gate's settings for `cfg`: the port levee serves (one for every
/// listen address), its addresses (none when one is a wildcard: any), a
/// random seed.
pub fn settings(cfg: &Config) -> Result<GateSettings, String> {
    let port = cfg.listen.first().map_or(53, |a| a.port());
    if cfg.listen.iter().any(|a| a.port() != port) {
        return Err("the flood gate needs every listen address on one port".into());
    }
    let addrs = if cfg.listen.iter().any(|a| a.ip().is_unspecified()) {
        Vec::new()
    } else {
        cfg.listen.iter().map(|a| a.ip()).collect()
    };
    let mut seed = [0u8; 8];
    getrandom::getrandom(&mut seed).map_err(|e| format!("no random seed: {e}"))?;
    let b = |b: levee_config::Budget| ZoneBudget { rate: b.rate, burst: b.burst };
    let g = &cfg.gate;
    Ok(GateSettings {
        port,
        seed: u64::from_le_bytes(seed),
        prefix: b(g.prefix_budget),
        unknown: b(g.unknown_budget),
        deep: b(g.deep_budget),
        addrs,
    })
}

/// Publishes the settings to `sink` and makes the feed.
pub fn prepare(sink: Box<dyn GateSink>, cfg: &Config) -> Result<Prepared, String> {
    let status = Arc::new(Status::default());
    let controller = Controller::new(sink, &cfg.gate, &settings(cfg)?, Arc::clone(&status))?;
    let (feed, rx) = channel(&status.known_dropped);
    Ok(Prepared { controller, rx, feed, status })
}

/// Runs the controller until `stop`: a sample of `zones` and `counters`
/// every [`SAMPLE_MS`], known sources written as they come.
pub fn start(
    p: Prepared,
    zones: Arc<ArcSwap<ZoneSet>>,
    counters: counters::Set,
    stop: Arc<AtomicBool>,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new().name("gate".into()).spawn(move || {
        let Prepared { mut controller, rx, .. } = p;
        let epoch = Instant::now();
        let mut next = 0;
        while !stop.load(Ordering::Relaxed) {
            let now = epoch.elapsed().as_millis() as u64;
            if now >= next {
                let sum = Sum::of(counters.udp.iter().chain(std::iter::once(&counters.tcp)));
                controller.tick(now, &zones.load(), &sum.zone_nxdomain);
                next = now + SAMPLE_MS;
                continue;
            }
            // Short waits, so `stop` is seen within 100 ms.
            match rx.recv_timeout(Duration::from_millis((next - now).min(100))) {
                Ok(ip) => controller.known(ip, levee_io::ktime::monotonic_ns()),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    })
}
