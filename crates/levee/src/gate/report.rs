//! `levee ctl gate`: the flood gate as text for the operator.
//!
//! Everything comes from the controller's [`Status`], the snapshot that
//! `/metrics`, `/api/status` and the dashboard read: the counters per
//! reason are those of the controller's last tick (once a second), so
//! `levee ctl gate` and a scrape of `/metrics` at the same tick show the
//! same numbers. Nothing is read from the gate's maps here.

use std::fmt::Write;
use std::sync::atomic::Ordering;

use super::control::Status;
use super::keys::gate_keys;
use super::{Placement, REASONS};

/// Unix seconds as `YYYY-MM-DD HH:MM:SS UTC` (proleptic Gregorian).
pub fn utc(unix: f64) -> String {
    let secs = unix.max(0.0) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = levee_zone::zonefile::civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC", rem / 3600, rem / 60 % 60, rem % 60)
}

fn placement(o: &mut String, p: &Placement) {
    let _ = writeln!(o, "  socket filter: on {} UDP socket(s)", p.sockets);
    if p.xdp.is_empty() {
        let _ = writeln!(o, "  xdp: none (no [xdp] interfaces)");
    }
    for x in &p.xdp {
        let _ = match &x.error {
            Some(e) => writeln!(o, "  xdp {}: not attached, UDP stays on the sockets: {e}", x.interface),
            None => {
                writeln!(o, "  xdp {}: {} mode, {} AF_XDP queue(s) ({})", x.interface, x.mode, x.queues, x.socket_mode)
            }
        };
    }
}

fn settings(o: &mut String, s: &Status) {
    let keys = gate_keys(&s.config());
    let get = |k: &str| keys.iter().find(|(n, _)| *n == k).map_or("", |(_, v)| v.as_str());
    let _ = writeln!(
        o,
        "settings: arm-nxdomain-rate {}/s, hold {} s, filter-bits-per-name {}",
        get("arm-nxdomain-rate"),
        get("hold"),
        get("filter-bits-per-name")
    );
    let _ = writeln!(o, "  {:<12} {:>10} {:>10}", "budget", "rate/s", "burst");
    for (what, key, note) in [
        ("prefix", "prefix", "each source /24 or /56 (known sources too)"),
        ("unknown", "unknown", "all sources not known, together"),
        ("deep", "deep", "names of more than 32 labels"),
        ("nx", "nx", "each armed zone: names it does not have"),
    ] {
        let (r, b) = (get(&format!("{key}-rate")), get(&format!("{key}-burst")));
        let _ = writeln!(o, "  {what:<12} {r:>10} {b:>10}  {note}");
    }
    let _ = writeln!(o, "  trusted: {}", get("trusted"));
}

fn armed(o: &mut String, s: &Status, now: f64) {
    let (_, zones) = s.read();
    let _ =
        writeln!(o, "armed zones: {} ({} arming(s) since start)", zones.len(), s.armed_total.load(Ordering::Relaxed));
    for a in &zones {
        let _ = writeln!(
            o,
            "  {}: armed {} ({:.0} s ago) at {:.0} NXDOMAIN/s, now {:.0}/s; filter {} octets, {} names, built in {:.1} ms; \
             NX budget {}/s, burst {}{}",
            a.zone,
            utc(a.since),
            (now - a.since).max(0.0),
            a.armed_rate,
            a.nxdomain_rate,
            a.filter_octets,
            a.keys,
            a.build_ms,
            a.nx.rate,
            a.nx.burst,
            if a.all { " (a wildcard or DNAME at the apex: every name exists, nothing is limited)" } else { "" }
        );
    }
}

/// The whole report, at `now` (Unix seconds).
pub fn text(s: &Status, now: f64) -> String {
    let mut o = String::from("flood gate: on\n");
    placement(&mut o, &s.placement());
    settings(&mut o, s);
    armed(&mut o, s, now);
    let cap = levee_io::gate::KNOWN_CAPACITY;
    let _ = match s.known_fill() {
        Some((f, at)) => writeln!(
            o,
            "known sources: {} of {cap} entries ({:.1} %), {} admitting, {} trusted (counted {:.0} s ago)",
            f.entries,
            f.entries as f64 * 100.0 / cap as f64,
            f.live,
            f.trusted,
            (now - at).max(0.0)
        ),
        None => writeln!(o, "known sources: not counted yet"),
    };
    let _ = writeln!(
        o,
        "  {} written, {} lost to a full channel",
        s.known_written.load(Ordering::Relaxed),
        s.known_dropped.load(Ordering::Relaxed)
    );
    let (stats, _) = s.read();
    match stats {
        Some(st) => {
            let _ = writeln!(o, "packets (since start, as levee_gate_packets_total):");
            for (r, n) in REASONS.iter().zip(st) {
                let _ = writeln!(o, "  {r:<20} {n:>14}");
            }
        }
        None => {
            let _ = writeln!(o, "packets: not read yet");
        }
    }
    let _ = writeln!(o, "errors: {}", s.errors.load(Ordering::Relaxed));
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gate::control::ArmedZone;
    use crate::gate::{XdpPlace, ZoneBudget, NSTATS};

    #[test]
    fn dates() {
        assert_eq!(utc(0.0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400.0), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_700_000_000.5), "2023-11-14 22:13:20 UTC");
    }

    #[test]
    fn the_report_shows_the_status() {
        let s = Status::default();
        let mut stats = [0u64; NSTATS];
        stats[crate::gate::DROP_NX_BUDGET] = 41;
        let zone = ArmedZone {
            zone: "a.test.".into(),
            since: 1_700_000_000.0,
            nxdomain_rate: 12.0,
            armed_rate: 5400.0,
            nx: ZoneBudget { rate: 20, burst: 30 },
            keys: 7,
            filter_octets: 2048,
            build_ms: 0.25,
            all: false,
        };
        *s.state.lock().unwrap() = (Some(stats), vec![zone]);
        s.set_placement(Placement {
            sockets: 2,
            xdp: vec![
                XdpPlace {
                    interface: "eth0".into(),
                    mode: "native".into(),
                    queues: 4,
                    socket_mode: "zero-copy".into(),
                    error: None,
                },
                XdpPlace { interface: "eth1".into(), error: Some("no such interface".into()), ..XdpPlace::default() },
            ],
        });
        *s.known.lock().unwrap() =
            Some((levee_io::gate::KnownFill { entries: 655, live: 600, trusted: 16 }, 1_700_000_040.0));
        let t = text(&s, 1_700_000_042.0);
        for want in [
            "socket filter: on 2 UDP socket(s)",
            "xdp eth0: native mode, 4 AF_XDP queue(s) (zero-copy)",
            "xdp eth1: not attached, UDP stays on the sockets: no such interface",
            "settings: arm-nxdomain-rate 2000/s, hold 60 s",
            "  prefix             2000       4000",
            "  nx                 1000       2000",
            "a.test.: armed 2023-11-14 22:13:20 UTC (42 s ago) at 5400 NXDOMAIN/s, now 12/s; filter 2048 octets, 7 names",
            "NX budget 20/s, burst 30",
            "known sources: 655 of 65536 entries (1.0 %), 600 admitting, 16 trusted (counted 2 s ago)",
            "  drop_nx_budget                   41",
            "  pass_no_xsk                       0",
        ] {
            assert!(t.contains(want), "{want:?} not in\n{t}");
        }
    }
}
