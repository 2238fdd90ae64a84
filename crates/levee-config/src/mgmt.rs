//! `[management]`: who may use the HTTP management listener (issue 16).
//!
//! ```toml
//! [management]
//! listen = "127.0.0.1:8053"
//! allow-remote = false          # any non-loopback address needs true (file and --management alike)
//! hosts = ["ns1.example.net"]   # Host names accepted besides the address itself (and localhost on loopback)
//! anonymous-metrics = true      # GET /metrics without a token, from loopback clients only
//!
//! [[management.token]]
//! scope = "read"                # GET: /metrics, /api/*, the dashboard's feed
//! file = "/etc/levee/read.token"  # first line; owner-only mode (0600 or stricter)
//!
//! [[management.token]]
//! scope = "write"               # also POST /api/reload and the REST API's writes
//! secret = "..."                # inline: the configuration file must then not be world-readable
//!
//! [[management.token]]
//! scope = "write"
//! zones = ["example.com."]      # only /api/v1/ endpoints of these zones
//! file = "/etc/levee/customer.token"
//!
//! # optional: HTTPS instead of HTTP (PEM files; the key owner-only)
//! # tls-certificate = "/etc/levee/mgmt.crt"
//! # tls-key = "/etc/levee/mgmt.key"
//! ```
//!
//! A token is at least 16 and at most 256 visible ASCII characters
//! (`openssl rand -hex 32` makes a good one).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// What a token allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    /// Read: `GET` of metrics, the JSON API and the dashboard's feed.
    Read,
    /// Write: read, and `POST /api/reload`.
    Write,
}

/// One bearer token.
#[derive(Clone, PartialEq, Eq)]
pub struct Token {
    /// What it allows.
    pub scope: Scope,
    /// The token (empty until a `file` is read by [`crate::Config::from_file`]).
    pub secret: String,
    /// The file it is read from, if not inline.
    pub file: Option<PathBuf>,
    /// The zones it may read or write (absolute, lowercase); empty: every
    /// zone, and the server-wide endpoints. A token limited to zones
    /// reaches only `/api/v1/` endpoints of those zones.
    pub zones: Vec<String>,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret (configuration dumps, panics).
        f.debug_struct("Token")
            .field("scope", &self.scope)
            .field("file", &self.file)
            .field("zones", &self.zones)
            .finish_non_exhaustive()
    }
}

/// Access rules of the management listener.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Access {
    /// A non-loopback listen address is allowed.
    pub allow_remote: bool,
    /// Extra `Host` names accepted (lowercase, without port).
    pub hosts: Vec<String>,
    /// `GET /metrics` without a token from a loopback client.
    pub anonymous_metrics: bool,
    /// Bearer tokens.
    pub tokens: Vec<Token>,
    /// Serve HTTPS with this certificate and key.
    pub tls: Option<Tls>,
}

/// `management.tls-certificate` and `management.tls-key`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tls {
    /// PEM: the certificate, then its chain.
    pub certificate: PathBuf,
    /// PEM: the private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

impl Default for Access {
    fn default() -> Self {
        Access { allow_remote: false, hosts: Vec::new(), anonymous_metrics: true, tokens: Vec::new(), tls: None }
    }
}

/// `[management]` in the file.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Spec {
    /// On or off (default: on when `listen` is set).
    pub enabled: Option<bool>,
    /// Address of the HTTP listener.
    pub listen: Option<String>,
    /// Allow a non-loopback address.
    pub allow_remote: Option<bool>,
    /// Extra Host names.
    pub hosts: Option<Vec<String>>,
    /// Metrics without a token from loopback clients.
    pub anonymous_metrics: Option<bool>,
    /// `[[management.token]]`.
    #[serde(default)]
    pub token: Vec<TokenSpec>,
    /// PEM certificate chain for HTTPS.
    pub tls_certificate: Option<PathBuf>,
    /// PEM private key for HTTPS.
    pub tls_key: Option<PathBuf>,
}

/// `[[management.token]]` in the file.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TokenSpec {
    /// `read` or `write`.
    pub scope: String,
    /// The token itself.
    pub secret: Option<String>,
    /// A file holding the token (first line).
    pub file: Option<PathBuf>,
    /// Only these zones (REST API).
    pub zones: Option<Vec<String>>,
}

/// Checks a token's text.
pub fn check_secret(s: &str) -> Result<(), String> {
    if s.len() < 16 || s.len() > 256 {
        return Err(format!("a token must have 16 to 256 characters (this one has {})", s.len()));
    }
    if !s.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("a token must be visible ASCII characters without spaces".into());
    }
    Ok(())
}

