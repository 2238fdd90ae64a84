//! `levee ctl`: a local control socket (unix stream socket).
//!
//! Protocol: the client sends one line (`COMMAND [ZONE]\n`, its words
//! separated by tabs, so that an argument may hold spaces: a record's
//! RDATA), the server answers with text lines and closes; the first line
//! is `ok` or `error: ...`. Commands:
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
//! * `stats`: the counters as JSON (the management API's `/api/stats`);
//! * `rrset-get ZONE [NAME [TYPE]]`: the zone's RRsets as JSON (the REST
//!   API's `GET /api/v1/zones/ZONE/rrsets`);
//! * `rrset-set ZONE NAME TYPE TTL RDATA...`: replaces one RRset (each
//!   RDATA argument is one record, in presentation format);
//!   `rrset-delete ZONE NAME TYPE`: deletes one. Both are the REST API's
//!   `PATCH` with one change, through the update thread like any edit,
//!   and answer with the new serial once the change is durable;
//! * `gate`: the flood gate: where it runs, its settings, the armed
//!   zones, the known table's fill, its packets per reason
//!   (`gate::report`, from the snapshot `/metrics` reads); an error when
//!   the gate is off;
//! * `keys ZONE`: a signed zone's keys (tag, algorithm, role, state, the
//!   time of each step), what the rollover waits for and its next step;
//!   `key-rollover ZONE ksk|zsk`: a rollover begun now; `ds-seen ZONE`:
//!   the parent serves the new KSK's DS, the rollover goes on
//!   (`zones::keyops`).
//!
//! One request and one response per connection.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use levee_config::Config;
use levee_io::local::{self, LockFile};
use levee_wire::name;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
use tokio::net::UnixListener;

use crate::center::Center;
use crate::ops::{api, rest};
use crate::replication::secondary::schedule_refresh;

/// Where the socket is: `server.control-socket`, else
/// `<server.storage-dir>/levee.sock`, else none.
pub fn socket_path(cfg: &Config) -> Option<PathBuf> {
    cfg.control_socket.clone().or_else(|| cfg.storage_dir.as_ref().map(|d| d.join("levee.sock")))
}

/// The control socket, checked and locked at start ([`prepare`]); bound
/// after the privilege drop ([`bind`]).
pub struct Prepared {
    path: PathBuf,
    mode: u32,
    gid: Option<u32>,
    /// The instance lock.
    lock: LockFile,
}

/// The bound control socket: served by [`serve`] once the runtime runs,
/// removed by [`Bound::remove`] at shutdown. It holds the instance lock,
/// which is kept for the life of the process.
pub struct Bound {
    listener: Option<std::os::unix::net::UnixListener>,
    path: PathBuf,
    _lock: LockFile,
}

impl Bound {
    /// The listener, once (for the runtime to serve).
    pub fn take_listener(&mut self) -> Option<std::os::unix::net::UnixListener> {
        self.listener.take()
    }

