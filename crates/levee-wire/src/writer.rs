//! A bounded response writer with name compression.
//!
//! [`Writer`] writes a message into a caller-provided buffer and never
//! allocates. It has a *limit* (the size the response may reach, e.g. the
//! requestor's UDP payload size minus the room kept for the OPT record):
//! every write that would cross it fails with [`Full`] and leaves the
//! message as it was before that write, so the caller decides what a full
//! message means (set TC, drop optional additional data, ...). A [`Mark`]
//! taken before a group of records (a whole RRset) lets the caller roll the
//! group back, which is how levee never sends half an RRset.
//!
//! Compression (RFC 1035 §4.1.4) uses a small table of offsets where names
//! (and each of their suffixes) were written. Owner names and the names in
//! the RDATA of the RFC 1035 types are compressed; the names in other types
//! are written in full (RFC 3597 §4). Matching is case-insensitive, so a
//! pointer into the question makes the answer echo the query's letter case.

use crate::header::{Header, HEADER_LEN};
use crate::rtype::{self, Field};

/// Most compression targets remembered per message.
pub const COMP_MAX: usize = 96;

/// The write would exceed the message's limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Full;

/// The three record sections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    /// Answer.
    Answer = 0,
    /// Authority.
    Authority = 1,
    /// Additional.
    Additional = 2,
}

/// How to write a record's owner name.
#[derive(Clone, Copy, Debug)]
pub enum Owner<'n> {
    /// A pointer to a name already in the message (e.g. 12: the question).
    Ptr(u16),
    /// A wire name, compressed against what is already written.
    Name(&'n [u8]),
}

/// A position to roll back to.
#[derive(Clone, Copy, Debug)]
pub struct Mark {
    pos: usize,
    ncomp: usize,
    counts: [u16; 3],
}

impl Mark {
    /// The length of the message at the mark.
    pub fn len(&self) -> usize {
        self.pos
    }

    /// True if the message was empty at the mark.
    pub fn is_empty(&self) -> bool {
        self.pos == 0
    }
}

/// `dst.copy_from_slice(src)`, inline for the short pieces a response is
/// made of (a question, a record): whole words, the last one overlapping,
/// instead of a call into the C library's copy.
#[inline]
fn copy(dst: &mut [u8], src: &[u8]) {
    let n = src.len();
    if !(8..=64).contains(&n) {
        dst.copy_from_slice(src);
        return;
    }
    let mut i = 0;
    while i + 8 <= n {
        dst[i..i + 8].copy_from_slice(&src[i..i + 8]);
        i += 8;
    }
    if i < n {
        dst[n - 8..n].copy_from_slice(&src[n - 8..n]);
    }
}

/// Moves each compression pointer of pre-rendered octets `data` (at the
/// offsets `ptrs` into it) `shift` octets further.
#[inline]
pub fn shift_pointers(data: &mut [u8], ptrs: &[u16], shift: u16) {
    for &p in ptrs {
        let i = p as usize;
        let v = u16::from_be_bytes([data[i], data[i + 1]]).wrapping_add(shift);
        data[i..i + 2].copy_from_slice(&v.to_be_bytes());
    }
}

/// The response writer.
pub struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
    limit: usize,
    comp_off: [u16; COMP_MAX],
    comp_len: [u8; COMP_MAX],
    ncomp: usize,
    /// Length of the question's name while its compression targets are
    /// not yet in the table (0: none pending). Many responses write no
    /// compressible name after the question (a pre-rendered negative
    /// answer, an error), so the question is registered only when the
    /// first name is compressed.
    pending_question: usize,
    /// Table entries that are the question's (always the first ones).
    question_targets: usize,
    counts: [u16; 3],
}

impl<'a> Writer<'a> {
    /// A writer over `buf` that keeps the message within `limit` octets
    /// (clamped to the buffer size).
    pub fn new(buf: &'a mut [u8], limit: usize) -> Self {
        let limit = limit.min(buf.len()).min(65535);
        Writer {
            buf,
            pos: 0,
            limit,
            comp_off: [0; COMP_MAX],
            comp_len: [0; COMP_MAX],
            ncomp: 0,
            pending_question: 0,
            question_targets: 0,
            counts: [0; 3],
        }
    }

