//! Zone creation, deletion and catalog membership in the REST API
//! (issue 19): the routes of [`super::rest`] that change which zones
//! levee serves rather than what a zone holds.
//!
//! | method and path                          | what                                          |
//! |------------------------------------------|-----------------------------------------------|
//! | `POST /api/v1/zones`                     | create a runtime zone (primary or secondary)  |
//! | `DELETE /api/v1/zones/{zone}`            | delete a runtime zone and its stored data     |
//! | `PUT /api/v1/zones/{zone}/catalog`       | list a runtime zone in a produced catalog     |
//! | `DELETE /api/v1/zones/{zone}/catalog`    | take it out of its produced catalog           |
//!
//! **One path.** Every change is a batch of one [`Op`] handed to
//! [`crate::provision::Registry::apply`], the code `levee ctl zone-add`
//! and the catalog consumer use: the zone is served, the registry file
//! written atomically (temporary file, fsync, rename) and a produced
//! catalog it joins or leaves rebuilt (serial bump, journal, NOTIFY)
//! before the reply.
//!
//! **Checked first, sans I/O.** The body is parsed and every field
//! checked here ([`parse_create`], [`parse_membership`]) before the
//! registry is asked: the zone (text, or `rrsets` written back as
//! levee's own text, one absolute line per record) is loaded under the `[load]` budgets
//! (an error names `zone` and its line), each primary and ACL rule is
//! parsed with the configuration's parsers (`primaries[1]`,
//! `allow-transfer[0]`), a catalog must be a `[[zone]]` with
//! `catalog-role = "generate"`. So a refused create writes nothing.
//! Conflicts are 409: a name served already (configured, or a runtime
//! zone), `server.max-runtime-zones` reached, a member of a consumed
//! catalog (its catalog owns it), a configured zone to delete.
//!
//! **Who may.** A write token without a zone list: a token limited to
//! zones cannot create, delete or move zones (403), since none of these
//! is about one of its zones only.
//!
//! **Not dynamic.** A runtime zone takes no RRset writes (`PATCH`,
//! `PUT /zones/{zone}`: 409): it has no update log or journal of its own
//! yet; replace one by `DELETE` and `POST`.

use std::sync::Arc;

use levee_config::catalog::CatalogMember;
use levee_config::repl::{parse_remote, parse_rule};
use levee_config::Config;
use levee_wire::name;
use serde_json::{json, Map, Value};

use super::rest_common::{bad, owner, parse_rdata, rtype_of, zone_name, ApiError, MAX_RECORDS, MAX_RRSETS};
use crate::center::Center;
use crate::provision::{self, Kind, Op, RuntimeZone};

/// Entries in `primaries` or `allow-transfer`.
pub const MAX_LIST: usize = 64;

fn conflict(field: Option<&str>, message: impl Into<String>) -> ApiError {
    ApiError::new(409, field, message)
}

/// 403 unless the token reaches every zone.
fn unrestricted(c: &Center, token_zones: &[String]) -> Result<(), ApiError> {
    if token_zones.is_empty() {
        return Ok(());
    }
    c.refused.scope.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Err(ApiError::new(
        403,
        None,
        "this token is limited to zones: creating, deleting or moving zones needs a write token without a zone list",
    ))
}

fn object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| bad("body", format!("not JSON: {e}")))?;
    match v {
        Value::Object(o) => Ok(o),
        _ => Err(bad("body", "must be a JSON object")),
    }
}

fn only_keys(o: &Map<String, Value>, keys: &[&str]) -> Result<(), ApiError> {
    match o.keys().find(|k| !keys.contains(&k.as_str())) {
        Some(k) => Err(bad(k, "unknown field")),
        None => Ok(()),
    }
}

fn string<'v>(o: &'v Map<String, Value>, key: &str) -> Result<Option<&'v str>, ApiError> {
    match o.get(key) {
        None => Ok(None),
        Some(v) => v.as_str().map(Some).ok_or_else(|| bad(key, "must be a string")),
    }
}

