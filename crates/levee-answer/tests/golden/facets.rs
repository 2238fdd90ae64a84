//! A port of the normalisation and comparison rules of the shared
//! conformance harness (`diff.py`: `facets_of`, `response_kind`,
//! `classify`, `compare`, `context`, `normalise_any`, `_xfr_done`).
//!
//! The one deliberate change: diff.py writes each RR as dnspython text
//! (`owner TTL CLASS TYPE rdata`); here an RR is the tuple (owner
//! lowercased, type, class, TTL, canonical RDATA octets), where canonical
//! means the embedded names of the RFC 4034 §6.2 types lowercased
//! (`levee_wire::rtype::canonical_lowercase`). What dnspython does while
//! reading a message is kept: RRs of one RRset (same owner, ignoring case,
//! class, type and covered type) are merged, the RRset gets the smallest
//! TTL, duplicate RDATA is dropped, a second CNAME/DNAME/SOA/NSEC/NXT RDATA
//! replaces the first, TTLs above 2^31-1 read as 0, and an OPT outside the
//! additional section, a second OPT, an OPT with a non-root owner, a TSIG,
//! trailing octets or an EDNS option dnspython cannot read make the message
//! unparseable (or "trailing-junk").

use std::collections::{BTreeMap, BTreeSet};

use levee_wire::header::{Header, HEADER_LEN};
use levee_wire::message::{read_record, Record};
use levee_wire::name::{self, NameBuf};
use levee_wire::rtype::{self, t, Field};

pub const CLIENT_COOKIE: [u8; 8] = [1, 2, 3, 4, 5, 6, 7, 8];
const FLAGBITS: [(&str, u16); 8] = [
    ("flag.QR", 0x8000),
    ("flag.AA", 0x0400),
    ("flag.TC", 0x0200),
    ("flag.RD", 0x0100),
    ("flag.RA", 0x0080),
    ("flag.Z", 0x0040),
    ("flag.AD", 0x0020),
    ("flag.CD", 0x0010),
];
const DO: u32 = 0x8000;
pub const ANY_OK: &str = "<ANY: non-empty subset of the references' ANY data (RFC 8482)>";

// ------------------------------------------------------------------------
// values
// ------------------------------------------------------------------------

/// One RR in comparable form.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rr {
    /// Owner, wire form, lowercased.
    pub owner: Vec<u8>,
    pub rtype: u16,
    pub class: u16,
    pub ttl: u32,
    /// RDATA with embedded names lowercased for the RFC 4034 §6.2 types.
    pub rdata: Vec<u8>,
}

/// One RR as received (for the soft `*.case` facets): owner and RDATA in
/// their original case, no TTL or class (as diff.py).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RrCase {
    pub owner: Vec<u8>,
    pub rtype: u16,
    pub rdata: Vec<u8>,
}

/// A facet value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Value {
    Bool(bool),
    Int(i64),
    Text(String),
    Texts(Vec<String>),
    /// A multiset of RRs, sorted.
    Rrs(Vec<Rr>),
    /// A multiset of RRs as received, sorted.
    Cases(Vec<RrCase>),
}

pub type Facets = BTreeMap<&'static str, Value>;

/// What the query line says (diff.py's `Query`, as far as the comparison needs).
pub struct QueryInfo {
    /// The qtype token exactly as written (`A`, `ANY`, `TYPE65280`, `-` for raw packets).
    pub qtype: String,
    /// qtype is AXFR or IXFR.
    pub xfr: bool,
}

impl QueryInfo {
    pub fn from_line(line: &str) -> QueryInfo {
        let qtype = line.split_whitespace().nth(2).unwrap_or("-").to_string();
        let xfr = qtype == "AXFR" || qtype == "IXFR";
        QueryInfo { qtype, xfr }
    }
}

/// One server's response to one exchange.
#[derive(Clone, Debug)]
pub struct Response {
    /// The messages (one for UDP and plain TCP, the stream for AXFR/IXFR);
    /// empty when there was no response.
    pub msgs: Vec<Vec<u8>>,
    /// `ok`, or why there was no response (`timeout`, `closed`, ...).
    pub status: String,
    /// The ID the query carried.
    pub qid: u16,
}

// ------------------------------------------------------------------------
// reading messages the way dnspython does
// ------------------------------------------------------------------------

