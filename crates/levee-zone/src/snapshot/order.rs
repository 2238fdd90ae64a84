//! The canonical sort of a zone's names (build step 2): a radix pass on
//! the names' first key octets, then a comparison sort within each bucket.
//!
//! Each name gets a *head*: the first twenty octets of its canonical key
//! ([`name::canonical_key`]) after the origin's, as three big-endian
//! numbers (8, 8 and 4 octets, in the 24 octets the id pads to anyway),
//! so that heads compare as the keys' first octets do (eight octets are
//! not enough: a delegation `example-12.tld.` and its
//! `ns1.example-12.tld.` share `example-`). Names of equal heads (a
//! first label of 19 octets and more) are put in order by
//! [`name::canonical_cmp`] (reading both names: a cache miss), which
//! orders names as their keys' octets do; two names never compare equal,
//! so every way of sorting gives the same ids.
//!
//! The sort ([`sort_ids`]) has three steps, each cut into parts that run
//! on the load's threads ([`par::on_threads`]):
//!
//! 1. the heads of contiguous runs of ids (a name read in id order, its
//!    key built in a small buffer that stays in the cache);
//! 2. each run's heads placed by their top 16 bits into [`BUCKETS`]
//!    buckets (a counting sort: one pass to count, one to place);
//! 3. runs of buckets of about equal size: each bucket's heads (from
//!    every run of ids) gathered, sorted by head (numbers, in the cache:
//!    a bucket of the 5M-delegation TLD holds some 15,000 names), then each
//!    run of equal heads by the names, and the ids written out.
//!
//! The buckets' outputs joined in bucket order are the ids in canonical
//! order. A comparison sort of all the names instead touches the whole
//! array about 25 times for 10M names, and a two-thread merge of two
//! sorted halves runs on one thread; here every name is moved twice and
//! the work of each step is split between the threads. The buckets follow
//! the names' first two octets: a zone whose names all start alike sorts
//! mostly within one bucket (correct, on fewer threads). Below
//! [`RADIX_MIN`] names the heads are sorted with one comparison sort.

use std::cmp::Ordering;
use std::ops::Range;

use levee_wire::name;

use crate::snapshot::par;

/// A name in the canonical sort: its head (three numbers) and its id.
pub(crate) type Head = (u64, u64, u32, u32);

/// Names below which the canonical sort is one comparison sort.
pub(crate) const RADIX_MIN: usize = 1 << 15;

/// Buckets of the radix pass (the heads' top 16 bits).
const BUCKETS: usize = 1 << 16;

/// The bucket of a head.
fn bucket_of(h: u64) -> usize {
    (h >> 48) as usize
}

/// The first twenty octets of `key` (zeros after its end) as three
/// numbers.
pub(crate) fn head_of(key: &[u8]) -> (u64, u64, u32) {
    let mut head = [0u8; 20];
    let n = key.len().min(20);
    head[..n].copy_from_slice(&key[..n]);
    let num = |a: usize| u64::from_be_bytes(head[a..a + 8].try_into().unwrap_or_default());
    (num(0), num(8), u32::from_be_bytes([head[16], head[17], head[18], head[19]]))
}

/// The heads of the names `ids` (`name(id)`, every name at or below the
/// origin, whose key is `origin_key` octets long).
pub(crate) fn canonical_heads<'a>(
    name_of: &(impl Fn(u32) -> &'a [u8] + Sync),
    origin_key: usize,
    ids: Range<u32>,
) -> Vec<Head> {
    let mut key = Vec::with_capacity(512);
    ids.map(|id| {
        key.clear();
        name::canonical_key(name_of(id), &mut key);
        let (h0, h1, h2) = head_of(&key[origin_key.min(key.len())..]);
        (h0, h1, h2, id)
    })
    .collect()
}

/// The ids `0..n` in order: by head (`heads` gives the heads of a range
/// of ids), then by `cmp` (a total order of the ids that agrees with the
/// heads), on `threads` threads when there are [`RADIX_MIN`] ids or more.
pub(crate) fn sort_ids<H, C>(n: u32, threads: usize, heads: H, cmp: C) -> Vec<u32>
where
    H: Fn(Range<u32>) -> Vec<Head> + Sync,
    C: Fn(u32, u32) -> Ordering + Sync,
{
    if (n as usize) < RADIX_MIN {
        let mut all = heads(0..n);
        sort_bucket(&mut all, &cmp);
        return all.into_iter().map(|h| h.3).collect();
    }
    let parts = threads.max(1);
    // 1 and 2: heads of runs of ids, bucketed.
    let per = n.div_ceil(parts as u32);
    let runs: Vec<Range<u32>> = (0..parts as u32).map(|k| k * per..((k + 1) * per).min(n)).collect();
    let bucketed = par::on_threads(runs, |ids| bucketed(heads(ids)));
    // 3: runs of buckets, each sorted.
    let size = |b: usize| bucketed.iter().map(|(_, s)| (s[b + 1] - s[b]) as usize).sum::<usize>();
    let starts = par::cut((0..BUCKETS).map(size), parts);
    let runs: Vec<Range<usize>> =
        starts.iter().enumerate().map(|(k, &a)| a..starts.get(k + 1).copied().unwrap_or(BUCKETS)).collect();
    let out = par::on_threads(runs, |bs| sorted_buckets(&bucketed, bs, &cmp));
    let mut ids = Vec::with_capacity(n as usize);
    for part in out {
        ids.extend_from_slice(&part);
    }
    ids
}

