//! `levee serve`: the daemon.
//!
//! Thread layout:
//!
//! * one UDP worker thread per core and listen address, each with its own
//!   `SO_REUSEPORT` socket (`levee_io::udp`), answering with
//!   `levee_answer::respond` on the current zone snapshot;
//! * one TCP thread running the `mio` event loop of `levee_io::tcp` over
//!   every listen address, with a fixed connection table;
//! * a one-thread Tokio runtime for signals, reloads, the periodic
//!   summaries of the flood defences (`stats`) and the management
//!   listener (`mgmt`: metrics, API, dashboard), which only reads the
//!   per-thread counters (`counters`);
//! * reloads (SIGHUP) build a new `ZoneSet` on a blocking thread and swap
//!   it in; a zone that fails to load keeps its previous version. The
//!   zones are read without the publish lock (each on a guarded thread,
//!   `zones::load::load_guarded`), the lock is held only to merge and publish,
//!   and the signal loop never waits for a reload: SIGTERM is honoured
//!   during one, and systemd always gets `READY=1` after `RELOADING=1`.
//!
//! Workers read the snapshot through a per-thread `arc_swap::Cache`, so the
//! query path takes no lock and touches no shared counter.

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arc_swap::{ArcSwap, Cache};
use levee_answer::cache::{self, Lookup, ResponseCache};
use levee_answer::policy::{Overload, Policy, PolicyStats, Verdict, WorkerPolicy};
use levee_answer::{
    name_error_below_apex, respond, respond_hinted, respond_plain_walk, slip, Hints, Meta, Outcome, Request, Transport,
};
use levee_config::Config;
use levee_io::tcp::{self, TcpAnswer, TcpLimits, TcpService, TcpStats};
use levee_io::udp::{self, BatchInfo, UdpHandler};
use levee_limit::cookie::Secrets;
use levee_zone::ZoneSet;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;

use crate::center::{Center, Counting, Parts};
use crate::daemon::privileges::drop_privileges;
use crate::daemon::sd_notify::notify;
use crate::ops::counters::{self, Counters, ZoneIds};
use crate::zones::load;
use crate::zones::reload::reload_all;

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
    }
}

/// A monotonic millisecond clock shared by the policy stages.
fn mono_ms(epoch: &std::time::Instant) -> u64 {
    epoch.elapsed().as_millis() as u64
}

struct UdpWorker {
    zones: Cache<Shared, Arc<ZoneSet>>,
    cfg: Arc<levee_answer::Config>,
    policy: WorkerPolicy,
    epoch: std::time::Instant,
    /// Wall-clock seconds (cookie timestamps, statistics decay), read
    /// again when the monotonic second changes.
    now: u32,
    /// The monotonic second `now` was read in.
    now_read: u64,
    /// Datagrams dropped without an answer, by reason.
    garbage: Arc<crate::stats::Garbage>,
    /// This worker's query counters (operator surface).
    counters: Arc<Counters>,
    /// Rendered responses of plain queries with their Meta (levee_answer::cache).
    cache: ResponseCache<Meta>,
}

impl UdpWorker {
    /// A response written into `out[..n]` (not a cache hit): counted,
    /// offered to the cache under `store`, then judged by the policy stage.
    #[inline]
    fn written(
        &mut self,
        req: &Request<'_>,
        client: SocketAddr,
        (n, meta): (usize, Meta),
        out: &mut [u8],
        store: Option<&cache::Key>,
    ) -> Option<usize> {
        self.counters.count(&meta, req.client);
        crate::repl::on_reply(req.msg, &out[..n], client);
        if let Some(k) = store {
            self.cache.insert(k, &out[..n], meta);
        }
        self.decide(req, n, meta, out)
    }

    /// The policy stage, after respond() or a cache hit.
    fn decide(&mut self, req: &Request<'_>, n: usize, meta: Meta, out: &mut [u8]) -> Option<usize> {
        match self.policy.decide(req.client, &meta) {
            Verdict::Send => Some(n),
            Verdict::Slip { badcookie } => slip(req, &self.cfg, out, badcookie),
            Verdict::Drop => None,
        }
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
        self.policy.tick(ms, info.full, info.dropped);
        self.counters.received(info.received as u64, self.now as u64);
    }

