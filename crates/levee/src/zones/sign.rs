//! Online signing of primary zones (issue 18): a zone with
//! `dnssec-signing = true` (or `levee serve --sign ZONE`) is loaded
//! unsigned from its file and signed by `levee_sign` before it is
//! published, at start and at every reload.
//!
//! * Keys live in `<storage-dir>/keys/<zone>/` (`crate::keys`); the first
//!   start makes them by the zone's policy (one combined key, or a KSK
//!   and a ZSK) and logs the DS records to give the parent. A key store
//!   levee cannot read or parse stops the start, naming the file
//!   (`zones::load::prepare_keys`).
//! * A re-signed zone keeps the signatures of its unchanged RRsets
//!   (`levee_sign`'s reuse), so a reload costs, and changes, what the
//!   file changed; the IXFR to the secondaries carries just that.
//! * Serial: the file's, unless it did not increase over the signed
//!   version served; then the served serial plus one (Knot DNS's
//!   `serial-policy: increment`), so secondaries see every new signature.
//!   A file whose data did not change and whose signatures are not due
//!   keeps the served version as it is ([`Signed::Unchanged`]). The
//!   serial served last is recorded (`SignPlan::serial_file`), so a
//!   restart signs with a serial above it, not the file's again.
//! * Signatures are refreshed before they expire: [`due`] tells when a
//!   served zone's first signature enters its refresh window, and the
//!   signing timer (`zones::reload::refresh_signatures`) reloads it then.

use std::time::Instant;

use levee_config::{DenialKind, SignPolicy};
use levee_sign::Key;
use levee_wire::rtype::t;
use levee_wire::serial::Serial;
use levee_wire::soa::Soa;
use levee_zone::journal::{self, Rr};
use levee_zone::{Built, Checks, Diagnostic, OnlineSigner, Zone};

pub use crate::zones::keyroll::{key_event, zone_keys};
use crate::zones::keyroll::{keys_now, keys_unplanned};
pub use crate::zones::plan::{publish_options, segment_names, SignPlan};

/// True if the signed version `old` (its records) was signed with the keys
/// of `keys` as they are now: the same DNSKEYs besides the file's own, and
/// the SOA and DNSKEY RRsets signed by the keys that sign now.
fn keys_match(old: &[Rr], unsigned: &[Rr], keys: &[Key], apex: &[u8]) -> bool {
    use std::collections::BTreeSet;
    let file_keys: BTreeSet<&[u8]> =
        unsigned.iter().filter(|r| r.rtype == t::DNSKEY).map(|r| r.rdata.as_slice()).collect();
    let old_keys: BTreeSet<&[u8]> = old
        .iter()
        .filter(|r| r.rtype == t::DNSKEY && !file_keys.contains(r.rdata.as_slice()))
        .map(|r| r.rdata.as_slice())
        .collect();
    let now_keys: BTreeSet<&[u8]> = keys.iter().filter(|k| k.published()).map(|k| k.dnskey()).collect();
    let signers = |covered: u16| -> BTreeSet<u16> {
        old.iter()
            .filter(|r| r.rtype == t::RRSIG && r.owner == apex && r.rdata.len() >= 18)
            .filter(|r| u16::from_be_bytes([r.rdata[0], r.rdata[1]]) == covered)
            .map(|r| u16::from_be_bytes([r.rdata[16], r.rdata[17]]))
            .collect()
    };
    let signing: Vec<&Key> = keys.iter().filter(|k| k.signs()).collect();
    let split = signing.iter().any(|k| k.is_sep()) && signing.iter().any(|k| !k.is_sep());
    let want = |ksk: bool| -> BTreeSet<u16> {
        signing.iter().filter(|k| !split || k.is_sep() == ksk).map(|k| k.tag()).collect()
    };
    old_keys == now_keys && signers(t::SOA) == want(false) && signers(t::DNSKEY) == want(true)
}

/// True if the signed version `old` (its records) holds the apex CDS and
/// CDNSKEY records `want` and no others.
fn cds_match(old: &[Rr], want: &[Rr], apex: &[u8]) -> bool {
    use std::collections::BTreeSet;
    let key = |r: &Rr| (r.rtype, r.rdata.clone());
    let have: BTreeSet<(u16, Vec<u8>)> =
        old.iter().filter(|r| r.owner == apex && matches!(r.rtype, t::CDS | t::CDNSKEY)).map(key).collect();
    have == want.iter().map(key).collect()
}

