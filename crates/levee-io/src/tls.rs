//! DNS over TLS (RFC 7858) as a layer of the TCP server's event loop.
//!
//! A DoT listener runs the same event loop as TCP ([`crate::tcp::run_tls`]):
//! the same fixed connection table, caps that evict the stalest
//! connection, idle, message and write timeouts and buffer budget. Each
//! connection's socket is wrapped in a `rustls::ServerConnection`, and the
//! loop reads and writes DNS messages through the helpers of this module
//! ([`read`], [`write`], [`push`]) instead of the socket's `Read` and
//! `Write`. What TLS adds:
//!
//! * a **handshake phase** before the first message, with its own timeout
//!   ([`TlsSetup::handshake_timeout`]): a connection that never finishes
//!   its handshake is closed then (and counted as a failed handshake);
//! * a **handshake budget per source prefix** ([`HandshakeBudget`]): a
//!   handshake costs the server far more than a TCP accept (a signature
//!   and a key exchange), so each /24 (IPv4) or /56 (IPv6) gets a token
//!   bucket of handshakes; a connection over it is closed as soon as it is
//!   accepted, before any TLS work (`TcpStats::handshakes_refused`). A
//!   total for all prefixes together bounds a flood from many prefixes;
//!   past it only *known* prefixes (a query was answered on one of their
//!   connections in the last hour) get handshakes
//!   (`TcpStats::handshakes_shed` counts the others). The
//!   buckets are a fixed table indexed by two keyed hashes of the prefix
//!   (a count-min sketch: a prefix is judged by the less loaded of its
//!   two buckets, which every handshake of it loads, so it never gets
//!   more than its own budget), so the table cannot grow and a flood from
//!   one prefix only starves another prefix by a collision in both
//!   hashes;
//! * **bounded TLS buffers**: rustls holds at most [`SEND_LIMIT`] octets
//!   of records not yet written; the rest of a response waits, as
//!   plaintext, in the connection's output buffer, which the budget
//!   counts. The TLS state itself (keys, record buffers) is charged to the
//!   budget as a fixed estimate per connection ([`STATE_ESTIMATE`]).
//!
//! The certificate, ALPN, protocol versions and session resumption are the
//! caller's `rustls::ServerConfig` (the daemon's `serve::tls`); this
//! module only moves octets.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::io::{self, Read, Write};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::ServerConnection;

/// Most octets of TLS records rustls keeps waiting for the socket.
pub const SEND_LIMIT: usize = 20 * 1024;
/// What one TLS connection's state is charged to the buffer budget:
/// keys, the record deframer (up to a full 16 KiB record) and the
/// records waiting to be written, estimated.
pub const STATE_ESTIMATE: usize = 16 * 1024;

/// How a DoT listener runs: the TLS configuration and its defences.
#[derive(Clone)]
pub struct TlsSetup {
    /// Certificate resolver, ALPN, versions, resumption.
    pub config: Arc<rustls::ServerConfig>,
    /// Close a connection that has not finished its handshake this long
    /// after it was accepted.
    pub handshake_timeout: Duration,
    /// Handshakes per second per source prefix.
    pub handshake_rate: u32,
    /// Handshakes at once per source prefix.
    pub handshake_burst: u32,
    /// Handshakes per second from all prefixes not known together.
    pub total_rate: u32,
    /// Handshakes at once from all prefixes not known together.
    pub total_burst: u32,
}

/// Buckets in the handshake budget's table.
const BUCKETS: usize = 4096;
/// Slots of the table of known prefixes.
const KNOWN: usize = 16384;
/// How long a prefix stays known after a query was answered on one of
/// its connections (milliseconds).
const KNOWN_FOR_MS: u64 = 3_600_000;

/// What the handshake budget says about a new connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admit {
    /// Go on with the handshake.
    Yes,
    /// Its prefix is over its own budget.
    OverPrefix,
    /// All prefixes together are over the total, and this one is not known.
    OverTotal,
}
/// IPv4 prefix length of a handshake budget's source.
pub const V4_PREFIX: u8 = 24;
/// IPv6 prefix length of a handshake budget's source.
pub const V6_PREFIX: u8 = 56;

/// Token buckets of handshakes: one per source prefix, in a fixed table,
/// and one for all prefixes together that known prefixes bypass.
///
/// Each bucket holds the time (milliseconds of the server's clock, scaled
/// by 1024) at which it will be full again; a handshake moves that time
/// forward by one token's worth, and is refused if that would put it more
/// than the burst ahead of now (a "virtual scheduling" bucket: one `u64`
/// each).
///
/// A prefix becomes *known* when a query is answered on one of its
/// connections ([`HandshakeBudget::mark_known`]) and stays so for an
/// hour: when handshakes from many prefixes together pass the total (a
/// flood from many sources), known prefixes still get theirs (within
/// their own budget) and the others wait. The known table is a fixed
/// array of times indexed by a keyed hash (a collision can only make an
/// unknown prefix look known).
pub struct HandshakeBudget {
    full_at: Box<[u64]>,
    hasher: RandomState,
    /// Per prefix: a token's time and the burst, in the scaled unit.
    per_token: u64,
    depth: u64,
    /// All prefixes together.
    total_full_at: u64,
    total_per_token: u64,
    total_depth: u64,
    /// Milliseconds (plus one; 0: never) a prefix was last proven.
    known: Box<[u64]>,
}

