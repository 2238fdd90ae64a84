//! A reference zone-file parser, written to be obviously right rather than
//! fast (issue 24, check 4). It is compiled only for tests and for the
//! fuzz target (`cfg(any(test, feature = "reference"))`), never into the
//! server.
//!
//! The fast path (`lexer.rs`, `parser.rs`, `parallel.rs`) skips octets
//! eight at a time, borrows names from rotating buffers, guesses the
//! state at the start of a block and merges blocks. This module does none
//! of that: it reads the text one octet at a time into owned tokens, one
//! logical line (an *entry*) after the other, and keeps its state in
//! plain fields. The `zonefile` fuzz target and
//! `reference::tests::every_zone_file_in_the_repository_parses_alike`
//! hold the two together: on any text, the fast path hands its sink the
//! same records (owner, type, class, TTL, RDATA as wire, line) as this
//! parser, up to the first error, and its first error is on the same line
//! as this parser's (the fast path keeps going after an error to list
//! every problem; this parser stops).
//!
//! ## The format, as this parser reads it
//!
//! * An entry is a physical line, continued over newlines inside
//!   parentheses. `;` starts a comment that runs to the end of the line.
//!   Space, tab and carriage return separate tokens; so do `(`, `)` and
//!   `"`. A `"` starts a quoted token that runs to the next unescaped `"`
//!   (newlines included). `\` escapes the octet after it (whatever it is,
//!   newlines included); an unquoted `\` followed by a digit is the
//!   four-octet escape `\DDD`, taken whole by the token and checked when
//!   the field is read.
//! * An entry whose line starts with a space or a tab has no owner: the
//!   last record's owner serves. An entry whose first token is unquoted
//!   and starts with `$` is a directive: `$ORIGIN name`, `$TTL ttl`,
//!   `$GENERATE` (`$INCLUDE` needs a directory: text in memory has none,
//!   so here it is always an error).
//! * After the owner: at most one TTL (a token starting with a digit), at
//!   most one class (only IN is accepted), in either order, then the
//!   type, then the RDATA. A record without a TTL takes `$TTL`, else the
//!   last TTL written on a record, else (an SOA only) the SOA's MINIMUM.
//!
//! ## What it shares with the fast path, and why
//!
//! Written here, independently: tokens, entries, directives, owner / TTL
//! / class inheritance, domain names, numbers, TTLs with units,
//! character-strings and escapes, and the RDATA of A, AAAA (std's
//! address readers), the single-name types, MX and its kin, SOA, TXT and
//! its kin, and the generic form `\# LEN HEX`.
//!
//! Shared: the mnemonic tables of types and classes
//! (`levee_wire::rtype`; a second copy of a table is not a second
//! opinion), `$GENERATE`'s range and template expansion (`generate.rs`:
//! BIND's modifier syntax is a table of rules, not a parsing strategy;
//! the expanded lines are read by this parser), the check of generic
//! RDATA of known types (`wirecheck.rs`, the check a transfer passes) and
//! the RDATA readers of the other types (`rdata_parse.rs`: keys,
//! signatures, SVCB parameters, LOC... are grammars per type, a copy of
//! each would only repeat the fast path), which this parser calls on its
//! own tokens.

use std::net::{Ipv4Addr, Ipv6Addr};

use levee_wire::rtype::{self, c, t};

use crate::zonefile::fields::Fields;
use crate::zonefile::generate::Generate;
use crate::zonefile::lexer::Token;
use crate::zonefile::{LoadOptions, Record, Source};

/// One record, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefRecord {
    /// Owner name in wire form, case as written.
    pub owner: Vec<u8>,
    /// Type.
    pub rtype: u16,
    /// Class.
    pub class: u16,
    /// TTL.
    pub ttl: u32,
    /// RDATA in wire form.
    pub rdata: Vec<u8>,
    /// Line of the entry.
    pub line: u32,
}

/// The first problem: its line and what it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefError {
    /// Line of the problem.
    pub line: u32,
    /// What is wrong (the wording need not be the fast path's).
    pub message: String,
}

/// One token, owned: its raw text (escapes not decoded, quotes removed).
#[derive(Clone, Debug)]
struct Tok {
    text: Vec<u8>,
    quoted: bool,
}

/// One logical line.
#[derive(Debug)]
struct Line {
    number: u32,
    blank_owner: bool,
    toks: Vec<Tok>,
}

