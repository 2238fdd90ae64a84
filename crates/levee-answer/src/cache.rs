//! A per-worker cache of rendered UDP responses.
//!
//! The answering stages ([`respond_query`](crate::respond::respond_query))
//! are a pure function of the query bytes, the zone snapshot, the
//! configuration and (for cookies and transfer ACLs only) the client and
//! the time. For a *plain* query — opcode QUERY, one question
//! in class IN, no answer or authority records, at most an OPT record
//! without options — the response is therefore fixed by the snapshot, the
//! header flags, the lowercased name, the type, and the OPT fields (payload
//! size, DO and the other flag bits): two plain queries that agree on these
//! are the same bytes except for the ID and the letter case of the name.
//! The cache stores the first response for such a key and answers the
//! next ones by copying it, writing the query's ID and copying the query's
//! question over the response's question (so the client gets its own
//! letter case back, which is all the case information a response
//! carries: the writer compresses names into the question, and responses
//! that copy qname labels elsewhere — DNAME synthesis — are not cached).
//!
//! Everything else (EDNS options such as COOKIE or NSID, TSIG, transfers,
//! other classes, responses longer than [`MAX_CACHED`]) bypasses the cache.
//!
//! Memory is fixed when the worker starts: a direct-mapped table of
//! entries (key, metadata, length) beside a table of fixed-size response
//! buffers, allocated zeroed so that, on fresh pages, the system commits
//! a buffer's pages only when a response is first stored there (an idle
//! worker costs the ~128 KiB of entries, not 2.5 MiB); a new entry
//! replaces the old one in its slot. A response is only stored the second time its key misses (a
//! small table of recently missed key hashes decides), so a flood of
//! random names — each seen once — neither evicts the hot entries nor pays
//! for copying its responses into the table. The cache holds the snapshot it was filled from and empties
//! itself (in O(1), by epoch) when the worker sees a different one, so a
//! reload never serves stale bytes. Each entry also keeps a `Copy` value
//! of the caller's choosing (the response's metadata for the rate-limit
//! stage), returned on a hit exactly as it was stored on the miss, and
//! seen ([`ResponseCache::find`]) before the response is copied
//! ([`ResponseCache::copy`]): the worker's policy stage judges a hit first.

use std::sync::Arc;

use levee_wire::edns::{Edns, OptRef, OPT_LEN};
use levee_wire::header::{self, flag, Header, HeaderRef, HEADER_LEN, OPCODE_MASK};
use levee_wire::name::{self, NameBuf};
use levee_wire::query::{Query, QuestionRef};
use levee_wire::record;
use levee_wire::rtype::{c, t};
use levee_zone::ZoneSet;

use crate::request::{size_limit, Config, Transport};

/// Largest response kept (the default EDNS payload limit).
pub const MAX_CACHED: usize = 1232;
/// Default number of entries (about 2.5 MiB per worker).
pub const DEFAULT_SLOTS: usize = 2048;

/// What [`ResponseCache::find`] found.
pub(crate) enum Find<'c, M> {
    /// A stored response for this query: its metadata ([`Hit::meta`]) is
    /// seen first, and nothing is copied until [`Hit::copy`] (so a
    /// rate-limited or shed response costs a lookup, not a copy).
    Hit(Hit<'c, M>),
    /// Not cached yet: answer, then [`ResponseCache::insert`] with this key.
    Miss(Key),
    /// Not a plain query: answer without the cache.
    Bypass,
}

/// A response [`ResponseCache::find`] found.
pub(crate) struct Hit<'c, M> {
    entry: &'c Entry<M>,
    bytes: &'c [u8],
}

impl<M> Hit<'_, M> {
    /// The metadata stored with the response.
    #[inline]
    pub(crate) fn meta(&self) -> &M {
        &self.entry.meta
    }

    /// The key of the query the response answers.
    pub(crate) fn key(&self) -> &Key {
        &self.entry.key
    }

    /// Copies the response into `out`, with the ID and the question (its
    /// letter case) of `query`; returns its length.
    #[inline]
    pub(crate) fn copy(&self, query: &[u8], out: &mut [u8]) -> usize {
        let e = self.entry;
        let len = e.len as usize;
        out[..len].copy_from_slice(&self.bytes[..len]);
        header::copy_id(out, query);
        let qend = HEADER_LEN + e.key.qlen as usize;
        out[HEADER_LEN..qend].copy_from_slice(&query[HEADER_LEN..qend]);
        len
    }
}

