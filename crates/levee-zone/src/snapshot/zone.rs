//! The immutable zone snapshot.
//!
//! A [`Zone`] is built once by [`crate::snapshot::build`] (or by an incremental
//! [`crate::snapshot::reload`]) and never changes; readers share it through an
//! `Arc`. A query is a hash lookup and some slice reads, with no
//! per-record allocation.
//!
//! The names, in *canonical order* (RFC 4034 §6.1, empty non-terminals
//! included), are cut into **segments**: the apex alone in the first one,
//! then runs of up to 4096 consecutive names (a build option,
//! [`crate::BuildOptions::segment_names`]). A segment owns everything
//! of its names, with offsets and ids local to it:
//!
//! * `names`: the owner names, lowercased, in wire form;
//! * `nodes`: one entry per name. Each node knows its place in the tree
//!   through flags computed at load time: apex, zone cut, below a cut
//!   (glue or occluded), DNAME owner, "the walk from the apex meets a cut
//!   or DNAME before reaching me", has a wildcard child;
//! * `nodes` (8 octets each): name offset (24 bits) and label count (8),
//!   flags, and where the node's RRsets start. A node's name ends where
//!   the next node's starts, and its RRsets end where the next node's
//!   start (the names and RRsets are written in node order; the last
//!   node's end with the segment's `names` and `rrsets`);
//! * `rrsets`: the RRsets of each node, contiguous per node, in the order
//!   of the build's sort key: by type, each RRSIG set right after the set
//!   whose type it covers. An RRset (12 octets) holds its type, record
//!   count, TTL (with one flag, [`SIGNED`], in its top bit: TTLs are at
//!   most 2^31 - 1, RFC 2181 §8, and the build reads a larger one as 0)
//!   and where its block starts in `data`. The rest is derived from that
//!   layout:
//!   - an RRset's block ends where the next RRset's starts (the data is
//!     written in RRset order; the last one ends with `data`). For a type
//!     with links (NS, MX, SRV, SVCB, HTTPS: [`linked`]) it is the count
//!     of its links (one octet, or [`LINKS_WIDE`] and 2 octets for 255
//!     or more), its link targets (4 octets each, little-endian, read
//!     unaligned), then its records, so the links (a referral's glue) and
//!     the records are found without a walk; for another type it is its
//!     records;
//!   - a record is its RDATA alone when its length follows from its
//!     type ([`Form`]): A (4 octets) and AAAA (16) are fixed, and NS,
//!     CNAME, PTR and DNAME are one uncompressed name, which ends at its
//!     root label; any other type's record is a 2-octet length and the
//!     RDATA. The build refuses a record that does not fit its form (a
//!     transfer's A record of 3 octets), so the walk never goes astray;
//!   - an NS record whose target is the name of a node of the same
//!     segment that the RRset links to (a local link, below), octet for
//!     octet (the stored names are lowercase: a target written in
//!     another case stays written out), is one octet instead:
//!     [`NAME_REF`] + `j`, the RRset's link `j` (`j < 64`). A name never starts with an octet of 64 or more,
//!     so a walk tells the two apart by the first octet, and [`Rdatas`]
//!     gives the node's name in its place: no reader sees a reference.
//!     In a delegation-heavy zone (`x NS ns1.x.tld.` with glue) this is
//!     most in-zone targets: ~17 octets each;
//!   - its records are `count` records. The build refuses an RRset of a
//!     linked type of more than 65,535 records (FILE:LINE), so their
//!     count is exact (and so is the link count, at most one link per
//!     record); an RRset of another type may be larger (its count
//!     saturates) and its records are its whole block;
//!   - its RRSIG set is the next RRset, when the flag ([`SIGNED`]) says
//!     so (the build sets it when the next RRset of the same node is an
//!     RRSIG set covering this type: the node boundary is why it is a
//!     flag and not a look at the next RRset);
//!   - the type an RRSIG set covers is the first two octets of its first
//!     record's RDATA, after its length (the build groups RRSIGs by it).
//!
//!   Links: for NS, MX, SRV, SVCB and HTTPS the targets are pre-linked
//!   (additional data and glue, Knot's "adjust" step): a target in the
//!   same segment is its local index, one in another segment is
//!   [`REMOTE`] and the offset of its name in `link_names`, looked up
//!   when answering, so a segment never holds an id of another segment.
//!   Readers of records go through [`Rdatas`] ([`Zone::rdatas`],
//!   [`Segment::rdatas_at`], [`Segment::rdatas_in`] for a range of the
//!   stored records, `Rdatas::of` with the RRset's type for records not
//!   yet linked), which resolves references, never through `data`
//!   itself ([`Segment::rdata_at`] is the stored records, references
//!   included, for reload.rs's octet cursors; the build's
//!   `link_signatures` and [`Segment::covers_at`] read an RRSIG's type
//!   covered, always after a length). The references are made when the
//!   links are installed (build.rs `install_links`), so they point into
//!   the segment they are in: a reload that changes or removes the
//!   target's node rebuilds that segment (it holds the node), reading
//!   the old records resolved, and links the new one afresh.
//!
//! The zone holds its segments as `Arc`s in canonical order. A node or
//! RRset id is `slot << 16 | local` (slot: the segment's position in this
//! version), so reading a node is two indexings. Above the segments, each
//! version has its own hash table from lowercased name to node id (exact
//! lookups and the label-stripping closest-encloser search) and the
//! canonical position of each segment's first node; `nsec_covering`
//! binary-searches the segments by first name, then inside one.
//!
//! Because nothing inside a segment refers to another segment, consecutive
//! versions of a zone share the segments a reload did not touch: an
//! incremental reload ([`crate::snapshot::reload`]) rebuilds only the segments around
//! changed names, the name index and the apex.
//!
//! NSEC3 records live in a block of their own (segments in slots from
//! 0x8000, file order; the chain sorted by hash), so a hashed owner name
//! never shows up in normal lookups. The block is rebuilt whole by every
//! reload of an NSEC3-signed zone.
//!
//! Assembling a zone also renders the SOA record of its negative answers
//! once ([`NegativeSoa::render`], at the end of this file; `negative.rs`
//! is that record and how an answer copies it).

use std::sync::Arc;

use levee_wire::name;

