//! NSD 4.x nsd.conf -> levee.toml.
//!
//! nsd.conf is a list of clauses (`server:`, `key:`, `pattern:`, `zone:`,
//! `remote-control:`, ...), each followed by `name: value` attributes;
//! indentation does not matter, `#` starts a comment, values may be
//! quoted. A zone's attributes are its own plus those of the patterns it
//! includes (`include-pattern`). `include:` is refused (give one file).
//! A relative `zonefile` is under `zonesdir` (NSD's default `/etc/nsd`).
//!
//! Transfers over TLS (XoT): a `request-xfr` naming a `tls-auth` becomes a
//! primary with `tls NAME` (the tls-auth's `auth-domain-name`; port 853
//! unless given), its `client-cert`/`client-key` levee's
//! `[transfer-in] tls-cert-file`/`tls-key-file`, and `tls-cert-bundle` the
//! CA file (NSD without one uses the system's CAs: Debian's bundle is
//! named). A `provide-xfr` naming a `tls-auth` keeps its rule, and the
//! tls-auth (a client certificate NSD checks on its tls-auth-port) is
//! listed as not carried over.

use std::collections::HashMap;
use std::path::Path;

use super::out::{fqdn, resolve, socket, storage_for_secondaries, Out, Table, V};

/// NSD's compiled-in zones directory.
const DEFAULT_ZONESDIR: &str = "/etc/nsd";

/// The system's CA bundle on Debian: what NSD verifies a primary's
/// certificate against when `tls-cert-bundle` is not set.
const SYSTEM_CAS: &str = "/etc/ssl/certs/ca-certificates.crt";

/// What a `request-xfr` over TLS needs: the `tls-auth` clauses by name and
/// the server's `tls-cert-bundle`.
struct Xot<'a> {
    auths: HashMap<String, &'a Clause>,
    bundle: Option<String>,
}

/// `name: value` at a line.
#[derive(Debug, Clone)]
struct Attr {
    key: String,
    value: String,
    line: usize,
}

/// A clause and its attributes.
#[derive(Debug)]
struct Clause {
    name: String,
    attrs: Vec<Attr>,
}

impl Clause {
    fn get(&self, k: &str) -> Option<&str> {
        self.attrs.iter().find(|a| a.key == k).map(|a| a.value.as_str())
    }
}

fn unquote(v: &str, line: usize) -> Result<String, String> {
    let v = v.trim();
    match v.strip_prefix('"') {
        Some(r) => r.strip_suffix('"').map(str::to_string).ok_or(format!("line {line}: unterminated quote")),
        None => Ok(v.to_string()),
    }
}

fn strip_comment(l: &str) -> &str {
    let mut quoted = false;
    for (i, c) in l.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '#' if !quoted => return &l[..i],
            _ => {}
        }
    }
    l
}

const CLAUSES: &[&str] =
    &["server", "remote-control", "key", "pattern", "zone", "tls-auth", "dnstap", "verify", "cookie-secret"];

fn parse(text: &str) -> Result<Vec<Clause>, String> {
    let mut out: Vec<Clause> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let t = strip_comment(raw).trim();
        if t.is_empty() {
            continue;
        }
        let (k, v) = match t.split_once(':') {
            Some((k, v)) => (k.trim(), v.trim()),
            None => return Err(format!("line {line}: expected `name: value` or `clause:`, got `{t}`")),
        };
        if k == "include" {
            return Err(format!(
                "line {line}: `include: {v}`: included files are not followed; give levee migrate one file with everything"
            ));
        }
        if v.is_empty() && CLAUSES.contains(&k) {
            out.push(Clause { name: k.to_string(), attrs: Vec::new() });
            continue;
        }
        if v.is_empty() {
            return Err(format!("line {line}: `{k}:` is neither a clause nor has a value"));
        }
        let c = out.last_mut().ok_or(format!("line {line}: `{k}` outside a clause"))?;
        c.attrs.push(Attr { key: k.to_string(), value: unquote(v, line)?, line });
    }
    Ok(out)
}

