//! # levee-tsig: transaction signatures (RFC 8945)
//!
//! Pure functions over message bytes: no clock (time is a parameter), no
//! I/O. Used by the answering stage (verify requests, sign responses and
//! every message of an outgoing transfer) and by the secondary side (sign
//! requests, verify responses and incoming multi-message transfers).
//!
//! * [`Algorithm`]: hmac-md5, hmac-sha1, hmac-sha224, hmac-sha256,
//!   hmac-sha384, hmac-sha512 (RFC 8945 §6).
//! * [`Key`] / [`KeyRing`]: named secrets from the configuration.
//! * [`parse`]: finds the TSIG record of a message (it must be last).
//! * [`verify`]: checks a request or the first message of a response.
//! * [`sign`]: appends a TSIG record (full variables or timers only).
//! * [`StreamVerifier`]: checks a multi-message response where not every
//!   message need be signed (§5.3.1: at least every 100th).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use core::fmt;

use hmac::{Hmac, Mac as _};
use levee_wire::header::HEADER_LEN;
use levee_wire::name::{self, NameBuf};

/// The TSIG record type.
pub const TYPE_TSIG: u16 = 250;
/// Class ANY, the TSIG record's class.
const CLASS_ANY: u16 = 255;
/// The fudge levee puts in what it signs (seconds), as BIND and Knot do.
pub const FUDGE: u16 = 300;
/// Most messages of a transfer that may go unsigned in a row (§5.3.1).
pub const MAX_UNSIGNED: usize = 99;

/// TSIG error codes (RFC 8945 §3 and the IANA registry).
pub mod err {
    /// Bad signature.
    pub const BADSIG: u16 = 16;
    /// Unknown key or algorithm.
    pub const BADKEY: u16 = 17;
    /// Time outside the fudge.
    pub const BADTIME: u16 = 18;
    /// MAC truncated below the local minimum.
    pub const BADTRUNC: u16 = 22;
}

/// HMAC algorithms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    /// hmac-md5.sig-alg.reg.int.
    HmacMd5,
    /// hmac-sha1.
    HmacSha1,
    /// hmac-sha224.
    HmacSha224,
    /// hmac-sha256.
    HmacSha256,
    /// hmac-sha384.
    HmacSha384,
    /// hmac-sha512.
    HmacSha512,
}

const ALGS: [(Algorithm, &str, &[u8]); 6] = [
    (Algorithm::HmacMd5, "hmac-md5", b"\x08hmac-md5\x07sig-alg\x03reg\x03int\x00"),
    (Algorithm::HmacSha1, "hmac-sha1", b"\x09hmac-sha1\x00"),
    (Algorithm::HmacSha224, "hmac-sha224", b"\x0bhmac-sha224\x00"),
    (Algorithm::HmacSha256, "hmac-sha256", b"\x0bhmac-sha256\x00"),
    (Algorithm::HmacSha384, "hmac-sha384", b"\x0bhmac-sha384\x00"),
    (Algorithm::HmacSha512, "hmac-sha512", b"\x0bhmac-sha512\x00"),
];

impl Algorithm {
    /// From the configuration's name (`hmac-sha256`, case-insensitive;
    /// `hmac-md5.sig-alg.reg.int` is accepted too).
    pub fn from_text(s: &str) -> Option<Algorithm> {
        let s = s.trim_end_matches('.');
        let s = if s.eq_ignore_ascii_case("hmac-md5.sig-alg.reg.int") { "hmac-md5" } else { s };
        ALGS.iter().find(|(_, n, _)| n.eq_ignore_ascii_case(s)).map(|a| a.0)
    }

    /// From the algorithm name in a TSIG record (wire form, any case).
    pub fn from_wire(n: &[u8]) -> Option<Algorithm> {
        ALGS.iter().find(|(_, _, w)| name::eq_ignore_case(w, n)).map(|a| a.0)
    }

