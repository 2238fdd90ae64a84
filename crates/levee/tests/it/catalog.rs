//! Catalog zones (RFC 9432) between levee processes on loopback:
//!
//! * a levee consumer of two catalogs served by a levee primary from
//!   catalog files written here (so each case can be written exactly:
//!   groups, `coo`, a changed unique id, a wrong version): members added,
//!   removed, regrouped (the template's ACL changes), reset, moved by
//!   `coo`, refused when two catalogs claim them, kept when a catalog
//!   version is malformed, and kept across a restart;
//! * a levee producer (`catalog-role = "generate"`) feeding a levee
//!   consumer: a member added, regrouped and removed at the producer (by
//!   restarting it with another configuration) reaches the consumer, and
//!   each member zone's AXFR is the same on both.
//!
//! The interop with Knot (3.2 and 3.4), BIND and NSD 4.12 is tests/catalog/run.sh (CI).

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use levee_wire::header::rcode;
use levee_wire::rtype::t;

use crate::support::{answers, levee, parse, query, tcp, udp, Server, TempDir};

pub(crate) fn sock() -> String {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    format!("/tmp/levee-cat-{}-{}.sock", std::process::id(), N.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
}

pub(crate) fn member_zone(name: &str, serial: u32) -> String {
    format!("$ORIGIN {name}\n$TTL 300\n@ SOA ns1 hostmaster {serial} 3600 600 86400 60\n@ NS ns1\nns1 A 127.0.0.1\nwww TXT \"{name} {serial}\"\n")
}

/// A catalog zone file: `version`, then `lines` relative to the apex.
fn catalog(serial: u32, version: &str, lines: &[&str]) -> String {
    let mut s = format!(
        "$TTL 0\n@ SOA invalid. invalid. {serial} 3600 600 2147483646 0\n@ NS invalid.\nversion TXT \"{version}\"\n"
    );
    for l in lines {
        s.push_str(l);
        s.push('\n');
    }
    s
}

fn ctl(conf: &str, args: &[&str]) -> String {
    let o = levee().arg("ctl").arg("-c").arg(conf).args(args).output().unwrap();
    String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
}

/// The SOA serial `addr` answers for `zone`, or its rcode as an error.
pub(crate) fn soa(addr: SocketAddr, zone: &str) -> Result<u32, u16> {
    let r = parse(&udp(addr, &query(7, zone, t::SOA, Some(false))).ok_or(65535u16)?);
    if u16::from(r.header.rcode()) != rcode::NOERROR {
        return Err(u16::from(r.header.rcode()));
    }
    let rd = &r.answer.first().ok_or(65534u16)?.rdata;
    Ok(u32::from_be_bytes(rd[rd.len() - 20..rd.len() - 16].try_into().unwrap()))
}

pub(crate) fn wait(what: &str, s: &Server, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what}: not seen within 15 s; consumer log:\n{}", s.log());
}

/// The records of an AXFR of `zone` from `addr`, sorted (empty when
/// refused).
pub(crate) fn axfr(addr: SocketAddr, zone: &str) -> Vec<String> {
    let mut v: Vec<String> = tcp(addr, &query(9, zone, t::AXFR, None), 100)
        .iter()
        .map(|m| parse(m))
        .filter(|m| u16::from(m.header.rcode()) == rcode::NOERROR)
        .flat_map(|m| answers(&m))
        .collect();
    v.sort();
    v.dedup();
    v
}

fn write(dir: &Path, file: &str, text: &str) {
    std::fs::write(dir.join(file), text).unwrap();
}

/// The primary: catalogs cat1./cat2.test. and members m1..m4.test.
/// from files, transfers to loopback.
fn primary(dir: &TempDir) -> (Server, String) {
    let mut zones = String::new();
    for z in ["cat1.test.", "cat2.test.", "m1.test.", "m2.test.", "m3.test.", "m4.test."] {
        zones.push_str(&format!("[[zone]]\nname = \"{z}\"\nfile = \"{z}zone\"\nallow-transfer = [\"127.0.0.1\"]\n"));
        if z.starts_with('m') {
            write(dir.path(), &format!("{z}zone"), &member_zone(z, 1));
        }
    }
    let conf = dir.path().join("levee.toml");
    write_conf(&conf, &zones);
    let conf = conf.to_str().unwrap().to_string();
    (Server::start(&["-c", &conf, "--listen", "127.0.0.1:0"]), conf)
}

