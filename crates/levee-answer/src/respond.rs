//! The protocol stage and the finishing of a response, for a parsed
//! query ([`respond_query`]); the direct name error of plain queries
//! ([`name_error_below_apex`]) and the slip ([`slip`]). The
//! [`Worker`](crate::Worker) calls them; nothing else does.

use std::sync::Arc;

use levee_limit::cookie;
use levee_wire::edns::{self, Edns, OptRef, OPT_LEN};
use levee_wire::hash::mix;
use levee_wire::header::{flag, opcode, rcode, Header, HeaderRef, HEADER_LEN, OPCODE_MASK, RCODE_MASK};
use levee_wire::name::{self, NameBuf};
use levee_wire::query::{Query, QuestionRef};
use levee_wire::rtype::{c, t};
use levee_wire::serial::Serial;
use levee_wire::soa::Soa;
use levee_wire::writer::{Owner, Section, Writer};
use levee_wire::Malformed;
use levee_zone::{nf, Zone, ZoneEntry, ZoneSet};

use crate::answer::{Answerer, Parts};
use crate::meta::{Event, Kind, Meta, Proof, NO_ZONE};
use crate::request::{size_limit, Config, Request, Signed, Transport};
use crate::xfr::Transfer;

/// What the answering stages produced.
#[allow(clippy::large_enum_variant)] // kept on the stack: no allocation per query
pub(crate) enum Outcome {
    /// Send the first `n` octets of the output buffer.
    Reply(usize, Meta),
    /// Send nothing.
    Drop,
    /// Stream a zone transfer (TCP only).
    Transfer(Transfer),
}

impl Outcome {
    /// The reply with `event` in its [`Meta`].
    pub(crate) fn with_event(self, event: Event) -> Outcome {
        match self {
            Outcome::Reply(n, meta) => Outcome::Reply(n, Meta { event, ..meta }),
            o => o,
        }
    }
}

/// What the worker already knows it will do with some responses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Hints {
    /// An NXDOMAIN response will not be sent (the policy stage is shedding
    /// negative answers to this client): stop as soon as the name is known
    /// not to exist, without writing the SOA and the proofs. The response
    /// bytes are then incomplete; only the [`Meta`] is meaningful, and
    /// nothing may cache them.
    pub(crate) shed_negative: bool,
    /// Write the SOA of NXDOMAIN and NODATA answers with the writer even
    /// where the zone's pre-rendered copy gives the same octets (a
    /// worker without shortcuts, which the tests compare with).
    pub(crate) no_prerendered: bool,
}

/// The protocol, answer and finish stages for the parsed query `q` of
/// `req.msg` (by [`parse_query`](levee_wire::query::parse_query), or from
/// the cache key of a plain query): TSIG verified first and the reply
/// signed. `out` must hold at least 65535 octets for TCP (or the UDP
/// payload size for UDP).
#[inline]
pub(crate) fn respond_query(
    req: &Request<'_>,
    q: &Query,
    zones: &ZoneSet,
    cfg: &Config,
    out: &mut [u8],
    hints: Hints,
) -> Outcome {
    let mut r = Responder::new(req, q, cfg);
    r.hints = hints;
    // A plain query has no TSIG record: nothing to verify or sign.
    if q.malformed.is_none() && q.tsig.is_some() {
        // TSIG (RFC 8945), tsig.rs: verify, answer failures, sign the reply.
        match crate::tsig::check(req, q, &cfg.keys) {
            crate::tsig::Check::Unsigned => {}
            crate::tsig::Check::Failed(f) => return r.tsig_error(&f, out),
            crate::tsig::Check::Signed(s) => {
                r.tsig = Some(s);
                r.opt_len += s.key.record_len();
                let max = r.max_size;
                let o = r.run(zones, out);
                return crate::tsig::sign_outcome(o, &s, req.now, out, max);
            }
        }
    }
    r.run(zones, out)
}

