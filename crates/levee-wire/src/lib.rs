//! # levee-wire: the DNS wire format
//!
//! This crate is levee's bottom layer: pure functions from bytes to types
//! and back, with no I/O, no clock and no allocation on the query path.
//!
//! * [`name`]: domain names in wire form (`&[u8]`), case-insensitive
//!   comparison, canonical order, presentation format, decompression.
//! * [`rtype`]: type and class numbers and mnemonics, and where names sit
//!   inside each type's RDATA (for compression and canonical form).
//! * [`header`]: the 12-octet header, flags, opcodes and rcodes.
//! * [`hash`]: the one 64-bit hash finaliser of every table and key.
//! * [`query`]: [`parse_query`](query::parse_query) reads an incoming query
//!   in place: header, question, OPT, IXFR serial. It classifies garbage
//!   (drop vs. FORMERR) without touching zone data.
//! * [`serial`]: [`Serial`](serial::Serial), zone serials in RFC 1982 order.
//! * [`soa`]: [`Soa`](soa::Soa), the fixed fields of SOA RDATA read in place.
//! * [`record`]: a record's fixed fields (type, class, TTL, RDLENGTH) in place.
//! * [`edns`]: the OPT record and the options an authoritative server acts on.
//! * [`writer`]: [`Writer`](writer::Writer), a bounded response writer with
//!   compression and roll-back, so a response never holds half an RRset.
//! * [`message`]: an allocating reader of whole messages for tests and tools.
//!
//! Errors are small `Copy` enums: [`WireError`] for wire data and names,
//! [`Malformed`] for why a query gets FORMERR (from [`query`] and the OPT
//! decoder of [`edns`], which the query parser calls).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod edns;
pub mod hash;
pub mod header;
pub mod message;
pub mod name;
pub mod query;
pub mod record;
pub mod rtype;
pub mod serial;
pub mod soa;
pub mod writer;

use core::fmt;

/// Errors from decoding wire data or building names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WireError {
    /// The input ended early.
    ShortInput,
    /// A label longer than 63 octets, an empty label, or a reserved label type.
    BadLabel,
    /// A name longer than 255 octets.
    NameTooLong,
    /// A compression pointer that does not point backwards.
    BadPointer,
    /// Data left over where none was expected.
    TrailingData,
    /// A relative name where no origin is known.
    RelativeName,
    /// A malformed `\` escape.
    BadEscape,
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WireError::ShortInput => "input ends early",
            WireError::BadLabel => "bad label (empty, longer than 63 octets, or reserved type)",
            WireError::NameTooLong => "name longer than 255 octets",
            WireError::BadPointer => "bad compression pointer",
            WireError::TrailingData => "trailing data",
            WireError::RelativeName => "relative name without an origin",
            WireError::BadEscape => "bad escape sequence",
        })
    }
}

impl std::error::Error for WireError {}

/// Why a query is malformed (answered with FORMERR).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Malformed {
    /// QDCOUNT was 0 (an opcode that needs no question, an unknown one
    /// answered NOTIMP, is still answered).
    NoQuestion,
    /// QDCOUNT was more than 1.
    MultipleQuestions,
    /// The question name or fixed fields could not be read.
    BadQuestion,
    /// A record in the answer/authority/additional section ran past the end.
    TruncatedRecord,
    /// An OPT record outside the additional section, or with a non-root owner.
    MisplacedOpt,
    /// More than one OPT record.
    DuplicateOpt,
    /// An EDNS option overran the OPT RDATA.
    BadOption,
    /// A COOKIE option with an impossible length (RFC 7873 §5.2.2).
    BadCookie,
    /// A TSIG record that is not the last record (RFC 8945 §5.1).
    TsigNotLast,
}
