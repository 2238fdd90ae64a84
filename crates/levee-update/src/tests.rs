//! The evaluator against small zones: every prerequisite kind satisfied
//! and failed, every update kind, each special rule of RFC 2136 §3.4.2
//! as BIND applies it, and the serial policy. Results are read back by
//! applying the difference to the zone's records and listing them as
//! text.

use std::collections::BTreeSet;

use levee_wire::header::{rcode, Header};
use levee_wire::message::{Message, Question, Record};
use levee_wire::name;
use levee_wire::rtype::{c, t};
use levee_zone::journal;
use levee_zone::zonefile::{self, record_to_text};
use levee_zone::{Source, Zone};

use crate::{evaluate, Evaluation};

const ZONE: &str = "\
$ORIGIN ex.test.
$TTL 300
@ SOA ns1 host 100 3600 600 86400 300
@ NS ns1
@ NS ns2
ns1 A 192.0.2.1
ns2 A 192.0.2.2
www A 192.0.2.10
www A 192.0.2.11
alias CNAME www
txt 600 TXT \"hello\"
sub NS ns.sub
ns.sub A 192.0.2.53
deep.ent.x A 192.0.2.99
";

fn origin() -> Vec<u8> {
    name::from_text("ex.test.", None).unwrap().as_slice().to_vec()
}

fn zone_of(text: &str) -> Zone {
    levee_zone::load(Source::Memory { name: "t", data: text.as_bytes() }, &origin()).unwrap().zone
}

fn zone() -> Zone {
    zone_of(ZONE)
}

/// One record from a zone-file line (relative to ex.test., class IN).
fn rec(line: &str) -> Record {
    let text = format!("$ORIGIN ex.test.\n$TTL 300\n{line}\n");
    let mut out = None;
    let mut diags = Vec::new();
    zonefile::parse(
        Source::Memory { name: "r", data: text.as_bytes() },
        &origin(),
        &mut |r| {
            out = Some(Record {
                owner: r.owner.to_vec(),
                rtype: r.rtype,
                class: r.class,
                ttl: r.ttl,
                rdata: r.rdata.to_vec(),
            });
            Ok(())
        },
        &mut diags,
    );
    out.unwrap_or_else(|| panic!("bad record {line}: {diags:?}"))
}

fn owner(n: &str) -> Vec<u8> {
    name::from_text(n, Some(&origin())).unwrap().as_slice().to_vec()
}

/// A record with no RDATA and TTL 0 (class ANY or NONE prerequisites,
/// class ANY deletions).
fn bare(n: &str, rtype: u16, class: u16) -> Record {
    Record { owner: owner(n), rtype, class, ttl: 0, rdata: Vec::new() }
}

/// `line` as a class NONE record (delete this RR / TTL 0).
fn none(line: &str) -> Record {
    Record { class: c::NONE, ttl: 0, ..rec(line) }
}

/// A value-dependent prerequisite (class IN, TTL 0).
fn exact(line: &str) -> Record {
    Record { ttl: 0, ..rec(line) }
}

fn msg(prereqs: Vec<Record>, updates: Vec<Record>) -> Message {
    Message {
        header: Header { id: 1, flags: 5 << 11, qdcount: 1, ..Header::default() },
        question: vec![Question { name: origin(), qtype: t::SOA, qclass: c::IN }],
        answer: prereqs,
        authority: updates,
        additional: Vec::new(),
    }
}

/// The zone's records after the update, as text lines.
fn after(z: &Zone, e: &Evaluation) -> BTreeSet<String> {
    let recs = journal::records(z);
    let recs = match &e.diff {
        Some(d) => journal::apply(&recs, d).unwrap(),
        None => recs,
    };
    // The result must build: the daemon publishes it.
    journal::build_from(&origin(), &recs, levee_zone::Checks::default()).unwrap();
    recs.iter().map(|r| record_to_text(&r.owner, r.ttl, c::IN, r.rtype, &r.rdata)).collect()
}

