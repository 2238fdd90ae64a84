//! Incremental reload: a new version of a zone that shares the unchanged
//! segments of the version being served.
//!
//! A full rebuild holds the old zone and the complete new one (plus the
//! build's own working memory) at the same time, so a reload needs more
//! than twice the zone's memory. Here the new file is parsed once and
//! compared, record by record, with the served [`Zone`]:
//!
//! 1. **Diff while parsing.** Each record is looked up (owner, type); it
//!    *matches* when it equals the next not yet seen record of the old
//!    RRset (same RDATA octets, and the old RRset's TTL for its first
//!    record), or repeats one already seen (a duplicate the build drops).
//!    A cursor per old RRset remembers how far it matched; after the
//!    first record that does not match, the RRset is *dirty* and every
//!    later record of it is kept. Only the records that did not match are
//!    kept (in a small [`ZoneBuilder`]); NSEC3 data is always kept.
//! 2. **Changed owners**: owners of kept records and owners of old RRsets
//!    not seen completely. Because matching is in order, the new RRset of
//!    a changed owner is the matched prefix of the old one followed by the
//!    kept records, exactly what a build from the file would hold.
//! 3. **Affected segments**: the segment of each changed owner (a new name
//!    belongs to the segment of its canonical predecessor), the segments
//!    from an empty non-terminal ancestor down to it (ENTs appear and
//!    disappear), from the parent of a wildcard down to it (the parent's
//!    wildcard flag), the whole subtree of an owner whose cut or DNAME
//!    status changed (flags below it), and always the apex's segment.
//! 4. **Rebuild** each run of consecutive affected segments with the
//!    ordinary builder (`ZoneBuilder::finish_segments` with a
//!    `Range`): flags of ancestors before the run come from the old zone
//!    (they cannot have changed, or they would be in the run), the first
//!    name after the run is a probe that keeps ENTs above it, wildcard
//!    children after the run are looked up in the old zone.
//! 5. **Assemble**: kept segments are shared (`Arc`), the name index is
//!    rebuilt, new segments are linked and their glue checked; cuts above
//!    changed owners have their glue checked again.
//!
//! Syntax errors are reported from the one parse, as a full load reports
//! them. A semantic error, a large change (more than a quarter of the
//! segments, or more than a quarter of the records kept), a change of the
//! apex's DNAME, or a zone that is too small to be worth it fall back to a
//! full load (a second parse), which also gives the exact diagnostics.

use std::sync::Arc;

use levee_wire::name;
use levee_wire::rtype::t;

use crate::snapshot::build::{self, BuildOptions, Built, Range, RawRec, ZoneBuilder};
use crate::snapshot::zone::{nf, Nsec3Block, Segment, Zone, LOCAL_BITS, SEG_MAX};
use crate::zonefile::parser::{Diagnostic, LoadOptions, Record};
use crate::zonefile::source::Source;

/// How a reload was done.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReloadKind {
    /// Incremental: `rebuilt` segments replaced, `kept` shared with the
    /// previous version.
    Incremental {
        /// Segments built anew.
        rebuilt: usize,
        /// Segments shared with the old version.
        kept: usize,
    },
    /// A full build, and why.
    Full(String),
}

/// The outcome of [`reload_with`] and [`reload_with_budget`].
pub struct Reloaded {
    /// The new zone and its warnings.
    pub built: Built,
    /// Incremental or full.
    pub kind: ReloadKind,
}

/// Limits of the incremental path.
#[derive(Clone, Copy, Debug)]
pub struct ReloadOptions {
    /// Largest share of the old segments an incremental reload rebuilds;
    /// above it the zone is built in full.
    pub max_fraction: f64,
    /// Zones with fewer segments than this are built in full.
    pub min_segments: usize,
    /// The semantic-check policy.
    pub checks: build::Checks,
    /// Names per segment of the segments built anew (see
    /// [`BuildOptions`]).
    pub segment_names: usize,
}

impl Default for ReloadOptions {
    fn default() -> Self {
        ReloadOptions {
            max_fraction: 0.25,
            min_segments: 8,
            checks: build::Checks::default(),
            segment_names: build::SEGMENT_NAMES,
        }
    }
}

