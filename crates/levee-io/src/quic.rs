//! DNS over QUIC (RFC 9250): a QUIC endpoint (quinn) on a thread of its
//! own, answering through the same [`TcpService`] as TCP and DoT.
//!
//! One query per bidirectional stream, with the 2-octet length prefix of
//! DNS over TCP; the response (or, for a zone transfer, every message of
//! it) goes back on the same stream, which the server then finishes
//! (STREAM FIN). What the RFC calls a protocol error closes the whole
//! connection with `DOQ_PROTOCOL_ERROR` ([`code::PROTOCOL_ERROR`]): a
//! Message ID other than 0, a stream that ends inside its message, a
//! message longer than its length prefix allows, a query the service will
//! not answer ([`TcpAnswer::Close`]). (The daemon's service answers a
//! query with an edns-tcp-keepalive option, without the option, as Knot
//! DNS 3.4 does; RFC 9250 §5.5.2 keeps it out of DoQ messages.)
//!
//! The thread runs a single-threaded tokio runtime: quinn's endpoint
//! drivers, one task per connection and one per stream. The service is
//! owned by the thread and borrowed by one stream at a time, never across
//! an await, so a transfer's messages interleave with other streams'
//! answers as the peer reads them.
//!
//! ## Defences
//!
//! * **Address validation with Retry under load**: while new connections
//!   arrive faster than [`QuicLimits::retry_above`] a second, an Initial
//!   from an address not yet validated is answered with a Retry (a token,
//!   no TLS state), so a flood of spoofed Initials costs one stateless
//!   packet each and never reaches the handshake;
//! * **the handshake budget per source prefix** of DoT
//!   ([`crate::tls::HandshakeBudget`]), after validation: an address
//!   past its prefix's budget (or past the total, from a prefix not known)
//!   is refused (CONNECTION_REFUSED) before any TLS work;
//! * **connection caps**, in total and per source prefix (/24, /56):
//!   refused at the Initial;
//! * per connection, at most [`QuicLimits::max_streams`] streams at once
//!   (QUIC's stream credit), no unidirectional streams, and
//!   [`QuicLimits::stream_buffer`] octets of flow-control window per
//!   stream (four streams' worth for the connection), so what a peer can
//!   make the server buffer is bounded; the send window bounds what waits
//!   to be sent;
//! * timeouts: the handshake ([`QuicLimits::handshake_timeout`]), idle
//!   connections (QUIC's idle timeout), and a query that does not fully
//!   arrive ([`QuicLimits::message_timeout`]: the stream is cancelled with
//!   `DOQ_REQUEST_CANCELLED`).
//!
//! 0-RTT is off (the rustls configuration the caller gives has no early
//! data). The caller's `rustls::ServerConfig` must be TLS 1.3 with ALPN
//! `doq`.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use quinn::{Connection, Endpoint, Incoming, RecvStream, SendStream, VarInt};

use crate::tcp::{TcpAnswer, TcpService, TlsPeer};
use crate::tls::{Admit, HandshakeBudget, V4_PREFIX, V6_PREFIX};

/// The DoQ error codes (RFC 9250 §4.3).
pub mod code {
    /// No error: the connection or stream is closed normally.
    pub const NO_ERROR: u32 = 0x0;
    /// The DoQ implementation encountered an internal error.
    pub const INTERNAL_ERROR: u32 = 0x1;
    /// The peer violated the DoQ protocol.
    pub const PROTOCOL_ERROR: u32 = 0x2;
    /// A DoQ request was cancelled (a query that did not arrive in time).
    pub const REQUEST_CANCELLED: u32 = 0x3;
    /// The server is closing the connection under load.
    pub const EXCESSIVE_LOAD: u32 = 0x4;
    /// No error reason specified.
    pub const UNSPECIFIED_ERROR: u32 = 0x5;
}

/// Largest DNS message plus its length prefix.
const MAX_FRAME: usize = 2 + 65535;

/// How a DoQ listener runs: the TLS configuration and its defences.
#[derive(Clone)]
pub struct QuicSetup {
    /// TLS 1.3 with ALPN `doq`, the certificate resolver.
    pub config: Arc<rustls::ServerConfig>,
    /// The defences.
    pub limits: QuicLimits,
}

