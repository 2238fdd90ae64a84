//! Giving freed heap memory back to the system.
//!
//! A transfer in that is abandoned (over its budget, cancelled, failed)
//! frees millions of small allocations at once. glibc keeps such chunks in
//! its fast bins and, merged, at the top of the arena they came from, so
//! the process's RSS stays high long after the data is gone (issue 15:
//! 244 MB still held after an endless AXFR was cut).
//!
//! * [`configure_allocator`] (at start, before any thread) makes every
//!   thread allocate from glibc's main arena. `malloc_trim` returns the
//!   free top of the main arena, but never the top of a per-thread arena,
//!   and the transfer thread's records ended up exactly there: measured on
//!   500k received records, 31 MB stayed after `malloc_trim` with
//!   per-thread arenas, none with one arena. levee's query threads do not
//!   allocate per query (`udp_query_path_does_not_allocate`), so a shared
//!   arena costs them nothing; background work (transfers, builds,
//!   reloads) shares one lock.
//! * [`release_free_memory`] asks the allocator to return every free page,
//!   after an abandoned transfer (the memory of a replaced zone is reused
//!   by the next version and not trimmed: a trim walks the free lists under
//!   the arena's lock).

/// One malloc arena for every thread (glibc; a no-op elsewhere). Call it
/// first thing in `main`, before any thread exists.
pub fn configure_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt takes two integers and only changes the allocator's
    // parameters; M_ARENA_MAX limits arenas created from now on.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

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
