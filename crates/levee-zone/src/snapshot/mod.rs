//! The snapshot side: records to immutable, query-ready zones.

pub mod build;
pub(crate) mod index;
pub mod journal;
pub mod negative;
pub mod nsec3;
pub mod reload;
pub mod zone;
pub mod zoneset;
