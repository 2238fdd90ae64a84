//! Properties of the answers that the RFCs fix exactly (the answers
//! themselves are checked against Knot, NSD and BIND by the golden tests).

use std::net::IpAddr;
use std::sync::Arc;

use levee_limit::cookie::{self, Secrets, Verdict};
use levee_wire::edns;
use levee_wire::header::{flag, rcode};
use levee_wire::message::Message;
use levee_wire::name;
use levee_wire::query::{parse_query, Parsed};
use levee_wire::rtype::{c, t};
use levee_zone::{Acl, Source, ZoneEntry, ZoneSet};

use crate::finish::{Hints, Outcome};
use crate::request::Request;
use crate::respond::respond_query;
use crate::testing::{answer, opt_options};
use crate::{Config, Decision, Kind, Transport};

const PARENT: &str = "$ORIGIN p.test.
$TTL 300
@        SOA ns1 hm 7 3600 600 86400 60
@        NS  ns1
ns1      A   192.0.2.1
kid      NS  ns1.kid
ns1.kid  A   192.0.2.2
kid      DS  1 13 2 0011223344556677889900112233445566778899001122334455667788990011
www      CNAME big
";

const KID: &str = "$ORIGIN kid.p.test.
$TTL 300
@        SOA ns1 hm 1 3600 600 86400 60
@        NS  ns1
ns1      A   192.0.2.2
";

fn zones() -> Arc<ZoneSet> {
    let mut text = PARENT.to_string();
    for i in 0..60 {
        text.push_str(&format!("big A 198.51.100.{i}\n"));
    }
    for i in 0..3000 {
        text.push_str(&format!("h{i} TXT \"host {i} padding padding padding\"\n"));
    }
    let mut set = ZoneSet::new();
    for (origin, text, acl) in [("p.test.", text.as_str(), true), ("kid.p.test.", KID, false)] {
        let o = name::from_text(origin, None).unwrap();
        let built = levee_zone::load(Source::Memory { name: origin, data: text.as_bytes() }, &o).unwrap();
        let mut a = Acl::none();
        if acl {
            a.push("127.0.0.1".parse().unwrap(), 32);
        }
        set.insert(ZoneEntry::new(Arc::new(built.zone), a));
    }
    Arc::new(set)
}

const SECRET: Secrets = Secrets { current: [9; 16], previous: None };

fn cfg() -> Config {
    Config {
        udp_payload: 1232,
        nsid: Some(b"ns-a".to_vec()),
        identity: None,
        version: Some(b"levee test".to_vec()),
        cookies: Some(SECRET),
        tcp_keepalive: Some(100),
        keys: Default::default(),
        updates: Vec::new(),
        padding: true,
    }
}

/// A query with optional OPT (payload, version, DO) and options.
fn query(qname: &str, qtype: u16, flags: u16, opt: Option<(u16, u8, bool, &[u8])>) -> Vec<u8> {
    let mut m = vec![0xab, 0xcd];
    m.extend_from_slice(&flags.to_be_bytes());
    m.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, opt.is_some() as u8]);
    m.extend_from_slice(&name::from_text(qname, None).unwrap());
    m.extend_from_slice(&qtype.to_be_bytes());
    m.extend_from_slice(&c::IN.to_be_bytes());
    if let Some((size, ver, dnssec, options)) = opt {
        m.extend_from_slice(&[0, 0, 41]);
        m.extend_from_slice(&size.to_be_bytes());
        m.extend_from_slice(&[0, ver, if dnssec { 0x80 } else { 0 }, 0]);
        m.extend_from_slice(&(options.len() as u16).to_be_bytes());
        m.extend_from_slice(options);
    }
    m
}

const CLIENT: &str = "127.0.0.1";

fn ask(z: &Arc<ZoneSet>, msg: &[u8], transport: Transport) -> Option<Message> {
    match answer(z, &cfg(), msg, CLIENT, transport, 1_000_000) {
        (Decision::Send(n, _), out) => Some(Message::parse(&out[..n]).expect("response parses")),
        (Decision::Drop(_), _) => None,
        (Decision::Transfer(_), _) => panic!("unexpected transfer"),
        (Decision::Update(_), _) => panic!("unexpected update hand-off"),
    }
}

