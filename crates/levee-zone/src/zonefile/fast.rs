//! The fused path for the common lines of a large zone: one pass over a
//! line, from its first octet to the record handed to the sink, without
//! the token list, the field cursor or the RDATA dispatch (issue 24,
//! check 2).
//!
//! A TLD zone is almost only lines of one shape:
//!
//! ```text
//! owner [ttl] [IN] [ttl] NS|A|AAAA|DS rdata
//! ```
//!
//! [`read`] reads such a line in place: each token is found eight octets
//! at a time with a cheap superset of the lexer's boundary masks ([`ends`]),
//! the TTL (plain digits), the class (`IN`) and the type are recognised
//! from their octets, the RDATA is read straight into its wire form (a
//! name into a reusable name buffer, a dotted quad or an IPv6 address
//! into a local array, a DS record's numbers and digest into the
//! parser's RDATA buffer), and the record goes to the sink borrowed from
//! there: nothing is allocated or copied per record but the names' own
//! text-to-wire.
//!
//! An owner written as the text of the last owner this path read (the
//! two NS lines of a delegation, the A and AAAA of its glue) is not
//! parsed again: `parser::parse_chunk` keeps the span of that text in its
//! chunk ([`OwnerText`]) and forgets it whenever the general path reads
//! an entry (a directive may change the origin, a record the owner).
//!
//! **Every unusual line goes to the general path, untouched.** [`read`]
//! returns `None` (the free owner slot and the name buffer it wrote are
//! scratch) on anything but the shape above: escapes, parentheses,
//! quotes, comments, control octets, `*`, `+` and `,` in a name (the
//! cheap boundary mask flags them), a line not ended by a newline within
//! eight octets of the chunk's end, TTL units, a class other than IN,
//! other types, an address or a name the strict readers here do not
//! take, a blank owner before any owner. `parser::fused` commits a line
//! it read with `record_entry`'s rules, and leaves to the general path
//! too a record without a TTL where the state gives none (an error, or a
//! block parsed on a guess, `parallel.rs`) and one over the record
//! budget. The general path then reads the line as it always did, with
//! its errors (FILE:LINE). So this path only has to agree with the
//! general one on the lines it takes, which the reference parser checks
//! (`reference.rs`, the `zonefile` fuzz target, `tests/props.rs`), and
//! the general path itself (`parser::tests`, the same text with a
//! comment on every line).
//!
//! Separators are those of the lexer's simple lines: space, tab and
//! carriage return (so CRLF lines and trailing white space are taken).
//! A timed load ([`LoadOptions::timings`](super::LoadOptions)) charges a
//! sampled fused line to the owner, header and RDATA phases, each with
//! the finding of its own tokens (the lexing phase is the general
//! path's alone); a line the fused path gives up is charged to lexing
//! up to there.

use levee_wire::name::{self, NameBuf};
use levee_wire::rtype::t;

use crate::zonefile::fields::parse_name_into;
use crate::zonefile::timings::{self, Lap, Phase};

/// The span, in the current chunk, of the text of the last owner the
/// fused path read, while it is still the owner in effect.
pub(super) type OwnerText = Option<(usize, usize)>;

/// The octets of `x` (eight octets of text, little-endian) that may end
/// a token, and a few more, as the top bit of each; the lowest one set
/// is exact (a borrow only flags octets above a true one). A superset of
/// `lexer::boundaries` in fewer operations: every octet below `-` (white
/// space, control octets, `!`, `"`, `(`, `)`, and the plain `#` to `,`),
/// `;` and `\\`. A plain octet flagged ends a token where the fused path
/// finds no separator, and it gives the line up.
#[inline(always)]
fn ends(x: u64) -> u64 {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let below = x.wrapping_sub(LO * b'-' as u64) & !x;
    let semi = x ^ (LO * b';' as u64);
    let back = x ^ (LO * b'\\' as u64);
    (below | (semi.wrapping_sub(LO) & !semi) | (back.wrapping_sub(LO) & !back)) & HI
}

