//! The RR type and class registry: numbers, mnemonics, and the layout of
//! names inside RDATA (which matters for compression, decompression and
//! the canonical form).

/// RR type numbers levee refers to by name.
#[allow(missing_docs)]
pub mod t {
    pub const A: u16 = 1;
    pub const NS: u16 = 2;
    pub const MD: u16 = 3;
    pub const MF: u16 = 4;
    pub const CNAME: u16 = 5;
    pub const SOA: u16 = 6;
    pub const MB: u16 = 7;
    pub const MG: u16 = 8;
    pub const MR: u16 = 9;
    pub const NULL: u16 = 10;
    pub const WKS: u16 = 11;
    pub const PTR: u16 = 12;
    pub const HINFO: u16 = 13;
    pub const MINFO: u16 = 14;
    pub const MX: u16 = 15;
    pub const TXT: u16 = 16;
    pub const RP: u16 = 17;
    pub const AFSDB: u16 = 18;
    pub const X25: u16 = 19;
    pub const ISDN: u16 = 20;
    pub const RT: u16 = 21;
    pub const NSAP: u16 = 22;
    pub const NSAP_PTR: u16 = 23;
    pub const SIG: u16 = 24;
    pub const KEY: u16 = 25;
    pub const PX: u16 = 26;
    pub const GPOS: u16 = 27;
    pub const AAAA: u16 = 28;
    pub const LOC: u16 = 29;
    pub const NXT: u16 = 30;
    pub const EID: u16 = 31;
    pub const NIMLOC: u16 = 32;
    pub const SRV: u16 = 33;
    pub const ATMA: u16 = 34;
    pub const NAPTR: u16 = 35;
    pub const KX: u16 = 36;
    pub const CERT: u16 = 37;
    pub const A6: u16 = 38;
    pub const DNAME: u16 = 39;
    pub const SINK: u16 = 40;
    pub const OPT: u16 = 41;
    pub const APL: u16 = 42;
    pub const DS: u16 = 43;
    pub const SSHFP: u16 = 44;
    pub const IPSECKEY: u16 = 45;
    pub const RRSIG: u16 = 46;
    pub const NSEC: u16 = 47;
    pub const DNSKEY: u16 = 48;
    pub const DHCID: u16 = 49;
    pub const NSEC3: u16 = 50;
    pub const NSEC3PARAM: u16 = 51;
    pub const TLSA: u16 = 52;
    pub const SMIMEA: u16 = 53;
    pub const HIP: u16 = 55;
    pub const NINFO: u16 = 56;
    pub const RKEY: u16 = 57;
    pub const TALINK: u16 = 58;
    pub const CDS: u16 = 59;
    pub const CDNSKEY: u16 = 60;
    pub const OPENPGPKEY: u16 = 61;
    pub const CSYNC: u16 = 62;
    pub const ZONEMD: u16 = 63;
    pub const SVCB: u16 = 64;
    pub const HTTPS: u16 = 65;
    pub const SPF: u16 = 99;
    pub const NID: u16 = 104;
    pub const L32: u16 = 105;
    pub const L64: u16 = 106;
    pub const LP: u16 = 107;
    pub const EUI48: u16 = 108;
    pub const EUI64: u16 = 109;
    /// The NXDOMAIN indicator of compact denial (RFC 9824): a meta-type,
    /// seen only in the type bitmap of a compact answer's NSEC.
    pub const NXNAME: u16 = 128;
    pub const TKEY: u16 = 249;
    pub const TSIG: u16 = 250;
    pub const IXFR: u16 = 251;
    pub const AXFR: u16 = 252;
    pub const MAILB: u16 = 253;
    pub const MAILA: u16 = 254;
    pub const ANY: u16 = 255;
    pub const URI: u16 = 256;
    pub const CAA: u16 = 257;
    pub const AVC: u16 = 258;
    pub const DOA: u16 = 259;
    pub const AMTRELAY: u16 = 260;
    pub const RESINFO: u16 = 261;
    pub const WALLET: u16 = 262;
    pub const TA: u16 = 32768;
    pub const DLV: u16 = 32769;
}

