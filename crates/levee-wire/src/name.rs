//! Domain names in wire form.
//!
//! A name is a sequence of labels, each a length octet (1..=63) followed by
//! that many bytes, ending with the root label (a single zero octet). The
//! whole name is at most 255 octets. Everything in levee keeps names in this
//! form: zone data, lookups and the response writer all work on `&[u8]`
//! slices holding an *uncompressed* wire name, so there is no conversion on
//! the query path.
//!
//! Comparison is case-insensitive for ASCII letters only (RFC 4343). Zone
//! data stores owner names lowercased; the query's own spelling survives in
//! the response through the question section and compression pointers to
//! it, which is how the question's letter case is preserved.
//!
//! [`NameBuf`] is a fixed-size stack buffer for one name, used wherever a
//! name has to be built or decompressed without touching the heap.

use core::cmp::Ordering;
use core::fmt;

use crate::WireError;

/// Longest name in wire form, root label included (RFC 1035 §2.3.4).
pub const MAX_NAME_LEN: usize = 255;
/// Longest label (RFC 1035 §2.3.4).
pub const MAX_LABEL_LEN: usize = 63;
/// Most labels a name can have, root excluded.
pub const MAX_LABELS: usize = 127;

/// The root name.
pub const ROOT: &[u8] = &[0];

//------------ NameBuf --------------------------------------------------------

/// One uncompressed wire name in a fixed stack buffer.
#[derive(Clone, Copy)]
pub struct NameBuf {
    buf: [u8; MAX_NAME_LEN],
    len: u8,
}

impl Default for NameBuf {
    fn default() -> Self {
        Self::root()
    }
}

impl NameBuf {
    /// The root name.
    pub const fn root() -> Self {
        NameBuf { buf: [0; MAX_NAME_LEN], len: 1 }
    }

    /// Copies a wire name that is already known to be valid.
    pub fn from_wire(name: &[u8]) -> Result<Self, WireError> {
        check(name)?;
        let mut n = Self::root();
        n.buf[..name.len()].copy_from_slice(name);
        n.len = name.len() as u8;
        Ok(n)
    }

    /// Copies a wire name the caller has already walked and found valid
    /// (labels of at most 63 octets ending in the root, at most 255
    /// octets), without walking it again. Debug builds check anyway.
    pub fn from_validated(name: &[u8]) -> Self {
        let mut n = Self::root();
        n.set_checked(name);
        n
    }

    /// Overwrites the name with a wire name the caller has validated
    /// (labels of at most 63 octets ending in the root, at most 255 octets).
    pub(crate) fn set_checked(&mut self, name: &[u8]) {
        debug_assert!(check(name).is_ok());
        self.buf[..name.len()].copy_from_slice(name);
        self.len = name.len() as u8;
    }

    /// The wire bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.buf[..self.len as usize]
    }

    /// Length of the wire form.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// Always false: even the root has one octet.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Starts an empty builder (no labels, no root yet).
    pub(crate) fn clear_for_build(&mut self) {
        self.len = 0;
    }

    /// Appends a label while building. The caller finishes with `finish`.
    pub(crate) fn push_label(&mut self, label: &[u8]) -> Result<(), WireError> {
        if label.is_empty() || label.len() > MAX_LABEL_LEN {
            return Err(WireError::BadLabel);
        }
        let at = self.len as usize;
        // Keep room for the root octet.
        if at + 1 + label.len() + 1 > MAX_NAME_LEN {
            return Err(WireError::NameTooLong);
        }
        self.buf[at] = label.len() as u8;
        self.buf[at + 1..at + 1 + label.len()].copy_from_slice(label);
        self.len = (at + 1 + label.len()) as u8;
        Ok(())
    }

    /// Appends a whole wire name (root included) while building.
    pub(crate) fn push_name(&mut self, name: &[u8]) -> Result<(), WireError> {
        let at = self.len as usize;
        if at + name.len() > MAX_NAME_LEN {
            return Err(WireError::NameTooLong);
        }
        self.buf[at..at + name.len()].copy_from_slice(name);
        self.len = (at + name.len()) as u8;
        Ok(())
    }

    /// Ends a build with the root label.
    pub(crate) fn finish(&mut self) -> Result<(), WireError> {
        self.push_name(ROOT)
    }

    /// Overwrites the name with `name` lowercased (a wire name, at most 255
    /// octets), eight octets at a time: the octets are read from `name`
    /// once and stored in whole words, so a reader of whole words right
    /// after does not wait on single-octet stores.
    #[inline]
    pub fn set_lowercase(&mut self, name: &[u8]) {
        let len = name.len().min(MAX_NAME_LEN);
        let mut i = 0;
        while i + 8 <= len {
            let w = lower_word(word_at(name, i));
            self.buf[i..i + 8].copy_from_slice(&w.to_le_bytes());
            i += 8;
        }
        if i < len && len >= 8 {
            // The last word, overlapping octets already stored.
            let w = lower_word(word_at(name, len - 8));
            self.buf[len - 8..len].copy_from_slice(&w.to_le_bytes());
        } else {
            while i < len {
                self.buf[i] = name[i].to_ascii_lowercase();
                i += 1;
            }
        }
        self.len = len as u8;
    }

    /// Lowercases ASCII letters in place.
    pub fn make_lowercase(&mut self) {
        let len = self.len as usize;
        lowercase_in_place(&mut self.buf[..len]);
    }

    /// Builds `prefix` (the first `prefix_labels` labels of `name`) followed
    /// by `suffix`. Used for DNAME substitution (RFC 6672 §2.2).
    pub fn replace_suffix(name: &[u8], keep_labels: usize, suffix: &[u8]) -> Result<Self, WireError> {
        let mut out = Self::root();
        out.clear_for_build();
        let mut pos = 0;
        for _ in 0..keep_labels {
            let l = name[pos] as usize;
            out.push_label(&name[pos + 1..pos + 1 + l])?;
            pos += 1 + l;
        }
        out.push_name(suffix)?;
        Ok(out)
    }

    /// Prepends one label to `name`.
    pub fn prepend(label: &[u8], name: &[u8]) -> Result<Self, WireError> {
        let mut out = Self::root();
        out.clear_for_build();
        out.push_label(label)?;
        out.push_name(name)?;
        Ok(out)
    }
}

