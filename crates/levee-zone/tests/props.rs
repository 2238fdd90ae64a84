//! Property test of the zone loader against the RDATA formatter: records
//! rendered as zone-file text (owners absolute, relative or blank, TTL and
//! class in either order, RDATA from `zonefile::rdata_to_text`) load back as
//! exactly those records.

use std::collections::{BTreeMap, BTreeSet};

use levee_wire::name::{self, MAX_NAME_LEN};
use levee_wire::rtype::{self, t};
use levee_zone::zonefile::rdata_to_text;
use levee_zone::{LoadOptions, Source};
use proptest::prelude::*;

/// (lowercased owner, type) → (TTL, set of RDATA).
type Rrsets = BTreeMap<(Vec<u8>, u16), (u32, BTreeSet<Vec<u8>>)>;

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

/// A label: any octets, with the ones special in zone files drawn often.
fn label() -> impl Strategy<Value = Vec<u8>> {
    let octet = prop_oneof![
        3 => any::<u8>(),
        2 => prop::sample::select(vec![b'.', b'\\', b'"', b'(', b')', b';', b'@', b'$', b'*', b'#', b' ', b'\n', 0, 0xFF]),
        3 => prop::sample::select(vec![b'a', b'B', b'c', b'D', b'0', b'1', b'-']),
    ];
    prop_oneof![6 => prop::collection::vec(octet.clone(), 1..6), 1 => prop::collection::vec(octet, 1..=63)]
}

/// A wire name made of `prefix` labels followed by `suffix` (a wire name),
/// leaving out the labels that would not fit in 255 octets.
fn join(prefix: &[Vec<u8>], suffix: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for l in prefix {
        if out.len() + 1 + l.len() + suffix.len() > MAX_NAME_LEN {
            break;
        }
        out.push(l.len() as u8);
        out.extend_from_slice(l);
    }
    out.extend_from_slice(suffix);
    out
}

fn any_name() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(label(), 0..6).prop_map(|ls| join(&ls, &[0]))
}

fn txt_rdata() -> impl Strategy<Value = Vec<u8>> {
    let s =
        prop_oneof![4 => prop::collection::vec(any::<u8>(), 0..40), 1 => prop::collection::vec(any::<u8>(), 0..=255)];
    prop::collection::vec(s, 1..4).prop_map(|ss| {
        let mut out = Vec::new();
        for s in ss {
            out.push(s.len() as u8);
            out.extend_from_slice(&s);
        }
        out
    })
}

/// A record type and RDATA. NS targets are outside the zone, so no glue is
/// ever required.
fn typed_rdata() -> impl Strategy<Value = (u16, Vec<u8>)> {
    let outside = name::from_text("ns.ext.", None).unwrap().as_slice().to_vec();
    prop_oneof![
        any::<[u8; 4]>().prop_map(|a| (t::A, a.to_vec())),
        any::<[u8; 16]>().prop_map(|a| (t::AAAA, a.to_vec())),
        txt_rdata().prop_map(|d| (t::TXT, d)),
        (any::<u16>(), any_name()).prop_map(|(p, n)| (t::MX, [p.to_be_bytes().as_slice(), &n].concat())),
        prop::collection::vec(label(), 0..3).prop_map(move |ls| (t::NS, join(&ls, &outside))),
    ]
}

/// How one record is written.
#[derive(Clone, Debug)]
struct Rec {
    /// Index into the case's pool of owners.
    owner: prop::sample::Index,
    rtype: u16,
    rdata: Vec<u8>,
    ttl: u32,
    /// 0: absolute owner, 1: relative owner, 2: blank owner when it repeats.
    owner_form: u8,
    /// 0: `TTL IN TYPE`, 1: `IN TTL TYPE`, 2: `TTL TYPE`.
    field_order: u8,
}

fn rec() -> impl Strategy<Value = Rec> {
    (any::<prop::sample::Index>(), typed_rdata(), any::<u32>(), 0u8..3, 0u8..3).prop_map(
        |(owner, (rtype, rdata), ttl, owner_form, field_order)| Rec {
            owner,
            rtype,
            rdata,
            ttl,
            owner_form,
            field_order,
        },
    )
}

