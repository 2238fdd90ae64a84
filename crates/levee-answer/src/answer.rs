//! Answering from one zone: RFC 1034 §4.3.2 with wildcards, DNAME and
//! DNSSEC proofs.
//!
//! The [`Answerer`] follows the query name through the zone one *step* at
//! a time. A step either finishes the response (an answer, NODATA,
//! NXDOMAIN, a referral) or yields the next name to look up (the target of
//! a CNAME, or the CNAME synthesised from a DNAME). Chains stay inside the
//! zone, as in Knot DNS and BIND: a target outside it ends the chain and
//! the resolver follows it. A chain also ends when it comes back to a name
//! it has already visited, or when it would write a CNAME (or a DNAME and
//! its synthesised CNAME) beyond the [`MAX_CNAMES`]th: the name the last
//! CNAME points to is still answered from (its data, or NXDOMAIN), as
//! Knot DNS does.
//!
//! Finding a name: one hash lookup answers the common case. When the name
//! is missing, or when its node is flagged as having a zone cut or DNAME
//! above it, a walk from the apex down (one lookup per label) finds the
//! cut, the DNAME, or the closest encloser, which is where wildcards and
//! denial proofs start.
//!
//! Sections are written in order: the answer while following the chain,
//! then the authority section of the final step, then additional data
//! (A/AAAA of NS, MX and SRV targets, and glue of referrals) from the
//! links pre-computed at load time.

use levee_wire::header::rcode;
use levee_wire::name::{self, NameBuf};
use levee_wire::query::Query;
use levee_wire::rtype::{c, t};
use levee_wire::soa::Soa;
use levee_wire::writer::{Full, Mark, Owner, Section, Writer};
use levee_zone::{nf, NodeId, OnlineSigner, RRsetId, Zone, NONE};

/// Most CNAME records (real or synthesised) one answer holds. The target
/// of the last one is still looked up: its data ends the answer, another
/// CNAME or DNAME is left out and the answer ends there (NOERROR), as in
/// Knot DNS, whose chain length levee follows.
pub const MAX_CNAMES: u8 = 5;
const MAX_VISITED: usize = MAX_CNAMES as usize + 2;
const MAX_PENDING: usize = 16;
const MAX_PROOFS: usize = 8;
const MAX_ADDED: usize = 32;
/// Most records of a synthesised RRset signed at query time.
const MAX_ONLINE_RDATAS: usize = 32;

#[allow(clippy::large_enum_variant)] // kept on the stack: no allocation per query
enum Step {
    Done,
    Next(NameBuf),
}

/// Answers one query from one zone.
pub(crate) struct Answerer<'z, 'w> {
    /// Borrowed, not moved: the writer's compression table makes it a few
    /// hundred octets.
    w: &'z mut Writer<'w>,
    start: Mark,
    zone: &'z Zone,
    /// The query name as sent, and lowercased.
    qname: &'z NameBuf,
    lqname: &'z NameBuf,
    qtype: u16,
    dnssec: bool,
    rcode: u16,
    tc: bool,
    aa: bool,
    cnames: u8,
    /// Lowercased chain targets followed so far (the query name is
    /// `lqname`). `None` until written: initialising an `Option` array
    /// writes its tags only, not 256 octets per name.
    visited: [Option<NameBuf>; MAX_VISITED],
    nvisited: usize,
    dnames: [RRsetId; MAX_VISITED],
    ndnames: usize,
    pending: [RRsetId; MAX_PENDING],
    npending: usize,
    /// The cut of a referral, whose in-bailiwick glue is mandatory.
    referral: Option<NodeId>,
    proofs: [RRsetId; MAX_PROOFS],
    nproofs: usize,
    /// Wildcard expansions whose proofs go into the authority section once
    /// the answer section is complete: (closest encloser, name).
    wild_proofs: [Option<(NodeId, NameBuf)>; MAX_VISITED],
    nwild: usize,
    /// The node the query name itself led to (its own node, the wildcard
    /// that synthesised it, the DNAME above it or the cut of a referral):
    /// what the rate limiter keys the response on.
    anchor: NodeId,
    /// Stop at NXDOMAIN without the SOA and proofs ([`crate::finish::Hints`]).
    pub(crate) shed_negative: bool,
    /// Copy the zone's pre-rendered SOA into negative answers when it
    /// gives the writer's octets ([`crate::finish::Hints`]).
    pub(crate) prerendered: bool,
    /// Compact denial (RFC 9824): the zone's online signer, when the
    /// query asked for DNSSEC (DO) and the zone has one.
    online: Option<&'z dyn OnlineSigner>,
    /// The time signatures made now start from (seconds).
    pub(crate) now: u32,
    /// The query set CO: a compact answer for a name that does not exist
    /// may say NXDOMAIN.
    pub(crate) compact_ok: bool,
    /// A compact answer for a name that does not exist was given.
    nx: bool,
    /// A signature the answer needed could not be made (the online
    /// signer's budget): the response must not be sent.
    unsigned: bool,
}

