//! Key rollovers, sans I/O and with the clock a parameter: [`plan`] says
//! what the key store must do at time `now` so that a zone's keys follow
//! their policy, [`next_event`] when to ask again.
//!
//! Today: the zone-signing key of a KSK+ZSK zone rolls by
//! pre-publication (RFC 6781 §4.1.1.1, RFC 7583 §3.2). Before the
//! current ZSK's lifetime ends, a new ZSK is published without signing;
//! once every cache that held the old DNSKEY RRset has seen the new one
//! (the DNSKEY TTL plus the propagation delay), the new key signs and
//! the old one stops; the old key stays published until every signature
//! it made has left the caches (the zone's largest TTL plus the
//! propagation delay), then it is removed. The zone always has one
//! signing ZSK, and a validator never meets a signature whose key it
//! cannot have. KSK and algorithm rollovers (with CDS/CDNSKEY and the
//! parent's DS) are not planned here yet.

use crate::keyfile::Timing;

/// What [`plan`] needs to know of a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyState {
    /// Key tag (with `sep`, how the caller names the key).
    pub tag: u16,
    /// A KSK or CSK.
    pub sep: bool,
    /// Its timing.
    pub timing: Timing,
}

/// The timing parameters of a rollover.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RollPolicy {
    /// Seconds a ZSK signs before it is replaced (0: never).
    pub zsk_lifetime: u64,
    /// Seconds for a change to reach every secondary (Knot's
    /// `propagation-delay`).
    pub propagation: u64,
    /// The DNSKEY RRset's TTL.
    pub dnskey_ttl: u64,
    /// The largest TTL in the zone (how long signatures stay in caches).
    pub max_ttl: u64,
}

/// One change to the key store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Make a new ZSK with this timing.
    NewZsk(Timing),
    /// Give the key `tag` this timing.
    SetTiming(u16, Timing),
    /// Delete the key `tag` (removed from the zone).
    Delete(u16),
}

/// The changes due at `now`.
pub fn plan(keys: &[KeyState], p: &RollPolicy, now: u64) -> Vec<Action> {
    let mut out: Vec<Action> =
        keys.iter().filter(|k| k.timing.remove.is_some_and(|t| t <= now)).map(|k| Action::Delete(k.tag)).collect();
    let has_ksk = keys.iter().any(|k| k.sep);
    if p.zsk_lifetime == 0 || !has_ksk {
        return out;
    }
    let zsks = || keys.iter().filter(|k| !k.sep && k.timing.remove.is_none_or(|t| now < t));
    // A successor already on its way: nothing to start.
    if zsks().any(|k| k.timing.active.is_some_and(|t| t > now)) {
        return out;
    }
    let Some(cur) = zsks().filter(|k| k.timing.signs(now)).max_by_key(|k| k.timing.active.unwrap_or(0)) else {
        return out;
    };
    let wait = p.dnskey_ttl + p.propagation;
    let since = cur.timing.active.unwrap_or(0);
    let roll_at = (since + p.zsk_lifetime).saturating_sub(wait);
    if now >= roll_at {
        let active = now + wait;
        out.push(Action::NewZsk(Timing { publish: Some(now), active: Some(active), retire: None, remove: None }));
        let retire = Timing { retire: Some(active), remove: Some(active + p.max_ttl + p.propagation), ..cur.timing };
        out.push(Action::SetTiming(cur.tag, retire));
    }
    out
}