/// Parses `text` (a zone for `origin`, wire form) and returns the records
/// up to the first error, and that error. At most `max_records` records
/// are made; one more is an error.
pub fn parse(text: &[u8], origin: &[u8], max_records: u64) -> (Vec<RefRecord>, Option<RefError>) {
    let mut p = Parser {
        origin: origin.to_vec(),
        default_ttl: None,
        last_ttl: None,
        last_owner: None,
        out: Vec::new(),
        max_records,
    };
    let (lines, lex_error) = split_entries(text);
    for l in &lines {
        if let Err(message) = p.entry(l) {
            return (p.out, Some(RefError { line: l.number, message }));
        }
    }
    (p.out, lex_error)
}

/// Splits the text into entries, up to the first error of the syntax
/// (parentheses, quotes), which comes back with its line.
fn split_entries(text: &[u8]) -> (Vec<Line>, Option<RefError>) {
    let mut lines = Vec::new();
    let mut line = 1u32;
    let mut i = 0;
    let err = |line: u32, m: &str| Some(RefError { line, message: m.to_string() });
    while i < text.len() {
        let mut cur = Line { number: line, blank_owner: text[i] == b' ' || text[i] == b'\t', toks: vec![] };
        let mut depth = 0;
        let mut open_line = 0;
        loop {
            let Some(&ch) = text.get(i) else {
                if depth > 0 {
                    return (lines, err(open_line, "'(' never closed"));
                }
                break;
            };
            match ch {
                b' ' | b'\t' | b'\r' => i += 1,
                b'\n' => {
                    i += 1;
                    line += 1;
                    if depth == 0 {
                        break;
                    }
                }
                b';' => {
                    while i < text.len() && text[i] != b'\n' {
                        i += 1;
                    }
                }
                b'(' => {
                    if depth == 0 {
                        open_line = line;
                    }
                    depth += 1;
                    i += 1;
                }
                b')' if depth == 0 => return (lines, err(line, "')' without '('")),
                b')' => {
                    depth -= 1;
                    i += 1;
                }
                b'"' => {
                    let start_line = line;
                    let mut tok = Vec::new();
                    i += 1;
                    loop {
                        match text.get(i) {
                            None => return (lines, err(start_line, "unterminated quoted string")),
                            Some(b'"') => break,
                            Some(&b) => {
                                let n = if b == b'\\' { 2 } else { 1 };
                                let Some(s) = text.get(i..i + n) else {
                                    return (lines, err(start_line, "unterminated quoted string"));
                                };
                                line += s.iter().filter(|&&x| x == b'\n').count() as u32;
                                tok.extend_from_slice(s);
                                i += n;
                            }
                        }
                    }
                    i += 1;
                    cur.toks.push(Tok { text: tok, quoted: true });
                }
                _ => {
                    let mut tok = Vec::new();
                    while let Some(&b) = text.get(i) {
                        if matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b';' | b'(' | b')' | b'"') {
                            break;
                        }
                        let n = match (b, text.get(i + 1)) {
                            (b'\\', Some(d)) if d.is_ascii_digit() => 4,
                            (b'\\', _) => 2,
                            _ => 1,
                        };
                        let s = &text[i..(i + n).min(text.len())];
                        line += s.iter().filter(|&&x| x == b'\n').count() as u32;
                        tok.extend_from_slice(s);
                        i += s.len();
                    }
                    cur.toks.push(Tok { text: tok, quoted: false });
                }
            }
        }
        if !cur.toks.is_empty() {
            lines.push(cur);
        }
    }
    (lines, None)
}

/// The state between entries.
struct Parser {
    origin: Vec<u8>,
    default_ttl: Option<u32>,
    last_ttl: Option<u32>,
    last_owner: Option<Vec<u8>>,
    out: Vec<RefRecord>,
    max_records: u64,
}

impl Parser {
    /// One entry: a directive or a record.
    fn entry(&mut self, l: &Line) -> Result<(), String> {
        let first = &l.toks[0];
        if l.blank_owner || first.quoted || !first.text.starts_with(b"$") {
            return self.record(l);
        }
        let args = &l.toks[1..];
        let word = first.text.to_ascii_uppercase();
        match word.as_slice() {
            b"$ORIGIN" if args.len() == 1 => self.origin = name(&args[0].text, &self.origin)?,
            b"$TTL" if args.len() == 1 => self.default_ttl = Some(ttl(&args[0].text).ok_or("bad $TTL")?),
            b"$GENERATE" => self.generate(l)?,
            _ => return Err("bad or unknown directive".into()),
        }
        Ok(())
    }