/// The consumer of cat1 and cat2 (in that order) from `p`; template
/// `gold` allows transfers from loopback, `default` does not.
fn consumer_conf(dir: &TempDir, p: SocketAddr, extra: &str) -> String {
    let conf = dir.path().join("levee.toml");
    let cat = |n: &str| {
        format!(
            "[[zone]]\nname = \"{n}\"\nprimaries = [\"{p}\"]\nallow-notify = [\"127.0.0.1\"]\ncatalog-role = \"interpret\"\ncatalog-template = [\"default\", \"gold\"]\n"
        )
    };
    write_conf(
        &conf,
        &format!(
            "{extra}\n\
             [[catalog-template]]\nname = \"gold\"\nallow-transfer = [\"127.0.0.1\"]\n{}{}",
            cat("cat1.test."),
            cat("cat2.test.")
        ),
    );
    conf.to_str().unwrap().to_string()
}

/// Writes a server's configuration to `path`: one UDP worker, the
/// storage directory `store` beside it, a control socket of its own, then
/// `rest` (templates, zones).
fn write_conf(path: &Path, rest: &str) {
    let head =
        format!("version = 1\n[server]\nthreads = 1\nstorage-dir = \"store\"\ncontrol-socket = \"{}\"\n", sock());
    std::fs::write(path, head + rest).unwrap();
}

fn registry(dir: &TempDir) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.path().join("store/runtime-zones.json")).unwrap_or_default();
    serde_json::from_str(&text).unwrap_or(serde_json::Value::Null)
}

fn owner_of(dir: &TempDir, zone: &str) -> Option<String> {
    let r = registry(dir);
    r["zones"].as_array()?.iter().find(|z| z["name"] == zone).and_then(|z| z["catalog"].as_str().map(String::from))
}

