//! Per-thread query counters for the operator surface (issue 6).
//!
//! Each UDP worker and the TCP thread own one [`Counters`] (allocated at
//! start, on its own cache lines, `#[repr(align(128))]`) and are its only
//! writer: a count is a relaxed load and store, no locked instruction, no
//! allocation, no lock, no write to a line another thread writes. The
//! management runtime reads and sums them when scraped ([`Sum`]).
//!
//! What is counted per response written ([`Counters::count`]): the answer
//! class, the rcode, the query type (a fixed table of common types and
//! "other"), the zone (by statistics id, see [`ZoneIds`]) with its
//! NXDOMAIN count, and, for one query in [`SAMPLE`], the source prefix in
//! a small heavy-hitter table ([`TopPrefixes`], space-saving with decay).
//!
//! Also here: the zones' statistics ids ([`ZoneIds`]) and the management
//! listener's refusals ([`Refused`]).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use levee_answer::policy::bump;
use levee_answer::{Kind, Meta, NO_ZONE};
use levee_wire::header::rcode;

/// Zones with their own counters; ids from `ZONE_SLOTS - 1` on share the
/// last slot (reported as zone `"(other)"`).
pub const ZONE_SLOTS: usize = 1024;
/// One query in `SAMPLE` goes into the heavy-hitter table.
pub const SAMPLE: u64 = 16;
/// Entries in each heavy-hitter table.
pub const TOP_K: usize = 32;

/// Query types with their own counter, in the order of the `qtype` label;
/// every other type counts as `"other"`.
pub const QTYPES: [(u16, &str); 21] = [
    (1, "A"),
    (2, "NS"),
    (5, "CNAME"),
    (6, "SOA"),
    (12, "PTR"),
    (15, "MX"),
    (16, "TXT"),
    (28, "AAAA"),
    (33, "SRV"),
    (35, "NAPTR"),
    (43, "DS"),
    (46, "RRSIG"),
    (47, "NSEC"),
    (48, "DNSKEY"),
    (50, "NSEC3"),
    (64, "SVCB"),
    (65, "HTTPS"),
    (257, "CAA"),
    (251, "IXFR"),
    (252, "AXFR"),
    (255, "ANY"),
];
/// Number of qtype counters (the table plus "other").
pub const NQTYPES: usize = QTYPES.len() + 1;

/// Answer classes, in the order of [`Counters::kinds`].
pub const KINDS: [&str; 5] = ["answer", "nodata", "nxdomain", "referral", "error"];

#[inline]
fn qtype_index(t: u16) -> usize {
    match t {
        1 => 0,
        2 => 1,
        5 => 2,
        6 => 3,
        12 => 4,
        15 => 5,
        16 => 6,
        28 => 7,
        33 => 8,
        35 => 9,
        43 => 10,
        46 => 11,
        47 => 12,
        48 => 13,
        50 => 14,
        64 => 15,
        65 => 16,
        257 => 17,
        251 => 18,
        252 => 19,
        255 => 20,
        _ => QTYPES.len(),
    }
}

#[inline]
fn get(c: &AtomicU64) -> u64 {
    c.load(Ordering::Relaxed)
}

/// The heavy-hitter key of a source: its /24 (IPv4) or /56 (IPv6) with a
/// tag in the low octet, never 0.
#[inline]
pub fn prefix_key(ip: IpAddr) -> u64 {
    match ip {
        IpAddr::V4(v4) => (((u32::from(v4) & 0xFFFF_FF00) as u64) << 8) | 4,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => prefix_key(IpAddr::V4(v4)),
            None => (((u128::from(v6) >> 72) as u64) << 8) | 6,
        },
    }
}

/// The text of a [`prefix_key`]: `192.0.2.0/24`, `2001:db8:0:100::/56`.
pub fn prefix_text(key: u64) -> String {
    match key & 0xFF {
        4 => format!("{}/24", Ipv4Addr::from((key >> 8) as u32)),
        _ => format!("{}/56", Ipv6Addr::from(((key >> 8) as u128) << 72)),
    }
}

/// A fixed-size heavy-hitter table (space-saving): the keys seen most in
/// the sample, with counts halved every second so it follows the current
/// traffic. Each entry keeps the count it inherited when it took its slot
/// (its possible overestimate), and readers use count minus that: under a
/// flood from random spoofed sources every slot churns and nothing is
/// reported, while a prefix that really sends a large share stands out.
/// Read concurrently without a lock: a reader may see a key with its
/// neighbour's count for an instant, which an approximate top list
/// tolerates.
#[repr(align(128))]
pub struct TopPrefixes {
    keys: [AtomicU64; TOP_K],
    counts: [AtomicU64; TOP_K],
    errors: [AtomicU64; TOP_K],
}

