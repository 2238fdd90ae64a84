//! DNS cookies: RFC 7873 with RFC 9018 interoperable server cookies.
//!
//! A server cookie is 16 octets: version (1), three reserved octets (0),
//! a 32-bit timestamp (seconds, serial arithmetic), and an 8-octet
//! SipHash-2-4 of client cookie | version | reserved | timestamp | client
//! IP, keyed with a 16-octet secret. Servers that share the secret accept
//! each other's cookies; a second secret lets a rollover accept cookies
//! made with the previous one.

use std::hash::Hasher;
use std::net::IpAddr;

use siphasher::sip::SipHasher24;

/// Length of an RFC 9018 server cookie.
pub const SERVER_COOKIE_LEN: usize = 16;

/// How long a server cookie stays valid (RFC 9018 §4.3: one hour).
pub const LIFETIME: u32 = 3600;
/// How far in the future a timestamp may be (RFC 9018 §4.3: five minutes).
pub const MAX_SKEW: u32 = 300;
/// A cookie older than this is replaced by a fresh one in responses.
pub const REFRESH_AFTER: u32 = 1800;

/// The cookie secrets: the current one and, during a rollover, the
/// previous one (accepted, never used to make new cookies).
#[derive(Clone, Copy)]
pub struct Secrets {
    /// Makes and checks cookies.
    pub current: [u8; 16],
    /// Only checks cookies.
    pub previous: Option<[u8; 16]>,
}

/// Outcome of checking a server cookie.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Valid and recent: the client has proven its address.
    Valid,
    /// Valid but should be refreshed.
    ValidStale,
    /// Wrong hash, wrong version, wrong length, or expired.
    Invalid,
}

fn hash(secret: &[u8; 16], client: &[u8; 8], head: &[u8; 8], ip: IpAddr) -> [u8; 8] {
    let mut h = SipHasher24::new_with_key(secret);
    h.write(client);
    h.write(head);
    match ip {
        IpAddr::V4(a) => h.write(&a.octets()),
        IpAddr::V6(a) => h.write(&a.octets()),
    }
    h.finish().to_le_bytes()
}

/// Makes a server cookie for `client` at `ip` at time `now` (seconds).
pub fn make(secrets: &Secrets, client: &[u8; 8], ip: IpAddr, now: u32) -> [u8; SERVER_COOKIE_LEN] {
    let mut head = [0u8; 8];
    head[0] = 1;
    head[4..8].copy_from_slice(&now.to_be_bytes());
    let mut out = [0u8; SERVER_COOKIE_LEN];
    out[..8].copy_from_slice(&head);
    out[8..].copy_from_slice(&hash(&secrets.current, client, &head, ip));
    out
}

/// Checks a server cookie received with `client` from `ip` at `now`.
pub fn check(secrets: &Secrets, client: &[u8; 8], server: &[u8], ip: IpAddr, now: u32) -> Verdict {
    if server.len() != SERVER_COOKIE_LEN || server[0] != 1 {
        return Verdict::Invalid;
    }
    let mut head = [0u8; 8];
    head.copy_from_slice(&server[..8]);
    let ts = u32::from_be_bytes([head[4], head[5], head[6], head[7]]);
    let age = now.wrapping_sub(ts) as i32;
    if age > LIFETIME as i32 || age < -(MAX_SKEW as i32) {
        return Verdict::Invalid;
    }
    let ok = hash(&secrets.current, client, &head, ip) == server[8..]
        || secrets.previous.is_some_and(|p| hash(&p, client, &head, ip) == server[8..]);
    if !ok {
        Verdict::Invalid
    } else if age > REFRESH_AFTER as i32 {
        Verdict::ValidStale
    } else {
        Verdict::Valid
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Secrets = Secrets { current: [7; 16], previous: None };

    #[test]
    fn round_trip_and_expiry() {
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let c = [1, 2, 3, 4, 5, 6, 7, 8];
        let sc = make(&S, &c, ip, 1000);
        assert_eq!(check(&S, &c, &sc, ip, 1000), Verdict::Valid);
        assert_eq!(check(&S, &c, &sc, ip, 1000 + 2000), Verdict::ValidStale);
        assert_eq!(check(&S, &c, &sc, ip, 1000 + 3601), Verdict::Invalid);
        assert_eq!(check(&S, &c, &sc, "192.0.2.2".parse().unwrap(), 1000), Verdict::Invalid);
        assert_eq!(check(&S, &[0; 8], &sc, ip, 1000), Verdict::Invalid);
        assert_eq!(check(&S, &c, &sc, ip, 1000 - 301), Verdict::Invalid);
    }

    #[test]
    fn rollover_accepts_previous() {
        let ip: IpAddr = "2001:db8::1".parse().unwrap();
        let c = [9; 8];
        let old = Secrets { current: [1; 16], previous: None };
        let sc = make(&old, &c, ip, 50);
        let new = Secrets { current: [2; 16], previous: Some([1; 16]) };
        assert_eq!(check(&new, &c, &sc, ip, 60), Verdict::Valid);
        let newer = Secrets { current: [3; 16], previous: Some([2; 16]) };
        assert_eq!(check(&newer, &c, &sc, ip, 60), Verdict::Invalid);
    }

    #[test]
    fn interoperates_with_bind() {
        // Recorded from BIND 9.18 (cookie-algorithm siphash24, cookie-secret
        // e5e973e5a6b2a43f48e7dc849e37bfcf) answering `dig +cookie=2464c4abcf10c957`
        // from 127.0.0.1: server cookie 010000006b06b6e9d67334951808a290.
        let secret: [u8; 16] =
            [0xe5, 0xe9, 0x73, 0xe5, 0xa6, 0xb2, 0xa4, 0x3f, 0x48, 0xe7, 0xdc, 0x84, 0x9e, 0x37, 0xbf, 0xcf];
        let client = [0x24, 0x64, 0xc4, 0xab, 0xcf, 0x10, 0xc9, 0x57];
        let s = Secrets { current: secret, previous: None };
        let ip = "127.0.0.1".parse().unwrap();
        let sc = make(&s, &client, ip, 0x6b06b6e9);
        assert_eq!(sc, [0x01, 0, 0, 0, 0x6b, 0x06, 0xb6, 0xe9, 0xd6, 0x73, 0x34, 0x95, 0x18, 0x08, 0xa2, 0x90]);
        assert_eq!(check(&s, &client, &sc, ip, 0x6b06b6e9 + 10), Verdict::Valid);
    }
}