use crate::snapshot::index::NameIndex;
use crate::snapshot::negative::NegativeSoa;
use levee_wire::rtype::{c, t};
use levee_wire::soa::Soa;
use levee_wire::writer::{Owner, Section, Writer, COMP_MAX};

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

/// One name of the zone: 8 octets.
///
/// It stores where its name and its RRsets start; where they end is the
/// next node's start (or, for a segment's last node, the end of the
/// segment's names and RRsets): a segment's names and RRsets are written
/// in node order. Why each width is enough: the name offset (24 bits) is
/// an offset into the segment's names, and a segment holds at most
/// [`SEG_MAX`] names (the build's segment size is at most 4096, the NSEC3
/// block's too) of at most 255 octets: 65,536 x 255 = 16,711,680 <
/// 2^24; the label count (8 bits) is at most 127 (RFC 1035 §3.1);
/// `rrset_start` is an index into the segment's RRsets, of which a
/// segment holds fewer than [`SEG_MAX`] (the build refuses more: "too
/// many RRsets at one name", or starts a new segment).
#[derive(Clone, Copy, Debug)]
pub struct Node {
    /// Name offset (low 24 bits) and label count (top 8 bits).
    name: u32,
    /// Flags ([`nf`]).
    pub flags: u16,
    pub(crate) rrset_start: u16,
}

/// Bits of [`Node`]'s name offset.
const NAME_OFF_BITS: u32 = 24;

impl Node {
    /// A node whose name starts at `name_off` in its segment's names and
    /// whose RRsets start at `rrset_start`.
    #[inline]
    pub(crate) fn new(name_off: usize, labels: u8, flags: u16, rrset_start: u16) -> Node {
        debug_assert!(name_off < 1 << NAME_OFF_BITS);
        Node { name: name_off as u32 | (labels as u32) << NAME_OFF_BITS, flags, rrset_start }
    }

    /// True if the flag is set.
    #[inline]
    pub fn has(&self, f: u16) -> bool {
        self.flags & f != 0
    }

    /// Label count below the root.
    #[inline]
    pub fn labels(&self) -> u8 {
        (self.name >> NAME_OFF_BITS) as u8
    }

    #[inline]
    fn name_off(&self) -> usize {
        (self.name & ((1 << NAME_OFF_BITS) - 1)) as usize
    }
}

/// One RRset (or the RRSIGs covering one type): 12 octets.
///
/// What it does not store, it derives from the segment's layout (see the
/// module docs): where its block of `data` ends (the next RRset's
/// `data_off`), where its links end and its records start inside that
/// block (after the link count and the links: [`Segment::links_at`]), the type an
/// RRSIG set covers (the first two octets of its first record:
/// [`Zone::covers`]), and its RRSIG set (the next RRset of the node,
/// flagged in the TTL's top bit: [`Zone::sigs`]).
#[derive(Clone, Copy, Debug)]
pub struct RRset {
    /// Type (RRSIG for signature sets).
    pub rtype: u16,
    /// Number of records, saturated at 65,535 (larger RRsets exist, of
    /// types without links: count them with [`Zone::rdatas`];
    /// [`Zone::record_count`] is exact). A type with links ([`linked`])
    /// never has more than 65,535 (the build refuses it), so its count
    /// is exact.
    pub count: u16,
    /// The TTL (at most 2^31 - 1, RFC 2181 §8: the build makes a larger
    /// one 0), with [`SIGNED`] set if the next RRset is the RRSIG set
    /// covering this one.
    pub(crate) ttl_sig: u32,
    /// Start of its block in the segment's `data`: for a linked type the
    /// link count and the link targets, then its records.
    pub(crate) data_off: u32,
}

impl RRset {
    /// The TTL.
    #[inline]
    pub fn ttl(&self) -> u32 {
        self.ttl_sig & !SIGNED
    }

    /// How many records [`Rdatas`] reads from its block: `count`, or
    /// all of the block when the count saturated (a type without links).
    #[inline]
    pub(crate) fn limit(&self) -> u32 {
        if self.count == u16::MAX && !linked(self.rtype) {
            u32::MAX
        } else {
            self.count as u32
        }
    }
}

/// [`RRset::ttl_sig`]'s flag: the RRset's signatures are the next RRset.
pub(crate) const SIGNED: u32 = 1 << 31;

/// How a type's records are stored: only a record whose length cannot
/// be known from its RDATA has a 2-octet length before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Form {
    /// Always this many octets (A: 4, AAAA: 16, RFC 1035 §3.4.1, RFC 3596).
    Fixed(u8),
    /// One uncompressed domain name, which ends at its root label (NS,
    /// CNAME, PTR, DNAME: RFC 1035 §3.3, RFC 6672).
    Name,
    /// A 2-octet length, then the RDATA.
    Prefixed,
}

/// The [`Form`] of a type's records.
#[inline]
pub(crate) fn form(rtype: u16) -> Form {
    match rtype {
        t::A => Form::Fixed(4),
        t::AAAA => Form::Fixed(16),
        t::NS | t::CNAME | t::PTR | t::DNAME => Form::Name,
        _ => Form::Prefixed,
    }
}

/// True if RDATA `rd` can be stored in form `f` (the build refuses a
/// record that cannot: an A record that is not 4 octets, an NS record
/// that is not one name).
pub(crate) fn fits(f: Form, rd: &[u8]) -> bool {
    match f {
        Form::Fixed(n) => rd.len() == n as usize,
        Form::Name => name::wire_len(rd) == Ok(rd.len()),
        Form::Prefixed => rd.len() <= u16::MAX as usize,
    }
}