    fn idle(&mut self) {
        // A replaced zone set stays alive while a worker holds it; the
        // retiring thread frees it once it holds the last reference
        // (`repl::retire`), so an idle worker lets go here.
        let zones = self.zones.load();
        self.cache.release_stale(zones);
    }

    fn handle(&mut self, query: &[u8], client: SocketAddr, out: &mut [u8]) -> Option<usize> {
        let ip = client_ip(client);
        let zones = self.zones.load();
        // A cache hit gives the same bytes and Meta as respond() would, so
        // the policy stage treats hits and misses alike; it sees a hit's
        // Meta before the bytes are copied, so a rate-limited or shed
        // response costs a lookup, not a copy.
        let mut verdict = Verdict::Send;
        let (policy, counters) = (&mut self.policy, &self.counters);
        // The request is built after the lookup: building it first copies
        // the address just written field by field, and that copy waits on
        // those stores (a store-forwarding stall on every query).
        let key = match self.cache.lookup_if(zones, &self.cfg, query, out, |m| {
            counters.count(m, ip);
            verdict = policy.decide(ip, m);
            verdict == Verdict::Send
        }) {
            Lookup::Hit(n, _) => return Some(n),
            Lookup::Declined(_) => {
                let req = Request { msg: query, client: ip, transport: Transport::Udp, now: self.now };
                return match verdict {
                    Verdict::Slip { badcookie } => slip(&req, &self.cfg, out, badcookie),
                    _ => None,
                };
            }
            Lookup::Miss(k) => Some(k),
            Lookup::Bypass => None,
        };
        let req = Request { msg: query, client: ip, transport: Transport::Udp, now: self.now };
        let hints = Hints { shed_negative: self.policy.sheds_negative(req.client), ..Hints::default() };
        let outcome = match &key {
            Some(k) => {
                // A name error written directly costs what a cache hit
                // costs, so it is not offered to the cache: a flood of
                // random names then touches no cache state but one tag.
                if !hints.shed_negative {
                    if let Some(written) = name_error_below_apex(&req, k, zones, &self.cfg, out) {
                        return self.written(&req, client, written, out, None);
                    }
                }
                respond_plain_walk(&req, k, zones, &self.cfg, out, hints)
            }
            None => respond_hinted(&req, zones, &self.cfg, out, hints),
        };
        match outcome {
            // A shed negative answer is incomplete: never cached.
            Outcome::Reply(n, meta) => {
                self.written(&req, client, (n, meta), out, key.as_ref().filter(|_| !hints.shed_negative))
            }
            Outcome::Drop | Outcome::Transfer(_) => {
                self.garbage.count(query);
                None
            }
        }
    }
}

struct TcpSvc {
    zones: Shared,
    cfg: Arc<levee_answer::Config>,
    policy: Arc<Policy>,
    epoch: std::time::Instant,
    counters: Arc<Counters>,
}

impl TcpService for TcpSvc {
    type Stream = levee_answer::xfr::Transfer;

    fn handle(&self, query: &[u8], client: SocketAddr, out: &mut [u8]) -> TcpAnswer<Self::Stream> {
        let zones = self.zones.load();
        let req = Request { msg: query, client: client_ip(client), transport: Transport::Tcp, now: now() };
        // A TCP client has proven its address: the UDP overload stage
        // will keep serving it.
        self.policy.proven(req.client, mono_ms(&self.epoch));
        self.counters.received(1, req.now as u64);
        match respond(&req, &zones, &self.cfg, out) {
            Outcome::Reply(n, meta) => {
                self.counters.count(&meta, req.client);
                crate::repl::on_reply(query, &out[..n], client);
                TcpAnswer::Reply(n)
            }
            Outcome::Drop => TcpAnswer::Close,
            Outcome::Transfer(t) => {
                let kind = if t.is_incremental() { "IXFR" } else { "AXFR" };
                tracing::info!(zone = %levee_wire::name::to_text(t.zone().apex()), serial = t.zone().serial(), %client, kind, "outgoing zone transfer");
                TcpAnswer::Stream(t)
            }
        }
    }