/// The result of answering, for the finish stage and the policy stage.
pub(crate) struct Parts {
    pub(crate) rcode: u16,
    pub(crate) tc: bool,
    pub(crate) aa: bool,
    pub(crate) start: Mark,
    pub(crate) referral: bool,
    pub(crate) anchor: NodeId,
    /// A compact answer for a name that does not exist (RFC 9824): a name
    /// error whatever the rcode says.
    pub(crate) nx: bool,
    /// A signature could not be made: drop the response.
    pub(crate) unsigned: bool,
}

impl<'z, 'w> Answerer<'z, 'w> {
    /// `lqname` is `q.qname` lowercased.
    #[inline(always)] // built in the caller's frame, not copied there
    pub(crate) fn new(w: &'z mut Writer<'w>, zone: &'z Zone, q: &'z Query, lqname: &'z NameBuf) -> Self {
        let start = w.mark();
        Answerer {
            w,
            start,
            zone,
            qname: &q.qname,
            lqname,
            qtype: q.qtype,
            dnssec: q.dnssec_ok(),
            rcode: rcode::NOERROR,
            tc: false,
            aa: true,
            cnames: 0,
            visited: [None; MAX_VISITED],
            nvisited: 0,
            dnames: [NONE; MAX_VISITED],
            ndnames: 0,
            pending: [NONE; MAX_PENDING],
            npending: 0,
            referral: None,
            proofs: [NONE; MAX_PROOFS],
            nproofs: 0,
            wild_proofs: [None; MAX_VISITED],
            nwild: 0,
            anchor: NONE,
            shed_negative: false,
            prerendered: true,
            online: if q.dnssec_ok() { zone.online_signer() } else { None },
            now: 0,
            compact_ok: false,
            nx: false,
            unsigned: false,
        }
    }

    /// The writer, rcode, flags, the mark just after the question and
    /// what the answer was anchored on.
    pub(crate) fn into_parts(self) -> Parts {
        Parts {
            rcode: self.rcode,
            tc: self.tc,
            aa: self.aa,
            start: self.start,
            referral: self.referral.is_some(),
            anchor: self.anchor,
            nx: self.nx,
            unsigned: self.unsigned,
        }
    }

    fn anchor(&mut self, id: NodeId, is_q: bool) {
        if is_q {
            self.anchor = id;
        }
    }

    /// Follows the query name to a final answer.
    pub(crate) fn run(&mut self) {
        // The query name is looked up by reference; only chain targets
        // are copied.
        let (qname, lqname) = (self.qname, self.lqname);
        let mut next = self.step(qname, lqname, true);
        while let Step::Next(target) = next {
            if self.tc {
                break;
            }
            let lt = name::to_lowercase(&target);
            if !name::is_subdomain(&lt, self.zone.apex())
                || lt == *lqname
                || self.visited[..self.nvisited].contains(&Some(lt))
            {
                break;
            }
            self.visit(lt);
            next = self.step(&target, &lt, false);
        }
        for i in 0..self.nwild {
            if let Some((ce, lname)) = self.wild_proofs[i] {
                self.wildcard_answer_proof_now(ce, &lname);
            }
        }
        if !self.tc {
            self.additional();
        }
    }

    fn visit(&mut self, n: NameBuf) {
        if self.nvisited < MAX_VISITED {
            self.visited[self.nvisited] = Some(n);
            self.nvisited += 1;
        }
    }

    //--- finding the name

