//! Replication settings: TSIG keys, per-zone ACLs naming keys, NOTIFY
//! targets and primaries (issue 5).
//!
//! ```toml
//! [server]
//! storage-dir = "/var/lib/levee"       # journals, received zones, control socket
//! control-socket = "/run/levee.sock"   # default: <storage-dir>/levee.sock
//!
//! [[key]]
//! name = "xfr-key"
//! algorithm = "hmac-sha256"            # hmac-md5, hmac-sha1, hmac-sha224/256/384/512
//! secret = "base64..."
//!
//! [[zone]]
//! name = "example.com."
//! allow-transfer = ["127.0.0.1", "10.0.0.0/8 key xfr-key", "key xfr-key"]
//! notify = ["192.0.2.2:53 key xfr-key"]
//! # a secondary zone:
//! primaries = ["192.0.2.1:53 key xfr-key"]
//! allow-notify = ["192.0.2.1 key xfr-key"]
//! transfer-max-records = 1000000       # per-zone limits override [transfer-in]
//!
//! [transfer-in]                        # limits on every transfer in (issue 15)
//! timeout = 3600                       # seconds for a whole transfer
//! idle-timeout = 30                    # seconds to wait for each message
//! max-records = 25000000               # records in one transfer
//! max-size = 3221225472                # octets of record data in one transfer
//! concurrent = 16                      # transfers in at once, all zones together
//! source = "192.0.2.9"                 # SOA queries and transfers from this address
//!
//! [notify]
//! source = ["192.0.2.9", "2001:db8::9"] # NOTIFY from these (one per family)
//! ```
//!
//! Source addresses (like Knot's `via`, BIND's `transfer-source` and
//! `notify-source`) are resolved per zone when the file is lowered: each
//! [`Remote`] carries the address its exchanges leave from (the zone's
//! `notify-source` / `transfer-source`, else the section's), of the
//! remote's family; `None` lets the kernel choose. Whether the address
//! is one of this host's is checked by the daemon at start
//! ([`crate::Config::check_sources`]), not here: `levee ctl` reads the
//! same file from anywhere.

use std::net::{IpAddr, SocketAddr};

use serde::Deserialize;

use crate::values::{parse_listen, parse_prefix};

/// `[[key]]` in the file.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct KeySpec {
    /// Key name.
    pub name: String,
    /// Algorithm (`hmac-sha256`).
    pub algorithm: String,
    /// Base64 secret.
    pub secret: String,
}

/// One ACL rule: an address prefix, a key, or both must match.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AclRule {
    /// The prefix (`None`: any address).
    pub prefix: Option<(IpAddr, u8)>,
    /// The key the request must be signed with (`None`: signed or not).
    pub key: Option<String>,
    /// `allow-transfer` only: the request must come over TLS (DoT, DoQ)
    /// with a client certificate (checked against `tls.client-ca-file`)
    /// valid for this name (mutual TLS, RFC 9103 §9.3.3).
    pub tls_client: Option<String>,
}

/// A peer: a primary to fetch from or a secondary to notify.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Remote {
    /// Address and port.
    pub addr: SocketAddr,
    /// Key to sign with.
    pub key: Option<String>,
    /// Primaries only: transfer over TLS (XoT, RFC 9103), checking that
    /// the primary's certificate is valid for this name (the address's
    /// text for a bare `tls`) and issued by `[transfer-in] tls-ca-file`.
    pub tls: Option<String>,
    /// The local address the exchanges with this peer leave from (NOTIFY
    /// for targets; SOA queries and transfers for primaries); `None`: the
    /// kernel's choice.
    pub source: Option<IpAddr>,
}

/// Source addresses of outgoing exchanges: at most one per address
/// family (`source = "ADDR"` or `source = ["ADDR4", "ADDR6"]`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sources {
    /// For IPv4 peers.
    pub v4: Option<IpAddr>,
    /// For IPv6 peers.
    pub v6: Option<IpAddr>,
}

impl Sources {
    /// Parses the value of a `source` key.
    pub fn parse(v: &OneOrMany) -> Result<Sources, String> {
        let list: Vec<&str> = match v {
            OneOrMany::One(s) => vec![s.as_str()],
            OneOrMany::Many(l) => l.iter().map(String::as_str).collect(),
        };
        let mut out = Sources::default();
        for a in list {
            let ip: IpAddr = a.trim().parse().map_err(|_| format!("'{a}' is not an IP address"))?;
            if ip.is_unspecified() || ip.is_multicast() {
                return Err(format!("'{a}' cannot be a source address"));
            }
            let slot = if ip.is_ipv4() { &mut out.v4 } else { &mut out.v6 };
            if slot.replace(ip).is_some() {
                return Err("at most one address per family (IPv4, IPv6)".into());
            }
        }
        Ok(out)
    }

