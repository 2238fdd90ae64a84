//! EDNS(0): the OPT pseudo-record and its options (RFC 6891).
//!
//! Only what an authoritative server acts on is decoded: the requestor's
//! UDP payload size, version, DO bit, and the COOKIE (RFC 7873), NSID
//! (RFC 5001), TCP keepalive (RFC 7828), padding (RFC 7830) and EXPIRE
//! (RFC 7314) options. Unknown options are skipped, as RFC 6891 §6.1.2
//! requires.
//!
//! The other direction: [`OptRef`] reads an OPT record in place (the
//! response cache recognises a bare one by it), [`write_bare`] writes
//! one without options, and [`Options`] assembles the options of a
//! response's OPT record (cookie, NSID, keepalive, EXPIRE, Extended DNS
//! Error) for [`Writer::opt`](crate::writer::Writer::opt).

use crate::Malformed;

/// Option codes.
#[allow(missing_docs)]
pub mod code {
    pub const NSID: u16 = 3;
    pub const CLIENT_SUBNET: u16 = 8;
    pub const EXPIRE: u16 = 9;
    pub const COOKIE: u16 = 10;
    pub const TCP_KEEPALIVE: u16 = 11;
    pub const PADDING: u16 = 12;
    pub const EDE: u16 = 15;
}

/// The DO bit in the OPT TTL's flags half.
pub const FLAG_DO: u16 = 0x8000;

/// The CO bit ("Compact Answers OK", RFC 9824 §5), the flag after DO: a
/// resolver that understands compact denial accepts NXDOMAIN as the
/// rcode of a compact answer for a name that does not exist.
pub const FLAG_CO: u16 = 0x4000;

/// Octets of an OPT record without options.
pub const OPT_LEN: usize = 11;

/// An OPT record as it sits in a message, read in place: the root owner,
/// TYPE, CLASS (the payload size), TTL (extended rcode, version, flags)
/// and RDLENGTH; the options follow.
#[derive(Clone, Copy, Debug)]
pub struct OptRef<'a>(&'a [u8; OPT_LEN]);

impl<'a> OptRef<'a> {
    /// The OPT record at the start of `b`, if `b` holds its fixed part
    /// (nothing is checked yet).
    #[inline]
    pub fn new(b: &'a [u8]) -> Option<Self> {
        Some(OptRef(b.get(..OPT_LEN)?.try_into().ok()?))
    }

    /// A root owner, type OPT, extended rcode 0, version 0 and no
    /// options: the OPT record of most queries.
    #[inline]
    pub fn is_bare_v0(&self) -> bool {
        let b = self.0;
        b[0] == 0 && b[1..3] == crate::rtype::t::OPT.to_be_bytes() && b[5..7] == [0, 0] && b[9..11] == [0, 0]
    }

    /// The requestor's UDP payload size (CLASS).
    #[inline]
    pub fn udp_size(&self) -> u16 {
        u16::from_be_bytes([self.0[3], self.0[4]])
    }

    /// The TTL field: extended rcode, version and flags.
    #[inline]
    pub fn ttl(&self) -> u32 {
        u32::from_be_bytes([self.0[5], self.0[6], self.0[7], self.0[8]])
    }

    /// The 16 flag bits (DO is the top one).
    #[inline]
    pub fn flags(&self) -> u16 {
        u16::from_be_bytes([self.0[7], self.0[8]])
    }
}

/// Writes an OPT record without options at the start of `out`: root
/// owner, our payload size, `ext_rcode`, version 0 and `flags`. Returns
/// its length ([`OPT_LEN`]).
#[inline]
pub fn write_bare(out: &mut [u8], udp_size: u16, ext_rcode: u8, flags: u16) -> usize {
    let [t0, t1] = crate::rtype::t::OPT.to_be_bytes();
    let [s0, s1] = udp_size.to_be_bytes();
    let [f0, f1] = flags.to_be_bytes();
    out[..OPT_LEN].copy_from_slice(&[0, t0, t1, s0, s1, ext_rcode, 0, f0, f1, 0, 0]);
    OPT_LEN
}

