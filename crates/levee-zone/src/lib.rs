//! # levee-zone: zone data
//!
//! Zone files in, immutable query-ready snapshots out.
//!
//! ## Layout: two sides, one direction
//!
//! The crate has two sides, each a folder, and one dependency between
//! them: the snapshot side reads records from the zone-file side; the
//! zone-file side never names the snapshot side (every `crate::` path
//! under `src/zonefile/` starts with `crate::zonefile::`; a test checks
//! it).
//!
//! **`src/zonefile/`: text.** RFC 1035 master files to records in wire
//! form, and RDATA back to text ([`zonefile`] has the map of its modules):
//! `$ORIGIN`, `$TTL`, `$INCLUDE`, BIND's `$GENERATE`, parentheses,
//! comments, quoted strings, escapes, TTL and class in either order,
//! `TYPEnnn`/`CLASSnnn` and RFC 3597 `\#` RDATA, within a budget of octets
//! and records per zone. It is our own code rather than a crate because
//! zone loading is on the critical path of restarts and reloads of
//! multi-million-record zones: the lexer works on spans of the file
//! buffer, and records reach the builder in wire form without any
//! per-record allocation.
//!
//! **`src/snapshot/`: zones.** Records to immutable snapshots:
//!
//! * `build.rs` turns records into a [`Zone`]: names in canonical order
//!   with empty non-terminals, RRsets with their signatures, tree flags
//!   (cuts, glue, DNAME, wildcards), NS/MX/SRV targets pre-linked, the
//!   NSEC3 chain sorted by hash, and the semantic checks Knot DNS and BIND
//!   perform ([`Checks`]). Every problem is a [`Diagnostic`] with file and
//!   line. [`load_with`] runs the parser into the builder.
//! * `zone.rs` is the snapshot: names cut into segments shared between
//!   versions, `index.rs` its name index, `negative.rs` its pre-rendered
//!   negative SOA, `nsec3.rs` the NSEC3 hash.
//! * `reload.rs` builds the next version of a zone from its changed file,
//!   sharing the unchanged segments of the served version
//!   ([`reload_with_budget`]), so a reload of a large zone needs far less
//!   than twice its memory.
//! * `zoneset.rs` is the set of zones a server answers for ([`ZoneSet`]),
//!   with the longest-match lookup from a query name to its zone.
//! * `journal.rs` ([`journal`]) lists a snapshot's records, compares two
//!   versions, builds a snapshot from a transfer and keeps the IXFR
//!   journal.
//!
//! Why one crate and not two (Knot DNS keeps its zone scanner apart): the
//! snapshot side uses more of the text side than its public face (the
//! budgeted record stream, the Base32hex codec for NSEC3 owners, the wire
//! RDATA check), which stays crate-private here; and every user of the
//! reader (the loader, reloads, `check-zone`, transfers' RDATA check,
//! tests) also uses snapshots. Since `src/zonefile/` depends on nothing
//! else in the crate, it can become a crate of its own as it is when a
//! second user of the reader alone appears.
//!
//! ## Public surface
//!
//! Loading and reloading: [`load`], [`load_file`], [`load_with`] with
//! [`LoadOptions`] (budgets, [`IoWatch`]) and [`BuildOptions`] (the
//! [`Checks`] policy, the segment size), [`reload_with`] and
//! [`reload_with_budget`] with [`ReloadOptions`]; a load's time phase by
//! phase when [`LoadOptions::timings`] carries a [`Timings`]
//! (`levee check-zone --timings`). Serving: [`Zone`] and
//! the types of its answers ([`Node`], [`RRset`], [`Rdatas`], [`Links`],
//! [`NegativeSoa`], [`nf`]), [`ZoneSet`], [`ZoneEntry`], [`Acl`]. Transfers:
//! [`journal`]. Text: [`zonefile`]. Everything else is crate-private.
//!
//! ## Serving
//!
//! A [`Zone`] never changes after it is built. The daemon publishes a
//! `ZoneSet` behind an `ArcSwap`; a reload builds a new one beside the old
//! and swaps it in, so a zone that fails to load never replaces a working
//! one.

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![deny(unreachable_pub)]

mod snapshot;
pub mod zonefile;

// A short path for the lines that compute a new snapshot's negative SOA
// (`crate::negative`).
use snapshot::negative;

pub use snapshot::build::{load, load_file, load_with, BuildOptions, Built, Checks, SEGMENT_NAMES};
pub use snapshot::journal;
pub use snapshot::negative::NegativeSoa;
pub use snapshot::patch::{apply_diff, file_changes, FileChanges};
pub use snapshot::reload::{reload_with, reload_with_budget, ReloadKind, ReloadOptions, Reloaded};
pub use snapshot::zone::{nf, Links, Node, NodeId, Nsec3Param, OnlineSigner, RRset, RRsetId, Rdatas, Zone, NONE};
pub use snapshot::zoneset::{placeholder, Acl, ZoneEntry, ZoneSet};
pub use zonefile::{Diagnostic, IoWatch, LoadOptions, Source, Timings};

#[cfg(test)]
mod layering {
    /// The zone-file side never uses the snapshot side: every `crate::`
    /// path in `src/zonefile/` stays inside it.
    #[test]
    fn zonefile_side_uses_only_itself() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/zonefile");
        let mut files = 0;
        let mut paths: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
        while let Some(path) = paths.pop() {
            if path.is_dir() {
                paths.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for (i, line) in text.lines().enumerate() {
                for (at, _) in line.match_indices("crate::") {
                    let rest = &line[at..];
                    assert!(rest.starts_with("crate::zonefile::"), "{}:{}: {line}", path.display(), i + 1);
                }
                assert!(!line.contains("super::super"), "{}:{}: {line}", path.display(), i + 1);
            }
            files += 1;
        }
        assert!(files >= 10, "{files} files in {}", dir.display());
    }
}
