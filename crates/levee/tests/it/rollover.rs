//! Issue 18: KSK and CSK rollovers on a short clock (TTLs of 2 s, a 1 s
//! propagation delay, a 10 s key lifetime), with a second levee as the
//! parent: the test plays the registry, copying the child's CDS into the
//! parent's DS when it appears, and the child's parent check
//! (`parent-ds-check`) sees it there. Every version of the child's zone
//! met on the way passes BIND's `dnssec-verify` and ldns's
//! `ldns-verify-zone`; the rollover waits while the parent lacks the new
//! DS, survives a restart in that wait, and ends with the new key alone.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::sign::{axfr, rrsigs, tool, verify, ZONE};
use crate::support::{levee, Server, TempDir};

/// The parent zone `test.`, delegating `sign.test.` with these DS RDATAs.
fn parent_zone(serial: u32, ds: &[String]) -> String {
    let mut z = format!(
        "$ORIGIN test.\n$TTL 2\n@ SOA ns.test. h.test. {serial} 60 60 600 2\n@ NS ns\nns A 192.0.2.53\n\
         sign NS ns1.sign\nns1.sign A 192.0.2.1\n"
    );
    for d in ds {
        z.push_str(&format!("sign DS {d}\n"));
    }
    z
}

/// The RDATA fields of the records of `rtype` at sign.test. in an AXFR.
fn rdatas(a: &str, rtype: &str) -> Vec<Vec<String>> {
    a.lines()
        .map(|l| l.split_whitespace().map(String::from).collect::<Vec<_>>())
        .filter(|f| f.len() > 4 && f[0].eq_ignore_ascii_case("sign.test.") && f[3] == rtype)
        .map(|f| f[4..].to_vec())
        .collect()
}

/// DS (or CDS) RDATA fields in one form: the digest in one upper-case
/// word.
fn ds_text(f: &[String]) -> String {
    format!("{} {} {} {}", f[0], f[1], f[2], f[3..].concat().to_uppercase())
}

/// DNSKEY (or CDNSKEY) RDATA fields in one form: the key in one word.
fn key_text(f: &[String]) -> String {
    format!("{} {} {} {}", f[0], f[1], f[2], f[3..].concat())
}

/// The DS (SHA-256) of a DNSKEY RDATA, by BIND's `dnssec-dsfromkey`
/// (once per key: the tests poll, and the machine is shared).
fn ds_of(dir: &Path, dnskey: &str) -> String {
    static SEEN: std::sync::Mutex<Option<std::collections::HashMap<String, String>>> = std::sync::Mutex::new(None);
    if let Some(ds) = SEEN.lock().unwrap().get_or_insert_with(Default::default).get(dnskey) {
        return ds.clone();
    }
    let ds = ds_by_bind(dir, dnskey);
    SEEN.lock().unwrap().get_or_insert_with(Default::default).insert(dnskey.to_string(), ds.clone());
    ds
}

fn ds_by_bind(dir: &Path, dnskey: &str) -> String {
    let f = dir.join("dnskey.txt");
    std::fs::write(&f, format!("sign.test. 3600 IN DNSKEY {dnskey}\n")).unwrap();
    let o = tool("dnssec-dsfromkey").args(["-2", "-f"]).arg(&f).arg("sign.test.").output().unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    let fields: Vec<String> = text.split_whitespace().map(String::from).collect();
    let at = fields.iter().position(|w| w == "DS").unwrap_or_else(|| panic!("dnssec-dsfromkey: {text}"));
    ds_text(&fields[at + 1..])
}

/// What the test follows in the child's zone.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Phase {
    /// The KSKs (CSKs) published: their DS.
    ksks: BTreeSet<String>,
    /// The CDS records.
    cds: BTreeSet<String>,
    /// Key tags signing the DNSKEY RRset and the SOA.
    dnskey_signers: BTreeSet<String>,
    soa_signers: BTreeSet<String>,
}

fn phase(dir: &Path, a: &str) -> Phase {
    let signers = |rtype: &str| -> BTreeSet<String> {
        rrsigs(a, "sign.test.", rtype).iter().filter_map(|l| l.split_whitespace().nth(6).map(String::from)).collect()
    };
    Phase {
        ksks: rdatas(a, "DNSKEY").iter().filter(|f| f[0] == "257").map(|f| ds_of(dir, &key_text(f))).collect(),
        cds: rdatas(a, "CDS").iter().map(|f| ds_text(f)).collect(),
        dnskey_signers: signers("DNSKEY"),
        soa_signers: signers("SOA"),
    }
}

