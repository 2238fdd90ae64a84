//! DNSSEC signing, sans I/O (issue 18).
//!
//! levee serves pre-signed zones from the start; this crate makes the
//! signatures itself, so that an operator does not need a second product.
//! It knows nothing of files, sockets or clocks: the caller hands it
//! records, keys and the time, and gets records back.
//!
//! The pieces, from the bottom up:
//!
//! * [`key`]: a signing key ([`key::Key`]), ECDSA P-256 with SHA-256
//!   (algorithm 13, the default) or Ed25519 (15), made from PKCS#8 or
//!   generated; its DNSKEY RDATA and key tag (RFC 4034 appendix B). The
//!   arithmetic is ring's (chosen over aws-lc-rs: already in the
//!   workspace for rustls, no C toolchain beyond `cc`; figures of
//!   signatures per second in BENCHMARKS.md).
//! * [`canon`]: the canonical form of RDATA (RFC 4034 §6.2 as amended by
//!   RFC 6840 §5.1: names inside the RDATA of the old types lowercased)
//!   and of an RRset (records sorted by canonical RDATA, duplicates gone).
//! * [`rrsig`]: the RRSIG of one RRset (RFC 4034 §3.1.8.1): the signed
//!   data is the RRSIG RDATA without its signature followed by the RRset
//!   in canonical form at the original TTL.
//! * [`denial`]: type bitmaps, NSEC records and NSEC3 hashing and records
//!   (RFC 5155; RFC 9276's parameters: no extra iterations, no salt).
//! * [`zone`]: a whole zone signed ([`zone::sign_zone`]): it finds the
//!   apex, the zone cuts and what they occlude, builds the NSEC or NSEC3
//!   chain (with opt-out if asked) and signs every authoritative RRset,
//!   the DNSKEY RRset with the key-signing keys; given the previous
//!   signed version, it keeps the signatures of unchanged RRsets
//!   (`reuse.rs`), so a change costs what it changed.
//!
//! * [`batch`]: RRsets a caller found itself (the daemon walks a loaded
//!   snapshot) signed at once, on threads, keeping the previous version's
//!   signatures on the same terms as [`zone`].
//!
//! * [`rollover`]: what a zone's key store must do at a given time (the
//!   clock is a parameter): ZSK pre-publication, KSK and CSK rollovers
//!   with CDS/CDNSKEY and the parent's DS, algorithm rollovers.
//! * [`online`]: compact denial (RFC 9824): the NSEC of a compact answer
//!   and its signature made at query time, within a budget.
//!
//! Everything is checked against independent validators in
//! `crates/levee/tests/it/sign.rs` (BIND's `dnssec-verify` and ldns's
//! `ldns-verify-zone` on zones signed by `levee sign-zone`).

pub mod batch;
pub mod canon;
pub mod denial;
pub mod key;
pub mod keyfile;
pub mod online;
pub mod record;
mod reuse;
pub mod rollover;
pub mod rrsig;
pub mod zone;

pub use key::{Algorithm, Key, KeyError};
pub use record::Rr;
pub use zone::{sign_rrset, sign_zone, Denial, Policy, SignError, Signed};
