//! The zone-file side: RFC 1035 text to records in wire form, and RDATA
//! back to text.

pub mod codec;
pub mod fields;
pub mod generate;
pub mod lexer;
pub mod parser;
pub mod rdata_format;
pub mod rdata_parse;
pub mod source;
pub mod svcb;
pub mod wirecheck;