/// What signing a freshly loaded zone gave.
pub enum Signed {
    /// A new signed version.
    New(Built),
    /// Nothing changed and no signature is due: the served version stays.
    Unchanged,
}

/// Signs the zone `zone` (`built`, loaded unsigned from its file, to be
/// checked again by `checks` once signed) by `s`, given the signed version
/// being served (`previous`): on the snapshot (`zones::fullsign`), the
/// signed zone being the unsigned one with the signer's difference
/// applied (`levee_zone::apply_diff`, sharing the segments it does not
/// touch).
pub fn sign(
    zone: &str,
    checks: Checks,
    s: &SignPlan,
    built: Built,
    previous: Option<&Zone>,
) -> Result<Signed, Vec<Diagnostic>> {
    let fail = |message: String| vec![Diagnostic { file: zone.to_string(), line: 0, message, warning: false }];
    let t0 = Instant::now();
    let z = &built.zone;
    let origin = z.apex().to_vec();
    let now = crate::clock::wall() as u32;
    let dnskey_ttl = z.rrset(z.soa()).ttl() as u64;
    let max_ttl = z.all_rrsets().map(|(_, rs)| z.rrset(rs).ttl() as u64).max().unwrap_or(0);
    let kn =
        keys_now(s, zone, &origin, now as u64, dnskey_ttl, max_ttl).map_err(|e| fail(format!("DNSSEC keys: {e}")))?;
    let keys = &kn.keys;
    let mut serial = z.serial();
    if let Some(old) = previous.filter(|old| !(Serial(z.serial()) > Serial(old.serial()))) {
        let (mut recs, prev_recs) = (journal::records(z), journal::records(old));
        // The apex's CDS and CDNSKEY are the key manager's (`keyroll`).
        recs.retain(|r| !(r.owner == origin && matches!(r.rtype, t::CDS | t::CDNSKEY)));
        if same_data(&recs, &prev_recs, keys)
            && keys_match(&prev_recs, &recs, keys, &origin)
            && cds_match(&prev_recs, &kn.cds, &origin)
            && due(old, s.policy.signature_refresh).is_none_or(|d| d > now as u64)
        {
            return Ok(Signed::Unchanged);
        }
        serial = old.serial().wrapping_add(1);
    }
    if previous.is_none() && s.serial_floor {
        // A start: nothing served in this process; the last serial served
        // before it is the floor (`SignPlan::serial_file`).
        if let Some(last) = last_served(s) {
            if !(Serial(serial) > Serial(last)) {
                serial = last.wrapping_add(1);
            }
        }
    }
    let walked = t0.elapsed();
    let policy = s.signer_policy();
    let job = crate::zones::fullsign::Job { unsigned: z, keys, cds: &kn.cds, policy: &policy, now, serial, previous };
    let out = crate::zones::fullsign::sign_snapshot(&job).map_err(|e| fail(format!("signing failed: {e}")))?;
    let signed_at = t0.elapsed();
    let r = levee_zone::apply_diff(z, &out.diff, publish_options(z, checks, out.diff.added.len()))?;
    let mut rebuilt = r.built;
    rebuilt.warnings.extend(built.warnings);
    if s.policy.denial == DenialKind::Compact {
        let signer = online_signer(keys, &origin, &s.policy).map_err(|e| fail(format!("DNSSEC keys: {e}")))?;
        rebuilt.zone.set_online_signer(signer);
    }
    tracing::info!(
        zone = %zone,
        serial = rebuilt.zone.serial(),
        made = out.made,
        kept = out.reused,
        chain = out.chain,
        build = ?r.kind,
        ms = t0.elapsed().as_millis() as u64,
        keys_ms = walked.as_millis() as u64,
        sign_ms = (signed_at - walked).as_millis() as u64,
        build_ms = (t0.elapsed() - signed_at).as_millis() as u64,
        "zone signed"
    );
    record_served(s, zone, rebuilt.zone.serial());
    Ok(Signed::New(rebuilt))
}

