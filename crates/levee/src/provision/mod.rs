//! Runtime zones: zones that are not in the configuration file, added
//! and removed while levee runs, kept across restarts.
//!
//! The configuration file names the zones an operator writes by hand.
//! A provider with thousands of customer zones does not: its zones come
//! and go all day, from a catalog zone (RFC 9432, [`consumer`]) and,
//! later, from the REST API. They live in the [`Registry`]:
//!
//! * **What a runtime zone is** ([`RuntimeZone`]): a name, a [`Kind`]
//!   (a member of a consumed catalog, whose settings come from the
//!   catalog's `[[catalog-template]]` for its group; a secondary zone
//!   with its own primaries and ACLs; a primary zone from zone text)
//!   and, optionally, the produced
//!   catalog that lists it ([`producer`]).
//! * **Serving it**: a runtime secondary zone is a secondary zone like a
//!   configured one: the same `replication::state::Secondary` (made by
//!   `replication::startup::secondary_entry` from a `ZoneConfig` built
//!   here, [`zone_config`]), the same refresh task, the same stored copy
//!   in the storage directory. So `levee ctl zone-status`, `/api/zones`,
//!   `/metrics` and the dashboard show it without knowing where it came
//!   from. Adding one ([`Registry::apply`] with [`Op::Add`]) registers
//!   its `Secondary` *before* publishing its (placeholder) entry, so a
//!   reload running at the same time keeps it (`after_reload` keeps every
//!   secondary zone); removing one marks its `Secondary` removed (its
//!   task ends; a transfer still running is cancelled and its result
//!   neither published nor stored, both checked under the publish lock),
//!   unpublishes it and removes its stored copy and journal.
//! * **A configured zone always wins** over a runtime zone of the same
//!   name: the runtime one is refused (or, at start, left unserved), and
//!   the log says so.
//! * **Bounds**: at most `server.max-runtime-zones` runtime zones; an
//!   addition past it is refused and logged.
//! * **Persistence**: `<storage-dir>/runtime-zones.json` is written after
//!   every change, atomically (temporary file, fsync, rename, fsync of the
//!   directory: `storage::write_atomic`). It has a format name and a
//!   version; a file that does not parse, or of another version, stops
//!   the start naming the file (the operator decides; nothing is
//!   dropped silently). Without a storage directory, runtime zones live
//!   in memory only. It also keeps each produced catalog's serial and
//!   the digest of its member list, so the serial survives restarts and
//!   moves only when the membership does.
//!
//! Callers: the catalog consumer, `levee ctl zone-add`/`zone-add-primary`/
//! `zone-remove` (`control_socket`), and the REST API
//! (`ops::rest_zones`: `POST`/`DELETE /api/v1/zones`, `PUT`/`DELETE
//! /api/v1/zones/{zone}/catalog`, the latter an [`Op::Change`] of
//! `member_of`). Each hands
//! [`Registry::apply`] a batch of [`Op`]s (add a secondary zone, add a
//! primary zone from zone text, remove, change settings, reset) and gets
//! one result per op; the served set is published once and the file
//! written once per batch. A runtime primary zone's text is kept in
//! `<storage-dir>/<stem>primary` ([`primary_file`]) and loaded like a
//! zone file (the `[load]` budgets; no `$INCLUDE` from text); a reload
//! keeps it (`replication::primary::after_reload`).

pub mod consumer;
pub mod producer;
pub mod registry;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use levee_config::catalog::{CatalogMember, CatalogRole, CatalogTemplate, DEFAULT_TEMPLATE};
use levee_config::{Config, ZoneConfig};
use levee_wire::name;
use levee_zone::ZoneSet;

use crate::center::Center;
use crate::replication::state::Replication;
use crate::storage::{self, Job, Kind as StoreKind, Stores};
use crate::zones::publish::{clone_entry, publish};
use registry::apex_of;
pub use registry::{canonical, Kind, Op, Registry, RuntimeZone};

