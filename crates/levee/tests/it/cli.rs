//! The command line: configuration errors and `levee check-zone`.

use std::process::Output;

use crate::support::{levee, repo, TempDir};

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[test]
fn broken_zones_are_reported_with_file_and_line() {
    let dir = repo().join("tests/broken-zones");
    let expected = std::fs::read_to_string(dir.join("expected.txt")).unwrap();
    let mut checked = std::collections::BTreeSet::new();
    let mut failures = Vec::new();
    for line in expected.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')) {
        let mut parts = line.split_whitespace();
        let entry = parts.next().unwrap();
        let status: i32 = parts.next().unwrap().parse().unwrap();
        let message = parts.collect::<Vec<_>>().join(" ");
        // `file@strict`: under the strict semantic-check policy.
        let (file, policy) = entry.split_once('@').unwrap_or((entry, "warn"));
        let out = levee()
            .current_dir(&dir)
            .args(["check-zone", "--semantic-checks", policy, "--origin", "bz.test.", file])
            .output()
            .unwrap();
        let got = text(&out);
        if out.status.code() != Some(status) {
            failures.push(format!("{entry}: exit {:?}, want {status}\n{got}", out.status.code()));
        } else if !got.contains(&message) {
            failures.push(format!("{entry}: output lacks '{message}'\n{got}"));
        }
        checked.insert(file.to_string());
    }
    assert!(checked.len() >= 20, "only {} broken zones checked", checked.len());
    // Every zone file in the directory is listed in expected.txt.
    let listed = std::fs::read_dir(&dir)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "zone"))
        .count();
    assert_eq!(listed, checked.len(), "expected.txt and the .zone files differ");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn check_zone_accepts_the_golden_zones() {
    let golden = repo().join("tests/golden");
    let mut files = Vec::new();
    for suite in std::fs::read_dir(&golden).unwrap() {
        let zones = suite.unwrap().path().join("zones");
        // Zones the manifest marks "broken" are there because no server loads them.
        let broken: Vec<String> = std::fs::read_to_string(zones.join("manifest.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|m| {
                let zs = m.get("zones")?.as_array()?.to_vec();
                Some(
                    zs.iter()
                        .filter(|z| z.get("broken").and_then(|b| b.as_bool()) == Some(true))
                        .filter_map(|z| z.get("file")?.as_str().map(String::from))
                        .collect(),
                )
            })
            .unwrap_or_default();
        if let Ok(rd) = std::fs::read_dir(&zones) {
            for e in rd {
                let p = e.unwrap().path();
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                if p.extension().is_some_and(|x| x == "zone") && !broken.contains(&name) {
                    files.push(p);
                }
            }
        }
    }
    assert!(files.len() >= 10, "golden zones not found");
    let out = levee().arg("check-zone").args(&files).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(text(&out).matches(" OK: serial ").count(), files.len(), "{}", text(&out));
}

#[test]
fn check_zone_needs_an_origin() {
    let dir = TempDir::new("origin");
    let f = dir.path().join("zonefile.txt");
    std::fs::write(&f, "@ 60 SOA a b 1 2 3 4 5\n").unwrap();
    let out = levee().arg("check-zone").arg(&f).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("use --origin"), "{}", text(&out));
}

#[test]
fn check_zone_warnings_do_not_fail() {
    let dir = TempDir::new("warn");
    let f = dir.path().join("w.test.zone");
    std::fs::write(
        &f,
        "$TTL 300\n@ SOA ns1 hm 1 2 3 4 5\n@ NS ns1\nns1 A 192.0.2.1\nx 60 A 192.0.2.2\nx 120 A 192.0.2.3\nd NS ns.d\nns.d A 192.0.2.4\nocc.d TXT \"hidden\"\nout.example. A 192.0.2.5\n",
    )
    .unwrap();
    let out = levee().arg("check-zone").arg(&f).output().unwrap();
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("w.test.zone:6: warning: TTL 120 differs"), "{t}");
    assert!(t.contains("w.test.zone:9: warning: occ.d.w.test. TXT is below a delegation"), "{t}");
    assert!(t.contains("w.test.zone:10: warning: record out.example. A is outside the zone"), "{t}");
}

