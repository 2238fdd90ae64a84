//! The drivers' side of dynamic update: the bounded queue to the update
//! thread ([`Updates`]), its jobs and where their replies go ([`Job`],
//! [`Reply`]), the counters ([`Stats`]) and the zones' grants
//! ([`grants`]). Nothing here depends on the `Center`.

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

    /// Counts a reply with `rc`.
    pub fn count(&self, rc: u16) {
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

/// One job for the update thread.
pub enum Job {
    /// An RFC 2136 update.
    Update {
        /// The update, as the answering pipeline passed it.
        req: Box<UpdateRequest>,
        /// Where the reply goes.
        reply: Reply,
    },
    /// An edit of the REST API or `levee ctl` (`ops::rest`).
    Edit(Edit),
}

/// An edit of a dynamic zone from the REST API or `levee ctl`: applied by
/// the update thread exactly as an update is (evaluated against the served
/// snapshot, logged with `fdatasync`, published, journaled, NOTIFY sent);
/// the outcome goes back on `reply` once the change is durable.
pub struct Edit {
    /// The zone, lowercase wire form.
    pub zone: Vec<u8>,
    /// What changes.
    pub what: EditKind,
    /// Refuse the edit (412) unless the served serial is this one.
    pub if_serial: Option<u32>,
    /// Who asked, for the log (`api` or `ctl`; never a token).
    pub who: &'static str,
    /// Where the outcome goes.
    pub reply: SyncSender<Result<Edited, EditError>>,
}

/// What an [`Edit`] changes.
pub enum EditKind {
    /// RRsets replaced or deleted, all or none.
    RRsets(Vec<levee_update::edit::Change>),
    /// The whole zone: its new records (lowercase owners, the SOA first).
    Zone(Vec<levee_zone::journal::Rr>),
}

/// A successful edit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Edited {
    /// The zone's serial now.
    pub serial: u32,
    /// Whether anything changed (no change: the serial stayed).
    pub changed: bool,
}

/// Why an edit was not applied (nothing changed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EditError {
    /// The zone is not served (or expired).
    NoZone,
    /// The zone is not dynamic.
    NotDynamic,
    /// The serial moved: it is now this.
    Moved(u32),
    /// A change was refused.
    Refused(levee_update::edit::Refusal),
    /// The zone would not build with the change (the zone's checks).
    Build(String),
    /// The change could not be made durable, or an internal error.
    Failed(String),
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
    pub fn submit(&self, req: Box<UpdateRequest>, reply: Reply) -> Option<Vec<u8>> {
        match self.tx.try_send(Job::Update { req, reply }) {
            Ok(()) => None,
            Err(TrySendError::Full(j) | TrySendError::Disconnected(j)) => {
                self.stats.queue_full.fetch_add(1, Ordering::Relaxed);
                self.stats.count(rcode::SERVFAIL);
                let Job::Update { req, .. } = j else { unreachable!("an update was sent") };
                Some(reply_to(&req, rcode::SERVFAIL, self.payload))
            }
        }
    }

    /// Queues an edit; `false` when the queue is full (or the update
    /// thread is not running).
    pub fn submit_edit(&self, e: Edit) -> bool {
        match self.tx.try_send(Job::Edit(e)) {
            Ok(()) => true,
            Err(_) => {
                self.stats.queue_full.fetch_add(1, Ordering::Relaxed);
                false
            }
        }
    }

    /// A TCP update: queued, then its reply waited for (SERVFAIL if it
    /// does not come within [`TCP_WAIT`]).
    pub fn submit_and_wait(&self, req: Box<UpdateRequest>) -> Vec<u8> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let fallback = reply_to(&req, rcode::SERVFAIL, self.payload);
        if let Some(r) = self.submit(req, Reply::Tcp(tx)) {
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

/// The dynamic zones of `cfg` (`allow-update`, or `api = "write"`), by
/// lowercase apex, with who may send them RFC 2136 updates, as the
/// answering pipeline checks it (the names and types a rule restricts
/// are checked by the update thread: `scopes`). A zone written only
/// through the API has an empty ACL: every UPDATE is REFUSED.
pub fn grants(cfg: &Config) -> Vec<(Vec<u8>, levee_zone::Acl)> {
    cfg.zones
        .iter()
        .filter(|z| !z.allow_update.is_empty() || z.api_write)
        .filter_map(|z| {
            let apex = name::to_lowercase(&name::from_text(&z.name, None).ok()?).as_slice().to_vec();
            let mut acl = levee_zone::Acl::none();
            let who: Vec<_> = z.allow_update.iter().map(|r| r.who.clone()).collect();
            crate::zones::load::add_rules(&mut acl, &who);
            Some((apex, acl))
        })
        .collect()
}

/// What the grants of the zone `apex` let the sender of `req` change:
/// `None` when a rule that matches it is unrestricted, else the scopes of
/// the rules that match (`levee_update::evaluate_scoped`).
pub fn scopes(cfg: &Config, apex: &[u8], req: &UpdateRequest) -> Option<Vec<levee_update::Scope>> {
    let zone = cfg
        .zones
        .iter()
        .find(|z| name::from_text(&z.name, None).is_ok_and(|n| name::to_lowercase(&n).as_slice() == apex));
    // Not a dynamic zone (cannot happen: the pipeline checked): nothing.
    let Some(zone) = zone else { return Some(Vec::new()) };
    let key = req.signed.as_ref().map(|(k, _)| k.name.as_slice());
    let mut out = Vec::new();
    for r in &zone.allow_update {
        let mut acl = levee_zone::Acl::none();
        crate::zones::load::add_rules(&mut acl, std::slice::from_ref(&r.who));
        if !acl.allows_signed(req.client, key) {
            continue;
        }
        if r.names.is_empty() && r.types.is_empty() {
            return None;
        }
        let names = r
            .names
            .iter()
            .filter_map(|n| name::from_text(n, None).ok())
            .map(|n| name::to_lowercase(&n).as_slice().to_vec())
            .collect();
        out.push(levee_update::Scope { names, types: r.types.clone() });
    }
    Some(out)
}
