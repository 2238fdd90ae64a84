//! The SOA record of negative answers, rendered once per zone snapshot.
//!
//! An NXDOMAIN or NODATA response without DNSSEC proofs is the header, the
//! question and the zone's SOA in the authority section (RFC 2308 §3), with
//! the TTL of RFC 2308 §5 (the smaller of the SOA's TTL and its MINIMUM).
//! Written with name compression right after the question, that record is
//! the same octets for every query name below the apex except for its
//! compression pointers: the owner (the apex) and every suffix of MNAME and
//! RNAME at or above the apex point into the question, at the apex's
//! offset inside the query name, and the suffixes RNAME shares with MNAME
//! point into the record itself, which starts right after the question.
//! Both move by the same amount: the octets the query name has before the
//! apex.
//!
//! So the record is rendered once, by the same [`Writer`], after a question
//! whose name is the apex, and the offsets of its pointers are kept; an
//! answer copies the octets and adds the query name's extra length to each
//! pointer ([`Writer::prerendered`]). Two cases compress differently and
//! must take the writer instead ([`NegativeSoa::fits`]):
//!
//! * a suffix of the query name *below* the apex equal to a suffix of MNAME
//!   or RNAME (e.g. NODATA for `ns1.example.com` when MNAME is that name):
//!   the writer would point into the question there;
//! * a query name with so many labels that the writer's table of
//!   compression targets ([`levee_wire::writer::COMP_MAX`]) would fill up.

use levee_wire::name;
use levee_wire::rtype::{c, t};
use levee_wire::soa::Soa;
use levee_wire::writer::{Owner, Section, Writer, COMP_MAX};

use crate::snapshot::zone::Zone;

/// A zone's pre-rendered SOA record for negative answers.
#[derive(Clone, Debug, Default)]
pub struct NegativeSoa {
    /// The record(s) as written after a question whose name is the apex.
    bytes: Vec<u8>,
    /// Offsets of the compression pointers in `bytes`.
    pub(crate) ptrs: Vec<u16>,
    /// Records in `bytes` (the SOA RRset: one).
    records: u16,
    /// Compression targets the writer registers while writing the records.
    targets: usize,
    /// Suffixes of MNAME and RNAME below the apex, as lowercase wire names.
    below_apex: Vec<Vec<u8>>,
    /// Length of the apex name.
    apex_len: usize,
}

impl NegativeSoa {
    /// Renders the SOA of `zone`; `None` if the zone has no SOA record or
    /// its names leave no room in the compression table.
    pub fn render(zone: &Zone) -> Option<Self> {
        let soa = zone.soa();
        let apex = zone.apex();
        let s = zone.rrset(soa);
        let rd = zone.first_rdata(soa);
        if s.rtype != t::SOA {
            return None;
        }
        let ttl = s.ttl.min(Soa::from_rdata(rd)?.minimum());
        let mut buf = vec![0u8; 65535];
        let mut w = Writer::new(&mut buf, 65535);
        let mut question = apex.to_vec();
        question.extend_from_slice(&t::SOA.to_be_bytes());
        question.extend_from_slice(&c::IN.to_be_bytes());
        w.start(0, 0, &question).ok()?;
        let before = w.compression_targets();
        let mut records = 0u16;
        for rd in zone.rdatas(soa) {
            w.rr(Section::Authority, Owner::Name(apex), t::SOA, c::IN, ttl, rd).ok()?;
            records += 1;
        }
        let targets = w.compression_targets() - before;
        if w.compression_targets() >= COMP_MAX {
            return None;
        }
        let start = 12 + question.len();
        let end = w.finish();
        let bytes = buf[start..end].to_vec();
        // Where the pointers are: owner, fixed fields, then for SOA the two
        // compressed names of the RDATA.
        let mut ptrs = Vec::new();
        let mut pos = 0;
        for _ in 0..records {
            pos = pointers_in_name(&bytes, pos, &mut ptrs)?;
            let rdlen = u16::from_be_bytes([*bytes.get(pos + 8)?, *bytes.get(pos + 9)?]) as usize;
            pos += 10;
            let rd_end = pos + rdlen;
            pos = pointers_in_name(&bytes, pos, &mut ptrs)?;
            pos = pointers_in_name(&bytes, pos, &mut ptrs)?;
            if pos > rd_end {
                return None;
            }
            pos = rd_end;
        }
        if pos != bytes.len() {
            return None;
        }
        let mut below_apex = Vec::new();
        let apex_labels = name::label_count(apex);
        let mname_len = name::wire_len(rd).ok()?;
        let rname_len = name::wire_len(&rd[mname_len..]).ok()?;
        for n in [&rd[..mname_len], &rd[mname_len..mname_len + rname_len]] {
            let n = name::to_lowercase(n);
            if !name::is_subdomain(&n, apex) {
                continue;
            }
            let labels = name::label_count(&n);
            for extra in 1..=labels.saturating_sub(apex_labels) {
                below_apex.push(name::strip_labels(&n, labels - apex_labels - extra).to_vec());
            }
        }
        Some(NegativeSoa { bytes, ptrs, records, targets, below_apex, apex_len: apex.len() })
    }

