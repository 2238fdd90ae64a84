//! [`Config`], the validated runtime form of the configuration, and its
//! parts and defaults: what the daemon reads. The file reader
//! ([`crate::file`]) builds one from the TOML file; command-line flags
//! ([`crate::overrides`]) change it afterwards. This module only holds the
//! types and their defaults: it reads nothing and checks nothing.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use levee_limit::rrl;

use crate::dnstap::DnstapConfig;
use crate::{gate, mgmt, repl};

pub use crate::values::{default_version, hostname};

/// Default UDP payload size (DNS Flag Day 2020).
pub const DEFAULT_UDP_PAYLOAD: u16 = 1232;
/// Default listener when nothing is configured.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:5353";
/// The management listener's address when it is enabled without one.
pub const DEFAULT_MANAGEMENT: &str = "127.0.0.1:8053";
/// Default budget of TCP read and write buffers (`tcp.buffer-memory-mib`).
pub const DEFAULT_TCP_BUFFER_MEMORY: usize = 32 << 20;

/// Log output format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines (the default).
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// One configured zone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZoneConfig {
    /// Origin in presentation format, absolute (`example.com.`).
    pub name: String,
    /// Zone file; `None` means "find `<name>zone` in the zones directory".
    pub file: Option<PathBuf>,
    /// Prefixes allowed to transfer the zone.
    pub allow_transfer: Vec<(IpAddr, u8)>,
    /// Who may send dynamic updates (RFC 2136), and what they may
    /// change: `allow-update`, the forms of `allow-transfer` with optional
    /// `name` and `type` lists; empty (the default) refuses them all.
    pub allow_update: Vec<repl::UpdateRule>,
    /// `api = "write"`: the REST API may change the zone (a dynamic zone
    /// even without `allow-update`).
    pub api_write: bool,
    /// Replication: keyed ACL rules, NOTIFY, primaries.
    pub repl: repl::ZoneRepl,
    /// `semantic-checks` of this zone (`None`: the server's).
    pub semantic_checks: Option<SemanticChecks>,
    /// Refuse a reload whose data changed while the SOA serial did not
    /// increase (RFC 1982); the default only warns.
    pub serial_must_increase: bool,
    /// Signed online with this policy (`dnssec-signing = true`).
    pub dnssec: Option<crate::SignPolicy>,
    /// `catalog-role`: a consumed or produced catalog zone.
    pub catalog_role: Option<CatalogRole>,
    /// `catalog-zone`/`catalog-group`: a member of a produced catalog.
    pub catalog_member: Option<CatalogMember>,
}

impl ZoneConfig {
    /// A zone with nothing set but its name (no file: the zones
    /// directory's; no ACLs, replication, signing or catalog role), what
    /// a zone named only on the command line or made at run time starts
    /// from.
    pub fn named(name: String) -> ZoneConfig {
        ZoneConfig {
            name,
            file: None,
            allow_transfer: Vec::new(),
            allow_update: Vec::new(),
            api_write: false,
            repl: Default::default(),
            semantic_checks: None,
            serial_must_increase: false,
            dnssec: None,
            catalog_role: None,
            catalog_member: None,
        }
    }
}

/// What a zone is to catalogs (`catalog-role`; the keys are read in
/// [`crate::catalog`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CatalogRole {
    /// A consumed catalog: its members become secondary zones. The
    /// templates its members' groups choose from, the first for members
    /// of no group or of a group not listed.
    Interpret {
        /// `catalog-template`, at least one name.
        templates: Vec<String>,
    },
    /// A produced catalog: levee writes it from its members.
    Generate,
}

/// A zone's membership of a produced catalog (`catalog-zone`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CatalogMember {
    /// The catalog zone (a `[[zone]]` with `catalog-role = "generate"`).
    pub catalog: String,
    /// `catalog-group`.
    pub group: Option<String>,
}

