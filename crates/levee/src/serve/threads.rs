//! Starting the drivers: one thread per UDP worker and listen address,
//! each with its own socket ([`Drivers::start_udp`]), and one TCP thread
//! over every listener ([`Drivers::start_tcp`]). They share the zone set,
//! the answering configuration and the policy stage's shared part (rate
//! limiter, known sources); each owns its counters, which the operator
//! surface reads through the `Center` ([`Drivers::into_counting`]).

use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use levee_answer::policy::{Overload, Policy, PolicyStats};
use levee_answer::{Options, Worker};
use levee_config::Config;
use levee_dnstap::Protocol;
use levee_io::tcp::{self, TcpLimits, TcpStats};
use levee_io::udp::{self, Socket};
use levee_io::xdp;

use super::{answer_config, Shared, TcpSvc, UdpWorker};
use crate::center::{Counting, XdpQueue};
use crate::gate::known::Feed;
use crate::ops::counters::{self, Counters};
use crate::ops::summaries::Garbage;
use crate::replication::state::Replication;

/// What the drivers share, and their threads once started.
pub struct Drivers {
    /// The answering configuration (`answer_config`).
    answer: Arc<levee_answer::Config>,
    /// The policy stage's shared part.
    policy: Arc<Policy>,
    /// Origin of the drivers' monotonic clock.
    epoch: Instant,
    /// Every driver thread, joined at shutdown.
    handles: Vec<JoinHandle<()>>,
    /// What they count.
    counting: Counting,
    /// Where sources that become known go (the flood gate runs).
    gate: Option<Feed>,
    /// The AF_XDP workers' nap after a batch (`[xdp] coalesce-us`).
    xdp_coalesce: std::time::Duration,
    /// The taps' maker, when dnstap is on.
    dnstap: Option<crate::dnstap::Hub>,
    /// The update thread's queue.
    updates: Option<crate::update::queue::Updates>,
}

impl Drivers {
    /// The shared parts, from the configuration (a random seed for the
    /// rate limiter; a random cookie secret unless one is configured).
    pub fn new(cfg: &Config) -> Drivers {
        let answer = Arc::new(answer_config(cfg));
        let mut seed = [0u8; 8];
        let _ = getrandom::getrandom(&mut seed);
        let overload = Overload { enabled: cfg.overload, ..Overload::default() };
        let policy = Policy::new(cfg.rate_limit.clone(), overload, u64::from_le_bytes(seed));
        let policy = if cfg.gate.enabled { policy.with_gate_feed() } else { policy };
        Drivers {
            answer,
            policy: Arc::new(policy),
            epoch: Instant::now(),
            handles: Vec::new(),
            counting: Counting {
                counters: counters::Set::default(),
                policy: Vec::new(),
                garbage: Arc::new(Garbage::default()),
                tcp: Arc::new(TcpStats::default()),
                tls: Arc::new(TcpStats::default()),
                quic: None,
                xdp: Vec::new(),
                dnstap: None,
                updates: Arc::default(),
            },
            gate: None,
            xdp_coalesce: std::time::Duration::from_micros(u64::from(cfg.xdp.coalesce_us)),
            dnstap: cfg.dnstap.enabled.then(|| crate::dnstap::Hub::new(&cfg.dnstap)),
            updates: None,
        }
    }

    /// Hands granted updates to the update thread's queue (call before
    /// starting the drivers).
    pub fn set_updates(&mut self, u: crate::update::queue::Updates) {
        self.counting.updates = Arc::clone(&u.stats);
        self.updates = Some(u);
    }

    /// Feeds the sources that become known to the flood gate's controller
    /// (call before starting the drivers; the policy was made for it when
    /// `gate.enabled`).
    pub fn set_gate_feed(&mut self, feed: Feed) {
        self.gate = Some(feed);
    }

    /// Starts a UDP worker thread on each socket (with the address it
    /// serves), until `stop`.
    pub fn start_udp(
        &mut self,
        sockets: Vec<(SocketAddr, Socket)>,
        zones: &Shared,
        repl: &Arc<Replication>,
        stop: &Arc<AtomicBool>,
    ) -> Result<(), String> {
        for (i, (addr, sock)) in sockets.into_iter().enumerate() {
            let stats = Arc::new(PolicyStats::default());
            self.counting.policy.push(Arc::clone(&stats));
            let counters = Arc::new(Counters::default());
            self.counting.counters.udp.push(Arc::clone(&counters));
            let pipeline = Worker::new(Arc::clone(&self.answer), Arc::clone(&self.policy), stats, Options::UDP);
            let mut worker = UdpWorker::new(zones, pipeline, self.epoch, &self.counting.garbage, counters, repl);
            if let Some(f) = &self.gate {
                // The gate's socket filter is on this socket: what it
                // drops counts in the socket's drops, which are then no
                // sign of the worker falling behind.
                worker = worker.with_gate_feed(f.clone()).socket_filtered();
            }
            let mut worker = worker.with_dnstap(self.dnstap.as_mut().map(|h| h.tap(Some(addr), Protocol::Udp)));
            if let Some(u) = &self.updates {
                match sock.try_clone() {
                    Ok(dup) => worker = worker.with_updates(u.clone(), Arc::new(dup)),
                    Err(e) => return Err(format!("cannot duplicate a UDP socket for update replies: {e}")),
                }
            }
            let stop = Arc::clone(stop);
            let tx = self.answer.udp_payload as usize;
            let h = std::thread::Builder::new().name(format!("udp-{i}")).spawn(move || {
                tracing::debug!(%addr, "UDP worker started");
                udp::run_worker(sock, worker, tx, stop)
            });
            match h {
                Ok(h) => self.handles.push(h),
                Err(e) => return Err(format!("cannot start a UDP worker: {e}")),
            }
        }
        Ok(())
    }

