//! Transfers recorded from dnspython 2.9 (an independent implementation),
//! signed with `xfr-key.example.` (hmac-sha256) at time 1700000000; the
//! request is the first entry of each list.

use super::*;
use levee_tsig::{Algorithm, Key};

const NOW: u64 = 1_700_000_000;

const AXFR: &[&str] = &[
    "424201000001000000000001076578616d706c650000fc0001077866722d6b6579c00c00fa00ff00000000003d0b686d61632d7368613235360000006553f100012c0020fe9875e4990136efa41838ef3a20b5fcda5147c7fc09d2a2a7f30cd3c2442132424200000000",
    "424281000001000300000001076578616d706c650000fc0001c00c000600010000012c001d026e73c00c0168c00c0000000200000002000000030000000400000005c00c000200010000012c0002c025c025000100010000012c0004c0000201077866722d6b6579c00c00fa00ff00000000003d0b686d61632d7368613235360000006553f100012c0020a85be69ee556cdd7fd4e4abb00c9debb8682a993e5da8e8f457e618c3d35012a424200000000",
    "4242810000000003000000010141076578616d706c6500000100010000012c0004c00002030163c00e001000010000012c00020179c00e000600010000012c001d026e73c00e0168c00e0000000200000002000000030000000400000005077866722d6b6579c00e00fa00ff00000000003d0b686d61632d7368613235360000006553f100012c002064af9fe0d49f99c3cbba679561eb6149aebd91bf329b193b8035dff6cdbdb796424200000000",
];
const IXFR: &[&str] = &[
    "424201000001000000010001076578616d706c650000fb0001c00c000600010000012c001d026e73c00c0168c00c0000000100000002000000030000000400000005077866722d6b6579c00c00fa00ff00000000003d0b686d61632d7368613235360000006553f100012c00207e92db22adcad4bddaf79be2fce856ffef99cbb8c1d611769349466b6dcf7c47424200000000",
    "424281000001000500000001076578616d706c650000fb0001c00c000600010000012c001d026e73c00c0168c00c0000000300000002000000030000000400000005c00c000600010000012c0018c025c02a00000001000000020000000300000004000000050161c00c000100010000012c0004c00002020162c00c001000010000012c00020178c00c000600010000012c0018c025c02a0000000200000002000000030000000400000005077866722d6b6579c00c00fa00ff00000000003d0b686d61632d7368613235360000006553f100012c00209db622cf788ff19c7122262e83687a3116e7511b4b8922a06f45fa357fd38ceb424200000000",
    "4242810000000007000000010161076578616d706c6500000100010000012c0004c00002030163c00e001000010000012c00020179c00e000600010000012c001d026e73c00e0168c00e0000000200000002000000030000000400000005c025001000010000012c00020179c00e000600010000012c0018c041c04600000003000000020000000300000004000000050164c00e000100010000012c0004c0000204c00e000600010000012c0018c041c0460000000300000002000000030000000400000005077866722d6b6579c00e00fa00ff00000000003d0b686d61632d7368613235360000006553f100012c0020c8b3df217b7742a235926d54d3a53321e13566ebafc64fd1cebe7859d647af89424200000000",
];
const UPTODATE: &[&str] = &[
    "424201000001000000010001076578616d706c650000fb0001c00c000600010000012c001d026e73c00c0168c00c0000000300000002000000030000000400000005077866722d6b6579c00c00fa00ff00000000003d0b686d61632d7368613235360000006553f100012c00206fcf69b50cbb8e8d1b7219a72f8b25be2665bb05ca5be273513fa25f371e98a4424200000000",
    "424281000001000100000001076578616d706c650000fb0001c00c000600010000012c001d026e73c00c0168c00c0000000300000002000000030000000400000005077866722d6b6579c00c00fa00ff00000000003d0b686d61632d7368613235360000006553f100012c00207e96c084f38ba807e313667e77c1b904422097a9614fb67c4593dd0ed22b39a2424200000000",
];

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn key() -> Key {
    Key::new("xfr-key.example.", Algorithm::HmacSha256, b"levee tsig test secret 0123456789".to_vec()).unwrap()
}

const ZONE: &[u8] = b"\x07example\x00";

