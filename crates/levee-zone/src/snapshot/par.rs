//! The build's steps on several threads, with the one-thread result.
//!
//! A big zone's build cuts a step's work into contiguous parts (runs of
//! names, of segments, of the name index's slots) and gives each part to
//! a thread of its own ([`on_threads`]); the caller joins the parts' results
//! in part order, so what comes out (segments, diagnostics and their
//! order) is what one thread doing the parts one after the other gives.
//! Small builds (below [`PAR_MIN`] names or records) stay on the calling
//! thread: a server starting with 100,000 small zones spawns nothing.

use std::sync::Mutex;

/// Names (or records) below which a build step stays on one thread.
pub(crate) const PAR_MIN: usize = 1 << 14;

/// `job` run on each of `inputs`, each on a thread of its own (the
/// calling thread takes the last), the results in the order of the inputs.
/// An input whose thread cannot be started is done by the calling thread;
/// a job's panic is raised again in the caller.
pub(crate) fn on_threads<I: Send, T: Send>(inputs: Vec<I>, job: impl Fn(I) -> T + Sync) -> Vec<T> {
    let n = inputs.len();
    if n <= 1 {
        return inputs.into_iter().map(job).collect();
    }
    // Each input is taken once: by its thread, or by the caller when the
    // thread could not be started.
    let slots: Vec<Mutex<Option<I>>> = inputs.into_iter().map(|i| Mutex::new(Some(i))).collect();
    let take = |k: usize| slots[k].lock().unwrap_or_else(|e| e.into_inner()).take();
    let job = &job;
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..n - 1)
            .map(|k| {
                std::thread::Builder::new().name("levee-build".into()).spawn_scoped(s, move || take(k).map(job)).ok()
            })
            .collect();
        let last = take(n - 1).map(job);
        let mut out = Vec::with_capacity(n);
        for (k, h) in handles.into_iter().enumerate() {
            let r = match h.map(|h| h.join()) {
                Some(Ok(r)) => r,
                Some(Err(panic)) => std::panic::resume_unwind(panic),
                None => take(k).map(job),
            };
            out.extend(r);
        }
        out.extend(last);
        out
    })
}

/// Cuts `weights` (the work of each item, in order) into at most `parts`
/// contiguous runs of about equal total weight: the index where each run
/// starts (the first is 0; empty runs are left out).
pub(crate) fn cut(weights: impl Iterator<Item = usize> + Clone, parts: usize) -> Vec<usize> {
    let total: usize = weights.clone().sum();
    let parts = parts.max(1);
    let mut starts = vec![0];
    let mut acc = 0usize;
    for (i, w) in weights.enumerate() {
        // Item i starts run k when the weight before it reaches k/parts.
        let k = starts.len();
        if k < parts && i > 0 && acc * parts >= total * k {
            starts.push(i);
        }
        acc += w;
    }
    starts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_in_input_order() {
        let out = on_threads((0..5u64).collect(), |i| (0..=i * 1000).sum::<u64>());
        assert_eq!(out, (0..5u64).map(|i| (0..=i * 1000).sum::<u64>()).collect::<Vec<_>>());
        assert_eq!(on_threads(Vec::<u8>::new(), |i| i), Vec::<u8>::new());
        assert_eq!(on_threads(vec![7u8], |i| i + 1), vec![8]);
    }

    #[test]
    fn runs_have_about_equal_weight() {
        assert_eq!(cut([1usize; 10].into_iter(), 2), vec![0, 5]);
        assert_eq!(cut([1usize; 10].into_iter(), 3), vec![0, 4, 7]);
        assert_eq!(cut([9usize, 1, 1, 1].into_iter(), 2), vec![0, 1]);
        assert_eq!(cut([1usize; 3].into_iter(), 1), vec![0]);
        assert_eq!(cut([1usize; 2].into_iter(), 4), vec![0, 1]);
        assert_eq!(cut(std::iter::empty::<usize>(), 2), vec![0]);
    }
}
