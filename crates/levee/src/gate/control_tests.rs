//! The controller with a fake gate that records every call, a virtual
//! clock and counters set by hand.

use std::sync::Arc;

use levee_config::{Budget, GateConfig};
use levee_limit::gate::suffix_hashes;
use levee_wire::name;
use levee_zone::{Acl, Source, ZoneEntry, ZoneSet};

use super::*;
use crate::gate::fake::{Call, Fake};
use crate::gate::{GateSettings, ZoneBudget};

const SEED: u64 = 77;

fn cfg() -> GateConfig {
    GateConfig {
        enabled: true,
        arm_nxdomain_rate: 2000,
        hold: 60,
        nx_budget: Budget { rate: 1000, burst: 2000 },
        ..GateConfig::default()
    }
}

fn settings() -> GateSettings {
    let b = ZoneBudget { rate: 1, burst: 1 };
    GateSettings { port: 53, seed: SEED, prefix: b, unknown: b, deep: b, addrs: vec![] }
}

fn zone_entry(origin: &str, extra: &str) -> ZoneEntry {
    let text = format!(
        "$ORIGIN {origin}\n@ 3600 IN SOA ns hm 7 1 1 1 1\n@ IN NS ns\nns IN A 192.0.2.1\nwww IN A 192.0.2.2\n{extra}"
    );
    let o = name::from_text(origin, None).unwrap();
    let b = levee_zone::load(Source::Memory { name: origin, data: text.as_bytes() }, &o).unwrap();
    ZoneEntry::new(Arc::new(b.zone), Acl::none())
}

/// A set of a.test. (id 0) and b.test. (id 1).
fn set_of(entries: Vec<ZoneEntry>) -> ZoneSet {
    let mut set = ZoneSet::new();
    for e in entries {
        set.insert(e);
    }
    set.set_stat_ids(|apex| if name::to_text(apex) == "a.test." { 0 } else { 1 });
    set
}

fn apex_hash(n: &str) -> u64 {
    suffix_hashes(SEED, &name::from_text(n, None).unwrap()).unwrap().name()
}

fn controller(fake: &Fake, cfg: &GateConfig) -> Controller {
    Controller::new(Box::new(fake.clone()), cfg, &settings(), Arc::default()).unwrap()
}

/// Drives a controller second by second: `nx[id]` NXDOMAINs a second
/// reach the daemon, `dropped` a second are dropped by the gate.
struct Run {
    c: Controller,
    fake: Fake,
    now: u64,
    nx: Vec<u64>,
}

impl Run {
    fn new(cfg: &GateConfig, set: &ZoneSet) -> Run {
        let fake = Fake::default();
        let mut c = controller(&fake, cfg);
        assert_eq!(fake.calls()[0], Call::Config(53));
        c.tick(0, set, &[0, 0]);
        Run { c, fake, now: 0, nx: vec![0, 0] }
    }
    fn seconds(&mut self, n: u64, set: &ZoneSet, rate: [u64; 2], dropped: u64) {
        for _ in 0..n {
            self.now += 1000;
            self.nx[0] += rate[0];
            self.nx[1] += rate[1];
            self.fake.add_stat(DROP_NX_BUDGET, dropped);
            self.c.tick(self.now, set, &self.nx);
        }
    }
}

#[test]
fn a_zone_is_armed_above_the_rate_with_its_filter_and_budget() {
    let set = set_of(vec![zone_entry("a.test.", ""), zone_entry("b.test.", "")]);
    let mut r = Run::new(&cfg(), &set);
    r.seconds(3, &set, [1999, 100], 0);
    assert_eq!(r.fake.calls(), [], "at the rate, not above it: nothing armed");
    r.seconds(1, &set, [5000, 100], 0);
    let nx = ZoneBudget { rate: 1000, burst: 2000 };
    assert_eq!(r.fake.calls(), [Call::Publish { apex: apex_hash("a.test."), zone_id: 0, nx }]);
    assert_eq!(r.c.armed_ids(), [0]);
    // The published filter knows the zone's names.
    let f = r.fake.0.lock().unwrap().filters[0].clone();
    let s = suffix_hashes(SEED, &name::from_text("www.a.test.", None).unwrap()).unwrap();
    assert!(f.name_exists(&s, 2));
    let st = r.c.status().state.lock().unwrap().clone();
    assert_eq!(st.1.len(), 1);
    assert_eq!(st.1[0].zone, "a.test.");
    assert_eq!(st.1[0].nxdomain_rate, 5000.0);
    assert_eq!(r.c.status().armed_total.load(Ordering::Relaxed), 1);
}

