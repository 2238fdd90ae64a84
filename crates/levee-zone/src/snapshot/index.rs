//! The name index of a zone snapshot: lowercased name to node id.
//!
//! A query for a name that is not in the zone (a random-subdomain flood is
//! nothing else) costs one probe of this table at a random place, so the
//! table is laid out for that probe to stay in the CPU cache. It is two
//! parallel arrays: 16-bit tags (bits of the name's hash; 0 marks an
//! empty slot) and node ids. A lookup walks the tags from the name's home
//! slot to the first empty one and reads an id, and the node's name, only
//! where the tag matches; a false match is one in 65535 per slot. The
//! tags take three octets a name, so for a zone of a few hundred thousand
//! names they fit in a core's L2 cache next to everything else a query
//! touches, and a miss costs no access to the ids at all. (A table with
//! 7-bit tags, hashbrown's, is denser but matches by chance on about one
//! probe in ten, and each such match is a cache miss into its entries;
//! whole cache lines of (id, fingerprint) slots never match by chance but
//! are too large to stay cached.)
//!
//! The table is filled once, when a snapshot is assembled, and never
//! changes, so linear probing needs no deletion marks: a lookup stops at
//! the first empty slot. At most two thirds of the slots are used; the
//! home slot is chosen from the hash by multiply-shift, so the size need
//! not be a power of two.

/// A node id (`zone::NodeId`, spelt out so that the index does not
/// depend on the zone that holds it).
type NodeId = u32;

/// An immutable map from name hash to node id (see the module docs).
#[derive(Default)]
pub(crate) struct NameIndex {
    tags: Vec<u16>,
    ids: Vec<NodeId>,
}

/// The tag of a hash: its low 16 bits, never 0 (the empty slot). The home
/// slot comes from the high bits: tags taken from there would repeat
/// along a run of neighbouring slots and match by chance all the time.
#[inline]
fn tag(h: u64) -> u16 {
    (h as u16).max(1)
}

impl NameIndex {
    /// An index with room for `count` names.
    pub(crate) fn with_capacity(count: usize) -> Self {
        let slots = count + count / 2 + 16;
        NameIndex { tags: vec![0; slots], ids: vec![0; slots] }
    }

    #[inline]
    fn home(&self, h: u64) -> usize {
        ((h as u128 * self.tags.len() as u128) >> 64) as usize
    }

    /// Adds `id` under the hash `h`. Each name is inserted once, and at
    /// most as many as the capacity given at creation.
    pub(crate) fn insert(&mut self, h: u64, id: NodeId) {
        let n = self.tags.len();
        let mut i = self.home(h);
        while self.tags[i] != 0 {
            i = if i + 1 == n { 0 } else { i + 1 };
        }
        self.tags[i] = tag(h);
        self.ids[i] = id;
    }

    /// Adds every name of `hashes` (the hashes of the names of each
    /// segment, the id of the name at `local` of segment `slot` being
    /// `id(slot, local)`) on up to `threads` threads. The slots are cut
    /// into as many regions, each filled by a thread of its own with the
    /// names whose home slot it holds; a name whose probe runs past its
    /// region's end is left for the calling thread, which adds those last,
    /// probing as [`NameIndex::insert`] does. Every name is then found
    /// from its home slot through full slots only, as after one thread's
    /// inserts (the table is the same set of full slots, some ids in
    /// other places).
    pub(crate) fn insert_all(&mut self, hashes: &[Vec<u64>], id: fn(usize, usize) -> NodeId, threads: usize) {
        let n = self.tags.len();
        let parts = threads.clamp(1, 64).min(n / 4096 + 1);
        let mut regions = Vec::with_capacity(parts);
        let (mut tags, mut ids) = (&mut self.tags[..], &mut self.ids[..]);
        for k in 0..parts {
            let len = (k + 1) * n / parts - k * n / parts;
            let (t, rest_t) = std::mem::take(&mut tags).split_at_mut(len);
            let (i, rest_i) = std::mem::take(&mut ids).split_at_mut(len);
            regions.push((k * n / parts, t, i));
            (tags, ids) = (rest_t, rest_i);
        }
        let home = |h: u64| ((h as u128 * n as u128) >> 64) as usize;
        let spilled = crate::snapshot::par::on_threads(regions, |(lo, tags, ids)| {
            let mut spill = Vec::new();
            for (slot, hs) in hashes.iter().enumerate() {
                for (local, &h) in hs.iter().enumerate() {
                    let Some(mut i) = home(h).checked_sub(lo).filter(|&i| i < tags.len()) else { continue };
                    while i < tags.len() && tags[i] != 0 {
                        i += 1;
                    }
                    if i == tags.len() {
                        spill.push((h, id(slot, local)));
                    } else {
                        tags[i] = tag(h);
                        ids[i] = id(slot, local);
                    }
                }
            }
            spill
        });
        for (h, id) in spilled.into_iter().flatten() {
            self.insert(h, id);
        }
    }

