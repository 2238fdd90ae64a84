//! The gate's shared arithmetic: name hashes and the membership filter.
//!
//! The flood gate (issue 23) admits or drops a query before it reaches a
//! socket: in an XDP program on the interface, or in a socket filter on
//! levee's UDP sockets where XDP is not available. Both are BPF programs
//! (`crates/levee-io/bpf/gate.c`) that read state user space publishes in
//! BPF maps. This module is the user-space half of the arithmetic they
//! share, written so that the BPF side can compute the very same values
//! with a bounded loop and 64-bit multiplies only:
//!
//! * [`label_hash`]: one label, eight octets at a time (little-endian
//!   words, the last one padded with zeros, ASCII letters folded to lower
//!   case), `h = mix(seed ^ LABEL ^ len)`, then `h = mix(h ^ word)` per
//!   word. Seeded, so labels that collide cannot be prepared offline (an
//!   unseeded FNV of the label could be inverted); a word at a time, so
//!   the BPF walk costs one `mix` per eight octets.
//! * [`suffix_hashes`]: the hash of every suffix of a name, from the right:
//!   `H(root) = mix(seed ^ ROOT)`, `H(label.S) = mix(H(S) ^ label_hash(label))`.
//!   One pass over the octets gives the hash of the name *and* of each of
//!   its ancestors, which is what finding the closest enclosing zone and
//!   checking delegations above the name need. The seed is per process
//!   (random), so names that collide cannot be prepared offline.
//! * [`Filter`]: a Bloom filter over those hashes, tagged [`EXACT`] (a
//!   name that exists: an owner or an empty non-terminal) or [`SUBTREE`]
//!   (every name below exists for answering purposes: a delegation, a
//!   DNAME owner, a wildcard's parent). Bit `j` of a key is
//!   `(h1 + j * h2) mod 2^log2_bits` with `x = mix(h ^ tag)`,
//!   `h1 = x as u32`, `h2 = (x >> 32) as u32 | 1`, in 32-bit wrapping
//!   arithmetic; bit `b` lives in word `b / 64`, bit `b % 64`.
//!
//! A name exists for the gate when its own hash is in the filter tagged
//! [`EXACT`], or the hash of one of its ancestors strictly below the zone's
//! apex is in it tagged [`SUBTREE`]. A Bloom filter has no false
//! negatives, so a query for an existing name is never taken for a random
//! one; a random name passes as existing with the filter's false-positive
//! rate (about 1 % at 10 bits per name and 7 probes).

use levee_wire::hash::mix;

pub mod model;

/// The most labels the gate hashes; a name with more is "too deep" and
/// judged by a budget of its own (no zone can be told for it).
pub const MAX_LABELS: usize = 32;

/// Tag of a name that exists.
pub const EXACT: u64 = 0x4558_4143_5400_0001;
/// Tag of a name below which every name exists (delegation, DNAME,
/// wildcard parent).
pub const SUBTREE: u64 = 0x5355_4254_5245_4502;
/// Constant mixed with the seed for the root's hash.
pub const ROOT: u64 = 0x524f_4f54_0000_0003;

/// Constant mixed with the seed and the length for a label's hash.
pub const LABEL: u64 = 0x4c41_4245_4c00_0004;

/// ASCII `A`-`Z` to `a`-`z` in each octet of a word, other octets as they
/// are (SWAR: the BPF side does the same).
pub fn lower8(x: u64) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let heptets = x & LOW7;
    let ge_a = heptets + 0x3f3f_3f3f_3f3f_3f3f; // bit 7: octet >= 'A'
    let gt_z = heptets + 0x2525_2525_2525_2525; // bit 7: octet > 'Z'
    let upper = ge_a & !gt_z & !x & HIGH;
    x | (upper >> 2)
}

/// A label's hash before its octets: the seed and its length (0 to 63).
/// The BPF programs read it from a table of 64 the loader computes.
pub fn label_start(seed: u64, len: usize) -> u64 {
    mix(seed ^ LABEL ^ len as u64)
}

/// The hash of one label under `seed` (see the module documentation).
pub fn label_hash(seed: u64, label: &[u8]) -> u64 {
    let mut h = label_start(seed, label.len());
    for chunk in label.chunks(8) {
        let mut w = [0u8; 8];
        w[..chunk.len()].copy_from_slice(chunk);
        h = mix(h ^ lower8(u64::from_le_bytes(w)));
    }
    h
}

