//! dnstap for levee, the octets only: the dnstap protobuf message
//! ([`encode`], [`decode`]) and the Frame Streams framing that carries it
//! ([`fstrm`]). No sockets, threads or clock: the daemon
//! (`crates/levee/src/dnstap/`) captures, queues and writes; this crate
//! turns what it captured into the bytes a collector reads.
//!
//! # dnstap
//!
//! A dnstap payload is one protobuf message `Dnstap` of the public schema
//! `dnstap.proto` (dnstap.info): `identity` (1), `version` (2), `type`
//! (15, always `MESSAGE` = 1) and `message` (14), a `Message` with the
//! message type (1: levee writes `AUTH_QUERY` = 1 and `AUTH_RESPONSE` =
//! 2), socket family (2) and protocol (3), the query's source address and
//! port (4, 6: the client), the responding address and port (5, 7: the
//! server), query time (8 seconds, 9 nanoseconds as `fixed32`), the
//! query message (10), response time (12, 13) and response message (14).
//! The encoder here is hand-written: a dnstap message uses four wire
//! types (varint, 64-bit is unused, length-delimited, 32-bit), which is
//! fifty lines, not a protobuf library.
//!
//! # Frame Streams
//!
//! A stream of length-prefixed frames (big-endian 32-bit length, then the
//! payload). A length of 0 escapes a *control frame*: its own length, its
//! type (`ACCEPT`, `START`, `STOP`, `READY`, `FINISH`) and fields (only
//! `CONTENT_TYPE`, here `protobuf:dnstap.Dnstap`). On a socket the writer
//! (levee) sends READY, the reader answers ACCEPT, the writer sends START,
//! data frames, and STOP, which the reader answers with FINISH.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod decode;
pub mod encode;
pub mod fstrm;

pub use encode::{encode, Kind, Message, Protocol};

/// The Frame Streams content type of dnstap.
pub const CONTENT_TYPE: &[u8] = b"protobuf:dnstap.Dnstap";

#[cfg(test)]
mod tests;
