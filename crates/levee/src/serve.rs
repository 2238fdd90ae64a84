//! The drivers: the UDP worker ([`UdpWorker`], one thread per core and
//! listen address, each with its own `SO_REUSEPORT` socket and batched
//! receive and send in `levee_io::udp`) and the TCP service ([`TcpSvc`],
//! on the one thread of `levee_io::tcp`'s `mio` event loop over every
//! listen address, with a fixed connection table). Both answer with their
//! own `levee_answer::Worker` (its one entry point, `Worker::answer`) on
//! the current zone snapshot, count every response written into their own
//! `ops::counters::Counters`, and pass its `Meta` to `events::react`;
//! [`answer_config`] is the answering configuration they share. With
//! dnstap on, each hands a copy of every (sampled) query and response to
//! its own `dnstap::Tap` after answering.
//! [`threads`] starts them.
//!
//! Workers read the snapshot through a per-thread `arc_swap::Cache`, so the
//! query path takes no lock and touches no shared counter.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use arc_swap::{ArcSwap, Cache};
use levee_answer::policy::Policy;
use levee_answer::{
    Decision, Dropped, Load, Options, Received, StreamPeer, Time, Transfer, Transport, UpdateRequest, Worker,
};
use levee_config::Config;
use levee_io::tcp::{TcpAnswer, TcpService, TlsPeer};
use levee_io::udp::{BatchInfo, UdpHandler};
use levee_limit::cookie::Secrets;
use levee_zone::ZoneSet;

use crate::dnstap::Tap;
use crate::events::react;
use crate::gate::known::Feed;
use crate::ops::counters::Counters;
use crate::ops::summaries::Garbage;
use crate::replication::state::Replication;
use crate::update::queue::{Reply, Updates};

type Shared = Arc<ArcSwap<ZoneSet>>;

fn now() -> u32 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as u32).unwrap_or(0)
}

fn client_ip(a: SocketAddr) -> IpAddr {
    match a.ip() {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        ip => ip,
    }
}

/// The answering policy of a configuration.
pub fn answer_config(cfg: &Config) -> levee_answer::Config {
    let secret = cfg.cookies.secret.unwrap_or_else(|| {
        let mut s = [0u8; 16];
        if getrandom::getrandom(&mut s).is_err() {
            // Extremely unlikely; fall back to the clock and PID so
            // cookies still differ between processes.
            let t = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
            s.copy_from_slice(&(t ^ (std::process::id() as u128) << 64).to_le_bytes());
        }
        s
    });
    levee_answer::Config {
        udp_payload: cfg.udp_payload,
        nsid: cfg.nsid.clone(),
        identity: cfg.identity.clone().map(String::into_bytes),
        version: cfg.version.clone().map(String::into_bytes),
        cookies: cfg.cookies.enabled.then_some(Secrets { current: secret, previous: cfg.cookies.previous_secret }),
        tcp_keepalive: Some((cfg.tcp_idle_timeout.min(6553) * 10) as u16),
        keys: cfg.keys.iter().fold(levee_tsig::KeyRing::new(), |mut r, k| {
            r.add(k.clone());
            r
        }),
        updates: crate::update::queue::grants(cfg),
        padding: cfg.tls.padding,
    }
}

/// A monotonic millisecond clock shared by the policy stages.
fn mono_ms(epoch: &std::time::Instant) -> u64 {
    epoch.elapsed().as_millis() as u64
}

