//! Finding and loading the zones a configuration names.
//!
//! Loads run on the load's threads ([`crate::zones::pool`], several
//! zones at once) under the budgets of `[load]` (octets and records per
//! zone, checked by the parser) and a watch over each zone's file-system
//! calls: a `stat`, `open` or `read` that hangs for `read-timeout`
//! seconds (a dead network file system) abandons that zone's load, which
//! then fails like a broken file (its served version stays) while its
//! thread is left behind. A panic while loading, which the parser is
//! built never to raise, also fails only that zone. Nothing here holds
//! the publish lock: callers load first and publish after. [`crate::zones::pool::load_all`]
//! logs and inserts the results in the plans' order.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use levee_config::repl::AclRule;
use levee_config::Config;
use levee_wire::name;
use levee_wire::serial::Serial;
use levee_zone::{Acl, Checks, Diagnostic, LoadOptions, Source, ZoneEntry};

/// The example zones built into the binary (served when `levee serve` runs
/// without a configuration or zones directory).
pub const BUILTIN: &[(&str, &str)] = &[
    ("example.com.", include_str!("../../../../examples/zones/example.com.zone")),
    ("example.net.", include_str!("../../../../examples/zones/example.net.zone")),
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
    /// Refuse a reload whose data changed while the serial did not increase.
    pub serial_must_increase: bool,
    /// Signed online (`dnssec-signing`): how.
    pub sign: Option<crate::zones::sign::SignPlan>,
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
    // The plans by lower-case name (the first of a name): a lookup per
    // zone instead of a scan of the plans made so far, which made 100,000
    // zones (a zones directory, or as many [[zone]]s) quadratic: 20,000
    // zone files took 27.7 s to start, 87 % of it here.
    let mut by_name: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    if let Some(dir) = &cfg.zones_dir {
        for f in zone_files(dir)? {
            let Some(fname) = f.file_name().and_then(|n| n.to_str()) else { continue };
            if let Some(origin) = origin_of_file(fname) {
                let first = by_name.get(&origin.to_ascii_lowercase()).map(|&i| &out[i]);
                if let Some(other) = first.filter(|p| p.name == origin) {
                    let ZoneSource::File(o) = &other.source else { continue };
                    return Err(format!(
                        "zones directory {}: {} and {} are both the zone {origin}; remove one",
                        dir.display(),
                        o.display(),
                        f.display()
                    ));
                }
                by_name.entry(origin.to_ascii_lowercase()).or_insert(out.len());
                out.push(ZonePlan {
                    name: origin,
                    source: ZoneSource::File(f.clone()),
                    acl: Acl::none(),
                    checks: checks_of(cfg, None),
                    serial_must_increase: false,
                    sign: None,
                });
            }
        }
    }
    for z in &cfg.zones {
        if !z.repl.primaries.is_empty() {
            continue; // secondary zones are loaded by crate::repl
        }
        if z.catalog_role == Some(levee_config::catalog::CatalogRole::Generate) {
            continue; // written by levee: crate::provision::producer
        }
        let acl = acl_of(z);
        let checks = checks_of(cfg, Some(z));
        let serial_must_increase = z.serial_must_increase;
        match by_name.get(&z.name.to_ascii_lowercase()).map(|&i| &mut out[i]) {
            Some(p) => {
                if let Some(f) = &z.file {
                    p.source = ZoneSource::File(f.clone());
                }
                p.acl = acl;
                p.checks = checks;
                p.serial_must_increase = serial_must_increase;
            }
            None => match &z.file {
                Some(f) => {
                    by_name.entry(z.name.to_ascii_lowercase()).or_insert(out.len());
                    out.push(ZonePlan {
                        name: z.name.clone(),
                        source: ZoneSource::File(f.clone()),
                        acl,
                        checks,
                        serial_must_increase,
                        sign: None,
                    })
                }
                None => {
                    if cfg.zones_dir.is_none() && !use_builtin {
                        return Err(format!("zone {} has no file and there is no zones directory", z.name));
                    }
                    if let Some((_, text)) =
                        BUILTIN.iter().find(|(n, _)| n.eq_ignore_ascii_case(&z.name)).filter(|_| use_builtin)
                    {
                        by_name.entry(z.name.to_ascii_lowercase()).or_insert(out.len());
                        out.push(ZonePlan {
                            name: z.name.clone(),
                            source: ZoneSource::Builtin(text),
                            acl,
                            checks,
                            serial_must_increase,
                            sign: None,
                        });
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
                    serial_must_increase: false,
                    sign: None,
                });
            }
        }
    }
    // The signed zones by lower-case name: a search of the configuration
    // per plan made 100,000 [[zone]]s quadratic.
    let signed: std::collections::HashMap<String, &levee_config::ZoneConfig> =
        cfg.zones.iter().filter(|z| z.dnssec.is_some()).map(|z| (z.name.to_ascii_lowercase(), z)).collect();
    if !signed.is_empty() {
        for p in &mut out {
            let z = signed.get(&p.name.to_ascii_lowercase());
            p.sign = z.and_then(|z| crate::zones::sign::SignPlan::of_zone(cfg, z));
        }
    }
    Ok(out)
}