/// An RRset as dnspython builds it while reading a section.
pub struct RRset {
    /// Owner of the first RR (case as received).
    pub name: Vec<u8>,
    pub class: u16,
    pub rtype: u16,
    pub covers: u16,
    pub ttl: u32,
    /// (canonical RDATA, RDATA as received).
    pub rdatas: Vec<(Vec<u8>, Vec<u8>)>,
}

pub struct Msg {
    pub header: Header,
    /// (name as received, qtype, qclass).
    pub question: Vec<(Vec<u8>, u16, u16)>,
    pub answer: Vec<RRset>,
    pub authority: Vec<RRset>,
    pub additional: Vec<RRset>,
    /// The OPT record (owner root), if any.
    pub opt: Option<Record>,
}

impl Msg {
    /// The full rcode (header and OPT extension).
    pub fn rcode(&self) -> u16 {
        let ext = self.opt.as_ref().map_or(0, |o| (o.ttl >> 24) as u16);
        (ext << 4) | self.header.rcode() as u16
    }

    fn aa(&self) -> bool {
        self.header.flags & 0x0400 != 0
    }
}

fn covers_of(rtype: u16, rdata: &[u8]) -> u16 {
    if (rtype == t::RRSIG || rtype == t::SIG) && rdata.len() >= 2 {
        u16::from_be_bytes([rdata[0], rdata[1]])
    } else {
        0
    }
}

fn is_singleton(rtype: u16) -> bool {
    matches!(rtype, t::SOA | t::NXT | t::DNAME | t::NSEC | t::CNAME)
}

/// Canonical RDATA (RFC 4034 §6.2): names embedded in the RDATA of the
/// listed types lowercased. Anything that does not follow the type's
/// layout is left as it is.
pub fn canonical_rdata(rt: u16, rdata: &[u8]) -> Vec<u8> {
    let mut out = rdata.to_vec();
    if !rtype::canonical_lowercase(rt) {
        return out;
    }
    let Some(layout) = rtype::layout(rt) else { return out };
    let mut p = 0usize;
    for f in layout {
        match *f {
            Field::Name => {
                let Ok(l) = name::wire_len(&rdata[p.min(rdata.len())..]) else { return rdata.to_vec() };
                // Length octets are at most 63, below 'A': lowercasing the
                // whole encoding only touches label data.
                out[p..p + l].make_ascii_lowercase();
                p += l;
            }
            Field::Fixed(n) => p += n as usize,
            Field::CharStr => match rdata.get(p) {
                Some(&l) => p += 1 + l as usize,
                None => return rdata.to_vec(),
            },
            Field::Rest => break,
        }
        if p > rdata.len() {
            return rdata.to_vec();
        }
    }
    out
}

/// Checks the EDNS options the way dnspython's option readers do; an
/// error makes dnspython reject the whole message.
fn check_options(rdata: &[u8]) -> Result<(), String> {
    let mut p = 0;
    while p < rdata.len() {
        let h = rdata.get(p..p + 4).ok_or("FormError(option header)")?;
        let code = u16::from_be_bytes([h[0], h[1]]);
        let len = u16::from_be_bytes([h[2], h[3]]) as usize;
        let d = rdata.get(p + 4..p + 4 + len).ok_or("FormError(option length)")?;
        match code {
            10
                // client cookie 8 octets, server cookie empty or 8..=32
                if (len < 8 || (len > 8 && !(16..=40).contains(&len))) => {
                    return Err("FormError(COOKIE length)".into());
                }
            15 => {
                if len < 2 {
                    return Err("FormError(EDE length)".into());
                }
                let mut text = &d[2..];
                if text.last() == Some(&0) {
                    text = &text[..text.len() - 1];
                }
                if std::str::from_utf8(text).is_err() {
                    return Err("FormError(EDE text)".into());
                }
            }
            8 => {
                if len < 4 {
                    return Err("FormError(ECS length)".into());
                }
                let family = u16::from_be_bytes([d[0], d[1]]);
                let (src, scope) = (d[2] as usize, d[3] as usize);
                let bits = match family {
                    1 => 32,
                    2 => 128,
                    _ => return Err("FormError(ECS family)".into()),
                };
                if src > bits || scope > bits || len - 4 != src.div_ceil(8) {
                    return Err("FormError(ECS prefix)".into());
                }
                if src % 8 != 0 && d[len - 1] & (0xFF >> (src % 8)) != 0 {
                    return Err("FormError(ECS padding)".into());
                }
            }
            _ => {}
        }
        p += 4 + len;
    }
    Ok(())
}

