//! The set of zones a server answers for.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use hashbrown::HashTable;
use levee_wire::name;

use crate::snapshot::zone::{fingerprint, hash_name, Zone};

/// An optional prefix and a key name (lowercase wire).
type KeyedRule = (Option<(IpAddr, u8)>, Vec<u8>);

/// An address-prefix access list (e.g. who may transfer a zone).
///
/// Its rules are shared (`Arc`): a zone set is copied whole at each
/// publication, and a clone of every entry's ACLs then costs a reference
/// count each, not an allocation (a change makes its own copy).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Acl {
    rules: Arc<Rules>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Rules {
    prefixes: Vec<(IpAddr, u8)>,
    /// Rules that need a TSIG key (lowercase wire name), with an optional prefix.
    keyed: Vec<KeyedRule>,
    /// Rules that need a TLS client certificate valid for a name (and
    /// the prefix and key, when given).
    tls: Vec<TlsRule>,
}

/// An optional prefix, an optional key (lowercase wire), a certificate name.
type TlsRule = (Option<(IpAddr, u8)>, Option<Vec<u8>>, String);

impl Acl {
    /// An empty list: nobody matches.
    pub fn none() -> Self {
        Acl::default()
    }

    /// Adds a prefix. The address is masked to the prefix length.
    pub fn push(&mut self, addr: IpAddr, len: u8) {
        Arc::make_mut(&mut self.rules).prefixes.push((mask(addr, len), len));
    }

    /// Adds a rule that needs a request signed with `key` (lowercase
    /// wire name), from `prefix` or (`None`) from anywhere.
    pub fn push_keyed(&mut self, prefix: Option<(IpAddr, u8)>, key: &[u8]) {
        let rule = (prefix.map(|(a, l)| (mask(a, l), l)), name::to_lowercase(key).as_slice().to_vec());
        Arc::make_mut(&mut self.rules).keyed.push(rule);
    }

    /// Adds a rule that needs a TLS client certificate valid for `name`
    /// (mutual TLS), from `prefix` and signed with `key` when given.
    pub fn push_tls(&mut self, prefix: Option<(IpAddr, u8)>, key: Option<&[u8]>, name: &str) {
        let key = key.map(|k| name::to_lowercase(k).as_slice().to_vec());
        Arc::make_mut(&mut self.rules).tls.push((prefix.map(|(a, l)| (mask(a, l), l)), key, name.to_string()));
    }

    /// True if nobody is allowed.
    pub fn is_empty(&self) -> bool {
        self.rules.prefixes.is_empty() && self.rules.keyed.is_empty() && self.rules.tls.is_empty()
    }

    /// True if a transfer request from `addr`, verified with the TSIG
    /// key `key`, over a connection whose client certificate is valid
    /// for the names `identity` accepts (`None`: no certificate, or not
    /// over TLS), matches a rule.
    pub fn allows_transfer(&self, addr: IpAddr, key: Option<&[u8]>, identity: Option<&dyn Fn(&str) -> bool>) -> bool {
        if self.allows_signed(addr, key) {
            return true;
        }
        let Some(valid_for) = identity else { return false };
        let addr = unmap(addr);
        self.rules.tls.iter().any(|(p, k, n)| {
            p.is_none_or(|(p, len)| in_prefix(addr, p, len))
                && k.as_ref().is_none_or(|k| key.is_some_and(|key| name::eq_ignore_case(k, key)))
                && valid_for(n)
        })
    }

    /// True if a request from `addr`, verified with the TSIG key named
    /// `key` (or unsigned: `None`), matches a rule.
    pub fn allows_signed(&self, addr: IpAddr, key: Option<&[u8]>) -> bool {
        if self.allows(addr) {
            return true;
        }
        let Some(key) = key else { return false };
        let addr = unmap(addr);
        self.rules
            .keyed
            .iter()
            .any(|(p, k)| name::eq_ignore_case(k, key) && p.is_none_or(|(p, len)| in_prefix(addr, p, len)))
    }

    /// True if `addr` is inside one of the prefixes. IPv4-mapped IPv6
    /// addresses match IPv4 prefixes.
    pub fn allows(&self, addr: IpAddr) -> bool {
        let addr = unmap(addr);
        self.rules.prefixes.iter().any(|&(p, len)| in_prefix(addr, p, len))
    }

