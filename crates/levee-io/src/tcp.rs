//! The TCP server (RFC 7766): length-prefixed messages, several queries per
//! connection answered in order, zone transfers streamed, idle connections
//! closed.
//!
//! TCP runs on its own Tokio runtime, never on the UDP workers' threads.
//!
//! ## Under a connection flood
//!
//! A TCP flood holds connections open doing nothing (idle) or sending a
//! query one octet at a time (slowloris), to fill every slot so a real
//! resolver, often sent to TCP by a rate limiter's TC=1, cannot get in.
//! Refusing new connections at the cap is exactly what such a flood wants,
//! so this server never refuses: every connection is in a table with the
//! time it last made progress, and when the table is full (or one source
//! has too many) the **stalest** connection is closed to make room.
//! Connections busy answering are spared. A newly accepted resolver
//! connection sends its query at once and is never the stalest.
//!
//! * idle timeout between messages; a message timeout from its first
//!   octet to its last (slowloris); a write timeout;
//! * a global and a per-source cap, both enforced by eviction;
//! * no buffer per idle connection: the 64 KiB response buffer comes from
//!   a small pool only while a response is being written, and the query
//!   buffer grows to the largest query seen.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};

/// What the service answers to one TCP message.
pub enum TcpAnswer<S> {
    /// Send the first `n` octets of the buffer.
    Reply(usize),
    /// Send nothing and close the connection.
    Close,
    /// Stream several messages (a zone transfer).
    Stream(S),
}

/// The answering side of the TCP server.
pub trait TcpService: Send + Sync + 'static {
    /// State of a multi-message answer.
    type Stream: Send + 'static;
    /// Answers one query into `out` (65535 octets).
    fn handle(&self, query: &[u8], client: SocketAddr, out: &mut [u8]) -> TcpAnswer<Self::Stream>;
    /// The next message of a stream, or `None` at its end.
    fn next(&self, stream: &mut Self::Stream, out: &mut [u8]) -> Option<usize>;
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
}