#[test]
fn a_consumer_follows_its_catalogs() {
    let pd = TempDir::new("cat-p");
    write(
        pd.path(),
        "cat1.test.zone",
        &catalog(1, "2", &["a.zones PTR m1.test.", "b.zones PTR m2.test.", "group.b.zones TXT gold"]),
    );
    write(pd.path(), "cat2.test.zone", &catalog(1, "2", &[]));
    let (p, pconf) = primary(&pd);
    let cd = TempDir::new("cat-c");
    let cconf = consumer_conf(&cd, p.addr, "");
    let mut c = Server::start(&["-c", &cconf, "--listen", "127.0.0.1:0"]);
    let refresh = |cat: &str| {
        let out = ctl(&pconf, &["reload"]);
        assert!(!out.contains("error"), "{out}");
        let out = ctl(&cconf, &["refresh", cat]);
        assert!(!out.contains("error"), "{out}");
    };

    // Added: both members transferred; m2 (group gold) may be transferred
    // from loopback, m1 (default template) may not.
    wait("m1 and m2 served", &c, || soa(c.addr, "m1.test.") == Ok(1) && soa(c.addr, "m2.test.") == Ok(1));
    assert_eq!(axfr(c.addr, "m2.test."), axfr(p.addr, "m2.test."));
    assert!(!axfr(p.addr, "m2.test.").is_empty());
    assert!(axfr(c.addr, "m1.test.").is_empty(), "default template: no transfers");
    let status = ctl(&cconf, &["zone-status", "m1.test."]);
    assert!(status.contains("role=secondary") && status.contains("runtime=catalog:cat1.test."), "{status}");
    assert_eq!(owner_of(&cd, "m1.test.").as_deref(), Some("cat1.test."));
    let stored_m1 = cd.path().join("store/m1.test.zone");
    wait("m1 stored", &c, || stored_m1.exists());

    // Removed (m1), regrouped (m2 to no group: default), added (m3).
    write(pd.path(), "cat1.test.zone", &catalog(2, "2", &["b.zones PTR m2.test.", "c.zones PTR m3.test."]));
    refresh("cat1.test.");
    wait("m3 served, m1 gone", &c, || {
        soa(c.addr, "m3.test.") == Ok(1) && soa(c.addr, "m1.test.") == Err(rcode::REFUSED)
    });
    wait("m2 regrouped", &c, || axfr(c.addr, "m2.test.").is_empty());
    assert_eq!(soa(c.addr, "m2.test."), Ok(1), "a regrouped member keeps serving");
    wait("m1's stored copy removed", &c, || !stored_m1.exists());
    // The registry and the stored copies are written by different
    // threads: either may land first.
    wait("m1 gone from the registry", &c, || owner_of(&cd, "m1.test.").is_none());

    // Reset: m3 under a new unique id is dropped and transferred anew.
    write(pd.path(), "m3.test.zone", &member_zone("m3.test.", 2));
    write(pd.path(), "cat1.test.zone", &catalog(3, "2", &["b.zones PTR m2.test.", "c2.zones PTR m3.test."]));
    refresh("cat1.test.");
    wait("m3 reset", &c, || c.log().contains("runtime zone reset") && soa(c.addr, "m3.test.") == Ok(2));

    // Two catalogs claim m2: the first keeps it, until its coo names cat2.
    write(pd.path(), "cat2.test.zone", &catalog(2, "2", &["z.zones PTR m2.test.", "y.zones PTR m4.test."]));
    refresh("cat2.test.");
    wait("m4 from cat2", &c, || soa(c.addr, "m4.test.") == Ok(1));
    wait("conflict logged", &c, || c.log().contains("zone claimed by two catalogs"));
    assert_eq!(owner_of(&cd, "m2.test.").as_deref(), Some("cat1.test."));
    write(
        pd.path(),
        "cat1.test.zone",
        &catalog(4, "2", &["b.zones PTR m2.test.", "coo.b.zones PTR cat2.test.", "c2.zones PTR m3.test."]),
    );
    refresh("cat1.test.");
    wait("m2 moved by coo", &c, || owner_of(&cd, "m2.test.").as_deref() == Some("cat2.test."));
    assert_eq!(soa(c.addr, "m2.test."), Ok(1), "a moved member keeps serving");

    // Malformed versions change nothing: the members in force stay.
    for (serial, bad) in [
        (5, catalog(5, "1", &["c2.zones PTR m3.test."])),
        (6, catalog(6, "2", &["c2.zones PTR m3.test.", "d.zones PTR m1.test.", "e.zones PTR m1.test."])),
    ] {
        write(pd.path(), "cat1.test.zone", &bad);
        refresh("cat1.test.");
        wait("the catalog transferred", &c, || soa(c.addr, "cat1.test.") == Ok(serial));
        wait("the version refused", &c, || c.log().matches("catalog version refused").count() == (serial - 4) as usize);
        assert_eq!(soa(c.addr, "m3.test."), Ok(2));
        assert_eq!(soa(c.addr, "m1.test."), Err(rcode::REFUSED), "not added from a refused version");
    }

    // A restart keeps every member (served from storage at once).
    c.stop();
    drop(p); // no primary: what is served comes from storage
    let c = Server::start(&["-c", &cconf, "--listen", "127.0.0.1:0"]);
    assert!(c.log().contains("runtime zones restored"), "{}", c.log());
    for (z, s) in [("m2.test.", 1), ("m3.test.", 2), ("m4.test.", 1)] {
        assert_eq!(soa(c.addr, z), Ok(s), "{z} after the restart; log:\n{}", c.log());
    }

    // cat2 taken out of the configuration: its members go with it.
    let mut c = c;
    c.stop();
    let text = std::fs::read_to_string(&cconf).unwrap();
    let cut = text.find("[[zone]]\nname = \"cat2.test.\"").unwrap();
    std::fs::write(&cconf, &text[..cut]).unwrap();
    let c = Server::start(&["-c", &cconf, "--listen", "127.0.0.1:0"]);
    wait("cat2's members removed", &c, || {
        soa(c.addr, "m4.test.") == Err(rcode::REFUSED) && soa(c.addr, "m2.test.") == Err(rcode::REFUSED)
    });
    wait("cat2's members out of the registry", &c, || {
        owner_of(&cd, "m4.test.").is_none() && owner_of(&cd, "m2.test.").is_none()
    });
    assert!(c.log().contains("catalog no longer configured"), "{}", c.log());
    assert!(!c.log().contains("zone=m3.test. path"), "a runtime zone's file is not reported as unconfigured");
    assert_eq!(soa(c.addr, "m3.test."), Ok(2), "cat1's member stays");
    assert_eq!(owner_of(&cd, "m3.test.").as_deref(), Some("cat1.test."));
}

