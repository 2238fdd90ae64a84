//! SVCB and HTTPS RDATA (RFC 9460): `PRIORITY TARGET key=value ...`.

use crate::zonefile::codec;
use crate::zonefile::fields::{decode_text, parse_number, FResult, Fields};

const KEYS: &[(&str, u16)] = &[
    ("mandatory", 0),
    ("alpn", 1),
    ("no-default-alpn", 2),
    ("port", 3),
    ("ipv4hint", 4),
    ("ech", 5),
    ("ipv6hint", 6),
    ("dohpath", 7),
    ("ohttp", 8),
];

/// The name of a SvcParamKey (`keyNNNN` for unnamed ones).
pub(crate) fn key_name(k: u16) -> String {
    KEYS.iter().find(|(_, v)| *v == k).map_or_else(|| format!("key{k}"), |(n, _)| n.to_string())
}

fn key_from(t: &[u8]) -> FResult<u16> {
    if let Some(n) = KEYS.iter().find(|(n, _)| n.as_bytes() == t) {
        return Ok(n.1);
    }
    if let Some(d) = t.strip_prefix(b"key") {
        if let Some(v) = parse_number(d, 65535) {
            if v == 65535 {
                return Err("SvcParamKey 65535 is reserved".into());
            }
            return Ok(v as u16);
        }
    }
    Err(format!("unknown SvcParamKey '{}'", String::from_utf8_lossy(t)))
}

/// Splits a value-list on commas that are not escaped, decoding escapes.
fn value_list(v: &[u8]) -> FResult<Vec<Vec<u8>>> {
    let mut items = Vec::new();
    let mut cur = Vec::new();
    let mut i = 0;
    while i < v.len() {
        match v[i] {
            b'\\' => {
                let (b, used) = levee_wire::name::unescape(&v[i..]).map_err(|_| "bad escape".to_string())?;
                cur.push(b);
                i += used;
            }
            b',' => {
                items.push(std::mem::take(&mut cur));
                i += 1;
            }
            b => {
                cur.push(b);
                i += 1;
            }
        }
    }
    items.push(cur);
    Ok(items)
}

/// Parses the SVCB/HTTPS fields after the type.
pub(crate) fn parse(f: &mut Fields<'_>, out: &mut Vec<u8>) -> FResult<()> {
    out.extend_from_slice(&f.u16("SvcPriority")?.to_be_bytes());
    let target = f.name()?;
    out.extend_from_slice(&target);
    let mut params: Vec<(u16, Vec<u8>)> = Vec::new();
    while !f.done() {
        let (tok, quoted) = f.next_tok()?;
        if quoted {
            return Err("unexpected quoted string in SvcParams".into());
        }
        let (key, value): (&[u8], Option<Vec<u8>>) = match tok.iter().position(|&b| b == b'=') {
            None => (tok, None),
            Some(eq) => {
                let k = &tok[..eq];
                let rest = &tok[eq + 1..];
                if rest.is_empty() {
                    // `key="value"`: the lexer split the quoted part off.
                    match f.peek() {
                        Some((v, true)) => {
                            f.next()?;
                            (k, Some(v.to_vec()))
                        }
                        _ => (k, Some(Vec::new())),
                    }
                } else {
                    (k, Some(rest.to_vec()))
                }
            }
        };
        let k = key_from(key)?;
        if params.iter().any(|(p, _)| *p == k) {
            return Err(format!("duplicate SvcParamKey {}", key_name(k)));
        }
        let need = |v: &Option<Vec<u8>>| -> FResult<Vec<u8>> {
            match v {
                Some(v) if !v.is_empty() => Ok(v.clone()),
                _ => Err(format!("SvcParam {} needs a value", key_name(k))),
            }
        };
        let mut w = Vec::new();
        match k {
            0 => {
                let mut keys = Vec::new();
                for item in value_list(&need(&value)?)? {
                    keys.push(key_from(&item)?);
                }
                keys.sort_unstable();
                if keys.windows(2).any(|p| p[0] == p[1]) {
                    return Err("duplicate key in mandatory".into());
                }
                for k in keys {
                    w.extend_from_slice(&k.to_be_bytes());
                }
            }
            1 => {
                for item in value_list(&need(&value)?)? {
                    if item.is_empty() || item.len() > 255 {
                        return Err("bad alpn-id".into());
                    }
                    w.push(item.len() as u8);
                    w.extend_from_slice(&item);
                }
            }
            2 | 8 => {
                if value.as_ref().is_some_and(|v| !v.is_empty()) {
                    return Err(format!("SvcParam {} takes no value", key_name(k)));
                }
            }
            3 => {
                let v = need(&value)?;
                let p = parse_number(&v, 65535).ok_or("bad port")?;
                w.extend_from_slice(&(p as u16).to_be_bytes());
            }
            4 => {
                for item in value_list(&need(&value)?)? {
                    let a: std::net::Ipv4Addr =
                        std::str::from_utf8(&item).ok().and_then(|s| s.parse().ok()).ok_or("bad ipv4hint")?;
                    w.extend_from_slice(&a.octets());
                }
            }
            6 => {
                for item in value_list(&need(&value)?)? {
                    let a: std::net::Ipv6Addr =
                        std::str::from_utf8(&item).ok().and_then(|s| s.parse().ok()).ok_or("bad ipv6hint")?;
                    w.extend_from_slice(&a.octets());
                }
            }
            5 => {
                codec::base64_decode(&need(&value)?, &mut w).map_err(|e| format!("ech: {e}"))?;
            }
            _ => {
                if let Some(v) = &value {
                    decode_text(v, &mut w)?;
                }
            }
        }
        if w.len() > 65535 {
            return Err("SvcParam value too long".into());
        }
        params.push((k, w));
    }
    params.sort_by_key(|p| p.0);
    for (k, v) in params {
        out.extend_from_slice(&k.to_be_bytes());
        out.extend_from_slice(&(v.len() as u16).to_be_bytes());
        out.extend_from_slice(&v);
    }
    Ok(())
}
