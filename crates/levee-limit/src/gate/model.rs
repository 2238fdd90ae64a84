//! The gate's admission as plain Rust: what `crates/levee-io/bpf/gate.c`
//! does, step for step, on packet bytes, a source, a time, a CPU index
//! and the maps' contents as Rust values.
//!
//! It is the reference the BPF programs are held to (the privileged tests
//! run both on the same corpus and compare verdicts and counters) and the
//! definition the property test checks against the worker ("garbage"
//! implies `Decision::Drop`). No I/O, no clock: the caller passes `now`
//! (nanoseconds of `CLOCK_MONOTONIC`, what `bpf_ktime_get_ns` reads).
//!
//! The steps (docs/gate.md):
//! 1. not ours ([`xdp`]: not Ethernet/IPv4/IPv6/UDP to our port and
//!    address; [`sock`]: not a UDP datagram the filter can read): pass;
//! 2. garbage ([`admit`]): shorter than a header, or QR=1: drop;
//! 3. one whole question: the name is walked label by label
//!    ([`walk_name`]); more than [`MAX_LABELS`] labels pay the deep bucket;
//! 4. the closest enclosing zone in [`Maps::zones`]: if armed and the name
//!    does not exist by its filter, its NXDOMAIN bucket pays or drop;
//! 5. trusted sources admit; known ones pay their prefix's bucket,
//!    unknown ones their prefix's bucket and the global one, or drop.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use levee_wire::hash::mix;

use super::{label_hash, root_hash, EXACT, MAX_LABELS, SUBTREE};

/// Counter indices of the `stats` map.
pub mod reason {
    /// Not a DNS packet for us.
    pub const PASS_OTHER: usize = 0;
    /// Shorter than a DNS header.
    pub const GARBAGE_SHORT: usize = 1;
    /// QR=1.
    pub const GARBAGE_RESPONSE: usize = 2;
    /// Reserved: the parser drops no question (a malformed one gets FORMERR).
    pub const GARBAGE_QUESTION: usize = 3;
    /// A name that does not exist beyond its zone's budget.
    pub const DROP_NX_BUDGET: usize = 4;
    /// An unknown source beyond its prefix's budget.
    pub const DROP_PREFIX_BUDGET: usize = 5;
    /// An unknown source beyond the global budget for unknown sources.
    pub const DROP_UNKNOWN_BUDGET: usize = 6;
    /// A name of more than `MAX_LABELS` labels beyond the deep budget.
    pub const DROP_DEEP: usize = 7;
    /// Admitted: a known source.
    pub const ADMIT_KNOWN: usize = 8;
    /// Admitted: an unknown source within its budgets.
    pub const ADMIT_UNKNOWN: usize = 9;
    /// A name that does not exist, paid by its zone's budget.
    pub const NX_PAID: usize = 10;
    /// XDP: redirected to an AF_XDP socket.
    pub const REDIRECT_XSK: usize = 11;
    /// XDP: admitted, no AF_XDP socket on the queue: passed to the stack.
    pub const PASS_NO_XSK: usize = 12;
}

/// Counters reported (`stats` has 16 slots, these are used).
pub const REASONS: usize = 13;
/// Slots of the `stats` map.
pub const STATS_SLOTS: usize = 16;
/// `config.flags`: the gate judges; without it everything passes.
pub const FLAG_ON: u16 = 1;
/// `config.flags`: only destinations in `addrs` are ours.
pub const FLAG_ADDRS: u16 = 2;
/// Octets of the message the programs copy (header and a whole name).
pub const MSG_MAX: usize = 288;
/// Most probes per key the programs make.
pub const MAX_PROBES: u8 = 16;
/// Words of the `bloom` map.
pub const BLOOM_WORDS: u32 = 1 << 21;
/// Entries of `zones` and `zone_buckets`.
pub const MAX_ZONES: u32 = 4096;
/// A nanosecond-scaled token.
pub const NANO: u64 = 1_000_000_000;

/// A budget: `rate` tokens per second, at most `burst` tokens (per CPU
/// in the maps).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Budget {
    /// Tokens per second.
    pub rate: u32,
    /// Most tokens saved.
    pub burst: u32,
}

