//! Where zone text comes from, and how much of it is read.
//!
//! A zone is text in memory or a file with its `$INCLUDE`s ([`Source`]).
//! Only regular files are read; a file is read in chunks that the parser
//! cuts on entry boundaries ([`Chunks`]); every octet counts against the
//! zone's byte budget; every file-system call is bracketed by an
//! [`IoWatch`]. Nothing here knows the zone-file syntax.

use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

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

impl Source<'_> {
    /// The octets of text the source holds (a file's size, under the
    /// load's `watch`; 0 when it cannot be read): a hint to size tables
    /// by, never a budget.
    pub(crate) fn size_hint(&self, watch: Option<&IoWatch>) -> u64 {
        match self {
            Source::File(p) => IoWatch::during(watch, || std::fs::metadata(p)).map_or(0, |m| m.len()),
            Source::Memory { data, .. } => data.len() as u64,
        }
    }
}

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

    /// Runs `f`, one file-system call, bracketed on `w` (if any).
    pub fn during<T>(w: Option<&IoWatch>, f: impl FnOnce() -> T) -> T {
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

/// Octets of a zone file read at a time. A file is parsed in chunks that
/// end on entry boundaries, so a large zone's text is never held whole
/// (a reload of a 125 MB zone would otherwise hold it beside the zone).
pub(super) const CHUNK: usize = 4 << 20;

/// Opens `path` for reading if it is a regular file (not a FIFO, a
/// device or a directory): checked before the open (so a FIFO's open,
/// which would wait for a writer, never happens) and on the open file.
fn open_regular(path: &Path, watch: Option<&IoWatch>) -> std::io::Result<(std::fs::File, u64)> {
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
    Ok((f, m.len()))
}

/// A regular file read in chunks: the octets the parser has not used yet
/// stay at the front of the buffer and the next read appends to them.
pub(super) struct Chunks<'w> {
    file: std::fs::File,
    buf: Vec<u8>,
    /// Octets the buffer is filled to (less at the end of the file).
    want: usize,
    /// The chunk size.
    chunk: usize,
    eof: bool,
    watch: Option<&'w IoWatch>,
    /// The file's size when it was opened.
    size: u64,
    /// Octets read so far.
    read: u64,
}

/// The least a fill makes room for (one page), however little of the
/// file is left.
const MIN_ROOM: usize = 4096;

impl<'w> Chunks<'w> {
    /// Opens `path` if it is a regular file ([`open_regular`]).
    pub(super) fn open(path: &Path, watch: Option<&'w IoWatch>, chunk: usize) -> std::io::Result<Self> {
        let (file, size) = open_regular(path, watch)?;
        Ok(Chunks { file, buf: Vec::new(), want: chunk, chunk, eof: false, watch, size, read: 0 })
    }

    /// The file's size when it was opened (it may change while it is read).
    pub(super) fn size(&self) -> u64 {
        self.size
    }

    /// Reads until the buffer holds a chunk or the file ends, adding what
    /// it reads to `*total`: false (stop) as soon as `*total` passes
    /// `max`. A read interrupted by a signal is tried again.
    pub(super) fn fill(&mut self, total: &mut u64, max: u64) -> std::io::Result<bool> {
        while !self.eof && self.buf.len() < self.want {
            let old = self.buf.len();
            // Room for what the file still holds (as opened) and one
            // octet more, at least a page, at most the chunk: a zone of a
            // few hundred octets zeroed and faulted in a whole chunk
            // (4 MiB, twice) and that was most of its load (100,000 small
            // zones at start). A file that grew is read on, a page at a time
            // past its old end.
            let left = usize::try_from(self.size.saturating_sub(self.read)).unwrap_or(usize::MAX);
            let room = (self.want - old).min(left.saturating_add(1).max(MIN_ROOM));
            self.buf.resize(old + room, 0);
            // A signal may interrupt a read of a network file system: again.
            let n = loop {
                match IoWatch::during(self.watch, || self.file.read(&mut self.buf[old..])) {
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    r => break r?,
                }
            };
            self.buf.truncate(old + n);
            self.eof = n == 0;
            self.read += n as u64;
            *total = total.saturating_add(n as u64);
            if let Some(w) = self.watch {
                w.bytes.fetch_add(n as u64, Ordering::Relaxed);
            }
            if *total > max {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// The octets read and not used yet.
    pub(super) fn data(&self) -> &[u8] {
        &self.buf
    }

    /// True when the file has been read to its end.
    pub(super) fn eof(&self) -> bool {
        self.eof
    }

    /// The parser used the first `used` octets: they go, and the next
    /// fill reads a chunk.
    pub(super) fn consume(&mut self, used: usize) {
        self.buf.drain(..used);
        self.want = self.chunk.max(self.buf.len() + self.chunk / 2);
    }

    /// The parser could use nothing (one entry longer than the buffer):
    /// the next fill reads more, up to [`MAX_ENTRY`]; false if the buffer
    /// is already that long.
    pub(super) fn grow(&mut self) -> bool {
        if self.buf.len() >= MAX_ENTRY {
            return false;
        }
        self.want = (self.buf.len() * 2).min(MAX_ENTRY).max(self.buf.len() + 1);
        true
    }
}

/// Where the blocks of a parallel parse (`parallel.rs`) come from.
pub(super) enum Feed<'a, 'w> {
    /// A zone file, read as the plain parse reads it.
    File(Chunks<'w>),
    /// Text in memory, from `pos` on.
    Memory { data: &'a [u8], pos: usize },
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// Everything in a file read through `Chunks` with `chunk`.
    fn read_all(c: &mut Chunks<'_>) -> Vec<u8> {
        let mut out = Vec::new();
        let mut total = 0;
        loop {
            assert!(c.fill(&mut total, u64::MAX).unwrap());
            out.extend_from_slice(c.data());
            let n = c.data().len();
            c.consume(n);
            if c.eof() {
                return out;
            }
        }
    }

    /// A small file is read whole into a buffer of about its size (not a
    /// chunk); a file that grew after it was opened is read to its new
    /// end; a large one in chunks.
    #[test]
    fn chunks_read_files_of_every_size() {
        let dir = std::env::temp_dir().join(format!("levee-chunks-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f");
        let small = b"@ SOA ns1 hm 1 3600 600 86400 60\n".repeat(3);
        std::fs::write(&path, &small).unwrap();
        let mut c = Chunks::open(&path, None, CHUNK).unwrap();
        let mut total = 0;
        assert!(c.fill(&mut total, u64::MAX).unwrap());
        assert_eq!((c.data(), c.eof(), total), (&small[..], true, small.len() as u64));
        assert!(c.buf.capacity() <= 2 * MIN_ROOM, "{}", c.buf.capacity());
        let mut c = Chunks::open(&path, None, CHUNK).unwrap();
        let more: Vec<u8> = (0..20_000u32).flat_map(|i| format!("h{i} A 192.0.2.1\n").into_bytes()).collect();
        std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(&more).unwrap();
        assert_eq!(read_all(&mut c), [&small[..], &more[..]].concat(), "grown after the open");
        let mut c = Chunks::open(&path, None, 4096).unwrap();
        assert_eq!(read_all(&mut c), [&small[..], &more[..]].concat(), "in chunks of 4096");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
