//! A zone signed from scratch on its loaded, unsigned snapshot
//! ([`sign_snapshot`]), as a difference from that snapshot.
//!
//! A signed zone is the unsigned zone plus what the signer adds: the
//! DNSKEYs, NSEC3PARAM, the denial chain and the RRSIGs of authoritative
//! RRsets; less what the signer drops (RRSIG, NSEC and NSEC3PARAM records
//! a file brought along); with the SOA's serial chosen by the caller.
//! With NSEC3 opt-out and insecure delegations (a TLD), that is a few
//! records against millions, so the signed zone is not rebuilt from a
//! record list: the caller applies the difference to the unsigned
//! snapshot (`levee_zone::apply_diff`), which shares every segment it
//! does not touch. A zone whose difference is large (NSEC, or many
//! secure delegations) touches most segments and `apply_diff` builds it
//! in full, as before.
//!
//! The walk goes over the snapshot's names in their canonical order once,
//! reading each node's flags (zone cut, below a cut or a DNAME, empty
//! non-terminal) instead of sorting records and finding the cuts again;
//! names left out of the chain (opt-out: insecure delegations, and
//! everything occluded) cost a flag test. The RRsets to sign go to
//! `levee_sign::batch::sign_batch` (threads; the previous signed
//! version's signatures kept, found by a lookup of the owner there).
//!
//! The result is what `levee_sign::sign_zone` makes of the same records
//! (`tests::snapshot_signing_equals_the_record_signer`).

use levee_sign::batch::{sign_batch, Before, Job as SignJob};
use levee_sign::denial::{nsec3_entries, nsec3_owner, type_bitmap, Nsec3Params};
use levee_sign::{Denial, Key, Policy};
use levee_wire::rtype::t;
use levee_wire::soa::Soa;
use levee_zone::journal::{Diff, Rr};
use levee_zone::{nf, NodeId, Zone};

/// What is signed.
pub struct Job<'a> {
    /// The unsigned zone, as loaded.
    pub unsigned: &'a Zone,
    /// The keys, as they sign now (published-only keys are listed in the
    /// DNSKEY RRset and sign nothing).
    pub keys: &'a [Key],
    /// The apex's CDS and CDNSKEY records (the key manager's, see
    /// `zones::keyroll`): they replace any the file has, and the KSKs
    /// sign them.
    pub cds: &'a [Rr],
    /// The signer's policy.
    pub policy: &'a Policy,
    /// Now (seconds since the epoch).
    pub now: u32,
    /// The signed zone's SOA serial.
    pub serial: u32,
    /// The previous signed version, whose signatures of unchanged RRsets
    /// are kept.
    pub previous: Option<&'a Zone>,
}

/// The signed zone as a difference from the unsigned one.
pub struct Outcome {
    /// From the unsigned zone's SOA to the signed zone's.
    pub diff: Diff,
    /// Signatures made.
    pub made: usize,
    /// Signatures kept from the previous version.
    pub reused: usize,
    /// Records of the denial chain.
    pub chain: usize,
}

/// The signer's own types: a file's copies are dropped.
fn dropped(rtype: u16) -> bool {
    matches!(rtype, t::RRSIG | t::NSEC | t::NSEC3 | t::NSEC3PARAM)
}

/// `dropped`, and at the apex the file's CDS and CDNSKEY (the key
/// manager's records replace them).
fn dropped_at(z: &Zone, n: NodeId, rtype: u16) -> bool {
    dropped(rtype) || (n == z.apex_id() && matches!(rtype, t::CDS | t::CDNSKEY))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// The apex or a name with authoritative data.
    Data,
    /// A delegation with DS.
    Secure,
    /// A delegation without DS.
    Insecure,
}

/// One name of the chain: its node and kind.
struct Member {
    id: NodeId,
    kind: Kind,
}

/// What the walk found: chain members, RRsets to sign (node, type), the
/// file's records the signer drops.
struct Walk {
    members: Vec<Member>,
    sets: Vec<(NodeId, u32)>,
    removed: Vec<Rr>,
}