/// The serial last recorded by [`record_served`] for the zone of `s`.
fn last_served(s: &SignPlan) -> Option<u32> {
    std::fs::read_to_string(s.serial_file()).ok()?.trim().parse().ok()
}

/// Records `serial` as the zone's latest signed serial (written to a
/// temporary file, synced, renamed), before the version is published:
/// the file's serial may stay below what signing raised, and the next
/// start must not go back to it. A failure is logged: the zone is
/// served, but a restart may then serve a lower serial.
fn record_served(s: &SignPlan, zone: &str, serial: u32) {
    use std::io::Write;
    let path = s.serial_file();
    let tmp = path.with_extension("serial.tmp");
    let r = std::fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(format!("{serial}\n").as_bytes()).and_then(|()| f.sync_all()))
        .and_then(|()| std::fs::rename(&tmp, &path));
    if let Err(e) = r {
        tracing::warn!(zone = %zone, file = %path.display(), error = %e, "could not record the signed serial");
    }
}

/// How a signed difference is applied to `z` (`levee_zone::apply_diff`).
fn patch_options(checks: Checks, z: &Zone) -> levee_zone::ReloadOptions {
    levee_zone::ReloadOptions { checks, segment_names: segment_names(z.record_count()), ..Default::default() }
}

/// What [`incremental`] gave.
pub enum Patched {
    /// The next version, and the signed difference that made it (for the
    /// zone's IXFR journal: `replication::primary::after_reload` takes it
    /// instead of comparing the two versions).
    New(Built, journal::Diff),
    /// Nothing changed and no signature is due: the served version stays.
    Unchanged,
}

/// Re-signs the zone `zone` from its file (`source`) incrementally on the
/// served signed version `old` (`zones::incsign`): the file is compared
/// with `old` while parsed (`levee_zone::file_changes`, the signer's
/// records aside), the difference signed (`incsign::sign_diff`) and
/// applied to `old` (`levee_zone::apply_diff`, sharing what did not
/// change). `Ok(None)`: the zone must be signed in full (a signature or
/// a key event due, a large change, the keys or the policy changed).
pub fn incremental(
    zone: &str,
    checks: Checks,
    s: &SignPlan,
    old: &Zone,
    source: levee_zone::Source<'_>,
    load: &levee_zone::LoadOptions,
) -> Result<Option<Patched>, Vec<Diagnostic>> {
    let fail = |message: String| vec![Diagnostic { file: zone.to_string(), line: 0, message, warning: false }];
    let t0 = Instant::now();
    let now = crate::clock::wall();
    let full = |why: &str| {
        tracing::info!(zone = %zone, reason = why, "signing in full");
        Ok(None)
    };
    if due(old, s.policy.signature_refresh).is_some_and(|d| d <= now) {
        return full("a signature is due for refresh");
    }
    if key_event(s, zone, old).is_some_and(|d| d <= now) {
        return full("a key event is due");
    }
    let dnskey_ttl = old.rrset(old.soa()).ttl() as u64;
    let Some(kn) =
        keys_unplanned(s, zone, old.apex(), now, dnskey_ttl).map_err(|e| fail(format!("DNSSEC keys: {e}")))?
    else {
        return full("a rollover step is due");
    };
    if !crate::zones::keyroll::served_matches(old, &kn) {
        return full("the keys changed");
    }
    let keys = kn.keys;
    // The CDS and CDNSKEY are the key manager's: unchanged between key
    // events (a key event signs in full).
    let aside = |rt: u16| matches!(rt, t::RRSIG | t::NSEC | t::NSEC3 | t::NSEC3PARAM | t::CDS | t::CDNSKEY);
    let opts =
        levee_zone::ReloadOptions { checks, max_fraction: crate::zones::incsign::MAX_FRACTION, ..Default::default() };
    let Some(mut fc) = levee_zone::file_changes(old, source, load, opts, &aside)? else {
        return full("a large difference");
    };
    let compared = t0.elapsed();
    let ours = |r: &Rr| r.rtype == t::DNSKEY && keys.iter().any(|k| k.dnskey() == r.rdata.as_slice());
    fc.removed.retain(|r| !ours(r));
    fc.added.retain(|r| !ours(r));
    let file_serial = levee_wire::soa::serial(&fc.soa.rdata).unwrap_or(0);
    if !(Serial(file_serial) > Serial(old.serial())) {
        let mut same_soa = fc.soa.clone();
        set_serial(std::slice::from_mut(&mut same_soa), old.serial());
        if fc.removed.is_empty() && fc.added.is_empty() && same_soa.rdata == old.first_rdata(old.soa()) {
            return Ok(Some(Patched::Unchanged));
        }
        set_serial(std::slice::from_mut(&mut fc.soa), old.serial().wrapping_add(1));
    }
    let policy = s.signer_policy();
    let change = crate::zones::incsign::Change {
        served: old,
        removed: fc.removed,
        added: fc.added,
        soa: fc.soa,
        keys: &keys,
        policy: &policy,
        now: now as u32,
    };
    let diff = match crate::zones::incsign::sign_diff(change).map_err(|e| fail(format!("signing failed: {e}")))? {
        Ok(d) => d,
        Err(why) => return full(why),
    };
    let signed_at = t0.elapsed();
    let r = levee_zone::apply_diff(old, &diff, patch_options(checks, old))?;
    let mut rebuilt = r.built;
    rebuilt.warnings.extend(fc.warnings);
    if s.policy.denial == DenialKind::Compact {
        let signer = online_signer(&keys, old.apex(), &s.policy).map_err(|e| fail(format!("DNSSEC keys: {e}")))?;
        rebuilt.zone.set_online_signer(signer);
    }
    tracing::info!(
        zone = %zone,
        serial = rebuilt.zone.serial(),
        removed = diff.removed.len(),
        added = diff.added.len(),
        made = diff.added.iter().filter(|r| r.rtype == t::RRSIG).count(),
        build = ?r.kind,
        ms = t0.elapsed().as_millis() as u64,
        compare_ms = compared.as_millis() as u64,
        sign_ms = (signed_at - compared).as_millis() as u64,
        "zone signed incrementally"
    );
    record_served(s, zone, rebuilt.zone.serial());
    Ok(Some(Patched::New(rebuilt, diff)))
}