    /// Removes the socket at shutdown.
    pub fn remove(&self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// At start, before anything touches the storage directory: takes the
/// instance lock (`<storage-dir>/levee.lock`, or `<socket>.lock` without
/// a storage directory) and checks the socket's path. A second instance
/// on the same storage, a path that is not a socket, or a socket another
/// server answers on stops the start with a message saying so. A stale
/// socket (nothing listening) is removed.
pub fn prepare(cfg: &Config) -> Result<Option<Prepared>, String> {
    let Some(path) = socket_path(cfg) else { return Ok(None) };
    let lock_path = match &cfg.storage_dir {
        Some(d) => {
            crate::storage::create_dir(cfg)?;
            d.join("levee.lock")
        }
        None => {
            let mut p = path.clone().into_os_string();
            p.push(".lock");
            PathBuf::from(p)
        }
    };
    let lock = match local::lock_file(&lock_path) {
        Ok(Ok(l)) => l,
        Ok(Err(pid)) => {
            let who = pid.map_or("another levee".to_string(), |p| format!("another levee (pid {p})"));
            let what = match &cfg.storage_dir {
                Some(d) => format!("storage directory {}", d.display()),
                None => format!("control socket {}", path.display()),
            };
            return Err(format!(
                "{who} is already running on {what} (it holds {}); stop it first",
                lock_path.display()
            ));
        }
        Err(e) => return Err(format!("lock file {}: {e}", lock_path.display())),
    };
    match std::fs::symlink_metadata(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("server.control-socket {}: {e}", path.display())),
        Ok(m) if !m.file_type().is_socket() => {
            return Err(format!(
                "server.control-socket {} exists and is not a socket; refusing to replace it (remove it or choose another path)",
                path.display()
            ))
        }
        Ok(_) => match UnixStream::connect(&path) {
            Ok(_) => {
                return Err(format!("another server answers on control socket {}; stop it first", path.display()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                // Left by a server that is gone.
                std::fs::remove_file(&path).map_err(|e| format!("stale control socket {}: {e}", path.display()))?;
            }
            Err(e) => return Err(format!("control socket {}: {e}", path.display())),
        },
    }
    let gid = match &cfg.control_socket_group {
        Some(g) => Some(levee_io::privs::group_id(g).map_err(|e| format!("server.control-socket-group: {e}"))?),
        None => None,
    };
    Ok(Some(Prepared { path, mode: if gid.is_some() { 0o660 } else { 0o600 }, gid, lock }))
}

/// Creates the socket (mode 0600, or 0660 and the configured group) as
/// the user the server runs as; the runtime serves it once started.
pub fn bind(p: Prepared) -> Result<Bound, String> {
    let l = local::bind_unix(&p.path, p.mode, p.gid).map_err(|e| {
        let hint = if p.gid.is_some() && e.kind() == std::io::ErrorKind::PermissionDenied {
            " (the server's user must be a member of server.control-socket-group)"
        } else {
            ""
        };
        format!("control socket {}: {e}{hint}", p.path.display())
    })?;
    tracing::info!(path = %p.path.display(), mode = format!("{:04o}", p.mode), "control socket ready");
    Ok(Bound { listener: Some(l), path: p.path, _lock: p.lock })
}

/// Serves the control socket until the runtime stops.
pub async fn serve(l: std::os::unix::net::UnixListener, c: Arc<Center>) {
    let started = Instant::now();
    let l = match UnixListener::from_std(l) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!("control socket: {e}");
            return;
        }
    };
    loop {
        let Ok((s, _)) = l.accept().await else { continue };
        let c = Arc::clone(&c);
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
                ["reload"] => reload(&c, None).await,
                ["reload", zone] => reload(&c, Some(zone.to_string())).await,
                [w, ..] if w.starts_with("rrset-") => {
                    let (c, line) = (Arc::clone(&c), line.to_string());
                    tokio::task::spawn_blocking(move || rrset(&c, &line))
                        .await
                        .unwrap_or_else(|_| "error: internal error\n".into())
                }
                ["zone-add" | "zone-add-primary" | "zone-remove", ..] => provision(&c, line).await,
                ["keys" | "key-rollover" | "ds-seen", ..] => {
                    let (c, line) = (Arc::clone(&c), line.to_string());
                    tokio::task::spawn_blocking(move || {
                        crate::zones::keyops::command(&c, &line.split_whitespace().collect::<Vec<_>>())
                    })
                    .await
                    .unwrap_or_else(|_| "error: internal error\n".into())
                }
                ["zone-catalog", ..] => {
                    let (c, line) = (Arc::clone(&c), line.to_string());
                    tokio::task::spawn_blocking(move || zone_catalog(&c, &line))
                        .await
                        .unwrap_or_else(|_| "error: internal error\n".into())
                }
                _ => command(&c, started, line),
            };
            let _ = wr.write_all(reply.as_bytes()).await;
        });
    }
}

