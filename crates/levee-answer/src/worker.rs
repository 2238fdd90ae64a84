//! The answering pipeline: [`Worker::answer`], from a received message to
//! a [`Decision`].
//!
//! A [`Worker`] is one thread's answering state: its response cache and
//! its view of the flood-defence policy. Each UDP worker thread owns one,
//! the TCP thread another; they share only the [`Config`], the [`Policy`]
//! tables and the zone snapshot they are handed. The worker reads no clock
//! and touches no socket: the driver calls [`Worker::tick`] with the time
//! and what it saw of its socket once per receive batch (or per TCP
//! message), then [`Worker::answer`] for each message.
//!
//! The stages of a UDP query, in order (a TCP query goes straight to the
//! general path and is never judged: TCP proves the source address):
//!
//! 1. **cache** ([`ResponseCache::find`]): a plain query (opcode QUERY, one
//!    uncompressed question of class IN, at most a bare OPT record) is
//!    keyed on what decides its response; a hit is judged by the policy
//!    stage on its stored [`Meta`] and only then copied, with the query's
//!    ID and letter case;
//! 2. **admission** ([`WorkerPolicy::sheds_negative`]): under overload, an
//!    NXDOMAIN for an unknown source will not be sent, so it need not be
//!    written whole (and is not cached);
//! 3. **direct name error** ([`name_error_below_apex`]): a plain query for
//!    a missing name one label below an apex, answered from the zone's
//!    pre-rendered SOA without the answer stage (not cached: writing it
//!    costs what copying it would);
//! 4. **plain path**: any other plain query is answered from the parse the
//!    cache key's walk gives ([`Key::query`]); the response is offered to
//!    the cache;
//! 5. **general path** ([`parse_query`], then [`respond_query`]): every
//!    other message: TSIG, NOTIFY, transfers, EDNS options, malformed
//!    queries;
//! 6. **judge** ([`WorkerPolicy::decide`]): send, slip (a TC=1 or
//!    BADCOOKIE reply written from the query already read) or withhold.
//!
//! The [`Decision`] carries the response's [`Meta`] whether it is sent or
//! withheld, so the daemon counts every response written, and the
//! [`Event`](crate::Event) in it is all the daemon needs to log or act on
//! (a NOTIFY accepted, a TSIG failure, ...).
//!
//! [`parse_query`]: levee_wire::query::parse_query

use std::net::IpAddr;
use std::sync::Arc;

use levee_wire::header::HeaderRef;
use levee_wire::query::{parse_query, Parsed, Query};
use levee_zone::ZoneSet;

use crate::cache::{self, Find, Key, ResponseCache};
use crate::finish::{Hints, Outcome};
use crate::meta::Meta;
use crate::policy::{Policy, PolicyStats, Verdict, WorkerPolicy};
use crate::request::UpdateRequest;
use crate::request::{Config, Request, StreamPeer, Transport};
use crate::respond::{name_error_below_apex, respond_query, slip};
use crate::xfr::Transfer;

/// A received message and how it arrived.
#[derive(Clone, Copy, Debug)]
pub struct Received<'a> {
    /// The message.
    pub msg: &'a [u8],
    /// The source address (an IPv4-mapped IPv6 address as IPv4).
    pub client: IpAddr,
    /// UDP or TCP.
    pub transport: Transport,
}

/// The time, as the driver read it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Time {
    /// A monotonic clock in milliseconds (rate limiting, overload).
    pub mono_ms: u64,
    /// Seconds since the Unix epoch (cookies, TSIG, EDNS EXPIRE).
    pub wall: u32,
}

/// What the driver saw of its socket since the last batch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Load {
    /// The receive batch came back full (more is queued).
    pub full: bool,
    /// Datagrams the kernel dropped on the socket since the last batch.
    pub dropped: u32,
}