#[test]
fn a_configured_zone_wins_the_bound_holds_and_a_damaged_registry_stops_the_start() {
    let pd = TempDir::new("cat-p2");
    write(pd.path(), "cat1.test.zone", &catalog(1, "2", &["a.zones PTR m1.test.", "b.zones PTR m2.test."]));
    write(pd.path(), "cat2.test.zone", &catalog(1, "2", &["c.zones PTR m3.test."]));
    let (p, _) = primary(&pd);
    let cd = TempDir::new("cat-c2");
    write(cd.path(), "m1.test.zone", &member_zone("m1.test.", 77));
    let cconf = consumer_conf(&cd, p.addr, "[[zone]]\nname = \"m1.test.\"\nfile = \"m1.test.zone\"\n");
    // At most one runtime zone: of m2 (cat1) and m3 (cat2), one is refused.
    let text = std::fs::read_to_string(&cconf).unwrap();
    std::fs::write(&cconf, text.replacen("threads = 1\n", "threads = 1\nmax-runtime-zones = 1\n", 1)).unwrap();
    let mut c = Server::start(&["-c", &cconf, "--listen", "127.0.0.1:0"]);
    wait("the bound reached", &c, || c.log().contains("server.max-runtime-zones (1) reached"));
    wait("m1 refused from the catalog", &c, || c.log().contains("a configured zone wins"));
    assert_eq!(soa(c.addr, "m1.test."), Ok(77), "the configured m1 is served");
    assert!(owner_of(&cd, "m1.test.").is_none());
    wait("one member served", &c, || (soa(c.addr, "m2.test.") == Ok(1)) != (soa(c.addr, "m3.test.") == Ok(1)));
    assert_eq!(registry(&cd)["zones"].as_array().map(Vec::len), Some(1), "one runtime zone");
    c.stop();
    let reg = cd.path().join("store/runtime-zones.json");
    let text = std::fs::read_to_string(&reg).unwrap();
    std::fs::write(&reg, &text[..text.len() / 2]).unwrap();
    let o = crate::support::run_bounded(levee().args(["serve", "-c", &cconf, "--listen", "127.0.0.1:0"]));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("runtime-zones.json") && err.contains("damaged"), "{err}");
}

/// The producer's configuration: members m1 (group gold) and m2, or
/// what `members` says, in catalog out.test.
fn producer_conf(dir: &TempDir, members: &[(&str, Option<&str>)]) -> String {
    let mut zones =
        String::from("[[zone]]\nname = \"out.test.\"\ncatalog-role = \"generate\"\nallow-transfer = [\"127.0.0.1\"]\n");
    for (z, g) in members {
        write(dir.path(), &format!("{z}zone"), &member_zone(z, 1));
        zones.push_str(&format!(
            "[[zone]]\nname = \"{z}\"\nfile = \"{z}zone\"\nallow-transfer = [\"127.0.0.1\"]\ncatalog-zone = \"out.test.\"\n"
        ));
        if let Some(g) = g {
            zones.push_str(&format!("catalog-group = \"{g}\"\n"));
        }
    }
    let conf = dir.path().join("levee.toml");
    write_conf(&conf, &zones);
    conf.to_str().unwrap().to_string()
}