/// The `config` map's value, as the programs read it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Config {
    /// levee's DNS port (XDP only: a socket's datagrams are all levee's).
    pub port: u16,
    /// [`FLAG_ON`], [`FLAG_ADDRS`].
    pub flags: u16,
    /// The hash seed of [`super::suffix_hashes`].
    pub seed: u64,
    /// Per source prefix (IPv4 /24, IPv6 /56), per CPU.
    pub prefix: Budget,
    /// All unknown sources, per CPU.
    pub unknown: Budget,
    /// Names of more than [`MAX_LABELS`] labels, per CPU.
    pub deep: Budget,
    /// [`apex_bit`] of every key of [`Maps::zones`] (or more): a suffix
    /// whose bit is clear is looked up in no map.
    pub apex_bits: u64,
}

/// The bit of [`Config::apex_bits`] for a zone's apex hash.
pub fn apex_bit(h: u64) -> u64 {
    1 << (h >> 58)
}

/// A `zones` entry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Zone {
    /// Under a random-subdomain flood: names that do not exist pay `nx`.
    pub armed: bool,
    /// First word of the filter in `bloom`.
    pub word_off: u32,
    /// Log2 of the filter's bits.
    pub log2_bits: u8,
    /// Probes per key.
    pub k: u8,
    /// The NXDOMAIN budget, per CPU.
    pub nx: Budget,
    /// Index in `zone_buckets`.
    pub zone_id: u32,
}

/// A token bucket's state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bucket {
    /// Tokens times 10^9.
    pub tokens_nano: u64,
    /// When it was last refilled.
    pub last_ns: u64,
}

impl Bucket {
    /// A full bucket at `now`.
    pub fn full(b: Budget, now: u64) -> Bucket {
        Bucket { tokens_nano: b.burst as u64 * NANO, last_ns: now }
    }

    /// Refills for the time since the last call (at most 2^32 ns counted),
    /// caps at the burst, and pays one token if there is one.
    pub fn pay(&mut self, b: Budget, now: u64) -> bool {
        let cap = b.burst as u64 * NANO;
        let el = now.saturating_sub(self.last_ns).min(0xffff_ffff);
        let add = (el * b.rate as u64).min(cap);
        let t = (self.tokens_nano.min(cap) + add).min(cap);
        self.last_ns = now;
        if t >= NANO {
            self.tokens_nano = t - NANO;
            true
        } else {
            self.tokens_nano = t;
            false
        }
    }
}

/// An address as the maps key it: 16 octets, IPv4 mapped (`::ffff:a.b.c.d`).
pub type Addr = [u8; 16];

/// The map key of an address.
pub fn addr(ip: IpAddr) -> Addr {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    }
}

fn is_v4(a: &Addr) -> bool {
    a[..10].iter().all(|&b| b == 0) && a[10] == 0xff && a[11] == 0xff
}

/// The `known` key of a source: IPv4 /32, IPv6 /64.
pub fn known_key(a: &Addr) -> Addr {
    let mut k = *a;
    if !is_v4(a) {
        k[8..].fill(0);
    }
    k
}

/// The `prefixes` key of a source: IPv4 /24, IPv6 /56.
pub fn prefix_key(a: &Addr) -> Addr {
    let mut k = *a;
    if is_v4(a) {
        k[15] = 0;
    } else {
        k[7..].fill(0);
    }
    k
}

/// One CPU's share of the per-CPU maps.
#[derive(Clone, Debug, Default)]
pub struct PerCpu {
    /// `zone_buckets` (absent = zeroed).
    pub zone_buckets: HashMap<u32, Bucket>,
    /// `prefixes`.
    pub prefixes: HashMap<Addr, Bucket>,
    /// `globals`: 0 unknown sources, 1 deep names.
    pub globals: [Bucket; 2],
    /// `stats`.
    pub stats: [u64; STATS_SLOTS],
}

