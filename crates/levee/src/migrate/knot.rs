//! Knot DNS 3.x knot.conf -> levee.toml (the grammar: [`super::knotyaml`]).
//!
//! Zones take the `default` template (or the one they name) and override
//! it; `%s` in a file name is the zone name without its final dot, and a
//! relative file is under the zone's `storage` (Knot's default
//! `/var/lib/knot`). `remote` and `acl` entries are resolved into each
//! zone's `primaries`, `notify`, `allow-transfer` and `allow-notify`.
//! `mod-rrl` used as a global module becomes `[rate-limit]`.

use std::collections::HashMap;
use std::path::Path;

use super::knotyaml::{parse, Entry, Item};
use super::out::{fqdn, resolve, socket, storage_for_secondaries, Out, Table, V};

/// Knot's compiled-in zone storage.
const DEFAULT_STORAGE: &str = "/var/lib/knot";
/// The directory Knot reads a relative `key-file`/`cert-file` from (its
/// configuration directory as Debian builds it).
const CONF_DIR: &str = "/etc/knot";
/// The port of `listen-tls`/`listen-quic` addresses given without one
/// (RFC 7858 §3.1, RFC 9250 §4.1.1).
const ENCRYPTED_PORT: u16 = 853;

/// A remote: its addresses (`ADDR:PORT`) and key.
struct Remote {
    addrs: Vec<String>,
    key: Option<String>,
}

/// An ACL entry.
struct Acl {
    addrs: Vec<String>,
    keys: Vec<String>,
    actions: Vec<String>,
}

/// What the sections define, by id.
#[derive(Default)]
struct Defs<'a> {
    remotes: HashMap<String, Remote>,
    acls: HashMap<String, Acl>,
    templates: HashMap<String, &'a Entry>,
    rrl: HashMap<String, &'a Entry>,
    dnstap: HashMap<String, &'a Entry>,
}

fn scalar(i: &Item) -> String {
    i.value.items().first().cloned().unwrap_or_default()
}

/// `ADDR@PORT` or `ADDR` -> `ADDR:PORT`.
fn knot_addr(a: &str) -> Result<String, String> {
    knot_addr_on(a, 53)
}

/// `ADDR@PORT` or `ADDR` (port `default`) -> `ADDR:PORT`.
fn knot_addr_on(a: &str, default: u16) -> Result<String, String> {
    let (addr, port) = match a.split_once('@') {
        Some((h, p)) => (h, p.parse::<u16>().map_err(|_| format!("`{a}`: bad port"))?),
        None => (a, default),
    };
    addr.parse::<std::net::IpAddr>().map_err(|_| format!("`{a}`: not an IP address (interface names are not read)"))?;
    Ok(socket(addr, port))
}

/// A Knot time (`10`, `5s`, `2m`, `1h`, `1d`) in seconds.
fn seconds(v: &str) -> Option<i64> {
    let (n, mult) = match v.chars().last()? {
        's' => (&v[..v.len() - 1], 1),
        'm' => (&v[..v.len() - 1], 60),
        'h' => (&v[..v.len() - 1], 3600),
        'd' => (&v[..v.len() - 1], 86400),
        _ => (v, 1),
    };
    n.parse::<i64>().ok().map(|n| n * mult)
}

/// Knot's log severities -> levee's levels.
fn level(sev: &str) -> Option<&'static str> {
    Some(match sev {
        "critical" | "error" => "error",
        "warning" => "warn",
        "notice" | "info" => "info",
        "debug" => "debug",
        _ => return None,
    })
}

