//! A whole zone signed: [`sign_zone`].
//!
//! The records come in any order. They are sorted into canonical order
//! (RFC 4034 §6.1), which puts every name right after its ancestors, so
//! one walk finds the apex, the zone cuts (NS below the apex, DNAME) and
//! the names they occlude (glue and whatever sits below a DNAME: not
//! authoritative, neither signed nor in the chain). The walk lists the
//! RRsets to sign and the names of the denial chain; the chain's records
//! join the RRsets to sign; the signing itself, the expensive part, runs
//! on [`Policy::threads`] threads over independent RRsets.
//!
//! Keys split into key-signing keys (SEP flag) and zone-signing keys
//! (the others): the DNSKEY, CDS and CDNSKEY RRsets are signed by the
//! first, everything else by the second. When all keys are of one kind,
//! every key signs everything (a combined signing key, CSK).
//!
//! Signature expirations are spread over [`Policy::jitter`] seconds by a
//! hash of the RRset's owner and type, so that a zone signed at once does
//! not need all its signatures refreshed at once.

use std::cmp::Ordering;

use levee_wire::name;
use levee_wire::rtype::t;

use crate::denial::{nsec3_entries, nsec3_owner, type_bitmap, Nsec3Params};
use crate::key::{Key, KeyError};
use crate::record::Rr;
use crate::reuse::Previous;
use crate::rrsig::{self, RrsetRef, Validity};

/// How nonexistence is proven.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Denial {
    /// An NSEC chain (RFC 4034).
    Nsec,
    /// An NSEC3 chain (RFC 5155) with these parameters.
    Nsec3(Nsec3Params),
    /// No chain: denial answers are made and signed as they are asked
    /// (compact denial, RFC 9824; [`crate::online`]).
    Compact,
}

/// What the signer does with a zone.
#[derive(Clone, Debug)]
pub struct Policy {
    /// The denial chain.
    pub denial: Denial,
    /// Signatures start this many seconds before now (clock skew of
    /// validators; Knot and BIND use an hour).
    pub inception_offset: u32,
    /// Signatures expire this many seconds after now, less the jitter.
    pub validity: u32,
    /// Expirations are spread over this many seconds (at most
    /// `validity / 2`).
    pub jitter: u32,
    /// A signature kept from the previous version (see `reuse.rs`) must
    /// stay valid this many seconds more; one closer to its expiration
    /// is made again.
    pub refresh: u32,
    /// Threads that sign (1 or more).
    pub threads: usize,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            denial: Denial::Nsec,
            inception_offset: 3600,
            validity: 14 * 86400,
            jitter: 86400,
            refresh: 7 * 86400,
            threads: 1,
        }
    }
}

/// Why a zone cannot be signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignError {
    /// No SOA at the apex.
    NoSoa,
    /// No key to sign with.
    NoKeys,
    /// A record's owner is not at or below the apex.
    OutOfZone(String),
    /// A key failed to sign.
    Key(KeyError),
}

impl std::fmt::Display for SignError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SignError::NoSoa => f.write_str("the zone has no SOA record at its apex"),
            SignError::NoKeys => f.write_str("no signing key"),
            SignError::OutOfZone(n) => write!(f, "{n} is outside the zone"),
            SignError::Key(e) => write!(f, "signing failed: {e}"),
        }
    }
}

impl std::error::Error for SignError {}

/// A signed zone.
#[derive(Debug)]
pub struct Signed {
    /// Every record: the zone's own (owners lowercased, duplicates and
    /// old DNSSEC records removed), the DNSKEYs, the chain, the RRSIGs.
    pub records: Vec<Rr>,
    /// RRSIGs made.
    pub signatures: usize,
    /// RRSIGs kept from the previous version.
    pub reused: usize,
    /// Records of the denial chain (NSEC or NSEC3).
    pub chain: usize,
}

/// One RRset in the sorted records: `records[start..end]`.
#[derive(Clone, Copy)]
struct Set {
    start: usize,
    end: usize,
    /// Signed by the key-signing keys.
    ksk: bool,
}

