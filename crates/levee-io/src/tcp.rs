//! The TCP server (RFC 7766): length-prefixed messages, several queries per
//! connection answered in order, zone transfers streamed, idle connections
//! closed.
//!
//! TCP runs on its own Tokio runtime, never on the UDP workers' threads.
//! Each connection owns one 64 KiB response buffer for its lifetime.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};

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
    /// Give up on a message (or a write) that takes this long.
    pub io_timeout: Duration,
    /// Most connections served at once; further ones are closed.
    pub max_connections: usize,
}

impl Default for TcpLimits {
    fn default() -> Self {
        TcpLimits { idle_timeout: Duration::from_secs(10), io_timeout: Duration::from_secs(10), max_connections: 1024 }
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
    s.listen(1024)?;
    s.set_nonblocking(true)?;
    Ok(s.into())
}

/// Accepts and serves connections until `stop` turns true.
pub async fn serve<S: TcpService>(
    listener: std::net::TcpListener,
    svc: Arc<S>,
    limits: TcpLimits,
    mut stop: watch::Receiver<bool>,
) {
    let listener = match TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!("TCP listener: {e}");
            return;
        }
    };
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    loop {
        tokio::select! {
            _ = stop.changed() => {
                if *stop.borrow() { return; }
            }
            r = listener.accept() => {
                let Ok((sock, peer)) = r else { continue };
                let Ok(permit) = Arc::clone(&slots).try_acquire_owned() else {
                    drop(sock);
                    continue;
                };
                let svc = Arc::clone(&svc);
                tokio::spawn(async move {
                    let _ = connection(sock, peer, svc, limits).await;
                    drop(permit);
                });
            }
        }
    }
}

async fn connection<S: TcpService>(
    mut sock: TcpStream,
    peer: SocketAddr,
    svc: Arc<S>,
    limits: TcpLimits,
) -> io::Result<()> {
    let _ = sock.set_nodelay(true);
    let mut out = vec![0u8; 2 + 65535];
    let mut query = vec![0u8; 65535];
    loop {
        let mut len = [0u8; 2];
        match tokio::time::timeout(limits.idle_timeout, sock.read_exact(&mut len)).await {
            Ok(Ok(_)) => {}
            _ => return Ok(()),
        }
        let n = u16::from_be_bytes(len) as usize;
        match tokio::time::timeout(limits.io_timeout, sock.read_exact(&mut query[..n])).await {
            Ok(Ok(_)) => {}
            _ => return Ok(()),
        }
        match svc.handle(&query[..n], peer, &mut out[2..]) {
            TcpAnswer::Reply(r) => send(&mut sock, &mut out, r, limits).await?,
            TcpAnswer::Close => return Ok(()),
            TcpAnswer::Stream(mut st) => {
                while let Some(r) = svc.next(&mut st, &mut out[2..]) {
                    send(&mut sock, &mut out, r, limits).await?;
                }
            }
        }
    }
}

async fn send(sock: &mut TcpStream, out: &mut [u8], n: usize, limits: TcpLimits) -> io::Result<()> {
    out[..2].copy_from_slice(&(n as u16).to_be_bytes());
    match tokio::time::timeout(limits.io_timeout, sock.write_all(&out[..2 + n])).await {
        Ok(r) => r,
        Err(_) => Err(io::ErrorKind::TimedOut.into()),
    }
}
