//! The immutable zone snapshot.
//!
//! A [`Zone`] is built once by [`crate::build`] and never changes; readers
//! share it through an `Arc`. Everything the answering code needs is laid
//! out in a few flat vectors so a query is a hash lookup and some slice
//! reads, with no per-record allocation:
//!
//! * `names`: one arena holding every node's owner name, lowercased, in
//!   wire form;
//! * `nodes`: one entry per name in the zone, *sorted in canonical order*
//!   (RFC 4034 §6.1), empty non-terminals included. Each node knows its
//!   place in the tree through flags computed at load time: apex, zone
//!   cut, below a cut (glue or occluded), DNAME owner, "the walk from the
//!   apex meets a cut or DNAME before reaching me", has a wildcard child;
//! * `index`: a hash table from lowercased name to node, for exact lookups
//!   and the label-stripping closest-encloser search;
//! * `rrsets`: the RRsets of each node, contiguous per node. An RRset
//!   points to its RDATA in `data` (each record as a 2-octet length and
//!   the RDATA), to the RRSIG set that covers it, and, for NS, MX and SRV,
//!   to the nodes of its targets in `links` (pre-linked additional data and
//!   glue, Knot's "adjust" step);
//! * NSEC3 records live in their own node list sorted by hash, so a hashed
//!   owner name never shows up in normal lookups.

use core::hash::BuildHasher;

use hashbrown::HashTable;
use levee_wire::name;
use levee_wire::rtype::t;

/// Index of a node.
pub type NodeId = u32;
/// Index of an RRset.
pub type RRsetId = u32;
/// "No index".
pub const NONE: u32 = u32::MAX;

/// Node flags.
#[allow(missing_docs)]
pub mod nf {
    pub const APEX: u16 = 1;
    /// A zone cut: NS at a name other than the apex.
    pub const CUT: u16 = 2;
    /// Strictly below a zone cut (glue or occluded data).
    pub const BELOW_CUT: u16 = 4;
    /// Owns a DNAME.
    pub const DNAME: u16 = 8;
    /// Strictly below a DNAME owner (occluded).
    pub const BELOW_DNAME: u16 = 16;
    /// Some ancestor strictly above (apex included) is a cut or owns a
    /// DNAME: an exact match must be checked by walking from the apex.
    pub const WALK: u16 = 32;
    /// `*.<this node>` exists.
    pub const WILD_CHILD: u16 = 64;
    /// No RRsets (an empty non-terminal).
    pub const EMPTY: u16 = 128;
    /// Owns a CNAME.
    pub const CNAME: u16 = 256;
    /// Owns an NSEC record.
    pub const NSEC: u16 = 512;
}

/// One name of the zone.
#[derive(Clone, Copy, Debug)]
pub struct Node {
    pub(crate) name_off: u32,
    pub(crate) name_len: u8,
    /// Label count below the root.
    pub labels: u8,
    /// Flags ([`nf`]).
    pub flags: u16,
    pub(crate) rrset_start: u32,
    pub(crate) rrset_count: u16,
}

impl Node {
    /// True if the flag is set.
    #[inline]
    pub fn has(&self, f: u16) -> bool {
        self.flags & f != 0
    }
}

/// One RRset (or the RRSIGs covering one type).
#[derive(Clone, Copy, Debug)]
pub struct RRset {
    /// Type (RRSIG for signature sets).
    pub rtype: u16,
    /// For RRSIG sets: the type covered.
    pub covers: u16,
    /// TTL.
    pub ttl: u32,
    /// Number of records.
    pub count: u16,
    pub(crate) data_off: u32,
    pub(crate) data_len: u32,
    /// The RRSIG set covering this one, or [`NONE`].
    pub sigs: RRsetId,
    pub(crate) links_off: u32,
    pub(crate) links_len: u16,
}

/// NSEC3 parameters of the zone's chain (from NSEC3PARAM).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Nsec3Param {
    /// Hash algorithm (1 = SHA-1).
    pub alg: u8,
    /// Flags.
    pub flags: u8,
    /// Extra iterations.
    pub iterations: u16,
    /// Salt.
    pub salt: Vec<u8>,
}

/// One NSEC3 record's place in the chain.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Nsec3Entry {
    pub(crate) hash_off: u32,
    pub(crate) hash_len: u8,
    pub(crate) node: NodeId,
}

/// An immutable, query-ready zone.
pub struct Zone {
    pub(crate) apex: Vec<u8>,
    pub(crate) names: Vec<u8>,
    pub(crate) nodes: Vec<Node>,
    pub(crate) index: HashTable<NodeId>,
    pub(crate) rrsets: Vec<RRset>,
    pub(crate) data: Vec<u8>,
    pub(crate) links: Vec<NodeId>,
    pub(crate) nsec3_nodes: Vec<Node>,
    pub(crate) nsec3_chain: Vec<Nsec3Entry>,
    pub(crate) nsec3_hashes: Vec<u8>,
    pub(crate) nsec3param: Option<Nsec3Param>,
    pub(crate) apex_id: NodeId,
    pub(crate) soa: RRsetId,
    pub(crate) serial: u32,
    pub(crate) records: u64,
    pub(crate) nsec_nodes: u32,
    /// The SOA of negative answers, pre-rendered (negative.rs).
    pub(crate) negative: Option<crate::negative::NegativeSoa>,
}

