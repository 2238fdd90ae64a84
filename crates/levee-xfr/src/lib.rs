//! # levee-xfr: the secondary side, without I/O
//!
//! * [`request`]: SOA, AXFR, IXFR and NOTIFY messages, signed with TSIG
//!   when a key is given.
//! * [`Receiver`]: consumes the messages of an AXFR or IXFR response
//!   (RFC 5936, RFC 1995), checking IDs, rcodes and TSIG on every message
//!   and the RDATA of every record (the zone loader's check,
//!   `levee_zone::zonefile::check_record`), within a record and size budget
//!   ([`Budget`]), and yields a full zone, a list of differences, or "up
//!   to date". Records may be split across messages in any way (RFC 5936
//!   §2.2): the SOA alone in the first message, one record per message,
//!   everything in one.
//! * [`Timers`]: the SOA refresh/retry/expire schedule (RFC 1034 §4.3.5).
//!
//! The daemon drives these with sockets and a clock; tests drive them
//! with bytes and numbers.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use core::fmt;

use levee_tsig::{Key, MacBuf, SignParams, StreamVerifier};
use levee_wire::header::{flag, opcode, HEADER_LEN};
use levee_wire::message::Message;
use levee_wire::name;
use levee_wire::rtype::{c, t};
use levee_wire::serial::Serial;
use levee_wire::soa::{self, Soa};
use levee_zone::journal::{Diff, Rr};

/// Errors of an incoming transfer or query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum XfrError {
    /// The message cannot be decoded.
    Malformed,
    /// The response does not answer our request (ID, QR, opcode, question).
    Mismatch,
    /// The primary answered with this rcode.
    Rcode(u16),
    /// TSIG failed.
    Tsig(levee_tsig::Error),
    /// The transfer does not start with the zone's SOA, or breaks the
    /// IXFR structure.
    BadStructure,
    /// The response was truncated (UDP): retry over TCP.
    Truncated,
    /// A record the zone loader would refuse: the record (owner, type)
    /// and the reason.
    BadRecord(String),
    /// The transfer went over its record or size budget.
    OverBudget(String),
    /// The stream ended before the closing SOA.
    Incomplete,
}

impl XfrError {
    /// True when the data itself is at fault (not the network or TSIG):
    /// after such an IXFR failure a secondary asks for AXFR instead.
    pub fn is_data_error(&self) -> bool {
        matches!(self, XfrError::Malformed | XfrError::BadStructure | XfrError::BadRecord(_) | XfrError::Rcode(_))
    }
}

impl fmt::Display for XfrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            XfrError::Malformed => f.write_str("malformed message"),
            XfrError::Mismatch => f.write_str("response does not match the request"),
            XfrError::Rcode(r) => write!(f, "primary answered rcode {r}"),
            XfrError::Tsig(e) => write!(f, "TSIG: {e}"),
            XfrError::BadStructure => f.write_str("transfer is not a well-formed AXFR/IXFR"),
            XfrError::Truncated => f.write_str("truncated"),
            XfrError::BadRecord(e) => write!(f, "bad record: {e}"),
            XfrError::OverBudget(e) => write!(f, "transfer abandoned: {e}"),
            XfrError::Incomplete => f.write_str("the primary closed the transfer before its closing SOA"),
        }
    }
}

impl std::error::Error for XfrError {}

/// A request ready to send.
#[derive(Clone, Debug)]
pub struct Request {
    /// The message.
    pub msg: Vec<u8>,
    /// Its ID.
    pub id: u16,
    /// Its MAC, when signed.
    pub mac: Option<MacBuf>,
}

