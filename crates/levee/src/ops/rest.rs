//! The REST API, `/api/v1/` on the management listener (issue 19).
//!
//! | method and path                          | what                                        | needs       |
//! |------------------------------------------|---------------------------------------------|-------------|
//! | `GET /api/v1/zones`                      | the zones the token may see                 | read        |
//! | `POST /api/v1/zones`                     | create a runtime zone (201)                 | write, all zones |
//! | `GET /api/v1/zones/{zone}`               | one zone: kind, serial, signed, dynamic     | read        |
//! | `PUT /api/v1/zones/{zone}`               | whole-zone replacement (zone text body)     | write       |
//! | `DELETE /api/v1/zones/{zone}`            | delete a runtime zone                       | write, all zones |
//! | `PUT /api/v1/zones/{zone}/catalog`       | list a runtime zone in a produced catalog   | write, all zones |
//! | `DELETE /api/v1/zones/{zone}/catalog`    | take it out of the catalog                  | write, all zones |
//! | `GET /api/v1/zones/{zone}/rrsets`        | its RRsets (`?name=N&type=T`)               | read        |
//! | `PATCH /api/v1/zones/{zone}/rrsets`      | an atomic list of RRset changes             | write       |
//! | `GET /api/v1/tsig-keys`                  | key names and algorithms (never secrets)    | read, all zones |
//! | `GET /api/v1/openapi.json`               | the OpenAPI 3 document of these routes      | read        |
//!
//! [`ROUTES`] is the router's one table: [`route`] matches a request
//! against it, and a test checks that `openapi.json` describes exactly
//! its entries.
//!
//! **Who may do what.** The listener's Host, Origin and token checks run
//! first (`http::authorize`: a missing or unknown token 401, a read token
//! on a write 403). A token limited to zones (`[[management.token]]
//! zones`) then reaches only its zones: another zone is 403 (before any
//! lookup, so it cannot learn which zones exist), the zone list shows
//! only its zones, and `tsig-keys` needs a token for every zone.
//!
//! Creating, deleting and moving zones goes through the runtime zone
//! registry, not the update thread: see [`super::rest_zones`].
//!
//! **Every write is an update.** `PATCH` and `PUT` are parsed and checked
//! here, sans I/O (`parse_patch`, `parse_zone`), then handed to the
//! update thread as an `update::queue::Edit` on the same queue as RFC 2136
//! updates: evaluated against the served snapshot
//! (`levee_update::edit`), written to the zone's update log with
//! `fdatasync`, published, journaled for IXFR and announced by NOTIFY;
//! the reply (the new serial) comes only once the change is durable, so
//! an acknowledged write survives `kill -9`. Only dynamic zones take
//! writes (`allow-update`, or `api = "write"`); another zone: 409, a
//! runtime zone (created by the API, `levee ctl` or a catalog) too.
//!
//! **Validation.** Every 4xx body is `{"error": "...", "field": "..."}`,
//! the field named as in the request (`rrsets[2].records[0]`, `serial`,
//! `body`; a zone text error also gives `line`). A refused write changes
//! nothing. Bounds: [`MAX_BODY`] octets of body (413), [`MAX_RRSETS`]
//! changes per PATCH, [`MAX_RECORDS`] records per RRset (400).

use std::sync::Arc;
use std::time::Duration;

use levee_config::Config;
use levee_update::edit::{Change, Op};
use levee_wire::name;
use levee_wire::rtype;
use levee_zone::journal::{self, Rr};
use levee_zone::{Source, Zone, ZoneEntry, ZoneSet};
use serde_json::{json, Map, Value};

// The error type, bounds and parsers the zone routes share
// (`rest_common`, which names neither this module nor `rest_zones`); their
// paths here stay the API's (`rest::ApiError`, `rest::MAX_BODY`, ...).
use super::rest_common::{bad, query_param};
pub use super::rest_common::{owner, parse_rdata, rtype_of, zone_name, ApiError, MAX_BODY, MAX_RECORDS, MAX_RRSETS};
use crate::center::Center;
use crate::update::queue::{grants, Edit, EditError, EditKind, Edited, Updates};

