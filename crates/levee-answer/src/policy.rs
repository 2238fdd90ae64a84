//! The policy stage: once a response is written, decide whether it leaves.
//!
//! ```text
//! answer ──► (bytes, Meta) ──► policy ──► Send | Slip | Drop
//! ```
//!
//! Answering never looks at load or at who is asking; this stage does,
//! using only the response's [`Meta`] and the client's address, so it
//! works the same for a freshly written response and a cached one. The
//! [`Worker`](crate::Worker) consults it twice for a query the cache does
//! not answer: before answering (`WorkerPolicy::sheds_negative`: an
//! NXDOMAIN that will not be sent need not be written whole) and after
//! (`WorkerPolicy::decide`); a cache hit is judged once, before it is
//! copied. The shared part ([`Policy`]: the rate limiter's table, the
//! table of known sources) and the counters ([`PolicyStats`]) are what the
//! daemon builds and reads. In order:
//!
//! 1. **Proven clients pass.** A valid server cookie (RFC 7873) proves the
//!    source address, so spoofing-oriented limits do not apply. (TCP is
//!    proven too: a TCP query marks its source known, and is not judged.)
//! 2. **Overload admission.** When the worker is behind (the kernel is
//!    dropping datagrams on its socket, or batch after batch comes back
//!    full), sending costs as much as receiving, so replies that help no
//!    legitimate resolver are not sent: NXDOMAIN and errors to sources that
//!    are not *known*. A known source is one that recently got positive
//!    answers within its rate limit several times; a random-subdomain
//!    flood from spoofed addresses never builds that history, while a
//!    resolver that was working before the flood keeps its place.
//! 3. **Response rate limiting** ([`levee_limit::rrl`]): over the limit,
//!    every `slip`-th response becomes a tiny TC=1 reply (BADCOOKIE for a
//!    client that sent a cookie) so a real client behind a spoofed prefix
//!    retries over TCP or with its cookie; the rest are dropped. Under
//!    overload nothing slips.
//!
//! Time is a parameter (`WorkerPolicy::tick`, from [`Worker::tick`](crate::Worker::tick)), so all of this is tested
//! with a virtual clock.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use levee_limit::rrl::{self, Class, Decision, Limiter};
use levee_wire::hash::mix;

use crate::meta::{Kind, Meta, Proof};

/// What to do with a response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Send it as written.
    Send,
    /// Send a minimal truncated reply instead (TC=1, or BADCOOKIE when
    /// `badcookie` is set).
    Slip {
        /// The client sent a cookie: answer BADCOOKIE with a fresh server
        /// cookie rather than TC (RFC 7873 §5.2.3).
        badcookie: bool,
    },
    /// Send nothing.
    Drop,
}

/// Overload admission settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Overload {
    /// Shed replies when behind; `false` answers everything it receives.
    pub enabled: bool,
    /// Full batches in a row that count as being behind.
    pub full_batches: u32,
    /// Milliseconds to stay in overload mode after the last sign of it.
    /// Long, because shedding is what lets the worker keep up: leaving as
    /// soon as the queue drains would only fall behind again and drop at
    /// random in the kernel, while shedding wrongly costs little (an
    /// unknown source's NXDOMAIN, which a resolver retries).
    pub hold_ms: u64,
}

impl Default for Overload {
    fn default() -> Self {
        Overload { enabled: true, full_batches: 2, hold_ms: 5000 }
    }
}

/// Policy shared by all workers: the rate limiter's table and the table of
/// known sources.
pub struct Policy {
    rrl: Option<Limiter>,
    known: Known,
    overload: Overload,
    /// Workers note the sources that become known, for the flood gate.
    gate_feed: bool,
}

impl Policy {
    /// A policy with rate limiting (`None` = off) and overload admission.
    pub fn new(rrl: Option<rrl::Settings>, overload: Overload, seed: u64) -> Self {
        Policy {
            rrl: rrl.map(|s| Limiter::new(s, seed)),
            known: Known::new(1 << 16, seed ^ 0x6b6e_6f77_6e00_0000),
            overload,
            gate_feed: false,
        }
    }