/// Signs `job.unsigned` (see the module documentation).
pub fn sign_snapshot(job: &Job<'_>) -> Result<Outcome, String> {
    let z = job.unsigned;
    if z.soa() == levee_zone::NONE {
        return Err("the zone has no SOA record at its apex".into());
    }
    let apex = z.apex().to_vec();
    let soa_rs = z.soa();
    let soa_ttl = z.rrset(soa_rs).ttl();
    let old_soa = Rr { owner: apex.clone(), rtype: t::SOA, ttl: soa_ttl, rdata: z.first_rdata(soa_rs).to_vec() };
    let mut new_soa = old_soa.clone();
    let Some(soa) = Soa::from_rdata(&old_soa.rdata) else { return Err("the SOA record is malformed".into()) };
    let at = soa.end() - 20;
    new_soa.rdata[at..at + 4].copy_from_slice(&job.serial.to_be_bytes());
    let minimum = u32::from_be_bytes([
        new_soa.rdata[at + 16],
        new_soa.rdata[at + 17],
        new_soa.rdata[at + 18],
        new_soa.rdata[at + 19],
    ]);
    let neg_ttl = soa_ttl.min(minimum);
    let walk = walk(z, job.policy);
    // The apex's additions: the keys' DNSKEYs not in the file (with the
    // file's DNSKEY TTL, else the SOA's), NSEC3PARAM.
    let apex_id = z.apex_id();
    let file_keys = z.find(apex_id, t::DNSKEY);
    let dnskey_ttl = file_keys.map_or(soa_ttl, |rs| z.rrset(rs).ttl());
    let mut added: Vec<Rr> = Vec::new();
    for k in job.keys.iter().filter(|k| k.published()) {
        let have = file_keys.is_some_and(|rs| z.rdatas(rs).any(|rd| rd == k.dnskey()));
        if !have && !added.iter().any(|r| r.rdata == k.dnskey()) {
            added.push(Rr { owner: apex.clone(), rtype: t::DNSKEY, ttl: dnskey_ttl, rdata: k.dnskey().to_vec() });
        }
    }
    let keys_added = added.len();
    if let Denial::Nsec3(p) = &job.policy.denial {
        added.push(Rr { owner: apex.clone(), rtype: t::NSEC3PARAM, ttl: 0, rdata: p.nsec3param_rdata() });
    }
    let cds_at = added.len();
    added.extend(job.cds.iter().cloned());
    let base = added.len();
    let mut hashes: Vec<[u8; 20]> = Vec::new();
    match &job.policy.denial {
        Denial::Nsec => added.extend(nsec_chain(z, &walk.members, neg_ttl, job.cds)),
        Denial::Nsec3(p) => {
            let (recs, hs) = nsec3_chain(z, &walk.members, p, neg_ttl, job.cds);
            added.extend(recs);
            hashes = hs;
        }
        Denial::Compact => {}
    }
    let chain = added.len() - base;
    let mut jobs: Vec<SignJob<'_>> = Vec::with_capacity(walk.sets.len() + chain + 2);
    for &(id, rs) in &walk.sets {
        let set = z.rrset(rs);
        let mut rdatas: Vec<&[u8]> = z.rdatas(rs).collect();
        if rs == soa_rs {
            rdatas = vec![new_soa.rdata.as_slice()];
        }
        if set.rtype == t::DNSKEY && id == apex_id {
            rdatas.extend(added[..keys_added].iter().map(|r| r.rdata.as_slice()));
        }
        let ksk = id == apex_id && matches!(set.rtype, t::DNSKEY | t::CDS | t::CDNSKEY);
        let owner = z.node_name(id);
        let before = job.previous.and_then(|p| before_plain(p, owner, set.rtype));
        jobs.push(SignJob { owner, rtype: set.rtype, ttl: set.ttl(), rdatas, ksk, before });
    }
    if file_keys.is_none() && keys_added > 0 {
        let rdatas = added[..keys_added].iter().map(|r| r.rdata.as_slice()).collect();
        let before = job.previous.and_then(|p| before_plain(p, &apex, t::DNSKEY));
        jobs.push(SignJob { owner: &apex, rtype: t::DNSKEY, ttl: dnskey_ttl, rdatas, ksk: true, before });
    }
    for rt in [t::CDS, t::CDNSKEY] {
        let set: Vec<&Rr> = added[cds_at..base].iter().filter(|r| r.rtype == rt).collect();
        if let Some(first) = set.first() {
            let rdatas = set.iter().map(|r| r.rdata.as_slice()).collect();
            let before = job.previous.and_then(|p| before_plain(p, &apex, rt));
            jobs.push(SignJob { owner: &apex, rtype: rt, ttl: first.ttl, rdatas, ksk: true, before });
        }
    }
    // NSEC3PARAM and the chain, one record an RRset (the CDS and
    // CDNSKEY, signed above as RRsets, sit between them).
    for (k, r) in added.iter().enumerate().skip(keys_added).filter(|(k, _)| !(cds_at..base).contains(k)) {
        let before = match (job.previous, r.rtype) {
            (Some(p), t::NSEC3) => before_nsec3(p, &hashes[k - base]),
            (Some(p), rt) => before_plain(p, &r.owner, rt),
            (None, _) => None,
        };
        jobs.push(SignJob { owner: &r.owner, rtype: r.rtype, ttl: r.ttl, rdatas: vec![&r.rdata], ksk: false, before });
    }
    let batch = sign_batch(&jobs, job.keys, &apex, job.policy, job.now).map_err(|e| e.to_string())?;
    let mut sigs = Vec::with_capacity(batch.made + batch.reused);
    for (j, rds) in jobs.iter().zip(batch.sigs) {
        sigs.extend(rds.into_iter().map(|rdata| Rr { owner: j.owner.to_vec(), rtype: t::RRSIG, ttl: j.ttl, rdata }));
    }
    drop(jobs);
    added.extend(sigs);
    let diff = Diff { old_soa, new_soa, removed: walk.removed, added };
    Ok(Outcome { diff, made: batch.made, reused: batch.reused, chain })
}