/// Builds a request for `zone` (wire): `qtype` SOA, AXFR or IXFR (with
/// our current SOA in the authority section), or a NOTIFY (`notify`,
/// with the new SOA in the answer section). Signed when `key` is given.
pub fn request(
    id: u16,
    zone: &[u8],
    qtype: u16,
    soa: Option<&Rr>,
    notify: bool,
    key: Option<&Key>,
    now: u64,
) -> Request {
    let mut m = Vec::with_capacity(512);
    let flags: u16 = if notify { (opcode::NOTIFY as u16) << 11 | flag::AA } else { 0 };
    let (an, ns) = match (soa, notify, qtype) {
        (Some(_), true, _) => (1u16, 0u16),
        (Some(_), false, t::IXFR) => (0, 1),
        _ => (0, 0),
    };
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&flags.to_be_bytes());
    for n in [1u16, an, ns, 0] {
        m.extend_from_slice(&n.to_be_bytes());
    }
    m.extend_from_slice(zone);
    m.extend_from_slice(&qtype.to_be_bytes());
    m.extend_from_slice(&c::IN.to_be_bytes());
    if an + ns > 0 {
        if let Some(s) = soa {
            m.extend_from_slice(&[0xc0, 0x0c]);
            m.extend_from_slice(&t::SOA.to_be_bytes());
            m.extend_from_slice(&c::IN.to_be_bytes());
            m.extend_from_slice(&s.ttl.to_be_bytes());
            m.extend_from_slice(&(s.rdata.len() as u16).to_be_bytes());
            m.extend_from_slice(&s.rdata);
        }
    }
    let mac = key.map(|k| levee_tsig::sign_vec(&mut m, k, &SignParams::at(now)));
    Request { msg: m, id, mac }
}

/// Checks a single-message response (SOA query, NOTIFY answer): ID,
/// QR, opcode, TSIG, rcode. Returns the decoded message.
pub fn check_response(req: &Request, resp: &[u8], key: Option<&Key>, now: u64) -> Result<Message, XfrError> {
    let m = Message::parse(resp).map_err(|_| XfrError::Malformed)?;
    let rh = levee_wire::header::Header::read(&req.msg).ok_or(XfrError::Malformed)?;
    if m.header.id != req.id || !m.header.has(flag::QR) || m.header.opcode() != rh.opcode() {
        return Err(XfrError::Mismatch);
    }
    if let (Some(k), Some(mac)) = (key, req.mac) {
        let mut v = StreamVerifier::new(k, mac, now);
        v.message(resp).map_err(XfrError::Tsig)?;
    }
    if m.rcode() != 0 {
        return Err(XfrError::Rcode(m.rcode()));
    }
    if m.header.has(flag::TC) {
        return Err(XfrError::Truncated);
    }
    Ok(m)
}

/// The serial in the answer of a SOA response for `zone`.
pub fn soa_answer(m: &Message, zone: &[u8]) -> Option<Rr> {
    m.answer.iter().find(|r| r.rtype == t::SOA && name::eq_ignore_case(&r.owner, zone)).map(|r| Rr {
        owner: name::to_lowercase(&r.owner).as_slice().to_vec(),
        rtype: t::SOA,
        ttl: r.ttl,
        rdata: r.rdata.clone(),
    })
}

/// What a completed transfer delivered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Received {
    /// A whole zone (AXFR, or IXFR answered with a full transfer): the
    /// SOA first, then every other record.
    Full(Vec<Rr>),
    /// Differences, oldest first (IXFR).
    Incremental(Vec<Diff>),
    /// The primary's serial is ours (IXFR answered with one SOA).
    UpToDate(u32),
}

#[derive(Debug)]
enum St {
    /// Expecting the first SOA.
    Start,
    /// After the first SOA: deciding between AXFR and IXFR form.
    AfterFirst,
    Full,
    /// IXFR: removing (after an old SOA) or adding (after a new SOA).
    Removing,
    Adding,
    Done,
}

/// Limits on one incoming transfer (bounds memory on a hostile or
/// broken primary; see docs/operations.md, `[transfer-in]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    /// Most records (every SOA and every record of an IXFR counted).
    pub max_records: u64,
    /// Most octets of record data (owner + 10 + RDATA per record, as on
    /// the wire uncompressed).
    pub max_bytes: u64,
}

