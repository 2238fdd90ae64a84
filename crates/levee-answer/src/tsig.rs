//! TSIG on the answering path (RFC 8945 §5): verify a signed request,
//! answer failures (BADKEY/BADSIG unsigned with NOTAUTH, BADTIME signed,
//! a malformed TSIG with FORMERR), sign the response or every message of
//! a transfer.

use levee_tsig::{self as ts, SignParams};
use levee_wire::header::rcode;
use levee_wire::query::Query;
use levee_wire::rtype::{c, t};
use levee_wire::writer::{Section, Writer};

use crate::finish::{OptOptions, Outcome, Responder};
use crate::meta::{Event, Kind};
use crate::request::{Request, Signed};

/// The outcome of checking a query's TSIG.
pub(crate) enum Check<'k> {
    /// No TSIG record.
    Unsigned,
    /// Verified.
    Signed(Signed<'k>),
    /// Answer with this failure.
    Failed(ts::Failure<'k>),
}

/// Verifies the TSIG of `q` (which must not be malformed otherwise).
pub(crate) fn check<'k>(req: &Request<'_>, q: &Query, keys: &'k ts::KeyRing) -> Check<'k> {
    if q.tsig.is_none() {
        return Check::Unsigned;
    }
    let rec = match ts::parse(req.msg) {
        Ok(Some(r)) => r,
        Ok(None) | Err(_) => {
            return Check::Failed(ts::Failure { error: ts::Error::Malformed, key: None, mac: None });
        }
    };
    match ts::verify(req.msg, &rec, keys, None, req.now as u64) {
        Ok(v) => Check::Signed(Signed { key: v.key, mac: v.mac }),
        Err(f) => Check::Failed(f),
    }
}

impl Responder<'_> {
    /// The answer to a request whose TSIG fails: FORMERR for a malformed
    /// TSIG record, else NOTAUTH with the TSIG error and the event the
    /// daemon logs.
    pub(crate) fn tsig_error(&self, f: &ts::Failure<'_>, out: &mut [u8]) -> Outcome {
        if f.error == ts::Error::Malformed {
            let o = self.error(out, rcode::FORMERR, true);
            return self.padded(o, 0, out);
        }
        self.tsig_notauth(f, out).with_event(Event::TsigFailed(f.error))
    }

    fn tsig_notauth(&self, f: &ts::Failure<'_>, out: &mut [u8]) -> Outcome {
        let Ok(Some(rec)) = ts::parse(self.req.msg) else { return Outcome::Drop };
        let mut w = Writer::new(out, self.max_size.saturating_sub(self.opt_len));
        let flags = self.base_flags() | rcode::NOTAUTH;
        if w.start(self.q.header.id, flags, self.question()).is_err() {
            return Outcome::Drop;
        }
        if let Some(e) = &self.q.edns {
            let mut opts = OptOptions::new();
            self.opt_options(e, &mut opts);
            let dof = e.flags & levee_wire::edns::FLAG_DO;
            if w.opt(self.cfg.udp_payload, 0, dof, opts.as_slice(), self.max_size).is_err() {
                return Outcome::Drop;
            }
        }
        let room = self.max_size.max(512);
        if let (ts::Error::BadTime, Some(key), Some(mac)) = (f.error, f.key, f.mac) {
            // BADTIME is signed, with our time as other data (§5.2.3).
            let mut n = w.finish();
            let now = ts::time_other(self.req.now as u64);
            if self.pads() {
                // Padded before it is signed (pad.rs): the TSIG with its
                // other data (the time, 6 octets) ends the block.
                n = crate::pad::pad(out, n, key.signed_len(now.len()), room);
            }
            let p = SignParams {
                prior: Some(mac.as_slice()),
                error: ts::err::BADTIME,
                other: &now,
                ..SignParams::at(rec.time)
            };
            let lim = room.min(out.len());
            return match ts::sign(&mut out[..lim], n, key, &p) {
                Some((n, _)) => Outcome::Reply(n, self.meta(Kind::Error, rcode::NOTAUTH, 0)),
                None => Outcome::Drop,
            };
        }
        // BADKEY and BADSIG: an unsigned TSIG echoing the key, algorithm
        // and time (§5.2.2, §5.2.1).
        let mut rd = [0u8; ts::ERROR_RDATA_MAX];
        let n = ts::unsigned_error_rdata(&rec, f.error, &mut rd);
        if w.append_last(Section::Additional, &rec.key, t::TSIG, c::ANY, 0, &rd[..n], room).is_err() {
            return Outcome::Drop;
        }
        let o = Outcome::Reply(w.finish(), self.meta(Kind::Error, rcode::NOTAUTH, 0));
        // The unsigned TSIG stays last: the padding goes before it.
        self.padded(o, 0, out)
    }
}

/// Signs a reply or sets up the signing of a transfer.
pub(crate) fn sign_outcome(o: Outcome, s: &Signed<'_>, now: u32, out: &mut [u8], max: usize) -> Outcome {
    match o {
        Outcome::Reply(n, meta) => {
            let p = SignParams { prior: Some(s.mac.as_slice()), ..SignParams::at(now as u64) };
            let lim = max.min(out.len());
            match ts::sign(&mut out[..lim], n, s.key, &p) {
                Some((n, _)) => Outcome::Reply(n, meta),
                None => Outcome::Drop,
            }
        }
        Outcome::Transfer(x) => {
            Outcome::Transfer(x.with_signer(ts::StreamSigner::new(s.key.clone(), s.mac, now as u64)))
        }
        // Signed by the update thread, with the key and MAC it carries.
        o @ (Outcome::Drop | Outcome::Update(_)) => o,
    }
}