    /// The name in configuration form.
    pub fn text(self) -> &'static str {
        ALGS.iter().find(|a| a.0 == self).map_or("", |a| a.1)
    }

    /// The name in wire form (lowercase, uncompressed).
    pub fn wire(self) -> &'static [u8] {
        ALGS.iter().find(|a| a.0 == self).map_or(b"\x00", |a| a.2)
    }

    /// Full MAC length in octets.
    pub fn mac_len(self) -> usize {
        match self {
            Algorithm::HmacMd5 => 16,
            Algorithm::HmacSha1 => 20,
            Algorithm::HmacSha224 => 28,
            Algorithm::HmacSha256 => 32,
            Algorithm::HmacSha384 => 48,
            Algorithm::HmacSha512 => 64,
        }
    }
}

/// A TSIG key.
#[derive(Clone, PartialEq, Eq)]
pub struct Key {
    /// The key name, lowercase wire form.
    pub name: NameBuf,
    /// The algorithm.
    pub alg: Algorithm,
    /// The shared secret.
    pub secret: Vec<u8>,
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the secret.
        write!(f, "Key({} {})", name::to_text(&self.name), self.alg.text())
    }
}

impl Key {
    /// A key from a name in presentation form, an algorithm and a secret.
    pub fn new(name_text: &str, alg: Algorithm, secret: Vec<u8>) -> Option<Key> {
        let n = name::from_text(name_text, Some(b"\x00")).ok()?;
        Some(Key { name: name::to_lowercase(&n), alg, secret })
    }

    /// Room a TSIG record signed with this key takes (owner, fixed fields,
    /// algorithm, MAC, 6 octets of other data for BADTIME).
    pub fn record_len(&self) -> usize {
        self.name.len() + 10 + self.alg.wire().len() + 16 + self.alg.mac_len() + 6
    }

    /// The exact length of a TSIG record signed with this key with
    /// `other` octets of other data (0, or 6 for BADTIME's time): what
    /// EDNS padding reserves so that the signed message is the multiple.
    pub fn signed_len(&self, other: usize) -> usize {
        self.name.len() + 10 + self.alg.wire().len() + 16 + self.alg.mac_len() + other
    }
}

/// The configured keys.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyRing {
    keys: Vec<Key>,
}

impl KeyRing {
    /// An empty ring.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a key (a key with the same name is replaced).
    pub fn add(&mut self, k: Key) {
        self.keys.retain(|o| o.name != k.name);
        self.keys.push(k);
    }

    /// The key named `n` (wire, any case).
    pub fn find(&self, n: &[u8]) -> Option<&Key> {
        self.keys.iter().find(|k| name::eq_ignore_case(&k.name, n))
    }

    /// True if no key is configured.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// A MAC value (up to 64 octets).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct MacBuf {
    buf: [u8; 64],
    len: u8,
}

impl MacBuf {
    /// From octets (at most 64 are kept).
    pub fn from_slice(s: &[u8]) -> MacBuf {
        let mut m = MacBuf { buf: [0; 64], len: s.len().min(64) as u8 };
        m.buf[..m.len as usize].copy_from_slice(&s[..m.len as usize]);
        m
    }

    /// The octets.
    pub fn as_slice(&self) -> &[u8] {
        &self.buf[..self.len as usize]
    }
}

impl fmt::Debug for MacBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MacBuf({} octets)", self.len)
    }
}

/// Why a message fails TSIG.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The TSIG record cannot be read (FORMERR).
    Malformed,
    /// Unknown key name, or the key's algorithm differs (BADKEY).
    BadKey,
    /// The MAC does not match (BADSIG).
    BadSig,
    /// The time signed is outside the fudge (BADTIME).
    BadTime,
    /// The MAC is truncated below max(10, half) octets (§5.2.2.1).
    BadTrunc,
    /// A message that should be signed is not (a response, or more than
    /// 99 unsigned messages in a row).
    Unsigned,
    /// The response's TSIG carries an error code from the peer.
    PeerError(u16),
}

