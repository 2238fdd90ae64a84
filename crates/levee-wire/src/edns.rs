//! EDNS(0): the OPT pseudo-record and its options (RFC 6891).
//!
//! Only what an authoritative server acts on is decoded: the requestor's
//! UDP payload size, version, DO bit, and the COOKIE (RFC 7873), NSID
//! (RFC 5001), TCP keepalive (RFC 7828), padding (RFC 7830) and EXPIRE
//! (RFC 7314) options. Unknown options are skipped, as RFC 6891 §6.1.2
//! requires.

use crate::query::Malformed;

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