/// What to do with a received message.
#[repr(u8)] // a tag of its own: the driver's match is one comparison
pub enum Decision {
    /// Send the first `n` octets of the output buffer. The [`Meta`]
    /// describes the response written (for a slip, the one the slip
    /// replaced: [`Meta::slip`]).
    Send(usize, Meta),
    /// Send nothing.
    Drop(Dropped),
    /// Stream a zone transfer: [`Transfer::next_message`] until `None`
    /// (TCP only).
    Transfer(Box<Transfer>),
    /// A granted UPDATE (RFC 2136), not answered yet: the driver hands it
    /// to the update thread, which replies.
    Update(Box<UpdateRequest>),
}

/// Why nothing is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dropped {
    /// Shorter than a DNS header.
    Short,
    /// A response (QR=1), e.g. reflected at us.
    Response,
    /// A query no response could be written for.
    Unanswered,
    /// A response was written, but the policy stage withheld it (rate
    /// limiting, overload admission). The [`Meta`] is the response's, to
    /// be counted like a sent one's.
    Withheld(Meta),
}

impl Dropped {
    /// Why a message the parser drops is not a query.
    fn not_a_query(msg: &[u8]) -> Dropped {
        match HeaderRef::new(msg) {
            None => Dropped::Short,
            Some(h) if h.is_response() => Dropped::Response,
            Some(_) => Dropped::Unanswered,
        }
    }
}

/// How a worker answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// Entries of the response cache (rounded up to a power of two; about
    /// 1.3 KiB each, allocated at once); 0 for none (plain queries still
    /// take the plain path and direct name errors). TCP does not use the
    /// cache.
    pub cache_slots: usize,
    /// Take the shortcuts: the response cache, the plain path, direct name
    /// errors and pre-rendered SOA records. Without, every query takes
    /// the general path and negative answers are written by the response
    /// writer: the reference the tests hold the shortcuts to.
    pub shortcuts: bool,
}

impl Options {
    /// A UDP worker's.
    pub const UDP: Options = Options { cache_slots: cache::DEFAULT_SLOTS, shortcuts: true };
    /// The TCP thread's (no cache).
    pub const TCP: Options = Options { cache_slots: 0, shortcuts: true };
    /// No shortcuts, no cache.
    pub const REFERENCE: Options = Options { cache_slots: 0, shortcuts: false };
}

/// How a worker's queries were answered, for tests and benchmarks (the
/// daemon counts responses by their [`Meta`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Answers copied from the response cache.
    pub hits: u64,
    /// Plain queries the cache did not have.
    pub misses: u64,
    /// Queries that were not plain.
    pub bypassed: u64,
    /// Responses stored in the cache.
    pub inserts: u64,
    /// Responses not stored because their key had not missed before.
    pub first_misses: u64,
    /// Direct name errors written.
    pub name_errors: u64,
}