    /// `$GENERATE`: each expanded line is read as a record entry at the
    /// directive's line.
    fn generate(&mut self, l: &Line) -> Result<(), String> {
        let texts: Vec<&[u8]> = l.toks.iter().map(|t| t.text.as_slice()).collect();
        let g = Generate::new(&texts)?;
        if g.count() > self.max_records.saturating_sub(self.out.len() as u64) {
            return Err("$GENERATE range over the record budget".into());
        }
        g.expand(&mut |text| {
            // Every entry of the expanded text (a quoted template may
            // hold a newline), all at the directive's line and none
            // without an owner.
            let (lines, e) = split_entries(text);
            for mut g in lines {
                g.number = l.number;
                g.blank_owner = false;
                self.record(&g)?;
            }
            e.map_or(Ok(()), |e| Err(e.message))
        })
    }

    /// One record.
    fn record(&mut self, l: &Line) -> Result<(), String> {
        let mut toks = l.toks.iter();
        if !l.blank_owner {
            let owner = toks.next().ok_or("no owner")?;
            self.last_owner = Some(name(&owner.text, &self.origin)?);
        }
        let owner = self.last_owner.clone().ok_or("no owner name")?;
        let (mut ttl_field, mut class) = (None, None);
        let rt = loop {
            let tok = toks.next().ok_or("missing type")?;
            if tok.quoted {
                return Err("quoted type".into());
            }
            if ttl_field.is_none() && tok.text[0].is_ascii_digit() {
                ttl_field = Some(ttl(&tok.text).ok_or("bad TTL")?);
            } else if class.is_none() && rtype::class_from_text(&tok.text).is_some() {
                class = rtype::class_from_text(&tok.text);
            } else {
                break rtype::type_from_text(&tok.text).ok_or("unknown type")?;
            }
        };
        if class.unwrap_or(c::IN) != c::IN {
            return Err("class is not IN".into());
        }
        if rtype::is_meta(rt) {
            return Err("meta type in a zone".into());
        }
        let rest: Vec<Tok> = toks.cloned().collect();
        let rdata = rdata(rt, &rest, &self.origin)?;
        let ttl = match (ttl_field, self.default_ttl, self.last_ttl) {
            (Some(v), _, _) => {
                self.last_ttl = Some(v);
                v
            }
            (None, Some(d), _) => d,
            (None, None, Some(l)) => l,
            (None, None, None) if rt == t::SOA => {
                let minimum = rdata.len().checked_sub(4).and_then(|at| rdata.get(at..)).ok_or("SOA too short")?;
                let m = u32::from_be_bytes(minimum.try_into().map_err(|_| "SOA too short")?);
                self.last_ttl = Some(m);
                m
            }
            (None, None, None) => return Err("no TTL".into()),
        };
        if self.out.len() as u64 >= self.max_records {
            return Err("over the record budget".into());
        }
        self.out.push(RefRecord { owner, rtype: rt, class: c::IN, ttl, rdata, line: l.number });
        Ok(())
    }
}

/// Decodes the escapes of a field: `\DDD` (three digits, at most 255)
/// and `\X`.
fn unescape(s: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        if s[i] != b'\\' {
            out.push(s[i]);
            i += 1;
            continue;
        }
        match s.get(i + 1) {
            None => return Err("escape at the end".into()),
            Some(d) if d.is_ascii_digit() => {
                let digits = s.get(i + 1..i + 4).filter(|d| d.iter().all(u8::is_ascii_digit)).ok_or("bad \\DDD")?;
                let v = number(digits, 255).ok_or("\\DDD above 255")?;
                out.push(v as u8);
                i += 4;
            }
            Some(&x) => {
                out.push(x);
                i += 2;
            }
        }
    }
    Ok(out)
}

/// A domain name in wire form: `@` is the origin, a name not ending in
/// an unescaped dot is relative to it.
fn name(s: &[u8], origin: &[u8]) -> Result<Vec<u8>, String> {
    if s == b"@" {
        return Ok(origin.to_vec());
    }
    if s == b"." {
        return Ok(vec![0]);
    }
    // Cut at unescaped dots, then decode each label.
    let mut labels: Vec<&[u8]> = Vec::new();
    let (mut start, mut i) = (0, 0);
    while i < s.len() {
        match s[i] {
            b'\\' => i += 2,
            b'.' => {
                labels.push(&s[start..i]);
                i += 1;
                start = i;
            }
            _ => i += 1,
        }
    }
    let absolute = start == s.len() && !labels.is_empty();
    if !absolute {
        labels.push(&s[start..]);
    }
    let mut wire = Vec::new();
    for raw in labels {
        let label = unescape(raw)?;
        if label.is_empty() || label.len() > 63 {
            return Err("empty label or label over 63 octets".into());
        }
        wire.push(label.len() as u8);
        wire.extend_from_slice(&label);
    }
    if absolute {
        wire.push(0);
    } else {
        wire.extend_from_slice(origin);
    }
    if wire.len() > 255 {
        return Err("name over 255 octets".into());
    }
    Ok(wire)
}

