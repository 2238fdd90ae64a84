//! The REST API's edits (issue 19), evaluated like an UPDATE: against the
//! snapshot served, without I/O, into the same [`Diff`] the update thread
//! logs, publishes and journals.
//!
//! * [`rrsets`]: an atomic list of RRset changes, each replacing an RRset
//!   (TTL and every record) or deleting it. The whole list is checked
//!   before anything is applied, and a refusal names the change and its
//!   field ([`Refusal`]): a name outside the zone, the SOA (its serial is
//!   levee's), a meta or DNSSEC type (the signer's), the apex NS RRset
//!   deleted or emptied, an empty RRset, a CNAME beside other data or
//!   with two records, one RRset changed twice. The serial rises by one.
//! * [`replace`]: a whole new version of the zone (its records, SOA
//!   first). The serial is the new version's when it is greater
//!   (RFC 1982) than the served one, else the served one plus one, so a
//!   secondary always sees a new serial.
//!
//! Both return `None` when nothing would change: the serial stays.

use std::collections::{BTreeMap, HashSet};

use levee_wire::name;
use levee_wire::rtype::{self, t};
use levee_wire::serial::Serial;
use levee_zone::journal::{Diff, Rr};
use levee_zone::Zone;

use crate::model::{soa_rr, with_serial, zone_sets, Set, Sets};

/// One RRset change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// The owner, lowercase wire form.
    pub owner: Vec<u8>,
    /// The type.
    pub rtype: u16,
    /// What to do.
    pub op: Op,
}

/// What a [`Change`] does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// The RRset becomes exactly these records (wire RDATA) with this TTL.
    Replace {
        /// TTL.
        ttl: u32,
        /// RDATAs (duplicates are merged).
        rdatas: Vec<Vec<u8>>,
    },
    /// The RRset goes (nothing if it is not there).
    Delete,
}

/// Why a list of changes was refused: the change (its index in the list),
/// the field (`name`, `type`, `ttl`, `records`, `records[J]`) and a
/// message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// Index of the change in the list.
    pub index: usize,
    /// The field of that change.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

fn refuse<T>(index: usize, field: &str, message: impl Into<String>) -> Result<T, Refusal> {
    Err(Refusal { index, field: field.into(), message: message.into() })
}

/// Types a client may not set: the SOA (levee raises its serial), meta
/// types, and the records a signer makes.
fn forbidden(rt: u16) -> Option<&'static str> {
    match rt {
        t::SOA => Some("the SOA is kept by levee (its serial rises with every change): PUT the zone to change it"),
        t::RRSIG | t::NSEC | t::NSEC3 => Some("DNSSEC records are made by the signer"),
        _ if rtype::is_meta(rt) => Some("a meta type is not an RRset"),
        _ => None,
    }
}

/// Checks one change on its own (see the module documentation).
fn check(apex: &[u8], i: usize, ch: &Change) -> Result<(), Refusal> {
    if !name::is_subdomain(&ch.owner, apex) {
        return refuse(i, "name", format!("{} is outside the zone {}", name::to_text(&ch.owner), name::to_text(apex)));
    }
    if let Some(why) = forbidden(ch.rtype) {
        return refuse(i, "type", why);
    }
    let at_apex = ch.owner.as_slice() == apex;
    match &ch.op {
        Op::Delete if at_apex && ch.rtype == t::NS => refuse(i, "type", "the apex NS RRset cannot be deleted"),
        Op::Delete => Ok(()),
        Op::Replace { rdatas, .. } if rdatas.is_empty() => {
            refuse(i, "records", "an RRset needs at least one record (delete it instead)")
        }
        Op::Replace { ttl, .. } if *ttl > i32::MAX as u32 => {
            refuse(i, "ttl", format!("{ttl} is over 2147483647 (RFC 2181)"))
        }
        Op::Replace { rdatas, .. } => {
            if ch.rtype == t::CNAME && rdatas.len() > 1 {
                return refuse(i, "records", "a CNAME RRset holds one record");
            }
            for (j, rd) in rdatas.iter().enumerate() {
                if let Err(e) = levee_zone::zonefile::check_record(ch.rtype, rd) {
                    return refuse(i, &format!("records[{j}]"), format!("malformed RDATA: {e}"));
                }
            }
            Ok(())
        }
    }
}

