//! The one 64-bit hash finaliser of levee.
//!
//! Every table keyed by a hash (a zone's name index, the response cache,
//! the rate limiter's sketch, the table of known sources) and every rate
//! limiting key finishes its hash with [`mix`], so each may take its slot
//! from any bits. Name hashing itself (case-insensitive, eight octets at a
//! time) is [`name::hash_ignore_case`](crate::name::hash_ignore_case).

/// MurmurHash3's 64-bit finaliser (`fmix64`): every output bit depends on
/// every input bit, and distinct inputs give distinct outputs (it is a
/// bijection).
#[inline]
pub fn mix(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

#[cfg(test)]
mod tests {
    use super::mix;

    /// fmix64 of 1 (computed apart, in Python), and a spread of output
    /// bits.
    #[test]
    fn fmix64() {
        assert_eq!(mix(0), 0);
        assert_eq!(mix(1), 0xb456_bcfc_34c2_cb2c);
        let flips = (0..64).map(|b| (mix(1 << b) ^ mix(0)).count_ones()).min().unwrap();
        assert!(flips > 16, "a one-bit input changes only {flips} output bits");
    }
}
