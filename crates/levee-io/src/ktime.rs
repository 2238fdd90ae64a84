//! The kernel's monotonic clock in nanoseconds: the clock BPF programs
//! read with `bpf_ktime_get_ns`, so that user space can write times (the
//! flood gate's known-source expiries, docs/gate.md) the programs compare
//! with their own. `std::time::Instant` reads the same clock but does not
//! expose its value.

/// `CLOCK_MONOTONIC` now, in nanoseconds.
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC is always
    // available on Linux, and on failure `ts` stays zero.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64).wrapping_mul(1_000_000_000).wrapping_add(ts.tv_nsec as u64)
}

#[cfg(test)]
mod tests {
    #[test]
    fn it_moves_forward_with_the_instant_clock() {
        let a = super::monotonic_ns();
        std::thread::sleep(std::time::Duration::from_millis(5));
        let b = super::monotonic_ns();
        assert!(a > 0 && b >= a + 5_000_000, "{a} {b}");
    }
}
