//! A scripted fake primary for the fault-injection suite ([`crate::faults`]).
//!
//! A small DNS server on 127.0.0.1 (UDP and TCP on one port 0) for one
//! zone. UDP answers SOA queries with the current version's SOA. TCP
//! answers AXFR and IXFR as the [`Script`] says: chosen message splits,
//! one record every N seconds, an endless stream, silence, a difference
//! that removes records the secondary does not have, an rcode. Every
//! request is logged (type and time) for the tests to count.
//!
//! Bounded: every thread stops when the primary is dropped, and every
//! stream stops by itself (an endless one after [`STREAM_CAP`] or
//! [`STREAM_TIME`]).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use levee_wire::name;
use levee_wire::rtype::t;

/// Most records an endless stream sends.
pub const STREAM_CAP: u64 = 20_000_000;
/// Longest any stream or held connection lasts.
pub const STREAM_TIME: Duration = Duration::from_secs(90);

/// One record (owner in wire form).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rec {
    pub owner: Vec<u8>,
    pub rtype: u16,
    pub ttl: u32,
    pub rdata: Vec<u8>,
}

/// A record from presentation-form owner (relative to nothing: absolute).
pub fn rec(owner: &str, rtype: u16, rdata: &[u8]) -> Rec {
    Rec { owner: name::from_text(owner, None).unwrap().as_slice().to_vec(), rtype, ttl: 300, rdata: rdata.to_vec() }
}

/// How AXFR (and IXFR answered in full) is sent.
#[derive(Clone, Debug)]
pub enum Stream {
    /// The zone, records per message as given (the last size repeats).
    Split(Vec<usize>),
    /// One record per message, one message every `every`; without the
    /// closing SOA when `endless` (the records repeat).
    Trickle { every: Duration, endless: bool },
    /// The first SOA, then the same 100 records over and over as fast as
    /// the secondary reads, never the closing SOA (no message holds the
    /// SOA alone).
    Endless,
    /// Reads the request, sends nothing, holds the connection.
    Silent,
    /// The first `n` records of the zone (SOA first), then the
    /// connection closed: no closing SOA.
    Cut(usize),
}

/// How IXFR is answered.
#[derive(Clone, Debug)]
pub enum Ixfr {
    /// In AXFR form (as [`Script::axfr`] says).
    Full,
    /// One difference from `from` to the current serial.
    Diff { from: u32, removed: Vec<Rec>, added: Vec<Rec> },
    /// An error rcode.
    Rcode(u8),
}

/// What the primary serves.
#[derive(Clone, Debug)]
pub struct Script {
    /// The zone, SOA first (no closing SOA).
    pub zone: Vec<Rec>,
    pub axfr: Stream,
    pub ixfr: Ixfr,
}

/// A request the primary received (its type).
#[derive(Clone, Copy, Debug)]
pub struct Seen {
    pub qtype: u16,
}

pub struct FakePrimary {
    pub addr: SocketAddr,
    script: Arc<Mutex<Script>>,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
    /// Records sent by all streams so far.
    pub sent: Arc<AtomicU64>,
}

/// SOA RDATA for `apex` with the given serial and timers
/// (refresh, retry, expire, minimum).
pub fn soa_rdata(apex: &[u8], serial: u32, timers: [u32; 4]) -> Vec<u8> {
    let mut rd = b"\x03ns1".to_vec();
    rd.extend_from_slice(apex);
    rd.extend_from_slice(b"\x0ahostmaster");
    rd.extend_from_slice(apex);
    for x in [serial, timers[0], timers[1], timers[2], timers[3]] {
        rd.extend_from_slice(&x.to_be_bytes());
    }
    rd
}

/// The serial of SOA RDATA.
pub fn serial_of(rd: &[u8]) -> u32 {
    u32::from_be_bytes(rd[rd.len() - 20..rd.len() - 16].try_into().unwrap())
}

impl FakePrimary {
    /// Starts serving `script` (its zone: the SOA's owner).
    pub fn start(script: Script) -> FakePrimary {
        let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = tcp.local_addr().unwrap();
        let udp = UdpSocket::bind(addr).unwrap();
        let f = FakePrimary {
            addr,
            script: Arc::new(Mutex::new(script)),
            seen: Arc::new(Mutex::new(Vec::new())),
            stop: Arc::new(AtomicBool::new(false)),
            sent: Arc::new(AtomicU64::new(0)),
        };
        let (script, seen, stop) = (Arc::clone(&f.script), Arc::clone(&f.seen), Arc::clone(&f.stop));
        std::thread::spawn(move || serve_udp(udp, script, seen, stop));
        let (script, seen, stop, sent) =
            (Arc::clone(&f.script), Arc::clone(&f.seen), Arc::clone(&f.stop), Arc::clone(&f.sent));
        std::thread::spawn(move || serve_tcp(tcp, script, seen, stop, sent));
        f
    }

