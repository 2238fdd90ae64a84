//! The zone-file side: RFC 1035 text to records in wire form, and RDATA
//! back to text.
//!
//! A zone's text flows through these modules, each knowing one thing:
//!
//! * `source.rs`: where text comes from ([`Source`]): a file read in
//!   chunks (regular files only, every octet counted against the zone's
//!   budget, every file-system call watched by an [`IoWatch`]), or text
//!   in memory; it knows nothing of the syntax;
//! * `lexer.rs`: text to entries (one logical line, parentheses joined)
//!   of tokens (spans of the buffer, no allocation per token);
//! * `fast.rs`: the fused path for the common lines of a large zone
//!   (`owner [ttl] [IN] NS|A|AAAA|DS rdata`): one pass from the line's text
//!   to the record, no token list; anything unusual goes, untouched, to
//!   the lexer and the parser below, which report its errors;
//! * `parser.rs`: entries to [`Record`]s handed to a sink ([`parse`]):
//!   chunks cut on entry boundaries, owner, TTL, class and type,
//!   `$ORIGIN`, `$TTL` and `$INCLUDE`, the record budget
//!   ([`LoadOptions`]), problems as [`Diagnostic`]s with FILE:LINE;
//! * `parallel.rs`: the same parse on several threads
//!   ([`LoadOptions::threads`]): the text cut into blocks at line
//!   starts, each parsed on a guess of the state at its start, merged in
//!   file order where the guess holds and parsed again where it does not;
//! * `generate.rs`: BIND's `$GENERATE` range and templates, expanded into
//!   lines the parser reads as ordinary entries;
//! * `fields.rs`: one entry's fields (numbers, names, TTLs with units,
//!   character-strings, escapes);
//! * `family.rs`: which family of RDATA layouts a type belongs to, the
//!   one dispatch table of the reader and the writer below;
//! * `rdata_parse.rs`: RDATA text to wire, one reader per family of
//!   types (`svcb.rs`: SVCB/HTTPS parameters; `codec.rs`: Base16,
//!   Base32hex, Base64);
//! * `rdata_format.rs`: RDATA wire to text ([`rdata_to_text`],
//!   [`record_to_text`]), one writer per family of the same names, whose
//!   text reads back into the same octets;
//! * `timings.rs`: where a load's time goes, phase by phase, when the
//!   caller asks ([`Timings`], `levee check-zone --timings`);
//! * `wirecheck.rs`: whether wire RDATA is something the reader could
//!   have produced ([`check_record`]): RDATA in the generic form `\#` and
//!   records received by a transfer pass it;
//! * `reference.rs` (tests and the fuzz target only, feature
//!   `reference`): a slow, obvious parser the fast path is compared with
//!   on every fuzz input and every zone file of the repository;
//! * `roundtrip.rs` (tests only): the formatters' text reads back through
//!   the reader into the same octets; it sits above both, so
//!   `rdata_format` does not depend on `rdata_parse`.
//!
//! The public items are re-exported here; the modules are crate-private.
//! Nothing here uses the snapshot side (`src/snapshot/`), and the modules
//! depend on each other without a cycle: `parser` uses `source`,
//! `generate`, `fast`, `lexer`, `fields` and `rdata_parse` (`fast` uses
//! the parser's state and record types, `lexer` and `fields`), which use only the
//! modules listed after them (`rdata_parse` uses `wirecheck`, which uses
//! `rdata_format`).

pub(crate) mod codec;
pub(crate) mod family;
pub(crate) mod fast;
pub(crate) mod fields;
pub(crate) mod generate;
pub(crate) mod lexer;
pub(crate) mod parallel;
pub(crate) mod parser;
pub(crate) mod rdata_format;
pub(crate) mod rdata_parse;
#[cfg(any(test, feature = "reference"))]
pub mod reference;
#[cfg(test)]
mod roundtrip;
pub(crate) mod source;
pub(crate) mod svcb;
pub mod timings;
pub(crate) mod wirecheck;

pub use codec::hex_decode;
pub use parser::{Diagnostic, LoadOptions, ParseStats, Record, SinkResult, BLOCK, MAX_BLOCK};
pub use rdata_format::{civil_from_days, rdata_to_text, record_to_text};
pub use source::{IoWatch, Source};
pub use timings::{Phase, Timings};
pub use wirecheck::check_record;

/// Parses a zone from `source` with the initial `origin`, calling `sink`
/// for each record. Diagnostics are appended to `diags`. The default
/// budgets apply ([`LoadOptions::default`]).
pub fn parse(
    source: Source<'_>,
    origin: &[u8],
    sink: &mut dyn FnMut(&Record<'_>) -> SinkResult,
    diags: &mut Vec<Diagnostic>,
) -> ParseStats {
    parse_with(source, origin, &LoadOptions::default(), sink, diags)
}

/// [`parse`] with explicit budgets, I/O watch, timings and threads: a
/// file or text larger than [`LoadOptions::block_size`] is parsed on
/// [`LoadOptions::threads`] threads (`parallel.rs`), the rest on the
/// calling thread (`parser.rs`).
pub fn parse_with(
    source: Source<'_>,
    origin: &[u8],
    opts: &LoadOptions,
    sink: &mut dyn FnMut(&Record<'_>) -> SinkResult,
    diags: &mut Vec<Diagnostic>,
) -> ParseStats {
    parser::parse_hooked(source, origin, opts, Some(parallel::parse), sink, diags)
}
