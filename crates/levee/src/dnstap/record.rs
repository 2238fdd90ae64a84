//! A capture as it waits in a queue: a fixed 64-octet header and the DNS
//! octets, appended to the queue's buffer by the answering thread
//! ([`write`]) and read back by the writer thread ([`Records`]). Nothing
//! here encodes dnstap: the answering thread only copies, the writer
//! encodes (`levee_dnstap::encode`).
//!
//! ```text
//!  0  u32 record length (header + query + response), little-endian
//!  4  u8  flags: 1 query, 2 response, 4 TCP, 8 DNS over TLS, 16 DNS over QUIC
//!  5  u8  client family (4, 6)       6  u8 server family (0: none, 4, 6)
//!  8  16  client address (IPv4 in the first 4)
//! 24  u16 client port                26  u16 server port
//! 28  16  server address
//! 44  u64 seconds                    52  u32 nanoseconds (when captured)
//! 56  u16 query length               58  u16 response length
//! 64  query octets, then response octets
//! ```

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use levee_dnstap::Protocol;

/// Octets of a record's header.
pub const HEADER: usize = 64;

const QUERY: u8 = 1;
const RESPONSE: u8 = 2;
const TCP: u8 = 4;
const DOT: u8 = 8;
const DOQ: u8 = 16;

/// What one capture holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capture<'a> {
    /// The client.
    pub client: SocketAddr,
    /// The address the query arrived at, when the driver knows it.
    pub server: Option<SocketAddr>,
    /// The transport.
    pub protocol: Protocol,
    /// When: seconds and nanoseconds since the Unix epoch.
    pub time: (u64, u32),
    /// The query, if captured.
    pub query: Option<&'a [u8]>,
    /// The response, if captured.
    pub response: Option<&'a [u8]>,
}

/// The octets a record of these DNS messages takes.
pub fn size(query: Option<&[u8]>, response: Option<&[u8]>) -> usize {
    HEADER + query.map_or(0, <[u8]>::len) + response.map_or(0, <[u8]>::len)
}

fn put_addr(h: &mut [u8; HEADER], fam: usize, addr: usize, port: usize, a: SocketAddr) {
    match a.ip() {
        IpAddr::V4(v4) => {
            h[fam] = 4;
            h[addr..addr + 4].copy_from_slice(&v4.octets());
        }
        IpAddr::V6(v6) => {
            h[fam] = 6;
            h[addr..addr + 16].copy_from_slice(&v6.octets());
        }
    }
    h[port..port + 2].copy_from_slice(&a.port().to_le_bytes());
}

/// A record's header with what is the same for every capture of one
/// thread (the server's address, the transport) filled in once: a
/// capture copies it and sets the rest, a few stores.
#[derive(Clone, Copy)]
pub struct Template([u8; HEADER]);

impl Template {
    /// The template of a thread answering at `server` over `protocol`.
    pub fn new(server: Option<SocketAddr>, protocol: Protocol) -> Template {
        let mut h = [0u8; HEADER];
        h[4] = match protocol {
            Protocol::Udp => 0,
            Protocol::Tcp => TCP,
            Protocol::Dot => DOT,
            Protocol::Doq => DOQ,
        };
        if let Some(s) = server {
            put_addr(&mut h, 6, 28, 26, s);
        }
        Template(h)
    }

    /// Appends the record of one capture to `buf`. The caller checked
    /// the room ([`size`] octets within the capacity), so nothing is
    /// allocated; DNS messages are at most 65,535 octets, which the
    /// lengths hold.
    #[inline]
    pub fn write(
        &self,
        buf: &mut Vec<u8>,
        client: SocketAddr,
        time: (u64, u32),
        query: Option<&[u8]>,
        response: Option<&[u8]>,
    ) {
        let mut h = self.0;
        let (q, r) = (query.unwrap_or(&[]), response.unwrap_or(&[]));
        let (ql, rl) = (q.len().min(usize::from(u16::MAX)), r.len().min(usize::from(u16::MAX)));
        h[0..4].copy_from_slice(&((HEADER + ql + rl) as u32).to_le_bytes());
        h[4] |= if query.is_some() { QUERY } else { 0 } | if response.is_some() { RESPONSE } else { 0 };
        put_addr(&mut h, 5, 8, 24, client);
        h[44..52].copy_from_slice(&time.0.to_le_bytes());
        h[52..56].copy_from_slice(&time.1.to_le_bytes());
        h[56..58].copy_from_slice(&(ql as u16).to_le_bytes());
        h[58..60].copy_from_slice(&(rl as u16).to_le_bytes());
        buf.extend_from_slice(&h);
        buf.extend_from_slice(&q[..ql]);
        buf.extend_from_slice(&r[..rl]);
    }
}

