//! Authenticated denial: type bitmaps, NSEC and NSEC3 (RFC 4034 §4,
//! RFC 5155), with RFC 9276's advice as the default (no extra
//! iterations, empty salt).

use ring::digest::{Context, SHA1_FOR_LEGACY_USE_ONLY};

/// The type bitmap field of NSEC and NSEC3 for `types` (any order,
/// duplicates allowed): window blocks of the types present, each as long
/// as its highest type needs (RFC 4034 §4.1.2).
pub fn type_bitmap(types: &[u16]) -> Vec<u8> {
    let mut ts = types.to_vec();
    ts.sort_unstable();
    ts.dedup();
    let mut out = Vec::new();
    let mut i = 0;
    while i < ts.len() {
        let window = (ts[i] >> 8) as u8;
        let mut bits = [0u8; 32];
        let mut len = 0;
        while i < ts.len() && (ts[i] >> 8) as u8 == window {
            let low = (ts[i] & 0xFF) as usize;
            bits[low / 8] |= 0x80 >> (low % 8);
            len = low / 8 + 1;
            i += 1;
        }
        out.push(window);
        out.push(len as u8);
        out.extend_from_slice(&bits[..len]);
    }
    out
}

/// NSEC3 parameters (RFC 5155 §3.1): hash algorithm 1 (SHA-1) is the
/// only one defined.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Nsec3Params {
    /// Additional iterations (RFC 9276: 0).
    pub iterations: u16,
    /// Salt (RFC 9276: empty).
    pub salt: Vec<u8>,
    /// Opt-out: insecure delegations are left out of the chain.
    pub opt_out: bool,
}

impl Nsec3Params {
    /// The NSEC3PARAM RDATA (flags 0: opt-out is a property of the
    /// chain's NSEC3 records, not of the parameters).
    pub fn nsec3param_rdata(&self) -> Vec<u8> {
        let mut v = vec![1, 0];
        v.extend_from_slice(&self.iterations.to_be_bytes());
        v.push(self.salt.len() as u8);
        v.extend_from_slice(&self.salt);
        v
    }

    /// The NSEC3 RDATA: these parameters, the next hashed owner (raw)
    /// and the type bitmap.
    pub fn nsec3_rdata(&self, next_hash: &[u8], bitmap: &[u8]) -> Vec<u8> {
        let mut v = vec![1, u8::from(self.opt_out)];
        v.extend_from_slice(&self.iterations.to_be_bytes());
        v.push(self.salt.len() as u8);
        v.extend_from_slice(&self.salt);
        v.push(next_hash.len() as u8);
        v.extend_from_slice(next_hash);
        v.extend_from_slice(bitmap);
        v
    }

    /// The NSEC3 hash of `name` (wire form, lowercase): IH(salt, name,
    /// iterations) of RFC 5155 §5.
    pub fn hash(&self, name: &[u8]) -> [u8; 20] {
        let mut ctx = Context::new(&SHA1_FOR_LEGACY_USE_ONLY);
        ctx.update(name);
        ctx.update(&self.salt);
        let mut h = [0u8; 20];
        h.copy_from_slice(ctx.finish().as_ref());
        for _ in 0..self.iterations {
            let mut ctx = Context::new(&SHA1_FOR_LEGACY_USE_ONLY);
            ctx.update(&h);
            ctx.update(&self.salt);
            h.copy_from_slice(ctx.finish().as_ref());
        }
        h
    }
}

/// Base32 with the extended hex alphabet, lowercase, no padding (RFC
/// 4648 §7 as NSEC3 owner labels use it).
/// The entries of an NSEC3 chain, (raw hash, types), sorted by hash:
/// one for each of `names` (owner and the types its NSEC3 lists, given
/// in canonical order, the apex first) and one, with no types, for each
/// empty non-terminal between them. In canonical order a name's
/// descendants follow it without a gap, so an ancestor shared with the
/// previous name was met already (as a name or as an empty
/// non-terminal), and one that is not shared cannot be an existing name
/// (it would have come between them).
pub fn nsec3_entries<'a>(
    apex: &[u8],
    p: &Nsec3Params,
    names: impl Iterator<Item = (&'a [u8], Vec<u16>)>,
) -> Vec<([u8; 20], Vec<u16>)> {
    let mut entries: Vec<([u8; 20], Vec<u16>)> = Vec::new();
    let mut prev: &[u8] = apex;
    for (owner, types) in names {
        entries.push((p.hash(owner), types));
        let mut up = levee_wire::name::parent(owner);
        while owner.len() > apex.len() && up.len() > apex.len() && !levee_wire::name::is_subdomain(prev, up) {
            entries.push((p.hash(up), Vec::new()));
            up = levee_wire::name::parent(up);
        }
        prev = owner;
    }
    entries.sort_unstable_by_key(|e| e.0);
    entries.dedup_by(|b, a| a.0 == b.0);
    entries
}

/// The owner of the NSEC3 record of hash `h` in the zone `apex` (wire
/// form): the hash in base32hex as the first label.
pub fn nsec3_owner(h: &[u8; 20], apex: &[u8]) -> Vec<u8> {
    let mut owner = vec![32u8];
    owner.extend_from_slice(base32hex(h).as_bytes());
    owner.extend_from_slice(apex);
    owner
}

pub fn base32hex(data: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789abcdefghijklmnopqrstuv";
    let mut out = String::with_capacity(data.len().div_ceil(5) * 8);
    let mut acc: u64 = 0;
    let mut bits = 0;
    for &b in data {
        acc = (acc << 8) | b as u64;
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((acc >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((acc << (5 - bits)) & 31) as usize] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use levee_wire::name;

    /// RFC 5155 appendix A: H(example) with salt aabbccdd and 12
    /// iterations is 0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.
    #[test]
    fn nsec3_hash_of_the_rfc_example() {
        let p = Nsec3Params { iterations: 12, salt: vec![0xaa, 0xbb, 0xcc, 0xdd], opt_out: false };
        let n = name::from_text("example.", None).unwrap();
        assert_eq!(base32hex(&p.hash(n.as_slice())), "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom");
        let n = name::from_text("a.example.", None).unwrap();
        assert_eq!(base32hex(&p.hash(n.as_slice())), "35mthgpgcu1qg68fab165klnsnk3dpvl");
    }

    /// RFC 4034 §4.3's example: A MX RRSIG NSEC TYPE1234.
    #[test]
    fn bitmap_of_the_rfc_example() {
        let got = type_bitmap(&[1, 15, 46, 47, 1234, 1]);
        let mut want = vec![0x00, 0x06, 0x40, 0x01, 0x00, 0x00, 0x00, 0x03];
        want.extend([0x04, 0x1b]);
        want.extend([0u8; 26]);
        want.push(0x20);
        assert_eq!(got, want);
        assert!(type_bitmap(&[]).is_empty());
    }
}
