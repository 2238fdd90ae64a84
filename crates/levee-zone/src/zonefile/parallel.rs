//! Parsing one zone file on several threads, with the result of the
//! single-threaded parse: the same records handed to the sink in file
//! order, the same diagnostics at the same lines, the same budgets.
//!
//! ## How
//!
//! The calling thread reads the text in *blocks* of about
//! [`LoadOptions::block_size`](super::LoadOptions::block_size) octets,
//! each cut just after a newline that is followed by neither a space nor
//! a tab (so the next line names its owner). Worker threads parse blocks
//! side by side, each from a *guess* of the state at its start, into a
//! list of records and diagnostics ([`BlockOut`]); the calling thread
//! takes the lists back in file order, checks each guess against the true
//! state the blocks before it left, and hands the records to the sink.
//!
//! A cut point may be wrong, and the state at a block's start is not
//! known when the block is parsed; each case falls back to the plain
//! parse, on the true state, of what the block covers:
//!
//! * **Inside parentheses or a quoted string**: the block before the cut
//!   ends inside an entry. Its parse stops at the last entry that ended
//!   on a newline outside parentheses ([`Lexer::clean_end`]); the octets
//!   after it are carried over, and the next block is parsed again after
//!   them on the calling thread. A block is taken as parsed only when
//!   the text before it ended on an entry boundary, which the parse of
//!   that text tells exactly.
//! * **`$ORIGIN` and `$TTL`**: the calling thread looks at the lines that
//!   start with `$` in each block as it reads it ([`scan_directives`]),
//!   and the next block's guess carries the origin and default TTL they
//!   set. The guess must equal the true state, or the block is parsed
//!   again.
//! * **The previous owner and the previous TTL**: unknown at a block's
//!   start. A record with a blank owner before any owner in its block
//!   stops the block's parse ([`Spec::aborted`]): parsed again. A record
//!   without TTL when there is no `$TTL` and no TTL before it in the
//!   block takes the last TTL before the block, filled in at the merge.
//! * **`$INCLUDE` and `$GENERATE`** (they need the directory, the record
//!   count): the block is parsed again.
//!
//! Line numbers inside a block count from 1 and are moved by the line
//! at which the block starts, known once the blocks before it are
//! merged. The record budget, the error limit, the sink's own errors and
//! the byte budget are applied at the merge, in file order, as the plain
//! parse applies them: the first error in file order is reported first,
//! at its line, and a parse that stops stops at the same record.
//!
//! At most `2 * threads + 2` blocks are read ahead of the merge, so the
//! text of a large zone is never held whole. A worker that panics hands
//! back nothing and the block is parsed again on the calling thread
//! (where a panic is the load's, as without threads).

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Mutex;

use levee_wire::name::NameBuf;

use super::fields::{parse_name, parse_ttl};
use super::lexer::{Entry, Lexer};
use super::parser::{error, parse_chunk, stop, LoadOptions, Record, SinkResult, Spec, State, MAX_ERRORS};
use super::source::{Feed, MAX_ENTRY};
use super::timings::{self, Phase};

/// One block's text.
enum Text<'a> {
    Owned(Vec<u8>),
    Borrowed(&'a [u8]),
}

impl Text<'_> {
    fn as_slice(&self) -> &[u8] {
        match self {
            Text::Owned(v) => v,
            Text::Borrowed(s) => s,
        }
    }
}

/// What the feed has next.
enum Next<'a> {
    Block(Text<'a>),
    End,
    /// The byte budget is spent.
    OverBudget,
}

/// The state a block is parsed from: what `$ORIGIN` and `$TTL` lines
/// before it set, as far as the reader saw.
#[derive(Clone, Copy)]
struct Guess {
    origin: NameBuf,
    default_ttl: Option<u32>,
}

impl Guess {
    /// The guess of `st`'s state.
    fn of(st: &State<'_>) -> Guess {
        Guess { origin: st.origin, default_ttl: st.default_ttl }
    }
}

