//! A signed zone's keys over time (issue 18): the rollover steps of
//! `levee_sign::rollover` carried out on the key store (`crate::keys`),
//! the CDS and CDNSKEY records a KSK rollover offers the parent, and the
//! operator's commands (`levee ctl keys`, `key-rollover`, `ds-seen`).
//!
//! * Every step is a time written into a key file (`publish`, `ready`,
//!   `active`, `submitted`, `retire`, `remove`), so a restart continues
//!   where it was; [`key_event`] tells the signing timer when the next
//!   one falls due, and the zone is signed again then
//!   (`zones::reload::refresh_signatures`).
//! * A KSK (or CSK) rollover stops once the new key is offered by CDS and
//!   CDNSKEY, until the parent serves its DS: [`confirm_ds`] (called by
//!   the parent check, `zones::parentds`, or `levee ctl ds-seen`) writes
//!   `submitted` into the new key's file and the old key's `retire` and
//!   `remove`.
//! * Every wait derives from the policy and the zone (DNSKEY TTL, largest
//!   TTL, `ds-ttl`, `propagation-delay`, the lifetimes), so a policy of
//!   seconds runs a whole rollover in seconds (`it::sign`).
//! * Nothing here writes key material anywhere but the key files: the
//!   listing shows tags, algorithms and times.

use std::path::PathBuf;

use levee_config::{Config, SignPolicy};
use levee_sign::keyfile::{KeyFile, Timing};
use levee_sign::rollover::{self, Action, KeyState, Role, RollPolicy};
use levee_sign::{Algorithm, Key};
use levee_wire::name;
use levee_wire::rtype::{c, t};
use levee_zone::journal::Rr;
use levee_zone::Zone;

use crate::keys;
use crate::zones::plan::SignPlan;

/// The keys of the zone `name`: those of its key directory, or new ones
/// made by its policy when it has none.
pub fn zone_keys(s: &SignPlan, name: &str, service_user: Option<&Config>) -> Result<Vec<Key>, String> {
    let found = keys::load(&s.key_dir, name)?;
    if !found.is_empty() {
        return Ok(found);
    }
    let alg = Algorithm::from_number(s.policy.algorithm).unwrap_or(Algorithm::EcdsaP256Sha256);
    let now = crate::clock::wall();
    let since = Timing { publish: Some(now), active: Some(now), ..Default::default() };
    let mut made = vec![keys::generate_timed(&s.key_dir, name, alg, true, now, &since)?];
    if s.policy.split_keys {
        made.push(keys::generate_timed(&s.key_dir, name, alg, false, now, &since)?);
    }
    if let Some(cfg) = service_user {
        keys::give_to_service_user(cfg, &s.key_dir);
    }
    if let Ok(apex) = name::from_text(name, None) {
        for k in made.iter().filter(|k| k.is_sep()) {
            let ds = levee_zone::zonefile::record_to_text(apex.as_slice(), 3600, c::IN, t::DS, &k.ds_sha256(&apex));
            tracing::warn!(zone = name, tag = k.tag(), "new DNSSEC key; publish at the parent: {ds}");
        }
    }
    Ok(made)
}

/// The rollover's timing parameters for a zone whose DNSKEY TTL and
/// largest TTL are these.
pub fn roll_policy(p: &SignPolicy, dnskey_ttl: u64, max_ttl: u64) -> RollPolicy {
    let zsk_lifetime = if p.split_keys { p.zsk_lifetime } else { 0 };
    RollPolicy {
        zsk_lifetime,
        ksk_lifetime: p.ksk_lifetime,
        propagation: p.propagation_delay,
        dnskey_ttl,
        max_ttl,
        ds_ttl: p.ds_ttl,
        algorithm: p.algorithm,
    }
}

/// The keys' states for the rollover planner; a key file without an
/// `active` line (made before rollovers, or by hand) signs since it was
/// created.
pub fn states(files: &[(PathBuf, KeyFile)]) -> Vec<KeyState> {
    files
        .iter()
        .map(|(_, kf)| {
            let mut timing = kf.timing;
            if timing.active.is_none() && kf.created > 0 {
                timing.active = Some(kf.created);
            }
            KeyState { tag: kf.key.tag(), sep: kf.key.is_sep(), alg: kf.key.algorithm().number(), timing }
        })
        .collect()
}

/// The keys of a zone at a time, as the signer takes them.
pub struct KeysNow {
    /// The published keys, each marked signing or not.
    pub keys: Vec<Key>,
    /// The CDS and CDNSKEY records at the apex `apex` (RFC 7344): those of
    /// the keys offered to the parent (empty outside a KSK rollover).
    pub cds: Vec<Rr>,
}

