//! RDATA in wire format to presentation format (for tools, logs and tests).
//!
//! [`rdata_to_text`] writes the one-line presentation format that BIND's
//! `dig` and Knot's `kdig` print: names with their trailing dot, character
//! strings quoted, DNSSEC times as `YYYYMMDDHHmmSS`, type bitmaps as
//! mnemonics, hex in upper case and Base64 in one piece (never split into
//! chunks, so every field is a single token).
//!
//! The formatters hold one invariant: their text reads back through
//! [`crate::zonefile::rdata_parse::parse_rdata`] into exactly the octets it came from.
//! RDATA that cannot honour it falls back to the RFC 3597 generic form
//! `\# LEN HEX`, which always reads back exactly. That covers types without
//! a formatter, truncated data, trailing junk, values out of range and
//! encodings the zone-file reader would normalise (type bitmaps with empty
//! trailing octets, unsorted SvcParams, LOC precisions with a zero mantissa
//! but a non-zero exponent, APL addresses with trailing zero octets, ...).
//! Every length is checked before it is used, so no input can panic.

use std::fmt::{self, Write};
use std::net::{Ipv4Addr, Ipv6Addr};

use levee_wire::name;
use levee_wire::rtype::{self, t};

use crate::zonefile::codec;
use crate::zonefile::family::{family, Family};
use crate::zonefile::svcb;

/// Presentation text of RDATA. Types without a dedicated formatter, and
/// RDATA that is malformed for its type, use the RFC 3597 generic form
/// `\# LEN HEX`.
pub fn rdata_to_text(rtype: u16, rdata: &[u8]) -> String {
    format_rdata(rtype, rdata).unwrap_or_else(|| generic(rdata))
}

/// Whether `rdata` is well formed for `rtype` by the same reading the
/// formatters do (lengths, names, character-strings, canonical bitmaps,
/// SvcParams in order, ...): `Some(true)` if a dedicated formatter reads
/// it whole, `Some(false)` if it does not fit the type, `None` for types
/// without a formatter (opaque to levee). Nothing is formatted: the check
/// allocates nothing for the common types.
pub(crate) fn rdata_well_formed(rtype: u16, rdata: &[u8]) -> Option<bool> {
    let mut o = Out { check_only: true, ..Out::default() };
    let ok = fill(rtype, rdata, &mut o).is_some();
    if o.no_formatter {
        None
    } else {
        Some(ok)
    }
}

/// The RFC 3597 generic form.
pub(crate) fn generic(rdata: &[u8]) -> String {
    if rdata.is_empty() {
        "\\# 0".to_string()
    } else {
        format!("\\# {} {}", rdata.len(), codec::hex_encode(rdata))
    }
}

/// One record as a zone-file line: `owner TTL CLASS TYPE RDATA`.
pub fn record_to_text(owner: &[u8], ttl: u32, class: u16, rt: u16, rdata: &[u8]) -> String {
    format!(
        "{} {} {} {} {}",
        name::to_text(owner),
        ttl,
        rtype::class_to_text(class),
        rtype::type_to_text(rt),
        rdata_to_text(rt, rdata)
    )
}

//------------ reading wire RDATA ---------------------------------------------

/// A bounds-checked cursor over wire RDATA. Every read returns `None`
/// instead of running past the end.
struct Rd<'a> {
    d: &'a [u8],
    p: usize,
}

impl<'a> Rd<'a> {
    /// A cursor at the start of `d`.
    fn new(d: &'a [u8]) -> Self {
        Rd { d, p: 0 }
    }