    fn next(&self, stream: &mut Self::Stream, out: &mut [u8]) -> Option<usize> {
        let n = stream.next_message(out);
        if let (Some(_), Some(f)) = (n, stream.failure()) {
            // Once: this is the SERVFAIL message that ends the stream.
            let z = stream.zone();
            tracing::error!(zone = %levee_wire::name::to_text(z.apex()), serial = z.serial(), "outgoing zone transfer failed: {f}");
        }
        n
    }
}

/// Runs the server until SIGTERM or SIGINT.
pub fn run(mut cfg: Config, builtin: bool) -> ExitCode {
    let threads =
        if cfg.threads == 0 { std::thread::available_parallelism().map_or(1, |n| n.get()) } else { cfg.threads };
    // Before anything touches the storage directory: the instance lock
    // and the control socket's path (ctl.rs); then the open-file limit
    // the configuration needs (limits.rs). Both can stop the start.
    let control = match crate::control_socket::prepare(&cfg)
        .and_then(|c| crate::daemon::limits::fit(&mut cfg, threads).map(|()| c))
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("{e}");
            return ExitCode::from(1);
        }
    };
    let plans = match load::plan(&cfg, builtin) {
        Ok(p) => p,
        Err(e) => {
            tracing::error!("{e}");
            return ExitCode::from(2);
        }
    };
    crate::storage::prepare(&cfg);
    let (mut set, failed) = load::load_all(&plans, None, &cfg.load);
    let stores = crate::storage::Stores::default();
    let repl = Arc::new(crate::replication::startup::init(&cfg, &mut set, &stores));
    let zone_ids = ZoneIds::default();
    zone_ids.assign(&mut set);
    if failed > 0 {
        tracing::warn!(failed, "some zones failed to load; they are not served until fixed and reloaded");
    }
    let nzones = set.len();
    if nzones == 0 {
        tracing::warn!("no zones to serve: every query will be refused");
    }
    let shared: Shared = Arc::new(ArcSwap::from_pointee(set));
    let acfg = Arc::new(answer_config(&cfg));

    // Bind everything first, so an address problem stops the start.
    let mut udp_sockets = Vec::new();
    let mut tcp_listeners = Vec::new();
    let mut bound = Vec::new();
    for &addr in &cfg.listen {
        let mut addr = addr;
        for i in 0..threads {
            match udp::bind_udp(addr) {
                Ok(s) => {
                    if i == 0 && addr.port() == 0 {
                        // Port 0: every worker and TCP share the port the kernel picked.
                        if let Some(a) = s.local_addr().ok().and_then(|a| a.as_socket()) {
                            addr.set_port(a.port());
                        }
                    }
                    udp_sockets.push((addr, s));
                }
                Err(e) => {
                    tracing::error!("cannot listen on {addr} (UDP): {e}");
                    return ExitCode::from(1);
                }
            }
        }
        match tcp::bind_tcp(addr) {
            Ok(l) => tcp_listeners.push(l),
            Err(e) => {
                tracing::error!("cannot listen on {addr} (TCP): {e}");
                return ExitCode::from(1);
            }
        }
        bound.push(addr);
    }
    let management = match cfg.management.map(std::net::TcpListener::bind).transpose() {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(
                "cannot listen on {} (management): {e}",
                cfg.management.map(|a| a.to_string()).unwrap_or_default()
            );
            return ExitCode::from(1);
        }
    };
    // The management TLS key is read before the privilege drop (it may
    // be readable by root only).
    let mgmt_tls = match cfg.management_access.tls.as_ref().filter(|_| management.is_some()) {
        None => None,
        Some(t) => match crate::ops::http::tls_acceptor(t) {
            Ok(a) => Some(a),
            Err(e) => {
                tracing::error!("{e}");
                return ExitCode::from(1);
            }
        },
    };
    // Every socket is bound: give up root before anything else runs.
    if let Err(e) = drop_privileges(&cfg) {
        tracing::error!("{e}");
        return ExitCode::from(1);
    }
    // Journals, received zones and the control socket are written from
    // now on, as the user levee now runs as.
    if let Err(e) = crate::storage::check_writable(&cfg) {
        tracing::error!("{e}");
        return ExitCode::from(1);
    }
    // The control socket belongs to the user the server now runs as.
    let mut control = match control.map(crate::control_socket::bind).transpose() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("{e}");
            return ExitCode::from(1);
        }
    };

    let stop = Arc::new(AtomicBool::new(false));
    let mut handles = Vec::new();
    let mut seed = [0u8; 8];
    let _ = getrandom::getrandom(&mut seed);
    let overload = Overload { enabled: cfg.overload, ..Overload::default() };
    let policy = Arc::new(Policy::new(cfg.rate_limit.clone(), overload, u64::from_le_bytes(seed)));
    let epoch = std::time::Instant::now();
    let mut worker_stats = Vec::new();
    let garbage = Arc::new(crate::ops::summaries::Garbage::default());
    let mut counter_set = counters::Set::default();
    for (i, (addr, sock)) in udp_sockets.into_iter().enumerate() {
        let stats = Arc::new(PolicyStats::default());
        worker_stats.push(Arc::clone(&stats));
        let counters = Arc::new(Counters::default());
        counter_set.udp.push(Arc::clone(&counters));
        let worker = UdpWorker {
            zones: Cache::new(Arc::clone(&shared)),
            cfg: Arc::clone(&acfg),
            policy: WorkerPolicy::new(Arc::clone(&policy), stats),
            epoch,
            now: now(),
            now_read: 0,
            garbage: Arc::clone(&garbage),
            counters,
            cache: ResponseCache::new(cache::DEFAULT_SLOTS),
        };
        let stop = Arc::clone(&stop);
        let tx = acfg.udp_payload as usize;
        let h = std::thread::Builder::new().name(format!("udp-{i}")).spawn(move || {
            tracing::debug!(%addr, "UDP worker started");
            udp::run_worker(sock, worker, tx, stop)
        });
        match h {
            Ok(h) => handles.push(h),
            Err(e) => {
                tracing::error!("cannot start a UDP worker: {e}");
                return ExitCode::from(1);
            }
        }
    }

    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("levee-rt")
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!("cannot start the TCP runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let (stop_tx, stop_rx) = watch::channel(false);
    let svc = Arc::new(TcpSvc {
        zones: Arc::clone(&shared),
        cfg: Arc::clone(&acfg),
        policy: Arc::clone(&policy),
        epoch,
        counters: Arc::clone(&counter_set.tcp),
    });
    let limits = TcpLimits {
        idle_timeout: Duration::from_secs(cfg.tcp_idle_timeout as u64),
        message_timeout: Duration::from_secs(cfg.tcp_message_timeout as u64),
        write_timeout: Duration::from_secs(10),
        max_connections: cfg.tcp_max_connections,
        max_per_source: cfg.tcp_max_per_source,
        buffer_memory: cfg.tcp_buffer_memory,
    };
    let tcp_stats = Arc::new(TcpStats::default());
    {
        let stats = Arc::clone(&tcp_stats);
        let stop = Arc::clone(&stop);
        let h = std::thread::Builder::new().name("tcp".into()).spawn(move || {
            if let Err(e) = tcp::run(tcp_listeners, svc, limits, stats, stop) {
                tracing::error!("TCP server stopped: {e}");
            }
        });
        match h {
            Ok(h) => handles.push(h),
            Err(e) => {
                tracing::error!("cannot start the TCP thread: {e}");
                return ExitCode::from(1);
            }
        }
    }
    let udp_counters = counter_set.udp.clone();
    let parts = Parts { cfg, builtin, zones: Arc::clone(&shared), zone_ids, repl, stores };
    let counting = Counting {
        counters: counter_set,
        policy: worker_stats.clone(),
        garbage: Arc::clone(&garbage),
        tcp: Arc::clone(&tcp_stats),
    };
    let center = Arc::new(Center::new(parts, counting, bound.clone(), threads, rt.handle().clone()));
    let cfg = &center.cfg;
    if let Some(l) = management {
        if let Ok(a) = l.local_addr() {
            let scheme = if mgmt_tls.is_some() { "https" } else { "http" };
            tracing::info!(address = %a, "management listener on {scheme}://{a}/ (metrics: /metrics)");
            let access = &cfg.management_access;
            if access.tokens.is_empty() {
                tracing::info!(
                    "management: no [[management.token]] configured: only /metrics (from loopback) and the dashboard page answer"
                );
            }
            if !a.ip().is_loopback() && mgmt_tls.is_none() {
                tracing::warn!(
                    "management listener on {a} speaks plain HTTP: tokens and metrics cross the network unencrypted \
                     (set management.tls-certificate and tls-key, or put a TLS proxy in front)"
                );
            }
        }
        rt.spawn(crate::ops::http::serve(l, mgmt_tls, Arc::clone(&center), stop_rx.clone()));
    }
    rt.spawn(crate::ops::summaries::summaries(worker_stats, udp_counters, garbage, tcp_stats, stop_rx.clone()));
    if let Some(r) = &cfg.rate_limit {
        tracing::info!(
            responses_per_second = r.rates[0],
            slip = r.slip,
            log_only = r.log_only,
            "response rate limiting on (per /{} and /{})",
            r.ipv4_prefix,
            r.ipv6_prefix
        );
    }
    // Signal handlers before the server says where it listens (tests and
    // scripts start talking to it then) and before "ready": a supervisor
    // may reload or stop the server as soon as it is told so.
    let signals = {
        let _rt = rt.enter();
        (signal(SignalKind::terminate()), signal(SignalKind::interrupt()), signal(SignalKind::hangup()))
    };
    for a in &bound {
        tracing::info!(address = %a, threads, "listening on {a} (UDP and TCP)");
    }
    // Replication tasks and the control socket.
    let _ = crate::repl::STATE.set(Arc::clone(&center.repl));
    crate::replication::primary::announce(&center);
    crate::replication::secondary::start(&center);
    if let Some(l) = control.as_mut().and_then(|c| c.take_listener()) {
        rt.spawn(crate::control_socket::serve(l, Arc::clone(&center)));
    }
    tracing::info!(zones = nzones, "levee {} ready", env!("CARGO_PKG_VERSION"));
    notify("READY=1");

    let center2 = Arc::clone(&center);
    rt.block_on(async move {
        let (Ok(mut term), Ok(mut int), Ok(mut hup)) = signals else {
            tracing::error!("cannot install signal handlers");
            return;
        };
        loop {
            tokio::select! {
                _ = term.recv() => { tracing::info!("SIGTERM: stopping"); break; }
                _ = int.recv() => { tracing::info!("SIGINT: stopping"); break; }
                _ = hup.recv() => {
                    // Not awaited: SIGTERM must be seen during a reload.
                    // A SIGHUP while one waits to start adds nothing.
                    if center2.reloads.queued.swap(true, Ordering::AcqRel) {
                        tracing::info!("SIGHUP: a reload is already waiting to start");
                        continue;
                    }
                    tracing::info!("SIGHUP: reloading zones");
                    let c = Arc::clone(&center2);
                    tokio::task::spawn_blocking(move || reload_all(&c));
                }
            }
        }
    });
    notify("STOPPING=1");
    let _ = stop_tx.send(true);
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        let _ = h.join();
    }
    rt.shutdown_timeout(Duration::from_secs(1));
    if let Some(c) = &control {
        c.remove();
    }
    tracing::info!("stopped");
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests;
