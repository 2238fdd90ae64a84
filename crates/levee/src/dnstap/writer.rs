//! The writer thread: drains the answering threads' queues, encodes the
//! captures as dnstap and writes them to the collector over a
//! bidirectional Frame Streams connection, reconnecting with a backoff
//! (the module documentation of `dnstap` tells the whole path).
//!
//! Every blocking call has a bound: connecting (1 s over TCP), the
//! handshake's reads (2 s), each write (200 ms, then the stop flag is
//! looked at and the write goes on), the FINISH awaited at shutdown
//! (1 s). So a stalled collector holds this thread only, and shutdown
//! takes at most about a second.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use levee_config::{Collector, DnstapConfig};
use levee_dnstap::fstrm::{self, Frame};
use levee_dnstap::{encode, Kind, Message, CONTENT_TYPE};

use super::record::{Capture, Records};
use super::Shared;

/// Sleep between drains when nothing was waiting, or too little to be
/// worth a write of its own ([`COALESCE`]).
const IDLE: Duration = Duration::from_millis(5);
/// A drain that found less than this many octets of captures is followed
/// by a nap: under a steady load the queues are then emptied every few
/// milliseconds in writes of tens of KiB, instead of one small write (and
/// one wake-up of the collector) per handful of queries. A queue
/// (`queue-kib`, 1 MiB by default) holds several naps' worth at any
/// rate a core answers.
const COALESCE: usize = 32 << 10;
/// The first wait before reconnecting; doubled after each failure.
const BACKOFF_MIN: Duration = Duration::from_millis(100);
/// The longest wait before reconnecting.
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// A write that makes no progress this long looks at the stop flag.
const WRITE_SLICE: Duration = Duration::from_millis(200);
/// Reading a control frame of the handshake.
const HANDSHAKE: Duration = Duration::from_secs(2);

/// A connection to the collector.
enum Conn {
    Unix(UnixStream),
    Tcp(TcpStream),
}

