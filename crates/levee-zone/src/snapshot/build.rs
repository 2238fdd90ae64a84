//! Building a [`Zone`] snapshot from parsed records, with the semantic
//! checks operators know from Knot DNS and BIND.
//!
//! The builder collects records into flat vectors (one arena for names, one
//! for RDATA, one small fixed-size entry per record), then `finish`:
//!
//! 1. adds empty non-terminals for every missing ancestor up to the apex;
//! 2. sorts the names in canonical order, lays the names and nodes out in
//!    that order, and groups the records by node (a counting sort: node
//!    ids are dense);
//! 3. computes each node's place in the tree in one pass (parents sort
//!    before children in canonical order): cut, below a cut, DNAME,
//!    below a DNAME, wildcard child;
//! 4. sizes the segments (see [`crate::snapshot::zone`]), then fills each at its
//!    exact size: records grouped into RRsets (duplicates dropped, TTL
//!    mismatches reported, RRSIGs grouped by the type they cover and
//!    linked to it), the per-name checks (SOA and NS at the apex, CNAME
//!    beside other data, occluded data, ...);
//! 5. assembles the zone (name index), then pre-links NS/MX/SRV targets
//!    segment by segment and checks glue; sorts the NSEC3 chain by hash.
//!
//! A big zone (16,384 names or records and more) uses the load's threads
//! (`LoadOptions::threads`) in the steps whose parts are independent
//! ([`crate::snapshot::par`]): the canonical sort (a radix pass on runs
//! of names, then runs of buckets sorted: [`crate::snapshot::order`]), the
//! names laid out in order (runs of the order), the tree flags (runs of
//! nodes, each started from the branch above its first node), the fill
//! (runs of segments), the name index (names hashed per run of segments,
//! the index filled per region of its slots) and the links (per run of
//! segments, on the assembled zone, installed in slot order). The parts'
//! results are joined in order, so the segments and the diagnostics (and
//! their order) are the one-thread build's. The grouping by node counts
//! the records on one thread, then places them and sorts each node's few
//! records on the threads (runs of nodes); the empty non-terminals run on
//! one thread.
//!
//! Steps 1 to 4 also build one *range* of a zone (`Range`) for an
//! incremental reload ([`crate::snapshot::reload`]): ancestors before the range come
//! from the served zone, and the first name after it keeps the empty
//! non-terminals above it.

use std::path::Path;

use hashbrown::HashTable;

use crate::snapshot::intern::{NameTable, Pending};
use levee_wire::name;
use levee_wire::rtype::{self, t};

use crate::zonefile::parser::{self, Diagnostic, Record};
use crate::zonefile::source::Source;
use crate::zonefile::timings::{self, Lap, Phase};
use std::sync::Arc;

use crate::snapshot::zone::{self, fits, form, linked, Form};
use crate::snapshot::zone::{
    hash_name, make_id, nf, Nsec3Block, Nsec3Entry, Nsec3Param, RRset, Segment, Zone, LOCAL_BITS, N3_SLOT, REMOTE,
    SEG_MAX, SIGNED,
};
use crate::snapshot::{order, par};

/// 32 bits of a name's [`hash_name`], the key of a [`NameTable`].
fn short_hash(n: &[u8]) -> u32 {
    hash_name(n) as u32
}

/// True if `n` is `origin` or below it, both lowercase ([`name::is_subdomain`]
/// without its case folding: an octet comparison of the suffix).
fn below_or_at(n: &[u8], origin: &[u8]) -> bool {
    let mut s = n;
    while s.len() > origin.len() {
        s = name::parent(s);
    }
    s == origin
}

/// Names whose reads [`ZoneBuilder::copy_names`] makes together.
const COPY_BATCH: usize = 16;

/// The node of a record whose owner waits in [`ZoneBuilder::pending`].
const PENDING: u32 = u32::MAX;

/// One record while building.
#[derive(Clone, Copy)]
struct BRec {
    node: u32,
    rtype: u16,
    covers: u16,
    ttl: u32,
    off: u32,
    len: u16,
    file: u16,
    line: u32,
}

/// A record's fields besides its owner.
#[derive(Clone, Copy)]
pub(crate) struct RawRec<'a> {
    pub(crate) rtype: u16,
    pub(crate) covers: u16,
    pub(crate) ttl: u32,
    pub(crate) rdata: &'a [u8],
    pub(crate) file: u16,
    pub(crate) line: u32,
}

/// Collects records of one zone.
pub(crate) struct ZoneBuilder {
    origin: Vec<u8>,
    names: Vec<u8>,
    name_offs: Vec<(u32, u8)>,
    index: NameTable,
    recs: Vec<BRec>,
    data: Vec<u8>,
    n3_names: Vec<u8>,
    n3_offs: Vec<(u32, u8)>,
    n3_index: NameTable,
    n3_recs: Vec<BRec>,
    /// (file index, line, message, warning)
    problems: Vec<(u16, u32, String, bool)>,
    files: Vec<String>,
    opts: BuildOptions,
    /// The stopwatch of a timed load (`LoadOptions::timings`), from the
    /// start of [`ZoneBuilder::finish`].
    lap: Option<Lap>,
    /// The id of the last name interned by `add` or `add_raw` (not
    /// NSEC3): records come grouped by owner, so most records after the
    /// first of a name find it here without hashing and probing the table.
    last: Option<u32>,
    /// The owner as written (case kept) of the last record `add` gave
    /// the id `last`, or empty: a record written with the same owner (the
    /// NS records of a delegation, the A and AAAA of its glue) is that
    /// name, lowercased, checked and interned already.
    last_raw: Vec<u8>,
    /// A fresh load's owners waiting to be interned (`None`: each is
    /// interned as it comes); their records have the node [`PENDING`].
    pending: Option<Pending>,
    /// Threads the build may use (`LoadOptions::threads`): the steps
    /// named in the module documentation run on that many when it is
    /// above 1 and the zone is big.
    threads: usize,
}

/// What the semantic checks that the references disagree on do to a
/// zone: no NS records at the apex, and an in-zone name server (of the
/// apex or of a delegation) without an address. Knot DNS and NSD load
/// such a zone and warn; BIND refuses it.
///
/// The default is [`Checks::Warn`]: a provider serving many customers'
/// zones keeps a zone with one of these mistakes on the air (its other
/// data is fine, and resolvers cope: a missing glue address is looked up,
/// a missing apex NS set only matters to the parent's delegation), rather
/// than taking it down or keeping a stale version until someone notices.
/// Everything else that makes a zone unusable (syntax, no SOA, CNAME
/// beside other data, two CNAMEs or DNAMEs at a name) is an error in
/// both modes, as in all three references.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Checks {
    /// Report the problems as warnings and load the zone (Knot DNS, NSD).
    #[default]
    Warn,
    /// Refuse the zone (BIND).
    Strict,
}

impl Checks {
    /// True when the policy's problems are warnings.
    pub fn warns(self) -> bool {
        self == Checks::Warn
    }
}

/// Names in one segment unless a build says otherwise, and the most it
/// may ask for (a zone's names are cut into segments, each shared by
/// consecutive versions unless a reload rebuilds it).
pub const SEGMENT_NAMES: usize = 4096;

/// How a zone is built: the semantic-check policy and the size of its
/// segments. A [`Checks`] alone converts to the options with that policy
/// and the default segment size, so `load_with(.., Checks::Strict, ..)`
/// reads as it always did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BuildOptions {
    /// The semantic-check policy.
    pub checks: Checks,
    /// Names per segment (the apex has a segment of its own), from 1 to
    /// [`SEGMENT_NAMES`] (other values are clamped). A segment is what a
    /// reload shares or rebuilds; tests build zones of a few dozen names
    /// with segments of 3 so that segment boundaries are exercised.
    pub segment_names: usize,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions { checks: Checks::default(), segment_names: SEGMENT_NAMES }
    }
}

impl From<Checks> for BuildOptions {
    fn from(checks: Checks) -> Self {
        BuildOptions { checks, ..BuildOptions::default() }
    }
}

impl BuildOptions {
    /// Names per segment, within the bounds.
    fn names_per_segment(&self) -> usize {
        self.segment_names.clamp(1, SEGMENT_NAMES)
    }
}

/// The result of a successful build: the zone and its warnings.
pub struct Built {
    /// The zone.
    pub zone: Zone,
    /// Warnings (nothing that stops the zone from loading).
    pub warnings: Vec<Diagnostic>,
}

/// Loads and checks a zone file. Errors (and warnings) come back as
/// diagnostics with file and line when the zone cannot be used.
pub fn load_file(path: &Path, origin: &[u8]) -> Result<Built, Vec<Diagnostic>> {
    load(Source::File(path), origin)
}

/// Loads and checks a zone from any source, with the default budgets and
/// build options.
pub fn load(source: Source<'_>, origin: &[u8]) -> Result<Built, Vec<Diagnostic>> {
    load_with(source, origin, &parser::LoadOptions::default(), Checks::default(), &mut |_| {})
}

/// Records between two calls of a load's progress callback.
pub(crate) const PROGRESS_EVERY: u64 = 1 << 20;

/// Loads and checks a zone with explicit budgets and I/O watch (`opts`)
/// and build options (`build`: a [`BuildOptions`], or only the
/// semantic-check policy, a [`Checks`]), calling `progress` with the
/// number of records read every 2^20 records (for the log of a big
/// zone's load).
pub fn load_with(
    source: Source<'_>,
    origin: &[u8],
    opts: &parser::LoadOptions,
    build: impl Into<BuildOptions>,
    progress: &mut dyn FnMut(u64),
) -> Result<Built, Vec<Diagnostic>> {
    let mut b = ZoneBuilder::new(origin, build.into());
    b.expect(source.size_hint(opts.watch.as_deref()).min(opts.max_bytes), opts.max_records);
    b.batch_owners();
    let mut diags = Vec::new();
    let mut n = 0u64;
    let stats = crate::zonefile::parse_with(
        source,
        origin,
        opts,
        &mut |r: &Record<'_>| {
            n += 1;
            if n % PROGRESS_EVERY == 0 {
                progress(n);
            }
            b.add(r)
        },
        &mut diags,
    );
    b.files = stats.files;
    b.lap = opts.timings.as_ref().map(Lap::new);
    b.threads = opts.threads;
    b.finish(diags)
}

impl ZoneBuilder {
    /// A builder for the zone at `origin`.
    pub(crate) fn new(origin: &[u8], opts: BuildOptions) -> Self {
        let mut lo = origin.to_vec();
        name::lowercase_in_place(&mut lo);
        ZoneBuilder {
            origin: lo,
            names: Vec::new(),
            name_offs: Vec::new(),
            index: NameTable::default(),
            recs: Vec::new(),
            data: Vec::new(),
            n3_names: Vec::new(),
            n3_offs: Vec::new(),
            n3_index: NameTable::default(),
            n3_recs: Vec::new(),
            problems: Vec::new(),
            files: Vec::new(),
            opts,
            lap: None,
            last: None,
            last_raw: Vec::new(),
            pending: None,
            threads: 1,
        }
    }

    /// Sizes the tables for a zone file of `bytes` octets (at most
    /// `max_records` records), so that the load of a large zone neither
    /// grows nor rehashes them: by the benchmark TLDs (38 octets of text a
    /// record, 62 a name, a fifth of the text in names, under half in
    /// RDATA) with room to spare. Vectors only reserve (pages never
    /// written cost no memory). The name table's pages are written as
    /// names land in them, so it is sized for the names expected (8
    /// octets a slot, 1.3 to 2.7 slots a name: a sixth to a third of the
    /// text's size however few names the text holds) and grows past that.
    fn expect(&mut self, bytes: u64, max_records: u64) {
        let bytes = usize::try_from(bytes).unwrap_or(usize::MAX);
        let records = (bytes / 32).min(usize::try_from(max_records).unwrap_or(usize::MAX));
        self.recs.reserve(records);
        self.data.reserve(bytes / 2);
        self.names.reserve(bytes / 4);
        self.name_offs.reserve(bytes / 48);
        self.index = NameTable::with_names(bytes / 64);
    }

