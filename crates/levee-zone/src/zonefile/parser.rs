//! The zone-file parser: entries to records (RFC 1035 §5, with BIND's
//! `$GENERATE` and RFC 3597 generic types).
//!
//! [`parse`] reads one zone (its text from `source.rs`, following
//! `$INCLUDE`s) and hands each record to a sink as a borrowed [`Record`]
//! whose owner and RDATA are already in wire form. This module cuts a
//! file's chunks on entry boundaries and handles entries: `$ORIGIN`,
//! `$TTL`, `$INCLUDE` and `$GENERATE` (its range and templates read by
//! `generate.rs`), then owner, TTL, class and type of each record, its
//! RDATA read by `rdata_parse.rs`. Before the lexer sees a line, the
//! fused path (`fast.rs`) may take it whole: a line of the common shape
//! (`owner [ttl] [IN] NS|A|AAAA|DS rdata`) read straight into a record,
//! committed here by `fused` with the TTL and owner rules of
//! `record_entry`; every other line, and every error, is this module's
//! as before. Problems become
//! [`Diagnostic`]s carrying the file and line; the parser keeps going
//! after an error so that `check-zone` can list every problem in one run.
//!
//! ## Bounds
//!
//! Whatever the text says, reading one zone is bounded ([`LoadOptions`]):
//!
//! * a **budget per zone** of octets read (every file, `$INCLUDE`s
//!   counted) and of records (`$GENERATE` counted): when one is spent the
//!   parse stops with an error at the line that went over;
//! * one entry (a logical line, parentheses included) is at most
//!   [`MAX_ENTRY`] octets, so a file without newlines cannot grow the
//!   buffer without end;
//! * only **regular files** are read (the zone file and every
//!   `$INCLUDE`): a FIFO, a device (`/dev/zero`) or a directory is an
//!   error, checked before the file is opened and again on the open file;
//! * every `stat`, `open` and `read` is bracketed by an [`IoWatch`], so
//!   the daemon can see a read that hangs (a dead network file system)
//!   and give up on that zone without waiting for it (this crate has no
//!   clock: it only counts);
//! * `$GENERATE` checks its range against the remaining budget before it
//!   starts, and its `${offset,width,base}` modifiers are bounded (no
//!   overflow, width at most [`MAX_GENERATE_WIDTH`](super::generate::MAX_GENERATE_WIDTH)).
//!
//! Nothing in the lexer, the parser or the RDATA readers may panic on
//! any input: arithmetic on values from the text is checked, slices are
//! bounds-checked, and errors are diagnostics with FILE:LINE
//! (`tests/props.rs` and the `zonefile` fuzz target try it).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use levee_wire::name::NameBuf;
use levee_wire::rtype::{self, c, t};

use crate::zonefile::fast;
use crate::zonefile::fields::{parse_name, parse_name_into, parse_ttl, Fields};
use crate::zonefile::generate::Generate;
use crate::zonefile::lexer::{Entry, Lexer};
use crate::zonefile::rdata_parse::parse_rdata;
use crate::zonefile::source::{Chunks, Feed, IoWatch, Source, CHUNK, MAX_ENTRY};
use crate::zonefile::timings::{self, Lap, Phase, Timings};

/// One parsed record, borrowed from the parser's buffers.
#[derive(Debug)]
pub struct Record<'a> {
    /// Owner name in wire form, as written (case preserved).
    pub owner: &'a [u8],
    /// Type.
    pub rtype: u16,
    /// Class.
    pub class: u16,
    /// TTL.
    pub ttl: u32,
    /// RDATA in wire form.
    pub rdata: &'a [u8],
    /// Index of the file in [`ParseStats::files`].
    pub file: u16,
    /// Line of the entry.
    pub line: u32,
}

/// A problem found while loading, with its place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file (as given, or as included).
    pub file: String,
    /// Line number, 0 if the problem is not tied to a line.
    pub line: u32,
    /// What is wrong.
    pub message: String,
    /// True for warnings, false for errors.
    pub warning: bool,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sev = if self.warning { "warning: " } else { "" };
        if self.line > 0 {
            write!(f, "{}:{}: {}{}", self.file, self.line, sev, self.message)
        } else {
            write!(f, "{}: {}{}", self.file, sev, self.message)
        }
    }
}

/// Counters and the list of files read.
#[derive(Debug, Default)]
pub struct ParseStats {
    /// Files read, the main one first (indices used by [`Record::file`]).
    pub files: Vec<String>,
    /// Records handed to the sink.
    pub records: u64,
    /// Octets of zone text read.
    pub bytes: u64,
    /// Errors reported.
    pub errors: usize,
    /// Records read by the fused path for common lines (`fast.rs`), on
    /// the calling thread (the blocks of a parallel parse are not
    /// counted): how much of a zone took it.
    pub fused: u64,
}

/// Stop reporting after this many errors.
pub(crate) const MAX_ERRORS: usize = 100;
const MAX_INCLUDE_DEPTH: usize = 16;
/// Files one zone may read (the zone file and its `$INCLUDE`s, each
/// inclusion counted): file indexes are 16 bits.
const MAX_FILES: usize = u16::MAX as usize;
/// Default budget of octets read for one zone (files and `$INCLUDE`s):
/// 2 GiB, three times the 5M-delegation benchmark TLD (645 MB).
pub(crate) const DEFAULT_MAX_BYTES: u64 = 2 << 30;
/// Default budget of records for one zone: 50 million, three times the
/// 5M-delegation benchmark TLD (16.25M records).
pub(crate) const DEFAULT_MAX_RECORDS: u64 = 50_000_000;

/// Budgets of one zone's load, and the watch over its file-system calls.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// Most octets read, over every file of the zone.
    pub max_bytes: u64,
    /// Most records (generated ones included).
    pub max_records: u64,
    /// Brackets every file-system call (see [`IoWatch`]).
    pub watch: Option<Arc<IoWatch>>,
    /// Times the load phase by phase (see [`Timings`]); `None` in
    /// production, where nothing is timed.
    pub timings: Option<Arc<Timings>>,
    /// Threads that parse a zone file's text (`parallel.rs`): 1 (the
    /// default) parses on the calling thread; more cut a text longer
    /// than one block into blocks parsed side by side, the records
    /// handed to the sink in file order as the single-threaded parse
    /// hands them (same records, same diagnostics).
    pub threads: usize,
    /// Octets of text per block of a parallel parse (see `threads`);
    /// [`BLOCK`] unless a test wants blocks cut everywhere. Taken
    /// between 1 and [`MAX_BLOCK`].
    pub block_size: usize,
}

