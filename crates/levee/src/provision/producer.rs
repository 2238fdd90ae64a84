//! The catalog producer (Knot's `catalog-role: generate`): a `[[zone]]`
//! with `catalog-role = "generate"` has no file; levee writes it
//! (`levee_catalog::generate`) from its members, the configured zones
//! with `catalog-zone` naming it and the runtime zones added with it,
//! and serves it like a primary zone: AXFR, IXFR from its journal,
//! NOTIFY to its `notify` targets.
//!
//! Its serial moves only when its membership does: the registry keeps
//! the serial and a digest of the member list it was made for
//! (`Registry::produced`), so a restart with the same members serves the
//! same serial, and one with other members the next. Without a storage
//! directory the first serial is the Unix time. Unique ids are a hash of
//! the member's name (`levee_catalog::unique_id`), so they are the same
//! across restarts and on every producer.
//!
//! [`build_all`] makes the catalogs at start (before the journals are
//! read); after the registry changed, [`rebuild_all`] makes them again
//! (their new serials written with the registry's zones, one file write
//! per group of changes) and [`publish_built`] publishes those whose
//! membership moved, with the difference in their journal and NOTIFY
//! sent. A reload keeps them
//! (`replication::primary::after_reload`).

use std::collections::BTreeMap;
use std::sync::Arc;

use levee_config::{Config, ZoneConfig};
use levee_zone::journal::{self, Limits, Rr};
use levee_zone::{Acl, Zone, ZoneEntry, ZoneSet};
use sha2::{Digest, Sha256};

use crate::center::Center;
use crate::clock::wall;
use crate::provision::registry::{apex_of, canonical, produced, Produced, Registry};
use crate::replication::primary::{send_notifies, write_journal};
use crate::storage::Job;
use crate::zones::publish::{clone_entry, publish};

/// The produced catalogs of the configuration.

/// The members of produced catalog `cat` (lower-case name): (wire name,
/// group), configured zones and runtime zones, by name.
fn members(cfg: &Config, reg: &Registry, cat: &str) -> Vec<(Vec<u8>, Option<String>)> {
    let mut m: BTreeMap<Vec<u8>, Option<String>> = BTreeMap::new();
    let configured = cfg.zones.iter().filter_map(|z| z.catalog_member.as_ref().map(|m| (z.name.as_str(), m)));
    let runtime = reg.list();
    let runtime = runtime.iter().filter_map(|z| z.member_of.as_ref().map(|m| (z.name.as_str(), m)));
    for (zone, member) in configured.chain(runtime) {
        if canonical(&member.catalog).as_deref() != Some(cat) {
            continue;
        }
        if let Some(apex) = apex_of(zone) {
            m.entry(apex).or_insert_with(|| member.group.clone());
        }
    }
    m.into_iter().collect()
}

fn digest(members: &[(Vec<u8>, Option<String>)]) -> String {
    let mut h = Sha256::new();
    for (z, g) in members {
        h.update(z);
        h.update(g.as_deref().unwrap_or("\u{0}").as_bytes());
        h.update([0xff]);
    }
    h.finalize()[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// The catalog `z` with its current members, and its serial: the
/// recorded one if the members are those it was made for, else the next
/// (recorded now).
/// With `save`, a new serial is written to the registry file at once;
/// without, it is only recorded in memory and the caller writes the file
/// before the catalog is published ([`rebuild_all`]).
fn build(cfg: &Config, reg: &Registry, z: &ZoneConfig, save: bool) -> Result<Zone, String> {
    let cat = canonical(&z.name).ok_or("bad catalog name")?;
    let apex = apex_of(&cat).ok_or("bad catalog name")?;
    let members = members(cfg, reg, &cat);
    let d = digest(&members);
    let serial = match reg.produced(&cat) {
        Some(p) if p.digest == d => p.serial,
        p => {
            let serial = p.map_or(wall() as u32, |p| p.serial.wrapping_add(1));
            let p = Produced { serial, digest: d };
            if !save {
                reg.note_produced(&cat, p);
            } else if let Err(e) = reg.set_produced(&cat, p) {
                tracing::error!(catalog = %cat, "cannot record the produced catalog's serial: {e}");
            }
            serial
        }
    };
    let recs: Vec<Rr> = levee_catalog::generate(&apex, serial, &members)
        .into_iter()
        .map(|r| Rr { owner: r.owner, rtype: r.rtype, ttl: r.ttl, rdata: r.rdata })
        .collect();
    let built = journal::build_from(&apex, &recs, levee_zone::Checks::Warn)
        .map_err(|d| d.iter().filter(|d| !d.warning).map(|d| d.to_string()).collect::<Vec<_>>().join("; "))?;
    Ok(built.zone)
}

fn entry(z: &ZoneConfig, zone: Zone) -> ZoneEntry {
    ZoneEntry {
        zone: Arc::new(zone),
        transfer: crate::zones::load::acl_of(z),
        notify: Acl::none(),
        expired: false,
        not_loaded: false,
        journal: None,
        expires: None,
    }
}

/// At start: every produced catalog into `set`.
pub fn build_all(cfg: &Config, reg: &Registry, set: &mut ZoneSet) {
    for z in produced(cfg) {
        match build(cfg, reg, z, true) {
            Ok(zone) => {
                tracing::info!(catalog = %z.name, serial = zone.serial(), "produced catalog built");
                set.insert(entry(z, zone));
            }
            Err(e) => tracing::error!(catalog = %z.name, "produced catalog cannot be built: {e}"),
        }
    }
}

/// Every produced catalog made again after a change of membership, each
/// new serial recorded in the registry's memory only: the caller
/// (`Registry::apply`) writes the registry file once, with the zones
/// that changed, then publishes them ([`publish_built`]), so a restart
/// never serves an older catalog under a serial already sent.
pub fn rebuild_all(c: &Arc<Center>) -> Vec<(&ZoneConfig, Zone)> {
    let mut out = Vec::new();
    for z in produced(&c.cfg) {
        match build(&c.cfg, &c.registry, z, false) {
            Ok(zone) => out.push((z, zone)),
            Err(e) => tracing::error!(catalog = %z.name, "produced catalog cannot be built: {e}"),
        }
    }
    out
}

/// Publishes the catalogs [`rebuild_all`] made whose serial moved, with
/// the difference journaled, then NOTIFY.
pub fn publish_built(c: &Arc<Center>, built: Vec<(&ZoneConfig, Zone)>) {
    for (z, zone) in built {
        let apex = zone.apex().to_vec();
        let mut e = entry(z, zone);
        let changed = publish(c, |old| {
            let prev = old.exact(&apex).filter(|o| !o.not_loaded);
            // The served set copied (no name hashed again); the catalog's
            // entry replaced in place.
            let mut set = ZoneSet::clone(old);
            if prev.is_some_and(|p| p.zone.serial() == e.zone.serial()) {
                return (set, false);
            }
            if let Some(p) = prev.filter(|_| !e.transfer.is_empty()) {
                let mut j = p.journal.as_deref().cloned().unwrap_or_default();
                j.push(journal::diff(&p.zone, &e.zone), wall(), Limits::default());
                write_journal(c, &apex, Job::Journal(j.encode()));
                e.journal = Some(Arc::new(j));
            }
            set.insert(clone_entry(&e));
            (set, true)
        });
        if changed {
            tracing::info!(catalog = %z.name, serial = e.zone.serial(), "produced catalog changed");
            send_notifies(&c.runtime, &c.repl, &e.zone);
        }
    }
}
