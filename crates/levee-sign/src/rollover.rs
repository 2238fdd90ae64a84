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
//! cannot have.
//!
//! The key-signing key (or a combined key, CSK) rolls by double
//! signature with the parent's DS swapped (RFC 6781 §4.1.2, RFC 7583
//! §3.3): the new key is published (and a new KSK signs the DNSKEY
//! RRset at once); once its DNSKEY has reached the caches it is offered
//! to the parent by CDS and CDNSKEY (RFC 7344), and the rollover stops
//! there until the parent serves its DS, which the caller tells by
//! [`ds_seen`] (the daemon's parent check, or an operator). The old key
//! then stays until the old DS has left the caches.
//!
//! An algorithm rollover (RFC 6781 §4.1.4, the conservative way) starts
//! when the policy's algorithm is not the keys': see [`algorithm_step`].

use crate::keyfile::Timing;

/// What [`plan`] needs to know of a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyState {
    /// Key tag (with `sep`, how the caller names the key).
    pub tag: u16,
    /// A KSK or CSK.
    pub sep: bool,
    /// Its algorithm's number.
    pub alg: u8,
    /// Its timing.
    pub timing: Timing,
}

/// The timing parameters of a rollover.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RollPolicy {
    /// Seconds a ZSK signs before it is replaced (0: never).
    pub zsk_lifetime: u64,
    /// Seconds a KSK (or CSK) signs before it is replaced (0: never).
    pub ksk_lifetime: u64,
    /// Seconds for a change to reach every secondary (Knot's
    /// `propagation-delay`).
    pub propagation: u64,
    /// The DNSKEY RRset's TTL.
    pub dnskey_ttl: u64,
    /// The largest TTL in the zone (how long signatures stay in caches).
    pub max_ttl: u64,
    /// The TTL of the DS RRset at the parent (how long the old DS stays
    /// in caches once the parent replaced it).
    pub ds_ttl: u64,
    /// The algorithm the keys must have: keys of another one are
    /// replaced by an algorithm rollover (0: whatever they have).
    pub algorithm: u8,
}

/// One change to the key store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Make a new ZSK with this timing.
    NewZsk(Timing),
    /// Make a new KSK (a CSK when the zone has no ZSK) with this timing.
    NewKsk(Timing),
    /// Give the key `tag` this timing.
    SetTiming(u16, Timing),
    /// Delete the key `tag` (removed from the zone).
    Delete(u16),
}

/// Which rollover [`start`] begins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The zone-signing key (a KSK+ZSK zone).
    Zsk,
    /// The key-signing key, or the combined key.
    Ksk,
}

fn live(k: &KeyState, now: u64) -> bool {
    k.timing.remove.is_none_or(|t| now < t)
}

/// A zone whose keys all have the SEP flag: one combined key (CSK) signs
/// everything.
fn combined(keys: &[KeyState]) -> bool {
    keys.iter().all(|k| k.sep)
}

/// The changes due at `now`.
pub fn plan(keys: &[KeyState], p: &RollPolicy, now: u64) -> Vec<Action> {
    let mut out: Vec<Action> = keys.iter().filter(|k| k.timing.gone(now)).map(|k| Action::Delete(k.tag)).collect();
    let alg = algorithm_step(keys, p, now);
    if !alg.is_empty() {
        out.extend(alg);
        return out;
    }
    if p.zsk_lifetime > 0 {
        out.extend(zsk_step(keys, p, now, false));
    }
    if p.ksk_lifetime > 0 {
        out.extend(ksk_step(keys, p, now, false));
    }
    out
}

/// The first steps of a rollover of `role` begun now, whatever the
/// key's lifetime (`levee ctl key-rollover`); empty when one is under
/// way or the zone has no such key.
pub fn start(keys: &[KeyState], p: &RollPolicy, now: u64, role: Role) -> Vec<Action> {
    match role {
        Role::Zsk => zsk_step(keys, p, now, true),
        Role::Ksk => ksk_step(keys, p, now, true).into_iter().collect(),
    }
}

