//! The zone-file side: RFC 1035 text to records in wire form, and RDATA
//! back to text.

pub(crate) mod codec;
pub(crate) mod fields;
pub(crate) mod generate;
pub(crate) mod lexer;
pub(crate) mod parser;
pub(crate) mod rdata_format;
pub(crate) mod rdata_parse;
pub(crate) mod source;
pub(crate) mod svcb;
pub(crate) mod wirecheck;

pub use codec::hex_decode;
pub use parser::{parse, Diagnostic, LoadOptions, ParseStats, Record, SinkResult};
pub use rdata_format::{rdata_to_text, record_to_text};
pub use source::{IoWatch, Source};
pub use wirecheck::check_record;
