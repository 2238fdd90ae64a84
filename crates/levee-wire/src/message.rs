//! A general message reader for the paths that are not hot: tests, tools,
//! and (later) zone transfers in. It decodes every record into owned data,
//! with names in RDATA decompressed.

use crate::header::{Header, HEADER_LEN};
use crate::name::{self, NameBuf};
use crate::record::{Fixed, FIXED_LEN};
use crate::rtype::{self, Field};
use crate::WireError;

/// One record with owned, decompressed data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Owner name (wire form, case as received).
    pub owner: Vec<u8>,
    /// Type.
    pub rtype: u16,
    /// Class.
    pub class: u16,
    /// TTL.
    pub ttl: u32,
    /// RDATA with names decompressed.
    pub rdata: Vec<u8>,
}

/// A question.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Question {
    /// Name (case as received).
    pub name: Vec<u8>,
    /// Type.
    pub qtype: u16,
    /// Class.
    pub qclass: u16,
}

/// A decoded message.
#[derive(Clone, Debug, Default)]
pub struct Message {
    /// Header.
    pub header: Header,
    /// Questions.
    pub question: Vec<Question>,
    /// Answer section.
    pub answer: Vec<Record>,
    /// Authority section.
    pub authority: Vec<Record>,
    /// Additional section, OPT included.
    pub additional: Vec<Record>,
}

impl Message {
    /// Decodes a whole message.
    pub fn parse(msg: &[u8]) -> Result<Message, WireError> {
        let header = Header::read(msg).ok_or(WireError::ShortInput)?;
        let mut m = Message { header, ..Default::default() };
        let mut pos = HEADER_LEN;
        let mut nb = NameBuf::root();
        for _ in 0..header.qdcount {
            pos = name::read_compressed(msg, pos, &mut nb)?;
            let f = msg.get(pos..pos + 4).ok_or(WireError::ShortInput)?;
            m.question.push(Question {
                name: nb.as_slice().to_vec(),
                qtype: u16::from_be_bytes([f[0], f[1]]),
                qclass: u16::from_be_bytes([f[2], f[3]]),
            });
            pos += 4;
        }
        for (count, sec) in [(header.ancount, 0), (header.nscount, 1), (header.arcount, 2)] {
            for _ in 0..count {
                let (rr, end) = read_record(msg, pos)?;
                pos = end;
                match sec {
                    0 => m.answer.push(rr),
                    1 => m.authority.push(rr),
                    _ => m.additional.push(rr),
                }
            }
        }
        Ok(m)
    }

    /// The OPT record, if any.
    pub fn opt(&self) -> Option<&Record> {
        self.additional.iter().find(|r| r.rtype == rtype::t::OPT)
    }

    /// The full rcode (header plus OPT extension).
    pub fn rcode(&self) -> u16 {
        let ext = self.opt().map_or(0, |o| (o.ttl >> 24) as u16);
        (ext << 4) | self.header.rcode() as u16
    }
}

/// Reads one record at `pos`; returns it and the position after it.
pub fn read_record(msg: &[u8], pos: usize) -> Result<(Record, usize), WireError> {
    let mut nb = NameBuf::root();
    let p = name::read_compressed(msg, pos, &mut nb)?;
    let f = msg.get(p..).and_then(Fixed::new).ok_or(WireError::ShortInput)?;
    let (rtype, class, ttl) = (f.rtype(), f.class(), f.ttl());
    let start = p + FIXED_LEN;
    let end = start + f.rdlen() as usize;
    if end > msg.len() {
        return Err(WireError::ShortInput);
    }
    let rdata = decompress_rdata(msg, start, end, rtype)?;
    Ok((Record { owner: nb.as_slice().to_vec(), rtype, class, ttl, rdata }, end))
}

/// Copies RDATA at `msg[start..end]`, expanding compressed names.
pub fn decompress_rdata(msg: &[u8], start: usize, end: usize, rtype: u16) -> Result<Vec<u8>, WireError> {
    let raw = &msg[start..end];
    // Empty RDATA stays empty: the RRset deletions and prerequisites of a
    // dynamic update (RFC 2136 §2.4, §2.5) carry none, whatever the type.
    if raw.is_empty() {
        return Ok(Vec::new());
    }
    let Some(layout) = rtype::layout(rtype).filter(|_| rtype::decompress_on_receive(rtype)) else {
        return Ok(raw.to_vec());
    };
    let mut out = Vec::with_capacity(raw.len() + 32);
    let mut p = start;
    let mut nb = NameBuf::root();
    for f in layout {
        match *f {
            Field::Name => {
                let next = name::read_compressed(msg, p, &mut nb)?;
                if next > end {
                    return Err(WireError::ShortInput);
                }
                out.extend_from_slice(nb.as_slice());
                p = next;
            }
            Field::Fixed(n) => {
                let e = p + n as usize;
                if e > end {
                    return Err(WireError::ShortInput);
                }
                out.extend_from_slice(&msg[p..e]);
                p = e;
            }
            Field::CharStr => {
                let l = *msg.get(p).ok_or(WireError::ShortInput)? as usize;
                if p + 1 + l > end {
                    return Err(WireError::ShortInput);
                }
                out.extend_from_slice(&msg[p..p + 1 + l]);
                p += 1 + l;
            }
            Field::Rest => {
                out.extend_from_slice(&msg[p..end]);
                p = end;
            }
        }
    }
    if p != end {
        return Err(WireError::TrailingData);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An UPDATE deleting the apex NS RRset: class ANY, type NS, no RDATA
    /// (a type whose RDATA holds a name).
    #[test]
    fn empty_rdata_of_a_type_with_names_is_read() {
        let mut m = vec![0, 1, 0x28, 0, 0, 1, 0, 0, 0, 1, 0, 0];
        m.extend_from_slice(b"\x02ex\x00\x00\x06\x00\x01");
        m.extend_from_slice(&[0xc0, 12, 0, 2, 0, 255, 0, 0, 0, 0, 0, 0]);
        let msg = Message::parse(&m).unwrap();
        assert_eq!(msg.authority[0].rtype, 2);
        assert!(msg.authority[0].rdata.is_empty());
        // A name cut short is still an error.
        let mut bad = m.clone();
        let n = bad.len();
        bad[n - 1] = 1;
        bad.push(5);
        assert!(Message::parse(&bad).is_err());
    }
}