fn tag(ds: &str) -> String {
    ds.split_whitespace().next().unwrap().to_string()
}

/// The child's config: sign.test. from `zone` signed by a policy of
/// `settings` and short timers, the parent check asking `parent`.
fn child_config(dir: &Path, zone: &Path, parent: std::net::SocketAddr, settings: &str) -> String {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let sock =
        format!("/tmp/levee-it-r{}-{}.sock", std::process::id(), N.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    let conf = dir.join("levee.toml");
    let text = format!(
        "[server]\nthreads = 1\nstorage-dir = \"{}\"\ncontrol-socket = \"{sock}\"\n\
         [[dnssec-policy]]\nname = \"roll\"\n{settings}\npropagation-delay = 1\n\
         ds-ttl = 2\nparent-ds-check = [\"{parent}\"]\nds-check-interval = 1\n\
         [[zone]]\nname = \"sign.test.\"\nfile = \"{}\"\nallow-transfer = [\"127.0.0.1\"]\n\
         dnssec-signing = true\ndnssec-policy = \"roll\"\n",
        dir.join("store").display(),
        zone.display()
    );
    std::fs::write(&conf, text).unwrap();
    conf.to_str().unwrap().to_string()
}

fn ctl(conf: &str, args: &[&str]) -> (bool, String) {
    let o = levee().args(["ctl", "-c", conf]).args(args).output().unwrap();
    (o.status.success(), format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)))
}

/// Serves the parent zone with the DS `ds` (its file rewritten, SIGHUP).
fn set_parent_ds(p: &Server, file: &Path, serial: u32, ds: &[String]) {
    let before = p.log().matches("reload done").count();
    std::fs::write(file, parent_zone(serial, ds)).unwrap();
    p.signal("HUP");
    let t = Instant::now();
    while p.log().matches("reload done").count() == before && t.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(p.log().matches("reload done").count() > before, "{}", p.log());
}

/// The parent (a levee serving `test.` with no DS yet) and the child's
/// zone file (TTLs of 2 s): (parent, its zone file, the child's file).
fn setup(pd: &Path, cd: &Path) -> (Server, std::path::PathBuf, std::path::PathBuf) {
    let pfile = pd.join("test.zone");
    std::fs::write(&pfile, parent_zone(1, &[])).unwrap();
    let pconf = pd.join("levee.toml");
    std::fs::write(
        &pconf,
        format!("[server]\nthreads = 1\n[[zone]]\nname = \"test.\"\nfile = \"{}\"\n", pfile.display()),
    )
    .unwrap();
    let p = Server::start(&["-c", pconf.to_str().unwrap(), "--listen", "127.0.0.1:0"]);
    let zone = cd.join("sign.test.zone");
    std::fs::write(
        &zone,
        ZONE.replace("$TTL 3600", "$TTL 2")
            .replace(" 2026120601 7200 3600 1209600 300", " 2026120601 7200 3600 1209600 2"),
    )
    .unwrap();
    (p, pfile, zone)
}