#[test]
fn truncation_never_splits_an_rrset() {
    let z = zones();
    // 60 A records (~1 kB) behind a CNAME, at every payload size.
    for size in (512..=1400).step_by(16) {
        let m = ask(&z, &query("www.p.test.", t::A, 0, Some((size, 0, false, &[]))), Transport::Udp).unwrap();
        let a = m.answer.iter().filter(|r| r.rtype == t::A).count();
        if m.header.has(flag::TC) {
            assert!(m.answer.is_empty() && m.authority.is_empty(), "size {size}: TC with records");
        } else {
            assert_eq!(a, 60, "size {size}: partial RRset");
        }
        assert!(m.opt().is_some(), "size {size}: OPT must survive truncation");
    }
}

#[test]
fn badvers_for_edns_versions_above_zero() {
    let z = zones();
    let m = ask(&z, &query("ns1.p.test.", t::A, 0, Some((1232, 1, true, &[]))), Transport::Udp).unwrap();
    assert_eq!(m.rcode(), rcode::BADVERS);
    assert!(m.answer.is_empty());
    let o = m.opt().unwrap();
    assert_eq!((o.ttl >> 16) & 0xFF, 0, "we speak EDNS version 0");
}

#[test]
fn cookies_are_answered_with_a_valid_server_cookie() {
    let z = zones();
    let mut opt = vec![0, 10, 0, 8];
    opt.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
    let m = ask(&z, &query("ns1.p.test.", t::A, 0, Some((1232, 0, false, &opt))), Transport::Udp).unwrap();
    let cookie_opt = opt_options(&m).into_iter().find(|(c, _)| *c == edns::code::COOKIE).expect("COOKIE");
    assert_eq!(cookie_opt.1.len(), 24);
    assert_eq!(&cookie_opt.1[..8], &[1, 2, 3, 4, 5, 6, 7, 8]);
    let ip: IpAddr = CLIENT.parse().unwrap();
    let client: [u8; 8] = cookie_opt.1[..8].try_into().unwrap();
    assert_eq!(cookie::check(&SECRET, &client, &cookie_opt.1[8..], ip, 1_000_000), Verdict::Valid);
    // A malformed cookie length is FORMERR (RFC 7873 §5.2.2).
    let bad = [0, 10, 0, 5, 1, 2, 3, 4, 5];
    let m = ask(&z, &query("ns1.p.test.", t::A, 0, Some((1232, 0, false, &bad))), Transport::Udp).unwrap();
    assert_eq!(m.rcode(), rcode::FORMERR);
}

#[test]
fn nsid_and_keepalive_only_when_asked() {
    let z = zones();
    let m = ask(&z, &query("ns1.p.test.", t::A, 0, Some((1232, 0, false, &[0, 3, 0, 0]))), Transport::Udp).unwrap();
    assert_eq!(opt_options(&m), vec![(edns::code::NSID, b"ns-a".to_vec())]);
    let m = ask(&z, &query("ns1.p.test.", t::A, 0, Some((1232, 0, false, &[]))), Transport::Udp).unwrap();
    assert!(opt_options(&m).is_empty());
    let ka = [0, 11, 0, 0];
    let m = ask(&z, &query("ns1.p.test.", t::A, 0, Some((1232, 0, false, &ka))), Transport::Udp).unwrap();
    assert!(opt_options(&m).is_empty(), "no keepalive over UDP (RFC 7828 §3.2.1)");
    let m = ask(&z, &query("ns1.p.test.", t::A, 0, Some((1232, 0, false, &ka))), Transport::Tcp).unwrap();
    assert_eq!(opt_options(&m), vec![(edns::code::TCP_KEEPALIVE, 100u16.to_be_bytes().to_vec())]);
}

#[test]
fn header_bits() {
    let z = zones();
    let q = query("nS1.P.tEsT.", t::A, flag::RD | flag::CD | flag::AD | flag::Z, None);
    let m = ask(&z, &q, Transport::Udp).unwrap();
    let h = m.header;
    assert!(h.has(flag::QR) && h.has(flag::AA) && h.has(flag::RD) && h.has(flag::CD));
    assert!(!h.has(flag::AD) && !h.has(flag::Z) && !h.has(flag::RA) && !h.has(flag::TC));
    assert_eq!(h.id, 0xabcd);
    assert_eq!(name::to_text(&m.question[0].name), "nS1.P.tEsT.", "the question's case is preserved");
    assert_eq!(name::to_text(&m.answer[0].owner), "nS1.P.tEsT.", "the owner points into the question");
    assert!(m.opt().is_none(), "no OPT in the response without OPT in the query");
}

