//! Parsers of single values, written in the file or on the command line:
//! listen addresses, address prefixes, zone names, cookie secrets; and the
//! defaults read from the system (the host name, the version string).
//!
//! They depend on nothing else in the crate. An error is a message that
//! does not name the key: the caller knows which key (or flag) it read and
//! adds it (`server.listen[1]`, `--allow-transfer`, ...).

use std::net::{IpAddr, SocketAddr};

/// Parses `ADDR:PORT`, `[V6]:PORT`, or a bare address (port 53).
pub fn parse_listen(s: &str) -> Result<SocketAddr, String> {
    if let Ok(a) = s.parse::<SocketAddr>() {
        return Ok(a);
    }
    if let Ok(ip) = s.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, 53));
    }
    Err(format!("'{s}' is not ADDRESS:PORT (e.g. 127.0.0.1:53 or [::1]:53)"))
}

/// Parses `ADDR` or `ADDR/LEN`.
pub fn parse_prefix(s: &str) -> Result<(IpAddr, u8), String> {
    let (a, l) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (s, None),
    };
    let ip: IpAddr = a.parse().map_err(|_| format!("'{s}' is not an IP address or prefix"))?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let len = match l {
        None => max,
        Some(l) => l.parse::<u8>().ok().filter(|&v| v <= max).ok_or_else(|| format!("'{s}': bad prefix length"))?,
    };
    Ok((ip, len))
}

/// Makes a zone name absolute (`example.com` → `example.com.`) and checks it.
pub fn normalize_zone_name(s: &str) -> Result<String, String> {
    if s.is_empty() {
        return Err("empty zone name".into());
    }
    let abs = if s.ends_with('.') { s.to_string() } else { format!("{s}.") };
    if abs != "." && (abs.contains("..") || abs.starts_with('.')) {
        return Err(format!("'{s}' is not a valid zone name"));
    }
    Ok(abs)
}

/// Decodes 32 hex digits into a cookie secret.
pub fn parse_secret(s: &str) -> Result<[u8; 16], String> {
    let s = s.trim();
    if s.len() != 32 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("must be 32 hex digits (16 octets)".into());
    }
    let mut out = [0u8; 16];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).map_err(|e| e.to_string())?;
    }
    Ok(out)
}

/// Checks the shape of a network interface name (what Linux accepts: 1 to
/// 15 octets, no '/', no whitespace, not "." or "..").
pub fn check_interface(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 15 || name == "." || name == ".." {
        return Err(format!("{name:?} is not an interface name (1 to 15 characters)"));
    }
    if name.chars().any(|c| c == '/' || c == ':' || c.is_whitespace() || c.is_control()) {
        return Err(format!("{name:?} is not an interface name (no '/', ':' or spaces)"));
    }
    Ok(())
}

/// The default version string.
pub fn default_version() -> String {
    format!("levee {}", env!("CARGO_PKG_VERSION"))
}

/// The host name (for the default identity).
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into())
}
