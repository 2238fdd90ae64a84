//! The next version of a zone from a difference, sharing the segments the
//! difference does not touch; and the difference a file makes to a served
//! version, with some types left aside.
//!
//! * [`apply_diff`]: a [`Diff`] (an IXFR in, a dynamic update, the
//!   signer's difference of a signed zone) applied to the served [`Zone`]
//!   without listing and rebuilding the whole zone: the changed owners'
//!   new records go into a small builder, and steps 3 to 5 of the
//!   incremental reload (`reload.rs`: affected segments, rebuild of their
//!   runs, assembly) make the new version. The NSEC3 block is shared when
//!   the difference does not touch it, rebuilt whole when it does. A
//!   change of more than [`ReloadOptions::max_fraction`] of the segments,
//!   or one the incremental path cannot take, is applied to the record
//!   list and built in full (`journal::apply_all`, `journal::build_from`),
//!   with the same result.
//! * [`file_changes`]: a zone file compared with a served version while it
//!   is parsed (as step 1 of the incremental reload, but a record matches
//!   its old RRset in any order), RRsets of the types the caller sets
//!   aside ignored on both sides: for a signed zone, the
//!   unsigned file against the signed version, RRSIG, NSEC, NSEC3 and
//!   NSEC3PARAM aside, gives the unsigned difference the signer re-signs
//!   (`levee::zones::incsign`) without building anything.

use std::collections::{HashMap, HashSet};

use levee_wire::name;
use levee_wire::rtype::{c, t};

use crate::snapshot::build::ZoneBuilder;
use crate::snapshot::journal::{self, Diff, Rr};
use crate::snapshot::reload::{self, Changed, Kept, ReloadKind, ReloadOptions, Reloaded, Run, Stop};
use crate::snapshot::zone::{Zone, N3_SLOT};
use crate::zonefile::parser::{Diagnostic, LoadOptions, Record};
use crate::zonefile::source::Source;

fn error(message: String) -> Vec<Diagnostic> {
    vec![Diagnostic { file: "<difference>".into(), line: 0, message, warning: false }]
}

/// The version after `old` with `d` applied (see the module
/// documentation); `d` must start from `old`'s serial.
pub fn apply_diff(old: &Zone, d: &Diff, opts: ReloadOptions) -> Result<Reloaded, Vec<Diagnostic>> {
    if d.from() != old.serial() {
        return Err(error(journal::JournalError::SerialMismatch.to_string()));
    }
    let full = |why: String| -> Result<Reloaded, Vec<Diagnostic>> {
        let recs =
            journal::apply_all(journal::records(old), std::slice::from_ref(d)).map_err(|e| error(e.to_string()))?;
        let built = journal::build_from(old.apex(), &recs, opts.build())?;
        Ok(Reloaded { built, kind: ReloadKind::Full(why) })
    };
    if old.segs.len() < opts.min_segments {
        return full("small zone".into());
    }
    match patch(old, d, &opts) {
        Ok(r) => Ok(r),
        Err(Stop::Errors(e)) => Err(e),
        Err(Stop::Full(why)) => full(why),
    }
}

/// A record's identity in a difference: type and RDATA (the owner is the
/// group's).
type Key<'a> = (u16, &'a [u8]);

fn is_n3(rtype: u16, rdata: &[u8]) -> bool {
    rtype == t::NSEC3 || (rtype == t::RRSIG && rdata.len() >= 2 && u16::from_be_bytes([rdata[0], rdata[1]]) == t::NSEC3)
}

/// The records removed and added at one owner.
#[derive(Default)]
struct Change<'a> {
    removed: Vec<&'a Rr>,
    added: Vec<&'a Rr>,
}

