//! Process-local resources checked at start (issue 16): the open-file
//! limit, a lock file against a second instance on the same storage, and
//! the control socket created with its mode already set.

use std::fs::File;
use std::io::{self, Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixListener;
use std::path::Path;

use socket2::{Domain, SockAddr, Socket, Type};

/// The open-file limit (`RLIMIT_NOFILE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoFile {
    /// The limit in force.
    pub soft: u64,
    /// How far an unprivileged process may raise it.
    pub hard: u64,
}

/// Reads `RLIMIT_NOFILE` (`RLIM_INFINITY` reads as `u64::MAX`).
pub fn nofile() -> io::Result<NoFile> {
    let mut r = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: `r` is a valid rlimit for the call to fill.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(NoFile { soft: r.rlim_cur, hard: r.rlim_max })
}

/// Sets the soft open-file limit to `soft` (at most the hard limit),
/// leaving the hard limit as it is.
pub fn set_nofile(soft: u64) -> io::Result<()> {
    let cur = nofile()?;
    let r = libc::rlimit { rlim_cur: soft.min(cur.hard), rlim_max: cur.hard };
    // SAFETY: `r` is a valid rlimit read by the call.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &r) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// An exclusive `flock` on a file, held until dropped (or the process
/// ends: the kernel releases it with the descriptor, so a crash leaves no
/// stale lock). The file holds the holder's process id.
#[derive(Debug)]
pub struct LockFile {
    _file: File,
}

/// Locks `path` (created with mode 0644 if missing) and writes our pid
/// into it. `Ok(Err(pid))`: another process holds it (its pid as written
/// in the file, if readable).
pub fn lock_file(path: &Path) -> io::Result<Result<LockFile, Option<u32>>> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f =
        std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(false).mode(0o644).open(path)?;
    // SAFETY: a plain syscall on a descriptor `f` owns.
    if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EWOULDBLOCK) {
            return Err(e);
        }
        let mut text = String::new();
        let _ = f.read_to_string(&mut text);
        return Ok(Err(text.trim().parse().ok()));
    }
    f.set_len(0)?;
    f.rewind()?;
    writeln!(f, "{}", std::process::id())?;
    Ok(Ok(LockFile { _file: f }))
}

/// Creates a listening unix stream socket at `path` whose mode is `mode`
/// (and group `gid`, if given) before it accepts anything: the socket is
/// bound, its mode and group set, and only then does it listen, so no
/// client can connect while it is more open than asked. `path` must not
/// exist.
pub fn bind_unix(path: &Path, mode: u32, gid: Option<u32>) -> io::Result<UnixListener> {
    use std::os::unix::fs::PermissionsExt;
    let s = Socket::new(Domain::UNIX, Type::STREAM, None)?;
    s.bind(&SockAddr::unix(path)?)?;
    let set = || -> io::Result<()> {
        if let Some(g) = gid {
            std::os::unix::fs::chown(path, None, Some(g))?;
        }
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
    };
    if let Err(e) = set() {
        let _ = std::fs::remove_file(path);
        return Err(e);
    }
    s.listen(128)?;
    s.set_nonblocking(true)?;
    Ok(UnixListener::from(std::os::fd::OwnedFd::from(s)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_limit_can_be_read_and_set_within_the_hard_limit() {
        let l = nofile().unwrap();
        assert!(l.soft <= l.hard && l.soft > 0);
        set_nofile(l.soft).unwrap();
        assert_eq!(nofile().unwrap(), l);
    }

    #[test]
    fn a_lock_is_exclusive_and_names_its_holder() {
        let p = std::env::temp_dir().join(format!("levee-io-lock-{}", std::process::id()));
        let held = lock_file(&p).unwrap().expect("first lock");
        assert_eq!(std::fs::read_to_string(&p).unwrap().trim(), std::process::id().to_string());
        // flock locks belong to the open file: a second open conflicts,
        // in this process as in another.
        assert_eq!(lock_file(&p).unwrap().unwrap_err(), Some(std::process::id()));
        drop(held);
        let again = lock_file(&p).unwrap();
        assert!(again.is_ok());
        let _ = std::fs::remove_file(&p);
    }

    #[test]
    fn a_socket_is_created_with_its_mode() {
        let p = std::env::temp_dir().join(format!("levee-io-sock-{}", std::process::id()));
        let _ = std::fs::remove_file(&p);
        let l = bind_unix(&p, 0o600, None).unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o7777, 0o600);
        let _c = std::os::unix::net::UnixStream::connect(&p).unwrap();
        l.set_nonblocking(false).unwrap();
        assert!(l.accept().is_ok());
        assert!(bind_unix(&p, 0o600, None).is_err(), "binds over an existing file");
        std::fs::remove_file(&p).unwrap();
    }
}