/// How long a write waits for the update thread.
pub const WRITE_WAIT: Duration = Duration::from_secs(10);

/// The routes: method and path pattern (`{zone}` is one path segment).
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/api/v1/zones"),
    ("POST", "/api/v1/zones"),
    ("GET", "/api/v1/zones/{zone}"),
    ("PUT", "/api/v1/zones/{zone}"),
    ("DELETE", "/api/v1/zones/{zone}"),
    ("PUT", "/api/v1/zones/{zone}/catalog"),
    ("DELETE", "/api/v1/zones/{zone}/catalog"),
    ("GET", "/api/v1/zones/{zone}/rrsets"),
    ("PATCH", "/api/v1/zones/{zone}/rrsets"),
    ("GET", "/api/v1/tsig-keys"),
    ("GET", "/api/v1/openapi.json"),
];

/// The OpenAPI 3 document served at `/api/v1/openapi.json`.
pub const OPENAPI: &str = include_str!("openapi.json");

/// A matched route, with the zone of its path.
#[derive(Debug, PartialEq, Eq)]
pub enum Route<'a> {
    /// `GET /api/v1/zones`.
    Zones,
    /// `POST /api/v1/zones`.
    Create,
    /// `GET /api/v1/zones/{zone}`.
    Zone(&'a str),
    /// `DELETE /api/v1/zones/{zone}`.
    Delete(&'a str),
    /// `PUT /api/v1/zones/{zone}/catalog`.
    PutCatalog(&'a str),
    /// `DELETE /api/v1/zones/{zone}/catalog`.
    DeleteCatalog(&'a str),
    /// `PUT /api/v1/zones/{zone}`.
    PutZone(&'a str),
    /// `GET /api/v1/zones/{zone}/rrsets`.
    RRsets(&'a str),
    /// `PATCH /api/v1/zones/{zone}/rrsets`.
    Patch(&'a str),
    /// `GET /api/v1/tsig-keys`.
    TsigKeys,
    /// `GET /api/v1/openapi.json`.
    OpenApi,
}

/// Matches `method` and `path` against [`ROUTES`]: 404 for an unknown
/// path, 405 for a known path with another method.
pub fn route<'a>(method: &str, path: &'a str) -> Result<Route<'a>, ApiError> {
    let segs: Vec<&str> = path.split('/').collect();
    let mut path_known = false;
    for (m, pat) in ROUTES {
        let pseg: Vec<&str> = pat.split('/').collect();
        if pseg.len() != segs.len() {
            continue;
        }
        let mut zone = "";
        let fits = pseg.iter().zip(&segs).all(|(p, s)| match *p {
            "{zone}" if !s.is_empty() => {
                zone = s;
                true
            }
            _ => p == s,
        });
        if !fits {
            continue;
        }
        path_known = true;
        if *m != method {
            continue;
        }
        return Ok(match (*m, *pat) {
            ("GET", "/api/v1/zones") => Route::Zones,
            ("POST", "/api/v1/zones") => Route::Create,
            ("DELETE", "/api/v1/zones/{zone}") => Route::Delete(zone),
            ("PUT", "/api/v1/zones/{zone}/catalog") => Route::PutCatalog(zone),
            ("DELETE", "/api/v1/zones/{zone}/catalog") => Route::DeleteCatalog(zone),
            ("GET", "/api/v1/zones/{zone}") => Route::Zone(zone),
            ("PUT", "/api/v1/zones/{zone}") => Route::PutZone(zone),
            ("GET", "/api/v1/zones/{zone}/rrsets") => Route::RRsets(zone),
            ("PATCH", "/api/v1/zones/{zone}/rrsets") => Route::Patch(zone),
            ("GET", "/api/v1/tsig-keys") => Route::TsigKeys,
            _ => Route::OpenApi,
        });
    }
    if path_known {
        Err(ApiError::new(405, None, "method not allowed"))
    } else {
        Err(ApiError::new(404, None, "not found"))
    }
}

/// Whether a token limited to `zones` (empty: every zone) may use `apex`.
pub fn token_allows(zones: &[String], apex: &[u8]) -> bool {
    zones.is_empty() || {
        let text = name::to_text(apex).to_ascii_lowercase();
        zones.contains(&text)
    }
}

fn zone_config<'c>(cfg: &'c Config, apex: &[u8]) -> Option<&'c levee_config::ZoneConfig> {
    cfg.zones.iter().find(|z| zone_name(&z.name).is_ok_and(|n| n == apex))
}

/// Whether `apex` takes writes (a dynamic zone).
pub fn is_dynamic(cfg: &Config, apex: &[u8]) -> bool {
    grants(cfg).iter().any(|(a, _)| a.as_slice() == apex)
}

/// One zone as the API shows it (`runtime`: created by the API, `levee
/// ctl` or a catalog; `catalog`: the produced catalog listing it).
pub fn zone_info(e: &ZoneEntry, c: &Center) -> Value {
    let cfg = &c.cfg;
    let apex = e.zone.apex();
    let rt = c.registry.get(&name::to_text(apex));
    let secondary = match &rt {
        Some(z) => !matches!(z.kind, crate::provision::Kind::Primary { .. }),
        None => zone_config(cfg, apex).is_some_and(|z| !z.repl.primaries.is_empty()),
    };
    let member_of = match &rt {
        Some(z) => z.member_of.clone(),
        None => zone_config(cfg, apex).and_then(|z| z.catalog_member.clone()),
    };
    json!({
        "name": name::to_text(apex),
        "kind": if secondary { "secondary" } else { "primary" },
        "serial": e.zone.serial(),
        "signed": e.zone.is_signed(),
        "dynamic": is_dynamic(cfg, apex),
        "records": e.zone.record_count(),
        "expired": e.expired,
        "runtime": rt.is_some(),
        "catalog": member_of.as_ref().map(|m| &m.catalog),
        "group": member_of.as_ref().and_then(|m| m.group.as_ref()),
    })
}

/// `GET /api/v1/zones`: the zones a token limited to `zones` may see.
pub fn zones_list(set: &ZoneSet, c: &Center, zones: &[String]) -> Value {
    let list: Vec<Value> = set
        .entries()
        .iter()
        .filter(|e| !e.not_loaded && token_allows(zones, e.zone.apex()))
        .map(|e| zone_info(e, c))
        .collect();
    json!({ "zones": list })
}

/// The served entry of `apex`, or 404.
pub fn served<'s>(set: &'s ZoneSet, apex: &[u8]) -> Result<&'s ZoneEntry, ApiError> {
    set.exact(apex)
        .filter(|e| !e.not_loaded)
        .ok_or_else(|| ApiError::new(404, Some("zone"), format!("zone {} is not served", name::to_text(apex))))
}

