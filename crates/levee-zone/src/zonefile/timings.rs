//! Where a zone load's time goes, phase by phase ([`Timings`]).
//!
//! The loader itself is timed, not a copy of it: the parser and the
//! builder call [`Lap::lap`] at the end of each phase when the load's
//! [`LoadOptions`](crate::zonefile::LoadOptions) carry a [`Timings`], and
//! do nothing else differently. Each lap reads the clock once and charges
//! the time since the previous lap to the phase that just ended, so the
//! phases add up to the whole load without gaps or double counting.
//!
//! This crate has no clock: the caller hands one in ([`Timings::new`]),
//! as `levee check-zone --timings` does.
//!
//! ## Per-record phases are sampled
//!
//! Reading a zone file interleaves its phases record by record
//! (tokenise a line, read its owner, its TTL, class and type, its RDATA,
//! hand the record to the builder). Reading the clock around each of them
//! for every record would cost about as much as a phase itself (some
//! 20 ns a read, five reads a record). So one entry in [`SAMPLE`] is
//! timed phase by phase; the parse of all the others is measured as one
//! lump (`parse, unsplit`), and [`Timings::report`] shares the lump out
//! in the proportions of the sampled entries. Handing each record to the
//! builder is timed on every record (two clock reads a record): its cost
//! is not steady (the name table grows by rehashing everything now and
//! then), so a sample would be off by whatever rehash it happened to
//! catch. The coarse phases (reading the file, each step of the build)
//! are measured exactly.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// One entry in this many is timed phase by phase.
pub const SAMPLE: u64 = 16;

/// A phase of a load. The first four are per record and sampled
/// ([`Phase::sampled`]); the rest, the builder's intake of every record
/// included, are measured exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(usize)]
pub enum Phase {
    /// Splitting the text into entries and tokens (`lexer.rs`).
    Lex,
    /// The owner name, text to wire (`fields.rs`).
    Owner,
    /// TTL, class and type, and directives (`parser.rs`).
    Header,
    /// RDATA, text to wire (`rdata_parse.rs`).
    Rdata,
    /// The parse of entries not timed one by one (shared out by
    /// [`Timings::report`]).
    Unsplit,
    /// Handing the record to the builder: owner lowercased, interned in
    /// the name hash table, RDATA copied (`ZoneBuilder::add`); timed on
    /// every record.
    Add,
    /// `read` calls on the zone file, and moving a chunk's unused tail.
    Read,
    /// A parallel parse (`LoadOptions::threads` above 1): the reading
    /// thread waiting for the parse threads' next block. The parse
    /// threads are not timed; the reading thread's own plain parses (a
    /// block parsed again) go to the per-record phases.
    Wait,
    /// Build step 1: empty non-terminals (a hash probe per ancestor that
    /// is not the name interned just before).
    Ents,
    /// Build step 2: canonical order (keys, sort).
    Sort,
    /// Names and nodes laid out in canonical order, the builder's name
    /// tables freed.
    Nodes,
    /// Build step 3: records sorted by node and type.
    Group,
    /// Build step 4: tree flags (cuts, glue, DNAME, wildcards).
    Flags,
    /// Build step 5: segments sized, then filled (RRsets, per-name checks).
    Fill,
    /// The apex checks and the builder's own problems.
    Apex,
    /// The NSEC3 block.
    Nsec3,
    /// The zone assembled: its name index (hashing every name).
    Index,
    /// NS/MX/SRV targets linked, glue checked.
    Link,
    /// The builder's buffers (the RDATA arena) freed.
    Free,
}

/// Number of phases.
pub const PHASES: usize = Phase::Free as usize + 1;

/// The phases, in the order of a load.
pub const ALL: [Phase; PHASES] = [
    Phase::Read,
    Phase::Lex,
    Phase::Owner,
    Phase::Header,
    Phase::Rdata,
    Phase::Add,
    Phase::Unsplit,
    Phase::Wait,
    Phase::Ents,
    Phase::Sort,
    Phase::Nodes,
    Phase::Group,
    Phase::Flags,
    Phase::Fill,
    Phase::Apex,
    Phase::Nsec3,
    Phase::Index,
    Phase::Link,
    Phase::Free,
];

impl Phase {
    /// Short name, for tables.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Lex => "tokenise",
            Phase::Owner => "owner name",
            Phase::Header => "TTL, class, type",
            Phase::Rdata => "RDATA",
            Phase::Add => "builder add (lowercase, intern, copy)",
            Phase::Unsplit => "parse, unsplit",
            Phase::Read => "read file",
            Phase::Wait => "wait for parse threads",
            Phase::Ents => "empty non-terminals",
            Phase::Sort => "canonical sort",
            Phase::Nodes => "nodes in order",
            Phase::Group => "records by node",
            Phase::Flags => "tree flags",
            Phase::Fill => "segments (RRsets, checks)",
            Phase::Apex => "apex checks",
            Phase::Nsec3 => "NSEC3 chain",
            Phase::Index => "name index (hash)",
            Phase::Link => "links and glue",
            Phase::Free => "free builder",
        }
    }

    /// True for the per-record phases, timed on sampled entries only.
    pub fn sampled(self) -> bool {
        (self as usize) < Phase::Unsplit as usize
    }
}

/// Time spent per phase by the loads that carried it (nanoseconds of
/// the caller's clock), and the entries seen.
pub struct Timings {
    clock: fn() -> u64,
    ns: [AtomicU64; PHASES],
    entries: AtomicU64,
}