#[test]
fn a_levee_producer_feeds_a_levee_consumer() {
    let pd = TempDir::new("cat-prod");
    let pconf = producer_conf(&pd, &[("m1.test.", Some("gold")), ("m2.test.", None)]);
    let mut p = Server::start(&["-c", &pconf, "--listen", "127.0.0.1:0"]);
    let s1 = soa(p.addr, "out.test.").expect("the produced catalog is served");
    let cat = axfr(p.addr, "out.test.");
    assert!(cat.iter().any(|r| r.contains("version.out.test. TXT \"2\"")), "{cat:?}");
    assert!(cat.iter().any(|r| r.contains("TXT \"gold\"")), "{cat:?}");

    let cd = TempDir::new("cat-cons");
    let conf = cd.path().join("levee.toml");
    let pa = p.addr;
    let write_consumer = |pa: SocketAddr| {
        write_conf(&conf, &format!("\
                 [[catalog-template]]\nname = \"gold\"\nallow-transfer = [\"127.0.0.1\"]\n\
                 [[zone]]\nname = \"out.test.\"\nprimaries = [\"{pa}\"]\ncatalog-role = \"interpret\"\ncatalog-template = [\"default\", \"gold\"]\n"));
    };
    write_consumer(pa);
    let cconf = conf.to_str().unwrap().to_string();
    let c = Server::start(&["-c", &cconf, "--listen", "127.0.0.1:0"]);
    wait("m1 and m2", &c, || soa(c.addr, "m1.test.") == Ok(1) && soa(c.addr, "m2.test.") == Ok(1));
    assert_eq!(axfr(c.addr, "m1.test."), axfr(p.addr, "m1.test."), "gold: transferable, equal");
    assert!(axfr(c.addr, "m2.test.").is_empty(), "default template");

    // Same members after a restart: same serial. Then m1 regrouped, m2
    // removed, m3 added: the serial moves and the consumer follows.
    p.stop();
    let mut p = Server::start(&["-c", &pconf, "--listen", &pa.to_string()]);
    assert_eq!(soa(p.addr, "out.test."), Ok(s1), "the serial survives a restart with the same members");
    p.stop();
    let pconf = producer_conf(&pd, &[("m1.test.", None), ("m3.test.", Some("gold"))]);
    let p = Server::start(&["-c", &pconf, "--listen", &pa.to_string()]);
    assert_eq!(soa(p.addr, "out.test."), Ok(s1.wrapping_add(1)));
    let out = ctl(&cconf, &["refresh", "out.test."]);
    assert!(!out.contains("error"), "{out}");
    wait("m3 added, m2 removed", &c, || {
        soa(c.addr, "m3.test.") == Ok(1) && soa(c.addr, "m2.test.") == Err(rcode::REFUSED)
    });
    wait("m1 regrouped", &c, || axfr(c.addr, "m1.test.").is_empty());
    assert_eq!(axfr(c.addr, "m3.test."), axfr(p.addr, "m3.test."));
    assert!(!axfr(c.addr, "m3.test.").is_empty());
    // The catalog itself transfers to the consumer unchanged.
    assert_eq!(soa(c.addr, "out.test."), Ok(s1.wrapping_add(1)));
}