/// Signs the zone `apex` (wire form) made of `records` with `keys` at
/// time `now` (seconds since the epoch) under `policy`. With the
/// previous signed version's records (`previous`), its signatures of
/// unchanged RRsets are kept while they have more than
/// [`Policy::refresh`] to live.
pub fn sign_zone(
    records: Vec<Rr>,
    apex: &[u8],
    keys: &[Key],
    policy: &Policy,
    now: u32,
    previous: Option<&[Rr]>,
) -> Result<Signed, SignError> {
    if keys.is_empty() {
        return Err(SignError::NoKeys);
    }
    let apex = name::to_lowercase(apex).as_slice().to_vec();
    let mut recs = prepare(records, &apex)?;
    let soa = recs.iter().find(|r| r.rtype == t::SOA && r.owner == apex).ok_or(SignError::NoSoa)?;
    let soa_ttl = soa.ttl;
    let negative_ttl = soa_ttl.min(soa_minimum(&soa.rdata));
    let dnskey_ttl = recs.iter().find(|r| r.rtype == t::DNSKEY && r.owner == apex).map_or(soa_ttl, |r| r.ttl);
    for k in keys.iter().filter(|k| k.published()) {
        recs.push(Rr { owner: apex.clone(), rtype: t::DNSKEY, class: 1, ttl: dnskey_ttl, rdata: k.dnskey().to_vec() });
    }
    if let Denial::Nsec3(p) = &policy.denial {
        recs.push(Rr { owner: apex.clone(), rtype: t::NSEC3PARAM, class: 1, ttl: 0, rdata: p.nsec3param_rdata() });
    }
    sort_dedup(&mut recs, &apex);
    let walk = walk(&recs, &apex);
    let chain = match &policy.denial {
        Denial::Nsec => nsec_chain(&recs, &walk, negative_ttl),
        Denial::Nsec3(p) => nsec3_chain(&recs, &walk, &apex, p, negative_ttl),
        Denial::Compact => Vec::new(),
    };
    let chain_len = chain.len();
    let base = recs.len();
    recs.extend(chain);
    let mut sets = walk.sets;
    let mut i = base;
    while i < recs.len() {
        let j = (i + 1..recs.len()).find(|&j| recs[j].owner != recs[i].owner || recs[j].rtype != recs[i].rtype);
        let end = j.unwrap_or(recs.len());
        sets.push(Set { start: i, end, ksk: false });
        i = end;
    }
    let prev = previous.map(Previous::new);
    let (sigs, reused) = sign_sets(&recs, &sets, keys, &apex, policy, now, prev.as_ref())?;
    let signatures = sigs.len() - reused;
    recs.extend(sigs);
    Ok(Signed { records: recs, signatures, reused, chain: chain_len })
}

/// Owners lowercased and checked to be in the zone; old signatures and
/// chains dropped (the signer makes its own).
fn prepare(records: Vec<Rr>, apex: &[u8]) -> Result<Vec<Rr>, SignError> {
    let mut out = Vec::with_capacity(records.len() + records.len() / 8);
    for mut r in records {
        if matches!(r.rtype, t::RRSIG | t::NSEC | t::NSEC3 | t::NSEC3PARAM) {
            continue;
        }
        name::lowercase_in_place(&mut r.owner);
        if !name::is_subdomain(&r.owner, apex) {
            return Err(SignError::OutOfZone(name::to_text(&r.owner)));
        }
        out.push(r);
    }
    Ok(out)
}

