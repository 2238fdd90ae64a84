//! Vectors produced by dnspython 2.9 (an independent implementation) at
//! time 1700000000 with the key `xfr-key.example.` and the secret below.

use super::*;

const SECRET: &str = "bGV2ZWUgdHNpZyB0ZXN0IHNlY3JldCAwMTIzNDU2Nzg5";
const NOW: u64 = 1_700_000_000;

/// (algorithm, signed SOA query, signed response to it).
const VECTORS: &[(&str, &str, &str)] = &[
    ("hmac-md5.sig-alg.reg.int", "123401000001000000000001076578616d706c6503636f6d0000060001077866722d6b6579076578616d706c650000fa00ff00000000003a08686d61632d6d6435077369672d616c670372656703696e740000006553f100012c001046406dae60172b14acf887b493244ea4123400000000", "123481000001000100000001076578616d706c6503636f6d0000060001c00c0006000100000e10001e036e7331c00c0168c00c0000000100000002000000030000000400000005077866722d6b6579076578616d706c650000fa00ff00000000003a08686d61632d6d6435077369672d616c670372656703696e740000006553f100012c001099bb006c1a9892f971a8cbda593ade5a123400000000"),
    ("hmac-sha1", "123401000001000000000001076578616d706c6503636f6d0000060001077866722d6b6579076578616d706c650000fa00ff00000000002f09686d61632d736861310000006553f100012c0014db17658eb8fa3d7cdf29a127d16492a1df54d58a123400000000", "123481000001000100000001076578616d706c6503636f6d0000060001c00c0006000100000e10001e036e7331c00c0168c00c0000000100000002000000030000000400000005077866722d6b6579076578616d706c650000fa00ff00000000002f09686d61632d736861310000006553f100012c00147c8b3822a034a0f4851eb2a60c5ad013686df17c123400000000"),
    ("hmac-sha224", "123401000001000000000001076578616d706c6503636f6d0000060001077866722d6b6579076578616d706c650000fa00ff0000000000390b686d61632d7368613232340000006553f100012c001ced6f1e95fc7a316ca449c0a0af1fcf67a312547942e5ffb2984ba2b5123400000000", "123481000001000100000001076578616d706c6503636f6d0000060001c00c0006000100000e10001e036e7331c00c0168c00c0000000100000002000000030000000400000005077866722d6b6579076578616d706c650000fa00ff0000000000390b686d61632d7368613232340000006553f100012c001cb907caa063dcbc068183474c7af9f755fa725e4e4a606e964028626b123400000000"),
    ("hmac-sha256", "123401000001000000000001076578616d706c6503636f6d0000060001077866722d6b6579076578616d706c650000fa00ff00000000003d0b686d61632d7368613235360000006553f100012c0020a171dc265ea5ac8013912561e03c22730b8d152510234e2fc5e0a5a90fc87a43123400000000", "123481000001000100000001076578616d706c6503636f6d0000060001c00c0006000100000e10001e036e7331c00c0168c00c0000000100000002000000030000000400000005077866722d6b6579076578616d706c650000fa00ff00000000003d0b686d61632d7368613235360000006553f100012c00201791a30e21e07a49b8531bf9e3f91ff82a1d2779e34b191ef9b24754143dcb8a123400000000"),
    ("hmac-sha384", "123401000001000000000001076578616d706c6503636f6d0000060001077866722d6b6579076578616d706c650000fa00ff00000000004d0b686d61632d7368613338340000006553f100012c003061509f0ee5eeea7d407a1c67bb719dd8ffbee6885b589b9bb05e9a147a29e9f7cf53304f8916125d49eb7da5dcdf12b0123400000000", "123481000001000100000001076578616d706c6503636f6d0000060001c00c0006000100000e10001e036e7331c00c0168c00c0000000100000002000000030000000400000005077866722d6b6579076578616d706c650000fa00ff00000000004d0b686d61632d7368613338340000006553f100012c0030401cacb30ff1d3dd7d68e5641e1a608f1dae210cbb6b331f186aa8c30010cb31817f22af97814d8fa7303afe24963339123400000000"),
    ("hmac-sha512", "123401000001000000000001076578616d706c6503636f6d0000060001077866722d6b6579076578616d706c650000fa00ff00000000005d0b686d61632d7368613531320000006553f100012c0040389156be864ebb70c628091fbff7bcd8bbf31e8dc9f08ef323688e879209bf73fd9cde89dfb87bb7637500572079a7d76c25cab40c5d92df8e04a07f8574a56b123400000000", "123481000001000100000001076578616d706c6503636f6d0000060001c00c0006000100000e10001e036e7331c00c0168c00c0000000100000002000000030000000400000005077866722d6b6579076578616d706c650000fa00ff00000000005d0b686d61632d7368613531320000006553f100012c004083b17ee10f34856dbbdc6e316960d9541e974d620ddab7665a4e525867f5aa65df5bd39c8183430863b33ec3115aa2b22bfa45f586581817d7babc5ff4ce25c9123400000000"),
];