    fn step(&mut self, cur: &NameBuf, lname: &NameBuf, is_q: bool) -> Step {
        let zone = self.zone;
        let direct = zone.lookup(lname);
        if let Some(id) = direct {
            if !zone.node(id).has(nf::WALK) {
                return self.exact(id, cur, lname, is_q);
            }
        }
        let labels = name::label_count(lname);
        let apex_labels = zone.apex_labels();
        let apex = zone.apex_id();
        if labels > apex_labels && zone.node(apex).has(nf::DNAME) {
            return self.dname(apex, cur, lname, is_q);
        }
        let mut ce = apex;
        for depth in apex_labels + 1..=labels {
            // The name itself was looked up above.
            let found = if depth == labels { direct } else { zone.lookup(name::strip_labels(lname, labels - depth)) };
            let Some(id) = found else {
                return self.no_such_name(ce, cur, lname, is_q);
            };
            let n = zone.node(id);
            if n.has(nf::CUT) {
                if depth == labels && self.qtype == t::DS {
                    return self.exact(id, cur, lname, is_q);
                }
                return self.referral(id, is_q);
            }
            if n.has(nf::DNAME) && depth < labels {
                return self.dname(id, cur, lname, is_q);
            }
            ce = id;
        }
        self.exact(ce, cur, lname, is_q)
    }

    /// The name exists in the zone as node `id`.
    fn exact(&mut self, id: NodeId, cur: &NameBuf, lname: &NameBuf, is_q: bool) -> Step {
        self.anchor(id, is_q);
        let zone = self.zone;
        let n = *zone.node(id);
        let owner = owner(cur, is_q);
        if n.has(nf::CUT) && self.qtype != t::DS {
            return self.referral(id, is_q);
        }
        if n.has(nf::EMPTY) {
            self.nodata(Some(id), lname);
            return Step::Done;
        }
        if self.qtype == t::ANY {
            return self.any(id, owner, lname, None);
        }
        // NSEC and RRSIG may sit beside a CNAME (RFC 4035 §2.5): a query
        // for them is answered from the name itself, as for CNAME.
        if n.has(nf::CNAME) && !matches!(self.qtype, t::CNAME | t::RRSIG | t::NSEC) {
            return self.cname(id, owner);
        }
        if self.qtype == t::RRSIG {
            if !self.rrsigs(id, owner) && !self.tc {
                self.nodata(Some(id), lname);
            }
            return Step::Done;
        }
        match zone.find(id, self.qtype) {
            Some(rs) => {
                let r = self.put_signed(Section::Answer, owner, rs, None);
                if self.ok(r) {
                    self.pend(rs);
                }
            }
            None => self.nodata(Some(id), lname),
        }
        Step::Done
    }

    /// Every RRSIG at node `id` (an RRSIG query), under `owner`; false if
    /// there is none.
    fn rrsigs(&mut self, id: NodeId, owner: Owner<'_>) -> bool {
        let zone = self.zone;
        let first = zone.node_first_rrset(id);
        let count = zone.node_rrsets(id).len() as u32;
        let mut any = false;
        for rs in first..first + count {
            if zone.rrset(rs).rtype == t::RRSIG {
                any = true;
                let r = self.put(Section::Answer, owner, rs, None);
                if !self.ok(r) {
                    return true;
                }
            }
        }
        any
    }

    /// ANY (RFC 8482): one RRset, the one with the lowest type, as Knot
    /// DNS does. `wild` is the closest encloser for wildcard answers.
    fn any(&mut self, id: NodeId, owner: Owner<'_>, lname: &NameBuf, wild: Option<NodeId>) -> Step {
        let zone = self.zone;
        let first = zone.node_first_rrset(id);
        let count = zone.node_rrsets(id).len() as u32;
        let pick = (first..first + count).find(|&rs| zone.rrset(rs).rtype != t::RRSIG);
        match pick {
            Some(rs) => {
                let r = self.put_signed(Section::Answer, owner, rs, None);
                if self.ok(r) {
                    if let Some(ce) = wild {
                        self.wildcard_answer_proof(ce, lname);
                    }
                }
            }
            None => self.nodata(Some(id), lname),
        }
        Step::Done
    }

    fn cname(&mut self, id: NodeId, owner: Owner<'_>) -> Step {
        let zone = self.zone;
        if self.cnames >= MAX_CNAMES {
            return Step::Done;
        }
        let Some(rs) = zone.find(id, t::CNAME) else { return Step::Done };
        let r = self.put_signed(Section::Answer, owner, rs, None);
        if !self.ok(r) {
            return Step::Done;
        }
        self.cnames += 1;
        match NameBuf::from_wire(zone.first_rdata(rs)) {
            Ok(target) => Step::Next(target),
            Err(_) => Step::Done,
        }
    }

