//! BIND's `$GENERATE` directive: one template expanded into a range of
//! records (`$GENERATE start-stop[/step] lhs [ttl] [class] type rhs...`).
//!
//! This module reads the range and expands the templates into the text of
//! each record; the parser checks the range against the zone's remaining
//! record budget before the first record is made ([`Generate::count`]) and
//! reads each expanded line as an ordinary entry. The
//! `${offset,width,base}` modifiers are bounded (no overflow, width at
//! most [`MAX_GENERATE_WIDTH`]).

use super::fields::parse_number;

/// The widest `${offset,width,base}` field of a `$GENERATE` template.
pub(crate) const MAX_GENERATE_WIDTH: usize = 255;

/// One `$GENERATE` line: its range and templates.
pub(super) struct Generate<'a> {
    start: u64,
    stop: u64,
    step: u64,
    /// The owner template (`lhs`) and the rest of the record's templates.
    templates: &'a [&'a [u8]],
}

impl<'a> Generate<'a> {
    /// Reads the directive's tokens (`$GENERATE` first): the range and
    /// the templates.
    pub(super) fn new(toks: &'a [&'a [u8]]) -> Result<Self, String> {
        if toks.len() < 4 {
            return Err("needs a range, an owner template, a type and RDATA".into());
        }
        let range = toks[1];
        let (span, step) = match range.iter().position(|&b| b == b'/') {
            Some(p) => (&range[..p], parse_number(&range[p + 1..], u32::MAX as u64).ok_or("bad step")?),
            None => (range, 1),
        };
        let dash = span.iter().position(|&b| b == b'-').ok_or("range must be START-STOP")?;
        let start = parse_number(&span[..dash], u32::MAX as u64).ok_or("bad range start")?;
        let stop = parse_number(&span[dash + 1..], u32::MAX as u64).ok_or("bad range stop")?;
        if start > stop || step == 0 {
            return Err("range must have START <= STOP and a positive step".into());
        }
        Ok(Generate { start, stop, step, templates: &toks[2..] })
    }

    /// The number of records the range makes.
    pub(super) fn count(&self) -> u64 {
        (self.stop - self.start) / self.step + 1
    }

    /// Hands the text of each record (the templates expanded, separated
    /// by spaces, ending in a newline) to `emit`, in order; the first
    /// error stops it.
    pub(super) fn expand(&self, emit: &mut dyn FnMut(&[u8]) -> Result<(), String>) -> Result<(), String> {
        let mut i = self.start;
        let mut line = Vec::with_capacity(256);
        while i <= self.stop {
            line.clear();
            substitute(self.templates[0], i, &mut line)?;
            // Like BIND, the expanded text is read again as plain tokens: the
            // quotes of a quoted template do not survive.
            for tk in &self.templates[1..] {
                line.push(b' ');
                substitute(tk, i, &mut line)?;
            }
            line.push(b'\n');
            emit(&line)?;
            i += self.step;
        }
        Ok(())
    }
}

/// Expands `$`, `${offset,width,base}` and `\$` in a `$GENERATE` template.
fn substitute(tpl: &[u8], i: u64, out: &mut Vec<u8>) -> Result<(), String> {
    let mut p = 0;
    while p < tpl.len() {
        match tpl[p] {
            b'\\' if tpl.get(p + 1) == Some(&b'$') => {
                out.push(b'$');
                p += 2;
            }
            b'\\' => {
                out.push(b'\\');
                if let Some(&n) = tpl.get(p + 1) {
                    out.push(n);
                }
                p += 2;
            }
            b'$' if tpl.get(p + 1) == Some(&b'{') => {
                let end = tpl[p..].iter().position(|&b| b == b'}').ok_or("unterminated ${")? + p;
                let inner = std::str::from_utf8(&tpl[p + 2..end]).map_err(|_| "bad ${...}")?;
                let mut parts = inner.split(',');
                let offset: i64 = parts.next().unwrap_or("0").trim().parse().map_err(|_| "bad offset in ${...}")?;
                let width: usize = match parts.next() {
                    Some(w) => w.trim().parse().map_err(|_| "bad width in ${...}")?,
                    None => 0,
                };
                if width > MAX_GENERATE_WIDTH {
                    return Err(format!("width {width} in ${{...}} is above {MAX_GENERATE_WIDTH}"));
                }
                let base = parts.next().unwrap_or("d").trim();
                if parts.next().is_some() {
                    return Err("too many fields in ${...}".into());
                }
                let v =
                    i64::try_from(i).ok().and_then(|i| i.checked_add(offset)).ok_or("value out of range in ${...}")?;
                if v < 0 {
                    return Err("negative value in $GENERATE".into());
                }
                let s = match base {
                    "d" => format!("{v:0width$}"),
                    "o" => format!("{v:0width$o}"),
                    "x" => format!("{v:0width$x}"),
                    "X" => format!("{v:0width$X}"),
                    "n" | "N" => {
                        let hex = if base == "n" { format!("{v:0width$x}") } else { format!("{v:0width$X}") };
                        hex.chars().rev().map(|c| c.to_string()).collect::<Vec<_>>().join(".")
                    }
                    _ => return Err(format!("bad base '{base}' in ${{...}}")),
                };
                out.extend_from_slice(s.as_bytes());
                p = end + 1;
            }
            b'$' => {
                out.extend_from_slice(i.to_string().as_bytes());
                p += 1;
            }
            b => {
                out.push(b);
                p += 1;
            }
        }
    }
    Ok(())
}