/// Signs the differences of an IXFR received for a zone signed in
/// transit on the served signed version `served`, one after the other
/// (`zones::incsign`): the next version and the signed differences (for
/// the zone's journal), or `None` when the zone must be signed in full
/// (see [`incremental`]). The serial is the primary's.
pub fn signed_ixfr(
    zone: &str,
    checks: Checks,
    s: &SignPlan,
    served: &Zone,
    diffs: &[journal::Diff],
) -> Result<Option<(Zone, Vec<journal::Diff>)>, String> {
    let t0 = Instant::now();
    let now = crate::clock::wall();
    if due(served, s.policy.signature_refresh).is_some_and(|d| d <= now)
        || key_event(s, zone, served).is_some_and(|d| d <= now)
    {
        return Ok(None);
    }
    let dnskey_ttl = served.rrset(served.soa()).ttl() as u64;
    let Some(keys) = keys_unplanned(s, zone, served.apex(), now, dnskey_ttl)?.map(|k| k.keys) else {
        return Ok(None);
    };
    let policy = s.signer_policy();
    let mut cur: Option<Zone> = None;
    let mut out = Vec::with_capacity(diffs.len());
    for d in diffs {
        let base = cur.as_ref().unwrap_or(served);
        let change = crate::zones::incsign::Change {
            served: base,
            removed: d.removed.clone(),
            added: d.added.clone(),
            soa: d.new_soa.clone(),
            keys: &keys,
            policy: &policy,
            now: now as u32,
        };
        let sd = match crate::zones::incsign::sign_diff(change)? {
            Ok(d) => d,
            Err(why) => {
                tracing::info!(zone = %zone, reason = why, "signing in full");
                return Ok(None);
            }
        };
        let next = levee_zone::apply_diff(base, &sd, patch_options(checks, base))
            .map_err(|d| d.iter().map(|x| x.message.as_str()).collect::<Vec<_>>().join("; "))?;
        out.push(sd);
        cur = Some(next.built.zone);
    }
    let Some(zone_out) = cur else { return Ok(None) };
    tracing::info!(
        zone = %zone,
        serial = zone_out.serial(),
        differences = out.len(),
        removed = out.iter().map(|d| d.removed.len()).sum::<usize>(),
        added = out.iter().map(|d| d.added.len()).sum::<usize>(),
        ms = t0.elapsed().as_millis() as u64,
        "change signed incrementally"
    );
    Ok(Some((zone_out, out)))
}

