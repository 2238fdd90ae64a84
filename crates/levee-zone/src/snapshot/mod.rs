//! The snapshot side: records to immutable, query-ready zones.
//!
//! * `build.rs`: records (from the parser's sink, or a transfer's list)
//!   to a [`Zone`](crate::Zone) with the semantic checks; the loaders
//!   ([`load_with`](crate::load_with)) that run the zone-file parser into
//!   the builder;
//! * `zone.rs`: the snapshot, its names cut into segments that versions
//!   share, and the rendering of its negative SOA when it is assembled;
//!   `index.rs`: its name index; `negative.rs`: the SOA of its negative
//!   answers, rendered once, and the copy an answer makes of it;
//!   `nsec3.rs`: the NSEC3 owner hash;
//! * `par.rs`: the build's steps on several threads (parts run side by
//!   side, their results joined in order: the one-thread result);
//!   `order.rs`: the canonical sort of a build's names (a radix pass,
//!   then buckets sorted, on the threads);
//! * `reload.rs`: the next version from a changed file, sharing unchanged
//!   segments;
//! * `zoneset.rs`: the zones a server answers for;
//! * `journal.rs`: record lists, differences and the IXFR journal
//!   (public as [`crate::journal`]);
//! * `layout_tests.rs` (tests only): the sizes of a node and an RRset and
//!   what the layout derives instead of storing.
//! * `negative_tests.rs` (tests only): a loaded zone's negative SOA
//!   against the writer's output.
//! * `ref_tests.rs` (tests only): NS targets stored as references to
//!   their node read back exactly, through loads and reloads.
//!
//! The modules depend on each other in layers, without a cycle: `par`,
//! `order` (on `par`), `index`, `negative` and `nsec3` at the bottom; `zone` uses them; `build` uses
//! `zone`; `reload` and `journal` use `build` and `zone`; `zoneset` uses
//! `journal`, `build` and `zone`. Tests that load zones live above the
//! loader (`negative_tests.rs`; the same-data test in `reload.rs`; the
//! record-count test in `journal.rs`), not in the modules they check.

pub(crate) mod build;
pub(crate) mod index;
pub(crate) mod intern;
pub mod journal;
#[cfg(test)]
mod layout_tests;
pub(crate) mod negative;
#[cfg(test)]
mod negative_tests;
pub(crate) mod nsec3;
pub(crate) mod order;
pub(crate) mod par;
pub(crate) mod patch;
#[cfg(test)]
mod ref_tests;
pub(crate) mod reload;
pub(crate) mod zone;
pub(crate) mod zoneset;