    /// Writes the header (counts filled in later by [`finish`](Self::finish))
    /// and copies the question section verbatim. `question` is the raw
    /// question (an uncompressed name, type and class) or empty.
    pub fn start(&mut self, id: u16, flags: u16, question: &[u8]) -> Result<(), Full> {
        if HEADER_LEN + question.len() > self.limit {
            return Err(Full);
        }
        let h = Header { id, flags, qdcount: if question.is_empty() { 0 } else { 1 }, ..Header::default() };
        h.write(&mut self.buf[..HEADER_LEN]);
        copy(&mut self.buf[HEADER_LEN..HEADER_LEN + question.len()], question);
        self.pos = HEADER_LEN + question.len();
        self.ncomp = 0;
        self.question_targets = 0;
        self.counts = [0; 3];
        self.pending_question = question.len().saturating_sub(4);
        Ok(())
    }

    /// Current length of the message.
    pub fn len(&self) -> usize {
        self.pos
    }

    /// True if nothing has been written.
    pub fn is_empty(&self) -> bool {
        self.pos == 0
    }

    /// The current limit.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Changes the limit (clamped to the buffer).
    pub fn set_limit(&mut self, limit: usize) {
        self.limit = limit.min(self.buf.len()).min(65535);
    }

    /// Octets left before the limit.
    pub fn remaining(&self) -> usize {
        self.limit.saturating_sub(self.pos)
    }

    /// Records in a section so far.
    pub fn count(&self, s: Section) -> u16 {
        self.counts[s as usize]
    }

    /// Remembers the current state.
    pub fn mark(&self) -> Mark {
        Mark { pos: self.pos, ncomp: self.ncomp, counts: self.counts }
    }

    /// Returns to a remembered state, forgetting everything written since.
    pub fn rollback(&mut self, m: Mark) {
        self.pos = m.pos;
        // The question's targets stay, even when they were registered
        // after the mark: the question itself is older than any mark.
        self.ncomp = m.ncomp.max(self.question_targets);
        self.counts = m.counts;
    }

    /// The flags word as written by [`start`](Self::start).
    pub fn flags(&self) -> u16 {
        u16::from_be_bytes([self.buf[2], self.buf[3]])
    }

    /// Overwrites the flags word.
    pub fn set_flags(&mut self, flags: u16) {
        self.buf[2..4].copy_from_slice(&flags.to_be_bytes());
    }

    /// Writes the section counts into the header and returns the length.
    pub fn finish(mut self) -> usize {
        self.finish_counts()
    }

    /// [`finish`](Self::finish) without giving up the writer (a move of
    /// the writer copies its compression table).
    pub fn finish_counts(&mut self) -> usize {
        let c = self.counts;
        self.buf[6..8].copy_from_slice(&c[0].to_be_bytes());
        self.buf[8..10].copy_from_slice(&c[1].to_be_bytes());
        self.buf[10..12].copy_from_slice(&c[2].to_be_bytes());
        self.pos
    }

    fn put(&mut self, data: &[u8]) -> Result<(), Full> {
        let end = self.pos + data.len();
        if end > self.limit {
            return Err(Full);
        }
        copy(&mut self.buf[self.pos..end], data);
        self.pos = end;
        Ok(())
    }

    fn put_u16(&mut self, v: u16) -> Result<(), Full> {
        self.put(&v.to_be_bytes())
    }

    //--- names

    /// Puts the question's name into the compression table if it is not
    /// there yet (see `pending_question`).
    #[inline]
    fn register_question(&mut self) {
        if self.pending_question > 0 {
            let len = self.pending_question;
            self.pending_question = 0;
            self.register(HEADER_LEN, len, len);
            self.question_targets = self.ncomp;
        }
    }

