//! The update log: every accepted change of a dynamic zone, appended and
//! made durable (`fdatasync`) before the update is acknowledged, and
//! replayed over the zone file at start.
//!
//! One file per zone, `<stem>updates` in `server.storage-dir` (the stem
//! of `storage.rs`). It is a sequence of entries, each a 4-octet length
//! and a one-difference journal in the checksummed format of
//! `levee_zone::journal` (`Journal::encode`): a difference from one
//! serial to the next. Appending never rewrites what is there, so a
//! crash (`kill -9`, power loss) leaves every entry whose `fdatasync`
//! returned, plus at most a torn last entry, whose update was never
//! acknowledged: [`read`] stops at it and [`Log::open`] cuts it off.
//!
//! **Compaction.** Once a log holds [`COMPACT_ENTRIES`] entries or
//! [`COMPACT_BYTES`] octets, the zone as served is written to
//! `<stem>updates-base` (a stored copy with its integrity line, written
//! to a temporary file, synced and renamed: `storage::write_zone_copy`)
//! and the log is emptied. The base then stands for the zone file: the
//! log continues from the base's serial. A crash between the two steps
//! leaves a base that already holds the log's changes, which [`replay`]
//! recognises (the log ends at the base's serial) and skips.
//!
//! At start ([`replay`]) the entries are applied in order over the zone
//! as its base (or else its file) loaded, from the entry that starts at
//! that serial. If none does and the log does not end there either (the
//! file was edited and its serial changed while levee was stopped), the
//! log is set aside as `<stem>updates.stale` with an error in the log and
//! the file is served: editing the file of a dynamic zone means losing
//! its updates, as with BIND's journal.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use levee_zone::journal::{Diff, Journal, Limits};

/// Entries after which a log is compacted.
pub const COMPACT_ENTRIES: u64 = 1000;
/// Octets after which a log is compacted.
pub const COMPACT_BYTES: u64 = 16 << 20;

/// The update log of a zone.
pub fn log_file(storage: &Path, apex: &[u8]) -> PathBuf {
    storage.join(format!("{}updates", crate::storage::file_stem(apex)))
}

/// The zone as of the start of its compacted log.
pub fn base_file(storage: &Path, apex: &[u8]) -> PathBuf {
    storage.join(format!("{}updates-base", crate::storage::file_stem(apex)))
}

/// Encodes one entry: length, then a journal holding `d` alone.
pub fn encode(d: &Diff) -> Vec<u8> {
    let mut j = Journal::new();
    j.push(d.clone(), 0, Limits { max_bytes: usize::MAX, max_age: u64::MAX });
    let body = j.encode();
    let mut out = (body.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(&body);
    out
}

/// The differences in a log's bytes, and the length of the part that
/// holds them (less than `b.len()` when the last entry is torn).
pub fn read(b: &[u8]) -> (Vec<Diff>, usize) {
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(len) = b.get(pos..pos + 4).map(|l| u32::from_be_bytes([l[0], l[1], l[2], l[3]]) as usize) {
        let Some(body) = b.get(pos + 4..pos + 4 + len) else { break };
        let Ok(j) = Journal::decode(body) else { break };
        let Some(d) = j.since(j.first_serial().unwrap_or(0)).and_then(|v| v.first().map(|d| (*d).clone())) else {
            break;
        };
        out.push(d);
        pos += 4 + len;
    }
    (out, pos)
}

/// An open log, appended to by the update thread.
pub struct Log {
    file: File,
    /// Entries in the file.
    pub entries: u64,
    /// Octets in the file.
    pub bytes: u64,
}

impl Log {
    /// Opens (creating, mode 0640) the log at `path`, cutting off a torn
    /// last entry.
    pub fn open(path: &Path) -> io::Result<Log> {
        let existed = path.exists();
        let mut file = OpenOptions::new().read(true).append(true).create(true).mode(0o640).open(path)?;
        let mut b = Vec::new();
        file.read_to_end(&mut b)?;
        let (diffs, good) = read(&b);
        if good < b.len() {
            tracing::warn!(path = %path.display(), cut = b.len() - good, "update log: a torn last entry (never acknowledged) cut off");
            file.set_len(good as u64)?;
            file.sync_all()?;
        }
        if !existed {
            crate::storage::sync_dir(path)?;
        }
        Ok(Log { file, entries: diffs.len() as u64, bytes: good as u64 })
    }

    /// Whether the log is due for compaction.
    pub fn full(&self) -> bool {
        self.entries >= COMPACT_ENTRIES || self.bytes >= COMPACT_BYTES
    }

    /// Empties the log (its base was written), durably.
    pub fn clear(&mut self) -> io::Result<()> {
        self.file.set_len(0)?;
        self.file.sync_all()?;
        self.entries = 0;
        self.bytes = 0;
        Ok(())
    }

    /// Appends `d` and waits until it is on disk.
    pub fn append(&mut self, d: &Diff) -> io::Result<()> {
        let e = encode(d);
        self.file.write_all(&e)?;
        self.file.sync_data()?;
        self.entries += 1;
        self.bytes += e.len() as u64;
        Ok(())
    }
}

/// What [`replay`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Replayed {
    /// No log, or an empty one.
    Nothing,
    /// The differences to apply, in order (the first starts at the
    /// serial loaded).
    Apply(Vec<Diff>),
    /// The log does not start at the file's serial: set aside.
    Stale { log_starts: u32 },
}