    /// DNAME at an ancestor of the name (RFC 6672 §2.3): the DNAME, then a
    /// synthesised, unsigned CNAME with the DNAME's TTL. A CNAME query is
    /// answered by that CNAME: nothing is looked up at its target (RFC
    /// 6672 §3.2), as for a CNAME query at a CNAME's owner.
    fn dname(&mut self, id: NodeId, cur: &NameBuf, lname: &NameBuf, is_q: bool) -> Step {
        self.anchor(id, is_q);
        let zone = self.zone;
        if self.cnames >= MAX_CNAMES {
            return Step::Done;
        }
        let Some(rs) = zone.find(id, t::DNAME) else { return Step::Done };
        if !self.dnames[..self.ndnames].contains(&rs) {
            let r = self.put_signed(Section::Answer, Owner::Name(zone.node_name(id)), rs, None);
            if !self.ok(r) {
                return Step::Done;
            }
            if self.ndnames < MAX_VISITED {
                self.dnames[self.ndnames] = rs;
                self.ndnames += 1;
            }
        }
        let keep = name::label_count(lname) - zone.node(id).labels() as usize;
        let target = zone.first_rdata(rs);
        let new = match NameBuf::replace_suffix(cur, keep, target) {
            Ok(n) => n,
            Err(_) => {
                self.rcode = rcode::YXDOMAIN;
                return Step::Done;
            }
        };
        let ttl = zone.rrset(rs).ttl();
        let r = self.w.rr(Section::Answer, owner(cur, is_q), t::CNAME, c::IN, ttl, &new);
        if !self.ok(r) {
            return Step::Done;
        }
        self.cnames += 1;
        if self.qtype == t::CNAME {
            return Step::Done;
        }
        Step::Next(new)
    }

    /// A referral to the zone cut at `cut`.
    fn referral(&mut self, cut: NodeId, is_q: bool) -> Step {
        self.anchor(cut, is_q);
        let zone = self.zone;
        if is_q {
            self.aa = false;
        }
        let cut_name = zone.node_name(cut);
        let Some(ns) = zone.find(cut, t::NS) else { return Step::Done };
        let r = self.put(Section::Authority, Owner::Name(cut_name), ns, None);
        if !self.ok(r) {
            return Step::Done;
        }
        // DS and its proofs come from signed zones only (RFC 4035 §3.1.4):
        // a DS record in an unsigned zone is data, not a delegation's
        // security status.
        if self.dnssec && zone.is_signed() {
            match zone.find(cut, t::DS) {
                Some(ds) => {
                    let r = self.put_signed(Section::Authority, Owner::Name(cut_name), ds, None);
                    self.ok(r);
                }
                None => {
                    // Prove there is no DS (RFC 4035 §3.1.4, RFC 5155 §7.2.7).
                    if self.online.is_some() {
                        let lcut = NameBuf::from_wire(cut_name).unwrap_or_default();
                        self.compact_nsec(Owner::Name(cut_name), &lcut, Some(cut), &[]);
                    } else if zone.nsec3param().is_some() {
                        let lcut = NameBuf::from_wire(cut_name).unwrap_or_default();
                        match self.n3_match(&lcut) {
                            Some(m) => self.put_n3(m),
                            None => {
                                self.closest_encloser_proof(&lcut);
                            }
                        }
                    } else if zone.node(cut).has(nf::NSEC) {
                        self.put_nsec_of(cut);
                    }
                }
            }
        }
        self.referral = Some(cut);
        self.pend(ns);
        Step::Done
    }

    /// The name does not exist; `ce` is its closest encloser.
    fn no_such_name(&mut self, ce: NodeId, cur: &NameBuf, lname: &NameBuf, is_q: bool) -> Step {
        let zone = self.zone;
        if zone.node(ce).has(nf::WILD_CHILD) {
            if let Ok(wname) = NameBuf::prepend(b"*", zone.node_name(ce)) {
                if let Some(w) = zone.lookup(&wname) {
                    return self.wildcard(w, ce, cur, lname, is_q);
                }
            }
        }
        self.rcode = rcode::NXDOMAIN;
        if self.shed_negative {
            return Step::Done;
        }
        if self.online.is_some() {
            // Compact denial: the name "exists" with no data (RFC 9824
            // §3.1), NXDOMAIN only for a resolver that said it knows.
            self.nx = true;
            if !self.compact_ok {
                self.rcode = rcode::NOERROR;
            }
            self.soa_authority();
            self.compact_nsec(owner(cur, is_q), lname, None, &[t::NXNAME]);
            return Step::Done;
        }
        self.soa_authority();
        if !self.dnssec || self.tc {
            return Step::Done;
        }
        if zone.nsec3param().is_some() {
            // Closest encloser proof plus the wildcard's non-existence.
            if let Some(ce_labels) = self.closest_encloser_proof(lname) {
                let ce_name = name::strip_labels(lname, name::label_count(lname) - ce_labels);
                if let Ok(wild) = NameBuf::prepend(b"*", ce_name) {
                    if let Some(cv) = self.n3_cover(&wild) {
                        self.put_n3(cv);
                    }
                }
            }
        } else {
            self.put_nsec_covering(lname);
            if let Ok(wild) = NameBuf::prepend(b"*", zone.node_name(ce)) {
                self.put_nsec_covering(&wild);
            }
        }
        Step::Done
    }