    fn intern(names: &mut Vec<u8>, offs: &mut Vec<(u32, u8)>, index: &mut NameTable, n: &[u8]) -> u32 {
        Self::intern_hashed(names, offs, index, n, short_hash(n))
    }

    /// [`Self::intern`] of `n` whose [`short_hash`] is `h`.
    fn intern_hashed(names: &mut Vec<u8>, offs: &mut Vec<(u32, u8)>, index: &mut NameTable, n: &[u8], h: u32) -> u32 {
        // The name is read only when the hashes agree.
        let found = index.find(h, |id| {
            let (o, l) = offs[id as usize];
            &names[o as usize..o as usize + l as usize] == n
        });
        if let Some(id) = found {
            return id;
        }
        let id = offs.len() as u32;
        offs.push((names.len() as u32, n.len() as u8));
        names.extend_from_slice(n);
        index.insert(h, id);
        id
    }

    /// Interns owners in batches from now on (a fresh load through
    /// [`load_with`]: see [`crate::snapshot::intern`]); the builder's
    /// other users see each owner interned as it comes.
    fn batch_owners(&mut self) {
        self.pending = Some(Pending::default());
    }

    /// Interns the owners waiting, in the order they came, and gives
    /// their records their ids.
    fn flush(&mut self) {
        let Some(p) = self.pending.as_mut() else { return };
        if p.len() == 0 {
            return;
        }
        p.touch(&self.index);
        let end = self.recs.len();
        for k in 0..p.len() {
            let (n, h, from) = p.get(k);
            let to = if k + 1 < p.len() { p.get(k + 1).2 as usize } else { end };
            let id = Self::intern_hashed(&mut self.names, &mut self.name_offs, &mut self.index, n, h);
            for r in &mut self.recs[from as usize..to] {
                debug_assert_eq!(r.node, PENDING);
                r.node = id;
            }
            self.last = Some(id);
        }
        p.clear();
    }

    /// The id of `n` (lowercase) among the normal names, added if new:
    /// the last name's id when `n` is the last name (most records; no
    /// hashing), else [`Self::intern`]'s.
    fn owner_id(&mut self, n: &[u8]) -> u32 {
        if let Some(id) = self.last.filter(|&id| self.name_of(id) == n) {
            return id;
        }
        let id = Self::intern(&mut self.names, &mut self.name_offs, &mut self.index, n);
        self.last = Some(id);
        id
    }

    fn name_of(&self, id: u32) -> &[u8] {
        let (o, l) = self.name_offs[id as usize];
        &self.names[o as usize..o as usize + l as usize]
    }

    fn find_name(&self, n: &[u8]) -> Option<u32> {
        let h = short_hash(n);
        self.index.find(h, |id| self.name_of(id) == n)
    }

    /// Adds one record already checked and lowercased (an incremental
    /// reload's records; never NSEC3 data).
    pub(crate) fn add_raw(&mut self, owner: &[u8], r: RawRec<'_>) {
        self.flush();
        self.last_raw.clear();
        let off = self.data.len() as u32;
        self.data.extend_from_slice(r.rdata);
        let id = self.owner_id(owner);
        self.recs.push(BRec {
            node: id,
            rtype: r.rtype,
            covers: r.covers,
            ttl: r.ttl,
            off,
            len: r.rdata.len() as u16,
            file: r.file,
            line: r.line,
        });
    }

    /// The records collected so far (normal ones, not NSEC3), file order.
    pub(crate) fn raw_records(&self) -> impl Iterator<Item = (u32, RawRec<'_>)> + '_ {
        debug_assert!(self.pending.as_ref().is_none_or(|p| p.len() == 0));
        self.recs.iter().map(move |r| {
            (
                r.node,
                RawRec {
                    rtype: r.rtype,
                    covers: r.covers,
                    ttl: r.ttl,
                    rdata: &self.data[r.off as usize..r.off as usize + r.len as usize],
                    file: r.file,
                    line: r.line,
                },
            )
        })
    }

    /// Number of collected records (NSEC3 ones included).
    pub(crate) fn len(&self) -> usize {
        self.recs.len() + self.n3_recs.len()
    }

    /// Names of the collected normal records: (id, lowercase name).
    pub(crate) fn owner_names(&self) -> impl Iterator<Item = (u32, &[u8])> + '_ {
        debug_assert!(self.pending.as_ref().is_none_or(|p| p.len() == 0));
        (0..self.name_offs.len() as u32).map(move |i| (i, self.name_of(i)))
    }

    /// True if NSEC3 records were collected.
    pub(crate) fn has_n3(&self) -> bool {
        !self.n3_recs.is_empty()
    }

    /// The file names diagnostics refer to.
    pub(crate) fn files(&self) -> &[String] {
        &self.files
    }

    /// Sets the file names diagnostics refer to.
    pub(crate) fn set_files(&mut self, files: Vec<String>) {
        self.files = files;
    }

    /// Adds one record (the parser's sink).
    pub(crate) fn add(&mut self, r: &Record<'_>) -> parser::SinkResult {
        let plain = r.rtype != t::RRSIG && r.rtype != t::NSEC3 && r.rdata.len() <= u16::MAX as usize;
        if let Some(id) = self.last.filter(|_| plain && self.last_raw.as_slice() == r.owner) {
            let off = self.data.len() as u32;
            self.data.extend_from_slice(r.rdata);
            let len = r.rdata.len() as u16;
            self.recs.push(BRec {
                node: id,
                rtype: r.rtype,
                covers: 0,
                ttl: r.ttl,
                off,
                len,
                file: r.file,
                line: r.line,
            });
            return Ok(());
        }
        let owner = name::to_lowercase(r.owner);
        if !below_or_at(&owner, &self.origin) {
            self.problems.push((
                r.file,
                r.line,
                format!(
                    "record {} {} is outside the zone, ignored",
                    name::to_text(r.owner),
                    rtype::type_to_text(r.rtype)
                ),
                true,
            ));
            return Ok(());
        }
        if r.rdata.len() > u16::MAX as usize {
            return Err("RDATA too long".into());
        }
        let covers = if r.rtype == t::RRSIG {
            if r.rdata.len() < 18 {
                return Err("RRSIG RDATA too short".into());
            }
            u16::from_be_bytes([r.rdata[0], r.rdata[1]])
        } else {
            0
        };
        let off = self.data.len() as u32;
        self.data.extend_from_slice(r.rdata);
        let is_n3 = r.rtype == t::NSEC3 || (r.rtype == t::RRSIG && covers == t::NSEC3);
        let rec = |node| BRec {
            node,
            rtype: r.rtype,
            covers,
            ttl: r.ttl,
            off,
            len: r.rdata.len() as u16,
            file: r.file,
            line: r.line,
        };
        if is_n3 {
            let id = Self::intern(&mut self.n3_names, &mut self.n3_offs, &mut self.n3_index, &owner);
            self.n3_recs.push(rec(id));
        } else {
            let at = self.recs.len() as u32;
            let full = match self.pending.as_mut() {
                Some(p) => {
                    self.recs.push(rec(PENDING));
                    self.last = Some(PENDING);
                    p.push(&owner, short_hash(&owner), at)
                }
                None => {
                    let id = self.owner_id(&owner);
                    self.recs.push(rec(id));
                    false
                }
            };
            self.last_raw.clear();
            self.last_raw.extend_from_slice(r.owner);
            if full {
                self.flush();
            }
        }
        Ok(())
    }

    /// Checks the collected records and builds the snapshot.
    pub(crate) fn finish(mut self, mut diags: Vec<Diagnostic>) -> Result<Built, Vec<Diagnostic>> {
        let origin = self.origin.clone();
        let mut errors: Vec<Diagnostic> = Vec::new();
        let mut warnings: Vec<Diagnostic> = Vec::new();
        let parts = self.finish_segments(None, &mut errors, &mut warnings);
        let Some((segs, first_lines)) = parts else {
            diags.extend(errors);
            diags.extend(warnings);
            return Err(diags);
        };
        let (n3, nsec3param) = self.build_n3(&nsec3params_of(&segs[0]), &mut warnings);
        timings::lap(&mut self.lap, Phase::Nsec3);
        let segs = segs.into_iter().map(Arc::new).collect();
        let mut zone = Zone::assemble_on(origin, segs, Arc::new(n3), nsec3param, self.threads);
        timings::lap(&mut self.lap, Phase::Index);
        let mut glue = Vec::new();
        link_all(&mut zone, &first_lines, &self.files, self.threads, &mut glue);
        self.policy(glue, &mut errors, &mut warnings);
        timings::lap(&mut self.lap, Phase::Link);
        let mut lap = self.lap.take();
        drop(self);
        timings::lap(&mut lap, Phase::Free);
        if !errors.is_empty() {
            diags.extend(errors);
            diags.extend(warnings);
            return Err(diags);
        }
        if diags.iter().any(|d| !d.warning) {
            diags.extend(warnings);
            return Err(diags);
        }
        warnings.extend(diags);
        Ok(Built { zone, warnings })
    }

    /// Files the problems of [`Checks`] as errors or warnings.
    pub(crate) fn policy(&self, found: Vec<Diagnostic>, errors: &mut Vec<Diagnostic>, warnings: &mut Vec<Diagnostic>) {
        for mut d in found {
            if self.opts.checks.warns() {
                d.warning = true;
                warnings.push(d);
            } else {
                errors.push(d);
            }
        }
    }

    /// The builder's own problems (from `add`) as diagnostics.
    pub(crate) fn take_problems(&mut self, errors: &mut Vec<Diagnostic>, warnings: &mut Vec<Diagnostic>) {
        for (file, line, msg, warn) in std::mem::take(&mut self.problems) {
            let d = diag_in(&self.files, file, line, msg, warn);
            if warn {
                warnings.push(d)
            } else {
                errors.push(d)
            }
        }
    }

    /// Builds the segments of the collected names (all of the zone, or
    /// one range of it for an incremental reload): empty non-terminals,
    /// canonical order, RRsets, tree flags and the per-name checks. Links
    /// and glue checks need the whole zone and come later
    /// ([`link_segment`]). `None` when an error makes the zone unusable
    /// before it can be assembled (no SOA).
    pub(crate) fn finish_segments(
        &mut self,
        range: Option<&Range<'_>>,
        errors: &mut Vec<Diagnostic>,
        warnings: &mut Vec<Diagnostic>,
    ) -> Option<(Vec<Segment>, Lines)> {
        self.flush();
        let origin = self.origin.clone();
        let with_apex = range.is_none_or(|r| r.lo == origin.as_slice());
        let lo: &[u8] = range.map_or(&origin[..], |r| r.lo);
        let hi: Option<&[u8]> = range.and_then(|r| r.hi);

        // 1. Empty non-terminals.
        let probe = self.add_empty_non_terminals(with_apex, lo, hi);
        timings::lap(&mut self.lap, Phase::Ents);
        // 2. Canonical order, without the probe.
        let mut order = self.canonical_order();
        if let Some(p) = probe {
            debug_assert_eq!(order.last(), Some(&p));
            order.pop();
        }
        timings::lap(&mut self.lap, Phase::Sort);
        let (zone_names, mut nodes, (order, names)) = self.nodes_in_order(order);
        timings::lap(&mut self.lap, Phase::Nodes);
        if nodes.is_empty() {
            return Some((Vec::new(), Lines::default()));
        }
        // 3. Records grouped by node and type.
        let recs = self.records_by_node(order, names);
        timings::lap(&mut self.lap, Phase::Group);
        // 4. Tree flags.
        let parts = if nodes.len() < par::PAR_MIN { 1 } else { self.threads };
        set_tree_flags(&origin, &zone_names, &mut nodes, &recs, range, parts);
        timings::lap(&mut self.lap, Phase::Flags);
        // 5. Segments: sized first, then filled.
        let plan = plan_segments(&nodes, &recs, self.opts.names_per_segment());
        let (segs, lines, soa) = self.fill_segments(&plan, &zone_names, &nodes, &recs, errors, warnings)?;
        drop(recs);
        timings::lap(&mut self.lap, Phase::Fill);
        self.take_problems(errors, warnings);
        if with_apex {
            self.check_apex(&segs, &lines, soa, errors, warnings)?;
        }
        timings::lap(&mut self.lap, Phase::Apex);
        Some((segs, lines))
    }

