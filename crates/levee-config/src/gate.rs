//! `[gate]`: the flood gate below the socket (issue 23, docs/gate.md).
//! Its schema ([`Spec`]), its runtime form ([`GateConfig`], with the
//! defaults and why they are what they are) and its lowering
//! ([`Spec::lower`]). Off by default: with the section absent nothing
//! of the gate runs.
//!
//! Every budget is a token bucket: `rate` tokens a second, at most
//! `burst` saved. The keys are flat (`nx-rate`, `nx-burst`, ...) so that
//! each is one line with its range in docs/operations.md.

use std::net::IpAddr;

use serde::Deserialize;

use crate::bounds;
use crate::values::parse_prefix;

/// The widest trusted IPv4 prefix (4,096 addresses).
pub const TRUSTED_V4: u8 = 20;
/// The widest trusted IPv6 prefix (4,096 /64s).
pub const TRUSTED_V6: u8 = 52;
/// Trusted addresses (IPv6 /64s) in all, a quarter of the gate's known
/// table.
pub const TRUSTED_MAX: u64 = 16_384;

/// A token bucket's settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    /// Tokens a second (packets a second at steady state).
    pub rate: u32,
    /// Tokens saved at most (packets at once after a quiet spell).
    pub burst: u32,
}

/// The validated `[gate]` section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GateConfig {
    /// The gate runs (`[gate] enabled = true` or `levee serve --gate`).
    pub enabled: bool,
    /// NXDOMAIN responses a second, for one zone, above which the zone is
    /// armed: its filter of existing names is published and names that do
    /// not exist pay from the zone's NX budget.
    pub arm_nxdomain_rate: u32,
    /// Seconds of calm before an armed zone is disarmed.
    pub hold: u32,
    /// Per armed zone: names that do not exist admitted a second.
    pub nx_budget: Budget,
    /// Per source prefix (IPv4 /24, IPv6 /56) of sources not known.
    pub prefix_budget: Budget,
    /// All sources not known together.
    pub unknown_budget: Budget,
    /// Names with more labels than the gate hashes, all sources together.
    pub deep_budget: Budget,
    /// Prefixes always admitted as known sources.
    pub trusted: Vec<(IpAddr, u8)>,
    /// Bits of filter per name (with 7 probes: 10 bits give about 1 %
    /// false positives).
    pub filter_bits_per_name: u32,
}

impl Default for GateConfig {
    /// The defaults (docs/operations.md, "The flood gate", says why):
    ///
    /// * `arm-nxdomain-rate` 2,000/s: a zone's legitimate NXDOMAINs are a
    ///   few percent of its queries (typos, QNAME minimisation probes,
    ///   negative-cache misses); 2,000/s of them is a flood for all but
    ///   the very largest zones, and a random-subdomain flood is tens of
    ///   thousands a second and more.
    /// * `nx-budget` 1,000/s, burst 2,000: the legitimate NXDOMAINs of an
    ///   armed zone fit (they are under the arming rate, and negative
    ///   caching keeps them low), while a flood beyond it is dropped.
    ///   Half the arming rate, so a zone whose flood stopped reads as calm.
    /// * `hold` 60 s: floods come in pulses; re-arming costs a filter build.
    /// * `prefix-budget` 2,000/s, burst 4,000 per /24 or /56, and
    ///   `unknown-budget` 50,000/s, burst 100,000: sources that are not
    ///   known yet (a resolver becomes known after a few positive answers)
    ///   get a share that one core answers easily, so a spoofed flood
    ///   cannot fill the socket while known resolvers always pass.
    /// * `deep-budget` 1,000/s: names of more than 32 labels are rare.
    /// * `filter-bits-per-name` 10: about 1 % of random names pass as
    ///   existing; 1.2 MiB per million names.
    fn default() -> Self {
        GateConfig {
            enabled: false,
            arm_nxdomain_rate: 2_000,
            hold: 60,
            nx_budget: Budget { rate: 1_000, burst: 2_000 },
            prefix_budget: Budget { rate: 2_000, burst: 4_000 },
            unknown_budget: Budget { rate: 50_000, burst: 100_000 },
            deep_budget: Budget { rate: 1_000, burst: 2_000 },
            trusted: Vec::new(),
            filter_bits_per_name: 10,
        }
    }
}