/// Canonical order: owner, type, RDATA; exact duplicates removed; the
/// records of an RRset take the TTL of its first record.
///
/// Zone files keep an owner's records together, so the sort is over runs
/// of records with one owner, by keys whose octet order is the canonical
/// order of names ([`name::canonical_key`] without the apex's part, which
/// every name shares), all in one buffer; the first eight octets of each
/// key, as a number, decide most comparisons without a memory
/// comparison. Runs of one owner are then merged and sorted by type and
/// RDATA, a few records at a time.
fn sort_dedup(recs: &mut Vec<Rr>, apex: &[u8]) {
    let skip = {
        let mut k = Vec::new();
        name::canonical_key(apex, &mut k);
        k.len()
    };
    let mut keys: Vec<u8> = Vec::with_capacity(recs.len() * 16);
    // (first eight octets of the key, key start, key length, run start, run end)
    let mut runs: Vec<(u64, u32, u32, u32, u32)> = Vec::new();
    let mut scratch = Vec::new();
    let mut i = 0;
    while i < recs.len() {
        let mut j = i + 1;
        while j < recs.len() && recs[j].owner == recs[i].owner {
            j += 1;
        }
        scratch.clear();
        name::canonical_key(&recs[i].owner, &mut scratch);
        let key = &scratch[skip.min(scratch.len())..];
        let start = keys.len();
        keys.extend_from_slice(key);
        let mut p = [0u8; 8];
        let n = key.len().min(8);
        p[..n].copy_from_slice(&key[..n]);
        runs.push((u64::from_be_bytes(p), start as u32, key.len() as u32, i as u32, j as u32));
        i = j;
    }
    let key = |r: &(u64, u32, u32, u32, u32)| &keys[r.1 as usize..(r.1 + r.2) as usize];
    let order =
        |a: &(u64, u32, u32, u32, u32), b: &(u64, u32, u32, u32, u32)| a.0.cmp(&b.0).then_with(|| key(a).cmp(key(b)));
    // A zone listed from a snapshot (a reload, a transfer) comes in
    // canonical order already: one pass tells, and the sort is skipped.
    if !runs.windows(2).all(|w| order(&w[0], &w[1]) != std::cmp::Ordering::Greater) {
        runs.sort_unstable_by(order);
    }
    let mut slots: Vec<Option<Rr>> = std::mem::take(recs).into_iter().map(Some).collect();
    recs.reserve(slots.len());
    let mut k = 0;
    while k < runs.len() {
        // Every run of this owner, then the owner's records in order.
        let mut e = k + 1;
        while e < runs.len() && runs[e].0 == runs[k].0 && key(&runs[e]) == key(&runs[k]) {
            e += 1;
        }
        let from = recs.len();
        for r in &runs[k..e] {
            recs.extend((r.3..r.4).filter_map(|x| slots[x as usize].take()));
        }
        recs[from..].sort_unstable_by(|a, b| a.rtype.cmp(&b.rtype).then_with(|| a.rdata.cmp(&b.rdata)));
        k = e;
    }
    recs.dedup_by(|b, a| a.owner == b.owner && a.rtype == b.rtype && a.rdata == b.rdata);
    for i in 1..recs.len() {
        if recs[i].owner == recs[i - 1].owner && recs[i].rtype == recs[i - 1].rtype {
            recs[i].ttl = recs[i - 1].ttl;
        }
    }
}

fn soa_minimum(rdata: &[u8]) -> u32 {
    rdata.len().checked_sub(4).map_or(0, |p| u32::from_be_bytes([rdata[p], rdata[p + 1], rdata[p + 2], rdata[p + 3]]))
}

/// What the walk over the sorted records found.
struct Walk {
    /// RRsets to sign.
    sets: Vec<Set>,
    /// Authoritative names in canonical order: (first record, types,
    /// kind).
    names: Vec<NameInfo>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// The apex or a name with authoritative data.
    Data,
    /// A delegation with a DS RRset.
    Secure,
    /// A delegation without DS.
    Insecure,
}

struct NameInfo {
    /// Index of the name's first record.
    first: usize,
    types: Vec<u16>,
    kind: Kind,
}

fn walk(recs: &[Rr], apex: &[u8]) -> Walk {
    let mut sets = Vec::new();
    let mut names = Vec::new();
    let mut cut: Option<&[u8]> = None;
    let mut i = 0;
    while i < recs.len() {
        let owner = &recs[i].owner;
        let mut j = i;
        while j < recs.len() && recs[j].owner == *owner {
            j += 1;
        }
        let occluded = cut.is_some_and(|c| owner.len() > c.len() && name::is_subdomain(owner, c));
        if !occluded {
            cut = None;
            let group = &recs[i..j];
            let delegation = owner.as_slice() != apex && group.iter().any(|r| r.rtype == t::NS);
            let has_ds = group.iter().any(|r| r.rtype == t::DS);
            let kind = match (delegation, has_ds) {
                (false, _) => Kind::Data,
                (true, true) => Kind::Secure,
                (true, false) => Kind::Insecure,
            };
            let mut types = Vec::new();
            let mut k = i;
            while k < j {
                let rt = recs[k].rtype;
                let mut e = k + 1;
                while e < j && recs[e].rtype == rt {
                    e += 1;
                }
                let authoritative = !delegation || rt == t::NS || rt == t::DS;
                if authoritative {
                    types.push(rt);
                }
                // At a delegation only DS is signed (RFC 4035 §2.2).
                if !delegation || rt == t::DS {
                    let ksk = owner.as_slice() == apex && matches!(rt, t::DNSKEY | t::CDS | t::CDNSKEY);
                    sets.push(Set { start: k, end: e, ksk });
                }
                k = e;
            }
            if delegation || group.iter().any(|r| r.rtype == t::DNAME) {
                cut = Some(owner);
            }
            names.push(NameInfo { first: i, types, kind });
        }
        i = j;
    }
    Walk { sets, names }
}