/// A query-string parameter, with `%XX` escapes decoded.
fn param(query: Option<&str>, key: &str) -> Option<String> {
    let raw = query_param(query, key)?;
    let b = raw.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (b[i], b.get(i + 1).copied().and_then(hex), b.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b'+', _, _) => {
                out.push(b' ');
                i += 1;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// `GET /api/v1/zones/{zone}/rrsets[?name=N&type=T]`: the RRsets with
/// their records in presentation format.
pub fn rrsets_of(zone: &Zone, query: Option<&str>) -> Result<Value, ApiError> {
    let only_name = param(query, "name").map(|n| owner(&n, zone.apex(), "name")).transpose()?;
    let only_type = param(query, "type").map(|s| rtype_of(&s, "type")).transpose()?;
    let mut out = Vec::new();
    for (owner, id) in zone.all_rrsets() {
        let s = zone.rrset(id);
        if only_name.as_deref().is_some_and(|n| n != owner) || only_type.is_some_and(|ty| ty != s.rtype) {
            continue;
        }
        let records: Vec<String> = zone.rdatas(id).map(|rd| levee_zone::zonefile::rdata_to_text(s.rtype, rd)).collect();
        out.push(json!({
            "name": name::to_text(owner),
            "type": rtype::type_to_text(s.rtype),
            "ttl": s.ttl(),
            "records": records,
        }));
    }
    Ok(json!({ "zone": name::to_text(zone.apex()), "serial": zone.serial(), "rrsets": out }))
}

fn int(v: &Value, field: &str, max: u64) -> Result<u32, ApiError> {
    v.as_u64()
        .filter(|&n| n <= max)
        .map(|n| n as u32)
        .ok_or_else(|| bad(field, format!("must be an integer from 0 to {max}")))
}

fn string<'v>(v: Option<&'v Value>, field: &str) -> Result<&'v str, ApiError> {
    match v {
        None => Err(bad(field, "missing")),
        Some(v) => v.as_str().ok_or_else(|| bad(field, "must be a string")),
    }
}