/// Where a token that starts at `p` ends: the first octet that may end
/// a token ([`ends`]); `None` when it is not a separator or a newline, or
/// when fewer than eight octets are left to look at.
#[inline(always)]
fn token_end(data: &[u8], mut p: usize) -> Option<usize> {
    loop {
        let w = data.get(p..p + 8)?;
        let mut b = [0u8; 8];
        b.copy_from_slice(w);
        let m = ends(u64::from_le_bytes(b));
        if m != 0 {
            let q = p + (m.trailing_zeros() / 8) as usize;
            return matches!(data[q], b' ' | b'\t' | b'\r' | b'\n').then_some(q);
        }
        p += 8;
    }
}

/// Where the text at `pos` ends if it is the `len` octets at `s` (an
/// earlier token) followed by a space or a tab; compared eight octets at
/// a time.
#[inline(always)]
fn same_text(data: &[u8], s: usize, pos: usize, len: usize) -> Option<usize> {
    let end = pos + len;
    if !matches!(data.get(end)?, b' ' | b'\t') {
        return None;
    }
    let mut k = 0;
    while k + 8 <= len {
        if data[s + k..s + k + 8] != data[pos + k..pos + k + 8] {
            return None;
        }
        k += 8;
    }
    (data[s + k..s + len] == data[pos + k..end]).then_some(end)
}

/// The first octet at or after `p` that is not a separator.
#[inline(always)]
fn skip_separators(data: &[u8], mut p: usize) -> usize {
    while matches!(data.get(p), Some(b' ' | b'\t' | b'\r')) {
        p += 1;
    }
    p
}

/// The next token from `p` (separators skipped first): its span, empty
/// at a newline; `None` on anything the fused path does not take.
#[inline(always)]
fn token(data: &[u8], p: usize) -> Option<(usize, usize)> {
    let s = skip_separators(data, p);
    Some((s, token_end(data, s)?))
}

/// A TTL in plain digits (at most ten, within 32 bits), as `parse_ttl`
/// reads it; anything else (units) is the general path's.
#[inline]
fn plain_ttl(t: &[u8]) -> Option<u32> {
    if t.len() > 10 {
        return None;
    }
    let mut v = 0u64;
    for &d in t {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v * 10 + (d - b'0') as u64;
    }
    u32::try_from(v).ok()
}

/// The types of the fused path, from their mnemonic (any case).
#[inline]
fn fused_type(t: &[u8]) -> Option<u16> {
    match t.len() {
        1 if t[0] | 0x20 == b'a' => Some(t::A),
        2 if t.eq_ignore_ascii_case(b"NS") => Some(t::NS),
        2 if t.eq_ignore_ascii_case(b"DS") => Some(t::DS),
        4 if t.eq_ignore_ascii_case(b"AAAA") => Some(t::AAAA),
        _ => None,
    }
}

/// An IPv6 address as std's `Ipv6Addr::from_str` reads it, for the
/// forms without an embedded IPv4 address: groups of one to four hex
/// digits separated by `:`, eight of them, or fewer with one `::`
/// standing for at least one zero group. `None` on anything else (the
/// general path, std's reader, decides). A test holds it to std.
pub(super) fn ipv6_plain(s: &[u8]) -> Option<[u8; 16]> {
    let mut groups = [0u16; 8];
    let mut n = 0usize;
    let mut gap = None;
    let mut i = 0;
    if s.starts_with(b"::") {
        gap = Some(0);
        i = 2;
    }
    while i < s.len() {
        let start = i;
        let mut v = 0u16;
        while i < s.len() && i - start < 4 {
            let d = match s[i] {
                b'0'..=b'9' => s[i] - b'0',
                b'a'..=b'f' => s[i] - b'a' + 10,
                b'A'..=b'F' => s[i] - b'A' + 10,
                _ => break,
            };
            v = (v << 4) | d as u16;
            i += 1;
        }
        if i == start || n == 8 {
            return None;
        }
        groups[n] = v;
        n += 1;
        if i == s.len() {
            break;
        }
        if s[i] != b':' {
            return None;
        }
        i += 1;
        if s.get(i) == Some(&b':') {
            if gap.is_some() {
                return None;
            }
            gap = Some(n);
            i += 1;
        } else if i == s.len() {
            return None;
        }
    }
    let mut out = [0u8; 16];
    let (head, tail) = match gap {
        None if n == 8 => (8, 0),
        Some(g) if n <= 7 => (g, n - g),
        _ => return None,
    };
    for (k, g) in groups[..head].iter().enumerate() {
        out[2 * k..2 * k + 2].copy_from_slice(&g.to_be_bytes());
    }
    for (k, g) in groups[head..n].iter().enumerate() {
        let at = 8 - tail + k;
        out[2 * at..2 * at + 2].copy_from_slice(&g.to_be_bytes());
    }
    Some(out)
}

