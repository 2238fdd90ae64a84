//! The configuration file: its on-disk schema (version 1, [`Spec`]), reading
//! it ([`Config::from_file`]: relative paths resolved from the file's
//! directory, management secrets read and their modes checked), and its
//! lowering into [`Config`], one step per section, each value checked and
//! an error naming its key.
//!
//! This module sits on top of the crate: it uses the runtime types
//! ([`crate::runtime`]), the value parsers ([`crate::values`]), the ranges
//! ([`crate::bounds`]) and the section lowerings of `[management]`
//! ([`crate::mgmt`]) and replication ([`crate::repl`]); none of them uses it.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use levee_limit::rrl;
use serde::Deserialize;

use crate::error::ConfigError;
use crate::runtime::{
    default_version, hostname, Config, CookieConfig, LoadConfig, LogFormat, SemanticChecks, XdpConfig, ZoneConfig,
    DEFAULT_MANAGEMENT,
};
use crate::values::{check_interface, normalize_zone_name, parse_listen, parse_prefix, parse_secret};
use crate::SignPolicy;
use crate::{bounds, catalog, dnssec, dnstap, gate, mgmt, repl};

/// The whole file.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Spec {
    /// Schema version; only 1 exists.
    pub version: Option<i64>,
    /// `[server]`.
    #[serde(default)]
    pub server: Server,
    /// `[tcp]`.
    #[serde(default)]
    pub tcp: Tcp,
    /// `[cookies]`.
    #[serde(default)]
    pub cookies: Cookies,
    /// `[rate-limit]`.
    #[serde(default)]
    pub rate_limit: RateLimit,
    /// `[overload]`.
    #[serde(default)]
    pub overload: Overload,
    /// `[log]`.
    #[serde(default)]
    pub log: Log,
    /// `[management]`.
    #[serde(default)]
    pub management: mgmt::Spec,
    /// `[load]`: budgets and timeout of reading zone files.
    #[serde(default)]
    pub load: Load,
    /// `[[zone]]`.
    #[serde(default)]
    pub zone: Vec<Zone>,
    /// `[[key]]`: TSIG keys.
    #[serde(default)]
    pub key: Vec<repl::KeySpec>,
    /// `[transfer-in]`: limits on transfers in.
    #[serde(default)]
    pub transfer_in: TransferIn,
    /// `[notify]`: outgoing NOTIFY.
    #[serde(default)]
    pub notify: Notify,
    /// `[gate]`: the flood gate below the socket.
    #[serde(default)]
    pub gate: gate::Spec,
    /// `[xdp]`: the AF_XDP answering path.
    #[serde(default)]
    pub xdp: Xdp,
    /// `[dnstap]`: capturing queries and responses to a collector.
    #[serde(default)]
    pub dnstap: dnstap::Spec,
    /// `[[dnssec-policy]]`: how signed zones are signed.
    #[serde(default)]
    pub dnssec_policy: Vec<dnssec::Spec>,
    /// `[tls]`: DNS over TLS.
    #[serde(default)]
    pub tls: crate::tls::Spec,
    /// `[[catalog-template]]`: settings of consumed catalogs' members.
    #[serde(default)]
    pub catalog_template: Vec<catalog::TemplateSpec>,
}

/// `[xdp]`.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Xdp {
    /// Interfaces to answer on with AF_XDP.
    pub interfaces: Option<Vec<String>>,
    /// Receive queues per interface (0 = all).
    pub queues: Option<i64>,
    /// UMEM frames per socket.
    pub frames: Option<i64>,
    /// Octets per frame.
    pub frame_size: Option<i64>,
    /// Zero-copy only (true), copy only (false), or either (absent).
    pub zero_copy: Option<bool>,
    /// Microseconds of nap after a batch (0: none).
    pub coalesce_us: Option<i64>,
}

/// `[transfer-in]`.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TransferIn {
    /// Seconds for a whole transfer.
    pub timeout: Option<i64>,
    /// Seconds per message.
    pub idle_timeout: Option<i64>,
    /// Records per transfer.
    pub max_records: Option<i64>,
    /// Octets of record data per transfer.
    pub max_size: Option<i64>,
    /// Transfers in at once.
    pub concurrent: Option<i64>,
    /// PEM CA certificates that primaries reached over TLS (XoT) must
    /// chain to.
    pub tls_ca_file: Option<PathBuf>,
    /// PEM client certificate chain presented to primaries over TLS
    /// (mutual TLS).
    pub tls_cert_file: Option<PathBuf>,
    /// Its PEM private key.
    pub tls_key_file: Option<PathBuf>,
    /// Source address(es) of SOA queries and transfers to primaries.
    pub source: Option<repl::OneOrMany>,
}

/// `[notify]`.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Notify {
    /// Source address(es) of outgoing NOTIFY.
    pub source: Option<repl::OneOrMany>,
}

/// `[server]`.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Server {
    /// Listen addresses.
    pub listen: Option<Vec<String>>,
    /// UDP workers per address.
    pub threads: Option<i64>,
    /// Zones directory.
    pub zones_dir: Option<PathBuf>,
    /// EDNS payload size.
    pub udp_payload: Option<i64>,
    /// CHAOS identity.
    pub identity: Option<String>,
    /// CHAOS version.
    pub version: Option<String>,
    /// NSID.
    pub nsid: Option<String>,
    /// User to run as after binding.
    pub user: Option<String>,
    /// Group to run as after binding.
    pub group: Option<String>,
    /// Journals, received zones, control socket.
    pub storage_dir: Option<PathBuf>,
    /// Control socket path.
    pub control_socket: Option<PathBuf>,
    /// Default semantic-check policy of the zones.
    pub semantic_checks: Option<String>,
    /// Group that may use the control socket (mode 0660 instead of 0600).
    pub control_socket_group: Option<String>,
    /// Zones added while running (catalogs, API), at most.
    pub max_runtime_zones: Option<i64>,
    /// Members of one consumed catalog, at most.
    pub max_catalog_members: Option<i64>,
}

/// `[load]`.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Load {
    /// Octets of zone text per zone (`$INCLUDE`s counted).
    pub max_zone_bytes: Option<i64>,
    /// Records per zone (`$GENERATE` counted).
    pub max_zone_records: Option<i64>,
    /// Seconds one file-system call may hang before a zone's load is abandoned.
    pub read_timeout: Option<i64>,
    /// Threads that parse one zone file's text (0: one per CPU core).
    pub parse_threads: Option<i64>,
}

/// `[tcp]`.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Tcp {
    /// Idle timeout in seconds.
    pub idle_timeout: Option<i64>,
    /// Connection cap.
    pub max_connections: Option<i64>,
    /// Connection cap per client address.
    pub max_connections_per_source: Option<i64>,
    /// Seconds to receive a whole message once its first octet arrived.
    pub message_timeout: Option<i64>,
    /// MiB of TCP read and write buffers, all connections together.
    pub buffer_memory_mib: Option<i64>,
}

/// `[rate-limit]`.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RateLimit {
    /// On or off.
    pub enabled: Option<bool>,
    /// Answers per second per prefix, name and type.
    pub responses_per_second: Option<i64>,
    /// NODATA per second per prefix and zone.
    pub nodata_per_second: Option<i64>,
    /// NXDOMAIN per second per prefix and zone.
    pub nxdomain_per_second: Option<i64>,
    /// Referrals per second per prefix and delegation.
    pub referrals_per_second: Option<i64>,
    /// Errors per second per prefix.
    pub errors_per_second: Option<i64>,
    /// Seconds of burst.
    pub burst: Option<i64>,
    /// Every n-th limited response is truncated.
    pub slip: Option<i64>,
    /// IPv4 prefix length.
    pub ipv4_prefix: Option<i64>,
    /// IPv6 prefix length.
    pub ipv6_prefix: Option<i64>,
    /// Count only.
    pub log_only: Option<bool>,
    /// Prefixes never limited.
    pub exempt: Option<Vec<String>>,
    /// Buckets in the table.
    pub table_size: Option<i64>,
}

/// `[overload]`.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Overload {
    /// On or off.
    pub enabled: Option<bool>,
}

/// `[cookies]`.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Cookies {
    /// On or off.
    pub enabled: Option<bool>,
    /// Hex secret.
    pub secret: Option<String>,
    /// Hex previous secret.
    pub previous_secret: Option<String>,
}

/// `[log]`.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Log {
    /// Level.
    pub level: Option<String>,
    /// `text` or `json`.
    pub format: Option<String>,
}

/// `[[zone]]`.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Zone {
    /// Origin.
    pub name: String,
    /// File.
    pub file: Option<PathBuf>,
    /// Transfer ACL.
    #[serde(default)]
    pub allow_transfer: Vec<String>,
    /// NOTIFY ACL (secondary zones).
    #[serde(default)]
    pub allow_notify: Vec<String>,
    /// Dynamic update (RFC 2136) grants (primary zones).
    #[serde(default)]
    pub allow_update: Vec<String>,
    /// `read` (default) or `write`: the REST API may change the zone.
    pub api: Option<String>,
    /// Secondaries to NOTIFY.
    #[serde(default)]
    pub notify: Vec<String>,
    /// Primaries (makes the zone a secondary).
    #[serde(default)]
    pub primaries: Vec<String>,
    /// `[transfer-in] timeout` for this zone.
    pub transfer_timeout: Option<i64>,
    /// `[transfer-in] idle-timeout` for this zone.
    pub transfer_idle_timeout: Option<i64>,
    /// `[transfer-in] max-records` for this zone.
    pub transfer_max_records: Option<i64>,
    /// `[transfer-in] max-size` for this zone.
    pub transfer_max_size: Option<i64>,
    /// `[transfer-in] source` for this zone.
    pub transfer_source: Option<repl::OneOrMany>,
    /// `[notify] source` for this zone.
    pub notify_source: Option<repl::OneOrMany>,
    /// Semantic-check policy: `warn` or `strict`.
    pub semantic_checks: Option<String>,
    /// Refuse a reload whose data changed while the serial did not increase.
    pub serial_must_increase: Option<bool>,
    /// Sign the zone (online DNSSEC signing).
    pub dnssec_signing: Option<bool>,
    /// The `[[dnssec-policy]]` it is signed with (default: `default`).
    pub dnssec_policy: Option<String>,
    /// `interpret` (a consumed catalog) or `generate` (a produced one).
    pub catalog_role: Option<String>,
    /// Templates of a consumed catalog's members, by group.
    pub catalog_template: Option<Vec<String>>,
    /// The produced catalog this zone is a member of.
    pub catalog_zone: Option<String>,
    /// Its group in that catalog.
    pub catalog_group: Option<String>,
}

