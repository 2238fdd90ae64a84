//! RDATA in presentation format to wire format, per type.
//!
//! [`parse_rdata`] appends the wire RDATA of one record to a reusable
//! buffer. Every type levee knows has its own reader; any type (known or
//! not) may also be written in the RFC 3597 generic form `\# LEN HEX`.
//! Names inside RDATA are written uncompressed and keep their case.

use std::net::{Ipv4Addr, Ipv6Addr};

use levee_wire::rtype::{self, t};

use crate::zonefile::codec;
use crate::zonefile::family::{family, Family};
use crate::zonefile::fields::{decode_text, parse_name, parse_number, FResult, Fields};

/// Parses the RDATA of a record of type `rtype` from `f` into `out`
/// (cleared first). `scratch` is a reusable buffer for Base64/hex text.
pub(crate) fn parse_rdata(rtype: u16, f: &mut Fields<'_>, out: &mut Vec<u8>, scratch: &mut Vec<u8>) -> FResult<()> {
    out.clear();
    if let Some((b"\\#", false)) = f.peek() {
        f.next()?;
        return generic(f, out, scratch).and_then(|_| check_generic(rtype, out));
    }
    match family(rtype) {
        Some(Family::Ipv4) => ipv4(f, out)?,
        Some(Family::Ipv6) => ipv6(f, out)?,
        Some(Family::Name) => name(f, out)?,
        Some(Family::NamesAndNumbers) => names_and_numbers(rtype, f, out)?,
        Some(Family::CharacterStrings) => character_strings(rtype, f, out)?,
        Some(Family::KeysAndCertificates) => keys_and_certificates(rtype, f, out, scratch)?,
        Some(Family::Dnssec) => dnssec(rtype, f, out, scratch)?,
        Some(Family::Svcb) => crate::zonefile::svcb::parse(f, out)?,
        Some(Family::Addresses) => addresses(rtype, f, out)?,
        Some(Family::Loc) => loc(f, out)?,
        None => return Err(generic_only(rtype)),
    }
    f.expect_end()?;
    if out.len() > 65535 {
        return Err("RDATA longer than 65535 octets".into());
    }
    Ok(())
}

/// The error for a type without a reader of its own.
fn generic_only(rtype: u16) -> String {
    format!("type {} must be written in the generic form \\# LENGTH HEX (RFC 3597)", rtype::type_to_text(rtype))
}

/// Names, numbers and a text target: SOA, MX and its kin, PX, SRV, NAPTR
/// and URI.
fn names_and_numbers(rtype: u16, f: &mut Fields<'_>, out: &mut Vec<u8>) -> FResult<()> {
    match rtype {
        t::SOA => {
            name(f, out)?;
            name(f, out)?;
            out.extend_from_slice(&f.u32("serial")?.to_be_bytes());
            for what in ["refresh", "retry", "expire", "minimum"] {
                out.extend_from_slice(&f.duration(what)?.to_be_bytes());
            }
        }
        t::MX | t::AFSDB | t::RT | t::KX => {
            out.extend_from_slice(&f.u16("preference")?.to_be_bytes());
            name(f, out)?;
        }
        t::LP => {
            out.extend_from_slice(&f.u16("preference")?.to_be_bytes());
            name(f, out)?;
        }
        t::MINFO | t::RP | t::TALINK => {
            name(f, out)?;
            name(f, out)?;
        }
        t::PX => {
            out.extend_from_slice(&f.u16("preference")?.to_be_bytes());
            name(f, out)?;
            name(f, out)?;
        }
        t::SRV => {
            for what in ["priority", "weight", "port"] {
                out.extend_from_slice(&f.u16(what)?.to_be_bytes());
            }
            name(f, out)?;
        }
        t::NAPTR => {
            out.extend_from_slice(&f.u16("order")?.to_be_bytes());
            out.extend_from_slice(&f.u16("preference")?.to_be_bytes());
            for _ in 0..3 {
                f.charstr(out)?;
            }
            name(f, out)?;
        }
        t::URI => {
            out.extend_from_slice(&f.u16("priority")?.to_be_bytes());
            out.extend_from_slice(&f.u16("weight")?.to_be_bytes());
            let (v, _) = f.next_tok()?;
            decode_text(v, out)?;
        }
        _ => return Err(generic_only(rtype)),
    }
    Ok(())
}

