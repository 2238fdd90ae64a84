//! Signing at query time, for compact denial (RFC 9824).
//!
//! A zone signed with [`crate::Denial::Compact`] has signatures over its
//! RRsets but no NSEC or NSEC3 chain. A name that does not exist is
//! answered as if it existed with no data: one NSEC owned by the name,
//! whose next name is the name's immediate successor (`\000.` prepended)
//! and whose type bitmap holds RRSIG, NSEC and NXNAME; that NSEC is
//! signed when the answer is made ([`Online::sign_into`]). So are the
//! NSEC of a NODATA answer and the records synthesised from a wildcard.
//! [`nsec_rdata`] builds those NSEC records.
//!
//! One signature costs tens of microseconds (BENCHMARKS.md): the answering
//! layer signs only after the flood defences have admitted the query, and
//! [`Online`] holds a budget of signatures per second for the zone, past
//! which it makes none (the caller then answers without a signature, or
//! not at all).

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::denial::type_bitmap;
use crate::key::Key;
use crate::rrsig::{self, RrsetRef, Validity};

/// The signer of one zone's compact answers.
pub struct Online {
    key: Key,
    apex: Vec<u8>,
    inception_offset: u32,
    validity: u32,
    /// Signatures allowed per second (0: no limit).
    per_second: u32,
    /// (second, signatures made in it), packed: second << 32 | count.
    window: AtomicU64,
}

impl std::fmt::Debug for Online {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Online").field("key", &self.key).field("per_second", &self.per_second).finish()
    }
}

thread_local! {
    /// The signed data of one signature, kept between signatures.
    static SCRATCH: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(4096));
}

impl Online {
    /// Signs for the zone `apex` (wire form, lowercase) with `key`;
    /// signatures valid from an hour before they are made to `validity`
    /// seconds after; at most `per_second` a second (0: no limit).
    pub fn new(key: Key, apex: &[u8], validity: u32, per_second: u32) -> Self {
        Online { key, apex: apex.to_vec(), inception_offset: 3600, validity, per_second, window: AtomicU64::new(0) }
    }

    /// One more signature in second `now`, if the budget allows.
    fn take(&self, now: u32) -> bool {
        if self.per_second == 0 {
            return true;
        }
        let mut cur = self.window.load(Ordering::Relaxed);
        loop {
            let (sec, n) = ((cur >> 32) as u32, cur as u32);
            let next = if sec == now {
                if n >= self.per_second {
                    return false;
                }
                (u64::from(now) << 32) | u64::from(n + 1)
            } else {
                (u64::from(now) << 32) | 1
            };
            match self.window.compare_exchange_weak(cur, next, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return true,
                Err(seen) => cur = seen,
            }
        }
    }

    /// The RRSIG RDATA over the RRset into `out`; see
    /// `levee_zone::OnlineSigner::sign`.
    pub fn sign_into(
        &self,
        owner: &[u8],
        rtype: u16,
        ttl: u32,
        rdatas: &[&[u8]],
        now: u32,
        out: &mut [u8],
    ) -> Option<usize> {
        if !self.take(now) {
            return None;
        }
        let set = RrsetRef { owner, rtype, class: 1, ttl, rdatas };
        let v = Validity {
            inception: now.wrapping_sub(self.inception_offset),
            expiration: now.wrapping_add(self.validity),
        };
        SCRATCH.with(|b| rrsig::sign_into(&set, &self.key, &self.apex, v, &mut b.borrow_mut(), out))
    }
}

/// The RDATA of a compact answer's NSEC owned by `owner` (wire form):
/// next name `\000.owner`, and a bitmap of `types` with RRSIG and NSEC
/// (the caller adds NXNAME for a name that does not exist). Written into
/// `out`; returns its length, or `None` if the name is too long for a
/// successor (then there is no compact answer: 255 octets is the limit).
pub fn nsec_rdata(owner: &[u8], types: &[u16], out: &mut [u8]) -> Option<usize> {
    let next_len = owner.len() + 2;
    if next_len > 255 {
        return None;
    }
    let head = out.get_mut(..next_len)?;
    head[0] = 1;
    head[1] = 0;
    head[2..].copy_from_slice(owner);
    let mut all = [0u16; 64];
    let n = types.len().min(62);
    all[..n].copy_from_slice(&types[..n]);
    all[n] = levee_wire::rtype::t::RRSIG;
    all[n + 1] = levee_wire::rtype::t::NSEC;
    let bitmap = type_bitmap(&all[..n + 2]);
    out.get_mut(next_len..next_len + bitmap.len())?.copy_from_slice(&bitmap);
    Some(next_len + bitmap.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::Algorithm;
    use levee_wire::name;
    use levee_wire::rtype::t;

    #[test]
    fn the_budget_holds_per_second() {
        let k = Key::generate(Algorithm::EcdsaP256Sha256, false).unwrap();
        let apex = name::from_text("z.", None).unwrap();
        let o = Online::new(k, apex.as_slice(), 86400, 3);
        let owner = name::from_text("x.z.", None).unwrap();
        let mut out = [0u8; 512];
        let ok = (0..5)
            .filter(|_| o.sign_into(owner.as_slice(), t::A, 60, &[&[1, 2, 3, 4]], 100, &mut out).is_some())
            .count();
        assert_eq!(ok, 3);
        assert!(o.sign_into(owner.as_slice(), t::A, 60, &[&[1, 2, 3, 4]], 101, &mut out).is_some(), "a new second");
    }

    #[test]
    fn compact_nsec_names_the_successor() {
        let owner = name::from_text("nx.z.", None).unwrap();
        let mut out = [0u8; 300];
        let n = nsec_rdata(owner.as_slice(), &[t::NXNAME], &mut out).unwrap();
        let next = name::from_text("\\000.nx.z.", None).unwrap();
        assert_eq!(&out[..next.len()], next.as_slice());
        assert_eq!(&out[next.len()..n], &type_bitmap(&[t::RRSIG, t::NSEC, t::NXNAME])[..]);
        let a63 = "a".repeat(63);
        let longer = name::from_text(&format!("{}.{a63}.{a63}.{a63}.z.", "b".repeat(58)), None).unwrap();
        assert_eq!(longer.len(), 254);
        assert!(nsec_rdata(longer.as_slice(), &[], &mut out).is_none(), "no successor within 255 octets");
    }
}