fn command(c: &Center, started: Instant, line: &str) -> String {
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
            let zones = zone_status(c, None).len();
            let up = started.elapsed().as_secs();
            format!("ok\nlevee {} zones={zones} uptime={up}s\n", env!("CARGO_PKG_VERSION"))
        }
        ("zone-status", a) => {
            let lines = zone_status(c, a.as_ref().map(|n| n.as_slice()));
            if lines.is_empty() {
                return "error: no such zone\n".into();
            }
            format!("ok\n{}\n", lines.join("\n"))
        }
        ("stats", None) => format!("ok\n{}\n", serde_json::to_string_pretty(&api::stats(c)).unwrap_or_default()),
        ("gate", None) => match &c.gate {
            Some(g) => format!("ok\n{}", crate::gate::report::text(g, crate::clock::unix_now())),
            None => "error: the flood gate is off (gate.enabled = true or levee serve --gate turns it on, at start)\n"
                .into(),
        },
        ("refresh" | "retransfer", Some(a)) => match schedule_refresh(&c.repl, a.as_slice(), cmd == "retransfer") {
            Ok(()) => format!("ok\n{cmd} of {} scheduled\n", name::to_text(a)),
            Err(e) => format!("error: {e}\n"),
        },
        ("refresh" | "retransfer", None) => format!("error: {cmd} needs a zone\n"),
        _ => {
            "error: unknown command (status, zone-status [ZONE], reload [ZONE], refresh ZONE, retransfer ZONE, stats, gate, rrset-get ZONE [NAME [TYPE]], rrset-set ZONE NAME TYPE TTL RDATA..., rrset-delete ZONE NAME TYPE, zone-add ZONE PRIMARY..., zone-add-primary ZONE FILE, zone-remove ZONE, zone-catalog ZONE CATALOG|none, keys ZONE, key-rollover ZONE ksk|zsk, ds-seen ZONE)\n"
                .into()
        }
    }
}

/// `rrset-get`, `rrset-set`, `rrset-delete` (blocking: a write waits for
/// the update thread). Arguments are tab-separated (`levee ctl` sends
/// them so); a line typed by hand with spaces takes everything after
/// the TTL as one record.
fn rrset(c: &Center, line: &str) -> String {
    let words: Vec<&str> = if line.contains('\t') {
        line.split('\t').map(str::trim).filter(|w| !w.is_empty()).collect()
    } else {
        line.splitn(6, ' ').filter(|w| !w.is_empty()).collect()
    };
    let r = match words.as_slice() {
        ["rrset-get", zone, rest @ ..] if rest.len() <= 2 => rrset_get(c, zone, rest),
        ["rrset-set", zone, owner, ty, ttl, records @ ..] if !records.is_empty() => {
            rrset_edit(c, zone, owner, ty, Some((ttl, records)))
        }
        ["rrset-delete", zone, owner, ty] => rrset_edit(c, zone, owner, ty, None),
        _ => Err("usage: rrset-get ZONE [NAME [TYPE]] | rrset-set ZONE NAME TYPE TTL RDATA... | \
                  rrset-delete ZONE NAME TYPE"
            .into()),
    };
    match r {
        Ok(v) => format!("ok\n{v}\n"),
        Err(e) => format!("error: {e}\n"),
    }
}

fn api_error(e: rest::ApiError) -> String {
    match e.field {
        Some(f) => format!("{f}: {}", e.message),
        None => e.message,
    }
}

fn rrset_get(c: &Center, zone: &str, rest_: &[&str]) -> Result<String, String> {
    let apex = rest::zone_name(zone).map_err(api_error)?;
    let set = c.zones.load_full();
    let e = rest::served(&set, &apex).map_err(api_error)?;
    let enc = |s: &str| s.replace('%', "%25").replace('&', "%26").replace('+', "%2B");
    let mut q = Vec::new();
    if let Some(n) = rest_.first() {
        q.push(format!("name={}", enc(n)));
    }
    if let Some(t) = rest_.get(1) {
        q.push(format!("type={}", enc(t)));
    }
    let q = q.join("&");
    let v = rest::rrsets_of(&e.zone, Some(&q)).map_err(api_error)?;
    Ok(serde_json::to_string_pretty(&v).unwrap_or_default())
}