impl core::ops::Deref for NameBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl PartialEq for NameBuf {
    fn eq(&self, other: &Self) -> bool {
        eq_ignore_case(self.as_slice(), other.as_slice())
    }
}
impl Eq for NameBuf {}

impl fmt::Debug for NameBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NameBuf({})", Display(self.as_slice()))
    }
}

impl fmt::Display for NameBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Display(self.as_slice()).fmt(f)
    }
}

//------------ checks and iteration ---------------------------------------------

/// Checks that `name` is exactly one valid uncompressed wire name.
pub fn check(name: &[u8]) -> Result<(), WireError> {
    if name.len() > MAX_NAME_LEN {
        return Err(WireError::NameTooLong);
    }
    let mut pos = 0;
    loop {
        let l = *name.get(pos).ok_or(WireError::ShortInput)? as usize;
        if l == 0 {
            return if pos + 1 == name.len() { Ok(()) } else { Err(WireError::TrailingData) };
        }
        if l > MAX_LABEL_LEN {
            return Err(WireError::BadLabel);
        }
        pos += 1 + l;
    }
}

/// Length of the wire name starting at `data[0]` (uncompressed), or an error.
pub fn wire_len(data: &[u8]) -> Result<usize, WireError> {
    let mut pos = 0;
    loop {
        let l = *data.get(pos).ok_or(WireError::ShortInput)? as usize;
        if l == 0 {
            return Ok(pos + 1);
        }
        if l > MAX_LABEL_LEN {
            return Err(WireError::BadLabel);
        }
        pos += 1 + l;
        if pos >= MAX_NAME_LEN {
            return Err(WireError::NameTooLong);
        }
    }
}

/// Iterator over the labels of a valid wire name, leftmost first, root excluded.
#[derive(Clone)]
pub struct Labels<'a> {
    name: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for Labels<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        let l = *self.name.get(self.pos)? as usize;
        if l == 0 {
            return None;
        }
        let label = &self.name[self.pos + 1..self.pos + 1 + l];
        self.pos += 1 + l;
        Some(label)
    }
}

/// The labels of a valid wire name.
pub fn labels(name: &[u8]) -> Labels<'_> {
    Labels { name, pos: 0 }
}

/// Number of labels, root excluded (`www.example.` has 2).
pub fn label_count(name: &[u8]) -> usize {
    labels(name).count()
}

/// The name with its first label removed; the root stays the root.
pub fn parent(name: &[u8]) -> &[u8] {
    if name.len() <= 1 {
        return name;
    }
    &name[1 + name[0] as usize..]
}

/// The name with its first `n` labels removed.
pub fn strip_labels(name: &[u8], n: usize) -> &[u8] {
    let mut s = name;
    for _ in 0..n {
        s = parent(s);
    }
    s
}

/// The leftmost label (empty for the root).
pub fn first_label(name: &[u8]) -> &[u8] {
    if name.len() <= 1 {
        return &[];
    }
    &name[1..1 + name[0] as usize]
}

/// True if the leftmost label is `*`.
pub fn is_wildcard(name: &[u8]) -> bool {
    name.len() >= 2 && name[0] == 1 && name[1] == b'*'
}

//------------ case ----------------------------------------------------------

/// ASCII lowercase of one octet.
#[inline]
pub fn lower(b: u8) -> u8 {
    b.to_ascii_lowercase()
}

/// Lowercases ASCII letters of a wire name in place. Length octets are
/// never in `A..=Z` (they are at most 63), so the whole slice can be mapped.
pub fn lowercase_in_place(name: &mut [u8]) {
    for b in name.iter_mut() {
        *b = b.to_ascii_lowercase();
    }
}