/// Character-strings only: TXT and its kin, HINFO, X25, ISDN and GPOS (RFC
/// 1035, 1183, 1712).
fn character_strings(rtype: u16, f: &mut Fields<'_>, out: &mut Vec<u8>) -> FResult<()> {
    match rtype {
        t::TXT | t::SPF | t::NINFO | t::RESINFO | t::WALLET | t::AVC => {
            if f.done() {
                return Err("TXT needs at least one character-string".into());
            }
            while !f.done() {
                f.charstr(out)?;
            }
        }
        t::HINFO => {
            f.charstr(out)?;
            f.charstr(out)?;
        }
        t::X25 => f.charstr(out)?,
        t::ISDN => {
            f.charstr(out)?;
            if !f.done() {
                f.charstr(out)?;
            }
        }
        t::GPOS => {
            for _ in 0..3 {
                f.charstr(out)?;
            }
        }
        _ => return Err(generic_only(rtype)),
    }
    Ok(())
}

/// DNSSEC: DS, DNSKEY and their kin, RRSIG, NSEC, NSEC3, NSEC3PARAM, CSYNC
/// and ZONEMD (RFC 4034, 5155, 7477, 8976).
fn dnssec(rtype: u16, f: &mut Fields<'_>, out: &mut Vec<u8>, scratch: &mut Vec<u8>) -> FResult<()> {
    match rtype {
        t::DS | t::CDS | t::DLV | t::TA => {
            out.extend_from_slice(&f.u16("key tag")?.to_be_bytes());
            out.push(algorithm(f.next()?)?);
            out.push(f.u8("digest type")?);
            hex_rest(f, out, scratch, true)?;
        }
        t::DNSKEY | t::CDNSKEY | t::KEY | t::RKEY => {
            out.extend_from_slice(&f.u16("flags")?.to_be_bytes());
            out.push(f.u8("protocol")?);
            out.push(algorithm(f.next()?)?);
            base64_rest(f, out, scratch, rtype != t::KEY)?;
        }
        t::RRSIG | t::SIG => {
            let tc = f.next()?;
            let covered = rtype::type_from_text(tc).ok_or_else(|| format!("bad type covered '{}'", lossy(tc)))?;
            out.extend_from_slice(&covered.to_be_bytes());
            out.push(algorithm(f.next()?)?);
            out.push(f.u8("labels")?);
            out.extend_from_slice(&f.u32("original TTL")?.to_be_bytes());
            out.extend_from_slice(&sig_time(f.next()?)?.to_be_bytes());
            out.extend_from_slice(&sig_time(f.next()?)?.to_be_bytes());
            out.extend_from_slice(&f.u16("key tag")?.to_be_bytes());
            name(f, out)?;
            base64_rest(f, out, scratch, true)?;
        }
        t::NSEC => {
            name(f, out)?;
            type_bitmap(f, out)?;
        }
        t::NSEC3 => {
            out.push(f.u8("hash algorithm")?);
            out.push(f.u8("flags")?);
            out.extend_from_slice(&f.u16("iterations")?.to_be_bytes());
            salt(f.next()?, out)?;
            let h = f.next()?;
            let at = out.len();
            out.push(0);
            codec::base32hex_decode(h, out).map_err(|e| format!("next hashed owner: {e}"))?;
            let hl = out.len() - at - 1;
            if hl == 0 || hl > 255 {
                return Err("bad next hashed owner length".into());
            }
            out[at] = hl as u8;
            type_bitmap(f, out)?;
        }
        t::NSEC3PARAM => {
            out.push(f.u8("hash algorithm")?);
            out.push(f.u8("flags")?);
            out.extend_from_slice(&f.u16("iterations")?.to_be_bytes());
            salt(f.next()?, out)?;
        }
        t::CSYNC => {
            out.extend_from_slice(&f.u32("SOA serial")?.to_be_bytes());
            out.extend_from_slice(&f.u16("flags")?.to_be_bytes());
            type_bitmap(f, out)?;
        }
        t::ZONEMD => {
            out.extend_from_slice(&f.u32("serial")?.to_be_bytes());
            out.push(f.u8("scheme")?);
            out.push(f.u8("hash algorithm")?);
            hex_rest(f, out, scratch, true)?;
            if out.len() < 6 + 12 {
                return Err("ZONEMD digest shorter than 12 octets".into());
            }
        }
        _ => return Err(generic_only(rtype)),
    }
    Ok(())
}