/// A zone of several blocks (`[load] parse-threads`, blocks of 1 MiB)
/// checked on two threads prints what one thread prints, each error at
/// its FILE:LINE: errors and warnings all over the file, an `$ORIGIN`
/// change, a record continued in column 0 inside parentheses, blank
/// owners after comments.
#[test]
fn check_zone_on_threads_reports_what_one_thread_reports() {
    let dir = TempDir::new("threads");
    let f = dir.path().join("p.test.zone");
    let mut z = String::from("$TTL 300\n@ SOA ns1 hm 1 2 3 4 5\n@ NS ns1\nns1 A 192.0.2.1\n");
    let mut bad = Vec::new();
    for i in 0..80_000 {
        z.push_str(&format!("d{i} NS ns1.d{i}\nns1.d{i} A 10.0.{}.{}\n", i / 256 % 256, i % 256));
        match i % 7919 {
            0 => {
                bad.push(z.lines().count() + 1);
                z.push_str(&format!("e{i} A 10.0.0.{}\n", 256 + i % 100));
            }
            1 => z.push_str(&format!("t{i} TXT (\n\"column 0\" ; comment\n)\n; a comment\n  TXT \"blank owner\"\n")),
            2 => z.push_str(&format!("o{i}.elsewhere. A 192.0.2.9\n")),
            3 => z.push_str("$ORIGIN sub.p.test.\n"),
            _ => {}
        }
    }
    assert!(z.len() > 3 << 20 && bad.len() >= 7, "{} octets", z.len());
    std::fs::write(&f, &z).unwrap();
    let mut outs = Vec::new();
    for threads in [1, 2] {
        let conf = dir.path().join(format!("t{threads}.toml"));
        std::fs::write(&conf, format!("[load]\nparse-threads = {threads}\n")).unwrap();
        let out = levee().args(["check-zone", "--config"]).arg(&conf).arg(&f).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        outs.push(text(&out));
    }
    assert_eq!(outs[0], outs[1]);
    for line in bad {
        assert!(
            outs[1].contains(&format!("p.test.zone:{line}: A record: bad IPv4 address")),
            "line {line}: {}",
            outs[1]
        );
    }
    assert!(outs[1].contains("is outside the zone"), "{}", outs[1]);
}

/// `check-zone --timings` prints a row per phase of the load after the
/// zone's line, the parse throughput and the peak memory; a broken zone
/// still gets its FILE:LINE error.
#[test]
fn check_zone_timings_print_the_phases() {
    let dir = TempDir::new("timings");
    let f = dir.path().join("t.test.zone");
    let mut z = String::from("$TTL 300\n@ SOA ns1 hm 1 2 3 4 5\n@ NS ns1\nns1 A 192.0.2.1\n");
    for i in 0..5000 {
        z.push_str(&format!("d{i} NS ns1.d{i}\nns1.d{i} A 10.0.{}.{}\n", i / 256, i % 256));
    }
    std::fs::write(&f, &z).unwrap();
    let out = levee().args(["check-zone", "--timings"]).arg(&f).output().unwrap();
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("zone t.test. OK: serial 1, 10003 records"), "{t}");
    for phase in ["read file", "tokenise *", "RDATA *", "builder add", "canonical sort", "name index", "links and glue"]
    {
        assert!(t.lines().any(|l| l.starts_with(&format!("| {phase}"))), "no {phase} row: {t}");
    }
    let outside: f64 = t
        .lines()
        .find_map(|l| l.strip_prefix("| outside the phases | "))
        .and_then(|r| r.split(" |").next()?.parse().ok())
        .unwrap_or_else(|| panic!("no outside row: {t}"));
    let wall: f64 = t
        .lines()
        .find_map(|l| l.strip_prefix("| **wall** | **"))
        .and_then(|r| r.split("**").next()?.parse().ok())
        .unwrap_or_else(|| panic!("no wall row: {t}"));
    assert!(wall > 0.0 && outside <= wall * 0.2 + 0.002, "outside {outside} s of {wall} s: {t}");
    assert!(t.contains(" MB/s") && t.contains("peak RSS "), "{t}");
    // A broken zone: the error keeps its line, the table still follows.
    std::fs::write(&f, format!("{z}bad A 999.1.1.1\n")).unwrap();
    let out = levee().args(["check-zone", "--timings"]).arg(&f).output().unwrap();
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("t.test.zone:10005: A record: bad IPv4 address '999.1.1.1'"), "{t}");
    assert!(t.contains("| **wall** |"), "{t}");
}

fn serve_config(cfg: &str) -> Output {
    let dir = TempDir::new("cfg");
    let f = dir.path().join("levee.toml");
    std::fs::write(&f, cfg).unwrap();
    levee().args(["serve", "--config"]).arg(&f).output().unwrap()
}

