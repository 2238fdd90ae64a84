//! Incremental re-signing (issue 18): a difference of a signed zone's
//! unsigned data (a reload's comparison of the file with the served
//! version, `levee_zone::file_changes`; an update; an IXFR in) signed on
//! the served snapshot, without a pass over the whole zone.
//!
//! [`sign_diff`] computes what a full signing of the new data would change
//! in the served version, and nothing else:
//!
//! * the changed RRsets, and their RRSIGs made again (or dropped, when an
//!   RRset goes or stops being authoritative: at a delegation only DS is
//!   signed, glue never);
//! * the denial chain: with NSEC, the NSEC of every changed name and of
//!   the names before the names that enter or leave the chain; with NSEC3,
//!   the same over the hashes of the changed names and of their ancestors
//!   (empty non-terminals appear and disappear), opt-out respected
//!   (insecure delegations, and empty non-terminals above only them, stay
//!   out); each record rewritten is signed again;
//! * the SOA (the serial the caller chose) and its RRSIG.
//!
//! The result is a `journal::Diff` of the signed zone: the caller builds
//! the next version with `levee_zone::apply_diff` (sharing unchanged
//! segments) and the same difference goes into the IXFR journal. Only
//! names near the change are visited: the neighbours in the chain are
//! found on the served snapshot (its canonical order for NSEC, its hash
//! order for NSEC3).
//!
//! It answers `None` (the caller signs in full) when the incremental path
//! would be wrong or not worth it: the keys or the denial parameters
//! changed, a signature or a rollover step is due, the SOA's TTL or
//! minimum changed (every chain record's TTL follows them), a name with
//! names below it becomes or stops being a zone cut or a DNAME (the names
//! below change status), a DNAME at the apex, a DNSKEY of another key
//! added or removed (the signer's DNSKEYs take its TTL), or more than
//! [`MAX_FRACTION`] of the zone's records changed.
//! `tests::incremental_equals_full` checks the result against a full
//! signing of the same data, record for record.

use std::collections::{BTreeMap, BTreeSet};

use levee_sign::denial::{base32hex, type_bitmap, Nsec3Params};
use levee_sign::rrsig::RrsetRef;
use levee_sign::{Denial, Key, Policy};
use levee_wire::name;
use levee_wire::rtype::t;
use levee_zone::journal::{Diff, Rr};
use levee_zone::{nf, NodeId, Zone};

/// A difference of more than this share of the zone's records is signed
/// in full (the incremental path's bookkeeping per change costs more than
/// a full pass's per record; below it, the full pass costs more).
pub const MAX_FRACTION: f64 = 0.1;

/// What is signed: the served version, the unsigned change, the keys.
pub struct Change<'a> {
    /// The signed version served.
    pub served: &'a Zone,
    /// Unsigned records removed (owners lowercase, SOA excluded).
    pub removed: Vec<Rr>,
    /// Unsigned records added.
    pub added: Vec<Rr>,
    /// The new SOA record (its serial chosen by the caller).
    pub soa: Rr,
    /// The keys, as they sign now.
    pub keys: &'a [Key],
    /// The signer's policy.
    pub policy: &'a Policy,
    /// Now (seconds since the epoch).
    pub now: u32,
}

/// One RRset in the new version: TTL and RDATAs (canonical order).
type Set = (u32, Vec<Vec<u8>>);

/// A name's RRsets (not RRSIG, NSEC or NSEC3), by type.
type Types = BTreeMap<u16, Set>;

/// The signed difference, or `Err(why)` when the zone must be signed in
/// full (see the module documentation).
pub fn sign_diff(ch: Change<'_>) -> Result<Result<Diff, &'static str>, String> {
    let z = ch.served;
    let apex = z.apex().to_vec();
    let limit = (z.record_count() as f64 * MAX_FRACTION) as usize + 16;
    if ch.removed.len() + ch.added.len() > limit {
        return Ok(Err("a large difference"));
    }
    if !denial_matches(z, &ch.policy.denial) {
        return Ok(Err("the denial changed"));
    }
    if !keys_match(z, ch.keys) {
        return Ok(Err("the keys changed"));
    }
    let old_soa =
        Rr { owner: apex.clone(), rtype: t::SOA, ttl: z.rrset(z.soa()).ttl(), rdata: z.first_rdata(z.soa()).to_vec() };
    if ch.soa.ttl != old_soa.ttl || soa_minimum(&ch.soa.rdata) != soa_minimum(&old_soa.rdata) {
        return Ok(Err("the SOA's TTL or minimum changed"));
    }
    let mut s = Signer {
        z,
        ch: &ch,
        apex: apex.clone(),
        neg_ttl: ch.soa.ttl.min(soa_minimum(&ch.soa.rdata)),
        new: BTreeMap::new(),
        out: Diff { old_soa, new_soa: ch.soa.clone(), removed: Vec::new(), added: Vec::new() },
    };
    if let Err(why) = s.collect()? {
        return Ok(Err(why));
    }
    if s.new.get(&CName(apex.clone())).is_some_and(|ty| ty.contains_key(&t::DNAME))
        || z.node(z.apex_id()).has(nf::DNAME)
    {
        return Ok(Err("a DNAME at the apex"));
    }
    if s.cut_flips() {
        return Ok(Err("a name with names below became or stopped being a cut or a DNAME"));
    }
    s.rrsets()?;
    match &ch.policy.denial {
        Denial::Nsec => s.nsec()?,
        Denial::Nsec3(p) => s.nsec3(p)?,
        Denial::Compact => {}
    }
    Ok(Ok(s.out))
}

/// A wire name ordered canonically (RFC 4034 §6.1).
#[derive(Clone, PartialEq, Eq, Debug)]
struct CName(Vec<u8>);

impl Ord for CName {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        name::canonical_cmp(&self.0, &o.0)
    }
}