    /// Changes what is served from now on.
    pub fn set(&self, change: impl FnOnce(&mut Script)) {
        change(&mut self.script.lock().unwrap());
    }

    /// Requests of this type seen so far.
    pub fn count(&self, qtype: u16) -> usize {
        self.seen.lock().unwrap().iter().filter(|s| s.qtype == qtype).count()
    }

    /// Every request seen so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for FakePrimary {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// A response to query `q` (its ID; with its question when `question`)
/// holding `recs` in the answer section, and `rcode`.
pub fn message(q: &[u8], question: bool, rcode: u8, recs: &[Rec]) -> Vec<u8> {
    let qend = 12 + name::wire_len(&q[12..]).unwrap() + 4;
    let mut m = q[..2].to_vec();
    m.extend_from_slice(&[0x84 | (q[2] & 0x78), rcode, 0, question as u8]);
    m.extend_from_slice(&(recs.len() as u16).to_be_bytes());
    m.extend_from_slice(&[0, 0, 0, 0]);
    if question {
        m.extend_from_slice(&q[12..qend]);
    }
    for r in recs {
        m.extend_from_slice(&r.owner);
        m.extend_from_slice(&r.rtype.to_be_bytes());
        m.extend_from_slice(&[0, 1]);
        m.extend_from_slice(&r.ttl.to_be_bytes());
        m.extend_from_slice(&(r.rdata.len() as u16).to_be_bytes());
        m.extend_from_slice(&r.rdata);
    }
    m
}

fn qtype_of(q: &[u8]) -> Option<u16> {
    let n = name::wire_len(q.get(12..)?).ok()?;
    let p = 12 + n;
    Some(u16::from_be_bytes(q.get(p..p + 2)?.try_into().ok()?))
}

fn serve_udp(udp: UdpSocket, script: Arc<Mutex<Script>>, seen: Arc<Mutex<Vec<Seen>>>, stop: Arc<AtomicBool>) {
    udp.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    let mut buf = [0u8; 4096];
    while !stop.load(Ordering::SeqCst) {
        let Ok((n, from)) = udp.recv_from(&mut buf) else { continue };
        let q = &buf[..n];
        let Some(qtype) = qtype_of(q) else { continue };
        seen.lock().unwrap().push(Seen { qtype });
        let soa = script.lock().unwrap().zone[0].clone();
        let _ = udp.send_to(&message(q, true, 0, &[soa]), from);
    }
}

fn serve_tcp(
    tcp: TcpListener,
    script: Arc<Mutex<Script>>,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
) {
    tcp.set_nonblocking(true).unwrap();
    while !stop.load(Ordering::SeqCst) {
        let Ok((s, _)) = tcp.accept() else {
            std::thread::sleep(Duration::from_millis(10));
            continue;
        };
        let (script, seen, stop, sent) = (Arc::clone(&script), Arc::clone(&seen), Arc::clone(&stop), Arc::clone(&sent));
        std::thread::spawn(move || {
            let _ = connection(s, &script, &seen, &stop, &sent);
        });
    }
}

fn connection(
    mut s: TcpStream,
    script: &Mutex<Script>,
    seen: &Mutex<Vec<Seen>>,
    stop: &AtomicBool,
    sent: &AtomicU64,
) -> std::io::Result<()> {
    s.set_nonblocking(false)?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.set_write_timeout(Some(Duration::from_secs(5)))?;
    let mut len = [0u8; 2];
    s.read_exact(&mut len)?;
    let mut q = vec![0u8; u16::from_be_bytes(len) as usize];
    s.read_exact(&mut q)?;
    let Some(qtype) = qtype_of(&q) else { return Ok(()) };
    seen.lock().unwrap().push(Seen { qtype });
    let sc = script.lock().unwrap().clone();
    let mut out = Out { s, q, first: true, stop, sent, started: Instant::now() };
    if qtype == t::IXFR {
        match &sc.ixfr {
            Ixfr::Full => {}
            Ixfr::Rcode(rc) => return out.send(*rc, &[]),
            Ixfr::Diff { from, removed, added } => {
                let new = sc.zone[0].clone();
                let mut old = new.clone();
                let apex = old.owner.clone();
                let timers = soa_timers(&new.rdata);
                old.rdata = soa_rdata(&apex, *from, timers);
                let mut stream = vec![new.clone(), old];
                stream.extend(removed.iter().cloned());
                stream.push(new.clone());
                stream.extend(added.iter().cloned());
                stream.push(new);
                return out.split(&stream, &[usize::MAX]);
            }
        }
    } else if qtype != t::AXFR {
        return Ok(());
    }
    let mut stream = sc.zone.clone();
    stream.push(sc.zone[0].clone());
    match sc.axfr {
        Stream::Split(sizes) => out.split(&stream, &sizes),
        Stream::Trickle { every, endless } => out.trickle(&stream, every, endless),
        Stream::Endless => out.endless(&sc.zone),
        Stream::Cut(n) => out.split(&sc.zone[..n.min(sc.zone.len())], &[usize::MAX]),
        Stream::Silent => {
            while !out.over() {
                std::thread::sleep(Duration::from_millis(50));
            }
            Ok(())
        }
    }
}

fn soa_timers(rd: &[u8]) -> [u32; 4] {
    let f = &rd[rd.len() - 16..];
    let u = |i: usize| u32::from_be_bytes(f[i..i + 4].try_into().unwrap());
    [u(0), u(4), u(8), u(12)]
}

/// Sends the messages of one response.
struct Out<'a> {
    s: TcpStream,
    q: Vec<u8>,
    first: bool,
    stop: &'a AtomicBool,
    sent: &'a AtomicU64,
    started: Instant,
}