/// The regular files of a zones directory (or links to one), sorted by
/// name. The directory's own file types say which entries are regular
/// files (a `stat` only for a link or a file system that does not say):
/// a `stat` per file and sorting whole paths were a tenth of the start
/// with 100,000 small zones.
fn zone_files(dir: &std::path::Path) -> Result<Vec<PathBuf>, String> {
    let rd = std::fs::read_dir(dir).map_err(|e| format!("zones directory {}: {e}", dir.display()))?;
    let mut names: Vec<std::ffi::OsString> = Vec::new();
    for e in rd.flatten() {
        let regular = match e.file_type() {
            Ok(t) if t.is_file() => true,
            Ok(t) if t.is_dir() => false,
            _ => e.path().is_file(),
        };
        if regular {
            names.push(e.file_name());
        }
    }
    // One directory: the order of the paths is the order of the names.
    names.sort_unstable();
    Ok(names.into_iter().map(|n| dir.join(n)).collect())
}

/// The transfer ACL of a configured zone.
pub fn acl_of(z: &levee_config::ZoneConfig) -> Acl {
    let mut a = Acl::none();
    for &(ip, len) in &z.allow_transfer {
        a.push(ip, len);
    }
    add_rules(&mut a, &z.repl.transfer_keyed);
    a
}

/// Adds configured ACL rules (keyed or not) to an ACL.
pub fn add_rules(a: &mut Acl, rules: &[AclRule]) {
    for r in rules {
        if let Some(n) = &r.tls_client {
            let key = r.key.as_ref().and_then(|k| name::from_text(k, Some(b"\x00")).ok());
            a.push_tls(r.prefix, key.as_deref(), n);
            continue;
        }
        match &r.key {
            Some(k) => {
                if let Ok(n) = name::from_text(k, Some(b"\x00")) {
                    a.push_keyed(r.prefix, &n);
                }
            }
            None => {
                if let Some((ip, len)) = r.prefix {
                    a.push(ip, len);
                }
            }
        }
    }
}

/// Whether two zone names in presentation form are the same zone (case
/// and a final dot aside).
pub fn same_zone(a: &str, b: &str) -> bool {
    let a = a.trim_end_matches('.');
    let b = b.trim_end_matches('.');
    a.eq_ignore_ascii_case(b)
}