/// Reads a message like `dns.message.from_wire`. With `one_rr_per_rrset`
/// every RR is its own RRset (no merging, as diff.py reads transfers).
pub fn parse(wire: &[u8], ignore_trailing: bool, one_rr_per_rrset: bool) -> Result<Msg, String> {
    let header = Header::read(wire).ok_or("ShortHeader")?;
    let mut m = Msg {
        header,
        question: Vec::new(),
        answer: Vec::new(),
        authority: Vec::new(),
        additional: Vec::new(),
        opt: None,
    };
    let mut pos = HEADER_LEN;
    let mut nb = NameBuf::root();
    for _ in 0..header.qdcount {
        pos = name::read_compressed(wire, pos, &mut nb).map_err(|e| format!("{e:?}"))?;
        let f = wire.get(pos..pos + 4).ok_or("ShortInput(question)")?;
        m.question.push((nb.as_slice().to_vec(), u16::from_be_bytes([f[0], f[1]]), u16::from_be_bytes([f[2], f[3]])));
        pos += 4;
    }
    for (sec, count) in [(0, header.ancount), (1, header.nscount), (2, header.arcount)] {
        for _ in 0..count {
            let (mut rr, end) = read_record(wire, pos).map_err(|e| format!("{e:?}"))?;
            pos = end;
            match rr.rtype {
                t::OPT => {
                    if sec != 2 || m.opt.is_some() || rr.owner.as_slice() != name::ROOT {
                        return Err("BadEDNS".into());
                    }
                    check_options(&rr.rdata)?;
                    m.opt = Some(rr);
                    continue;
                }
                t::TSIG => return Err("UnknownTSIGKey".into()),
                t::A if rr.rdata.len() != 4 => return Err("FormError(A)".into()),
                t::AAAA if rr.rdata.len() != 16 => return Err("FormError(AAAA)".into()),
                _ => {}
            }
            if rr.ttl > 0x7FFF_FFFF {
                rr.ttl = 0;
            }
            let section = match sec {
                0 => &mut m.answer,
                1 => &mut m.authority,
                _ => &mut m.additional,
            };
            let covers = covers_of(rr.rtype, &rr.rdata);
            let canon = canonical_rdata(rr.rtype, &rr.rdata);
            let found = if one_rr_per_rrset {
                None
            } else {
                section.iter_mut().find(|s| {
                    s.rtype == rr.rtype
                        && s.class == rr.class
                        && s.covers == covers
                        && name::eq_ignore_case(&s.name, &rr.owner)
                })
            };
            match found {
                Some(s) => {
                    s.ttl = s.ttl.min(rr.ttl);
                    if is_singleton(rr.rtype) {
                        s.rdatas.clear();
                    }
                    if !s.rdatas.iter().any(|(c, _)| *c == canon) {
                        s.rdatas.push((canon, rr.rdata));
                    }
                }
                None => section.push(RRset {
                    name: rr.owner,
                    class: rr.class,
                    rtype: rr.rtype,
                    covers,
                    ttl: rr.ttl,
                    rdatas: vec![(canon, rr.rdata)],
                }),
            }
        }
    }
    if !ignore_trailing && pos != wire.len() {
        return Err("TrailingJunk".into());
    }
    Ok(m)
}

fn rr_values(section: &[RRset]) -> (Vec<Rr>, Vec<RrCase>) {
    let (mut canon, mut orig) = (Vec::new(), Vec::new());
    for s in section {
        let owner = name::to_lowercase(&s.name).as_slice().to_vec();
        for (c, o) in &s.rdatas {
            canon.push(Rr { owner: owner.clone(), rtype: s.rtype, class: s.class, ttl: s.ttl, rdata: c.clone() });
            orig.push(RrCase { owner: s.name.clone(), rtype: s.rtype, rdata: o.clone() });
        }
    }
    canon.sort();
    orig.sort();
    (canon, orig)
}

// ------------------------------------------------------------------------
// text
// ------------------------------------------------------------------------