/// DoQ limits.
#[derive(Clone, Copy, Debug)]
pub struct QuicLimits {
    /// Close a connection whose handshake has not finished this long
    /// after its first Initial.
    pub handshake_timeout: Duration,
    /// QUIC idle timeout of a connection.
    pub idle_timeout: Duration,
    /// Cancel a stream whose query has not fully arrived this long after
    /// the stream opened.
    pub message_timeout: Duration,
    /// Connections at once, in total.
    pub max_connections: usize,
    /// Connections at once per source prefix (/24, /56).
    pub max_per_prefix: usize,
    /// Streams at once per connection.
    pub max_streams: u32,
    /// Octets a peer may have in flight on one stream (flow control).
    pub stream_buffer: u32,
    /// Handshakes per second per source prefix.
    pub handshake_rate: u32,
    /// Handshakes at once per source prefix.
    pub handshake_burst: u32,
    /// Handshakes per second from all prefixes not known together.
    pub total_rate: u32,
    /// Handshakes at once from all prefixes not known together.
    pub total_burst: u32,
    /// New connections per second above which Initials from addresses
    /// not yet validated get a Retry (0: always).
    pub retry_above: u32,
}

impl Default for QuicLimits {
    fn default() -> Self {
        QuicLimits {
            handshake_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(10),
            message_timeout: Duration::from_secs(2),
            max_connections: 4096,
            max_per_prefix: 256,
            max_streams: 100,
            stream_buffer: 16 * 1024,
            handshake_rate: 100,
            handshake_burst: 200,
            total_rate: 2000,
            total_burst: 4000,
            retry_above: 200,
        }
    }
}

/// DoQ counters, summed over the server's life.
#[derive(Debug, Default)]
pub struct QuicStats {
    /// Initials taken on (a handshake started).
    pub accepted: AtomicU64,
    /// Connections open now (a gauge).
    pub open: AtomicU64,
    /// Handshakes completed.
    pub handshakes: AtomicU64,
    /// Handshakes that failed or did not finish in time.
    pub handshake_failures: AtomicU64,
    /// Retry packets sent (address validation under load).
    pub retries: AtomicU64,
    /// Refused: the prefix was over its handshake budget.
    pub handshakes_refused: AtomicU64,
    /// Refused: all prefixes were over the total and this one not known.
    pub handshakes_shed: AtomicU64,
    /// Refused: the connection caps (total or per prefix).
    pub refused_cap: AtomicU64,
    /// Streams opened by clients.
    pub streams: AtomicU64,
    /// Queries answered (a response or a transfer started).
    pub queries: AtomicU64,
    /// Connections closed with DOQ_PROTOCOL_ERROR.
    pub protocol_errors: AtomicU64,
    /// Streams cancelled because the query did not arrive in time.
    pub stream_timeouts: AtomicU64,
}

fn add(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// The quinn server configuration of `setup`: TLS, the transport's
/// limits, Retry tokens.
pub fn server_config(setup: &QuicSetup) -> Result<quinn::ServerConfig, String> {
    let crypto = quinn::crypto::rustls::QuicServerConfig::try_from(Arc::clone(&setup.config))
        .map_err(|e| format!("DNS over QUIC: the TLS configuration cannot carry QUIC: {e}"))?;
    let l = &setup.limits;
    let mut t = quinn::TransportConfig::default();
    let window = u64::from(l.stream_buffer.max(1024));
    t.max_concurrent_bidi_streams(VarInt::from_u32(l.max_streams))
        .max_concurrent_uni_streams(VarInt::from_u32(0))
        .stream_receive_window(VarInt::from_u32(window as u32))
        .receive_window(VarInt::from_u64(window * 4).unwrap_or(VarInt::MAX))
        .send_window(1 << 20)
        .max_idle_timeout(Some(l.idle_timeout.try_into().map_err(|_| "DNS over QUIC: idle timeout too long")?))
        .datagram_receive_buffer_size(None);
    let mut sc = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    sc.transport_config(Arc::new(t));
    // A client moving address is not needed by DNS; refusing it keeps a
    // connection's prefix what the caps counted.
    sc.migration(false);
    // Initials waiting for the accept loop, and what they may hold.
    sc.max_incoming(l.max_connections.clamp(64, 1 << 16));
    sc.incoming_buffer_size(64 * 1024);
    sc.incoming_buffer_size_total(8 << 20);
    Ok(sc)
}

/// Binds a DoQ listener's UDP socket (IPv6-only for IPv6, a large receive
/// buffer for bursts of Initials).
pub fn bind_quic(addr: SocketAddr) -> io::Result<std::net::UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let domain = if addr.is_ipv4() { Domain::IPV4 } else { Domain::IPV6 };
    let s = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
    if addr.is_ipv6() {
        s.set_only_v6(true)?;
    }
    let _ = s.set_recv_buffer_size(4 << 20);
    s.bind(&addr.into())?;
    s.set_nonblocking(true)?;
    Ok(s.into())
}

