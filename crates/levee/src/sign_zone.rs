//! `levee sign-zone`: sign a zone file with the server's signer
//! (`levee_sign`) and write the signed zone as text, like BIND's
//! `dnssec-signzone` or `knotc zone-sign` on a file. The keys come from
//! a key directory (`crate::keys`); when it holds none for the zone, a
//! combined signing key (or a KSK and a ZSK with `--split`) is made and
//! written there, and the DS records for the parent are printed.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use levee_sign::denial::Nsec3Params;
use levee_sign::{Algorithm, Denial, Policy, Rr};
use levee_wire::name;
use levee_zone::zonefile::{parse_with, record_to_text, LoadOptions, Record};
use levee_zone::Source;

use crate::keys;
use crate::zones::load::origin_of_file;

/// What `levee sign-zone` was asked.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Zone origin (default: from the file name, e.g. example.com.zone).
    #[arg(long, value_name = "NAME")]
    pub origin: Option<String>,
    /// Key directory: the zone's keys are in DIR/<zone> (made if absent).
    #[arg(long, value_name = "DIR")]
    pub keys: PathBuf,
    /// Algorithm of new keys: ecdsap256sha256 (default) or ed25519.
    #[arg(long, value_name = "ALG", default_value = "ecdsap256sha256")]
    pub algorithm: String,
    /// New keys as a KSK and a ZSK instead of one combined key.
    #[arg(long)]
    pub split: bool,
    /// Denial of existence: nsec (default) or nsec3 (no extra
    /// iterations, no salt: RFC 9276).
    #[arg(long, value_name = "nsec|nsec3", default_value = "nsec")]
    pub denial: String,
    /// NSEC3 opt-out: insecure delegations left out of the chain.
    #[arg(long)]
    pub opt_out: bool,
    /// Signature validity in days.
    #[arg(long, value_name = "DAYS", default_value_t = 14)]
    pub validity_days: u32,
    /// Signing threads (default: one per CPU core).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Sign as if the time were this (seconds since the epoch).
    #[arg(long, value_name = "SECONDS")]
    pub now: Option<u64>,
    /// Output file (default: FILE.signed).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The zone file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

/// Signs one zone file; exit status 1 on a zone or key problem, 2 on
/// usage problems.
pub fn run(a: &Args) -> ExitCode {
    match sign(a) {
        Ok(()) => ExitCode::SUCCESS,
        Err((code, msg)) => {
            eprintln!("levee sign-zone: {msg}");
            ExitCode::from(code)
        }
    }
}

type Failure = (u8, String);

fn sign(a: &Args) -> Result<(), Failure> {
    let usage = |m: String| (2u8, m);
    let alg =
        Algorithm::from_name(&a.algorithm).ok_or_else(|| usage(format!("--algorithm: unknown {}", a.algorithm)))?;
    let denial = match (a.denial.to_ascii_lowercase().as_str(), a.opt_out) {
        ("nsec", false) => Denial::Nsec,
        ("nsec", true) => return Err(usage("--opt-out needs --denial nsec3".into())),
        ("nsec3", opt_out) => Denial::Nsec3(Nsec3Params { opt_out, ..Nsec3Params::default() }),
        (d, _) => return Err(usage(format!("--denial: unknown {d} (nsec or nsec3)"))),
    };
    if a.validity_days == 0 || a.validity_days > 3650 {
        return Err(usage("--validity-days: between 1 and 3650".into()));
    }
    let origin_text = origin(a.origin.as_deref(), &a.file).ok_or_else(|| {
        usage(format!("{}: cannot tell the origin from the file name; give --origin", a.file.display()))
    })?;
    let apex = name::from_text(&origin_text, None).map_err(|e| usage(format!("--origin {origin_text}: {e}")))?;
    let now = a.now.unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
    });
    let t0 = Instant::now();
    let records = read_zone(&a.file, apex.as_slice())?;
    let read = t0.elapsed();
    let dir = keys::zone_dir(&a.keys, &origin_text);
    let mut zone_keys = keys::load(&dir, &origin_text).map_err(|e| (1, e))?;
    if zone_keys.is_empty() {
        let mut made = vec![keys::generate(&dir, &origin_text, alg, true, now).map_err(|e| (1, e))?];
        if a.split {
            made.push(keys::generate(&dir, &origin_text, alg, false, now).map_err(|e| (1, e))?);
        }
        for k in made.iter().filter(|k| k.is_sep()) {
            let ds = k.ds_sha256(apex.as_slice());
            eprintln!(
                "new key {} in {}; for the parent: {}",
                k.tag(),
                dir.display(),
                record_to_text(apex.as_slice(), 3600, 1, levee_wire::rtype::t::DS, &ds)
            );
        }
        zone_keys = made;
    }
    let threads = a.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let policy = Policy { denial, validity: a.validity_days * 86400, threads, ..Policy::default() };
    let t1 = Instant::now();
    let signed = levee_sign::sign_zone(records, apex.as_slice(), &zone_keys, &policy, now as u32, None)
        .map_err(|e| (1, format!("{}: {e}", a.file.display())))?;
    let sign_time = t1.elapsed();
    let out = a.output.clone().unwrap_or_else(|| {
        let mut s = a.file.as_os_str().to_owned();
        s.push(".signed");
        PathBuf::from(s)
    });
    let t2 = Instant::now();
    write_zone(&out, &signed.records).map_err(|e| (1, format!("{}: {e}", out.display())))?;
    eprintln!(
        "{origin_text}: {} records, {} signatures, {} chain records; read {:.2} s, signed {:.2} s on {threads} threads, written {:.2} s -> {}",
        signed.records.len(),
        signed.signatures,
        signed.chain,
        read.as_secs_f64(),
        sign_time.as_secs_f64(),
        t2.elapsed().as_secs_f64(),
        out.display()
    );
    Ok(())
}

fn origin(given: Option<&str>, file: &Path) -> Option<String> {
    match given {
        Some(o) if o.ends_with('.') => Some(o.to_string()),
        Some(o) => Some(format!("{o}.")),
        None => origin_of_file(file.file_name()?.to_str()?),
    }
}

/// The zone's records, or every error as FILE:LINE.
fn read_zone(file: &Path, apex: &[u8]) -> Result<Vec<Rr>, Failure> {
    let mut records = Vec::new();
    let mut diags = Vec::new();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let opts = LoadOptions { threads, ..LoadOptions::default() };
    parse_with(
        Source::File(file),
        apex,
        &opts,
        &mut |r: &Record<'_>| {
            records.push(Rr {
                owner: r.owner.to_vec(),
                rtype: r.rtype,
                class: r.class,
                ttl: r.ttl,
                rdata: r.rdata.to_vec(),
            });
            Ok(())
        },
        &mut diags,
    );
    let errors: Vec<String> = diags.iter().filter(|d| !d.warning).map(|d| d.to_string()).collect();
    if !errors.is_empty() {
        return Err((1, errors.join("\n")));
    }
    Ok(records)
}

fn write_zone(out: &Path, records: &[Rr]) -> std::io::Result<()> {
    crate::storage::write_atomic(out, |w| {
        for r in records {
            writeln!(w, "{}", record_to_text(&r.owner, r.ttl, r.class, r.rtype, &r.rdata))?;
        }
        Ok(())
    })
}