/// Types whose RRsets carry links (additional-section targets) after
/// their records.
#[inline]
pub(crate) fn linked(rtype: u16) -> bool {
    matches!(rtype, t::NS | t::MX | t::SRV | t::SVCB | t::HTTPS)
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

/// Bits of a node or RRset id that are the index inside its segment.
pub(crate) const LOCAL_BITS: u32 = 16;
/// Most nodes (and RRsets) one segment holds.
pub(crate) const SEG_MAX: usize = 1 << LOCAL_BITS;
/// Slot of the first NSEC3 segment; ordinary segments use the slots below.
pub(crate) const N3_SLOT: usize = 0x8000;
/// A link to a node outside the segment: the rest is an offset into the
/// segment's `link_names`.
pub(crate) const REMOTE: u32 = 1 << 31;

#[inline]
pub(crate) fn make_id(slot: usize, local: usize) -> u32 {
    ((slot as u32) << LOCAL_BITS) | local as u32
}

#[inline]
fn split(id: u32) -> (usize, usize) {
    ((id >> LOCAL_BITS) as usize, (id & (SEG_MAX as u32 - 1)) as usize)
}

/// A run of consecutive nodes (canonical order) with everything they own.
/// Offsets and ids inside are local to the segment, so an unchanged
/// segment is shared (`Arc`) by consecutive versions of a zone.
#[derive(Default, Debug)]
pub(crate) struct Segment {
    pub(crate) names: Vec<u8>,
    pub(crate) nodes: Vec<Node>,
    pub(crate) rrsets: Vec<RRset>,
    /// Each RRset's block: for a linked type, the count of its links,
    /// its link targets (4 octets each, little-endian: a local node
    /// index, or [`REMOTE`] | an offset into `link_names`, a lowercase
    /// name looked up when answering) and its records; for another type,
    /// its records (in the [`Form`] of its type, an in-segment NS target
    /// as a [`NAME_REF`]).
    pub(crate) data: Vec<u8>,
    pub(crate) link_names: Vec<u8>,
    pub(crate) records: u64,
    pub(crate) nsec_nodes: u32,
}

impl Segment {
    /// The segment with no spare capacity (it never grows again).
    pub(crate) fn sealed(mut self) -> Segment {
        self.names.shrink_to_fit();
        self.nodes.shrink_to_fit();
        self.rrsets.shrink_to_fit();
        self.data.shrink_to_fit();
        self
    }

    /// The name of node `local`: up to the next node's (the names are
    /// written in node order), or to the end of the names for the last.
    #[inline]
    pub(crate) fn name(&self, local: usize) -> &[u8] {
        let end = self.nodes.get(local + 1).map_or(self.names.len(), Node::name_off);
        &self.names[self.nodes[local].name_off()..end]
    }

    /// Where `lname` is among the segment's names (`Ok`: node `i` has
    /// it; `Err(i)`: it would be node `i`), in canonical order.
    pub(crate) fn search(&self, lname: &[u8]) -> Result<usize, usize> {
        let (mut lo, mut hi) = (0, self.nodes.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match name::canonical_cmp(self.name(mid), lname) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Ok(mid),
            }
        }
        Err(lo)
    }

    pub(crate) fn first_name(&self) -> &[u8] {
        self.name(0)
    }

    pub(crate) fn last_name(&self) -> &[u8] {
        self.name(self.nodes.len() - 1)
    }

    #[inline]
    pub(crate) fn sets(&self, local: usize) -> &[RRset] {
        &self.rrsets[self.set_range(local)]
    }

    /// Indexes (in `rrsets`) of a node's RRsets: up to the next node's
    /// first (the RRsets are written in node order), or to the end of the
    /// RRsets for the last node.
    #[inline]
    pub(crate) fn set_range(&self, local: usize) -> std::ops::Range<usize> {
        let end = self.nodes.get(local + 1).map_or(self.rrsets.len(), |n| n.rrset_start as usize);
        self.nodes[local].rrset_start as usize..end
    }

    /// The block of RRset `i` (its links if its type has them, then its
    /// records): from its
    /// `data_off` to the next RRset's (the data is laid out in RRset
    /// order), or to the end of the data for the last one.
    #[inline]
    pub(crate) fn block_at(&self, i: usize) -> &[u8] {
        let end = self.rrsets.get(i + 1).map_or(self.data.len(), |n| n.data_off as usize);
        &self.data[self.rrsets[i].data_off as usize..end]
    }

    /// The records of RRset `i`, in the [`Form`] of its type, each
    /// reference to a node's name resolved.
    #[inline]
    pub(crate) fn rdatas_at(&self, i: usize) -> Rdatas<'_> {
        let s = &self.rrsets[i];
        let (links, data) = self.split_at(i);
        Rdatas { data, left: s.limit(), form: form(s.rtype), links, seg: self }
    }

    /// The records stored in `rdata_at(i)[range]` (a range that starts
    /// and ends at record boundaries), references resolved: for a reader
    /// that keeps a cursor into the stored records (reload.rs), where
    /// [`Rdatas::rest`] says how far it read.
    #[inline]
    pub(crate) fn rdatas_in(&self, i: usize, range: std::ops::Range<usize>) -> Rdatas<'_> {
        let s = &self.rrsets[i];
        let (links, data) = self.split_at(i);
        Rdatas { data: &data[range], left: u32::MAX, form: form(s.rtype), links, seg: self }
    }

    /// The records of RRset `i` as stored (references included): its
    /// block after its links.
    #[inline]
    pub(crate) fn rdata_at(&self, i: usize) -> &[u8] {
        self.split_at(i).1
    }

    /// The link targets of RRset `i` (4 octets each, little-endian),
    /// after their count at the start of its block.
    #[inline]
    pub(crate) fn links_at(&self, i: usize) -> &[u8] {
        self.split_at(i).0
    }

    /// RRset `i`'s block cut into its links and its records: a type
    /// with links ([`linked`]) starts with their count (one octet below
    /// [`LINKS_WIDE`], else that octet and the count in 2 octets), then
    /// the links, then the records; another type's block is its records.
    #[inline]
    fn split_at(&self, i: usize) -> (&[u8], &[u8]) {
        let b = self.block_at(i);
        if !linked(self.rrsets[i].rtype) {
            return (&[], b);
        }
        let (head, n) = match b[0] {
            LINKS_WIDE => (3, u16::from_be_bytes([b[1], b[2]]) as usize),
            n => (1, n as usize),
        };
        b[head..].split_at(4 * n)
    }

    /// The type RRset `i` covers if it is an RRSIG set (the type covered
    /// of its first record, RFC 4034 §3.1.1; the build groups RRSIGs by
    /// it), else 0.
    #[inline]
    pub(crate) fn covers_at(&self, i: usize) -> u16 {
        let s = &self.rrsets[i];
        if s.rtype != t::RRSIG {
            return 0;
        }
        let o = s.data_off as usize + 2;
        self.data.get(o..o + 2).map_or(0, |b| u16::from_be_bytes([b[0], b[1]]))
    }
}

