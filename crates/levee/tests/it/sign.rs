//! Issue 18: `levee sign-zone` and the key store. Every signed zone is
//! checked by two validators levee has no part in: BIND's
//! `dnssec-verify` and ldns's `ldns-verify-zone` (Debian's bind9-utils
//! and ldnsutils; CI installs both, and a missing one fails the test).

use std::path::Path;
use std::process::Command;

use std::time::{Duration, Instant};

use crate::support::{levee, run_bounded, Server, TempDir};

/// A zone with what a signer can get wrong: a wildcard, an insecure and
/// a secure delegation with glue below them, empty non-terminals, a
/// DNAME with a name below it (occluded), upper-case owners and RDATA
/// names, duplicates, an old signature and an old NSEC to be dropped.
pub(crate) const ZONE: &str = "\
$ORIGIN sign.test.
$TTL 3600
@ IN SOA ns1.sign.test. Hostmaster.Sign.Test. 2026120601 7200 3600 1209600 300
@ NS ns1
@ NS ns2.other.example.
@ MX 10 Mail.Sign.Test.
@ TXT \"apex\"
ns1 A 192.0.2.1
ns1 AAAA 2001:db8::1
Mail A 192.0.2.2
mail A 192.0.2.2
*.wild A 192.0.2.3
a.b.c.ent TXT \"three labels down, two empty non-terminals\"
insecure NS ns.insecure
ns.insecure A 192.0.2.4
deep.below.insecure A 192.0.2.5
secure NS ns.secure
secure DS 12345 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF
ns.secure A 192.0.2.6
x.y.z.insecure2 NS ns.elsewhere.example.
d DNAME target.example.
below.d A 192.0.2.7
cname CNAME Mail
srv._tcp SRV 0 5 443 Mail.Sign.Test.
old RRSIG A 13 3 3600 20300101000000 20200101000000 1 sign.test. AAAA
old NSEC sign.test. A RRSIG NSEC
";

pub(crate) fn tool(name: &str) -> Command {
    let found = std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()));
    assert!(found, "{name} is not installed (Debian: bind9-utils for dnssec-verify, ldnsutils for ldns-verify-zone)");
    Command::new(name)
}

/// Both validators' verdicts on `file` (zone `origin`): (ok, output).
pub(crate) fn verify(file: &Path, origin: &str, csk: bool) -> (bool, String) {
    let mut dv = tool("dnssec-verify");
    if csk {
        // One key with the SEP flag signs everything: tell BIND not to
        // look for a separate ZSK.
        dv.arg("-z");
    }
    let a = dv.args(["-o", origin]).arg(file).output().unwrap();
    let b = tool("ldns-verify-zone").arg(file).output().unwrap();
    let text = format!(
        "dnssec-verify: {}{}\nldns-verify-zone: {}{}",
        String::from_utf8_lossy(&a.stdout),
        String::from_utf8_lossy(&a.stderr),
        String::from_utf8_lossy(&b.stdout),
        String::from_utf8_lossy(&b.stderr)
    );
    (a.status.success() && b.status.success(), text)
}

fn sign(dir: &Path, zone: &Path, args: &[&str]) -> std::process::Output {
    levee().arg("sign-zone").arg("--keys").arg(dir.join("keys")).args(args).arg(zone).output().unwrap()
}

