//! Catalog zones (RFC 9432), without I/O.
//!
//! A catalog zone is an ordinary DNS zone whose records list other zones,
//! its *members*, so that a secondary server learns which zones to serve
//! by transferring one zone:
//!
//! ```text
//! catalog.example.                 SOA   invalid. invalid. 1 3600 600 2147483646 0
//! catalog.example.                 NS    invalid.
//! version.catalog.example.         TXT   "2"                  ; schema version: only 2
//! 5f2c.zones.catalog.example.      PTR   customer1.example.   ; a member, unique id 5f2c
//! group.5f2c.zones.catalog.example. TXT  "gold"               ; its group: the consumer's settings
//! coo.5f2c.zones.catalog.example.  PTR   other-catalog.example. ; change of ownership allowed
//! ```
//!
//! This crate has the three pure pieces both roles need:
//!
//! * [`parse`]: a catalog's records into a [`Catalog`] (members by name,
//!   each with its unique id, group and `coo`), or an [`Error`] naming
//!   what is wrong. A consumer refuses the whole version on any error
//!   (the version property is not "2", a member PTR that is not one name,
//!   two PTRs for one id, one zone listed twice, a group that is not one
//!   string, more members than allowed): the members of the previous
//!   version stay as they are. Properties this crate does not know
//!   (`ext.` and others) are ignored, as RFC 9432 §4.4 requires.
//! * [`diff`]: what changed between two catalogs, member by member
//!   ([`Change`]): added, removed, *reset* (the same zone under another
//!   unique id: its data is dropped and transferred anew, RFC 9432 §5.5),
//!   group changed (its settings change).
//! * [`generate`]: the records of a catalog a producer serves, with
//!   [`unique_id`] a hash of the member's name, so ids do not change
//!   across restarts or between producers.
//!
//! Ownership between catalogs ([`coo_allows`]): a zone claimed by two
//! catalogs belongs to the first that claimed it, and moves to another
//! only when its current catalog's `coo` property names that other one
//! (RFC 9432 §5.6).
//!
//! Names are wire-format octets, compared without case; member names are
//! kept in lower case.

#![forbid(unsafe_code)]

use std::collections::BTreeMap;

use levee_wire::name;
use sha2::{Digest, Sha256};

/// RR types used here.
const SOA: u16 = 6;
const NS: u16 = 2;
const PTR: u16 = 12;
const TXT: u16 = 16;

/// The only catalog schema version this crate reads and writes.
pub const VERSION: &str = "2";

/// One member zone of a catalog.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// The member zone's name, lower-case wire form.
    pub zone: Vec<u8>,
    /// Its unique id: the label before `zones.`, lower case.
    pub id: Vec<u8>,
    /// Its `group` property, if any.
    pub group: Option<String>,
    /// Its `coo` property: the catalog it may move to, lower-case wire.
    pub coo: Option<Vec<u8>>,
}

/// A catalog's members, by zone name (lower-case wire).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Catalog {
    /// The members.
    pub members: BTreeMap<Vec<u8>, Member>,
}

/// Why a catalog version is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// No `version` property.
    NoVersion,
    /// A `version` other than "2", or not one TXT string.
    Version(String),
    /// A member's PTR is not usable (`owner`, why).
    BadPtr(String, String),
    /// A member property is malformed (`owner`, why).
    BadProperty(String, String),
    /// The same zone listed under two unique ids.
    Duplicate(String),
    /// More members than the bound.
    TooMany(usize, usize),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::NoVersion => write!(f, "no version property (version.<catalog> TXT \"2\")"),
            Error::Version(v) => write!(f, "catalog schema version {v} is not supported (only \"2\", RFC 9432)"),
            Error::BadPtr(o, why) => write!(f, "member {o}: {why}"),
            Error::BadProperty(o, why) => write!(f, "property {o}: {why}"),
            Error::Duplicate(z) => write!(f, "zone {z} is listed twice (two unique ids)"),
            Error::TooMany(n, max) => write!(f, "{n} members, more than the {max} allowed"),
        }
    }
}

/// One record of a catalog, borrowed: owner (wire), type, RDATA (wire,
/// uncompressed).
pub type RecordRef<'a> = (&'a [u8], u16, &'a [u8]);

/// What one unique id has gathered while reading.
#[derive(Default)]
struct Entry {
    ptr: Option<Vec<u8>>,
    group: Option<String>,
    coo: Option<Vec<u8>>,
}

