//! NOTIFY (RFC 1996) for secondary zones: accepted (NOERROR with AA)
//! from an address (and key) the zone's `allow-notify` allows, refused
//! otherwise. The [`Meta`](crate::Meta) says which
//! ([`Event::NotifyAccepted`] with the serial the NOTIFY announces, read
//! in place, or [`Event::NotifyRefused`]): the daemon schedules the
//! refresh or logs the refusal from that alone.

use levee_wire::header::{flag, rcode, HeaderRef, HEADER_LEN};
use levee_wire::name::{self, NameBuf};
use levee_wire::record;
use levee_wire::rtype::{c, t};
use levee_wire::soa::Soa;
use levee_wire::writer::Writer;
use levee_zone::ZoneSet;

use crate::finish::{Outcome, Responder};
use crate::meta::{Event, Kind};
use crate::request::Signed;

impl Responder<'_> {
    /// NOTIFY (RFC 1996 §3.7): NOERROR with AA for a zone we are a
    /// secondary of, from an allowed address (and key); REFUSED otherwise.
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
            return self.error(out, rcode::REFUSED, true).with_event(Event::NotifyRefused);
        }
        let mut w = Writer::new(out, self.max_size.saturating_sub(self.opt_len));
        if w.start(q.header.id, self.base_flags() | flag::AA, self.question()).is_err() {
            return Outcome::Drop;
        }
        let serial = notify_serial(self.req.msg, &lname);
        self.finish(&mut w, self.meta(Kind::Answer, rcode::NOERROR, 0)).with_event(Event::NotifyAccepted { serial })
    }
}

/// The serial a NOTIFY announces: the zone's SOA as its first answer
/// record (RFC 1996 §3.7, optional), if there is one. Reads the message in
/// place (the owner name into a stack buffer): no allocation.
fn notify_serial(query: &[u8], zone: &[u8]) -> Option<u32> {
    let h = HeaderRef::new(query)?;
    if h.qdcount() != 1 || h.ancount() == 0 {
        return None;
    }
    let p = name::skip_compressed(query, HEADER_LEN).ok()? + 4;
    let mut owner = NameBuf::root();
    name::read_compressed(query, p, &mut owner).ok()?;
    let rr = record::read_at(query, p)?;
    if rr.rtype() != t::SOA || !name::eq_ignore_case(owner.as_slice(), zone) {
        return None;
    }
    let soa = Soa::in_message(query, rr.rdata, rr.end)?;
    (soa.end() == rr.end).then(|| soa.serial().get())
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
