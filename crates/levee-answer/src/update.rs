//! UPDATE (RFC 2136) on the answering path: only the checks that need no
//! zone data change and cost no I/O. TSIG was verified before (a failure
//! is answered NOTAUTH by `tsig.rs`, as BIND answers it); here the zone
//! section must name one zone of class IN with type SOA (FORMERR), a zone
//! we serve (NOTAUTH, as BIND), a primary zone (a secondary's update is
//! REFUSED: levee does not forward updates, BIND's default), whose
//! `allow-update` grant (`Config::updates`) allows the source address and
//! key (REFUSED, [`Event::UpdateRefused`]; names and types a grant
//! restricts are checked by the update thread). An update that passes is not
//! answered here: the [`Outcome::Update`] carries a copy of the message,
//! the client and the verified key to the daemon's update thread, which
//! evaluates it (`levee-update`), journals, publishes and replies. So
//! nothing but an authenticated, granted update ever reaches the queue.

use levee_wire::header::rcode;
use levee_wire::name;
use levee_wire::rtype::{c, t};
use levee_zone::ZoneSet;

use crate::finish::{Outcome, Responder};
use crate::meta::Event;
use crate::request::UpdateRequest;

impl Responder<'_> {
    /// UPDATE: see the module documentation.
    pub(crate) fn update(&self, zones: &ZoneSet, out: &mut [u8]) -> Outcome {
        let q = self.q;
        if q.qtype != t::SOA {
            return self.error(out, rcode::FORMERR, true);
        }
        let lname = name::to_lowercase(&q.qname);
        let entry = zones.exact(&lname).filter(|_| q.qclass == c::IN);
        let Some(entry) = entry else {
            return self.error(out, rcode::NOTAUTH, true);
        };
        let key = self.tsig.as_ref().map(|s| s.key.name.as_slice());
        let granted = entry.expires.is_none()
            && self
                .cfg
                .updates
                .iter()
                .any(|(apex, acl)| apex.as_slice() == lname.as_slice() && acl.allows_signed(self.req.client, key));
        if !granted {
            return self.error(out, rcode::REFUSED, true).with_event(Event::UpdateRefused);
        }
        if entry.expired {
            return self.unavailable(entry, out);
        }
        Outcome::Update(Box::new(UpdateRequest {
            msg: self.req.msg.to_vec(),
            client: self.req.client,
            transport: self.req.transport,
            zone: lname.as_slice().to_vec(),
            signed: self.tsig.as_ref().map(|s| (s.key.clone(), s.mac)),
            now: self.req.now,
        }))
    }
}
