//! The flood gate's loader and map API (issue 23, docs/gate.md).
//!
//! [`Gate::load`] loads the BPF programs of `bpf/gate.c` (both, or the
//! one [`GateOptions`] asks for) from the
//! object committed beside it (`bpf/gate.o`, embedded here, rebuilt and
//! compared byte for byte by `bpf/check.sh` in CI) with aya: pure Rust, no
//! libbpf at run time. Loading creates every map of docs/gate.md at its
//! fixed size and needs `CAP_BPF` and `CAP_NET_ADMIN` (or root); after
//! that, the [`Gate`] keeps working through its file descriptors when the
//! process drops its privileges.
//!
//! * [`Gate::attach_socket`] puts `levee_sock` on a UDP socket
//!   (`SO_ATTACH_BPF`): the socket keeps the program for its lifetime.
//! * [`Gate::attach_xdp`] puts `levee_xdp` on an interface, natively or in
//!   generic (skb) mode; it is detached when the [`Gate`] is dropped.
//! * [`Gate::register_xsk`] names the AF_XDP socket of a receive queue.
//! * The rest writes what the daemon's controller decides: the
//!   configuration and budgets ([`Gate::set_config`]), levee's addresses,
//!   the filters of zones under a random-subdomain flood
//!   ([`Gate::publish_zone`]: this module allocates their regions in the
//!   `bloom` map), known sources, and reads the counters.
//!
//! Budgets are given as totals for the machine; the programs keep one
//! token bucket per CPU without locks, so each gets `ceil(total / CPUs)`
//! (possible CPUs, as the per-CPU maps count them).
//!
//! What the programs do is defined by the model
//! [`levee_limit::gate::model`]; the tests in `gate/tests.rs` (privileged,
//! run by `tests/gate/run.sh`) hold the two together with
//! `BPF_PROG_TEST_RUN`.

use std::collections::HashMap as StdHashMap;
use std::fmt;
use std::io;
use std::net::IpAddr;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::time::{Duration, Instant};

use aya::maps::{Array, HashMap, MapData, PerCpuArray, PerCpuValues, XskMap};
use aya::programs::{ProgramError, SocketFilter, Xdp, XdpFlags};
use aya::{Ebpf, EbpfError, Pod};
use levee_limit::gate::model::{self, Addr, BLOOM_WORDS, MAX_PROBES, MAX_ZONES, NANO};
use levee_limit::gate::{label_start, root_hash, Filter};

pub use levee_limit::gate::model::{FLAG_ADDRS, FLAG_ON, REASONS};

/// The object built from `bpf/gate.c` by `bpf/build.sh`, aligned to 32
/// octets: the ELF parser reads its headers in place, and a plain
/// `include_bytes!` array may start at any address (it did: "error
/// parsing ELF data" after an unrelated change moved it).
pub static OBJECT: &[u8] = aya::include_bytes_aligned!("../bpf/gate.o");

/// Most addresses [`Gate::set_addrs`] takes (the `addrs` map's size).
pub const MAX_ADDRS: usize = 64;

/// Entries the `known` table holds (its `max_entries` in `gate.c`; an
/// LRU hash: when full, the least recently used entry makes room).
pub const KNOWN_CAPACITY: usize = 65_536;

/// How full the `known` table is ([`Gate::known_fill`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KnownFill {
    /// Entries in the table (expired ones stay until the LRU evicts them).
    pub entries: usize,
    /// Entries that admit now: trusted, or not expired.
    pub live: usize,
    /// Trusted entries (no expiry).
    pub trusted: usize,
}

/// A budget: `rate` tokens per second, at most `burst` saved (totals for
/// the machine).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ZoneBudget {
    /// Tokens per second.
    pub rate: u32,
    /// Most tokens saved.
    pub burst: u32,
}

/// What [`Gate::set_config`] writes into the `config` map.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GateConfig {
    /// levee's DNS port (what the XDP program considers ours).
    pub port: u16,
    /// The hash seed of `levee_limit::gate::suffix_hashes` the zones'
    /// filters were built with.
    pub seed: u64,
    /// [`FLAG_ON`]: the gate judges; without it both programs pass
    /// everything. ([`FLAG_ADDRS`] is managed by [`Gate::set_addrs`].)
    pub flags: u16,
    /// Per source prefix (IPv4 /24, IPv6 /56) of an unknown source.
    pub prefix: ZoneBudget,
    /// All unknown sources together.
    pub unknown: ZoneBudget,
    /// Names of more than `MAX_LABELS` labels.
    pub deep: ZoneBudget,
}

