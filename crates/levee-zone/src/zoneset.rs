//! The set of zones a server answers for.

use std::net::IpAddr;
use std::sync::Arc;

use hashbrown::HashTable;
use levee_wire::name;

use crate::zone::{hash_name, Zone};

/// An optional prefix and a key name (lowercase wire).
type KeyedRule = (Option<(IpAddr, u8)>, Vec<u8>);

/// An address-prefix access list (e.g. who may transfer a zone).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Acl {
    prefixes: Vec<(IpAddr, u8)>,
    /// Rules that need a TSIG key (lowercase wire name), with an optional prefix.
    keyed: Vec<KeyedRule>,
}

impl Acl {
    /// An empty list: nobody matches.
    pub fn none() -> Self {
        Acl::default()
    }

    /// Adds a prefix. The address is masked to the prefix length.
    pub fn push(&mut self, addr: IpAddr, len: u8) {
        self.prefixes.push((mask(addr, len), len));
    }

    /// Adds a rule that needs a request signed with `key` (lowercase
    /// wire name), from `prefix` or (`None`) from anywhere.
    pub fn push_keyed(&mut self, prefix: Option<(IpAddr, u8)>, key: &[u8]) {
        self.keyed.push((prefix.map(|(a, l)| (mask(a, l), l)), name::to_lowercase(key).as_slice().to_vec()));
    }

    /// True if nobody is allowed.
    pub fn is_empty(&self) -> bool {
        self.prefixes.is_empty() && self.keyed.is_empty()
    }

    /// True if a request from `addr`, verified with the TSIG key named
    /// `key` (or unsigned: `None`), matches a rule.
    pub fn allows_signed(&self, addr: IpAddr, key: Option<&[u8]>) -> bool {
        if self.allows(addr) {
            return true;
        }
        let Some(key) = key else { return false };
        let addr = unmap(addr);
        self.keyed.iter().any(|(p, k)| name::eq_ignore_case(k, key) && p.is_none_or(|(p, len)| in_prefix(addr, p, len)))
    }

    /// True if `addr` is inside one of the prefixes. IPv4-mapped IPv6
    /// addresses match IPv4 prefixes.
    pub fn allows(&self, addr: IpAddr) -> bool {
        let addr = unmap(addr);
        self.prefixes.iter().any(|&(p, len)| in_prefix(addr, p, len))
    }

    /// The prefixes.
    pub fn prefixes(&self) -> &[(IpAddr, u8)] {
        &self.prefixes
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

/// A zone with its serving policy.
pub struct ZoneEntry {
    /// The zone data.
    pub zone: Arc<Zone>,
    /// Who may AXFR/IXFR it.
    pub transfer: Acl,
    /// Who may NOTIFY us about it (secondary zones; empty: NOTIFY refused).
    pub notify: Acl,
    /// A secondary zone past its expire time (or never received): SERVFAIL.
    pub expired: bool,
    /// Differences for IXFR out.
    pub journal: Option<Arc<crate::journal::Journal>>,
}

impl ZoneEntry {
    /// A primary zone with a transfer ACL.
    pub fn new(zone: Arc<Zone>, transfer: Acl) -> Self {
        ZoneEntry { zone, transfer, notify: Acl::none(), expired: false, journal: None }
    }
}

/// The zones a server answers for.
#[derive(Default)]
pub struct ZoneSet {
    entries: Vec<ZoneEntry>,
    /// Statistics id of each entry (parallel to `entries`): by default its
    /// position; the daemon gives each zone name an id that survives
    /// reloads ([`ZoneSet::set_stat_ids`]) so per-zone counters stay
    /// attached to the same zone.
    stat_ids: Vec<u16>,
    index: HashTable<u32>,
    max_labels: usize,
}

impl ZoneSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a zone; a zone with the same apex is replaced.
    pub fn insert(&mut self, entry: ZoneEntry) {
        let apex = entry.zone.apex().to_vec();
        self.max_labels = self.max_labels.max(name::label_count(&apex));
        if let Some(i) = self.position(&apex) {
            self.entries[i] = entry;
            return;
        }
        let id = self.entries.len() as u32;
        self.entries.push(entry);
        self.stat_ids.push(id.min(u16::MAX as u32 - 1) as u16);
        let entries = &self.entries;
        self.index.insert_unique(hash_name(&apex), id, |&i| hash_name(entries[i as usize].zone.apex()));
    }

    fn position(&self, lname: &[u8]) -> Option<usize> {
        self.index.find(hash_name(lname), |&i| self.entries[i as usize].zone.apex() == lname).map(|&i| i as usize)
    }

    /// The zone whose apex is exactly `lname` (lowercase wire).
    pub fn exact(&self, lname: &[u8]) -> Option<&ZoneEntry> {
        self.position(lname).map(|i| &self.entries[i])
    }

    /// The closest enclosing zone of `lname` (lowercase wire), if any.
    #[inline]
    pub fn find(&self, lname: &[u8]) -> Option<&ZoneEntry> {
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