/// The NSEC3 part of a zone: its own segments (slots from [`N3_SLOT`]),
/// the chain sorted by hash.
#[derive(Default)]
pub(crate) struct Nsec3Block {
    pub(crate) segs: Vec<Segment>,
    pub(crate) seg_first: Vec<u32>,
    pub(crate) count: usize,
    pub(crate) chain: Vec<Nsec3Entry>,
    pub(crate) hashes: Vec<u8>,
    pub(crate) records: u64,
}

/// An immutable, query-ready zone.
pub struct Zone {
    pub(crate) apex: Vec<u8>,
    /// Segments in canonical order; a node's slot is its segment's position.
    pub(crate) segs: Vec<Arc<Segment>>,
    /// Ordinal (canonical position) of each segment's first node.
    pub(crate) seg_first: Vec<u32>,
    /// Name index (index.rs): 16-bit tags and node ids; a name that is not
    /// in the zone costs one probe of the tags.
    pub(crate) index: NameIndex,
    pub(crate) n3: Arc<Nsec3Block>,
    pub(crate) nsec3param: Option<Nsec3Param>,
    pub(crate) apex_id: NodeId,
    pub(crate) soa: RRsetId,
    pub(crate) serial: u32,
    pub(crate) records: u64,
    pub(crate) nsec_nodes: u32,
    pub(crate) node_count: usize,
    /// The SOA of negative answers, pre-rendered (negative.rs).
    pub(crate) negative: Option<crate::snapshot::negative::NegativeSoa>,
    /// Signs denial answers as they are asked (compact denial, RFC 9824),
    /// for a zone signed without an NSEC or NSEC3 chain.
    pub(crate) online: Option<std::sync::Arc<dyn OnlineSigner>>,
}

/// A signer for the answers a zone signed with compact denial (RFC 9824)
/// makes at query time: the NSEC of a name that does not exist (or has
/// no data of the type), and the answers synthesised from wildcards.
/// The daemon gives a zone one (`Zone::set_online_signer`) after
/// building it; the answering layer calls it.
pub trait OnlineSigner: Send + Sync {
    /// Writes into `out` the RDATA of the RRSIG, made at time `now`, of
    /// the RRset of `rtype` owned by `owner` (wire form, lowercase) with
    /// TTL `ttl` and records `rdatas`; returns its length, or `None` when
    /// no signature can be made now (a budget spent, `out` too small).
    fn sign(&self, owner: &[u8], rtype: u16, ttl: u32, rdatas: &[&[u8]], now: u32, out: &mut [u8]) -> Option<usize>;
}

/// The hash of a wire name in the name index and the build's tables:
/// [`name::hash_ignore_case`], finished. A query name in any letter case
/// hashes like its lowercase form, and a caller that hashed the name
/// already (the response cache's key) looks it up with
/// [`Zone::lookup_hashed`] without hashing it again.
#[inline]
pub(crate) fn hash_name(n: &[u8]) -> u64 {
    levee_wire::hash::mix(name::hash_ignore_case(n, 0, n.len()))
}

/// Bits of a name hash that neither hashbrown's bucket position (the low
/// bits) nor its 7-bit tag (the top bits) use (for [`crate::ZoneSet`]'s
/// index of apexes).
#[inline]
pub(crate) fn fingerprint(h: u64) -> u32 {
    (h >> 25) as u32
}

/// The name index of `segs` (`count` names in all). A big zone's names
/// are hashed on `threads` threads, each a run of segments, and the
/// index filled on as many, each a region of its slots
/// ([`NameIndex::insert_all`]).
fn name_index(segs: &[Arc<Segment>], count: usize, threads: usize) -> NameIndex {
    let mut index = NameIndex::with_capacity(count);
    if count < crate::snapshot::par::PAR_MIN || threads < 2 {
        for (slot, s) in segs.iter().enumerate() {
            for local in 0..s.nodes.len() {
                index.insert(hash_name(s.name(local)), make_id(slot, local));
            }
        }
        return index;
    }
    let starts = crate::snapshot::par::cut(segs.iter().map(|s| s.names.len() + 1), threads);
    let runs: Vec<std::ops::Range<usize>> =
        starts.iter().enumerate().map(|(k, &a)| a..starts.get(k + 1).copied().unwrap_or(segs.len())).collect();
    let hashes: Vec<Vec<u64>> = crate::snapshot::par::on_threads(runs, |run| {
        segs[run]
            .iter()
            .map(|s| (0..s.nodes.len()).map(|local| hash_name(s.name(local))).collect())
            .collect::<Vec<Vec<u64>>>()
    })
    .into_iter()
    .flatten()
    .collect();
    index.insert_all(&hashes, make_id, threads);
    index
}

impl Zone {
    /// Assembles a zone from its segments: builds the name index and the
    /// counters. The apex must be the first node of the first segment.
    pub(crate) fn assemble(
        apex: Vec<u8>,
        segs: Vec<Arc<Segment>>,
        n3: Arc<Nsec3Block>,
        nsec3param: Option<Nsec3Param>,
    ) -> Zone {
        Zone::assemble_on(apex, segs, n3, nsec3param, 1)
    }

    /// [`Zone::assemble`], the name index of a big zone built on
    /// `threads` threads ([`name_index`]).
    pub(crate) fn assemble_on(
        apex: Vec<u8>,
        segs: Vec<Arc<Segment>>,
        n3: Arc<Nsec3Block>,
        nsec3param: Option<Nsec3Param>,
        threads: usize,
    ) -> Zone {
        let mut seg_first = Vec::with_capacity(segs.len());
        let mut count = 0usize;
        let mut records = n3.records;
        let mut nsec_nodes = 0;
        for s in &segs {
            seg_first.push(count as u32);
            count += s.nodes.len();
            records += s.records;
            nsec_nodes += s.nsec_nodes;
        }
        let index = name_index(&segs, count, threads);
        let apex_id = make_id(0, 0);
        let soa = segs
            .first()
            .and_then(|s| s.sets(0).iter().position(|r| r.rtype == t::SOA))
            .map_or(NONE, |i| make_id(0, segs[0].nodes[0].rrset_start as usize + i));
        let mut z = Zone {
            apex,
            segs,
            seg_first,
            index,
            n3,
            nsec3param,
            apex_id,
            soa,
            serial: 0,
            records,
            nsec_nodes,
            node_count: count,
            negative: None,
            online: None,
        };
        if soa != NONE {
            z.serial = levee_wire::soa::serial(z.first_rdata(soa)).unwrap_or(0);
            z.negative = crate::negative::NegativeSoa::render(&z);
        }
        z
    }