impl ReloadOptions {
    /// The options of the builds of a reload (the ranges rebuilt, or the
    /// full build it falls back to).
    pub(crate) fn build(&self) -> BuildOptions {
        BuildOptions { checks: self.checks, segment_names: self.segment_names }
    }
}

pub(crate) const DIRTY: u32 = 1 << 31;

/// Reloads `old` from `source` (see the module documentation) with the
/// limits of `opts` and the default budgets.
pub fn reload_with(
    old: &Zone,
    source: Source<'_>,
    origin: &[u8],
    progress: &mut dyn FnMut(u64),
    opts: ReloadOptions,
) -> Result<Reloaded, Vec<Diagnostic>> {
    reload_with_budget(old, source, origin, progress, opts, &LoadOptions::default())
}

/// [`reload_with`] with the load's budgets and I/O watch (both parses,
/// the incremental one and a full fallback, honour them).
pub fn reload_with_budget(
    old: &Zone,
    source: Source<'_>,
    origin: &[u8],
    progress: &mut dyn FnMut(u64),
    opts: ReloadOptions,
    load: &LoadOptions,
) -> Result<Reloaded, Vec<Diagnostic>> {
    let full = |why: String, progress: &mut dyn FnMut(u64)| {
        build::load_with(source, origin, load, opts.build(), progress)
            .map(|built| Reloaded { built, kind: ReloadKind::Full(why) })
    };
    let lorigin = name::to_lowercase(origin);
    if old.apex() != lorigin.as_slice() || old.segs.is_empty() {
        return full("no previous version".into(), progress);
    }
    if old.segs.len() < opts.min_segments {
        return full("small zone".into(), progress);
    }
    match incremental(old, source, origin, progress, &opts, load) {
        Ok(r) => Ok(r),
        Err(Stop::Errors(diags)) => Err(diags),
        Err(Stop::Full(why)) => full(why, progress),
    }
}

/// Why the incremental path stopped.
pub(crate) enum Stop {
    /// Errors of the parse, reported as a full load reports them.
    Errors(Vec<Diagnostic>),
    /// A full build instead, and why.
    Full(String),
}

/// The changed owners (step 2), sorted canonically: each name with the
/// index of its kept records in [`Kept::by_owner`] (`None`: no record of
/// it was kept, only old records of it went).
pub(crate) type Changed = Vec<(Vec<u8>, Option<u32>)>;

/// The records of the new version that did not match the old one.
pub(crate) struct Kept<'a> {
    /// Indexes into `records`, per owner of the diff's builder.
    pub(crate) by_owner: Vec<Vec<u32>>,
    /// The records, in file order.
    pub(crate) records: Vec<RawRec<'a>>,
}

impl Kept<'_> {
    /// Adds the kept records of owner `k` (if any) to `rb` at name `nm`.
    fn add_to(&self, rb: &mut ZoneBuilder, nm: &[u8], k: Option<u32>) {
        if let Some(k) = k {
            for &i in &self.by_owner[k as usize] {
                rb.add_raw(nm, self.records[i as usize]);
            }
        }
    }
}