impl PartialOrd for CName {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}

fn soa_minimum(rdata: &[u8]) -> u32 {
    rdata.len().checked_sub(4).map_or(0, |p| u32::from_be_bytes([rdata[p], rdata[p + 1], rdata[p + 2], rdata[p + 3]]))
}

/// True if the served version was signed with the denial `d`.
fn denial_matches(z: &Zone, d: &Denial) -> bool {
    match d {
        Denial::Nsec => z.has_nsec() && z.nsec3param().is_none(),
        Denial::Compact => !z.has_nsec() && z.nsec3param().is_none(),
        Denial::Nsec3(p) => {
            z.nsec3_chain_len() > 0
                && z.nsec3param().is_some_and(|q| q.alg == 1 && q.iterations == p.iterations && q.salt == p.salt)
        }
    }
}

/// True if the served version's apex holds every key's DNSKEY and its
/// SOA and DNSKEY RRsets are signed by exactly the keys that sign now.
fn keys_match(z: &Zone, keys: &[Key]) -> bool {
    let id = z.apex_id();
    let Some(dk) = z.find(id, t::DNSKEY) else { return false };
    let have: BTreeSet<&[u8]> = z.rdatas(dk).collect();
    if !keys.iter().filter(|k| k.published()).all(|k| have.contains(k.dnskey())) {
        return false;
    }
    let signers = |rs: u32| -> BTreeSet<u16> {
        let g = z.sigs(rs);
        if g == levee_zone::NONE {
            return BTreeSet::new();
        }
        z.rdatas(g).filter(|r| r.len() >= 18).map(|r| u16::from_be_bytes([r[16], r[17]])).collect()
    };
    let signing: Vec<&Key> = keys.iter().filter(|k| k.signs()).collect();
    let split = signing.iter().any(|k| k.is_sep()) && signing.iter().any(|k| !k.is_sep());
    let want = |ksk: bool| -> BTreeSet<u16> {
        signing.iter().filter(|k| !split || k.is_sep() == ksk).map(|k| k.tag()).collect()
    };
    signers(z.soa()) == want(false) && signers(dk) == want(true)
}

/// A node's RRsets (not RRSIG, NSEC, NSEC3).
fn types_of(z: &Zone, id: NodeId) -> Types {
    let mut out = Types::new();
    let first = z.node_first_rrset(id);
    for k in 0..z.node_rrsets(id).len() as u32 {
        let s = z.rrset(first + k);
        if !matches!(s.rtype, t::RRSIG | t::NSEC | t::NSEC3) {
            out.insert(s.rtype, (s.ttl(), z.rdatas(first + k).map(<[u8]>::to_vec).collect()));
        }
    }
    out
}

struct Signer<'a> {
    z: &'a Zone,
    ch: &'a Change<'a>,
    apex: Vec<u8>,
    neg_ttl: u32,
    /// The changed names' RRsets in the new version.
    new: BTreeMap<CName, Types>,
    out: Diff,
}

