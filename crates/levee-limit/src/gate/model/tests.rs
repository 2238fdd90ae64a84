//! One test per admission step of the model (docs/gate.md).

use std::net::IpAddr;

use super::reason::*;
use super::*;
use crate::gate::{suffix_hashes, Filter};

const SEED: u64 = 0x5eed;
const NOW: u64 = 10 * NANO;

fn wire(text: &str) -> Vec<u8> {
    // "" is the root, as "." is.
    levee_wire::name::from_text(if text.is_empty() { "." } else { text }, Some(&[0])).unwrap().to_vec()
}

fn query(name: &str) -> Vec<u8> {
    let mut m = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    m.extend_from_slice(&wire(name));
    m.extend_from_slice(&[0, 1, 0, 1]);
    m
}

fn src(s: &str) -> Addr {
    addr(s.parse::<IpAddr>().unwrap())
}

const BIG: Budget = Budget { rate: 0, burst: 1_000_000 };

fn maps() -> Maps {
    let mut m = Maps::new(2);
    m.config = Config { port: 53, flags: FLAG_ON, seed: SEED, prefix: BIG, unknown: BIG, deep: BIG, apex_bits: 0 };
    for c in &mut m.cpus {
        c.globals = [Bucket::full(BIG, 0); 2];
    }
    m
}

/// An armed zone `example` whose filter holds `www.example` and the
/// delegation `sub.example`, with an NXDOMAIN budget of `nx` tokens.
fn armed(m: &mut Maps, nx: u32) {
    let mut f = Filter::with_capacity(16, 16, 7);
    f.insert(suffix_hashes(SEED, &wire("www.example")).unwrap().name(), crate::gate::EXACT);
    f.insert(suffix_hashes(SEED, &wire("sub.example")).unwrap().name(), crate::gate::SUBTREE);
    m.put_filter(100, &f);
    let apex = suffix_hashes(SEED, &wire("example")).unwrap().name();
    let z = Zone {
        armed: true,
        word_off: 100,
        log2_bits: f.log2_bits,
        k: f.k,
        nx: Budget { rate: 0, burst: nx },
        zone_id: 3,
    };
    m.zones.insert(apex, z);
    m.config.apex_bits |= apex_bit(apex);
    for c in &mut m.cpus {
        c.zone_buckets.insert(3, Bucket::full(z.nx, 0));
    }
}

fn stat(m: &Maps, r: usize) -> u64 {
    m.stats()[r]
}

#[test]
fn off_passes_everything() {
    let mut m = maps();
    m.config.flags = 0;
    assert!(sock(&mut m, 0, NOW, &udp4_skb("192.0.2.1", &[0; 4]), false));
    assert_eq!(xdp(&mut m, 0, NOW, &frame4("192.0.2.1", "192.0.2.53", 53, &[0; 4]), false), XdpAction::Pass);
    assert_eq!(stat(&m, PASS_OTHER), 2);
}

#[test]
fn garbage_is_short_or_a_response() {
    let mut m = maps();
    let s = src("192.0.2.1");
    assert!(!admit(&mut m, 0, NOW, &s, &[0; 11]));
    let mut r = query("www.example");
    r[2] |= 0x80;
    assert!(!admit(&mut m, 0, NOW, &s, &r));
    // What levee answers is admitted: no question (FORMERR), NOTIFY,
    // a compression pointer (FORMERR), an unknown opcode (NOTIMP).
    let mut none = query("x");
    none.truncate(12);
    none[5] = 0;
    assert!(admit(&mut m, 0, NOW, &s, &none));
    let mut notify = query("www.example");
    notify[2] = 0x20;
    assert!(admit(&mut m, 0, NOW, &s, &notify));
    let mut ptr = query("");
    ptr.truncate(12);
    ptr.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
    assert!(admit(&mut m, 0, NOW, &s, &ptr));
    assert_eq!((stat(&m, GARBAGE_SHORT), stat(&m, GARBAGE_RESPONSE), stat(&m, ADMIT_UNKNOWN)), (1, 1, 3));
}