/// The registry's other caller today: `levee ctl zone-add` and
/// `zone-remove` (a runtime secondary zone, kept across restarts).
#[test]
fn levee_ctl_adds_and_removes_runtime_zones() {
    let pd = TempDir::new("cat-p3");
    write(pd.path(), "cat1.test.zone", &catalog(1, "2", &[]));
    write(pd.path(), "cat2.test.zone", &catalog(1, "2", &[]));
    let (p, _) = primary(&pd);
    let nd = TempDir::new("cat-n");
    write(nd.path(), "conf.test.zone", &member_zone("conf.test.", 5));
    let conf = nd.path().join("levee.toml");
    write_conf(
        &conf,
        &format!(
            "\
             [[zone]]\nname = \"conf.test.\"\nfile = \"conf.test.zone\"\n"
        ),
    );
    let conf = conf.to_str().unwrap().to_string();
    let mut n = Server::start(&["-c", &conf, "--listen", "127.0.0.1:0"]);
    let out = ctl(&conf, &["zone-add", "M1.test.", &p.addr.to_string()]);
    assert!(out.contains("zone-add done"), "{out}");
    wait("m1 transferred", &n, || soa(n.addr, "m1.test.") == Ok(1));
    let status = ctl(&conf, &["zone-status", "m1.test."]);
    assert!(status.contains("role=secondary") && status.contains("runtime=secondary"), "{status}");
    for (args, why) in [
        (vec!["zone-add", "conf.test.", "127.0.0.1:53"], "configuration"),
        (vec!["zone-add", "m1.test.", "127.0.0.1:53"], "runtime zone already"),
        (vec!["zone-add", "x.test.", "not-an-address"], "primaries[0]"),
        (vec!["zone-add", "x.test.", "127.0.0.1:53", "key", "nokey"], "primaries[0]"),
        (vec!["zone-remove", "conf.test."], "not a runtime zone"),
    ] {
        let out = ctl(&conf, &args);
        assert!(out.contains("error") && out.contains(why), "{args:?}: {out}");
    }
    assert_eq!(soa(n.addr, "conf.test."), Ok(5), "the configured zone is untouched");

    // Kept across a restart, served from storage (the primary gone).
    let stored = nd.path().join("store/m1.test.zone");
    wait("m1 stored", &n, || stored.exists());
    n.stop();
    drop(p);
    let n = Server::start(&["-c", &conf, "--listen", "127.0.0.1:0"]);
    assert_eq!(soa(n.addr, "m1.test."), Ok(1), "{}", n.log());
    let out = ctl(&conf, &["zone-remove", "m1.test."]);
    assert!(out.contains("zone-remove done"), "{out}");
    assert_eq!(soa(n.addr, "m1.test."), Err(rcode::REFUSED));
    wait("m1's stored copy removed", &n, || !stored.exists());
    assert!(registry(&nd)["zones"].as_array().is_some_and(Vec::is_empty));
}

/// The serial of the SOA in a NOTIFY's answer section, if it is one for
/// `zone`.
fn notify_serial(m: &[u8], zone: &str) -> Option<u32> {
    let msg = levee_wire::message::Message::parse(m).ok()?;
    let q = msg.question.first()?;
    if levee_wire::name::to_text(&q.name).to_lowercase() != zone || msg.header.opcode() != 4 {
        return None;
    }
    let rd = &msg.answer.first()?.rdata;
    Some(u32::from_be_bytes(rd[rd.len() - 20..rd.len() - 16].try_into().ok()?))
}

/// A runtime zone added with a produced catalog: the catalog's serial
/// moves, the member is listed, NOTIFY goes out; removing it moves the
/// serial again; the serial survives a restart.
#[test]
fn runtime_members_change_a_produced_catalog() {
    let pd = TempDir::new("cat-p4");
    write(pd.path(), "cat1.test.zone", &catalog(1, "2", &[]));
    write(pd.path(), "cat2.test.zone", &catalog(1, "2", &[]));
    let (q, _) = primary(&pd);
    let listener = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    listener.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    let nd = TempDir::new("cat-prod2");
    let conf = nd.path().join("levee.toml");
    write_conf(&conf, &format!("\
             [[zone]]\nname = \"out.test.\"\ncatalog-role = \"generate\"\nallow-transfer = [\"127.0.0.1\"]\nnotify = [\"{}\"]\n", listener.local_addr().unwrap()));
    let conf = conf.to_str().unwrap().to_string();
    let mut p = Server::start(&["-c", &conf, "--listen", "127.0.0.1:0"]);
    let s1 = soa(p.addr, "out.test.").expect("the catalog is served");
    let notified = |serial: u32| {
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut buf = [0u8; 2048];
        while Instant::now() < deadline {
            if let Ok((n, _)) = listener.recv_from(&mut buf) {
                if notify_serial(&buf[..n], "out.test.") == Some(serial) {
                    return true;
                }
            }
        }
        false
    };

    let out = ctl(&conf, &["zone-add", "m1.test.", &q.addr.to_string(), "catalog", "out.test.", "group", "g7"]);
    assert!(out.contains("zone-add done"), "{out}");
    assert_eq!(soa(p.addr, "out.test."), Ok(s1.wrapping_add(1)), "the serial moves with the membership");
    let cat = axfr(p.addr, "out.test.");
    assert!(cat.iter().any(|r| r.ends_with("PTR m1.test.")), "{cat:?}");
    assert!(cat.iter().any(|r| r.ends_with("TXT \"g7\"")), "{cat:?}");
    assert!(notified(s1.wrapping_add(1)), "NOTIFY for the new serial; log:\n{}", p.log());
    wait("m1 transferred", &p, || soa(p.addr, "m1.test.") == Ok(1));

    let out = ctl(&conf, &["zone-add", "x.test.", &q.addr.to_string(), "catalog", "nowhere.test."]);
    assert!(out.contains("error") && out.contains("generate"), "{out}");
    let out = ctl(&conf, &["zone-remove", "m1.test."]);
    assert!(out.contains("zone-remove done"), "{out}");
    assert_eq!(soa(p.addr, "out.test."), Ok(s1.wrapping_add(2)));
    assert!(!axfr(p.addr, "out.test.").iter().any(|r| r.contains("m1.test.")));
    assert!(notified(s1.wrapping_add(2)), "NOTIFY for the removal");

    p.stop();
    let p = Server::start(&["-c", &conf, "--listen", "127.0.0.1:0"]);
    assert_eq!(soa(p.addr, "out.test."), Ok(s1.wrapping_add(2)), "the serial survives a restart");
}