/// Steps 1 to 5 (see the module documentation).
fn incremental(
    old: &Zone,
    source: Source<'_>,
    origin: &[u8],
    progress: &mut dyn FnMut(u64),
    opts: &ReloadOptions,
    load: &LoadOptions,
) -> Result<Reloaded, Stop> {
    // 1. Diff while parsing.
    let Diffed { mut nb, cursor, diags } = diff_while_parsing(old, source, origin, progress, opts, load)?;

    // 2. Changed owners, sorted canonically; the kept records of each.
    let (changed, by_owner) = changed_owners(old, &nb, &cursor);
    let kept = Kept { by_owner, records: nb.raw_records().map(|(_, r)| r).collect() };

    // 3. Affected segments.
    let nseg = old.segs.len();
    let mark = affected_segments(old, &changed, &cursor, &kept)?;
    let rebuilt_old = mark.iter().filter(|&&m| m).count();
    if rebuilt_old as f64 > nseg as f64 * opts.max_fraction + 1.0 {
        return Err(Stop::Full(format!("{rebuilt_old} of {nseg} segments changed")));
    }

    // 4. Rebuild the runs of affected segments.
    let mut errors: Vec<Diagnostic> = Vec::new();
    let mut warnings: Vec<Diagnostic> = Vec::new();
    let files = nb_files(&nb);
    let run = Run { old, origin, opts, files: &files, changed: &changed, cursor: &cursor, kept: &kept };
    let (segs, fresh) = run.rebuild(&mark, &mut errors, &mut warnings)?;
    if !errors.is_empty() || segs.is_empty() || segs[0].nodes.first().is_none_or(|n| !n.has(nf::APEX)) {
        return Err(Stop::Full("errors in the changed names".into()));
    }
    if segs.len() >= crate::snapshot::zone::N3_SLOT {
        return Err(Stop::Full("too many segments".into()));
    }

    // 5. Assemble.
    drop(kept);
    let zone = assemble(old, &mut nb, segs, &fresh, &changed, false, &mut errors, &mut warnings);
    if !errors.is_empty() {
        return Err(Stop::Full("errors in the changed names".into()));
    }
    let rebuilt = fresh.len();
    let kept = zone.segs.len() - rebuilt;
    warnings.extend(diags);
    Ok(Reloaded { built: Built { zone, warnings }, kind: ReloadKind::Incremental { rebuilt, kept } })
}

/// What step 1 found.
pub(crate) struct Diffed {
    /// The records that did not match the old zone.
    pub(crate) nb: ZoneBuilder,
    /// How far each old RRset matched, per segment and RRset: octets of
    /// its RDATA, with [`DIRTY`] once a record did not match.
    pub(crate) cursor: Vec<Vec<u32>>,
    /// The parse's warnings.
    pub(crate) diags: Vec<Diagnostic>,
}

/// Step 1: parses the new text, matching each record against the old
/// zone ([`matches_old`]).
pub(crate) fn diff_while_parsing(
    old: &Zone,
    source: Source<'_>,
    origin: &[u8],
    progress: &mut dyn FnMut(u64),
    opts: &ReloadOptions,
    load: &LoadOptions,
) -> Result<Diffed, Stop> {
    let limit = ((old.record_count() as f64) * opts.max_fraction) as usize + 64;
    let mut nb = ZoneBuilder::new(origin, opts.build());
    let mut cursor: Vec<Vec<u32>> = old.segs.iter().map(|s| vec![0u32; s.rrsets.len()]).collect();
    let mut diags = Vec::new();
    let mut too_many = false;
    let mut n = 0u64;
    let stats = crate::zonefile::parse_with(
        source,
        origin,
        load,
        &mut |r: &Record<'_>| {
            n += 1;
            if n % build::PROGRESS_EVERY == 0 {
                progress(n);
            }
            if matches_old(old, &mut cursor, r) {
                return Ok(());
            }
            if nb.len() >= limit {
                too_many = true;
                return Ok(());
            }
            nb.add(r)
        },
        &mut diags,
    );
    nb.set_files(stats.files);
    if diags.iter().any(|d| !d.warning) {
        let mut errors = Vec::new();
        let mut warnings = Vec::new();
        nb.take_problems(&mut errors, &mut warnings);
        diags.extend(errors);
        diags.extend(warnings);
        return Err(Stop::Errors(diags));
    }
    if too_many {
        return Err(Stop::Full(format!("more than {} records changed", limit)));
    }
    Ok(Diffed { nb, cursor, diags })
}