/// Lowercased copy in a stack buffer.
pub fn to_lowercase(name: &[u8]) -> NameBuf {
    let mut n = NameBuf::root();
    n.set_lowercase(name);
    n
}

/// The eight octets of `s` at `i`, as a little-endian word (for code
/// that handles names eight octets at a time).
#[inline(always)]
pub fn word_at(s: &[u8], i: usize) -> u64 {
    let w = &s[i..i + 8];
    u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]])
}

/// ASCII lowercase of the eight octets of a word: `A`..`Z` become
/// `a`..`z`, every other octet is unchanged.
#[inline]
pub fn lower_word(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    // High bit of each octet: set where the octet is 'A'..='Z'.
    let low7 = w & (ONES * 0x7F);
    let ge_a = low7 + ONES * (0x80 - b'A' as u64);
    let gt_z = low7 + ONES * (0x80 - b'Z' as u64 - 1);
    let upper = ge_a & !gt_z & !w & (ONES * 0x80);
    w | (upper >> 2)
}

/// True if a label of the wire name `name` starts at `offset` (the root
/// label at the end counts; `offset` 0 always does).
#[inline]
pub fn is_label_start(name: &[u8], offset: usize) -> bool {
    let mut p = 0;
    while p < offset {
        match name.get(p) {
            Some(&l) if l > 0 => p += 1 + l as usize,
            _ => return false,
        }
    }
    p == offset
}

/// Case-insensitive equality of two wire names (or any two octet
/// strings: ASCII letters fold, nothing else does), eight octets at a time.
#[inline]
pub fn eq_ignore_case(a: &[u8], b: &[u8]) -> bool {
    eq_words(a, b, lower_word)
}

/// [`eq_ignore_case`] where `lower` is known to be lowercase (a name from
/// zone data): only `any` is folded.
#[inline]
pub fn eq_lowercase(lower: &[u8], any: &[u8]) -> bool {
    eq_words(lower, any, |w| w)
}

/// `a` and `b` compared eight octets at a time, `b`'s words lowercased and
/// `a`'s passed through `fold_a`; short strings octet by octet.
#[inline(always)]
fn eq_words(a: &[u8], b: &[u8], fold_a: impl Fn(u64) -> u64) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n < 8 {
        return a.eq_ignore_ascii_case(b);
    }
    let mut i = 0;
    while i + 8 < n {
        if fold_a(word_at(a, i)) != lower_word(word_at(b, i)) {
            return false;
        }
        i += 8;
    }
    // The last word, overlapping octets already compared.
    fold_a(word_at(a, n - 8)) == lower_word(word_at(b, n - 8))
}

/// A hash of the wire name `buf[start..end]` that ignores ASCII letter
/// case, eight octets at a time: a name and its lowercase form hash alike,
/// so a query name can be hashed as it arrived and looked up in tables
/// of lowercased names (the response cache keys on it, and a zone's name
/// index is built with it, so one pass over a query's name serves both).
///
/// Case is folded by clearing bit 5 of every octet, one operation a word:
/// `a` and `A` differ only there. So do a few other pairs (digits and
/// control octets, `@` and `` ` ``, label lengths 1 and 33), which then
/// hash alike too; that only costs the name comparison every table makes
/// anyway.
///
/// The last partial word is read as the eight octets ending the name
/// (shifted down to the name's own octets) when there are eight octets to
/// read, which a question name after the header always has: copying the
/// tail into a zeroed word instead and reading that back stalls the load
/// on the copy's stores. Both give the same hash. Not a finished hash:
/// its high bits mix less than its low ones, so a table should finish it
/// (with [`hash::mix`](crate::hash::mix)).
#[inline]
pub fn hash_ignore_case(buf: &[u8], start: usize, end: usize) -> u64 {
    const FOLD: u64 = !(0x2020_2020_2020_2020);
    let name = &buf[start..end];
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ name.len() as u64;
    let mut chunks = name.chunks_exact(8);
    for c in &mut chunks {
        h = (h ^ (word_at(c, 0) & FOLD)).wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(23);
    }
    let rest = chunks.remainder().len();
    if rest > 0 {
        let w = if end >= 8 {
            word_at(buf, end - 8) >> (8 * (8 - rest))
        } else {
            let mut b = [0u8; 8];
            b[..rest].copy_from_slice(chunks.remainder());
            u64::from_le_bytes(b)
        };
        h = (h ^ (w & FOLD)).wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(23);
    }
    h
}

/// True if `name` is `ancestor` or below it (case-insensitive).
pub fn is_subdomain(name: &[u8], ancestor: &[u8]) -> bool {
    if ancestor.len() > name.len() {
        return false;
    }
    // Walk label boundaries of `name` until the remaining length matches.
    let mut s = name;
    while s.len() > ancestor.len() {
        s = parent(s);
    }
    s.len() == ancestor.len() && eq_ignore_case(s, ancestor)
}

