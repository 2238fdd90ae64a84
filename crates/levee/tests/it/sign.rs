//! Issue 18: `levee sign-zone` and the key store. Every signed zone is
//! checked by two validators levee has no part in: BIND's
//! `dnssec-verify` and ldns's `ldns-verify-zone` (Debian's bind9-utils
//! and ldnsutils; CI installs both, and a missing one fails the test).

use std::path::Path;
use std::process::Command;

use crate::support::{levee, TempDir};

/// A zone with what a signer can get wrong: a wildcard, an insecure and
/// a secure delegation with glue below them, empty non-terminals, a
/// DNAME with a name below it (occluded), upper-case owners and RDATA
/// names, duplicates, an old signature and an old NSEC to be dropped.
const ZONE: &str = "\
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

fn tool(name: &str) -> Command {
    let found = std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()));
    assert!(found, "{name} is not installed (Debian: bind9-utils for dnssec-verify, ldnsutils for ldns-verify-zone)");
    Command::new(name)
}

/// Both validators' verdicts on `file` (zone `origin`): (ok, output).
fn verify(file: &Path, origin: &str, csk: bool) -> (bool, String) {
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
