//! Building a [`Zone`] snapshot from parsed records, with the semantic
//! checks operators know from Knot DNS and BIND.
//!
//! The builder collects records into flat vectors (one arena for names, one
//! for RDATA, one small fixed-size entry per record), then `finish`:
//!
//! 1. adds empty non-terminals for every missing ancestor up to the apex;
//! 2. sorts the names in canonical order;
//! 3. groups records into RRsets (duplicates dropped, TTL mismatches
//!    reported, RRSIGs grouped by the type they cover and linked to it);
//! 4. computes each node's place in the tree in one pass (parents sort
//!    before children in canonical order): cut, below a cut, DNAME,
//!    below a DNAME, wildcard child;
//! 5. checks the zone (SOA and NS at the apex, CNAME beside other data,
//!    missing glue, occluded data, ...);
//! 6. pre-links NS/MX/SRV targets to their nodes, and sorts the NSEC3
//!    chain by hash.

use std::path::Path;

use hashbrown::HashTable;
use levee_wire::name;
use levee_wire::rtype::{self, t};

use crate::parser::{self, Diagnostic, Record, Source};
use crate::zone::{hash_name, nf, Node, Nsec3Entry, Nsec3Param, RRset, Zone, NONE};

/// One record while building.
#[derive(Clone, Copy)]
struct BRec {
    node: u32,
    rtype: u16,
    covers: u16,
    ttl: u32,
    off: u32,
    len: u16,
    file: u16,
    line: u32,
}

/// Collects records of one zone.
pub struct ZoneBuilder {
    origin: Vec<u8>,
    names: Vec<u8>,
    name_offs: Vec<(u32, u8)>,
    index: HashTable<u32>,
    recs: Vec<BRec>,
    data: Vec<u8>,
    n3_names: Vec<u8>,
    n3_offs: Vec<(u32, u8)>,
    n3_index: HashTable<u32>,
    n3_recs: Vec<BRec>,
    /// (file index, line, message, warning)
    problems: Vec<(u16, u32, String, bool)>,
    files: Vec<String>,
}

/// The result of a successful build: the zone and its warnings.
pub struct Built {
    /// The zone.
    pub zone: Zone,
    /// Warnings (nothing that stops the zone from loading).
    pub warnings: Vec<Diagnostic>,
}

/// Loads and checks a zone file. Errors (and warnings) come back as
/// diagnostics with file and line when the zone cannot be used.
pub fn load_file(path: &Path, origin: &[u8]) -> Result<Built, Vec<Diagnostic>> {
    load(Source::File(path), origin)
}

/// Loads and checks a zone from any source.
pub fn load(source: Source<'_>, origin: &[u8]) -> Result<Built, Vec<Diagnostic>> {
    load_with_progress(source, origin, &mut |_| {})
}

/// Records between two calls of a load's progress callback.
pub const PROGRESS_EVERY: u64 = 1 << 20;

/// [`load`], calling `progress` with the number of records read every
/// [`PROGRESS_EVERY`] records (for the log of a big zone's load).
pub fn load_with_progress(
    source: Source<'_>,
    origin: &[u8],
    progress: &mut dyn FnMut(u64),
) -> Result<Built, Vec<Diagnostic>> {
    let mut b = ZoneBuilder::new(origin);
    let mut diags = Vec::new();
    let mut n = 0u64;
    let stats = parser::parse(
        source,
        origin,
        &mut |r: &Record<'_>| {
            n += 1;
            if n % PROGRESS_EVERY == 0 {
                progress(n);
            }
            b.add(r)
        },
        &mut diags,
    );
    b.files = stats.files;
    b.finish(diags)
}

impl ZoneBuilder {
    /// A builder for the zone at `origin`.
    pub fn new(origin: &[u8]) -> Self {
        let mut lo = origin.to_vec();
        name::lowercase_in_place(&mut lo);
        ZoneBuilder {
            origin: lo,
            names: Vec::new(),
            name_offs: Vec::new(),
            index: HashTable::new(),
            recs: Vec::new(),
            data: Vec::new(),
            n3_names: Vec::new(),
            n3_offs: Vec::new(),
            n3_index: HashTable::new(),
            n3_recs: Vec::new(),
            problems: Vec::new(),
            files: Vec::new(),
        }
    }