fn rrset_edit(c: &Center, zone: &str, owner: &str, ty: &str, set: Option<(&str, &[&str])>) -> Result<String, String> {
    use levee_update::edit::{Change, Op};
    let apex = rest::zone_name(zone).map_err(api_error)?;
    let owner = rest::owner(owner, &apex, "name").map_err(api_error)?;
    let rtype = rest::rtype_of(ty, "type").map_err(api_error)?;
    let op = match set {
        None => Op::Delete,
        Some((ttl, records)) => {
            let ttl = ttl.parse::<u32>().ok().filter(|&t| t <= i32::MAX as u32);
            let ttl = ttl.ok_or_else(|| "ttl: must be an integer from 0 to 2147483647".to_string())?;
            let mut rdatas = Vec::new();
            for (j, r) in records.iter().enumerate() {
                rdatas.push(rest::parse_rdata(&apex, rtype, r).map_err(|m| format!("records[{j}]: {m}"))?);
            }
            Op::Replace { ttl, rdatas }
        }
    };
    let what = crate::update::queue::EditKind::RRsets(vec![Change { owner, rtype, op }]);
    let r = rest::submit(c.edits.get(), &c.cfg, &apex, what, None, "ctl");
    let v = rest::edit_result(&apex, r, "rrsets").map_err(|mut e| {
        e.field = e.field.map(|f| f.strip_prefix("rrsets[0].").map(str::to_string).unwrap_or(f));
        api_error(e)
    })?;
    Ok(format!("serial {} changed {}", v["serial"], v["changed"]))
}

/// `zone-add ZONE PRIMARY [key NAME] [PRIMARY [key NAME]]... [catalog
/// CATALOG [group GROUP]]` (a runtime secondary zone that accepts NOTIFY
/// from its primaries, listed in a produced catalog if asked) and
/// `zone-remove ZONE` (a runtime zone not owned by a catalog), through
/// the registry (`provision`), on a blocking thread.
async fn provision(c: &Arc<Center>, line: &str) -> String {
    use crate::provision::{Kind, Op, RuntimeZone};
    let words: Vec<&str> = line.split_whitespace().collect();
    let op = match words[..] {
        ["zone-remove", zone] => match c.registry.get(zone).map(|z| z.kind) {
            Some(Kind::CatalogMember { catalog, .. }) => {
                return format!("error: {zone} is a member of catalog {catalog}: remove it from the catalog\n")
            }
            _ => Op::Remove(zone.to_string()),
        },
        ["zone-add-primary", zone, path, ref rest @ ..] => {
            let mut allow_transfer = Vec::new();
            let mut it = rest.iter();
            while let Some(w) = it.next() {
                match (*w, it.next()) {
                    ("allow-transfer", Some(rule)) => allow_transfer.push(rule.replace(',', " ")),
                    _ => return "error: after the file: allow-transfer RULE (a key rule as PREFIX,key,NAME)\n".into(),
                }
            }
            let text = match read_zone_text(path, c.cfg.load.max_zone_bytes) {
                Ok(t) => t,
                Err(e) => return format!("error: {e}\n"),
            };
            let kind = Kind::Primary { allow_transfer };
            Op::AddPrimary(RuntimeZone { name: zone.to_string(), kind, member_of: None }, text)
        }
        ["zone-add", zone, ref rest @ ..] if !rest.is_empty() => {
            let mut primaries: Vec<String> = Vec::new();
            let (mut catalog, mut group) = (None, None);
            let mut it = rest.iter();
            while let Some(w) = it.next() {
                let slot = match (*w, primaries.last_mut()) {
                    ("key", Some(_)) => None,
                    ("catalog", _) => Some(&mut catalog),
                    ("group", _) => Some(&mut group),
                    _ => {
                        primaries.push((*w).to_string());
                        continue;
                    }
                };
                let Some(v) = it.next() else { return format!("error: '{w}' needs a value\n") };
                match slot {
                    Some(s) => *s = Some(v.to_string()),
                    None => primaries.last_mut().into_iter().for_each(|l| l.push_str(&format!(" key {v}"))),
                }
            }
            if group.is_some() && catalog.is_none() {
                return "error: 'group' needs 'catalog'\n".into();
            }
            let member_of = catalog.map(|c| levee_config::catalog::CatalogMember {
                catalog: crate::provision::canonical(&c).unwrap_or(c),
                group,
            });
            // NOTIFY is accepted from the primaries (with their keys).
            let allow_notify = crate::provision::notify_from(&primaries);
            let kind = Kind::Secondary { primaries, allow_transfer: Vec::new(), allow_notify };
            Op::Add(RuntimeZone { name: zone.to_string(), kind, member_of })
        }
        _ => {
            return "error: zone-add ZONE PRIMARY [key NAME]... [catalog CATALOG [group GROUP]] | zone-add-primary ZONE FILE [allow-transfer RULE]... | zone-remove ZONE\n"
                .into()
        }
    };
    let c = Arc::clone(c);
    match tokio::task::spawn_blocking(move || c.registry.apply(&c, vec![op])).await {
        Ok(r) => match r.into_iter().next() {
            Some(Ok(())) => format!("ok\n{} done\n", words[0]),
            Some(Err(e)) => format!("error: {e}\n"),
            None => "error: nothing done\n".into(),
        },
        Err(_) => "error: the change did not finish\n".into(),
    }
}

