//! Fuzz target `name`: domain names in presentation and wire form.
//!
//! * the input as presentation text (absolute, or relative to an origin):
//!   when it parses, the name is valid, and `to_text` reads back to the
//!   same wire octets;
//! * the input as an uncompressed wire name: the same round trip, and its
//!   canonical key orders it like `canonical_cmp` against its lowercase
//!   form and its parent;
//! * the input as a message: `read_compressed` at its first positions never
//!   panics and only returns valid names of at most 255 octets, ending
//!   inside the message.

#![no_main]

use std::cmp::Ordering;

use levee_wire::name::{self, NameBuf, MAX_NAME_LEN};
use libfuzzer_sys::fuzz_target;

/// Reads presentation text back and checks it gives the same wire name.
fn text_round_trip(n: &[u8]) {
    name::check(n).expect("a valid wire name");
    let text = name::to_text(n);
    let back = name::from_text(&text, None).unwrap_or_else(|e| panic!("{text:?} does not read back: {e}"));
    assert_eq!(back.as_slice(), n, "{text:?}");
}

fn key(n: &[u8]) -> Vec<u8> {
    let mut k = Vec::new();
    name::canonical_key(n, &mut k);
    k
}

/// The canonical key agrees with canonical_cmp on a pair of names.
fn same_order(a: &[u8], b: &[u8]) {
    assert_eq!(key(a).cmp(&key(b)), name::canonical_cmp(a, b));
}

fuzz_target!(|data: &[u8]| {
    let origin = name::from_text("Origin.fuzz.", None).expect("origin");
    for o in [None, Some(origin.as_slice())] {
        if let Ok(n) = name::from_text_bytes(data, o) {
            assert!(n.len() <= MAX_NAME_LEN);
            text_round_trip(&n);
        }
    }

    if name::check(data).is_ok() {
        text_round_trip(data);
        let lower = name::to_lowercase(data);
        assert_eq!(name::canonical_cmp(data, &lower), Ordering::Equal);
        same_order(data, &lower);
        same_order(data, name::parent(data));
        same_order(name::parent(data), data);
        assert_eq!(name::wire_len(data), Ok(data.len()));
    }

    let mut out = NameBuf::root();
    for pos in 0..data.len().min(32) {
        if let Ok(end) = name::read_compressed(data, pos, &mut out) {
            assert!(end > pos && end <= data.len());
            assert!(out.len() <= MAX_NAME_LEN);
            name::check(&out).expect("decompressed name is valid");
            assert_eq!(name::skip_compressed(data, pos), Ok(end));
        }
    }
});