/// A list of strings, each checked by `check` (its error names `key[i]`).
fn list(
    o: &Map<String, Value>,
    key: &str,
    check: impl Fn(&str) -> Result<(), String>,
) -> Result<Vec<String>, ApiError> {
    let Some(v) = o.get(key) else { return Ok(Vec::new()) };
    let a = v.as_array().ok_or_else(|| bad(key, "must be a list of strings"))?;
    if a.len() > MAX_LIST {
        return Err(bad(key, format!("at most {MAX_LIST} entries")));
    }
    let mut out = Vec::with_capacity(a.len());
    for (i, s) in a.iter().enumerate() {
        let field = format!("{key}[{i}]");
        let s = s.as_str().ok_or_else(|| bad(&field, "must be a string"))?;
        check(s).map_err(|m| bad(&field, m))?;
        out.push(s.to_string());
    }
    Ok(out)
}

/// `catalog` and `group` of a body: the produced catalog to be listed in.
fn membership(cfg: &Config, o: &Map<String, Value>, required: bool) -> Result<Option<CatalogMember>, ApiError> {
    let group = string(o, "group")?;
    if group.is_some_and(|g| g.is_empty() || g.len() > 255) {
        return Err(bad("group", "a catalog group is 1 to 255 octets"));
    }
    let Some(catalog) = string(o, "catalog")? else {
        return match (required, group) {
            (true, _) => Err(bad("catalog", "missing")),
            (false, Some(_)) => Err(bad("group", "a group needs a catalog")),
            (false, None) => Ok(None),
        };
    };
    let apex = zone_name(catalog).map_err(|_| bad("catalog", format!("'{catalog}' is not a zone name")))?;
    let catalog = name::to_text(&apex);
    let m = CatalogMember { catalog, group: group.map(String::from) };
    provision::check_member_of(cfg, &Some(m.clone())).map_err(|e| bad("catalog", e))?;
    Ok(Some(m))
}

/// The zone text of a primary zone to create, loaded as the registry will
/// load it (the `[load]` budgets, no `$INCLUDE`); an error names `zone`
/// and the line.
fn check_zone_text(cfg: &Config, apex: &[u8], text: &str) -> Result<(), ApiError> {
    let opts = levee_zone::LoadOptions {
        max_bytes: cfg.load.max_zone_bytes,
        max_records: cfg.load.max_zone_records,
        ..levee_zone::LoadOptions::default()
    };
    let checks = crate::zones::load::checks_of(cfg, None);
    let src = levee_zone::Source::Memory { name: "zone", data: text.as_bytes() };
    match levee_zone::load_with(src, apex, &opts, checks, &mut |_| {}) {
        Ok(_) => Ok(()),
        Err(diags) => {
            let d = diags.iter().find(|d| !d.warning).or(diags.first());
            let mut e = bad("zone", d.map_or("the zone does not load".into(), |d| d.to_string()));
            e.line = d.map(|d| d.line).filter(|&l| l > 0);
            Err(e)
        }
    }
}

