//! The protocol stage, for a parsed query ([`respond_query`]): TSIG
//! first (`tsig.rs`), then FORMERR, BADVERS, the opcode (NOTIFY in
//! `notify.rs`), the class (CHAOS identity answers), transfers, and the
//! answer stage (`answer.rs`) with the class of its response; the direct
//! name error of plain queries ([`name_error_below_apex`]) and the slip
//! ([`slip`]). Every response is started and finished through the
//! [`Responder`] of `finish.rs`. The [`Worker`](crate::Worker) calls
//! them; nothing else does.

use std::sync::Arc;

use levee_wire::edns::{self, OptRef, OPT_LEN};
use levee_wire::hash::mix;
use levee_wire::header::{flag, opcode, rcode, Header, HeaderRef, HEADER_LEN, RCODE_MASK};
use levee_wire::name::{self, NameBuf};
use levee_wire::query::{Query, QuestionRef};
use levee_wire::rtype::{c, t};
use levee_wire::serial::Serial;
use levee_wire::writer::{Owner, Section, Writer};
use levee_wire::Malformed;
use levee_zone::{nf, Zone, ZoneEntry, ZoneSet};

use crate::answer::{Answerer, Parts};
use crate::finish::{base_flags, ede, Extra, Hints, Outcome, Responder};
use crate::meta::{Event, Kind, Meta, Proof};
use crate::request::{size_limit, Config, Request, Transport};
use crate::xfr::Transfer;

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
                // Padded first (pad.rs), so the MAC covers the padding.
                let o = r.padded(o, s.key.signed_len(0), out);
                return crate::tsig::sign_outcome(o, &s, req.now, out, max);
            }
        }
    }
    let o = r.run(zones, out);
    r.padded(o, 0, out)
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

impl<'a> Responder<'a> {
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
            // NOTIFY for secondary zones (notify.rs), UPDATE (update.rs).
            opcode::NOTIFY => return self.notify(zones, self.tsig.as_ref(), out),
            opcode::UPDATE => return self.update(zones, out),
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
        // RFC 9824 §3.5: NXNAME is a meta-type, asked of a zone that uses
        // it (compact denial) it is a format error.
        if q.qtype == t::NXNAME && entry.zone.online_signer().is_some() {
            return self.error_ede(out, rcode::FORMERR, Some(ede::INVALID_QUERY_TYPE));
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
        a.now = self.req.now;
        let compact_ok = q.edns.as_ref().is_some_and(|e| e.flags & edns::FLAG_CO != 0);
        a.compact_ok = compact_ok;
        a.run();
        let Parts { rcode: rc, tc, aa, start, referral, anchor, nx, unsigned } = a.into_parts();
        if unsigned {
            // A compact answer whose signature the online signer's budget
            // did not allow: nothing rather than an answer that does not
            // validate (the resolver asks again, or another server).
            return Outcome::Drop;
        }
        let zone_key = mix(Arc::as_ptr(&entry.zone) as usize as u64);
        let meta = match rc {
            _ if nx => self.meta(Kind::NxDomain, rc, zone_key),
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
        // A zone with compact denial says it honours CO (RFC 9824 §5).
        let compact_ok = compact_ok && q.dnssec_ok() && entry.zone.online_signer().is_some();
        let want_expire = self.want_expire && aa && matches!(rc, rcode::NOERROR | rcode::NXDOMAIN);
        if want_expire || compact_ok {
            let expire = if want_expire { self.expire(entry) } else { None };
            let extra = Extra { expire, compact_ok, ..Extra::default() };
            return self.finish_with(&mut w, meta, Some(&extra));
        }
        self.finish_with(&mut w, meta, None)
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
        // RFC 9103 §7.1: over TLS, only with the transport's ALPN.
        let alpn_missing = self.req.peer.is_some_and(|p| !p.alpn_ok);
        let identity = self.req.peer.and_then(|p| p.identity);
        let key = self.tsig.as_ref().map(|s| s.key.name.as_slice());
        if alpn_missing || !entry.transfer.allows_transfer(self.req.client, key, identity) {
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
        if w.rr(Section::Answer, Owner::Ptr(12), t::SOA, c::IN, s.ttl(), rd).is_err() {
            let f = w.flags() | flag::TC;
            w.set_flags(f);
        }
        let meta = self.meta(Kind::Answer, rcode::NOERROR, mix(zone as *const Zone as usize as u64));
        self.finish_with(&mut w, meta, Some(&Extra { expire: self.expire(entry), ..Extra::default() }))
    }
}

/// True for the opcodes levee answers (QUERY, NOTIFY, UPDATE); the
/// others are answered NOTIMP.
fn known_opcode(op: u8) -> bool {
    matches!(op, opcode::QUERY | opcode::NOTIFY | opcode::UPDATE)
}