/// Step 2: the owners of kept records and the owners of old RRsets not
/// seen completely, sorted canonically (an owner with kept records before
/// the same name without), each once; and the indexes of the kept
/// records of each of the builder's owners.
fn changed_owners(old: &Zone, nb: &ZoneBuilder, cursor: &[Vec<u32>]) -> (Changed, Vec<Vec<u32>>) {
    let mut kept_by_owner: Vec<Vec<u32>> = Vec::new();
    let mut changed: Changed = Vec::new();
    for (id, nm) in nb.owner_names() {
        changed.push((nm.to_vec(), Some(id)));
        kept_by_owner.push(Vec::new());
    }
    for (i, (node, _)) in nb.raw_records().enumerate() {
        kept_by_owner[node as usize].push(i as u32);
    }
    for (slot, seg) in old.segs.iter().enumerate() {
        for local in 0..seg.nodes.len() {
            if seg.set_range(local).any(|i| cursor[slot][i] != seg.rdata_at(i).len() as u32) {
                changed.push((seg.name(local).to_vec(), None));
            }
        }
    }
    changed.sort_by(|a, b| name::canonical_cmp(&a.0, &b.0).then(b.1.is_some().cmp(&a.1.is_some())));
    changed.dedup_by(|b, a| a.0 == b.0);
    (changed, kept_by_owner)
}

/// The slot of the old segment a name belongs to: its own, or for a new
/// name the segment of its canonical predecessor.
fn slot_of(old: &Zone, nm: &[u8]) -> usize {
    match old.lookup(nm) {
        Some(id) => (id >> LOCAL_BITS) as usize,
        None => old.segs.partition_point(|s| name::canonical_cmp(s.first_name(), nm).is_le()).max(1) - 1,
    }
}

/// Whether changed owner `nm` has NS and DNAME records in the new
/// version: matched old records (the cursor's prefix) or kept ones.
fn new_types(old: &Zone, cursor: &[Vec<u32>], kept: &Kept<'_>, nm: &[u8], k: Option<u32>) -> (bool, bool) {
    let mut ns = false;
    let mut dname = false;
    if let Some(id) = old.lookup(nm) {
        let (slot, local) = ((id >> LOCAL_BITS) as usize, (id & (SEG_MAX as u32 - 1)) as usize);
        let seg = &old.segs[slot];
        let st = seg.nodes[local].rrset_start as usize;
        for (j, s) in seg.sets(local).iter().enumerate() {
            if cursor[slot][st + j] & !DIRTY > 0 {
                ns |= s.rtype == t::NS;
                dname |= s.rtype == t::DNAME;
            }
        }
    }
    if let Some(k) = k {
        for &i in &kept.by_owner[k as usize] {
            ns |= kept.records[i as usize].rtype == t::NS;
            dname |= kept.records[i as usize].rtype == t::DNAME;
        }
    }
    (ns, dname)
}

/// Step 3: the old segments to rebuild (always the apex's).
pub(crate) fn affected_segments(
    old: &Zone,
    changed: &Changed,
    cursor: &[Vec<u32>],
    kept: &Kept<'_>,
) -> Result<Vec<bool>, Stop> {
    let nseg = old.segs.len();
    let mut mark = vec![false; nseg];
    mark[0] = true;
    for (nm, k) in changed {
        let sx = slot_of(old, nm);
        mark[sx] = true;
        let apex = nm.as_slice() == old.apex();
        let (ns, dname) = new_types(old, cursor, kept, nm, *k);
        if let Some(id) = old.lookup(nm) {
            let f = old.node(id).flags;
            let was_cut = f & nf::CUT != 0;
            let was_dname = f & nf::DNAME != 0;
            if apex && was_dname != dname {
                return Err(Stop::Full("the apex's DNAME changed".into()));
            }
            if !apex && (was_cut != ns || was_dname != dname) {
                // Every name below changes its flags.
                let mut s = sx;
                loop {
                    mark[s] = true;
                    if s + 1 >= nseg || !name::is_subdomain(old.segs[s].last_name(), nm) {
                        break;
                    }
                    s += 1;
                }
            }
        }
        if !apex {
            mark_ancestors(old, nm, sx, &mut mark);
        }
    }
    Ok(mark)
}