    /// Synthesis from the wildcard node `w` below the closest encloser `ce`.
    fn wildcard(&mut self, w: NodeId, ce: NodeId, cur: &NameBuf, lname: &NameBuf, is_q: bool) -> Step {
        self.anchor(w, is_q);
        let zone = self.zone;
        let wn = *zone.node(w);
        let owner = owner(cur, is_q);
        if wn.has(nf::EMPTY) {
            self.wildcard_nodata(w, lname);
            return Step::Done;
        }
        if self.qtype == t::ANY {
            return self.any(w, owner, lname, Some(ce));
        }
        if self.qtype == t::RRSIG {
            if self.rrsigs(w, owner) {
                self.wildcard_answer_proof(ce, lname);
            } else if !self.tc {
                self.wildcard_nodata(w, lname);
            }
            return Step::Done;
        }
        // As at a name that exists (`exact`): NSEC and RRSIG queries are
        // answered from the wildcard beside its CNAME.
        if wn.has(nf::CNAME) && !matches!(self.qtype, t::CNAME | t::NSEC) {
            if self.cnames >= MAX_CNAMES {
                return Step::Done;
            }
            let Some(rs) = zone.find(w, t::CNAME) else { return Step::Done };
            let r = self.put_synthesised(owner, lname, rs);
            if !self.ok(r) {
                return Step::Done;
            }
            self.cnames += 1;
            self.wildcard_answer_proof(ce, lname);
            return match NameBuf::from_wire(zone.first_rdata(rs)) {
                Ok(target) => Step::Next(target),
                Err(_) => Step::Done,
            };
        }
        match zone.find(w, self.qtype) {
            Some(rs) => {
                let r = self.put_synthesised(owner, lname, rs);
                if self.ok(r) {
                    self.pend(rs);
                    self.wildcard_answer_proof(ce, lname);
                }
            }
            None => self.wildcard_nodata(w, lname),
        }
        Step::Done
    }

    /// Records synthesised from a wildcard: with their wildcard
    /// signature, or, in a zone with compact denial, signed now at the
    /// name they answer (no proof of the name's absence exists there).
    fn put_synthesised(&mut self, owner: Owner<'_>, lname: &NameBuf, rs: RRsetId) -> Result<(), Full> {
        if self.online.is_none() {
            return self.put_signed(Section::Answer, owner, rs, None);
        }
        let m = self.w.mark();
        self.put(Section::Answer, owner, rs, None)?;
        let s = *self.zone.rrset(rs);
        let mut rdatas: [&[u8]; MAX_ONLINE_RDATAS] = [&[]; MAX_ONLINE_RDATAS];
        let mut n = 0;
        for rd in self.zone.rdatas(rs) {
            if n == MAX_ONLINE_RDATAS {
                // Too large to sign here: no answer rather than a bogus one.
                self.unsigned = true;
                return Ok(());
            }
            rdatas[n] = rd;
            n += 1;
        }
        if let Err(e) = self.put_online_sig(Section::Answer, owner, lname, s.rtype, s.ttl(), &rdatas[..n]) {
            self.w.rollback(m);
            return Err(e);
        }
        Ok(())
    }

    /// Compact denial's NSEC (RFC 9824 §3) owned by `lname` (written as
    /// `owner`): the name's immediate successor as next name, the types of
    /// `node` (if the name has one; an empty non-terminal has none) and
    /// `extra`, with RRSIG and NSEC; signed now.
    fn compact_nsec(&mut self, owner: Owner<'_>, lname: &NameBuf, node: Option<NodeId>, extra: &[u16]) {
        if self.tc || self.online.is_none() {
            return;
        }
        let mut types = [0u16; 48];
        let mut n = 0;
        for &ty in extra {
            types[n] = ty;
            n += 1;
        }
        if let Some(id) = node {
            for set in self.zone.node_rrsets(id) {
                if n < types.len() && set.rtype != t::RRSIG && set.rtype != t::NSEC {
                    types[n] = set.rtype;
                    n += 1;
                }
            }
        }
        let mut rd = [0u8; 300];
        let Some(len) = levee_sign::online::nsec_rdata(lname.as_slice(), &types[..n], &mut rd) else { return };
        let ttl = self.negative_ttl();
        let m = self.w.mark();
        let r = self.w.rr(Section::Authority, owner, t::NSEC, c::IN, ttl, &rd[..len]);
        let r = r.and_then(|()| self.put_online_sig(Section::Authority, owner, lname, t::NSEC, ttl, &[&rd[..len]]));
        if r.is_err() {
            self.w.rollback(m);
            self.tc = true;
        }
    }