/// Octets of zone text per block of a parallel parse: large enough that
/// handing a block to a thread costs nothing next to parsing it (some
/// 8,000 records), small enough that a few blocks per thread in flight
/// hold little memory.
pub const BLOCK: usize = 1 << 20;

/// The largest block of a parallel parse: [`LoadOptions::block_size`]
/// is held below it, so that no value asks for a buffer of that size.
pub const MAX_BLOCK: usize = 64 << 20;

impl LoadOptions {
    /// [`LoadOptions::block_size`] within its bounds.
    pub(super) fn block(&self) -> usize {
        self.block_size.clamp(1, MAX_BLOCK)
    }
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            max_bytes: DEFAULT_MAX_BYTES,
            max_records: DEFAULT_MAX_RECORDS,
            watch: None,
            timings: None,
            threads: 1,
            block_size: BLOCK,
        }
    }
}

/// The sink's verdict on one record: `Err` is reported at the record's line.
pub type SinkResult = Result<(), String>;

/// The parse of one zone: where it is, what it has read, its budgets.
pub(super) struct State<'s> {
    pub(super) origin: NameBuf,
    pub(super) default_ttl: Option<u32>,
    pub(super) last_ttl: Option<u32>,
    /// The owner of the last record, if any (`owners[owner]`); the other
    /// slot takes the next owner's parse, so a name that fails to parse
    /// leaves the last owner in place and a good one is not copied.
    pub(super) last_owner: bool,
    pub(super) owners: [NameBuf; 2],
    pub(super) owner: usize,
    /// The NS target of a fused line (`fast.rs`), read in place.
    pub(super) target: NameBuf,
    rdata: Vec<u8>,
    scratch: Vec<u8>,
    pub(super) stats: ParseStats,
    diags: &'s mut Vec<Diagnostic>,
    depth: usize,
    /// Octets read from files so far (the byte budget's count).
    pub(super) read_total: u64,
    pub(super) opts: &'s LoadOptions,
    /// A budget is spent or an entry too long: nothing more is read.
    pub(super) stopped: bool,
    /// The stopwatch of a timed load ([`LoadOptions::timings`]).
    pub(super) lap: Option<Lap>,
    /// A block of a parallel parse (`parallel.rs`): the state at its
    /// start is a guess (origin, `$TTL`) or unknown (the last owner and
    /// the last TTL), `$INCLUDE` and `$GENERATE` are not handled here.
    pub(super) spec: Option<Spec>,
    /// The parallel parse, if the caller has one ([`ParallelFn`]).
    pub(super) parallel: Option<ParallelFn>,
}

/// What a block parsed on a guess ([`State::spec`]) needs from the parse
/// before it.
#[derive(Default)]
pub(super) struct Spec {
    /// The block needs what it cannot know (a blank owner before any
    /// owner, `$INCLUDE`, `$GENERATE`, an SOA without TTL before any
    /// TTL): it stopped there, and is parsed again on the true state.
    pub(super) aborted: bool,
    /// Records handed to the sink before each diagnostic of the block.
    pub(super) marks: Vec<u64>,
    /// Indexes (in the block's records) of records whose TTL is the last
    /// TTL before the block (no `$TTL`, no TTL of their own, none before
    /// them in the block): the sink got 0; the merge fills in the true
    /// one.
    pub(super) inherit_ttl: Vec<u64>,
}