/// The prefix a source is counted under.
fn prefix(ip: IpAddr) -> (u8, u128) {
    match ip {
        IpAddr::V4(a) => (4, u128::from(u32::from(a) >> (32 - V4_PREFIX))),
        IpAddr::V6(a) => (6, u128::from(a) >> (128 - V6_PREFIX)),
    }
}

/// What the thread's tasks share (one thread: `Rc`, `RefCell`).
struct State<S> {
    svc: RefCell<S>,
    budget: RefCell<HandshakeBudget>,
    limits: QuicLimits,
    stats: Arc<QuicStats>,
    epoch: Instant,
    /// Connections open per prefix (an entry per prefix with one open).
    per_prefix: RefCell<HashMap<(u8, u128), usize>>,
    open: Cell<usize>,
    /// New connections in the current second: (second, count).
    rate: Cell<(u64, u32)>,
    /// The answering scratch buffer (a message and its prefix).
    scratch: RefCell<Vec<u8>>,
}

impl<S> State<S> {
    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// Counts a new connection attempt; true when the rate is over
    /// `retry_above` and unvalidated addresses must be validated first.
    fn under_load(&self) -> bool {
        let sec = self.now_ms() / 1000;
        let (s, n) = self.rate.get();
        let n = if s == sec { n.saturating_add(1) } else { 1 };
        self.rate.set((sec, n));
        n > self.limits.retry_above
    }
}

/// Holds a connection's place in the caps until it ends.
struct Slot<S> {
    st: Rc<State<S>>,
    key: (u8, u128),
}

impl<S> Drop for Slot<S> {
    fn drop(&mut self) {
        self.st.open.set(self.st.open.get().saturating_sub(1));
        self.st.stats.open.fetch_sub(1, Ordering::Relaxed);
        let mut m = self.st.per_prefix.borrow_mut();
        if let Some(n) = m.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                m.remove(&self.key);
            }
        }
    }
}

/// Runs DoQ on `sockets` (bound UDP sockets) until `stop`, answering with
/// `svc`.
pub fn run_quic<S: TcpService>(
    sockets: Vec<std::net::UdpSocket>,
    svc: S,
    setup: QuicSetup,
    stats: Arc<QuicStats>,
    stop: Arc<AtomicBool>,
) -> io::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let local = tokio::task::LocalSet::new();
    let sc = server_config(&setup).map_err(io::Error::other)?;
    let l = setup.limits;
    let st = Rc::new(State {
        svc: RefCell::new(svc),
        budget: RefCell::new(HandshakeBudget::new(l.handshake_rate, l.handshake_burst, l.total_rate, l.total_burst)),
        limits: l,
        stats,
        epoch: Instant::now(),
        per_prefix: RefCell::new(HashMap::new()),
        open: Cell::new(0),
        rate: Cell::new((0, 0)),
        scratch: RefCell::new(vec![0; MAX_FRAME]),
    });
    local.block_on(&rt, async move {
        let mut endpoints = Vec::new();
        for s in sockets {
            let rt: Arc<dyn quinn::Runtime> = Arc::new(quinn::TokioRuntime);
            let ep = Endpoint::new(quinn::EndpointConfig::default(), Some(sc.clone()), s, rt)?;
            tokio::task::spawn_local(accept_loop(ep.clone(), Rc::clone(&st)));
            endpoints.push(ep);
        }
        while !stop.load(Ordering::Relaxed) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        for ep in &endpoints {
            ep.close(VarInt::from_u32(code::NO_ERROR), b"");
        }
        for ep in &endpoints {
            let _ = tokio::time::timeout(Duration::from_millis(500), ep.wait_idle()).await;
        }
        Ok(())
    })
}

