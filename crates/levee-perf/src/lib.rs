//! # levee-perf: the load generator behind `levee perf`
//!
//! Replays a dnsperf-format query file (`name type` per line) against one
//! DNS server over UDP, flat out or at a target rate, and reports queries
//! per second sent and answered, round-trip latency percentiles, lost
//! queries and rcodes.
//!
//! It is built to out-send the server on the same machine, so a server can
//! be saturated with one generator core: every thread owns several
//! *connected* UDP sockets (many source ports, so `SO_REUSEPORT` servers
//! spread the load over their workers), sends with `sendmmsg` and receives
//! with `recvmmsg` in batches (`levee_io::batch`), builds queries by
//! copying pre-encoded bytes and patching the ID, and records latency in a
//! fixed histogram: nothing is allocated per query.
//!
//! Safety of use: by default the target must be a loopback address
//! (127.0.0.0/8 or ::1); other targets need `allow_remote`, because a load
//! generator pointed at someone else's server is a flood. Every run is
//! bounded in time (`duration`, at most [`MAX_DURATION`]) and optionally in
//! count (`max_queries`).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod gen;
pub mod hist;
pub mod queries;

use std::fmt::Write as _;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use levee_wire::header::rcode::NAMES as RCODES;

pub use gen::{Live, ThreadPlan, ThreadStats};
pub use hist::Histogram;
pub use queries::{QuerySet, QueryStyle};

/// Longest run allowed.
pub const MAX_DURATION: Duration = Duration::from_secs(3600);
/// Most generator threads.
pub const MAX_THREADS: usize = 64;

/// A whole run's options.
#[derive(Clone, Debug)]
pub struct Options {
    /// The server.
    pub target: SocketAddr,
    /// Accept a target outside loopback.
    pub allow_remote: bool,
    /// Generator threads.
    pub threads: usize,
    /// Connected sockets per thread.
    pub sockets: usize,
    /// Queries per sendmmsg.
    pub batch: usize,
    /// Most queries in flight per thread.
    pub outstanding: usize,
    /// Total queries per second; `None` = flat out.
    pub rate: Option<f64>,
    /// How long to send.
    pub duration: Duration,
    /// Most queries to send in total.
    pub max_queries: Option<u64>,
    /// A query unanswered this long is lost.
    pub timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            target: "127.0.0.1:53".parse().expect("addr"),
            allow_remote: false,
            threads: 1,
            sockets: 16,
            batch: 16,
            outstanding: 200,
            rate: None,
            duration: Duration::from_secs(10),
            max_queries: None,
            timeout: Duration::from_secs(2),
        }
    }
}

/// True for 127.0.0.0/8, ::1 and IPv4-mapped loopback.
pub fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => a.is_loopback(),
        IpAddr::V6(a) => a.is_loopback() || a.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
    }
}

/// Checks the options; the error says what to change.
pub fn check(o: &Options) -> Result<(), String> {
    if !o.allow_remote && !is_loopback(o.target.ip()) {
        return Err(format!(
            "{} is not a loopback address; load tests against other hosts need --allow-remote \
             (only against servers you operate)",
            o.target.ip()
        ));
    }
    if o.target.port() == 0 {
        return Err("the target port must not be 0".into());
    }
    if o.duration.is_zero() || o.duration > MAX_DURATION {
        return Err(format!("the duration must be between 0 and {} s", MAX_DURATION.as_secs()));
    }
    if o.threads == 0 || o.threads > MAX_THREADS {
        return Err(format!("threads must be 1..={MAX_THREADS}"));
    }
    if o.sockets == 0 || o.sockets > levee_io::batch::MAX_POLL {
        return Err(format!("sockets must be 1..={}", levee_io::batch::MAX_POLL));
    }
    if o.rate.is_some_and(|r| !(r.is_finite() && r > 0.0)) {
        return Err("the rate must be a positive number of queries per second".into());
    }
    if o.timeout.is_zero() || o.timeout > Duration::from_secs(30) {
        return Err("the timeout must be between 0 and 30 s".into());
    }
    Ok(())
}

/// A finished run.
#[derive(Clone)]
pub struct Report {
    /// Time spent sending (the longest thread).
    pub send_time: Duration,
    /// Wall time including the final wait for replies.
    pub wall_time: Duration,
    /// All threads' counts merged.
    pub stats: ThreadStats,
    /// Threads used.
    pub threads: usize,
}

impl Report {
    /// Queries sent per second of sending time.
    pub fn qps_sent(&self) -> f64 {
        self.stats.sent as f64 / self.send_time.as_secs_f64().max(1e-9)
    }

    /// Replies per second of sending time.
    pub fn qps_answered(&self) -> f64 {
        self.stats.answered as f64 / self.send_time.as_secs_f64().max(1e-9)
    }

    fn lat_us(&self, q: f64) -> Option<f64> {
        self.stats.latency.quantile(q).map(|ns| ns as f64 / 1000.0)
    }

