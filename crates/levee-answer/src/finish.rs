//! The per-response context ([`Responder`]) and what every response ends
//! with. A `Responder` knows, before anything is written, the size the
//! response may reach, the room its OPT record takes and what the query's
//! cookie proved; every stage that writes a response (the protocol stage
//! in `respond.rs`, TSIG failures in `tsig.rs`, NOTIFY in `notify.rs`)
//! starts its message from the flags and question it gives
//! ([`Responder::base_flags`], [`Responder::question`]) and ends it here:
//! [`Responder::finish`] appends the OPT record (cookie, NSID, TCP
//! keepalive, EXPIRE, Extended DNS Error: [`ede`]) and returns the
//! [`Outcome`] with the response's [`Meta`]; [`Responder::error`] writes
//! a whole error response. Nothing here calls a later stage.

use levee_limit::cookie;
use levee_wire::edns::{self, Edns};
use levee_wire::header::{flag, opcode, rcode, HEADER_LEN, OPCODE_MASK};
use levee_wire::query::Query;
use levee_wire::rtype::t;
use levee_wire::soa::Soa;
use levee_wire::writer::Writer;
use levee_zone::ZoneEntry;

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
    /// Hand a granted UPDATE to the daemon's update thread.
    Update(Box<crate::request::UpdateRequest>),
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
    pub(crate) fn new(req: &'a Request<'a>, q: &'a Query, cfg: &'a Config) -> Self {
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

    /// Appends OPT (when the query had one) and returns the reply.
    pub(crate) fn finish(&self, w: &mut Writer<'_>, meta: Meta) -> Outcome {
        self.finish_with(w, meta, None)
    }

    /// [`finish`](Self::finish) with options beyond the usual ones.
    pub(crate) fn finish_with(&self, w: &mut Writer<'_>, meta: Meta, extra: Option<&Extra>) -> Outcome {
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
            let co = if extra.is_some_and(|x| x.compact_ok) { edns::FLAG_CO } else { 0 };
            let flags = e.flags & (edns::FLAG_DO | co);
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
            Some(_) if self.q.edns.is_some() => {
                self.finish_with(&mut w, meta, Some(&Extra { ede, ..Extra::default() }))
            }
            _ => self.finish_with(&mut w, meta, None),
        }
    }
}

/// The flags every response to a QUERY starts with, from the query's
/// flags word: QR, the opcode, RD and CD copied (RFC 1035 §4.1.1, RFC 4035
/// §3.1.6). Responses to other opcodes do not copy CD
/// ([`Responder::base_flags`]).
pub(crate) fn base_flags(query_flags: u16) -> u16 {
    flag::QR | (query_flags & OPCODE_MASK) | (query_flags & (flag::RD | flag::CD))
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
    /// Echo the CO flag (RFC 9824 §5): the answer comes from a zone with
    /// compact denial and the query set CO.
    pub(crate) compact_ok: bool,
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
    /// An explicit query for NXNAME to a zone with compact denial (RFC
    /// 9824 §3.5, RFC 8914's code 30, "Invalid Query Type").
    pub(crate) const INVALID_QUERY_TYPE: Ede = (30, "");
}

// The padding stage's decision (`pad.rs` does the padding).
impl Responder<'_> {
    /// Whether this response is padded: padding is on (`tls.padding`)
    /// and the request came over DoT or DoQ. (Whether it carries OPT,
    /// which the padding goes into, [`pad`](crate::pad::pad) finds out.)
    #[inline]
    pub(crate) fn pads(&self) -> bool {
        self.cfg.padding && self.req.encrypted()
    }

    /// The padding stage on an outcome: a reply is padded in place
    /// (`reserve`: the TSIG record that will be appended), a transfer
    /// pads each of its messages; anything else passes unchanged.
    #[inline]
    pub(crate) fn padded(&self, o: Outcome, reserve: usize, out: &mut [u8]) -> Outcome {
        if !self.pads() {
            return o;
        }
        match o {
            Outcome::Reply(n, meta) => Outcome::Reply(crate::pad::pad(out, n, reserve, self.max_size), meta),
            Outcome::Transfer(x) => Outcome::Transfer(x.with_padding()),
            o => o,
        }
    }
}
