//! The drivers: the UDP worker ([`UdpWorker`], one thread per core and
//! listen address, each with its own `SO_REUSEPORT` socket and batched
//! receive and send in `levee_io::udp`) and the TCP service ([`TcpSvc`],
//! on the one thread of `levee_io::tcp`'s `mio` event loop over every
//! listen address, with a fixed connection table). Both answer with
//! `levee_answer` on the current zone snapshot, count into their own
//! `ops::counters::Counters`, and call the query hooks (`repl`);
//! [`answer_config`] is the answering configuration they share.
//! [`threads`] starts them.
//!
//! Workers read the snapshot through a per-thread `arc_swap::Cache`, so the
//! query path takes no lock and touches no shared counter.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use arc_swap::{ArcSwap, Cache};
use levee_answer::cache::{self, Lookup, ResponseCache};
use levee_answer::policy::{Policy, Verdict, WorkerPolicy};
use levee_answer::{
    name_error_below_apex, respond, respond_hinted, respond_plain_walk, slip, Hints, Meta, Outcome, Request, Transport,
};
use levee_config::Config;
use levee_io::tcp::{TcpAnswer, TcpService};
use levee_io::udp::{BatchInfo, UdpHandler};
use levee_limit::cookie::Secrets;
use levee_zone::ZoneSet;

use crate::ops::counters::Counters;

type Shared = Arc<ArcSwap<ZoneSet>>;

fn now() -> u32 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as u32).unwrap_or(0)
}

fn client_ip(a: SocketAddr) -> IpAddr {
    match a.ip() {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        ip => ip,
    }
}

/// The answering policy of a configuration.
pub fn answer_config(cfg: &Config) -> levee_answer::Config {
    let secret = cfg.cookies.secret.unwrap_or_else(|| {
        let mut s = [0u8; 16];
        if getrandom::getrandom(&mut s).is_err() {
            // Extremely unlikely; fall back to the clock and PID so
            // cookies still differ between processes.
            let t = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
            s.copy_from_slice(&(t ^ (std::process::id() as u128) << 64).to_le_bytes());
        }
        s
    });
    levee_answer::Config {
        udp_payload: cfg.udp_payload,
        nsid: cfg.nsid.clone(),
        identity: cfg.identity.clone().map(String::into_bytes),
        version: cfg.version.clone().map(String::into_bytes),
        cookies: cfg.cookies.enabled.then_some(Secrets { current: secret, previous: cfg.cookies.previous_secret }),
        tcp_keepalive: Some((cfg.tcp_idle_timeout.min(6553) * 10) as u16),
        keys: cfg.keys.iter().fold(levee_tsig::KeyRing::new(), |mut r, k| {
            r.add(k.clone());
            r
        }),
    }
}

/// A monotonic millisecond clock shared by the policy stages.
fn mono_ms(epoch: &std::time::Instant) -> u64 {
    epoch.elapsed().as_millis() as u64
}

struct UdpWorker {
    zones: Cache<Shared, Arc<ZoneSet>>,
    cfg: Arc<levee_answer::Config>,
    policy: WorkerPolicy,
    epoch: std::time::Instant,
    /// Wall-clock seconds (cookie timestamps, statistics decay), read
    /// again when the monotonic second changes.
    now: u32,
    /// The monotonic second `now` was read in.
    now_read: u64,
    /// Datagrams dropped without an answer, by reason.
    garbage: Arc<crate::stats::Garbage>,
    /// This worker's query counters (operator surface).
    counters: Arc<Counters>,
    /// Rendered responses of plain queries with their Meta (levee_answer::cache).
    cache: ResponseCache<Meta>,
}

impl UdpWorker {
    /// A response written into `out[..n]` (not a cache hit): counted,
    /// offered to the cache under `store`, then judged by the policy stage.
    #[inline]
    fn written(
        &mut self,
        req: &Request<'_>,
        client: SocketAddr,
        (n, meta): (usize, Meta),
        out: &mut [u8],
        store: Option<&cache::Key>,
    ) -> Option<usize> {
        self.counters.count(&meta, req.client);
        crate::repl::on_reply(req.msg, &out[..n], client);
        if let Some(k) = store {
            self.cache.insert(k, &out[..n], meta);
        }
        self.decide(req, n, meta, out)
    }

    /// The policy stage, after respond() or a cache hit.
    fn decide(&mut self, req: &Request<'_>, n: usize, meta: Meta, out: &mut [u8]) -> Option<usize> {
        match self.policy.decide(req.client, &meta) {
            Verdict::Send => Some(n),
            Verdict::Slip { badcookie } => slip(req, &self.cfg, out, badcookie),
            Verdict::Drop => None,
        }
    }
}

