//! Secondary zones: one task per zone on the runtime. It checks the
//! primaries' SOA on the zone's timers (or at once after a NOTIFY, at most
//! one check a second), runs a transfer in on a thread of its own
//! (`xfrin`), publishes the received zone, hands it to its store, and
//! publishes SERVFAIL when the zone expires. NOTIFYs received are
//! counted and summarised here too.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use levee_config::repl::Remote;
use levee_tsig::Key;
use levee_wire::rtype::t;
use levee_wire::serial::Serial;
use levee_xfr::{Timers, XfrError};
use levee_zone::journal::{self, Journal, Limits, Rr};
use levee_zone::{Zone, ZoneEntry};

use crate::center::Center;
use crate::clock::wall;
use crate::replication::client::{soa_of, Fail};
use crate::replication::primary::{send_notifies, write_journal};
use crate::replication::state::{NotifyLog, Replication, Secondary};
use crate::replication::xfrin::{self, Cancel, Records};
use crate::storage::Job;
use crate::zones::publish::{coalesced, retire};

/// A NOTIFY-triggered SOA check of a zone waits this long after the
/// previous check: a burst of NOTIFYs makes one refresh, and SOA queries
/// to the primary stay bounded (at most one a second per zone).
const NOTIFY_HOLDOFF: Duration = Duration::from_secs(1);
/// NOTIFYs are logged as one summary line per zone per interval.
const NOTIFY_SUMMARY_EVERY: Duration = Duration::from_secs(10);
/// A jump of the wall clock against the monotonic one larger than this
/// (either way, between two looks a second apart) is a step: every
/// secondary zone then checks with its primary ([`clock_steps`]).
const CLOCK_STEP: f64 = 2.0;

//------------ the secondary loop ----------------------------------------------

enum Outcome {
    UpToDate,
    Updated,
}

/// What a secondary zone's task keeps between checks.
struct ZoneState {
    timers: Timers,
    /// Our SOA, once we have data.
    soa: Option<Rr>,
    /// Our record list, the IXFR base. `None` at start and while a
    /// transfer holds it; the transfer thread then makes it from the
    /// served zone when an IXFR needs it.
    records: Option<Records>,
    /// SERVFAIL published (past expire).
    expired_published: bool,
    /// When the last check started (the NOTIFY holdoff).
    last_check: Option<tokio::time::Instant>,
}

impl ZoneState {
    /// Data loaded from storage: its SOA, and timers from its age.
    fn new(c: &Center, s: &Secondary) -> ZoneState {
        let mut z = ZoneState {
            timers: Timers::new(wall()),
            soa: None,
            records: None,
            expired_published: s.status.lock().map(|x| x.expired).unwrap_or(true),
            last_check: None,
        };
        let st = s.status.lock().map(|x| x.clone()).unwrap_or_default();
        if let (Some(e), Some(_)) = (c.zones.load().exact(&s.apex), st.serial) {
            let (zone, soa) = (&e.zone, e.zone.soa());
            z.soa = Some(Rr {
                owner: zone.apex().to_vec(),
                rtype: t::SOA,
                ttl: zone.rrset(soa).ttl(),
                rdata: zone.first_rdata(soa).to_vec(),
            });
            z.timers.set_from_soa(zone.first_rdata(soa));
            if let Some(exp) = st.expires {
                z.timers.last_ok = Some(exp.saturating_sub(z.timers.expire as u64));
            }
            // Check with the primary at once anyway.
            z.timers.next_check = wall();
        }
        z
    }
}