/// A bucket's token time and depth for `rate` a second, `burst` at once.
fn bucket(rate: u32, burst: u32) -> (u64, u64) {
    let per_token = if rate == 0 { u64::MAX / 4 } else { 1_024_000 / u64::from(rate) };
    (per_token, per_token.saturating_mul(u64::from(burst.max(1))))
}

impl HandshakeBudget {
    /// `rate` handshakes a second with a burst of `burst` per prefix, and
    /// `total_rate`/`total_burst` for the prefixes not known together.
    pub fn new(rate: u32, burst: u32, total_rate: u32, total_burst: u32) -> HandshakeBudget {
        let (per_token, depth) = bucket(rate, burst);
        let (total_per_token, total_depth) = bucket(total_rate, total_burst);
        HandshakeBudget {
            full_at: vec![0; BUCKETS].into_boxed_slice(),
            hasher: RandomState::new(),
            per_token,
            depth,
            total_full_at: 0,
            total_per_token,
            total_depth,
            known: vec![0; KNOWN].into_boxed_slice(),
        }
    }

    /// Takes a handshake for `ip`'s prefix at `now_ms`; nothing is taken
    /// when it is refused.
    pub fn take(&mut self, ip: IpAddr, now_ms: u64) -> Admit {
        let h = self.hasher.hash_one(prefix(ip));
        let (a, b) = ((h as usize) % BUCKETS, ((h >> 32) as usize) % BUCKETS);
        let now = now_ms.saturating_mul(1024);
        let next = |t: u64, per: u64| t.max(now).saturating_add(per);
        let (na, nb) = (next(self.full_at[a], self.per_token), next(self.full_at[b], self.per_token));
        // Count-min: the less loaded of the two buckets is the prefix's.
        if na.min(nb) > now.saturating_add(self.depth) {
            return Admit::OverPrefix;
        }
        let nt = next(self.total_full_at, self.total_per_token);
        if nt <= now.saturating_add(self.total_depth) {
            self.total_full_at = nt;
        } else if !self.is_known(h, now_ms) {
            return Admit::OverTotal;
        }
        self.full_at[a] = na;
        self.full_at[b] = nb;
        Admit::Yes
    }

    /// A query was answered on a connection from `ip`: its prefix is
    /// known from now on (for an hour).
    pub fn mark_known(&mut self, ip: IpAddr, now_ms: u64) {
        let h = self.hasher.hash_one(prefix(ip));
        self.known[((h >> 16) as usize) % KNOWN] = now_ms + 1;
    }

    fn is_known(&self, h: u64, now_ms: u64) -> bool {
        let t = self.known[((h >> 16) as usize) % KNOWN];
        t != 0 && now_ms + 1 - t.min(now_ms + 1) < KNOWN_FOR_MS
    }
}

/// The budget's key: the address cut to its prefix, IPv4 and IPv6 apart.
fn prefix(ip: IpAddr) -> (u8, u128) {
    match ip {
        IpAddr::V4(a) => (4, u128::from(u32::from(a) >> (32 - V4_PREFIX))),
        IpAddr::V6(a) => (6, u128::from(a) >> (128 - V6_PREFIX)),
    }
}

/// A new server-side TLS connection with its buffer limit.
pub fn accept(setup: &TlsSetup) -> Result<Box<ServerConnection>, rustls::Error> {
    let mut c = Box::new(ServerConnection::new(Arc::clone(&setup.config))?);
    c.set_buffer_limit(Some(SEND_LIMIT));
    Ok(c)
}

/// What a step of the handshake came to.
pub enum Handshake {
    /// Done: application data may flow.
    Done,
    /// Waiting for the peer.
    Pending,
    /// Failed (the alert, if any, was sent) or the peer went away.
    Failed,
}