/// How [`Gate::attach_xdp`] attached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XdpMode {
    /// In the driver, before any allocation.
    Native,
    /// Generic (skb) mode: after the driver built an skb; works on any
    /// interface, saves less.
    Generic,
}

/// Which program [`Gate::test_run`] runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prog {
    /// `levee_xdp`.
    Xdp,
    /// `levee_sock`.
    Sock,
}

/// The outcome of `BPF_PROG_TEST_RUN`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TestRun {
    /// The program's return value.
    pub retval: u32,
    /// Mean nanoseconds per run, as the kernel measured.
    pub duration_ns: u32,
}

/// Why the gate could not do something.
#[derive(Debug)]
pub enum GateError {
    /// Not allowed: loading and attaching need CAP_BPF and CAP_NET_ADMIN.
    Permission(String),
    /// The kernel lacks what the programs need.
    KernelTooOld(String),
    /// The kernel refused, for another reason.
    Kernel(String),
    /// A zone's filter does not fit in the free space of the `bloom` map.
    FilterTooBig {
        /// Words the filter needs.
        words: usize,
        /// The largest free region.
        largest_free: usize,
    },
    /// A filter or zone the programs cannot read.
    Invalid(String),
}

impl fmt::Display for GateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GateError::Permission(s) => write!(
                f,
                "{s}: the flood gate needs CAP_BPF and CAP_NET_ADMIN (or root) at start to load its BPF programs"
            ),
            GateError::KernelTooOld(s) => {
                write!(f, "{s}: the flood gate needs Linux 5.18 or later (bpf_loop, bpf_xdp_load_bytes, BTF maps)")
            }
            GateError::Kernel(s) => write!(f, "{s}"),
            GateError::FilterTooBig { words, largest_free } => write!(
                f,
                "a zone filter of {words} words does not fit in the gate's bloom map (largest free region: {largest_free} of {BLOOM_WORDS} words)"
            ),
            GateError::Invalid(s) => write!(f, "{s}"),
        }
    }
}

impl std::error::Error for GateError {}

