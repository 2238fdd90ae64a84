//! `levee serve`: starting the server, running it, stopping it.
//!
//! [`run`] starts in this order, and any step can stop the start (exit
//! status 2 for a zone list the configuration cannot make, 1 otherwise):
//!
//! 1. the instance lock and the control socket's path
//!    (`control_socket::prepare`), then the open-file limit the
//!    configuration needs ([`limits`]);
//! 2. the zones: the storage directory (`storage::prepare`), every zone
//!    loaded (`zones::load`), the stored copies of secondary zones and the
//!    journals of primary zones (`replication::startup`), statistics ids;
//! 3. every socket bound ([`sockets`]), the flood gate opened when
//!    `gate.enabled` (`gate::open_gate`: a gate that cannot be opened
//!    stops the start), the AF_XDP path set up when configured ([`xdp`];
//!    an interface that cannot do it stays on the sockets, with a
//!    warning), then root given up
//!    ([`privileges`]), the storage directory checked writable and the
//!    control socket created as the user now running;
//! 4. the drivers (`serve::threads`): one UDP worker thread per core and
//!    listen address, the one-thread Tokio runtime, the TCP thread;
//! 5. the [`Center`], and on the runtime the management listener
//!    (`ops::http`), the flood gate's controller thread (`gate::run`),
//!    the defences' log summaries (`ops::summaries`), the
//!    signal handlers, NOTIFY for primary zones and a refresh task per
//!    secondary zone (`replication`), the control socket; then systemd
//!    hears `READY=1` ([`sd_notify`]).
//!
//! The main thread then waits for signals: SIGHUP reloads on a blocking
//! thread (never awaited, so SIGTERM is honoured during a reload), SIGTERM
//! and SIGINT stop the drivers and the runtime.

pub mod limits;
pub mod privileges;
pub mod sd_notify;
pub mod sockets;
pub mod xdp;

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use levee_config::Config;
use levee_zone::ZoneSet;
use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::center::{Center, Parts};
use crate::control_socket::{self, Bound, Prepared};
use crate::daemon::privileges::drop_privileges;
use crate::daemon::sd_notify::notify;
use crate::ops::counters::ZoneIds;
use crate::replication::state::Replication;
use crate::replication::{primary, secondary, startup};
use crate::serve::threads::Drivers;
use crate::storage::{self, Stores};
use crate::zones::load;
use crate::zones::reload::reload_all;

/// Why the start stopped: the exit status and the message to log.
struct Stop {
    code: u8,
    message: String,
}

/// A failure of a start-up step: exit status 1.
fn fail(message: String) -> Stop {
    Stop { code: 1, message }
}

/// Where the configuration came from: read again at a reload
/// (`gate::reconfig`).
struct Source {
    file: Option<std::path::PathBuf>,
    overrides: levee_config::Overrides,
}

/// Runs the server until SIGTERM or SIGINT. `file` and `overrides` are
/// what `cfg` was made of (the file read again at a reload).
pub fn run(
    cfg: Config,
    builtin: bool,
    file: Option<std::path::PathBuf>,
    overrides: levee_config::Overrides,
) -> ExitCode {
    match serve(cfg, builtin, Source { file, overrides }) {
        Ok(()) => ExitCode::SUCCESS,
        Err(s) => {
            tracing::error!("{}", s.message);
            ExitCode::from(s.code)
        }
    }
}

