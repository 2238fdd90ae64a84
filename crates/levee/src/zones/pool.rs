//! Many zones loaded on a few threads, each load watched.
//!
//! A start with 100,000 small zones used to load them one after the
//! other, each on a thread of its own made for it: the thread's creation,
//! a 4 MiB read buffer zeroed for a file of 150 octets and a look at the
//! cgroup's CPU quota cost more than the zone, and one core did all of it.
//! Here a few workers (the load's threads, `load.parse-threads`) take the
//! zones in turn from a shared counter, load each ([`load_one_from`] and
//! the serial check) and put the result in its place in a shared table
//! (no message and no wake-up per zone: the calling thread sleeps until
//! the last result or its next look). At each look the calling thread
//! hands the results that are in, without a gap, to the caller in the
//! plans' order, which does what it did with each (log, insert, keep the
//! previous version) while the workers load on: nothing but the speed
//! changes.
//!
//! The watch stays per zone: every zone's file-system calls are bracketed
//! by its own [`IoWatch`], which the calling thread samples every
//! [`WATCH_EVERY`]. A call that hangs for `read-timeout` seconds (a dead
//! network file system) fails that zone with the message it always had;
//! its worker is abandoned (left to finish or hang, its result dropped)
//! and a new worker takes its place, so the other zones load on. A panic
//! while loading, which the parser is built never to raise, fails only
//! that zone.
//!
//! Zone files of [`BIG`] octets and more load one at a time (a worker
//! waits for its turn): such a zone parses and builds on every load
//! thread by itself, and two of them at once would hold two loads'
//! working memory.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use levee_config::LoadConfig;
use levee_wire::name;
use levee_zone::{Acl, Diagnostic, IoWatch, LoadOptions, Zone, ZoneEntry, ZoneSet};

use crate::zones::load::{check_serial, file_of, load_one_from, ZonePlan, ZoneSource};

/// How often the calling thread looks at the workers' watches.
const WATCH_EVERY: Duration = Duration::from_millis(50);

/// Zone files at least this long load one at a time.
const BIG: u64 = 1 << 20;

/// The outcome of one zone's load and the milliseconds it took.
pub type Loaded = (Result<ZoneEntry, Vec<Diagnostic>>, u64);

/// What the workers share.
struct Work {
    plans: Arc<[ZonePlan]>,
    /// The served version of each plan's zone (for a reload), by position.
    previous: Vec<Option<Arc<Zone>>>,
    /// The next plan to take.
    next: AtomicUsize,
    limits: LoadConfig,
    /// Threads of one zone's parse and build.
    threads: usize,
    /// The results so far; the calling thread waits on `changed`.
    results: Mutex<Results>,
    changed: Condvar,
    /// Big files load one at a time: the worker whose turn it is.
    big: Mutex<Option<usize>>,
    big_free: Condvar,
    /// More than one worker: big files take turns.
    shared: bool,
    /// The next worker id (ids tell whose turn it is).
    ids: AtomicUsize,
}

/// Each plan's result (the first one given counts) until it is handed
/// to the caller (the plans before `out`), and how many are still
/// missing.
struct Results {
    done: Vec<Option<Loaded>>,
    out: usize,
    left: usize,
}

impl Results {
    /// Whether plan `i` has its result.
    fn has(&self, i: usize) -> bool {
        i < self.out || self.done[i].is_some()
    }

    /// Records plan `i`'s result unless it has one; true if it is the last.
    fn put(&mut self, i: usize, r: Loaded) -> bool {
        if !self.has(i) {
            self.done[i] = Some(r);
            self.left -= 1;
        }
        self.left == 0
    }

    /// The results from `out` on with none missing between, taken.
    fn ready(&mut self) -> Vec<Loaded> {
        let mut got = Vec::new();
        while let Some(r) = self.done.get_mut(self.out).and_then(Option::take) {
            got.push(r);
            self.out += 1;
        }
        got
    }
}

/// What a worker shows the calling thread.
#[derive(Default)]
struct Slot {
    /// The plan it loads and that load's watch.
    current: Mutex<Option<(usize, Arc<IoWatch>)>>,
    /// Given up on: it takes no more plans.
    abandoned: AtomicBool,
}

