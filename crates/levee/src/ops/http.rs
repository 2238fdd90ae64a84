//! The management listener: a small HTTP/1.1 server on the management
//! runtime (never on a UDP worker), one request per connection
//! (`Connection: close`), bounded in size, time and connections.
//!
//! | method and path             | what                                              | needs          |
//! |-----------------------------|---------------------------------------------------|----------------|
//! | `GET /metrics`              | Prometheus text format 0.0.4 ([`super::metrics`]) | read token (*) |
//! | `GET /`                     | the dashboard page (static, holds no data)        | nothing        |
//! | `GET /api/live`             | the dashboard's feed: counters and a timestamp    | read token     |
//! | `GET /api/status`           | version, uptime, listeners, totals                | read token     |
//! | `GET /api/zones[?zone=Z]`   | zones with serials and load times (zone-status)   | read token     |
//! | `GET /api/stats`            | summed counters                                   | read token     |
//! | `POST /api/reload[?zone=Z]` | reload every zone (as SIGHUP) or one              | write token    |
//! | `/api/v1/...`               | the REST API ([`super::rest`])                    | read or write token, per zone |
//!
//! (*) or nothing, from a loopback client, while
//! `management.anonymous-metrics` is on (the default).
//!
//! ## Who may do what (issue 16)
//!
//! Every request is checked in this order, before anything else runs:
//!
//! 1. **Host**: the `Host` header must name the address the connection
//!    arrived on, `localhost` (on a loopback address), or one of
//!    `management.hosts`, with the listener's port if it has one. A DNS
//!    rebinding page (`evil.example` resolving to 127.0.0.1) sends
//!    `Host: evil.example` and is refused (421).
//! 2. **Origin**: a request carrying an `Origin` other than its own
//!    (`http://` + its Host) is refused (403), and so is any `POST` that
//!    `Sec-Fetch-Site` marks as coming from another site or origin: a page
//!    elsewhere cannot make a browser reload zones, token or not. No
//!    response carries CORS headers, so no preflight passes either.
//! 3. **Token**: `Authorization: Bearer TOKEN`, compared in constant time
//!    with every configured token; missing or unknown: 401; a read token
//!    on a write request: 403; a token limited to zones outside
//!    `/api/v1/`: 403 (the REST API checks the zone itself).
//!
//! A request's body is read only once these checks pass (a refused one's
//! only up to 16 KiB, to consume it), bounded by [`MAX_REQUEST`], or
//! [`rest::MAX_BODY`] for the REST API's `PUT`, `PATCH` and `POST`.
//!
//! The dashboard page asks the operator for a token (or takes it from the
//! URL fragment `#token=...`, which browsers never send to the server),
//! keeps it in the tab's `sessionStorage` and sends it in the header: no
//! cookie exists that another site could make a browser send.
//!
//! ## TLS
//!
//! With `management.tls-certificate` and `tls-key` the listener speaks
//! HTTPS only (rustls, ring provider, TLS 1.2 and 1.3); the handshake and
//! the request share [`REQUEST_TIMEOUT`], and the request's own origin is
//! `https://` + its Host.
//!
//! ## Slow clients
//!
//! At most [`MAX_CONNECTIONS`] connections, [`MAX_PER_CLIENT`] per client
//! address. A client has [`REQUEST_TIMEOUT`] for its whole request and
//! [`WRITE_TIMEOUT`] to take the response. When a cap is reached, the
//! connection that has waited longest on its client (reading its request
//! or writing its response, not one the server is working on) is closed
//! to admit the new one, as the TCP DNS server does: a scraper sends its
//! request at once, so clients that hold connections open cannot keep
//! `/metrics` from being answered. A connection whose whole request has
//! already arrived, unread (its task has not run yet during a burst of
//! connections), is passed over: it waits on the server, not its client
//! (each connection keeps a duplicate of its socket to be peeked at).

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use levee_config::mgmt::{Access, Scope, Token};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::center::Center;
use crate::ops::counters::Refused;
use crate::ops::rest_common::query_param;
use crate::ops::{api, rest};

/// Connections served at once.
pub const MAX_CONNECTIONS: usize = 64;
/// Connections from one client address.
pub const MAX_PER_CLIENT: usize = 8;
/// Largest request head (and body) read.
const MAX_REQUEST: usize = 16 * 1024;
/// Time a client has to send its whole request.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Time a client has to take the response.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

const DASHBOARD: &str = include_str!("dashboard.html");