/// A runtime primary zone from zone text (what the REST API will use):
/// served with its ACL, refused with FILE:LINE when the text is broken,
/// kept by a reload and a restart, removed with its file.
#[test]
fn levee_ctl_adds_a_runtime_primary_zone() {
    let nd = TempDir::new("cat-prim");
    write(nd.path(), "conf.test.zone", &member_zone("conf.test.", 5));
    write(nd.path(), "p1.text", &member_zone("p1.test.", 9));
    write(nd.path(), "broken.text", "$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 60\nwww A not-an-address\n");
    let conf = nd.path().join("levee.toml");
    write_conf(
        &conf,
        &format!(
            "\
             [[zone]]\nname = \"conf.test.\"\nfile = \"conf.test.zone\"\n"
        ),
    );
    let conf = conf.to_str().unwrap().to_string();
    let mut n = Server::start(&["-c", &conf, "--listen", "127.0.0.1:0"]);
    let text = nd.path().join("p1.text");
    let out = ctl(&conf, &["zone-add-primary", "p1.test.", text.to_str().unwrap(), "allow-transfer", "127.0.0.1"]);
    assert!(out.contains("zone-add-primary done"), "{out}");
    assert_eq!(soa(n.addr, "p1.test."), Ok(9));
    let recs = axfr(n.addr, "p1.test.");
    assert!(recs.iter().any(|r| r.contains("TXT \"p1.test. 9\"")), "{recs:?}");
    let status = ctl(&conf, &["zone-status", "p1.test."]);
    assert!(status.contains("role=primary"), "{status}");

    let broken = nd.path().join("broken.text");
    let out = ctl(&conf, &["zone-add-primary", "b.test.", broken.to_str().unwrap()]);
    assert!(out.contains("error") && out.contains("b.test.:3:"), "{out}");
    assert_eq!(soa(n.addr, "b.test."), Err(rcode::REFUSED), "nothing served");
    assert!(!nd.path().join("store/b.test.primary").exists(), "nothing written");
    let out = ctl(&conf, &["zone-add-primary", "c.test.", "relative.zone"]);
    assert!(out.contains("absolute"), "{out}");

    let out = ctl(&conf, &["reload"]);
    assert!(!out.contains("error"), "{out}");
    assert_eq!(soa(n.addr, "p1.test."), Ok(9), "a reload keeps it");
    n.stop();
    std::fs::remove_file(&text).unwrap(); // served from levee's own copy
    let n = Server::start(&["-c", &conf, "--listen", "127.0.0.1:0"]);
    assert_eq!(soa(n.addr, "p1.test."), Ok(9), "a restart keeps it; log:\n{}", n.log());
    let out = ctl(&conf, &["zone-remove", "p1.test."]);
    assert!(out.contains("zone-remove done"), "{out}");
    assert_eq!(soa(n.addr, "p1.test."), Err(rcode::REFUSED));
    assert!(!nd.path().join("store/p1.test.primary").exists());
}

