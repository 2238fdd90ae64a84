//! Dynamic update (RFC 2136), off the query path.
//!
//! The answering pipeline (`levee_answer`, `update.rs` there) checks an
//! UPDATE's TSIG, zone and `allow-update` grant and answers every refusal
//! itself; a granted update comes back from `Worker::answer` as
//! `Decision::Update`. The driver that received it (a UDP worker or the
//! TCP thread) hands it to the one update thread of the daemon through a
//! bounded queue ([`Updates::submit`], [`QUEUE`] deep; a full queue is
//! answered SERVFAIL and counted), and goes back to answering queries.
//!
//! The update thread ([`start`], `apply.rs`) takes updates one at a time:
//! it evaluates the update against the zone as it is served
//! (`levee_update::evaluate`, sans-IO), and when the zone changed it
//! builds the new snapshot (the zone's records with the difference
//! applied, `levee_zone::journal::build_from`; a snapshot is never
//! changed once published), appends the difference to the zone's update
//! log and waits for `fdatasync` (`log.rs`), then publishes the new
//! snapshot (`zones::publish`), extends the zone's IXFR journal, sends
//! NOTIFY to the zone's secondaries, and only then replies. An update is
//! therefore acknowledged only once it is on disk; one that could not be
//! written is answered SERVFAIL and not applied.
//!
//! **Restart safety: the log is replayed over the zone file.** At start
//! ([`replay_all`]) each dynamic zone's log is applied to the zone as its
//! file loaded, so every acknowledged change is served again, including
//! after `kill -9` in the middle of a burst. The zone file itself is not
//! rewritten. A reload does not read a dynamic zone's file again (its
//! served version, with its updates, is kept: `replication::primary::
//! after_reload`), as BIND refuses to reload a dynamic zone.
//!
//! Replies: over UDP the update thread sends the reply itself, from a
//! duplicate of the worker's socket (so from the address and port the
//! request came to on a socket bound to one address); over TCP the TCP
//! thread waits for the reply (at most [`TCP_WAIT`]) and writes it on the
//! connection.

pub mod apply;
pub mod log;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::Duration;

use levee_answer::UpdateRequest;
use levee_config::Config;
use levee_wire::header::rcode;
use levee_wire::name;

/// Updates waiting for the update thread, at most.
pub const QUEUE: usize = 256;
/// How long the TCP thread waits for an update's reply.
pub const TCP_WAIT: Duration = Duration::from_secs(10);

/// Counters of the updates handled (metrics, `levee ctl zone-status`).
#[derive(Default, Debug)]
pub struct Stats {
    /// Replies by rcode (the four header bits): NOERROR, FORMERR,
    /// SERVFAIL, NXDOMAIN, YXDOMAIN, YXRRSET, NXRRSET, NOTAUTH, NOTZONE,
    /// REFUSED as the update thread answered.
    pub by_rcode: [AtomicU64; 16],
    /// NOERROR updates that changed the zone (a new serial).
    pub applied: AtomicU64,
    /// Updates answered SERVFAIL because the queue was full.
    pub queue_full: AtomicU64,
    /// Updates answered SERVFAIL because the log could not be written or
    /// the zone would not build.
    pub failed: AtomicU64,
    /// Each dynamic zone's update log as last opened or appended to:
    /// (entries, octets), by lowercase apex (`levee ctl zone-status`).
    pub logs: std::sync::Mutex<std::collections::HashMap<Vec<u8>, (u64, u64)>>,
}

impl Stats {
    /// The ` update-log=ENTRIES/OCTETS` field of `levee ctl zone-status`
    /// for a dynamic zone (`-` until its log is first opened), empty for
    /// another zone.
    pub fn status_field(&self, cfg: &Config, apex: &[u8]) -> String {
        if !grants(cfg).iter().any(|(a, _)| a.as_slice() == apex) {
            return String::new();
        }
        let logs = self.logs.lock().unwrap_or_else(|e| e.into_inner());
        match logs.get(apex) {
            Some((n, b)) => format!(" updates=on update-log={n}/{b}"),
            None => " updates=on update-log=-".into(),
        }
    }