fn nsec_chain(recs: &[Rr], walk: &Walk, ttl: u32) -> Vec<Rr> {
    let n = walk.names.len();
    (0..n)
        .map(|k| {
            let me = &walk.names[k];
            let next = &recs[walk.names[(k + 1) % n].first].owner;
            let mut types = me.types.clone();
            types.extend([t::NSEC, t::RRSIG]);
            let mut rdata = next.clone();
            rdata.extend(type_bitmap(&types));
            Rr { owner: recs[me.first].owner.clone(), rtype: t::NSEC, class: 1, ttl, rdata }
        })
        .collect()
}

fn nsec3_chain(recs: &[Rr], walk: &Walk, apex: &[u8], p: &Nsec3Params, ttl: u32) -> Vec<Rr> {
    // (hash, types) of every name in the chain, empty non-terminals too.
    let names = walk.names.iter().filter(|info| !(p.opt_out && info.kind == Kind::Insecure)).map(|info| {
        let mut types = info.types.clone();
        if info.kind != Kind::Insecure {
            types.push(t::RRSIG);
        }
        (recs[info.first].owner.as_slice(), types)
    });
    let entries = nsec3_entries(apex, p, names);
    let n = entries.len();
    (0..n)
        .map(|k| {
            let (h, types) = &entries[k];
            let next = &entries[(k + 1) % n].0;
            let owner = nsec3_owner(h, apex);
            Rr { owner, rtype: t::NSEC3, class: 1, ttl, rdata: p.nsec3_rdata(next, &type_bitmap(types)) }
        })
        .collect()
}

/// The RRSIGs of `sets` and how many of them were kept from `prev`.
fn sign_sets(
    recs: &[Rr],
    sets: &[Set],
    keys: &[Key],
    apex: &[u8],
    policy: &Policy,
    now: u32,
    prev: Option<&Previous<'_>>,
) -> Result<(Vec<Rr>, usize), SignError> {
    // Published-only keys (a rollover's next or last key) do not sign.
    let signing: Vec<&Key> = keys.iter().filter(|k| k.signs()).collect();
    let seps: Vec<&Key> = signing.iter().copied().filter(|k| k.is_sep()).collect();
    let zsks: Vec<&Key> = signing.iter().copied().filter(|k| !k.is_sep()).collect();
    let (ksk, zsk) = if seps.is_empty() || zsks.is_empty() { (signing.clone(), signing.clone()) } else { (seps, zsks) };
    let threads = policy.threads.clamp(1, 64);
    let per = sets.len().div_ceil(threads).max(1);
    let run = |part: &[Set]| -> Result<(Vec<Rr>, usize), SignError> {
        let mut out = Vec::with_capacity(part.len());
        let mut kept = 0;
        let mut buf = Vec::new();
        let mut bufs = (Vec::new(), Vec::new());
        let mut rdatas: Vec<&[u8]> = Vec::new();
        for s in part {
            let first = &recs[s.start];
            rdatas.clear();
            rdatas.extend(recs[s.start..s.end].iter().map(|r| r.rdata.as_slice()));
            let set = RrsetRef {
                owner: &first.owner,
                rtype: first.rtype,
                class: first.class,
                ttl: first.ttl,
                rdatas: &rdatas,
            };
            let v = validity(policy, now, &first.owner, first.rtype);
            for key in if s.ksk { &ksk } else { &zsk } {
                let old = prev.and_then(|p| p.find(&set, key, apex, now, policy.refresh, &mut bufs));
                kept += usize::from(old.is_some());
                let rdata = match old {
                    Some(o) => o,
                    None => rrsig::sign(&set, key, apex, v, &mut buf).map_err(SignError::Key)?,
                };
                out.push(Rr { owner: first.owner.clone(), rtype: t::RRSIG, class: first.class, ttl: first.ttl, rdata });
            }
        }
        Ok((out, kept))
    };
    if threads == 1 || sets.len() < 256 {
        return run(sets);
    }
    let parts: Vec<Result<(Vec<Rr>, usize), SignError>> = std::thread::scope(|s| {
        let handles: Vec<_> = sets.chunks(per).map(|part| s.spawn(|| run(part))).collect();
        handles.into_iter().map(|h| h.join().unwrap_or(Err(SignError::Key(KeyError::Crypto)))).collect()
    });
    let (mut out, mut kept) = (Vec::new(), 0);
    for p in parts {
        let (o, k) = p?;
        out.extend(o);
        kept += k;
    }
    Ok((out, kept))
}

