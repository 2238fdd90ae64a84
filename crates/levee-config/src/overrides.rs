//! Command-line flags over the file ([`Overrides`], [`Config::apply`]):
//! file < flags. A flag is checked as strictly as the key it overrides
//! (the same ranges, the same rule for a management address), and an
//! error names the flag.

use std::path::PathBuf;

use crate::error::ConfigError;
use crate::runtime::{Config, ZoneConfig};
use crate::values::{normalize_zone_name, parse_listen, parse_prefix};
use crate::{bounds, mgmt};

/// Command-line settings that override the file.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// `--listen` (replaces the file's list when given).
    pub listen: Vec<String>,
    /// `--zones-dir`.
    pub zones_dir: Option<PathBuf>,
    /// `--allow-transfer ZONE=PREFIX` (added to the zone's list).
    pub allow_transfer: Vec<String>,
    /// `--threads`.
    pub threads: Option<usize>,
    /// `--management ADDR:PORT` (turns the management listener on).
    pub management: Option<String>,
    /// `--management-allow-remote` (as `management.allow-remote = true`).
    pub management_allow_remote: bool,
    /// `--gate` (as `gate.enabled = true`, the other keys as in the file).
    pub gate: bool,
    /// `--xdp IFACE` (replaces `xdp.interfaces` when given).
    pub xdp: Vec<String>,
    /// `--dnstap PATH` (as `dnstap.enabled = true` with `socket-path = PATH`).
    pub dnstap: Option<PathBuf>,
    /// `--storage-dir DIR` (as `server.storage-dir`).
    pub storage_dir: Option<PathBuf>,
    /// `--sign ZONE` (as `dnssec-signing = true` on the zone, with the
    /// `default` policy unless the file gives it one).
    pub sign: Vec<String>,
    /// `--listen-tls ADDR:PORT` (replaces `tls.listen` when given).
    pub listen_tls: Vec<String>,
    /// `--listen-quic ADDR:PORT` (replaces `tls.listen-quic` when given).
    pub listen_quic: Vec<String>,
    /// `--tls-cert FILE` (as `tls.certificate`).
    pub tls_cert: Option<PathBuf>,
    /// `--tls-key FILE` (as `tls.key`).
    pub tls_key: Option<PathBuf>,
}

impl Config {
    /// Applies command-line overrides.
    pub fn apply(&mut self, o: &Overrides) -> Result<(), ConfigError> {
        let err = |key: &str, message: String| ConfigError { place: "command line".into(), key: key.into(), message };
        if !o.listen.is_empty() {
            self.listen =
                o.listen.iter().map(|l| parse_listen(l).map_err(|m| err("--listen", m))).collect::<Result<_, _>>()?;
        }
        if let Some(d) = &o.zones_dir {
            self.zones_dir = Some(d.clone());
        }
        if let Some(t) = o.threads {
            self.threads = bounds::check("server.threads", t.min(i64::MAX as usize) as i64)
                .map_err(|m| err("--threads", m))? as usize;
        }
        if o.gate {
            self.gate.enabled = true;
        }
        if o.management_allow_remote {
            self.management_access.allow_remote = true;
        }
        if let Some(m) = &o.management {
            self.management = Some(parse_listen(m).map_err(|m| err("--management", m))?);
        }
        // The same rule as for the file: loopback, or allow-remote and tokens.
        if let Some(a) = self.management {
            let key = if o.management.is_some() { "--management" } else { "management.listen" };
            mgmt::check_listen(a, &self.management_access).map_err(|m| err(key, m))?;
        }
        if !o.xdp.is_empty() {
            self.xdp.interfaces.clear();
            for i in &o.xdp {
                crate::values::check_interface(i).map_err(|m| err("--xdp", m))?;
                if !self.xdp.interfaces.contains(i) {
                    self.xdp.interfaces.push(i.clone());
                }
            }
        }
        if let Some(p) = &o.dnstap {
            let p = crate::dnstap::unix_path(p.clone()).map_err(|m| err("--dnstap", m))?;
            self.dnstap.enabled = true;
            self.dnstap.collector = Some(crate::dnstap::Collector::Unix(p));
            self.dnstap.check().map_err(|(k, m)| err(&format!("dnstap.{k}"), m))?;
        }
        self.apply_tls(o)?;
        for a in &o.allow_transfer {
            let (zone, prefix) =
                a.split_once('=').ok_or_else(|| err("--allow-transfer", format!("'{a}' is not ZONE=PREFIX")))?;
            let zone = normalize_zone_name(zone).map_err(|m| err("--allow-transfer", m))?;
            let p = parse_prefix(prefix).map_err(|m| err("--allow-transfer", m))?;
            match self.zones.iter_mut().find(|z| z.name.eq_ignore_ascii_case(&zone)) {
                Some(z) => z.allow_transfer.push(p),
                None => self.zones.push(ZoneConfig { allow_transfer: vec![p], ..ZoneConfig::named(zone) }),
            }
        }
        if let Some(d) = &o.storage_dir {
            self.storage_dir = Some(d.clone());
        }
        for z in &o.sign {
            let zone = normalize_zone_name(z).map_err(|m| err("--sign", m))?;
            if self.storage_dir.is_none() {
                let m = "a signed zone needs a storage directory for its keys (--storage-dir or server.storage-dir)";
                return Err(err("--sign", m.into()));
            }
            let policy = self.dnssec_policies.first().cloned().unwrap_or_default();
            match self.zones.iter_mut().find(|c| c.name.eq_ignore_ascii_case(&zone)) {
                Some(c) => {
                    c.dnssec.get_or_insert(policy);
                }
                None => self.zones.push(ZoneConfig { dnssec: Some(policy), ..ZoneConfig::named(zone) }),
            }
        }
        Ok(())
    }
}

