//! The registry of runtime zones: what they are (`Kind`, `RuntimeZone`),
//! the changes asked of it (`Op`), the produced catalogs' serials, and
//! the file `<storage-dir>/runtime-zones.json` they are kept in. Data
//! only: applying changes to the served zones is `provision` (its
//! `Registry::apply`), which depends on this module and never the other
//! way, so the daemon's `Center` can hold the registry.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use levee_config::catalog::{CatalogMember, CatalogRole};
use levee_config::{Config, ZoneConfig};
use levee_wire::name;
use serde_json::{json, Value};

use crate::storage;

/// The registry's file in the storage directory.
pub const FILE: &str = "runtime-zones.json";
/// Its format name and version.
const FORMAT: &str = "levee-runtime-zones";
const VERSION: u64 = 1;

/// What a runtime zone is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A member of a consumed catalog: a secondary zone with the settings
    /// of the catalog's template for its group.
    CatalogMember {
        /// The catalog (presentation form, lower case).
        catalog: String,
        /// Its unique id in the catalog.
        id: String,
        /// Its group, if any.
        group: Option<String>,
    },
    /// A primary zone whose data levee keeps in
    /// `<storage-dir>/<stem>primary` (zone text, written when it was
    /// added: [`Op::AddPrimary`]).
    Primary {
        /// Who may transfer it (the forms of `[[zone]] allow-transfer`).
        allow_transfer: Vec<String>,
    },
    /// A secondary zone with its own settings, in the forms of
    /// `[[zone]] primaries`, `allow-transfer` and `allow-notify`.
    Secondary {
        /// Where it transfers from (at least one).
        primaries: Vec<String>,
        /// Who may transfer it from us.
        allow_transfer: Vec<String>,
        /// Who may NOTIFY it.
        allow_notify: Vec<String>,
    },
}

/// One runtime zone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuntimeZone {
    /// Its name, presentation form, lower case, absolute.
    pub name: String,
    /// What it is.
    pub kind: Kind,
    /// The produced catalog listing it (`catalog-zone`), if any.
    pub member_of: Option<CatalogMember>,
}

/// A change to the registry.
#[derive(Clone, Debug)]
pub enum Op {
    /// Adds a zone (refused if the name is served already).
    Add(RuntimeZone),
    /// Adds a primary zone ([`Kind::Primary`]) from zone text (no
    /// `$INCLUDE`; the `[load]` budgets apply); text that does not load
    /// is refused with its `LINE: message` errors and nothing changes.
    AddPrimary(RuntimeZone, String),
    /// Removes a zone and its stored data.
    Remove(String),
    /// Replaces a zone's settings, keeping its data (a member's group
    /// changed, or it moved to another catalog).
    Change(RuntimeZone),
    /// Drops a zone's data and transfers it anew (a member's unique id
    /// changed: RFC 9432 §5.5).
    Reset(RuntimeZone),
}

/// A produced catalog's serial and the digest of the member list it
/// was made for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Produced {
    /// The serial served.
    pub serial: u32,
    /// Hex digest of its members.
    pub digest: String,
}

#[derive(Default)]
pub(crate) struct State {
    pub(crate) zones: BTreeMap<String, RuntimeZone>,
    pub(crate) produced: BTreeMap<String, Produced>,
}

/// The runtime zones (see the module documentation).
pub struct Registry {
    path: Option<PathBuf>,
    pub(crate) max: usize,
    state: Mutex<State>,
    /// One batch of changes at a time (catalogs, API).
    pub(crate) changing: Mutex<()>,
    /// Batches waiting for `changing`, each with the slot its results go
    /// to: whoever takes the lock applies every batch queued so far as
    /// one (`Registry::apply`: a group commit).
    pub(crate) queue: Mutex<Vec<Queued>>,
}

/// A batch of ops waiting to be applied, and where its results go.
pub(crate) type Queued = (Vec<Op>, std::sync::Arc<std::sync::OnceLock<Vec<Result<(), String>>>>);

/// The lower-case presentation form of a zone name.
pub fn canonical(n: &str) -> Option<String> {
    let w = name::from_text(n, None).ok()?;
    Some(name::to_text(name::to_lowercase(w.as_slice()).as_slice()))
}

pub(crate) fn apex_of(n: &str) -> Option<Vec<u8>> {
    name::from_text(n, None).ok().map(|w| name::to_lowercase(w.as_slice()).as_slice().to_vec())
}

impl Registry {
    /// Reads the registry of `cfg`'s storage directory (empty when there
    /// is no file or no directory); a damaged file is an error naming it.
    pub fn open(cfg: &Config) -> Result<Registry, String> {
        let path = cfg.storage_dir.as_ref().map(|d| d.join(FILE));
        let state = match &path {
            Some(p) => read(p)?,
            None => State::default(),
        };
        Ok(Registry {
            path,
            max: cfg.max_runtime_zones,
            state: Mutex::new(state),
            changing: Mutex::new(()),
            queue: Mutex::new(Vec::new()),
        })
    }

