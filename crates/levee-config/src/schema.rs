//! The documented schema: every section and key of the file, its default
//! and what it does, in one table ([`SECTIONS`], [`KEYS`]).
//!
//! This is the single source of the manual page levee.toml(5)
//! ([`man_page`], written by `levee gen-docs`) and of the key list of
//! `levee migrate`. It cannot drift from the file's real schema (the
//! serde structs of [`crate::file`], [`crate::mgmt`], [`crate::repl`]):
//! a test asks serde itself, section by section, which keys it accepts
//! (the "expected one of" list of an unknown-key error) and compares
//! that list with this table in both directions. The valid ranges are
//! not repeated here: the page takes them from [`crate::bounds::RANGES`].

/// A section (`[name]` or `[[name]]`) of the file.
#[derive(Debug, Clone, Copy)]
pub struct Section {
    /// Dotted name (`""` for the top level, `"management.token"`).
    pub name: &'static str,
    /// `[[name]]`: a list of tables.
    pub array: bool,
    /// What it is for.
    pub doc: &'static str,
}

/// One key.
#[derive(Debug, Clone, Copy)]
pub struct Key {
    /// The section it belongs to ([`Section::name`]).
    pub section: &'static str,
    /// The key.
    pub name: &'static str,
    /// The default, as text.
    pub default: &'static str,
    /// What it does.
    pub doc: &'static str,
}

/// Every section, in the order of the manual page.
pub const SECTIONS: &[Section] = &[
    Section { name: "", array: false, doc: "The top level." },
    Section { name: "server", array: false, doc: "Addresses, threads, identity, the user to run as, storage." },
    Section { name: "tcp", array: false, doc: "TCP connections: timeouts, caps and buffer memory." },
    Section {
        name: "tls",
        array: false,
        doc: "DNS over TLS (RFC 7858): listeners, certificate and key, and the limits of their connections; off by default.",
    },
    Section { name: "rate-limit", array: false, doc: "Response rate limiting per source prefix (a fixed-size table)." },
    Section { name: "overload", array: false, doc: "Admission when a UDP worker falls behind." },
    Section { name: "cookies", array: false, doc: "DNS cookies (RFC 7873, server cookies as RFC 9018)." },
    Section {
        name: "gate",
        array: false,
        doc: "The flood gate below the socket (BPF on the UDP sockets, or XDP); off by default.",
    },
    Section {
        name: "xdp",
        array: false,
        doc: "The AF_XDP answering path (UDP below the socket layer on named interfaces); off by default.",
    },
    Section {
        name: "dnstap",
        array: false,
        doc: "Capturing queries and responses to a dnstap collector (Frame Streams); off by default.",
    },
    Section { name: "log", array: false, doc: "Logging to standard error." },
    Section {
        name: "management",
        array: false,
        doc: "The HTTP listener for /metrics, the JSON API and the dashboard; off by default.",
    },
    Section { name: "management.token", array: true, doc: "A bearer token of the management listener." },
    Section { name: "load", array: false, doc: "Budgets and timeout of reading zone files." },
    Section { name: "transfer-in", array: false, doc: "Limits on one transfer in (secondary zones)." },
    Section { name: "notify", array: false, doc: "Outgoing NOTIFY (primary zones)." },
    Section { name: "zone", array: true, doc: "A zone: primary (file) or secondary (primaries)." },
    Section { name: "key", array: true, doc: "A TSIG key (RFC 8945), named by ACLs, primaries and notify." },
    Section {
        name: "dnssec-policy",
        array: true,
        doc: "How signed zones (dnssec-signing = true) are signed; a built-in policy \"default\" always exists.",
    },
    Section {
        name: "catalog-template",
        array: true,
        doc: "Settings of the members of consumed catalog zones (catalog-role = \"interpret\"), chosen by their group.",
    },
];

macro_rules! key {
    ($s:literal, $n:literal, $d:literal, $doc:literal) => {
        Key { section: $s, name: $n, default: $d, doc: $doc }
    };
}