/// Octet for octet: names equal but for case (as [`NameBuf`] compares
/// them) would give owners written in another case.
impl PartialEq for Guess {
    fn eq(&self, o: &Guess) -> bool {
        self.origin.as_slice() == o.origin.as_slice() && self.default_ttl == o.default_ttl
    }
}

/// One record of a block, its owner and RDATA in [`BlockOut::bytes`].
#[derive(Clone, Copy)]
struct Rec {
    owner: u32,
    owner_len: u8,
    rtype: u16,
    class: u16,
    ttl: u32,
    rdata: u32,
    rdata_len: u32,
    line: u32,
}

/// What a worker made of one block.
#[derive(Default)]
struct BlockOut {
    recs: Vec<Rec>,
    bytes: Vec<u8>,
    /// (records before it, line in the block, message).
    diags: Vec<(u64, u32, String)>,
    /// Indexes of records whose TTL is the last one before the block.
    inherit_ttl: Vec<u64>,
    /// Octets parsed (up to the last entry that surely ended).
    used: usize,
    /// Line in the block after them.
    next_line: u32,
    /// The block needs the state before it (see [`Spec::aborted`]).
    aborted: bool,
    /// The state the block leaves: origin and `$TTL` (from the guess if
    /// the block did not set them), last TTL and last owner if the block
    /// set them.
    origin: NameBuf,
    default_ttl: Option<u32>,
    last_ttl: Option<u32>,
    last_owner: Option<NameBuf>,
}

impl BlockOut {
    fn push(&mut self, r: &Record<'_>) {
        let owner = match self.recs.last() {
            Some(p) if &self.bytes[p.owner as usize..p.owner as usize + p.owner_len as usize] == r.owner => p.owner,
            _ => {
                let o = self.bytes.len() as u32;
                self.bytes.extend_from_slice(r.owner);
                o
            }
        };
        let rdata = self.bytes.len() as u32;
        self.bytes.extend_from_slice(r.rdata);
        self.recs.push(Rec {
            owner,
            owner_len: r.owner.len() as u8,
            rtype: r.rtype,
            class: r.class,
            ttl: r.ttl,
            rdata,
            rdata_len: r.rdata.len() as u32,
            line: r.line,
        });
    }
}

struct Job<'a> {
    seq: u64,
    text: Text<'a>,
    /// The state guessed at the block's start, and after it.
    guess: Guess,
    after: Guess,
}

struct Done<'a> {
    text: Text<'a>,
    guess: Guess,
    after: Guess,
    /// `None`: the worker panicked, or the parse was cancelled, or there
    /// is no worker.
    out: Option<BlockOut>,
}