    /// Step 1: every ancestor of a name down to the apex becomes a name
    /// (an empty non-terminal unless it has records). In a range: down to
    /// the range's start (`lo`), and the first name after the range (`hi`)
    /// is added as a probe so the ENTs above it are kept; its id is
    /// returned.
    fn add_empty_non_terminals(&mut self, with_apex: bool, lo: &[u8], hi: Option<&[u8]>) -> Option<u32> {
        let origin = &self.origin;
        if with_apex {
            Self::intern(&mut self.names, &mut self.name_offs, &mut self.index, origin);
        }
        let probe = hi.map(|h| Self::intern(&mut self.names, &mut self.name_offs, &mut self.index, h));
        let mut i = 0;
        let mut buf = [0u8; 256];
        while i < self.name_offs.len() {
            let (o, l) = self.name_offs[i];
            buf[..l as usize].copy_from_slice(&self.names[o as usize..o as usize + l as usize]);
            let n = &buf[..l as usize];
            let mut p = name::parent(n);
            // The parent is often the name before (`ns1.d.tld.` comes
            // after `d.tld.` in a file): known to exist without a lookup.
            if i > 0 && self.name_of(i as u32 - 1) == p {
                i += 1;
                continue;
            }
            while p.len() > origin.len() {
                if name::canonical_cmp(p, lo).is_lt() || self.find_name(p).is_some() {
                    break;
                }
                Self::intern(&mut self.names, &mut self.name_offs, &mut self.index, p);
                p = name::parent(p);
            }
            i += 1;
        }
        probe
    }

    /// Step 2: the name ids in canonical order ([`order::sort_ids`]: a
    /// radix pass on the first octets of the names' canonical keys, then
    /// each bucket sorted, on the load's threads).
    fn canonical_order(&self) -> Vec<u32> {
        let origin_key = {
            let mut k = Vec::new();
            name::canonical_key(&self.origin, &mut k);
            k.len()
        };
        let name_of = |id: u32| self.name_of(id);
        order::sort_ids(
            self.name_offs.len() as u32,
            self.threads,
            |ids| order::canonical_heads(&name_of, origin_key, ids),
            |a, b| name::canonical_cmp(name_of(a), name_of(b)),
        )
    }

    /// The names and nodes in canonical `order`, and `order` with the
    /// number of name ids (for [`Self::records_by_node`]). The builder's own name tables are freed before the
    /// records are grouped, so the peak of a load stays close to the final
    /// size. A big zone's names are copied on `threads` threads, each a
    /// run of `order`, the runs joined in order.
    #[allow(clippy::type_complexity)]
    fn nodes_in_order(&mut self, order: Vec<u32>) -> (Vec<u8>, Vec<Node>, (Vec<u32>, usize)) {
        let threads = if order.len() < par::PAR_MIN { 1 } else { self.threads.max(1) };
        let per = order.len().div_ceil(threads).max(1);
        // The first run's vectors get room for all, so joining the other
        // runs to them moves nothing.
        let runs: Vec<(&[u32], usize, usize)> = order
            .chunks(per)
            .enumerate()
            .map(|(k, c)| {
                if k == 0 {
                    (c, self.names.len(), order.len())
                } else {
                    (c, self.names.len() / threads + 256, c.len())
                }
            })
            .collect();
        let this = &*self;
        let mut parts = par::on_threads(runs, |(run, names, nodes)| this.copy_names(run, names, nodes)).into_iter();
        let (mut zone_names, mut nodes) = parts.next().unwrap_or_default();
        for (names, more) in parts {
            let base = zone_names.len() as u32;
            nodes.extend(more.into_iter().map(|n| Node { name_off: n.name_off + base, ..n }));
            zone_names.extend_from_slice(&names);
        }
        let names = self.name_offs.len();
        self.names = Vec::new();
        self.name_offs = Vec::new();
        self.index = NameTable::default();
        self.last = None;
        (zone_names, nodes, (order, names))
    }

    /// The names of `run` (name ids) one after the other, and their nodes
    /// (offsets from the start of the run's names), in vectors with room
    /// for `names` octets and `nodes` nodes.
    ///
    /// The ids come in canonical order, the names lie in file order: two
    /// reads at random a name (its offset, then its octets). They are made
    /// [`COPY_BATCH`] names at a time, first every offset of the batch,
    /// then the first octet of every name, so that the batch's cache
    /// misses overlap (as the intake's batches do,
    /// [`crate::snapshot::intern`]), then the names copied from the cache.
    fn copy_names(&self, run: &[u32], names: usize, nodes: usize) -> (Vec<u8>, Vec<Node>) {
        let mut zone_names = Vec::with_capacity(names);
        let mut out: Vec<Node> = Vec::with_capacity(nodes);
        let mut at = [(0u32, 0u8); COPY_BATCH];
        for batch in run.chunks(COPY_BATCH) {
            for (a, &old) in at.iter_mut().zip(batch) {
                *a = self.name_offs[old as usize];
            }
            let mut seen = 0u8;
            for &(o, _) in &at[..batch.len()] {
                seen ^= self.names[o as usize];
            }
            std::hint::black_box(seen);
            for &(o, l) in &at[..batch.len()] {
                let n = &self.names[o as usize..o as usize + l as usize];
                out.push(Node::named(zone_names.len(), n));
                zone_names.extend_from_slice(n);
            }
        }
        (zone_names, out)
    }

    /// Step 3: the records grouped by node (`order`: the name id of each
    /// node; `names`: the number of name ids) and type, in file order
    /// within a type (the data offset grows with the file). Node ids are
    /// dense, so this is a counting sort: the records of each name counted,
    /// each node's place from the counts in canonical order, each record
    /// copied to its name's next place, then each node's few records given
    /// its id and sorted by type and offset. Name ids grow along the file,
    /// as the records do, so the one access at random per record is the
    /// copy's write, and they are independent of each other. (Swapping the
    /// records into place instead saves the copy but chains a cache miss
    /// on each swap: 1.3 s for 3.25M records.) The copy is 24 octets a
    /// record, made while the builder's names are freed already and no
    /// segment exists yet: below the load's peak, which is the fill's.
    ///
    /// A big zone's places are cut into runs of nodes, one a thread
    /// ([`place_run`]): each run reads every record and copies those whose
    /// place is in its run (each with its own copy of the next places, 4
    /// octets a name), then sorts its nodes' records, so the writes at
    /// random are shared between the threads.
    fn records_by_node(&mut self, order: Vec<u32>, names: usize) -> Vec<BRec> {
        let recs = std::mem::take(&mut self.recs);
        // at[id]: UNPLACED | the count of name id's records, then (when
        // the name is a node) its next place. A record of a name that is
        // not a node (a range's probe; it has none) is left out.
        let mut at = vec![UNPLACED; names];
        for r in &recs {
            at[r.node as usize] += 1;
        }
        let mut ends = Vec::with_capacity(order.len());
        let mut acc = 0u32;
        for &id in &order {
            let count = at[id as usize] & !UNPLACED;
            at[id as usize] = acc;
            acc += count;
            ends.push(acc);
        }
        drop(order);
        let blank = BRec { node: 0, rtype: 0, covers: 0, ttl: 0, off: 0, len: 0, file: 0, line: 0 };
        let mut sorted = vec![blank; acc as usize];
        let threads = if sorted.len() < par::PAR_MIN { 1 } else { self.threads.max(1) };
        let per = ends.len().div_ceil(threads).max(1);
        let parts = ends.len().div_ceil(per).max(1);
        // The next places: one copy a run, the last run takes `at`.
        let mut cursors: Vec<Vec<u32>> = (1..parts).map(|_| at.clone()).collect();
        cursors.push(at);
        let mut runs = Vec::with_capacity(parts);
        let mut rest = &mut sorted[..];
        let mut first = 0usize;
        let start_of = |node: usize| if node == 0 { 0 } else { ends[node - 1] as usize };
        for (part, cursor) in ends.chunks(per).zip(cursors) {
            let end = part.last().map_or(0, |&e| e as usize);
            let (mine, more) = std::mem::take(&mut rest).split_at_mut(end - start_of(first));
            runs.push((first, start_of(first), part, mine, cursor));
            rest = more;
            first += part.len();
        }
        let recs = &recs[..];
        par::on_threads(runs, |(first, base, part, mine, cursor)| place_run(recs, first, base, part, mine, cursor));
        sorted
    }

    /// Step 5, filling: each node's records grouped into RRsets (RRSIG
    /// sets linked to the set they cover) in the segments `plan` sized,
    /// and the per-name checks. Returns the segments, the first line of
    /// each RRset and the apex's SOA set (`Some(None)`: the apex has none;
    /// `None`: the range has no apex). `None` when a name has too many
    /// RRsets.
    ///
    /// Segments are independent given the plan: a big zone's plan is cut
    /// into runs of segments of about equal weight, each filled on a
    /// thread of its own ([`Self::fill_run`]), and the runs' segments,
    /// lines and diagnostics are joined in run order: the one-thread result.
    #[allow(clippy::type_complexity)]
    fn fill_segments(
        &self,
        plan: &[SegPlan],
        zone_names: &[u8],
        nodes: &[Node],
        recs: &[BRec],
        errors: &mut Vec<Diagnostic>,
        warnings: &mut Vec<Diagnostic>,
    ) -> Option<(Vec<Segment>, Lines, Option<Option<usize>>)> {
        let threads = if recs.len() < par::PAR_MIN { 1 } else { self.threads.max(1) };
        let starts = par::cut(plan.iter().map(|p| p.rrsets + p.names / 16 + 1), threads);
        let all_lines: usize = plan.iter().map(|p| p.rrsets).sum();
        let runs: Vec<(usize, usize)> =
            starts.iter().enumerate().map(|(k, &a)| (a, starts.get(k + 1).copied().unwrap_or(plan.len()))).collect();
        let fill = |(a, b): (usize, usize)| {
            let first = if a == 0 { 0 } else { plan[a - 1].end };
            let r0 = recs.partition_point(|r| (r.node as usize) < first);
            // The first run's lines get room for all: joining moves nothing.
            let room = if a == 0 { all_lines } else { plan[a..b].iter().map(|p| p.rrsets).sum() };
            self.fill_run(&plan[a..b], first, zone_names, nodes, recs, r0, room)
        };
        let parts = par::on_threads(runs, fill);
        let mut segs: Vec<Segment> = Vec::with_capacity(plan.len());
        let mut lines = Lines::default();
        let mut problems = Vec::new();
        let mut soa_count = None;
        for part in parts {
            let base = lines.all.len();
            if base == 0 {
                lines.all = part.lines;
            } else {
                lines.all.extend_from_slice(&part.lines);
            }
            lines.starts.extend(part.starts.iter().map(|&s| s + base));
            segs.extend(part.segs);
            errors.extend(part.errors);
            warnings.extend(part.warnings);
            problems.extend(part.problems);
            soa_count = soa_count.or(part.soa);
            if part.failed {
                return None;
            }
        }
        for (file, line, msg, warn) in problems {
            let d = diag_in(&self.files, file, line, msg, warn);
            if warn {
                warnings.push(d)
            } else {
                errors.push(d)
            }
        }
        Some((segs, lines, soa_count))
    }