impl Error {
    /// The TSIG error code to answer with (0 for FORMERR cases).
    pub fn code(self) -> u16 {
        match self {
            Error::BadKey => err::BADKEY,
            Error::BadSig => err::BADSIG,
            Error::BadTime => err::BADTIME,
            Error::BadTrunc => err::BADTRUNC,
            Error::PeerError(e) => e,
            Error::Malformed | Error::Unsigned => 0,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Malformed => f.write_str("malformed TSIG record"),
            Error::BadKey => f.write_str("unknown key or algorithm (BADKEY)"),
            Error::BadSig => f.write_str("bad signature (BADSIG)"),
            Error::BadTime => f.write_str("time signed outside the fudge (BADTIME)"),
            Error::BadTrunc => f.write_str("MAC truncated too much (BADTRUNC)"),
            Error::Unsigned => f.write_str("message not signed"),
            Error::PeerError(e) => write!(f, "peer answered with TSIG error {e}"),
        }
    }
}

impl std::error::Error for Error {}

/// A TSIG record read from a message.
#[derive(Clone, Debug)]
pub struct Record<'a> {
    /// Offset of the record in the message.
    pub start: usize,
    /// Key name (as sent).
    pub key: NameBuf,
    /// Algorithm name (as sent).
    pub alg: NameBuf,
    /// Time signed (48 bits).
    pub time: u64,
    /// Fudge.
    pub fudge: u16,
    /// The MAC.
    pub mac: &'a [u8],
    /// The original message ID.
    pub orig_id: u16,
    /// The TSIG error.
    pub error: u16,
    /// Other data.
    pub other: &'a [u8],
}

/// Finds and reads the TSIG record of `msg` (the last record of the
/// additional section). `Ok(None)` if the message has none.
pub fn parse(msg: &[u8]) -> Result<Option<Record<'_>>, Error> {
    if msg.len() < HEADER_LEN {
        return Err(Error::Malformed);
    }
    let cnt = |i: usize| u16::from_be_bytes([msg[i], msg[i + 1]]) as usize;
    let (qd, an, ns, ar) = (cnt(4), cnt(6), cnt(8), cnt(10));
    if ar == 0 {
        return Ok(None);
    }
    let mut pos = HEADER_LEN;
    for _ in 0..qd {
        pos = name::skip_compressed(msg, pos).map_err(|_| Error::Malformed)? + 4;
    }
    let total = an + ns + ar;
    for i in 0..total {
        let start = pos;
        let p = name::skip_compressed(msg, pos).map_err(|_| Error::Malformed)?;
        let f = msg.get(p..p + 10).ok_or(Error::Malformed)?;
        let rtype = u16::from_be_bytes([f[0], f[1]]);
        let rdlen = u16::from_be_bytes([f[8], f[9]]) as usize;
        let rd = p + 10;
        let end = rd + rdlen;
        if end > msg.len() {
            return Err(Error::Malformed);
        }
        if rtype == TYPE_TSIG {
            if i + 1 != total {
                return Err(Error::Malformed);
            }
            return read_record(msg, start, rd, end).map(Some);
        }
        pos = end;
    }
    Ok(None)
}

fn read_record(msg: &[u8], start: usize, rd: usize, end: usize) -> Result<Record<'_>, Error> {
    let mut key = NameBuf::root();
    name::read_compressed(msg, start, &mut key).map_err(|_| Error::Malformed)?;
    let mut alg = NameBuf::root();
    let p = name::read_compressed(msg, rd, &mut alg).map_err(|_| Error::Malformed)?;
    let g = |a: usize, b: usize| msg.get(a..b).filter(|_| b <= end).ok_or(Error::Malformed);
    let t = g(p, p + 8)?;
    let time = u64::from_be_bytes([0, 0, t[0], t[1], t[2], t[3], t[4], t[5]]);
    let fudge = u16::from_be_bytes([t[6], t[7]]);
    let ml = g(p + 8, p + 10)?;
    let mac_len = u16::from_be_bytes([ml[0], ml[1]]) as usize;
    let mac = g(p + 10, p + 10 + mac_len)?;
    let q = p + 10 + mac_len;
    let f = g(q, q + 6)?;
    let orig_id = u16::from_be_bytes([f[0], f[1]]);
    let error = u16::from_be_bytes([f[2], f[3]]);
    let ol = u16::from_be_bytes([f[4], f[5]]) as usize;
    let other = g(q + 6, q + 6 + ol)?;
    if q + 6 + ol != end {
        return Err(Error::Malformed);
    }
    Ok(Record { start, key, alg, time, fudge, mac, orig_id, error, other })
}

