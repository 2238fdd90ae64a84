//! The tap's sampling, bounds and drop counts, and the records it queues
//! read back as dnstap.

use std::sync::atomic::Ordering;

use levee_config::{Collector, DnstapConfig};
use levee_dnstap::decode::decode;
use levee_dnstap::fstrm::{next_frame, Frame};

use super::writer::encode_all;
use super::Hub;

fn cfg(sample: u32, kib: u32) -> DnstapConfig {
    DnstapConfig {
        enabled: true,
        collector: Some(Collector::Unix("/nowhere".into())),
        identity: "ns".into(),
        version: "v".into(),
        sample_rate: sample,
        queue_kib: kib,
        ..DnstapConfig::default()
    }
}

fn drain(hub_q: &super::Queue) -> Vec<u8> {
    let mut spare = Vec::with_capacity(hub_q.buf.lock().unwrap().capacity());
    hub_q.take(&mut spare);
    spare
}

/// Decodes the frames of `out`: (message type, query, response).
fn messages(out: &[u8]) -> Vec<(u64, Option<Vec<u8>>, Option<Vec<u8>>)> {
    let mut v = Vec::new();
    let mut at = 0;
    while let Some((Frame::Data(p), n)) = next_frame(&out[at..], 1 << 20).unwrap() {
        let d = decode(p).unwrap();
        assert_eq!((d.identity.as_deref(), d.version.as_deref()), (Some(&b"ns"[..]), Some(&b"v"[..])));
        let m = d.message.unwrap();
        v.push((m.kind, m.query_message, m.response_message));
        at += n;
    }
    assert_eq!(at, out.len());
    v
}

#[test]
fn every_nth_query_is_captured_with_its_response() {
    let mut hub = Hub::new(&cfg(3, 16));
    let mut tap = hub.tap(Some("127.0.0.1:53".parse().unwrap()), levee_dnstap::Protocol::Udp);
    let (shared, _) = hub.finish();
    let client = "192.0.2.1:4000".parse().unwrap();
    for i in 0u8..9 {
        let r = [0x80 | i; 30];
        tap.capture(client, &[i; 20], if i % 2 == 0 { Some(&r[..]) } else { None });
    }
    let buf = drain(&shared.queues[0]);
    let mut out = Vec::new();
    let n = encode_all(&buf, b"ns", b"v", &mut out);
    let got = messages(&out);
    // Queries 0, 3 and 6; 0 and 6 had responses.
    let want = vec![
        (1, Some(vec![0; 20]), None),
        (2, None, Some(vec![0x80; 30])),
        (1, Some(vec![3; 20]), None),
        (1, Some(vec![6; 20]), None),
        (2, None, Some(vec![0x86; 30])),
    ];
    assert_eq!(got, want);
    assert_eq!(n, 5);
    assert_eq!(shared.queues[0].queued.load(Ordering::Relaxed), 5);
}

#[test]
fn a_full_queue_drops_and_counts_and_never_grows() {
    let mut hub = Hub::new(&DnstapConfig { log_queries: false, ..cfg(1, 16) });
    let mut tap = hub.tap(None, levee_dnstap::Protocol::Tcp);
    let (shared, _) = hub.finish();
    let q = &shared.queues[0];
    let cap = q.buf.lock().unwrap().capacity();
    let client = "[2001:db8::1]:4000".parse().unwrap();
    // 1,000 records of 64 + 200 octets into 16 KiB: 62 fit.
    for _ in 0..1000 {
        tap.capture(client, &[1; 40], Some(&[2; 200]));
    }
    assert_eq!(q.queued.load(Ordering::Relaxed), 16 * 1024 / 264);
    assert_eq!(q.full.load(Ordering::Relaxed), 1000 - 16 * 1024 / 264);
    assert_eq!(q.buf.lock().unwrap().capacity(), cap, "the buffer must not grow");
    // Nothing sent: no capture (log-queries = false).
    tap.capture(client, &[1; 40], None);
    assert_eq!(q.queued.load(Ordering::Relaxed) + q.full.load(Ordering::Relaxed), 1000);
    // Drained, there is room again.
    let _ = drain(q);
    tap.capture(client, &[1; 40], Some(&[2; 200]));
    assert_eq!(q.queued.load(Ordering::Relaxed), 16 * 1024 / 264 + 1);
    assert_eq!(shared.dropped()[0], 1000 - 16 * 1024 / 264);
}

#[test]
fn a_held_queue_drops_as_contended() {
    let mut hub = Hub::new(&cfg(1, 16));
    let mut tap = hub.tap(None, levee_dnstap::Protocol::Udp);
    let (shared, _) = hub.finish();
    let held = shared.queues[0].buf.lock().unwrap();
    tap.capture("192.0.2.1:1".parse().unwrap(), &[0; 12], Some(&[0; 12]));
    drop(held);
    assert_eq!(shared.dropped(), [0, 2, 0, 0]);
}

#[test]
fn capturing_does_not_allocate() {
    let mut hub = Hub::new(&cfg(1, 64));
    let mut tap = hub.tap(Some("[::1]:53".parse().unwrap()), levee_dnstap::Protocol::Udp);
    let (shared, _) = hub.finish();
    let client = "192.0.2.1:1".parse().unwrap();
    let before = levee_io::alloc_count::allocations();
    for _ in 0..1000 {
        tap.capture(client, &[0; 40], Some(&[0; 100]));
    }
    assert_eq!(levee_io::alloc_count::allocations(), before);
    assert!(shared.queues[0].queued.load(Ordering::Relaxed) > 0);
    assert!(shared.queues[0].full.load(Ordering::Relaxed) > 0);
}