fn only_keys(o: &Map<String, Value>, keys: &[&str], at: &str) -> Result<(), ApiError> {
    match o.keys().find(|k| !keys.contains(&k.as_str())) {
        Some(k) => Err(bad(&format!("{at}{k}"), "unknown field")),
        None => Ok(()),
    }
}

/// One element of `rrsets` (the `i`-th).
fn parse_change(apex: &[u8], i: usize, v: &Value) -> Result<Change, ApiError> {
    let at = format!("rrsets[{i}]");
    let f = |k: &str| format!("{at}.{k}");
    let o = v.as_object().ok_or_else(|| bad(&at, "must be an object"))?;
    only_keys(o, &["name", "type", "changetype", "ttl", "records"], &format!("{at}."))?;
    let owner = owner(string(o.get("name"), &f("name"))?, apex, &f("name"))?;
    let rt = rtype_of(string(o.get("type"), &f("type"))?, &f("type"))?;
    let op = match string(o.get("changetype"), &f("changetype"))? {
        "delete" => {
            if let Some(k) = ["ttl", "records"].iter().find(|k| o.contains_key(**k)) {
                return Err(bad(&f(k), "a delete takes no ttl or records"));
            }
            Op::Delete
        }
        "replace" => {
            let ttl = int(o.get("ttl").ok_or_else(|| bad(&f("ttl"), "missing"))?, &f("ttl"), i32::MAX as u64)?;
            let recs = o.get("records").ok_or_else(|| bad(&f("records"), "missing"))?;
            let recs = recs.as_array().ok_or_else(|| bad(&f("records"), "must be a list of strings"))?;
            if recs.len() > MAX_RECORDS {
                return Err(bad(&f("records"), format!("at most {MAX_RECORDS} records in one RRset")));
            }
            let mut rdatas = Vec::with_capacity(recs.len());
            for (j, r) in recs.iter().enumerate() {
                let field = f(&format!("records[{j}]"));
                let text = r.as_str().ok_or_else(|| bad(&field, "must be a string"))?;
                rdatas.push(parse_rdata(apex, rt, text).map_err(|m| bad(&field, m))?);
            }
            Op::Replace { ttl, rdatas }
        }
        o => return Err(bad(&f("changetype"), format!("'{o}' is not one of replace, delete"))),
    };
    Ok(Change { owner, rtype: rt, op })
}

