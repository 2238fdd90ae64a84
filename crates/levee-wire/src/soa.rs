//! SOA RDATA (RFC 1035 §3.3.13) read in place.
//!
//! An SOA record's RDATA is MNAME and RNAME, then five 32-bit fields:
//! SERIAL, REFRESH, RETRY, EXPIRE and MINIMUM. [`Soa`] finds the fixed
//! fields after the two names, in RDATA as a zone stores it (names
//! uncompressed, [`Soa::from_rdata`]) or inside a received message (names
//! may be compressed, [`Soa::in_message`]), and reads them without
//! copying. It is levee's one SOA decoder: zone serials, a secondary's
//! refresh timers, EDNS EXPIRE, the TTL of negative answers (RFC 2308 §5),
//! the serial of an IXFR request or a NOTIFY all come from here.

use crate::name;
use crate::serial::Serial;

/// Octets of the fixed fields.
pub const FIXED_LEN: usize = 20;

/// The fixed fields of an SOA record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Soa<'a> {
    fixed: &'a [u8; FIXED_LEN],
    end: usize,
}

impl<'a> Soa<'a> {
    /// The fixed fields of SOA RDATA with uncompressed names (as a zone,
    /// a journal or a transfer record holds it), or `None` if the names
    /// cannot be read or fewer than 20 octets follow them.
    pub fn from_rdata(rdata: &'a [u8]) -> Option<Soa<'a>> {
        let a = name::wire_len(rdata).ok()?;
        let b = name::wire_len(rdata.get(a..)?).ok()?;
        Self::at(rdata, a + b, rdata.len())
    }

    /// The fixed fields of the SOA RDATA at `msg[start..end]` of a
    /// message, whose names may be compressed, or `None` if the names
    /// cannot be read or fewer than 20 octets follow them before `end`.
    pub fn in_message(msg: &'a [u8], start: usize, end: usize) -> Option<Soa<'a>> {
        let p = name::skip_compressed(msg, start).ok()?;
        let p = name::skip_compressed(msg, p).ok()?;
        Self::at(msg, p, end.min(msg.len()))
    }

    fn at(buf: &'a [u8], p: usize, end: usize) -> Option<Soa<'a>> {
        if p + FIXED_LEN > end {
            return None;
        }
        let fixed = buf.get(p..p + FIXED_LEN)?.try_into().ok()?;
        Some(Soa { fixed, end: p + FIXED_LEN })
    }

    fn field(&self, i: usize) -> u32 {
        let f = self.fixed;
        u32::from_be_bytes([f[4 * i], f[4 * i + 1], f[4 * i + 2], f[4 * i + 3]])
    }

    /// SERIAL.
    pub fn serial(&self) -> Serial {
        Serial(self.field(0))
    }

    /// REFRESH, seconds.
    pub fn refresh(&self) -> u32 {
        self.field(1)
    }

    /// RETRY, seconds.
    pub fn retry(&self) -> u32 {
        self.field(2)
    }

    /// EXPIRE, seconds.
    pub fn expire(&self) -> u32 {
        self.field(3)
    }

    /// MINIMUM, seconds (the negative-caching TTL, RFC 2308 §4).
    pub fn minimum(&self) -> u32 {
        self.field(4)
    }

    /// The offset just after the fixed fields, in the buffer they were
    /// read from: the end of well-formed RDATA.
    pub fn end(&self) -> usize {
        self.end
    }
}

/// The serial of SOA RDATA with uncompressed names
/// ([`Soa::from_rdata`]).
pub fn serial(rdata: &[u8]) -> Option<u32> {
    Soa::from_rdata(rdata).map(|s| s.serial().get())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rdata() -> Vec<u8> {
        let mut rd = b"\x03ns1\x07example\x00\x02hm\x07example\x00".to_vec();
        for x in [2026u32, 3600, 600, 86400, 60] {
            rd.extend_from_slice(&x.to_be_bytes());
        }
        rd
    }

    #[test]
    fn fields_in_order() {
        let rd = rdata();
        let s = Soa::from_rdata(&rd).unwrap();
        assert_eq!((s.serial(), s.refresh(), s.retry(), s.expire(), s.minimum()), (Serial(2026), 3600, 600, 86400, 60));
        assert_eq!(s.end(), rd.len());
        assert_eq!(serial(&rd), Some(2026));
        for cut in 0..rd.len() {
            assert_eq!(Soa::from_rdata(&rd[..cut]), None, "cut at {cut}");
        }
    }

    #[test]
    fn compressed_names_in_a_message() {
        // A name at offset 2, then RDATA whose names point to it.
        let mut m = b"\x00\x00\x07example\x00".to_vec();
        let start = m.len();
        m.extend_from_slice(&[3, b'n', b's', b'1', 0xC0, 2, 0xC0, 2]);
        for x in [7u32, 1, 2, 3, 4] {
            m.extend_from_slice(&x.to_be_bytes());
        }
        let s = Soa::in_message(&m, start, m.len()).unwrap();
        assert_eq!((s.serial(), s.minimum(), s.end()), (Serial(7), 4, m.len()));
        assert_eq!(Soa::in_message(&m, start, m.len() - 1), None);
        // Octets after the fixed fields are not looked at.
        m.push(0);
        assert_eq!(Soa::in_message(&m, start, m.len()).map(|s| s.end()), Some(m.len() - 1));
    }
}
