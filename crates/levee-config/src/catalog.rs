//! Catalog zones (RFC 9432) and runtime zones: the zone keys
//! `catalog-role`, `catalog-template`, `catalog-zone`, `catalog-group`,
//! the `[[catalog-template]]` sections and the bounds in `[server]`.
//! The names are Knot DNS's, so an operator coming from Knot finds them:
//!
//! ```toml
//! [server]
//! storage-dir = "/var/lib/levee"
//! max-runtime-zones = 100000     # zones added while running (catalogs, API)
//! max-catalog-members = 100000   # members one consumed catalog may list
//!
//! # Consumer ("interpret"): the members of this secondary zone become
//! # secondary zones, with the settings of the template their group names.
//! [[zone]]
//! name = "catalog.example."
//! primaries = ["192.0.2.1:53 key k"]
//! catalog-role = "interpret"
//! catalog-template = ["default", "gold"]  # group "gold" -> "gold"; others -> the first
//!
//! [[catalog-template]]
//! name = "gold"
//! primaries = ["192.0.2.7:53 key k"]   # default: the catalog's primaries
//! allow-transfer = ["198.51.100.0/24"]  # default: none
//! allow-notify = ["192.0.2.7"]          # default: the catalog's allow-notify
//!
//! # Producer ("generate"): levee builds this zone from the zones that name it.
//! [[zone]]
//! name = "cat.example."
//! catalog-role = "generate"
//! allow-transfer = ["192.0.2.0/24"]
//! notify = ["192.0.2.2:53"]
//!
//! [[zone]]
//! name = "customer.example."
//! catalog-zone = "cat.example."
//! catalog-group = "gold"
//! ```
//!
//! A template named `default` needs no section: it is the catalog's own
//! primaries and `allow-notify`, no `allow-transfer`.

use serde::Deserialize;

use crate::repl::AclRule;
use crate::runtime::SemanticChecks;

// The lowered types live in `runtime` (the runtime form names them and
// must not name this module); their old paths stay.
pub use crate::runtime::{
    CatalogMember, CatalogRole, CatalogTemplate, DEFAULT_MAX_CATALOG_MEMBERS, DEFAULT_MAX_RUNTIME_ZONES,
};

/// The template every catalog has without a section: see the module
/// documentation.
pub const DEFAULT_TEMPLATE: &str = "default";

/// `[[catalog-template]]` as written.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TemplateSpec {
    /// Name.
    pub name: String,
    /// Primaries of the members.
    pub primaries: Option<Vec<String>>,
    /// Transfer ACL of the members.
    #[serde(default)]
    pub allow_transfer: Vec<String>,
    /// NOTIFY ACL of the members.
    pub allow_notify: Option<Vec<String>>,
    /// Semantic checks of the members.
    pub semantic_checks: Option<String>,
}

/// Lowers the `[[catalog-template]]` list; an error is (key, message).
pub fn lower_templates(
    specs: &[TemplateSpec],
    keys: &[levee_tsig::Key],
) -> Result<Vec<CatalogTemplate>, (String, String)> {
    let mut out: Vec<CatalogTemplate> = Vec::new();
    for (i, s) in specs.iter().enumerate() {
        let at = |k: &str| format!("catalog-template[{i}].{k}");
        if s.name.is_empty() || out.iter().any(|t| t.name == s.name) {
            return Err((at("name"), format!("'{}' is empty or named twice", s.name)));
        }
        let mut t = CatalogTemplate {
            name: s.name.clone(),
            primaries: None,
            allow_transfer: Vec::new(),
            transfer_keyed: Vec::new(),
            allow_notify: None,
            semantic_checks: None,
        };
        if let Some(ps) = &s.primaries {
            let mut v = Vec::new();
            for (j, p) in ps.iter().enumerate() {
                v.push(crate::repl::parse_remote(p, keys).map_err(|m| (format!("{}[{j}]", at("primaries")), m))?);
            }
            if v.is_empty() {
                return Err((at("primaries"), "needs at least one primary (leave it out for the catalog's)".into()));
            }
            t.primaries = Some(v);
        }
        for (j, p) in s.allow_transfer.iter().enumerate() {
            match crate::repl::parse_rule(p, keys).map_err(|m| (format!("{}[{j}]", at("allow-transfer")), m))? {
                AclRule { prefix: Some(p), key: None, tls_client: None } => t.allow_transfer.push(p),
                rule => t.transfer_keyed.push(rule),
            }
        }
        if let Some(ns) = &s.allow_notify {
            let mut v = Vec::new();
            for (j, p) in ns.iter().enumerate() {
                v.push(crate::repl::parse_rule(p, keys).map_err(|m| (format!("{}[{j}]", at("allow-notify")), m))?);
            }
            t.allow_notify = Some(v);
        }
        t.semantic_checks = s
            .semantic_checks
            .as_deref()
            .map(SemanticChecks::parse)
            .transpose()
            .map_err(|m| (at("semantic-checks"), m))?;
        out.push(t);
    }
    Ok(out)
}

