//! The reply to an UPDATE: the request's header with QR and the rcode,
//! its zone section echoed (as BIND and Knot DNS do), no other records,
//! an OPT record when the request had one, and a TSIG record signed with
//! the request's key and MAC when the request was signed (RFC 8945 §5.3).

use levee_tsig::{Key, MacBuf, SignParams};
use levee_wire::header::{flag, rcode, HeaderRef, HEADER_LEN};
use levee_wire::name;
use levee_wire::rtype::t;

/// The reply to the UPDATE `req` with `rc`; `payload` is our EDNS UDP
/// payload size; `signed` the key and request MAC to sign with at `now`.
/// A request too short for a header gets an empty reply (not sent).
pub fn reply(req: &[u8], rc: u16, payload: u16, signed: Option<(&Key, &MacBuf)>, now: u64) -> Vec<u8> {
    let Some(h) = HeaderRef::new(req) else { return Vec::new() };
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(&req[..HEADER_LEN]);
    // QR, the opcode and RD as asked, the rcode; AA, TC, RA, AD, CD clear.
    let flags = (h.flags() & (0x7800 | flag::RD)) | flag::QR | rcode::header_bits(rc);
    out[2..4].copy_from_slice(&flags.to_be_bytes());
    out[4..12].fill(0);
    // The zone section, when the request has exactly one well-formed one.
    let zone_end = (h.qdcount() == 1)
        .then(|| name::skip_compressed(req, HEADER_LEN).ok())
        .flatten()
        .map(|e| e + 4)
        .filter(|&e| e <= req.len());
    if let Some(end) = zone_end {
        out.extend_from_slice(&req[HEADER_LEN..end]);
        out[5] = 1;
    }
    if has_opt(req) {
        // Root owner, OPT, our payload, extended rcode/version/flags 0.
        out.extend_from_slice(&[0, 0, 41]);
        out.extend_from_slice(&payload.to_be_bytes());
        out.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
        out[11] = 1;
    }
    if let Some((key, mac)) = signed {
        let p = SignParams { prior: Some(mac.as_slice()), ..SignParams::at(now) };
        levee_tsig::sign_vec(&mut out, key, &p);
    }
    out
}

/// Whether the request's additional section holds an OPT record (read
/// with the general message reader: not a hot path).
fn has_opt(req: &[u8]) -> bool {
    levee_wire::message::Message::parse(req).is_ok_and(|m| m.additional.iter().any(|r| r.rtype == t::OPT))
}