    /// Human-readable summary.
    pub fn text(&self) -> String {
        let s = &self.stats;
        let mut o = String::new();
        let pct = |n: u64| if s.sent == 0 { 0.0 } else { 100.0 * n as f64 / s.sent as f64 };
        let _ = writeln!(o, "Statistics ({} thread(s), {:.2} s sending):", self.threads, self.send_time.as_secs_f64());
        let _ = writeln!(o, "  queries sent:      {}", s.sent);
        let _ = writeln!(o, "  queries answered:  {} ({:.3} %)", s.answered, pct(s.answered));
        let _ = writeln!(o, "  queries lost:      {} ({:.3} %)", s.lost, pct(s.lost));
        if s.unexpected > 0 || s.errors > 0 {
            let _ = writeln!(o, "  unexpected replies: {}, socket errors: {}", s.unexpected, s.errors);
        }
        let _ = writeln!(o, "  QPS sent:          {:.0}", self.qps_sent());
        let _ = writeln!(o, "  QPS answered:      {:.0}", self.qps_answered());
        let rc: Vec<String> = (0..16)
            .filter(|&i| s.rcodes[i] > 0)
            .map(|i| format!("{} {} ({:.2} %)", RCODES[i], s.rcodes[i], 100.0 * s.rcodes[i] as f64 / s.answered as f64))
            .collect();
        let _ = writeln!(o, "  rcodes:            {}", if rc.is_empty() { "-".into() } else { rc.join(", ") });
        if s.truncated > 0 {
            let _ = writeln!(o, "  truncated (TC):    {}", s.truncated);
        }
        match (self.lat_us(0.5), self.lat_us(0.99), self.lat_us(0.999)) {
            (Some(a), Some(b), Some(c)) => {
                let max = s.latency.max() as f64 / 1000.0;
                let _ = writeln!(o, "  latency (us):      p50 {a:.1}  p99 {b:.1}  p99.9 {c:.1}  max {max:.1}");
            }
            _ => {
                let _ = writeln!(o, "  latency:           no replies");
            }
        }
        o
    }

    /// One JSON object (for scripts).
    pub fn json(&self) -> String {
        let s = &self.stats;
        let num = |v: Option<f64>| v.map_or("null".to_string(), |v| format!("{v:.3}"));
        let rc: Vec<String> =
            (0..16).filter(|&i| s.rcodes[i] > 0).map(|i| format!("\"{}\":{}", RCODES[i], s.rcodes[i])).collect();
        format!(
            "{{\"threads\":{},\"send_seconds\":{:.6},\"wall_seconds\":{:.6},\"sent\":{},\"answered\":{},\"lost\":{},\
             \"unexpected\":{},\"errors\":{},\"truncated\":{},\"qps_sent\":{:.1},\"qps_answered\":{:.1},\
             \"latency_us\":{{\"p50\":{},\"p99\":{},\"p999\":{},\"max\":{}}},\"rcodes\":{{{}}}}}",
            self.threads,
            self.send_time.as_secs_f64(),
            self.wall_time.as_secs_f64(),
            s.sent,
            s.answered,
            s.lost,
            s.unexpected,
            s.errors,
            s.truncated,
            self.qps_sent(),
            self.qps_answered(),
            num(self.lat_us(0.5)),
            num(self.lat_us(0.99)),
            num(self.lat_us(0.999)),
            num((s.answered > 0).then(|| s.latency.max() as f64 / 1000.0)),
            rc.join(",")
        )
    }
}

/// Runs the load test. `progress` is called about once per second with the
/// elapsed time and the totals sent, answered and lost so far.
pub fn run(
    o: &Options,
    queries: &QuerySet,
    stop: &AtomicBool,
    mut progress: impl FnMut(Duration, u64, u64, u64),
) -> io::Result<Report> {
    check(o).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let threads = o.threads;
    let total_max = o.max_queries.unwrap_or(u64::MAX);
    let lives: Vec<Live> = (0..threads).map(|_| Live::default()).collect();
    let done = AtomicBool::new(false);
    let start = Instant::now();
    let results: Vec<io::Result<ThreadStats>> = std::thread::scope(|sc| {
        let mut hs = Vec::new();
        for (t, live) in lives.iter().enumerate() {
            let share = total_max / threads as u64 + u64::from((t as u64) < total_max % threads as u64);
            let plan = ThreadPlan {
                target: o.target,
                sockets: o.sockets,
                batch: o.batch,
                outstanding: o.outstanding,
                rate: o.rate.map(|r| r / threads as f64),
                duration: o.duration,
                max_queries: if o.max_queries.is_some() { share } else { u64::MAX },
                timeout: o.timeout,
                first: t * (queries.len() / threads),
            };
            hs.push(sc.spawn(move || gen::run_thread(plan, queries, live, stop)));
        }
        let mut next = Duration::from_secs(1);
        while !hs.iter().all(|h| h.is_finished()) {
            std::thread::sleep(Duration::from_millis(20));
            if start.elapsed() >= next {
                let sum = |f: fn(&Live) -> u64| lives.iter().map(f).sum::<u64>();
                progress(
                    next,
                    sum(|l| l.sent.load(Ordering::Relaxed)),
                    sum(|l| l.answered.load(Ordering::Relaxed)),
                    sum(|l| l.lost.load(Ordering::Relaxed)),
                );
                next += Duration::from_secs(1);
            }
        }
        done.store(true, Ordering::Relaxed);
        hs.into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(io::Error::other("generator thread panicked"))))
            .collect()
    });
    let wall_time = start.elapsed();
    let mut stats = ThreadStats::default();
    let mut send_time = Duration::ZERO;
    for r in results {
        let s = r?;
        stats.sent += s.sent;
        stats.answered += s.answered;
        stats.lost += s.lost;
        stats.unexpected += s.unexpected;
        stats.truncated += s.truncated;
        stats.errors += s.errors;
        for i in 0..16 {
            stats.rcodes[i] += s.rcodes[i];
        }
        stats.latency.merge(&s.latency);
        send_time = send_time.max(s.send_time);
    }
    Ok(Report { send_time, wall_time, stats, threads })
}

#[cfg(test)]
mod tests;