    pub(crate) fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every runtime zone, by name.
    pub fn list(&self) -> Vec<RuntimeZone> {
        self.state().zones.values().cloned().collect()
    }

    /// The runtime zone `name`, if there is one.
    pub fn get(&self, zone: &str) -> Option<RuntimeZone> {
        self.state().zones.get(&canonical(zone)?).cloned()
    }

    /// How many runtime zones there are.
    pub(crate) fn len(&self) -> usize {
        self.state().zones.len()
    }

    /// Whether `server.max-runtime-zones` is reached (an addition would
    /// be refused).
    pub fn is_full(&self) -> bool {
        self.len() >= self.max
    }

    /// ` runtime=catalog:CATALOG` (a member of a consumed catalog) or
    /// ` runtime=secondary` for `levee ctl zone-status`; empty for a
    /// configured zone.
    pub fn status_field(&self, zone: &str) -> String {
        match self.get(zone).map(|z| z.kind) {
            Some(Kind::CatalogMember { catalog, .. }) => format!(" runtime=catalog:{catalog}"),
            Some(Kind::Secondary { .. }) => " runtime=secondary".into(),
            Some(Kind::Primary { .. }) => " runtime=primary".into(),
            None => String::new(),
        }
    }

    /// A produced catalog's recorded serial and digest.
    pub fn produced(&self, catalog: &str) -> Option<Produced> {
        self.state().produced.get(catalog).cloned()
    }

    /// Records a produced catalog's serial and digest (written at once).
    pub fn set_produced(&self, catalog: &str, p: Produced) -> Result<(), String> {
        let mut st = self.state();
        st.produced.insert(catalog.to_string(), p);
        self.save(&st)
    }

    /// Records a produced catalog's serial and digest in memory (the
    /// caller writes the file: `Registry::apply`).
    pub fn note_produced(&self, catalog: &str, p: Produced) {
        self.state().produced.insert(catalog.to_string(), p);
    }

    pub(crate) fn save(&self, st: &State) -> Result<(), String> {
        let Some(p) = &self.path else { return Ok(()) };
        let text = encode(st);
        storage::write_atomic(p, |w| w.write_all(text.as_bytes())).map_err(|e| format!("{}: {e}", p.display()))
    }

    /// The apexes of the runtime primary zones (a reload keeps them).
    pub fn primary_apexes(&self) -> Vec<Vec<u8>> {
        let st = self.state();
        st.zones.values().filter(|z| matches!(z.kind, Kind::Primary { .. })).filter_map(|z| apex_of(&z.name)).collect()
    }
}

/// The zones of `cfg` that are produced catalogs (`catalog-role = "generate"`).
pub fn produced(cfg: &Config) -> impl Iterator<Item = &ZoneConfig> {
    cfg.zones.iter().filter(|z| z.catalog_role == Some(CatalogRole::Generate))
}

/// The apexes of the produced catalogs (a reload keeps them).
pub fn produced_apexes(cfg: &Config) -> Vec<Vec<u8>> {
    produced(cfg).filter_map(|z| apex_of(&z.name)).collect()
}

/// Whether `apex` (wire, lower case) is a consumed catalog
/// (`catalog-role = "interpret"`).
pub fn is_consumed(cfg: &Config, apex: &[u8]) -> bool {
    cfg.zones.iter().any(|z| {
        matches!(z.catalog_role, Some(CatalogRole::Interpret { .. })) && apex_of(&z.name).as_deref() == Some(apex)
    })
}

//------------ the file -----------------------------------------------------------

/// The names of the runtime zones the registry file of storage directory
/// `dir` holds (none if it cannot be read: the start reports that).
pub fn stored_names(dir: &Path) -> Vec<String> {
    read(&dir.join(FILE)).map(|st| st.zones.into_keys().collect()).unwrap_or_default()
}

fn encode(st: &State) -> String {
    let zones: Vec<Value> = st
        .zones
        .values()
        .map(|z| {
            let mut v = match &z.kind {
                Kind::CatalogMember { catalog, id, group } => {
                    json!({"name": z.name, "kind": "catalog-member", "catalog": catalog, "id": id, "group": group})
                }
                Kind::Secondary { primaries, allow_transfer, allow_notify } => json!({
                    "name": z.name, "kind": "secondary", "primaries": primaries,
                    "allow-transfer": allow_transfer, "allow-notify": allow_notify
                }),
                Kind::Primary { allow_transfer } => {
                    json!({"name": z.name, "kind": "primary", "allow-transfer": allow_transfer})
                }
            };
            if let Some(m) = &z.member_of {
                v["catalog-zone"] = json!(m.catalog);
                v["catalog-group"] = json!(m.group);
            }
            v
        })
        .collect();
    let produced: serde_json::Map<String, Value> =
        st.produced.iter().map(|(k, p)| (k.clone(), json!({"serial": p.serial, "digest": p.digest}))).collect();
    let v = json!({"format": FORMAT, "version": VERSION, "zones": zones, "produced": produced});
    let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
    s.push('\n');
    s
}