/// The RRSIG RDATAs of one RRset signed on its own (incremental
/// re-signing): by the key-signing keys if `ksk` (the apex's DNSKEY, CDS
/// and CDNSKEY RRsets), else by the zone-signing keys, as
/// [`sign_zone`] chooses them, with the same validity (spread by owner
/// and type).
pub fn sign_rrset(
    set: &RrsetRef<'_>,
    keys: &[Key],
    ksk: bool,
    apex: &[u8],
    policy: &Policy,
    now: u32,
) -> Result<Vec<Vec<u8>>, SignError> {
    let signing: Vec<&Key> = keys.iter().filter(|k| k.signs()).collect();
    let seps: Vec<&Key> = signing.iter().copied().filter(|k| k.is_sep()).collect();
    let zsks: Vec<&Key> = signing.iter().copied().filter(|k| !k.is_sep()).collect();
    let chosen = if seps.is_empty() || zsks.is_empty() {
        signing
    } else if ksk {
        seps
    } else {
        zsks
    };
    if chosen.is_empty() {
        return Err(SignError::NoKeys);
    }
    let v = validity(policy, now, set.owner, set.rtype);
    let mut buf = Vec::new();
    chosen.iter().map(|k| rrsig::sign(set, k, apex, v, &mut buf).map_err(SignError::Key)).collect()
}

/// The validity of the signature over (owner, type): from now less the
/// offset to now plus the validity less a jitter fixed by the RRset.
pub(crate) fn validity(policy: &Policy, now: u32, owner: &[u8], rtype: u16) -> Validity {
    let jitter = policy.jitter.min(policy.validity / 2);
    let spread = if jitter == 0 {
        0
    } else {
        let mut h: u32 = 0x811c_9dc5;
        for &b in owner.iter().chain(&rtype.to_be_bytes()) {
            h = (h ^ b as u32).wrapping_mul(0x0100_0193);
        }
        h % jitter
    };
    Validity {
        inception: now.wrapping_sub(policy.inception_offset),
        expiration: now.wrapping_add(policy.validity - spread),
    }
}