    /// The same policy, with each worker noting the sources that become
    /// known (or whose known entry is refreshed) in a fixed buffer the
    /// driver drains for the flood gate ([`Worker::drain_proven`](crate::Worker::drain_proven)).
    /// The table of known sources is then kept even with overload
    /// admission off.
    pub fn with_gate_feed(mut self) -> Self {
        self.gate_feed = true;
        self
    }

    /// Whether sources are tracked at all.
    fn tracks(&self) -> bool {
        self.overload.enabled || self.gate_feed
    }

    /// Records that `client` reached us over TCP (a proven address);
    /// true when its known entry was written (it became known or was
    /// refreshed) and the gate wants to hear of it.
    pub(crate) fn proven(&self, client: IpAddr, now_ms: u64) -> bool {
        self.tracks() && self.known.mark(client, (now_ms / 1000) as u32, KNOWN_AT) && self.gate_feed
    }

    /// Whether `client` is currently a known source (sources are tracked
    /// only while overload admission, the table's one reader, is on).
    #[cfg(test)]
    pub(crate) fn is_known(&self, client: IpAddr, now_ms: u64) -> bool {
        self.known.is_known(client, (now_ms / 1000) as u32)
    }
}

/// Counters of one worker's policy decisions. Each worker owns one (on its
/// own cache lines) and is the only writer; readers sum them.
#[derive(Default, Debug)]
#[repr(align(128))]
pub struct PolicyStats {
    /// Sent as written. (Responses by kind and rcode are the operator
    /// counters' business, counted once per response by the driver.)
    pub sent: AtomicU64,
    /// Rate limited and slipped (TC=1 or BADCOOKIE).
    pub rrl_slipped: AtomicU64,
    /// Rate limited and dropped.
    pub rrl_dropped: AtomicU64,
    /// Over the rate limit in log-only mode (sent anyway).
    pub rrl_log_only: AtomicU64,
    /// Not sent because the worker was overloaded.
    pub overload_dropped: AtomicU64,
    /// Receive batches handled while overloaded.
    pub overload_batches: AtomicU64,
    /// Datagrams the kernel dropped on this worker's socket.
    pub kernel_dropped: AtomicU64,
}