/// The walk over the names in canonical order.
fn walk(z: &Zone, policy: &Policy) -> Walk {
    let opt_out = matches!(&policy.denial, Denial::Nsec3(p) if p.opt_out);
    let chained = !matches!(policy.denial, Denial::Compact);
    let mut w = Walk { members: Vec::new(), sets: Vec::new(), removed: Vec::new() };
    let mut id = Some(z.apex_id());
    while let Some(n) = id {
        id = z.next_node(n);
        let node = z.node(n);
        if node.has(nf::EMPTY) {
            continue;
        }
        let first = z.node_first_rrset(n);
        let sets = z.node_rrsets(n);
        let mut any = false;
        for (k, s) in sets.iter().enumerate() {
            if dropped_at(z, n, s.rtype) {
                let rs = first + k as u32;
                let owner = z.node_name(n);
                w.removed.extend(z.rdatas(rs).map(|rd| Rr {
                    owner: owner.to_vec(),
                    rtype: s.rtype,
                    ttl: s.ttl(),
                    rdata: rd.to_vec(),
                }));
            } else {
                any = true;
            }
        }
        if node.flags & (nf::BELOW_CUT | nf::BELOW_DNAME) != 0 || !(any || n == z.apex_id()) {
            continue;
        }
        let cut = node.has(nf::CUT);
        let kind = match (cut, cut && z.find(n, t::DS).is_some()) {
            (false, _) => Kind::Data,
            (true, true) => Kind::Secure,
            (true, false) => Kind::Insecure,
        };
        // At a delegation only DS is signed (RFC 4035 §2.2).
        for (k, s) in sets.iter().enumerate() {
            if !dropped_at(z, n, s.rtype) && (!cut || s.rtype == t::DS) {
                w.sets.push((n, first + k as u32));
            }
        }
        if chained && !(opt_out && kind == Kind::Insecure) {
            w.members.push(Member { id: n, kind });
        }
    }
    // A file's NSEC3 records (kept apart in the snapshot) go too.
    for ord in 0..z.nsec3_count() {
        let n = z.nsec3_node_at(ord);
        let (first, count) = z.nsec3_node_rrsets(n);
        let owner = z.nsec3_node_name(n);
        for rs in first..first + count {
            let s = z.rrset(rs);
            w.removed.extend(z.rdatas(rs).map(|rd| Rr {
                owner: owner.to_vec(),
                rtype: s.rtype,
                ttl: s.ttl(),
                rdata: rd.to_vec(),
            }));
        }
    }
    w
}

