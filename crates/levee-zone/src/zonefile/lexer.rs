//! Splitting a zone file into entries and tokens (RFC 1035 §5.1).
//!
//! An *entry* is one logical line: a record or a directive, possibly
//! continued over several physical lines inside parentheses. A *token* is
//! a span of the input: either a run of characters without white space
//! (escapes like `\.` or `\032` are kept raw and decoded by whoever reads
//! the field), or the inside of a double-quoted string. Comments run from
//! `;` to the end of the line. The lexer does no allocation per token: it
//! fills a reusable vector of spans.
//!
//! Two paths read an entry, and a test holds them to the same entries,
//! lines and positions (`simple_lines_lex_as_the_general_path_lexes_them`;
//! the fuzz target and the property tests hold the whole parse to the
//! reference parser, `reference.rs`):
//!
//! * most lines of a large zone are *simple*: tokens separated by spaces,
//!   tabs or carriage returns, ended by a newline, with no parenthesis,
//!   quote, comment, escape or control octet. `simple_entry` reads them
//!   eight octets at a time: one word of text gives, in a few integer
//!   operations, the exact set of its octets that may end a token
//!   (`boundaries`); the tokens are the runs between them, found with
//!   `trailing_zeros`. The first flag that is not white space or the
//!   newline gives up, before anything is consumed;
//! * `general_entry` reads everything else octet by octet (still skipping
//!   plain runs inside a token eight at a time, `plain_run`).
//!
//! There is no `std::arch` SIMD here: intrinsics need `unsafe`, which the
//! project keeps to `levee-io`; the word-at-a-time masks are safe code.

/// One token: a span of the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Token {
    /// Start offset in the input.
    pub start: u32,
    /// End offset (exclusive).
    pub end: u32,
    /// True if the token was a quoted string.
    pub quoted: bool,
}

/// One entry: its tokens, where it starts, and whether the line began with
/// white space (meaning: the owner is the previous record's).
#[derive(Default, Debug)]
pub(crate) struct Entry {
    /// Tokens of the entry.
    pub tokens: Vec<Token>,
    /// Line where the entry starts (1-based).
    pub line: u32,
    /// True if the entry's first physical line starts with a blank.
    pub blank_owner: bool,
}

/// The octets that end a token (white space, `;`, parentheses, `"`) or
/// start an escape (`\\`) in it.
const SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    let s = b" \t\r\n;()\"\\";
    while i < s.len() {
        t[s[i] as usize] = true;
        i += 1;
    }
    t
};

/// Octets from `i` on that are surely plain (not [`SPECIAL`]), found
/// eight at a time: the run stops at the first word with an octet below
/// 0x23 (white space, `"`, and a few that are plain) or equal to `(`,
/// `)`, `;` or `\\`, at that octet; the caller's look-up decides there.
#[inline]
fn plain_run(inp: &[u8], i: usize) -> usize {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let mut p = i;
    while let Some(w) = inp.get(p..p + 8) {
        let mut b = [0u8; 8];
        b.copy_from_slice(w);
        let x = u64::from_le_bytes(b);
        // Per octet: below 0x23; 0x28 or 0x29; 0x3B; 0x5C. The lowest
        // octet flagged by each test is exact (a borrow only flags octets
        // above a true one), so the lowest of them all is too.
        let below = x.wrapping_sub(LO * 0x23) & !x & HI;
        let p28 = x ^ (LO * 0x28);
        let paren = p28.wrapping_sub(LO * 2) & !p28 & HI;
        let semi = (x ^ (LO * 0x3B)).wrapping_sub(LO) & !(x ^ (LO * 0x3B)) & HI;
        let back = (x ^ (LO * 0x5C)).wrapping_sub(LO) & !(x ^ (LO * 0x5C)) & HI;
        let m = below | paren | semi | back;
        if m != 0 {
            return p - i + (m.trailing_zeros() / 8) as usize;
        }
        p += 8;
    }
    p - i
}