pub fn rcode_text(rc: u16) -> String {
    const NAMES: [&str; 24] = [
        "NOERROR",
        "FORMERR",
        "SERVFAIL",
        "NXDOMAIN",
        "NOTIMP",
        "REFUSED",
        "YXDOMAIN",
        "YXRRSET",
        "NXRRSET",
        "NOTAUTH",
        "NOTZONE",
        "DSOTYPENI",
        "12",
        "13",
        "14",
        "15",
        "BADVERS",
        "BADKEY",
        "BADTIME",
        "BADMODE",
        "BADNAME",
        "BADALG",
        "BADTRUNC",
        "BADCOOKIE",
    ];
    NAMES.get(rc as usize).map_or_else(|| rc.to_string(), |s| s.to_string())
}

fn opcode_text(op: u8) -> String {
    match op {
        0 => "QUERY".into(),
        1 => "IQUERY".into(),
        2 => "STATUS".into(),
        4 => "NOTIFY".into(),
        5 => "UPDATE".into(),
        n => n.to_string(),
    }
}

fn edns_option_repr(code: u16, data: &[u8]) -> String {
    match code {
        10 if data.len() < 8 => format!("COOKIE(malformed,len={})", data.len()),
        10 => {
            let echo = if data[..8] == CLIENT_COOKIE { "echo" } else { "client-mismatch" };
            format!("COOKIE({echo},server-len={})", data.len() - 8)
        }
        3 => format!("NSID(len={})", data.len()),
        15 => match data.get(..2) {
            Some(c) => format!("EDE(code={})", u16::from_be_bytes([c[0], c[1]])),
            None => "EDE(code=?)".into(),
        },
        11 => format!("TCP-KEEPALIVE(len={})", data.len()),
        12 => "PADDING".into(),
        _ => {
            let hex: String = data.iter().take(16).map(|b| format!("{b:02x}")).collect();
            format!("OPT{code}(len={},{hex})", data.len())
        }
    }
}

fn options_of(rdata: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut p = 0;
    while let Some(h) = rdata.get(p..p + 4) {
        let code = u16::from_be_bytes([h[0], h[1]]);
        let len = u16::from_be_bytes([h[2], h[3]]) as usize;
        let Some(d) = rdata.get(p + 4..p + 4 + len) else { break };
        out.push(edns_option_repr(code, d));
        p += 4 + len;
    }
    out.sort();
    out
}

// ------------------------------------------------------------------------
// facets
// ------------------------------------------------------------------------

pub const PROOF_TYPES: [u16; 2] = [t::NSEC, t::NSEC3];

fn response_kind(m: &Msg, q: &QueryInfo) -> &'static str {
    let rc = m.rcode();
    if rc == 3 {
        return "nxdomain";
    }
    if rc != 0 {
        return "error";
    }
    let qt = rtype::type_from_text(q.qtype.as_bytes()).or_else(|| m.question.first().map(|q| q.1));
    let types: BTreeSet<u16> = m.answer.iter().map(|r| r.rtype).collect();
    if !m.answer.is_empty()
        && (qt.is_some_and(|x| types.contains(&x)) || qt == Some(t::ANY) || (qt == Some(t::RRSIG) && !types.is_empty()))
    {
        for r in &m.answer {
            if r.rtype == t::RRSIG {
                let owner_labels = name::label_count(&r.name);
                let first_is_star = name::first_label(&r.name) == b"*";
                for (_, rd) in &r.rdatas {
                    if let Some(&labels) = rd.get(3) {
                        if (labels as usize) < owner_labels && !first_is_star {
                            return "answer-wildcard";
                        }
                    }
                }
            }
        }
        return "answer";
    }
    let has_ns = m.authority.iter().any(|r| r.rtype == t::NS);
    let has_soa = m.authority.iter().any(|r| r.rtype == t::SOA);
    if !m.aa() && has_ns && m.answer.is_empty() {
        return "referral";
    }
    if !m.answer.is_empty() && !has_soa {
        return if has_ns && !m.aa() { "cname-referral" } else { "cname-out" };
    }
    "nodata"
}