impl Registry {
    /// Applies a batch of changes: each is checked (bounds, a configured
    /// or already served zone of the same name), done, and logged; the
    /// file is written once at the end. Returns one result per op, once
    /// the changes are served and the file (and a runtime primary zone's
    /// text) is on disk.
    ///
    /// A group commit: the batch is queued, then the caller waits for
    /// the one change in progress; whoever gets to apply takes every
    /// batch queued meanwhile and applies them as one (one publication,
    /// one registry write, one rebuild of the produced catalogs), so
    /// zones created by many API requests at once cost one O(zones)
    /// step per group, not per zone. Each op's result is its own.
    pub fn apply(&self, c: &Arc<Center>, ops: Vec<Op>) -> Vec<Result<(), String>> {
        let mine = Arc::new(std::sync::OnceLock::new());
        self.queue.lock().unwrap_or_else(|e| e.into_inner()).push((ops, Arc::clone(&mine)));
        let _one = self.changing.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(done) = mine.get() {
            return done.clone(); // applied by the holder before us
        }
        let batches = std::mem::take(&mut *self.queue.lock().unwrap_or_else(|e| e.into_inner()));
        let (mut all, mut slots) = (Vec::new(), Vec::with_capacity(batches.len()));
        for (ops, slot) in batches {
            slots.push((slot, ops.len()));
            all.extend(ops);
        }
        if slots.len() > 1 {
            tracing::info!(requests = slots.len(), ops = all.len(), "runtime zones: requests applied together");
        }
        let mut results = self.apply_batch(c, all).into_iter();
        for (slot, n) in slots {
            let _ = slot.set(results.by_ref().take(n).collect());
        }
        mine.get().cloned().unwrap_or_default()
    }

    /// [`Registry::apply`] of the batches of one group, with the lock held.
    fn apply_batch(&self, c: &Arc<Center>, ops: Vec<Op>) -> Vec<Result<(), String>> {
        let mut out = Vec::with_capacity(ops.len());
        let mut changed = false;
        let mut produced_touched = false;
        let mut batch = Batch::default();
        let staged = stage_texts(c.cfg.storage_dir.as_deref(), &ops);
        for (op, staged) in ops.into_iter().zip(staged) {
            let r = match op {
                Op::AddPrimary(z, text) => {
                    let tmp = staged.as_ref().and_then(|r| r.as_ref().ok()).cloned();
                    let r = self.add_primary(c, z, &text, staged, &mut batch);
                    if let (Err(_), Some(tmp)) = (&r, tmp) {
                        let _ = std::fs::remove_file(tmp); // refused: its text goes
                    }
                    r
                }
                op => self.apply_one(c, op, &mut batch),
            };
            changed |= r.as_ref().is_ok_and(|t| t.0);
            produced_touched |= r.as_ref().is_ok_and(|t| t.1);
            out.push(r.map(|_| ()));
        }
        batch.publish(c);
        // The produced catalogs' new serials go into the same write as
        // the zones (one registry write per group), before the catalogs
        // are served.
        let built = if produced_touched { producer::rebuild_all(c) } else { Vec::new() };
        if changed {
            let st = self.state();
            if let Err(e) = self.save(&st) {
                tracing::error!("runtime zones: cannot write the registry: {e}; the changes are served but lost at restart until a write succeeds");
            }
        }
        producer::publish_built(c, built);
        out
    }

    /// The checks of an addition: the name, a produced catalog it names,
    /// not a runtime zone already, not configured, within the bound.
    fn may_add(&self, c: &Center, z: RuntimeZone) -> Result<RuntimeZone, String> {
        let z = normalized(z)?;
        check_member_of(&c.cfg, &z.member_of)?;
        if self.state().zones.contains_key(&z.name) {
            return Err(format!("zone {} is a runtime zone already", z.name));
        }
        if let Some(why) = configured(c, &z.name) {
            tracing::warn!(zone = %z.name, "runtime zone refused: {why} (a configured zone wins)");
            return Err(format!("zone {}: {why}", z.name));
        }
        if self.len() >= self.max {
            let m = format!("zone {} refused: server.max-runtime-zones ({}) reached", z.name, self.max);
            tracing::warn!("runtime zones: {m}");
            return Err(m);
        }
        Ok(z)
    }