/// The TLS setup of `management.tls-certificate` and `-key` (read at
/// start, before the privilege drop); the error names the key.
pub fn tls_acceptor(tls: &levee_config::mgmt::Tls) -> Result<TlsAcceptor, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let crt = tls.certificate.display();
    let certs = CertificateDer::pem_file_iter(&tls.certificate)
        .and_then(|i| i.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("management.tls-certificate: {crt}: {e}"))?;
    if certs.is_empty() {
        return Err(format!("management.tls-certificate: {crt}: no certificate in it"));
    }
    let key = PrivateKeyDer::from_pem_file(&tls.key)
        .map_err(|e| format!("management.tls-key: {}: {e}", tls.key.display()))?;
    // ring, not aws-lc-rs: no C/cmake build of a second crypto library.
    // rustls deprecates ring's provider for lacking post-quantum key
    // exchange; classical ECDHE is what a management listener needs.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("management TLS: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("management.tls-key: does not fit the certificate or is not usable: {e}"))?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(cfg)))
}

/// Serves the management API on `listener` (over TLS with `tls`) until
/// `stop` turns true.
pub async fn serve(
    listener: std::net::TcpListener,
    tls: Option<TlsAcceptor>,
    center: Arc<Center>,
    mut stop: watch::Receiver<bool>,
) {
    if let Err(e) = listener.set_nonblocking(true) {
        tracing::error!("management listener: {e}");
        return;
    }
    let listener = match TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!("management listener: {e}");
            return;
        }
    };
    let table = Arc::new(Mutex::new(Table { refused: Arc::clone(&center.refused), ..Table::default() }));
    // Reloads are serialised: a second POST waits for the first.
    let reload_lock = Arc::new(tokio::sync::Mutex::new(()));
    loop {
        let (conn, peer) = tokio::select! {
            _ = stop.changed() => return,
            a = listener.accept() => match a {
                Ok(a) => a,
                Err(e) => {
                    tracing::debug!("management accept: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        // A second handle on the socket lets the table look at what a
        // connection has received but not yet read (see `Table::evict`).
        let Ok((conn, probe)) = with_probe(conn) else { continue };
        let mut closed = Vec::new();
        let admitted = lock(&table).admit(peer.ip(), Instant::now(), Some(probe), &mut closed);
        for a in closed {
            a.abort(); // outside the lock: the task's end takes it
        }
        let Some(id) = admitted else {
            center.refused.evicted.fetch_add(1, Ordering::Relaxed);
            continue; // every slot is busy working: the connection is closed
        };
        let c = Conn { id, table: Arc::clone(&table) };
        let center = Arc::clone(&center);
        let reload_lock = Arc::clone(&reload_lock);
        let tls = tls.clone();
        let task = tokio::spawn(async move {
            connection(conn, peer, tls, &c, center, reload_lock).await;
            drop(c);
        });
        lock(&table).set_abort(id, task.abort_handle());
    }
}

/// The stream and a duplicate of its socket (for peeking and closing).
fn with_probe(conn: TcpStream) -> std::io::Result<(TcpStream, std::net::TcpStream)> {
    let std = conn.into_std()?;
    let probe = std.try_clone()?;
    Ok((TcpStream::from_std(std)?, probe))
}

/// Whether a whole request (or, over TLS, anything) has arrived on the
/// socket and waits to be read: the connection is waiting on the server,
/// not on its client.
fn request_waiting(probe: &std::net::TcpStream) -> bool {
    let mut buf = [0u8; 4096];
    match probe.peek(&mut buf) {
        Ok(n) if n > 0 => buf[..n].starts_with(&[0x16]) || buf[..n].windows(4).any(|w| w == b"\r\n\r\n"),
        _ => false,
    }
}

fn lock(t: &Mutex<Table>) -> std::sync::MutexGuard<'_, Table> {
    t.lock().unwrap_or_else(|e| e.into_inner())
}

/// The connections being served.
#[derive(Default)]
struct Table {
    next: u64,
    conns: Vec<Entry>,
    /// Where connections closed at the caps are counted.
    refused: Arc<Refused>,
}

struct Entry {
    id: u64,
    ip: IpAddr,
    /// When the current phase began.
    since: Instant,
    /// The server is working on the request (not evictable).
    working: bool,
    abort: Option<tokio::task::AbortHandle>,
    /// A duplicate of the socket: peeked at when choosing a connection to
    /// close, and shut down when it is chosen.
    probe: Option<std::net::TcpStream>,
}

impl Table {
    /// Makes room for a connection from `ip` (closing the longest-waiting
    /// ones over the caps) and registers it; `None` if nothing could be
    /// closed.
    fn admit(
        &mut self,
        ip: IpAddr,
        now: Instant,
        probe: Option<std::net::TcpStream>,
        closed: &mut Vec<tokio::task::AbortHandle>,
    ) -> Option<u64> {
        if self.conns.iter().filter(|e| e.ip == ip).count() >= MAX_PER_CLIENT && !self.evict(Some(ip), closed) {
            return None;
        }
        if self.conns.len() >= MAX_CONNECTIONS && !self.evict(None, closed) {
            return None;
        }
        self.next += 1;
        self.conns.push(Entry { id: self.next, ip, since: now, working: false, abort: None, probe });
        Some(self.next)
    }

    /// Closes the connection that has waited longest on its client (its
    /// task to abort goes to `closed`). A connection whose whole request
    /// has arrived but was not read yet (a scraper accepted during a burst
    /// of connections, before its task ran) waits on the server, not on
    /// its client: it is passed over while another can go.
    fn evict(&mut self, of: Option<IpAddr>, closed: &mut Vec<tokio::task::AbortHandle>) -> bool {
        let mut order: Vec<usize> = (0..self.conns.len())
            .filter(|&i| !self.conns[i].working && of.is_none_or(|ip| self.conns[i].ip == ip))
            .collect();
        order.sort_by_key(|&i| self.conns[i].since);
        let waiting = |e: &Entry| e.probe.as_ref().is_some_and(request_waiting);
        let victim = order.iter().copied().find(|&i| !waiting(&self.conns[i])).or(order.first().copied());
        let Some(i) = victim else { return false };
        let e = self.conns.swap_remove(i);
        if let Some(p) = &e.probe {
            let _ = p.shutdown(std::net::Shutdown::Both);
        }
        closed.extend(e.abort);
        self.refused.evicted.fetch_add(1, Ordering::Relaxed);
        true
    }

    fn set_abort(&mut self, id: u64, a: tokio::task::AbortHandle) {
        match self.conns.iter_mut().find(|e| e.id == id) {
            Some(e) => e.abort = Some(a),
            None => a.abort(), // evicted before it was registered
        }
    }

    fn phase(&mut self, id: u64, working: bool) {
        if let Some(e) = self.conns.iter_mut().find(|e| e.id == id) {
            e.working = working;
            e.since = Instant::now();
        }
    }
}

/// One connection's entry in the table; removed when dropped (the task
/// ended or was aborted).
struct Conn {
    id: u64,
    table: Arc<Mutex<Table>>,
}

impl Conn {
    fn phase(&self, working: bool) {
        lock(&self.table).phase(self.id, working);
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        let mut t = lock(&self.table);
        if let Some(i) = t.conns.iter().position(|e| e.id == self.id) {
            t.conns.swap_remove(i);
        }
    }
}

/// A parsed request.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Request {
    /// GET, POST, ...
    pub method: String,
    /// The path without the query string.
    pub path: String,
    /// The query string (after `?`), if any.
    pub query: Option<String>,
    /// `Host`.
    pub host: Option<String>,
    /// `Origin`.
    pub origin: Option<String>,
    /// `Sec-Fetch-Site`.
    pub fetch_site: Option<String>,
    /// The token of `Authorization: Bearer ...`.
    pub bearer: Option<String>,
}

/// Parses a request head (up to the blank line). `None` if malformed.
pub fn parse_head(head: &str) -> Option<(Request, usize)> {
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_string();
    let target = first.next()?;
    let version = first.next()?;
    if !version.starts_with("HTTP/1.") || !target.starts_with('/') {
        return None;
    }
    let mut content_length = 0usize;
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), Some(q.to_string())),
        None => (target.to_string(), None),
    };
    let mut r = Request { method, path, query, ..Request::default() };
    for l in lines {
        let Some((k, v)) = l.split_once(':') else { continue };
        let (k, v) = (k.trim(), v.trim().to_string());
        let once = |slot: &mut Option<String>| if slot.replace(v.clone()).is_some() { None } else { Some(()) };
        if k.eq_ignore_ascii_case("content-length") {
            content_length = v.parse().ok()?;
        } else if k.eq_ignore_ascii_case("host") {
            once(&mut r.host)?; // two Host headers: malformed
        } else if k.eq_ignore_ascii_case("origin") {
            once(&mut r.origin)?;
        } else if k.eq_ignore_ascii_case("sec-fetch-site") {
            r.fetch_site = Some(v.to_ascii_lowercase());
        } else if k.eq_ignore_ascii_case("authorization") {
            let (scheme, token) = v.split_once(' ').unwrap_or((&v, ""));
            if r.bearer.is_some() {
                return None; // two tokens: malformed
            }
            if scheme.eq_ignore_ascii_case("bearer") {
                r.bearer = Some(token.trim().to_string());
            }
        }
    }
    Some((r, content_length))
}