async fn secondary_loop(c: Arc<Center>, s: Arc<Secondary>) {
    let mut z = ZoneState::new(&c, &s);
    loop {
        if s.removed.load(Ordering::Acquire) {
            tracing::debug!(zone = %s.name, "zone removed: its refresh task ends");
            return;
        }
        let now = wall();
        if z.timers.settle(now) {
            tracing::info!(zone = %s.name, "the wall clock stepped back: checking with the primary now");
        }
        let wake = z.timers.next_wake(now);
        if wake > now {
            let sleep = tokio::time::sleep(Duration::from_secs(wake - now));
            tokio::select! {
                _ = sleep => {}
                _ = s.kick.notified() => {
                    // A NOTIFY-triggered check waits for the holdoff.
                    if let (true, Some(t)) = (s.notify_pending.load(Ordering::Acquire), z.last_check) {
                        tokio::time::sleep_until(t + NOTIFY_HOLDOFF).await;
                    }
                    z.timers.next_check = wall();
                }
            }
        }
        if s.removed.load(Ordering::Acquire) {
            continue;
        }
        check_expiry(&c, &s, &mut z).await;
        if z.timers.next_check > wall() {
            continue;
        }
        z.last_check = Some(tokio::time::Instant::now());
        s.notify_pending.store(false, Ordering::Release);
        match refresh(&c, &s, &mut z).await {
            Ok(o) => {
                z.timers.ok(wall());
                if z.expired_published && z.soa.is_some() {
                    if matches!(o, Outcome::UpToDate) {
                        set_expired(&c, &s, false).await;
                    }
                    z.expired_published = false;
                    tracing::info!(zone = %s.name, "zone current again");
                }
                if let (Outcome::UpToDate, Some(soa)) = (&o, &z.soa) {
                    // The stored copy's mtime is the last confirmation; a copy
                    // without an integrity check is replaced (storage.rs).
                    if !c.stores.confirmed(&s.apex, levee_wire::soa::serial(&soa.rdata)) {
                        s.force_axfr.store(true, Ordering::Relaxed);
                        s.kick.notify_one();
                    }
                }
                if let Ok(mut st) = s.status.lock() {
                    st.last_error = None;
                }
            }
            Err(e) => {
                let now = wall();
                // The network: back off from 1 s; anything else: SOA retry.
                // A transfer the primary closed midway is the network too
                // (a busy primary shedding connections): a new member
                // would otherwise wait its whole SOA retry for it.
                if matches!(e, Fail::Io(_) | Fail::Xfr(XfrError::Incomplete)) {
                    z.timers.failed_network(now);
                } else {
                    z.timers.failed(now);
                }
                c.repl.counts.refresh_failed.fetch_add(1, Ordering::Relaxed);
                // A NOTIFY's serial we did not get is not "being fetched".
                s.set_known_serial(z.soa.as_ref().and_then(|o| levee_wire::soa::serial(&o.rdata)));
                // Backing off, the 1st, 2nd, 4th, 8th... failure in a row.
                if z.timers.failures <= 1 || z.timers.failures.is_power_of_two() {
                    tracing::warn!(zone = %s.name, "refresh failed: {e}; retrying in {} s", z.timers.next_check - now);
                }
                if let Ok(mut st) = s.status.lock() {
                    st.last_error = Some(e.to_string());
                }
            }
        }
        if let Ok(mut st) = s.status.lock() {
            st.next_refresh = z.timers.next_check;
            st.expires = z.timers.expires_at();
            st.expired = z.expired_published;
        }
        s.expires.store(z.timers.expires_at().unwrap_or(0), Ordering::Relaxed);
    }
}

/// Publishes SERVFAIL once the data is past its expire time: counted from
/// the last successful refresh, whatever a transfer in progress does.
async fn check_expiry(c: &Arc<Center>, s: &Arc<Secondary>, z: &mut ZoneState) {
    if z.soa.is_some() && z.timers.expired(wall()) && !z.expired_published {
        tracing::warn!(zone = %s.name, "zone expired: no primary reached for the SOA expire time; answering SERVFAIL");
        set_expired(c, s, true).await;
        z.expired_published = true;
        if let Ok(mut st) = s.status.lock() {
            st.expired = true;
            st.expires = z.timers.expires_at();
        }
    }
}