/// The cache key of a plain query, computed from its bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key {
    hash: u64,
    /// [`name::hash_ignore_case`] of the question name (what a zone's name
    /// index is keyed on).
    name_hash: u64,
    /// Header flags word of the query, as received.
    flags: u16,
    /// Octets of the question section.
    qlen: u16,
    /// OPT: 0 = none, else 1 | DO and other flags << 16 | size limit << 32.
    edns: u64,
}

impl Key {
    /// Octets of the question section (from offset 12).
    pub fn question_len(&self) -> usize {
        self.qlen as usize
    }

    /// [`name::hash_ignore_case`] of the question name.
    pub fn name_hash(&self) -> u64 {
        self.name_hash
    }

    /// The query's header flags word.
    pub fn flags(&self) -> u16 {
        self.flags
    }

    /// The OPT record's flags (DO is the top bit), if the query had one.
    pub fn opt_flags(&self) -> Option<u16> {
        (self.edns != 0).then_some((self.edns >> 16) as u16)
    }

    /// The parsed form of the plain query this key was computed from:
    /// what [`parse_query`](levee_wire::query::parse_query) returns for
    /// it, read without walking the message again (the key's walk proved
    /// its shape: one question with a valid name, class IN, and at most an
    /// OPT record without options, version 0).
    pub fn query(&self, msg: &[u8]) -> Query {
        let qend = HEADER_LEN + self.qlen as usize;
        let h = HeaderRef::new(msg).expect("the key's query has a header");
        let question = QuestionRef::new(&msg[HEADER_LEN..qend]).expect("the key's query has a question");
        let edns = (self.edns != 0).then(|| {
            let o = OptRef::new(&msg[qend..]).expect("the key's query has OPT");
            Edns::bare(o.udp_size(), o.ttl())
        });
        Query {
            header: Header { id: h.id(), flags: self.flags, qdcount: 1, ancount: 0, nscount: 0, arcount: h.arcount() },
            has_question: true,
            qname: NameBuf::from_validated(question.name()),
            qtype: question.qtype(),
            qclass: c::IN,
            question_len: self.qlen as usize,
            edns,
            malformed: None,
            ixfr_serial: None,
            answer_records: 0,
            tsig: None,
        }
    }
}

/// An entry's key and metadata; its response is in
/// [`ResponseCache::bytes`] at the same index. The entries of a 2048-slot
/// cache (with the worker's metadata) take about 128 KiB, small enough to
/// stay in the CPU's L2 cache.
#[derive(Clone)]
struct Entry<M> {
    epoch: u32,
    len: u16,
    key: Key,
    meta: M,
}

/// Hit and miss counters of one cache.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Answers copied from the cache.
    pub hits: u64,
    /// Plain queries not found (answered, then offered to the cache).
    pub misses: u64,
    /// Queries that could not use the cache.
    pub bypassed: u64,
    /// Responses stored.
    pub inserts: u64,
    /// Responses not stored because their key had not missed before.
    pub first_misses: u64,
}

/// A per-worker response cache; `M` is the metadata kept with each response.
pub struct ResponseCache<M: Copy> {
    entries: Box<[Entry<M>]>,
    /// The responses of the entries (2.5 MiB for 2048), allocated zeroed
    /// (`calloc`): when the allocator maps fresh pages for them, the system
    /// gives pages only when an entry is first written, so a worker that
    /// stores few responses (or none: an idle one, a flood of random
    /// names) costs few pages. (Memory the allocator reuses, such as
    /// what a large zone load freed, it clears, touching it.)
    bytes: Box<[u8]>,
    /// Per entry: its epoch and the high half of its key's hash, in a
    /// table small enough to stay in the CPU cache (16 KiB for 2048
    /// entries). A lookup reads the entry only when its tag matches, so a
    /// query that misses (a random name) costs no access to the 2.5 MiB
    /// of entries.
    tags: Box<[(u32, u32)]>,
    mask: usize,
    /// Entries of another epoch are empty.
    epoch: u32,
    /// The snapshot the entries were rendered from.
    zones: Option<Arc<ZoneSet>>,
    /// Tags of keys that missed once (admission on the second miss).
    seen: Box<[u32]>,
    counters: Counters,
}

