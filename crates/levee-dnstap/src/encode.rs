//! Writing a `Dnstap` protobuf message ([`encode`]).
//!
//! Protobuf in brief: a message is a sequence of fields, each a key
//! (`field_number << 3 | wire_type`, a varint) and a value: a varint
//! (wire type 0), a length-delimited run of octets (2: a varint length,
//! then the octets; nested messages are written this way) or four
//! little-endian octets (5, `fixed32`). The nested `Message`'s length
//! is computed before it is written (`message_len`), so the output is
//! written once, front to back.

use std::net::{IpAddr, SocketAddr};

/// `Message.type`: what was captured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A query an authoritative server received (`AUTH_QUERY`).
    AuthQuery = 1,
    /// A response an authoritative server sent (`AUTH_RESPONSE`).
    AuthResponse = 2,
}

/// `SocketProtocol`: the transport the message came over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// UDP (`UDP` = 1).
    Udp = 1,
    /// TCP (`TCP` = 2).
    Tcp = 2,
    /// DNS over TLS (`DOT` = 3).
    Dot = 3,
    /// DNS over QUIC (`DOQ` = 7).
    Doq = 7,
}

/// One captured message, borrowing its DNS octets.
#[derive(Clone, Copy, Debug)]
pub struct Message<'a> {
    /// Query or response.
    pub kind: Kind,
    /// UDP or TCP.
    pub protocol: Protocol,
    /// The client (`query_address`, `query_port`); its family is the
    /// message's `socket_family`.
    pub client: SocketAddr,
    /// The server's address (`response_address`, `response_port`), when
    /// known; left out when its family is not the client's.
    pub server: Option<SocketAddr>,
    /// When the query arrived: seconds and nanoseconds since the Unix epoch.
    pub query_time: Option<(u64, u32)>,
    /// When the response left.
    pub response_time: Option<(u64, u32)>,
    /// The query's octets.
    pub query: Option<&'a [u8]>,
    /// The response's octets.
    pub response: Option<&'a [u8]>,
}

// Wire types.
const VARINT: u32 = 0;
const LEN: u32 = 2;
const FIXED32: u32 = 5;

/// Writing into room already made (the exact size is computed first):
/// a position in a slice, so each octet is a store, not a `push`.
struct Cursor<'a> {
    b: &'a mut [u8],
    at: usize,
}

impl Cursor<'_> {
    fn put(&mut self, v: &[u8]) {
        self.b[self.at..self.at + v.len()].copy_from_slice(v);
        self.at += v.len();
    }

    /// A base-128 varint, least significant group first.
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.b[self.at] = v as u8 | 0x80;
            self.at += 1;
            v >>= 7;
        }
        self.b[self.at] = v as u8;
        self.at += 1;
    }

    /// A field's key (field numbers up to 15: one octet).
    fn key(&mut self, field: u32, wire: u32) {
        self.varint(u64::from(field << 3 | wire));
    }

    fn uint(&mut self, field: u32, v: u64) {
        self.key(field, VARINT);
        self.varint(v);
    }

    fn bytes(&mut self, field: u32, v: &[u8]) {
        self.key(field, LEN);
        self.varint(v.len() as u64);
        self.put(v);
    }

    fn fixed32(&mut self, field: u32, v: u32) {
        self.key(field, FIXED32);
        self.put(&v.to_le_bytes());
    }
}

/// An address's octets: 4 for IPv4, 16 for IPv6.
fn addr_octets(ip: IpAddr, f: impl FnOnce(&[u8])) {
    match ip {
        IpAddr::V4(a) => f(&a.octets()),
        IpAddr::V6(a) => f(&a.octets()),
    }
}

/// The octets of `v` as a varint.
fn varint_len(v: u64) -> usize {
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

/// The octets of a length-delimited field (all of ours have one-octet keys).
fn bytes_len(n: usize) -> usize {
    1 + varint_len(n as u64) + n
}

fn addr_len(a: SocketAddr) -> usize {
    if a.is_ipv6() {
        16
    } else {
        4
    }
}

/// The octets [`message`] writes for `m`.
fn message_len(m: &Message) -> usize {
    // type, family, protocol: one-octet keys and values.
    let mut n = 6;
    n += bytes_len(addr_len(m.client)) + 1 + varint_len(u64::from(m.client.port()));
    if let Some(s) = server(m) {
        n += bytes_len(addr_len(s)) + 1 + varint_len(u64::from(s.port()));
    }
    if let Some(t) = m.query_time {
        n += 1 + varint_len(t.0) + 5;
    }
    if let Some(t) = m.response_time {
        n += 1 + varint_len(t.0) + 5;
    }
    if let Some(d) = m.query {
        n += bytes_len(d.len());
    }
    if let Some(d) = m.response {
        n += bytes_len(d.len());
    }
    n
}

/// The server's address, if it is of the client's family.
fn server(m: &Message) -> Option<SocketAddr> {
    m.server.filter(|s| s.is_ipv6() == m.client.is_ipv6())
}

/// Appends the `Dnstap` message of `m` (one Frame Streams payload) to
/// `out`. `identity` and `version` are left out when empty. The nested
/// `Message`'s length, and so the whole size, is computed first: the
/// output grows once and is written front to back.
pub fn encode(identity: &[u8], version: &[u8], m: &Message, out: &mut Vec<u8>) {
    let inner = message_len(m);
    let opt = |b: &[u8]| if b.is_empty() { 0 } else { bytes_len(b.len()) };
    let total = opt(identity) + opt(version) + bytes_len(inner) + 2;
    let start = out.len();
    out.resize(start + total, 0);
    let mut c = Cursor { b: &mut out[start..], at: 0 };
    if !identity.is_empty() {
        c.bytes(1, identity);
    }
    if !version.is_empty() {
        c.bytes(2, version);
    }
    // Dnstap.message (14): the nested Message.
    c.key(14, LEN);
    c.varint(inner as u64);
    message(m, &mut c);
    // Dnstap.type (15) = MESSAGE.
    c.uint(15, 1);
    debug_assert_eq!(c.at, total);
}

/// The fields of `Message`, in field order.
fn message(m: &Message, c: &mut Cursor) {
    c.uint(1, m.kind as u64);
    c.uint(2, if m.client.is_ipv6() { 2 } else { 1 });
    c.uint(3, m.protocol as u64);
    addr_octets(m.client.ip(), |o| c.bytes(4, o));
    let server = server(m);
    if let Some(s) = server {
        addr_octets(s.ip(), |o| c.bytes(5, o));
    }
    c.uint(6, u64::from(m.client.port()));
    if let Some(s) = server {
        c.uint(7, u64::from(s.port()));
    }
    if let Some((s, ns)) = m.query_time {
        c.uint(8, s);
        c.fixed32(9, ns);
    }
    if let Some(q) = m.query {
        c.bytes(10, q);
    }
    if let Some((s, ns)) = m.response_time {
        c.uint(12, s);
        c.fixed32(13, ns);
    }
    if let Some(r) = m.response {
        c.bytes(14, r);
    }
}
