//! The generator loop: one thread, several connected sockets, batched
//! sends and receives, a window of outstanding queries.
//!
//! Each thread tags its queries with IDs taken in order from a ring of
//! 65536 slots; a slot remembers when its query left and on which socket.
//! A reply frees its slot; the oldest slots are expired as lost after the
//! timeout. At most `outstanding` queries are in flight per thread and the
//! ring never wraps over a live slot, so IDs are unique among the queries
//! in flight.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use levee_io::batch::{client_socket, poll_readable, BatchReceiver, BatchSender, MAX_BATCH};

use crate::hist::Histogram;
use crate::queries::QuerySet;

const RING: usize = 1 << 16;
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
}

/// Runs one generator thread until its duration, count or `stop` ends it,
/// then waits up to the timeout for the replies still in flight.
pub fn run_thread(plan: ThreadPlan, queries: &QuerySet, live: &Live, stop: &AtomicBool) -> io::Result<ThreadStats> {
    let socks = (0..plan.sockets.max(1)).map(|_| client_socket(plan.target)).collect::<io::Result<Vec<UdpSocket>>>()?;
    let batch = plan.batch.clamp(1, MAX_BATCH);
    let window = plan.outstanding.clamp(1, RING / 2);
    let mut sender = BatchSender::new();
    let mut rx = BatchReceiver::new(MAX_BATCH, RX_SIZE);
    let mut tx = vec![[0u8; MAX_QUERY]; batch];
    let mut tx_len = [0usize; MAX_BATCH];
    let mut slots = vec![Slot { sent: 0, sock: 0 }; RING];
    let (mut head, mut tail) = (0usize, 0usize); // IDs handed out: [tail, head) may be live
    let mut inflight = 0usize;
    let mut st = ThreadStats::default();
    let mut next_q = plan.first % queries.len();
    let mut next_sock = 0usize;
    let timeout = plan.timeout.as_nanos() as u64;
    let end = plan.duration.as_nanos() as u64;
    let start = Instant::now();
    let mut sending = true;
    let mut last_publish = 0u64;

    loop {
        let now = start.elapsed().as_nanos() as u64;
        if sending && (now >= end || st.sent >= plan.max_queries || stop.load(Ordering::Relaxed)) {
            sending = false;
            st.send_time = Duration::from_nanos(now);
        }
        // Expire the oldest queries.
        while tail != head {
            let s = &mut slots[tail % RING];
            if s.sent != 0 {
                if now.saturating_sub(s.sent - 1) < timeout {
                    break;
                }
                s.sent = 0;
                st.lost += 1;
                inflight -= 1;
            }
            tail += 1;
        }
        if !sending && inflight == 0 {
            break;
        }

        // Send one batch if the window, the rate and the ring allow it.
        let mut did = false;
        if sending {
            let mut budget = window.saturating_sub(inflight).min(batch);
            budget = budget.min(RING - (head - tail));
            budget = budget.min((plan.max_queries - st.sent).min(batch as u64) as usize);
            if let Some(rate) = plan.rate {
                let due = (rate * now as f64 / 1e9) as u64 + 1;
                budget = budget.min(due.saturating_sub(st.sent) as usize);
            }
            if budget > 0 {
                for (k, buf) in tx.iter_mut().enumerate().take(budget) {
                    let q = queries.get(next_q);
                    next_q += 1;
                    if next_q == queries.len() {
                        next_q = 0;
                    }
                    buf[..q.len()].copy_from_slice(q);
                    let id = ((head + k) % RING) as u16;
                    buf[..2].copy_from_slice(&id.to_be_bytes());
                    tx_len[k] = q.len();
                }
                let mut msgs: [&[u8]; MAX_BATCH] = [&[]; MAX_BATCH];
                for k in 0..budget {
                    msgs[k] = &tx[k][..tx_len[k]];
                }
                let si = next_sock;
                next_sock = (next_sock + 1) % socks.len();
                let stamp = start.elapsed().as_nanos() as u64 + 1;
                match sender.send(&socks[si], &msgs[..budget]) {
                    Ok(n) => {
                        for k in 0..n {
                            slots[(head + k) % RING] = Slot { sent: stamp, sock: si as u16 };
                        }
                        // Unsent queries give their IDs back; the file position moves on anyway.
                        head += n;
                        inflight += n;
                        st.sent += n as u64;
                        did |= n > 0;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(_) => st.errors += 1,
                }
            }
        }

        // Receive whatever is waiting on every socket.
        for (si, s) in socks.iter().enumerate() {
            loop {
                let n = match rx.recv(s) {
                    Ok(n) => n,
                    Err(_) => {
                        st.errors += 1;
                        break;
                    }
                };
                if n == 0 {
                    break;
                }
                did = true;
                let t = start.elapsed().as_nanos() as u64 + 1;
                for i in 0..n {
                    let r = rx.get(i);
                    if r.len() < 12 || r[2] & 0x80 == 0 {
                        st.unexpected += 1;
                        continue;
                    }
                    let id = u16::from_be_bytes([r[0], r[1]]) as usize;
                    let slot = &mut slots[id];
                    if slot.sent == 0 || slot.sock as usize != si {
                        st.unexpected += 1;
                        continue;
                    }
                    st.latency.record(t - slot.sent);
                    slot.sent = 0;
                    inflight -= 1;
                    st.answered += 1;
                    st.rcodes[(r[3] & 0xF) as usize] += 1;
                    st.truncated += (r[2] & 0x02 != 0) as u64;
                }
                if n < MAX_BATCH {
                    break;
                }
            }
        }

        if now - last_publish >= 50_000_000 {
            last_publish = now;
            live.sent.store(st.sent, Ordering::Relaxed);
            live.answered.store(st.answered, Ordering::Relaxed);
            live.lost.store(st.lost, Ordering::Relaxed);
        }
        if !did {
            // Nothing to send (window full, rate reached, or draining) and
            // nothing received: wait for a reply or the next send slot.
            let wait_ms = match plan.rate {
                Some(rate) if sending && inflight < window => {
                    let next = ((st.sent as f64) * 1e9 / rate) as u64;
                    (next.saturating_sub(now) / 1_000_000).min(10) as i32
                }
                _ => 1,
            };
            if inflight > 0 || wait_ms > 0 {
                let _ = poll_readable(&socks, wait_ms.max(if inflight > 0 { 1 } else { 0 }));
            }
        }
    }
    if sending {
        st.send_time = start.elapsed();
    }
    live.sent.store(st.sent, Ordering::Relaxed);
    live.answered.store(st.answered, Ordering::Relaxed);
    live.lost.store(st.lost, Ordering::Relaxed);
    Ok(st)
}
