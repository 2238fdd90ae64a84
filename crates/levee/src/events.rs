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
//! and the key the query's TSIG record, both read in place here for the
//! log line. Nothing is parsed or verified again.

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
            if repl.notify_refused() && warn_enabled() {
                let zone = question.map_or("-".into(), |q| name::to_text(&name::to_lowercase(q.name())));
                tracing::warn!(%client, %zone, "NOTIFY refused: not allowed by the zone's allow-notify (further ones are summarised)");
            }
        }
        Event::TsigFailed(e) => {
            if warn_enabled() && repl.refusal_log_allowed(wall()) {
                tracing::warn!(%client, key = %tsig_key(query, e), "TSIG check failed: {e}");
            }
        }
        Event::TransferRefused => {
            if warn_enabled() && repl.refusal_log_allowed(wall()) {
                let what = if meta.qtype == t::IXFR { "IXFR" } else { "AXFR" };
                let zone = question.map_or("-".into(), |q| name::to_text(q.name()));
                tracing::warn!(%client, %zone, "{what} refused: not allowed by the zone's ACL");
            }
        }
    }
}

/// Whether a warning would be written anywhere: the texts of a log line
/// (names, the key) are built only then, so an event costs no allocation
/// when nobody reads the log (the allocation test runs without one).
fn warn_enabled() -> bool {
    tracing::enabled!(tracing::Level::WARN)
}

/// The key a failed request named, for the log, from its TSIG record;
/// with the times for BADTIME.
fn tsig_key(query: &[u8], e: levee_tsig::Error) -> String {
    let Ok(Some(rec)) = levee_tsig::parse(query) else { return "-".into() };
    let key = name::to_text(NameBuf::as_slice(&rec.key));
    if e == levee_tsig::Error::BadTime {
        let now = wall();
        return format!("{key} (time signed {}, now {now}, fudge {})", rec.time, rec.fudge);
    }
    key
}