    #[inline]
    fn seg_of(&self, id: u32) -> (&Segment, usize) {
        let (slot, local) = split(id);
        if slot < N3_SLOT {
            (&self.segs[slot], local)
        } else {
            (&self.n3.segs[slot - N3_SLOT], local)
        }
    }

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

    /// True if a negative answer with DO set carries DNSSEC material: the
    /// SOA's RRSIG, NSEC or NSEC3 records. Without it the pre-rendered SOA
    /// is the whole authority section.
    pub fn has_negative_proofs(&self) -> bool {
        self.sigs(self.soa()) != NONE || self.nsec3param().is_some() || self.has_nsec()
    }

    /// True if the zone is signed: its SOA has an RRSIG (the test Knot
    /// DNS applies). Referrals from an unsigned zone carry no DS and no
    /// proof of its absence.
    #[inline]
    pub fn is_signed(&self) -> bool {
        self.sigs(self.soa()) != NONE
    }

    /// The online signer of a zone signed with compact denial.
    #[inline]
    pub fn online_signer(&self) -> Option<&dyn OnlineSigner> {
        self.online.as_deref()
    }

    /// Makes this zone answer with compact denial, signed by `s`.
    pub fn set_online_signer(&mut self, s: std::sync::Arc<dyn OnlineSigner>) {
        self.online = Some(s);
    }

    /// The SOA record of negative answers, rendered at load.
    #[inline]
    pub fn negative_soa(&self) -> Option<&crate::snapshot::negative::NegativeSoa> {
        self.negative.as_ref()
    }

    /// Number of records (RRSIGs and NSEC3 included).
    pub fn record_count(&self) -> u64 {
        self.records
    }

    /// Number of names (empty non-terminals included, NSEC3 owners excluded).
    pub fn node_count(&self) -> usize {
        self.node_count
    }

    /// Number of segments the names are stored in (ordinary, NSEC3).
    pub fn segment_count(&self) -> (usize, usize) {
        (self.segs.len(), self.n3.segs.len())
    }

    /// How many of this zone's segments are shared with `other` (the same
    /// memory, not copies): what an incremental reload kept.
    pub fn shared_segments(&self, other: &Zone) -> usize {
        let theirs: std::collections::HashSet<*const Segment> = other.segs.iter().map(Arc::as_ptr).collect();
        self.segs.iter().filter(|s| theirs.contains(&Arc::as_ptr(s))).count()
    }

    /// The node at a canonical position (`0..node_count()`).
    pub fn node_at(&self, ordinal: usize) -> NodeId {
        let slot = self.seg_first.partition_point(|&f| f as usize <= ordinal) - 1;
        make_id(slot, ordinal - self.seg_first[slot] as usize)
    }

    /// NSEC3 parameters, if the zone has an NSEC3 chain.
    pub fn nsec3param(&self) -> Option<&Nsec3Param> {
        self.nsec3param.as_ref()
    }

    /// Finds the node of a lowercased wire name.
    #[inline]
    pub fn lookup(&self, lname: &[u8]) -> Option<NodeId> {
        self.index.find(hash_name(lname), |id| self.node_name(id) == lname)
    }

    /// Finds the node of the wire name `qname`, in any letter case, whose
    /// [`name::hash_ignore_case`] is `name_hash` (a query name hashed
    /// once for the response cache is looked up without lowercasing or
    /// hashing it again).
    #[inline]
    pub fn lookup_hashed(&self, name_hash: u64, qname: &[u8]) -> Option<NodeId> {
        self.index.find(levee_wire::hash::mix(name_hash), |id| name::eq_lowercase(self.node_name(id), qname))
    }

    /// A node.
    #[inline]
    pub fn node(&self, id: NodeId) -> &Node {
        let (s, l) = self.seg_of(id);
        &s.nodes[l]
    }

    /// A node's owner name (lowercase wire form).
    #[inline]
    pub fn node_name(&self, id: NodeId) -> &[u8] {
        let (s, l) = self.seg_of(id);
        s.name(l)
    }

    /// The RRsets of a node, RRSIG sets included.
    #[inline]
    pub fn node_rrsets(&self, id: NodeId) -> &[RRset] {
        let (s, l) = self.seg_of(id);
        s.sets(l)
    }

    /// First RRset id of a node (ids of its RRsets are consecutive).
    #[inline]
    pub fn node_first_rrset(&self, id: NodeId) -> RRsetId {
        let (s, l) = self.seg_of(id);
        (id & !(SEG_MAX as u32 - 1)) | s.nodes[l].rrset_start as u32
    }

    /// Finds a node's RRset of a type (not RRSIG).
    #[inline]
    pub fn find(&self, id: NodeId, rtype: u16) -> Option<RRsetId> {
        let (s, l) = self.seg_of(id);
        let range = s.set_range(l);
        let start = range.start;
        s.rrsets[range]
            .iter()
            .position(|s| s.rtype == rtype && rtype != t::RRSIG)
            .map(|i| (id & !(SEG_MAX as u32 - 1)) | (start + i) as RRsetId)
    }

    /// An RRset.
    #[inline]
    pub fn rrset(&self, id: RRsetId) -> &RRset {
        let (s, l) = self.seg_of(id);
        &s.rrsets[l]
    }

    /// The RRSIG set covering an RRset, or [`NONE`].
    #[inline]
    pub fn sigs(&self, id: RRsetId) -> RRsetId {
        let (s, l) = self.seg_of(id);
        if s.rrsets[l].ttl_sig & SIGNED != 0 {
            id + 1
        } else {
            NONE
        }
    }

    /// The type an RRSIG set covers (0 for other RRsets).
    #[inline]
    pub fn covers(&self, id: RRsetId) -> u16 {
        let (s, l) = self.seg_of(id);
        s.covers_at(l)
    }