#[test]
fn signed_zones_pass_two_independent_validators() {
    let t = TempDir::new("sign-verify");
    let zone = t.path().join("sign.test.zone");
    std::fs::write(&zone, ZONE).unwrap();
    let modes: &[(&[&str], bool)] = &[
        (&["--denial", "nsec"], true),
        (&["--denial", "nsec3"], true),
        (&["--denial", "nsec3", "--opt-out"], true),
        (&["--denial", "nsec3", "--split"], false),
        (&["--denial", "nsec", "--algorithm", "ed25519", "--split"], false),
        (&["--denial", "nsec3", "--opt-out", "--algorithm", "ed25519"], true),
    ];
    for (i, (args, csk)) in modes.iter().enumerate() {
        let d = t.path().join(format!("m{i}"));
        std::fs::create_dir_all(&d).unwrap();
        let out = d.join("signed");
        let o = sign(&d, &zone, &[args, &["-o", out.to_str().unwrap()][..]].concat());
        assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
        let (ok, text) = verify(&out, "sign.test.", *csk);
        assert!(ok, "{args:?}:\n{text}");
        let signed = std::fs::read_to_string(&out).unwrap();
        // Occluded names are served as they were but never signed or chained.
        for occluded in ["below.d.sign.test.", "ns.insecure.sign.test.", "deep.below.insecure.sign.test."] {
            assert!(signed.contains(&format!("{occluded} 3600 IN A")), "{occluded} kept");
            assert!(!signed.contains(&format!("{occluded} 3600 IN RRSIG")), "{args:?}: {occluded} signed");
        }
        assert!(!signed.contains("20300101000000"), "the old RRSIG is dropped");
        if args.contains(&"nsec3") {
            assert!(signed.contains("NSEC3PARAM 1 0 0 -"), "RFC 9276 parameters");
            // Opt-out leaves the insecure delegations (and the empty
            // non-terminals above x.y.z.insecure2) out of the chain.
            let chain = signed.matches(" IN NSEC3 ").count();
            if args.contains(&"--opt-out") {
                assert!(signed.contains(" IN NSEC3 1 1 0 - "), "opt-out flag");
                assert_eq!(chain, 14, "{args:?}");
            } else {
                assert_eq!(chain, 19, "{args:?}");
            }
        }
        // The damaged copy fails: the validators are really checking.
        let damaged = d.join("damaged");
        std::fs::write(&damaged, signed.replacen("192.0.2.1", "192.0.2.99", 1)).unwrap();
        let (ok, text) = verify(&damaged, "sign.test.", *csk);
        assert!(!ok, "{args:?}: a changed record still verifies:\n{text}");
    }
}