/// The records of an owner after its change: the old ones not removed
/// (nor added again, which replaces them), then the added ones; `soa`
/// replaces the old SOA at the apex. A removed record that is not there
/// is an error.
fn new_records<'a>(
    old: impl Iterator<Item = (u16, u32, &'a [u8])>,
    ch: &Change<'a>,
    soa: Option<&'a Rr>,
) -> Result<Vec<(u16, u32, &'a [u8])>, Stop> {
    let mut removed: HashSet<Key<'_>> = ch.removed.iter().map(|r| (r.rtype, r.rdata.as_slice())).collect();
    let added: HashSet<Key<'_>> = ch.added.iter().map(|r| (r.rtype, r.rdata.as_slice())).collect();
    let mut out = Vec::new();
    for (rtype, ttl, rd) in old {
        if soa.is_some() && rtype == t::SOA {
            continue;
        }
        if removed.remove(&(rtype, rd)) || added.contains(&(rtype, rd)) {
            continue;
        }
        out.push((rtype, ttl, rd));
    }
    if !removed.is_empty() {
        return Err(Stop::Errors(error(journal::JournalError::MissingRecord.to_string())));
    }
    out.extend(soa.map(|s| (s.rtype, s.ttl, s.rdata.as_slice())));
    let mut seen = HashSet::new();
    for r in ch.added.iter().rev() {
        if seen.insert((r.rtype, r.rdata.as_slice())) {
            out.push((r.rtype, r.ttl, r.rdata.as_slice()));
        }
    }
    Ok(out)
}

/// The records of node `id` of `z` (NSEC3 nodes too).
fn node_records(z: &Zone, id: u32) -> impl Iterator<Item = (u16, u32, &[u8])> + '_ {
    let first = z.node_first_rrset(id);
    (0..z.node_rrsets(id).len() as u32).flat_map(move |k| {
        let s = z.rrset(first + k);
        z.rdatas(first + k).map(move |rd| (s.rtype, s.ttl(), rd))
    })
}

fn add(nb: &mut ZoneBuilder, owner: &[u8], recs: &[(u16, u32, &[u8])]) -> Result<(), Stop> {
    for &(rtype, ttl, rdata) in recs {
        let r = Record { owner, rtype, class: c::IN, ttl, rdata, file: 0, line: 0 };
        nb.add(&r).map_err(|m| Stop::Full(format!("{}: {m}", name::to_text(owner))))?;
    }
    Ok(())
}

/// Groups the changes by owner (lowercase), NSEC3 data apart.
fn group(d: &Diff) -> (HashMap<Vec<u8>, Change<'_>>, Change<'_>) {
    let mut by_owner: HashMap<Vec<u8>, Change<'_>> = HashMap::new();
    let mut n3 = Change::default();
    for (r, rem) in d.removed.iter().map(|r| (r, true)).chain(d.added.iter().map(|r| (r, false))) {
        let c = if is_n3(r.rtype, &r.rdata) {
            &mut n3
        } else {
            by_owner.entry(name::to_lowercase(&r.owner).as_slice().to_vec()).or_default()
        };
        if rem {
            c.removed.push(r);
        } else {
            c.added.push(r);
        }
    }
    (by_owner, n3)
}