/// diff.py's `facets_of`: the normalised view of one exchange and the
/// response kind.
pub fn facets_of(q: &QueryInfo, res: &Response) -> (Facets, &'static str) {
    let mut f = Facets::new();
    let Some(wire) = res.msgs.first() else {
        f.insert("rcode", Value::Text("NO-RESPONSE".into()));
        f.insert("noresp.detail", Value::Text(res.status.clone()));
        return (f, "none");
    };
    if wire.len() < 12 {
        f.insert("rcode", Value::Text("SHORT-RESPONSE".into()));
        return (f, "none");
    }
    let rid = u16::from_be_bytes([wire[0], wire[1]]);
    let flags = u16::from_be_bytes([wire[2], wire[3]]);
    f.insert("id_match", Value::Bool(rid == res.qid));
    let m = match parse(wire, false, false) {
        Ok(m) => m,
        Err(e) if e == "TrailingJunk" => {
            let m = parse(wire, true, false).expect("parses when trailing octets are ignored");
            f.insert("parse", Value::Text("trailing-junk".into()));
            m
        }
        Err(e) => {
            f.insert("rcode", Value::Text(rcode_text(flags & 0xF)));
            f.insert("parse", Value::Text(format!("unparseable:{e}")));
            for (n, b) in FLAGBITS {
                f.insert(n, Value::Int((flags & b != 0) as i64));
            }
            return (f, "error");
        }
    };
    f.insert("rcode", Value::Text(rcode_text(m.rcode())));
    f.insert("opcode", Value::Text(opcode_text(m.header.opcode())));
    for (n, b) in FLAGBITS {
        f.insert(n, Value::Int((m.header.flags & b != 0) as i64));
    }
    f.insert(
        "question",
        Value::Texts(
            m.question
                .iter()
                .map(|(n, qt, qc)| {
                    format!("{} {} {}", name::to_text(n), rtype::class_to_text(*qc), rtype::type_to_text(*qt))
                })
                .collect(),
        ),
    );
    let mut kind = response_kind(&m, q);
    if q.xfr && m.rcode() == 0 {
        kind = "xfr";
        let (mut allc, mut allo) = (Vec::new(), Vec::new());
        let mut secs = Vec::new();
        for w in &res.msgs {
            match parse(w, true, true) {
                Ok(mm) => {
                    let (c, o) = rr_values(&mm.answer);
                    allc.extend(c);
                    allo.extend(o);
                    secs.push(mm);
                }
                Err(e) => {
                    f.insert("parse", Value::Text(format!("xfr-msg-unparseable:{e}")));
                }
            }
        }
        allc.sort();
        allo.sort();
        f.insert("answer", Value::Rrs(allc));
        f.insert("answer.case", Value::Cases(allo));
        f.insert("xfr.messages", Value::Int(res.msgs.len() as i64));
        let ty = |r: Option<&RRset>| r.map_or("-".to_string(), |r| rtype::type_to_text(r.rtype));
        let frame = match (secs.first(), secs.last()) {
            (Some(a), Some(b)) => vec![ty(a.answer.first()), ty(b.answer.last())],
            _ => vec!["-".into(), "-".into()],
        };
        f.insert("xfr.soa_frame", Value::Texts(frame));
        f.insert("xfr.stream_status", Value::Text(res.status.clone()));
    } else {
        for (sec, nm, case) in [
            (&m.answer, "answer", "answer.case"),
            (&m.authority, "authority", "authority.case"),
            (&m.additional, "additional", "additional.case"),
        ] {
            let (c, o) = rr_values(sec);
            f.insert(nm, Value::Rrs(c));
            f.insert(case, Value::Cases(o));
        }
        // denial-of-existence proof records (NSEC/NSEC3 and their RRSIGs) are judged separately
        let Some(Value::Rrs(auth)) = f.remove("authority") else { unreachable!() };
        let is_proof = |r: &Rr| {
            PROOF_TYPES.contains(&r.rtype)
                || (r.rtype == t::RRSIG && PROOF_TYPES.contains(&covers_of(r.rtype, &r.rdata)))
        };
        let (proof, rest): (Vec<Rr>, Vec<Rr>) = auth.into_iter().partition(is_proof);
        f.insert("authority", Value::Rrs(rest));
        f.insert("authority.proof", Value::Rrs(proof));
        f.insert(
            "answer.order",
            Value::Texts(
                m.answer
                    .iter()
                    .map(|r| {
                        let mut s =
                            format!("{}/{}", name::to_text(&name::to_lowercase(&r.name)), rtype::type_to_text(r.rtype));
                        if r.covers != 0 {
                            s += &format!("/{}", rtype::type_to_text(r.covers));
                        }
                        s
                    })
                    .collect(),
            ),
        );
        if kind == "referral" || kind == "cname-referral" {
            let cuts: Vec<&[u8]> = m.authority.iter().filter(|r| r.rtype == t::NS).map(|r| r.name.as_slice()).collect();
            let Some(Value::Rrs(add)) = f.remove("additional") else { unreachable!() };
            let (glue, rest): (Vec<Rr>, Vec<Rr>) = add.into_iter().partition(|r| {
                (r.rtype == t::A || r.rtype == t::AAAA) && cuts.iter().any(|c| name::is_subdomain(&r.owner, c))
            });
            f.insert("additional.glue", Value::Rrs(glue));
            f.insert("additional", Value::Rrs(rest));
        }
    }
    f.insert("edns.present", Value::Bool(m.opt.is_some()));
    if let Some(o) = &m.opt {
        f.insert("edns.version", Value::Int(((o.ttl >> 16) & 0xFF) as i64));
        f.insert("edns.do", Value::Int((o.ttl & DO != 0) as i64));
        f.insert("edns.flags", Value::Text(format!("{:#x}", o.ttl & !DO & 0xFFFF)));
        f.insert("edns.udpsize", Value::Int(o.class as i64));
        f.insert("edns.options", Value::Texts(options_of(&o.rdata)));
    }
    (f, kind)
}

