//! `[tls]`: DNS over TLS (RFC 7858, issue 21). Its schema ([`Spec`]),
//! its runtime form ([`TlsConfig`]) and its lowering ([`Spec::lower`]).
//! Off unless a listen address is given (here or `levee serve
//! --listen-tls ADDR:PORT`).
//!
//! The certificate chain and the private key are PEM files (relative to
//! the configuration file's directory); they are read by the daemon at
//! start (an unreadable, malformed or mismatched pair stops the start,
//! naming the key and the file) and again at every reload. The key must
//! not be accessible by other users (the group may read it, so that the
//! service user can read it again at a reload after root was given up).
//! The limits are those of `[tcp]`, for the DoT listener's own connection
//! table, plus the handshake's timeout and budget per source prefix.
//!
//! DNS over QUIC (RFC 9250, `listen-quic`, `levee serve --listen-quic`)
//! shares the certificate, the handshake timeout and budgets and the
//! message timeout; its own limits are the `quic-*` keys.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

use crate::bounds;
use crate::values::parse_listen;

/// The validated `[tls]` section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsConfig {
    /// Addresses of DoT listeners (empty: off).
    pub listen: Vec<SocketAddr>,
    /// Addresses of DNS-over-QUIC listeners (UDP; empty: off).
    pub listen_quic: Vec<SocketAddr>,
    /// PEM certificate chain (end entity first).
    pub certificate: Option<PathBuf>,
    /// PEM private key.
    pub key: Option<PathBuf>,
    /// PEM CA certificates client certificates must chain to (mutual
    /// TLS for transfers: `allow-transfer` rules with `tls-client`).
    pub client_ca: Option<PathBuf>,
    /// The names the certificate and key were given by, for errors:
    /// `tls.certificate`/`tls.key` or `--tls-cert`/`--tls-key`.
    pub names: (&'static str, &'static str),
    /// Seconds before a connection that has not finished its handshake
    /// is closed.
    pub handshake_timeout: u32,
    /// Seconds between queries on a connection.
    pub idle_timeout: u32,
    /// Seconds to receive one message once it started.
    pub message_timeout: u32,
    /// DoT connections; when full, the stalest is closed.
    pub max_connections: usize,
    /// DoT connections per client address.
    pub max_per_source: usize,
    /// Octets of buffers and TLS state, all DoT connections together.
    pub buffer_memory: usize,
    /// Handshakes per second per source prefix (/24, /56).
    pub handshake_rate: u32,
    /// Handshakes at once per source prefix.
    pub handshake_burst: u32,
    /// Handshakes per second from all prefixes not known, together.
    pub handshake_rate_total: u32,
    /// Handshakes at once from all prefixes not known, together.
    pub handshake_burst_total: u32,
    /// TLS sessions remembered for resumption by session ID (TLS 1.2
    /// clients without tickets); tickets need no memory.
    pub session_cache: usize,
    /// DoQ connections at once.
    pub quic_max_connections: usize,
    /// DoQ connections at once per source prefix (/24, /56).
    pub quic_max_per_prefix: usize,
    /// DoQ streams (queries) at once per connection.
    pub quic_max_streams: u32,
    /// Seconds a DoQ connection may stay idle.
    pub quic_idle_timeout: u32,
    /// Octets a client may have in flight on one DoQ stream.
    pub quic_stream_buffer: u32,
    /// New DoQ connections a second above which unvalidated addresses
    /// get a Retry first.
    pub quic_retry_above: u32,
    /// Pad responses over DoT and DoQ (EDNS Padding, RFC 7830) to a
    /// multiple of 468 octets (RFC 8467 §4.1), as Knot DNS does.
    pub padding: bool,
}

impl Default for TlsConfig {
    fn default() -> Self {
        TlsConfig {
            listen: Vec::new(),
            listen_quic: Vec::new(),
            certificate: None,
            key: None,
            client_ca: None,
            names: ("tls.certificate", "tls.key"),
            handshake_timeout: 5,
            idle_timeout: 10,
            message_timeout: 2,
            max_connections: 4096,
            max_per_source: 64,
            buffer_memory: 96 << 20,
            handshake_rate: 100,
            handshake_burst: 200,
            handshake_rate_total: 2000,
            handshake_burst_total: 4000,
            session_cache: 4096,
            quic_max_connections: 4096,
            quic_max_per_prefix: 256,
            quic_max_streams: 100,
            quic_idle_timeout: 10,
            quic_stream_buffer: 16384,
            quic_retry_above: 200,
            padding: true,
        }
    }
}

