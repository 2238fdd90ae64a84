//! Signing keys: ECDSA P-256/SHA-256 (algorithm 13) and Ed25519 (15).
//!
//! A [`Key`] holds ring's key pair, the DNSKEY RDATA it publishes and the
//! key tag. The private half leaves a key only as PKCS#8
//! ([`Key::pkcs8`]), which is what the key store writes (file mode 0600;
//! Ed25519 as PKCS#8 v1, RFC 8410, which OpenSSL and Knot DNS read);
//! `Debug` prints the tag and algorithm, never the key.

use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};

/// DNSSEC algorithm numbers levee signs with (RFC 8624 lists both as
/// MUST for validators).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// ECDSA on P-256 with SHA-256 (RFC 6605): the default.
    EcdsaP256Sha256,
    /// Ed25519 (RFC 8080).
    Ed25519,
}

impl Algorithm {
    /// The algorithm's number in DNSKEY, RRSIG and DS.
    pub fn number(self) -> u8 {
        match self {
            Algorithm::EcdsaP256Sha256 => 13,
            Algorithm::Ed25519 => 15,
        }
    }

    /// The algorithm with `number`, if levee signs with it.
    pub fn from_number(n: u8) -> Option<Self> {
        match n {
            13 => Some(Algorithm::EcdsaP256Sha256),
            15 => Some(Algorithm::Ed25519),
            _ => None,
        }
    }

    /// The mnemonic of RFC 8624 (`ECDSAP256SHA256`, `ED25519`).
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::EcdsaP256Sha256 => "ECDSAP256SHA256",
            Algorithm::Ed25519 => "ED25519",
        }
    }

    /// The algorithm named `s` (the mnemonic, any case, or the number).
    pub fn from_name(s: &str) -> Option<Self> {
        if let Ok(n) = s.parse::<u8>() {
            return Self::from_number(n);
        }
        match s.to_ascii_uppercase().as_str() {
            "ECDSAP256SHA256" | "ECDSA-P256-SHA256" => Some(Algorithm::EcdsaP256Sha256),
            "ED25519" => Some(Algorithm::Ed25519),
            _ => None,
        }
    }
}

/// DNSKEY flags: zone key (bit 7).
pub const FLAG_ZONE: u16 = 0x0100;
/// DNSKEY flags: secure entry point (bit 15), set on KSKs and CSKs.
pub const FLAG_SEP: u16 = 0x0001;

/// Why a key could not be made or used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyError {
    /// The PKCS#8 document is not a key of the algorithm.
    Rejected(String),
    /// The random number generator or the signer failed.
    Crypto,
}

impl std::fmt::Display for KeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyError::Rejected(why) => write!(f, "not a usable private key: {why}"),
            KeyError::Crypto => f.write_str("the cryptographic library failed"),
        }
    }
}

impl std::error::Error for KeyError {}

enum Pair {
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

/// A signing key with its public DNSKEY.
pub struct Key {
    alg: Algorithm,
    flags: u16,
    pair: Pair,
    pkcs8: Vec<u8>,
    dnskey: Vec<u8>,
    tag: u16,
    rng: SystemRandom,
    /// Makes signatures (a key published ahead of its time, or kept
    /// after it, does not: `crate::rollover`).
    signs: bool,
    /// In the DNSKEY RRset (an algorithm rollover's new keys sign before
    /// they are published, its old ones after they left).
    published: bool,
}

/// The start of an Ed25519 private key in PKCS#8 v1 (RFC 8410 §7):
/// SEQUENCE { version 0, AlgorithmIdentifier id-Ed25519, OCTET STRING
/// { OCTET STRING seed } }; the 32-octet seed follows.
const ED25519_PKCS8_V1: [u8; 16] =
    [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];

/// ring makes Ed25519 keys as PKCS#8 v2 (RFC 5958: version 1, the
/// public key after the seed), which OpenSSL 3.0 and Knot DNS (GnuTLS)
/// refuse to read; the key store writes v1, what they write. ring's v2
/// is v1's header with version 1 and the length 0x51, the seed, then
/// `[1]` and the public key: the seed is taken at the same place.
fn ed25519_pkcs8_v1(v2: &[u8]) -> Option<Vec<u8>> {
    let ok = v2.len() == 83
        && v2[..2] == [0x30, 0x51]
        && v2[2..5] == [0x02, 0x01, 0x01]
        && v2[5..16] == ED25519_PKCS8_V1[5..];
    ok.then(|| [&ED25519_PKCS8_V1[..], &v2[16..48]].concat())
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the private key: the tag, the algorithm and the flags.
        f.debug_struct("Key").field("tag", &self.tag).field("alg", &self.alg).field("flags", &self.flags).finish()
    }
}

impl Drop for Key {
    fn drop(&mut self) {
        // Our PKCS#8 copy is zeroed before its memory is freed (best
        // effort: `black_box` keeps the writes; ring wipes its own).
        self.pkcs8.iter_mut().for_each(|b| *b = 0);
        std::hint::black_box(&self.pkcs8);
    }
}

