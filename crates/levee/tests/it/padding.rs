//! EDNS padding (RFC 7830, RFC 8467) on the real binary, read by the
//! client: over DoT (a rustls client) every response with OPT is a
//! multiple of 468 octets ending in a Padding option of zeros, and is
//! the TCP answer once the option is taken out; without EDNS, or with
//! `tls.padding = false`, DoT answers exactly as TCP; where the next
//! multiple of 468 would pass 65535 octets the answer goes unpadded.
//! DoQ's lengths are checked in `doq.rs` through [`unpad`].

use levee_wire::edns::code;
use levee_wire::message::Message;
use levee_wire::rtype::t;

use crate::dot::{client, connect, dot_addr, make_certs, recv, send, start, QUESTIONS};
use crate::support::{query, tcp, write_private, TempDir};

/// RFC 8467 §4.1: responses are padded to a multiple of this.
const BLOCK: usize = 468;

/// `m` without its Padding option, checking the padding as a client
/// sees it: with OPT, the message is a multiple of 468 octets, OPT is the
/// last record and its last option is Padding, all zeros; without OPT, it
/// is returned as is.
pub(crate) fn unpad(m: &[u8]) -> Vec<u8> {
    let msg = Message::parse(m).expect("a response that parses");
    let Some(opt) = msg.opt() else { return m.to_vec() };
    assert_eq!(msg.additional.last().map(|r| r.rtype), Some(t::OPT), "OPT is not the last record");
    assert_eq!(m.len() % BLOCK, 0, "{} octets: not a multiple of {BLOCK}", m.len());
    // Its options, the last of which must be Padding.
    let rd = &opt.rdata;
    let (mut at, mut last) = (0, None);
    while at + 4 <= rd.len() {
        let len = u16::from_be_bytes([rd[at + 2], rd[at + 3]]) as usize;
        last = Some((u16::from_be_bytes([rd[at], rd[at + 1]]), at, len));
        at += 4 + len;
    }
    assert_eq!(at, rd.len(), "OPT's options do not fill its RDATA");
    let Some((code::PADDING, start, len)) = last else { panic!("the last option is not Padding: {rd:?}") };
    assert!(rd[start + 4..].iter().all(|&b| b == 0), "padding octets are not zero");
    let cut = m.len() - 4 - len;
    let mut out = m[..cut].to_vec();
    let rdlen_at = m.len() - rd.len() - 2;
    out[rdlen_at..rdlen_at + 2].copy_from_slice(&(start as u16).to_be_bytes());
    out
}

#[test]
fn dot_answers_are_padded_to_468_octet_blocks() {
    let d = TempDir::new("pad-dot");
    let (ca, crt, key) = make_certs(d.path(), "a");
    let srv = start(&crt, &key, &[]);
    let mut s = connect(&client(&ca), dot_addr(&srv)).expect("handshake");
    let mut padded = 0;
    for (i, &(name, ty, edns)) in QUESTIONS.iter().enumerate() {
        let q = query(0x300 + i as u16, name, ty, edns);
        let want = tcp(srv.addr, &q, 1).remove(0);
        send(&mut s, &q);
        let got = recv(&mut s).expect("a response");
        if edns.is_some() {
            assert_ne!(got, want, "{name} {ty}: not padded over DoT");
            padded += 1;
        }
        assert_eq!(unpad(&got), want, "{name} {ty}: DoT less its padding differs from TCP");
    }
    assert!(padded >= 5);
    // A client that asks with an empty Padding option (kdig +padding)
    // gets the same.
    let mut q = query(0x400, "www.example.com.", t::A, Some(false));
    let n = q.len();
    q[n - 2..].copy_from_slice(&[0, 4]);
    q.extend_from_slice(&[0, 12, 0, 0]);
    send(&mut s, &q);
    let got = recv(&mut s).expect("a response");
    assert_eq!(got.len(), BLOCK);
    assert_eq!(unpad(&got), tcp(srv.addr, &query(0x400, "www.example.com.", t::A, Some(false)), 1)[0]);
}

#[test]
fn padding_off_answers_dot_exactly_as_tcp() {
    let d = TempDir::new("pad-off");
    let (ca, crt, key) = make_certs(d.path(), "a");
    let conf = d.path().join("levee.toml");
    write_private(&conf, "[tls]\npadding = false\n");
    let srv = start(&crt, &key, &["--config", conf.to_str().unwrap()]);
    let mut s = connect(&client(&ca), dot_addr(&srv)).expect("handshake");
    for (i, &(name, ty, edns)) in QUESTIONS.iter().enumerate() {
        let q = query(0x500 + i as u16, name, ty, edns);
        send(&mut s, &q);
        assert_eq!(
            recv(&mut s).expect("a response"),
            tcp(srv.addr, &q, 1)[0],
            "{name} {ty}: padded with tls.padding = false"
        );
    }
}

/// Responses of 65,4xx to 65,535 octets: padded to 65,520 while the
/// option fits (TCP length + 4 <= 65,520), sent unpadded past it (the
/// next multiple, 65,988, passes the 65,535-octet limit).
#[test]
fn no_padding_past_the_65535_octet_limit() {
    let d = TempDir::new("pad-limit");
    let (ca, crt, key) = make_certs(d.path(), "a");
    let zones = d.path().join("zones");
    std::fs::create_dir(&zones).unwrap();
    let mut z = String::from("$ORIGIN big.test.\n$TTL 300\n@ SOA ns hm 1 3600 600 86400 60\n@ NS ns\nns A 192.0.2.1\n");
    let a = "a".repeat(247);
    // 248 TXT records of 251 octets and one of 150 + k: about 65,430 + k.
    for k in 0..100 {
        for i in 0..248 {
            z.push_str(&format!("n{k} TXT \"{i:03}{a}\"\n"));
        }
        z.push_str(&format!("n{k} TXT \"{}\"\n", "b".repeat(150 + k)));
    }
    std::fs::write(zones.join("big.test.zone"), z).unwrap();
    let srv = start(&crt, &key, &["--zones-dir", zones.to_str().unwrap()]);
    let mut s = connect(&client(&ca), dot_addr(&srv)).expect("handshake");
    let (mut fits, mut over) = (0, 0);
    for k in (0..100).step_by(3) {
        let q = query(k as u16, &format!("n{k}.big.test."), t::TXT, Some(false));
        let want = tcp(srv.addr, &q, 1).remove(0);
        send(&mut s, &q);
        let got = recv(&mut s).expect("a response");
        if want.len() + 4 <= 65520 {
            assert_eq!(got.len(), 65520, "n{k}: {} octets over TCP", want.len());
            assert_eq!(unpad(&got), want);
            fits += 1;
        } else {
            assert_eq!(got, want, "n{k}: {} octets over TCP, padded past the limit", want.len());
            over += 1;
        }
    }
    assert!(fits >= 3 && over >= 3, "the sizes did not straddle the limit: {fits} fit, {over} over");
}
