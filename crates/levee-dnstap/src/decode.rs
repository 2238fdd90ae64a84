//! Reading a `Dnstap` protobuf message ([`decode`]): for the tests, the
//! fuzz target and tools; the daemon only writes. Every field of the
//! schema's `Dnstap` and `Message` levee writes is read; unknown fields
//! are skipped by their wire type, as protobuf requires. Malformed input
//! (a truncated varint or field, a length past the end, a varint longer
//! than ten octets, wire types 3 and 4 or above 5) is an [`Error`], never
//! a panic; the work is bounded by the input's length.

use std::fmt;

/// Why a message could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The input ended inside a field.
    Truncated,
    /// A varint of more than ten octets.
    LongVarint,
    /// A wire type protobuf does not have (or the deprecated groups).
    WireType(u8),
    /// A known field with the wrong wire type.
    FieldType(u32),
    /// `Dnstap.type` (required) is missing.
    NoType,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Truncated => write!(f, "truncated field"),
            Error::LongVarint => write!(f, "varint longer than 10 octets"),
            Error::WireType(w) => write!(f, "unknown wire type {w}"),
            Error::FieldType(n) => write!(f, "field {n} has the wrong wire type"),
            Error::NoType => write!(f, "Dnstap.type missing"),
        }
    }
}

impl std::error::Error for Error {}

/// A decoded `Dnstap`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Dnstap {
    /// `identity`.
    pub identity: Option<Vec<u8>>,
    /// `version`.
    pub version: Option<Vec<u8>>,
    /// `type` (1: MESSAGE).
    pub kind: u64,
    /// `message`.
    pub message: Option<Message>,
}

/// A decoded `Message` (the fields levee writes).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Message {
    /// `type` (1: AUTH_QUERY, 2: AUTH_RESPONSE, ...).
    pub kind: u64,
    /// `socket_family` (1: INET, 2: INET6).
    pub family: Option<u64>,
    /// `socket_protocol` (1: UDP, 2: TCP, ...).
    pub protocol: Option<u64>,
    /// `query_address`.
    pub query_address: Option<Vec<u8>>,
    /// `response_address`.
    pub response_address: Option<Vec<u8>>,
    /// `query_port`.
    pub query_port: Option<u64>,
    /// `response_port`.
    pub response_port: Option<u64>,
    /// `query_time_sec`.
    pub query_time_sec: Option<u64>,
    /// `query_time_nsec`.
    pub query_time_nsec: Option<u32>,
    /// `query_message`.
    pub query_message: Option<Vec<u8>>,
    /// `query_zone`.
    pub query_zone: Option<Vec<u8>>,
    /// `response_time_sec`.
    pub response_time_sec: Option<u64>,
    /// `response_time_nsec`.
    pub response_time_nsec: Option<u32>,
    /// `response_message`.
    pub response_message: Option<Vec<u8>>,
}

/// One field's value.
enum Value<'a> {
    Varint(u64),
    Fixed64,
    Bytes(&'a [u8]),
    Fixed32(u32),
}

/// Reads a varint at `*pos`.
fn varint(b: &[u8], pos: &mut usize) -> Result<u64, Error> {
    let mut v = 0u64;
    for i in 0..10 {
        let octet = *b.get(*pos).ok_or(Error::Truncated)?;
        *pos += 1;
        v |= u64::from(octet & 0x7f) << (7 * i);
        if octet & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(Error::LongVarint)
}

/// The fields of a message, in order: `(number, value)`.
fn fields(b: &[u8]) -> impl Iterator<Item = Result<(u32, Value<'_>), Error>> {
    let mut pos = 0usize;
    let mut failed = false;
    std::iter::from_fn(move || {
        if failed || pos >= b.len() {
            return None;
        }
        let r = field(b, &mut pos);
        failed = r.is_err();
        Some(r)
    })
}

fn field<'a>(b: &'a [u8], pos: &mut usize) -> Result<(u32, Value<'a>), Error> {
    let k = varint(b, pos)?;
    let number = (k >> 3).min(u64::from(u32::MAX)) as u32;
    let take = |pos: &mut usize, n: usize| -> Result<&'a [u8], Error> {
        let end = pos.checked_add(n).filter(|&e| e <= b.len()).ok_or(Error::Truncated)?;
        let s = &b[*pos..end];
        *pos = end;
        Ok(s)
    };
    let v = match (k & 7) as u8 {
        0 => Value::Varint(varint(b, pos)?),
        1 => {
            take(pos, 8)?;
            Value::Fixed64
        }
        2 => {
            let n = varint(b, pos)?;
            Value::Bytes(take(pos, usize::try_from(n).map_err(|_| Error::Truncated)?)?)
        }
        5 => {
            let s = take(pos, 4)?;
            Value::Fixed32(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
        }
        w => return Err(Error::WireType(w)),
    };
    Ok((number, v))
}

fn want_uint(n: u32, v: &Value) -> Result<u64, Error> {
    match v {
        Value::Varint(x) => Ok(*x),
        _ => Err(Error::FieldType(n)),
    }
}

fn want_bytes(n: u32, v: &Value) -> Result<Vec<u8>, Error> {
    match v {
        Value::Bytes(x) => Ok(x.to_vec()),
        _ => Err(Error::FieldType(n)),
    }
}

fn want_fixed32(n: u32, v: &Value) -> Result<u32, Error> {
    match v {
        Value::Fixed32(x) => Ok(*x),
        _ => Err(Error::FieldType(n)),
    }
}

/// Decodes one Frame Streams payload of content type
/// `protobuf:dnstap.Dnstap`.
pub fn decode(b: &[u8]) -> Result<Dnstap, Error> {
    let mut d = Dnstap::default();
    let mut kind = None;
    for f in fields(b) {
        let (n, v) = f?;
        match n {
            1 => d.identity = Some(want_bytes(n, &v)?),
            2 => d.version = Some(want_bytes(n, &v)?),
            14 => match v {
                Value::Bytes(m) => d.message = Some(message(m)?),
                _ => return Err(Error::FieldType(n)),
            },
            15 => kind = Some(want_uint(n, &v)?),
            _ => {}
        }
    }
    d.kind = kind.ok_or(Error::NoType)?;
    Ok(d)
}

fn message(b: &[u8]) -> Result<Message, Error> {
    let mut m = Message::default();
    for f in fields(b) {
        let (n, v) = f?;
        match n {
            1 => m.kind = want_uint(n, &v)?,
            2 => m.family = Some(want_uint(n, &v)?),
            3 => m.protocol = Some(want_uint(n, &v)?),
            4 => m.query_address = Some(want_bytes(n, &v)?),
            5 => m.response_address = Some(want_bytes(n, &v)?),
            6 => m.query_port = Some(want_uint(n, &v)?),
            7 => m.response_port = Some(want_uint(n, &v)?),
            8 => m.query_time_sec = Some(want_uint(n, &v)?),
            9 => m.query_time_nsec = Some(want_fixed32(n, &v)?),
            10 => m.query_message = Some(want_bytes(n, &v)?),
            11 => m.query_zone = Some(want_bytes(n, &v)?),
            12 => m.response_time_sec = Some(want_uint(n, &v)?),
            13 => m.response_time_nsec = Some(want_fixed32(n, &v)?),
            14 => m.response_message = Some(want_bytes(n, &v)?),
            _ => {}
        }
    }
    Ok(m)
}