pub fn convert(text: &str) -> Result<Out, String> {
    let secs = parse(text)?;
    let mut out = Out::default();
    let mut defs = Defs::default();
    let entries =
        |name: &str| -> Vec<&Entry> { secs.iter().filter(|s| s.name == name).flat_map(|s| s.entries.iter()).collect() };
    for e in entries("key") {
        key(e, &mut out)?;
    }
    for e in entries("remote") {
        let r = remote(e, &mut out)?;
        defs.remotes.insert(id(e, "remote")?, r);
    }
    for e in entries("remotes") {
        let mut r = Remote { addrs: Vec::new(), key: None };
        for i in e.items.iter().filter(|i| i.key == "remote") {
            for rid in i.value.items() {
                let m = defs.remotes.get(&rid).ok_or(format!("line {}: remote `{rid}` is not defined", i.line))?;
                r.addrs.extend(m.addrs.iter().cloned());
                r.key = r.key.or(m.key.clone());
            }
        }
        defs.remotes.insert(id(e, "remotes")?, r);
    }
    for e in entries("acl") {
        let a = acl(e, &mut out)?;
        defs.acls.insert(id(e, "acl")?, a);
    }
    for e in entries("template") {
        defs.templates.insert(id(e, "template")?, e);
    }
    for e in entries("mod-rrl") {
        defs.rrl.insert(id(e, "mod-rrl")?, e);
    }
    for e in entries("mod-dnstap") {
        defs.dnstap.insert(id(e, "mod-dnstap")?, e);
    }
    for s in &secs {
        match s.name.as_str() {
            "server" => s.entries.iter().try_for_each(|e| server(e, &mut out))?,
            "log" => s.entries.iter().for_each(|e| log(e, &mut out)),
            "database" | "control" => s.entries.iter().for_each(|e| paths(&s.name, e, &mut out)),
            "key" | "remote" | "remotes" | "acl" | "template" | "mod-rrl" | "mod-dnstap" | "zone" => {}
            other => out.note(s.line, other, "no levee equivalent for this section"),
        }
    }
    for e in entries("zone") {
        zone(e, &defs, &mut out)?;
    }
    rate_limit(&defs, &mut out);
    dnstap(&defs, &mut out);
    storage_for_secondaries(&mut out);
    Ok(out)
}

fn id(e: &Entry, section: &str) -> Result<String, String> {
    e.get("id").map(scalar).ok_or(format!("line {}: a `{section}` entry without `id`", e.line))
}

fn key(e: &Entry, out: &mut Out) -> Result<(), String> {
    let mut t: Table = Vec::new();
    for i in &e.items {
        match i.key.as_str() {
            "id" => t.push(("name", V::S(scalar(i)))),
            "algorithm" => t.push(("algorithm", V::S(scalar(i)))),
            "secret" => t.push(("secret", V::S(scalar(i)))),
            k => out.note(i.line, format!("key.{k}"), "no levee equivalent"),
        }
    }
    if t.len() != 3 {
        return Err(format!("line {}: a key needs id, algorithm and secret", e.line));
    }
    out.keys.push(t);
    Ok(())
}

fn remote(e: &Entry, out: &mut Out) -> Result<Remote, String> {
    let mut r = Remote { addrs: Vec::new(), key: None };
    for i in &e.items {
        match i.key.as_str() {
            "id" => {}
            "address" => {
                for a in i.value.items() {
                    r.addrs.push(knot_addr(&a).map_err(|m| format!("line {}: {m}", i.line))?);
                }
            }
            "key" => r.key = Some(scalar(i)),
            // Knot 3.4 reaches a remote over TLS or QUIC and authenticates
            // it by its key's pin; levee checks a CA and a name instead.
            "tls" | "quic" | "cert-key" if scalar(i) != "off" => out.note(
                i.line,
                format!("remote.{}", i.key),
                "levee pulls over TLS when the primary's entry says `tls NAME` (the name in the primary's \
                 certificate, [transfer-in] tls-ca-file its CA), not by key pin: add them by hand; as converted \
                 this remote is reached over plain TCP",
            ),
            k => out.note(i.line, format!("remote.{k}"), "no levee equivalent"),
        }
    }
    Ok(r)
}