#[test]
fn the_walk_agrees_with_suffix_hashes() {
    for name in ["", "a", "www.Example.COM", &"a.".repeat(32)] {
        let q = query(name);
        let w = walk_name(SEED, &q).unwrap();
        let s = suffix_hashes(SEED, &wire(name)).unwrap();
        assert_eq!(w.labels, s.labels);
        let mut h = root_hash(SEED);
        for i in (0..w.labels).rev() {
            h = mix(h ^ w.label_hashes[i]);
            assert_eq!(h, s.hashes[i]);
        }
        assert_eq!(w.end, 12 + wire(name).len());
    }
    // Names the parser does not read: a pointer, past the end, too long.
    assert!(walk_name(SEED, &[&[0u8; 12][..], &[0xc0, 12]].concat()).is_none());
    assert!(walk_name(SEED, &[&[0u8; 12][..], &[3, b'w']].concat()).is_none());
    let long = [&[0u8; 12][..], &[63; 256][..]].concat();
    assert!(walk_name(SEED, &long).is_none());
    let mut just = vec![0u8; 12];
    for _ in 0..3 {
        just.push(63);
        just.extend_from_slice(&[b'a'; 63]);
    }
    just.push(61);
    just.extend_from_slice(&[b'a'; 61]);
    just.push(0); // 255 octets with the root label
    assert_eq!(walk_name(SEED, &just).unwrap().labels, 4);
    just.insert(12 + 64 * 3 + 1, b'a');
    just[12 + 64 * 3] = 62;
    just.pop();
    just.push(1);
    just.push(b'b');
    just.push(0); // 256 octets
    assert!(walk_name(SEED, &just).is_none());
}

#[test]
fn deep_names_pay_the_deep_budget() {
    let mut m = maps();
    m.config.deep = Budget { rate: 0, burst: 1 };
    let s = src("192.0.2.1");
    let deep = query(&"a.".repeat(33));
    assert!(admit(&mut m, 0, NOW, &s, &deep));
    assert!(!admit(&mut m, 0, NOW, &s, &deep));
    assert!(admit(&mut m, 1, NOW, &s, &deep)); // another CPU's bucket
    assert!(admit(&mut m, 0, NOW, &s, &query(&"a.".repeat(32))));
    assert_eq!(stat(&m, DROP_DEEP), 1);
}

#[test]
fn an_armed_zone_drops_random_names_beyond_its_budget() {
    let mut m = maps();
    armed(&mut m, 2);
    let s = src("192.0.2.1");
    for _ in 0..5 {
        assert!(admit(&mut m, 0, NOW, &s, &query("WWW.example"))); // exists
        assert!(admit(&mut m, 0, NOW, &s, &query("a.b.sub.example"))); // below a delegation
        assert!(admit(&mut m, 0, NOW, &s, &query("other.zone"))); // no zone
    }
    assert!(admit(&mut m, 0, NOW, &s, &query("r1.example")));
    assert!(admit(&mut m, 0, NOW, &s, &query("r2.example")));
    assert!(!admit(&mut m, 0, NOW, &s, &query("r3.example")));
    assert!(!admit(&mut m, 0, NOW, &s, &query("example"))); // the apex is not in this filter
    assert_eq!((stat(&m, NX_PAID), stat(&m, DROP_NX_BUDGET)), (2, 2));
    // Refilled with time: a rate of 1/s gives a token a second later.
    m.zones.values_mut().for_each(|z| z.nx.rate = 1);
    assert!(!admit(&mut m, 0, NOW + NANO / 2, &s, &query("r4.example")));
    assert!(admit(&mut m, 0, NOW + NANO / 2 + NANO, &s, &query("r4.example")));
    // Disarmed: everything goes on.
    m.zones.values_mut().for_each(|z| z.armed = false);
    assert!(admit(&mut m, 0, NOW, &s, &query("r5.example")));
}

#[test]
fn the_closest_zone_decides() {
    let mut m = maps();
    armed(&mut m, 0);
    // A child zone below, not armed: its names are not checked.
    let child = suffix_hashes(SEED, &wire("child.example")).unwrap().name();
    m.zones.insert(child, Zone { zone_id: 4, ..Zone::default() });
    m.config.apex_bits |= apex_bit(child);
    let s = src("192.0.2.1");
    assert!(admit(&mut m, 0, NOW, &s, &query("random.child.example")));
    assert!(!admit(&mut m, 0, NOW, &s, &query("random.example")));
    // A zone whose bit is clear in the config is not looked up.
    m.config.apex_bits = apex_bit(suffix_hashes(SEED, &wire("example")).unwrap().name());
    if m.config.apex_bits & apex_bit(child) == 0 {
        assert!(!admit(&mut m, 0, NOW, &s, &query("random2.child.example")));
    }
    m.config.apex_bits = u64::MAX;
    // A filter that is out of the bloom map holds nothing.
    m.zones.values_mut().for_each(|z| z.word_off = BLOOM_WORDS);
    assert!(!admit(&mut m, 0, NOW, &s, &query("www.example")));
}