/// Takes each Initial: Retry under load, the caps, the handshake budget,
/// then a connection task.
async fn accept_loop<S: TcpService>(ep: Endpoint, st: Rc<State<S>>) {
    while let Some(inc) = ep.accept().await {
        if let Some(inc) = admit(inc, &st) {
            let ip = inc.remote_address().ip();
            let key = prefix(ip);
            match inc.accept() {
                Ok(connecting) => {
                    add(&st.stats.accepted);
                    st.open.set(st.open.get() + 1);
                    st.stats.open.fetch_add(1, Ordering::Relaxed);
                    *st.per_prefix.borrow_mut().entry(key).or_insert(0) += 1;
                    let slot = Slot { st: Rc::clone(&st), key };
                    tokio::task::spawn_local(connection(connecting, slot));
                }
                Err(_) => add(&st.stats.handshake_failures),
            }
        }
    }
}

/// Decides about one Initial; `Some` goes on to the handshake.
fn admit<S>(inc: Incoming, st: &State<S>) -> Option<Incoming> {
    let ip = inc.remote_address().ip();
    // Address validation first: a spoofed source never gets further, so
    // the budgets below only count addresses that answered a Retry.
    if st.under_load() && !inc.remote_address_validated() && inc.may_retry() {
        match inc.retry() {
            Ok(()) => add(&st.stats.retries),
            Err(e) => e.into_incoming().ignore(),
        }
        return None;
    }
    let per = st.per_prefix.borrow().get(&prefix(ip)).copied().unwrap_or(0);
    if st.open.get() >= st.limits.max_connections || per >= st.limits.max_per_prefix {
        add(&st.stats.refused_cap);
        inc.refuse();
        return None;
    }
    match st.budget.borrow_mut().take(ip, st.now_ms()) {
        Admit::Yes => Some(inc),
        Admit::OverPrefix => {
            add(&st.stats.handshakes_refused);
            inc.refuse();
            None
        }
        Admit::OverTotal => {
            add(&st.stats.handshakes_shed);
            inc.refuse();
            None
        }
    }
}

/// One connection: the handshake, then a task per stream.
async fn connection<S: TcpService>(connecting: quinn::Connecting, slot: Slot<S>) {
    let st = Rc::clone(&slot.st);
    let conn = match tokio::time::timeout(st.limits.handshake_timeout, connecting).await {
        Ok(Ok(c)) => c,
        _ => {
            add(&st.stats.handshake_failures);
            return;
        }
    };
    add(&st.stats.handshakes);
    let client = conn.remote_address();
    loop {
        match conn.accept_bi().await {
            Ok((send, recv)) => {
                add(&st.stats.streams);
                tokio::task::spawn_local(stream(send, recv, conn.clone(), client, Rc::clone(&st)));
            }
            // Closed by the peer, timed out, or closed by a stream's
            // protocol error.
            Err(_) => break,
        }
    }
    drop(slot);
}

/// Why a query could not be read.
enum Bad {
    /// A protocol error: close the connection.
    Protocol,
    /// The stream or connection went away.
    Gone,
}

/// Reads the length-prefixed query of a stream.
async fn read_query(recv: &mut RecvStream) -> Result<Vec<u8>, Bad> {
    let mut len = [0u8; 2];
    match recv.read_exact(&mut len).await {
        Ok(()) => {}
        Err(quinn::ReadExactError::FinishedEarly(_)) => return Err(Bad::Protocol),
        Err(_) => return Err(Bad::Gone),
    }
    // The buffer grows with the octets that arrived (which flow control
    // bounds), not with the length announced.
    let n = usize::from(u16::from_be_bytes(len));
    let mut q = Vec::with_capacity(n.min(512));
    while q.len() < n {
        match recv.read_chunk(n - q.len(), true).await {
            Ok(Some(c)) => q.extend_from_slice(&c.bytes),
            Ok(None) => return Err(Bad::Protocol),
            Err(_) => return Err(Bad::Gone),
        }
    }
    Ok(q)
}

