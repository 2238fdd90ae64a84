//! A fake gate for tests: records every call, fails on request.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use levee_limit::gate::Filter;

use super::{GateSettings, GateSink, ZoneBudget, NSTATS};

/// One call to the gate.
#[derive(Debug, Clone, PartialEq)]
pub enum Call {
    Config(u16),
    #[allow(dead_code)]
    Publish {
        apex: u64,
        zone_id: u32,
        nx: ZoneBudget,
    },
    Withdraw(u64),
    Known(IpAddr, u64),
    Forget(IpAddr),
}

#[derive(Default)]
pub struct Shared {
    pub calls: Vec<Call>,
    pub filters: Vec<Filter>,
    pub stats: [u64; NSTATS],
    pub fail_publish: bool,
    /// Every settings written (`set_config`).
    pub settings: Vec<GateSettings>,
    pub known: levee_io::gate::KnownFill,
}

#[derive(Clone, Default)]
pub struct Fake(pub Arc<Mutex<Shared>>);

impl Fake {
    pub fn calls(&self) -> Vec<Call> {
        std::mem::take(&mut self.0.lock().unwrap().calls)
    }
    pub fn add_stat(&self, i: usize, n: u64) {
        self.0.lock().unwrap().stats[i] += n;
    }
}

impl GateSink for Fake {
    fn publish_zone(&mut self, apex: u64, zone_id: u32, filter: &Filter, nx: ZoneBudget) -> Result<(), String> {
        let mut s = self.0.lock().unwrap();
        if s.fail_publish {
            return Err("bloom map full".into());
        }
        s.calls.push(Call::Publish { apex, zone_id, nx });
        s.filters.push(filter.clone());
        Ok(())
    }
    fn withdraw_zone(&mut self, apex: u64) -> Result<(), String> {
        self.0.lock().unwrap().calls.push(Call::Withdraw(apex));
        Ok(())
    }
    fn set_known(&mut self, addr: IpAddr, expires_ns: u64) -> Result<(), String> {
        self.0.lock().unwrap().calls.push(Call::Known(addr, expires_ns));
        Ok(())
    }
    fn remove_known(&mut self, addr: IpAddr) -> Result<(), String> {
        self.0.lock().unwrap().calls.push(Call::Forget(addr));
        Ok(())
    }
    fn known_fill(&self, _: u64) -> Result<levee_io::gate::KnownFill, String> {
        Ok(self.0.lock().unwrap().known)
    }
    fn stats(&self) -> Result<[u64; NSTATS], String> {
        Ok(self.0.lock().unwrap().stats)
    }
    fn set_config(&mut self, c: &GateSettings) -> Result<(), String> {
        let mut s = self.0.lock().unwrap();
        s.calls.push(Call::Config(c.port));
        s.settings.push(c.clone());
        Ok(())
    }
}
