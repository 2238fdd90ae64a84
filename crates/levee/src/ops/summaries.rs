//! Summaries of the flood defences in the log: one line per interval while
//! something is being dropped, slipped or evicted, never one per packet.
//!
//! The counters themselves are per UDP worker ([`PolicyStats`], one
//! writer each, on their own cache lines) and per TCP server
//! ([`TcpStats`]); this task only reads and sums them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use levee_answer::policy::PolicyStats;
use levee_answer::Dropped;
use levee_wire::header::rcode;

use crate::ops::counters::Counters;
use levee_io::tcp::TcpStats;
use tokio::sync::watch;

/// Seconds between summaries.
const EVERY: u64 = 10;

/// Datagrams dropped without an answer, by the reason the answering
/// pipeline gave ([`Dropped`]; shared by the workers: garbage is rare next
/// to queries, so a shared atomic costs nothing that matters).
#[derive(Debug, Default)]
pub struct Garbage {
    /// Shorter than a DNS header.
    pub short: AtomicU64,
    /// QR=1: a response, e.g. reflected at us.
    pub response: AtomicU64,
    /// Anything else the parser could not answer.
    pub other: AtomicU64,
}

impl Garbage {
    /// Counts one datagram dropped for `why` (a response withheld by the
    /// policy stage is not garbage: the caller counts it as a response).
    pub fn count(&self, why: Dropped) {
        let c = match why {
            Dropped::Short => &self.short,
            Dropped::Response => &self.response,
            Dropped::Unanswered | Dropped::Withheld(_) => &self.other,
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    fn total(&self) -> u64 {
        get(&self.short) + get(&self.response) + get(&self.other)
    }
}

/// Totals of everything the defences count.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub responses: [u64; 5],
    pub rcodes: [u64; 16],
    pub sent: u64,
    pub rrl_slipped: u64,
    pub rrl_dropped: u64,
    pub rrl_log_only: u64,
    pub overload_dropped: u64,
    pub overload_batches: u64,
    pub kernel_dropped: u64,
    pub garbage: u64,
    pub tcp_evicted: u64,
    pub tcp_timeouts: u64,
}

fn get(c: &AtomicU64) -> u64 {
    c.load(Ordering::Relaxed)
}

/// Sums the counters now: the policy stage's of every UDP worker, and
/// the UDP workers' response counters (`udp`).
pub fn totals(workers: &[Arc<PolicyStats>], udp: &[Arc<Counters>], garbage: &Garbage, tcp: &TcpStats) -> Totals {
    let mut t = Totals { garbage: garbage.total(), ..Totals::default() };
    for c in udp {
        for (i, k) in c.kinds.iter().enumerate() {
            t.responses[i] += get(k);
        }
        for (i, k) in c.rcodes.iter().enumerate() {
            t.rcodes[i] += get(k);
        }
    }
    for w in workers {
        t.sent += get(&w.sent);
        t.rrl_slipped += get(&w.rrl_slipped);
        t.rrl_dropped += get(&w.rrl_dropped);
        t.rrl_log_only += get(&w.rrl_log_only);
        t.overload_dropped += get(&w.overload_dropped);
        t.overload_batches += get(&w.overload_batches);
        t.kernel_dropped += get(&w.kernel_dropped);
    }
    t.tcp_evicted = get(&tcp.evicted) + get(&tcp.evicted_per_source);
    t.tcp_timeouts = get(&tcp.idle_timeouts) + get(&tcp.io_timeouts);
    t
}

/// The DNS-over-TLS listener's defences, summed: (evicted at the caps or
/// the budget, handshakes refused per prefix, handshakes refused past the
/// total, handshakes failed or timed out, handshakes completed).
fn tls_totals(s: &TcpStats) -> [u64; 5] {
    [
        get(&s.evicted) + get(&s.evicted_per_source) + get(&s.evicted_memory),
        get(&s.handshakes_refused),
        get(&s.handshakes_shed),
        get(&s.handshake_failures),
        get(&s.handshakes),
    ]
}

/// Logs a summary of the DoT listener's defences every [`EVERY`] seconds
/// in which one acted (a connection evicted, a handshake refused).
pub async fn tls_summaries(tls: Arc<TcpStats>, mut stop: watch::Receiver<bool>) {
    let mut last = tls_totals(&tls);
    let mut tick = tokio::time::interval(Duration::from_secs(EVERY));
    tick.tick().await;
    loop {
        tokio::select! {
            _ = stop.changed() => if *stop.borrow() { return },
            _ = tick.tick() => {}
        }
        let now = tls_totals(&tls);
        let d: Vec<u64> = now.iter().zip(&last).map(|(a, b)| a.wrapping_sub(*b)).collect();
        if d[0] + d[1] + d[2] > 0 {
            tracing::warn!(
                seconds = EVERY,
                evicted = d[0],
                handshakes_refused_prefix = d[1],
                handshakes_refused_total = d[2],
                handshake_failures = d[3],
                handshakes = d[4],
                "DNS-over-TLS defences active"
            );
        }
        last = now;
    }
}

/// Logs a summary every [`EVERY`] seconds in which a defence acted.
pub async fn summaries(
    workers: Vec<Arc<PolicyStats>>,
    udp: Vec<Arc<Counters>>,
    garbage: Arc<Garbage>,
    tcp: Arc<TcpStats>,
    mut stop: watch::Receiver<bool>,
) {
    let mut last = totals(&workers, &udp, &garbage, &tcp);
    let mut tick = tokio::time::interval(Duration::from_secs(EVERY));
    tick.tick().await;
    loop {
        tokio::select! {
            _ = stop.changed() => if *stop.borrow() { return },
            _ = tick.tick() => {}
        }
        let now = totals(&workers, &udp, &garbage, &tcp);
        let d = |a: u64, b: u64| a.wrapping_sub(b);
        let acted = d(now.rrl_slipped, last.rrl_slipped)
            + d(now.rrl_dropped, last.rrl_dropped)
            + d(now.rrl_log_only, last.rrl_log_only)
            + d(now.overload_dropped, last.overload_dropped)
            + d(now.kernel_dropped, last.kernel_dropped)
            + d(now.garbage, last.garbage)
            + d(now.tcp_evicted, last.tcp_evicted);
        if acted > 0 {
            let answered: u64 = now.responses.iter().sum::<u64>() - last.responses.iter().sum::<u64>();
            tracing::warn!(
                seconds = EVERY,
                answered,
                nxdomain = d(now.responses[2], last.responses[2]),
                rrl_slipped = d(now.rrl_slipped, last.rrl_slipped),
                rrl_dropped = d(now.rrl_dropped, last.rrl_dropped),
                rrl_log_only = d(now.rrl_log_only, last.rrl_log_only),
                overload_dropped = d(now.overload_dropped, last.overload_dropped),
                overload_batches = d(now.overload_batches, last.overload_batches),
                kernel_dropped = d(now.kernel_dropped, last.kernel_dropped),
                garbage_dropped = d(now.garbage, last.garbage),
                formerr = d(now.rcodes[rcode::FORMERR as usize], last.rcodes[rcode::FORMERR as usize]),
                notimp = d(now.rcodes[rcode::NOTIMP as usize], last.rcodes[rcode::NOTIMP as usize]),
                refused = d(now.rcodes[rcode::REFUSED as usize], last.rcodes[rcode::REFUSED as usize]),
                tcp_evicted = d(now.tcp_evicted, last.tcp_evicted),
                tcp_timeouts = d(now.tcp_timeouts, last.tcp_timeouts),
                "flood defences active"
            );
        }
        last = now;
    }
}