impl Config {
    /// Reads and validates a configuration file.
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        Self::read(path, true)
    }

    /// Reads and validates a configuration file without reading the
    /// management token files (for `levee ctl`, which needs the paths
    /// only, and whose user may not be allowed to read the tokens).
    pub fn from_file_without_secrets(path: &Path) -> Result<Config, ConfigError> {
        Self::read(path, false)
    }

    fn read(path: &Path, secrets: bool) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            place: path.display().to_string(),
            key: String::new(),
            message: format!("cannot read: {e}"),
        })?;
        let mut c = parse(&text, &path.display().to_string())?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        if let Some(d) = &mut c.zones_dir {
            if d.is_relative() {
                *d = base.join(&*d);
            }
        }
        for d in [&mut c.storage_dir, &mut c.control_socket].into_iter().flatten() {
            if d.is_relative() {
                *d = base.join(&*d);
            }
        }
        if let Some(crate::dnstap::Collector::Unix(p)) = &mut c.dnstap.collector {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        for z in &mut c.zones {
            if let Some(f) = &mut z.file {
                if f.is_relative() {
                    *f = base.join(&*f);
                }
            }
        }
        let files = [
            &mut c.tls.certificate,
            &mut c.tls.key,
            &mut c.tls.client_ca,
            &mut c.transfer_in_tls_ca,
            &mut c.transfer_in_tls_cert,
            &mut c.transfer_in_tls_key,
        ];
        for f in files.into_iter().flatten() {
            if f.is_relative() {
                *f = base.join(&*f);
            }
        }
        if secrets {
            crate::tls::check_key_mode(&c.tls).map_err(|(key, message)| ConfigError {
                place: path.display().to_string(),
                key,
                message,
            })?;
            mgmt::load_secrets(&mut c.management_access, path, &base).map_err(|(key, message)| ConfigError {
                place: path.display().to_string(),
                key,
                message,
            })?;
        }
        c.source = Some(path.to_path_buf());
        Ok(c)
    }
}

/// Parses and validates the text of a configuration file.
pub fn parse(text: &str, place: &str) -> Result<Config, ConfigError> {
    let spec: Spec = toml::from_str(text).map_err(|e| toml_error(text, place, &e))?;
    lower(spec, place)
}

fn toml_error(text: &str, place: &str, e: &toml::de::Error) -> ConfigError {
    let (line, col, key) = match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let col = span.start - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            (line, col, key_at(text, span.start))
        }
        None => (0, 0, String::new()),
    };
    let place = if line > 0 { format!("{place}:{line}:{col}") } else { place.to_string() };
    ConfigError { place, key, message: e.message().to_string() }
}

/// The dotted key of the `key = value` line around `offset`, with the
/// table it is in.
fn key_at(text: &str, offset: usize) -> String {
    let line_start = text[..offset.min(text.len())].rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next().unwrap_or("");
    let key = line.split_once('=').map(|(k, _)| k.trim().to_string()).unwrap_or_default();
    let table = text[..line_start]
        .lines()
        .rev()
        .find_map(|l| {
            let l = l.trim();
            l.strip_prefix("[[")
                .and_then(|r| r.strip_suffix("]]"))
                .or_else(|| l.strip_prefix('[').and_then(|r| r.strip_suffix(']')))
        })
        .map(str::trim)
        .unwrap_or("");
    match (table.is_empty(), key.is_empty()) {
        (_, true) => table.to_string(),
        (true, false) => key,
        (false, false) => format!("{table}.{key}"),
    }
}

/// How a lowering step reports an error: the key and the message, made
/// into a [`ConfigError`] at the file's place.
type ErrAt<'a> = dyn Fn(String, String) -> ConfigError + 'a;

/// Lowers the whole file onto the defaults of [`Config`], section by
/// section. The steps run in a fixed order, so a file with several
/// mistakes reports the same one first every time.
fn lower(spec: Spec, place: &str) -> Result<Config, ConfigError> {
    let err = |key: String, message: String| ConfigError { place: place.to_string(), key, message };
    if let Some(v) = spec.version {
        if v != 1 {
            return Err(err(
                "version".into(),
                format!("unsupported configuration version {v} (this levee reads version 1)"),
            ));
        }
    }
    let mut c = Config::default();
    let s = spec.server;
    server_answers(&mut c, &s, &err)?;
    tcp(&mut c, &spec.tcp, &err)?;
    c.rate_limit = rate_limit(spec.rate_limit, &err)?;
    c.overload = spec.overload.enabled.unwrap_or(c.overload);
    c.cookies = cookies(&spec.cookies, &err)?;
    log(&mut c, spec.log, &err)?;
    management(&mut c, &spec.management, &err)?;
    for (key, v) in [("server.user", &s.user), ("server.group", &s.group)] {
        if v.as_deref() == Some("") {
            return Err(err(key.into(), "must not be empty (leave it out to keep the starting user)".into()));
        }
    }
    c.load = load(spec.load, &err)?;
    c.gate = spec.gate.lower().map_err(|(k, m)| err(k, m))?;
    server_process(&mut c, s, &err)?;
    keys(&mut c, &spec.key, &err)?;
    c.xdp = xdp(&spec.xdp, &err)?;
    c.dnstap = spec.dnstap.lower().map_err(|(k, m)| err(k, m))?;
    c.dnssec_policies = dnssec::lower(spec.dnssec_policy, &c.keys).map_err(|(k, m)| err(k, m))?;
    c.tls = spec.tls.lower().map_err(|(k, m)| err(k, m))?;
    c.catalog_templates = catalog::lower_templates(&spec.catalog_template, &c.keys).map_err(|(k, m)| err(k, m))?;
    let ti = &spec.transfer_in;
    if let Some(v) = ti.concurrent {
        c.transfers_in_concurrent = crate::bounds::check("transfer-in.concurrent", v)
            .map_err(|m| err("transfer-in.concurrent".into(), m))? as usize;
    }
    c.transfer_in_tls_ca.clone_from(&ti.tls_ca_file);
    match (&ti.tls_cert_file, &ti.tls_key_file) {
        (Some(_), None) => {
            return Err(err("transfer-in.tls-key-file".into(), "tls-cert-file needs tls-key-file".into()))
        }
        (None, Some(_)) => {
            return Err(err("transfer-in.tls-cert-file".into(), "tls-key-file needs tls-cert-file".into()))
        }
        _ => {}
    }
    c.transfer_in_tls_cert.clone_from(&ti.tls_cert_file);
    c.transfer_in_tls_key.clone_from(&ti.tls_key_file);
    let transfer_in = repl::LimitSpec {
        timeout: ti.timeout,
        idle_timeout: ti.idle_timeout,
        max_records: ti.max_records,
        max_size: ti.max_size,
    }
    .apply(Default::default(), "transfer-in.")
    .map_err(|(k, m)| err(k, m))?;
    let sources = Sources {
        transfer: source(&mut c, "transfer-in.source", ti.source.as_ref(), Default::default(), &err)?,
        notify: source(&mut c, "notify.source", spec.notify.source.as_ref(), Default::default(), &err)?,
    };
    // The names so far, lower case: a name given twice is refused (a
    // scan of the zones before each one made 100,000 zones quadratic).
    let mut names = std::collections::HashSet::with_capacity(spec.zone.len());
    for (i, z) in spec.zone.into_iter().enumerate() {
        let zone = zone(i, z, &mut c, transfer_in, sources, &err)?;
        if !names.insert(zone.name.to_ascii_lowercase()) {
            return Err(err(format!("zone[{i}].name"), format!("zone {} is configured twice", zone.name)));
        }
        c.zones.push(zone);
    }
    catalog::check_members(&c.zones).map_err(|(k, m)| err(k, m))?;
    Ok(c)
}

/// The source addresses in force for a zone (`[transfer-in] source`,
/// `[notify] source`, or the zone's own keys).
#[derive(Clone, Copy)]
struct Sources {
    transfer: repl::Sources,
    notify: repl::Sources,
}

/// Lowers a `source` key (`inherited` when absent) and remembers its
/// addresses under `key` for [`Config::check_sources`].
fn source(
    c: &mut Config,
    key: &str,
    v: Option<&repl::OneOrMany>,
    inherited: repl::Sources,
    err: &ErrAt,
) -> Result<repl::Sources, ConfigError> {
    let Some(v) = v else { return Ok(inherited) };
    let s = repl::Sources::parse(v).map_err(|m| err(key.into(), m))?;
    c.sources.extend(s.addrs().map(|a| (key.to_string(), a)));
    Ok(s)
}

/// A numeric key checked against its range ([`crate::bounds`]).
fn num(key: &str, v: i64, err: &ErrAt) -> Result<u64, ConfigError> {
    bounds::check(key, v).map_err(|m| err(key.to_string(), m))
}

/// Lowers the keys of `[server]` that shape the answers: the listen
/// addresses, the UDP workers, the EDNS payload size, the CHAOS
/// identity and version, the NSID.
fn server_answers(c: &mut Config, s: &Server, err: &ErrAt) -> Result<(), ConfigError> {
    if let Some(l) = &s.listen {
        if l.is_empty() {
            return Err(err("server.listen".into(), "needs at least one address".into()));
        }
        c.listen = Vec::new();
        for (i, a) in l.iter().enumerate() {
            c.listen.push(parse_listen(a).map_err(|m| err(format!("server.listen[{i}]"), m))?);
        }
    }
    if let Some(t) = s.threads {
        c.threads = num("server.threads", t, err)? as usize;
    }
    if let Some(p) = s.udp_payload {
        c.udp_payload = num("server.udp-payload", p, err)? as u16;
    }
    match s.identity.as_deref() {
        None => c.identity = Some(hostname()),
        Some("") => c.identity = None,
        Some(v) => c.identity = Some(v.to_string()),
    }
    match s.version.as_deref() {
        None => c.version = Some(default_version()),
        Some("") => c.version = None,
        Some(v) => c.version = Some(v.to_string()),
    }
    c.nsid = match s.nsid.as_deref() {
        None | Some("") => None,
        Some("hostname") => Some(hostname().into_bytes()),
        Some(v) if v.starts_with("0x") => {
            let hex = &v[2..];
            if hex.len() % 2 != 0 || hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(err("server.nsid".into(), "hex NSID needs an even number of hex digits".into()));
            }
            Some((0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or(0)).collect())
        }
        Some(v) => Some(v.as_bytes().to_vec()),
    };
    if let Some(n) = &c.nsid {
        if n.len() > 64 {
            return Err(err("server.nsid".into(), "longer than 64 octets".into()));
        }
    }
    Ok(())
}

