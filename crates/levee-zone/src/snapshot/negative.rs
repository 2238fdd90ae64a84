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
//! pointer ([`Writer::prerendered`]). The rendering happens when a zone is
//! assembled (`NegativeSoa::render` lives in `zone.rs`, so this module
//! does not know the snapshot type). Two cases compress differently and
//! must take the writer instead ([`NegativeSoa::fits`]):
//!
//! * a suffix of the query name *below* the apex equal to a suffix of MNAME
//!   or RNAME (e.g. NODATA for `ns1.example.com` when MNAME is that name):
//!   the writer would point into the question there;
//! * a query name with so many labels that the writer's table of
//!   compression targets ([`levee_wire::writer::COMP_MAX`]) would fill up.

use levee_wire::writer::{Section, Writer, COMP_MAX};

/// A zone's pre-rendered SOA record for negative answers.
#[derive(Clone, Debug, Default)]
pub struct NegativeSoa {
    /// The record(s) as written after a question whose name is the apex.
    pub(crate) bytes: Vec<u8>,
    /// Offsets of the compression pointers in `bytes`.
    pub(crate) ptrs: Vec<u16>,
    /// Records in `bytes` (the SOA RRset: one).
    pub(crate) records: u16,
    /// Compression targets the writer registers while writing the records.
    pub(crate) targets: usize,
    /// Suffixes of MNAME and RNAME below the apex, as lowercase wire names.
    pub(crate) below_apex: Vec<Vec<u8>>,
    /// Length of the apex name.
    pub(crate) apex_len: usize,
}

impl NegativeSoa {
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