impl Default for Budget {
    /// Fits a 5M-delegation TLD (16.25M records, about 0.6 GB of record
    /// data) with room to grow.
    fn default() -> Self {
        Budget { max_records: DEFAULT_MAX_RECORDS, max_bytes: DEFAULT_MAX_BYTES }
    }
}

/// Default of [`Budget::max_records`].
pub const DEFAULT_MAX_RECORDS: u64 = 25_000_000;
/// Default of [`Budget::max_bytes`] (3 GiB).
pub const DEFAULT_MAX_BYTES: u64 = 3 << 30;

/// Consumes the messages of a transfer response.
pub struct Receiver<'k> {
    zone: Vec<u8>,
    id: u16,
    ours: Option<u32>,
    verifier: Option<StreamVerifier<'k>>,
    st: St,
    first_soa: Option<Rr>,
    last: u32,
    full: Vec<Rr>,
    diffs: Vec<Diff>,
    records: u64,
    bytes: u64,
    budget: Budget,
}

impl<'k> Receiver<'k> {
    /// For the response to `req` (for `zone`, lowercase wire); `ours` is
    /// our current serial for an IXFR; `key` when the request was signed.
    /// The default [`Budget`] applies.
    pub fn new(req: &Request, zone: &[u8], ours: Option<u32>, key: Option<&'k Key>, now: u64) -> Self {
        let verifier = match (key, req.mac) {
            (Some(k), Some(mac)) => Some(StreamVerifier::new(k, mac, now)),
            _ => None,
        };
        Receiver {
            zone: zone.to_vec(),
            id: req.id,
            ours,
            verifier,
            st: St::Start,
            first_soa: None,
            last: 0,
            full: Vec::new(),
            diffs: Vec::new(),
            records: 0,
            bytes: 0,
            budget: Budget::default(),
        }
    }

    /// Sets the budget.
    pub fn with_budget(mut self, budget: Budget) -> Self {
        self.budget = budget;
        self
    }

    /// Records received so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Octets of record data received so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Consumes one message; returns the result when the transfer is
    /// complete, `Ok(None)` when more messages are needed.
    pub fn message(&mut self, msg: &[u8]) -> Result<Option<Received>, XfrError> {
        if msg.len() < HEADER_LEN {
            return Err(XfrError::Malformed);
        }
        let m = Message::parse(msg).map_err(|_| XfrError::Malformed)?;
        if m.header.id != self.id || !m.header.has(flag::QR) {
            return Err(XfrError::Mismatch);
        }
        if let Some(v) = &mut self.verifier {
            v.message(msg).map_err(XfrError::Tsig)?;
        }
        if m.rcode() != 0 {
            return Err(XfrError::Rcode(m.rcode()));
        }
        if matches!(self.st, St::Done) {
            return Err(XfrError::BadStructure);
        }
        for r in &m.answer {
            if r.class != c::IN {
                continue;
            }
            self.count(r.owner.len() + 10 + r.rdata.len())?;
            if let Err(e) = levee_zone::zonefile::check_record(r.rtype, &r.rdata) {
                return Err(XfrError::BadRecord(format!(
                    "{} {}: {e}",
                    name::to_text(&r.owner),
                    levee_wire::rtype::type_to_text(r.rtype)
                )));
            }
            let rr = Rr {
                owner: name::to_lowercase(&r.owner).as_slice().to_vec(),
                rtype: r.rtype,
                ttl: r.ttl,
                rdata: r.rdata.clone(),
            };
            self.record(rr)?;
        }
        if matches!(self.st, St::AfterFirst) && self.ours.is_some_and(|o| Serial(o) >= Serial(self.last)) {
            // IXFR answered with the SOA alone, at or below our serial (RFC
            // 1995 §2): up to date. Any other lone SOA waits for what
            // follows: a primary may send the SOA in a message of its own.
            let s = self.last;
            self.st = St::Done;
            self.finish_verifier()?;
            return Ok(Some(Received::UpToDate(s)));
        }
        if matches!(self.st, St::Done) {
            self.finish_verifier()?;
            return Ok(Some(self.take()));
        }
        Ok(None)
    }

