//! The RRSIG of one RRset (RFC 4034 §3).
//!
//! The signature covers the RRSIG RDATA up to the signer's name, then
//! every record of the RRset in canonical form (§6.2: owner lowercased,
//! class, the original TTL, canonical RDATA) in canonical order (§6.3:
//! RDATA compared as left-justified octet strings), duplicates removed.

use levee_wire::name;

use crate::canon;
use crate::key::{Key, KeyError};

/// The validity period of a signature, in seconds since the epoch
/// (serial-number arithmetic on the wire, RFC 4034 §3.1.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Validity {
    /// Signature inception.
    pub inception: u32,
    /// Signature expiration.
    pub expiration: u32,
}

/// One RRset to sign: all records share owner, type, class and TTL.
pub struct RrsetRef<'a> {
    /// Owner, wire form, lowercase.
    pub owner: &'a [u8],
    /// Type covered.
    pub rtype: u16,
    /// Class.
    pub class: u16,
    /// The TTL the RRset is served with (the original TTL).
    pub ttl: u32,
    /// The RDATAs.
    pub rdatas: &'a [&'a [u8]],
}

/// The labels field of an RRSIG owned by `owner`: its labels without
/// the root and without a leading `*` (RFC 4034 §3.1.3).
pub fn labels(owner: &[u8]) -> u8 {
    let n = name::label_count(owner);
    let wild = owner.len() >= 2 && owner[0] == 1 && owner[1] == b'*';
    (n - usize::from(wild)) as u8
}

/// The RRSIG RDATA of `set` by `key` for the zone `signer` (its apex,
/// wire form, lowercase). `buf` is scratch space reused between calls.
pub fn sign(set: &RrsetRef<'_>, key: &Key, signer: &[u8], v: Validity, buf: &mut Vec<u8>) -> Result<Vec<u8>, KeyError> {
    let mut rdata = Vec::with_capacity(18 + signer.len() + 64);
    rdata.extend_from_slice(&set.rtype.to_be_bytes());
    rdata.push(key.algorithm().number());
    rdata.push(labels(set.owner));
    rdata.extend_from_slice(&set.ttl.to_be_bytes());
    rdata.extend_from_slice(&v.expiration.to_be_bytes());
    rdata.extend_from_slice(&v.inception.to_be_bytes());
    rdata.extend_from_slice(&key.tag().to_be_bytes());
    rdata.extend_from_slice(signer);
    signed_data(set, &rdata, buf);
    let sig = key.sign(buf)?;
    rdata.extend_from_slice(&sig);
    Ok(rdata)
}

/// [`sign`] into `out` without allocating (`buf` is scratch space whose
/// capacity is reused): returns the RDATA's length, or `None` if `out`
/// is too small or the key fails.
pub fn sign_into(
    set: &RrsetRef<'_>,
    key: &Key,
    signer: &[u8],
    v: Validity,
    buf: &mut Vec<u8>,
    out: &mut [u8],
) -> Option<usize> {
    let head_len = 18 + signer.len();
    let head = out.get_mut(..head_len)?;
    head[0..2].copy_from_slice(&set.rtype.to_be_bytes());
    head[2] = key.algorithm().number();
    head[3] = labels(set.owner);
    head[4..8].copy_from_slice(&set.ttl.to_be_bytes());
    head[8..12].copy_from_slice(&v.expiration.to_be_bytes());
    head[12..16].copy_from_slice(&v.inception.to_be_bytes());
    head[16..18].copy_from_slice(&key.tag().to_be_bytes());
    head[18..].copy_from_slice(signer);
    signed_data(set, &out[..head_len], buf);
    let n = key.sign_to(buf, out.get_mut(head_len..)?)?;
    Some(head_len + n)
}

/// Writes into `buf` what an RRSIG whose RDATA (without signature) is
/// `head` covers over `set`.
pub fn signed_data(set: &RrsetRef<'_>, head: &[u8], buf: &mut Vec<u8>) {
    buf.clear();
    buf.extend_from_slice(head);
    let mut rds: Vec<std::borrow::Cow<'_, [u8]>> = set.rdatas.iter().map(|r| canon::rdata(set.rtype, r)).collect();
    rds.sort_unstable();
    rds.dedup();
    let mut fixed = [0u8; 10];
    fixed[0..2].copy_from_slice(&set.rtype.to_be_bytes());
    fixed[2..4].copy_from_slice(&set.class.to_be_bytes());
    fixed[4..8].copy_from_slice(&set.ttl.to_be_bytes());
    for rd in &rds {
        buf.extend_from_slice(set.owner);
        fixed[8..10].copy_from_slice(&(rd.len() as u16).to_be_bytes());
        buf.extend_from_slice(&fixed);
        buf.extend_from_slice(rd);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(s: &str) -> Vec<u8> {
        name::from_text(s, None).unwrap().as_slice().to_vec()
    }

    #[test]
    fn labels_skip_the_wildcard() {
        assert_eq!(labels(&wire("www.example.")), 2);
        assert_eq!(labels(&wire("*.example.")), 1);
        assert_eq!(labels(&wire(".")), 0);
    }

    /// The signed data holds each record once, in RDATA order.
    #[test]
    fn signed_data_is_canonical() {
        let owner = wire("example.");
        let a: &[u8] = &[192, 0, 2, 2];
        let b: &[u8] = &[192, 0, 2, 1];
        let set = RrsetRef { owner: &owner, rtype: 1, class: 1, ttl: 300, rdatas: &[a, b, a] };
        let mut buf = Vec::new();
        signed_data(&set, b"H", &mut buf);
        let rr = |rd: &[u8]| {
            let mut v = owner.clone();
            v.extend_from_slice(&[0, 1, 0, 1, 0, 0, 1, 44, 0, 4]);
            v.extend_from_slice(rd);
            v
        };
        let mut want = b"H".to_vec();
        want.extend(rr(b));
        want.extend(rr(a));
        assert_eq!(buf, want);
    }
}
