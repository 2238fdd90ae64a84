//! What levee keeps on disk in `server.storage-dir`: the received copies
//! of secondary zones and the journals of primary zones.
//!
//! ## Layout
//!
//! * `<stem>zone`: the last received version of a secondary zone, as
//!   zone-file text (a `[[zone]] file` of a secondary zone names another
//!   place for it);
//! * `<stem>journal`: the journal of a primary zone (IXFR out), in the
//!   checksummed format of `levee_zone::journal`;
//! * `<file>.tmp`: a file being written (renamed over `<file>` when
//!   complete; left-overs of a crash are removed at start);
//! * `levee.sock`: the control socket (unless `server.control-socket`).
//!
//! The **stem** is the zone's name, lower-cased, label by label: `a-z`,
//! `0-9`, `-` and `_` as they are, every other octet as `%XX` (upper-case
//! hex), labels joined and ended by `.`; the root is `@.`. So
//! `example.com.` keeps the name it always had (`example.com.zone`),
//! `0/25.2.0.192.in-addr.arpa.` is stored as `0%2F25.2.0.192.in-addr.arpa.zone`,
//! and no two zones share a file (the encoding is reversible:
//! [`decode_stem`]). A stem longer than [`MAX_STEM`] octets (long names
//! full of escapes) is `%%` and the SHA-256 of the name in hex; the file's
//! header names the zone. Copies written by older versions under the
//! name as configured (`<name>zone`, `root.zone` for the root) are still
//! read, and replaced by the new name at the next write.
//!
//! ## Integrity
//!
//! A stored copy is a zone file that any zone-file reader can load, with
//! a header and a trailer in comments:
//!
//! ```text
//! ; levee stored copy of zone example.com. serial 2026112501
//! example.com. 3600 IN SOA ...
//! ...
//! ; levee-integrity sha256=<64 hex digits> octets=<length of all before this line>
//! ```
//!
//! At start a copy is read only if its trailer is there, its length is
//! right and the SHA-256 of everything before the trailer matches, and
//! the header names the zone; anything else (a copy cut short, a damaged
//! one) is refused with a log line naming the file and the reason, and
//! the zone answers SERVFAIL until a transfer brings it. A checksum of
//! the file was chosen over ZONEMD (RFC 8976): ZONEMD is a record inside
//! the zone that only the zone's owner can add (a secondary adding one
//! would change the data it serves), most zones do not carry one, and it
//! does not cover levee's own formatting; the trailer covers every octet
//! and costs one SHA-256 pass (SHA-NI: about 1 GB/s). Journals carry
//! their own checksum and length (`Journal::decode`).
//!
//! ## Writing
//!
//! Every file is written to `<file>.tmp`, flushed with `fsync`, renamed
//! over `<file>`, and the directory is synced, so a crash leaves the old
//! file or the new one, never a mix. Writes go through a [`Store`] per
//! file: a task that writes the newest data it was given, on a
//! background thread, and on failure (disk full, EIO) keeps the data,
//! logs, counts, and tries again after 1, 2, 4, ... up to 300 seconds
//! (sooner when newer data arrives). Its state is in `levee ctl
//! zone-status`, `/api/zones` and `/metrics`. The stores of a server
//! are kept in its [`Stores`] (`Center::stores`).
//!
//! ## Freshness across restarts
//!
//! A stored copy's modification time is the last time a primary
//! confirmed its serial: set when it is written, and again by each
//! "up to date" refresh, but only while the copy on disk *is* the
//! version served ([`Stores::confirmed`]). When a newer version was
//! received and could not be written, the old copy's time is set to the
//! epoch (a metadata change, which a full disk allows; failing that, the
//! old copy is removed): after a restart it counts as expired and
//! answers SERVFAIL until a primary is reached, instead of serving an
//! older serial as fresh.
//!
//! ## Ownership
//!
//! [`prepare`] (at start, still as root) creates the directory, owned by
//! `[server] user` when levee will drop to it, and removes stale
//! temporary files; [`check_writable`] (after the drop) creates and
//! removes a file in it and stops the start with a clear error if that
//! fails.

use std::collections::BTreeMap;
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use levee_config::Config;
use levee_wire::name;
use levee_zone::journal::Rr;
use sha2::{Digest, Sha256};

use crate::clock::wall;

/// Longest stem written as is; longer ones are hashed.
pub const MAX_STEM: usize = 200;
/// The first backoff after a failed write, and the longest.
const RETRY_FIRST: Duration = Duration::from_secs(1);
const RETRY_MAX: Duration = Duration::from_secs(300);
const TRAILER: &str = "; levee-integrity sha256=";
const HEADER: &str = "; levee stored copy of zone ";
/// The first line of copies written before the integrity trailer.
#[cfg(test)]
const LEGACY_HEADER: &str = "; written by levee after a zone transfer";

//------------ file names -------------------------------------------------------

