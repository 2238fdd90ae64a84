//! The daemon's side of the flood gate below the socket (issue 23,
//! docs/gate.md): deciding what the gate admits and publishing it.
//!
//! The gate itself is a BPF program (XDP on an interface, or a socket
//! filter on levee's UDP sockets) that admits or drops each datagram
//! before the kernel queues it, from state in BPF maps. It knows nothing
//! of zones beyond what user space publishes, and user space is this
//! module:
//!
//! ```text
//!  UDP/TCP drivers ──(newly proven sources, try_send)──┐
//!  ops::counters (NXDOMAIN per zone) ─────(sampled)──┐ │
//!  Center::zones (published ZoneSet) ────(sampled)─┐ │ │
//!                                                  ▼ ▼ ▼
//!                             controller thread (`run`): Controller
//!                                                  │
//!                     GateSink (Loaded: levee_io::gate::Gate; a fake in tests)
//!                     publish_zone / withdraw_zone / set_known / stats
//! ```
//!
//! * **Arming** ([`control`]): a zone whose NXDOMAIN rate passes
//!   `gate.arm-nxdomain-rate` is *armed*: its filter of existing names
//!   ([`filter`]) is built on the controller thread (never on the query
//!   path) and published with the zone's NXDOMAIN budget. From then on the
//!   gate admits every name the zone has and only a budget's worth of the
//!   rest. A new snapshot of an armed zone (reload, transfer) is
//!   republished. After `gate.hold` seconds of calm the zone is disarmed.
//!   "Calm" must account for what the gate hides: the NXDOMAINs it drops
//!   never reach the daemon's counters, so a zone stays armed while the
//!   gate drops NXDOMAIN queries (its `drop_nx_budget` counter grows) or
//!   while the zone's own NXDOMAIN rate is above half its budget (the
//!   budget is being used up). Only when both are quiet does the hold
//!   clock run, so a zone does not flap (disarm, flood returns, arm).
//! * **Known sources** ([`known`]): sources that proved their address
//!   (a TCP query, a valid server cookie, several positive answers: the
//!   policy stage's *known* table) skip the gate's source budgets. The
//!   answering pipeline notes a source in a fixed per-worker buffer only
//!   when it *becomes* known or its entry is refreshed (at most once per
//!   10 s per source); the driver drains that buffer once per receive
//!   batch into a bounded channel with `try_send` (dropped and counted
//!   when full), and the controller writes each with an expiry of the
//!   policy's `KNOWN_TTL`. Configured `gate.trusted` prefixes are written
//!   once, without expiry. The common query path pays nothing.
//! * **Operator surface**: the gate's counters per reason and the armed
//!   zones, in `/metrics`, `/api/status` and the dashboard (the
//!   controller's [`control::Status`]), and a log line on arming and
//!   disarming. `levee ctl gate` ([`report`]) renders the same
//!   `Status::json` as text, with where the gate runs ([`Placement`]), the
//!   settings in force and the known table's fill.
//! * **Reloads** ([`reconfig`]): a reload of every zone (SIGHUP, `levee
//!   ctl reload`, `POST /api/reload`) reads the configuration file again
//!   for `[gate]` and `[xdp]`: what needs a restart (`gate.enabled`, every
//!   `xdp.*` key) is logged as a warning naming the key; the other
//!   `[gate]` keys go to the controller, which applies them.
//!
//! [`GateSink`] is the loader's interface as the controller uses it;
//! [`Loaded`] implements it over the BPF loader (`levee_io::gate::Gate`).
//! [`open_gate`] opens it at start (the daemon then attaches the socket
//! filter to every UDP socket, and the XDP program to the `[xdp]`
//! interfaces), and a server with `[gate] enabled` refuses to start when
//! it cannot. With the gate off nothing here runs.

use std::net::IpAddr;

use levee_config::Config;