/// A running HMAC of one of the algorithms.
#[derive(Clone)]
enum Mac {
    Md5(Hmac<md5::Md5>),
    Sha1(Hmac<sha1::Sha1>),
    Sha224(Hmac<sha2::Sha224>),
    Sha256(Hmac<sha2::Sha256>),
    Sha384(Hmac<sha2::Sha384>),
    Sha512(Hmac<sha2::Sha512>),
}

impl Mac {
    fn new(key: &Key) -> Mac {
        // HMAC accepts keys of any length, so new_from_slice cannot fail.
        let s = &key.secret;
        match key.alg {
            Algorithm::HmacMd5 => Mac::Md5(Hmac::new_from_slice(s).expect("any key length")),
            Algorithm::HmacSha1 => Mac::Sha1(Hmac::new_from_slice(s).expect("any key length")),
            Algorithm::HmacSha224 => Mac::Sha224(Hmac::new_from_slice(s).expect("any key length")),
            Algorithm::HmacSha256 => Mac::Sha256(Hmac::new_from_slice(s).expect("any key length")),
            Algorithm::HmacSha384 => Mac::Sha384(Hmac::new_from_slice(s).expect("any key length")),
            Algorithm::HmacSha512 => Mac::Sha512(Hmac::new_from_slice(s).expect("any key length")),
        }
    }

    fn update(&mut self, d: &[u8]) {
        match self {
            Mac::Md5(m) => m.update(d),
            Mac::Sha1(m) => m.update(d),
            Mac::Sha224(m) => m.update(d),
            Mac::Sha256(m) => m.update(d),
            Mac::Sha384(m) => m.update(d),
            Mac::Sha512(m) => m.update(d),
        }
    }

    fn finish(self) -> MacBuf {
        match self {
            Mac::Md5(m) => MacBuf::from_slice(&m.finalize().into_bytes()),
            Mac::Sha1(m) => MacBuf::from_slice(&m.finalize().into_bytes()),
            Mac::Sha224(m) => MacBuf::from_slice(&m.finalize().into_bytes()),
            Mac::Sha256(m) => MacBuf::from_slice(&m.finalize().into_bytes()),
            Mac::Sha384(m) => MacBuf::from_slice(&m.finalize().into_bytes()),
            Mac::Sha512(m) => MacBuf::from_slice(&m.finalize().into_bytes()),
        }
    }

    /// Prior MAC (request MAC or previous message's MAC) with its length.
    fn prior(&mut self, prior: &[u8]) {
        self.update(&(prior.len() as u16).to_be_bytes());
        self.update(prior);
    }

    /// The message without its TSIG record, ARCOUNT decremented, the
    /// original ID restored.
    fn message(&mut self, msg: &[u8], tsig_start: usize, orig_id: u16) {
        let mut h = [0u8; HEADER_LEN];
        h.copy_from_slice(&msg[..HEADER_LEN]);
        h[..2].copy_from_slice(&orig_id.to_be_bytes());
        let ar = u16::from_be_bytes([h[10], h[11]]).wrapping_sub(1);
        h[10..12].copy_from_slice(&ar.to_be_bytes());
        self.update(&h);
        self.update(&msg[HEADER_LEN..tsig_start]);
    }

    fn variables(&mut self, key: &Key, time: u64, fudge: u16, error: u16, other: &[u8]) {
        self.update(&key.name);
        self.update(&CLASS_ANY.to_be_bytes());
        self.update(&0u32.to_be_bytes());
        self.update(key.alg.wire());
        self.timers(time, fudge);
        self.update(&error.to_be_bytes());
        self.update(&(other.len() as u16).to_be_bytes());
        self.update(other);
    }

    fn timers(&mut self, time: u64, fudge: u16) {
        self.update(&time.to_be_bytes()[2..]);
        self.update(&fudge.to_be_bytes());
    }
}

fn mac_equal(a: &[u8], b: &[u8]) -> bool {
    // Constant time in the length compared.
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// What a successful verification found.
#[derive(Clone, Debug)]
pub struct Verified<'k> {
    /// The key used.
    pub key: &'k Key,
    /// The MAC of the message (the "request MAC" for the response).
    pub mac: MacBuf,
    /// Time signed.
    pub time: u64,
}