pub fn convert(text: &str) -> Result<Out, String> {
    let clauses = parse(text)?;
    let mut out = Out::default();
    let mut zonesdir = DEFAULT_ZONESDIR.to_string();
    let mut patterns: HashMap<String, &Clause> = HashMap::new();
    let mut xot = Xot { auths: HashMap::new(), bundle: None };
    for c in &clauses {
        match c.name.as_str() {
            "server" => {
                if let Some(d) = c.get("zonesdir") {
                    zonesdir = d.to_string();
                }
                xot.bundle = c.get("tls-cert-bundle").filter(|b| !b.is_empty()).map(str::to_string);
                server(c, &mut out)?;
            }
            "key" => key(c, &mut out)?,
            "pattern" => {
                let n = c.get("name").ok_or("a pattern without `name`")?;
                patterns.insert(n.to_string(), c);
            }
            "tls-auth" => {
                let n = c.get("name").ok_or("a tls-auth without `name`")?;
                xot.auths.insert(n.to_string(), c);
            }
            "remote-control" => {
                for a in &c.attrs {
                    if !(a.key == "control-enable" && a.value == "no") {
                        out.note(a.line, format!("remote-control.{}", a.key), "levee ctl uses server.control-socket");
                    }
                }
            }
            "zone" => {}
            "dnstap" => dnstap(c, &mut out),
            other => {
                let line = c.attrs.first().map_or(0, |a| a.line);
                out.note(line, other, "no levee equivalent for this clause");
            }
        }
    }
    for c in clauses.iter().filter(|c| c.name == "zone") {
        zone(c, &patterns, &zonesdir, &xot, &mut out)?;
    }
    storage_for_secondaries(&mut out);
    Ok(out)
}

/// NSD's default `dnstap-socket-path`.
const DNSTAP_SOCKET: &str = "/var/run/nsd-dnstap.sock";

/// The `dnstap:` clause -> `[dnstap]`. NSD's defaults differ from levee's
/// and are written out: nothing captured and no identity or version sent
/// unless asked (`""` means the host name or the package's version, as
/// levee's own defaults).
fn dnstap(c: &Clause, out: &mut Out) {
    let yes = |k: &str| c.get(k) == Some("yes");
    let queries = yes("dnstap-log-auth-query-messages");
    let responses = yes("dnstap-log-auth-response-messages");
    for a in &c.attrs {
        match a.key.as_str() {
            "dnstap-enable" | "dnstap-socket-path" | "dnstap-log-auth-query-messages" => {}
            "dnstap-log-auth-response-messages" | "dnstap-send-identity" | "dnstap-send-version" => {}
            "dnstap-identity" | "dnstap-version" => {}
            k if k.starts_with("dnstap-log-") && a.value == "no" => {}
            k => out.note(a.line, format!("dnstap.{k}"), "no levee equivalent"),
        }
    }
    if !yes("dnstap-enable") {
        return;
    }
    out.set("dnstap", "enabled", V::B(queries || responses));
    out.set("dnstap", "socket-path", V::S(c.get("dnstap-socket-path").unwrap_or(DNSTAP_SOCKET).to_string()));
    out.set("dnstap", "log-queries", V::B(queries));
    out.set("dnstap", "log-responses", V::B(responses));
    for (send, value, key) in
        [("dnstap-send-identity", "dnstap-identity", "identity"), ("dnstap-send-version", "dnstap-version", "version")]
    {
        match (yes(send), c.get(value).filter(|v| !v.is_empty())) {
            (false, _) => out.set("dnstap", key, V::S(String::new())),
            (true, Some(v)) => out.set("dnstap", key, V::S(v.to_string())),
            (true, None) => {}
        }
    }
    if !(queries || responses) {
        let line = c.attrs.iter().find(|a| a.key == "dnstap-enable").map_or(0, |a| a.line);
        out.note(
            line,
            "dnstap.dnstap-enable",
            "no dnstap-log-auth-*-messages: NSD captures nothing, so levee's is off",
        );
    }
}

fn key(c: &Clause, out: &mut Out) -> Result<(), String> {
    let mut t: Table = Vec::new();
    for a in &c.attrs {
        match a.key.as_str() {
            "name" | "algorithm" | "secret" => t.push((field(&a.key), V::S(a.value.clone()))),
            k => out.note(a.line, format!("key.{k}"), "no levee equivalent"),
        }
    }
    if t.len() != 3 {
        return Err("a key needs name, algorithm and secret".into());
    }
    out.keys.push(t);
    Ok(())
}

fn field(k: &str) -> &'static str {
    match k {
        "name" => "name",
        "algorithm" => "algorithm",
        _ => "secret",
    }
}