/// A decimal number of digits only, at most `max`.
fn number(s: &[u8], max: u64) -> Option<u64> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: u64 = 0;
    for d in s {
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    (v <= max).then_some(v)
}

/// A TTL: seconds, or numbers each followed by a unit (s, m, h, d, w in
/// either case) with a last bare number allowed (`1h30m`, `2d3`).
fn ttl(s: &[u8]) -> Option<u32> {
    if let Some(v) = number(s, u32::MAX.into()) {
        return Some(v as u32);
    }
    if !s.first()?.is_ascii_digit() {
        return None;
    }
    let mut total: u64 = 0;
    let mut digits_from = 0;
    for (i, &b) in s.iter().enumerate() {
        if b.is_ascii_digit() {
            continue;
        }
        let n = number(&s[digits_from..i], u32::MAX.into())?;
        let unit = match b.to_ascii_lowercase() {
            b's' => 1,
            b'm' => 60,
            b'h' => 3600,
            b'd' => 86400,
            b'w' => 604800,
            _ => return None,
        };
        total = total.checked_add(n * unit)?;
        digits_from = i + 1;
    }
    if digits_from < s.len() {
        total = total.checked_add(number(&s[digits_from..], u32::MAX.into())?)?;
    }
    u32::try_from(total).ok()
}

/// One character-string with its length octet.
fn charstr(s: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
    let v = unescape(s)?;
    let len = u8::try_from(v.len()).map_err(|_| "character-string over 255 octets")?;
    out.push(len);
    out.extend_from_slice(&v);
    Ok(())
}

/// The RDATA of one record of type `rt` from its tokens.
fn rdata(rt: u16, toks: &[Tok], origin: &[u8]) -> Result<Vec<u8>, String> {
    if toks.first().is_some_and(|t| !t.quoted && t.text == b"\\#") {
        return generic(rt, &toks[1..]);
    }
    let texts: Vec<&[u8]> = toks.iter().map(|t| t.text.as_slice()).collect();
    let u16_of = |s: &[u8]| number(s, 65535).map(|v| (v as u16).to_be_bytes()).ok_or("bad 16-bit number");
    let mut out = Vec::new();
    match (rt, texts.as_slice()) {
        (t::A, [a]) => {
            let s = std::str::from_utf8(a).map_err(|_| "bad IPv4 address")?;
            out.extend_from_slice(&s.parse::<Ipv4Addr>().map_err(|_| "bad IPv4 address")?.octets());
        }
        (t::AAAA, [a]) => {
            let s = std::str::from_utf8(a).map_err(|_| "bad IPv6 address")?;
            out.extend_from_slice(&s.parse::<Ipv6Addr>().map_err(|_| "bad IPv6 address")?.octets());
        }
        (t::NS | t::CNAME | t::DNAME | t::PTR | t::MB | t::MD | t::MF | t::MG | t::MR, [n]) => {
            out = name(n, origin)?;
        }
        (t::MX | t::AFSDB | t::RT | t::KX, [pref, n]) => {
            out.extend_from_slice(&u16_of(pref)?);
            out.extend_from_slice(&name(n, origin)?);
        }
        (t::SOA, [mname, rname, serial, times @ ..]) if times.len() == 4 => {
            out = name(mname, origin)?;
            out.extend_from_slice(&name(rname, origin)?);
            let serial = number(serial, u32::MAX.into()).ok_or("bad serial")? as u32;
            out.extend_from_slice(&serial.to_be_bytes());
            for time in times {
                out.extend_from_slice(&ttl(time).ok_or("bad SOA time")?.to_be_bytes());
            }
        }
        (t::TXT | t::SPF | t::NINFO | t::RESINFO | t::WALLET | t::AVC, [_, ..]) => {
            for s in &texts {
                charstr(s, &mut out)?;
            }
        }
        (t::A | t::AAAA | t::NS | t::CNAME | t::DNAME | t::PTR | t::MB | t::MD | t::MF | t::MG | t::MR, _)
        | (t::MX | t::AFSDB | t::RT | t::KX | t::SOA | t::TXT | t::SPF, _)
        | (t::NINFO | t::RESINFO | t::WALLET | t::AVC, _) => return Err("wrong number of RDATA fields".into()),
        _ => out = shared_rdata(rt, toks, origin)?,
    }
    if out.len() > 65535 {
        return Err("RDATA over 65535 octets".into());
    }
    Ok(out)
}