impl Signer<'_> {
    /// The changed names and their new RRsets. `Err(why)`: signed in full
    /// (a record to remove is not there, another key's DNSKEY).
    fn collect(&mut self) -> Result<Result<(), &'static str>, String> {
        let z = self.z;
        let ours = |r: &Rr| {
            matches!(r.rtype, t::RRSIG | t::NSEC | t::NSEC3 | t::NSEC3PARAM)
                || (r.rtype == t::DNSKEY && self.ch.keys.iter().any(|k| k.dnskey() == r.rdata.as_slice()))
        };
        let mut changes: BTreeMap<CName, (Vec<&Rr>, Vec<&Rr>)> = BTreeMap::new();
        changes.entry(CName(self.apex.clone())).or_default();
        for (r, rem) in self.ch.removed.iter().map(|r| (r, true)).chain(self.ch.added.iter().map(|r| (r, false))) {
            if ours(r) || r.rtype == t::SOA {
                continue;
            }
            if r.rtype == t::DNSKEY {
                // Another key's DNSKEY: the signer's own take its TTL
                // (signed in full).
                return Ok(Err("another key's DNSKEY changed"));
            }
            if !name::is_subdomain(&r.owner, &self.apex) {
                return Err(format!("{} is outside the zone", name::to_text(&r.owner)));
            }
            let e = changes.entry(CName(name::to_lowercase(&r.owner).as_slice().to_vec())).or_default();
            if rem {
                e.0.push(r);
            } else {
                e.1.push(r);
            }
        }
        for (owner, (removed, added)) in changes {
            let mut ty = z.lookup(&owner.0).map(|id| types_of(z, id)).unwrap_or_default();
            if owner.0 == self.apex {
                ty.insert(t::SOA, (self.ch.soa.ttl, vec![self.ch.soa.rdata.clone()]));
            }
            // With each record its TTL, to take the RRset's from the
            // first in canonical order, as the full signer does.
            let mut recs: BTreeMap<u16, BTreeMap<Vec<u8>, u32>> = BTreeMap::new();
            for (rt, (ttl, rds)) in &ty {
                recs.entry(*rt).or_default().extend(rds.iter().map(|rd| (rd.clone(), *ttl)));
            }
            for r in removed {
                let gone = recs.get_mut(&r.rtype).and_then(|m| m.remove(&r.rdata));
                if gone.is_none() {
                    return Ok(Err("a record to remove is not there"));
                }
            }
            for r in added {
                recs.entry(r.rtype).or_default().insert(r.rdata.clone(), r.ttl);
            }
            let ty: Types = recs
                .into_iter()
                .filter(|(_, m)| !m.is_empty())
                .map(|(rt, m)| {
                    let ttl = *m.values().next().unwrap_or(&0);
                    (rt, (ttl, m.into_keys().collect()))
                })
                .collect();
            self.new.insert(owner, ty);
        }
        Ok(Ok(()))
    }

    /// The types of `n` in the new version.
    fn types(&self, n: &[u8]) -> Types {
        match self.new.get(&CName(n.to_vec())) {
            Some(t) => t.clone(),
            None => self.z.lookup(n).map(|id| types_of(self.z, id)).unwrap_or_default(),
        }
    }

    /// True if `n` is a zone cut or owns a DNAME in the new version.
    fn cut_or_dname(&self, n: &[u8]) -> bool {
        match self.new.get(&CName(n.to_vec())) {
            Some(ty) => (n != self.apex && ty.contains_key(&t::NS)) || ty.contains_key(&t::DNAME),
            None => self.z.lookup(n).is_some_and(|id| self.z.node(id).flags & (nf::CUT | nf::DNAME) != 0),
        }
    }

    /// True if `n` is below a cut or a DNAME in the new version.
    fn occluded(&self, n: &[u8]) -> bool {
        let mut p = name::parent(n);
        while p.len() > self.apex.len() {
            if self.cut_or_dname(p) {
                return true;
            }
            p = name::parent(p);
        }
        false
    }

    /// True if a changed name with names below it in the served version
    /// becomes or stops being a cut or a DNAME.
    fn cut_flips(&self) -> bool {
        let z = self.z;
        self.new.keys().any(|n| {
            let was = z.lookup(&n.0).is_some_and(|id| z.node(id).flags & (nf::CUT | nf::DNAME) != 0);
            if was == self.cut_or_dname(&n.0) {
                return false;
            }
            let after = match z.node_at_or_before(&n.0) {
                Some(id) => z.next_node(id),
                None => Some(z.apex_id()),
            };
            after.is_some_and(|a| name::is_subdomain(z.node_name(a), &n.0) && z.node_name(a) != n.0.as_slice())
        })
    }

    /// Signs one RRset and adds its RRSIGs to the difference.
    fn sign(&mut self, owner: &[u8], rtype: u16, ttl: u32, rdatas: &[Vec<u8>]) -> Result<(), String> {
        let refs: Vec<&[u8]> = rdatas.iter().map(Vec::as_slice).collect();
        let set = RrsetRef { owner, rtype, class: 1, ttl, rdatas: &refs };
        let ksk = owner == self.apex.as_slice() && matches!(rtype, t::DNSKEY | t::CDS | t::CDNSKEY);
        let sigs = levee_sign::sign_rrset(&set, self.ch.keys, ksk, &self.apex, self.ch.policy, self.ch.now)
            .map_err(|e| e.to_string())?;
        self.out.added.extend(sigs.into_iter().map(|rdata| Rr { owner: owner.to_vec(), rtype: t::RRSIG, ttl, rdata }));
        Ok(())
    }

    /// Removes the served RRSIGs of (`id`, `rtype`).
    fn unsign(&mut self, id: NodeId, rtype: u16) {
        let z = self.z;
        let Some(rs) = z.find(id, rtype) else { return };
        let g = z.sigs(rs);
        if g == levee_zone::NONE {
            return;
        }
        let (owner, ttl) = (z.node_name(id), z.rrset(g).ttl());
        for rdata in z.rdatas(g) {
            self.out.removed.push(Rr { owner: owner.to_vec(), rtype: t::RRSIG, ttl, rdata: rdata.to_vec() });
        }
    }

    /// The changed names' RRsets and their signatures.
    fn rrsets(&mut self) -> Result<(), String> {
        let z = self.z;
        let names: Vec<(CName, Types)> = self.new.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        for (owner, new) in names {
            let n = owner.0.as_slice();
            let id = z.lookup(n);
            let old = id.map(|id| types_of(z, id)).unwrap_or_default();
            let old_occluded = id.is_some_and(|id| z.node(id).flags & (nf::BELOW_CUT | nf::BELOW_DNAME) != 0);
            let old_cut = id.is_some_and(|id| z.node(id).has(nf::CUT));
            let occluded = self.occluded(n);
            let cut = n != self.apex.as_slice() && new.contains_key(&t::NS);
            let all: BTreeSet<u16> = old.keys().chain(new.keys()).copied().collect();
            for rt in all {
                let (o, w) = (old.get(&rt), new.get(&rt));
                let same = o == w;
                if !same && rt != t::SOA {
                    let rr = |rd: &Vec<u8>, ttl: u32| Rr { owner: n.to_vec(), rtype: rt, ttl, rdata: rd.clone() };
                    if let Some((ttl, rds)) = o {
                        self.out.removed.extend(rds.iter().map(|rd| rr(rd, *ttl)));
                    }
                    if let Some((ttl, rds)) = w {
                        self.out.added.extend(rds.iter().map(|rd| rr(rd, *ttl)));
                    }
                }
                let was_signed = o.is_some() && !old_occluded && (!old_cut || rt == t::DS);
                let signed = w.is_some() && !occluded && (!cut || rt == t::DS);
                if was_signed && (!signed || !same || rt == t::SOA) {
                    self.unsign(id.unwrap_or(levee_zone::NONE), rt);
                }
                if signed && (!was_signed || !same || rt == t::SOA) {
                    let (ttl, rds) = w.cloned().unwrap_or_default();
                    self.sign(n, rt, ttl, &rds)?;
                }
            }
        }
        Ok(())
    }

    /// The types a name lists in its NSEC or NSEC3 bitmap (without NSEC,
    /// NSEC3 and RRSIG), if it is authoritative with data; and whether it
    /// is a delegation without DS.
    fn listed(&self, n: &[u8], ty: &Types) -> Option<(Vec<u16>, bool)> {
        if ty.is_empty() || self.occluded(n) {
            return None;
        }
        let cut = n != self.apex.as_slice() && ty.contains_key(&t::NS);
        let types: Vec<u16> = ty.keys().copied().filter(|&rt| !cut || rt == t::NS || rt == t::DS).collect();
        Some((types, cut && !ty.contains_key(&t::DS)))
    }
}