    /// The source for a peer at `to`: the address of its family.
    pub fn for_peer(&self, to: &SocketAddr) -> Option<IpAddr> {
        if to.is_ipv4() {
            self.v4
        } else {
            self.v6
        }
    }

    /// Both addresses.
    pub fn addrs(&self) -> impl Iterator<Item = IpAddr> {
        self.v4.into_iter().chain(self.v6)
    }
}

/// A key that takes one string or a list of strings.
#[derive(Deserialize, Debug, Clone)]
#[serde(untagged)]
pub enum OneOrMany {
    /// `key = "x"`.
    One(String),
    /// `key = ["x", "y"]`.
    Many(Vec<String>),
}

/// Limits on one transfer in (AXFR/IXFR of a secondary zone): on
/// exceeding one the transfer is abandoned and the zone keeps its data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransferLimits {
    /// Seconds for a whole transfer, from the connection to the closing SOA.
    pub timeout: u32,
    /// Seconds to wait for each message (and to connect).
    pub idle_timeout: u32,
    /// Records in one transfer (every record of an IXFR counts).
    pub max_records: u64,
    /// Octets of record data in one transfer (owner + 10 + RDATA each).
    pub max_size: u64,
}

/// Default `[transfer-in] concurrent`: well under a primary's TCP
/// connections per source (levee's default is 64), so starting with a
/// thousand secondary zones does not have the primary close connections.
pub const DEFAULT_TRANSFERS_IN_CONCURRENT: usize = 16;

/// Default `timeout` (BIND's `max-transfer-time-in` is 120 min).
pub const DEFAULT_TRANSFER_TIMEOUT: u32 = 3600;
/// Default `idle-timeout`.
pub const DEFAULT_TRANSFER_IDLE_TIMEOUT: u32 = 30;
/// Default `max-records`: a 5M-delegation TLD has 16.25M records.
pub const DEFAULT_TRANSFER_MAX_RECORDS: u64 = 25_000_000;
/// Default `max-size` (3 GiB; the 5M-delegation TLD has about 0.6 GB).
pub const DEFAULT_TRANSFER_MAX_SIZE: u64 = 3 << 30;

impl Default for TransferLimits {
    fn default() -> Self {
        TransferLimits {
            timeout: DEFAULT_TRANSFER_TIMEOUT,
            idle_timeout: DEFAULT_TRANSFER_IDLE_TIMEOUT,
            max_records: DEFAULT_TRANSFER_MAX_RECORDS,
            max_size: DEFAULT_TRANSFER_MAX_SIZE,
        }
    }
}

/// The four limit keys as read from the file (`[transfer-in]`, or a
/// zone's `transfer-*` keys); `prefix` names them in errors. Their ranges
/// are those of `transfer-in.*` in [`crate::bounds::RANGES`].
#[derive(Clone, Copy, Debug, Default)]
pub struct LimitSpec {
    /// `timeout` / `transfer-timeout`.
    pub timeout: Option<i64>,
    /// `idle-timeout` / `transfer-idle-timeout`.
    pub idle_timeout: Option<i64>,
    /// `max-records` / `transfer-max-records`.
    pub max_records: Option<i64>,
    /// `max-size` / `transfer-max-size`.
    pub max_size: Option<i64>,
}

impl LimitSpec {
    /// Applies the keys that are set onto `base`, checking ranges; an
    /// error is (key, message), the key being `prefix` + the key's name.
    pub fn apply(&self, base: TransferLimits, prefix: &str) -> Result<TransferLimits, (String, String)> {
        let mut l = base;
        let check = |k: &str, v: i64| {
            crate::bounds::check(&format!("transfer-in.{k}"), v).map_err(|m| (format!("{prefix}{k}"), m))
        };
        if let Some(v) = self.timeout {
            l.timeout = check("timeout", v)? as u32;
        }
        if let Some(v) = self.idle_timeout {
            l.idle_timeout = check("idle-timeout", v)? as u32;
        }
        if let Some(v) = self.max_records {
            l.max_records = check("max-records", v)?;
        }
        if let Some(v) = self.max_size {
            l.max_size = check("max-size", v)?;
        }
        Ok(l)
    }
}

