//! Known sources, from the query path to the gate.
//!
//! The answering pipeline keeps a table of sources that proved their
//! address (`levee_answer::policy`: a TCP query, a valid server cookie,
//! several positive answers). When the gate runs (`Policy::with_gate_feed`),
//! each worker also notes in a fixed buffer of its own
//! (`levee_answer::policy::PROVEN_BUF` entries) every source that *becomes*
//! known or whose known entry is refreshed, which happens at most once per
//! 10 s per source: the common path, a source already known and recently
//! refreshed, adds nothing to a query's cost. Once per receive batch the
//! driver drains the buffer ([`Feed::drain`]) into a bounded channel with
//! `try_send`: no allocation, no lock held, no waiting; a full buffer or
//! channel drops the source and counts it (`known_dropped`: the source is
//! noted again at its next refresh). The controller thread writes each to
//! the gate's `known` map with an expiry `KNOWN_TTL` ahead, so the gate
//! forgets a source when the policy stage would.
//!
//! The gate keys known sources by IPv4 address and IPv6 /64 ([`key`]).
//! Configured `gate.trusted` prefixes are written once, as every address
//! (or /64) they hold ([`expand`]; the configuration bounds their size).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;

use levee_answer::Worker;

/// Sources the channel holds before new ones are dropped.
pub const CHANNEL: usize = 16_384;

/// The sending side, one clone per driver thread.
#[derive(Clone)]
pub struct Feed {
    tx: SyncSender<IpAddr>,
    dropped: Arc<AtomicU64>,
}

/// The channel between the drivers and the controller; `dropped` counts
/// the sources lost to a full channel or buffer.
pub fn channel(dropped: &Arc<AtomicU64>) -> (Feed, Receiver<IpAddr>) {
    let (tx, rx) = sync_channel(CHANNEL);
    (Feed { tx, dropped: Arc::clone(dropped) }, rx)
}

impl Feed {
    /// Moves the sources `worker` noted since the last call into the
    /// channel (once per batch; nothing to do is one comparison).
    #[inline]
    pub fn drain(&self, worker: &mut Worker) {
        if worker.has_proven() {
            self.drain_all(worker);
        }
    }

    #[cold]
    fn drain_all(&self, worker: &mut Worker) {
        let lost = worker.drain_proven(|ip| {
            if self.tx.try_send(ip).is_err() {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        });
        if lost > 0 {
            self.dropped.fetch_add(lost, Ordering::Relaxed);
        }
    }
}

/// The gate's key of a source: the IPv4 address (also from a v4-mapped
/// IPv6 address), or the IPv6 address's /64.
pub fn key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1))),
        },
    }
}

/// Every key of a prefix: each IPv4 address, or each IPv6 /64 (a prefix
/// of 64 bits or longer is one /64).
pub fn expand(ip: IpAddr, len: u8) -> Vec<IpAddr> {
    match key(ip) {
        IpAddr::V4(v4) => {
            let host = 32 - len.min(32) as u32;
            let base = u32::from(v4) & !(((1u64 << host) - 1) as u32);
            (0..1u64 << host).map(|i| IpAddr::V4(Ipv4Addr::from(base + i as u32))).collect()
        }
        IpAddr::V6(v6) => {
            let bits = 64 - len.min(64) as u32;
            let base = u128::from(v6) >> 64 & !((1u128 << bits) - 1);
            (0..1u128 << bits).map(|i| IpAddr::V6(Ipv6Addr::from((base + i) << 64))).collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_prefixes() {
        let k = |s: &str| key(s.parse().unwrap()).to_string();
        assert_eq!(k("192.0.2.7"), "192.0.2.7");
        assert_eq!(k("::ffff:192.0.2.7"), "192.0.2.7");
        assert_eq!(k("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::");
        let v4 = expand("192.0.2.77".parse().unwrap(), 30);
        assert_eq!(
            v4.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
            ["192.0.2.76", "192.0.2.77", "192.0.2.78", "192.0.2.79"]
        );
        assert_eq!(expand("192.0.2.1".parse().unwrap(), 24).len(), 256);
        let v6 = expand("2001:db8:0:5::1".parse().unwrap(), 63);
        assert_eq!(v6.iter().map(|a| a.to_string()).collect::<Vec<_>>(), ["2001:db8:0:4::", "2001:db8:0:5::"]);
        assert_eq!(expand("2001:db8::1".parse().unwrap(), 128).len(), 1);
    }
}
