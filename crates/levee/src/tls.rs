//! DNS over TLS (RFC 7858) in the daemon: the certificate and its reload,
//! and the rustls configuration the DoT listener runs with.
//!
//! The DoT listener is an I/O driver only: `levee_io::tcp::run_tls`, the
//! TCP event loop with a TLS layer (`levee_io::tls`), answering through
//! the same `TcpSvc` as TCP, so `Worker::answer` sees a DoT query as a
//! TCP query (65535-octet limit, keepalive, transfers per the ACLs).
//! This module only decides what TLS is spoken:
//!
//! * TLS 1.3 and 1.2, the ring provider (see the workspace Cargo.toml);
//! * ALPN `dot` (RFC 7858 §3.2 via RFC 8310); a client offering other
//!   protocols only is refused by rustls, one offering none is served;
//! * resumption: stateless tickets (TLS 1.3 and 1.2, keys rotated by
//!   rustls's ticketer every six hours, kept across certificate reloads)
//!   and a bounded session-ID cache (`tls.session-cache`);
//! * the certificate through a resolver ([`Certs`]) whose chain and key
//!   are swapped by a reload ([`Certs::reload`]: SIGHUP, `levee ctl
//!   reload`, `POST /api/reload`). A new pair that cannot be read, does not
//!   parse or does not match keeps the old one, and the error names the
//!   file. Key material is never logged.
//!
//! It also makes the client side of XoT (RFC 9103) for secondary zones
//! whose primaries say `tls` ([`xot_client`]): TLS 1.3 only (RFC 9103
//! section 7.1), ALPN `dot`, the primary's certificate checked against
//! `[transfer-in] tls-ca-file` and the name the primary's entry gives.

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use levee_config::{Config, TlsConfig};
use levee_io::tls::TlsSetup;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// The served certificate, swapped by reloads.
pub struct Certs {
    current: ArcSwap<CertifiedKey>,
    tls: TlsConfig,
    provider: Arc<CryptoProvider>,
}

impl std::fmt::Debug for Certs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("Certs").field("certificate", &self.tls.certificate).finish()
    }
}

impl ResolvesServerCert for Certs {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load_full())
    }
}

impl Certs {
    /// Reads the certificate and key again; on any error the served pair
    /// stays and the error (naming the key and the file) is logged.
    /// Returns whether the new pair is served.
    pub fn reload(&self) -> bool {
        if let Err((key, message)) = levee_config::tls::check_key_mode(&self.tls) {
            tracing::error!("DNS over TLS: {key}: {message}; keeping the served certificate");
            return false;
        }
        match read_pair(&self.tls, &self.provider) {
            Ok(k) => {
                self.current.store(Arc::new(k));
                tracing::info!(certificate = %path(&self.tls.certificate), "DNS over TLS: certificate reloaded");
                true
            }
            Err(e) => {
                tracing::error!("DNS over TLS: {e}; keeping the served certificate");
                false
            }
        }
    }
}

fn path(p: &Option<std::path::PathBuf>) -> String {
    p.as_ref().map(|p| p.display().to_string()).unwrap_or_default()
}

/// Reads and checks the chain and the key; the error names the key (or
/// flag) and the file.
fn read_pair(t: &TlsConfig, provider: &CryptoProvider) -> Result<CertifiedKey, String> {
    let (cname, kname) = t.names;
    let (Some(cert), Some(key)) = (&t.certificate, &t.key) else {
        return Err(format!("{cname}: a DNS-over-TLS listener needs a certificate and a key"));
    };
    let crt = cert.display();
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|i| i.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("{cname}: {crt}: {e}"))?;
    if chain.is_empty() {
        return Err(format!("{cname}: {crt}: no certificate in it"));
    }
    // The error of a key file says what is wrong, never what is in it.
    let der = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("{kname}: {}: {e}", key.display()))?;
    CertifiedKey::from_der(chain, der, provider)
        .map_err(|e| format!("{kname}: {}: does not fit the certificate {crt} or is not usable: {e}", key.display()))
}