    /// The RRSIG, made now, of the records `rdatas` of `rtype` at `lname`.
    fn put_online_sig(
        &mut self,
        sec: Section,
        owner: Owner<'_>,
        lname: &NameBuf,
        rtype: u16,
        ttl: u32,
        rdatas: &[&[u8]],
    ) -> Result<(), Full> {
        let Some(s) = self.online else { return Ok(()) };
        let mut sig = [0u8; 512];
        match s.sign(lname.as_slice(), rtype, ttl, rdatas, self.now, &mut sig) {
            Some(n) => self.w.rr(sec, owner, t::RRSIG, c::IN, ttl, &sig[..n]),
            None => {
                self.unsigned = true;
                Ok(())
            }
        }
    }

    /// The TTL of negative answers (RFC 2308 §5, RFC 9077): the smaller of
    /// the SOA's TTL and its MINIMUM field.
    fn negative_ttl(&self) -> u32 {
        let zone = self.zone;
        let soa = zone.soa();
        let min = Soa::from_rdata(zone.first_rdata(soa)).map_or(0, |s| s.minimum());
        zone.rrset(soa).ttl().min(min)
    }

    /// With DO, a wildcard answer proves that the name itself does not
    /// exist (RFC 4035 §3.1.3.3, RFC 5155 §7.2.6).
    fn wildcard_answer_proof(&mut self, ce: NodeId, lname: &NameBuf) {
        // Deferred: a wildcard CNAME continues the answer section. A
        // compact zone signs the synthesised records at the name itself:
        // no proof.
        if self.dnssec && self.online.is_none() && self.nwild < MAX_VISITED {
            self.wild_proofs[self.nwild] = Some((ce, *lname));
            self.nwild += 1;
        }
    }

    fn wildcard_answer_proof_now(&mut self, ce: NodeId, lname: &NameBuf) {
        if !self.dnssec || self.tc {
            return;
        }
        let zone = self.zone;
        if zone.nsec3param().is_some() {
            let ce_labels = zone.node(ce).labels() as usize;
            let labels = name::label_count(lname);
            let next_closer = name::strip_labels(lname, labels - ce_labels - 1);
            if let Some(cv) = self.n3_cover(next_closer) {
                self.put_n3(cv);
            }
        } else {
            self.put_nsec_covering(lname);
        }
    }

    /// A wildcard matched but has no data of the type (RFC 4035 §3.1.3.4,
    /// RFC 5155 §7.2.5).
    fn wildcard_nodata(&mut self, w: NodeId, lname: &NameBuf) {
        self.soa_authority();
        if !self.dnssec || self.tc {
            return;
        }
        if self.online.is_some() {
            let o = self.owner_of(lname);
            self.compact_nsec(o, lname, Some(w), &[]);
            return;
        }
        let zone = self.zone;
        let wname = NameBuf::from_wire(zone.node_name(w)).unwrap_or_default();
        if zone.nsec3param().is_some() {
            self.closest_encloser_proof(lname);
            if let Some(m) = self.n3_match(&wname) {
                self.put_n3(m);
            }
        } else {
            self.put_nsec_covering(lname);
            if zone.node(w).has(nf::NSEC) {
                self.put_nsec_of(w);
            } else {
                self.put_nsec_covering(&wname);
            }
        }
    }

    /// NODATA: the SOA, and with DO the proof that the type is absent.
    fn nodata(&mut self, id: Option<NodeId>, lname: &NameBuf) {
        self.soa_authority();
        if !self.dnssec || self.tc {
            return;
        }
        if self.online.is_some() {
            // An empty non-terminal has a node without records: its NSEC
            // lists RRSIG and NSEC only (RFC 9824 §3.3).
            let o = self.owner_of(lname);
            self.compact_nsec(o, lname, id, &[]);
            return;
        }
        let zone = self.zone;
        if zone.nsec3param().is_some() {
            match self.n3_match(lname) {
                Some(m) => self.put_n3(m),
                None => {
                    // DS at an opt-out delegation, or an ENT without NSEC3:
                    // the closest provable encloser proof (RFC 5155 §7.2.4).
                    self.closest_encloser_proof(lname);
                }
            }
        } else {
            match id {
                Some(id) if zone.node(id).has(nf::NSEC) => self.put_nsec_of(id),
                _ => self.put_nsec_covering(lname),
            }
        }
    }

