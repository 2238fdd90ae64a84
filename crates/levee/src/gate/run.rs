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

use super::control::{Controller, Status};
use super::known::{channel, Feed};
use super::{GateSettings, GateSink, ZoneBudget};
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
    let addrs = cfg.served_addresses();
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
            // Settings a reload read (gate::reconfig), within 100 ms.
            controller.apply_pending();
            let now = epoch.elapsed().as_millis() as u64;
            if now >= next {
                let sum = Sum::of(counters.udp.iter().chain([&counters.tcp, &counters.tls]));
                controller.tick(now, &zones.load(), &sum.zone_nxdomain);
                next = now + SAMPLE_MS;
                continue;
            }
            // Short waits, so `stop` is seen within 100 ms.
            match rx.recv_timeout(Duration::from_millis((next - now).min(100))) {
                Ok(ip) => controller.known(ip, levee_io::gate::monotonic_ns()),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gate::fake::{Call, Fake};
    use crate::ops::counters::Counters;
    use levee_answer::policy::{Overload, Policy, PolicyStats};
    use levee_answer::{Kind, Meta, Options, Received, Transport, Worker};
    use levee_zone::{Acl, Source, ZoneEntry};

    fn wait_for(fake: &Fake, what: impl Fn(&Call) -> bool) -> Vec<Call> {
        let t = Instant::now();
        let mut seen = Vec::new();
        while t.elapsed() < Duration::from_secs(10) {
            seen.extend(fake.calls());
            if seen.iter().any(&what) {
                return seen;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("not seen in 10 s: {seen:?}");
    }

    /// The controller's thread as the daemon runs it, with a fake gate:
    /// the settings first, then a flood in the drivers' counters arms the
    /// zone, and a TCP client (proven) reaches the gate's known table.
    #[test]
    fn the_thread_arms_a_flooded_zone_and_feeds_known_sources() {
        let mut cfg = Config::default();
        cfg.listen = vec!["127.0.0.1:5399".parse().unwrap()];
        cfg.gate.enabled = true;
        cfg.gate.arm_nxdomain_rate = 100;
        let fake = Fake::default();
        let p = prepare(Box::new(fake.clone()), &cfg).unwrap();
        assert!(matches!(fake.calls()[..], [Call::Config(5399)]));
        let feed = p.feed.clone();
        let text = "$ORIGIN f.test.\n@ 3600 IN SOA ns hm 1 1 1 1 1\n@ IN NS ns\nns IN A 192.0.2.1\n";
        let origin = levee_wire::name::from_text("f.test.", None).unwrap();
        let zone = levee_zone::load(Source::Memory { name: "f", data: text.as_bytes() }, &origin).unwrap().zone;
        let mut set = ZoneSet::new();
        set.insert(ZoneEntry::new(Arc::new(zone), Acl::none()));
        set.set_stat_ids(|_| 3);
        let zones = Arc::new(ArcSwap::from_pointee(set));
        let udp = Arc::new(Counters::default());
        let counters = counters::Set {
            udp: vec![Arc::clone(&udp)],
            tcp: Arc::default(),
            tls: Arc::default(),
            quic: Arc::default(),
        };
        let stop = Arc::new(AtomicBool::new(false));
        let h = start(p, Arc::clone(&zones), counters, Arc::clone(&stop)).unwrap();

        // A flood: NXDOMAINs of zone 3 counted by a driver, ticks apart.
        let nx = Meta { kind: Kind::NxDomain, zone: 3, ..Meta::default() };
        let flood = std::thread::spawn(move || {
            for _ in 0..40 {
                for _ in 0..2000 {
                    udp.count(&nx, "192.0.2.77".parse().unwrap());
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        let calls = wait_for(&fake, |c| matches!(c, Call::Publish { zone_id: 3, .. }));
        assert!(!calls.iter().any(|c| matches!(c, Call::Withdraw(_))), "{calls:?}");

        // A TCP query proves its source; the driver drains after it.
        let policy = Arc::new(Policy::new(None, Overload::default(), 1).with_gate_feed());
        let acfg = Arc::new(crate::serve::answer_config(&Config::default()));
        let mut w = Worker::new(acfg, policy, Arc::new(PolicyStats::default()), Options::TCP);
        let q = [0u8, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, b'f', 4, b't', b'e', b's', b't', 0, 0, 6, 0, 1];
        let mut out = vec![0u8; 65535];
        let before = levee_io::gate::monotonic_ns();
        w.answer(
            Received { msg: &q, client: "198.51.100.4".parse().unwrap(), transport: Transport::Tcp },
            &zones.load(),
            &mut out,
        );
        feed.drain(&mut w);
        let calls = wait_for(&fake, |c| matches!(c, Call::Known(..)));
        let Some(Call::Known(ip, until)) = calls.into_iter().find(|c| matches!(c, Call::Known(..))) else {
            unreachable!()
        };
        assert_eq!(ip.to_string(), "198.51.100.4");
        let ttl = super::super::control::KNOWN_TTL_S * 1_000_000_000;
        assert!(until >= before + ttl && until <= levee_io::gate::monotonic_ns() + ttl, "{until}");

        stop.store(true, Ordering::Relaxed);
        h.join().unwrap();
        flood.join().unwrap();
    }
}
