//! The reference parser on known answers, and the fast path held to it.

use std::path::{Path, PathBuf};

use levee_wire::name;

use super::*;

fn origin() -> Vec<u8> {
    name::from_text("example.", None).unwrap().to_vec()
}

/// The fast path, on one thread and on two with small blocks, agrees
/// with the reference on `text`.
fn agree(text: &str) {
    let o = origin();
    for opts in [LoadOptions::default(), LoadOptions { threads: 2, block_size: 7, ..LoadOptions::default() }] {
        if let Err(e) = compare(text.as_bytes(), &o, &opts) {
            panic!("{text:?} (threads {}): {e}", opts.threads);
        }
    }
}

/// RDATA and owners written out by hand from RFC 1035's formats.
#[test]
fn known_answers() {
    let text = "$TTL 300\n@ IN SOA ns hm. ( 1 2 3 4 5 )\n  IN 60 NS ns\nns A 192.0.2.1\n\
                t TXT \"a b\" c\\032d \"\\\"\"\nm MX 10 .\nx TYPE65280 \\# 2 ab CD\n";
    let (r, e) = parse(text.as_bytes(), &origin(), 100);
    assert_eq!(e, None);
    let rows: Vec<(String, u16, u32, Vec<u8>)> =
        r.iter().map(|r| (name::to_text(&r.owner), r.rtype, r.ttl, r.rdata.clone())).collect();
    let soa = [&b"\x02ns\x07example\x00\x02hm\x00"[..], &[0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5]]
        .concat();
    assert_eq!(rows[0], ("example.".into(), 6, 300, soa));
    assert_eq!(rows[1], ("example.".into(), 2, 60, b"\x02ns\x07example\x00".to_vec()));
    assert_eq!(rows[2], ("ns.example.".into(), 1, 300, vec![192, 0, 2, 1]));
    assert_eq!(rows[3].3, b"\x03a b\x03c d\x01\"".to_vec());
    assert_eq!(rows[4].3, b"\x00\x0a\x00".to_vec());
    assert_eq!(rows[5], ("x.example.".into(), 65280, 300, vec![0xab, 0xcd]));
    assert_eq!(r.iter().map(|r| r.line).collect::<Vec<_>>(), [2, 3, 4, 5, 6, 7]);
    agree(text);
}

/// Owner, TTL and class inheritance, and the first error's line.
#[test]
fn inheritance_and_first_error() {
    let text = "a 10 A 192.0.2.1\n  A 192.0.2.2\nb IN A 192.0.2.3\n$TTL 20\n  A 192.0.2.4\nc A 1.2.3\nd A 192.0.2.5\n";
    let (r, e) = parse(text.as_bytes(), &origin(), 100);
    let got: Vec<(String, u32)> = r.iter().map(|r| (name::to_text(&r.owner), r.ttl)).collect();
    assert_eq!(
        got,
        [("a.example.".into(), 10), ("a.example.".into(), 10), ("b.example.".into(), 10), ("b.example.".into(), 20)]
    );
    assert_eq!(e.map(|e| e.line), Some(6));
    agree(text);
    // The SOA's MINIMUM without any TTL before it; none for the next.
    let (r, e) = parse(b"@ SOA . . 1 2 3 4 1h\n  NS a\n", &origin(), 100);
    assert!(e.is_none() && r[0].ttl == 3600 && r[1].ttl == 3600, "{r:?} {e:?}");
    let (_, e) = parse(b"@ NS a\n", &origin(), 100);
    assert_eq!(e.map(|e| e.line), Some(1));
}

/// Every zone file of the repository (and of the shared conformance
/// suite, when it is there) parses alike on both parsers.
#[test]
fn every_zone_file_in_the_repository_parses_alike() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = Vec::new();
    for dir in ["tests", "examples", "fuzz/zones", "fuzz/seeds/zonefile", "crates"] {
        zone_files(&root.join(dir), &mut files);
    }
    let in_repo = files.len();
    for shared in [root.join("../shared/conformance/zones"), PathBuf::from("/work/shared/conformance/zones")] {
        if shared.is_dir() {
            zone_files(&shared, &mut files);
            break;
        }
    }
    assert!(in_repo >= 50, "only {in_repo} zone files found under {}", root.display());
    for f in &files {
        let text = std::fs::read(f).unwrap();
        let stem =
            f.file_name().unwrap().to_string_lossy().trim_end_matches(".zone").trim_start_matches("levee-").to_string();
        let o = name::from_text(&format!("{stem}."), None).map(|n| n.to_vec()).unwrap_or_else(|_| origin());
        for opts in [LoadOptions::default(), LoadOptions { threads: 2, block_size: 512, ..LoadOptions::default() }] {
            if let Err(e) = compare(&text, &o, &opts) {
                panic!("{}: {e}", f.display());
            }
        }
    }
    eprintln!("{} zone files ({in_repo} in the repository) parse alike", files.len());
}

/// Zone files under `dir`: names ending in `.zone`, and everything in a
/// fuzz seed directory.
fn zone_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        let n = p.file_name().unwrap().to_string_lossy().to_string();
        if p.is_dir() && n != "target" && !n.starts_with('.') {
            zone_files(&p, out);
        } else if p.is_file() && (n.ends_with(".zone") || dir.ends_with("seeds/zonefile")) {
            out.push(p);
        }
    }
}

/// Differences the comparison found; each was seen failing before the
/// fast path was fixed.
mod found {
    use super::agree;

    /// An escaped newline, in a token or in quotes, is a line too: the
    /// records after it kept the line before it.
    #[test]
    fn escaped_newlines_count_as_lines() {
        agree("$TTL 1\na TXT a\\\nb\nb A 192.0.2.1\nc TXT \"x\\\ny\"\nd A 192.0.2.2\ne A 1\n");
    }

    /// A number is its digits, leading zeros and all: 21 digits or more
    /// were refused however small the value.
    #[test]
    fn numbers_with_many_leading_zeros() {
        agree("a 0000000000000000000001 MX 0000000000000000000000010 b\n");
    }

    /// A `$GENERATE` line whose quoted template holds a newline expands
    /// to two entries; the second was dropped.
    #[test]
    fn generated_text_of_two_entries() {
        agree("$TTL 1\n$GENERATE 1-2 a$ TXT \"x\ny$ A 192.0.2.1\"\n");
    }
}