/// The stem of a zone's files (see the module documentation).
pub fn file_stem(apex: &[u8]) -> String {
    let lower = name::to_lowercase(apex);
    let mut out = String::new();
    let mut p = 0;
    while let Some(&len) = lower.get(p) {
        if len == 0 {
            break;
        }
        let label = lower.get(p + 1..p + 1 + len as usize).unwrap_or_default();
        for &b in label {
            match b {
                b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' => out.push(b as char),
                _ => out.push_str(&format!("%{b:02X}")),
            }
        }
        out.push('.');
        p += 1 + len as usize;
    }
    if out.is_empty() {
        return "@.".into();
    }
    if out.len() > MAX_STEM {
        let h = Sha256::digest(lower.as_slice());
        return format!("%%{}.", hex(&h));
    }
    out
}

/// The wire name of a stem, or `None` for a hashed stem or one that is
/// not in canonical form.
pub fn decode_stem(stem: &str) -> Option<Vec<u8>> {
    if stem == "@." {
        return Some(vec![0]);
    }
    let body = stem.strip_suffix('.')?;
    let mut wire = Vec::new();
    for label in body.split('.') {
        let b = label.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'%' => {
                    let v = u8::from_str_radix(std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?, 16).ok()?;
                    // Only the canonical form: upper-case hex of an octet
                    // that is not written as itself.
                    if matches!(v, b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'A'..=b'Z')
                        || b[i + 1..i + 3].iter().any(u8::is_ascii_lowercase)
                    {
                        return None;
                    }
                    out.push(v);
                    i += 3;
                }
                c @ (b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_') => {
                    out.push(c);
                    i += 1;
                }
                _ => return None,
            }
        }
        if out.is_empty() || out.len() > 63 {
            return None;
        }
        wire.push(out.len() as u8);
        wire.extend_from_slice(&out);
    }
    wire.push(0);
    (wire.len() <= name::MAX_NAME_LEN).then_some(wire)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// `<storage>/<stem>zone`.
pub fn zone_file(storage: &Path, apex: &[u8]) -> PathBuf {
    storage.join(format!("{}zone", file_stem(apex)))
}

/// `<storage>/<stem>journal`.
pub fn journal_file(storage: &Path, apex: &[u8]) -> PathBuf {
    storage.join(format!("{}journal", file_stem(apex)))
}

/// Where versions before the encoding stored a zone: the name as given.
pub fn legacy_file(storage: &Path, zname: &str, suffix: &str) -> PathBuf {
    let base = if zname == "." { "root.".to_string() } else { zname.to_string() };
    storage.join(format!("{base}{suffix}"))
}

fn tmp_of(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".tmp");
    PathBuf::from(s)
}

//------------ writing ------------------------------------------------------------

/// Writes `path` atomically: `<path>.tmp`, fsync, rename, fsync of the
/// directory. On failure the temporary file is removed and `path` is as
/// it was.
pub fn write_atomic(path: &Path, fill: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
    write_atomic_then_sync_dir_later(path, fill)?;
    sync_dir(path)
}

/// [`write_atomic`] without the directory's fsync: the file's content
/// is on disk, but its new name only once the caller syncs the
/// directory (one [`sync_dir`] for many files written there).
pub fn write_atomic_then_sync_dir_later(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    let tmp = tmp_of(path);
    let r = (|| {
        let f = std::fs::File::create(&tmp)?;
        let mut w = io::BufWriter::with_capacity(1 << 20, f);
        fill(&mut w)?;
        let f = w.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r
}

pub fn sync_dir(path: &Path) -> io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::File::open(dir)?.sync_all()
}

/// Counts and hashes what passes through.
struct Hashing<'a> {
    inner: &'a mut dyn Write,
    hash: Sha256,
    n: u64,
}

impl Write for Hashing<'_> {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(b)?;
        self.hash.update(&b[..n]);
        self.n += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Writes a received zone (SOA first) as a stored copy with its header
/// and integrity trailer, atomically.
pub fn write_zone_copy(path: &Path, apex: &[u8], serial: u32, recs: &[Rr]) -> io::Result<()> {
    write_zone_copy_then_sync_dir_later(path, apex, serial, recs)?;
    sync_dir(path)
}

/// [`write_zone_copy`] without the directory's fsync (see
/// [`write_atomic_then_sync_dir_later`]).
fn write_zone_copy_then_sync_dir_later(path: &Path, apex: &[u8], serial: u32, recs: &[Rr]) -> io::Result<()> {
    write_atomic_then_sync_dir_later(path, |w| {
        let mut h = Hashing { inner: w, hash: Sha256::new(), n: 0 };
        writeln!(h, "{HEADER}{} serial {serial}", name::to_text(apex))?;
        for r in recs {
            let line =
                levee_zone::zonefile::record_to_text(&r.owner, r.ttl, levee_wire::rtype::c::IN, r.rtype, &r.rdata);
            h.write_all(line.as_bytes())?;
            h.write_all(b"\n")?;
        }
        let (sum, n) = (h.hash.finalize(), h.n);
        writeln!(w, "{TRAILER}{} octets={n}", hex(&sum))
    })
}