    /// Remembers the label starts of the first `upto` octets of the name
    /// written at `at`, whose uncompressed length is `name_len`: the whole
    /// name, or the labels written before a pointer to the rest.
    fn register(&mut self, at: usize, name_len: usize, upto: usize) {
        // The count lives in a register while the loop runs: written
        // through `self` each time, it would be reloaded after every store
        // into the tables.
        let mut n = self.ncomp;
        let mut i = 0;
        while i < upto && self.buf[at + i] != 0 {
            let off = at + i;
            if off >= 0x4000 || n >= COMP_MAX {
                break;
            }
            self.comp_off[n] = off as u16;
            self.comp_len[n] = (name_len - i) as u8;
            n += 1;
            i += 1 + self.buf[at + i] as usize;
        }
        self.ncomp = n;
    }

    /// Finds an earlier occurrence of the wire name `suffix`.
    fn find(&self, suffix: &[u8]) -> Option<u16> {
        let want = suffix.len() as u8;
        for k in 0..self.ncomp {
            if self.comp_len[k] == want && self.equal_at(self.comp_off[k] as usize, suffix) {
                return Some(self.comp_off[k]);
            }
        }
        None
    }

    fn equal_at(&self, mut off: usize, name: &[u8]) -> bool {
        let mut i = 0;
        for _ in 0..128 {
            let b = self.buf[off];
            if b & 0xC0 == 0xC0 {
                off = (((b & 0x3F) as usize) << 8) | self.buf[off + 1] as usize;
                continue;
            }
            if name.get(i) != Some(&b) {
                return false;
            }
            if b == 0 {
                return true;
            }
            let l = b as usize;
            if !self.buf[off + 1..off + 1 + l].eq_ignore_ascii_case(&name[i + 1..i + 1 + l]) {
                return false;
            }
            off += 1 + l;
            i += 1 + l;
        }
        false
    }

    /// Writes a wire name, compressed if `compress`.
    pub fn name(&mut self, name: &[u8], compress: bool) -> Result<(), Full> {
        if !compress {
            return self.put(name);
        }
        self.register_question();
        let start = self.pos;
        let mut i = 0;
        while i < name.len() && name[i] != 0 {
            if let Some(ptr) = self.find(&name[i..]) {
                self.put(&name[..i]).and_then(|_| self.put_u16(0xC000 | ptr)).inspect_err(|_| self.pos = start)?;
                self.register(start, name.len(), i);
                return Ok(());
            }
            i += 1 + name[i] as usize;
        }
        self.put(name)?;
        self.register(start, name.len(), name.len());
        Ok(())
    }

    //--- records

    /// Writes one record. Names in the RDATA of the RFC 1035 types are
    /// compressed. On [`Full`] nothing of the record remains.
    pub fn rr(
        &mut self,
        section: Section,
        owner: Owner<'_>,
        rtype: u16,
        class: u16,
        ttl: u32,
        rdata: &[u8],
    ) -> Result<(), Full> {
        let m = self.mark();
        let r = self.rr_inner(owner, rtype, class, ttl, rdata);
        self.commit(section, m, r)
    }

    /// Counts a record written since `m`, or removes what was written.
    fn commit(&mut self, section: Section, m: Mark, r: Result<(), Full>) -> Result<(), Full> {
        match r {
            Ok(()) => {
                self.counts[section as usize] += 1;
                Ok(())
            }
            Err(e) => {
                self.rollback(m);
                Err(e)
            }
        }
    }

    fn rr_inner(&mut self, owner: Owner<'_>, rtype: u16, class: u16, ttl: u32, rdata: &[u8]) -> Result<(), Full> {
        match owner {
            Owner::Ptr(p) => self.put_u16(0xC000 | p)?,
            Owner::Name(n) => self.name(n, true)?,
        }
        let mut fixed = [0u8; 10];
        fixed[0..2].copy_from_slice(&rtype.to_be_bytes());
        fixed[2..4].copy_from_slice(&class.to_be_bytes());
        fixed[4..8].copy_from_slice(&ttl.to_be_bytes());
        self.put(&fixed)?;
        let len_at = self.pos - 2;
        let rd_start = self.pos;
        if rtype::compress_on_send(rtype) {
            self.rdata_compressed(rtype, rdata)?;
        } else {
            self.put(rdata)?;
        }
        let rdlen = (self.pos - rd_start) as u16;
        self.buf[len_at..len_at + 2].copy_from_slice(&rdlen.to_be_bytes());
        Ok(())
    }