/// `[tls]` as written.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Spec {
    /// DoT listen addresses.
    pub listen: Option<Vec<String>>,
    /// Certificate chain file.
    pub certificate: Option<PathBuf>,
    /// Private key file.
    pub key: Option<PathBuf>,
    /// CA file of client certificates.
    pub client_ca_file: Option<PathBuf>,
    /// Seconds.
    pub handshake_timeout: Option<i64>,
    /// Seconds.
    pub idle_timeout: Option<i64>,
    /// Seconds.
    pub message_timeout: Option<i64>,
    /// Connections.
    pub max_connections: Option<i64>,
    /// Connections per address.
    pub max_connections_per_source: Option<i64>,
    /// MiB.
    pub buffer_memory_mib: Option<i64>,
    /// Handshakes per second per prefix.
    pub handshake_rate: Option<i64>,
    /// Handshakes at once per prefix.
    pub handshake_burst: Option<i64>,
    /// Handshakes per second, all unknown prefixes.
    pub handshake_rate_total: Option<i64>,
    /// Handshakes at once, all unknown prefixes.
    pub handshake_burst_total: Option<i64>,
    /// Sessions.
    pub session_cache: Option<i64>,
    /// DoQ listen addresses.
    pub listen_quic: Option<Vec<String>>,
    /// Connections.
    pub quic_max_connections: Option<i64>,
    /// Connections per prefix.
    pub quic_max_connections_per_prefix: Option<i64>,
    /// Streams per connection.
    pub quic_max_streams: Option<i64>,
    /// Seconds.
    pub quic_idle_timeout: Option<i64>,
    /// Octets.
    pub quic_stream_buffer: Option<i64>,
    /// Connections per second.
    pub quic_retry_above: Option<i64>,
    /// EDNS padding of DoT and DoQ responses.
    pub padding: Option<bool>,
}

impl Spec {
    /// The runtime form; an error is `(key, message)`.
    pub fn lower(self) -> Result<TlsConfig, (String, String)> {
        let mut t = TlsConfig::default();
        let num = |k: &str, v: i64| {
            let key = format!("tls.{k}");
            bounds::check(&key, v).map_err(|m| (key, m))
        };
        for (i, a) in self.listen.iter().flatten().enumerate() {
            t.listen.push(parse_listen(a).map_err(|m| (format!("tls.listen[{i}]"), m))?);
        }
        for (i, a) in self.listen_quic.iter().flatten().enumerate() {
            t.listen_quic.push(parse_listen(a).map_err(|m| (format!("tls.listen-quic[{i}]"), m))?);
        }
        let secs = [
            ("handshake-timeout", self.handshake_timeout, &mut t.handshake_timeout),
            ("idle-timeout", self.idle_timeout, &mut t.idle_timeout),
            ("message-timeout", self.message_timeout, &mut t.message_timeout),
            ("handshake-rate", self.handshake_rate, &mut t.handshake_rate),
            ("handshake-burst", self.handshake_burst, &mut t.handshake_burst),
            ("handshake-rate-total", self.handshake_rate_total, &mut t.handshake_rate_total),
            ("handshake-burst-total", self.handshake_burst_total, &mut t.handshake_burst_total),
            ("quic-max-streams", self.quic_max_streams, &mut t.quic_max_streams),
            ("quic-idle-timeout", self.quic_idle_timeout, &mut t.quic_idle_timeout),
            ("quic-stream-buffer", self.quic_stream_buffer, &mut t.quic_stream_buffer),
            ("quic-retry-above", self.quic_retry_above, &mut t.quic_retry_above),
        ];
        for (k, v, dst) in secs {
            if let Some(v) = v {
                *dst = num(k, v)? as u32;
            }
        }
        if let Some(v) = self.max_connections {
            t.max_connections = num("max-connections", v)? as usize;
        }
        if let Some(v) = self.max_connections_per_source {
            t.max_per_source = num("max-connections-per-source", v)? as usize;
        }
        if let Some(v) = self.buffer_memory_mib {
            t.buffer_memory = (num("buffer-memory-mib", v)? as usize) << 20;
        }
        if let Some(v) = self.quic_max_connections {
            t.quic_max_connections = num("quic-max-connections", v)? as usize;
        }
        if let Some(v) = self.quic_max_connections_per_prefix {
            t.quic_max_per_prefix = num("quic-max-connections-per-prefix", v)? as usize;
        }
        if let Some(v) = self.session_cache {
            t.session_cache = num("session-cache", v)? as usize;
        }
        if let Some(p) = self.padding {
            t.padding = p;
        }
        t.certificate = self.certificate;
        t.key = self.key;
        t.client_ca = self.client_ca_file;
        t.check().map_err(|(k, m)| (k.to_string(), m))?;
        Ok(t)
    }
}

