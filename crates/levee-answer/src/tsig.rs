//! TSIG on the answering path (RFC 8945 §5): verify a signed request,
//! answer failures (BADKEY/BADSIG unsigned with NOTAUTH, BADTIME signed,
//! a malformed TSIG with FORMERR), sign the response or every message of
//! a transfer. Also NOTIFY (RFC 1996) for secondary zones.

use levee_tsig::{self as ts, Key, MacBuf, SignParams};
use levee_wire::header::{flag, opcode, rcode};
use levee_wire::name::{self, NameBuf};
use levee_wire::query::Query;
use levee_wire::rtype::{c, t};
use levee_wire::writer::{Section, Writer};
use levee_zone::ZoneSet;

use crate::respond::{Kind, Outcome, Request, Responder};

/// A request that verified: the key and the request's MAC.
#[derive(Clone, Copy, Debug)]
pub struct Signed<'k> {
    /// The key.
    pub key: &'k Key,
    /// The request MAC.
    pub mac: MacBuf,
}

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

/// Why the TSIG of a request fails, for the daemon's log (the answering
/// path does not log). `None` if it verifies or has no TSIG.
pub fn failure_reason(msg: &[u8], keys: &ts::KeyRing, now: u32) -> Option<(ts::Error, String)> {
    let rec = match ts::parse(msg) {
        Ok(Some(r)) => r,
        Ok(None) => return None,
        Err(e) => return Some((e, String::new())),
    };
    let key = name::to_text(&rec.key);
    match ts::verify(msg, &rec, keys, None, now as u64) {
        Ok(_) => None,
        Err(f) if f.error == ts::Error::BadTime => {
            Some((f.error, format!("{key} (time signed {}, now {now}, fudge {})", rec.time, rec.fudge)))
        }
        Err(f) => Some((f.error, key)),
    }
}

impl Responder<'_> {
    /// The answer to a request whose TSIG fails.
    pub(crate) fn tsig_error(&self, f: &ts::Failure<'_>, out: &mut [u8]) -> Outcome {
        if f.error == ts::Error::Malformed {
            return self.error(out, rcode::FORMERR, true);
        }
        let Ok(Some(rec)) = ts::parse(self.req.msg) else { return Outcome::Drop };
        let mut w = Writer::new(out, self.max_size.saturating_sub(self.opt_len));
        let flags = self.base_flags() | rcode::NOTAUTH;
        if w.start(self.q.header.id, flags, self.question()).is_err() {
            return Outcome::Drop;
        }
        if let Some(e) = &self.q.edns {
            let mut opts = crate::respond::OptOptions::new();
            self.opt_options(e, &mut opts);
            let dof = e.flags & levee_wire::edns::FLAG_DO;
            if w.opt(self.cfg.udp_payload, 0, dof, opts.as_slice(), self.max_size).is_err() {
                return Outcome::Drop;
            }
        }
        let room = self.max_size.max(512);
        if let (ts::Error::BadTime, Some(key), Some(mac)) = (f.error, f.key, f.mac) {
            // BADTIME is signed, with our time as other data (§5.2.3).
            let n = w.finish();
            let now = ts::time_other(self.req.now as u64);
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
        Outcome::Reply(w.finish(), self.meta(Kind::Error, rcode::NOTAUTH, 0))
    }

    /// NOTIFY (RFC 1996 §3.7): NOERROR with AA for a zone we are a
    /// secondary of, from an allowed address (and key); REFUSED otherwise.
    /// The daemon sees the NOERROR and schedules the refresh.
    pub(crate) fn notify(&self, zones: &ZoneSet, signed: Option<&Signed<'_>>, out: &mut [u8]) -> Outcome {
        let q = self.q;
        if q.qtype != t::SOA || q.qclass != c::IN {
            return self.error(out, rcode::FORMERR, true);
        }
        let lname = name::to_lowercase(&q.qname);
        let allowed = zones
            .exact(&lname)
            .is_some_and(|e| e.notify.allows_signed(self.req.client, signed.map(|s| s.key.name.as_slice())));
        if !allowed {
            return self.error(out, rcode::REFUSED, true);
        }
        let mut w = Writer::new(out, self.max_size.saturating_sub(self.opt_len));
        if w.start(q.header.id, self.base_flags() | flag::AA, self.question()).is_err() {
            return Outcome::Drop;
        }
        self.finish(&mut w, self.meta(Kind::Answer, rcode::NOERROR, 0))
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
        Outcome::Drop => Outcome::Drop,
    }
}