/// Lowers the access part of `[management]`; errors are (key, message).
pub fn lower(spec: &Spec) -> Result<Access, (String, String)> {
    let mut a = Access { allow_remote: spec.allow_remote.unwrap_or(false), ..Access::default() };
    a.anonymous_metrics = spec.anonymous_metrics.unwrap_or(true);
    for (i, h) in spec.hosts.iter().flatten().enumerate() {
        let h = h.trim_end_matches('.').to_ascii_lowercase();
        let ok = !h.is_empty()
            && h.len() <= 253
            && h.split('.').all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
        if !ok {
            return Err((format!("management.hosts[{i}]"), format!("'{h}' is not a host name")));
        }
        a.hosts.push(h);
    }
    a.tls = match (&spec.tls_certificate, &spec.tls_key) {
        (None, None) => None,
        (Some(c), Some(k)) => Some(Tls { certificate: c.clone(), key: k.clone() }),
        (Some(_), None) => return Err(("management.tls-key".into(), "tls-certificate needs tls-key".into())),
        (None, Some(_)) => return Err(("management.tls-certificate".into(), "tls-key needs tls-certificate".into())),
    };
    for (i, t) in spec.token.iter().enumerate() {
        let key = |f: &str| format!("management.token[{i}].{f}");
        let scope = match t.scope.as_str() {
            "read" => Scope::Read,
            "write" => Scope::Write,
            s => return Err((key("scope"), format!("'{s}' is not one of read, write"))),
        };
        match (&t.secret, &t.file) {
            (Some(s), None) => check_secret(s).map_err(|m| (key("secret"), m))?,
            (None, Some(_)) => {}
            _ => return Err((format!("management.token[{i}]"), "needs exactly one of secret, file".into())),
        }
        let zones = token_zones(t.zones.as_deref(), &key("zones"))?;
        a.tokens.push(Token { scope, secret: t.secret.clone().unwrap_or_default(), file: t.file.clone(), zones });
    }
    Ok(a)
}

/// The `zones` of a token, absolute and lowercase; `zones = []` is
/// refused (leave the key out for every zone).
fn token_zones(zones: Option<&[String]>, key: &str) -> Result<Vec<String>, (String, String)> {
    let Some(zones) = zones else { return Ok(Vec::new()) };
    if zones.is_empty() {
        return Err((key.into(), "an empty list would allow no zone: leave the key out for every zone".into()));
    }
    let mut out = Vec::new();
    for (j, z) in zones.iter().enumerate() {
        let n = crate::values::normalize_zone_name(z).map_err(|m| (format!("{key}[{j}]"), m))?;
        out.push(n.to_ascii_lowercase());
    }
    Ok(out)
}

/// The rule for the listen address, the same for the file and the
/// command line: loopback, or `allow-remote` and at least one token.
pub fn check_listen(addr: SocketAddr, access: &Access) -> Result<(), String> {
    if addr.ip().is_loopback() {
        return Ok(());
    }
    if !access.allow_remote {
        return Err(format!(
            "{addr} is not a loopback address: set management.allow-remote = true (or --management-allow-remote) \
             to listen there, with [[management.token]] entries for the clients"
        ));
    }
    if access.tokens.is_empty() {
        return Err(format!(
            "{addr} is not a loopback address and no [[management.token]] is configured: nobody could use it"
        ));
    }
    Ok(())
}

/// The permission bits of `path`.
fn mode(path: &Path) -> std::io::Result<u32> {
    use std::os::unix::fs::MetadataExt;
    Ok(std::fs::metadata(path)?.mode() & 0o7777)
}

/// Reads the token files (relative to `base`) and checks the modes: a
/// token file and a TLS key must be accessible by their owner only; a
/// configuration file holding an inline token must not be accessible by
/// other users. Errors are (key, message).
pub fn load_secrets(a: &mut Access, config: &Path, base: &Path) -> Result<(), (String, String)> {
    if let Some(t) = &mut a.tls {
        for (key, f) in [("management.tls-certificate", &mut t.certificate), ("management.tls-key", &mut t.key)] {
            if f.is_relative() {
                *f = base.join(&*f);
            }
            let m = mode(f).map_err(|e| (key.to_string(), format!("{}: {e}", f.display())))?;
            if key == "management.tls-key" && m & 0o077 != 0 {
                return Err((
                    key.into(),
                    format!(
                        "{} has mode {m:04o}: a private key must be accessible by its owner only (chmod 600)",
                        f.display()
                    ),
                ));
            }
        }
    }
    for (i, t) in a.tokens.iter_mut().enumerate() {
        match &mut t.file {
            None => {
                let m = mode(config).map_err(|e| (format!("management.token[{i}].secret"), e.to_string()))?;
                if m & 0o007 != 0 {
                    return Err((
                        format!("management.token[{i}].secret"),
                        format!(
                            "{} holds a token but other users may read it (mode {m:04o}): chmod o-rwx it, or use file",
                            config.display()
                        ),
                    ));
                }
            }
            Some(f) => {
                let key = format!("management.token[{i}].file");
                if f.is_relative() {
                    *f = base.join(&*f);
                }
                let m = mode(f).map_err(|e| (key.clone(), format!("{}: {e}", f.display())))?;
                if m & 0o077 != 0 {
                    return Err((
                        key,
                        format!(
                            "{} has mode {m:04o}: a token file must be accessible by its owner only (chmod 600)",
                            f.display()
                        ),
                    ));
                }
                let text = std::fs::read_to_string(&*f).map_err(|e| (key.clone(), format!("{}: {e}", f.display())))?;
                let s = text.lines().next().unwrap_or("").trim().to_string();
                check_secret(&s).map_err(|m| (key, format!("{}: {m}", f.display())))?;
                t.secret = s;
            }
        }
    }
    Ok(())
}
