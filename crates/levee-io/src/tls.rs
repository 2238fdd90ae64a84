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
//!   accepted, before any TLS work (`TcpStats::handshakes_refused`). The
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
}

/// Buckets in the handshake budget's table.
const BUCKETS: usize = 4096;
/// IPv4 prefix length of a handshake budget's source.
pub const V4_PREFIX: u8 = 24;
/// IPv6 prefix length of a handshake budget's source.
pub const V6_PREFIX: u8 = 56;

/// Token buckets of handshakes per source prefix, in a fixed table.
///
/// Each bucket holds the time (milliseconds of the server's clock) at
/// which it will be full again; a handshake moves that time forward by
/// one token's worth, and is refused if that would put it more than the
/// burst ahead of now (a "virtual scheduling" bucket: one `u64` each).
pub struct HandshakeBudget {
    full_at: Box<[u64]>,
    hasher: RandomState,
    /// Milliseconds a token takes to come back (scaled by 1024).
    per_token: u64,
    /// The burst, in the same unit.
    depth: u64,
}

impl HandshakeBudget {
    /// `rate` handshakes a second with a burst of `burst`, per prefix.
    pub fn new(rate: u32, burst: u32) -> HandshakeBudget {
        let per_token = if rate == 0 { u64::MAX / 4 } else { 1_024_000 / u64::from(rate) };
        HandshakeBudget {
            full_at: vec![0; BUCKETS].into_boxed_slice(),
            hasher: RandomState::new(),
            per_token,
            depth: per_token.saturating_mul(u64::from(burst.max(1))),
        }
    }

    /// Takes a handshake for `ip`'s prefix at `now_ms`; false when the
    /// prefix is over its budget (nothing is taken then).
    pub fn take(&mut self, ip: IpAddr, now_ms: u64) -> bool {
        let p = prefix(ip);
        let h = self.hasher.hash_one(p);
        let (a, b) = ((h as usize) % BUCKETS, ((h >> 32) as usize) % BUCKETS);
        let now = now_ms.saturating_mul(1024);
        let next = |t: u64| t.max(now).saturating_add(self.per_token);
        let (na, nb) = (next(self.full_at[a]), next(self.full_at[b]));
        // Count-min: the less loaded of the two buckets is the prefix's.
        if na.min(nb) > now.saturating_add(self.depth) {
            return false;
        }
        self.full_at[a] = na;
        self.full_at[b] = nb;
        true
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
        let mut b = HandshakeBudget::new(10, 5);
        let flood: IpAddr = "192.0.2.7".parse().unwrap();
        let same: IpAddr = "192.0.2.200".parse().unwrap();
        let other: IpAddr = "198.51.100.1".parse().unwrap();
        // The burst, then nothing more at the same instant, from any
        // address of the prefix.
        for _ in 0..5 {
            assert!(b.take(flood, 1000));
        }
        assert!(!b.take(flood, 1000));
        assert!(!b.take(same, 1000));
        // Another prefix is not affected.
        assert!(b.take(other, 1000));
        // 10 a second: one more after 100 ms, not two.
        assert!(b.take(flood, 1100));
        assert!(!b.take(flood, 1100));
        // Refusals cost nothing: a prefix that keeps trying gets its
        // rate back, not less.
        for t in 0..100 {
            let _ = b.take(flood, 1100 + t);
        }
        assert!(b.take(flood, 1300));
        // IPv6: the /56 is the unit.
        let a: IpAddr = "2001:db8:0:1::1".parse().unwrap();
        let c: IpAddr = "2001:db8:0:ff::2".parse().unwrap();
        for _ in 0..5 {
            assert!(b.take(a, 5000));
        }
        assert!(!b.take(c, 5000));
        assert!(b.take("2001:db8:1::1".parse().unwrap(), 5000));
    }
}
