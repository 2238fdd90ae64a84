//! Outgoing zone transfers (AXFR, RFC 5936; IXFR answered with a full
//! transfer, RFC 1995 §4).
//!
//! A [`Transfer`] holds the snapshot it streams (an `Arc`, so a reload
//! during the transfer does not change what the client receives) and a
//! cursor. The TCP driver calls [`Transfer::next_message`] until it
//! returns `None`; each call fills one message of up to
//! [`MESSAGE_TARGET`] octets: the SOA first, every RRset of every node in
//! canonical order (DNSSEC records and the NSEC3 chain included), the SOA
//! again last.
//!
//! A record too large for any message (RDATA near 65535 octets with its
//! owner name and the message header) cannot be sent: the transfer then
//! ends with a SERVFAIL message, as Knot DNS sends (RFC 5936 §2.2: an
//! error ends the stream), and [`Transfer::failure`] tells the driver
//! what to log.

use std::sync::Arc;

use levee_wire::edns::Options;
use levee_wire::header::{flag, rcode, RCODE_MASK};
use levee_wire::name::NameBuf;
use levee_wire::query::write_question;
use levee_wire::rtype::{c, t};
use levee_wire::writer::{Owner, Section, Writer};
use levee_zone::journal::Rr;
use levee_zone::Zone;

/// Messages are filled up to about this size (a single large RRset may
/// make one bigger, up to 65535 octets).
pub const MESSAGE_TARGET: usize = 16 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    FirstSoa,
    Nodes,
    Nsec3,
    LastSoa,
    /// An IXFR answer: the records of `list` in order.
    List,
    Done,
}

/// A zone transfer in progress.
pub struct Transfer {
    zone: Arc<Zone>,
    id: u16,
    flags: u16,
    qname: NameBuf,
    qtype: u16,
    qclass: u16,
    /// (payload size, DO flag) when the query had OPT.
    opt: Option<(u16, u16)>,
    /// EDNS EXPIRE for the first message (RFC 7314).
    expire: Option<u32>,
    /// Why the transfer ended early.
    failure: Option<Failure>,
    phase: Phase,
    node: u32,
    set: u32,
    rr: u32,
    first: bool,
    /// IXFR: the whole answer (SOA, differences, SOA).
    list: Vec<Rr>,
    /// TSIG: every message is signed (RFC 8945 §5.3.1).
    signer: Option<levee_tsig::StreamSigner>,
    /// Over DoT or DoQ with OPT in the query: every message carries OPT
    /// with a Padding option (pad.rs), as Knot DNS 3.4 sends them.
    pad: bool,
}

impl Transfer {
    /// A transfer of `zone` answering query `id` with header `flags`; the
    /// question (name, type, class) is echoed in the first message.
    pub(crate) fn new(
        zone: Arc<Zone>,
        id: u16,
        flags: u16,
        qname: NameBuf,
        (qtype, qclass): (u16, u16),
        opt: Option<(u16, u16)>,
    ) -> Self {
        Transfer {
            zone,
            id,
            flags,
            qname,
            qtype,
            qclass,
            opt,
            expire: None,
            failure: None,
            phase: Phase::FirstSoa,
            node: 0,
            set: 0,
            rr: 0,
            first: true,
            list: Vec::new(),
            signer: None,
            pad: false,
        }
    }

    /// An incremental transfer: `list` is the whole answer, from the
    /// first SOA (the current version) to the last (RFC 1995 §4).
    pub(crate) fn with_list(mut self, list: Vec<Rr>) -> Self {
        self.list = list;
        self.phase = Phase::List;
        self
    }

    /// Sends EDNS EXPIRE (RFC 7314) with this value in the first message,
    /// when the query had OPT.
    pub(crate) fn with_expire(mut self, expire: Option<u32>) -> Self {
        self.expire = expire;
        self
    }

    /// Why the transfer ended with a SERVFAIL message, once it has.
    pub fn failure(&self) -> Option<&Failure> {
        self.failure.as_ref()
    }

    /// Signs every message with TSIG.
    pub(crate) fn with_signer(mut self, s: levee_tsig::StreamSigner) -> Self {
        self.signer = Some(s);
        self
    }

