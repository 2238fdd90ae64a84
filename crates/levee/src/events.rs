//! What the daemon does with the events the answering pipeline reports.
//!
//! Every response written comes back from `levee_answer::Worker::answer`
//! with its `Meta`; the UDP and TCP handlers count it (`counters`) and pass
//! it here. Most carry no event and cost one comparison. The others:
//!
//! * an accepted NOTIFY schedules a check of the secondary zone
//!   (`replication::secondary::notify_accepted`, which coalesces bursts
//!   and logs);
//! * a refused NOTIFY is counted, the first of each summary interval
//!   logged on its own (`Replication::notify_refused`);
//! * a failed TSIG check and a refused zone transfer are logged, at most
//!   20 lines a second (`Replication::refusal_log_allowed`).
//!
//! The drivers hold the `Center`'s replication state (`Center::repl`) for
//! this: no process-wide state is involved.
//!
//! The event says what happened; the zone is the query's question name
//! and the key the query's TSIG record, both read in place for the log
//! line, and only when the line is written: the fields are `Display`
//! values that tracing formats if a subscriber takes the line, so an event
//! costs no allocation when nobody reads the log (the drivers' allocation
//! test runs without one). Nothing is verified again.

use std::fmt;
use std::net::SocketAddr;

use levee_answer::{Event, Meta};
use levee_wire::name::{self, NameBuf};
use levee_wire::query::QuestionRef;
use levee_wire::rtype::t;

use crate::clock::wall;
use crate::replication::secondary::notify_accepted;
use crate::replication::state::Replication;

/// Acts on the event of `meta`, the response to `query` from `client`.
#[inline]
pub fn react(repl: &Replication, meta: &Meta, query: &[u8], client: SocketAddr) {
    if !matches!(meta.event, Event::None) {
        act(repl, meta, query, client);
    }
}

/// The rare responses [`react`] acts on, out of the query path's line.
#[cold]
#[inline(never)]
fn act(repl: &Replication, meta: &Meta, query: &[u8], client: SocketAddr) {
    let question = QuestionRef::read(query);
    match meta.event {
        Event::None => {}
        Event::NotifyAccepted { serial } => {
            if let Some(q) = question {
                notify_accepted(repl, name::to_lowercase(q.name()).as_slice(), serial, client);
            }
        }
        Event::NotifyRefused => {
            // Counted, the first of each interval logged, the rest in the
            // summary.
            if repl.notify_refused() {
                let lower = question.map(|q| name::to_lowercase(q.name()));
                let zone = Zone(lower.as_ref().map(NameBuf::as_slice));
                tracing::warn!(%client, %zone, "NOTIFY refused: not allowed by the zone's allow-notify (further ones are summarised)");
            }
        }
        Event::TsigFailed(e) => {
            if repl.refusal_log_allowed(wall()) {
                tracing::warn!(%client, key = %TsigKey(query, e), "TSIG check failed: {e}");
            }
        }
        Event::UpdateRefused => {
            repl.update_refused.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if repl.refusal_log_allowed(wall()) {
                let zone = Zone(question.map(|q| q.name()));
                tracing::warn!(%client, %zone, "UPDATE refused: not allowed by the zone's allow-update");
            }
        }
        Event::TransferRefused => {
            if repl.refusal_log_allowed(wall()) {
                let what = if meta.qtype == t::IXFR { "IXFR" } else { "AXFR" };
                let zone = Zone(question.map(|q| q.name()));
                tracing::warn!(%client, %zone, "{what} refused: not allowed by the zone's ACL");
            }
        }
    }
}

/// A zone for the log: the name in presentation format, `-` if the query
/// had no question.
struct Zone<'a>(Option<&'a [u8]>);

impl fmt::Display for Zone<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(n) => name::Display(n).fmt(f),
            None => f.write_str("-"),
        }
    }
}

/// The key a failed request named, for the log, from its TSIG record
/// (read when the line is written); with the times for BADTIME.
struct TsigKey<'a>(&'a [u8], levee_tsig::Error);

impl fmt::Display for TsigKey<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Ok(Some(rec)) = levee_tsig::parse(self.0) else { return f.write_str("-") };
        name::Display(NameBuf::as_slice(&rec.key)).fmt(f)?;
        if self.1 == levee_tsig::Error::BadTime {
            write!(f, " (time signed {}, now {}, fudge {})", rec.time, wall(), rec.fudge)?;
        }
        Ok(())
    }
}