/// The steps of the module documentation.
fn serve(mut cfg: Config, builtin: bool, source: Source) -> Result<(), Stop> {
    let started = Instant::now();
    let threads =
        if cfg.threads == 0 { std::thread::available_parallelism().map_or(1, |n| n.get()) } else { cfg.threads };
    // Before anything touches the storage directory: the instance lock
    // and the control socket's path; then the open-file limit the
    // configuration needs. Both can stop the start.
    let control =
        control_socket::prepare(&cfg).and_then(|c| limits::fit(&mut cfg, threads).map(|()| c)).map_err(fail)?;
    // A source address that is not this host's would fail every NOTIFY
    // or transfer later, quietly: refuse it now, naming the key.
    cfg.check_sources().map_err(|e| Stop { code: 2, message: format!("configuration error: {e}") })?;
    let (zones, zones_ms) = (load_zones(&cfg, builtin)?, started.elapsed().as_millis() as u64);
    // Bind everything first, so an address problem stops the start.
    let sockets = sockets::bind(&cfg, threads).map_err(fail)?;
    // The gate needs CAP_NET_ADMIN/CAP_BPF: opened (and its socket filter
    // attached to every UDP socket) before they are dropped.
    let mut loaded = open_gate(&cfg, &sockets)?;
    // The AF_XDP path (off unless configured) needs privileges to start;
    // with the gate on, the gate's XDP program feeds it.
    let xdp = xdp::setup(&cfg, loaded.as_mut());
    let gate = loaded.map(|l| prepare_gate(l, &cfg)).transpose()?;
    if let Some(g) = &gate {
        g.status.set_placement(crate::gate::Placement { sockets: sockets.udp.len(), xdp: xdp.gated.clone() });
    }
    let mut control = become_service_user(&cfg, control)?;

    let stop = Arc::new(AtomicBool::new(false));
    let mut drivers = Drivers::new(&cfg);
    if let Some(g) = &gate {
        drivers.set_gate_feed(g.feed.clone());
    }
    let (updates, update_queue) = crate::update::queue::Updates::new(&cfg);
    drivers.set_updates(updates.clone());
    drivers.start_udp(sockets.udp, &zones.set, &zones.repl, &stop).map_err(fail)?;
    drivers.start_xdp(xdp.queues, &zones.set, &zones.repl, &stop).map_err(fail)?;
    let _xdp_programs = xdp.programs;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("levee-rt")
        .enable_all()
        .build()
        .map_err(|e| fail(format!("cannot start the TCP runtime: {e}")))?;
    drivers.start_tcp(sockets.tcp, &zones.set, &zones.repl, &cfg, &stop).map_err(fail)?;
    let dot_bound: Vec<_> = sockets.tls.iter().filter_map(|l| l.local_addr().ok()).collect();
    let (dot, certs) = sockets.dot.map_or((None, None), |(s, c)| (Some(s), Some(c)));
    drivers.start_tls(sockets.tls, dot, &zones.set, &zones.repl, &cfg, &stop).map_err(fail)?;
    let doq_bound: Vec<_> = sockets.quic.iter().filter_map(|s| s.local_addr().ok()).collect();
    drivers.start_quic(sockets.quic, sockets.doq, &zones.set, &zones.repl, &stop).map_err(fail)?;
    let (mut handles, counting) = drivers.into_counting(&stop).map_err(fail)?;
    let status = gate.as_ref().map(|g| Arc::clone(&g.status));
    let parts = Parts {
        cfg,
        config_file: source.file,
        overrides: source.overrides,
        builtin,
        zones: zones.set,
        zone_ids: zones.ids,
        repl: zones.repl,
        stores: zones.stores,
        registry: zones.registry,
        catalog_changed: crate::provision::consumer::catalog_changed,
        gate: status,
        certs,
    };
    let center = Arc::new(Center::new(parts, counting, sockets.bound, threads, rt.handle().clone()));
    // Not joined at shutdown (it waits on the queue until the process ends).
    let stats = Arc::clone(&updates.stats);
    let running = crate::update::apply::start(Arc::clone(&center), update_queue, stats)
        .map_err(|e| fail(format!("cannot start the update thread: {e}")))?;
    if running.is_some() {
        // The REST API's and `levee ctl`'s edits take the same queue.
        let _ = center.edits.set(updates);
    }
    if let Some(g) = gate {
        let h = crate::gate::run::start(g, Arc::clone(&center.zones), center.counters.clone(), Arc::clone(&stop));
        handles.push(h.map_err(|e| fail(format!("cannot start the flood gate's controller: {e}")))?);
    }

    let (stop_tx, stop_rx) = watch::channel(false);
    start_operations(&center, &rt, sockets.management, sockets.management_tls, &stop_rx);
    // Signal handlers before the server says where it listens (tests and
    // scripts start talking to it then) and before "ready": a supervisor
    // may reload or stop the server as soon as it is told so.
    let signals = {
        let _rt = rt.enter();
        (signal(SignalKind::terminate()), signal(SignalKind::interrupt()), signal(SignalKind::hangup()))
    };
    for a in &center.listen {
        tracing::info!(address = %a, threads, "listening on {a} (UDP and TCP)");
    }
    for a in &dot_bound {
        tracing::info!(address = %a, "DNS over TLS on {a}");
    }
    for a in &doq_bound {
        tracing::info!(address = %a, "DNS over QUIC on {a}");
    }
    start_replication(&center, &rt, control.as_mut());
    // Where the start went: step 2 (`zones_ms`; each zone's in `zone loaded`), then steps 3 to 5.
    let (start_ms, version) = (started.elapsed().as_millis() as u64, env!("CARGO_PKG_VERSION"));
    tracing::info!(zones = zones.count, zones_ms, start_ms, "levee {version} ready");
    notify("READY=1");

    match signals {
        (Ok(term), Ok(int), Ok(hup)) => rt.block_on(wait_for_signals(&center, term, int, hup)),
        _ => tracing::error!("cannot install signal handlers"),
    }
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
    Ok(())
}