/// Loads one zone (warnings are logged; errors come back with
/// file:line); with the version being served (`previous`), a reload
/// from a file is incremental when it can be: unchanged parts of the zone
/// are shared with `previous` (levee-zone's `reload`).
pub fn load_one_from(
    p: &ZonePlan,
    previous: Option<&Arc<levee_zone::Zone>>,
    opts: &LoadOptions,
) -> Result<ZoneEntry, Vec<Diagnostic>> {
    let origin = name::from_text(&p.name, None).map_err(|e| {
        vec![Diagnostic { file: p.name.clone(), line: 0, message: format!("bad zone name: {e}"), warning: false }]
    })?;
    if let (Some(s), Some(old), ZoneSource::File(f)) = (&p.sign, previous, &p.source) {
        // A signed zone's change is signed on the served version when it
        // can be (`zones::incsign`); else it is signed in full below.
        match crate::zones::sign::incremental(&p.name, p.checks, s, old, Source::File(f), opts)? {
            Some(crate::zones::sign::Patched::New(b, diff)) => {
                for w in &b.warnings {
                    tracing::warn!("{w}");
                }
                // The difference rides along in the entry's journal, for
                // `replication::primary::after_reload` to record.
                let mut j = levee_zone::journal::Journal::new();
                j.push(diff, crate::clock::wall(), levee_zone::journal::Limits::default());
                let e = ZoneEntry::new(Arc::new(b.zone), p.acl.clone());
                return Ok(ZoneEntry { journal: Some(Arc::new(j)), ..e });
            }
            Some(crate::zones::sign::Patched::Unchanged) => return Ok(ZoneEntry::new(Arc::clone(old), p.acl.clone())),
            None => {}
        }
    }
    let built = match &p.source {
        ZoneSource::File(f) => {
            let t0 = Instant::now();
            let progress = &mut |n: u64| {
                let rate = n as f64 / t0.elapsed().as_secs_f64().max(1e-3);
                tracing::info!(zone = %p.name, records = n, per_second = rate as u64, "loading");
            };
            // A signed zone's served version is not what its file holds:
            // it is loaded whole and signed again (keeping what it can).
            match previous.filter(|_| p.sign.is_none()) {
                Some(old) => {
                    let r = levee_zone::reload_with_budget(
                        old,
                        Source::File(f),
                        &origin,
                        progress,
                        levee_zone::ReloadOptions { checks: p.checks, ..Default::default() },
                        opts,
                    )?;
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
                None => levee_zone::load_with(Source::File(f), &origin, opts, build_options(p, f), progress)?,
            }
        }
        ZoneSource::Builtin(text) => levee_zone::load_with(
            Source::Memory { name: &format!("<built-in {}zone>", p.name), data: text.as_bytes() },
            &origin,
            opts,
            p.checks,
            &mut |_| {},
        )?,
    };
    let built = match &p.sign {
        None => built,
        Some(s) => match crate::zones::sign::sign(&p.name, p.checks, s, built, previous.map(|z| &**z))? {
            crate::zones::sign::Signed::New(b) => b,
            crate::zones::sign::Signed::Unchanged => match previous {
                Some(old) => return Ok(ZoneEntry::new(Arc::clone(old), p.acl.clone())),
                None => {
                    let message = "internal error: no signed version to keep".to_string();
                    return Err(vec![Diagnostic { file: file_of(p), line: 0, message, warning: false }]);
                }
            },
        },
    };
    for w in &built.warnings {
        tracing::warn!("{w}");
    }
    Ok(ZoneEntry::new(Arc::new(built.zone), p.acl.clone()))
}

/// How the zone file `f` of `p` is built: a zone levee signs gets the
/// small segments of a signed zone (`zones::sign::segment_names`, for
/// the records its size suggests, some 40 octets each), so that the
/// signed version, which shares the unsigned one's segments, has them.
fn build_options(p: &ZonePlan, f: &std::path::Path) -> levee_zone::BuildOptions {
    let mut b = levee_zone::BuildOptions::from(p.checks);
    if p.sign.is_some() {
        let records = std::fs::metadata(f).map_or(0, |m| m.len() / 40);
        b.segment_names = crate::zones::sign::segment_names(records);
    }
    b
}

/// At start: every signed zone's keys are read (or made); any key file
/// that cannot be used stops the start, naming the file.
pub fn prepare_keys(cfg: &Config, plans: &[ZonePlan]) -> Result<(), String> {
    for p in plans {
        if let Some(s) = &p.sign {
            crate::zones::sign::zone_keys(s, &p.name, Some(cfg))
                .map_err(|e| format!("zone {}: DNSSEC keys: {e}", p.name))?;
        }
    }
    // Zones signed in transit (secondary zones with dnssec-signing).
    for z in cfg.zones.iter().filter(|z| !z.repl.primaries.is_empty()) {
        if let Some(s) = crate::zones::sign::SignPlan::of_zone(cfg, z) {
            crate::zones::sign::zone_keys(&s, &z.name, Some(cfg))
                .map_err(|e| format!("zone {}: DNSSEC keys: {e}", z.name))?;
        }
    }
    Ok(())
}

/// The file a plan reads, for diagnostics.
pub(crate) fn file_of(p: &ZonePlan) -> String {
    match &p.source {
        ZoneSource::File(f) => f.display().to_string(),
        ZoneSource::Builtin(_) => format!("<built-in {}zone>", p.name),
    }
}

/// A new version whose data differs from the served one while its serial
/// did not increase: a warning, or (with `serial-must-increase`) an error
/// that keeps the served version.
pub(crate) fn check_serial(
    p: &ZonePlan,
    old: &levee_zone::Zone,
    new: &levee_zone::Zone,
) -> Result<(), Vec<Diagnostic>> {
    if Serial(new.serial()) > Serial(old.serial()) || new.same_data(old) {
        return Ok(());
    }
    let how = if new.serial() == old.serial() { "did not change" } else { "went down" };
    let message = format!(
        "the zone's data changed but its SOA serial {how} ({} -> {}); secondaries will not see the change",
        old.serial(),
        new.serial()
    );
    if p.serial_must_increase {
        return Err(vec![Diagnostic {
            file: file_of(p),
            line: 0,
            message: format!("{message}; refused (serial-must-increase)"),
            warning: false,
        }]);
    }
    tracing::warn!(zone = %p.name, old = old.serial(), new = new.serial(), "{message}");
    Ok(())
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
                serial_must_increase: false,
                sign: None,
            };
            assert!(load_one_from(&p, None, &LoadOptions::default()).is_ok(), "{n}");
        }
    }
}