    fn rdata_compressed(&mut self, rtype: u16, rdata: &[u8]) -> Result<(), Full> {
        let Some(layout) = rtype::layout(rtype) else {
            return self.put(rdata);
        };
        let mut p = 0;
        for f in layout {
            match *f {
                Field::Name => {
                    let Ok(l) = crate::name::wire_len(&rdata[p..]) else {
                        return self.put(&rdata[p..]);
                    };
                    self.name(&rdata[p..p + l], true)?;
                    p += l;
                }
                Field::Fixed(n) => {
                    let end = (p + n as usize).min(rdata.len());
                    self.put(&rdata[p..end])?;
                    p = end;
                }
                Field::CharStr => {
                    let l = rdata.get(p).map_or(0, |l| 1 + *l as usize);
                    let end = (p + l).min(rdata.len());
                    self.put(&rdata[p..end])?;
                    p = end;
                }
                Field::Rest => {
                    self.put(&rdata[p..])?;
                    p = rdata.len();
                }
            }
        }
        if p < rdata.len() {
            self.put(&rdata[p..])?;
        }
        Ok(())
    }

    /// Appends an OPT record in the additional section. It may use the room
    /// beyond the limit up to `hard_limit`, which is how the OPT always fits
    /// when the caller kept room for it.
    pub fn opt(
        &mut self,
        udp_size: u16,
        ext_rcode: u8,
        flags: u16,
        options: &[u8],
        hard_limit: usize,
    ) -> Result<(), Full> {
        let ttl = (ext_rcode as u32) << 24 | flags as u32; // version 0
        self.append_last(
            Section::Additional,
            crate::name::ROOT,
            crate::rtype::t::OPT,
            udp_size,
            ttl,
            options,
            hard_limit,
        )
    }

    /// Appends one record with an uncompressed owner name after everything
    /// else (TSIG, which must come last), using room up to `hard_limit`.
    #[allow(clippy::too_many_arguments)]
    pub fn append_last(
        &mut self,
        section: Section,
        owner: &[u8],
        rtype: u16,
        class: u16,
        ttl: u32,
        rdata: &[u8],
        hard_limit: usize,
    ) -> Result<(), Full> {
        let saved = self.limit;
        self.limit = hard_limit.min(self.buf.len()).min(65535);
        let m = self.mark();
        let mut fixed = [0u8; 10];
        fixed[0..2].copy_from_slice(&rtype.to_be_bytes());
        fixed[2..4].copy_from_slice(&class.to_be_bytes());
        fixed[4..8].copy_from_slice(&ttl.to_be_bytes());
        fixed[8..10].copy_from_slice(&(rdata.len() as u16).to_be_bytes());
        let r = self.put(owner).and_then(|_| self.put(&fixed)).and_then(|_| self.put(rdata));
        self.limit = saved;
        self.commit(section, m, r)
    }

    /// Copies raw octets (used for pre-rendered data).
    pub fn raw(&mut self, data: &[u8]) -> Result<(), Full> {
        self.put(data)
    }

    /// Number of compression targets remembered so far (at most
    /// [`COMP_MAX`]).
    pub fn compression_targets(&mut self) -> usize {
        self.register_question();
        self.ncomp
    }

