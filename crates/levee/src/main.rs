//! The `levee` binary: `serve`, `ctl`, `check-zone` and `perf`.
//!
//! See ARCHITECTURE.md at the repository root for how a packet travels
//! through the crates, and `levee <command> --help` for the options.
//!
//! The daemon (`levee serve`), by subsystem:
//!
//! * `daemon`: start-up (configuration, sockets, privileges, threads),
//!   signals, shutdown;
//! * `center`: the state the subsystems share, passed as `Arc<Center>`;
//! * `serve`: the drivers (the UDP worker and the TCP service);
//! * `events`: what the daemon does with the events a response's `Meta`
//!   reports (NOTIFY accepted or refused, TSIG failures, refused transfers);
//! * `zones`: zone publication (loading, reloads, publish and retire);
//! * `replication`: primary (journals, NOTIFY out), secondary (the
//!   refresh loop, transfers in), the small DNS client;
//! * `storage`: stored zone copies and journals on disk;
//! * `control_socket`: the `levee ctl` socket (server and client);
//! * `ops`: what the operator sees: counters, log summaries, the JSON
//!   operations, `/metrics`, the management listener and dashboard;
//! * `tls`: DNS over TLS: the certificate (reloaded) and the rustls
//!   configuration of the DoT listener (`levee_io::tcp::run_tls`);
//! * `clock`: wall-clock time.
//!
//! The other commands: `check_zone` (`levee check-zone`), `sign_zone`
//! (`levee sign-zone`, over `levee-sign`, with the key store `keys`), `perf`
//! (`levee perf`, over `levee-perf`), `migrate` (`levee migrate`: a Knot
//! DNS or NSD configuration converted), `gen_docs` (`levee gen-docs`,
//! hidden: the manual pages and shell completions, for the package).

#![forbid(unsafe_code)]

mod center;
mod check_zone;
mod clock;
mod control_socket;
mod daemon;
mod dnstap;
mod events;
mod gate;
mod gen_docs;
mod keys;
mod migrate;
mod ops;
mod perf;
mod provision;
mod replication;
mod serve;
mod sign_zone;
mod storage;
mod tls;
mod update;
mod zones;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

// The test build counts allocations per thread (serve's allocation test).
#[cfg(test)]
#[global_allocator]
static ALLOC: levee_io::alloc_count::Counting = levee_io::alloc_count::Counting;
use levee_config::{Config, Overrides};