    //--- authority helpers

    /// The SOA for a negative answer, with the TTL of RFC 2308 §5: the
    /// smaller of the SOA's TTL and its MINIMUM field (also for its RRSIG).
    fn soa_authority(&mut self) {
        if self.tc {
            return;
        }
        let zone = self.zone;
        let soa = zone.soa();
        // The common case: the SOA right after the question, and nothing
        // after it but OPT (no DNSSEC material to add): copy the record
        // rendered at load (levee_zone::negative), with its pointers moved
        // to the apex inside this query's name.
        if self.prerendered && self.w.len() == self.start_len() && (!self.dnssec || !zone.has_negative_proofs()) {
            if let Some(neg) = zone.negative_soa() {
                let qname = self.qname.as_slice();
                if neg.fits(qname) {
                    let r = neg.write(self.w, qname);
                    self.ok(r);
                    return;
                }
            }
        }
        let min = Soa::from_rdata(zone.first_rdata(soa)).map_or(0, |s| s.minimum());
        let ttl = zone.rrset(soa).ttl().min(min);
        let r = self.put_signed(Section::Authority, Owner::Name(zone.apex()), soa, Some(ttl));
        self.ok(r);
    }

    /// The length of the message when the answerer started (header and
    /// question).
    fn start_len(&self) -> usize {
        self.start.len()
    }

    fn proof_seen(&mut self, rs: RRsetId) -> bool {
        if self.proofs[..self.nproofs].contains(&rs) {
            return true;
        }
        if self.nproofs < MAX_PROOFS {
            self.proofs[self.nproofs] = rs;
            self.nproofs += 1;
        }
        false
    }

    fn put_nsec_of(&mut self, id: NodeId) {
        let zone = self.zone;
        let Some(rs) = zone.find(id, t::NSEC) else { return };
        if self.proof_seen(rs) || self.tc {
            return;
        }
        let r = self.put_signed(Section::Authority, Owner::Name(zone.node_name(id)), rs, None);
        self.ok(r);
    }

    fn put_nsec_covering(&mut self, lname: &[u8]) {
        if !self.zone.has_nsec() {
            return;
        }
        if let Some(id) = self.zone.nsec_covering(lname) {
            self.put_nsec_of(id);
        }
    }

    fn n3_hash(&self, lname: &[u8]) -> Option<[u8; 20]> {
        let mut h = [0u8; 20];
        self.zone.nsec3_hash_name(lname, &mut h)?;
        Some(h)
    }

    fn n3_match(&self, lname: &[u8]) -> Option<NodeId> {
        let h = self.n3_hash(lname)?;
        self.zone.nsec3_match(&h)
    }

    fn n3_cover(&self, lname: &[u8]) -> Option<NodeId> {
        let h = self.n3_hash(lname)?;
        self.zone.nsec3_covering(&h)
    }

    fn put_n3(&mut self, n3: NodeId) {
        let zone = self.zone;
        let Some(rs) = zone.nsec3_rrset(n3) else { return };
        if self.proof_seen(rs) || self.tc {
            return;
        }
        let r = self.put_signed(Section::Authority, Owner::Name(zone.nsec3_node_name(n3)), rs, None);
        self.ok(r);
    }

    /// RFC 5155 §7.2.1: the NSEC3 matching the closest provable encloser of
    /// `lname` and the one covering the next closer name. Returns the
    /// encloser's label count.
    fn closest_encloser_proof(&mut self, lname: &[u8]) -> Option<usize> {
        let apex_len = self.zone.apex().len();
        let mut n = lname;
        let mut next_closer: Option<&[u8]> = None;
        loop {
            if let Some(m) = self.n3_match(n) {
                self.put_n3(m);
                if let Some(nc) = next_closer {
                    if let Some(cv) = self.n3_cover(nc) {
                        self.put_n3(cv);
                    }
                }
                return Some(name::label_count(n));
            }
            if n.len() <= apex_len {
                return None;
            }
            next_closer = Some(n);
            n = name::parent(n);
        }
    }

    //--- additional section