/// The verifier of client certificates (mutual TLS) when
/// `tls.client-ca-file` is set: a client may present a certificate, which
/// must chain to those CAs (else the handshake fails); one without a
/// certificate is served as before. An error names the key and the file.
fn client_verifier(
    t: &TlsConfig,
    provider: &Arc<CryptoProvider>,
) -> Result<Option<Arc<dyn rustls::server::danger::ClientCertVerifier>>, String> {
    let Some(ca) = &t.client_ca else { return Ok(None) };
    let key = "tls.client-ca-file";
    let certs = CertificateDer::pem_file_iter(ca)
        .and_then(|i| i.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("{key}: {}: {e}", ca.display()))?;
    let mut roots = rustls::RootCertStore::empty();
    if roots.add_parsable_certificates(certs).0 == 0 {
        return Err(format!("{key}: {}: no usable CA certificate in it", ca.display()));
    }
    let v = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(provider))
        .allow_unauthenticated()
        .build()
        .map_err(|e| format!("{key}: {}: {e}", ca.display()))?;
    Ok(Some(v))
}

/// The DoT listener's setup and its certificate store, when `[tls]` (or
/// `--listen-tls`) configures a listener; read at start, before the
/// privilege drop. An error stops the start.
pub fn setup(cfg: &Config) -> Result<Option<(TlsSetup, Arc<Certs>)>, String> {
    let t = &cfg.tls;
    if t.listen.is_empty() && t.listen_quic.is_empty() {
        return Ok(None);
    }
    // ring: see the workspace Cargo.toml. rustls deprecates ring's
    // provider for lacking post-quantum key exchange only.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let first = read_pair(t, &provider)?;
    let certs =
        Arc::new(Certs { current: ArcSwap::from_pointee(first), tls: t.clone(), provider: Arc::clone(&provider) });
    let versions: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS13, &rustls::version::TLS12];
    let clients = client_verifier(t, &provider)?;
    let b = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .map_err(|e| format!("DNS over TLS: {e}"))?;
    let b = match clients {
        Some(v) => b.with_client_cert_verifier(v),
        None => b.with_no_client_auth(),
    };
    let mut sc = b.with_cert_resolver(Arc::clone(&certs) as Arc<dyn ResolvesServerCert>);
    sc.alpn_protocols = vec![b"dot".to_vec()];
    sc.session_storage = if t.session_cache > 0 {
        rustls::server::ServerSessionMemoryCache::new(t.session_cache)
    } else {
        Arc::new(rustls::server::NoServerSessionStorage {})
    };
    sc.ticketer = rustls::crypto::ring::Ticketer::new().map_err(|e| format!("DNS over TLS: session tickets: {e}"))?;
    // One TLS 1.3 ticket per full handshake (rustls sends two by default):
    // a resolver reconnecting gets a fresh one with each resumption, and a
    // handshake flood costs one ticket encryption less per connection.
    sc.send_tls13_tickets = 1;
    let setup = TlsSetup {
        config: Arc::new(sc),
        handshake_timeout: Duration::from_secs(u64::from(t.handshake_timeout)),
        handshake_rate: t.handshake_rate,
        handshake_burst: t.handshake_burst,
        total_rate: t.handshake_rate_total,
        total_burst: t.handshake_burst_total,
    };
    Ok(Some((setup, certs)))
}

