//! Parsing an incoming query, in place and without allocation.
//!
//! [`parse_query`] reads the header, the single question, skips the answer
//! and authority sections (keeping the SOA serial of an IXFR request), and
//! decodes the OPT record in the additional section. It never panics and
//! does a bounded amount of work: every loop is limited by the message
//! length, and names may not use compression in the question.
//!
//! The result separates three outcomes the responder needs:
//! * [`Parsed::Drop`]: not worth an answer (shorter than a header, or a
//!   response: QR=1);
//! * a [`Query`] with `malformed` set: answer FORMERR, echoing what could
//!   be read;
//! * a well-formed [`Query`].
//!
//! [`QuestionRef`] reads a question's name, type and class in place (the
//! response cache walks a plain query's question itself and reads its
//! fixed part with it); [`write_question`] writes one.

use crate::edns::{self, Cookie, Edns};
use crate::header::{flag, Header, HEADER_LEN};
use crate::name::{NameBuf, MAX_LABEL_LEN, MAX_NAME_LEN};
use crate::record;
use crate::rtype::t;
use crate::soa::Soa;
use crate::Malformed;

/// The outcome of parsing.
#[derive(Clone, Debug)]
#[allow(clippy::large_enum_variant)] // kept on the stack: no allocation per query
pub enum Parsed {
    /// Send nothing.
    Drop,
    /// A query, possibly malformed.
    Query(Query),
}

/// A parsed query.
#[derive(Clone, Debug)]
pub struct Query {
    /// The header as received.
    pub header: Header,
    /// True if a question was read (`qname`, `qtype`, `qclass` valid).
    pub has_question: bool,
    /// The question name as sent (case preserved).
    pub qname: NameBuf,
    /// The question type.
    pub qtype: u16,
    /// The question class.
    pub qclass: u16,
    /// Octets of the question section in the message (from offset 12).
    pub question_len: usize,
    /// The OPT record, if any (and valid enough to read).
    pub edns: Option<Edns>,
    /// Set when the query must be answered with FORMERR.
    pub malformed: Option<Malformed>,
    /// For IXFR: the serial of the SOA in the authority section.
    pub ixfr_serial: Option<u32>,
    /// Number of records in the answer section.
    pub answer_records: u16,
    /// The TSIG record, if the query carries one (it is the last record).
    pub tsig: Option<Tsig>,
}

/// Where a query's TSIG record is (RFC 8945 §4.2): offsets into the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tsig {
    /// Start of the record (its owner name, the key name).
    pub start: usize,
    /// Start of the RDATA.
    pub rdata: usize,
    /// End of the record.
    pub end: usize,
}

impl Query {
    /// The opcode.
    pub fn opcode(&self) -> u8 {
        self.header.opcode()
    }

    /// True if DO (DNSSEC OK) was set in the OPT record.
    pub fn dnssec_ok(&self) -> bool {
        self.edns.as_ref().is_some_and(|e| e.dnssec_ok())
    }
}

