//! Fuzz target `zonefile`: arbitrary octets as a zone file for `fuzz.test.`.
//!
//! Loading must never panic. When the zone loads, the RDATA of every record
//! must format with `text::rdata_to_text` and read back through the
//! zone-file parser into exactly the same octets.

#![no_main]

use levee_wire::name;
use levee_wire::rtype;
use levee_zone::parser::{self, Record};
use levee_zone::{text, Source};
use libfuzzer_sys::fuzz_target;

/// Inputs whose `$GENERATE` ranges could make more records than this are
/// skipped: a few octets may legitimately ask for millions of records
/// (up to the parser's own limit), which measures memory, not correctness.
const MAX_GENERATED: u64 = 100_000;

/// A coarse upper bound of the records the `$GENERATE` lines of `data`
/// can make: their count times ten to the longest run of digits.
fn generated_bound(data: &[u8]) -> u64 {
    let directives = data.windows(9).filter(|w| w.eq_ignore_ascii_case(b"$generate")).count() as u64;
    if directives == 0 {
        return 0;
    }
    let longest = data.split(|b| !b.is_ascii_digit()).map(<[u8]>::len).max().unwrap_or(0);
    directives.saturating_mul(10u64.saturating_pow(longest as u32))
}

/// Reads one record's RDATA back from its presentation text.
fn reparse(rtype: u16, text: &str) -> Vec<u8> {
    let line = format!("x. 0 IN {} {}\n", rtype::type_to_text(rtype), text);
    let mut got = Vec::new();
    let mut diags = Vec::new();
    parser::parse(
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

fuzz_target!(|data: &[u8]| {
    if generated_bound(data) > MAX_GENERATED {
        return;
    }
    let origin = name::from_text("fuzz.test.", None).expect("origin");
    let Ok(built) = levee_zone::load(Source::Memory { name: "fuzz.zone", data }, &origin) else {
        return;
    };
    let zone = &built.zone;
    for (_, id) in zone.all_rrsets() {
        let rtype = zone.rrset(id).rtype;
        for rdata in zone.rdatas(id) {
            let text = text::rdata_to_text(rtype, rdata);
            assert_eq!(reparse(rtype, &text), rdata, "type {rtype} as {text:?}");
        }
    }
});
