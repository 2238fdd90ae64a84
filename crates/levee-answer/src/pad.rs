//! The padding stage: EDNS(0) Padding (RFC 7830) of responses sent over
//! an encrypted transport (DoT, DoQ), with the block-length policy of
//! RFC 8467 §4.1: the whole message, TSIG included, is padded to a
//! multiple of [`BLOCK`] (468) octets, so an observer of the encrypted
//! stream learns the response's size only to the block.
//!
//! It runs after the finish stage and before TSIG signing
//! (`respond_query`, `tsig.rs`, and each message of a transfer in
//! `xfr.rs`; `Responder::padded` in finish.rs decides whether a response
//! is padded), on the finished message: it finds the OPT record, appends a
//! Padding option to its RDATA (moving a TSIG record that is already
//! there, the unsigned one of a BADKEY/BADSIG answer, so that it stays
//! last) and fixes OPT's RDLENGTH. A reply to be signed reserves the
//! TSIG record's length, so the signed message is the multiple and its
//! MAC covers the padding (RFC 7830 §4, RFC 8945 §4.3.3).
//!
//! What is padded follows Knot DNS 3.4 (observed with Debian 13's knotd
//! 3.4.6 over DoT and DoQ; ARCHITECTURE.md "EDNS padding"): every
//! response that carries OPT, whether or not the query had a Padding
//! option (RFC 7830 §3 allows it: the query showed EDNS support), errors
//! included, and every message of a zone transfer; never a response
//! without OPT (the query had none) and never over UDP or TCP in clear
//! text, where padding hides nothing and only amplifies (RFC 7830 §6,
//! RFC 8467 §3). The option is always added when it fits, with zero
//! octets of padding if the message is already at a block's end less
//! the option's 4 octets. When the next multiple would pass the
//! response's size limit (65535 octets on a stream), the message is sent
//! unpadded (Knot sends an unpadded message when its length is exactly
//! 65520 octets, a multiple of 468 with no room for more; longer ones it
//! answers with a FORMERR of two Padding options, which levee does not
//! copy).
//!
//! The walk to OPT reads the message levee itself wrote, bounded by its
//! length; the plain UDP path never reaches this stage.

use levee_wire::edns::code;
use levee_wire::header::HEADER_LEN;
use levee_wire::rtype::t;

/// The block length of responses (RFC 8467 §4.1).
pub const BLOCK: usize = 468;

/// Pads the finished message `out[..n]` so that, with `reserve` more
/// octets (the TSIG record the caller will append), it is a multiple of
/// [`BLOCK`] octets no longer than `limit`. Returns the new length: `n`
/// when the message has no OPT record, cannot be read, or the padding
/// would pass `limit` (or `out`).
pub(crate) fn pad(out: &mut [u8], n: usize, reserve: usize, limit: usize) -> usize {
    let Some(opt_end) = opt_rdata_end(&out[..n]) else { return n };
    let limit = limit.min(out.len());
    // The option's code and length, then the padding octets.
    let base = n + 4 + reserve;
    let target = base.div_ceil(BLOCK) * BLOCK;
    if target > limit {
        return n;
    }
    let padding = target - base;
    let add = 4 + padding;
    let rdlen_at = opt_end.0;
    let rdlen = u16::from_be_bytes([out[rdlen_at], out[rdlen_at + 1]]) as usize;
    if rdlen + add > u16::MAX as usize {
        return n;
    }
    let end = opt_end.1;
    // A record after OPT (an unsigned TSIG) moves up, staying last.
    out.copy_within(end..n, end + add);
    out[end..end + 2].copy_from_slice(&code::PADDING.to_be_bytes());
    out[end + 2..end + 4].copy_from_slice(&(padding as u16).to_be_bytes());
    out[end + 4..end + add].fill(0);
    out[rdlen_at..rdlen_at + 2].copy_from_slice(&((rdlen + add) as u16).to_be_bytes());
    n + add
}

/// Where the OPT record's RDLENGTH sits and where its RDATA ends, read
/// from the header's counts: the question names and record owners may be
/// compressed; the walk stops at the message's end.
fn opt_rdata_end(msg: &[u8]) -> Option<(usize, usize)> {
    let count = |i: usize| Some(u16::from_be_bytes([*msg.get(i)?, *msg.get(i + 1)?]) as usize);
    let (qd, an, ns, ar) = (count(4)?, count(6)?, count(8)?, count(10)?);
    let mut at = HEADER_LEN;
    for _ in 0..qd {
        at = skip_name(msg, at)? + 4;
    }
    for i in 0..an + ns + ar {
        let name_end = skip_name(msg, at)?;
        let rtype = u16::from_be_bytes([*msg.get(name_end)?, *msg.get(name_end + 1)?]);
        let rdlen_at = name_end + 8;
        let rdlen = count(rdlen_at)?;
        let end = rdlen_at + 2 + rdlen;
        if end > msg.len() {
            return None;
        }
        if rtype == t::OPT && i >= an + ns {
            return Some((rdlen_at, end));
        }
        at = end;
    }
    None
}

