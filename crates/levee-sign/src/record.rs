//! One record as the signer takes and gives it.

/// One record: owner in wire form, and its RDATA in wire form.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Rr {
    /// Owner, wire form (lowercased by [`sign_zone`]).
    pub owner: Vec<u8>,
    /// Type.
    pub rtype: u16,
    /// Class.
    pub class: u16,
    /// TTL.
    pub ttl: u32,
    /// RDATA, wire form.
    pub rdata: Vec<u8>,
}