pub mod control;
#[cfg(test)]
mod fake;
pub mod filter;
pub mod keys;
pub mod known;
pub mod reconfig;
pub mod report;
pub mod run;

/// A token bucket as the gate's maps hold it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ZoneBudget {
    /// Tokens a second (the loader divides it among the CPUs).
    pub rate: u32,
    /// Tokens at most.
    pub burst: u32,
}

/// The gate's settings (its `config` map): what `set_config` publishes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GateSettings {
    /// levee's DNS port.
    pub port: u16,
    /// The seed of the name hashes (`levee_limit::gate`).
    pub seed: u64,
    /// Per source prefix not known.
    pub prefix: ZoneBudget,
    /// All sources not known.
    pub unknown: ZoneBudget,
    /// Names deeper than the gate hashes.
    pub deep: ZoneBudget,
    /// levee's DNS addresses (`addrs` map; empty = any).
    pub addrs: Vec<IpAddr>,
}

/// Where the gate runs, as set up at start (`levee ctl gate`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Placement {
    /// UDP sockets the socket filter (`levee_sock`) is attached to.
    pub sockets: usize,
    /// Each `[xdp]` interface and what became of it.
    pub xdp: Vec<XdpPlace>,
}

/// One `[xdp]` interface behind the gate.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct XdpPlace {
    /// The interface's name.
    pub interface: String,
    /// How `levee_xdp` is attached: `native` or `generic` (empty: not).
    pub mode: String,
    /// AF_XDP sockets (receive queues) behind it.
    pub queues: usize,
    /// Their mode: `zero-copy` or `copy`.
    pub socket_mode: String,
    /// Why the interface stayed on the sockets.
    pub error: Option<String>,
}

/// Number of the gate's counters.
pub const NSTATS: usize = 13;
/// The gate's counters, by `stats` index (docs/gate.md), as the
/// `reason` label of `levee_gate_packets_total`.
pub const REASONS: [&str; NSTATS] = [
    "pass_other",
    "garbage_short",
    "garbage_response",
    "garbage_question",
    "drop_nx_budget",
    "drop_prefix_budget",
    "drop_unknown_budget",
    "drop_deep",
    "admit_known",
    "admit_unknown",
    "nx_paid",
    "redirect_xsk",
    "pass_no_xsk",
];
/// Index of `drop_nx_budget`.
pub const DROP_NX_BUDGET: usize = 4;

/// What the controller needs of the gate: the BPF loader's map API
/// ([`Loaded`] over `levee_io::gate::Gate`; a fake in tests).
pub trait GateSink: Send {
    /// Publishes (or replaces) a zone's entry: armed, with its filter and
    /// its NXDOMAIN budget. `apex` is the apex's hash under the seed,
    /// `zone_id` the index of its budget bucket.
    fn publish_zone(
        &mut self,
        apex: u64,
        zone_id: u32,
        filter: &levee_limit::gate::Filter,
        nx: ZoneBudget,
    ) -> Result<(), String>;
    /// Removes a zone's entry (its names are no longer checked).
    fn withdraw_zone(&mut self, apex: u64) -> Result<(), String>;
    /// Marks a source (IPv4 address, IPv6 /64) known until `expires_ns`
    /// of `CLOCK_MONOTONIC` (`bpf_ktime_get_ns`; `u64::MAX`: always).
    fn set_known(&mut self, addr: IpAddr, expires_ns: u64) -> Result<(), String>;
    /// Removes a known source (a trusted prefix dropped by a reload;
    /// other entries expire by themselves).
    fn remove_known(&mut self, addr: IpAddr) -> Result<(), String>;
    /// The counters, summed over CPUs, by index ([`REASONS`]).
    fn stats(&self) -> Result<[u64; NSTATS], String>;
    /// How full the known table is at `now_ns` (`CLOCK_MONOTONIC`): a walk
    /// of the map, for the operator.
    fn known_fill(&self, now_ns: u64) -> Result<levee_io::gate::KnownFill, String>;
    /// Publishes the settings (port, seed, budgets, addresses): the
    /// loader's `set_config` and `set_addrs`.
    fn set_config(&mut self, c: &GateSettings) -> Result<(), String>;
}