/// The labels of `owner` left of `apex`, leftmost first, lower case;
/// `None` when `owner` is not at or below `apex`.
fn relative(owner: &[u8], apex: &[u8]) -> Option<Vec<Vec<u8>>> {
    if !name::is_subdomain(owner, apex) {
        return None;
    }
    let n = name::label_count(owner) - name::label_count(apex);
    Some(name::labels(owner).take(n).map(|l| l.iter().map(|b| name::lower(*b)).collect()).collect())
}

/// The character-strings of a TXT RDATA; `None` if it is malformed.
fn txt_strings(rdata: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < rdata.len() {
        let n = rdata[i] as usize;
        out.push(rdata.get(i + 1..i + 1 + n)?.to_vec());
        i += 1 + n;
    }
    Some(out)
}

/// The one string of a TXT RDATA.
fn one_string(rdata: &[u8]) -> Option<String> {
    match txt_strings(rdata)?.as_slice() {
        [s] => Some(String::from_utf8_lossy(s).into_owned()),
        _ => None,
    }
}

/// A PTR's target: one whole name, lower case.
fn ptr_target(rdata: &[u8]) -> Result<Vec<u8>, String> {
    match name::wire_len(rdata) {
        Ok(n) if n == rdata.len() => Ok(name::to_lowercase(rdata).as_slice().to_vec()),
        Ok(_) => Err("PTR RDATA has octets after the name".into()),
        Err(e) => Err(format!("PTR RDATA is not a name: {e}")),
    }
}

/// Reads a catalog's records (see the crate documentation); `apex` is the
/// catalog's name, `max_members` the most members accepted.
pub fn parse<'a>(
    apex: &[u8],
    records: impl IntoIterator<Item = RecordRef<'a>>,
    max_members: usize,
) -> Result<Catalog, Error> {
    let apex = name::to_lowercase(apex);
    let apex = apex.as_slice();
    let mut version: Option<Result<String, String>> = None;
    let mut ids: BTreeMap<Vec<u8>, Entry> = BTreeMap::new();
    for (owner, rtype, rdata) in records {
        let Some(rel) = relative(owner, apex) else { continue };
        let text = || name::to_text(owner);
        match (rel.as_slice(), rtype) {
            ([v], TXT) if v == b"version" => {
                version = Some(match (&version, one_string(rdata)) {
                    (None, Some(s)) => Ok(s),
                    _ => Err("not one TXT record of one string".into()),
                });
            }
            ([id, z], PTR) if z == b"zones" => {
                let target = ptr_target(rdata).map_err(|why| Error::BadPtr(text(), why))?;
                let e = ids.entry(id.clone()).or_default();
                if e.ptr.is_some() {
                    return Err(Error::BadPtr(text(), "more than one PTR for one unique id".into()));
                }
                e.ptr = Some(target);
            }
            ([p, id, z], TXT) if z == b"zones" && p == b"group" => {
                let g = one_string(rdata)
                    .filter(|g| !g.is_empty())
                    .ok_or_else(|| Error::BadProperty(text(), "a group is one non-empty TXT string".into()))?;
                let e = ids.entry(id.clone()).or_default();
                if e.group.is_some() {
                    return Err(Error::BadProperty(text(), "more than one group".into()));
                }
                e.group = Some(g);
            }
            ([p, id, z], PTR) if z == b"zones" && p == b"coo" => {
                let target = ptr_target(rdata).map_err(|why| Error::BadProperty(text(), why))?;
                let e = ids.entry(id.clone()).or_default();
                if e.coo.is_some() {
                    return Err(Error::BadProperty(text(), "more than one coo".into()));
                }
                e.coo = Some(target);
            }
            _ => {} // SOA, NS, unknown and custom (ext) properties
        }
    }
    match version {
        None => return Err(Error::NoVersion),
        Some(Err(why)) => return Err(Error::Version(why)),
        Some(Ok(v)) if v != VERSION => return Err(Error::Version(format!("\"{v}\""))),
        Some(Ok(_)) => {}
    }
    let mut cat = Catalog::default();
    for (id, e) in ids {
        let Some(zone) = e.ptr else { continue }; // properties of no member
        let owner = || format!("{}.zones.{}", String::from_utf8_lossy(&id), name::to_text(apex));
        if zone.as_slice() == apex || zone == [0] {
            return Err(Error::BadPtr(owner(), "a member cannot be the catalog itself or the root".into()));
        }
        if cat.members.contains_key(&zone) {
            return Err(Error::Duplicate(name::to_text(&zone)));
        }
        cat.members.insert(zone.clone(), Member { zone, id, group: e.group, coo: e.coo });
    }
    if cat.members.len() > max_members {
        return Err(Error::TooMany(cat.members.len(), max_members));
    }
    Ok(cat)
}