    fn intern(names: &mut Vec<u8>, offs: &mut Vec<(u32, u8)>, index: &mut HashTable<u32>, n: &[u8]) -> u32 {
        let h = hash_name(n);
        let found = index.find(h, |&id| {
            let (o, l) = offs[id as usize];
            &names[o as usize..o as usize + l as usize] == n
        });
        if let Some(&id) = found {
            return id;
        }
        let id = offs.len() as u32;
        offs.push((names.len() as u32, n.len() as u8));
        names.extend_from_slice(n);
        index.insert_unique(h, id, |&i| {
            let (o, l) = offs[i as usize];
            hash_name(&names[o as usize..o as usize + l as usize])
        });
        id
    }

    fn name_of(&self, id: u32) -> &[u8] {
        let (o, l) = self.name_offs[id as usize];
        &self.names[o as usize..o as usize + l as usize]
    }

    fn find_name(&self, n: &[u8]) -> Option<u32> {
        self.index
            .find(hash_name(n), |&id| {
                let (o, l) = self.name_offs[id as usize];
                &self.names[o as usize..o as usize + l as usize] == n
            })
            .copied()
    }

    /// Adds one record (the parser's sink).
    pub fn add(&mut self, r: &Record<'_>) -> parser::SinkResult {
        let owner = name::to_lowercase(r.owner);
        if !name::is_subdomain(&owner, &self.origin) {
            self.problems.push((
                r.file,
                r.line,
                format!(
                    "record {} {} is outside the zone, ignored",
                    name::to_text(r.owner),
                    rtype::type_to_text(r.rtype)
                ),
                true,
            ));
            return Ok(());
        }
        if r.rdata.len() > u16::MAX as usize {
            return Err("RDATA too long".into());
        }
        let covers = if r.rtype == t::RRSIG {
            if r.rdata.len() < 18 {
                return Err("RRSIG RDATA too short".into());
            }
            u16::from_be_bytes([r.rdata[0], r.rdata[1]])
        } else {
            0
        };
        let off = self.data.len() as u32;
        self.data.extend_from_slice(r.rdata);
        let is_n3 = r.rtype == t::NSEC3 || (r.rtype == t::RRSIG && covers == t::NSEC3);
        let rec = |node| BRec {
            node,
            rtype: r.rtype,
            covers,
            ttl: r.ttl,
            off,
            len: r.rdata.len() as u16,
            file: r.file,
            line: r.line,
        };
        if is_n3 {
            let id = Self::intern(&mut self.n3_names, &mut self.n3_offs, &mut self.n3_index, &owner);
            self.n3_recs.push(rec(id));
        } else {
            let id = Self::intern(&mut self.names, &mut self.name_offs, &mut self.index, &owner);
            self.recs.push(rec(id));
        }
        Ok(())
    }

    fn diag(&self, file: u16, line: u32, message: String, warning: bool) -> Diagnostic {
        let file = self.files.get(file as usize).cloned().unwrap_or_else(|| "<zone>".into());
        Diagnostic { file, line, message, warning }
    }

