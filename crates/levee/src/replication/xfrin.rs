//! Transfers in (issue 15): one AXFR/IXFR of a secondary zone, run on a
//! thread of its own, bounded and cancellable.
//!
//! [`run`] is what the `levee-xfr-in` thread does for a secondary zone's
//! refresh (`replication::secondary`):
//!
//! 1. **IXFR** from our serial when we have a version; the differences are
//!    applied to our record list (`journal::apply_all`). Any failure that
//!    is the data's fault (a malformed or inconsistent IXFR, a difference
//!    removing a record we do not have, a result that does not build) falls
//!    back to **AXFR** at once, as Knot DNS and BIND do; so does an IXFR
//!    answered with a lone newer SOA.
//! 2. Every record passes the zone loader's RDATA check in the receiver
//!    (`levee_xfr::Receiver`); one bad record fails the whole transfer, and
//!    the error names the record.
//! 3. **Limits** ([`TransferLimits`]): a total time budget, an idle timeout
//!    per message (and for the connection), a record and a size budget (in
//!    the receiver). On exceeding one the transfer is abandoned: its
//!    memory is freed on this thread and handed back to the system
//!    (`levee_io::mem`), the served zone is untouched, and the caller's
//!    retry timer goes on.
//! 4. **Cancellation** ([`Cancel`]): `levee ctl retransfer` ends a transfer
//!    in progress (a trickling primary) and starts a new one.
//! 5. **TLS** (XoT, RFC 9103) when the primary's entry says `tls`
//!    ([`Tls`]): the same exchange inside a rustls client session (TLS 1.3,
//!    ALPN `dot`, the certificate checked for the entry's name against
//!    `[transfer-in] tls-ca-file`), the handshake within the idle timeout;
//!    [`soa_over_tls`] is the refresh's SOA query to such a primary.
//!
//! The zone is then built from the records (the usual checks); the caller
//! publishes it. Nothing here touches the served zone set.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use levee_config::repl::TransferLimits;
use levee_tsig::Key;
use levee_wire::name::NameBuf;
use levee_wire::rtype::t;
use levee_xfr::{Budget, Received, Receiver};
use levee_zone::journal::{self, Rr};
use levee_zone::Zone;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Notify;

use crate::clock::wall;
use crate::replication::client::{random_id, Fail};

/// A record list: the IXFR base of a secondary zone (SOA first).
pub type Records = Arc<Vec<Rr>>;