/// What [`verify_zone_copy`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Checked {
    /// Complete and undamaged, of this serial.
    Verified(u32),
    /// Written before copies carried a trailer (or not by levee): nothing
    /// to check it against.
    Unchecked,
}

/// Checks a stored copy of the zone `apex` (see the module
/// documentation). `Err` says why it must not be used.
pub fn verify_zone_copy(path: &Path, apex: &[u8]) -> Result<Checked, String> {
    let mut f = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let size = f.metadata().map_err(|e| e.to_string())?.len();
    let mut head = vec![0u8; size.min(4096) as usize];
    f.read_exact(&mut head).map_err(|e| e.to_string())?;
    // A copy in this format starts with the header; a file that is a
    // beginning of it (empty, or cut inside the first line) was cut short.
    let ours = head.starts_with(HEADER.as_bytes()) || HEADER.as_bytes().starts_with(&head);
    let first = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let first = String::from_utf8_lossy(first);
    let tail_len = size.min(512);
    f.seek(io::SeekFrom::Start(size - tail_len)).map_err(|e| e.to_string())?;
    let mut tail = vec![0u8; tail_len as usize];
    f.read_exact(&mut tail).map_err(|e| e.to_string())?;
    let last_start =
        tail.strip_suffix(b"\n").map_or(tail.len(), |t| t.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1));
    let last = String::from_utf8_lossy(&tail[last_start..]);
    let Some(rest) = last.strip_prefix(TRAILER) else {
        if ours {
            return Err("the integrity line at the end is missing (the copy was cut short)".into());
        }
        return Ok(Checked::Unchecked);
    };
    let rest = rest.strip_suffix('\n').ok_or("the integrity line is not complete (the copy was cut short)")?;
    let (sum, octets) = rest.split_once(" octets=").ok_or("the integrity line is damaged")?;
    let octets: u64 = octets.parse().map_err(|_| "the integrity line is damaged")?;
    let trailer_len = (tail.len() - last_start) as u64;
    if octets.checked_add(trailer_len) != Some(size) {
        return Err(format!("{size} octets where the integrity line says {}", octets.saturating_add(trailer_len)));
    }
    f.seek(io::SeekFrom::Start(0)).map_err(|e| e.to_string())?;
    let mut h = Sha256::new();
    let mut left = octets;
    let mut buf = vec![0u8; 1 << 20];
    while left > 0 {
        let n = buf.len().min(left as usize);
        f.read_exact(&mut buf[..n]).map_err(|e| e.to_string())?;
        h.update(&buf[..n]);
        left -= n as u64;
    }
    if hex(&h.finalize()) != sum {
        return Err("the SHA-256 of the copy does not match its integrity line (the copy is damaged)".into());
    }
    let rest = first.strip_prefix(HEADER).ok_or("the header line is missing")?;
    let (zone, serial) = rest.split_once(" serial ").ok_or("the header line is damaged")?;
    let serial: u32 = serial.trim().parse().map_err(|_| "the header line is damaged")?;
    let want = name::to_text(apex);
    if !zone.eq_ignore_ascii_case(&want) {
        return Err(format!("it is a copy of zone {zone}, not of {want}"));
    }
    Ok(Checked::Verified(serial))
}

//------------ stores: writes with retries ----------------------------------------

/// Which file of a zone a [`Store`] writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// The stored copy of a secondary zone.
    Zone,
    /// The journal of a primary zone.
    Journal,
}

impl Kind {
    /// The name used in the API and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Zone => "zone",
            Kind::Journal => "journal",
        }
    }
}

/// Something to write.
pub enum Job {
    /// A received zone, SOA first.
    Zone { serial: u32, recs: Arc<Vec<Rr>> },
    /// A journal, encoded.
    Journal(Vec<u8>),
    /// The file is no longer valid (a journal that does not lead to the
    /// served version).
    Remove,
}

/// The state of a [`Store`], for status and metrics.
#[derive(Clone, Debug, Default)]
pub struct Status {
    /// Serial of the copy on disk (zone copies known to be complete).
    pub stored_serial: Option<u32>,
    /// Data waiting to be written (after a failure, or being written).
    pub pending: bool,
    /// Failed writes since start.
    pub failures: u64,
    /// The last write's error, until one succeeds.
    pub last_error: Option<String>,
    /// When the next attempt is due (Unix seconds) after a failure.
    pub retry_at: Option<u64>,
}