/// Parses the text of `feed` (one file of the zone, index `file_idx`,
/// its `$INCLUDE`s relative to `dir`) on `st.opts.threads` threads.
/// Errors are read errors, as for the plain parse.
pub(super) fn parse<'a>(
    st: &mut State<'_>,
    file: &str,
    file_idx: u16,
    mut feed: Feed<'a, '_>,
    dir: Option<&Path>,
    sink: &mut dyn FnMut(&Record<'_>) -> SinkResult,
) -> std::io::Result<()> {
    let threads = st.opts.threads.clamp(1, 256);
    let block = st.opts.block();
    let (job_tx, job_rx) = mpsc::channel::<Job<'a>>();
    let job_rx = Mutex::new(job_rx);
    let (done_tx, done_rx) = mpsc::channel::<(u64, Done<'a>)>();
    let cancel = AtomicBool::new(false);
    std::thread::scope(|s| {
        let mut workers = 0;
        for i in 0..threads {
            let (rx, tx, cancel) = (&job_rx, done_tx.clone(), &cancel);
            let b = std::thread::Builder::new().name(format!("levee-parse-{i}"));
            if b.spawn_scoped(s, move || work(rx, tx, cancel, file, file_idx)).is_ok() {
                workers += 1;
            }
        }
        drop(done_tx);
        let mut m = Merge { st, file, file_idx, dir, sink, carry: Vec::new(), line: 1 };
        let r = m.run(&mut feed, block, workers, &job_tx, &done_rx);
        // Blocks still queued are handed back unparsed.
        cancel.store(true, Ordering::Relaxed);
        drop(job_tx);
        r
    })
}

/// A parse thread: blocks in, what it made of them out.
fn work<'a>(
    jobs: &Mutex<mpsc::Receiver<Job<'a>>>,
    done: mpsc::Sender<(u64, Done<'a>)>,
    cancel: &AtomicBool,
    file: &str,
    file_idx: u16,
) {
    loop {
        let job = match jobs.lock() {
            Ok(rx) => rx.recv(),
            Err(poisoned) => poisoned.into_inner().recv(),
        };
        let Ok(job) = job else { return };
        let out = if cancel.load(Ordering::Relaxed) {
            None
        } else {
            let text = job.text.as_slice();
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| parse_block(text, job.guess, file, file_idx))).ok()
        };
        let d = Done { text: job.text, guess: job.guess, after: job.after, out };
        if done.send((job.seq, d)).is_err() {
            return;
        }
    }
}

/// Parses one block from `guess`, with no budget (the merge applies
/// them) and no `$INCLUDE` or `$GENERATE` (the block is given up).
fn parse_block(text: &[u8], guess: Guess, file: &str, file_idx: u16) -> BlockOut {
    let opts = LoadOptions { max_bytes: u64::MAX, max_records: u64::MAX, ..LoadOptions::default() };
    let mut diags = Vec::new();
    let mut out = BlockOut::default();
    let mut st = State::new(&guess.origin, &opts, &mut diags);
    st.default_ttl = guess.default_ttl;
    st.spec = Some(Spec::default());
    let (used, next_line) = parse_chunk(&mut st, file, file_idx, text, 1, None, true, &mut |r| {
        out.push(r);
        Ok(())
    });
    let spec = st.spec.take().unwrap_or_default();
    out.used = used;
    out.next_line = next_line;
    out.aborted = spec.aborted;
    out.origin = st.origin;
    out.default_ttl = st.default_ttl;
    out.last_ttl = st.last_ttl;
    out.last_owner = st.last_owner.then(|| st.owners[st.owner]);
    out.inherit_ttl = spec.inherit_ttl;
    drop(st);
    out.diags = spec.marks.into_iter().zip(diags).map(|(at, d)| (at, d.line, d.message)).collect();
    out
}

/// The merge: the true state, the octets carried over to the next block
/// and the line the next block starts at.
struct Merge<'m, 's, 'f> {
    st: &'m mut State<'s>,
    file: &'f str,
    file_idx: u16,
    dir: Option<&'f Path>,
    sink: &'m mut dyn FnMut(&Record<'_>) -> SinkResult,
    carry: Vec<u8>,
    line: u32,
}

