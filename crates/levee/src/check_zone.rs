//! `levee check-zone`: load zone files with the server's own loader and
//! checks, and report every problem as `FILE:LINE: message`. The
//! semantic-check policy (`--semantic-checks`, or the zone's
//! `semantic-checks` in `--config`) is the server's: a zone check-zone
//! passes, `levee serve` loads.
//!
//! With `--timings`, the same load carries a [`Timings`]: the loader
//! charges its time to phases (reading, tokenising, owner names, RDATA,
//! the builder, each build step) and a table of them follows each
//! zone's line, with the parse throughput (tokenise + names + RDATA, one
//! core) and the process's peak memory. The per-record phases are
//! estimated from one entry in 16 (`levee_zone::zonefile::timings`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use levee_config::{Config, SemanticChecks};
use levee_wire::name;
use levee_zone::zonefile::Phase;
use levee_zone::Timings;

use crate::zones::load::{checks_of, origin_of_file};

/// Checks each file; exit status 1 if any has errors, 2 on usage problems.
pub fn run(
    origin: Option<&str>,
    policy: Option<&str>,
    config: Option<&Path>,
    timed: bool,
    files: &[PathBuf],
) -> ExitCode {
    let mut cfg = match config.map(Config::from_file).transpose() {
        Ok(c) => c.unwrap_or_default(),
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    if let Some(p) = policy {
        match SemanticChecks::parse(p) {
            Ok(c) => {
                cfg.semantic_checks = c;
                for z in &mut cfg.zones {
                    z.semantic_checks = None;
                }
            }
            Err(m) => {
                eprintln!("--semantic-checks: {m}");
                return ExitCode::from(2);
            }
        }
    }
    let mut bad = 0;
    for f in files {
        let origin_text = match origin {
            Some(o) => {
                if o.ends_with('.') {
                    o.to_string()
                } else {
                    format!("{o}.")
                }
            }
            None => match f.file_name().and_then(|n| n.to_str()).and_then(origin_of_file) {
                Some(o) => o,
                None => {
                    eprintln!("{}: cannot tell the zone's origin from the file name; use --origin", f.display());
                    return ExitCode::from(2);
                }
            },
        };
        let origin = match name::from_text(&origin_text, None) {
            Ok(o) => o,
            Err(e) => {
                eprintln!("--origin {origin_text}: {e}");
                return ExitCode::from(2);
            }
        };
        let started = Instant::now();
        let zone_cfg = cfg.zones.iter().find(|z| z.name.eq_ignore_ascii_case(&origin_text));
        let checks = checks_of(&cfg, zone_cfg);
        // The server's budgets (`[load]`), so check-zone refuses what a load would.
        let opts = levee_zone::LoadOptions {
            max_bytes: cfg.load.max_zone_bytes,
            max_records: cfg.load.max_zone_records,
            watch: None,
            timings: timed.then(|| Timings::new(clock_ns)),
            threads: cfg.load.threads(),
            ..levee_zone::LoadOptions::default()
        };
        let cpu0 = cpu_ns();
        let result = levee_zone::load_with(levee_zone::Source::File(f), &origin, &opts, checks, &mut |_| {});
        let wall = started.elapsed();
        match result {
            Ok(built) => {
                for w in &built.warnings {
                    println!("{w}");
                }
                let z = &built.zone;
                println!(
                    "{}: zone {} OK: serial {}, {} records, {} names, {} warnings ({:.2} s)",
                    f.display(),
                    origin_text,
                    z.serial(),
                    z.record_count(),
                    z.node_count(),
                    built.warnings.len(),
                    wall.as_secs_f64()
                );
            }
            Err(diags) => {
                bad += 1;
                let errors = diags.iter().filter(|d| !d.warning).count();
                for d in &diags {
                    println!("{d}");
                }
                println!("{}: zone {} has {} error(s)", f.display(), origin_text, errors);
            }
        }
        if let Some(t) = &opts.timings {
            let bytes = std::fs::metadata(f).map(|m| m.len()).unwrap_or(0);
            let cpu = cpu_ns().zip(cpu0).map(|(b, a)| b.saturating_sub(a));
            print!("{}", timings_table(t, wall.as_nanos() as u64, cpu, bytes, opts.threads));
        }
    }
    if bad > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Nanoseconds since the first call: the clock a timed load reads.
fn clock_ns() -> u64 {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// The phases of one timed load as a Markdown table (seconds, share of
/// the wall time), then the parse throughput over `bytes` of zone text
/// (the zone file's size; `$INCLUDE`d files are not counted),
/// the CPU time of the load (`cpu_ns`: well under the wall time means
/// the machine was busy and every figure is inflated) and the peak memory
/// of the process so far.
fn timings_table(t: &Timings, wall_ns: u64, cpu_ns: Option<u64>, bytes: u64, threads: usize) -> String {
    use std::fmt::Write;
    let report = t.report();
    let sum: u64 = report.iter().map(|r| r.1).sum();
    let secs = |ns: u64| ns as f64 / 1e9;
    let pct = |ns: u64| 100.0 * ns as f64 / wall_ns.max(1) as f64;
    let mut out = String::from("| phase | s | % of wall |\n|---|---:|---:|\n");
    for &(p, ns) in report.iter().filter(|r| r.0 != Phase::Unsplit) {
        let mark = if p.sampled() { " *" } else { "" };
        let _ = writeln!(out, "| {}{mark} | {:.3} | {:.1} |", p.name(), secs(ns), pct(ns));
    }
    let other = wall_ns.saturating_sub(sum);
    let _ = writeln!(out, "| outside the phases | {:.3} | {:.1} |", secs(other), pct(other));
    let _ = writeln!(out, "| **wall** | **{:.3}** | 100.0 |", secs(wall_ns));
    let _ =
        writeln!(out, "| (CPU time of the load) | {} | |", cpu_ns.map_or("?".into(), |c| format!("{:.3}", secs(c))));
    let of = |ps: &[Phase]| report.iter().filter(|r| ps.contains(&r.0)).map(|r| r.1).sum::<u64>();
    let parse = of(&[Phase::Lex, Phase::Owner, Phase::Header, Phase::Rdata]);
    let mb = bytes as f64 / 1e6;
    if threads > 1 {
        // The parse threads are not timed: the reading thread's wall time
        // from the first read to the last record is the parse's.
        let stage = of(&[Phase::Read, Phase::Lex, Phase::Owner, Phase::Header, Phase::Rdata, Phase::Add, Phase::Wait]);
        let _ = writeln!(
            out,
            "parsed on {threads} threads (`load.parse-threads`): the per-record phases are the blocks parsed again on the reading thread; read + parse + builder add: {:.3} s, {:.0} MB/s; whole load: {:.0} MB/s; peak RSS {} MiB",
            secs(stage),
            mb / secs(stage).max(1e-9),
            mb / secs(wall_ns).max(1e-9),
            peak_rss_mib().map_or("?".into(), |v| v.to_string())
        );
        return out;
    }
    let _ = writeln!(
        out,
        "* per-record phases estimated from 1 entry in {} ({} entries)",
        levee_zone::zonefile::timings::SAMPLE,
        t.entries()
    );
    let _ = writeln!(
        out,
        "parse (tokenise + owner + TTL/class/type + RDATA): {:.3} s, {:.0} MB/s; read + parse + builder add: {:.0} MB/s; whole load: {:.0} MB/s; peak RSS {} MiB",
        secs(parse),
        mb / secs(parse).max(1e-9),
        mb / secs(of(&[Phase::Read, Phase::Lex, Phase::Owner, Phase::Header, Phase::Rdata, Phase::Add])).max(1e-9),
        mb / secs(wall_ns).max(1e-9),
        peak_rss_mib().map_or("?".into(), |v| v.to_string())
    );
    out
}

/// The process's peak resident set (`VmHWM`), in MiB.
fn peak_rss_mib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

/// CPU time of the process so far, user and system, every thread (the
/// parse threads of a load included, after they ended): `utime` and
/// `stime` of `/proc/self/stat`, in clock ticks of 10 ms, in nanoseconds.
fn cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name may hold spaces: count fields after its ')'.
    let rest = &s[s.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(ticks * 10_000_000)
}