/// A `PATCH` body: `{"serial": S?, "rrsets": [{"name", "type",
/// "changetype": "replace"|"delete", "ttl", "records": [...]}, ...]}`;
/// the changes and the serial precondition.
pub fn parse_patch(body: &[u8], apex: &[u8]) -> Result<(Vec<Change>, Option<u32>), ApiError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| bad("body", format!("not JSON: {e}")))?;
    let o = v.as_object().ok_or_else(|| bad("body", "must be a JSON object"))?;
    only_keys(o, &["serial", "rrsets"], "")?;
    let serial = o.get("serial").map(|s| int(s, "serial", u32::MAX as u64)).transpose()?;
    let list = o.get("rrsets").ok_or_else(|| bad("rrsets", "missing"))?;
    let list = list.as_array().ok_or_else(|| bad("rrsets", "must be a list"))?;
    if list.is_empty() {
        return Err(bad("rrsets", "no change given"));
    }
    if list.len() > MAX_RRSETS {
        return Err(bad("rrsets", format!("at most {MAX_RRSETS} RRset changes in one request")));
    }
    let changes = list.iter().enumerate().map(|(i, v)| parse_change(apex, i, v)).collect::<Result<_, _>>()?;
    Ok((changes, serial))
}

/// A `PUT` body: the zone's new text, read by levee's zone parser
/// (`$INCLUDE` refused); an error names the body's line.
pub fn parse_zone(body: &[u8], apex: &[u8], checks: levee_zone::Checks) -> Result<Vec<Rr>, ApiError> {
    let source = Source::Memory { name: "body", data: body };
    match levee_zone::load_with(source, apex, &levee_zone::LoadOptions::default(), checks, &mut |_| {}) {
        Ok(b) => Ok(journal::records(&b.zone)),
        Err(diags) => {
            let d = diags.iter().find(|d| !d.warning).or(diags.first());
            let mut e = bad("body", d.map_or("the zone does not load".into(), |d| d.to_string()));
            e.line = d.map(|d| d.line).filter(|&l| l > 0);
            Err(e)
        }
    }
}

/// `GET /api/v1/tsig-keys`: names and algorithms, never secrets.
pub fn tsig_keys(cfg: &Config) -> Value {
    let keys: Vec<Value> =
        cfg.keys.iter().map(|k| json!({ "name": name::to_text(&k.name), "algorithm": k.alg.text() })).collect();
    json!({ "keys": keys })
}

/// The reply to an edit: the new serial, or the refusal (`field` names
/// what a zone that would not build is blamed on: `rrsets` or `body`).
pub fn edit_result(apex: &[u8], r: Result<Edited, EditError>, field: &str) -> Result<Value, ApiError> {
    let zone = name::to_text(apex);
    match r {
        Ok(e) => Ok(json!({ "zone": zone, "serial": e.serial, "changed": e.changed })),
        Err(EditError::NoZone) => Err(ApiError::new(404, Some("zone"), format!("zone {zone} is not served"))),
        Err(EditError::NotDynamic) => Err(not_dynamic(apex)),
        Err(EditError::Moved(s)) => Err(ApiError::new(
            412,
            Some("serial"),
            format!("the zone's serial moved: it is now {s}; nothing was changed"),
        )),
        Err(EditError::Refused(r)) => Err(bad(&format!("rrsets[{}].{}", r.index, r.field), r.message)),
        Err(EditError::Build(m)) => Err(bad(field, format!("the zone would not load with this change: {m}"))),
        Err(EditError::Failed(m)) => Err(ApiError::new(500, None, m)),
    }
}

fn not_dynamic(apex: &[u8]) -> ApiError {
    ApiError::new(
        409,
        Some("zone"),
        format!(
            "zone {} is not dynamic: set api = \"write\" (or allow-update) in its [[zone]] to change it through the API",
            name::to_text(apex)
        ),
    )
}