/// Canonical DNS name order (RFC 4034 §6.1): labels compared right to
/// left, each as lowercased octet strings where a shorter prefix sorts first.
pub fn canonical_cmp(a: &[u8], b: &[u8]) -> Ordering {
    let mut ia = [0u8; MAX_LABELS + 1];
    let mut ib = [0u8; MAX_LABELS + 1];
    let na = label_offsets(a, &mut ia);
    let nb = label_offsets(b, &mut ib);
    let (mut x, mut y) = (na, nb);
    while x > 0 && y > 0 {
        x -= 1;
        y -= 1;
        let la = label_at(a, ia[x]);
        let lb = label_at(b, ib[y]);
        match cmp_label(la, lb) {
            Ordering::Equal => continue,
            o => return o,
        }
    }
    na.cmp(&nb)
}

/// Appends a key whose byte order (`memcmp`) is the canonical order of
/// names: labels right to left, each lowercased with 0x00 and 0x01 escaped
/// as 0x01 0x01 and 0x01 0x02, and ended by 0x00.
pub fn canonical_key(name: &[u8], out: &mut Vec<u8>) {
    let mut offs = [0u8; MAX_LABELS + 1];
    let n = label_offsets(name, &mut offs);
    for i in (0..n).rev() {
        for &b in label_at(name, offs[i]) {
            match b {
                0 => out.extend_from_slice(&[1, 1]),
                1 => out.extend_from_slice(&[1, 2]),
                b => out.push(lower(b)),
            }
        }
        out.push(0);
    }
}

fn label_offsets(name: &[u8], out: &mut [u8; MAX_LABELS + 1]) -> usize {
    let mut n = 0;
    let mut pos = 0usize;
    while pos < name.len() && name[pos] != 0 && n < out.len() {
        out[n] = pos as u8;
        n += 1;
        pos += 1 + name[pos] as usize;
    }
    n
}

fn label_at(name: &[u8], off: u8) -> &[u8] {
    let off = off as usize;
    let l = name[off] as usize;
    &name[off + 1..off + 1 + l]
}

/// Compares two labels as lowercased octet strings.
pub fn cmp_label(a: &[u8], b: &[u8]) -> Ordering {
    for (x, y) in a.iter().zip(b.iter()) {
        match lower(*x).cmp(&lower(*y)) {
            Ordering::Equal => continue,
            o => return o,
        }
    }
    a.len().cmp(&b.len())
}

//------------ decompression ------------------------------------------------------

/// Reads a possibly compressed name from `msg` at `pos` into `out`, and
/// returns the position just after the name's encoding at `pos`.
///
/// Pointers must point strictly backwards, which bounds the work by the
/// message length and rules out loops (RFC 1035 §4.1.4 only allows pointers
/// to prior occurrences).
pub fn read_compressed(msg: &[u8], mut pos: usize, out: &mut NameBuf) -> Result<usize, WireError> {
    out.clear_for_build();
    let mut end = None;
    let mut limit = pos; // pointers must go below this
    loop {
        let b = *msg.get(pos).ok_or(WireError::ShortInput)?;
        match b & 0xC0 {
            0x00 => {
                let l = b as usize;
                if l == 0 {
                    out.finish()?;
                    return Ok(end.unwrap_or(pos + 1));
                }
                let label = msg.get(pos + 1..pos + 1 + l).ok_or(WireError::ShortInput)?;
                out.push_label(label)?;
                pos += 1 + l;
            }
            0xC0 => {
                let lo = *msg.get(pos + 1).ok_or(WireError::ShortInput)? as usize;
                let target = ((b as usize & 0x3F) << 8) | lo;
                if end.is_none() {
                    end = Some(pos + 2);
                }
                if target >= limit {
                    return Err(WireError::BadPointer);
                }
                limit = target;
                pos = target;
            }
            _ => return Err(WireError::BadLabel),
        }
    }
}

/// Skips a possibly compressed name at `pos` without reading it.
pub fn skip_compressed(msg: &[u8], mut pos: usize) -> Result<usize, WireError> {
    let mut total = 0usize;
    loop {
        let b = *msg.get(pos).ok_or(WireError::ShortInput)?;
        match b & 0xC0 {
            0x00 => {
                if b == 0 {
                    return Ok(pos + 1);
                }
                total += 1 + b as usize;
                if total >= MAX_NAME_LEN {
                    return Err(WireError::NameTooLong);
                }
                pos += 1 + b as usize;
            }
            0xC0 => {
                msg.get(pos + 1).ok_or(WireError::ShortInput)?;
                return Ok(pos + 2);
            }
            _ => return Err(WireError::BadLabel),
        }
    }
}

//------------ presentation format ---------------------------------------------

/// Displays a wire name in presentation format (`www.example.`), escaping
/// special characters the way zone files and dig do.
pub struct Display<'a>(pub &'a [u8]);

impl fmt::Display for Display<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.0;
        if name.len() <= 1 {
            return f.write_str(".");
        }
        for label in labels(name) {
            write_label(f, label)?;
            f.write_str(".")?;
        }
        Ok(())
    }
}