/// A verification failure with what an error response needs.
#[derive(Clone, Debug)]
pub struct Failure<'k> {
    /// What is wrong.
    pub error: Error,
    /// The key, when it is known (BADTIME responses are signed with it).
    pub key: Option<&'k Key>,
    /// The request's MAC, when the key is known and the MAC matched.
    pub mac: Option<MacBuf>,
}

/// Verifies the TSIG record `rec` of `msg`: a request (`prior` = None) or
/// the first message of a response (`prior` = the request's MAC). `now`
/// is the current time in seconds since the epoch.
pub fn verify<'k>(
    msg: &[u8],
    rec: &Record<'_>,
    keys: &'k KeyRing,
    prior: Option<&[u8]>,
    now: u64,
) -> Result<Verified<'k>, Failure<'k>> {
    let fail = |error, key, mac| Failure { error, key, mac };
    let Some(key) = keys.find(&rec.key) else { return Err(fail(Error::BadKey, None, None)) };
    if Algorithm::from_wire(&rec.alg) != Some(key.alg) {
        return Err(fail(Error::BadKey, None, None));
    }
    let full = key.alg.mac_len();
    if rec.mac.len() > full {
        return Err(fail(Error::Malformed, None, None));
    }
    let mut m = Mac::new(key);
    if let Some(p) = prior {
        m.prior(p);
    }
    m.message(msg, rec.start, rec.orig_id);
    m.variables(key, rec.time, rec.fudge, rec.error, rec.other);
    let mac = m.finish();
    if rec.mac.len() < full && rec.mac.len() < (full / 2).max(10) {
        // Too short to be a MAC (RFC 8945 §5.2.2.1): FORMERR, or BADSIG
        // when it is empty (an error response from a peer).
        let e = if rec.mac.is_empty() { Error::BadSig } else { Error::Malformed };
        return Err(fail(e, None, None));
    }
    if !mac_equal(&mac.as_slice()[..rec.mac.len()], rec.mac) {
        return Err(fail(Error::BadSig, None, None));
    }
    if now.abs_diff(rec.time) > rec.fudge as u64 {
        return Err(fail(Error::BadTime, Some(key), Some(MacBuf::from_slice(rec.mac))));
    }
    if rec.mac.len() < full {
        // Accepted, but we answer with the full MAC.
    }
    Ok(Verified { key, mac: MacBuf::from_slice(rec.mac), time: rec.time })
}

/// What to sign.
#[derive(Clone, Copy, Debug)]
pub struct SignParams<'a> {
    /// Time signed.
    pub time: u64,
    /// Fudge.
    pub fudge: u16,
    /// The prior MAC: the request's (for a response) or the previous
    /// signed message's (for later messages of a transfer).
    pub prior: Option<&'a [u8]>,
    /// Only the timers, not the full variables (messages after the first
    /// of a multi-message response, §5.3.1).
    pub timers_only: bool,
    /// TSIG error.
    pub error: u16,
    /// Other data (the server's time with BADTIME).
    pub other: &'a [u8],
    /// Leave the MAC empty (BADKEY/BADSIG responses are unsigned).
    pub unsigned: bool,
    /// Digest the unsigned messages since the last signed one first
    /// (receiver side only; empty when signing every message).
    pub unsigned_before: &'a [&'a [u8]],
}

impl SignParams<'_> {
    /// A request or a first response message at `time`.
    pub fn at(time: u64) -> SignParams<'static> {
        SignParams {
            time,
            fudge: FUDGE,
            prior: None,
            timers_only: false,
            error: 0,
            other: &[],
            unsigned: false,
            unsigned_before: &[],
        }
    }
}

/// The other data of a BADTIME response: the server's time, 48 bits
/// (RFC 8945 §5.2.3).
pub fn time_other(now: u64) -> [u8; 6] {
    let t = now.to_be_bytes();
    [t[2], t[3], t[4], t[5], t[6], t[7]]
}

/// Room for the RDATA of an unsigned error TSIG: the longest algorithm
/// name and 18 octets of fixed fields.
pub const ERROR_RDATA_MAX: usize = name::MAX_NAME_LEN + 18;