    /// Starts an AF_XDP worker thread on each opened socket, until `stop`.
    /// Each answers with its own UDP pipeline ([`UdpWorker`], the same
    /// code, counters and load signals as a UDP socket worker); the reply
    /// room is the configured UDP payload size (and the MTU, in the
    /// driver).
    pub fn start_xdp(
        &mut self,
        sockets: Vec<crate::daemon::xdp::Queue>,
        zones: &Shared,
        repl: &Arc<Replication>,
        stop: &Arc<AtomicBool>,
    ) -> Result<(), String> {
        for q in sockets {
            let stats = Arc::new(PolicyStats::default());
            self.counting.policy.push(Arc::clone(&stats));
            let counters = Arc::new(Counters::default());
            self.counting.counters.udp.push(Arc::clone(&counters));
            let pipeline = Worker::new(Arc::clone(&self.answer), Arc::clone(&self.policy), stats, Options::UDP);
            let mut worker = UdpWorker::new(zones, pipeline, self.epoch, &self.counting.garbage, counters, repl);
            if let Some(f) = &self.gate {
                worker = worker.with_gate_feed(f.clone());
            }
            let worker = worker.with_dnstap(self.dnstap.as_mut().map(|h| h.tap(None, Protocol::Udp)));
            let xstats = Arc::new(xdp::XdpStats::default());
            let (iface, queue, mode) = (q.iface.clone(), q.queue, q.xsk.mode());
            self.counting.xdp.push(XdpQueue { iface: iface.clone(), queue, mode, stats: Arc::clone(&xstats) });
            let stop = Arc::clone(stop);
            let opts = xdp::WorkerOptions { tx_size: self.answer.udp_payload as usize, coalesce: self.xdp_coalesce };
            let h = std::thread::Builder::new().name(format!("xdp-{iface}-{queue}")).spawn(move || {
                tracing::debug!(%iface, queue, %mode, "AF_XDP worker started");
                xdp::run_worker(q.xsk, worker, opts, xstats, stop)
            });
            match h {
                Ok(h) => self.handles.push(h),
                Err(e) => return Err(format!("cannot start an AF_XDP worker: {e}")),
            }
        }
        Ok(())
    }

    /// Starts the TCP thread over `listeners`, until `stop`.
    pub fn start_tcp(
        &mut self,
        listeners: Vec<std::net::TcpListener>,
        zones: &Shared,
        repl: &Arc<Replication>,
        cfg: &Config,
        stop: &Arc<AtomicBool>,
    ) -> Result<(), String> {
        let svc =
            TcpSvc::new(zones, &self.answer, &self.policy, self.epoch, Arc::clone(&self.counting.counters.tcp), repl)
                .with_gate_feed(self.gate.clone())
                .with_updates(self.updates.clone())
                .with_dnstap(self.dnstap.as_mut().map(|h| h.tap(tcp_server(&listeners), Protocol::Tcp)));
        let limits = TcpLimits {
            idle_timeout: Duration::from_secs(cfg.tcp_idle_timeout as u64),
            message_timeout: Duration::from_secs(cfg.tcp_message_timeout as u64),
            write_timeout: Duration::from_secs(10),
            max_connections: cfg.tcp_max_connections,
            max_per_source: cfg.tcp_max_per_source,
            buffer_memory: cfg.tcp_buffer_memory,
        };
        let stats = Arc::clone(&self.counting.tcp);
        let stop = Arc::clone(stop);
        let h = std::thread::Builder::new().name("tcp".into()).spawn(move || {
            if let Err(e) = tcp::run(listeners, svc, limits, stats, stop) {
                tracing::error!("TCP server stopped: {e}");
            }
        });
        match h {
            Ok(h) => self.handles.push(h),
            Err(e) => return Err(format!("cannot start the TCP thread: {e}")),
        }
        Ok(())
    }