/// Sends an edit to the update thread and waits (blocking, at most
/// [`WRITE_WAIT`]) until it is applied and durable, or refused.
pub fn submit(
    updates: Option<&Updates>,
    cfg: &Config,
    apex: &[u8],
    what: EditKind,
    if_serial: Option<u32>,
    who: &'static str,
) -> Result<Edited, EditError> {
    if !is_dynamic(cfg, apex) {
        return Err(EditError::NotDynamic);
    }
    let Some(u) = updates else { return Err(EditError::Failed("the update thread is not running".into())) };
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    if !u.submit_edit(Edit { zone: apex.to_vec(), what, if_serial, who, reply: tx }) {
        return Err(EditError::Failed("the update queue is full: try again".into()));
    }
    rx.recv_timeout(WRITE_WAIT).unwrap_or_else(|_| {
        Err(EditError::Failed("the write did not finish in time; read the zone back to see whether it applied".into()))
    })
}

/// A request of the API, once authorised: the route, the query string,
/// the body, and the zones of the token (empty: every zone).
pub struct Call<'a> {
    /// The route.
    pub route: Route<'a>,
    /// The query string.
    pub query: Option<&'a str>,
    /// The body.
    pub body: &'a [u8],
    /// The token's zones.
    pub zones: &'a [String],
}

/// The status of a successful call: 201 for a created zone, else 200.
pub fn success_status(route: &Route<'_>) -> u16 {
    if *route == Route::Create {
        201
    } else {
        200
    }
}

/// A 409 for a write to a runtime zone: it has no update log or journal.
fn runtime_not_dynamic(c: &Center, apex: &[u8]) -> Option<ApiError> {
    let zone = name::to_text(apex);
    c.registry.get(&zone)?;
    Some(ApiError::new(
        409,
        Some("zone"),
        format!(
            "zone {zone} was created at run time (API, levee ctl or a catalog): it takes no RRset writes; \
             replace it with DELETE and POST /api/v1/zones"
        ),
    ))
}