/// Reads the log of a zone whose base or file loaded with serial
/// `serial`.
pub fn replay(path: &Path, serial: u32) -> io::Result<Replayed> {
    let b = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Replayed::Nothing),
        Err(e) => return Err(e),
    };
    let (mut diffs, _) = read(&b);
    if let Some(i) = diffs.iter().position(|d| d.from() == serial) {
        return Ok(Replayed::Apply(diffs.split_off(i)));
    }
    match diffs.first() {
        None => Ok(Replayed::Nothing),
        // A compaction wrote the base and stopped before emptying the log.
        Some(_) if diffs.last().is_some_and(|d| d.to() == serial) => Ok(Replayed::Nothing),
        Some(d) => {
            let log_starts = d.from();
            let mut aside = path.as_os_str().to_owned();
            aside.push(".stale");
            std::fs::rename(path, &aside)?;
            Ok(Replayed::Stale { log_starts })
        }
    }
}

#[cfg(test)]
mod tests {
    use levee_zone::journal::Rr;

    use super::*;

    fn soa(serial: u32) -> Rr {
        let mut rd = b"\x00\x00".to_vec();
        for v in [serial, 1, 2, 3, 4] {
            rd.extend_from_slice(&v.to_be_bytes());
        }
        Rr { owner: b"\x00".to_vec(), rtype: 6, ttl: 60, rdata: rd }
    }

    fn diff(from: u32) -> Diff {
        let a = Rr { owner: b"\x01a\x00".to_vec(), rtype: 1, ttl: 60, rdata: vec![192, 0, 2, from as u8] };
        Diff { old_soa: soa(from), new_soa: soa(from + 1), removed: vec![], added: vec![a] }
    }

    #[test]
    fn entries_read_back_and_a_torn_tail_is_cut() {
        let dir = std::env::temp_dir().join(format!("levee-updlog-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("t.updates");
        let _ = std::fs::remove_file(&path);
        let mut log = Log::open(&path).unwrap();
        for s in 1..=3 {
            log.append(&diff(s)).unwrap();
        }
        let full = std::fs::read(&path).unwrap();
        assert_eq!(read(&full), (vec![diff(1), diff(2), diff(3)], full.len()));
        // Every cut inside the last entry loses that entry only.
        let two = encode(&diff(1)).len() + encode(&diff(2)).len();
        for cut in two..full.len() {
            let (d, good) = read(&full[..cut]);
            assert_eq!((d.len(), good), (2, two), "cut at {cut}");
        }
        // A flipped octet in the last entry: its checksum fails.
        let mut bad = full.clone();
        let n = bad.len();
        bad[n - 10] ^= 1;
        assert_eq!(read(&bad).0.len(), 2);
        // Opening cuts the torn tail off, and appending goes on after it.
        std::fs::write(&path, &full[..full.len() - 3]).unwrap();
        let mut log = Log::open(&path).unwrap();
        assert_eq!(log.entries, 2);
        log.append(&diff(3)).unwrap();
        assert_eq!(read(&std::fs::read(&path).unwrap()).0, vec![diff(1), diff(2), diff(3)]);
        // Replay starts at the serial loaded: from the file's, or from a
        // base's within the log (nothing if the base holds it all).
        assert_eq!(replay(&path, 1).unwrap(), Replayed::Apply(vec![diff(1), diff(2), diff(3)]));
        assert_eq!(replay(&path, 3).unwrap(), Replayed::Apply(vec![diff(3)]));
        assert_eq!(replay(&path, 4).unwrap(), Replayed::Nothing);
        // Compaction empties it; appending goes on from the base.
        let mut log = Log::open(&path).unwrap();
        log.clear().unwrap();
        assert_eq!((log.entries, log.bytes, std::fs::metadata(&path).unwrap().len()), (0, 0, 0));
        log.append(&diff(4)).unwrap();
        assert_eq!(replay(&path, 4).unwrap(), Replayed::Apply(vec![diff(4)]));
        // Another serial sets the log aside.
        assert_eq!(replay(&path, 7).unwrap(), Replayed::Stale { log_starts: 4 });
        assert!(!path.exists());
        assert_eq!(replay(&path, 1).unwrap(), Replayed::Nothing);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
