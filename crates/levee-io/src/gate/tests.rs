//! The gate's programs against the model, and live on a loopback socket.
//!
//! The tests that load BPF need CAP_BPF and CAP_NET_ADMIN: they are
//! `#[ignore]`d and run by `tests/gate/run.sh` (as root, in CI). They pin
//! themselves to CPU 0, so the per-CPU state the programs touch is the
//! model's CPU 0.

use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::time::{Duration, Instant};

use levee_limit::gate::model::{self, reason, Bucket, Budget, Maps, XdpAction};
use levee_limit::gate::{suffix_hashes, Filter, EXACT, SUBTREE};

use super::*;

const SEED: u64 = 0x1e7e_e5eed;

#[test]
fn permission_errors_name_the_capabilities() {
    let e = classify("loading", &io::Error::from_raw_os_error(libc::EPERM));
    assert!(matches!(e, GateError::Permission(_)));
    let text = e.to_string();
    assert!(text.contains("CAP_BPF") && text.contains("CAP_NET_ADMIN"), "{text}");
    assert!(matches!(classify("x", &io::Error::from_raw_os_error(libc::ENOSYS)), GateError::KernelTooOld(_)));
    assert!(matches!(classify("x", &io::Error::from_raw_os_error(libc::EINVAL)), GateError::Kernel(_)));
}

#[test]
fn the_object_is_a_bpf_elf_with_both_programs() {
    assert_eq!(OBJECT.as_ptr() as usize % 8, 0, "the ELF parser needs aligned headers");
    assert_eq!(&OBJECT[..4], b"\x7fELF");
    assert_eq!(u16::from_le_bytes([OBJECT[18], OBJECT[19]]), 247); // EM_BPF
    let has = |s: &[u8]| OBJECT.windows(s.len()).any(|w| w == s);
    for name in ["levee_xdp", "levee_sock", "zone_buckets", "prefixes", "xsks", ".BTF"] {
        assert!(has(name.as_bytes()), "{name}");
    }
    assert!(!has(b"/work/") && !has(b".debug_info"), "an absolute path or DWARF in gate.o");
}

fn pin_cpu0() {
    // SAFETY: a zeroed cpu_set_t with bit 0 set, for the calling thread.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(0, &mut set);
        assert_eq!(libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set), 0);
    }
}

fn wire(text: &str) -> Vec<u8> {
    // "" is the root, as "." is.
    levee_wire::name::from_text(if text.is_empty() { "." } else { text }, Some(&[0])).unwrap().to_vec()
}

fn query(id: u16, name: &str) -> Vec<u8> {
    let mut m = id.to_be_bytes().to_vec();
    m.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    m.extend_from_slice(&wire(name));
    m.extend_from_slice(&[0, 1, 0, 1]);
    m
}

fn udp(payload: &[u8], dport: u16) -> Vec<u8> {
    let mut u = vec![0x30, 0x39];
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    u
}

fn frame(src: IpAddr, dst: IpAddr, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
    let u = udp(payload, dport);
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            f.extend_from_slice(&[0x08, 0x00, 0x45, 0]);
            f.extend_from_slice(&((20 + u.len()) as u16).to_be_bytes());
            f.extend_from_slice(&[0, 0, 0x40, 0, 64, 17, 0, 0]);
            f.extend_from_slice(&s.octets());
            f.extend_from_slice(&d.octets());
        }
        (s, d) => {
            let v6 = |a: IpAddr| match a {
                IpAddr::V4(v) => v.to_ipv6_mapped(),
                IpAddr::V6(v) => v,
            };
            f.extend_from_slice(&[0x86, 0xdd, 0x60, 0, 0, 0]);
            f.extend_from_slice(&(u.len() as u16).to_be_bytes());
            f.extend_from_slice(&[17, 64]);
            f.extend_from_slice(&v6(s).octets());
            f.extend_from_slice(&v6(d).octets());
        }
    }
    f.extend_from_slice(&u);
    f
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// The zone `example` with `www.example`, names with long labels and the
/// delegation `sub.example`.
fn example_filter() -> Filter {
    let mut f = Filter::with_capacity(64, 16, 7);
    let q63 = format!("{}.example", "q".repeat(63));
    for name in [
        "www.example",
        "example",
        "abcdefgh.example",
        "abcdefghijklmnop.example",
        "a23456789012345678901234567890123456.example",
        &q63,
    ] {
        f.insert(suffix_hashes(SEED, &wire(name)).unwrap().name(), EXACT);
    }
    f.insert(suffix_hashes(SEED, &wire("sub.example")).unwrap().name(), SUBTREE);
    f
}