#[test]
fn keys_are_kept_private_reused_and_refused_when_damaged() {
    use std::os::unix::fs::PermissionsExt;
    let t = TempDir::new("sign-keys");
    let zone = t.path().join("sign.test.zone");
    std::fs::write(&zone, ZONE).unwrap();
    let o = sign(t.path(), &zone, &["--split"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(err.contains("IN DS "), "the DS for the parent is printed: {err}");
    let kdir = t.path().join("keys/sign.test");
    assert_eq!(std::fs::metadata(&kdir).unwrap().permissions().mode() & 0o777, 0o700);
    let mut files: Vec<_> = std::fs::read_dir(&kdir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert_eq!(files.len(), 2);
    for f in &files {
        assert_eq!(std::fs::metadata(f).unwrap().permissions().mode() & 0o777, 0o600, "{f:?}");
    }
    // A second run signs with the same keys (no new file, same DNSKEYs).
    let first = std::fs::read_to_string(t.path().join("sign.test.zone.signed")).unwrap();
    let o = sign(t.path(), &zone, &[]);
    assert!(o.status.success());
    assert_eq!(std::fs::read_dir(&kdir).unwrap().count(), 2);
    let second = std::fs::read_to_string(t.path().join("sign.test.zone.signed")).unwrap();
    let dnskeys = |s: &str| s.lines().filter(|l| l.contains(" IN DNSKEY ")).map(String::from).collect::<Vec<_>>();
    assert_eq!(dnskeys(&first), dnskeys(&second));
    assert_eq!(dnskeys(&first).len(), 2);
    // Nothing of a private key is printed.
    let key_text = std::fs::read_to_string(&files[0]).unwrap();
    let body: Vec<&str> = key_text.lines().filter(|l| !l.contains(':') && !l.starts_with('-')).collect();
    assert!(!err.contains(body[0]), "key material in the output");
    // A key file others can read is refused, naming the file.
    std::fs::set_permissions(&files[0], std::fs::Permissions::from_mode(0o644)).unwrap();
    let o = sign(t.path(), &zone, &[]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(e.contains(files[0].to_str().unwrap()) && e.contains("chmod 600"), "{e}");
    std::fs::set_permissions(&files[0], std::fs::Permissions::from_mode(0o600)).unwrap();
    // A damaged key file is refused, naming the file.
    std::fs::write(&files[1], key_text.replace(body[1], &body[1].replace('A', "B"))).unwrap();
    let o = sign(t.path(), &zone, &[]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(e.contains(files[1].to_str().unwrap()), "{e}");
}

/// The key files are the PKCS#8 that other tools read: OpenSSL derives
/// from each private key the public key levee publishes in the DNSKEY
/// (Ed25519 keys were once written as PKCS#8 v2, which OpenSSL 3.0 and
/// Knot DNS refuse; they are v1 now, RFC 8410).
#[test]
fn key_files_are_read_by_openssl() {
    use std::io::Write;
    let t = TempDir::new("sign-openssl");
    let zone = t.path().join("sign.test.zone");
    std::fs::write(&zone, ZONE).unwrap();
    for (alg, public_len) in [("ecdsap256sha256", 64), ("ed25519", 32)] {
        let d = t.path().join(alg);
        let out = d.join("signed");
        std::fs::create_dir_all(&d).unwrap();
        let o = sign(&d, &zone, &["--algorithm", alg, "-o", out.to_str().unwrap()]);
        assert!(o.status.success(), "{alg}: {}", String::from_utf8_lossy(&o.stderr));
        let signed = std::fs::read_to_string(&out).unwrap();
        let dnskey: Vec<&str> =
            signed.lines().find(|l| l.contains(" IN DNSKEY ")).unwrap().split_whitespace().collect();
        let key_file = std::fs::read_dir(d.join("keys/sign.test")).unwrap().next().unwrap().unwrap().path();
        // The SubjectPublicKeyInfo ends with the key: X || Y after 04
        // (P-256, RFC 6605) or the 32 octets (Ed25519, RFC 8080).
        let spki = tool("openssl").args(["pkey", "-pubout", "-outform", "DER", "-in"]).arg(&key_file).output().unwrap();
        assert!(
            spki.status.success(),
            "{alg}: openssl cannot read {key_file:?}: {}",
            String::from_utf8_lossy(&spki.stderr)
        );
        let der = spki.stdout;
        assert!(der.len() > public_len, "{alg}");
        let b64 = tool("base64")
            .arg("-w0")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        b64.stdin.as_ref().unwrap().write_all(&der[der.len() - public_len..]).unwrap();
        let text = b64.wait_with_output().unwrap();
        assert_eq!(
            String::from_utf8_lossy(&text.stdout),
            dnskey[7..].concat(),
            "{alg}: the DNSKEY is not OpenSSL's public key"
        );
    }
}

/// Writes `dir/levee.toml` serving `zone` (the file of sign.test.,
/// transfers allowed from loopback) signed by the `[[dnssec-policy]]`
/// named `policy` with the keys `settings`, its keys under `dir/store`.
fn signed_zone_config(dir: &Path, zone: &Path, policy: &str, settings: &str) -> std::path::PathBuf {
    let conf = dir.join("levee.toml");
    let text = format!(
        "[server]\nstorage-dir = \"{}\"\n[[dnssec-policy]]\nname = \"{policy}\"\n{settings}[[zone]]\nname = \"sign.test.\"\n\
         file = \"{}\"\nallow-transfer = [\"127.0.0.1\"]\ndnssec-signing = true\ndnssec-policy = \"{policy}\"\n",
        dir.join("store").display(),
        zone.display()
    );
    std::fs::write(&conf, text).unwrap();
    conf
}

/// `dig AXFR` of `zone` from the server: the zone as text.
pub(crate) fn axfr(s: &Server, zone: &str) -> String {
    let o = tool("dig")
        .args([
            "+nocmd",
            "+nostats",
            "+tries=1",
            "+time=3",
            "-p",
            &s.addr.port().to_string(),
            "@127.0.0.1",
            "AXFR",
            zone,
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn serial_of(axfr: &str) -> u32 {
    let soa = axfr.lines().find(|l| l.split_whitespace().nth(3) == Some("SOA")).expect("an SOA");
    soa.split_whitespace().nth(6).unwrap().parse().unwrap()
}

/// The signature lines of `rtype` at `owner` in an AXFR text (owners
/// compared without case: name compression may give an owner the case
/// of an earlier name).
pub(crate) fn rrsigs(axfr: &str, owner: &str, rtype: &str) -> Vec<String> {
    axfr.lines()
        .filter(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.len() > 5 && f[0].eq_ignore_ascii_case(owner) && f[3] == "RRSIG" && f[4] == rtype
        })
        .map(|l| l.split_whitespace().skip(4).collect::<Vec<_>>().join(" "))
        .collect()
}

/// Waits until the zone's AXFR satisfies `ok`, for at most `limit`.
fn wait_axfr(s: &Server, limit: Duration, ok: impl Fn(&str) -> bool) -> String {
    let t = Instant::now();
    loop {
        let a = axfr(s, "sign.test.");
        if ok(&a) || t.elapsed() > limit {
            return a;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn verified(dir: &Path, text: &str, what: &str) {
    let f = dir.join(format!("{what}.axfr"));
    std::fs::write(&f, text).unwrap();
    let (ok, out) = verify(&f, "sign.test.", true);
    assert!(ok, "{what}:\n{out}");
}

/// The daemon signs a zone from its file, serves it (AXFR passes both
/// validators), signs again only what a reload changed (with the serial
/// raised when the file's did not move), refreshes signatures before
/// they expire by itself, and refuses to start on a damaged key.
#[test]
fn the_server_signs_reloads_and_refreshes() {
    let t = TempDir::new("sign-serve");
    let zone = t.path().join("sign.test.zone");
    std::fs::write(&zone, ZONE).unwrap();
    // Signatures valid an hour and refreshed when less than 3,590 s are
    // left: a refresh falls due a few seconds after each signing.
    let conf = signed_zone_config(t.path(), &zone, "short", "signature-validity = 3600\nsignature-refresh = 3590\n");
    let mut s = Server::start(&["--config", conf.to_str().unwrap(), "--listen", "127.0.0.1:0"]);
    let first = axfr(&s, "sign.test.");
    assert_eq!(serial_of(&first), 2026120601, "{}", s.log());
    verified(t.path(), &first, "first");
    assert!(s.log().contains("new DNSSEC key; publish at the parent"), "{}", s.log());
    let key_files: Vec<_> = std::fs::read_dir(t.path().join("store/keys/sign.test")).unwrap().collect();
    assert_eq!(key_files.len(), 1, "one combined key by the default policy");
    // A change with the serial left as it was: re-signed, serial raised,
    // the unchanged RRsets keep their signatures.
    let mx = rrsigs(&first, "sign.test.", "MX");
    assert_eq!(mx.len(), 1);
    std::fs::write(&zone, ZONE.replace("Mail A 192.0.2.2", "Mail A 192.0.2.20")).unwrap();
    s.signal("HUP");
    let second = wait_axfr(&s, Duration::from_secs(10), |a| a.contains("192.0.2.20"));
    assert!(second.contains("192.0.2.20"), "reloaded: {}", s.log());
    assert_eq!(serial_of(&second), 2026120602, "serial + 1");
    verified(t.path(), &second, "second");
    assert_eq!(rrsigs(&second, "sign.test.", "MX"), mx, "an unchanged RRset keeps its signature");
    assert_ne!(rrsigs(&second, "mail.sign.test.", "A"), rrsigs(&first, "mail.sign.test.", "A"));
    // The IXFR to secondaries carries the signed difference: the changed
    // RRset, its signature, the SOA and its signature, both ways.
    let o = tool("dig")
        .args(["+nocmd", "+nostats", "+tries=1", "+time=3", "-p", &s.addr.port().to_string(), "@127.0.0.1"])
        .args(["sign.test.", "IXFR=2026120601"])
        .output()
        .unwrap();
    let ixfr = String::from_utf8_lossy(&o.stdout).into_owned();
    let lines = ixfr.lines().filter(|l| !l.starts_with(';') && !l.trim().is_empty()).count();
    assert!(ixfr.contains("192.0.2.20") && lines < 20, "{lines} lines:\n{ixfr}\n{}", s.log());
    // The refresh: the timer re-signs each signature as it reaches its
    // refresh point (the expirations are spread over a few seconds),
    // raising the serial, with no reload asked.
    let third = wait_axfr(&s, Duration::from_secs(30), |a| rrsigs(a, "sign.test.", "MX") != mx);
    assert!(serial_of(&third) > 2026120602, "no refresh within 30 s: {}", s.log());
    assert!(s.log().contains("signatures refreshed"), "{}", s.log());
    verified(t.path(), &third, "third");
    assert_ne!(rrsigs(&third, "sign.test.", "MX"), mx, "refreshed");
    let served = serial_of(&axfr(&s, "sign.test."));
    s.stop();
    // A restart signs the file (serial 2026120601 still) again with a
    // serial above the last one served, not the file's: secondaries
    // ignore a lower serial and would keep the old version.
    let mut s = Server::start(&["--config", conf.to_str().unwrap(), "--listen", "127.0.0.1:0"]);
    let restarted = axfr(&s, "sign.test.");
    assert!(serial_of(&restarted) > served, "{} after {served}: {}", serial_of(&restarted), s.log());
    verified(t.path(), &restarted, "restarted");
    s.stop();
    // A damaged key store stops the start, naming the file.
    let key = key_files.into_iter().next().unwrap().unwrap().path();
    let text = std::fs::read_to_string(&key).unwrap();
    std::fs::write(&key, text.replace("tag: ", "tag: 1")).unwrap();
    let o = run_bounded(levee().args(["serve", "--config", conf.to_str().unwrap(), "--listen", "127.0.0.1:0"]));
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(e.contains(key.to_str().unwrap()), "{e}");
}

/// `delv` (BIND's validator) on one question to `s`, trusting `anchors`
/// for sign.test.: its output.
fn delv(s: &Server, anchors: &Path, name: &str, rtype: &str) -> String {
    let o = tool("delv")
        .arg("-a")
        .arg(anchors)
        .args(["+root=sign.test.", "-p", &s.addr.port().to_string(), "@127.0.0.1", name, rtype])
        .output()
        .unwrap();
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// Compact denial (RFC 9824): a zone signed with `denial = "compact"`
/// has no NSEC chain; its negative answers and wildcard answers are
/// signed as they are asked, and BIND's validator (`delv`, trusting the
/// zone's key) validates every kind: a name that does not exist, NODATA,
/// an empty non-terminal, a wildcard answer, an insecure delegation's DS.
/// The rcode is NOERROR unless the query sets CO, NXNAME is in the
/// bitmap, CO is echoed, and an explicit NXNAME query is a FORMERR.
#[test]
fn compact_denial_validates() {
    let t = TempDir::new("sign-compact");
    let zone = t.path().join("sign.test.zone");
    std::fs::write(&zone, ZONE).unwrap();
    let conf = signed_zone_config(t.path(), &zone, "c", "denial = \"compact\"\n");
    let s = Server::start(&["--config", conf.to_str().unwrap(), "--listen", "127.0.0.1:0"]);
    let zone_text = axfr(&s, "sign.test.");
    assert!(!zone_text.contains(" NSEC") && !zone_text.contains("NSEC3"), "no chain in a compact zone");
    // The trust anchor: the zone's key as levee serves it.
    let key = zone_text.lines().find(|l| l.split_whitespace().nth(3) == Some("DNSKEY")).expect("a DNSKEY");
    let f: Vec<&str> = key.split_whitespace().collect();
    let anchors = t.path().join("anchors.conf");
    let write_anchor = |key: &str| {
        let text = format!("trust-anchors {{ \"sign.test.\" static-key {} {} {} \"{key}\"; }};\n", f[4], f[5], f[6]);
        std::fs::write(&anchors, text).unwrap();
    };
    let key_b64 = f[7..].join("");
    write_anchor(&key_b64);
    let cases = [
        ("nx.sign.test.", "A", "negative response, fully validated"),
        ("mail.sign.test.", "TXT", "negative response, fully validated"),
        ("b.c.ent.sign.test.", "A", "negative response, fully validated"),
        ("insecure.sign.test.", "DS", "negative response, fully validated"),
        ("nothing.wild.sign.test.", "TXT", "negative response, fully validated"),
        ("foo.wild.sign.test.", "A", "; fully validated"),
        ("mail.sign.test.", "A", "; fully validated"),
    ];
    for (name, rtype, want) in cases {
        let out = delv(&s, &anchors, name, rtype);
        assert!(out.contains(want), "{name} {rtype}: {out}");
    }
    // The same questions with a key that is not the zone's fail: the
    // validator is really checking.
    let mut other = key_b64.into_bytes();
    other[10] = if other[10] == b'A' { b'B' } else { b'A' };
    write_anchor(std::str::from_utf8(&other).unwrap());
    let out = delv(&s, &anchors, "nx.sign.test.", "A");
    assert!(!out.contains("fully validated"), "{out}");
    // The wire: NOERROR and NXNAME (TYPE128) without CO; NXDOMAIN with
    // CO, and CO echoed; NXNAME asked: FORMERR.
    let dig = |extra: &[&str], name: &str, rtype: &str| {
        let o = tool("dig")
            .args(["+norec", "+dnssec", "+tries=1", "+time=3", "-p", &s.addr.port().to_string(), "@127.0.0.1"])
            .args(extra)
            .args([name, rtype])
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let plain = dig(&[], "nx.sign.test.", "A");
    assert!(plain.contains("status: NOERROR"), "{plain}");
    assert!(plain.contains("NSEC\t\\000.nx.sign.test. RRSIG NSEC TYPE128"), "{plain}");
    // dig cannot set CO: a query of our own, DO and CO in the OPT flags.
    let ask_co = |name: &str, co: bool| {
        let mut q = crate::support::query(7, name, 1, Some(true));
        let at = q.len() - 4;
        q[at] = if co { 0xc0 } else { 0x80 };
        let m = crate::support::parse(&crate::support::udp(s.addr, &q).expect("an answer"));
        let opt = m.additional.iter().find(|r| r.rtype == 41).map_or(0, |r| r.ttl);
        (m.header.flags & 0xf, (opt >> 14) & 1)
    };
    assert_eq!(ask_co("nx.sign.test.", true), (3, 1), "NXDOMAIN, CO echoed");
    assert_eq!(ask_co("nx.sign.test.", false), (0, 0), "NOERROR, no CO");
    assert_eq!(ask_co("mail.sign.test.", true), (0, 1), "NODATA stays NOERROR");
    let formerr = dig(&[], "nx.sign.test.", "TYPE128");
    assert!(formerr.contains("status: FORMERR"), "{formerr}");
}

/// A ZSK rollover by pre-publication on a short clock (a 12 s ZSK
/// lifetime, TTLs of 2 s, a 1 s propagation delay): the new ZSK is
/// published before it signs, signs while the old one is still
/// published, and the old one is removed; every version served on the
/// way passes both validators, and the KSK (the DS at the parent) never
/// changes. The signing timer drives it, no reload is asked.
#[test]
fn a_zsk_rolls_over_by_prepublication() {
    let t = TempDir::new("sign-roll");
    let zone = t.path().join("sign.test.zone");
    std::fs::write(
        &zone,
        ZONE.replace("$TTL 3600", "$TTL 2")
            .replace(" 2026120601 7200 3600 1209600 300", " 2026120601 7200 3600 1209600 2"),
    )
    .unwrap();
    let conf =
        signed_zone_config(t.path(), &zone, "roll", "split-keys = true\nzsk-lifetime = 12\npropagation-delay = 1\n");
    let s = Server::start(&["--config", conf.to_str().unwrap(), "--listen", "127.0.0.1:0"]);
    // (ZSKs published, tag of the ZSK signing the SOA), as they change.
    let mut phases: Vec<(usize, String)> = Vec::new();
    let mut ksks: std::collections::BTreeSet<String> = Default::default();
    let start = Instant::now();
    let mut checked = 0;
    while start.elapsed() < Duration::from_secs(40) {
        let a = axfr(&s, "sign.test.");
        let dnskeys: Vec<&str> = a.lines().filter(|l| l.split_whitespace().nth(3) == Some("DNSKEY")).collect();
        let zsks = dnskeys.iter().filter(|l| l.split_whitespace().nth(4) == Some("256")).count();
        dnskeys.iter().filter(|l| l.split_whitespace().nth(4) == Some("257")).for_each(|l| {
            ksks.insert(l.split_whitespace().skip(7).collect::<String>());
        });
        let soa_signer =
            rrsigs(&a, "sign.test.", "SOA").first().and_then(|l| l.split_whitespace().nth(6).map(String::from));
        let phase = (zsks, soa_signer.unwrap_or_default());
        if phases.last() != Some(&phase) {
            let f = t.path().join(format!("phase{}.axfr", phases.len()));
            std::fs::write(&f, &a).unwrap();
            let (ok, out) = verify(&f, "sign.test.", false);
            assert!(ok, "phase {phase:?}:\n{out}\n{}", s.log());
            checked += 1;
            phases.push(phase);
        }
        // Done once a second ZSK took over alone.
        if phases.len() >= 4 && phases.last().is_some_and(|p| p.0 == 1) && phases[0].1 != phases.last().unwrap().1 {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    // One ZSK; two published, the old one signing; two, the new one
    // signing; the new one alone.
    assert!(phases.len() >= 4, "{phases:?}\n{}", s.log());
    let (a, b) = (&phases[0].1, &phases.last().unwrap().1);
    assert_eq!(phases[0].0, 1, "{phases:?}");
    assert_ne!(a, b, "the signing ZSK changed: {phases:?}");
    let pos = |p: (usize, &String)| phases.iter().position(|x| x.0 == p.0 && &x.1 == p.1);
    let prepub = pos((2, a)).expect("the new ZSK published while the old one signs");
    let switched = pos((2, b)).expect("the new ZSK signing while the old one is still published");
    let alone = phases.iter().rposition(|x| x.0 == 1 && &x.1 == b).expect("the old ZSK removed");
    assert!(prepub < switched && switched < alone, "{phases:?}");
    assert_eq!(ksks.len(), 1, "the KSK never changes");
    assert!(checked >= 4);
    assert!(s.log().contains("ZSK rollover: new key published") && s.log().contains("ZSK rollover: old key removed"));
}

/// A config for sign.test. in `dir` (storage and control socket there)
/// with the zone settings `zone_cfg`.
fn transit_config(dir: &Path, zone_cfg: &str) -> String {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let sock =
        format!("/tmp/levee-it-t{}-{}.sock", std::process::id(), N.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    let conf = dir.join("levee.toml");
    let text = format!(
        "[server]\nthreads = 1\nstorage-dir = \"{}\"\ncontrol-socket = \"{sock}\"\n[[zone]]\nname = \"sign.test.\"\n{zone_cfg}\n",
        dir.join("store").display()
    );
    std::fs::write(&conf, text).unwrap();
    conf.to_str().unwrap().to_string()
}

fn ctl_refresh(conf: &str) {
    let o = levee().args(["ctl", "-c", conf, "refresh", "sign.test."]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// Signing in transit: a hidden levee primary serves the zone unsigned,
/// a levee signer pulls it (AXFR, then IXFR) and serves it signed, a
/// levee secondary pulls the signed zone from the signer. A change at
/// the primary reaches the last hop signed and validating, carried by
/// IXFR on both hops, the signer's IXFR signed incrementally.
#[test]
fn a_zone_is_signed_in_transit() {
    let (pd, sd, ld) = (TempDir::new("transit-p"), TempDir::new("transit-s"), TempDir::new("transit-l"));
    let zone = pd.path().join("sign.test.zone");
    std::fs::write(&zone, ZONE).unwrap();
    let pconf = transit_config(pd.path(), &format!("file = \"{}\"\nallow-transfer = [\"127.0.0.1\"]", zone.display()));
    let p = Server::start(&["-c", &pconf, "--listen", "127.0.0.1:0"]);
    let sconf = transit_config(
        sd.path(),
        &format!("primaries = [\"{}\"]\nallow-transfer = [\"127.0.0.1\"]\ndnssec-signing = true", p.addr),
    );
    let s = Server::start(&["-c", &sconf, "--listen", "127.0.0.1:0"]);
    assert!(s.wait_log("zone transferred", Duration::from_secs(20)), "{}", s.log());
    let lconf = transit_config(ld.path(), &format!("primaries = [\"{}\"]\nallow-transfer = [\"127.0.0.1\"]", s.addr));
    let l = Server::start(&["-c", &lconf, "--listen", "127.0.0.1:0"]);
    let first = wait_axfr(&l, Duration::from_secs(20), |a| a.contains("RRSIG") && a.contains("NSEC"));
    assert!(first.contains("RRSIG"), "signer:\n{}\nlast hop:\n{}", s.log(), l.log());
    assert_eq!(serial_of(&first), 2026120601, "the primary's serial");
    verified(ld.path(), &first, "transit-first");
    // A change at the primary: an address, a new name under new empty
    // non-terminals, a name gone.
    let changed = ZONE
        .replace("2026120601", "2026120602")
        .replace("Mail A 192.0.2.2", "Mail A 192.0.2.20\nnew.name.here A 192.0.2.21")
        .replace("cname CNAME Mail\n", "");
    std::fs::write(&zone, changed).unwrap();
    p.signal("HUP");
    assert!(p.wait_log("reload done", Duration::from_secs(10)), "{}", p.log());
    ctl_refresh(&sconf);
    assert!(s.wait_log("change signed incrementally", Duration::from_secs(10)), "{}", s.log());
    // The signer serves the new version (published after that line).
    let signer = wait_axfr(&s, Duration::from_secs(10), |a| serial_of(a) == 2026120602);
    assert_eq!(serial_of(&signer), 2026120602, "{}", s.log());
    ctl_refresh(&lconf);
    let second = wait_axfr(&l, Duration::from_secs(10), |a| serial_of(a) == 2026120602);
    assert_eq!(serial_of(&second), 2026120602, "{}", l.log());
    assert!(second.contains("192.0.2.20") && second.contains("new.name.here") && !second.contains("cname.sign.test."));
    verified(ld.path(), &second, "transit-second");
    assert!(l.wait_log("kind=\"IXFR\"", Duration::from_secs(5)), "the last hop got an IXFR:\n{}", l.log());
    // The signer's difference is small: the changed names, their
    // neighbours in the chain and the SOA, not the zone.
    let line = s.log().lines().find(|x| x.contains("change signed incrementally")).unwrap_or_default().to_string();
    let added: usize =
        line.split("added=").nth(1).and_then(|x| x.split(' ').next()).and_then(|x| x.parse().ok()).unwrap();
    assert!(added > 0 && added < 20, "{line}");
}

/// Runs nsupdate against `s` with `commands` (the update lines), TSIG key
/// upd: its output (empty when NOERROR).
fn nsupdate(s: &Server, commands: &str) -> String {
    use std::io::Write;
    let mut child = tool("nsupdate")
        .args(["-y", &format!("hmac-sha256:upd:{UPD_SECRET}")])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let script = format!("server 127.0.0.1 {}\nzone sign.test.\n{commands}\nsend\n", s.addr.port());
    child.stdin.take().unwrap().write_all(script.as_bytes()).unwrap();
    let o = child.wait_with_output().unwrap();
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

const UPD_SECRET: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

/// Dynamic update of a zone levee signs: an update is signed before it is
/// acknowledged (the AXFR right after validates, the new name signed);
/// updates of NSEC, NSEC3 and of RRSIG below the apex are refused as BIND
/// 9.18 refuses them and change nothing; after `kill -9` the restarted
/// server serves the update, signed and validating.
#[test]
fn a_signed_zone_takes_updates() {
    let t = TempDir::new("sign-update");
    let zone = t.path().join("sign.test.zone");
    std::fs::write(&zone, ZONE).unwrap();
    let conf = t.path().join("levee.toml");
    let text = format!(
        "[server]\nstorage-dir = \"{}\"\n[[key]]\nname = \"upd\"\nalgorithm = \"hmac-sha256\"\nsecret = \"{UPD_SECRET}\"\n\
         [[zone]]\nname = \"sign.test.\"\nfile = \"{}\"\nallow-transfer = [\"127.0.0.1\"]\n\
         allow-update = [\"127.0.0.1 key upd\"]\ndnssec-signing = true\n",
        t.path().join("store").display(),
        zone.display()
    );
    crate::support::write_private(&conf, &text);
    let args = ["--config", conf.to_str().unwrap(), "--listen", "127.0.0.1:0"];
    let s = Server::start(&args);
    let first = axfr(&s, "sign.test.");
    verified(t.path(), &first, "update-first");
    let out = nsupdate(&s, "update add new.sign.test. 300 A 192.0.2.50\nupdate delete cname.sign.test. CNAME");
    assert!(out.trim().is_empty(), "{out}\n{}", s.log());
    let second = axfr(&s, "sign.test.");
    assert_eq!(serial_of(&second), 2026120602, "{}", s.log());
    assert!(second.contains("192.0.2.50") && !second.contains("cname.sign.test."), "{second}");
    assert_eq!(rrsigs(&second, "new.sign.test.", "A").len(), 1, "{second}");
    verified(t.path(), &second, "update-second");
    assert!(s.log().contains("signed incrementally"), "{}", s.log());
    for refused in [
        "update add mail.sign.test. 300 NSEC new.sign.test. A RRSIG NSEC",
        "update add mail.sign.test. 300 RRSIG A 13 3 300 20300101000000 20200101000000 1 sign.test. AAAA",
        "update add 0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.sign.test. 300 NSEC3 1 0 0 - 0p9mhaveqvm6t7vbl5lop2u3t2rp3tom A",
    ] {
        let out = nsupdate(&s, refused);
        assert!(out.contains("REFUSED"), "{refused}: {out}");
    }
    assert_eq!(serial_of(&axfr(&s, "sign.test.")), 2026120602, "refused updates change nothing");
    // kill -9, and a restart: the logged update is signed again.
    let pid = s.pid().to_string();
    assert!(Command::new("kill").args(["-KILL", &pid]).status().unwrap().success());
    drop(s);
    let s = Server::start(&args);
    let third = axfr(&s, "sign.test.");
    assert_eq!(serial_of(&third), 2026120602, "{}", s.log());
    assert!(third.contains("192.0.2.50") && !third.contains("cname.sign.test."), "{}", s.log());
    verified(t.path(), &third, "update-restart");
}