impl Config {
    /// `--listen-tls`, `--listen-quic`, `--tls-cert`, `--tls-key` over `[tls]`; errors
    /// name the flag.
    fn apply_tls(&mut self, o: &Overrides) -> Result<(), ConfigError> {
        let err = |key: &str, message: String| ConfigError { place: "command line".into(), key: key.into(), message };
        if !o.listen_tls.is_empty() {
            self.tls.listen = o
                .listen_tls
                .iter()
                .map(|l| parse_listen(l).map_err(|m| err("--listen-tls", m)))
                .collect::<Result<_, _>>()?;
        }
        if !o.listen_quic.is_empty() {
            self.tls.listen_quic = o
                .listen_quic
                .iter()
                .map(|l| parse_listen(l).map_err(|m| err("--listen-quic", m)))
                .collect::<Result<_, _>>()?;
        }
        if o.tls_cert.is_some() || o.tls_key.is_some() {
            self.tls.certificate = o.tls_cert.clone();
            self.tls.key = o.tls_key.clone();
            self.tls.names = ("--tls-cert", "--tls-key");
        }
        self.tls.check().map_err(|(k, m)| err(k, m))?;
        if o.tls_key.is_some() {
            crate::tls::check_key_mode(&self.tls).map_err(|(k, m)| err(&k, m))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `--sign ZONE` signs a configured zone or a zones-dir one with the
    /// default policy, and needs a storage directory for the keys.
    #[test]
    fn sign_needs_a_storage_directory() {
        let mut c = Config::default();
        let e = c.apply(&Overrides { sign: vec!["example.com".into()], ..Default::default() }).unwrap_err();
        assert_eq!(e.key, "--sign");
        assert!(e.message.contains("--storage-dir"), "{e}");
        c.apply(&Overrides { sign: vec!["example.com".into()], storage_dir: Some("/s".into()), ..Default::default() })
            .unwrap();
        assert_eq!(c.zones.len(), 1);
        assert_eq!(c.zones[0].name, "example.com.");
        assert_eq!(c.zones[0].dnssec.as_ref().map(|p| p.name.as_str()), Some("default"));
    }

    #[test]
    fn overrides() {
        let mut c = Config::default();
        c.apply(&Overrides {
            listen: vec!["127.0.0.1:5400".into(), "[::1]:5400".into()],
            zones_dir: Some("z".into()),
            allow_transfer: vec!["sib-a.test.=127.0.0.1".into(), "sib-a.test=10.0.0.0/8".into()],
            threads: Some(3),
            management: Some("127.0.0.1:5901".into()),
            management_allow_remote: false,
            gate: true,
            xdp: vec!["vA".into(), "eth1".into(), "vA".into()],
            dnstap: None,
            ..Default::default()
        })
        .unwrap();
        assert_eq!(c.xdp.interfaces, ["vA", "eth1"]);
        assert_eq!(c.listen.len(), 2);
        assert_eq!(c.threads, 3);
        assert!(c.gate.enabled, "--gate turns the gate on");
        assert_eq!(c.management, Some("127.0.0.1:5901".parse().unwrap()));
        assert_eq!(c.zones.len(), 1);
        assert_eq!(c.zones[0].allow_transfer.len(), 2);
        let e = c.apply(&Overrides { listen: vec!["nope".into()], ..Default::default() }).unwrap_err();
        assert_eq!(e.key, "--listen");
        let e = c.apply(&Overrides { allow_transfer: vec!["x=1.2.3.4/40".into()], ..Default::default() }).unwrap_err();
        assert!(e.to_string().contains("--allow-transfer"), "{e}");
        // A non-loopback management address needs allow-remote (and a
        // token) on the command line as in the file.
        let remote = Overrides { management: Some("0.0.0.0:8053".into()), ..Default::default() };
        let e = c.apply(&remote).unwrap_err();
        assert_eq!(e.key, "--management");
        assert!(e.message.contains("allow-remote"), "{e}");
        let e = c.apply(&Overrides { management_allow_remote: true, ..remote.clone() }).unwrap_err();
        assert!(e.message.contains("no [[management.token]]"), "{e}");
        c.management_access.tokens.push(mgmt::Token {
            scope: mgmt::Scope::Read,
            secret: "0123456789abcdef".into(),
            file: None,
            zones: Vec::new(),
        });
        c.apply(&Overrides { management_allow_remote: true, ..remote.clone() }).unwrap();
        assert_eq!(c.management, Some("0.0.0.0:8053".parse().unwrap()));
        let e = c.apply(&Overrides { xdp: vec!["../x".into()], ..Default::default() }).unwrap_err();
        assert_eq!(e.key, "--xdp");
        let e = c.apply(&Overrides { threads: Some(1025), ..Default::default() }).unwrap_err();
        assert_eq!(e.key, "--threads");
    }

    #[test]
    fn dnstap_flag_turns_capture_on_with_a_unix_socket() {
        let mut c = Config::default();
        c.apply(&Overrides { dnstap: Some("/run/t.sock".into()), ..Default::default() }).unwrap();
        assert!(c.dnstap.enabled);
        assert_eq!(c.dnstap.collector, Some(crate::dnstap::Collector::Unix("/run/t.sock".into())));
        let e = c.apply(&Overrides { dnstap: Some("".into()), ..Default::default() }).unwrap_err();
        assert_eq!(e.key, "--dnstap");
    }
}
