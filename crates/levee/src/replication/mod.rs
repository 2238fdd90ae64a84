//! Replication (issue 5): zones served as a primary (journals, NOTIFY out)
//! and as a secondary (the refresh loop, transfers in). The protocol logic
//! is sans-IO in `levee-xfr`, `levee-tsig` and `levee-zone::journal`;
//! these modules add sockets, timers, files and logging.
//!
//! * [`state`]: what the parts share (`Center::repl`): keys, NOTIFY
//!   targets, each secondary zone's state;
//! * [`startup`]: stored copies and journals read at start;
//! * [`primary`]: journals of changed primary zones, NOTIFY out;
//! * [`secondary`]: one refresh task per secondary zone, NOTIFY in;
//! * [`xfrin`]: one transfer in, on a thread of its own ([`pool`]: the
//!   threads are kept between transfers);
//! * [`client`]: the small DNS client (SOA queries, NOTIFY exchanges).
//!
//! Tasks run on the runtime; zone building and file writing run on
//! blocking or background threads. The drivers never wait for any of it.

pub mod client;
pub mod pool;
pub mod primary;
pub mod secondary;
pub mod startup;
pub mod state;
pub mod xfrin;
