//! Open files, checked at start (issue 16).
//!
//! Each TCP connection is a file descriptor, so `tcp.max-connections`
//! means nothing if the process may not open that many: the table is not
//! full, nothing is evicted, and `accept` fails with "too many open
//! files" while idle connections hold every descriptor. So at start levee
//! counts what the configuration needs — the connection cap, every
//! socket (one UDP socket per worker and address, a TCP listener per
//! address, the management listener and its connections, the DNS-over-TLS
//! listeners and their connection cap `tls.max-connections`) and a reserve
//! for zone files, journals, transfers, the control socket and the
//! runtime — and raises its soft `RLIMIT_NOFILE` to that, up to the hard
//! limit (as BIND raises its limit at start). If the hard limit is lower:
//! a `tcp.max-connections` set in the file stops the start with the
//! numbers named; the default cap (4096) is lowered to what fits, with a
//! warning. (The TCP server also evicts the stalest connection when
//! `accept` runs out of descriptors anyway: `levee_io::tcp`.)

use levee_config::Config;

/// Descriptors kept for everything but sockets: zone files, journals,
/// transfers in and out, control connections, epoll, stdio.
pub const RESERVE: u64 = 256;

/// What the configuration needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Need {
    /// `tcp.max-connections`.
    pub connections: u64,
    /// Everything else: sockets and the reserve.
    pub fixed: u64,
}

impl Need {
    /// Descriptors in all.
    pub fn total(&self) -> u64 {
        self.connections + self.fixed
    }
}

/// Counts the descriptors `cfg` needs with `threads` UDP workers per address.
pub fn need(cfg: &Config, threads: usize) -> Need {
    let listen = cfg.listen.len() as u64;
    // The management listener, and two descriptors per connection (the
    // stream and the duplicate its table peeks at).
    let mgmt = cfg.management.map_or(0, |_| 1 + 2 * crate::ops::http::MAX_CONNECTIONS as u64);
    // DNS over TLS: its listeners and its own connection table.
    let tls = match cfg.tls.listen.len() as u64 {
        0 => 0,
        n => n + cfg.tls.max_connections as u64,
    };
    Need { connections: cfg.tcp_max_connections as u64, fixed: listen * (threads as u64 + 1) + mgmt + tls + RESERVE }
}

/// What to do about the limit.
#[derive(Debug, PartialEq, Eq)]
pub enum Plan {
    /// The soft limit suffices.
    Keep,
    /// Raise the soft limit to this.
    Raise(u64),
    /// Raise the soft limit to the hard limit and lower the (default)
    /// connection cap to this.
    Lower {
        /// The soft limit to set (the hard limit).
        soft: u64,
        /// The connection cap that fits.
        max_connections: u64,
    },
    /// Refuse to start, with this message.
    Refuse(String),
}

/// Decides, from what is needed, the limit (soft, hard) and whether the
/// cap was set in the file.
pub fn plan(n: Need, soft: u64, hard: u64, explicit: bool) -> Plan {
    let total = n.total();
    if soft >= total {
        return Plan::Keep;
    }
    if hard >= total {
        return Plan::Raise(total);
    }
    let fits = hard.saturating_sub(n.fixed);
    let numbers = format!(
        "{total} open files are needed ({} TCP connections + {} sockets and files) but the hard limit (RLIMIT_NOFILE) is {hard}",
        n.connections, n.fixed
    );
    if explicit {
        return Plan::Refuse(format!(
            "tcp.max-connections = {}: {numbers}; raise the limit (LimitNOFILE= in the unit, ulimit -Hn) or set tcp.max-connections to at most {fits}",
            n.connections
        ));
    }
    if fits < 16 {
        return Plan::Refuse(format!("{numbers}; raise the limit (LimitNOFILE= in the unit, ulimit -Hn)"));
    }
    Plan::Lower { soft: hard, max_connections: fits }
}

/// Applies [`plan`] to the process and to `cfg`; an error stops the start.
pub fn fit(cfg: &mut Config, threads: usize) -> Result<(), String> {
    let lim = levee_io::local::nofile().map_err(|e| format!("reading RLIMIT_NOFILE: {e}"))?;
    let n = need(cfg, threads);
    match plan(n, lim.soft, lim.hard, cfg.tcp_max_connections_set) {
        Plan::Keep => Ok(()),
        Plan::Raise(to) => {
            levee_io::local::set_nofile(to).map_err(|e| format!("raising RLIMIT_NOFILE to {to}: {e}"))?;
            tracing::info!(from = lim.soft, to, "raised the open-file limit to what the configuration needs");
            Ok(())
        }
        Plan::Lower { soft, max_connections } => {
            levee_io::local::set_nofile(soft).map_err(|e| format!("raising RLIMIT_NOFILE to {soft}: {e}"))?;
            tracing::warn!(
                hard_limit = lim.hard,
                needed = n.total(),
                "the open-file limit is {}: tcp.max-connections lowered from {} to {max_connections} \
                 (raise LimitNOFILE= or ulimit -Hn to at least {}, or set tcp.max-connections)",
                lim.hard,
                cfg.tcp_max_connections,
                n.total()
            );
            cfg.tcp_max_connections = max_connections as usize;
            Ok(())
        }
        Plan::Refuse(m) => Err(m),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans() {
        let mut cfg = Config::default();
        let n = need(&cfg, 2);
        // One address, two workers: 2 UDP + 1 TCP socket, the reserve.
        assert_eq!(n, Need { connections: 4096, fixed: 3 + RESERVE });
        cfg.management = Some("127.0.0.1:8053".parse().unwrap());
        assert_eq!(need(&cfg, 2).fixed, 3 + 1 + 2 * crate::ops::http::MAX_CONNECTIONS as u64 + RESERVE);
        // DNS over TLS: its listener and its connection table.
        cfg.tls.listen = vec!["127.0.0.1:853".parse().unwrap()];
        cfg.tls.max_connections = 100;
        assert_eq!(need(&cfg, 2).fixed, 3 + 1 + 2 * crate::ops::http::MAX_CONNECTIONS as u64 + 101 + RESERVE);
        let total = n.total();
        assert_eq!(plan(n, total, total, false), Plan::Keep);
        assert_eq!(plan(n, 1024, 1 << 20, false), Plan::Raise(total));
        assert_eq!(plan(n, 1024, 1024, false), Plan::Lower { soft: 1024, max_connections: 1024 - 3 - RESERVE });
        match plan(n, 1024, 1024, true) {
            Plan::Refuse(m) => {
                assert!(m.starts_with("tcp.max-connections = 4096: 4355 open files are needed"), "{m}");
                assert!(m.contains("hard limit (RLIMIT_NOFILE) is 1024") && m.contains("at most 765"), "{m}");
            }
            p => panic!("{p:?}"),
        }
        assert!(matches!(plan(n, 64, 64, false), Plan::Refuse(_)));
    }
}
