//! Parse throughput of the zone-file reader on one core (issue 24,
//! check 2): tokenising, names, TTL/class/type and RDATA, text to wire,
//! through the production parser (`levee_zone::zonefile::parse`), with a
//! sink that only counts what it is handed. No snapshot is built.
//!
//! ```sh
//! cargo run --release -p levee-zone --example parse_throughput -- FILE [ORIGIN] [--seconds S] [--threads N]
//! ```
//!
//! With `--threads N` (N > 1) the parse is the parallel one
//! (`LoadOptions::threads`, as `[load] parse-threads`): the figure is
//! then the wall time of N parse threads and the merging thread.
//!
//! The file is read into memory first (not timed), then parsed from
//! memory again and again until `S` seconds (default 3) have passed, at
//! least twice; the best and the median round are printed in MB/s
//! (10^6 octets of zone text per second) and records per second. ORIGIN
//! defaults to the file name without `.zone` (`tld.zone` -> `tld.`).

use std::time::{Duration, Instant};

use levee_zone::zonefile::{parse_with, Record};
use levee_zone::{LoadOptions, Source};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut seconds = 3.0f64;
    let mut threads = 1usize;
    let mut pos = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--seconds" {
            seconds = it.next().and_then(|s| s.parse().ok()).unwrap_or_else(|| usage());
        } else if a == "--threads" {
            threads = it.next().and_then(|s| s.parse().ok()).unwrap_or_else(|| usage());
        } else {
            pos.push(a.clone());
        }
    }
    let Some(file) = pos.first() else { usage() };
    let origin_text = match pos.get(1) {
        Some(o) if o.ends_with('.') => o.clone(),
        Some(o) => format!("{o}."),
        None => {
            let base = std::path::Path::new(file).file_name().and_then(|n| n.to_str()).unwrap_or("");
            format!("{}.", base.strip_suffix(".zone").unwrap_or(base))
        }
    };
    let origin = levee_wire::name::from_text(&origin_text, None).unwrap_or_else(|e| {
        eprintln!("origin {origin_text}: {e}");
        std::process::exit(2)
    });
    let data = std::fs::read(file).unwrap_or_else(|e| {
        eprintln!("{file}: {e}");
        std::process::exit(2)
    });
    let opts = LoadOptions { threads, ..LoadOptions::default() };
    let mut rounds: Vec<Duration> = Vec::new();
    let (mut records, mut octets, mut errors) = (0u64, 0u64, 0usize);
    let started = Instant::now();
    while rounds.len() < 2 || started.elapsed().as_secs_f64() < seconds {
        let mut diags = Vec::new();
        let (mut n, mut rd) = (0u64, 0u64);
        let t0 = Instant::now();
        parse_with(
            Source::Memory { name: file, data: &data },
            &origin,
            &opts,
            &mut |r: &Record<'_>| {
                n += 1;
                rd += (r.rdata.len() + r.owner.len()) as u64;
                Ok(())
            },
            &mut diags,
        );
        rounds.push(t0.elapsed());
        (records, octets, errors) = (n, rd, diags.len());
    }
    rounds.sort();
    let mb = data.len() as f64 / 1e6;
    let rate = |d: Duration| mb / d.as_secs_f64();
    let best = rounds[0];
    let median = rounds[rounds.len() / 2];
    println!(
        "{file}: {:.1} MB, {records} records ({octets} octets of wire owner + RDATA, {errors} errors), {} rounds",
        mb,
        rounds.len()
    );
    println!(
        "parse (tokenise + names + RDATA, {}): best {:.3} s = {:.0} MB/s, {:.2} M records/s; median {:.3} s = {:.0} MB/s",
        if threads > 1 { format!("{threads} threads") } else { "one core".into() },
        best.as_secs_f64(),
        rate(best),
        records as f64 / best.as_secs_f64() / 1e6,
        median.as_secs_f64(),
        rate(median)
    );
}

fn usage() -> ! {
    eprintln!("usage: parse_throughput FILE [ORIGIN] [--seconds S] [--threads N]");
    std::process::exit(2)
}
