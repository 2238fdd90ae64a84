//! Where zone text comes from, and how much of it is read.
//!
//! A zone is text in memory or a file with its `$INCLUDE`s. Only regular
//! files are read; a file is read in chunks cut on entry boundaries; every
//! octet counts against the zone's byte budget; every file-system call is
//! bracketed by an [`IoWatch`].

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::fields::{decode_text, parse_name};
use super::parser::{error, parse_chunk, stop, Record, SinkResult, State, MAX_ERRORS};

/// Where a zone's text comes from.
#[derive(Clone, Copy, Debug)]
pub enum Source<'a> {
    /// A file on disk; `$INCLUDE` paths are relative to its directory.
    File(&'a Path),
    /// Text in memory (the built-in example zones); `$INCLUDE` is refused.
    Memory {
        /// Name used in diagnostics.
        name: &'a str,
        /// The zone text.
        data: &'a [u8],
    },
}

const MAX_INCLUDE_DEPTH: usize = 16;
/// Files one zone may read (the zone file and its `$INCLUDE`s, each
/// inclusion counted): file indexes are 16 bits.
const MAX_FILES: usize = u16::MAX as usize;
/// The longest entry (one logical line, parentheses included), in
/// octets. The largest RDATA (65535 octets) written as `\DDD` escapes
/// takes about 256 KiB.
pub(crate) const MAX_ENTRY: usize = 4 << 20;

/// Brackets every file-system call of a load (`stat`, `open`, `read`):
/// a counter that is odd while a call is in progress. The daemon samples
/// it: odd and unchanged for long means the call hangs. Pure: no clock.
#[derive(Debug, Default)]
pub struct IoWatch {
    calls: AtomicU64,
    bytes: AtomicU64,
}

impl IoWatch {
    /// A new watch.
    pub fn new() -> Arc<IoWatch> {
        Arc::new(IoWatch::default())
    }

    /// The call counter: odd while a file-system call is in progress;
    /// it changes with every call.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// True while a file-system call is in progress.
    pub fn in_call(&self) -> bool {
        self.calls() & 1 == 1
    }

    /// Octets read so far.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    fn during<T>(w: Option<&IoWatch>, f: impl FnOnce() -> T) -> T {
        if let Some(w) = w {
            w.calls.fetch_add(1, Ordering::Relaxed);
        }
        let r = f();
        if let Some(w) = w {
            w.calls.fetch_add(1, Ordering::Relaxed);
        }
        r
    }
}

/// Parses the zone text of `source`: a file (and its `$INCLUDE`s) or
/// text in memory, within the byte budget.
pub(super) fn read_source(st: &mut State<'_>, source: Source<'_>, sink: &mut dyn FnMut(&Record<'_>) -> SinkResult) {
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

/// Octets of a zone file read at a time. A file is parsed in chunks that
/// end on entry boundaries, so a large zone's text is never held whole
/// (a reload of a 125 MB zone would otherwise hold it beside the zone).
const CHUNK: usize = 4 << 20;

/// Opens `path` for reading if it is a regular file (not a FIFO, a
/// device or a directory): checked before the open (so a FIFO's open,
/// which would wait for a writer, never happens) and on the open file.
fn open_regular(path: &Path, watch: Option<&IoWatch>) -> std::io::Result<std::fs::File> {
    let not_regular = |m: &std::fs::Metadata| {
        let ft = m.file_type();
        let what = if ft.is_dir() {
            "a directory"
        } else if ft.is_fifo() {
            "a FIFO"
        } else if ft.is_char_device() || ft.is_block_device() {
            "a device"
        } else if ft.is_socket() {
            "a socket"
        } else {
            "not a regular file"
        };
        std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{what}: only regular files are read"))
    };
    use std::os::unix::fs::FileTypeExt;
    let m = IoWatch::during(watch, || std::fs::metadata(path))?;
    if !m.is_file() {
        return Err(not_regular(&m));
    }
    let f = IoWatch::during(watch, || std::fs::File::open(path))?;
    let m = IoWatch::during(watch, || f.metadata())?;
    if !m.is_file() {
        return Err(not_regular(&m));
    }
    Ok(f)
}

/// Parses a file chunk by chunk. Errors are read errors.
pub(super) fn parse_file(
    st: &mut State<'_>,
    file: &str,
    path: &Path,
    sink: &mut dyn FnMut(&Record<'_>) -> SinkResult,
    chunk: usize,
) -> std::io::Result<()> {
    use std::io::Read;
    if st.stats.files.len() >= MAX_FILES {
        stop(st, file, 0, format!("more than {MAX_FILES} files read for one zone"));
        return Ok(());
    }
    let watch = st.opts.watch.clone();
    let watch = watch.as_deref();
    let mut f = open_regular(path, watch)?;
    let dir = path.parent().map(Path::to_path_buf);
    let file_idx = st.stats.files.len() as u16;
    st.stats.files.push(file.to_string());
    let mut buf: Vec<u8> = Vec::new();
    let mut want = chunk;
    let mut line = 1u32;
    let mut eof = false;
    loop {
        while !eof && buf.len() < want {
            let old = buf.len();
            buf.resize(want, 0);
            // A signal may interrupt a read of a network file system: again.
            let n = loop {
                match IoWatch::during(watch, || f.read(&mut buf[old..])) {
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    r => break r?,
                }
            };
            buf.truncate(old + n);
            eof = n == 0;
            st.read_total = st.read_total.saturating_add(n as u64);
            if let Some(w) = watch {
                w.bytes.fetch_add(n as u64, Ordering::Relaxed);
            }
            if st.read_total > st.opts.max_bytes {
                let msg = format!("the zone's text exceeds the budget of {} octets", st.opts.max_bytes);
                stop(st, file, line, msg);
                return Ok(());
            }
        }
        let (used, next_line) = parse_chunk(st, file, file_idx, &buf, line, dir.as_deref(), !eof, sink);
        st.stats.bytes += used as u64;
        if eof || st.stats.errors >= MAX_ERRORS || st.stopped {
            return Ok(());
        }
        if used == 0 {
            // One entry longer than the buffer: read more, up to a bound.
            if buf.len() >= MAX_ENTRY {
                stop(st, file, line, format!("an entry (one logical line) is longer than {MAX_ENTRY} octets"));
                return Ok(());
            }
            want = (buf.len() * 2).min(MAX_ENTRY).max(buf.len() + 1);
            continue;
        }
        buf.drain(..used);
        line = next_line;
        want = chunk.max(buf.len() + chunk / 2);
    }
}

pub(super) fn parse_text(
    st: &mut State<'_>,
    file: &str,
    data: &[u8],
    dir: Option<&Path>,
    sink: &mut dyn FnMut(&Record<'_>) -> SinkResult,
) {
    let file_idx = st.stats.files.len() as u16;
    st.stats.files.push(file.to_string());
    st.stats.bytes += data.len() as u64;
    parse_chunk(st, file, file_idx, data, 1, dir, false, sink);
}

/// `$INCLUDE path [origin]` (RFC 1035 §5.1) at `line` of `file`: the file
/// is read (relative to the including file's directory `dir`), with
/// `origin` as its origin if given; the origin and the last owner are
/// restored after it.
pub(super) fn include(
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
    if decode_text(path, &mut path_buf).is_err() {
        error(st, file, line, "$INCLUDE: bad file name".into());
        return;
    }
    let p = PathBuf::from(String::from_utf8_lossy(&path_buf).into_owned());
    let full = if p.is_absolute() { p } else { dir.join(p) };
    let saved_origin = st.origin;
    let saved_owner = st.last_owner;
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
    st.last_owner = saved_owner;
}