/// Serves one call (blocking for writes: run it on a blocking thread).
pub fn serve(c: &Arc<Center>, call: &Call<'_>) -> Result<Value, ApiError> {
    let zone = match call.route {
        Route::Zones => return Ok(zones_list(&c.zones.load(), c, call.zones)),
        Route::Create => return super::rest_zones::create(c, call.zones, call.body),
        Route::Delete(z) => return super::rest_zones::delete(c, call.zones, z),
        Route::PutCatalog(z) => return super::rest_zones::set_catalog(c, call.zones, z, Some(call.body)),
        Route::DeleteCatalog(z) => return super::rest_zones::set_catalog(c, call.zones, z, None),
        Route::OpenApi => return serde_json::from_str(OPENAPI).map_err(|e| ApiError::new(500, None, e.to_string())),
        Route::TsigKeys if !call.zones.is_empty() => {
            return Err(ApiError::new(
                403,
                None,
                "this token is limited to zones: the key list needs one for every zone",
            ))
        }
        Route::TsigKeys => return Ok(tsig_keys(&c.cfg)),
        Route::Zone(z) | Route::PutZone(z) | Route::RRsets(z) | Route::Patch(z) => z,
    };
    let apex = zone_name(zone)?;
    if !token_allows(call.zones, &apex) {
        c.refused.scope.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return Err(ApiError::new(403, Some("zone"), "this token may not use this zone"));
    }
    let set = c.zones.load_full();
    let entry = served(&set, &apex)?;
    match call.route {
        Route::Zone(_) => Ok(zone_info(entry, c)),
        Route::RRsets(_) => rrsets_of(&entry.zone, call.query),
        Route::Patch(_) => {
            if let Some(e) = runtime_not_dynamic(c, &apex) {
                return Err(e);
            }
            if !is_dynamic(&c.cfg, &apex) {
                return Err(not_dynamic(&apex));
            }
            let (changes, serial) = parse_patch(call.body, &apex)?;
            let r = submit(c.edits.get(), &c.cfg, &apex, EditKind::RRsets(changes), serial, "api");
            edit_result(&apex, r, "rrsets")
        }
        Route::PutZone(_) => {
            if let Some(e) = runtime_not_dynamic(c, &apex) {
                return Err(e);
            }
            if !is_dynamic(&c.cfg, &apex) {
                return Err(not_dynamic(&apex));
            }
            let checks = crate::zones::load::checks_of(&c.cfg, zone_config(&c.cfg, &apex));
            let recs = parse_zone(call.body, &apex, checks)?;
            let serial = param(call.query, "serial").map(|s| s.parse().map_err(|_| bad("serial", "not a serial")));
            let r = submit(c.edits.get(), &c.cfg, &apex, EditKind::Zone(recs), serial.transpose()?, "api");
            edit_result(&apex, r, "body")
        }
        _ => unreachable!("handled above"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use levee_wire::rtype::t;

    #[test]
    fn the_router_and_the_openapi_document_agree() {
        let doc: Value = serde_json::from_str(OPENAPI).expect("openapi.json is JSON");
        assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
        let mut documented = Vec::new();
        for (path, ops) in doc["paths"].as_object().unwrap() {
            for m in ops.as_object().unwrap().keys().filter(|k| *k != "parameters") {
                documented.push((m.to_ascii_uppercase(), format!("/api/v1{path}")));
            }
        }
        documented.sort();
        let mut routed: Vec<(String, String)> = ROUTES.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
        routed.sort();
        assert_eq!(documented, routed, "openapi.json paths vs the router's ROUTES");
        // Each route answers to its own pattern, and only to its method.
        for (m, p) in ROUTES {
            let path = p.replace("{zone}", "example.com.");
            assert!(route(m, &path).is_ok(), "{m} {path}");
            assert_eq!(route("TRACE", &path).unwrap_err().status, 405, "{path}");
        }
        assert_eq!(route("GET", "/api/v1/zones/").unwrap_err().status, 404);
        assert_eq!(route("GET", "/api/v1/nothing").unwrap_err().status, 404);
        assert_eq!(route("PATCH", "/api/v1/zones/a.b/rrsets"), Ok(Route::Patch("a.b")));
        assert_eq!(route("POST", "/api/v1/zones"), Ok(Route::Create));
        assert_eq!(route("DELETE", "/api/v1/zones/a.b"), Ok(Route::Delete("a.b")));
        assert_eq!(route("PUT", "/api/v1/zones/a.b/catalog"), Ok(Route::PutCatalog("a.b")));
        assert_eq!(route("DELETE", "/api/v1/zones/a.b/catalog"), Ok(Route::DeleteCatalog("a.b")));
        assert_eq!(route("POST", "/api/v1/zones/a.b").unwrap_err().status, 405);
    }

    fn apex() -> Vec<u8> {
        zone_name("example.com").unwrap()
    }

    fn field(body: &str) -> (u16, Option<String>) {
        let e = parse_patch(body.as_bytes(), &apex()).unwrap_err();
        (e.status, e.field)
    }

    #[test]
    fn patch_bodies_are_checked_field_by_field() {
        let ok = r#"{"serial": 7, "rrsets": [
            {"name": "www", "type": "A", "changetype": "replace", "ttl": 300, "records": ["192.0.2.1", "192.0.2.2"]},
            {"name": "mail.example.com.", "type": "mx", "changetype": "replace", "ttl": 60, "records": ["10 mx"]},
            {"name": "@", "type": "TXT", "changetype": "delete"}]}"#;
        let (changes, serial) = parse_patch(ok.as_bytes(), &apex()).unwrap();
        assert_eq!((changes.len(), serial), (3, Some(7)));
        assert_eq!(changes[0].owner, zone_name("www.example.com.").unwrap());
        assert_eq!(changes[1].rtype, t::MX);
        // The MX target is relative to the zone.
        let Op::Replace { rdatas, .. } = &changes[1].op else { panic!() };
        assert_eq!(rdatas[0][2..], *name::from_text("mx.example.com.", None).unwrap().as_slice());
        assert_eq!(changes[2], Change { owner: apex(), rtype: t::TXT, op: Op::Delete });
        let rr =
            |extra: &str| format!(r#"{{"rrsets": [{{"name": "a", "type": "A", "changetype": "replace", {extra}}}]}}"#);
        for (body, want) in [
            ("[]".to_string(), "body"),
            ("{".to_string(), "body"),
            (r#"{"rrsets": []}"#.to_string(), "rrsets"),
            (r#"{"rrsets": [], "x": 1}"#.to_string(), "x"),
            (r#"{"serial": -1, "rrsets": []}"#.to_string(), "serial"),
            (rr(r#""ttl": 300, "records": ["192.0.2.1", "300.1.1.1"]"#), "rrsets[0].records[1]"),
            (rr(r#""ttl": 2147483648, "records": ["192.0.2.1"]"#), "rrsets[0].ttl"),
            (rr(r#""ttl": "300", "records": ["192.0.2.1"]"#), "rrsets[0].ttl"),
            (rr(r#""records": ["192.0.2.1"]"#), "rrsets[0].ttl"),
            (rr(r#""ttl": 1, "records": "192.0.2.1""#), "rrsets[0].records"),
            (rr(r#""ttl": 1, "records": ["192.0.2.1\n@ A 1.2.3.4"]"#), "rrsets[0].records[0]"),
            (rr(r#""ttl": 1, "records": ["192.0.2.1"], "extra": 1"#), "rrsets[0].extra"),
            (r#"{"rrsets": [{"name": "a", "type": "BOGUS", "changetype": "delete"}]}"#.into(), "rrsets[0].type"),
            (r#"{"rrsets": [{"name": "a..b", "type": "A", "changetype": "delete"}]}"#.into(), "rrsets[0].name"),
            (r#"{"rrsets": [{"name": "a", "type": "A", "changetype": "add"}]}"#.into(), "rrsets[0].changetype"),
            (r#"{"rrsets": [{"name": "a", "type": "A", "changetype": "delete", "ttl": 1}]}"#.into(), "rrsets[0].ttl"),
        ] {
            assert_eq!(field(&body), (400, Some(want.to_string())), "{body}");
        }
        let many = format!(
            r#"{{"rrsets": [{}]}}"#,
            vec![r#"{"name":"a","type":"A","changetype":"delete"}"#; MAX_RRSETS + 1].join(",")
        );
        assert_eq!(field(&many), (400, Some("rrsets".into())));
        let recs = vec!["\"192.0.2.1\""; MAX_RECORDS + 1].join(",");
        assert_eq!(field(&rr(&format!(r#""ttl": 1, "records": [{recs}]"#))), (400, Some("rrsets[0].records".into())));
    }

    #[test]
    fn zone_bodies_name_their_line() {
        let ok = "$TTL 300\n@ SOA ns hostmaster 1 3600 600 86400 300\n@ NS ns\nns A 192.0.2.1\n";
        let recs = parse_zone(ok.as_bytes(), &apex(), levee_zone::Checks::Warn).unwrap();
        assert_eq!((recs.len(), recs[0].rtype), (3, t::SOA));
        let broken = ok.replace("ns A 192.0.2.1", "ns A 192.0.2");
        let e = parse_zone(broken.as_bytes(), &apex(), levee_zone::Checks::Warn).unwrap_err();
        assert_eq!((e.status, e.field.as_deref(), e.line), (400, Some("body"), Some(4)));
        assert!(e.message.starts_with("body:4:"), "{}", e.message);
        let e = parse_zone(b"$INCLUDE /etc/passwd\n", &apex(), levee_zone::Checks::Warn).unwrap_err();
        assert_eq!(e.line, Some(1));
    }

    #[test]
    fn tokens_limited_to_zones() {
        let z = vec!["example.com.".to_string()];
        assert!(token_allows(&z, &apex()) && token_allows(&[], &apex()));
        assert!(!token_allows(&z, &zone_name("example.net").unwrap()));
        assert!(!token_allows(&z, &zone_name("sub.example.com").unwrap()));
    }
}