/// A whole KSK (`split`) or CSK rollover; see the module docs.
fn rollover(split: bool) {
    let (pd, cd) = (TempDir::new("roll-parent"), TempDir::new("roll-child"));
    let (p, pfile, zone) = setup(pd.path(), cd.path());
    let conf = child_config(cd.path(), &zone, p.addr, &format!("split-keys = {split}\nksk-lifetime = 10"));
    let args = ["-c", conf.as_str(), "--listen", "127.0.0.1:0"];
    let mut s = Server::start(&args);
    let first = phase(cd.path(), &axfr(&s, "sign.test."));
    assert_eq!(first.ksks.len(), 1, "{first:?}\n{}", s.log());
    assert!(first.cds.is_empty(), "no CDS outside a rollover: {first:?}");
    let old = first.ksks.iter().next().unwrap().clone();
    set_parent_ds(&p, &pfile, 2, std::slice::from_ref(&old));

    let mut phases: Vec<Phase> = Vec::new();
    let mut new: Option<String> = None;
    let (mut cds_seen_at, mut restarted, mut registry_done, mut cds_gone) = (None, false, false, false);
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        let a = axfr(&s, "sign.test.");
        let ph = phase(cd.path(), &a);
        if phases.last() != Some(&ph) {
            let f = cd.path().join(format!("phase{}.axfr", phases.len()));
            std::fs::write(&f, &a).unwrap();
            let (ok, out) = verify(&f, "sign.test.", !split);
            assert!(ok, "phase {ph:?}:\n{out}\n{}", s.log());
            phases.push(ph.clone());
        }
        if ph.ksks.len() == 2 && new.is_none() {
            new = ph.ksks.iter().find(|k| **k != old).cloned();
            assert!(ph.cds.is_empty(), "the CDS waits for the new DNSKEY to propagate: {ph:?}");
        }
        if !split && ph.cds.is_empty() && cds_seen_at.is_none() {
            assert_eq!(ph.soa_signers, BTreeSet::from([tag(&old)]), "a new CSK signs once it is ready: {ph:?}");
        }
        if !ph.cds.is_empty() && cds_seen_at.is_none() {
            // The CDS is the new key's DS, the CDNSKEY its DNSKEY.
            let n = new.clone().expect("the new key published before its CDS");
            assert_eq!(ph.cds, BTreeSet::from([n.clone()]), "{ph:?}");
            let cdnskey: Vec<String> = rdatas(&a, "CDNSKEY").iter().map(|f| ds_of(cd.path(), &key_text(f))).collect();
            assert_eq!(cdnskey, vec![n.clone()]);
            assert!(ph.dnskey_signers.contains(&tag(&n)) && ph.dnskey_signers.contains(&tag(&old)), "{ph:?}");
            cds_seen_at = Some(Instant::now());
        }
        if let Some(at) = cds_seen_at.filter(|_| !registry_done) {
            // The parent lacks the new DS: the rollover does not go on.
            assert!(ph.ksks.contains(&old) && !ph.cds.is_empty(), "moved on without the parent's DS: {ph:?}");
            if at.elapsed() > Duration::from_secs(4) && !restarted {
                let (ok, keys) = ctl(&conf, &["keys", "sign.test."]);
                assert!(ok, "{keys}");
                let n = new.clone().unwrap();
                assert!(keys.contains(&format!("next: the parent's DS of key {}", tag(&n))), "{keys}");
                assert!(keys.contains("waiting for the parent's DS") && !keys.contains("PRIVATE"), "{keys}");
                assert!(s.log().contains("the new DS is not served yet"), "{}", s.log());
                // A restart in the middle: the same rollover goes on.
                s.stop();
                drop(s);
                s = Server::start(&args);
                restarted = true;
                let again = phase(cd.path(), &axfr(&s, "sign.test."));
                assert_eq!(again.cds, BTreeSet::from([n.clone()]), "after the restart: {again:?}\n{}", s.log());
                assert_eq!(again.ksks, BTreeSet::from([old.clone(), n.clone()]), "{again:?}");
            }
            if restarted && at.elapsed() > Duration::from_secs(6) {
                // The registry copies the CDS into the parent's DS.
                set_parent_ds(&p, &pfile, 3, &ph.cds.iter().cloned().collect::<Vec<_>>());
                registry_done = true;
            }
        }
        if registry_done && ph.cds.is_empty() && !cds_gone {
            cds_gone = true;
            assert!(ph.ksks.contains(&old), "the old key stays until the old DS left the caches: {ph:?}");
        }
        if cds_gone && ph.ksks.len() == 1 {
            break;
        }
        std::thread::sleep(Duration::from_millis(400));
    }
    let n = new.unwrap_or_else(|| panic!("no new key: {phases:?}\n{}", s.log()));
    let last = phases.last().unwrap();
    assert!(cds_gone, "{phases:?}\n{}", s.log());
    assert_eq!(last.ksks, BTreeSet::from([n.clone()]), "the old key removed: {phases:?}\n{}", s.log());
    assert_eq!(last.dnskey_signers, BTreeSet::from([tag(&n)]), "{phases:?}");
    assert!(s.log().contains("the parent serves the new DS"), "{}", s.log());
    assert!(phases.len() >= 4, "{phases:?}");
}

#[test]
fn a_ksk_rolls_over_with_the_parent_ds() {
    rollover(true);
}

#[test]
fn a_csk_rolls_over_with_the_parent_ds() {
    rollover(false);
}

/// Algorithms (of the DNSKEYs, of the SOA's signatures) in an AXFR.
fn algorithms(a: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let keys = rdatas(a, "DNSKEY").iter().map(|f| f[2].clone()).collect();
    let sigs =
        rrsigs(a, "sign.test.", "SOA").iter().filter_map(|l| l.split_whitespace().nth(1).map(String::from)).collect();
    (keys, sigs)
}

