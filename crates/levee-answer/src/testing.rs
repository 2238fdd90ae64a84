//! Helpers of the unit tests: a worker as the daemon builds one (rate
//! limiting and overload admission off, so every response is sent), and
//! one answer from it.

use std::sync::Arc;

use levee_zone::ZoneSet;

use crate::policy::{Overload, Policy};
use crate::{Config, Decision, Options, Received, Time, Transport, Worker};

/// A worker with a small cache and no rate limiting or overload
/// admission, whose clock reads `now` (wall seconds).
pub(crate) fn worker(cfg: &Config, now: u32) -> Worker {
    let overload = Overload { enabled: false, ..Overload::default() };
    let policy = Arc::new(Policy::new(None, overload, 7));
    let mut w =
        Worker::new(Arc::new(cfg.clone()), policy, Arc::default(), Options { cache_slots: 16, shortcuts: true });
    w.tick(Time { mono_ms: 1_000, wall: now }, Default::default());
    w
}

/// `msg` from `client` over `transport` at `now`, answered by a fresh
/// [`worker`] into a 65535-octet buffer: the decision and the buffer.
pub(crate) fn answer(
    zones: &Arc<ZoneSet>,
    cfg: &Config,
    msg: &[u8],
    client: &str,
    transport: Transport,
    now: u32,
) -> (Decision, Vec<u8>) {
    let mut out = vec![0u8; 65535];
    let rx = Received { msg, client: client.parse().expect("client address"), transport };
    let d = worker(cfg, now).answer(rx, zones, &mut out);
    (d, out)
}