impl Key {
    /// A new key of `alg`; `sep` sets the SEP flag (a KSK or CSK).
    pub fn generate(alg: Algorithm, sep: bool) -> Result<Self, KeyError> {
        let rng = SystemRandom::new();
        let flags = FLAG_ZONE | if sep { FLAG_SEP } else { 0 };
        match alg {
            Algorithm::EcdsaP256Sha256 => {
                let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                    .map_err(|_| KeyError::Crypto)?;
                Self::from_pkcs8(alg, flags, doc.as_ref())
            }
            Algorithm::Ed25519 => {
                let doc = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| KeyError::Crypto)?;
                let mut v1 = ed25519_pkcs8_v1(doc.as_ref()).ok_or(KeyError::Crypto)?;
                let key = Self::from_pkcs8(alg, flags, &v1);
                v1.iter_mut().for_each(|b| *b = 0);
                key
            }
        }
    }

    /// The key in the PKCS#8 document `der` (as [`Key::pkcs8`] gives
    /// it, or as Knot and OpenSSL write private keys, PEM decoded).
    pub fn from_pkcs8(alg: Algorithm, flags: u16, der: &[u8]) -> Result<Self, KeyError> {
        let rng = SystemRandom::new();
        let pair = match alg {
            Algorithm::EcdsaP256Sha256 => Pair::Ecdsa(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der, &rng)
                    .map_err(|e| KeyError::Rejected(e.to_string()))?,
            ),
            Algorithm::Ed25519 => Pair::Ed25519(
                Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(|e| KeyError::Rejected(e.to_string()))?,
            ),
        };
        let public: Vec<u8> = match &pair {
            // ring gives the uncompressed point 04 || X || Y; DNSKEY
            // carries X || Y (RFC 6605 §4).
            Pair::Ecdsa(p) => p.public_key().as_ref()[1..].to_vec(),
            Pair::Ed25519(p) => p.public_key().as_ref().to_vec(),
        };
        let mut dnskey = Vec::with_capacity(4 + public.len());
        dnskey.extend_from_slice(&flags.to_be_bytes());
        dnskey.push(3);
        dnskey.push(alg.number());
        dnskey.extend_from_slice(&public);
        let tag = key_tag(&dnskey);
        Ok(Key { alg, flags, pair, pkcs8: der.to_vec(), dnskey, tag, rng, signs: true, published: true })
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The DNSKEY flags.
    pub fn flags(&self) -> u16 {
        self.flags
    }

    /// True for a key with the SEP flag (KSK or CSK).
    pub fn is_sep(&self) -> bool {
        self.flags & FLAG_SEP != 0
    }

    /// Whether the zone signer signs with this key (it is published
    /// either way).
    pub fn signs(&self) -> bool {
        self.signs
    }

    /// Makes the key sign, or only be published.
    pub fn set_signing(&mut self, on: bool) {
        self.signs = on;
    }

    /// Whether the signer puts this key's DNSKEY in the zone.
    pub fn published(&self) -> bool {
        self.published
    }

    /// Puts the key's DNSKEY in the zone or leaves it out (it may sign
    /// either way).
    pub fn set_published(&mut self, on: bool) {
        self.published = on;
    }

    /// The DNSKEY RDATA.
    pub fn dnskey(&self) -> &[u8] {
        &self.dnskey
    }

    /// The key tag (RFC 4034 appendix B).
    pub fn tag(&self) -> u16 {
        self.tag
    }

    /// The private key as PKCS#8 DER, for the key store only.
    pub fn pkcs8(&self) -> &[u8] {
        &self.pkcs8
    }

    /// The signature of `data`: r || s (64 octets, RFC 6605) or the
    /// Ed25519 signature (64 octets, RFC 8080).
    pub fn sign(&self, data: &[u8]) -> Result<Vec<u8>, KeyError> {
        match &self.pair {
            Pair::Ecdsa(p) => p.sign(&self.rng, data).map(|s| s.as_ref().to_vec()).map_err(|_| KeyError::Crypto),
            Pair::Ed25519(p) => Ok(p.sign(data).as_ref().to_vec()),
        }
    }

    /// [`Key::sign`] into `out` (at least 64 octets) without allocating;
    /// returns the signature's length.
    pub fn sign_to(&self, data: &[u8], out: &mut [u8]) -> Option<usize> {
        let sig = match &self.pair {
            Pair::Ecdsa(p) => p.sign(&self.rng, data).ok()?,
            Pair::Ed25519(p) => p.sign(data),
        };
        let s = sig.as_ref();
        out.get_mut(..s.len())?.copy_from_slice(s);
        Some(s.len())
    }

    /// The DS RDATA of this key for `owner` (the zone's apex, wire form)
    /// with SHA-256 (digest type 2), as the parent publishes it.
    pub fn ds_sha256(&self, owner: &[u8]) -> Vec<u8> {
        let mut data = levee_wire::name::to_lowercase(owner).as_slice().to_vec();
        data.extend_from_slice(&self.dnskey);
        let digest = ring::digest::digest(&ring::digest::SHA256, &data);
        let mut ds = Vec::with_capacity(4 + 32);
        ds.extend_from_slice(&self.tag.to_be_bytes());
        ds.push(self.alg.number());
        ds.push(2);
        ds.extend_from_slice(digest.as_ref());
        ds
    }
}

