//! Online DNSSEC signing (issue 18): `[[dnssec-policy]]` sections and
//! the zone keys `dnssec-signing` and `dnssec-policy`.
//!
//! ```toml
//! [server]
//! storage-dir = "/var/lib/levee"   # keys are kept in <storage-dir>/keys/<zone>/
//!
//! [[dnssec-policy]]
//! name = "split"
//! algorithm = "ecdsap256sha256"     # or "ed25519"
//! split-keys = true                 # a KSK and a ZSK (default: one combined key, CSK)
//! denial = "nsec3"                  # "nsec" (default), "nsec3" (0 extra iterations, no salt)
//!                                   # or "compact" (RFC 9824: denial signed at query time)
//! nsec3-opt-out = true
//! signature-validity = 1209600      # seconds (14 days)
//! signature-refresh = 604800        # re-sign when less than this is left (7 days)
//! zsk-lifetime = 2592000            # with split-keys: a ZSK rollover (pre-publication) every 30 days
//! propagation-delay = 3600          # how long a change takes to reach every secondary
//! ksk-lifetime = 31536000           # a KSK (or CSK) rollover every year (default 0: never)
//! ds-ttl = 86400                    # the TTL of the DS at the parent
//! parent-ds-check = ["192.0.2.53:53", "198.51.100.53:53 key parent-key"]
//!                                   # the parent's servers, asked for the new DS
//! ds-check-interval = 600           # how often they are asked (seconds)
//!
//! [[zone]]
//! name = "example.com."
//! dnssec-signing = true
//! dnssec-policy = "split"           # default: the built-in "default" policy
//! ```
//!
//! The built-in policy `default` is ECDSA P-256 with one combined key,
//! NSEC, signatures valid 14 days and refreshed 7 days before they
//! expire. A signed zone needs `server.storage-dir` (its keys live
//! there). This crate checks the values; the signer is `levee-sign`.

use serde::Deserialize;

use crate::bounds;

/// The denial of existence of a signed zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DenialKind {
    /// An NSEC chain.
    Nsec,
    /// An NSEC3 chain (no extra iterations, no salt).
    Nsec3,
    /// No chain: compact answers signed at query time (RFC 9824).
    Compact,
}

/// How a signed zone is signed: a `[[dnssec-policy]]` lowered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignPolicy {
    /// The policy's name.
    pub name: String,
    /// DNSSEC algorithm number of new keys (13 or 15).
    pub algorithm: u8,
    /// A KSK and a ZSK instead of one combined key.
    pub split_keys: bool,
    /// How nonexistence is proven.
    pub denial: DenialKind,
    /// NSEC3 opt-out.
    pub nsec3_opt_out: bool,
    /// Seconds a signature is valid.
    pub signature_validity: u32,
    /// Seconds before expiry a signature is made again.
    pub signature_refresh: u32,
    /// Compact denial: signatures made at query time per second, per
    /// zone (0: no limit); past it, such answers are not sent.
    pub online_signatures_per_second: u32,
    /// Seconds a ZSK signs before a rollover replaces it (with
    /// `split-keys`; 0: never).
    pub zsk_lifetime: u64,
    /// Seconds a change takes to reach every secondary.
    pub propagation_delay: u64,
    /// Seconds a KSK (or CSK) signs before a rollover replaces it (0:
    /// never).
    pub ksk_lifetime: u64,
    /// The TTL of the zone's DS at the parent (the old DS's time in
    /// caches once the parent replaced it).
    pub ds_ttl: u64,
    /// The parent's servers, each asked for the zone's DS while a new
    /// KSK waits for it; empty: the DS is confirmed by hand (`levee ctl
    /// ds-seen`).
    pub parent_ds_check: Vec<crate::repl::Remote>,
    /// Seconds between two rounds of the parent check.
    pub ds_check_interval: u64,
}

impl Default for SignPolicy {
    fn default() -> Self {
        SignPolicy {
            name: "default".into(),
            algorithm: 13,
            split_keys: false,
            denial: DenialKind::Nsec,
            nsec3_opt_out: false,
            signature_validity: 14 * 86400,
            signature_refresh: 7 * 86400,
            online_signatures_per_second: 20_000,
            zsk_lifetime: 30 * 86400,
            propagation_delay: 3600,
            ksk_lifetime: 0,
            ds_ttl: 86400,
            parent_ds_check: Vec::new(),
            ds_check_interval: 600,
        }
    }
}

