//! Issue 22: what the Debian package ships, checked against the binary.
//!
//! * the manual pages and completions `levee gen-docs` writes list every
//!   subcommand and option `levee --help` shows, and every key of the
//!   configuration schema (whose table a levee-config test keeps equal to
//!   the keys the reader accepts);
//! * `levee migrate`: Knot and NSD configurations converted into a
//!   levee.toml that serves the same zones with the same transfer ACL;
//!   unreadable input refused naming the line; the output's mode.
//!
//! The conversion of the project's own Knot/NSD configurations (interop,
//! conformance, bench, attack) and the conformance suite against levee
//! started from a converted knot.conf are tests/migrate/run.sh (CI).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use levee_wire::header::rcode;
use levee_wire::rtype::t;

use crate::support::{levee, parse, query, repo, tcp, udp, Server, TempDir};

fn stdout(args: &[&str]) -> String {
    let o = levee().args(args).output().unwrap();
    assert!(o.status.success(), "levee {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

/// The subcommands `levee --help` lists (without `help`).
fn subcommands() -> Vec<String> {
    let help = stdout(&["--help"]);
    let list = help.split("Commands:\n").nth(1).unwrap().split("\n\n").next().unwrap();
    list.lines().map(|l| l.split_whitespace().next().unwrap().to_string()).filter(|c| c != "help").collect()
}

/// The long options `levee SUB --help` shows.
fn options(sub: &str) -> Vec<String> {
    let help = stdout(&[sub, "--help"]);
    let opts = help.split("Options:\n").nth(1).unwrap();
    let mut v: Vec<String> = opts
        .split(|c: char| c.is_whitespace() || c == ',' || c == '[' || c == '=')
        .filter(|w| w.starts_with("--") && w.len() > 2)
        .map(|w| w.trim_end_matches(|c: char| !c.is_ascii_alphanumeric()).to_string())
        .collect();
    v.dedup();
    v
}

fn roff(s: &str) -> String {
    s.replace('-', "\\-")
}

#[test]
fn manual_pages_and_completions_list_every_subcommand_option_and_key() {
    let dir = TempDir::new("gendocs");
    stdout(&["gen-docs", dir.path().to_str().unwrap()]);
    let read = |p: &str| std::fs::read_to_string(dir.path().join(p)).unwrap_or_else(|e| panic!("{p}: {e}"));
    let top = read("man/levee.8");
    let bash = read("completions/levee.bash");
    let zsh = read("completions/_levee");
    let subs = subcommands();
    assert!(subs.len() >= 5 && subs.contains(&"migrate".to_string()), "{subs:?}");
    assert!(!subs.contains(&"gen-docs".to_string()), "gen-docs is hidden");
    for sub in &subs {
        assert!(top.contains(&roff(&format!("levee-{sub}"))), "levee(8) lacks {sub}");
        let page = read(&format!("man/levee-{sub}.8"));
        let opts = options(sub);
        assert!(!opts.is_empty(), "{sub}: no options found in --help");
        for o in &opts {
            assert!(page.contains(&roff(o)), "levee-{sub}(8) lacks {o}");
            assert!(bash.contains(o.as_str()), "bash completion lacks {sub} {o}");
            assert!(zsh.contains(o.as_str()), "zsh completion lacks {sub} {o}");
        }
        assert!(bash.contains(sub.as_str()) && zsh.contains(sub.as_str()), "completions lack {sub}");
    }
    let conf = read("man/levee.toml.5");
    for s in levee_config::schema::SECTIONS.iter().filter(|s| !s.name.is_empty()) {
        assert!(conf.contains(&roff(s.name)), "levee.toml(5) lacks [{}]", s.name);
    }
    for k in levee_config::schema::KEYS {
        assert!(conf.contains(&format!(".B {}\n", roff(k.name))), "levee.toml(5) lacks {}", k.name);
    }
}

fn write(p: &Path, text: &str) {
    std::fs::write(p, text).unwrap();
}

/// Converts `conf` and starts levee from the result on a free port.
fn migrate_and_serve(kind: &str, conf: &Path, out: &Path) -> Server {
    let o = levee().args(["migrate", kind, conf.to_str().unwrap(), "-o", out.to_str().unwrap()]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mode = std::fs::metadata(out).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the output holds TSIG secrets");
    Server::start(&["--config", out.to_str().unwrap(), "--listen", "127.0.0.1:0"])
}

fn check_served(s: &Server) {
    for (i, zone) in ["example.com.", "example.net."].iter().enumerate() {
        let r = parse(&udp(s.addr, &query(i as u16, zone, t::SOA, None)).expect("an answer"));
        assert_eq!(r.rcode(), rcode::NOERROR, "{zone}: {}", s.log());
        assert_eq!(r.answer.len(), 1, "{zone}");
    }
    // example.com.'s ACL allows 127.0.0.1; example.net. has none.
    let axfr = tcp(s.addr, &query(9, "example.com.", t::AXFR, None), 50);
    assert!(axfr.len() == 1 && parse(&axfr[0]).answer.len() > 2, "AXFR of example.com. allowed");
    let refused = tcp(s.addr, &query(10, "example.net.", t::AXFR, None), 5);
    assert_eq!(parse(&refused[0]).rcode(), rcode::REFUSED, "AXFR of example.net. refused");
}

#[test]
fn a_converted_knot_conf_serves_the_same_zones_with_the_same_acl() {
    let dir = TempDir::new("migrate-knot");
    let zones = repo().join("examples/zones");
    let conf = dir.path().join("knot.conf");
    write(
        &conf,
        &format!(
            "server:\n    rundir: \"{d}\"\n    listen: 127.0.0.1@5353\n\
             database:\n    storage: \"{d}/db\"\n\
             acl:\n  - id: local\n    address: 127.0.0.1\n    action: transfer\n\
             template:\n  - id: default\n    storage: \"{z}\"\n    file: \"%s.zone\"\n    zonefile-sync: -1\n\
             zone:\n  - domain: example.com\n    acl: local\n  - domain: example.net.\n",
            d = dir.path().display(),
            z = zones.display()
        ),
    );
    let s = migrate_and_serve("knot", &conf, &dir.path().join("levee.toml"));
    check_served(&s);
}

#[test]
fn a_converted_nsd_conf_serves_the_same_zones_with_the_same_acl() {
    let dir = TempDir::new("migrate-nsd");
    let zones = repo().join("examples/zones");
    let conf = dir.path().join("nsd.conf");
    write(
        &conf,
        &format!(
            "server:\n    ip-address: 127.0.0.1@5353\n    zonesdir: \"{z}\"\n    pidfile: \"{d}/nsd.pid\"\n    username: \"\"\n\
             remote-control:\n    control-enable: no\n\
             zone:\n    name: example.com\n    zonefile: \"%s.zone\"\n    provide-xfr: 127.0.0.1 NOKEY\n\
             zone:\n    name: \"example.net\"\n    zonefile: \"example.net.zone\"\n",
            d = dir.path().display(),
            z = zones.display()
        ),
    );
    let s = migrate_and_serve("nsd", &conf, &dir.path().join("levee.toml"));
    check_served(&s);
    assert!(s.log().contains("ready"));
}

#[test]
fn migrate_lists_unsupported_settings_and_refuses_what_it_cannot_read() {
    let dir = TempDir::new("migrate-errors");
    let good = dir.path().join("good.conf");
    write(
        &good,
        "server:\n    listen: 127.0.0.1@53\n    tcp-workers: 4\nzone:\n  - domain: a.test\n    dnssec-signing: on\n",
    );
    let o = levee().args(["migrate", "knot", good.to_str().unwrap()]).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("good.conf:3: server.tcp-workers"), "{err}");
    assert!(err.contains("good.conf:6: zone[a.test].dnssec-signing"), "{err}");
    assert!(String::from_utf8_lossy(&o.stdout).contains("#   line 6: zone[a.test].dnssec-signing"));
    for (kind, text, needle) in [
        ("knot", "server:\n    listen: 127.0.0.1@53\ninclude: more.conf\n", "bad.conf: line 3: `include: more.conf`"),
        ("knot", "server:\n    listen: &anchor 127.0.0.1\n", "bad.conf: line 2:"),
        ("nsd", "server:\n    ip-address: 127.0.0.1\nzone:\n    name: x\n    zonefile: %1/x\n", "bad.conf: line 5:"),
        ("nsd", "server\n", "bad.conf: line 1:"),
    ] {
        let bad = dir.path().join("bad.conf");
        write(&bad, text);
        let o = levee().args(["migrate", kind, bad.to_str().unwrap()]).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{text:?}: {err}");
        assert!(err.contains(needle), "{text:?}: {err}");
        assert!(o.stdout.is_empty(), "nothing written for {text:?}");
    }
    // An existing output file is never replaced.
    let out = dir.path().join("levee.toml");
    write(&out, "keep");
    let o = levee().args(["migrate", "knot", good.to_str().unwrap(), "-o", out.to_str().unwrap()]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "keep");
}
