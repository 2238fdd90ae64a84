//! Frame Streams (the framing dnstap travels in): data frames
//! ([`data_header`]), control frames ([`control`]) and reading either
//! from a buffer ([`next_frame`]).
//!
//! ```text
//! data frame:     [len: u32 BE > 0][len octets of payload]
//! control frame:  [0: u32][clen: u32 BE][type: u32 BE][fields...]
//! field:          [CONTENT_TYPE = 1: u32 BE][n: u32 BE][n octets]
//! ```
//!
//! A control frame is at most [`CONTROL_MAX`] octets (its `clen`), as the
//! reference implementation (libfstrm) bounds it; a data frame is bounded
//! by the caller (`max_data`), so a hostile or broken peer cannot make
//! the reader buffer without limit.

/// `ACCEPT`: the reader takes one of the offered content types.
pub const ACCEPT: u32 = 1;
/// `START`: data frames of the named content type follow.
pub const START: u32 = 2;
/// `STOP`: the writer is done.
pub const STOP: u32 = 3;
/// `READY`: the writer offers content types (bidirectional streams).
pub const READY: u32 = 4;
/// `FINISH`: the reader acknowledges `STOP`.
pub const FINISH: u32 = 5;
/// The one control field type: a content type.
pub const FIELD_CONTENT_TYPE: u32 = 1;
/// The largest control frame (type and fields), in octets.
pub const CONTROL_MAX: usize = 512;

/// Appends a control frame of `kind` carrying `content_type`, if any.
pub fn control(kind: u32, content_type: Option<&[u8]>, out: &mut Vec<u8>) {
    let fields = content_type.map_or(0, |c| 8 + c.len());
    out.extend_from_slice(&0u32.to_be_bytes());
    out.extend_from_slice(&((4 + fields) as u32).to_be_bytes());
    out.extend_from_slice(&kind.to_be_bytes());
    if let Some(c) = content_type {
        out.extend_from_slice(&FIELD_CONTENT_TYPE.to_be_bytes());
        out.extend_from_slice(&(c.len() as u32).to_be_bytes());
        out.extend_from_slice(c);
    }
}

/// The 4-octet header of a data frame of `len` octets (`len` > 0).
pub fn data_header(len: usize) -> [u8; 4] {
    (len as u32).to_be_bytes()
}

/// A frame read from a buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A data frame's payload.
    Data(&'a [u8]),
    /// A control frame: its type and the content types it carries.
    Control {
        /// `ACCEPT`, `START`, ...
        kind: u32,
        /// Its `CONTENT_TYPE` fields, in order.
        content_types: Vec<&'a [u8]>,
    },
}

/// Why a frame is not acceptable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// A data frame longer than the reader takes.
    DataTooLong(u32),
    /// A control frame longer than [`CONTROL_MAX`] or shorter than its type.
    ControlLength(u32),
    /// A control field of another type than `CONTENT_TYPE`, or running
    /// past the frame.
    BadField,
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::DataTooLong(n) => write!(f, "data frame of {n} octets is too long"),
            Error::ControlLength(n) => write!(f, "control frame length {n} out of range"),
            Error::BadField => write!(f, "malformed control field"),
        }
    }
}

impl std::error::Error for Error {}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4).map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// The first frame of `b` and the octets it took, `Ok(None)` when `b`
/// holds only part of it (read more), or an error.
pub fn next_frame(b: &[u8], max_data: usize) -> Result<Option<(Frame<'_>, usize)>, Error> {
    let Some(len) = be32(b, 0) else { return Ok(None) };
    if len != 0 {
        if len as usize > max_data {
            return Err(Error::DataTooLong(len));
        }
        let end = 4 + len as usize;
        return Ok(b.get(4..end).map(|p| (Frame::Data(p), end)));
    }
    let Some(clen) = be32(b, 4) else { return Ok(None) };
    if !(4..=CONTROL_MAX as u32).contains(&clen) {
        return Err(Error::ControlLength(clen));
    }
    let end = 8 + clen as usize;
    let Some(body) = b.get(8..end) else { return Ok(None) };
    let kind = be32(body, 0).unwrap_or(0);
    let mut content_types = Vec::new();
    let mut at = 4;
    while at < body.len() {
        let (Some(FIELD_CONTENT_TYPE), Some(n)) = (be32(body, at), be32(body, at + 4)) else {
            return Err(Error::BadField);
        };
        let start = at + 8;
        let stop = start.checked_add(n as usize).filter(|&s| s <= body.len()).ok_or(Error::BadField)?;
        content_types.push(&body[start..stop]);
        at = stop;
    }
    Ok(Some((Frame::Control { kind, content_types }, end)))
}