/// A UDP worker thread's handler: the answering pipeline (a
/// [`Worker`]), the current snapshot, the clock and the counters.
pub(crate) struct UdpWorker {
    zones: Cache<Shared, Arc<ZoneSet>>,
    worker: Worker,
    epoch: std::time::Instant,
    /// Wall-clock seconds (cookie timestamps, statistics decay), read
    /// again when the monotonic second changes.
    now: u32,
    /// The monotonic second `now` was read in.
    now_read: u64,
    /// Datagrams dropped without an answer, by reason.
    garbage: Arc<Garbage>,
    /// This worker's query counters (operator surface).
    counters: Arc<Counters>,
    /// Replication's state, for the events responses report.
    repl: Arc<Replication>,
    /// Where sources that become known go, when the flood gate runs.
    gate: Option<Feed>,
    /// The flood gate's socket filter is attached to this worker's socket:
    /// the socket's drop count includes what the gate dropped on purpose,
    /// so it is not passed on as a sign of overload (full batches still
    /// are).
    socket_filtered: bool,
    /// Where queries and responses are captured, when dnstap is on.
    dnstap: Option<Tap>,
    /// The update thread's queue, and a duplicate of this worker's
    /// socket it replies from (`update`); `None` when no zone takes
    /// updates (they are refused before reaching the driver) or on an
    /// AF_XDP queue (no socket to reply from: granted updates dropped).
    updates: Option<(Updates, Arc<levee_io::udp::Socket>)>,
}

impl UdpWorker {
    /// A UDP answering pipeline (`Worker::new` with [`Options::UDP`])
    /// answering from `zones`, counting into `garbage` and `counters`,
    /// reporting events to `repl`.
    pub(crate) fn new(
        zones: &Shared,
        worker: Worker,
        epoch: std::time::Instant,
        garbage: &Arc<Garbage>,
        counters: Arc<Counters>,
        repl: &Arc<Replication>,
    ) -> UdpWorker {
        UdpWorker {
            zones: Cache::new(Arc::clone(zones)),
            worker,
            epoch,
            now: now(),
            now_read: 0,
            garbage: Arc::clone(garbage),
            counters,
            repl: Arc::clone(repl),
            gate: None,
            socket_filtered: false,
            dnstap: None,
            updates: None,
        }
    }

    /// The same worker, handing granted updates to the update thread and
    /// letting it reply from `socket`.
    pub(crate) fn with_updates(mut self, updates: Updates, socket: Arc<levee_io::udp::Socket>) -> UdpWorker {
        self.updates = Some((updates, socket));
        self
    }

    /// A granted update: queued for the update thread, which replies;
    /// with the queue full, SERVFAIL at once.
    #[cold]
    #[inline(never)]
    fn update(&self, req: &UpdateRequest, client: SocketAddr, out: &mut [u8]) -> Option<usize> {
        let Some((u, sock)) = &self.updates else {
            self.garbage.count(Dropped::Unanswered);
            return None;
        };
        let (req, reply) = (Box::new(req.clone()), Reply::Udp(Arc::clone(sock), client));
        let r = u.submit(req, reply)?;
        let n = r.len().min(out.len());
        out[..n].copy_from_slice(&r[..n]);
        Some(n)
    }

    /// The same worker, capturing queries and responses to dnstap.
    pub(crate) fn with_dnstap(mut self, tap: Option<Tap>) -> UdpWorker {
        self.dnstap = tap;
        self
    }

    /// The same worker, passing the sources that become known to the
    /// flood gate's controller once per batch.
    pub(crate) fn with_gate_feed(mut self, feed: Feed) -> UdpWorker {
        self.gate = Some(feed);
        self
    }

    /// The same worker, on a socket with the gate's filter attached.
    pub(crate) fn socket_filtered(mut self) -> UdpWorker {
        self.socket_filtered = true;
        self
    }
}

impl UdpHandler for UdpWorker {
    fn batch(&mut self, info: BatchInfo) {
        // One clock read per batch: the wall clock is read once a second.
        let ms = mono_ms(&self.epoch);
        if ms / 1000 != self.now_read {
            self.now = now();
            self.now_read = ms / 1000;
        }
        let dropped = if self.socket_filtered { 0 } else { info.dropped };
        self.worker.tick(Time { mono_ms: ms, wall: self.now }, Load { full: info.full, dropped });
        self.counters.received(info.received as u64, self.now as u64);
        if let Some(t) = &mut self.dnstap {
            t.tick();
        }
        // The previous batch's newly known sources (none: one comparison).
        if let Some(f) = &self.gate {
            f.drain(&mut self.worker);
        }
    }