    /// The node stored under `h` for which `is` (the name comparison)
    /// holds.
    #[inline]
    pub(crate) fn find(&self, h: u64, mut is: impl FnMut(NodeId) -> bool) -> Option<NodeId> {
        let n = self.tags.len();
        if n == 0 {
            return None;
        }
        let t = tag(h);
        let mut i = self.home(h);
        loop {
            let here = self.tags[i];
            if here == 0 {
                return None;
            }
            if here == t && is(self.ids[i]) {
                return Some(self.ids[i]);
            }
            i = if i + 1 == n { 0 } else { i + 1 };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hash that puts every key in few home lines, so runs of full lines
    /// (and the wrap at the end) are exercised.
    fn crowded(k: u32) -> u64 {
        ((k as u64 % 3) << 62) | (k as u64).wrapping_mul(0x9E37_79B9) << 16 | k as u64
    }

    #[test]
    fn finds_every_key_and_no_other() {
        for count in [0usize, 1, 5, 6, 7, 48, 1000] {
            for hash in [crowded as fn(u32) -> u64, |k: u32| (k as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)] {
                let mut ix = NameIndex::with_capacity(count);
                for k in 0..count as u32 {
                    ix.insert(hash(k), k);
                }
                for k in 0..count as u32 {
                    assert_eq!(ix.find(hash(k), |id| id == k), Some(k), "count {count}, key {k}");
                }
                for k in count as u32..count as u32 + 200 {
                    assert_eq!(ix.find(hash(k), |id| id == k), None);
                }
            }
        }
    }

    /// Average tags a lookup of a name that is not there reads (its home
    /// slot to the first empty one, both included) and average 64-octet
    /// lines of tags it touches, for `count` random names in `slots`.
    fn miss_cost(count: usize, slots: usize) -> (f64, f64) {
        let mut ix = NameIndex { tags: vec![0; slots], ids: vec![0; slots] };
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for k in 0..count as u32 {
            ix.insert(next(), k);
        }
        let (mut tags, mut lines, tries) = (0usize, 0usize, 200_000);
        let tag_line = |i: usize| (ix.tags.as_ptr() as usize + 2 * i) / 64;
        for _ in 0..tries {
            let mut i = ix.home(next());
            let first = tag_line(i);
            let mut line = first;
            lines += 1;
            loop {
                tags += 1;
                if tag_line(i) != line {
                    line = tag_line(i);
                    lines += 1;
                }
                if ix.tags[i] == 0 {
                    break;
                }
                i = (i + 1) % slots;
            }
        }
        (tags as f64 / tries as f64, lines as f64 / tries as f64)
    }

    /// The load the index is built at: a miss (a random-subdomain flood
    /// is nothing else) reads few tags and mostly one cache line. Measured
    /// (1M random names, 200k misses): 2/3 full, 5.0 tags and 1.13 lines;
    /// 4/5 full, 13.0 tags and 1.38 lines (linear probing's expected miss,
    /// (1 + 1/(1-a)^2)/2, is 5 and 13). 4/5 would save 1 octet a name of
    /// 6 (3 MB of a 2M-name zone's ~200) for 22 % more lines read by
    /// every miss, so the index stays at 2/3.
    #[test]
    fn misses_read_few_tags() {
        let count = 1 << 20;
        let (t23, l23) = miss_cost(count, count * 3 / 2);
        let (t45, l45) = miss_cost(count, count * 5 / 4);
        eprintln!("misses: 2/3 full {t23:.2} tags {l23:.3} lines; 4/5 full {t45:.2} tags {l45:.3} lines");
        let built = NameIndex::with_capacity(count).tags.len();
        let (t, l) = miss_cost(count, built);
        eprintln!("as built ({built} slots): {t:.2} tags {l:.3} lines");
        assert!(t < 6.0 && l < 1.25, "{t} tags, {l} lines");
    }

    /// Filled by regions on several threads (crowded homes spill past
    /// the regions' ends and past the table's end), the index finds every
    /// key and no other.
    #[test]
    fn inserts_by_region_find_every_key() {
        let id = |slot: usize, local: usize| (slot * 1000 + local) as NodeId;
        for threads in [1usize, 2, 3] {
            for hash in [crowded as fn(u32) -> u64, |k: u32| (k as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)] {
                // 30 segments of 700 keys.
                let hashes: Vec<Vec<u64>> = (0..30).map(|s| (0..700).map(|l| hash(s * 1000 + l)).collect()).collect();
                let mut ix = NameIndex::with_capacity(30 * 700);
                ix.insert_all(&hashes, id, threads);
                for s in 0..30usize {
                    for l in 0..700usize {
                        let k = id(s, l);
                        assert_eq!(ix.find(hash(k), |x| x == k), Some(k), "threads {threads}, key {k}");
                    }
                }
                assert_eq!(ix.find(hash(999), |x| x == 999), None);
                assert_eq!(ix.tags.iter().filter(|&&t| t != 0).count(), 30 * 700);
            }
        }
    }

    #[test]
    fn a_crowded_home_spills_over_the_end_and_wraps() {
        // Everything has the last slot as its home, and the same tag.
        let mut ix = NameIndex::with_capacity(20);
        let slots = ix.tags.len();
        for k in 0..20u32 {
            ix.insert(u64::MAX - k as u64, k);
        }
        assert_eq!(ix.home(u64::MAX), slots - 1);
        for k in 0..20u32 {
            assert_eq!(ix.find(u64::MAX - k as u64, |id| id == k), Some(k));
        }
        assert_eq!(ix.find(u64::MAX - 20, |id| id == 20), None);
        // The start of the table got the overflow.
        assert!(ix.tags[..19].iter().all(|&t| t != 0));
        assert_eq!(ix.tags[19], 0);
    }
}
