//! Response rate limiting in fixed memory.
//!
//! A reflection attack sends queries with the victim's address as source;
//! every answer we send lands on the victim. Response rate limiting (RRL,
//! as in BIND, NSD and Knot) counts the responses each *source prefix*
//! gets per *kind of response* and, past a rate, stops answering most of
//! them: every `slip`-th one gets a tiny truncated reply (TC=1, or
//! BADCOOKIE for a client that sent a cookie) so a real resolver behind
//! the prefix retries over TCP, where its address is proven.
//!
//! ## What is counted together
//!
//! Responses are grouped the way operators know from BIND and NSD:
//!
//! | [`Class`]    | key                                      |
//! |--------------|------------------------------------------|
//! | `Answer`     | prefix, query name and type              |
//! | `NoData`     | prefix, zone                             |
//! | `NxDomain`   | prefix, zone                             |
//! | `Referral`   | prefix, delegation point                 |
//! | `Error`      | prefix (all errors together)             |
//!
//! The caller hashes the name part into a `u64` (see [`Limiter::check`]).
//!
//! ## The table: a count-min sketch of leaky buckets
//!
//! The table is a fixed array of 64-bit buckets allocated once; nothing
//! grows with the number of sources, so ten million spoofed addresses cost
//! exactly what ten do. Each key hashes (with a per-process random seed,
//! so an attacker cannot aim collisions) to two buckets. A bucket holds a
//! level in 1/1024ths of a response and the millisecond it was last
//! touched; the level leaks at the class's rate per second. A response is
//! over the limit when the *smaller* of its two levels would pass
//! `rate × burst`: a collision can only make a key look busier, never
//! hide a busy one, and with two buckets an innocent key is limited only
//! if both its buckets are shared with busy keys (a count-min sketch).
//! Responses over the limit do not fill the bucket further, so a steady
//! stream above the rate still gets exactly `rate` responses per second.
//!
//! Buckets are atomics updated with compare-and-swap, so all workers share
//! one table and one view of each prefix; time is a parameter, never read
//! here, so tests drive a virtual clock.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use levee_wire::hash::mix;

/// What kind of response is being limited.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Class {
    /// A positive answer (including CNAME/DNAME chains and wildcards).
    Answer,
    /// NOERROR with no data of the asked type.
    NoData,
    /// Name error.
    NxDomain,
    /// A delegation to a child zone.
    Referral,
    /// Any error rcode (FORMERR, SERVFAIL, NOTIMP, REFUSED, ...).
    Error,
}

impl Class {
    /// Every class, in table order.
    pub const ALL: [Class; 5] = [Class::Answer, Class::NoData, Class::NxDomain, Class::Referral, Class::Error];

    fn index(self) -> usize {
        self as usize
    }
}

/// Rate limiter settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Responses per second per prefix and key, by [`Class`] (index =
    /// `Class as usize`); 0 = that class is never limited.
    pub rates: [u32; 5],
    /// Seconds of burst a key may use above its rate before limiting.
    pub burst: u32,
    /// Every `slip`-th limited response is a truncated reply; 0 = never,
    /// 1 = always.
    pub slip: u32,
    /// IPv4 prefix length sources are grouped by.
    pub ipv4_prefix: u8,
    /// IPv6 prefix length sources are grouped by.
    pub ipv6_prefix: u8,
    /// Count and report, but never limit.
    pub log_only: bool,
    /// Sources never limited.
    pub exempt: Vec<(IpAddr, u8)>,
    /// Buckets in the table (rounded up to a power of two, at least 1024).
    pub table_size: usize,
}

impl Default for Settings {
    /// On, with limits far above what one resolver prefix sends for one
    /// name (resolvers cache; NSD ships 200/s).
    fn default() -> Self {
        Settings {
            rates: [200; 5],
            burst: 2,
            slip: 2,
            ipv4_prefix: 24,
            ipv6_prefix: 56,
            log_only: false,
            exempt: Vec::new(),
            table_size: 1 << 18,
        }
    }
}

/// The limiter's decision for one response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Within the limit (or exempt, or the class is not limited).
    Pass,
    /// Over the limit: drop or slip (the caller counts slips per worker).
    Limit,
    /// Over the limit in log-only mode: send it, but count it.
    LogOnly,
}