fn server(c: &Clause, out: &mut Out) -> Result<(), String> {
    let port: u16 = match c.get("port") {
        Some(p) => p.parse().map_err(|_| format!("server.port `{p}` is not a port"))?,
        None => 53,
    };
    let no6 = c.get("do-ip6") == Some("no");
    let no4 = c.get("do-ip4") == Some("no");
    let tls = DotPorts::of(c)?;
    let mut listen = Vec::new();
    let mut dot = Vec::new();
    for a in &c.attrs {
        let int = || a.value.parse::<i64>().map_err(|_| format!("line {}: `{}` is not a number", a.line, a.value));
        match a.key.as_str() {
            "ip-address" | "interface" => {
                let (h, p) = match a.value.split_once('@') {
                    Some((h, p)) => (h, p.parse::<u16>().map_err(|_| format!("line {}: bad port", a.line))?),
                    None => (a.value.as_str(), port),
                };
                let ip: std::net::IpAddr = h
                    .parse()
                    .map_err(|_| format!("line {}: `{h}`: not an IP address (interface names are not read)", a.line))?;
                if ip.is_ipv6() && no6 || ip.is_ipv4() && no4 {
                    continue;
                }
                match tls.serves(p) {
                    true => dot.push(socket(h, p)),
                    false => listen.push(socket(h, p)),
                }
            }
            "port" | "do-ip4" | "do-ip6" | "zonesdir" | "reuseport" => {}
            // Read with the request-xfr entries that use it (XoT).
            "tls-cert-bundle" | "tls-port" | "tls-auth-port" => {}
            "tls-service-key" | "tls-service-pem" => {}
            "tls-service-ocsp" => out.note(a.line, "server.tls-service-ocsp", "levee does not staple OCSP responses"),
            "username" if a.value.is_empty() => {}
            "username" => out.set("server", "user", V::S(a.value.clone())),
            "chroot" | "database" if a.value.is_empty() => {}
            "server-count" => out.set("server", "threads", V::I(int()?)),
            "identity" => out.set("server", "identity", V::S(a.value.clone())),
            "hide-identity" if a.value == "yes" => out.set("server", "identity", V::S(String::new())),
            "version" => out.set("server", "version", V::S(a.value.clone())),
            "hide-version" if a.value == "yes" => out.set("server", "version", V::S(String::new())),
            "hide-version" | "hide-identity" => {}
            "nsid" => out.set("server", "nsid", V::S(format!("0x{}", a.value))),
            "verbosity" => {
                let l = match int()? {
                    0 => "warn",
                    1 => "info",
                    _ => "debug",
                };
                out.set("log", "level", V::S(l.into()));
            }
            "ipv4-edns-size" | "ipv6-edns-size" => out.set("server", "udp-payload", V::I(int()?)),
            "tcp-count" => out.set("tcp", "max-connections", V::I(int()?)),
            "tcp-timeout" => out.set("tcp", "idle-timeout", V::I(int()?)),
            "rrl-ratelimit" => {
                let n = int()?;
                out.set("rate-limit", "enabled", V::B(n > 0));
                if n > 0 {
                    for k in [
                        "responses-per-second",
                        "nodata-per-second",
                        "nxdomain-per-second",
                        "referrals-per-second",
                        "errors-per-second",
                    ] {
                        out.set("rate-limit", k, V::I(n));
                    }
                }
            }
            "rrl-slip" => out.set("rate-limit", "slip", V::I(int()?)),
            "rrl-ipv4-prefix-length" => out.set("rate-limit", "ipv4-prefix", V::I(int()?)),
            "rrl-ipv6-prefix-length" => out.set("rate-limit", "ipv6-prefix", V::I(int()?)),
            "rrl-size" => out.set("rate-limit", "table-size", V::I(int()?.max(1024))),
            "rrl-whitelist-ratelimit" if a.value == "0" => {}
            k => out.note(a.line, format!("server.{k}"), "no levee equivalent"),
        }
    }
    if !listen.is_empty() {
        out.set("server", "listen", V::L(listen));
    }
    tls.finish(c, dot, out);
    Ok(())
}

/// NSD's DNS over TLS: with `tls-service-key` and `tls-service-pem` set,
/// each `ip-address` whose port is `tls-port` (853 unless given) or
/// `tls-auth-port` serves DNS over TLS instead of plain DNS.
struct DotPorts {
    /// Both files are set.
    on: bool,
    port: u16,
    auth_port: Option<u16>,
}