fn protocol_error<S>(conn: &Connection, st: &State<S>) {
    add(&st.stats.protocol_errors);
    conn.close(VarInt::from_u32(code::PROTOCOL_ERROR), b"");
}

/// One stream: read the query, answer it (or stream a transfer), finish.
async fn stream<S: TcpService>(
    mut send: SendStream,
    mut recv: RecvStream,
    conn: Connection,
    client: SocketAddr,
    st: Rc<State<S>>,
) {
    let q = match tokio::time::timeout(st.limits.message_timeout, read_query(&mut recv)).await {
        Ok(Ok(q)) => q,
        Ok(Err(Bad::Protocol)) => return protocol_error(&conn, &st),
        Ok(Err(Bad::Gone)) => return,
        Err(_) => {
            add(&st.stats.stream_timeouts);
            let _ = recv.stop(VarInt::from_u32(code::REQUEST_CANCELLED));
            let _ = send.reset(VarInt::from_u32(code::REQUEST_CANCELLED));
            return;
        }
    };
    // RFC 9250 §4.2.1: the Message ID of a query over DoQ is 0.
    if q.len() < 12 || q[0] != 0 || q[1] != 0 {
        return protocol_error(&conn, &st);
    }
    let alpn = conn
        .handshake_data()
        .and_then(|h| h.downcast::<quinn::crypto::rustls::HandshakeData>().ok())
        .and_then(|h| h.protocol);
    let certs = conn.peer_identity().and_then(|p| p.downcast::<Vec<rustls::pki_types::CertificateDer<'static>>>().ok());
    let peer =
        TlsPeer { alpn: alpn.as_deref(), certificate: certs.as_ref().and_then(|c| c.first()).map(|c| c.as_ref()) };
    let first = answer(&st, |svc, out| svc.handle_tls(&q, client, &peer, out));
    let mut transfer = match first {
        First::Reply(msg) => {
            if send.write_all(&msg).await.is_err() {
                return;
            }
            None
        }
        First::Close => return protocol_error(&conn, &st),
        First::Stream(s) => Some(s),
    };
    add(&st.stats.queries);
    st.budget.borrow_mut().mark_known(client.ip(), st.now_ms());
    if let Some(t) = &mut transfer {
        // Each message of the transfer, as the peer reads them; the
        // service is borrowed for one message at a time.
        while let Some(msg) = next(&st, t) {
            if send.write_all(&msg).await.is_err() {
                return;
            }
        }
    }
    let _ = send.finish();
}

/// What a stream's query came to.
enum First<T> {
    /// The response, framed.
    Reply(Vec<u8>),
    /// No answer: a protocol error.
    Close,
    /// A transfer's messages follow.
    Stream(T),
}

/// Answers into the scratch buffer; a reply comes back as its octets with
/// the length prefix.
fn answer<S: TcpService>(st: &State<S>, f: impl FnOnce(&mut S, &mut [u8]) -> TcpAnswer<S::Stream>) -> First<S::Stream> {
    let mut scratch = st.scratch.borrow_mut();
    let mut svc = st.svc.borrow_mut();
    match f(&mut svc, &mut scratch[2..]) {
        TcpAnswer::Reply(n) => First::Reply(framed(&mut scratch, n)),
        TcpAnswer::Close => First::Close,
        TcpAnswer::Stream(s) => First::Stream(s),
    }
}

/// The next message of a transfer, framed.
fn next<S: TcpService>(st: &State<S>, t: &mut S::Stream) -> Option<Vec<u8>> {
    let mut scratch = st.scratch.borrow_mut();
    let n = st.svc.borrow_mut().next(t, &mut scratch[2..])?;
    Some(framed(&mut scratch, n))
}

fn framed(scratch: &mut [u8], n: usize) -> Vec<u8> {
    let n = n.min(MAX_FRAME - 2);
    scratch[..2].copy_from_slice(&(n as u16).to_be_bytes());
    scratch[..n + 2].to_vec()
}