    /// A primary zone from its text; `staged`: the text already written
    /// to a temporary file and fsynced ([`stage_texts`]), renamed into
    /// place here (`None`: written here). The directory is synced once for
    /// the whole group, by the registry's write that follows (same
    /// directory).
    fn add_primary(
        &self,
        c: &Arc<Center>,
        z: RuntimeZone,
        text: &str,
        staged: Option<std::io::Result<PathBuf>>,
        batch: &mut Batch,
    ) -> Result<(bool, bool), String> {
        let z = self.may_add(c, z)?;
        let dir = c.cfg.storage_dir.as_deref().ok_or("runtime zones need server.storage-dir")?;
        let apex = apex_of(&z.name).ok_or("bad zone name")?;
        let src = levee_zone::Source::Memory { name: &z.name, data: text.as_bytes() };
        let e = load_primary(&c.cfg, &z, src)?;
        let path = primary_file(dir, &apex);
        match staged {
            Some(Ok(tmp)) => std::fs::rename(tmp, &path),
            Some(Err(e)) => Err(e),
            None => storage::write_atomic_then_sync_dir_later(&path, |w| w.write_all(text.as_bytes())),
        }
        .map_err(|e| format!("{}: {e}", path.display()))?;
        batch.added.insert(e);
        tracing::info!(zone = %z.name, kind = "primary", "runtime zone added");
        let p = z.member_of.is_some();
        self.state().zones.insert(z.name.clone(), z);
        Ok((true, p))
    }

    /// One op: (the registry changed, a produced catalog may change).
    fn apply_one(&self, c: &Arc<Center>, op: Op, batch: &mut Batch) -> Result<(bool, bool), String> {
        match op {
            Op::AddPrimary(z, text) => self.add_primary(c, z, &text, None, batch),
            Op::Add(z) => {
                let z = self.may_add(c, z)?;
                if matches!(z.kind, Kind::Primary { .. }) {
                    return Err("a primary zone is added with its data (AddPrimary)".into());
                }
                start_zone(c, &z, false, batch)?;
                tracing::info!(zone = %z.name, kind = kind_text(&z.kind), "runtime zone added");
                let p = z.member_of.is_some();
                self.state().zones.insert(z.name.clone(), z);
                Ok((true, p))
            }
            Op::Remove(n) => {
                let n = canonical(&n).ok_or_else(|| format!("bad zone name {n}"))?;
                let z = self.state().zones.remove(&n).ok_or_else(|| format!("zone {n} is not a runtime zone"))?;
                stop_zone(c, &z.name, true, batch);
                tracing::info!(zone = %z.name, "runtime zone removed (its stored data too)");
                Ok((true, z.member_of.is_some()))
            }
            Op::Change(z) | Op::Reset(z) if !self.state().zones.contains_key(&z.name) => {
                Err(format!("zone {} is not a runtime zone", z.name))
            }
            Op::Change(z) => {
                let z = normalized(z)?;
                check_member_of(&c.cfg, &z.member_of)?;
                stop_zone(c, &z.name, false, batch);
                start_zone(c, &z, false, batch)?;
                tracing::info!(zone = %z.name, kind = kind_text(&z.kind), "runtime zone's settings changed (its data kept)");
                let old = self.state().zones.insert(z.name.clone(), z.clone());
                Ok((true, old.and_then(|o| o.member_of) != z.member_of))
            }
            Op::Reset(z) => {
                let z = normalized(z)?;
                stop_zone(c, &z.name, false, batch);
                // The data goes before the zone is made again (not read back).
                if let Some(apex) = apex_of(&z.name) {
                    remove_files(c, &apex);
                }
                start_zone(c, &z, true, batch)?;
                tracing::info!(zone = %z.name, "runtime zone reset: its data dropped, transferred anew");
                self.state().zones.insert(z.name.clone(), z);
                Ok((true, false))
            }
        }
    }
}

