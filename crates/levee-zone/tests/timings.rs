//! A timed load (`LoadOptions::timings`) charges its time to the phases
//! of the loader it runs, and loads the same zone as an untimed one.

use std::time::Instant;

use levee_zone::zonefile::{timings, Phase};
use levee_zone::{load_with, Checks, LoadOptions, Source, Timings};

fn clock() -> u64 {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// A TLD like the benchmark's: delegations with in-bailiwick glue.
fn tld(n: usize) -> String {
    let mut z = String::from(
        "$ORIGIN tld.\n$TTL 86400\n@ SOA a.nic hm 1 1800 900 604800 3600\n@ NS a.nic\na.nic A 192.0.2.1\n",
    );
    for i in 0..n {
        z.push_str(&format!(
            "d{i} NS ns1.d{i}\nd{i} NS ns.hoster.net.\nns1.d{i} A 10.0.{}.{}\n",
            i / 256 % 256,
            i % 256
        ));
    }
    z
}

#[test]
fn every_phase_of_a_file_load_is_timed() {
    let dir = std::env::temp_dir().join(format!("levee-timings-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("tld.zone");
    let n = 20_000;
    std::fs::write(&path, tld(n)).unwrap();
    let origin = levee_wire::name::from_text("tld.", None).unwrap();
    let t = Timings::new(clock);
    let opts = LoadOptions { timings: Some(t.clone()), ..LoadOptions::default() };
    let t0 = clock();
    let timed = load_with(Source::File(&path), &origin, &opts, Checks::Warn, &mut |_| {}).unwrap();
    let wall = clock() - t0;
    let plain = load_with(Source::File(&path), &origin, &LoadOptions::default(), Checks::Warn, &mut |_| {}).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(timed.zone.record_count(), plain.zone.record_count());
    assert_eq!(timed.zone.record_count() as usize, 3 * n + 3);
    // Every record was an entry (and the two directives).
    assert!(t.entries() >= 3 * n as u64 + 5, "{} entries", t.entries());
    let report = t.report();
    let get = |p: Phase| report.iter().find(|r| r.0 == p).unwrap().1;
    for p in [
        Phase::Read,
        Phase::Lex,
        Phase::Owner,
        Phase::Header,
        Phase::Rdata,
        Phase::Add,
        Phase::Ents,
        Phase::Sort,
        Phase::Nodes,
        Phase::Group,
        Phase::Fill,
        Phase::Index,
        Phase::Link,
    ] {
        assert!(get(p) > 0, "{} not timed: {report:?}", p.name());
    }
    // The unsplit parse is shared out to the sampled phases.
    assert!(t.raw(Phase::Unsplit) > 0);
    assert_eq!(get(Phase::Unsplit), 0);
    // The phases cover the load: their sum is within the wall time
    // around it, and most of it.
    let sum: u64 = report.iter().map(|r| r.1).sum();
    assert!(sum <= wall && sum * 10 >= wall * 9, "phases {sum} ns of {wall} ns");
    assert_eq!(timings::ALL.len(), timings::PHASES);
}