/// Single-writer increment: a plain load and store, no locked instruction.
#[inline]
pub fn bump(c: &AtomicU64, n: u64) {
    c.store(c.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
}

fn class(k: Kind) -> Class {
    match k {
        Kind::Answer => Class::Answer,
        Kind::NoData => Class::NoData,
        Kind::NxDomain => Class::NxDomain,
        Kind::Referral => Class::Referral,
        Kind::Error => Class::Error,
    }
}

/// Sources a worker notes for the flood gate between two drains (one
/// receive batch); more are counted as lost.
pub const PROVEN_BUF: usize = 64;

/// One worker's view of the policy: its clock, its load state, its slip
/// counter and its counters; the sources it saw become known.
pub(crate) struct WorkerPolicy {
    shared: Arc<Policy>,
    stats: Arc<PolicyStats>,
    now_ms: u64,
    full_streak: u32,
    overloaded_until: u64,
    slip_n: u32,
    proven: ProvenBuf,
}

/// The sources a worker saw become known, for the driver to drain.
struct ProvenBuf {
    buf: [IpAddr; PROVEN_BUF],
    n: usize,
    lost: u64,
}

impl ProvenBuf {
    /// Notes a source (rare: at most once per `REFRESH` seconds per
    /// source).
    #[cold]
    fn note(&mut self, client: IpAddr) {
        match self.buf.get_mut(self.n) {
            Some(slot) => {
                *slot = client;
                self.n += 1;
            }
            None => self.lost += 1,
        }
    }
}

impl WorkerPolicy {
    /// A worker's policy, counting into `stats`.
    pub(crate) fn new(shared: Arc<Policy>, stats: Arc<PolicyStats>) -> Self {
        let proven = ProvenBuf { buf: [IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED); PROVEN_BUF], n: 0, lost: 0 };
        WorkerPolicy { shared, stats, now_ms: 0, full_streak: 0, overloaded_until: 0, slip_n: 0, proven }
    }

    /// Whether sources are waiting for [`drain_proven`](Self::drain_proven).
    #[inline]
    pub(crate) fn has_proven(&self) -> bool {
        self.proven.n != 0 || self.proven.lost != 0
    }

    /// Hands each noted source to `f` and empties the buffer; returns how
    /// many were lost to a full buffer since the last call.
    pub(crate) fn drain_proven(&mut self, mut f: impl FnMut(IpAddr)) -> u64 {
        for &ip in &self.proven.buf[..self.proven.n] {
            f(ip);
        }
        self.proven.n = 0;
        std::mem::take(&mut self.proven.lost)
    }

    /// The worker's counters.
    #[cfg(test)]
    pub(crate) fn stats(&self) -> &Arc<PolicyStats> {
        &self.stats
    }

    /// Starts a receive batch at `now_ms` (a monotonic clock): `full` when
    /// the batch filled up (more is queued), `dropped` datagrams the kernel
    /// dropped since the last batch.
    pub(crate) fn tick(&mut self, now_ms: u64, full: bool, dropped: u32) {
        self.now_ms = now_ms;
        if dropped > 0 {
            bump(&self.stats.kernel_dropped, dropped as u64);
        }
        self.full_streak = if full { self.full_streak.saturating_add(1) } else { 0 };
        let o = self.shared.overload;
        if o.enabled && (dropped > 0 || self.full_streak >= o.full_batches) {
            self.overloaded_until = now_ms + o.hold_ms;
        }
        if self.overloaded() {
            bump(&self.stats.overload_batches, 1);
        }
    }

    /// Whether the worker is shedding load.
    pub(crate) fn overloaded(&self) -> bool {
        self.now_ms < self.overloaded_until
    }

    /// Whether an NXDOMAIN for `client` would be shed right now, so the
    /// answer stage need not write it ([`Hints::shed_negative`](crate::finish::Hints::shed_negative)).
    pub(crate) fn sheds_negative(&self, client: IpAddr) -> bool {
        self.overloaded() && !self.shared.known.is_known(client, (self.now_ms / 1000) as u32)
    }

    /// Records that `client` reached us over TCP (a proven address), at
    /// the time of the last [`tick`](Self::tick).
    pub(crate) fn proven(&mut self, client: IpAddr) {
        if self.shared.proven(client, self.now_ms) {
            self.proven.note(client);
        }
    }

    /// Decides the fate of a UDP response described by `meta` for `client`
    /// (by reference: most verdicts never look at it).
    pub(crate) fn decide(&mut self, client: &IpAddr, meta: &Meta) -> Verdict {
        let st = &*self.stats;
        let now_s = (self.now_ms / 1000) as u32;
        let shared = &*self.shared;
        // The table of known sources serves overload admission alone:
        // with admission off nothing reads it, so nothing need mark it.
        let track = shared.tracks();
        if meta.proof == Proof::Valid {
            if track && shared.known.mark(*client, now_s, KNOWN_AT) && shared.gate_feed {
                self.proven.note(*client);
            }
            bump(&st.sent, 1);
            return Verdict::Send;
        }
        let overloaded = self.overloaded();
        if overloaded && matches!(meta.kind, Kind::NxDomain | Kind::Error) && !shared.known.is_known(*client, now_s) {
            bump(&st.overload_dropped, 1);
            return Verdict::Drop;
        }
        if let Some(l) = &shared.rrl {
            match l.check(*client, class(meta.kind), meta.key, self.now_ms) {
                Decision::Pass => {}
                Decision::LogOnly => bump(&st.rrl_log_only, 1),
                Decision::Limit => {
                    let slip = l.settings().slip;
                    if !overloaded && slip > 0 {
                        self.slip_n = self.slip_n.wrapping_add(1);
                        if self.slip_n % slip == 0 {
                            bump(&st.rrl_slipped, 1);
                            return Verdict::Slip { badcookie: meta.proof == Proof::ClientCookie };
                        }
                    }
                    bump(&st.rrl_dropped, 1);
                    return Verdict::Drop;
                }
            }
        }
        if track && matches!(meta.kind, Kind::Answer | Kind::NoData | Kind::Referral) {
            if shared.known.mark(*client, now_s, 1) && shared.gate_feed {
                self.proven.note(*client);
            }
        }
        bump(&st.sent, 1);
        Verdict::Send
    }
}

