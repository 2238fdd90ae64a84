//! NOTIFY (RFC 1996) for secondary zones: accepted from an allowed
//! address (and key), refused otherwise; the serial a NOTIFY announces.

use levee_wire::header::{flag, opcode, rcode};
use levee_wire::name::{self, NameBuf};
use levee_wire::rtype::{c, t};
use levee_wire::writer::Writer;
use levee_zone::ZoneSet;

use crate::respond::{Kind, Outcome, Responder};
use crate::tsig::Signed;

impl Responder<'_> {
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