#[test]
fn ds_comes_from_the_parent_and_the_child_apex_from_the_child() {
    let z = zones();
    let m = ask(&z, &query("kid.p.test.", t::DS, 0, None), Transport::Udp).unwrap();
    assert!(m.header.has(flag::AA));
    assert_eq!(m.answer.len(), 1);
    assert_eq!(m.answer[0].rtype, t::DS);
    let m = ask(&z, &query("kid.p.test.", t::SOA, 0, None), Transport::Udp).unwrap();
    assert_eq!(m.answer[0].rtype, t::SOA);
    assert_eq!(name::to_text(&m.answer[0].owner), "kid.p.test.");
    let m = ask(&z, &query("other.test.", t::A, 0, None), Transport::Udp).unwrap();
    assert_eq!(m.rcode(), rcode::REFUSED);
}

#[test]
fn chaos_identity_can_be_off() {
    let z = zones();
    let mut q = query("version.bind.", t::TXT, 0, None);
    let n = q.len();
    q[n - 2..].copy_from_slice(&c::CH.to_be_bytes());
    let m = ask(&z, &q, Transport::Udp).unwrap();
    assert_eq!(m.answer.len(), 1);
    assert_eq!(m.answer[0].class, c::CH);
    assert_eq!(&m.answer[0].rdata[1..], b"levee test");
    let mut q = query("hostname.bind.", t::TXT, 0, None);
    let n = q.len();
    q[n - 2..].copy_from_slice(&c::CH.to_be_bytes());
    assert_eq!(ask(&z, &q, Transport::Udp).unwrap().rcode(), rcode::REFUSED, "identity is off in this config");
}

#[test]
fn axfr_streams_every_record_once_between_two_soas() {
    let z = zones();
    let q = query("p.test.", t::AXFR, 0, Some((1232, 0, false, &[])));
    let (Decision::Transfer(mut tr), mut out) = answer(&z, &cfg(), &q, CLIENT, Transport::Tcp, 0) else {
        panic!("no transfer")
    };
    let mut records = Vec::new();
    let mut messages = 0;
    while let Some(n) = tr.next_message(&mut out) {
        let m = Message::parse(&out[..n]).unwrap();
        assert_eq!(m.header.id, 0xabcd);
        assert!(m.header.has(flag::AA));
        assert_eq!(m.question.len(), usize::from(messages == 0), "question only in the first message");
        assert_eq!(m.opt().is_some(), messages == 0, "OPT only in the first message");
        records.extend(m.answer);
        messages += 1;
    }
    assert!(messages > 1, "3000 TXT records need several messages");
    assert_eq!(records.first().unwrap().rtype, t::SOA);
    assert_eq!(records.last().unwrap().rtype, t::SOA);
    let zone = z.exact(&name::from_text("p.test.", None).unwrap()).unwrap();
    assert_eq!(records.len() as u64, zone.zone.record_count() + 1, "every record once, the SOA twice");
    let mut seen = std::collections::HashSet::new();
    for r in &records[1..records.len() - 1] {
        assert!(seen.insert((r.owner.clone(), r.rtype, r.rdata.clone())), "duplicate record in AXFR");
    }
    // The child zone does not allow transfers; IXFR with our serial gets one SOA.
    let q = query("kid.p.test.", t::AXFR, 0, None);
    assert_eq!(ask(&z, &q, Transport::Tcp).unwrap().rcode(), rcode::REFUSED);
}

#[test]
fn ixfr_up_to_date_gets_one_soa() {
    let z = zones();
    let mut q = query("p.test.", t::IXFR, 0, None);
    q[9] = 1; // NSCOUNT: the client's SOA
    let rd: Vec<u8> = [&[0u8, 0][..], &7u32.to_be_bytes()[..], &[0u8; 16][..]].concat();
    q.extend_from_slice(&[0xc0, 12]); // owner: the question's name
    q.extend_from_slice(&t::SOA.to_be_bytes());
    q.extend_from_slice(&c::IN.to_be_bytes());
    q.extend_from_slice(&0u32.to_be_bytes());
    q.extend_from_slice(&(rd.len() as u16).to_be_bytes());
    q.extend_from_slice(&rd);
    let m = ask(&z, &q, Transport::Tcp).unwrap();
    assert_eq!(m.answer.len(), 1, "serial 7 is current: one SOA (RFC 1995 §4)");
    assert_eq!(m.answer[0].rtype, t::SOA);
}