fn apex(name: &str) -> u64 {
    suffix_hashes(SEED, &wire(name)).unwrap().name()
}

const KNOWN: &str = "192.0.2.7";
const EXPIRED: &str = "2001:db8:7::1";

/// A gate and the model in the same state: budgets without refill (rate
/// 0), so what the clock reads does not matter.
fn setup() -> (Gate, Maps) {
    pin_cpu0();
    let mut g = match std::env::var_os("LEVEE_GATE_OBJECT") {
        Some(path) => Gate::load_object(GateOptions::ALL, &std::fs::read(path).unwrap()),
        None => Gate::load(GateOptions::ALL),
    }
    .expect("load the gate (needs CAP_BPF and CAP_NET_ADMIN)");
    let n = g.cpus() as u32;
    let total = |per_cpu: u32| ZoneBudget { rate: 0, burst: per_cpu * n };
    let cfg = GateConfig {
        port: 53,
        seed: SEED,
        flags: FLAG_ON,
        prefix: ZoneBudget { rate: 0, burst: 400 },
        unknown: total(1_000_000),
        deep: total(3),
    };
    g.set_config(&cfg).unwrap();
    g.publish_zone(apex("example"), 5, &example_filter(), total(6)).unwrap();
    // A child zone in the map that is not armed is impossible through the
    // API; an armed child with an empty filter is the closer zone.
    g.publish_zone(apex("child.example"), 6, &Filter::with_capacity(1, 64, 3), total(4)).unwrap();
    g.set_known(KNOWN.parse().unwrap(), u64::MAX).unwrap();
    g.set_known(EXPIRED.parse().unwrap(), 1).unwrap();

    let mut m = Maps::new(g.cpus());
    let b = |per_cpu: u32| Budget { rate: 0, burst: per_cpu };
    m.config = model::Config {
        port: 53,
        flags: FLAG_ON,
        seed: SEED,
        prefix: b(400),
        unknown: b(1_000_000),
        deep: b(3),
        apex_bits: model::apex_bit(apex("example")) | model::apex_bit(apex("child.example")),
    };
    m.cpus[0].globals = [Bucket::full(b(1_000_000), 0), Bucket::full(b(3), 0)];
    let f = example_filter();
    m.put_filter(0, &f);
    let z = |off, f: &Filter, nx, id| model::Zone {
        armed: true,
        word_off: off,
        log2_bits: f.log2_bits,
        k: f.k,
        nx,
        zone_id: id,
    };
    m.zones.insert(apex("example"), z(0, &f, b(6), 5));
    let empty = Filter::with_capacity(1, 64, 3);
    m.zones.insert(apex("child.example"), z(1 << 20, &empty, b(4), 6));
    m.cpus[0].zone_buckets.insert(5, Bucket::full(b(6), 0));
    m.cpus[0].zone_buckets.insert(6, Bucket::full(b(4), 0));
    m.known.insert(model::known_key(&model::addr(KNOWN.parse().unwrap())), u64::MAX);
    m.known.insert(model::known_key(&model::addr(EXPIRED.parse().unwrap())), 1);
    (g, m)
}