/// The published keys of `files` at `now` and the CDS/CDNSKEY records
/// of those offered to the parent, at the DNSKEY TTL.
fn published(files: Vec<(PathBuf, KeyFile)>, apex: &[u8], now: u64, dnskey_ttl: u32) -> KeysNow {
    let mut cds = Vec::new();
    let mut out = Vec::new();
    // A key signs without being published during an algorithm rollover.
    for (_, kf) in files.into_iter().filter(|(_, kf)| kf.timing.published(now) || kf.timing.signs(now)) {
        if kf.key.is_sep() && kf.timing.offered(now) {
            let rr = |rtype: u16, rdata: Vec<u8>| Rr { owner: apex.to_vec(), rtype, ttl: dnskey_ttl, rdata };
            cds.push(rr(t::CDS, kf.key.ds_sha256(apex)));
            cds.push(rr(t::CDNSKEY, kf.key.dnskey().to_vec()));
        }
        let mut k = kf.key;
        k.set_signing(kf.timing.signs(now));
        k.set_published(kf.timing.published(now));
        out.push(k);
    }
    KeysNow { keys: out, cds }
}

/// The zone's keys at `now`, after the rollover steps due then
/// (`levee_sign::rollover::plan`, carried out on the key store).
pub fn keys_now(
    s: &SignPlan,
    zone: &str,
    apex: &[u8],
    now: u64,
    dnskey_ttl: u64,
    max_ttl: u64,
) -> Result<KeysNow, String> {
    let mut files = keys::load_files(&s.key_dir, zone)?;
    if files.is_empty() {
        // Made now (they are made at start; a key directory emptied by
        // hand since gets new keys, as at a first start).
        zone_keys(s, zone, None)?;
        files = keys::load_files(&s.key_dir, zone)?;
    }
    let actions = rollover::plan(&states(&files), &roll_policy(&s.policy, dnskey_ttl, max_ttl), now);
    if !actions.is_empty() {
        carry_out(s, zone, &files, &actions, now)?;
        files = keys::load_files(&s.key_dir, zone)?;
    }
    Ok(published(files, apex, now, dnskey_ttl as u32))
}

/// The zone's keys at `now` if no rollover step is due (`None`: one is,
/// the zone is signed in full).
pub fn keys_unplanned(
    s: &SignPlan,
    zone: &str,
    apex: &[u8],
    now: u64,
    dnskey_ttl: u64,
) -> Result<Option<KeysNow>, String> {
    let files = keys::load_files(&s.key_dir, zone)?;
    if files.is_empty() || !rollover::plan(&states(&files), &roll_policy(&s.policy, dnskey_ttl, 0), now).is_empty() {
        return Ok(None);
    }
    Ok(Some(published(files, apex, now, dnskey_ttl as u32)))
}

/// True if the served version `z` shows the keys `kn` as they are: the
/// DNSKEY of every published key and of no unpublished one, and exactly
/// their CDS and CDNSKEY. A key step taken in the second the zone was
/// last signed (`levee ctl key-rollover`, `ds-seen`) is no key event
/// for the timer; this sees it.
pub fn served_matches(z: &Zone, kn: &KeysNow) -> bool {
    use std::collections::BTreeSet;
    let id = z.apex_id();
    let set = |rtype: u16| -> BTreeSet<Vec<u8>> {
        z.find(id, rtype).map(|rs| z.rdatas(rs).map(|r| r.to_vec()).collect()).unwrap_or_default()
    };
    let dnskeys = set(t::DNSKEY);
    let keys_ok = kn.keys.iter().all(|k| dnskeys.contains(k.dnskey()) == k.published());
    let want = |rtype: u16| -> BTreeSet<Vec<u8>> {
        kn.cds.iter().filter(|r| r.rtype == rtype).map(|r| r.rdata.clone()).collect()
    };
    keys_ok && set(t::CDS) == want(t::CDS) && set(t::CDNSKEY) == want(t::CDNSKEY)
}

fn role(k: &Key, files: &[(PathBuf, KeyFile)]) -> &'static str {
    match (k.is_sep(), files.iter().any(|(_, f)| !f.key.is_sep())) {
        (true, true) => "KSK",
        (true, false) => "CSK",
        (false, _) => "ZSK",
    }
}