/// Presentation form of `owner` relative to `origin` (`@` for the apex).
fn relative_text(owner: &[u8], origin: &[u8]) -> String {
    if owner.len() == origin.len() {
        return "@".into();
    }
    let prefix = &owner[..owner.len() - origin.len()];
    let mut t = name::to_text(&[prefix, &[0][..]].concat());
    t.pop(); // the root label's dot
    t
}

fn line(out: &mut String, owner: &str, ttl: u32, rtype: u16, rdata: &[u8], order: u8) {
    let ty = rtype::type_to_text(rtype);
    let rd = rdata_to_text(rtype, rdata);
    let fields = match order {
        0 => format!("{ttl} IN {ty}"),
        1 => format!("IN {ttl} {ty}"),
        _ => format!("{ttl} {ty}"),
    };
    out.push_str(&format!("{owner} {fields} {rd}\n"));
}

proptest! {
    #![proptest_config(config(500))]

    #[test]
    fn zone_text_round_trip(
        origin in prop::sample::select(vec!["zone.test.", "Mixed.Case.Example.", "a\\.b.x\\032y."]),
        pool in prop::collection::vec(prop::collection::vec(label(), 0..3), 1..6),
        recs in prop::collection::vec(rec(), 0..30),
    ) {
        let origin = name::from_text(origin, None).unwrap().as_slice().to_vec();
        let lorigin = name::to_lowercase(&origin).as_slice().to_vec();
        let owners: Vec<Vec<u8>> = pool.iter().map(|p| join(p, &origin)).collect();

        // The apex SOA and NS, then the random records; an RRset takes the
        // TTL of its first record.
        let soa = (t::SOA, name::from_text("ns.ext.", None).unwrap().as_slice().iter()
            .chain(name::from_text("host.ext.", None).unwrap().as_slice())
            .copied()
            .chain([1u32, 2, 3, 4, 5].iter().flat_map(|v| v.to_be_bytes()))
            .collect::<Vec<u8>>());
        let ns = (t::NS, name::from_text("ns.ext.", None).unwrap().as_slice().to_vec());
        let mut expected = Rrsets::new();
        let mut zone = String::from("; generated by the zone_text_round_trip property test\n");
        for (rt, rd) in [soa, ns] {
            expected.entry((lorigin.clone(), rt)).or_insert((3600, BTreeSet::new())).1.insert(rd.clone());
            line(&mut zone, &name::to_text(&origin), 3600, rt, &rd, 0);
        }
        let mut previous: Option<&[u8]> = Some(&origin);
        for r in &recs {
            let owner = &owners[r.owner.index(owners.len())];
            let key = (name::to_lowercase(owner).as_slice().to_vec(), r.rtype);
            // A TTL over 2^31 - 1 is read as 0 (RFC 2181 §8, as BIND loads it).
            let ttl = if r.ttl > i32::MAX as u32 { 0 } else { r.ttl };
            let set = expected.entry(key).or_insert((ttl, BTreeSet::new()));
            set.1.insert(r.rdata.clone());
            let text = match r.owner_form {
                2 if previous == Some(owner.as_slice()) => " ".to_string(),
                1 => relative_text(owner, &origin),
                _ => name::to_text(owner),
            };
            line(&mut zone, &text, set.0, r.rtype, &r.rdata, r.field_order);
            previous = Some(owner);
        }

        let built = levee_zone::load(Source::Memory { name: "prop.zone", data: zone.as_bytes() }, &origin);
        let built = match built {
            Ok(b) => b,
            Err(diags) => {
                let msgs: Vec<String> = diags.iter().map(ToString::to_string).collect();
                return Err(TestCaseError::fail(format!("zone did not load: {msgs:?}\n{zone}")));
            }
        };
        let z = &built.zone;
        let mut got = Rrsets::new();
        for (owner, id) in z.all_rrsets() {
            let s = z.rrset(id);
            let rdatas: BTreeSet<Vec<u8>> = z.rdatas(id).map(<[u8]>::to_vec).collect();
            prop_assert_eq!(rdatas.len(), s.count as usize, "duplicate RDATA kept");
            prop_assert!(got.insert((owner.to_vec(), s.rtype), (s.ttl(), rdatas)).is_none(), "RRset listed twice");
        }
        prop_assert!(got == expected, "zone:\n{}\ngot: {:?}\nexpected: {:?}", zone, got, expected);
        // The names: every owner and each of its ancestors up to the apex
        // (the empty non-terminals), each once.
        let mut names = BTreeSet::new();
        for (owner, _) in expected.keys() {
            let mut n: &[u8] = owner;
            while n.len() >= lorigin.len() && names.insert(n.to_vec()) && n != lorigin.as_slice() {
                n = name::parent(n);
            }
        }
        prop_assert_eq!(z.node_count(), names.len(), "names {:?}\n{}", names, zone);
    }
}

