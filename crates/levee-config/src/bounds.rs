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
    ("tcp.idle-timeout", 1, 3600),
    ("tcp.message-timeout", 1, 120),
    ("tcp.max-connections", 1, 1_048_576),
    ("tcp.max-connections-per-source", 1, 65_535),
    ("tcp.buffer-memory-mib", 1, 65_536),
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
    ("transfer-in.timeout", 1, 86_400),
    ("transfer-in.idle-timeout", 1, 3600),
    ("transfer-in.max-records", 2, 1_000_000_000),
    ("transfer-in.max-size", 1024, 68_719_476_736),
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
    use crate::file::parse;

    /// A file setting `key` to `v` (the table and the key's last part).
    fn file_with(key: &str, v: &str) -> String {
        match key.split_once('.') {
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
            for b in bad {
                let text = file_with(key, &b.to_string());
                let e = parse(&text, "t.toml").expect_err(&format!("{key} = {b} accepted"));
                assert_eq!(e.key, key, "{key} = {b}: {e}");
                if key != "version" {
                    assert!(e.message.contains(&format!("{lo}..={hi}")), "{key} = {b}: {e}");
                }
            }
            // A number that is not an integer names the key too.
            let e = parse(&file_with(key, "1.5"), "t.toml").expect_err(key);
            assert_eq!(e.key, key, "{e}");
        }
    }

    /// The example: refused at start, naming the key, no abort.
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
