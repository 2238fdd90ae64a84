//! The builder's name table: each owner name of a zone being built gets
//! an id, in the order the names first appear.
//!
//! A load of a large zone looks up every new owner once (2M names for the
//! 1M-delegation TLD), nearly always a name not seen before, in a table
//! far larger than the caches: the cost is the cache lines a probe
//! touches. [`NameTable`] keeps each entry in one 8-octet slot (32 bits
//! of the name's hash beside its id), probed linearly from a home slot,
//! so that a probe reads one cache line where a table with separate
//! control octets and entries reads two; the name itself is read only
//! when the stored hash matches. A table can be sized up front from what
//! the zone file's size suggests ([`NameTable::with_names`]), so that a
//! load never grows it; growing, when it happens, places the slots again
//! from their stored hashes without reading a name.
//!
//! A probe of a table that large waits for memory once per new name. A
//! fresh load ([`Pending`]) therefore looks owners up in batches: the
//! builder sets a record's owner aside (lowercased, hashed) and, every
//! [`BATCH`] new owners, first reads the home slots of the whole batch
//! one after the other (independent reads the processor overlaps, so
//! the batch waits about as long as one name did), then interns the
//! names in the order they came, finding their slots in the cache. The
//! ids are the ones the name-by-name path gives (first appearance order).

/// An open-addressing table of name ids keyed by a 32-bit name hash.
/// Lookups are given the hash and a test of a candidate id (the caller
/// holds the names).
#[derive(Default)]
pub(crate) struct NameTable {
    /// `hash << 32 | (id + 1)`, 0 for an empty slot; a power of two long.
    slots: Vec<u64>,
    len: usize,
}

/// Slots per entry the table keeps at least (at most 3/4 full).
const fn slots_for(names: usize) -> usize {
    let want = names + names / 3 + 1;
    if want < 16 {
        16
    } else {
        want.next_power_of_two()
    }
}

impl NameTable {
    /// A table that holds `names` names without growing.
    pub(crate) fn with_names(names: usize) -> Self {
        NameTable { slots: vec![0; slots_for(names)], len: 0 }
    }

    /// The home slot of hash `h` (the high bits of a product, which mix
    /// all 32 bits of the hash).
    fn home(&self, h: u32) -> usize {
        let bits = self.slots.len().trailing_zeros();
        ((h as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - bits)) as usize
    }

    /// The id of the name with hash `h` for which `is` says true.
    pub(crate) fn find(&self, h: u32, mut is: impl FnMut(u32) -> bool) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut i = self.home(h);
        loop {
            let s = self.slots[i];
            if s == 0 {
                return None;
            }
            if (s >> 32) as u32 == h && is((s as u32).wrapping_sub(1)) {
                return Some((s as u32).wrapping_sub(1));
            }
            i = (i + 1) & mask;
        }
    }

    /// Adds `id` under hash `h` (the caller knows it is not there).
    pub(crate) fn insert(&mut self, h: u32, id: u32) {
        if self.slots.len() < slots_for(self.len + 1) {
            self.grow();
        }
        self.place((h as u64) << 32 | (id as u64 + 1));
        self.len += 1;
    }

    fn place(&mut self, slot: u64) {
        let mask = self.slots.len() - 1;
        let mut i = self.home((slot >> 32) as u32);
        while self.slots[i] != 0 {
            i = (i + 1) & mask;
        }
        self.slots[i] = slot;
    }

    /// More slots, every entry placed again from its stored hash.
    fn grow(&mut self) {
        let old = std::mem::replace(&mut self.slots, vec![0; slots_for(self.len + 1)]);
        for s in old.into_iter().filter(|&s| s != 0) {
            self.place(s);
        }
    }

    /// The home slot of hash `h` as it is now (a read that brings its
    /// cache line in; 0 for an empty table).
    fn peek(&self, h: u32) -> u64 {
        if self.slots.is_empty() {
            0
        } else {
            self.slots[self.home(h)]
        }
    }

    /// Names in the table.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

/// New owners set aside before a batch is interned.
pub(crate) const BATCH: usize = 16;

/// Owners waiting to be interned, in the order they came: each with the
/// index of its first record among the builder's records (the records up
/// to the next owner's first are its own).
#[derive(Default)]
pub(crate) struct Pending {
    names: Vec<u8>,
    /// (offset in `names`, length, hash, first record).
    owners: Vec<(u32, u8, u32, u32)>,
}

impl Pending {
    /// Sets aside `name` (lowercase, hash `h`), whose first record is the
    /// builder's record `rec`; true when the batch is full.
    pub(crate) fn push(&mut self, name: &[u8], h: u32, rec: u32) -> bool {
        self.owners.push((self.names.len() as u32, name.len() as u8, h, rec));
        self.names.extend_from_slice(name);
        self.owners.len() >= BATCH
    }

    /// Owners waiting.
    pub(crate) fn len(&self) -> usize {
        self.owners.len()
    }

    /// Owner `k`: its name, hash and first record.
    pub(crate) fn get(&self, k: usize) -> (&[u8], u32, u32) {
        let (o, l, h, rec) = self.owners[k];
        (&self.names[o as usize..o as usize + l as usize], h, rec)
    }

    /// Reads the home slot of every owner waiting in `table`, so that
    /// their cache lines come in together.
    pub(crate) fn touch(&self, table: &NameTable) {
        let mut seen = 0u64;
        for &(_, _, h, _) in &self.owners {
            seen ^= table.peek(h);
        }
        std::hint::black_box(seen);
    }

    /// Empties the batch.
    pub(crate) fn clear(&mut self) {
        self.names.clear();
        self.owners.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every id is found under its hash and only there, through growth
    /// and with many equal hashes (which probe past each other).
    #[test]
    fn ids_are_found_under_their_hash() {
        for start in [0usize, 10, 100_000] {
            let mut t = if start == 0 { NameTable::default() } else { NameTable::with_names(start) };
            let hash = |id: u32| if id % 1000 == 0 { 7 } else { id.wrapping_mul(2_654_435_761) };
            for id in 0..50_000u32 {
                assert_eq!(t.find(hash(id), |c| c == id), None);
                t.insert(hash(id), id);
            }
            assert_eq!(t.len(), 50_000);
            for id in (0..50_000u32).step_by(7) {
                assert_eq!(t.find(hash(id), |c| c == id), Some(id));
                assert_eq!(t.find(hash(id) ^ 1, |c| c == id), None);
            }
            assert!(t.slots.len() >= 50_000 * 4 / 3);
        }
    }
}