/// The BPF loader as the controller's [`GateSink`]: the programs and
/// maps of `levee_io::gate`, opened at start while levee still has
/// CAP_BPF and CAP_NET_ADMIN. Everything after opening (map writes,
/// reading the counters) works with the descriptors it holds, after the
/// privilege drop too.
pub struct Loaded {
    gate: levee_io::gate::Gate,
}

impl Loaded {
    /// Attaches the socket filter (`levee_sock`) to a UDP socket: from
    /// then on the socket only queues what the gate admits.
    pub fn attach_socket(&self, fd: std::os::fd::RawFd) -> Result<(), String> {
        self.gate.attach_socket(fd).map_err(|e| e.to_string())
    }

    /// The loader itself, for the AF_XDP set-up (`Gate::attach_xdp`,
    /// `Gate::register_xsk`).
    pub fn gate_mut(&mut self) -> &mut levee_io::gate::Gate {
        &mut self.gate
    }
}

fn budget(b: ZoneBudget) -> levee_io::gate::ZoneBudget {
    levee_io::gate::ZoneBudget { rate: b.rate, burst: b.burst }
}

impl GateSink for Loaded {
    fn publish_zone(
        &mut self,
        apex: u64,
        zone_id: u32,
        filter: &levee_limit::gate::Filter,
        nx: ZoneBudget,
    ) -> Result<(), String> {
        self.gate.publish_zone(apex, zone_id, filter, budget(nx)).map_err(|e| e.to_string())
    }

    fn withdraw_zone(&mut self, apex: u64) -> Result<(), String> {
        self.gate.withdraw_zone(apex).map_err(|e| e.to_string())
    }

    fn set_known(&mut self, addr: IpAddr, expires_ns: u64) -> Result<(), String> {
        self.gate.set_known(addr, expires_ns).map_err(|e| e.to_string())
    }

    fn remove_known(&mut self, addr: IpAddr) -> Result<(), String> {
        self.gate.remove_known(addr).map_err(|e| e.to_string())
    }

    fn stats(&self) -> Result<[u64; NSTATS], String> {
        let all = self.gate.stats().map_err(|e| e.to_string())?;
        let mut out = [0u64; NSTATS];
        for (o, v) in out.iter_mut().zip(all.iter()) {
            *o = *v;
        }
        Ok(out)
    }

    fn known_fill(&self, now_ns: u64) -> Result<levee_io::gate::KnownFill, String> {
        self.gate.known_fill(now_ns).map_err(|e| e.to_string())
    }

    fn set_config(&mut self, c: &GateSettings) -> Result<(), String> {
        // Addresses first: the config's FLAG_ON then judges with them.
        self.gate.set_addrs(&c.addrs).map_err(|e| e.to_string())?;
        let g = levee_io::gate::GateConfig {
            port: c.port,
            seed: c.seed,
            flags: levee_io::gate::FLAG_ON,
            prefix: budget(c.prefix),
            unknown: budget(c.unknown),
            deep: budget(c.deep),
        };
        self.gate.set_config(&g).map_err(|e| e.to_string())
    }
}

/// Opens the gate for `cfg`: loads the BPF programs (the XDP one only when
/// `[xdp]` names interfaces) and creates their maps. Needs CAP_BPF and
/// CAP_NET_ADMIN; the error says so.
pub fn open_gate(cfg: &Config) -> Result<Loaded, String> {
    let opts = levee_io::gate::GateOptions { xdp: !cfg.xdp.interfaces.is_empty(), socket: true };
    let gate = levee_io::gate::Gate::load(opts).map_err(|e| e.to_string())?;
    Ok(Loaded { gate })
}