/// An algorithm rollover from ECDSA P-256 (13) to Ed25519 (15), started
/// by changing the policy's algorithm and restarting: the new keys sign
/// first, their DNSKEYs come after, then the CDS, the parent's DS (the
/// test copies it), the old DNSKEYs leave, and their signatures last;
/// every version met passes both validators.
fn algorithm_rollover(split: bool) {
    let (pd, cd) = (TempDir::new("alg-parent"), TempDir::new("alg-child"));
    let (p, pfile, zone) = setup(pd.path(), cd.path());
    let policy = |alg: &str| format!("split-keys = {split}\nalgorithm = \"{alg}\"");
    let conf = child_config(cd.path(), &zone, p.addr, &policy("ecdsap256sha256"));
    let args = ["-c", conf.as_str(), "--listen", "127.0.0.1:0"];
    let mut s = Server::start(&args);
    let a = axfr(&s, "sign.test.");
    let first = phase(cd.path(), &a);
    set_parent_ds(&p, &pfile, 2, &first.ksks.iter().cloned().collect::<Vec<_>>());
    let mut seen = vec![algorithms(&a)];
    s.stop();
    drop(s);
    let conf2 = child_config(cd.path(), &zone, p.addr, &policy("ed25519"));
    assert_eq!(conf, conf2);
    let s = Server::start(&args);
    let mut serial = 3;
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        let a = axfr(&s, "sign.test.");
        let algs = algorithms(&a);
        if seen.last() != Some(&algs) {
            let f = cd.path().join(format!("alg{}.axfr", seen.len()));
            std::fs::write(&f, &a).unwrap();
            let (ok, out) = verify(&f, "sign.test.", !split);
            assert!(ok, "{algs:?}:\n{out}\n{}", s.log());
            seen.push(algs.clone());
        }
        let ph = phase(cd.path(), &a);
        let ds: Vec<String> = ph.cds.iter().cloned().collect();
        if !ds.is_empty() && serial == 3 {
            assert!(ds.iter().all(|d| d.split_whitespace().nth(1) == Some("15")), "{ds:?}");
            set_parent_ds(&p, &pfile, serial, &ds);
            serial += 1;
        }
        if algs.0 == BTreeSet::from(["15".to_string()]) && algs.1 == algs.0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(400));
    }
    let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<String>>();
    let want = [
        (set(&["13"]), set(&["13"])),
        (set(&["13"]), set(&["13", "15"])),
        (set(&["13", "15"]), set(&["13", "15"])),
        (set(&["15"]), set(&["13", "15"])),
        (set(&["15"]), set(&["15"])),
    ];
    assert_eq!(seen, want, "(DNSKEY algorithms, SOA signature algorithms) in order\n{}", s.log());
    assert!(s.log().contains("the parent serves the new DS"), "{}", s.log());
}

#[test]
fn an_algorithm_rolls_over_with_a_ksk_and_a_zsk() {
    algorithm_rollover(true);
}

#[test]
fn an_algorithm_rolls_over_with_a_csk() {
    algorithm_rollover(false);
}