fn line(s: &str) -> String {
    let r = rec(s);
    record_to_text(&r.owner, r.ttl, c::IN, r.rtype, &r.rdata)
}

fn run(prereqs: Vec<Record>, updates: Vec<Record>) -> (u16, BTreeSet<String>, Evaluation) {
    let z = zone();
    let e = evaluate(&msg(prereqs, updates), &z);
    (e.rcode, after(&z, &e), e)
}

fn serial_of(e: &Evaluation) -> Option<u32> {
    e.diff.as_ref().map(|d| d.to())
}

// ---- zone section ----

#[test]
fn zone_section_must_name_the_zone_as_one_soa_question() {
    let z = zone();
    let mut m = msg(vec![], vec![rec("a A 192.0.2.1")]);
    m.question[0].qtype = t::A;
    assert_eq!(evaluate(&m, &z).rcode, rcode::FORMERR);
    let mut m = msg(vec![], vec![]);
    m.question.push(m.question[0].clone());
    assert_eq!(evaluate(&m, &z).rcode, rcode::FORMERR);
    let mut m = msg(vec![], vec![]);
    m.question.clear();
    assert_eq!(evaluate(&m, &z).rcode, rcode::FORMERR);
    let mut m = msg(vec![], vec![]);
    m.question[0].name = owner("www");
    assert_eq!(evaluate(&m, &z).rcode, rcode::NOTAUTH);
    let mut m = msg(vec![], vec![]);
    m.question[0].qclass = c::CH;
    assert_eq!(evaluate(&m, &z).rcode, rcode::NOTAUTH);
    // The zone name in another letter case is the zone.
    let mut m = msg(vec![], vec![]);
    m.question[0].name = name::from_text("EX.Test.", None).unwrap().as_slice().to_vec();
    assert_eq!(evaluate(&m, &z).rcode, rcode::NOERROR);
}

// ---- prerequisites ----

#[test]
fn prerequisite_name_in_use() {
    assert_eq!(run(vec![bare("www", t::ANY, c::ANY)], vec![]).0, rcode::NOERROR);
    assert_eq!(run(vec![bare("nope", t::ANY, c::ANY)], vec![]).0, rcode::NXDOMAIN);
    // An empty non-terminal is not in use.
    assert_eq!(run(vec![bare("ent.x", t::ANY, c::ANY)], vec![]).0, rcode::NXDOMAIN);
}

#[test]
fn prerequisite_name_not_in_use() {
    assert_eq!(run(vec![bare("nope", t::ANY, c::NONE)], vec![]).0, rcode::NOERROR);
    assert_eq!(run(vec![bare("ent.x", t::ANY, c::NONE)], vec![]).0, rcode::NOERROR);
    assert_eq!(run(vec![bare("www", t::ANY, c::NONE)], vec![]).0, rcode::YXDOMAIN);
}

#[test]
fn prerequisite_rrset_exists_value_independent() {
    assert_eq!(run(vec![bare("www", t::A, c::ANY)], vec![]).0, rcode::NOERROR);
    assert_eq!(run(vec![bare("www", t::AAAA, c::ANY)], vec![]).0, rcode::NXRRSET);
    assert_eq!(run(vec![bare("nope", t::A, c::ANY)], vec![]).0, rcode::NXRRSET);
}

#[test]
fn prerequisite_rrset_does_not_exist() {
    assert_eq!(run(vec![bare("www", t::AAAA, c::NONE)], vec![]).0, rcode::NOERROR);
    assert_eq!(run(vec![bare("www", t::A, c::NONE)], vec![]).0, rcode::YXRRSET);
}

