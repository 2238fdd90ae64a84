//! Canonical forms (RFC 4034 §6): what a signature covers.
//!
//! Owner names are lowercased by the caller ([`crate::zone`] lowercases
//! every owner on the way in). Inside RDATA only the names of the types
//! listed in RFC 4034 §6.2, as amended by RFC 6840 §5.1 (NSEC dropped),
//! are lowercased: [`levee_wire::rtype::canonical_lowercase`] says which,
//! [`rdata`] knows where their names sit.

use levee_wire::rtype::{self, t};

/// The canonical RDATA of `rtype`: `rdata` itself, or a copy with the
/// embedded names lowercased. Malformed RDATA is returned as it is (the
/// loader has checked it; a signature over it fails no worse).
pub fn rdata(rtype: u16, rdata: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if !rtype::canonical_lowercase(rtype) || !rdata.iter().any(u8::is_ascii_uppercase) {
        return std::borrow::Cow::Borrowed(rdata);
    }
    let mut out = rdata.to_vec();
    lowercase_names(rtype, &mut out);
    std::borrow::Cow::Owned(out)
}

/// Lowercases the names of `rd` (RDATA of `rtype`) in place.
fn lowercase_names(rtype: u16, rd: &mut [u8]) {
    // (octets before the first name, names in a row)
    let (skip, names) = match rtype {
        t::NS | t::MD | t::MF | t::CNAME | t::MB | t::MG | t::MR | t::PTR | t::DNAME => (0, 1),
        t::SOA | t::MINFO | t::RP => (0, 2),
        t::MX | t::AFSDB | t::RT | t::KX => (2, 1),
        t::PX => (2, 2),
        t::SRV => (6, 1),
        t::SIG | t::RRSIG => (18, 1),
        t::NXT => (0, 1),
        t::NAPTR => {
            // order, preference, then three character-strings, then the name.
            let mut p = 4;
            for _ in 0..3 {
                match rd.get(p) {
                    Some(&l) => p += 1 + l as usize,
                    None => return,
                }
            }
            (p, 1)
        }
        t::A6 => {
            // prefix length, the address suffix, then the prefix name.
            let Some(&plen) = rd.first() else { return };
            if plen == 0 {
                return;
            }
            (1 + (128 - plen.min(128) as usize) / 8, 1)
        }
        _ => return,
    };
    let mut p = skip;
    for _ in 0..names {
        match lowercase_name_at(rd, p) {
            Some(end) => p = end,
            None => return,
        }
    }
}

/// Lowercases the uncompressed name at `p`; returns where it ends.
fn lowercase_name_at(rd: &mut [u8], mut p: usize) -> Option<usize> {
    loop {
        let l = *rd.get(p)? as usize;
        if l == 0 {
            return Some(p + 1);
        }
        if l > 63 {
            return None;
        }
        rd.get_mut(p + 1..p + 1 + l)?.make_ascii_lowercase();
        p += 1 + l;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use levee_wire::name;

    fn wire(s: &str) -> Vec<u8> {
        name::from_text(s, None).unwrap().as_slice().to_vec()
    }

    #[test]
    fn names_in_old_types_are_lowercased_others_left() {
        let mut mx = vec![0, 10];
        mx.extend(wire("Mail.Example."));
        let mut want = vec![0, 10];
        want.extend(wire("mail.example."));
        assert_eq!(&*rdata(t::MX, &mx), &want[..]);
        let mut soa = wire("NS.Example.");
        soa.extend(wire("Host.Example."));
        soa.extend([0u8; 20]);
        let mut want = wire("ns.example.");
        want.extend(wire("host.example."));
        want.extend([0u8; 20]);
        assert_eq!(&*rdata(t::SOA, &soa), &want[..]);
        let mut naptr = vec![0, 1, 0, 2, 1, b'S', 2, b'X', b'Y', 0];
        naptr.extend(wire("Target.Example."));
        let got = rdata(t::NAPTR, &naptr);
        assert_eq!(&got[..10], &naptr[..10], "character-strings keep their case");
        assert_eq!(&got[10..], &wire("target.example.")[..]);
        // NSEC keeps the case of its next name (RFC 6840 §5.1); TXT is not a name.
        let nsec = wire("Next.Example.");
        assert_eq!(&*rdata(t::NSEC, &nsec), &nsec[..]);
        assert_eq!(&*rdata(t::TXT, b"\x03ABC"), b"\x03ABC");
    }
}