async fn refresh(c: &Arc<Center>, s: &Arc<Secondary>, z: &mut ZoneState) -> Result<Outcome, Fail> {
    let force = s.force_axfr.swap(false, Ordering::Relaxed);
    let mut last_err = Fail::Xfr(XfrError::Mismatch);
    for p in &s.primaries {
        let key = c.repl.key(&p.key);
        let tls = match tls_of(c, p) {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(zone = %s.name, primary = %p.addr, "{e}");
                last_err = e;
                continue;
            }
        };
        // A zone with no data (a new catalog member, a zone never
        // received) goes straight to AXFR, as Knot does for a new zone:
        // the SOA query could only say "transfer it", and costs the
        // primary one query and us one round trip per new zone.
        let soa = match (&z.soa, &tls) {
            (None, _) => None,
            (Some(_), Some(t)) => Some(xfrin::soa_over_tls(p.addr, p.source, t, &s.apex, key).await),
            (Some(_), None) => Some(soa_of(p.addr, p.source, &s.apex, key).await),
        };
        let theirs = match soa {
            None => None,
            Some(Ok(soa)) => Some(soa),
            // Knot answers no query for a catalog zone it produces (only
            // transfers): a consumed catalog is then asked by IXFR.
            Some(Err(e)) if !matches!(e, Fail::Io(_)) && crate::provision::registry::is_consumed(&c.cfg, &s.apex) => {
                tracing::debug!(zone = %s.name, primary = %p.addr, "SOA query refused ({e}): asking by transfer");
                None
            }
            Some(Err(e)) => {
                if let (Some(_), Fail::Io(io)) = (&tls, &e) {
                    // A TLS failure (a certificate not valid for the name,
                    // not from the CA; a primary without "dot") is a setup
                    // problem, not a primary down: say so.
                    if io.kind() == std::io::ErrorKind::InvalidData {
                        tracing::warn!(zone = %s.name, primary = %p.addr, "SOA query over TLS: {e}");
                    }
                }
                tracing::debug!(zone = %s.name, primary = %p.addr, "SOA query: {e}");
                last_err = e;
                continue;
            }
        };
        let ours = z.soa.clone();
        let our_serial = ours.as_ref().and_then(|o| levee_wire::soa::serial(&o.rdata));
        if let Some(theirs) = &theirs {
            let their_serial = levee_wire::soa::serial(&theirs.rdata).unwrap_or(0);
            s.heard(their_serial);
            if !force && our_serial.is_some_and(|o| Serial(o) >= Serial(their_serial)) {
                z.timers.set_from_soa(&ours.as_ref().map_or(theirs.rdata.clone(), |o| o.rdata.clone()));
                s.set_known_serial(our_serial);
                return Ok(Outcome::UpToDate);
            }
            s.set_known_serial(Some(their_serial));
        }
        let ixfr_from = if force { None } else { ours.clone() };
        let over_tls = tls.is_some();
        // Closed only if the runtime stops.
        let Ok(slot) = Arc::clone(&c.repl.transfer_slots).acquire_owned().await else { return Err(Fail::Cancelled) };
        let got = run_transfer(c, s, z, p, tls, key, ixfr_from).await;
        // The slot limits transfers, not their publication: a zone waiting
        // for its (coalesced) publication lets the next transfer start.
        drop(slot);
        if got.is_err() {
            s.set_known_serial(our_serial);
        }
        let (recs, zone, kind, diffs) = match got {
            Ok(x) => x,
            Err(Fail::Build(e)) => {
                tracing::error!(zone = %s.name, primary = %p.addr, "received zone rejected, the old one keeps serving: {e}");
                last_err = Fail::Build(e);
                continue;
            }
            Err(Fail::Cancelled) => return Err(Fail::Cancelled),
            Err(e) => {
                match &e {
                    // A TLS setup problem (as for the SOA query above: a
                    // zone with no data asks no SOA first).
                    Fail::Io(io) if over_tls && io.kind() == std::io::ErrorKind::InvalidData => {
                        tracing::warn!(zone = %s.name, primary = %p.addr, "transfer over TLS: {e}")
                    }
                    _ => {
                        tracing::warn!(zone = %s.name, primary = %p.addr, "transfer failed, the old zone keeps serving: {e}")
                    }
                }
                last_err = e;
                continue;
            }
        };
        if s.removed.load(Ordering::Acquire) {
            return Err(Fail::Cancelled);
        }
        return Ok(install_received(c, s, z, p, (recs, zone, kind, diffs)).await);
    }
    Err(last_err)
}