/// Writes one file, newest data first, retrying failures with backoff.
pub struct Store {
    /// The zone, presentation form.
    pub zone: String,
    apex: Vec<u8>,
    kind: Kind,
    path: PathBuf,
    /// A file of the old naming to remove after the first write.
    legacy: Mutex<Option<PathBuf>>,
    status: Mutex<Status>,
    pending: Mutex<Option<Arc<Job>>>,
    kick: tokio::sync::Notify,
    started: std::sync::atomic::AtomicBool,
    /// The copy on disk was marked as older than the version served.
    marked: std::sync::atomic::AtomicBool,
    /// The copy on disk has no integrity check (an older levee's): it
    /// is replaced by a full transfer, never confirmed.
    unchecked: std::sync::atomic::AtomicBool,
    /// The thread that writes, shared by every store of the server.
    writer: Arc<GroupWriter>,
}

/// The stores of every zone's files, by (lower-case apex, kind): one
/// per file, made at start (journals, stored copies) or at the first
/// write. Held by the `Center`.
#[derive(Default)]
pub struct Stores {
    map: Mutex<StoreMap>,
    writer: Arc<GroupWriter>,
}

//------------ the group writer ---------------------------------------------------

/// One write waiting for the [`GroupWriter`], and where its result goes.
type Queued = (Arc<Store>, Arc<Job>, tokio::sync::oneshot::Sender<io::Result<()>>);

/// Writes the files of every [`Store`] of a server on one background
/// thread, in groups: each file of a group is written to its temporary
/// file, fsynced and renamed, then each directory the group renamed
/// into is fsynced once, and only then is each write reported done
/// (the store's `stored_serial`, the "stored" log line). A secondary
/// receiving 10,000 new zones so makes one directory fsync per group
/// instead of one per zone, and one thread does it, not a thread per
/// zone contending for the directory's lock. What a crash (or power
/// loss) keeps is unchanged: a file is the old version or the new one,
/// never a mix, and a write reported done is on disk with its name.
/// The thread is started by the first write and ends after a second
/// without work.
#[derive(Default)]
pub struct GroupWriter {
    queue: Mutex<(Vec<Queued>, bool)>,
    more: std::sync::Condvar,
}

/// How long the group writer's thread waits for work before it ends.
const WRITER_IDLE: Duration = Duration::from_secs(1);

impl GroupWriter {
    /// Queues one write; the receiver gets its result.
    fn submit(self: &Arc<Self>, store: Arc<Store>, job: Arc<Job>) -> tokio::sync::oneshot::Receiver<io::Result<()>> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        q.0.push((store, job, tx));
        if !q.1 {
            let me = Arc::clone(self);
            let spawned = std::thread::Builder::new().name("levee-store".into()).spawn(move || me.run());
            match spawned {
                Ok(_) => q.1 = true,
                // Reported to each waiting store, which retries.
                Err(e) => {
                    for (_, _, tx) in q.0.drain(..) {
                        let _ = tx.send(Err(io::Error::other(format!("cannot start the writing thread: {e}"))));
                    }
                }
            }
        }
        drop(q);
        self.more.notify_one();
        rx
    }

    fn run(self: Arc<Self>) {
        levee_io::prio::background_current_thread();
        loop {
            let group = {
                let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
                while q.0.is_empty() {
                    let (g, timeout) = self.more.wait_timeout(q, WRITER_IDLE).unwrap_or_else(|e| e.into_inner());
                    q = g;
                    if timeout.timed_out() && q.0.is_empty() {
                        q.1 = false;
                        return;
                    }
                }
                std::mem::take(&mut q.0)
            };
            write_group(group);
        }
    }
}

/// One group (see [`GroupWriter`]).
fn write_group(group: Vec<Queued>) {
    let mut written = Vec::with_capacity(group.len());
    let mut dirs: Vec<(PathBuf, Option<io::Result<()>>)> = Vec::new();
    for (store, job, tx) in group {
        let r = store.write_file(&job);
        if r.is_ok() && !matches!(*job, Job::Remove) {
            let dir = store.path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
            if !dirs.iter().any(|(d, _)| d == dir) {
                dirs.push((dir.to_path_buf(), None));
            }
        }
        written.push((store, job, tx, r));
    }
    for (dir, r) in &mut dirs {
        *r = Some(std::fs::File::open(&*dir).and_then(|f| f.sync_all()));
    }
    for (store, job, tx, r) in written {
        let r = r.and_then(|()| {
            let dir = store.path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
            match dirs.iter().find(|(d, _)| d == dir).and_then(|(_, r)| r.as_ref()) {
                Some(Err(e)) => Err(io::Error::new(e.kind(), format!("fsync of the directory: {e}"))),
                _ => Ok(()),
            }
        });
        store.finish(&job, &r);
        let _ = tx.send(r);
    }
}

/// Stores by (lower-case apex, kind).
type StoreMap = BTreeMap<(Vec<u8>, Kind), Arc<Store>>;

