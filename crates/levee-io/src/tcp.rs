//! The TCP server (RFC 7766): length-prefixed messages, several queries per
//! connection answered in order, zone transfers streamed, idle connections
//! closed.
//!
//! TCP runs on a thread of its own with an event loop over `mio` (epoll),
//! never on the UDP workers' threads.
//!
//! ## Under a connection flood
//!
//! A TCP flood holds connections open doing nothing (idle) or sending a
//! query one octet at a time (slowloris), to fill every slot so a real
//! resolver, often sent to TCP by a rate limiter's TC=1, cannot get in.
//! Refusing new connections at the cap is exactly what such a flood wants,
//! so this server never refuses: every connection sits in a fixed table
//! with the time it last made progress, and when the table is full (or
//! one source has too many) the **stalest** connection is closed to make
//! room. Connections busy writing a response are spared. A newly accepted
//! resolver connection sends its query at once and is never the stalest.
//!
//! * idle timeout between messages; a message timeout from its first
//!   octet to its last (slowloris); a write timeout;
//! * a global and a per-source cap, both enforced by eviction;
//! * **fixed memory**: the connection table (a slot of about 250 octets
//!   per allowed connection, queries up to 128 octets read in place) is
//!   allocated and touched at start, so a flood of held connections does
//!   not grow the process;
//! * **buffers only for octets that exist**: a message longer than 128
//!   octets is kept in a buffer that grows with the octets actually
//!   received (a client announcing 65,535 octets and sending one holds
//!   512), and responses are written from one scratch buffer of the
//!   thread; only what the socket does not take (a client that pipelines
//!   and does not read) is copied, at its size, into the connection,
//!   which then reads nothing more until it is written;
//! * **a budget** ([`TcpLimits::buffer_memory`]) for all those buffers
//!   together: above it the connections holding the most are closed first
//!   (`TcpStats::evicted_memory`);
//! * out of file descriptors (`EMFILE`), `accept` makes room by closing
//!   the stalest connection, as at the cap, so idle connections cannot
//!   lock new clients out even if the limit is lower than the table.
//!
//! A pipeline is answered in a loop, not by recursion, so any number of
//! queued queries costs no stack.
//!
//! The loop wakes at least every 100 ms to apply timeouts and notice the
//! stop flag; timeouts are found by a scan of the table (4096 slots by
//! default, a few microseconds).
//!
//! DNS over TLS ([`run_tls`]) is this same loop with every connection's
//! octets going through a `rustls::ServerConnection` (the helpers of
//! [`crate::tls`]): one more phase before the first message (the
//! handshake, with its own timeout), a handshake budget per source prefix
//! checked at accept, and the TLS state charged to the buffer budget.
//! Everything above applies to it unchanged.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use rustls::ServerConnection;
use socket2::{Domain, Protocol, Socket, Type};

use crate::tls::{self, HandshakeBudget, TlsSetup};

/// What the service answers to one TCP message.
pub enum TcpAnswer<S> {
    /// Send the first `n` octets of the buffer.
    Reply(usize),
    /// Send nothing and close the connection.
    Close,
    /// Stream several messages (a zone transfer).
    Stream(S),
}

/// The answering side of the TCP server, owned by its thread.
pub trait TcpService: Send + 'static {
    /// State of a multi-message answer.
    type Stream: Send + 'static;
    /// Answers one query into `out` (65535 octets).
    fn handle(&mut self, query: &[u8], client: SocketAddr, out: &mut [u8]) -> TcpAnswer<Self::Stream>;
    /// The next message of a stream, or `None` at its end.
    fn next(&mut self, stream: &mut Self::Stream, out: &mut [u8]) -> Option<usize>;

    /// Answers one query that arrived over TLS (DoT, DoQ), with what the
    /// TLS layer knows of the peer; by default as [`TcpService::handle`].
    fn handle_tls(
        &mut self,
        query: &[u8],
        client: SocketAddr,
        peer: &TlsPeer<'_>,
        out: &mut [u8],
    ) -> TcpAnswer<Self::Stream> {
        let _ = peer;
        self.handle(query, client, out)
    }
}

/// What a TLS connection (DoT, DoQ) knows of its peer once the handshake
/// is done.
#[derive(Clone, Copy, Debug, Default)]
pub struct TlsPeer<'a> {
    /// The ALPN protocol agreed (`None`: the client offered none).
    pub alpn: Option<&'a [u8]>,
    /// The client's end-entity certificate (DER), which the TLS layer
    /// verified against the configured client CA (`None`: none given).
    pub certificate: Option<&'a [u8]>,
}

/// TCP limits.
#[derive(Clone, Copy, Debug)]
pub struct TcpLimits {
    /// Close a connection idle this long between queries.
    pub idle_timeout: Duration,
    /// Close a connection whose message has not fully arrived this long
    /// after its first octet.
    pub message_timeout: Duration,
    /// Give up on a write that takes this long.
    pub write_timeout: Duration,
    /// Most connections served at once; a new one evicts the stalest.
    pub max_connections: usize,
    /// Most connections from one address; a new one evicts its stalest.
    pub max_per_source: usize,
    /// Octets of read and write buffers all connections may hold
    /// together; above it the connections holding the most are closed.
    pub buffer_memory: usize,
}