/// The answer of a random-subdomain flood, written directly: a plain query
/// for a name one label below a zone's apex that does not exist, where
/// the apex has no wildcard child and no DNAME, and nothing asks for DNSSEC
/// proofs. The response is then fixed but for the question: NXDOMAIN, the
/// zone's pre-rendered SOA (levee_zone::negative) with its pointers moved
/// to the apex inside the query name, and OPT. [`respond_query`] writes
/// exactly these octets (`Answerer::no_such_name`, `soa_authority`); this
/// skips the parse into a `Query`, the answer stage's walk and its
/// bookkeeping. Returns the response's length and metadata (not an
/// [`Outcome`], which is hundreds of octets to move), or `None`: not such a
/// query, or the response would not fit; the caller answers it the usual
/// way.
pub(crate) fn name_error_below_apex(
    req: &Request<'_>,
    key: &crate::cache::Key,
    zones: &ZoneSet,
    cfg: &Config,
    out: &mut [u8],
) -> Option<(usize, Meta)> {
    let msg = req.msg;
    let qend = HEADER_LEN + key.question_len();
    let question = QuestionRef::new(&msg[HEADER_LEN..qend])?;
    let (qname, qtype) = (question.name(), question.qtype());
    // DS is answered from the parent side of a cut; leave it to the walk.
    if qtype == t::DS || qname.len() <= 1 {
        return None;
    }
    // The name is neither lowercased nor hashed again: the zone search
    // compares apexes ignoring case, and the name index is keyed on the
    // hash the cache key already took.
    let entry = zones.find_parent_of(qname)?;
    let zone = &entry.zone;
    if entry.expired
        || zone.node(zone.apex_id()).has(nf::WILD_CHILD | nf::DNAME)
        || zone.lookup_hashed(key.name_hash(), qname).is_some()
    {
        return None;
    }
    let opt_flags = key.opt_flags();
    let dnssec = opt_flags.is_some_and(|f| f & edns::FLAG_DO != 0);
    if dnssec && zone.has_negative_proofs() {
        return None;
    }
    let neg = zone.negative_soa()?;
    if !neg.fits(qname) {
        return None;
    }
    let opt_size = opt_flags.and_then(|_| Some(OptRef::new(&msg[qend..])?.udp_size()));
    let max_size = size_limit(req.transport, opt_size, cfg);
    // The message is written here rather than through a Writer (whose
    // compression table alone is 288 octets to clear), with the Writer's
    // limits: header, question and SOA within the size less OPT's room,
    // OPT within the size.
    let opt_len = if opt_flags.is_some() { OPT_LEN } else { 0 };
    let flags = base_flags(key.flags()) | flag::AA | rcode::NXDOMAIN;
    let soa_at = qend;
    let end = soa_at + neg.bytes().len();
    if end + opt_len > max_size.min(out.len()).min(65535) {
        return None;
    }
    let header = Header {
        id: HeaderRef::new(msg)?.id(),
        flags,
        qdcount: 1,
        ancount: 0,
        nscount: neg.records(),
        arcount: opt_flags.is_some() as u16,
    };
    header.write(out);
    out[HEADER_LEN..soa_at].copy_from_slice(question.as_slice());
    neg.copy_to(&mut out[soa_at..end], qname);
    if let Some(f) = opt_flags {
        // Our payload size, extended rcode 0, the DO bit echoed, no options.
        edns::write_bare(&mut out[end..], cfg.udp_payload, 0, f & edns::FLAG_DO);
    }
    let meta = Meta {
        kind: Kind::NxDomain,
        rcode: rcode::NXDOMAIN,
        key: mix(Arc::as_ptr(zone) as usize as u64),
        proof: Proof::None,
        qtype,
        zone: zones.stat_id(entry),
        event: Event::None,
        slip: false,
    };
    Some((end + opt_len, meta))
}

/// The minimal reply the policy stage sends instead of a rate-limited
/// response (a "slip"): the header with TC=1, the question and OPT, or,
/// with `badcookie`, BADCOOKIE with a fresh server cookie (RFC 7873
/// §5.2.3). About the size of the query, so it amplifies nothing. `q` is
/// the query as the answering stages read it (parsed, or from the cache
/// key): it is not parsed again.
pub(crate) fn slip(req: &Request<'_>, q: &Query, cfg: &Config, out: &mut [u8], badcookie: bool) -> Option<usize> {
    let r = Responder::new(req, q, cfg);
    let outcome = if badcookie && cfg.cookies.is_some() {
        r.error(out, rcode::BADCOOKIE, true)
    } else {
        let mut w = Writer::new(out, r.max_size.saturating_sub(r.opt_len));
        w.start(q.header.id, r.base_flags() | flag::TC, r.question()).ok()?;
        r.finish(&mut w, r.meta(Kind::Answer, rcode::NOERROR, 0))
    };
    match outcome {
        Outcome::Reply(n, _) => Some(n),
        _ => None,
    }
}