impl Stores {
    fn map(&self) -> std::sync::MutexGuard<'_, StoreMap> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The store of a zone's file, made on first use.
    pub fn store(&self, apex: &[u8], kind: Kind, path: &Path) -> Arc<Store> {
        let apex = name::to_lowercase(apex).as_slice().to_vec();
        let mut m = self.map();
        Arc::clone(m.entry((apex.clone(), kind)).or_insert_with(|| {
            Arc::new(Store {
                zone: name::to_text(&apex),
                apex,
                kind,
                path: path.to_path_buf(),
                legacy: Mutex::new(None),
                status: Mutex::new(Status::default()),
                pending: Mutex::new(None),
                kick: tokio::sync::Notify::new(),
                started: false.into(),
                marked: false.into(),
                unchecked: false.into(),
                writer: Arc::clone(&self.writer),
            })
        }))
    }

    /// The store of a zone's file, if there is one.
    pub fn find(&self, apex: &[u8], kind: Kind) -> Option<Arc<Store>> {
        let apex = name::to_lowercase(apex).as_slice().to_vec();
        self.map().get(&(apex, kind)).cloned()
    }

    /// Every store, by zone and kind.
    pub fn all(&self) -> Vec<Arc<Store>> {
        self.map().values().cloned().collect()
    }

    /// A secondary zone received version `serial`: written by its store.
    pub fn zone_received(&self, apex: &[u8], serial: u32, recs: Arc<Vec<Rr>>, rt: &tokio::runtime::Handle) {
        if let Some(s) = self.find(apex, Kind::Zone) {
            s.submit(Job::Zone { serial, recs }, rt);
        }
    }

    /// A primary confirmed the served `serial` of a secondary zone. False
    /// when the stored copy must be replaced by a full transfer (it has no
    /// integrity check).
    pub fn confirmed(&self, apex: &[u8], serial: Option<u32>) -> bool {
        match (self.find(apex, Kind::Zone), serial) {
            (Some(s), Some(serial)) => s.confirmed(serial),
            _ => true,
        }
    }

    /// `key=value` fields of a zone's stores for `levee ctl zone-status`.
    pub fn status_fields(&self, apex: &[u8]) -> String {
        let mut out = String::new();
        for kind in [Kind::Zone, Kind::Journal] {
            let Some(s) = self.find(apex, kind) else { continue };
            let st = s.status();
            let p = if kind == Kind::Zone { "store" } else { "journal-store" };
            if kind == Kind::Zone {
                out.push_str(&format!(" stored-serial={}", st.stored_serial.map_or("-".into(), |x| x.to_string())));
            }
            out.push_str(&format!(
                " {p}-pending={} {p}-failures={} {p}-error={} {p}-retry={}",
                if st.pending { "yes" } else { "no" },
                st.failures,
                st.last_error.as_deref().unwrap_or("-").replace(' ', "_"),
                st.retry_at.map_or("-".into(), |x| x.to_string()),
            ));
        }
        out
    }

    /// The stores of a zone as JSON, for `/api/zones`.
    pub fn status_json(&self, apex: &[u8]) -> serde_json::Value {
        let v: Vec<serde_json::Value> = [Kind::Zone, Kind::Journal]
            .into_iter()
            .filter_map(|k| self.find(apex, k))
            .map(|s| {
                let st = s.status();
                serde_json::json!({
                    "file": s.kind.as_str(),
                    "path": s.path.display().to_string(),
                    "stored_serial": st.stored_serial,
                    "pending": st.pending,
                    "write_failures": st.failures,
                    "last_error": st.last_error,
                    "retry_at": st.retry_at,
                })
            })
            .collect();
        serde_json::Value::Array(v)
    }
}

impl Store {
    /// Which file.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// A snapshot of the state.
    pub fn status(&self) -> Status {
        let mut s = self.status.lock().unwrap_or_else(|e| e.into_inner()).clone();
        s.pending |= self.pending.lock().is_ok_and(|p| p.is_some());
        s
    }

    /// At start: the copy on disk is complete and of `serial`; `legacy`
    /// is a file of the old naming to remove once the new one is written.
    pub fn set_stored(&self, serial: Option<u32>, legacy: Option<PathBuf>) {
        self.status.lock().unwrap_or_else(|e| e.into_inner()).stored_serial = serial;
        *self.legacy.lock().unwrap_or_else(|e| e.into_inner()) = legacy;
    }

    /// At start: the copy served has no integrity check.
    pub fn set_unchecked(&self) {
        self.unchecked.store(true, std::sync::atomic::Ordering::Release);
    }