impl<M: Copy + Default> ResponseCache<M> {
    /// A cache of `slots` entries (rounded up to a power of two); with 0
    /// slots, a cache that stores nothing (every plain query misses).
    pub fn new(slots: usize) -> Self {
        let n = slots.max(1).next_power_of_two();
        // No table of missed keys: nothing is admitted.
        let seen = if slots == 0 { 0 } else { n * 4 };
        let empty = Entry {
            epoch: 0,
            len: 0,
            key: Key { hash: 0, name_hash: 0, flags: 0, qlen: 0, edns: 0 },
            meta: M::default(),
        };
        ResponseCache {
            entries: vec![empty; n].into_boxed_slice(),
            // Octets, all zero: `vec!` asks the allocator for zeroed memory
            // (for an array element type it would write every octet).
            bytes: vec![0u8; n * MAX_CACHED].into_boxed_slice(),
            tags: vec![(0, 0); n].into_boxed_slice(),
            mask: n - 1,
            epoch: 1,
            zones: None,
            seen: vec![0; seen].into_boxed_slice(),
            counters: Counters::default(),
        }
    }
}

impl<M: Copy> ResponseCache<M> {
    /// Hit and miss counts so far.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// Empties the cache.
    pub fn clear(&mut self) {
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            // After 2^32 clears, really wipe the epochs so no old entry matches.
            for e in self.entries.iter_mut() {
                e.epoch = 0;
            }
            for t in self.tags.iter_mut() {
                *t = (0, 0);
            }
            self.epoch = 1;
        }
    }

    /// Lets go of the snapshot the entries came from if `zones` replaced
    /// it (an idle worker calls this, so it does not keep a replaced zone
    /// set alive until its next query).
    pub fn release_stale(&mut self, zones: &Arc<ZoneSet>) {
        if self.zones.as_ref().is_some_and(|z| !Arc::ptr_eq(z, zones)) {
            self.clear();
            self.zones = None;
        }
    }

    /// Looks `query` up for a UDP answer from `zones` under `cfg`, to be
    /// copied into a buffer of `room` octets.
    #[inline]
    pub(crate) fn find(&mut self, zones: &Arc<ZoneSet>, cfg: &Config, query: &[u8], room: usize) -> Find<'_, M> {
        if !self.zones.as_ref().is_some_and(|z| Arc::ptr_eq(z, zones)) {
            self.clear();
            self.zones = Some(Arc::clone(zones));
        }
        let Some(key) = plain_key(query, cfg) else {
            self.counters.bypassed += 1;
            return Find::Bypass;
        };
        let slot = key.hash as usize & self.mask;
        if self.tags[slot] != (self.epoch, (key.hash >> 32) as u32) {
            self.counters.misses += 1;
            return Find::Miss(key);
        }
        let e = &self.entries[slot];
        if e.epoch == self.epoch
            && e.key == key
            && e.len as usize <= room
            && same_question(self.buffer(slot), query, key.qlen as usize)
        {
            self.counters.hits += 1;
            return Find::Hit(Hit { entry: &self.entries[slot], bytes: self.buffer(slot) });
        }
        self.counters.misses += 1;
        Find::Miss(key)
    }

    /// The response buffer of entry `slot`.
    #[inline]
    fn buffer(&self, slot: usize) -> &[u8] {
        &self.bytes[slot * MAX_CACHED..(slot + 1) * MAX_CACHED]
    }

    /// Offers `response` (the answer to the query `key` came from, rendered
    /// from the snapshot of the last lookup) with `meta`. It is stored if
    /// the key missed before (recently), and unless it is too long or may
    /// carry the query's letter case outside the question.
    pub fn insert(&mut self, key: &Key, response: &[u8], meta: M) {
        if self.seen.is_empty() {
            return;
        }
        let i = (key.hash >> 40) as usize & (self.seen.len() - 1);
        let tag = key.hash as u32 | 1;
        if self.seen[i] != tag {
            self.seen[i] = tag;
            self.counters.first_misses += 1;
            return;
        }
        let qend = HEADER_LEN + key.qlen as usize;
        if response.len() > MAX_CACHED || response.len() < qend || !case_only_in_question(response, qend) {
            return;
        }
        let slot = key.hash as usize & self.mask;
        self.tags[slot] = (self.epoch, (key.hash >> 32) as u32);
        let e = &mut self.entries[slot];
        e.epoch = self.epoch;
        e.key = *key;
        e.meta = meta;
        e.len = response.len() as u16;
        self.bytes[slot * MAX_CACHED..slot * MAX_CACHED + response.len()].copy_from_slice(response);
        self.counters.inserts += 1;
    }
}