/// Lowers the rest of `[server]`: the directories and files, the user
/// and group to run as (already checked not to be empty), the default
/// semantic-check policy, the control socket's group.
fn server_process(c: &mut Config, s: Server, err: &ErrAt) -> Result<(), ConfigError> {
    c.zones_dir = s.zones_dir;
    c.user = s.user;
    c.group = s.group;
    c.storage_dir = s.storage_dir;
    c.control_socket = s.control_socket;
    if let Some(v) = &s.semantic_checks {
        c.semantic_checks = SemanticChecks::parse(v).map_err(|m| err("server.semantic-checks".into(), m))?;
    }
    if s.control_socket_group.as_deref() == Some("") {
        return Err(err("server.control-socket-group".into(), "must not be empty (leave it out for mode 0600)".into()));
    }
    c.control_socket_group = s.control_socket_group;
    if let Some(v) = s.max_runtime_zones {
        c.max_runtime_zones = num("server.max-runtime-zones", v, err)? as usize;
    }
    if let Some(v) = s.max_catalog_members {
        c.max_catalog_members = num("server.max-catalog-members", v, err)? as usize;
    }
    Ok(())
}

/// Lowers `[tcp]`, each value checked against its range.
fn tcp(c: &mut Config, t: &Tcp, err: &ErrAt) -> Result<(), ConfigError> {
    if let Some(v) = t.idle_timeout {
        c.tcp_idle_timeout = num("tcp.idle-timeout", v, err)? as u32;
    }
    if let Some(m) = t.max_connections {
        c.tcp_max_connections = num("tcp.max-connections", m, err)? as usize;
        c.tcp_max_connections_set = true;
    }
    if let Some(m) = t.max_connections_per_source {
        c.tcp_max_per_source = num("tcp.max-connections-per-source", m, err)? as usize;
    }
    if let Some(v) = t.message_timeout {
        c.tcp_message_timeout = num("tcp.message-timeout", v, err)? as u32;
    }
    if let Some(m) = t.buffer_memory_mib {
        c.tcp_buffer_memory = (num("tcp.buffer-memory-mib", m, err)? as usize) << 20;
    }
    Ok(())
}

/// Lowers `[xdp]`: interface names as given (checked for their shape here,
/// for existence at start), the socket's fixed resources.
fn xdp(x: &Xdp, err: &ErrAt) -> Result<XdpConfig, ConfigError> {
    let mut c = XdpConfig::default();
    for (i, name) in x.interfaces.iter().flatten().enumerate() {
        check_interface(name).map_err(|m| err(format!("xdp.interfaces[{i}]"), m))?;
        if !c.interfaces.contains(name) {
            c.interfaces.push(name.clone());
        }
    }
    if let Some(q) = x.queues {
        c.queues = num("xdp.queues", q, err)? as u32;
    }
    if let Some(f) = x.frames {
        c.frames = num("xdp.frames", f, err)? as u32;
        if !c.frames.is_power_of_two() {
            return Err(err("xdp.frames".into(), format!("{f} is not a power of two")));
        }
    }
    if let Some(f) = x.frame_size {
        c.frame_size = num("xdp.frame-size", f, err)? as u32;
        if c.frame_size != 2048 && c.frame_size != 4096 {
            return Err(err("xdp.frame-size".into(), format!("{f} is neither 2048 nor 4096")));
        }
    }
    c.zero_copy = x.zero_copy;
    if let Some(us) = x.coalesce_us {
        c.coalesce_us = num("xdp.coalesce-us", us, err)? as u32;
    }
    Ok(c)
}

/// Lowers `[cookies]`: on unless turned off, the secrets as 32 hex digits.
fn cookies(k: &Cookies, err: &ErrAt) -> Result<CookieConfig, ConfigError> {
    Ok(CookieConfig {
        enabled: k.enabled.unwrap_or(true),
        secret: k.secret.as_deref().map(parse_secret).transpose().map_err(|m| err("cookies.secret".into(), m))?,
        previous_secret: k
            .previous_secret
            .as_deref()
            .map(parse_secret)
            .transpose()
            .map_err(|m| err("cookies.previous-secret".into(), m))?,
    })
}

/// Lowers `[log]`: the level and the format.
fn log(c: &mut Config, l: Log, err: &ErrAt) -> Result<(), ConfigError> {
    if let Some(l) = l.level {
        if !["error", "warn", "info", "debug", "trace"].contains(&l.as_str()) {
            return Err(err("log.level".into(), format!("'{l}' is not one of error, warn, info, debug, trace")));
        }
        c.log_level = l;
    }
    c.log_format = match l.format.as_deref() {
        None | Some("text") => LogFormat::Text,
        Some("json") => LogFormat::Json,
        Some(f) => return Err(err("log.format".into(), format!("'{f}' is not one of text, json"))),
    };
    Ok(())
}

/// Lowers `[management]`: the listener (off unless `listen` is set or
/// `enabled = true`), then who may use it ([`mgmt::lower`]), then the
/// rule for its address ([`mgmt::check_listen`]).
fn management(c: &mut Config, m: &mgmt::Spec, err: &ErrAt) -> Result<(), ConfigError> {
    let listen =
        m.listen.as_deref().map(|l| parse_listen(l).map_err(|e| err("management.listen".into(), e))).transpose()?;
    c.management = match (m.enabled, listen) {
        (Some(false), _) => None,
        (None, None) => None,
        (_, Some(a)) => Some(a),
        (Some(true), None) => Some(DEFAULT_MANAGEMENT.parse().expect("valid default")),
    };
    c.management_access = mgmt::lower(m).map_err(|(k, m)| err(k, m))?;
    if let Some(a) = c.management {
        mgmt::check_listen(a, &c.management_access).map_err(|e| err("management.listen".into(), e))?;
    }
    Ok(())
}

/// Lowers the `[[key]]` list (TSIG keys), refusing a name given twice.
fn keys(c: &mut Config, keys: &[repl::KeySpec], err: &ErrAt) -> Result<(), ConfigError> {
    for (i, k) in keys.iter().enumerate() {
        let key = repl::lower_key(k).map_err(|(f, m)| err(format!("key[{i}].{f}"), m))?;
        if c.keys.iter().any(|o| o.name == key.name) {
            return Err(err(format!("key[{i}].name"), format!("key {} is configured twice", k.name)));
        }
        c.keys.push(key);
    }
    Ok(())
}

/// Lowers the `i`-th `[[zone]]` against what is lowered so far (the
/// caller refuses a name given twice): the keys its rules name, the storage directory a secondary needs; `transfer_in` are the
/// server's limits its `transfer-*` keys override.
fn zone(
    i: usize,
    z: Zone,
    c: &mut Config,
    transfer_in: repl::TransferLimits,
    sources: Sources,
    err: &ErrAt,
) -> Result<ZoneConfig, ConfigError> {
    let name = normalize_zone_name(&z.name).map_err(|m| err(format!("zone[{i}].name"), m))?;
    let (acl, mut zone_repl) = zone_repl(i, &z, &c.keys, transfer_in, err)?;
    let transfer = source(c, &format!("zone[{i}].transfer-source"), z.transfer_source.as_ref(), sources.transfer, err)?;
    let notify = source(c, &format!("zone[{i}].notify-source"), z.notify_source.as_ref(), sources.notify, err)?;
    for p in &mut zone_repl.primaries {
        p.source = transfer.for_peer(&p.addr);
    }
    for n in &mut zone_repl.notify {
        n.source = notify.for_peer(&n.addr);
    }
    if let Some(j) = zone_repl.primaries.iter().position(|p| p.tls.is_some()) {
        if c.transfer_in_tls_ca.is_none() {
            let m = "a primary reached over TLS needs [transfer-in] tls-ca-file (the CA its certificate chains to)";
            return Err(err(format!("zone[{i}].primaries[{j}]"), m.into()));
        }
    }
    if let Some(j) = zone_repl.transfer_keyed.iter().position(|r| r.tls_client.is_some()) {
        if c.tls.client_ca.is_none() {
            let m = "'tls-client' needs tls.client-ca-file (the CA client certificates must chain to)";
            return Err(err(format!("zone[{i}].allow-transfer[{j}]"), m.into()));
        }
    }
    if !zone_repl.primaries.is_empty() && c.storage_dir.is_none() {
        return Err(err(format!("zone[{i}].primaries"), "a secondary zone needs server.storage-dir".into()));
    }
    let allow_update = allow_update(i, &z, c, &zone_repl, err)?;
    let api_write = api_write(i, &z, c, &zone_repl, err)?;
    let semantic_checks = z
        .semantic_checks
        .as_deref()
        .map(SemanticChecks::parse)
        .transpose()
        .map_err(|m| err(format!("zone[{i}].semantic-checks"), m))?;
    let serial_must_increase = z.serial_must_increase.unwrap_or(false);
    let dnssec = zone_dnssec(i, &z, c, err)?;
    if dnssec.is_some() && api_write {
        let m = "a zone signed by levee cannot be written through the API yet (leave out api = \"write\")".into();
        return Err(err(format!("zone[{i}].api"), m));
    }
    if dnssec.as_ref().is_some_and(|p| p.denial == crate::DenialKind::Compact) && !zone_repl.primaries.is_empty() {
        // Compact denial signs at query time with keys a stored copy
        // does not carry; a zone signed in transit uses a chain.
        let m = "a zone signed in transit (primaries) needs denial nsec or nsec3, not compact".into();
        return Err(err(format!("zone[{i}].dnssec-policy"), m));
    }
    let keys = catalog::ZoneKeys {
        role: z.catalog_role.as_deref(),
        templates: z.catalog_template.as_deref(),
        zone: z.catalog_zone.as_deref(),
        group: z.catalog_group.as_deref(),
        secondary: !zone_repl.primaries.is_empty(),
        file: z.file.is_some(),
    };
    let (catalog_role, catalog_member) =
        catalog::lower_zone(&keys, &c.catalog_templates).map_err(|(k, m)| err(format!("zone[{i}].{k}"), m))?;
    Ok(ZoneConfig {
        name,
        catalog_role,
        catalog_member,
        file: z.file,
        allow_transfer: acl,
        allow_update,
        api_write,
        repl: zone_repl,
        semantic_checks,
        serial_must_increase,
        dnssec,
    })
}

/// The signing policy of the `i`-th `[[zone]]`, if it is signed.
fn zone_dnssec(i: usize, z: &Zone, c: &Config, err: &ErrAt) -> Result<Option<SignPolicy>, ConfigError> {
    if z.dnssec_signing != Some(true) {
        if z.dnssec_policy.is_some() {
            return Err(err(format!("zone[{i}].dnssec-policy"), "needs dnssec-signing = true".into()));
        }
        return Ok(None);
    }
    if c.storage_dir.is_none() {
        let m = "a signed zone needs server.storage-dir (its keys are kept there)".into();
        return Err(err(format!("zone[{i}].dnssec-signing"), m));
    }
    let want = z.dnssec_policy.as_deref().unwrap_or("default");
    match c.dnssec_policies.iter().find(|p| p.name == want) {
        Some(p) => Ok(Some(p.clone())),
        None => Err(err(format!("zone[{i}].dnssec-policy"), format!("no [[dnssec-policy]] named {want}"))),
    }
}

