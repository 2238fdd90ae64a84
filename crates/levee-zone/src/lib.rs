//! # levee-zone: zone data
//!
//! Zone files in, immutable query-ready snapshots out.
//!
//! ## Loading
//!
//! [`parser`] reads RFC 1035 master files (`$ORIGIN`, `$TTL`, `$INCLUDE`,
//! BIND's `$GENERATE`, parentheses, comments, quoted strings, escapes, TTL
//! and class in either order, `TYPEnnn`/`CLASSnnn` and RFC 3597 `\#`
//! RDATA) with its own [`lexer`] and per-type [`rdata`] readers. It is our
//! own code rather than a crate because zone loading is on the critical
//! path of restarts and reloads of multi-million-record zones: the lexer
//! works on spans of the file buffer, and records reach the builder in wire
//! form without any per-record allocation.
//!
//! [`build`] turns records into a [`Zone`]: names in canonical order with
//! empty non-terminals, RRsets with their signatures, tree flags (cuts,
//! glue, DNAME, wildcards), NS/MX/SRV targets pre-linked, the NSEC3 chain
//! sorted by hash, and the semantic checks Knot DNS and BIND perform. Every
//! problem is a [`Diagnostic`] with file and line.
//!
//! ## Serving
//!
//! A [`Zone`] never changes after it is built. A [`ZoneSet`] is the set of
//! zones a server answers for, with the longest-match lookup from a query
//! name to its zone. The daemon publishes a `ZoneSet` behind an
//! `ArcSwap`; a reload builds a new one beside the old and swaps it in, so
//! a zone that fails to load never replaces a working one. [`reload()`]
//! builds the next version of a zone from its changed file sharing the
//! unchanged segments of the served version, so a reload of a large zone
//! needs far less than twice its memory.

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![deny(unreachable_pub)]

mod snapshot;
pub mod zonefile;

// Short paths for a few lines that compute a new snapshot's serial and
// negative SOA (`crate::build::soa_serial`, `crate::negative`).
use snapshot::{build, negative};

pub use snapshot::build::{load, load_file, load_with, BuildOptions, Built, Checks, SEGMENT_NAMES};
pub use snapshot::journal;
pub use snapshot::negative::NegativeSoa;
pub use snapshot::reload::{reload_with, reload_with_budget, ReloadKind, ReloadOptions, Reloaded};
pub use snapshot::zone::{nf, Links, Node, NodeId, Nsec3Param, RRset, RRsetId, Rdatas, Zone, NONE};
pub use snapshot::zoneset::{placeholder, Acl, ZoneEntry, ZoneSet};
pub use zonefile::{Diagnostic, IoWatch, LoadOptions, Source};
