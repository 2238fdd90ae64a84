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
use super::queue::{grants, reply_to, Edit, EditError, EditKind, Edited, Job, Reply, Stats};
use crate::center::Center;
use crate::clock::wall;
use crate::zones::publish::{clone_entry, publish};
use levee_answer::UpdateRequest;

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
        match job {
            Job::Update { req, reply } => update(c, &mut logs, stats, &req, reply),
            Job::Edit(e) => {
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| edit(c, &mut logs, stats, &e)));
                let r = r.unwrap_or_else(|_| {
                    logs.clear();
                    stats.failed.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(zone = %name::to_text(&e.zone), by = e.who, "edit failed: internal error (panic)");
                    Err(EditError::Failed("internal error".into()))
                });
                let _ = e.reply.send(r);
            }
        }
    }
}

/// One RFC 2136 update: applied, counted and answered.
fn update(c: &Center, logs: &mut HashMap<Vec<u8>, Log>, stats: &Stats, req: &UpdateRequest, reply: Reply) {
    // A bug must cost one update (SERVFAIL), not the update thread.
    let rc = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handle(c, logs, stats, req))) {
        Ok(rc) => rc,
        Err(_) => {
            logs.clear();
            stats.failed.fetch_add(1, Ordering::Relaxed);
            tracing::error!(client = %req.client, "update failed: internal error (panic); answered SERVFAIL");
            rcode::SERVFAIL
        }
    };
    stats.count(rc);
    let out = reply_to(req, rc, c.cfg.udp_payload);
    match reply {
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

/// One edit of the REST API or `levee ctl`: evaluated against the served
/// snapshot (`levee_update::edit`), then committed as an update is.
fn edit(c: &Center, logs: &mut HashMap<Vec<u8>, Log>, stats: &Stats, e: &Edit) -> Result<Edited, EditError> {
    if !grants(&c.cfg).iter().any(|(a, _)| *a == e.zone) {
        return Err(EditError::NotDynamic);
    }
    let set = c.zones.load_full();
    let entry = set.exact(&e.zone).filter(|x| !x.expired && !x.not_loaded).ok_or(EditError::NoZone)?;
    let serial = entry.zone.serial();
    if e.if_serial.is_some_and(|s| s != serial) {
        return Err(EditError::Moved(serial));
    }
    if entry.zone.is_signed() {
        return Err(EditError::Build("the zone is signed: levee does not re-sign edits yet".into()));
    }
    let diff = match &e.what {
        EditKind::RRsets(changes) => levee_update::edit::rrsets(&entry.zone, changes).map_err(EditError::Refused)?,
        EditKind::Zone(recs) => levee_update::edit::replace(&entry.zone, recs),
    };
    let Some(diff) = diff else { return Ok(Edited { serial, changed: false }) };
    let zname = name::to_text(&e.zone);
    let zone = commit(c, logs, stats, &entry.zone, diff).map_err(|f| match f {
        Fail::Build(m) => EditError::Build(m),
        Fail::Log(m) => EditError::Failed(format!("the update log cannot be written: {m}")),
    })?;
    tracing::info!(zone = %zname, by = e.who, serial = zone.serial(), "edit applied");
    Ok(Edited { serial: zone.serial(), changed: true })
}

/// Why [`commit`] did not publish.
enum Fail {
    /// The zone would not build.
    Build(String),
    /// The update log could not be written.
    Log(String),
}

/// Builds the zone with `diff`, appends `diff` to the zone's log
/// (durably), publishes, journals and sends NOTIFY; compacts the log
/// when it is full. Nothing is published when building or logging fails.
fn commit(
    c: &Center,
    logs: &mut HashMap<Vec<u8>, Log>,
    stats: &Stats,
    served: &Zone,
    diff: Diff,
) -> Result<Arc<Zone>, Fail> {
    let apex = served.apex();
    let signing = super::signed::plan(&c.cfg, apex);
    let diff = if signing.is_some() { super::signed::unsigned(diff) } else { diff };
    let built = match signing {
        // A signed zone: the difference signed on the served version;
        // the update log keeps the unsigned one, the journal the signed.
        Some((n, p)) => super::signed::sign(&n, &p, served, &diff, checks_of(c, served)),
        None => build(c, served, &diff).map(|z| (z, diff.clone())),
    };
    let (built, published) = built.map_err(|e| {
        stats.failed.fetch_add(1, Ordering::Relaxed);
        Fail::Build(e)
    })?;
    if let Err(e) = append(c, logs, apex, &diff) {
        stats.failed.fetch_add(1, Ordering::Relaxed);
        return Err(Fail::Log(e.to_string()));
    }
    let zone = Arc::new(built);
    install(c, apex, &zone, published);
    stats.applied.fetch_add(1, Ordering::Relaxed);
    crate::replication::primary::send_notifies(&c.runtime, &c.repl, &zone);
    if logs.get(apex).is_some_and(Log::full) {
        compact(c, logs, &zone);
    }
    Ok(zone)
}

/// Evaluates and applies one update; returns the rcode to answer.
fn handle(c: &Center, logs: &mut HashMap<Vec<u8>, Log>, stats: &Stats, req: &UpdateRequest) -> u16 {
    let zname = name::to_text(&req.zone);
    let key = req.signed.as_ref().map(|(k, _)| name::to_text(&k.name));
    let Ok(msg) = Message::parse(&req.msg) else {
        return rcode::FORMERR;
    };
    let set = c.zones.load_full();
    let Some(entry) = set.exact(&req.zone).filter(|e| !e.expired) else {
        return rcode::NOTAUTH;
    };
    let scopes = super::queue::scopes(&c.cfg, &req.zone, req);
    let signing = super::signed::plan(&c.cfg, &req.zone);
    let ev = match signing {
        Some(_) => levee_update::evaluate_signer(&msg, &entry.zone, scopes.as_deref()),
        None => levee_update::evaluate_scoped(&msg, &entry.zone, scopes.as_deref()),
    };
    // As BIND, after the prerequisites (a failed one answers first).
    if ev.rcode == rcode::NOERROR {
        if let Some(why) = signing.as_ref().and_then(|_| super::signed::refused(&msg, &req.zone)) {
            tracing::info!(zone = %zname, client = %req.client, key = ?key, rcode = "REFUSED", "update: {why}");
            return rcode::REFUSED;
        }
    }
    let Some(diff) = ev.diff else {
        tracing::info!(zone = %zname, client = %req.client, key = ?key, rcode = rcode::NAMES[ev.rcode as usize & 15], "update: {}", ev.reason);
        return ev.rcode;
    };
    let (from, to, removed, added) = (diff.from(), diff.to(), diff.removed.len(), diff.added.len());
    match commit(c, logs, stats, &entry.zone, diff) {
        Ok(_) => {
            tracing::info!(zone = %zname, client = %req.client, key = ?key, from, to, removed, added, "update applied");
            rcode::NOERROR
        }
        Err(Fail::Build(e)) => {
            tracing::warn!(zone = %zname, client = %req.client, "update refused: the zone would not build: {e}");
            rcode::REFUSED
        }
        Err(Fail::Log(e)) => {
            tracing::error!(zone = %zname, client = %req.client, "update not applied: the update log cannot be written: {e}");
            rcode::SERVFAIL
        }
    }
}

/// Writes the zone as served as the base of its log and empties the log
/// (`log.rs`, "Compaction"). A failure leaves both as they were (the log
/// keeps growing) and is retried after the next update.
fn compact(c: &Center, logs: &mut HashMap<Vec<u8>, Log>, zone: &Zone) {
    let (Some(dir), Some(l)) = (c.cfg.storage_dir.as_deref(), logs.get_mut(zone.apex())) else { return };
    let zname = name::to_text(zone.apex());
    let base = log::base_file(dir, zone.apex());
    let written = crate::storage::write_zone_copy(&base, zone.apex(), zone.serial(), &journal::records(zone));
    match written.and_then(|()| l.clear()) {
        Ok(()) => {
            tracing::info!(zone = %zname, serial = zone.serial(), path = %base.display(), "update log compacted into its base");
            c.updates.logs.lock().unwrap_or_else(|e| e.into_inner()).insert(zone.apex().to_vec(), (0, 0));
        }
        Err(e) => {
            tracing::error!(zone = %zname, path = %base.display(), "update log not compacted: {e}; retried after the next update")
        }
    }
}

/// The semantic-check policy of `zone`.
fn checks_of(c: &Center, zone: &Zone) -> levee_zone::Checks {
    let zc = c
        .cfg
        .zones
        .iter()
        .find(|z| name::from_text(&z.name, None).is_ok_and(|n| name::to_lowercase(&n).as_slice() == zone.apex()));
    crate::zones::load::checks_of(&c.cfg, zc)
}

/// The zone with `diff` applied, built with the zone's checks.
fn build(c: &Center, zone: &Zone, diff: &Diff) -> Result<Zone, String> {
    let recs = journal::apply_all(journal::records(zone), std::slice::from_ref(diff)).map_err(|e| e.to_string())?;
    let checks = checks_of(c, zone);
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
/// base (`log::base_file`, after a compaction) or else its file loaded
/// (in `set`).
pub fn replay_all(cfg: &levee_config::Config, set: &mut ZoneSet) {
    let Some(dir) = &cfg.storage_dir else { return };
    for (apex, _) in grants(cfg) {
        let Some(e) = set.exact(&apex).filter(|e| !e.not_loaded) else { continue };
        let zname = name::to_text(&apex);
        let checks = crate::zones::load::checks_of(cfg, cfg.zones.iter().find(|z| z.name.eq_ignore_ascii_case(&zname)));
        let e = match load_base(&log::base_file(dir, &apex), &apex, checks) {
            Some(z) => ZoneEntry { zone: Arc::new(z), ..clone_entry(e) },
            None => clone_entry(e),
        };
        let path = log::log_file(dir, &apex);
        let applied = match log::replay(&path, e.zone.serial()) {
            Ok(Replayed::Nothing) => None,
            Ok(Replayed::Apply(diffs)) => super::signed::replay(cfg, &e.zone, &diffs, checks)
                .unwrap_or_else(|| replay_one(&e.zone, &diffs, checks))
                .map(Some)
                .unwrap_or_else(|err| {
                tracing::error!(zone = %zname, "update log cannot be applied: {err}; set aside as .stale, serving the zone without it");
                // Set aside, so new updates start a log that replays.
                let mut aside = path.clone().into_os_string();
                aside.push(".stale");
                let _ = std::fs::rename(&path, &aside);
                None
            }),
            Ok(Replayed::Stale { log_starts }) => {
                tracing::error!(zone = %zname, log_starts, loaded_serial = e.zone.serial(), path = %path.display(), "update log does not start at the zone file's serial (the file was changed): set aside as .stale, its updates are NOT served");
                None
            }
            Err(err) => {
                tracing::error!(zone = %zname, path = %path.display(), "update log cannot be read: {err}; serving the zone without its updates");
                None
            }
        };
        match applied {
            Some(z) => set.insert(ZoneEntry { zone: Arc::new(z), ..e }),
            None => set.insert(e),
        }
    }
}

/// `zone` with the differences of its log applied.
fn replay_one(zone: &Zone, diffs: &[Diff], checks: levee_zone::Checks) -> Result<Zone, String> {
    let recs = journal::apply_all(journal::records(zone), diffs).map_err(|e| e.to_string())?;
    let b = journal::build_from(zone.apex(), &recs, checks)
        .map_err(|d| d.iter().map(|d| d.message.clone()).collect::<Vec<_>>().join("; "))?;
    tracing::info!(zone = %name::to_text(zone.apex()), updates = diffs.len(), serial = b.zone.serial(), "update log replayed");
    Ok(b.zone)
}

/// The base of a compacted update log, when there is one that verifies
/// and loads (else the zone file is the base, with an error logged).
fn load_base(path: &std::path::Path, apex: &[u8], checks: levee_zone::Checks) -> Option<Zone> {
    if !path.exists() {
        return None;
    }
    let zname = name::to_text(apex);
    if let Err(why) = crate::storage::verify_zone_copy(path, apex) {
        tracing::error!(zone = %zname, path = %path.display(), "update log base refused: {why}; replaying over the zone file");
        return None;
    }
    let source = levee_zone::Source::File(path);
    match levee_zone::load_with(source, apex, &levee_zone::LoadOptions::default(), checks, &mut |_| {}) {
        Ok(b) => {
            tracing::info!(zone = %zname, serial = b.zone.serial(), "update log base loaded (it stands for the zone file)");
            Some(b.zone)
        }
        Err(d) => {
            tracing::error!(zone = %zname, path = %path.display(), "update log base does not load: {d:?}; replaying over the zone file");
            None
        }
    }
}
