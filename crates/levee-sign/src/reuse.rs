//! Signatures kept from the previous signed version of a zone.
//!
//! A zone re-signed after a change (a reload, a transfer in, an update)
//! keeps every signature whose RRset did not change and whose
//! expiration is further away than [`crate::Policy::refresh`]: only the
//! difference is signed again, a reload costs what it changed, and the
//! new version differs from the old one only there (so the IXFR that
//! carries it on to the secondaries stays small).

use std::collections::HashMap;

use crate::key::Key;
use crate::record::Rr;
use crate::rrsig::{self, RrsetRef};
use levee_wire::rtype::t;

/// The previous version's RRsets and signatures, by owner and type.
pub(crate) struct Previous<'a> {
    sets: HashMap<(&'a [u8], u16), Entry<'a>>,
}

#[derive(Default)]
struct Entry<'a> {
    ttl: u32,
    class: u16,
    rdatas: Vec<&'a [u8]>,
    sigs: Vec<&'a [u8]>,
}

impl<'a> Previous<'a> {
    /// Indexes `prev` (records of the previous signed version, owners
    /// lowercased).
    pub(crate) fn new(prev: &'a [Rr]) -> Self {
        // Signatures first: only RRsets that have one are indexed (a TLD
        // has millions of records and a few signed RRsets).
        let mut sets: HashMap<(&'a [u8], u16), Entry<'a>> = HashMap::new();
        for r in prev.iter().filter(|r| r.rtype == t::RRSIG && r.rdata.len() >= 18) {
            let covered = u16::from_be_bytes([r.rdata[0], r.rdata[1]]);
            sets.entry((&r.owner, covered)).or_default().sigs.push(&r.rdata);
        }
        for r in prev.iter().filter(|r| r.rtype != t::RRSIG) {
            if let Some(e) = sets.get_mut(&(r.owner.as_slice(), r.rtype)) {
                e.ttl = r.ttl;
                e.class = r.class;
                e.rdatas.push(&r.rdata);
            }
        }
        Previous { sets }
    }

    /// A signature of `set` by `key` from the previous version, if the
    /// RRset is the same and the signature is good for more than
    /// `refresh` seconds after `now`.
    pub(crate) fn find(
        &self,
        set: &RrsetRef<'_>,
        key: &Key,
        apex: &[u8],
        now: u32,
        refresh: u32,
        bufs: &mut (Vec<u8>, Vec<u8>),
    ) -> Option<Vec<u8>> {
        let e = self.sets.get(&(set.owner, set.rtype))?;
        if e.class != set.class {
            return None;
        }
        kept_signature(set, e.ttl, &e.rdatas, &e.sigs, key, apex, now, refresh, bufs)
    }
}

/// A signature of `set` by `key` among `sigs`, the RRSIGs of the same
/// owner and type in the previous version, whose RRset had `ttl` and
/// `rdatas`: if the RRset is the same (TTL and records in canonical
/// form) and the signature is good for more than `refresh` seconds
/// after `now`. `bufs` is scratch space reused between calls.
#[allow(clippy::too_many_arguments)]
pub(crate) fn kept_signature(
    set: &RrsetRef<'_>,
    ttl: u32,
    rdatas: &[&[u8]],
    sigs: &[&[u8]],
    key: &Key,
    apex: &[u8],
    now: u32,
    refresh: u32,
    bufs: &mut (Vec<u8>, Vec<u8>),
) -> Option<Vec<u8>> {
    if sigs.is_empty() || ttl != set.ttl {
        return None;
    }
    let sig = sigs.iter().find(|s| usable(s, set, key, apex, now, refresh))?;
    let before = RrsetRef { owner: set.owner, rtype: set.rtype, class: set.class, ttl, rdatas };
    rrsig::signed_data(set, &[], &mut bufs.0);
    rrsig::signed_data(&before, &[], &mut bufs.1);
    (bufs.0 == bufs.1).then(|| sig.to_vec())
}

/// `s` is an RRSIG RDATA over `set` by `key` for `apex` that is valid
/// now and for more than `refresh` seconds yet.
fn usable(s: &[u8], set: &RrsetRef<'_>, key: &Key, apex: &[u8], now: u32, refresh: u32) -> bool {
    let u32_at = |p: usize| u32::from_be_bytes([s[p], s[p + 1], s[p + 2], s[p + 3]]);
    let signer_end = 18 + apex.len();
    s.len() > signer_end
        && u16::from_be_bytes([s[0], s[1]]) == set.rtype
        && s[2] == key.algorithm().number()
        && s[3] == rrsig::labels(set.owner)
        && u32_at(4) == set.ttl
        && u16::from_be_bytes([s[16], s[17]]) == key.tag()
        && s[18..signer_end] == *apex
        // RFC 4034 §3.1.5: serial-number arithmetic.
        && (u32_at(8).wrapping_sub(now) as i32) > refresh.min(i32::MAX as u32) as i32
        && (now.wrapping_sub(u32_at(12)) as i32) >= 0
}