/// `\# LEN HEX...` (RFC 3597): the hex may be cut by white space; known
/// types' RDATA must be well formed.
fn generic(rt: u16, toks: &[Tok]) -> Result<Vec<u8>, String> {
    let (len, hex) = toks.split_first().ok_or("missing generic length")?;
    let len = number(&len.text, 65535).ok_or("bad generic length")? as usize;
    let digits: Vec<u8> = hex.iter().flat_map(|t| t.text.iter().copied()).collect();
    if digits.len() % 2 != 0 {
        return Err("odd number of hex digits".into());
    }
    let mut out = Vec::new();
    for pair in digits.chunks(2) {
        let s = std::str::from_utf8(pair).map_err(|_| "bad hex")?;
        if !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err("bad hex".into());
        }
        out.push(u8::from_str_radix(s, 16).map_err(|_| "bad hex")?);
    }
    if out.len() != len {
        return Err("generic length does not match the data".into());
    }
    crate::zonefile::wirecheck::check_record(rt, &out)?;
    Ok(out)
}

/// The fast path's reader of the other types (see the module docs), on
/// this parser's tokens.
fn shared_rdata(rt: u16, toks: &[Tok], origin: &[u8]) -> Result<Vec<u8>, String> {
    let mut buf = Vec::new();
    let mut spans = Vec::new();
    for tok in toks {
        let start = buf.len() as u32;
        buf.extend_from_slice(&tok.text);
        spans.push(Token { start, end: buf.len() as u32, quoted: tok.quoted });
    }
    let mut f = Fields::new(&buf, &spans, origin);
    let (mut out, mut scratch) = (Vec::new(), Vec::new());
    crate::zonefile::rdata_parse::parse_rdata(rt, &mut f, &mut out, &mut scratch)?;
    Ok(out)
}

/// What one parse made, as the two parsers are compared: the records
/// before the first error, and that error's line.
#[derive(Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Records in the order the sink got them.
    pub records: Vec<RefRecord>,
    /// The line of the first error, if any.
    pub error_line: Option<u32>,
}

/// This parser's [`Outcome`] on `text`, within the record budget of `opts`.
pub fn reference_outcome(text: &[u8], origin: &[u8], opts: &LoadOptions) -> Outcome {
    let (records, error) = parse(text, origin, opts.max_records);
    Outcome { records, error_line: error.map(|e| e.line) }
}

/// The fast path's [`Outcome`] on `text` under `opts` (one thread, or
/// several: [`LoadOptions::threads`]). The fast path goes on after an
/// error; the records before the first error are those of its lines or
/// earlier ones (lines only grow in one text, and an error stops the
/// entry, or the `$GENERATE`, it is on).
pub fn fast_outcome(text: &[u8], origin: &[u8], opts: &LoadOptions) -> Outcome {
    let mut records = Vec::new();
    let mut diags = Vec::new();
    super::parse_with(
        Source::Memory { name: "reference.zone", data: text },
        origin,
        opts,
        &mut |r: &Record<'_>| {
            records.push(RefRecord {
                owner: r.owner.to_vec(),
                rtype: r.rtype,
                class: r.class,
                ttl: r.ttl,
                rdata: r.rdata.to_vec(),
                line: r.line,
            });
            Ok(())
        },
        &mut diags,
    );
    let error_line = diags.iter().find(|d| !d.warning).map(|d| d.line);
    if let Some(l) = error_line {
        records.retain(|r| r.line <= l);
    }
    Outcome { records, error_line }
}

/// Compares the fast path under `opts` with this parser on `text`: the
/// same records up to the first error, and the first error on the same
/// line. The error says where they part.
pub fn compare(text: &[u8], origin: &[u8], opts: &LoadOptions) -> Result<(), String> {
    let fast = fast_outcome(text, origin, opts);
    let slow = reference_outcome(text, origin, opts);
    if fast == slow {
        return Ok(());
    }
    if fast.error_line != slow.error_line {
        return Err(format!("first error: fast path line {:?}, reference line {:?}", fast.error_line, slow.error_line));
    }
    let at = fast.records.iter().zip(&slow.records).position(|(a, b)| a != b);
    match at {
        Some(i) => Err(format!("record {i}: fast path {:?}, reference {:?}", fast.records[i], slow.records[i])),
        None => Err(format!("fast path {} records, reference {}", fast.records.len(), slow.records.len())),
    }
}

#[cfg(test)]
mod tests;