/// A received zone: its records, the snapshot, how it came, and the
/// differences when it came by IXFR.
pub type Fetched = (Records, Zone, &'static str, Option<Vec<journal::Diff>>);

/// Ends a transfer in progress. Both the transfer thread and the zone's
/// task wait on it.
#[derive(Default)]
pub struct Cancel {
    flag: AtomicBool,
    notify: Notify,
}

impl Cancel {
    /// Cancels (once and for all).
    pub fn cancel(&self) {
        self.flag.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    /// Completes when cancelled (at once if it already was).
    pub async fn cancelled(&self) {
        loop {
            let n = self.notify.notified();
            tokio::pin!(n);
            n.as_mut().enable();
            if self.flag.load(Ordering::SeqCst) {
                return;
            }
            n.await;
        }
    }
}

/// One transfer in, as handed to the transfer thread.
pub struct Job {
    /// The primary.
    pub addr: SocketAddr,
    /// The local address to connect from (`[transfer-in] source`).
    pub source: Option<IpAddr>,
    /// Over TLS (XoT), when the primary's entry says `tls`.
    pub tls: Option<Tls>,
    /// The zone (lowercase wire).
    pub apex: NameBuf,
    /// Our SOA: IXFR from it; `None`: AXFR.
    pub ours: Option<Rr>,
    /// TSIG key for the primary.
    pub key: Option<Key>,
    /// Our record list (the IXFR base), when the caller has it.
    pub base: Option<Records>,
    /// The served version, to make the base from when `base` is `None`.
    pub served: Option<Arc<Zone>>,
    /// `[transfer-in]` limits.
    pub limits: TransferLimits,
    /// The zone's semantic-check policy (`semantic-checks`).
    pub checks: levee_zone::Checks,
    /// Cancellation.
    pub cancel: Arc<Cancel>,
    /// Signed in transit: the zone's name and signing plan. The received
    /// (unsigned) data is signed before it is handed back
    /// ([`run_signed`]).
    pub sign: Option<(String, crate::zones::sign::SignPlan)>,
}

/// How to reach a primary over TLS (XoT, RFC 9103): the client
/// configuration (`crate::tls::xot_client`) and the name its certificate
/// must be valid for.
#[derive(Clone)]
pub struct Tls {
    config: Arc<rustls::ClientConfig>,
    name: rustls::pki_types::ServerName<'static>,
}

impl Tls {
    /// `name`: a host name or an address (checked by the configuration).
    pub fn new(config: &Arc<rustls::ClientConfig>, name: &str) -> Result<Tls, Fail> {
        let name = rustls::pki_types::ServerName::try_from(name.to_string()).map_err(|e| {
            Fail::Io(std::io::Error::other(format!("'{name}' cannot be checked in a certificate: {e}")))
        })?;
        Ok(Tls { config: Arc::clone(config), name })
    }
}

/// A transfer's connection: TCP, or TLS over TCP.
trait Conn: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Conn for T {}

/// Connects to `addr`, with the TLS handshake when `tls` (the certificate
/// checked by rustls), each step within `idle`.
async fn connect(
    addr: SocketAddr,
    source: Option<IpAddr>,
    tls: Option<&Tls>,
    idle: Duration,
    idle_fail: impl Fn() -> Fail,
) -> Result<Box<dyn Conn>, Fail> {
    let s = tokio::time::timeout(idle, crate::replication::client::tcp_connect(addr, source))
        .await
        .map_err(|_| idle_fail())??;
    let Some(tls) = tls else { return Ok(Box::new(s)) };
    let connector = tokio_rustls::TlsConnector::from(Arc::clone(&tls.config));
    let s = tokio::time::timeout(idle, connector.connect(tls.name.clone(), s)).await.map_err(|_| idle_fail())??;
    Ok(Box::new(s))
}

/// The SOA of a primary reached over TLS (XoT: its entry's port is the
/// DoT one, so the refresh query goes there too, as BIND's does).
pub async fn soa_over_tls(
    addr: SocketAddr,
    source: Option<IpAddr>,
    tls: &Tls,
    apex: &[u8],
    key: Option<&Key>,
) -> Result<Rr, Fail> {
    let wait = Duration::from_secs(5);
    let timed_out = || Fail::Io(std::io::ErrorKind::TimedOut.into());
    let req = levee_xfr::request(random_id(), apex, t::SOA, None, false, key, wall());
    let mut s = connect(addr, source, Some(tls), wait, timed_out).await?;
    let mut out = (req.msg.len() as u16).to_be_bytes().to_vec();
    out.extend_from_slice(&req.msg);
    tokio::time::timeout(wait, s.write_all(&out)).await.map_err(|_| timed_out())??;
    let mut buf = Vec::new();
    if !tokio::time::timeout(wait, read_message(&mut s, &mut buf)).await.map_err(|_| timed_out())?? {
        return Err(Fail::Io(std::io::ErrorKind::UnexpectedEof.into()));
    }
    let m = levee_xfr::check_response(&req, &buf, key, wall())?;
    levee_xfr::soa_answer(&m, apex).ok_or(Fail::Xfr(levee_xfr::XfrError::BadStructure))
}

/// The outcome of [`run`]: the zone, or why not and the record list back
/// (when it was not consumed), for the next IXFR.
pub type Outcome = Result<Fetched, (Fail, Option<Records>)>;

/// Transfers and builds (see the module documentation). Runs on its own
/// thread; after a failure the freed memory goes back to the system.
pub fn run(job: Job) -> Outcome {
    let out = run_inner(job);
    if out.is_err() {
        levee_io::mem::release_free_memory();
    }
    out
}

fn run_inner(mut job: Job) -> Outcome {
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return Err((Fail::Io(e), job.base)),
    };
    if job.sign.is_some() {
        return run_signed(&job, &rt).map_err(|e| (e, None));
    }
    let zname = levee_wire::name::to_text(&job.apex);
    if let Some(ours) = job.ours.take() {
        match rt.block_on(transfer(&job, Some(&ours))) {
            Ok((Received::Incremental(diffs), kind)) => {
                let base = match job.base.take() {
                    Some(b) => Arc::try_unwrap(b).unwrap_or_else(|shared| (*shared).clone()),
                    None => match &job.served {
                        Some(z) => journal::records(z),
                        None => return Err((Fail::Build("IXFR without a base version".into()), None)),
                    },
                };
                match journal::apply_all(base, &diffs).map_err(|e| e.to_string()).and_then(|recs| build(&job, recs)) {
                    Ok((recs, zone)) => return Ok((recs, zone, kind, Some(diffs))),
                    Err(e) => {
                        tracing::warn!(zone = %zname, primary = %job.addr, "IXFR cannot be applied ({e}); falling back to AXFR")
                    }
                }
            }
            Ok((Received::Full(recs), kind)) => {
                return match build(&job, recs) {
                    Ok((recs, zone)) => Ok((recs, zone, kind, None)),
                    Err(e) => Err((Fail::Build(e), job.base)),
                };
            }
            // A lone newer SOA: the primary cannot send differences.
            Ok((Received::UpToDate(_), _)) => {}
            Err(Fail::Xfr(e)) if e.is_data_error() => {
                tracing::warn!(zone = %zname, primary = %job.addr, "IXFR failed ({e}); falling back to AXFR")
            }
            Err(e) => return Err((e, job.base)),
        }
    }
    match rt.block_on(transfer(&job, None)) {
        Ok((Received::Full(recs), kind)) => match build(&job, recs) {
            Ok((recs, zone)) => Ok((recs, zone, kind, None)),
            Err(e) => Err((Fail::Build(e), job.base)),
        },
        Ok(_) => Err((Fail::Build("primary sent no data".into()), job.base)),
        Err(e) => Err((e, job.base)),
    }
}

/// A zone signed in transit (issue 18): an IXFR's differences are signed
/// on the served signed version (`zones::sign::signed_ixfr`: incremental,
/// the signed differences go on to the journal, so our own secondaries
/// get a small IXFR); an AXFR, or an IXFR the incremental path cannot
/// take, is signed in full (`zones::sign::sign`, the served version's
/// signatures of unchanged RRsets kept). The record list handed back is
/// the signed SOA alone: the caller lists the signed zone for storage
/// after publishing it. The served serial is the primary's.
fn run_signed(job: &Job, rt: &tokio::runtime::Runtime) -> Result<Fetched, Fail> {
    let Some((zname, plan)) = &job.sign else { return Err(Fail::Build("not a signed zone".into())) };
    let soa_of = |z: &Zone| Rr {
        owner: z.apex().to_vec(),
        rtype: t::SOA,
        ttl: z.rrset(z.soa()).ttl(),
        rdata: z.first_rdata(z.soa()).to_vec(),
    };
    let served = job.served.as_deref();
    if let (Some(ours), Some(old)) = (&job.ours, served) {
        match rt.block_on(transfer(job, Some(ours))) {
            Ok((Received::Incremental(diffs), kind)) => {
                match crate::zones::sign::signed_ixfr(zname, job.checks, plan, old, &diffs) {
                    Ok(Some((zone, signed))) => return Ok((Arc::new(vec![soa_of(&zone)]), zone, kind, Some(signed))),
                    Ok(None) => match journal::apply_all(journal::records(old), &diffs) {
                        Ok(recs) => return sign_full(job, zname, plan, recs, kind),
                        Err(e) => tracing::warn!(zone = %zname, "IXFR cannot be applied ({e}); falling back to AXFR"),
                    },
                    Err(e) => tracing::warn!(zone = %zname, "IXFR cannot be signed ({e}); falling back to AXFR"),
                }
            }
            Ok((Received::Full(recs), kind)) => return sign_full(job, zname, plan, recs, kind),
            Ok((Received::UpToDate(_), _)) => {}
            Err(Fail::Xfr(e)) if e.is_data_error() => {
                tracing::warn!(zone = %zname, primary = %job.addr, "IXFR failed ({e}); falling back to AXFR")
            }
            Err(e) => return Err(e),
        }
    }
    match rt.block_on(transfer(job, None))? {
        (Received::Full(recs), kind) => sign_full(job, zname, plan, recs, kind),
        _ => Err(Fail::Build("primary sent no data".into())),
    }
}

/// Builds the received records (unsigned: a signed primary's RRSIG and
/// chain records are dropped by the signer) and signs them in full.
fn sign_full(
    job: &Job,
    zname: &str,
    plan: &crate::zones::sign::SignPlan,
    recs: Vec<Rr>,
    kind: &'static str,
) -> Result<Fetched, Fail> {
    let (_, unsigned) = build(job, recs).map_err(Fail::Build)?;
    let built = levee_zone::Built { zone: unsigned, warnings: Vec::new() };
    let served = job.served.as_deref();
    let signed = match crate::zones::sign::sign(zname, job.checks, plan, built, served) {
        Ok(crate::zones::sign::Signed::New(b)) => b.zone,
        Ok(crate::zones::sign::Signed::Unchanged) => return Err(Fail::Build("the transfer changed nothing".into())),
        Err(d) => return Err(Fail::Build(d.iter().map(|x| x.message.as_str()).collect::<Vec<_>>().join("; "))),
    };
    // Our secondaries' IXFR: the difference from the served version.
    let diffs = served.filter(|o| levee_wire::serial::Serial(signed.serial()) > levee_wire::serial::Serial(o.serial()));
    let diffs = diffs.map(|o| vec![journal::diff(o, &signed)]);
    let soa = Rr {
        owner: signed.apex().to_vec(),
        rtype: t::SOA,
        ttl: signed.rrset(signed.soa()).ttl(),
        rdata: signed.first_rdata(signed.soa()).to_vec(),
    };
    Ok((Arc::new(vec![soa]), signed, kind, diffs))
}

/// Builds the (unsigned) snapshot to sign, with a signed zone's small
/// segments (the signed version shares them); the error lists the first
/// few problems.
fn build(job: &Job, recs: Vec<Rr>) -> Result<(Records, Zone), String> {
    let segment_names = crate::zones::sign::segment_names(recs.len() as u64);
    match journal::build_from(&job.apex, &recs, levee_zone::BuildOptions { checks: job.checks, segment_names }) {
        Ok(b) => Ok((Arc::new(recs), b.zone)),
        Err(d) => {
            let errors: Vec<&str> = d.iter().filter(|x| !x.warning).map(|x| x.message.as_str()).collect();
            let more = errors.len().saturating_sub(5);
            let mut msg = errors[..errors.len().min(5)].join("; ");
            if more > 0 {
                msg.push_str(&format!("; and {more} more"));
            }
            Err(msg)
        }
    }
}

/// One transfer (IXFR from `ours`, else AXFR) within the job's limits,
/// cancellable.
async fn transfer(job: &Job, ours: Option<&Rr>) -> Result<(Received, &'static str), Fail> {
    let lim = job.limits;
    let total = Duration::from_secs(lim.timeout as u64);
    let work = tokio::time::timeout(total, receive(job, ours));
    tokio::select! {
        r = work => r.unwrap_or_else(|_| Err(Fail::Limit(format!("longer than {} s (transfer-in timeout)", lim.timeout)))),
        _ = job.cancel.cancelled() => Err(Fail::Cancelled),
    }
}

async fn receive(job: &Job, ours: Option<&Rr>) -> Result<(Received, &'static str), Fail> {
    let idle = Duration::from_secs(job.limits.idle_timeout as u64);
    let idle_fail = || Fail::Limit(format!("no message for {} s (transfer-in idle-timeout)", job.limits.idle_timeout));
    let qtype = if ours.is_some() { t::IXFR } else { t::AXFR };
    let now = wall();
    let req = levee_xfr::request(random_id(), &job.apex, qtype, ours, false, job.key.as_ref(), now);
    let mut s = connect(job.addr, job.source, job.tls.as_ref(), idle, idle_fail).await?;
    let mut out = (req.msg.len() as u16).to_be_bytes().to_vec();
    out.extend_from_slice(&req.msg);
    tokio::time::timeout(idle, s.write_all(&out)).await.map_err(|_| idle_fail())??;
    let our_serial = ours.and_then(|r| levee_wire::soa::serial(&r.rdata));
    let budget = Budget { max_records: job.limits.max_records, max_bytes: job.limits.max_size };
    let mut rx = Receiver::new(&req, &job.apex, our_serial, job.key.as_ref(), now).with_budget(budget);
    let mut buf = Vec::new();
    loop {
        let got = tokio::time::timeout(idle, read_message(&mut s, &mut buf)).await.map_err(|_| idle_fail())??;
        let r = if got { rx.message(&buf)? } else { Some(rx.end_of_stream()?) };
        if let Some(r) = r {
            let kind = match (&r, qtype) {
                (Received::Incremental(_), _) => "IXFR",
                (Received::UpToDate(_), _) => "none",
                (Received::Full(_), t::IXFR) => "IXFR (full)",
                _ => "AXFR",
            };
            return Ok((r, kind));
        }
    }
}

/// Reads one length-prefixed message; `false` when the primary closed the
/// connection between messages.
async fn read_message(s: &mut Box<dyn Conn>, buf: &mut Vec<u8>) -> Result<bool, Fail> {
    let mut len = [0u8; 2];
    if s.read(&mut len[..1]).await? == 0 {
        return Ok(false);
    }
    s.read_exact(&mut len[1..]).await?;
    buf.resize(u16::from_be_bytes(len) as usize, 0);
    s.read_exact(buf).await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    /// levee-xfr's default budget is the configuration's default.
    #[test]
    fn default_budget_is_the_configured_default() {
        let l = levee_config::repl::TransferLimits::default();
        assert_eq!(
            levee_xfr::Budget::default(),
            levee_xfr::Budget { max_records: l.max_records, max_bytes: l.max_size }
        );
    }
}