/// The maps' contents.
#[derive(Clone, Debug, Default)]
pub struct Maps {
    /// `config`.
    pub config: Config,
    /// `addrs`.
    pub addrs: HashSet<Addr>,
    /// `zones`, by apex hash.
    pub zones: HashMap<u64, Zone>,
    /// `bloom` (absent = zero).
    pub bloom: HashMap<u32, u64>,
    /// `known`: expiry in ns.
    pub known: HashMap<Addr, u64>,
    /// Per CPU.
    pub cpus: Vec<PerCpu>,
}

impl Maps {
    /// Empty maps for `cpus` CPUs.
    pub fn new(cpus: usize) -> Maps {
        Maps { cpus: vec![PerCpu::default(); cpus.max(1)], ..Maps::default() }
    }

    /// Writes `filter` at `word_off` of `bloom`.
    pub fn put_filter(&mut self, word_off: u32, filter: &super::Filter) {
        for (i, &w) in filter.words.iter().enumerate() {
            self.bloom.insert(word_off + i as u32, w);
        }
    }

    /// The counters summed over CPUs.
    pub fn stats(&self) -> [u64; STATS_SLOTS] {
        let mut s = [0; STATS_SLOTS];
        for c in &self.cpus {
            for (a, b) in s.iter_mut().zip(c.stats) {
                *a += b;
            }
        }
        s
    }

    fn probe(&self, z: &Zone, h: u64, tag: u64) -> bool {
        let x = mix(h ^ tag);
        let (h1, h2) = (x as u32, (x >> 32) as u32 | 1);
        let mask = ((1u64 << (z.log2_bits & 63)) - 1) as u32;
        (0..z.k.min(MAX_PROBES) as u32).all(|j| {
            let bit = h1.wrapping_add(j.wrapping_mul(h2)) & mask;
            let w = z.word_off.wrapping_add(bit >> 6);
            w < BLOOM_WORDS && self.bloom.get(&w).is_some_and(|v| v & (1 << (bit & 63)) != 0)
        })
    }
}

/// What the walk of the question name found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Walked {
    /// Label hashes ([`label_hash`]) of the first [`MAX_LABELS`] labels.
    pub label_hashes: Vec<u64>,
    /// Labels of the name.
    pub labels: usize,
    /// Offset after the root label.
    pub end: usize,
}

/// Walks the question name at offset 12 as the parser does (no pointer,
/// labels of at most 63 octets, at most 255 octets): `None` where the
/// parser finds no name.
pub fn walk_name(seed: u64, msg: &[u8]) -> Option<Walked> {
    let mut p = 12;
    let mut w = Walked { label_hashes: Vec::new(), labels: 0, end: 0 };
    while p < 12 + 255 {
        let len = *msg.get(p)? as usize;
        if len == 0 {
            w.end = p + 1;
            return Some(w);
        }
        if len > 63 || p + 1 + len > msg.len() || p + 1 + len > 12 + 255 {
            return None;
        }
        if w.labels < MAX_LABELS {
            w.label_hashes.push(label_hash(seed, &msg[p + 1..p + 1 + len]));
        }
        w.labels += 1;
        p += 1 + len;
    }
    None
}

/// Steps 2-5 on a DNS message from `src` (counted into `cpu`'s stats):
/// whether it is admitted.
pub fn admit(m: &mut Maps, cpu: usize, now: u64, src: &Addr, msg: &[u8]) -> bool {
    let cfg = m.config;
    let r = judge(m, cpu, now, src, msg, &cfg);
    let c = &mut m.cpus[cpu];
    for reason in r {
        c.stats[reason] += 1;
    }
    matches!(r.last(), Some(&reason::ADMIT_KNOWN) | Some(&reason::ADMIT_UNKNOWN))
}

