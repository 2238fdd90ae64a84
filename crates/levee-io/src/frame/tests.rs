//! The frame functions against frames built by scapy (`vectors.py`,
//! which computes the checksums independently), and the refusals.

use super::*;

#[path = "vectors.rs"]
mod vectors;
use vectors::VECTORS;

/// The UDP payload of a scapy frame, found by its own length fields.
fn scapy_payload(frame: &[u8]) -> &[u8] {
    let ip_len = match be16(frame, 12) {
        ETHERTYPE_IPV4 => usize::from(frame[ETH_LEN] & 0x0F) * 4,
        _ => IPV6_LEN,
    };
    let udp = ETH_LEN + ip_len;
    &frame[udp + UDP_LEN..udp + usize::from(be16(frame, udp + 4))]
}

#[test]
fn replies_match_scapy_octet_for_octet() {
    for (name, query, reply) in VECTORS {
        let d = parse(query).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(&query[d.payload.clone()], scapy_payload(query), "{name}");
        assert_eq!(d.dst.port(), 53, "{name}");
        let payload = scapy_payload(reply);
        let hlen = d.reply_header_len();
        let mut out = [0xEEu8; 256];
        out[hlen..hlen + payload.len()].copy_from_slice(payload);
        let n = write_reply(&d, &mut out, payload.len()).expect(name);
        assert_eq!(&out[..n], &reply[..], "{name}");
    }
}

#[test]
fn a_zero_checksum_is_sent_as_all_ones() {
    for (name, _, reply) in VECTORS.iter().filter(|v| v.0.ends_with("zero_sum")) {
        let at = reply.len() - scapy_payload(reply).len() - 2;
        assert_eq!(&reply[at..at + 2], &[0xFF, 0xFF], "{name}");
    }
}

#[test]
fn parsed_endpoints_are_the_query_s() {
    let d = parse(VECTORS[0].1).unwrap();
    assert_eq!(d.src, "198.18.0.2:40000".parse().unwrap());
    assert_eq!(d.dst, "198.18.0.1:53".parse().unwrap());
    assert_eq!(d.src_mac, [2, 0, 0, 0, 0, 2]);
    assert_eq!(d.dst_mac, [2, 0, 0, 0, 0, 1]);
    let d = parse(VECTORS[2].1).unwrap();
    assert_eq!(d.src, "[2001:db8::2]:61000".parse().unwrap());
    assert_eq!(d.reply_header_len(), 62);
}

#[test]
fn link_padding_after_the_packet_is_ignored() {
    let q = VECTORS[0].1;
    let mut padded = q.to_vec();
    padded.resize(q.len() + 20, 0);
    assert_eq!(parse(&padded), parse(q));
}

fn with(frame: &[u8], at: usize, octets: &[u8]) -> Vec<u8> {
    let mut f = frame.to_vec();
    f[at..at + octets.len()].copy_from_slice(octets);
    f
}

#[test]
fn refusals_name_their_reason() {
    let (v4, v6) = (VECTORS[0].1, VECTORS[2].1);
    assert_eq!(parse(&v4[..10]), Err(Refused::Short));
    assert_eq!(parse(&with(v4, 12, &[0x81, 0x00])), Err(Refused::Vlan));
    assert_eq!(parse(&with(v4, 12, &[0x88, 0xA8])), Err(Refused::Vlan));
    assert_eq!(parse(&with(v4, 12, &[0x08, 0x06])), Err(Refused::NotIp));
    // More fragments; a fragment offset; a bare DF is no fragment.
    assert_eq!(parse(&with(v4, ETH_LEN + 6, &[0x20, 0x00])), Err(Refused::Fragment));
    assert_eq!(parse(&with(v4, ETH_LEN + 6, &[0x00, 0x10])), Err(Refused::Fragment));
    assert!(parse(&with(v4, ETH_LEN + 6, &[0x40, 0x00])).is_ok());
    assert_eq!(parse(&with(v4, ETH_LEN + 9, &[6])), Err(Refused::NotUdp));
    assert_eq!(parse(&with(v4, ETH_LEN, &[0x44])), Err(Refused::BadIp)); // IHL 4
    assert_eq!(parse(&with(v4, ETH_LEN, &[0x65])), Err(Refused::BadIp)); // version 6
    assert_eq!(parse(&with(v4, ETH_LEN + 2, &[0x0F, 0xFF])), Err(Refused::Short));
    assert_eq!(parse(&with(v4, ETH_LEN + 2, &[0x00, 0x10])), Err(Refused::BadIp));
    assert_eq!(parse(&with(v4, ETH_LEN + 20 + 4, &[0x00, 0x07])), Err(Refused::BadUdp));
    assert_eq!(parse(&with(v4, ETH_LEN + 20 + 4, &[0x01, 0x00])), Err(Refused::BadUdp));
    // IPv6: hop-by-hop options (0) and fragment (44) headers go to the kernel.
    assert_eq!(parse(&with(v6, ETH_LEN + 6, &[0])), Err(Refused::NotUdp));
    assert_eq!(parse(&with(v6, ETH_LEN + 6, &[44])), Err(Refused::NotUdp));
    assert_eq!(parse(&with(v6, ETH_LEN + 4, &[0x10, 0x00])), Err(Refused::Short));
    assert_eq!(parse(&with(v6, ETH_LEN, &[0x45])), Err(Refused::BadIp));
}

#[test]
fn every_truncation_is_refused_without_panicking() {
    for (name, q, _) in VECTORS {
        let full = parse(q).unwrap();
        for n in 0..q.len() {
            // Cut inside the packet: the IP length no longer fits.
            assert!(parse(&q[..n]).is_err(), "{name} cut at {n}");
        }
        assert_eq!(full.payload.end, q.len(), "{name}");
    }
}

#[test]
fn reply_refuses_a_short_buffer_or_a_giant_payload() {
    let d = parse(VECTORS[0].1).unwrap();
    let mut out = [0u8; 64];
    assert_eq!(write_reply(&d, &mut out, 64 - 42 + 1), None);
    assert_eq!(write_reply(&d, &mut out, 64 - 42), Some(64));
    let mut big = vec![0u8; 70_000];
    assert_eq!(write_reply(&d, &mut big, 65_535 - 28 + 1), None);
    assert!(write_reply(&d, &mut big, 65_535 - 28).is_some());
}

#[test]
fn parse_and_reply_do_not_allocate() {
    let mut out = [0u8; 256];
    for (name, q, r) in VECTORS {
        let payload = scapy_payload(r);
        let before = crate::alloc_count::allocations();
        let d = parse(q).unwrap();
        let hlen = d.reply_header_len();
        out[hlen..hlen + payload.len()].copy_from_slice(payload);
        let n = write_reply(&d, &mut out, payload.len()).unwrap();
        assert_eq!(crate::alloc_count::allocations(), before, "{name}");
        assert_eq!(n, r.len());
    }
}