impl Default for TcpLimits {
    fn default() -> Self {
        TcpLimits {
            idle_timeout: Duration::from_secs(10),
            message_timeout: Duration::from_secs(2),
            write_timeout: Duration::from_secs(10),
            max_connections: 4096,
            max_per_source: 64,
            buffer_memory: 32 << 20,
        }
    }
}

/// TCP counters, summed over the server's life.
#[derive(Debug, Default)]
pub struct TcpStats {
    /// Connections accepted.
    pub accepted: AtomicU64,
    /// Connections open now.
    pub open: AtomicU64,
    /// Closed to make room under the global cap.
    pub evicted: AtomicU64,
    /// Closed to make room under the per-source cap.
    pub evicted_per_source: AtomicU64,
    /// Closed after the idle timeout.
    pub idle_timeouts: AtomicU64,
    /// Closed because a message or a write took too long.
    pub io_timeouts: AtomicU64,
    /// Queries answered.
    pub queries: AtomicU64,
    /// Closed because the buffer budget was spent and they held the most.
    pub evicted_memory: AtomicU64,
    /// Octets of read and write buffers held now (a gauge).
    pub buffered: AtomicU64,
    /// TLS handshakes completed (DoT only).
    pub handshakes: AtomicU64,
    /// Of those, resumed sessions (a ticket or the session cache).
    pub handshakes_resumed: AtomicU64,
    /// TLS handshakes that failed or did not finish in time.
    pub handshake_failures: AtomicU64,
    /// Connections closed at accept: their prefix was over its
    /// handshake budget.
    pub handshakes_refused: AtomicU64,
    /// Connections closed at accept: all prefixes together were over the
    /// total and theirs was not known.
    pub handshakes_shed: AtomicU64,
}

/// Binds a listening TCP socket (reuse-address, IPv6-only for IPv6).
pub fn bind_tcp(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    let domain = if addr.is_ipv4() { Domain::IPV4 } else { Domain::IPV6 };
    let s = Socket::new(domain, Type::STREAM, Some(Protocol::TCP))?;
    s.set_reuse_address(true)?;
    if addr.is_ipv6() {
        s.set_only_v6(true)?;
    }
    s.bind(&addr.into())?;
    // A deep accept queue: a connection flood should meet eviction, not
    // a full backlog (the kernel caps this at net.core.somaxconn).
    s.listen(4096)?;
    s.set_nonblocking(true)?;
    Ok(s.into())
}

/// Queries up to this long are read into the connection's slot.
const SMALL: usize = 128;
/// Longest wait of the event loop (timeouts, stop flag).
const TICK: Duration = Duration::from_millis(100);
/// A long message's buffer grows in steps of this many octets up to
/// [`BIG_STEP`], then in steps of `BIG_STEP`.
const BIG_MIN: usize = 512;
const BIG_STEP: usize = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// TLS only: the handshake has not finished.
    Handshake,
    /// Waiting for the first octet of a message.
    Idle,
    /// Part of a message has arrived.
    Reading,
    /// A response (or a transfer) is being written.
    Writing,
}

/// One connection's slot.
struct Conn<S> {
    sock: TcpStream,
    peer: SocketAddr,
    phase: Phase,
    /// Milliseconds (since the server's epoch) of the last progress: the
    /// start of the current message, or the last octet written.
    since: u64,
    /// Octets of the current message read so far, length prefix included.
    have: usize,
    len: [u8; 2],
    small: [u8; SMALL],
    /// The octets received of a message longer than [`SMALL`]: grown as
    /// they arrive, never to the length the client announced.
    big: Vec<u8>,
    /// What the socket did not take of the response being written.
    out: Vec<u8>,
    out_pos: usize,
    stream: Option<Box<S>>,
    /// Octets of `big` and `out` counted in the server's budget.
    charged: usize,
    /// The TLS session, on a DoT listener.
    tls: Option<Box<ServerConnection>>,
    /// DoT: a query was answered here (its prefix was marked known).
    proven: bool,
}

impl<S> Conn<S> {
    fn msg_len(&self) -> usize {
        u16::from_be_bytes(self.len) as usize
    }

    fn mem(&self) -> usize {
        let tls = if self.tls.is_some() { tls::STATE_ESTIMATE } else { 0 };
        self.big.capacity() + self.out.capacity() + tls
    }

    /// Reads from the socket, or from the TLS session over it.
    fn read_in(sock: &mut TcpStream, tls: &mut Option<Box<ServerConnection>>, buf: &mut [u8]) -> io::Result<usize> {
        match tls {
            None => sock.read(buf),
            Some(t) => tls::read(sock, t, buf),
        }
    }

    /// Writes to the socket, or through the TLS session over it.
    fn write_out(sock: &mut TcpStream, tls: &mut Option<Box<ServerConnection>>, data: &[u8]) -> io::Result<usize> {
        match tls {
            None => sock.write(data),
            Some(t) => tls::write(sock, t, data),
        }
    }
}

