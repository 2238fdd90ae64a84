//! Helpers of the unit tests: a worker as the daemon builds one (rate
//! limiting and overload admission off, so every response is sent), and
//! one answer from it; the EDNS options of a response.

use std::sync::Arc;

use levee_wire::message::Message;
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

/// The EDNS options of `m`'s OPT record, (code, data) in order.
pub(crate) fn opt_options(m: &Message) -> Vec<(u16, Vec<u8>)> {
    let o = m.opt().expect("OPT present");
    let mut v = Vec::new();
    let mut p = 0;
    while p + 4 <= o.rdata.len() {
        let code = u16::from_be_bytes([o.rdata[p], o.rdata[p + 1]]);
        let len = u16::from_be_bytes([o.rdata[p + 2], o.rdata[p + 3]]) as usize;
        v.push((code, o.rdata[p + 4..p + 4 + len].to_vec()));
        p += 4 + len;
    }
    v
}