impl Default for TopPrefixes {
    fn default() -> Self {
        TopPrefixes {
            keys: std::array::from_fn(|_| AtomicU64::new(0)),
            counts: std::array::from_fn(|_| AtomicU64::new(0)),
            errors: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

impl TopPrefixes {
    /// Counts one sampled key (writer only).
    pub fn add(&self, key: u64) {
        let mut min = 0;
        let mut min_count = u64::MAX;
        for i in 0..TOP_K {
            if get(&self.keys[i]) == key {
                bump(&self.counts[i], 1);
                return;
            }
            let c = get(&self.counts[i]);
            if c < min_count {
                min_count = c;
                min = i;
            }
        }
        self.keys[min].store(key, Ordering::Relaxed);
        self.counts[min].store(min_count + 1, Ordering::Relaxed);
        self.errors[min].store(min_count, Ordering::Relaxed);
    }

    /// Halves every count (writer only; once a second).
    pub fn decay(&self) {
        for c in self.counts.iter().chain(&self.errors) {
            let v = get(c);
            if v != 0 {
                c.store(v / 2, Ordering::Relaxed);
            }
        }
    }

    /// Adds the current entries into `into` (key → decayed sample count
    /// it is sure of: the count less the inherited overestimate).
    pub fn collect(&self, into: &mut HashMap<u64, u64>) {
        for i in 0..TOP_K {
            let (k, c, e) = (get(&self.keys[i]), get(&self.counts[i]), get(&self.errors[i]));
            let sure = c.saturating_sub(e);
            if k != 0 && sure != 0 {
                *into.entry(k).or_default() += sure;
            }
        }
    }
}

/// One thread's counters (one writer: the thread that owns it).
#[repr(align(128))]
pub struct Counters {
    /// Responses written, by answer class ([`KINDS`]).
    pub kinds: [AtomicU64; 5],
    /// Responses written, by rcode (low four bits).
    pub rcodes: [AtomicU64; 16],
    /// Queries answered, by type ([`QTYPES`], then "other").
    pub qtypes: [AtomicU64; NQTYPES],
    /// Datagrams (UDP) or messages (TCP) received.
    pub packets: AtomicU64,
    /// Receive batches (UDP).
    pub batches: AtomicU64,
    /// The second of the last heavy-hitter decay, and the sample counter.
    clock: AtomicU64,
    sampled: AtomicU64,
    /// Responses by zone statistics id.
    pub zone_responses: Box<[AtomicU64]>,
    /// NXDOMAIN responses by zone statistics id.
    pub zone_nxdomain: Box<[AtomicU64]>,
    /// Source prefixes seen most (sampled).
    pub top: TopPrefixes,
}

impl Default for Counters {
    fn default() -> Self {
        let zeros = || (0..ZONE_SLOTS).map(|_| AtomicU64::new(0)).collect::<Box<[AtomicU64]>>();
        Counters {
            kinds: Default::default(),
            rcodes: Default::default(),
            qtypes: std::array::from_fn(|_| AtomicU64::new(0)),
            packets: AtomicU64::new(0),
            batches: AtomicU64::new(0),
            clock: AtomicU64::new(0),
            sampled: AtomicU64::new(0),
            zone_responses: zeros(),
            zone_nxdomain: zeros(),
            top: TopPrefixes::default(),
        }
    }
}

impl Counters {
    /// Counts one response written for a query from `client` (writer only).
    #[inline]
    pub fn count(&self, meta: &Meta, client: IpAddr) {
        bump(&self.kinds[meta.kind.index()], 1);
        bump(&self.rcodes[rcode::header_bits(meta.rcode) as usize], 1);
        bump(&self.qtypes[qtype_index(meta.qtype)], 1);
        if meta.zone != NO_ZONE {
            let z = (meta.zone as usize).min(ZONE_SLOTS - 1);
            bump(&self.zone_responses[z], 1);
            if meta.kind == Kind::NxDomain {
                bump(&self.zone_nxdomain[z], 1);
            }
        }
        let s = get(&self.sampled).wrapping_add(1);
        self.sampled.store(s, Ordering::Relaxed);
        if s % SAMPLE == 0 {
            self.top.add(prefix_key(client));
        }
    }

    /// Counts `received` packets at wall-clock second `now` (writer only;
    /// once per UDP batch, or per TCP message); decays the heavy hitters
    /// when the second changed.
    #[inline]
    pub fn received(&self, received: u64, now: u64) {
        bump(&self.packets, received);
        bump(&self.batches, 1);
        if get(&self.clock) != now {
            self.clock.store(now, Ordering::Relaxed);
            self.top.decay();
        }
    }
}

/// The counters of every thread, summed when read.
#[derive(Clone, Default)]
pub struct Set {
    /// One per UDP worker, in worker order.
    pub udp: Vec<Arc<Counters>>,
    /// The TCP thread's.
    pub tcp: Arc<Counters>,
    /// The DNS-over-TLS thread's.
    pub tls: Arc<Counters>,
    /// The DNS-over-QUIC thread's.
    pub quic: Arc<Counters>,
}

/// A sum of [`Counters`] over some threads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sum {
    /// By answer class.
    pub kinds: [u64; 5],
    /// By rcode.
    pub rcodes: [u64; 16],
    /// By query type.
    pub qtypes: [u64; NQTYPES],
    /// Packets received.
    pub packets: u64,
    /// Responses by zone id (`ZONE_SLOTS` entries).
    pub zone_responses: Vec<u64>,
    /// NXDOMAIN by zone id.
    pub zone_nxdomain: Vec<u64>,
}

impl Sum {
    /// Sums `counters`.
    pub fn of<'a>(counters: impl IntoIterator<Item = &'a Arc<Counters>>) -> Sum {
        let mut s = Sum { zone_responses: vec![0; ZONE_SLOTS], zone_nxdomain: vec![0; ZONE_SLOTS], ..Sum::default() };
        for c in counters {
            for (d, v) in s.kinds.iter_mut().zip(&c.kinds) {
                *d += get(v);
            }
            for (d, v) in s.rcodes.iter_mut().zip(&c.rcodes) {
                *d += get(v);
            }
            for (d, v) in s.qtypes.iter_mut().zip(&c.qtypes) {
                *d += get(v);
            }
            s.packets += get(&c.packets);
            for (d, v) in s.zone_responses.iter_mut().zip(c.zone_responses.iter()) {
                *d += get(v);
            }
            for (d, v) in s.zone_nxdomain.iter_mut().zip(c.zone_nxdomain.iter()) {
                *d += get(v);
            }
        }
        s
    }

    /// Responses written.
    pub fn responses(&self) -> u64 {
        self.kinds.iter().sum()
    }
}

/// The top source prefixes over every thread: `(prefix, estimated
/// queries per second)`, most first, at most `n`. `into_second` is how far
/// the wall clock is into the current second (0..1): the tables were
/// halved at its start.
pub fn top_prefixes(set: &Set, n: usize, into_second: f64) -> Vec<(String, u64)> {
    let mut m = HashMap::new();
    for c in set.udp.iter().chain([&set.tcp, &set.tls, &set.quic]) {
        c.top.collect(&mut m);
    }
    // A prefix seen once in the sample is noise (any spoofed source).
    let mut v: Vec<(u64, u64)> = m.into_iter().filter(|&(_, c)| c >= 2).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v.truncate(n);
    // With halving at the start of every second, a steady rate r of
    // sampled queries holds the count at r (1 + into_second).
    let f = 1.0 + into_second.clamp(0.0, 1.0);
    v.into_iter().map(|(k, c)| (prefix_text(k), ((c * SAMPLE) as f64 / f) as u64)).collect()
}

/// Zone statistics ids: each zone name gets an id the first time it is
/// loaded and keeps it across reloads, so the per-zone counters of the
/// workers stay attached to the same zone. Used at load time only.
#[derive(Default)]
pub struct ZoneIds {
    inner: Mutex<ZoneIdsInner>,
}

#[derive(Default)]
struct ZoneIdsInner {
    ids: HashMap<Vec<u8>, u16>,
    names: Vec<String>,
    loaded: HashMap<u16, (usize, f64)>,
}

impl ZoneIds {
    /// Gives the zones of `set` inserted or replaced since ids were last
    /// given (`ZoneSet::set_new_stat_ids`; a set built anew: all of
    /// them) their ids, and records when each of those zones (a new
    /// snapshot, not one kept after a failed load) was loaded. A
    /// publication that clones the served set and changes a few zones
    /// costs those few, not one lookup per zone served.
    pub fn assign(&self, set: &mut levee_zone::ZoneSet) {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let inner = &mut *g;
        let fresh = set.set_new_stat_ids(|apex| {
            if let Some(&id) = inner.ids.get(apex) {
                return id;
            }
            let id = inner.names.len().min(ZONE_SLOTS - 1) as u16;
            if (id as usize) < ZONE_SLOTS - 1 {
                inner.names.push(levee_wire::name::to_text(apex));
                inner.ids.insert(apex.to_vec(), id);
            }
            id
        });
        if fresh.is_empty() {
            return;
        }
        let now =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0);
        for i in fresh {
            let (e, id) = (&set.entries()[i as usize], set.stat_ids()[i as usize]);
            let ptr = Arc::as_ptr(&e.zone) as usize;
            let slot = inner.loaded.entry(id).or_insert((0, now));
            if slot.0 != ptr {
                *slot = (ptr, now);
            }
        }
    }

