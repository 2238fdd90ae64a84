//! dnstap (issue 21): copies of the queries levee answers and of its
//! responses, sent to a Frame Streams collector (`fstrm_capture`, a
//! dnstap reader, a SIEM's receiver) without ever slowing the answering.
//!
//! # The path of a capture
//!
//! 1. **Capture** ([`Tap::capture`], on the answering thread). After
//!    `Worker::answer`, a UDP, AF_XDP or TCP driver hands its tap the
//!    client, the query and the response sent. The tap samples (one query
//!    in `sample-rate`: a countdown) and appends one record (`record`: a
//!    64-octet header, with the time read at the batch's first capture,
//!    and the DNS octets) to its
//!    thread's [`Queue`], a buffer allocated at start with `queue-kib`
//!    KiB of room. The queue's lock is taken with `try_lock`: the only
//!    other party is the writer swapping buffers (a pointer swap), so it
//!    is almost never held; if it is, or the record does not fit, the
//!    capture is dropped and counted (`contended`, `queue-full`). Nothing
//!    is allocated and nothing waits: the cost is a lock and a copy of
//!    the two messages (about 210 instructions per query and response,
//!    by callgrind, plus a clock read per receive batch;
//!    docs/operations.md "dnstap").
//! 2. **Drain** ([`writer`], one thread). Every few milliseconds the
//!    writer swaps each queue's buffer with an empty one of the same
//!    capacity, so the answering thread goes on writing into fresh room,
//!    encodes each record as one or two dnstap messages
//!    (`levee_dnstap::encode`, `AUTH_QUERY` and `AUTH_RESPONSE`) in Frame
//!    Streams data frames, and writes them to the collector.
//! 3. **Collector.** The writer connects (Unix socket or TCP) and speaks
//!    the bidirectional Frame Streams handshake (READY, ACCEPT, START; at
//!    shutdown STOP, FINISH). A collector that goes away is reconnected to
//!    with a backoff (0.1 s doubling to 5 s); while there is none, drained
//!    captures are dropped (`no-collector`). A collector that stops
//!    reading stalls only the writer: the queues fill and captures are
//!    dropped (`queue-full`) while queries are answered as before.
//!
//! The operator sees `levee_dnstap_sent_total`,
//! `levee_dnstap_dropped_total{reason}` and `levee_dnstap_connected`
//! (`ops/metrics.rs`).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, TryLockError};
use std::time::{SystemTime, UNIX_EPOCH};

use levee_config::DnstapConfig;

pub mod record;
pub mod writer;

use record::Template;

/// One answering thread's queue of captures.
pub struct Queue {
    /// The records waiting; its capacity never changes.
    buf: Mutex<Vec<u8>>,
    /// Messages queued (by the answering thread).
    pub queued: AtomicU64,
    /// Messages dropped: the buffer was full.
    pub full: AtomicU64,
    /// Messages dropped: the writer held the buffer at that instant.
    pub contended: AtomicU64,
}

impl Queue {
    fn new(capacity: usize) -> Queue {
        Queue {
            buf: Mutex::new(Vec::with_capacity(capacity)),
            queued: AtomicU64::new(0),
            full: AtomicU64::new(0),
            contended: AtomicU64::new(0),
        }
    }

    /// Swaps the waiting records into `spare` (empty, of the same
    /// capacity): the writer's side.
    pub fn take(&self, spare: &mut Vec<u8>) {
        let mut g = self.buf.lock().unwrap_or_else(|p| p.into_inner());
        std::mem::swap(&mut *g, spare);
    }
}

/// A count only its one thread writes: a load and a store, no locked
/// instruction.
fn bump(c: &AtomicU64, n: u64) {
    c.store(c.load(Ordering::Relaxed) + n, Ordering::Relaxed);
}

/// What the writer and the operator surface share.
pub struct Shared {
    /// Every answering thread's queue.
    pub queues: Vec<Arc<Queue>>,
    /// Messages written to a collector.
    pub sent: AtomicU64,
    /// Messages drained while no collector was connected.
    pub no_collector: AtomicU64,
    /// Messages lost with a connection that failed while writing them.
    pub write_failed: AtomicU64,
    /// A collector is connected.
    pub connected: AtomicBool,
}