/// Applies `changes` (all or none) to `zone`; the difference, with the
/// serial raised by one, or `None` when nothing changes.
pub fn rrsets(zone: &Zone, changes: &[Change]) -> Result<Option<Diff>, Refusal> {
    let apex = zone.apex();
    let mut seen = HashSet::new();
    // Each touched name: its RRsets in the snapshot and as edited, and the
    // last change made there (named by a CNAME conflict).
    let mut names: BTreeMap<Vec<u8>, (Sets, Sets, usize)> = BTreeMap::new();
    for (i, ch) in changes.iter().enumerate() {
        check(apex, i, ch)?;
        if !seen.insert((ch.owner.clone(), ch.rtype)) {
            return refuse(i, "type", "this RRset is changed twice in one request");
        }
        let e = names.entry(ch.owner.clone()).or_insert_with(|| {
            let s = zone_sets(zone, &ch.owner);
            (s.clone(), s, i)
        });
        e.2 = i;
        match &ch.op {
            Op::Delete => {
                e.1.remove(&ch.rtype);
            }
            Op::Replace { ttl, rdatas } => {
                let mut uniq: Vec<Vec<u8>> = Vec::with_capacity(rdatas.len());
                for rd in rdatas {
                    if !uniq.contains(rd) {
                        uniq.push(rd.clone());
                    }
                }
                e.1.insert(ch.rtype, Set { ttl: *ttl, rdatas: uniq });
            }
        }
    }
    let (mut removed, mut added) = (Vec::new(), Vec::new());
    for (owner, (old, new, last)) in &names {
        let beside = |rt: &u16| !matches!(*rt, t::CNAME | t::RRSIG | t::NSEC);
        if new.contains_key(&t::CNAME) && new.keys().any(beside) {
            return refuse(*last, "type", format!("a CNAME beside other data at {}", name::to_text(owner)));
        }
        missing(owner, old, new, &mut removed);
        missing(owner, new, old, &mut added);
    }
    if removed.is_empty() && added.is_empty() {
        return Ok(None);
    }
    let old_soa = soa_rr(zone);
    let serial = zone.serial().wrapping_add(1).max(1);
    let new_soa = Rr { rdata: with_serial(&old_soa.rdata, serial), ..old_soa.clone() };
    removed.sort();
    added.sort();
    Ok(Some(Diff { old_soa, new_soa, removed, added }))
}

/// Pushes the records of `from` that `to` does not hold with the same TTL.
fn missing(owner: &[u8], from: &Sets, to: &Sets, out: &mut Vec<Rr>) {
    for (&rt, s) in from {
        let other = to.get(&rt);
        for rd in &s.rdatas {
            if !other.is_some_and(|o| o.ttl == s.ttl && o.rdatas.contains(rd)) {
                out.push(Rr { owner: owner.to_vec(), rtype: rt, ttl: s.ttl, rdata: rd.clone() });
            }
        }
    }
}

/// The difference from `zone` to the version whose records are `recs`
/// (lowercase owners, the SOA first, as `journal::records` gives them),
/// with the serial rule of the module documentation; `None` when the two
/// hold the same records and the same SOA apart from a serial that is
/// not greater.
pub fn replace(zone: &Zone, recs: &[Rr]) -> Option<Diff> {
    let old_soa = soa_rr(zone);
    let new = recs.iter().find(|r| r.rtype == t::SOA && r.owner.as_slice() == zone.apex())?;
    let is_soa = |r: &&Rr| r.rtype == t::SOA && r.owner.as_slice() == zone.apex();
    let old: HashSet<Rr> = levee_zone::journal::records(zone).into_iter().filter(|r| !is_soa(&r)).collect();
    let next: HashSet<&Rr> = recs.iter().filter(|r| !is_soa(r)).collect();
    let mut removed: Vec<Rr> = old.iter().filter(|r| !next.contains(r)).cloned().collect();
    let mut added: Vec<Rr> = next.iter().filter(|r| !old.contains(**r)).map(|r| (*r).clone()).collect();
    let (from, to) = (zone.serial(), levee_wire::soa::serial(&new.rdata).unwrap_or(0));
    let same_soa = with_serial(&new.rdata, from) == old_soa.rdata && new.ttl == old_soa.ttl;
    let raised = Serial(to) > Serial(from);
    if removed.is_empty() && added.is_empty() && same_soa && !raised {
        return None;
    }
    let serial = if raised { to } else { from.wrapping_add(1).max(1) };
    let new_soa =
        Rr { owner: zone.apex().to_vec(), rtype: t::SOA, ttl: new.ttl, rdata: with_serial(&new.rdata, serial) };
    removed.sort();
    added.sort();
    Some(Diff { old_soa, new_soa, removed, added })
}

#[cfg(test)]
mod tests {
    use super::*;
    use levee_zone::journal;
    use levee_zone::Source;

    const ZONE: &str = "$ORIGIN ex.test.\n$TTL 300\n@ SOA ns1 host 100 3600 600 86400 300\n@ NS ns1\n\
                        ns1 A 192.0.2.1\nwww A 192.0.2.10\nalias CNAME www\n";