    /// Iterates the RDATA of an RRset's records.
    #[inline]
    pub fn rdatas(&self, id: RRsetId) -> Rdatas<'_> {
        let (s, l) = self.seg_of(id);
        s.rdatas_at(l)
    }

    /// The first record's RDATA.
    pub fn first_rdata(&self, id: RRsetId) -> &[u8] {
        self.rdatas(id).next().unwrap_or(&[])
    }

    /// Nodes linked from an RRset: NS/MX/SRV targets inside the zone that
    /// own A or AAAA records, in RDATA order, each once. A target in the
    /// RRset's own segment is a stored index; one elsewhere is found by
    /// name, so a segment stays valid when other segments are replaced.
    #[inline]
    pub fn links(&self, id: RRsetId) -> Links<'_> {
        let (s, l) = self.seg_of(id);
        Links { zone: self, seg: s, base: id & !(SEG_MAX as u32 - 1), raw: s.links_at(l) }
    }

    /// True if [`Zone::links`] yields something.
    #[inline]
    pub fn has_links(&self, id: RRsetId) -> bool {
        self.links(id).next().is_some()
    }

    /// The node whose name is the closest predecessor of `lname` (or
    /// equal to it) in canonical order among nodes that own an NSEC
    /// record; wraps around to the last one (the NSEC chain is circular).
    pub fn nsec_covering(&self, lname: &[u8]) -> Option<NodeId> {
        if self.node_count == 0 || self.nsec_nodes == 0 {
            return None;
        }
        let k = self.segs.partition_point(|s| name::canonical_cmp(s.first_name(), lname).is_le());
        let (mut slot, mut i) = if k == 0 {
            (self.segs.len() - 1, self.segs[self.segs.len() - 1].nodes.len() - 1)
        } else {
            let s = &self.segs[k - 1];
            match s.search(lname) {
                Ok(i) => (k - 1, i),
                Err(i) => (k - 1, i - 1),
            }
        };
        for _ in 0..self.node_count {
            if self.segs[slot].nodes[i].has(nf::NSEC) {
                return Some(make_id(slot, i));
            }
            if i > 0 {
                i -= 1;
            } else {
                slot = if slot == 0 { self.segs.len() - 1 } else { slot - 1 };
                i = self.segs[slot].nodes.len() - 1;
            }
        }
        None
    }

    /// The node right after `id` in canonical order, if any.
    pub fn next_node(&self, id: NodeId) -> Option<NodeId> {
        let (slot, local) = split(id);
        if local + 1 < self.segs[slot].nodes.len() {
            Some(make_id(slot, local + 1))
        } else {
            (slot + 1..self.segs.len()).find(|&s| !self.segs[s].nodes.is_empty()).map(|s| make_id(s, 0))
        }
    }

    /// The node right before `id` in canonical order, if any.
    pub fn prev_node(&self, id: NodeId) -> Option<NodeId> {
        let (slot, local) = split(id);
        if local > 0 {
            return Some(make_id(slot, local - 1));
        }
        (0..slot).rev().find(|&s| !self.segs[s].nodes.is_empty()).map(|s| make_id(s, self.segs[s].nodes.len() - 1))
    }

    /// The last node at or before `lname` in canonical order (`None`
    /// before the apex).
    pub fn node_at_or_before(&self, lname: &[u8]) -> Option<NodeId> {
        let k = self.segs.partition_point(|s| s.nodes.is_empty() || name::canonical_cmp(s.first_name(), lname).is_le());
        let s = self.segs.get(k.checked_sub(1)?)?;
        match s.search(lname) {
            Ok(i) => Some(make_id(k - 1, i)),
            Err(0) => self.prev_node(make_id(k - 1, 0)),
            Err(i) => Some(make_id(k - 1, i - 1)),
        }
    }

    /// Entries of the NSEC3 chain (sorted by hash).
    pub fn nsec3_chain_len(&self) -> usize {
        self.n3.chain.len()
    }

    /// The NSEC3 chain's entry `i`: its hash (raw) and node.
    pub fn nsec3_chain_at(&self, i: usize) -> (&[u8], NodeId) {
        let e = &self.n3.chain[i];
        (self.nsec3_hash(e), e.node)
    }

    /// Where `hash` is in the NSEC3 chain (`Ok`: found; `Err`: where it
    /// would go).
    pub fn nsec3_chain_search(&self, hash: &[u8]) -> Result<usize, usize> {
        self.nsec3_search(hash)
    }

    //--- NSEC3

    /// The NSEC3 node whose hash equals `hash`.
    pub fn nsec3_match(&self, hash: &[u8]) -> Option<NodeId> {
        self.nsec3_search(hash).ok().map(|i| self.n3.chain[i].node)
    }

    /// The NSEC3 node whose hash is the closest predecessor of `hash`
    /// (the record that covers it), wrapping around.
    pub fn nsec3_covering(&self, hash: &[u8]) -> Option<NodeId> {
        let chain = &self.n3.chain;
        if chain.is_empty() {
            return None;
        }
        let i = match self.nsec3_search(hash) {
            Ok(i) => i,
            Err(0) => chain.len() - 1,
            Err(i) => i - 1,
        };
        Some(chain[i].node)
    }

    fn nsec3_search(&self, hash: &[u8]) -> Result<usize, usize> {
        self.n3.chain.binary_search_by(|e| self.nsec3_hash(e).cmp(hash))
    }

    fn nsec3_hash(&self, e: &Nsec3Entry) -> &[u8] {
        &self.n3.hashes[e.hash_off as usize..e.hash_off as usize + e.hash_len as usize]
    }

    /// An NSEC3 node (owner name, RRsets).
    pub fn nsec3_node(&self, id: NodeId) -> &Node {
        self.node(id)
    }

    /// An NSEC3 node's owner name.
    pub fn nsec3_node_name(&self, id: NodeId) -> &[u8] {
        self.node_name(id)
    }

    /// The NSEC3 RRset of an NSEC3 node.
    pub fn nsec3_rrset(&self, id: NodeId) -> Option<RRsetId> {
        let (s, l) = self.seg_of(id);
        let start = s.nodes[l].rrset_start as usize;
        s.sets(l)
            .iter()
            .position(|s| s.rtype == t::NSEC3)
            .map(|i| (id & !(SEG_MAX as u32 - 1)) | (start + i) as RRsetId)
    }

    /// First RRset id and RRset count of an NSEC3 node.
    pub fn nsec3_node_rrsets(&self, id: NodeId) -> (RRsetId, u32) {
        (self.node_first_rrset(id), self.node_rrsets(id).len() as u32)
    }

    /// True if some name owns an NSEC record (an NSEC-signed zone).
    pub fn has_nsec(&self) -> bool {
        self.nsec_nodes > 0
    }

    /// Number of NSEC3 nodes.
    pub fn nsec3_count(&self) -> usize {
        self.n3.count
    }

    /// The NSEC3 node at a position (`0..nsec3_count()`, file order).
    pub fn nsec3_node_at(&self, ordinal: usize) -> NodeId {
        let k = self.n3.seg_first.partition_point(|&f| f as usize <= ordinal) - 1;
        make_id(N3_SLOT + k, ordinal - self.n3.seg_first[k] as usize)
    }

    /// Hashes a name with the zone's NSEC3 parameters (RFC 5155 §5).
    /// Returns the hash length written into `out`.
    pub fn nsec3_hash_name(&self, lname: &[u8], out: &mut [u8; 20]) -> Option<usize> {
        let p = self.nsec3param.as_ref()?;
        if p.alg != 1 {
            return None;
        }
        Some(crate::snapshot::nsec3::hash(lname, &p.salt, p.iterations, out))
    }

    //--- comparison

    /// True if `other` holds the same data: the same names with the same
    /// RRsets (type, TTL, and RDATA in the same order). Segments the two
    /// versions share are skipped, so comparing an incremental reload with
    /// the version it came from costs what was rebuilt; no allocation.
    pub fn same_data(&self, other: &Zone) -> bool {
        if self.apex != other.apex || self.records != other.records || self.node_count != other.node_count {
            return false;
        }
        let a: Vec<&Segment> = self.segs.iter().map(|s| &**s).collect();
        let b: Vec<&Segment> = other.segs.iter().map(|s| &**s).collect();
        if !same_nodes(&a, &b) {
            return false;
        }
        if Arc::ptr_eq(&self.n3, &other.n3) {
            return true;
        }
        let a: Vec<&Segment> = self.n3.segs.iter().collect();
        let b: Vec<&Segment> = other.n3.segs.iter().collect();
        same_nodes(&a, &b)
    }

    //--- iteration (zone transfer)

    /// All nodes in canonical order, then the NSEC3 nodes.
    pub fn all_rrsets(&self) -> impl Iterator<Item = (&[u8], RRsetId)> + '_ {
        let normal = self.segs.iter().enumerate().map(|(slot, s)| (slot, &**s));
        let n3 = self.n3.segs.iter().enumerate().map(|(k, s)| (N3_SLOT + k, s));
        normal.chain(n3).flat_map(|(slot, s)| {
            (0..s.nodes.len()).flat_map(move |l| {
                let nm = s.name(l);
                s.set_range(l).map(move |r| (nm, make_id(slot, r)))
            })
        })
    }
}