/// The parallel parse of one file's text (`parallel::parse`), handed in
/// by the public entry points (`zonefile::parse_with`) so that this
/// module, which `parallel.rs` builds on, does not depend on it. Without
/// it a zone is parsed on the calling thread whatever
/// [`LoadOptions::threads`] says.
pub(super) type ParallelFn = fn(
    &mut State<'_>,
    &str,
    u16,
    Feed<'_, '_>,
    Option<&Path>,
    &mut dyn FnMut(&Record<'_>) -> SinkResult,
) -> std::io::Result<()>;

/// Parses a zone from `source` with the initial `origin` under `opts`,
/// calling `sink` for each record and appending diagnostics to `diags`;
/// files and texts larger than a block go to `parallel` when
/// [`LoadOptions::threads`] asks for more than one thread.
pub(super) fn parse_hooked(
    source: Source<'_>,
    origin: &[u8],
    opts: &LoadOptions,
    parallel: Option<ParallelFn>,
    sink: &mut dyn FnMut(&Record<'_>) -> SinkResult,
    diags: &mut Vec<Diagnostic>,
) -> ParseStats {
    let mut st = State::new(origin, opts, diags);
    st.parallel = parallel;
    read_source(&mut st, source, sink);
    st.stats
}

/// Gives up the parse of a block on a guess ([`State::spec`]): it needs
/// the state before it.
fn abort(st: &mut State<'_>) {
    if let Some(s) = &mut st.spec {
        s.aborted = true;
    }
    st.stopped = true;
}

impl<'s> State<'s> {
    /// The state at the start of a zone whose origin is `origin`.
    pub(super) fn new(origin: &[u8], opts: &'s LoadOptions, diags: &'s mut Vec<Diagnostic>) -> Self {
        State {
            origin: NameBuf::from_wire(origin).unwrap_or_default(),
            default_ttl: None,
            last_ttl: None,
            last_owner: false,
            owners: [NameBuf::root(); 2],
            owner: 0,
            target: NameBuf::root(),
            rdata: Vec::with_capacity(1024),
            scratch: Vec::with_capacity(1024),
            stats: ParseStats::default(),
            diags,
            depth: 0,
            read_total: 0,
            opts,
            stopped: false,
            lap: opts.timings.as_ref().map(Lap::new),
            spec: None,
            parallel: None,
        }
    }
}

/// Stops the parse: an error at `line` of `file`, and nothing more read.
pub(super) fn stop(st: &mut State<'_>, file: &str, line: u32, message: String) {
    error(st, file, line, message);
    st.stopped = true;
}

pub(super) fn error(st: &mut State<'_>, file: &str, line: u32, message: String) {
    st.stats.errors += 1;
    if st.stats.errors <= MAX_ERRORS {
        st.diags.push(Diagnostic { file: file.to_string(), line, message, warning: false });
        if let Some(s) = &mut st.spec {
            s.marks.push(st.stats.records);
        }
    }
}

/// Parses the zone text of `source`: a file (and its `$INCLUDE`s) or
/// text in memory, within the byte budget.
fn read_source(st: &mut State<'_>, source: Source<'_>, sink: &mut dyn FnMut(&Record<'_>) -> SinkResult) {
    match source {
        Source::File(p) => {
            let name = p.display().to_string();
            if let Err(e) = parse_file(st, &name, p, sink, CHUNK) {
                error(st, &name, 0, format!("cannot read zone file: {e}"));
            }
        }
        Source::Memory { name, data } => {
            if data.len() as u64 > st.opts.max_bytes {
                let msg =
                    format!("zone text of {} octets exceeds the budget of {} octets", data.len(), st.opts.max_bytes);
                error(st, name, 0, msg);
            } else {
                parse_text(st, name, data, None, sink)
            }
        }
    }
}

/// Parses a file chunk by chunk. Errors are read errors.
fn parse_file(
    st: &mut State<'_>,
    file: &str,
    path: &Path,
    sink: &mut dyn FnMut(&Record<'_>) -> SinkResult,
    chunk: usize,
) -> std::io::Result<()> {
    if st.stats.files.len() >= MAX_FILES {
        stop(st, file, 0, format!("more than {MAX_FILES} files read for one zone"));
        return Ok(());
    }
    let watch = st.opts.watch.clone();
    let parallel = st.parallel.filter(|_| st.opts.threads > 1);
    let mut chunks = Chunks::open(path, watch.as_deref(), if parallel.is_some() { st.opts.block() } else { chunk })?;
    let dir = path.parent().map(Path::to_path_buf);
    let file_idx = st.stats.files.len() as u16;
    st.stats.files.push(file.to_string());
    if let Some(parse) = parallel.filter(|_| chunks.size() > st.opts.block() as u64) {
        return parse(st, file, file_idx, Feed::File(chunks), dir.as_deref(), sink);
    }
    let mut line = 1u32;
    loop {
        let filled = chunks.fill(&mut st.read_total, st.opts.max_bytes)?;
        timings::lap(&mut st.lap, Phase::Read);
        if !filled {
            let msg = format!("the zone's text exceeds the budget of {} octets", st.opts.max_bytes);
            stop(st, file, line, msg);
            return Ok(());
        }
        let partial = !chunks.eof();
        let (used, next_line) = parse_chunk(st, file, file_idx, chunks.data(), line, dir.as_deref(), partial, sink);
        timings::lap(&mut st.lap, Phase::Unsplit);
        st.stats.bytes += used as u64;
        if chunks.eof() || st.stats.errors >= MAX_ERRORS || st.stopped {
            return Ok(());
        }
        if used == 0 {
            // One entry longer than the buffer: read more, up to a bound.
            if !chunks.grow() {
                stop(st, file, line, format!("an entry (one logical line) is longer than {MAX_ENTRY} octets"));
                return Ok(());
            }
            continue;
        }
        chunks.consume(used);
        timings::lap(&mut st.lap, Phase::Read);
        line = next_line;
    }
}

fn parse_text(
    st: &mut State<'_>,
    file: &str,
    data: &[u8],
    dir: Option<&Path>,
    sink: &mut dyn FnMut(&Record<'_>) -> SinkResult,
) {
    let file_idx = st.stats.files.len() as u16;
    st.stats.files.push(file.to_string());
    if let Some(parse) = st.parallel.filter(|_| st.opts.threads > 1 && data.len() > st.opts.block()) {
        let feed = Feed::Memory { data, pos: 0 };
        let bytes = st.stats.bytes + data.len() as u64;
        // Text in memory is not read: no error can come.
        let _ = parse(st, file, file_idx, feed, dir, sink);
        // All of it counts, as below, even when the parse stopped early.
        st.stats.bytes = bytes;
        return;
    }
    st.stats.bytes += data.len() as u64;
    parse_chunk(st, file, file_idx, data, 1, dir, false, sink);
    timings::lap(&mut st.lap, Phase::Unsplit);
}

/// Parses the entries of `data` (text starting on an entry boundary at
/// `line`). With `partial`, the text may end inside an entry: an entry
/// that reaches the end of `data` is left for the next chunk. Returns the
/// octets consumed and the line after them.
#[allow(clippy::too_many_arguments)]
pub(super) fn parse_chunk(
    st: &mut State<'_>,
    file: &str,
    file_idx: u16,
    data: &[u8],
    line: u32,
    dir: Option<&Path>,
    partial: bool,
    sink: &mut dyn FnMut(&Record<'_>) -> SinkResult,
) -> (usize, u32) {
    let mut lx = Lexer::at_line(data, line);
    let mut e = Entry::default();
    let mut owner_text: fast::OwnerText = None;
    loop {
        if st.stats.errors >= MAX_ERRORS || st.stopped {
            return (data.len(), lx.line());
        }
        let (before, before_line) = (lx.position(), lx.line());
        if let Some(l) = &mut st.lap {
            l.entry();
        }
        if let Some((next, res)) = fused(st, file_idx, data, before, before_line, &mut owner_text, sink) {
            lx.skip_line(next);
            if let Err(msg) = res {
                error(st, file, before_line, msg);
            }
            continue;
        }
        // The general path may change the origin or the owner.
        owner_text = None;
        let r = lx.next_entry(&mut e);
        timings::fine(&mut st.lap, Phase::Lex);
        // An entry that reaches the end of the text may go on after it,
        // unless it ended on a newline outside parentheses.
        if partial && lx.position() >= data.len() && !lx.clean_end() {
            return (before, before_line);
        }
        match r {
            Ok(false) => return (data.len(), lx.line()),
            Ok(true) => {}
            Err((line, msg)) => {
                error(st, file, line, msg.to_string());
                continue;
            }
        }
        let first = &data[e.tokens[0].start as usize..e.tokens[0].end as usize];
        if !e.blank_owner && first.first() == Some(&b'$') && !e.tokens[0].quoted {
            directive(st, file, file_idx, data, &e, dir, sink);
            timings::fine(&mut st.lap, Phase::Header);
            continue;
        }
        if let Err(msg) = record_entry(st, file_idx, data, &e, sink) {
            error(st, file, e.line, msg);
        }
    }
}

/// The line at `pos` through the fused path (`fast.rs`), if it takes it:
/// the record goes to the sink with the TTL and owner rules of
/// [`record_entry`]; returns where the next line starts and the sink's
/// verdict. `None` (nothing changed) leaves the line to the general path,
/// and so does every case where the state decides: no TTL known, a
/// block on a guess without one, the record budget spent.
fn fused(
    st: &mut State<'_>,
    file_idx: u16,
    data: &[u8],
    pos: usize,
    line: u32,
    owner_text: &mut fast::OwnerText,
    sink: &mut dyn FnMut(&Record<'_>) -> SinkResult,
) -> Option<(usize, SinkResult)> {
    let free = 1 - st.owner;
    let (origin, lap) = (&st.origin, &mut st.lap);
    let mut addr = [0u8; 16];
    let l = fast::read(
        data,
        pos,
        origin,
        st.last_owner,
        *owner_text,
        &mut st.owners[free],
        &mut st.target,
        &mut addr,
        &mut st.rdata,
        lap,
    )?;
    let ttl = match (l.ttl, st.default_ttl, st.last_ttl) {
        (Some(v), _, _) => v,
        // A block on a guess knows neither; the general path marks it.
        _ if st.spec.is_some() && st.default_ttl.is_none() && st.last_ttl.is_none() => return None,
        (None, Some(d), _) | (None, None, Some(d)) => d,
        (None, None, None) => return None,
    };
    if st.stats.records >= st.opts.max_records {
        return None;
    }
    // Committed from here on: the line is the fused path's.
    if l.owner_read {
        st.owner = free;
        *owner_text = Some(l.owner_text);
    }
    st.last_owner = true;
    if l.ttl.is_some() {
        st.last_ttl = Some(ttl);
    }
    if let Some(lap) = &mut st.lap {
        lap.parsed();
    }
    let rdata = l.rdata(&addr, &st.target, &st.rdata);
    let rec = Record { owner: &st.owners[st.owner], rtype: l.rtype, class: c::IN, ttl, rdata, file: file_idx, line };
    let res = sink(&rec);
    timings::lap(&mut st.lap, Phase::Add);
    st.stats.records += 1;
    st.stats.fused += 1;
    Some((l.next, res))
}

fn directive(
    st: &mut State<'_>,
    file: &str,
    file_idx: u16,
    data: &[u8],
    e: &Entry,
    dir: Option<&Path>,
    sink: &mut dyn FnMut(&Record<'_>) -> SinkResult,
) {
    let tok = |i: usize| e.tokens.get(i).map(|t| &data[t.start as usize..t.end as usize]);
    let name = tok(0).unwrap_or_default();
    let line = e.line;
    if name.eq_ignore_ascii_case(b"$ORIGIN") {
        match tok(1) {
            Some(o) if e.tokens.len() == 2 => match parse_name(o, &st.origin) {
                Ok(n) => st.origin = n,
                Err(m) => error(st, file, line, format!("$ORIGIN: {m}")),
            },
            _ => error(st, file, line, "$ORIGIN needs exactly one domain name".into()),
        }
    } else if name.eq_ignore_ascii_case(b"$TTL") {
        match tok(1).and_then(parse_ttl) {
            Some(v) if e.tokens.len() == 2 => st.default_ttl = Some(v),
            _ => error(st, file, line, "$TTL needs exactly one TTL value".into()),
        }
    } else if st.spec.is_some() && (name.eq_ignore_ascii_case(b"$INCLUDE") || name.eq_ignore_ascii_case(b"$GENERATE")) {
        // A block on a guess knows neither the record count nor the
        // directory: parsed again on the true state.
        abort(st);
    } else if name.eq_ignore_ascii_case(b"$INCLUDE") {
        include(st, file, line, tok(1), tok(2), dir, sink);
    } else if name.eq_ignore_ascii_case(b"$GENERATE") {
        if let Err(m) = generate(st, file_idx, data, e, sink) {
            error(st, file, line, format!("$GENERATE: {m}"));
        }
    } else {
        error(st, file, line, format!("unknown directive '{}'", String::from_utf8_lossy(name)));
    }
}

/// `$INCLUDE path [origin]` (RFC 1035 §5.1) at `line` of `file`: the file
/// is read (relative to the including file's directory `dir`), with
/// `origin` as its origin if given; the origin and the last owner are
/// restored after it.
fn include(
    st: &mut State<'_>,
    file: &str,
    line: u32,
    path: Option<&[u8]>,
    origin: Option<&[u8]>,
    dir: Option<&Path>,
    sink: &mut dyn FnMut(&Record<'_>) -> SinkResult,
) {
    let Some(path) = path else {
        error(st, file, line, "$INCLUDE needs a file name".into());
        return;
    };
    let Some(dir) = dir else {
        error(st, file, line, "$INCLUDE is not allowed here".into());
        return;
    };
    if st.depth >= MAX_INCLUDE_DEPTH {
        error(st, file, line, "$INCLUDE nested too deeply".into());
        return;
    }
    let mut path_buf = Vec::new();
    if crate::zonefile::fields::decode_text(path, &mut path_buf).is_err() {
        error(st, file, line, "$INCLUDE: bad file name".into());
        return;
    }
    let p = PathBuf::from(String::from_utf8_lossy(&path_buf).into_owned());
    let full = if p.is_absolute() { p } else { dir.join(p) };
    let saved_origin = st.origin;
    let saved_owner = st.last_owner.then(|| st.owners[st.owner]);
    if let Some(o) = origin {
        match parse_name(o, &st.origin) {
            Ok(n) => st.origin = n,
            Err(m) => {
                error(st, file, line, format!("$INCLUDE origin: {m}"));
                return;
            }
        }
    }
    st.depth += 1;
    let r = parse_file(st, &full.display().to_string(), &full, sink, CHUNK);
    st.depth -= 1;
    if let Err(err) = r {
        error(st, file, line, format!("$INCLUDE {}: {err}", full.display()));
    }
    // RFC 1035 §5.1: the origin change of an $INCLUDE ends with the file.
    st.origin = saved_origin;
    st.last_owner = saved_owner.is_some();
    if let Some(o) = saved_owner {
        st.owners[st.owner] = o;
    }
}

/// Parses one record entry and hands it to the sink.
fn record_entry(
    st: &mut State<'_>,
    file_idx: u16,
    data: &[u8],
    e: &Entry,
    sink: &mut dyn FnMut(&Record<'_>) -> SinkResult,
) -> Result<(), String> {
    // The origin and the owner are borrowed from the state, not copied
    // (a name buffer is 256 octets; copies of them per record were a
    // tenth of a large zone's parse).
    let mut f = Fields::new(data, &e.tokens, &st.origin);
    if !e.blank_owner {
        let (o, _) = f.next_tok()?;
        let next = 1 - st.owner;
        parse_name_into(o, &st.origin, &mut st.owners[next])?;
        st.owner = next;
        st.last_owner = true;
    }
    if !st.last_owner {
        if st.spec.is_some() {
            // The owner is the one before the block.
            abort(st);
            return Ok(());
        }
        return Err("no owner name: the first record must name its owner".into());
    }
    let owner = &st.owners[st.owner];
    timings::fine(&mut st.lap, Phase::Owner);
    let mut ttl = None;
    let mut class = None;
    let rt = loop {
        let (tok, quoted) = f.next_tok().map_err(|_| "missing type".to_string())?;
        if quoted {
            return Err("missing type".into());
        }
        if ttl.is_none() && tok[0].is_ascii_digit() {
            ttl = Some(parse_ttl(tok).ok_or_else(|| format!("bad TTL '{}'", String::from_utf8_lossy(tok)))?);
            continue;
        }
        if class.is_none() {
            if let Some(cl) = rtype::class_from_text(tok) {
                class = Some(cl);
                continue;
            }
        }
        match rtype::type_from_text(tok) {
            Some(v) => break v,
            None => return Err(format!("unknown type '{}'", String::from_utf8_lossy(tok))),
        }
    };
    let class = class.unwrap_or(c::IN);
    if class != c::IN {
        return Err(format!("class {} does not match the zone's class IN", rtype::class_to_text(class)));
    }
    if rtype::is_meta(rt) {
        return Err(format!("type {} cannot appear in a zone", rtype::type_to_text(rt)));
    }
    timings::fine(&mut st.lap, Phase::Header);
    let mut rdata = std::mem::take(&mut st.rdata);
    let mut scratch = std::mem::take(&mut st.scratch);
    let r = parse_rdata(rt, &mut f, &mut rdata, &mut scratch);
    st.scratch = scratch;
    if let Err(m) = r {
        st.rdata = rdata;
        return Err(format!("{} record: {m}", rtype::type_to_text(rt)));
    }
    let ttl = match ttl {
        Some(v) => {
            st.last_ttl = Some(v);
            v
        }
        // A block on a guess without `$TTL` or a TTL before: the last TTL
        // before the block (the merge fills it in), unless this is an
        // SOA (its MINIMUM serves when there is none).
        None if st.spec.is_some() && st.default_ttl.is_none() && st.last_ttl.is_none() => {
            if rt == t::SOA {
                st.rdata = rdata;
                abort(st);
                return Ok(());
            }
            if let Some(s) = &mut st.spec {
                s.inherit_ttl.push(st.stats.records);
            }
            0
        }
        None => match (st.default_ttl, st.last_ttl) {
            (Some(d), _) => d,
            (None, Some(l)) => l,
            (None, None) if rt == t::SOA => {
                // RFC 1035 zones without $TTL: the SOA's MINIMUM serves.
                let n = rdata.len();
                let m = u32::from_be_bytes([rdata[n - 4], rdata[n - 3], rdata[n - 2], rdata[n - 1]]);
                st.last_ttl = Some(m);
                m
            }
            (None, None) => {
                st.rdata = rdata;
                return Err("no TTL given and no $TTL directive before this record".into());
            }
        },
    };
    if st.stats.records >= st.opts.max_records {
        st.rdata = rdata;
        st.stopped = true;
        return Err(format!("the zone has more than {} records (the record budget)", st.opts.max_records));
    }
    if let Some(l) = &mut st.lap {
        l.parsed();
    }
    let rec = Record { owner, rtype: rt, class, ttl, rdata: &rdata, file: file_idx, line: e.line };
    let res = sink(&rec);
    timings::lap(&mut st.lap, Phase::Add);
    st.stats.records += 1;
    st.rdata = rdata;
    res
}

/// `$GENERATE` (see `generate.rs`): the range is checked against the
/// zone's remaining record budget before the first record is made; each
/// expanded line is read as an entry at the directive's line.
fn generate(
    st: &mut State<'_>,
    file_idx: u16,
    data: &[u8],
    e: &Entry,
    sink: &mut dyn FnMut(&Record<'_>) -> SinkResult,
) -> Result<(), String> {
    let toks: Vec<&[u8]> = e.tokens.iter().map(|t| &data[t.start as usize..t.end as usize]).collect();
    let g = Generate::new(&toks)?;
    let count = g.count();
    let left = st.opts.max_records.saturating_sub(st.stats.records);
    if count > left {
        st.stopped = true;
        return Err(format!(
            "the range makes {count} records; the zone's record budget ({}) leaves {left}",
            st.opts.max_records
        ));
    }
    g.expand(&mut |line| {
        // Every entry of the text (a quoted template may hold a
        // newline), all at the directive's line.
        let mut lx = Lexer::new(line);
        let mut ge = Entry::default();
        while lx.next_entry(&mut ge).map_err(|(_, m)| m.to_string())? {
            ge.line = e.line;
            ge.blank_owner = false;
            record_entry(st, file_idx, line, &ge, sink)?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use levee_wire::name;

    type Parsed = Vec<(String, u16, u32, Vec<u8>)>;

    /// The one-thread parse (the parallel one is tested in `parallel.rs`).
    fn parse_with(
        source: Source<'_>,
        origin: &[u8],
        opts: &LoadOptions,
        sink: &mut dyn FnMut(&Record<'_>) -> SinkResult,
        diags: &mut Vec<Diagnostic>,
    ) -> ParseStats {
        parse_hooked(source, origin, opts, None, sink, diags)
    }

    fn parse(
        source: Source<'_>,
        origin: &[u8],
        sink: &mut dyn FnMut(&Record<'_>) -> SinkResult,
        diags: &mut Vec<Diagnostic>,
    ) -> ParseStats {
        parse_with(source, origin, &LoadOptions::default(), sink, diags)
    }

    fn parse_str(z: &str) -> (Parsed, Vec<Diagnostic>) {
        let origin = name::from_text("example.", None).unwrap();
        let mut out = vec![];
        let mut diags = vec![];
        parse(
            Source::Memory { name: "t.zone", data: z.as_bytes() },
            &origin,
            &mut |r: &Record<'_>| {
                out.push((name::to_text(r.owner), r.rtype, r.ttl, r.rdata.to_vec()));
                Ok(())
            },
            &mut diags,
        );
        (out, diags)
    }

    /// A file read in chunks of any size parses like the whole text:
    /// entries cut by a chunk end (parentheses, quotes, comments, blank
    /// owners) wait for the next chunk; lines stay right.
    #[test]
    fn chunked_files_parse_like_whole_text() {
        let text = "$TTL 1h\n@ IN SOA ns hm ( 1 ; serial (\n 2 3\n 4 5 )\n  NS ns\n; comment \"(\n\
                    ns 60 IN A 192.0.2.1\nt TXT \"a b\" \"c;d\" ( \"e\"\n )\n\nbad A 999.1.1.1\n\
                    $ORIGIN sub.example.\nx AAAA ::1\n\t   A 192.0.2.9\n\
                    u TXT \"unterminated\nlast A 192.0.2.7";
        let origin = name::from_text("example.", None).unwrap();
        let (whole, wd) = parse_str(text);
        let wd: Vec<(u32, String)> = wd.into_iter().map(|d| (d.line, d.message)).collect();
        let path = std::env::temp_dir().join(format!("levee-chunk-test-{}.zone", std::process::id()));
        std::fs::write(&path, text).unwrap();
        for chunk in 1..=text.len() + 1 {
            let mut out = vec![];
            let mut diags = vec![];
            let opts = LoadOptions::default();
            let mut st = State::new(&origin, &opts, &mut diags);
            parse_file(
                &mut st,
                "f",
                &path,
                &mut |r: &Record<'_>| {
                    out.push((name::to_text(r.owner), r.rtype, r.ttl, r.rdata.to_vec()));
                    Ok(())
                },
                chunk,
            )
            .unwrap();
            assert_eq!(st.stats.bytes, text.len() as u64);
            let d: Vec<(u32, String)> = diags.into_iter().map(|d| (d.line, d.message)).collect();
            assert_eq!(out, whole, "chunk {chunk}");
            assert_eq!(d, wd, "chunk {chunk}");
        }
        std::fs::remove_file(&path).unwrap();
        assert!(!wd.is_empty() && whole.len() >= 6);
    }

    #[test]
    fn basics() {
        let (r, d) = parse_str(
            "$TTL 1h\n@ IN SOA ns hm 1 2 3 4 5\n  NS ns\nns 60 IN A 192.0.2.1\nwww IN 30 AAAA ::1\n\
             gen TYPE1 \\# 4 C0000201\n",
        );
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(r.len(), 5);
        assert_eq!(r[1].0, "example.");
        assert_eq!(r[1].2, 3600);
        assert_eq!(r[2].2, 60);
        assert_eq!(r[3].2, 30);
        assert_eq!(r[4].3, vec![192, 0, 2, 1]);
    }

    /// A blank owner is the last owner that parsed: a bad owner in
    /// between is an error and changes nothing.
    #[test]
    fn a_bad_owner_keeps_the_last_one() {
        let (r, d) = parse_str(
            "$TTL 1h\nhost A 192.0.2.1\nbad..name A 192.0.2.2\n  A 192.0.2.3\nb.c A 192.0.2.4\n  A 192.0.2.5\n",
        );
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].line, 3);
        let owners: Vec<&str> = r.iter().map(|x| x.0.as_str()).collect();
        assert_eq!(owners, ["host.example.", "host.example.", "b.c.example.", "b.c.example."]);
        let (_, d) = parse_str("$TTL 1h\nbad..name A 192.0.2.2\n  A 192.0.2.3\n");
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(d[1].message.contains("no owner name"), "{d:?}");
    }

    #[test]
    fn errors_name_the_line() {
        let (_, d) = parse_str("$TTL 1h\n@ SOA ns hm 1 2 3 4 5\nx A 1.2.3\ny BOGUS 1\n");
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].line, 3);
        assert!(d[0].to_string().starts_with("t.zone:3: "), "{}", d[0]);
        assert_eq!(d[1].line, 4);
    }

    fn parse_opts(z: &str, opts: &LoadOptions) -> (usize, Vec<Diagnostic>) {
        let origin = name::from_text("example.", None).unwrap();
        let mut n = 0;
        let mut diags = vec![];
        parse_with(
            Source::Memory { name: "t.zone", data: z.as_bytes() },
            &origin,
            opts,
            &mut |_| {
                n += 1;
                Ok(())
            },
            &mut diags,
        );
        (n, diags)
    }

    /// `$GENERATE` modifiers that overflowed, allocated gigabytes or
    /// panicked are errors with the line.
    #[test]
    fn generate_modifiers_are_bounded() {
        for (line, want) in [
            ("$GENERATE 1-1 h${0,4000000000,d} A 10.0.0.1", "width 4000000000"),
            ("$GENERATE 1-1 h${0,256,d} A 10.0.0.1", "width 256"),
            ("$GENERATE 1-1 h${9223372036854775807,0,d} A 10.0.0.1", "out of range"),
            ("$GENERATE 4294967295-4294967295 h${9223372036854775807} A 10.0.0.1", "out of range"),
            ("$GENERATE 1-1 h${-9223372036854775808} A 10.0.0.1", "negative"),
            ("$GENERATE 1-1 h${0,1,d,x} A 10.0.0.1", "too many fields"),
            ("$GENERATE 1-1 h${0,99999999999999999999999} A 10.0.0.1", "bad width"),
            ("$GENERATE 1-1 h${ A 10.0.0.1", "unterminated"),
        ] {
            let (_, d) = parse_str(&format!("$TTL 1h\n{line}\n"));
            assert_eq!(d.len(), 1, "{line}: {d:?}");
            assert_eq!(d[0].line, 2, "{line}");
            assert!(d[0].message.contains(want), "{line}: {}", d[0].message);
        }
        // The widest field still works.
        let (r, d) = parse_str("$TTL 1h\n$GENERATE 1-1 h TXT ${0,255,x}\n");
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(r[0].3.len(), 256);
    }

    /// The record budget is per zone: several `$GENERATE` lines and plain
    /// records together cannot pass it, and a range that would is refused
    /// before it starts.
    #[test]
    fn record_budget_is_per_zone() {
        let opts = LoadOptions { max_records: 1000, ..LoadOptions::default() };
        let z = "$TTL 1h\n$GENERATE 1-600 a$ A 10.0.0.1\n$GENERATE 1-600 b$ A 10.0.0.1\nc A 10.0.0.1\n";
        let (n, d) = parse_opts(z, &opts);
        assert_eq!(n, 600);
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].message.contains("record budget (1000) leaves 400") && d[0].line == 3, "{}", d[0]);
        let plain: String = (0..1001).map(|i| format!("h{i} A 10.0.0.1\n")).collect();
        let (n, d) = parse_opts(&format!("$TTL 1h\n{plain}"), &opts);
        assert_eq!(n, 1000);
        assert!(d.len() == 1 && d[0].line == 1002 && d[0].message.contains("more than 1000 records"), "{d:?}");
        // A 102-octet line asking for a million records (the old per-line
        // cap allowed ten million) against the default budget is fine,
        // against a small one refused at once.
        let (n, d) = parse_opts("$TTL 1h\n$GENERATE 1-1000000 h$ A 10.0.0.1\n", &opts);
        assert_eq!((n, d.len()), (0, 1));
    }

    /// The byte budget counts every file of the zone, `$INCLUDE`s too; an
    /// entry without end is cut at [`MAX_ENTRY`].
    #[test]
    fn byte_budget_and_entry_bound() {
        let dir = std::env::temp_dir().join(format!("levee-budget-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let inc: String = (0..200).map(|i| format!("i{i} A 10.0.0.1\n")).collect();
        std::fs::write(dir.join("inc"), &inc).unwrap();
        std::fs::write(dir.join("z"), "$TTL 1h\n$INCLUDE inc\n$INCLUDE inc\n$INCLUDE inc\n").unwrap();
        let origin = name::from_text("example.", None).unwrap();
        let run = |opts: &LoadOptions, file: &str| {
            let mut diags = vec![];
            let stats = parse_with(Source::File(&dir.join(file)), &origin, opts, &mut |_| Ok(()), &mut diags);
            (stats, diags)
        };
        let (st, d) = run(&LoadOptions::default(), "z");
        assert!(d.is_empty() && st.records == 600, "{d:?}");
        let limit = 2 * inc.len() as u64 + 100;
        let (st, d) = run(&LoadOptions { max_bytes: limit, ..LoadOptions::default() }, "z");
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].message.contains(&format!("budget of {limit} octets")), "{}", d[0]);
        assert!(st.records <= 400);
        // One entry of 5 MiB without a newline: an error, not a buffer
        // growing without end.
        std::fs::write(dir.join("long"), vec![b'x'; 5 << 20]).unwrap();
        let (_, d) = run(&LoadOptions::default(), "long");
        assert!(d.len() == 1 && d[0].message.contains("longer than"), "{d:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Only regular files are read: a FIFO (whose open would wait for a
    /// writer for ever), a device (`/dev/zero` would be read without end)
    /// and a directory are errors naming the `$INCLUDE` line; the other
    /// records still load.
    #[test]
    fn only_regular_files_are_read() {
        let dir = std::env::temp_dir().join(format!("levee-regular-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let fifo = dir.join("fifo");
        let _ = std::fs::remove_file(&fifo);
        let made = std::process::Command::new("mkfifo").arg(&fifo).status().map(|s| s.success()).unwrap_or(false);
        assert!(made, "mkfifo");
        std::fs::write(
            dir.join("z"),
            format!(
                "$TTL 1h\na A 10.0.0.1\n$INCLUDE {}\n$INCLUDE /dev/zero\n$INCLUDE {}\nb A 10.0.0.2\n",
                fifo.display(),
                dir.display()
            ),
        )
        .unwrap();
        let origin = name::from_text("example.", None).unwrap();
        let mut diags = vec![];
        let mut n = 0;
        let t0 = std::time::Instant::now();
        parse(
            Source::File(&dir.join("z")),
            &origin,
            &mut |_| {
                n += 1;
                Ok(())
            },
            &mut diags,
        );
        assert!(t0.elapsed() < std::time::Duration::from_secs(5));
        assert_eq!(n, 2);
        let msgs: Vec<String> = diags.iter().map(|d| format!("{}:{}", d.line, d.message)).collect();
        assert_eq!(diags.len(), 3, "{msgs:?}");
        assert!(msgs[0].starts_with("3:") && msgs[0].contains("a FIFO: only regular files"), "{msgs:?}");
        assert!(msgs[1].starts_with("4:") && msgs[1].contains("a device"), "{msgs:?}");
        assert!(msgs[2].starts_with("5:") && msgs[2].contains("a directory"), "{msgs:?}");
        // The zone file itself too.
        let mut diags = vec![];
        parse(Source::File(&fifo), &origin, &mut |_| Ok(()), &mut diags);
        assert!(diags.len() == 1 && diags[0].message.contains("a FIFO"), "{diags:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Every file-system call is bracketed by the watch.
    #[test]
    fn io_watch_counts_calls() {
        let dir = std::env::temp_dir().join(format!("levee-watch-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("z"), "$TTL 1h\na A 10.0.0.1\n").unwrap();
        let w = IoWatch::new();
        let opts = LoadOptions { watch: Some(Arc::clone(&w)), ..LoadOptions::default() };
        let origin = name::from_text("example.", None).unwrap();
        parse_with(Source::File(&dir.join("z")), &origin, &opts, &mut |_| Ok(()), &mut vec![]);
        // stat, open, fstat, two reads (data, end of file): in and out.
        assert_eq!((w.calls(), w.in_call(), w.bytes()), (10, false, 21));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    type Rec = (Vec<u8>, u16, u32, Vec<u8>, u32);

    /// A parse through the one-thread path: records, diagnostics, fused records.
    fn run(text: &str, opts: &LoadOptions) -> (Vec<Rec>, Vec<(u32, String)>, u64) {
        let origin = name::from_text("example.", None).unwrap();
        let mut out = vec![];
        let mut diags = vec![];
        let stats = parse_with(
            Source::Memory { name: "t.zone", data: text.as_bytes() },
            &origin,
            opts,
            &mut |r: &Record<'_>| {
                out.push((r.owner.to_vec(), r.rtype, r.ttl, r.rdata.to_vec(), r.line));
                Ok(())
            },
            &mut diags,
        );
        (out, diags.into_iter().map(|d| (d.line, d.message)).collect(), stats.fused)
    }

    /// The text with a comment at the end of every line: the same zone,
    /// which the fused path leaves wholly to the general one.
    fn commented(text: &str) -> String {
        text.split('\n').map(|l| format!("{l} ;c")).collect::<Vec<_>>().join("\n")
    }

    /// Odd and common lines: the fused path takes `fused` of them, and
    /// the zone reads as the general path reads it (records, TTLs,
    /// lines, every diagnostic with its line) and as the reference
    /// parser reads it (`tests/props.rs`: `fused_lines_are_the_reference`).
    #[test]
    fn fused_lines_read_as_the_general_path_reads_them() {
        let cases: &[(&str, u64)] = &[
            ("$TTL 1h\na IN NS ns.b.\na IN NS ns2\nns.a IN A 192.0.2.1\nns.a IN AAAA 2001:db8::1\n", 4),
            // TTL (units are the general path's), class before and after the TTL.
            ("$TTL 1h\na 60 IN A 1.2.3.4\nb IN 60 A 1.2.3.4\nc 1h A 1.2.3.4\nd 60 A 1.2.3.4\ne A 1.2.3.4\n", 4),
            // No $TTL: the last TTL serves; none at all is an error.
            ("a A 1.2.3.4\nb 30 A 1.2.3.4\nc A 1.2.3.4\nd NS x\n", 3),
            // $TTL and $ORIGIN change between lines; the same owner text
            // after a new origin is another name.
            ("$TTL 1h\nx NS a\nx NS b\n$ORIGIN sub.example.\nx NS c\n$TTL 5\nx NS d\n@ NS e\n", 5),
            // A blank owner, the same owner through a general line.
            ("$TTL 1h\nx NS a\n\tNS b\n  A 1.2.3.4\nx 1h NS c\nx NS d\n", 4),
            // Escapes, comments, quotes and parentheses go to the general path.
            ("$TTL 1h\na\\.b A 1.2.3.4\nc A 1.2.3.4 ; x\nd NS ( e )\nf NS a\\ b\n", 0),
            // CRLF, trailing white space, tabs, a carriage return inside.
            ("$TTL 1h\na A 1.2.3.4\r\nb\tIN\tNS\tc\t \nd NS e  \r\nf\rNS g\n", 4),
            // Case, and types and classes it does not take.
            ("$TTL 1h\na in ns b\na Aaaa ::1\nc CH A 1.2.3.4\nd MX 1 e\ne TYPE1 1.2.3.4\nf IN IN A 1.2.3.4\n", 2),
            // Bad addresses and names: errors of the general path.
            ("$TTL 1h\na A 1.2.3.256\nb A 01.2.3.4\nc AAAA 1::2::3\nd NS e..f\ne A 1.2.3\nf AAAA ::ffff:1.2.3.4\n", 0),
            ("$TTL 1h\na 4294967296 A 1.2.3.4\nb 4294967295 A 1.2.3.4\nc 00000000001 A 1.2.3.4\n", 1),
            // Extra fields, missing RDATA, a lone owner.
            ("$TTL 1h\na A 1.2.3.4 5\nb NS\nc\nd A\n", 0),
            // Long names and labels: at the bounds and over them.
            (&format!("$TTL 1h\n{0}.{0}.{0} NS {0}.{0}.{0}.{1}.\n{0}x NS a\n", "a".repeat(63), "b".repeat(61)), 1),
            (&format!("$TTL 1h\n{0}.{0}.{0}.{0} NS a\n", "a".repeat(63)), 0),
            // `@` and `.`, absolute owners.
            ("$TTL 1h\n@ NS a\n. NS b\nx.example. A 1.2.3.4\nx.example. AAAA 1:2:3:4:5:6:7:8\n", 4),
            // DS: the digest cut into tokens, numbers at their bounds,
            // mnemonics, odd digests, comments are the general path's.
            (
                "$TTL 1h\nd DS 12345 8 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE\nd DS 1 13 2 ABCD EF01\n\
                 d ds 65535 255 255 aB\nd DS 65536 8 2 AB\nd DS 1 RSASHA256 2 AB\nd DS 1 8 2 ABC\nd DS 1 8 2\n\
                 d DS 1 8 2 AB ; c\nd DS 00001 8 2 AB\nd DS 1 8 2 XY\nd DS 1 8 2 A B\n",
                5,
            ),
            // Octets the cheap boundary mask flags in names: the general path's.
            ("$TTL 1h\n*.w A 1.2.3.4\na+b NS c\nd NS e,f\ng NS x-y_z/0\n", 1),
            // The last line without a newline.
            ("$TTL 1h\na A 1.2.3.4\nb NS c", 1),
        ];
        let opts = LoadOptions::default();
        for (text, fused) in cases {
            // Eight octets after a line's last token keep it on the fused
            // path (the last case has its own end).
            let text = &if text.ends_with('\n') { format!("{text}\n\n\n\n\n\n\n\n") } else { text.to_string() };
            let (recs, diags, n) = run(text, &opts);
            let (grecs, gdiags, gn) = run(&commented(text), &opts);
            assert_eq!(gn, 0, "{text:?}");
            assert_eq!(n, *fused, "{text:?}: {recs:?} {diags:?}");
            assert_eq!(recs, grecs, "{text:?}");
            assert_eq!(diags, gdiags, "{text:?}");
        }
    }

    /// The record budget and a sink's refusal: the same stop and errors.
    #[test]
    fn budget_and_sink_errors_as_the_general_path() {
        let text: String = (0..50).map(|i| format!("h{i} IN A 10.0.0.{i}\n")).collect();
        let text = format!("$TTL 1h\n{text}");
        let opts = LoadOptions { max_records: 20, ..LoadOptions::default() };
        let (r, d, n) = run(&text, &opts);
        let (gr, gd, _) = run(&commented(&text), &opts);
        assert_eq!((r.len(), n), (20, 20));
        assert_eq!((r, &d), (gr, &gd));
        assert!(d.len() == 1 && d[0].0 == 22, "{d:?}");
        let origin = name::from_text("example.", None).unwrap();
        for text in [text.clone(), commented(&text)] {
            let mut diags = vec![];
            let mut k = 0;
            parse_with(
                Source::Memory { name: "t.zone", data: text.as_bytes() },
                &origin,
                &LoadOptions::default(),
                &mut |_| {
                    k += 1;
                    if k % 7 == 0 {
                        Err("refused".into())
                    } else {
                        Ok(())
                    }
                },
                &mut diags,
            );
            let lines: Vec<u32> = diags.iter().map(|d| d.line).collect();
            assert_eq!(lines, [8, 15, 22, 29, 36, 43, 50], "{text:?}");
        }
    }

    #[test]
    fn generate() {
        let (r, d) =
            parse_str("$TTL 1h\n$GENERATE 1-3 host$ A 10.0.0.$\n$GENERATE 10-11/1 h${-9,3,d} CNAME x${0,2,x}\n");
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(r.len(), 5);
        assert_eq!(r[2].0, "host3.example.");
        assert_eq!(r[2].3, vec![10, 0, 0, 3]);
        assert_eq!(r[4].0, "h002.example.");
        assert_eq!(name::to_text(&r[4].3), "x0b.example.");
    }
}