    /// Hands over the newest data to write (replacing data not yet
    /// written) and starts the writer on the runtime if it is not running.
    pub fn submit(self: &Arc<Self>, job: Job, rt: &tokio::runtime::Handle) {
        *self.pending.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(job));
        if !self.started.swap(true, std::sync::atomic::Ordering::AcqRel) {
            let me = Arc::clone(self);
            rt.spawn(async move { me.run().await });
        }
        self.kick.notify_one();
    }

    async fn run(self: Arc<Self>) {
        let mut backoff = RETRY_FIRST;
        loop {
            let job = self.pending.lock().unwrap_or_else(|e| e.into_inner()).take();
            let Some(job) = job else {
                self.kick.notified().await;
                continue;
            };
            let rx = self.writer.submit(Arc::clone(&self), Arc::clone(&job));
            let r = rx.await.unwrap_or_else(|_| Err(io::Error::other("the writing thread ended")));
            let Err(e) = r else {
                backoff = RETRY_FIRST;
                continue;
            };
            let wait = backoff;
            backoff = (backoff * 2).min(RETRY_MAX);
            {
                let mut st = self.status.lock().unwrap_or_else(|e| e.into_inner());
                st.failures += 1;
                st.last_error = Some(e.to_string());
                st.retry_at = Some(wall() + wait.as_secs());
            }
            tracing::error!(
                zone = %self.zone,
                file = self.kind.as_str(),
                path = %self.path.display(),
                retry_in = wait.as_secs(),
                "cannot write: {e}; the data is kept in memory and written when possible"
            );
            {
                let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
                if p.is_none() {
                    *p = Some(job);
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = self.kick.notified() => {}
            }
        }
    }

    /// One attempt's file (on the group writer's thread): written,
    /// fsynced and renamed; the directory is the group's to sync.
    fn write_file(&self, job: &Job) -> io::Result<()> {
        match job {
            Job::Zone { serial, recs } => {
                let r = write_zone_copy_then_sync_dir_later(&self.path, &self.apex, *serial, recs);
                if r.is_err() {
                    self.mark_superseded(*serial);
                }
                r
            }
            Job::Journal(bytes) => write_atomic_then_sync_dir_later(&self.path, |w| w.write_all(bytes)),
            Job::Remove => match std::fs::remove_file(&self.path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            },
        }
    }

    /// An attempt done (its directory synced too): the status and log.
    fn finish(&self, job: &Job, r: &io::Result<()>) {
        if r.is_ok() {
            self.marked.store(false, std::sync::atomic::Ordering::Release);
            let mut st = self.status.lock().unwrap_or_else(|e| e.into_inner());
            st.last_error = None;
            st.retry_at = None;
            st.stored_serial = match job {
                Job::Zone { serial, .. } => Some(*serial),
                _ => None,
            };
            self.unchecked.store(false, std::sync::atomic::Ordering::Release);
            drop(st);
            if let Some(old) = self.legacy.lock().unwrap_or_else(|e| e.into_inner()).take() {
                if old != self.path {
                    let _ = std::fs::remove_file(&old);
                }
            }
            tracing::info!(zone = %self.zone, file = self.kind.as_str(), path = %self.path.display(), "stored");
        }
    }

    /// A newer version than the copy on disk could not be written: the
    /// copy must not count as fresh after a restart (module docs).
    fn mark_superseded(&self, newer: u32) {
        let stored = self.status.lock().unwrap_or_else(|e| e.into_inner()).stored_serial;
        if stored == Some(newer) || !self.path.exists() || self.marked.swap(true, std::sync::atomic::Ordering::AcqRel) {
            return;
        }
        let marked = std::fs::File::options().write(true).open(&self.path).and_then(|f| f.set_modified(UNIX_EPOCH));
        match marked {
            Ok(()) => tracing::warn!(
                zone = %self.zone,
                path = %self.path.display(),
                "the stored copy is older than the version served; after a restart it is not served until a primary is reached"
            ),
            Err(e) => {
                let _ = std::fs::remove_file(&self.path);
                tracing::warn!(zone = %self.zone, path = %self.path.display(), "the stored copy is older than the version served and could not be marked so ({e}): removed");
            }
        }
        self.status.lock().unwrap_or_else(|e| e.into_inner()).stored_serial = None;
    }

    /// A primary confirmed `serial`: the copy's time is renewed if it is
    /// that version and nothing newer waits to be written. False when
    /// the copy has no integrity check and wants a full transfer.
    pub fn confirmed(&self, serial: u32) -> bool {
        if self.unchecked.load(std::sync::atomic::Ordering::Acquire) {
            return false;
        }
        if self.status().stored_serial != Some(serial) || self.status().pending {
            return true;
        }
        if let Ok(f) = std::fs::File::options().append(true).open(&self.path) {
            let _ = f.set_modified(SystemTime::now());
        }
        true
    }
}

//------------ start-up ---------------------------------------------------------

/// At start, before the privilege drop and before the instance lock
/// (which lives in it): creates the storage directory if it is missing,
/// owned by `[server] user` when levee runs as root and will drop to it.
pub fn create_dir(cfg: &Config) -> Result<(), String> {
    let Some(dir) = &cfg.storage_dir else { return Ok(()) };
    if !dir.exists() {
        std::fs::create_dir_all(dir).map_err(|e| format!("server.storage-dir {}: {e}", dir.display()))?;
        tracing::info!(path = %dir.display(), "storage directory created");
        give_to_service_user(cfg, [dir.as_path()], "storage directory ");
    }
    Ok(())
}

