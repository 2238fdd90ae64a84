//! What the other modules share: the result ([`Evaluation`]), the
//! working form of a name's RRsets ([`Sets`]) read from a snapshot, the
//! message's records with lowercased owners ([`Item`]), and the SOA
//! helpers. Depends on nothing else in the crate.

use std::collections::BTreeMap;

use levee_wire::name;
use levee_wire::rtype::t;
use levee_zone::journal::{Diff, Rr};
use levee_zone::Zone;

/// What an update did: the response code, and the difference when the
/// zone changed (`None` for an error or an update that changed nothing).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evaluation {
    /// The response code (NOERROR, FORMERR, NOTAUTH, NOTZONE, NXDOMAIN,
    /// YXDOMAIN, NXRRSET, YXRRSET, REFUSED).
    pub rcode: u16,
    /// The change, SOA included, ready for the journal.
    pub diff: Option<Diff>,
    /// Why, for the log and the metrics (a short, fixed phrase).
    pub reason: &'static str,
}

impl Evaluation {
    pub(crate) fn fail(rcode: u16, reason: &'static str) -> Evaluation {
        Evaluation { rcode, diff: None, reason }
    }
}

/// One RRset in the working copy: TTL and RDATAs (in the order added).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Set {
    pub(crate) ttl: u32,
    pub(crate) rdatas: Vec<Vec<u8>>,
}

/// The RRsets of one name, by type (RRSIG sets merged under RRSIG).
pub(crate) type Sets = BTreeMap<u16, Set>;

/// The RRsets of `owner` (lowercase wire) in the snapshot.
pub(crate) fn zone_sets(zone: &Zone, owner: &[u8]) -> Sets {
    let mut out = Sets::new();
    let Some(id) = zone.lookup(owner) else { return out };
    let first = zone.node_first_rrset(id);
    for k in 0..zone.node_rrsets(id).len() as u32 {
        let s = zone.rrset(first + k);
        let e = out.entry(s.rtype).or_insert_with(|| Set { ttl: s.ttl(), rdatas: Vec::new() });
        e.rdatas.extend(zone.rdatas(first + k).map(<[u8]>::to_vec));
    }
    out
}

/// A record of the message with its owner lowercased.
pub(crate) struct Item<'m> {
    pub(crate) owner: Vec<u8>,
    pub(crate) rtype: u16,
    pub(crate) class: u16,
    pub(crate) ttl: u32,
    pub(crate) rdata: &'m [u8],
}

pub(crate) fn items(recs: &[levee_wire::message::Record]) -> Vec<Item<'_>> {
    recs.iter()
        .map(|r| Item {
            owner: name::to_lowercase(&r.owner).as_slice().to_vec(),
            rtype: r.rtype,
            class: r.class,
            ttl: r.ttl,
            rdata: &r.rdata,
        })
        .collect()
}

/// The zone's SOA as a record.
pub(crate) fn soa_rr(zone: &Zone) -> Rr {
    let soa = zone.soa();
    Rr { owner: zone.apex().to_vec(), rtype: t::SOA, ttl: zone.rrset(soa).ttl(), rdata: zone.first_rdata(soa).to_vec() }
}

/// `rdata` (an SOA's) with its serial replaced.
pub(crate) fn with_serial(rdata: &[u8], serial: u32) -> Vec<u8> {
    let mut v = rdata.to_vec();
    let at = v.len().saturating_sub(20);
    if v.len() >= 20 {
        v[at..at + 4].copy_from_slice(&serial.to_be_bytes());
    }
    v
}

/// What a client's grant lets its updates touch (`allow-update` with
/// `name` and `type` lists): every record of the update section must be
/// at or below one of `names` (empty: anywhere in the zone) with one of
/// `types` (empty: any type; a restricted grant cannot delete every
/// RRset of a name, type ANY).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scope {
    /// Lowercase wire names.
    pub names: Vec<Vec<u8>>,
    /// Types.
    pub types: Vec<u16>,
}

impl Scope {
    /// Whether a record at `owner` (lowercase) of `rtype` is in scope.
    pub fn allows(&self, owner: &[u8], rtype: u16) -> bool {
        let named = self.names.is_empty() || self.names.iter().any(|n| name::is_subdomain(owner, n));
        let typed = self.types.is_empty() || (rtype != t::ANY && self.types.contains(&rtype));
        named && typed
    }
}
