//! What the answering stages know of a request before they read it: how
//! it arrived ([`Transport`]), the message with its source and time
//! ([`Request`]), the configuration answering it ([`Config`]), and the
//! size its response may reach ([`size_limit`]), which the protocol stage
//! and the response cache's key compute alike. Once `tsig.rs` has
//! verified a request's TSIG, [`Signed`] holds the key and MAC its reply
//! is signed with; a granted dynamic update leaves the pipeline as an
//! [`UpdateRequest`]. Nothing here depends on the rest of the crate.

use std::net::IpAddr;

use levee_limit::cookie;
use levee_tsig::{Key, MacBuf};

/// How the query arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// UDP: the response is limited by the requestor's payload size.
    Udp,
    /// TCP: up to 65535 octets, transfers allowed.
    Tcp,
}

/// One request as the answering stages see it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Request<'a> {
    /// The query message.
    pub(crate) msg: &'a [u8],
    /// The client's address.
    pub(crate) client: IpAddr,
    /// The transport.
    pub(crate) transport: Transport,
    /// Wall-clock seconds (cookie timestamps, TSIG, EXPIRE).
    pub(crate) now: u32,
    /// Over TLS (DoT, DoQ): what the connection says about its peer.
    pub(crate) peer: Option<StreamPeer<'a>>,
}

impl Request<'_> {
    /// The request came over an encrypted transport (DoT, DoQ: the TLS
    /// drivers call [`Worker::answer_stream`](crate::Worker::answer_stream),
    /// which alone sets `peer`); its response is padded (`pad.rs`).
    #[inline]
    pub(crate) fn encrypted(&self) -> bool {
        self.peer.is_some()
    }
}

/// What a TLS stream (DoT, DoQ) says about its peer, for zone transfers
/// (RFC 9103): the driver's TLS layer fills it in, the transfer check
/// reads it.
#[derive(Clone, Copy)]
pub struct StreamPeer<'a> {
    /// The connection agreed its transport's ALPN (`dot` for DoT, `doq`
    /// for DoQ). RFC 9103 §7.1: a transfer over TLS without it is refused.
    pub alpn_ok: bool,
    /// With a client certificate the TLS layer verified: whether it is
    /// valid for a name (`allow-transfer ... tls-client NAME`).
    pub identity: Option<&'a dyn Fn(&str) -> bool>,
}

impl std::fmt::Debug for StreamPeer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamPeer")
            .field("alpn_ok", &self.alpn_ok)
            .field("identity", &self.identity.is_some())
            .finish()
    }
}

/// A request that verified: the key and the request's MAC.
#[derive(Clone, Copy, Debug)]
pub struct Signed<'k> {
    /// The key.
    pub key: &'k Key,
    /// The request MAC.
    pub mac: MacBuf,
}

/// Answering policy, fixed while a configuration is in force.
#[derive(Clone)]
pub struct Config {
    /// Largest UDP response we send and advertise in OPT (RFC 6891).
    pub udp_payload: u16,
    /// NSID to return when asked (RFC 5001); `None` to not answer NSID.
    pub nsid: Option<Vec<u8>>,
    /// Answer for `id.server` and `hostname.bind` in class CH.
    pub identity: Option<Vec<u8>>,
    /// Answer for `version.bind` and `version.server` in class CH.
    pub version: Option<Vec<u8>>,
    /// Cookie secrets; `None` turns cookies off.
    pub cookies: Option<cookie::Secrets>,
    /// EDNS TCP keepalive to announce on TCP (units of 100 ms, RFC 7828).
    pub tcp_keepalive: Option<u16>,
    /// TSIG keys (RFC 8945).
    pub keys: levee_tsig::KeyRing,
    /// Zones that take dynamic updates (RFC 2136), by lowercase apex, with
    /// who may send them (`allow-update`); a zone not listed refuses them.
    pub updates: Vec<(Vec<u8>, levee_zone::Acl)>,
    /// Pad responses over DoT and DoQ to a multiple of 468 octets (EDNS
    /// Padding, RFC 7830, RFC 8467 §4.1; `tls.padding`). Never over UDP
    /// or TCP in clear text.
    pub padding: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            udp_payload: 1232,
            nsid: None,
            identity: None,
            version: None,
            cookies: None,
            tcp_keepalive: None,
            keys: levee_tsig::KeyRing::new(),
            updates: Vec::new(),
            padding: true,
        }
    }
}

/// The size a response may reach: 65535 over TCP; over UDP 512 without
/// EDNS, else the requestor's payload size (`opt_size`, OPT's class) at
/// least 512 and at most ours (RFC 6891 §6.2.5).
pub(crate) fn size_limit(transport: Transport, opt_size: Option<u16>, cfg: &Config) -> usize {
    match (transport, opt_size) {
        (Transport::Tcp, _) => 65535,
        (Transport::Udp, None) => 512,
        (Transport::Udp, Some(size)) => size.max(512).min(cfg.udp_payload.max(512)) as usize,
    }
}

/// An update that passed the answering path's checks, for the daemon's
/// update thread.
#[derive(Clone, Debug)]
pub struct UpdateRequest {
    /// The whole message, as received.
    pub msg: Vec<u8>,
    /// The client's address.
    pub client: IpAddr,
    /// How it arrived.
    pub transport: Transport,
    /// The zone (lowercase wire name).
    pub zone: Vec<u8>,
    /// The key that signed it and the request's MAC: the reply is signed
    /// with them (RFC 8945 §5.3).
    pub signed: Option<(Key, MacBuf)>,
    /// Wall-clock seconds when it arrived.
    pub now: u32,
}