/// Canonical order of two records (for callers that merge signed output).
pub fn canonical_order(a: &Rr, b: &Rr) -> Ordering {
    name::canonical_cmp(&a.owner, &b.owner).then(a.rtype.cmp(&b.rtype)).then_with(|| a.rdata.cmp(&b.rdata))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::Algorithm;

    fn rr(owner: &str, rtype: u16, rdata: &[u8]) -> Rr {
        let owner = name::from_text(owner, None).unwrap().as_slice().to_vec();
        Rr { owner, rtype, class: 1, ttl: 3600, rdata: rdata.to_vec() }
    }

    fn zone() -> Vec<Rr> {
        let mut soa = name::from_text("ns.z.", None).unwrap().as_slice().to_vec();
        soa.extend(name::from_text("h.z.", None).unwrap().as_slice());
        soa.extend([0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 1, 44]);
        vec![
            rr("z.", t::SOA, &soa),
            rr("z.", t::NS, name::from_text("ns.z.", None).unwrap().as_slice()),
            rr("ns.z.", t::A, &[192, 0, 2, 1]),
            rr("a.z.", t::A, &[192, 0, 2, 2]),
            rr("b.z.", t::A, &[192, 0, 2, 3]),
        ]
    }

    fn sigs(s: &Signed) -> Vec<&Rr> {
        s.records.iter().filter(|r| r.rtype == t::RRSIG).collect()
    }

    /// A re-signed zone keeps the signatures of what did not change and
    /// signs the rest; past the refresh point everything is signed anew.
    #[test]
    fn unchanged_rrsets_keep_their_signatures() {
        let keys = [Key::generate(Algorithm::EcdsaP256Sha256, true).unwrap()];
        let apex = name::from_text("z.", None).unwrap();
        let p = Policy::default();
        let now = 1_800_000_000;
        let first = sign_zone(zone(), apex.as_slice(), &keys, &p, now, None).unwrap();
        assert_eq!((first.reused, first.signatures), (0, sigs(&first).len()));
        // a.z. changes: its A RRset, and nothing else (NSEC unchanged).
        let mut changed = zone();
        changed[3].rdata = vec![192, 0, 2, 9];
        let second = sign_zone(changed, apex.as_slice(), &keys, &p, now + 60, Some(&first.records)).unwrap();
        assert_eq!(second.signatures, 1, "only a.z. A is signed again");
        assert_eq!(second.reused, sigs(&first).len() - 1);
        let old: std::collections::HashSet<&Rr> = sigs(&first).into_iter().collect();
        let new_sigs: Vec<&Rr> = sigs(&second).into_iter().filter(|r| !old.contains(r)).collect();
        assert_eq!(new_sigs.len(), 1);
        assert_eq!(new_sigs[0].owner, name::from_text("a.z.", None).unwrap().as_slice());
        // A new name changes the NSEC before it too.
        let mut grown = zone();
        grown.push(rr("aa.z.", t::A, &[192, 0, 2, 4]));
        let third = sign_zone(grown, apex.as_slice(), &keys, &p, now + 60, Some(&first.records)).unwrap();
        assert_eq!(third.signatures, 3, "aa.z. A, aa.z. NSEC, a.z. NSEC");
        // Close to expiry (less than the refresh left): all made again.
        let late = now + p.validity - p.refresh;
        let fourth = sign_zone(zone(), apex.as_slice(), &keys, &p, late, Some(&first.records)).unwrap();
        assert_eq!(fourth.reused, 0);
        // A signature by a key no longer used is not kept.
        let other = [Key::generate(Algorithm::EcdsaP256Sha256, true).unwrap()];
        let fifth = sign_zone(zone(), apex.as_slice(), &other, &p, now, Some(&first.records)).unwrap();
        assert_eq!(fifth.reused, 0);
    }

    #[test]
    fn nsec_chain_links_every_authoritative_name_once() {
        let keys = [Key::generate(Algorithm::Ed25519, true).unwrap()];
        let apex = name::from_text("z.", None).unwrap();
        let mut recs = zone();
        recs.push(rr("sub.z.", t::NS, name::from_text("ns.sub.z.", None).unwrap().as_slice()));
        recs.push(rr("ns.sub.z.", t::A, &[192, 0, 2, 5]));
        let s = sign_zone(recs, apex.as_slice(), &keys, &Policy::default(), 1_800_000_000, None).unwrap();
        let chain: Vec<(String, String)> = s
            .records
            .iter()
            .filter(|r| r.rtype == t::NSEC)
            .map(|r| {
                let mut end = 0;
                while r.rdata[end] != 0 {
                    end += 1 + r.rdata[end] as usize;
                }
                (name::to_text(&r.owner), name::to_text(&r.rdata[..=end]))
            })
            .collect();
        let want = [("z.", "a.z."), ("a.z.", "b.z."), ("b.z.", "ns.z."), ("ns.z.", "sub.z."), ("sub.z.", "z.")];
        let want: Vec<(String, String)> = want.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
        assert_eq!(chain, want, "glue below sub.z. is neither linked nor signed");
        assert!(!s.records.iter().any(|r| r.rtype == t::RRSIG && name::to_text(&r.owner) == "ns.sub.z."));
        // The delegation's NS is not signed; its NSEC is.
        let at_sub: Vec<u16> = s
            .records
            .iter()
            .filter(|r| r.rtype == t::RRSIG && name::to_text(&r.owner) == "sub.z.")
            .map(|r| u16::from_be_bytes([r.rdata[0], r.rdata[1]]))
            .collect();
        assert_eq!(at_sub, vec![t::NSEC]);
    }
}
