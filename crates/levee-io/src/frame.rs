//! Ethernet frames carrying UDP, as pure functions: the AF_XDP driver's
//! only contact with link, network and transport headers.
//!
//! * [`parse`] reads an Ethernet II frame (no VLAN tag) carrying IPv4
//!   (any IHL; fragments refused) or IPv6 (no extension headers) and UDP,
//!   and yields the two endpoints and where the UDP payload lies. It never
//!   panics and trusts no length field: every length is checked against
//!   the octets actually present (a frame may also carry Ethernet padding
//!   past the IP packet, which is ignored).
//! * [`write_reply`] writes the headers of the reply to a parsed query in
//!   front of a payload already in place: MAC addresses, IP addresses and
//!   ports swapped, lengths set, TTL / hop limit 64, the IPv4 header
//!   checksum and the UDP checksum (mandatory for IPv6, computed for IPv4
//!   too, so a receiver never has to trust an unchecked datagram).
//!
//! What this module refuses is what the XDP program must leave to the
//! kernel (VLAN tags, IPv4 fragments, IPv6 extension headers): the driver
//! drops and counts anything [`parse`] refuses. The incoming UDP checksum
//! is not verified: on virtual links the sender's stack leaves it partial
//! (offloaded), and DNS needs no more integrity than the message parser
//! gives.
//!
//! No allocation, no `unsafe`; fuzzed by `fuzz/fuzz_targets/frame.rs`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::ops::Range;

/// Length of an Ethernet II header (no VLAN tag).
pub const ETH_LEN: usize = 14;
/// Length of an IPv4 header without options (replies never carry options).
pub const IPV4_LEN: usize = 20;
/// Length of the fixed IPv6 header.
pub const IPV6_LEN: usize = 40;
/// Length of a UDP header.
pub const UDP_LEN: usize = 8;
/// TTL / hop limit of replies.
pub const TTL: u8 = 64;

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86DD;
const ETHERTYPE_VLAN: u16 = 0x8100;
const ETHERTYPE_QINQ: u16 = 0x88A8;
const PROTO_UDP: u8 = 17;

/// Why [`parse`] refused a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// Shorter than its headers say, or than any header.
    Short,
    /// Not IPv4 or IPv6 (another EtherType).
    NotIp,
    /// A VLAN tag (802.1Q / 802.1ad).
    Vlan,
    /// An IP header that is not well formed (version, IHL, lengths).
    BadIp,
    /// An IPv4 fragment (the kernel reassembles).
    Fragment,
    /// Not UDP, or an IPv6 extension header before it.
    NotUdp,
    /// A UDP length shorter than its header or longer than the packet.
    BadUdp,
}

/// A UDP datagram found in a frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Datagram {
    /// Source MAC address.
    pub src_mac: [u8; 6],
    /// Destination MAC address.
    pub dst_mac: [u8; 6],
    /// Source address and port (the client).
    pub src: SocketAddr,
    /// Destination address and port (ours).
    pub dst: SocketAddr,
    /// Where the UDP payload lies in the frame.
    pub payload: Range<usize>,
}

impl Datagram {
    /// Octets of headers in front of the reply's payload.
    pub fn reply_header_len(&self) -> usize {
        reply_header_len(self.src.is_ipv4())
    }
}

/// Octets of Ethernet, IP and UDP headers in front of a reply's payload.
pub const fn reply_header_len(ipv4: bool) -> usize {
    ETH_LEN + if ipv4 { IPV4_LEN } else { IPV6_LEN } + UDP_LEN
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn mac(b: &[u8]) -> [u8; 6] {
    let mut m = [0u8; 6];
    m.copy_from_slice(&b[..6]);
    m
}

/// Reads the Ethernet, IP and UDP headers of `frame`.
pub fn parse(frame: &[u8]) -> Result<Datagram, Refused> {
    if frame.len() < ETH_LEN {
        return Err(Refused::Short);
    }
    let (dst_mac, src_mac) = (mac(&frame[0..]), mac(&frame[6..]));
    let ip = &frame[ETH_LEN..];
    // `udp_at`: offset of the UDP header in `ip`; `ip_end`: end of the IP
    // packet in `ip` (anything after it is link padding).
    let (src, dst, udp_at, ip_end) = match be16(frame, 12) {
        ETHERTYPE_IPV4 => {
            if ip.len() < IPV4_LEN {
                return Err(Refused::Short);
            }
            let ihl = usize::from(ip[0] & 0x0F) * 4;
            if ip[0] >> 4 != 4 || ihl < IPV4_LEN {
                return Err(Refused::BadIp);
            }
            let total = usize::from(be16(ip, 2));
            if total < ihl {
                return Err(Refused::BadIp);
            }
            if total > ip.len() {
                return Err(Refused::Short);
            }
            // MF set or a fragment offset: a fragment.
            if be16(ip, 6) & 0x3FFF != 0 {
                return Err(Refused::Fragment);
            }
            if ip[9] != PROTO_UDP {
                return Err(Refused::NotUdp);
            }
            let s = IpAddr::V4(Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]));
            let d = IpAddr::V4(Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]));
            (s, d, ihl, total)
        }
        ETHERTYPE_IPV6 => {
            if ip.len() < IPV6_LEN {
                return Err(Refused::Short);
            }
            if ip[0] >> 4 != 6 {
                return Err(Refused::BadIp);
            }
            let total = IPV6_LEN + usize::from(be16(ip, 4));
            if total > ip.len() {
                return Err(Refused::Short);
            }
            if ip[6] != PROTO_UDP {
                return Err(Refused::NotUdp);
            }
            let mut a = [0u8; 16];
            a.copy_from_slice(&ip[8..24]);
            let s = IpAddr::V6(Ipv6Addr::from(a));
            a.copy_from_slice(&ip[24..40]);
            let d = IpAddr::V6(Ipv6Addr::from(a));
            (s, d, IPV6_LEN, total)
        }
        ETHERTYPE_VLAN | ETHERTYPE_QINQ => return Err(Refused::Vlan),
        _ => return Err(Refused::NotIp),
    };
    if ip_end < udp_at + UDP_LEN {
        return Err(Refused::Short);
    }
    let udp = &ip[udp_at..ip_end];
    let ulen = usize::from(be16(udp, 4));
    if ulen < UDP_LEN || ulen > udp.len() {
        return Err(Refused::BadUdp);
    }
    let start = ETH_LEN + udp_at;
    Ok(Datagram {
        src_mac,
        dst_mac,
        src: SocketAddr::new(src, be16(udp, 0)),
        dst: SocketAddr::new(dst, be16(udp, 2)),
        payload: start + UDP_LEN..start + ulen,
    })
}