/// At start, before the privilege drop and once the instance lock is
/// held (no other server writes here): creates the storage directory if
/// it is still missing and removes temporary files a crash left behind.
/// `runtime`: the names of the runtime zones (`provision`), whose stored
/// files are ours too.
pub fn prepare(cfg: &Config, runtime: &[String]) {
    let Some(dir) = &cfg.storage_dir else { return };
    if let Err(e) = create_dir(cfg) {
        tracing::error!("{e}");
    }
    let mut tmps: Vec<PathBuf> =
        std::fs::read_dir(dir).map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect()).unwrap_or_default();
    report_unconfigured(cfg, runtime, &tmps);
    // Secondary zones stored elsewhere (`[[zone]] file`).
    tmps.extend(
        cfg.zones.iter().filter(|z| !z.repl.primaries.is_empty()).filter_map(|z| z.file.as_deref().map(tmp_of)),
    );
    for p in tmps {
        let Some(n) = p.file_name().and_then(|n| n.to_str()) else { continue };
        let ours = n.ends_with("zone.tmp") || n.ends_with("journal.tmp") || n == "runtime-zones.json.tmp";
        if ours && p.is_file() {
            match std::fs::remove_file(&p) {
                Ok(()) => tracing::warn!(path = %p.display(), "removed a temporary file left by an interrupted write"),
                Err(e) => tracing::warn!(path = %p.display(), "cannot remove a stale temporary file: {e}"),
            }
        }
    }
}

/// Logs the stored files of zones the configuration no longer names
/// (they are left in place).
fn report_unconfigured(cfg: &Config, runtime: &[String], files: &[PathBuf]) {
    // Runtime zones and produced catalogs are ours too. A set: one
    // look-up per stored file (a scan per file made 100,000 stored
    // secondaries quadratic at start).
    let configured: std::collections::HashSet<Vec<u8>> = cfg
        .zones
        .iter()
        .map(|z| z.name.as_str())
        .chain(runtime.iter().map(String::as_str))
        .filter_map(|z| name::from_text(z, None).ok())
        .map(|n| name::to_lowercase(&n).as_slice().to_vec())
        .collect();
    for p in files {
        let Some(n) = p.file_name().and_then(|n| n.to_str()) else { continue };
        let Some(stem) = n.strip_suffix("zone").or_else(|| n.strip_suffix("journal")) else { continue };
        if let Some(apex) = decode_stem(stem) {
            if !configured.contains(&apex) {
                tracing::info!(zone = %name::to_text(&apex), path = %p.display(), "stored file of a zone that is not configured (left in place)");
            }
        }
    }
}

/// Gives `paths` to the configured service user (`[server] user`, and
/// `group`) when levee runs as root and will run as that user: what
/// levee makes before the privilege drop and uses after it. Failures
/// are logged as `{what}{path}: cannot give it to {user}: ...`.
pub fn give_to_service_user<'p>(cfg: &Config, paths: impl IntoIterator<Item = &'p Path>, what: &str) {
    let Some(user) = &cfg.user else { return };
    if levee_io::privs::euid() != 0 {
        return;
    }
    match levee_io::privs::resolve(user, cfg.group.as_deref()) {
        Ok(ids) => {
            for p in paths {
                if let Err(e) = std::os::unix::fs::chown(p, Some(ids.uid), Some(ids.gid)) {
                    tracing::error!("{what}{}: cannot give it to {user}: {e}", p.display());
                }
            }
        }
        Err(e) => tracing::error!("server.user: {e}"),
    }
}