    /// Pads every message (EDNS Padding, RFC 7830, to a multiple of 468
    /// octets, RFC 8467): each then carries OPT, not only the first.
    /// Without OPT in the query, nothing changes.
    pub(crate) fn with_padding(mut self) -> Self {
        self.pad = self.opt.is_some();
        self
    }

    /// Whether this message carries OPT: the first (when the query had
    /// one), or every one when padded.
    fn has_opt(&self) -> bool {
        self.opt.is_some() && (self.first || self.pad)
    }

    /// The message `out[..n]` finished: padded, then signed.
    fn seal(&mut self, out: &mut [u8], n: usize) -> Option<usize> {
        let room = self.signer.as_ref().map_or(0, |s| s.signed_len());
        let n = if self.pad { crate::pad::pad(out, n, room, 65535) } else { n };
        match &mut self.signer {
            Some(s) => s.sign(out, n),
            None => Some(n),
        }
    }

    /// True for an incremental transfer.
    pub fn is_incremental(&self) -> bool {
        self.phase == Phase::List || !self.list.is_empty()
    }

    /// The zone being transferred.
    pub fn zone(&self) -> &Arc<Zone> {
        &self.zone
    }

    /// Writes the next message into `out` (at least 65535 octets) and
    /// returns its length, or `None` when the transfer is complete.
    pub fn next_message(&mut self, out: &mut [u8]) -> Option<usize> {
        if self.phase == Phase::Done {
            return None;
        }
        let zone = Arc::clone(&self.zone);
        let mut question = [0u8; 260];
        let qs: &[u8] = if self.first {
            let n = write_question(&mut question, &self.qname, self.qtype, self.qclass);
            &question[..n]
        } else {
            &[]
        };
        let opt_room = if self.has_opt() { 11 + 8 } else { 0 } + self.signer.as_ref().map_or(0, |s| s.room());
        let mut w = Writer::new(out, 65535 - opt_room);
        w.start(self.id, self.flags, qs).ok()?;
        let mut written = 0usize;
        loop {
            // Fill up to the target, but always at least one record.
            let limit = if written == 0 { 65535 - opt_room } else { MESSAGE_TARGET };
            w.set_limit(limit);
            match self.phase {
                Phase::FirstSoa | Phase::LastSoa => {
                    let soa = zone.soa();
                    let s = zone.rrset(soa);
                    if w.rr(Section::Answer, Owner::Name(zone.apex()), t::SOA, c::IN, s.ttl(), zone.first_rdata(soa))
                        .is_err()
                    {
                        break;
                    }
                    written += 1;
                    self.phase = if self.phase == Phase::FirstSoa { Phase::Nodes } else { Phase::Done };
                    if self.phase == Phase::Done {
                        break;
                    }
                }
                Phase::Nodes | Phase::Nsec3 => {
                    let (count, next) = if self.phase == Phase::Nodes {
                        (zone.node_count() as u32, Phase::Nsec3)
                    } else {
                        (zone.nsec3_count() as u32, Phase::LastSoa)
                    };
                    if self.node >= count {
                        self.phase = next;
                        self.node = 0;
                        self.set = 0;
                        self.rr = 0;
                        continue;
                    }
                    let (owner, first, nsets) = if self.phase == Phase::Nodes {
                        let id = zone.node_at(self.node as usize);
                        (zone.node_name(id), zone.node_first_rrset(id), zone.node_rrsets(id).len() as u32)
                    } else {
                        let id = zone.nsec3_node_at(self.node as usize);
                        let (f, n) = zone.nsec3_node_rrsets(id);
                        (zone.nsec3_node_name(id), f, n)
                    };
                    if self.set >= nsets {
                        self.node += 1;
                        self.set = 0;
                        self.rr = 0;
                        continue;
                    }
                    let rs = first + self.set;
                    let s = *zone.rrset(rs);
                    if s.rtype == t::SOA && self.phase == Phase::Nodes {
                        self.set += 1;
                        continue;
                    }
                    let mut full = false;
                    for (i, rd) in zone.rdatas(rs).enumerate().skip(self.rr as usize) {
                        if w.rr(Section::Answer, Owner::Name(owner), s.rtype, c::IN, s.ttl(), rd).is_err() {
                            full = true;
                            self.rr = i as u32;
                            break;
                        }
                        written += 1;
                        // After the first record the normal target applies.
                        w.set_limit(MESSAGE_TARGET);
                    }
                    if full {
                        break;
                    }
                    self.set += 1;
                    self.rr = 0;
                }
                Phase::List => {
                    let Some(r) = self.list.get(self.node as usize) else {
                        self.phase = Phase::Done;
                        break;
                    };
                    if w.rr(Section::Answer, Owner::Name(&r.owner), r.rtype, c::IN, r.ttl, &r.rdata).is_err() {
                        break;
                    }
                    written += 1;
                    w.set_limit(MESSAGE_TARGET);
                    self.node += 1;
                }
                Phase::Done => break,
            }
        }
        if written == 0 {
            if self.phase == Phase::Done {
                return None;
            }
            // The next record does not fit in an empty message.
            self.failure = Some(self.stuck_record());
            self.phase = Phase::Done;
            return self.servfail(out);
        }
        if self.has_opt() {
            self.put_opt(&mut w);
        }
        self.first = false;
        let n = w.finish();
        self.seal(out, n)
    }