/// ZSK pre-publication: the new ZSK published the DNSKEY TTL plus the
/// propagation delay before it signs; the old one retires then and stays
/// published the largest TTL plus the propagation delay.
fn zsk_step(keys: &[KeyState], p: &RollPolicy, now: u64, force: bool) -> Vec<Action> {
    let mut out = Vec::new();
    if !keys.iter().any(|k| k.sep) {
        return out;
    }
    let zsks = || keys.iter().filter(|k| !k.sep && live(k, now));
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
    if force || now >= roll_at {
        let active = now + wait;
        out.push(Action::NewZsk(Timing { publish: Some(now), active: Some(active), ..Timing::default() }));
        let retire = Timing { retire: Some(active), remove: Some(active + p.max_ttl + p.propagation), ..cur.timing };
        out.push(Action::SetTiming(cur.tag, retire));
    }
    out
}

/// Algorithm rollover, conservative (RFC 6781 §4.1.4): when no key has
/// the policy's algorithm, keys of it (a KSK and a ZSK, or a CSK) are
/// made that sign every RRset at once but are published only once those
/// signatures have reached the caches (the largest TTL plus the
/// propagation delay); their DNSKEYs reach the caches in turn (the
/// DNSKEY TTL plus the propagation delay) and the new KSK is offered to
/// the parent, as in a KSK rollover; once the parent serves its DS,
/// [`ds_seen`] takes the old algorithm's DNSKEYs out after the DS TTL,
/// and its signatures after the DNSKEY TTL more.
fn algorithm_step(keys: &[KeyState], p: &RollPolicy, now: u64) -> Vec<Action> {
    let mut current = keys.iter().filter(|k| live(k, now) && k.timing.retire.is_none()).peekable();
    if p.algorithm == 0 || current.peek().is_none() || keys.iter().any(|k| live(k, now) && k.alg == p.algorithm) {
        return Vec::new();
    }
    let publish = now + p.max_ttl + p.propagation;
    let ready = publish + p.dnskey_ttl + p.propagation;
    let mut out = vec![Action::NewKsk(Timing {
        publish: Some(publish),
        ready: Some(ready),
        active: Some(now),
        ..Timing::default()
    })];
    if !combined(keys) {
        out.push(Action::NewZsk(Timing { publish: Some(publish), active: Some(now), ..Timing::default() }));
    }
    out
}

/// True while a KSK (or CSK) rollover is under way: a key of the SEP
/// role not yet signing, or waiting for the parent's DS.
fn ksk_rolling(keys: &[KeyState], now: u64) -> bool {
    keys.iter()
        .filter(|k| k.sep && live(k, now) && k.timing.retire.is_none())
        .any(|k| k.timing.awaits_ds() || k.timing.active.is_some_and(|t| t > now))
}

/// Since when a KSK has been the zone's key: since it signs, or since the
/// parent serves its DS when it came by a rollover (a slow parent does
/// not shorten its life; the next rollover never starts as this one
/// ends).
fn ksk_since(k: &KeyState) -> u64 {
    k.timing.active.unwrap_or(0).max(k.timing.submitted.unwrap_or(0))
}

/// The newest KSK (or CSK) signing at `now` and not retiring.
fn current_ksk(keys: &[KeyState], now: u64) -> Option<&KeyState> {
    keys.iter()
        .filter(|k| k.sep && k.timing.retire.is_none() && k.timing.signs(now))
        .max_by_key(|k| k.timing.active.unwrap_or(0))
}