/// The RDATA of the unsigned TSIG record that answers the request whose
/// record is `rec` with `error` (BADKEY, BADSIG: RFC 8945 §5.2.1,
/// §5.2.2): the request's algorithm, time signed, fudge and original ID,
/// an empty MAC and no other data. Written into `out`; returns its
/// length. (The record's owner is the request's key name, its class ANY
/// and its TTL 0.)
pub fn unsigned_error_rdata(rec: &Record<'_>, error: Error, out: &mut [u8; ERROR_RDATA_MAX]) -> usize {
    let mut n = 0;
    let time = rec.time.to_be_bytes();
    for part in [
        rec.alg.as_slice(),
        &time[2..],
        &rec.fudge.to_be_bytes(),
        &[0, 0],
        &rec.orig_id.to_be_bytes(),
        &error.code().to_be_bytes(),
        &[0, 0],
    ] {
        out[n..n + part.len()].copy_from_slice(part);
        n += part.len();
    }
    n
}

/// Appends a TSIG record for `key` to the message `buf[..len]` and
/// increments ARCOUNT. Returns the new length and the MAC, or `None`
/// when `buf` has no room. The message ID is the original ID.
pub fn sign(buf: &mut [u8], len: usize, key: &Key, p: &SignParams<'_>) -> Option<(usize, MacBuf)> {
    if len < HEADER_LEN || len > buf.len() {
        return None;
    }
    let orig_id = u16::from_be_bytes([buf[0], buf[1]]);
    let mac = if p.unsigned {
        MacBuf::from_slice(&[])
    } else {
        let mut m = Mac::new(key);
        if let Some(pr) = p.prior {
            m.prior(pr);
        }
        m.update(&buf[..len]);
        if p.timers_only {
            m.timers(p.time, p.fudge);
        } else {
            m.variables(key, p.time, p.fudge, p.error, p.other);
        }
        m.finish()
    };
    let alg = key.alg.wire();
    let rdlen = alg.len() + 16 + mac.as_slice().len() + p.other.len();
    let total = key.name.len() + 10 + rdlen;
    if len + total > buf.len() || rdlen > 65535 {
        return None;
    }
    let mut w = len;
    let mut put = |d: &[u8]| {
        buf[w..w + d.len()].copy_from_slice(d);
        w += d.len();
    };
    put(&key.name);
    put(&TYPE_TSIG.to_be_bytes());
    put(&CLASS_ANY.to_be_bytes());
    put(&0u32.to_be_bytes());
    put(&(rdlen as u16).to_be_bytes());
    put(alg);
    put(&p.time.to_be_bytes()[2..]);
    put(&p.fudge.to_be_bytes());
    put(&(mac.as_slice().len() as u16).to_be_bytes());
    put(mac.as_slice());
    put(&orig_id.to_be_bytes());
    put(&p.error.to_be_bytes());
    put(&(p.other.len() as u16).to_be_bytes());
    put(p.other);
    let ar = u16::from_be_bytes([buf[10], buf[11]]).wrapping_add(1);
    buf[10..12].copy_from_slice(&ar.to_be_bytes());
    Some((w, mac))
}

/// Signs `msg` (a `Vec`), growing it.
pub fn sign_vec(msg: &mut Vec<u8>, key: &Key, p: &SignParams<'_>) -> MacBuf {
    let len = msg.len();
    msg.resize(len + key.record_len() + p.other.len(), 0);
    let (n, mac) = sign(msg, len, key, p).expect("room reserved");
    msg.truncate(n);
    mac
}

/// Verifies the messages of a response to a request we signed: the first
/// message against the request MAC with the full variables, later ones
/// against the previous MAC with the timers only; up to 99 unsigned
/// messages in a row are digested into the next signed one (§5.3.1).
pub struct StreamVerifier<'k> {
    key: &'k Key,
    prior: MacBuf,
    first: bool,
    pending: Option<Mac>,
    unsigned_run: usize,
    fudge_now: u64,
}