/// The reasons counted for a message, the verdict's last.
fn judge(m: &mut Maps, cpu: usize, now: u64, src: &Addr, msg: &[u8], cfg: &Config) -> Counted {
    use reason::*;
    if msg.len() < 12 {
        return Counted::one(GARBAGE_SHORT);
    }
    if msg[2] & 0x80 != 0 {
        return Counted::one(GARBAGE_RESPONSE);
    }
    let mut counted = Counted::default();
    let qd = u16::from_be_bytes([msg[4], msg[5]]);
    let walked = if qd == 1 { walk_name(cfg.seed, msg).filter(|w| w.end + 4 <= msg.len()) } else { None };
    if let Some(w) = walked {
        if w.labels > MAX_LABELS {
            if !m.cpus[cpu].globals[1].pay(cfg.deep, now) {
                return Counted::one(DROP_DEEP);
            }
        } else if let Some((z, exists)) = closest_zone(m, cfg.seed, &w) {
            if z.armed && !exists {
                let paid =
                    z.zone_id < MAX_ZONES && m.cpus[cpu].zone_buckets.entry(z.zone_id).or_default().pay(z.nx, now);
                if !paid {
                    return Counted::one(DROP_NX_BUDGET);
                }
                counted.push(NX_PAID);
            }
        }
    }
    // Trusted (no expiry) always pass; other known sources pay their
    // prefix's bucket but not the global one (a spoofed flood of an
    // existing name earns "known" by its positive answers too).
    let until = m.known.get(&known_key(src)).copied().unwrap_or(0);
    if until == u64::MAX {
        counted.push(ADMIT_KNOWN);
        return counted;
    }
    let c = &mut m.cpus[cpu];
    let pb = c.prefixes.entry(prefix_key(src)).or_insert(Bucket::full(cfg.prefix, now));
    if !pb.pay(cfg.prefix, now) {
        counted.push(DROP_PREFIX_BUDGET);
        return counted;
    }
    if now < until {
        counted.push(ADMIT_KNOWN);
        return counted;
    }
    if !c.globals[0].pay(cfg.unknown, now) {
        counted.push(DROP_UNKNOWN_BUDGET);
        return counted;
    }
    counted.push(ADMIT_UNKNOWN);
    counted
}

/// The closest enclosing zone of a walked name and whether the name
/// exists by its filter (checked only for an armed zone).
fn closest_zone(m: &Maps, seed: u64, w: &Walked) -> Option<(Zone, bool)> {
    let n = w.labels;
    let mut h = root_hash(seed);
    let mut found: Option<(Zone, usize, bool)> = None;
    for i in (0..=n).rev() {
        if i < n {
            h = mix(h ^ w.label_hashes[i]);
        }
        if let Some(z) = m.zones.get(&h).filter(|_| m.config.apex_bits & apex_bit(h) != 0) {
            found = Some((*z, i, false));
        }
        if let Some((z, apex, exists)) = &mut found {
            if z.armed && !*exists {
                if i == 0 {
                    *exists = m.probe(z, h, EXACT);
                } else if i < *apex {
                    *exists = m.probe(z, h, SUBTREE);
                }
            }
        }
    }
    found.map(|(z, _, e)| (z, e))
}

/// Reasons counted for one packet (at most two: `nx_paid` and the verdict).
#[derive(Clone, Copy, Debug, Default)]
struct Counted {
    r: [usize; 2],
    n: usize,
}

impl Counted {
    fn one(r: usize) -> Counted {
        Counted { r: [r, 0], n: 1 }
    }
    fn push(&mut self, r: usize) {
        self.r[self.n] = r;
        self.n += 1;
    }
    fn last(&self) -> Option<&usize> {
        self.r[..self.n].last()
    }
}

impl IntoIterator for Counted {
    type Item = usize;
    type IntoIter = std::iter::Take<std::array::IntoIter<usize, 2>>;
    fn into_iter(self) -> Self::IntoIter {
        self.r.into_iter().take(self.n)
    }
}

/// What the XDP program does with a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XdpAction {
    /// To the stack.
    Pass,
    /// Dropped.
    Drop,
    /// To the AF_XDP socket of the receive queue.
    Redirect,
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