    /// The primary closed the connection before the transfer completed.
    /// An IXFR answered with only a newer SOA (RFC 1995 §4: the primary
    /// cannot send the differences, e.g. over UDP) is
    /// [`Received::UpToDate`] with that serial, for the caller to ask
    /// AXFR; anything else is [`XfrError::Incomplete`].
    pub fn end_of_stream(&mut self) -> Result<Received, XfrError> {
        match self.st {
            St::AfterFirst if self.ours.is_some() => {
                self.st = St::Done;
                Ok(Received::UpToDate(self.last))
            }
            _ => Err(XfrError::Incomplete),
        }
    }

    fn count(&mut self, octets: usize) -> Result<(), XfrError> {
        self.records += 1;
        self.bytes += octets as u64;
        if self.records > self.budget.max_records {
            return Err(XfrError::OverBudget(format!("more than {} records", self.budget.max_records)));
        }
        if self.bytes > self.budget.max_bytes {
            return Err(XfrError::OverBudget(format!("more than {} octets of records", self.budget.max_bytes)));
        }
        Ok(())
    }

    fn finish_verifier(&self) -> Result<(), XfrError> {
        match &self.verifier {
            Some(v) => v.finish().map_err(XfrError::Tsig),
            None => Ok(()),
        }
    }

    fn take(&mut self) -> Received {
        if !self.diffs.is_empty() {
            Received::Incremental(std::mem::take(&mut self.diffs))
        } else {
            Received::Full(std::mem::take(&mut self.full))
        }
    }

    fn serial(r: &Rr) -> Result<u32, XfrError> {
        soa::serial(&r.rdata).ok_or(XfrError::Malformed)
    }

    fn record(&mut self, rr: Rr) -> Result<(), XfrError> {
        let is_soa = rr.rtype == t::SOA;
        if is_soa && rr.owner != self.zone {
            return Err(XfrError::BadStructure);
        }
        match self.st {
            St::Start => {
                if !is_soa {
                    return Err(XfrError::BadStructure);
                }
                self.last = Self::serial(&rr)?;
                self.first_soa = Some(rr);
                self.st = St::AfterFirst;
            }
            St::AfterFirst => {
                let first = self.first_soa.clone().ok_or(XfrError::BadStructure)?;
                if is_soa && self.ours.is_some() {
                    // IXFR: this SOA starts the first difference.
                    self.diffs.push(Diff { old_soa: rr, new_soa: first, removed: Vec::new(), added: Vec::new() });
                    self.st = St::Removing;
                } else if is_soa {
                    // AXFR of an empty zone: SOA SOA.
                    self.full.push(first);
                    self.st = St::Done;
                } else {
                    self.full.push(first);
                    self.full.push(rr);
                    self.st = St::Full;
                }
            }
            St::Full => {
                if is_soa {
                    self.st = St::Done;
                } else {
                    self.full.push(rr);
                }
            }
            St::Removing => {
                let d = self.diffs.last_mut().ok_or(XfrError::BadStructure)?;
                if is_soa {
                    d.new_soa = rr;
                    self.st = St::Adding;
                } else {
                    d.removed.push(rr);
                }
            }
            St::Adding => {
                if is_soa {
                    if Self::serial(&rr)? == self.last {
                        // Check the chain: each difference continues the last.
                        let mut prev = None;
                        for d in &self.diffs {
                            if prev.is_some_and(|p| p != d.from()) {
                                return Err(XfrError::BadStructure);
                            }
                            prev = Some(d.to());
                        }
                        if prev != Some(self.last) || self.diffs.first().map(Diff::from) != self.ours {
                            return Err(XfrError::BadStructure);
                        }
                        self.st = St::Done;
                    } else {
                        let first = self.first_soa.clone().ok_or(XfrError::BadStructure)?;
                        self.diffs.push(Diff { old_soa: rr, new_soa: first, removed: Vec::new(), added: Vec::new() });
                        self.st = St::Removing;
                    }
                } else {
                    let d = self.diffs.last_mut().ok_or(XfrError::BadStructure)?;
                    d.added.push(rr);
                }
            }
            St::Done => return Err(XfrError::BadStructure),
        }
        Ok(())
    }
}

