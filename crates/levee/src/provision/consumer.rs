//! The catalog consumer (Knot's `catalog-role: interpret`): a secondary
//! zone with `catalog-role = "interpret"` is transferred like any other;
//! each time a new version of it is served, [`catalog_changed`] reads it
//! (`levee_catalog::parse`) and brings the runtime zones it owns in line
//! with its members:
//!
//! * a member not served yet is added ([`super::Op::Add`]), a secondary
//!   zone with the settings of the template its group chooses, and
//!   transferred at once;
//! * a member no longer listed is removed with its stored data;
//! * a member whose unique id changed is reset (data dropped, transferred
//!   anew), one whose group changed takes its new template's settings;
//! * a zone owned by another catalog moves here only when that catalog's
//!   `coo` property for it names this one (RFC 9432 §5.6); otherwise the
//!   first catalog keeps it and the log says so; a configured zone is
//!   never taken.
//!
//! A version that does not read (version not "2", a bad PTR, two PTRs
//! for one id, a zone listed twice, more than `server.max-catalog-members`
//! members) is refused whole and logged: the members in force stay.
//!
//! The comparison is made against the registry, not against the
//! catalog's previous version, so a restart (or a crash between serving
//! a catalog and writing the registry) is reconciled at start
//! ([`reconcile_all`]). After one catalog changes, the others are read
//! again too: a member one catalog let go of may be claimed by another.

use std::collections::BTreeMap;
use std::sync::Arc;

use levee_catalog::Catalog;
use levee_config::catalog::CatalogRole;
use levee_wire::name;
use levee_zone::journal;

use super::{Kind, Op, RuntimeZone};
use crate::center::Center;

/// The consumed catalogs of the configuration, in its order.
fn consumed(c: &Center) -> Vec<String> {
    c.cfg
        .zones
        .iter()
        .filter(|z| matches!(z.catalog_role, Some(CatalogRole::Interpret { .. })))
        .filter_map(|z| super::canonical(&z.name))
        .collect()
}

/// The served version of catalog `cat`, read; `None` if it has no data
/// yet; `Err` if it does not read.
fn read(c: &Center, cat: &str) -> Option<Result<(u32, Catalog), levee_catalog::Error>> {
    let apex = super::apex_of(cat)?;
    let set = c.zones.load();
    let e = set.exact(&apex).filter(|e| !e.not_loaded)?;
    let recs = journal::records(&e.zone);
    let serial = e.zone.serial();
    let parsed = levee_catalog::parse(
        &apex,
        recs.iter().map(|r| (r.owner.as_slice(), r.rtype, r.rdata.as_slice())),
        c.cfg.max_catalog_members,
    );
    Some(parsed.map(|p| (serial, p)))
}

/// A new version of the consumed catalog `apex` is served: its members
/// are brought in line, then the other catalogs' (blocking: runs on a
/// blocking thread).
pub fn catalog_changed(c: &Arc<Center>, apex: &[u8]) {
    let this = name::to_text(apex);
    process(c, &this, true);
    for other in consumed(c).into_iter().filter(|o| *o != this) {
        process(c, &other, false);
    }
}

/// At start, once the tasks run: every consumed catalog with data, in
/// the configuration's order.
/// Members of a catalog no longer configured are removed first (with
/// their data, as Knot purges them).
pub fn reconcile_all(c: &Arc<Center>) {
    let cats = consumed(c);
    let orphans: Vec<Op> = c
        .registry
        .list()
        .into_iter()
        .filter_map(|z| match &z.kind {
            Kind::CatalogMember { catalog, .. } if !cats.contains(catalog) => {
                tracing::warn!(zone = %z.name, catalog = %catalog, "catalog no longer configured: its member is removed");
                Some(Op::Remove(z.name))
            }
            _ => None,
        })
        .collect();
    if !orphans.is_empty() {
        c.registry.apply(c, orphans);
    }
    for cat in cats {
        process(c, &cat, true);
    }
}