/// The texts of a group's new primary zones ([`Op::AddPrimary`]), each
/// written to `<file>.tmp` and fsynced by up to 8 threads at once, so
/// their disk flushes overlap instead of queueing one after the other;
/// one entry per op (`None`: not such an op, no storage directory, or a
/// second op for the same name, which is written in turn). Nothing is
/// renamed here: an op that is accepted renames its file, a refused one
/// removes it.
fn stage_texts(dir: Option<&Path>, ops: &[Op]) -> Vec<Option<std::io::Result<PathBuf>>> {
    let mut out: Vec<Option<std::io::Result<PathBuf>>> = ops.iter().map(|_| None).collect();
    let Some(dir) = dir else { return out };
    let mut seen = std::collections::HashSet::new();
    let jobs: Vec<(usize, PathBuf, &str)> = ops
        .iter()
        .enumerate()
        .filter_map(|(i, op)| match op {
            Op::AddPrimary(z, text) => {
                let apex = apex_of(&z.name)?;
                let tmp = dir.join(format!("{}primary.tmp", storage::file_stem(&apex)));
                seen.insert(apex).then_some((i, tmp, text.as_str()))
            }
            _ => None,
        })
        .collect();
    if jobs.is_empty() {
        return out;
    }
    let write = |tmp: &Path, text: &str| -> std::io::Result<PathBuf> {
        use std::io::Write;
        let mut f = std::fs::File::create(tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        Ok(tmp.to_path_buf())
    };
    let done = std::sync::Mutex::new(Vec::with_capacity(jobs.len()));
    let part = jobs.len().div_ceil(8);
    std::thread::scope(|s| {
        let (write, done) = (&write, &done);
        for chunk in jobs.chunks(part) {
            let work = move || {
                for (i, tmp, text) in chunk {
                    let r = write(tmp, text);
                    done.lock().unwrap_or_else(|e| e.into_inner()).push((*i, r));
                }
            };
            // No thread: written on this one.
            if std::thread::Builder::new().name("levee-stage".into()).spawn_scoped(s, work).is_err() {
                work();
            }
        }
    });
    for (i, r) in done.into_inner().unwrap_or_else(|e| e.into_inner()) {
        out[i] = Some(r);
    }
    out
}

/// The `allow-notify` rules of a runtime secondary zone: its primaries'
/// addresses (without the port), with their keys.
pub fn notify_from(primaries: &[String]) -> Vec<String> {
    primaries
        .iter()
        .map(|p| {
            let mut w = p.split_whitespace();
            let addr = w.next().unwrap_or_default();
            let ip = addr.parse::<std::net::SocketAddr>().map_or(addr.to_string(), |a| a.ip().to_string());
            std::iter::once(ip).chain(w.map(String::from)).collect::<Vec<_>>().join(" ")
        })
        .collect()
}

fn kind_text(k: &Kind) -> &'static str {
    match k {
        Kind::CatalogMember { .. } => "catalog member",
        Kind::Secondary { .. } => "secondary",
        Kind::Primary { .. } => "primary",
    }
}

fn normalized(mut z: RuntimeZone) -> Result<RuntimeZone, String> {
    z.name = canonical(&z.name).ok_or_else(|| format!("bad zone name {}", z.name))?;
    if z.name == "." {
        return Err("the root zone cannot be a runtime zone".into());
    }
    Ok(z)
}

/// A produced catalog `m` names is configured.
pub fn check_member_of(cfg: &Config, m: &Option<CatalogMember>) -> Result<(), String> {
    let Some(m) = m else { return Ok(()) };
    if m.group.as_deref().is_some_and(|g| g.is_empty() || g.len() > 255) {
        return Err("a catalog group is 1 to 255 octets".into());
    }
    let produced = cfg
        .zones
        .iter()
        .any(|z| crate::zones::load::same_zone(&z.name, &m.catalog) && z.catalog_role == Some(CatalogRole::Generate));
    if !produced {
        return Err(format!("no [[zone]] {} with catalog-role = \"generate\"", m.catalog));
    }
    Ok(())
}

/// Why `zone` cannot be a runtime zone because the configuration serves
/// it (a `[[zone]]` or a file of the zones directory), if it does.
fn configured(c: &Center, zone: &str) -> Option<String> {
    if c.cfg.zones.iter().any(|z| z.name.eq_ignore_ascii_case(zone)) {
        return Some("a [[zone]] of the configuration has this name".into());
    }
    let apex = apex_of(zone)?;
    if c.zones.load().exact(&apex).is_some() && !c.repl.secondaries.contains_key(&apex) {
        return Some("the configuration serves this zone (zones directory)".into());
    }
    None
}