/// diff.py's `_xfr_done`: true once a transfer stream is complete (the
/// first SOA seen again, an error, or an up-to-date IXFR).
pub fn xfr_done(msgs: &[Vec<u8>], qtype: &str) -> bool {
    let Ok(first) = parse(&msgs[0], true, true) else { return true };
    if first.rcode() != 0 || first.answer.is_empty() {
        return true;
    }
    let soa0 = &first.answer[0];
    if soa0.rtype != t::SOA {
        return true;
    }
    let serial_of = |rt: u16, rd: &[u8]| -> Option<u32> {
        if rt != t::SOA {
            return None;
        }
        let a = name::wire_len(rd).ok()?;
        let b = name::wire_len(rd.get(a..)?).ok()?;
        rd.get(a + b..a + b + 4).map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    };
    let serial = serial_of(t::SOA, &soa0.rdatas[0].1);
    let mut rrs = Vec::new();
    for w in msgs {
        let Ok(m) = parse(w, true, true) else { return true };
        for s in &m.answer {
            for (_, rd) in &s.rdatas {
                rrs.push((s.rtype, serial_of(s.rtype, rd)));
            }
        }
    }
    if qtype == "IXFR" && rrs.len() == 1 {
        return true;
    }
    rrs.len() >= 2 && rrs.last() == Some(&(t::SOA, serial))
}

// ------------------------------------------------------------------------
// classification and comparison
// ------------------------------------------------------------------------

const HARD_ALWAYS: [&str; 15] = [
    "rcode",
    "opcode",
    "flag.QR",
    "flag.AA",
    "flag.TC",
    "flag.RD",
    "flag.CD",
    "flag.RA",
    "question",
    "id_match",
    "parse",
    "edns.present",
    "edns.version",
    "edns.do",
    "xfr.soa_frame",
];
const NEG_KINDS: [&str; 4] = ["nxdomain", "nodata", "referral", "cname-referral"];
const PROOF_KINDS: [&str; 5] = ["nxdomain", "nodata", "referral", "cname-referral", "answer-wildcard"];
/// In error responses (FORMERR/NOTIMP/REFUSED/...) only these stay hard.
const ERROR_HARD: [&str; 5] = ["rcode", "opcode", "flag.QR", "id_match", "flag.TC"];

/// diff.py's `context`, from the reference kinds and facets and the SUT's TC bit.
pub struct Context {
    pub kinds: BTreeSet<&'static str>,
    pub tc: bool,
    pub error: bool,
    pub ext_error: bool,
}

