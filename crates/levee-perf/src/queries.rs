//! Reading a dnsperf-format query file into wire-format queries.

use levee_wire::header::{Header, HEADER_LEN};
use levee_wire::name;
use levee_wire::rtype::{c, type_from_text};

/// How the generated queries look.
#[derive(Clone, Copy, Debug, Default)]
pub struct QueryStyle {
    /// Add an OPT record (EDNS0, 1232-octet payload).
    pub edns: bool,
    /// Set DO in the OPT record (implies `edns`).
    pub dnssec: bool,
    /// Set RD in the header.
    pub rd: bool,
}

/// Queries in wire form, ID 0, stored end to end.
pub struct QuerySet {
    data: Vec<u8>,
    ends: Vec<u32>,
}

impl QuerySet {
    /// Number of queries.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// True if there is no query.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Query `i` (ID 0).
    pub fn get(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.data[start..self.ends[i] as usize]
    }
}

/// A line the parser rejected.
#[derive(Debug, PartialEq, Eq)]
pub struct BadLine {
    /// 1-based line number.
    pub line: usize,
    /// What was wrong.
    pub msg: String,
}

impl std::fmt::Display for BadLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.msg)
    }
}

/// Parses dnsperf's format: one `name type` per line (names are absolute
/// with or without the trailing dot), blank lines and lines starting with
/// `#` or `;` ignored.
pub fn parse(text: &[u8], style: QueryStyle) -> Result<QuerySet, BadLine> {
    let mut set = QuerySet { data: Vec::with_capacity(text.len() + text.len() / 2), ends: Vec::new() };
    for (i, line) in text.split(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let mut f = line.split(|b| b.is_ascii_whitespace()).filter(|t| !t.is_empty());
        let Some(qname) = f.next() else { continue };
        if qname[0] == b'#' || qname[0] == b';' {
            continue;
        }
        let bad = |msg: String| BadLine { line: i + 1, msg };
        let qtype = match f.next() {
            Some(t) => {
                type_from_text(t).ok_or_else(|| bad(format!("unknown type {:?}", String::from_utf8_lossy(t))))?
            }
            None => return Err(bad("expected `name type`".into())),
        };
        if f.next().is_some() {
            return Err(bad("expected `name type`".into()));
        }
        let n = name::from_text_bytes(qname, Some(&[0]))
            .map_err(|e| bad(format!("bad name {:?}: {e:?}", String::from_utf8_lossy(qname))))?;
        encode(&mut set.data, n.as_slice(), qtype, style);
        set.ends.push(set.data.len() as u32);
    }
    if set.is_empty() {
        return Err(BadLine { line: 0, msg: "no queries in the file".into() });
    }
    Ok(set)
}

/// Appends one query with ID 0.
fn encode(out: &mut Vec<u8>, qname: &[u8], qtype: u16, style: QueryStyle) {
    let edns = style.edns || style.dnssec;
    let h = Header {
        id: 0,
        flags: if style.rd { levee_wire::header::flag::RD } else { 0 },
        qdcount: 1,
        ancount: 0,
        nscount: 0,
        arcount: edns as u16,
    };
    let start = out.len();
    out.resize(start + HEADER_LEN, 0);
    h.write(&mut out[start..]);
    out.extend_from_slice(qname);
    out.extend_from_slice(&qtype.to_be_bytes());
    out.extend_from_slice(&c::IN.to_be_bytes());
    if edns {
        let do_bit: u16 = if style.dnssec { 0x8000 } else { 0 };
        out.push(0); // root owner
        out.extend_from_slice(&41u16.to_be_bytes());
        out.extend_from_slice(&1232u16.to_be_bytes());
        out.extend_from_slice(&[0, 0]); // extended rcode, version
        out.extend_from_slice(&do_bit.to_be_bytes());
        out.extend_from_slice(&[0, 0]); // no options
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use levee_wire::query::{parse_query, Parsed};

    #[test]
    fn dnsperf_lines_become_queries() {
        let text = b"# comment\nwww.example.com A\n\n; other\nExample.COM. mx\r\nx.example.com TYPE65\n";
        let set = parse(text, QueryStyle { dnssec: true, ..Default::default() }).unwrap();
        assert_eq!(set.len(), 3);
        let expect = [("www.example.com.", 1u16), ("Example.COM.", 15), ("x.example.com.", 65)];
        for (i, (n, t)) in expect.iter().enumerate() {
            let Parsed::Query(q) = parse_query(set.get(i)) else { panic!("dropped") };
            assert!(q.malformed.is_none());
            assert_eq!(q.qname.as_slice(), name::from_text(n, None).unwrap().as_slice());
            assert_eq!(q.qtype, *t);
            assert!(q.dnssec_ok());
            assert_eq!(q.header.id, 0);
        }
    }

    #[test]
    fn plain_queries_have_no_opt() {
        let set = parse(b"a.test A\n", QueryStyle::default()).unwrap();
        let Parsed::Query(q) = parse_query(set.get(0)) else { panic!("dropped") };
        assert!(q.edns.is_none());
        assert_eq!(set.get(0).len(), 12 + 8 + 4);
    }

    #[test]
    fn bad_lines_are_reported_with_their_number() {
        assert_eq!(parse(b"a.test A\nb.test NOPE\n", QueryStyle::default()).err().unwrap().line, 2);
        assert_eq!(parse(b"a.test\n", QueryStyle::default()).err().unwrap().line, 1);
        assert_eq!(parse(b"a.test A IN\n", QueryStyle::default()).err().unwrap().line, 1);
        assert!(parse(b"# nothing\n", QueryStyle::default()).is_err());
    }
}