/// Compact denial's signer (RFC 9824): the zone-signing key (the CSK
/// when there is one key), signing at query time within the policy's
/// budget.
fn online_signer(keys: &[Key], apex: &[u8], p: &SignPolicy) -> Result<std::sync::Arc<dyn OnlineSigner>, String> {
    // A key that signs and is published: during a rollover, not the next
    // key (not yet in every cache) nor one whose DNSKEY has left.
    let usable = || keys.iter().filter(|k| k.signs() && k.published());
    let k = usable().find(|k| !k.is_sep()).or_else(|| usable().next()).ok_or("no key")?;
    let copy = Key::from_pkcs8(k.algorithm(), k.flags(), k.pkcs8()).map_err(|e| e.to_string())?;
    let online = levee_sign::online::Online::new(copy, apex, p.signature_validity, p.online_signatures_per_second);
    Ok(std::sync::Arc::new(ZoneSigner(online)))
}

/// The signer the answering layer calls (`levee_zone::OnlineSigner`).
struct ZoneSigner(levee_sign::online::Online);

impl OnlineSigner for ZoneSigner {
    fn sign(&self, owner: &[u8], rtype: u16, ttl: u32, rdatas: &[&[u8]], now: u32, out: &mut [u8]) -> Option<usize> {
        self.0.sign_into(owner, rtype, ttl, rdatas, now, out)
    }
}

/// True if `new` (a zone's records, unsigned) holds the data of `old`
/// (the signed version served) apart from what the signer adds
/// (signatures, chains, its own DNSKEYs) and the SOA serial. Both lists
/// come from `journal::records`, owner by owner in the same order; each
/// RRset's records are compared as a set.
fn same_data(new: &[Rr], old: &[Rr], keys: &[Key]) -> bool {
    let ours = |r: &&Rr| {
        !matches!(r.rtype, t::RRSIG | t::NSEC | t::NSEC3 | t::NSEC3PARAM | t::CDS | t::CDNSKEY)
            && !(r.rtype == t::DNSKEY && keys.iter().any(|k| k.dnskey() == r.rdata.as_slice()))
    };
    let mut a = new.iter().filter(ours).peekable();
    let mut b = old.iter().filter(ours).peekable();
    loop {
        let (Some(x), Some(y)) = (a.peek().copied(), b.peek().copied()) else {
            return a.peek().is_none() && b.peek().is_none();
        };
        if x.owner != y.owner || x.rtype != y.rtype || x.ttl != y.ttl {
            return false;
        }
        let mut xs = take_rrset(&mut a, x);
        let mut ys = take_rrset(&mut b, y);
        if x.rtype == t::SOA {
            for v in [&mut xs, &mut ys] {
                for rd in v.iter_mut() {
                    if let Some(p) = soa_serial_at(rd) {
                        rd.to_mut()[p..p + 4].fill(0);
                    }
                }
            }
        }
        xs.sort_unstable();
        ys.sort_unstable();
        if xs != ys {
            return false;
        }
    }
}

/// The RDATAs of the RRset `first` starts, taken from `it`.
fn take_rrset<'r, I: Iterator<Item = &'r Rr>>(
    it: &mut std::iter::Peekable<I>,
    first: &Rr,
) -> Vec<std::borrow::Cow<'r, [u8]>> {
    let mut v = Vec::new();
    while let Some(r) = it.next_if(|r| r.owner == first.owner && r.rtype == first.rtype) {
        v.push(std::borrow::Cow::Borrowed(r.rdata.as_slice()));
    }
    v
}

/// Where the serial sits in SOA RDATA (the first of the fixed fields
/// that end [`Soa::end`]).
fn soa_serial_at(rdata: &[u8]) -> Option<usize> {
    Soa::from_rdata(rdata).map(|s| s.end() - 20)
}

fn set_serial(recs: &mut [Rr], serial: u32) {
    for r in recs.iter_mut().filter(|r| r.rtype == t::SOA) {
        if let Some(p) = soa_serial_at(&r.rdata) {
            r.rdata[p..p + 4].copy_from_slice(&serial.to_be_bytes());
        }
    }
}