/// One token of zone-file text, drawn so that the lexer, the directives,
/// `$GENERATE` templates and the RDATA readers all see odd input: numbers
/// at the edges of their types, escapes, quotes, parentheses, comments.
fn token() -> impl Strategy<Value = String> {
    let word = prop::sample::select(vec![
        "$TTL",
        "$ORIGIN",
        "$GENERATE",
        "$INCLUDE",
        "$FOO",
        "@",
        "*",
        "IN",
        "CH",
        "A",
        "AAAA",
        "NS",
        "SOA",
        "TXT",
        "MX",
        "SRV",
        "CAA",
        "SVCB",
        "HTTPS",
        "DS",
        "DNSKEY",
        "RRSIG",
        "NSEC",
        "NSEC3",
        "NSEC3PARAM",
        "LOC",
        "APL",
        "TYPE65535",
        "CLASS1",
        "\\#",
        "0",
        "1",
        "255",
        "65535",
        "65536",
        "4294967295",
        "4294967296",
        "18446744073709551615",
        "99999999999999999999999",
        "-1",
        "1-1",
        "0-4294967295",
        "4294967295-4294967295",
        "1-2/0",
        "1-10/4294967295",
        "h$",
        "${0,4000000000,d}",
        "${9223372036854775807}",
        "${-9223372036854775808}",
        "${0,255,n}",
        "${1,3,X}",
        "${,,}",
        "${",
        "$$",
        "\\$",
        "1h2m3s4w",
        "4294967295w4294967295w",
        "(",
        ")",
        "\"",
        "\"a b\"",
        "\"\\",
        ";",
        "\\",
        "\\0",
        "\\255",
        "\\256",
        "a\\.b",
        "192.0.2.1",
        "::1",
        "::ffff:1.2.3.4",
        "AAAA==",
        "=",
        "1:192.0.2.0/24",
        "!2:",
        "0 issue \"x\"",
        "alpn=h2,h3",
        "mandatory=alpn",
        "ech=",
        "key65535=\\255",
        "52 22 23.000 N",
        "E",
        "-100000m",
        "90000000m",
        "x.",
        "..",
        ".",
        "a..b",
        "/dev/zero",
    ]);
    prop_oneof![
        6 => word.prop_map(String::from),
        2 => "[a-zA-Z0-9.$\\\\\"(){},;=*@/-]{1,12}",
        1 => "[\\x00-\\xff]{1,6}".prop_map(|s: String| s),
    ]
}

/// Arbitrary text as a zone file never panics the loader (lexer, parser,
/// `$GENERATE`, RDATA readers, builder); every problem is a diagnostic
/// with a line. Budgets keep generated ranges small.
fn load_never_panics(text: &[u8]) -> Result<(), TestCaseError> {
    let origin = name::from_text("fuzz.test.", None).unwrap();
    let opts = levee_zone::LoadOptions { max_records: 5_000, max_bytes: 1 << 20, ..levee_zone::LoadOptions::default() };
    let r = std::panic::catch_unwind(|| {
        levee_zone::load_with(
            Source::Memory { name: "p.zone", data: text },
            &origin,
            &opts,
            levee_zone::Checks::default(),
            &mut |_| {},
        )
    });
    match r {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(diags)) => {
            prop_assert!(!diags.is_empty() && diags.iter().any(|d| !d.warning), "an error without a diagnostic");
            Ok(())
        }
        Err(_) => Err(TestCaseError::fail(format!("panic on {:?}", String::from_utf8_lossy(text)))),
    }
}