/// Sightings after which a source is known.
pub const KNOWN_AT: u32 = 3;
/// Seconds a known source stays known without being seen.
pub const KNOWN_TTL: u32 = 600;
/// Seconds between refreshes of a known entry (fewer shared writes).
const REFRESH: u32 = 10;

/// Fixed-size table of recently seen sources: direct-mapped, one atomic
/// word per slot holding a 32-bit tag of the address, a sighting count and
/// the time (seconds, 24 bits). A slot with a known source is only taken
/// over once that source is stale, so a flood of one-off spoofed sources
/// cannot push a working resolver out.
struct Known {
    slots: Box<[AtomicU64]>,
    mask: usize,
    seed: u64,
}

impl Known {
    fn new(n: usize, seed: u64) -> Self {
        let n = n.next_power_of_two();
        let slots: Box<[AtomicU64]> = (0..n).map(|_| AtomicU64::new(0)).collect();
        for s in slots.iter() {
            s.store(0, Ordering::Relaxed); // resident from the start, like the RRL table
        }
        Known { slots, mask: n - 1, seed }
    }

    fn hash(&self, ip: IpAddr) -> u64 {
        let (a, b) = match ip {
            IpAddr::V4(v4) => (4u64, u32::from(v4) as u64),
            IpAddr::V6(v6) => {
                let x = u128::from(v6);
                ((x >> 64) as u64 ^ 6, x as u64)
            }
        };
        mix(mix(self.seed ^ a) ^ b)
    }

    fn unpack(v: u64) -> (u32, u32, u32) {
        ((v >> 32) as u32, ((v >> 24) & 0xFF) as u32, (v & 0xFF_FFFF) as u32)
    }

    fn age(now: u32, then: u32) -> u32 {
        (now.wrapping_sub(then)) & 0xFF_FFFF
    }

    fn slot(&self, h: u64) -> (&AtomicU64, u32) {
        let tag = ((h >> 32) as u32) | 1; // never 0, so an empty slot matches nothing
        (&self.slots[(h as usize) & self.mask], tag)
    }

    /// Counts a sighting; true when the slot was written with the source
    /// known (it became known, or its known entry was refreshed).
    fn mark(&self, ip: IpAddr, now: u32, add: u32) -> bool {
        let (slot, tag) = self.slot(self.hash(ip));
        let v = slot.load(Ordering::Relaxed);
        let (t, count, then) = Self::unpack(v);
        let fresh = v != 0 && Self::age(now, then) < KNOWN_TTL;
        let count = if t == tag && fresh {
            if count >= KNOWN_AT && Self::age(now, then) < REFRESH {
                return false;
            }
            (count + add).min(255)
        } else if fresh && count >= KNOWN_AT {
            return false; // someone else's known slot: keep it
        } else {
            add.min(255)
        };
        slot.store(((tag as u64) << 32) | ((count as u64) << 24) | (now & 0xFF_FFFF) as u64, Ordering::Relaxed);
        count >= KNOWN_AT
    }

    fn is_known(&self, ip: IpAddr, now: u32) -> bool {
        let (slot, tag) = self.slot(self.hash(ip));
        let v = slot.load(Ordering::Relaxed);
        let (t, count, then) = Self::unpack(v);
        t == tag && count >= KNOWN_AT && Self::age(now, then) < KNOWN_TTL
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn ip(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(a, b, c, d))
    }

    fn meta(kind: Kind, key: u64) -> Meta {
        Meta { kind, rcode: 0, key, proof: Proof::None, ..Meta::default() }
    }