/// `zone-catalog ZONE CATALOG [group GROUP]` lists a runtime zone in a
/// produced catalog (or moves it); `zone-catalog ZONE none` takes it out:
/// the REST API's `PUT`/`DELETE /api/v1/zones/{zone}/catalog`
/// (`ops::rest_zones::set_catalog`), on a blocking thread.
fn zone_catalog(c: &Arc<Center>, line: &str) -> String {
    let body = match line.split_whitespace().collect::<Vec<_>>()[..] {
        ["zone-catalog", zone, "none"] => (zone, None),
        ["zone-catalog", zone, catalog] => (zone, Some(serde_json::json!({ "catalog": catalog }))),
        ["zone-catalog", zone, catalog, "group", group] => {
            (zone, Some(serde_json::json!({ "catalog": catalog, "group": group })))
        }
        _ => return "error: zone-catalog ZONE CATALOG [group GROUP] | zone-catalog ZONE none\n".into(),
    };
    let (zone, body) = (body.0, body.1.map(|b| b.to_string()));
    match crate::ops::rest_zones::set_catalog(c, &[], zone, body.as_deref().map(str::as_bytes)) {
        Ok(v) => format!("ok\nzone-catalog done catalog {} catalog-serial {}\n", v["catalog"], v["catalog-serial"]),
        Err(e) => format!("error: {}\n", api_error(e)),
    }
}

/// The zone text `zone-add-primary` names: an absolute path, at most
/// `max` octets (`load.max-zone-bytes`).
fn read_zone_text(path: &str, max: u64) -> Result<String, String> {
    let p = Path::new(path);
    if !p.is_absolute() {
        return Err(format!("{path}: give an absolute path (the server reads it)"));
    }
    let len = std::fs::metadata(p).map_err(|e| format!("{path}: {e}"))?.len();
    if len > max {
        return Err(format!("{path}: {len} octets, more than load.max-zone-bytes ({max})"));
    }
    std::fs::read_to_string(p).map_err(|e| format!("{path}: {e}"))
}

/// `reload [ZONE]`, run on a blocking thread; answers once the new set is
/// published.
async fn reload(c: &Arc<Center>, zone: Option<String>) -> String {
    let what = zone.clone().unwrap_or_else(|| "all zones".into());
    let c = Arc::clone(c);
    let done = tokio::task::spawn_blocking(move || api::reload(&c, zone.as_deref())).await;
    match done {
        Ok(Ok(v)) if v["failed"] == 0 => {
            let mut out = format!("ok\nreloaded {what}: {} zones served, {} ms\n", v["zones"], v["ms"]);
            for k in v["restart_needed"].as_array().into_iter().flatten().filter_map(|k| k.as_str()) {
                out.push_str(&format!("{k} changed: takes effect at restart\n"));
            }
            out
        }
        Ok(Ok(v)) => format!(
            "error: {} zone(s) of {what} failed to load and keep their served version (see the log for FILE:LINE)\n",
            v["failed"]
        ),
        Ok(Err(e)) => format!("error: {e}\n"),
        Err(_) => "error: the reload did not finish\n".into(),
    }
}