    /// The next `n` octets.
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.d.get(self.p..self.p.checked_add(n)?)?;
        self.p += n;
        Some(s)
    }

    /// The next `N` octets as an array.
    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    /// One octet.
    fn u8(&mut self) -> Option<u8> {
        self.array::<1>().map(|[b]| b)
    }

    /// A 16-bit number in network order.
    fn u16(&mut self) -> Option<u16> {
        self.array().map(u16::from_be_bytes)
    }

    /// A 32-bit number in network order.
    fn u32(&mut self) -> Option<u32> {
        self.array().map(u32::from_be_bytes)
    }

    /// Everything that is left (possibly nothing).
    fn rest(&mut self) -> &'a [u8] {
        let s = &self.d[self.p..];
        self.p = self.d.len();
        s
    }

    /// Everything that is left, which must not be empty.
    fn rest_nonempty(&mut self) -> Option<&'a [u8]> {
        Some(self.rest()).filter(|s| !s.is_empty())
    }

    /// True if everything was read.
    fn done(&self) -> bool {
        self.p >= self.d.len()
    }

    /// One uncompressed wire name, validated; written in presentation
    /// format when displayed.
    fn name(&mut self) -> Option<NameText<'a>> {
        let len = name::wire_len(&self.d[self.p..]).ok()?;
        self.take(len).map(NameText)
    }

    /// One character-string (length octet and data), without its length.
    fn charstr(&mut self) -> Option<&'a [u8]> {
        let len = self.u8()? as usize;
        self.take(len)
    }

    /// An IPv4 address (4 octets).
    fn ipv4(&mut self) -> Option<Ipv4Addr> {
        self.array::<4>().map(Ipv4Addr::from)
    }

    /// An IPv6 address (16 octets), written in RFC 5952 form.
    fn ipv6(&mut self) -> Option<Ipv6Addr> {
        self.array::<16>().map(Ipv6Addr::from)
    }
}

//------------ writing text ---------------------------------------------------

/// Space-separated presentation fields, or only the check that the
/// RDATA reads (`check_only`: fields are dropped unformatted).
#[derive(Default)]
struct Out {
    text: String,
    check_only: bool,
    /// Set when the type has no dedicated formatter.
    no_formatter: bool,
}

impl Out {
    /// Appends one field, preceded by a space unless it is the first.
    fn field(&mut self, v: impl fmt::Display) {
        if self.check_only {
            return;
        }
        if !self.text.is_empty() {
            self.text.push(' ');
        }
        // Writing to a String cannot fail.
        let _ = write!(self.text, "{v}");
    }
}

/// A validated wire name, displayed in presentation format.
struct NameText<'a>(&'a [u8]);

impl fmt::Display for NameText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&name::to_text(self.0))
    }
}

/// A field computed only when displayed (hex, Base64, times): a check
/// costs no allocation.
struct Lazy<F: Fn() -> String>(F);

impl<F: Fn() -> String> fmt::Display for Lazy<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&(self.0)())
    }
}

/// A character-string in double quotes: `"` and `\` are escaped with a
/// backslash and octets outside printable ASCII become `\DDD` (as BIND's
/// `dig` does). White space stays as it is, being inside the quotes.
struct Quoted<'a>(&'a [u8]);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_char('"')?;
        write_escaped(f, self.0, false)?;
        f.write_char('"')
    }
}

/// Writes text octets with `\"`, `\\` and `\DDD` escapes; with `comma`,
/// also escapes `,` (inside the value-lists of SvcParams).
fn write_escaped(f: &mut impl Write, data: &[u8], comma: bool) -> fmt::Result {
    for &b in data {
        match b {
            b'"' | b'\\' => {
                f.write_char('\\')?;
                f.write_char(b as char)?;
            }
            b',' if comma => f.write_str("\\,")?,
            0x20..=0x7E => f.write_char(b as char)?,
            _ => write!(f, "\\{b:03}")?,
        }
    }
    Ok(())
}