impl Merge<'_, '_, '_> {
    /// Reads blocks, hands them to the `workers` (none: each block is
    /// parsed here), merges what comes back in file order.
    fn run<'a>(
        &mut self,
        feed: &mut Feed<'a, '_>,
        block: usize,
        workers: usize,
        jobs: &mpsc::Sender<Job<'a>>,
        done: &mpsc::Receiver<(u64, Done<'a>)>,
    ) -> std::io::Result<()> {
        let window = 2 * workers as u64 + 2;
        let mut guess = Guess::of(self.st);
        let mut pending = std::collections::BTreeMap::new();
        let (mut sent, mut merged) = (0u64, 0u64);
        let mut over_budget = None;
        loop {
            while over_budget.is_none() && sent - merged < window {
                let next = feed.next(&mut self.st.read_total, self.st.opts.max_bytes, block)?;
                timings::lap(&mut self.st.lap, Phase::Read);
                let text = match next {
                    Next::Block(text) => text,
                    Next::End => {
                        over_budget = Some(false);
                        break;
                    }
                    Next::OverBudget => {
                        over_budget = Some(true);
                        break;
                    }
                };
                let before = guess;
                scan_directives(text.as_slice(), &mut guess);
                let job = Job { seq: sent, text, guess: before, after: guess };
                sent += 1;
                if workers == 0 {
                    pending.insert(job.seq, Done { text: job.text, guess: job.guess, after: job.after, out: None });
                } else if let Err(mpsc::SendError(job)) = jobs.send(job) {
                    pending.insert(job.seq, Done { text: job.text, guess: job.guess, after: job.after, out: None });
                }
            }
            if merged == sent {
                break;
            }
            let d = loop {
                if let Some(d) = pending.remove(&merged) {
                    break d;
                }
                match done.recv() {
                    Ok((seq, d)) => {
                        pending.insert(seq, d);
                    }
                    Err(_) => return Err(std::io::Error::other("the parse threads ended")),
                }
            };
            timings::lap(&mut self.st.lap, Phase::Wait);
            merged += 1;
            let after = d.after;
            self.merge(d);
            if self.st.stopped || self.st.stats.errors >= MAX_ERRORS {
                return Ok(());
            }
            // The reader's guess went wrong (a `$TTL` in an `$INCLUDE`d
            // file, a `$` line inside parentheses): it starts again from
            // the true state.
            if after != Guess::of(self.st) {
                guess = Guess::of(self.st);
            }
        }
        if over_budget == Some(true) {
            let msg = format!("the zone's text exceeds the budget of {} octets", self.st.opts.max_bytes);
            stop(self.st, self.file, self.line, msg);
        } else if !self.carry.is_empty() {
            self.plain(false);
        }
        Ok(())
    }

    /// Merges one block: what its worker made of it if that holds on the
    /// true state, else its plain parse.
    fn merge(&mut self, d: Done<'_>) {
        let text = d.text.as_slice();
        let st = &*self.st;
        let fits = self.carry.is_empty() && d.guess == Guess::of(st);
        match d.out {
            Some(out) if fits && !out.aborted && (out.inherit_ttl.is_empty() || st.last_ttl.is_some()) => {
                #[cfg(test)]
                tests::TAKEN.with(|c| c.set((c.get().0 + 1, c.get().1)));
                self.take(out, text)
            }
            _ => {
                #[cfg(test)]
                tests::TAKEN.with(|c| c.set((c.get().0, c.get().1 + 1)));
                self.carry.extend_from_slice(text);
                self.plain(true);
            }
        }
    }

    /// The plain parse of the octets carried over (`partial`: the text
    /// may go on after them); what it leaves is carried over.
    fn plain(&mut self, partial: bool) {
        let carry = std::mem::take(&mut self.carry);
        let st = &mut *self.st;
        let (used, next) = parse_chunk(st, self.file, self.file_idx, &carry, self.line, self.dir, partial, self.sink);
        timings::lap(&mut st.lap, Phase::Unsplit);
        st.stats.bytes += used as u64;
        self.line = next;
        if partial && used == 0 && carry.len() >= MAX_ENTRY && !st.stopped {
            stop(st, self.file, next, format!("an entry (one logical line) is longer than {MAX_ENTRY} octets"));
        }
        self.carry = carry;
        self.carry.drain(..used.min(self.carry.len()));
    }

    /// Hands a worker's records to the sink, its diagnostics to the
    /// list, in file order, lines moved to the file's; the state and the
    /// line move past the block.
    fn take(&mut self, out: BlockOut, text: &[u8]) {
        let base = self.line.saturating_sub(1);
        let at = |l: u32| if l == 0 { 0 } else { base.saturating_add(l) };
        let mut inherit = out.inherit_ttl.iter().copied().peekable();
        let mut ri = 0usize;
        let mut diags = out.diags.iter();
        loop {
            let (upto, diag) = match diags.next() {
                Some((before, l, m)) => (*before as usize, Some((*l, m))),
                None => (out.recs.len(), None),
            };
            while ri < upto.min(out.recs.len()) {
                let r = out.recs[ri];
                let mut ttl = r.ttl;
                if inherit.peek() == Some(&(ri as u64)) {
                    inherit.next();
                    ttl = self.st.last_ttl.unwrap_or(0);
                }
                if !self.emit(&out, r, ttl, at(r.line)) {
                    return;
                }
                ri += 1;
            }
            let Some((l, m)) = diag else { break };
            error(self.st, self.file, at(l), m.clone());
            if self.st.stats.errors >= MAX_ERRORS {
                return;
            }
        }
        let st = &mut *self.st;
        st.origin = out.origin;
        st.default_ttl = out.default_ttl;
        if out.last_ttl.is_some() {
            st.last_ttl = out.last_ttl;
        }
        if let Some(o) = out.last_owner {
            st.owners[st.owner] = o;
            st.last_owner = true;
        }
        st.stats.bytes += out.used as u64;
        self.line = at(out.next_line).max(1);
        if out.used < text.len() {
            self.carry.extend_from_slice(&text[out.used..]);
        }
        timings::lap(&mut st.lap, Phase::Add);
    }

    /// One record of a block to the sink, under the record budget; false
    /// when the parse stops.
    fn emit(&mut self, out: &BlockOut, r: Rec, ttl: u32, line: u32) -> bool {
        let st = &mut *self.st;
        if st.stats.records >= st.opts.max_records {
            let msg = format!("the zone has more than {} records (the record budget)", st.opts.max_records);
            stop(st, self.file, line, msg);
            return false;
        }
        let owner = &out.bytes[r.owner as usize..r.owner as usize + r.owner_len as usize];
        let rdata = &out.bytes[r.rdata as usize..r.rdata as usize + r.rdata_len as usize];
        let rec = Record { owner, rtype: r.rtype, class: r.class, ttl, rdata, file: self.file_idx, line };
        let res = (self.sink)(&rec);
        st.stats.records += 1;
        if let Err(m) = res {
            error(st, self.file, line, m);
            return st.stats.errors < MAX_ERRORS;
        }
        true
    }
}