/// Walks the nodes of two segment lists in step (see [`Zone::same_data`]);
/// a segment both lists hold at the same point is skipped whole.
fn same_nodes(a: &[&Segment], b: &[&Segment]) -> bool {
    let (mut ia, mut la, mut ib, mut lb) = (0, 0, 0, 0);
    loop {
        while ia < a.len() && la >= a[ia].nodes.len() {
            (ia, la) = (ia + 1, 0);
        }
        while ib < b.len() && lb >= b[ib].nodes.len() {
            (ib, lb) = (ib + 1, 0);
        }
        if la == 0 && lb == 0 && ia < a.len() && ib < b.len() && std::ptr::eq(a[ia], b[ib]) {
            ia += 1;
            ib += 1;
            continue;
        }
        let (sa, sb) = match (a.get(ia), b.get(ib)) {
            (None, None) => return true,
            (Some(x), Some(y)) => (*x, *y),
            _ => return false,
        };
        if sa.name(la) != sb.name(lb) {
            return false;
        }
        let (xa, xb) = (sa.set_range(la), sb.set_range(lb));
        if xa.len() != xb.len() {
            return false;
        }
        // An RRSIG set's type covered is in its RDATA, compared here.
        for (i, j) in xa.zip(xb) {
            let (x, y) = (&sa.rrsets[i], &sb.rrsets[j]);
            // Compared resolved: the same name may be a reference in one
            // segment and written out in the other.
            if (x.rtype, x.ttl(), x.count) != (y.rtype, y.ttl(), y.count) || !sa.rdatas_at(i).eq(sb.rdatas_at(j)) {
                return false;
            }
        }
        la += 1;
        lb += 1;
    }
}

/// Iterator over an RRset's linked nodes ([`Zone::links`]).
pub struct Links<'a> {
    zone: &'a Zone,
    seg: &'a Segment,
    base: u32,
    raw: &'a [u8],
}

impl Iterator for Links<'_> {
    type Item = NodeId;
    #[inline]
    fn next(&mut self) -> Option<NodeId> {
        while let Some((l, rest)) = self.raw.split_first_chunk::<4>() {
            let l = u32::from_le_bytes(*l);
            self.raw = rest;
            if l & REMOTE == 0 {
                return Some(self.base | l);
            }
            let off = (l & !REMOTE) as usize;
            let len = name::wire_len(&self.seg.link_names[off..]).unwrap_or(0);
            let target = &self.seg.link_names[off..off + len];
            if let Some(id) = self.zone.lookup(target) {
                if self.zone.find(id, t::A).is_some() || self.zone.find(id, t::AAAA).is_some() {
                    return Some(id);
                }
            }
        }
        None
    }
}

/// Iterator over the RDATA of an RRset: at most `left` records of
/// `data` (an RRset's records, after its links), in
/// the [`Form`] of the RRset's type, each reference ([`NAME_REF`])
/// resolved to the name of the node it stands for.
pub struct Rdatas<'a> {
    pub(crate) data: &'a [u8],
    pub(crate) left: u32,
    pub(crate) form: Form,
    /// The RRset's links, which references index.
    pub(crate) links: &'a [u8],
    /// The segment whose names the links index.
    pub(crate) seg: &'a Segment,
}