/// The octets of `x` (eight octets of text, little-endian) that may end
/// a token of a simple line: below `#` (white space, newlines, control
/// octets, `!` and `"`), `(`, `)`, `;` and `\\`, as the top bit of each.
/// Exact: no octet's test borrows from another's, so every flag is true.
#[inline(always)]
fn boundaries(x: u64) -> u64 {
    const LO: u64 = 0x0101_0101_0101_0101;
    const M: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    // Zero octets of `y`, exactly.
    let zero = |y: u64| ((y & M).wrapping_add(M)) | y;
    // Below 0x23: 0x23 and more reach the top bit when 0x5D is added to
    // the low seven bits; octets with the top bit set are not below.
    let not_below = ((x & M).wrapping_add(LO * 0x5D)) | x;
    // `(` and `)` differ in the lowest bit only.
    let paren = zero((x ^ (LO * b'(' as u64)) & !LO);
    let semi = zero(x ^ (LO * b';' as u64));
    let back = zero(x ^ (LO * b'\\' as u64));
    !(not_below & paren & semi & back) & !M
}

/// The lexer over one input buffer.
pub(crate) struct Lexer<'a> {
    input: &'a [u8],
    pos: usize,
    line: u32,
    /// The last octet read ended an entry: a newline outside parentheses
    /// (or nothing was read yet).
    clean: bool,
}

impl<'a> Lexer<'a> {
    /// A lexer over a whole file.
    pub(crate) fn new(input: &'a [u8]) -> Self {
        Lexer { input, pos: 0, line: 1, clean: true }
    }

    /// A lexer over a part of a file that starts at `line`, on an entry
    /// boundary.
    pub(crate) fn at_line(input: &'a [u8], line: u32) -> Self {
        Lexer { input, pos: 0, line, clean: true }
    }

    /// Current line.
    pub(crate) fn line(&self) -> u32 {
        self.line
    }

    /// Bytes consumed so far.
    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    /// True when the octets consumed so far end on an entry boundary: the
    /// last one was a newline outside parentheses, quotes and escapes.
    /// An entry that ends at the end of the input without one may go on
    /// in the text after it.
    pub(crate) fn clean_end(&self) -> bool {
        self.clean
    }

    /// Moves past a line another reader took (`fast.rs`): the next
    /// entry starts at `pos`, just after that line's newline.
    pub(crate) fn skip_line(&mut self, pos: usize) {
        self.pos = pos;
        self.line = self.line.saturating_add(1);
        self.clean = true;
    }

    /// Reads the next non-empty entry into `e`. Returns `Ok(false)` at the
    /// end of input. Errors carry the line they happened on.
    pub(crate) fn next_entry(&mut self, e: &mut Entry) -> Result<bool, (u32, &'static str)> {
        if self.simple_entry(e) {
            return Ok(true);
        }
        self.general_entry(e)
    }

    /// The entry at the current position if it is a *simple line*: tokens
    /// separated by spaces, tabs and carriage returns, ended by a newline,
    /// with nothing else below `#` and no `(`, `)`, `;` or `\\` (most
    /// lines of a large zone). The line is classified eight octets at a
    /// time: every octet that may end a token is flagged (exactly), and
    /// tokens are the runs between flags; a flag on anything but white
    /// space or the newline sends the line to the general path. Anything else leaves the
    /// position alone and returns false, for [`Lexer::general_entry`].
    #[inline]
    fn simple_entry(&mut self, e: &mut Entry) -> bool {
        let inp = self.input;
        let first = self.pos;
        e.tokens.clear();
        let mut start = first;
        let mut p = first;
        while let Some(w) = inp.get(p..p + 8) {
            let mut b = [0u8; 8];
            b.copy_from_slice(w);
            let mut m = boundaries(u64::from_le_bytes(b));
            while m != 0 {
                let q = p + (m.trailing_zeros() / 8) as usize;
                m &= m - 1;
                let c = inp[q];
                if c == b'\n' {
                    if q > start {
                        e.tokens.push(Token { start: start as u32, end: q as u32, quoted: false });
                    }
                    if e.tokens.is_empty() {
                        return false;
                    }
                    e.line = self.line;
                    e.blank_owner = matches!(inp[first], b' ' | b'\t');
                    self.line = self.line.saturating_add(1);
                    self.pos = q + 1;
                    self.clean = true;
                    return true;
                }
                if c != b' ' && c != b'\t' && c != b'\r' {
                    e.tokens.clear();
                    return false;
                }
                if q > start {
                    e.tokens.push(Token { start: start as u32, end: q as u32, quoted: false });
                }
                start = q + 1;
            }
            p += 8;
        }
        e.tokens.clear();
        false
    }