/// A transfer's result served: the zone published with its journal,
/// timers and status updated, our own secondaries told, the copy stored,
/// and a consumed catalog's members brought in line.
async fn install_received(
    c: &Arc<Center>,
    s: &Arc<Secondary>,
    z: &mut ZoneState,
    p: &Remote,
    (recs, zone, kind, diffs): xfrin::Fetched,
) -> Outcome {
    let serial = zone.serial();
    z.timers.set_from_soa(zone.first_rdata(zone.soa()));
    let zone = Arc::new(zone);
    let jnl = extend_journal(c, s, diffs);
    tracing::info!(zone = %s.name, serial, primary = %p.addr, kind, records = recs.len(), "zone transferred");
    let counter = if kind == "IXFR" { &c.repl.counts.ixfr_in } else { &c.repl.counts.axfr_in };
    counter.fetch_add(1, Ordering::Relaxed);
    publish_received(c, s, Arc::clone(&zone), jnl).await;
    // The previous records (millions of small allocations for a large
    // zone) are freed off the runtime threads too.
    z.soa = recs.first().cloned();
    s.set_known_serial(Some(serial));
    if let Some(prev) = z.records.replace(Arc::clone(&recs)) {
        retire(prev);
    }
    // Our own secondaries (`notify` on a secondary zone).
    send_notifies(&c.runtime, &c.repl, &zone);
    if let Ok(mut st) = s.status.lock() {
        st.serial = Some(serial);
        st.last_transfer = Some(wall());
        st.last_kind = kind;
    }
    // A zone signed in transit is stored signed (what a restart
    // serves), listed once published; its IXFR base is the served
    // version itself.
    let recs = match &s.sign {
        None => recs,
        Some(_) => {
            z.records = None;
            let zz = Arc::clone(&zone);
            match tokio::task::spawn_blocking(move || journal::records(&zz)).await {
                Ok(r) => Arc::new(r),
                Err(_) => return Outcome::Updated,
            }
        }
    };
    // Written (and retried) by the zone's store (storage.rs).
    c.stores.zone_received(&s.apex, serial, recs, &c.runtime);
    // A consumed catalog: its members follow (provision::consumer).
    if crate::provision::registry::is_consumed(&c.cfg, &s.apex) {
        let (c, apex) = (Arc::clone(c), s.apex.as_slice().to_vec());
        let _ = tokio::task::spawn_blocking(move || (c.catalog_changed)(&c, &apex)).await;
    }
    Outcome::Updated
}

/// The zone's journal after a transfer: differences received by IXFR are
/// kept for IXFR out (and written beside the stored copy, so a restart
/// keeps them: `startup` loads them when they end at the stored serial);
/// a full transfer starts it afresh.
fn extend_journal(c: &Center, s: &Secondary, diffs: Option<Vec<journal::Diff>>) -> Option<Arc<Journal>> {
    let mut j = s.journal.lock().unwrap_or_else(|e| e.into_inner());
    let job = match diffs {
        Some(ds) => {
            for d in ds {
                j.push(d, wall(), Limits::default());
            }
            Job::Journal(j.encode())
        }
        None => {
            let had = !j.is_empty();
            *j = Journal::new();
            if !had {
                return None;
            }
            Job::Remove
        }
    };
    write_journal(c, &s.apex, job);
    (!j.is_empty()).then(|| Arc::new(j.clone()))
}

/// Publishes a received version of the zone with its journal (on a
/// blocking thread: the publish lock may be held by a reload). Coalesced
/// with the other zones received meanwhile (`zones::publish::coalesced`).
async fn publish_received(c: &Arc<Center>, s: &Arc<Secondary>, zone: Arc<Zone>, journal: Option<Arc<Journal>>) {
    let (c, s) = (Arc::clone(c), Arc::clone(s));
    let _ = tokio::task::spawn_blocking(move || {
        let c2 = Arc::clone(&c);
        coalesced(&c2, move |set| {
            // Removed meanwhile (under this same lock): not served again.
            if s.removed.load(Ordering::Acquire) {
                return;
            }
            set.insert(ZoneEntry {
                zone,
                transfer: s.transfer.clone(),
                notify: s.notify.clone(),
                expired: false,
                not_loaded: false,
                journal,
                expires: Some(Arc::clone(&s.expires)),
            });
        })
    })
    .await;
}

/// How to reach `p` over TLS (XoT) when its entry says `tls`: the client
/// configuration is there whenever one does (made at start, which stops
/// without it).
fn tls_of(c: &Center, p: &Remote) -> Result<Option<xfrin::Tls>, Fail> {
    match (&p.tls, &c.repl.xot) {
        (None, _) => Ok(None),
        (Some(n), Some(cc)) => xfrin::Tls::new(cc, n).map(Some),
        (Some(_), None) => Err(Fail::Io(std::io::Error::other("no TLS client configuration for a 'tls' primary"))),
    }
}