impl<'a> Feed<'a, '_> {
    /// The next block: about `block` octets cut after a newline followed
    /// by an owner (or whatever is left); read octets count against
    /// `max` in `*total`.
    fn next(&mut self, total: &mut u64, max: u64, block: usize) -> std::io::Result<Next<'a>> {
        match self {
            Feed::Memory { data, pos } => {
                let rest: &'a [u8] = &data[*pos..];
                if rest.is_empty() {
                    return Ok(Next::End);
                }
                let cut = if rest.len() <= block {
                    rest.len()
                } else {
                    last_cut(rest, block).or_else(|| first_cut(rest, block)).unwrap_or(rest.len())
                };
                *pos += cut;
                Ok(Next::Block(Text::Borrowed(&rest[..cut])))
            }
            Feed::File(ch) => loop {
                if !ch.fill(total, max)? {
                    return Ok(Next::OverBudget);
                }
                let d = ch.data();
                if d.is_empty() {
                    return Ok(Next::End);
                }
                let cut = if ch.eof() { Some(d.len()) } else { last_cut(d, d.len()) };
                if let Some(c) = cut {
                    let v = d[..c].to_vec();
                    ch.consume(c);
                    return Ok(Next::Block(Text::Owned(v)));
                }
                // No line starts in the buffer: read more, up to a bound,
                // then hand it over as it is (the merge carries it).
                let all = d.len();
                if !ch.grow() {
                    let v = ch.data()[..all].to_vec();
                    ch.consume(all);
                    return Ok(Next::Block(Text::Owned(v)));
                }
            },
        }
    }
}