/// The types a chain member lists (without NSEC, NSEC3 and RRSIG): at a
/// delegation NS and DS, else all; the apex with DNSKEY and, for NSEC3,
/// NSEC3PARAM.
fn listed(z: &Zone, m: &Member, nsec3: bool, cds: &[Rr]) -> Vec<u16> {
    let mut types: Vec<u16> = z
        .node_rrsets(m.id)
        .iter()
        .map(|s| s.rtype)
        .filter(|&rt| !dropped_at(z, m.id, rt) && (m.kind == Kind::Data || rt == t::NS || rt == t::DS))
        .collect();
    if m.id == z.apex_id() {
        types.push(t::DNSKEY);
        if nsec3 {
            types.push(t::NSEC3PARAM);
        }
        for rt in [t::CDS, t::CDNSKEY] {
            if cds.iter().any(|r| r.rtype == rt) {
                types.push(rt);
            }
        }
    }
    types
}

fn nsec_chain(z: &Zone, members: &[Member], ttl: u32, cds: &[Rr]) -> Vec<Rr> {
    let n = members.len();
    (0..n)
        .map(|k| {
            let mut types = listed(z, &members[k], false, cds);
            types.extend([t::NSEC, t::RRSIG]);
            let mut rdata = z.node_name(members[(k + 1) % n].id).to_vec();
            rdata.extend(type_bitmap(&types));
            Rr { owner: z.node_name(members[k].id).to_vec(), rtype: t::NSEC, ttl, rdata }
        })
        .collect()
}

/// The NSEC3 records, and the raw hash of each.
fn nsec3_chain(z: &Zone, members: &[Member], p: &Nsec3Params, ttl: u32, cds: &[Rr]) -> (Vec<Rr>, Vec<[u8; 20]>) {
    let apex = z.apex();
    let names = members.iter().map(|m| {
        let mut types = listed(z, m, true, cds);
        if m.kind != Kind::Insecure {
            types.push(t::RRSIG);
        }
        (z.node_name(m.id), types)
    });
    let entries = nsec3_entries(apex, p, names);
    let n = entries.len();
    let recs = (0..n)
        .map(|k| {
            let (h, types) = &entries[k];
            let next = &entries[(k + 1) % n].0;
            Rr { owner: nsec3_owner(h, apex), rtype: t::NSEC3, ttl, rdata: p.nsec3_rdata(next, &type_bitmap(types)) }
        })
        .collect();
    (recs, entries.into_iter().map(|e| e.0).collect())
}

/// The RRset (`owner`, `rtype`) of the previous version and its RRSIGs.
fn before_plain<'a>(p: &'a Zone, owner: &[u8], rtype: u16) -> Option<Before<'a>> {
    let id = p.lookup(owner)?;
    before_of(p, p.find(id, rtype)?)
}

/// The NSEC3 RRset of hash `h` in the previous version and its RRSIGs.
fn before_nsec3<'a>(p: &'a Zone, h: &[u8; 20]) -> Option<Before<'a>> {
    before_of(p, p.nsec3_rrset(p.nsec3_match(h)?)?)
}