#[test]
fn prerequisite_rrset_exists_value_dependent() {
    let both = || vec![exact("www A 192.0.2.10"), exact("www A 192.0.2.11")];
    assert_eq!(run(both(), vec![]).0, rcode::NOERROR);
    // Order does not matter; TTL 0 is required, not compared.
    assert_eq!(run(vec![exact("www A 192.0.2.11"), exact("www A 192.0.2.10")], vec![]).0, rcode::NOERROR);
    // A subset, a superset and other values all fail.
    assert_eq!(run(vec![exact("www A 192.0.2.10")], vec![]).0, rcode::NXRRSET);
    let mut more = both();
    more.push(exact("www A 192.0.2.12"));
    assert_eq!(run(more, vec![]).0, rcode::NXRRSET);
    assert_eq!(run(vec![exact("nope A 192.0.2.10")], vec![]).0, rcode::NXRRSET);
}

#[test]
fn prerequisite_format_and_zone_errors() {
    // A TTL, RDATA on a class ANY/NONE test, another class.
    assert_eq!(run(vec![Record { ttl: 5, ..bare("www", t::A, c::ANY) }], vec![]).0, rcode::FORMERR);
    assert_eq!(run(vec![Record { rdata: vec![1, 2, 3, 4], ..bare("www", t::A, c::ANY) }], vec![]).0, rcode::FORMERR);
    assert_eq!(run(vec![Record { rdata: vec![1, 2, 3, 4], ..bare("www", t::A, c::NONE) }], vec![]).0, rcode::FORMERR);
    assert_eq!(run(vec![bare("www", t::A, c::CH)], vec![]).0, rcode::FORMERR);
    // Outside the zone.
    let outside =
        Record { owner: name::from_text("www.other.", None).unwrap().as_slice().to_vec(), ..bare("x", t::A, c::ANY) };
    assert_eq!(run(vec![outside], vec![]).0, rcode::NOTZONE);
}

#[test]
fn the_first_failing_prerequisite_decides_and_nothing_is_applied() {
    let (rc, recs, e) =
        run(vec![bare("nope", t::ANY, c::ANY), bare("www", t::A, c::NONE)], vec![rec("new A 192.0.2.7")]);
    assert_eq!(rc, rcode::NXDOMAIN);
    assert!(e.diff.is_none());
    assert!(!recs.contains(&line("new A 192.0.2.7")));
}

// ---- prescan ----

#[test]
fn prescan_refuses_malformed_updates_before_applying_any() {
    let ok = rec("new A 192.0.2.7");
    let cases = [
        (Record { class: c::ANY, ttl: 5, ..bare("www", t::A, c::ANY) }, rcode::FORMERR),
        (Record { rdata: vec![1, 2, 3, 4], ..bare("www", t::A, c::ANY) }, rcode::FORMERR),
        (bare("www", t::AXFR, c::ANY), rcode::FORMERR),
        (Record { ttl: 5, ..none("www A 192.0.2.10") }, rcode::FORMERR),
        (bare("www", t::ANY, c::NONE), rcode::FORMERR),
        (Record { rtype: t::ANY, ..rec("www A 192.0.2.10") }, rcode::FORMERR),
        (Record { rdata: vec![1, 2, 3], ..rec("www A 192.0.2.10") }, rcode::FORMERR),
        (Record { class: c::CH, ..rec("www A 192.0.2.10") }, rcode::FORMERR),
        (
            Record { owner: name::from_text("a.other.", None).unwrap().as_slice().to_vec(), ..rec("a A 192.0.2.1") },
            rcode::NOTZONE,
        ),
    ];
    for (bad, want) in cases {
        let (rc, recs, e) = run(vec![], vec![ok.clone(), bad.clone()]);
        assert_eq!(rc, want, "{bad:?}");
        assert!(e.diff.is_none());
        assert!(!recs.contains(&line("new A 192.0.2.7")));
    }
}

// ---- updates ----