/// The key tag of a DNSKEY RDATA (RFC 4034 appendix B; every algorithm
/// but the retired RSA/MD5).
pub fn key_tag(dnskey: &[u8]) -> u16 {
    let mut ac: u32 = 0;
    for (i, &b) in dnskey.iter().enumerate() {
        ac += if i & 1 == 1 { b as u32 } else { (b as u32) << 8 };
    }
    ac += (ac >> 16) & 0xFFFF;
    (ac & 0xFFFF) as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4034 §5.4's example DNSKEY of dskey.example.com has tag 60485.
    #[test]
    fn key_tag_of_the_rfc_example() {
        let b64 = "AQOeiiR0GOMYkDshWoSKz9XzfwJr1AYtsmx3TGkJaNXVbfi/2pHm822aJ5iI9BMzNXxeYCmZDRD99WYwYqUSdjMmmAphXdvxegXd/M5+X7OrzKBaMbCVdFLUUh6DhweJBjEVv5f2wwjM9XzcnOf+EPbtG9DMBmADjFDc2w/rljwvFw==";
        let mut rd = vec![0x01, 0x00, 3, 5];
        rd.extend(decode_b64(b64));
        assert_eq!(key_tag(&rd), 60485);
    }

    fn decode_b64(s: &str) -> Vec<u8> {
        let val = |c: u8| match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            _ => 63,
        };
        let b: Vec<u8> = s.bytes().filter(|&c| c != b'=').map(val).collect();
        let mut out = Vec::new();
        for ch in b.chunks(4) {
            let mut n = 0u32;
            for (i, &v) in ch.iter().enumerate() {
                n |= (v as u32) << (18 - 6 * i);
            }
            out.extend_from_slice(&n.to_be_bytes()[1..ch.len()]);
        }
        out
    }

    #[test]
    fn keys_sign_and_round_trip_through_pkcs8() {
        for alg in [Algorithm::EcdsaP256Sha256, Algorithm::Ed25519] {
            let k = Key::generate(alg, true).unwrap();
            assert_eq!(k.dnskey().len(), 4 + if alg == Algorithm::Ed25519 { 32 } else { 64 });
            assert_eq!(&k.dnskey()[..4], &[1, 1, 3, alg.number()]);
            let again = Key::from_pkcs8(alg, k.flags(), k.pkcs8()).unwrap();
            assert_eq!(again.dnskey(), k.dnskey());
            assert_eq!(again.tag(), k.tag());
            let sig = again.sign(b"data").unwrap();
            assert_eq!(sig.len(), 64);
            // The signature verifies with ring's verifier over the DNSKEY's key.
            let public = &k.dnskey()[4..];
            let ok = match alg {
                Algorithm::EcdsaP256Sha256 => {
                    let mut pt = vec![4u8];
                    pt.extend_from_slice(public);
                    ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_FIXED, pt)
                        .verify(b"data", &sig)
                }
                Algorithm::Ed25519 => {
                    ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, public).verify(b"data", &sig)
                }
            };
            assert!(ok.is_ok(), "{alg:?}");
            assert!(!format!("{k:?}").contains(&format!("{:?}", &k.pkcs8()[..8])));
        }
        assert!(Key::from_pkcs8(Algorithm::Ed25519, 256, b"not a key").is_err());
    }

    /// New Ed25519 keys are kept as PKCS#8 v1 (RFC 8410), which OpenSSL
    /// 3.0 and Knot DNS read (ring's own v2 they refuse); a v2 document
    /// from an earlier levee still reads, as the same key.
    #[test]
    fn ed25519_keys_are_pkcs8_v1_and_v2_still_reads() {
        let k = Key::generate(Algorithm::Ed25519, false).unwrap();
        assert_eq!(k.pkcs8().len(), 48);
        assert_eq!(&k.pkcs8()[..16], &ED25519_PKCS8_V1[..]);
        let v2 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        let old = Key::from_pkcs8(Algorithm::Ed25519, 256, v2.as_ref()).unwrap();
        let v1 = ed25519_pkcs8_v1(v2.as_ref()).unwrap();
        let new = Key::from_pkcs8(Algorithm::Ed25519, 256, &v1).unwrap();
        assert_eq!(old.dnskey(), new.dnskey());
        assert_eq!(ed25519_pkcs8_v1(&v1), None, "only ring's v2 layout is converted");
    }
}