    fn worker(rrl: Option<rrl::Settings>) -> WorkerPolicy {
        WorkerPolicy::new(Arc::new(Policy::new(rrl, Overload::default(), 9)), Arc::default())
    }

    fn drained(w: &mut WorkerPolicy) -> Vec<IpAddr> {
        let mut v = Vec::new();
        assert_eq!(w.drain_proven(|ip| v.push(ip)), 0);
        v
    }

    /// With the gate's feed, a source is noted when it becomes known and
    /// when its entry is refreshed, not on every response; without it,
    /// never.
    #[test]
    fn sources_that_become_known_are_noted_for_the_gate() {
        let off = Overload { enabled: false, ..Overload::default() };
        let mut w = WorkerPolicy::new(Arc::new(Policy::new(None, off, 9).with_gate_feed()), Arc::default());
        let (a, b, c) = (ip(192, 0, 2, 1), ip(192, 0, 2, 2), ip(192, 0, 2, 3));
        w.tick(10_000, false, 0);
        for _ in 0..2 {
            w.decide(&a, &meta(Kind::Answer, 1));
        }
        assert!(!w.has_proven(), "two positive answers do not make a source known");
        w.decide(&a, &meta(Kind::Answer, 1));
        w.decide(&a, &meta(Kind::Answer, 1));
        w.decide(&a, &meta(Kind::NxDomain, 1));
        assert_eq!(drained(&mut w), [a], "noted once, when it became known");
        // A valid cookie proves at once; TCP too.
        w.decide(&b, &Meta { proof: Proof::Valid, ..meta(Kind::NxDomain, 1) });
        w.proven(c);
        assert_eq!(drained(&mut w), [b, c]);
        // Within REFRESH seconds nothing more; after it, a refresh.
        w.tick(10_000 + (REFRESH as u64 - 1) * 1000, false, 0);
        w.decide(&a, &meta(Kind::Answer, 1));
        assert!(!w.has_proven());
        w.tick(10_000 + REFRESH as u64 * 1000, false, 0);
        w.decide(&a, &meta(Kind::Answer, 1));
        assert_eq!(drained(&mut w), [a]);
        // A full buffer loses sources and counts them.
        w.tick(1_000_000, false, 0);
        for i in 0..PROVEN_BUF as u32 + 5 {
            w.proven(IpAddr::V4(Ipv4Addr::from(0xC633_0000 + i)));
        }
        let mut n = 0;
        assert_eq!(w.drain_proven(|_| n += 1), 5);
        assert_eq!(n, PROVEN_BUF);
        // Without the feed nothing is noted, whatever the overload setting.
        let mut plain = WorkerPolicy::new(Arc::new(Policy::new(None, Overload::default(), 9)), Arc::default());
        plain.tick(10_000, false, 0);
        plain.proven(c);
        plain.decide(&b, &Meta { proof: Proof::Valid, ..meta(Kind::NxDomain, 1) });
        assert!(!plain.has_proven());
    }

    #[test]
    fn rate_limited_responses_slip_every_second_time() {
        let s = rrl::Settings { rates: [5; 5], burst: 1, ..Default::default() };
        let mut w = worker(Some(s));
        w.tick(10_000, false, 0);
        let v: Vec<_> = (0..9).map(|_| w.decide(&ip(192, 0, 2, 1), &meta(Kind::Answer, 1))).collect();
        let slip = Verdict::Slip { badcookie: false };
        assert_eq!(&v[..5], &[Verdict::Send; 5]);
        assert_eq!(&v[5..], &[Verdict::Drop, slip, Verdict::Drop, slip]);
        // A client that sent a cookie gets BADCOOKIE, one with a valid
        // server cookie is never limited.
        let mut m = meta(Kind::Answer, 1);
        m.proof = Proof::ClientCookie;
        let v: Vec<_> = (0..2).map(|_| w.decide(&ip(192, 0, 2, 1), &m)).collect();
        assert!(v.contains(&Verdict::Slip { badcookie: true }), "{v:?}");
        m.proof = Proof::Valid;
        assert!((0..100).all(|_| w.decide(&ip(192, 0, 2, 1), &m) == Verdict::Send));
        assert_eq!(w.stats().rrl_slipped.load(Ordering::Relaxed), 3);
        assert_eq!(w.stats().rrl_dropped.load(Ordering::Relaxed), 3);
        assert_eq!(w.stats().sent.load(Ordering::Relaxed), 105);
    }