    /// Checks the collected records and builds the snapshot.
    pub fn finish(mut self, mut diags: Vec<Diagnostic>) -> Result<Built, Vec<Diagnostic>> {
        let origin = self.origin.clone();
        let own = std::mem::take(&mut self.problems);
        let mut n3recs = std::mem::take(&mut self.n3_recs);
        let main_file = self.files.first().cloned().unwrap_or_else(|| "<zone>".into());

        // 1. Empty non-terminals: every ancestor of a name down to the apex.
        let apex_id = Self::intern(&mut self.names, &mut self.name_offs, &mut self.index, &origin);
        let mut i = 0;
        let mut buf = [0u8; 256];
        while i < self.name_offs.len() {
            let (o, l) = self.name_offs[i];
            buf[..l as usize].copy_from_slice(&self.names[o as usize..o as usize + l as usize]);
            let n = &buf[..l as usize];
            let mut p = name::parent(n);
            while p.len() > origin.len() {
                if self.find_name(p).is_some() {
                    break;
                }
                Self::intern(&mut self.names, &mut self.name_offs, &mut self.index, p);
                p = name::parent(p);
            }
            i += 1;
        }
        let _ = apex_id;

        // 2. Canonical order: sort by a byte key whose memcmp order is the
        // canonical order. Every name is below the origin, so the keys
        // share its key as a prefix: compare what follows it, first by its
        // first eight octets as one integer (most comparisons end there).
        let order = {
            let origin_key = {
                let mut k = Vec::new();
                name::canonical_key(&origin, &mut k);
                k.len()
            };
            let mut keys = Vec::with_capacity(self.names.len() + self.name_offs.len() * 2);
            let mut spans: Vec<(u64, u32, u32, u32)> = Vec::with_capacity(self.name_offs.len());
            for id in 0..self.name_offs.len() as u32 {
                let start = keys.len();
                name::canonical_key(self.name_of(id), &mut keys);
                let rel = start + origin_key.min(keys.len() - start);
                let mut head = [0u8; 8];
                let h = (keys.len() - rel).min(8);
                head[..h].copy_from_slice(&keys[rel..rel + h]);
                spans.push((u64::from_be_bytes(head), rel as u32, keys.len() as u32, id));
            }
            spans.sort_unstable_by(|a, b| {
                a.0.cmp(&b.0).then_with(|| keys[a.1 as usize..a.2 as usize].cmp(&keys[b.1 as usize..b.2 as usize]))
            });
            spans.into_iter().map(|s| s.3).collect::<Vec<u32>>()
        };

        // The snapshot's names, nodes and name index, in canonical order;
        // the builder's own name tables are freed before the records are
        // grouped, so the peak of a load stays close to the final size.
        let mut zone_names = Vec::with_capacity(self.names.len());
        let mut nodes: Vec<Node> = Vec::with_capacity(order.len());
        for &old in &order {
            let n = self.name_of(old);
            nodes.push(Node {
                name_off: zone_names.len() as u32,
                name_len: n.len() as u8,
                labels: name::label_count(n) as u8,
                flags: 0,
                rrset_start: 0,
                rrset_count: 0,
            });
            zone_names.extend_from_slice(n);
        }
        let name_at =
            |n: Node| -> &[u8] { &zone_names[n.name_off as usize..n.name_off as usize + n.name_len as usize] };
        let mut index = HashTable::with_capacity(nodes.len());
        for (id, n) in nodes.iter().enumerate() {
            index.insert_unique(hash_name(name_at(*n)), id as u32, |&i| hash_name(name_at(nodes[i as usize])));
        }
        let mut new_id = vec![0u32; order.len()];
        for (new, &old) in order.iter().enumerate() {
            new_id[old as usize] = new as u32;
        }
        drop(order);
        self.names = Vec::new();
        self.name_offs = Vec::new();
        self.index = HashTable::new();

        // 3. Records grouped by node and type, in file order within a type
        // (the data offset grows with the file), sorted in place.
        let mut recs = std::mem::take(&mut self.recs);
        for r in recs.iter_mut() {
            r.node = new_id[r.node as usize];
        }
        drop(new_id);
        recs.sort_unstable_by_key(|r| (r.node, rtype_sort_key(r.rtype, r.covers), r.off));

        let mut rrsets: Vec<RRset> = Vec::with_capacity(recs.len());
        let mut data: Vec<u8> = Vec::with_capacity(self.data.len() + 2 * recs.len());
        let mut first_line: Vec<(u16, u32)> = Vec::with_capacity(recs.len());
        let mut records = 0u64;
        let mut problems = Vec::new();
        group(&recs, &self.data, &mut rrsets, &mut data, &mut first_line, &mut records, &mut problems, |r, rs| {
            let n = &mut nodes[r.node as usize];
            if n.rrset_count == 0 {
                n.rrset_start = rs;
            }
            n.rrset_count += 1;
        });
        drop(recs);

        // Link each RRSIG set to the set it covers.
        for node in &nodes {
            let s = node.rrset_start as usize;
            let e = s + node.rrset_count as usize;
            for i in s..e {
                if rrsets[i].rtype == t::RRSIG {
                    let cov = rrsets[i].covers;
                    if let Some(j) = (s..e).find(|&j| rrsets[j].rtype == cov && rrsets[j].rtype != t::RRSIG) {
                        rrsets[j].sigs = i as u32;
                    }
                }
            }
        }

        // 4. Tree flags, parents first (canonical order puts them first).
        let lookup_final = |nodes: &Vec<Node>, n: &[u8]| -> Option<u32> {
            index.find(hash_name(n), |&i| name_at(nodes[i as usize]) == n).copied()
        };
        // Canonical order is a pre-order walk of the tree and every ancestor
        // is a node (ENTs were added), so a stack of the current branch gives
        // each node's parent without a lookup.
        let mut branch: Vec<u32> = Vec::with_capacity(128);
        for id in 0..nodes.len() {
            let nm = name_at(nodes[id]);
            while let Some(&top) = branch.last() {
                if name::is_subdomain(nm, name_at(nodes[top as usize])) {
                    break;
                }
                branch.pop();
            }
            let parent_id = branch.last().copied().filter(|&p| name_at(nodes[p as usize]) == name::parent(nm));
            branch.push(id as u32);
            let sets = &rrsets
                [nodes[id].rrset_start as usize..(nodes[id].rrset_start + nodes[id].rrset_count as u32) as usize];
            let mut f = 0u16;
            let has = |ty: u16| sets.iter().any(|s| s.rtype == ty);
            let apex = nm == origin.as_slice();
            if apex {
                f |= nf::APEX;
            }
            if nodes[id].rrset_count == 0 {
                f |= nf::EMPTY;
            }
            if has(t::NS) && !apex {
                f |= nf::CUT;
            }
            if has(t::DNAME) {
                f |= nf::DNAME;
            }
            if has(t::CNAME) {
                f |= nf::CNAME;
            }
            if has(t::NSEC) {
                f |= nf::NSEC;
            }
            if !apex {
                debug_assert_eq!(parent_id, lookup_final(&nodes, name::parent(nm)));
                if let Some(p) = parent_id {
                    let pf = nodes[p as usize].flags;
                    if pf & (nf::CUT | nf::BELOW_CUT) != 0 {
                        f |= nf::BELOW_CUT;
                    }
                    if pf & (nf::DNAME | nf::BELOW_DNAME) != 0 {
                        f |= nf::BELOW_DNAME;
                    }
                    if pf & (nf::WALK | nf::CUT | nf::DNAME) != 0 {
                        f |= nf::WALK;
                    }
                    if name::is_wildcard(nm) {
                        nodes[p as usize].flags |= nf::WILD_CHILD;
                    }
                }
            }
            nodes[id].flags |= f;
        }

        // 5. Semantic checks.
        let apex_final = lookup_final(&nodes, &origin).expect("apex node exists");
        let soa = {
            let n = &nodes[apex_final as usize];
            (n.rrset_start..n.rrset_start + n.rrset_count as u32).find(|&i| rrsets[i as usize].rtype == t::SOA)
        };
        let mut errors: Vec<Diagnostic> = Vec::new();
        let mut warnings: Vec<Diagnostic> = Vec::new();
        for (file, line, msg, warn) in problems.drain(..).chain(own) {
            let d = self.diag(file, line, msg, warn);
            if warn {
                warnings.push(d)
            } else {
                errors.push(d)
            }
        }
        let Some(soa) = soa else {
            errors.push(Diagnostic {
                file: main_file.clone(),
                line: 0,
                message: format!("no SOA record at the zone apex {}", name::to_text(&origin)),
                warning: false,
            });
            diags.extend(errors);
            diags.extend(warnings);
            return Err(diags);
        };
        if rrsets[soa as usize].count > 1 {
            let (f, l) = first_line[soa as usize];
            errors.push(self.diag(f, l, "more than one SOA record at the zone apex".into(), false));
        }
        if !(0..nodes[apex_final as usize].rrset_count as u32)
            .any(|k| rrsets[(nodes[apex_final as usize].rrset_start + k) as usize].rtype == t::NS)
        {
            errors.push(Diagnostic {
                file: main_file.clone(),
                line: 0,
                message: format!("no NS records at the zone apex {}", name::to_text(&origin)),
                warning: false,
            });
        }
        for &n in &nodes {
            let nm = name_at(n);
            let range = n.rrset_start as usize..(n.rrset_start + n.rrset_count as u32) as usize;
            for i in range.clone() {
                let s = rrsets[i];
                let (f, l) = first_line[i];
                let owner = || name::to_text(nm);
                if s.rtype == t::SOA && !n.has(nf::APEX) {
                    errors.push(self.diag(
                        f,
                        l,
                        format!("SOA record at {}, which is not the zone apex", owner()),
                        false,
                    ));
                }
                if s.rtype == t::CNAME && s.count > 1 {
                    errors.push(self.diag(f, l, format!("more than one CNAME record at {}", owner()), false));
                }
                if s.rtype == t::DNAME && s.count > 1 {
                    errors.push(self.diag(f, l, format!("more than one DNAME record at {}", owner()), false));
                }
                if n.has(nf::CNAME) && !matches!(s.rtype, t::CNAME | t::RRSIG | t::NSEC | t::KEY) {
                    errors.push(self.diag(
                        f,
                        l,
                        format!("CNAME and other data at {} ({} record)", owner(), rtype::type_to_text(s.rtype)),
                        false,
                    ));
                }
                if s.rtype == t::NS && name::is_wildcard(nm) {
                    warnings.push(self.diag(f, l, format!("NS records at wildcard name {}", owner()), true));
                }
            }
            // Data below a cut that is not an address record, or below a DNAME.
            if n.has(nf::BELOW_DNAME) && n.rrset_count > 0 {
                let (f, l) = first_line[n.rrset_start as usize];
                warnings.push(self.diag(f, l, format!("{} is below a DNAME and is occluded", name::to_text(nm)), true));
            } else if n.has(nf::BELOW_CUT) {
                for i in range.clone() {
                    let s = rrsets[i];
                    if !matches!(s.rtype, t::A | t::AAAA) {
                        let (f, l) = first_line[i];
                        warnings.push(self.diag(
                            f,
                            l,
                            format!(
                                "{} {} is below a delegation and is occluded",
                                name::to_text(nm),
                                rtype::type_to_text(s.rtype)
                            ),
                            true,
                        ));
                    }
                }
            }
        }

        // 6. Links (NS/MX/SRV targets) and glue checks.
        let mut links: Vec<u32> = Vec::new();
        for id in 0..nodes.len() {
            let n = nodes[id];
            for i in n.rrset_start..n.rrset_start + n.rrset_count as u32 {
                let s = rrsets[i as usize];
                let is_ns = s.rtype == t::NS;
                if !matches!(s.rtype, t::NS | t::MX | t::SRV) || n.has(nf::BELOW_CUT) || n.has(nf::BELOW_DNAME) {
                    continue;
                }
                let start = links.len();
                let mut rd = &data[s.data_off as usize..(s.data_off + s.data_len) as usize];
                while rd.len() >= 2 {
                    let l = u16::from_be_bytes([rd[0], rd[1]]) as usize;
                    let r = &rd[2..2 + l];
                    rd = &rd[2 + l..];
                    let target = match s.rtype {
                        t::NS => r,
                        t::MX => &r[2..],
                        _ => &r[6..],
                    };
                    let lt = name::to_lowercase(target);
                    if !name::is_subdomain(&lt, &origin) {
                        continue;
                    }
                    let tid = lookup_final(&nodes, &lt);
                    let has_addr = tid.is_some_and(|tid| {
                        let tn = nodes[tid as usize];
                        (tn.rrset_start..tn.rrset_start + tn.rrset_count as u32)
                            .any(|k| matches!(rrsets[k as usize].rtype, t::A | t::AAAA))
                    });
                    if let Some(tid) = tid {
                        if has_addr && !links[start..].contains(&tid) {
                            links.push(tid);
                        }
                    }
                    if is_ns && !has_addr {
                        // Glue is required when the target is at or below this cut,
                        // and BIND also requires addresses for in-zone apex NS targets.
                        let cut = name_at(nodes[id]);
                        let needs = n.has(nf::APEX) || name::is_subdomain(&lt, cut);
                        if needs {
                            let (f, l) = first_line[i as usize];
                            errors.push(self.diag(
                                f,
                                l,
                                format!(
                                    "missing glue: name server {} of {} has no A or AAAA record",
                                    name::to_text(target),
                                    name::to_text(cut)
                                ),
                                false,
                            ));
                        }
                    }
                }
                let cnt = links.len() - start;
                rrsets[i as usize].links_off = start as u32;
                rrsets[i as usize].links_len = cnt as u16;
            }
        }

        // NSEC3 chain.
        let nsec3param = {
            let n = &nodes[apex_final as usize];
            (n.rrset_start..n.rrset_start + n.rrset_count as u32)
                .find(|&i| rrsets[i as usize].rtype == t::NSEC3PARAM)
                .and_then(|i| {
                    let s = rrsets[i as usize];
                    let rd = &data[s.data_off as usize + 2..(s.data_off + s.data_len) as usize];
                    if rd.len() < 5 {
                        return None;
                    }
                    let sl = rd[4] as usize;
                    Some(Nsec3Param {
                        alg: rd[0],
                        flags: rd[1],
                        iterations: u16::from_be_bytes([rd[2], rd[3]]),
                        salt: rd.get(5..5 + sl)?.to_vec(),
                    })
                })
        };
        let mut n3_nodes: Vec<Node> = Vec::new();
        let mut n3_chain: Vec<Nsec3Entry> = Vec::new();
        let mut n3_hashes: Vec<u8> = Vec::new();
        {
            n3recs.sort_unstable_by_key(|r| (r.node, rtype_sort_key(r.rtype, r.covers), r.off));
            for id in 0..self.n3_offs.len() {
                let (o, l) = self.n3_offs[id];
                let nm = &self.n3_names[o as usize..o as usize + l as usize];
                n3_nodes.push(Node {
                    name_off: zone_names.len() as u32,
                    name_len: l,
                    labels: name::label_count(nm) as u8,
                    flags: 0,
                    rrset_start: 0,
                    rrset_count: 0,
                });
                zone_names.extend_from_slice(nm);
            }
            group(
                &n3recs,
                &self.data,
                &mut rrsets,
                &mut data,
                &mut first_line,
                &mut records,
                &mut Vec::new(),
                |r, rs| {
                    let n = &mut n3_nodes[r.node as usize];
                    if n.rrset_count == 0 {
                        n.rrset_start = rs;
                    }
                    n.rrset_count += 1;
                },
            );
            for (id, node) in n3_nodes.iter().enumerate() {
                let s = node.rrset_start as usize;
                let e = s + node.rrset_count as usize;
                let n3 = (s..e).rev().find(|&i| rrsets[i].rtype == t::NSEC3);
                if let Some(i) = n3 {
                    if let Some(j) = (s..e).find(|&j| rrsets[j].rtype == t::RRSIG) {
                        rrsets[i].sigs = j as u32;
                    }
                    let nm = &zone_names[node.name_off as usize..node.name_off as usize + node.name_len as usize];
                    let label = name::first_label(nm);
                    let mut h = Vec::new();
                    let parent_ok = name::parent(nm) == origin.as_slice();
                    let rd = &data[rrsets[i].data_off as usize + 2..(rrsets[i].data_off + rrsets[i].data_len) as usize];
                    let params_ok = nsec3param.as_ref().is_some_and(|p| {
                        rd.len() >= 5
                            && rd[0] == p.alg
                            && u16::from_be_bytes([rd[2], rd[3]]) == p.iterations
                            && rd.get(5..5 + rd[4] as usize) == Some(&p.salt[..])
                    });
                    if parent_ok && params_ok && crate::codec::base32hex_decode(label, &mut h).is_ok() && !h.is_empty()
                    {
                        n3_chain.push(Nsec3Entry {
                            hash_off: n3_hashes.len() as u32,
                            hash_len: h.len() as u8,
                            node: id as u32,
                        });
                        n3_hashes.extend_from_slice(&h);
                    } else if !parent_ok {
                        let (f, l) = first_line[i];
                        warnings.push(self.diag(
                            f,
                            l,
                            format!("NSEC3 record at {} is not directly below the apex", name::to_text(nm)),
                            true,
                        ));
                    }
                }
            }
            self.data = Vec::new();
            n3_chain.sort_by(|a, b| {
                n3_hashes[a.hash_off as usize..(a.hash_off + a.hash_len as u32) as usize]
                    .cmp(&n3_hashes[b.hash_off as usize..(b.hash_off + b.hash_len as u32) as usize])
            });
        }

        if !errors.is_empty() {
            diags.extend(errors);
            diags.extend(warnings);
            return Err(diags);
        }
        if diags.iter().any(|d| !d.warning) {
            diags.extend(warnings);
            return Err(diags);
        }
        warnings.extend(diags);

        let soa_rd = {
            let s = rrsets[soa as usize];
            &data[s.data_off as usize + 2..(s.data_off + s.data_len) as usize]
        };
        let serial = soa_serial(soa_rd).unwrap_or(0);

        let nsec_nodes = nodes.iter().filter(|n| n.has(nf::NSEC)).count() as u32;
        let mut zone = Zone {
            apex: origin,
            names: zone_names,
            nodes,
            index,
            rrsets,
            data,
            links,
            nsec3_nodes: n3_nodes,
            nsec3_chain: n3_chain,
            nsec3_hashes: n3_hashes,
            nsec3param,
            apex_id: apex_final,
            soa,
            serial,
            records,
            nsec_nodes,
            negative: None,
        };
        zone.negative = crate::negative::NegativeSoa::render(&zone);
        Ok(Built { zone, warnings })
    }
}

