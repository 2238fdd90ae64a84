//! Dynamic update of a zone levee signs (issue 18), kept apart from the
//! update thread's own steps (`apply.rs` calls in here at two points).
//!
//! * **Refused, as BIND 9.18 refuses them** ([`refused`]): an update
//!   section that adds or deletes NSEC or NSEC3 records, or RRSIG records
//!   anywhere but at the apex, is answered REFUSED (BIND: "explicit NSEC
//!   updates are not allowed in secure zones", "explicit RRSIG updates are
//!   currently not supported in secure zones except at the apex"; checked
//!   against named 9.18 with `dnssec-policy default`). An apex RRSIG or an
//!   NSEC3PARAM is accepted and, as in BIND, replaced by the signer's own
//!   (levee's policy decides the chain); a DNSKEY of another key is
//!   published and signed, as one in the zone file is.
//! * **Signed before it is acknowledged** ([`sign`]): the update's
//!   difference (unsigned records and the new SOA) is signed on the
//!   served version (`zones::sign::signed_ixfr`, incremental; in full when
//!   a signature or key event is due or the change is large). The update
//!   log keeps the *unsigned* difference; the IXFR journal gets the
//!   signed one.
//! * **Restart** ([`replay`]): after `kill -9` the zone's file is loaded
//!   and signed (or the log's base, written signed, is loaded), then each
//!   logged unsigned difference is signed again on it the same way, so
//!   every acknowledged change is served signed; its signatures are new
//!   ones (same data, other signature bytes).

use levee_wire::message::Message;
use levee_wire::name;
use levee_wire::rtype::t;
use levee_zone::journal::{self, Diff};
use levee_zone::{Checks, Zone};

use crate::zones::sign::SignPlan;

/// The signing plan of the zone `apex` (lowercase wire), if levee signs it.
pub fn plan(cfg: &levee_config::Config, apex: &[u8]) -> Option<(String, SignPlan)> {
    let zc = cfg
        .zones
        .iter()
        .find(|z| name::from_text(&z.name, None).is_ok_and(|n| name::to_lowercase(&n).as_slice() == apex))?;
    Some((zc.name.clone(), SignPlan::of_zone(cfg, zc)?))
}

/// Why BIND would refuse this update of a signed zone, if it would.
pub fn refused(msg: &Message, apex: &[u8]) -> Option<&'static str> {
    for r in &msg.authority {
        match r.rtype {
            t::NSEC3 => return Some("explicit NSEC3 updates are not allowed in secure zones"),
            t::NSEC => return Some("explicit NSEC updates are not allowed in secure zones"),
            t::RRSIG if !name::eq_lowercase(&r.owner, apex) => {
                return Some("explicit RRSIG updates are not supported in secure zones except at the apex")
            }
            _ => {}
        }
    }
    None
}

/// The update's difference without the signer's records (RRSIG, NSEC,
/// NSEC3, NSEC3PARAM: an update that deletes a name deletes them too, an
/// apex RRSIG may be added): what the update log keeps, so that a replay
/// applies to a version signed again (other signature bytes).
pub fn unsigned(mut d: Diff) -> Diff {
    let ours = |r: &journal::Rr| matches!(r.rtype, t::RRSIG | t::NSEC | t::NSEC3 | t::NSEC3PARAM);
    d.removed.retain(|r| !ours(r));
    d.added.retain(|r| !ours(r));
    d
}

/// The served signed version `zone` with the update's difference `diff`
/// signed and applied, and the signed difference (for the journal).
pub fn sign(name: &str, plan: &SignPlan, zone: &Zone, diff: &Diff, checks: Checks) -> Result<(Zone, Diff), String> {
    if let Some((z, mut ds)) = crate::zones::sign::signed_ixfr(name, checks, plan, zone, std::slice::from_ref(diff))? {
        return Ok((z, ds.pop().unwrap_or_else(|| diff.clone())));
    }
    let signed = full(name, plan, zone, std::slice::from_ref(diff), checks)?;
    let d = journal::diff(zone, &signed);
    Ok((signed, d))
}

/// `zone` with `diffs` applied and signed in full (the served version's
/// signatures of unchanged RRsets kept).
fn full(name: &str, plan: &SignPlan, zone: &Zone, diffs: &[Diff], checks: Checks) -> Result<Zone, String> {
    let recs = journal::apply_all(journal::records(zone), diffs).map_err(|e| e.to_string())?;
    let joined = |d: Vec<levee_zone::Diagnostic>| d.iter().map(|x| x.message.clone()).collect::<Vec<_>>().join("; ");
    let opts = levee_zone::BuildOptions { checks, segment_names: crate::zones::sign::segment_names(recs.len() as u64) };
    let built = journal::build_from(zone.apex(), &recs, opts).map_err(joined)?;
    match crate::zones::sign::sign(name, checks, plan, built, Some(zone)).map_err(joined)? {
        crate::zones::sign::Signed::New(b) => Ok(b.zone),
        crate::zones::sign::Signed::Unchanged => Err("the update changed nothing".into()),
    }
}

/// At start: the logged (unsigned) differences signed on the loaded
/// signed version, one after the other.
pub fn replay(c: &levee_config::Config, zone: &Zone, diffs: &[Diff], checks: Checks) -> Option<Result<Zone, String>> {
    let (name, plan) = plan(c, zone.apex())?;
    Some(match crate::zones::sign::signed_ixfr(&name, checks, &plan, zone, diffs) {
        Ok(Some((z, _))) => Ok(z),
        Ok(None) => full(&name, &plan, zone, diffs, checks),
        Err(e) => Err(e),
    })
}