/// The key of a plain query, or `None` if the query must bypass the cache.
fn plain_key(q: &[u8], cfg: &Config) -> Option<Key> {
    if q.len() < HEADER_LEN + 5 {
        return None;
    }
    let h = HeaderRef::new(q)?;
    let flags = h.flags();
    // QR=0 and opcode QUERY; QDCOUNT 1, no answer or authority records.
    if flags & (flag::QR | OPCODE_MASK) != 0 || !h.is_question_only() {
        return None;
    }
    let arcount = h.arcount();
    // Walk the (uncompressed) question name, then hash it lowercased.
    let mut pos = HEADER_LEN;
    loop {
        let l = *q.get(pos)? as usize;
        if l == 0 {
            break;
        }
        if l > 63 || pos + 1 + l >= q.len() || pos + 1 + l - HEADER_LEN >= 255 {
            return None;
        }
        pos += 1 + l;
    }
    pos += 1;
    let name_hash = name::hash_ignore_case(q, HEADER_LEN, pos);
    let question = QuestionRef::at(q, HEADER_LEN, pos)?;
    let (qtype, qclass) = (question.qtype(), question.qclass());
    if qclass != c::IN || matches!(qtype, t::AXFR | t::IXFR | t::OPT | t::TSIG) {
        return None;
    }
    pos += 4;
    let qlen = (pos - HEADER_LEN) as u16;
    let edns = match arcount {
        0 if q.len() == pos => 0,
        // An OPT record with a root owner, version 0 and no options.
        1 if q.len() == pos + OPT_LEN => {
            let opt = OptRef::new(&q[pos..])?;
            if !opt.is_bare_v0() {
                return None;
            }
            // The response size limit, as the protocol stage computes it.
            let limit = size_limit(Transport::Udp, Some(opt.udp_size()), cfg);
            1 | (opt.flags() as u64) << 16 | (limit as u64) << 32
        }
        _ => return None,
    };
    // Finished: the slot is taken from the low bits, and a bare multiply
    // leaves them blind to the high bits, where the type and flags went
    // (every type of one name would share a slot).
    let h = levee_wire::hash::mix(name_hash ^ (qtype as u64) << 48 ^ (flags as u64) << 32 ^ edns.rotate_left(17));
    Some(Key { hash: h, name_hash, flags, qlen, edns })
}

/// True if the response's question is the query's, ignoring letter case
/// in the name (type and class compared exactly).
fn same_question(resp: &[u8], query: &[u8], qlen: usize) -> bool {
    let (a, b) = (&resp[HEADER_LEN..HEADER_LEN + qlen], &query[HEADER_LEN..HEADER_LEN + qlen]);
    let n = qlen - 4;
    // Label lengths are below 64, so ASCII case folding leaves them alone.
    name::eq_ignore_case(&a[..n], &b[..n]) && a[n..] == b[n..]
}