#[test]
fn add_records_and_raise_the_serial_by_one() {
    let (rc, recs, e) = run(vec![], vec![rec("new A 192.0.2.7"), rec("new AAAA 2001:db8::7"), rec("www A 192.0.2.12")]);
    assert_eq!(rc, rcode::NOERROR);
    assert!(recs.contains(&line("new A 192.0.2.7")));
    assert!(recs.contains(&line("new AAAA 2001:db8::7")));
    assert!(recs.contains(&line("www A 192.0.2.12")));
    assert!(recs.contains(&line("www A 192.0.2.10")));
    assert_eq!(serial_of(&e), Some(101));
    assert!(recs.contains(&line("@ SOA ns1 host 101 3600 600 86400 300")));
}

#[test]
fn duplicates_are_ignored_and_change_nothing() {
    let (rc, recs, e) = run(vec![], vec![rec("www A 192.0.2.10")]);
    assert_eq!(rc, rcode::NOERROR);
    assert!(e.diff.is_none(), "no change, no new serial");
    assert_eq!(recs, after(&zone(), &Evaluation { rcode: 0, diff: None, reason: "" }));
    // The same record twice in one update is added once.
    let (_, recs, e) = run(vec![], vec![rec("n A 192.0.2.8"), rec("n A 192.0.2.8")]);
    assert_eq!(e.diff.unwrap().added.len(), 1);
    assert!(recs.contains(&line("n A 192.0.2.8")));
}

#[test]
fn an_added_ttl_becomes_the_rrsets_ttl() {
    let (_, recs, _) = run(vec![], vec![rec("www 60 A 192.0.2.12")]);
    for a in ["10", "11", "12"] {
        assert!(recs.contains(&line(&format!("www 60 A 192.0.2.{a}"))), "{recs:?}");
    }
    // The same record with another TTL changes the TTL only.
    let (_, recs, e) = run(vec![], vec![rec("txt 60 TXT \"hello\"")]);
    assert!(recs.contains(&line("txt 60 TXT \"hello\"")));
    assert_eq!(serial_of(&e), Some(101));
}

#[test]
fn delete_an_rrset() {
    let (rc, recs, e) = run(vec![], vec![bare("www", t::A, c::ANY)]);
    assert_eq!(rc, rcode::NOERROR);
    assert!(!recs.iter().any(|r| r.starts_with("www.ex.test.")));
    assert_eq!(serial_of(&e), Some(101));
    // An RRset that is not there: nothing changes.
    assert!(run(vec![], vec![bare("www", t::MX, c::ANY)]).2.diff.is_none());
}

#[test]
fn delete_all_rrsets_of_a_name() {
    let (_, recs, _) = run(vec![], vec![rec("www TXT \"x\""), bare("www", t::ANY, c::ANY)]);
    assert!(!recs.iter().any(|r| r.starts_with("www.ex.test.")), "{recs:?}");
    // At the apex, SOA and NS stay (and the apex's other data goes).
    let (_, recs, e) = run(vec![], vec![rec("@ TXT \"apex\""), bare("@", t::ANY, c::ANY)]);
    assert!(!recs.iter().any(|r| r.contains("apex")));
    assert!(recs.contains(&line("@ NS ns1")) && recs.contains(&line("@ NS ns2")));
    assert!(e.diff.is_none(), "added then deleted: no change");
}

#[test]
fn delete_one_record() {
    let (_, recs, _) = run(vec![], vec![none("www A 192.0.2.10")]);
    assert!(!recs.contains(&line("www A 192.0.2.10")));
    assert!(recs.contains(&line("www A 192.0.2.11")));
    // A record that is not there: no change.
    assert!(run(vec![], vec![none("www A 192.0.2.99")]).2.diff.is_none());
    // The last record of an RRset removes the RRset.
    let (_, recs, _) = run(vec![], vec![none("txt TXT \"hello\"")]);
    assert!(!recs.iter().any(|r| r.starts_with("txt.")));
}