/// While the gate drops the flood, the daemon sees only what the budget
/// lets through: the zone must not be taken for calm and disarmed.
#[test]
fn an_armed_zone_does_not_flap_while_the_gate_drops_its_flood() {
    let set = set_of(vec![zone_entry("a.test.", ""), zone_entry("b.test.", "")]);
    let mut r = Run::new(&cfg(), &set);
    r.seconds(1, &set, [50_000, 0], 0);
    assert_eq!(r.c.armed_ids(), [0]);
    r.fake.calls();
    // Ten holds of flood: the daemon sees the budget's 1000/s (and the
    // filter's false positives), the gate drops the rest.
    r.seconds(600, &set, [1000, 0], 49_000);
    assert_eq!(r.c.armed_ids(), [0]);
    // The budget's worth alone, no drops (a flood just at the budget): armed.
    r.seconds(600, &set, [900, 0], 0);
    assert_eq!(r.c.armed_ids(), [0]);
    assert_eq!(r.fake.calls(), [], "no republication, no withdrawal");
    // The flood stops: legitimate NXDOMAINs only. Disarmed after `hold`.
    r.seconds(59, &set, [100, 0], 0);
    assert_eq!(r.c.armed_ids(), [0], "not before the hold");
    r.seconds(1, &set, [100, 0], 0);
    assert_eq!(r.c.armed_ids(), Vec::<u16>::new());
    assert_eq!(r.fake.calls(), [Call::Withdraw(apex_hash("a.test."))]);
    // A drop in the middle of the calm starts the hold again.
    r.seconds(1, &set, [9000, 0], 0);
    r.seconds(30, &set, [0, 0], 0);
    r.seconds(1, &set, [0, 0], 10);
    r.seconds(59, &set, [0, 0], 0);
    assert_eq!(r.c.armed_ids(), [0]);
    r.seconds(1, &set, [0, 0], 0);
    assert_eq!(r.c.armed_ids(), Vec::<u16>::new());
}

#[test]
fn a_new_snapshot_of_an_armed_zone_is_republished_and_a_removed_zone_withdrawn() {
    let set = set_of(vec![zone_entry("a.test.", ""), zone_entry("b.test.", "")]);
    let mut r = Run::new(&cfg(), &set);
    r.seconds(1, &set, [0, 9000], 0);
    assert_eq!(r.c.armed_ids(), [1]);
    r.fake.calls();
    // A reload: b.test. has a new name.
    let set2 = set_of(vec![zone_entry("a.test.", ""), zone_entry("b.test.", "new IN A 192.0.2.9\n")]);
    r.seconds(1, &set2, [0, 9000], 0);
    let calls = r.fake.calls();
    assert!(matches!(calls[..], [Call::Publish { zone_id: 1, .. }]), "{calls:?}");
    let f = r.fake.0.lock().unwrap().filters.last().unwrap().clone();
    let s = suffix_hashes(SEED, &name::from_text("new.b.test.", None).unwrap()).unwrap();
    assert!(f.name_exists(&s, 2));
    // The same snapshot again: nothing.
    r.seconds(1, &set2, [0, 9000], 0);
    assert_eq!(r.fake.calls(), []);
    // b.test. is no longer served.
    let set3 = set_of(vec![zone_entry("a.test.", "")]);
    r.seconds(1, &set3, [0, 9000], 0);
    assert_eq!(r.fake.calls(), [Call::Withdraw(apex_hash("b.test."))]);
    assert_eq!(r.c.armed_ids(), Vec::<u16>::new());
}

#[test]
fn a_failed_publication_is_retried_later() {
    let set = set_of(vec![zone_entry("a.test.", "")]);
    let mut r = Run::new(&cfg(), &set);
    r.fake.0.lock().unwrap().fail_publish = true;
    r.seconds(1, &set, [9000, 0], 0);
    assert_eq!(r.c.armed_ids(), Vec::<u16>::new());
    assert_eq!(r.c.status().errors.load(Ordering::Relaxed), 1);
    r.fake.0.lock().unwrap().fail_publish = false;
    r.seconds(RETRY_MS / 1000 - 1, &set, [9000, 0], 0);
    assert_eq!(r.c.armed_ids(), Vec::<u16>::new(), "not retried before RETRY_MS");
    r.seconds(1, &set, [9000, 0], 0);
    assert_eq!(r.c.armed_ids(), [0]);
}