    fn pend(&mut self, rs: RRsetId) {
        if self.npending < MAX_PENDING && self.zone.has_links(rs) {
            self.pending[self.npending] = rs;
            self.npending += 1;
        }
    }

    /// A/AAAA of the pre-linked targets. Optional data is left out when it
    /// does not fit; in-bailiwick glue of a referral is not optional
    /// (RFC 9471), so missing it sets TC.
    fn additional(&mut self) {
        let zone = self.zone;
        let mut added = [NONE; MAX_ADDED];
        let mut nadded = 0;
        for p in 0..self.npending {
            let rs = self.pending[p];
            for node in zone.links(rs) {
                if added[..nadded].contains(&node) {
                    continue;
                }
                if nadded < MAX_ADDED {
                    added[nadded] = node;
                    nadded += 1;
                }
                let nm = zone.node_name(node);
                let required = self.referral.is_some_and(|cut| name::is_subdomain(nm, zone.node_name(cut)));
                let glue = zone.node(node).has(nf::BELOW_CUT);
                for ty in [t::A, t::AAAA] {
                    if let Some(a) = zone.find(node, ty) {
                        let r = if glue {
                            self.put(Section::Additional, Owner::Name(nm), a, None)
                        } else {
                            self.put_signed(Section::Additional, Owner::Name(nm), a, None)
                        };
                        if r.is_err() {
                            if required {
                                self.tc = true;
                            }
                            return;
                        }
                    }
                }
            }
        }
        if self.npending > 0 && matches!(self.qtype, t::SVCB | t::HTTPS) {
            self.additional_svcb();
        }
    }

    /// SVCB and HTTPS answers also bring the RRset of their own type at
    /// each target (RFC 9460 §4.1: an AliasMode record's next step), after
    /// the addresses, as Knot DNS adds. Answers are of the query's type; a
    /// referral's NS set is not.
    #[inline(never)]
    fn additional_svcb(&mut self) {
        let zone = self.zone;
        for p in 0..self.npending {
            let rs = self.pending[p];
            if zone.rrset(rs).rtype != self.qtype {
                continue;
            }
            for node in zone.links(rs) {
                let Some(s) = zone.find(node, self.qtype) else { continue };
                let nm = zone.node_name(node);
                let r = if zone.node(node).has(nf::BELOW_CUT) {
                    self.put(Section::Additional, Owner::Name(nm), s, None)
                } else {
                    self.put_signed(Section::Additional, Owner::Name(nm), s, None)
                };
                if r.is_err() {
                    return;
                }
            }
        }
    }

    //--- writing

    /// Writes a whole RRset or nothing.
    fn put(&mut self, sec: Section, owner: Owner<'_>, rs: RRsetId, ttl: Option<u32>) -> Result<(), Full> {
        let zone = self.zone;
        let s = zone.rrset(rs);
        let ttl = ttl.unwrap_or(s.ttl());
        let m = self.w.mark();
        for rd in zone.rdatas(rs) {
            if let Err(e) = self.w.rr(sec, owner, s.rtype, c::IN, ttl, rd) {
                self.w.rollback(m);
                return Err(e);
            }
        }
        Ok(())
    }

    /// Writes an RRset and, with DO, its signatures (all or nothing).
    fn put_signed(&mut self, sec: Section, owner: Owner<'_>, rs: RRsetId, ttl: Option<u32>) -> Result<(), Full> {
        let m = self.w.mark();
        self.put(sec, owner, rs, ttl)?;
        let sigs = self.zone.sigs(rs);
        if self.dnssec && sigs != NONE {
            if let Err(e) = self.put(sec, owner, sigs, ttl) {
                self.w.rollback(m);
                return Err(e);
            }
        }
        Ok(())
    }

    /// Records a failed mandatory write as truncation.
    fn ok(&mut self, r: Result<(), Full>) -> bool {
        if r.is_err() {
            self.tc = true;
            false
        } else {
            true
        }
    }
}

impl Answerer<'_, '_> {
    /// How to write `lname`: as a pointer to the question when it is the
    /// query name (its letter case kept), else as itself.
    fn owner_of<'n>(&self, lname: &'n NameBuf) -> Owner<'n> {
        if lname == self.lqname {
            Owner::Ptr(12)
        } else {
            Owner::Name(lname.as_slice())
        }
    }
}

fn owner(cur: &NameBuf, is_q: bool) -> Owner<'_> {
    if is_q {
        Owner::Ptr(12)
    } else {
        Owner::Name(cur.as_slice())
    }
}