/// Parses a query message.
#[inline] // lets the caller's frame hold the result: no copy of the Query
pub fn parse_query(msg: &[u8]) -> Parsed {
    let Some(header) = Header::read(msg) else {
        return Parsed::Drop;
    };
    if header.has(flag::QR) {
        return Parsed::Drop;
    }
    let mut q = Query {
        header,
        has_question: false,
        qname: NameBuf::root(),
        qtype: 0,
        qclass: 0,
        question_len: 0,
        edns: None,
        malformed: None,
        ixfr_serial: None,
        answer_records: header.ancount,
        tsig: None,
    };
    let mut pos = HEADER_LEN;
    match header.qdcount {
        0 => q.malformed = Some(Malformed::NoQuestion),
        1 => match read_question(msg, pos, &mut q.qname) {
            Some((qtype, qclass, end)) => {
                q.qtype = qtype;
                q.qclass = qclass;
                q.question_len = end - pos;
                q.has_question = true;
                pos = end;
            }
            None => {
                q.malformed = Some(Malformed::BadQuestion);
                return Parsed::Query(q);
            }
        },
        _ => {
            q.malformed = Some(Malformed::MultipleQuestions);
            return Parsed::Query(q);
        }
    }

    // Answer and authority: skip, but keep the IXFR serial and reject OPT.
    for section in 0..2 {
        let count = if section == 0 { header.ancount } else { header.nscount };
        for _ in 0..count {
            let Some(rr) = record::read_at(msg, pos) else {
                q.malformed.get_or_insert(Malformed::TruncatedRecord);
                return Parsed::Query(q);
            };
            if rr.rtype() == t::OPT {
                q.malformed.get_or_insert(Malformed::MisplacedOpt);
            }
            if section == 1 && rr.rtype() == t::SOA && q.qtype == t::IXFR && q.ixfr_serial.is_none() {
                q.ixfr_serial = Soa::in_message(msg, rr.rdata, rr.end).map(|s| s.serial().get());
            }
            pos = rr.end;
        }
    }

    // Additional: find the OPT record and a TSIG record.
    for i in 0..header.arcount {
        let Some(rr) = record::read_at(msg, pos) else {
            q.malformed.get_or_insert(Malformed::TruncatedRecord);
            return Parsed::Query(q);
        };
        if rr.rtype() == t::TSIG {
            if i + 1 != header.arcount {
                q.malformed.get_or_insert(Malformed::TsigNotLast);
            } else {
                q.tsig = Some(Tsig { start: pos, rdata: rr.rdata, end: rr.end });
            }
        } else if rr.rtype() == t::OPT {
            if q.edns.is_some() {
                q.malformed.get_or_insert(Malformed::DuplicateOpt);
            } else if !rr.root_owner {
                q.malformed.get_or_insert(Malformed::MisplacedOpt);
            } else {
                let (class, ttl) = (rr.fixed.class(), rr.fixed.ttl());
                match edns::parse_opt(class, ttl, &msg[rr.rdata..rr.end]) {
                    Ok(e) => q.edns = Some(e),
                    Err(m) => {
                        // Keep what the header of the OPT said so the FORMERR
                        // can still carry an OPT record.
                        q.edns = Some(Edns::bare(class, ttl));
                        q.malformed.get_or_insert(m);
                    }
                }
            }
        }
        pos = rr.end;
    }
    // Octets after the last counted record are ignored, as NSD and BIND do.
    Parsed::Query(q)
}

/// Reads an uncompressed question name (into `qname`), type and class at
/// `pos`.
fn read_question(msg: &[u8], pos: usize, qname: &mut NameBuf) -> Option<(u16, u16, usize)> {
    let mut p = pos;
    let mut total = 0usize;
    loop {
        let l = *msg.get(p)? as usize;
        if l == 0 {
            p += 1;
            break;
        }
        if l > MAX_LABEL_LEN {
            return None; // compression pointer or reserved label type
        }
        total += 1 + l;
        if total + 1 > MAX_NAME_LEN {
            return None;
        }
        p += 1 + l;
        if p > msg.len() {
            return None;
        }
    }
    let q = QuestionRef::at(msg, pos, p)?;
    // The walk above checked the labels and the length.
    qname.set_checked(q.name());
    Some((q.qtype(), q.qclass(), p + 4))
}

/// A question as it sits in a message: an uncompressed name, TYPE and
/// CLASS, read in place.
#[derive(Clone, Copy, Debug)]
pub struct QuestionRef<'a> {
    /// The whole question.
    all: &'a [u8],
    /// TYPE and CLASS.
    fixed: &'a [u8; 4],
}

impl<'a> QuestionRef<'a> {
    /// The question that is all of `b`: a name whose end the caller has
    /// found, then TYPE and CLASS. `None` if `b` is too short to hold one.
    #[inline]
    pub fn new(b: &'a [u8]) -> Option<Self> {
        let n = b.len().checked_sub(4).filter(|&n| n > 0)?;
        Some(QuestionRef { all: b, fixed: b[n..].try_into().ok()? })
    }

