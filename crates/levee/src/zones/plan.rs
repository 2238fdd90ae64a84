//! How one zone is signed ([`SignPlan`]): its configured policy and where
//! its keys are; and how a signed zone is laid out in segments
//! ([`segment_names`], [`publish_options`]). Data only, shared by the signer (`zones::sign`), the key
//! manager (`zones::keyroll`, `zones::keyops`), transfers and updates; it
//! names no daemon module, so none of them depends on another through it.

use std::path::PathBuf;

use levee_config::{Config, DenialKind, SignPolicy};
use levee_sign::denial::Nsec3Params;
use levee_sign::{Denial, Policy};
use levee_zone::{Checks, Zone};

use crate::keys;

/// How one zone is signed.
#[derive(Clone, Debug)]
pub struct SignPlan {
    /// The zone's policy.
    pub policy: SignPolicy,
    /// Where its keys are.
    pub key_dir: PathBuf,
    /// A start signs the file with a serial above the last one served
    /// ([`SignPlan::serial_file`]): true for a primary zone loaded from
    /// its file alone, false for a zone whose serials follow its update
    /// log (the log replays from the file's serial) or its primary.
    pub serial_floor: bool,
}

impl SignPlan {
    /// The plan of `zone` under `cfg`, if it is signed.
    pub fn of(cfg: &Config, zone: &str) -> Option<SignPlan> {
        Self::of_zone(cfg, cfg.zones.iter().find(|z| z.name.eq_ignore_ascii_case(zone))?)
    }

    /// The plan of the configured zone `z`, if it is signed (no search of
    /// the configuration: callers going through every zone stay linear).
    pub fn of_zone(cfg: &Config, z: &levee_config::ZoneConfig) -> Option<SignPlan> {
        let zone = z.name.as_str();
        let policy = z.dnssec.clone()?;
        let root = cfg.storage_dir.as_ref()?.join("keys");
        // The file's zone is the only source of its serials: not a zone
        // whose serials follow its update log (replayed over the file at
        // start from the file's serial) or its primary's.
        let floor = z.allow_update.is_empty() && !z.api_write && z.repl.primaries.is_empty();
        Some(SignPlan { policy, key_dir: keys::zone_dir(&root, zone), serial_floor: floor })
    }

    /// Where the last serial levee served for the zone is kept:
    /// `<storage-dir>/keys/<zone>.serial`, beside its key directory. A
    /// restart signs the file again with a serial above it (the file's
    /// serial may be below what re-signing raised it to, and secondaries
    /// ignore a lower serial).
    pub fn serial_file(&self) -> PathBuf {
        let mut p = self.key_dir.clone().into_os_string();
        p.push(".serial");
        PathBuf::from(p)
    }

    /// The signer's policy (`levee_sign`) of the zone's configured one.
    pub fn signer_policy(&self) -> Policy {
        let p = &self.policy;
        Policy {
            denial: match p.denial {
                DenialKind::Nsec => Denial::Nsec,
                DenialKind::Nsec3 => Denial::Nsec3(Nsec3Params { opt_out: p.nsec3_opt_out, ..Nsec3Params::default() }),
                DenialKind::Compact => Denial::Compact,
            },
            validity: p.signature_validity,
            refresh: p.signature_refresh,
            jitter: (p.signature_validity - p.signature_refresh).min(86400) / 2,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()).min(4),
            ..Policy::default()
        }
    }
}

/// How the signer's difference (`added` records) is applied to the
/// unsigned zone `z`: the segments built anew get a signed zone's size;
/// segments much larger than that (a zone built with the default size)
/// would stay so in every later version, so such a zone is built in
/// full, with small segments.
pub fn publish_options(z: &Zone, checks: Checks, added: usize) -> levee_zone::ReloadOptions {
    let records = z.record_count() + added as u64;
    let mut opts = levee_zone::ReloadOptions { checks, segment_names: segment_names(records), ..Default::default() };
    let (segs, _) = z.segment_count();
    if z.node_count() > 2 * opts.segment_names * segs.max(1) {
        opts.min_segments = usize::MAX;
    }
    opts
}

/// Names per segment of a signed zone of `records` records: small
/// segments (at least 256 names, at most the default 4,096; some 8,000
/// segments for a large zone), so that a change signed incrementally
/// rebuilds few names: a thousand changes spread over a TLD touch a
/// thousand segments, a small share of it (with the default 4,096 they
/// touched nearly all of them, and the zone was rebuilt whole).
pub fn segment_names(records: u64) -> usize {
    ((records / 8192) as usize).clamp(256, levee_zone::SEGMENT_NAMES)
}