/// False if the response may copy qname labels outside the question: a
/// DNAME in the answer section means a synthesised CNAME whose target
/// repeats the query's labels as sent.
fn case_only_in_question(r: &[u8], qend: usize) -> bool {
    let Some(h) = HeaderRef::new(r) else { return false };
    let mut pos = qend;
    for _ in 0..h.ancount() {
        match record::read_at(r, pos) {
            Some(rr) if rr.rtype() != t::DNAME => pos = rr.end,
            _ => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a lookup found, with a hit copied into the buffer.
    enum Lookup<M> {
        Hit(usize, M),
        Miss(Key),
        Bypass,
    }

    trait LookupExt<M> {
        fn lookup(&mut self, zones: &Arc<ZoneSet>, cfg: &Config, q: &[u8], out: &mut [u8]) -> Lookup<M>;
    }

    impl<M: Copy> LookupExt<M> for ResponseCache<M> {
        fn lookup(&mut self, zones: &Arc<ZoneSet>, cfg: &Config, q: &[u8], out: &mut [u8]) -> Lookup<M> {
            match self.find(zones, cfg, q, out.len()) {
                Find::Hit(h) => Lookup::Hit(h.copy(q, out), *h.meta()),
                Find::Miss(k) => Lookup::Miss(k),
                Find::Bypass => Lookup::Bypass,
            }
        }
    }

    fn query(id: u16, flags: u16, name: &[u8], qtype: u16, opt: Option<(u16, u16)>) -> Vec<u8> {
        let mut q = Vec::new();
        q.extend_from_slice(&id.to_be_bytes());
        q.extend_from_slice(&flags.to_be_bytes());
        q.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, opt.is_some() as u8]);
        q.extend_from_slice(name);
        q.extend_from_slice(&qtype.to_be_bytes());
        q.extend_from_slice(&1u16.to_be_bytes());
        if let Some((size, fl)) = opt {
            q.extend_from_slice(&[0, 0, 41]);
            q.extend_from_slice(&size.to_be_bytes());
            q.extend_from_slice(&[0, 0]);
            q.extend_from_slice(&fl.to_be_bytes());
            q.extend_from_slice(&[0, 0]);
        }
        q
    }

    const WWW: &[u8] = b"\x03www\x07example\x03com\x00";
    const WWW_UP: &[u8] = b"\x03WwW\x07exAMPLE\x03com\x00";

    fn key(q: &[u8]) -> Option<Key> {
        plain_key(q, &Config::default())
    }

    #[test]
    fn keys_ignore_case_and_id_only() {
        let k = key(&query(1, 0x0100, WWW, 1, None)).unwrap();
        assert_eq!(key(&query(9, 0x0100, WWW_UP, 1, None)), Some(k));
        for other in [
            query(1, 0x0000, WWW, 1, None),
            query(1, 0x0110, WWW, 1, None),
            query(1, 0x0100, WWW, 28, None),
            query(1, 0x0100, b"\x03wwx\x07example\x03com\x00", 1, None),
            query(1, 0x0100, WWW, 1, Some((1232, 0))),
        ] {
            assert_ne!(key(&other).unwrap(), k);
        }
        // EDNS: DO and the effective size limit matter, sizes above ours do not.
        let e = |size, fl| key(&query(1, 0, WWW, 1, Some((size, fl)))).unwrap();
        assert_eq!(e(1232, 0), e(4096, 0));
        assert_ne!(e(1232, 0), e(1232, 0x8000));
        assert_ne!(e(1232, 0), e(1200, 0));
        assert_eq!(e(100, 0), e(512, 0));
    }

    #[test]
    fn non_plain_queries_bypass() {
        let mut with_option = query(1, 0, WWW, 1, Some((1232, 0)));
        let n = with_option.len();
        with_option[n - 2..].copy_from_slice(&[0, 4]);
        with_option.extend_from_slice(&[0, 3, 0, 0]); // NSID
        let mut response = query(1, 0x8000, WWW, 1, None);
        response[2] |= 0x80;
        let mut two_q = query(1, 0, WWW, 1, None);
        two_q[5] = 2;
        let mut compressed = query(1, 0, b"\xc0\x0c", 1, None);
        compressed.extend_from_slice(&[0; 8]);
        let mut badvers = query(1, 0, WWW, 1, Some((1232, 0)));
        let v = badvers.len() - 5;
        badvers[v] = 1;
        let mut trailing = query(1, 0, WWW, 1, None);
        trailing.push(0);
        for q in [
            with_option,
            response,
            two_q,
            compressed,
            badvers,
            trailing,
            query(1, 0x2800, WWW, 1, None), // opcode UPDATE
            query(1, 0, WWW, t::AXFR, None),
            query(1, 0, WWW, t::IXFR, None),
            query(1, 0, &WWW[..WWW.len() - 1], 1, None), // name runs into the type
            vec![0; 11],
        ] {
            assert_eq!(key(&q), None, "{q:?}");
        }
        let mut ch = query(1, 0, WWW, 16, None);
        let n = ch.len();
        ch[n - 1] = 3;
        assert_eq!(key(&ch), None);
    }

    /// Every type of a name, and every flag variant, gets its own slot:
    /// a working set of a few hundred keys stays cached in 2048 slots. (A
    /// hash whose slot bits ignored the type put all types of a name in
    /// one slot, and the hit mix hit 48 % of the time instead of 94 %.)
    #[test]
    fn a_small_working_set_of_names_and_types_stays_cached() {
        let zones = Arc::new(ZoneSet::new());
        let cfg = Config::default();
        let mut cache: ResponseCache<u32> = ResponseCache::new(DEFAULT_SLOTS);
        let mut out = [0u8; 512];
        let mut keys = Vec::new();
        for i in 0..16u8 {
            let name = [&[4, b'h', b'o', b's', b'a' + i][..], b"\x07example\x03com\x00"].concat();
            for qtype in [1u16, 28, 15, 16, 2, 6, 33, 257] {
                for flags in [0x0000u16, 0x0100] {
                    keys.push(query(7, flags, &name, qtype, None));
                }
            }
        }
        for q in &keys {
            for _ in 0..2 {
                if let Lookup::Miss(k) = cache.lookup(&zones, &cfg, q, &mut out) {
                    let mut resp = q.clone();
                    resp[2] |= 0x80;
                    cache.insert(&k, &resp, 1);
                }
            }
        }
        let hits = keys.iter().filter(|q| matches!(cache.lookup(&zones, &cfg, q, &mut out), Lookup::Hit(..))).count();
        assert!(hits * 100 >= keys.len() * 90, "{hits} of {} keys still cached", keys.len());
    }

    #[test]
    fn hit_patches_id_and_case_and_returns_meta() {
        let zones = Arc::new(ZoneSet::new());
        let cfg = Config::default();
        let mut cache: ResponseCache<u32> = ResponseCache::new(16);
        let q1 = query(0x1111, 0x0100, WWW, 1, None);
        let mut out = [0u8; 512];
        let Lookup::Miss(k) = cache.lookup(&zones, &cfg, &q1, &mut out) else { panic!("first lookup must miss") };
        // A fake response: header, question, one A record pointing at the question.
        let mut resp = q1.clone();
        resp[2] |= 0x84;
        resp[7] = 1;
        resp.extend_from_slice(&[0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1]);
        // Stored on the second miss only.
        cache.insert(&k, &resp, 76);
        assert!(matches!(cache.lookup(&zones, &cfg, &q1, &mut out), Lookup::Miss(_)));
        cache.insert(&k, &resp, 77);
        let q2 = query(0x2222, 0x0100, WWW_UP, 1, None);
        let Lookup::Hit(n, meta) = cache.lookup(&zones, &cfg, &q2, &mut out) else { panic!("second lookup must hit") };
        assert_eq!(meta, 77);
        let mut want = resp.clone();
        want[..2].copy_from_slice(&[0x22, 0x22]);
        want[12..12 + WWW.len()].copy_from_slice(WWW_UP);
        assert_eq!(&out[..n], &want[..]);
        assert_eq!(cache.counters(), Counters { hits: 1, misses: 2, bypassed: 0, inserts: 1, first_misses: 1 });
        // A hit's metadata is seen before anything is copied.
        let Find::Hit(h) = cache.find(&zones, &cfg, &q2, 512) else { panic!("not a hit") };
        assert_eq!(*h.meta(), 77);

        // A new snapshot empties the cache.
        let zones2 = Arc::new(ZoneSet::new());
        assert!(matches!(cache.lookup(&zones2, &cfg, &q2, &mut out), Lookup::Miss(_)));
        // So does an explicit clear.
        cache.insert(&k, &resp, 1);
        cache.insert(&k, &resp, 1);
        assert!(matches!(cache.lookup(&zones2, &cfg, &q2, &mut out), Lookup::Hit(..)));
        cache.clear();
        assert!(matches!(cache.lookup(&zones2, &cfg, &q2, &mut out), Lookup::Miss(_)));
    }

    #[test]
    fn dname_and_oversized_responses_are_not_stored() {
        let zones = Arc::new(ZoneSet::new());
        let cfg = Config::default();
        let mut cache: ResponseCache<()> = ResponseCache::new(4);
        let q = query(1, 0, WWW, 1, None);
        let mut out = [0u8; 2048];
        let Lookup::Miss(k) = cache.lookup(&zones, &cfg, &q, &mut out) else { panic!() };
        let mut resp = q.clone();
        resp[2] |= 0x80;
        resp[7] = 1;
        // example.com DNAME x. (owner: pointer to the question's second label)
        resp.extend_from_slice(&[0xC0, 16, 0, 39, 0, 1, 0, 0, 0, 60, 0, 3, 1, b'x', 0]);
        cache.insert(&k, &resp, ());
        cache.insert(&k, &resp, ());
        let mut big = q.clone();
        big.resize(MAX_CACHED + 1, 0);
        cache.insert(&k, &big, ());
        cache.insert(&k, &big, ());
        assert!(matches!(cache.lookup(&zones, &cfg, &q, &mut out), Lookup::Miss(_)));
        assert_eq!(cache.counters().inserts, 0);
    }

    #[test]
    fn names_seen_once_do_not_evict_hot_entries() {
        let zones = Arc::new(ZoneSet::new());
        let cfg = Config::default();
        let mut cache: ResponseCache<u8> = ResponseCache::new(1); // one slot: every key collides
        let mut out = [0u8; 512];
        let answer = |q: &[u8]| {
            let mut r = q.to_vec();
            r[2] |= 0x80;
            r
        };
        let hot = query(1, 0, WWW, 1, None);
        for _ in 0..2 {
            let Lookup::Miss(k) = cache.lookup(&zones, &cfg, &hot, &mut out) else { panic!() };
            cache.insert(&k, &answer(&hot), 1);
        }
        // A flood of names that each miss once.
        for i in 0..1000u32 {
            let name = [&[8u8][..], format!("{i:08}").as_bytes(), &WWW[4..]].concat();
            let q = query(2, 0, &name, 1, None);
            let Lookup::Miss(k) = cache.lookup(&zones, &cfg, &q, &mut out) else { panic!() };
            cache.insert(&k, &answer(&q), 2);
        }
        assert!(matches!(cache.lookup(&zones, &cfg, &hot, &mut out), Lookup::Hit(_, 1)));
        assert_eq!(cache.counters().inserts, 1);
    }

    #[test]
    fn a_cache_of_no_slots_stores_nothing() {
        let zones = Arc::new(ZoneSet::new());
        let cfg = Config::default();
        let mut cache: ResponseCache<u8> = ResponseCache::new(0);
        let q = query(1, 0, WWW, 1, None);
        let mut out = [0u8; 512];
        for _ in 0..3 {
            let Lookup::Miss(k) = cache.lookup(&zones, &cfg, &q, &mut out) else { panic!("not a miss") };
            let mut resp = q.clone();
            resp[2] |= 0x80;
            cache.insert(&k, &resp, 1);
        }
        assert_eq!(cache.counters(), Counters { misses: 3, ..Counters::default() });
    }

    /// The parse a plain query's key gives (what the plain path answers
    /// from) is `parse_query`'s, for every plain query of the golden
    /// suites.
    #[test]
    fn the_key_parse_is_parse_querys() {
        use levee_wire::query::{parse_query, Parsed};
        let cfg = Config::default();
        let mut checked = 0;
        for suite in ["public", "levee"] {
            let path = format!("{}/../../tests/golden/{suite}/responses.jsonl", env!("CARGO_MANIFEST_DIR"));
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
            for line in text.lines() {
                let hex = line.split("\"query\": \"").nth(1).unwrap().split('"').next().unwrap();
                let q: Vec<u8> = hex
                    .as_bytes()
                    .chunks(2)
                    .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
                    .collect();
                let Some(k) = plain_key(&q, &cfg) else { continue };
                let Parsed::Query(parsed) = parse_query(&q) else { panic!("a plain query parse_query drops: {hex}") };
                assert_eq!(format!("{:?}", k.query(&q)), format!("{parsed:?}"), "{hex}");
                checked += 1;
            }
        }
        assert!(checked > 300, "only {checked} plain queries");
    }
}
