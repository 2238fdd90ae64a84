//! The update thread: evaluate, build, log durably, publish, notify,
//! reply (see the module documentation of `update`); and the replay of
//! the update logs at start.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::mpsc::Receiver;
use std::sync::Arc;

use levee_wire::header::rcode;
use levee_wire::message::Message;
use levee_wire::name;
use levee_zone::journal::{self, Diff, Limits};
use levee_zone::{Zone, ZoneEntry, ZoneSet};

use super::log::{self, Log, Replayed};
use super::queue::{grants, reply_to, Job, Reply, Stats};
use crate::center::Center;
use crate::clock::wall;
use crate::zones::publish::{clone_entry, publish};

/// Starts the update thread when some zone takes updates.
pub fn start(
    c: Arc<Center>,
    rx: Receiver<Job>,
    stats: Arc<Stats>,
) -> std::io::Result<Option<std::thread::JoinHandle<()>>> {
    if grants(&c.cfg).is_empty() {
        return Ok(None);
    }
    std::thread::Builder::new().name("levee-update".into()).spawn(move || run(&c, rx, &stats)).map(Some)
}

/// The thread's loop: one update at a time until every sender is gone.
pub fn run(c: &Center, rx: Receiver<Job>, stats: &Stats) {
    let mut logs: HashMap<Vec<u8>, Log> = HashMap::new();
    // Each log opened now (a torn last entry cut off, the counts shown).
    if let Some(dir) = &c.cfg.storage_dir {
        for (apex, _) in grants(&c.cfg) {
            match Log::open(&log::log_file(dir, &apex)) {
                Ok(l) => {
                    stats.logs.lock().unwrap_or_else(|e| e.into_inner()).insert(apex.clone(), (l.entries, l.bytes));
                    logs.insert(apex, l);
                }
                Err(e) => tracing::error!(zone = %name::to_text(&apex), "update log cannot be opened: {e}"),
            }
        }
    }
    while let Ok(job) = rx.recv() {
        // A bug must cost one update (SERVFAIL), not the update thread.
        let rc = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handle(c, &mut logs, stats, &job))) {
            Ok(rc) => rc,
            Err(_) => {
                logs.clear();
                stats.failed.fetch_add(1, Ordering::Relaxed);
                tracing::error!(client = %job.req.client, "update failed: internal error (panic); answered SERVFAIL");
                rcode::SERVFAIL
            }
        };
        stats.count(rc);
        let out = reply_to(&job.req, rc, c.cfg.udp_payload);
        match job.reply {
            Reply::Udp(sock, to) => {
                if let Err(e) = sock.send_to(&out, &to.into()) {
                    tracing::debug!(client = %to, "update reply not sent: {e}");
                }
            }
            Reply::Tcp(tx) => {
                let _ = tx.send(out);
            }
        }
    }
}

/// Evaluates and applies one update; returns the rcode to answer.
fn handle(c: &Center, logs: &mut HashMap<Vec<u8>, Log>, stats: &Stats, job: &Job) -> u16 {
    let req = &job.req;
    let zname = name::to_text(&req.zone);
    let key = req.signed.as_ref().map(|(k, _)| name::to_text(&k.name));
    let Ok(msg) = Message::parse(&req.msg) else {
        return rcode::FORMERR;
    };
    let set = c.zones.load_full();
    let Some(entry) = set.exact(&req.zone).filter(|e| !e.expired) else {
        return rcode::NOTAUTH;
    };
    let ev = levee_update::evaluate(&msg, &entry.zone);
    let Some(diff) = ev.diff else {
        tracing::info!(zone = %zname, client = %req.client, key = ?key, rcode = rcode::NAMES[ev.rcode as usize & 15], "update: {}", ev.reason);
        return ev.rcode;
    };
    let built = match build(c, &entry.zone, &diff) {
        Ok(z) => z,
        Err(e) => {
            stats.failed.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(zone = %zname, client = %req.client, "update refused: the zone would not build: {e}");
            return rcode::REFUSED;
        }
    };
    if let Err(e) = append(c, logs, &req.zone, &diff) {
        stats.failed.fetch_add(1, Ordering::Relaxed);
        tracing::error!(zone = %zname, client = %req.client, "update not applied: the update log cannot be written: {e}");
        return rcode::SERVFAIL;
    }
    let zone = Arc::new(built);
    install(c, &req.zone, &zone, diff.clone());
    stats.applied.fetch_add(1, Ordering::Relaxed);
    tracing::info!(zone = %zname, client = %req.client, key = ?key, from = diff.from(), to = diff.to(), removed = diff.removed.len(), added = diff.added.len(), "update applied");
    crate::replication::primary::send_notifies(&c.runtime, &c.repl, &zone);
    rcode::NOERROR
}