/// The one's-complement sum (RFC 1071) of `data` added to `sum`, not
/// folded: big-endian 16-bit words, an odd last octet padded with zero.
fn sum(mut acc: u64, data: &[u8]) -> u64 {
    let mut words = data.chunks_exact(4);
    for w in &mut words {
        acc += u64::from(u32::from_be_bytes([w[0], w[1], w[2], w[3]]));
    }
    let rest = words.remainder();
    let mut i = 0;
    while i + 1 < rest.len() {
        acc += u64::from(be16(rest, i));
        i += 2;
    }
    if i < rest.len() {
        acc += u64::from(rest[i]) << 8;
    }
    acc
}

/// Folds a sum to 16 bits and complements it.
fn finish(mut acc: u64) -> u16 {
    while acc > 0xFFFF {
        acc = (acc & 0xFFFF) + (acc >> 16);
    }
    !(acc as u16)
}

fn ip_octets(a: IpAddr, out: &mut [u8; 16]) -> &[u8] {
    match a {
        IpAddr::V4(v4) => {
            out[..4].copy_from_slice(&v4.octets());
            &out[..4]
        }
        IpAddr::V6(v6) => {
            *out = v6.octets();
            &out[..]
        }
    }
}

/// Writes, into `out[..d.reply_header_len()]`, the headers of the reply to
/// `d` whose `payload_len` octets already lie at
/// `out[d.reply_header_len()..]`; returns the frame's length. `None` when
/// `out` is too short or the payload too long for one datagram.
pub fn write_reply(d: &Datagram, out: &mut [u8], payload_len: usize) -> Option<usize> {
    let v4 = d.src.is_ipv4();
    let hlen = d.reply_header_len();
    let ulen = UDP_LEN + payload_len;
    let ip_hlen = if v4 { IPV4_LEN } else { IPV6_LEN };
    if out.len() < hlen + payload_len || ulen + ip_hlen > 0xFFFF || d.src.is_ipv4() != d.dst.is_ipv4() {
        return None;
    }
    // Ethernet: back to where it came from.
    out[0..6].copy_from_slice(&d.src_mac);
    out[6..12].copy_from_slice(&d.dst_mac);
    let (from, to) = (d.dst, d.src);
    let (mut a, mut b) = ([0u8; 16], [0u8; 16]);
    let (fa, ta) = (ip_octets(from.ip(), &mut a), ip_octets(to.ip(), &mut b));
    if v4 {
        out[12..14].copy_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
        let ip = &mut out[ETH_LEN..ETH_LEN + IPV4_LEN];
        ip[0] = 0x45; // version 4, IHL 5
        ip[1] = 0; // DSCP/ECN
        ip[2..4].copy_from_slice(&((IPV4_LEN + ulen) as u16).to_be_bytes());
        ip[4..6].copy_from_slice(&[0, 0]); // identification: unused with DF
        ip[6..8].copy_from_slice(&0x4000u16.to_be_bytes()); // DF
        ip[8] = TTL;
        ip[9] = PROTO_UDP;
        ip[10..12].copy_from_slice(&[0, 0]);
        ip[12..16].copy_from_slice(fa);
        ip[16..20].copy_from_slice(ta);
        let c = finish(sum(0, ip));
        ip[10..12].copy_from_slice(&c.to_be_bytes());
    } else {
        out[12..14].copy_from_slice(&ETHERTYPE_IPV6.to_be_bytes());
        let ip = &mut out[ETH_LEN..ETH_LEN + IPV6_LEN];
        ip[0..4].copy_from_slice(&0x6000_0000u32.to_be_bytes()); // version 6, class 0, flow 0
        ip[4..6].copy_from_slice(&(ulen as u16).to_be_bytes());
        ip[6] = PROTO_UDP;
        ip[7] = TTL;
        ip[8..24].copy_from_slice(fa);
        ip[24..40].copy_from_slice(ta);
    }
    let at = ETH_LEN + ip_hlen;
    let udp = &mut out[at..at + ulen];
    udp[0..2].copy_from_slice(&from.port().to_be_bytes());
    udp[2..4].copy_from_slice(&to.port().to_be_bytes());
    udp[4..6].copy_from_slice(&(ulen as u16).to_be_bytes());
    udp[6..8].copy_from_slice(&[0, 0]);
    // Pseudo-header: addresses, protocol, UDP length (RFC 768, RFC 8200 §8.1).
    let pseudo = sum(sum(0, fa), ta) + u64::from(PROTO_UDP) + ulen as u64;
    let c = match finish(sum(pseudo, udp)) {
        0 => 0xFFFF, // 0 means "no checksum" in IPv4 and is invalid in IPv6
        c => c,
    };
    udp[6..8].copy_from_slice(&c.to_be_bytes());
    Some(hlen + payload_len)
}

#[cfg(test)]
mod tests;
