//! The snapshot side: records to immutable, query-ready zones.

// `build::soa_serial` is public and used inside the crate only.
#[allow(unreachable_pub)]
pub(crate) mod build;
pub(crate) mod index;
pub mod journal;
pub(crate) mod negative;
pub(crate) mod nsec3;
pub(crate) mod reload;
pub(crate) mod zone;
pub(crate) mod zoneset;