/// KSK rollover by double signature with the parent's DS swapped (RFC
/// 6781 §4.1.2, RFC 7583 §3.3.2): the new KSK is published and signs the
/// DNSKEY RRset beside the old one at once; once its DNSKEY has reached
/// every cache (the DNSKEY TTL plus the propagation delay) it is offered
/// to the parent by CDS and CDNSKEY (`ready`), and the rollover waits
/// until the parent serves its DS ([`ds_seen`]). A new CSK also signs the
/// zone's data, so it signs from `ready` on, not before (pre-publication).
fn ksk_step(keys: &[KeyState], p: &RollPolicy, now: u64, force: bool) -> Option<Action> {
    if ksk_rolling(keys, now) {
        return None;
    }
    let cur = current_ksk(keys, now)?;
    if !force && now < ksk_since(cur) + p.ksk_lifetime {
        return None;
    }
    let ready = now + p.dnskey_ttl + p.propagation;
    let active = if combined(keys) { ready } else { now };
    Some(Action::NewKsk(Timing { publish: Some(now), ready: Some(ready), active: Some(active), ..Timing::default() }))
}

/// The parent serves the DS of the keys waiting for it (seen by the
/// parent check, or confirmed by hand) at `now`: they are marked
/// `submitted` (their CDS and CDNSKEY leave), and the old KSKs retire
/// once the old DS has left the caches (the DS TTL plus the propagation
/// delay) and are removed then; an old CSK stays published the largest
/// TTL plus the propagation delay longer, for the signatures it made.
/// Empty when no key waits (or the waiting key's DNSKEY is still
/// propagating).
pub fn ds_seen(keys: &[KeyState], p: &RollPolicy, now: u64) -> Vec<Action> {
    let waiting: Vec<&KeyState> =
        keys.iter().filter(|k| k.sep && k.timing.awaits_ds() && k.timing.ready.is_some_and(|t| t <= now)).collect();
    if waiting.is_empty() {
        return Vec::new();
    }
    let mut out: Vec<Action> =
        waiting.iter().map(|k| Action::SetTiming(k.tag, Timing { submitted: Some(now), ..k.timing })).collect();
    let new_alg = waiting[0].alg;
    let current = |k: &&KeyState| live(k, now) && k.timing.retire.is_none() && !k.timing.awaits_ds();
    if keys.iter().filter(current).any(|k| k.alg != new_alg) {
        // An algorithm rollover: the old algorithm's DNSKEYs leave once
        // the old DS left the caches, its signatures the DNSKEY TTL later.
        let remove = now + p.ds_ttl + p.propagation;
        let retire = remove + p.dnskey_ttl + p.propagation;
        for old in keys.iter().filter(current).filter(|k| k.alg != new_alg) {
            out.push(Action::SetTiming(old.tag, Timing { retire: Some(retire), remove: Some(remove), ..old.timing }));
        }
        return out;
    }
    let retire = now + p.ds_ttl + p.propagation;
    let remove = if combined(keys) { retire + p.max_ttl + p.propagation } else { retire };
    for old in keys.iter().filter(current).filter(|k| k.sep) {
        out.push(Action::SetTiming(old.tag, Timing { retire: Some(retire), remove: Some(remove), ..old.timing }));
    }
    out
}

/// What the zone's rollover waits for at `now`, if anything: the
/// parent's DS of a key offered by CDS.
pub fn awaiting_ds(keys: &[KeyState], now: u64) -> Option<u16> {
    keys.iter().find(|k| k.sep && k.timing.awaits_ds() && k.timing.ready.is_some_and(|t| t <= now)).map(|k| k.tag)
}

