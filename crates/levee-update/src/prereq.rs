//! The prerequisite section (RFC 2136 §3.2): each record is one test of
//! the zone as it is before the update; the first that fails decides the
//! response code. Value-dependent tests (class IN) are gathered per
//! RRset and compared after the others (§3.2.3), as the RFC's pseudocode
//! and BIND do.

use std::collections::BTreeMap;

use levee_wire::header::rcode;
use levee_wire::name;
use levee_wire::rtype::{c, t};
use levee_zone::Zone;

use crate::model::{zone_sets, Evaluation, Item};

/// Checks every prerequisite against `zone`.
pub(crate) fn check(zone: &Zone, prereqs: &[Item<'_>]) -> Result<(), Evaluation> {
    let fail = |rc, why| Err(Evaluation::fail(rc, why));
    let mut temp: BTreeMap<(Vec<u8>, u16), Vec<Vec<u8>>> = BTreeMap::new();
    for p in prereqs {
        if p.ttl != 0 {
            return fail(rcode::FORMERR, "prerequisite with a TTL");
        }
        if !name::is_subdomain(&p.owner, zone.apex()) {
            return fail(rcode::NOTZONE, "prerequisite outside the zone");
        }
        let sets = zone_sets(zone, &p.owner);
        match p.class {
            c::ANY | c::NONE if !p.rdata.is_empty() => return fail(rcode::FORMERR, "prerequisite with RDATA"),
            c::ANY if p.rtype == t::ANY => {
                if sets.is_empty() {
                    return fail(rcode::NXDOMAIN, "prerequisite: name not in use");
                }
            }
            c::ANY => {
                if !sets.contains_key(&p.rtype) {
                    return fail(rcode::NXRRSET, "prerequisite: RRset does not exist");
                }
            }
            c::NONE if p.rtype == t::ANY => {
                if !sets.is_empty() {
                    return fail(rcode::YXDOMAIN, "prerequisite: name in use");
                }
            }
            c::NONE => {
                if sets.contains_key(&p.rtype) {
                    return fail(rcode::YXRRSET, "prerequisite: RRset exists");
                }
            }
            c::IN => {
                if levee_wire::rtype::is_meta(p.rtype) {
                    return fail(rcode::FORMERR, "prerequisite of a meta type");
                }
                let v = temp.entry((p.owner.clone(), p.rtype)).or_default();
                if !v.iter().any(|r| r.as_slice() == p.rdata) {
                    v.push(p.rdata.to_vec());
                }
            }
            _ => return fail(rcode::FORMERR, "prerequisite of another class"),
        }
    }
    for ((owner, rtype), want) in temp {
        let sets = zone_sets(zone, &owner);
        let Some(have) = sets.get(&rtype) else {
            return fail(rcode::NXRRSET, "prerequisite: RRset values differ");
        };
        let same = have.rdatas.len() == want.len() && want.iter().all(|w| have.rdatas.iter().any(|h| h == w));
        if !same {
            return fail(rcode::NXRRSET, "prerequisite: RRset values differ");
        }
    }
    Ok(())
}