/// The catalog keys of one `[[zone]]` as written.
pub struct ZoneKeys<'a> {
    /// `catalog-role`.
    pub role: Option<&'a str>,
    /// `catalog-template`.
    pub templates: Option<&'a [String]>,
    /// `catalog-zone`.
    pub zone: Option<&'a str>,
    /// `catalog-group`.
    pub group: Option<&'a str>,
    /// The zone is a secondary (has primaries).
    pub secondary: bool,
    /// The zone has a `file`.
    pub file: bool,
}

/// Lowers one zone's catalog keys against the templates; an error is
/// (key after `zone[i].`, message). Whether `catalog-zone` names a
/// producing catalog is checked once every zone is read
/// ([`check_members`]).
pub fn lower_zone(
    k: &ZoneKeys,
    templates: &[CatalogTemplate],
) -> Result<(Option<CatalogRole>, Option<CatalogMember>), (String, String)> {
    let role = match k.role {
        None => {
            if k.templates.is_some() {
                return Err(("catalog-template".into(), "needs catalog-role = \"interpret\"".into()));
            }
            None
        }
        Some("interpret") => {
            if !k.secondary {
                let m = "a consumed catalog is a secondary zone: it needs primaries".into();
                return Err(("catalog-role".into(), m));
            }
            let names = k.templates.map_or_else(|| vec![DEFAULT_TEMPLATE.to_string()], <[String]>::to_vec);
            if names.is_empty() {
                return Err(("catalog-template".into(), "needs at least one template".into()));
            }
            for (j, n) in names.iter().enumerate() {
                if n != DEFAULT_TEMPLATE && !templates.iter().any(|t| &t.name == n) {
                    return Err((format!("catalog-template[{j}]"), format!("no [[catalog-template]] named {n}")));
                }
            }
            Some(CatalogRole::Interpret { templates: names })
        }
        Some("generate") => {
            if k.secondary || k.file {
                let m = "a produced catalog is written by levee: no file, no primaries".into();
                return Err(("catalog-role".into(), m));
            }
            if k.templates.is_some() {
                return Err(("catalog-template".into(), "is for catalog-role = \"interpret\"".into()));
            }
            Some(CatalogRole::Generate)
        }
        Some(r) => return Err(("catalog-role".into(), format!("'{r}' is not one of interpret, generate"))),
    };
    let member = match (k.zone, k.group) {
        (None, None) => None,
        (None, Some(_)) => return Err(("catalog-group".into(), "needs catalog-zone".into())),
        (Some(z), g) => {
            let catalog = crate::values::normalize_zone_name(z)
                .map_err(|m| ("catalog-zone".to_string(), m))?
                .to_ascii_lowercase();
            if g.is_some_and(|g| g.is_empty() || g.len() > 255) {
                return Err(("catalog-group".into(), "must be 1 to 255 octets".into()));
            }
            Some(CatalogMember { catalog, group: g.map(String::from) })
        }
    };
    if role.is_some() && member.is_some() {
        return Err(("catalog-zone".into(), "a catalog zone is not itself a member of a catalog".into()));
    }
    Ok((role, member))
}

/// Every `catalog-zone` names a zone with `catalog-role = "generate"`;
/// an error is (key, message).
pub fn check_members(zones: &[crate::ZoneConfig]) -> Result<(), (String, String)> {
    // The producers by lower-case name (one look-up per member, not a
    // scan of every zone: 100,000 members were quadratic).
    let producers: std::collections::HashSet<String> = zones
        .iter()
        .filter(|c| c.catalog_role == Some(CatalogRole::Generate))
        .map(|c| c.name.to_ascii_lowercase())
        .collect();
    for (i, z) in zones.iter().enumerate() {
        let Some(m) = &z.catalog_member else { continue };
        if !producers.contains(&m.catalog.to_ascii_lowercase()) {
            let msg = format!("no [[zone]] {} with catalog-role = \"generate\"", m.catalog);
            return Err((format!("zone[{i}].catalog-zone"), msg));
        }
    }
    Ok(())
}