    /// The prefixes.
    pub fn prefixes(&self) -> &[(IpAddr, u8)] {
        &self.rules.prefixes
    }
}

fn unmap(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        a => a,
    }
}

fn in_prefix(addr: IpAddr, p: IpAddr, len: u8) -> bool {
    match (p, addr) {
        (IpAddr::V4(_), IpAddr::V4(_)) | (IpAddr::V6(_), IpAddr::V6(_)) => mask(addr, len) == p,
        _ => false,
    }
}

fn mask(addr: IpAddr, len: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let m = if len == 0 { 0 } else { u32::MAX << (32 - len.min(32) as u32) };
            IpAddr::V4((u32::from(a) & m).into())
        }
        IpAddr::V6(a) => {
            let m = if len == 0 { 0 } else { u128::MAX << (128 - len.min(128) as u32) };
            IpAddr::V6((u128::from(a) & m).into())
        }
    }
}

/// A zone with its serving policy. A clone shares the zone, journal and
/// expiry (`Arc`s) and copies the ACLs.
#[derive(Clone)]
pub struct ZoneEntry {
    /// The zone data.
    pub zone: Arc<Zone>,
    /// Who may AXFR/IXFR it.
    pub transfer: Acl,
    /// Who may NOTIFY us about it (secondary zones; empty: NOTIFY refused).
    pub notify: Acl,
    /// Not answered from: a secondary zone past its expire time, or a
    /// zone with no data (`not_loaded`). Queries get SERVFAIL.
    pub expired: bool,
    /// The zone never loaded (a primary whose file is broken or missing,
    /// a secondary never received): `zone` is a placeholder, `expired`
    /// is set.
    pub not_loaded: bool,
    /// Differences for IXFR out.
    pub journal: Option<Arc<crate::snapshot::journal::Journal>>,
    /// A secondary zone's expiry (wall-clock seconds, 0 = unknown), kept
    /// current by the refresh task without a new set (EDNS EXPIRE,
    /// RFC 7314). `None` for a primary zone.
    pub expires: Option<Arc<AtomicU64>>,
}

impl ZoneEntry {
    /// A primary zone with a transfer ACL.
    pub fn new(zone: Arc<Zone>, transfer: Acl) -> Self {
        ZoneEntry {
            zone,
            transfer,
            notify: Acl::none(),
            expired: false,
            not_loaded: false,
            journal: None,
            expires: None,
        }
    }

    /// A configured zone that did not load: it stays in the set, so a
    /// query for it is answered SERVFAIL (as Knot DNS, NSD and BIND
    /// answer) rather than REFUSED as if it were not configured. `apex`
    /// is the lowercase wire name.
    pub fn unavailable(apex: &[u8], transfer: Acl) -> Option<Self> {
        Some(ZoneEntry { expired: true, not_loaded: true, ..ZoneEntry::new(Arc::new(placeholder(apex)?), transfer) })
    }

    /// When a secondary zone expires (wall-clock seconds), if known.
    pub fn expires_at(&self) -> Option<u64> {
        self.expires.as_ref().map(|a| a.load(Ordering::Relaxed)).filter(|&t| t != 0)
    }
}

/// A zone with only an SOA and NS at `apex`, standing in for a zone with
/// no data (never answered from).
pub fn placeholder(apex: &[u8]) -> Option<Zone> {
    let text = "@ 0 IN SOA invalid. invalid. 0 0 0 0 0\n@ 0 IN NS invalid.\n";
    let src = crate::Source::Memory { name: "<placeholder>", data: text.as_bytes() };
    crate::load(src, apex).ok().map(|b| b.zone)
}