impl UdpHandler for UdpWorker {
    fn batch(&mut self, info: BatchInfo) {
        // One clock read per batch: the wall clock is read once a second.
        let ms = mono_ms(&self.epoch);
        if ms / 1000 != self.now_read {
            self.now = now();
            self.now_read = ms / 1000;
        }
        self.policy.tick(ms, info.full, info.dropped);
        self.counters.received(info.received as u64, self.now as u64);
    }

    fn idle(&mut self) {
        // A replaced zone set stays alive while a worker holds it; the
        // retiring thread frees it once it holds the last reference
        // (`repl::retire`), so an idle worker lets go here.
        let zones = self.zones.load();
        self.cache.release_stale(zones);
    }

    fn handle(&mut self, query: &[u8], client: SocketAddr, out: &mut [u8]) -> Option<usize> {
        let ip = client_ip(client);
        let zones = self.zones.load();
        // A cache hit gives the same bytes and Meta as respond() would, so
        // the policy stage treats hits and misses alike; it sees a hit's
        // Meta before the bytes are copied, so a rate-limited or shed
        // response costs a lookup, not a copy.
        let mut verdict = Verdict::Send;
        let (policy, counters) = (&mut self.policy, &self.counters);
        // The request is built after the lookup: building it first copies
        // the address just written field by field, and that copy waits on
        // those stores (a store-forwarding stall on every query).
        let key = match self.cache.lookup_if(zones, &self.cfg, query, out, |m| {
            counters.count(m, ip);
            verdict = policy.decide(ip, m);
            verdict == Verdict::Send
        }) {
            Lookup::Hit(n, _) => return Some(n),
            Lookup::Declined(_) => {
                let req = Request { msg: query, client: ip, transport: Transport::Udp, now: self.now };
                return match verdict {
                    Verdict::Slip { badcookie } => slip(&req, &self.cfg, out, badcookie),
                    _ => None,
                };
            }
            Lookup::Miss(k) => Some(k),
            Lookup::Bypass => None,
        };
        let req = Request { msg: query, client: ip, transport: Transport::Udp, now: self.now };
        let hints = Hints { shed_negative: self.policy.sheds_negative(req.client), ..Hints::default() };
        let outcome = match &key {
            Some(k) => {
                // A name error written directly costs what a cache hit
                // costs, so it is not offered to the cache: a flood of
                // random names then touches no cache state but one tag.
                if !hints.shed_negative {
                    if let Some(written) = name_error_below_apex(&req, k, zones, &self.cfg, out) {
                        return self.written(&req, client, written, out, None);
                    }
                }
                respond_plain_walk(&req, k, zones, &self.cfg, out, hints)
            }
            None => respond_hinted(&req, zones, &self.cfg, out, hints),
        };
        match outcome {
            // A shed negative answer is incomplete: never cached.
            Outcome::Reply(n, meta) => {
                self.written(&req, client, (n, meta), out, key.as_ref().filter(|_| !hints.shed_negative))
            }
            Outcome::Drop | Outcome::Transfer(_) => {
                self.garbage.count(query);
                None
            }
        }
    }
}

struct TcpSvc {
    zones: Shared,
    cfg: Arc<levee_answer::Config>,
    policy: Arc<Policy>,
    epoch: std::time::Instant,
    counters: Arc<Counters>,
}

impl TcpService for TcpSvc {
    type Stream = levee_answer::xfr::Transfer;

    fn handle(&self, query: &[u8], client: SocketAddr, out: &mut [u8]) -> TcpAnswer<Self::Stream> {
        let zones = self.zones.load();
        let req = Request { msg: query, client: client_ip(client), transport: Transport::Tcp, now: now() };
        // A TCP client has proven its address: the UDP overload stage
        // will keep serving it.
        self.policy.proven(req.client, mono_ms(&self.epoch));
        self.counters.received(1, req.now as u64);
        match respond(&req, &zones, &self.cfg, out) {
            Outcome::Reply(n, meta) => {
                self.counters.count(&meta, req.client);
                crate::repl::on_reply(query, &out[..n], client);
                TcpAnswer::Reply(n)
            }
            Outcome::Drop => TcpAnswer::Close,
            Outcome::Transfer(t) => {
                let kind = if t.is_incremental() { "IXFR" } else { "AXFR" };
                tracing::info!(zone = %levee_wire::name::to_text(t.zone().apex()), serial = t.zone().serial(), %client, kind, "outgoing zone transfer");
                TcpAnswer::Stream(t)
            }
        }
    }

    fn next(&self, stream: &mut Self::Stream, out: &mut [u8]) -> Option<usize> {
        let n = stream.next_message(out);
        if let (Some(_), Some(f)) = (n, stream.failure()) {
            // Once: this is the SERVFAIL message that ends the stream.
            let z = stream.zone();
            tracing::error!(zone = %levee_wire::name::to_text(z.apex()), serial = z.serial(), "outgoing zone transfer failed: {f}");
        }
        n
    }
}

pub mod threads;

#[cfg(test)]
mod tests;
