//! Equivalence oracle for incremental reloads (levee-zone/src/reload.rs).
//!
//! Random zones (delegations with glue, empty non-terminals, wildcards,
//! CNAME/DNAME, unsigned, NSEC- and NSEC3-signed) and random edit scripts:
//! the zone reloaded incrementally from the served version must answer
//! every query byte for byte like the zone built from scratch from the new
//! text, list the same records in the same order, and fail exactly when
//! the full build fails. Segments are tiny (3 names, [`SEGMENT`]) so that
//! runs, segment boundaries and shared segments are exercised on small
//! zones.

use std::net::IpAddr;
use std::sync::Arc;

use levee_answer::policy::{Overload, Policy};
use levee_answer::{Config, Decision, Options, Received, Time, Transport, Worker};
use levee_wire::name;
use levee_zone::{
    journal, Acl, BuildOptions, Checks, LoadOptions, ReloadKind, ReloadOptions, Source, Zone, ZoneEntry, ZoneSet,
};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, v: &[&'a str]) -> &'a str {
        v[self.below(v.len())]
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Signing {
    None,
    Nsec,
    Nsec3,
}

const LABELS: &[&str] = &["a", "b", "c", "d", "e", "*", "x-1", "m", "zz", "www"];

fn rand_name(rng: &mut Rng) -> String {
    let depth = 1 + rng.below(3);
    let mut v = Vec::new();
    for _ in 0..depth {
        v.push(rng.pick(LABELS).to_string());
    }
    v.join(".")
}

fn rand_record(rng: &mut Rng, sign: Signing) -> String {
    let owner = rand_name(rng);
    let ttl = [300, 300, 300, 600][rng.below(4)];
    let rec = match rng.below(16) {
        0..=3 => format!("A 192.0.2.{}", rng.below(6)),
        4 => format!("AAAA 2001:db8::{}", rng.below(4)),
        5 | 6 => format!("TXT \"t{}\"", rng.below(4)),
        7 => format!("MX {} {}.example.", rng.below(3), rand_name(rng)),
        8 => format!("CNAME {}.example.", rand_name(rng)),
        9 => format!("DNAME {}.example.", rand_name(rng)),
        10 | 11 => {
            // A delegation with glue below it.
            return format!(
                "{owner} {ttl} NS ns1.{owner}.example.\n{owner} {ttl} NS ns.out.net.\nns1.{owner} {ttl} A 192.0.2.{}\n",
                rng.below(9)
            );
        }
        12 => format!("DS {} 8 2 {}", rng.below(5) + 1, "AB".repeat(32)),
        13 => format!("SRV 0 0 53 {}.example.", rand_name(rng)),
        14 if sign == Signing::Nsec => format!("NSEC {}.example. A RRSIG NSEC", rand_name(rng)),
        _ => format!("A 198.51.100.{}", rng.below(3)),
    };
    let mut out = format!("{owner} {ttl} {rec}\n");
    if sign != Signing::None && rng.below(3) == 0 {
        let ty = rec.split(' ').next().unwrap();
        out.push_str(&format!(
            "{owner} {ttl} RRSIG {ty} 8 2 {ttl} 20300101000000 20200101000000 {} example. {}\n",
            1000 + rng.below(3),
            "c2lnbmF0dXJl"
        ));
    }
    out
}

fn head(serial: u32, sign: Signing) -> String {
    let mut h = format!(
        "$TTL 300\n@ SOA ns1 host {serial} 3600 600 86400 300\n@ NS ns1\n@ NS ns2\nns1 A 192.0.2.53\nns2 AAAA 2001:db8::53\n"
    );
    match sign {
        Signing::None => {}
        Signing::Nsec => h.push_str("@ NSEC a.example. SOA NS RRSIG NSEC\n"),
        Signing::Nsec3 => h.push_str("@ NSEC3PARAM 1 0 0 -\n"),
    }
    h
}

fn nsec3_lines(rng: &mut Rng, n: usize) -> Vec<String> {
    const B32: &[u8] = b"0123456789abcdefghijklmnopqrstuv";
    (0..n)
        .map(|_| {
            let l: String = (0..32).map(|_| B32[rng.below(32)] as char).collect();
            let next: String = (0..32).map(|_| B32[rng.below(32)] as char).collect();
            format!("{l} 300 NSEC3 1 {} 0 - {next} A RRSIG\n", rng.below(2))
        })
        .collect()
}

fn text(serial: u32, sign: Signing, body: &[String]) -> String {
    let mut t = head(serial, sign);
    for l in body {
        t.push_str(l);
    }
    t
}

fn edit(rng: &mut Rng, body: &mut Vec<String>, sign: Signing) {
    if body.is_empty() {
        body.push(rand_record(rng, sign));
        return;
    }
    match rng.below(9) {
        0 | 1 => {
            let at = rng.below(body.len() + 1);
            body.insert(at, rand_record(rng, sign));
        }
        2 | 3 => {
            body.remove(rng.below(body.len()));
        }
        4 => {
            // Modify: replace a line by a record of the same owner.
            let i = rng.below(body.len());
            let owner = body[i].split(' ').next().unwrap().to_string();
            let r = rand_record(rng, sign);
            let rest = r.split_once(' ').map(|x| x.1).unwrap_or("").lines().next().unwrap_or("").to_string();
            body[i] = format!("{owner} {rest}\n");
        }
        5 => {
            // Remove a subtree (a delegation and its glue, or a branch).
            let i = rng.below(body.len());
            let owner = body[i].split(' ').next().unwrap().to_string();
            body.retain(|l| {
                let o = l.split(' ').next().unwrap();
                !(o == owner || o.ends_with(&format!(".{owner}")))
            });
        }
        6 => {
            // Swap two lines (record order inside an RRset).
            let (a, b) = (rng.below(body.len()), rng.below(body.len()));
            body.swap(a, b);
        }
        7 => {
            // Duplicate a line, or change its TTL.
            let i = rng.below(body.len());
            if rng.below(2) == 0 {
                let l = body[i].clone();
                body.insert(rng.below(body.len() + 1), l);
            } else {
                let parts: Vec<&str> = body[i].splitn(3, ' ').collect();
                if parts.len() == 3 {
                    body[i] = format!("{} {} {}", parts[0], if parts[1] == "300" { "900" } else { "300" }, parts[2]);
                }
            }
        }
        _ => {
            // A wildcard or a new branch under an existing name.
            let i = rng.below(body.len());
            let owner = body[i].split(' ').next().unwrap().to_string();
            let label = if rng.below(2) == 0 { "*" } else { "new" };
            body.push(format!("{label}.{owner} 300 TXT \"w\"\n"));
        }
    }
}

/// Names per segment of every zone built here.
const SEGMENT: usize = 3;

/// Builds a zone from `t` with tiny segments and the `checks` policy.
fn build(t: &str, checks: Checks) -> Result<levee_zone::Built, Vec<levee_zone::Diagnostic>> {
    let o = name::from_text("example.", None).unwrap();
    let opts = BuildOptions { checks, segment_names: SEGMENT };
    levee_zone::load_with(
        Source::Memory { name: "z", data: t.as_bytes() },
        &o,
        &LoadOptions::default(),
        opts,
        &mut |_| {},
    )
}

fn load(t: &str) -> Result<Zone, ()> {
    build(t, Checks::default()).map(|b| b.zone).map_err(|_| ())
}

fn query(qname: &[u8], qtype: u16, dnssec: bool) -> Vec<u8> {
    let mut m = vec![0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, dnssec as u8];
    m.extend_from_slice(qname);
    m.extend_from_slice(&qtype.to_be_bytes());
    m.extend_from_slice(&1u16.to_be_bytes());
    if dnssec {
        m.extend_from_slice(&[0, 0, 41, 0x10, 0, 0, 0, 0x80, 0, 0, 0]);
    }
    m
}

fn set_of(z: &Arc<Zone>) -> Arc<ZoneSet> {
    let mut s = ZoneSet::new();
    s.insert(ZoneEntry::new(Arc::clone(z), Acl::none()));
    Arc::new(s)
}

/// A worker as the daemon's TCP thread runs one (built once per
/// comparison: its policy tables are large for a debug build).
fn tcp_worker() -> Worker {
    let policy = Arc::new(Policy::new(None, Overload::default(), 1));
    let mut w = Worker::new(Arc::new(Config::default()), policy, Arc::default(), Options::TCP);
    w.tick(Time { mono_ms: 1, wall: 1 }, Default::default());
    w
}

/// The answer of `w` over TCP.
fn answer(w: &mut Worker, set: &Arc<ZoneSet>, q: &[u8]) -> (Vec<u8>, String) {
    let mut out = vec![0u8; 65535];
    let rx = Received { msg: q, client: "192.0.2.200".parse::<IpAddr>().unwrap(), transport: Transport::Tcp };
    match w.answer(rx, set, &mut out) {
        Decision::Send(n, meta) => {
            // The rate-limiting key mixes in the zone's address and node
            // ids: not comparable between two snapshots.
            let m = format!("{meta:?}");
            let m = match (m.find("key: "), m.find(", proof")) {
                (Some(a), Some(b)) => format!("{}{}", &m[..a], &m[b..]),
                _ => m,
            };
            (out[..n].to_vec(), m)
        }
        Decision::Drop(_) => (Vec::new(), "drop".into()),
        Decision::Transfer(_) => (Vec::new(), "transfer".into()),
        Decision::Update(_) => (Vec::new(), "update".into()),
    }
}

const TYPES: &[u16] = &[1, 2, 5, 6, 15, 16, 28, 33, 39, 43, 46, 47, 50, 255, 99];

/// Compares two zones: records, counts, and the answers to every query.
fn assert_same(inc: &Arc<Zone>, scratch: &Arc<Zone>, names: &[Vec<u8>], ctx: &str) {
    assert_eq!(journal::records(inc), journal::records(scratch), "records differ: {ctx}");
    assert_eq!(inc.node_count(), scratch.node_count(), "node count: {ctx}");
    assert_eq!(inc.record_count(), scratch.record_count(), "record count: {ctx}");
    assert_eq!(inc.serial(), scratch.serial(), "serial: {ctx}");
    let ordered_inc: Vec<Vec<u8>> = (0..inc.node_count()).map(|i| inc.node_name(inc.node_at(i)).to_vec()).collect();
    let ordered_scr: Vec<Vec<u8>> =
        (0..scratch.node_count()).map(|i| scratch.node_name(scratch.node_at(i)).to_vec()).collect();
    assert_eq!(ordered_inc, ordered_scr, "names (ENTs included) differ: {ctx}");
    for i in 0..inc.node_count() {
        let (a, b) = (inc.node_at(i), scratch.node_at(i));
        assert_eq!(inc.node(a).flags, scratch.node(b).flags, "flags of {:?}: {ctx}", name::to_text(inc.node_name(a)));
    }
    let (si, ss) = (set_of(inc), set_of(scratch));
    let mut w = tcp_worker();
    for n in names {
        for &ty in TYPES {
            for dnssec in [false, true] {
                let q = query(n, ty, dnssec);
                let a = answer(&mut w, &si, &q);
                let b = answer(&mut w, &ss, &q);
                assert_eq!(a, b, "answer to {} type {ty} DO={dnssec} differs: {ctx}", name::to_text(n));
            }
        }
    }
}

fn query_names(rng: &mut Rng, zones: &[&Zone]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for z in zones {
        for i in 0..z.node_count() {
            let n = z.node_name(z.node_at(i)).to_vec();
            out.push(n.clone());
            for extra in ["zz", "a.b", "*", "0"] {
                let t = format!("{extra}.{}", name::to_text(&n));
                out.push(name::from_text(&t, None).unwrap().as_slice().to_vec());
            }
        }
    }
    for _ in 0..10 {
        let t = format!("{}.example.", rand_name(rng));
        out.push(name::from_text(&t, None).unwrap().as_slice().to_vec());
    }
    out.sort();
    out.dedup();
    out
}

fn run(seed: u64, cases: usize, sign: Signing, opts: ReloadOptions) -> (usize, usize) {
    let mut rng = Rng(seed);
    let o = name::from_text("example.", None).unwrap();
    let (mut incremental, mut full) = (0, 0);
    for case in 0..cases {
        // A valid starting zone.
        let (mut body, old) = loop {
            let mut body: Vec<String> = (0..10 + rng.below(25)).map(|_| rand_record(&mut rng, sign)).collect();
            if sign == Signing::Nsec3 {
                body.extend(nsec3_lines(&mut rng, 3));
            }
            if let Ok(z) = load(&text(1, sign, &body)) {
                break (body, Arc::new(z));
            }
        };
        let old_text = text(1, sign, &body);
        for _ in 0..1 + rng.below(4) {
            edit(&mut rng, &mut body, sign);
        }
        if sign == Signing::Nsec3 && rng.below(3) == 0 {
            body.extend(nsec3_lines(&mut rng, 1));
        }
        let serial = 1 + rng.below(2) as u32;
        let new_text = text(serial, sign, &body);
        let ctx = format!("seed {seed} case {case}\n--- old\n{old_text}--- new\n{new_text}");
        let scratch = load(&new_text);
        let inc = levee_zone::reload_with(
            &old,
            Source::Memory { name: "z", data: new_text.as_bytes() },
            &o,
            &mut |_| {},
            opts,
        );
        match (&scratch, inc) {
            (Err(()), Err(_)) => continue,
            (Err(()), Ok(_)) => panic!("reload accepted a zone the full build refuses: {ctx}"),
            (Ok(_), Err(d)) => panic!("reload refused a zone the full build accepts: {d:?} {ctx}"),
            (Ok(_), Ok(r)) => {
                let s = &Arc::new(scratch.unwrap());
                match r.kind {
                    ReloadKind::Incremental { kept, .. } => {
                        incremental += 1;
                        assert_eq!(kept, r.built.zone.shared_segments(&old), "kept segments are shared: {ctx}");
                    }
                    ReloadKind::Full(_) => full += 1,
                }
                let names = query_names(&mut rng, &[&old, s]);
                let inc = Arc::new(r.built.zone);
                assert_same(&inc, s, &names, &ctx);
                // The journal's difference skips shared segments: the same
                // difference as against the zone built from scratch.
                assert_eq!(journal::diff(&old, &inc), journal::diff(&old, s), "journal difference: {ctx}");
                // A second reload from the incremental version (chains of
                // incremental versions) back to the old text.
                let back = levee_zone::reload_with(
                    &inc,
                    Source::Memory { name: "z", data: old_text.as_bytes() },
                    &o,
                    &mut |_| {},
                    opts,
                )
                .unwrap_or_else(|d| panic!("reload back failed: {d:?} {ctx}"));
                assert_same(&Arc::new(back.built.zone), &old, &names, &format!("(back) {ctx}"));
            }
        }
    }
    eprintln!("seed {seed:#x}: {incremental} incremental, {full} full, {} refused by both", cases - incremental - full);
    (incremental, full)
}

fn forced() -> ReloadOptions {
    ReloadOptions { max_fraction: 1.0, min_segments: 1, segment_names: SEGMENT, ..Default::default() }
}

#[test]
fn incremental_reload_equals_full_build_unsigned() {
    let (inc, _) = run(0x5eed_0001, 200, Signing::None, forced());
    assert!(inc > 60, "most reloads are incremental ({inc})");
}

#[test]
fn incremental_reload_equals_full_build_nsec() {
    let (inc, _) = run(0x5eed_0002, 120, Signing::Nsec, forced());
    assert!(inc > 40, "most reloads are incremental ({inc})");
}

#[test]
fn incremental_reload_equals_full_build_nsec3() {
    let (inc, _) = run(0x5eed_0003, 60, Signing::Nsec3, forced());
    assert!(inc > 20, "most reloads are incremental ({inc})");
}

#[test]
fn incremental_reload_with_default_limits() {
    let (inc, full) = run(
        0x5eed_0004,
        150,
        Signing::None,
        ReloadOptions { min_segments: 1, segment_names: SEGMENT, ..Default::default() },
    );
    assert!(inc > 0 && full > 0, "both paths taken ({inc} incremental, {full} full)");
}

#[test]
fn unchanged_zone_shares_everything_but_the_apex() {
    let o = name::from_text("example.", None).unwrap();
    let mut rng = Rng(77);
    let body: Vec<String> = (0..40).map(|_| format!("n{}.d{} A 192.0.2.1\n", rng.below(1000), rng.below(5))).collect();
    let old = load(&text(1, Signing::None, &body)).unwrap();
    let t2 = text(2, Signing::None, &body);
    let r = levee_zone::reload_with(&old, Source::Memory { name: "z", data: t2.as_bytes() }, &o, &mut |_| {}, forced())
        .unwrap();
    let (segs, _) = r.built.zone.segment_count();
    assert!(segs > 10, "segments of {SEGMENT} names: {segs}");
    assert_eq!(r.kind, ReloadKind::Incremental { rebuilt: 1, kept: segs - 1 });
    assert_eq!(r.built.zone.shared_segments(&old), segs - 1);
    assert_eq!(r.built.zone.serial(), 2);
}

/// Errors in a reloaded file: the incremental path reports what a full
/// load reports (syntax errors from its own parse with FILE:LINE; semantic
/// errors through the full build it falls back to), including an error in
/// a name whose own records did not change (a cut losing its glue).
#[test]
fn reload_errors_equal_full_load_errors() {
    let o = name::from_text("example.", None).unwrap();
    let mut body: Vec<String> = (0..30).map(|i| format!("h{i} A 192.0.2.{i}\n")).collect();
    body.push("c NS ns1.c.example.\n".into());
    body.push("ns1.c A 192.0.2.99\n".into());
    let old = load(&text(1, Signing::None, &body)).unwrap();
    let errors = |d: Vec<levee_zone::Diagnostic>| -> Vec<String> {
        let mut v: Vec<String> = d.iter().filter(|d| !d.warning).map(|d| d.to_string()).collect();
        v.sort();
        v
    };
    let mut cases = Vec::new();
    // Missing glue: the cut `c` is unchanged, its glue is deleted.
    cases.push(body.iter().filter(|l| !l.starts_with("ns1.c ")).cloned().collect::<Vec<_>>());
    // CNAME and other data at a changed name.
    let mut b = body.clone();
    b.push("h3 CNAME h4.example.\n".into());
    cases.push(b);
    // A syntax error.
    let mut b = body.clone();
    b.insert(10, "bad A 999.1.1.1\n".into());
    cases.push(b);
    // Missing glue is an error under the strict policy only (BIND's); the
    // other cases are errors under both.
    let strict = Checks::Strict;
    for b in &cases {
        let t = text(2, Signing::None, b);
        let opts = ReloadOptions { checks: strict, ..forced() };
        let inc =
            levee_zone::reload_with(&old, Source::Memory { name: "z", data: t.as_bytes() }, &o, &mut |_| {}, opts);
        let full_errs = match build(&t, strict) {
            Ok(_) => panic!("the full load accepts a broken zone"),
            Err(d) => errors(d),
        };
        let inc_errs = match inc {
            Ok(_) => panic!("the reload accepts a broken zone the full load refuses: {full_errs:?}"),
            Err(d) => errors(d),
        };
        assert_eq!(inc_errs, full_errs);
        assert!(!full_errs.is_empty());
    }
    // Under the default policy (warn, as Knot DNS and NSD) the zone that
    // lost its glue loads both ways, with the problem as a warning.
    let t = text(2, Signing::None, &cases[0]);
    let glue_warning = |w: &[levee_zone::Diagnostic]| w.iter().any(|d| d.warning && d.message.contains("missing glue"));
    let inc =
        levee_zone::reload_with(&old, Source::Memory { name: "z", data: t.as_bytes() }, &o, &mut |_| {}, forced())
            .expect("the reload loads a zone missing glue under the warn policy");
    let full = build(&t, Checks::default()).expect("the full load loads a zone missing glue under the warn policy");
    assert!(glue_warning(&inc.built.warnings), "{:?}", inc.built.warnings);
    assert!(glue_warning(&full.warnings), "{:?}", full.warnings);
}