fn acl(e: &Entry, out: &mut Out) -> Result<Acl, String> {
    let mut a = Acl { addrs: Vec::new(), keys: Vec::new(), actions: Vec::new() };
    for i in &e.items {
        match i.key.as_str() {
            "id" => {}
            "address" => {
                for p in i.value.items() {
                    if p.contains('-') {
                        out.note(i.line, format!("acl.address {p}"), "address ranges are not supported; use prefixes");
                    } else {
                        a.addrs.push(p);
                    }
                }
            }
            "key" => a.keys.extend(i.value.items()),
            "action" => a.actions.extend(i.value.items()),
            "deny" if scalar(i) == "off" || scalar(i) == "false" => {}
            k => out.note(i.line, format!("acl.{k}"), "no levee equivalent (levee ACLs only allow)"),
        }
    }
    Ok(a)
}

/// Knot's DNS-over-TLS/QUIC settings as the server section gives them.
#[derive(Default)]
struct Encrypted {
    tls: Vec<String>,
    quic: Vec<String>,
    /// The first line of these settings.
    line: usize,
    key: Option<String>,
    cert: Option<String>,
}

impl Encrypted {
    /// `[tls]`: the listeners need both files (Knot makes a one-time key
    /// and certificate when they are not given; levee does not).
    fn finish(self, out: &mut Out) {
        let listens = !self.tls.is_empty() || !self.quic.is_empty();
        match (self.key, self.cert) {
            (Some(k), Some(c)) => {
                if !self.tls.is_empty() {
                    out.set("tls", "listen", V::L(self.tls));
                }
                if !self.quic.is_empty() {
                    out.set("tls", "listen-quic", V::L(self.quic));
                }
                out.set("tls", "certificate", V::S(c));
                out.set("tls", "key", V::S(k));
            }
            _ if listens => out.note(
                self.line,
                "server.listen-tls/listen-quic",
                "without key-file and cert-file Knot makes a one-time key and self-signed certificate; levee needs \
                 [tls] certificate and key: set them and [tls] listen/listen-quic by hand",
            ),
            (Some(_), None) | (None, Some(_)) => {
                out.note(self.line, "server.key-file/cert-file", "levee needs both ([tls] certificate and key)")
            }
            (None, None) => {}
        }
    }
}

fn server(e: &Entry, out: &mut Out) -> Result<(), String> {
    let mut enc = Encrypted::default();
    for i in &e.items {
        let v = scalar(i);
        let int = |v: &str| v.parse::<i64>().map_err(|_| format!("line {}: `{v}` is not a number", i.line));
        let addrs = |default| -> Result<Vec<String>, String> {
            let l: Result<Vec<_>, _> = i.value.items().iter().map(|a| knot_addr_on(a, default)).collect();
            l.map_err(|m| format!("line {}: {m}", i.line))
        };
        if enc.line == 0 && matches!(i.key.as_str(), "listen-tls" | "listen-quic" | "key-file" | "cert-file") {
            enc.line = i.line;
        }
        match i.key.as_str() {
            "listen" => out.set("server", "listen", V::L(addrs(53)?)),
            "listen-tls" | "listen-quic" => {
                let l = if i.key == "listen-tls" { &mut enc.tls } else { &mut enc.quic };
                l.extend(addrs(ENCRYPTED_PORT)?);
            }
            "key-file" => enc.key = Some(resolve(Path::new(CONF_DIR), &v)),
            "cert-file" => enc.cert = Some(resolve(Path::new(CONF_DIR), &v)),
            "udp-workers" => out.set("server", "threads", V::I(int(&v)?)),
            "tcp-max-clients" => out.set("tcp", "max-connections", V::I(int(&v)?)),
            "tcp-idle-timeout" => match seconds(&v) {
                Some(s) => out.set("tcp", "idle-timeout", V::I(s)),
                None => return Err(format!("line {}: `{v}` is not a time", i.line)),
            },
            // Milliseconds in Knot; whole seconds, rounded up, in levee.
            "tcp-io-timeout" => out.set("tcp", "message-timeout", V::I((int(&v)? + 999) / 1000)),
            "identity" => out.set("server", "identity", V::S(v)),
            "version" => out.set("server", "version", V::S(v)),
            "nsid" => out.set("server", "nsid", V::S(v)),
            "udp-max-payload" => out.set("server", "udp-payload", V::I(int(&v)?)),
            "user" => {
                let (u, g) = v.split_once(':').map_or((v.as_str(), None), |(u, g)| (u, Some(g)));
                out.set("server", "user", V::S(u.to_string()));
                if let Some(g) = g {
                    out.set("server", "group", V::S(g.to_string()));
                }
            }
            k => out.note(i.line, format!("server.{k}"), "no levee equivalent"),
        }
    }
    enc.finish(out);
    Ok(())
}