    /// The question of `msg` whose name the caller has walked:
    /// `msg[start..name_end]`, then TYPE and CLASS. `None` if the message
    /// ends before them.
    #[inline]
    pub fn at(msg: &'a [u8], start: usize, name_end: usize) -> Option<Self> {
        let fixed = msg.get(name_end..name_end + 4)?.try_into().ok()?;
        let all = msg.get(start..name_end + 4).filter(|_| name_end > start)?;
        Some(QuestionRef { all, fixed })
    }

    /// The first question of `msg`, if its name is not compressed (a
    /// query's never is: [`parse_query`] reads no other) and it is whole.
    pub fn read(msg: &'a [u8]) -> Option<Self> {
        let n = crate::name::wire_len(msg.get(HEADER_LEN..)?).ok()?;
        QuestionRef::at(msg, HEADER_LEN, HEADER_LEN + n)
    }

    /// The name as sent.
    #[inline]
    pub fn name(&self) -> &'a [u8] {
        &self.all[..self.all.len() - 4]
    }

    /// TYPE.
    #[inline]
    pub fn qtype(&self) -> u16 {
        u16::from_be_bytes([self.fixed[0], self.fixed[1]])
    }

    /// CLASS.
    #[inline]
    pub fn qclass(&self) -> u16 {
        u16::from_be_bytes([self.fixed[2], self.fixed[3]])
    }

    /// The question's octets.
    #[inline]
    pub fn as_slice(&self) -> &'a [u8] {
        self.all
    }
}

/// Writes the question `name` (uncompressed), `qtype`, `qclass` at the
/// start of `out`; returns its length.
pub fn write_question(out: &mut [u8], name: &[u8], qtype: u16, qclass: u16) -> usize {
    let n = name.len();
    out[..n].copy_from_slice(name);
    out[n..n + 2].copy_from_slice(&qtype.to_be_bytes());
    out[n + 2..n + 4].copy_from_slice(&qclass.to_be_bytes());
    n + 4
}

impl Edns {
    /// True if a COOKIE option was present.
    pub fn has_cookie(&self) -> bool {
        !matches!(self.cookie, Cookie::None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hdr(qd: u16, an: u16, ns: u16, ar: u16) -> Vec<u8> {
        let mut v = vec![0x12, 0x34, 0x01, 0x00];
        for c in [qd, an, ns, ar] {
            v.extend_from_slice(&c.to_be_bytes());
        }
        v
    }

    fn question(v: &mut Vec<u8>) {
        v.extend_from_slice(b"\x03www\x07example\x00\x00\x01\x00\x01");
    }

    #[test]
    fn simple() {
        let mut m = hdr(1, 0, 0, 1);
        question(&mut m);
        m.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 0]);
        let Parsed::Query(q) = parse_query(&m) else { panic!() };
        assert!(q.malformed.is_none());
        assert_eq!(q.qtype, 1);
        assert_eq!(q.question_len, 17);
        let e = q.edns.unwrap();
        assert_eq!(e.udp_size, 1232);
        assert!(e.dnssec_ok());
    }

    #[test]
    fn drops_and_formerr() {
        assert!(matches!(parse_query(&[0; 11]), Parsed::Drop));
        let mut r = hdr(1, 0, 0, 0);
        r[2] |= 0x80;
        assert!(matches!(parse_query(&r), Parsed::Drop));
        let Parsed::Query(q) = parse_query(&hdr(0, 0, 0, 0)) else { panic!() };
        assert_eq!(q.malformed, Some(Malformed::NoQuestion));
        let mut m = hdr(1, 0, 0, 0);
        m.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1]);
        let Parsed::Query(q) = parse_query(&m) else { panic!() };
        assert_eq!(q.malformed, Some(Malformed::BadQuestion));
        let mut m = hdr(1, 0, 0, 2);
        question(&mut m);
        m.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]);
        m.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]);
        let Parsed::Query(q) = parse_query(&m) else { panic!() };
        assert_eq!(q.malformed, Some(Malformed::DuplicateOpt));
    }

    #[test]
    fn trailing_garbage_is_ignored() {
        let mut m = hdr(1, 0, 0, 0);
        question(&mut m);
        m.extend_from_slice(b"\xde\xad\xbe\xef");
        let Parsed::Query(q) = parse_query(&m) else { panic!() };
        assert!(q.malformed.is_none());
    }
}
