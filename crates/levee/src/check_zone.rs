//! `levee check-zone`: load zone files with the server's own loader and
//! checks, and report every problem as `FILE:LINE: message`. The
//! semantic-check policy (`--semantic-checks`, or the zone's
//! `semantic-checks` in `--config`) is the server's: a zone check-zone
//! passes, `levee serve` loads.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use levee_config::{Config, SemanticChecks};
use levee_wire::name;

use crate::zones::load::{checks_of, origin_of_file};

/// Checks each file; exit status 1 if any has errors, 2 on usage problems.
pub fn run(origin: Option<&str>, policy: Option<&str>, config: Option<&Path>, files: &[PathBuf]) -> ExitCode {
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
        };
        match levee_zone::load_with(levee_zone::Source::File(f), &origin, &opts, checks, &mut |_| {}) {
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
                    started.elapsed().as_secs_f64()
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
    }
    if bad > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