/// Class numbers.
#[allow(missing_docs)]
pub mod c {
    pub const IN: u16 = 1;
    pub const CH: u16 = 3;
    pub const HS: u16 = 4;
    pub const NONE: u16 = 254;
    pub const ANY: u16 = 255;
}

const TYPES: &[(u16, &str)] = &[
    (t::A, "A"),
    (t::NS, "NS"),
    (t::MD, "MD"),
    (t::MF, "MF"),
    (t::CNAME, "CNAME"),
    (t::SOA, "SOA"),
    (t::MB, "MB"),
    (t::MG, "MG"),
    (t::MR, "MR"),
    (t::NULL, "NULL"),
    (t::WKS, "WKS"),
    (t::PTR, "PTR"),
    (t::HINFO, "HINFO"),
    (t::MINFO, "MINFO"),
    (t::MX, "MX"),
    (t::TXT, "TXT"),
    (t::RP, "RP"),
    (t::AFSDB, "AFSDB"),
    (t::X25, "X25"),
    (t::ISDN, "ISDN"),
    (t::RT, "RT"),
    (t::NSAP, "NSAP"),
    (t::NSAP_PTR, "NSAP-PTR"),
    (t::SIG, "SIG"),
    (t::KEY, "KEY"),
    (t::PX, "PX"),
    (t::GPOS, "GPOS"),
    (t::AAAA, "AAAA"),
    (t::LOC, "LOC"),
    (t::NXT, "NXT"),
    (t::EID, "EID"),
    (t::NIMLOC, "NIMLOC"),
    (t::SRV, "SRV"),
    (t::ATMA, "ATMA"),
    (t::NAPTR, "NAPTR"),
    (t::KX, "KX"),
    (t::CERT, "CERT"),
    (t::A6, "A6"),
    (t::DNAME, "DNAME"),
    (t::SINK, "SINK"),
    (t::OPT, "OPT"),
    (t::APL, "APL"),
    (t::DS, "DS"),
    (t::SSHFP, "SSHFP"),
    (t::IPSECKEY, "IPSECKEY"),
    (t::RRSIG, "RRSIG"),
    (t::NSEC, "NSEC"),
    (t::DNSKEY, "DNSKEY"),
    (t::DHCID, "DHCID"),
    (t::NSEC3, "NSEC3"),
    (t::NSEC3PARAM, "NSEC3PARAM"),
    (t::TLSA, "TLSA"),
    (t::SMIMEA, "SMIMEA"),
    (t::HIP, "HIP"),
    (t::NINFO, "NINFO"),
    (t::RKEY, "RKEY"),
    (t::TALINK, "TALINK"),
    (t::CDS, "CDS"),
    (t::CDNSKEY, "CDNSKEY"),
    (t::OPENPGPKEY, "OPENPGPKEY"),
    (t::CSYNC, "CSYNC"),
    (t::ZONEMD, "ZONEMD"),
    (t::SVCB, "SVCB"),
    (t::HTTPS, "HTTPS"),
    (t::SPF, "SPF"),
    (t::NID, "NID"),
    (t::L32, "L32"),
    (t::L64, "L64"),
    (t::LP, "LP"),
    (t::EUI48, "EUI48"),
    (t::EUI64, "EUI64"),
    (t::NXNAME, "NXNAME"),
    (t::TKEY, "TKEY"),
    (t::TSIG, "TSIG"),
    (t::IXFR, "IXFR"),
    (t::AXFR, "AXFR"),
    (t::MAILB, "MAILB"),
    (t::MAILA, "MAILA"),
    (t::ANY, "ANY"),
    (t::URI, "URI"),
    (t::CAA, "CAA"),
    (t::AVC, "AVC"),
    (t::DOA, "DOA"),
    (t::AMTRELAY, "AMTRELAY"),
    (t::RESINFO, "RESINFO"),
    (t::WALLET, "WALLET"),
    (t::TA, "TA"),
    (t::DLV, "DLV"),
];

/// The mnemonic of a type, if it has one.
pub fn type_name(code: u16) -> Option<&'static str> {
    TYPES.iter().find(|(c, _)| *c == code).map(|(_, n)| *n)
}