/// Appends the record of `c` to `buf` (as [`Template::write`]).
#[cfg(test)]
pub fn write(buf: &mut Vec<u8>, c: &Capture) {
    Template::new(c.server, c.protocol).write(buf, c.client, c.time, c.query, c.response);
}

fn get_addr(h: &[u8], fam: usize, addr: usize, port: usize) -> Option<SocketAddr> {
    let p = u16::from_le_bytes([h[port], h[port + 1]]);
    let ip = match h[fam] {
        4 => IpAddr::V4(Ipv4Addr::new(h[addr], h[addr + 1], h[addr + 2], h[addr + 3])),
        6 => IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(&h[addr..addr + 16]).ok()?)),
        _ => return None,
    };
    Some(SocketAddr::new(ip, p))
}

/// The records of a buffer, in order. A record that does not hold
/// together (which [`write`] never makes) ends the walk.
pub struct Records<'a>(pub &'a [u8]);

impl<'a> Iterator for Records<'a> {
    type Item = Capture<'a>;

    fn next(&mut self) -> Option<Capture<'a>> {
        let b = self.0;
        let h = b.get(..HEADER)?;
        let len = u32::from_le_bytes([h[0], h[1], h[2], h[3]]) as usize;
        let ql = usize::from(u16::from_le_bytes([h[56], h[57]]));
        let rl = usize::from(u16::from_le_bytes([h[58], h[59]]));
        if len != HEADER + ql + rl || b.len() < len {
            self.0 = &[];
            return None;
        }
        let Some(client) = get_addr(h, 5, 8, 24) else {
            self.0 = &[];
            return None;
        };
        let c = Capture {
            client,
            server: get_addr(h, 6, 28, 26),
            protocol: match (h[4] & TCP != 0, h[4] & DOT != 0, h[4] & DOQ != 0) {
                (_, _, true) => Protocol::Doq,
                (_, true, _) => Protocol::Dot,
                (true, false, false) => Protocol::Tcp,
                (false, false, false) => Protocol::Udp,
            },
            time: (
                u64::from_le_bytes(h[44..52].try_into().unwrap_or_default()),
                u32::from_le_bytes(h[52..56].try_into().unwrap_or_default()),
            ),
            query: (h[4] & QUERY != 0).then(|| &b[HEADER..HEADER + ql]),
            response: (h[4] & RESPONSE != 0).then(|| &b[HEADER + ql..len]),
        };
        self.0 = &b[len..];
        Some(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_read_back_as_written() {
        let caps = [
            Capture {
                client: "192.0.2.7:5353".parse().unwrap(),
                server: Some("127.0.0.1:53".parse().unwrap()),
                protocol: Protocol::Udp,
                time: (1_700_000_000, 999_999_999),
                query: Some(b"qqq"),
                response: Some(b"rrrrr"),
            },
            Capture {
                client: "[2001:db8::1]:1".parse().unwrap(),
                server: None,
                protocol: Protocol::Dot,
                time: (1, 2),
                query: Some(b""),
                response: None,
            },
            Capture {
                client: "[::1]:65535".parse().unwrap(),
                server: Some("[::1]:53".parse().unwrap()),
                protocol: Protocol::Tcp,
                time: (0, 0),
                query: None,
                response: Some(&[0u8; 700]),
            },
            Capture {
                client: "127.0.0.1:4433".parse().unwrap(),
                server: Some("127.0.0.1:853".parse().unwrap()),
                protocol: Protocol::Doq,
                time: (3, 4),
                query: Some(b"q"),
                response: Some(b"r"),
            },
        ];
        let mut buf = Vec::new();
        for c in &caps {
            let before = buf.len();
            write(&mut buf, c);
            assert_eq!(buf.len() - before, size(c.query, c.response));
        }
        let back: Vec<_> = Records(&buf).collect();
        assert_eq!(back, caps);
        // A cut buffer ends the walk at the cut record.
        assert_eq!(Records(&buf[..buf.len() - 1]).count(), caps.len() - 1);
    }
}