/// The replication settings of one zone.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ZoneRepl {
    /// `allow-transfer` rules that name a key (plain prefixes stay in
    /// `ZoneConfig::allow_transfer`).
    pub transfer_keyed: Vec<AclRule>,
    /// Who may NOTIFY us (secondary zones).
    pub allow_notify: Vec<AclRule>,
    /// Secondaries to NOTIFY on load and reload.
    pub notify: Vec<Remote>,
    /// Primaries: a non-empty list makes this a secondary zone.
    pub primaries: Vec<Remote>,
    /// Limits on transfers in (`[transfer-in]` with this zone's
    /// `transfer-*` keys on top).
    pub transfer_limits: TransferLimits,
}

fn key_name(s: &str, keys: &[levee_tsig::Key]) -> Result<String, String> {
    let n = levee_wire::name::from_text(s, Some(b"\x00")).map_err(|e| format!("bad key name '{s}': {e}"))?;
    if !keys.iter().any(|k| levee_wire::name::eq_ignore_case(&k.name, &n)) {
        return Err(format!("no [[key]] named '{s}'"));
    }
    Ok(s.to_string())
}

/// Parses `PREFIX`, `PREFIX key NAME` or `key NAME`.
pub fn parse_rule(s: &str, keys: &[levee_tsig::Key]) -> Result<AclRule, String> {
    let words: Vec<&str> = s.split_whitespace().collect();
    match words.as_slice() {
        [p] => Ok(AclRule { prefix: Some(parse_prefix(p)?), key: None, tls_client: None }),
        ["key", k] => Ok(AclRule { prefix: None, key: Some(key_name(k, keys)?), tls_client: None }),
        [p, "key", k] => {
            Ok(AclRule { prefix: Some(parse_prefix(p)?), key: Some(key_name(k, keys)?), tls_client: None })
        }
        _ => Err(format!("'{s}' is not PREFIX, 'PREFIX key NAME' or 'key NAME'")),
    }
}

/// Parses an `allow-transfer` rule: the forms of [`parse_rule`], each
/// optionally followed by `tls-client NAME`, or `tls-client NAME` alone
/// (from any address, signed or not, over TLS with a client certificate
/// valid for NAME).
pub fn parse_transfer_rule(s: &str, keys: &[levee_tsig::Key]) -> Result<AclRule, String> {
    let words: Vec<&str> = s.split_whitespace().collect();
    let [rest @ .., "tls-client", name] = words.as_slice() else { return parse_rule(s, keys) };
    if !cert_name_ok(name) {
        return Err(format!(
            "'{name}' (after tls-client) is not a host name or an address a certificate can be valid for"
        ));
    }
    let mut r = if rest.is_empty() {
        AclRule { prefix: None, key: None, tls_client: None }
    } else {
        parse_rule(&rest.join(" "), keys).map_err(|m| format!("{m}, optionally followed by 'tls-client NAME'"))?
    };
    r.tls_client = Some(name.trim_end_matches('.').to_ascii_lowercase());
    Ok(r)
}

/// Parses `ADDR[:PORT] [key NAME] [tls [NAME]]`. `tls` is for primaries
/// only (the caller refuses it for NOTIFY targets); the name it checks
/// the certificate for must be a DNS name or an address.
pub fn parse_remote(s: &str, keys: &[levee_tsig::Key]) -> Result<Remote, String> {
    let words: Vec<&str> = s.split_whitespace().collect();
    let form =
        || format!("'{s}' is not 'ADDRESS:PORT', followed by 'key NAME', 'tls' or 'tls NAME', or both in that order");
    let (a, rest) = words.split_first().ok_or_else(form)?;
    let (key, rest) = match rest {
        ["key", k, rest @ ..] => (Some(key_name(k, keys)?), rest),
        _ => (None, rest),
    };
    let addr = parse_listen(a)?;
    let tls = match rest {
        [] => None,
        ["tls"] => Some(addr.ip().to_string()),
        ["tls", n] => {
            if cert_name_ok(n) {
                Some(n.trim_end_matches('.').to_string())
            } else {
                return Err(format!("'{n}' (after tls) is not a host name or an address to check the certificate for"));
            }
        }
        _ => return Err(form()),
    };
    Ok(Remote { addr, key, tls, source: None })
}