impl Read for Conn {
    fn read(&mut self, b: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Unix(s) => s.read(b),
            Conn::Tcp(s) => s.read(b),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Unix(s) => s.write(b),
            Conn::Tcp(s) => s.write(b),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Conn {
    /// Connects and runs the handshake: READY, ACCEPT, START.
    fn open(to: &Collector) -> io::Result<Conn> {
        let mut c = match to {
            Collector::Unix(p) => {
                let s = UnixStream::connect(p)?;
                s.set_read_timeout(Some(HANDSHAKE))?;
                s.set_write_timeout(Some(WRITE_SLICE))?;
                Conn::Unix(s)
            }
            Collector::Tcp(a) => {
                let s = TcpStream::connect_timeout(a, Duration::from_secs(1))?;
                s.set_read_timeout(Some(HANDSHAKE))?;
                s.set_write_timeout(Some(WRITE_SLICE))?;
                let _ = s.set_nodelay(true);
                Conn::Tcp(s)
            }
        };
        let mut b = Vec::new();
        fstrm::control(fstrm::READY, Some(CONTENT_TYPE), &mut b);
        c.write_all(&b)?;
        let (kind, types) = c.read_control()?;
        if kind != fstrm::ACCEPT {
            return Err(io::Error::other(format!("expected ACCEPT, got control frame type {kind}")));
        }
        if !types.is_empty() && !types.iter().any(|t| t == CONTENT_TYPE) {
            return Err(io::Error::other("the collector does not accept protobuf:dnstap.Dnstap"));
        }
        b.clear();
        fstrm::control(fstrm::START, Some(CONTENT_TYPE), &mut b);
        c.write_all(&b)?;
        Ok(c)
    }

    /// Reads one control frame (at most 520 octets): its type and content types.
    fn read_control(&mut self) -> io::Result<(u32, Vec<Vec<u8>>)> {
        let mut b = Vec::with_capacity(64);
        let mut chunk = [0u8; 128];
        loop {
            match fstrm::next_frame(&b, 0) {
                Ok(Some((Frame::Control { kind, content_types }, _))) => {
                    return Ok((kind, content_types.iter().map(|t| t.to_vec()).collect()));
                }
                Ok(Some((Frame::Data(_), _))) => return Err(io::Error::other("data frame from the collector")),
                Ok(None) => {}
                Err(e) => return Err(io::Error::other(e.to_string())),
            }
            let n = self.read(&mut chunk)?;
            if n == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            b.extend_from_slice(&chunk[..n]);
        }
    }

    /// Writes all of `b`, a slice of time at a time, giving up when
    /// `stop` is set (the frame is then cut: the connection is dropped).
    fn write_until(&mut self, b: &[u8], stop: &AtomicBool) -> io::Result<()> {
        let mut at = 0;
        while at < b.len() {
            match self.write(&b[at..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => at += n,
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                    if stop.load(Ordering::Relaxed) {
                        return Err(e);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// STOP, then FINISH awaited for a second.
    fn close(mut self) {
        let mut b = Vec::new();
        fstrm::control(fstrm::STOP, None, &mut b);
        if self.write_all(&b).is_ok() {
            let t = Some(Duration::from_secs(1));
            let _ = match &self {
                Conn::Unix(s) => s.set_read_timeout(t),
                Conn::Tcp(s) => s.set_read_timeout(t),
            };
            let _ = self.read_control();
        }
    }
}

/// Appends the dnstap frames of every record of `buf` to `out`; returns
/// the number of messages.
pub fn encode_all(buf: &[u8], identity: &[u8], version: &[u8], out: &mut Vec<u8>) -> u64 {
    let mut n = 0;
    for c in Records(buf) {
        for (kind, present) in [(Kind::AuthQuery, c.query.is_some()), (Kind::AuthResponse, c.response.is_some())] {
            if present {
                frame(&c, kind, identity, version, out);
                n += 1;
            }
        }
    }
    n
}

/// One data frame: the `Dnstap` of one message of a capture. The query
/// message carries the query; the response message the response, with
/// the query time (the exchange's one clock read) as both its query and
/// response time.
fn frame(c: &Capture, kind: Kind, identity: &[u8], version: &[u8], out: &mut Vec<u8>) {
    let m = Message {
        kind,
        protocol: c.protocol,
        client: c.client,
        server: c.server,
        query_time: Some(c.time),
        response_time: (kind == Kind::AuthResponse).then_some(c.time),
        query: if kind == Kind::AuthQuery { c.query } else { None },
        response: if kind == Kind::AuthResponse { c.response } else { None },
    };
    let at = out.len();
    out.extend_from_slice(&[0; 4]);
    encode(identity, version, &m, out);
    let len = out.len() - at - 4;
    out[at..at + 4].copy_from_slice(&fstrm::data_header(len));
}

/// Starts the writer thread.
pub fn start(shared: Arc<Shared>, cfg: DnstapConfig, stop: Arc<AtomicBool>) -> io::Result<JoinHandle<()>> {
    std::thread::Builder::new().name("dnstap".into()).spawn(move || run(&shared, &cfg, &stop))
}

/// The connection, and when to try again without one.
struct Link {
    conn: Option<Conn>,
    next_try: Instant,
    backoff: Duration,
    /// A failure was logged since the last success (one warning each time
    /// the collector goes away, not one per attempt).
    warned: bool,
}

impl Link {
    fn ensure(&mut self, to: &Collector, shared: &Shared) {
        if self.conn.is_some() || Instant::now() < self.next_try {
            return;
        }
        match Conn::open(to) {
            Ok(c) => {
                tracing::info!(collector = %show(to), "dnstap: connected to the collector");
                self.conn = Some(c);
                self.backoff = BACKOFF_MIN;
                self.warned = false;
                shared.connected.store(true, Ordering::Relaxed);
            }
            Err(e) => self.failed(to, &e, shared),
        }
    }

    fn failed(&mut self, to: &Collector, e: &io::Error, shared: &Shared) {
        if !self.warned {
            tracing::warn!(collector = %show(to), "dnstap: no collector ({e}); captures are dropped until it is back");
            self.warned = true;
        }
        self.conn = None;
        shared.connected.store(false, Ordering::Relaxed);
        self.next_try = Instant::now() + self.backoff;
        self.backoff = (self.backoff * 2).min(BACKOFF_MAX);
    }
}

fn show(c: &Collector) -> String {
    match c {
        Collector::Unix(p) => p.display().to_string(),
        Collector::Tcp(a) => a.to_string(),
    }
}

/// The loop: connect if need be, drain every queue, write, nap when idle;
/// at stop, one last drain, then STOP.
fn run(shared: &Shared, cfg: &DnstapConfig, stop: &AtomicBool) {
    let Some(to) = cfg.collector.clone() else { return };
    let cap = cfg.queue_kib as usize * 1024;
    let mut spare = Vec::with_capacity(cap);
    let mut out = Vec::with_capacity(cap + cap / 2);
    let mut link = Link { conn: None, next_try: Instant::now(), backoff: BACKOFF_MIN, warned: false };
    loop {
        let stopping = stop.load(Ordering::Relaxed);
        if !stopping {
            link.ensure(&to, shared);
        }
        let mut taken = 0;
        for q in &shared.queues {
            q.take(&mut spare);
            if spare.is_empty() {
                continue;
            }
            taken += spare.len();
            out.clear();
            let n = encode_all(&spare, cfg.identity.as_bytes(), cfg.version.as_bytes(), &mut out);
            spare.clear();
            let Some(conn) = &mut link.conn else {
                super::bump(&shared.no_collector, n);
                continue;
            };
            match conn.write_until(&out, stop) {
                Ok(()) => super::bump(&shared.sent, n),
                Err(e) => {
                    super::bump(&shared.write_failed, n);
                    link.failed(&to, &e, shared);
                }
            }
        }
        if stopping {
            if let Some(c) = link.conn.take() {
                c.close();
            }
            shared.connected.store(false, Ordering::Relaxed);
            return;
        }
        if taken < COALESCE {
            std::thread::sleep(IDLE);
        }
    }
}
