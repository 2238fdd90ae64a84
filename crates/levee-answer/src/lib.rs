//! # levee-answer: from a query to a response
//!
//! [`respond`] is a deterministic function of the query bytes, the zone
//! snapshot, the answering policy and the request's metadata (transport,
//! client address, the time). It writes the response into a buffer the
//! caller owns and does not allocate. The I/O drivers (UDP workers, the
//! TCP server) call it and nothing else; tests call it directly.
//!
//! The work is split into named stages, in order:
//!
//! 1. **parse** ([`levee_wire::query::parse_query`]): garbage is classified
//!    from the first octets: too short or QR=1 is dropped, a malformed
//!    query gets FORMERR, without touching zone data;
//! 2. **protocol** ([`respond`]): EDNS version (BADVERS), opcode (NOTIMP
//!    for unknown opcodes, with or without a question; NOTIFY for secondary
//!    zones, UPDATE not implemented), class (CHAOS identity answers, other
//!    classes refused), transfers (AXFR/IXFR over TCP with the zone's ACL),
//!    zones that did not load (SERVFAIL);
//! 3. **answer** ([`answer`]): RFC 1034 §4.3.2 in the closest enclosing
//!    zone: referrals with glue, CNAME chains inside the zone, DNAME
//!    synthesis (RFC 6672), wildcards (RFC 4592), NODATA and NXDOMAIN with
//!    the SOA (RFC 2308), minimal ANY (RFC 8482), and with DO the RRSIGs
//!    and NSEC/NSEC3 proofs of RFC 4035 and RFC 5155;
//! 4. **finish**: truncation (TC=1 and no partial RRset, RFC 2181 §9),
//!    the OPT record with cookie (RFC 7873/9018), NSID (RFC 5001), TCP
//!    keepalive (RFC 7828), EXPIRE (RFC 7314) and Extended DNS Errors
//!    (RFC 8914).
//!
//! 5. **policy** ([`policy`]): after the response is written, the UDP
//!    drivers decide whether it leaves: response rate limiting with slip,
//!    and overload admission, from the response's [`Meta`] alone.
//!
//! Zone transfers are the one multi-message answer: [`respond`] returns
//! [`Outcome::Transfer`] and the TCP driver pulls the messages from a
//! [`xfr::TransferWriter`].

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod answer;
pub mod cache;
mod ixfr;
pub mod notify;
pub mod policy;
pub mod respond;
pub mod tsig;
pub mod xfr;

pub use respond::{
    name_error_below_apex, respond, respond_hinted, respond_plain, respond_plain_walk, slip, Config, Hints, Kind, Meta,
    Outcome, Proof, Request, Transport, NO_ZONE,
};

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_exact;
#[cfg(test)]
mod tests_repl;