/// The flood gate, when `gate.enabled`: its BPF programs loaded and the
/// socket filter attached to every UDP socket; a gate that cannot be
/// opened stops the start.
fn open_gate(cfg: &Config, sockets: &sockets::Sockets) -> Result<Option<crate::gate::Loaded>, Stop> {
    if !cfg.gate.enabled {
        return Ok(None);
    }
    let err = |e: String| fail(format!("flood gate (gate.enabled or --gate): {e}"));
    let g = crate::gate::open_gate(cfg).map_err(err)?;
    for (addr, sock) in &sockets.udp {
        use std::os::fd::AsRawFd;
        g.attach_socket(sock.as_raw_fd()).map_err(|e| err(format!("UDP socket {addr}: {e}")))?;
    }
    Ok(Some(g))
}

/// The opened gate with its settings and trusted prefixes published and
/// its controller ready to run.
fn prepare_gate(g: crate::gate::Loaded, cfg: &Config) -> Result<crate::gate::run::Prepared, Stop> {
    let g = crate::gate::run::prepare(Box::new(g), cfg)
        .map_err(|e| fail(format!("flood gate (gate.enabled or --gate): {e}")))?;
    tracing::info!(
        arm_nxdomain_rate = cfg.gate.arm_nxdomain_rate,
        nx_rate = cfg.gate.nx_budget.rate,
        hold = cfg.gate.hold,
        "flood gate on"
    );
    Ok(g)
}

/// The zones at start (the set the drivers will serve) and what comes
/// with them.
struct Zones {
    /// The first set.
    set: Arc<ArcSwap<ZoneSet>>,
    /// Zones in it.
    count: usize,
    /// Their statistics ids.
    ids: ZoneIds,
    /// Replication's state, with the stored copies and journals read.
    repl: Arc<Replication>,
    /// The stores of those files.
    stores: Stores,
    /// Runtime zones, restored.
    registry: Arc<crate::provision::Registry>,
}

/// Step 2: the storage directory, every zone, what replication stored.
fn load_zones(cfg: &Config, builtin: bool) -> Result<Zones, Stop> {
    let plans = load::plan(cfg, builtin).map_err(|message| Stop { code: 2, message })?;
    let runtime = cfg.storage_dir.as_deref().map(crate::provision::registry::stored_names).unwrap_or_default();
    storage::prepare(cfg, &runtime);
    load::prepare_keys(cfg, &plans).map_err(|message| Stop { code: 2, message })?;
    let (mut set, failed) = crate::zones::pool::load_all(plans.into(), None, &cfg.load);
    crate::update::apply::replay_all(cfg, &mut set);
    // Runtime zones: a damaged registry stops the start naming its file.
    let registry = crate::provision::Registry::open(cfg).map_err(|message| Stop { code: 2, message })?;
    crate::provision::producer::build_all(cfg, &registry, &mut set);
    let stores = Stores::default();
    let mut repl = startup::init(cfg, &mut set, &stores);
    crate::provision::restore(cfg, &registry, &mut set, &repl, &stores);
    repl.xot = crate::tls::xot_client(cfg).map_err(|message| Stop { code: 2, message })?;
    let repl = Arc::new(repl);
    let zone_ids = ZoneIds::default();
    zone_ids.assign(&mut set);
    if failed > 0 {
        tracing::warn!(failed, "some zones failed to load; they are not served until fixed and reloaded");
    }
    let count = set.len();
    if count == 0 {
        tracing::warn!("no zones to serve: every query will be refused");
    }
    let registry = Arc::new(registry);
    // The load's working memory (sort keys, hash tables, the parsed
    // records) is free now but left holes in the heap that the process
    // would keep resident: 10 MB after the 1M-delegation TLD. The query
    // threads' response caches, allocated next, reuse some of them.
    levee_io::mem::release_free_memory();
    Ok(Zones { set: Arc::new(ArcSwap::from_pointee(set)), count, ids: zone_ids, repl, stores, registry })
}