/// The first octet of a block whose link count takes the next 2 octets
/// ([`Segment::links_at`]).
pub(crate) const LINKS_WIDE: u8 = 0xFF;

/// The segment of [`Rdatas::of`]: records outside a segment hold no
/// references.
static NO_SEGMENT: Segment = Segment {
    names: Vec::new(),
    nodes: Vec::new(),
    rrsets: Vec::new(),
    data: Vec::new(),
    link_names: Vec::new(),
    records: 0,
    nsec_nodes: 0,
};

impl<'a> Rdatas<'a> {
    /// All the records of `data` (records only, no links, no references:
    /// the build's records before they are linked), of type `rtype`.
    #[inline]
    pub(crate) fn of(rtype: u16, data: &'a [u8]) -> Self {
        Rdatas { data, left: u32::MAX, form: form(rtype), links: &[], seg: &NO_SEGMENT }
    }

    /// Octets the iterator has not read yet.
    #[inline]
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.data
    }

    /// The next record as stored: a reference is its one octet.
    #[inline]
    pub(crate) fn next_stored(&mut self) -> Option<&'a [u8]> {
        if self.left == 0 || self.data.is_empty() {
            return None;
        }
        self.left -= 1;
        let (start, end) = match self.form {
            Form::Fixed(n) => (0, n as usize),
            Form::Name if self.data[0] >= NAME_REF => (0, 1),
            // The build stored only names that end in the data (`fits`).
            Form::Name => {
                let mut i = 0;
                while self.data[i] != 0 {
                    i += 1 + self.data[i] as usize;
                }
                (0, i + 1)
            }
            Form::Prefixed => (2, 2 + u16::from_be_bytes([self.data[0], self.data[1]]) as usize),
        };
        let r = &self.data[start..end];
        self.data = &self.data[end..];
        Some(r)
    }
}

impl<'a> Iterator for Rdatas<'a> {
    type Item = &'a [u8];
    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        let r = self.next_stored()?;
        if self.form != Form::Name || r[0] < NAME_REF {
            return Some(r);
        }
        // A reference: the RRset's link `j`.
        let j = 4 * (r[0] - NAME_REF) as usize;
        let l = u32::from_le_bytes(self.links[j..j + 4].try_into().expect("4 octets"));
        Some(self.seg.name(l as usize))
    }
}

/// A stored NS record that is this octet plus `j` (`j < 64`) stands for
/// the name of the node of its RRset's link `j`: the build stores so an NS target
/// linked to a node of the same segment whose name it equals octet for
/// octet (a target in another letter case is written out). A stored name
/// never starts with an octet of 64 or more (a label is at most 63
/// octets), so the first octet tells the two apart.
pub(crate) const NAME_REF: u8 = 0xC0;

// The negative SOA is rendered here, from the snapshot's SOA RRset, when
// `Zone::assemble` builds a zone; `negative.rs` holds the record and the
// copy an answer makes, and knows nothing of `Zone`.
impl NegativeSoa {
    /// Renders the SOA of `zone`; `None` if the zone has no SOA record or
    /// its names leave no room in the compression table.
    pub fn render(zone: &Zone) -> Option<Self> {
        let soa = zone.soa();
        let apex = zone.apex();
        let s = zone.rrset(soa);
        let rd = zone.first_rdata(soa);
        if s.rtype != t::SOA {
            return None;
        }
        let ttl = s.ttl().min(Soa::from_rdata(rd)?.minimum());
        let mut buf = vec![0u8; 65535];
        let mut w = Writer::new(&mut buf, 65535);
        let mut question = apex.to_vec();
        question.extend_from_slice(&t::SOA.to_be_bytes());
        question.extend_from_slice(&c::IN.to_be_bytes());
        w.start(0, 0, &question).ok()?;
        let before = w.compression_targets();
        let mut records = 0u16;
        for rd in zone.rdatas(soa) {
            w.rr(Section::Authority, Owner::Name(apex), t::SOA, c::IN, ttl, rd).ok()?;
            records += 1;
        }
        let targets = w.compression_targets() - before;
        if w.compression_targets() >= COMP_MAX {
            return None;
        }
        let start = 12 + question.len();
        let end = w.finish();
        let bytes = buf[start..end].to_vec();
        // Where the pointers are: owner, fixed fields, then for SOA the two
        // compressed names of the RDATA.
        let mut ptrs = Vec::new();
        let mut pos = 0;
        for _ in 0..records {
            pos = pointers_in_name(&bytes, pos, &mut ptrs)?;
            let rdlen = u16::from_be_bytes([*bytes.get(pos + 8)?, *bytes.get(pos + 9)?]) as usize;
            pos += 10;
            let rd_end = pos + rdlen;
            pos = pointers_in_name(&bytes, pos, &mut ptrs)?;
            pos = pointers_in_name(&bytes, pos, &mut ptrs)?;
            if pos > rd_end {
                return None;
            }
            pos = rd_end;
        }
        if pos != bytes.len() {
            return None;
        }
        let mut below_apex = Vec::new();
        let apex_labels = name::label_count(apex);
        let mname_len = name::wire_len(rd).ok()?;
        let rname_len = name::wire_len(&rd[mname_len..]).ok()?;
        for n in [&rd[..mname_len], &rd[mname_len..mname_len + rname_len]] {
            let n = name::to_lowercase(n);
            if !name::is_subdomain(&n, apex) {
                continue;
            }
            let labels = name::label_count(&n);
            for extra in 1..=labels.saturating_sub(apex_labels) {
                below_apex.push(name::strip_labels(&n, labels - apex_labels - extra).to_vec());
            }
        }
        Some(NegativeSoa { bytes, ptrs, records, targets, below_apex, apex_len: apex.len() })
    }
}

/// Walks a compressed name at `pos`, noting the offset of its pointer.
fn pointers_in_name(b: &[u8], mut pos: usize, ptrs: &mut Vec<u16>) -> Option<usize> {
    loop {
        let l = *b.get(pos)?;
        if l & 0xC0 == 0xC0 {
            ptrs.push(pos as u16);
            return Some(pos + 2);
        }
        if l == 0 {
            return Some(pos + 1);
        }
        if l & 0xC0 != 0 {
            return None;
        }
        pos += 1 + l as usize;
    }
}
