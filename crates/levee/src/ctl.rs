//! `levee ctl`: a local control socket (unix stream socket).
//!
//! Protocol: the client sends one line (`COMMAND [ZONE]\n`), the server
//! answers with text lines and closes; the first line is `ok` or
//! `error: ...`. Commands:
//!
//! * `status`: the server's version, zone count, uptime;
//! * `zone-status [ZONE]`: serial, role, last transfer, next refresh,
//!   expiry (wall-clock seconds) of each zone;
//! * `reload [ZONE]`: reads the zone files again (all of them, like
//!   SIGHUP, or only ZONE's) and answers when the new set is served; a
//!   zone that fails to load keeps its served version and the answer is
//!   an error naming it (details, with FILE:LINE, in the log);
//! * `refresh ZONE`: checks the primaries now (SOA, then IXFR/AXFR);
//! * `retransfer ZONE`: a full transfer now (AXFR);
//! * `stats`: the counters as JSON (the management API's `/api/stats`).
//!
//! One request and one response per connection.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use levee_wire::name;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
use tokio::net::UnixListener;

use crate::repl::Repl;

/// The daemon's operations (reload, statistics; set by `serve`).
pub static OPS: OnceLock<Arc<crate::control::Ops>> = OnceLock::new();
static STARTED: OnceLock<Instant> = OnceLock::new();
static BOUND: OnceLock<PathBuf> = OnceLock::new();

/// Removes the socket at shutdown.
pub fn cleanup() {
    if let Some(p) = BOUND.get() {
        let _ = std::fs::remove_file(p);
    }
}

/// Where the socket is: `server.control-socket`, else
/// `<server.storage-dir>/levee.sock`, else none.
pub fn socket_path(storage: Option<&Path>) -> Option<PathBuf> {
    CONFIGURED.get().cloned().flatten().or_else(|| storage.map(|d| d.join("levee.sock")))
}

/// `server.control-socket` from the configuration (set by `serve`).
pub static CONFIGURED: OnceLock<Option<PathBuf>> = OnceLock::new();

/// Binds the control socket (inside the runtime's context), before the
/// server says it is ready, so `levee ctl` works from that moment.
pub fn bind(path: PathBuf) -> Option<UnixListener> {
    let _ = STARTED.set(Instant::now());
    let _ = std::fs::remove_file(&path);
    let l = match UnixListener::bind(&path) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!("control socket {}: {e}", path.display());
            return None;
        }
    };
    let _ = BOUND.set(path.clone());
    tracing::info!(path = %path.display(), "control socket ready");
    Some(l)
}

/// Serves the control socket until the runtime stops.
pub async fn serve(l: UnixListener, r: Arc<Repl>) {
    loop {
        let Ok((s, _)) = l.accept().await else { continue };
        let r = Arc::clone(&r);
        tokio::spawn(async move {
            let (rd, mut wr) = s.into_split();
            let mut line = String::new();
            let mut rd = tokio::io::BufReader::new(rd);
            let read = tokio::time::timeout(Duration::from_secs(5), rd.read_line(&mut line)).await;
            if !matches!(read, Ok(Ok(n)) if n > 0 && line.len() < 1024) {
                return;
            }
            let line = line.trim();
            let reply = match line.split_whitespace().collect::<Vec<_>>()[..] {
                ["reload"] => reload(None).await,
                ["reload", zone] => reload(Some(zone.to_string())).await,
                _ => command(&r, line),
            };
            let _ = wr.write_all(reply.as_bytes()).await;
        });
    }
}

fn command(r: &Repl, line: &str) -> String {
    let mut w = line.split_whitespace();
    let cmd = w.next().unwrap_or("");
    let zone = w.next();
    let apex = match zone.map(|z| name::from_text(z, Some(b"\x00")).map(|n| name::to_lowercase(&n))) {
        Some(Ok(n)) => Some(n),
        Some(Err(e)) => return format!("error: bad zone name: {e}\n"),
        None => None,
    };
    match (cmd, &apex) {
        ("status", _) => {
            let zones = r.zone_status(None).len();
            let up = STARTED.get().map_or(0, |s| s.elapsed().as_secs());
            format!("ok\nlevee {} zones={zones} uptime={up}s\n", env!("CARGO_PKG_VERSION"))
        }
        ("zone-status", a) => {
            let lines = r.zone_status(a.as_ref().map(|n| n.as_slice()));
            if lines.is_empty() {
                return "error: no such zone\n".into();
            }
            format!("ok\n{}\n", lines.join("\n"))
        }
        ("stats", None) => match OPS.get() {
            Some(ops) => format!("ok\n{}\n", serde_json::to_string_pretty(&ops.stats()).unwrap_or_default()),
            None => "error: statistics not available\n".into(),
        },
        ("refresh" | "retransfer", Some(a)) => match r.refresh(a.as_slice(), cmd == "retransfer") {
            Ok(()) => format!("ok\n{cmd} of {} scheduled\n", name::to_text(a)),
            Err(e) => format!("error: {e}\n"),
        },
        ("refresh" | "retransfer", None) => format!("error: {cmd} needs a zone\n"),
        _ => {
            "error: unknown command (status, zone-status [ZONE], reload [ZONE], refresh ZONE, retransfer ZONE, stats)\n"
                .into()
        }
    }
}

/// `reload [ZONE]`, run on a blocking thread; answers once the new set is
/// published.
async fn reload(zone: Option<String>) -> String {
    let Some(ops) = OPS.get().cloned() else { return "error: reload not available\n".into() };
    let what = zone.clone().unwrap_or_else(|| "all zones".into());
    let done = tokio::task::spawn_blocking(move || crate::control::reload(&ops, zone.as_deref())).await;
    match done {
        Ok(Ok(v)) if v["failed"] == 0 => {
            format!("ok\nreloaded {what}: {} zones served, {} ms\n", v["zones"], v["ms"])
        }
        Ok(Ok(v)) => format!(
            "error: {} zone(s) of {what} failed to load and keep their served version (see the log for FILE:LINE)\n",
            v["failed"]
        ),
        Ok(Err(e)) => format!("error: {e}\n"),
        Err(_) => "error: the reload did not finish\n".into(),
    }
}

/// The client: sends `words` as one line and prints the answer.
pub fn client(socket: &Path, words: &[String]) -> ExitCode {
    let mut s = match UnixStream::connect(socket) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("levee ctl: no server is running (cannot connect to {}: {e})", socket.display());
            return ExitCode::from(1);
        }
    };
    // A reload answers when the zones are loaded: minutes for the largest.
    let wait = if words.first().is_some_and(|w| w == "reload") { 600 } else { 10 };
    let _ = s.set_read_timeout(Some(Duration::from_secs(wait)));
    if let Err(e) = writeln!(s, "{}", words.join(" ")) {
        eprintln!("levee ctl: {e}");
        return ExitCode::from(1);
    }
    let mut ok = false;
    for (i, line) in BufReader::new(s).lines().enumerate() {
        let Ok(line) = line else { break };
        if i == 0 {
            ok = line == "ok";
            if !ok {
                eprintln!("levee ctl: {line}");
            }
            continue;
        }
        println!("{line}");
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
