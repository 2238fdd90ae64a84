//! # levee-config: the configuration file and its runtime form
//!
//! The file is TOML. Its schema ([`file::Spec`]) is versioned (`version =
//! 1`, the default) and strict: an unknown key or a bad value stops the
//! server at start with an error that names the key. The file is then
//! *lowered* into [`Config`], the validated runtime form the daemon uses;
//! command-line flags are applied on top ([`Overrides`]): file < flags.
//!
//! The modules are layered, each using only those below it (no import
//! cycle; `tests/structure/modules.py` checks):
//!
//! * [`values`], [`bounds`], [`error`]: single-value parsers, the valid
//!   range of every numeric key, [`ConfigError`]; they use nothing else.
//! * [`mgmt`], [`repl`], [`gate`](mod@gate): the `[management]`,
//!   replication and `[gate]` parts (their schema, runtime types and
//!   lowering).
//! * [`runtime`]: [`Config`] and its parts and defaults (the lowered
//!   catalog types among them: [`runtime::CatalogRole`],
//!   [`runtime::CatalogMember`], [`runtime::CatalogTemplate`]).
//! * [`catalog`]: the catalog keys and `[[catalog-template]]` (RFC 9432),
//!   read and lowered into those types (it re-exports them, so
//!   `catalog::CatalogRole` still works; `runtime` never names it).
//! * [`overrides`]: command-line flags applied to a [`Config`].
//! * [`file`](mod@file): the TOML file, read and lowered into a [`Config`]
//!   ([`Config::from_file`]).
//! * [`schema`]: every section and key with its default and meaning, the
//!   single source of levee.toml(5) and of `levee migrate`'s key names
//!   (it uses [`bounds`]; its test checks it against the serde schema).
//!
//! This root only declares the modules and re-exports what the other
//! crates use.
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
//! [gate]                       # the flood gate below the socket; off by default
//! enabled = true               # or `levee serve --gate`
//! arm-nxdomain-rate = 2000     # NXDOMAIN/s of one zone that arms its filter
//! nx-rate = 1000               # names that do not exist admitted/s per armed zone
//! trusted = ["192.0.2.0/24"]   # always admitted
//! [xdp]                        # the AF_XDP answering path (issue 23); off by default
//! interfaces = ["eth0"]        # answer UDP on these with AF_XDP (also: serve --xdp IFACE)
//! queues = 0                   # receive queues per interface; 0 = all
//! frames = 4096                # UMEM frames per queue (power of two), half RX, half TX
//! frame-size = 4096            # 2048 or 4096
//! zero-copy = true             # true: zero-copy only; false: copy only; absent: try both
//!
//! [dnstap]                     # capture queries and responses (issue 21); off by default
//! enabled = true               # or `levee serve --dnstap PATH`
//! socket-path = "/run/levee/dnstap.sock"   # a Frame Streams collector (fstrm_capture -u)
//! # tcp-address = "127.0.0.1:6000"         # or over TCP (one of the two)
//! log-queries = true           # AUTH_QUERY messages
//! log-responses = true         # AUTH_RESPONSE messages
//! sample-rate = 1              # one query in N (1: all)
//! queue-kib = 1024             # per answering thread; full: captures dropped and counted
//!
//! [tls]                        # DNS over TLS (RFC 7858, issue 21); off by default
//! listen = ["192.0.2.53:853"]  # or `levee serve --listen-tls ADDR:PORT`
//! certificate = "dot.crt"      # PEM chain (--tls-cert); read again at every reload
//! key = "dot.key"              # PEM key (--tls-key), mode 0600 or 0640
//! handshake-timeout = 5        # seconds to finish the handshake
//! handshake-rate = 100         # handshakes/s per /24 or /56; over it, closed at accept
//! handshake-rate-total = 2000  # all prefixes; past it only known prefixes get handshakes
//! listen-quic = ["192.0.2.53:853"]  # DNS over QUIC (RFC 9250, UDP) with the same certificate
//! quic-retry-above = 200       # new DoQ connections/s above which unvalidated addresses get a Retry
//! padding = true               # EDNS padding of DoT/DoQ responses to 468-octet blocks (RFC 8467)
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

pub mod bounds;
pub mod catalog;
pub mod dnssec;
pub mod dnstap;
pub mod error;
pub mod file;
pub mod gate;
pub mod mgmt;
pub mod overrides;
pub mod repl;
pub mod runtime;
pub mod schema;
pub mod tls;
pub mod values;

pub use dnssec::{DenialKind, SignPolicy};
pub use dnstap::{Collector, DnstapConfig};
pub use error::ConfigError;
pub use gate::{Budget, GateConfig};
pub use overrides::Overrides;
pub use runtime::{
    default_version, hostname, Config, CookieConfig, LoadConfig, LogFormat, SemanticChecks, XdpConfig, ZoneConfig,
    DEFAULT_LISTEN, DEFAULT_MANAGEMENT, DEFAULT_TCP_BUFFER_MEMORY, DEFAULT_UDP_PAYLOAD,
};
pub use tls::TlsConfig;
pub use values::{check_interface, normalize_zone_name, parse_listen, parse_prefix, parse_secret};