impl TlsConfig {
    /// The rules whatever set the values (file or flags): a listener
    /// needs a certificate and a key, and each of the two needs the
    /// other. An error names the key (or the flag).
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        let (cert, key) = self.names;
        match (&self.certificate, &self.key) {
            (Some(_), None) => return Err((key, format!("{cert} needs {key} (the certificate's private key)"))),
            (None, Some(_)) => return Err((cert, format!("{key} needs {cert} (the certificate chain)"))),
            (None, None) if !self.listen.is_empty() => {
                return Err((cert, "a DNS-over-TLS listener needs a certificate and a key".into()))
            }
            (None, None) if !self.listen_quic.is_empty() => {
                return Err((cert, "a DNS-over-QUIC listener needs a certificate and a key".into()))
            }
            _ => {}
        }
        Ok(())
    }
}

/// The key file must exist and not be accessible by other users (group
/// read is allowed: a root-owned key readable by the service user's group
/// can be read again at a reload). An error is `(key, message)` naming the
/// file, never its content.
pub fn check_key_mode(t: &TlsConfig) -> Result<(), (String, String)> {
    use std::os::unix::fs::MetadataExt;
    let Some(k) = &t.key else { return Ok(()) };
    let name = t.names.1.to_string();
    let m = std::fs::metadata(k).map_err(|e| (name.clone(), format!("{}: {e}", k.display())))?.mode() & 0o7777;
    if m & 0o007 != 0 {
        return Err((
            name,
            format!(
                "{} has mode {m:04o}: a private key must not be accessible by other users (chmod 600, or 640 \
                 with the service user's group)",
                k.display()
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lower(text: &str) -> Result<TlsConfig, (String, String)> {
        toml::from_str::<Spec>(text).unwrap().lower()
    }

    #[test]
    fn lowering_checks_every_key() {
        let t = lower(
            "listen = [\"127.0.0.1:853\", \"[::1]:853\"]\ncertificate = \"c.pem\"\nkey = \"k.pem\"\n\
             handshake-timeout = 3\nhandshake-rate = 20\nmax-connections-per-source = 8\nbuffer-memory-mib = 16\n",
        )
        .unwrap();
        assert_eq!(t.listen.len(), 2);
        assert_eq!((t.handshake_timeout, t.handshake_rate, t.max_per_source), (3, 20, 8));
        assert_eq!(t.buffer_memory, 16 << 20);
        assert_eq!(t.certificate, Some("c.pem".into()));
        assert_eq!(lower("listen = [\"127.0.0.1:853\"]\n").unwrap_err().0, "tls.certificate");
        assert_eq!(lower("certificate = \"c\"\n").unwrap_err().0, "tls.key");
        assert_eq!(lower("key = \"k\"\n").unwrap_err().0, "tls.certificate");
        assert_eq!(lower("listen = [\"x\"]\n").unwrap_err().0, "tls.listen[0]");
        assert_eq!(lower("handshake-timeout = 0\n").unwrap_err().0, "tls.handshake-timeout");
        assert_eq!(lower("max-connections = 0\n").unwrap_err().0, "tls.max-connections");
        assert!(lower("").unwrap().listen.is_empty(), "off by default");
        // EDNS padding: on by default, off with padding = false.
        assert!(lower("").unwrap().padding);
        assert!(!lower("padding = false\n").unwrap().padding);
        // DNS over QUIC shares the certificate.
        let q = lower(
            "listen-quic = [\"127.0.0.1:853\"]\ncertificate = \"c.pem\"\nkey = \"k.pem\"\nquic-max-streams = 10\n\
             quic-retry-above = 0\nquic-max-connections-per-prefix = 3\n",
        )
        .unwrap();
        assert_eq!((q.listen_quic.len(), q.quic_max_streams, q.quic_retry_above, q.quic_max_per_prefix), (1, 10, 0, 3));
        assert!(q.listen.is_empty());
        assert_eq!(lower("listen-quic = [\"127.0.0.1:853\"]\n").unwrap_err().0, "tls.certificate");
        assert_eq!(lower("listen-quic = [\"y\"]\n").unwrap_err().0, "tls.listen-quic[0]");
        assert_eq!(lower("quic-stream-buffer = 10\n").unwrap_err().0, "tls.quic-stream-buffer");
        assert_eq!(lower("quic-max-streams = 0\n").unwrap_err().0, "tls.quic-max-streams");
    }
}
