//! The update section (RFC 2136 §3.4): the prescan that refuses a
//! malformed update before anything is applied, and the application of
//! each record to a working copy of the names it touches ([`Work`]),
//! which ends as a difference against the snapshot.

use std::collections::BTreeMap;

use levee_wire::header::rcode;
use levee_wire::name;
use levee_wire::rtype::{self, c, t};
use levee_wire::serial::Serial;
use levee_zone::journal::{Diff, Rr};
use levee_zone::Zone;

use crate::model::{soa_rr, with_serial, zone_sets, Evaluation, Item, Scope, Set, Sets};

/// The prescan (§3.4.1): every record inside the zone, of an allowed
/// class/type/TTL combination, with RDATA that is well formed.
pub(crate) fn prescan(apex: &[u8], updates: &[Item<'_>], scopes: Option<&[Scope]>) -> Result<(), Evaluation> {
    let fail = |rc, why| Err(Evaluation::fail(rc, why));
    for u in updates {
        if !name::is_subdomain(&u.owner, apex) {
            return fail(rcode::NOTZONE, "update outside the zone");
        }
        let meta = rtype::is_meta(u.rtype);
        match u.class {
            c::IN => {
                if meta {
                    return fail(rcode::FORMERR, "addition of a meta type");
                }
                if levee_zone::zonefile::check_record(u.rtype, u.rdata).is_err() {
                    return fail(rcode::FORMERR, "addition with malformed RDATA");
                }
            }
            c::ANY => {
                if u.ttl != 0 || !u.rdata.is_empty() || (meta && u.rtype != t::ANY) {
                    return fail(rcode::FORMERR, "malformed RRset deletion");
                }
            }
            c::NONE => {
                if u.ttl != 0 || meta {
                    return fail(rcode::FORMERR, "malformed record deletion");
                }
            }
            _ => return fail(rcode::FORMERR, "update of another class"),
        }
        if scopes.is_some_and(|sc| !sc.iter().any(|s| s.allows(&u.owner, u.rtype))) {
            return fail(rcode::REFUSED, "update outside the client's grant");
        }
    }
    Ok(())
}

/// Types that may sit beside a CNAME (BIND's "atcname" types).
fn beside_cname(rt: u16) -> bool {
    matches!(rt, t::CNAME | t::RRSIG | t::NSEC)
}

/// The names an update touched: for each, its RRsets in the snapshot and
/// as the update left them.
pub(crate) struct Work<'z> {
    zone: &'z Zone,
    names: BTreeMap<Vec<u8>, (Sets, Sets)>,
    /// An added SOA replaced the zone's (its serial is not incremented).
    soa_replaced: bool,
}