#[test]
fn the_soa_and_the_apex_ns_cannot_be_deleted() {
    for u in [bare("@", t::SOA, c::ANY), bare("@", t::NS, c::ANY), none("@ SOA ns1 host 100 3600 600 86400 300")] {
        let (rc, _, e) = run(vec![], vec![u]);
        assert_eq!(rc, rcode::NOERROR);
        assert!(e.diff.is_none());
    }
    // One of two NS may go, the last one not.
    let (_, recs, _) = run(vec![], vec![none("@ NS ns1"), none("@ NS ns2")]);
    assert!(!recs.contains(&line("@ NS ns1")));
    assert!(recs.contains(&line("@ NS ns2")));
    // Below the apex (a delegation) the last NS may go.
    let (_, recs, _) = run(vec![], vec![none("sub NS ns.sub")]);
    assert!(!recs.iter().any(|r| r.starts_with("sub.ex.test.")));
}

#[test]
fn soa_is_replaced_only_with_a_serial_not_lower() {
    let (_, recs, e) = run(vec![], vec![rec("@ SOA ns1 host2 200 3600 600 86400 300")]);
    assert!(recs.contains(&line("@ SOA ns1 host2 200 3600 600 86400 300")));
    assert_eq!(serial_of(&e), Some(200), "the added serial is kept, not incremented");
    // A lower serial is ignored.
    let (rc, _, e) = run(vec![], vec![rec("@ SOA ns1 host2 99 3600 600 86400 300")]);
    assert_eq!(rc, rcode::NOERROR);
    assert!(e.diff.is_none());
    // With another change, a lower SOA is still ignored and the serial
    // incremented.
    let (_, recs, e) = run(vec![], vec![rec("@ SOA ns1 host2 99 3600 600 86400 300"), rec("z A 192.0.2.1")]);
    assert_eq!(serial_of(&e), Some(101));
    assert!(recs.contains(&line("@ SOA ns1 host 101 3600 600 86400 300")));
    // An SOA below the apex is ignored.
    assert!(run(vec![], vec![rec("www SOA ns1 host 500 1 1 1 1")]).2.diff.is_none());
}

#[test]
fn the_serial_wraps_past_zero_to_one() {
    let z = zone_of(&ZONE.replace(" 100 3600", " 4294967295 3600"));
    let e = evaluate(&msg(vec![], vec![rec("n A 192.0.2.1")]), &z);
    assert_eq!(serial_of(&e), Some(1));
}

#[test]
fn cname_and_other_data_do_not_mix() {
    // A CNAME beside other data is ignored.
    let (_, recs, e) = run(vec![], vec![rec("www CNAME elsewhere")]);
    assert!(e.diff.is_none());
    assert!(!recs.contains(&line("www CNAME elsewhere")));
    // Other data beside a CNAME is ignored.
    let (_, _, e) = run(vec![], vec![rec("alias A 192.0.2.1")]);
    assert!(e.diff.is_none());
    // A CNAME replaces a CNAME.
    let (_, recs, _) = run(vec![], vec![rec("alias CNAME ns1")]);
    assert!(recs.contains(&line("alias CNAME ns1")));
    assert!(!recs.contains(&line("alias CNAME www")));
    // Deleting the data first lets the CNAME in.
    let (_, recs, _) = run(vec![], vec![bare("www", t::ANY, c::ANY), rec("www CNAME ns1")]);
    assert!(recs.contains(&line("www CNAME ns1")));
    // A CNAME at a new name is fine.
    let (_, recs, _) = run(vec![], vec![rec("c2 CNAME www")]);
    assert!(recs.contains(&line("c2 CNAME www")));
}

#[test]
fn updates_apply_in_order() {
    // Delete the RRset, then add one record: one record left.
    let (_, recs, _) = run(vec![], vec![bare("www", t::A, c::ANY), rec("www A 192.0.2.50")]);
    let www: Vec<_> = recs.iter().filter(|r| r.starts_with("www.")).collect();
    assert_eq!(www, vec![&line("www A 192.0.2.50")]);
    // Add, then delete the same record: no change.
    assert!(run(vec![], vec![rec("q A 192.0.2.1"), none("q A 192.0.2.1")]).2.diff.is_none());
}