/// The first time after `after` at which something changes for these
/// keys: a key starts or stops signing or being published, or a rollover
/// is due to start. A caller that signed at `after` signs again then.
pub fn next_event(keys: &[KeyState], p: &RollPolicy, after: u64) -> Option<u64> {
    let mut times: Vec<u64> = keys
        .iter()
        .flat_map(|k| [k.timing.publish, k.timing.active, k.timing.retire, k.timing.remove])
        .flatten()
        .collect();
    if p.zsk_lifetime > 0 && keys.iter().any(|k| k.sep) {
        let wait = p.dnskey_ttl + p.propagation;
        for k in keys.iter().filter(|k| !k.sep && k.timing.retire.is_none()) {
            times.push((k.timing.active.unwrap_or(0) + p.zsk_lifetime).saturating_sub(wait));
        }
    }
    times.into_iter().filter(|&t| t > after).min()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(keys: &mut Vec<KeyState>, actions: &[Action], next_tag: &mut u16) {
        for a in actions {
            match *a {
                Action::NewZsk(timing) => {
                    keys.push(KeyState { tag: *next_tag, sep: false, timing });
                    *next_tag += 1;
                }
                Action::SetTiming(tag, t) => keys.iter_mut().filter(|k| k.tag == tag).for_each(|k| k.timing = t),
                Action::Delete(tag) => keys.retain(|k| k.tag != tag),
            }
        }
    }

    /// Three ZSK lifetimes on a simulated clock, one second at a time:
    /// exactly one ZSK signs at every instant; a new ZSK is published
    /// the DNSKEY TTL plus the propagation delay before it signs; a
    /// retired ZSK stays published the largest TTL plus the propagation
    /// delay after it stops; keys are removed in the end; the KSK never
    /// changes.
    #[test]
    fn zsk_prepublication_over_three_lifetimes() {
        let p = RollPolicy { zsk_lifetime: 1000, propagation: 20, dnskey_ttl: 60, max_ttl: 300 };
        let t0 = 1_000_000;
        let mut keys = vec![
            KeyState { tag: 1, sep: true, timing: Timing::default() },
            KeyState {
                tag: 2,
                sep: false,
                timing: Timing { publish: Some(t0), active: Some(t0), ..Timing::default() },
            },
        ];
        let mut next_tag = 3;
        let mut events = 0;
        let mut now = t0;
        while now < t0 + 3500 {
            let actions = plan(&keys, &p, now);
            apply(&mut keys, &actions, &mut next_tag);
            let signing: Vec<&KeyState> = keys.iter().filter(|k| !k.sep && k.timing.signs(now)).collect();
            assert_eq!(signing.len(), 1, "at {now}: {keys:?}");
            for k in keys.iter().filter(|k| !k.sep) {
                if let (Some(pb), Some(a)) = (k.timing.publish, k.timing.active) {
                    assert!(a >= pb + p.dnskey_ttl + p.propagation || a == t0, "{k:?}");
                }
                if let (Some(r), Some(rm)) = (k.timing.retire, k.timing.remove) {
                    assert!(rm >= r + p.max_ttl + p.propagation, "{k:?}");
                }
            }
            assert!(keys.iter().any(|k| k.sep && k.tag == 1));
            // next_event never skips a change: nothing happens before it.
            if let Some(n) = next_event(&keys, &p, now) {
                assert!(n > now);
                for t in now + 1..n.min(now + 50) {
                    assert!(plan(&keys, &p, t).is_empty() || t >= n, "a change at {t} before the next event {n}");
                }
            }
            events += actions.len();
            now += 1;
        }
        assert_eq!(next_tag, 6, "three new ZSKs over three lifetimes and a half");
        assert!(events >= 6);
        assert!(keys.iter().filter(|k| !k.sep).count() <= 2, "old keys removed: {keys:?}");
    }

    #[test]
    fn no_rollover_without_a_lifetime_or_a_ksk() {
        let csk = [KeyState { tag: 1, sep: true, timing: Timing::default() }];
        let p = RollPolicy { zsk_lifetime: 10, propagation: 1, dnskey_ttl: 1, max_ttl: 1 };
        assert!(plan(&csk, &p, 1_000_000).is_empty());
        let zsk_only = [KeyState { tag: 2, sep: false, timing: Timing::default() }];
        assert!(plan(&zsk_only, &p, 1_000_000).is_empty());
        let never = RollPolicy { zsk_lifetime: 0, ..p };
        let both = [csk[0], zsk_only[0]];
        assert!(plan(&both, &never, 1_000_000).is_empty());
    }
}