/// One parse of `text` with `threads` and `block_size`: the records and
/// the diagnostics, in the order the sink and the list got them.
fn parse_rows(text: &[u8], threads: usize, block_size: usize) -> (Vec<String>, Vec<String>) {
    let origin = name::from_text("fuzz.test.", None).unwrap();
    let opts = levee_zone::LoadOptions {
        max_records: 5_000,
        max_bytes: 1 << 20,
        threads,
        block_size,
        ..levee_zone::LoadOptions::default()
    };
    let mut rows = Vec::new();
    let mut diags = Vec::new();
    levee_zone::zonefile::parse_with(
        Source::Memory { name: "p.zone", data: text },
        &origin,
        &opts,
        &mut |r: &levee_zone::zonefile::Record<'_>| {
            rows.push(format!("{:?} {} {} {} {:?} {}", r.owner, r.rtype, r.class, r.ttl, r.rdata, r.line));
            Ok(())
        },
        &mut diags,
    );
    (rows, diags.iter().map(|d| d.to_string()).collect())
}

/// One line of the shape the fused path reads (`zonefile::fast`), with
/// the odd variants it must leave to the general path or read alike:
/// owners repeated, blank, `@`, absolute, escaped, at the label bound;
/// TTLs with units or out of range; the class before or after the TTL;
/// types in any case; addresses and names good and bad; separators,
/// CRLF, trailing white space, comments; `$ORIGIN` and `$TTL` between.
fn fused_shape_line() -> impl Strategy<Value = String> {
    let pick = |v: &[&str]| prop::sample::select(v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    let long = "a".repeat(63);
    let owner = prop::sample::select(vec![
        "x".to_string(),
        "x".into(),
        "ns1.x".into(),
        "".into(),
        "\t".into(),
        "@".into(),
        ".".into(),
        "x.example.".into(),
        "a\\.b".into(),
        "X".into(),
        format!("{long}.{long}.{long}"),
        format!("{long}b"),
        "a..b".into(),
    ]);
    let ttl = pick(&["", "", "60", "0", "1h", "4294967295", "4294967296", "007"]);
    let class = pick(&["", "IN", "in", "CH"]);
    let rr = prop_oneof![
        pick(&["NS", "ns", "Ns"]).prop_flat_map(move |t| {
            pick(&["ns1.x", "ns.hoster.net.", "@", ".", "a..b", "a\\ b", "n;c"]).prop_map(move |r| format!("{t} {r}"))
        }),
        pick(&["A", "a"]).prop_flat_map(move |t| {
            pick(&["192.0.2.1", "10.0.0.255", "1.2.3.256", "01.2.3.4", "1.2.3", "1.2.3.4.5", "0.0.0.0"])
                .prop_map(move |r| format!("{t} {r}"))
        }),
        pick(&["AAAA", "aaaa"]).prop_flat_map(move |t| {
            pick(&["::1", "fd01::0:0", "2001:db8::", "1:2:3:4:5:6:7:8", "1::2::3", "::ffff:1.2.3.4", "12345::"])
                .prop_map(move |r| format!("{t} {r}"))
        }),
        pick(&["DS", "ds"]).prop_flat_map(move |t| {
            pick(&[
                "1 8 2 ABCD",
                "65535 13 2 ab CD ef01",
                "65536 8 2 AB",
                "1 RSASHA256 2 AB",
                "1 8 2 ABC",
                "1 8 2",
                "1 8 2 XY",
                "001 8 2 A B",
            ])
            .prop_map(move |r| format!("{t} {r}"))
        }),
        pick(&["MX 1 x", "TXT \"a b\"", "NS ( x )", "A"]),
    ];
    let sep = pick(&[" ", " ", "\t", "  ", " \r "]);
    let end = pick(&["", "", " ", "\r", " ;c", "\t\r"]);
    let directive = pick(&["", "", "", "", "$ORIGIN sub.example.\n", "$TTL 30\n", "$ORIGIN example.\n"]);
    (directive, owner, ttl, class, any::<bool>(), rr, sep, end).prop_map(|(d, o, t, c, swap, rr, sep, end)| {
        let (f1, f2) = if swap { (c, t) } else { (t, c) };
        let head: Vec<&str> = [o.as_str(), f1.as_str(), f2.as_str()].into_iter().filter(|f| !f.is_empty()).collect();
        let lead = if o.is_empty() || o == "\t" { "\t" } else { "" };
        format!("{d}{lead}{}{sep}{rr}{end}\n", head.join(sep.as_str()))
    })
}

proptest! {
    #![proptest_config(config(3000))]

    /// Lines of the fused path's shape and its odd variants read as the
    /// reference parser reads them, on one thread and on two.
    #[test]
    fn fused_lines_are_the_reference(
        lines in prop::collection::vec(fused_shape_line(), 1..30),
        last_newline in any::<bool>(),
        block in 1usize..80,
    ) {
        let mut text: String = lines.concat();
        if !last_newline {
            text.pop();
        }
        let origin = name::from_text("example.", None).unwrap();
        let parallel = LoadOptions { threads: 2, block_size: block, ..LoadOptions::default() };
        for opts in [LoadOptions::default(), parallel] {
            let r = levee_zone::zonefile::reference::compare(text.as_bytes(), &origin, &opts);
            prop_assert!(r.is_ok(), "{:?} (threads {}): {:?}", text, opts.threads, r);
        }
    }
}

proptest! {
    #![proptest_config(config(3000))]

    #[test]
    fn the_loader_never_panics_on_token_soup(
        lines in prop::collection::vec((any::<bool>(), prop::collection::vec(token(), 0..8)), 0..12),
    ) {
        let mut text = String::from("$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\n");
        for (indent, toks) in &lines {
            if *indent {
                text.push(' ');
            }
            text.push_str(&toks.join(" "));
            text.push('\n');
        }
        load_never_panics(text.as_bytes())?;
    }

    /// The parallel parse (blocks of a few octets, cut anywhere a line
    /// names its owner) hands the sink the records the one-thread parse
    /// hands it, and reports the same diagnostics at the same lines:
    /// token soup with parentheses, quotes, comments and directives.
    #[test]
    fn the_parallel_parse_is_the_plain_parse(
        lines in prop::collection::vec((0..4u8, prop::collection::vec(token(), 0..8)), 0..24),
        block in 1usize..80,
    ) {
        let mut text = String::new();
        for (how, toks) in &lines {
            match how {
                0 => text.push(' '),
                1 => text.push_str("$TTL 5\n"),
                _ => {}
            }
            text.push_str(&toks.join(" "));
            text.push('\n');
        }
        let plain = parse_rows(text.as_bytes(), 1, levee_zone::zonefile::BLOCK);
        let par = parse_rows(text.as_bytes(), 2, block);
        prop_assert_eq!(par, plain, "{:?}", text);
    }

    /// The fast path (one thread, and two with blocks of a few octets)
    /// and the slow reference parser (`zonefile::reference`) make the
    /// same records up to the first error, and put it on the same line:
    /// token soup with parentheses, quotes, comments and directives.
    #[test]
    fn the_fast_path_is_the_reference(
        lines in prop::collection::vec((0..4u8, prop::collection::vec(token(), 0..8)), 0..24),
        block in 1usize..80,
    ) {
        let mut text = String::new();
        for (how, toks) in &lines {
            match how {
                0 => text.push(' '),
                1 => text.push_str("$TTL 5\n"),
                _ => {}
            }
            text.push_str(&toks.join(" "));
            text.push('\n');
        }
        let origin = name::from_text("example.", None).unwrap();
        let parallel = LoadOptions { threads: 2, block_size: block, ..LoadOptions::default() };
        for opts in [LoadOptions::default(), parallel] {
            let r = levee_zone::zonefile::reference::compare(text.as_bytes(), &origin, &opts);
            prop_assert!(r.is_ok(), "{:?} (threads {}): {:?}", text, opts.threads, r);
        }
    }

    #[test]
    fn generate_never_panics(
        start in prop_oneof![Just(0u64), Just(1), Just(4294967295), 0..5u64],
        len in 0..3u64,
        step in prop_oneof![Just(None), Just(Some(0u64)), Just(Some(1)), Just(Some(4294967295))],
        offset in prop_oneof![Just(0i64), Just(i64::MAX), Just(i64::MIN), Just(-1), Just(-4294967295)],
        width in prop_oneof![Just(0u64), Just(1), Just(255), Just(256), Just(4_000_000_000), Just(u64::MAX)],
        base in prop::sample::select(vec!["d", "o", "x", "X", "n", "N", "q", ""]),
        rtype in prop::sample::select(vec!["A", "TXT", "PTR", "AAAA", "CNAME"]),
    ) {
        let step = step.map_or(String::new(), |s| format!("/{s}"));
        let template = format!("${{{offset},{width},{base}}}");
        let text = format!(
            "$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\n$GENERATE {start}-{}{step} h{template} {rtype} {template}\n",
            start + len
        );
        load_never_panics(text.as_bytes())?;
    }

    #[test]
    fn the_loader_never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        load_never_panics(&bytes)?;
    }
}