/// One response's worth of level.
const UNIT: u64 = 1024;
const LEVEL_MASK: u64 = 0xFFFF_FFFF;

/// The shared, fixed-size rate limiter.
pub struct Limiter {
    settings: Settings,
    /// Per class: `rate × UNIT` (leak per second, in units) and the
    /// capacity `rate × burst × UNIT`.
    leak: [u64; 5],
    cap: [u64; 5],
    buckets: Box<[AtomicU64]>,
    mask: usize,
    seed: u64,
}

impl Limiter {
    /// A limiter with its table allocated; `seed` keys the bucket hash
    /// (random per process in the server, fixed in tests).
    pub fn new(settings: Settings, seed: u64) -> Self {
        let n = settings.table_size.max(1024).next_power_of_two();
        let buckets = (0..n).map(|_| AtomicU64::new(0)).collect::<Vec<_>>().into_boxed_slice();
        // Commit the pages now (the allocator may hand out untouched zero
        // pages): the table's memory is resident from the start and an
        // attack touching every bucket does not grow the process.
        for b in buckets.iter() {
            b.store(0, Ordering::Relaxed);
        }
        let mut leak = [0; 5];
        let mut cap = [0; 5];
        for c in Class::ALL {
            let r = settings.rates[c.index()] as u64;
            leak[c.index()] = r * UNIT;
            cap[c.index()] = (r * settings.burst.max(1) as u64 * UNIT).min(LEVEL_MASK);
        }
        Limiter { settings, leak, cap, buckets, mask: n - 1, seed }
    }

    /// The settings in force.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Octets the table occupies; fixed at construction.
    pub fn footprint(&self) -> usize {
        self.buckets.len() * std::mem::size_of::<AtomicU64>()
    }

    /// Counts one response of `class` to `client`, keyed by `key` (a hash
    /// of the query name and type, the zone, or the delegation, see the
    /// module docs), at `now_ms` (any monotonic millisecond clock).
    pub fn check(&self, client: IpAddr, class: Class, key: u64, now_ms: u64) -> Decision {
        let ci = class.index();
        if self.leak[ci] == 0 || self.is_exempt(client) {
            return Decision::Pass;
        }
        let h = self.hash(client, class, key);
        let i1 = (h as usize) & self.mask;
        let mut i2 = ((h >> 32) as usize) & self.mask;
        if i2 == i1 {
            i2 = (i1 + 1) & self.mask;
        }
        let now = now_ms as u32;
        let l1 = self.level(i1, ci, now);
        let l2 = self.level(i2, ci, now);
        if l1.min(l2) + UNIT > self.cap[ci] {
            return if self.settings.log_only { Decision::LogOnly } else { Decision::Limit };
        }
        self.add(i1, ci, now);
        self.add(i2, ci, now);
        Decision::Pass
    }

    /// Whether `client` is in an exempt prefix.
    pub fn is_exempt(&self, client: IpAddr) -> bool {
        self.settings.exempt.iter().any(|&(net, len)| prefix_contains(net, len, client))
    }

    fn hash(&self, client: IpAddr, class: Class, key: u64) -> u64 {
        let (hi, lo) = match client {
            IpAddr::V4(v4) => {
                let m = mask_bits(32, self.settings.ipv4_prefix) as u32;
                (4, (u32::from(v4) & m) as u64)
            }
            IpAddr::V6(v6) => {
                let m = mask_bits(128, self.settings.ipv6_prefix);
                let p = u128::from(v6) & m;
                ((p >> 64) as u64 ^ 6, p as u64)
            }
        };
        let mut h = mix(self.seed ^ hi);
        h = mix(h ^ lo);
        h = mix(h ^ (class.index() as u64) << 56);
        mix(h ^ key)
    }

    /// The bucket's level after leaking up to `now`.
    fn level(&self, i: usize, ci: usize, now: u32) -> u64 {
        let b = self.buckets[i].load(Ordering::Relaxed);
        leaked(b, self.leak[ci], now)
    }