/// The zone text of a primary zone given as `rrsets` (`[{"name", "type",
/// "ttl", "records"}]`, the form of a `PATCH` replacement): each record
/// read by levee's parser, then written back in presentation form, one
/// absolute line each, so the text the registry keeps is levee's own.
fn rrsets_text(apex: &[u8], v: &Value) -> Result<String, ApiError> {
    let list = v.as_array().ok_or_else(|| bad("rrsets", "must be a list"))?;
    if list.is_empty() || list.len() > MAX_RRSETS {
        return Err(bad("rrsets", format!("1 to {} RRsets", MAX_RRSETS)));
    }
    let mut text = String::new();
    for (i, r) in list.iter().enumerate() {
        let at = format!("rrsets[{i}]");
        let f = |k: &str| format!("{at}.{k}");
        let o = r.as_object().ok_or_else(|| bad(&at, "must be an object"))?;
        if let Some(k) = o.keys().find(|k| !["name", "type", "ttl", "records"].contains(&k.as_str())) {
            return Err(bad(&f(k), "unknown field"));
        }
        let s = |k: &str| {
            o.get(k).ok_or_else(|| bad(&f(k), "missing"))?.as_str().ok_or_else(|| bad(&f(k), "must be a string"))
        };
        let name = owner(s("name")?, apex, &f("name"))?;
        if !name::is_subdomain(&name, apex) {
            return Err(bad(&f("name"), format!("{} is not in the zone", name::to_text(&name))));
        }
        let rt = rtype_of(s("type")?, &f("type"))?;
        let ttl = o
            .get("ttl")
            .ok_or_else(|| bad(&f("ttl"), "missing"))?
            .as_u64()
            .filter(|&t| t <= i32::MAX as u64)
            .ok_or_else(|| bad(&f("ttl"), format!("must be an integer from 0 to {}", i32::MAX)))?;
        let recs = o.get("records").ok_or_else(|| bad(&f("records"), "missing"))?;
        let recs = recs.as_array().ok_or_else(|| bad(&f("records"), "must be a list of strings"))?;
        if recs.is_empty() || recs.len() > MAX_RECORDS {
            return Err(bad(&f("records"), format!("1 to {} records", MAX_RECORDS)));
        }
        for (j, rec) in recs.iter().enumerate() {
            let field = f(&format!("records[{j}]"));
            let rd = parse_rdata(apex, rt, rec.as_str().ok_or_else(|| bad(&field, "must be a string"))?)
                .map_err(|m| bad(&field, m))?;
            let rdata = levee_zone::zonefile::rdata_to_text(rt, &rd);
            text.push_str(&format!(
                "{} {ttl} IN {} {rdata}\n",
                name::to_text(&name),
                levee_wire::rtype::type_to_text(rt)
            ));
        }
    }
    Ok(text)
}

/// A `POST /api/v1/zones` body, every field checked: the zone to add and,
/// for a primary zone, its text.
pub fn parse_create(cfg: &Config, body: &[u8]) -> Result<(RuntimeZone, Option<String>), ApiError> {
    let o = object(body)?;
    only_keys(&o, &["name", "kind", "zone", "rrsets", "primaries", "allow-transfer", "catalog", "group"])?;
    let name_text = string(&o, "name")?.ok_or_else(|| bad("name", "missing"))?;
    let apex = zone_name(name_text).map_err(|mut e| {
        e.field = Some("name".into());
        e
    })?;
    if apex == [0] {
        return Err(bad("name", "the root zone cannot be created"));
    }
    let allow_transfer = list(&o, "allow-transfer", |s| parse_rule(s, &cfg.keys).map(|_| ()))?;
    let member_of = membership(cfg, &o, false)?;
    let kind = match string(&o, "kind")? {
        None => return Err(bad("kind", "missing")),
        Some("primary") => {
            if o.contains_key("primaries") {
                return Err(bad("primaries", "a primary zone has no primaries"));
            }
            let text = match (string(&o, "zone")?, o.get("rrsets")) {
                (Some(_), Some(_)) => return Err(bad("rrsets", "give the zone as text (zone) or as rrsets, not both")),
                (None, None) => return Err(bad("zone", "missing: the zone's text (or rrsets)")),
                (Some(text), None) => {
                    check_zone_text(cfg, &apex, text)?;
                    text.to_string()
                }
                (None, Some(v)) => {
                    let text = rrsets_text(&apex, v)?;
                    check_zone_text(cfg, &apex, &text).map_err(|mut e| {
                        e.field = Some("rrsets".into());
                        e.line = None;
                        e
                    })?;
                    text
                }
            };
            let z = RuntimeZone { name: name::to_text(&apex), kind: Kind::Primary { allow_transfer }, member_of };
            return Ok((z, Some(text)));
        }
        Some("secondary") => {
            if let Some(k) = ["zone", "rrsets"].into_iter().find(|k| o.contains_key(*k)) {
                return Err(bad(k, "a secondary zone takes its data from its primaries"));
            }
            let primaries = list(&o, "primaries", |s| parse_remote(s, &cfg.keys).map(|_| ()))?;
            if primaries.is_empty() {
                return Err(bad("primaries", "a secondary zone needs at least one primary"));
            }
            let allow_notify = provision::notify_from(&primaries);
            Kind::Secondary { primaries, allow_transfer, allow_notify }
        }
        Some(k) => return Err(bad("kind", format!("'{k}' is not one of primary, secondary"))),
    };
    Ok((RuntimeZone { name: name::to_text(&apex), kind, member_of }, None))
}