pub fn context(refs: &[(&str, Facets, &'static str)], sut: &Facets) -> Context {
    let kinds: BTreeSet<&'static str> = refs.iter().map(|r| r.2).collect();
    let tc = refs.iter().map(|r| &r.1).chain([sut]).any(|f| f.get("flag.TC") == Some(&Value::Int(1)));
    let rcodes: BTreeSet<String> = refs
        .iter()
        .filter_map(|r| match r.1.get("rcode") {
            Some(Value::Text(s)) => Some(s.clone()),
            _ => None,
        })
        .collect();
    let error = kinds.iter().all(|k| *k == "error" || *k == "none") && !rcodes.contains("YXDOMAIN");
    let ext_error = rcodes.contains("BADVERS") || rcodes.contains("BADCOOKIE");
    Context { kinds, tc, error, ext_error }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    Hard,
    Soft,
}

pub fn classify(facet: &str, ctx: &Context) -> Class {
    let any_kind = |set: &[&str]| ctx.kinds.iter().any(|k| set.contains(k));
    if ctx.error && !ERROR_HARD.contains(&facet) && !(ctx.ext_error && facet.starts_with("edns.")) {
        return Class::Soft;
    }
    if HARD_ALWAYS.contains(&facet) {
        return Class::Hard;
    }
    if ctx.tc && matches!(facet, "answer" | "authority" | "additional.glue") {
        return Class::Soft;
    }
    let hard = match facet {
        "answer" => true,
        "authority" => any_kind(&NEG_KINDS),
        "authority.proof" => any_kind(&PROOF_KINDS),
        "additional.glue" => any_kind(&["referral", "cname-referral"]),
        _ => false,
    };
    if hard {
        Class::Hard
    } else {
        Class::Soft
    }
}

/// A difference between the SUT and the references on one facet.
#[derive(Clone, Debug)]
pub struct Diff {
    pub facet: &'static str,
    pub class: Class,
    /// Each reference's value (`None`: the facet is absent).
    pub refs: Vec<(String, Option<Value>)>,
    pub sut: Option<Value>,
    /// The references agree among themselves.
    pub refs_agree: bool,
}

/// diff.py's `compare`: the facets where the SUT matches no reference.
pub fn compare(sut: &Facets, refs: &[(&str, Facets, &'static str)], ctx: &Context) -> Vec<Diff> {
    let mut diffs = Vec::new();
    let no_response = Value::Text("NO-RESPONSE".into());
    let reduced;
    let sut = if sut.get("rcode") == Some(&no_response) {
        reduced = Facets::from([("rcode", no_response.clone())]);
        &reduced
    } else {
        sut
    };
    let live: Vec<&(&str, Facets, &str)> = refs.iter().filter(|r| r.1.get("rcode") != Some(&no_response)).collect();
    let mut keys: BTreeSet<&'static str> =
        if live.is_empty() { BTreeSet::from(["rcode"]) } else { sut.keys().copied().collect() };
    if sut.get("rcode") != Some(&no_response) {
        for r in &live {
            keys.extend(r.1.keys().copied());
        }
    }
    for k in keys {
        if let Some(base) = k.strip_suffix(".case").or_else(|| k.strip_suffix(".order")) {
            // case/order only mean something when the content matches
            if refs.iter().any(|r| r.1.get(base) != sut.get(base)) {
                continue;
            }
        }
        let pool: Vec<&(&str, Facets, &str)> =
            if k == "rcode" || sut.get("rcode") == Some(&no_response) { refs.iter().collect() } else { live.clone() };
        if pool.is_empty() {
            continue;
        }
        let vals: Vec<(String, Option<Value>)> = pool.iter().map(|r| (r.0.to_string(), r.1.get(k).cloned())).collect();
        let sv = sut.get(k).cloned();
        let refs_agree = vals.iter().all(|v| v.1 == vals[0].1);
        if vals.iter().all(|v| v.1 != sv) {
            diffs.push(Diff { facet: k, class: classify(k, ctx), refs: vals, sut: sv, refs_agree });
        }
    }
    diffs
}

/// diff.py's `normalise_any` for qtype ANY (RFC 8482): an answer that is
/// a non-empty subset of the data at the name counts as equal. The data at
/// the name is the union of the references' answers (and only that: what
/// levee itself loaded from the zone is never used to judge levee).
pub fn normalise_any(all: &mut [&mut Facets], refs_answers: &[Option<Value>]) {
    let mut union: BTreeSet<Rr> = BTreeSet::new();
    for a in refs_answers.iter().flatten() {
        if let Value::Rrs(v) = a {
            union.extend(v.iter().cloned());
        }
    }
    let rfc8482 = |r: &Rr| r.rtype == t::HINFO && r.rdata.starts_with(b"\x07RFC8482");
    for f in all.iter_mut() {
        let Some(Value::Rrs(ans)) = f.get("answer") else { continue };
        if !ans.is_empty() && ans.iter().filter(|r| !rfc8482(r)).all(|r| union.contains(r)) {
            let ans = ans.clone();
            f.insert("answer.any-detail", Value::Rrs(ans));
            f.insert("answer", Value::Text(ANY_OK.into()));
            f.remove("answer.case");
            f.remove("answer.order");
        }
    }
}
