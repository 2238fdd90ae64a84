//! Signatures per second on one core, for the algorithms levee signs
//! with (issue 18: "measure signatures per second per core for P-256 and
//! Ed25519 and choose"): an RRSIG over a one-record A RRset, made with
//! `levee_sign::rrsig::sign`, the function the zone signer and the online
//! signer use, for at least `--seconds` (default 3) each.
//!
//! ```sh
//! cargo run --release -p levee-sign --example sign_speed [-- --seconds S]
//! ```

use std::time::{Duration, Instant};

use levee_sign::rrsig::{self, RrsetRef, Validity};
use levee_sign::{Algorithm, Key};

fn main() {
    let mut seconds = 3.0f64;
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--seconds") {
        seconds = args.get(i + 1).and_then(|s| s.parse().ok()).unwrap_or(seconds);
    }
    let owner = levee_wire::name::from_text("www.example.com.", None).unwrap();
    let apex = levee_wire::name::from_text("example.com.", None).unwrap();
    let rd: &[u8] = &[192, 0, 2, 1];
    let rdatas = [rd];
    let set = RrsetRef { owner: owner.as_slice(), rtype: 1, class: 1, ttl: 3600, rdatas: &rdatas };
    let v = Validity { inception: 1_800_000_000, expiration: 1_801_000_000 };
    for alg in [Algorithm::EcdsaP256Sha256, Algorithm::Ed25519] {
        let key = Key::generate(alg, false).expect("key");
        let mut buf = Vec::new();
        let t0 = Instant::now();
        let mut n = 0u64;
        while t0.elapsed() < Duration::from_secs_f64(seconds) {
            for _ in 0..100 {
                std::hint::black_box(rrsig::sign(&set, &key, apex.as_slice(), v, &mut buf).expect("sign"));
            }
            n += 100;
        }
        let s = t0.elapsed().as_secs_f64();
        println!(
            "{:<16} {:>9.0} signatures/s on one core ({:.1} us each)",
            alg.name(),
            n as f64 / s,
            s * 1e6 / n as f64
        );
    }
}