    /// True if the pre-rendered record is what the writer would write
    /// right after a question with the name `qname` (any letter case; a
    /// name at or below the zone's apex).
    #[inline]
    pub fn fits(&self, qname: &[u8]) -> bool {
        // Labels are at least two octets, so this bounds the question's
        // compression targets from above.
        if qname.len() / 2 + self.targets > COMP_MAX || qname.len() < self.apex_len {
            return false;
        }
        // A byte match that is not at a label boundary only costs the fast
        // path.
        !self.below_apex.iter().any(|d| {
            let tail = qname.len().wrapping_sub(d.len());
            // The first octet (a label length) rejects most names at once.
            qname.len() >= d.len() && qname[tail] == d[0] && qname[tail..].eq_ignore_ascii_case(d)
        })
    }

    /// Writes the record(s) into the authority section of `w`, which holds
    /// the header and a question whose name is `qname` and nothing else
    /// yet, and for which [`fits`](Self::fits) said yes.
    #[inline]
    pub fn write(&self, w: &mut Writer<'_>, qname: &[u8]) -> Result<(), levee_wire::writer::Full> {
        let shift = (qname.len() - self.apex_len) as u16;
        w.prerendered(Section::Authority, &self.bytes, &self.ptrs, shift, self.records)
    }

    /// The rendered octets (after a question whose name is the apex).
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Records in [`bytes`](Self::bytes).
    pub fn records(&self) -> u16 {
        self.records
    }

    /// Copies the record(s) to `out`, a message right after a question
    /// whose name is `qname` (for which [`fits`](Self::fits) said yes),
    /// moving the compression pointers to the apex inside `qname`: what
    /// [`write`](Self::write) does, for a caller that writes the message
    /// itself. `out` must hold [`bytes`](Self::bytes).
    #[inline]
    pub fn copy_to(&self, out: &mut [u8], qname: &[u8]) {
        let shift = (qname.len() - self.apex_len) as u16;
        let out = &mut out[..self.bytes.len()];
        out.copy_from_slice(&self.bytes);
        levee_wire::writer::shift_pointers(out, &self.ptrs, shift);
    }
}

/// Walks a compressed name at `pos`, noting the offset of its pointer.
fn pointers_in_name(b: &[u8], mut pos: usize, ptrs: &mut Vec<u16>) -> Option<usize> {
    loop {
        let l = *b.get(pos)?;
        if l & 0xC0 == 0xC0 {
            ptrs.push(pos as u16);
            return Some(pos + 2);
        }
        if l == 0 {
            return Some(pos + 1);
        }
        if l & 0xC0 != 0 {
            return None;
        }
        pos += 1 + l as usize;
    }
}