fn log(e: &Entry, out: &mut Out) {
    let target = e.get("target").map(scalar).unwrap_or_default();
    for i in &e.items {
        match i.key.as_str() {
            "target" if target == "stderr" || target == "stdout" => {}
            "target" => out.note(
                i.line,
                format!("log.target {target}"),
                "levee logs to standard error (the journal under systemd)",
            ),
            "any" | "server" => match level(&scalar(i)) {
                Some(l) => out.set("log", "level", V::S(l.into())),
                None => out.note(i.line, format!("log.{}", i.key), "unknown severity"),
            },
            k => out.note(i.line, format!("log.{k}"), "levee has one log level"),
        }
    }
}

fn paths(section: &str, e: &Entry, out: &mut Out) {
    for i in &e.items {
        match (section, i.key.as_str()) {
            ("database", "storage") => out.set("server", "storage-dir", V::S(scalar(i))),
            ("control", "listen") => out.set("server", "control-socket", V::S(scalar(i))),
            (s, k) => out.note(i.line, format!("{s}.{k}"), "no levee equivalent"),
        }
    }
}

/// The rules of the ACLs `ids` for `action`, as levee writes them.
fn acl_rules(ids: &[String], action: &str, defs: &Defs, line: usize) -> Result<Vec<String>, String> {
    let mut rules = Vec::new();
    for id in ids {
        let a = defs.acls.get(id).ok_or(format!("line {line}: acl `{id}` is not defined"))?;
        if !a.actions.iter().any(|x| x == action) {
            continue;
        }
        let addrs = if a.addrs.is_empty() && a.keys.is_empty() {
            vec!["0.0.0.0/0".to_string(), "::/0".to_string()]
        } else {
            a.addrs.clone()
        };
        match (addrs.is_empty(), a.keys.is_empty()) {
            (_, true) => rules.extend(addrs),
            (true, false) => rules.extend(a.keys.iter().map(|k| format!("key {k}"))),
            (false, false) => {
                for p in &addrs {
                    rules.extend(a.keys.iter().map(|k| format!("{p} key {k}")));
                }
            }
        }
    }
    Ok(rules)
}

/// `ADDR:PORT [key K]` for each address of the remotes `ids`.
fn peers(ids: &[String], defs: &Defs, line: usize) -> Result<Vec<String>, String> {
    let mut v = Vec::new();
    for id in ids {
        let r = defs.remotes.get(id).ok_or(format!("line {line}: remote `{id}` is not defined"))?;
        for a in &r.addrs {
            v.push(match &r.key {
                Some(k) => format!("{a} key {k}"),
                None => a.clone(),
            });
        }
    }
    Ok(v)
}