/// The first OS error code in an error's chain.
fn os_error(e: &(dyn std::error::Error + 'static)) -> Option<i32> {
    let mut cur = Some(e);
    while let Some(x) = cur {
        if let Some(io) = x.downcast_ref::<io::Error>() {
            if let Some(c) = io.raw_os_error() {
                return Some(c);
            }
        }
        cur = x.source();
    }
    None
}

/// Sorts a failure by what the operator can do about it.
fn classify(what: &str, e: &(dyn std::error::Error + 'static)) -> GateError {
    let text = format!("{what}: {e}");
    let mut log = String::new();
    let mut cur = Some(e);
    while let Some(x) = cur {
        if let Some(ProgramError::LoadError { verifier_log, .. }) = x.downcast_ref::<ProgramError>() {
            log = verifier_log.to_string();
        }
        cur = x.source();
    }
    match os_error(e) {
        Some(libc::EPERM) | Some(libc::EACCES) => GateError::Permission(text),
        Some(libc::ENOSYS) => GateError::KernelTooOld(text),
        _ if log.contains("unknown func") || log.contains("invalid func") => GateError::KernelTooOld(text),
        _ => GateError::Kernel(text),
    }
}

fn map_err(what: &'static str) -> impl Fn(aya::maps::MapError) -> GateError {
    move |e| classify(what, &e)
}

// The maps' values, laid out as gate.c declares them.

#[repr(C)]
#[derive(Clone, Copy)]
struct ConfigPod {
    port: u16,
    flags: u16,
    _pad: u32,
    seed: u64,
    prefix: [u32; 2],
    unknown: [u32; 2],
    deep: [u32; 2],
    apex_bits: u64,
    /// Bumped after every change of `zones` (never 0): the programs keep
    /// a per-CPU copy of the last zone they found while it stays the same.
    gen: u64,
    /// `root_hash(seed)`.
    root: u64,
    /// `label_start(seed, len)` for len 0 to 63.
    label0: [u64; 64],
}

impl Default for ConfigPod {
    fn default() -> Self {
        ConfigPod {
            port: 0,
            flags: 0,
            _pad: 0,
            seed: 0,
            prefix: [0; 2],
            unknown: [0; 2],
            deep: [0; 2],
            apex_bits: 0,
            gen: 1,
            root: 0,
            label0: [0; 64],
        }
    }
}

impl ConfigPod {
    /// The hashes the programs take from the config instead of computing
    /// them for every packet.
    fn derive(&mut self) {
        self.root = root_hash(self.seed);
        for (len, h) in self.label0.iter_mut().enumerate() {
            *h = label_start(self.seed, len);
        }
    }
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct ZonePod {
    armed: u32,
    word_off: u32,
    log2_bits: u8,
    k: u8,
    _pad: u16,
    nx_rate: u32,
    nx_burst: u32,
    zone_id: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct BucketPod {
    tokens_nano: u64,
    last_ns: u64,
}

// SAFETY: plain #[repr(C)] structs of integers with explicit padding
// fields: every bit pattern is valid and there are no implicit padding
// bytes, as aya's Pod requires.
unsafe impl Pod for ConfigPod {}
// SAFETY: as above.
unsafe impl Pod for ZonePod {}
// SAFETY: as above.
unsafe impl Pod for BucketPod {}

/// How long the region of a replaced or withdrawn filter stays unused: far
/// longer than any run of the programs that may still read it, far shorter
/// than the controller's tick (1 s), so a republished zone always finds its
/// old room free again by the next tick.
pub const RETIRE_GRACE: Duration = Duration::from_millis(100);

/// A zone's filter in `bloom`.
#[derive(Clone, Copy, Debug)]
struct Region {
    off: u32,
    words: u32,
    zone_id: u32,
}

/// The loaded programs and their maps (see the module documentation).
pub struct Gate {
    ebpf: Ebpf,
    config: Array<MapData, ConfigPod>,
    addrs: HashMap<MapData, Addr, u8>,
    zones: HashMap<MapData, u64, ZonePod>,
    zone_buckets: PerCpuArray<MapData, BucketPod>,
    bloom: Array<MapData, u64>,
    known: HashMap<MapData, Addr, u64>,
    globals: PerCpuArray<MapData, BucketPod>,
    stats: PerCpuArray<MapData, u64>,
    xsks: XskMap<MapData>,
    cpus: usize,
    cfg: ConfigPod,
    published: StdHashMap<u64, Region>,
    /// Regions of filters replaced or withdrawn, not reused before
    /// [`RETIRE_GRACE`] has passed (see [`Gate::publish_zone`]).
    retired: Vec<(Region, Instant)>,
    xdp_attached: bool,
    configured: bool,
}

/// CLOCK_MONOTONIC in nanoseconds: the clock `bpf_ktime_get_ns` reads,
/// for [`Gate::set_known`] expiries.
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes the timespec we own; CLOCK_MONOTONIC
    // always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * NANO + ts.tv_nsec as u64
}

macro_rules! take {
    ($ebpf:expr, $ty:ident, $name:literal) => {{
        let m = $ebpf.take_map($name).ok_or_else(|| GateError::Invalid(format!("gate.o has no map {}", $name)))?;
        $ty::try_from(m).map_err(map_err(concat!("the gate's map ", $name)))?
    }};
}

/// What [`Gate::load`] loads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GateOptions {
    /// `levee_xdp`, for [`Gate::attach_xdp`].
    pub xdp: bool,
    /// `levee_sock`, for [`Gate::attach_socket`].
    pub socket: bool,
}

impl GateOptions {
    /// Both programs.
    pub const ALL: GateOptions = GateOptions { xdp: true, socket: true };
}

impl Default for GateOptions {
    fn default() -> Self {
        GateOptions::ALL
    }
}

const XDP: &str = "levee_xdp";
const SOCK: &str = "levee_sock";

impl Gate {
    /// Loads the programs `opts` asks for and creates the maps (nothing
    /// attached, the gate off until [`Gate::set_config`] turns it on).
    pub fn load(opts: GateOptions) -> Result<Gate, GateError> {
        Gate::load_object(opts, OBJECT)
    }

    /// [`Gate::load`] from another build of `gate.c` (experiments).
    #[doc(hidden)]
    pub fn load_object(opts: GateOptions, object: &[u8]) -> Result<Gate, GateError> {
        let mut ebpf = Ebpf::load(object).map_err(|e: EbpfError| classify("loading the gate's BPF object", &e))?;
        for (name, wanted) in [(XDP, opts.xdp), (SOCK, opts.socket)] {
            let prog =
                ebpf.program_mut(name).ok_or_else(|| GateError::Invalid(format!("gate.o has no program {name}")))?;
            let r = match name {
                XDP if wanted => <&mut Xdp>::try_from(prog).and_then(|p| p.load()),
                SOCK if wanted => <&mut SocketFilter>::try_from(prog).and_then(|p| p.load()),
                _ => Ok(()),
            };
            r.map_err(|e| classify(&format!("loading the gate's program {name}"), &e))?;
        }
        let cpus = aya::util::nr_cpus().map_err(|(what, e)| classify(what, &e))?;
        let mut g = Gate {
            config: take!(ebpf, Array, "config"),
            addrs: take!(ebpf, HashMap, "addrs"),
            zones: take!(ebpf, HashMap, "zones"),
            zone_buckets: take!(ebpf, PerCpuArray, "zone_buckets"),
            bloom: take!(ebpf, Array, "bloom"),
            known: take!(ebpf, HashMap, "known"),
            globals: take!(ebpf, PerCpuArray, "globals"),
            stats: take!(ebpf, PerCpuArray, "stats"),
            xsks: take!(ebpf, XskMap, "xsks"),
            ebpf,
            cpus,
            cfg: ConfigPod::default(),
            published: StdHashMap::new(),
            retired: Vec::new(),
            xdp_attached: false,
            configured: false,
        };
        g.write_config()?;
        Ok(g)
    }

    /// Possible CPUs: the number of per-CPU buckets a budget is split into.
    pub fn cpus(&self) -> usize {
        self.cpus
    }

    /// A machine-wide `total` as each CPU's share: `ceil(total / cpus)`.
    pub fn per_cpu(&self, total: u32) -> u32 {
        total.div_ceil(self.cpus as u32)
    }

    fn budget(&self, b: ZoneBudget) -> [u32; 2] {
        [self.per_cpu(b.rate), self.per_cpu(b.burst)]
    }

    fn write_config(&mut self) -> Result<(), GateError> {
        self.config.set(0, self.cfg, 0).map_err(map_err("writing the gate's config"))
    }

    /// A per-CPU map entry set to a full bucket of `b` (per CPU) on every CPU.
    fn fill(map: &mut PerCpuArray<MapData, BucketPod>, cpus: usize, i: u32, b: [u32; 2]) -> Result<(), GateError> {
        let full = BucketPod { tokens_nano: b[1] as u64 * NANO, last_ns: monotonic_ns() };
        let v = PerCpuValues::try_from(vec![full; cpus]).map_err(|e| classify("per-CPU values", &e))?;
        map.set(i, v, 0).map_err(map_err("filling a gate bucket"))
    }

    /// Writes the configuration. The global buckets (unknown sources, deep
    /// names) start full the first time and when their budget changes.
    pub fn set_config(&mut self, c: &GateConfig) -> Result<(), GateError> {
        let addrs_flag = self.cfg.flags & FLAG_ADDRS;
        let before = self.cfg;
        self.cfg = ConfigPod {
            port: c.port,
            flags: (c.flags & !FLAG_ADDRS) | addrs_flag,
            _pad: 0,
            seed: c.seed,
            // Not divided among CPUs: one source's packets are judged on
            // one CPU (the sender's softirq on loopback and veth, the
            // queue its flow hashes to on a NIC), so a per-CPU share would
            // give every prefix a fraction of its budget.
            prefix: [c.prefix.rate, c.prefix.burst],
            unknown: self.budget(c.unknown),
            deep: self.budget(c.deep),
            apex_bits: self.cfg.apex_bits,
            gen: self.cfg.gen,
            root: 0,
            label0: [0; 64],
        };
        self.cfg.derive();
        // A budget that changed starts full; one that did not keeps its
        // state (the controller may write the config again and again).
        let (unknown, deep) = (self.cfg.unknown, self.cfg.deep);
        if unknown != before.unknown || !self.configured {
            Self::fill(&mut self.globals, self.cpus, 0, unknown)?;
        }
        if deep != before.deep || !self.configured {
            Self::fill(&mut self.globals, self.cpus, 1, deep)?;
        }
        self.configured = true;
        self.write_config()
    }

    /// levee's addresses: the XDP program judges only packets to one of
    /// them (none: any address). At most [`MAX_ADDRS`].
    pub fn set_addrs(&mut self, addrs: &[IpAddr]) -> Result<(), GateError> {
        if addrs.len() > MAX_ADDRS {
            return Err(GateError::Invalid(format!("{} addresses for the gate, at most {MAX_ADDRS}", addrs.len())));
        }
        // Any address while the map changes, then the new set.
        self.cfg.flags &= !FLAG_ADDRS;
        self.write_config()?;
        let old: Vec<Addr> = self.addrs.keys().filter_map(Result::ok).collect();
        for k in old {
            self.addrs.remove(&k).map_err(map_err("clearing the gate's addresses"))?;
        }
        for a in addrs {
            self.addrs.insert(model::addr(*a), 1, 0).map_err(map_err("writing the gate's addresses"))?;
        }
        if !addrs.is_empty() {
            self.cfg.flags |= FLAG_ADDRS;
        }
        self.write_config()
    }

    /// The first free region of `words` words in `bloom`, or the largest:
    /// regions of published filters and of filters retired less than
    /// [`RETIRE_GRACE`] ago are taken.
    fn allocate(&mut self, words: u32) -> Result<u32, usize> {
        self.retired.retain(|(_, at)| at.elapsed() < RETIRE_GRACE);
        let mut used: Vec<(u32, u32)> =
            self.published.values().chain(self.retired.iter().map(|(r, _)| r)).map(|r| (r.off, r.words)).collect();
        used.sort_unstable();
        let (mut at, mut largest) = (0u32, 0usize);
        for (off, len) in used.into_iter().chain([(BLOOM_WORDS, 0)]) {
            let gap = off - at;
            if gap >= words {
                return Ok(at);
            }
            largest = largest.max(gap as usize);
            at = at.max(off + len);
        }
        Err(largest)
    }

    /// Arms a zone: its filter (built by `levee_limit::gate` with the
    /// configured seed) goes into a free region of `bloom`, then its
    /// `zones` entry points at it; names of the zone that do not exist by
    /// the filter pay `nx` (total for the machine). Republishing a zone
    /// writes the new filter beside the old one and retires the old one
    /// after the switch: a program that read the old entry (or its per-CPU
    /// copy) just before the switch still probes the old bits, so a
    /// retired region is not rewritten before [`RETIRE_GRACE`] (a program
    /// runs for well under a microsecond), and a reader always sees a
    /// whole filter.
    pub fn publish_zone(&mut self, apex: u64, zone_id: u32, filter: &Filter, nx: ZoneBudget) -> Result<(), GateError> {
        let words = filter.words.len();
        if zone_id >= MAX_ZONES {
            return Err(GateError::Invalid(format!("zone id {zone_id} out of the gate's range (< {MAX_ZONES})")));
        }
        if filter.k == 0 || filter.k > MAX_PROBES {
            return Err(GateError::Invalid(format!(
                "a filter with {} probes (the gate makes 1 to {MAX_PROBES})",
                filter.k
            )));
        }
        if filter.log2_bits < 6 || filter.log2_bits > 32 || words != 1usize << (filter.log2_bits - 6) {
            return Err(GateError::Invalid(format!("a filter of {words} words for 2^{} bits", filter.log2_bits)));
        }
        if words > BLOOM_WORDS as usize {
            return Err(GateError::FilterTooBig { words, largest_free: self.allocate(BLOOM_WORDS).unwrap_err() });
        }
        let off =
            self.allocate(words as u32).map_err(|largest_free| GateError::FilterTooBig { words, largest_free })?;
        for (i, w) in filter.words.iter().enumerate() {
            self.bloom.set(off + i as u32, w, 0).map_err(map_err("writing a zone filter"))?;
        }
        let b = self.budget(nx);
        let old = self.published.get(&apex).copied();
        if old.is_none_or(|r| r.zone_id != zone_id) {
            Self::fill(&mut self.zone_buckets, self.cpus, zone_id, b)?;
        }
        let z = ZonePod {
            armed: 1,
            word_off: off,
            log2_bits: filter.log2_bits,
            k: filter.k,
            _pad: 0,
            nx_rate: b[0],
            nx_burst: b[1],
            zone_id,
        };
        // The apex's bit first, so the programs look the new entry up.
        if self.cfg.apex_bits & model::apex_bit(apex) == 0 {
            self.cfg.apex_bits |= model::apex_bit(apex);
            self.write_config()?;
        }
        self.zones.insert(apex, z, 0).map_err(map_err("writing a zone entry"))?;
        if let Some(old) = self.published.insert(apex, Region { off, words: words as u32, zone_id }) {
            self.retired.push((old, Instant::now()));
        }
        self.zones_changed()
    }

    /// After a change of `zones`: a new `gen` in the config, so the
    /// programs drop their copies of zone entries.
    fn zones_changed(&mut self) -> Result<(), GateError> {
        self.cfg.gen = self.cfg.gen.wrapping_add(1).max(1);
        self.write_config()
    }

    /// Disarms a zone: its entry goes, its region is free again after
    /// [`RETIRE_GRACE`].
    pub fn withdraw_zone(&mut self, apex: u64) -> Result<(), GateError> {
        if let Some(old) = self.published.remove(&apex) {
            self.retired.push((old, Instant::now()));
            self.zones.remove(&apex).map_err(map_err("removing a zone entry"))?;
            // Then the bits of the zones that are left.
            self.cfg.apex_bits = self.published.keys().fold(0, |b, &h| b | model::apex_bit(h));
            self.zones_changed()?;
        }
        Ok(())
    }

    /// A known source (IPv4 /32, IPv6 /64), admitted until `expires_ns`
    /// of [`monotonic_ns`].
    pub fn set_known(&mut self, addr: IpAddr, expires_ns: u64) -> Result<(), GateError> {
        let k = model::known_key(&model::addr(addr));
        self.known.insert(k, expires_ns, 0).map_err(map_err("writing a known source"))
    }

    /// Counts the `known` table's entries, those that admit at `now_ns`
    /// (of [`monotonic_ns`]) and the trusted ones: one walk of the map, two
    /// system calls per entry, so the caller does it rarely. The walk is
    /// bounded to twice [`KNOWN_CAPACITY`] steps (a key evicted under the
    /// walk makes the kernel start it again); an entry evicted between
    /// its key and its value is not counted.
    pub fn known_fill(&self, now_ns: u64) -> Result<KnownFill, GateError> {
        let mut f = KnownFill::default();
        for item in self.known.iter().take(2 * KNOWN_CAPACITY) {
            let until = match item {
                Ok((_, until)) => until,
                Err(aya::maps::MapError::KeyNotFound) => continue,
                Err(e) => return Err(map_err("reading the known table")(e)),
            };
            f.entries += 1;
            f.live += usize::from(until > now_ns);
            f.trusted += usize::from(until == u64::MAX);
        }
        Ok(f)
    }

    /// Forgets a known source.
    pub fn remove_known(&mut self, addr: IpAddr) -> Result<(), GateError> {
        let k = model::known_key(&model::addr(addr));
        match self.known.remove(&k) {
            Err(aya::maps::MapError::KeyNotFound) => Ok(()),
            r => r.map_err(map_err("removing a known source")),
        }
    }

    /// The counters, summed over CPUs, indexed as
    /// `levee_limit::gate::model::reason`.
    pub fn stats(&self) -> Result<[u64; REASONS], GateError> {
        let mut out = [0u64; REASONS];
        for (i, o) in out.iter_mut().enumerate() {
            let v = self.stats.get(&(i as u32), 0).map_err(map_err("reading the gate's counters"))?;
            *o = v.iter().sum();
        }
        Ok(out)
    }

    fn prog_fd(&self, p: Prog) -> Result<RawFd, GateError> {
        let name = if p == Prog::Xdp { XDP } else { SOCK };
        let fd = match (p, self.ebpf.program(name)) {
            (Prog::Xdp, Some(aya::programs::Program::Xdp(x))) => x.fd().map(|f| f.as_fd().as_raw_fd()),
            (Prog::Sock, Some(aya::programs::Program::SocketFilter(s))) => s.fd().map(|f| f.as_fd().as_raw_fd()),
            _ => return Err(GateError::Invalid(format!("gate.o has no program {name}"))),
        };
        fd.map_err(|e| classify(&format!("{name} (not loaded: see GateOptions)"), &e))
    }

    /// Attaches `levee_sock` to a UDP socket (`SO_ATTACH_BPF`); it stays
    /// until the socket is closed.
    pub fn attach_socket(&self, fd: RawFd) -> Result<(), GateError> {
        let prog = self.prog_fd(Prog::Sock)?;
        // SAFETY: setsockopt reads an int the size we pass; an fd that is
        // not a socket fails with ENOTSOCK, it is not undefined behaviour.
        let r = unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_ATTACH_BPF,
                &prog as *const RawFd as *const libc::c_void,
                std::mem::size_of::<RawFd>() as libc::socklen_t,
            )
        };
        if r != 0 {
            return Err(classify("attaching the gate to a socket (SO_ATTACH_BPF)", &io::Error::last_os_error()));
        }
        Ok(())
    }

    /// Attaches `levee_xdp` to `ifname`: natively if the driver can, else
    /// in generic mode. Detached when the gate is dropped.
    pub fn attach_xdp(&mut self, ifname: &str) -> Result<XdpMode, GateError> {
        let Some(aya::programs::Program::Xdp(prog)) = self.ebpf.program_mut(XDP) else {
            return Err(GateError::Invalid(format!("gate.o has no program {XDP}")));
        };
        let mode = match prog.attach(ifname, XdpFlags::DRV_MODE) {
            Ok(_) => XdpMode::Native,
            Err(native) => match prog.attach(ifname, XdpFlags::SKB_MODE) {
                Ok(_) => XdpMode::Generic,
                Err(e) => {
                    let what = format!("attaching the gate to {ifname} (native mode: {native}; generic mode)");
                    return Err(classify(&what, &e));
                }
            },
        };
        self.xdp_attached = true;
        Ok(mode)
    }

    /// Whether [`Gate::attach_xdp`] attached somewhere.
    pub fn xdp_attached(&self) -> bool {
        self.xdp_attached
    }

    /// Admitted packets on receive queue `queue` go to the AF_XDP socket `fd`.
    pub fn register_xsk(&mut self, queue: u32, fd: RawFd) -> Result<(), GateError> {
        self.xsks.set(queue, fd, 0).map_err(map_err("registering an AF_XDP socket"))
    }

    /// Runs a program once or `repeat` times on `data` (an Ethernet frame)
    /// with `BPF_PROG_TEST_RUN`, on the calling thread's CPU. For tests
    /// and for measuring the cost per packet.
    pub fn test_run(&self, p: Prog, data: &[u8], repeat: u32) -> Result<TestRun, GateError> {
        let fd = self.prog_fd(p)?;
        let mut attr = TestRunAttr { prog_fd: fd as u32, data_size_in: data.len() as u32, ..Default::default() };
        attr.data_in = data.as_ptr() as u64;
        attr.repeat = repeat;
        // SAFETY: the attribute is a zeroed, #[repr(C)] prefix of union
        // bpf_attr for BPF_PROG_TEST_RUN with the size passed; data_in
        // points at `data`, alive during the call; data_out is null (no
        // copy back).
        let r = unsafe {
            libc::syscall(
                libc::SYS_bpf,
                10, // BPF_PROG_TEST_RUN
                &mut attr as *mut TestRunAttr,
                std::mem::size_of::<TestRunAttr>() as u32,
            )
        };
        if r != 0 {
            return Err(classify("BPF_PROG_TEST_RUN", &io::Error::last_os_error()));
        }
        Ok(TestRun { retval: attr.retval, duration_ns: attr.duration })
    }
}

/// `union bpf_attr` as BPF_PROG_TEST_RUN reads it.
#[repr(C)]
#[derive(Default)]
struct TestRunAttr {
    prog_fd: u32,
    retval: u32,
    data_size_in: u32,
    data_size_out: u32,
    data_in: u64,
    data_out: u64,
    repeat: u32,
    duration: u32,
    ctx_size_in: u32,
    ctx_size_out: u32,
    ctx_in: u64,
    ctx_out: u64,
    flags: u32,
    cpu: u32,
    batch_size: u32,
    _pad: u32,
}

#[cfg(test)]
mod tests;