    /// The zone name of an id (`"(other)"` for the shared last slot).
    #[cfg(test)]
    pub fn name(&self, id: u16) -> String {
        let g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        g.names.get(id as usize).cloned().unwrap_or_else(|| "(other)".into())
    }

    /// When the zone with this id was last loaded (Unix seconds).
    pub fn loaded_at(&self, id: u16) -> Option<f64> {
        let g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        g.loaded.get(&id).map(|&(_, t)| t)
    }

    /// Every id with a name, in id order.
    pub fn all(&self) -> Vec<(u16, String)> {
        let g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        g.names.iter().enumerate().map(|(i, n)| (i as u16, n.clone())).collect()
    }
}

/// Management requests refused, by reason
/// (`levee_management_refused_total`; counted by `ops::http`).
#[derive(Default)]
pub struct Refused {
    /// Unknown `Host`.
    pub host: AtomicU64,
    /// Cross-origin or cross-site.
    pub origin: AtomicU64,
    /// No token, or an unknown one.
    pub token: AtomicU64,
    /// A token without the scope the request needs.
    pub scope: AtomicU64,
    /// Connections closed to admit others (slow clients) or refused at the caps.
    pub evicted: AtomicU64,
    /// TLS handshakes that failed or took too long.
    pub tls: AtomicU64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(kind: Kind, rcode: u16, qtype: u16, zone: u16) -> Meta {
        Meta { kind, rcode, qtype, zone, ..Meta::default() }
    }