/// Our request: must be what dnspython sent, byte for byte (same ID, key, time).
fn req(v: &[&str], qtype: u16, ours: Option<u32>) -> Request {
    let k = key();
    let soa = ours.map(|s| {
        let mut rd = b"\x02ns\x07example\x00\x01h\x07example\x00".to_vec();
        for x in [s, 2, 3, 4, 5] {
            rd.extend_from_slice(&x.to_be_bytes());
        }
        Rr { owner: ZONE.to_vec(), rtype: t::SOA, ttl: 300, rdata: rd }
    });
    let r = request(0x4242, ZONE, qtype, soa.as_ref(), false, Some(&k), NOW);
    // Same content as dnspython's (which compresses names): question,
    // authority, and a TSIG record for the same key and algorithm.
    let want = Message::parse(&hex(v[0])).unwrap();
    let got = Message::parse(&r.msg).unwrap();
    assert_eq!(got.question, want.question);
    assert_eq!(got.authority, want.authority);
    assert_eq!(got.additional.len(), 1);
    assert_eq!(got.additional[0].owner, want.additional[0].owner);
    assert_eq!(got.additional[0].rdata[..13], want.additional[0].rdata[..13]);
    // The dnspython request's MAC is what the responses chain from.
    let q = hex(v[0]);
    let rec = levee_tsig::parse(&q).unwrap().unwrap();
    Request { msg: q.clone(), id: 0x4242, mac: Some(MacBuf::from_slice(rec.mac)) }
}

#[test]
fn axfr_in() {
    let k = key();
    let r = req(AXFR, t::AXFR, None);
    let mut rx = Receiver::new(&r, ZONE, None, Some(&k), NOW);
    assert_eq!(rx.message(&hex(AXFR[1])).unwrap(), None);
    let Some(Received::Full(recs)) = rx.message(&hex(AXFR[2])).unwrap() else { panic!() };
    assert_eq!(recs.len(), 5);
    assert_eq!(soa::serial(&recs[0].rdata), Some(2));
    assert_eq!(recs[3].owner, b"\x01a\x07example\x00", "owners are lowercased");
    // A damaged message fails TSIG.
    let mut rx = Receiver::new(&r, ZONE, None, Some(&k), NOW);
    let mut bad = hex(AXFR[1]);
    bad[40] ^= 1;
    assert!(matches!(rx.message(&bad), Err(XfrError::Tsig(_)) | Err(XfrError::Malformed)));
    // Messages out of order: BADSIG.
    let mut rx = Receiver::new(&r, ZONE, None, Some(&k), NOW);
    assert!(matches!(rx.message(&hex(AXFR[2])), Err(XfrError::Tsig(_)) | Err(XfrError::BadStructure)));
    // Truncated anywhere: an error or "more", never a panic.
    for cut in 0..hex(AXFR[1]).len() {
        let mut rx = Receiver::new(&r, ZONE, None, Some(&k), NOW);
        let _ = rx.message(&hex(AXFR[1])[..cut]);
    }
}

#[test]
fn ixfr_in() {
    let k = key();
    let r = req(IXFR, t::IXFR, Some(1));
    let mut rx = Receiver::new(&r, ZONE, Some(1), Some(&k), NOW);
    assert_eq!(rx.message(&hex(IXFR[1])).unwrap(), None);
    let Some(Received::Incremental(d)) = rx.message(&hex(IXFR[2])).unwrap() else { panic!() };
    assert_eq!(d.len(), 2);
    assert_eq!((d[0].from(), d[0].to(), d[0].removed.len(), d[0].added.len()), (1, 2, 2, 2));
    assert_eq!((d[1].from(), d[1].to(), d[1].removed.len(), d[1].added.len()), (2, 3, 1, 1));
    // Applied to version 1, the differences give version 3.
    let mut v1 = vec![d[0].old_soa.clone()];
    v1.extend(d[0].removed.iter().cloned());
    v1.push(Rr { owner: b"\x02ns\x07example\x00".to_vec(), rtype: t::A, ttl: 300, rdata: vec![192, 0, 2, 1] });
    let v3 = levee_zone::journal::apply(&levee_zone::journal::apply(&v1, &d[0]).unwrap(), &d[1]).unwrap();
    assert_eq!(soa::serial(&v3[0].rdata), Some(3));
    assert_eq!(v3.len(), 4); // SOA, a A .3, d A, ns A
}