    fn add(&self, i: usize, ci: usize, now: u32) {
        let leak = self.leak[ci];
        let _ = self.buckets[i].fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| {
            let l = (leaked(b, leak, now) + UNIT).min(LEVEL_MASK);
            Some(((now as u64) << 32) | l)
        });
    }
}

/// The level of bucket value `b` leaked at `leak` units per second until `now`.
fn leaked(b: u64, leak: u64, now: u32) -> u64 {
    let then = (b >> 32) as u32;
    let level = b & LEVEL_MASK;
    let dt = now.wrapping_sub(then);
    if dt > i32::MAX as u32 {
        // The clock went backwards (or wrapped past 24 days): the bucket
        // is stale either way.
        return 0;
    }
    level.saturating_sub(dt as u64 * leak / 1000)
}

fn mask_bits(width: u32, len: u8) -> u128 {
    let len = (len as u32).min(width);
    if len == 0 {
        0
    } else {
        (u128::MAX << (128 - len)) >> (128 - width)
    }
}

/// Whether `ip` lies in `net/len` (IPv4 and IPv6 never match each other).
pub fn prefix_contains(net: IpAddr, len: u8, ip: IpAddr) -> bool {
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(a)) => {
            let m = mask_bits(32, len) as u32;
            u32::from(n) & m == u32::from(a) & m
        }
        (IpAddr::V6(n), IpAddr::V6(a)) => {
            let m = mask_bits(128, len);
            u128::from(n) & m == u128::from(a) & m
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(a, b, c, d))
    }

    fn settings(rate: u32) -> Settings {
        Settings { rates: [rate; 5], burst: 1, table_size: 1 << 12, ..Settings::default() }
    }

    fn passes(l: &Limiter, ip: IpAddr, class: Class, key: u64, now: u64, n: usize) -> usize {
        (0..n).filter(|_| l.check(ip, class, key, now) == Decision::Pass).count()
    }

    #[test]
    fn steady_stream_gets_the_rate() {
        let l = Limiter::new(settings(10), 1);
        let ip = v4(192, 0, 2, 1);
        // 1000 queries in the same millisecond: the burst (10) passes.
        assert_eq!(passes(&l, ip, Class::Answer, 7, 1_000, 1000), 10);
        // 100 per 10 ms for 10 s = 10,000 per s: about 10 per second pass.
        let mut ok = 0;
        for step in 1..=1000u64 {
            ok += passes(&l, ip, Class::Answer, 7, 1_000 + step * 10, 100);
        }
        assert!((95..=105).contains(&ok), "{ok} passed in 10 s at rate 10");
    }

    #[test]
    fn under_the_rate_is_never_limited() {
        let l = Limiter::new(settings(10), 2);
        let ip = v4(192, 0, 2, 1);
        // 5 per second for a minute.
        for ms in (0..60_000u64).step_by(200) {
            assert_eq!(l.check(ip, Class::Answer, 1, ms), Decision::Pass, "at {ms} ms");
        }
    }

    #[test]
    fn keys_prefixes_and_classes_are_separate() {
        let l = Limiter::new(settings(3), 3);
        let a = v4(192, 0, 2, 1);
        assert_eq!(passes(&l, a, Class::Answer, 1, 0, 10), 3);
        // Same /24: shares the bucket.
        assert_eq!(passes(&l, v4(192, 0, 2, 200), Class::Answer, 1, 0, 10), 0);
        // Another name, another class, another /24: fresh.
        assert_eq!(passes(&l, a, Class::Answer, 2, 0, 10), 3);
        assert_eq!(passes(&l, a, Class::NxDomain, 1, 0, 10), 3);
        assert_eq!(passes(&l, v4(192, 0, 3, 1), Class::Answer, 1, 0, 10), 3);
        // IPv6 groups by /56.
        let x: IpAddr = "2001:db8:0:1::1".parse().unwrap();
        let y: IpAddr = "2001:db8:0:ff::2".parse().unwrap();
        let z: IpAddr = "2001:db8:0:100::1".parse().unwrap();
        assert_eq!(passes(&l, x, Class::Answer, 1, 0, 10), 3);
        assert_eq!(passes(&l, y, Class::Answer, 1, 0, 10), 0);
        assert_eq!(passes(&l, z, Class::Answer, 1, 0, 10), 3);
    }

    #[test]
    fn exempt_log_only_and_unlimited_classes() {
        let mut s = settings(2);
        s.exempt = vec![(v4(10, 0, 0, 0), 8), ("2001:db8::".parse().unwrap(), 32)];
        s.rates[Class::Referral as usize] = 0;
        let l = Limiter::new(s.clone(), 4);
        assert_eq!(passes(&l, v4(10, 9, 9, 9), Class::Answer, 1, 0, 100), 100);
        assert_eq!(passes(&l, IpAddr::V6(Ipv6Addr::LOCALHOST), Class::Answer, 1, 0, 100), 2);
        assert_eq!(passes(&l, "2001:db8::5".parse().unwrap(), Class::Answer, 1, 0, 100), 100);
        assert_eq!(passes(&l, v4(192, 0, 2, 1), Class::Referral, 1, 0, 100), 100);
        s.log_only = true;
        let l = Limiter::new(s, 4);
        let d: Vec<_> = (0..4).map(|_| l.check(v4(192, 0, 2, 1), Class::Error, 0, 0)).collect();
        assert_eq!(d, [Decision::Pass, Decision::Pass, Decision::LogOnly, Decision::LogOnly]);
    }

    #[test]
    fn clock_going_backwards_forgets_rather_than_limits_forever() {
        let l = Limiter::new(settings(1), 5);
        let ip = v4(192, 0, 2, 1);
        assert_eq!(passes(&l, ip, Class::Answer, 1, 1_000_000, 5), 1);
        assert_eq!(passes(&l, ip, Class::Answer, 1, 5, 5), 1);
    }

    /// The acceptance check of the flood-defence issue: ten million
    /// distinct spoofed sources leave the footprint unchanged, and a busy
    /// key among them is still limited while a quiet one is not.
    #[test]
    fn ten_million_sources_fixed_memory() {
        let l = Limiter::new(Settings::default(), 6);
        let before = l.footprint();
        let victim = v4(203, 0, 113, 7);
        let quiet = v4(198, 51, 100, 7);
        let mut victim_passed = 0;
        let mut quiet_passed = 0;
        let mut quiet_asked = 0;
        // 10M sources over 10 s of virtual time (1M/s), one query each,
        // all for the same name; every 1000th query is also the victim's
        // and every 50,000th a quiet resolver's (20/s).
        for i in 0..10_000_000u32 {
            let now = (i / 1000) as u64; // ms
            let src = IpAddr::V4(Ipv4Addr::from(0x0B00_0000u32.wrapping_add(i.wrapping_mul(2_654_435_761))));
            let _ = l.check(src, Class::NxDomain, 42, now);
            if i % 1000 == 0 && l.check(victim, Class::Answer, 99, now) == Decision::Pass {
                victim_passed += 1;
            }
            if i % 50_000 == 0 {
                quiet_asked += 1;
                quiet_passed += (l.check(quiet, Class::Answer, 99, now) == Decision::Pass) as u32;
            }
        }
        assert_eq!(l.footprint(), before);
        assert_eq!(before, (1 << 18) * 8);
        // The victim asked 10,000 times in 10 s at 1000/s: it gets the
        // rate (200/s) plus the burst, not more.
        assert!((2000..=2500).contains(&victim_passed), "victim passed {victim_passed}");
        assert_eq!(quiet_passed, quiet_asked);
    }

    #[test]
    fn prefix_matching() {
        assert!(prefix_contains(v4(10, 0, 0, 0), 8, v4(10, 1, 2, 3)));
        assert!(!prefix_contains(v4(10, 0, 0, 0), 8, v4(11, 1, 2, 3)));
        assert!(prefix_contains(v4(0, 0, 0, 0), 0, v4(11, 1, 2, 3)));
        assert!(prefix_contains(v4(192, 0, 2, 1), 32, v4(192, 0, 2, 1)));
        assert!(!prefix_contains(v4(192, 0, 2, 1), 32, v4(192, 0, 2, 2)));
        assert!(!prefix_contains(v4(0, 0, 0, 0), 0, IpAddr::V6(Ipv6Addr::LOCALHOST)));
    }
}