/// [`apply_diff`]'s incremental path.
fn patch(old: &Zone, d: &Diff, opts: &ReloadOptions) -> Result<Reloaded, Stop> {
    let (mut by_owner, n3) = group(d);
    by_owner.entry(old.apex().to_vec()).or_default();
    let mut nb = ZoneBuilder::new(old.apex(), opts.build());
    let mut changed: Changed = Vec::with_capacity(by_owner.len());
    for (owner, ch) in &by_owner {
        let id = old.lookup(owner);
        let soa = (owner.as_slice() == old.apex()).then_some(&d.new_soa);
        let recs = match id {
            Some(id) => new_records(node_records(old, id), ch, soa)?,
            None => new_records(std::iter::empty(), ch, soa)?,
        };
        if recs.is_empty() {
            if id.is_some() {
                changed.push((owner.clone(), None));
            }
            continue;
        }
        add(&mut nb, owner, &recs)?;
    }
    let keep_n3 = n3.removed.is_empty() && n3.added.is_empty();
    if !keep_n3 {
        for ord in 0..old.nsec3_count() {
            let id = old.nsec3_node_at(ord);
            let owner = old.nsec3_node_name(id).to_vec();
            let mine = Change {
                removed: n3.removed.iter().copied().filter(|r| name::eq_lowercase(&r.owner, &owner)).collect(),
                added: Vec::new(),
            };
            add(&mut nb, &owner, &new_records(node_records(old, id), &mine, None)?)?;
        }
        let mut seen = HashSet::new();
        for r in n3.added.iter().rev() {
            if seen.insert((name::to_lowercase(&r.owner).as_slice().to_vec(), r.rtype, r.rdata.as_slice())) {
                add(&mut nb, &r.owner, &[(r.rtype, r.ttl, r.rdata.as_slice())])?;
            }
        }
    }
    changed.extend(nb.owner_names().map(|(id, nm)| (nm.to_vec(), Some(id))));
    changed.sort_by(|a, b| name::canonical_cmp(&a.0, &b.0));
    let mut by = vec![Vec::new(); nb.owner_names().count()];
    for (i, (node, _)) in nb.raw_records().enumerate() {
        by[node as usize].push(i as u32);
    }
    let kept = Kept { by_owner: by, records: nb.raw_records().map(|(_, r)| r).collect() };
    // Nothing of a changed owner's old records is kept as matched: its
    // new records are all in the builder.
    let cursor: Vec<Vec<u32>> = old.segs.iter().map(|s| vec![0u32; s.rrsets.len()]).collect();
    let nseg = old.segs.len();
    let mark = reload::affected_segments(old, &changed, &cursor, &kept)?;
    let marked = mark.iter().filter(|&&m| m).count();
    if marked as f64 > nseg as f64 * opts.max_fraction + 1.0 {
        return Err(Stop::Full(format!("{marked} of {nseg} segments changed")));
    }
    let (mut errors, mut warnings) = (Vec::new(), Vec::new());
    let files: Vec<String> = Vec::new();
    let origin = old.apex().to_vec();
    let run = Run { old, origin: &origin, opts, files: &files, changed: &changed, cursor: &cursor, kept: &kept };
    let (segs, fresh) = run.rebuild(&mark, &mut errors, &mut warnings)?;
    if !errors.is_empty() || segs.is_empty() || segs[0].nodes.first().is_none_or(|n| !n.has(crate::nf::APEX)) {
        return Err(Stop::Full("errors in the changed names".into()));
    }
    if segs.len() >= N3_SLOT {
        return Err(Stop::Full("too many segments".into()));
    }
    drop(kept);
    let zone = reload::assemble(old, &mut nb, segs, &fresh, &changed, keep_n3, &mut errors, &mut warnings);
    if !errors.is_empty() {
        return Err(Stop::Full("errors in the changed names".into()));
    }
    let rebuilt = fresh.len();
    let kept = zone.segs.len() - rebuilt;
    Ok(Reloaded { built: crate::Built { zone, warnings }, kind: ReloadKind::Incremental { rebuilt, kept } })
}

/// What a file changes in a served version ([`file_changes`]).
#[derive(Debug)]
pub struct FileChanges {
    /// The file's SOA record.
    pub soa: Rr,
    /// Records of the served version the file does not hold (SOA and the
    /// types set aside excluded).
    pub removed: Vec<Rr>,
    /// Records of the file the served version does not hold.
    pub added: Vec<Rr>,
    /// The parse's warnings.
    pub warnings: Vec<Diagnostic>,
}