/// Marks the segments from the parent of changed name `nm` (in segment
/// `sx`) down to it where the parent's flags may change: up through empty
/// non-terminal ancestors (they appear and disappear), and from the
/// parent of a wildcard (its wildcard-child flag).
fn mark_ancestors(old: &Zone, nm: &[u8], sx: usize, mark: &mut [bool]) {
    let mut cur: &[u8] = nm;
    loop {
        let p = name::parent(cur);
        if p.len() <= old.apex().len() {
            if name::is_wildcard(cur) {
                mark[..=sx].iter_mut().for_each(|m| *m = true);
            }
            break;
        }
        let ps = slot_of(old, p);
        let persists = old.lookup(p).is_some_and(|id| !old.node(id).has(nf::EMPTY));
        if name::is_wildcard(cur) || !persists {
            mark[ps..=sx].iter_mut().for_each(|m| *m = true);
        }
        if persists {
            break;
        }
        cur = p;
    }
}

/// What step 4 rebuilds from: the old zone, the change, the options.
pub(crate) struct Run<'a> {
    pub(crate) old: &'a Zone,
    pub(crate) origin: &'a [u8],
    pub(crate) opts: &'a ReloadOptions,
    pub(crate) files: &'a [String],
    pub(crate) changed: &'a Changed,
    pub(crate) cursor: &'a [Vec<u32>],
    pub(crate) kept: &'a Kept<'a>,
}

/// Segments rebuilt by step 4: each one's slot in the new zone and the
/// first line of each of its RRsets.
pub(crate) type Fresh = Vec<(usize, Vec<(u16, u32)>)>;

impl Run<'_> {
    /// Step 4: the new zone's segments: the old ones not marked, shared,
    /// and each run of consecutive marked ones built anew.
    pub(crate) fn rebuild(
        &self,
        mark: &[bool],
        errors: &mut Vec<Diagnostic>,
        warnings: &mut Vec<Diagnostic>,
    ) -> Result<(Vec<Arc<Segment>>, Fresh), Stop> {
        let old = self.old;
        let nseg = old.segs.len();
        let mut segs: Vec<Arc<Segment>> = Vec::with_capacity(nseg + 8);
        let mut fresh: Fresh = Vec::new();
        let mut s = 0;
        while s < nseg {
            if !mark[s] {
                segs.push(Arc::clone(&old.segs[s]));
                s += 1;
                continue;
            }
            let a = s;
            while s < nseg && mark[s] {
                s += 1;
            }
            let (out, lines) = self.rebuild_run(a, s, errors, warnings)?;
            for (k, seg) in out.into_iter().enumerate() {
                fresh.push((segs.len(), lines.seg(k).to_vec()));
                segs.push(Arc::new(seg));
            }
        }
        Ok((segs, fresh))
    }

    /// The old segments `a..b` rebuilt: their names' matched old records
    /// and kept new ones, and the new names inside the range.
    fn rebuild_run(
        &self,
        a: usize,
        b: usize,
        errors: &mut Vec<Diagnostic>,
        warnings: &mut Vec<Diagnostic>,
    ) -> Result<(Vec<Segment>, build::Lines), Stop> {
        let (old, changed) = (self.old, self.changed);
        let is_changed =
            |nm: &[u8]| -> Option<usize> { changed.binary_search_by(|c| name::canonical_cmp(&c.0, nm)).ok() };
        let lo = if a == 0 { old.apex() } else { old.segs[a].first_name() };
        let hi = old.segs.get(b).map(|x| x.first_name());
        let mut rb = ZoneBuilder::new(self.origin, self.opts.build());
        for slot in a..b {
            let seg = &old.segs[slot];
            for local in 0..seg.nodes.len() {
                let nm = seg.name(local);
                let st = seg.nodes[local].rrset_start as usize;
                let ch = is_changed(nm);
                for (k, set) in seg.sets(local).iter().enumerate() {
                    let upto = if ch.is_some() { (self.cursor[slot][st + k] & !DIRTY) as usize } else { usize::MAX };
                    let stored = seg.rdata_at(st + k).len();
                    let covers = seg.covers_at(st + k);
                    // Read resolved: the segment is built anew, references
                    // and all, from the names themselves.
                    for rd in seg.rdatas_in(st + k, 0..upto.min(stored)) {
                        rb.add_raw(
                            nm,
                            RawRec { rtype: set.rtype, covers, ttl: set.ttl(), rdata: rd, file: 0, line: 0 },
                        );
                    }
                }
                if let Some(ci) = ch {
                    self.kept.add_to(&mut rb, nm, changed[ci].1);
                }
            }
        }
        // New names inside the range.
        let first = changed.partition_point(|c| name::canonical_cmp(&c.0, lo).is_lt());
        for (nm, k) in &changed[first..] {
            if hi.is_some_and(|h| name::canonical_cmp(nm, h).is_ge()) {
                break;
            }
            if old.lookup(nm).is_none() {
                self.kept.add_to(&mut rb, nm, *k);
            }
        }
        rb.set_files(self.files.to_vec());
        let outside_flags = |p: &[u8]| old.lookup(p).map(|id| old.node(id).flags);
        let outside_exists = |w: &[u8]| old.lookup(w).is_some();
        let range = Range { lo, hi, outside_flags: &outside_flags, outside_exists: &outside_exists };
        rb.finish_segments(Some(&range), errors, warnings)
            .ok_or_else(|| Stop::Full("errors in the changed names".into()))
    }
}