/// Step 3, once every socket is bound: gives up root before anything
/// else runs, then checks the storage directory and creates the control
/// socket as the user the server now runs as.
fn become_service_user(cfg: &Config, control: Option<Prepared>) -> Result<Option<Bound>, Stop> {
    drop_privileges(cfg).map_err(fail)?;
    // Journals, received zones and the control socket are written from
    // now on, as the user levee now runs as.
    storage::check_writable(cfg).map_err(fail)?;
    control.map(control_socket::bind).transpose().map_err(fail)
}

/// The management listener (with what its configuration means logged),
/// the defences' summaries, and the rate limiter's settings in the log.
fn start_operations(
    center: &Arc<Center>,
    rt: &tokio::runtime::Runtime,
    management: Option<std::net::TcpListener>,
    tls: Option<TlsAcceptor>,
    stop: &watch::Receiver<bool>,
) {
    let cfg = &center.cfg;
    if let Some(l) = management {
        if let Ok(a) = l.local_addr() {
            let scheme = if tls.is_some() { "https" } else { "http" };
            tracing::info!(address = %a, "management listener on {scheme}://{a}/ (metrics: /metrics)");
            let access = &cfg.management_access;
            if access.tokens.is_empty() {
                tracing::info!(
                    "management: no [[management.token]] configured: only /metrics (from loopback) and the dashboard page answer"
                );
            }
            if !a.ip().is_loopback() && tls.is_none() {
                tracing::warn!(
                    "management listener on {a} speaks plain HTTP: tokens and metrics cross the network unencrypted \
                     (set management.tls-certificate and tls-key, or put a TLS proxy in front)"
                );
            }
        }
        rt.spawn(crate::ops::http::serve(l, tls, Arc::clone(center), stop.clone()));
    }
    rt.spawn(crate::ops::summaries::summaries(
        center.policy.clone(),
        center.counters.udp.clone(),
        Arc::clone(&center.garbage),
        Arc::clone(&center.tcp),
        stop.clone(),
    ));
    if center.certs.is_some() {
        rt.spawn(crate::ops::summaries::tls_summaries(Arc::clone(&center.tls), stop.clone()));
    }
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
}

/// Replication's tasks (NOTIFY out, the secondaries' refresh loops) and the
/// control socket.
fn start_replication(center: &Arc<Center>, rt: &tokio::runtime::Runtime, control: Option<&mut Bound>) {
    primary::announce(center);
    secondary::start(center);
    // Consumed catalogs served from storage: their members as the
    // registry has them (a crash between the two is made good here).
    let c = Arc::clone(center);
    rt.spawn_blocking(move || crate::provision::consumer::reconcile_all(&c));
    if center.cfg.zones.iter().any(|z| z.dnssec.is_some()) {
        rt.spawn(crate::zones::reload::refresh_signatures(Arc::clone(center)));
        rt.spawn(crate::zones::keyops::parent_ds_check(Arc::clone(center)));
    }
    if let Some(l) = control.and_then(|c| c.take_listener()) {
        rt.spawn(control_socket::serve(l, Arc::clone(center)));
    }
}

/// Until SIGTERM or SIGINT: SIGHUP reloads every zone on a blocking
/// thread, not awaited, so SIGTERM is seen during a reload; a SIGHUP
/// while a reload waits to start adds nothing.
async fn wait_for_signals(center: &Arc<Center>, mut term: Signal, mut int: Signal, mut hup: Signal) {
    loop {
        tokio::select! {
            _ = term.recv() => { tracing::info!("SIGTERM: stopping"); break; }
            _ = int.recv() => { tracing::info!("SIGINT: stopping"); break; }
            _ = hup.recv() => {
                if center.reloads.queued.swap(true, Ordering::AcqRel) {
                    tracing::info!("SIGHUP: a reload is already waiting to start");
                    continue;
                }
                tracing::info!("SIGHUP: reloading zones");
                let c = Arc::clone(center);
                tokio::task::spawn_blocking(move || reload_all(&c));
            }
        }
    }
}