/// The whole server state of one event loop.
struct Server<S: TcpService> {
    svc: S,
    limits: TcpLimits,
    stats: Arc<TcpStats>,
    poll: Poll,
    listeners: Vec<TcpListener>,
    conns: Vec<Option<Conn<S::Stream>>>,
    free: Vec<usize>,
    live: usize,
    per_source: HashMap<IpAddr, u32>,
    /// Responses are written here and sent from here; only what the
    /// socket does not take is copied into the connection.
    scratch: Box<[u8]>,
    /// Octets held by connections (`Conn::charged` summed).
    held: usize,
    epoch: Instant,
    now: u64,
    /// DoT: the TLS configuration and the handshake budget.
    tls: Option<(TlsSetup, HandshakeBudget)>,
}

/// Listener tokens count down from the top; connection tokens are slots.
fn listener_token(i: usize) -> Token {
    Token(usize::MAX - i)
}

/// Runs the TCP server on the calling thread until `stop` is set.
pub fn run<S: TcpService>(
    listeners: Vec<std::net::TcpListener>,
    svc: S,
    limits: TcpLimits,
    stats: Arc<TcpStats>,
    stop: Arc<AtomicBool>,
) -> io::Result<()> {
    run_loop(listeners, svc, limits, None, stats, stop)
}

/// Runs a DNS-over-TLS server (RFC 7858) on the calling thread until
/// `stop` is set: the TCP server with every connection over TLS.
pub fn run_tls<S: TcpService>(
    listeners: Vec<std::net::TcpListener>,
    svc: S,
    limits: TcpLimits,
    tls: TlsSetup,
    stats: Arc<TcpStats>,
    stop: Arc<AtomicBool>,
) -> io::Result<()> {
    run_loop(listeners, svc, limits, Some(tls), stats, stop)
}