/// levee: a flood-resistant authoritative DNS server.
#[derive(Parser)]
#[command(name = "levee", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve zones over UDP and TCP (in the foreground; logs go to stderr).
    ///
    /// Without --config and --zones-dir, serves the built-in example zones
    /// (example.com., example.net.) on 127.0.0.1:5353.
    Serve {
        /// TOML configuration file (also taken from the LEVEE_CONFIG
        /// environment variable, e.g. for a benchmark adapter).
        #[arg(long, short = 'c', value_name = "FILE", env = "LEVEE_CONFIG")]
        config: Option<PathBuf>,
        /// Address to serve on (repeatable; replaces the file's list).
        #[arg(long, value_name = "ADDR:PORT")]
        listen: Vec<String>,
        /// Serve every <origin>zone file in DIR (example.com.zone is example.com.).
        #[arg(long, value_name = "DIR")]
        zones_dir: Option<PathBuf>,
        /// Allow AXFR/IXFR of ZONE from PREFIX (repeatable).
        #[arg(long, value_name = "ZONE=PREFIX")]
        allow_transfer: Vec<String>,
        /// UDP worker threads per address (default: one per CPU core).
        #[arg(long, value_name = "N")]
        threads: Option<usize>,
        /// Serve metrics, the JSON API and the dashboard over HTTP on
        /// ADDR:PORT (e.g. 127.0.0.1:8053; overrides [management] listen).
        /// A non-loopback address needs --management-allow-remote and
        /// tokens ([[management.token]] in the file).
        #[arg(long, value_name = "ADDR:PORT")]
        management: Option<String>,
        /// Accept a non-loopback --management address (as
        /// management.allow-remote = true).
        #[arg(long)]
        management_allow_remote: bool,
        /// Run the flood gate below the socket with the [gate] settings
        /// of the file, or the defaults (as gate.enabled = true).
        #[arg(long)]
        gate: bool,
        /// Answer UDP on IFACE with AF_XDP (repeatable; replaces
        /// [xdp] interfaces). Needs CAP_NET_ADMIN and CAP_BPF at start;
        /// falls back to the sockets, with a warning, where XDP fails.
        #[arg(long, value_name = "IFACE")]
        xdp: Vec<String>,
        /// Sign ZONE online (DNSSEC) with the default policy (repeatable;
        /// as `dnssec-signing = true`); its keys are kept, and made at the
        /// first start, under the storage directory.
        #[arg(long, value_name = "ZONE")]
        sign: Vec<String>,
        /// Storage directory: journals, received zones, DNSSEC keys, the
        /// control socket (as server.storage-dir).
        #[arg(long, value_name = "DIR")]
        storage_dir: Option<PathBuf>,
        /// Capture queries and responses to the dnstap collector on the
        /// Unix socket PATH (Frame Streams, e.g. fstrm_capture -u PATH),
        /// with the [dnstap] settings of the file (as dnstap.enabled =
        /// true, socket-path = PATH).
        #[arg(long, value_name = "PATH")]
        dnstap: Option<PathBuf>,
        /// Serve DNS over TLS (RFC 7858) on ADDR:PORT (repeatable;
        /// replaces [tls] listen; 853 is the standard port). Needs
        /// --tls-cert and --tls-key (or [tls] certificate and key).
        #[arg(long, value_name = "ADDR:PORT")]
        listen_tls: Vec<String>,
        /// Serve DNS over QUIC (RFC 9250) on ADDR:PORT, UDP (repeatable;
        /// replaces [tls] listen-quic; 853 is the standard port), with the
        /// DoT certificate and key (--tls-cert, --tls-key or [tls]).
        #[arg(long, value_name = "ADDR:PORT")]
        listen_quic: Vec<String>,
        /// PEM certificate chain of the DoT listener (as [tls]
        /// certificate); read again at every reload.
        #[arg(long, value_name = "FILE")]
        tls_cert: Option<PathBuf>,
        /// PEM private key of --tls-cert (as [tls] key); must not be
        /// accessible by other users.
        #[arg(long, value_name = "FILE")]
        tls_key: Option<PathBuf>,
    },
    /// Control a running server over its local socket.
    ///
    /// Commands: status, zone-status [ZONE], reload [ZONE], refresh ZONE,
    /// retransfer ZONE, stats (JSON), gate (the flood gate: where it runs,
    /// its settings, armed zones, known sources, packets per reason),
    /// rrset-get ZONE [NAME [TYPE]], rrset-set ZONE NAME TYPE TTL RDATA...
    /// (each RDATA one record, quoted), rrset-delete ZONE NAME TYPE.
    /// zone-add ZONE ADDR:PORT [key NAME]... [catalog CAT [group G]] (a
    /// runtime secondary zone, kept across restarts), zone-add-primary
    /// ZONE /ABSOLUTE/FILE [allow-transfer PREFIX[,key,NAME]]... (a
    /// runtime primary zone from that zone text), zone-remove ZONE,
    /// zone-catalog ZONE CATALOG [group G] | zone-catalog ZONE none (a
    /// runtime zone's produced catalog). keys ZONE (a signed zone's keys,
    /// their states and the next step), key-rollover ZONE ksk|zsk (a
    /// rollover now), ds-seen ZONE (the parent serves the new KSK's DS).
    Ctl {
        /// The control socket (default: from the configuration file).
        #[arg(long, short = 's', value_name = "PATH")]
        socket: Option<PathBuf>,
        /// The server's configuration file (to find the socket).
        #[arg(long, short = 'c', value_name = "FILE")]
        config: Option<PathBuf>,
        /// The command and its zone.
        #[arg(required = true, value_name = "COMMAND")]
        command: Vec<String>,
    },
    /// Load and check zone files; print each problem as FILE:LINE: message.
    CheckZone {
        /// Zone origin (default: from the file name, e.g. example.com.zone).
        #[arg(long, value_name = "NAME")]
        origin: Option<String>,
        /// What a zone without apex NS records, or with an in-zone name
        /// server without an address, is: "warn" (loads, as Knot DNS and
        /// NSD; the default) or "strict" (an error, as BIND). Default: the
        /// zone's `semantic-checks` in --config, else "warn".
        #[arg(long, value_name = "warn|strict")]
        semantic_checks: Option<String>,
        /// Take each zone's `semantic-checks` from this configuration file.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Also print where each zone's load time went, phase by phase
        /// (reading, tokenising, RDATA, builder, sorting, segments,
        /// index, ...), the parse throughput and the peak memory.
        #[arg(long)]
        timings: bool,
        /// Zone files.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Load-test a DNS server: replay a dnsperf query file over UDP.
    ///
    /// Sends the queries of FILE (`name type` per line, dnsperf's format)
    /// flat out or at --rate, from several sockets and threads, for
    /// --duration, and reports QPS, latency percentiles, losses and rcodes.
    /// Only loopback targets unless --allow-remote.
    Perf(perf::Args),
    /// Sign a zone file with DNSSEC (keys from a key directory).
    ///
    /// The keys of the zone are in DIR/<zone>/ (--keys); when there are
    /// none, they are made there and the DS for the parent is printed.
    /// The signed zone is written as text (like dnssec-signzone).
    SignZone(sign_zone::Args),
    /// Convert a Knot DNS (knot.conf) or NSD (nsd.conf) configuration into
    /// a levee.toml.
    ///
    /// Zones and their files, primaries, notify targets, transfer and
    /// NOTIFY ACLs, TSIG keys, rate limiting, listen addresses and TCP
    /// limits are carried over; every setting without a levee equivalent
    /// is listed on standard error as FILE:LINE (and in the output's
    /// header). What cannot be read is refused naming the line.
    Migrate(migrate::Args),
    /// Write the manual pages and shell completions into DIR (for packaging).
    #[command(hide = true)]
    GenDocs {
        /// Output directory (DIR/man, DIR/completions).
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
}

fn init_logging(level: &str, format: levee_config::LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LEVEE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let b = tracing_subscriber::fmt().with_writer(std::io::stderr).with_env_filter(filter).with_target(false);
    match format {
        levee_config::LogFormat::Text => b.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())).init(),
        levee_config::LogFormat::Json => b.json().with_current_span(false).with_span_list(false).init(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve {
            config,
            listen,
            zones_dir,
            allow_transfer,
            threads,
            management,
            management_allow_remote,
            gate,
            xdp,
            dnstap,
            sign,
            storage_dir,
            listen_tls,
            listen_quic,
            tls_cert,
            tls_key,
        } => {
            // Before any thread: freed memory must be returnable (levee-io::mem).
            levee_io::mem::configure_allocator();
            let from_file = config.is_some();
            let mut cfg = match &config {
                Some(p) => match Config::from_file(p) {
                    Ok(c) => c,
                    Err(e) => {
                        eprintln!("levee: configuration error: {e}");
                        return ExitCode::from(2);
                    }
                },
                None => Config::default(),
            };
            let o = Overrides {
                listen,
                zones_dir,
                allow_transfer,
                threads,
                management,
                management_allow_remote,
                gate,
                xdp,
                dnstap,
                storage_dir,
                sign,
                listen_tls,
                listen_quic,
                tls_cert,
                tls_key,
            };
            if let Err(e) = cfg.apply(&o) {
                eprintln!("levee: configuration error: {e}");
                return ExitCode::from(2);
            }
            init_logging(&cfg.log_level, cfg.log_format);
            // Without a configuration file and without zone files, serve the
            // built-in example zones (the README's first command).
            let builtin = !from_file && cfg.zones_dir.is_none() && cfg.zones.iter().all(|z| z.file.is_none());
            daemon::run(cfg, builtin, config, o)
        }
        Command::CheckZone { origin, semantic_checks, config, timings, files } => {
            check_zone::run(origin.as_deref(), semantic_checks.as_deref(), config.as_deref(), timings, &files)
        }
        Command::Ctl { socket, config, command } => {
            let path = match (socket, config) {
                (Some(s), _) => s,
                (None, Some(c)) => match Config::from_file_without_secrets(&c) {
                    Ok(cfg) => match control_socket::socket_path(&cfg) {
                        Some(p) => p,
                        None => {
                            eprintln!(
                                "levee ctl: {} sets neither server.control-socket nor server.storage-dir",
                                c.display()
                            );
                            return ExitCode::from(2);
                        }
                    },
                    Err(e) => {
                        eprintln!("levee: configuration error: {e}");
                        return ExitCode::from(2);
                    }
                },
                (None, None) => {
                    eprintln!("levee ctl: give --socket PATH or --config FILE");
                    return ExitCode::from(2);
                }
            };
            control_socket::client(&path, &command)
        }
        Command::Perf(args) => perf::run(args),
        Command::SignZone(args) => sign_zone::run(&args),
        Command::Migrate(args) => migrate::run(args),
        Command::GenDocs { dir } => gen_docs::run(&dir, <Cli as clap::CommandFactory>::command()),
    }
}
