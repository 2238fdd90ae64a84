//! Fuzz target `dnstap`: levee-dnstap's readers and its encoder.
//!
//! * `decode` and `fstrm::next_frame` never panic on arbitrary octets,
//!   and a frame read lies inside the input;
//! * a message built from the input (addresses, ports, times, DNS octets
//!   cut from it) encodes to a `Dnstap` that decodes back field for field,
//!   and its Frame Streams data frame reads back whole.

#![no_main]

use std::net::SocketAddr;

use levee_dnstap::decode::decode;
use levee_dnstap::fstrm::{self, next_frame, Frame};
use levee_dnstap::{encode, Kind, Message, Protocol};
use libfuzzer_sys::fuzz_target;

fn addr(b: &[u8], v6: bool) -> SocketAddr {
    let port = u16::from_le_bytes([b[0], b[1]]);
    if v6 {
        let mut a = [0u8; 16];
        a.copy_from_slice(&b[2..18]);
        SocketAddr::from((a, port))
    } else {
        SocketAddr::from(([b[2], b[3], b[4], b[5]], port))
    }
}

fuzz_target!(|data: &[u8]| {
    let _ = decode(data);
    if let Ok(Some((f, n))) = next_frame(data, 1 << 16) {
        assert!(n <= data.len());
        if let Frame::Data(p) = f {
            assert_eq!(p.len() + 4, n);
        }
    }
    if data.len() < 64 {
        return;
    }
    let (head, rest) = data.split_at(64);
    let flags = head[0];
    let split = usize::from(head[1]) * rest.len() / 256;
    let m = Message {
        kind: if flags & 1 != 0 { Kind::AuthResponse } else { Kind::AuthQuery },
        protocol: if flags & 2 != 0 { Protocol::Tcp } else { Protocol::Udp },
        client: addr(&head[2..20], flags & 4 != 0),
        server: (flags & 8 != 0).then(|| addr(&head[20..38], flags & 16 != 0)),
        query_time: (flags & 32 != 0).then(|| (u64::from_le_bytes(head[38..46].try_into().unwrap()), u32::from_le_bytes(head[46..50].try_into().unwrap()))),
        response_time: (flags & 64 != 0).then(|| (u64::from(head[50]), u32::from(head[51]))),
        query: (flags & 128 != 0).then(|| &rest[..split]),
        response: (head[52] & 1 != 0).then(|| &rest[split..]),
    };
    let ident = &head[53..53 + usize::from(head[63] % 11)];
    let mut out = Vec::new();
    encode(ident, b"fuzz", &m, &mut out);
    let d = decode(&out).expect("what encode writes decodes");
    assert_eq!(d.identity.as_deref(), (!ident.is_empty()).then_some(ident));
    let g = d.message.expect("a message");
    assert_eq!(g.kind, m.kind as u64);
    assert_eq!(g.protocol, Some(m.protocol as u64));
    assert_eq!(g.query_port, Some(u64::from(m.client.port())));
    assert_eq!(g.query_time_sec.zip(g.query_time_nsec), m.query_time);
    assert_eq!(g.response_time_sec.zip(g.response_time_nsec), m.response_time);
    assert_eq!(g.query_message.as_deref(), m.query);
    assert_eq!(g.response_message.as_deref(), m.response);
    let same = m.server.filter(|s| s.is_ipv6() == m.client.is_ipv6());
    assert_eq!(g.response_port, same.map(|s| u64::from(s.port())));
    let mut frame = fstrm::data_header(out.len()).to_vec();
    frame.extend_from_slice(&out);
    assert_eq!(next_frame(&frame, 1 << 20), Ok(Some((Frame::Data(&out), frame.len()))));
});
