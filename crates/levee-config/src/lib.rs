//! # levee-config: the configuration file and its runtime form
//!
//! The file is TOML. Its schema ([`file::Spec`]) is versioned (`version =
//! 1`, the default) and strict: an unknown key or a bad value stops the
//! server at start with an error that names the key. The file is then
//! *lowered* into [`Config`], the validated runtime form the daemon uses;
//! command-line flags are applied on top ([`Overrides`]): file < flags.
//!
//! ```toml
//! version = 1
//!
//! [server]
//! listen = ["127.0.0.1:53", "[::1]:53"]
//! threads = 0                  # UDP workers per address; 0 = one per CPU core
//! zones-dir = "/var/lib/levee/zones"   # serve every <origin>zone file in it
//! udp-payload = 1232           # EDNS(0) buffer size we send and advertise
//! identity = "ns1.example.net" # id.server / hostname.bind; default: host name; "" = off
//! version = "levee"            # version.bind / version.server; "" = off
//! nsid = "ns1"                 # NSID (RFC 5001): text, "0x..." hex, "hostname"; default off
//! semantic-checks = "warn"     # "warn" (default) or "strict": see [[zone]]
//! user = "levee"               # after binding, run as this user (when started as root); default: stay
//! group = "levee"              # default: the user's primary group
//!
//! [tcp]
//! idle-timeout = 10            # seconds between queries
//! message-timeout = 2          # seconds for one message once it started (slowloris)
//! max-connections = 4096       # when full, the stalest connection is closed
//! max-connections-per-source = 64
//!
//! [rate-limit]                 # response rate limiting, per source prefix
//! enabled = true
//! responses-per-second = 200   # per name and type; nodata-, nxdomain-,
//! nxdomain-per-second = 200    # referrals-, errors-per-second alike
//! burst = 2                    # seconds above the rate before limiting
//! slip = 2                     # every 2nd limited response is TC=1 / BADCOOKIE
//! ipv4-prefix = 24
//! ipv6-prefix = 56
//! log-only = false
//! exempt = ["192.0.2.0/24"]
//! table-size = 262144          # fixed memory: 8 octets per bucket
//!
//! [overload]
//! enabled = true               # when behind, shed NXDOMAIN/errors to unknown sources
//!
//! [cookies]
//! enabled = true
//! secret = "000102030405060708090a0b0c0d0e0f"   # 16 octets hex; default random
//! previous-secret = "..."      # still accepted during a rollover
//!
//! [log]
//! level = "info"               # error, warn, info, debug, trace
//! format = "text"              # "text" or "json" (one JSON object per line)
//!
//! [management]                 # HTTP: /metrics, /api/*, the dashboard; off by default
//! listen = "127.0.0.1:8053"    # setting it turns the listener on
//! enabled = true               # default: true when listen is set; alone, listens on 127.0.0.1:8053
//! allow-remote = false         # a non-loopback listen address is refused unless true
//!
//! [[zone]]
//! name = "example.com."
//! file = "example.com.zone"    # relative to this file's directory
//! allow-transfer = ["192.0.2.0/24", "2001:db8::1"]
//! semantic-checks = "strict"   # refuse the zone without apex NS or with an in-zone
//!                              # name server lacking an address (BIND); "warn" loads it
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::path::{Path, PathBuf};

pub mod bounds;
pub mod error;
pub mod file;
pub mod mgmt;
pub mod repl;
pub mod runtime;
pub mod values;

pub use error::ConfigError;
pub use runtime::{
    default_version, hostname, Config, CookieConfig, LoadConfig, LogFormat, SemanticChecks, ZoneConfig, DEFAULT_LISTEN,
    DEFAULT_MANAGEMENT, DEFAULT_TCP_BUFFER_MEMORY, DEFAULT_UDP_PAYLOAD,
};
pub use values::{normalize_zone_name, parse_listen, parse_prefix, parse_secret};

