//! The center of a running server: one value holding what its subsystems
//! share, made once at start and passed to each of them as
//! `Arc<Center>`. Nothing here is a process-wide static.
//!
//! What it holds, and who changes it:
//!
//! * the configuration in force ([`Center::cfg`]; read only);
//! * the published zone set ([`Center::zones`], an `ArcSwap` the drivers
//!   hold too and read on every query) and the lock that serialises every
//!   change to it ([`Center::publish_lock`], taken by `zones::publish`
//!   only, never by a driver), with the zones' statistics ids;
//! * the reloads: one at a time, a SIGHUP waiting, how many ran and failed
//!   ([`Reloads`], `zones::reload`);
//! * replication: keys, secondary zones' state, NOTIFY targets
//!   (`replication::state::Replication`);
//! * the writers of stored zone copies and journals (`storage::Stores`);
//! * what the operator reads: the drivers' counters, the policy stage's
//!   and the TCP server's, the garbage and management refusal counters,
//!   the listen addresses and the start time (`ops`);
//! * the flood gate's status, when it runs (`gate`);
//! * the runtime's handle, for tasks started from plain threads.
//!
//! `daemon` builds it once the sockets are bound and the drivers run; the
//! drivers themselves get only the parts they write (their counters) and
//! the zone set, not the center.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex, MutexGuard};

use arc_swap::ArcSwap;
use levee_answer::policy::PolicyStats;
use levee_config::Config;
use levee_io::tcp::TcpStats;
use levee_zone::ZoneSet;

use crate::ops::counters::{self, Refused, ZoneIds};
use crate::ops::summaries::Garbage;
use crate::replication::state::Replication;
use crate::storage::Stores;

/// The shared state of a running server (see the module documentation).
pub struct Center {
    /// The configuration in force.
    pub cfg: Config,
    /// The file it was read from (read again for `[gate]` and `[xdp]` at
    /// a reload: `gate::reconfig`), if any.
    pub config_file: Option<std::path::PathBuf>,
    /// The command line's overrides of that file.
    pub overrides: levee_config::Overrides,
    /// Serving the built-in example zones.
    pub builtin: bool,
    /// The published zone set (the drivers load it on every query).
    pub zones: Arc<ArcSwap<ZoneSet>>,
    /// Held while a change to the published set is made.
    publish: Mutex<()>,
    /// Changes waiting to be published together (`zones::publish::coalesced`).
    pub pending: Pending,
    /// The zones' statistics ids, stable across reloads.
    pub zone_ids: ZoneIds,
    /// Reloads: one at a time, counted.
    pub reloads: Reloads,
    /// Replication: keys, secondary zones, NOTIFY targets.
    pub repl: Arc<Replication>,
    /// The writers of stored zone copies and journals.
    pub stores: Stores,
    /// Runtime zones (catalog members, the API): `provision`.
    pub registry: Arc<crate::provision::registry::Registry>,
    /// Called (on a blocking thread) when a consumed catalog's new
    /// version is served: `provision::consumer::catalog_changed`, which
    /// replication reaches through here (it sits below `provision`).
    pub catalog_changed: fn(&Arc<Center>, &[u8]),
    /// Per-thread query counters (written by the drivers).
    pub counters: counters::Set,
    /// Per-UDP-worker policy counters.
    pub policy: Vec<Arc<PolicyStats>>,
    /// Datagrams dropped without an answer.
    pub garbage: Arc<Garbage>,
    /// The TCP server's counters.
    pub tcp: Arc<TcpStats>,
    /// The DNS-over-TLS server's connection counters (zero when off).
    pub tls: Arc<TcpStats>,
    /// The DoT certificate, read again at reloads (`None`: DoT off).
    pub certs: Option<Arc<crate::tls::Certs>>,
    /// The DNS-over-QUIC server's counters (`None`: DoQ off).
    pub quic: Option<Arc<levee_io::quic::QuicStats>>,
    /// The AF_XDP workers' counters (empty without `--xdp`).
    pub xdp: Vec<XdpQueue>,
    /// dnstap's queues and counters (`None`: off).
    pub dnstap: Option<Arc<crate::dnstap::Shared>>,
    /// Dynamic update counters (`update`).
    pub updates: Arc<crate::update::queue::Stats>,
    /// Management requests refused.
    pub refused: Arc<Refused>,
    /// The update thread's queue, for the edits of the REST API and
    /// `levee ctl` (set once it runs; empty without dynamic zones).
    pub edits: std::sync::OnceLock<crate::update::queue::Updates>,
    /// DNS listen addresses (as bound).
    pub listen: Vec<SocketAddr>,
    /// UDP workers per address.
    pub threads: usize,
    /// Start time, Unix seconds.
    pub started: f64,
    /// The flood gate's controller, as the operator sees it (`None`: off).
    pub gate: Option<Arc<crate::gate::control::Status>>,
    /// The runtime that runs the tasks (replication, storage, management).
    pub runtime: tokio::runtime::Handle,
}