#[test]
fn config_errors_name_the_key() {
    for (cfg, key) in [
        ("[server]\nlisen = [\"127.0.0.1:53\"]\n", "lisen"),
        ("[server]\nlisten = [\"127.0.0.1:53\", \"nowhere\"]\n", "server.listen[1]"),
        ("[server]\nthreads = \"many\"\n", "server.threads"),
        ("[server]\nudp-payload = 100000\n", "server.udp-payload"),
        ("[cookies]\nsecret = \"abc\"\n", "cookies.secret"),
        ("[[zone]]\nname = \"a.test.\"\nallow-transfer = [\"not-an-ip\"]\n", "zone[0].allow-transfer[0]"),
        ("[logging]\nlevel = \"info\"\n", "logging"),
        ("version = 7\n", "version"),
        // Issue 16: refused naming the key, not an abort allocating 24.8 TB.
        ("[tcp]\nmax-connections = 100000000000\n", "tcp.max-connections: 100000000000 is outside 1..=1048576"),
        ("[rate-limit]\nipv4-prefix = -1\n", "rate-limit.ipv4-prefix: -1 is outside 0..=32"),
        // Issue 21: dnstap on without a collector, a queue out of range, a bad address.
        ("[dnstap]\nenabled = true\n", "dnstap.enabled: dnstap needs socket-path or tcp-address"),
        ("[dnstap]\nqueue-kib = 1\n", "dnstap.queue-kib: 1 is outside 16..=65536"),
        ("[dnstap]\ntcp-address = \"localhost\"\n", "dnstap.tcp-address"),
        // EDNS padding is on or off: anything else is refused.
        ("[tls]\npadding = 468\n", "tls.padding"),
    ] {
        let out = serve_config(cfg);
        let t = text(&out);
        assert_eq!(out.status.code(), Some(2), "{cfg}: {t}");
        assert!(t.contains("configuration error") && t.contains(key), "{cfg}: {t}");
    }
    let out = levee().args(["serve", "--listen", "127.0.0.1:notaport"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("--listen"), "{}", text(&out));
    let out = levee().args(["serve", "--allow-transfer", "example.com"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("--allow-transfer"), "{}", text(&out));
}

/// Issue 23: `[gate]` keys are checked like every other; a server with
/// the gate on refuses to start, saying why, while the gate's loader is
/// not part of the build (`gate::open_gate`); the same with `--gate`.
#[test]
fn the_flood_gate_refuses_bad_keys_and_needs_its_privileges() {
    for (cfg, key) in [
        ("[gate]\nhold = 0\n", "gate.hold: 0 is outside 1..=86400"),
        ("[gate]\ntrusted = [\"10.0.0.0/99\"]\n", "gate.trusted[0]"),
        ("[gate]\nnx-budget = 3\n", "nx-budget"),
    ] {
        let out = serve_config(cfg);
        let t = text(&out);
        assert_eq!(out.status.code(), Some(2), "{cfg}: {t}");
        assert!(t.contains("configuration error") && t.contains(key), "{cfg}: {t}");
    }
    // Without CAP_BPF (as nobody when the tests run as root) the start is
    // refused, naming what is missing. (With them it starts: it::gate.)
    let dir = TempDir::new("gate-flag");
    std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let mut cmd = if levee_io::privs::euid() == 0 {
        let mut c = std::process::Command::new("setpriv");
        c.args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"]).arg(crate::support::levee_bin());
        c
    } else {
        levee()
    };
    let out =
        crate::support::run_bounded(cmd.current_dir(dir.path()).args(["serve", "--listen", "127.0.0.1:0", "--gate"]));
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("flood gate (gate.enabled or --gate)") && t.contains("CAP_BPF and CAP_NET_ADMIN"), "{t}");
}

#[test]
fn missing_zones_dir_is_an_error() {
    let out =
        levee().args(["serve", "--listen", "127.0.0.1:0", "--zones-dir", "/nonexistent/levee-zones"]).output().unwrap();
    assert_ne!(out.status.code(), Some(0));
    assert!(text(&out).contains("/nonexistent/levee-zones"), "{}", text(&out));
}

#[test]
fn version_flag() {
    let out = levee().arg("--version").output().unwrap();
    assert!(out.status.success());
    assert!(text(&out).starts_with("levee "));
}

#[test]
fn the_example_configuration_is_valid() {
    let c = levee_config::Config::from_file(&repo().join("examples/levee.toml")).expect("examples/levee.toml parses");
    assert_eq!(c.listen.len(), 2);
    assert!(c.zones_dir.as_ref().unwrap().ends_with("examples/zones"));
    assert_eq!(c.zones[0].name, "example.com.");
}

/// The records of a zone as (owner lowercased, type, TTL, RDATA), sorted.
fn records(path: &std::path::Path, origin: &str) -> Vec<(Vec<u8>, u16, u32, Vec<u8>)> {
    let o = levee_wire::name::from_text(origin, None).unwrap();
    let built = levee_zone::load_file(path, &o).unwrap_or_else(|d| panic!("{d:?}"));
    let z = &built.zone;
    let mut v = Vec::new();
    for (owner, rs) in z.all_rrsets() {
        let s = z.rrset(rs);
        for rd in z.rdatas(rs) {
            v.push((owner.to_vec(), s.rtype, s.ttl(), rd.to_vec()));
        }
    }
    v.sort();
    v
}

#[test]
fn zone_features_read_like_bind() {
    let dir = repo().join("tests/zone-parsing");
    let ours = records(&dir.join("features.zone"), "features.test.");
    let bind = records(&dir.join("features.bind.txt"), "features.test.");
    assert!(ours.len() >= 30, "only {} records", ours.len());
    let show = |v: &[(Vec<u8>, u16, u32, Vec<u8>)]| {
        v.iter()
            .map(|(o, t, ttl, rd)| levee_zone::zonefile::record_to_text(o, *ttl, 1, *t, rd))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(show(&ours), show(&bind));
}
