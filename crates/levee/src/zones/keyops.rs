//! The key manager's daemon side (issue 18): the parent DS check and
//! the `levee ctl` key commands, on top of `zones::keyroll`.
//!
//! * The parent check ([`parent_ds_check`]): while a zone's new KSK (or
//!   CSK) waits for its DS, every server of the policy's
//!   `parent-ds-check` is asked for the zone's DS every
//!   `ds-check-interval` seconds (TSIG-signed if the entry names a key);
//!   once all of them serve the new key's DS, the rollover goes on
//!   ([`ds_seen`]), as Knot's `ksk-submission` with `parent` and
//!   `check-interval`. A server that does not answer, or answers without
//!   the new DS, holds the rollover back (logged each round).
//! * `levee ctl keys ZONE`, `key-rollover ZONE ksk|zsk`, `ds-seen ZONE`
//!   ([`command`]): through the control socket, so only who can open it
//!   (its owner and group, mode 0660) can run them.

use std::sync::Arc;

use levee_sign::rollover::Role;
use levee_wire::name;
use levee_wire::rtype::t;

use crate::center::Center;
use crate::zones::keyroll;
use crate::zones::sign::SignPlan;

/// The served version of `zone` (text) and its apex (wire, lowercase).
fn served(c: &Center, zone: &str) -> Result<(Arc<levee_zone::Zone>, Vec<u8>), String> {
    let apex = name::from_text(zone, None).map_err(|e| format!("bad zone name: {e}"))?;
    let lname = name::to_lowercase(&apex).as_slice().to_vec();
    let set = c.zones.load_full();
    let e = set.exact(&lname).filter(|e| !e.not_loaded).ok_or_else(|| format!("{zone} is not served"))?;
    Ok((e.zone.clone(), lname))
}

/// The configured name of `zone` and its signing plan.
fn plan(c: &Center, zone: &str) -> Result<(String, SignPlan), String> {
    let apex = name::from_text(zone, None).map_err(|e| format!("bad zone name: {e}"))?;
    let text = name::to_text(&name::to_lowercase(&apex));
    let z = c
        .cfg
        .zones
        .iter()
        .find(|z| z.name.eq_ignore_ascii_case(&text))
        .ok_or_else(|| format!("{text} is not configured"))?;
    let s = SignPlan::of(&c.cfg, &z.name).ok_or_else(|| format!("{text} is not signed by levee (dnssec-signing)"))?;
    Ok((z.name.clone(), s))
}

/// Signs `zone` again now (its keys changed).
fn resign(c: &Center, zone: &str) -> Result<(), String> {
    crate::zones::reload::reload_zone(c, zone).and_then(|(_, failed)| {
        if failed > 0 {
            Err(format!("{zone} failed to sign again (see the log)"))
        } else {
            Ok(())
        }
    })
}

/// The parent serves the new key's DS: the rollover goes on and the zone
/// is signed again (its CDS and CDNSKEY leave). Blocking.
pub fn ds_seen(c: &Center, zone: &str, how: &str) -> Result<u16, String> {
    let (name, s) = plan(c, zone)?;
    let (z, _) = served(c, &name)?;
    let tag = keyroll::confirm_ds(&s, &name, &z, crate::clock::wall())?;
    tracing::info!(zone = %name, tag, how, "key rollover: the parent serves the new DS");
    resign(c, &name)?;
    Ok(tag)
}

/// `levee ctl keys|key-rollover|ds-seen ...` (blocking: it may sign the
/// zone again). The answer's first line is `ok` or `error: ...`.
pub fn command(c: &Center, words: &[&str]) -> String {
    let r = match words {
        ["keys", zone] => plan(c, zone).and_then(|(name, s)| {
            let z = served(c, &name).ok().map(|(z, _)| z);
            keyroll::report(&s, &name, z.as_deref(), crate::clock::wall())
        }),
        ["key-rollover", zone, role @ ("ksk" | "zsk")] => plan(c, zone).and_then(|(name, s)| {
            let (z, _) = served(c, &name)?;
            let role = if *role == "ksk" { Role::Ksk } else { Role::Zsk };
            keyroll::start_rollover(&s, &name, &z, role, crate::clock::wall())?;
            resign(c, &name)?;
            Ok(format!("{} rollover of {name} started\n", words[2].to_uppercase()))
        }),
        ["ds-seen", zone] => ds_seen(c, zone, "levee ctl ds-seen")
            .map(|tag| format!("the parent's DS of key {tag} confirmed; the rollover goes on\n")),
        _ => Err("usage: keys ZONE | key-rollover ZONE ksk|zsk | ds-seen ZONE".into()),
    };
    match r {
        Ok(text) => format!("ok\n{text}"),
        Err(e) => format!("error: {e}\n"),
    }
}

/// One round of the parent check for the zone `zone` (configured name):
/// `Ok(true)` when every parent server serves the awaited DS.
async fn check_zone(c: &Center, zone: &str, s: &SignPlan) -> Result<bool, String> {
    let apex = name::from_text(zone, None).map_err(|e| e.to_string())?;
    let apex = name::to_lowercase(&apex).as_slice().to_vec();
    let Some((tag, want)) = keyroll::awaited_ds(s, zone, &apex, crate::clock::wall())? else { return Ok(false) };
    let mut seen = 0;
    for parent in &s.policy.parent_ds_check {
        let key = c.repl.key(&parent.key);
        match crate::replication::client::rrset_of(parent.addr, parent.source, &apex, t::DS, key).await {
            Ok(ds) if ds.iter().any(|r| r.rdata == want) => seen += 1,
            Ok(_) => tracing::info!(zone, tag, parent = %parent.addr, "parent DS check: the new DS is not served yet"),
            Err(e) => tracing::warn!(zone, tag, parent = %parent.addr, "parent DS check failed: {e}"),
        }
    }
    Ok(seen == s.policy.parent_ds_check.len())
}

/// The parent check: runs for the daemon's life when a signed zone's
/// policy lists parent servers (see the module docs).
pub async fn parent_ds_check(c: Arc<Center>) {
    let zones: Vec<(String, SignPlan)> = c
        .cfg
        .zones
        .iter()
        .filter_map(|z| SignPlan::of_zone(&c.cfg, z).map(|s| (z.name.clone(), s)))
        .filter(|(_, s)| !s.policy.parent_ds_check.is_empty())
        .collect();
    let Some(every) = zones.iter().map(|(_, s)| s.policy.ds_check_interval).min() else { return };
    let mut last: std::collections::HashMap<String, u64> = Default::default();
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(every.clamp(1, 86_400))).await;
        let now = crate::clock::wall();
        for (zone, s) in &zones {
            if last.get(zone).is_some_and(|&t| now < t + s.policy.ds_check_interval) {
                continue;
            }
            last.insert(zone.clone(), now);
            match check_zone(&c, zone, s).await {
                Ok(true) => {
                    let (c2, z2) = (Arc::clone(&c), zone.clone());
                    let r = tokio::task::spawn_blocking(move || ds_seen(&c2, &z2, "parent DS check")).await;
                    match r {
                        Ok(Ok(_)) => {}
                        Ok(Err(e)) => tracing::error!(zone = %zone, "key rollover: {e}"),
                        Err(e) => tracing::error!(zone = %zone, "key rollover: {e}"),
                    }
                }
                Ok(false) => {}
                Err(e) => tracing::error!(zone = %zone, "parent DS check: {e}"),
            }
        }
    }
}