#[test]
fn prerequisites_see_the_zone_before_the_update() {
    // "new does not exist" holds even though the update adds it.
    let (rc, recs, _) = run(vec![bare("new", t::ANY, c::NONE)], vec![rec("new A 192.0.2.7")]);
    assert_eq!(rc, rcode::NOERROR);
    assert!(recs.contains(&line("new A 192.0.2.7")));
}

#[test]
fn signed_zones_are_refused() {
    let signed = format!("{ZONE}@ RRSIG SOA 8 2 300 20300101000000 20200101000000 1 ex.test. AAAA\n");
    let z = zone_of(&signed);
    assert!(z.is_signed());
    assert_eq!(evaluate(&msg(vec![], vec![rec("n A 192.0.2.1")]), &z).rcode, rcode::REFUSED);
}

#[test]
fn owners_are_compared_without_case() {
    let mut r = rec("WWW A 192.0.2.10");
    r.owner = name::from_text("WwW.Ex.TEST.", None).unwrap().as_slice().to_vec();
    let (_, _, e) = run(vec![], vec![r]);
    assert!(e.diff.is_none(), "same record, other case: a duplicate");
    let p =
        Record { owner: name::from_text("WWW.EX.TEST.", None).unwrap().as_slice().to_vec(), ..bare("x", t::A, c::ANY) };
    assert_eq!(run(vec![p], vec![]).0, rcode::NOERROR);
}

#[test]
fn a_restricted_grant_refuses_what_it_does_not_name() {
    use crate::{evaluate_scoped, Scope};
    let z = zone();
    let dyn_a = Scope { names: vec![owner("dyn")], types: vec![t::A, t::AAAA] };
    let txt = Scope { names: vec![], types: vec![t::TXT] };
    let scopes = [dyn_a, txt];
    let ev = |updates: Vec<Record>| evaluate_scoped(&msg(vec![], updates), &z, Some(&scopes));
    // In scope: A below dyn., TXT anywhere; both together.
    assert_eq!(
        ev(vec![rec("h.dyn A 192.0.2.1"), rec("dyn AAAA 2001:db8::1"), rec("www TXT \"t\"")]).rcode,
        rcode::NOERROR
    );
    assert_eq!(ev(vec![none("www A 192.0.2.10")]).rcode, rcode::REFUSED, "an A outside dyn.");
    // Out of scope anywhere in the update refuses all of it.
    let e = ev(vec![rec("h.dyn A 192.0.2.1"), rec("h.dyn MX 10 www")]);
    assert_eq!((e.rcode, e.diff.is_none()), (rcode::REFUSED, true));
    // Deleting every RRset of a name needs a grant without types.
    assert_eq!(ev(vec![bare("h.dyn", t::ANY, c::ANY)]).rcode, rcode::REFUSED);
    assert_eq!(ev(vec![bare("h.dyn", t::A, c::ANY)]).rcode, rcode::NOERROR);
    // Prerequisites and the record's own form come first.
    assert_eq!(
        evaluate_scoped(&msg(vec![bare("nope", t::ANY, c::ANY)], vec![rec("www MX 1 www")]), &z, Some(&scopes)).rcode,
        rcode::NXDOMAIN
    );
    assert_eq!(ev(vec![bare("www", t::AXFR, c::ANY)]).rcode, rcode::FORMERR);
    // No scopes at all (no rule matched) refuses; `None` is unrestricted.
    assert_eq!(evaluate_scoped(&msg(vec![], vec![rec("x A 192.0.2.1")]), &z, Some(&[])).rcode, rcode::REFUSED);
    assert_eq!(evaluate_scoped(&msg(vec![], vec![rec("x MX 1 www")]), &z, None).rcode, rcode::NOERROR);
}