/// The options of a response's OPT record, assembled on the stack in a
/// buffer of `N` octets (each method's option is 4 octets of code and
/// length plus its data). The caller sizes `N` for the options it adds;
/// one that does not fit panics.
#[derive(Clone, Copy, Debug)]
pub struct Options<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> Default for Options<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Options<N> {
    /// No options.
    #[inline]
    pub fn new() -> Self {
        Options { buf: [0; N], len: 0 }
    }

    /// The options written so far, as OPT's RDATA.
    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// Octets written so far.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no option was written.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends option `code` with data made of `parts`, in order.
    #[inline]
    pub fn put(&mut self, code: u16, parts: &[&[u8]]) {
        let dlen: usize = parts.iter().map(|p| p.len()).sum();
        let n = self.len;
        self.buf[n..n + 2].copy_from_slice(&code.to_be_bytes());
        self.buf[n + 2..n + 4].copy_from_slice(&(dlen as u16).to_be_bytes());
        let mut at = n + 4;
        for p in parts {
            self.buf[at..at + p.len()].copy_from_slice(p);
            at += p.len();
        }
        self.len = at;
    }

    /// COOKIE (RFC 7873): the client cookie and our server cookie.
    #[inline]
    pub fn cookie(&mut self, client: &[u8; 8], server: &[u8]) {
        self.put(code::COOKIE, &[client, server]);
    }

    /// NSID (RFC 5001).
    #[inline]
    pub fn nsid(&mut self, id: &[u8]) {
        self.put(code::NSID, &[id]);
    }

    /// edns-tcp-keepalive (RFC 7828), in units of 100 ms.
    #[inline]
    pub fn keepalive(&mut self, timeout: u16) {
        self.put(code::TCP_KEEPALIVE, &[&timeout.to_be_bytes()]);
    }

    /// EXPIRE (RFC 7314), seconds.
    #[inline]
    pub fn expire(&mut self, seconds: u32) {
        self.put(code::EXPIRE, &[&seconds.to_be_bytes()]);
    }

    /// Extended DNS Error (RFC 8914): INFO-CODE and EXTRA-TEXT.
    #[inline]
    pub fn ede(&mut self, info: u16, text: &[u8]) {
        self.put(code::EDE, &[&info.to_be_bytes(), text]);
    }
}

/// The COOKIE option as received.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Cookie {
    /// No COOKIE option.
    #[default]
    None,
    /// A client cookie only (8 octets).
    Client([u8; 8]),
    /// A client cookie and a server cookie of 8 to 32 octets.
    Full {
        /// The client cookie.
        client: [u8; 8],
        /// The server cookie, `server_len` octets used.
        server: [u8; 32],
        /// Length of the server cookie.
        server_len: u8,
    },
}

impl Cookie {
    /// The client cookie, if one was sent.
    pub fn client(&self) -> Option<&[u8; 8]> {
        match self {
            Cookie::None => None,
            Cookie::Client(c) | Cookie::Full { client: c, .. } => Some(c),
        }
    }

    /// The server cookie, if one was sent.
    pub fn server(&self) -> Option<&[u8]> {
        match self {
            Cookie::Full { server, server_len, .. } => Some(&server[..*server_len as usize]),
            _ => None,
        }
    }
}

/// A decoded OPT record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Edns {
    /// Requestor's UDP payload size (the OPT class).
    pub udp_size: u16,
    /// Upper 8 bits of the extended rcode (should be 0 in a query).
    pub ext_rcode: u8,
    /// EDNS version.
    pub version: u8,
    /// The 16 flag bits (DO is the top one).
    pub flags: u16,
    /// The COOKIE option.
    pub cookie: Cookie,
    /// An NSID option was present.
    pub nsid: bool,
    /// A TCP keepalive option was present.
    pub keepalive: bool,
    /// An EXPIRE option was present.
    pub expire: bool,
    /// A padding option was present.
    pub padding: bool,
}