#[test]
fn known_sources_expire_with_the_policy_and_trusted_prefixes_never() {
    let fake = Fake::default();
    let mut g = cfg();
    g.trusted = vec![("192.0.2.0".parse().unwrap(), 31)];
    let mut c = controller(&fake, &g);
    let never = u64::MAX;
    assert_eq!(
        fake.calls(),
        [
            Call::Config(53),
            Call::Known("192.0.2.0".parse().unwrap(), never),
            Call::Known("192.0.2.1".parse().unwrap(), never)
        ]
    );
    c.known("2001:db8:1:2::99".parse().unwrap(), 5);
    c.known("::ffff:198.51.100.1".parse().unwrap(), 5);
    let ttl = KNOWN_TTL_S * 1_000_000_000;
    assert_eq!(
        fake.calls(),
        [
            Call::Known("2001:db8:1:2::".parse().unwrap(), 5 + ttl),
            Call::Known("198.51.100.1".parse().unwrap(), 5 + ttl)
        ]
    );
    assert_eq!(c.status().known_written.load(Ordering::Relaxed), 2);
}

/// A reload's new `[gate]` (through `Status::request`): budgets written
/// at once, trusted prefixes added and removed, the armed zone
/// republished with its new NX budget, the settings in force shown.
#[test]
fn new_settings_from_a_reload_apply_to_the_running_gate() {
    let set = set_of(vec![zone_entry("a.test.", ""), zone_entry("b.test.", "")]);
    let mut g = cfg();
    g.trusted = vec![("192.0.2.0".parse().unwrap(), 31)];
    let mut r = Run::new(&g, &set);
    r.fake.calls();
    r.seconds(1, &set, [9000, 0], 0);
    assert_eq!(r.c.armed_ids(), [0]);
    r.fake.calls();
    // Nothing pending: nothing happens.
    r.c.apply_pending();
    assert_eq!(r.fake.calls(), []);

    let mut new = g.clone();
    new.enabled = false; // not applied live: the gate keeps running
    new.prefix_budget = Budget { rate: 7, burst: 9 };
    new.nx_budget = Budget { rate: 30, burst: 40 };
    new.trusted = vec![("192.0.2.1".parse().unwrap(), 32), ("198.51.100.0".parse().unwrap(), 32)];
    new.hold = 5;
    r.c.status().request(new);
    r.c.apply_pending();
    let mut calls = r.fake.calls();
    calls.sort_by_key(|c| format!("{c:?}"));
    assert_eq!(
        calls,
        [
            Call::Config(53),
            Call::Forget("192.0.2.0".parse().unwrap()),
            Call::Known("198.51.100.0".parse().unwrap(), u64::MAX),
        ]
    );
    let written = r.fake.0.lock().unwrap().settings.last().unwrap().clone();
    assert_eq!(written.prefix, ZoneBudget { rate: 7, burst: 9 });
    assert_eq!((written.seed, written.port), (SEED, 53), "the seed and the port kept");
    assert_eq!(written.unknown, ZoneBudget { rate: 50_000, burst: 100_000 }, "the file's other budgets");
    let shown = r.c.status().config();
    assert!(shown.enabled && shown.hold == 5 && shown.prefix_budget.rate == 7, "{shown:?}");
    // The armed zone gets the new NX budget at the next tick.
    r.seconds(1, &set, [9000, 0], 0);
    let nx = ZoneBudget { rate: 30, burst: 40 };
    assert_eq!(r.fake.calls(), [Call::Publish { apex: apex_hash("a.test."), zone_id: 0, nx }]);
    assert_eq!(r.c.status().read().1[0].nx, nx);
    // The new hold: calm for 5 s disarms.
    r.seconds(5, &set, [0, 0], 0);
    assert_eq!(r.c.armed_ids(), Vec::<u16>::new());
}

/// The known table is counted at the first tick and every
/// KNOWN_COUNT_TICKS after, for `levee ctl gate`.
#[test]
fn the_known_table_is_counted_every_few_ticks() {
    let set = set_of(vec![zone_entry("a.test.", "")]);
    let fake = Fake::default();
    let mut c = controller(&fake, &cfg());
    let fill = |n| levee_io::gate::KnownFill { entries: n, live: n, trusted: 0 };
    fake.0.lock().unwrap().known = fill(3);
    c.tick(0, &set, &[0]);
    assert_eq!(c.status().known_fill().map(|k| k.0), Some(fill(3)));
    fake.0.lock().unwrap().known = fill(5);
    for i in 1..KNOWN_COUNT_TICKS {
        c.tick(i * 1000, &set, &[0]);
    }
    assert_eq!(c.status().known_fill().map(|k| k.0), Some(fill(3)));
    c.tick(KNOWN_COUNT_TICKS * 1000, &set, &[0]);
    assert_eq!(c.status().known_fill().map(|k| k.0), Some(fill(5)));
}
