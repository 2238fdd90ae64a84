//! Giving freed heap memory back to the system.
//!
//! A transfer in that is abandoned (over its budget, cancelled, failed)
//! frees millions of small allocations at once. glibc keeps such chunks in
//! its per-thread arenas and fast bins, so the process's RSS stays high
//! long after the data is gone (issue 15: 244 MB still held after an
//! endless AXFR was cut). [`release_free_memory`] asks the allocator to
//! return every free page: after an abandoned transfer, and after a
//! replaced zone is freed.

/// Returns free heap pages to the system (glibc `malloc_trim(0)`: fast
/// bins consolidated, free pages of every arena released). A no-op on
/// other C libraries. Costs a walk of the free lists: call it after large
/// frees, not per query.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes a plain integer, touches only the
    // allocator's own free lists under its own locks, and may be called
    // from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn can_be_called_any_time() {
        let v: Vec<Vec<u8>> = (0..10_000).map(|i| vec![i as u8; 40]).collect();
        drop(v);
        super::release_free_memory();
        super::release_free_memory();
    }
}