    fn count(&self, rc: u16) {
        self.by_rcode[rcode::header_bits(rc) as usize].fetch_add(1, Ordering::Relaxed);
    }
}

/// Where an update's reply goes.
pub enum Reply {
    /// Sent to the client from this socket (a duplicate of the UDP
    /// worker's).
    Udp(Arc<levee_io::udp::Socket>, SocketAddr),
    /// Handed back to the TCP thread, which waits for it.
    Tcp(SyncSender<Vec<u8>>),
}

/// One update for the update thread.
pub struct Job {
    /// The update, as the answering pipeline passed it.
    pub req: Box<UpdateRequest>,
    /// Where the reply goes.
    pub reply: Reply,
}

/// The drivers' side of the queue.
#[derive(Clone)]
pub struct Updates {
    tx: SyncSender<Job>,
    /// The counters, shared with the update thread.
    pub stats: Arc<Stats>,
    /// Our EDNS payload size (for the replies written here).
    payload: u16,
}

impl Updates {
    /// The queue for `cfg`, and its receiving end for [`start`].
    pub fn new(cfg: &Config) -> (Updates, Receiver<Job>) {
        let (tx, rx) = std::sync::mpsc::sync_channel(QUEUE);
        (Updates { tx, stats: Arc::default(), payload: cfg.udp_payload }, rx)
    }

    /// Queues an update; when the queue is full, returns the SERVFAIL
    /// reply to send at once (counted).
    pub fn submit(&self, job: Job) -> Option<Vec<u8>> {
        match self.tx.try_send(job) {
            Ok(()) => None,
            Err(TrySendError::Full(j) | TrySendError::Disconnected(j)) => {
                self.stats.queue_full.fetch_add(1, Ordering::Relaxed);
                self.stats.count(rcode::SERVFAIL);
                Some(reply_to(&j.req, rcode::SERVFAIL, self.payload))
            }
        }
    }

    /// A TCP update: queued, then its reply waited for (SERVFAIL if it
    /// does not come within [`TCP_WAIT`]).
    pub fn submit_and_wait(&self, req: Box<UpdateRequest>) -> Vec<u8> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let fallback = reply_to(&req, rcode::SERVFAIL, self.payload);
        if let Some(r) = self.submit(Job { req, reply: Reply::Tcp(tx) }) {
            return r;
        }
        rx.recv_timeout(TCP_WAIT).unwrap_or(fallback)
    }
}

/// The reply to `req` with `rc`, signed when the request was.
pub fn reply_to(req: &UpdateRequest, rc: u16, payload: u16) -> Vec<u8> {
    let signed = req.signed.as_ref().map(|(k, m)| (k, m));
    levee_update::reply(&req.msg, rc, payload, signed, crate::clock::wall())
}

/// The zones of `cfg` that take updates, by lowercase apex, with their
/// grants as the answering pipeline checks them.
pub fn grants(cfg: &Config) -> Vec<(Vec<u8>, levee_zone::Acl)> {
    cfg.zones
        .iter()
        .filter(|z| !z.allow_update.is_empty())
        .filter_map(|z| {
            let apex = name::to_lowercase(&name::from_text(&z.name, None).ok()?).as_slice().to_vec();
            let mut acl = levee_zone::Acl::none();
            crate::zones::load::add_rules(&mut acl, &z.allow_update);
            Some((apex, acl))
        })
        .collect()
}

/// Starts the update thread when some zone takes updates.
pub fn start(
    c: Arc<crate::center::Center>,
    rx: Receiver<Job>,
    stats: Arc<Stats>,
) -> std::io::Result<Option<std::thread::JoinHandle<()>>> {
    if grants(&c.cfg).is_empty() {
        return Ok(None);
    }
    std::thread::Builder::new().name("levee-update".into()).spawn(move || apply::run(&c, rx, &stats)).map(Some)
}

pub use apply::replay_all;
