//! What the REST API's route modules share: the refusal ([`ApiError`],
//! its JSON body `{"error", "field", "line"}`), the bounds of a request,
//! and the parsers of its parts (a zone or owner name, a record type, one
//! record's RDATA, a query-string parameter).
//!
//! [`super::rest`] (the router and the RRset routes) and
//! [`super::rest_zones`] (zone creation, deletion, catalog membership)
//! both use it, and the listener ([`super::http`]) takes its query-string
//! parser; it names none of them, so the three stay free of an import
//! cycle (`tests/structure/modules.py`). Sans I/O: it only parses.

use levee_wire::{name, rtype};
use levee_zone::Source;
use serde_json::{json, Value};

/// The largest body of a `PUT` or `PATCH` (a zone text of about 50,000
/// records); other requests keep the listener's 16 KiB.
pub const MAX_BODY: usize = 4 << 20;
/// RRset changes in one `PATCH`.
pub const MAX_RRSETS: usize = 1000;
/// Records in one RRset of a `PATCH`.
pub const MAX_RECORDS: usize = 1000;

/// A refusal: status, message and the field of the request it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// What is wrong.
    pub message: String,
    /// The field (`rrsets[2].ttl`, `body`, `zone`, ...), if any.
    pub field: Option<String>,
    /// The line of the body (zone text), if any.
    pub line: Option<u32>,
}

impl ApiError {
    /// An error about `field`.
    pub fn new(status: u16, field: Option<&str>, message: impl Into<String>) -> ApiError {
        ApiError { status, message: message.into(), field: field.map(str::to_string), line: None }
    }

    /// The JSON body.
    pub fn json(&self) -> Value {
        let mut v = json!({ "error": self.message });
        if let Some(f) = &self.field {
            v["field"] = json!(f);
        }
        if let Some(l) = self.line {
            v["line"] = json!(l);
        }
        v
    }
}

/// A 400 about `field`.
pub fn bad(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(400, Some(field), message)
}

/// The zone of a path (`example.com` or `example.com.`), lowercase wire.
pub fn zone_name(s: &str) -> Result<Vec<u8>, ApiError> {
    let n = name::from_text(s, Some(&[0])).map_err(|e| bad("zone", format!("'{s}' is not a zone name: {e}")))?;
    Ok(name::to_lowercase(&n).as_slice().to_vec())
}

/// An owner name of a request: absolute, relative to the zone, or `@`.
pub fn owner(s: &str, apex: &[u8], field: &str) -> Result<Vec<u8>, ApiError> {
    if s == "@" {
        return Ok(apex.to_vec());
    }
    let n = name::from_text(s, Some(apex)).map_err(|e| bad(field, format!("'{s}' is not a domain name: {e}")))?;
    Ok(name::to_lowercase(&n).as_slice().to_vec())
}

/// A record type by name (`A`, `TYPE65280`).
pub fn rtype_of(s: &str, field: &str) -> Result<u16, ApiError> {
    rtype::type_from_text(s.as_bytes()).ok_or_else(|| bad(field, format!("'{s}' is not a record type")))
}

/// One record's RDATA from presentation format (names relative to the
/// zone unless absolute, as in a zone file), read by levee's zone parser.
pub fn parse_rdata(apex: &[u8], rt: u16, text: &str) -> Result<Vec<u8>, String> {
    if text.contains(['\n', '\r']) {
        return Err("a record is one line".into());
    }
    if text.trim().is_empty() {
        return Err("empty record".into());
    }
    let line = format!("@ 0 IN {} {text}\n", rtype::type_to_text(rt));
    let mut got: Vec<Vec<u8>> = Vec::new();
    let mut diags = Vec::new();
    levee_zone::zonefile::parse(
        Source::Memory { name: "record", data: line.as_bytes() },
        apex,
        &mut |r| {
            got.push(r.rdata.to_vec());
            Ok(())
        },
        &mut diags,
    );
    if let Some(d) = diags.iter().find(|d| !d.warning) {
        return Err(d.message.clone());
    }
    match <[Vec<u8>; 1]>::try_from(got) {
        Ok([rd]) => Ok(rd),
        Err(_) => Err("not one record".into()),
    }
}

/// The value of `key` in a query string (no percent-decoding beyond
/// what zone names need: none).
pub fn query_param<'a>(query: Option<&'a str>, key: &str) -> Option<&'a str> {
    query?.split('&').find_map(|kv| kv.split_once('=').filter(|(k, _)| *k == key).map(|(_, v)| v))
}