    /// One run of step 5: the segments of `plan` (a run of the whole
    /// plan), whose first node is `first` and first record `recs[r]`; the
    /// lines in a vector with room for `room`.
    #[allow(clippy::too_many_arguments, clippy::needless_range_loop)]
    fn fill_run(
        &self,
        plan: &[SegPlan],
        first: usize,
        zone_names: &[u8],
        nodes: &[Node],
        recs: &[BRec],
        mut r: usize,
        room: usize,
    ) -> FillRun {
        let mut out = FillRun {
            segs: Vec::with_capacity(plan.len()),
            lines: Vec::with_capacity(room),
            starts: Vec::with_capacity(plan.len()),
            ..FillRun::default()
        };
        let (errors, warnings) = (&mut out.errors, &mut out.warnings);
        let mut start = first;
        for p in plan {
            let mut seg = Segment {
                names: Vec::with_capacity(p.names),
                nodes: Vec::with_capacity(p.end - start),
                rrsets: Vec::with_capacity(p.rrsets),
                data: Vec::with_capacity(p.data),
                ..Segment::default()
            };
            let line0 = out.lines.len();
            out.starts.push(line0);
            for id in start..p.end {
                let r0 = r;
                while r < recs.len() && recs[r].node == id as u32 {
                    r += 1;
                }
                let mut n = nodes[id];
                let nm = node_name(zone_names, &n);
                n.name_off = seg.names.len() as u32;
                seg.names.extend_from_slice(nm);
                n.rrset_start = seg.rrsets.len() as u16;
                let mut records = 0u64;
                group(
                    &recs[r0..r],
                    &self.data,
                    &mut seg.rrsets,
                    &mut seg.data,
                    &mut out.lines,
                    &mut records,
                    &mut out.problems,
                    |_, _| {},
                );
                seg.records += records;
                let cnt = seg.rrsets.len() - n.rrset_start as usize;
                if cnt > u16::MAX as usize || seg.rrsets.len() > SEG_MAX - 1 {
                    errors.push(diag_in(
                        &self.files,
                        recs[r0].file,
                        recs[r0].line,
                        "too many RRsets at one name".into(),
                        false,
                    ));
                    out.failed = true;
                    return out;
                }
                n.rrset_count = cnt as u16;
                let s = n.rrset_start as usize;
                let e = seg.rrsets.len();
                link_signatures(&mut seg.rrsets[s..e], &seg.data);
                if n.has(nf::NSEC) {
                    seg.nsec_nodes += 1;
                }
                if n.has(nf::APEX) {
                    out.soa = Some((s..e).find(|&i| seg.rrsets[i].rtype == t::SOA));
                }
                let fl = &out.lines[line0 + s..line0 + e];
                self.check_node(&n, nm, &seg.rrsets[s..e], fl, errors, warnings);
                seg.nodes.push(n.packed());
            }
            out.segs.push(seg);
            start = p.end;
        }
        out
    }

    /// The apex's checks: exactly one SOA record (none: `None`, the zone
    /// cannot be assembled), and NS records (their absence is filed by
    /// the [`Checks`] policy).
    fn check_apex(
        &self,
        segs: &[Segment],
        lines: &Lines,
        soa: Option<Option<usize>>,
        errors: &mut Vec<Diagnostic>,
        warnings: &mut Vec<Diagnostic>,
    ) -> Option<()> {
        let origin = &self.origin;
        let main_file = self.files.first().cloned().unwrap_or_else(|| "<zone>".into());
        let apex_sets = segs[0].sets(0);
        match soa.flatten() {
            None => {
                errors.push(Diagnostic {
                    file: main_file.clone(),
                    line: 0,
                    message: format!("no SOA record at the zone apex {}", name::to_text(origin)),
                    warning: false,
                });
                return None;
            }
            Some(i) => {
                if segs[0].rrsets[i].count > 1 {
                    let (f, l) = lines.seg(0)[i];
                    errors.push(diag_in(&self.files, f, l, "more than one SOA record at the zone apex".into(), false));
                }
            }
        }
        if !apex_sets.iter().any(|s| s.rtype == t::NS) {
            let d = Diagnostic {
                file: main_file,
                line: 0,
                message: format!("no NS records at the zone apex {}", name::to_text(origin)),
                warning: false,
            };
            self.policy(vec![d], errors, warnings);
        }
        Some(())
    }

    /// The checks of one name's records.
    fn check_node(
        &self,
        n: &Node,
        nm: &[u8],
        sets: &[RRset],
        first_line: &[(u16, u32)],
        errors: &mut Vec<Diagnostic>,
        warnings: &mut Vec<Diagnostic>,
    ) {
        let files = &self.files;
        for (i, s) in sets.iter().enumerate() {
            let (f, l) = first_line[i];
            let owner = || name::to_text(nm);
            if s.rtype == t::SOA && !n.has(nf::APEX) {
                errors.push(diag_in(
                    files,
                    f,
                    l,
                    format!("SOA record at {}, which is not the zone apex", owner()),
                    false,
                ));
            }
            if s.rtype == t::CNAME && s.count > 1 {
                errors.push(diag_in(files, f, l, format!("more than one CNAME record at {}", owner()), false));
            }
            if s.rtype == t::DNAME && s.count > 1 {
                errors.push(diag_in(files, f, l, format!("more than one DNAME record at {}", owner()), false));
            }
            if n.has(nf::CNAME) && !matches!(s.rtype, t::CNAME | t::RRSIG | t::NSEC | t::KEY) {
                errors.push(diag_in(
                    files,
                    f,
                    l,
                    format!("CNAME and other data at {} ({} record)", owner(), rtype::type_to_text(s.rtype)),
                    false,
                ));
            }
            if s.rtype == t::NS && name::is_wildcard(nm) {
                warnings.push(diag_in(files, f, l, format!("NS records at wildcard name {}", owner()), true));
            }
        }
        // Data below a cut that is not an address record, or below a DNAME.
        if n.has(nf::BELOW_DNAME) && n.rrset_count > 0 {
            let (f, l) = first_line[0];
            warnings.push(diag_in(
                files,
                f,
                l,
                format!("{} is below a DNAME and is occluded", name::to_text(nm)),
                true,
            ));
        } else if n.has(nf::BELOW_CUT) {
            for (i, s) in sets.iter().enumerate() {
                if !matches!(s.rtype, t::A | t::AAAA) {
                    let (f, l) = first_line[i];
                    warnings.push(diag_in(
                        files,
                        f,
                        l,
                        format!(
                            "{} {} is below a delegation and is occluded",
                            name::to_text(nm),
                            rtype::type_to_text(s.rtype)
                        ),
                        true,
                    ));
                }
            }
        }
    }

    /// Builds the NSEC3 block from the collected NSEC3 records (and their
    /// signatures), nodes in file order, the chain sorted by hash, with
    /// the parameters of the chain it serves: the first of `params` (the
    /// usable NSEC3PARAMs, [`nsec3params_of`]) that some NSEC3 record
    /// of the zone uses, else the first.
    pub(crate) fn build_n3(
        &mut self,
        params: &[Nsec3Param],
        warnings: &mut Vec<Diagnostic>,
    ) -> (Nsec3Block, Option<Nsec3Param>) {
        let uses = |p: &Nsec3Param| {
            self.n3_recs.iter().any(|r| {
                let rd = &self.data[r.off as usize..r.off as usize + r.len as usize];
                r.rtype == t::NSEC3 && nsec3_params_match(rd, p)
            })
        };
        let chosen = params.iter().find(|p| uses(p)).or(params.first()).cloned();
        let block = self.build_n3_block(chosen.as_ref(), warnings);
        (block, chosen)
    }

    fn build_n3_block(&mut self, nsec3param: Option<&Nsec3Param>, warnings: &mut Vec<Diagnostic>) -> Nsec3Block {
        let origin = self.origin.clone();
        let mut n3recs = std::mem::take(&mut self.n3_recs);
        n3recs.sort_unstable_by_key(|r| (r.node, rtype_sort_key(r.rtype, r.covers), r.off));
        let mut block = Nsec3Block::default();
        let mut seg = Segment::default();
        let mut first_line: Vec<(u16, u32)> = Vec::new();
        let mut problems = Vec::new();
        let mut r = 0usize;
        for id in 0..self.n3_offs.len() {
            let r0 = r;
            while r < n3recs.len() && n3recs[r].node == id as u32 {
                r += 1;
            }
            if seg.nodes.len() >= self.opts.names_per_segment() || seg.rrsets.len() + (r - r0) > SEG_MAX - 1 {
                block.seg_first.push(block.count as u32);
                block.count += seg.nodes.len();
                block.segs.push(std::mem::take(&mut seg).sealed());
                first_line.clear();
            }
            let slot = N3_SLOT + block.segs.len();
            let (o, l) = self.n3_offs[id];
            let nm = &self.n3_names[o as usize..o as usize + l as usize];
            let mut node = Node { rrset_start: seg.rrsets.len() as u16, ..Node::named(seg.names.len(), nm) };
            seg.names.extend_from_slice(nm);
            let mut records = 0u64;
            group(
                &n3recs[r0..r],
                &self.data,
                &mut seg.rrsets,
                &mut seg.data,
                &mut first_line,
                &mut records,
                &mut problems,
                |_, _| {},
            );
            seg.records += records;
            block.records += records;
            let s = node.rrset_start as usize;
            let e = seg.rrsets.len();
            node.rrset_count = (e - s) as u16;
            let local = seg.nodes.len();
            seg.nodes.push(node.packed());
            link_signatures(&mut seg.rrsets[s..e], &seg.data);
            let n3 = (s..e).rev().find(|&i| seg.rrsets[i].rtype == t::NSEC3);
            if let Some(i) = n3 {
                let label = name::first_label(nm);
                let mut h = Vec::new();
                let parent_ok = name::parent(nm) == origin.as_slice();
                let rd = &seg.rdata_at(i)[2..];
                let params_ok = nsec3param.is_some_and(|p| nsec3_params_match(rd, p));
                if parent_ok
                    && params_ok
                    && crate::zonefile::codec::base32hex_decode(label, &mut h).is_ok()
                    && !h.is_empty()
                {
                    block.chain.push(Nsec3Entry {
                        hash_off: block.hashes.len() as u32,
                        hash_len: h.len() as u8,
                        node: make_id(slot, local),
                    });
                    block.hashes.extend_from_slice(&h);
                } else if !parent_ok {
                    let (f, l) = first_line[i];
                    warnings.push(diag_in(
                        &self.files,
                        f,
                        l,
                        format!("NSEC3 record at {} is not directly below the apex", name::to_text(nm)),
                        true,
                    ));
                }
            }
        }
        if !seg.nodes.is_empty() {
            block.seg_first.push(block.count as u32);
            block.count += seg.nodes.len();
            block.segs.push(seg.sealed());
        }
        self.data = Vec::new();
        let hashes = &block.hashes;
        block.chain.sort_by(|a, b| {
            hashes[a.hash_off as usize..(a.hash_off + a.hash_len as u32) as usize]
                .cmp(&hashes[b.hash_off as usize..(b.hash_off + b.hash_len as u32) as usize])
        });
        block
    }
}

/// Marks a name with no place yet in [`ZoneBuilder::records_by_node`]
/// (above every place).
const UNPLACED: u32 = 1 << 31;

/// One run of [`ZoneBuilder::records_by_node`]: the records of nodes
/// `first..` (`part`: where each node's records end) copied from `recs`
/// into `mine` (which starts at place `base`) by their names' next
/// places (`at`, this run's copy), then each node's records given its id
/// and sorted by type and offset.
fn place_run(recs: &[BRec], first: usize, base: usize, part: &[u32], mine: &mut [BRec], mut at: Vec<u32>) {
    for r in recs {
        let p = &mut at[r.node as usize];
        // An unplaced name's entry (bit 31) is above every place.
        let k = (*p as usize).wrapping_sub(base);
        if k < mine.len() {
            mine[k] = *r;
            *p += 1;
        }
    }
    drop(at);
    let mut start = 0usize;
    for (k, &end) in part.iter().enumerate() {
        let end = end as usize - base;
        let recs = &mut mine[start..end];
        for r in recs.iter_mut() {
            r.node = (first + k) as u32;
        }
        if recs.len() > 1 {
            recs.sort_unstable_by_key(|r| (rtype_sort_key(r.rtype, r.covers), r.off));
        }
        start = end;
    }
}

/// A node while the zone is built: in the build's zone-wide names first,
/// then in its segment's, where it is stored packed ([`Node::packed`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Node {
    pub(crate) name_off: u32,
    pub(crate) name_len: u8,
    pub(crate) labels: u8,
    pub(crate) flags: u16,
    pub(crate) rrset_start: u16,
    pub(crate) rrset_count: u16,
}

impl Node {
    /// A node for name `n`, stored at `name_off`: no flags or RRsets yet.
    pub(crate) fn named(name_off: usize, n: &[u8]) -> Node {
        Node {
            name_off: name_off as u32,
            name_len: n.len() as u8,
            labels: name::label_count(n) as u8,
            flags: 0,
            rrset_start: 0,
            rrset_count: 0,
        }
    }