/// `[[catalog-template]]`, lowered: the settings of consumed members.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CatalogTemplate {
    /// Its name (what `catalog-template` lists).
    pub name: String,
    /// Where the members transfer from (`None`: the catalog's primaries).
    pub primaries: Option<Vec<repl::Remote>>,
    /// `allow-transfer`: plain prefixes.
    pub allow_transfer: Vec<(std::net::IpAddr, u8)>,
    /// `allow-transfer`: rules naming a key.
    pub transfer_keyed: Vec<repl::AclRule>,
    /// `allow-notify` (`None`: the catalog's).
    pub allow_notify: Option<Vec<repl::AclRule>>,
    /// `semantic-checks` (`None`: the server's).
    pub semantic_checks: Option<SemanticChecks>,
}

/// Default of `server.max-runtime-zones`.
pub const DEFAULT_MAX_RUNTIME_ZONES: usize = 100_000;
/// Default of `server.max-catalog-members`.
pub const DEFAULT_MAX_CATALOG_MEMBERS: usize = 100_000;

/// What a zone with no NS records at its apex, or with an in-zone name
/// server that has no address, does at load (`semantic-checks`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SemanticChecks {
    /// Load it and log a warning, as Knot DNS and NSD do (the default: one
    /// customer's mistake does not take the zone off the air).
    #[default]
    Warn,
    /// Refuse it, as BIND does (the previous version keeps serving).
    Strict,
}

impl SemanticChecks {
    /// Parses `"warn"` or `"strict"`.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "warn" => Ok(SemanticChecks::Warn),
            "strict" => Ok(SemanticChecks::Strict),
            _ => Err(format!("'{s}' is not one of warn, strict")),
        }
    }
}

/// Budgets and timeout of reading one zone (`[load]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoadConfig {
    /// Octets of zone text per zone, `$INCLUDE`s counted.
    pub max_zone_bytes: u64,
    /// Records per zone, `$GENERATE` counted.
    pub max_zone_records: u64,
    /// Seconds one file-system call (stat, open, read) may hang before
    /// the zone's load is abandoned (its served version stays).
    pub read_timeout: u32,
    /// Threads that parse one zone file's text side by side; 0 (the
    /// default) is one per CPU core the process may use, at most
    /// [`AUTO_PARSE_THREADS`]; 1 parses on the loading thread alone.
    pub parse_threads: u32,
}

/// The most parse threads `parse-threads = 0` takes: the loading thread
/// hands the records to the builder one at a time, at about what four
/// parse threads produce, and each thread keeps two blocks (a few MiB)
/// in flight.
pub const AUTO_PARSE_THREADS: usize = 8;

impl LoadConfig {
    /// The threads a zone file is parsed on: `parse_threads`, or with 0
    /// the CPU cores this process may run on, at most
    /// [`AUTO_PARSE_THREADS`].
    pub fn threads(&self) -> usize {
        match self.parse_threads {
            0 => cores().min(AUTO_PARSE_THREADS),
            n => n as usize,
        }
    }
}

/// The CPU cores this process may run on, asked once: the question reads
/// the cgroup's files (some 10 us), and it was asked for every zone
/// loaded (a tenth of the start with 100,000 small zones).
fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

impl Default for LoadConfig {
    fn default() -> Self {
        // Three times the 5M-delegation benchmark TLD (645 MB, 16.25M records).
        LoadConfig { max_zone_bytes: 2 << 30, max_zone_records: 50_000_000, read_timeout: 30, parse_threads: 0 }
    }
}

/// Cookie settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CookieConfig {
    /// Answer client cookies with server cookies.
    pub enabled: bool,
    /// The secret (random per start when not set).
    pub secret: Option<[u8; 16]>,
    /// The previous secret, accepted during a rollover.
    pub previous_secret: Option<[u8; 16]>,
}