/// The `allow-update` rules of the `i`-th `[[zone]]` (the forms of
/// `allow-transfer`): only for a primary zone (levee does not forward
/// updates, as BIND refuses `allow-update` in a secondary zone), and only
/// with `server.storage-dir`, where accepted changes are journaled.
fn allow_update(
    i: usize,
    z: &Zone,
    c: &Config,
    zone_repl: &repl::ZoneRepl,
    err: &ErrAt,
) -> Result<Vec<repl::UpdateRule>, ConfigError> {
    let mut rules = Vec::new();
    let zone = normalize_zone_name(&z.name).map_err(|m| err(format!("zone[{i}].name"), m))?;
    for (j, p) in z.allow_update.iter().enumerate() {
        let rule = repl::parse_update_rule(p, &zone, &c.keys);
        rules.push(rule.map_err(|m| err(format!("zone[{i}].allow-update[{j}]"), m))?);
    }
    if rules.is_empty() {
        return Ok(rules);
    }
    if !zone_repl.primaries.is_empty() {
        return Err(err(
            format!("zone[{i}].allow-update"),
            "a secondary zone takes no updates (levee does not forward them)".into(),
        ));
    }
    if c.storage_dir.is_none() {
        return Err(err(
            format!("zone[{i}].allow-update"),
            "dynamic update needs server.storage-dir (for the update journal)".into(),
        ));
    }
    Ok(rules)
}

/// `api` of the `i`-th `[[zone]]`: `write` makes the zone dynamic (its
/// changes go through the update thread and its log) without granting
/// RFC 2136 access; like `allow-update`, only on a primary zone and with
/// `server.storage-dir`.
fn api_write(i: usize, z: &Zone, c: &Config, zone_repl: &repl::ZoneRepl, err: &ErrAt) -> Result<bool, ConfigError> {
    let key = format!("zone[{i}].api");
    match z.api.as_deref() {
        None | Some("read") => Ok(false),
        Some("write") if !zone_repl.primaries.is_empty() => {
            Err(err(key, "a secondary zone cannot be written through the API (its primary owns it)".into()))
        }
        Some("write") if c.storage_dir.is_none() => {
            Err(err(key, "api = \"write\" needs server.storage-dir (for the update log)".into()))
        }
        Some("write") => Ok(true),
        Some(o) => Err(err(key, format!("'{o}' is not one of read, write"))),
    }
}

/// The replication keys of the `i`-th `[[zone]]`: its plain
/// `allow-transfer` prefixes, and the rest (keyed rules, NOTIFY,
/// primaries, transfer limits).
fn zone_repl(
    i: usize,
    z: &Zone,
    keys: &[levee_tsig::Key],
    transfer_in: repl::TransferLimits,
    err: &ErrAt,
) -> Result<(Vec<(IpAddr, u8)>, repl::ZoneRepl), ConfigError> {
    let mut acl = Vec::new();
    let mut r = repl::ZoneRepl::default();
    for (j, p) in z.allow_transfer.iter().enumerate() {
        let rule = repl::parse_transfer_rule(p, keys).map_err(|m| err(format!("zone[{i}].allow-transfer[{j}]"), m))?;
        match rule {
            repl::AclRule { prefix: Some(p), key: None, tls_client: None } => acl.push(p),
            rule => r.transfer_keyed.push(rule),
        }
    }
    for (j, p) in z.allow_notify.iter().enumerate() {
        r.allow_notify.push(repl::parse_rule(p, keys).map_err(|m| err(format!("zone[{i}].allow-notify[{j}]"), m))?);
    }
    for (j, p) in z.notify.iter().enumerate() {
        let at = || format!("zone[{i}].notify[{j}]");
        let remote = repl::parse_remote(p, keys).map_err(|m| err(at(), m))?;
        if remote.tls.is_some() {
            return Err(err(at(), "NOTIFY goes over UDP: 'tls' is for primaries".into()));
        }
        r.notify.push(remote);
    }
    for (j, p) in z.primaries.iter().enumerate() {
        r.primaries.push(repl::parse_remote(p, keys).map_err(|m| err(format!("zone[{i}].primaries[{j}]"), m))?);
    }
    r.transfer_limits = repl::LimitSpec {
        timeout: z.transfer_timeout,
        idle_timeout: z.transfer_idle_timeout,
        max_records: z.transfer_max_records,
        max_size: z.transfer_max_size,
    }
    .apply(transfer_in, &format!("zone[{i}].transfer-"))
    .map_err(|(k, m)| err(k, m))?;
    Ok((acl, r))
}

/// Lowers `[load]`, each value checked against its range.
fn load(l: Load, err: &ErrAt) -> Result<LoadConfig, ConfigError> {
    let mut c = LoadConfig::default();
    let check = |key: &str, v: i64| bounds::check(key, v).map_err(|m| err(key.to_string(), m));
    if let Some(v) = l.max_zone_bytes {
        c.max_zone_bytes = check("load.max-zone-bytes", v)?;
    }
    if let Some(v) = l.max_zone_records {
        c.max_zone_records = check("load.max-zone-records", v)?;
    }
    if let Some(v) = l.read_timeout {
        c.read_timeout = check("load.read-timeout", v)? as u32;
    }
    if let Some(v) = l.parse_threads {
        c.parse_threads = check("load.parse-threads", v)? as u32;
    }
    Ok(c)
}

