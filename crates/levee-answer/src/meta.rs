//! What a response is, in a few words: its [`Meta`] (class, rcode, rate
//! limiting key, what the query proved, query type, zone, [`Event`]).
//! Every response written comes back with one: the policy stage judges a
//! response by it alone, so a fresh response and one copied from the
//! response cache are judged alike; the daemon counts and logs from it.
//! These types depend on nothing else in the crate.

/// What kind of response was written, as rate limiting and statistics
/// see it (the classes of BIND's and NSD's RRL).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Data of the asked type (or a CNAME/DNAME chain to it), including
    /// wildcard answers, CHAOS answers and the SOA of an IXFR.
    Answer,
    /// NOERROR without data of the asked type.
    NoData,
    /// Name error.
    NxDomain,
    /// A delegation to a child zone.
    Referral,
    /// Any other rcode: FORMERR, SERVFAIL, NOTIMP, REFUSED, NOTAUTH, ...
    #[default]
    Error,
}

impl Kind {
    /// The kind's place in per-kind counter arrays (declaration order:
    /// answer, NODATA, NXDOMAIN, referral, error).
    #[inline]
    pub fn index(self) -> usize {
        self as usize
    }
}

/// What the query proved about its source address (RFC 7873).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Proof {
    /// No cookie, or cookies are off.
    #[default]
    None,
    /// A client cookie without a (valid) server cookie: the client speaks
    /// cookies, so a limited response may be BADCOOKIE instead of TC.
    ClientCookie,
    /// A valid server cookie: the address is proven.
    Valid,
}

/// A small summary of a response, returned with it so the policy stage
/// (rate limiting, overload admission) and the counters work the same on
/// a freshly written response and on one copied from a cache; with the
/// [`Event`] the daemon logs or acts on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Meta {
    /// The response class.
    pub kind: Kind,
    /// The (extended) response code.
    pub rcode: u16,
    /// What rate limiting keys the response on within its class: the zone
    /// and node the query name led to and the query type for answers, the
    /// delegation for referrals, the zone for NODATA and NXDOMAIN, 0 for
    /// errors. Stable for one zone snapshot.
    pub key: u64,
    /// What the query proved about its source.
    pub proof: Proof,
    /// The query type (0 when the question could not be read), for the
    /// statistics.
    pub qtype: u16,
    /// The statistics id of the zone that answered
    /// ([`ZoneSet::stat_id`](levee_zone::ZoneSet::stat_id)); [`NO_ZONE`] when none did.
    pub zone: u16,
    /// What the response tells the daemon beyond its class and rcode.
    pub event: Event,
    /// The policy stage sent a slip (a TC=1 or BADCOOKIE reply, about the
    /// size of the query) in place of this response; the rest of the
    /// `Meta` describes the response that was written, which is what the
    /// counters count.
    pub slip: bool,
}

/// Something a response tells the daemon to log or act on. Rare: the
/// daemon checks for [`Event::None`] and is done.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Event {
    /// Nothing.
    #[default]
    None,
    /// A NOTIFY for a secondary zone was accepted (NOERROR, RFC 1996
    /// §3.7); the zone is the query's question name. `serial` is the
    /// serial the NOTIFY announces (the zone's SOA in its answer
    /// section), if it carries one.
    NotifyAccepted {
        /// The serial announced.
        serial: Option<u32>,
    },
    /// A NOTIFY was refused: no zone of that name, or its `allow-notify`
    /// does not allow the source (or key).
    NotifyRefused,
    /// The request's TSIG did not verify, and the answer says why
    /// (NOTAUTH with BADKEY, BADSIG, BADTIME or BADTRUNC; RFC 8945 §5.2).
    TsigFailed(levee_tsig::Error),
    /// A zone transfer (AXFR or IXFR: [`Meta::qtype`]) the zone's ACL does
    /// not allow was refused.
    TransferRefused,
    /// An UPDATE the zone's `allow-update` does not allow (or for a zone
    /// that takes none) was refused.
    UpdateRefused,
}

/// [`Meta::zone`] of a response no zone answered (errors, CHAOS, REFUSED).
pub const NO_ZONE: u16 = u16::MAX;