/// Handmade frames for each step, then mutations and random bytes.
fn corpus() -> Vec<Vec<u8>> {
    let me: IpAddr = "192.0.2.53".parse().unwrap();
    let me6: IpAddr = "2001:db8::53".parse().unwrap();
    let srcs: Vec<IpAddr> =
        ["198.51.100.1", "198.51.100.99", "203.0.113.5", KNOWN, EXPIRED, "2001:db8:1:2::3", "2001:db8:1:2:ff::3"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
    let names = [
        "www.example",
        "WWW.EXAMPLE",
        "example",
        "a.b.sub.example",
        "nx1.example",
        "nx2.example",
        "x.child.example",
        "other.test",
        "",
        &"a.".repeat(32),
        &"b.".repeat(33),
        &"c.".repeat(40),
        // Labels of one word, two, several and a part, eight octets per
        // mix, case folded: in the filter (the hash must be right for
        // them to exist), and one that is not.
        "abcdefgh.example",
        "ABCDEFGHijklmnop.EXAMPLE",
        "A23456789012345678901234567890123456.example",
        &format!("{}.example", "Q".repeat(63)),
        "abcdefghijklmnopq.example",
    ];
    let mut base = Vec::new();
    for (i, name) in names.iter().enumerate() {
        for (j, s) in srcs.iter().enumerate() {
            let d = if s.is_ipv4() { me } else { me6 };
            base.push(frame(*s, d, 53, &query((i * 16 + j) as u16, name)));
        }
    }
    let s = srcs[0];
    let mut special = vec![
        frame(s, me, 53, &[0; 11]),                   // short
        frame(s, me, 53, &[]),                        // empty
        frame(s, me, 5353, &query(1, "www.example")), // not our port
    ];
    let mut resp = query(2, "www.example");
    resp[2] |= 0x80;
    special.push(frame(s, me, 53, &resp));
    let mut notify = query(3, "nx9.example");
    notify[2] = 0x20;
    special.push(frame(s, me, 53, &notify));
    let mut ptr = query(4, "");
    ptr.truncate(12);
    ptr.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
    special.push(frame(s, me, 53, &ptr));
    let mut noq = query(5, "nx8.example");
    noq[5] = 0;
    special.push(frame(s, me, 53, &noq));
    let mut cut = query(6, "nx7.example");
    cut.truncate(cut.len() - 2); // no whole TYPE and CLASS
    special.push(frame(s, me, 53, &cut));
    let mut frag = frame(s, me, 53, &query(7, "nx6.example"));
    frag[20] = 0x20;
    special.push(frag);
    let mut padded = frame(s, me, 53, &[1, 2, 3]);
    padded.resize(60, 0);
    special.push(padded);

    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut out = base.clone();
    out.extend(special);
    for _ in 0..3000 {
        let mut f = base[rng.below(base.len())].clone();
        for _ in 0..1 + rng.below(3) {
            match rng.below(4) {
                0 => {
                    let i = rng.below(f.len());
                    f[i] ^= 1 << rng.below(8);
                }
                1 => {
                    let i = (34 + rng.below(f.len().saturating_sub(34))).min(f.len() - 1);
                    f[i] = rng.next() as u8;
                }
                2 => f.truncate(14 + rng.below(f.len() - 14)),
                _ => {
                    let i = (42 + rng.below(f.len().saturating_sub(42).max(1))).min(f.len() - 1);
                    f[i] = [0, 63, 64, 0xc0, b'A'][rng.below(5)];
                }
            }
        }
        out.push(f);
    }
    for _ in 0..500 {
        let n = 14 + rng.below(120);
        let mut f: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
        if rng.below(2) == 0 {
            f[12..14].copy_from_slice(&[0x08, 0x00]);
        }
        out.push(f);
    }
    out
}

#[test]
#[ignore = "needs CAP_BPF: run by tests/gate/run.sh"]
fn test_run_matches_the_model() {
    let (g, mut m) = setup();
    let now = monotonic_ns();
    let corpus = corpus();
    let mut seen = [0u64; REASONS];
    let mut refused = 0;
    for (i, f) in corpus.iter().enumerate() {
        let before = g.stats().unwrap();
        let x = g.test_run(Prog::Xdp, f, 1).unwrap();
        let want = match model::xdp(&mut m, 0, now, f, false) {
            XdpAction::Drop => 1,
            XdpAction::Pass => 2,
            XdpAction::Redirect => 4,
        };
        assert_eq!(x.retval, want, "XDP verdict on frame {i}: {f:02x?}");
        // The kernel refuses an skb test run of an IPv4 or IPv6 frame
        // shorter than its IP header (EINVAL before the program runs): a
        // socket never sees one. Those are left out.
        match g.test_run(Prog::Sock, f, 1) {
            Ok(s) => {
                let keep = model::sock(&mut m, 0, now, &f[14..], false);
                assert_eq!(s.retval != 0, keep, "socket filter verdict on frame {i}: {f:02x?}");
            }
            Err(GateError::Kernel(e)) if e.contains("os error 22") && ip_header_cut(f) => refused += 1,
            Err(e) => panic!("frame {i} {f:02x?}: {e}"),
        }
        let after = g.stats().unwrap();
        let ms = m.stats();
        assert_eq!(after[..], ms[..REASONS], "counters after frame {i}: {f:02x?} (before {before:?})");
        seen = after;
    }
    // The corpus reaches every step.
    for r in [
        reason::PASS_OTHER,
        reason::GARBAGE_SHORT,
        reason::GARBAGE_RESPONSE,
        reason::DROP_NX_BUDGET,
        reason::DROP_PREFIX_BUDGET,
        reason::DROP_DEEP,
        reason::ADMIT_KNOWN,
        reason::ADMIT_UNKNOWN,
        reason::NX_PAID,
        reason::PASS_NO_XSK,
    ] {
        assert!(seen[r] > 0, "reason {r} never counted: {seen:?}");
    }
    eprintln!("{} frames ({refused} not run by the socket filter: EINVAL), counters {seen:?}", corpus.len());
}

/// An IPv4 or IPv6 frame too short for its IP header.
fn ip_header_cut(f: &[u8]) -> bool {
    matches!((f[12], f[13]), (0x08, 0x00) if f.len() < 34) || matches!((f[12], f[13]), (0x86, 0xdd) if f.len() < 54)
}

/// Sends `msgs` from `from` to `to` and returns the IDs that arrive.
fn arrivals(from: &UdpSocket, to: &UdpSocket, msgs: &[Vec<u8>]) -> Vec<u16> {
    for m in msgs {
        from.send_to(m, to.local_addr().unwrap()).unwrap();
    }
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    to.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline {
        match to.recv_from(&mut buf) {
            Ok((n, _)) if n >= 2 => got.push(u16::from_be_bytes([buf[0], buf[1]])),
            Ok(_) => got.push(u16::MAX),
            Err(_) => break,
        }
    }
    got
}

#[test]
#[ignore = "needs CAP_BPF: run by tests/gate/run.sh"]
fn live_socket_filter_on_loopback() {
    pin_cpu0(); // the sender's CPU runs loopback delivery and the filter
    let mut g = Gate::load(GateOptions::ALL).expect("load the gate (needs CAP_BPF and CAP_NET_ADMIN)");
    let n = g.cpus() as u32;
    let total = |per_cpu: u32| ZoneBudget { rate: 0, burst: per_cpu * n };
    let cfg = GateConfig {
        port: 0,
        seed: SEED,
        flags: FLAG_ON,
        prefix: ZoneBudget { rate: 0, burst: 3 },
        unknown: total(1000),
        deep: total(1),
    };
    g.set_config(&cfg).unwrap();
    g.publish_zone(apex("example"), 1, &example_filter(), total(2)).unwrap();
    let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    g.attach_socket(server.as_raw_fd()).unwrap();
    // A trusted source (no expiry: no budget), an unknown one and a
    // known one (with expiry: it pays its own /24's budget), each in a /24
    // of its own.
    let known = UdpSocket::bind("127.0.1.2:0").unwrap();
    let unknown = UdpSocket::bind("127.0.0.3:0").unwrap();
    let expiring = UdpSocket::bind("127.0.2.2:0").unwrap();
    g.set_known(IpAddr::V4(Ipv4Addr::new(127, 0, 1, 2)), u64::MAX).unwrap();
    g.set_known(IpAddr::V4(Ipv4Addr::new(127, 0, 2, 2)), monotonic_ns() + 60 * NANO).unwrap();
    // The table's fill as `levee ctl gate` shows it: an expired entry
    // counts as an entry, not as live.
    g.set_known(IpAddr::V4(Ipv4Addr::new(127, 0, 3, 2)), 1).unwrap();
    let fill = g.known_fill(monotonic_ns()).unwrap();
    assert_eq!(fill, KnownFill { entries: 3, live: 2, trusted: 1 });
    g.remove_known(IpAddr::V4(Ipv4Addr::new(127, 0, 3, 2))).unwrap();
    assert_eq!(g.known_fill(monotonic_ns()).unwrap().entries, 2);

    // Garbage from anyone never arrives; a NOTIFY (answered by levee) does.
    let mut resp = query(1, "www.example");
    resp[2] |= 0x80;
    let mut notify = query(3, "www.example");
    notify[2] = 0x20;
    assert_eq!(arrivals(&known, &server, &[vec![0; 5], resp, notify]), vec![3]);
    // Known: every existing name; random names of the armed zone within
    // its budget of 2.
    let ids: Vec<u16> = (10..15).collect();
    let existing: Vec<Vec<u8>> = ids.iter().map(|&i| query(i, "www.example")).collect();
    assert_eq!(arrivals(&known, &server, &existing), ids);
    let random: Vec<Vec<u8>> = (20..25).map(|i| query(i, &format!("r{i}.example"))).collect();
    assert_eq!(arrivals(&known, &server, &random), vec![20, 21]);
    // Unknown: its /24's budget of 3, whatever the name.
    let other: Vec<Vec<u8>> = (30..35).map(|i| query(i, "www.example")).collect();
    assert_eq!(arrivals(&unknown, &server, &other), vec![30, 31, 32]);
    // Known by its answers (it may be a spoofed flood of an existing name):
    // its /24's budget of 3 too.
    let more: Vec<Vec<u8>> = (40..45).map(|i| query(i, "www.example")).collect();
    assert_eq!(arrivals(&expiring, &server, &more), vec![40, 41, 42]);
    let s = g.stats().unwrap();
    assert_eq!(
        (
            s[reason::GARBAGE_SHORT],
            s[reason::GARBAGE_RESPONSE],
            s[reason::DROP_NX_BUDGET],
            s[reason::DROP_PREFIX_BUDGET]
        ),
        (1, 1, 3, 4),
        "{s:?}"
    );
    assert_eq!((s[reason::ADMIT_KNOWN], s[reason::ADMIT_UNKNOWN], s[reason::NX_PAID]), (11, 3, 2), "{s:?}");
    // The kernel counts what the filter drops in the socket's drops
    // (SO_MEMINFO, what the UDP driver reports as overflow): the daemon
    // must subtract the gate's drops before judging its own load.
    assert_eq!(crate::udp::socket_drops(server.as_raw_fd()), Some(9));
    // Off: everything arrives.
    g.set_config(&GateConfig { flags: 0, ..cfg }).unwrap();
    assert_eq!(arrivals(&unknown, &server, &[vec![0; 5]]), vec![0]);
}

/// The programs keep a per-CPU copy of the last zone they found while the
/// config's `gen` stays the same (docs/gate.md): a republished filter, a
/// withdrawn zone and a new zone must judge the very next packet.
#[test]
#[ignore = "needs CAP_BPF: run by tests/gate/run.sh"]
fn zone_changes_judge_the_next_packet() {
    let (mut g, _) = setup();
    let empty = ZoneBudget { rate: 0, burst: 0 };
    let me: IpAddr = "192.0.2.53".parse().unwrap();
    let src: IpAddr = "198.51.100.1".parse().unwrap();
    let f = frame(src, me, 53, &query(1, "nxa.example"));
    // Both programs, three times each: the first run finds the zone in
    // `zones`, the others in the copy.
    let verdicts = |g: &Gate| -> Vec<(u32, u32)> {
        (0..3)
            .map(|_| (g.test_run(Prog::Xdp, &f, 1).unwrap().retval, g.test_run(Prog::Sock, &f, 1).unwrap().retval))
            .collect()
    };
    const DROPPED: (u32, u32) = (1, 0); // XDP_DROP; the socket filter's 0
    const ADMITTED: (u32, u32) = (2, 0xffff_ffff); // XDP_PASS (no AF_XDP socket); kept
    g.publish_zone(apex("example"), 5, &example_filter(), empty).unwrap();
    assert_eq!(verdicts(&g), vec![DROPPED; 3], "a random name, no budget");
    // The same zone with a filter that holds the name: it exists.
    let mut holds = example_filter();
    holds.insert(suffix_hashes(SEED, &wire("nxa.example")).unwrap().name(), EXACT);
    g.publish_zone(apex("example"), 5, &holds, empty).unwrap();
    assert_eq!(verdicts(&g), vec![ADMITTED; 3], "republished with the name");
    g.publish_zone(apex("example"), 5, &example_filter(), empty).unwrap();
    assert_eq!(verdicts(&g), vec![DROPPED; 3], "republished without it");
    g.withdraw_zone(apex("example")).unwrap();
    assert_eq!(verdicts(&g), vec![ADMITTED; 3], "withdrawn");
    g.publish_zone(apex("example"), 7, &example_filter(), empty).unwrap();
    assert_eq!(verdicts(&g), vec![DROPPED; 3], "published again");
}

#[test]
#[ignore = "needs CAP_BPF: run by tests/gate/run.sh"]
fn a_program_not_loaded_cannot_be_attached_or_run() {
    let g = Gate::load(GateOptions { xdp: true, socket: false }).expect("load the gate");
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    let e = g.attach_socket(s.as_raw_fd()).unwrap_err();
    assert!(e.to_string().contains("levee_sock"), "{e}");
    assert!(g.test_run(Prog::Xdp, &[0; 60], 1).is_ok());
    assert!(g.test_run(Prog::Sock, &[0; 60], 1).is_err());
}

#[test]
#[ignore = "needs CAP_BPF: run by tests/gate/run.sh"]
fn cost_per_packet() {
    let (mut g, _) = setup();
    g.set_known(KNOWN.parse().unwrap(), 1).unwrap();
    g.publish_zone(apex("example"), 5, &example_filter(), ZoneBudget { rate: 0, burst: 0 }).unwrap();
    let me: IpAddr = "192.0.2.53".parse().unwrap();
    let f = frame("198.51.100.1".parse().unwrap(), me, 53, &query(1, "x7k2q9zt.example"));
    let before = g.stats().unwrap()[reason::DROP_NX_BUDGET];
    let x = g.test_run(Prog::Xdp, &f, 1_000_000).unwrap();
    let s = g.test_run(Prog::Sock, &f, 1_000_000).unwrap();
    let after = g.stats().unwrap()[reason::DROP_NX_BUDGET];
    eprintln!(
        "ns per packet (BPF_PROG_TEST_RUN, repeat 1,000,000): drop of a random name of an armed zone: XDP {} ns, socket filter {} ns",
        x.duration_ns, s.duration_ns
    );
    let src = "198.51.100.1".parse().unwrap();
    let cases = [
        ("pass, not DNS (port 22)", frame(src, me, 22, &[0; 20])),
        ("drop, garbage (11 octets)", frame(src, me, 53, &[0; 11])),
        ("admit, unknown source, no zone", frame(src, me, 53, &query(1, "www.other.test"))),
        ("admit, existing name of an armed zone", frame(src, me, 53, &query(1, "www.example"))),
    ];
    for (what, f) in cases {
        let x = g.test_run(Prog::Xdp, &f, 1_000_000).unwrap();
        let s = g.test_run(Prog::Sock, &f, 1_000_000).unwrap();
        eprintln!("  {what}: XDP {} ns, socket filter {} ns", x.duration_ns, s.duration_ns);
    }
    assert_eq!((x.retval, s.retval), (1, 0), "both drop the random name");
    assert_eq!(after - before, 2_000_000);
}

/// Brings `lo` up in the calling thread's network namespace.
fn lo_up() {
    // SAFETY: an ifreq for "lo" we own, read then written back by two
    // ioctls on a socket we close at once.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM, 0);
        assert!(fd >= 0);
        let mut req: libc::ifreq = std::mem::zeroed();
        for (d, s) in req.ifr_name.iter_mut().zip(b"lo\0") {
            *d = *s as libc::c_char;
        }
        assert_eq!(libc::ioctl(fd, libc::SIOCGIFFLAGS, &mut req), 0);
        req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        assert_eq!(libc::ioctl(fd, libc::SIOCSIFFLAGS, &req), 0);
        libc::close(fd);
    }
}