fn write_label(f: &mut fmt::Formatter<'_>, label: &[u8]) -> fmt::Result {
    use fmt::Write;
    for &b in label {
        match b {
            b'.' | b'\\' | b'"' | b'(' | b')' | b';' | b'@' | b'$' => {
                f.write_char('\\')?;
                f.write_char(b as char)?;
            }
            0x21..=0x7E => f.write_char(b as char)?,
            _ => write!(f, "\\{:03}", b)?,
        }
    }
    Ok(())
}

/// Presentation-format text of a wire name.
pub fn to_text(name: &[u8]) -> String {
    Display(name).to_string()
}

/// Parses a name in presentation format. A name without a trailing dot is
/// relative and gets `origin` appended; `@` alone is the origin. Without an
/// origin, a relative name is an error.
pub fn from_text(s: &str, origin: Option<&[u8]>) -> Result<NameBuf, WireError> {
    from_text_bytes(s.as_bytes(), origin)
}

/// Like [`from_text`] on raw bytes (zone files are not required to be UTF-8).
pub fn from_text_bytes(s: &[u8], origin: Option<&[u8]>) -> Result<NameBuf, WireError> {
    let mut out = NameBuf::root();
    text_into(s, origin, &mut out)?;
    Ok(out)
}

/// Like [`from_text_bytes`], written into `out` instead of returned (a
/// zone file's reader parses millions of names: a `NameBuf` returned
/// through a `Result` is copied, 256 octets, at each step). On an error
/// `out` holds something unspecified.
pub fn text_into(s: &[u8], origin: Option<&[u8]>, out: &mut NameBuf) -> Result<(), WireError> {
    if s == b"@" {
        return match origin {
            Some(o) => {
                check(o)?;
                out.set_checked(o);
                Ok(())
            }
            None => Err(WireError::RelativeName),
        };
    }
    if s == b"." {
        out.set_checked(ROOT);
        return Ok(());
    }
    if s.is_empty() {
        return Err(WireError::BadLabel);
    }
    if let Some(r) = plain_text_into(s, origin, out) {
        return r;
    }
    // Labels are written straight into `out` (no label buffer to clear
    // and copy again): `at` is the length octet of the label being read,
    // filled in when it ends. A label that does not fit is still read to
    // its end, so that one too long is `BadLabel` wherever it is, and
    // then `NameTooLong`, in the order a label-by-label reader finds them.
    let mut at = 0usize;
    let mut ll = 0usize;
    let mut i = 0;
    let mut absolute = false;
    while i < s.len() {
        // Eight octets at a time while neither a dot nor an escape comes,
        // the label stays within its bound and the buffer has room for
        // a whole word: the word is stored as it is and the octets after
        // the first dot or escape in it are overwritten later.
        if let (Some(w), Some(room)) = (s.get(i..i + 8), out.buf.get_mut(at + 1 + ll..at + 9 + ll)) {
            let x = word_at(w, 0);
            let k = (special_octets(x).trailing_zeros() / 8) as usize;
            if k > 0 && ll + k <= MAX_LABEL_LEN {
                room.copy_from_slice(w);
                ll += k;
                i += k;
                continue;
            }
        }
        let c = s[i];
        if c == b'.' {
            if ll == 0 {
                return Err(WireError::BadLabel);
            }
            // Room for this label and the root octet after it.
            if at + 1 + ll + 1 > MAX_NAME_LEN {
                return Err(WireError::NameTooLong);
            }
            out.buf[at] = ll as u8;
            at += 1 + ll;
            ll = 0;
            i += 1;
            if i == s.len() {
                absolute = true;
            }
            continue;
        }
        let b = if c == b'\\' {
            let (b, used) = unescape(&s[i..])?;
            i += used;
            b
        } else {
            i += 1;
            c
        };
        if ll >= MAX_LABEL_LEN {
            return Err(WireError::BadLabel);
        }
        if let Some(slot) = out.buf.get_mut(at + 1 + ll) {
            *slot = b;
        }
        ll += 1;
    }
    if ll > 0 {
        if at + 1 + ll + 1 > MAX_NAME_LEN {
            return Err(WireError::NameTooLong);
        }
        out.buf[at] = ll as u8;
        at += 1 + ll;
    }
    out.len = at as u8;
    if absolute {
        out.finish()?;
    } else {
        match origin {
            Some(o) => out.push_name(o)?,
            None => return Err(WireError::RelativeName),
        }
    }
    Ok(())
}