//------------ serving a runtime zone -------------------------------------------

/// The `ZoneConfig` a runtime zone is served with: for a catalog member,
/// its catalog's template for its group (the catalog's primaries and
/// `allow-notify` where the template leaves them out, and its transfer
/// limits); for a secondary, its own settings.
pub fn zone_config(cfg: &Config, z: &RuntimeZone) -> Result<ZoneConfig, String> {
    let mut zc = ZoneConfig::named(z.name.clone());
    match &z.kind {
        Kind::CatalogMember { catalog, group, .. } => {
            let cat = cfg
                .zones
                .iter()
                .find(|c| c.name.eq_ignore_ascii_case(catalog))
                .ok_or_else(|| format!("catalog {catalog} is no longer configured"))?;
            let Some(CatalogRole::Interpret { templates }) = &cat.catalog_role else {
                return Err(format!("zone {catalog} is no longer a consumed catalog"));
            };
            let t = template(cfg, templates, group.as_deref());
            zc.repl.primaries = t.and_then(|t| t.primaries.clone()).unwrap_or_else(|| cat.repl.primaries.clone());
            zc.repl.allow_notify =
                t.and_then(|t| t.allow_notify.clone()).unwrap_or_else(|| cat.repl.allow_notify.clone());
            if let Some(t) = t {
                zc.allow_transfer.clone_from(&t.allow_transfer);
                zc.repl.transfer_keyed.clone_from(&t.transfer_keyed);
                zc.semantic_checks = t.semantic_checks;
            }
            zc.repl.transfer_limits = cat.repl.transfer_limits;
        }
        Kind::Primary { .. } => return Err("a primary zone has no secondary settings".into()),
        Kind::Secondary { primaries, allow_transfer, allow_notify } => {
            use levee_config::repl::{parse_remote, parse_rule, AclRule};
            if primaries.is_empty() {
                return Err("a secondary zone needs at least one primary".into());
            }
            for (i, p) in primaries.iter().enumerate() {
                zc.repl.primaries.push(parse_remote(p, &cfg.keys).map_err(|e| format!("primaries[{i}]: {e}"))?);
            }
            for (i, p) in allow_transfer.iter().enumerate() {
                match parse_rule(p, &cfg.keys).map_err(|e| format!("allow-transfer[{i}]: {e}"))? {
                    AclRule { prefix: Some(p), key: None, tls_client: None } => zc.allow_transfer.push(p),
                    r => zc.repl.transfer_keyed.push(r),
                }
            }
            for (i, p) in allow_notify.iter().enumerate() {
                zc.repl.allow_notify.push(parse_rule(p, &cfg.keys).map_err(|e| format!("allow-notify[{i}]: {e}"))?);
            }
            zc.repl.transfer_limits = levee_config::repl::TransferLimits::default();
        }
    }
    if zc.repl.primaries.iter().any(|p| p.tls.is_some()) && cfg.transfer_in_tls_ca.is_none() {
        return Err("a primary reached over TLS needs [transfer-in] tls-ca-file".into());
    }
    Ok(zc)
}

/// The template a member of `group` takes among a catalog's `templates`:
/// the one named like the group, else the first; `None` is the built-in
/// `default` (the catalog's own settings).
pub fn template<'a>(cfg: &'a Config, templates: &[String], group: Option<&str>) -> Option<&'a CatalogTemplate> {
    let pick = group.and_then(|g| templates.iter().find(|t| t.as_str() == g)).or(templates.first())?;
    if pick == DEFAULT_TEMPLATE {
        return None;
    }
    cfg.catalog_templates.iter().find(|t| &t.name == pick)
}