    fn has(&self, f: u16) -> bool {
        self.flags & f != 0
    }

    /// The node as a segment stores it ([`zone::Node`]: its name's
    /// length and its RRset count are derived from the next node's).
    fn packed(&self) -> zone::Node {
        zone::Node::new(self.name_off as usize, self.labels, self.flags, self.rrset_start)
    }
}

/// A node's name in the names of a build (`Node::name_off` into `names`).
fn node_name<'a>(names: &'a [u8], n: &Node) -> &'a [u8] {
    &names[n.name_off as usize..n.name_off as usize + n.name_len as usize]
}

/// Step 4 of [`ZoneBuilder::finish_segments`]: the tree flags, parents
/// first (canonical order puts them first). Canonical order is a
/// pre-order walk of the tree and every ancestor is a node (ENTs were
/// added), so a stack of the current branch gives each node's parent
/// without a lookup; in a range, ancestors before it come from the zone
/// outside, and so do wildcard children after it.
///
/// A whole zone's nodes are cut into `parts` runs, each on a thread of its
/// own ([`flags_run`]): a run after the first starts from the branch above
/// its first node (its ancestors, found by a binary search, and their
/// flags, computed as the walk would have: [`branch_above`]), and the
/// wildcard-child flags a run finds for nodes of earlier runs are set
/// after the join. A range is one run.
fn set_tree_flags(
    origin: &[u8],
    zone_names: &[u8],
    nodes: &mut [Node],
    recs: &[BRec],
    range: Option<&Range<'_>>,
    parts: usize,
) {
    if let Some(rg) = range {
        // A range is one run (its outside's lookups stay on this thread).
        flags_run(origin, zone_names, nodes, 0, recs, 0, Some(rg), Vec::new());
    } else {
        flags_on_threads(origin, zone_names, nodes, recs, parts);
    }
    // A wildcard child after the range (only in a range).
    if let Some(rg) = range {
        if let Some(h) = rg.hi {
            wildcard_children_after(zone_names, nodes, h, rg);
        }
    }
}

/// [`set_tree_flags`] of a whole zone in `parts` runs of nodes.
fn flags_on_threads(origin: &[u8], zone_names: &[u8], nodes: &mut [Node], recs: &[BRec], parts: usize) {
    let starts = par::cut(std::iter::repeat_n(1, nodes.len()), parts);
    let mut runs = Vec::with_capacity(starts.len());
    for (k, &s) in starts.iter().enumerate() {
        let branch = if k == 0 { Vec::new() } else { branch_above(origin, zone_names, nodes, recs, s) };
        runs.push((s, branch, recs.partition_point(|r| (r.node as usize) < s)));
    }
    let mut rest = &mut nodes[..];
    let mut jobs = Vec::with_capacity(runs.len());
    for (k, (s, branch, r)) in runs.into_iter().enumerate() {
        let end = starts.get(k + 1).map_or(rest.len() + s, |&e| e);
        let (mine, more) = std::mem::take(&mut rest).split_at_mut(end - s);
        jobs.push((s, mine, branch, r));
        rest = more;
    }
    let outside =
        par::on_threads(jobs, |(s, mine, branch, r)| flags_run(origin, zone_names, mine, s, recs, r, None, branch));
    for p in outside.into_iter().flatten() {
        nodes[p as usize].flags |= nf::WILD_CHILD;
    }
}

/// The tree flags of one run of nodes (`nodes`, whose first is node
/// `first` and whose records start at `recs[r]`), the walk started with
/// `branch` (the nodes above the first, with their flags). Returns the
/// nodes before the run that have a wildcard child in it.
#[allow(clippy::too_many_arguments)]
fn flags_run(
    origin: &[u8],
    zone_names: &[u8],
    nodes: &mut [Node],
    first: usize,
    recs: &[BRec],
    mut r: usize,
    range: Option<&Range<'_>>,
    mut branch: Vec<(u32, Node)>,
) -> Vec<u32> {
    let mut outside = Vec::new();
    for k in 0..nodes.len() {
        let id = first + k;
        let r0 = r;
        while r < recs.len() && recs[r].node == id as u32 {
            r += 1;
        }
        let nm = node_name(zone_names, &nodes[k]);
        while let Some((_, top)) = branch.last() {
            if name::is_subdomain(nm, node_name(zone_names, top)) {
                break;
            }
            branch.pop();
        }
        let apex = nm == origin;
        let parent = branch
            .last()
            .filter(|(_, p)| !apex && node_name(zone_names, p) == name::parent(nm))
            .map(|&(p, n)| (p, n.flags));
        nodes[k].flags |= node_flags(nm, apex, &recs[r0..r], parent.map(|p| p.1), range);
        if let (Some((p, _)), false, true) = (parent, apex, name::is_wildcard(nm)) {
            if p as usize >= first {
                nodes[p as usize - first].flags |= nf::WILD_CHILD;
            } else {
                outside.push(p);
            }
        }
        branch.push((id as u32, nodes[k]));
    }
    outside
}

/// A node's flags from its own records (`recs`) and its parent's flags
/// (`parent`; in a range, the zone outside's when the parent is not in
/// it), the wildcard-child flag aside.
fn node_flags(nm: &[u8], apex: bool, recs: &[BRec], parent: Option<u16>, range: Option<&Range<'_>>) -> u16 {
    let has = |ty: u16| recs.iter().any(|x| x.rtype == ty);
    let mut f = 0u16;
    if apex {
        f |= nf::APEX;
    }
    if recs.is_empty() {
        f |= nf::EMPTY;
    }
    if has(t::NS) && !apex {
        f |= nf::CUT;
    }
    if has(t::DNAME) {
        f |= nf::DNAME;
    }
    if has(t::CNAME) {
        f |= nf::CNAME;
    }
    if has(t::NSEC) {
        f |= nf::NSEC;
    }
    if !apex {
        let pf = parent.or_else(|| range.and_then(|rg| (rg.outside_flags)(name::parent(nm))));
        if let Some(pf) = pf {
            if pf & (nf::CUT | nf::BELOW_CUT) != 0 {
                f |= nf::BELOW_CUT;
            }
            if pf & (nf::DNAME | nf::BELOW_DNAME) != 0 {
                f |= nf::BELOW_DNAME;
            }
            if pf & (nf::WALK | nf::CUT | nf::DNAME) != 0 {
                f |= nf::WALK;
            }
        }
    }
    f
}

/// The branch of a whole zone's walk above node `s` (its ancestors among
/// the nodes before it, top down), each with the flags the walk gives it
/// ([`node_flags`]), for a run of [`flags_run`] that starts at `s`.
fn branch_above(origin: &[u8], zone_names: &[u8], nodes: &[Node], recs: &[BRec], s: usize) -> Vec<(u32, Node)> {
    let before = &nodes[..s];
    let mut ids = Vec::new();
    let mut p = node_name(zone_names, &nodes[s]);
    while p.len() > origin.len() {
        p = name::parent(p);
        if let Ok(i) = before.binary_search_by(|n| name::canonical_cmp(node_name(zone_names, n), p)) {
            ids.push(i);
        }
    }
    let mut branch: Vec<(u32, Node)> = Vec::with_capacity(ids.len());
    for &i in ids.iter().rev() {
        let nm = node_name(zone_names, &before[i]);
        let apex = nm == origin;
        let own = recs.partition_point(|r| (r.node as usize) < i)..recs.partition_point(|r| (r.node as usize) <= i);
        let parent =
            branch.last().filter(|(_, q)| !apex && node_name(zone_names, q) == name::parent(nm)).map(|q| q.1.flags);
        let flags = node_flags(nm, apex, &recs[own], parent, None);
        branch.push((i as u32, Node { flags, ..before[i] }));
    }
    branch
}

/// Sets the wildcard-child flag of the nodes of a range whose `*` child
/// comes after the range (at or after `hi`) and exists outside it.
fn wildcard_children_after(zone_names: &[u8], nodes: &mut [Node], hi: &[u8], rg: &Range<'_>) {
    let mut w = [0u8; 256];
    for n in nodes.iter_mut() {
        let nm = node_name(zone_names, n);
        if n.has(nf::WILD_CHILD) || nm.len() > 253 {
            continue;
        }
        w[0] = 1;
        w[1] = b'*';
        w[2..2 + nm.len()].copy_from_slice(nm);
        let wn = &w[..2 + nm.len()];
        if name::canonical_cmp(wn, hi).is_ge() && (rg.outside_exists)(wn) {
            n.flags |= nf::WILD_CHILD;
        }
    }
}

/// The size of one segment to fill: where it ends (the next segment's
/// first node) and its exact lengths, so each vector is allocated once at
/// its final size (no growth, no holes left in the heap between the
/// segments of a 1M-name zone).
struct SegPlan {
    /// One past its last node.
    end: usize,
    /// Octets of names.
    names: usize,
    /// RRsets.
    rrsets: usize,
    /// Octets of RDATA (with their length prefixes).
    data: usize,
}

/// What one run of step 5 ([`ZoneBuilder::fill_run`]) made: its
/// segments, the first line of their RRsets (`starts`: where each
/// segment's begin in `lines`), its diagnostics in the order one thread
/// finds them, the apex's SOA set if the run has the apex, and whether it
/// stopped at a name with too many RRsets.
#[derive(Default)]
struct FillRun {
    segs: Vec<Segment>,
    lines: Vec<(u16, u32)>,
    starts: Vec<usize>,
    errors: Vec<Diagnostic>,
    warnings: Vec<Diagnostic>,
    problems: Vec<(u16, u32, String, bool)>,
    soa: Option<Option<usize>>,
    failed: bool,
}

/// Step 5 of [`ZoneBuilder::finish_segments`], sizing: the apex is a
/// segment of its own (it changes with every serial); then segments of up
/// to `seg_nodes` names, fewer if their RRsets would not fit a segment.
fn plan_segments(nodes: &[Node], recs: &[BRec], seg_nodes: usize) -> Vec<SegPlan> {
    let mut plan: Vec<SegPlan> = Vec::with_capacity(nodes.len() / seg_nodes + 2);
    let (mut cnt, mut nb, mut rs, mut db) = (0usize, 0usize, 0usize, 0usize);
    let mut apex_seg = false;
    let mut r = 0usize;
    for (id, node) in nodes.iter().enumerate() {
        let r0 = r;
        let mut sets = 0usize;
        let mut bytes = 0usize;
        while r < recs.len() && recs[r].node == id as u32 {
            if r == r0 || recs[r].rtype != recs[r - 1].rtype || recs[r].covers != recs[r - 1].covers {
                sets += 1;
            }
            bytes += 2 + recs[r].len as usize;
            r += 1;
        }
        if cnt > 0 && (cnt >= seg_nodes || apex_seg || rs + sets > SEG_MAX - 1) {
            plan.push(SegPlan { end: id, names: nb, rrsets: rs, data: db });
            (cnt, nb, rs, db) = (0, 0, 0, 0);
        }
        if cnt == 0 {
            apex_seg = node.has(nf::APEX);
        }
        cnt += 1;
        nb += node.name_len as usize;
        rs += sets;
        db += bytes;
    }
    plan.push(SegPlan { end: nodes.len(), names: nb, rrsets: rs, data: db });
    plan
}

/// Links each RRSIG set of one node (`sets`, the node's RRsets; `data`,
/// its segment's RDATA) to the set it covers: the covered set gets
/// [`SIGNED`], meaning "my signatures are the next RRset". Records come
/// to [`group`] sorted by [`rtype_sort_key`], so an RRSIG set is always
/// right after the set it covers (when that set exists: an RRSIG set
/// covering a type the node lacks links to nothing).
fn link_signatures(sets: &mut [RRset], data: &[u8]) {
    for i in 1..sets.len() {
        if sets[i].rtype != t::RRSIG {
            continue;
        }
        let o = sets[i].data_off as usize + 2;
        let Some(&[a, b]) = data.get(o..o + 2) else { continue };
        let cov = u16::from_be_bytes([a, b]);
        if sets[i - 1].rtype == cov && cov != t::RRSIG {
            sets[i - 1].ttl_sig |= SIGNED;
        }
    }
}