/// `zone-status`: one line per zone: name, serial, role, and for
/// secondaries the last transfer, the next refresh and the expiry.
fn zone_status(c: &Center, only: Option<&[u8]>) -> Vec<String> {
    let set = c.zones.load_full();
    let mut out = Vec::new();
    for e in set.entries() {
        let apex = e.zone.apex();
        if only.is_some_and(|o| o != apex) {
            continue;
        }
        let zname = name::to_text(apex);
        match c.repl.secondaries.get(apex) {
            Some(s) => {
                let st = s.status.lock().map(|x| x.clone()).unwrap_or_default();
                out.push(format!(
                        "{zname} role=secondary serial={} lag={} expired={} last-transfer={} last-kind={} next-refresh={} expires={} transfer-since={} error={}",
                        st.serial.map_or("-".into(), |x| x.to_string()),
                        s.serial_lag(st.serial),
                        e.expired,
                        st.last_transfer.map_or("-".into(), |x| x.to_string()),
                        if st.last_kind.is_empty() { "-" } else { st.last_kind },
                        st.next_refresh,
                        st.expires.map_or("-".into(), |x| x.to_string()),
                        st.transfer_since.map_or("-".into(), |x| x.to_string()),
                        st.last_error.as_deref().unwrap_or("-").replace(' ', "_"),
                    ) + &c.stores.status_fields(apex)
                        + &c.registry.status_field(&zname));
            }
            None => out.push(format!(
                "{zname} role=primary serial={} journal-from={}{}{}",
                e.zone.serial(),
                e.journal.as_ref().and_then(|j| j.first_serial()).map_or("-".into(), |x| x.to_string()),
                c.updates.status_field(&c.cfg, apex),
                c.stores.status_fields(apex)
            )),
        }
    }
    out
}

/// Why `levee ctl` could not reach a server, in words that say what
/// failed.
pub fn connect_error(socket: &Path, e: &std::io::Error) -> String {
    use std::io::ErrorKind;
    let p = socket.display();
    if let Ok(m) = std::fs::symlink_metadata(socket) {
        if !m.file_type().is_socket() {
            return format!("{p} is not a socket (is --socket or server.control-socket right?)");
        }
    }
    match e.kind() {
        ErrorKind::NotFound => format!("no server is running: {p} does not exist"),
        ErrorKind::ConnectionRefused => format!("no server is running: nothing listens on {p} (a stale socket)"),
        ErrorKind::PermissionDenied => format!(
            "permission denied on {p}: the socket is for the server's user (mode 0600) or server.control-socket-group \
             (mode 0660); run levee ctl as that user, root, or a member of the group"
        ),
        _ => format!("cannot connect to {p}: {e}"),
    }
}

/// The client: sends `words` as one line and prints the answer.
pub fn client(socket: &Path, words: &[String]) -> ExitCode {
    let mut s = match UnixStream::connect(socket) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("levee ctl: {}", connect_error(socket, &e));
            return ExitCode::from(1);
        }
    };
    // A reload answers when the zones are loaded: minutes for the largest.
    let wait = if words.first().is_some_and(|w| w == "reload") { 600 } else { 10 };
    let _ = s.set_read_timeout(Some(Duration::from_secs(wait)));
    // Tabs between the words: an RDATA argument may hold spaces.
    if let Err(e) = writeln!(s, "{}", words.join("\t")) {
        eprintln!("levee ctl: sending to {}: {e}", socket.display());
        return ExitCode::from(1);
    }
    let mut ok = false;
    let mut answered = false;
    let mut out = std::io::stdout().lock();
    for (i, line) in BufReader::new(s).lines().enumerate() {
        let line = match line {
            Ok(l) => l,
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                eprintln!("levee ctl: the server did not answer within {wait} s");
                return ExitCode::from(1);
            }
            Err(e) => {
                eprintln!("levee ctl: reading the answer: {e}");
                return ExitCode::from(1);
            }
        };
        answered = true;
        if i == 0 {
            ok = line == "ok";
            if !ok {
                eprintln!("levee ctl: {line}");
            }
            continue;
        }
        // A reader that stopped reading (`levee ctl gate | head`): stop
        // printing, without the panic of `println!`.
        if writeln!(out, "{line}").is_err() {
            break;
        }
    }
    if !answered {
        eprintln!("levee ctl: the server closed the connection without an answer");
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
