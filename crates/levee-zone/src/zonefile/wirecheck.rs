//! Checks on wire RDATA: records read in the RFC 3597 generic form
//! (`\# LEN HEX`) from a zone file and records received by AXFR/IXFR
//! pass the same [`check_record`], so a transfer can bring nothing the
//! zone-file loader would refuse (and nothing dig or kdig would call
//! malformed once served).
//!
//! The reading is the one the presentation formatters do
//! ([`crate::zonefile::rdata_format::rdata_well_formed`]: lengths, names, character-strings,
//! canonical type bitmaps, SvcParams in order, ...), so "valid" means
//! "levee can write it as typed zone-file text that reads back exactly".
//! Types without a formatter are opaque, except that names where the
//! type's layout has them must be valid.

use levee_wire::name;
use levee_wire::rtype::{self, t, Field};

/// Checks one record's type and RDATA (wire, uncompressed) as the zone
/// loader does; the error says what is wrong.
pub fn check_record(rtype: u16, rdata: &[u8]) -> Result<(), String> {
    let tname = || rtype::type_to_text(rtype);
    if rtype::is_meta(rtype) {
        return Err(format!("type {} cannot appear in a zone", tname()));
    }
    if rdata.len() > u16::MAX as usize {
        return Err("RDATA longer than 65535 octets".into());
    }
    let want = match rtype {
        t::A => Some(4),
        t::AAAA => Some(16),
        _ => None,
    };
    if let Some(n) = want {
        if rdata.len() != n {
            return Err(format!("{} RDATA must be {n} octets, not {}", tname(), rdata.len()));
        }
        return Ok(());
    }
    let ok = match crate::zonefile::rdata_format::rdata_well_formed(rtype, rdata) {
        Some(ok) => ok,
        None => rtype::layout(rtype).is_none() || rdata_names_ok(rtype, rdata),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("RDATA is not valid {} data ({} octets)", tname(), rdata.len()))
    }
}

/// True if `rdata` follows the type's layout with valid uncompressed names.
pub(crate) fn rdata_names_ok(rtype: u16, rdata: &[u8]) -> bool {
    let Some(layout) = rtype::layout(rtype) else { return true };
    let mut p = 0;
    for f in layout {
        match *f {
            Field::Name => match name::wire_len(&rdata[p.min(rdata.len())..]) {
                Ok(l) => p += l,
                Err(_) => return false,
            },
            Field::Fixed(n) => p += n as usize,
            Field::CharStr => match rdata.get(p) {
                Some(&l) => p += 1 + l as usize,
                None => return false,
            },
            Field::Rest => p = rdata.len(),
        }
        if p > rdata.len() {
            return false;
        }
    }
    p == rdata.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_transfer_faults_of_issue_15_are_refused() {
        // A with 3 octets, AAAA with 5, truncated TXT, empty CAA,
        // malformed SVCB (key out of order), a meta type.
        let bad: &[(u16, &[u8])] = &[
            (t::A, &[1, 2, 3]),
            (t::AAAA, &[1, 2, 3, 4, 5]),
            (t::TXT, b"\x05abc"),
            (t::CAA, b""),
            (t::SVCB, b"\x00\x01\x00\x00\x03\x00\x02\x00\x35\x00\x01\x00\x03\x02h2"),
            (t::OPT, b""),
            (t::NS, b"\x03www"),
            (t::MX, b"\x00\x0a"),
        ];
        for (rt, rd) in bad {
            let e = check_record(*rt, rd).unwrap_err();
            assert!(e.contains(&rtype::type_to_text(*rt)), "{e}");
        }
        assert!(check_record(t::A, &[192, 0, 2, 1]).is_ok());
        assert!(check_record(t::TXT, b"\x03abc\x00").is_ok());
        assert!(check_record(t::CAA, b"\x00\x05issueca.example").is_ok());
        assert!(check_record(65280, b"anything").is_ok(), "unknown types are opaque");
        assert!(check_record(t::NXT, b"\x03www").is_err(), "names of layout types without a formatter");
    }
}