/// The operator's commands without a parent check: `levee ctl keys`
/// lists the keys and their steps, `key-rollover` starts a ZSK and a KSK
/// rollover now, the KSK rollover waits at the CDS until `ds-seen`
/// confirms the parent's DS by hand, and then ends; bad requests are
/// refused with a reason; nothing of a private key appears in the
/// answers, in `/metrics`' key gauges or in the log.
#[test]
fn keys_are_rolled_and_confirmed_by_hand() {
    let cd = TempDir::new("roll-ctl");
    let zone = cd.path().join("sign.test.zone");
    std::fs::write(
        &zone,
        ZONE.replace("$TTL 3600", "$TTL 2")
            .replace(" 2026120601 7200 3600 1209600 300", " 2026120601 7200 3600 1209600 2"),
    )
    .unwrap();
    let conf =
        std::fs::read_to_string(child_config(cd.path(), &zone, "127.0.0.1:9".parse().unwrap(), "split-keys = true"))
            .unwrap()
            .replace("parent-ds-check = [\"127.0.0.1:9\"]\n", "");
    let conf_path = cd.path().join("levee.toml");
    let conf = format!("{conf}{}", crate::ops::management_config("127.0.0.1:0"));
    crate::support::write_private(&conf_path, &conf);
    let conf = conf_path.to_str().unwrap().to_string();
    let s = Server::start(&["-c", &conf, "--listen", "127.0.0.1:0"]);
    let mut answers = String::new();
    let mut ctl_ok = |args: &[&str]| {
        let (ok, out) = ctl(&conf, args);
        assert!(ok, "{args:?}: {out}");
        answers.push_str(&out);
        out
    };
    let keys = ctl_ok(&["keys", "sign.test."]);
    assert_eq!(keys.matches("state=active").count(), 2, "{keys}");
    assert!(keys.contains("role=KSK") && keys.contains("role=ZSK"), "{keys}");
    for (args, why) in [
        (vec!["ds-seen", "sign.test."], "waits for the parent's DS"),
        (vec!["key-rollover", "sign.test.", "csk"], "usage"),
        (vec!["keys", "nosuch.test."], "not configured"),
    ] {
        let (ok, out) = ctl(&conf, &args);
        assert!(!ok && out.contains(why), "{args:?}: {out}");
    }
    ctl_ok(&["key-rollover", "sign.test.", "zsk"]);
    let (ok, out) = ctl(&conf, &["key-rollover", "sign.test.", "zsk"]);
    assert!(!ok && out.contains("already under way"), "{out}");
    let a = axfr(&s, "sign.test.");
    assert_eq!(rdatas(&a, "DNSKEY").iter().filter(|f| f[0] == "256").count(), 2, "the new ZSK published: {a}");
    ctl_ok(&["key-rollover", "sign.test.", "ksk"]);
    let with_cds = |a: &str| !rdatas(a, "CDS").is_empty();
    let t = Instant::now();
    let mut a = axfr(&s, "sign.test.");
    while !with_cds(&a) && t.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(200));
        a = axfr(&s, "sign.test.");
    }
    assert!(with_cds(&a), "{}", s.log());
    // No parent check: the rollover waits for the operator.
    std::thread::sleep(Duration::from_secs(4));
    let a = axfr(&s, "sign.test.");
    assert!(with_cds(&a) && rdatas(&a, "DNSKEY").iter().filter(|f| f[0] == "257").count() == 2, "{a}");
    let keys = ctl_ok(&["keys", "sign.test."]);
    assert!(keys.contains("confirm with levee ctl ds-seen") && keys.contains("state=ready"), "{keys}");
    let metrics = levee_metrics(&s);
    assert!(metrics.contains("levee_dnssec_awaiting_parent_ds{zone=\"sign.test.\"} 1"), "{metrics}");
    assert!(metrics.contains("levee_dnssec_keys{zone=\"sign.test.\",role=\"KSK\",state=\"ready\"} 1"), "{metrics}");
    ctl_ok(&["ds-seen", "sign.test."]);
    let t = Instant::now();
    let mut a = axfr(&s, "sign.test.");
    while rdatas(&a, "DNSKEY").iter().filter(|f| f[0] == "257").count() != 1 && t.elapsed() < Duration::from_secs(20) {
        assert!(!with_cds(&a) || t.elapsed() < Duration::from_secs(2), "the CDS stays after ds-seen: {a}");
        std::thread::sleep(Duration::from_millis(200));
        a = axfr(&s, "sign.test.");
    }
    assert!(!with_cds(&a), "{a}");
    assert_eq!(rdatas(&a, "DNSKEY").iter().filter(|f| f[0] == "257").count(), 1, "the old KSK left: {}", s.log());
    let f = cd.path().join("after.axfr");
    std::fs::write(&f, &a).unwrap();
    let (ok, out) = verify(&f, "sign.test.", false);
    assert!(ok, "{out}");
    // Nothing of a private key in what levee said.
    let said = format!("{answers}{}{}", s.log(), levee_metrics(&s));
    for entry in std::fs::read_dir(cd.path().join("store/keys/sign.test")).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for line in text.lines().filter(|l| !l.contains(':') && !l.starts_with('-') && l.len() > 16) {
            assert!(!said.contains(line), "key material in levee's output");
        }
    }
    assert!(!said.contains("PRIVATE"));
}

/// `/metrics` (a strict Prometheus text-format check on the way).
fn levee_metrics(s: &Server) -> String {
    let (status, _, body) = crate::ops::http(crate::ops::management(s), "GET", "/metrics");
    assert_eq!(status, 200, "{body}");
    crate::ops::check_prometheus(&body);
    body
}