/// A signed AXFR query and three signed response messages (the first with
/// the full variables, the others with the timers only), hmac-sha256.
const STREAM: [&str; 4] = [
    "432101000001000000000001076578616d706c6503636f6d0000fc0001077866722d6b6579076578616d706c650000fa00ff00000000003d0b686d61632d7368613235360000006553f100012c00201c0a54ad286f0ad6455e4c7fdadcb6b42ec63370435731da332c839f394bb904432100000000",
    "432181000001000100000001076578616d706c6503636f6d0000fc0001c00c0010000100000e100003026d30077866722d6b6579076578616d706c650000fa00ff00000000003d0b686d61632d7368613235360000006553f100012c0020d394cb07c72a5a42928908cf2beb852b24dbd6189895df5af82d82689961699a432100000000",
    "432181000000000100000001076578616d706c6503636f6d000010000100000e100003026d31077866722d6b6579076578616d706c650000fa00ff00000000003d0b686d61632d7368613235360000006553f100012c00207950f29b69550b1382fa6246526f643c1edb720c89b9cec25de9456ffff50ea9432100000000",
    "432181000000000100000001076578616d706c6503636f6d000010000100000e100003026d32077866722d6b6579076578616d706c650000fa00ff00000000003d0b686d61632d7368613235360000006553f100012c00202c39a73d757fc91ac9050ebdfeec9636c4f9bac68abb03df28d8e9de9f697367432100000000",
];

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn ring(alg: &str) -> KeyRing {
    let mut r = KeyRing::new();
    r.add(Key::new("xfr-key.example.", Algorithm::from_text(alg).unwrap(), decode_secret(SECRET).unwrap()).unwrap());
    r
}

/// The message without its TSIG record and with ARCOUNT decremented.
fn strip(msg: &[u8]) -> Vec<u8> {
    let rec = parse(msg).unwrap().unwrap();
    let mut m = msg[..rec.start].to_vec();
    m[11] -= 1;
    m
}

#[test]
fn verifies_requests_of_every_algorithm() {
    for (alg, q, _) in VECTORS {
        let q = hex(q);
        let keys = ring(alg);
        let rec = parse(&q).unwrap().unwrap();
        let v = verify(&q, &rec, &keys, None, NOW).unwrap_or_else(|e| panic!("{alg}: {:?}", e.error));
        assert_eq!(v.mac.as_slice(), rec.mac, "{alg}");
        // Within the fudge either way, and outside it.
        assert!(verify(&q, &rec, &keys, None, NOW + 300).is_ok());
        assert_eq!(verify(&q, &rec, &keys, None, NOW + 301).unwrap_err().error, Error::BadTime);
        assert_eq!(verify(&q, &rec, &keys, None, NOW - 301).unwrap_err().error, Error::BadTime);
        // One flipped bit in the question: BADSIG.
        let mut bad = q.clone();
        bad[14] ^= 0x20;
        let rec = parse(&bad).unwrap().unwrap();
        assert_eq!(verify(&bad, &rec, &keys, None, NOW).unwrap_err().error, Error::BadSig, "{alg}");
    }
}

#[test]
fn unknown_key_or_other_algorithm_is_badkey() {
    let (_, q, _) = VECTORS[3];
    let q = hex(q);
    let rec = parse(&q).unwrap().unwrap();
    assert_eq!(verify(&q, &rec, &KeyRing::new(), None, NOW).unwrap_err().error, Error::BadKey);
    assert_eq!(verify(&q, &rec, &ring("hmac-sha512"), None, NOW).unwrap_err().error, Error::BadKey);
    let mut wrong = KeyRing::new();
    wrong.add(Key::new("xfr-key.example.", Algorithm::HmacSha256, b"another secret".to_vec()).unwrap());
    assert_eq!(verify(&q, &rec, &wrong, None, NOW).unwrap_err().error, Error::BadSig);
}

#[test]
fn signs_like_dnspython() {
    for (alg, q, r) in VECTORS {
        let (q, r) = (hex(q), hex(r));
        let keys = ring(alg);
        let key = keys.find(b"\x07xfr-key\x07example\x00").unwrap();
        let mut mine = strip(&q);
        let qmac = sign_vec(&mut mine, key, &SignParams::at(NOW));
        assert_eq!(mine, q, "{alg} query");
        let mut resp = strip(&r);
        let p = SignParams { prior: Some(qmac.as_slice()), ..SignParams::at(NOW) };
        sign_vec(&mut resp, key, &p);
        assert_eq!(resp, r, "{alg} response");
        // And the response verifies as the first message of a stream.
        let mut sv = StreamVerifier::new(key, qmac, NOW);
        sv.message(&r).unwrap();
        sv.finish().unwrap();
    }
}