/// One catalog's members against the registry (see the module docs).
fn process(c: &Arc<Center>, cat: &str, fresh: bool) {
    let (serial, parsed) = match read(c, cat) {
        None => return,
        Some(Ok(p)) => p,
        Some(Err(e)) => {
            if fresh {
                tracing::error!(catalog = %cat, "catalog version refused: {e}; its members in force stay as they are");
            }
            return;
        }
    };
    let ops = plan(c, cat, &parsed, fresh);
    if ops.is_empty() {
        return;
    }
    tracing::info!(catalog = %cat, serial, changes = ops.len(), "catalog: applying member changes");
    let results = c.registry.apply(c, ops.clone());
    for (op, r) in ops.iter().zip(results) {
        if let Err(e) = r {
            tracing::warn!(catalog = %cat, "catalog member change {} failed: {e}", op_text(op));
        }
    }
}

fn op_text(op: &Op) -> String {
    match op {
        Op::Add(z) | Op::AddPrimary(z, _) => format!("add {}", z.name),
        Op::Remove(n) => format!("remove {n}"),
        Op::Change(z) => format!("change {}", z.name),
        Op::Reset(z) => format!("reset {}", z.name),
    }
}

/// The changes that make the registry's members of `cat` equal to
/// `parsed` (`fresh`: a new version, so conflicts are logged).
fn plan(c: &Center, cat: &str, parsed: &Catalog, fresh: bool) -> Vec<Op> {
    let mut ops = Vec::new();
    let mine: BTreeMap<String, RuntimeZone> = c
        .registry
        .list()
        .into_iter()
        .filter(|z| matches!(&z.kind, Kind::CatalogMember { catalog, .. } if catalog == cat))
        .map(|z| (z.name.clone(), z))
        .collect();
    let mut others: BTreeMap<String, Option<Catalog>> = BTreeMap::new();
    let cat_apex = super::apex_of(cat).unwrap_or_default();
    for m in parsed.members.values() {
        let zone = name::to_text(&m.zone);
        let id = String::from_utf8_lossy(&m.id).into_owned();
        let want = RuntimeZone {
            name: zone.clone(),
            kind: Kind::CatalogMember { catalog: cat.to_string(), id: id.clone(), group: m.group.clone() },
            member_of: None,
        };
        let Some(have) = c.registry.get(&zone) else {
            if let Some(why) = super::configured(c, &zone) {
                if fresh {
                    tracing::warn!(catalog = %cat, zone = %zone, "catalog member not served from the catalog: {why} (a configured zone wins)");
                }
                continue;
            }
            ops.push(Op::Add(want));
            continue;
        };
        let member_of = have.member_of.clone();
        match &have.kind {
            Kind::CatalogMember { catalog, id: old_id, group } if catalog == cat => {
                if *old_id != id {
                    ops.push(Op::Reset(RuntimeZone { member_of, ..want }));
                } else if *group != m.group {
                    ops.push(Op::Change(RuntimeZone { member_of, ..want }));
                }
            }
            Kind::CatalogMember { catalog: owner, .. } => {
                let owner_cat =
                    others.entry(owner.clone()).or_insert_with(|| read(c, owner).and_then(Result::ok).map(|x| x.1));
                let allowed = owner_cat.as_ref().is_some_and(|o| levee_catalog::coo_allows(o, &m.zone, &cat_apex))
                    || !consumed(c).contains(owner);
                if allowed {
                    tracing::info!(zone = %zone, from = %owner, to = %cat, "catalog member changes ownership (coo)");
                    ops.push(Op::Change(RuntimeZone { member_of, ..want }));
                } else if fresh {
                    tracing::warn!(zone = %zone, catalog = %cat, owner = %owner, "zone claimed by two catalogs: the first keeps it (no coo in {owner} names {cat})");
                }
            }
            Kind::Secondary { .. } | Kind::Primary { .. } => {
                if fresh {
                    tracing::warn!(zone = %zone, catalog = %cat, "catalog member not taken: a runtime zone of this name exists (not from a catalog)");
                }
            }
        }
    }
    for (zone, _) in mine {
        let apex = super::apex_of(&zone).unwrap_or_default();
        if !parsed.members.contains_key(&apex) {
            ops.push(Op::Remove(zone));
        }
    }
    ops
}
