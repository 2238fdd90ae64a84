//! IXFR out (RFC 1995 §4) from the zone's journal.

use levee_zone::journal::{Journal, Rr};
use levee_zone::Zone;

/// The records of an incremental answer from `serial` to the zone's
/// current version, or `None` when the journal does not reach `serial`
/// (or does not end at the current version): the caller sends AXFR.
pub(crate) fn answer(zone: &Zone, j: &Journal, serial: u32) -> Option<Vec<Rr>> {
    let diffs = j.since(serial)?;
    let last = (*diffs.last()?).clone();
    if last.to() != zone.serial() {
        return None;
    }
    let mut out = Vec::new();
    out.push(last.new_soa.clone());
    for d in diffs {
        out.push(d.old_soa.clone());
        out.extend(d.removed.iter().cloned());
        out.push(d.new_soa.clone());
        out.extend(d.added.iter().cloned());
    }
    out.push(last.new_soa.clone());
    Some(out)
}
