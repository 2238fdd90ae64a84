//! The fixed fields of a resource record, read in place.
//!
//! After a record's owner name come TYPE, CLASS, TTL and RDLENGTH
//! (RFC 1035 §4.1.3): [`Fixed`] reads them without copying, and
//! [`read_at`] finds them after an owner name (compressed or not) and
//! checks that the RDATA lies inside the message.

use crate::name;

/// Octets of TYPE, CLASS, TTL and RDLENGTH.
pub const FIXED_LEN: usize = 10;

/// TYPE, CLASS, TTL and RDLENGTH of a record.
#[derive(Clone, Copy, Debug)]
pub struct Fixed<'a>(&'a [u8; FIXED_LEN]);

impl<'a> Fixed<'a> {
    /// The fixed fields at the start of `b`, if it is long enough.
    #[inline]
    pub fn new(b: &'a [u8]) -> Option<Self> {
        Some(Fixed(b.get(..FIXED_LEN)?.try_into().ok()?))
    }

    /// TYPE.
    #[inline]
    pub fn rtype(&self) -> u16 {
        u16::from_be_bytes([self.0[0], self.0[1]])
    }

    /// CLASS (for OPT: the requestor's UDP payload size).
    #[inline]
    pub fn class(&self) -> u16 {
        u16::from_be_bytes([self.0[2], self.0[3]])
    }

    /// TTL (for OPT: extended rcode, version and flags).
    #[inline]
    pub fn ttl(&self) -> u32 {
        u32::from_be_bytes([self.0[4], self.0[5], self.0[6], self.0[7]])
    }

    /// RDLENGTH.
    #[inline]
    pub fn rdlen(&self) -> u16 {
        u16::from_be_bytes([self.0[8], self.0[9]])
    }
}

/// Where a record of a message is.
#[derive(Clone, Copy, Debug)]
pub struct Located<'a> {
    /// The owner name is the root (OPT's must be).
    pub root_owner: bool,
    /// Its fixed fields.
    pub fixed: Fixed<'a>,
    /// Offset of the RDATA.
    pub rdata: usize,
    /// Offset just after the record.
    pub end: usize,
}

impl Located<'_> {
    /// TYPE.
    #[inline]
    pub fn rtype(&self) -> u16 {
        self.fixed.rtype()
    }
}

/// The record starting at `pos` in `msg` (its owner name may be
/// compressed), or `None` if it runs past the end of the message.
#[inline]
pub fn read_at(msg: &[u8], pos: usize) -> Option<Located<'_>> {
    let root_owner = *msg.get(pos)? == 0;
    let p = name::skip_compressed(msg, pos).ok()?;
    let fixed = Fixed::new(msg.get(p..)?)?;
    let rdata = p + FIXED_LEN;
    let end = rdata + fixed.rdlen() as usize;
    if end > msg.len() {
        return None;
    }
    Some(Located { root_owner, fixed, rdata, end })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_bounds() {
        // A record with a pointer owner, type A, class IN, TTL 300, 4 octets.
        let mut m = vec![0u8; 12];
        m.extend_from_slice(&[1, b'a', 0]);
        let at = m.len();
        m.extend_from_slice(&[0xC0, 12, 0, 1, 0, 1, 0, 0, 1, 44, 0, 4, 192, 0, 2, 1]);
        let r = read_at(&m, at).unwrap();
        assert!(!r.root_owner);
        assert_eq!((r.rtype(), r.fixed.class(), r.fixed.ttl(), r.fixed.rdlen()), (1, 1, 300, 4));
        assert_eq!((r.rdata, r.end), (at + 12, m.len()));
        assert!(read_at(&m[..m.len() - 1], at).is_none());
    }
}