/// SOA timers of a secondary zone, in seconds on a monotonic clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timers {
    /// SOA refresh.
    pub refresh: u32,
    /// SOA retry.
    pub retry: u32,
    /// SOA expire.
    pub expire: u32,
    /// When the zone was last confirmed current by a primary.
    pub last_ok: Option<u64>,
    /// When to check next.
    pub next_check: u64,
    /// Failed checks in a row (the retry backoff).
    pub failures: u32,
}

impl Timers {
    /// Before anything is known: check now.
    pub fn new(now: u64) -> Self {
        Timers { refresh: 3600, retry: 600, expire: 604800, last_ok: None, next_check: now, failures: 0 }
    }

    /// Takes the timers from SOA RDATA.
    pub fn set_from_soa(&mut self, soa_rdata: &[u8]) {
        let Some(soa) = Soa::from_rdata(soa_rdata) else { return };
        // Floors keep a broken SOA from spinning the loop.
        self.refresh = soa.refresh().max(1);
        self.retry = soa.retry().max(1);
        self.expire = soa.expire().max(1);
    }

    /// The primary confirmed (or sent) our data at `now`.
    pub fn ok(&mut self, now: u64) {
        self.last_ok = Some(now);
        self.next_check = now + self.refresh as u64;
        self.failures = 0;
    }

    /// The refresh failed at `now` for a reason that will not pass soon
    /// (the primary refused, sent bad data, broke a limit): try again
    /// after the SOA retry. Without data (no SOA to take the retry from)
    /// within 30 s.
    pub fn failed(&mut self, now: u64) {
        self.next_check = now + self.retry_cap() as u64;
    }

    /// The network failed at `now` (no answer, connection refused or
    /// reset): the next try is 1, 2, 4, ... seconds later, at most what
    /// [`Timers::failed`] waits. A passing failure (a primary restarting,
    /// a connection closed by a busy primary, a partition healed) costs
    /// seconds, not the whole retry interval; a primary that stays away
    /// is asked at the SOA retry.
    pub fn failed_network(&mut self, now: u64) {
        let backoff = 1u32 << self.failures.min(16);
        self.failures = self.failures.saturating_add(1);
        self.next_check = now + self.retry_cap().min(backoff) as u64;
    }

    fn retry_cap(&self) -> u32 {
        if self.last_ok.is_none() {
            self.retry.min(30)
        } else {
            self.retry
        }
    }

    /// True when the data is past its expire time (or there is none).
    pub fn expired(&self, now: u64) -> bool {
        self.last_ok.is_none_or(|t| now >= t + self.expire as u64)
    }

    /// When the zone expires, if it has data.
    pub fn expires_at(&self) -> Option<u64> {
        self.last_ok.map(|t| t + self.expire as u64)
    }

    /// Puts the schedule right after the wall clock stepped back (a clock
    /// set right after it ran ahead, NTP stepping): a next check further
    /// away than the longest interval could set, or a confirmation in the
    /// future, can only come from the old clock. Without this a zone whose
    /// clock ran 10 minutes ahead would wait 10 minutes for its next check
    /// (and stay expired that long). Returns whether anything changed.
    pub fn settle(&mut self, now: u64) -> bool {
        let mut moved = false;
        if self.next_check > now + self.refresh.max(self.retry) as u64 {
            self.next_check = now;
            moved = true;
        }
        if self.last_ok.is_some_and(|t| t > now) {
            self.last_ok = Some(now);
            moved = true;
        }
        moved
    }

    /// The next moment something must happen: a check, or the expiry.
    pub fn next_wake(&self, now: u64) -> u64 {
        match self.expires_at() {
            Some(e) if e > now => self.next_check.min(e),
            _ => self.next_check,
        }
    }
}

#[cfg(test)]
mod tests;