impl Default for TcpLimits {
    fn default() -> Self {
        TcpLimits {
            idle_timeout: Duration::from_secs(10),
            message_timeout: Duration::from_secs(2),
            write_timeout: Duration::from_secs(10),
            max_connections: 4096,
            max_per_source: 64,
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
}

const IDLE: u8 = 0;
const READING: u8 = 1;
const BUSY: u8 = 2;

/// What the table knows of one connection; shared with its task.
struct ConnState {
    /// Milliseconds (since the server's epoch) of the last progress.
    since: AtomicU64,
    phase: AtomicU8,
    evicted: AtomicBool,
    wake: Notify,
}

struct Entry {
    peer: IpAddr,
    state: Arc<ConnState>,
}

/// All open connections, for the caps and eviction. Touched on accept and
/// close only (a mutex: TCP setup already costs far more).
struct Table {
    conns: HashMap<u64, Entry>,
    per_source: HashMap<IpAddr, usize>,
    next_id: u64,
}

impl Table {
    /// The stalest non-busy connection (`of`: from that address only), or
    /// the stalest busy one if every candidate is busy.
    fn stalest(&self, of: Option<IpAddr>) -> Option<u64> {
        let mut best: Option<(bool, u64, u64)> = None;
        for (&id, e) in &self.conns {
            if of.is_some_and(|a| a != e.peer) || e.state.evicted.load(Ordering::Relaxed) {
                continue;
            }
            let busy = e.state.phase.load(Ordering::Relaxed) == BUSY;
            let since = e.state.since.load(Ordering::Relaxed);
            // Not busy beats busy; then the oldest progress.
            let key = (!busy, u64::MAX - since, id);
            if best.is_none_or(|b| key > b) {
                best = Some(key);
            }
        }
        best.map(|b| b.2)
    }

    fn evict(&mut self, id: u64) {
        if let Some(e) = self.conns.get(&id) {
            e.state.evicted.store(true, Ordering::Relaxed);
            e.state.wake.notify_one();
        }
    }
}

/// Octets the response pool keeps at most (buffers beyond are freed).
const POOL_KEEP: usize = 64;

/// Response buffers (2 + 65535 octets) lent to connections while they
/// write a response.
struct Pool(Mutex<Vec<Box<[u8]>>>);

impl Pool {
    fn take(&self) -> Box<[u8]> {
        self.0.lock().map(|mut v| v.pop()).ok().flatten().unwrap_or_else(|| vec![0u8; 2 + 65535].into_boxed_slice())
    }

    fn put(&self, b: Box<[u8]>) {
        if let Ok(mut v) = self.0.lock() {
            if v.len() < POOL_KEEP {
                v.push(b);
            }
        }
    }
}

/// State shared by the accept loop and every connection.
struct Shared {
    table: Mutex<Table>,
    pool: Pool,
    stats: Arc<TcpStats>,
    epoch: Instant,
}

impl Shared {
    fn now(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }
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

/// Accepts and serves connections until `stop` turns true.
pub async fn serve<S: TcpService>(
    listener: std::net::TcpListener,
    svc: Arc<S>,
    limits: TcpLimits,
    stats: Arc<TcpStats>,
    mut stop: watch::Receiver<bool>,
) {
    let listener = match TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!("TCP listener: {e}");
            return;
        }
    };
    let shared = Arc::new(Shared {
        table: Mutex::new(Table { conns: HashMap::new(), per_source: HashMap::new(), next_id: 0 }),
        pool: Pool(Mutex::new(Vec::new())),
        stats,
        epoch: Instant::now(),
    });
    loop {
        tokio::select! {
            _ = stop.changed() => {
                if *stop.borrow() { return; }
            }
            r = listener.accept() => {
                let Ok((sock, peer)) = r else { continue };
                let Some((id, state)) = admit(&shared, peer.ip(), &limits) else { continue };
                let svc = Arc::clone(&svc);
                let shared = Arc::clone(&shared);
                tokio::spawn(async move {
                    let r = connection(sock, peer, svc, limits, &shared, &state).await;
                    match r {
                        Err(End::Idle) => bump(&shared.stats.idle_timeouts),
                        Err(End::Slow) => bump(&shared.stats.io_timeouts),
                        _ => {}
                    }
                    close(&shared, id, peer.ip());
                });
            }
        }
    }
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// Registers a new connection, evicting the stalest ones over the caps.
fn admit(shared: &Shared, peer: IpAddr, limits: &TcpLimits) -> Option<(u64, Arc<ConnState>)> {
    let now = shared.now();
    let mut t = shared.table.lock().ok()?;
    let from_peer = t.per_source.get(&peer).copied().unwrap_or(0);
    if from_peer >= limits.max_per_source {
        if let Some(victim) = t.stalest(Some(peer)) {
            t.evict(victim);
            bump(&shared.stats.evicted_per_source);
        }
    }
    // Evicted connections leave the table when their task ends; count
    // only the live ones against the cap.
    let live = t.conns.values().filter(|e| !e.state.evicted.load(Ordering::Relaxed)).count();
    if live >= limits.max_connections {
        if let Some(victim) = t.stalest(None) {
            t.evict(victim);
            bump(&shared.stats.evicted);
        }
    }
    let id = t.next_id;
    t.next_id += 1;
    let state = Arc::new(ConnState {
        since: AtomicU64::new(now),
        phase: AtomicU8::new(IDLE),
        evicted: AtomicBool::new(false),
        wake: Notify::new(),
    });
    t.conns.insert(id, Entry { peer, state: Arc::clone(&state) });
    *t.per_source.entry(peer).or_insert(0) += 1;
    drop(t);
    bump(&shared.stats.accepted);
    shared.stats.open.fetch_add(1, Ordering::Relaxed);
    Some((id, state))
}

fn close(shared: &Shared, id: u64, peer: IpAddr) {
    if let Ok(mut t) = shared.table.lock() {
        t.conns.remove(&id);
        if let Some(n) = t.per_source.get_mut(&peer) {
            *n -= 1;
            if *n == 0 {
                t.per_source.remove(&peer);
            }
        }
    }
    shared.stats.open.fetch_sub(1, Ordering::Relaxed);
}

/// Why a connection ended early.
enum End {
    Idle,
    Slow,
    Evicted,
    Closed,
    Io,
}

impl From<io::Error> for End {
    fn from(_: io::Error) -> Self {
        End::Io
    }
}

/// Runs `f` unless the connection is evicted or `limit` passes first.
async fn guarded<T>(
    state: &ConnState,
    limit: Duration,
    on_timeout: End,
    f: impl std::future::Future<Output = io::Result<T>>,
) -> Result<T, End> {
    if state.evicted.load(Ordering::Relaxed) {
        return Err(End::Evicted);
    }
    tokio::select! {
        _ = state.wake.notified() => Err(End::Evicted),
        r = tokio::time::timeout(limit, f) => match r {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) if e.kind() == io::ErrorKind::UnexpectedEof => Err(End::Closed),
            Ok(Err(e)) => Err(e.into()),
            Err(_) => Err(on_timeout),
        },
    }
}

async fn connection<S: TcpService>(
    mut sock: TcpStream,
    peer: SocketAddr,
    svc: Arc<S>,
    limits: TcpLimits,
    shared: &Shared,
    state: &ConnState,
) -> Result<(), End> {
    let _ = sock.set_nodelay(true);
    let mut query: Vec<u8> = Vec::new();
    loop {
        state.phase.store(IDLE, Ordering::Relaxed);
        let first = guarded(state, limits.idle_timeout, End::Idle, sock.read_u8()).await?;
        state.since.store(shared.now(), Ordering::Relaxed);
        state.phase.store(READING, Ordering::Relaxed);
        let n = guarded(state, limits.message_timeout, End::Slow, async {
            let second = sock.read_u8().await?;
            let n = u16::from_be_bytes([first, second]) as usize;
            if query.len() < n {
                query.resize(n, 0);
            }
            sock.read_exact(&mut query[..n]).await?;
            Ok(n)
        })
        .await?;
        state.phase.store(BUSY, Ordering::Relaxed);
        bump(&shared.stats.queries);
        let mut out = shared.pool.take();
        let r = answer(&mut sock, &*svc, &query[..n], peer, &mut out, &limits, state).await;
        shared.pool.put(out);
        r?;
        state.since.store(shared.now(), Ordering::Relaxed);
    }
}

async fn answer<S: TcpService>(
    sock: &mut TcpStream,
    svc: &S,
    query: &[u8],
    peer: SocketAddr,
    out: &mut [u8],
    limits: &TcpLimits,
    state: &ConnState,
) -> Result<(), End> {
    match svc.handle(query, peer, &mut out[2..]) {
        TcpAnswer::Reply(r) => send(sock, out, r, limits, state).await,
        TcpAnswer::Close => Err(End::Closed),
        TcpAnswer::Stream(mut st) => {
            while let Some(r) = svc.next(&mut st, &mut out[2..]) {
                send(sock, out, r, limits, state).await?;
            }
            Ok(())
        }
    }
}

async fn send(sock: &mut TcpStream, out: &mut [u8], n: usize, limits: &TcpLimits, state: &ConnState) -> Result<(), End> {
    out[..2].copy_from_slice(&(n as u16).to_be_bytes());
    guarded(state, limits.write_timeout, End::Slow, sock.write_all(&out[..2 + n])).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers every query with its own bytes reversed.
    struct Rev;
    impl TcpService for Rev {
        type Stream = ();
        fn handle(&self, q: &[u8], _c: SocketAddr, out: &mut [u8]) -> TcpAnswer<()> {
            for (i, b) in q.iter().rev().enumerate() {
                out[i] = *b;
            }
            TcpAnswer::Reply(q.len())
        }
        fn next(&self, _s: &mut (), _out: &mut [u8]) -> Option<usize> {
            None
        }
    }

    async fn ask(s: &mut TcpStream, q: &[u8]) -> io::Result<Vec<u8>> {
        s.write_all(&(q.len() as u16).to_be_bytes()).await?;
        s.write_all(q).await?;
        let n = s.read_u16().await? as usize;
        let mut r = vec![0; n];
        s.read_exact(&mut r).await?;
        Ok(r)
    }

    /// Reads until the server closes the connection (or 5 s pass).
    async fn closed(s: &mut TcpStream) -> bool {
        let mut b = [0u8; 1];
        matches!(tokio::time::timeout(Duration::from_secs(5), s.read(&mut b)).await, Ok(Ok(0)) | Ok(Err(_)))
    }

    async fn start(limits: TcpLimits) -> (SocketAddr, Arc<TcpStats>, watch::Sender<bool>) {
        let l = bind_tcp("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = l.local_addr().unwrap();
        let stats = Arc::new(TcpStats::default());
        let (tx, rx) = watch::channel(false);
        tokio::spawn(serve(l, Arc::new(Rev), limits, Arc::clone(&stats), rx));
        (addr, stats, tx)
    }

    #[tokio::test]
    async fn full_table_evicts_the_stalest_not_the_newcomer() {
        let limits = TcpLimits { max_connections: 4, ..TcpLimits::default() };
        let (addr, stats, _stop) = start(limits).await;
        // Four idle connections fill the table; one of them started a
        // message and stalled (slowloris) a little later.
        let mut idle = Vec::new();
        for _ in 0..4 {
            idle.push(TcpStream::connect(addr).await.unwrap());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        idle[1].write_all(&[0]).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        // A resolver arrives: it is served, and the stalest idle one (the
        // first, idle since it connected) is closed to make room.
        let mut r = TcpStream::connect(addr).await.unwrap();
        assert_eq!(ask(&mut r, b"abc").await.unwrap(), b"cba");
        assert!(closed(&mut idle[0]).await, "stalest connection not evicted");
        assert_eq!(stats.evicted.load(Ordering::Relaxed), 1);
        // The next newcomer evicts the next stalest (idle[2]: idle[1]'s
        // stalled message counts as progress at the time it started).
        let mut r2 = TcpStream::connect(addr).await.unwrap();
        assert_eq!(ask(&mut r2, b"xy").await.unwrap(), b"yx");
        assert!(closed(&mut idle[2]).await);
        // Pipelined queries on one connection are answered in order.
        assert_eq!(ask(&mut r, b"12").await.unwrap(), b"21");
    }

    #[tokio::test]
    async fn per_source_cap_and_slowloris_timeout() {
        let limits = TcpLimits {
            max_per_source: 2,
            message_timeout: Duration::from_millis(300),
            ..TcpLimits::default()
        };
        let (addr, stats, _stop) = start(limits).await;
        let mut a = TcpStream::connect(addr).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        let _b = TcpStream::connect(addr).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        let mut c = TcpStream::connect(addr).await.unwrap();
        assert_eq!(ask(&mut c, b"q").await.unwrap(), b"q");
        assert!(closed(&mut a).await, "per-source cap did not evict the oldest");
        assert_eq!(stats.evicted_per_source.load(Ordering::Relaxed), 1);
        // One octet of a length, then nothing: closed after the message timeout.
        let t = Instant::now();
        c.write_all(&[0]).await.unwrap();
        assert!(closed(&mut c).await);
        let waited = t.elapsed();
        assert!(waited >= Duration::from_millis(250) && waited < Duration::from_secs(3), "{waited:?}");
        assert_eq!(stats.io_timeouts.load(Ordering::Relaxed), 1);
    }
}
