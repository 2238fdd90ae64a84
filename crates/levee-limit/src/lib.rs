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
//! Response rate limiting and overload admission arrive with the flood
//! defences issue and live here too.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod cookie;
pub mod rrl;
