//! NSEC3 owner-name hashing (RFC 5155 §5).

use sha1::{Digest, Sha1};

/// The one NSEC3 hash algorithm (RFC 5155 §11).
pub(crate) const SHA1: u8 = 1;

/// SHA-1 NSEC3 hash of a lowercased wire name with `salt` and
/// `iterations` extra rounds; writes 20 octets to `out` and returns 20.
pub(crate) fn hash(lname: &[u8], salt: &[u8], iterations: u16, out: &mut [u8; 20]) -> usize {
    let mut h = Sha1::new();
    h.update(lname);
    h.update(salt);
    let mut d = h.finalize();
    for _ in 0..iterations {
        let mut h = Sha1::new();
        h.update(d);
        h.update(salt);
        d = h.finalize();
    }
    out.copy_from_slice(&d);
    20
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc5155_appendix_a() {
        // example. with salt aabbccdd and 12 iterations hashes to
        // 0p9mhaveqvm6t7vbl5lop2u3t2rp3tom (RFC 5155 Appendix A).
        let name = levee_wire::name::from_text("example.", None).unwrap();
        let mut out = [0; 20];
        hash(&name, &[0xaa, 0xbb, 0xcc, 0xdd], 12, &mut out);
        assert_eq!(crate::zonefile::codec::base32hex_encode(&out), "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom");
    }
}