/// The reasons of `levee_dnstap_dropped_total`, in the order of
/// [`Shared::dropped`].
pub const REASONS: [&str; 4] = ["queue-full", "contended", "no-collector", "write-failed"];

impl Shared {
    /// Dropped messages by reason ([`REASONS`]).
    pub fn dropped(&self) -> [u64; 4] {
        let sum = |f: fn(&Queue) -> &AtomicU64| self.queues.iter().map(|q| f(q).load(Ordering::Relaxed)).sum();
        [
            sum(|q| &q.full),
            sum(|q| &q.contended),
            self.no_collector.load(Ordering::Relaxed),
            self.write_failed.load(Ordering::Relaxed),
        ]
    }
}

/// Makes the taps of the answering threads (one queue each), then hands
/// their queues to the writer ([`Hub::finish`]).
pub struct Hub {
    cfg: DnstapConfig,
    queues: Vec<Arc<Queue>>,
}

impl Hub {
    /// A hub for `cfg` (which is enabled).
    pub fn new(cfg: &DnstapConfig) -> Hub {
        Hub { cfg: cfg.clone(), queues: Vec::new() }
    }

    /// A tap for one answering thread; `server` is the address its
    /// queries arrive at, when known (a UDP socket's own address).
    pub fn tap(&mut self, server: Option<SocketAddr>, protocol: levee_dnstap::Protocol) -> Tap {
        let q = Arc::new(Queue::new(self.cfg.queue_kib as usize * 1024));
        self.queues.push(Arc::clone(&q));
        let every = self.cfg.sample_rate.max(1);
        Tap {
            queue: q,
            template: Template::new(server.filter(|s| !s.ip().is_unspecified()), protocol),
            time: (0, 0),
            stale: true,
            every,
            left: 1,
            queries: self.cfg.log_queries,
            responses: self.cfg.log_responses,
        }
    }

    /// The queues and counters the writer drains and the operator reads.
    pub fn finish(self) -> (Arc<Shared>, DnstapConfig) {
        let shared = Shared {
            queues: self.queues,
            sent: AtomicU64::new(0),
            no_collector: AtomicU64::new(0),
            write_failed: AtomicU64::new(0),
            connected: AtomicBool::new(false),
        };
        (Arc::new(shared), self.cfg)
    }
}

/// An answering thread's side: sampling and the copy into its queue.
pub struct Tap {
    queue: Arc<Queue>,
    /// The header fields that never change (server, transport).
    template: Template,
    /// The time captures get: read at the first capture of a receive
    /// batch ([`Tap::tick`]).
    time: (u64, u32),
    /// A new batch began: `time` is to be read again.
    stale: bool,
    /// One query in `every`.
    every: u32,
    /// Queries until the next one captured (1: this one).
    left: u32,
    queries: bool,
    responses: bool,
}

impl Tap {
    /// A receive batch begins (the driver calls it once per batch): the
    /// first capture of the batch reads the clock, the others get the
    /// same time, when the batch arrived. A clock read per query would
    /// cost more than the copy; none at all is read in a batch with
    /// nothing sampled.
    #[inline]
    pub fn tick(&mut self) {
        self.stale = true;
    }

    /// Captures one exchange: `query` as received and `response` as sent
    /// (`None`: nothing was sent). Never allocates, never waits.
    #[inline]
    pub fn capture(&mut self, client: SocketAddr, query: &[u8], response: Option<&[u8]>) {
        if self.left > 1 {
            self.left -= 1;
            return;
        }
        self.left = self.every;
        let query = self.queries.then_some(query);
        let response = response.filter(|_| self.responses);
        let messages = u64::from(query.is_some()) + u64::from(response.is_some());
        if messages == 0 {
            return;
        }
        if self.stale {
            let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
            self.time = (now.as_secs(), now.subsec_nanos());
            self.stale = false;
        }
        let mut buf = match self.queue.buf.try_lock() {
            Ok(g) => g,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => return bump(&self.queue.contended, messages),
        };
        if buf.len() + record::size(query, response) > buf.capacity() {
            drop(buf);
            return bump(&self.queue.full, messages);
        }
        self.template.write(&mut buf, client, self.time, query, response);
        drop(buf);
        bump(&self.queue.queued, messages);
    }
}

#[cfg(test)]
mod tests;
