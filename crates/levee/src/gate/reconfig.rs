//! `[gate]` and `[xdp]` at a reload.
//!
//! A reload of every zone (SIGHUP, `levee ctl reload`, `POST
//! /api/reload`) reads the configuration file again, with the command
//! line's overrides (`--gate`, `--xdp`) applied as at start, and compares
//! these two sections with what runs ([`plan`]):
//!
//! * **At restart only**, logged as a warning naming the key
//!   (`xdp.interfaces changed: takes effect at restart`): `gate.enabled`
//!   (the programs are loaded and attached at start, with privileges
//!   levee no longer holds) and every `xdp.*` key (interfaces, queues and
//!   UMEM are set up at start, for the same reason).
//! * **Live**, with the gate on: every other `[gate]` key. They go to the
//!   controller ([`super::control::Status::request`]), which applies them
//!   on its thread within 100 ms and logs each (`gate.prefix-rate
//!   changed: applied`).
//! * With the gate off, a change of another `[gate]` key has no effect
//!   until the gate is turned on (at a restart): logged as such.
//!
//! A file that cannot be read or is refused leaves both sections as they
//! are (the error names the key) and the zones are reloaded all the
//! same. A reload of one zone does not read the file.

use levee_config::{Config, GateConfig, XdpConfig};

use super::keys::{gate_keys, xdp_keys};
use crate::center::Center;

/// What a reload does with the file's `[gate]` and `[xdp]`.
#[derive(Debug, Default, PartialEq)]
pub struct Plan {
    /// Keys (`section.key`) that changed and take effect at restart.
    pub restart: Vec<String>,
    /// `[gate]` keys that changed while the gate is off.
    pub inactive: Vec<String>,
    /// The new `[gate]` settings for the running gate, when a key it can
    /// apply changed.
    pub live: Option<GateConfig>,
}

fn changed(old: Vec<(&'static str, String)>, new: Vec<(&'static str, String)>) -> Vec<&'static str> {
    old.into_iter().zip(new).filter(|(a, b)| a.1 != b.1).map(|(a, _)| a.0).collect()
}

/// Compares the running `[xdp]` (as at start) and `[gate]` (the
/// controller's, which a reload may have changed) with the file's.
pub fn plan(xdp: &XdpConfig, gate: &GateConfig, new: &Config) -> Plan {
    let mut p = Plan::default();
    p.restart.extend(changed(xdp_keys(xdp), xdp_keys(&new.xdp)).into_iter().map(|k| format!("xdp.{k}")));
    let keys = changed(gate_keys(gate), gate_keys(&new.gate));
    for k in &keys {
        if *k == "enabled" {
            p.restart.push("gate.enabled".into());
        } else if !gate.enabled {
            p.inactive.push(format!("gate.{k}"));
        }
    }
    if gate.enabled && keys.iter().any(|k| *k != "enabled") {
        p.live = Some(GateConfig { enabled: true, ..new.gate.clone() });
    }
    p
}

/// At a reload of every zone: reads the file again and acts on
/// [`plan`] (module documentation). Returns the keys that need a restart.
pub fn on_reload(c: &Center) -> Vec<String> {
    let Some(path) = &c.config_file else { return Vec::new() };
    let read = Config::from_file_without_secrets(path).and_then(|mut n| n.apply(&c.overrides).map(|()| n));
    let new = match read {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!(file = %path.display(), "reload: configuration file not read again ({e}); [gate] and [xdp] stay as they are");
            return Vec::new();
        }
    };
    let running = c.gate.as_ref().map_or_else(|| c.cfg.gate.clone(), |s| s.config());
    let p = plan(&c.cfg.xdp, &running, &new);
    for key in &p.restart {
        tracing::warn!(key = %key, "{key} changed: takes effect at restart");
    }
    if !p.inactive.is_empty() {
        tracing::info!(
            "reload: {} changed: no effect while the flood gate is off (gate.enabled, at a restart)",
            p.inactive.join(", ")
        );
    }
    if let (Some(s), Some(g)) = (&c.gate, p.live) {
        s.request(g);
    }
    p.restart
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> Config {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let d = std::env::temp_dir().join(format!("levee-reconfig-{}-{n}.toml", std::process::id()));
        std::fs::write(&d, text).unwrap();
        let c = Config::from_file_without_secrets(&d).unwrap();
        let _ = std::fs::remove_file(&d);
        c
    }

    #[test]
    fn xdp_keys_and_gate_enabled_need_a_restart() {
        let running = Config::default();
        let new = file("[xdp]\ninterfaces = [\"eth1\"]\nframes = 8192\n[gate]\nenabled = true\n");
        let p = plan(&running.xdp, &running.gate, &new);
        assert_eq!(p.restart, ["xdp.interfaces", "xdp.frames", "gate.enabled"]);
        assert!(p.live.is_none() && p.inactive.is_empty(), "{p:?}");
        // The same file again: nothing.
        assert_eq!(plan(&new.xdp, &new.gate, &new), Plan::default());
    }

    #[test]
    fn gate_budgets_apply_live_only_with_the_gate_on() {
        let on = GateConfig { enabled: true, ..GateConfig::default() };
        let new = file("[gate]\nenabled = true\nprefix-rate = 7\ntrusted = [\"192.0.2.0/28\"]\n");
        let p = plan(&XdpConfig::default(), &on, &new);
        assert!(p.restart.is_empty(), "{p:?}");
        let live = p.live.expect("applied live");
        assert_eq!(live.prefix_budget.rate, 7);
        assert_eq!(live.trusted.len(), 1);
        // The file turns the gate off: a restart; the budget is still
        // applied to the gate that runs until then.
        let off = file("[gate]\nprefix-rate = 7\n");
        let p = plan(&XdpConfig::default(), &on, &off);
        assert_eq!(p.restart, ["gate.enabled"]);
        assert!(p.live.is_some_and(|g| g.enabled && g.prefix_budget.rate == 7));
        // Gate off: nothing to apply, said so.
        let p = plan(&XdpConfig::default(), &GateConfig::default(), &off);
        assert_eq!((p.restart.len(), p.inactive.clone(), p.live), (0, vec!["gate.prefix-rate".to_string()], None));
    }
}