/// Runs one transfer in (IXFR or AXFR, see `xfrin`) on a thread of its own
/// at a lower priority, so the query threads keep the CPU while a large
/// zone comes in. Meanwhile the zone expires on time, and `levee ctl
/// retransfer` cancels it.
async fn run_transfer(
    c: &Arc<Center>,
    s: &Arc<Secondary>,
    z: &mut ZoneState,
    primary: &Remote,
    tls: Option<xfrin::Tls>,
    key: Option<&Key>,
    ixfr_from: Option<Rr>,
) -> Result<xfrin::Fetched, Fail> {
    let cancel = Arc::new(Cancel::default());
    *s.current.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::clone(&cancel));
    if let Ok(mut st) = s.status.lock() {
        st.transfer_since = Some(wall());
    }
    let served = if z.soa.is_some() { c.zones.load().exact(&s.apex).map(|e| Arc::clone(&e.zone)) } else { None };
    let job = xfrin::Job {
        addr: primary.addr,
        source: primary.source,
        tls,
        apex: s.apex,
        ours: ixfr_from,
        key: key.cloned(),
        base: z.records.take(),
        served,
        limits: s.limits,
        checks: s.checks,
        cancel: Arc::clone(&cancel),
        sign: s.sign.clone().map(|p| (s.name.clone(), p)),
    };
    let (tx, rx) = tokio::sync::oneshot::channel();
    // On a thread of the pool (idle class: the query threads keep the CPU).
    let spawned = c.repl.xfr_threads.run(move || {
        let _ = tx.send(xfrin::run(job));
    });
    let out = match spawned {
        Err(e) => Err((Fail::Io(e), None)),
        Ok(_) => {
            tokio::pin!(rx);
            loop {
                let until_expiry = match z.timers.expires_at() {
                    Some(e) if z.soa.is_some() && !z.expired_published => Some(e.saturating_sub(wall())),
                    _ => None,
                };
                let expiry = tokio::time::sleep(Duration::from_secs(until_expiry.unwrap_or(3600)));
                tokio::select! {
                    got = &mut rx => break got.unwrap_or_else(|_| Err((Fail::Build("transfer thread ended".into()), None))),
                    _ = cancel.cancelled() => break Err((Fail::Cancelled, None)),
                    _ = expiry, if until_expiry.is_some() => check_expiry(c, s, z).await,
                }
            }
        }
    };
    *s.current.lock().unwrap_or_else(|e| e.into_inner()) = None;
    if let Ok(mut st) = s.status.lock() {
        st.transfer_since = None;
    }
    out.map_err(|(e, base)| {
        z.records = base;
        e
    })
}

async fn set_expired(c: &Arc<Center>, s: &Arc<Secondary>, expired: bool) {
    let (c2, s2) = (Arc::clone(c), Arc::clone(s));
    let _ = tokio::task::spawn_blocking(move || {
        coalesced(&c2, move |set| {
            if let Some(e) = set.exact(s2.apex.as_slice()) {
                let mut n = e.clone();
                n.expired = expired;
                set.insert(n);
            }
        })
    })
    .await;
}

/// An accepted NOTIFY for `zone` (lowercase) announcing `serial`, reported
/// by the answering pipeline (`events::react`): schedules a check if `zone`
/// is a secondary zone ([`on_notify`]).
pub fn notify_accepted(r: &Replication, zone: &[u8], serial: Option<u32>, client: impl std::fmt::Display) {
    if let Some(s) = r.secondaries.get(zone) {
        on_notify(&s, serial, client);
    }
}

/// An accepted NOTIFY for a secondary zone: schedules one check unless one
/// is already scheduled or the NOTIFY announces a serial we serve or are
/// fetching; counted for the summary. A NOTIFY that schedules a check is
/// logged on a line of its own, at most one a second.
fn on_notify(s: &Secondary, serial: Option<u32>, client: impl std::fmt::Display) {
    let current = match (serial, s.known_serial()) {
        (Some(n), Some(k)) => Serial(k) >= Serial(n),
        _ => false,
    };
    if let Some(n) = serial {
        s.heard(n);
    }
    if let (false, Some(n)) = (current, serial) {
        // The check about to happen fetches it: the rest of a burst for
        // the same serial is current already (a check that finds the
        // primary older sets this back).
        s.raise_known_serial(n);
    }
    let scheduled = !current && !s.notify_pending.swap(true, Ordering::AcqRel);
    if scheduled {
        s.kick.notify_one();
    }
    let mut log = s.notify_log.lock().unwrap_or_else(|e| e.into_inner());
    log.received += 1;
    log.scheduled += scheduled as u64;
    log.current += current as u64;
    // A line of its own for a NOTIFY that schedules a refresh, at most
    // one a second; the others are in the summary.
    let now = std::time::Instant::now();
    if scheduled && log.last_line.is_none_or(|t| now.duration_since(t) >= NOTIFY_HOLDOFF) {
        log.last_line = Some(now);
        log.logged += 1;
        let serial = serial.map_or("-".into(), |x| x.to_string());
        tracing::info!(zone = %s.name, %client, %serial, "NOTIFY received: refreshing");
    }
}