/// A worker as the calling thread follows it.
struct Watched {
    id: usize,
    slot: Arc<Slot>,
    thread: std::thread::JoinHandle<()>,
    /// The plan last seen, its watch's call counter and since when.
    seen: Option<(usize, u64, Instant)>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Loads every plan (with `previous[i]`, the version being served, as
/// [`load_one_from`] takes it) on at most `limits.threads()` workers;
/// gives each result to `each` in the plans' order, as soon as it and
/// those before it are in (the caller's work on them overlaps the loads).
pub fn load_many(
    plans: Arc<[ZonePlan]>,
    previous: Vec<Option<Arc<Zone>>>,
    limits: &LoadConfig,
    each: &mut dyn FnMut(Loaded),
) {
    let n = plans.len();
    let threads = limits.threads();
    let workers = threads.min(n).max(1);
    let work = Arc::new(Work {
        plans,
        previous,
        next: AtomicUsize::new(0),
        limits: *limits,
        threads,
        results: Mutex::new(Results { done: (0..n).map(|_| None).collect(), out: 0, left: n }),
        changed: Condvar::new(),
        big: Mutex::new(None),
        big_free: Condvar::new(),
        shared: workers > 1,
        ids: AtomicUsize::new(workers),
    });
    let mut watched = Vec::with_capacity(workers);
    for id in 0..workers {
        match spawn(&work, id) {
            Ok(w) => watched.push(w),
            Err(e) if watched.is_empty() => {
                let message = format!("cannot start a loading thread: {e}");
                return work.plans.iter().for_each(|p| each((Err(fail(p, message.clone())), 0)));
            }
            Err(_) => break,
        }
    }
    let mut results = lock(&work.results);
    // A worker records its results before it ends: with every worker
    // ended, a plan without one had no worker left to load it.
    while results.left > 0 && !all_ended(&watched) {
        results = work.changed.wait_timeout(results, WATCH_EVERY).unwrap_or_else(|e| e.into_inner()).0;
        if results.left > 0 {
            look(&work, &mut watched, &mut results);
        }
        let ready = results.ready();
        drop(results);
        ready.into_iter().for_each(&mut *each);
        results = lock(&work.results);
    }
    let (out, rest) = (results.out, std::mem::take(&mut results.done));
    drop(results);
    let gone = "internal error while loading (the loading thread ended)";
    for (r, p) in rest.into_iter().zip(work.plans.iter()).skip(out) {
        each(r.unwrap_or_else(|| (Err(fail(p, gone.into())), 0)));
    }
}

/// Every worker has ended or been given up on.
fn all_ended(watched: &[Watched]) -> bool {
    watched.iter().all(|w| w.thread.is_finished() || w.slot.abandoned.load(Ordering::Relaxed))
}

/// One look at every worker: a load whose file-system call has hung for
/// `read-timeout` fails, its worker abandoned and replaced.
fn look(work: &Arc<Work>, watched: &mut [Watched], results: &mut Results) {
    let timeout = Duration::from_secs(work.limits.read_timeout as u64);
    for w in watched.iter_mut() {
        let current = lock(&w.slot.current).clone();
        let Some((i, watch)) = current.filter(|(i, _)| !results.has(*i)) else { continue };
        let calls = watch.calls();
        match w.seen {
            Some((seen_i, seen_calls, since)) if seen_i == i && seen_calls == calls => {
                if !watch.in_call() || since.elapsed() < timeout {
                    continue;
                }
            }
            _ => {
                w.seen = Some((i, calls, Instant::now()));
                continue;
            }
        }
        let message = format!(
            "a file-system call hung for {} s (a dead network file system?); the load was abandoned after {} octets",
            work.limits.read_timeout,
            watch.bytes()
        );
        results.put(i, (Err(fail(&work.plans[i], message)), 0));
        w.slot.abandoned.store(true, Ordering::Relaxed);
        release_turn(work, w.id);
        // A new worker takes the abandoned one's place (its thread runs
        // on, detached; whatever it finishes with is dropped).
        if let Ok(new) = spawn(work, work.ids.fetch_add(1, Ordering::Relaxed)) {
            *w = new;
        }
    }
}

fn spawn(work: &Arc<Work>, id: usize) -> std::io::Result<Watched> {
    let slot = Arc::new(Slot::default());
    let (w, s) = (Arc::clone(work), Arc::clone(&slot));
    let thread = std::thread::Builder::new().name("levee-load".into()).spawn(move || worker(&w, id, &s))?;
    Ok(Watched { id, slot, thread, seen: None })
}

/// Takes plans until there are none left or the worker is abandoned;
/// wakes the calling thread with the last result and when it ends.
fn worker(work: &Work, id: usize, slot: &Slot) {
    while !slot.abandoned.load(Ordering::Relaxed) {
        let i = work.next.fetch_add(1, Ordering::Relaxed);
        if i >= work.plans.len() {
            break;
        }
        let watch = IoWatch::new();
        *lock(&slot.current) = Some((i, Arc::clone(&watch)));
        let started = Instant::now();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| load_checked(work, id, i, &watch)))
            .unwrap_or_else(|_| {
                Err(fail(&work.plans[i], "internal error while loading (a panic; please report it)".into()))
            });
        release_turn(work, id);
        if lock(&work.results).put(i, (r, started.elapsed().as_millis() as u64)) {
            work.changed.notify_all();
        }
    }
    // Ended (is_finished) only after this returns: the calling thread
    // may miss this wake-up and see it at its next look.
    work.changed.notify_all();
}