/// A type's text: the mnemonic or `TYPEnnn` (RFC 3597).
pub fn type_to_text(code: u16) -> String {
    match type_name(code) {
        Some(n) => n.to_string(),
        None => format!("TYPE{code}"),
    }
}

/// Parses a type mnemonic (case-insensitive) or `TYPEnnn`.
pub fn type_from_text(s: &[u8]) -> Option<u16> {
    if s.len() > 4 && s[..4].eq_ignore_ascii_case(b"TYPE") && s[4..].iter().all(u8::is_ascii_digit) {
        return parse_u16_dec(&s[4..]);
    }
    if let Some(c) = common_type(s) {
        return Some(c);
    }
    TYPES.iter().find(|(_, n)| n.as_bytes().eq_ignore_ascii_case(s)).map(|(c, _)| *c)
}

/// Up to four octets, uppercased, as one number (and the length, so
/// that `A` and `A\0` differ).
const fn pack(s: &[u8]) -> u64 {
    let mut v = s.len() as u64;
    let mut i = 0;
    while i < s.len() {
        v = (v << 8) | s[i].to_ascii_uppercase() as u64;
        i += 1;
    }
    v
}

/// The types most records of a large zone have, found without walking
/// [`TYPES`] (a test holds them to it).
fn common_type(s: &[u8]) -> Option<u16> {
    if s.is_empty() || s.len() > 4 {
        return None;
    }
    const A: u64 = pack(b"A");
    const NS: u64 = pack(b"NS");
    const AAAA: u64 = pack(b"AAAA");
    const DS: u64 = pack(b"DS");
    const MX: u64 = pack(b"MX");
    const TXT: u64 = pack(b"TXT");
    const SOA: u64 = pack(b"SOA");
    const PTR: u64 = pack(b"PTR");
    const SRV: u64 = pack(b"SRV");
    const NSEC: u64 = pack(b"NSEC");
    Some(match pack(s) {
        A => t::A,
        NS => t::NS,
        AAAA => t::AAAA,
        DS => t::DS,
        MX => t::MX,
        TXT => t::TXT,
        SOA => t::SOA,
        PTR => t::PTR,
        SRV => t::SRV,
        NSEC => t::NSEC,
        _ => return None,
    })
}

/// Parses a class mnemonic (IN, CH, CS, HS, NONE, ANY) or `CLASSnnn`.
pub fn class_from_text(s: &[u8]) -> Option<u16> {
    if s.len() > 5 && s[..5].eq_ignore_ascii_case(b"CLASS") && s[5..].iter().all(u8::is_ascii_digit) {
        return parse_u16_dec(&s[5..]);
    }
    let up = |x: &[u8]| s.eq_ignore_ascii_case(x);
    if up(b"IN") {
        Some(c::IN)
    } else if up(b"CH") {
        Some(c::CH)
    } else if up(b"CS") {
        Some(2)
    } else if up(b"HS") {
        Some(c::HS)
    } else if up(b"NONE") {
        Some(c::NONE)
    } else if up(b"ANY") {
        Some(c::ANY)
    } else {
        None
    }
}

/// A class's text.
pub fn class_to_text(code: u16) -> String {
    match code {
        c::IN => "IN".into(),
        2 => "CS".into(),
        c::CH => "CH".into(),
        c::HS => "HS".into(),
        c::NONE => "NONE".into(),
        c::ANY => "ANY".into(),
        n => format!("CLASS{n}"),
    }
}

fn parse_u16_dec(d: &[u8]) -> Option<u16> {
    if d.is_empty() || d.len() > 5 {
        return None;
    }
    let mut v: u32 = 0;
    for &b in d {
        v = v * 10 + (b - b'0') as u32;
    }
    u16::try_from(v).ok()
}

/// True for meta and query-only types that cannot be stored in a zone.
pub fn is_meta(code: u16) -> bool {
    matches!(code, 0 | t::OPT | t::TKEY | t::TSIG | t::IXFR | t::AXFR | t::MAILA | t::MAILB | t::ANY)
        || (128..=255).contains(&code)
}

