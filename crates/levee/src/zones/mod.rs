//! Zone publication: which zones a configuration names, loading them,
//! and the served set.
//!
//! * [`load`]: the zones of a configuration and loading each one on a
//!   guarded thread.

pub mod load;