/// After the privilege drop: the storage directory must be writable by
/// the user levee runs as (journals, received zones, the control socket).
pub fn check_writable(cfg: &Config) -> Result<(), String> {
    let Some(dir) = &cfg.storage_dir else { return Ok(()) };
    let probe = dir.join(format!(".levee-write-test-{}", std::process::id()));
    let who = cfg.user.clone().map_or_else(|| format!("uid {}", levee_io::privs::euid()), |u| format!("user {u}"));
    let r = std::fs::File::create(&probe).and_then(|f| f.sync_all());
    let _ = std::fs::remove_file(&probe);
    r.map_err(|e| {
        format!(
            "server.storage-dir {} is not writable by {who} ({e}): journals, received zones and the control socket \
             could not be written; give the directory to that user (e.g. chown {} {}) or remove it so levee creates it",
            dir.display(),
            cfg.user.as_deref().unwrap_or("USER"),
            dir.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(t: &str) -> Vec<u8> {
        name::from_text(t, None).unwrap().as_slice().to_vec()
    }

    #[test]
    fn stems() {
        assert_eq!(file_stem(&wire("example.com.")), "example.com.");
        assert_eq!(file_stem(&wire("Example.COM.")), "example.com.");
        assert_eq!(file_stem(&[0]), "@.");
        assert_eq!(file_stem(&wire("0/25.2.0.192.in-addr.arpa.")), "0%2F25.2.0.192.in-addr.arpa.");
        assert_eq!(file_stem(&wire("a\\.b.c.")), "a%2Eb.c.");
        assert_eq!(file_stem(&wire("%41.")), "%2541.");
        assert_eq!(file_stem(&wire("a\\000\\255 .x.")), "a%00%FF%20.x.");
        for t in
            ["example.com.", ".", "0/25.2.0.192.in-addr.arpa.", "a\\.b.c.", "%41.", "a\\000\\255\\032.x.", "_x-y.z."]
        {
            let w = wire(t);
            assert_eq!(decode_stem(&file_stem(&w)).unwrap(), name::to_lowercase(&w).as_slice(), "{t}");
        }
        // Not canonical: lower-case hex, an escaped plain octet, upper case.
        for s in ["a%2f.", "%61.", "A.", "a", "a..", "%2.", "."] {
            assert_eq!(decode_stem(s), None, "{s}");
        }
        // Long names are hashed, stay short and differ.
        let long1 = wire(&format!("{}.", ["\\255"; 60].concat() + "." + &["\\254"; 60].concat()));
        let long2 = wire(&format!("{}.", ["\\255"; 60].concat() + "." + &["\\253"; 60].concat()));
        let (a, b) = (file_stem(&long1), file_stem(&long2));
        assert!(a.starts_with("%%") && a.len() == 67 && a != b, "{a} {b}");
        assert_eq!(decode_stem(&a), None);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 2000, failure_persistence: None, ..Default::default() })]
        /// Any two names: the same stem only if the same name (ignoring
        /// case), and every short stem decodes back to its name.
        #[test]
        fn stems_are_reversible_and_distinct(
            a in proptest::collection::vec(proptest::collection::vec(proptest::prelude::any::<u8>(), 1..8), 0..4),
            b in proptest::collection::vec(proptest::collection::vec(proptest::prelude::any::<u8>(), 1..8), 0..4),
        ) {
            let to_wire = |ls: &Vec<Vec<u8>>| {
                let mut w = Vec::new();
                for l in ls { w.push(l.len() as u8); w.extend_from_slice(l); }
                w.push(0);
                w
            };
            let (wa, wb) = (to_wire(&a), to_wire(&b));
            let (sa, sb) = (file_stem(&wa), file_stem(&wb));
            let (la, lb) = (name::to_lowercase(&wa), name::to_lowercase(&wb));
            proptest::prop_assert_eq!(sa == sb, la.as_slice() == lb.as_slice());
            proptest::prop_assert!(sa.bytes().all(|c| c.is_ascii_graphic() && c != b'/'));
            let back = decode_stem(&sa);
            proptest::prop_assert_eq!(back.as_deref(), Some(la.as_slice()));
        }
    }

    #[test]
    fn copies_are_verified() {
        let dir = std::env::temp_dir().join(format!("levee-storage-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let apex = wire("0/25.2.0.192.in-addr.arpa.");
        let path = zone_file(&dir, &apex);
        let soa = levee_zone::load(
            levee_zone::Source::Memory {
                name: "t",
                data: b"$TTL 60\n@ SOA ns h 7 1 1 1 1\n@ NS ns\nns A 192.0.2.1\n1 PTR h.example.\n",
            },
            &apex,
        )
        .unwrap();
        let recs = levee_zone::journal::records(&soa.zone);
        write_zone_copy(&path, &apex, 7, &recs).unwrap();
        assert!(!tmp_of(&path).exists());
        assert_eq!(verify_zone_copy(&path, &apex), Ok(Checked::Verified(7)));
        let loaded = levee_zone::load_file(&path, &apex).unwrap();
        assert!(loaded.zone.same_data(&soa.zone));
        assert!(verify_zone_copy(&path, &wire("other.")).unwrap_err().contains("not of other."));
        let good = std::fs::read(&path).unwrap();
        // Every cut (at a line boundary or not) and a flipped bit are refused.
        for cut in 0..good.len() {
            std::fs::write(&path, &good[..cut]).unwrap();
            assert!(verify_zone_copy(&path, &apex).is_err(), "cut at {cut}");
        }
        let mut bad = good.clone();
        bad[good.len() / 2] ^= 1;
        std::fs::write(&path, &bad).unwrap();
        assert!(verify_zone_copy(&path, &apex).unwrap_err().contains("SHA-256"));
        // A copy of an older levee has nothing to check.
        std::fs::write(&path, format!("{LEGACY_HEADER}\n@ 60 IN SOA ns h 7 1 1 1 1\n")).unwrap();
        assert_eq!(verify_zone_copy(&path, &apex), Ok(Checked::Unchecked));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