/// One zone: the template's items overridden by the zone's own.
fn zone(e: &Entry, defs: &Defs, out: &mut Out) -> Result<(), String> {
    let domain = e.get("domain").map(scalar).ok_or(format!("line {}: a zone without `domain`", e.line))?;
    let tname = e.get("template").map(scalar).unwrap_or_else(|| "default".into());
    let mut items: Vec<(String, &Item)> = Vec::new();
    if let Some(t) = defs.templates.get(&tname) {
        items.extend(t.items.iter().filter(|i| i.key != "id").map(|i| (format!("template[{tname}]"), i)));
    } else if tname != "default" {
        return Err(format!("line {}: template `{tname}` is not defined", e.line));
    }
    for i in e.items.iter().filter(|i| i.key != "domain" && i.key != "template") {
        items.retain(|(_, t)| t.key != i.key);
        items.push((format!("zone[{domain}]"), i));
    }
    let get = |k: &str| items.iter().find(|(_, i)| i.key == k).map(|(_, i)| scalar(i));
    let storage = get("storage").unwrap_or_else(|| DEFAULT_STORAGE.into());
    let name = fqdn(&domain);
    let bare = if name == "." { ".".to_string() } else { name.trim_end_matches('.').to_string() };
    let file = get("file").unwrap_or_else(|| "%s.zone".into());
    if file.replace("%s", "").contains('%') {
        return Err(format!("line {}: zone file `{file}`: only %s is understood", e.line));
    }
    let mut t: Table = vec![("name", V::S(name.clone()))];
    let mut wants_primaries = false;
    for (from, i) in &items {
        let v = scalar(i);
        match i.key.as_str() {
            "storage" => {}
            "file" if items.iter().any(|(_, x)| x.key == "master" || x.key == "primary") => out.note(
                i.line,
                format!("{from}.file"),
                "a secondary zone's received copy is kept in server.storage-dir",
            ),
            "file" => {}
            "master" | "primary" => {
                t.push(("primaries", V::L(peers(&i.value.items(), defs, i.line)?)));
                wants_primaries = true;
            }
            "notify" => t.push(("notify", V::L(peers(&i.value.items(), defs, i.line)?))),
            "acl" => {
                let ids = i.value.items();
                let xfr = acl_rules(&ids, "transfer", defs, i.line)?;
                let ntf = acl_rules(&ids, "notify", defs, i.line)?;
                if !xfr.is_empty() {
                    t.push(("allow-transfer", V::L(xfr)));
                }
                if !ntf.is_empty() {
                    t.push(("allow-notify", V::L(ntf)));
                }
                for id in &ids {
                    if defs.acls.get(id).is_some_and(|a| a.actions.iter().any(|x| x == "update")) {
                        out.note(i.line, format!("{from}.acl {id} (update)"), "levee does not accept dynamic updates");
                    }
                }
            }
            "semantic-checks" => {
                let p = if v == "on" { "strict" } else { "warn" };
                t.push(("semantic-checks", V::S(p.into())));
            }
            "zonefile-sync" if v == "-1" => {}
            "zonefile-load" if v == "whole" => {}
            "global-module" | "module" => {
                for m in i.value.items() {
                    if (m.starts_with("mod-rrl") || m.starts_with("mod-dnstap/")) && i.key == "global-module" {
                        continue;
                    }
                    out.note(i.line, format!("{from}.{} {m}", i.key), "no levee equivalent (modules)");
                }
            }
            k => out.note(i.line, format!("{from}.{k}"), "no levee equivalent"),
        }
    }
    if !wants_primaries {
        let path = resolve(Path::new(&storage), &file.replace("%s", &bare));
        t.insert(1, ("file", V::S(path)));
    }
    out.zones.push(t);
    Ok(())
}

/// The ids of module `kind` (`mod-rrl`) the default template uses as
/// global modules.
fn global_modules(defs: &Defs, kind: &str) -> Vec<String> {
    let prefix = format!("{kind}/");
    defs.templates
        .get("default")
        .and_then(|t| t.get("global-module"))
        .map(|i| i.value.items().into_iter().filter_map(|m| m.strip_prefix(&prefix).map(str::to_string)).collect())
        .unwrap_or_default()
}

/// `mod-dnstap/ID` as a global module of the default template ->
/// [dnstap]. Knot's defaults (queries and responses captured, the host
/// name and the server's version) are levee's; a per-zone `module` is
/// listed with the zone's other modules.
fn dnstap(defs: &Defs, out: &mut Out) {
    let Some(e) = global_modules(defs, "mod-dnstap").first().and_then(|id| defs.dnstap.get(id)) else {
        return;
    };
    let on = |i: &Item| matches!(scalar(i).as_str(), "on" | "true");
    let mut sink = false;
    for i in &e.items {
        let v = scalar(i);
        match i.key.as_str() {
            "id" => {}
            "sink" => match v.strip_prefix("unix:") {
                Some(path) => {
                    out.set("dnstap", "socket-path", V::S(path.to_string()));
                    sink = true;
                }
                None => out.note(
                    i.line,
                    "mod-dnstap.sink (a file)",
                    "levee sends to a Frame Streams collector only: run `fstrm_capture -u SOCKET -w FILE` and set \
                     [dnstap] socket-path = SOCKET, enabled = true",
                ),
            },
            "identity" => out.set("dnstap", "identity", V::S(v)),
            "version" => out.set("dnstap", "version", V::S(v)),
            "log-queries" => out.set("dnstap", "log-queries", V::B(on(i))),
            "log-responses" => out.set("dnstap", "log-responses", V::B(on(i))),
            "responses-with-queries" if !on(i) => {}
            k => out.note(i.line, format!("mod-dnstap.{k}"), "no levee equivalent"),
        }
    }
    if sink {
        out.set("dnstap", "enabled", V::B(true));
    }
}