/// The published-set side of a batch of changes: made zone by zone,
/// published once ([`Batch::publish`]), so adding 10,000 members copies
/// the served set once, not 10,000 times.
#[derive(Default)]
struct Batch {
    /// New entries (placeholders or stored copies).
    added: ZoneSet,
    /// Apexes to unpublish (replaced ones too).
    removed: Vec<Vec<u8>>,
    /// Apexes whose stored files go once unpublished.
    drop_files: Vec<Vec<u8>>,
    /// Refresh tasks to start once published.
    start: Vec<Arc<crate::replication::state::Secondary>>,
}

impl Batch {
    /// Publishes the batch, then removes the dropped zones' files and
    /// starts the new zones' tasks.
    fn publish(self, c: &Arc<Center>) {
        if self.added.is_empty() && self.removed.is_empty() {
            return;
        }
        let gone: std::collections::HashSet<&[u8]> = self.removed.iter().map(Vec::as_slice).collect();
        publish(c, |old| {
            if gone.is_empty() {
                // Additions only (zones created one API call at a time):
                // the served set copied without hashing a name again,
                // the new entries inserted (O(changes) ids: ZoneIds::assign).
                let mut set = ZoneSet::clone(old);
                for e in self.added.entries() {
                    set.insert(clone_entry(e));
                }
                return (set, ());
            }
            let mut set = ZoneSet::new();
            for e in old.entries() {
                if !gone.contains(e.zone.apex()) && self.added.exact(e.zone.apex()).is_none() {
                    set.insert(clone_entry(e));
                }
            }
            for e in self.added.entries() {
                set.insert(clone_entry(e));
            }
            (set, ())
        });
        for apex in &self.drop_files {
            remove_files(c, apex);
        }
        for s in self.start {
            crate::replication::secondary::spawn(c, s);
        }
    }
}

/// Makes a runtime zone's `Secondary` (its stored copy read, if any),
/// registers it, and puts its entry and task in `batch` (`fresh`: its
/// first transfer is a full one).
fn start_zone(c: &Arc<Center>, z: &RuntimeZone, fresh: bool, batch: &mut Batch) -> Result<(), String> {
    let Some(dir) = c.cfg.storage_dir.as_deref() else {
        return Err("runtime zones need server.storage-dir".into());
    };
    if let Kind::Primary { .. } = z.kind {
        let path = primary_file(dir, &apex_of(&z.name).ok_or("bad zone name")?);
        batch.added.insert(load_primary(&c.cfg, z, levee_zone::Source::File(&path))?);
        return Ok(());
    }
    let zc = zone_config(&c.cfg, z)?;
    let apex = name::to_lowercase(name::from_text(&zc.name, None).map_err(|e| e.to_string())?.as_slice());
    let checks = crate::zones::load::checks_of(&c.cfg, Some(&zc));
    let storage = c.cfg.storage_dir.as_deref();
    let threads = c.cfg.load.threads();
    let sec =
        crate::replication::startup::secondary_entry(&zc, &apex, storage, &mut batch.added, checks, &c.stores, threads);
    if fresh {
        sec.force_axfr.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    let sec = Arc::new(sec);
    // Registered before it is published: a reload meanwhile keeps it.
    c.repl.secondaries.insert(apex.as_slice().to_vec(), Arc::clone(&sec));
    batch.start.push(sec);
    Ok(())
}

/// Stops serving a runtime zone: its task ends, a transfer in progress
/// is cancelled (and its result neither published nor stored), and
/// `batch` unpublishes it; with `drop_data`, its stored copy and journal
/// go too.
fn stop_zone(c: &Arc<Center>, zone: &str, drop_data: bool, batch: &mut Batch) {
    let Some(apex) = apex_of(zone) else { return };
    if let Some(s) = c.repl.secondaries.remove(&apex) {
        s.removed.store(true, std::sync::atomic::Ordering::Release);
        if let Some(t) = s.current.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            t.cancel();
        }
        s.kick.notify_one();
    }
    if drop_data {
        batch.drop_files.push(apex.clone());
    }
    batch.removed.push(apex);
}

