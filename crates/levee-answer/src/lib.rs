//! # levee-answer: from a received message to a decision
//!
//! One entry point, [`Worker::answer`], turns a received message (its
//! octets, source address and transport: [`Received`]) and a zone
//! snapshot into a [`Decision`]: send `n` octets written into the
//! caller's buffer, drop (and why: [`Dropped`]), or stream a zone
//! transfer. It is deterministic, sans-IO and allocation-free on the query
//! path: the time and the socket's load come from the driver
//! ([`Worker::tick`], once per receive batch), the output buffer is the
//! caller's. Every driver calls it: each UDP worker thread and the TCP
//! thread own a [`Worker`] (with its response cache and its view of the
//! [`policy`]); the golden tests, the cache and pre-rendering comparisons,
//! the allocation test and the `packet` fuzz target call it the same way.
//!
//! The stages, in order (`worker.rs` has the details, `respond.rs`,
//! `answer.rs`, `notify.rs`, `tsig.rs`, `finish.rs`, `pad.rs` and `cache.rs` the
//! stages themselves; `request.rs` and `meta.rs` the types they share:
//! what a request is, and the [`Meta`] of what a response is):
//!
//! 1. **cache**: a *plain* query (opcode QUERY, one question of class IN,
//!    at most a bare OPT record) is looked up in the worker's response
//!    cache; a hit is judged by the policy stage on its stored [`Meta`],
//!    then copied with the query's ID and letter case;
//! 2. **admission** ([`policy`]): under overload, an NXDOMAIN for an
//!    unknown source will not be sent: it is not written whole;
//! 3. **direct name error**: a plain query for a missing name one label
//!    below a zone's apex (the random-subdomain flood) is answered from the
//!    zone's pre-rendered SOA, without the answer stage;
//! 4. **parse** ([`levee_wire::query::parse_query`], or for a plain query
//!    the cache key's walk): garbage is classified from the first octets:
//!    too short or QR=1 is dropped, a malformed query gets FORMERR;
//! 5. **protocol**: TSIG verified (RFC 8945; failures answered, the reply
//!    signed), EDNS version (BADVERS), opcode (NOTIMP for unknown opcodes,
//!    NOTIFY for secondary zones, UPDATE's zone and `allow-update` grant
//!    in `update.rs`), class (CHAOS
//!    identity answers, other classes refused), transfers (AXFR/IXFR over
//!    TCP with the zone's ACL), zones that did not load (SERVFAIL);
//! 6. **answer** (`answer.rs`): RFC 1034 §4.3.2 in the closest enclosing
//!    zone: referrals with glue, CNAME chains inside the zone, DNAME
//!    synthesis (RFC 6672), wildcards (RFC 4592), NODATA and NXDOMAIN with
//!    the SOA (RFC 2308), minimal ANY (RFC 8482), and with DO the RRSIGs
//!    and NSEC/NSEC3 proofs of RFC 4035 and RFC 5155;
//! 7. **finish**: truncation (TC=1 and no partial RRset, RFC 2181 §9),
//!    then (`finish.rs`) the OPT record with cookie (RFC 7873/9018), NSID
//!    (RFC 5001), TCP keepalive (RFC 7828), EXPIRE (RFC 7314) and
//!    Extended DNS Errors (RFC 8914); the response is offered to the cache
//!    (plain queries);
//!    Over DoT and DoQ, **pad** (`pad.rs`): a response with OPT is padded
//!    to a multiple of 468 octets (RFC 7830, RFC 8467 §4.1) before TSIG
//!    signs it;
//! 8. **judge** ([`policy`], UDP only): response rate limiting with slip
//!    and overload admission, from the response's [`Meta`] alone. A slip
//!    is written from the query as already read and sent in place of the
//!    response.
//!
//! The [`Meta`] of every response written comes back in the decision
//! (sent or [`Dropped::Withheld`]): its class, rcode, query type and zone
//! are what the daemon counts, and its [`Event`] what the daemon logs or
//! acts on (a NOTIFY accepted or refused, a TSIG failure, a transfer
//! refused); nothing calls back into the daemon.
//!
//! Zone transfers are the one multi-message answer:
//! [`Decision::Transfer`] hands the TCP driver a [`Transfer`] to pull
//! messages from. A granted dynamic update is the one request not
//! answered here: [`Decision::Update`] hands the driver an
//! [`UpdateRequest`] for the daemon's update thread (which evaluates it
//! with `levee-update`, journals it and replies).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod answer;
mod cache;
mod finish;
mod ixfr;
mod meta;
mod notify;
mod pad;
pub mod policy;
mod request;
mod respond;
mod tsig;
mod update;
mod worker;
mod xfr;

pub use meta::{Event, Kind, Meta, Proof, NO_ZONE};
pub use pad::BLOCK as PADDING_BLOCK;
pub use request::{Config, StreamPeer, Transport, UpdateRequest};
pub use worker::{Counters, Decision, Dropped, Load, Options, Received, Time, Worker};
pub use xfr::{Failure, Transfer};

#[cfg(test)]
mod testing;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_exact;
#[cfg(test)]
mod tests_pad;
#[cfg(test)]
mod tests_repl;
#[cfg(test)]
mod tests_worker;