    /// The message's OPT record (when the query had one): EXPIRE in the
    /// first.
    fn put_opt(&self, w: &mut Writer<'_>) {
        if let Some((size, dof)) = self.opt {
            let mut o = Options::<8>::new();
            if let (Some(x), true) = (self.expire, self.first) {
                o.expire(x);
            }
            let _ = w.opt(size, 0, dof, o.as_slice(), 65535);
        }
    }

    /// The message that ends a failed transfer: SERVFAIL with the
    /// question (and OPT when the query had one).
    fn servfail(&mut self, out: &mut [u8]) -> Option<usize> {
        let mut question = [0u8; 260];
        let ql = write_question(&mut question, &self.qname, self.qtype, self.qclass);
        let room = 11 + 8 + self.signer.as_ref().map_or(0, |s| s.room());
        let mut w = Writer::new(out, 65535 - room);
        let flags = (self.flags & !flag::AA & !RCODE_MASK) | rcode::SERVFAIL;
        w.start(self.id, flags, &question[..ql]).ok()?;
        if self.has_opt() {
            self.put_opt(&mut w);
        }
        self.first = false;
        let n = w.finish();
        self.seal(out, n)
    }

    /// The record at the cursor (the one that did not fit).
    fn stuck_record(&self) -> Failure {
        let zone = &self.zone;
        let (owner, rtype, rdata_len) = match self.phase {
            Phase::List => match self.list.get(self.node as usize) {
                Some(r) => (r.owner.as_slice(), r.rtype, r.rdata.len()),
                None => (zone.apex(), t::SOA, 0),
            },
            Phase::Nodes | Phase::Nsec3 => {
                let (owner, first) = if self.phase == Phase::Nodes {
                    let id = zone.node_at(self.node as usize);
                    (zone.node_name(id), zone.node_first_rrset(id))
                } else {
                    let id = zone.nsec3_node_at(self.node as usize);
                    (zone.nsec3_node_name(id), zone.nsec3_node_rrsets(id).0)
                };
                let rs = first + self.set;
                let len = zone.rdatas(rs).nth(self.rr as usize).map_or(0, <[u8]>::len);
                (owner, zone.rrset(rs).rtype, len)
            }
            _ => (zone.apex(), t::SOA, zone.first_rdata(zone.soa()).len()),
        };
        Failure::TooLarge { owner: NameBuf::from_wire(owner).unwrap_or_default(), rtype, rdata_len }
    }
}

/// Why a transfer ended with SERVFAIL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// A record does not fit in a message of 65535 octets.
    TooLarge {
        /// Its owner.
        owner: NameBuf,
        /// Its type.
        rtype: u16,
        /// Its RDATA length.
        rdata_len: usize,
    },
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::TooLarge { owner, rtype, rdata_len } => write!(
                f,
                "record {} {} ({} octets of RDATA) does not fit in a DNS message of 65535 octets; transfer ended with SERVFAIL",
                levee_wire::name::to_text(owner),
                levee_wire::rtype::type_to_text(*rtype),
                rdata_len
            ),
        }
    }
}