/// How the query of a response was read, for a slip to reuse.
#[derive(Clone, Copy)]
enum Asked<'a> {
    /// Parsed (general and plain paths).
    Parsed(&'a Query),
    /// Known from its cache key (cache hits, direct name errors).
    Key(&'a Key),
}

/// One thread's answering state (see the module documentation).
pub struct Worker {
    cfg: Arc<Config>,
    policy: WorkerPolicy,
    cache: ResponseCache<Meta>,
    shortcuts: bool,
    /// Wall-clock seconds at the last tick.
    wall: u32,
    name_errors: u64,
}

impl Worker {
    /// A worker answering under `cfg`, judging UDP responses with the
    /// shared `policy` and counting its decisions into `stats` (one per
    /// worker: its only writer).
    pub fn new(cfg: Arc<Config>, policy: Arc<Policy>, stats: Arc<PolicyStats>, opts: Options) -> Worker {
        Worker {
            cfg,
            policy: WorkerPolicy::new(policy, stats),
            cache: ResponseCache::new(opts.cache_slots),
            shortcuts: opts.shortcuts,
            wall: 0,
            name_errors: 0,
        }
    }

    /// The configuration answered under.
    pub fn config(&self) -> &Arc<Config> {
        &self.cfg
    }

    /// Starts a receive batch (UDP) or a message (TCP) at `time`, with
    /// what the driver saw of its socket: the policy stage judges load
    /// once per batch.
    #[inline]
    pub fn tick(&mut self, time: Time, load: Load) {
        self.wall = time.wall;
        self.policy.tick(time.mono_ms, load.full, load.dropped);
    }

    /// Whether sources became known since the last
    /// [`drain_proven`](Self::drain_proven) (only with
    /// `Policy::with_gate_feed`; one comparison).
    #[inline]
    pub fn has_proven(&self) -> bool {
        self.policy.has_proven()
    }

    /// Hands each source that became known (or whose known entry was
    /// refreshed) since the last call to `f`, for the flood gate; returns
    /// how many more were lost to the worker's full buffer
    /// (`policy::PROVEN_BUF`).
    pub fn drain_proven(&mut self, f: impl FnMut(IpAddr)) -> u64 {
        self.policy.drain_proven(f)
    }

    /// Lets go of the snapshot the cache was filled from if `zones`
    /// replaced it (an idle driver calls this, so a replaced zone set is
    /// not kept alive until the next query).
    pub fn release_stale(&mut self, zones: &Arc<ZoneSet>) {
        self.cache.release_stale(zones);
    }

    /// How the queries so far were answered.
    pub fn counters(&self) -> Counters {
        let c = self.cache.counters();
        Counters {
            hits: c.hits,
            misses: c.misses,
            bypassed: c.bypassed,
            inserts: c.inserts,
            first_misses: c.first_misses,
            name_errors: self.name_errors,
        }
    }

    /// Answers `rx` from `zones` into `out` (65535 octets for TCP; for UDP
    /// the largest response levee sends, [`Config::udp_payload`]) and
    /// says what to do with it.
    #[inline(always)] // into the driver's handler: the decision stays in registers
    pub fn answer(&mut self, rx: Received<'_>, zones: &Arc<ZoneSet>, out: &mut [u8]) -> Decision {
        // Taken apart at once: the hit path needs the client address
        // alone, and the request the other stages see is built where they
        // start (a structure built here would be copied field by field
        // on every query).
        let Received { msg, client, transport } = rx;
        if transport == Transport::Tcp {
            return self.tcp(msg, client, zones, out);
        }
        if !self.shortcuts {
            return self.general(msg, client, transport, None, zones, out);
        }
        match self.cache.find(zones, &self.cfg, msg, out.len()) {
            // Stage 1, a cache hit: judged on its stored Meta, copied if
            // sent.
            Find::Hit(hit) => match self.policy.decide(&client, hit.meta()) {
                Verdict::Send => Decision::Send(hit.copy(msg, out), *hit.meta()),
                v => {
                    let (meta, key) = (*hit.meta(), *hit.key());
                    let req = self.request(msg, client, transport, None);
                    self.withhold(&req, v, meta, Asked::Key(&key), out)
                }
            },
            Find::Miss(key) => self.plain(msg, client, &key, zones, out),
            Find::Bypass => self.general(msg, client, transport, None, zones, out),
        }
    }

    /// The request the answering stages see.
    #[inline]
    fn request<'a>(
        &self,
        msg: &'a [u8],
        client: IpAddr,
        transport: Transport,
        peer: Option<StreamPeer<'a>>,
    ) -> Request<'a> {
        Request { msg, client, transport, now: self.wall, peer }
    }

    /// Stages 2 and 3 for a plain query the cache does not have: the
    /// admission check, then the direct name error or the plain path.
    #[inline]
    fn plain(&mut self, msg: &[u8], client: IpAddr, key: &Key, zones: &ZoneSet, out: &mut [u8]) -> Decision {
        let req = self.request(msg, client, Transport::Udp, None);
        let shed = self.policy.sheds_negative(client);
        if !shed {
            if let Some((n, meta)) = name_error_below_apex(&req, key, zones, &self.cfg, out) {
                self.name_errors += 1;
                return self.judge(&req, n, meta, Asked::Key(key), out);
            }
        }
        self.plain_walk(&req, key, shed, zones, out)
    }

    /// Stage 4: a plain query answered from its key's parse, offered to
    /// the cache (unless shed: a shed NXDOMAIN is written incomplete).
    #[inline(never)]
    fn plain_walk(&mut self, req: &Request<'_>, key: &Key, shed: bool, zones: &ZoneSet, out: &mut [u8]) -> Decision {
        let q = key.query(req.msg);
        let hints = Hints { shed_negative: shed, no_prerendered: false };
        match respond_query(req, &q, zones, &self.cfg, out, hints) {
            Outcome::Reply(n, meta) => {
                if !shed {
                    self.cache.insert(key, &out[..n], meta);
                }
                self.judge(req, n, meta, Asked::Parsed(&q), out)
            }
            Outcome::Drop | Outcome::Transfer(_) | Outcome::Update(_) => Decision::Drop(Dropped::Unanswered),
        }
    }

    /// Stage 5: parse, then the protocol, answer and finish stages.
    #[inline(never)]
    fn general<'a>(
        &mut self,
        msg: &'a [u8],
        client: IpAddr,
        transport: Transport,
        peer: Option<StreamPeer<'a>>,
        zones: &ZoneSet,
        out: &mut [u8],
    ) -> Decision {
        // Borrowed where it was parsed: a Query is a few hundred octets.
        let parsed = parse_query(msg);
        let q = match &parsed {
            Parsed::Query(q) => q,
            Parsed::Drop => return Decision::Drop(Dropped::not_a_query(msg)),
        };
        let req = self.request(msg, client, transport, peer);
        let udp = transport == Transport::Udp;
        let shed = udp && self.policy.sheds_negative(client);
        let hints = Hints { shed_negative: shed, no_prerendered: !self.shortcuts };
        match respond_query(&req, q, zones, &self.cfg, out, hints) {
            Outcome::Reply(n, meta) if udp => self.judge(&req, n, meta, Asked::Parsed(q), out),
            Outcome::Reply(n, meta) => Decision::Send(n, meta),
            Outcome::Transfer(t) if !udp => Decision::Transfer(Box::new(t)),
            Outcome::Update(u) => Decision::Update(u),
            Outcome::Drop | Outcome::Transfer(_) => Decision::Drop(Dropped::Unanswered),
        }
    }

    /// A TCP message: its source is proven (the UDP admission stage keeps
    /// serving it), and its answer is sent as written.
    fn tcp(&mut self, msg: &[u8], client: IpAddr, zones: &ZoneSet, out: &mut [u8]) -> Decision {
        self.policy.proven(client);
        self.general(msg, client, Transport::Tcp, None, zones, out)
    }

    /// A message over TLS (DoT, DoQ): as over TCP, with what the TLS
    /// layer says about the peer (ALPN, client certificate), which zone
    /// transfers need (RFC 9103).
    pub fn answer_stream(
        &mut self,
        rx: Received<'_>,
        peer: StreamPeer<'_>,
        zones: &Arc<ZoneSet>,
        out: &mut [u8],
    ) -> Decision {
        self.policy.proven(rx.client);
        self.general(rx.msg, rx.client, Transport::Tcp, Some(peer), zones, out)
    }

    /// Stage 6: the policy stage's verdict on a response written into
    /// `out[..n]`.
    #[inline]
    fn judge(&mut self, req: &Request<'_>, n: usize, meta: Meta, asked: Asked<'_>, out: &mut [u8]) -> Decision {
        match self.policy.decide(&req.client, &meta) {
            Verdict::Send => Decision::Send(n, meta),
            v => self.withhold(req, v, meta, asked, out),
        }
    }

    /// A response the policy stage does not send: a slip in its place, or
    /// nothing.
    #[cold]
    #[inline(never)]
    fn withhold(&mut self, req: &Request<'_>, v: Verdict, meta: Meta, asked: Asked<'_>, out: &mut [u8]) -> Decision {
        if let Verdict::Slip { badcookie } = v {
            let read;
            let q = match asked {
                Asked::Parsed(q) => q,
                Asked::Key(k) => {
                    read = k.query(req.msg);
                    &read
                }
            };
            if let Some(n) = slip(req, q, &self.cfg, out, badcookie) {
                return Decision::Send(n, Meta { slip: true, ..meta });
            }
        }
        Decision::Drop(Dropped::Withheld(meta))
    }
}