/// True if `resp` (a response we produced) accepts a NOTIFY: the daemon
/// then refreshes the zone named in `query`.
pub fn accepted_notify(resp: &[u8]) -> bool {
    resp.len() >= 12 && (resp[2] >> 3) & 0xF == opcode::NOTIFY && resp[3] & 0xF == 0 && resp[2] & 0x80 != 0
}

/// The zone a NOTIFY names (lowercase wire), from the query bytes.
pub fn notify_zone(query: &[u8]) -> Option<NameBuf> {
    match levee_wire::query::parse_query(query) {
        levee_wire::query::Parsed::Query(q) if q.has_question => Some(name::to_lowercase(&q.qname)),
        _ => None,
    }
}

/// The serial a NOTIFY announces: the zone's SOA as its first answer
/// record (RFC 1996 §3.7, optional), if there is one. Reads the message in
/// place (names into stack buffers): no allocation on the worker thread.
pub fn notify_serial(query: &[u8], zone: &[u8]) -> Option<u32> {
    let h = levee_wire::header::Header::read(query)?;
    if h.qdcount != 1 || h.ancount == 0 {
        return None;
    }
    let mut nb = NameBuf::root();
    let p = name::read_compressed(query, levee_wire::header::HEADER_LEN, &mut nb).ok()? + 4;
    let p = name::read_compressed(query, p, &mut nb).ok()?;
    let f = query.get(p..p + 10)?;
    let rdlen = u16::from_be_bytes([f[8], f[9]]) as usize;
    if u16::from_be_bytes([f[0], f[1]]) != levee_wire::rtype::t::SOA || !name::eq_ignore_case(nb.as_slice(), zone) {
        return None;
    }
    let end = p + 10 + rdlen;
    let q = name::read_compressed(query, p + 10, &mut nb).ok()?;
    let q = name::read_compressed(query, q, &mut nb).ok()?;
    if q + 20 != end || query.len() < end {
        return None;
    }
    Some(u32::from_be_bytes(query.get(q..q + 4)?.try_into().ok()?))
}

#[cfg(test)]
mod notify_tests {
    use super::notify_serial;

    fn notify(zone: &[u8], soa_owner: &[u8], compressed: bool) -> Vec<u8> {
        let mut m = vec![0, 1, 0x20, 0, 0, 1, 0, 1, 0, 0, 0, 0];
        m.extend_from_slice(zone);
        m.extend_from_slice(&[0, 6, 0, 1]);
        m.extend_from_slice(soa_owner);
        m.extend_from_slice(&[0, 6, 0, 1, 0, 0, 0, 60]);
        let mut rd = Vec::new();
        if compressed {
            rd.extend_from_slice(&[2, b'n', b's', 0xc0, 12, 0xc0, 12]);
        } else {
            rd.extend_from_slice(b"\x02ns\x01f\x04test\x00\x01h\x01f\x04test\x00");
        }
        for x in [2026u32, 1, 2, 3, 4] {
            rd.extend_from_slice(&x.to_be_bytes());
        }
        m.extend_from_slice(&(rd.len() as u16).to_be_bytes());
        m.extend_from_slice(&rd);
        m
    }

    #[test]
    fn the_serial_of_a_notify() {
        let z = b"\x01f\x04test\x00";
        assert_eq!(notify_serial(&notify(z, &[0xc0, 12], true), z), Some(2026));
        assert_eq!(notify_serial(&notify(z, z, false), b"\x01F\x04TEST\x00"), Some(2026));
        assert_eq!(notify_serial(&notify(z, b"\x01g\x04test\x00", false), z), None, "another owner");
        let m = notify(z, z, false);
        for cut in 0..m.len() {
            assert_eq!(notify_serial(&m[..cut], z), None);
        }
        let mut no_answer = m.clone();
        no_answer[7] = 0;
        assert_eq!(notify_serial(&no_answer, z), None);
    }
}
