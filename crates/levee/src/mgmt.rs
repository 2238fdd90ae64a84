//! The management listener: a small HTTP/1.1 server on the management
//! runtime (never on a UDP worker), one request per connection
//! (`Connection: close`), bounded in size, time and connections.
//!
//! | method and path          | what                                              |
//! |--------------------------|---------------------------------------------------|
//! | `GET /metrics`           | Prometheus text format 0.0.4 ([`crate::metrics`]) |
//! | `GET /`                  | the live dashboard (one page, inline JS and CSS)  |
//! | `GET /api/live`          | the dashboard's feed: counters and a timestamp    |
//! | `GET /api/status`        | version, uptime, listeners, totals                |
//! | `GET /api/zones[?zone=Z]`| zones with serials and load times (zone-status)   |
//! | `GET /api/stats`         | summed counters                                   |
//! | `POST /api/reload[?zone=Z]` | reload every zone (as SIGHUP) or one           |

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};

use crate::control::{self, Ops};

/// Connections served at once; more wait in the accept queue.
const MAX_CONNECTIONS: usize = 64;
/// Largest request head (and body) read.
const MAX_REQUEST: usize = 16 * 1024;
/// Time a client has to send its request.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

const DASHBOARD: &str = include_str!("dashboard.html");

/// Serves the management API on `listener` until `stop` turns true.
pub async fn serve(listener: std::net::TcpListener, ops: Arc<Ops>, mut stop: watch::Receiver<bool>) {
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
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    // Reloads are serialised: a second POST waits for the first.
    let reload_lock = Arc::new(tokio::sync::Mutex::new(()));
    loop {
        let permit = tokio::select! {
            _ = stop.changed() => return,
            p = Arc::clone(&slots).acquire_owned() => match p { Ok(p) => p, Err(_) => return },
        };
        let (conn, _) = tokio::select! {
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
        let ops = Arc::clone(&ops);
        let reload_lock = Arc::clone(&reload_lock);
        tokio::spawn(async move {
            let _ = tokio::time::timeout(Duration::from_secs(30), handle(conn, ops, reload_lock)).await;
            drop(permit);
        });
    }
}

/// A parsed request.
#[derive(Debug, PartialEq, Eq)]
pub struct Request {
    /// GET, POST, ...
    pub method: String,
    /// The path without the query string.
    pub path: String,
    /// The query string (after `?`), if any.
    pub query: Option<String>,
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
    for l in lines {
        if let Some((k, v)) = l.split_once(':') {
            if k.trim().eq_ignore_ascii_case("content-length") {
                content_length = v.trim().parse().ok()?;
            }
        }
    }
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), Some(q.to_string())),
        None => (target.to_string(), None),
    };
    Some((Request { method, path, query }, content_length))
}

/// The value of `key` in a query string (no percent-decoding beyond
/// what zone names need: none).
pub fn query_param<'a>(query: Option<&'a str>, key: &str) -> Option<&'a str> {
    query?.split('&').find_map(|kv| kv.split_once('=').filter(|(k, _)| *k == key).map(|(_, v)| v))
}

async fn handle(mut conn: TcpStream, ops: Arc<Ops>, reload_lock: Arc<tokio::sync::Mutex<()>>) {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        if buf.len() > MAX_REQUEST {
            let _ = respond(&mut conn, 431, "text/plain", b"request head too large\n").await;
            return;
        }
        match tokio::time::timeout(READ_TIMEOUT, conn.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return,
            Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
            Err(_) => {
                let _ = respond(&mut conn, 408, "text/plain", b"request timeout\n").await;
                return;
            }
        }
    };
    let Some((req, body_len)) = std::str::from_utf8(&buf[..head_end]).ok().and_then(parse_head) else {
        let _ = respond(&mut conn, 400, "text/plain", b"bad request\n").await;
        return;
    };
    if body_len > MAX_REQUEST {
        let _ = respond(&mut conn, 413, "text/plain", b"request body too large\n").await;
        return;
    }
    // Read (and ignore) the body, so the client sees its request consumed.
    let mut have = buf.len() - head_end - 4;
    while have < body_len {
        match tokio::time::timeout(READ_TIMEOUT, conn.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => have += n,
            _ => return,
        }
    }
    let (status, ctype, body) = route(&req, &ops, &reload_lock).await;
    let _ = respond(&mut conn, status, ctype, body.as_bytes()).await;
}

type Reply = (u16, &'static str, String);

fn json_reply(status: u16, v: serde_json::Value) -> Reply {
    (status, "application/json", format!("{v}\n"))
}

fn error(status: u16, msg: &str) -> Reply {
    json_reply(status, serde_json::json!({ "error": msg }))
}

async fn route(req: &Request, ops: &Arc<Ops>, reload_lock: &tokio::sync::Mutex<()>) -> Reply {
    let zone = query_param(req.query.as_deref(), "zone").filter(|z| !z.is_empty()).map(str::to_string);
    match (req.method.as_str(), req.path.as_str()) {
        ("GET", "/metrics") => (200, "text/plain; version=0.0.4; charset=utf-8", crate::metrics::render(ops)),
        ("GET", "/") | ("GET", "/index.html") => (200, "text/html; charset=utf-8", DASHBOARD.to_string()),
        ("GET", "/api/live") => json_reply(200, ops.live()),
        ("GET", "/api/status") => json_reply(200, ops.status()),
        ("GET", "/api/stats") => json_reply(200, ops.stats()),
        ("GET", "/api/zones") => match ops.zones(zone.as_deref()) {
            Ok(v) => json_reply(200, v),
            Err(e) => error(404, &e),
        },
        ("POST", "/api/reload") => {
            let _g = reload_lock.lock().await;
            let ops2 = Arc::clone(ops);
            match tokio::task::spawn_blocking(move || control::reload(&ops2, zone.as_deref())).await {
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

async fn respond(conn: &mut TcpStream, status: u16, ctype: &str, body: &[u8]) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Payload Too Large",
        431 => "Request Header Fields Too Large",
        _ => "Internal Server Error",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
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
        let (r, n) = parse_head("POST /api/reload?zone=example.com. HTTP/1.1\r\nHost: x\r\nContent-Length: 3").unwrap();
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, "/api/reload");
        assert_eq!(query_param(r.query.as_deref(), "zone"), Some("example.com."));
        assert_eq!(n, 3);
        assert!(parse_head("GET metrics HTTP/1.1").is_none());
        assert!(parse_head("GET / SPDY/3").is_none());
        assert!(parse_head("GET / HTTP/1.1\r\nContent-Length: x").is_none());
    }
}
