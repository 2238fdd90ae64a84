//! Fuzz target `frame`: the AF_XDP driver's Ethernet/IP/UDP headers.
//!
//! * `parse` never panics, and a datagram it accepts has its payload
//!   inside the frame;
//! * the reply written for an accepted datagram parses back to the
//!   swapped endpoints and the same payload, and its checksums verify
//!   (the IPv4 header sums to 0xFFFF; the UDP checksum over the pseudo
//!   header sums to 0xFFFF).

#![no_main]

use levee_io::frame::{self, Datagram};
use libfuzzer_sys::fuzz_target;

fn fold(mut s: u64) -> u16 {
    while s > 0xFFFF {
        s = (s & 0xFFFF) + (s >> 16);
    }
    s as u16
}

/// A plain RFC 1071 sum, 16 bits at a time (independent of the module's).
fn sum(data: &[u8]) -> u64 {
    data.chunks(2).map(|c| u64::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))).sum()
}

fn check_reply(d: &Datagram, reply: &[u8]) {
    let back = frame::parse(reply).expect("a reply parses");
    assert_eq!((back.src, back.dst), (d.dst, d.src));
    assert_eq!((back.src_mac, back.dst_mac), (d.dst_mac, d.src_mac));
    let ip = &reply[frame::ETH_LEN..];
    let (addrs, udp) = if d.src.is_ipv4() {
        assert_eq!(fold(sum(&ip[..frame::IPV4_LEN])), 0xFFFF, "IPv4 header checksum");
        (&ip[12..20], &ip[frame::IPV4_LEN..])
    } else {
        (&ip[8..40], &ip[frame::IPV6_LEN..])
    };
    let pseudo = sum(addrs) + 17 + udp.len() as u64;
    assert_eq!(fold(pseudo + sum(udp)), 0xFFFF, "UDP checksum");
}

fuzz_target!(|data: &[u8]| {
    let Ok(d) = frame::parse(data) else { return };
    assert!(d.payload.start <= d.payload.end && d.payload.end <= data.len());
    let payload = &data[d.payload.clone()];
    let hlen = d.reply_header_len();
    let mut out = vec![0u8; hlen + payload.len()];
    out[hlen..].copy_from_slice(payload);
    let n = frame::write_reply(&d, &mut out, payload.len()).expect("room for the reply");
    assert_eq!(n, out.len());
    check_reply(&d, &out);
    assert_eq!(&out[frame::parse(&out).unwrap().payload], payload);
});
