//! The snapshot side: records to immutable, query-ready zones.
//!
//! * `build.rs`: records (from the parser's sink, or a transfer's list)
//!   to a [`Zone`](crate::Zone) with the semantic checks; the loaders
//!   ([`load_with`](crate::load_with)) that run the zone-file parser into
//!   the builder;
//! * `zone.rs`: the snapshot, its names cut into segments that versions
//!   share; `index.rs`: its name index; `negative.rs`: the SOA of its
//!   negative answers, rendered once; `nsec3.rs`: the NSEC3 owner hash;
//! * `reload.rs`: the next version from a changed file, sharing unchanged
//!   segments;
//! * `zoneset.rs`: the zones a server answers for;
//! * `journal.rs`: record lists, differences and the IXFR journal
//!   (public as [`crate::journal`]).

pub(crate) mod build;
pub(crate) mod index;
pub mod journal;
pub(crate) mod negative;
#[cfg(test)]
mod negative_tests;
pub(crate) mod nsec3;
pub(crate) mod reload;
pub(crate) mod zone;
pub(crate) mod zoneset;