#[test]
fn meta_classifies_and_shedding_skips_the_negative_proof() {
    let z = zones();
    let c = cfg();
    // The answering stages with the admission stage's hint, as the
    // worker calls them.
    let run = |name: &str, qtype: u16, shed: bool| {
        let q = query(name, qtype, 0, Some((1232, 0, true, &[])));
        let req = Request {
            msg: &q,
            client: CLIENT.parse().unwrap(),
            transport: Transport::Udp,
            now: 1_700_000_000,
            peer: None,
        };
        let mut out = vec![0u8; 4096];
        let Parsed::Query(parsed) = parse_query(&q) else { panic!("not a query") };
        match respond_query(&req, &parsed, &z, &c, &mut out, Hints { shed_negative: shed, ..Hints::default() }) {
            Outcome::Reply(n, meta) => (n, meta),
            _ => panic!("no reply"),
        }
    };
    let (_, a) = run("www.p.test.", t::A, false);
    let (_, a2) = run("WWW.p.test.", t::A, false);
    let (_, aaaa) = run("www.p.test.", t::AAAA, false);
    assert_eq!(a.kind, Kind::Answer);
    assert_eq!(a.key, a2.key, "the key ignores letter case");
    assert_ne!(a.key, aaaa.key, "answers are keyed per type");
    let (full, nx) = run("nope.p.test.", t::A, false);
    let (_, nx2) = run("other.p.test.", t::A, false);
    assert_eq!((nx.kind, nx.rcode), (Kind::NxDomain, rcode::NXDOMAIN));
    assert_eq!(nx.key, nx2.key, "NXDOMAIN is keyed per zone");
    let (shed, nx3) = run("nope.p.test.", t::A, true);
    assert_eq!(nx3, nx);
    assert!(shed < full, "shed response {shed} octets, full {full}");
    // Shedding changes nothing for names that exist.
    assert_eq!(run("www.p.test.", t::A, true), run("www.p.test.", t::A, false));
    let (_, refused) = run("www.elsewhere.", t::A, false);
    assert_eq!((refused.kind, refused.rcode), (Kind::Error, rcode::REFUSED));
}

/// An AXFR of a zone whose in-zone NS targets are stored as references
/// to their node (levee-zone's snapshot) gives back every record of the
/// zone file as the zone file parser reads it: targets in the zone, in
/// another letter case, without addresses, MX and SRV targets.
#[test]
fn axfr_gives_back_in_zone_ns_targets_as_written() {
    let mut text = String::from(
        "$ORIGIN r.test.\n$TTL 300\n@ SOA ns1 hm 7 3600 600 86400 60\n@ NS ns1\n@ NS ns.hoster.net.\n\
         ns1 A 192.0.2.1\nmixed NS NS1.Mixed\nmixed NS ns1.d0\nns1.mixed A 192.0.2.2\n\
         bare NS host\nhost TXT \"no address\"\nmail MX 10 smtp\nsmtp A 192.0.2.3\n_s._tcp SRV 0 0 53 smtp\n",
    );
    for i in 0..3000 {
        text.push_str(&format!(
            "d{i} NS ns1.d{i}\nd{i} NS ns{}.hoster.net.\nns1.d{i} A 198.51.100.{}\n",
            i % 3,
            i % 250
        ));
    }
    let o = name::from_text("r.test.", None).unwrap();
    let mut want = std::collections::BTreeSet::new();
    let mut diags = Vec::new();
    levee_zone::zonefile::parse(
        Source::Memory { name: "r", data: text.as_bytes() },
        &o,
        &mut |r: &levee_zone::zonefile::Record<'_>| {
            want.insert((name::to_lowercase(r.owner).to_vec(), r.rtype, r.rdata.to_vec()));
            Ok(())
        },
        &mut diags,
    );
    let built = levee_zone::load(Source::Memory { name: "r", data: text.as_bytes() }, &o).unwrap();
    let mut acl = Acl::none();
    acl.push("127.0.0.1".parse().unwrap(), 32);
    let mut set = ZoneSet::new();
    set.insert(ZoneEntry::new(Arc::new(built.zone), acl));
    let z = Arc::new(set);
    let q = query("r.test.", t::AXFR, 0, None);
    let (Decision::Transfer(mut tr), mut out) = answer(&z, &cfg(), &q, CLIENT, Transport::Tcp, 0) else {
        panic!("no transfer")
    };
    let mut got = std::collections::BTreeSet::new();
    let mut records = 0;
    while let Some(n) = tr.next_message(&mut out) {
        for r in Message::parse(&out[..n]).unwrap().answer {
            got.insert((name::to_lowercase(&r.owner).to_vec(), r.rtype, r.rdata));
            records += 1;
        }
    }
    assert_eq!(records, want.len() + 1, "every record once, the SOA twice");
    assert_eq!(got, want);
}