#[test]
fn ixfr_up_to_date() {
    let k = key();
    let r = req(UPTODATE, t::IXFR, Some(3));
    let mut rx = Receiver::new(&r, ZONE, Some(3), Some(&k), NOW);
    assert_eq!(rx.message(&hex(UPTODATE[1])).unwrap(), Some(Received::UpToDate(3)));
    // Unsigned answer to a signed request: refused.
    let mut m = hex(UPTODATE[1]);
    let rec = levee_tsig::parse(&m).unwrap().unwrap();
    m.truncate(rec.start);
    m[11] = 0;
    let mut rx = Receiver::new(&r, ZONE, Some(3), Some(&k), NOW);
    assert_eq!(rx.message(&m), Err(XfrError::Tsig(levee_tsig::Error::Unsigned)));
    // Wrong ID.
    let mut rx = Receiver::new(&Request { id: 7, ..r.clone() }, ZONE, Some(3), Some(&k), NOW);
    assert_eq!(rx.message(&hex(UPTODATE[1])), Err(XfrError::Mismatch));
}

#[test]
fn timers() {
    let mut tm = Timers::new(100);
    assert!(tm.expired(100));
    assert_eq!(tm.next_wake(100), 100);
    tm.failed(100);
    assert_eq!(tm.next_wake(100), 130, "no data yet: retry within 30 s");
    for (k, wait) in [1, 2, 4, 8, 16, 30, 30].into_iter().enumerate() {
        tm.failed_network(100);
        assert_eq!(tm.next_wake(100), 100 + wait, "network failure {}: back off, at most 30 s without data", k + 1);
    }
    let mut rd = b"\x02ns\x00\x01h\x00".to_vec();
    for x in [7u32, 20, 5, 60, 300] {
        rd.extend_from_slice(&x.to_be_bytes());
    }
    tm.set_from_soa(&rd);
    assert_eq!((tm.refresh, tm.retry, tm.expire), (20, 5, 60));
    tm.ok(100);
    assert!(!tm.expired(159));
    assert!(tm.expired(160));
    assert_eq!(tm.next_wake(100), 120);
    tm.failed(120);
    assert_eq!(tm.next_wake(120), 125);
    tm.failed_network(120);
    assert_eq!(tm.next_wake(120), 121, "success reset the backoff: 1 s");
    tm.failed_network(121);
    assert_eq!(tm.next_wake(121), 123);
    tm.failed_network(123);
    assert_eq!(tm.next_wake(123), 127);
    tm.failed_network(127);
    assert_eq!(tm.next_wake(127), 132, "then the SOA retry (5 s) at most");
    tm.failed(155);
    assert_eq!(tm.next_wake(155), 160, "expiry comes before the retry");
    assert_eq!(tm.next_wake(161), 160, "past expiry, keep retrying");
}

/// A wall clock that ran ahead and was set back: the check is not put
/// off by the jump, and a confirmation "in the future" does not extend
/// the zone's life.
#[test]
fn timers_after_the_clock_stepped_back() {
    let mut rd = b"\x02ns\x00\x01h\x00".to_vec();
    for x in [7u32, 20, 5, 60, 300] {
        rd.extend_from_slice(&x.to_be_bytes());
    }
    let mut tm = Timers::new(0);
    tm.set_from_soa(&rd);
    tm.ok(1000);
    assert!(!tm.settle(1000), "nothing to put right on a steady clock");
    assert!(!tm.settle(1019));
    // The clock ran 600 s ahead: a failed check there retries at 1605...
    tm.failed(1600);
    // ...and it is set back to 1002: check now, not in 603 s.
    assert!(tm.settle(1002));
    assert_eq!(tm.next_wake(1002), 1002);
    // Confirmed at 1600 (the wrong clock), then set back to 1010: the
    // zone expires 60 s after 1010, not after 1600.
    tm.ok(1600);
    assert!(tm.settle(1010));
    assert_eq!(tm.expires_at(), Some(1070));
    assert_eq!(tm.next_wake(1010), 1010);
}

/// A damaged transfer is an error, never a panic.
#[test]
fn mutations_never_panic() {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut rnd = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let k = key();
    for _ in 0..5_000 {
        let (v, qt, ours) = match rnd() % 3 {
            0 => (AXFR, t::AXFR, None),
            1 => (IXFR, t::IXFR, Some(1)),
            _ => (UPTODATE, t::IXFR, Some(3)),
        };
        let q = hex(v[0]);
        let rec = levee_tsig::parse(&q).unwrap().unwrap();
        let r = Request { msg: q.clone(), id: 0x4242, mac: Some(MacBuf::from_slice(rec.mac)) };
        let signed = rnd() % 2 == 0;
        let mut rx = Receiver::new(&r, ZONE, ours, signed.then_some(&k), NOW);
        for m in &v[1..] {
            let mut m = hex(m);
            if rnd() % 2 == 0 {
                let i = (rnd() % m.len() as u64) as usize;
                m[i] ^= 1 << (rnd() % 8);
            }
            if rnd() % 4 == 0 {
                m.truncate((rnd() % (m.len() as u64 + 1)) as usize);
            }
            if rx.message(&m).is_err() {
                break;
            }
        }
        let _ = qt;
        let _ = check_response(&r, &hex(v[1]), Some(&k), NOW);
    }
}