impl DotPorts {
    fn of(c: &Clause) -> Result<DotPorts, String> {
        let port = |k: &str| -> Result<Option<u16>, String> {
            c.get(k).map(|p| p.parse().map_err(|_| format!("server.{k} `{p}` is not a port"))).transpose()
        };
        let set = |k: &str| c.get(k).is_some_and(|v| !v.is_empty());
        Ok(DotPorts {
            on: set("tls-service-key") && set("tls-service-pem"),
            port: port("tls-port")?.unwrap_or(853),
            auth_port: port("tls-auth-port")?,
        })
    }

    /// True if an address on port `p` is a DNS-over-TLS listener.
    fn serves(&self, p: u16) -> bool {
        self.on && (p == self.port || Some(p) == self.auth_port)
    }

    /// `[tls]`: the listeners `dot`, the certificate and key; the
    /// tls-auth-port's client check becomes `client-ca-file`.
    fn finish(&self, c: &Clause, dot: Vec<String>, out: &mut Out) {
        let line = |k: &str| c.attrs.iter().find(|a| a.key == k).map_or(0, |a| a.line);
        if !self.on {
            for k in ["tls-service-key", "tls-service-pem"] {
                if c.get(k).is_some_and(|v| !v.is_empty()) {
                    out.note(line(k), format!("server.{k}"), "NSD serves no TLS without both tls-service-key and -pem");
                }
            }
            return;
        }
        out.set("tls", "certificate", V::S(c.get("tls-service-pem").unwrap_or_default().to_string()));
        out.set("tls", "key", V::S(c.get("tls-service-key").unwrap_or_default().to_string()));
        if dot.is_empty() {
            out.note(
                line("tls-service-key"),
                "server.tls-service-key",
                "no ip-address has the tls-port: NSD serves no TLS; levee: add [tls] listen to serve it",
            );
        } else {
            out.set("tls", "listen", V::L(dot));
        }
        if let (Some(_), Some(bundle)) = (self.auth_port, c.get("tls-cert-bundle").filter(|b| !b.is_empty())) {
            out.set("tls", "client-ca-file", V::S(bundle.to_string()));
            out.note(
                line("tls-auth-port"),
                "server.tls-auth-port",
                "levee has no port for authenticated clients only: its DoT listeners take client certificates \
                 chaining to [tls] client-ca-file (set from tls-cert-bundle), and an allow-transfer rule with \
                 `tls-client NAME` requires one",
            );
        }
    }
}

/// `ADDR[/LEN] KEY|NOKEY|BLOCKED` -> a levee ACL rule (None: BLOCKED).
fn acl_rule(v: &str, line: usize) -> Result<Option<String>, String> {
    let mut w = v.split_whitespace();
    let (addr, key) = (w.next().unwrap_or(""), w.next().unwrap_or("NOKEY"));
    if addr.contains('&') || addr.contains('-') {
        return Err(format!("line {line}: `{addr}`: masks and ranges are not supported; use a prefix"));
    }
    let addr = addr.split_once('@').map_or(addr, |(a, _)| a);
    Ok(match key {
        "BLOCKED" => None,
        "NOKEY" => Some(addr.to_string()),
        k => Some(format!("{addr} key {k}")),
    })
}

/// `ADDR[@PORT] KEY|NOKEY` -> `ADDR:PORT [key K]`.
fn peer(v: &str, line: usize) -> Result<String, String> {
    let mut w = v.split_whitespace().filter(|x| *x != "AXFR" && *x != "UDP");
    let (addr, key) = (w.next().unwrap_or(""), w.next().unwrap_or("NOKEY"));
    let (h, p) = match addr.split_once('@') {
        Some((h, p)) => (h, p.parse::<u16>().map_err(|_| format!("line {line}: bad port in `{addr}`"))?),
        None => (addr, 53),
    };
    h.parse::<std::net::IpAddr>().map_err(|_| format!("line {line}: `{h}` is not an IP address"))?;
    Ok(match key {
        "NOKEY" => socket(h, p),
        k => format!("{} key {k}", socket(h, p)),
    })
}