/// Many members received at once (`zones::publish::coalesced`): every
/// one ends up served with its data, none is lost when their
/// publications are coalesced, and a member once served stays served
/// while the others arrive (readers meanwhile never see a set missing
/// one); then a quarter of them removed go, the rest stay.
#[test]
fn many_members_received_at_once_are_all_served_and_none_is_lost() {
    const N: usize = 400;
    let pd = TempDir::new("cat-many-p");
    let names: Vec<String> = (0..N).map(|i| format!("z{i}.many.test.")).collect();
    let lines: Vec<String> = names.iter().enumerate().map(|(i, n)| format!("m{i}.zones PTR {n}")).collect();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    write(pd.path(), "big.test.zone", &catalog(1, "2", &refs));
    let mut zones =
        String::from("[[zone]]\nname = \"big.test.\"\nfile = \"big.test.zone\"\nallow-transfer = [\"127.0.0.1\"]\n");
    for n in &names {
        write(pd.path(), &format!("{n}zone"), &member_zone(n, 1));
        zones.push_str(&format!("[[zone]]\nname = \"{n}\"\nfile = \"{n}zone\"\nallow-transfer = [\"127.0.0.1\"]\n"));
    }
    let pconf = pd.path().join("levee.toml");
    std::fs::write(&pconf, format!("version = 1\n[server]\nthreads = 1\ncontrol-socket = \"{}\"\n{zones}", sock()))
        .unwrap();
    let p = Server::start(&["-c", pconf.to_str().unwrap(), "--listen", "127.0.0.1:0"]);
    let cd = TempDir::new("cat-many-c");
    let cconf = cd.path().join("levee.toml");
    write_conf(
        &cconf,
        &format!(
            "\
             [[zone]]\nname = \"big.test.\"\nprimaries = [\"{}\"]\ncatalog-role = \"interpret\"\n",
            p.addr
        ),
    );
    let cconf = cconf.to_str().unwrap().to_string();
    let c = Server::start(&["-c", &cconf, "--listen", "127.0.0.1:0"]);

    // A reader: a member seen served must stay served, with its data.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (stop, names, addr) = (std::sync::Arc::clone(&stop), names.clone(), c.addr);
        std::thread::spawn(move || {
            let mut served = vec![false; names.len()];
            let mut lost = Vec::new();
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                i = (i + 7) % names.len();
                match soa(addr, &names[i]) {
                    Ok(1) => served[i] = true,
                    other if served[i] => lost.push(format!("{}: {other:?} after it was served", names[i])),
                    _ => {}
                }
            }
            lost
        })
    };
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut missing: Vec<&String> = names.iter().collect();
    while !missing.is_empty() && Instant::now() < deadline {
        missing.retain(|n| soa(c.addr, n) != Ok(1));
        std::thread::sleep(Duration::from_millis(100));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let lost = reader.join().unwrap();
    assert!(
        missing.is_empty(),
        "{} of {N} members never served, e.g. {:?}; log:\n{}",
        missing.len(),
        &missing[..missing.len().min(5)],
        c.log()
    );
    assert!(lost.is_empty(), "members lost while others arrived: {lost:?}");
    assert_eq!(axfr(c.addr, &names[N - 1]), Vec::<String>::new(), "default template: no transfers out");

    // A quarter removed: they go, the others stay.
    let keep = &refs[..N * 3 / 4];
    write(pd.path(), "big.test.zone", &catalog(2, "2", keep));
    assert!(!ctl(pconf.to_str().unwrap(), &["reload"]).contains("error"));
    assert!(!ctl(&cconf, &["refresh", "big.test."]).contains("error"));
    wait("the removed quarter gone", &c, || names[N * 3 / 4..].iter().all(|n| soa(c.addr, n) == Err(rcode::REFUSED)));
    for n in &names[..N * 3 / 4] {
        assert_eq!(soa(c.addr, n), Ok(1), "{n} kept");
    }
}