/// The next or previous member of a chain after an edit: the served
/// chain's members (`served_step`, strictly after or before a key, no
/// wrap) less `gone`, and the members `came`.
struct Chain<'c, K: Ord + Clone> {
    served_step: &'c dyn Fn(Option<&K>, bool) -> Option<K>,
    gone: &'c BTreeSet<K>,
    came: &'c BTreeSet<K>,
}

impl<K: Ord + Clone> Chain<'_, K> {
    fn served(&self, from: Option<&K>, forward: bool) -> Option<K> {
        let mut k = (self.served_step)(from, forward);
        while let Some(x) = k.as_ref().filter(|x| self.gone.contains(x)) {
            k = (self.served_step)(Some(x), forward);
        }
        k
    }

    /// The member after `k` (wrapping around).
    fn next(&self, k: &K) -> Option<K> {
        let a = self.served(Some(k), true);
        let b = self.came.range((std::ops::Bound::Excluded(k), std::ops::Bound::Unbounded)).next().cloned();
        match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (Some(a), None) => Some(a),
            (None, Some(b)) => Some(b),
            (None, None) => {
                let a = self.served(None, true);
                let b = self.came.iter().next().cloned();
                [a, b].into_iter().flatten().min()
            }
        }
    }

    /// The member before `k` (wrapping around).
    fn prev(&self, k: &K) -> Option<K> {
        let a = self.served(Some(k), false);
        let b = self.came.range(..k.clone()).next_back().cloned();
        match (a, b) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (Some(a), None) => Some(a),
            (None, Some(b)) => Some(b),
            (None, None) => {
                let a = self.served(None, false);
                let b = self.came.iter().next_back().cloned();
                [a, b].into_iter().flatten().max()
            }
        }
    }
}