/// The validated runtime configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// The file it came from, if any.
    pub source: Option<PathBuf>,
    /// Addresses to serve UDP and TCP on.
    pub listen: Vec<SocketAddr>,
    /// UDP worker threads per address (0 = one per core).
    pub threads: usize,
    /// Directory of `<origin>zone` files.
    pub zones_dir: Option<PathBuf>,
    /// Zones named explicitly.
    pub zones: Vec<ZoneConfig>,
    /// EDNS payload size.
    pub udp_payload: u16,
    /// CHAOS identity (`None` = off).
    pub identity: Option<String>,
    /// CHAOS version (`None` = off).
    pub version: Option<String>,
    /// NSID (`None` = off).
    pub nsid: Option<Vec<u8>>,
    /// TCP idle timeout, seconds.
    pub tcp_idle_timeout: u32,
    /// TCP connection cap.
    pub tcp_max_connections: usize,
    /// `tcp.max-connections` was set in the file (otherwise levee may
    /// lower the cap to fit the open-file limit instead of refusing).
    pub tcp_max_connections_set: bool,
    /// Octets of TCP read and write buffers, all connections together.
    pub tcp_buffer_memory: usize,
    /// TCP connections per client address.
    pub tcp_max_per_source: usize,
    /// Seconds a TCP message may take to arrive once started.
    pub tcp_message_timeout: u32,
    /// Response rate limiting (`None` = off).
    pub rate_limit: Option<rrl::Settings>,
    /// Overload admission on (shed replies nobody legitimate needs when
    /// the UDP workers fall behind).
    pub overload: bool,
    /// Cookies.
    pub cookies: CookieConfig,
    /// Log level.
    pub log_level: String,
    /// Log format.
    pub log_format: LogFormat,
    /// The management listener (`None` = off, the default).
    pub management: Option<SocketAddr>,
    /// Who may use it: tokens, Host names, anonymous metrics.
    pub management_access: mgmt::Access,
    /// Run as this user after binding (`None` = do not change).
    pub user: Option<String>,
    /// Run as this group after binding (`None` = the user's primary group).
    pub group: Option<String>,
    /// TSIG keys.
    pub keys: Vec<levee_tsig::Key>,
    /// Journals, received zones, the control socket.
    pub storage_dir: Option<PathBuf>,
    /// `[transfer-in] concurrent`: transfers in running at once, all
    /// secondary zones together (the others wait their turn).
    pub transfers_in_concurrent: usize,
    /// `[transfer-in] tls-ca-file`: the CA certificates (PEM) of primaries
    /// reached over TLS (XoT); needed when a primary says `tls`.
    pub transfer_in_tls_ca: Option<PathBuf>,
    /// `[transfer-in] tls-cert-file`: the client certificate presented to
    /// primaries over TLS (mutual TLS).
    pub transfer_in_tls_cert: Option<PathBuf>,
    /// `[transfer-in] tls-key-file`: its key.
    pub transfer_in_tls_key: Option<PathBuf>,
    /// Every configured source address (`[notify] source`, `[transfer-in]
    /// source`, the zones' `notify-source`/`transfer-source`) with the key
    /// that set it, for [`Config::check_sources`].
    pub sources: Vec<(String, std::net::IpAddr)>,
    /// The control socket (default `<storage-dir>/levee.sock`).
    pub control_socket: Option<PathBuf>,
    /// `semantic-checks` of zones that do not set their own.
    pub semantic_checks: SemanticChecks,
    /// Budgets and timeout of zone loads.
    pub load: LoadConfig,
    /// Group allowed to use the control socket (mode 0660; default none: 0600).
    pub control_socket_group: Option<String>,
    /// The flood gate below the socket (off by default).
    pub gate: gate::GateConfig,
    /// The AF_XDP answering path (off: no interfaces, the default).
    pub xdp: XdpConfig,
    /// Capturing queries and responses to a dnstap collector (off by default).
    pub dnstap: DnstapConfig,
    /// `[[dnssec-policy]]`, the built-in `default` first.
    pub dnssec_policies: Vec<crate::SignPolicy>,
    /// DNS over TLS (off: no listen address, the default).
    pub tls: crate::tls::TlsConfig,
    /// `[[catalog-template]]`.
    pub catalog_templates: Vec<CatalogTemplate>,
    /// `server.max-runtime-zones`: zones added while running, at most.
    pub max_runtime_zones: usize,
    /// `server.max-catalog-members`: members of one consumed catalog.
    pub max_catalog_members: usize,
}