/// `[[dnssec-policy]]` as written.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Spec {
    /// Name, referred to by `[[zone]] dnssec-policy`.
    pub name: String,
    /// `ecdsap256sha256` or `ed25519` (or 13, 15).
    pub algorithm: Option<String>,
    /// KSK + ZSK.
    pub split_keys: Option<bool>,
    /// `nsec` or `nsec3`.
    pub denial: Option<String>,
    /// NSEC3 opt-out.
    pub nsec3_opt_out: Option<bool>,
    /// Seconds.
    pub signature_validity: Option<i64>,
    /// Seconds.
    pub signature_refresh: Option<i64>,
    /// Compact denial's budget.
    pub online_signatures_per_second: Option<i64>,
    /// Seconds.
    pub zsk_lifetime: Option<i64>,
    /// Seconds.
    pub propagation_delay: Option<i64>,
    /// Seconds.
    pub ksk_lifetime: Option<i64>,
    /// Seconds.
    pub ds_ttl: Option<i64>,
    /// `ADDR:PORT [key NAME]` of each parent server.
    pub parent_ds_check: Option<Vec<String>>,
    /// Seconds.
    pub ds_check_interval: Option<i64>,
}

/// The policies of the file, `default` first; an error is `(key,
/// message)`.
pub fn lower(specs: Vec<Spec>, keys: &[levee_tsig::Key]) -> Result<Vec<SignPolicy>, (String, String)> {
    let mut out = vec![SignPolicy::default()];
    for (i, s) in specs.into_iter().enumerate() {
        let key = |k: &str| format!("dnssec-policy[{i}].{k}");
        if s.name.is_empty() || out.iter().any(|p| p.name == s.name) {
            let m = match s.name.as_str() {
                "" => "must not be empty".into(),
                "default" => "the built-in policy \"default\" cannot be redefined".into(),
                n => format!("{n} is defined twice"),
            };
            return Err((key("name"), m));
        }
        let mut p = SignPolicy { name: s.name, ..SignPolicy::default() };
        if let Some(a) = s.algorithm {
            p.algorithm = match a.to_ascii_lowercase().as_str() {
                "ecdsap256sha256" | "13" => 13,
                "ed25519" | "15" => 15,
                _ => return Err((key("algorithm"), format!("'{a}' is not one of ecdsap256sha256, ed25519"))),
            };
        }
        p.split_keys = s.split_keys.unwrap_or(false);
        if let Some(d) = s.denial {
            p.denial = match d.as_str() {
                "nsec" => DenialKind::Nsec,
                "nsec3" => DenialKind::Nsec3,
                "compact" => DenialKind::Compact,
                _ => return Err((key("denial"), format!("'{d}' is not one of nsec, nsec3, compact"))),
            };
        }
        p.nsec3_opt_out = s.nsec3_opt_out.unwrap_or(false);
        if p.nsec3_opt_out && p.denial != DenialKind::Nsec3 {
            return Err((key("nsec3-opt-out"), "needs denial = \"nsec3\"".into()));
        }
        if let Some(v) = s.signature_validity {
            p.signature_validity = bounds::check("dnssec-policy.signature-validity", v)
                .map_err(|m| (key("signature-validity"), m))? as u32;
        }
        if let Some(v) = s.signature_refresh {
            p.signature_refresh =
                bounds::check("dnssec-policy.signature-refresh", v).map_err(|m| (key("signature-refresh"), m))? as u32;
        }
        if let Some(v) = s.online_signatures_per_second {
            p.online_signatures_per_second = bounds::check("dnssec-policy.online-signatures-per-second", v)
                .map_err(|m| (key("online-signatures-per-second"), m))?
                as u32;
        }
        if let Some(v) = s.zsk_lifetime {
            p.zsk_lifetime = bounds::check("dnssec-policy.zsk-lifetime", v).map_err(|m| (key("zsk-lifetime"), m))?;
        }
        if let Some(v) = s.propagation_delay {
            p.propagation_delay =
                bounds::check("dnssec-policy.propagation-delay", v).map_err(|m| (key("propagation-delay"), m))?;
        }
        for (name, v, slot) in [
            ("ksk-lifetime", s.ksk_lifetime, &mut p.ksk_lifetime),
            ("ds-ttl", s.ds_ttl, &mut p.ds_ttl),
            ("ds-check-interval", s.ds_check_interval, &mut p.ds_check_interval),
        ] {
            if let Some(v) = v {
                *slot = bounds::check(&format!("dnssec-policy.{name}"), v).map_err(|m| (key(name), m))?;
            }
        }
        for (j, r) in s.parent_ds_check.iter().flatten().enumerate() {
            let remote = crate::repl::parse_remote(r, keys).map_err(|m| (key(&format!("parent-ds-check[{j}]")), m))?;
            if remote.tls.is_some() {
                return Err((
                    key(&format!("parent-ds-check[{j}]")),
                    "the parent check asks over UDP and TCP, not TLS".into(),
                ));
            }
            p.parent_ds_check.push(remote);
        }
        if p.signature_refresh >= p.signature_validity {
            return Err((key("signature-refresh"), "must be less than signature-validity".into()));
        }
        out.push(p);
    }
    Ok(out)
}