    #[test]
    fn counts_and_sums() {
        let a = Arc::new(Counters::default());
        let b = Arc::new(Counters::default());
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        a.count(&meta(Kind::Answer, 0, 1, 0), ip);
        a.count(&meta(Kind::NxDomain, 3, 28, 0), ip);
        b.count(&meta(Kind::Error, 5, 99, NO_ZONE), ip);
        b.count(&meta(Kind::NoData, 0, 16, 2000), ip);
        a.received(3, 1);
        let s = Sum::of([&a, &b]);
        assert_eq!(s.kinds, [1, 1, 1, 0, 1]);
        assert_eq!((s.rcodes[0], s.rcodes[3], s.rcodes[5]), (2, 1, 1));
        assert_eq!(s.qtypes[0], 1);
        assert_eq!(s.qtypes[7], 1);
        assert_eq!(s.qtypes[6], 1);
        assert_eq!(s.qtypes[QTYPES.len()], 1, "type 99 is other");
        assert_eq!((s.zone_responses[0], s.zone_nxdomain[0]), (2, 1));
        assert_eq!(s.zone_responses[ZONE_SLOTS - 1], 1, "ids past the table share the last slot");
        assert_eq!(s.packets, 3);
        assert_eq!(s.responses(), 4);
        for (i, (t, _)) in QTYPES.iter().enumerate() {
            assert_eq!(qtype_index(*t), i);
        }
    }

    #[test]
    fn prefixes() {
        assert_eq!(prefix_text(prefix_key("192.0.2.77".parse().unwrap())), "192.0.2.0/24");
        assert_eq!(prefix_text(prefix_key("::ffff:192.0.2.77".parse().unwrap())), "192.0.2.0/24");
        assert_eq!(prefix_text(prefix_key("2001:db8:1:2ff::1".parse().unwrap())), "2001:db8:1:200::/56");
    }