impl std::fmt::Debug for Timings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Timings").field("report", &self.report()).finish()
    }
}

impl Timings {
    /// Timings read from `clock`, a monotonic clock in nanoseconds.
    pub fn new(clock: fn() -> u64) -> Arc<Timings> {
        Arc::new(Timings { clock, ns: Default::default(), entries: AtomicU64::new(0) })
    }

    /// Nanoseconds per phase, the per-record phases estimated: the
    /// unsplit time is shared out in their sampled proportions (and
    /// `Unsplit` is then 0). Phases in [`ALL`] order.
    pub fn report(&self) -> Vec<(Phase, u64)> {
        let raw: Vec<u64> = self.ns.iter().map(|a| a.load(Ordering::Relaxed)).collect();
        let sampled: u64 = ALL.iter().filter(|p| p.sampled()).map(|&p| raw[p as usize]).sum();
        let unsplit = raw[Phase::Unsplit as usize];
        ALL.iter()
            .map(|&p| {
                let v = raw[p as usize];
                let v = match p {
                    Phase::Unsplit if sampled > 0 => 0,
                    p if p.sampled() && sampled > 0 => v + (unsplit as u128 * v as u128 / sampled as u128) as u64,
                    _ => v,
                };
                (p, v)
            })
            .collect()
    }

    /// Nanoseconds measured per phase as they are (no estimate).
    pub fn raw(&self, p: Phase) -> u64 {
        self.ns[p as usize].load(Ordering::Relaxed)
    }

    /// Entries read (records and directives).
    pub fn entries(&self) -> u64 {
        self.entries.load(Ordering::Relaxed)
    }
}

/// A stopwatch over one load: charges the time since the previous lap to
/// the phase that ended, into local counters added to the [`Timings`]
/// when it is dropped.
pub(crate) struct Lap {
    t: Arc<Timings>,
    last: u64,
    acc: [u64; PHASES],
    entries: u64,
    /// The current entry is timed phase by phase.
    fine: bool,
}

impl Lap {
    /// A stopwatch started now.
    pub(crate) fn new(t: &Arc<Timings>) -> Lap {
        Lap { t: Arc::clone(t), last: (t.clock)(), acc: [0; PHASES], entries: 0, fine: false }
    }

    /// `p` ended now.
    pub(crate) fn lap(&mut self, p: Phase) {
        let now = (self.t.clock)();
        self.acc[p as usize] += now.saturating_sub(self.last);
        self.last = now;
    }

    /// A new entry starts: one in [`SAMPLE`] is timed phase by phase
    /// (the time of the entries before it goes to `Unsplit`).
    pub(crate) fn entry(&mut self) {
        self.fine = self.entries % SAMPLE == 0;
        self.entries += 1;
        if self.fine {
            self.lap(Phase::Unsplit);
        }
    }

    /// `p`, a per-record phase, ended now (a lap on sampled entries).
    pub(crate) fn fine(&mut self, p: Phase) {
        if self.fine {
            self.lap(p);
        }
    }

    /// An entry's record is about to go to the builder: its parse ended
    /// (`Rdata` on a sampled entry, `Unsplit` on the others).
    pub(crate) fn parsed(&mut self) {
        self.lap(if self.fine { Phase::Rdata } else { Phase::Unsplit });
    }
}

impl Drop for Lap {
    fn drop(&mut self) {
        for (a, v) in self.t.ns.iter().zip(self.acc) {
            a.fetch_add(v, Ordering::Relaxed);
        }
        self.t.entries.fetch_add(self.entries, Ordering::Relaxed);
    }
}

/// A lap on an optional stopwatch.
pub(crate) fn lap(l: &mut Option<Lap>, p: Phase) {
    if let Some(l) = l {
        l.lap(p)
    }
}

/// A per-record lap on an optional stopwatch.
pub(crate) fn fine(l: &mut Option<Lap>, p: Phase) {
    if let Some(l) = l {
        l.fine(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;

    static NOW: AtomicU64 = AtomicU64::new(0);
    fn clock() -> u64 {
        NOW.fetch_add(10, Ordering::Relaxed)
    }

    /// Every lap charges the time since the previous one; the unsplit
    /// lump is shared out in the sampled proportions.
    #[test]
    fn laps_add_up_and_unsplit_is_shared() {
        let t = Timings::new(clock);
        {
            let mut l = Lap::new(&t);
            for _ in 0..SAMPLE * 2 {
                l.entry();
                l.fine(Phase::Lex);
                l.fine(Phase::Rdata);
                l.parsed();
                l.lap(Phase::Add);
            }
            l.lap(Phase::Unsplit);
            l.lap(Phase::Read);
        }
        assert_eq!(t.entries(), SAMPLE * 2);
        // Two sampled entries: Lex 10 each, Rdata 20 each.
        assert_eq!((t.raw(Phase::Lex), t.raw(Phase::Rdata)), (20, 40));
        assert_eq!(t.raw(Phase::Read), 10);
        assert_eq!(t.raw(Phase::Add), SAMPLE * 2 * 10);
        let unsplit = t.raw(Phase::Unsplit);
        assert!(unsplit > 0);
        let r = t.report();
        let get = |p: Phase| r.iter().find(|x| x.0 == p).unwrap().1;
        assert_eq!(get(Phase::Unsplit), 0);
        assert_eq!(get(Phase::Lex) + get(Phase::Rdata), 60 + unsplit);
        assert_eq!(get(Phase::Lex), 20 + unsplit / 3);
    }
}