/// The zone as the create and membership replies show it.
fn runtime_info(c: &Center, z: &RuntimeZone) -> Value {
    let apex = zone_name(&z.name).unwrap_or_default();
    let set = c.zones.load();
    let serial = set.exact(&apex).filter(|e| !e.not_loaded).map(|e| e.zone.serial());
    let kind = match z.kind {
        Kind::Primary { .. } => "primary",
        _ => "secondary",
    };
    let (catalog, group) = z.member_of.as_ref().map_or((None, None), |m| (Some(&m.catalog), m.group.as_ref()));
    let catalog_serial =
        catalog.and_then(|cat| zone_name(cat).ok()).and_then(|a| set.exact(&a).map(|e| e.zone.serial()));
    json!({
        "name": z.name, "kind": kind, "serial": serial, "runtime": true,
        "catalog": catalog, "group": group, "catalog-serial": catalog_serial,
    })
}

/// Hands one op to the registry (blocking); its refusal is a 409.
fn apply(c: &Arc<Center>, op: Op) -> Result<(), ApiError> {
    match c.registry.apply(c, vec![op]).pop() {
        Some(Ok(())) => Ok(()),
        Some(Err(e)) => Err(conflict(None, e)),
        None => Err(ApiError::new(500, None, "nothing done")),
    }
}

/// `POST /api/v1/zones`: 201 with the zone, or the refusal.
pub fn create(c: &Arc<Center>, token_zones: &[String], body: &[u8]) -> Result<Value, ApiError> {
    unrestricted(c, token_zones)?;
    let (z, text) = parse_create(&c.cfg, body)?;
    if c.registry.get(&z.name).is_some() {
        return Err(conflict(Some("name"), format!("zone {} exists already (a runtime zone)", z.name)));
    }
    let apex = zone_name(&z.name)?;
    if c.cfg.zones.iter().any(|cz| crate::zones::load::same_zone(&cz.name, &z.name))
        || c.zones.load().exact(&apex).is_some()
    {
        return Err(conflict(Some("name"), format!("zone {} exists already (configured)", z.name)));
    }
    if c.registry.is_full() {
        return Err(conflict(None, format!("server.max-runtime-zones ({}) reached", c.cfg.max_runtime_zones)));
    }
    let op = match text {
        Some(t) => Op::AddPrimary(z.clone(), t),
        None => Op::Add(z.clone()),
    };
    apply(c, op)?;
    Ok(runtime_info(c, &z))
}

/// The runtime zone of a path, or why it cannot be changed here: 404 if
/// levee does not serve it, 409 if it is configured or owned by a
/// consumed catalog.
fn runtime_zone(c: &Center, zone: &str) -> Result<RuntimeZone, ApiError> {
    let apex = zone_name(zone)?;
    let text = name::to_text(&apex);
    match c.registry.get(&text) {
        Some(RuntimeZone { kind: Kind::CatalogMember { catalog, .. }, .. }) => Err(conflict(
            Some("zone"),
            format!("zone {text} is a member of catalog {catalog}: change it in that catalog"),
        )),
        Some(z) => Ok(z),
        None if c.zones.load().exact(&apex).is_some() => Err(conflict(
            Some("zone"),
            format!("zone {text} is configured, not created at run time: change it in the configuration"),
        )),
        None => Err(ApiError::new(404, Some("zone"), format!("zone {text} is not served"))),
    }
}

/// `DELETE /api/v1/zones/{zone}`: a runtime zone and its stored data.
pub fn delete(c: &Arc<Center>, token_zones: &[String], zone: &str) -> Result<Value, ApiError> {
    unrestricted(c, token_zones)?;
    let z = runtime_zone(c, zone)?;
    apply(c, Op::Remove(z.name.clone()))?;
    Ok(json!({ "name": z.name, "deleted": true }))
}

/// A `PUT /api/v1/zones/{zone}/catalog` body: `{"catalog", "group"?}`.
pub fn parse_membership(cfg: &Config, body: &[u8]) -> Result<CatalogMember, ApiError> {
    let o = object(body)?;
    only_keys(&o, &["catalog", "group"])?;
    Ok(membership(cfg, &o, true)?.expect("required"))
}