impl Signer<'_> {
    /// The NSEC chain: changed names, and the names before those that
    /// enter or leave it.
    fn nsec(&mut self) -> Result<(), String> {
        let z = self.z;
        let (mut gone, mut came) = (BTreeSet::new(), BTreeSet::new());
        let mut bitmaps: BTreeMap<CName, Vec<u8>> = BTreeMap::new();
        for (n, ty) in &self.new {
            let was = z.lookup(&n.0).is_some_and(|id| z.node(id).has(nf::NSEC));
            match self.listed(&n.0, ty) {
                Some((mut types, _)) => {
                    types.extend([t::NSEC, t::RRSIG]);
                    bitmaps.insert(n.clone(), type_bitmap(&types));
                    if !was {
                        came.insert(n.clone());
                    }
                }
                None if was => {
                    gone.insert(n.clone());
                }
                None => {}
            }
        }
        let step = |from: Option<&CName>, forward: bool| -> Option<CName> {
            let mut id = match from {
                Some(k) => {
                    let at = z.node_at_or_before(&k.0);
                    match (at, forward) {
                        (Some(a), true) => z.next_node(a),
                        (None, true) => Some(z.apex_id()),
                        (Some(a), false) if z.node_name(a) == k.0.as_slice() => z.prev_node(a),
                        (a, false) => a,
                    }
                }
                None if forward => Some(z.apex_id()),
                None => last_node(z),
            };
            while let Some(i) = id {
                if z.node(i).has(nf::NSEC) {
                    return Some(CName(z.node_name(i).to_vec()));
                }
                id = if forward { z.next_node(i) } else { z.prev_node(i) };
            }
            None
        };
        let chain = Chain { served_step: &step, gone: &gone, came: &came };
        let mut todo: BTreeMap<CName, Vec<u8>> = BTreeMap::new();
        for (n, bm) in &bitmaps {
            todo.insert(n.clone(), bm.clone());
        }
        for n in gone.iter().chain(&came) {
            if let Some(p) = chain.prev(n) {
                if !todo.contains_key(&p) {
                    let bm = served_nsec(z, &p.0).map(|rd| rd[name_len(&rd)..].to_vec()).unwrap_or_default();
                    todo.insert(p, bm);
                }
            }
        }
        for (n, bm) in todo {
            let next = chain.next(&n).ok_or("empty NSEC chain")?;
            let mut rdata = next.0.clone();
            rdata.extend(bm);
            let old = served_nsec(z, &n.0);
            if old.as_deref() == Some(rdata.as_slice()) {
                continue;
            }
            self.replace_nsec(&n.0, old, Some(rdata))?;
        }
        for n in gone {
            let old = served_nsec(z, &n.0);
            self.replace_nsec(&n.0, old, None)?;
        }
        Ok(())
    }

    fn replace_nsec(&mut self, n: &[u8], old: Option<Vec<u8>>, new: Option<Vec<u8>>) -> Result<(), String> {
        let ttl = self.neg_ttl;
        if let Some(rd) = old {
            let id = self.z.lookup(n).ok_or("NSEC owner not found")?;
            let old_ttl = self.z.find(id, t::NSEC).map_or(ttl, |rs| self.z.rrset(rs).ttl());
            self.out.removed.push(Rr { owner: n.to_vec(), rtype: t::NSEC, ttl: old_ttl, rdata: rd });
            self.unsign(id, t::NSEC);
        }
        if let Some(rd) = new {
            self.out.added.push(Rr { owner: n.to_vec(), rtype: t::NSEC, ttl, rdata: rd.clone() });
            self.sign(n, t::NSEC, ttl, &[rd])?;
        }
        Ok(())
    }
}

/// The last name in canonical order.
fn last_node(z: &Zone) -> Option<NodeId> {
    z.node_count().checked_sub(1).map(|i| z.node_at(i))
}

/// The length of the wire name at the start of `rd`.
fn name_len(rd: &[u8]) -> usize {
    let mut p = 0;
    while p < rd.len() && rd[p] != 0 {
        p += 1 + rd[p] as usize;
    }
    (p + 1).min(rd.len())
}

/// The served NSEC RDATA at `n`.
fn served_nsec(z: &Zone, n: &[u8]) -> Option<Vec<u8>> {
    let id = z.lookup(n)?;
    z.find(id, t::NSEC).map(|rs| z.first_rdata(rs).to_vec())
}