/// When the first signature of `z` enters its refresh window (Unix
/// seconds), if `z` has signatures.
pub fn due(z: &Zone, refresh: u32) -> Option<u64> {
    let now = crate::clock::wall();
    let mut first: Option<u64> = None;
    for (_, id) in z.all_rrsets() {
        if z.rrset(id).rtype != t::RRSIG {
            continue;
        }
        for rd in z.rdatas(id) {
            let Some(e) = rd.get(8..12) else { continue };
            let exp = u32::from_be_bytes([e[0], e[1], e[2], e[3]]);
            // Serial-number arithmetic around now (RFC 4034 §3.1.5).
            let left = exp.wrapping_sub(now as u32) as i32 as i64;
            let at = (now as i64 + left - refresh as i64).max(0) as u64;
            first = Some(first.map_or(at, |f| f.min(at)));
        }
    }
    first
}

#[cfg(test)]
mod tests {
    use super::*;
    use levee_sign::denial::Nsec3Params;
    use levee_sign::{Denial, Policy};
    use levee_wire::name;

    const Z: &str = "$ORIGIN t.\n$TTL 60\n@ SOA ns h 7 1 1 1 1\n@ NS ns\nns A 192.0.2.1\nns A 192.0.2.3\nw MX 10 ns\nsub NS ns.sub\nns.sub A 192.0.2.2\n";

    fn load(text: &str) -> Zone {
        let apex = name::from_text("t.", None).unwrap();
        levee_zone::load(levee_zone::Source::Memory { name: "t", data: text.as_bytes() }, apex.as_slice()).unwrap().zone
    }

    /// The check that keeps a reload of an unchanged file from publishing
    /// a new version: the signed zone holds the file's data, whatever the
    /// serial and the order of an RRset's records; any other difference
    /// is seen.
    #[test]
    fn same_data_sees_through_the_signatures_and_the_serial() {
        let key = Key::generate(levee_sign::Algorithm::EcdsaP256Sha256, true).unwrap();
        let unsigned = load(Z);
        let recs: Vec<levee_sign::Rr> = journal::records(&unsigned)
            .into_iter()
            .map(|r| levee_sign::Rr {
                owner: r.owner,
                rtype: r.rtype,
                class: levee_wire::rtype::c::IN,
                ttl: r.ttl,
                rdata: r.rdata,
            })
            .collect();
        for denial in [Denial::Nsec, Denial::Nsec3(Nsec3Params::default()), Denial::Compact] {
            let policy = Policy { denial, ..Policy::default() };
            let signed = levee_sign::sign_zone(
                recs.clone(),
                unsigned.apex(),
                std::slice::from_ref(&key),
                &policy,
                1_800_000_000,
                None,
            )
            .unwrap();
            let out: Vec<Rr> = signed
                .records
                .into_iter()
                .map(|r| Rr { owner: r.owner, rtype: r.rtype, ttl: r.ttl, rdata: r.rdata })
                .collect();
            let signed_zone = journal::build_from(unsigned.apex(), &out, Checks::Warn).unwrap().zone;
            let old = journal::records(&signed_zone);
            let keys = std::slice::from_ref(&key);
            assert!(same_data(&journal::records(&load(Z)), &old, keys));
            // Another serial and the RRset's records in another order: same.
            let reordered = Z
                .replace("SOA ns h 7", "SOA ns h 9")
                .replace("ns A 192.0.2.1\nns A 192.0.2.3", "ns A 192.0.2.3\nns A 192.0.2.1");
            assert!(same_data(&journal::records(&load(&reordered)), &old, keys));
            for changed in [
                Z.replace("192.0.2.3", "192.0.2.4"),
                Z.replace("w MX 10 ns", "w MX 20 ns"),
                Z.replace("$TTL 60\n@ SOA", "$TTL 60\nx TXT hi\n@ SOA"),
                Z.replace("ns.sub A 192.0.2.2\n", ""),
                Z.replace("SOA ns h 7 1 1 1 1", "SOA ns h 7 1 1 1 2"),
            ] {
                assert!(!same_data(&journal::records(&load(&changed)), &old, keys), "{changed}");
            }
        }
    }
}