/// Per-response context.
pub(crate) struct Responder<'a> {
    pub(crate) req: &'a Request<'a>,
    pub(crate) q: &'a Query,
    pub(crate) cfg: &'a Config,
    /// Size the whole response may reach.
    pub(crate) max_size: usize,
    /// Octets reserved for the OPT record.
    pub(crate) opt_len: usize,
    /// What the query's cookie proved.
    pub(crate) proof: Proof,
    /// The verified TSIG of the request.
    pub(crate) tsig: Option<Signed<'a>>,
    /// What the driver will do with the response.
    pub(crate) hints: Hints,
    /// The query asks for EDNS EXPIRE with a type it answers (SOA, AXFR,
    /// IXFR).
    pub(crate) want_expire: bool,
}

impl<'a> Responder<'a> {
    fn new(req: &'a Request<'a>, q: &'a Query, cfg: &'a Config) -> Self {
        let max_size = size_limit(req.transport, q.edns.as_ref().map(|e| e.udp_size), cfg);
        let mut r = Responder {
            req,
            q,
            cfg,
            max_size,
            opt_len: 0,
            proof: Proof::None,
            hints: Hints::default(),
            tsig: None,
            want_expire: false,
        };
        if let Some(e) = &q.edns {
            r.want_expire = e.expire && matches!(q.qtype, t::SOA | t::AXFR | t::IXFR);
            r.opt_len = r.opt_options_len() + 11;
        }
        r.proof = r.cookie_proof();
        r
    }

    fn cookie_proof(&self) -> Proof {
        let (Some(secrets), Some(e)) = (&self.cfg.cookies, &self.q.edns) else { return Proof::None };
        let Some(client) = e.cookie.client() else { return Proof::None };
        match e.cookie.server() {
            Some(server) => match cookie::check(secrets, client, server, self.req.client, self.req.now) {
                cookie::Verdict::Valid | cookie::Verdict::ValidStale => Proof::Valid,
                cookie::Verdict::Invalid => Proof::ClientCookie,
            },
            None => Proof::ClientCookie,
        }
    }

    pub(crate) fn meta(&self, kind: Kind, rcode: u16, key: u64) -> Meta {
        Meta {
            kind,
            rcode,
            key,
            proof: self.proof,
            qtype: self.q.qtype,
            zone: NO_ZONE,
            event: Event::None,
            slip: false,
        }
    }