/// Carries out rollover steps on the key store.
fn carry_out(
    s: &SignPlan,
    zone: &str,
    files: &[(PathBuf, KeyFile)],
    actions: &[Action],
    now: u64,
) -> Result<(), String> {
    let alg = Algorithm::from_number(s.policy.algorithm).unwrap_or(Algorithm::EcdsaP256Sha256);
    for a in actions {
        match *a {
            Action::NewZsk(timing) | Action::NewKsk(timing) => {
                let sep = matches!(a, Action::NewKsk(_));
                let k = keys::generate_timed(&s.key_dir, zone, alg, sep, now, &timing)?;
                let role = if !sep {
                    "ZSK"
                } else if s.policy.split_keys {
                    "KSK"
                } else {
                    "CSK"
                };
                tracing::info!(
                    zone,
                    tag = k.tag(),
                    signs_from = timing.active,
                    cds_from = timing.ready,
                    "{role} rollover: new key published"
                );
            }
            Action::SetTiming(tag, timing) => {
                for (path, kf) in files.iter().filter(|(_, kf)| kf.key.tag() == tag) {
                    let text = levee_sign::keyfile::to_text_timed(&kf.key, &kf.zone, kf.created, &timing);
                    keys::write_private(path, &text)?;
                    let role = role(&kf.key, files);
                    if timing.retire.is_some() && kf.timing.retire.is_none() {
                        tracing::info!(
                            zone,
                            tag,
                            retires = timing.retire,
                            removed = timing.remove,
                            "{role} rollover: key retires"
                        );
                    } else if timing.submitted.is_some() && kf.timing.submitted.is_none() {
                        tracing::info!(zone, tag, "{role} rollover: the parent's DS seen, CDS withdrawn");
                    }
                }
            }
            Action::Delete(tag) => {
                for (path, kf) in files.iter().filter(|(_, kf)| kf.key.tag() == tag && kf.timing.remove.is_some()) {
                    std::fs::remove_file(path).map_err(|e| format!("{}: {e}", path.display()))?;
                    tracing::info!(zone, tag, "{} rollover: old key removed", role(&kf.key, files));
                }
            }
        }
    }
    Ok(())
}

/// When the zone's keys next change (a rollover step) after the served
/// version was signed, if they do: the signing timer reloads the zone
/// once that time has come.
pub fn key_event(s: &SignPlan, zone: &str, served: &Zone) -> Option<u64> {
    let files = keys::load_files(&s.key_dir, zone).ok()?;
    let dnskey_ttl = served.rrset(served.soa()).ttl() as u64;
    // Signed at: the SOA's signature starts an hour before its signing
    // (`Policy::inception_offset`); every new version signs its SOA.
    let sigs = served.sigs(served.soa());
    if sigs == levee_zone::NONE {
        return None;
    }
    let signed_at = served
        .rdatas(sigs)
        .filter_map(|rd| rd.get(12..16).map(|i| u32::from_be_bytes([i[0], i[1], i[2], i[3]]) as u64 + 3600))
        .max()?;
    rollover::next_event(&states(&files), &roll_policy(&s.policy, dnskey_ttl, 0), signed_at)
}

/// The largest TTL of a served zone (how long its signatures stay in
/// caches).
fn max_ttl(z: &Zone) -> u64 {
    z.all_rrsets().map(|(_, id)| z.rrset(id).ttl() as u64).max().unwrap_or(0)
}

/// The parent serves the DS of the key waiting for it (`levee ctl
/// ds-seen`, or the parent check): the steps of
/// `levee_sign::rollover::ds_seen` written to the key store. The zone
/// must then be signed again (its CDS leave). An error when no key waits.
pub fn confirm_ds(s: &SignPlan, zone: &str, served: &Zone, now: u64) -> Result<u16, String> {
    let files = keys::load_files(&s.key_dir, zone)?;
    let st = states(&files);
    let Some(tag) = rollover::awaiting_ds(&st, now) else {
        return Err(format!("no key of {zone} waits for the parent's DS"));
    };
    let p = roll_policy(&s.policy, served.rrset(served.soa()).ttl() as u64, max_ttl(served));
    carry_out(s, zone, &files, &rollover::ds_seen(&st, &p, now), now)?;
    Ok(tag)
}

/// Begins a rollover of `role` now (`levee ctl key-rollover`).
pub fn start_rollover(s: &SignPlan, zone: &str, served: &Zone, role: Role, now: u64) -> Result<(), String> {
    let files = keys::load_files(&s.key_dir, zone)?;
    let p = roll_policy(&s.policy, served.rrset(served.soa()).ttl() as u64, max_ttl(served));
    let actions = rollover::start(&states(&files), &p, now, role);
    if actions.is_empty() {
        return Err(match role {
            Role::Zsk if !s.policy.split_keys => format!("{zone} has no ZSK (one combined key: roll it with ksk)"),
            _ => format!("a rollover of {zone}'s keys is already under way"),
        });
    }
    carry_out(s, zone, &files, &actions, now)
}