/// The hashes of a name and of its suffixes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suffixes {
    /// `hashes[i]` is the hash of the name with its first `i` labels
    /// removed: `hashes[0]` is the name's own, `hashes[labels]` the root's.
    pub hashes: [u64; MAX_LABELS + 1],
    /// Labels of the name (not counting the root).
    pub labels: usize,
}

impl Suffixes {
    /// The name's own hash.
    pub fn name(&self) -> u64 {
        self.hashes[0]
    }
}

/// The hash of the root under `seed`.
pub fn root_hash(seed: u64) -> u64 {
    mix(seed ^ ROOT)
}

/// Hashes of every suffix of an uncompressed wire-format name. `None` when
/// the name is malformed (a label that runs past the end, a compression
/// pointer, no root label) or has more than [`MAX_LABELS`] labels.
pub fn suffix_hashes(seed: u64, name: &[u8]) -> Option<Suffixes> {
    let mut label_hashes = [0u64; MAX_LABELS];
    let mut labels = 0;
    let mut at = 0;
    loop {
        let len = *name.get(at)? as usize;
        if len == 0 {
            break;
        }
        if len > 63 || labels == MAX_LABELS {
            return None;
        }
        let label = name.get(at + 1..at + 1 + len)?;
        label_hashes[labels] = label_hash(seed, label);
        labels += 1;
        at += 1 + len;
    }
    let mut hashes = [0u64; MAX_LABELS + 1];
    hashes[labels] = root_hash(seed);
    for i in (0..labels).rev() {
        hashes[i] = mix(hashes[i + 1] ^ label_hashes[i]);
    }
    Some(Suffixes { hashes, labels })
}

/// A Bloom filter of name hashes, laid out as the BPF side reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filter {
    /// The bit array, `2^log2_bits / 64` words.
    pub words: Vec<u64>,
    /// Log2 of the number of bits (at least 6).
    pub log2_bits: u8,
    /// Probes per key.
    pub k: u8,
}

impl Filter {
    /// An empty filter sized for `keys` keys at about `bits_per_key` bits
    /// each (rounded up to a power of two), with `k` probes.
    pub fn with_capacity(keys: usize, bits_per_key: usize, k: u8) -> Filter {
        let bits = (keys.max(1) * bits_per_key.max(1)).next_power_of_two().max(64);
        let log2_bits = bits.trailing_zeros() as u8;
        Filter { words: vec![0; bits / 64], log2_bits, k: k.max(1) }
    }

    /// The bits of a key; borrows nothing, so `insert` can write while
    /// it iterates.
    fn probes(log2_bits: u8, k: u8, h: u64, tag: u64) -> impl Iterator<Item = u32> {
        let x = mix(h ^ tag);
        let (h1, h2) = (x as u32, (x >> 32) as u32 | 1);
        let mask = ((1u64 << log2_bits) - 1) as u32;
        (0..k as u32).map(move |j| h1.wrapping_add(j.wrapping_mul(h2)) & mask)
    }

    /// Adds a key.
    pub fn insert(&mut self, h: u64, tag: u64) {
        for b in Self::probes(self.log2_bits, self.k, h, tag) {
            self.words[(b / 64) as usize] |= 1 << (b % 64);
        }
    }

    /// Whether a key may have been added (no false negatives).
    pub fn contains(&self, h: u64, tag: u64) -> bool {
        Self::probes(self.log2_bits, self.k, h, tag).all(|b| self.words[(b / 64) as usize] & (1 << (b % 64)) != 0)
    }