/// File and line of the first record of each RRset, for the segments of
/// one build: one vector (freed whole), each segment's part from its start.
#[derive(Default)]
pub(crate) struct Lines {
    all: Vec<(u16, u32)>,
    starts: Vec<usize>,
}

impl Lines {
    /// The lines of segment `k`'s RRsets.
    pub(crate) fn seg(&self, k: usize) -> &[(u16, u32)] {
        let end = self.starts.get(k + 1).copied().unwrap_or(self.all.len());
        &self.all[self.starts[k]..end]
    }
}

/// A range of the zone rebuilt by an incremental reload.
pub(crate) struct Range<'a> {
    /// The first name of the range; names before it are outside.
    pub(crate) lo: &'a [u8],
    /// The first name after the range, if any.
    pub(crate) hi: Option<&'a [u8]>,
    /// Flags of an existing name before the range (an ancestor).
    pub(crate) outside_flags: &'a dyn Fn(&[u8]) -> Option<u16>,
    /// True if a name after the range exists (a wildcard child).
    pub(crate) outside_exists: &'a dyn Fn(&[u8]) -> bool,
}

fn diag_in(files: &[String], file: u16, line: u32, message: String, warning: bool) -> Diagnostic {
    let file = files.get(file as usize).cloned().unwrap_or_else(|| "<zone>".into());
    Diagnostic { file, line, message, warning }
}

/// The usable NSEC3 parameters at the apex (the first node of the first
/// segment), in file order: RFC 5155 §4.1.2 has NSEC3PARAM records with
/// flags other than zero ignored, and only hash algorithm 1 (SHA-1)
/// exists. NSD and BIND serve the chain of the remaining one; Knot DNS
/// refuses a zone with several NSEC3PARAM records.
pub(crate) fn nsec3params_of(apex: &Segment) -> Vec<Nsec3Param> {
    let Some(i) = apex.set_range(0).find(|&i| apex.rrsets[i].rtype == t::NSEC3PARAM) else { return Vec::new() };
    apex.rdatas_at(i)
        .filter_map(|rd| {
            let sl = *rd.get(4)? as usize;
            Some(Nsec3Param {
                alg: rd[0],
                flags: rd[1],
                iterations: u16::from_be_bytes([rd[2], rd[3]]),
                salt: rd.get(5..5 + sl)?.to_vec(),
            })
        })
        .filter(|p| p.flags == 0 && p.alg == crate::snapshot::nsec3::SHA1)
        .collect()
}

/// True if NSEC3 RDATA `rd` has the hash algorithm, iterations and salt
/// of `p` (its flags, the opt-out bit, may differ).
fn nsec3_params_match(rd: &[u8], p: &Nsec3Param) -> bool {
    rd.len() >= 5
        && rd[0] == p.alg
        && u16::from_be_bytes([rd[2], rd[3]]) == p.iterations
        && rd.get(5..5 + rd[4] as usize) == Some(&p.salt[..])
}

/// Links the NS/MX/SRV targets of one segment's RRsets (the segment must
/// not be shared yet) and checks their glue against the whole zone.
pub(crate) fn link_segment(
    zone: &mut Zone,
    slot: usize,
    first_line: &[(u16, u32)],
    files: &[String],
    errors: &mut Vec<Diagnostic>,
    scratch: &mut LinkScratch,
) {
    let links = segment_links(zone, slot, first_line, files, errors, scratch);
    install_links(zone, slot, links);
}

/// The links of every segment of a zone just built, and their glue
/// checks (`lines`: the first line of each RRset). Each segment's links
/// read the whole zone and belong to that segment alone: a big zone's
/// segments are cut into runs, each run's links computed on a thread of
/// its own, then installed and their diagnostics filed in slot order.
fn link_all(zone: &mut Zone, lines: &Lines, files: &[String], threads: usize, errors: &mut Vec<Diagnostic>) {
    let threads = if zone.node_count() < par::PAR_MIN { 1 } else { threads.max(1) };
    let n = zone.segs.len();
    let starts = par::cut(zone.segs.iter().map(|s| s.rrsets.len() + 1), threads);
    let runs: Vec<(usize, usize)> =
        starts.iter().enumerate().map(|(k, &a)| (a, starts.get(k + 1).copied().unwrap_or(n))).collect();
    let z = &*zone;
    let parts = par::on_threads(runs, |(a, b)| {
        let mut scratch = LinkScratch::default();
        let mut glue = Vec::new();
        let links: Vec<SegLinks> =
            (a..b).map(|slot| segment_links(z, slot, lines.seg(slot), files, &mut glue, &mut scratch)).collect();
        (a, links, glue)
    });
    for (a, links, glue) in parts {
        for (k, l) in links.into_iter().enumerate() {
            install_links(zone, a + k, l);
        }
        errors.extend(glue);
    }
}

/// One segment's links, computed on the assembled zone, installed by
/// [`install_links`]: where each RRset's links start in `links` (one
/// more entry: their end), the links, and the link names at their exact
/// size.
pub(crate) struct SegLinks {
    starts: Vec<u32>,
    links: Vec<u32>,
    link_names: Vec<u8>,
}

/// Installs a segment's links (the segment must not be shared yet). Each
/// RRset's links go into the data right after its records (zone.rs), so
/// the data is copied once, RRset by RRset, with the new offsets; an NS
/// target that is the name of a node the RRset links to in this segment
/// becomes a reference to that link ([`zone::NAME_REF`]).
fn install_links(zone: &mut Zone, slot: usize, l: SegLinks) {
    let seg = Arc::get_mut(&mut zone.segs[slot]).expect("a new segment is not shared");
    let SegLinks { starts, links, link_names } = l;
    if seg.rrsets.iter().any(|r| linked(r.rtype)) {
        let mut data = Vec::with_capacity(seg.data.len() + 4 * links.len() + seg.rrsets.len());
        let mut offs = Vec::with_capacity(seg.rrsets.len());
        for i in 0..seg.rrsets.len() {
            offs.push(data.len() as u32);
            // The records as the build wrote them (no links yet).
            let block = seg.block_at(i);
            if !linked(seg.rrsets[i].rtype) {
                data.extend_from_slice(block);
                continue;
            }
            let mine = &links[starts[i] as usize..starts[i + 1] as usize];
            match u8::try_from(mine.len()) {
                Ok(n) if n != zone::LINKS_WIDE => data.push(n),
                // At most 65,535: no more links than records (group()).
                _ => {
                    data.push(zone::LINKS_WIDE);
                    data.extend_from_slice(&(mine.len() as u16).to_be_bytes());
                }
            }
            for l in mine {
                data.extend_from_slice(&l.to_le_bytes());
            }
            if seg.rrsets[i].rtype == t::NS && mine.iter().any(|&l| l & REMOTE == 0) {
                write_ns_records(seg, block, mine, &mut data);
            } else {
                data.extend_from_slice(block);
            }
        }
        for (r, off) in seg.rrsets.iter_mut().zip(offs) {
            r.data_off = off;
        }
        // References made the data shorter than reserved.
        data.shrink_to_fit();
        seg.data = data;
    }
    seg.link_names = link_names;
}

/// Writes the NS records of `block` (not linked yet) of a segment into
/// `data`, each target that is the name of a node of `seg` among the
/// RRset's first 64 links (`mine`), octet for octet, as a reference to
/// that link ([`zone::NAME_REF`]).
fn write_ns_records(seg: &Segment, block: &[u8], mine: &[u32], data: &mut Vec<u8>) {
    for r in zone::Rdatas::of(t::NS, block) {
        let j = mine.iter().take(64).position(|&l| l & REMOTE == 0 && seg.name(l as usize) == r);
        match j {
            Some(j) => data.push(zone::NAME_REF + j as u8),
            None => data.extend_from_slice(r),
        }
    }
}

#[allow(clippy::needless_range_loop)]
/// The links of the NS/MX/SRV targets of one segment's RRsets, read off
/// the whole zone, with their glue checks.
fn segment_links(
    zone: &Zone,
    slot: usize,
    first_line: &[(u16, u32)],
    files: &[String],
    errors: &mut Vec<Diagnostic>,
    scratch: &mut LinkScratch,
) -> SegLinks {
    let LinkScratch { links, link_names, starts } = scratch;
    links.clear();
    link_names.clear();
    starts.clear();
    {
        let z = zone;
        let seg = &z.segs[slot];
        for (local, n) in seg.nodes.iter().enumerate() {
            // Every RRset gets where its links start (an RRset's links end
            // where the next one's start: zone.rs); only some get links.
            let range = seg.set_range(local);
            if n.has(nf::BELOW_CUT) || n.has(nf::BELOW_DNAME) {
                starts.extend(range.map(|_| links.len() as u32));
                continue;
            }
            for i in range {
                starts.push(links.len() as u32);
                let s = seg.rrsets[i];
                if !matches!(s.rtype, t::NS | t::MX | t::SRV | t::SVCB | t::HTTPS) {
                    continue;
                }
                let start = links.len();
                // The segment is not linked yet: its records as written.
                for r in zone::Rdatas::of(s.rtype, seg.block_at(i)) {
                    let Some(target) = link_target(s.rtype, r) else { continue };
                    let lt = name::to_lowercase(target);
                    if !name::is_subdomain(&lt, &z.apex) {
                        continue;
                    }
                    let tid = z.lookup(&lt);
                    // What additional data the target can give: its
                    // addresses, and for SVCB/HTTPS an RRset of the same
                    // type (an AliasMode chain's next step, as Knot DNS adds).
                    let has_addr =
                        tid.is_some_and(|tid| z.node_rrsets(tid).iter().any(|r| matches!(r.rtype, t::A | t::AAAA)));
                    let has_data = has_addr
                        || (s.rtype != t::NS
                            && tid.is_some_and(|tid| z.node_rrsets(tid).iter().any(|x| x.rtype == s.rtype)));
                    if s.rtype == t::NS && !has_addr {
                        let cut = seg.name(local);
                        if n.has(nf::APEX) || name::is_subdomain(&lt, cut) {
                            let (f, l) = first_line[i];
                            errors.push(diag_in(
                                files,
                                f,
                                l,
                                format!(
                                    "missing glue: name server {} of {} has no A or AAAA record",
                                    name::to_text(target),
                                    name::to_text(cut)
                                ),
                                false,
                            ));
                        }
                    }
                    let seen = links[start..].iter().any(|&l| {
                        if l & REMOTE == 0 {
                            seg.name(l as usize) == lt.as_slice()
                        } else {
                            let o = (l & !REMOTE) as usize;
                            link_names[o..].starts_with(&lt) && link_names.len() >= o + lt.len()
                        }
                    });
                    if seen {
                        continue;
                    }
                    match tid {
                        Some(tid) if (tid >> LOCAL_BITS) as usize == slot => {
                            if has_data {
                                links.push(tid & (SEG_MAX as u32 - 1));
                            }
                        }
                        _ => {
                            links.push(REMOTE | link_names.len() as u32);
                            link_names.extend_from_slice(&lt);
                        }
                    }
                }
            }
        }
    }
    // `starts` gets one more entry, the end of the links.
    starts.push(links.len() as u32);
    // Exact-size copies; the scratch vectors are reused for the next segment.
    SegLinks { starts: starts.clone(), links: links.clone(), link_names: link_names.clone() }
}

/// The name in RDATA `r` of type `rtype` whose data goes into the
/// additional section (RFC 1034 §3.6.2 for NS and MX, RFC 2782 for SRV,
/// RFC 9460 §4 for SVCB and HTTPS: the target; a ServiceMode target of
/// "." stands for the owner, whose data is already at hand, and is left
/// out as Knot DNS does).
fn link_target(rtype: u16, r: &[u8]) -> Option<&[u8]> {
    match rtype {
        t::NS => Some(r),
        t::MX => r.get(2..),
        t::SVCB | t::HTTPS => {
            // The target is followed by the SvcParams.
            let r = r.get(2..)?;
            Some(&r[..name::wire_len(r).ok()?])
        }
        _ => r.get(6..),
    }
}

/// Working vectors of [`link_segment`], reused from segment to segment.
#[derive(Default)]
pub(crate) struct LinkScratch {
    links: Vec<u32>,
    link_names: Vec<u8>,
    starts: Vec<u32>,
}

