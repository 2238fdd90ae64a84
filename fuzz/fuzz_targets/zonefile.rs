//! Fuzz target `zonefile`: arbitrary octets as a zone file for `fuzz.test.`.
//!
//! The fast path, on one thread and on two (`LoadOptions::threads`,
//! blocks of 1 to 53 octets so that cuts fall everywhere), must hand the
//! sink the same records up to its first error as the slow reference
//! parser (`levee_zone::zonefile::reference`, feature `reference`), and
//! put its first error on the reference's line (issue 24, check 4); the
//! parallel parse must also report every diagnostic the one-thread parse
//! reports, at the same lines. Loading must never panic. When the zone loads, the RDATA of every record
//! must format with `zonefile::rdata_to_text` and read back through the
//! zone-file parser into exactly the same octets. Inputs are read from
//! memory, so `$INCLUDE` is refused (an error, covered) and never opens a
//! file; `$GENERATE` is bounded by the per-zone record budget.

#![no_main]

use levee_wire::name;
use levee_wire::rtype;
use levee_zone::zonefile::{self, Record};
use levee_zone::{LoadOptions, Source};
use libfuzzer_sys::fuzz_target;

/// The budgets of one input: the parser's own per-zone limits keep a
/// `$GENERATE` of a few octets from asking for millions of records (which
/// would measure memory, not correctness), so no input is skipped.
fn budget() -> LoadOptions {
    LoadOptions { max_records: 5_000, max_bytes: 1 << 20, ..LoadOptions::default() }
}

/// Reads one record's RDATA back from its presentation text.
fn reparse(rtype: u16, text: &str) -> Vec<u8> {
    let line = format!("x. 0 IN {} {}\n", rtype::type_to_text(rtype), text);
    let mut got = Vec::new();
    let mut diags = Vec::new();
    zonefile::parse(
        Source::Memory { name: "reparse", data: line.as_bytes() },
        name::ROOT,
        &mut |r: &Record<'_>| {
            got.push(r.rdata.to_vec());
            Ok(())
        },
        &mut diags,
    );
    assert!(diags.is_empty(), "{line:?} does not read back: {diags:?}");
    assert_eq!(got.len(), 1, "{line:?} reads back as {} records", got.len());
    got.pop().unwrap_or_default()
}

/// Every record and diagnostic of one parse, in order.
fn parse_all(data: &[u8], origin: &[u8], opts: &LoadOptions) -> (Vec<String>, Vec<String>) {
    let mut rows = Vec::new();
    let mut diags = Vec::new();
    zonefile::parse_with(
        Source::Memory { name: "fuzz.zone", data },
        origin,
        opts,
        &mut |r: &Record<'_>| {
            rows.push(format!("{:?} {} {} {} {:?} {} {}", r.owner, r.rtype, r.class, r.ttl, r.rdata, r.file, r.line));
            Ok(())
        },
        &mut diags,
    );
    (rows, diags.iter().map(|d| d.to_string()).collect())
}

fuzz_target!(|data: &[u8]| {
    let origin = name::from_text("fuzz.test.", None).expect("origin");
    let plain = parse_all(data, &origin, &budget());
    let parallel = LoadOptions { threads: 2, block_size: 1 + data.len() % 53, ..budget() };
    assert_eq!(parse_all(data, &origin, &parallel), plain, "parallel parse differs");
    for opts in [budget(), parallel] {
        if let Err(e) = zonefile::reference::compare(data, &origin, &opts) {
            panic!("threads {}: the fast path and the reference differ: {e}", opts.threads);
        }
    }
    let Ok(built) = levee_zone::load_with(Source::Memory { name: "fuzz.zone", data }, &origin, &budget(), levee_zone::Checks::default(), &mut |_| {})
    else {
        return;
    };
    let zone = &built.zone;
    for (_, id) in zone.all_rrsets() {
        let rtype = zone.rrset(id).rtype;
        for rdata in zone.rdatas(id) {
            let text = zonefile::rdata_to_text(rtype, rdata);
            assert_eq!(reparse(rtype, &text), rdata, "type {rtype} as {text:?}");
        }
    }
});
