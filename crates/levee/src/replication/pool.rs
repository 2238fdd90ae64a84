//! The threads transfers in run on (`secondary::run_transfer`): kept
//! between transfers instead of one thread made and ended per transfer.
//! A secondary receiving 10,000 new zones (a catalog's members) made and
//! ended 10,000 threads (a stack mapped, touched and unmapped, the
//! scheduling class set, signal stacks: about 15 system calls and the
//! stack's page faults each); the pool keeps up to as many threads as
//! transfers run at once (`[transfer-in] concurrent`, which the caller's
//! slots bound), each in the `SCHED_IDLE` class once, ended after
//! [`IDLE`] without work.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// A thread of the pool with nothing to do ends after this long.
pub const IDLE: Duration = Duration::from_secs(10);

type Work = Box<dyn FnOnce() + Send>;

/// A pool of background threads (see the module documentation).
pub struct Pool {
    name: &'static str,
    idle_for: Duration,
    state: Mutex<State>,
    more: Condvar,
}

#[derive(Default)]
struct State {
    jobs: VecDeque<Work>,
    /// Threads waiting for work.
    idle: usize,
}

impl Pool {
    /// An empty pool whose threads are called `name`.
    pub fn new(name: &'static str, idle_for: Duration) -> Arc<Pool> {
        Arc::new(Pool { name, idle_for, state: Mutex::default(), more: Condvar::new() })
    }

    /// Runs `job` on a thread of the pool: an idle one, or a new one when
    /// none is idle. `Err` if no thread could be made (the job is dropped).
    pub fn run(self: &Arc<Self>, job: impl FnOnce() + Send + 'static) -> std::io::Result<()> {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.jobs.push_back(Box::new(job));
        if st.jobs.len() <= st.idle {
            self.more.notify_one();
            return Ok(());
        }
        let me = Arc::clone(self);
        match std::thread::Builder::new().name(self.name.into()).spawn(move || me.work()) {
            Ok(_) => Ok(()),
            Err(e) => {
                st.jobs.pop_back(); // ours: the lock was held since the push
                Err(e)
            }
        }
    }

    fn work(self: Arc<Self>) {
        levee_io::prio::background_current_thread();
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(job) = st.jobs.pop_front() {
                drop(st);
                job();
                st = self.state.lock().unwrap_or_else(|e| e.into_inner());
                continue;
            }
            st.idle += 1;
            let (g, waited) = self.more.wait_timeout(st, self.idle_for).unwrap_or_else(|e| e.into_inner());
            st = g;
            st.idle -= 1;
            if waited.timed_out() && st.jobs.is_empty() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Jobs run at once even when more arrive than threads are idle; the
    /// threads are reused, not made per job; idle ones end.
    #[test]
    fn jobs_run_on_reused_threads_that_end_when_idle() {
        let pool = Pool::new("pool-test", Duration::from_millis(300));
        let names = Arc::new(Mutex::new(std::collections::HashSet::new()));
        let done = Arc::new(AtomicUsize::new(0));
        for round in 0..20 {
            // Four at once, each waiting for the others: deadlocks unless
            // each gets a thread.
            let barrier = Arc::new(std::sync::Barrier::new(4));
            for _ in 0..4 {
                let (b, n, d) = (Arc::clone(&barrier), Arc::clone(&names), Arc::clone(&done));
                pool.run(move || {
                    b.wait();
                    n.lock().unwrap().insert(format!("{:?}", std::thread::current().id()));
                    d.fetch_add(1, Ordering::SeqCst);
                })
                .unwrap();
            }
            while done.load(Ordering::SeqCst) < (round + 1) * 4 {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        let made = names.lock().unwrap().len();
        assert!((4..=8).contains(&made), "80 jobs on {made} threads");
        std::thread::sleep(Duration::from_millis(800));
        assert_eq!(pool.state.lock().unwrap().idle, 0, "idle threads ended");
    }
}