/// [`text_into`] for a name without escapes that fits (most names of a
/// zone file), or `None` for the general reader. The wire form of such a
/// name is its text one octet to the right, each dot turned into the
/// length of the label after it: the text is copied whole, then the dots
/// (found eight octets at a time) become lengths, label after label, with
/// the general reader's checks in its order (an empty or too long label,
/// then a name too long).
#[inline]
fn plain_text_into(s: &[u8], origin: Option<&[u8]>, out: &mut NameBuf) -> Option<Result<(), WireError>> {
    let n = s.len();
    if n + 1 > MAX_NAME_LEN {
        return None;
    }
    // `start`: the text offset where the current label starts, which is
    // also where its length octet goes in `out`.
    let mut start = 0usize;
    let mut i = 0;
    while i < n {
        let x = match s.get(i..i + 8) {
            Some(_) => word_at(s, i),
            None => {
                let mut w = [0u8; 8];
                w[..n - i].copy_from_slice(&s[i..]);
                u64::from_le_bytes(w)
            }
        };
        // The text goes one octet right, a whole word at a time (octets
        // past the end are overwritten or past `len`).
        match out.buf.get_mut(i + 1..i + 9) {
            Some(dst) => dst.copy_from_slice(&x.to_le_bytes()),
            None => out.buf[i + 1..=n].copy_from_slice(&s[i..]),
        }
        if exact_octets(x, b'\\') != 0 {
            return None;
        }
        let mut dots = exact_octets(x, b'.');
        while dots != 0 {
            let p = i + (dots.trailing_zeros() / 8) as usize;
            dots &= dots - 1;
            let ll = p - start;
            if ll == 0 || ll > MAX_LABEL_LEN {
                return Some(Err(WireError::BadLabel));
            }
            if start + 1 + ll + 1 > MAX_NAME_LEN {
                return Some(Err(WireError::NameTooLong));
            }
            out.buf[start] = ll as u8;
            start = p + 1;
        }
        i += 8;
    }
    if start == n {
        // Ended by a dot: the root label.
        out.buf[n] = 0;
        out.len = (n + 1) as u8;
        return Some(Ok(()));
    }
    let ll = n - start;
    if ll > MAX_LABEL_LEN {
        return Some(Err(WireError::BadLabel));
    }
    if start + 1 + ll + 1 > MAX_NAME_LEN {
        return Some(Err(WireError::NameTooLong));
    }
    out.buf[start] = ll as u8;
    out.len = (n + 1) as u8;
    Some(match origin {
        Some(o) => out.push_name(o),
        None => Err(WireError::RelativeName),
    })
}

/// [`text_into`] for the name written as the first token of `text`,
/// the token's end found with the name, eight octets at a time: `ends`
/// flags (as the top bit of each octet of eight octets of text, read
/// little-endian) the octets that end a token, and must flag `\\`; only
/// its lowest flag is used, which must be exact (a superset of the
/// boundaries is fine: the token is then cut at an octet the caller does
/// not take as a boundary, and it falls back). Returns the token's
/// length when it reads a name the way [`text_into`] reads that token's
/// text; `None` when it does not take the token (fewer than eight octets
/// of text from some word of the token, a name of more than 246 octets
/// of text, `@`, `.`, an empty or too long label, a name too long, no
/// origin for a relative name): the caller then finds the token's end
/// and asks [`text_into`], which gives its verdict. `out` is unspecified
/// after `None`.
#[inline]
pub fn text_token_into(text: &[u8], origin: Option<&[u8]>, out: &mut NameBuf, ends: fn(u64) -> u64) -> Option<usize> {
    // `start`: the text offset where the current label starts, which is
    // also where its length octet goes in `out`.
    let mut start = 0usize;
    let mut i = 0usize;
    let n = loop {
        let w = text.get(i..i + 8)?;
        out.buf.get_mut(i + 1..i + 9)?.copy_from_slice(w);
        let x = word_at(w, 0);
        let end = ends(x);
        let mut dots = exact_octets(x, b'.');
        if end != 0 {
            // Only the dots before the token's end.
            dots &= (end & end.wrapping_neg()) - 1;
        }
        while dots != 0 {
            let p = i + (dots.trailing_zeros() / 8) as usize;
            dots &= dots - 1;
            let ll = p - start;
            if ll == 0 || ll > MAX_LABEL_LEN || start + 1 + ll + 1 > MAX_NAME_LEN {
                return None;
            }
            out.buf[start] = ll as u8;
            start = p + 1;
        }
        if end != 0 {
            break i + (end.trailing_zeros() / 8) as usize;
        }
        i += 8;
    };
    if n == 0 || (n == 1 && matches!(text[0], b'@' | b'.')) {
        return None;
    }
    if start == n {
        // Ended by a dot: the root label.
        out.buf[n] = 0;
        out.len = (n + 1) as u8;
        return Some(n);
    }
    let ll = n - start;
    if ll > MAX_LABEL_LEN || start + 1 + ll + 1 > MAX_NAME_LEN {
        return None;
    }
    out.buf[start] = ll as u8;
    out.len = (n + 1) as u8;
    out.push_name(origin?).ok()?;
    Some(n)
}

/// The octets of `x` equal to `b`, as the top bit of each, exactly (no
/// borrow between octets, so every flag is true, not only the lowest).
#[inline(always)]
fn exact_octets(x: u64, b: u8) -> u64 {
    const M: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    let y = x ^ (0x0101_0101_0101_0101 * b as u64);
    !(((y & M).wrapping_add(M)) | y | M)
}