    fn idle(&mut self) {
        // A replaced zone set stays alive while a worker holds it; the
        // retiring thread frees it once it holds the last reference
        // (`zones::publish::retire`), so an idle worker lets go here.
        let zones = self.zones.load();
        self.worker.release_stale(zones);
        if let Some(f) = &self.gate {
            f.drain(&mut self.worker);
        }
    }

    fn handle(&mut self, query: &[u8], client: SocketAddr, out: &mut [u8]) -> Option<usize> {
        let ip = client_ip(client);
        let zones = self.zones.load();
        // Every response written is counted, sent or withheld.
        let sent = match &self.worker.answer(Received { msg: query, client: ip, transport: Transport::Udp }, zones, out)
        {
            Decision::Send(n, meta) => {
                self.counters.count(meta, ip);
                react(&self.repl, meta, query, client);
                Some(*n)
            }
            Decision::Drop(Dropped::Withheld(meta)) => {
                self.counters.count(meta, ip);
                react(&self.repl, meta, query, client);
                None
            }
            Decision::Drop(why) => {
                self.garbage.count(*why);
                None
            }
            Decision::Transfer(_) => {
                self.garbage.count(Dropped::Unanswered);
                None
            }
            Decision::Update(u) => self.update(u, client, out),
        };
        if let Some(t) = &mut self.dnstap {
            t.capture(client, query, sent.map(|n| &out[..n]));
        }
        sent
    }
}

/// The TCP thread's service: the answering pipeline (a [`Worker`] without
/// a cache) on the current snapshot.
pub(crate) struct TcpSvc {
    zones: Shared,
    worker: Worker,
    epoch: std::time::Instant,
    counters: Arc<Counters>,
    repl: Arc<Replication>,
    gate: Option<Feed>,
    dnstap: Option<Tap>,
    /// The update thread's queue (`update`).
    updates: Option<Updates>,
    /// "tcp", "tls" (DoT) or "quic" (DoQ): named in the log line of each
    /// transfer served, so an operator (and tests/xot) can see a transfer
    /// went over TLS.
    transport: &'static str,
}

impl TcpSvc {
    /// The service answering from `zones` under `cfg`; a TCP query marks
    /// its source known in `policy`.
    pub(crate) fn new(
        zones: &Shared,
        cfg: &Arc<levee_answer::Config>,
        policy: &Arc<Policy>,
        epoch: std::time::Instant,
        counters: Arc<Counters>,
        repl: &Arc<Replication>,
    ) -> TcpSvc {
        let worker = Worker::new(Arc::clone(cfg), Arc::clone(policy), Arc::default(), Options::TCP);
        TcpSvc {
            zones: Arc::clone(zones),
            worker,
            epoch,
            counters,
            repl: Arc::clone(repl),
            gate: None,
            dnstap: None,
            updates: None,
            transport: "tcp",
        }
    }

    /// The same service on a DoT listener (XoT: transfers logged as
    /// `transport="tls"`).
    pub(crate) fn over_tls(mut self) -> TcpSvc {
        self.transport = "tls";
        self
    }

    /// The same service on a DoQ listener (its answering configuration has
    /// no TCP keepalive: RFC 9250 §5.5.2 keeps the edns-tcp-keepalive
    /// option out of DoQ messages). A query that carries the option is
    /// answered without it, as Knot DNS 3.4 answers it over DoQ, rather
    /// than treated as the protocol error the RFC names: a client that
    /// sends it gets its answer from levee as from the reference.
    pub(crate) fn over_quic(mut self) -> TcpSvc {
        self.transport = "quic";
        self
    }

    /// The same service, handing granted updates to the update thread.
    pub(crate) fn with_updates(mut self, updates: Option<Updates>) -> TcpSvc {
        self.updates = updates;
        self
    }

    /// The same service, passing TCP clients to the flood gate.
    pub(crate) fn with_gate_feed(mut self, feed: Option<Feed>) -> TcpSvc {
        self.gate = feed;
        self
    }

    /// The same service, capturing queries and responses to dnstap.
    pub(crate) fn with_dnstap(mut self, tap: Option<Tap>) -> TcpSvc {
        self.dnstap = tap;
        self
    }
}

impl TcpService for TcpSvc {
    type Stream = Transfer;