/// Step 5: the new zone from its segments: the NSEC3 block (rebuilt
/// whole), the name index, links and glue checks of the new segments, and
/// glue checks of the cuts above changed names whose own segment was kept.
#[allow(clippy::too_many_arguments)]
pub(crate) fn assemble(
    old: &Zone,
    nb: &mut ZoneBuilder,
    segs: Vec<Arc<Segment>>,
    fresh: &Fresh,
    changed: &Changed,
    keep_n3: bool,
    errors: &mut Vec<Diagnostic>,
    warnings: &mut Vec<Diagnostic>,
) -> Zone {
    let params = build::nsec3params_of(&segs[0]);
    let (n3, nsec3param) = if keep_n3 {
        (Arc::clone(&old.n3), old.nsec3param.clone())
    } else if nb.has_n3() || old.nsec3_count() > 0 {
        let (b, p) = nb.build_n3(&params, warnings);
        (Arc::new(b), p)
    } else {
        (Arc::new(Nsec3Block::default()), params.into_iter().next())
    };
    let files = nb_files(nb);
    let mut zone = Zone::assemble(old.apex().to_vec(), segs, n3, nsec3param);
    let mut scratch = build::LinkScratch::default();
    let mut glue = Vec::new();
    for (slot, lines) in fresh {
        build::link_segment(&mut zone, *slot, lines, &files, &mut glue, &mut scratch);
    }
    // Cuts above changed names whose own segment was kept: glue may have gone.
    for (nm, _) in changed {
        let mut p: &[u8] = nm;
        while p.len() > zone.apex().len() {
            if let Some(id) = zone.lookup(p) {
                if zone.node(id).has(nf::CUT) {
                    build::check_glue(&zone, id, &mut glue);
                }
            }
            p = name::parent(p);
        }
    }
    nb.policy(glue, errors, warnings);
    zone
}

fn nb_files(nb: &ZoneBuilder) -> Vec<String> {
    nb.files().to_vec()
}

