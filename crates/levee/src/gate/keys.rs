//! `[gate]` and `[xdp]` as key/value lists, spelled as the configuration
//! file spells them: what `levee ctl gate` and the API show, and what a
//! reload compares ([`super::reconfig`]). Pure, so that the controller and
//! the report can use them without reaching the daemon's center.

use levee_config::{GateConfig, XdpConfig};

/// `[gate]`'s keys and values, as the file spells them (without the
/// section), in the order of docs/operations.md.
pub fn gate_keys(g: &GateConfig) -> Vec<(&'static str, String)> {
    let trusted: Vec<String> = g.trusted.iter().map(|(ip, len)| format!("{ip}/{len}")).collect();
    vec![
        ("enabled", g.enabled.to_string()),
        ("arm-nxdomain-rate", g.arm_nxdomain_rate.to_string()),
        ("hold", g.hold.to_string()),
        ("nx-rate", g.nx_budget.rate.to_string()),
        ("nx-burst", g.nx_budget.burst.to_string()),
        ("prefix-rate", g.prefix_budget.rate.to_string()),
        ("prefix-burst", g.prefix_budget.burst.to_string()),
        ("unknown-rate", g.unknown_budget.rate.to_string()),
        ("unknown-burst", g.unknown_budget.burst.to_string()),
        ("deep-rate", g.deep_budget.rate.to_string()),
        ("deep-burst", g.deep_budget.burst.to_string()),
        ("trusted", format!("[{}]", trusted.join(", "))),
        ("filter-bits-per-name", g.filter_bits_per_name.to_string()),
    ]
}

/// `[xdp]`'s keys and values.
pub fn xdp_keys(x: &XdpConfig) -> Vec<(&'static str, String)> {
    vec![
        ("interfaces", format!("[{}]", x.interfaces.join(", "))),
        ("queues", x.queues.to_string()),
        ("frames", x.frames.to_string()),
        ("frame-size", x.frame_size.to_string()),
        ("zero-copy", x.zero_copy.map_or("absent".into(), |z| z.to_string())),
        ("coalesce-us", x.coalesce_us.to_string()),
    ]
}