fn before_of(p: &Zone, rs: u32) -> Option<Before<'_>> {
    let g = p.sigs(rs);
    if g == levee_zone::NONE {
        return None;
    }
    Some(Before { ttl: p.rrset(rs).ttl(), rdatas: p.rdatas(rs).collect(), sigs: p.rdatas(g).collect() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use levee_sign::Algorithm;
    use levee_wire::name;
    use levee_wire::rtype::c;
    use levee_zone::journal;
    use levee_zone::{BuildOptions, Checks, ReloadKind, ReloadOptions, Source};

    /// What a signer can get wrong: a wildcard, secure and insecure
    /// delegations with glue (and data occluded below them), empty
    /// non-terminals (above authoritative names, above only an insecure
    /// delegation), a DNAME with a name below it, upper-case owners,
    /// duplicates, a DNSKEY of another key, and a file's own RRSIG, NSEC,
    /// NSEC3 and NSEC3PARAM (dropped). Enough names for segments of 3
    /// names to make more than `apply_diff`'s minimum of segments.
    const ZONE: &str = "\
$ORIGIN z.
$TTL 3600
@ SOA ns1 hostmaster 7 7200 3600 1209600 300
@ NS ns1
@ NS ns2.other.example.
@ MX 10 Mail
@ DNSKEY 256 3 13 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw==
@ NSEC3PARAM 1 0 5 abcd
ns1 A 192.0.2.1
Mail A 192.0.2.2
mail A 192.0.2.2
*.wild A 192.0.2.3
a.b.c.ent TXT \"three labels down\"
insecure NS ns.insecure
ns.insecure A 192.0.2.4
deep.below.insecure A 192.0.2.5
secure NS ns.secure
secure DS 12345 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF
ns.secure A 192.0.2.6
x.y.only-insecure NS ns.elsewhere.example.
d DNAME target.example.
below.d A 192.0.2.7
cname CNAME Mail
old RRSIG A 13 2 3600 20300101000000 20200101000000 1 z. AAAA
old NSEC z. A RRSIG NSEC
h1 A 192.0.2.11
h2 A 192.0.2.12
h3 TXT \"h3\"
h4 NS ns.h4
ns.h4 A 192.0.2.14
h5 NS ns.h5
h5 DS 1 13 2 0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20
h6 AAAA 2001:db8::6
h7 A 192.0.2.17
h8 A 192.0.2.18
h9 NS ns.other.example.
0p9mhaveqvm6t7vbl5lop2u3t2rp3tom NSEC3 1 0 5 abcd 0p9mhaveqvm6t7vbl5lop2u3t2rp3tom A
";

    fn load(text: &str) -> Zone {
        let apex = name::from_text("z.", None).unwrap();
        let small = BuildOptions { checks: Checks::Warn, segment_names: 3 };
        let src = Source::Memory { name: "t", data: text.as_bytes() };
        levee_zone::load_with(src, apex.as_slice(), &Default::default(), small, &mut |_| {}).unwrap().zone
    }

    fn to_sign(z: &Zone) -> Vec<levee_sign::Rr> {
        journal::records(z)
            .into_iter()
            .map(|r| levee_sign::Rr { owner: r.owner, rtype: r.rtype, class: c::IN, ttl: r.ttl, rdata: r.rdata })
            .collect()
    }

    /// Every record but the signatures' bytes (ECDSA signs with a random
    /// nonce): RRSIGs by owner, TTL, type covered, algorithm, labels,
    /// original TTL, validity and key tag.
    fn comparable(recs: &[Rr]) -> Vec<(Vec<u8>, u16, u32, Vec<u8>)> {
        let mut v: Vec<_> = recs
            .iter()
            .map(|r| {
                let rd = if r.rtype == t::RRSIG { r.rdata[..18].to_vec() } else { r.rdata.clone() };
                (r.owner.clone(), r.rtype, r.ttl, rd)
            })
            .collect();
        v.sort();
        v
    }

    /// Both validators' verdict (BIND's told when one key signs all: `-z`).
    fn verify(recs: &[Rr], what: &str, csk: bool) {
        let dir = std::env::temp_dir().join(format!("levee-fullsign-{}-{what}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("z.zone");
        let body: String = recs
            .iter()
            .map(|r| levee_zone::zonefile::record_to_text(&r.owner, r.ttl, c::IN, r.rtype, &r.rdata) + "\n")
            .collect();
        std::fs::write(&file, body).unwrap();
        let bind = if csk { vec!["-z", "-o", "z."] } else { vec!["-o", "z."] };
        for (tool, args) in [("dnssec-verify", bind), ("ldns-verify-zone", vec![])] {
            let out = std::process::Command::new(tool).args(&args).arg(&file).output().unwrap();
            assert!(
                out.status.success(),
                "{what}: {tool}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::fs::remove_dir_all(&dir).ok();
    }

    /// The snapshot signer and the record signer (`levee_sign::sign_zone`)
    /// make the same signed zone (signature bytes aside), with NSEC, NSEC3,
    /// NSEC3 opt-out and compact denial, a CSK and split keys; the
    /// difference is applied in place (segments shared); both validators
    /// accept it; signed again with the first result as the previous
    /// version, it keeps every signature, as the record signer does.
    #[test]
    fn snapshot_signing_equals_the_record_signer() {
        let all = [
            Key::generate(Algorithm::EcdsaP256Sha256, true).unwrap(),
            Key::generate(Algorithm::EcdsaP256Sha256, false).unwrap(),
        ];
        let apex = name::from_text("z.", None).unwrap();
        // Now: the validators check the validity periods.
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as u32 - 120;
        let unsigned = load(ZONE);
        assert!(unsigned.nsec3_count() > 0, "the file's NSEC3 record is in the snapshot");
        let opts = ReloadOptions { max_fraction: 1.0, min_segments: 2, segment_names: 3, ..Default::default() };
        let denials = [
            ("nsec", Denial::Nsec),
            ("nsec3", Denial::Nsec3(Nsec3Params::default())),
            ("optout", Denial::Nsec3(Nsec3Params { opt_out: true, ..Nsec3Params::default() })),
            ("compact", Denial::Compact),
        ];
        // With split keys, the KSK offered by CDS and CDNSKEY (as during
        // a KSK rollover): they go into the zone and the KSK signs them.
        let cds = [
            Rr { owner: apex.to_vec(), rtype: t::CDS, ttl: 3600, rdata: all[0].ds_sha256(&apex) },
            Rr { owner: apex.to_vec(), rtype: t::CDNSKEY, ttl: 3600, rdata: all[0].dnskey().to_vec() },
        ];
        for (what, denial) in denials {
            for keys in [&all[..1], &all[..]] {
                let what = format!("{what}-{}", keys.len());
                let policy = Policy { denial: denial.clone(), ..Policy::default() };
                let cds: &[Rr] = if keys.len() == 2 { &cds } else { &[] };
                let job = Job { unsigned: &unsigned, keys, cds, policy: &policy, now, serial: 8, previous: None };
                let out = sign_snapshot(&job).unwrap();
                let r = levee_zone::apply_diff(&unsigned, &out.diff, opts).unwrap();
                assert!(matches!(r.kind, ReloadKind::Incremental { .. }), "{what}: {:?}", r.kind);
                assert!(r.built.zone.shared_segments(&unsigned) > 0, "{what}");
                let got = journal::records(&r.built.zone);
                let mut want_in = to_sign(&unsigned);
                want_in.extend(cds.iter().map(|r| levee_sign::Rr {
                    owner: r.owner.clone(),
                    rtype: r.rtype,
                    class: c::IN,
                    ttl: r.ttl,
                    rdata: r.rdata.clone(),
                }));
                for rec in want_in.iter_mut().filter(|r| r.rtype == t::SOA) {
                    let p = rec.rdata.len() - 20;
                    rec.rdata[p..p + 4].copy_from_slice(&8u32.to_be_bytes());
                }
                let want = levee_sign::sign_zone(want_in, apex.as_slice(), keys, &policy, now, None).unwrap();
                assert_eq!((out.made, out.chain), (want.signatures, want.chain), "{what}");
                let want: Vec<Rr> = want
                    .records
                    .into_iter()
                    .map(|r| Rr { owner: r.owner, rtype: r.rtype, ttl: r.ttl, rdata: r.rdata })
                    .collect();
                let (g, w) = (comparable(&got), comparable(&want));
                let extra: Vec<String> =
                    g.iter().filter(|r| !w.contains(r)).map(|r| format!("{} {}", name::to_text(&r.0), r.1)).collect();
                let missing: Vec<String> =
                    w.iter().filter(|r| !g.contains(r)).map(|r| format!("{} {}", name::to_text(&r.0), r.1)).collect();
                assert!(extra.is_empty() && missing.is_empty(), "{what}: extra {extra:?}, missing {missing:?}");
                if !matches!(denial, Denial::Compact) {
                    verify(&got, &what, keys.len() == 1);
                }
                // Signed again on the same data: every signature kept.
                let job = Job { previous: Some(&r.built.zone), now: now + 60, ..job };
                let again = sign_snapshot(&job).unwrap();
                assert_eq!((again.made, again.reused), (0, out.made), "{what}");
            }
        }
    }

    /// A TLD (insecure delegations with glue, NSEC3 opt-out) loaded as
    /// the daemon loads a zone it signs (a signed zone's segments) is
    /// signed by rebuilding the apex's segment and the one or two of the
    /// few authoritative names, sharing the rest, and equals the record
    /// signer's; built with the default segments it is built in full
    /// (small segments for later changes).
    #[test]
    fn a_tld_is_signed_in_place() {
        let mut text = String::from("$ORIGIN tld.\n$TTL 86400\n@ SOA a.nic hostmaster.nic 1 1800 900 604800 3600\n");
        text.push_str("@ NS a.nic\n@ NS b.nic\na.nic A 192.0.2.1\nb.nic AAAA 2001:db8::1\n");
        for i in 0..6000 {
            text.push_str(&format!("d{i} NS ns1.d{i}\nd{i} NS ns.hoster.example.\nns1.d{i} A 192.0.2.{}\n", i % 250));
        }
        let apex = name::from_text("tld.", None).unwrap();
        let keys = [
            Key::generate(Algorithm::EcdsaP256Sha256, true).unwrap(),
            Key::generate(Algorithm::EcdsaP256Sha256, false).unwrap(),
        ];
        let policy = Policy {
            denial: Denial::Nsec3(Nsec3Params { opt_out: true, ..Nsec3Params::default() }),
            ..Policy::default()
        };
        let now = 1_800_000_000;
        let records = 18_006u64;
        for (segment_names, in_place) in
            [(crate::zones::plan::segment_names(records), true), (levee_zone::SEGMENT_NAMES, false)]
        {
            let src = Source::Memory { name: "t", data: text.as_bytes() };
            let build = BuildOptions { checks: Checks::Warn, segment_names };
            let unsigned =
                levee_zone::load_with(src, apex.as_slice(), &Default::default(), build, &mut |_| {}).unwrap().zone;
            let job =
                Job { unsigned: &unsigned, keys: &keys, cds: &[], policy: &policy, now, serial: 1, previous: None };
            let out = sign_snapshot(&job).unwrap();
            let opts = crate::zones::plan::publish_options(&unsigned, Checks::Warn, out.diff.added.len());
            let r = levee_zone::apply_diff(&unsigned, &out.diff, opts).unwrap();
            if in_place {
                let (segs, _) = unsigned.segment_count();
                assert!(segs > 40, "{segs} segments");
                assert!(matches!(r.kind, ReloadKind::Incremental { rebuilt, .. } if rebuilt <= 3), "{:?}", r.kind);
            } else {
                assert!(matches!(r.kind, ReloadKind::Full(_)), "{:?}", r.kind);
            }
            let want = levee_sign::sign_zone(to_sign(&unsigned), apex.as_slice(), &keys, &policy, now, None).unwrap();
            let want: Vec<Rr> = want
                .records
                .into_iter()
                .map(|r| Rr { owner: r.owner, rtype: r.rtype, ttl: r.ttl, rdata: r.rdata })
                .collect();
            assert!(comparable(&journal::records(&r.built.zone)) == comparable(&want), "in place: {in_place}");
        }
    }
}