/// What happened to one member between two versions of a catalog.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// A new member.
    Added(Member),
    /// A member no longer listed.
    Removed(Member),
    /// The same zone under a new unique id: drop its data, transfer anew.
    Reset(Member),
    /// The same member with another group (its settings change).
    Regrouped(Member),
}

/// The changes from `old` to `new`: removals first, then the rest in
/// the order of the members' wire names. A `coo`
/// change alone is not a change of the member (it only allows a move).
pub fn diff(old: &Catalog, new: &Catalog) -> Vec<Change> {
    let mut out = Vec::new();
    for (z, m) in &old.members {
        if !new.members.contains_key(z) {
            out.push(Change::Removed(m.clone()));
        }
    }
    for (z, m) in &new.members {
        match old.members.get(z) {
            None => out.push(Change::Added(m.clone())),
            Some(o) if o.id != m.id => out.push(Change::Reset(m.clone())),
            Some(o) if o.group != m.group => out.push(Change::Regrouped(m.clone())),
            Some(_) => {}
        }
    }
    out
}

/// Whether `member`, held by the catalog `owner` (its current content),
/// may move to the catalog `to`: `owner`'s `coo` property of that member
/// names `to` (RFC 9432 §5.6).
pub fn coo_allows(owner: &Catalog, member: &[u8], to: &[u8]) -> bool {
    let to = name::to_lowercase(to);
    owner.members.get(name::to_lowercase(member).as_slice()).and_then(|m| m.coo.as_deref()) == Some(to.as_slice())
}

/// A member's unique id as a producer makes it: the first 8 octets of
/// SHA-256 over its lower-case wire name, in hex. Stable across restarts
/// and equal on every producer that lists the same zone.
pub fn unique_id(zone: &[u8]) -> String {
    let h = Sha256::digest(name::to_lowercase(zone).as_slice());
    h[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// One record a producer serves (owner, type, TTL, RDATA; wire forms).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Owner, lower-case wire form.
    pub owner: Vec<u8>,
    /// Type.
    pub rtype: u16,
    /// TTL.
    pub ttl: u32,
    /// RDATA, uncompressed.
    pub rdata: Vec<u8>,
}

/// The TTL of generated records (RFC 9432 §7 suggests 0).
pub const TTL: u32 = 0;

/// The records of a catalog listing `members` (zone, group) with serial
/// `serial`: SOA and NS (`invalid.`, RFC 9432 §4.1), the version, and per
/// member its PTR under [`unique_id`] and its group. Sorted (SOA first).
pub fn generate(apex: &[u8], serial: u32, members: &[(Vec<u8>, Option<String>)]) -> Vec<Record> {
    let apex = name::to_lowercase(apex).as_slice().to_vec();
    let invalid = b"\x07invalid\x00".to_vec();
    let under = |labels: &[&[u8]]| -> Vec<u8> {
        let mut o = Vec::new();
        for l in labels {
            o.push(l.len() as u8);
            o.extend_from_slice(l);
        }
        o.extend_from_slice(&apex);
        o
    };
    let txt = |s: &[u8]| -> Vec<u8> {
        let s = &s[..s.len().min(255)];
        let mut o = vec![s.len() as u8];
        o.extend_from_slice(s);
        o
    };
    let mut soa = invalid.clone();
    soa.extend_from_slice(&invalid);
    for v in [serial, 3600, 600, 2_147_483_646, 0] {
        soa.extend_from_slice(&v.to_be_bytes());
    }
    let mut out = vec![
        Record { owner: apex.clone(), rtype: SOA, ttl: TTL, rdata: soa },
        Record { owner: apex.clone(), rtype: NS, ttl: TTL, rdata: invalid },
        Record { owner: under(&[b"version"]), rtype: TXT, ttl: TTL, rdata: txt(VERSION.as_bytes()) },
    ];
    for (zone, group) in members {
        let id = unique_id(zone);
        let zone = name::to_lowercase(zone).as_slice().to_vec();
        out.push(Record { owner: under(&[id.as_bytes(), b"zones"]), rtype: PTR, ttl: TTL, rdata: zone });
        if let Some(g) = group {
            let owner = under(&[b"group", id.as_bytes(), b"zones"]);
            out.push(Record { owner, rtype: TXT, ttl: TTL, rdata: txt(g.as_bytes()) });
        }
    }
    out
}

#[cfg(test)]
mod tests;