// ---- properties: outside input never panics, results always apply ----

mod props {
    use levee_wire::serial::Serial;
    use proptest::collection::vec;
    use proptest::prelude::*;

    use super::*;

    /// An UPDATE header and zone section for ex.test., then `tail` as its
    /// prerequisite and update sections (counts `an`, `ns`).
    fn raw(an: u16, ns: u16, tail: &[u8]) -> Vec<u8> {
        let mut m = vec![0, 1, 0x28, 0, 0, 1];
        m.extend_from_slice(&an.to_be_bytes());
        m.extend_from_slice(&ns.to_be_bytes());
        m.extend_from_slice(&[0, 0]);
        m.extend_from_slice(&origin());
        m.extend_from_slice(&[0, 6, 0, 1]);
        m.extend_from_slice(tail);
        m
    }

    const OWNERS: [&str; 6] = ["@", "www", "alias", "new", "sub", "ns1"];
    const LINES: [&str; 8] = [
        "A 192.0.2.10",
        "A 192.0.2.77",
        "NS ns1",
        "CNAME www",
        "TXT \"t\"",
        "MX 10 www",
        "SOA ns1 host 150 3600 600 86400 300",
        "AAAA 2001:db8::1",
    ];

    /// One update record: an owner, a record line, a class (IN, ANY
    /// with the type only, NONE, ANY ANY), a TTL choice.
    fn op(o: usize, l: usize, class: u8, ttl60: bool) -> Record {
        let line = format!("{} {} {}", OWNERS[o], if ttl60 { "60" } else { "300" }, LINES[l]);
        match class {
            0 => rec(&line),
            1 => Record { class: c::ANY, ttl: 0, rdata: Vec::new(), ..rec(&line) },
            2 => none(&line),
            _ => bare(OWNERS[o], t::ANY, c::ANY),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        /// Any octets after a valid zone section: never a panic, and the
        /// reply is always written.
        #[test]
        fn arbitrary_sections_never_panic(an in 0u16..4, ns in 0u16..6, tail in vec(any::<u8>(), 0..300)) {
            let z = zone();
            let m = raw(an, ns, &tail);
            if let Ok(msg) = Message::parse(&m) {
                let _ = evaluate(&msg, &z);
            }
            prop_assert!(crate::reply(&m, rcode::FORMERR, 1232, None, 0).len() >= 12);
            prop_assert!(crate::reply(&tail, rcode::FORMERR, 1232, None, 0).len() <= 512);
        }

        /// Any sequence of additions and deletions: the difference applies
        /// to the zone's records, the result builds, and the serial grows.
        #[test]
        fn every_difference_applies_and_builds(ops in vec((0usize..6, 0usize..8, 0u8..4, any::<bool>()), 0..10)) {
            let z = zone();
            let updates: Vec<Record> = ops.iter().map(|&(o, l, cl, t60)| op(o, l, cl, t60)).collect();
            let e = evaluate(&msg(vec![], updates), &z);
            prop_assert_eq!(e.rcode, rcode::NOERROR);
            if let Some(d) = &e.diff {
                prop_assert!(Serial(d.to()) > Serial(d.from()));
                let recs = journal::apply(&journal::records(&z), d);
                prop_assert!(recs.is_ok(), "{:?}", recs);
                let built = journal::build_from(&origin(), &recs.unwrap(), levee_zone::Checks::default());
                prop_assert!(built.is_ok(), "{:?}", built.err());
                let nz = built.unwrap().zone;
                prop_assert_eq!(nz.serial(), d.to());
                // The apex keeps its SOA and at least one NS.
                let apex = nz.lookup(nz.apex()).unwrap();
                prop_assert!(nz.find(apex, t::NS).is_some());
            }
        }
    }
}