#[test]
fn known_sources_skip_the_global_budget_and_trusted_ones_every_budget() {
    let mut m = maps();
    m.config.prefix = Budget { rate: 0, burst: 2 };
    m.config.unknown = Budget { rate: 0, burst: 0 };
    m.known.insert(known_key(&src("192.0.2.1")), NOW + 1);
    m.known.insert(known_key(&src("2001:db8:1:2::1")), NOW + 1);
    m.known.insert(known_key(&src("198.51.100.7")), u64::MAX); // trusted
                                                               // Known: admitted with the global budget empty...
    assert!(admit(&mut m, 0, NOW, &src("192.0.2.1"), &query("a")));
    assert!(admit(&mut m, 0, NOW, &src("2001:db8:1:2:ffff::9"), &query("a"))); // same /64
                                                                               // ... an unknown source of the same /24 is not ...
    assert!(!admit(&mut m, 0, NOW, &src("192.0.2.2"), &query("a")));
    // ... and a known source still pays its prefix (burst 2, spent above).
    assert!(!admit(&mut m, 0, NOW, &src("192.0.2.1"), &query("a")));
    assert!(!admit(&mut m, 0, NOW + 1, &src("192.0.2.1"), &query("a"))); // expired
                                                                         // Trusted: no budget at all.
    for _ in 0..5 {
        assert!(admit(&mut m, 0, NOW, &src("198.51.100.7"), &query("a")));
    }
    assert_eq!(stat(&m, ADMIT_KNOWN), 7);
    assert_eq!(stat(&m, DROP_UNKNOWN_BUDGET), 1);
    assert_eq!(stat(&m, DROP_PREFIX_BUDGET), 2);
}

#[test]
fn unknown_sources_pay_their_prefix_then_the_global_budget() {
    let mut m = maps();
    m.config.prefix = Budget { rate: 0, burst: 2 };
    let q = query("a");
    assert!(admit(&mut m, 0, NOW, &src("192.0.2.1"), &q));
    assert!(admit(&mut m, 0, NOW, &src("192.0.2.200"), &q)); // same /24
    assert!(!admit(&mut m, 0, NOW, &src("192.0.2.3"), &q));
    assert!(admit(&mut m, 0, NOW, &src("192.0.3.1"), &q));
    assert!(admit(&mut m, 0, NOW, &src("2001:db8:0:ff::1"), &q));
    assert!(admit(&mut m, 0, NOW, &src("2001:db8:0:1::1"), &q)); // same /56
    assert!(!admit(&mut m, 0, NOW, &src("2001:db8:0:2::1"), &q));
    assert_eq!(stat(&m, DROP_PREFIX_BUDGET), 2);
    m.config.unknown = Budget { rate: 0, burst: 1 };
    m.cpus[1].globals[0] = Bucket::full(m.config.unknown, NOW);
    assert!(admit(&mut m, 1, NOW, &src("198.51.100.1"), &q));
    assert!(!admit(&mut m, 1, NOW, &src("198.51.100.1"), &q));
    assert_eq!(stat(&m, DROP_UNKNOWN_BUDGET), 1);
}

#[test]
fn buckets_refill_exactly_and_cap_at_the_burst() {
    let b = Budget { rate: 3, burst: 2 };
    let mut k = Bucket::full(b, 0);
    assert!(k.pay(b, 0) && k.pay(b, 0) && !k.pay(b, 0));
    // 3 tokens a second: one every 333,333,334 ns, with no rounding loss
    // over many small steps.
    let mut t = 0;
    for _ in 0..1000 {
        t += 1000;
        assert!(!k.pay(b, t));
    }
    assert!(k.pay(b, NANO / 3 + 1));
    // A long idle time refills to the burst, not beyond.
    assert!(k.pay(b, 100 * NANO) && k.pay(b, 100 * NANO) && !k.pay(b, 100 * NANO));
    // The clock going back refills nothing.
    assert!(!k.pay(b, 50 * NANO));
}

fn udp(payload: &[u8], dport: u16) -> Vec<u8> {
    let mut u = vec![0x30, 0x39];
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    u
}

fn udp4_skb(s: &str, payload: &[u8]) -> Vec<u8> {
    let u = udp(payload, 53);
    let mut ip = vec![0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 17, 0, 0];
    ip[2..4].copy_from_slice(&((20 + u.len()) as u16).to_be_bytes());
    ip.extend_from_slice(&s.parse::<std::net::Ipv4Addr>().unwrap().octets());
    ip.extend_from_slice(&[192, 0, 2, 53]);
    ip.extend_from_slice(&u);
    ip
}