/// ` IN NS `, ` IN A ` and ` IN AAAA ` (one space around each), the way
/// most generated zones write the middle of a line: recognised by one
/// compare of eight octets from `p` (the separator after the owner);
/// `(type, where its RDATA starts)`.
#[inline(always)]
fn usual_header(data: &[u8], p: usize) -> Option<(u16, usize)> {
    let w = data.get(p..p + 8)?;
    let mut b = [0u8; 8];
    b.copy_from_slice(w);
    let x = u64::from_le_bytes(b);
    const IN_NS: u64 = u64::from_le_bytes(*b" IN NS \0");
    const IN_A: u64 = u64::from_le_bytes(*b" IN A \0\0");
    const IN_AAAA: u64 = u64::from_le_bytes(*b" IN AAAA");
    if x & 0x00FF_FFFF_FFFF_FFFF == IN_NS {
        Some((t::NS, p + 7))
    } else if x & 0x0000_FFFF_FFFF_FFFF == IN_A {
        Some((t::A, p + 6))
    } else if x == IN_AAAA && data.get(p + 8) == Some(&b' ') {
        Some((t::AAAA, p + 9))
    } else {
        None
    }
}

/// A dotted quad read in place from `p` as `rdata_parse::dotted_quad`
/// reads a token (one to three digits per number, at most 255, no
/// leading zero), ended by a separator or a newline: the address and
/// where it ends.
#[inline]
fn quad_at(data: &[u8], mut p: usize) -> Option<([u8; 4], usize)> {
    let mut out = [0u8; 4];
    for (k, o) in out.iter_mut().enumerate() {
        if k > 0 {
            if *data.get(p)? != b'.' {
                return None;
            }
            p += 1;
        }
        let d0 = data.get(p)?.wrapping_sub(b'0');
        if d0 > 9 {
            return None;
        }
        let mut v = d0 as u32;
        p += 1;
        let mut n = 1;
        while let Some(d) = data.get(p).map(|c| c.wrapping_sub(b'0')).filter(|&d| d <= 9) {
            if n == 3 || d0 == 0 {
                return None;
            }
            v = v * 10 + d as u32;
            n += 1;
            p += 1;
        }
        if v > 255 {
            return None;
        }
        *o = v as u8;
    }
    matches!(data.get(p)?, b' ' | b'\t' | b'\r' | b'\n').then_some((out, p))
}

/// The name written at `s`, read into `out`, and where its token ends;
/// the token ends at a separator or a newline.
#[inline(always)]
fn name_at(data: &[u8], s: usize, origin: &[u8], out: &mut NameBuf) -> Option<usize> {
    let e = match name::text_token_into(data.get(s..)?, Some(origin), out, ends) {
        Some(n) => s + n,
        None => {
            // `@`, `.`, near the end of the chunk, or an error.
            let e = token_end(data, s)?;
            parse_name_into(&data[s..e], origin, out).ok()?;
            e
        }
    };
    (e > s && matches!(data[e], b' ' | b'\t' | b'\r' | b'\n')).then_some(e)
}

/// TTL, class and type after the owner, from `p`: `(ttl, type, end of
/// the type token)`, at most one TTL and one class in either order, as
/// `parser::record_entry` takes them.
#[inline]
fn header(data: &[u8], mut p: usize) -> Option<(Option<u32>, u16, usize)> {
    if let Some((rt, at)) = usual_header(data, p) {
        return Some((None, rt, at));
    }
    let mut ttl = None;
    let mut class = false;
    loop {
        let (s, e) = token(data, p)?;
        let tok = &data[s..e];
        if tok.is_empty() {
            return None;
        }
        p = e;
        if ttl.is_none() && tok[0].is_ascii_digit() {
            ttl = Some(plain_ttl(tok)?);
        } else if !class && tok.eq_ignore_ascii_case(b"IN") {
            class = true;
        } else {
            return Some((ttl, fused_type(tok)?, e));
        }
    }
}