/// The key waiting for the parent's DS at `now` and the DS it waits for
/// (RDATA, SHA-256), if one does.
pub fn awaited_ds(s: &SignPlan, zone: &str, apex: &[u8], now: u64) -> Result<Option<(u16, Vec<u8>)>, String> {
    let files = keys::load_files(&s.key_dir, zone)?;
    let Some(tag) = rollover::awaiting_ds(&states(&files), now) else { return Ok(None) };
    Ok(files.iter().find(|(_, kf)| kf.key.tag() == tag && kf.key.is_sep()).map(|(_, kf)| (tag, kf.key.ds_sha256(apex))))
}

/// A key's state at `now`, in one word: `created` (to be published),
/// `presigning` (signs, not yet published: an algorithm rollover's new
/// key), `published` (not signing yet), `ready` (offered to the parent
/// by CDS), `active`, `retiring` (active, its end set), `retired`
/// (published, no longer signing), `postsigning` (signs, no longer
/// published: an algorithm rollover's old key), `removed`.
pub fn state(tm: &Timing, now: u64) -> &'static str {
    let (published, signs) = (tm.published(now), tm.signs(now));
    match () {
        _ if !published && signs && tm.publish.is_some_and(|p| p > now) => "presigning",
        _ if !published && signs => "postsigning",
        _ if !published && tm.publish.is_some_and(|p| p > now) => "created",
        _ if !published => "removed",
        _ if tm.offered(now) => "ready",
        _ if signs && tm.retire.is_some() => "retiring",
        _ if signs => "active",
        _ if tm.retire.is_some_and(|r| r <= now) => "retired",
        _ => "published",
    }
}

/// For `/metrics`: the number of keys per (role, state) of a signed
/// zone, and whether its rollover waits for the parent's DS.
pub fn gauges(s: &SignPlan, zone: &str, now: u64) -> Result<(Vec<(&'static str, &'static str, usize)>, bool), String> {
    let files = keys::load_files(&s.key_dir, zone)?;
    let mut counts: std::collections::BTreeMap<(&'static str, &'static str), usize> = Default::default();
    for (_, kf) in &files {
        *counts.entry((role(&kf.key, &files), state(&kf.timing, now))).or_default() += 1;
    }
    let waiting = rollover::awaiting_ds(&states(&files), now).is_some();
    Ok((counts.into_iter().map(|((r, st), n)| (r, st, n)).collect(), waiting))
}

/// `levee ctl keys`: one line per key (tag, algorithm, role, state, the
/// times of its steps), then the zone's next step and when. No key
/// material.
pub fn report(s: &SignPlan, zone: &str, served: Option<&Zone>, now: u64) -> Result<String, String> {
    let files = keys::load_files(&s.key_dir, zone)?;
    let mut out = String::new();
    for (_, kf) in &files {
        let tm = kf.timing;
        let state = match state(&tm, now) {
            "ready" => "ready (CDS published, waiting for the parent's DS)",
            other => other,
        };
        let times: Vec<String> = [
            ("created", Some(kf.created)),
            ("publish", tm.publish),
            ("ready", tm.ready),
            ("active", tm.active),
            ("submitted", tm.submitted),
            ("retire", tm.retire),
            ("remove", tm.remove),
        ]
        .iter()
        .filter_map(|(k, v)| v.map(|v| format!("{k}={v}")))
        .collect();
        out.push_str(&format!(
            "key {} algorithm={} role={} state={state} {}\n",
            kf.key.tag(),
            kf.key.algorithm().number(),
            role(&kf.key, &files),
            times.join(" ")
        ));
    }
    let st = states(&files);
    if let Some(tag) = rollover::awaiting_ds(&st, now) {
        let how = if s.policy.parent_ds_check.is_empty() {
            "confirm with levee ctl ds-seen".to_string()
        } else {
            format!(
                "checked at {} parent servers every {} s",
                s.policy.parent_ds_check.len(),
                s.policy.ds_check_interval
            )
        };
        out.push_str(&format!("next: the parent's DS of key {tag} ({how})\n"));
    }
    let (dnskey_ttl, max) = served.map_or((0, 0), |z| (z.rrset(z.soa()).ttl() as u64, max_ttl(z)));
    match rollover::next_event(&st, &roll_policy(&s.policy, dnskey_ttl, max), now) {
        Some(at) => out.push_str(&format!("next key event at {at} (in {} s)\n", at - now)),
        None => out.push_str("next key event: none scheduled\n"),
    }
    Ok(out)
}