/// Lower-case hex (EUI, NSAP and ILNP node identifiers are written so).
fn hex_lower(data: &[u8]) -> String {
    data.iter().fold(String::with_capacity(data.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

//------------ per-type formatters ------------------------------------------

/// The dedicated formatter of `rtype`, or `None` if there is none or the
/// RDATA does not fit the type.
fn format_rdata(rtype: u16, d: &[u8]) -> Option<String> {
    let mut o = Out::default();
    fill(rtype, d, &mut o)?;
    Some(o.text)
}

/// Reads `d` as `rtype` into `o`; `None` if it does not fit (or the type
/// has no formatter: then `o.no_formatter` is set).
fn fill(rtype: u16, d: &[u8], o: &mut Out) -> Option<()> {
    let mut r = Rd::new(d);
    match family(rtype) {
        Some(Family::Ipv4) => o.field(r.ipv4()?),
        Some(Family::Ipv6) => o.field(r.ipv6()?),
        Some(Family::Name) => o.field(r.name()?),
        Some(Family::NamesAndNumbers) => names_and_numbers(rtype, &mut r, o)?,
        Some(Family::CharacterStrings) => character_strings(rtype, &mut r, o)?,
        Some(Family::KeysAndCertificates) => keys_and_certificates(rtype, &mut r, o)?,
        Some(Family::Dnssec) => dnssec(rtype, &mut r, o)?,
        Some(Family::Svcb) => svcb_params(&mut r, o)?,
        Some(Family::Addresses) => addresses(rtype, &mut r, o)?,
        Some(Family::Loc) => loc(&mut r, o)?,
        None => return no_formatter(o),
    }
    if !r.done() {
        return None;
    }
    Some(())
}

/// Marks `o`: the type has no formatter.
fn no_formatter(o: &mut Out) -> Option<()> {
    o.no_formatter = true;
    None
}

/// Names, numbers and a text target: SOA, MX and its kin, PX, SRV, NAPTR
/// and URI (RFC 1035, 1183, 2163, 2782, 3403, 6742, 7553).
fn names_and_numbers(rtype: u16, r: &mut Rd<'_>, o: &mut Out) -> Option<()> {
    match rtype {
        t::SOA => {
            o.field(r.name()?);
            o.field(r.name()?);
            for _ in 0..5 {
                o.field(r.u32()?);
            }
        }
        t::MX | t::AFSDB | t::RT | t::KX | t::LP => {
            o.field(r.u16()?);
            o.field(r.name()?);
        }
        t::MINFO | t::RP | t::TALINK => {
            o.field(r.name()?);
            o.field(r.name()?);
        }
        t::PX => {
            o.field(r.u16()?);
            o.field(r.name()?);
            o.field(r.name()?);
        }
        t::SRV => {
            for _ in 0..3 {
                o.field(r.u16()?);
            }
            o.field(r.name()?);
        }
        t::NAPTR => {
            o.field(r.u16()?);
            o.field(r.u16()?);
            for _ in 0..3 {
                o.field(Quoted(r.charstr()?));
            }
            o.field(r.name()?);
        }
        t::URI => {
            o.field(r.u16()?);
            o.field(r.u16()?);
            o.field(Quoted(r.rest()));
        }
        _ => return no_formatter(o),
    }
    Some(())
}

/// Character-strings only: TXT and its kin, HINFO, X25, ISDN and GPOS (RFC
/// 1035, 1183, 1712).
fn character_strings(rtype: u16, r: &mut Rd<'_>, o: &mut Out) -> Option<()> {
    match rtype {
        t::TXT | t::SPF | t::NINFO | t::RESINFO | t::WALLET | t::AVC => {
            // At least one character-string (the reader requires one).
            o.field(Quoted(r.charstr()?));
            while !r.done() {
                o.field(Quoted(r.charstr()?));
            }
        }
        t::HINFO => {
            o.field(Quoted(r.charstr()?));
            o.field(Quoted(r.charstr()?));
        }
        t::X25 => o.field(Quoted(r.charstr()?)),
        t::ISDN => {
            o.field(Quoted(r.charstr()?));
            if !r.done() {
                o.field(Quoted(r.charstr()?));
            }
        }
        t::GPOS => {
            for _ in 0..3 {
                o.field(Quoted(r.charstr()?));
            }
        }
        _ => return no_formatter(o),
    }
    Some(())
}

/// DNSSEC: DS, DNSKEY and their kin, RRSIG, NSEC, NSEC3, NSEC3PARAM, CSYNC
/// and ZONEMD (RFC 4034, 5155, 7477, 8976).
fn dnssec(rtype: u16, r: &mut Rd<'_>, o: &mut Out) -> Option<()> {
    match rtype {
        t::DS | t::CDS | t::DLV | t::TA => {
            o.field(r.u16()?);
            o.field(r.u8()?);
            o.field(r.u8()?);
            let v = r.rest_nonempty()?;
            o.field(Lazy(|| codec::hex_encode(v)));
        }
        t::DNSKEY | t::CDNSKEY | t::KEY | t::RKEY => {
            o.field(r.u16()?);
            o.field(r.u8()?);
            o.field(r.u8()?);
            // Only KEY may lack key material (RFC 2535 §3.1.2, "no key").
            let key = r.rest();
            if !key.is_empty() {
                o.field(Lazy(|| codec::base64_encode(key)));
            } else if rtype != t::KEY {
                return None;
            }
        }
        t::RRSIG | t::SIG => {
            let v = r.u16()?;
            o.field(Lazy(|| rtype::type_to_text(v)));
            o.field(r.u8()?);
            o.field(r.u8()?);
            o.field(r.u32()?);
            let v = r.u32()?;
            o.field(Lazy(|| sig_time(v)));
            let v = r.u32()?;
            o.field(Lazy(|| sig_time(v)));
            o.field(r.u16()?);
            o.field(r.name()?);
            let v = r.rest_nonempty()?;
            o.field(Lazy(|| codec::base64_encode(v)));
        }
        t::NSEC => {
            o.field(r.name()?);
            type_bitmap(r, o)?;
        }
        t::NSEC3 => {
            nsec3_common(r, o)?;
            let hash = r.charstr().filter(|h| !h.is_empty())?;
            o.field(Lazy(|| codec::base32hex_encode(hash)));
            type_bitmap(r, o)?;
        }
        t::NSEC3PARAM => nsec3_common(r, o)?,
        t::CSYNC => {
            o.field(r.u32()?);
            o.field(r.u16()?);
            type_bitmap(r, o)?;
        }
        t::ZONEMD => {
            o.field(r.u32()?);
            o.field(r.u8()?);
            o.field(r.u8()?);
            // RFC 8976 §2.2.4: the digest has at least 12 octets.
            let digest = r.rest();
            if digest.len() < 12 {
                return None;
            }
            o.field(Lazy(|| codec::hex_encode(digest)));
        }
        _ => return no_formatter(o),
    }
    Some(())
}

/// Keys, certificates and their digests outside DNSSEC: CERT, SSHFP, TLSA,
/// SMIMEA, OPENPGPKEY, DHCID, IPSECKEY, HIP and CAA.
fn keys_and_certificates(rtype: u16, r: &mut Rd<'_>, o: &mut Out) -> Option<()> {
    match rtype {
        t::CERT => {
            o.field(cert_type(r.u16()?));
            o.field(r.u16()?);
            o.field(cert_algorithm(r.u8()?));
            let v = r.rest_nonempty()?;
            o.field(Lazy(|| codec::base64_encode(v)));
        }
        t::SSHFP => {
            o.field(r.u8()?);
            o.field(r.u8()?);
            let v = r.rest_nonempty()?;
            o.field(Lazy(|| codec::hex_encode(v)));
        }
        t::TLSA | t::SMIMEA => {
            for _ in 0..3 {
                o.field(r.u8()?);
            }
            let v = r.rest_nonempty()?;
            o.field(Lazy(|| codec::hex_encode(v)));
        }
        t::OPENPGPKEY | t::DHCID => {
            let v = r.rest_nonempty()?;
            o.field(Lazy(|| codec::base64_encode(v)));
        }
        t::CAA => {
            o.field(r.u8()?);
            let tag = r.charstr()?;
            if tag.is_empty() || !tag.iter().all(u8::is_ascii_alphanumeric) {
                return None;
            }
            // Alphanumeric, hence valid UTF-8.
            o.field(std::str::from_utf8(tag).ok()?);
            o.field(Quoted(r.rest()));
        }
        t::IPSECKEY => {
            o.field(r.u8()?);
            let gateway_type = r.u8()?;
            o.field(gateway_type);
            o.field(r.u8()?);
            match gateway_type {
                0 => o.field('.'),
                1 => o.field(r.ipv4()?),
                2 => o.field(r.ipv6()?),
                3 => o.field(r.name()?),
                _ => return None,
            }
            let key = r.rest();
            if !key.is_empty() {
                o.field(Lazy(|| codec::base64_encode(key)));
            }
        }
        t::HIP => {
            let hit_len = r.u8()? as usize;
            let alg = r.u8()?;
            let pk_len = r.u16()? as usize;
            if hit_len == 0 || pk_len == 0 {
                return None;
            }
            o.field(alg);
            o.field(codec::hex_encode(r.take(hit_len)?));
            o.field(codec::base64_encode(r.take(pk_len)?));
            while !r.done() {
                o.field(r.name()?);
            }
        }
        _ => return no_formatter(o),
    }
    Some(())
}

/// Addresses and identifiers: EUI48, EUI64, NID, L64, L32, AMTRELAY, APL
/// and NSAP.
fn addresses(rtype: u16, r: &mut Rd<'_>, o: &mut Out) -> Option<()> {
    match rtype {
        t::EUI48 => o.field(eui(r.rest(), 6)?),
        t::EUI64 => o.field(eui(r.rest(), 8)?),
        t::NID | t::L64 => {
            o.field(r.u16()?);
            let id = r.array::<8>()?;
            let groups: Vec<String> = id.chunks_exact(2).map(hex_lower).collect();
            o.field(groups.join(":"));
        }
        t::L32 => {
            o.field(r.u16()?);
            o.field(r.ipv4()?);
        }
        t::AMTRELAY => {
            o.field(r.u8()?);
            let b = r.u8()?;
            o.field(b >> 7);
            o.field(b & 0x7F);
            match b & 0x7F {
                0 => o.field('.'),
                1 => o.field(r.ipv4()?),
                2 => o.field(r.ipv6()?),
                3 => o.field(r.name()?),
                _ => return None,
            }
        }
        t::APL => {
            while !r.done() {
                o.field(apl_item(r)?);
            }
        }
        t::NSAP => o.field(format!("0x{}", hex_lower(r.rest_nonempty()?))),
        _ => return no_formatter(o),
    }
    Some(())
}

/// Algorithm, flags, iterations and salt, shared by NSEC3 and NSEC3PARAM.
fn nsec3_common(r: &mut Rd<'_>, o: &mut Out) -> Option<()> {
    o.field(r.u8()?);
    o.field(r.u8()?);
    o.field(r.u16()?);
    let salt = r.charstr()?;
    if salt.is_empty() {
        o.field('-');
    } else {
        o.field(codec::hex_encode(salt));
    }
    Some(())
}

/// RRSIG inception and expiration: `YYYYMMDDHHmmSS` in UTC (RFC 4034 §3.2).
/// The 32-bit value is read as seconds since 1970, so it covers the years
/// 1970 to 2106 and the text does not depend on the clock (BIND instead
/// picks the 2^32-second window around the current time).
pub(crate) fn sig_time(secs: u32) -> String {
    let secs = secs as i64;
    let (y, m, d) = civil_from_days(secs.div_euclid(86400));
    let s = secs.rem_euclid(86400);
    format!("{y:04}{m:02}{d:02}{:02}{:02}{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (the inverse
/// of [`crate::zonefile::rdata_parse::days_from_civil`], after H. Hinnant).
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// The rest of the RDATA as an NSEC-style type bitmap (RFC 4034 §4.1.2),
/// one mnemonic (or `TYPEnnn`) per type. Only the canonical encoding is
/// accepted: windows in increasing order, 1 to 32 octets each, the last
/// octet of each window non-zero (as BIND checks on input).
fn type_bitmap(r: &mut Rd<'_>, o: &mut Out) -> Option<()> {
    let mut last_window: Option<u8> = None;
    while !r.done() {
        let window = r.u8()?;
        let len = r.u8()? as usize;
        if last_window.is_some_and(|w| window <= w) || !(1..=32).contains(&len) {
            return None;
        }
        last_window = Some(window);
        let bits = r.take(len)?;
        if bits[len - 1] == 0 {
            return None;
        }
        for (i, &octet) in bits.iter().enumerate() {
            for bit in 0..8 {
                if octet & (0x80 >> bit) != 0 {
                    let code = u16::from(window) << 8 | (i * 8 + bit) as u16;
                    o.field(Lazy(|| rtype::type_to_text(code)));
                }
            }
        }
    }
    Some(())
}

/// The CERT certificate type: its RFC 4398 §2.1 mnemonic, or the number.
fn cert_type(v: u16) -> String {
    let m = match v {
        1 => "PKIX",
        2 => "SPKI",
        3 => "PGP",
        4 => "IPKIX",
        5 => "ISPKI",
        6 => "IPGP",
        7 => "ACPKIX",
        8 => "IACPKIX",
        253 => "URI",
        254 => "OID",
        _ => return v.to_string(),
    };
    m.to_string()
}

/// The CERT algorithm as BIND's `dig` writes it: the DNSSEC algorithm
/// mnemonic, or the number. Algorithms 6, 7 and 12, whose mnemonics differ
/// between BIND and the IANA registry, are written as numbers.
fn cert_algorithm(v: u8) -> String {
    let m = match v {
        1 => "RSAMD5",
        2 => "DH",
        3 => "DSA",
        5 => "RSASHA1",
        8 => "RSASHA256",
        10 => "RSASHA512",
        13 => "ECDSAP256SHA256",
        14 => "ECDSAP384SHA384",
        15 => "ED25519",
        16 => "ED448",
        252 => "INDIRECT",
        253 => "PRIVATEDNS",
        254 => "PRIVATEOID",
        _ => return v.to_string(),
    };
    m.to_string()
}

/// EUI-48/EUI-64 as lower-case hex pairs joined by `-` (RFC 7043 §3.2, §4.2).
fn eui(data: &[u8], len: usize) -> Option<String> {
    if data.len() != len {
        return None;
    }
    let pairs: Vec<String> = data.chunks(1).map(hex_lower).collect();
    Some(pairs.join("-"))
}

/// One APL item, `[!]afi:address/prefix` (RFC 3123 §5). The address must
/// be in the canonical short form: no trailing zero octets.
fn apl_item(r: &mut Rd<'_>) -> Option<String> {
    let afi = r.u16()?;
    let prefix = r.u8()?;
    let nl = r.u8()?;
    let negate = if nl & 0x80 != 0 { "!" } else { "" };
    let len = (nl & 0x7F) as usize;
    let data = r.take(len)?;
    if data.last() == Some(&0) {
        return None;
    }
    let addr = match afi {
        1 if prefix <= 32 && len <= 4 => {
            let mut a = [0u8; 4];
            a[..len].copy_from_slice(data);
            Ipv4Addr::from(a).to_string()
        }
        2 if prefix <= 128 && len <= 16 => {
            let mut a = [0u8; 16];
            a[..len].copy_from_slice(data);
            Ipv6Addr::from(a).to_string()
        }
        _ => return None,
    };
    Some(format!("{negate}{afi}:{addr}/{prefix}"))
}

/// LOC (RFC 1876 §3) as BIND writes it:
/// `d m s.sss {N|S} d m s.sss {E|W} alt.cc m size hp vp`.
fn loc(r: &mut Rd<'_>, o: &mut Out) -> Option<()> {
    let [version, size, hp, vp] = r.array::<4>()?;
    if version != 0 {
        return None;
    }
    o.field(loc_angle(r.u32()?, 90, 'N', 'S')?);
    o.field(loc_angle(r.u32()?, 180, 'E', 'W')?);
    let alt = i64::from(r.u32()?) - 10_000_000;
    let sign = if alt < 0 { "-" } else { "" };
    o.field(format_args!("{sign}{}.{:02}m", alt.abs() / 100, alt.abs() % 100));
    for p in [size, hp, vp] {
        o.field(loc_precision(p)?);
    }
    Some(())
}

/// A LOC latitude or longitude: 2^31 plus or minus thousandths of an arc
/// second, at most `max_deg` degrees away from the equator or meridian.
fn loc_angle(v: u32, max_deg: u32, pos: char, neg: char) -> Option<String> {
    const ZERO: u32 = 1 << 31;
    let (hemi, off) = if v >= ZERO { (pos, v - ZERO) } else { (neg, ZERO - v) };
    if off > max_deg * 3_600_000 {
        return None;
    }
    Some(format!("{} {} {}.{:03} {hemi}", off / 3_600_000, off / 60_000 % 60, off / 1000 % 60, off % 1000))
}

/// A LOC size or precision: mantissa and power-of-ten exponent (each 0 to
/// 9) in centimetres, written as whole metres or, below one metre, `0.cc`.
fn loc_precision(b: u8) -> Option<String> {
    let (mantissa, exp) = (b >> 4, b & 0x0F);
    // A zero mantissa with a non-zero exponent would read back as 0x00.
    if mantissa > 9 || exp > 9 || (mantissa == 0 && exp != 0) {
        return None;
    }
    let cm = u64::from(mantissa) * 10u64.pow(u32::from(exp));
    Some(if exp >= 2 { format!("{}m", cm / 100) } else { format!("0.{cm:02}m") })
}

//------------ SVCB and HTTPS -------------------------------------------------

/// SVCB/HTTPS (RFC 9460 §2.1): priority, target and `key=value` params in
/// BIND's style (`alpn="h2,h3"`, `port=853`, `ipv4hint=192.0.2.1,...`,
/// `ech=BASE64`, text values quoted, keys without a value bare).
fn svcb_params(r: &mut Rd<'_>, o: &mut Out) -> Option<()> {
    o.field(r.u16()?);
    o.field(r.name()?);
    let mut last: Option<u16> = None;
    while !r.done() {
        let key = r.u16()?;
        // Keys are unique and in increasing order (RFC 9460 §2.2); 65535
        // is reserved.
        if key == 65535 || last.is_some_and(|l| key <= l) {
            return None;
        }
        last = Some(key);
        let len = r.u16()? as usize;
        o.field(svc_param(key, r.take(len)?)?);
    }
    Some(())
}

/// One SvcParam as `key` or `key=value`, `None` if the value does not fit
/// the key.
fn svc_param(key: u16, v: &[u8]) -> Option<String> {
    let mut s = svcb::key_name(key);
    match key {
        // mandatory: a sorted list of distinct keys.
        0 => {
            if v.is_empty() || v.len() % 2 != 0 {
                return None;
            }
            let keys: Vec<u16> = v.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
            if keys.contains(&65535) || keys.windows(2).any(|w| w[0] >= w[1]) {
                return None;
            }
            let names: Vec<String> = keys.into_iter().map(svcb::key_name).collect();
            let _ = write!(s, "={}", names.join(","));
        }
        // alpn: non-empty alpn-ids, quoted, with commas inside an id
        // escaped as `\,` (the single level of escaping levee's reader
        // undoes; RFC 9460 Appendix A.1 would double the backslash).
        1 => {
            if v.is_empty() {
                return None;
            }
            let mut ids = Rd::new(v);
            s.push_str("=\"");
            let mut first = true;
            while !ids.done() {
                let id = ids.charstr().filter(|id| !id.is_empty())?;
                if !first {
                    s.push(',');
                }
                first = false;
                let _ = write_escaped(&mut s, id, true);
            }
            s.push('"');
        }
        // no-default-alpn and ohttp take no value.
        2 | 8 => {
            if !v.is_empty() {
                return None;
            }
        }
        3 => {
            let port: [u8; 2] = v.try_into().ok()?;
            let _ = write!(s, "={}", u16::from_be_bytes(port));
        }
        // ipv4hint and ipv6hint: non-empty address lists.
        4 | 6 => {
            let mut addrs = Rd::new(v);
            let mut list = Vec::new();
            while !addrs.done() {
                list.push(if key == 4 { addrs.ipv4()?.to_string() } else { addrs.ipv6()?.to_string() });
            }
            if list.is_empty() {
                return None;
            }
            let _ = write!(s, "={}", list.join(","));
        }
        5 => {
            if v.is_empty() {
                return None;
            }
            let _ = write!(s, "={}", codec::base64_encode(v));
        }
        // dohpath and unknown keys: opaque text, quoted.
        _ => {
            if !v.is_empty() {
                let _ = write!(s, "={}", Quoted(v));
            }
        }
    }
    Some(s)
}
