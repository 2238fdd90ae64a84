//! Zone serial numbers and their order (RFC 1982).
//!
//! Serials wrap around: `1` is newer than `4294967295`. [`Serial`]
//! compares with the RFC 1982 rules through `PartialOrd`: `a > b` when
//! `a` is ahead of `b` by less than 2^31, and two serials exactly 2^31
//! apart are not comparable (every comparison is false). The order is not
//! transitive over the whole circle (`0 < 2^30 < 2^31 + 1 < 0`), so it is
//! meant for comparing two serials, not for sorting.

use core::cmp::Ordering;
use core::fmt;

/// A zone's SOA serial.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Serial(pub u32);

impl Serial {
    /// The number.
    pub fn get(self) -> u32 {
        self.0
    }
}

impl From<u32> for Serial {
    fn from(n: u32) -> Self {
        Serial(n)
    }
}

impl PartialOrd for Serial {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        let d = self.0.wrapping_sub(other.0);
        match d {
            0 => Some(Ordering::Equal),
            1..0x8000_0000 => Some(Ordering::Greater),
            0x8000_0000 => None,
            _ => Some(Ordering::Less),
        }
    }
}

impl fmt::Display for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::Serial;

    /// RFC 1982 §3.2's definition and its examples with SERIAL_BITS = 32.
    #[test]
    fn rfc_1982_order() {
        let s = Serial;
        let seven_above_itself = s(7) > s(7);
        assert!(s(5) > s(4) && s(4) < s(5) && s(7) >= s(7) && !seven_above_itself);
        assert!(s(1) > s(u32::MAX) && s(0) > s(u32::MAX) && s(u32::MAX) < s(0));
        assert!(s(0x7FFF_FFFF) > s(0) && s(0x8000_0001) < s(0));
        // Exactly half the circle apart: neither greater, smaller nor equal.
        for (a, b) in [(0, 0x8000_0000), (0x8000_0000, 0), (7, 0x8000_0007)] {
            assert_eq!(s(a).partial_cmp(&s(b)), None);
            let any = [s(a) >= s(b), s(a) <= s(b), s(a) > s(b), s(a) < s(b)];
            assert_eq!(any, [false; 4], "{a} and {b}");
        }
    }

    /// The three functions this type replaced, on a spread of pairs.
    #[test]
    fn agrees_with_the_old_compares() {
        let ge = |a: u32, b: u32| a == b || (a.wrapping_sub(b) as i32) > 0;
        let gt = |a: u32, b: u32| a != b && a.wrapping_sub(b) < 1 << 31;
        let vals = [0u32, 1, 2, 7, 0x7FFF_FFFE, 0x7FFF_FFFF, 0x8000_0000, 0x8000_0001, 0xFFFF_FFFE, u32::MAX];
        for &a in &vals {
            for &b in &vals {
                assert_eq!(Serial(a) >= Serial(b), ge(a, b), "{a} >= {b}");
                assert_eq!(Serial(a) > Serial(b), gt(a, b), "{a} > {b}");
            }
        }
    }
}