impl Out<'_> {
    fn over(&self) -> bool {
        self.stop.load(Ordering::SeqCst) || self.started.elapsed() > STREAM_TIME
    }

    fn send(&mut self, rcode: u8, recs: &[Rec]) -> std::io::Result<()> {
        let m = message(&self.q, self.first, rcode, recs);
        self.first = false;
        let mut framed = (m.len() as u16).to_be_bytes().to_vec();
        framed.extend_from_slice(&m);
        self.s.write_all(&framed)?;
        self.sent.fetch_add(recs.len() as u64, Ordering::Relaxed);
        Ok(())
    }

    fn split(&mut self, stream: &[Rec], sizes: &[usize]) -> std::io::Result<()> {
        let (mut i, mut n) = (0, 0);
        while i < stream.len() && !self.over() {
            // At most what fits in a message.
            let k = sizes[n.min(sizes.len() - 1)].min(stream.len() - i).min(400);
            self.send(0, &stream[i..i + k])?;
            i += k;
            n += 1;
        }
        // Let the secondary close first (as a real server would wait for
        // its next query).
        std::thread::sleep(Duration::from_millis(200));
        Ok(())
    }

    fn trickle(&mut self, stream: &[Rec], every: Duration, endless: bool) -> std::io::Result<()> {
        self.send(0, &stream[..1])?;
        let body = &stream[1..stream.len() - 1];
        let mut i = 0;
        while !self.over() {
            std::thread::sleep(every);
            if i < body.len() || (endless && !body.is_empty()) {
                self.send(0, std::slice::from_ref(&body[i % body.len()]))?;
                i += 1;
            } else {
                return self.send(0, &stream[stream.len() - 1..]);
            }
        }
        Ok(())
    }

    fn endless(&mut self, zone: &[Rec]) -> std::io::Result<()> {
        let apex = zone[0].owner.clone();
        let batch: Vec<Rec> = (0..100u32)
            .map(|i| {
                let mut owner = format!("\x06e{i:05}").into_bytes();
                owner.extend_from_slice(&apex);
                Rec { owner, rtype: t::A, ttl: 300, rdata: i.to_be_bytes().to_vec() }
            })
            .collect();
        // The SOA with the first batch (a lone SOA is another case).
        let mut first = vec![zone[0].clone()];
        first.extend(batch.iter().cloned());
        self.send(0, &first)?;
        let m = message(&self.q, false, 0, &batch);
        let mut framed = (m.len() as u16).to_be_bytes().to_vec();
        framed.extend_from_slice(&m);
        while !self.over() && self.sent.load(Ordering::Relaxed) < STREAM_CAP {
            self.s.write_all(&framed)?;
            self.sent.fetch_add(100, Ordering::Relaxed);
        }
        Ok(())
    }
}