/// Compares the zone file `source` with the served version `old` while
/// parsing it, RRsets of the types for which `aside` is true (RRSIG sets
/// by their own type) ignored on both sides. A record matches one of its
/// old RRset in any order (a signed version holds its RRsets in canonical
/// order, a file in its own; [`matches_any_order`]). `Ok(None)`: more
/// than `opts.max_fraction` of the records changed (the caller builds in
/// full). Syntax errors come back as a load reports them.
pub fn file_changes(
    old: &Zone,
    source: Source<'_>,
    load: &LoadOptions,
    opts: ReloadOptions,
    aside: &dyn Fn(u16) -> bool,
) -> Result<Option<FileChanges>, Vec<Diagnostic>> {
    let origin = old.apex().to_vec();
    let limit = ((old.record_count() as f64) * opts.max_fraction) as usize + 64;
    let mut nb = ZoneBuilder::new(&origin, opts.build());
    // Per old RRset: which of its first 64 records were seen.
    let mut seen: Vec<Vec<u64>> = old.segs.iter().map(|s| vec![0u64; s.rrsets.len()]).collect();
    let mut diags = Vec::new();
    let mut too_many = false;
    let stats = crate::zonefile::parse_with(
        source,
        &origin,
        load,
        &mut |r: &Record<'_>| {
            if matches_any_order(old, &mut seen, r) {
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
        let (mut errors, mut warnings) = (Vec::new(), Vec::new());
        nb.take_problems(&mut errors, &mut warnings);
        diags.extend(errors);
        diags.extend(warnings);
        return Err(diags);
    }
    if too_many {
        return Ok(None);
    }
    changes(old, &nb, &seen, diags, aside).map(Some)
}

/// [`file_changes`] once parsed: the changed owners' old and new records.
fn changes(
    old: &Zone,
    nb: &ZoneBuilder,
    seen: &[Vec<u64>],
    diags: Vec<Diagnostic>,
    aside: &dyn Fn(u16) -> bool,
) -> Result<FileChanges, Vec<Diagnostic>> {
    // New records by owner: the kept ones.
    let mut new: HashMap<&[u8], Vec<(u16, u32, &[u8])>> = HashMap::new();
    let names: Vec<&[u8]> = nb.owner_names().map(|(_, nm)| nm).collect();
    for (node, r) in nb.raw_records() {
        if !aside(r.rtype) {
            new.entry(names[node as usize]).or_default().push((r.rtype, r.ttl, r.rdata));
        }
    }
    let mut out = FileChanges { soa: soa_of(old), removed: Vec::new(), added: Vec::new(), warnings: diags };
    let mut soa_seen = false;
    for (slot, seg) in old.segs.iter().enumerate() {
        for local in 0..seg.nodes.len() {
            let st = seg.nodes[local].rrset_start as usize;
            let sets = seg.sets(local);
            let whole = |k: usize, s: &crate::RRset| s.count <= 64 && seen[slot][st + k] == full_mask(s.count);
            if slot == 0 && local == 0 {
                soa_seen |= sets.iter().enumerate().any(|(k, s)| s.rtype == t::SOA && whole(k, s));
            }
            let changed = sets.iter().enumerate().any(|(k, s)| !aside(s.rtype) && !whole(k, s));
            let nm = seg.name(local);
            if !changed && !new.contains_key(nm) {
                continue;
            }
            let mut olds: Vec<(u16, u32, &[u8])> = Vec::new();
            let mut news = new.remove(nm).unwrap_or_default();
            for (k, s) in sets.iter().enumerate().filter(|(_, s)| !aside(s.rtype)) {
                let mask = seen[slot][st + k];
                for (i, rd) in seg.rdatas_at(st + k).enumerate() {
                    olds.push((s.rtype, s.ttl(), rd));
                    if i < 64 && mask & (1 << i) != 0 {
                        news.push((s.rtype, s.ttl(), rd));
                    }
                }
            }
            soa_seen |= record_change(&mut out, nm, olds, news, nm == old.apex());
        }
    }
    for (nm, news) in new {
        soa_seen |= record_change(&mut out, nm, Vec::new(), news, nm == old.apex());
    }
    if !soa_seen {
        return Err(error("the zone has no SOA record".into()));
    }
    Ok(out)
}

fn full_mask(count: u16) -> u64 {
    if count >= 64 {
        u64::MAX
    } else {
        (1u64 << count) - 1
    }
}

/// True if the file's record `r` is one of its old RRset's first 64
/// records, with the RRset's TTL (marked seen in `seen`); a repeat of a
/// record seen already matches too (a duplicate the build drops).
fn matches_any_order(old: &Zone, seen: &mut [Vec<u64>], r: &Record<'_>) -> bool {
    if r.rtype == t::NSEC3 || r.rtype == t::RRSIG {
        return false;
    }
    let owner = name::to_lowercase(r.owner);
    let Some(id) = old.lookup(&owner) else { return false };
    let Some(rs) = old.find(id, r.rtype) else { return false };
    let set = old.rrset(rs);
    if set.ttl() != r.ttl || set.count > 64 {
        return false;
    }
    let Some(i) = old.rdatas(rs).position(|rd| rd == r.rdata) else { return false };
    let (slot, local) = ((rs >> 16) as usize, (rs & 0xffff) as usize);
    seen[slot][local] |= 1 << i;
    true
}

fn soa_of(z: &Zone) -> Rr {
    Rr { owner: z.apex().to_vec(), rtype: t::SOA, ttl: z.rrset(z.soa()).ttl(), rdata: z.first_rdata(z.soa()).to_vec() }
}

/// Adds owner `nm`'s change (old and new records) to `out`; true if a
/// new SOA was among the new records (taken as `out.soa`).
fn record_change(
    out: &mut FileChanges,
    nm: &[u8],
    olds: Vec<(u16, u32, &[u8])>,
    news: Vec<(u16, u32, &[u8])>,
    apex: bool,
) -> bool {
    let mut soa = false;
    let o: HashSet<(u16, u32, &[u8])> = olds.iter().copied().filter(|r| !(apex && r.0 == t::SOA)).collect();
    let mut n: HashSet<(u16, u32, &[u8])> = HashSet::new();
    for r in news {
        if apex && r.0 == t::SOA {
            if !soa {
                out.soa = Rr { owner: nm.to_vec(), rtype: t::SOA, ttl: r.1, rdata: r.2.to_vec() };
            }
            soa = true;
            continue;
        }
        n.insert(r);
    }
    let rr = |r: &(u16, u32, &[u8])| Rr { owner: nm.to_vec(), rtype: r.0, ttl: r.1, rdata: r.2.to_vec() };
    out.removed.extend(o.difference(&n).map(rr));
    out.added.extend(n.difference(&o).map(rr));
    soa
}

#[cfg(test)]
mod tests {
    use crate::journal::{self, Diff, Rr};
    use crate::{apply_diff, load_with, BuildOptions, Checks, ReloadKind, ReloadOptions, Source};
    use levee_wire::name;

    fn load(text: &str) -> crate::Zone {
        let o = name::from_text("example.", None).unwrap();
        let opts = BuildOptions { checks: Checks::Warn, segment_names: 3 };
        load_with(Source::Memory { name: "t", data: text.as_bytes() }, &o, &Default::default(), opts, &mut |_| {})
            .unwrap()
            .zone
    }

    /// A difference applied incrementally (unchanged segments shared)
    /// gives the zone a full build of the new records gives: names added
    /// under new empty non-terminals, a name removed, a delegation added
    /// over existing glue-less names, a wildcard added, a TTL changed, and
    /// a record removed that is not there refused.
    #[test]
    fn a_difference_applied_in_place_equals_a_full_build() {
        let many: String = (0..60).map(|i| format!("h{i} A 10.0.0.{i}\n")).collect();
        let base = format!("$TTL 60\n@ SOA ns h 7 1 1 1 1\n@ NS ns\nns A 192.0.2.1\n{many}x.y TXT \"a\"\n");
        let old = load(&base);
        let new_text = base.replace("SOA ns h 7", "SOA ns h 8").replace("h5 A 10.0.0.5\n", "").replace(
            "h7 A 10.0.0.7",
            "h7 120 A 10.0.0.7\na.b.c A 192.0.2.9\n*.w TXT \"w\"\nd NS ns.d\nns.d A 192.0.2.8",
        );
        let new = load(&new_text);
        let d: Diff = journal::diff(&old, &new);
        let opts = ReloadOptions { max_fraction: 0.9, min_segments: 2, segment_names: 3, ..Default::default() };
        let got = apply_diff(&old, &d, opts).unwrap();
        assert!(matches!(got.kind, ReloadKind::Incremental { .. }), "{:?}", got.kind);
        assert!(got.built.zone.shared_segments(&old) > 0);
        let mut a = journal::records(&got.built.zone);
        let mut b = journal::records(&new);
        a.sort();
        b.sort();
        assert_eq!(a, b);
        assert!(got.built.zone.lookup(&name::from_text("c.example.", None).unwrap()).is_some(), "ENT made");
        // A removal of a record that is not there.
        let mut bad = d.clone();
        bad.removed.push(Rr {
            owner: name::from_text("h9.example.", None).unwrap().as_slice().to_vec(),
            rtype: 1,
            ttl: 60,
            rdata: vec![1, 2, 3, 4],
        });
        assert!(apply_diff(&old, &bad, opts).is_err());
    }
}