/// `[AXFR|UDP] ADDR[@PORT] KEY|NOKEY [TLS-AUTH]` -> a levee primary, over
/// TLS (`tls NAME`, port 853 by default) when a tls-auth is named.
fn primary(v: &str, line: usize, xot: &Xot, out: &mut Out) -> Result<String, String> {
    let Some(name) = v.split_whitespace().filter(|x| *x != "AXFR" && *x != "UDP").nth(2) else {
        return peer(v, line);
    };
    let auth = xot.auths.get(name).ok_or(format!("line {line}: tls-auth `{name}` is not defined"))?;
    let addr = v.split_whitespace().find(|x| *x != "AXFR" && *x != "UDP").unwrap_or("");
    let with_port = if addr.contains('@') { v.to_string() } else { v.replacen(addr, &format!("{addr}@853"), 1) };
    let plain = peer(&with_port, line)?;
    for a in &auth.attrs {
        match a.key.as_str() {
            "name" | "auth-domain-name" => {}
            "client-cert" => out.set("transfer-in", "tls-cert-file", V::S(a.value.clone())),
            "client-key" => out.set("transfer-in", "tls-key-file", V::S(a.value.clone())),
            k => out.note(a.line, format!("tls-auth[{name}].{k}"), "no levee equivalent (an unencrypted key file)"),
        }
    }
    match &xot.bundle {
        Some(b) => out.set("transfer-in", "tls-ca-file", V::S(b.clone())),
        None => {
            out.set("transfer-in", "tls-ca-file", V::S(SYSTEM_CAS.into()));
            let r = format!(
                "transfer-in.tls-ca-file = {SYSTEM_CAS:?}: NSD without tls-cert-bundle checks primaries against the system's CAs."
            );
            if !out.remarks.contains(&r) {
                out.remarks.push(r);
            }
        }
    }
    Ok(match auth.get("auth-domain-name") {
        Some(n) => format!("{plain} tls {}", n.trim_end_matches('.')),
        None => format!("{plain} tls"),
    })
}