/// Plan `i` loaded under `watch`, its serial checked against the served
/// version.
fn load_checked(work: &Work, id: usize, i: usize, watch: &Arc<IoWatch>) -> Result<ZoneEntry, Vec<Diagnostic>> {
    let p = &work.plans[i];
    let previous = work.previous[i].as_ref();
    if work.shared {
        if let ZoneSource::File(f) = &p.source {
            let size = IoWatch::during(Some(watch), || std::fs::metadata(f)).map_or(0, |m| m.len());
            if size >= BIG {
                take_turn(work, id);
            }
        }
    }
    let opts = LoadOptions {
        max_bytes: work.limits.max_zone_bytes,
        max_records: work.limits.max_zone_records,
        watch: Some(Arc::clone(watch)),
        timings: None,
        threads: work.threads,
        ..LoadOptions::default()
    };
    let e = load_one_from(p, previous, &opts)?;
    match previous {
        Some(old) => check_serial(p, old, &e.zone).map(|()| e),
        None => Ok(e),
    }
}

/// Waits until no other worker loads a big file, then takes the turn.
fn take_turn(work: &Work, id: usize) {
    let mut big = lock(&work.big);
    while big.is_some_and(|holder| holder != id) {
        big = work.big_free.wait(big).unwrap_or_else(|e| e.into_inner());
    }
    *big = Some(id);
}

/// Gives the turn back if worker `id` holds it.
fn release_turn(work: &Work, id: usize) {
    let mut big = lock(&work.big);
    if *big == Some(id) {
        *big = None;
        work.big_free.notify_all();
    }
}

fn fail(p: &ZonePlan, message: String) -> Vec<Diagnostic> {
    vec![Diagnostic { file: file_of(p), line: 0, message, warning: false }]
}

/// Loads every planned zone into a new set. A zone that fails keeps its
/// entry from `previous` (if any) and its errors are logged; a zone that
/// has never loaded stays in the set as unavailable, answered SERVFAIL
/// (as Knot DNS, NSD and BIND answer for a configured zone they cannot
/// serve), not REFUSED as if it were not configured.
pub fn load_all(plans: Arc<[ZonePlan]>, previous: Option<&ZoneSet>, limits: &LoadConfig) -> (ZoneSet, usize) {
    let mut set = ZoneSet::new();
    set.reserve(plans.len());
    let mut failed = 0;
    let served: Vec<Option<Arc<levee_zone::Zone>>> = plans
        .iter()
        .map(|p| {
            let prev = previous?;
            let l = name::from_text(&p.name, None).ok()?;
            prev.exact(&name::to_lowercase(&l)).filter(|e| !e.expired && !e.not_loaded).map(|e| Arc::clone(&e.zone))
        })
        .collect();
    let mut next = 0;
    load_many(Arc::clone(&plans), served, limits, &mut |(loaded, ms)| {
        let p = &plans[next];
        next += 1;
        if !put(&mut set, p, loaded, ms, previous) {
            failed += 1;
        }
    });
    (set, failed)
}

/// A zone's load as [`load_all`] takes it: logged and put in `set`; a
/// zone that failed keeps its version from `previous` or is answered
/// SERVFAIL (false).
fn put(
    set: &mut ZoneSet,
    p: &ZonePlan,
    loaded: Result<ZoneEntry, Vec<Diagnostic>>,
    ms: u64,
    previous: Option<&ZoneSet>,
) -> bool {
    match loaded {
        Ok(e) => {
            tracing::info!(
                zone = %p.name,
                serial = e.zone.serial(),
                records = e.zone.record_count(),
                ms,
                "zone loaded"
            );
            set.insert(e);
            return true;
        }
        Err(diags) => {
            for d in diags.iter().filter(|d| !d.warning) {
                tracing::error!("{d}");
            }
            let Ok(lname) = name::from_text(&p.name, None).map(|n| name::to_lowercase(&n)) else {
                tracing::error!(zone = %p.name, "zone failed to load and is not served");
                return false;
            };
            match previous.and_then(|prev| prev.exact(&lname)).filter(|old| !old.not_loaded) {
                Some(old) => {
                    tracing::error!(zone = %p.name, serial = old.zone.serial(), "zone failed to load; the previous version keeps serving");
                    set.insert(ZoneEntry {
                        transfer: p.acl.clone(),
                        journal: old.journal.clone(),
                        ..ZoneEntry::new(Arc::clone(&old.zone), Acl::none())
                    });
                }
                None => match ZoneEntry::unavailable(&lname, p.acl.clone()) {
                    Some(e) => {
                        tracing::error!(zone = %p.name, "zone failed to load; answering SERVFAIL for it until it loads");
                        set.insert(e);
                    }
                    None => tracing::error!(zone = %p.name, "zone failed to load and is not served"),
                },
            }
        }
    }
    false
}