/// Reads what the socket has into `tls`, processes it and writes what
/// the handshake answers, until the handshake is done or the socket has
/// nothing more.
pub fn handshake(sock: &mut impl ReadWrite, tls: &mut ServerConnection) -> Handshake {
    loop {
        if !tls.is_handshaking() {
            return Handshake::Done;
        }
        match tls.read_tls(sock) {
            Ok(0) => return Handshake::Failed,
            Ok(_) => {
                if tls.process_new_packets().is_err() {
                    let _ = push(sock, tls); // the alert
                    return Handshake::Failed;
                }
                if push(sock, tls).is_err() {
                    return Handshake::Failed;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                let _ = push(sock, tls);
                return if tls.is_handshaking() { Handshake::Pending } else { Handshake::Done };
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return Handshake::Failed,
        }
    }
}

/// A socket: what the helpers read from and write to.
pub trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

/// Reads decrypted octets into `buf`, as a socket read would: `Ok(0)` at
/// the end of the stream, `WouldBlock` when more must arrive first.
pub fn read(sock: &mut impl ReadWrite, tls: &mut ServerConnection, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match tls.reader().read(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            // The TCP stream ended without close_notify: an end all the same.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
            Err(e) => return Err(e),
        }
        match tls.read_tls(sock) {
            Ok(0) => return Ok(0),
            Ok(_) => {
                let state = tls.process_new_packets();
                // Key updates, alerts, new tickets: sent as they come.
                let _ = push(sock, tls);
                if let Err(e) = state {
                    return Err(io::Error::new(io::ErrorKind::InvalidData, e));
                }
            }
            Err(e) => return Err(e),
        }
    }
}

/// Writes TLS records rustls holds; `Ok(true)` when none is left.
pub fn push(sock: &mut impl ReadWrite, tls: &mut ServerConnection) -> io::Result<bool> {
    while tls.wants_write() {
        match tls.write_tls(sock) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

/// Encrypts as much of `data` as rustls's buffer takes and writes what
/// the socket takes, as a socket write would: the count of `data`'s
/// octets taken, `WouldBlock` when none could be.
pub fn write(sock: &mut impl ReadWrite, tls: &mut ServerConnection, data: &[u8]) -> io::Result<usize> {
    push(sock, tls)?;
    let n = tls.writer().write(data)?;
    push(sock, tls)?;
    if n == 0 && !data.is_empty() {
        return Err(io::ErrorKind::WouldBlock.into());
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_limits_one_prefix_and_spares_the_others() {
        let mut b = HandshakeBudget::new(10, 5, 1_000_000, 1_000_000);
        let take = |b: &mut HandshakeBudget, ip: IpAddr, t: u64| b.take(ip, t) == Admit::Yes;
        let flood: IpAddr = "192.0.2.7".parse().unwrap();
        let same: IpAddr = "192.0.2.200".parse().unwrap();
        let other: IpAddr = "198.51.100.1".parse().unwrap();
        // The burst, then nothing more at the same instant, from any
        // address of the prefix.
        for _ in 0..5 {
            assert!(take(&mut b, flood, 1000));
        }
        assert_eq!(b.take(flood, 1000), Admit::OverPrefix);
        assert!(!take(&mut b, same, 1000));
        // Another prefix is not affected.
        assert!(take(&mut b, other, 1000));
        // 10 a second: one more after 100 ms, not two.
        assert!(take(&mut b, flood, 1100));
        assert!(!take(&mut b, flood, 1100));
        // Refusals cost nothing: a prefix that keeps trying gets its
        // rate back, not less.
        for t in 0..100 {
            let _ = b.take(flood, 1100 + t);
        }
        assert!(take(&mut b, flood, 1300));
        // IPv6: the /56 is the unit.
        let a: IpAddr = "2001:db8:0:1::1".parse().unwrap();
        let c: IpAddr = "2001:db8:0:ff::2".parse().unwrap();
        for _ in 0..5 {
            assert!(take(&mut b, a, 5000));
        }
        assert!(!take(&mut b, c, 5000));
        assert!(take(&mut b, "2001:db8:1::1".parse().unwrap(), 5000));
    }

    /// Over the total, only known prefixes get handshakes, each within
    /// its own budget; a prefix stays known for an hour.
    #[test]
    fn over_the_total_known_prefixes_still_get_handshakes() {
        let mut b = HandshakeBudget::new(10, 5, 2, 3);
        let (known, n1, n2): (IpAddr, IpAddr, IpAddr) =
            ("192.0.2.1".parse().unwrap(), "198.51.100.1".parse().unwrap(), "203.0.113.1".parse().unwrap());
        // The total's burst of 3, from two unknown prefixes and one that
        // becomes known.
        assert_eq!(b.take(known, 1000), Admit::Yes);
        b.mark_known(known, 1000);
        assert_eq!(b.take(n1, 1000), Admit::Yes);
        assert_eq!(b.take(n2, 1000), Admit::Yes);
        // Spent: unknown prefixes wait, the known one goes on (to its own
        // burst of 5, of which it used 1).
        assert_eq!(b.take(n1, 1000), Admit::OverTotal);
        assert_eq!(b.take("198.51.99.1".parse().unwrap(), 1000), Admit::OverTotal);
        for _ in 0..4 {
            assert_eq!(b.take(known, 1000), Admit::Yes);
        }
        assert_eq!(b.take(known, 1000), Admit::OverPrefix);
        // The total comes back at 2 a second: one more after 500 ms.
        assert_eq!(b.take(n1, 1500), Admit::Yes);
        assert_eq!(b.take(n2, 1500), Admit::OverTotal);
        // Known for an hour, then no more.
        assert_eq!(b.take(known, 1000 + 3_599_000), Admit::Yes);
        for _ in 0..3 {
            let _ = b.take(n1, 1000 + 3_601_000);
        }
        assert_eq!(b.take(known, 1000 + 3_601_000), Admit::OverTotal);
    }
}