    pub(crate) fn question(&self) -> &'a [u8] {
        if self.q.has_question {
            &self.req.msg[HEADER_LEN..HEADER_LEN + self.q.question_len]
        } else {
            &[]
        }
    }

    /// The flags every response starts with ([`base_flags`]); for an
    /// opcode other than QUERY without CD: CD belongs to queries (Knot DNS
    /// copies RD alone, BIND nothing).
    pub(crate) fn base_flags(&self) -> u16 {
        let f = base_flags(self.q.header.flags);
        if self.q.opcode() == opcode::QUERY {
            f
        } else {
            f & !flag::CD
        }
    }

    fn run(&self, zones: &ZoneSet, out: &mut [u8]) -> Outcome {
        let q = self.q;
        // An opcode levee does not know needs no question: it is answered
        // NOTIMP (below) whether or not one was sent, as Knot, NSD and BIND
        // do. QUERY, NOTIFY and UPDATE need one.
        if q.malformed.is_some() && (q.malformed != Some(Malformed::NoQuestion) || known_opcode(q.opcode())) {
            return self.error(out, rcode::FORMERR, true);
        }
        if let Some(e) = &q.edns {
            if e.version > 0 {
                return self.error(out, rcode::BADVERS, true);
            }
        }
        match q.opcode() {
            opcode::QUERY => {}
            // NOTIFY for secondary zones (tsig.rs); UPDATE is not implemented.
            opcode::NOTIFY => return self.notify(zones, self.tsig.as_ref(), out),
            _ => return self.error(out, rcode::NOTIMP, true),
        }
        match q.qclass {
            c::IN => {}
            c::CH => return self.chaos(out),
            c::ANY => {}
            _ => return self.error(out, rcode::REFUSED, true),
        }
        match q.qtype {
            t::AXFR | t::IXFR => return self.transfer(zones, out),
            _ => {}
        }
        // Lowercased from the message, where the question was read: the
        // parsed copy was just written, and reading it back at once stalls.
        let mut lname = NameBuf::root();
        lname.set_lowercase(&self.req.msg[HEADER_LEN..HEADER_LEN + q.qname.len()]);
        let mut entry = match zones.find(&lname) {
            Some(e) => e,
            None => return self.error_ede(out, rcode::REFUSED, Some(ede::NOT_AUTHORITATIVE)),
        };
        if entry.expired {
            return self.unavailable(entry, out);
        }
        // DS is answered from the parent side of a cut (RFC 4035 §3.1.4.1).
        if q.qtype == t::DS && entry.zone.apex() == lname.as_slice() {
            if let Some(p) = zones.parent_of(entry.zone.apex()) {
                entry = p;
            }
        }
        let mut w = Writer::new(out, self.max_size.saturating_sub(self.opt_len));
        // A QUERY here: the flags as `base_flags` copies them.
        let mut flags = base_flags(q.header.flags) | flag::AA;
        if q.qclass == c::ANY {
            // Data of class IN answering a class-ANY question is not
            // authoritative for "any class".
            flags &= !flag::AA;
        }
        if w.start(q.header.id, flags, self.question()).is_err() {
            return Outcome::Drop;
        }
        let mut a = Answerer::new(&mut w, &entry.zone, q, &lname);
        a.shed_negative = self.hints.shed_negative;
        a.prerendered = !self.hints.no_prerendered;
        a.run();
        let Parts { rcode: rc, tc, aa, start, referral, anchor } = a.into_parts();
        let zone_key = mix(Arc::as_ptr(&entry.zone) as usize as u64);
        let meta = match rc {
            rcode::NXDOMAIN => self.meta(Kind::NxDomain, rc, zone_key),
            rcode::NOERROR if referral => self.meta(Kind::Referral, rc, mix(zone_key ^ anchor as u64)),
            rcode::NOERROR if w.count(Section::Answer) > 0 => {
                self.meta(Kind::Answer, rc, mix(zone_key ^ ((anchor as u64) << 16) ^ q.qtype as u64))
            }
            rcode::NOERROR => self.meta(Kind::NoData, rc, zone_key),
            _ => self.meta(Kind::Error, rc, 0),
        };
        let meta = Meta { zone: zones.stat_id(entry), ..meta };
        let mut f = w.flags() & !RCODE_MASK;
        if !aa {
            f &= !flag::AA;
        }
        if tc {
            // Never a partial RRset: a truncated response carries the
            // question (and OPT) only, and the client retries over TCP.
            w.rollback(start);
            f |= flag::TC;
        }
        w.set_flags(f | rcode::header_bits(rc));
        if self.want_expire && aa && matches!(rc, rcode::NOERROR | rcode::NXDOMAIN) {
            let extra = Extra { expire: self.expire(entry), ..Extra::default() };
            return self.finish_with(&mut w, meta, Some(&extra));
        }
        self.finish_with(&mut w, meta, None)
    }

    /// Appends OPT (when the query had one) and returns the reply.
    pub(crate) fn finish(&self, w: &mut Writer<'_>, meta: Meta) -> Outcome {
        self.finish_with(w, meta, None)
    }

    /// [`finish`](Self::finish) with options beyond the usual ones.
    fn finish_with(&self, w: &mut Writer<'_>, meta: Meta, extra: Option<&Extra>) -> Outcome {
        let rc = meta.rcode;
        if let Some(e) = &self.q.edns {
            let mut opts = OptOptions::new();
            // BADVERS answers an OPT record of a version levee does not
            // implement: none of its options were understood, so nothing
            // answers them, not even a cookie (RFC 6891 §6.1.3; BIND, the
            // reference that implements cookies, sends none either).
            if rc != rcode::BADVERS {
                self.opt_options(e, &mut opts);
                if let Some(x) = extra {
                    put_extra(x, &mut opts);
                }
            }
            let ext = rcode::extended_bits(rc);
            let flags = e.flags & edns::FLAG_DO;
            if w.opt(self.cfg.udp_payload, ext, flags, opts.as_slice(), self.max_size).is_err() {
                return Outcome::Drop;
            }
        }
        Outcome::Reply(w.finish_counts(), meta)
    }

    /// The EDNS EXPIRE value (RFC 7314) for an authoritative answer from
    /// `entry`, when the query asked for it and its type is SOA, AXFR or
    /// IXFR: the seconds left before a secondary zone expires, or a
    /// primary zone's SOA EXPIRE field (as Knot DNS and BIND send).
    pub(crate) fn expire(&self, entry: &ZoneEntry) -> Option<u32> {
        if !self.want_expire {
            return None;
        }
        if let Some(at) = entry.expires_at() {
            return Some(at.saturating_sub(self.req.now as u64).min(u32::MAX as u64) as u32);
        }
        Some(Soa::from_rdata(entry.zone.first_rdata(entry.zone.soa()))?.expire())
    }

    /// SERVFAIL for a configured zone levee cannot answer from, with the
    /// Extended DNS Error NSD sends: a zone that never loaded (a broken
    /// file, a secondary zone never received) is "Not Ready", a secondary
    /// zone past its SOA expire time "Invalid Data" (RFC 8914 §4.15, §4.25).
    pub(crate) fn unavailable(&self, entry: &ZoneEntry, out: &mut [u8]) -> Outcome {
        let why = if entry.not_loaded { ede::NOT_LOADED } else { ede::EXPIRED };
        self.error_ede(out, rcode::SERVFAIL, Some(why))
    }

    fn opt_options_len(&self) -> usize {
        let Some(e) = &self.q.edns else { return 0 };
        let mut n = 0;
        if self.want_expire {
            n += 8;
        }
        if self.cfg.cookies.is_some() && e.cookie.client().is_some() {
            n += 4 + 8 + cookie::SERVER_COOKIE_LEN;
        }
        if e.nsid {
            if let Some(id) = &self.cfg.nsid {
                n += 4 + id.len().min(64);
            }
        }
        if e.keepalive && self.req.transport == Transport::Tcp && self.cfg.tcp_keepalive.is_some() {
            n += 6;
        }
        n
    }

    /// The options answering the query's: a server cookie, NSID, TCP
    /// keepalive.
    pub(crate) fn opt_options(&self, e: &Edns, out: &mut OptOptions) {
        if let (Some(secrets), Some(client)) = (&self.cfg.cookies, e.cookie.client()) {
            out.cookie(client, &cookie::make(secrets, client, self.req.client, self.req.now));
        }
        if e.nsid {
            if let Some(id) = &self.cfg.nsid {
                out.nsid(&id[..id.len().min(64)]);
            }
        }
        if e.keepalive && self.req.transport == Transport::Tcp {
            if let Some(k) = self.cfg.tcp_keepalive {
                out.keepalive(k);
            }
        }
    }

    /// An error response: header, the question when it could be read, and
    /// OPT when the query had one (BADVERS is carried in OPT).
    pub(crate) fn error(&self, out: &mut [u8], rc: u16, with_question: bool) -> Outcome {
        let qs = if with_question { self.question() } else { &[] };
        self.error_with(out, rc, qs, None)
    }

    /// [`error`](Self::error) with the question and an Extended DNS
    /// Error (RFC 8914) in OPT when the query had one. The option is
    /// small: header, question and OPT always fit in 512 octets.
    pub(crate) fn error_ede(&self, out: &mut [u8], rc: u16, ede: Option<ede::Ede>) -> Outcome {
        self.error_with(out, rc, self.question(), ede)
    }

    fn error_with(&self, out: &mut [u8], rc: u16, qs: &[u8], ede: Option<ede::Ede>) -> Outcome {
        let mut w = Writer::new(out, self.max_size.saturating_sub(self.opt_len));
        let flags = self.base_flags() | rcode::header_bits(rc);
        if w.start(self.q.header.id, flags, qs).is_err() && w.start(self.q.header.id, flags, &[]).is_err() {
            return Outcome::Drop;
        }
        let meta = self.meta(Kind::Error, rc, 0);
        match ede {
            Some(_) if self.q.edns.is_some() => self.finish_with(&mut w, meta, Some(&Extra { ede, expire: None })),
            _ => self.finish_with(&mut w, meta, None),
        }
    }

    /// CHAOS-class identity answers (`id.server`, `hostname.bind`,
    /// `version.bind`, `version.server`); everything else in CH is refused.
    fn chaos(&self, out: &mut [u8]) -> Outcome {
        let q = self.q;
        let lname = name::to_lowercase(&q.qname);
        let text = |s: &str| name::from_text(s, None).expect("static name");
        let value = if lname == text("id.server.") || lname == text("hostname.bind.") {
            self.cfg.identity.as_deref()
        } else if lname == text("version.bind.") || lname == text("version.server.") {
            self.cfg.version.as_deref()
        } else {
            None
        };
        let Some(value) = value else {
            return self.error(out, rcode::REFUSED, true);
        };
        if q.qtype != t::TXT && q.qtype != t::ANY {
            let mut w = Writer::new(out, self.max_size.saturating_sub(self.opt_len));
            if w.start(q.header.id, self.base_flags() | flag::AA, self.question()).is_err() {
                return Outcome::Drop;
            }
            return self.finish(&mut w, self.meta(Kind::NoData, rcode::NOERROR, 0));
        }
        let mut w = Writer::new(out, self.max_size.saturating_sub(self.opt_len));
        if w.start(q.header.id, self.base_flags() | flag::AA, self.question()).is_err() {
            return Outcome::Drop;
        }
        let mut rd = [0u8; 256];
        let l = value.len().min(255);
        rd[0] = l as u8;
        rd[1..1 + l].copy_from_slice(&value[..l]);
        if w.rr(Section::Answer, Owner::Ptr(12), t::TXT, c::CH, 0, &rd[..1 + l]).is_err() {
            let f = w.flags() | flag::TC;
            w.set_flags(f);
        }
        self.finish(&mut w, self.meta(Kind::Answer, rcode::NOERROR, 0))
    }

    /// AXFR and IXFR. Over UDP, AXFR is not implemented and IXFR gets the
    /// current SOA (telling the client to use TCP, RFC 1995 §2); over TCP
    /// IXFR is answered from the zone's journal (ixfr.rs) and otherwise
    /// falls back to a full transfer (RFC 1995 §4).
    fn transfer(&self, zones: &ZoneSet, out: &mut [u8]) -> Outcome {
        let q = self.q;
        let lname = name::to_lowercase(&q.qname);
        if q.qtype == t::AXFR && self.req.transport == Transport::Udp {
            return self.error(out, rcode::NOTIMP, true);
        }
        let Some(entry) = zones.exact(&lname) else {
            return self.error(out, rcode::NOTAUTH, true);
        };
        if !entry.transfer.allows_signed(self.req.client, self.tsig.as_ref().map(|s| s.key.name.as_slice())) {
            return self.error_ede(out, rcode::REFUSED, Some(ede::PROHIBITED)).with_event(Event::TransferRefused);
        }
        if entry.expired {
            return self.unavailable(entry, out);
        }
        let zone = &entry.zone;
        let up_to_date = q.ixfr_serial.is_some_and(|s| Serial(s) >= Serial(zone.serial()));
        if q.qtype == t::IXFR && (self.req.transport == Transport::Udp || up_to_date) {
            return self.single_soa(entry, out);
        }
        let mut qbuf = NameBuf::root();
        qbuf = NameBuf::from_wire(q.qname.as_slice()).unwrap_or(qbuf);
        let incremental = match (q.qtype, q.ixfr_serial, &entry.journal) {
            (t::IXFR, Some(s), Some(j)) => crate::ixfr::answer(zone, j, s),
            _ => None,
        };
        let x = Transfer::new(
            Arc::clone(zone),
            q.header.id,
            self.base_flags() | flag::AA,
            qbuf,
            (q.qtype, q.qclass),
            q.edns.as_ref().map(|e| (self.cfg.udp_payload, e.flags & edns::FLAG_DO)),
        )
        .with_expire(self.expire(entry));
        Outcome::Transfer(match incremental {
            Some(list) => x.with_list(list),
            None => x,
        })
    }

    fn single_soa(&self, entry: &ZoneEntry, out: &mut [u8]) -> Outcome {
        let zone = &*entry.zone;
        let mut w = Writer::new(out, self.max_size.saturating_sub(self.opt_len));
        if w.start(self.q.header.id, self.base_flags() | flag::AA, self.question()).is_err() {
            return Outcome::Drop;
        }
        let soa = zone.soa();
        let s = zone.rrset(soa);
        let rd = zone.first_rdata(soa);
        if w.rr(Section::Answer, Owner::Ptr(12), t::SOA, c::IN, s.ttl, rd).is_err() {
            let f = w.flags() | flag::TC;
            w.set_flags(f);
        }
        let meta = self.meta(Kind::Answer, rcode::NOERROR, mix(zone as *const Zone as usize as u64));
        self.finish_with(&mut w, meta, Some(&Extra { expire: self.expire(entry), ..Extra::default() }))
    }
}

