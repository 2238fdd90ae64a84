//! The generator loop: one thread, several connected sockets, batched
//! sends and receives, a window of outstanding queries.
//!
//! Each thread tags its queries with IDs taken from a FIFO of free IDs (so
//! an ID is reused as late as possible, and a late reply rarely meets a new
//! query with its ID); a slot per ID remembers when its query left and on
//! which socket. A reply frees its slot; every millisecond the queries in
//! flight (at most `outstanding`, kept in a compact list) older than the
//! timeout are expired as lost. A lost query holds one place of the window
//! until then, and nothing else: the generator never stalls on it.
//!
//! [`run_thread`] is the loop: each turn it expires, sends one batch,
//! receives, and waits when neither moved. The state those steps share
//! (sockets, buffers, IDs, tally) is set up once in a `Gen`, whose
//! methods they are; the per-packet loops (filling a batch, matching the
//! replies of one receive) allocate nothing.

use std::collections::VecDeque;
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use levee_io::batch::{client_socket, poll_readable, BatchReceiver, BatchSender, MAX_BATCH};

use crate::hist::Histogram;
use crate::queries::QuerySet;

const IDS: usize = 1 << 16;
/// Octets kept of each reply (only the header is read).
const RX_SIZE: usize = 512;
/// Longest query we send (a 255-octet name, fixed fields and an OPT).
const MAX_QUERY: usize = 12 + 255 + 4 + 11;

/// What one thread does.
#[derive(Clone, Copy, Debug)]
pub struct ThreadPlan {
    /// Where to send.
    pub target: SocketAddr,
    /// Connected sockets (source ports) of this thread.
    pub sockets: usize,
    /// Queries per sendmmsg call.
    pub batch: usize,
    /// Most queries in flight.
    pub outstanding: usize,
    /// Queries per second for this thread; `None` for flat out.
    pub rate: Option<f64>,
    /// Stop sending after this long.
    pub duration: Duration,
    /// Stop sending after this many queries.
    pub max_queries: u64,
    /// A query unanswered this long is lost.
    pub timeout: Duration,
    /// First query of the file this thread sends.
    pub first: usize,
}

/// Counters a thread publishes for the progress line.
#[derive(Default)]
pub struct Live {
    /// Queries sent so far.
    pub sent: AtomicU64,
    /// Replies matched so far.
    pub answered: AtomicU64,
    /// Queries declared lost so far.
    pub lost: AtomicU64,
}

/// What one thread measured.
#[derive(Clone, Default)]
pub struct ThreadStats {
    /// Queries sent.
    pub sent: u64,
    /// Replies matched to a query.
    pub answered: u64,
    /// Queries without a reply within the timeout (or still in flight at the end).
    pub lost: u64,
    /// Replies that matched no query in flight (late, duplicated, foreign).
    pub unexpected: u64,
    /// Replies with TC set.
    pub truncated: u64,
    /// Replies per header rcode.
    pub rcodes: [u64; 16],
    /// Send or receive errors other than "would block".
    pub errors: u64,
    /// Round-trip times in nanoseconds.
    pub latency: Histogram,
    /// When this thread stopped sending, from its start.
    pub send_time: Duration,
}

#[derive(Clone, Copy)]
struct Slot {
    /// Send time in ns since the thread's start, plus one; 0 = free.
    sent: u64,
    sock: u16,
    /// Position in the in-flight list.
    pos: u16,
}

/// The IDs: free ones in a FIFO, the ones in flight in a compact list.
struct Ids {
    slots: Vec<Slot>,
    free: VecDeque<u16>,
    inflight: Vec<u16>,
}

impl Ids {
    fn new(window: usize) -> Self {
        Ids {
            slots: vec![Slot { sent: 0, sock: 0, pos: 0 }; IDS],
            free: (0..IDS).map(|i| i as u16).collect(),
            inflight: Vec::with_capacity(window),
        }
    }

    fn take(&mut self, sent: u64, sock: u16) -> u16 {
        let id = self.free.pop_front().expect("fewer than 65536 in flight");
        self.slots[id as usize] = Slot { sent, sock, pos: self.inflight.len() as u16 };
        self.inflight.push(id);
        id
    }

    /// Gives back IDs taken for queries the kernel did not accept (newest first).
    fn untake(&mut self, id: u16) {
        self.release(id);
        // Keep the FIFO order: these were never used.
        let back = self.free.pop_back().expect("just released");
        self.free.push_front(back);
    }

    fn release(&mut self, id: u16) {
        let pos = self.slots[id as usize].pos as usize;
        self.inflight.swap_remove(pos);
        if let Some(&moved) = self.inflight.get(pos) {
            self.slots[moved as usize].pos = pos as u16;
        }
        self.slots[id as usize].sent = 0;
        self.free.push_back(id);
    }
}