    fn n(s: &str) -> Vec<u8> {
        name::to_lowercase(&name::from_text(s, None).unwrap()).as_slice().to_vec()
    }

    fn zone(text: &str) -> Zone {
        levee_zone::load(Source::Memory { name: "t", data: text.as_bytes() }, &n("ex.test.")).unwrap().zone
    }

    fn set(owner: &str, rtype: u16, ttl: u32, rdatas: &[&[u8]]) -> Change {
        Change { owner: n(owner), rtype, op: Op::Replace { ttl, rdatas: rdatas.iter().map(|r| r.to_vec()).collect() } }
    }

    fn del(owner: &str, rtype: u16) -> Change {
        Change { owner: n(owner), rtype, op: Op::Delete }
    }

    fn applied(z: &Zone, d: &Diff) -> Vec<Rr> {
        let mut r = journal::apply(&journal::records(z), d).unwrap();
        r.sort();
        r
    }

    #[test]
    fn replace_and_delete_in_one_step() {
        let z = zone(ZONE);
        let d = rrsets(
            &z,
            &[set("www.ex.test.", t::A, 60, &[&[192, 0, 2, 20], &[192, 0, 2, 20]]), del("alias.ex.test.", t::CNAME)],
        )
        .unwrap()
        .unwrap();
        assert_eq!((d.from(), d.to()), (100, 101));
        let after = applied(&z, &d);
        let www: Vec<_> = after.iter().filter(|r| r.owner == n("www.ex.test.")).collect();
        assert_eq!(www.len(), 1, "duplicates merged");
        assert_eq!((www[0].ttl, www[0].rdata.as_slice()), (60, &[192u8, 0, 2, 20][..]));
        assert!(!after.iter().any(|r| r.owner == n("alias.ex.test.")));
        // The same replacement again changes nothing.
        let z2 = zone("$ORIGIN ex.test.\n$TTL 300\n@ SOA ns1 host 101 3600 600 86400 300\n@ NS ns1\nns1 A 192.0.2.1\nwww 60 A 192.0.2.20\n");
        assert_eq!(rrsets(&z2, &[set("www.ex.test.", t::A, 60, &[&[192, 0, 2, 20]])]), Ok(None));
    }

    #[test]
    fn refusals_name_the_change_and_field() {
        let z = zone(ZONE);
        let a = |s: &str| set(s, t::A, 60, &[&[192, 0, 2, 1]]);
        let field = |ch: Vec<Change>| rrsets(&z, &ch).map(|_| ()).unwrap_err();
        let r = field(vec![a("x.ex.test."), a("www.other.")]);
        assert_eq!((r.index, r.field.as_str()), (1, "name"));
        assert_eq!(field(vec![del("ex.test.", t::SOA)]).field, "type");
        assert_eq!(field(vec![del("ex.test.", t::NS)]).field, "type");
        assert_eq!(field(vec![set("x.ex.test.", t::A, 60, &[])]).field, "records");
        assert_eq!(field(vec![set("x.ex.test.", t::A, 60, &[&[1, 2, 3]])]).field, "records[0]");
        assert_eq!(field(vec![set("x.ex.test.", t::A, 1 << 31, &[&[1, 2, 3, 4]])]).field, "ttl");
        let r = field(vec![a("y.ex.test."), a("alias.ex.test.")]);
        assert_eq!((r.index, r.field.as_str()), (1, "type"), "{r:?}");
        assert!(r.message.contains("CNAME"));
        let r = field(vec![a("y.ex.test."), a("y.ex.test.")]);
        assert_eq!(r.index, 1);
        // Replacing the CNAME by an A in one request is fine.
        assert!(rrsets(&z, &[del("alias.ex.test.", t::CNAME), a("alias.ex.test.")]).unwrap().is_some());
    }

    #[test]
    fn whole_zone_replacement_raises_the_serial() {
        let z = zone(ZONE);
        let recs = |text: &str| journal::records(&zone(text));
        // A lower serial in the new text: the served one plus one.
        let d = replace(
            &z,
            &recs("$ORIGIN ex.test.\n@ 300 SOA ns1 host 5 3600 600 86400 300\n@ 300 NS ns1\nns1 300 A 192.0.2.1\n"),
        )
        .unwrap();
        assert_eq!((d.from(), d.to()), (100, 101));
        assert_eq!(d.removed.len(), 2, "www and alias");
        assert!(d.added.is_empty());
        // A higher one is kept.
        let d = replace(&z, &recs(&ZONE.replace(" 100 ", " 900 "))).unwrap();
        assert_eq!((d.to(), d.removed.len(), d.added.len()), (900, 0, 0));
        // The same zone under any serial: nothing.
        assert_eq!(replace(&z, &recs(&ZONE.replace(" 100 ", " 7 "))), None);
    }
}
