//! A small DNS client for replication: SOA queries to primaries (UDP,
//! then TCP on TC) and NOTIFY exchanges, with TSIG, fresh message ids
//! and timeouts; and why an exchange or a transfer failed ([`Fail`]).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use levee_tsig::Key;
use levee_wire::rtype::t;
use levee_xfr::XfrError;
use levee_zone::journal::Rr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream, UdpSocket};

use crate::clock::wall;

/// How long one UDP exchange waits, and one TCP read.
const UDP_TIMEOUT: Duration = Duration::from_secs(2);
const TCP_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a refresh or transfer failed.
#[derive(Debug)]
pub enum Fail {
    /// Network.
    Io(std::io::Error),
    /// The protocol or the data (levee-xfr).
    Xfr(XfrError),
    /// The received zone (or the IXFR result) does not load.
    Build(String),
    /// A time limit of `[transfer-in]`.
    Limit(String),
    /// Ended by `levee ctl retransfer` (or shutdown).
    Cancelled,
}

impl std::fmt::Display for Fail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fail::Io(e) => write!(f, "{e}"),
            Fail::Xfr(e) => write!(f, "{e}"),
            Fail::Build(e) => write!(f, "received zone does not load: {e}"),
            Fail::Limit(e) => write!(f, "transfer abandoned: {e}"),
            Fail::Cancelled => f.write_str("transfer cancelled"),
        }
    }
}

impl From<std::io::Error> for Fail {
    fn from(e: std::io::Error) -> Self {
        Fail::Io(e)
    }
}

impl From<XfrError> for Fail {
    fn from(e: XfrError) -> Self {
        Fail::Xfr(e)
    }
}

pub fn random_id() -> u16 {
    let mut b = [0u8; 2];
    if getrandom::getrandom(&mut b).is_err() {
        return (wall() as u16).wrapping_mul(31421);
    }
    u16::from_be_bytes(b)
}

fn timeout_err() -> Fail {
    Fail::Io(std::io::ErrorKind::TimedOut.into())
}

/// The local address of an exchange with `to`: port 0 on `source`, or
/// on the unspecified address of `to`'s family.
fn local(to: SocketAddr, source: Option<IpAddr>) -> SocketAddr {
    let ip = source.unwrap_or(if to.is_ipv4() {
        IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)
    } else {
        IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED)
    });
    SocketAddr::new(ip, 0)
}

/// A TCP connection to `to` from `source` (the kernel's choice when
/// `None`; see [`levee_config::repl::Remote::source`]).
pub async fn tcp_connect(to: SocketAddr, source: Option<IpAddr>) -> std::io::Result<TcpStream> {
    let Some(src) = source else { return TcpStream::connect(to).await };
    let s = if to.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
    s.bind(SocketAddr::new(src, 0))?;
    s.connect(to).await
}

/// One UDP exchange with `addr` from `source` (see [`local`]).
pub async fn udp_exchange(
    addr: SocketAddr,
    source: Option<IpAddr>,
    req: &levee_xfr::Request,
    key: Option<&Key>,
    timeout: Duration,
) -> Result<levee_wire::message::Message, Fail> {
    let sock = UdpSocket::bind(local(addr, source)).await?;
    sock.connect(addr).await?;
    sock.send(&req.msg).await?;
    let mut buf = vec![0u8; 65535];
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let n = tokio::time::timeout_at(deadline, sock.recv(&mut buf)).await.map_err(|_| timeout_err())??;
        match levee_xfr::check_response(req, &buf[..n], key, wall()) {
            Err(XfrError::Mismatch) => continue, // a stray datagram
            r => return r.map_err(Fail::Xfr),
        }
    }
}

async fn tcp_connect_send(addr: SocketAddr, source: Option<IpAddr>, msg: &[u8]) -> Result<TcpStream, Fail> {
    let mut s = tokio::time::timeout(TCP_TIMEOUT, tcp_connect(addr, source)).await.map_err(|_| timeout_err())??;
    let mut out = (msg.len() as u16).to_be_bytes().to_vec();
    out.extend_from_slice(msg);
    tokio::time::timeout(TCP_TIMEOUT, s.write_all(&out)).await.map_err(|_| timeout_err())??;
    Ok(s)
}

async fn tcp_read(s: &mut TcpStream, buf: &mut Vec<u8>) -> Result<(), Fail> {
    let mut len = [0u8; 2];
    tokio::time::timeout(TCP_TIMEOUT, s.read_exact(&mut len)).await.map_err(|_| timeout_err())??;
    buf.resize(u16::from_be_bytes(len) as usize, 0);
    tokio::time::timeout(TCP_TIMEOUT, s.read_exact(buf)).await.map_err(|_| timeout_err())??;
    Ok(())
}

pub async fn soa_of(addr: SocketAddr, source: Option<IpAddr>, apex: &[u8], key: Option<&Key>) -> Result<Rr, Fail> {
    let req = levee_xfr::request(random_id(), apex, t::SOA, None, false, key, wall());
    let m = match udp_exchange(addr, source, &req, key, UDP_TIMEOUT).await {
        Err(Fail::Xfr(XfrError::Truncated)) => {
            let mut s = tcp_connect_send(addr, source, &req.msg).await?;
            let mut buf = Vec::new();
            tcp_read(&mut s, &mut buf).await?;
            levee_xfr::check_response(&req, &buf, key, wall())?
        }
        r => r?,
    };
    levee_xfr::soa_answer(&m, apex).ok_or(Fail::Xfr(XfrError::BadStructure))
}

/// The records of type `qtype` at `owner` in the answer of the server at
/// `addr` (UDP, then TCP on TC), TSIG-signed with `key` if given: the
/// parent check's DS query (`zones::keyops`).
pub async fn rrset_of(
    addr: SocketAddr,
    source: Option<IpAddr>,
    owner: &[u8],
    qtype: u16,
    key: Option<&Key>,
) -> Result<Vec<Rr>, Fail> {
    let req = levee_xfr::request(random_id(), owner, qtype, None, false, key, wall());
    let m = match udp_exchange(addr, source, &req, key, UDP_TIMEOUT).await {
        Err(Fail::Xfr(XfrError::Truncated)) => {
            let mut s = tcp_connect_send(addr, source, &req.msg).await?;
            let mut buf = Vec::new();
            tcp_read(&mut s, &mut buf).await?;
            levee_xfr::check_response(&req, &buf, key, wall())?
        }
        r => r?,
    };
    Ok(m.answer
        .iter()
        .filter(|r| r.rtype == qtype && levee_wire::name::eq_ignore_case(&r.owner, owner))
        .map(|r| Rr { owner: r.owner.clone(), rtype: r.rtype, ttl: r.ttl, rdata: r.rdata.clone() })
        .collect())
}