/// The DoQ listener's setup (RFC 9250), when `tls.listen-quic` (or
/// `--listen-quic`) configures one: TLS 1.3 only (QUIC has no other),
/// ALPN `doq`, the DoT listener's certificate resolver (so a reload swaps
/// both), resumption by tickets, no 0-RTT; the limits of `[tls]`.
pub fn quic_setup(cfg: &Config, certs: &Arc<Certs>) -> Result<Option<levee_io::quic::QuicSetup>, String> {
    let t = &cfg.tls;
    if t.listen_quic.is_empty() {
        return Ok(None);
    }
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let clients = client_verifier(t, &provider)?;
    let b = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| format!("DNS over QUIC: {e}"))?;
    let b = match clients {
        Some(v) => b.with_client_cert_verifier(v),
        None => b.with_no_client_auth(),
    };
    let mut sc = b.with_cert_resolver(Arc::clone(certs) as Arc<dyn ResolvesServerCert>);
    sc.alpn_protocols = vec![b"doq".to_vec()];
    sc.ticketer = rustls::crypto::ring::Ticketer::new().map_err(|e| format!("DNS over QUIC: session tickets: {e}"))?;
    sc.send_tls13_tickets = 1;
    sc.max_early_data_size = 0;
    let limits = levee_io::quic::QuicLimits {
        handshake_timeout: Duration::from_secs(u64::from(t.handshake_timeout)),
        idle_timeout: Duration::from_secs(u64::from(t.quic_idle_timeout)),
        message_timeout: Duration::from_secs(u64::from(t.message_timeout)),
        max_connections: t.quic_max_connections,
        max_per_prefix: t.quic_max_per_prefix,
        max_streams: t.quic_max_streams,
        stream_buffer: t.quic_stream_buffer,
        handshake_rate: t.handshake_rate,
        handshake_burst: t.handshake_burst,
        total_rate: t.handshake_rate_total,
        total_burst: t.handshake_burst_total,
        retry_above: t.quic_retry_above,
    };
    let setup = levee_io::quic::QuicSetup { config: Arc::new(sc), limits };
    // The TLS configuration must carry QUIC: checked at start.
    levee_io::quic::server_config(&setup)?;
    Ok(Some(setup))
}

/// The TLS client configuration of transfers in over TLS (XoT), when a
/// primary of some zone says `tls`: the roots of `[transfer-in]
/// tls-ca-file`, TLS 1.3 only, ALPN `dot`. Read at start, before the
/// privilege drop; an error (naming the key and the file) stops the start.
pub fn xot_client(cfg: &Config) -> Result<Option<Arc<rustls::ClientConfig>>, String> {
    if !cfg.zones.iter().any(|z| z.repl.primaries.iter().any(|p| p.tls.is_some())) {
        return Ok(None);
    }
    let key = "transfer-in.tls-ca-file";
    let Some(ca) = &cfg.transfer_in_tls_ca else { return Err(format!("{key}: needed by a primary with 'tls'")) };
    let mut roots = rustls::RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(ca)
        .and_then(|i| i.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("{key}: {}: {e}", ca.display()))?;
    let (added, _) = roots.add_parsable_certificates(certs);
    if added == 0 {
        return Err(format!("{key}: {}: no usable CA certificate in it", ca.display()));
    }
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let b = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| format!("zone transfers over TLS: {e}"))?
        .with_root_certificates(roots);
    let mut cc = match (&cfg.transfer_in_tls_cert, &cfg.transfer_in_tls_key) {
        (Some(cert), Some(key)) => {
            // Mutual TLS (RFC 9103 §9.3.3): the certificate levee presents.
            let (ck, kk) = ("transfer-in.tls-cert-file", "transfer-in.tls-key-file");
            let chain = CertificateDer::pem_file_iter(cert)
                .and_then(|i| i.collect::<Result<Vec<_>, _>>())
                .map_err(|e| format!("{ck}: {}: {e}", cert.display()))?;
            if chain.is_empty() {
                return Err(format!("{ck}: {}: no certificate in it", cert.display()));
            }
            let probe = TlsConfig { key: Some(key.clone()), names: ("", kk), ..TlsConfig::default() };
            levee_config::tls::check_key_mode(&probe).map_err(|(k, m)| format!("{k}: {m}"))?;
            let der = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("{kk}: {}: {e}", key.display()))?;
            let mut cc = b.with_client_auth_cert(chain, der).map_err(|e| {
                format!("{kk}: {}: does not fit {} or is not usable: {e}", key.display(), cert.display())
            })?;
            // No resumption when levee authenticates itself: NSD 4.12's
            // tls-auth-port (OpenSSL verifying client certificates without
            // a session ID context) aborts a handshake that offers a
            // session ticket ("session id context uninitialized"), so the
            // transfer after the SOA query would always fail. A full
            // handshake per connection costs little next to a transfer
            // (tests/xot/run.sh part P).
            cc.resumption = rustls::client::Resumption::disabled();
            cc
        }
        _ => b.with_no_client_auth(),
    };
    cc.alpn_protocols = vec![b"dot".to_vec()];
    Ok(Some(Arc::new(cc)))
}