/// The flags every response to a QUERY starts with, from the query's
/// flags word: QR, the opcode, RD and CD copied (RFC 1035 §4.1.1, RFC 4035
/// §3.1.6). Responses to other opcodes do not copy CD
/// ([`Responder::base_flags`]).
pub(crate) fn base_flags(query_flags: u16) -> u16 {
    flag::QR | (query_flags & OPCODE_MASK) | (query_flags & (flag::RD | flag::CD))
}

/// True for the opcodes levee answers (QUERY, NOTIFY) or refuses as a
/// known operation (UPDATE); the others are answered NOTIMP.
fn known_opcode(op: u8) -> bool {
    matches!(op, opcode::QUERY | opcode::NOTIFY | opcode::UPDATE)
}

/// Appends the options of `extra` to `out` (after those
/// [`Responder::opt_options`] wrote). Out of line: only error responses
/// and EXPIRE answers have any.
#[inline(never)]
fn put_extra(extra: &Extra, out: &mut OptOptions) {
    if let Some(x) = extra.expire {
        out.expire(x);
    }
    if let Some((code, text)) = extra.ede {
        out.ede(code, &text.as_bytes()[..text.len().min(ede::TEXT_MAX)]);
    }
}

/// Room for the OPT options of one response: cookie (28), NSID (68),
/// keepalive (6), EXPIRE (8), Extended DNS Error (6 + its text).
pub(crate) const OPTS_MAX: usize = 160;

