//! The valid range of every numeric key (issue 16: "every numeric config
//! key with a documented valid range, errors naming the key").
//!
//! The file's numeric fields are read as TOML integers (`i64`) and checked
//! here before they are used, so a value such as `max-connections =
//! 100000000000` is refused with the key named instead of reaching an
//! allocation. docs/operations.md lists the same ranges (a test compares).

/// `(key, smallest, largest)`, inclusive.
pub const RANGES: &[(&str, i64, i64)] = &[
    ("version", 1, 1),
    ("server.threads", 0, 1024),
    ("server.udp-payload", 512, 4096),
    ("server.max-runtime-zones", 0, 10_000_000),
    ("server.max-catalog-members", 1, 10_000_000),
    ("tcp.idle-timeout", 1, 3600),
    ("tcp.message-timeout", 1, 120),
    ("tcp.max-connections", 1, 1_048_576),
    ("tcp.max-connections-per-source", 1, 65_535),
    ("tcp.buffer-memory-mib", 1, 65_536),
    ("tls.handshake-timeout", 1, 120),
    ("tls.idle-timeout", 1, 3600),
    ("tls.message-timeout", 1, 120),
    ("tls.max-connections", 1, 1_048_576),
    ("tls.max-connections-per-source", 1, 65_535),
    ("tls.buffer-memory-mib", 1, 65_536),
    ("tls.handshake-rate", 1, 1_000_000),
    ("tls.handshake-burst", 1, 1_000_000),
    ("tls.handshake-rate-total", 1, 10_000_000),
    ("tls.handshake-burst-total", 1, 10_000_000),
    ("tls.session-cache", 0, 1_048_576),
    ("tls.quic-max-connections", 1, 1_048_576),
    ("tls.quic-max-connections-per-prefix", 1, 1_048_576),
    ("tls.quic-max-streams", 1, 1_000),
    ("tls.quic-idle-timeout", 1, 3600),
    ("tls.quic-stream-buffer", 1_024, 65_537),
    ("tls.quic-retry-above", 0, 10_000_000),
    ("rate-limit.responses-per-second", 0, 1_000_000),
    ("rate-limit.nodata-per-second", 0, 1_000_000),
    ("rate-limit.nxdomain-per-second", 0, 1_000_000),
    ("rate-limit.referrals-per-second", 0, 1_000_000),
    ("rate-limit.errors-per-second", 0, 1_000_000),
    ("rate-limit.burst", 1, 60),
    ("rate-limit.slip", 0, 10),
    ("rate-limit.ipv4-prefix", 0, 32),
    ("rate-limit.ipv6-prefix", 0, 128),
    ("rate-limit.table-size", 1024, 67_108_864),
    ("load.max-zone-bytes", 1024, 68_719_476_736),
    ("load.max-zone-records", 1, 500_000_000),
    ("load.read-timeout", 1, 3600),
    ("load.parse-threads", 0, 64),
    ("transfer-in.timeout", 1, 86_400),
    ("transfer-in.idle-timeout", 1, 3600),
    ("transfer-in.max-records", 2, 1_000_000_000),
    ("transfer-in.max-size", 1024, 68_719_476_736),
    ("transfer-in.concurrent", 1, 1024),
    ("gate.arm-nxdomain-rate", 1, 100_000_000),
    ("gate.hold", 1, 86_400),
    ("gate.nx-rate", 0, 100_000_000),
    ("gate.nx-burst", 1, 100_000_000),
    ("gate.prefix-rate", 0, 100_000_000),
    ("gate.prefix-burst", 1, 100_000_000),
    ("gate.unknown-rate", 0, 100_000_000),
    ("gate.unknown-burst", 1, 100_000_000),
    ("gate.deep-rate", 0, 100_000_000),
    ("gate.deep-burst", 1, 100_000_000),
    ("gate.filter-bits-per-name", 4, 32),
    ("xdp.queues", 0, 64),
    ("xdp.frames", 64, 65_536),
    ("xdp.frame-size", 2048, 4096),
    ("xdp.coalesce-us", 0, 1_000),
    ("dnstap.sample-rate", 1, 1_000_000),
    ("dnstap.queue-kib", 16, 65_536),
    ("dnssec-policy.signature-validity", 3_600, 365 * 86_400),
    ("dnssec-policy.signature-refresh", 60, 364 * 86_400),
    ("dnssec-policy.online-signatures-per-second", 0, 10_000_000),
    ("dnssec-policy.zsk-lifetime", 0, 10 * 365 * 86_400),
    ("dnssec-policy.propagation-delay", 0, 7 * 86_400),
    ("dnssec-policy.ksk-lifetime", 0, 20 * 365 * 86_400),
    ("dnssec-policy.ds-ttl", 0, 7 * 86_400),
    ("dnssec-policy.ds-check-interval", 1, 86_400),
];

/// The range of `key` (which must be listed in [`RANGES`]).
pub fn range(key: &str) -> (i64, i64) {
    RANGES.iter().find(|r| r.0 == key).map(|r| (r.1, r.2)).unwrap_or_else(|| panic!("no range for {key}"))
}

/// Checks `v` against the range of `key`; the error message names the
/// range (the caller adds the key).
pub fn check(key: &str, v: i64) -> Result<u64, String> {
    let (lo, hi) = range(key);
    if v < lo || v > hi {
        return Err(format!("{v} is outside {lo}..={hi}"));
    }
    Ok(v as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// docs/operations.md gives every range as written here, in the row
    /// of its key.
    #[test]
    fn the_documentation_lists_every_range() {
        let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/operations.md")).unwrap();
        for &(key, lo, hi) in RANGES {
            let row = doc
                .lines()
                .find(|l| l.starts_with(&format!("| `{key}` ")))
                .unwrap_or_else(|| panic!("docs/operations.md has no row for {key}"));
            assert!(row.contains(&format!("{lo}..={hi}")), "docs/operations.md: {key} row lacks {lo}..={hi}: {row}");
        }
    }
}