/// Keys, certificates and their digests outside DNSSEC: CERT, SSHFP, TLSA,
/// SMIMEA, OPENPGPKEY, DHCID, IPSECKEY, HIP and CAA.
fn keys_and_certificates(rtype: u16, f: &mut Fields<'_>, out: &mut Vec<u8>, scratch: &mut Vec<u8>) -> FResult<()> {
    match rtype {
        t::CERT => {
            let ty = f.next()?;
            let v = parse_number(ty, 65535).or_else(|| cert_type(ty)).ok_or("bad certificate type")?;
            out.extend_from_slice(&(v as u16).to_be_bytes());
            out.extend_from_slice(&f.u16("key tag")?.to_be_bytes());
            out.push(algorithm(f.next()?)?);
            base64_rest(f, out, scratch, true)?;
        }
        t::SSHFP => {
            out.push(f.u8("algorithm")?);
            out.push(f.u8("fingerprint type")?);
            hex_rest(f, out, scratch, true)?;
        }
        t::TLSA | t::SMIMEA => {
            out.push(f.u8("certificate usage")?);
            out.push(f.u8("selector")?);
            out.push(f.u8("matching type")?);
            hex_rest(f, out, scratch, true)?;
        }
        t::OPENPGPKEY | t::DHCID => base64_rest(f, out, scratch, true)?,
        t::CAA => {
            out.push(f.u8("flags")?);
            let tag = f.next()?;
            if tag.is_empty() || tag.len() > 255 || !tag.iter().all(u8::is_ascii_alphanumeric) {
                return Err(format!("bad CAA tag '{}'", lossy(tag)));
            }
            out.push(tag.len() as u8);
            out.extend_from_slice(tag);
            let (v, _) = f.next_tok()?;
            decode_text(v, out)?;
        }
        t::IPSECKEY => {
            out.push(f.u8("precedence")?);
            let gt = f.u8("gateway type")?;
            out.push(gt);
            out.push(f.u8("algorithm")?);
            let g = f.next()?;
            match gt {
                0 if g == b"." => {}
                1 => out.extend_from_slice(&ip4(g)?.octets()),
                2 => out.extend_from_slice(&ip6(g)?.octets()),
                3 => out.extend_from_slice(&parse_name(g, f.origin())?),
                _ => return Err("bad IPSECKEY gateway".into()),
            }
            base64_rest(f, out, scratch, false)?;
        }
        t::HIP => {
            let alg = f.u8("PK algorithm")?;
            let mut hit = Vec::new();
            codec::hex_decode(f.next()?, &mut hit).map_err(|e| format!("HIT: {e}"))?;
            let mut pk = Vec::new();
            codec::base64_decode(f.next()?, &mut pk).map_err(|e| format!("public key: {e}"))?;
            if hit.len() > 255 || pk.len() > 65535 {
                return Err("HIP field too long".into());
            }
            out.push(hit.len() as u8);
            out.push(alg);
            out.extend_from_slice(&(pk.len() as u16).to_be_bytes());
            out.extend_from_slice(&hit);
            out.extend_from_slice(&pk);
            while !f.done() {
                name(f, out)?;
            }
        }
        _ => return Err(generic_only(rtype)),
    }
    Ok(())
}

