//! Dropping root privileges after the sockets are bound: a safe wrapper
//! over `getpwnam_r`/`getgrnam_r`, `setgroups`, `setgid` and `setuid`.

use std::ffi::{CStr, CString};
use std::io;

/// The ids a user and group name resolve to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ids {
    /// User id.
    pub uid: u32,
    /// Group id (the named group, or the user's primary group).
    pub gid: u32,
}

fn lookup_err(what: &str, name: &str, rc: i32) -> io::Error {
    if rc == 0 {
        io::Error::new(io::ErrorKind::NotFound, format!("no such {what}: {name}"))
    } else {
        io::Error::new(
            io::Error::from_raw_os_error(rc).kind(),
            format!("looking up {what} {name}: {}", io::Error::from_raw_os_error(rc)),
        )
    }
}

/// Resolves `user` (and `group`, default: the user's primary group).
pub fn resolve(user: &str, group: Option<&str>) -> io::Result<Ids> {
    let cuser = CString::new(user).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in user name"))?;
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: an all-zero passwd is a valid value of a plain C struct.
    let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
    let mut res: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call; `buf` outlives `pw`'s use below.
    let rc = unsafe { libc::getpwnam_r(cuser.as_ptr(), &mut pw, buf.as_mut_ptr(), buf.len(), &mut res) };
    if res.is_null() {
        return Err(lookup_err("user", user, rc));
    }
    let mut ids = Ids { uid: pw.pw_uid, gid: pw.pw_gid };
    if let Some(g) = group {
        let cgroup = CString::new(g).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in group name"))?;
        // SAFETY: as above, for struct group.
        let mut gr: libc::group = unsafe { std::mem::zeroed() };
        let mut gres: *mut libc::group = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the call.
        let rc = unsafe { libc::getgrnam_r(cgroup.as_ptr(), &mut gr, buf.as_mut_ptr(), buf.len(), &mut gres) };
        if gres.is_null() {
            return Err(lookup_err("group", g, rc));
        }
        ids.gid = gr.gr_gid;
    }
    Ok(ids)
}

/// The id of group `name`.
pub fn group_id(name: &str) -> io::Result<u32> {
    let cgroup = CString::new(name).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in group name"))?;
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: an all-zero group is a valid value of a plain C struct.
    let mut gr: libc::group = unsafe { std::mem::zeroed() };
    let mut gres: *mut libc::group = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call.
    let rc = unsafe { libc::getgrnam_r(cgroup.as_ptr(), &mut gr, buf.as_mut_ptr(), buf.len(), &mut gres) };
    if gres.is_null() {
        return Err(lookup_err("group", name, rc));
    }
    Ok(gr.gr_gid)
}

/// Becomes `ids` for good: supplementary groups cleared, then the group,
/// then the user (real, effective and saved ids, on every thread: glibc
/// broadcasts set*id to all threads). Fails if root could be regained.
pub fn drop_to(ids: Ids) -> io::Result<()> {
    let gid = ids.gid as libc::gid_t;
    // SAFETY: `gid` is a valid one-element array for the call.
    if unsafe { libc::setgroups(1, &gid) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: plain syscalls with integer arguments.
    if unsafe { libc::setresgid(gid, gid, gid) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above.
    if unsafe { libc::setresuid(ids.uid, ids.uid, ids.uid) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above; a successful setuid(0) means the drop did not hold.
    if ids.uid != 0 && unsafe { libc::setuid(0) } == 0 {
        return Err(io::Error::other("could regain root after dropping privileges"));
    }
    Ok(())
}

/// The effective user id.
pub fn euid() -> u32 {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() }
}

/// The name of a user id, for messages.
pub fn user_name(uid: u32) -> Option<String> {
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: as in `resolve`.
    let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
    let mut res: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call.
    unsafe { libc::getpwuid_r(uid, &mut pw, buf.as_mut_ptr(), buf.len(), &mut res) };
    if res.is_null() {
        return None;
    }
    // SAFETY: pw_name points into `buf`, NUL-terminated by getpwuid_r.
    Some(unsafe { CStr::from_ptr(pw.pw_name) }.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_root_and_refuses_unknown_users() {
        let ids = resolve("root", None).unwrap();
        assert_eq!(ids, Ids { uid: 0, gid: 0 });
        assert_eq!(user_name(0).as_deref(), Some("root"));
        let e = resolve("levee-no-such-user-xyz", None).unwrap_err();
        assert!(e.to_string().contains("levee-no-such-user-xyz"), "{e}");
        let e = resolve("root", Some("levee-no-such-group-xyz")).unwrap_err();
        assert!(e.to_string().contains("group"), "{e}");
    }
}