/// One generator thread's state: its sockets and buffers (made once, at
/// the start), the query file's cursor, the IDs in flight and the tally.
/// The steps of [`run_thread`]'s loop are its methods; none allocates.
struct Gen<'q> {
    plan: ThreadPlan,
    queries: &'q QuerySet,
    socks: Vec<UdpSocket>,
    /// Queries per send call, at most [`MAX_BATCH`].
    batch: usize,
    /// Most queries in flight.
    window: usize,
    sender: BatchSender,
    rx: BatchReceiver,
    /// The batch being sent: one query per buffer, its length in `tx_len`
    /// and its ID in `ids_of_batch`.
    tx: Vec<[u8; MAX_QUERY]>,
    tx_len: [usize; MAX_BATCH],
    ids_of_batch: [u16; MAX_BATCH],
    ids: Ids,
    /// The next query of the file to send.
    next_q: usize,
    /// The socket the next batch leaves by.
    next_sock: usize,
    start: Instant,
    st: ThreadStats,
}

impl<'q> Gen<'q> {
    /// Opens the sockets and sizes the buffers.
    fn new(plan: ThreadPlan, queries: &'q QuerySet) -> io::Result<Self> {
        let socks =
            (0..plan.sockets.max(1)).map(|_| client_socket(plan.target)).collect::<io::Result<Vec<UdpSocket>>>()?;
        let batch = plan.batch.clamp(1, MAX_BATCH);
        let window = plan.outstanding.clamp(1, IDS / 2);
        Ok(Gen {
            plan,
            queries,
            socks,
            batch,
            window,
            sender: BatchSender::new(),
            rx: BatchReceiver::new(MAX_BATCH, RX_SIZE),
            tx: vec![[0u8; MAX_QUERY]; batch],
            tx_len: [0; MAX_BATCH],
            ids_of_batch: [0; MAX_BATCH],
            ids: Ids::new(window),
            next_q: plan.first % queries.len(),
            next_sock: 0,
            start: Instant::now(),
            st: ThreadStats::default(),
        })
    }

    /// Nanoseconds since the start.
    fn now(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }

    /// Expires the queries in flight older than `timeout` ns as lost.
    fn expire(&mut self, now: u64, timeout: u64) {
        let ids = &mut self.ids;
        let mut i = 0;
        while i < ids.inflight.len() {
            let id = ids.inflight[i];
            if now.saturating_sub(ids.slots[id as usize].sent - 1) >= timeout {
                ids.release(id); // moves another ID into place i
                self.st.lost += 1;
            } else {
                i += 1;
            }
        }
    }

    /// Sends one batch if the window, the rate and the count allow it;
    /// whether any query left.
    fn send(&mut self, now: u64) -> bool {
        let plan = &self.plan;
        let mut budget = self.window.saturating_sub(self.ids.inflight.len()).min(self.batch);
        budget = budget.min((plan.max_queries - self.st.sent).min(self.batch as u64) as usize);
        if let Some(rate) = plan.rate {
            let due = (rate * now as f64 / 1e9) as u64 + 1;
            budget = budget.min(due.saturating_sub(self.st.sent) as usize);
        }
        if budget == 0 {
            return false;
        }
        for (k, buf) in self.tx.iter_mut().enumerate().take(budget) {
            let q = self.queries.get(self.next_q);
            self.next_q += 1;
            if self.next_q == self.queries.len() {
                self.next_q = 0;
            }
            buf[..q.len()].copy_from_slice(q);
            let id = self.ids.take(0, 0);
            self.ids_of_batch[k] = id;
            buf[..2].copy_from_slice(&id.to_be_bytes());
            self.tx_len[k] = q.len();
        }
        let mut msgs: [&[u8]; MAX_BATCH] = [&[]; MAX_BATCH];
        for k in 0..budget {
            msgs[k] = &self.tx[k][..self.tx_len[k]];
        }
        let si = self.next_sock;
        self.next_sock = (self.next_sock + 1) % self.socks.len();
        let stamp = self.now() + 1;
        match self.sender.send(&self.socks[si], &msgs[..budget]) {
            Ok(n) => {
                for &id in &self.ids_of_batch[..n] {
                    let s = &mut self.ids.slots[id as usize];
                    s.sent = stamp;
                    s.sock = si as u16;
                }
                self.st.sent += n as u64;
                // Unsent queries give their IDs back; the file position moves on anyway.
                for &id in self.ids_of_batch[n..budget].iter().rev() {
                    self.ids.untake(id);
                }
                n > 0
            }
            Err(e) => {
                if e.kind() != io::ErrorKind::WouldBlock {
                    self.st.errors += 1;
                }
                for &id in self.ids_of_batch[..budget].iter().rev() {
                    self.ids.untake(id);
                }
                false
            }
        }
    }