impl Config {
    /// Refuses a source address that is not one of this host's (in this
    /// network namespace), naming the key: binding a UDP socket to it is
    /// the test (what the NOTIFY and SOA exchanges do). The daemon calls
    /// it at start.
    pub fn check_sources(&self) -> Result<(), crate::ConfigError> {
        for (key, ip) in &self.sources {
            if let Err(e) = std::net::UdpSocket::bind((*ip, 0)) {
                let message = if e.raw_os_error() == Some(libc_eaddrnotavail()) {
                    format!("{ip} is not an address of this host")
                } else {
                    format!("cannot send from {ip}: {e}")
                };
                let place = self.source.as_ref().map_or("configuration".into(), |p| p.display().to_string());
                return Err(crate::ConfigError { place, key: key.clone(), message });
            }
        }
        Ok(())
    }

    /// The addresses the BPF programs (the gate, the AF_XDP redirect)
    /// take queries for: the listen addresses, or none (any address) when
    /// one of them is a wildcard.
    pub fn served_addresses(&self) -> Vec<IpAddr> {
        if self.listen.iter().any(|a| a.ip().is_unspecified()) {
            Vec::new()
        } else {
            self.listen.iter().map(|a| a.ip()).collect()
        }
    }
}

/// `[xdp]` / `--xdp`: the AF_XDP answering path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XdpConfig {
    /// Interfaces answered on with AF_XDP (empty = off).
    pub interfaces: Vec<String>,
    /// Receive queues served per interface (0 = all of them).
    pub queues: u32,
    /// UMEM frames per socket (a power of two).
    pub frames: u32,
    /// Octets per frame (2048 or 4096).
    pub frame_size: u32,
    /// Zero-copy only, copy only, or zero-copy else copy (`None`).
    pub zero_copy: Option<bool>,
    /// Microseconds a worker naps after a batch when nothing is waiting,
    /// so that the next batch is bigger (0: never).
    pub coalesce_us: u32,
}

impl Default for XdpConfig {
    fn default() -> Self {
        XdpConfig {
            interfaces: Vec::new(),
            queues: 0,
            frames: 4096,
            frame_size: 4096,
            zero_copy: None,
            coalesce_us: 100,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            source: None,
            listen: vec![DEFAULT_LISTEN.parse().expect("valid default")],
            threads: 0,
            zones_dir: None,
            zones: Vec::new(),
            udp_payload: DEFAULT_UDP_PAYLOAD,
            identity: Some(hostname()),
            version: Some(default_version()),
            nsid: None,
            tcp_idle_timeout: 10,
            tcp_max_connections: 4096,
            tcp_max_connections_set: false,
            tcp_buffer_memory: DEFAULT_TCP_BUFFER_MEMORY,
            tcp_max_per_source: 64,
            tcp_message_timeout: 2,
            rate_limit: Some(rrl::Settings::default()),
            overload: true,
            cookies: CookieConfig { enabled: true, secret: None, previous_secret: None },
            log_level: "info".into(),
            log_format: LogFormat::Text,
            management: None,
            management_access: mgmt::Access::default(),
            user: None,
            group: None,
            keys: Vec::new(),
            storage_dir: None,
            transfers_in_concurrent: crate::repl::DEFAULT_TRANSFERS_IN_CONCURRENT,
            transfer_in_tls_ca: None,
            transfer_in_tls_cert: None,
            transfer_in_tls_key: None,
            sources: Vec::new(),
            control_socket: None,
            semantic_checks: SemanticChecks::default(),
            load: LoadConfig::default(),
            control_socket_group: None,
            gate: gate::GateConfig::default(),
            xdp: XdpConfig::default(),
            dnstap: DnstapConfig::default(),
            dnssec_policies: vec![crate::SignPolicy::default()],
            catalog_templates: Vec::new(),
            max_runtime_zones: DEFAULT_MAX_RUNTIME_ZONES,
            max_catalog_members: DEFAULT_MAX_CATALOG_MEMBERS,
            tls: crate::tls::TlsConfig::default(),
        }
    }
}

/// `EADDRNOTAVAIL` on Linux (no libc dependency for one number).
const fn libc_eaddrnotavail() -> i32 {
    99
}