    /// Starts the DNS-over-TLS thread over `listeners` (none: nothing),
    /// until `stop`: the TCP event loop with TLS, its own connection
    /// table and limits (`[tls]`), answering with a `TcpSvc` of its own.
    pub fn start_tls(
        &mut self,
        listeners: Vec<std::net::TcpListener>,
        setup: Option<levee_io::tls::TlsSetup>,
        zones: &Shared,
        repl: &Arc<Replication>,
        cfg: &Config,
        stop: &Arc<AtomicBool>,
    ) -> Result<(), String> {
        let Some(setup) = setup.filter(|_| !listeners.is_empty()) else { return Ok(()) };
        let svc =
            TcpSvc::new(zones, &self.answer, &self.policy, self.epoch, Arc::clone(&self.counting.counters.tls), repl)
                .over_tls()
                .with_gate_feed(self.gate.clone())
                .with_dnstap(self.dnstap.as_mut().map(|h| h.tap(tcp_server(&listeners), Protocol::Dot)));
        let t = &cfg.tls;
        let limits = TcpLimits {
            idle_timeout: Duration::from_secs(u64::from(t.idle_timeout)),
            message_timeout: Duration::from_secs(u64::from(t.message_timeout)),
            write_timeout: Duration::from_secs(10),
            max_connections: t.max_connections,
            max_per_source: t.max_per_source,
            buffer_memory: t.buffer_memory,
        };
        let stats = Arc::clone(&self.counting.tls);
        let stop = Arc::clone(stop);
        let h = std::thread::Builder::new().name("tls".into()).spawn(move || {
            if let Err(e) = tcp::run_tls(listeners, svc, limits, setup, stats, stop) {
                tracing::error!("DNS-over-TLS server stopped: {e}");
            }
        });
        match h {
            Ok(h) => self.handles.push(h),
            Err(e) => return Err(format!("cannot start the DNS-over-TLS thread: {e}")),
        }
        Ok(())
    }

    /// Starts the DNS-over-QUIC thread over `sockets` (none: nothing),
    /// until `stop`: quinn on a runtime of its own (`levee_io::quic`),
    /// answering with a `TcpSvc` of its own (Message ID 0, no keepalive).
    pub fn start_quic(
        &mut self,
        sockets: Vec<std::net::UdpSocket>,
        setup: Option<levee_io::quic::QuicSetup>,
        zones: &Shared,
        repl: &Arc<Replication>,
        stop: &Arc<AtomicBool>,
    ) -> Result<(), String> {
        let Some(setup) = setup.filter(|_| !sockets.is_empty()) else { return Ok(()) };
        let server = match sockets.as_slice() {
            [one] => one.local_addr().ok(),
            _ => None,
        };
        // No edns-tcp-keepalive in DoQ messages (RFC 9250 §5.5.2).
        let answer = Arc::new(levee_answer::Config { tcp_keepalive: None, ..(*self.answer).clone() });
        let svc = TcpSvc::new(zones, &answer, &self.policy, self.epoch, Arc::clone(&self.counting.counters.quic), repl)
            .over_quic()
            .with_gate_feed(self.gate.clone())
            .with_dnstap(self.dnstap.as_mut().map(|h| h.tap(server, Protocol::Doq)));
        let stats = Arc::new(levee_io::quic::QuicStats::default());
        self.counting.quic = Some(Arc::clone(&stats));
        let stop = Arc::clone(stop);
        let h = std::thread::Builder::new().name("quic".into()).spawn(move || {
            if let Err(e) = levee_io::quic::run_quic(sockets, svc, setup, stats, stop) {
                tracing::error!("DNS-over-QUIC server stopped: {e}");
            }
        });
        match h {
            Ok(h) => self.handles.push(h),
            Err(e) => return Err(format!("cannot start the DNS-over-QUIC thread: {e}")),
        }
        Ok(())
    }

    /// The threads to join at shutdown, and the counters for the center;
    /// with dnstap on, its writer thread is started here, over the queues
    /// of every driver started before.
    pub fn into_counting(mut self, stop: &Arc<AtomicBool>) -> Result<(Vec<JoinHandle<()>>, Counting), String> {
        if let Some(hub) = self.dnstap.take() {
            let (shared, cfg) = hub.finish();
            let h = crate::dnstap::writer::start(Arc::clone(&shared), cfg, Arc::clone(stop))
                .map_err(|e| format!("cannot start the dnstap writer: {e}"))?;
            self.handles.push(h);
            self.counting.dnstap = Some(shared);
        }
        Ok((self.handles, self.counting))
    }
}

/// The address TCP queries arrive at, for dnstap: known when there is one
/// listener (the TCP service is not told which listener a connection came
/// from).
fn tcp_server(listeners: &[std::net::TcpListener]) -> Option<SocketAddr> {
    match listeners {
        [one] => one.local_addr().ok(),
        _ => None,
    }
}