/// `mod-rrl/ID` as a global module of the default template -> [rate-limit].
fn rate_limit(defs: &Defs, out: &mut Out) {
    let used = global_modules(defs, "mod-rrl");
    let Some(rrl) = used.first().and_then(|id| defs.rrl.get(id)) else {
        out.set("rate-limit", "enabled", V::B(false));
        out.remarks.push(
            "The source has no response rate limiting (no mod-rrl): [rate-limit] enabled = false keeps it so; \
             delete that line for levee's default (on, 200 responses per second)."
                .into(),
        );
        return;
    };
    out.set("rate-limit", "enabled", V::B(true));
    for i in &rrl.items {
        let v = scalar(i);
        let n = v.parse::<i64>();
        match (i.key.as_str(), n) {
            ("id", _) => {}
            ("rate-limit", Ok(n)) => {
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
            ("slip", Ok(n)) => out.set("rate-limit", "slip", V::I(n)),
            ("table-size", Ok(n)) => out.set("rate-limit", "table-size", V::I(n.max(1024))),
            ("whitelist", _) => out.set("rate-limit", "exempt", V::L(i.value.items())),
            (k, _) => out.note(i.line, format!("mod-rrl.{k}"), "no levee equivalent"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_keys_remotes_acls_templates_and_rrl() {
        let out = convert(
            "server:\n  listen: [127.0.0.1@5300, ::1]\n  rundir: /run/knot\n\
             key:\n  - id: xfr\n    algorithm: hmac-sha256\n    secret: c2VjcmV0\n\
             remote:\n  - id: p\n    address: 192.0.2.1@5301\n    key: xfr\n\
             acl:\n  - id: t\n    address: 127.0.0.1\n    key: xfr\n    action: [transfer, notify]\n\
             mod-rrl:\n  - id: default\n    rate-limit: 50\n    slip: 1\n\
             template:\n  - id: default\n    storage: /z\n    file: \"%s.db\"\n    global-module: mod-rrl/default\n    dnssec-signing: on\n\
             zone:\n  - domain: example.com\n    acl: t\n  - domain: sec.test.\n    master: p\n",
        )
        .unwrap();
        let toml = out.render("t");
        assert!(toml.contains("listen = [\"127.0.0.1:5300\", \"[::1]:53\"]"), "{toml}");
        assert!(toml.contains("file = \"/z/example.com.db\""), "{toml}");
        assert!(toml.contains("allow-transfer = [\"127.0.0.1 key xfr\"]"), "{toml}");
        assert!(toml.contains("allow-notify = [\"127.0.0.1 key xfr\"]"), "{toml}");
        assert!(toml.contains("primaries = [\"192.0.2.1:5301 key xfr\"]"), "{toml}");
        assert!(toml.contains("responses-per-second = 50"), "{toml}");
        assert!(toml.contains("slip = 1"), "{toml}");
        // dnssec-signing is listed once, at the template's line.
        let n: Vec<_> = out.notes.iter().filter(|n| n.setting.contains("dnssec-signing")).collect();
        assert_eq!(n.len(), 1, "{:?}", out.notes);
        assert!(n.iter().all(|n| n.line == 26));
        assert!(out.notes.iter().any(|n| n.setting == "server.rundir" && n.line == 3));
        levee_config::file::parse(&toml, "t").unwrap();
    }

    #[test]
    fn a_remote_over_tls_is_listed_not_silently_plain() {
        // As tests/xot/xot.py's Knot 3.4 secondary writes it.
        let out = convert(
            "remote:\n  - id: levee\n    address: 192.0.2.1@853\n    tls: on\n    cert-key: c/sp/h+8B0Us8jRJwKozJaZXozQhAJiOAgIkuP+jdPs=\n\
             zone:\n  - domain: a.test\n    master: levee\n",
        )
        .unwrap();
        let n: Vec<_> = out.notes.iter().map(|n| (n.line, n.setting.as_str())).collect();
        assert_eq!(n, [(4, "remote.tls"), (5, "remote.cert-key")], "{:?}", out.notes);
        assert!(out.notes.iter().all(|n| n.why.contains("plain TCP")), "{:?}", out.notes);
    }

    #[test]
    fn tls_quic_listeners_and_dnstap_are_carried() {
        let out = convert(
            "server:\n  listen: 192.0.2.1\n  listen-tls: [192.0.2.1, ::1@8853]\n  listen-quic: 192.0.2.1\n\
             \x20 key-file: tls/key.pem\n  cert-file: /etc/ssl/c.pem\n\
             mod-dnstap:\n  - id: cap\n    sink: unix:/run/dnstap.sock\n    log-queries: off\n    identity: ns1\n\
             template:\n  - id: default\n    global-module: [mod-rrl/r, mod-dnstap/cap]\n\
             mod-rrl:\n  - id: r\n    rate-limit: 20\n\
             zone:\n  - domain: a.test\n",
        )
        .unwrap();
        let toml = out.render("t");
        assert!(toml.contains("listen = [\"192.0.2.1:853\", \"[::1]:8853\"]"), "{toml}");
        assert!(toml.contains("listen-quic = [\"192.0.2.1:853\"]"), "{toml}");
        assert!(toml.contains("key = \"/etc/knot/tls/key.pem\""), "{toml}");
        assert!(toml.contains("certificate = \"/etc/ssl/c.pem\""), "{toml}");
        assert!(toml.contains("socket-path = \"/run/dnstap.sock\""), "{toml}");
        assert!(out.notes.is_empty(), "{:?}", out.notes);
        let c = levee_config::file::parse(&toml, "t").unwrap();
        assert!(c.dnstap.enabled && !c.dnstap.log_queries && c.dnstap.log_responses, "{:?}", c.dnstap);
        assert_eq!(c.dnstap.identity, "ns1");
        assert_eq!((c.tls.listen.len(), c.tls.listen_quic.len()), (2, 1));

        // Knot's one-time certificate has no levee equivalent: listed, and
        // the output stays a valid configuration; a file sink likewise.
        let out = convert(
            "server:\n  listen-tls: 192.0.2.1\n\
             mod-dnstap:\n  - id: cap\n    sink: /var/log/knot.tap\n\
             template:\n  - id: default\n    global-module: mod-dnstap/cap\n",
        )
        .unwrap();
        let n: Vec<_> = out.notes.iter().map(|n| (n.line, n.setting.as_str())).collect();
        assert_eq!(n, [(2, "server.listen-tls/listen-quic"), (5, "mod-dnstap.sink (a file)")]);
        let c = levee_config::file::parse(&out.render("t"), "t").unwrap();
        assert!(c.tls.listen.is_empty() && !c.dnstap.enabled);
    }

    #[test]
    fn refuses_undefined_references_and_bad_addresses() {
        for (text, needle) in [
            ("zone:\n  - domain: a\n    acl: nope\n", "acl `nope`"),
            ("zone:\n  - domain: a\n    master: nope\n", "remote `nope`"),
            ("server:\n  listen: eth0@53\n", "not an IP address"),
            ("zone:\n  - domain: a\n    template: t\n", "template `t`"),
            ("zone:\n  - file: a.zone\n", "without `domain`"),
        ] {
            let e = convert(text).err().unwrap_or_else(|| panic!("{text:?} accepted"));
            assert!(e.contains(needle), "{text:?}: {e}");
        }
    }
}