/// The zones a server answers for.
///
/// A clone copies the entry list, the apex index and the apex bytes as
/// they are (no name is hashed again): the cheap start of a publication
/// that changes a few zones of many ([`ZoneSet::insert`] then replaces
/// an entry in place).
#[derive(Clone, Default)]
pub struct ZoneSet {
    entries: Vec<ZoneEntry>,
    /// Statistics id of each entry (parallel to `entries`): by default its
    /// position; the daemon gives each zone name an id that survives
    /// reloads ([`ZoneSet::set_stat_ids`]) so per-zone counters stay
    /// attached to the same zone.
    stat_ids: Vec<u16>,
    /// Entry position and the apex hash's fingerprint (as the zone's own
    /// name index): a suffix of the query name that is no apex is
    /// rejected without reading an apex.
    index: HashTable<(u32, u32)>,
    max_labels: usize,
    /// The apexes, concatenated, with each entry's (offset, length): a set
    /// of at most [`SMALL_SET`] zones is searched by comparing these with
    /// the query name's suffixes, which is cheaper than hashing a suffix
    /// and probing the index (and reads one small array, not the zones).
    apexes: Vec<u8>,
    apex_at: Vec<(u32, u8)>,
    /// Positions of the entries inserted or replaced since statistics
    /// ids were last given ([`ZoneSet::set_new_stat_ids`]): a
    /// publication that clones the served set and changes a few zones
    /// gives ids to those few, not to every zone again.
    fresh: Vec<u32>,
}

/// `a == b` for two slices of the same length, eight octets at a time and
/// inline: names are short, and a call into the C library's comparison
/// costs more than the comparison.
#[inline]
fn same_octets(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n < 8 {
        return a.iter().zip(b).all(|(x, y)| x == y);
    }
    let mut i = 0;
    while i + 8 <= n {
        if name::word_at(a, i) != name::word_at(b, i) {
            return false;
        }
        i += 8;
    }
    // The last word, overlapping the ones compared.
    name::word_at(a, n - 8) == name::word_at(b, n - 8)
}

/// Sets of up to this many zones are searched linearly ([`ZoneSet::find`]).
const SMALL_SET: usize = 8;

