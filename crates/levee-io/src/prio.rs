//! Thread priority for background work (zone transfers in, zone builds),
//! so the query threads keep the CPU on a busy machine.

use std::io;

/// Lowers the scheduling priority of the calling thread (Linux: a nice
/// value per thread) by `nice` steps. The change lasts as long as the
/// thread, so use it on threads made for the background work.
pub fn lower_current_thread(nice: i32) -> io::Result<()> {
    // SAFETY: gettid has no preconditions and cannot fail.
    let tid = unsafe { libc::syscall(libc::SYS_gettid) } as libc::id_t;
    // SAFETY: setpriority only reads its integer arguments; with
    // PRIO_PROCESS and a thread id it applies to that thread alone.
    let r = unsafe { libc::setpriority(libc::PRIO_PROCESS, tid, nice.clamp(0, 19)) };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn lowers_only_this_thread() {
        let before = unsafe_free_nice();
        let h = std::thread::spawn(|| {
            super::lower_current_thread(10).unwrap();
            unsafe_free_nice()
        });
        assert_eq!(h.join().unwrap(), before + 10);
        assert_eq!(unsafe_free_nice(), before, "the calling thread is unchanged");
    }

    /// This thread's nice value, read from /proc.
    fn unsafe_free_nice() -> i32 {
        let tid = std::fs::read_link("/proc/thread-self").unwrap();
        let stat = std::fs::read_to_string(std::path::Path::new("/proc").join(tid).join("stat")).unwrap();
        let after = &stat[stat.rfind(')').unwrap() + 2..];
        after.split(' ').nth(16).unwrap().parse().unwrap()
    }
}