/// Every key, grouped by section in the order of [`SECTIONS`].
pub const KEYS: &[Key] = &[
    key!("", "version", "1", "Schema version; only 1 exists."),
    key!("server", "listen", "[\"127.0.0.1:5353\"]", "Addresses for UDP and TCP, \"ADDR:PORT\" (--listen, repeatable)."),
    key!("server", "threads", "0", "UDP workers per address; 0 = one per CPU core (--threads)."),
    key!("server", "zones-dir", "none", "Serve every <origin>zone file in this directory (--zones-dir)."),
    key!("server", "udp-payload", "1232", "EDNS payload size sent and advertised."),
    key!("server", "identity", "the host name", "Answer of id.server and hostname.bind (CHAOS); \"\" = off."),
    key!("server", "version", "\"levee <version>\"", "Answer of version.bind and version.server (CHAOS); \"\" = off."),
    key!("server", "nsid", "off", "NSID (RFC 5001): text, \"0x...\" hex, or \"hostname\"."),
    key!("server", "user", "none (keep the starting user)", "Become this user after binding (when started as root)."),
    key!("server", "group", "the user's primary group", "Become this group after binding."),
    key!(
        "server",
        "storage-dir",
        "none",
        "Journals, received secondary zones, the control socket and the lock file; needed by secondary zones."
    ),
    key!("server", "control-socket", "<storage-dir>/levee.sock", "The levee ctl socket (mode 0600)."),
    key!("server", "control-socket-group", "none", "This group may use the control socket too (mode 0660)."),
    key!("server", "semantic-checks", "\"warn\"", "The default of [[zone]] semantic-checks."),
    key!(
        "server",
        "max-runtime-zones",
        "100000",
        "Zones added while running (catalog members, the API) at most; past it a new one is refused and logged."
    ),
    key!(
        "server",
        "max-catalog-members",
        "100000",
        "Members one consumed catalog may list; a version with more is refused (the members in force stay)."
    ),
    key!("tcp", "idle-timeout", "10", "Seconds between queries on a connection."),
    key!("tcp", "message-timeout", "2", "Seconds to receive one message once it started."),
    key!("tcp", "max-connections", "4096", "Connections; when full, the stalest one is closed."),
    key!("tcp", "max-connections-per-source", "64", "Connections per client address."),
    key!("tcp", "buffer-memory-mib", "32", "MiB of TCP read and write buffers, all connections together."),
    key!("rate-limit", "enabled", "true", "Response rate limiting on or off."),
    key!("rate-limit", "responses-per-second", "200", "Answers per prefix, name and type; 0 = unlimited."),
    key!("rate-limit", "nodata-per-second", "200", "NODATA answers per prefix and zone."),
    key!("rate-limit", "nxdomain-per-second", "200", "NXDOMAIN answers per prefix and zone."),
    key!("rate-limit", "referrals-per-second", "200", "Referrals per prefix and delegation."),
    key!("rate-limit", "errors-per-second", "200", "Errors per prefix."),
    key!("rate-limit", "burst", "2", "Seconds above the rate before limiting."),
    key!("rate-limit", "slip", "2", "Every n-th limited response is sent as TC=1 or BADCOOKIE; 0 = never."),
    key!("rate-limit", "ipv4-prefix", "24", "Source prefix length for IPv4."),
    key!("rate-limit", "ipv6-prefix", "56", "Source prefix length for IPv6."),
    key!("rate-limit", "log-only", "false", "Count what would be limited, send everything."),
    key!("rate-limit", "exempt", "[]", "Prefixes never limited."),
    key!("rate-limit", "table-size", "262144", "Buckets of the fixed table, 8 octets each."),
    key!("xdp", "interfaces", "[]", "Interfaces answered on with AF_XDP (also `levee serve --xdp IFACE`); needs CAP_NET_ADMIN and CAP_BPF at start."),
    key!("xdp", "queues", "0", "Receive queues served per interface (0: all of them)."),
    key!("xdp", "frames", "4096", "UMEM frames per AF_XDP socket (a power of two), half for receiving, half for sending."),
    key!("xdp", "frame-size", "4096", "Octets per UMEM frame (2048 or 4096)."),
    key!("xdp", "zero-copy", "(try both)", "true: zero-copy only; false: copy mode only; absent: zero-copy, else copy."),
    key!("xdp", "coalesce-us", "100", "Microseconds an AF_XDP worker naps after a batch when nothing waits, so that under load it takes bigger batches (0: never; a frame waits at most this long)."),
    key!("gate", "enabled", "false", "Run the flood gate (needs CAP_BPF and CAP_NET_ADMIN at start)."),
    key!("gate", "arm-nxdomain-rate", "2000", "NXDOMAIN responses a second of one zone that arm it (its filter of existing names is published)."),
    key!("gate", "hold", "60", "Seconds of calm before an armed zone is disarmed."),
    key!("gate", "nx-rate", "1000", "Per armed zone: names that do not exist admitted a second."),
    key!("gate", "nx-burst", "2000", "Per armed zone: names that do not exist admitted at once."),
    key!("gate", "prefix-rate", "2000", "Per source prefix (IPv4 /24, IPv6 /56) not known: packets admitted a second."),
    key!("tls", "listen", "[]", "ADDR:PORT of DoT listeners (853 is the standard port; also --listen-tls); none: off."),
    key!("tls", "certificate", "none", "PEM certificate chain, end entity first (also --tls-cert); read again at every reload (SIGHUP, levee ctl reload)."),
    key!("tls", "key", "none", "PEM private key of the certificate (also --tls-key); not accessible by other users (mode 0600 or 0640)."),
    key!("tls", "handshake-timeout", "5", "Seconds to finish the TLS handshake once connected."),
    key!("tls", "idle-timeout", "10", "Seconds between queries on a DoT connection."),
    key!("tls", "message-timeout", "2", "Seconds to receive one message once it started."),
    key!("tls", "max-connections", "4096", "DoT connections; when full, the stalest one is closed."),
    key!("tls", "max-connections-per-source", "64", "DoT connections per client address."),
    key!("tls", "buffer-memory-mib", "96", "MiB of DoT buffers and TLS state (16 KiB estimated per connection), all connections together."),
    key!("tls", "handshake-rate", "100", "TLS handshakes a second per source prefix (/24, /56); over it new connections are closed at once."),
    key!("tls", "handshake-burst", "200", "TLS handshakes at once per source prefix."),
    key!("tls", "handshake-rate-total", "2000", "TLS handshakes a second from all prefixes together; past it only known prefixes (a query answered on one of their connections in the last hour) get handshakes."),
    key!("tls", "handshake-burst-total", "4000", "TLS handshakes at once from all prefixes together."),
    key!("tls", "session-cache", "4096", "TLS sessions kept for resumption by session ID (tickets need none); 0: tickets only."),
    key!("tls", "client-ca-file", "none", "PEM CA certificates client certificates must chain to; a client may then present one (mutual TLS) and allow-transfer rules may require it with 'tls-client NAME'."),
    key!("tls", "listen-quic", "[]", "ADDR:PORT (UDP) of DNS-over-QUIC listeners (RFC 9250; 853 is the standard port; also --listen-quic); the same certificate, handshake budgets and timeouts; none: off."),
    key!("tls", "quic-max-connections", "4096", "DoQ connections at once; over it new ones are refused at their Initial."),
    key!("tls", "quic-max-connections-per-prefix", "256", "DoQ connections at once per source prefix (/24, /56)."),
    key!("tls", "quic-max-streams", "100", "DoQ streams (queries) at once per connection."),
    key!("tls", "quic-idle-timeout", "10", "Seconds a DoQ connection may stay idle."),
    key!("tls", "quic-stream-buffer", "16384", "Octets a client may have in flight per DoQ stream (four streams' worth per connection)."),
    key!("tls", "quic-retry-above", "200", "New DoQ connections a second above which an address not yet validated gets a Retry first (0: always)."),
    key!("tls", "padding", "true", "EDNS Padding (RFC 7830) of DoT and DoQ responses to a multiple of 468 octets (RFC 8467), as Knot DNS pads; never over UDP or TCP."),
    key!("gate", "prefix-burst", "4000", "Per source prefix not known: packets admitted at once."),
    key!("gate", "unknown-rate", "50000", "All sources not known together: packets admitted a second."),
    key!("gate", "unknown-burst", "100000", "All sources not known together: packets admitted at once."),
    key!("gate", "deep-rate", "1000", "Names of more labels than the gate hashes (32): packets admitted a second."),
    key!("gate", "deep-burst", "2000", "Names of more labels than the gate hashes: packets admitted at once."),
    key!("gate", "trusted", "[]", "Prefixes always admitted as known sources (at most /20 or /52; 16,384 addresses in all)."),
    key!("gate", "filter-bits-per-name", "10", "Bits of an armed zone's filter per name (10: about 1 % of random names pass)."),
    key!("dnstap", "enabled", "false", "Capture queries and responses (also `levee serve --dnstap PATH`)."),
    key!("dnstap", "socket-path", "none", "Unix socket of a Frame Streams collector (e.g. `fstrm_capture -u`), connected to as the service user."),
    key!("dnstap", "tcp-address", "none", "ADDR:PORT of a Frame Streams collector over TCP (instead of socket-path)."),
    key!("dnstap", "identity", "the host name", "Dnstap identity field; \"\" = left out."),
    key!("dnstap", "version", "\"levee <version>\"", "Dnstap version field; \"\" = left out."),
    key!("dnstap", "log-queries", "true", "Capture the queries (AUTH_QUERY)."),
    key!("dnstap", "log-responses", "true", "Capture the responses (AUTH_RESPONSE)."),
    key!("dnstap", "sample-rate", "1", "Capture one query in this many (with its response); 1 = all."),
    key!("dnstap", "queue-kib", "1024", "KiB of captures waiting per answering thread; when full (slow collector) captures are dropped and counted, queries never wait."),
    key!("overload", "enabled", "true", "When a worker falls behind, shed NXDOMAIN and errors to unknown sources."),
    key!("cookies", "enabled", "true", "Answer client cookies with server cookies."),
    key!("cookies", "secret", "random per start", "32 hex digits; share it across an anycast fleet."),
    key!("cookies", "previous-secret", "none", "Still accepted during a rollover."),
    key!("log", "level", "\"info\"", "error, warn, info, debug or trace (LEVEE_LOG overrides)."),
    key!("log", "format", "\"text\"", "\"text\" or \"json\" (one JSON object per line)."),
    key!("management", "listen", "off", "ADDR:PORT of the listener; setting it turns it on (--management)."),
    key!("management", "enabled", "on when listen is set", "true alone listens on 127.0.0.1:8053; false turns it off."),
    key!(
        "management",
        "allow-remote",
        "false",
        "A non-loopback listen address is refused unless true and a token is configured."
    ),
    key!("management", "hosts", "[]", "Host names accepted besides the listener's address."),
    key!("management", "anonymous-metrics", "true", "GET /metrics without a token from a loopback client."),
    key!("management", "tls-certificate", "none", "PEM certificate chain: serve HTTPS."),
    key!("management", "tls-key", "none", "PEM private key (mode 0600) for tls-certificate."),
    key!("management.token", "scope", "-", "\"read\" (GET) or \"write\" (also POST /api/reload and the REST API's writes)."),
    key!("management.token", "secret", "-", "The token inline (the file must then be private)."),
    key!("management.token", "file", "-", "A file whose first line is the token (mode 0600)."),
    key!("management.token", "zones", "every zone", "Only these zones, through /api/v1/ (a zone-limited token reaches no other endpoint)."),
    key!("load", "max-zone-bytes", "2147483648", "Octets of zone text read for one zone, every $INCLUDE counted."),
    key!("load", "max-zone-records", "50000000", "Records of one zone, $GENERATE counted."),
    key!("load", "read-timeout", "30", "Seconds one stat, open or read of a zone file may hang."),
    key!("load", "parse-threads", "0", "Threads that parse one zone file side by side; 0 = one per CPU core (at most 8), 1 = the loading thread alone."),
    key!("transfer-in", "timeout", "3600", "Seconds for a whole transfer in."),
    key!("transfer-in", "idle-timeout", "30", "Seconds to wait for each message of a transfer in, and to connect."),
    key!("transfer-in", "max-records", "25000000", "Records in one transfer in."),
    key!("transfer-in", "max-size", "3221225472", "Octets of record data in one transfer in."),
    key!("transfer-in", "concurrent", "16", "Transfers in at once, all secondary zones together; the others wait their turn."),
    key!("transfer-in", "tls-cert-file", "none", "PEM client certificate chain presented to primaries over TLS (mutual TLS, RFC 9103); read at start."),
    key!("transfer-in", "tls-key-file", "none", "PEM private key of tls-cert-file (mode 0600 or 0640)."),
    key!("transfer-in", "source", "none", "Local address (or one IPv4 and one IPv6 address, a list) that SOA queries and transfers to primaries leave from, like BIND's transfer-source and Knot's via; must be an address of this host (checked at start). Default: the kernel's choice."),
    key!("notify", "source", "none", "Local address (or one IPv4 and one IPv6 address, a list) that NOTIFY leaves from, like BIND's notify-source; must be an address of this host (checked at start). Default: the kernel's choice."),
    key!("transfer-in", "tls-ca-file", "none", "PEM CA certificates of primaries reached over TLS (a primary entry with 'tls'); read at start."),
    key!("zone", "name", "-", "The zone's origin."),
    key!("zone", "file", "<zones-dir>/<name>zone", "Zone file, relative to the configuration file."),
    key!(
        "zone",
        "allow-transfer",
        "[]",
        "Who may AXFR/IXFR: \"PREFIX\", \"PREFIX key NAME\" or \"key NAME\", each optionally followed by \"tls-client NAME\" (or that alone): over TLS (DoT, DoQ) with a client certificate valid for NAME (needs tls.client-ca-file)."
    ),
    key!(
        "zone",
        "allow-update",
        "[]",
        "Who may send dynamic updates (RFC 2136), same forms as allow-transfer, then optionally \"name NAME...\" (at or below) and \"type TYPE...\"; needs server.storage-dir."
    ),
    key!("zone", "allow-notify", "[]", "Who may NOTIFY this secondary zone (same forms as allow-transfer)."),
    key!("zone", "api", "\"read\"", "\"write\": the REST API may change the zone (primary zones; needs server.storage-dir)."),
    key!("zone", "notify", "[]", "Secondaries told of each new serial: \"ADDR:PORT [key NAME]\"."),
    key!("zone", "primaries", "[]", "Makes the zone a secondary: \"ADDR:PORT [key NAME] [tls [CERT-NAME]]\" (tls: over TLS, XoT)."),
    key!("zone", "transfer-timeout", "transfer-in.timeout", "transfer-in.timeout for this zone."),
    key!("zone", "transfer-idle-timeout", "transfer-in.idle-timeout", "transfer-in.idle-timeout for this zone."),
    key!("zone", "transfer-max-records", "transfer-in.max-records", "transfer-in.max-records for this zone."),
    key!("zone", "transfer-max-size", "transfer-in.max-size", "transfer-in.max-size for this zone."),
    key!("zone", "transfer-source", "transfer-in.source", "transfer-in.source for this zone."),
    key!("zone", "notify-source", "notify.source", "notify.source for this zone."),
    key!(
        "zone",
        "semantic-checks",
        "server.semantic-checks",
        "\"warn\" (load a zone without apex NS or with an in-zone name server lacking an address) or \"strict\" (refuse it)."
    ),
    key!(
        "zone",
        "serial-must-increase",
        "false",
        "Refuse a reload whose data changed while the SOA serial did not increase."
    ),
    key!(
        "zone",
        "dnssec-signing",
        "false",
        "Sign the zone online (DNSSEC) at every load and change: keys in <storage-dir>/keys/<zone>/, made at the first start; a secondary zone is pulled unsigned and served signed."
    ),
    key!("zone", "dnssec-policy", "\"default\"", "The [[dnssec-policy]] the zone is signed with."),
    key!(
        "zone",
        "catalog-role",
        "none",
        "\"interpret\": a consumed catalog (RFC 9432; a secondary zone whose members become secondary zones); \"generate\": a catalog levee writes from the zones naming it."
    ),
    key!(
        "zone",
        "catalog-template",
        "[\"default\"]",
        "Of a consumed catalog: the [[catalog-template]]s of its members, by group; no group or an unlisted one takes the first."
    ),
    key!("zone", "catalog-zone", "none", "The produced catalog (catalog-role = \"generate\") that lists this zone."),
    key!("zone", "catalog-group", "none", "This zone's group in that catalog (a consumer maps it to its settings)."),
    key!("key", "name", "-", "The key's name."),
    key!("key", "algorithm", "-", "hmac-sha256 (recommended), hmac-sha384, hmac-sha512, hmac-sha224, hmac-sha1, hmac-md5."),
    key!("key", "secret", "-", "The secret, base64."),
    key!("dnssec-policy", "name", "-", "The policy's name (\"default\" is built in and cannot be redefined)."),
    key!("dnssec-policy", "algorithm", "\"ecdsap256sha256\"", "Algorithm of new keys: ecdsap256sha256 or ed25519."),
    key!("dnssec-policy", "split-keys", "false", "A KSK and a ZSK instead of one combined signing key (CSK)."),
    key!(
        "dnssec-policy",
        "denial",
        "\"nsec\"",
        "\"nsec\", \"nsec3\" (no extra iterations, no salt: RFC 9276) or \"compact\" (RFC 9824, signed at query time)."
    ),
    key!(
        "dnssec-policy",
        "zsk-lifetime",
        "2592000",
        "With split-keys: seconds a ZSK signs before a rollover by pre-publication replaces it (0: never)."
    ),
    key!(
        "dnssec-policy",
        "propagation-delay",
        "3600",
        "Seconds a change takes to reach every secondary (the rollover's waits add it)."
    ),
    key!(
        "dnssec-policy",
        "ksk-lifetime",
        "0",
        "Seconds a KSK (a CSK without split-keys) signs before a rollover with the parent's DS replaces it (0: never)."
    ),
    key!("dnssec-policy", "ds-ttl", "86400", "The TTL of the zone's DS at the parent (the old key stays that long after the new DS is seen)."),
    key!(
        "dnssec-policy",
        "parent-ds-check",
        "[]",
        "ADDR:PORT [key NAME] of the parent's servers, asked for the new DS during a KSK rollover ([]: confirm with levee ctl ds-seen)."
    ),
    key!("dnssec-policy", "ds-check-interval", "600", "Seconds between two rounds of the parent check."),
    key!(
        "dnssec-policy",
        "online-signatures-per-second",
        "20000",
        "Compact denial: signatures made at query time per second and zone; past it such answers are dropped (0: no limit)."
    ),
    key!("dnssec-policy", "nsec3-opt-out", "false", "NSEC3 opt-out: insecure delegations left out of the chain."),
    key!("dnssec-policy", "signature-validity", "1209600", "Seconds a signature is valid (14 days)."),
    key!(
        "dnssec-policy",
        "signature-refresh",
        "604800",
        "A signature with less than this many seconds left is made again (7 days)."
    ),
    key!("catalog-template", "name", "-", "The template's name, as catalog-template and members' groups give it."),
    key!("catalog-template", "primaries", "the catalog's primaries", "Where members transfer from (same form as [[zone]] primaries)."),
    key!("catalog-template", "allow-transfer", "[]", "Who may transfer the members (same forms as [[zone]] allow-transfer)."),
    key!("catalog-template", "allow-notify", "the catalog's allow-notify", "Who may NOTIFY the members."),
    key!("catalog-template", "semantic-checks", "server.semantic-checks", "semantic-checks of the members."),
];