pub(crate) fn hasher() -> foldhash::fast::FixedState {
    foldhash::fast::FixedState::with_seed(0x6c65_7665_6521)
}

pub(crate) fn hash_name(n: &[u8]) -> u64 {
    hasher().hash_one(n)
}

impl Zone {
    /// The apex name (lowercase wire form).
    pub fn apex(&self) -> &[u8] {
        &self.apex
    }

    /// Labels of the apex.
    pub fn apex_labels(&self) -> usize {
        name::label_count(&self.apex)
    }

    /// The apex node.
    pub fn apex_id(&self) -> NodeId {
        self.apex_id
    }

    /// The SOA serial.
    pub fn serial(&self) -> u32 {
        self.serial
    }

    /// The SOA RRset.
    pub fn soa(&self) -> RRsetId {
        self.soa
    }

    /// The SOA record of negative answers, rendered at load.
    #[inline]
    pub fn negative_soa(&self) -> Option<&crate::negative::NegativeSoa> {
        self.negative.as_ref()
    }

    /// Number of records (RRSIGs and NSEC3 included).
    pub fn record_count(&self) -> u64 {
        self.records
    }

    /// Number of names (empty non-terminals included, NSEC3 owners excluded).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// NSEC3 parameters, if the zone has an NSEC3 chain.
    pub fn nsec3param(&self) -> Option<&Nsec3Param> {
        self.nsec3param.as_ref()
    }

    /// Finds the node of a lowercased wire name.
    #[inline]
    pub fn lookup(&self, lname: &[u8]) -> Option<NodeId> {
        let h = hash_name(lname);
        self.index.find(h, |&id| self.node_name(id) == lname).copied()
    }

