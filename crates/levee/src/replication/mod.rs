//! Replication (issue 5): zones served as a primary (journals, NOTIFY out)
//! and as a secondary (the refresh loop, transfers in).
//!
//! * [`xfrin`]: one transfer in, on a thread of its own.

pub mod xfrin;
