//! The key store's file format, sans I/O: one private key per file.
//!
//! A key file is a PEM PKCS#8 private key (`-----BEGIN PRIVATE KEY-----`,
//! what OpenSSL and Knot DNS write and read: `openssl pkey -in FILE`
//! skips the lines before it, and Ed25519 keys are written as v1, RFC
//! 8410, see `key.rs`) preceded by comment lines that say whose key it is:
//!
//! ```text
//! # levee DNSSEC key
//! zone: example.com.
//! algorithm: 13
//! flags: 257
//! tag: 20326
//! created: 1796000000
//! -----BEGIN PRIVATE KEY-----
//! MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg...
//! -----END PRIVATE KEY-----
//! ```
//!
//! [`parse`] refuses a file whose key does not decode, does not match its
//! algorithm, or whose tag is not the tag of the key it holds (a file
//! edited or cut short): the caller names the file and refuses to start.
//! The caller writes the text with mode 0600 (`crates/levee/src/keys.rs`).

use crate::key::{Algorithm, Key};

/// A key read from a key file, with what the file says about it.
#[derive(Debug)]
pub struct KeyFile {
    /// The zone (text, absolute).
    pub zone: String,
    /// When the key was made (seconds since the epoch).
    pub created: u64,
    /// When it is published, signs, stops signing, goes
    /// ([`crate::rollover`]).
    pub timing: Timing,
    /// The key.
    pub key: Key,
}

/// A key's lifetime (seconds since the epoch; `None`: from the start, or
/// for ever). A key file without these lines is published and signs for
/// ever.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timing {
    /// In the DNSKEY RRset from then on.
    pub publish: Option<u64>,
    /// A KSK or CSK: its DNSKEY has reached every cache, it is offered
    /// to the parent by CDS and CDNSKEY from then on (until `submitted`).
    pub ready: Option<u64>,
    /// Signs from then on.
    pub active: Option<u64>,
    /// A KSK or CSK: the parent was seen serving its DS then (by the
    /// parent check or `levee ctl ds-seen`); its CDS and CDNSKEY leave.
    pub submitted: Option<u64>,
    /// Signs no more from then on.
    pub retire: Option<u64>,
    /// Out of the DNSKEY RRset (and its file deleted) from then on.
    pub remove: Option<u64>,
}

impl Timing {
    /// In the DNSKEY RRset at `now`.
    pub fn published(&self, now: u64) -> bool {
        self.publish.is_none_or(|t| t <= now) && self.remove.is_none_or(|t| now < t)
    }

    /// Signs at `now`: active and not retired, and not removed unless it
    /// retires later (an algorithm rollover's old keys sign after their
    /// DNSKEYs left; its new keys sign before theirs are published).
    pub fn signs(&self, now: u64) -> bool {
        self.active.is_none_or(|t| t <= now)
            && self.retire.is_none_or(|t| now < t)
            && (self.remove.is_none_or(|t| now < t) || self.retire.is_some_and(|r| r > self.remove.unwrap_or(0)))
    }

    /// Its file can go at `now`: removed from the DNSKEY RRset and not
    /// signing.
    pub fn gone(&self, now: u64) -> bool {
        self.remove.is_some_and(|t| t <= now) && self.retire.is_none_or(|t| t <= now)
    }

    /// Offered to the parent (CDS and CDNSKEY) at `now`: ready, its DS
    /// not yet seen at the parent, still published.
    pub fn offered(&self, now: u64) -> bool {
        self.ready.is_some_and(|t| t <= now) && self.submitted.is_none_or(|t| now < t) && self.published(now)
    }

    /// Waiting for the parent's DS at `now` (a rollover stops there).
    pub fn awaits_ds(&self) -> bool {
        self.ready.is_some() && self.submitted.is_none() && self.retire.is_none()
    }
}

/// The text of a key file for `key` of `zone` (text, absolute).
pub fn to_text(key: &Key, zone: &str, created: u64) -> String {
    to_text_timed(key, zone, created, &Timing::default())
}

/// [`to_text`] with the key's timing.
pub fn to_text_timed(key: &Key, zone: &str, created: u64, timing: &Timing) -> String {
    let mut s = format!(
        "# levee DNSSEC key: keep this file private (mode 0600)\nzone: {zone}\nalgorithm: {}\nflags: {}\ntag: {}\ncreated: {created}\n",
        key.algorithm().number(),
        key.flags(),
        key.tag()
    );
    for (k, v) in [
        ("publish", timing.publish),
        ("ready", timing.ready),
        ("active", timing.active),
        ("submitted", timing.submitted),
        ("retire", timing.retire),
        ("remove", timing.remove),
    ] {
        if let Some(t) = v {
            s.push_str(&format!("{k}: {t}\n"));
        }
    }
    s.push_str("-----BEGIN PRIVATE KEY-----\n");
    let b64 = base64(key.pkcs8());
    for line in b64.as_bytes().chunks(64) {
        s.push_str(std::str::from_utf8(line).unwrap_or_default());
        s.push('\n');
    }
    s.push_str("-----END PRIVATE KEY-----\n");
    s
}