/// Removes a zone's stored copy and journal: now, and through their
/// stores, so a write in progress cannot bring them back afterwards.
fn remove_files(c: &Center, apex: &[u8]) {
    let Some(dir) = &c.cfg.storage_dir else { return };
    for (kind, path) in
        [(StoreKind::Zone, storage::zone_file(dir, apex)), (StoreKind::Journal, storage::journal_file(dir, apex))]
    {
        if let Some(s) = c.stores.find(apex, kind) {
            s.submit(Job::Remove, &c.runtime);
        }
        let _ = std::fs::remove_file(&path);
    }
    let _ = std::fs::remove_file(primary_file(dir, apex));
}

/// Where a runtime primary zone's text is kept: `<storage-dir>/<stem>primary`.
pub fn primary_file(dir: &Path, apex: &[u8]) -> PathBuf {
    dir.join(format!("{}primary", storage::file_stem(apex)))
}

/// A runtime primary zone's entry, its data read from `src` under the
/// `[load]` budgets; errors as `NAME:LINE: message`.
fn load_primary(cfg: &Config, z: &RuntimeZone, src: levee_zone::Source<'_>) -> Result<levee_zone::ZoneEntry, String> {
    let Kind::Primary { allow_transfer } = &z.kind else { return Err("not a primary zone".into()) };
    let apex = apex_of(&z.name).ok_or("bad zone name")?;
    let mut rules = Vec::new();
    for (i, p) in allow_transfer.iter().enumerate() {
        rules.push(levee_config::repl::parse_rule(p, &cfg.keys).map_err(|e| format!("allow-transfer[{i}]: {e}"))?);
    }
    let opts = levee_zone::LoadOptions {
        max_bytes: cfg.load.max_zone_bytes,
        max_records: cfg.load.max_zone_records,
        ..levee_zone::LoadOptions::default()
    };
    let checks = crate::zones::load::checks_of(cfg, None);
    let built = levee_zone::load_with(src, &apex, &opts, checks, &mut |_| {}).map_err(|d| {
        let errors: Vec<String> = d.iter().filter(|d| !d.warning).take(5).map(|d| d.to_string()).collect();
        errors.join("; ")
    })?;
    for w in &built.warnings {
        tracing::warn!(zone = %z.name, "{w}");
    }
    let mut transfer = levee_zone::Acl::none();
    crate::zones::load::add_rules(&mut transfer, &rules);
    Ok(levee_zone::ZoneEntry {
        zone: Arc::new(built.zone),
        transfer,
        notify: levee_zone::Acl::none(),
        expired: false,
        not_loaded: false,
        journal: None,
        expires: None,
    })
}

/// At start, before the tasks run: serves every runtime zone (stored
/// copies read) in `set`, except those a configured zone overrides.
pub fn restore(cfg: &Config, reg: &Registry, set: &mut ZoneSet, repl: &Replication, stores: &Stores) {
    let storage = cfg.storage_dir.as_deref();
    let mut n = 0;
    for z in reg.list() {
        let Some(apex) = apex_of(&z.name) else { continue };
        if cfg.zones.iter().any(|c| c.name.eq_ignore_ascii_case(&z.name)) || set.exact(&apex).is_some() {
            tracing::warn!(zone = %z.name, "runtime zone not served: the configuration serves a zone of this name (a configured zone wins)");
            continue;
        }
        if let Kind::Primary { .. } = z.kind {
            let Some(dir) = storage else { continue };
            match load_primary(cfg, &z, levee_zone::Source::File(&primary_file(dir, &apex))) {
                Ok(e) => {
                    set.insert(e);
                    n += 1;
                }
                Err(e) => tracing::error!(zone = %z.name, "runtime primary zone not served: {e}"),
            }
            continue;
        }
        let zc = match zone_config(cfg, &z) {
            Ok(zc) => zc,
            Err(e) => {
                tracing::error!(zone = %z.name, "runtime zone not served: {e}");
                continue;
            }
        };
        let apex = name::to_lowercase(&apex);
        let checks = crate::zones::load::checks_of(cfg, Some(&zc));
        let sec =
            crate::replication::startup::secondary_entry(&zc, &apex, storage, set, checks, stores, cfg.load.threads());
        repl.secondaries.insert(apex.as_slice().to_vec(), Arc::new(sec));
        n += 1;
    }
    if n > 0 {
        tracing::info!(zones = n, "runtime zones restored");
    }
}
