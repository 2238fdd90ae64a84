//! The DNSSEC key store on disk (issue 18): one directory per zone under
//! a keys directory, one file per private key in the format of
//! `levee_sign::keyfile`.
//!
//! Directories are made with mode 0700 and key files with 0600, written
//! to a temporary name, synced and renamed, so a crash leaves either no
//! key or a whole one. Reading refuses, naming the file, any key file it
//! cannot read or parse, and any key file that another user can read: a
//! key store that is not what levee wrote is not used to sign.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use levee_sign::keyfile;
use levee_sign::{Algorithm, Key};

/// The directory of `zone`'s keys (zone text, absolute) under `root`:
/// the zone's name without the final dot (`root` for the root zone).
pub fn zone_dir(root: &Path, zone: &str) -> PathBuf {
    let z = zone.trim_end_matches('.').to_ascii_lowercase();
    root.join(if z.is_empty() { "root".into() } else { z })
}

/// The keys of `zone` in `dir` (files ending in `.key`), in file-name
/// order. An error names the file.
pub fn load(dir: &Path, zone: &str) -> Result<Vec<Key>, String> {
    Ok(load_files(dir, zone)?.into_iter().map(|(_, kf)| kf.key).collect())
}

/// [`load`], with each key's file and what the file says (its timing).
pub fn load_files(dir: &Path, zone: &str) -> Result<Vec<(PathBuf, keyfile::KeyFile)>, String> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("{}: {e}", dir.display())),
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "key"))
        .collect();
    files.sort();
    let mut keys = Vec::new();
    for f in files {
        let meta = std::fs::metadata(&f).map_err(|e| format!("{}: {e}", f.display()))?;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(format!(
                "{}: mode {:o} lets other users read a private key (chmod 600)",
                f.display(),
                meta.permissions().mode() & 0o777
            ));
        }
        let text = std::fs::read_to_string(&f).map_err(|e| format!("{}: {e}", f.display()))?;
        let kf = keyfile::parse(&text).map_err(|e| format!("{}: {e}", f.display()))?;
        if !kf.zone.eq_ignore_ascii_case(zone) {
            return Err(format!("{}: a key of zone {}, not {zone}", f.display(), kf.zone));
        }
        keys.push((f, kf));
    }
    Ok(keys)
}

/// Makes a key for `zone` and writes it to `dir` (made with mode 0700 if
/// missing) as `<role>-<algorithm>-<tag>.key` with mode 0600.
pub fn generate(dir: &Path, zone: &str, alg: Algorithm, sep: bool, now: u64) -> Result<Key, String> {
    generate_timed(dir, zone, alg, sep, now, &keyfile::Timing::default())
}

/// [`generate`] with a timing (a rollover's next key).
pub fn generate_timed(
    dir: &Path,
    zone: &str,
    alg: Algorithm,
    sep: bool,
    now: u64,
    timing: &keyfile::Timing,
) -> Result<Key, String> {
    let key = Key::generate(alg, sep).map_err(|e| format!("{zone}: {e}"))?;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    let role = if sep { "ksk" } else { "zsk" };
    let path = dir.join(format!("{role}-{}-{:05}.key", alg.number(), key.tag()));
    write_private(&path, &keyfile::to_text_timed(&key, zone, now, timing))?;
    Ok(key)
}

/// Writes a key file (mode 0600) through a temporary file, synced and
/// renamed: a crash leaves the old file or the new one.
pub fn write_private(path: &Path, text: &str) -> Result<(), String> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(path.file_name().unwrap_or_default());
    tmp_name.push(".tmp");
    let tmp = dir.join(tmp_name);
    let r = (|| {
        let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if let Err(e) = r {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!("{}: {e}", path.display()));
    }
    Ok(())
}

/// Gives `dir` and its key files to the configured service user when
/// levee starts as root and runs as another user (the keys are made
/// before the privilege drop and read again at every reload).
pub fn give_to_service_user(cfg: &levee_config::Config, dir: &Path) {
    let mut paths = vec![dir.to_path_buf()];
    if let Some(parent) = dir.parent() {
        paths.push(parent.to_path_buf());
    }
    if let Ok(rd) = std::fs::read_dir(dir) {
        paths.extend(rd.filter_map(|e| e.ok().map(|e| e.path())));
    }
    crate::storage::give_to_service_user(cfg, paths.iter().map(PathBuf::as_path), "");
}