/// Whether `host` (a `Host` header) names this listener: the address the
/// connection arrived on (`local`), `localhost` when that address is
/// loopback, or a configured name; a port, if given, must be ours.
pub fn host_allowed(host: &str, local: SocketAddr, names: &[String]) -> bool {
    let (name, port) = if let Some(rest) = host.strip_prefix('[') {
        let Some((h, after)) = rest.split_once(']') else { return false };
        match after {
            "" => (h, None),
            p => match p.strip_prefix(':') {
                Some(p) => (h, Some(p)),
                None => return false,
            },
        }
    } else {
        match host.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (host, None),
        }
    };
    if let Some(p) = port {
        if p.parse::<u16>().ok() != Some(local.port()) {
            return false;
        }
    }
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    // A dual-stack listener sees IPv4 clients at IPv4-mapped addresses.
    let here = local.ip().to_canonical();
    if let Ok(ip) = name.parse::<IpAddr>() {
        return ip.to_canonical() == here;
    }
    (here.is_loopback() && name == "localhost") || names.contains(&name)
}

/// Compares without an early exit: the time depends on the lengths only.
fn ct_eq(secret: &[u8], given: &[u8]) -> bool {
    let mut diff = (secret.len() ^ given.len()) as u64;
    for (i, s) in secret.iter().enumerate() {
        diff |= u64::from(s ^ given.get(i).copied().unwrap_or(0));
    }
    std::hint::black_box(diff) == 0
}

