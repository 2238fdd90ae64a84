//! `levee perf`: the load generator's command line (the generator itself
//! is `levee-perf`).

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use levee_perf::{Options, QueryStyle};

#[derive(clap::Args)]
pub struct Args {
    /// Query file: one `name type` per line (dnsperf's format).
    #[arg(long, short = 'd', value_name = "FILE")]
    data: PathBuf,
    /// Server address.
    #[arg(long, short = 's', default_value = "127.0.0.1", value_name = "IP")]
    server: IpAddr,
    /// Server port.
    #[arg(long, short = 'p', default_value_t = 53)]
    port: u16,
    /// Allow a target outside loopback (127.0.0.0/8, ::1). Only ever point
    /// a load generator at servers you operate: to anyone else it is a flood.
    #[arg(long)]
    allow_remote: bool,
    /// Seconds to send (at most 3600).
    #[arg(long, short = 'l', default_value_t = 10.0, value_name = "SECONDS")]
    duration: f64,
    /// Stop after this many queries in total.
    #[arg(long, short = 'n', value_name = "N")]
    max_queries: Option<u64>,
    /// Target rate in queries per second (total); default: as fast as possible.
    #[arg(long, short = 'Q', value_name = "QPS")]
    rate: Option<f64>,
    /// Generator threads.
    #[arg(long, short = 'T', default_value_t = 1)]
    threads: usize,
    /// Sockets (source ports) per thread.
    #[arg(long, short = 'c', default_value_t = 16)]
    sockets: usize,
    /// Most queries in flight per thread.
    #[arg(long, short = 'q', default_value_t = 200)]
    outstanding: usize,
    /// Queries per sendmmsg call (at most 64). Bigger batches cost the
    /// generator less, but bursts can overflow a server's socket buffer.
    #[arg(long, default_value_t = 16)]
    batch: usize,
    /// Seconds after which an unanswered query counts as lost.
    #[arg(long, short = 't', default_value_t = 2.0, value_name = "SECONDS")]
    timeout: f64,
    /// Send EDNS0 (payload 1232).
    #[arg(long)]
    edns: bool,
    /// Set DO (DNSSEC OK); implies --edns.
    #[arg(long, short = 'D')]
    dnssec: bool,
    /// Set RD in the queries.
    #[arg(long)]
    rd: bool,
    /// Print the report as one JSON object on stdout.
    #[arg(long)]
    json: bool,
    /// No progress line.
    #[arg(long)]
    quiet: bool,
}

fn secs(s: f64) -> Option<Duration> {
    (s.is_finite() && s > 0.0 && s <= 1e6).then(|| Duration::from_secs_f64(s))
}

pub fn run(a: Args) -> ExitCode {
    let (Some(duration), Some(timeout)) = (secs(a.duration), secs(a.timeout)) else {
        eprintln!("levee perf: --duration and --timeout must be positive numbers of seconds");
        return ExitCode::from(2);
    };
    let o = Options {
        target: SocketAddr::new(a.server, a.port),
        allow_remote: a.allow_remote,
        threads: a.threads,
        sockets: a.sockets,
        batch: a.batch,
        outstanding: a.outstanding,
        rate: a.rate,
        duration,
        max_queries: a.max_queries,
        timeout,
    };
    if let Err(e) = levee_perf::check(&o) {
        eprintln!("levee perf: {e}");
        return ExitCode::from(2);
    }
    let text = match std::fs::read(&a.data) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("levee perf: {}: {e}", a.data.display());
            return ExitCode::from(2);
        }
    };
    let style = QueryStyle { edns: a.edns, dnssec: a.dnssec, rd: a.rd };
    let queries = match levee_perf::queries::parse(&text, style) {
        Ok(q) => q,
        Err(e) => {
            eprintln!("levee perf: {}: {e}", a.data.display());
            return ExitCode::from(2);
        }
    };
    drop(text);
    if !a.quiet {
        eprintln!(
            "levee perf: {} queries from {}, target {}, {} thread(s) x {} socket(s), {}",
            queries.len(),
            a.data.display(),
            o.target,
            o.threads,
            o.sockets,
            o.rate.map_or("flat out".to_string(), |r| format!("{r:.0} QPS"))
        );
    }
    let stop = AtomicBool::new(false);
    let (mut last_s, mut last_a) = (0u64, 0u64);
    let quiet = a.quiet;
    let r = levee_perf::run(&o, &queries, &stop, |t, sent, answered, lost| {
        if !quiet {
            eprintln!(
                "  {:>4}s  sent {:>9} q/s  answered {:>9} q/s  lost {}",
                t.as_secs(),
                sent - last_s,
                answered - last_a,
                lost
            );
        }
        (last_s, last_a) = (sent, answered);
    });
    match r {
        Ok(rep) => {
            let out = if a.json { rep.json() + "\n" } else { rep.text() };
            let _ = std::io::stdout().write_all(out.as_bytes());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("levee perf: {e}");
            ExitCode::from(1)
        }
    }
}