/// Reads a key file's text. The error says what is wrong, never what
/// the key is.
pub fn parse(text: &str) -> Result<KeyFile, String> {
    let (mut zone, mut alg, mut flags, mut tag, mut created) = (None, None, None, None, 0u64);
    let mut timing = Timing::default();
    let mut b64 = String::new();
    let mut state = 0; // 0 header, 1 inside the PEM block, 2 after it
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        let n = i + 1;
        match state {
            0 if line == "-----BEGIN PRIVATE KEY-----" => state = 1,
            0 if line.is_empty() || line.starts_with('#') => {}
            0 => {
                let (k, v) = line.split_once(':').ok_or(format!("line {n}: expected `key: value`"))?;
                let v = v.trim();
                let bad = |what: &str| format!("line {n}: bad {what} `{v}`");
                match k.trim() {
                    "zone" => zone = Some(v.to_string()),
                    "algorithm" => alg = Some(Algorithm::from_name(v).ok_or_else(|| bad("algorithm"))?),
                    "flags" => flags = Some(v.parse::<u16>().map_err(|_| bad("flags"))?),
                    "tag" => tag = Some(v.parse::<u16>().map_err(|_| bad("tag"))?),
                    "created" => created = v.parse().map_err(|_| bad("created"))?,
                    "publish" => timing.publish = Some(v.parse().map_err(|_| bad("publish"))?),
                    "active" => timing.active = Some(v.parse().map_err(|_| bad("active"))?),
                    "ready" => timing.ready = Some(v.parse().map_err(|_| bad("ready"))?),
                    "submitted" => timing.submitted = Some(v.parse().map_err(|_| bad("submitted"))?),
                    "retire" => timing.retire = Some(v.parse().map_err(|_| bad("retire"))?),
                    "remove" => timing.remove = Some(v.parse().map_err(|_| bad("remove"))?),
                    other => return Err(format!("line {n}: unknown key `{other}`")),
                }
            }
            1 if line == "-----END PRIVATE KEY-----" => state = 2,
            1 => b64.push_str(line),
            _ if line.is_empty() => {}
            _ => return Err(format!("line {n}: text after the key")),
        }
    }
    if state != 2 {
        return Err("no complete PEM PRIVATE KEY block".into());
    }
    let zone = zone.ok_or("no `zone:` line")?;
    let alg = alg.ok_or("no `algorithm:` line")?;
    let flags = flags.ok_or("no `flags:` line")?;
    let der = unbase64(&b64).ok_or("the key is not valid base64")?;
    let key = Key::from_pkcs8(alg, flags, &der).map_err(|e| format!("{e}"))?;
    if let Some(t) = tag {
        if t != key.tag() {
            return Err(format!("the file says tag {t}, the key it holds has tag {}", key.tag()));
        }
    }
    Ok(KeyFile { zone, created, timing, key })
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for ch in data.chunks(3) {
        let n = (ch[0] as u32) << 16 | (*ch.get(1).unwrap_or(&0) as u32) << 8 | *ch.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= ch.len() {
                out.push(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn unbase64(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes() {
        let v = B64.iter().position(|&b| b == c)? as u32;
        acc = acc << 6 | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips() {
        for n in 0..20 {
            let d: Vec<u8> = (0..n).map(|i| (i * 37 + 5) as u8).collect();
            assert_eq!(unbase64(&base64(&d)).unwrap(), d);
        }
        assert_eq!(base64(b"Man"), "TWFu");
        assert_eq!(base64(b"Ma"), "TWE=");
    }

    #[test]
    fn a_key_file_round_trips_and_damage_is_refused() {
        let k = Key::generate(Algorithm::EcdsaP256Sha256, true).unwrap();
        let text = to_text(&k, "example.", 1_796_000_000);
        let back = parse(&text).unwrap();
        assert_eq!((back.zone.as_str(), back.created), ("example.", 1_796_000_000));
        assert_eq!(back.key.dnskey(), k.dnskey());
        // Every step of a rollover survives the file.
        let timing = Timing {
            publish: Some(1),
            ready: Some(2),
            active: Some(3),
            submitted: Some(4),
            retire: Some(5),
            remove: Some(6),
        };
        assert_eq!(parse(&to_text_timed(&k, "example.", 9, &timing)).unwrap().timing, timing);
        // A wrong tag, a cut-off key, a wrong algorithm: refused, and the
        // message carries no key material.
        let wrong_tag = text.replace(&format!("tag: {}", k.tag()), &format!("tag: {}", k.tag() ^ 1));
        assert!(parse(&wrong_tag).unwrap_err().contains("tag"));
        let cut: String = text.lines().take(8).map(|l| format!("{l}\n")).collect();
        assert!(parse(&cut).is_err());
        let wrong_alg = text.replace("algorithm: 13", "algorithm: 15");
        let e = parse(&wrong_alg).unwrap_err();
        assert!(!e.contains(&base64(&k.pkcs8()[..12])), "{e}");
        assert!(parse("zone: x.\n").is_err());
    }
}