fn frame4(s: &str, d: &str, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00];
    let mut ip = udp4_skb(s, &[]);
    ip.truncate(16);
    ip.extend_from_slice(&d.parse::<std::net::Ipv4Addr>().unwrap().octets());
    let u = udp(payload, dport);
    ip[2..4].copy_from_slice(&((20 + u.len()) as u16).to_be_bytes());
    ip.extend_from_slice(&u);
    f.extend_from_slice(&ip);
    f
}

fn frame6(s: &str, d: &str, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x86, 0xdd];
    let u = udp(payload, 53);
    f.extend_from_slice(&[0x60, 0, 0, 0]);
    f.extend_from_slice(&(u.len() as u16).to_be_bytes());
    f.extend_from_slice(&[17, 64]);
    f.extend_from_slice(&s.parse::<std::net::Ipv6Addr>().unwrap().octets());
    f.extend_from_slice(&d.parse::<std::net::Ipv6Addr>().unwrap().octets());
    f.extend_from_slice(&u);
    f
}

#[test]
fn xdp_passes_what_is_not_ours() {
    let mut m = maps();
    let q = query("a");
    assert_eq!(xdp(&mut m, 0, NOW, &frame4("192.0.2.1", "192.0.2.53", 5353, &q), false), XdpAction::Pass);
    let mut tcp = frame4("192.0.2.1", "192.0.2.53", 53, &q);
    tcp[14 + 9] = 6;
    assert_eq!(xdp(&mut m, 0, NOW, &tcp, false), XdpAction::Pass);
    let mut frag = frame4("192.0.2.1", "192.0.2.53", 53, &[0; 4]);
    frag[14 + 6] = 0x20; // more fragments
    assert_eq!(xdp(&mut m, 0, NOW, &frag, false), XdpAction::Pass);
    let mut arp = frame4("192.0.2.1", "192.0.2.53", 53, &[0; 4]);
    arp[12..14].copy_from_slice(&[0x08, 0x06]);
    assert_eq!(xdp(&mut m, 0, NOW, &arp, false), XdpAction::Pass);
    let mut long = frame4("192.0.2.1", "192.0.2.53", 53, &[0; 4]);
    long.truncate(long.len() - 1); // the UDP length says more than there is
    assert_eq!(xdp(&mut m, 0, NOW, &long, false), XdpAction::Pass);
    // Our addresses only, when set.
    m.config.flags |= FLAG_ADDRS;
    m.addrs.insert(src("192.0.2.53"));
    assert_eq!(xdp(&mut m, 0, NOW, &frame4("192.0.2.1", "192.0.2.54", 53, &[0; 4]), false), XdpAction::Pass);
    assert_eq!(stat(&m, PASS_OTHER), 6);
    assert_eq!(xdp(&mut m, 0, NOW, &frame4("192.0.2.1", "192.0.2.53", 53, &[0; 4]), false), XdpAction::Drop);
    assert_eq!(stat(&m, GARBAGE_SHORT), 1);
}

#[test]
fn xdp_redirects_admitted_queries_to_the_queues_socket() {
    let mut m = maps();
    let q = query("a");
    assert_eq!(xdp(&mut m, 0, NOW, &frame4("192.0.2.1", "192.0.2.53", 53, &q), true), XdpAction::Redirect);
    assert_eq!(xdp(&mut m, 0, NOW, &frame6("2001:db8::1", "2001:db8::53", &q), false), XdpAction::Pass);
    // Ethernet padding after the datagram is not part of it.
    let mut padded = frame4("192.0.2.1", "192.0.2.53", 53, &[0; 4]);
    padded.resize(60, 0);
    assert_eq!(xdp(&mut m, 0, NOW, &padded, false), XdpAction::Drop);
    assert_eq!((stat(&m, REDIRECT_XSK), stat(&m, PASS_NO_XSK), stat(&m, GARBAGE_SHORT)), (1, 1, 1));
}

#[test]
fn the_socket_filter_finds_the_payload_where_skb_data_is() {
    let mut m = maps();
    let skb = udp4_skb("192.0.2.1", &[0; 11]);
    assert!(!sock(&mut m, 0, NOW, &skb, false));
    assert!(!sock(&mut m, 0, NOW, &skb, true));
    let skb = udp4_skb("192.0.2.1", &query("a"));
    assert!(sock(&mut m, 0, NOW, &skb, false));
    assert!(sock(&mut m, 0, NOW, &skb, true));
    let mut short = udp4_skb("192.0.2.1", &query("a"));
    short.truncate(27); // no whole UDP header
    assert!(sock(&mut m, 0, NOW, &short, false));
    assert_eq!((stat(&m, GARBAGE_SHORT), stat(&m, ADMIT_UNKNOWN), stat(&m, PASS_OTHER)), (2, 2, 1));
}