/// The options of one response's OPT record.
pub(crate) type OptOptions = edns::Options<OPTS_MAX>;

/// Options a response carries besides the ones answering the query's
/// (cookie, NSID, keepalive).
#[derive(Clone, Copy, Default)]
pub(crate) struct Extra {
    /// EDNS EXPIRE (RFC 7314), seconds.
    pub(crate) expire: Option<u32>,
    /// Extended DNS Error (RFC 8914).
    pub(crate) ede: Option<ede::Ede>,
}

/// Extended DNS Errors (RFC 8914) levee sends, where Knot DNS, NSD or
/// BIND send one: the code and a short text.
pub(crate) mod ede {
    /// A code and its extra text.
    pub(crate) type Ede = (u16, &'static str);
    /// The longest extra text sent.
    pub(crate) const TEXT_MAX: usize = 40;
    /// A name outside every served zone (Knot DNS and NSD, with REFUSED).
    pub(crate) const NOT_AUTHORITATIVE: Ede = (20, "");
    /// A transfer the zone's ACL does not allow (NSD and BIND).
    pub(crate) const PROHIBITED: Ede = (18, "");
    /// A configured zone that did not load (NSD's "Not Ready").
    pub(crate) const NOT_LOADED: Ede = (14, "zone is configured but not loaded");
    /// A secondary zone past its SOA expire time (NSD's "Invalid Data").
    pub(crate) const EXPIRED: Ede = (24, "zone has expired");
}