/// The parts of a [`Center`] made before it: during start-up the zones
/// are loaded and given their ids, stored copies read and stores set up,
/// before the sockets are bound.
pub struct Parts {
    /// The configuration in force.
    pub cfg: Config,
    /// The file it was read from (read again for `[gate]` and `[xdp]` at
    /// a reload: `gate::reconfig`), if any.
    pub config_file: Option<std::path::PathBuf>,
    /// The command line's overrides of that file.
    pub overrides: levee_config::Overrides,
    /// Serving the built-in example zones.
    pub builtin: bool,
    /// The published zone set.
    pub zones: Arc<ArcSwap<ZoneSet>>,
    /// The zones' statistics ids.
    pub zone_ids: ZoneIds,
    /// Replication's state.
    pub repl: Arc<Replication>,
    /// The stores.
    pub stores: Stores,
    /// Runtime zones.
    pub registry: Arc<crate::provision::registry::Registry>,
    /// See [`Center::catalog_changed`].
    pub catalog_changed: fn(&Arc<Center>, &[u8]),
    /// The flood gate's status (`None`: off).
    pub gate: Option<Arc<crate::gate::control::Status>>,
    /// The DoT certificate store (`None`: DoT off).
    pub certs: Option<Arc<crate::tls::Certs>>,
}

/// What the drivers count, as the operator surface reads it.
pub struct Counting {
    /// Per-thread query counters.
    pub counters: counters::Set,
    /// Per-UDP-worker policy counters.
    pub policy: Vec<Arc<PolicyStats>>,
    /// Datagrams dropped without an answer.
    pub garbage: Arc<Garbage>,
    /// The TCP server's counters.
    pub tcp: Arc<TcpStats>,
    /// The DNS-over-TLS server's counters.
    pub tls: Arc<TcpStats>,
    /// The DNS-over-QUIC server's counters (`None`: off).
    pub quic: Option<Arc<levee_io::quic::QuicStats>>,
    /// The AF_XDP workers' counters, one per (interface, queue).
    pub xdp: Vec<XdpQueue>,
    /// dnstap's queues and counters (`None`: off).
    pub dnstap: Option<Arc<crate::dnstap::Shared>>,
    /// Dynamic update counters (`update`).
    pub updates: Arc<crate::update::queue::Stats>,
}

/// One AF_XDP worker as the operator surface sees it.
pub struct XdpQueue {
    /// The interface.
    pub iface: String,
    /// The receive queue.
    pub queue: u32,
    /// Zero-copy or copy.
    pub mode: levee_io::xdp::Mode,
    /// Its counters.
    pub stats: Arc<levee_io::xdp::XdpStats>,
}

impl Center {
    /// The center of a server whose drivers run.
    pub fn new(
        p: Parts,
        c: Counting,
        listen: Vec<SocketAddr>,
        threads: usize,
        runtime: tokio::runtime::Handle,
    ) -> Center {
        Center {
            cfg: p.cfg,
            config_file: p.config_file,
            overrides: p.overrides,
            builtin: p.builtin,
            zones: p.zones,
            publish: Mutex::new(()),
            pending: Default::default(),
            zone_ids: p.zone_ids,
            reloads: Reloads::default(),
            repl: p.repl,
            stores: p.stores,
            registry: p.registry,
            catalog_changed: p.catalog_changed,
            counters: c.counters,
            policy: c.policy,
            garbage: c.garbage,
            tcp: c.tcp,
            tls: c.tls,
            quic: c.quic,
            certs: p.certs,
            xdp: c.xdp,
            dnstap: c.dnstap,
            updates: c.updates,
            refused: Arc::default(),
            edits: std::sync::OnceLock::new(),
            listen,
            threads,
            started: crate::clock::unix_now(),
            gate: p.gate,
            runtime,
        }
    }

    /// Serialises changes to the published set (`zones::publish`).
    pub fn publish_lock(&self) -> MutexGuard<'_, ()> {
        self.publish.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Reloads (SIGHUP, `levee ctl reload`, `POST /api/reload`).
#[derive(Default)]
pub struct Reloads {
    /// A SIGHUP reload is waiting for [`Reloads::running`].
    pub queued: AtomicBool,
    /// Held by the reload in progress: one at a time.
    pub running: Mutex<()>,
    /// Reloads done since start.
    pub done: AtomicU64,
    /// Reloads in which at least one zone failed to load.
    pub failed: AtomicU64,
}

/// One change to the published set, applied in place to a copy of it.
pub type Change = Box<dyn FnOnce(&mut levee_zone::ZoneSet) + Send>;

/// The changes waiting for `zones::publish::coalesced` (one per center).
#[derive(Default)]
pub struct Pending {
    /// Ticket numbers and changes, in the order queued.
    pub(crate) queue: std::sync::Mutex<(u64, Vec<Change>)>,
    /// Every ticket up to this one is published.
    pub(crate) done: std::sync::atomic::AtomicU64,
    /// Publications made (`/metrics`).
    pub publications: std::sync::atomic::AtomicU64,
    /// Changes they carried.
    pub changes: std::sync::atomic::AtomicU64,
    /// When the last coalesced publication ended and what it cost.
    pub(crate) last: std::sync::Mutex<Option<(std::time::Instant, std::time::Duration)>>,
}
