//! # levee-update: dynamic update (RFC 2136), evaluated without I/O
//!
//! One function, [`evaluate`]: an UPDATE message (decoded with
//! `levee_wire::message::Message`) and the zone snapshot it is for go
//! in; the response code and, when something changed, the difference
//! to apply ([`levee_zone::journal::Diff`], the type IXFR journals
//! hold) come out. Nothing here reads a clock, a socket or a file, so
//! the same message against the same snapshot always gives the same
//! result, and every rule is unit-tested directly (`tests.rs`). The
//! daemon (`crates/levee/src/update/`) verifies TSIG and the zone's
//! `allow-update` grant before, and journals, builds and publishes the
//! difference after.
//!
//! ## The order of the checks (RFC 2136 §3)
//!
//! 1. **Zone section** (§3.1): exactly one question of type SOA
//!    (FORMERR otherwise); its name must be the zone's apex and its class
//!    IN (NOTAUTH otherwise). Zones with DNSSEC signatures are REFUSED:
//!    levee does not sign, and unsigned changes would break validation.
//! 2. **Prerequisites** (§3.2, `prereq.rs`), in message order, each with
//!    TTL 0 (FORMERR) and an owner inside the zone (NOTZONE):
//!    class ANY type ANY "name is in use" (NXDOMAIN), class ANY type T
//!    "RRset exists" (NXRRSET), class NONE type ANY "name is not in use"
//!    (YXDOMAIN), class NONE type T "RRset does not exist" (YXRRSET),
//!    class IN "RRset exists with exactly these values" (NXRRSET, checked
//!    after the others, TTLs ignored). Any other class is FORMERR.
//! 3. **Prescan** of the update section (§3.4.1, `apply.rs`): every
//!    record inside the zone (NOTZONE), of a form RFC 2136 allows and
//!    with well-formed RDATA (FORMERR), and, for a client whose grant
//!    names names or types ([`Scope`], [`evaluate_scoped`]), within them
//!    (REFUSED), before anything is applied.
//! 4. **Application** (§3.4.2, `apply.rs`), in message order, on a working
//!    copy of the names the update touches, with the rules BIND 9 applies:
//!    * an added record already present with the same TTL is ignored; an
//!      added record whose TTL differs from its RRset's sets the TTL of
//!      the whole RRset;
//!    * a CNAME is not added beside other data, other data not beside a
//!      CNAME (DNSSEC types excepted); a CNAME added where one exists
//!      replaces it;
//!    * an SOA is added only at the apex and only with a serial greater
//!      than the current one (RFC 1982), and replaces the SOA;
//!    * deleting the SOA, the apex NS RRset or the last apex NS record is
//!      ignored; deleting every RRset of the apex keeps SOA and NS.
//! 5. **Serial**: when the update changed anything and did not itself
//!    raise the SOA serial, the serial is incremented by one (skipping 0),
//!    as BIND's default `serial-update-method increment` does. A change
//!    that changes nothing (every record already there) keeps the serial
//!    and yields no difference.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod apply;
pub mod edit;
mod model;
mod prereq;
mod reply;

pub use model::{Evaluation, Scope};
pub use reply::reply;

use levee_wire::header::rcode;
use levee_wire::message::Message;
use levee_wire::name;
use levee_wire::rtype::{c, t};
use levee_zone::Zone;

use crate::model::items;

/// Evaluates the UPDATE `msg` against `zone` (the snapshot currently
/// served for the zone the message names), from a client whose grant is
/// not restricted. See the crate documentation for the order of the
/// checks.
pub fn evaluate(msg: &Message, zone: &Zone) -> Evaluation {
    evaluate_scoped(msg, zone, None)
}

/// [`evaluate`] for a client whose grants restrict names and types: an
/// update record no scope allows makes the update REFUSED (checked in the
/// prescan, after the record's own form, as BIND checks `update-policy`).
/// `None`: unrestricted.
pub fn evaluate_scoped(msg: &Message, zone: &Zone, scopes: Option<&[Scope]>) -> Evaluation {
    if zone.is_signed() {
        // Signed elsewhere: a change would leave its signatures wrong.
        return Evaluation::fail(rcode::REFUSED, "zone is signed");
    }
    evaluate_any(msg, zone, scopes)
}

/// [`evaluate_scoped`] for a zone the server signs itself: the signed
/// snapshot is evaluated like any other, and the caller signs the
/// difference (the signatures and chain records in it are the signer's
/// to make again; levee's `update::signed`).
pub fn evaluate_signer(msg: &Message, zone: &Zone, scopes: Option<&[Scope]>) -> Evaluation {
    evaluate_any(msg, zone, scopes)
}

fn evaluate_any(msg: &Message, zone: &Zone, scopes: Option<&[Scope]>) -> Evaluation {
    let apex = zone.apex();
    let [q] = msg.question.as_slice() else {
        return Evaluation::fail(rcode::FORMERR, "zone section must hold one record");
    };
    if q.qtype != t::SOA {
        return Evaluation::fail(rcode::FORMERR, "zone section type is not SOA");
    }
    if q.qclass != c::IN || name::to_lowercase(&q.name).as_slice() != apex {
        return Evaluation::fail(rcode::NOTAUTH, "not authoritative for the zone");
    }
    let prereqs = items(&msg.answer);
    if let Err(e) = prereq::check(zone, &prereqs) {
        return e;
    }
    let updates = items(&msg.authority);
    if let Err(e) = apply::prescan(apex, &updates, scopes) {
        return e;
    }
    let mut work = apply::Work::new(zone);
    for u in &updates {
        work.apply(u);
    }
    match work.into_diff() {
        Some(d) => Evaluation { rcode: rcode::NOERROR, diff: Some(d), reason: "applied" },
        None => Evaluation { rcode: rcode::NOERROR, diff: None, reason: "no change" },
    }
}

#[cfg(test)]
mod tests;