/// The token `token` is (the one of widest scope among those it equals;
/// every configured token is compared).
pub fn grant_of<'a>(token: &str, access: &'a Access) -> Option<&'a Token> {
    let mut best: Option<&Token> = None;
    for t in &access.tokens {
        if !t.secret.is_empty()
            && ct_eq(t.secret.as_bytes(), token.as_bytes())
            && best.is_none_or(|b| t.scope > b.scope)
        {
            best = Some(t);
        }
    }
    best
}

/// What a request needs: `None` for the static dashboard page.
fn needed(req: &Request, peer: IpAddr, access: &Access) -> Option<Scope> {
    match (req.method.as_str(), req.path.as_str()) {
        ("GET", "/" | "/index.html") => None,
        ("GET", "/metrics") if access.anonymous_metrics && peer.to_canonical().is_loopback() => None,
        ("GET", _) => Some(Scope::Read),
        _ => Some(Scope::Write),
    }
}

/// Host, Origin and token checks (see the module documentation); the
/// refusal to send, if any, counted in `refused`. `scheme` is `http` or
/// `https`. On success, the zones the token is limited to (empty: every
/// zone, or no token needed); a token limited to zones reaches only
/// `/api/v1/` (403 elsewhere), where `rest` checks the zone.
pub fn authorize<'a>(
    req: &Request,
    peer: IpAddr,
    local: SocketAddr,
    access: &'a Access,
    scheme: &str,
    refused: &Refused,
) -> Result<&'a [String], Reply> {
    let refuse = |c: &AtomicU64, r: Reply| {
        c.fetch_add(1, Ordering::Relaxed);
        Err(r)
    };
    let Some(host) = req.host.as_deref().filter(|h| host_allowed(h, local, &access.hosts)) else {
        return refuse(
            &refused.host,
            error(421, "unknown Host: use the listener's address or a management.hosts name"),
        );
    };
    if let Some(o) = &req.origin {
        if !o.eq_ignore_ascii_case(&format!("{scheme}://{host}")) {
            return refuse(&refused.origin, error(403, "cross-origin request refused"));
        }
    }
    let cross_site = req.fetch_site.as_deref().is_some_and(|s| s != "same-origin" && s != "none");
    if req.method != "GET" && cross_site {
        return refuse(&refused.origin, error(403, "cross-site request refused"));
    }
    let Some(need) = needed(req, peer, access) else { return Ok(&[]) };
    match req.bearer.as_deref().and_then(|t| grant_of(t, access)) {
        None => refuse(&refused.token, error(401, "a token is needed: Authorization: Bearer TOKEN")),
        Some(t) if t.scope < need => refuse(&refused.scope, error(403, "this token may only read")),
        Some(t) if !t.zones.is_empty() && !req.path.starts_with(V1) => refuse(
            &refused.scope,
            error(403, "this token is limited to zones: it reaches only their /api/v1/ endpoints"),
        ),
        Some(t) => Ok(&t.zones),
    }
}

/// The REST API's prefix (`ops::rest`).
const V1: &str = "/api/v1/";

/// The largest body `req` may send: the REST API's writes take zone
/// texts and RRset lists ([`rest::MAX_BODY`]; `POST /api/v1/zones` takes a
/// zone text too), the rest [`MAX_REQUEST`].
fn body_limit(req: &Request) -> usize {
    let write = matches!(req.method.as_str(), "PUT" | "PATCH" | "POST");
    if write && req.path.starts_with(V1) {
        rest::MAX_BODY
    } else {
        MAX_REQUEST
    }
}