    /// Appends `records` pre-rendered records in `section`: `data` is
    /// copied and the compression pointer at each offset of `ptrs` (into
    /// `data`) is moved `shift` octets further. The compression table is
    /// not extended, so nothing written afterwards compresses against
    /// these records (the caller writes only uncompressed records after
    /// them, such as OPT). All or nothing, like [`rr`](Self::rr).
    pub fn prerendered(
        &mut self,
        section: Section,
        data: &[u8],
        ptrs: &[u16],
        shift: u16,
        records: u16,
    ) -> Result<(), Full> {
        let at = self.pos;
        self.put(data)?;
        shift_pointers(&mut self.buf[at..self.pos], ptrs, shift);
        self.counts[section as usize] += records;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::name::from_text;

    #[test]
    fn compresses_against_question() {
        let mut buf = [0u8; 512];
        let mut w = Writer::new(&mut buf, 512);
        let mut q = from_text("WWW.Example.com.", None).unwrap().as_slice().to_vec();
        q.extend_from_slice(&[0, 1, 0, 1]);
        w.start(7, 0x8400, &q).unwrap();
        w.rr(Section::Answer, Owner::Ptr(12), 5, 1, 60, &from_text("mail.example.com.", None).unwrap()).unwrap();
        let n = w.finish();
        // header 12 + question 21 + ptr 2 + fixed 10 + "mail" 5 + ptr 2
        assert_eq!(n, 12 + 21 + 2 + 10 + 5 + 2);
        assert_eq!(&buf[n - 2..n], &[0xC0, 12 + 4]);
    }

    #[test]
    fn full_rolls_back() {
        let mut buf = [0u8; 512];
        let mut w = Writer::new(&mut buf, 40);
        w.start(1, 0, b"\x01a\x00\x00\x01\x00\x01").unwrap();
        assert_eq!(w.len(), 19);
        assert!(w.rr(Section::Answer, Owner::Ptr(12), 16, 1, 1, &[10; 30]).is_err());
        assert_eq!(w.len(), 19);
        assert_eq!(w.count(Section::Answer), 0);
    }

    /// The question enters the compression table when the first name is
    /// compressed; a rollback to a mark taken before that keeps it.
    #[test]
    fn question_targets_survive_a_rollback_past_their_registration() {
        let mut buf = [0u8; 512];
        let mut w = Writer::new(&mut buf, 512);
        let mut q = from_text("www.Example.com.", None).unwrap().as_slice().to_vec();
        q.extend_from_slice(&[0, 1, 0, 1]);
        w.start(7, 0x8400, &q).unwrap();
        let qend = w.len();
        let m = w.mark();
        w.name(&from_text("mail.example.com.", None).unwrap(), true).unwrap();
        // "mail" then a pointer to "Example.com." in the question (offset 16).
        assert_eq!(&buf_tail(&w, qend), &[4, b'm', b'a', b'i', b'l', 0xC0, 16]);
        w.rollback(m);
        assert_eq!(w.len(), qend);
        w.name(&from_text("ftp.www.example.com.", None).unwrap(), true).unwrap();
        assert_eq!(&buf_tail(&w, qend), &[3, b'f', b't', b'p', 0xC0, 12]);
        // Names written after the mark are forgotten: "mail" is not a target.
        w.rollback(m);
        w.name(&from_text("x.mail.example.com.", None).unwrap(), true).unwrap();
        assert_eq!(&buf_tail(&w, qend), &[1, b'x', 4, b'm', b'a', b'i', b'l', 0xC0, 16]);
        assert_eq!(w.compression_targets(), 3 + 2);
    }

    /// Raw octets after the question do not disturb its later registration.
    #[test]
    fn question_registers_after_raw_octets() {
        let mut buf = [0u8; 512];
        let mut w = Writer::new(&mut buf, 512);
        let mut q = from_text("a.example.", None).unwrap().as_slice().to_vec();
        q.extend_from_slice(&[0, 6, 0, 1]);
        w.start(1, 0, &q).unwrap();
        w.raw(&[0xC0, 12, 0, 1]).unwrap();
        let at = w.len();
        w.name(&from_text("b.example.", None).unwrap(), true).unwrap();
        assert_eq!(&buf_tail(&w, at), &[1, b'b', 0xC0, 14]);
    }

    fn buf_tail(w: &Writer<'_>, from: usize) -> Vec<u8> {
        w.buf[from..w.pos].to_vec()
    }
}