    /// A node.
    #[inline]
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id as usize]
    }

    /// A node's owner name (lowercase wire form).
    #[inline]
    pub fn node_name(&self, id: NodeId) -> &[u8] {
        let n = &self.nodes[id as usize];
        &self.names[n.name_off as usize..n.name_off as usize + n.name_len as usize]
    }

    /// The RRsets of a node, RRSIG sets included.
    #[inline]
    pub fn node_rrsets(&self, id: NodeId) -> &[RRset] {
        let n = &self.nodes[id as usize];
        &self.rrsets[n.rrset_start as usize..n.rrset_start as usize + n.rrset_count as usize]
    }

    /// First RRset id of a node (ids of its RRsets are consecutive).
    #[inline]
    pub fn node_first_rrset(&self, id: NodeId) -> RRsetId {
        self.nodes[id as usize].rrset_start
    }

    /// Finds a node's RRset of a type (not RRSIG).
    #[inline]
    pub fn find(&self, id: NodeId, rtype: u16) -> Option<RRsetId> {
        let n = &self.nodes[id as usize];
        let start = n.rrset_start as usize;
        let sets = &self.rrsets[start..start + n.rrset_count as usize];
        sets.iter().position(|s| s.rtype == rtype && rtype != t::RRSIG).map(|i| (start + i) as RRsetId)
    }

    /// An RRset.
    #[inline]
    pub fn rrset(&self, id: RRsetId) -> &RRset {
        &self.rrsets[id as usize]
    }

    /// Iterates the RDATA of an RRset's records.
    #[inline]
    pub fn rdatas(&self, id: RRsetId) -> Rdatas<'_> {
        let s = &self.rrsets[id as usize];
        Rdatas { data: &self.data[s.data_off as usize..s.data_off as usize + s.data_len as usize] }
    }

    /// The first record's RDATA.
    pub fn first_rdata(&self, id: RRsetId) -> &[u8] {
        self.rdatas(id).next().unwrap_or(&[])
    }

    /// Nodes linked from an RRset (NS/MX/SRV targets inside the zone).
    #[inline]
    pub fn links(&self, id: RRsetId) -> &[NodeId] {
        let s = &self.rrsets[id as usize];
        &self.links[s.links_off as usize..s.links_off as usize + s.links_len as usize]
    }

    /// The node whose name is the closest predecessor of `lname` (or
    /// equal to it) in canonical order among nodes that own an NSEC
    /// record; wraps around to the last one (the NSEC chain is circular).
    pub fn nsec_covering(&self, lname: &[u8]) -> Option<NodeId> {
        if self.nodes.is_empty() {
            return None;
        }
        let mut i = match self.nodes.binary_search_by(|n| {
            let nm = &self.names[n.name_off as usize..n.name_off as usize + n.name_len as usize];
            name::canonical_cmp(nm, lname)
        }) {
            Ok(i) => i,
            Err(0) => self.nodes.len() - 1,
            Err(i) => i - 1,
        };
        for _ in 0..self.nodes.len() {
            if self.nodes[i].has(nf::NSEC) {
                return Some(i as NodeId);
            }
            i = if i == 0 { self.nodes.len() - 1 } else { i - 1 };
        }
        None
    }

    //--- NSEC3

    /// The NSEC3 node whose hash equals `hash`.
    pub fn nsec3_match(&self, hash: &[u8]) -> Option<NodeId> {
        self.nsec3_search(hash).ok().map(|i| self.nsec3_chain[i].node)
    }

    /// The NSEC3 node whose hash is the closest predecessor of `hash`
    /// (the record that covers it), wrapping around.
    pub fn nsec3_covering(&self, hash: &[u8]) -> Option<NodeId> {
        if self.nsec3_chain.is_empty() {
            return None;
        }
        let i = match self.nsec3_search(hash) {
            Ok(i) => i,
            Err(0) => self.nsec3_chain.len() - 1,
            Err(i) => i - 1,
        };
        Some(self.nsec3_chain[i].node)
    }

    fn nsec3_search(&self, hash: &[u8]) -> Result<usize, usize> {
        self.nsec3_chain.binary_search_by(|e| self.nsec3_hash(e).cmp(hash))
    }

    fn nsec3_hash(&self, e: &Nsec3Entry) -> &[u8] {
        &self.nsec3_hashes[e.hash_off as usize..e.hash_off as usize + e.hash_len as usize]
    }

    /// An NSEC3 node (owner name, RRsets).
    pub fn nsec3_node(&self, id: NodeId) -> &Node {
        &self.nsec3_nodes[id as usize]
    }

    /// An NSEC3 node's owner name.
    pub fn nsec3_node_name(&self, id: NodeId) -> &[u8] {
        let n = &self.nsec3_nodes[id as usize];
        &self.names[n.name_off as usize..n.name_off as usize + n.name_len as usize]
    }

    /// The NSEC3 RRset of an NSEC3 node.
    pub fn nsec3_rrset(&self, id: NodeId) -> Option<RRsetId> {
        let n = &self.nsec3_nodes[id as usize];
        let start = n.rrset_start as usize;
        self.rrsets[start..start + n.rrset_count as usize]
            .iter()
            .position(|s| s.rtype == t::NSEC3)
            .map(|i| (start + i) as RRsetId)
    }

    /// First RRset id and RRset count of an NSEC3 node.
    pub fn nsec3_node_rrsets(&self, id: NodeId) -> (RRsetId, u32) {
        let n = &self.nsec3_nodes[id as usize];
        (n.rrset_start, n.rrset_count as u32)
    }

    /// True if some name owns an NSEC record (an NSEC-signed zone).
    pub fn has_nsec(&self) -> bool {
        self.nsec_nodes > 0
    }

    /// Number of NSEC3 nodes.
    pub fn nsec3_count(&self) -> usize {
        self.nsec3_nodes.len()
    }

    /// Hashes a name with the zone's NSEC3 parameters (RFC 5155 §5).
    /// Returns the hash length written into `out`.
    pub fn nsec3_hash_name(&self, lname: &[u8], out: &mut [u8; 20]) -> Option<usize> {
        let p = self.nsec3param.as_ref()?;
        if p.alg != 1 {
            return None;
        }
        Some(crate::nsec3::hash(lname, &p.salt, p.iterations, out))
    }

    //--- iteration (zone transfer)

    /// All nodes in canonical order, then the NSEC3 nodes.
    pub fn all_rrsets(&self) -> impl Iterator<Item = (&[u8], RRsetId)> + '_ {
        let normal = (0..self.nodes.len() as u32).flat_map(move |id| {
            let n = &self.nodes[id as usize];
            let nm = self.node_name(id);
            (n.rrset_start..n.rrset_start + n.rrset_count as u32).map(move |r| (nm, r))
        });
        let n3 = (0..self.nsec3_nodes.len() as u32).flat_map(move |id| {
            let n = &self.nsec3_nodes[id as usize];
            let nm = self.nsec3_node_name(id);
            (n.rrset_start..n.rrset_start + n.rrset_count as u32).map(move |r| (nm, r))
        });
        normal.chain(n3)
    }
}

/// Iterator over the RDATA of an RRset.
pub struct Rdatas<'a> {
    data: &'a [u8],
}

impl<'a> Iterator for Rdatas<'a> {
    type Item = &'a [u8];
    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.data.len() < 2 {
            return None;
        }
        let l = u16::from_be_bytes([self.data[0], self.data[1]]) as usize;
        let r = &self.data[2..2 + l];
        self.data = &self.data[2 + l..];
        Some(r)
    }
}