    #[test]
    fn heavy_hitters_survive_a_spoofed_flood() {
        let set = Set {
            udp: vec![Arc::new(Counters::default())],
            tcp: Arc::default(),
            tls: Arc::default(),
            quic: Arc::default(),
        };
        let c = &set.udp[0];
        let heavy: IpAddr = "198.51.100.9".parse().unwrap();
        let m = meta(Kind::NxDomain, 3, 1, 0);
        let mut x = 0x0B00_0000u32;
        for sec in 0..5u64 {
            c.received(1, sec);
            for i in 0..64_000u32 {
                // A third from one prefix, the rest from random /24s.
                if i % 3 == 0 {
                    c.count(&m, heavy);
                } else {
                    x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    c.count(&m, IpAddr::V4(Ipv4Addr::from(x)));
                }
            }
        }
        let top = top_prefixes(&set, 5, 1.0);
        assert_eq!(top[0].0, "198.51.100.0/24", "{top:?}");
        // 21333 q/s from it: the estimate is within 10 %.
        assert!(top[0].1 > 19_000 && top[0].1 < 23_500, "{top:?}");
        // The random sources (each a few queries) are not reported as heavy.
        assert!(top.iter().skip(1).all(|(_, q)| *q < 200), "{top:?}");
    }

    #[test]
    fn zone_ids_survive_reloads() {
        use levee_zone::{Source, ZoneEntry, ZoneSet};
        let zone = |n: &str| {
            let text = format!("$ORIGIN {n}\n@ 3600 IN SOA ns hm 7 1 1 1 1\n@ IN NS ns\nns IN A 192.0.2.1\n");
            let origin = levee_wire::name::from_text(n, None).unwrap();
            let b = levee_zone::load(Source::Memory { name: n, data: text.as_bytes() }, &origin).unwrap();
            ZoneEntry::new(Arc::new(b.zone), levee_zone::Acl::none())
        };
        let ids = ZoneIds::default();
        let mut s1 = ZoneSet::new();
        s1.insert(zone("b.test."));
        ids.assign(&mut s1);
        let mut s2 = ZoneSet::new();
        s2.insert(zone("a.test."));
        s2.insert(zone("b.test."));
        ids.assign(&mut s2);
        assert_eq!(s2.stat_ids(), &[1, 0]);
        assert_eq!(ids.name(0), "b.test.");
        assert_eq!(ids.name(1), "a.test.");
        let e = s2.find(&levee_wire::name::from_text("x.b.test.", None).unwrap()).unwrap();
        assert_eq!(s2.stat_id(e), 0);
        assert!(ids.loaded_at(1).is_some());
    }

    /// A publication that clones the served set and adds or replaces a
    /// zone gives an id to that zone only; the others keep theirs, a
    /// zone removed (the set built anew without it) and added back gets
    /// its old id, and a replaced zone's load time moves.
    #[test]
    fn zone_ids_are_given_incrementally() {
        use levee_zone::{Source, ZoneEntry, ZoneSet};
        let zone = |n: &str| {
            let text = format!("$ORIGIN {n}\n@ 3600 IN SOA ns hm 7 1 1 1 1\n@ IN NS ns\nns IN A 192.0.2.1\n");
            let origin = levee_wire::name::from_text(n, None).unwrap();
            let b = levee_zone::load(Source::Memory { name: n, data: text.as_bytes() }, &origin).unwrap();
            ZoneEntry::new(Arc::new(b.zone), levee_zone::Acl::none())
        };
        let ids = ZoneIds::default();
        let mut s1 = ZoneSet::new();
        for n in ["a.test.", "b.test.", "c.test."] {
            s1.insert(zone(n));
        }
        ids.assign(&mut s1);
        assert_eq!(s1.stat_ids(), &[0, 1, 2]);
        let mut s2 = s1.clone();
        s2.insert(zone("d.test."));
        ids.assign(&mut s2);
        assert_eq!(s2.stat_ids(), &[0, 1, 2, 3]);
        assert_eq!(ids.name(3), "d.test.");
        // Removed: the set is built anew without b.test. (ids kept).
        let mut s3 = ZoneSet::new();
        for e in s2.entries().iter().filter(|e| e.zone.apex() != s1.entries()[1].zone.apex()) {
            s3.insert(e.clone());
        }
        ids.assign(&mut s3);
        assert_eq!(s3.stat_ids(), &[0, 2, 3]);
        // Added back, and c.test. replaced by a new version.
        let before = ids.loaded_at(2).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let mut s4 = s3.clone();
        s4.insert(zone("b.test."));
        s4.insert(zone("c.test."));
        ids.assign(&mut s4);
        assert_eq!(s4.stat_ids(), &[0, 2, 3, 1]);
        assert!(ids.loaded_at(2).unwrap() > before, "the replaced zone's load time moved");
        assert_eq!(ids.all().len(), 4);
    }
}
