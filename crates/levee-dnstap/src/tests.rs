//! The encoder against hand-computed octets and against a message another
//! protobuf implementation wrote; encode/decode round trips; the readers
//! on arbitrary input.

use std::net::SocketAddr;

use proptest::prelude::*;

use crate::decode::{self, decode};
use crate::fstrm::{self, next_frame, Frame};
use crate::{encode, Kind, Message, Protocol, CONTENT_TYPE};

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// The octets worked out by hand from the schema's field numbers.
#[test]
fn a_small_message_has_the_octets_of_the_schema() {
    let m = Message {
        kind: Kind::AuthQuery,
        protocol: Protocol::Udp,
        client: sa("192.0.2.1:1234"),
        server: None,
        query_time: None,
        response_time: None,
        query: Some(&[0xab]),
        response: None,
    };
    let mut out = Vec::new();
    encode(b"a", b"", &m, &mut out);
    #[rustfmt::skip]
    let want = [
        0x0a, 0x01, b'a',             // identity (1, bytes)
        0x72, 0x12,                   // message (14, bytes), 18 octets
        0x08, 0x01,                   //   type (1) AUTH_QUERY
        0x10, 0x01,                   //   socket_family (2) INET
        0x18, 0x01,                   //   socket_protocol (3) UDP
        0x22, 0x04, 192, 0, 2, 1,     //   query_address (4)
        0x30, 0xd2, 0x09,             //   query_port (6) 1234
        0x52, 0x01, 0xab,             //   query_message (10)
        0x78, 0x01,                   // type (15) MESSAGE
    ];
    assert_eq!(out, want);
}

/// A `Dnstap` written by the Go protobuf implementation (the example of
/// the go-dnstap-protobuf library's documentation: a CLIENT_QUERY).
#[test]
fn decodes_a_message_another_implementation_wrote() {
    #[rustfmt::skip]
    let wire: &[u8] = &[
        10, 8, 100, 110, 115, 116, 97, 112, 112, 98, 18, 14, 100, 110, 115, 116, 97, 112, 112, 98, 32, 48, 46, 48,
        46, 48, 114, 90, 8, 5, 16, 1, 24, 1, 34, 4, 10, 0, 0, 210, 42, 4, 10, 0, 0, 210, 48, 230, 174, 3, 56, 53,
        64, 142, 143, 198, 255, 5, 77, 28, 102, 44, 21, 82, 53, 218, 186, 1, 32, 0, 1, 0, 0, 0, 0, 0, 1, 3, 119,
        119, 119, 6, 103, 111, 111, 103, 108, 101, 2, 102, 114, 0, 0, 1, 0, 1, 0, 0, 41, 16, 0, 0, 0, 0, 0, 0, 12,
        0, 10, 0, 8, 230, 56, 227, 142, 1, 222, 120, 120, 1,
    ];
    let d = decode(wire).unwrap();
    assert_eq!(d.identity.as_deref(), Some(&b"dnstappb"[..]));
    assert_eq!(d.version.as_deref(), Some(&b"dnstappb 0.0.0"[..]));
    assert_eq!(d.kind, 1);
    let m = d.message.unwrap();
    assert_eq!((m.kind, m.family, m.protocol), (5, Some(1), Some(1)));
    assert_eq!(m.query_address.as_deref(), Some(&[10, 0, 0, 210][..]));
    assert_eq!((m.query_port, m.response_port), (Some(55142), Some(53)));
    assert_eq!(m.query_time_sec, Some(1_609_664_398));
    let q = m.query_message.unwrap();
    assert_eq!(q.len(), 53);
    assert_eq!(&q[12..16], b"\x03www");
}

