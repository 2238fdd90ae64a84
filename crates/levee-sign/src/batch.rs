//! Many RRsets signed at once ([`sign_batch`]), for a caller that finds
//! them itself: the daemon signs a zone from scratch on its loaded
//! snapshot (`levee::zones::fullsign`), walking names the snapshot
//! already holds in canonical order, and hands over only the RRsets to
//! sign, each with what the previous signed version had for it.
//!
//! Keys and validity are chosen as [`crate::sign_zone`] chooses them
//! (key-signing keys for the apex's DNSKEY, CDS and CDNSKEY when the keys
//! are split; expirations spread by owner and type), and a previous
//! signature is kept on the same terms (`reuse.rs`). The signing runs on
//! [`Policy::threads`] threads over consecutive runs of jobs.

use crate::key::{Key, KeyError};
use crate::reuse::kept_signature;
use crate::rrsig::{self, RrsetRef};
use crate::zone::{validity, Policy, SignError};

/// One RRset to sign.
pub struct Job<'a> {
    /// Owner, wire form, lowercase.
    pub owner: &'a [u8],
    /// Type.
    pub rtype: u16,
    /// TTL (the original TTL of the signature).
    pub ttl: u32,
    /// The records' RDATAs, in any order (duplicates are ignored).
    pub rdatas: Vec<&'a [u8]>,
    /// Signed by the key-signing keys (the apex's DNSKEY, CDS, CDNSKEY).
    pub ksk: bool,
    /// The same owner and type in the previous signed version, if any.
    pub before: Option<Before<'a>>,
}

/// An RRset of the previous signed version and its signatures.
pub struct Before<'a> {
    /// Its TTL.
    pub ttl: u32,
    /// Its RDATAs.
    pub rdatas: Vec<&'a [u8]>,
    /// Its RRSIG RDATAs.
    pub sigs: Vec<&'a [u8]>,
}

/// What [`sign_batch`] gives.
#[derive(Debug, Default)]
pub struct Batch {
    /// The RRSIG RDATAs of each job, in the jobs' order.
    pub sigs: Vec<Vec<Vec<u8>>>,
    /// Signatures made.
    pub made: usize,
    /// Signatures kept from the previous version.
    pub reused: usize,
}

/// The signing keys: (key-signing, zone-signing). All keys of one kind
/// (a combined key) sign everything; published-only keys sign nothing.
fn signers(keys: &[Key]) -> (Vec<&Key>, Vec<&Key>) {
    let signing: Vec<&Key> = keys.iter().filter(|k| k.signs()).collect();
    let seps: Vec<&Key> = signing.iter().copied().filter(|k| k.is_sep()).collect();
    let zsks: Vec<&Key> = signing.iter().copied().filter(|k| !k.is_sep()).collect();
    if seps.is_empty() || zsks.is_empty() {
        (signing.clone(), signing)
    } else {
        (seps, zsks)
    }
}