impl<'k> StreamVerifier<'k> {
    /// For the response to a request signed with `key` whose MAC was
    /// `request_mac`; `now` is the time when the response arrived.
    pub fn new(key: &'k Key, request_mac: MacBuf, now: u64) -> Self {
        StreamVerifier { key, prior: request_mac, first: true, pending: None, unsigned_run: 0, fudge_now: now }
    }

    /// Checks one message.
    pub fn message(&mut self, msg: &[u8]) -> Result<(), Error> {
        let rec = parse(msg)?;
        let Some(rec) = rec else {
            if self.first {
                return Err(Error::Unsigned);
            }
            self.unsigned_run += 1;
            if self.unsigned_run > MAX_UNSIGNED {
                return Err(Error::Unsigned);
            }
            let m = self.pending.get_or_insert_with(|| {
                let mut m = Mac::new(self.key);
                m.prior(self.prior.as_slice());
                m
            });
            m.update(msg);
            return Ok(());
        };
        if !name::eq_ignore_case(&rec.key, &self.key.name) || Algorithm::from_wire(&rec.alg) != Some(self.key.alg) {
            return Err(Error::BadKey);
        }
        if rec.error != 0 {
            return Err(Error::PeerError(rec.error));
        }
        let mut m = match self.pending.take() {
            Some(m) => m,
            None => {
                let mut m = Mac::new(self.key);
                m.prior(self.prior.as_slice());
                m
            }
        };
        m.message(msg, rec.start, rec.orig_id);
        if self.first {
            m.variables(self.key, rec.time, rec.fudge, rec.error, rec.other);
        } else {
            m.timers(rec.time, rec.fudge);
        }
        let mac = m.finish();
        let full = self.key.alg.mac_len();
        if rec.mac.len() > full || rec.mac.len() < (full / 2).max(10) {
            return Err(Error::BadTrunc);
        }
        if !mac_equal(&mac.as_slice()[..rec.mac.len()], rec.mac) {
            return Err(Error::BadSig);
        }
        if self.fudge_now.abs_diff(rec.time) > rec.fudge as u64 {
            return Err(Error::BadTime);
        }
        self.prior = MacBuf::from_slice(rec.mac);
        self.first = false;
        self.unsigned_run = 0;
        Ok(())
    }

    /// Call at the end: the last message must have been signed.
    pub fn finish(&self) -> Result<(), Error> {
        if self.first || self.pending.is_some() {
            return Err(Error::Unsigned);
        }
        Ok(())
    }
}

/// Signs the messages of a multi-message response: every message, the
/// first with the full variables and the request MAC, later ones with the
/// timers and the previous MAC.
#[derive(Clone, Debug)]
pub struct StreamSigner {
    key: Key,
    prior: MacBuf,
    first: bool,
    time: u64,
}

impl StreamSigner {
    /// For a response to a request verified with `key`, whose MAC was
    /// `request_mac`, signed at `time`.
    pub fn new(key: Key, request_mac: MacBuf, time: u64) -> Self {
        StreamSigner { key, prior: request_mac, first: true, time }
    }

    /// Octets to keep free at the end of each message.
    pub fn room(&self) -> usize {
        self.key.record_len()
    }

    /// The exact length of the TSIG record [`sign`](Self::sign) appends.
    pub fn signed_len(&self) -> usize {
        self.key.signed_len(0)
    }

    /// Signs `buf[..len]` in place; returns the new length.
    pub fn sign(&mut self, buf: &mut [u8], len: usize) -> Option<usize> {
        let p =
            SignParams { prior: Some(self.prior.as_slice()), timers_only: !self.first, ..SignParams::at(self.time) };
        let (n, mac) = sign(buf, len, &self.key, &p)?;
        self.prior = mac;
        self.first = false;
        Some(n)
    }
}

/// Decodes a base64 secret as written in Knot and BIND configurations.
pub fn decode_secret(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut acc = 0u32;
    let mut bits = 0;
    let mut pad = 0;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => {
                pad += 1;
                continue;
            }
            b' ' | b'\t' | b'\n' => continue,
            _ => return None,
        };
        if pad > 0 {
            return None;
        }
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    if pad > 2 || out.is_empty() {
        return None;
    }
    Some(out)
}

#[cfg(test)]
mod tests;