impl Signer<'_> {
    /// Whether `n` (not listed itself: no data, or an empty non-terminal)
    /// is in the NSEC3 chain of the new version as an empty
    /// non-terminal: some name below it is.
    fn ent_member(&self, n: &[u8], opt_out: bool) -> bool {
        let z = self.z;
        let below = |m: &[u8]| m.len() > n.len() && name::is_subdomain(m, n);
        let changed_member = self
            .new
            .iter()
            .filter(|(m, _)| below(&m.0))
            .any(|(m, ty)| self.listed(&m.0, ty).is_some_and(|(_, insecure)| !(opt_out && insecure)));
        if changed_member {
            return true;
        }
        let mut id = match z.node_at_or_before(n) {
            Some(a) => z.next_node(a),
            None => None,
        };
        while let Some(i) = id {
            let m = z.node_name(i);
            if !below(m) {
                return false;
            }
            let f = z.node(i).flags;
            let insecure = f & nf::CUT != 0 && z.find(i, t::DS).is_none();
            if !self.new.contains_key(&CName(m.to_vec()))
                && f & (nf::EMPTY | nf::BELOW_CUT | nf::BELOW_DNAME) == 0
                && !(opt_out && insecure)
            {
                return true;
            }
            id = z.next_node(i);
        }
        false
    }

    /// The NSEC3 chain: the changed names and their ancestors, and the
    /// hashes before those that enter or leave it.
    fn nsec3(&mut self, p: &Nsec3Params) -> Result<(), String> {
        let z = self.z;
        let mut names: BTreeSet<CName> = BTreeSet::new();
        for n in self.new.keys() {
            let mut m: &[u8] = &n.0;
            while m.len() >= self.apex.len() {
                names.insert(CName(m.to_vec()));
                if m.len() == self.apex.len() {
                    break;
                }
                m = name::parent(m);
            }
        }
        // Each name's bitmap in the new version (None: not in the chain).
        let mut want: BTreeMap<[u8; 20], (Vec<u8>, Vec<u8>)> = BTreeMap::new();
        let (mut gone, mut came) = (BTreeSet::new(), BTreeSet::new());
        for n in &names {
            let h = p.hash(&n.0);
            let ty = self.types(&n.0);
            let bitmap = match self.listed(&n.0, &ty) {
                Some((_, true)) if p.opt_out => None,
                Some((mut types, insecure)) => {
                    if !insecure {
                        types.push(t::RRSIG);
                    }
                    Some(type_bitmap(&types))
                }
                None if ty.is_empty() && !self.occluded(&n.0) && self.ent_member(&n.0, p.opt_out) => Some(Vec::new()),
                None => None,
            };
            let was = z.nsec3_chain_search(&h).is_ok();
            match bitmap {
                Some(bm) => {
                    if !was {
                        came.insert(h);
                    }
                    want.insert(h, (n.0.clone(), bm));
                }
                None if was => {
                    gone.insert(h);
                }
                None => {}
            }
        }
        let step = |from: Option<&[u8; 20]>, forward: bool| -> Option<[u8; 20]> {
            let len = z.nsec3_chain_len();
            let i = match (from, forward) {
                (None, true) => 0,
                (None, false) => len.checked_sub(1)?,
                (Some(h), true) => match z.nsec3_chain_search(h) {
                    Ok(i) => i + 1,
                    Err(i) => i,
                },
                (Some(h), false) => match z.nsec3_chain_search(h) {
                    Ok(i) | Err(i) => i.checked_sub(1)?,
                },
            };
            (i < len).then(|| {
                let mut out = [0u8; 20];
                let hb = z.nsec3_chain_at(i).0;
                out[..hb.len().min(20)].copy_from_slice(&hb[..hb.len().min(20)]);
                out
            })
        };
        let chain = Chain { served_step: &step, gone: &gone, came: &came };
        let mut todo: BTreeMap<[u8; 20], Vec<u8>> = want.iter().map(|(h, (_, bm))| (*h, bm.clone())).collect();
        for h in gone.iter().chain(&came) {
            if let Some(q) = chain.prev(h) {
                if let std::collections::btree_map::Entry::Vacant(e) = todo.entry(q) {
                    let bm = served_nsec3(z, &q).map(|rd| nsec3_bitmap(&rd).to_vec()).unwrap_or_default();
                    e.insert(bm);
                }
            }
        }
        for (h, bm) in todo {
            let next = chain.next(&h).ok_or("empty NSEC3 chain")?;
            let rdata = p.nsec3_rdata(&next, &bm);
            let old = served_nsec3(z, &h);
            if old.as_deref() == Some(rdata.as_slice()) {
                continue;
            }
            self.replace_nsec3(&h, old, Some(rdata))?;
        }
        for h in gone {
            let old = served_nsec3(z, &h);
            self.replace_nsec3(&h, old, None)?;
        }
        Ok(())
    }

    fn replace_nsec3(&mut self, h: &[u8; 20], old: Option<Vec<u8>>, new: Option<Vec<u8>>) -> Result<(), String> {
        let mut owner = vec![32u8];
        owner.extend_from_slice(base32hex(h).as_bytes());
        owner.extend_from_slice(&self.apex);
        let z = self.z;
        if let Some(rd) = old {
            let i = z.nsec3_chain_search(h).map_err(|_| "NSEC3 record not found")?;
            let node = z.nsec3_chain_at(i).1;
            let (first, count) = z.nsec3_node_rrsets(node);
            for rs in first..first + count {
                let s = z.rrset(rs);
                if s.rtype == t::NSEC3 {
                    self.out.removed.push(Rr {
                        owner: owner.clone(),
                        rtype: t::NSEC3,
                        ttl: s.ttl(),
                        rdata: rd.clone(),
                    });
                } else if s.rtype == t::RRSIG && z.covers(rs) == t::NSEC3 {
                    for sig in z.rdatas(rs) {
                        self.out.removed.push(Rr {
                            owner: owner.clone(),
                            rtype: t::RRSIG,
                            ttl: s.ttl(),
                            rdata: sig.to_vec(),
                        });
                    }
                }
            }
        }
        if let Some(rd) = new {
            self.out.added.push(Rr { owner: owner.clone(), rtype: t::NSEC3, ttl: self.neg_ttl, rdata: rd.clone() });
            self.sign(&owner, t::NSEC3, self.neg_ttl, &[rd])?;
        }
        Ok(())
    }
}