/// `levee_xdp` on the loopback interface of a network namespace of this
/// test's own (the host's `lo` is not touched): garbage to levee's port
/// and address is dropped, other ports and addresses are not, budgets
/// hold, and dropping the gate detaches the program.
#[test]
#[ignore = "needs CAP_BPF: run by tests/gate/run.sh"]
fn live_xdp_on_a_private_loopback() {
    std::thread::spawn(|| {
        // SAFETY: moves this thread alone into a new network namespace.
        assert_eq!(unsafe { libc::unshare(libc::CLONE_NEWNET) }, 0, "{}", io::Error::last_os_error());
        lo_up();
        pin_cpu0();
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let bystander = UdpSocket::bind("127.0.0.1:0").unwrap();
        let alias = UdpSocket::bind("127.0.0.9:0").unwrap();
        let client = UdpSocket::bind("127.0.0.3:0").unwrap();
        let mut g = Gate::load(GateOptions::ALL).expect("load the gate (needs CAP_BPF and CAP_NET_ADMIN)");
        let n = g.cpus() as u32;
        let total = |per_cpu: u32| ZoneBudget { rate: 0, burst: per_cpu * n };
        let port = server.local_addr().unwrap().port();
        let cfg = GateConfig {
            port,
            seed: SEED,
            flags: FLAG_ON,
            prefix: ZoneBudget { rate: 0, burst: 2 },
            unknown: total(100),
            deep: total(1),
        };
        g.set_config(&cfg).unwrap();
        g.set_addrs(&[IpAddr::V4(Ipv4Addr::LOCALHOST)]).unwrap();
        let mode = g.attach_xdp("lo").unwrap();
        eprintln!("levee_xdp on a namespace's lo: {mode:?} mode");
        assert!(g.xdp_attached());

        assert_eq!(arrivals(&client, &server, &[vec![0; 5]]), Vec::<u16>::new(), "garbage to levee");
        assert_eq!(arrivals(&client, &bystander, &[vec![0; 5]]), vec![0], "another port");
        // 127.0.0.9 is not levee's address (set_addrs): not judged.
        let to_alias = UdpSocket::bind("127.0.0.4:0").unwrap();
        to_alias.send_to(&[0; 5], ("127.0.0.9", port)).unwrap();
        alias.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
        let mut buf = [0u8; 64];
        // Bound to another port: the datagram is for nobody, but the
        // counters show XDP passed it.
        let _ = alias.recv_from(&mut buf);
        let queries: Vec<Vec<u8>> = (40..44).map(|i| query(i, "www.example")).collect();
        assert_eq!(arrivals(&client, &server, &queries), vec![40, 41], "the /24's budget of 2");
        let s = g.stats().unwrap();
        assert_eq!(s[reason::GARBAGE_SHORT], 1, "{s:?}");
        assert_eq!((s[reason::ADMIT_UNKNOWN], s[reason::DROP_PREFIX_BUDGET]), (2, 2), "{s:?}");
        assert_eq!(s[reason::PASS_NO_XSK], 2, "{s:?}");
        assert!(s[reason::PASS_OTHER] >= 2, "{s:?}");

        drop(g);
        assert_eq!(arrivals(&client, &server, &[vec![0; 5]]), vec![0], "detached with the gate");
    })
    .join()
    .unwrap();
}

