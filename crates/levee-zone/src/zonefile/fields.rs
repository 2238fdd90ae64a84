//! Reading the fields of one entry: numbers, names, character-strings,
//! TTLs with units, and the concatenated tail used by Base64 and hex data.

use levee_wire::name::{self, NameBuf};

use crate::zonefile::lexer::Token;

/// A cursor over the tokens of one entry.
pub(crate) struct Fields<'a> {
    input: &'a [u8],
    toks: &'a [Token],
    i: usize,
    origin: &'a [u8],
}

/// Field errors are plain messages; the parser adds file and line.
pub(crate) type FResult<T> = Result<T, String>;

impl<'a> Fields<'a> {
    /// A cursor over `toks` (spans of `input`), resolving relative names
    /// against `origin`.
    pub(crate) fn new(input: &'a [u8], toks: &'a [Token], origin: &'a [u8]) -> Self {
        Fields { input, toks, i: 0, origin }
    }

    /// The origin in effect.
    pub(crate) fn origin(&self) -> &'a [u8] {
        self.origin
    }

    /// True if all tokens were used.
    pub(crate) fn done(&self) -> bool {
        self.i >= self.toks.len()
    }

    /// The next token's text and whether it was quoted.
    pub(crate) fn next_tok(&mut self) -> FResult<(&'a [u8], bool)> {
        let t = self.toks.get(self.i).ok_or_else(|| "missing RDATA field".to_string())?;
        self.i += 1;
        Ok((&self.input[t.start as usize..t.end as usize], t.quoted))
    }

    /// The next token's raw text.
    #[allow(clippy::should_implement_trait)] // a fallible cursor, not an iterator
    pub(crate) fn next(&mut self) -> FResult<&'a [u8]> {
        self.next_tok().map(|t| t.0)
    }

    /// Looks at the next token without consuming it.
    pub(crate) fn peek(&self) -> Option<(&'a [u8], bool)> {
        self.toks.get(self.i).map(|t| (&self.input[t.start as usize..t.end as usize], t.quoted))
    }

    /// Fails if tokens are left.
    pub(crate) fn expect_end(&self) -> FResult<()> {
        match self.peek() {
            None => Ok(()),
            Some((t, _)) => Err(format!("unexpected extra RDATA field '{}'", String::from_utf8_lossy(t))),
        }
    }

    /// A domain name (relative to the origin unless it ends in a dot).
    pub(crate) fn name(&mut self) -> FResult<NameBuf> {
        let t = self.next()?;
        parse_name(t, self.origin)
    }

    /// A domain name, appended to `out` in wire form.
    pub(crate) fn name_to(&mut self, out: &mut Vec<u8>) -> FResult<()> {
        let t = self.next()?;
        let mut n = NameBuf::root();
        parse_name_into(t, self.origin, &mut n)?;
        out.extend_from_slice(&n);
        Ok(())
    }

    /// An unsigned decimal number that must fit `max`.
    pub(crate) fn number(&mut self, what: &str, max: u64) -> FResult<u64> {
        let t = self.next()?;
        parse_number(t, max).ok_or_else(|| format!("bad {what} '{}' (0..={max})", String::from_utf8_lossy(t)))
    }

    /// An 8-bit number.
    pub(crate) fn u8(&mut self, what: &str) -> FResult<u8> {
        self.number(what, u8::MAX as u64).map(|v| v as u8)
    }

    /// A 16-bit number.
    pub(crate) fn u16(&mut self, what: &str) -> FResult<u16> {
        self.number(what, u16::MAX as u64).map(|v| v as u16)
    }

    /// A 32-bit number.
    pub(crate) fn u32(&mut self, what: &str) -> FResult<u32> {
        self.number(what, u32::MAX as u64).map(|v| v as u32)
    }

    /// A TTL-like duration: seconds, or BIND units (`1h30m`, `2w`).
    pub(crate) fn duration(&mut self, what: &str) -> FResult<u32> {
        let t = self.next()?;
        parse_ttl(t).ok_or_else(|| format!("bad {what} '{}'", String::from_utf8_lossy(t)))
    }

    /// One character-string, appended with its length octet.
    pub(crate) fn charstr(&mut self, out: &mut Vec<u8>) -> FResult<()> {
        let t = self.next()?;
        push_charstr(t, out)
    }

    /// The remaining tokens concatenated (Base64 and hex may be split by
    /// white space). Errors if none is left and `required`.
    pub(crate) fn rest_concat(&mut self, buf: &mut Vec<u8>, required: bool) -> FResult<()> {
        buf.clear();
        if self.done() && required {
            return Err("missing RDATA field".into());
        }
        while let Ok(t) = self.next() {
            buf.extend_from_slice(t);
        }
        Ok(())
    }
}