/// Step 1 of the XDP program: the source and the UDP payload of a frame
/// that is ours.
pub fn xdp_payload<'a>(m: &Maps, frame: &'a [u8]) -> Option<(Addr, &'a [u8])> {
    let cfg = &m.config;
    if cfg.flags & FLAG_ON == 0 || frame.len() < 14 {
        return None;
    }
    let (src, dst, udp) = match be16(frame, 12)? {
        0x0800 => {
            let ip = frame.get(14..34)?;
            let ihl = (ip[0] & 15) as usize;
            if ip[0] >> 4 != 4 || ihl < 5 || ip[9] != 17 || be16(ip, 6)? & 0x3fff != 0 {
                return None;
            }
            let v4 = |o: usize| addr(IpAddr::from(<[u8; 4]>::try_from(&ip[o..o + 4]).unwrap()));
            (v4(12), v4(16), 14 + ihl * 4)
        }
        0x86dd => {
            let ip = frame.get(14..54)?;
            if ip[0] >> 4 != 6 || ip[6] != 17 {
                return None;
            }
            (ip[8..24].try_into().unwrap(), ip[24..40].try_into().unwrap(), 54)
        }
        _ => return None,
    };
    frame.get(udp..udp + 8)?;
    if be16(frame, udp + 2)? != cfg.port || (cfg.flags & FLAG_ADDRS != 0 && !m.addrs.contains(&dst)) {
        return None;
    }
    let ulen = be16(frame, udp + 4)? as usize;
    if ulen < 8 || udp + ulen > frame.len() {
        return None;
    }
    Some((src, &frame[udp + 8..udp + ulen]))
}

/// The XDP program on a frame received on a queue that has an AF_XDP
/// socket (`xsk`) or not.
pub fn xdp(m: &mut Maps, cpu: usize, now: u64, frame: &[u8], xsk: bool) -> XdpAction {
    let Some((src, payload)) = xdp_payload(m, frame) else {
        m.cpus[cpu].stats[reason::PASS_OTHER] += 1;
        return XdpAction::Pass;
    };
    if !admit(m, cpu, now, &src, payload) {
        return XdpAction::Drop;
    }
    let (r, act) =
        if xsk { (reason::REDIRECT_XSK, XdpAction::Redirect) } else { (reason::PASS_NO_XSK, XdpAction::Pass) };
    m.cpus[cpu].stats[r] += 1;
    act
}

/// Step 1 of the socket filter: `skb` is the datagram from its network
/// header to its end, `at` where `skb->data` is (0: at the network header,
/// as in `BPF_PROG_TEST_RUN`; a live UDP socket's filter sees it at the
/// UDP header).
pub fn sock_payload<'a>(m: &Maps, skb: &'a [u8], at_udp: bool) -> Option<(Addr, &'a [u8])> {
    if m.config.flags & FLAG_ON == 0 {
        return None;
    }
    let (src, l4) = match *skb.first()? >> 4 {
        4 => {
            let ip = skb.get(..20)?;
            let ihl = (ip[0] & 15) as usize;
            if ihl < 5 || ip[9] != 17 {
                return None;
            }
            (addr(IpAddr::from(<[u8; 4]>::try_from(&ip[12..16]).unwrap())), ihl * 4)
        }
        6 => {
            let ip = skb.get(..40)?;
            if ip[6] != 17 {
                return None;
            }
            (ip[8..24].try_into().unwrap(), 40)
        }
        _ => return None,
    };
    skb.get(l4..l4 + 8)?;
    let ulen = be16(skb, l4 + 4)? as usize;
    // The length of what skb->data covers: from the UDP header or the IP one.
    let data_len = if at_udp { skb.len() - l4 } else { skb.len() };
    if ulen < 8 || ulen > data_len {
        return None;
    }
    let at = data_len - ulen;
    if at != 0 && at != l4 {
        return None;
    }
    let start = if at_udp { l4 } else { 0 } + at + 8;
    Some((src, skb.get(start..start + ulen - 8)?))
}

/// The socket filter on a datagram (see [`sock_payload`]): whether it is
/// kept.
pub fn sock(m: &mut Maps, cpu: usize, now: u64, skb: &[u8], at_udp: bool) -> bool {
    let Some((src, payload)) = sock_payload(m, skb, at_udp) else {
        m.cpus[cpu].stats[reason::PASS_OTHER] += 1;
        return true;
    };
    admit(m, cpu, now, &src, payload)
}

#[cfg(test)]
mod tests;