#[test]
#[ignore = "needs CAP_BPF: run by tests/gate/run.sh"]
fn a_replaced_filter_keeps_its_room_for_the_grace() {
    let (mut g, _) = setup();
    let empty = ZoneBudget { rate: 0, burst: 0 };
    let old = g.published[&apex("example")];
    let overlaps = |a: Region, b: Region| a.off < b.off + b.words && b.off < a.off + a.words;
    // Republished: the new filter goes beside the old one, which is retired.
    g.publish_zone(apex("example"), 5, &example_filter(), empty).unwrap();
    let new = g.published[&apex("example")];
    assert!(!overlaps(new, old), "{new:?} over {old:?}");
    // A program that read the old entry an instant ago still probes the old
    // bits: another zone published at once must not write over them.
    g.publish_zone(apex("other"), 8, &example_filter(), empty).unwrap();
    let other = g.published[&apex("other")];
    assert!(!overlaps(other, old), "{other:?} written over the retired {old:?}");
    let bits: Vec<u64> = (old.off..old.off + old.words).map(|i| g.bloom.get(&i, 0).unwrap()).collect();
    assert_eq!(bits, example_filter().words, "the retired filter changed");
    // After the grace its room is free again (first fit: the lowest gap).
    std::thread::sleep(RETIRE_GRACE + Duration::from_millis(20));
    g.publish_zone(apex("third"), 9, &example_filter(), empty).unwrap();
    assert_eq!(g.published[&apex("third")].off, old.off);
}