/// The end of the (possibly compressed) name at `at`.
fn skip_name(msg: &[u8], mut at: usize) -> Option<usize> {
    loop {
        let len = *msg.get(at)? as usize;
        match len {
            0 => return Some(at + 1),
            l if l & 0xC0 == 0xC0 => return Some(at + 2),
            l if l & 0xC0 == 0 => at += 1 + l,
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A response of `body` octets of answer-ish filler with a bare OPT
    /// record last, written by hand (header counts: 1 question, 1 OPT).
    fn message(extra: usize) -> Vec<u8> {
        let mut m = vec![0x12, 0x34, 0x84, 0, 0, 1, 0, 1, 0, 0, 0, 1];
        m.extend_from_slice(b"\x03www\x04test\x00\x00\x10\x00\x01");
        // One TXT record at the question's name (a pointer to it) of
        // `extra` octets of RDATA.
        m.extend_from_slice(&[0xC0, 12, 0, 16, 0, 1, 0, 0, 0, 60]);
        m.extend_from_slice(&(extra as u16).to_be_bytes());
        m.extend(std::iter::repeat_n(b'x', extra));
        m.extend_from_slice(&[0, 0, 41, 4, 208, 0, 0, 0, 0, 0, 0]);
        m
    }

    fn opt_options(msg: &[u8]) -> Vec<(u16, usize)> {
        let (rdlen_at, end) = opt_rdata_end(msg).unwrap();
        let mut at = rdlen_at + 2;
        let mut v = Vec::new();
        while at < end {
            let c = u16::from_be_bytes([msg[at], msg[at + 1]]);
            let l = u16::from_be_bytes([msg[at + 2], msg[at + 3]]) as usize;
            v.push((c, l));
            at += 4 + l;
        }
        assert_eq!(at, end, "the options fill OPT's RDATA exactly");
        v
    }

    #[test]
    fn pads_to_a_multiple_of_the_block() {
        for extra in [0usize, 1, 100, 400, 420, 421, 422, 900, 5000] {
            let m = message(extra);
            let n = m.len();
            let mut out = m.clone();
            out.resize(65535, 0xEE);
            let got = pad(&mut out, n, 0, 65535);
            assert_eq!(got % BLOCK, 0, "extra {extra}: {n} -> {got}");
            assert!(got >= n + 4 && got < n + 4 + BLOCK, "extra {extra}: {n} -> {got}");
            assert_eq!(out[..n - 11], m[..n - 11], "the records before OPT are unchanged");
            assert_eq!(opt_options(&out[..got]), vec![(code::PADDING, got - n - 4)]);
            assert!(out[n + 4..got].iter().all(|&b| b == 0), "padding octets are zero (RFC 7830 §3)");
        }
    }

    #[test]
    fn exactly_at_a_block_less_four_gets_an_empty_option() {
        // 464 octets + the option's 4 = 468: an option of no padding, as
        // Knot sends.
        let m = message(464 - message(0).len());
        assert_eq!(m.len(), 464);
        let mut out = m.clone();
        out.resize(1000, 0);
        assert_eq!(pad(&mut out, 464, 0, 65535), 468);
        assert_eq!(opt_options(&out[..468]), vec![(code::PADDING, 0)]);
    }

    #[test]
    fn reserve_makes_the_signed_length_the_multiple() {
        let m = message(200);
        let n = m.len();
        let mut out = m.clone();
        out.resize(2000, 0);
        let got = pad(&mut out, n, 61, 65535);
        assert_eq!((got + 61) % BLOCK, 0);
    }

    #[test]
    fn no_padding_past_the_limit() {
        // Where the next multiple passes the limit, nothing changes.
        let m = message(420);
        let n = m.len();
        let mut out = m.clone();
        out.resize(4000, 0);
        assert_eq!(pad(&mut out, n, 0, n + 4), n, "{n} + 4 < 468: the block does not fit a limit of {}", n + 4);
        assert_eq!(out[..n], m[..]);
        // The limit as a stream's: 65535, a message of 65520 (a multiple
        // of 468 already) and one a few octets short of the limit.
        for len in [65520usize, 65517, 65530] {
            let m = message(len - message(0).len());
            let mut out = m.clone();
            assert_eq!(pad(&mut out, len, 0, 65535), len);
            assert_eq!(out, m);
        }
        // 65516 + 4 = 65520 fits exactly.
        let m = message(65516 - message(0).len());
        let mut out = m.clone();
        out.resize(65535, 0);
        assert_eq!(pad(&mut out, 65516, 0, 65535), 65520);
        // The buffer is a limit too.
        let m = message(10);
        let mut out = m.clone();
        assert_eq!(pad(&mut out, m.len(), 0, 65535), m.len());
    }

    #[test]
    fn without_opt_nothing_is_added() {
        let mut m = message(30);
        let n = m.len() - 11;
        m.truncate(n);
        m[11] = 0; // ARCOUNT 0
        let mut out = m.clone();
        out.resize(1000, 0);
        assert_eq!(pad(&mut out, n, 0, 65535), n);
        // Garbage counts: nothing read past the end, nothing changed.
        let mut bad = message(30);
        bad[7] = 9;
        let len = bad.len();
        let before = bad.clone();
        bad.resize(1000, 0);
        assert_eq!(pad(&mut bad, len, 0, 65535), len);
        assert_eq!(bad[..len], before[..]);
    }

    #[test]
    fn a_record_after_opt_stays_last() {
        // OPT, then a record (as the unsigned TSIG of a BADKEY answer).
        let mut m = message(50);
        m[11] = 2;
        let tail = [0u8, 0, 250, 0, 255, 0, 0, 0, 0, 0, 3, 1, 2, 3];
        m.extend_from_slice(&tail);
        let n = m.len();
        let mut out = m.clone();
        out.resize(1000, 0);
        let got = pad(&mut out, n, 0, 65535);
        assert_eq!(got % BLOCK, 0);
        assert_eq!(out[got - tail.len()..got], tail, "the record after OPT is still last, whole");
        assert_eq!(opt_options(&out[..got]), vec![(code::PADDING, got - n - 4)]);
    }
}