    fn handle(&mut self, query: &[u8], client: SocketAddr, out: &mut [u8]) -> TcpAnswer<Self::Stream> {
        self.respond(query, client, None, out)
    }

    /// Over TLS: transfers need the transport's ALPN (`dot`, `doq`; RFC
    /// 9103 §7.1), and `tls-client NAME` rules a client certificate
    /// valid for NAME (checked here, by rustls's name check, when a rule
    /// asks: the certificate itself was verified in the handshake).
    fn handle_tls(
        &mut self,
        query: &[u8],
        client: SocketAddr,
        peer: &TlsPeer<'_>,
        out: &mut [u8],
    ) -> TcpAnswer<Transfer> {
        let want: &[u8] = if self.transport == "quic" { b"doq" } else { b"dot" };
        let der = peer.certificate.map(|c| rustls::pki_types::CertificateDer::from(c.to_vec()));
        let valid_for = |name: &str| -> bool {
            let (Some(der), Ok(n)) = (&der, rustls::pki_types::ServerName::try_from(name)) else { return false };
            rustls::server::ParsedCertificate::try_from(der)
                .is_ok_and(|c| rustls::client::verify_server_name(&c, &n).is_ok())
        };
        let identity: Option<&dyn Fn(&str) -> bool> = if der.is_some() { Some(&valid_for) } else { None };
        self.respond(query, client, Some(StreamPeer { alpn_ok: peer.alpn == Some(want), identity }), out)
    }

    fn next(&mut self, stream: &mut Self::Stream, out: &mut [u8]) -> Option<usize> {
        let n = stream.next_message(out);
        if let (Some(_), Some(f)) = (n, stream.failure()) {
            // Once: this is the SERVFAIL message that ends the stream.
            let z = stream.zone();
            tracing::error!(zone = %levee_wire::name::to_text(z.apex()), serial = z.serial(), "outgoing zone transfer failed: {f}");
        }
        n
    }
}

impl TcpSvc {
    /// Answers one stream query (`peer`: over TLS).
    fn respond(
        &mut self,
        query: &[u8],
        client: SocketAddr,
        peer: Option<StreamPeer<'_>>,
        out: &mut [u8],
    ) -> TcpAnswer<Transfer> {
        let zones = self.zones.load();
        let wall = now();
        self.worker.tick(Time { mono_ms: mono_ms(&self.epoch), wall }, Load::default());
        self.counters.received(1, wall as u64);
        let ip = client_ip(client);
        let rx = Received { msg: query, client: ip, transport: Transport::Tcp };
        let decision = match peer {
            Some(p) => self.worker.answer_stream(rx, p, &zones, out),
            None => self.worker.answer(rx, &zones, out),
        };
        if let Some(f) = &self.gate {
            f.drain(&mut self.worker);
        }
        if let Some(t) = &mut self.dnstap {
            t.tick();
            // A transfer's stream is not captured, only its request.
            let sent = if let Decision::Send(n, _) = &decision { Some(&out[..*n]) } else { None };
            t.capture(client, query, sent);
        }
        match decision {
            Decision::Send(n, meta) => {
                self.counters.count(&meta, ip);
                react(&self.repl, &meta, query, client);
                TcpAnswer::Reply(n)
            }
            Decision::Drop(_) => TcpAnswer::Close,
            Decision::Transfer(t) => {
                let kind = if t.is_incremental() { "IXFR" } else { "AXFR" };
                tracing::info!(zone = %levee_wire::name::to_text(t.zone().apex()), serial = t.zone().serial(), %client, kind, transport = self.transport, "outgoing zone transfer");
                TcpAnswer::Stream(*t)
            }
            Decision::Update(u) => {
                // The TCP thread waits for the update thread's reply.
                let Some(up) = &self.updates else { return TcpAnswer::Close };
                let r = up.submit_and_wait(u);
                let n = r.len().min(out.len());
                out[..n].copy_from_slice(&r[..n]);
                TcpAnswer::Reply(n)
            }
        }
    }
}

pub mod threads;

#[cfg(test)]
mod tests;
