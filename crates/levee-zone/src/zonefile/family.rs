//! The families of RDATA layouts: which reader (`rdata_parse.rs`) and which
//! writer (`rdata_format.rs`) handle a type.
//!
//! Both sides dispatch on [`family`], so a type gets a reader and a writer
//! together, or neither (then only the RFC 3597 generic form `\#` reads
//! it, and the generic form is what it is written as). Inside a family the
//! reader and the writer still look at the type for its fields.

use levee_wire::rtype::t;

/// A group of types whose RDATA is read and written by the same code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Family {
    /// A: one IPv4 address.
    Ipv4,
    /// AAAA: one IPv6 address.
    Ipv6,
    /// One domain name (NS, CNAME, DNAME, PTR and the old mailbox types).
    Name,
    /// Names and numbers (SOA, MX, SRV, NAPTR, URI, ...).
    NamesAndNumbers,
    /// Character-strings (TXT, SPF, HINFO, ...).
    CharacterStrings,
    /// Keys, certificates and hashes (CERT, SSHFP, TLSA, CAA, HIP, ...).
    KeysAndCertificates,
    /// DNSSEC records (DS, DNSKEY, RRSIG, NSEC, NSEC3, ZONEMD, ...).
    Dnssec,
    /// SVCB and HTTPS: a priority, a target and SvcParams.
    Svcb,
    /// Other address formats (EUI48/64, NID, L64, L32, AMTRELAY, APL, NSAP).
    Addresses,
    /// LOC (RFC 1876).
    Loc,
}

/// The family of `rtype`, if levee has a reader and a writer for it.
pub(crate) fn family(rtype: u16) -> Option<Family> {
    Some(match rtype {
        t::A => Family::Ipv4,
        t::AAAA => Family::Ipv6,
        t::NS | t::CNAME | t::DNAME | t::PTR | t::MB | t::MD | t::MF | t::MG | t::MR => Family::Name,
        t::SOA
        | t::MX
        | t::AFSDB
        | t::RT
        | t::KX
        | t::LP
        | t::MINFO
        | t::RP
        | t::TALINK
        | t::PX
        | t::SRV
        | t::NAPTR
        | t::URI => Family::NamesAndNumbers,
        t::TXT | t::SPF | t::NINFO | t::RESINFO | t::WALLET | t::AVC | t::HINFO | t::X25 | t::ISDN | t::GPOS => {
            Family::CharacterStrings
        }
        t::CERT | t::SSHFP | t::TLSA | t::SMIMEA | t::OPENPGPKEY | t::DHCID | t::CAA | t::IPSECKEY | t::HIP => {
            Family::KeysAndCertificates
        }
        t::DS
        | t::CDS
        | t::DLV
        | t::TA
        | t::DNSKEY
        | t::CDNSKEY
        | t::KEY
        | t::RKEY
        | t::RRSIG
        | t::SIG
        | t::NSEC
        | t::NSEC3
        | t::NSEC3PARAM
        | t::CSYNC
        | t::ZONEMD => Family::Dnssec,
        t::SVCB | t::HTTPS => Family::Svcb,
        t::EUI48 | t::EUI64 | t::NID | t::L64 | t::L32 | t::AMTRELAY | t::APL | t::NSAP => Family::Addresses,
        t::LOC => Family::Loc,
        _ => return None,
    })
}