//------------ message splits, RDATA checks, budgets (issue 15) ---------------

fn soa(serial: u32) -> Rr {
    let mut rd = b"\x02ns\x07example\x00\x01h\x07example\x00".to_vec();
    for x in [serial, 2, 3, 4, 5] {
        rd.extend_from_slice(&x.to_be_bytes());
    }
    Rr { owner: ZONE.to_vec(), rtype: t::SOA, ttl: 300, rdata: rd }
}

fn a(label: &str, last: u8) -> Rr {
    let mut owner = vec![label.len() as u8];
    owner.extend_from_slice(label.as_bytes());
    owner.extend_from_slice(ZONE);
    Rr { owner, rtype: t::A, ttl: 300, rdata: vec![192, 0, 2, last] }
}

/// An unsigned response message to request `id` holding `recs`.
fn msg(id: u16, recs: &[Rr]) -> Vec<u8> {
    let mut m = id.to_be_bytes().to_vec();
    m.extend_from_slice(&[0x84, 0, 0, 0]);
    m.extend_from_slice(&(recs.len() as u16).to_be_bytes());
    m.extend_from_slice(&[0, 0, 0, 0]);
    for r in recs {
        m.extend_from_slice(&r.owner);
        m.extend_from_slice(&r.rtype.to_be_bytes());
        m.extend_from_slice(&c::IN.to_be_bytes());
        m.extend_from_slice(&r.ttl.to_be_bytes());
        m.extend_from_slice(&(r.rdata.len() as u16).to_be_bytes());
        m.extend_from_slice(&r.rdata);
    }
    m
}

/// Feeds `stream` cut into messages of `sizes` records (the last size
/// repeats); returns the result and how many messages were consumed.
fn feed(rx: &mut Receiver<'_>, stream: &[Rr], sizes: &[usize]) -> (Result<Option<Received>, XfrError>, usize) {
    let (mut i, mut n) = (0, 0);
    while i < stream.len() {
        let k = sizes[n.min(sizes.len() - 1)].min(stream.len() - i);
        let r = rx.message(&msg(1, &stream[i..i + k]));
        i += k;
        n += 1;
        if !matches!(r, Ok(None)) || i == stream.len() {
            return (r, n);
        }
    }
    (Ok(None), n)
}

fn axfr_stream(n: u8) -> Vec<Rr> {
    let mut v = vec![soa(7)];
    v.extend((0..n).map(|i| a(&format!("h{i}"), i)));
    v.push(soa(7));
    v
}

#[test]
fn any_message_split_is_accepted() {
    let req = request(1, ZONE, t::AXFR, None, false, None, NOW);
    let stream = axfr_stream(20);
    // All in one, SOA alone first, one record per message, pairs.
    for sizes in [&[usize::MAX][..], &[1, usize::MAX], &[1], &[2], &[1, 1, 5]] {
        let mut rx = Receiver::new(&req, ZONE, None, None, NOW);
        let (r, _) = feed(&mut rx, &stream, sizes);
        let Ok(Some(Received::Full(recs))) = r else { panic!("{sizes:?}: {r:?}") };
        assert_eq!(recs.len(), 21, "{sizes:?}");
    }
    // The same for an IXFR answered in AXFR form (our serial 6, theirs 7),
    // and for a real IXFR (6 -> 7) with the SOA alone first.
    let ours = soa(6);
    let req = request(1, ZONE, t::IXFR, Some(&ours), false, None, NOW);
    let mut rx = Receiver::new(&req, ZONE, Some(6), None, NOW);
    let (r, n) = feed(&mut rx, &stream, &[1, usize::MAX]);
    assert!(matches!(r, Ok(Some(Received::Full(ref v))) if v.len() == 21), "{r:?}");
    assert_eq!(n, 2);
    let ixfr = vec![soa(7), soa(6), a("old", 1), soa(7), a("new", 2), soa(7)];
    for sizes in [&[usize::MAX][..], &[1, usize::MAX], &[1]] {
        let mut rx = Receiver::new(&req, ZONE, Some(6), None, NOW);
        let (r, _) = feed(&mut rx, &ixfr, sizes);
        let Ok(Some(Received::Incremental(d))) = r else { panic!("{sizes:?}: {r:?}") };
        assert_eq!((d.len(), d[0].removed.len(), d[0].added.len()), (1, 1, 1));
    }
}