impl ZoneSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Room for `n` more zones (a start with many: no growing and
    /// copying as they are inserted).
    pub fn reserve(&mut self, n: usize) {
        self.entries.reserve(n);
        self.stat_ids.reserve(n);
        self.apex_at.reserve(n);
        self.fresh.reserve(n);
        let entries = &self.entries;
        self.index.reserve(n, |&(i, _)| hash_name(entries[i as usize].zone.apex()));
    }

    /// Adds a zone; a zone with the same apex is replaced.
    pub fn insert(&mut self, entry: ZoneEntry) {
        let apex = entry.zone.apex().to_vec();
        self.max_labels = self.max_labels.max(name::label_count(&apex));
        if let Some(i) = self.position(&apex) {
            self.entries[i] = entry;
            self.fresh.push(i as u32);
            return;
        }
        let id = self.entries.len() as u32;
        self.fresh.push(id);
        self.apex_at.push((self.apexes.len() as u32, apex.len() as u8));
        self.apexes.extend_from_slice(&apex);
        self.entries.push(entry);
        self.stat_ids.push(id.min(u16::MAX as u32 - 1) as u16);
        let entries = &self.entries;
        let h = hash_name(&apex);
        self.index.insert_unique(h, (id, fingerprint(h)), |&(i, _)| hash_name(entries[i as usize].zone.apex()));
    }

    fn position(&self, lname: &[u8]) -> Option<usize> {
        let h = hash_name(lname);
        let fp = fingerprint(h);
        self.index.find(h, |&(i, f)| f == fp && self.entries[i as usize].zone.apex() == lname).map(|&(i, _)| i as usize)
    }

    /// The zone whose apex is exactly `lname` (lowercase wire).
    pub fn exact(&self, lname: &[u8]) -> Option<&ZoneEntry> {
        self.position(lname).map(|i| &self.entries[i])
    }

    /// The closest enclosing zone of `lname` (lowercase wire), if any.
    #[inline]
    pub fn find(&self, lname: &[u8]) -> Option<&ZoneEntry> {
        if self.entries.len() <= SMALL_SET {
            return self.find_small(lname);
        }
        self.find_hashed(lname)
    }

    /// The zone `qname` (a wire name in any letter case, not the root)
    /// is directly below: the zone whose apex is `qname` less its first
    /// label, if that is the closest enclosing zone of `qname`, that is,
    /// no zone has `qname` itself as its apex. For a small set this
    /// compares the two candidate names with each apex (a length check
    /// rejects almost every one) instead of lowercasing the name and
    /// searching for its longest suffix.
    #[inline]
    pub fn find_parent_of(&self, qname: &[u8]) -> Option<&ZoneEntry> {
        let parent_len = qname.len().checked_sub(1 + *qname.first()? as usize).filter(|&l| l > 0)?;
        if self.entries.len() > SMALL_SET {
            let entry = self.find(&name::to_lowercase(qname))?;
            return (entry.zone.apex().len() == parent_len).then_some(entry);
        }
        let parent = &qname[qname.len() - parent_len..];
        let mut found = None;
        for (i, &(off, len)) in self.apex_at.iter().enumerate() {
            let apex = &self.apexes[off as usize..off as usize + len as usize];
            if apex.len() == qname.len() && name::eq_lowercase(apex, qname) {
                return None;
            }
            if apex.len() == parent_len && name::eq_lowercase(apex, parent) {
                found = Some(i);
            }
        }
        found.map(|i| &self.entries[i])
    }

    /// [`find`](Self::find) by comparing every apex with the name's suffix
    /// of its length; the longest apex that ends the name at a label
    /// boundary wins.
    fn find_small(&self, lname: &[u8]) -> Option<&ZoneEntry> {
        let mut best: Option<(usize, usize)> = None;
        for (i, &(off, len)) in self.apex_at.iter().enumerate() {
            let (off, len) = (off as usize, len as usize);
            if len > lname.len() || best.is_some_and(|(_, l)| l >= len) {
                continue;
            }
            let start = lname.len() - len;
            if same_octets(&lname[start..], &self.apexes[off..off + len]) && name::is_label_start(lname, start) {
                best = Some((i, len));
            }
        }
        best.map(|(i, _)| &self.entries[i])
    }

    /// [`find`](Self::find) through the index: the name's suffixes from
    /// the most labels an apex has, up to the root.
    fn find_hashed(&self, lname: &[u8]) -> Option<&ZoneEntry> {
        if self.entries.is_empty() {
            return None;
        }
        let labels = name::label_count(lname);
        let mut n = lname;
        if labels > self.max_labels {
            n = name::strip_labels(lname, labels - self.max_labels);
        }
        loop {
            if let Some(i) = self.position(n) {
                return Some(&self.entries[i]);
            }
            if n.len() <= 1 {
                return None;
            }
            n = name::parent(n);
        }
    }

    /// The closest zone strictly above `apex`, if this server has one.
    pub fn parent_of(&self, apex: &[u8]) -> Option<&ZoneEntry> {
        if apex.len() <= 1 {
            return None;
        }
        self.find(name::parent(apex))
    }

    /// The statistics id of `entry`, an entry of this set (see
    /// [`ZoneSet::set_stat_ids`]). Constant time: the entry's position is
    /// its offset in the entry vector.
    #[inline]
    pub fn stat_id(&self, entry: &ZoneEntry) -> u16 {
        let size = std::mem::size_of::<ZoneEntry>();
        let off = (entry as *const ZoneEntry as usize).wrapping_sub(self.entries.as_ptr() as usize) / size;
        self.stat_ids.get(off).copied().unwrap_or(u16::MAX)
    }

    /// Gives each zone a statistics id: `id(apex)` for each entry, in
    /// order ([`ZoneSet::entries`]).
    pub fn set_stat_ids(&mut self, mut id: impl FnMut(&[u8]) -> u16) {
        for (i, e) in self.entries.iter().enumerate() {
            self.stat_ids[i] = id(e.zone.apex());
        }
        self.fresh.clear();
    }

    /// Gives the entries inserted or replaced since ids were last given
    /// (by this call or [`ZoneSet::set_stat_ids`]) their statistics ids,
    /// `id(apex)`, and returns their positions (in the order inserted; a
    /// position may repeat). Entries a clone carried over keep theirs:
    /// O(changes), not O(zones).
    pub fn set_new_stat_ids(&mut self, mut id: impl FnMut(&[u8]) -> u16) -> Vec<u32> {
        let fresh = std::mem::take(&mut self.fresh);
        for &i in &fresh {
            self.stat_ids[i as usize] = id(self.entries[i as usize].zone.apex());
        }
        fresh
    }

    /// The statistics ids, parallel to [`ZoneSet::entries`].
    pub fn stat_ids(&self) -> &[u16] {
        &self.stat_ids
    }

    /// All zones.
    pub fn entries(&self) -> &[ZoneEntry] {
        &self.entries
    }

    /// Number of zones.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True if there are no zones.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn set_of(apexes: &[&str]) -> ZoneSet {
        let mut set = ZoneSet::new();
        for a in apexes {
            let o = name::from_text(a, None).unwrap();
            let text = "@ 3600 IN SOA ns h 1 2 3 4 5\n@ 3600 IN NS ns\nns 3600 IN A 192.0.2.1\n";
            let z = crate::load(crate::Source::Memory { name: a, data: text.as_bytes() }, &o)
                .unwrap_or_else(|e| panic!("{a}: {e:?}"));
            set.insert(ZoneEntry::new(Arc::new(z.zone), Acl::none()));
        }
        set
    }

    fn found(set: &ZoneSet, e: Option<&ZoneEntry>) -> Option<String> {
        let _ = set;
        e.map(|e| name::to_text(e.zone.apex()))
    }

    #[test]
    fn same_octets_finds_every_difference() {
        for n in 0..40usize {
            let a: Vec<u8> = (0..n as u8).collect();
            assert!(same_octets(&a, &a.clone()));
            for i in 0..n {
                let mut b = a.clone();
                b[i] ^= 0x20;
                assert!(!same_octets(&a, &b), "length {n}, octet {i}");
            }
            assert!(!same_octets(&a, &[a.as_slice(), &[0]].concat()));
        }
    }

    #[test]
    fn small_sets_find_the_closest_enclosing_zone() {
        let set = set_of(&["example.", "sub.example.", "b.example.", "ab.example.", "."]);
        let at = |q: &str| found(&set, set.find(&name::from_text(q, None).unwrap()));
        assert_eq!(at("www.sub.example.").as_deref(), Some("sub.example."));
        assert_eq!(at("sub.example.").as_deref(), Some("sub.example."));
        assert_eq!(at("xsub.example.").as_deref(), Some("example."), "a suffix inside a label is no apex");
        assert_eq!(at("x.ab.example.").as_deref(), Some("ab.example."));
        // The label "x\001b" ends in the octets of "b.example." in wire
        // form (length octet 1, then "b"): a suffix, but not at a label start.
        assert_eq!(at("x\\001b.example.").as_deref(), Some("example."));
        assert_eq!(at("b.example.").as_deref(), Some("b.example."));
        assert_eq!(at("example.").as_deref(), Some("example."));
        assert_eq!(at("org.").as_deref(), Some("."));
        assert_eq!(at(".").as_deref(), Some("."));
        let no_root = set_of(&["example."]);
        assert!(no_root.find(&name::from_text("org.", None).unwrap()).is_none());
        assert!(no_root.find(&name::from_text("xexample.", None).unwrap()).is_none());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// The linear search of small sets and the index agree.
        #[test]
        fn small_and_hashed_searches_agree(
            apexes in proptest::collection::vec(proptest::collection::vec(0u8..4, 0..4), 1..9),
            names in proptest::collection::vec(proptest::collection::vec(0u8..6, 0..6), 1..40),
        ) {
            let text = |labels: &[u8]| {
                let mut t: String = labels.iter().map(|l| ["a", "b", "ab", "ba", "x", "x\\001a"][*l as usize].to_string() + ".").collect();
                if t.is_empty() { t.push('.'); }
                t
            };
            let list: Vec<String> = apexes.iter().map(|a| text(a)).collect();
            let refs: Vec<&str> = list.iter().map(String::as_str).collect();
            let set = set_of(&refs);
            prop_assert!(set.len() <= SMALL_SET);
            for n in &names {
                let q = name::from_text(&text(n), None).unwrap();
                prop_assert_eq!(found(&set, set.find_small(&q)), found(&set, set.find_hashed(&q)));
            }
        }

        /// `find_parent_of` is `find` of the lowercased name, kept when
        /// the zone's apex is the name's parent; in small and large sets,
        /// for names in any letter case.
        #[test]
        fn parent_zone_search_is_find_one_label_up(
            apexes in proptest::collection::vec(proptest::collection::vec(0u8..4, 0..4), 1..9),
            names in proptest::collection::vec(proptest::collection::vec(0u8..8, 0..6), 1..40),
        ) {
            let labels = ["a", "b", "ab", "ba", "x", "x\\001a", "A", "bA"];
            let text = |ls: &[u8]| {
                let mut t: String = ls.iter().map(|l| labels[*l as usize].to_string() + ".").collect();
                if t.is_empty() { t.push('.'); }
                t
            };
            let mut list: Vec<String> = apexes.iter().map(|a| text(a)).collect();
            for padded in [false, true] {
                if padded {
                    list.extend((0..SMALL_SET).map(|i| format!("pad{i}.zz.")));
                }
                let refs: Vec<&str> = list.iter().map(String::as_str).collect();
                let set = set_of(&refs);
                prop_assert_eq!(set.len() > SMALL_SET, padded);
                for n in &names {
                    let q = name::from_text(&text(n), None).unwrap();
                    let want = if q.len() <= 1 {
                        None
                    } else {
                        set.find(&name::to_lowercase(&q))
                            .filter(|e| e.zone.apex().len() == q.len() - 1 - q[0] as usize)
                    };
                    prop_assert_eq!(found(&set, set.find_parent_of(&q)), found(&set, want), "{}", text(n));
                }
            }
        }
    }

    /// Only entries inserted or replaced since the last ids were given
    /// get new ones; a clone carries the others' ids over.
    #[test]
    fn new_stat_ids_go_to_inserted_and_replaced_entries_only() {
        let mut set = set_of(&["a.", "b.", "c."]);
        let mut asked = Vec::new();
        let got = set.set_new_stat_ids(|apex| {
            asked.push(name::to_text(apex));
            10 + asked.len() as u16
        });
        assert_eq!((got, asked), (vec![0, 1, 2], vec!["a.".to_string(), "b.".into(), "c.".into()]));
        assert_eq!(set.stat_ids(), &[11, 12, 13]);
        let mut next = set.clone();
        let more = set_of(&["d.", "b."]);
        for e in more.entries() {
            next.insert(e.clone());
        }
        let mut asked = Vec::new();
        let got = next.set_new_stat_ids(|apex| {
            asked.push(name::to_text(apex));
            20
        });
        assert_eq!((got, asked), (vec![3, 1], vec!["d.".to_string(), "b.".into()]));
        assert_eq!(next.stat_ids(), &[11, 20, 13, 20]);
        assert!(next.set_new_stat_ids(|_| 99).is_empty(), "nothing new since");
        assert_eq!(set.stat_ids(), &[11, 12, 13], "the original is untouched");
    }

    #[test]
    fn acl() {
        let mut a = Acl::none();
        a.push("192.0.2.0".parse().unwrap(), 24);
        a.push("2001:db8::".parse().unwrap(), 32);
        assert!(a.allows("192.0.2.77".parse().unwrap()));
        assert!(!a.allows("192.0.3.1".parse().unwrap()));
        assert!(a.allows("2001:db8:1::1".parse().unwrap()));
        assert!(a.allows("::ffff:192.0.2.1".parse().unwrap()));
        assert!(!Acl::none().allows("127.0.0.1".parse().unwrap()));
        let k = name::from_text("k1.", None).unwrap();
        let k2 = name::from_text("K2.", None).unwrap();
        let mut b = Acl::none();
        b.push_keyed(Some(("127.0.0.0".parse().unwrap(), 8)), &k);
        b.push_keyed(None, &k2);
        let lo = "127.0.0.1".parse().unwrap();
        let other = "192.0.2.1".parse().unwrap();
        assert!(!b.allows(lo));
        assert!(b.allows_signed(lo, Some(&k)));
        assert!(!b.allows_signed(lo, None));
        assert!(!b.allows_signed(other, Some(&k)));
        assert!(b.allows_signed(other, Some(&name::to_lowercase(&k2))));
        assert!(a.allows_signed("192.0.2.1".parse().unwrap(), Some(&k)), "plain prefixes allow signed requests too");
    }
}
