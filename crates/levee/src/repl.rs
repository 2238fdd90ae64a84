//! The query handlers' hooks into replication: after each reply,
//! [`on_reply`] wakes a secondary zone's refresh after an accepted NOTIFY
//! and logs refused NOTIFY, TSIG and transfer requests (bounded).
//!
//! The drivers call the hooks with the query and the reply only, so the
//! hooks reach the replication state through [`STATE`], the one
//! process-wide static of the daemon besides the test build's allocator:
//! a pointer set once at start to the `Center`'s replication state (it
//! holds nothing of its own). It goes when the answering pipeline reports
//! these events to the drivers, which have the center.

use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};

use levee_wire::name;
use levee_wire::rtype::t;

use crate::clock::wall;
use crate::replication::secondary::on_notify;
use crate::replication::state::Replication;

/// `Center::repl`, for the hooks (set by `daemon` when the center is made;
/// until then the hooks do nothing).
pub static STATE: OnceLock<Arc<Replication>> = OnceLock::new();

//------------ hooks for the query handlers -----------------------------------

/// Called by the UDP and TCP handlers after `respond` produced `resp`:
/// schedules a refresh after an accepted NOTIFY and logs refused TSIG and
/// transfer requests (at most 20 lines a second). Does nothing for
/// ordinary answers (two header octets are read).
#[inline]
pub fn on_reply(query: &[u8], resp: &[u8], client: impl std::fmt::Display) {
    if resp.len() < 12 {
        return;
    }
    let rc = resp[3] & 0xF;
    let is_notify = (resp[2] >> 3) & 0xF == levee_wire::header::opcode::NOTIFY;
    if !is_notify && rc != 9 && rc != 5 {
        return;
    }
    on_notify_or_refusal(query, resp, client, is_notify, rc);
}

/// The rare replies [`on_reply`] acts on, out of the query path's line.
#[inline(never)]
fn on_notify_or_refusal(query: &[u8], resp: &[u8], client: impl std::fmt::Display, is_notify: bool, rc: u8) {
    let Some(r) = STATE.get() else { return };
    if is_notify && levee_answer::tsig::accepted_notify(resp) {
        if let Some(z) = levee_answer::tsig::notify_zone(query) {
            if let Some(s) = r.secondaries.get(z.as_slice()) {
                on_notify(s, query, client);
            }
        }
        return;
    }
    if is_notify && rc == 5 {
        // Refused by allow-notify: counted, the first of each interval
        // logged, the rest in the summary.
        if r.notify_refused.fetch_add(1, Ordering::Relaxed) == 0 {
            let zone = levee_answer::tsig::notify_zone(query).map_or("-".into(), |z| name::to_text(&z));
            tracing::warn!(%client, %zone, "NOTIFY refused: not allowed by the zone's allow-notify (further ones are summarised)");
        }
        return;
    }
    // Refusals: log with the reason, bounded.
    let sec = wall();
    let b = r.log_budget.load(Ordering::Relaxed);
    let (bsec, used) = (b >> 8, b & 0xFF);
    let next = if bsec == sec { used + 1 } else { 1 };
    if next > 20 {
        return;
    }
    r.log_budget.store(sec << 8 | next, Ordering::Relaxed);
    if rc == 9 {
        if let Some((e, why)) = levee_answer::tsig::failure_reason(query, &r.keys, sec as u32) {
            tracing::warn!(%client, key = %why, "TSIG check failed: {e}");
        }
        return;
    }
    if let levee_wire::query::Parsed::Query(q) = levee_wire::query::parse_query(query) {
        let what = match (q.opcode(), q.qtype) {
            (_, t::AXFR) => "AXFR",
            (_, t::IXFR) => "IXFR",
            _ => return,
        };
        tracing::warn!(%client, zone = %name::to_text(&q.qname), "{what} refused: not allowed by the zone's ACL");
    }
}