    /// Whether a name whose suffix hashes are `s`, in the zone whose apex
    /// is `s.hashes[apex]`, exists for the gate: the name itself tagged
    /// [`EXACT`], or an ancestor strictly below the apex tagged [`SUBTREE`].
    pub fn name_exists(&self, s: &Suffixes, apex: usize) -> bool {
        self.contains(s.hashes[0], EXACT) || (1..apex).any(|i| self.contains(s.hashes[i], SUBTREE))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(text: &str) -> Vec<u8> {
        // "" is the root, as "." is.
        levee_wire::name::from_text(if text.is_empty() { "." } else { text }, Some(&[0])).unwrap().to_vec()
    }

    #[test]
    fn suffixes_are_the_names_of_the_ancestors() {
        let a = suffix_hashes(7, &wire("www.Example.COM")).unwrap();
        let b = suffix_hashes(7, &wire("example.com")).unwrap();
        let c = suffix_hashes(7, &wire("com")).unwrap();
        assert_eq!(a.labels, 3);
        assert_eq!(a.hashes[1], b.name());
        assert_eq!(a.hashes[2], c.name());
        assert_eq!(a.hashes[3], root_hash(7));
        assert_ne!(a.name(), b.name());
        // Case folds; the seed matters.
        assert_eq!(a, suffix_hashes(7, &wire("WWW.example.com")).unwrap());
        assert_ne!(a.name(), suffix_hashes(8, &wire("www.example.com")).unwrap().name());
        // Label boundaries matter: "ab.c" is not "a.bc".
        assert_ne!(suffix_hashes(7, &wire("ab.c")).unwrap().name(), suffix_hashes(7, &wire("a.bc")).unwrap().name());
    }

    #[test]
    fn lower8_folds_ascii_letters_only() {
        for b in 0..=255u8 {
            let w = u64::from_le_bytes([b, b'Q', b, 0xc1, b, b'z', b'@', b]);
            let want = u64::from_le_bytes([b, b'Q', b, 0xc1, b, b'z', b'@', b].map(|c| c.to_ascii_lowercase()));
            assert_eq!(lower8(w), want, "octet {b:#x}");
        }
        // Length and word boundaries matter; case does not.
        assert_eq!(label_hash(1, b"ABCDEFGHij"), label_hash(1, b"abcdefghIJ"));
        assert_ne!(label_hash(1, b"abcdefgh"), label_hash(1, b"abcdefgh\0"));
        assert_ne!(label_hash(1, b"a"), label_hash(2, b"a"));
    }

    #[test]
    fn malformed_or_deep_names_have_no_hashes() {
        assert!(suffix_hashes(1, &[3, b'w', b'w']).is_none()); // runs past the end
        assert!(suffix_hashes(1, &[3, b'w', b'w', b'w']).is_none()); // no root label
        assert!(suffix_hashes(1, &[0xc0, 12]).is_none()); // a pointer
        let deep = "a.".repeat(MAX_LABELS + 1);
        assert!(suffix_hashes(1, &wire(&deep)).is_none());
        let just = "a.".repeat(MAX_LABELS);
        assert_eq!(suffix_hashes(1, &wire(&just)).unwrap().labels, MAX_LABELS);
        assert_eq!(suffix_hashes(1, &[0]).unwrap().labels, 0);
    }

    #[test]
    fn the_filter_has_no_false_negatives_and_few_false_positives() {
        let n = 10_000;
        let mut f = Filter::with_capacity(n, 10, 7);
        for i in 0..n {
            f.insert(suffix_hashes(3, &wire(&format!("n{i}.example"))).unwrap().name(), EXACT);
        }
        for i in 0..n {
            let h = suffix_hashes(3, &wire(&format!("n{i}.example"))).unwrap().name();
            assert!(f.contains(h, EXACT));
        }
        let fp = (0..n)
            .filter(|i| f.contains(suffix_hashes(3, &wire(&format!("r{i}.example"))).unwrap().name(), EXACT))
            .count();
        // 131,072 bits for 10,000 keys with 7 probes: well under 1 % expected.
        assert!(fp < n / 100, "{fp} false positives of {n}");
    }

    #[test]
    fn names_below_a_subtree_exist() {
        let mut f = Filter::with_capacity(10, 10, 7);
        let deleg = suffix_hashes(5, &wire("sub.example")).unwrap();
        f.insert(deleg.name(), SUBTREE);
        let apex = suffix_hashes(5, &wire("example")).unwrap();
        f.insert(apex.name(), EXACT);
        let below = suffix_hashes(5, &wire("a.b.sub.example")).unwrap();
        assert!(f.name_exists(&below, 3)); // apex "example" is hashes[3]
        let other = suffix_hashes(5, &wire("a.b.other.example")).unwrap();
        assert!(!f.name_exists(&other, 3)); // deterministic: fixed seed and names
        assert!(f.name_exists(&apex, 0));
    }
}
