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
    ptrs: Vec<u16>,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(text: &str) -> Zone {
        zone_at("example.com.", text)
    }

    fn zone_at(origin: &str, text: &str) -> Zone {
        let o = name::from_text(origin, None).unwrap();
        crate::load(crate::Source::Memory { name: "t", data: text.as_bytes() }, &o).unwrap().zone
    }

    fn writer_output(z: &Zone, qname: &str, out: &mut [u8]) -> usize {
        let q = name::from_text(qname, None).unwrap();
        let mut question = q.as_slice().to_vec();
        question.extend_from_slice(&[0, 1, 0, 1]);
        let mut w = Writer::new(out, 1232);
        w.start(1, 0, &question).unwrap();
        let rd = z.first_rdata(z.soa());
        let ttl = z.rrset(z.soa()).ttl.min(Soa::from_rdata(rd).unwrap().minimum());
        w.rr(Section::Authority, Owner::Name(z.apex()), t::SOA, c::IN, ttl, rd).unwrap();
        w.finish()
    }

    fn fast_output(z: &Zone, qname: &str, out: &mut [u8]) -> Option<usize> {
        let n = z.negative_soa()?;
        let q = name::from_text(qname, None).unwrap();
        if !n.fits(&q) {
            return None;
        }
        let mut question = q.as_slice().to_vec();
        question.extend_from_slice(&[0, 1, 0, 1]);
        let mut w = Writer::new(out, 1232);
        w.start(1, 0, &question).unwrap();
        n.write(&mut w, &q).unwrap();
        Some(w.finish())
    }

    const ZONE: &str = "$TTL 3600\n@ SOA ns1 hostmaster.mail 1 2 3 4 300\n@ NS ns1\nns1 A 192.0.2.1\n";

    #[test]
    fn patched_record_equals_the_writers() {
        let z = zone(ZONE);
        let n = z.negative_soa().expect("rendered");
        // Owner, MNAME's apex suffix, RNAME's pointer to MNAME... : at least the owner.
        assert!(!n.ptrs.is_empty());
        let (mut a, mut b) = ([0u8; 600], [0u8; 600]);
        let mut fast = 0;
        for q in ["example.com.", "nx.example.com.", "A.b.C.Example.COM.", "x.mai.example.com.", "nS2.example.com."] {
            let want = writer_output(&z, q, &mut a);
            let got = fast_output(&z, q, &mut b).expect(q);
            assert_eq!(&a[..want], &b[..got], "{q}");
            fast += 1;
        }
        assert_eq!(fast, 5);
    }

    #[test]
    fn names_below_the_apex_in_mname_or_rname_take_the_writer() {
        let z = zone(ZONE);
        let n = z.negative_soa().unwrap();
        for q in ["ns1.example.com.", "x.NS1.example.com.", "hostmaster.mail.example.com.", "mail.example.com."] {
            let q = name::from_text(q, None).unwrap();
            assert!(!n.fits(&q));
        }
        // Those would indeed compress differently.
        let (mut a, mut b) = ([0u8; 600], [0u8; 600]);
        let want = writer_output(&z, "x.ns1.example.com.", &mut a);
        let q = name::from_text("x.ns1.example.com.", None).unwrap();
        let mut question = q.as_slice().to_vec();
        question.extend_from_slice(&[0, 1, 0, 1]);
        let mut w = Writer::new(&mut b, 1232);
        w.start(1, 0, &question).unwrap();
        n.write(&mut w, &q).unwrap();
        let got = w.finish();
        assert_ne!(&a[..want], &b[..got]);
    }

    #[test]
    fn many_labels_take_the_writer() {
        let z = zone(ZONE);
        let n = z.negative_soa().unwrap();
        let long = format!("{}example.com.", "a.".repeat(100));
        assert!(!n.fits(&name::from_text(&long, None).unwrap()));
    }

    /// The root zone (the apex is one octet, every name is below it), a
    /// SOA whose names are the apex itself, and names sharing labels with
    /// the apex: the copy is the writer's wherever `fits` says so, and
    /// `fits` says so for the plain random names of a flood.
    #[test]
    fn root_zone_and_apex_names() {
        let cases = [
            (".", "$TTL 60\n@ SOA a.root-servers.net. nstld.verisign-grs.com. 1 2 3 4 5\n@ NS a.root-servers.net.\na.root-servers.net. A 192.0.2.1\n"),
            ("example.com.", "$TTL 60\n@ SOA @ @ 1 2 3 4 5\n@ NS @\n@ A 192.0.2.1\n"),
            ("example.com.", "$TTL 60\n@ SOA ns.example.net. host.example.net. 1 2 3 4 5\n@ NS ns.example.net.\n"),
            ("a.b.", "$TTL 60\n@ SOA b. a.b.a.b. 1 2 3 4 5\n@ NS ns.other.\n"),
        ];
        let names = [
            "",
            "nx-q1w2e3.",
            "a.b.c.",
            "com.",
            "example.com.",
            "x.example.com.",
            "a.b.",
            "b.",
            "net.",
            "root-servers.net.",
            "x.a.root-servers.net.",
            "A.B.A.B.",
        ];
        let (mut a, mut b) = ([0u8; 600], [0u8; 600]);
        for (origin, text) in cases {
            let z = zone_at(origin, text);
            let neg = z.negative_soa().expect(origin);
            let mut fast = 0;
            for n in names {
                let qname = format!("{n}{}", if origin == "." { "" } else { origin });
                let qname = if qname.is_empty() { ".".to_string() } else { qname };
                let Ok(q) = name::from_text(&qname, None) else { continue };
                if !name::is_subdomain(&name::to_lowercase(&q), z.apex()) {
                    continue;
                }
                let want = writer_output(&z, &qname, &mut a);
                if let Some(got) = fast_output(&z, &qname, &mut b) {
                    assert_eq!(&a[..want], &b[..got], "{origin} {qname}");
                    fast += 1;
                }
            }
            assert!(fast >= 2, "{origin}: {fast}");
            let flood = format!("nx-7f3k2p.{}", if origin == "." { "" } else { origin });
            assert!(neg.fits(&name::from_text(&flood, None).unwrap()), "{origin}");
        }
    }
}