/// A name a certificate can be checked for: an address, or a host name of
/// letters, digits, '-' and '.' (RFC 1123).
fn cert_name_ok(n: &str) -> bool {
    let n = n.trim_end_matches('.');
    n.parse::<std::net::IpAddr>().is_ok()
        || (!n.is_empty()
            && n.len() <= 253
            && n.split('.')
                .all(|l| !l.is_empty() && l.len() <= 63 && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')))
}

/// Lowers a `[[key]]`.
pub fn lower_key(k: &KeySpec) -> Result<levee_tsig::Key, (&'static str, String)> {
    let alg = levee_tsig::Algorithm::from_text(&k.algorithm).ok_or((
        "algorithm",
        format!(
            "'{}' is not one of hmac-md5, hmac-sha1, hmac-sha224, hmac-sha256, hmac-sha384, hmac-sha512",
            k.algorithm
        ),
    ))?;
    let secret = levee_tsig::decode_secret(&k.secret).ok_or(("secret", "not base64".to_string()))?;
    levee_tsig::Key::new(&k.name, alg, secret).ok_or(("name", format!("'{}' is not a domain name", k.name)))
}

/// An `allow-update` rule: who (the forms of `allow-transfer`) and, when
/// restricted, which names and types their updates may touch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpdateRule {
    /// Who: a prefix, a key, or both.
    pub who: AclRule,
    /// Names (presentation form, absolute) the update's records must be
    /// at or below; empty: any name in the zone.
    pub names: Vec<String>,
    /// Types the update's records may have; empty: any type.
    pub types: Vec<u16>,
}

/// Parses an `allow-update` rule of zone `zone`: `WHO [name NAME...]
/// [type TYPE...]`, WHO being `PREFIX`, `PREFIX key NAME` or `key NAME`.
/// Relative names are below the zone; every name must be inside it.
pub fn parse_update_rule(s: &str, zone: &str, keys: &[levee_tsig::Key]) -> Result<UpdateRule, String> {
    let words: Vec<&str> = s.split_whitespace().collect();
    let cut = words.iter().position(|w| *w == "name" || *w == "type").unwrap_or(words.len());
    if cut == 0 {
        return Err(format!("'{s}' names no client: start with PREFIX, 'PREFIX key NAME' or 'key NAME'"));
    }
    let who = parse_rule(&words[..cut].join(" "), keys)?;
    if matches!(words.last(), Some(&"name" | &"type")) {
        return Err(format!("'{s}' ends with an empty list"));
    }
    let (mut names, mut types) = (Vec::new(), Vec::new());
    let apex = levee_wire::name::from_text(zone, None).map_err(|e| format!("zone name: {e}"))?;
    let mut list = "";
    for w in &words[cut..] {
        match (*w, list) {
            ("name" | "type", _) => list = w,
            (n, "name") => {
                let wire = levee_wire::name::from_text(n, Some(apex.as_slice()))
                    .map_err(|e| format!("bad name '{n}' in '{s}': {e}"))?;
                if !levee_wire::name::is_subdomain(wire.as_slice(), apex.as_slice()) {
                    return Err(format!("name '{n}' in '{s}' is not inside zone {zone}"));
                }
                names.push(levee_wire::name::to_text(wire.as_slice()));
            }
            (ty, _) => {
                let code = levee_wire::rtype::type_from_text(ty.as_bytes())
                    .filter(|&c| !levee_wire::rtype::is_meta(c))
                    .ok_or_else(|| format!("'{ty}' in '{s}' is not a record type"))?;
                types.push(code);
            }
        }
    }
    Ok(UpdateRule { who, names, types })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transfer_rules_may_require_a_tls_client_name() {
        let r = parse_transfer_rule("tls-client Sec.Test.", &[]).unwrap();
        assert_eq!((r.prefix, r.key, r.tls_client.as_deref()), (None, None, Some("sec.test")));
        let r = parse_transfer_rule("192.0.2.0/24 tls-client sec.test", &[]).unwrap();
        assert!(r.prefix.is_some() && r.tls_client.is_some());
        assert!(parse_transfer_rule("tls-client bad_name!", &[]).is_err());
        assert!(parse_transfer_rule("tls-client", &[]).is_err());
        assert!(parse_rule("tls-client sec.test", &[]).is_err(), "not for allow-notify or allow-update");
        assert_eq!(parse_transfer_rule("192.0.2.1", &[]).unwrap().tls_client, None);
    }
}
