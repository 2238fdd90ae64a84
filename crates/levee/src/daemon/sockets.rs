//! Binding every socket at start, before the privilege drop: per listen
//! address one UDP socket per worker (`SO_REUSEPORT`) and a TCP listener,
//! then the management listener; and reading the management TLS key,
//! which may be readable by root only. A failure stops the start.

use std::net::SocketAddr;

use levee_config::Config;
use levee_io::tcp;
use levee_io::udp::{self, Socket};
use tokio_rustls::TlsAcceptor;

/// The sockets of a server, bound.
pub struct Sockets {
    /// One UDP socket per worker, with the address it serves.
    pub udp: Vec<(SocketAddr, Socket)>,
    /// One TCP listener per address.
    pub tcp: Vec<std::net::TcpListener>,
    /// The listen addresses as bound (a port 0 replaced by the kernel's).
    pub bound: Vec<SocketAddr>,
    /// The management listener, if configured.
    pub management: Option<std::net::TcpListener>,
    /// Its TLS setup, if configured.
    pub management_tls: Option<TlsAcceptor>,
    /// One DNS-over-TLS listener per `tls.listen` address.
    pub tls: Vec<std::net::TcpListener>,
    /// One DNS-over-QUIC UDP socket per `tls.listen-quic` address.
    pub quic: Vec<std::net::UdpSocket>,
    /// The DoQ setup.
    pub doq: Option<levee_io::quic::QuicSetup>,
    /// The DoT setup and certificate (read before the privilege drop).
    pub dot: Option<(levee_io::tls::TlsSetup, std::sync::Arc<crate::tls::Certs>)>,
}

/// `threads` UDP sockets on `addr` (port 0: the port the kernel picks for
/// the first), and the address they share.
fn bind_udp_all(addr: SocketAddr, threads: usize) -> Result<(SocketAddr, Vec<Socket>), String> {
    let mut addr = addr;
    let mut out = Vec::with_capacity(threads);
    for i in 0..threads {
        let u = udp::bind_udp(addr).map_err(|e| format!("cannot listen on {addr} (UDP): {e}"))?;
        if i == 0 && addr.port() == 0 {
            if let Some(a) = u.local_addr().ok().and_then(|a| a.as_socket()) {
                addr.set_port(a.port());
            }
        }
        out.push(u);
    }
    Ok((addr, out))
}

/// Binds the DNS sockets (`threads` UDP sockets per address) and the
/// management listener; the error says which address failed.
pub fn bind(cfg: &Config, threads: usize) -> Result<Sockets, String> {
    let mut s = Sockets {
        udp: Vec::new(),
        tcp: Vec::new(),
        bound: Vec::new(),
        management: None,
        management_tls: None,
        tls: Vec::new(),
        quic: Vec::new(),
        doq: None,
        dot: None,
    };
    for &addr in &cfg.listen {
        // Port 0: every worker and TCP share the port the kernel picked
        // for UDP, which a TCP socket elsewhere may hold: then another
        // UDP port is picked (a few times at most).
        let mut tries = if addr.port() == 0 { 8 } else { 1 };
        loop {
            tries -= 1;
            let (bound, udps) = bind_udp_all(addr, threads)?;
            match tcp::bind_tcp(bound) {
                Ok(t) => {
                    s.udp.extend(udps.into_iter().map(|u| (bound, u)));
                    s.tcp.push(t);
                    s.bound.push(bound);
                    break;
                }
                Err(e) if tries > 0 && e.kind() == std::io::ErrorKind::AddrInUse => continue,
                Err(e) => return Err(format!("cannot listen on {bound} (TCP): {e}")),
            }
        }
    }
    // DNS over TLS: the certificate and key first (a bad pair stops the
    // start naming the key and the file), then the listeners.
    s.dot = crate::tls::setup(cfg)?;
    for &addr in &cfg.tls.listen {
        s.tls.push(tcp::bind_tcp(addr).map_err(|e| format!("cannot listen on {addr} (DNS over TLS): {e}"))?);
    }
    if let Some((_, certs)) = &s.dot {
        s.doq = crate::tls::quic_setup(cfg, certs)?;
    }
    for &addr in &cfg.tls.listen_quic {
        let u = levee_io::quic::bind_quic(addr).map_err(|e| format!("cannot listen on {addr} (DNS over QUIC): {e}"))?;
        s.quic.push(u);
    }
    s.management = cfg.management.map(std::net::TcpListener::bind).transpose().map_err(|e| {
        format!("cannot listen on {} (management): {e}", cfg.management.map(|a| a.to_string()).unwrap_or_default())
    })?;
    // The management TLS key is read before the privilege drop (it may
    // be readable by root only).
    if let Some(t) = cfg.management_access.tls.as_ref().filter(|_| s.management.is_some()) {
        s.management_tls = Some(crate::ops::http::tls_acceptor(t)?);
    }
    Ok(s)
}