/// A number in plain digits (at most `digits` of them) up to `max`, as
/// `fields::parse_number` reads it; longer ones are the general path's.
#[inline]
fn plain_number(t: &[u8], digits: usize, max: u32) -> Option<u32> {
    if t.is_empty() || t.len() > digits {
        return None;
    }
    let mut v = 0u32;
    for &d in t {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v * 10 + (d - b'0') as u32;
    }
    (v <= max).then_some(v)
}

/// The next token from `p` as a plain number (see [`plain_number`]) and
/// where it ends.
#[inline]
fn number_at(data: &[u8], p: usize, digits: usize, max: u32) -> Option<(u32, usize)> {
    let (s, e) = token(data, p)?;
    Some((plain_number(&data[s..e], digits, max)?, e))
}

/// DS RDATA from `p` into `out` (cleared first), as
/// `rdata_parse::dnssec` reads it: key tag, algorithm and digest type in
/// plain digits, then the digest in hex, possibly cut into several
/// tokens (their octets taken together; an even number of digits);
/// returns where the next line starts.
fn ds(data: &[u8], p: usize, out: &mut Vec<u8>) -> Option<usize> {
    out.clear();
    let (tag, p) = number_at(data, p, 5, u16::MAX as u32)?;
    let (alg, p) = number_at(data, p, 3, 255)?;
    let (dtype, mut p) = number_at(data, p, 3, 255)?;
    out.extend_from_slice(&(tag as u16).to_be_bytes());
    out.extend_from_slice(&[alg as u8, dtype as u8]);
    // A digit waiting for its pair (it may be in the next token).
    let mut high: Option<u8> = None;
    let mut any = false;
    loop {
        let (s, e) = token(data, p)?;
        if s == e {
            // The newline: the end of the line.
            return (any && high.is_none() && data[e] == b'\n').then_some(e + 1);
        }
        for &c in &data[s..e] {
            let v = match c {
                b'0'..=b'9' => c - b'0',
                b'a'..=b'f' => c - b'a' + 10,
                b'A'..=b'F' => c - b'A' + 10,
                _ => return None,
            };
            match high.take() {
                Some(h) => out.push(h << 4 | v),
                None => high = Some(v),
            }
        }
        any = true;
        p = e;
    }
}

/// The RDATA of one token from `p`, read into `target` (NS) or `addr`
/// (A, AAAA), or of the rest of the line into `buf` (DS); returns where
/// the next line starts.
#[inline]
fn rdata(
    data: &[u8],
    p: usize,
    rt: u16,
    origin: &[u8],
    target: &mut NameBuf,
    addr: &mut [u8; 16],
    buf: &mut Vec<u8>,
) -> Option<usize> {
    let s = skip_separators(data, p);
    let e = match rt {
        t::DS => return ds(data, s, buf),
        t::A => {
            let (quad, e) = quad_at(data, s)?;
            addr[..4].copy_from_slice(&quad);
            e
        }
        t::AAAA => {
            let e = token_end(data, s)?;
            *addr = ipv6_plain(&data[s..e])?;
            e
        }
        _ => name_at(data, s, origin, target)?,
    };
    line_end(data, e)
}

/// Where the next line starts, if only separators are left of this one
/// from `e`.
#[inline(always)]
fn line_end(data: &[u8], e: usize) -> Option<usize> {
    if data.get(e) == Some(&b'\n') {
        return Some(e + 1);
    }
    let end = skip_separators(data, e);
    (data.get(end) == Some(&b'\n')).then_some(end + 1)
}

/// A line the fused path read ([`read`]), for the parser to commit.
pub(super) struct Line {
    /// The owner was read into the free owner slot (else it is the last
    /// owner, by its text or by a blank field).
    pub(super) owner_read: bool,
    /// The owner's text in the chunk.
    pub(super) owner_text: (usize, usize),
    /// The TTL, if the line gives one.
    pub(super) ttl: Option<u32>,
    /// NS, A or AAAA.
    pub(super) rtype: u16,
    /// Where the next line starts.
    pub(super) next: usize,
}

impl Line {
    /// The RDATA: the address read into `addr`, the name read into
    /// `target`, or the DS RDATA read into `buf`.
    #[inline(always)]
    pub(super) fn rdata<'a>(&self, addr: &'a [u8; 16], target: &'a NameBuf, buf: &'a [u8]) -> &'a [u8] {
        match self.rtype {
            t::A => &addr[..4],
            t::AAAA => addr,
            t::DS => buf,
            _ => target,
        }
    }
}