#[test]
fn a_lone_soa_is_up_to_date_only_when_not_newer() {
    let ours = soa(7);
    let req = request(1, ZONE, t::IXFR, Some(&ours), false, None, NOW);
    // Same serial, or older: up to date at once.
    for s in [7, 5] {
        let mut rx = Receiver::new(&req, ZONE, Some(7), None, NOW);
        assert_eq!(rx.message(&msg(1, &[soa(s)])), Ok(Some(Received::UpToDate(s))));
    }
    // Newer: more must follow; a close then means "ask AXFR".
    let mut rx = Receiver::new(&req, ZONE, Some(7), None, NOW);
    assert_eq!(rx.message(&msg(1, &[soa(8)])), Ok(None));
    assert_eq!(rx.end_of_stream(), Ok(Received::UpToDate(8)));
    // An AXFR that stops after its first SOA, or midway, is incomplete.
    let req = request(1, ZONE, t::AXFR, None, false, None, NOW);
    let mut rx = Receiver::new(&req, ZONE, None, None, NOW);
    assert_eq!(rx.message(&msg(1, &[soa(8)])), Ok(None));
    assert_eq!(rx.end_of_stream(), Err(XfrError::Incomplete));
    let mut rx = Receiver::new(&req, ZONE, None, None, NOW);
    assert_eq!(rx.message(&msg(1, &[soa(8), a("x", 1)])), Ok(None));
    assert_eq!(rx.end_of_stream(), Err(XfrError::Incomplete));
    // Nothing may follow the end.
    let mut rx = Receiver::new(&req, ZONE, None, None, NOW);
    assert!(rx.message(&msg(1, &axfr_stream(2))).unwrap().is_some());
    assert_eq!(rx.message(&msg(1, &[a("late", 1)])), Err(XfrError::BadStructure));
}

#[test]
fn records_the_loader_would_refuse_fail_the_transfer() {
    let req = request(1, ZONE, t::AXFR, None, false, None, NOW);
    let bad: &[(u16, &[u8])] = &[
        (t::A, &[1, 2, 3]),
        (t::AAAA, &[1, 2, 3, 4, 5]),
        (t::TXT, b"\x05abc"),
        (t::CAA, b""),
        (t::SVCB, b"\x00\x01\x00\x00\x03\x00\x02\x00\x35\x00\x01\x00\x03\x02h2"),
    ];
    for (rt, rd) in bad {
        let mut stream = axfr_stream(3);
        stream.insert(2, Rr { owner: a("bad", 0).owner, rtype: *rt, ttl: 60, rdata: rd.to_vec() });
        let mut rx = Receiver::new(&req, ZONE, None, None, NOW);
        let (r, _) = feed(&mut rx, &stream, &[1]);
        let Err(XfrError::BadRecord(e)) = r else { panic!("{rt}: {r:?}") };
        let tname = levee_wire::rtype::type_to_text(*rt);
        assert!(e.starts_with(&format!("bad.example. {tname}: ")), "{e}");
    }
}

#[test]
fn the_budget_cuts_a_transfer() {
    let req = request(1, ZONE, t::AXFR, None, false, None, NOW);
    let stream = axfr_stream(100);
    let mut rx =
        Receiver::new(&req, ZONE, None, None, NOW).with_budget(Budget { max_records: 50, max_bytes: u64::MAX });
    let (r, _) = feed(&mut rx, &stream, &[10]);
    assert!(matches!(r, Err(XfrError::OverBudget(ref e)) if e.contains("50 records")), "{r:?}");
    assert_eq!(rx.records(), 51);
    let mut rx = Receiver::new(&req, ZONE, None, None, NOW).with_budget(Budget { max_records: 1000, max_bytes: 500 });
    let (r, _) = feed(&mut rx, &stream, &[10]);
    assert!(matches!(r, Err(XfrError::OverBudget(ref e)) if e.contains("500 octets")), "{r:?}");
    let mut rx = Receiver::new(&req, ZONE, None, None, NOW).with_budget(Budget { max_records: 102, max_bytes: 10_000 });
    assert!(matches!(feed(&mut rx, &stream, &[10]).0, Ok(Some(Received::Full(_)))));
}