/// Sort key: RRSIG sets right after the type they cover.
fn rtype_sort_key(rtype: u16, covers: u16) -> (u16, u8) {
    if rtype == t::RRSIG {
        (covers, 1)
    } else {
        (rtype, 0)
    }
}

/// Groups sorted records into RRsets.
#[allow(clippy::too_many_arguments)]
fn group(
    recs: &[BRec],
    src: &[u8],
    rrsets: &mut Vec<RRset>,
    data: &mut Vec<u8>,
    first_line: &mut Vec<(u16, u32)>,
    records: &mut u64,
    problems: &mut Vec<(u16, u32, String, bool)>,
    mut on_rrset: impl FnMut(&BRec, u32),
) {
    let mut i = 0;
    while i < recs.len() {
        let r0 = recs[i];
        let mut j = i;
        while j < recs.len() && recs[j].node == r0.node && recs[j].rtype == r0.rtype && recs[j].covers == r0.covers {
            j += 1;
        }
        let start = data.len();
        let mut count = 0u16;
        let mut ttl_warned = false;
        for (k, r) in recs[i..j].iter().enumerate() {
            let rd = &src[r.off as usize..r.off as usize + r.len as usize];
            // Drop exact duplicates (RFC 2181 §5: an RRset is a set).
            if recs[i..i + k].iter().any(|p| &src[p.off as usize..p.off as usize + p.len as usize] == rd) {
                continue;
            }
            if r.ttl != r0.ttl && !ttl_warned && r0.rtype != t::RRSIG {
                problems.push((
                    r.file,
                    r.line,
                    format!("TTL {} differs from the RRset's TTL {}; using {}", r.ttl, r0.ttl, r0.ttl),
                    true,
                ));
                ttl_warned = true;
            }
            data.extend_from_slice(&r.len.to_be_bytes());
            data.extend_from_slice(rd);
            count = count.saturating_add(1);
        }
        *records += count as u64;
        let id = rrsets.len() as u32;
        rrsets.push(RRset {
            rtype: r0.rtype,
            covers: r0.covers,
            ttl: r0.ttl,
            count,
            data_off: start as u32,
            data_len: (data.len() - start) as u32,
            sigs: NONE,
            links_off: 0,
            links_len: 0,
        });
        first_line.push((r0.file, r0.line));
        on_rrset(&r0, id);
        i = j;
    }
}

/// The serial of SOA RDATA.
pub fn soa_serial(rd: &[u8]) -> Option<u32> {
    let a = name::wire_len(rd).ok()?;
    let b = name::wire_len(&rd[a..]).ok()?;
    let p = a + b;
    Some(u32::from_be_bytes(rd.get(p..p + 4)?.try_into().ok()?))
}