/// The octets of `x` (eight octets of text, little-endian) that are a
/// dot or a backslash, as the top bit of each: the lowest one set is the
/// first such octet (a borrow only marks octets above a true one); 0
/// when there is none, so `trailing_zeros() / 8` is 8.
#[inline(always)]
fn special_octets(x: u64) -> u64 {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let d = x ^ (LO * b'.' as u64);
    let b = x ^ (LO * b'\\' as u64);
    (d.wrapping_sub(LO) & !d & HI) | (b.wrapping_sub(LO) & !b & HI)
}

/// Decodes one escape at the start of `s` (which begins with `\`):
/// `\DDD` (decimal octet) or `\X` (the character itself). Returns the octet
/// and how many input bytes were used.
pub fn unescape(s: &[u8]) -> Result<(u8, usize), WireError> {
    debug_assert_eq!(s.first(), Some(&b'\\'));
    match s.get(1) {
        None => Err(WireError::BadEscape),
        Some(d) if d.is_ascii_digit() => {
            if s.len() < 4 || !s[2].is_ascii_digit() || !s[3].is_ascii_digit() {
                return Err(WireError::BadEscape);
            }
            let v = (s[1] - b'0') as u32 * 100 + (s[2] - b'0') as u32 * 10 + (s[3] - b'0') as u32;
            if v > 255 {
                return Err(WireError::BadEscape);
            }
            Ok((v as u8, 4))
        }
        Some(&c) => Ok((c, 2)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The token reader takes names as [`text_into`] reads the token's
    /// text, on texts of every mix of plain octets, dots, `@`, escapes
    /// and separators, with and without an origin.
    #[test]
    fn token_names_read_as_text_into_reads_them() {
        fn ends(x: u64) -> u64 {
            exact_octets(x, b' ') | exact_octets(x, b'\\')
        }
        let alphabet = b"ab.@\\ 7-";
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut taken = 0;
        for round in 0..200_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 40) as usize;
            let mut text: Vec<u8> =
                (0..len).map(|k| alphabet[((seed >> (k % 20 * 3)) % alphabet.len() as u64) as usize]).collect();
            if round % 3 == 0 {
                // Long labels and names.
                text = [vec![b'x'; (seed % 300) as usize], text].concat();
            }
            text.extend_from_slice(b" padding padding");
            let origin: Option<&[u8]> = if round % 5 == 0 { None } else { Some(b"\x03org\x00") };
            let mut got = NameBuf::root();
            if let Some(n) = text_token_into(&text, origin, &mut got, ends) {
                assert!(matches!(text[n], b' ' | b'\\'), "{:?}", String::from_utf8_lossy(&text));
                let mut want = NameBuf::root();
                assert_eq!(text_into(&text[..n], origin, &mut want), Ok(()), "{:?}", String::from_utf8_lossy(&text));
                assert_eq!(got.as_slice(), want.as_slice(), "{:?}", String::from_utf8_lossy(&text));
                taken += 1;
            }
        }
        assert!(taken > 20_000, "{taken}");
    }

    #[test]
    fn name_hash_folds_ascii_letters_only() {
        let all: Vec<u8> = (0..=255u8).collect();
        let lowered: Vec<u8> = all.iter().map(u8::to_ascii_lowercase).collect();
        for start in 0..all.len() {
            for len in [1, 7, 8, 9, 16, 23] {
                let end = (start + len).min(all.len());
                assert_eq!(hash_ignore_case(&all, start, end), hash_ignore_case(&lowered, start, end));
                // The tail read from before the name and the copied tail agree.
                let copy = all[start..end].to_vec();
                assert_eq!(hash_ignore_case(&all, start, end), hash_ignore_case(&copy, 0, copy.len()));
            }
        }
        // Other differences show.
        let h = |n: &[u8]| hash_ignore_case(n, 0, n.len());
        assert_ne!(h(b"\x03www\x00"), h(b"\x03wwx\x00"));
        assert_ne!(h(b"\x03www\x00"), h(b"\x03www\x00\x00"));
        assert_ne!(h(b"\x01a\x00"), h(b"\x01b\x00"));
    }

    #[test]
    fn word_wise_equality_matches_the_octet_rule() {
        let all: Vec<u8> = (0..=255u8).collect();
        for len in 0..40 {
            for start in (0..all.len() - len).step_by(7) {
                let a = &all[start..start + len];
                let upper: Vec<u8> = a.iter().map(u8::to_ascii_uppercase).collect();
                assert!(eq_ignore_case(a, &upper));
                for k in 0..len {
                    // Every single-octet change that is not a letter's
                    // case is seen, wherever it is.
                    for flip in [0x20u8, 0x01, 0x80] {
                        let mut b = a.to_vec();
                        b[k] ^= flip;
                        assert_eq!(eq_ignore_case(a, &b), a.eq_ignore_ascii_case(&b), "{a:?} {b:?}");
                    }
                }
            }
        }
        assert!(!eq_ignore_case(b"\x03www\x00", b"\x03www"));
        // With one side lowercase, the one-sided fold agrees.
        for len in 0..40 {
            for start in (0..all.len() - len).step_by(5) {
                let a = &all[start..start + len];
                let lower: Vec<u8> = a.iter().map(u8::to_ascii_lowercase).collect();
                for k in 0..len {
                    for flip in [0x20u8, 0x01] {
                        let mut b = a.to_vec();
                        b[k] ^= flip;
                        assert_eq!(eq_lowercase(&lower, &b), eq_ignore_case(&lower, &b), "{lower:?} {b:?}");
                    }
                }
                assert!(eq_lowercase(&lower, a));
            }
        }
    }

    fn n(s: &str) -> NameBuf {
        from_text(s, None).unwrap()
    }

    #[test]
    fn word_wise_lowercase_equals_octet_wise() {
        // Every octet value, at every length up to a full name and at
        // every alignment, into a buffer that held a longer name before.
        let all: Vec<u8> = (0..=255u8).chain(0..=255u8).collect();
        for len in 0..=MAX_NAME_LEN {
            for start in [0, 1, 7, 65, 190, 256] {
                let src = &all[start..start + len];
                let mut n = NameBuf::root();
                n.set_lowercase(&all[..MAX_NAME_LEN]);
                n.set_lowercase(src);
                let want: Vec<u8> = src.iter().map(u8::to_ascii_lowercase).collect();
                assert_eq!(n.as_slice(), &want[..], "len {len} start {start}");
            }
        }
        for w in [0u64, u64::MAX, u64::from_le_bytes(*b"@AZ[`az{")] {
            let want = u64::from_le_bytes(w.to_le_bytes().map(|b| b.to_ascii_lowercase()));
            assert_eq!(lower_word(w), want);
        }
    }

    #[test]
    fn text_round_trip() {
        for s in [".", "example.", "www.example.com.", "a\\.b.example.", "sp\\032ace.x.", "\\200bin.x."] {
            assert_eq!(to_text(&n(s)), s, "{s}");
        }
        assert_eq!(to_text(&n("esc\\\"quote.x.")), "esc\\\"quote.x.");
    }

    #[test]
    fn relative_and_origin() {
        let o = n("example.com.");
        assert_eq!(to_text(&from_text("www", Some(&o)).unwrap()), "www.example.com.");
        assert_eq!(to_text(&from_text("@", Some(&o)).unwrap()), "example.com.");
        assert!(from_text("www", None).is_err());
        assert!(from_text("a..b.", None).is_err());
    }

    #[test]
    fn too_long() {
        let long = format!("{}.{}.{}.{}.", "a".repeat(63), "b".repeat(63), "c".repeat(63), "d".repeat(62));
        assert!(from_text(&long, None).is_err());
        let ok = format!("{}.{}.{}.{}.", "a".repeat(63), "b".repeat(63), "c".repeat(63), "d".repeat(61));
        assert_eq!(from_text(&ok, None).unwrap().len(), 255);
        assert!(from_text(&format!("{}.", "a".repeat(64)), None).is_err());
    }

    /// The example of RFC 4034 §6.1, in canonical order.
    const RFC4034_ORDER: [&str; 9] = [
        "example.",
        "a.example.",
        "yljkjljk.a.example.",
        "Z.a.example.",
        "zABC.a.EXAMPLE.",
        "z.example.",
        "\\001.z.example.",
        "*.z.example.",
        "\\200.z.example.",
    ];

    #[test]
    fn canonical_order() {
        for w in RFC4034_ORDER.windows(2) {
            assert_eq!(canonical_cmp(&n(w[0]), &n(w[1])), Ordering::Less, "{} < {}", w[0], w[1]);
        }
    }

    #[test]
    fn canonical_key_orders_like_canonical_cmp() {
        let more = ["\\000.z.example.", "\\001\\001.z.example.", ".", "a\\000.example.", "a.", "aa.", "a\\001."];
        let names: Vec<&str> = RFC4034_ORDER.iter().chain(more.iter()).copied().collect();
        for &a in &names {
            for &b in &names {
                let (na, nb) = (n(a), n(b));
                let (mut ka, mut kb) = (Vec::new(), Vec::new());
                canonical_key(&na, &mut ka);
                canonical_key(&nb, &mut kb);
                assert_eq!(ka.cmp(&kb), canonical_cmp(&na, &nb), "{a} vs {b}");
            }
        }
    }

    #[test]
    fn subdomain() {
        assert!(is_subdomain(&n("www.Example.com."), &n("example.COM.")));
        assert!(is_subdomain(&n("example.com."), &n("example.com.")));
        assert!(!is_subdomain(&n("wwwexample.com."), &n("example.com.")));
        assert!(is_subdomain(&n("x."), ROOT));
    }

    #[test]
    fn decompress_rejects_loops() {
        let msg = [0u8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xC0, 12];
        let mut out = NameBuf::root();
        assert_eq!(read_compressed(&msg, 12, &mut out), Err(WireError::BadPointer));
        let fwd = [0u8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xC0, 14, 1, b'a', 0];
        assert_eq!(read_compressed(&fwd, 12, &mut out), Err(WireError::BadPointer));
    }
}
