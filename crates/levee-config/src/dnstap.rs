//! `[dnstap]`: capturing queries and responses to a dnstap collector
//! (issue 21). Its schema ([`Spec`]), its runtime form
//! ([`DnstapConfig`]) and its lowering ([`Spec::lower`]). Off by default.
//!
//! The collector is a Frame Streams reader on a Unix socket
//! (`socket-path`, as `fstrm_capture -u`) or TCP (`tcp-address`); exactly
//! one of the two when dnstap is on. Every `sample-rate`-th query is
//! captured (1: all), as its query, its response or both. Each answering
//! thread has a queue of `queue-kib` KiB; when the collector is slower
//! than the queries the queue fills and captures are dropped and counted,
//! never waited for.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

use crate::bounds;
use crate::values::parse_listen;

/// Where the collector listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Collector {
    /// A Unix stream socket.
    Unix(PathBuf),
    /// A TCP address.
    Tcp(SocketAddr),
}

/// The validated `[dnstap]` section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnstapConfig {
    /// Capturing is on (`[dnstap] enabled = true` or `levee serve --dnstap PATH`).
    pub enabled: bool,
    /// The collector (`None` only when off).
    pub collector: Option<Collector>,
    /// `Dnstap.identity` (default: the host name; empty: left out).
    pub identity: String,
    /// `Dnstap.version` (default: "levee <version>"; empty: left out).
    pub version: String,
    /// Capture queries (`AUTH_QUERY`).
    pub log_queries: bool,
    /// Capture responses (`AUTH_RESPONSE`).
    pub log_responses: bool,
    /// One query in this many is captured (1: every query).
    pub sample_rate: u32,
    /// KiB of captures waiting per answering thread.
    pub queue_kib: u32,
}

impl Default for DnstapConfig {
    fn default() -> Self {
        DnstapConfig {
            enabled: false,
            collector: None,
            identity: crate::values::hostname(),
            version: crate::values::default_version(),
            log_queries: true,
            log_responses: true,
            sample_rate: 1,
            queue_kib: 1024,
        }
    }
}

/// `[dnstap]` as written.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Spec {
    /// On or off.
    pub enabled: Option<bool>,
    /// Unix socket of the collector.
    pub socket_path: Option<PathBuf>,
    /// TCP address of the collector.
    pub tcp_address: Option<String>,
    /// `Dnstap.identity`.
    pub identity: Option<String>,
    /// `Dnstap.version`.
    pub version: Option<String>,
    /// Capture queries.
    pub log_queries: Option<bool>,
    /// Capture responses.
    pub log_responses: Option<bool>,
    /// One in N.
    pub sample_rate: Option<i64>,
    /// KiB per thread.
    pub queue_kib: Option<i64>,
}

impl Spec {
    /// The runtime form; an error is `(key, message)`. A relative
    /// `socket-path` is made absolute by the file's reader (from the
    /// file's directory).
    pub fn lower(self) -> Result<DnstapConfig, (String, String)> {
        let mut d = DnstapConfig { enabled: self.enabled.unwrap_or(false), ..DnstapConfig::default() };
        let key = |k: &str| format!("dnstap.{k}");
        if let Some(v) = self.sample_rate {
            d.sample_rate = bounds::check("dnstap.sample-rate", v).map_err(|m| (key("sample-rate"), m))? as u32;
        }
        if let Some(v) = self.queue_kib {
            d.queue_kib = bounds::check("dnstap.queue-kib", v).map_err(|m| (key("queue-kib"), m))? as u32;
        }
        d.log_queries = self.log_queries.unwrap_or(true);
        d.log_responses = self.log_responses.unwrap_or(true);
        if let Some(i) = self.identity {
            d.identity = i;
        }
        if let Some(v) = self.version {
            d.version = v;
        }
        for (k, v) in [("identity", &d.identity), ("version", &d.version)] {
            if v.len() > 255 {
                return Err((key(k), "longer than 255 octets".into()));
            }
        }
        d.collector = match (self.socket_path, self.tcp_address) {
            (Some(_), Some(_)) => {
                return Err((key("tcp-address"), "give socket-path or tcp-address, not both".into()));
            }
            (Some(p), None) => Some(Collector::Unix(unix_path(p).map_err(|m| (key("socket-path"), m))?)),
            (None, Some(a)) => Some(Collector::Tcp(parse_listen(&a).map_err(|m| (key("tcp-address"), m))?)),
            (None, None) => None,
        };
        d.check().map_err(|(k, m)| (key(k), m))?;
        Ok(d)
    }
}

impl DnstapConfig {
    /// The rules that hold whatever set the values (file or flags): a
    /// collector when on, something to capture. An error names the key
    /// (within `[dnstap]`).
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        if !self.enabled {
            return Ok(());
        }
        if self.collector.is_none() {
            return Err(("enabled", "dnstap needs socket-path or tcp-address (or --dnstap PATH)".into()));
        }
        if !self.log_queries && !self.log_responses {
            return Err(("log-responses", "log-queries and log-responses are both false: nothing to capture".into()));
        }
        Ok(())
    }
}

/// A Unix socket path: not empty, within `sun_path` (107 octets).
pub fn unix_path(p: PathBuf) -> Result<PathBuf, String> {
    if p.as_os_str().is_empty() {
        return Err("must not be empty".into());
    }
    if p.as_os_str().len() > 107 {
        return Err(format!("{} is longer than a Unix socket path can be (107 octets)", p.display()));
    }
    Ok(p)
}
