//! Tests of a loaded zone's pre-rendered negative SOA (`NegativeSoa`):
//! the copy an answer makes is the octets the writer would write, and the
//! cases that compress differently take the writer. They load zones, so
//! they sit above the loader (`build.rs`) rather than in `negative.rs`.

use levee_wire::name;
use levee_wire::rtype::{c, t};
use levee_wire::soa::Soa;
use levee_wire::writer::{Owner, Section, Writer};

use crate::snapshot::zone::Zone;

fn zone(text: &str) -> Zone {
    zone_at("example.com.", text)
}

fn zone_at(origin: &str, text: &str) -> Zone {
    let o = name::from_text(origin, None).unwrap();
    crate::load(crate::Source::Memory { name: "t", data: text.as_bytes() }, &o).unwrap().zone
}

fn writer_output(z: &Zone, qname: &str, out: &mut [u8]) -> usize {
    let q = name::from_text(qname, None).unwrap();
    let mut question = q.as_slice().to_vec();
    question.extend_from_slice(&[0, 1, 0, 1]);
    let mut w = Writer::new(out, 1232);
    w.start(1, 0, &question).unwrap();
    let rd = z.first_rdata(z.soa());
    let ttl = z.rrset(z.soa()).ttl().min(Soa::from_rdata(rd).unwrap().minimum());
    w.rr(Section::Authority, Owner::Name(z.apex()), t::SOA, c::IN, ttl, rd).unwrap();
    w.finish()
}

fn fast_output(z: &Zone, qname: &str, out: &mut [u8]) -> Option<usize> {
    let n = z.negative_soa()?;
    let q = name::from_text(qname, None).unwrap();
    if !n.fits(&q) {
        return None;
    }
    let mut question = q.as_slice().to_vec();
    question.extend_from_slice(&[0, 1, 0, 1]);
    let mut w = Writer::new(out, 1232);
    w.start(1, 0, &question).unwrap();
    n.write(&mut w, &q).unwrap();
    Some(w.finish())
}

const ZONE: &str = "$TTL 3600\n@ SOA ns1 hostmaster.mail 1 2 3 4 300\n@ NS ns1\nns1 A 192.0.2.1\n";

#[test]
fn patched_record_equals_the_writers() {
    let z = zone(ZONE);
    let n = z.negative_soa().expect("rendered");
    // Owner, MNAME's apex suffix, RNAME's pointer to MNAME... : at least the owner.
    assert!(!n.ptrs.is_empty());
    let (mut a, mut b) = ([0u8; 600], [0u8; 600]);
    let mut fast = 0;
    for q in ["example.com.", "nx.example.com.", "A.b.C.Example.COM.", "x.mai.example.com.", "nS2.example.com."] {
        let want = writer_output(&z, q, &mut a);
        let got = fast_output(&z, q, &mut b).expect(q);
        assert_eq!(&a[..want], &b[..got], "{q}");
        fast += 1;
    }
    assert_eq!(fast, 5);
}

#[test]
fn names_below_the_apex_in_mname_or_rname_take_the_writer() {
    let z = zone(ZONE);
    let n = z.negative_soa().unwrap();
    for q in ["ns1.example.com.", "x.NS1.example.com.", "hostmaster.mail.example.com.", "mail.example.com."] {
        let q = name::from_text(q, None).unwrap();
        assert!(!n.fits(&q));
    }
    // Those would indeed compress differently.
    let (mut a, mut b) = ([0u8; 600], [0u8; 600]);
    let want = writer_output(&z, "x.ns1.example.com.", &mut a);
    let q = name::from_text("x.ns1.example.com.", None).unwrap();
    let mut question = q.as_slice().to_vec();
    question.extend_from_slice(&[0, 1, 0, 1]);
    let mut w = Writer::new(&mut b, 1232);
    w.start(1, 0, &question).unwrap();
    n.write(&mut w, &q).unwrap();
    let got = w.finish();
    assert_ne!(&a[..want], &b[..got]);
}

#[test]
fn many_labels_take_the_writer() {
    let z = zone(ZONE);
    let n = z.negative_soa().unwrap();
    let long = format!("{}example.com.", "a.".repeat(100));
    assert!(!n.fits(&name::from_text(&long, None).unwrap()));
}

/// The root zone (the apex is one octet, every name is below it), a
/// SOA whose names are the apex itself, and names sharing labels with
/// the apex: the copy is the writer's wherever `fits` says so, and
/// `fits` says so for the plain random names of a flood.
#[test]
fn root_zone_and_apex_names() {
    let cases = [
        (".", "$TTL 60\n@ SOA a.root-servers.net. nstld.verisign-grs.com. 1 2 3 4 5\n@ NS a.root-servers.net.\na.root-servers.net. A 192.0.2.1\n"),
        ("example.com.", "$TTL 60\n@ SOA @ @ 1 2 3 4 5\n@ NS @\n@ A 192.0.2.1\n"),
        ("example.com.", "$TTL 60\n@ SOA ns.example.net. host.example.net. 1 2 3 4 5\n@ NS ns.example.net.\n"),
        ("a.b.", "$TTL 60\n@ SOA b. a.b.a.b. 1 2 3 4 5\n@ NS ns.other.\n"),
    ];
    let names = [
        "",
        "nx-q1w2e3.",
        "a.b.c.",
        "com.",
        "example.com.",
        "x.example.com.",
        "a.b.",
        "b.",
        "net.",
        "root-servers.net.",
        "x.a.root-servers.net.",
        "A.B.A.B.",
    ];
    let (mut a, mut b) = ([0u8; 600], [0u8; 600]);
    for (origin, text) in cases {
        let z = zone_at(origin, text);
        let neg = z.negative_soa().expect(origin);
        let mut fast = 0;
        for n in names {
            let qname = format!("{n}{}", if origin == "." { "" } else { origin });
            let qname = if qname.is_empty() { ".".to_string() } else { qname };
            let Ok(q) = name::from_text(&qname, None) else { continue };
            if !name::is_subdomain(&name::to_lowercase(&q), z.apex()) {
                continue;
            }
            let want = writer_output(&z, &qname, &mut a);
            if let Some(got) = fast_output(&z, &qname, &mut b) {
                assert_eq!(&a[..want], &b[..got], "{origin} {qname}");
                fast += 1;
            }
        }
        assert!(fast >= 2, "{origin}: {fast}");
        let flood = format!("nx-7f3k2p.{}", if origin == "." { "" } else { origin });
        assert!(neg.fits(&name::from_text(&flood, None).unwrap()), "{origin}");
    }
}