impl<'z> Work<'z> {
    pub(crate) fn new(zone: &'z Zone) -> Work<'z> {
        Work { zone, names: BTreeMap::new(), soa_replaced: false }
    }

    /// The working RRsets of `owner`, read from the snapshot on first use.
    fn sets(&mut self, owner: &[u8]) -> &mut Sets {
        let zone = self.zone;
        let e = self.names.entry(owner.to_vec()).or_insert_with(|| {
            let s = zone_sets(zone, owner);
            (s.clone(), s)
        });
        &mut e.1
    }

    /// Applies one (prescanned) update record.
    pub(crate) fn apply(&mut self, u: &Item<'_>) {
        let at_apex = u.owner.as_slice() == self.zone.apex();
        match u.class {
            c::IN => self.add(u, at_apex),
            c::ANY if u.rtype == t::ANY => {
                // Every RRset of the name; the apex keeps its SOA and NS.
                self.sets(&u.owner).retain(|&rt, _| at_apex && matches!(rt, t::SOA | t::NS));
            }
            c::ANY => {
                if !(at_apex && matches!(u.rtype, t::SOA | t::NS)) {
                    self.sets(&u.owner).remove(&u.rtype);
                }
            }
            _ => self.delete_rr(u, at_apex),
        }
    }

    /// Class NONE: deletes one record; never the SOA, never the apex's
    /// last NS.
    fn delete_rr(&mut self, u: &Item<'_>, at_apex: bool) {
        if u.rtype == t::SOA {
            return;
        }
        let sets = self.sets(&u.owner);
        if at_apex && u.rtype == t::NS && sets.get(&t::NS).is_some_and(|s| s.rdatas.len() <= 1) {
            return;
        }
        if let Some(s) = sets.get_mut(&u.rtype) {
            s.rdatas.retain(|r| r.as_slice() != u.rdata);
            if s.rdatas.is_empty() {
                sets.remove(&u.rtype);
            }
        }
    }

    /// Class IN: adds a record under the SOA, CNAME and duplicate rules.
    fn add(&mut self, u: &Item<'_>, at_apex: bool) {
        let sets = self.sets(&u.owner);
        match u.rtype {
            t::SOA => {
                let Some(cur) = sets.get(&t::SOA).filter(|_| at_apex) else { return };
                let (Some(old), Some(new)) =
                    (levee_wire::soa::serial(&cur.rdatas[0]), levee_wire::soa::serial(u.rdata))
                else {
                    return;
                };
                if Serial(new) < Serial(old) || (cur.rdatas[0] == u.rdata && cur.ttl == u.ttl) {
                    return;
                }
                sets.insert(t::SOA, Set { ttl: u.ttl, rdatas: vec![u.rdata.to_vec()] });
                self.soa_replaced = true;
                return;
            }
            t::CNAME => {
                if sets.keys().any(|&rt| !beside_cname(rt)) {
                    return;
                }
                if sets.get(&t::CNAME).is_some_and(|s| s.rdatas[0] != u.rdata) {
                    sets.remove(&t::CNAME);
                }
            }
            rt if !beside_cname(rt) && sets.contains_key(&t::CNAME) => return,
            _ => {}
        }
        let s = sets.entry(u.rtype).or_insert_with(|| Set { ttl: u.ttl, rdatas: Vec::new() });
        if !s.rdatas.iter().any(|r| r.as_slice() == u.rdata) {
            s.rdatas.push(u.rdata.to_vec());
        }
        // A TTL different from the RRset's becomes the whole RRset's.
        s.ttl = u.ttl;
    }

    /// The difference the update makes, with the SOA serial raised
    /// (unless an added SOA set it); `None` if nothing changed.
    pub(crate) fn into_diff(self) -> Option<Diff> {
        let zone = self.zone;
        let apex = zone.apex();
        let old_soa = soa_rr(zone);
        let (mut removed, mut added) = (Vec::new(), Vec::new());
        for (owner, (old, new)) in &self.names {
            let at_apex = owner.as_slice() == apex;
            let skip = |rt: u16| at_apex && rt == t::SOA;
            records_missing(owner, old, new, &skip, &mut removed);
            records_missing(owner, new, old, &skip, &mut added);
        }
        let replaced = self.names.get(apex).and_then(|(_, new)| new.get(&t::SOA)).filter(|_| self.soa_replaced);
        if removed.is_empty() && added.is_empty() && replaced.is_none() {
            return None;
        }
        let new_soa = match replaced {
            Some(s) => Rr { owner: apex.to_vec(), rtype: t::SOA, ttl: s.ttl, rdata: s.rdatas[0].clone() },
            None => {
                let serial = zone.serial().wrapping_add(1).max(1);
                Rr { rdata: with_serial(&old_soa.rdata, serial), ..old_soa.clone() }
            }
        };
        removed.sort();
        added.sort();
        Some(Diff { old_soa, new_soa, removed, added })
    }
}

/// Pushes the records of `from` that `to` does not hold with the same TTL.
fn records_missing(owner: &[u8], from: &Sets, to: &Sets, skip: &dyn Fn(u16) -> bool, out: &mut Vec<Rr>) {
    for (&rt, s) in from {
        if skip(rt) {
            continue;
        }
        let other = to.get(&rt);
        for rd in &s.rdatas {
            let kept = other.is_some_and(|o| o.ttl == s.ttl && o.rdatas.contains(rd));
            if !kept {
                out.push(Rr { owner: owner.to_vec(), rtype: rt, ttl: s.ttl, rdata: rd.clone() });
            }
        }
    }
}