//------------ RDATA layout -----------------------------------------------------

/// One field of an RDATA layout, as far as names are concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// A domain name.
    Name,
    /// A fixed number of octets.
    Fixed(u8),
    /// One character-string (length octet + data).
    CharStr,
    /// Everything that is left.
    Rest,
}

use Field::*;

/// Layout of the RDATA of types that embed domain names (RFC 3597 §4 and
/// RFC 4034 §6.2). `None` means the RDATA is opaque octets.
pub fn layout(code: u16) -> Option<&'static [Field]> {
    Some(match code {
        t::NS | t::MD | t::MF | t::CNAME | t::MB | t::MG | t::MR | t::PTR | t::DNAME => &[Name],
        t::SOA => &[Name, Name, Fixed(20)],
        t::MINFO | t::RP => &[Name, Name],
        t::MX | t::AFSDB | t::RT | t::KX => &[Fixed(2), Name],
        t::PX => &[Fixed(2), Name, Name],
        t::SRV => &[Fixed(6), Name],
        t::NAPTR => &[Fixed(4), CharStr, CharStr, CharStr, Name],
        t::RRSIG | t::SIG => &[Fixed(18), Name, Rest],
        t::NSEC | t::NXT => &[Name, Rest],
        _ => return None,
    })
}

/// True if names in this type's RDATA may be compressed when *sending*
/// (only the RFC 1035 types; RFC 3597 §4).
pub fn compress_on_send(code: u16) -> bool {
    matches!(code, t::NS | t::MD | t::MF | t::CNAME | t::SOA | t::MB | t::MG | t::MR | t::PTR | t::MINFO | t::MX)
}

/// True if a receiver must be ready to decompress names in this type's
/// RDATA (RFC 3597 §4: RFC 1035 types, and in practice the others with names).
pub fn decompress_on_receive(code: u16) -> bool {
    compress_on_send(code)
        || matches!(code, t::RP | t::AFSDB | t::RT | t::SIG | t::PX | t::NXT | t::NAPTR | t::SRV | t::KX | t::DNAME)
}

/// True if names in this type's RDATA are lowercased in the canonical form
/// (RFC 4034 §6.2 as amended by RFC 6840 §5.1, which drops NSEC).
pub fn canonical_lowercase(code: u16) -> bool {
    matches!(
        code,
        t::NS
            | t::MD
            | t::MF
            | t::CNAME
            | t::SOA
            | t::MB
            | t::MG
            | t::MR
            | t::PTR
            | t::MINFO
            | t::MX
            | t::RP
            | t::AFSDB
            | t::RT
            | t::SIG
            | t::PX
            | t::NXT
            | t::NAPTR
            | t::KX
            | t::SRV
            | t::DNAME
            | t::A6
            | t::RRSIG
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for &(c, n) in TYPES {
            assert_eq!(type_from_text(n.as_bytes()), Some(c));
            assert_eq!(type_name(c), Some(n));
        }
        assert_eq!(type_from_text(b"type65280"), Some(65280));
        assert_eq!(type_from_text(b"TYPE65536"), None);
        assert_eq!(type_from_text(b"aaaa"), Some(28));
        assert_eq!(class_from_text(b"CLASS999"), Some(999));
        assert_eq!(class_from_text(b"in"), Some(1));
        assert_eq!(type_to_text(65280), "TYPE65280");
    }

    /// The short cut for common types gives what the table gives, in any
    /// case, and nothing for what is not a type.
    #[test]
    fn common_types_match_the_table() {
        let mut found = 0;
        for &(c, n) in TYPES {
            for v in [n.to_string(), n.to_ascii_lowercase()] {
                if let Some(f) = common_type(v.as_bytes()) {
                    assert_eq!(f, c, "{v}");
                    found += 1;
                }
            }
        }
        assert_eq!(found, 20);
        for v in ["", "AA", "NSS", "A\0", "AAAAA", "TXT ", "\u{0}A"] {
            assert_eq!(common_type(v.as_bytes()), None, "{v:?}");
        }
    }
}
