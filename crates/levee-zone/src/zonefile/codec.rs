//! Base16, Base32hex (RFC 4648 §7, used by NSEC3) and Base64 codecs, in
//! both directions, without allocation beyond the output vector.

/// Decodes hex digits (whitespace already removed) and appends them to `out`.
pub fn hex_decode(s: &[u8], out: &mut Vec<u8>) -> Result<(), &'static str> {
    if s.len() % 2 != 0 {
        return Err("odd number of hex digits");
    }
    for pair in s.chunks_exact(2) {
        let hi = hex_val(pair[0]).ok_or("bad hex digit")?;
        let lo = hex_val(pair[1]).ok_or("bad hex digit")?;
        out.push(hi << 4 | lo);
    }
    Ok(())
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Upper-case hex text.
pub(crate) fn hex_encode(data: &[u8]) -> String {
    const D: &[u8; 16] = b"0123456789ABCDEF";
    let mut s = String::with_capacity(data.len() * 2);
    for b in data {
        s.push(D[(b >> 4) as usize] as char);
        s.push(D[(b & 15) as usize] as char);
    }
    s
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn b64_val(b: u8) -> Option<u8> {
    match b {
        b'A'..=b'Z' => Some(b - b'A'),
        b'a'..=b'z' => Some(b - b'a' + 26),
        b'0'..=b'9' => Some(b - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// Decodes Base64 (with padding) and appends to `out`.
pub(crate) fn base64_decode(s: &[u8], out: &mut Vec<u8>) -> Result<(), &'static str> {
    if s.len() % 4 != 0 {
        return Err("Base64 length is not a multiple of 4");
    }
    let n = s.len();
    for (ci, chunk) in s.chunks_exact(4).enumerate() {
        let last = (ci + 1) * 4 == n;
        let pad = chunk.iter().rev().take_while(|&&b| b == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return Err("bad Base64 padding");
        }
        let mut v: u32 = 0;
        for &b in &chunk[..4 - pad] {
            v = v << 6 | b64_val(b).ok_or("bad Base64 character")? as u32;
        }
        v <<= 6 * pad as u32;
        out.push((v >> 16) as u8);
        if pad < 2 {
            out.push((v >> 8) as u8);
        }
        if pad < 1 {
            out.push(v as u8);
        }
    }
    Ok(())
}

/// Base64 text with padding.
pub(crate) fn base64_encode(data: &[u8]) -> String {
    let mut s = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let v = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        s.push(B64[(v >> 18) as usize & 63] as char);
        s.push(B64[(v >> 12) as usize & 63] as char);
        s.push(if chunk.len() > 1 { B64[(v >> 6) as usize & 63] as char } else { '=' });
        s.push(if chunk.len() > 2 { B64[v as usize & 63] as char } else { '=' });
    }
    s
}

const B32HEX: &[u8; 32] = b"0123456789abcdefghijklmnopqrstuv";

fn b32_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'v' => Some(b - b'a' + 10),
        b'A'..=b'V' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes unpadded Base32hex (NSEC3 hashes) and appends to `out`.
pub(crate) fn base32hex_decode(s: &[u8], out: &mut Vec<u8>) -> Result<(), &'static str> {
    let s = s.strip_suffix(b"=").map_or(s, |_| {
        let n = s.iter().rev().take_while(|&&b| b == b'=').count();
        &s[..s.len() - n]
    });
    let mut acc: u64 = 0;
    let mut bits = 0;
    for &b in s {
        acc = acc << 5 | b32_val(b).ok_or("bad Base32hex character")? as u64;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    if bits >= 5 || (acc & ((1 << bits) - 1)) != 0 {
        return Err("bad Base32hex length or trailing bits");
    }
    Ok(())
}

/// Lower-case unpadded Base32hex.
pub(crate) fn base32hex_encode(data: &[u8]) -> String {
    let mut s = String::with_capacity(data.len().div_ceil(5) * 8);
    let mut acc: u64 = 0;
    let mut bits = 0;
    for &b in data {
        acc = acc << 8 | b as u64;
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            s.push(B32HEX[(acc >> bits) as usize & 31] as char);
        }
    }
    if bits > 0 {
        s.push(B32HEX[(acc << (5 - bits)) as usize & 31] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trip() {
        for data in [&b""[..], b"f", b"fo", b"foo", b"foob", b"fooba", b"foobar"] {
            let e = base64_encode(data);
            let mut d = Vec::new();
            base64_decode(e.as_bytes(), &mut d).unwrap();
            assert_eq!(d, data);
        }
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
        assert!(base64_decode(b"Zm9=vYmF", &mut Vec::new()).is_err());
    }

    #[test]
    fn base32hex_round_trip() {
        // RFC 4648 test vectors (lower case, no padding)
        for (data, text) in [(&b"f"[..], "co"), (b"fo", "cpng"), (b"foo", "cpnmu"), (b"foobar", "cpnmuoj1e8")] {
            assert_eq!(base32hex_encode(data), text);
            let mut d = Vec::new();
            base32hex_decode(text.as_bytes(), &mut d).unwrap();
            assert_eq!(d, data);
        }
    }
}