/// Checks the glue of the NS RRset of one node of an assembled zone (a cut
/// or the apex): the same check as [`link_segment`], for nodes whose own
/// segment was kept by an incremental reload while their targets changed.
pub(crate) fn check_glue(zone: &Zone, id: u32, errors: &mut Vec<Diagnostic>) {
    let n = *zone.node(id);
    if n.has(nf::BELOW_CUT) || n.has(nf::BELOW_DNAME) {
        return;
    }
    let Some(ns) = zone.find(id, t::NS) else { return };
    let cut = zone.node_name(id);
    for r in zone.rdatas(ns) {
        let lt = name::to_lowercase(r);
        if !name::is_subdomain(&lt, &zone.apex) {
            continue;
        }
        let has_addr =
            zone.lookup(&lt).is_some_and(|tid| zone.node_rrsets(tid).iter().any(|r| matches!(r.rtype, t::A | t::AAAA)));
        if !has_addr && (n.has(nf::APEX) || name::is_subdomain(&lt, cut)) {
            errors.push(Diagnostic {
                file: "<reload>".into(),
                line: 0,
                message: format!(
                    "missing glue: name server {} of {} has no A or AAAA record",
                    name::to_text(r),
                    name::to_text(cut)
                ),
                warning: false,
            });
        }
    }
}

/// Sort key: RRSIG sets right after the type they cover.
fn rtype_sort_key(rtype: u16, covers: u16) -> (u16, u8) {
    if rtype == t::RRSIG {
        (covers, 1)
    } else {
        (rtype, 0)
    }
}

/// RRsets up to this size drop duplicates by comparing each record with
/// the ones before it; larger ones use a hash table (a 65k-record RRset
/// took 7-10 s by scanning, about 2 billion comparisons).
const DEDUP_SCAN: usize = 16;

/// A TTL as stored: RFC 2181 §8 has a TTL with the top bit set read as
/// 0 (the zone file and transfer parsers take any 32-bit value; BIND
/// loads such a TTL as 0 too). The top bit then holds [`SIGNED`].
fn ttl_of(ttl: u32) -> u32 {
    if ttl & SIGNED != 0 {
        0
    } else {
        ttl
    }
}

/// Groups sorted records into RRsets.
#[allow(clippy::too_many_arguments)]
fn group(
    recs: &[BRec],
    src: &[u8],
    rrsets: &mut Vec<RRset>,
    data: &mut Vec<u8>,
    first_line: &mut Vec<(u16, u32)>,
    records: &mut u64,
    problems: &mut Vec<(u16, u32, String, bool)>,
    mut on_rrset: impl FnMut(&BRec, u32),
) {
    let rd_of = |r: &BRec| &src[r.off as usize..r.off as usize + r.len as usize];
    let mut seen: HashTable<u32> = HashTable::new();
    let hasher = hashbrown::DefaultHashBuilder::default();
    let mut i = 0;
    while i < recs.len() {
        let r0 = recs[i];
        let mut j = i;
        while j < recs.len() && recs[j].node == r0.node && recs[j].rtype == r0.rtype && recs[j].covers == r0.covers {
            j += 1;
        }
        let start = data.len();
        let f = form(r0.rtype);
        // Exact, whatever the RRset's size (a 16-bit counter saturated at
        // 65,535 and made the zone's record count wrong).
        let mut count = 0u64;
        let mut ttl_warned = false;
        let large = j - i > DEDUP_SCAN;
        if large {
            seen.clear();
        }
        for (k, r) in recs[i..j].iter().enumerate() {
            let rd = rd_of(r);
            // Drop exact duplicates (RFC 2181 §5: an RRset is a set).
            let dup = if large {
                let h = std::hash::BuildHasher::hash_one(&hasher, rd);
                let found = seen.find(h, |&x| rd_of(&recs[x as usize]) == rd).is_some();
                if !found {
                    seen.insert_unique(h, (i + k) as u32, |&x| {
                        std::hash::BuildHasher::hash_one(&hasher, rd_of(&recs[x as usize]))
                    });
                }
                found
            } else {
                recs[i..i + k].iter().any(|p| rd_of(p) == rd)
            };
            if dup {
                continue;
            }
            if r.ttl != r0.ttl && !ttl_warned && r0.rtype != t::RRSIG {
                problems.push((
                    r.file,
                    r.line,
                    format!("TTL {} differs from the RRset's TTL {}; using {}", r.ttl, r0.ttl, r0.ttl),
                    true,
                ));
                ttl_warned = true;
            }
            if !fits(f, rd) {
                let what = if f == Form::Name {
                    "one uncompressed domain name".to_string()
                } else {
                    format!("{} octets", rd.len())
                };
                problems.push((r.file, r.line, format!("bad {} RDATA: {what}", rtype::type_to_text(r.rtype)), false));
                continue;
            }
            if f == Form::Prefixed {
                data.extend_from_slice(&r.len.to_be_bytes());
            }
            data.extend_from_slice(rd);
            count += 1;
        }
        *records += count;
        let id = rrsets.len() as u32;
        // The RDATA of RRset k ends where that of k + 1 starts (or at the
        // end of the data): nothing else is written between (zone.rs).
        if r0.ttl & SIGNED != 0 {
            problems.push((
                r0.file,
                r0.line,
                format!("TTL {} is over 2147483647 (RFC 2181 §8); using 0", r0.ttl),
                true,
            ));
        }
        if count > u16::MAX as u64 && linked(r0.rtype) {
            // Its link count is stored in at most 2 octets before its
            // records (zone.rs); NSD and Knot DNS count an RRset's records in 16
            // bits too and refuse more.
            problems.push((
                r0.file,
                r0.line,
                format!("more than 65535 records in one {} RRset", rtype::type_to_text(r0.rtype)),
                false,
            ));
        }
        rrsets.push(RRset {
            rtype: r0.rtype,
            ttl_sig: ttl_of(r0.ttl),
            count: count.min(u16::MAX as u64) as u16,
            data_off: start as u32,
        });
        first_line.push((r0.file, r0.line));
        on_rrset(&r0, id);
        i = j;
    }
}

#[cfg(test)]
mod sort_tests {
    use super::*;

    /// Tree flags set in runs of nodes on several threads are the walk's
    /// on one: a random tree under `tld.` (every ancestor a node) with
    /// cuts, DNAMEs, CNAMEs, NSEC owners and wildcards, cut into 2 to 8
    /// runs, every flag of every node compared.
    #[test]
    fn tree_flags_in_runs_are_the_walks() {
        let mut x = 0x51_7cc1_b727_220au64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let origin = b"\x03tld\x00".to_vec();
        let mut set = std::collections::BTreeSet::new();
        set.insert(origin.clone());
        while set.len() < 2000 {
            let mut n = origin.clone();
            for _ in 0..1 + next() % 4 {
                let v = next();
                let l: &[u8] =
                    if v % 5 == 0 { b"*" } else { &[b"abc"[(v >> 8) as usize % 3], b"abcd"[(v >> 12) as usize % 4]] };
                let mut m = vec![l.len() as u8];
                m.extend_from_slice(l);
                m.extend_from_slice(&n);
                n = m;
                set.insert(n.clone());
            }
        }
        let key = |n: &[u8]| {
            let mut k = Vec::new();
            name::canonical_key(n, &mut k);
            k
        };
        let mut all: Vec<Vec<u8>> = set.into_iter().collect();
        all.sort_by_key(|n| key(n));
        let mut zone_names = Vec::new();
        let mut nodes = Vec::new();
        let mut recs = Vec::new();
        for (id, n) in all.iter().enumerate() {
            nodes.push(Node::named(zone_names.len(), n));
            zone_names.extend_from_slice(n);
            for _ in 0..next() % 3 {
                let rtype = [t::A, t::NS, t::DNAME, t::CNAME, t::NSEC, t::A, t::TXT][(next() % 7) as usize];
                let rtype = if n == &origin && rtype == t::DNAME { t::NS } else { rtype };
                recs.push(BRec { node: id as u32, rtype, covers: 0, ttl: 1, off: 0, len: 0, file: 0, line: 0 });
            }
        }
        let flags = |parts: usize| {
            let mut nodes = nodes.clone();
            set_tree_flags(&origin, &zone_names, &mut nodes, &recs, None, parts);
            nodes.iter().map(|n| n.flags).collect::<Vec<u16>>()
        };
        let one = flags(1);
        for f in [nf::APEX, nf::CUT, nf::BELOW_CUT, nf::DNAME, nf::BELOW_DNAME, nf::WALK, nf::WILD_CHILD, nf::EMPTY] {
            assert!(one.iter().filter(|&&x| x & f != 0).count() > 1 || f == nf::APEX, "flag {f} unused");
        }
        for parts in [2, 3, 5, 8] {
            assert_eq!(flags(parts), one, "{parts} runs");
        }
    }

    /// A zone loaded on two threads (the parallel parse, the two-thread
    /// sort) is the zone loaded on one: the same names, RRsets and RDATA,
    /// in the same order.
    #[test]
    fn a_load_on_two_threads_is_the_load_on_one() {
        let mut z = String::from(
            "$ORIGIN tld.\n$TTL 86400\n@ SOA a.nic hm 1 1800 900 604800 3600\n@ NS a.nic\na.nic A 192.0.2.1\n",
        );
        for i in 0..40_000 {
            z.push_str(&format!(
                "d{i} NS ns1.d{i}\nd{i} NS ns.hoster.net.\nns1.d{i} A 10.0.{}.{}\n",
                i / 256 % 256,
                i % 256
            ));
        }
        let origin = name::from_text("tld.", None).unwrap();
        let src = Source::Memory { name: "tld.zone", data: z.as_bytes() };
        let dump = |threads: usize| {
            let opts = parser::LoadOptions { threads, block_size: 64 << 10, ..parser::LoadOptions::default() };
            let b = load_with(src, &origin, &opts, Checks::Warn, &mut |_| {}).unwrap();
            let z = &b.zone;
            z.all_rrsets()
                .map(|(n, id)| (n.to_vec(), z.rrset(id).rtype, z.rdatas(id).map(|r| r.to_vec()).collect::<Vec<_>>()))
                .collect::<Vec<_>>()
        };
        let one = dump(1);
        assert!(one.len() > 80_000, "{}", one.len());
        assert_eq!(dump(2), one);
    }

    /// A zone of `n` delegations whose problems (`bad`: errors too) fall
    /// in many segments of `segment_names` names, loaded on `threads`
    /// threads: each segment's names, nodes, RRsets, RDATA and links as
    /// text (`Debug`, every field), or the diagnostics of a failed load.
    fn segments_on(
        threads: usize,
        n: usize,
        bad: bool,
        checks: Checks,
    ) -> Result<(Vec<String>, Vec<Diagnostic>), Vec<Diagnostic>> {
        let mut z = String::from(
            "$ORIGIN tld.\n$TTL 86400\n@ SOA a.nic hm 1 1800 900 604800 3600\n@ NS a.nic\na.nic A 192.0.2.1\n\
             @ MX 10 mail\nmail A 192.0.2.2\n",
        );
        for i in 0..n {
            z.push_str(&format!(
                "d{i} NS ns1.d{i}\nd{i} NS ns.hoster.net.\nns1.d{i} A 10.0.{}.{}\n",
                i / 256 % 256,
                i % 256
            ));
            match i % 997 {
                // A TTL that differs from the RRset's (a warning from the grouping).
                3 => z.push_str(&format!("d{i} 60 NS ns3.d{i}\nns3.d{i} A 10.9.9.9\n")),
                // Data below a cut (occluded), a name server without glue.
                5 => z.push_str(&format!("x.d{i} TXT occluded\nd{i} NS ns2.d{i}\n")),
                // MX and SRV targets in other segments.
                7 => {
                    z.push_str(&format!("m{i} MX 10 mail\nm{i} MX 20 ns1.d{}\n_s._tcp.m{i} SRV 0 0 53 ns1.d0\n", i / 2))
                }
                // An error at a name of its own (CNAME and other data).
                11 if bad => z.push_str(&format!("c{i} CNAME d0\nc{i} A 10.1.1.1\n")),
                _ => {}
            }
        }
        let origin = name::from_text("tld.", None).unwrap();
        let src = Source::Memory { name: "tld.zone", data: z.as_bytes() };
        let opts = parser::LoadOptions { threads, block_size: 64 << 10, ..parser::LoadOptions::default() };
        let build = BuildOptions { checks, segment_names: 50 };
        let b = load_with(src, &origin, &opts, build, &mut |_| {})?;
        let z = &b.zone;
        assert!(z.node_count() > 2 * par::PAR_MIN && z.segment_count().0 > 100, "{}", z.node_count());
        // Every delegation's NS set links its in-zone name server.
        let linked: usize = (0..z.segs.len())
            .map(|slot| (0..z.segs[slot].rrsets.len()).filter(|&i| z.has_links(zone::make_id(slot, i))).count())
            .sum();
        assert!(linked >= n, "{linked} linked RRsets");
        Ok((z.segs.iter().map(|s| format!("{:?}", **s)).collect(), b.warnings))
    }