/// The served NSEC3 RDATA of hash `h`.
fn served_nsec3(z: &Zone, h: &[u8; 20]) -> Option<Vec<u8>> {
    let i = z.nsec3_chain_search(h).ok()?;
    let rs = z.nsec3_rrset(z.nsec3_chain_at(i).1)?;
    Some(z.first_rdata(rs).to_vec())
}

/// The type bitmap of NSEC3 RDATA.
fn nsec3_bitmap(rd: &[u8]) -> &[u8] {
    let salt = rd.get(4).copied().unwrap_or(0) as usize;
    let hl = rd.get(5 + salt).copied().unwrap_or(0) as usize;
    rd.get(6 + salt + hl..).unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    use super::*;
    use levee_sign::Algorithm;
    use levee_wire::rtype::c;
    use levee_zone::journal;
    use levee_zone::{BuildOptions, Checks, ReloadOptions, Source};

    const BEFORE: &str = "$ORIGIN z.\n$TTL 300\n@ SOA ns h 1 3600 600 86400 60\n@ NS ns\nns A 192.0.2.1\n\
a A 192.0.2.2\nb A 192.0.2.3\nb TXT \"b\"\nc.d.e A 192.0.2.4\ngone.f A 192.0.2.5\n*.w A 192.0.2.6\n\
ins NS ns.ins\nns.ins A 192.0.2.7\nsec NS ns.other.\nsec DS 1 13 2 0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20\n\
ttl A 192.0.2.8\nk A 192.0.2.9\nl A 192.0.2.10\nm A 192.0.2.11\nn A 192.0.2.12\no A 192.0.2.13\n\
under.ins2 A 192.0.2.14\nins2 NS ns.other.\nq.deep.ent A 192.0.2.15\n";

    /// The changes: an address changed, names added (one with new empty
    /// non-terminals), a name and its empty non-terminal gone, a new
    /// insecure delegation with glue, an insecure delegation made
    /// secure, a TTL changed, a wildcard's data changed.
    fn after() -> String {
        BEFORE
            .replace("SOA ns h 1 ", "SOA ns h 2 ")
            .replace("a A 192.0.2.2", "a A 192.0.2.99\nx A 192.0.2.98\np.q.r A 192.0.2.97")
            .replace("gone.f A 192.0.2.5\n", "")
            .replace("*.w A 192.0.2.6", "*.w A 192.0.2.66\nnewdel NS ns.newdel\nns.newdel A 192.0.2.96")
            .replace(
                "ins NS ns.ins",
                "ins NS ns.ins\nins DS 2 13 2 0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f21",
            )
            .replace("ttl A 192.0.2.8", "ttl 600 A 192.0.2.8")
            .replace("q.deep.ent A", "q2.deep.ent A")
    }

    fn unsigned(text: &str) -> Vec<levee_sign::Rr> {
        let apex = name::from_text("z.", None).unwrap();
        let z = levee_zone::load(Source::Memory { name: "t", data: text.as_bytes() }, apex.as_slice()).unwrap().zone;
        journal::records(&z)
            .into_iter()
            .map(|r| levee_sign::Rr { owner: r.owner, rtype: r.rtype, class: c::IN, ttl: r.ttl, rdata: r.rdata })
            .collect()
    }

    fn to_journal(v: Vec<levee_sign::Rr>) -> Vec<Rr> {
        v.into_iter().map(|r| Rr { owner: r.owner, rtype: r.rtype, ttl: r.ttl, rdata: r.rdata }).collect()
    }

    /// What must agree between two signings: every record but the
    /// signatures' validity and bytes, which are compared by owner, TTL,
    /// type covered, algorithm, labels, original TTL and key tag.
    fn comparable(recs: &[Rr]) -> Vec<(Vec<u8>, u16, u32, Vec<u8>)> {
        let mut v: Vec<_> = recs
            .iter()
            .map(|r| {
                let rd = if r.rtype == t::RRSIG {
                    let mut k = r.rdata[..8].to_vec();
                    k.extend_from_slice(&r.rdata[16..18]);
                    k
                } else {
                    r.rdata.clone()
                };
                (r.owner.clone(), r.rtype, r.ttl, rd)
            })
            .collect();
        v.sort();
        v
    }

    /// The incremental signing of a change gives what a full signing of
    /// the new data gives (signature bytes and validity aside), with
    /// NSEC, NSEC3 and NSEC3 with opt-out; and both validators accept it.
    #[test]
    fn incremental_equals_full() {
        let keys = [
            Key::generate(Algorithm::EcdsaP256Sha256, true).unwrap(),
            Key::generate(Algorithm::EcdsaP256Sha256, false).unwrap(),
        ];
        let apex = name::from_text("z.", None).unwrap();
        // Now: the validators check the validity periods.
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as u32 - 120;
        for (i, denial) in [
            Denial::Nsec,
            Denial::Nsec3(Nsec3Params::default()),
            Denial::Nsec3(Nsec3Params { opt_out: true, ..Nsec3Params::default() }),
        ]
        .into_iter()
        .enumerate()
        {
            let policy = Policy { denial, ..Policy::default() };
            let first = levee_sign::sign_zone(unsigned(BEFORE), apex.as_slice(), &keys, &policy, now, None).unwrap();
            let small = BuildOptions { checks: Checks::Warn, segment_names: 3 };
            let served = journal::build_from(apex.as_slice(), &to_journal(first.records.clone()), small).unwrap().zone;
            let text = after();
            let opts = ReloadOptions { max_fraction: 0.9, min_segments: 2, segment_names: 3, ..Default::default() };
            let aside = |rt: u16| matches!(rt, t::RRSIG | t::NSEC | t::NSEC3 | t::NSEC3PARAM);
            let src = Source::Memory { name: "t", data: text.as_bytes() };
            let fc = levee_zone::file_changes(&served, src, &Default::default(), opts, &aside).unwrap().unwrap();
            let ch = Change {
                served: &served,
                removed: fc.removed.into_iter().filter(|r| r.rtype != t::DNSKEY).collect(),
                added: fc.added,
                soa: fc.soa,
                keys: &keys,
                policy: &policy,
                now: now + 60,
            };
            let diff = sign_diff(ch).unwrap().expect("incremental");
            let inc = levee_zone::apply_diff(&served, &diff, opts).unwrap();
            assert!(matches!(inc.kind, levee_zone::ReloadKind::Incremental { .. }), "{:?}", inc.kind);
            let got = journal::records(&inc.built.zone);
            let full =
                levee_sign::sign_zone(unsigned(&text), apex.as_slice(), &keys, &policy, now + 60, Some(&first.records))
                    .unwrap();
            let want = to_journal(full.records);
            let (g, w) = (comparable(&got), comparable(&want));
            let extra: Vec<String> =
                g.iter().filter(|r| !w.contains(r)).map(|r| format!("{:?}", (name::to_text(&r.0), r.1))).collect();
            let missing: Vec<String> =
                w.iter().filter(|r| !g.contains(r)).map(|r| format!("{:?}", (name::to_text(&r.0), r.1))).collect();
            assert!(extra.is_empty() && missing.is_empty(), "denial {i}: extra {extra:?}, missing {missing:?}");
            // Both validators accept the incremental result.
            let dir = std::env::temp_dir().join(format!("levee-incsign-{}-{i}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let file = dir.join("z.zone");
            let body: String = got
                .iter()
                .map(|r| levee_zone::zonefile::record_to_text(&r.owner, r.ttl, c::IN, r.rtype, &r.rdata) + "\n")
                .collect();
            std::fs::write(&file, body).unwrap();
            for (tool, args) in [("dnssec-verify", vec!["-o", "z."]), ("ldns-verify-zone", vec![])] {
                let out = std::process::Command::new(tool).args(&args).arg(&file).output().unwrap();
                assert!(
                    out.status.success(),
                    "denial {i}: {tool}: {}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            std::fs::remove_dir_all(&dir).ok();
        }
    }

    /// The cases the incremental path leaves to a full signing: a name
    /// with names below it becoming a delegation (they become glue), and
    /// another key's DNSKEY.
    #[test]
    fn falls_back_when_names_below_change_status() {
        let keys = [Key::generate(Algorithm::EcdsaP256Sha256, true).unwrap()];
        let apex = name::from_text("z.", None).unwrap();
        let now = 1_800_000_000;
        let policy = Policy { denial: Denial::Nsec3(Nsec3Params::default()), ..Policy::default() };
        let first = levee_sign::sign_zone(unsigned(BEFORE), apex.as_slice(), &keys, &policy, now, None).unwrap();
        let served = journal::build_from(apex.as_slice(), &to_journal(first.records), Checks::Warn).unwrap().zone;
        let rr = |owner: &str, rtype: u16, rdata: Vec<u8>| Rr {
            owner: name::from_text(owner, None).unwrap().as_slice().to_vec(),
            rtype,
            ttl: 300,
            rdata,
        };
        let mut soa = served.first_rdata(served.soa()).to_vec();
        let p = soa.len() - 20;
        soa[p..p + 4].copy_from_slice(&2u32.to_be_bytes());
        let ns = name::from_text("ns.other.", None).unwrap().as_slice().to_vec();
        for added in
            [rr("d.e.z.", t::NS, ns.clone()), rr("z.", t::DNSKEY, keys[0].dnskey().iter().rev().copied().collect())]
        {
            let ch = Change {
                served: &served,
                removed: Vec::new(),
                added: vec![added],
                soa: rr("z.", t::SOA, soa.clone()),
                keys: &keys,
                policy: &policy,
                now: now + 60,
            };
            assert!(sign_diff(ch).unwrap().is_err());
        }
        // A delegation over a name with nothing below: incremental.
        let ch = Change {
            served: &served,
            removed: Vec::new(),
            added: vec![rr("a.z.", t::NS, ns)],
            soa: rr("z.", t::SOA, soa),
            keys: &keys,
            policy: &policy,
            now: now + 60,
        };
        assert!(sign_diff(ch).unwrap().is_ok());
    }
}