fn zone(
    c: &Clause,
    patterns: &HashMap<String, &Clause>,
    zonesdir: &str,
    xot: &Xot,
    out: &mut Out,
) -> Result<(), String> {
    let name = c.get("name").ok_or("a zone without `name`")?.to_string();
    let mut attrs: Vec<(String, &Attr)> = Vec::new();
    for a in &c.attrs {
        if a.key == "include-pattern" {
            let p = patterns.get(&a.value).ok_or(format!("line {}: pattern `{}` is not defined", a.line, a.value))?;
            attrs.extend(p.attrs.iter().filter(|x| x.key != "name").map(|x| (format!("pattern[{}]", a.value), x)));
        } else if a.key != "name" {
            attrs.push((format!("zone[{name}]"), a));
        }
    }
    let mut t: Table = vec![("name", V::S(fqdn(&name)))];
    let (mut xfr, mut ntf, mut notify, mut prim) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (from, a) in &attrs {
        match a.key.as_str() {
            "zonefile" if attrs.iter().any(|(_, x)| x.key == "request-xfr") => out.note(
                a.line,
                format!("{from}.zonefile"),
                "a secondary zone's received copy is kept in server.storage-dir",
            ),
            "zonefile" => {
                if a.value.replace("%s", "").contains('%') {
                    return Err(format!("line {}: zonefile `{}`: only %s is understood", a.line, a.value));
                }
                let f = a.value.replace("%s", name.trim_end_matches('.'));
                t.push(("file", V::S(resolve(Path::new(zonesdir), &f))));
            }
            "provide-xfr" => {
                xfr.extend(acl_rule(&a.value, a.line)?);
                if let Some(auth) = a.value.split_whitespace().nth(2) {
                    out.note(
                        a.line,
                        format!("{from}.provide-xfr"),
                        format!(
                            "its tls-auth `{auth}` (a client certificate NSD checks on its tls-auth-port) is not carried \
                             over, the rule is kept without it; levee: `tls-client NAME` in the rule, [tls] client-ca-file"
                        ),
                    );
                }
            }
            "allow-notify" => ntf.extend(acl_rule(&a.value, a.line)?),
            "notify" => notify.push(peer(&a.value, a.line)?),
            "request-xfr" => prim.push(primary(&a.value, a.line, xot, out)?),
            k => out.note(a.line, format!("{from}.{k}"), "no levee equivalent"),
        }
    }
    let secondary = !prim.is_empty();
    for (k, v) in [("allow-transfer", xfr), ("allow-notify", ntf), ("notify", notify), ("primaries", prim)] {
        if !v.is_empty() {
            t.push((k, V::L(v)));
        }
    }
    if !secondary && !t.iter().any(|(k, _)| *k == "file") {
        return Err(format!("zone {name}: neither zonefile nor request-xfr"));
    }
    out.zones.push(t);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_server_keys_patterns_and_zones() {
        let out = convert(
            "server:\n  ip-address: 127.0.0.1@5300\n  ip-address: ::1\n  port: 5301\n  zonesdir: \"/z\"\n  pidfile: /run/nsd.pid # x\n\
             rrl-ratelimit: 50\n  hide-version: yes\n\
             key:\n  name: xfr\n  algorithm: hmac-sha256\n  secret: \"c2VjcmV0\"\n\
             pattern:\n  name: sec\n  request-xfr: AXFR 192.0.2.1@5302 xfr\n  allow-notify: 192.0.2.1 xfr\n\
             zone:\n  name: example.com\n  zonefile: \"%s.zone\"\n  provide-xfr: 127.0.0.1 NOKEY\n  notify: 127.0.0.2 xfr\n\
             zone:\n  name: s.test\n  include-pattern: sec\n",
        )
        .unwrap();
        let toml = out.render("t");
        assert!(toml.contains("listen = [\"127.0.0.1:5300\", \"[::1]:5301\"]"), "{toml}");
        assert!(toml.contains("file = \"/z/example.com.zone\""), "{toml}");
        assert!(toml.contains("allow-transfer = [\"127.0.0.1\"]"), "{toml}");
        assert!(toml.contains("notify = [\"127.0.0.2:53 key xfr\"]"), "{toml}");
        assert!(toml.contains("primaries = [\"192.0.2.1:5302 key xfr\"]"), "{toml}");
        assert!(toml.contains("allow-notify = [\"192.0.2.1 key xfr\"]"), "{toml}");
        assert!(toml.contains("version = \"\""), "{toml}");
        assert_eq!(out.notes.len(), 1, "{:?}", out.notes);
        assert_eq!((out.notes[0].line, out.notes[0].setting.as_str()), (6, "server.pidfile"));
        levee_config::file::parse(&toml, "t").unwrap();
    }

    #[test]
    fn request_xfr_over_tls_becomes_a_tls_primary() {
        // As tests/xot/xot.py's NSD secondaries (NSD 4.6 and 4.12) write it.
        let conf = "server:\n  tls-cert-bundle: \"/etc/nsd/ca.pem\"\n\
             key:\n  name: xfr\n  algorithm: hmac-sha256\n  secret: \"c2VjcmV0\"\n\
             tls-auth:\n  name: xot\n  auth-domain-name: \"ns1.example.com\"\n\
             \x20 client-cert: \"/etc/nsd/ns2.crt\"\n  client-key: \"/etc/nsd/ns2.key\"\n\
             zone:\n  name: a.test\n  request-xfr: 192.0.2.1@8853 xfr xot\n\
             zone:\n  name: b.test\n  request-xfr: AXFR 192.0.2.2 NOKEY xot\n\
             zone:\n  name: c.test\n  zonefile: c.zone\n  provide-xfr: 192.0.2.3 NOKEY xot\n";
        let out = convert(conf).unwrap();
        let toml = out.render("t");
        assert!(toml.contains("primaries = [\"192.0.2.1:8853 key xfr tls ns1.example.com\"]"), "{toml}");
        assert!(toml.contains("primaries = [\"192.0.2.2:853 tls ns1.example.com\"]"), "{toml}");
        assert!(toml.contains("tls-ca-file = \"/etc/nsd/ca.pem\""), "{toml}");
        assert!(toml.contains("tls-cert-file = \"/etc/nsd/ns2.crt\""), "{toml}");
        assert!(toml.contains("tls-key-file = \"/etc/nsd/ns2.key\""), "{toml}");
        // The secondary's tls-auth on provide-xfr is listed, its rule kept.
        assert!(toml.contains("allow-transfer = [\"192.0.2.3\"]"), "{toml}");
        assert_eq!(out.notes.len(), 1, "{:?}", out.notes);
        assert_eq!((out.notes[0].line, out.notes[0].setting.as_str()), (21, "zone[c.test].provide-xfr"));
        levee_config::file::parse(&toml, "t").unwrap();

        // Without tls-cert-bundle NSD uses the system's CAs; an unknown tls-auth is refused.
        let out = convert("tls-auth:\n  name: t\nzone:\n  name: a\n  request-xfr: 192.0.2.1 NOKEY t\n").unwrap();
        let toml = out.render("t");
        assert!(toml.contains("tls-ca-file = \"/etc/ssl/certs/ca-certificates.crt\""), "{toml}");
        assert!(toml.contains("primaries = [\"192.0.2.1:853 tls\"]"), "{toml}");
        let e = convert("zone:\n  name: a\n  request-xfr: 192.0.2.1 NOKEY nope\n").unwrap_err();
        assert!(e.contains("tls-auth `nope` is not defined"), "{e}");
    }

    #[test]
    fn tls_service_addresses_become_dot_listeners_and_dnstap_is_carried() {
        let conf = "server:\n  ip-address: 192.0.2.1\n  ip-address: 192.0.2.1@853\n  ip-address: 2001:db8::1@8853\n\
             \x20 tls-service-key: /etc/nsd/k.pem\n  tls-service-pem: /etc/nsd/c.pem\n  tls-service-ocsp: /etc/nsd/o.pem\n\
             \x20 tls-auth-port: 8853\n  tls-cert-bundle: /etc/nsd/ca.pem\n\
             dnstap:\n  dnstap-enable: yes\n  dnstap-log-auth-response-messages: yes\n  dnstap-send-version: yes\n\
             \x20 dnstap-log-resolver-query-messages: yes\n";
        let out = convert(conf).unwrap();
        let toml = out.render("t");
        assert!(toml.contains("listen = [\"192.0.2.1:53\"]"), "{toml}");
        assert!(toml.contains("listen = [\"192.0.2.1:853\", \"[2001:db8::1]:8853\"]"), "{toml}");
        assert!(toml.contains("certificate = \"/etc/nsd/c.pem\""), "{toml}");
        assert!(toml.contains("key = \"/etc/nsd/k.pem\""), "{toml}");
        assert!(toml.contains("client-ca-file = \"/etc/nsd/ca.pem\""), "{toml}");
        assert!(toml.contains("socket-path = \"/var/run/nsd-dnstap.sock\""), "{toml}");
        assert!(toml.contains("log-queries = false") && toml.contains("log-responses = true"), "{toml}");
        // Identity not sent (NSD's default), version sent as levee's default.
        assert!(toml.contains("identity = \"\"") && !toml.contains("version = \"\""), "{toml}");
        let n: Vec<_> = out.notes.iter().map(|n| (n.line, n.setting.as_str())).collect();
        assert_eq!(
            n,
            [
                (7, "server.tls-service-ocsp"),
                (8, "server.tls-auth-port"),
                (14, "dnstap.dnstap-log-resolver-query-messages")
            ]
        );
        let c = levee_config::file::parse(&toml, "t").unwrap();
        assert!(c.dnstap.enabled && !c.dnstap.log_queries, "{:?}", c.dnstap);
        assert_eq!(c.tls.listen.len(), 2);

        // Without the key and certificate, an address on 853 is plain DNS (as NSD).
        let out = convert("server:\n  ip-address: 192.0.2.1@853\n  tls-service-pem: /c.pem\n").unwrap();
        let toml = out.render("t");
        assert!(toml.contains("listen = [\"192.0.2.1:853\"]") && !toml.contains("[tls]"), "{toml}");
        assert_eq!(out.notes.len(), 1, "{:?}", out.notes);
        // dnstap on without any message type captures nothing: off.
        let out = convert("dnstap:\n  dnstap-enable: yes\n").unwrap();
        let c = levee_config::file::parse(&out.render("t"), "t").unwrap();
        assert!(!c.dnstap.enabled);
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        for (text, needle) in [
            ("include: \"/etc/nsd/more.conf\"\n", "include"),
            ("server:\n  ip-address: eth0\n", "not an IP address"),
            ("zone:\n  name: a\n  provide-xfr: 10.0.0.0&255.0.0.0 NOKEY\n  zonefile: a\n", "masks"),
            ("zone:\n  name: a\n  include-pattern: p\n", "pattern `p`"),
            ("  verbosity: 1\n", "outside a clause"),
            ("server:\n  just words\n", "expected"),
            ("zone:\n  name: a\n", "neither zonefile"),
        ] {
            let e = convert(text).err().unwrap_or_else(|| panic!("{text:?} accepted"));
            assert!(e.contains(needle), "{text:?}: {e}");
        }
    }
}