/// Parses a domain name relative to `origin`.
pub(crate) fn parse_name(t: &[u8], origin: &[u8]) -> FResult<NameBuf> {
    let mut n = NameBuf::root();
    parse_name_into(t, origin, &mut n)?;
    Ok(n)
}

/// [`parse_name`] into `out` (no copy of the name buffer; `out` is
/// unspecified after an error).
pub(crate) fn parse_name_into(t: &[u8], origin: &[u8], out: &mut NameBuf) -> FResult<()> {
    name::text_into(t, Some(origin), out).map_err(|e| format!("bad domain name '{}': {e}", String::from_utf8_lossy(t)))
}

/// An unsigned decimal number up to `max`.
pub(crate) fn parse_number(t: &[u8], max: u64) -> Option<u64> {
    // No bound on the length: leading zeros are digits too, and the
    // checked arithmetic stops a value too large.
    if t.is_empty() {
        return None;
    }
    let mut v: u64 = 0;
    for &b in t {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((b - b'0') as u64)?;
    }
    (v <= max).then_some(v)
}

/// A TTL: plain seconds or units (s, m, h, d, w), case-insensitive.
pub(crate) fn parse_ttl(t: &[u8]) -> Option<u32> {
    if t.is_empty() || !t[0].is_ascii_digit() {
        return None;
    }
    if t.iter().all(u8::is_ascii_digit) {
        return parse_number(t, u32::MAX as u64).map(|v| v as u32);
    }
    let mut total: u64 = 0;
    let mut cur: u64 = 0;
    let mut have = false;
    for &b in t {
        if b.is_ascii_digit() {
            cur = cur * 10 + (b - b'0') as u64;
            if cur > u32::MAX as u64 {
                return None;
            }
            have = true;
        } else {
            if !have {
                return None;
            }
            let mult = match b.to_ascii_lowercase() {
                b's' => 1,
                b'm' => 60,
                b'h' => 3600,
                b'd' => 86400,
                b'w' => 604800,
                _ => return None,
            };
            total = total.checked_add(cur * mult)?;
            cur = 0;
            have = false;
        }
    }
    total += cur;
    u32::try_from(total).ok()
}

/// Decodes escapes of a character-string and appends it with its length.
pub(crate) fn push_charstr(t: &[u8], out: &mut Vec<u8>) -> FResult<()> {
    let at = out.len();
    out.push(0);
    decode_text(t, out)?;
    let len = out.len() - at - 1;
    if len > 255 {
        return Err("character-string longer than 255 octets".into());
    }
    out[at] = len as u8;
    Ok(())
}

/// Decodes `\X` and `\DDD` escapes of a text field and appends the octets.
pub(crate) fn decode_text(t: &[u8], out: &mut Vec<u8>) -> FResult<()> {
    let mut i = 0;
    while i < t.len() {
        if t[i] == b'\\' {
            let (b, used) = name::unescape(&t[i..]).map_err(|_| "bad escape in text".to_string())?;
            out.push(b);
            i += used;
        } else {
            out.push(t[i]);
            i += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls() {
        assert_eq!(parse_ttl(b"3600"), Some(3600));
        assert_eq!(parse_ttl(b"1h30m"), Some(5400));
        assert_eq!(parse_ttl(b"1W"), Some(604800));
        assert_eq!(parse_ttl(b"2d3"), Some(172803));
        assert_eq!(parse_ttl(b"h"), None);
        assert_eq!(parse_ttl(b"1x"), None);
        assert_eq!(parse_ttl(b"4294967296"), None);
    }

    #[test]
    fn charstrs() {
        let mut v = vec![];
        push_charstr(b"a\\032b\\\"", &mut v).unwrap();
        assert_eq!(v, b"\x04a b\"");
        assert!(push_charstr(&[b'x'; 256], &mut Vec::new()).is_err());
    }
}