/// Addresses and identifiers: EUI48, EUI64, NID, L64, L32, AMTRELAY, APL
/// and NSAP.
fn addresses(rtype: u16, f: &mut Fields<'_>, out: &mut Vec<u8>) -> FResult<()> {
    match rtype {
        t::EUI48 => eui(f.next()?, 6, out)?,
        t::EUI64 => eui(f.next()?, 8, out)?,
        t::NID | t::L64 => {
            out.extend_from_slice(&f.u16("preference")?.to_be_bytes());
            node_id(f.next()?, out)?;
        }
        t::L32 => {
            out.extend_from_slice(&f.u16("preference")?.to_be_bytes());
            ipv4(f, out)?;
        }
        t::AMTRELAY => {
            out.push(f.u8("precedence")?);
            let d = f.u8("discovery optional")?;
            if d > 1 {
                return Err("AMTRELAY D-bit must be 0 or 1".into());
            }
            let ty = f.u8("relay type")?;
            if ty > 127 {
                return Err("bad AMTRELAY relay type".into());
            }
            out.push(d << 7 | ty);
            match ty {
                0 => {
                    if let Some((b".", _)) = f.peek() {
                        f.next()?;
                    }
                }
                1 => ipv4(f, out)?,
                2 => ipv6(f, out)?,
                3 => name(f, out)?,
                _ => return Err("unknown AMTRELAY relay type".into()),
            }
        }
        t::APL => {
            while !f.done() {
                apl_item(f.next()?, out)?;
            }
        }
        t::NSAP => {
            let v = f.next()?;
            let v = v.strip_prefix(b"0x").or_else(|| v.strip_prefix(b"0X")).ok_or("NSAP must start with 0x")?;
            let clean: Vec<u8> = v.iter().copied().filter(|&b| b != b'.').collect();
            codec::hex_decode(&clean, out)?;
        }
        _ => return Err(generic_only(rtype)),
    }
    Ok(())
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn generic(f: &mut Fields<'_>, out: &mut Vec<u8>, scratch: &mut Vec<u8>) -> FResult<()> {
    let len = f.u16("generic RDATA length")? as usize;
    hex_rest(f, out, scratch, false)?;
    if out.len() != len {
        return Err(format!("generic RDATA length {len} does not match {} octets of data", out.len()));
    }
    Ok(())
}

/// Checks generic-form RDATA of a known type: the same check a record
/// received by a zone transfer passes ([`crate::zonefile::wirecheck::check_record`]).
fn check_generic(rtype: u16, rdata: &[u8]) -> FResult<()> {
    crate::zonefile::wirecheck::check_record(rtype, rdata).map_err(|e| format!("generic RDATA: {e}"))
}

fn name(f: &mut Fields<'_>, out: &mut Vec<u8>) -> FResult<()> {
    f.name_to(out)
}

fn ip4(t: &[u8]) -> FResult<Ipv4Addr> {
    dotted_quad(t).map(Ipv4Addr::from).ok_or_else(|| format!("bad IPv4 address '{}'", lossy(t)))
}

/// A strict dotted quad, as zone files require and as std's
/// `Ipv4Addr::from_str` reads it (a test holds the two together): four
/// decimal numbers of one to three digits, each at most 255, without a
/// leading zero, separated by dots, nothing else. Read in place (std's
/// reader wants a `str`, checked as UTF-8 first: a tenth of a TLD's
/// parse went there).
pub(super) fn dotted_quad(t: &[u8]) -> Option<[u8; 4]> {
    let mut out = [0u8; 4];
    let mut i = 0;
    for (k, o) in out.iter_mut().enumerate() {
        if k > 0 {
            if t.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
        let start = i;
        let mut v = 0u32;
        while i - start < 3 {
            match t.get(i) {
                Some(d) if d.is_ascii_digit() => v = v * 10 + (d - b'0') as u32,
                _ => break,
            }
            i += 1;
        }
        let n = i - start;
        if n == 0 || v > 255 || (n > 1 && t[start] == b'0') {
            return None;
        }
        *o = v as u8;
    }
    (i == t.len()).then_some(out)
}

fn ip6(t: &[u8]) -> FResult<Ipv6Addr> {
    std::str::from_utf8(t).ok().and_then(|s| s.parse().ok()).ok_or_else(|| format!("bad IPv6 address '{}'", lossy(t)))
}

fn ipv4(f: &mut Fields<'_>, out: &mut Vec<u8>) -> FResult<()> {
    out.extend_from_slice(&ip4(f.next()?)?.octets());
    Ok(())
}

fn ipv6(f: &mut Fields<'_>, out: &mut Vec<u8>) -> FResult<()> {
    out.extend_from_slice(&ip6(f.next()?)?.octets());
    Ok(())
}

fn hex_rest(f: &mut Fields<'_>, out: &mut Vec<u8>, scratch: &mut Vec<u8>, required: bool) -> FResult<()> {
    f.rest_concat(scratch, required)?;
    codec::hex_decode(scratch, out).map_err(|e| e.to_string())
}

fn base64_rest(f: &mut Fields<'_>, out: &mut Vec<u8>, scratch: &mut Vec<u8>, required: bool) -> FResult<()> {
    f.rest_concat(scratch, required)?;
    codec::base64_decode(scratch, out).map_err(|e| e.to_string())
}

fn salt(t: &[u8], out: &mut Vec<u8>) -> FResult<()> {
    if t == b"-" {
        out.push(0);
        return Ok(());
    }
    let at = out.len();
    out.push(0);
    codec::hex_decode(t, out).map_err(|e| format!("salt: {e}"))?;
    let l = out.len() - at - 1;
    if l > 255 {
        return Err("salt longer than 255 octets".into());
    }
    out[at] = l as u8;
    Ok(())
}

/// DNSSEC algorithm: a number or a mnemonic (RFC 8624 registry names).
pub(crate) fn algorithm(t: &[u8]) -> FResult<u8> {
    if let Some(v) = parse_number(t, 255) {
        return Ok(v as u8);
    }
    const ALGS: &[(&str, u8)] = &[
        ("RSAMD5", 1),
        ("DH", 2),
        ("DSA", 3),
        ("RSASHA1", 5),
        ("DSA-NSEC3-SHA1", 6),
        ("RSASHA1-NSEC3-SHA1", 7),
        ("RSASHA256", 8),
        ("RSASHA512", 10),
        ("ECC-GOST", 12),
        ("ECDSAP256SHA256", 13),
        ("ECDSAP384SHA384", 14),
        ("ED25519", 15),
        ("ED448", 16),
        ("INDIRECT", 252),
        ("PRIVATEDNS", 253),
        ("PRIVATEOID", 254),
    ];
    ALGS.iter()
        .find(|(n, _)| n.as_bytes().eq_ignore_ascii_case(t))
        .map(|(_, v)| *v)
        .ok_or_else(|| format!("bad algorithm '{}'", lossy(t)))
}

fn cert_type(t: &[u8]) -> Option<u64> {
    const TYPES: &[(&str, u64)] = &[
        ("PKIX", 1),
        ("SPKI", 2),
        ("PGP", 3),
        ("IPKIX", 4),
        ("ISPKI", 5),
        ("IPGP", 6),
        ("ACPKIX", 7),
        ("IACPKIX", 8),
        ("URI", 253),
        ("OID", 254),
    ];
    TYPES.iter().find(|(n, _)| n.as_bytes().eq_ignore_ascii_case(t)).map(|(_, v)| *v)
}

/// RRSIG times: `YYYYMMDDHHmmSS` or seconds since the epoch (RFC 4034 §3.2).
pub(crate) fn sig_time(t: &[u8]) -> FResult<u32> {
    if t.len() == 14 && t.iter().all(u8::is_ascii_digit) {
        let n = |a: usize, b: usize| parse_number(&t[a..b], 9999).unwrap_or(0) as i64;
        let (y, mo, d, h, mi, s) = (n(0, 4), n(4, 6), n(6, 8), n(8, 10), n(10, 12), n(12, 14));
        if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
            return Err(format!("bad signature time '{}'", lossy(t)));
        }
        let days = days_from_civil(y, mo, d);
        let secs = days * 86400 + h * 3600 + mi * 60 + s;
        // Serial-number arithmetic: the value is taken modulo 2^32.
        return Ok(secs.rem_euclid(1 << 32) as u32);
    }
    parse_number(t, u32::MAX as u64).map(|v| v as u32).ok_or_else(|| format!("bad signature time '{}'", lossy(t)))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// An NSEC-style type bitmap (RFC 4034 §4.1.2) from the remaining tokens.
fn type_bitmap(f: &mut Fields<'_>, out: &mut Vec<u8>) -> FResult<()> {
    let mut types: Vec<u16> = Vec::new();
    while !f.done() {
        let tt = f.next()?;
        let v = rtype::type_from_text(tt).ok_or_else(|| format!("bad type '{}' in bitmap", lossy(tt)))?;
        types.push(v);
    }
    write_bitmap(&mut types, out);
    Ok(())
}

/// Encodes a set of types as windowed bitmaps.
pub(crate) fn write_bitmap(types: &mut [u16], out: &mut Vec<u8>) {
    types.sort_unstable();
    let mut i = 0;
    while i < types.len() {
        let window = (types[i] >> 8) as u8;
        let mut bits = [0u8; 32];
        let mut max = 0usize;
        while i < types.len() && (types[i] >> 8) as u8 == window {
            let lo = (types[i] & 0xFF) as usize;
            bits[lo / 8] |= 0x80 >> (lo % 8);
            max = max.max(lo / 8 + 1);
            i += 1;
        }
        out.push(window);
        out.push(max as u8);
        out.extend_from_slice(&bits[..max]);
    }
}

fn eui(t: &[u8], n: usize, out: &mut Vec<u8>) -> FResult<()> {
    let parts: Vec<&[u8]> = t.split(|&b| b == b'-').collect();
    if parts.len() != n || parts.iter().any(|p| p.len() != 2) {
        return Err(format!("bad EUI{} address '{}'", n * 8, lossy(t)));
    }
    for p in parts {
        codec::hex_decode(p, out)?;
    }
    Ok(())
}

fn node_id(t: &[u8], out: &mut Vec<u8>) -> FResult<()> {
    let parts: Vec<&[u8]> = t.split(|&b| b == b':').collect();
    if parts.len() != 4 || parts.iter().any(|p| p.len() != 4) {
        return Err(format!("bad node identifier '{}'", lossy(t)));
    }
    for p in parts {
        codec::hex_decode(p, out)?;
    }
    Ok(())
}

fn apl_item(t: &[u8], out: &mut Vec<u8>) -> FResult<()> {
    let (neg, t) = match t.strip_prefix(b"!") {
        Some(r) => (true, r),
        None => (false, t),
    };
    let bad = || format!("bad APL item '{}'", lossy(t));
    let colon = t.iter().position(|&b| b == b':').ok_or_else(bad)?;
    let slash = t.iter().rposition(|&b| b == b'/').ok_or_else(bad)?;
    let afi = parse_number(&t[..colon], 65535).ok_or_else(bad)? as u16;
    let addr = &t[colon + 1..slash];
    let prefix = parse_number(&t[slash + 1..], 255).ok_or_else(bad)? as u8;
    let mut bytes: Vec<u8> = match afi {
        1 if prefix <= 32 => ip4(addr)?.octets().to_vec(),
        2 if prefix <= 128 => ip6(addr)?.octets().to_vec(),
        _ => return Err(bad()),
    };
    while bytes.last() == Some(&0) {
        bytes.pop();
    }
    out.extend_from_slice(&afi.to_be_bytes());
    out.push(prefix);
    out.push((neg as u8) << 7 | bytes.len() as u8);
    out.extend_from_slice(&bytes);
    Ok(())
}

/// LOC (RFC 1876 §3):
/// `d1 [m1 [s1]] {N|S} d2 [m2 [s2]] {E|W} alt[m] [siz[m] [hp[m] [vp[m]]]]`.
///
/// Omitted minutes and seconds are zero; the size defaults to 1m, the
/// horizontal precision to 10000m and the vertical precision to 10m.
fn loc(f: &mut Fields<'_>, out: &mut Vec<u8>) -> FResult<()> {
    let lat = loc_angle(f, 90, b'N', b'S')?;
    let lon = loc_angle(f, 180, b'E', b'W')?;
    let t = f.next()?;
    // -100000.00m to 42849672.95m: the altitude is stored as 10000000 + cm.
    let alt = loc_metres(t, true)
        .filter(|cm| (-10_000_000..=4_284_967_295).contains(cm))
        .ok_or_else(|| format!("bad LOC altitude '{}'", lossy(t)))?;
    let mut prec = [0x12u8, 0x16, 0x13];
    for (p, what) in prec.iter_mut().zip(["size", "horizontal precision", "vertical precision"]) {
        if f.done() {
            break;
        }
        let t = f.next()?;
        // At most 90000000.00m (RFC 1876 §3).
        let cm = loc_metres(t, false)
            .filter(|cm| (0..=9_000_000_000).contains(cm))
            .ok_or_else(|| format!("bad LOC {what} '{}'", lossy(t)))?;
        *p = loc_precision(cm as u64);
    }
    out.push(0); // version
    out.extend_from_slice(&prec);
    out.extend_from_slice(&lat.to_be_bytes());
    out.extend_from_slice(&lon.to_be_bytes());
    out.extend_from_slice(&((alt + 10_000_000) as u32).to_be_bytes());
    Ok(())
}

/// A LOC latitude (`pos`/`neg` = N/S, up to 90 degrees) or longitude
/// (E/W, up to 180 degrees) as 2^31 plus or minus thousandths of an arc
/// second.
fn loc_angle(f: &mut Fields<'_>, max_deg: u64, pos: u8, neg: u8) -> FResult<u32> {
    let hemisphere = |t: &[u8]| match t {
        [c] if c.eq_ignore_ascii_case(&pos) => Some(true),
        [c] if c.eq_ignore_ascii_case(&neg) => Some(false),
        _ => None,
    };
    let deg = f.number("LOC degrees", max_deg)?;
    let (mut min, mut msec) = (0, 0);
    let mut t = f.next()?;
    if hemisphere(t).is_none() {
        min = parse_number(t, 59).ok_or_else(|| format!("bad LOC minutes '{}'", lossy(t)))?;
        t = f.next()?;
        if hemisphere(t).is_none() {
            msec = loc_seconds(t).ok_or_else(|| format!("bad LOC seconds '{}'", lossy(t)))?;
            t = f.next()?;
        }
    }
    let positive = hemisphere(t)
        .ok_or_else(|| format!("expected {} or {} in LOC, found '{}'", pos as char, neg as char, lossy(t)))?;
    let v = (deg * 60 + min) * 60_000 + msec;
    if v > max_deg * 3_600_000 {
        return Err(format!("LOC {} beyond {max_deg} degrees", if max_deg == 90 { "latitude" } else { "longitude" }));
    }
    let zero = 1u64 << 31;
    Ok(if positive { zero + v } else { zero - v } as u32)
}

/// LOC seconds, `0` to `59.999`, in thousandths.
fn loc_seconds(t: &[u8]) -> Option<u64> {
    let (int, frac) = split_decimal(t);
    let s = parse_number(int, 59)?;
    let ms = match frac {
        None => 0,
        Some(fr) if (1..=3).contains(&fr.len()) => parse_number(fr, 999)? * 10u64.pow(3 - fr.len() as u32),
        Some(_) => return None,
    };
    Some(s * 1000 + ms)
}

/// A LOC distance `[-]m[.cc][m]` in centimetres; the sign only if `signed`.
fn loc_metres(t: &[u8], signed: bool) -> Option<i64> {
    let t = t.strip_suffix(b"m").or_else(|| t.strip_suffix(b"M")).unwrap_or(t);
    let (negative, t) = match t.strip_prefix(b"-") {
        Some(rest) if signed => (true, rest),
        Some(_) => return None,
        None => (false, t),
    };
    let (int, frac) = split_decimal(t);
    // Bounded well above every LOC field, so the arithmetic cannot overflow.
    let m = parse_number(int, 1_000_000_000)? as i64;
    let cm = match frac {
        None => 0,
        Some(fr) if (1..=2).contains(&fr.len()) => parse_number(fr, 99)? as i64 * if fr.len() == 1 { 10 } else { 1 },
        Some(_) => return None,
    };
    let v = m * 100 + cm;
    Some(if negative { -v } else { v })
}

/// Splits `123.45` into `123` and `Some(45)`.
fn split_decimal(t: &[u8]) -> (&[u8], Option<&[u8]>) {
    match t.iter().position(|&b| b == b'.') {
        Some(p) => (&t[..p], Some(&t[p + 1..])),
        None => (t, None),
    }
}

/// A LOC size or precision in centimetres as mantissa (high nibble) and
/// power-of-ten exponent (low nibble), keeping one significant digit
/// (truncated, as RFC 1876's reference code does). `cm` is at most 9e9.
fn loc_precision(cm: u64) -> u8 {
    let (mut mantissa, mut exp) = (cm, 0u8);
    while mantissa >= 10 {
        mantissa /= 10;
        exp += 1;
    }
    (mantissa as u8) << 4 | exp
}

#[cfg(test)]
mod tests {

    /// The dotted-quad reader accepts what std accepts and nothing else,
    /// with the same octets: every string of up to 16 digits and dots
    /// from a fixed generator, and the edge cases.
    #[test]
    fn dotted_quads_read_as_std_reads_them() {
        let std_read = |t: &[u8]| -> Option<[u8; 4]> {
            std::str::from_utf8(t).ok()?.parse::<std::net::Ipv4Addr>().ok().map(|a| a.octets())
        };
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let alphabet = b"0123456789.0125.";
        let mut accepted = 0;
        for n in 0..400_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 17) as usize;
            let t: Vec<u8> = (0..len).map(|k| alphabet[((x >> (4 + 4 * (k % 15))) & 15) as usize]).collect();
            let t = if n % 7 == 0 {
                format!("{}.{}.{}.{}", x % 300, (x >> 9) % 300, (x >> 18) % 300, (x >> 27) % 1000).into_bytes()
            } else {
                t
            };
            let want = std_read(&t);
            accepted += want.is_some() as u32;
            assert_eq!(super::dotted_quad(&t), want, "{:?}", String::from_utf8_lossy(&t));
        }
        assert!(accepted > 1000, "{accepted}");
        for t in [
            "0.0.0.0",
            "255.255.255.255",
            "256.0.0.1",
            "01.2.3.4",
            "1.2.3",
            "1.2.3.4.",
            " 1.2.3.4",
            "1.2.3.4x",
            "1..3.4",
            "0.00.0.0",
            "1.2.3.0255",
            "١.2.3.4",
        ] {
            assert_eq!(super::dotted_quad(t.as_bytes()), std_read(t.as_bytes()), "{t}");
        }
    }

    use super::*;
    use crate::zonefile::lexer::{Entry, Lexer};
    use levee_wire::name;

    fn parse(rt: u16, text: &str) -> FResult<Vec<u8>> {
        let origin = name::from_text("example.", None).unwrap();
        let mut lexer = Lexer::new(text.as_bytes());
        let mut entry = Entry::default();
        lexer.next_entry(&mut entry).map_err(|(_, m)| m.to_string())?;
        let mut f = Fields::new(text.as_bytes(), &entry.tokens, &origin);
        let (mut out, mut scratch) = (Vec::new(), Vec::new());
        parse_rdata(rt, &mut f, &mut out, &mut scratch)?;
        Ok(out)
    }

    fn hex(s: &str) -> Vec<u8> {
        let clean: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        let mut v = Vec::new();
        codec::hex_decode(&clean, &mut v).unwrap();
        v
    }

    #[test]
    fn loc_wire_form() {
        // Latitude 2^31 + 188543000 ms (52°22'23" N), longitude 2^31 +
        // 17612000 ms (4°53'32" E), altitude 10000000 - 200 cm; size 0,
        // horizontal 1e6 cm, vertical 1e3 cm.
        assert_eq!(
            parse(t::LOC, "52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m").unwrap(),
            hex("00 00 16 13 8B3CF018 810CBCE0 009895B8")
        );
        // RFC 1876 §3 example: minutes and seconds as written, size 30m
        // (3e3 cm), default precisions.
        assert_eq!(
            parse(t::LOC, "42 21 54 N 71 06 18 W -24m 30m").unwrap(),
            hex("00 33 16 13 89172DD0 70BE15F0 00988D20")
        );
        // Everything defaulted: size 1m, horizontal 10000m, vertical 10m.
        assert_eq!(parse(t::LOC, "0 N 0 E 0").unwrap(), hex("00 12 16 13 80000000 80000000 00989680"));
        // Omitted minutes and seconds, lower-case hemispheres, poles and
        // the antimeridian.
        assert_eq!(parse(t::LOC, "90 s 180 w 0m").unwrap(), hex("00 12 16 13 6CB02700 59604E00 00989680"));
        assert_eq!(parse(t::LOC, "90 N 180 E 0").unwrap(), parse(t::LOC, "90 0 0.000 N 180 0 0 E 0.00m").unwrap());
        // Precisions keep one significant digit: 2.5m -> 2e2 cm, 7cm -> 7e0,
        // 12345m -> 1e6; fractions of a metre with one digit are tenths.
        assert_eq!(parse(t::LOC, "0 N 0 E 0 2.5m 0.07 12345m").unwrap(), hex("00 22 70 16 80000000 80000000 00989680"));
        assert_eq!(parse(t::LOC, "0 N 0 E 0.5m 0.5m").unwrap(), hex("00 51 16 13 80000000 80000000 009896B2"));
        // Altitude limits: -100000.00m and 42849672.95m.
        assert_eq!(parse(t::LOC, "0 N 0 E -100000m").unwrap()[12..], [0, 0, 0, 0]);
        assert_eq!(parse(t::LOC, "0 N 0 E 42849672.95m").unwrap()[12..], [0xFF; 4]);
        // Largest precision: 90000000.00m = 9e9 cm.
        assert_eq!(parse(t::LOC, "0 N 0 E 0 90000000m").unwrap()[1], 0x99);
        // Seconds with fewer than three decimals.
        assert_eq!(parse(t::LOC, "0 0 1.5 N 0 E 0").unwrap()[4..8], (0x8000_0000u32 + 1500).to_be_bytes());
    }

    #[test]
    fn loc_errors() {
        for bad in [
            "",
            "91 N 0 E 0",
            "90 0 0.001 N 0 E 0",
            "0 60 N 0 E 0",
            "0 0 60 N 0 E 0",
            "0 0 1.2345 N 0 E 0",
            "0 0 1. N 0 E 0",
            "0 0 0 X 0 E 0",
            "0 E 0 E 0",
            "0 N 0 N 0",
            "0 N 181 E 0",
            "0 N 180 0 0.001 W 0",
            "0 N 0 E",
            "0 N 0 E -100000.01m",
            "0 N 0 E 42849672.96m",
            "0 N 0 E 1.234m",
            "0 N 0 E 1x",
            "0 N 0 E 0 -1m",
            "0 N 0 E 0 90000000.01m",
            "0 N 0 E 0 1m 1m 1m 1m",
            "-1 N 0 E 0",
        ] {
            assert!(parse(t::LOC, bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn loc_generic_form_still_works() {
        let wire = hex("00 12 16 13 80000000 80000000 00989680");
        assert_eq!(parse(t::LOC, "\\# 16 00121613 80000000 80000000 00989680").unwrap(), wire);
    }
}