    /// Segments filled, linked and indexed on two threads are the one
    /// thread's, octet for octet (names, nodes, RRsets, RDATA, links and
    /// link names), with the same warnings in the same order, from
    /// segments all over the zone; a zone with errors in many segments
    /// fails with the same diagnostics in the same order.
    #[test]
    fn segments_built_on_two_threads_are_the_ones_built_on_one() {
        let n = 20_000;
        let one = segments_on(1, n, false, Checks::Warn).unwrap();
        let two = segments_on(2, n, false, Checks::Warn).unwrap();
        let count = |w: &[Diagnostic], what: &str| w.iter().filter(|d| d.message.contains(what)).count();
        assert_eq!(count(&one.1, "differs from the RRset's TTL"), 21, "{:?}", one.1);
        assert_eq!(count(&one.1, "occluded"), 21);
        assert_eq!(count(&one.1, "missing glue"), 21);
        // Links to other segments (MX, SRV) are by name.
        assert!(one.0.iter().any(|s| s.contains("link_names: [") && !s.contains("link_names: []")));
        assert_eq!(one.0.len(), two.0.len());
        for (k, (a, b)) in one.0.iter().zip(&two.0).enumerate() {
            assert_eq!(a, b, "segment {k}");
        }
        assert_eq!(one.1, two.1);
        // Errors: CNAME and other data, and missing glue under the strict policy.
        let one = segments_on(1, n, true, Checks::Strict).unwrap_err();
        let two = segments_on(2, n, true, Checks::Strict).unwrap_err();
        assert_eq!(count(&one, "CNAME and other data"), 21, "{one:?}");
        assert_eq!(count(&one, "missing glue"), 21);
        assert_eq!(one, two);
    }

    /// The counting sort of step 3 puts the records in the order of a
    /// comparison sort by (node, type with RRSIGs after the type they
    /// cover, data offset), on one thread or two, and leaves out the records of a name that is
    /// not a node (a range's probe).
    #[test]
    fn records_by_node_is_the_comparison_sort() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        // The last on two threads (runs of nodes sorted side by side).
        for (nodes, threads) in [(1usize, 1), (2, 1), (17, 1), (300, 1), (5000, 2)] {
            let mut b = ZoneBuilder::new(b"\x03tld\x00", BuildOptions::default());
            b.threads = threads;
            for k in 0..nodes * 5 + 3 {
                let v = next();
                let rtype = [t::A, t::NS, t::RRSIG, t::TXT, t::DS][(v % 5) as usize];
                let covers = if rtype == t::RRSIG { [t::A, t::NS, t::DS][(v >> 8) as usize % 3] } else { 0 };
                // Name id `nodes` is not a node.
                let node = (v >> 16) as u32 % (nodes as u32 + 1);
                b.recs.push(BRec { node, rtype, covers, ttl: 1, off: k as u32 * 3, len: 3, file: 0, line: k as u32 });
            }
            // Nodes in the reverse order of the name ids.
            let order: Vec<u32> = (0..nodes as u32).rev().collect();
            let mut want: Vec<BRec> = b.recs.iter().filter(|r| r.node < nodes as u32).copied().collect();
            for r in want.iter_mut() {
                r.node = nodes as u32 - 1 - r.node;
            }
            want.sort_by_key(|r| (r.node, rtype_sort_key(r.rtype, r.covers), r.off));
            let got = b.records_by_node(order, nodes + 1);
            let key = |r: &BRec| (r.node, r.rtype, r.covers, r.off, r.line);
            assert_eq!(got.iter().map(key).collect::<Vec<_>>(), want.iter().map(key).collect::<Vec<_>>());
        }
    }

    /// A record whose owner is written as the last record's (the builder
    /// takes its id without lowercasing or hashing) lands where the same
    /// owner written in another case each time lands; owners outside the
    /// zone are warned about every time, repeated or not.
    #[test]
    fn owners_written_again_are_the_same_names() {
        let body = "d NS ns1.d\nd NS ns.x.\nns1.d A 10.0.0.1\nns1.d AAAA ::1\nd.Other. A 10.0.0.2\n\
                    d.Other. A 10.0.0.3\nd DS 1 8 2 AABB\nd TXT x\nd A 10.0.0.4\ne1 A 10.0.0.5\ne2 A 10.0.0.6\n\
                    e2 TXT y\ne1 TXT z\n";
        let head = "$ORIGIN tld.\n$TTL 60\n@ SOA a hm 1 2 3 4 5\n@ NS a\na A 192.0.2.1\n";
        let origin = name::from_text("tld.", None).unwrap();
        let load = |text: &str| {
            let src = Source::Memory { name: "t.zone", data: text.as_bytes() };
            let b = load_with(src, &origin, &parser::LoadOptions::default(), Checks::Warn, &mut |_| {}).unwrap();
            let z = &b.zone;
            let sets = z
                .all_rrsets()
                .map(|(n, id)| (n.to_vec(), z.rrset(id).rtype, z.rdatas(id).map(|r| r.to_vec()).collect::<Vec<_>>()))
                .collect::<Vec<_>>();
            let outside = b.warnings.iter().filter(|d| d.message.contains("outside the zone")).count();
            (sets, outside, z.node_count())
        };
        // Every owner in a case of its own: nothing is written again.
        let mut k = 0;
        let varied: String = body
            .lines()
            .map(|l| {
                k += 1;
                let (o, rest) = l.split_once(' ').unwrap();
                let o: String = o
                    .chars()
                    .enumerate()
                    .map(|(i, c)| if (i + k) % 2 == 0 { c.to_ascii_uppercase() } else { c })
                    .collect();
                format!("{o} {rest}\n")
            })
            .collect();
        let same = load(&format!("{head}{body}"));
        assert_eq!(same.1, 2);
        let has = |owner: &str, rtype: u16, rdata: &[u8]| {
            let o = name::from_text(owner, None).unwrap();
            same.0
                .iter()
                .any(|(n, t, rds)| n.as_slice() == o.as_slice() && *t == rtype && rds.iter().any(|r| r == rdata))
        };
        assert!(has("e1.tld.", t::A, &[10, 0, 0, 5]) && has("e2.tld.", t::A, &[10, 0, 0, 6]), "{:?}", same.0);
        assert!(has("e2.tld.", t::TXT, b"\x01y") && has("e1.tld.", t::TXT, b"\x01z"), "{:?}", same.0);
        assert!(has("ns1.d.tld.", t::AAAA, &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]), "{:?}", same.0);
        assert_eq!(same, load(&format!("{head}{varied}")));
    }
}

#[cfg(test)]
mod segment_tests {
    use crate::{load_with, BuildOptions, Checks, LoadOptions, Source};

    /// The segment size is an option of each build, not a global: 3 names
    /// per segment cut the 31 names after the apex into 11 segments (the
    /// apex has its own), the default keeps them in one, and sizes out of
    /// bounds are clamped (0 to 1, above the maximum to the maximum).
    #[test]
    fn segment_size_is_a_build_option() {
        let hosts: String = (0..30).map(|i| format!("h{i} A 192.0.2.{i}\n")).collect();
        let text = format!("$TTL 300\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n{hosts}");
        let origin = levee_wire::name::from_text("example.", None).unwrap();
        let segments = |segment_names: usize| {
            let opts = BuildOptions { checks: Checks::Warn, segment_names };
            let src = Source::Memory { name: "t", data: text.as_bytes() };
            let z = load_with(src, &origin, &LoadOptions::default(), opts, &mut |_| {}).unwrap().zone;
            assert_eq!(z.node_count(), 32);
            z.segment_count().0
        };
        assert_eq!(segments(3), 1 + 11);
        assert_eq!(segments(super::SEGMENT_NAMES), 1 + 1);
        assert_eq!(segments(0), 1 + 31);
        assert_eq!(segments(usize::MAX), 1 + 1);
        // A policy alone is a build with the default segments.
        assert_eq!(BuildOptions::from(Checks::Strict), BuildOptions { checks: Checks::Strict, ..Default::default() });
    }
}

#[cfg(test)]
mod batch_tests {
    use super::*;

    /// A builder's tables: names and their ids, each record's node and
    /// data, the NSEC3 names, the problems.
    #[allow(clippy::type_complexity)]
    fn tables(b: &ZoneBuilder) -> (Vec<u8>, Vec<(u32, u8)>, Vec<(u32, u16, u32, u32)>, Vec<u8>, Vec<u32>, usize) {
        let recs = b.recs.iter().map(|r| (r.node, r.rtype, r.off, r.line)).collect();
        let n3 = b.n3_recs.iter().map(|r| r.node).collect();
        (b.names.clone(), b.name_offs.clone(), recs, b.data.clone(), n3, b.problems.len())
    }

    /// Owners interned in batches get the ids, and their records the
    /// nodes, that interning each owner as it comes gives: random owners
    /// (new, repeated right after, repeated later in another case, outside
    /// the zone), RRSIGs and NSEC3 records among them, and records added
    /// with `add_raw` in between.
    #[test]
    fn batched_owners_get_the_ids_of_one_by_one() {
        let origin = name::from_text("tld.", None).unwrap();
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for round in 0..20 {
            let (mut one, mut batched) = (
                ZoneBuilder::new(&origin, BuildOptions::default()),
                ZoneBuilder::new(&origin, BuildOptions::default()),
            );
            batched.batch_owners();
            let mut owners: Vec<Vec<u8>> = Vec::new();
            let mut rrsig = [0u8; 20];
            rrsig[1] = t::A as u8;
            for line in 0..(50 + round * 40) as u32 {
                let r = next();
                let owner = match r % 8 {
                    0..=2 if !owners.is_empty() => owners[(r >> 8) as usize % owners.len()].clone(),
                    3 => name::from_text(&format!("x{}.other.", r % 5), None).unwrap().to_vec(),
                    _ => {
                        let text = format!(
                            "{}D{}.{}tld.",
                            "Ns1.".repeat((r >> 4) as usize % 2),
                            r % 97,
                            ["", "Sub."][(r >> 5) as usize % 2]
                        );
                        name::from_text(&text, None).unwrap().to_vec()
                    }
                };
                owners.push(owner.clone());
                let (rtype, rdata): (u16, &[u8]) = match (r >> 12) % 6 {
                    0 => (t::RRSIG, &rrsig),
                    1 => (t::NSEC3, b"\x01\x00\x00\x00\x00\x00"),
                    _ => (t::A, b"\x0a\x00\x00\x01"),
                };
                // The same owner several times in a row, as files have it.
                for _ in 0..1 + (r >> 20) % 3 {
                    let rec = Record { owner: &owner, rtype, class: 1, ttl: 60, rdata, file: 0, line };
                    assert_eq!(one.add(&rec), batched.add(&rec));
                }
                if r % 29 == 0 {
                    let raw = RawRec { rtype: t::TXT, covers: 0, ttl: 5, rdata: b"\x01a", file: 0, line };
                    let lower = name::to_lowercase(&owners[0]);
                    if name::is_subdomain(&lower, &origin) {
                        one.add_raw(&lower, raw);
                        batched.add_raw(&lower, raw);
                    }
                }
            }
            batched.flush();
            assert!(batched.recs.iter().all(|r| r.node != PENDING));
            assert_eq!(tables(&batched), tables(&one), "round {round}");
        }
    }
}