/// Logs one line per zone (and one for refusals) per interval in which
/// NOTIFYs arrived that were not logged on their own.
async fn notify_summaries(c: Arc<Center>) {
    let r = &c.repl;
    let mut tick = tokio::time::interval(NOTIFY_SUMMARY_EVERY);
    tick.tick().await;
    loop {
        tick.tick().await;
        for s in r.secondaries.values() {
            let log = {
                let mut l = s.notify_log.lock().unwrap_or_else(|e| e.into_inner());
                let last_line = l.last_line;
                std::mem::replace(&mut *l, NotifyLog { last_line, ..NotifyLog::default() })
            };
            if log.received > log.logged {
                tracing::info!(
                    zone = %s.name,
                    received = log.received,
                    refreshes = log.scheduled,
                    current = log.current,
                    "NOTIFY summary for the last {} s: {} received, {} scheduled a refresh, {} for a serial already current, the rest joined a scheduled refresh",
                    NOTIFY_SUMMARY_EVERY.as_secs(), log.received, log.scheduled, log.current
                );
            }
        }
        let refused = r.notify_refused.swap(0, Ordering::Relaxed);
        if refused > 1 {
            tracing::warn!(
                refused,
                "NOTIFY summary for the last {} s: {refused} refused by allow-notify",
                NOTIFY_SUMMARY_EVERY.as_secs()
            );
        }
    }
}

/// The wall clock minus the monotonic clock, in seconds: constant while
/// the wall clock runs normally (NTP slews it by far less than
/// [`CLOCK_STEP`] a second), different after a step.
fn clock_offset(base: std::time::Instant) -> f64 {
    crate::clock::unix_now() - base.elapsed().as_secs_f64()
}

/// Watches for steps of the wall clock, once a second. After one (NTP
/// setting a wrong clock right, `date -s`), every secondary zone checks
/// with its primary at once: while the clock was wrong, TSIG-signed
/// NOTIFYs to this node were refused (BADTIME) and its own SOA queries
/// failed, and not every primary repeats a NOTIFY answered with BADTIME
/// (Knot 3.2 gives it up), so without this the node would wait for each
/// zone's SOA refresh. Costs one SOA query per zone, like a start.
async fn clock_steps(c: Arc<Center>) {
    let base = std::time::Instant::now();
    let mut last = clock_offset(base);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        let now = clock_offset(base);
        if (now - last).abs() > CLOCK_STEP {
            let zones = c.repl.secondaries.values();
            tracing::info!(
                step_seconds = format!("{:+.1}", now - last),
                zones = zones.len(),
                "the wall clock stepped: checking every secondary zone with its primary"
            );
            for s in zones {
                s.kick.notify_one();
            }
        }
        last = now;
    }
}

//------------ control -----------------------------------------------------------

/// Starts a refresh task per secondary zone and the NOTIFY summaries.
pub fn start(c: &Arc<Center>) {
    for s in c.repl.secondaries.values() {
        spawn(c, s);
    }
    c.runtime.spawn(notify_summaries(Arc::clone(c)));
    if !c.repl.secondaries.is_empty() {
        c.runtime.spawn(clock_steps(Arc::clone(c)));
    }
}

/// Starts the refresh task of one secondary zone (at start, or a runtime
/// zone added: `provision`). It ends when the zone is removed.
pub fn spawn(c: &Arc<Center>, s: Arc<Secondary>) {
    let c = Arc::clone(c);
    c.runtime.clone().spawn(async move { secondary_loop(c, s).await });
}

/// Schedules an immediate refresh (SOA check, then IXFR/AXFR) of a
/// secondary zone (`levee ctl refresh`; `retransfer` with `force_axfr`).
pub fn schedule_refresh(r: &Replication, apex: &[u8], force_axfr: bool) -> Result<(), String> {
    let s = r.secondaries.get(apex).ok_or("not a secondary zone")?;
    if force_axfr {
        s.force_axfr.store(true, Ordering::Relaxed);
        // A transfer in progress (a trickling primary) is ended: the
        // new one starts at once.
        if let Some(c) = s.current.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            tracing::info!(zone = %s.name, "retransfer: cancelling the transfer in progress");
            c.cancel();
        }
    }
    s.kick.notify_one();
    Ok(())
}