fn run_loop<S: TcpService>(
    listeners: Vec<std::net::TcpListener>,
    svc: S,
    limits: TcpLimits,
    tls: Option<TlsSetup>,
    stats: Arc<TcpStats>,
    stop: Arc<AtomicBool>,
) -> io::Result<()> {
    let poll = Poll::new()?;
    let mut ls = Vec::new();
    for (i, l) in listeners.into_iter().enumerate() {
        l.set_nonblocking(true)?;
        let mut l = TcpListener::from_std(l);
        poll.registry().register(&mut l, listener_token(i), Interest::READABLE)?;
        ls.push(l);
    }
    let max = limits.max_connections.max(1);
    let mut conns = Vec::with_capacity(max);
    conns.resize_with(max, || None);
    let mut srv = Server {
        svc,
        limits,
        stats,
        poll,
        listeners: ls,
        conns,
        free: (0..max).rev().collect(),
        live: 0,
        per_source: HashMap::with_capacity(max.min(1 << 16)),
        scratch: vec![0u8; 2 + 65535].into_boxed_slice(),
        held: 0,
        epoch: Instant::now(),
        now: 0,
        tls: tls.map(|t| {
            let b = HandshakeBudget::new(t.handshake_rate, t.handshake_burst, t.total_rate, t.total_burst);
            (t, b)
        }),
    };
    srv.touch_table();
    let mut events = Events::with_capacity(1024);
    let mut last_scan = 0;
    while !stop.load(Ordering::Relaxed) {
        if let Err(e) = srv.poll.poll(&mut events, Some(TICK)) {
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
        srv.now = srv.epoch.elapsed().as_millis() as u64;
        for ev in events.iter() {
            let t = ev.token();
            if t.0 > usize::MAX - srv.listeners.len() {
                srv.accept(usize::MAX - t.0);
            } else {
                if ev.is_readable() || ev.is_read_closed() || ev.is_error() {
                    srv.readable(t.0);
                }
                if ev.is_writable() {
                    srv.writable(t.0);
                }
            }
        }
        if srv.now >= last_scan + TICK.as_millis() as u64 {
            last_scan = srv.now;
            srv.expire();
            // Readiness is edge-triggered: connections left in the accept
            // queue (after running out of file descriptors) are taken here.
            for li in 0..srv.listeners.len() {
                srv.accept(li);
            }
        }
    }
    Ok(())
}

impl<S: TcpService> Server<S> {
    /// Writes every slot once, so the table's memory is resident from the
    /// start and a flood of connections does not grow the process.
    fn touch_table(&mut self) {
        for slot in self.conns.iter_mut() {
            *slot = None;
            std::hint::black_box(&*slot);
        }
    }

    fn accept(&mut self, li: usize) {
        loop {
            let (sock, peer) = match self.listeners[li].accept() {
                Ok(x) => x,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE)) => {
                    // Out of file descriptors: the limit is lower than the
                    // table (or something else holds descriptors). Make
                    // room as at the cap, so idle connections cannot lock
                    // new clients out; retry at the next tick otherwise.
                    match self.stalest(None) {
                        Some(v) => {
                            self.close(v, End::Evicted);
                            bump(&self.stats.evicted);
                            continue;
                        }
                        None => {
                            tracing::warn!("TCP accept: {e}");
                            return;
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!("TCP accept: {e}");
                    return;
                }
            };
            self.admit(sock, peer);
        }
    }

    /// Finds room for a new connection (evicting the stalest ones over
    /// the caps) and registers it.
    fn admit(&mut self, mut sock: TcpStream, peer: SocketAddr) {
        let ip = peer.ip();
        // DoT: the prefix's handshake budget first, before any TLS work
        // or eviction on its behalf; over it, the connection is dropped.
        let mut session = None;
        if let Some((setup, budget)) = self.tls.as_mut() {
            match budget.take(ip, self.now) {
                tls::Admit::Yes => {}
                tls::Admit::OverPrefix => return bump(&self.stats.handshakes_refused),
                tls::Admit::OverTotal => return bump(&self.stats.handshakes_shed),
            }
            match tls::accept(setup) {
                Ok(s) => session = Some(s),
                Err(e) => {
                    tracing::warn!("TLS: cannot start a session: {e}");
                    return;
                }
            }
        }
        if self.per_source.get(&ip).copied().unwrap_or(0) as usize >= self.limits.max_per_source {
            if let Some(v) = self.stalest(Some(ip)) {
                self.close(v, End::Evicted);
                bump(&self.stats.evicted_per_source);
            }
        }
        if self.free.is_empty() {
            if let Some(v) = self.stalest(None) {
                self.close(v, End::Evicted);
                bump(&self.stats.evicted);
            }
        }
        let Some(slot) = self.free.pop() else { return };
        let _ = sock.set_nodelay(true);
        if self.poll.registry().register(&mut sock, Token(slot), Interest::READABLE | Interest::WRITABLE).is_err() {
            self.free.push(slot);
            return;
        }
        let tls = session.is_some();
        self.conns[slot] = Some(Conn {
            sock,
            peer,
            phase: if tls { Phase::Handshake } else { Phase::Idle },
            since: self.now,
            have: 0,
            len: [0; 2],
            small: [0; SMALL],
            big: Vec::new(),
            out: Vec::new(),
            out_pos: 0,
            stream: None,
            charged: 0,
            tls: session,
            proven: false,
        });
        self.live += 1;
        *self.per_source.entry(ip).or_insert(0) += 1;
        bump(&self.stats.accepted);
        self.stats.open.fetch_add(1, Ordering::Relaxed);
        if tls {
            self.recharge(slot);
        }
        // Data may already be waiting (edge-triggered readiness).
        self.readable(slot);
    }

    /// The stalest connection not busy writing (`of`: from that address
    /// only); a writing one only if nothing else is left.
    fn stalest(&self, of: Option<IpAddr>) -> Option<usize> {
        let mut best: Option<((bool, u64), usize)> = None;
        for (i, c) in self.conns.iter().enumerate() {
            let Some(c) = c else { continue };
            if of.is_some_and(|a| a != c.peer.ip()) {
                continue;
            }
            let key = (c.phase == Phase::Writing, c.since);
            if best.is_none_or(|(b, _)| key < b) {
                best = Some((key, i));
            }
        }
        best.map(|(_, i)| i)
    }

    fn close(&mut self, slot: usize, why: End) {
        let Some(mut c) = self.conns[slot].take() else { return };
        if let Some(t) = c.tls.as_mut().filter(|_| c.phase != Phase::Handshake) {
            // Best effort, never waited for: the socket closes next.
            t.send_close_notify();
            let _ = tls::push(&mut c.sock, t);
        }
        let _ = self.poll.registry().deregister(&mut c.sock);
        self.held -= c.charged;
        self.stats.buffered.store(self.held as u64, Ordering::Relaxed);
        let ip = c.peer.ip();
        if let Some(n) = self.per_source.get_mut(&ip) {
            *n -= 1;
            if *n == 0 {
                self.per_source.remove(&ip);
            }
        }
        self.free.push(slot);
        self.live -= 1;
        self.stats.open.fetch_sub(1, Ordering::Relaxed);
        match why {
            End::Idle => bump(&self.stats.idle_timeouts),
            End::Slow => bump(&self.stats.io_timeouts),
            End::Memory => bump(&self.stats.evicted_memory),
            End::Handshake => bump(&self.stats.handshake_failures),
            End::Evicted | End::Closed => {}
        }
    }

    /// Counts what `slot`'s buffers hold now; over the budget, closes the
    /// connections holding the most until it fits (possibly `slot`).
    fn recharge(&mut self, slot: usize) {
        let Some(c) = self.conns[slot].as_mut() else { return };
        let m = c.mem();
        self.held = self.held - c.charged + m;
        c.charged = m;
        while self.held > self.limits.buffer_memory {
            let heaviest = self
                .conns
                .iter()
                .enumerate()
                .filter_map(|(i, c)| c.as_ref().map(|c| (c.charged, i)))
                .max()
                .filter(|&(m, _)| m > 0);
            let Some((_, v)) = heaviest else { break };
            self.close(v, End::Memory);
        }
        self.stats.buffered.store(self.held as u64, Ordering::Relaxed);
    }

    /// Applies the idle, message and write timeouts.
    fn expire(&mut self) {
        let l = self.limits;
        let hs = self.tls.as_ref().map_or(Duration::MAX, |t| t.0.handshake_timeout);
        for slot in 0..self.conns.len() {
            let Some(c) = &self.conns[slot] else { continue };
            let age = Duration::from_millis(self.now.saturating_sub(c.since));
            let why = match c.phase {
                Phase::Idle if age >= l.idle_timeout => End::Idle,
                Phase::Reading if age >= l.message_timeout => End::Slow,
                Phase::Writing if age >= l.write_timeout => End::Slow,
                Phase::Handshake if age >= hs => End::Handshake,
                _ => continue,
            };
            self.close(slot, why);
        }
    }

    /// DoT: moves the handshake on; true when application data may be
    /// read (always for plain TCP), false when it waits or failed (the
    /// connection is closed then).
    fn handshake(&mut self, slot: usize) -> bool {
        let Some(c) = self.conns[slot].as_mut() else { return false };
        if c.phase != Phase::Handshake {
            return true;
        }
        let Some(t) = c.tls.as_mut() else { return true };
        match tls::handshake(&mut c.sock, t) {
            tls::Handshake::Pending => false,
            tls::Handshake::Failed => {
                self.close(slot, End::Handshake);
                false
            }
            tls::Handshake::Done => {
                bump(&self.stats.handshakes);
                if t.handshake_kind() == Some(rustls::HandshakeKind::Resumed) {
                    bump(&self.stats.handshakes_resumed);
                }
                c.phase = Phase::Idle;
                c.since = self.now;
                true
            }
        }
    }

    /// Reads what has arrived and answers each complete message, until
    /// the socket has nothing more or a response waits to be written.
    fn readable(&mut self, slot: usize) {
        if !self.handshake(slot) {
            return;
        }
        loop {
            let now = self.now;
            let Some(c) = self.conns[slot].as_mut() else { return };
            if c.phase == Phase::Writing {
                return; // the response must leave first; reading resumes after
            }
            let mut grew = false;
            let r = if c.have < 2 {
                let h = c.have;
                Conn::<S::Stream>::read_in(&mut c.sock, &mut c.tls, &mut c.len[h..])
            } else {
                let n = c.msg_len();
                let at = c.have - 2;
                if n <= SMALL {
                    Conn::<S::Stream>::read_in(&mut c.sock, &mut c.tls, &mut c.small[at..n])
                } else {
                    // Read into the scratch buffer and keep only what
                    // arrived: a length announced is not memory granted.
                    let want = (n - at).min(self.scratch.len());
                    let r = Conn::<S::Stream>::read_in(&mut c.sock, &mut c.tls, &mut self.scratch[..want]);
                    if let Ok(k) = r {
                        if at + k > c.big.capacity() {
                            // What arrived, rounded up to BIG_MIN (up to
                            // BIG_STEP) or BIG_STEP octets: never more than
                            // BIG_STEP octets above what the client sent.
                            let got = at + k;
                            let step = if got <= BIG_STEP { BIG_MIN } else { BIG_STEP };
                            let target = got.next_multiple_of(step).min(n);
                            c.big.reserve_exact(target - c.big.len());
                            grew = true;
                        }
                        c.big.extend_from_slice(&self.scratch[..k]);
                    }
                    r
                }
            };
            match r {
                Ok(0) => return self.close(slot, End::Closed),
                Ok(k) => {
                    if c.have == 0 {
                        c.phase = Phase::Reading;
                        c.since = now;
                    }
                    c.have += k;
                    let complete = c.have >= 2 && c.have == 2 + c.msg_len();
                    if grew {
                        self.recharge(slot);
                    }
                    if complete {
                        self.answer(slot);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return self.close(slot, End::Closed),
            }
        }
    }

    /// Answers the complete message in `slot` and writes what the socket
    /// takes. Never calls `readable` (the caller's loop goes on), so a
    /// long pipeline does not recurse.
    fn answer(&mut self, slot: usize) {
        let Some(c) = self.conns[slot].as_mut() else { return };
        let n = c.msg_len();
        let msg = if n <= SMALL { &c.small[..n] } else { &c.big[..n] };
        bump(&self.stats.queries);
        let answer = match c.tls.as_deref() {
            None => self.svc.handle(msg, c.peer, &mut self.scratch[2..]),
            Some(t) => {
                let peer = TlsPeer {
                    alpn: t.alpn_protocol(),
                    certificate: t.peer_certificates().and_then(|c| c.first()).map(|c| c.as_ref()),
                };
                self.svc.handle_tls(msg, c.peer, &peer, &mut self.scratch[2..])
            }
        };
        let r = match answer {
            TcpAnswer::Reply(r) => Some(r),
            TcpAnswer::Close => None,
            TcpAnswer::Stream(mut st) => {
                let first = self.svc.next(&mut st, &mut self.scratch[2..]);
                c.stream = Some(Box::new(st));
                first
            }
        };
        c.have = 0;
        c.big = Vec::new();
        let Some(r) = r else { return self.close(slot, End::Closed) };
        if let (Some((_, budget)), false) = (self.tls.as_mut(), c.proven) {
            // Its first answer: the prefix is known to the handshake budget.
            budget.mark_known(c.peer.ip(), self.now);
            c.proven = true;
        }
        c.phase = Phase::Writing;
        c.since = self.now;
        self.send(slot, r);
        self.recharge(slot);
        self.flush(slot);
    }

    /// Sends the `r`-octet message in the scratch buffer (after its length
    /// prefix) as far as the socket takes it; the rest is copied into the
    /// connection. The connection's pending output must be empty.
    fn send(&mut self, slot: usize, r: usize) {
        let Some(c) = self.conns[slot].as_mut() else { return };
        self.scratch[..2].copy_from_slice(&(r as u16).to_be_bytes());
        let msg = &self.scratch[..2 + r];
        let mut pos = 0;
        while pos < msg.len() {
            match Conn::<S::Stream>::write_out(&mut c.sock, &mut c.tls, &msg[pos..]) {
                Ok(0) => break,
                Ok(k) => {
                    pos += k;
                    c.since = self.now;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => break, // WouldBlock, or an error the next write reports
            }
        }
        if pos < msg.len() {
            c.out = msg[pos..].to_vec();
            c.out_pos = 0;
        }
    }

    /// Writes pending output, then the next messages of a transfer; at the
    /// end goes back to reading. Returns true when the response is done.
    fn flush(&mut self, slot: usize) -> bool {
        loop {
            let now = self.now;
            let Some(c) = self.conns[slot].as_mut() else { return false };
            if c.phase != Phase::Writing {
                return false;
            }
            if c.out_pos < c.out.len() {
                match Conn::<S::Stream>::write_out(&mut c.sock, &mut c.tls, &c.out[c.out_pos..]) {
                    Ok(0) => {
                        self.close(slot, End::Closed);
                        return false;
                    }
                    Ok(k) => {
                        c.out_pos += k;
                        c.since = now;
                        continue;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(_) => {
                        self.close(slot, End::Closed);
                        return false;
                    }
                }
            }
            if c.out.capacity() > 0 {
                c.out = Vec::new();
                c.out_pos = 0;
                self.recharge(slot);
                continue;
            }
            // TLS: the records of this message leave before the next.
            if let Some(t) = c.tls.as_mut() {
                match tls::push(&mut c.sock, t) {
                    Ok(true) => {}
                    Ok(false) => return false,
                    Err(_) => {
                        self.close(slot, End::Closed);
                        return false;
                    }
                }
            }
            // This message is out: the next one of a transfer, or done.
            if let Some(st) = c.stream.as_mut() {
                if let Some(r) = self.svc.next(st, &mut self.scratch[2..]) {
                    self.send(slot, r);
                    self.recharge(slot);
                    continue;
                }
                c.stream = None;
            }
            c.phase = Phase::Idle;
            c.since = now;
            return true;
        }
    }

    /// The socket takes more: writes, and reads pipelined queries once the
    /// response is out.
    fn writable(&mut self, slot: usize) {
        if self.conns[slot].as_ref().is_some_and(|c| c.phase == Phase::Handshake) {
            // The handshake's flight did not fit the socket: go on with it.
            return self.readable(slot);
        }
        if self.flush(slot) {
            self.readable(slot);
        }
    }
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// Why a connection ended.
enum End {
    Idle,
    Slow,
    Evicted,
    Memory,
    Closed,
    /// A TLS handshake failed or took too long.
    Handshake,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpStream as StdStream;

    /// Answers every query with its own bytes reversed; "axfr" streams
    /// three messages.
    struct Rev;
    impl TcpService for Rev {
        type Stream = u8;
        fn handle(&mut self, q: &[u8], _c: SocketAddr, out: &mut [u8]) -> TcpAnswer<u8> {
            if q == b"axfr" {
                return TcpAnswer::Stream(0);
            }
            if q == b"fill" {
                out[..60000].fill(b'f');
                return TcpAnswer::Reply(60000);
            }
            for (i, b) in q.iter().rev().enumerate() {
                out[i] = *b;
            }
            TcpAnswer::Reply(q.len())
        }
        fn next(&mut self, s: &mut u8, out: &mut [u8]) -> Option<usize> {
            *s += 1;
            if *s > 3 {
                return None;
            }
            // Large messages, so writes block and resume.
            out[..30000].fill(b'0' + *s);
            Some(30000)
        }
    }

    fn ask(s: &mut StdStream, q: &[u8]) -> io::Result<Vec<u8>> {
        let mut m = (q.len() as u16).to_be_bytes().to_vec();
        m.extend_from_slice(q);
        s.write_all(&m)?;
        read_msg(s)
    }

    fn read_msg(s: &mut StdStream) -> io::Result<Vec<u8>> {
        let mut l = [0u8; 2];
        s.read_exact(&mut l)?;
        let mut r = vec![0; u16::from_be_bytes(l) as usize];
        s.read_exact(&mut r)?;
        Ok(r)
    }

    /// Reads until the server closes the connection (or 5 s pass).
    fn closed(s: &mut StdStream) -> bool {
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut b = [0u8; 1];
        matches!(s.read(&mut b), Ok(0) | Err(_))
    }

    struct Running {
        addr: SocketAddr,
        stats: Arc<TcpStats>,
        stop: Arc<AtomicBool>,
        th: Option<std::thread::JoinHandle<()>>,
    }

    impl Drop for Running {
        fn drop(&mut self) {
            self.stop.store(true, Ordering::Relaxed);
            if let Some(t) = self.th.take() {
                let _ = t.join();
            }
        }
    }

    fn start(limits: TcpLimits) -> Running {
        let l = bind_tcp("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = l.local_addr().unwrap();
        let stats = Arc::new(TcpStats::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp) = (Arc::clone(&stats), Arc::clone(&stop));
        let th = std::thread::spawn(move || run(vec![l], Rev, limits, st, sp).unwrap());
        Running { addr, stats, stop, th: Some(th) }
    }

    fn pause() {
        std::thread::sleep(Duration::from_millis(30));
    }

    #[test]
    fn full_table_evicts_the_stalest_not_the_newcomer() {
        let srv = start(TcpLimits { max_connections: 4, ..TcpLimits::default() });
        let addr = srv.addr;
        // Four idle connections fill the table; one of them starts a
        // message and stalls (slowloris) a little later.
        let mut idle = Vec::new();
        for _ in 0..4 {
            idle.push(StdStream::connect(addr).unwrap());
            pause();
        }
        idle[1].write_all(&[0]).unwrap();
        pause();
        // A resolver arrives: it is served, and the stalest (idle[0],
        // idle since it connected) is closed to make room.
        let mut r = StdStream::connect(addr).unwrap();
        assert_eq!(ask(&mut r, b"abc").unwrap(), b"cba");
        assert!(closed(&mut idle[0]), "stalest connection not evicted");
        assert_eq!(srv.stats.evicted.load(Ordering::Relaxed), 1);
        // The next newcomer evicts the next stalest: idle[2] (idle[1]'s
        // stalled message counts as progress when it started).
        pause();
        let mut r2 = StdStream::connect(addr).unwrap();
        assert_eq!(ask(&mut r2, b"xy").unwrap(), b"yx");
        assert!(closed(&mut idle[2]));
        // Pipelined queries on one connection are answered in order.
        let mut m = Vec::new();
        for q in [&b"12"[..], b"345"] {
            m.extend_from_slice(&(q.len() as u16).to_be_bytes());
            m.extend_from_slice(q);
        }
        r.write_all(&m).unwrap();
        assert_eq!(read_msg(&mut r).unwrap(), b"21");
        assert_eq!(read_msg(&mut r).unwrap(), b"543");
    }

    #[test]
    fn per_source_cap_timeouts_large_queries_and_streams() {
        let srv = start(TcpLimits {
            max_per_source: 2,
            message_timeout: Duration::from_millis(300),
            idle_timeout: Duration::from_millis(600),
            ..TcpLimits::default()
        });
        let addr = srv.addr;
        let mut a = StdStream::connect(addr).unwrap();
        pause();
        let _b = StdStream::connect(addr).unwrap();
        pause();
        let mut c = StdStream::connect(addr).unwrap();
        assert_eq!(ask(&mut c, b"q").unwrap(), b"q");
        assert!(closed(&mut a), "per-source cap did not evict the oldest");
        assert_eq!(srv.stats.evicted_per_source.load(Ordering::Relaxed), 1);
        // A query longer than the in-slot buffer, sent in two pieces.
        let long: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
        let mut m = (long.len() as u16).to_be_bytes().to_vec();
        m.extend_from_slice(&long);
        c.write_all(&m[..500]).unwrap();
        pause();
        c.write_all(&m[500..]).unwrap();
        let mut rev = long.clone();
        rev.reverse();
        assert_eq!(read_msg(&mut c).unwrap(), rev);
        // A transfer: three 30,000-octet messages, read slowly.
        let mut q = 4u16.to_be_bytes().to_vec();
        q.extend_from_slice(b"axfr");
        c.write_all(&q).unwrap();
        for i in 1..=3u8 {
            pause();
            let msg = read_msg(&mut c).unwrap();
            assert_eq!(msg.len(), 30000);
            assert!(msg.iter().all(|&b| b == b'0' + i));
        }
        assert_eq!(ask(&mut c, b"after").unwrap(), b"retfa");
        // One octet of a length, then nothing: closed after the message timeout.
        let t = Instant::now();
        c.write_all(&[0]).unwrap();
        assert!(closed(&mut c));
        let waited = t.elapsed();
        assert!(waited >= Duration::from_millis(250) && waited < Duration::from_secs(3), "{waited:?}");
        assert_eq!(srv.stats.io_timeouts.load(Ordering::Relaxed), 1);
        // Idle: closed after the idle timeout.
        let mut d = StdStream::connect(addr).unwrap();
        let t = Instant::now();
        assert!(closed(&mut d));
        assert!(t.elapsed() >= Duration::from_millis(500), "{:?}", t.elapsed());
        assert!(srv.stats.idle_timeouts.load(Ordering::Relaxed) >= 1);
    }

    fn frame(q: &[u8]) -> Vec<u8> {
        let mut m = (q.len() as u16).to_be_bytes().to_vec();
        m.extend_from_slice(q);
        m
    }

    fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
        let t = Instant::now();
        while !f() {
            assert!(t.elapsed() < Duration::from_secs(10), "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// 200 clients announce 65,535-octet messages and send one octet: the
    /// server holds 512 octets for each (what arrived, rounded up), not
    /// what they announced; a legitimate client is still answered.
    #[test]
    fn an_announced_length_is_not_memory() {
        let srv = start(TcpLimits { max_per_source: 1000, ..TcpLimits::default() });
        let mut held = Vec::new();
        for _ in 0..200 {
            let mut s = StdStream::connect(srv.addr).unwrap();
            s.write_all(&[0xff, 0xff, 0x00]).unwrap();
            held.push(s);
        }
        wait_for("200 connections", || srv.stats.open.load(Ordering::Relaxed) == 200);
        let mut r = StdStream::connect(srv.addr).unwrap();
        assert_eq!(ask(&mut r, b"abc").unwrap(), b"cba");
        let b = srv.stats.buffered.load(Ordering::Relaxed);
        assert!(b <= 200 * BIG_MIN as u64, "{b} octets held for 200 octets received");
        assert!(b >= 200, "{b}");
        // The rest of a message grows its buffer as it arrives.
        let mut s = StdStream::connect(srv.addr).unwrap();
        let mut m = frame(&[7u8; 3000]);
        s.write_all(&m[..1500]).unwrap();
        pause();
        s.write_all(&m[1500..]).unwrap();
        m.drain(..2);
        assert_eq!(read_msg(&mut s).unwrap(), m);
    }

    /// Over the buffer budget the connection holding the most is closed
    /// first, and the others keep their messages.
    #[test]
    fn the_buffer_budget_evicts_the_heaviest_first() {
        let srv = start(TcpLimits { buffer_memory: 110_000, ..TcpLimits::default() });
        let big: Vec<u8> = (0..60000u32).map(|i| i as u8).collect();
        let m = frame(&big);
        let short = frame(&[5u8; 3000]);
        let held = || srv.stats.buffered.load(Ordering::Relaxed);
        // Buffers grow with what arrived (in 512- then 4096-octet steps).
        let mut heavy = StdStream::connect(srv.addr).unwrap();
        heavy.write_all(&m[..58000]).unwrap();
        wait_for("58,000 octets", || held() == 60000); // 61,440 capped at the length
        let mut light = StdStream::connect(srv.addr).unwrap();
        light.write_all(&short[..2000]).unwrap();
        wait_for("2,000 more", || held() == 60000 + 2048);
        assert_eq!(srv.stats.evicted_memory.load(Ordering::Relaxed), 0);
        // 50,000 more would make 115,296: the heaviest (not the newest) goes.
        let mut third = StdStream::connect(srv.addr).unwrap();
        third.write_all(&m[..50000]).unwrap();
        assert!(closed(&mut heavy), "the heaviest connection was not closed");
        assert_eq!(srv.stats.evicted_memory.load(Ordering::Relaxed), 1);
        wait_for("the third's octets", || held() == 2048 + 53248);
        // The others finish their messages and are answered.
        light.write_all(&short[2000..]).unwrap();
        assert_eq!(read_msg(&mut light).unwrap(), vec![5u8; 3000]);
        third.write_all(&m[50000..]).unwrap();
        let mut rev = big.clone();
        rev.reverse();
        assert_eq!(read_msg(&mut third).unwrap(), rev);
        assert_eq!(srv.stats.evicted_memory.load(Ordering::Relaxed), 1);
        wait_for("nothing held", || held() == 0);
    }

    /// A client that pipelines queries with large answers and never reads
    /// holds at most one partly written answer (the server stops reading
    /// its queries), and is closed after the write timeout.
    #[test]
    fn a_pipelining_client_that_never_reads_is_bounded() {
        let srv = start(TcpLimits { write_timeout: Duration::from_millis(500), ..TcpLimits::default() });
        let mut s = StdStream::connect(srv.addr).unwrap();
        s.set_write_timeout(Some(Duration::from_millis(200))).unwrap();
        let q = frame(b"fill");
        // Sends until its own buffers are full (bounded: 20,000 queries).
        for _ in 0..20_000 {
            if s.write_all(&q).is_err() {
                break;
            }
        }
        wait_for("a held answer", || srv.stats.buffered.load(Ordering::Relaxed) > 0);
        let answered = srv.stats.queries.load(Ordering::Relaxed);
        let b = srv.stats.buffered.load(Ordering::Relaxed);
        assert!(b <= 60002, "{b} octets held for one client");
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(srv.stats.queries.load(Ordering::Relaxed), answered, "kept answering a client that does not read");
        wait_for("the write timeout", || srv.stats.io_timeouts.load(Ordering::Relaxed) == 1);
        assert_eq!(srv.stats.buffered.load(Ordering::Relaxed), 0);
        assert_eq!(srv.stats.open.load(Ordering::Relaxed), 0);
    }

    /// 50,000 queries pipelined on one connection, read as they come: all
    /// answered in order (the server's loop does not recurse per query).
    #[test]
    fn a_long_pipeline_is_answered_without_recursion() {
        let srv = start(TcpLimits::default());
        let mut s = StdStream::connect(srv.addr).unwrap();
        let mut r = s.try_clone().unwrap();
        const N: u32 = 50_000;
        let reader = std::thread::spawn(move || {
            r.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            for i in 0..N {
                let m = read_msg(&mut r).unwrap();
                let mut want = i.to_be_bytes();
                want.reverse();
                assert_eq!(m, want);
            }
        });
        let mut all = Vec::new();
        for i in 0..N {
            all.extend_from_slice(&frame(&i.to_be_bytes()));
        }
        s.write_all(&all).unwrap();
        reader.join().unwrap();
        assert_eq!(srv.stats.queries.load(Ordering::Relaxed), N as u64);
    }
}