    /// Receives whatever is waiting on every socket and matches each
    /// reply to its query; whether anything arrived.
    fn receive(&mut self) -> bool {
        let mut did = false;
        for (si, s) in self.socks.iter().enumerate() {
            loop {
                let n = match self.rx.recv(s) {
                    Ok(n) => n,
                    Err(_) => {
                        self.st.errors += 1;
                        break;
                    }
                };
                if n == 0 {
                    break;
                }
                did = true;
                let t = self.start.elapsed().as_nanos() as u64 + 1;
                let st = &mut self.st;
                for i in 0..n {
                    let r = self.rx.get(i);
                    if r.len() < 12 || r[2] & 0x80 == 0 {
                        st.unexpected += 1;
                        continue;
                    }
                    let id = u16::from_be_bytes([r[0], r[1]]);
                    let slot = self.ids.slots[id as usize];
                    if slot.sent == 0 || slot.sock as usize != si {
                        st.unexpected += 1;
                        continue;
                    }
                    st.latency.record(t - slot.sent);
                    self.ids.release(id);
                    st.answered += 1;
                    st.rcodes[(r[3] & 0xF) as usize] += 1;
                    st.truncated += (r[2] & 0x02 != 0) as u64;
                }
                if n < MAX_BATCH {
                    break;
                }
            }
        }
        did
    }

    /// Nothing was sent (window full, rate reached, or draining) and
    /// nothing received: waits for a reply or the next send slot.
    fn wait(&self, now: u64, sending: bool) {
        let wait_ms = match self.plan.rate {
            Some(rate) if sending && self.ids.inflight.len() < self.window => {
                let next = ((self.st.sent as f64) * 1e9 / rate) as u64;
                (next.saturating_sub(now) / 1_000_000).min(10) as i32
            }
            _ => 1,
        };
        let busy = !self.ids.inflight.is_empty();
        if busy || wait_ms > 0 {
            let _ = poll_readable(&self.socks, wait_ms.max(busy as i32));
        }
    }

    /// Publishes the counters of the progress line.
    fn publish(&self, live: &Live) {
        live.sent.store(self.st.sent, Ordering::Relaxed);
        live.answered.store(self.st.answered, Ordering::Relaxed);
        live.lost.store(self.st.lost, Ordering::Relaxed);
    }
}

/// Runs one generator thread until its duration, count or `stop` ends it,
/// then waits up to the timeout for the replies still in flight.
pub fn run_thread(plan: ThreadPlan, queries: &QuerySet, live: &Live, stop: &AtomicBool) -> io::Result<ThreadStats> {
    let mut g = Gen::new(plan, queries)?;
    let timeout = plan.timeout.as_nanos() as u64;
    let end = plan.duration.as_nanos() as u64;
    let mut sending = true;
    let mut last_expiry = 0u64;
    let mut last_publish = 0u64;
    loop {
        let now = g.now();
        if sending && (now >= end || g.st.sent >= plan.max_queries || stop.load(Ordering::Relaxed)) {
            sending = false;
            g.st.send_time = Duration::from_nanos(now);
        }
        // Expire the queries older than the timeout, once a millisecond.
        if now - last_expiry >= 1_000_000 || !sending {
            last_expiry = now;
            g.expire(now, timeout);
        }
        if !sending && g.ids.inflight.is_empty() {
            break;
        }
        let sent = sending && g.send(now);
        let received = g.receive();
        if now - last_publish >= 50_000_000 {
            last_publish = now;
            g.publish(live);
        }
        if !sent && !received {
            g.wait(now, sending);
        }
    }
    if sending {
        g.st.send_time = g.start.elapsed();
    }
    g.publish(live);
    Ok(g.st)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_in_flight_never_blocks_or_shares_its_id() {
        let mut ids = Ids::new(8);
        let lost = ids.take(1, 0);
        // Far more than 65536 other queries come and go meanwhile.
        for i in 0..200_000u64 {
            let id = ids.take(i + 2, 1);
            assert_ne!(id, lost);
            ids.release(id);
        }
        assert_eq!(ids.inflight, [lost]);
        ids.release(lost);
        assert!(ids.inflight.is_empty());
        assert_eq!(ids.free.len(), IDS);
    }

    #[test]
    fn ids_are_reused_in_fifo_order_and_untake_keeps_it() {
        let mut ids = Ids::new(8);
        let a = ids.take(1, 0);
        let b = ids.take(1, 0);
        let c = ids.take(1, 0);
        // c and b were not sent after all: they are handed out again first.
        ids.untake(c);
        ids.untake(b);
        assert_eq!(ids.take(1, 0), b);
        assert_eq!(ids.take(1, 0), c);
        // A released ID goes to the back of the queue.
        ids.release(a);
        assert_ne!(ids.take(1, 0), a);
        assert_eq!(*ids.free.back().unwrap(), a);
        // Positions stay consistent after swap-removes.
        for (pos, &id) in ids.inflight.iter().enumerate() {
            assert_eq!(ids.slots[id as usize].pos as usize, pos);
        }
    }
}