/// The first time after `after` at which something changes for these
/// keys: a key starts or stops signing or being published or offered to
/// the parent, or a rollover is due to start. A caller that signed at
/// `after` signs again then. (The parent's DS is not a time: the parent
/// check calls [`ds_seen`].)
pub fn next_event(keys: &[KeyState], p: &RollPolicy, after: u64) -> Option<u64> {
    let mut times: Vec<u64> = keys
        .iter()
        .flat_map(|k| {
            let t = k.timing;
            [t.publish, t.ready, t.active, t.submitted, t.retire, t.remove]
        })
        .flatten()
        .collect();
    if p.zsk_lifetime > 0 && keys.iter().any(|k| k.sep) {
        let wait = p.dnskey_ttl + p.propagation;
        for k in keys.iter().filter(|k| !k.sep && k.timing.retire.is_none()) {
            times.push((k.timing.active.unwrap_or(0) + p.zsk_lifetime).saturating_sub(wait));
        }
    }
    if p.ksk_lifetime > 0 && !ksk_rolling(keys, after) {
        if let Some(cur) = current_ksk(keys, after) {
            times.push(ksk_since(cur) + p.ksk_lifetime);
        }
    }
    times.into_iter().filter(|&t| t > after).min()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(keys: &mut Vec<KeyState>, actions: &[Action], next_tag: &mut u16) {
        apply_alg(keys, actions, next_tag, 13)
    }

    fn apply_alg(keys: &mut Vec<KeyState>, actions: &[Action], next_tag: &mut u16, alg: u8) {
        for a in actions {
            match *a {
                Action::NewZsk(timing) | Action::NewKsk(timing) => {
                    keys.push(KeyState { tag: *next_tag, sep: matches!(a, Action::NewKsk(_)), alg, timing });
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
        let p = RollPolicy {
            zsk_lifetime: 1000,
            ksk_lifetime: 0,
            propagation: 20,
            dnskey_ttl: 60,
            max_ttl: 300,
            ds_ttl: 0,
            algorithm: 13,
        };
        let t0 = 1_000_000;
        let mut keys = vec![
            KeyState { tag: 1, sep: true, alg: 13, timing: Timing::default() },
            KeyState {
                tag: 2,
                sep: false,
                alg: 13,
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
        let csk = [KeyState { tag: 1, sep: true, alg: 13, timing: Timing::default() }];
        let p = RollPolicy {
            zsk_lifetime: 10,
            ksk_lifetime: 0,
            propagation: 1,
            dnskey_ttl: 1,
            max_ttl: 1,
            ds_ttl: 1,
            algorithm: 13,
        };
        assert!(plan(&csk, &p, 1_000_000).is_empty());
        let zsk_only = [KeyState { tag: 2, sep: false, alg: 13, timing: Timing::default() }];
        assert!(plan(&zsk_only, &p, 1_000_000).is_empty());
        let never = RollPolicy { zsk_lifetime: 0, ..p };
        let both = [csk[0], zsk_only[0]];
        assert!(plan(&both, &never, 1_000_000).is_empty());
    }

    /// The parent of a simulated zone: the DS it serves (key tags), and
    /// since when each DS it served left it (caches keep it `ds_ttl`).
    struct Parent {
        ds: Vec<u16>,
        gone: Vec<(u16, u64)>,
    }

    /// Two KSK (or CSK) lifetimes on a simulated clock, one second at a
    /// time, with a parent that copies the CDS into its DS `lag` seconds
    /// after the CDS appears: every DS a validator may hold (served, or
    /// left the parent less than the DS TTL ago) matches a published key
    /// that signs the DNSKEY RRset; a key signing the zone's data was
    /// published the DNSKEY TTL plus the propagation delay before; the
    /// rollover does not move past the CDS while the parent lacks the new
    /// DS; it ends with one key of the role.
    fn ksk_rollover(csk: bool, lag: u64) -> usize {
        let p = RollPolicy {
            zsk_lifetime: 0,
            ksk_lifetime: 1000,
            propagation: 20,
            dnskey_ttl: 60,
            max_ttl: 300,
            ds_ttl: 120,
            algorithm: 13,
        };
        let t0 = 1_000_000;
        let since = Timing { publish: Some(t0), active: Some(t0), ..Timing::default() };
        let mut keys = vec![KeyState { tag: 1, sep: true, alg: 13, timing: since }];
        if !csk {
            keys.push(KeyState { tag: 2, sep: false, alg: 13, timing: since });
        }
        let mut parent = Parent { ds: vec![1], gone: Vec::new() };
        let mut cds_since: Option<(Vec<u16>, u64)> = None;
        let mut next_tag = 3;
        let mut rollovers = 0;
        for now in t0..t0 + 3990 {
            let actions = plan(&keys, &p, now);
            rollovers += actions.iter().filter(|a| matches!(a, Action::NewKsk(_))).count();
            apply(&mut keys, &actions, &mut next_tag);
            // The parent's side: the CDS copied into the DS after `lag`.
            let cds: Vec<u16> = keys.iter().filter(|k| k.timing.offered(now)).map(|k| k.tag).collect();
            if cds.is_empty() {
                cds_since = None;
            } else if cds_since.as_ref().is_none_or(|(c, _)| *c != cds) {
                cds_since = Some((cds.clone(), now));
            }
            if let Some((c, at)) = &cds_since {
                if now >= at + lag && parent.ds != *c {
                    for old in parent.ds.iter().filter(|d| !c.contains(d)) {
                        parent.gone.push((*old, now));
                    }
                    parent.ds = c.clone();
                }
            }
            let waiting = awaiting_ds(&keys, now);
            if waiting.is_some_and(|w| parent.ds.contains(&w)) {
                let seen = ds_seen(&keys, &p, now);
                assert!(!seen.is_empty());
                apply(&mut keys, &seen, &mut next_tag);
            } else if let Some(w) = waiting {
                // Not at the parent yet: the old key must not retire.
                assert!(keys.iter().filter(|k| k.sep && k.tag != w).all(|k| k.timing.retire.is_none()), "{keys:?}");
            }
            let cached = parent
                .ds
                .iter()
                .copied()
                .chain(parent.gone.iter().filter(|(_, at)| now < at + p.ds_ttl + p.propagation).map(|(t, _)| *t));
            for ds in cached {
                let k = keys.iter().find(|k| k.tag == ds);
                assert!(k.is_some_and(|k| k.timing.signs(now)), "DS {ds} at {now} has no signing key: {keys:?}");
            }
            for k in keys.iter().filter(|k| k.timing.signs(now) && (csk || !k.sep)) {
                if let (Some(pb), Some(a)) = (k.timing.publish, k.timing.active) {
                    assert!(a >= pb + p.dnskey_ttl + p.propagation || a == t0, "{k:?}");
                }
            }
            assert!(keys.iter().any(|k| k.sep && k.timing.signs(now)), "at {now}: {keys:?}");
            if let Some(n) = next_event(&keys, &p, now) {
                assert!(n > now);
            }
        }
        assert_eq!(keys.iter().filter(|k| k.sep).count(), 1, "old keys removed: {keys:?}");
        rollovers
    }

    #[test]
    fn a_ksk_rolls_with_the_parent_ds() {
        assert_eq!(ksk_rollover(false, 30), 3);
        // A parent that takes 500 s holds each rollover back that long
        // (and the next one starts a lifetime after its DS is seen).
        assert_eq!(ksk_rollover(false, 500), 2);
    }

    #[test]
    fn a_csk_rolls_with_the_parent_ds() {
        assert_eq!(ksk_rollover(true, 30), 3);
    }

    /// `ds_seen` before the new key is offered does nothing; a forced
    /// start begins a rollover whatever the lifetime, once.
    #[test]
    fn a_forced_start_and_an_early_confirmation() {
        let p = RollPolicy {
            zsk_lifetime: 0,
            ksk_lifetime: 0,
            propagation: 1,
            dnskey_ttl: 10,
            max_ttl: 10,
            ds_ttl: 10,
            algorithm: 13,
        };
        let mut keys = vec![KeyState { tag: 1, sep: true, alg: 13, timing: Timing::default() }];
        assert!(plan(&keys, &p, 100).is_empty());
        let a = start(&keys, &p, 100, Role::Ksk);
        assert_eq!(a.len(), 1);
        let mut next = 2;
        apply(&mut keys, &a, &mut next);
        assert!(start(&keys, &p, 101, Role::Ksk).is_empty(), "one at a time");
        assert!(ds_seen(&keys, &p, 105).is_empty(), "not offered before its DNSKEY propagated");
        assert_eq!(awaiting_ds(&keys, 111), Some(2));
        assert!(start(&keys, &p, 111, Role::Zsk).is_empty(), "a CSK zone has no ZSK");
    }

    /// An algorithm rollover (13 to 15) on a simulated clock with a
    /// parent copying the CDS after 50 s: a key of the new algorithm
    /// signs the largest TTL plus the propagation delay before its DNSKEY
    /// is published; every algorithm with a DNSKEY published has a key
    /// signing the DNSKEY RRset and one signing the data; a key of the
    /// old algorithm signs the DNSKEY TTL plus the propagation delay
    /// after its DNSKEY left; every DS a validator may hold has its key
    /// published and signing; in the end only the new algorithm is left.
    fn algorithm_rollover(csk: bool) {
        let p = RollPolicy {
            zsk_lifetime: 0,
            ksk_lifetime: 0,
            propagation: 20,
            dnskey_ttl: 60,
            max_ttl: 300,
            ds_ttl: 120,
            algorithm: 15,
        };
        let t0 = 1_000_000;
        let since = Timing { publish: Some(t0), active: Some(t0), ..Timing::default() };
        let mut keys = vec![KeyState { tag: 1, sep: true, alg: 13, timing: since }];
        if !csk {
            keys.push(KeyState { tag: 2, sep: false, alg: 13, timing: since });
        }
        let (mut parent, mut gone): (Vec<u16>, Vec<(u16, u64)>) = (vec![1], Vec::new());
        let mut cds_at: Option<u64> = None;
        let mut next_tag = 3;
        for now in t0..t0 + 2000 {
            let actions = plan(&keys, &p, now);
            apply_alg(&mut keys, &actions, &mut next_tag, 15);
            let cds: Vec<u16> = keys.iter().filter(|k| k.timing.offered(now)).map(|k| k.tag).collect();
            cds_at = if cds.is_empty() { None } else { cds_at.or(Some(now)) };
            if cds_at.is_some_and(|t| now >= t + 50) && parent != cds {
                gone.extend(parent.iter().map(|d| (*d, now)));
                parent = cds.clone();
            }
            if awaiting_ds(&keys, now).is_some_and(|w| parent.contains(&w)) {
                let seen = ds_seen(&keys, &p, now);
                apply_alg(&mut keys, &seen, &mut next_tag, 15);
            }
            let cached = parent
                .iter()
                .copied()
                .chain(gone.iter().filter(|(_, at)| now < at + p.ds_ttl + p.propagation).map(|(t, _)| *t));
            for ds in cached {
                let k = keys.iter().find(|k| k.tag == ds);
                assert!(
                    k.is_some_and(|k| k.timing.signs(now) && k.timing.published(now)),
                    "DS {ds} at {now}: {keys:?}"
                );
            }
            for alg in [13u8, 15] {
                let of = || keys.iter().filter(|k| k.alg == alg);
                if of().any(|k| k.timing.published(now)) {
                    assert!(of().any(|k| k.sep && k.timing.signs(now)), "{alg} at {now}: {keys:?}");
                    assert!(of().any(|k| (csk || !k.sep) && k.timing.signs(now)), "{alg} at {now}: {keys:?}");
                }
            }
            for k in &keys {
                let t = k.timing;
                if k.alg == 15 {
                    assert!(t.publish.unwrap() >= t.active.unwrap() + p.max_ttl + p.propagation, "{k:?}");
                } else if let (Some(rm), Some(rt)) = (t.remove, t.retire) {
                    assert!(rt >= rm + p.dnskey_ttl + p.propagation, "{k:?}");
                }
            }
        }
        assert!(keys.iter().all(|k| k.alg == 15), "{keys:?}");
        assert_eq!(keys.len(), if csk { 1 } else { 2 }, "{keys:?}");
        assert_eq!(parent.len(), 1);
    }

    #[test]
    fn an_algorithm_rolls_over_with_a_ksk_and_a_zsk() {
        algorithm_rollover(false);
    }

    #[test]
    fn an_algorithm_rolls_over_with_a_csk() {
        algorithm_rollover(true);
    }
}