/// `[gate]` as written in the file.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Spec {
    /// On or off.
    pub enabled: Option<bool>,
    /// NXDOMAIN a second per zone that arms it.
    pub arm_nxdomain_rate: Option<i64>,
    /// Seconds of calm before disarming.
    pub hold: Option<i64>,
    /// NX budget rate per armed zone.
    pub nx_rate: Option<i64>,
    /// NX budget burst.
    pub nx_burst: Option<i64>,
    /// Per-prefix budget rate.
    pub prefix_rate: Option<i64>,
    /// Per-prefix budget burst.
    pub prefix_burst: Option<i64>,
    /// Budget of all unknown sources: rate.
    pub unknown_rate: Option<i64>,
    /// Budget of all unknown sources: burst.
    pub unknown_burst: Option<i64>,
    /// Budget of too-deep names: rate.
    pub deep_rate: Option<i64>,
    /// Budget of too-deep names: burst.
    pub deep_burst: Option<i64>,
    /// Prefixes always admitted.
    pub trusted: Option<Vec<String>>,
    /// Filter bits per name.
    pub filter_bits_per_name: Option<i64>,
}

impl Spec {
    /// The runtime form; an error is `(key, message)`.
    pub fn lower(self) -> Result<GateConfig, (String, String)> {
        let mut g = GateConfig::default();
        let num = |key: &str, v: Option<i64>, dst: &mut u32| -> Result<(), (String, String)> {
            if let Some(v) = v {
                let key = format!("gate.{key}");
                *dst = bounds::check(&key, v).map_err(|m| (key, m))? as u32;
            }
            Ok(())
        };
        g.enabled = self.enabled.unwrap_or(false);
        num("arm-nxdomain-rate", self.arm_nxdomain_rate, &mut g.arm_nxdomain_rate)?;
        num("hold", self.hold, &mut g.hold)?;
        num("nx-rate", self.nx_rate, &mut g.nx_budget.rate)?;
        num("nx-burst", self.nx_burst, &mut g.nx_budget.burst)?;
        num("prefix-rate", self.prefix_rate, &mut g.prefix_budget.rate)?;
        num("prefix-burst", self.prefix_burst, &mut g.prefix_budget.burst)?;
        num("unknown-rate", self.unknown_rate, &mut g.unknown_budget.rate)?;
        num("unknown-burst", self.unknown_burst, &mut g.unknown_budget.burst)?;
        num("deep-rate", self.deep_rate, &mut g.deep_budget.rate)?;
        num("deep-burst", self.deep_burst, &mut g.deep_budget.burst)?;
        num("filter-bits-per-name", self.filter_bits_per_name, &mut g.filter_bits_per_name)?;
        let mut keys = 0u64;
        for (j, p) in self.trusted.unwrap_or_default().iter().enumerate() {
            let key = || format!("gate.trusted[{j}]");
            let (ip, len) = parse_prefix(p).map_err(|m| (key(), m))?;
            // The gate's known table holds addresses (IPv6: /64s), so a
            // prefix is written as each of them: bounded.
            let n = match ip {
                IpAddr::V4(_) if len >= TRUSTED_V4 => 1u64 << (32 - len),
                IpAddr::V6(_) if len >= TRUSTED_V6 => 1u64 << (64 - len.min(64)),
                _ => {
                    return Err((
                        key(),
                        format!("'{p}' is too wide: at most /{TRUSTED_V4} for IPv4, /{TRUSTED_V6} for IPv6"),
                    ))
                }
            };
            keys += n;
            if keys > TRUSTED_MAX {
                return Err((key(), format!("more than {TRUSTED_MAX} trusted addresses (IPv6 /64s) in all")));
            }
            g.trusted.push((ip, len));
        }
        Ok(g)
    }
}