#[test]
fn multi_message_stream() {
    let keys = ring("hmac-sha256");
    let key = keys.find(b"\x07xfr-key\x07example\x00").unwrap();
    let q = hex(STREAM[0]);
    let rec = parse(&q).unwrap().unwrap();
    let v = verify(&q, &rec, &keys, None, NOW).unwrap();
    // Signing every message reproduces dnspython's three messages.
    let mut s = StreamSigner::new(key.clone(), v.mac, NOW);
    for m in &STREAM[1..] {
        let want = hex(m);
        let mut buf = strip(&want);
        let len = buf.len();
        buf.resize(len + s.room(), 0);
        let n = s.sign(&mut buf, len).unwrap();
        assert_eq!(&buf[..n], &want[..]);
    }
    // Receiving them verifies; a reordered stream does not.
    let mut sv = StreamVerifier::new(key, v.mac, NOW);
    for m in &STREAM[1..] {
        sv.message(&hex(m)).unwrap();
    }
    sv.finish().unwrap();
    let mut sv = StreamVerifier::new(key, v.mac, NOW);
    sv.message(&hex(STREAM[1])).unwrap();
    assert_eq!(sv.message(&hex(STREAM[3])), Err(Error::BadSig));
}

#[test]
fn unsigned_messages_between_signed_ones() {
    // Our signer signs every message; check the receiver's digest of
    // unsigned messages against a sender that skips the middle one
    // (prior MAC, unsigned message, then the signed message and timers).
    let keys = ring("hmac-sha256");
    let key = keys.find(b"\x07xfr-key\x07example\x00").unwrap();
    let q = hex(STREAM[0]);
    let rec = parse(&q).unwrap().unwrap();
    let v = verify(&q, &rec, &keys, None, NOW).unwrap();
    let m1 = hex(STREAM[1]);
    let r1 = parse(&m1).unwrap().unwrap();
    let middle = strip(&hex(STREAM[2]));
    let mut last = strip(&hex(STREAM[3]));
    let mut m = Mac::new(key);
    m.prior(r1.mac);
    m.update(&middle);
    m.update(&last);
    m.timers(NOW, FUDGE);
    let mac = m.finish();
    // Append the TSIG record by hand, with that MAC.
    let p = SignParams { prior: Some(r1.mac), timers_only: true, ..SignParams::at(NOW) };
    let mut check = last.clone();
    let _ = sign_vec(&mut check, key, &p); // MAC over `last` alone: must not verify after `middle`
    let n = last.len();
    last.resize(n + key.record_len(), 0);
    let (end, _) = sign(&mut last, n, key, &p).unwrap();
    last.truncate(end);
    let macpos = end - 6 - 32;
    last[macpos..macpos + 32].copy_from_slice(mac.as_slice());
    let mut sv = StreamVerifier::new(key, v.mac, NOW);
    sv.message(&m1).unwrap();
    sv.message(&middle).unwrap();
    assert!(sv.finish().is_err(), "an unsigned message may not end the stream");
    sv.message(&last).unwrap();
    sv.finish().unwrap();
    let mut sv = StreamVerifier::new(key, v.mac, NOW);
    sv.message(&m1).unwrap();
    sv.message(&middle).unwrap();
    assert_eq!(sv.message(&check), Err(Error::BadSig));
}

#[test]
fn malformed_records_are_errors() {
    let (_, q, _) = VECTORS[3];
    let q = hex(q);
    for cut in 12..q.len() {
        let mut m = q[..cut].to_vec();
        let _ = parse(&m);
        m.push(0xff);
        let _ = parse(&m);
    }
    let mut m = q.clone();
    let n = m.len();
    m[n - 1] = 9; // other length past the end
    assert_eq!(parse(&m).unwrap_err(), Error::Malformed);
    assert_eq!(decode_secret(SECRET).unwrap(), b"levee tsig test secret 0123456789");
    assert!(decode_secret("a!b").is_none());
}

/// Bad input never panics: every vector with bytes flipped, cut or
/// extended goes through parse, verify, the stream verifier and sign.
#[test]
fn mutations_never_panic() {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut rnd = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let keys = ring("hmac-sha256");
    let key = keys.find(b"\x07xfr-key\x07example\x00").unwrap();
    let msgs: Vec<Vec<u8>> =
        VECTORS.iter().flat_map(|(_, q, r)| [hex(q), hex(r)]).chain(STREAM.iter().map(|s| hex(s))).collect();
    for _ in 0..20_000 {
        let mut m = msgs[(rnd() % msgs.len() as u64) as usize].clone();
        for _ in 0..1 + rnd() % 4 {
            match rnd() % 3 {
                0 if !m.is_empty() => {
                    let i = (rnd() % m.len() as u64) as usize;
                    m[i] ^= 1 << (rnd() % 8);
                }
                1 if !m.is_empty() => m.truncate((rnd() % (m.len() as u64 + 1)) as usize),
                _ => m.push(rnd() as u8),
            }
        }
        if let Ok(Some(rec)) = parse(&m) {
            let _ = verify(&m, &rec, &keys, None, NOW);
            let _ = verify(&m, &rec, &keys, Some(&[1, 2, 3]), NOW);
        }
        let mut v = StreamVerifier::new(key, MacBuf::from_slice(&[0; 32]), NOW);
        let _ = v.message(&m);
        let _ = v.finish();
        let mut buf = m.clone();
        let n = buf.len();
        buf.resize(n + 200, 0);
        let _ = sign(&mut buf, n, key, &SignParams::at(NOW));
    }
}
