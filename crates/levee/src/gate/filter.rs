//! An armed zone's filter of existing names ([`build`]).
//!
//! The gate drops a query for a name the zone does not have once the
//! zone's NXDOMAIN budget is spent, so the filter must never miss a name
//! the zone answers positively. What "exists" means for answering, and
//! how each case goes into the filter (`levee_limit::gate`'s tags):
//!
//! * every owner name and every empty non-terminal: [`EXACT`];
//! * a delegation point (NS below the apex): [`SUBTREE`] as well, since
//!   every name below it gets a referral;
//! * a DNAME owner: [`SUBTREE`] (every name below is synthesised);
//! * the parent `x` of a wildcard `*.x`: [`SUBTREE`] (names below `x`
//!   may match the wildcard; those that have a closer encloser are in the
//!   filter anyway, and a few extra names passing costs nothing);
//! * the apex of another served zone below this one (a child zone served
//!   on the same server, delegated or not): [`EXACT`] and [`SUBTREE`], so
//!   the parent's filter never judges the child's names, the apex
//!   included;
//! * NSEC3 owner names: [`EXACT`] (queries for them are answered by some
//!   servers and cost nothing to admit).
//!
//! Names below a zone cut or a DNAME owner (glue, occluded data) are left
//! out: the cut's [`SUBTREE`] key covers them. Names of more than
//! `MAX_LABELS` labels are left out too: the gate cannot hash them and
//! judges them by the `deep` budget instead.
//!
//! Two cases make every name of the zone exist: a wildcard directly below
//! the apex, and a DNAME at the apex. `name_exists` never looks at the
//! apex's own [`SUBTREE`] key, so such a zone gets a filter with every bit
//! set, which admits every name (and the zone's budget is never used).
//!
//! The filter is sized from the number of keys (`bits_per_name` bits
//! each, rounded up to a power of two, 7 probes). Two passes over the
//! zone's names (count, then insert), each hashing a name in one pass
//! over its octets: 1.1 million names in 0.29 s in a release build, 2.8 s
//! in a debug one (`a_large_zone_of_a_million_names`).

use std::time::Instant;

use levee_limit::gate::{suffix_hashes, Filter, EXACT, SUBTREE};
use levee_zone::{nf, Zone, ZoneSet};

/// Probes per key (docs/gate.md).
pub const PROBES: u8 = 7;

/// A filter and what it took.
#[derive(Debug)]
pub struct Built {
    /// The filter.
    pub filter: Filter,
    /// Keys inserted.
    pub keys: usize,
    /// Every name of the zone exists (wildcard or DNAME at the apex).
    pub all: bool,
    /// Milliseconds the build took.
    pub millis: f64,
}

/// The apexes of the other zones of `set` strictly below `apex`.
pub fn children<'a>(set: &'a ZoneSet, apex: &[u8]) -> Vec<&'a [u8]> {
    set.entries()
        .iter()
        .map(|e| e.zone.apex())
        .filter(|a| a.len() > apex.len() && a.ends_with(apex) && is_label_start(a, a.len() - apex.len()))
        .collect()
}

/// Whether offset `at` of wire name `name` starts a label.
fn is_label_start(name: &[u8], at: usize) -> bool {
    let mut i = 0;
    while i < at {
        i += 1 + name[i] as usize;
    }
    i == at
}

/// What a node of the zone contributes: (its own key, a subtree key).
fn keys_of(zone: &Zone, i: usize) -> Option<(&[u8], bool)> {
    let id = zone.node_at(i);
    let n = zone.node(id);
    if n.has(nf::BELOW_CUT) || n.has(nf::BELOW_DNAME) {
        return None;
    }
    let apex = n.has(nf::APEX);
    let subtree = !apex && (n.has(nf::CUT) || n.has(nf::DNAME) || n.has(nf::WILD_CHILD));
    Some((zone.node_name(id), subtree))
}

/// The fewest keys a filter is sized for.
pub const MIN_KEYS: usize = 1 << 15;

/// The filter of `zone` under the gate's `seed`, with the apexes of the
/// served zones below it (`children`) as subtrees.
pub fn build(zone: &Zone, children: &[&[u8]], seed: u64, bits_per_name: usize) -> Built {
    let start = Instant::now();
    let apex = zone.node(zone.apex_id());
    if apex.has(nf::WILD_CHILD) || apex.has(nf::DNAME) {
        let filter = Filter { words: vec![u64::MAX], log2_bits: 6, k: PROBES };
        return Built { filter, keys: 0, all: true, millis: ms(start) };
    }
    let nodes = zone.node_count();
    let n3 = zone.nsec3_count();
    let mut keys = nodes + n3 + 2 * children.len();
    keys += (0..nodes).filter(|&i| keys_of(zone, i).is_some_and(|k| k.1)).count();
    // At least MIN_KEYS keys' worth (64 KiB at 10 bits per name): a small
    // zone's filter then lets almost no random name pass as existing,
    // where 10 bits per name would let about 1 % through.
    let mut filter = Filter::with_capacity(keys.max(MIN_KEYS), bits_per_name, PROBES);
    let mut inserted = 0;
    let mut add = |name: &[u8], tag: u64| {
        if let Some(s) = suffix_hashes(seed, name) {
            filter.insert(s.name(), tag);
            inserted += 1;
        }
    };
    for i in 0..nodes {
        if let Some((name, subtree)) = keys_of(zone, i) {
            add(name, EXACT);
            if subtree {
                add(name, SUBTREE);
            }
        }
    }
    for i in 0..n3 {
        add(zone.nsec3_node_name(zone.nsec3_node_at(i)), EXACT);
    }
    for c in children {
        add(c, EXACT);
        add(c, SUBTREE);
    }
    Built { filter, keys: inserted, all: false, millis: ms(start) }
}

fn ms(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1e3
}

#[cfg(test)]
#[path = "filter_tests.rs"]
mod tests;