/// The zone with `diff` applied, built with the zone's checks.
fn build(c: &Center, zone: &Zone, diff: &Diff) -> Result<Zone, String> {
    let recs = journal::apply_all(journal::records(zone), std::slice::from_ref(diff)).map_err(|e| e.to_string())?;
    let zc = c
        .cfg
        .zones
        .iter()
        .find(|z| name::from_text(&z.name, None).is_ok_and(|n| name::to_lowercase(&n).as_slice() == zone.apex()));
    let checks = crate::zones::load::checks_of(&c.cfg, zc);
    match journal::build_from(zone.apex(), &recs, checks) {
        Ok(b) => Ok(b.zone),
        Err(d) => Err(d.iter().map(|d| d.message.clone()).collect::<Vec<_>>().join("; ")),
    }
}

/// Appends `diff` to the zone's update log, durably.
fn append(c: &Center, logs: &mut HashMap<Vec<u8>, Log>, apex: &[u8], diff: &Diff) -> std::io::Result<()> {
    let dir = c.cfg.storage_dir.as_deref().ok_or_else(|| std::io::Error::other("no server.storage-dir"))?;
    if !logs.contains_key(apex) {
        logs.insert(apex.to_vec(), Log::open(&log::log_file(dir, apex))?);
    }
    let l = logs.get_mut(apex).expect("inserted");
    let r = l.append(diff);
    c.updates.logs.lock().unwrap_or_else(|e| e.into_inner()).insert(apex.to_vec(), (l.entries, l.bytes));
    if r.is_err() {
        // Reopened (and a partial entry cut off) before the next append.
        logs.remove(apex);
    }
    r
}

/// Publishes `zone` in place of the served version of `apex`, with the
/// difference added to its IXFR journal (and that journal's file).
fn install(c: &Center, apex: &[u8], zone: &Arc<Zone>, diff: Diff) {
    publish(c, |old| {
        let mut set = ZoneSet::new();
        for e in old.entries() {
            if e.zone.apex() != apex {
                set.insert(clone_entry(e));
            }
        }
        let Some(prev) = old.exact(apex) else { return (set, ()) };
        let mut entry = ZoneEntry { zone: Arc::clone(zone), ..clone_entry(prev) };
        if !prev.transfer.is_empty() {
            let mut j = prev.journal.as_deref().cloned().unwrap_or_default();
            j.push(diff, wall(), Limits::default());
            crate::replication::primary::write_journal(c, apex, crate::storage::Job::Journal(j.encode()));
            entry.journal = Some(Arc::new(j));
        }
        set.insert(entry);
        (set, ())
    });
}

/// At start: applies each dynamic zone's update log to the zone as its
/// file loaded (in `set`).
pub fn replay_all(cfg: &levee_config::Config, set: &mut ZoneSet) {
    let Some(dir) = &cfg.storage_dir else { return };
    for (apex, _) in grants(cfg) {
        let Some(e) = set.exact(&apex).filter(|e| !e.not_loaded) else { continue };
        let zname = name::to_text(&apex);
        let path = log::log_file(dir, &apex);
        let diffs = match log::replay(&path, e.zone.serial()) {
            Ok(Replayed::Nothing) => continue,
            Ok(Replayed::Apply(d)) => d,
            Ok(Replayed::Stale { log_starts }) => {
                tracing::error!(zone = %zname, log_starts, file_serial = e.zone.serial(), path = %path.display(), "update log does not start at the zone file's serial (the file was changed): set aside as .stale, its updates are NOT served");
                continue;
            }
            Err(err) => {
                tracing::error!(zone = %zname, path = %path.display(), "update log cannot be read: {err}; serving the zone file without its updates");
                continue;
            }
        };
        let checks = crate::zones::load::checks_of(cfg, cfg.zones.iter().find(|z| z.name.eq_ignore_ascii_case(&zname)));
        let built = journal::apply_all(journal::records(&e.zone), &diffs)
            .map_err(|e| e.to_string())
            .and_then(|r| journal::build_from(&apex, &r, checks).map_err(|d| format!("{d:?}")));
        match built {
            Ok(b) => {
                tracing::info!(zone = %zname, updates = diffs.len(), serial = b.zone.serial(), "update log replayed");
                let entry = ZoneEntry { zone: Arc::new(b.zone), ..clone_entry(e) };
                set.insert(entry);
            }
            Err(err) => {
                // Set aside, so new updates start a log that replays.
                let mut aside = path.clone().into_os_string();
                aside.push(".stale");
                let _ = std::fs::rename(&path, &aside);
                tracing::error!(zone = %zname, "update log cannot be applied: {err}; set aside as .stale, serving the zone file");
            }
        }
    }
}