/// True if a block may start at `i` of `d`: after a newline, on a line
/// that names its owner (or is a directive, a comment or empty).
fn cut_at(d: &[u8], i: usize) -> bool {
    i > 0 && i < d.len() && d[i - 1] == b'\n' && !matches!(d[i], b' ' | b'\t')
}

/// The last place before `end` where a block may start.
fn last_cut(d: &[u8], end: usize) -> Option<usize> {
    let mut end = end.min(d.len());
    while let Some(p) = d[..end].iter().rposition(|&b| b == b'\n') {
        if cut_at(d, p + 1) {
            return Some(p + 1);
        }
        end = p;
    }
    None
}

/// The first place from `from` on where a block may start.
fn first_cut(d: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while let Some(p) = find(d, i, b'\n') {
        if cut_at(d, p + 1) {
            return Some(p + 1);
        }
        i = p + 1;
    }
    None
}

/// The first `b` in `h` from `from` on, eight octets at a time.
fn find(h: &[u8], from: usize, b: u8) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let pat = LO * b as u64;
    let mut i = from;
    while i + 8 <= h.len() {
        let mut w = [0u8; 8];
        w.copy_from_slice(&h[i..i + 8]);
        let x = u64::from_le_bytes(w) ^ pat;
        // The lowest octet flagged is the first zero octet of `x`.
        let z = x.wrapping_sub(LO) & !x & HI;
        if z != 0 {
            return Some(i + (z.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    h.get(i..)?.iter().position(|&c| c == b).map(|p| i + p)
}

/// Follows the `$ORIGIN` and `$TTL` lines of a block (lines that start
/// with `$`) into the guess for the blocks after it.
fn scan_directives(text: &[u8], g: &mut Guess) {
    let mut i = 0;
    while let Some(p) = find(text, i, b'$') {
        if p == 0 || text[p - 1] == b'\n' {
            let end = find(text, p, b'\n').map_or(text.len(), |e| e + 1);
            directive_guess(&text[p..end], g);
            i = end;
        } else {
            i = p + 1;
        }
    }
}

/// One `$` line into the guess, as the parser would read it alone.
fn directive_guess(line: &[u8], g: &mut Guess) {
    let mut lx = Lexer::new(line);
    let mut e = Entry::default();
    if lx.next_entry(&mut e) != Ok(true) || e.tokens.len() != 2 || e.tokens[0].quoted {
        return;
    }
    let tok = |i: usize| &line[e.tokens[i].start as usize..e.tokens[i].end as usize];
    if tok(0).eq_ignore_ascii_case(b"$ORIGIN") {
        if let Ok(n) = parse_name(tok(1), &g.origin) {
            g.origin = n;
        }
    } else if tok(0).eq_ignore_ascii_case(b"$TTL") {
        if let Some(v) = parse_ttl(tok(1)) {
            g.default_ttl = Some(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zonefile::parser::{parse_hooked, Diagnostic, ParseStats};
    use crate::zonefile::source::Source;
    use levee_wire::name;

    type Rows = Vec<(Vec<u8>, u16, u16, u32, Vec<u8>, u16, u32)>;

    thread_local! {
        /// Blocks merged as their worker parsed them, and parsed again.
        pub(super) static TAKEN: std::cell::Cell<(u64, u64)> = const { std::cell::Cell::new((0, 0)) };
    }

    fn run(source: Source<'_>, opts: &LoadOptions) -> (Rows, Vec<Diagnostic>, ParseStats) {
        let origin = name::from_text("example.", None).unwrap();
        let mut rows = Vec::new();
        let mut diags = Vec::new();
        let stats = parse_hooked(
            source,
            &origin,
            opts,
            Some(parse),
            &mut |r: &Record<'_>| {
                rows.push((r.owner.to_vec(), r.rtype, r.class, r.ttl, r.rdata.to_vec(), r.file, r.line));
                // The sink's own errors come at the record's line.
                if r.rdata == [192, 0, 2, 66] {
                    return Err("the sink refuses 192.0.2.66".into());
                }
                Ok(())
            },
            &mut diags,
        );
        (rows, diags, stats)
    }

    fn same(source: Source<'_>, base: &LoadOptions, blocks: impl Iterator<Item = usize>, what: &str) {
        let (want, wd, ws) = run(source, base);
        for block in blocks {
            for threads in [2, 3] {
                let opts = LoadOptions { threads, block_size: block, ..base.clone() };
                let (got, gd, gs) = run(source, &opts);
                assert_eq!(got, want, "{what}: records, block {block}, {threads} threads");
                assert_eq!(gd, wd, "{what}: diagnostics, block {block}, {threads} threads");
                assert_eq!(
                    (gs.records, gs.bytes, gs.errors, &gs.files),
                    (ws.records, ws.bytes, ws.errors, &ws.files),
                    "{what}: stats, block {block}"
                );
            }
        }
    }

    /// Cuts everywhere a block can start, in text with every state a
    /// block can begin in: parentheses and quotes over lines whose next
    /// line starts in column 0, comments, `$ORIGIN` and `$TTL` changes,
    /// records without TTL and without `$TTL`, blank owners, errors,
    /// the sink's errors, `$GENERATE`, an SOA without TTL.
    const TEXT: &str = "; no $TTL yet\n\
        @ SOA ns hm ( 1 2 3 4\n5 )\n\
        a A 192.0.2.1\n  A 192.0.2.2\n\
        b 300 A 192.0.2.3\nc A 192.0.2.4\n\
        ; a comment with \"quote and (paren\n\
        t TXT \"two\nlines\" (\n\"more\"\n)\n\
        bad A 999.0.0.1\n\
        d A 192.0.2.66\n\
        $TTL 1h\n\
        e A 192.0.2.5\n\
        $ORIGIN sub.example.\n\
        f AAAA ::1\n\t A 192.0.2.6\n\
        $ORIGIN other\n\
        g CNAME f\n\
        $GENERATE 1-3 h$ A 10.0.0.$\n\
        x ) y\n\
        i MX 10 g\n\
        $TTL 5m\n\
        j A 192.0.2.7\n\
        \"q\" A 192.0.2.8\n\
        $ORIGIN sub.example.\n\
        m TXT (\n$ORIGIN SUB.EXAMPLE.\n)\n\
        n A 192.0.2.11\n\
        k TXT \"unterminated\n\
        l A 192.0.2.9\n";

    #[test]
    fn blocks_anywhere_parse_like_one_thread() {
        let src = Source::Memory { name: "t.zone", data: TEXT.as_bytes() };
        let (want, wd, _) = run(src, &LoadOptions::default());
        assert!(want.len() >= 15 && wd.len() >= 3, "{want:?} {wd:?}");
        TAKEN.with(|c| c.set((0, 0)));
        same(src, &LoadOptions::default(), 1..TEXT.len() + 2, "memory");
        // Both ways were taken, many times.
        let (taken, again) = TAKEN.with(|c| c.get());
        assert!(taken > 1000 && again > 1000, "{taken} {again}");
    }

    /// A zone like the benchmark's: every block is taken as its worker
    /// parsed it.
    #[test]
    fn a_plain_zone_is_parsed_on_the_threads() {
        let mut z = String::from("$ORIGIN tld.\n$TTL 86400\n@ SOA a.nic hm 1 1800 900 604800 3600\n@ NS a.nic\n");
        for i in 0..5000 {
            z.push_str(&format!(
                "d{i} IN NS ns1.d{i}\nd{i} IN NS ns.hoster.net.\nns1.d{i} IN A 10.0.{}.{}\n",
                i / 256,
                i % 256
            ));
        }
        let src = Source::Memory { name: "tld.zone", data: z.as_bytes() };
        TAKEN.with(|c| c.set((0, 0)));
        same(src, &LoadOptions::default(), [4096].into_iter(), "tld");
        let (taken, again) = TAKEN.with(|c| c.get());
        assert!(taken >= 2 * (z.len() / 4096) as u64 - 2 && again == 0, "{taken} {again}");
    }

    /// The record budget and the error limit stop at the same record, in
    /// file order.
    #[test]
    fn budgets_stop_at_the_same_place() {
        let mut z = String::from("$TTL 1h\n");
        for i in 0..300 {
            z.push_str(&format!("h{i} A 10.0.{}.{}\n", i / 256, i % 256));
            if i % 3 == 0 {
                z.push_str(&format!("e{i} A 1.2.3\n"));
            }
        }
        let src = Source::Memory { name: "t.zone", data: z.as_bytes() };
        let (_, d, _) = run(src, &LoadOptions::default());
        assert_eq!(d.len(), MAX_ERRORS);
        same(src, &LoadOptions::default(), [7, 50, 100, 333, 1000].into_iter(), "errors");
        let opts = LoadOptions { max_records: 120, ..LoadOptions::default() };
        let z2 = z.replace("e", "f").lines().filter(|l| !l.contains("1.2.3\"")).collect::<Vec<_>>().join("\n");
        let plain: String = z2.lines().filter(|l| !l.ends_with("1.2.3")).map(|l| format!("{l}\n")).collect();
        let src = Source::Memory { name: "t.zone", data: plain.as_bytes() };
        let (r, d, _) = run(src, &opts);
        assert_eq!((r.len(), d.len()), (120, 1));
        same(src, &opts, [9, 64, 500].into_iter(), "record budget");
    }

    /// A file with `$INCLUDE`s: each file's blocks, its lines and file
    /// index, the included file's `$TTL` staying after it.
    #[test]
    fn files_and_includes() {
        let dir = std::env::temp_dir().join(format!("levee-parallel-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let inc: String = (0..40).map(|i| format!("i{i} A 10.1.0.{i}\n")).collect();
        std::fs::write(dir.join("inc"), format!("$TTL 7\n{inc}")).unwrap();
        let main = format!("$TTL 1h\n$INCLUDE inc sub\nafter A 192.0.2.10\n  TXT x\n$INCLUDE missing\n{inc}{TEXT}");
        std::fs::write(dir.join("z"), &main).unwrap();
        let path = dir.join("z");
        let src = Source::File(&path);
        let (want, wd, _) = run(src, &LoadOptions::default());
        assert!(want.iter().any(|r| r.5 == 1) && wd.iter().any(|d| d.message.contains("missing")), "{wd:?}");
        same(src, &LoadOptions::default(), [1, 2, 5, 16, 40, 100, 333, 4096].into_iter(), "file");
        let opts = LoadOptions { max_bytes: main.len() as u64 + 100, ..LoadOptions::default() };
        let (_, d, _) = run(src, &opts);
        assert!(d.iter().any(|d| d.message.contains("budget of")), "{d:?}");
        for block in [10, 100, 1000] {
            let (_, gd, _) = run(src, &LoadOptions { threads: 2, block_size: block, ..opts.clone() });
            assert!(gd.iter().any(|d| d.message.contains("budget of")), "{gd:?}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn find_and_cuts() {
        let h = b"abcdefgh$ijklmnopqrstuvwxyz$";
        for from in 0..h.len() + 2 {
            let want = h.iter().enumerate().skip(from).find(|x| *x.1 == b'$').map(|x| x.0);
            assert_eq!(find(h, from, b'$'), want, "from {from}");
        }
        let d = b"a A 1\n  A 2\nb A 3\n\tc\n";
        assert_eq!(last_cut(d, d.len()), Some(12));
        assert_eq!(first_cut(d, 0), Some(12));
        assert_eq!(last_cut(d, 11), None);
    }
}
