//! The 12-octet message header (RFC 1035 §4.1.1).
//!
//! [`Header`] is a decoded copy (for messages read whole); [`HeaderRef`]
//! reads the fields of a received message in place, for the query path,
//! which looks at a few of them only; [`Header::write`] and [`set_id`]
//! write them. Flags, opcodes and response codes have names here
//! ([`flag`], [`opcode`], [`rcode`]): no other crate spells them as
//! numbers.

/// Header flag bits in the second 16-bit word.
#[allow(missing_docs)]
pub mod flag {
    pub const QR: u16 = 0x8000;
    pub const AA: u16 = 0x0400;
    pub const TC: u16 = 0x0200;
    pub const RD: u16 = 0x0100;
    pub const RA: u16 = 0x0080;
    pub const Z: u16 = 0x0040;
    pub const AD: u16 = 0x0020;
    pub const CD: u16 = 0x0010;
}

/// Response codes, including the extended ones carried in OPT.
#[allow(missing_docs)]
pub mod rcode {
    pub const NOERROR: u16 = 0;
    pub const FORMERR: u16 = 1;
    pub const SERVFAIL: u16 = 2;
    pub const NXDOMAIN: u16 = 3;
    pub const NOTIMP: u16 = 4;
    pub const REFUSED: u16 = 5;
    pub const YXDOMAIN: u16 = 6;
    pub const YXRRSET: u16 = 7;
    pub const NXRRSET: u16 = 8;
    pub const NOTAUTH: u16 = 9;
    pub const NOTZONE: u16 = 10;
    pub const BADVERS: u16 = 16;
    pub const BADCOOKIE: u16 = 23;

    /// The low four bits of an (extended) rcode: what the header carries.
    #[inline]
    pub const fn header_bits(rc: u16) -> u16 {
        rc & 0xF
    }

    /// The upper eight bits of an extended rcode: what OPT carries
    /// (RFC 6891 §6.1.3).
    #[inline]
    pub const fn extended_bits(rc: u16) -> u8 {
        (rc >> 4) as u8
    }
    /// Mnemonics of the 4-bit header rcodes (RFC 6895 registry; 12-15
    /// unassigned), for reports and metrics labels.
    pub const NAMES: [&str; 16] = [
        "NOERROR",
        "FORMERR",
        "SERVFAIL",
        "NXDOMAIN",
        "NOTIMP",
        "REFUSED",
        "YXDOMAIN",
        "YXRRSET",
        "NXRRSET",
        "NOTAUTH",
        "NOTZONE",
        "DSOTYPENI",
        "RCODE12",
        "RCODE13",
        "RCODE14",
        "RCODE15",
    ];
}

/// Opcodes.
#[allow(missing_docs)]
pub mod opcode {
    pub const QUERY: u8 = 0;
    pub const IQUERY: u8 = 1;
    pub const STATUS: u8 = 2;
    pub const NOTIFY: u8 = 4;
    pub const UPDATE: u8 = 5;
    pub const DSO: u8 = 6;
}

/// Length of the header.
pub const HEADER_LEN: usize = 12;

/// A decoded header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Header {
    /// Message ID.
    pub id: u16,
    /// The flags word (QR, opcode, AA, TC, RD, RA, Z, AD, CD, rcode).
    pub flags: u16,
    /// Question count.
    pub qdcount: u16,
    /// Answer count.
    pub ancount: u16,
    /// Authority count.
    pub nscount: u16,
    /// Additional count.
    pub arcount: u16,
}

impl Header {
    /// Reads the header from the start of `msg`, if it is long enough.
    pub fn read(msg: &[u8]) -> Option<Header> {
        HeaderRef::new(msg).map(|h| h.to_header())
    }