impl Edns {
    /// An OPT with the given class and TTL and no options.
    pub fn bare(class: u16, ttl: u32) -> Edns {
        Edns {
            udp_size: class,
            ext_rcode: (ttl >> 24) as u8,
            version: (ttl >> 16) as u8,
            flags: ttl as u16,
            cookie: Cookie::None,
            nsid: false,
            keepalive: false,
            expire: false,
            padding: false,
        }
    }

    /// True if DO is set.
    pub fn dnssec_ok(&self) -> bool {
        self.flags & FLAG_DO != 0
    }
}

/// Decodes the OPT record's class, TTL and RDATA.
pub fn parse_opt(class: u16, ttl: u32, rdata: &[u8]) -> Result<Edns, Malformed> {
    let mut e = Edns::bare(class, ttl);
    let mut pos = 0;
    while pos < rdata.len() {
        if pos + 4 > rdata.len() {
            return Err(Malformed::BadOption);
        }
        let code = u16::from_be_bytes([rdata[pos], rdata[pos + 1]]);
        let len = u16::from_be_bytes([rdata[pos + 2], rdata[pos + 3]]) as usize;
        let data = rdata.get(pos + 4..pos + 4 + len).ok_or(Malformed::BadOption)?;
        match code {
            code::COOKIE => {
                // RFC 7873 §5.2.2: 8 (client only) or 16..=40 octets.
                if len == 8 {
                    let mut c = [0; 8];
                    c.copy_from_slice(data);
                    e.cookie = Cookie::Client(c);
                } else if (16..=40).contains(&len) {
                    let mut client = [0; 8];
                    client.copy_from_slice(&data[..8]);
                    let mut server = [0; 32];
                    server[..len - 8].copy_from_slice(&data[8..]);
                    e.cookie = Cookie::Full { client, server, server_len: (len - 8) as u8 };
                } else {
                    return Err(Malformed::BadCookie);
                }
            }
            code::NSID => e.nsid = true,
            code::TCP_KEEPALIVE => e.keepalive = true,
            code::EXPIRE => e.expire = true,
            code::PADDING => e.padding = true,
            _ => {}
        }
        pos += 4 + len;
    }
    Ok(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_in_order_and_a_bare_opt() {
        let mut o = Options::<64>::new();
        o.cookie(&[1; 8], &[2; 16]);
        o.keepalive(300);
        o.expire(86400);
        o.ede(18, b"");
        o.nsid(b"ns");
        let mut want = vec![0, 10, 0, 24];
        want.extend_from_slice(&[1; 8]);
        want.extend_from_slice(&[2; 16]);
        want.extend_from_slice(&[
            0, 11, 0, 2, 1, 44, 0, 9, 0, 4, 0, 1, 0x51, 0x80, 0, 15, 0, 2, 0, 18, 0, 3, 0, 2, b'n', b's',
        ]);
        assert_eq!(o.as_slice(), &want[..]);

        let mut b = [0xAA; 12];
        assert_eq!(write_bare(&mut b, 1232, 1, FLAG_DO), OPT_LEN);
        assert_eq!(&b[..11], &[0, 0, 41, 4, 208, 1, 0, 0x80, 0, 0, 0]);
        let r = OptRef::new(&b).unwrap();
        assert_eq!((r.udp_size(), r.flags(), r.ttl()), (1232, FLAG_DO, 0x0100_8000));
        assert!(!r.is_bare_v0(), "extended rcode 1");
        write_bare(&mut b, 512, 0, 0);
        assert!(OptRef::new(&b).unwrap().is_bare_v0());
        b[10] = 4;
        assert!(!OptRef::new(&b).unwrap().is_bare_v0(), "options follow");
    }
}