/// Command-line settings that override the file.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// `--listen` (replaces the file's list when given).
    pub listen: Vec<String>,
    /// `--zones-dir`.
    pub zones_dir: Option<PathBuf>,
    /// `--allow-transfer ZONE=PREFIX` (added to the zone's list).
    pub allow_transfer: Vec<String>,
    /// `--threads`.
    pub threads: Option<usize>,
    /// `--management ADDR:PORT` (turns the management listener on).
    pub management: Option<String>,
    /// `--management-allow-remote` (as `management.allow-remote = true`).
    pub management_allow_remote: bool,
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
        let mut c = file::parse(&text, &path.display().to_string())?;
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
        for z in &mut c.zones {
            if let Some(f) = &mut z.file {
                if f.is_relative() {
                    *f = base.join(&*f);
                }
            }
        }
        if secrets {
            mgmt::load_secrets(&mut c.management_access, path, &base).map_err(|(key, message)| ConfigError {
                place: path.display().to_string(),
                key,
                message,
            })?;
        }
        c.source = Some(path.to_path_buf());
        Ok(c)
    }

    /// Applies command-line overrides.
    pub fn apply(&mut self, o: &Overrides) -> Result<(), ConfigError> {
        let err = |key: &str, message: String| ConfigError { place: "command line".into(), key: key.into(), message };
        if !o.listen.is_empty() {
            self.listen =
                o.listen.iter().map(|l| parse_listen(l).map_err(|m| err("--listen", m))).collect::<Result<_, _>>()?;
        }
        if let Some(d) = &o.zones_dir {
            self.zones_dir = Some(d.clone());
        }
        if let Some(t) = o.threads {
            self.threads = bounds::check("server.threads", t.min(i64::MAX as usize) as i64)
                .map_err(|m| err("--threads", m))? as usize;
        }
        if o.management_allow_remote {
            self.management_access.allow_remote = true;
        }
        if let Some(m) = &o.management {
            self.management = Some(parse_listen(m).map_err(|m| err("--management", m))?);
        }
        // The same rule as for the file: loopback, or allow-remote and tokens.
        if let Some(a) = self.management {
            let key = if o.management.is_some() { "--management" } else { "management.listen" };
            mgmt::check_listen(a, &self.management_access).map_err(|m| err(key, m))?;
        }
        for a in &o.allow_transfer {
            let (zone, prefix) =
                a.split_once('=').ok_or_else(|| err("--allow-transfer", format!("'{a}' is not ZONE=PREFIX")))?;
            let zone = normalize_zone_name(zone).map_err(|m| err("--allow-transfer", m))?;
            let p = parse_prefix(prefix).map_err(|m| err("--allow-transfer", m))?;
            match self.zones.iter_mut().find(|z| z.name.eq_ignore_ascii_case(&zone)) {
                Some(z) => z.allow_transfer.push(p),
                None => self.zones.push(ZoneConfig {
                    name: zone,
                    file: None,
                    allow_transfer: vec![p],
                    repl: Default::default(),
                    semantic_checks: None,
                    serial_must_increase: false,
                }),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides() {
        let mut c = Config::default();
        c.apply(&Overrides {
            listen: vec!["127.0.0.1:5400".into(), "[::1]:5400".into()],
            zones_dir: Some("z".into()),
            allow_transfer: vec!["sib-a.test.=127.0.0.1".into(), "sib-a.test=10.0.0.0/8".into()],
            threads: Some(3),
            management: Some("127.0.0.1:5901".into()),
            management_allow_remote: false,
        })
        .unwrap();
        assert_eq!(c.listen.len(), 2);
        assert_eq!(c.threads, 3);
        assert_eq!(c.management, Some("127.0.0.1:5901".parse().unwrap()));
        assert_eq!(c.zones.len(), 1);
        assert_eq!(c.zones[0].allow_transfer.len(), 2);
        let e = c.apply(&Overrides { listen: vec!["nope".into()], ..Default::default() }).unwrap_err();
        assert_eq!(e.key, "--listen");
        let e = c.apply(&Overrides { allow_transfer: vec!["x=1.2.3.4/40".into()], ..Default::default() }).unwrap_err();
        assert!(e.to_string().contains("--allow-transfer"), "{e}");
        // A non-loopback management address needs allow-remote (and a
        // token) on the command line as in the file.
        let remote = Overrides { management: Some("0.0.0.0:8053".into()), ..Default::default() };
        let e = c.apply(&remote).unwrap_err();
        assert_eq!(e.key, "--management");
        assert!(e.message.contains("allow-remote"), "{e}");
        let e = c.apply(&Overrides { management_allow_remote: true, ..remote.clone() }).unwrap_err();
        assert!(e.message.contains("no [[management.token]]"), "{e}");
        c.management_access.tokens.push(mgmt::Token {
            scope: mgmt::Scope::Read,
            secret: "0123456789abcdef".into(),
            file: None,
        });
        c.apply(&Overrides { management_allow_remote: true, ..remote.clone() }).unwrap();
        assert_eq!(c.management, Some("0.0.0.0:8053".parse().unwrap()));
        let e = c.apply(&Overrides { threads: Some(1025), ..Default::default() }).unwrap_err();
        assert_eq!(e.key, "--threads");
    }
}
