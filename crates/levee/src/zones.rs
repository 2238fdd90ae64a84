//! Finding and loading the zones a configuration names.

use std::path::PathBuf;
use std::sync::Arc;

use levee_config::Config;
use levee_wire::name;
use levee_zone::{Acl, Checks, Diagnostic, Source, ZoneEntry, ZoneSet};

/// The example zones built into the binary (served when `levee serve` runs
/// without a configuration or zones directory).
pub const BUILTIN: &[(&str, &str)] = &[
    ("example.com.", include_str!("../../../examples/zones/example.com.zone")),
    ("example.net.", include_str!("../../../examples/zones/example.net.zone")),
];

/// Where a zone comes from.
#[derive(Clone, Debug)]
pub enum ZoneSource {
    /// A file.
    File(PathBuf),
    /// Built-in text.
    Builtin(&'static str),
}

/// One zone to load.
#[derive(Clone, Debug)]
pub struct ZonePlan {
    /// Origin, presentation format.
    pub name: String,
    /// Source.
    pub source: ZoneSource,
    /// Transfer ACL.
    pub acl: Acl,
    /// Semantic-check policy (`semantic-checks`).
    pub checks: Checks,
}

/// The zone name of a file in a zones directory: `example.com.zone` is
/// `example.com.`, `example.zone` is `example.`; the root zone's file is
/// `.zone` (its origin `.` followed by `zone`, the rule every other name
/// follows) or `root.zone`.
pub fn origin_of_file(file_name: &str) -> Option<String> {
    let base = file_name.strip_suffix("zone")?;
    if file_name == "root.zone" || file_name == ".zone" {
        return Some(".".into());
    }
    if !base.ends_with('.') || base.len() < 2 || base.starts_with('.') {
        return None;
    }
    Some(base.to_string())
}

/// The semantic-check policy of a configured zone.
pub fn checks_of(cfg: &Config, zone: Option<&levee_config::ZoneConfig>) -> Checks {
    match zone.and_then(|z| z.semantic_checks).unwrap_or(cfg.semantic_checks) {
        levee_config::SemanticChecks::Warn => Checks::Warn,
        levee_config::SemanticChecks::Strict => Checks::Strict,
    }
}

/// Lists the zones of a configuration: the zones directory's files, the
/// `[[zone]]` entries, or the built-in examples when there is neither.
pub fn plan(cfg: &Config, use_builtin: bool) -> Result<Vec<ZonePlan>, String> {
    let mut out: Vec<ZonePlan> = Vec::new();
    if let Some(dir) = &cfg.zones_dir {
        let rd = std::fs::read_dir(dir).map_err(|e| format!("zones directory {}: {e}", dir.display()))?;
        let mut files: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
        files.sort();
        for f in files {
            let Some(fname) = f.file_name().and_then(|n| n.to_str()) else { continue };
            if !f.is_file() {
                continue;
            }
            if let Some(origin) = origin_of_file(fname) {
                if let Some(other) = out.iter().find(|p| p.name == origin) {
                    let ZoneSource::File(o) = &other.source else { continue };
                    return Err(format!(
                        "zones directory {}: {} and {} are both the zone {origin}; remove one",
                        dir.display(),
                        o.display(),
                        f.display()
                    ));
                }
                out.push(ZonePlan {
                    name: origin,
                    source: ZoneSource::File(f.clone()),
                    acl: Acl::none(),
                    checks: checks_of(cfg, None),
                });
            }
        }
    }
    for z in &cfg.zones {
        if !z.repl.primaries.is_empty() {
            continue; // secondary zones are loaded by crate::repl
        }
        let acl = acl_of(z);
        let checks = checks_of(cfg, Some(z));
        match out.iter_mut().find(|p| p.name.eq_ignore_ascii_case(&z.name)) {
            Some(p) => {
                if let Some(f) = &z.file {
                    p.source = ZoneSource::File(f.clone());
                }
                p.acl = acl;
                p.checks = checks;
            }
            None => match &z.file {
                Some(f) => {
                    out.push(ZonePlan { name: z.name.clone(), source: ZoneSource::File(f.clone()), acl, checks })
                }
                None => {
                    if cfg.zones_dir.is_none() && !use_builtin {
                        return Err(format!("zone {} has no file and there is no zones directory", z.name));
                    }
                    if let Some((_, text)) =
                        BUILTIN.iter().find(|(n, _)| n.eq_ignore_ascii_case(&z.name)).filter(|_| use_builtin)
                    {
                        out.push(ZonePlan { name: z.name.clone(), source: ZoneSource::Builtin(text), acl, checks });
                    } else if cfg.zones_dir.is_some() {
                        return Err(format!("zone {}: no file {}zone in the zones directory", z.name, z.name));
                    }
                }
            },
        }
    }
    if use_builtin {
        for (n, text) in BUILTIN {
            if !out.iter().any(|p| p.name.eq_ignore_ascii_case(n)) {
                let z = cfg.zones.iter().find(|z| z.name.eq_ignore_ascii_case(n));
                let acl = z.map(acl_of).unwrap_or_default();
                out.push(ZonePlan {
                    name: n.to_string(),
                    source: ZoneSource::Builtin(text),
                    acl,
                    checks: checks_of(cfg, z),
                });
            }
        }
    }
    Ok(out)
}

fn acl_of(z: &levee_config::ZoneConfig) -> Acl {
    let mut a = Acl::none();
    for &(ip, len) in &z.allow_transfer {
        a.push(ip, len);
    }
    crate::repl::add_rules(&mut a, &z.repl.transfer_keyed);
    a
}

/// Loads one zone (warnings are logged; errors come back with
/// file:line); with the version being served (`previous`), a reload
/// from a file is incremental when it can be: unchanged parts of the zone
/// are shared with `previous` (levee-zone's `reload`).
pub fn load_one_from(p: &ZonePlan, previous: Option<&levee_zone::Zone>) -> Result<ZoneEntry, Vec<Diagnostic>> {
    let origin = name::from_text(&p.name, None).map_err(|e| {
        vec![Diagnostic { file: p.name.clone(), line: 0, message: format!("bad zone name: {e}"), warning: false }]
    })?;
    let built = match &p.source {
        ZoneSource::File(f) => {
            let t0 = std::time::Instant::now();
            let progress = &mut |n: u64| {
                let rate = n as f64 / t0.elapsed().as_secs_f64().max(1e-3);
                tracing::info!(zone = %p.name, records = n, per_second = rate as u64, "loading");
            };
            match previous {
                Some(old) => {
                    let opts = levee_zone::ReloadOptions { checks: p.checks, ..Default::default() };
                    let r = levee_zone::reload_with(old, Source::File(f), &origin, progress, opts)?;
                    match &r.kind {
                        levee_zone::ReloadKind::Incremental { rebuilt, kept } => {
                            tracing::info!(zone = %p.name, rebuilt, kept, "incremental reload")
                        }
                        levee_zone::ReloadKind::Full(why) => {
                            tracing::info!(zone = %p.name, reason = %why, "full reload (old and new zone in memory together)")
                        }
                    }
                    r.built
                }
                None => levee_zone::load_checked(Source::File(f), &origin, p.checks, progress)?,
            }
        }
        ZoneSource::Builtin(text) => levee_zone::load_checked(
            Source::Memory { name: &format!("<built-in {}zone>", p.name), data: text.as_bytes() },
            &origin,
            p.checks,
            &mut |_| {},
        )?,
    };
    for w in &built.warnings {
        tracing::warn!("{w}");
    }
    Ok(ZoneEntry::new(Arc::new(built.zone), p.acl.clone()))
}

/// Loads every planned zone into a new set. A zone that fails keeps its
/// entry from `previous` (if any) and its errors are logged; a zone that
/// has never loaded stays in the set as unavailable, answered SERVFAIL
/// (as Knot DNS, NSD and BIND answer for a configured zone they cannot
/// serve), not REFUSED as if it were not configured.
pub fn load_all(plans: &[ZonePlan], previous: Option<&ZoneSet>) -> (ZoneSet, usize) {
    let mut set = ZoneSet::new();
    let mut failed = 0;
    for p in plans {
        let started = std::time::Instant::now();
        let prev_zone = previous.and_then(|prev| {
            let l = name::from_text(&p.name, None).ok()?;
            prev.exact(&name::to_lowercase(&l)).filter(|e| !e.expired).map(|e| Arc::clone(&e.zone))
        });
        match load_one_from(p, prev_zone.as_deref()) {
            Ok(e) => {
                tracing::info!(
                    zone = %p.name,
                    serial = e.zone.serial(),
                    records = e.zone.record_count(),
                    ms = started.elapsed().as_millis() as u64,
                    "zone loaded"
                );
                set.insert(e);
            }
            Err(diags) => {
                failed += 1;
                for d in diags.iter().filter(|d| !d.warning) {
                    tracing::error!("{d}");
                }
                let Ok(lname) = name::from_text(&p.name, None).map(|n| name::to_lowercase(&n)) else {
                    tracing::error!(zone = %p.name, "zone failed to load and is not served");
                    continue;
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
    }
    (set, failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names() {
        assert_eq!(origin_of_file("example.com.zone").as_deref(), Some("example.com."));
        assert_eq!(origin_of_file("example.zone").as_deref(), Some("example."));
        assert_eq!(origin_of_file("root.zone").as_deref(), Some("."));
        assert_eq!(origin_of_file(".zone").as_deref(), Some("."));
        assert_eq!(origin_of_file("examplezone"), None);
        assert_eq!(origin_of_file("notes.txt"), None);
        assert_eq!(origin_of_file("..zone"), None);
    }

    #[test]
    fn builtin_zones_load() {
        for (n, text) in BUILTIN {
            let p = ZonePlan {
                name: n.to_string(),
                source: ZoneSource::Builtin(text),
                acl: Acl::none(),
                checks: Checks::Warn,
            };
            assert!(load_one_from(&p, None).is_ok(), "{n}");
        }
    }
}