/// The keys of `section`.
pub fn keys_of(section: &str) -> impl Iterator<Item = &'static Key> + '_ {
    KEYS.iter().filter(move |k| k.section == section)
}

/// The full dotted name of a key (`server.listen`, `zone.name`).
pub fn full_name(k: &Key) -> String {
    if k.section.is_empty() {
        k.name.to_string()
    } else {
        format!("{}.{}", k.section, k.name)
    }
}

/// Escapes text for roff: backslashes, and a leading `.` or `'`.
fn roff(text: &str) -> String {
    let t = text.replace('\\', "\\e").replace('-', "\\-");
    if t.starts_with('.') || t.starts_with('\'') {
        format!("\\&{t}")
    } else {
        t
    }
}

/// levee.toml(5), in roff, from [`SECTIONS`], [`KEYS`] and the ranges.
pub fn man_page(version: &str) -> String {
    let mut m = String::new();
    m.push_str(&format!(".TH LEVEE.TOML 5 \"\" \"levee {version}\" \"File Formats\"\n"));
    m.push_str(".SH NAME\nlevee.toml \\- configuration file of the levee authoritative DNS server\n");
    m.push_str(".SH SYNOPSIS\n/etc/levee/levee.toml\n");
    m.push_str(".SH DESCRIPTION\n");
    m.push_str(
        "The file is TOML. It is read at start by \\fBlevee serve \\-\\-config\\fR; an unknown key or a \
         bad value stops the server with an error naming the key. Relative paths are relative to the \
         file's directory. Command\\-line flags override the file. \\fBSIGHUP\\fR (\\fBsystemctl reload \
         levee\\fR) reloads the zones, not this file.\n",
    );
    for s in SECTIONS {
        let title = match (s.name, s.array) {
            ("", _) => "TOP LEVEL".to_string(),
            (n, true) => format!("[[{n}]]"),
            (n, false) => format!("[{n}]"),
        };
        m.push_str(&format!(".SH \"{}\"\n{}\n", roff(&title), roff(s.doc)));
        for k in keys_of(s.name) {
            let full = full_name(k);
            m.push_str(&format!(".TP\n.B {}\n{}", roff(k.name), roff(k.doc)));
            m.push_str(&format!(" Default: {}.", roff(k.default)));
            if let Some(&(_, lo, hi)) = crate::bounds::RANGES.iter().find(|r| r.0 == full) {
                m.push_str(&format!(" Range: {lo}..{hi}."));
            }
            m.push('\n');
        }
    }
    m.push_str(".SH FILES\n.TP\n/etc/levee/levee.toml\nThe configuration of the packaged service.\n");
    m.push_str(".TP\n/var/lib/levee\nThe storage directory of the packaged service.\n");
    m.push_str(".SH SEE ALSO\n\\fBlevee\\fR(8), /usr/share/doc/levee/operations.md\n");
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// The keys serde accepts in `section`: the list its unknown-key
    /// error gives.
    fn serde_keys(section: &Section) -> BTreeSet<String> {
        let probe = "zz-not-a-key = 1\n";
        let text = match (section.name, section.array) {
            ("", _) => probe.to_string(),
            ("zone", _) => format!("[[zone]]\nname = \"a.\"\n{probe}"),
            ("key", _) => format!("[[key]]\nname = \"k\"\nalgorithm = \"hmac-sha256\"\nsecret = \"AA==\"\n{probe}"),
            ("dnssec-policy", _) => format!("[[dnssec-policy]]\nname = \"p\"\n{probe}"),
            ("catalog-template", _) => format!("[[catalog-template]]\nname = \"t\"\n{probe}"),
            ("management.token", _) => format!("[[management.token]]\nscope = \"read\"\n{probe}"),
            (n, _) => format!("[{n}]\n{probe}"),
        };
        let e = toml::from_str::<crate::file::Spec>(&text).expect_err("an unknown key must be refused").to_string();
        let after = e.split("expected").nth(1).unwrap_or_else(|| panic!("no expected list in {e}"));
        after.split('`').skip(1).step_by(2).map(str::to_string).collect()
    }

    #[test]
    fn the_table_lists_exactly_the_keys_serde_accepts() {
        for s in SECTIONS {
            let mut documented: BTreeSet<String> = keys_of(s.name).map(|k| k.name.to_string()).collect();
            // Sub-tables are keys of their parent.
            for child in SECTIONS.iter().filter(|c| !c.name.is_empty()) {
                let parent = child.name.rsplit_once('.').map_or("", |p| p.0);
                if parent == s.name {
                    documented.insert(child.name.rsplit('.').next().unwrap().to_string());
                }
            }
            assert_eq!(serde_keys(s), documented, "section [{}]: schema table vs serde", s.name);
        }
    }

    #[test]
    fn every_range_belongs_to_a_documented_key() {
        let names: BTreeSet<String> = KEYS.iter().map(full_name).collect();
        for (k, _, _) in crate::bounds::RANGES {
            assert!(names.contains(*k), "{k} has a range but no documentation");
        }
    }

    #[test]
    fn the_page_has_every_key_with_its_range() {
        let page = man_page("0");
        for s in SECTIONS.iter().filter(|s| !s.name.is_empty()) {
            assert!(page.contains(&roff(s.name)), "{}", s.name);
        }
        for k in KEYS {
            assert!(page.contains(&format!(".B {}\n", roff(k.name))), "{}", k.name);
        }
        assert!(page.contains("Range: 512..4096."));
    }
}