/// Step 1 for one record: true if it matches the old zone (and advances
/// the old RRset's cursor).
fn matches_old(old: &Zone, cursor: &mut [Vec<u32>], r: &Record<'_>) -> bool {
    if r.rdata.len() > u16::MAX as usize {
        return false;
    }
    let covers = if r.rtype == t::RRSIG {
        if r.rdata.len() < 18 {
            return false;
        }
        u16::from_be_bytes([r.rdata[0], r.rdata[1]])
    } else {
        0
    };
    if r.rtype == t::NSEC3 || (r.rtype == t::RRSIG && covers == t::NSEC3) {
        return false;
    }
    let owner = name::to_lowercase(r.owner);
    let Some(id) = old.lookup(&owner) else { return false };
    let (slot, local) = ((id >> LOCAL_BITS) as usize, (id & (SEG_MAX as u32 - 1)) as usize);
    let seg = &old.segs[slot];
    let st = seg.nodes[local].rrset_start as usize;
    let Some(k) = seg.set_range(local).position(|i| seg.rrsets[i].rtype == r.rtype && seg.covers_at(i) == covers)
    else {
        return false;
    };
    let set = &seg.rrsets[st + k];
    let c = &mut cursor[slot][st + k];
    if *c & DIRTY != 0 {
        return false;
    }
    // The cursor is an octet position in the records as stored (a
    // reference is one octet); the records are compared resolved.
    let stored = seg.rdata_at(st + k).len();
    let pos = *c as usize;
    let mut next = seg.rdatas_in(st + k, pos..stored);
    if let Some(x) = next.next() {
        if x == r.rdata && (pos > 0 || r.ttl == set.ttl()) {
            *c += (stored - pos - next.rest().len()) as u32;
            return true;
        }
    }
    // A repeat of a record already matched is a duplicate the build drops.
    // Only small RRsets are searched: in a large one the search would be
    // a scan per record (quadratic); the RRset is rebuilt instead, and the
    // build drops the duplicates with a hash table.
    if pos <= DUP_SEARCH && seg.rdatas_in(st + k, 0..pos).any(|x| x == r.rdata) {
        return true;
    }
    *c |= DIRTY;
    false
}

/// Octets of an old RRset searched for a repeated record (see
/// [`matches_old`]).
const DUP_SEARCH: usize = 4096;

#[cfg(test)]
mod same_data_tests {
    use crate::{load, reload_with, ReloadOptions, Source};
    use levee_wire::name;

    fn z(text: &str) -> crate::Zone {
        let o = name::from_text("example.", None).unwrap();
        load(Source::Memory { name: "t", data: text.as_bytes() }, &o).unwrap().zone
    }

    const BASE: &str = "$TTL 60\n@ SOA ns h 7 1 1 1 1\n@ NS ns\nns A 192.0.2.1\n";

    /// Same data: equal; any change of a name, type, TTL, RDATA or RDATA
    /// order: different. Shared segments of an incremental reload are
    /// skipped and the answer is the same.
    #[test]
    fn same_data_sees_every_change() {
        let many: String = (0..20_000).map(|i| format!("h{i} A 10.0.{}.{}\n", i / 256, i % 256)).collect();
        let a = z(&format!("{BASE}{many}x TXT \"a\" \"b\"\n"));
        assert!(a.same_data(&z(&format!("{BASE}{many}x TXT \"a\" \"b\"\n"))));
        for other in [
            format!("{BASE}{many}x TXT \"b\" \"a\"\n"),
            format!("{BASE}{many}x TXT \"a\"\n"),
            format!("{BASE}{many}x 61 TXT \"a\" \"b\"\n"),
            format!("{BASE}{many}y TXT \"a\" \"b\"\n"),
            format!("{BASE}{many}x TXT \"a\" \"b\"\nh5 AAAA ::1\n"),
            format!("{}{many}x TXT \"a\" \"b\"\n", BASE.replace("7 1 1", "7 2 1")),
        ] {
            assert!(!a.same_data(&z(&other)), "{}", &other[other.len() - 40..]);
        }
        let o = name::from_text("example.", None).unwrap();
        let opts = ReloadOptions { max_fraction: 0.9, min_segments: 2, ..Default::default() };
        let text = format!("{BASE}{many}x TXT \"a\" \"b\"\nh5 AAAA ::1\n");
        let inc = reload_with(&a, Source::Memory { name: "t", data: text.as_bytes() }, &o, &mut |_| {}, opts).unwrap();
        assert!(matches!(inc.kind, crate::ReloadKind::Incremental { .. }));
        assert!(inc.built.zone.shared_segments(&a) > 0);
        assert!(!a.same_data(&inc.built.zone) && inc.built.zone.same_data(&z(&text)));
        let same = format!("{BASE}{many}x TXT \"a\" \"b\"\n");
        let inc = reload_with(&a, Source::Memory { name: "t", data: same.as_bytes() }, &o, &mut |_| {}, opts).unwrap();
        assert!(a.same_data(&inc.built.zone));
    }
}
