//! Zone publication: which zones a configuration names, loading them,
//! and the served set.
//!
//! * [`load`]: the zones of a configuration and loading each one;
//!   [`pool`]: many zones loaded on the load's threads, each watched;
//! * [`publish`]: the publish lock, and retiring replaced sets;
//! * [`reload`]: reloading every zone or one;
//! * [`sign`]: online DNSSEC signing of the zones that ask for it;
//!   [`incsign`]: a change re-signed on the served snapshot;
//!   [`fullsign`]: a zone signed from scratch on its unsigned snapshot.

pub mod fullsign;
pub mod incsign;
pub mod keyops;
pub mod keyroll;
pub mod load;
pub mod plan;
pub mod pool;
pub mod publish;
pub mod reload;
pub mod sign;