/// Lowers `[rate-limit]` onto the defaults of [`rrl::Settings`].
fn rate_limit(rl: RateLimit, err: &ErrAt) -> Result<Option<rrl::Settings>, ConfigError> {
    let mut r = rrl::Settings::default();
    let classes = [
        ("responses-per-second", rl.responses_per_second, rrl::Class::Answer),
        ("nodata-per-second", rl.nodata_per_second, rrl::Class::NoData),
        ("nxdomain-per-second", rl.nxdomain_per_second, rrl::Class::NxDomain),
        ("referrals-per-second", rl.referrals_per_second, rrl::Class::Referral),
        ("errors-per-second", rl.errors_per_second, rrl::Class::Error),
    ];
    let num = |key: String, v: i64| bounds::check(&key, v).map_err(|m| err(key, m));
    for (key, v, class) in classes {
        if let Some(v) = v {
            r.rates[class as usize] = num(format!("rate-limit.{key}"), v)? as u32;
        }
    }
    if let Some(b) = rl.burst {
        r.burst = num("rate-limit.burst".into(), b)? as u32;
    }
    if let Some(s) = rl.slip {
        r.slip = num("rate-limit.slip".into(), s)? as u32;
    }
    for (key, v, dst) in
        [("ipv4-prefix", rl.ipv4_prefix, &mut r.ipv4_prefix), ("ipv6-prefix", rl.ipv6_prefix, &mut r.ipv6_prefix)]
    {
        if let Some(p) = v {
            *dst = num(format!("rate-limit.{key}"), p)? as u8;
        }
    }
    r.log_only = rl.log_only.unwrap_or(r.log_only);
    for (j, p) in rl.exempt.unwrap_or_default().iter().enumerate() {
        r.exempt.push(parse_prefix(p).map_err(|m| err(format!("rate-limit.exempt[{j}]"), m))?);
    }
    if let Some(n) = rl.table_size {
        r.table_size = num("rate-limit.table-size".into(), n)? as usize;
    }
    Ok(rl.enabled.unwrap_or(true).then_some(r))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bounds::RANGES;
    use crate::mgmt::{Access, Scope, Tls};
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;

    #[test]
    fn full_file() {
        let c = parse(
            r#"
version = 1
[server]
listen = ["127.0.0.1:5353", "[::1]:5353"]
threads = 2
udp-payload = 1400
identity = ""
nsid = "0x6e7331"
[cookies]
secret = "000102030405060708090a0b0c0d0e0f"
[[zone]]
name = "example.com"
file = "example.com.zone"
allow-transfer = ["192.0.2.0/24"]
"#,
            "t.toml",
        )
        .unwrap();
        assert_eq!(c.listen.len(), 2);
        assert_eq!(c.udp_payload, 1400);
        assert_eq!(c.identity, None);
        assert_eq!(c.nsid.as_deref(), Some(&b"ns1"[..]));
        assert_eq!(c.zones[0].name, "example.com.");
        assert_eq!(c.cookies.secret.unwrap()[15], 15);
    }

    #[test]
    fn defences() {
        let c = parse(
            "[rate-limit]\nresponses-per-second = 5\nslip = 1\nexempt = [\"10.0.0.0/8\"]\nlog-only = true\n\
             [tcp]\nmax-connections-per-source = 4\nmessage-timeout = 3\n[overload]\nenabled = false\n",
            "t.toml",
        )
        .unwrap();
        let r = c.rate_limit.unwrap();
        assert!(r.log_only);
        assert_eq!(r.rates, [5, 200, 200, 200, 200]);
        assert_eq!(r.slip, 1);
        assert_eq!(r.exempt.len(), 1);
        assert_eq!((c.tcp_max_per_source, c.tcp_message_timeout), (4, 3));
        assert!(!c.overload);
        let d = Config::default();
        assert!(d.rate_limit.is_some_and(|r| !r.log_only) && d.overload);
        assert!(parse("[rate-limit]\nenabled = false\n", "t.toml").unwrap().rate_limit.is_none());
        let e = parse("[rate-limit]\nslip = 11\n", "t.toml").unwrap_err();
        assert_eq!(e.key, "rate-limit.slip");
        let e = parse("[rate-limit]\nexempt = [\"10.0.0.0/8\", \"x\"]\n", "t.toml").unwrap_err();
        assert_eq!(e.key, "rate-limit.exempt[1]");
        let e = parse("[rate-limit]\nburst = 0\n", "t.toml").unwrap_err();
        assert_eq!(e.key, "rate-limit.burst");
        let e = parse("[rate-limit]\nrate = 5\n", "t.toml").unwrap_err();
        assert!(e.to_string().contains("rate"), "{e}");
    }

    #[test]
    fn operations() {
        let c = parse(
            "[management]\nlisten = \"127.0.0.1:5902\"\n[log]\nformat = \"json\"\n[server]\nuser = \"levee\"\n",
            "t.toml",
        )
        .unwrap();
        assert_eq!(c.management, Some("127.0.0.1:5902".parse().unwrap()));
        assert_eq!(c.log_format, LogFormat::Json);
        assert_eq!((c.user.as_deref(), c.group.as_deref()), (Some("levee"), None));
        assert_eq!(Config::default().management, None, "off by default");
        let c = parse("[management]\nenabled = true\n", "t.toml").unwrap();
        assert_eq!(c.management, Some(DEFAULT_MANAGEMENT.parse().unwrap()));
        assert_eq!(
            parse("[management]\nenabled = false\nlisten = \"127.0.0.1:1\"\n", "t.toml").unwrap().management,
            None
        );
        let e = parse("[management]\nlisten = \"192.0.2.1:8053\"\n", "t.toml").unwrap_err();
        assert_eq!(e.key, "management.listen");
        let e = parse("[management]\nlisten = \"192.0.2.1:8053\"\nallow-remote = true\n", "t.toml").unwrap_err();
        assert!(e.message.contains("no [[management.token]]"), "{e}");
        let remote = "[management]\nlisten = \"192.0.2.1:8053\"\nallow-remote = true\n\
                      [[management.token]]\nscope = \"read\"\nsecret = \"0123456789abcdef\"\n";
        assert!(parse(remote, "t.toml").is_ok());
        let e = parse("[log]\nformat = \"xml\"\n", "t.toml").unwrap_err();
        assert_eq!(e.key, "log.format");
        let e = parse("[management]\nport = 1\n", "t.toml").unwrap_err();
        assert!(e.to_string().contains("port"), "{e}");
        let e = parse("[server]\nuser = \"\"\n", "t.toml").unwrap_err();
        assert_eq!(e.key, "server.user");
    }

    /// A zone named twice (any case, with or without the final dot) is
    /// refused naming the second; catalog members need their producer;
    /// 20,000 zones parse in linear time (the checks are look-ups).
    #[test]
    fn zone_names_are_unique_and_members_have_producers() {
        let e = parse("[[zone]]\nname = \"a.test.\"\nfile = \"a\"\n[[zone]]\nname = \"b.test\"\nfile = \"b\"\n[[zone]]\nname = \"A.Test\"\nfile = \"c\"\n", "t.toml").unwrap_err();
        assert_eq!((e.key.as_str(), e.message.as_str()), ("zone[2].name", "zone A.Test. is configured twice"));
        let member = "[[zone]]\nname = \"m.test.\"\nfile = \"m\"\ncatalog-zone = \"cat.test.\"\n";
        let e = parse(member, "t.toml").unwrap_err();
        assert_eq!(e.key, "zone[0].catalog-zone", "{e}");
        let producer = "[server]\nstorage-dir = \"/tmp/levee-cfg-test\"\n[[zone]]\nname = \"CAT.test\"\ncatalog-role = \"generate\"\n";
        assert!(parse(&format!("{producer}{member}"), "t.toml").is_ok());
        let many: String = (0..20_000).map(|i| format!("[[zone]]\nname = \"z{i}.test.\"\nfile = \"f\"\n")).collect();
        let t0 = std::time::Instant::now();
        assert_eq!(parse(&many, "t.toml").unwrap().zones.len(), 20_000);
        assert!(t0.elapsed() < std::time::Duration::from_secs(20), "{:?}", t0.elapsed());
    }

    #[test]
    fn load_budgets() {
        let d = Config::default().load;
        assert_eq!(
            (d.max_zone_bytes, d.max_zone_records, d.read_timeout, d.parse_threads),
            (2 << 30, 50_000_000, 30, 0)
        );
        assert!(d.threads() >= 1);
        let c = parse(
            "[load]\nmax-zone-bytes = 1024\nmax-zone-records = 1\nread-timeout = 3600\nparse-threads = 3\n[[zone]]\nname = \"a.\"\nserial-must-increase = true\n",
            "t.toml",
        )
        .unwrap();
        assert_eq!((c.load.max_zone_bytes, c.load.max_zone_records, c.load.read_timeout), (1024, 1, 3600));
        assert_eq!((c.load.parse_threads, c.load.threads()), (3, 3));
        assert!(c.zones[0].serial_must_increase);
        for (text, key) in [
            ("[load]\nmax-zone-bytes = 1023\n", "load.max-zone-bytes"),
            ("[load]\nmax-zone-bytes = 1099511627777\n", "load.max-zone-bytes"),
            ("[load]\nmax-zone-records = 0\n", "load.max-zone-records"),
            ("[load]\nmax-zone-records = 500000001\n", "load.max-zone-records"),
            ("[load]\nread-timeout = 0\n", "load.read-timeout"),
            ("[load]\nread-timeout = 3601\n", "load.read-timeout"),
            ("[load]\nparse-threads = -1\n", "load.parse-threads"),
            ("[load]\nparse-threads = 65\n", "load.parse-threads"),
        ] {
            assert_eq!(parse(text, "t.toml").unwrap_err().key, key, "{text}");
        }
        let e = parse("[[zone]]\nname = \"a.\"\nserial-must-increase = 1\n", "t.toml").unwrap_err();
        assert!(e.to_string().contains("serial-must-increase"), "{e}");
    }

    #[test]
    fn dnstap_section_is_off_by_default_and_checked() {
        use crate::dnstap::{Collector, DnstapConfig};
        let c = parse("", "t.toml").unwrap();
        assert!(!c.dnstap.enabled);
        assert_eq!(c.dnstap, DnstapConfig::default());
        let c = parse(
            "[dnstap]\nenabled = true\nsocket-path = \"/run/x.sock\"\nidentity = \"ns1\"\nversion = \"\"\n\
             log-queries = false\nsample-rate = 10\nqueue-kib = 64\n",
            "t.toml",
        )
        .unwrap();
        let d = &c.dnstap;
        assert_eq!(d.collector, Some(Collector::Unix("/run/x.sock".into())));
        assert_eq!((d.identity.as_str(), d.version.as_str()), ("ns1", ""));
        assert_eq!((d.log_queries, d.log_responses, d.sample_rate, d.queue_kib), (false, true, 10, 64));
        let c = parse("[dnstap]\nenabled = true\ntcp-address = \"127.0.0.1:6000\"\n", "t.toml").unwrap();
        assert_eq!(c.dnstap.collector, Some(Collector::Tcp("127.0.0.1:6000".parse().unwrap())));
        for (text, key) in [
            ("[dnstap]\nenabled = true\n", "dnstap.enabled"),
            ("[dnstap]\nsocket-path = \"/a\"\ntcp-address = \"127.0.0.1:1\"\n", "dnstap.tcp-address"),
            ("[dnstap]\ntcp-address = \"nowhere\"\n", "dnstap.tcp-address"),
            ("[dnstap]\nsocket-path = \"\"\n", "dnstap.socket-path"),
            (
                "[dnstap]\nenabled = true\nsocket-path = \"/a\"\nlog-queries = false\nlog-responses = false\n",
                "dnstap.log-responses",
            ),
            ("[dnstap]\nsample-rate = 0\n", "dnstap.sample-rate"),
            ("[dnstap]\nqueue-kib = 15\n", "dnstap.queue-kib"),
            ("[dnstap]\nqueue-kib = 65537\n", "dnstap.queue-kib"),
        ] {
            assert_eq!(parse(text, "t.toml").unwrap_err().key, key, "{text}");
        }
        let long = format!("[dnstap]\nsocket-path = \"/{}\"\n", "a".repeat(107));
        assert_eq!(parse(&long, "t.toml").unwrap_err().key, "dnstap.socket-path");
    }

    #[test]
    fn allow_update_takes_the_acl_forms_and_needs_storage_on_a_primary() {
        let key = "[[key]]\nname = \"k1\"\nalgorithm = \"hmac-sha256\"\nsecret = \"MDEyMzQ1Njc4OWFiY2RlZg==\"\n";
        let head = format!("[server]\nstorage-dir = \"/var/lib/levee\"\n{key}");
        let c = parse(
            &format!("{head}[[zone]]\nname = \"a.\"\nallow-update = [\"127.0.0.1\", \"::1 key k1\", \"key k1\"]\n[[zone]]\nname = \"b.\"\n"),
            "t.toml",
        )
        .unwrap();
        assert_eq!(c.zones[0].allow_update.len(), 3);
        assert_eq!(c.zones[0].allow_update[2].who.key.as_deref(), Some("k1"));
        assert!(c.zones[0].allow_update.iter().all(|r| r.names.is_empty() && r.types.is_empty()));
        // Finer grants: names (relative to the zone, or absolute) and types.
        let text = "key k1 name dyn www.a. type A aaaa TXT\", \"10.0.0.0/8 key k1 type A";
        let fine = parse(&format!("{head}[[zone]]\nname = \"a.\"\nallow-update = [\"{text}\"]\n"), "t.toml").unwrap();
        let r = &fine.zones[0].allow_update;
        assert_eq!(r[0].names, ["dyn.a.", "www.a."]);
        assert_eq!(r[0].types, [1, 28, 16]);
        assert_eq!((r[1].names.len(), r[1].types.clone()), (0, vec![1]));
        let err = |text: &str| parse(text, "t.toml").unwrap_err();
        for bad in ["name dyn", "key k1 name other.", "key k1 type BOGUS", "key k1 type ANY", "key k1 name"] {
            let e = err(&format!("{head}[[zone]]\nname = \"a.\"\nallow-update = [\"{bad}\"]\n"));
            assert_eq!(e.key, "zone[0].allow-update[0]", "{bad}: {e}");
        }
        assert!(c.zones[1].allow_update.is_empty(), "no updates by default");
        let e = err(&format!("{head}[[zone]]\nname = \"a.\"\nallow-update = [\"key nokey\"]\n"));
        assert_eq!(e.key, "zone[0].allow-update[0]");
        let e = err(&format!("{key}[[zone]]\nname = \"a.\"\nallow-update = [\"key k1\"]\n"));
        assert!(e.key == "zone[0].allow-update" && e.to_string().contains("storage-dir"), "{e}");
        let e = err(&format!(
            "{head}[[zone]]\nname = \"a.\"\nprimaries = [\"127.0.0.1:53\"]\nallow-update = [\"key k1\"]\n"
        ));
        assert!(e.key == "zone[0].allow-update" && e.to_string().contains("secondary"), "{e}");
    }

    #[test]
    fn api_write_makes_a_primary_zone_dynamic() {
        let head = "[server]\nstorage-dir = \"/var/lib/levee\"\n";
        let c = parse(&format!("{head}[[zone]]\nname = \"a.\"\napi = \"write\"\n[[zone]]\nname = \"b.\"\napi = \"read\"\n[[zone]]\nname = \"c.\"\n"), "t.toml").unwrap();
        assert_eq!(c.zones.iter().map(|z| z.api_write).collect::<Vec<_>>(), [true, false, false]);
        assert!(c.zones[0].allow_update.is_empty(), "api = write grants no RFC 2136 access");
        let err = |text: &str| parse(text, "t.toml").unwrap_err();
        for (text, why) in [
            (format!("{head}[[zone]]\nname = \"a.\"\napi = \"admin\"\n"), "read, write"),
            ("[[zone]]\nname = \"a.\"\napi = \"write\"\n".to_string(), "storage-dir"),
            (format!("{head}[[zone]]\nname = \"a.\"\nprimaries = [\"127.0.0.1:53\"]\napi = \"write\"\n"), "secondary"),
            (format!("{head}[[zone]]\nname = \"a.\"\ndnssec-signing = true\napi = \"write\"\n"), "signed"),
        ] {
            let e = err(&text);
            assert!(e.key == "zone[0].api" && e.to_string().contains(why), "{text}: {e}");
        }
    }

    #[test]
    fn xdp_section_is_off_by_default_and_checked() {
        assert_eq!(parse("", "t.toml").unwrap().xdp, XdpConfig::default());
        assert!(XdpConfig::default().interfaces.is_empty());
        let c = parse(
            "[xdp]\ninterfaces = [\"vA\", \"eth0\"]\nqueues = 2\nframes = 2048\nframe-size = 2048\nzero-copy = false\ncoalesce-us = 20\n",
            "t.toml",
        )
        .unwrap();
        assert_eq!(c.xdp.interfaces, ["vA", "eth0"]);
        assert_eq!((c.xdp.queues, c.xdp.frames, c.xdp.frame_size, c.xdp.zero_copy), (2, 2048, 2048, Some(false)));
        assert_eq!(c.xdp.coalesce_us, 20);
        for (text, key) in [
            ("[xdp]\ninterfaces = [\"a/b\"]\n", "xdp.interfaces[0]"),
            ("[xdp]\ninterfaces = [\"ok\", \"\"]\n", "xdp.interfaces[1]"),
            ("[xdp]\ninterfaces = [\"sixteen-chars-xx\"]\n", "xdp.interfaces[0]"),
            ("[xdp]\nframes = 3000\n", "xdp.frames"),
            ("[xdp]\nframes = 32\n", "xdp.frames"),
            ("[xdp]\nframe-size = 3000\n", "xdp.frame-size"),
            ("[xdp]\nqueues = 65\n", "xdp.queues"),
            ("[xdp]\ncoalesce-us = 1001\n", "xdp.coalesce-us"),
            ("[xdp]\ncoalesce-us = -1\n", "xdp.coalesce-us"),
            ("[xdp]\nqueue = 1\n", ""),
        ] {
            let e = parse(text, "t.toml").unwrap_err();
            if key.is_empty() {
                assert!(e.to_string().contains("queue"), "{e}");
            } else {
                assert_eq!(e.key, key, "{text}");
            }
        }
    }

    #[test]
    fn unknown_key_is_named() {
        let e = parse("[server]\nlisten = [\"127.0.0.1:53\"]\nlisen = 3\n", "t.toml").unwrap_err();
        assert!(e.to_string().contains("lisen"), "{e}");
        assert!(e.place.starts_with("t.toml:3:"), "{e}");
    }

    #[test]
    fn bad_values_name_the_key() {
        let e = parse("[server]\nthreads = \"many\"\n", "t.toml").unwrap_err();
        assert_eq!(e.key, "server.threads", "{e}");
        let e = parse("[server]\nlisten = [\"127.0.0.1:53\", \"nowhere\"]\n", "t.toml").unwrap_err();
        assert_eq!(e.key, "server.listen[1]");
        let e = parse("[server]\nudp-payload = 100\n", "t.toml").unwrap_err();
        assert_eq!(e.key, "server.udp-payload");
        let e = parse("[[zone]]\nname = \"a.\"\nallow-transfer = [\"x\"]\n", "t.toml").unwrap_err();
        assert_eq!(e.key, "zone[0].allow-transfer[0]");
        let e = parse("version = 2\n", "t.toml").unwrap_err();
        assert_eq!(e.key, "version");
    }

    #[test]
    fn the_gate_is_off_by_default_and_its_keys_are_checked() {
        let c = parse("", "t.toml").unwrap();
        assert_eq!(c.gate, crate::GateConfig::default());
        assert!(!c.gate.enabled);
        let c = parse(
            "[gate]\nenabled = true\narm-nxdomain-rate = 500\nhold = 30\nnx-rate = 100\nnx-burst = 300\n\
             prefix-rate = 7\nunknown-burst = 9\ndeep-rate = 0\nfilter-bits-per-name = 16\n\
             trusted = [\"192.0.2.0/24\", \"2001:db8::/56\"]\n",
            "t.toml",
        )
        .unwrap();
        let g = &c.gate;
        assert!(g.enabled);
        assert_eq!((g.arm_nxdomain_rate, g.hold, g.filter_bits_per_name), (500, 30, 16));
        assert_eq!(g.nx_budget, crate::Budget { rate: 100, burst: 300 });
        assert_eq!((g.prefix_budget.rate, g.unknown_budget.burst, g.deep_budget.rate), (7, 9, 0));
        assert_eq!(g.trusted.len(), 2);
        let e = parse("[gate]\ntrusted = [\"192.0.2.0/24\", \"nope\"]\n", "t.toml").unwrap_err();
        assert_eq!(e.key, "gate.trusted[1]", "{e}");
        let e = parse("[gate]\ntrusted = [\"192.0.0.0/16\"]\n", "t.toml").unwrap_err();
        assert!(e.key == "gate.trusted[0]" && e.message.contains("too wide"), "{e}");
        let five = (0..5).map(|i| format!("\"192.0.{}.0/20\"", i * 16)).collect::<Vec<_>>().join(", ");
        let e = parse(&format!("[gate]\ntrusted = [{five}]\n"), "t.toml").unwrap_err();
        assert!(e.key == "gate.trusted[4]" && e.message.contains("16384"), "{e}");
        parse("[gate]\ntrusted = [\"2001:db8:0:1000::/52\", \"2001:db8::1\"]\n", "t.toml").unwrap();
        let e = parse("[gate]\nfilter-bits-per-name = 2\n", "t.toml").unwrap_err();
        assert_eq!(e.key, "gate.filter-bits-per-name", "{e}");
        let e = parse("[gate]\nnx-budget = 5\n", "t.toml").unwrap_err();
        assert!(e.to_string().contains("nx-budget"), "{e}");
    }

    #[test]
    fn semantic_checks_per_zone() {
        let c = parse("[[zone]]\nname = \"a.\"\n[[zone]]\nname = \"b.\"\nsemantic-checks = \"strict\"\n", "t.toml")
            .unwrap();
        assert_eq!(c.semantic_checks, SemanticChecks::Warn, "the default");
        assert_eq!(c.zones[0].semantic_checks, None);
        assert_eq!(c.zones[1].semantic_checks, Some(SemanticChecks::Strict));
        let c = parse("[server]\nsemantic-checks = \"strict\"\n", "t.toml").unwrap();
        assert_eq!(c.semantic_checks, SemanticChecks::Strict);
        let e = parse("[server]\nsemantic-checks = \"off\"\n", "t.toml").unwrap_err();
        assert_eq!(e.key, "server.semantic-checks");
        let e = parse("[[zone]]\nname = \"a.\"\nsemantic-checks = \"soft\"\n", "t.toml").unwrap_err();
        assert_eq!(e.key, "zone[0].semantic-checks");
        assert!(e.message.contains("warn, strict"), "{e}");
    }

    /// XoT primaries: `tls` (the address checked), `tls NAME`, after a key
    /// or not; a CA file needed; `tls` refused for NOTIFY targets and bad
    /// names refused, each naming the key.
    #[test]
    fn tls_client_rules_and_client_certificates() {
        let head = "[server]\nstorage-dir = \"s\"\n";
        let ok = format!("{head}[tls]\nclient-ca-file = \"ca.pem\"\n[[zone]]\nname = \"a.\"\nallow-transfer = [\"tls-client sec.test\"]\n");
        let c = parse(&ok, "t.toml").unwrap();
        assert_eq!(c.zones[0].repl.transfer_keyed[0].tls_client.as_deref(), Some("sec.test"));
        assert!(c.zones[0].allow_transfer.is_empty(), "not a plain prefix rule");
        let no_ca = format!("{head}[[zone]]\nname = \"a.\"\nallow-transfer = [\"tls-client sec.test\"]\n");
        assert_eq!(parse(&no_ca, "t.toml").unwrap_err().key, "zone[0].allow-transfer[0]");
        let half = "[transfer-in]\ntls-cert-file = \"c.pem\"\n";
        assert_eq!(parse(half, "t.toml").unwrap_err().key, "transfer-in.tls-key-file");
        let both = "[transfer-in]\ntls-cert-file = \"c.pem\"\ntls-key-file = \"k.pem\"\n";
        assert_eq!(parse(both, "t.toml").unwrap().transfer_in_tls_key.as_deref(), Some(Path::new("k.pem")));
        let notify = "[[zone]]\nname = \"a.\"\nallow-notify = [\"tls-client sec.test\"]\n";
        assert_eq!(parse(notify, "t.toml").unwrap_err().key, "zone[0].allow-notify[0]");
    }

    #[test]
    fn primaries_over_tls() {
        let head = "[server]\nstorage-dir = \"/tmp/x\"\n[[key]]\nname = \"k1\"\nalgorithm = \"hmac-sha256\"\nsecret = \"c2VjcmV0\"\n";
        let ca = "[transfer-in]\ntls-ca-file = \"ca.pem\"\n";
        let c = parse(
            &format!("{head}{ca}[[zone]]\nname = \"b.\"\nprimaries = [\"127.0.0.1:853 key k1 tls ns1.b.\", \"[::1]:853 tls\", \"127.0.0.3\"]\n"),
            "t.toml",
        )
        .unwrap();
        let p = &c.zones[0].repl.primaries;
        assert_eq!((p[0].key.as_deref(), p[0].tls.as_deref()), (Some("k1"), Some("ns1.b")));
        assert_eq!((p[1].key.as_deref(), p[1].tls.as_deref()), (None, Some("::1")));
        assert_eq!(p[2].tls, None);
        assert_eq!(c.transfer_in_tls_ca.as_deref(), Some(Path::new("ca.pem")));
        let e = parse(
            &format!("{head}[[zone]]\nname = \"b.\"\nprimaries = [\"127.0.0.3\", \"127.0.0.1:853 tls\"]\n"),
            "t.toml",
        )
        .unwrap_err();
        assert_eq!(e.key, "zone[0].primaries[1]", "{e}");
        assert!(e.message.contains("tls-ca-file"), "{e}");
        for bad in ["127.0.0.1:853 tls a_b", "127.0.0.1:853 tls x y", "127.0.0.1:853 tls key k1", "127.0.0.1 key"] {
            let e =
                parse(&format!("{head}{ca}[[zone]]\nname = \"b.\"\nprimaries = [\"{bad}\"]\n"), "t.toml").unwrap_err();
            assert_eq!(e.key, "zone[0].primaries[0]", "{bad}: {e}");
        }
        let e =
            parse(&format!("{head}{ca}[[zone]]\nname = \"b.\"\nnotify = [\"127.0.0.1:53 key k1 tls\"]\n"), "t.toml")
                .unwrap_err();
        assert_eq!(e.key, "zone[0].notify[0]", "{e}");
        assert!(e.message.contains("UDP"), "{e}");
    }

    #[test]
    fn replication_keys() {
        let head = "[server]\nstorage-dir = \"/tmp/x\"\n[[key]]\nname = \"k1\"\nalgorithm = \"hmac-sha256\"\nsecret = \"c2VjcmV0\"\n";
        let c = parse(
            &format!(
                "{head}[[zone]]\nname = \"a.\"\nallow-transfer = [\"127.0.0.1\", \"::1 key k1\", \"key k1\"]\nnotify = [\"127.0.0.1:5701 key k1\"]\n[[zone]]\nname = \"b.\"\nprimaries = [\"127.0.0.1:5702\", \"127.0.0.2 key k1\"]\nallow-notify = [\"127.0.0.0/8\"]\n"
            ),
            "t.toml",
        )
        .unwrap();
        assert_eq!(c.keys.len(), 1);
        assert_eq!(c.keys[0].secret, b"secret");
        assert_eq!(c.zones[0].allow_transfer.len(), 1);
        assert_eq!(c.zones[0].repl.transfer_keyed.len(), 2);
        assert_eq!(c.zones[0].repl.notify[0].addr.port(), 5701);
        assert_eq!(c.zones[1].repl.primaries[1].addr.port(), 53);
        let e = parse(
            &format!("{head}[[zone]]\nname = \"b.\"\nprimaries = [\"127.0.0.1:5702\", \"127.0.0.2 key k2\"]\n"),
            "t.toml",
        )
        .unwrap_err();
        assert_eq!(e.key, "zone[0].primaries[1]", "{e}");
        let e = parse(&format!("{head}[[zone]]\nname = \"b.\"\nallow-notify = [\"x y\"]\n"), "t.toml").unwrap_err();
        assert_eq!(e.key, "zone[0].allow-notify[0]", "{e}");
        let e =
            parse("[[key]]\nname = \"k\"\nalgorithm = \"hmac-sha999\"\nsecret = \"c2VjcmV0\"\n", "t.toml").unwrap_err();
        assert_eq!(e.key, "key[0].algorithm", "{e}");
        let e = parse("[[key]]\nname = \"k\"\nalgorithm = \"hmac-md5\"\nsecret = \"!!\"\n", "t.toml").unwrap_err();
        assert_eq!(e.key, "key[0].secret", "{e}");
        let e = parse("[[key]]\nname = \"k\"\nalgorithm = \"hmac-md5\"\nsecret = \"c2VjcmV0\"\nbits = 3\n", "t.toml")
            .unwrap_err();
        assert!(e.to_string().contains("bits"), "{e}");
        let e = parse("[[zone]]\nname = \"b.\"\nprimaries = [\"127.0.0.1\"]\n", "t.toml").unwrap_err();
        assert_eq!(e.key, "zone[0].primaries", "{e}");
    }

    #[test]
    fn transfer_limits() {
        use crate::repl::TransferLimits;
        let c = parse(
            "[transfer-in]\ntimeout = 600\nmax-records = 1000\n[[zone]]\nname = \"a.\"\n[[zone]]\nname = \"b.\"\ntransfer-idle-timeout = 5\ntransfer-max-size = 4096\ntransfer-max-records = 50\n",
            "t.toml",
        )
        .unwrap();
        let d = TransferLimits::default();
        assert_eq!(c.zones[0].repl.transfer_limits, TransferLimits { timeout: 600, max_records: 1000, ..d });
        assert_eq!(
            c.zones[1].repl.transfer_limits,
            TransferLimits { timeout: 600, idle_timeout: 5, max_records: 50, max_size: 4096 }
        );
        assert_eq!(parse("[[zone]]\nname = \"a.\"\n", "t.toml").unwrap().zones[0].repl.transfer_limits, d);
        for (text, key) in [
            ("[transfer-in]\ntimeout = 0\n", "transfer-in.timeout"),
            ("[transfer-in]\nidle-timeout = 3601\n", "transfer-in.idle-timeout"),
            ("[transfer-in]\nmax-records = 1\n", "transfer-in.max-records"),
            ("[transfer-in]\nmax-size = 10\n", "transfer-in.max-size"),
            ("[[zone]]\nname = \"a.\"\ntransfer-timeout = 90000\n", "zone[0].transfer-timeout"),
            ("[[zone]]\nname = \"a.\"\ntransfer-max-size = 1\n", "zone[0].transfer-max-size"),
        ] {
            let e = parse(text, "t.toml").unwrap_err();
            assert_eq!(e.key, key, "{e}");
        }
        let e = parse("[transfer-in]\nmax-time = 5\n", "t.toml").unwrap_err();
        assert!(e.to_string().contains("max-time"), "{e}");
    }

    /// A file setting `key` to `v` (the table and the key's last part).
    fn file_with(key: &str, v: &str) -> String {
        match key.split_once('.') {
            // A list of tables: one entry, its other bound out of the way.
            Some(("dnssec-policy", k)) => {
                let other =
                    if k == "signature-validity" { "signature-refresh = 60" } else { "signature-validity = 31536000" };
                format!("[[dnssec-policy]]\nname = \"p\"\n{other}\n{k} = {v}\n")
            }
            None => format!("{key} = {v}\n"),
            Some((table, k)) => format!("[{table}]\n{k} = {v}\n"),
        }
    }

    /// Every numeric key at both ends of its range and one step outside:
    /// inside is accepted, outside is refused with the key named (and the
    /// range in the message); huge and negative values too.
    #[test]
    fn every_numeric_key_is_checked_at_its_bounds() {
        for &(key, lo, hi) in RANGES {
            for ok in [lo, hi] {
                let text = file_with(key, &ok.to_string());
                if let Err(e) = parse(&text, "t.toml") {
                    panic!("{key} = {ok} refused: {e}");
                }
            }
            let mut bad = vec![hi + 1, 100_000_000_000, i64::MAX, -1, i64::MIN];
            if lo > 0 {
                bad.push(lo - 1);
            }
            // Keys of a list of tables are named with the entry's index.
            let named = key.replacen("dnssec-policy.", "dnssec-policy[0].", 1);
            for b in bad {
                let text = file_with(key, &b.to_string());
                let e = parse(&text, "t.toml").expect_err(&format!("{key} = {b} accepted"));
                assert_eq!(e.key, named, "{key} = {b}: {e}");
                if key != "version" {
                    assert!(e.message.contains(&format!("{lo}..={hi}")), "{key} = {b}: {e}");
                }
            }
            // A number that is not an integer names the key too.
            let e = parse(&file_with(key, "1.5"), "t.toml").expect_err(key);
            assert!(e.key == key || e.key == named, "{e}");
        }
    }

    /// `[[dnssec-policy]]` and the zones' `dnssec-signing` (dnssec.rs).
    #[test]
    fn policies_and_signed_zones_are_checked() {
        let head = "[server]\nstorage-dir = \"/s\"\n";
        let c = parse(
            &format!(
                "{head}[[dnssec-policy]]\nname = \"p\"\nalgorithm = \"ed25519\"\nsplit-keys = true\ndenial = \"nsec3\"\n\
                 nsec3-opt-out = true\nsignature-validity = 864000\nsignature-refresh = 86400\n\
                 [[zone]]\nname = \"a.\"\ndnssec-signing = true\ndnssec-policy = \"p\"\n\
                 [[zone]]\nname = \"b.\"\ndnssec-signing = true\n[[zone]]\nname = \"c.\"\n"
            ),
            "t.toml",
        )
        .unwrap();
        let p = c.zones[0].dnssec.as_ref().unwrap();
        assert_eq!(
            (p.algorithm, p.split_keys, p.denial, p.nsec3_opt_out),
            (15, true, crate::dnssec::DenialKind::Nsec3, true)
        );
        assert_eq!((p.signature_validity, p.signature_refresh), (864000, 86400));
        assert_eq!(c.zones[1].dnssec.as_ref().unwrap().name, "default");
        assert!(c.zones[2].dnssec.is_none());
        for (text, key) in [
            ("[[zone]]\nname = \"a.\"\ndnssec-signing = true\n", "zone[0].dnssec-signing"),
            ("[server]\nstorage-dir = \"/s\"\n[[zone]]\nname = \"a.\"\ndnssec-signing = true\ndnssec-policy = \"x\"\n", "zone[0].dnssec-policy"),
            ("[[zone]]\nname = \"a.\"\ndnssec-policy = \"default\"\n", "zone[0].dnssec-policy"),
            ("[[dnssec-policy]]\nname = \"default\"\n", "dnssec-policy[0].name"),
            ("[[dnssec-policy]]\nname = \"p\"\n[[dnssec-policy]]\nname = \"p\"\n", "dnssec-policy[1].name"),
            ("[[dnssec-policy]]\nname = \"p\"\nalgorithm = \"rsasha1\"\n", "dnssec-policy[0].algorithm"),
            ("[[dnssec-policy]]\nname = \"p\"\ndenial = \"nsec5\"\n", "dnssec-policy[0].denial"),
            ("[[dnssec-policy]]\nname = \"p\"\nnsec3-opt-out = true\n", "dnssec-policy[0].nsec3-opt-out"),
            ("[[dnssec-policy]]\nname = \"p\"\ndenial = \"compact\"\nnsec3-opt-out = true\n", "dnssec-policy[0].nsec3-opt-out"),
            ("[[dnssec-policy]]\nname = \"p\"\nsignature-validity = 10\n", "dnssec-policy[0].signature-validity"),
            ("[[dnssec-policy]]\nname = \"p\"\nsignature-refresh = 2000000\n", "dnssec-policy[0].signature-refresh"),
            (
                "[server]\nstorage-dir = \"/s\"\n[[dnssec-policy]]\nname = \"p\"\ndenial = \"compact\"\n\
                 [[zone]]\nname = \"a.\"\nprimaries = [\"127.0.0.1:53\"]\ndnssec-signing = true\ndnssec-policy = \"p\"\n",
                "zone[0].dnssec-policy",
            ),
        ] {
            let e = parse(text, "t.toml").unwrap_err();
            assert_eq!(e.key, key, "{text}: {e}");
        }
        // Signed in transit: a secondary zone with dnssec-signing.
        let text = "[server]\nstorage-dir = \"/s\"\n[[zone]]\nname = \"a.\"\nprimaries = [\"127.0.0.1:53\"]\ndnssec-signing = true\n";
        let c = parse(text, "t.toml").unwrap();
        assert!(c.zones[0].dnssec.is_some() && !c.zones[0].repl.primaries.is_empty());
    }

    /// The issue's example: refused at start, naming the key, no abort.
    #[test]
    fn a_huge_connection_cap_is_refused() {
        let e = parse("[tcp]\nmax-connections = 100000000000\n", "t.toml").unwrap_err();
        assert_eq!(e.key, "tcp.max-connections");
        assert!(e.to_string().contains("100000000000 is outside 1..=1048576"), "{e}");
        let c = parse("[tcp]\nmax-connections = 1000\nbuffer-memory-mib = 8\n", "t.toml").unwrap();
        assert_eq!((c.tcp_max_connections, c.tcp_max_connections_set, c.tcp_buffer_memory), (1000, true, 8 << 20));
        let d = parse("", "t.toml").unwrap();
        assert!(!d.tcp_max_connections_set);
    }

    #[test]
    fn tokens_hosts_and_scopes() {
        let c = parse(
            "[management]\nlisten = \"127.0.0.1:1\"\nhosts = [\"NS1.Example.net.\"]\nanonymous-metrics = false\n\
             [[management.token]]\nscope = \"read\"\nsecret = \"0123456789abcdef\"\n\
             [[management.token]]\nscope = \"write\"\nfile = \"w.token\"\n",
            "t.toml",
        )
        .unwrap();
        let a = &c.management_access;
        assert_eq!(a.hosts, ["ns1.example.net"]);
        assert!(!a.anonymous_metrics && !a.allow_remote);
        assert_eq!(a.tokens[0].scope, Scope::Read);
        assert_eq!((a.tokens[1].scope, a.tokens[1].file.as_deref()), (Scope::Write, Some(Path::new("w.token"))));
        assert!(!format!("{:?}", a.tokens[0]).contains("0123"), "Debug must not print the secret");
        assert!(a.tokens[0].zones.is_empty(), "every zone by default");
        let z = parse(
            "[[management.token]]\nscope = \"write\"\nsecret = \"0123456789abcdef\"\nzones = [\"Example.COM\", \"b.\"]\n",
            "t.toml",
        )
        .unwrap();
        assert_eq!(z.management_access.tokens[0].zones, ["example.com.", "b."]);
        assert!(Access::default().anonymous_metrics);
        for (bad, key) in [
            ("[[management.token]]\nscope = \"admin\"\nsecret = \"0123456789abcdef\"\n", "management.token[0].scope"),
            ("[[management.token]]\nscope = \"read\"\nsecret = \"short\"\n", "management.token[0].secret"),
            ("[[management.token]]\nscope = \"read\"\nsecret = \"0123456789 abcdef\"\n", "management.token[0].secret"),
            ("[[management.token]]\nscope = \"read\"\n", "management.token[0]"),
            (
                "[[management.token]]\nscope = \"read\"\nsecret = \"0123456789abcdef\"\nfile = \"x\"\n",
                "management.token[0]",
            ),
            ("hosts = [\"a b\"]\n", "management.hosts[0]"),
            (
                "[[management.token]]\nscope = \"read\"\nsecret = \"0123456789abcdef\"\nzones = []\n",
                "management.token[0].zones",
            ),
            (
                "[[management.token]]\nscope = \"read\"\nsecret = \"0123456789abcdef\"\nzones = [\"a..b\"]\n",
                "management.token[0].zones[0]",
            ),
        ] {
            let text = if bad.starts_with("[[") { bad.to_string() } else { format!("[management]\n{bad}") };
            let e = parse(&text, "t.toml").expect_err(bad);
            assert_eq!(e.key, key, "{bad}: {e}");
        }
    }

    /// Token files must be owner-only; a configuration file with an inline
    /// token must not be readable by others; relative files are resolved
    /// from the configuration's directory.
    #[test]
    fn secret_files_and_their_modes() {
        let dir = std::env::temp_dir().join(format!("levee-cfg-tokens-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cfg = dir.join("levee.toml");
        let tok = dir.join("w.token");
        std::fs::write(&tok, "abcdefghijklmnopqrstuvwxyz\n").unwrap();
        std::fs::write(&cfg, "[[management.token]]\nscope = \"write\"\nfile = \"w.token\"\n").unwrap();
        let set = |p: &Path, m: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
        set(&tok, 0o640);
        let e = Config::from_file(&cfg).unwrap_err();
        assert_eq!(e.key, "management.token[0].file");
        assert!(e.message.contains("mode 0640"), "{e}");
        set(&tok, 0o600);
        let c = Config::from_file(&cfg).unwrap();
        assert_eq!(c.management_access.tokens[0].secret, "abcdefghijklmnopqrstuvwxyz");
        std::fs::write(&tok, "short\n").unwrap();
        let e = Config::from_file(&cfg).unwrap_err();
        assert!(e.message.contains("16 to 256"), "{e}");
        std::fs::remove_file(&tok).unwrap();
        let e = Config::from_file(&cfg).unwrap_err();
        assert_eq!(e.key, "management.token[0].file", "{e}");
        // `levee ctl` reads the file for paths only: the tokens may be
        // unreadable to its user.
        assert!(Config::from_file_without_secrets(&cfg).is_ok());
        std::fs::write(&cfg, "[[management.token]]\nscope = \"read\"\nsecret = \"0123456789abcdef\"\n").unwrap();
        set(&cfg, 0o644);
        let e = Config::from_file(&cfg).unwrap_err();
        assert_eq!(e.key, "management.token[0].secret");
        assert!(e.message.contains("mode 0644"), "{e}");
        set(&cfg, 0o640);
        assert!(Config::from_file(&cfg).is_ok());
        // TLS: both files, the key owner-only.
        let (crt, key) = (dir.join("m.crt"), dir.join("m.key"));
        std::fs::write(&crt, "-").unwrap();
        std::fs::write(&key, "-").unwrap();
        set(&key, 0o644);
        std::fs::write(&cfg, "[management]\ntls-certificate = \"m.crt\"\ntls-key = \"m.key\"\n").unwrap();
        let e = Config::from_file(&cfg).unwrap_err();
        assert_eq!(e.key, "management.tls-key");
        assert!(e.message.contains("mode 0644"), "{e}");
        set(&key, 0o600);
        let c = Config::from_file(&cfg).unwrap();
        assert_eq!(c.management_access.tls, Some(Tls { certificate: crt, key }));
        std::fs::write(&cfg, "[management]\ntls-certificate = \"m.crt\"\n").unwrap();
        assert_eq!(Config::from_file(&cfg).unwrap_err().key, "management.tls-key");
        std::fs::write(&cfg, "[management]\ntls-certificate = \"m.crt\"\ntls-key = \"none.key\"\n").unwrap();
        assert_eq!(Config::from_file(&cfg).unwrap_err().key, "management.tls-key");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Catalog zones: the roles, templates and members lowered, and each
    /// mistake refused naming its key.
    #[test]
    fn catalog_keys_are_lowered_and_checked() {
        use crate::catalog::{CatalogMember, CatalogRole};
        let head = "[server]\nstorage-dir = \"/s\"\n[[key]]\nname = \"k\"\nalgorithm = \"hmac-sha256\"\nsecret = \"AA==\"\n\
                    [[catalog-template]]\nname = \"gold\"\nprimaries = [\"127.0.0.1:53 key k\"]\nallow-transfer = [\"10.0.0.0/8\", \"key k\"]\n";
        let zones = "[[zone]]\nname = \"cat.\"\nprimaries = [\"127.0.0.1:53\"]\ncatalog-role = \"interpret\"\ncatalog-template = [\"default\", \"gold\"]\n\
                     [[zone]]\nname = \"out.\"\ncatalog-role = \"generate\"\n\
                     [[zone]]\nname = \"m.\"\nfile = \"m.zone\"\ncatalog-zone = \"OUT\"\ncatalog-group = \"g\"\n";
        let c = parse(&format!("{head}{zones}"), "t.toml").unwrap();
        assert_eq!(c.catalog_templates.len(), 1);
        let t = &c.catalog_templates[0];
        assert_eq!(
            (t.allow_transfer.len(), t.transfer_keyed.len(), t.primaries.as_ref().map(Vec::len)),
            (1, 1, Some(1))
        );
        assert_eq!(
            c.zones[0].catalog_role,
            Some(CatalogRole::Interpret { templates: vec!["default".into(), "gold".into()] })
        );
        assert_eq!(c.zones[1].catalog_role, Some(CatalogRole::Generate));
        assert_eq!(c.zones[2].catalog_member, Some(CatalogMember { catalog: "out.".into(), group: Some("g".into()) }));
        assert_eq!(c.max_runtime_zones, 100_000);
        let interp = "[[zone]]\nname = \"cat.\"\nprimaries = [\"127.0.0.1:53\"]\ncatalog-role = \"interpret\"\n";
        for (text, key) in [
            (format!("{head}[[zone]]\nname = \"cat.\"\ncatalog-role = \"interpret\"\n"), "zone[0].catalog-role"),
            (format!("{head}{interp}catalog-template = [\"silver\"]\n"), "zone[0].catalog-template[0]"),
            (format!("{head}{interp}catalog-template = []\n"), "zone[0].catalog-template"),
            (format!("{head}[[zone]]\nname = \"c.\"\ncatalog-role = \"produce\"\n"), "zone[0].catalog-role"),
            (
                format!("{head}[[zone]]\nname = \"c.\"\nfile = \"c\"\ncatalog-role = \"generate\"\n"),
                "zone[0].catalog-role",
            ),
            (format!("{head}[[zone]]\nname = \"c.\"\ncatalog-template = [\"gold\"]\n"), "zone[0].catalog-template"),
            (format!("{head}[[zone]]\nname = \"m.\"\ncatalog-zone = \"nowhere.\"\n"), "zone[0].catalog-zone"),
            (format!("{head}[[zone]]\nname = \"m.\"\ncatalog-group = \"g\"\n"), "zone[0].catalog-group"),
            (format!("{head}{interp}catalog-zone = \"cat.\"\n"), "zone[0].catalog-zone"),
            (format!("{head}[[catalog-template]]\nname = \"gold\"\n"), "catalog-template[1].name"),
            (format!("{head}[[catalog-template]]\nname = \"x\"\nprimaries = []\n"), "catalog-template[1].primaries"),
            (
                format!("{head}[[catalog-template]]\nname = \"x\"\nprimaries = [\"1.2.3.4 key nope\"]\n"),
                "catalog-template[1].primaries[0]",
            ),
            (
                format!("{head}[[catalog-template]]\nname = \"x\"\nallow-notify = [\"bad prefix\"]\n"),
                "catalog-template[1].allow-notify[0]",
            ),
            (
                format!("{head}[[catalog-template]]\nname = \"x\"\nsemantic-checks = \"lax\"\n"),
                "catalog-template[1].semantic-checks",
            ),
        ] {
            let e = parse(&text, "t.toml").expect_err(&text);
            assert_eq!(e.key, key, "{text}: {e}");
        }
    }
}