/// Signs every job of `jobs` for the zone `apex` (wire form, lowercase)
/// at `now` under `policy`, keeping the previous signatures that may be
/// kept.
pub fn sign_batch(jobs: &[Job<'_>], keys: &[Key], apex: &[u8], policy: &Policy, now: u32) -> Result<Batch, SignError> {
    let (ksk, zsk) = signers(keys);
    if zsk.is_empty() {
        return Err(SignError::NoKeys);
    }
    let run = |part: &[Job<'_>]| -> Result<Batch, SignError> {
        let mut out = Batch { sigs: Vec::with_capacity(part.len()), ..Batch::default() };
        let mut buf = Vec::new();
        let mut bufs = (Vec::new(), Vec::new());
        for j in part {
            let set = RrsetRef { owner: j.owner, rtype: j.rtype, class: 1, ttl: j.ttl, rdatas: &j.rdatas };
            let v = validity(policy, now, j.owner, j.rtype);
            let mut sigs = Vec::with_capacity(1);
            for key in if j.ksk { &ksk } else { &zsk } {
                let old = j.before.as_ref().and_then(|b| {
                    kept_signature(&set, b.ttl, &b.rdatas, &b.sigs, key, apex, now, policy.refresh, &mut bufs)
                });
                match old {
                    Some(o) => {
                        out.reused += 1;
                        sigs.push(o);
                    }
                    None => {
                        out.made += 1;
                        sigs.push(rrsig::sign(&set, key, apex, v, &mut buf).map_err(SignError::Key)?);
                    }
                }
            }
            out.sigs.push(sigs);
        }
        Ok(out)
    };
    let threads = policy.threads.clamp(1, 64);
    if threads == 1 || jobs.len() < 256 {
        return run(jobs);
    }
    let per = jobs.len().div_ceil(threads);
    let parts: Vec<Result<Batch, SignError>> = std::thread::scope(|s| {
        let handles: Vec<_> = jobs.chunks(per).map(|part| s.spawn(move || run(part))).collect();
        handles.into_iter().map(|h| h.join().unwrap_or(Err(SignError::Key(KeyError::Crypto)))).collect()
    });
    let mut all = Batch { sigs: Vec::with_capacity(jobs.len()), ..Batch::default() };
    for p in parts {
        let p = p?;
        all.sigs.extend(p.sigs);
        all.made += p.made;
        all.reused += p.reused;
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::Algorithm;
    use levee_wire::name;
    use levee_wire::rtype::t;

    /// A batch signs with the keys `sign_rrset` chooses, keeps a previous
    /// signature of the same RRset (records in another order) and makes
    /// a new one when the RRset changed; on threads as on one.
    #[test]
    fn a_batch_signs_keeps_and_splits_keys() {
        let keys = [
            Key::generate(Algorithm::EcdsaP256Sha256, true).unwrap(),
            Key::generate(Algorithm::EcdsaP256Sha256, false).unwrap(),
        ];
        let apex = name::from_text("z.", None).unwrap();
        let a = name::from_text("a.z.", None).unwrap();
        let now = 1_800_000_000;
        let (r1, r2): (&[u8], &[u8]) = (&[192, 0, 2, 1], &[192, 0, 2, 2]);
        let job = |rdatas: Vec<&'static [u8]>, ksk: bool| Job {
            owner: if ksk { apex.as_slice() } else { a.as_slice() },
            rtype: if ksk { t::DNSKEY } else { t::A },
            ttl: 60,
            rdatas,
            ksk,
            before: None,
        };
        for threads in [1, 2] {
            let policy = Policy { threads, ..Policy::default() };
            let jobs: Vec<Job<'_>> = (0..300).map(|i| job(vec![r1, r2], i == 0)).collect();
            let b = sign_batch(&jobs, &keys, apex.as_slice(), &policy, now).unwrap();
            assert_eq!((b.made, b.reused, b.sigs.len()), (300, 0, 300));
            let tag = |s: &[u8]| u16::from_be_bytes([s[16], s[17]]);
            assert_eq!(tag(&b.sigs[0][0]), keys[0].tag(), "DNSKEY by the KSK");
            assert!(b.sigs[1..].iter().all(|s| s.len() == 1 && tag(&s[0]) == keys[1].tag()), "the rest by the ZSK");
            // The same records in another order keep the signature; a
            // changed RRset is signed again.
            let old = b.sigs[1][0].clone();
            let mut same = job(vec![r2, r1], false);
            same.before = Some(Before { ttl: 60, rdatas: vec![r1, r2], sigs: vec![&old] });
            let mut changed = job(vec![r1], false);
            changed.before = Some(Before { ttl: 60, rdatas: vec![r1, r2], sigs: vec![&old] });
            let b2 = sign_batch(&[same, changed], &keys, apex.as_slice(), &policy, now + 60).unwrap();
            assert_eq!((b2.made, b2.reused), (1, 1));
            assert_eq!(b2.sigs[0][0], old);
            assert_ne!(b2.sigs[1][0], old);
        }
    }
}
