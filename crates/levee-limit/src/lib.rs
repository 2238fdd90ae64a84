//! # levee-limit: flood defences
//!
//! Policy that decides what a client has proven and what it may cost us.
//! Everything here is pure: time is a parameter, never read from the OS,
//! so every rule is testable with a virtual clock.
//!
//! * [`cookie`]: DNS cookies (RFC 7873) with the interoperable server
//!   cookie of RFC 9018, so anycast nodes sharing a secret accept each
//!   other's cookies.
//!
//! * [`rrl`]: response rate limiting (a sketch of recent responses per
//!   source prefix and answer class).
//! * [`gate`]: the arithmetic the flood gate's BPF programs share with
//!   user space (name hashes, the membership filter of a zone's names).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod cookie;
pub mod gate;
pub mod rrl;