    /// A quoted string at `self.pos` (its opening quote): one token
    /// without the quotes; the newlines inside (escaped or not) are lines.
    fn quoted(&mut self, e: &mut Entry) -> Result<(), (u32, &'static str)> {
        let inp = self.input;
        let start = self.pos + 1;
        let start_line = self.line;
        let mut p = start;
        loop {
            match inp.get(p) {
                None => {
                    // Nothing after an unterminated quote can be trusted.
                    self.pos = inp.len();
                    return Err((start_line, "unterminated quoted string"));
                }
                Some(b'"') => break,
                Some(b'\\') => {
                    // An escaped newline is a line too.
                    if inp.get(p + 1) == Some(&b'\n') {
                        self.line = self.line.saturating_add(1);
                    }
                    p += 2
                }
                Some(b'\n') => {
                    self.line = self.line.saturating_add(1);
                    p += 1;
                }
                Some(_) => p += 1,
            }
        }
        if p > inp.len() {
            self.pos = inp.len();
            return Err((start_line, "unterminated quoted string"));
        }
        e.tokens.push(Token { start: start as u32, end: p as u32, quoted: true });
        self.pos = p + 1;
        Ok(())
    }

    /// [`Lexer::next_entry`] octet by octet: parentheses, quotes, escapes,
    /// comments, empty lines, the end of the input.
    fn general_entry(&mut self, e: &mut Entry) -> Result<bool, (u32, &'static str)> {
        let inp = self.input;
        loop {
            e.tokens.clear();
            if self.pos >= inp.len() {
                return Ok(false);
            }
            e.line = self.line;
            e.blank_owner = matches!(inp[self.pos], b' ' | b'\t');
            let mut depth = 0u32;
            let mut paren_line = 0;
            self.clean = false;
            loop {
                let Some(&c) = inp.get(self.pos) else {
                    if depth > 0 {
                        return Err((paren_line, "unbalanced parentheses: '(' never closed"));
                    }
                    break;
                };
                match c {
                    b' ' | b'\t' | b'\r' => self.pos += 1,
                    b'\n' => {
                        self.pos += 1;
                        self.line = self.line.saturating_add(1);
                        if depth == 0 {
                            self.clean = true;
                            break;
                        }
                    }
                    b';' => {
                        while self.pos < inp.len() && inp[self.pos] != b'\n' {
                            self.pos += 1;
                        }
                    }
                    b'(' => {
                        if depth == 0 {
                            paren_line = self.line;
                        }
                        depth += 1;
                        self.pos += 1;
                    }
                    b')' => {
                        if depth == 0 {
                            // The rest of the line goes with the error (it
                            // used to stay, and the same ')' was reported
                            // again and again until the error limit).
                            let line = self.line;
                            while self.pos < inp.len() && inp[self.pos] != b'\n' {
                                self.pos += 1;
                            }
                            if self.pos < inp.len() {
                                self.pos += 1;
                                self.line = self.line.saturating_add(1);
                                self.clean = true;
                            }
                            return Err((line, "unbalanced parentheses: ')' without '('"));
                        }
                        depth -= 1;
                        self.pos += 1;
                    }
                    b'"' => self.quoted(e)?,
                    _ => {
                        let start = self.pos;
                        let mut p = start;
                        while let Some(&b) = inp.get(p) {
                            // Most octets are plain: skipped eight at a
                            // time up to the first that may not be.
                            if !SPECIAL[b as usize] {
                                p += 1 + plain_run(inp, p + 1);
                                continue;
                            }
                            if b != b'\\' {
                                break;
                            }
                            // An escaped character is part of the token, even white
                            // space; the newlines an escape takes are lines.
                            let n = if inp.get(p + 1).is_some_and(u8::is_ascii_digit) { 4 } else { 2 };
                            let lines = inp[p + 1..(p + n).min(inp.len())].iter().filter(|&&b| b == b'\n').count();
                            self.line = self.line.saturating_add(lines as u32);
                            p += n;
                        }
                        let p = p.min(inp.len());
                        e.tokens.push(Token { start: start as u32, end: p as u32, quoted: false });
                        self.pos = p;
                    }
                }
            }
            if !e.tokens.is_empty() {
                return Ok(true);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Vec<String>> {
        let mut l = Lexer::new(s.as_bytes());
        let mut e = Entry::default();
        let mut out = vec![];
        while l.next_entry(&mut e).unwrap() {
            out.push(e.tokens.iter().map(|t| s[t.start as usize..t.end as usize].to_string()).collect());
        }
        out
    }

    #[test]
    fn entries_and_parens() {
        let z = "@ IN SOA ns hm ( 1 ; serial\n 2 3\n 4 5 )\nwww A 1.2.3.4 ; c\n\n  TXT \"a b\" \"\" x\\ y\n";
        let t = toks(z);
        assert_eq!(t.len(), 3);
        assert_eq!(t[0], ["@", "IN", "SOA", "ns", "hm", "1", "2", "3", "4", "5"]);
        assert_eq!(t[1], ["www", "A", "1.2.3.4"]);
        assert_eq!(t[2], ["TXT", "a b", "", "x\\ y"]);
    }

    #[test]
    fn errors_have_lines() {
        let mut l = Lexer::new(b"a A 1\nb ( A\n");
        let mut e = Entry::default();
        assert!(l.next_entry(&mut e).unwrap());
        assert_eq!(l.next_entry(&mut e), Err((2, "unbalanced parentheses: '(' never closed")));
        let mut l = Lexer::new(b"a TXT \"abc\n");
        assert!(l.next_entry(&mut e).is_err());
    }

    /// The word-at-a-time skip stops at or before every special octet.
    #[test]
    fn plain_runs_stop_at_special_octets() {
        for b in 0..=255u8 {
            for at in 0..12 {
                let mut v = vec![b'a'; 12];
                v[at] = b;
                let run = plain_run(&v, 0);
                if SPECIAL[b as usize] {
                    assert!(run <= at, "octet {b:#x} at {at}: run {run}");
                }
                // Eight at a time or up to the flagged octet, never past the end.
                assert!(run <= v.len());
                if !(SPECIAL[b as usize] || b < 0x23 || matches!(b, b'(' | b')' | b';' | b'\\')) {
                    assert!(run >= 8, "octet {b:#x} at {at}: run {run}");
                }
            }
        }
    }

    /// The simple-line path gives the entries, lines and positions the
    /// octet-by-octet path gives, on lines of every octet in every place.
    #[test]
    fn simple_lines_lex_as_the_general_path_lexes_them() {
        let all = |text: &[u8], simple: bool| {
            let mut l = Lexer::new(text);
            let mut e = Entry::default();
            let mut out = vec![];
            loop {
                let r = if simple { l.next_entry(&mut e) } else { l.general_entry(&mut e) };
                out.push((r, e.tokens.clone(), e.line, e.blank_owner, l.position(), l.line(), l.clean_end()));
                if r != Ok(true) {
                    return out;
                }
            }
        };
        let base = b"www IN A 192.0.2.1\n\tNS ns1.x.\r\n  ns2 3600 NS ns2.example.\nlast A 1\n";
        for at in 0..base.len() {
            for b in 0..=255u8 {
                let mut v = base.to_vec();
                v[at] = b;
                assert_eq!(all(&v, true), all(&v, false), "octet {b:#x} at {at}");
            }
        }
    }

    /// A ')' without '(' is one error, and the line goes with it: the
    /// next entry is the next line's.
    #[test]
    fn stray_close_paren_is_one_error() {
        let mut l = Lexer::new(b"a A ) b\nc A 1\n");
        let mut e = Entry::default();
        assert_eq!(l.next_entry(&mut e), Err((1, "unbalanced parentheses: ')' without '('")));
        assert_eq!(l.next_entry(&mut e), Ok(true));
        assert_eq!((e.line, e.tokens.len(), e.blank_owner), (2, 3, false));
        assert_eq!(l.next_entry(&mut e), Ok(false));
    }
}