fn read(path: &Path) -> Result<State, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(State::default()),
        Err(e) => return Err(format!("{}: cannot be read: {e}", path.display())),
    };
    decode(&text).map_err(|e| {
        format!(
            "{}: {e}; the runtime zones cannot be restored (fix or move the file away to start without them)",
            path.display()
        )
    })
}

fn strings(v: &Value, key: &str) -> Result<Vec<String>, String> {
    match &v[key] {
        Value::Null => Ok(Vec::new()),
        Value::Array(a) => {
            a.iter().map(|s| s.as_str().map(String::from).ok_or(format!("{key}: not a string"))).collect()
        }
        _ => Err(format!("{key}: not a list")),
    }
}

fn opt_str(v: &Value, key: &str) -> Result<Option<String>, String> {
    match &v[key] {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        _ => Err(format!("{key}: not a string")),
    }
}

fn decode(text: &str) -> Result<State, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("damaged (not JSON: {e})"))?;
    if v["format"] != FORMAT {
        return Err(format!("not a {FORMAT} file"));
    }
    if v["version"] != VERSION {
        return Err(format!("version {} is not the {VERSION} this levee reads", v["version"]));
    }
    let mut st = State::default();
    let zones = v["zones"].as_array().ok_or("damaged: no zones list")?;
    for (i, z) in zones.iter().enumerate() {
        let at = |e: String| format!("damaged: zones[{i}]: {e}");
        let n = z["name"].as_str().and_then(canonical).ok_or_else(|| at("no valid name".into()))?;
        let kind = match z["kind"].as_str() {
            Some("catalog-member") => Kind::CatalogMember {
                catalog: opt_str(z, "catalog").map_err(at)?.ok_or_else(|| at("no catalog".into()))?,
                id: opt_str(z, "id").map_err(at)?.ok_or_else(|| at("no id".into()))?,
                group: opt_str(z, "group").map_err(at)?,
            },
            Some("primary") => Kind::Primary { allow_transfer: strings(z, "allow-transfer").map_err(at)? },
            Some("secondary") => Kind::Secondary {
                primaries: strings(z, "primaries").map_err(at)?,
                allow_transfer: strings(z, "allow-transfer").map_err(at)?,
                allow_notify: strings(z, "allow-notify").map_err(at)?,
            },
            _ => return Err(at("unknown kind".into())),
        };
        let member_of = match opt_str(z, "catalog-zone").map_err(at)? {
            Some(catalog) => Some(CatalogMember { catalog, group: opt_str(z, "catalog-group").map_err(at)? }),
            None => None,
        };
        st.zones.insert(n.clone(), RuntimeZone { name: n, kind, member_of });
    }
    if let Some(p) = v["produced"].as_object() {
        for (k, p) in p {
            let serial = p["serial"].as_u64().and_then(|s| u32::try_from(s).ok()).ok_or("damaged: produced serial")?;
            let digest = p["digest"].as_str().ok_or("damaged: produced digest")?.to_string();
            st.produced.insert(k.clone(), Produced { serial, digest });
        }
    }
    Ok(st)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_reads_back_what_was_written() {
        let mut st = State::default();
        let a = RuntimeZone {
            name: "a.example.".into(),
            kind: Kind::CatalogMember { catalog: "cat.".into(), id: "x1".into(), group: Some("gold".into()) },
            member_of: None,
        };
        let b = RuntimeZone {
            name: "b.example.".into(),
            kind: Kind::Secondary {
                primaries: vec!["127.0.0.1:53 key k".into()],
                allow_transfer: vec!["10.0.0.0/8".into()],
                allow_notify: vec![],
            },
            member_of: Some(CatalogMember { catalog: "out.".into(), group: None }),
        };
        let c = RuntimeZone {
            name: "c.example.".into(),
            kind: Kind::Primary { allow_transfer: vec!["127.0.0.1 key k".into()] },
            member_of: None,
        };
        st.zones.insert(a.name.clone(), a.clone());
        st.zones.insert(b.name.clone(), b.clone());
        st.zones.insert(c.name.clone(), c.clone());
        st.produced.insert("out.".into(), Produced { serial: 7, digest: "ab".into() });
        let back = decode(&encode(&st)).unwrap();
        assert_eq!(back.zones.values().cloned().collect::<Vec<_>>(), vec![a, b, c]);
        assert_eq!(back.produced["out."], Produced { serial: 7, digest: "ab".into() });
    }

    #[test]
    fn a_damaged_file_is_refused() {
        let good = encode(&State::default());
        for bad in [
            "{".to_string(),
            good.replace("\"version\": 1", "\"version\": 2"),
            good.replace(FORMAT, "other"),
            r#"{"format":"levee-runtime-zones","version":1,"zones":[{"name":"a.","kind":"tertiary"}]}"#.into(),
            r#"{"format":"levee-runtime-zones","version":1,"zones":[{"name":"a..","kind":"secondary"}]}"#.into(),
            r#"{"format":"levee-runtime-zones","version":1}"#.into(),
        ] {
            assert!(decode(&bad).is_err(), "{bad}");
        }
        assert!(decode(&good).is_ok());
    }
}