    #[test]
    fn sources_are_tracked_only_for_overload_admission() {
        for enabled in [true, false] {
            let overload = Overload { enabled, ..Overload::default() };
            let policy = Arc::new(Policy::new(None, overload, 9));
            let mut w = WorkerPolicy::new(Arc::clone(&policy), Arc::default());
            w.tick(1_000, false, 0);
            for _ in 0..3 {
                assert_eq!(w.decide(&ip(192, 0, 2, 53), &meta(Kind::Answer, 7)), Verdict::Send);
            }
            policy.proven(ip(192, 0, 2, 54), 1_000);
            assert_eq!(policy.is_known(ip(192, 0, 2, 53), 1_000), enabled);
            assert_eq!(policy.is_known(ip(192, 0, 2, 54), 1_000), enabled);
        }
    }

    #[test]
    fn overload_sheds_nxdomain_to_unknown_sources_only() {
        let mut w = worker(None);
        let resolver = ip(192, 0, 2, 53);
        let bot = ip(203, 0, 113, 9);
        // Before the flood the resolver gets a few positive answers.
        w.tick(1_000, false, 0);
        for _ in 0..3 {
            assert_eq!(w.decide(&resolver, &meta(Kind::Answer, 7)), Verdict::Send);
        }
        assert!(!w.overloaded());
        // One full batch is a burst, two in a row are a backlog.
        w.tick(2_000, true, 0);
        assert!(!w.overloaded());
        w.tick(2_001, true, 0);
        assert!(w.overloaded());
        assert!(w.sheds_negative(bot) && !w.sheds_negative(resolver));
        assert_eq!(w.decide(&bot, &meta(Kind::NxDomain, 1)), Verdict::Drop);
        assert_eq!(w.decide(&bot, &meta(Kind::Error, 0)), Verdict::Drop);
        assert_eq!(w.decide(&bot, &meta(Kind::Answer, 7)), Verdict::Send);
        assert_eq!(w.decide(&resolver, &meta(Kind::NxDomain, 1)), Verdict::Send);
        // Kernel drops also count, and the state holds for five seconds.
        w.tick(10_000, false, 5);
        assert!(w.overloaded());
        w.tick(14_999, false, 0);
        assert!(w.overloaded());
        w.tick(15_000, false, 0);
        assert!(!w.overloaded());
        assert_eq!(w.decide(&bot, &meta(Kind::NxDomain, 1)), Verdict::Send);
        assert_eq!(w.stats().overload_dropped.load(Ordering::Relaxed), 2);
        assert_eq!(w.stats().kernel_dropped.load(Ordering::Relaxed), 5);
    }

    #[test]
    fn one_off_spoofed_sources_do_not_evict_known_resolvers() {
        let p = Policy::new(None, Overload::default(), 3);
        let resolver = ip(192, 0, 2, 53);
        for _ in 0..3 {
            p.known.mark(resolver, 100, 1);
        }
        assert!(p.known.is_known(resolver, 100));
        // A million one-off sources, each seen once.
        for i in 0..1_000_000u32 {
            p.known.mark(IpAddr::V4(Ipv4Addr::from(0x0A00_0000 + i)), 200, 1);
        }
        assert!(p.known.is_known(resolver, 200));
        assert!(!p.known.is_known(ip(10, 0, 0, 1), 200));
        // Known for KNOWN_TTL after the last sighting, not forever.
        assert!(!p.known.is_known(resolver, 100 + KNOWN_TTL));
        // TCP proves an address at once.
        p.proven(ip(198, 51, 100, 1), 5_000);
        assert!(p.is_known(ip(198, 51, 100, 1), 5_000));
    }
}