    /// Writes the header into the first 12 octets of `out`.
    pub fn write(&self, out: &mut [u8]) {
        out[0..2].copy_from_slice(&self.id.to_be_bytes());
        out[2..4].copy_from_slice(&self.flags.to_be_bytes());
        out[4..6].copy_from_slice(&self.qdcount.to_be_bytes());
        out[6..8].copy_from_slice(&self.ancount.to_be_bytes());
        out[8..10].copy_from_slice(&self.nscount.to_be_bytes());
        out[10..12].copy_from_slice(&self.arcount.to_be_bytes());
    }

    /// The opcode.
    pub fn opcode(&self) -> u8 {
        opcode_of(self.flags)
    }

    /// The 4-bit header rcode.
    pub fn rcode(&self) -> u8 {
        (self.flags & RCODE_MASK) as u8
    }

    /// True if the flag bit is set.
    pub fn has(&self, bit: u16) -> bool {
        self.flags & bit != 0
    }
}

/// The header of a message, read in place: a view of its first 12
/// octets.
#[derive(Clone, Copy, Debug)]
pub struct HeaderRef<'a>(&'a [u8; HEADER_LEN]);

impl<'a> HeaderRef<'a> {
    /// The header of `msg`, if it is at least 12 octets long.
    #[inline]
    pub fn new(msg: &'a [u8]) -> Option<Self> {
        Some(HeaderRef(msg.get(..HEADER_LEN)?.try_into().ok()?))
    }

    #[inline]
    fn word(&self, i: usize) -> u16 {
        u16::from_be_bytes([self.0[i], self.0[i + 1]])
    }

    /// Message ID.
    #[inline]
    pub fn id(&self) -> u16 {
        self.word(0)
    }

    /// The flags word (QR, opcode, AA, TC, RD, RA, Z, AD, CD, rcode).
    #[inline]
    pub fn flags(&self) -> u16 {
        self.word(2)
    }

    /// Question count.
    #[inline]
    pub fn qdcount(&self) -> u16 {
        self.word(4)
    }

    /// Answer count.
    #[inline]
    pub fn ancount(&self) -> u16 {
        self.word(6)
    }

    /// Authority count.
    #[inline]
    pub fn nscount(&self) -> u16 {
        self.word(8)
    }

    /// Additional count.
    #[inline]
    pub fn arcount(&self) -> u16 {
        self.word(10)
    }

    /// Exactly one question and no answer or authority records (the
    /// additional section may hold anything): the shape of a plain query.
    #[inline]
    pub fn is_question_only(&self) -> bool {
        self.0[4..10] == [0, 1, 0, 0, 0, 0]
    }

    /// QR: the message is a response.
    #[inline]
    pub fn is_response(&self) -> bool {
        self.0[2] & 0x80 != 0
    }

    /// The opcode.
    #[inline]
    pub fn opcode(&self) -> u8 {
        opcode_of(self.flags())
    }

    /// The 4-bit header rcode.
    #[inline]
    pub fn rcode(&self) -> u8 {
        (self.flags() & RCODE_MASK) as u8
    }

    /// The header decoded.
    pub fn to_header(&self) -> Header {
        Header {
            id: self.id(),
            flags: self.flags(),
            qdcount: self.qdcount(),
            ancount: self.ancount(),
            nscount: self.nscount(),
            arcount: self.arcount(),
        }
    }
}

/// Writes the message ID into the header at the start of `msg` (at least
/// 2 octets).
#[inline]
pub fn set_id(msg: &mut [u8], id: u16) {
    msg[..2].copy_from_slice(&id.to_be_bytes());
}

/// Copies the message ID of `src` into `dst` (both at least 2 octets).
#[inline]
pub fn copy_id(dst: &mut [u8], src: &[u8]) {
    dst[..2].copy_from_slice(&src[..2]);
}

/// The bits of the flags word that hold the opcode.
pub const OPCODE_MASK: u16 = 0xF << 11;
/// The bits of the flags word that hold the (4-bit) rcode.
pub const RCODE_MASK: u16 = 0xF;

/// The opcode in a flags word.
#[inline]
pub fn opcode_of(flags: u16) -> u8 {
    ((flags & OPCODE_MASK) >> 11) as u8
}