fn addr() -> impl Strategy<Value = SocketAddr> {
    prop_oneof![
        (any::<[u8; 4]>(), any::<u16>()).prop_map(|(a, p)| SocketAddr::from((a, p))),
        (any::<[u8; 16]>(), any::<u16>()).prop_map(|(a, p)| SocketAddr::from((a, p))),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Whatever levee writes, a reader gets back field for field.
    #[test]
    fn round_trip(
        ident in proptest::collection::vec(any::<u8>(), 0..40),
        resp in any::<bool>(),
        tcp in any::<bool>(),
        client in addr(),
        server in proptest::option::of(addr()),
        qt in proptest::option::of((any::<u64>(), any::<u32>())),
        rt in proptest::option::of((any::<u64>(), any::<u32>())),
        q in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..700)),
        r in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..20000)),
    ) {
        let m = Message {
            kind: if resp { Kind::AuthResponse } else { Kind::AuthQuery },
            protocol: if tcp { Protocol::Tcp } else { Protocol::Udp },
            client, server, query_time: qt, response_time: rt,
            query: q.as_deref(), response: r.as_deref(),
        };
        let mut out = vec![7u8; 3]; // appends after what is there
        encode(&ident, b"levee 1", &m, &mut out);
        prop_assert_eq!(&out[..3], &[7u8, 7, 7]);
        let d = decode(&out[3..]).unwrap();
        prop_assert_eq!(d.identity, (!ident.is_empty()).then_some(ident.clone()));
        prop_assert_eq!(d.version.as_deref(), Some(&b"levee 1"[..]));
        prop_assert_eq!(d.kind, 1);
        let g = d.message.unwrap();
        prop_assert_eq!(g.kind, m.kind as u64);
        prop_assert_eq!(g.protocol, Some(m.protocol as u64));
        prop_assert_eq!(g.family, Some(if client.is_ipv6() { 2 } else { 1 }));
        let octets = |a: SocketAddr| match a.ip() { std::net::IpAddr::V4(v) => v.octets().to_vec(), std::net::IpAddr::V6(v) => v.octets().to_vec() };
        prop_assert_eq!(g.query_address, Some(octets(client)));
        prop_assert_eq!(g.query_port, Some(u64::from(client.port())));
        let same = server.filter(|s| s.is_ipv6() == client.is_ipv6());
        prop_assert_eq!(g.response_address, same.map(octets));
        prop_assert_eq!(g.response_port, same.map(|s| u64::from(s.port())));
        prop_assert_eq!(g.query_time_sec.zip(g.query_time_nsec), qt);
        prop_assert_eq!(g.response_time_sec.zip(g.response_time_nsec), rt);
        prop_assert_eq!(g.query_message, q);
        prop_assert_eq!(g.response_message, r);
    }

    /// Arbitrary octets: an error or a message, never a panic.
    #[test]
    fn readers_take_any_input(b in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = decode(&b);
        let _ = next_frame(&b, 1000);
    }
}

#[test]
fn decode_refuses_malformed_messages() {
    assert_eq!(decode(&[0x0a, 0x05, b'a']), Err(decode::Error::Truncated));
    assert_eq!(decode(&[0x0a]), Err(decode::Error::Truncated));
    assert_eq!(decode(&[0x80; 11]), Err(decode::Error::LongVarint));
    assert_eq!(decode(&[0x0b]), Err(decode::Error::WireType(3)));
    assert_eq!(decode(&[0x0a, 0x00]), Err(decode::Error::NoType));
    assert_eq!(decode(&[0x78, 0x01, 0x75, 0, 0, 0, 0]), Err(decode::Error::FieldType(14)));
    // A length near u64::MAX is refused, not added to the position.
    let mut huge = vec![0x0a];
    huge.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    assert_eq!(decode(&huge), Err(decode::Error::Truncated));
}

#[test]
fn control_frames_round_trip_and_partial_input_asks_for_more() {
    let mut b = Vec::new();
    fstrm::control(fstrm::READY, Some(CONTENT_TYPE), &mut b);
    fstrm::control(fstrm::STOP, None, &mut b);
    b.extend_from_slice(&fstrm::data_header(3));
    b.extend_from_slice(b"xyz");
    // The READY frame's octets: escape, length, type, field.
    assert_eq!(&b[..16], &[0, 0, 0, 0, 0, 0, 0, 34, 0, 0, 0, 4, 0, 0, 0, 1]);
    assert_eq!(&b[16..20], &[0, 0, 0, 22]);
    let (f, n) = next_frame(&b, 100).unwrap().unwrap();
    assert_eq!(f, Frame::Control { kind: fstrm::READY, content_types: vec![CONTENT_TYPE] });
    let (f, m) = next_frame(&b[n..], 100).unwrap().unwrap();
    assert_eq!(f, Frame::Control { kind: fstrm::STOP, content_types: vec![] });
    let (f, k) = next_frame(&b[n + m..], 100).unwrap().unwrap();
    assert_eq!((f, n + m + k), (Frame::Data(b"xyz"), b.len()));
    for cut in 0..b.len() {
        // Every prefix that ends inside the first frame asks for more.
        if cut < n {
            assert_eq!(next_frame(&b[..cut], 100), Ok(None), "cut {cut}");
        }
    }
}

#[test]
fn frame_reader_bounds_what_it_buffers() {
    assert_eq!(next_frame(&[0, 0, 4, 1], 1024), Err(fstrm::Error::DataTooLong(1025)));
    assert_eq!(next_frame(&[0, 0, 0, 0, 0, 0, 2, 1], 1024), Err(fstrm::Error::ControlLength(513)));
    assert_eq!(next_frame(&[0, 0, 0, 0, 0, 0, 0, 2, 0, 0], 1024), Err(fstrm::Error::ControlLength(2)));
    // A field of another type, and one running past the frame.
    assert_eq!(
        next_frame(&[0, 0, 0, 0, 0, 0, 0, 12, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0], 64),
        Err(fstrm::Error::BadField)
    );
    assert_eq!(
        next_frame(&[0, 0, 0, 0, 0, 0, 0, 12, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9], 64),
        Err(fstrm::Error::BadField)
    );
}