/// Reads the line at `pos` of `data` (the current chunk) if it has the
/// common shape: an owner read into `free` (unless blank, or written as
/// the text `last_text` of the last owner), an NS target into `target`,
/// an address into `addr`, DS RDATA into `buf`, names relative to
/// `origin`. `None` on anything else; `free` and
/// `target` are scratch. `has_owner`: there is a last owner for a blank
/// owner field.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(super) fn read(
    data: &[u8],
    pos: usize,
    origin: &[u8],
    has_owner: bool,
    last_text: OwnerText,
    free: &mut NameBuf,
    target: &mut NameBuf,
    addr: &mut [u8; 16],
    buf: &mut Vec<u8>,
    lap: &mut Option<Lap>,
) -> Option<Line> {
    let blank = matches!(data.get(pos)?, b' ' | b'\t');
    let mut owner_read = false;
    let owner_end = if blank {
        if !has_owner {
            return None;
        }
        pos
    } else {
        // The last owner's text again, followed by a separator: its end
        // without a scan, and no name to read.
        let again = last_text.and_then(|(s, e)| same_text(data, s, pos, e - s));
        match again {
            Some(end) => end,
            None => {
                owner_read = true;
                let e = name_at(data, pos, origin, free)?;
                if data[e] == b'\n' {
                    return None;
                }
                e
            }
        }
    };
    timings::fine(lap, Phase::Owner);
    let (ttl, rtype, type_end) = header(data, owner_end)?;
    timings::fine(lap, Phase::Header);
    let next = rdata(data, type_end, rtype, origin, target, addr, buf)?;
    Some(Line { owner_read, owner_text: (pos, owner_end), ttl, rtype, next })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zonefile::rdata_parse::dotted_quad;

    /// The in-place dotted quad takes what `dotted_quad` takes, with the
    /// same octets, on every short text of digits and dots.
    #[test]
    fn quads_read_as_dotted_quad_reads_them() {
        let alphabet = b"0123459.x";
        let mut taken = 0;
        for code in 0u64..2_000_000 {
            let mut c = code;
            let mut t = Vec::new();
            while c > 0 && t.len() < 15 {
                t.push(alphabet[(c % 9) as usize]);
                c /= 9;
            }
            if code % 5 == 0 {
                t = [b"1.2.".as_slice(), &t].concat();
            }
            let mut padded = t.clone();
            padded.push(b' ');
            let want = dotted_quad(&t);
            match quad_at(&padded, 0) {
                Some((q, e)) => {
                    assert_eq!((Some(q), e), (want, t.len()), "{:?}", String::from_utf8_lossy(&t));
                    taken += 1;
                }
                None => assert_eq!(want, None, "{:?}", String::from_utf8_lossy(&t)),
            }
        }
        assert!(taken > 1000, "{taken}");
    }

    /// The IPv6 reader takes only what std takes, with the same octets,
    /// and takes std's forms without an IPv4 part.
    #[test]
    fn ipv6_reads_as_std_reads_it() {
        let alphabet = b"0af:F9g.";
        let mut taken = 0;
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        for round in 0..400_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 24) as usize;
            let t: Vec<u8> = (0..len).map(|k| alphabet[((seed >> (k * 5 % 60)) % 8) as usize]).collect();
            let t = if round % 4 == 0 { [b"1:2:3".as_slice(), &t].concat() } else { t };
            let std: Option<std::net::Ipv6Addr> = std::str::from_utf8(&t).ok().and_then(|s| s.parse().ok());
            let ours = ipv6_plain(&t);
            if let Some(a) = ours {
                assert_eq!(Some(a), std.map(|s| s.octets()), "{:?}", String::from_utf8_lossy(&t));
                taken += 1;
            } else if let Some(s) = std {
                assert!(t.contains(&b'.'), "std reads {:?} as {s}", String::from_utf8_lossy(&t));
            }
        }
        for s in ["::", "::1", "1::", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8", "fd01::0:0", "A:b::C:d"]
        {
            assert_eq!(ipv6_plain(s.as_bytes()), Some(s.parse::<std::net::Ipv6Addr>().unwrap().octets()), "{s}");
        }
        assert!(taken > 500, "{taken}");
    }
}