/// One connection: the TLS handshake if configured, then the request;
/// both within [`REQUEST_TIMEOUT`] of the accept.
async fn connection(
    conn: TcpStream,
    peer: SocketAddr,
    tls: Option<TlsAcceptor>,
    slot: &Conn,
    center: Arc<Center>,
    reload_lock: Arc<tokio::sync::Mutex<()>>,
) {
    let Ok(local) = conn.local_addr() else { return };
    let deadline = tokio::time::Instant::now() + REQUEST_TIMEOUT;
    let Some(acceptor) = tls else {
        return handle(conn, peer, local, "http", deadline, slot, center, reload_lock).await;
    };
    match tokio::time::timeout_at(deadline, acceptor.accept(conn)).await {
        Ok(Ok(s)) => handle(s, peer, local, "https", deadline, slot, center, reload_lock).await,
        _ => {
            center.refused.tls.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn handle<S: AsyncRead + AsyncWrite + Unpin>(
    mut conn: S,
    peer: SocketAddr,
    local: SocketAddr,
    scheme: &str,
    deadline: tokio::time::Instant,
    slot: &Conn,
    center: Arc<Center>,
    reload_lock: Arc<tokio::sync::Mutex<()>>,
) {
    let (req, body_len, mut body) = match tokio::time::timeout_at(deadline, read_head(&mut conn)).await {
        Ok(Ok(r)) => r,
        Ok(Err(reply)) => return write(&mut conn, reply).await,
        Err(_) => return write(&mut conn, error(408, "request timeout")).await,
    };
    let zones = match authorize(&req, peer.ip(), local, &center.cfg.management_access, scheme, &center.refused) {
        Ok(z) => z,
        Err(r) => {
            // The body is read (and dropped) only after the checks, and
            // then only up to the small bound, so the client sees its
            // request consumed.
            if body_len <= MAX_REQUEST {
                let _ = tokio::time::timeout_at(deadline, read_body(&mut conn, &mut body, body_len)).await;
            }
            return write(&mut conn, r).await;
        }
    };
    if body_len > body_limit(&req) {
        let e = rest::ApiError::new(413, Some("body"), format!("request body over {} octets", body_limit(&req)));
        return write(&mut conn, json_reply(413, e.json())).await;
    }
    match tokio::time::timeout_at(deadline, read_body(&mut conn, &mut body, body_len)).await {
        Ok(Ok(())) => {}
        Ok(Err(reply)) => return write(&mut conn, reply).await,
        Err(_) => return write(&mut conn, error(408, "request timeout")).await,
    }
    slot.phase(true);
    let reply = if req.path.starts_with(V1) {
        v1(&req, body, zones.to_vec(), &center).await
    } else {
        route(&req, &center, &reload_lock).await
    };
    slot.phase(false);
    write(&mut conn, reply).await
}

/// Reads a request head; returns it with the body's length and what of
/// the body arrived with the head.
async fn read_head<S: AsyncRead + Unpin>(conn: &mut S) -> Result<(Request, usize, Vec<u8>), Reply> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        if buf.len() > MAX_REQUEST {
            return Err(error(431, "request head too large"));
        }
        match conn.read(&mut chunk).await {
            Ok(0) | Err(_) => return Err(error(400, "incomplete request")),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let Some((req, body_len)) = std::str::from_utf8(&buf[..head_end]).ok().and_then(parse_head) else {
        return Err(error(400, "bad request"));
    };
    Ok((req, body_len, buf.split_off(head_end + 4)))
}

/// Reads the rest of a body of `len` octets into `body`.
async fn read_body<S: AsyncRead + Unpin>(conn: &mut S, body: &mut Vec<u8>, len: usize) -> Result<(), Reply> {
    let mut chunk = [0u8; 8192];
    while body.len() < len {
        match conn.read(&mut chunk).await {
            Ok(n) if n > 0 => body.extend_from_slice(&chunk[..n]),
            _ => return Err(error(400, "incomplete request")),
        }
    }
    body.truncate(len);
    Ok(())
}

/// A REST API request (`ops::rest`), on a blocking thread: a write waits
/// for the update thread.
async fn v1(req: &Request, body: Vec<u8>, zones: Vec<String>, center: &Arc<Center>) -> Reply {
    let (method, path, query) = (req.method.clone(), req.path.clone(), req.query.clone());
    let center = Arc::clone(center);
    let r = tokio::task::spawn_blocking(move || {
        let route = rest::route(&method, &path)?;
        let status = rest::success_status(&route);
        let call = rest::Call { route, query: query.as_deref(), body: &body, zones: &zones };
        rest::serve(&center, &call).map(|v| (status, v))
    })
    .await;
    match r {
        Ok(Ok((status, v))) => json_reply(status, v),
        Ok(Err(e)) => json_reply(e.status, e.json()),
        Err(_) => error(500, "internal error"),
    }
}

/// Status, content type, body.
pub type Reply = (u16, &'static str, String);

fn json_reply(status: u16, v: serde_json::Value) -> Reply {
    (status, "application/json", format!("{v}\n"))
}

fn error(status: u16, msg: &str) -> Reply {
    json_reply(status, serde_json::json!({ "error": msg }))
}

async fn route(req: &Request, center: &Arc<Center>, reload_lock: &tokio::sync::Mutex<()>) -> Reply {
    let zone = query_param(req.query.as_deref(), "zone").filter(|z| !z.is_empty()).map(str::to_string);
    match (req.method.as_str(), req.path.as_str()) {
        ("GET", "/metrics") => (200, "text/plain; version=0.0.4; charset=utf-8", crate::ops::metrics::render(center)),
        ("GET", "/") | ("GET", "/index.html") => (200, "text/html; charset=utf-8", DASHBOARD.to_string()),
        ("GET", "/api/live") => json_reply(200, api::live(center)),
        ("GET", "/api/status") => json_reply(200, api::status(center)),
        ("GET", "/api/stats") => json_reply(200, api::stats(center)),
        ("GET", "/api/zones") => match api::zones(center, zone.as_deref()) {
            Ok(v) => json_reply(200, v),
            Err(e) => error(404, &e),
        },
        ("POST", "/api/reload") => {
            let _g = reload_lock.lock().await;
            let center = Arc::clone(center);
            match tokio::task::spawn_blocking(move || api::reload(&center, zone.as_deref())).await {
                Ok(Ok(v)) => json_reply(200, v),
                Ok(Err(e)) => error(404, &e),
                Err(_) => error(500, "reload failed"),
            }
        }
        (_, "/metrics" | "/" | "/api/live" | "/api/status" | "/api/stats" | "/api/zones" | "/api/reload") => {
            error(405, "method not allowed")
        }
        _ => error(404, "not found"),
    }
}

async fn write<S: AsyncWrite + Unpin>(conn: &mut S, (status, ctype, body): Reply) {
    let _ = tokio::time::timeout(WRITE_TIMEOUT, respond(conn, status, ctype, body.as_bytes())).await;
}

async fn respond<S: AsyncWrite + Unpin>(conn: &mut S, status: u16, ctype: &str, body: &[u8]) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        201 => "Created",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        412 => "Precondition Failed",
        413 => "Payload Too Large",
        421 => "Misdirected Request",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        _ => "Internal Server Error",
    };
    let auth = if status == 401 { "WWW-Authenticate: Bearer realm=\"levee\"\r\n" } else { "" };
    // The page may be framed by no one and fetch only from here.
    let page = if ctype.starts_with("text/html") {
        "Content-Security-Policy: default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
         connect-src 'self'; img-src 'self' data:; form-action 'none'; frame-ancestors 'none'\r\n\
         X-Frame-Options: DENY\r\nReferrer-Policy: no-referrer\r\n"
    } else {
        ""
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nCache-Control: no-store\r\n\
         X-Content-Type-Options: nosniff\r\n{auth}{page}Connection: close\r\n\r\n",
        body.len()
    );
    conn.write_all(head.as_bytes()).await?;
    conn.write_all(body).await?;
    conn.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads() {
        let (r, n) = parse_head(
            "POST /api/reload?zone=example.com. HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\
             Authorization: Bearer abc\r\nOrigin: http://x\r\nSec-Fetch-Site: Same-Origin",
        )
        .unwrap();
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, "/api/reload");
        assert_eq!(query_param(r.query.as_deref(), "zone"), Some("example.com."));
        assert_eq!(n, 3);
        assert_eq!((r.host.as_deref(), r.bearer.as_deref()), (Some("x"), Some("abc")));
        assert_eq!((r.origin.as_deref(), r.fetch_site.as_deref()), (Some("http://x"), Some("same-origin")));
        assert!(parse_head("GET metrics HTTP/1.1").is_none());
        assert!(parse_head("GET / SPDY/3").is_none());
        assert!(parse_head("GET / HTTP/1.1\r\nContent-Length: x").is_none());
        assert!(parse_head("GET / HTTP/1.1\r\nHost: a\r\nHost: b").is_none(), "two Host headers");
        assert_eq!(parse_head("GET / HTTP/1.1\r\nAuthorization: Basic abc").unwrap().0.bearer, None);
    }

    #[test]
    fn hosts() {
        let lo: SocketAddr = "127.0.0.1:8053".parse().unwrap();
        let names = vec!["ns1.example.net".to_string()];
        for ok in
            ["127.0.0.1:8053", "127.0.0.1", "localhost:8053", "LOCALHOST", "ns1.example.net:8053", "ns1.example.net."]
        {
            assert!(host_allowed(ok, lo, &names), "{ok}");
        }
        for bad in
            ["evil.example:8053", "evil.example", "127.0.0.1:80", "127.0.0.2:8053", "localhost.evil", "", "[::1]:8053"]
        {
            assert!(!host_allowed(bad, lo, &names), "{bad}");
        }
        let v6: SocketAddr = "[::1]:8053".parse().unwrap();
        assert!(
            host_allowed("[::1]:8053", v6, &[]) && host_allowed("[::1]", v6, &[]) && host_allowed("localhost", v6, &[])
        );
        assert!(!host_allowed("[::1:8053", v6, &[]) && !host_allowed("[::1]x", v6, &[]));
        // A dual-stack listener: IPv4 clients arrive at mapped addresses.
        let mapped: SocketAddr = "[::ffff:127.0.0.1]:8053".parse().unwrap();
        assert!(host_allowed("127.0.0.1:8053", mapped, &[]) && host_allowed("localhost:8053", mapped, &[]));
        // Not loopback: localhost is not this address.
        let pub_: SocketAddr = "192.0.2.1:8053".parse().unwrap();
        assert!(host_allowed("192.0.2.1:8053", pub_, &[]) && !host_allowed("localhost:8053", pub_, &[]));
    }

    fn access() -> Access {
        let tok = |scope, s: &str| Token { scope, secret: s.into(), file: None, zones: Vec::new() };
        Access {
            tokens: vec![tok(Scope::Read, "read-token-0123456789"), tok(Scope::Write, "write-token-0123456789")],
            ..Access::default()
        }
    }

    fn req(method: &str, path: &str, extra: &str) -> Request {
        parse_head(&format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:8053{extra}")).unwrap().0
    }

    #[test]
    fn tokens_scopes_and_origins() {
        let a = access();
        let lo: SocketAddr = "127.0.0.1:8053".parse().unwrap();
        let me: IpAddr = "127.0.0.1".parse().unwrap();
        let other: IpAddr = "192.0.2.7".parse().unwrap();
        let refused = Refused::default();
        let status = |r: &Request, peer| authorize(r, peer, lo, &a, "http", &refused).err().map(|e| e.0);
        let scope_of = |t: &str, a: &Access| grant_of(t, a).map(|t| t.scope);
        assert_eq!(scope_of("read-token-0123456789", &a), Some(Scope::Read));
        assert_eq!(scope_of("write-token-0123456789", &a), Some(Scope::Write));
        assert_eq!(scope_of("write-token-012345678", &a), None);
        assert_eq!(scope_of("", &a), None);
        let read = "\r\nAuthorization: Bearer read-token-0123456789";
        let write = "\r\nAuthorization: Bearer write-token-0123456789";
        // The page: Host check only.
        assert_eq!(status(&req("GET", "/", ""), other), None);
        // Metrics: anonymous from loopback only.
        assert_eq!(status(&req("GET", "/metrics", ""), me), None);
        assert_eq!(status(&req("GET", "/metrics", ""), other), Some(401));
        assert_eq!(status(&req("GET", "/metrics", ""), "::ffff:127.0.0.1".parse().unwrap()), None);
        assert_eq!(status(&req("GET", "/metrics", read), other), None);
        let closed = Access { anonymous_metrics: false, ..access() };
        assert_eq!(
            authorize(&req("GET", "/metrics", ""), me, lo, &closed, "http", &refused).err().map(|e| e.0),
            Some(401)
        );
        // The API: a token; writes: a write token.
        assert_eq!(status(&req("GET", "/api/status", ""), me), Some(401));
        assert_eq!(status(&req("GET", "/api/status", "\r\nAuthorization: Bearer nope-nope-nope-nope"), me), Some(401));
        assert_eq!(status(&req("GET", "/api/status", read), me), None);
        assert_eq!(status(&req("POST", "/api/reload", ""), me), Some(401));
        assert_eq!(status(&req("POST", "/api/reload", read), me), Some(403));
        assert_eq!(status(&req("POST", "/api/reload", write), me), None);
        // Host and Origin, whatever the token.
        let evil = parse_head(&format!("GET /api/live HTTP/1.1\r\nHost: evil.example:8053{write}")).unwrap().0;
        assert_eq!(status(&evil, me), Some(421));
        assert_eq!(status(&parse_head("GET / HTTP/1.1").unwrap().0, me), Some(421), "no Host");
        let cross = format!("{write}\r\nOrigin: http://evil.example");
        assert_eq!(status(&req("POST", "/api/reload", &cross), me), Some(403));
        assert_eq!(status(&req("GET", "/api/live", &cross), me), Some(403));
        let same = format!("{write}\r\nOrigin: http://127.0.0.1:8053\r\nSec-Fetch-Site: same-origin");
        assert_eq!(status(&req("POST", "/api/reload", &same), me), None);
        let site = format!("{write}\r\nSec-Fetch-Site: same-site");
        assert_eq!(status(&req("POST", "/api/reload", &site), me), Some(403));
        assert_eq!(status(&req("POST", "/api/reload", "\r\nOrigin: null"), me), Some(403));
        // Over TLS the own origin is https://.
        let tls = |extra: &str| {
            authorize(&req("POST", "/api/reload", extra), me, lo, &a, "https", &refused).err().map(|e| e.0)
        };
        assert_eq!(tls(&same), Some(403));
        assert_eq!(tls(&format!("{write}\r\nOrigin: https://127.0.0.1:8053")), None);
        // Each refusal is counted once, under its reason.
        let n = |c: &AtomicU64| c.load(Ordering::Relaxed);
        assert_eq!((n(&refused.host), n(&refused.origin), n(&refused.token), n(&refused.scope)), (2, 5, 5, 1));
    }

    /// A token limited to zones reaches /api/v1/ only, with its zones.
    #[test]
    fn zone_tokens_reach_the_rest_api_only() {
        let mut a = access();
        let zones = vec!["example.com.".to_string()];
        a.tokens.push(Token { scope: Scope::Write, secret: "zone-token-0123456789".into(), file: None, zones });
        let lo: SocketAddr = "127.0.0.1:8053".parse().unwrap();
        let me: IpAddr = "127.0.0.1".parse().unwrap();
        let refused = Refused::default();
        let tok = "\r\nAuthorization: Bearer zone-token-0123456789";
        let auth = |m: &str, p: &str| authorize(&req(m, p, tok), me, lo, &a, "http", &refused).map(<[String]>::to_vec);
        assert_eq!(auth("PATCH", "/api/v1/zones/example.com./rrsets"), Ok(vec!["example.com.".to_string()]));
        for (m, p) in [("GET", "/api/status"), ("POST", "/api/reload"), ("GET", "/api/zones"), ("GET", "/api/live")] {
            assert_eq!(auth(m, p).err().map(|e| e.0), Some(403), "{m} {p}");
        }
        // An unlimited token: no zone list.
        let w = "\r\nAuthorization: Bearer write-token-0123456789";
        let full = authorize(&req("PUT", "/api/v1/zones/x.", w), me, lo, &a, "http", &refused).unwrap();
        assert!(full.is_empty());
        assert_eq!(body_limit(&req("PUT", "/api/v1/zones/x.", w)), rest::MAX_BODY);
        assert_eq!(body_limit(&req("POST", "/api/reload", w)), MAX_REQUEST);
    }

    #[test]
    fn constant_time_compare() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd") && !ct_eq(b"abc", b"ab") && !ct_eq(b"abc", b"abcd") && !ct_eq(b"abc", b""));
    }

    /// The caps: a client's own oldest waiting connection goes first, then
    /// the oldest waiting one anywhere; working ones are never closed.
    #[test]
    fn the_table_evicts_the_longest_waiting() {
        let mut t = Table::default();
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        let a: IpAddr = "127.0.0.2".parse().unwrap();
        let mut c = Vec::new();
        let ids: Vec<u64> = (0..MAX_PER_CLIENT as u64).map(|i| t.admit(a, at(i), None, &mut c).unwrap()).collect();
        t.conns.iter_mut().find(|e| e.id == ids[0]).unwrap().working = true;
        t.admit(a, at(100), None, &mut c).unwrap();
        assert!(t.conns.iter().any(|e| e.id == ids[0]), "a working connection was closed");
        assert!(!t.conns.iter().any(|e| e.id == ids[1]), "the oldest waiting one stays");
        for i in 0..(MAX_CONNECTIONS - MAX_PER_CLIENT) {
            let ip = IpAddr::from([127, 0, 1, (i / MAX_PER_CLIENT) as u8]);
            t.admit(ip, at(200 + i as u64), None, &mut c).unwrap();
        }
        assert_eq!(t.conns.len(), MAX_CONNECTIONS);
        let b: IpAddr = "127.0.0.1".parse().unwrap();
        t.admit(b, at(1000), None, &mut c).unwrap();
        assert_eq!(t.conns.len(), MAX_CONNECTIONS);
        assert!(!t.conns.iter().any(|e| e.id == ids[2]));
        for e in &mut t.conns {
            e.working = true;
        }
        assert_eq!(t.admit(b, at(2000), None, &mut c), None, "nothing to close");
    }

    /// A connection whose whole request has arrived unread is passed over
    /// for a younger one that is still waiting on its client.
    #[test]
    fn a_waiting_request_is_not_evicted() {
        use std::io::Write;
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let mut ready = std::net::TcpStream::connect(addr).unwrap();
        let (ready_srv, _) = l.accept().unwrap();
        let mut slow = std::net::TcpStream::connect(addr).unwrap();
        let (slow_srv, _) = l.accept().unwrap();
        ready.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        slow.write_all(b"GET /metrics HTTP/1.1\r\nX-Slow: a").unwrap();
        std::thread::sleep(Duration::from_millis(50));
        assert!(request_waiting(&ready_srv) && !request_waiting(&slow_srv));
        let mut t = Table::default();
        let mut c = Vec::new();
        let t0 = Instant::now();
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let first = t.admit(ip, t0, Some(ready_srv), &mut c).unwrap();
        t.admit(ip, t0 + Duration::from_millis(1), Some(slow_srv), &mut c).unwrap();
        assert!(t.evict(Some(ip), &mut c));
        assert_eq!(t.conns.iter().map(|e| e.id).collect::<Vec<_>>(), [first], "the older, ready one stays");
        // The closed one is shut down at once.
        let mut b = [0u8; 1];
        slow.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        assert!(matches!(std::io::Read::read(&mut slow, &mut b), Ok(0) | Err(_)));
        // With nothing else to close, the ready one goes too.
        assert!(t.evict(Some(ip), &mut c));
        assert!(t.conns.is_empty());
    }
}
