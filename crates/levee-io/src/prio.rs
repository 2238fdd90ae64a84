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

/// Puts the calling thread in the `SCHED_IDLE` class: a query thread that
/// wakes up preempts it at once (a nice value only lowers its share and
/// lets it finish its time slice, a millisecond or more of delay for the
/// query), and it still progresses on a saturated machine, slowly (the
/// kernel gives idle-class threads the smallest weight, not zero). For
/// long background work: receiving and building a zone, writing it to
/// disk, freeing a replaced one. Falls back to nice 19 where the class is
/// refused.
pub fn background_current_thread() {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: `param` is a valid sched_param that outlives the call; pid 0
    // means the calling thread.
    let r = unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) };
    if r != 0 {
        let _ = lower_current_thread(19);
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

    #[test]
    fn background_is_sched_idle_for_this_thread_only() {
        let h = std::thread::spawn(|| {
            super::background_current_thread();
            policy()
        });
        assert_eq!(h.join().unwrap(), 5, "SCHED_IDLE is policy 5 in /proc/PID/stat");
        assert_eq!(policy(), 0, "the calling thread stays SCHED_OTHER");
    }

    /// This thread's scheduling policy, read from /proc.
    fn policy() -> i32 {
        let tid = std::fs::read_link("/proc/thread-self").unwrap();
        let stat = std::fs::read_to_string(std::path::Path::new("/proc").join(tid).join("stat")).unwrap();
        let after = &stat[stat.rfind(')').unwrap() + 2..];
        after.split(' ').nth(38).unwrap().parse().unwrap()
    }

    /// This thread's nice value, read from /proc.
    fn unsafe_free_nice() -> i32 {
        let tid = std::fs::read_link("/proc/thread-self").unwrap();
        let stat = std::fs::read_to_string(std::path::Path::new("/proc").join(tid).join("stat")).unwrap();
        let after = &stat[stat.rfind(')').unwrap() + 2..];
        after.split(' ').nth(16).unwrap().parse().unwrap()
    }
}