/// `PUT` (`body` given) or `DELETE` (`None`) of
/// `/api/v1/zones/{zone}/catalog`: the zone's produced catalog.
pub fn set_catalog(
    c: &Arc<Center>,
    token_zones: &[String],
    zone: &str,
    body: Option<&[u8]>,
) -> Result<Value, ApiError> {
    unrestricted(c, token_zones)?;
    let member_of = body.map(|b| parse_membership(&c.cfg, b)).transpose()?;
    let mut z = runtime_zone(c, zone)?;
    if z.member_of != member_of {
        z.member_of = member_of;
        apply(c, Op::Change(z.clone()))?;
    }
    Ok(runtime_info(c, &z))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> Config {
        let text = "version = 1\n[[key]]\nname = \"k1\"\nalgorithm = \"hmac-sha256\"\n\
                    secret = \"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\"\n\
                    [[zone]]\nname = \"out.test.\"\ncatalog-role = \"generate\"\n";
        levee_config::file::parse(text, "test").expect("a valid config")
    }

    const TEXT: &str = "$TTL 300\n@ SOA ns hostmaster 1 3600 600 86400 300\n@ NS ns\nns A 192.0.2.1\n";

    fn field(body: Value) -> Option<String> {
        let e = parse_create(&cfg(), body.to_string().as_bytes()).unwrap_err();
        assert_eq!(e.status, 400, "{e:?}");
        e.field
    }

    #[test]
    fn create_bodies_are_checked_field_by_field() {
        let (z, text) = parse_create(
            &cfg(),
            json!({"name": "A.Test", "kind": "primary", "zone": TEXT, "allow-transfer": ["127.0.0.1 key k1"],
                   "catalog": "out.test", "group": "g"})
            .to_string()
            .as_bytes(),
        )
        .unwrap();
        assert_eq!(z.name, "a.test.");
        assert_eq!(text.as_deref(), Some(TEXT));
        assert_eq!(z.member_of, Some(CatalogMember { catalog: "out.test.".into(), group: Some("g".into()) }));
        let (z, text) = parse_create(
            &cfg(),
            json!({"name": "b.test.", "kind": "secondary", "primaries": ["127.0.0.1:5300 key k1"]})
                .to_string()
                .as_bytes(),
        )
        .unwrap();
        assert!(text.is_none());
        let Kind::Secondary { allow_notify, .. } = z.kind else { panic!() };
        assert_eq!(allow_notify, vec!["127.0.0.1 key k1".to_string()]);

        let p = |extra: Value| {
            let mut v = json!({"name": "a.test.", "kind": "primary", "zone": TEXT});
            v.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            v
        };
        let s = json!({"name": "a.test.", "kind": "secondary", "primaries": ["127.0.0.1:53", "nowhere"]});
        for (body, want) in [
            (json!({"kind": "primary", "zone": TEXT}), "name"),
            (p(json!({"name": "a..b"})), "name"),
            (p(json!({"name": "."})), "name"),
            (p(json!({"name": 7})), "name"),
            (p(json!({"kind": "tertiary"})), "kind"),
            (json!({"name": "a.test.", "zone": TEXT}), "kind"),
            (json!({"name": "a.test.", "kind": "primary"}), "zone"),
            (p(json!({"zone": "$TTL 300\n@ SOA ns h 1 1 1 1 1\n@ NS ns\nx A 1.2.3\n"})), "zone"),
            (p(json!({"zone": "$INCLUDE /etc/passwd\n"})), "zone"),
            (p(json!({"primaries": ["127.0.0.1:53"]})), "primaries"),
            (p(json!({"allow-transfer": ["127.0.0.1", "127.0.0.1 key nokey"]})), "allow-transfer[1]"),
            (p(json!({"allow-transfer": "127.0.0.1"})), "allow-transfer"),
            (p(json!({"catalog": "in.test."})), "catalog"),
            (p(json!({"group": "g"})), "group"),
            (p(json!({"catalog": "out.test.", "group": ""})), "group"),
            (p(json!({"extra": 1})), "extra"),
            (s.clone(), "primaries[1]"),
            (json!({"name": "a.test.", "kind": "secondary"}), "primaries"),
            (json!({"name": "a.test.", "kind": "secondary", "primaries": []}), "primaries"),
            (json!({"name": "a.test.", "kind": "secondary", "primaries": ["127.0.0.1:53"], "zone": TEXT}), "zone"),
        ] {
            assert_eq!(field(body.clone()).as_deref(), Some(want), "{body}");
        }
        // The zone as RRsets: written back as levee's own text.
        let rr = |name: &str, ty: &str, recs: &[&str]| json!({"name": name, "type": ty, "ttl": 300, "records": recs});
        let rrsets = json!([
            rr("@", "SOA", &["ns hostmaster 1 3600 600 86400 300"]),
            rr("@", "NS", &["ns"]),
            rr("ns", "A", &["192.0.2.1", "192.0.2.2"])
        ]);
        let body = json!({"name": "a.test.", "kind": "primary", "rrsets": rrsets});
        let (_, text) = parse_create(&cfg(), body.to_string().as_bytes()).unwrap();
        let text = text.unwrap();
        assert!(text.contains("ns.a.test. 300 IN A 192.0.2.2\n"), "{text}");
        assert!(text.contains("a.test. 300 IN NS ns.a.test.\n"), "{text}");
        let r = |rrsets: Value| json!({"name": "a.test.", "kind": "primary", "rrsets": rrsets});
        for (body, want) in [
            (r(json!([rr("@", "NS", &["ns"])])), "rrsets"),
            (r(json!([])), "rrsets"),
            (r(json!("x")), "rrsets"),
            (
                r(json!([rr("@", "SOA", &["ns hostmaster 1 3600 600 86400 300"]), rr("x", "A", &["1.2.3"])])),
                "rrsets[1].records[0]",
            ),
            (r(json!([rr("x", "A", &["192.0.2.1\n@ NS evil."])])), "rrsets[0].records[0]"),
            (r(json!([rr("x.other.", "A", &["192.0.2.1"])])), "rrsets[0].name"),
            (r(json!([rr("x", "NOPE", &["1"])])), "rrsets[0].type"),
            (r(json!([{"name": "x", "type": "A", "records": ["192.0.2.1"]}])), "rrsets[0].ttl"),
            (r(json!([{"name": "x", "type": "A", "ttl": 1, "records": [], "x": 1}])), "rrsets[0].x"),
            (r(json!([rr("x", "A", &[])])), "rrsets[0].records"),
            (json!({"name": "a.test.", "kind": "primary", "zone": TEXT, "rrsets": []}), "rrsets"),
            (json!({"name": "a.test.", "kind": "secondary", "primaries": ["127.0.0.1:53"], "rrsets": []}), "rrsets"),
        ] {
            assert_eq!(field(body.clone()).as_deref(), Some(want), "{body}");
        }
        let e = parse_create(&cfg(), b"[1]").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("body"));
        let e = parse_create(
            &cfg(),
            p(json!({"zone": "$TTL 300\n@ SOA ns h 1 1 1 1 1\n@ NS ns\nx A 1.2.3\n"})).to_string().as_bytes(),
        )
        .unwrap_err();
        assert_eq!(e.line, Some(4), "{e:?}");
    }

    #[test]
    fn membership_bodies_are_checked() {
        let ok = parse_membership(&cfg(), br#"{"catalog": "OUT.test"}"#).unwrap();
        assert_eq!(ok, CatalogMember { catalog: "out.test.".into(), group: None });
        for (body, want) in [
            (r#"{}"#, "catalog"),
            (r#"{"group": "g"}"#, "catalog"),
            (r#"{"catalog": "other.test."}"#, "catalog"),
            (r#"{"catalog": "out.test.", "group": 5}"#, "group"),
            (r#"{"catalog": "out.test.", "x": 5}"#, "x"),
            ("nope", "body"),
        ] {
            assert_eq!(parse_membership(&cfg(), body.as_bytes()).unwrap_err().field.as_deref(), Some(want), "{body}");
        }
    }
}