/// `heads` placed by bucket, and where each bucket starts (one more
/// entry: the end).
fn bucketed(heads: Vec<Head>) -> (Vec<Head>, Vec<u32>) {
    let mut starts = vec![0u32; BUCKETS + 1];
    for h in &heads {
        starts[bucket_of(h.0) + 1] += 1;
    }
    for b in 0..BUCKETS {
        starts[b + 1] += starts[b];
    }
    let mut next = starts.clone();
    let mut out = vec![(0u64, 0u64, 0u32, 0u32); heads.len()];
    for h in &heads {
        let p = &mut next[bucket_of(h.0)];
        out[*p as usize] = *h;
        *p += 1;
    }
    (out, starts)
}

/// The ids of buckets `bs`, each bucket gathered from every part and
/// sorted.
fn sorted_buckets(parts: &[(Vec<Head>, Vec<u32>)], bs: Range<usize>, cmp: &impl Fn(u32, u32) -> Ordering) -> Vec<u32> {
    let total: usize = parts.iter().map(|(_, s)| (s[bs.end] - s[bs.start]) as usize).sum();
    let mut ids = Vec::with_capacity(total);
    let mut one = Vec::new();
    for b in bs {
        one.clear();
        for (h, s) in parts {
            one.extend_from_slice(&h[s[b] as usize..s[b + 1] as usize]);
        }
        sort_bucket(&mut one, cmp);
        ids.extend(one.iter().map(|h| h.3));
    }
    ids
}

/// Sorts `heads` by head, then each run of equal heads by `cmp`.
fn sort_bucket(heads: &mut [Head], cmp: &impl Fn(u32, u32) -> Ordering) {
    heads.sort_unstable_by_key(|h| (h.0, h.1, h.2));
    let mut i = 0;
    while i < heads.len() {
        let mut j = i + 1;
        while j < heads.len() && (heads[j].0, heads[j].1, heads[j].2) == (heads[i].0, heads[i].1, heads[i].2) {
            j += 1;
        }
        if j - i > 1 {
            heads[i..j].sort_unstable_by(|a, b| cmp(a.3, b.3));
        }
        i = j;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Random names below `tld.` sharing long prefixes (few distinct
    /// octets, among them 0, 1 and 2, which the keys escape; lowercase,
    /// as the builder's names are), some deep, a third children of names made before (sharing
    /// their whole key); every ancestor is not needed for a sort.
    fn names(count: usize, seed: u64) -> Vec<Vec<u8>> {
        let mut x = seed;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        while out.len() < count {
            let v = next();
            let mut n = Vec::new();
            if v % 3 == 0 && !out.is_empty() {
                // A child of a name made before: its key extends the
                // parent's (equal heads when the parent's is 20 octets).
                let parent: &Vec<u8> = &out[(v >> 8) as usize % out.len()];
                let mut c = vec![1, b"ab\x00"[(v >> 40) as usize % 3]];
                c.extend_from_slice(parent);
                if c.len() <= 255 && seen.insert(c.clone()) {
                    out.push(c);
                }
                continue;
            }
            for l in 0..1 + (v % 3) as usize {
                let w = next();
                let len = 1 + (w % if l == 0 { 20 } else { 4 }) as usize;
                n.push(len as u8);
                n.extend((0..len).map(|k| b"ab-\x00\x01\x02c"[((w >> ((8 + 3 * k) % 56)) % 7) as usize]));
            }
            n.extend_from_slice(b"\x03tld\x00");
            if seen.insert(n.clone()) {
                out.push(n);
            }
        }
        out
    }

    /// The radix sort on one to three threads, and the comparison sort
    /// of a small zone, give the order of the names' canonical keys
    /// compared octet by octet (the order the build used before the
    /// radix sort), with the origin among the names.
    #[test]
    fn radix_sort_is_the_order_of_the_keys() {
        for (count, seed) in [(3 * RADIX_MIN + 7, 0x9e37_79b9_7f4a_7c15u64), (500, 7)] {
            let mut all = names(count, seed);
            all.push(b"\x03tld\x00".to_vec());
            let name_of = |id: u32| &all[id as usize][..];
            let key = |id: u32| {
                let mut k = Vec::new();
                name::canonical_key(name_of(id), &mut k);
                k
            };
            let mut want: Vec<u32> = (0..all.len() as u32).collect();
            want.sort_by_key(|&id| key(id));
            let origin_key = 4;
            for threads in [1, 2, 3] {
                let got = sort_ids(
                    all.len() as u32,
                    threads,
                    |ids| canonical_heads(&name_of, origin_key, ids),
                    |a, b| name::canonical_cmp(name_of(a), name_of(b)),
                );
                assert_eq!(got, want, "{count} names on {threads} threads");
            }
        }
    }

    /// Heads all in one bucket, or all equal: the order of `cmp`.
    #[test]
    fn skewed_heads_sort_by_the_order() {
        let n = RADIX_MIN as u32 + 100;
        let order = |a: u32, b: u32| (a.wrapping_mul(2_654_435_761)).cmp(&b.wrapping_mul(2_654_435_761));
        let mut want: Vec<u32> = (0..n).collect();
        want.sort_by(|&a, &b| order(a, b));
        for threads in [1, 2] {
            let same = sort_ids(n, threads, |ids| ids.map(|id| (5u64, 7u64, 9u32, id)).collect(), order);
            assert_eq!(same, want);
        }
        // One bucket, heads from the low bits of the order.
        let head = |id: u32| id.wrapping_mul(2_654_435_761) as u64 >> 8;
        let got = sort_ids(n, 2, |ids| ids.map(|id| (head(id), 0, 0, id)).collect(), order);
        assert_eq!(got, want);
    }
}
