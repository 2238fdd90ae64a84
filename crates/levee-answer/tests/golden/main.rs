//! The answering pipeline on the golden suites: `Worker::answer`, the entry
//! point every driver calls, against answers recorded from Knot DNS, NSD
//! and BIND; its shortcuts against the reference path; and its
//! allocations. One test binary (`cargo test -p levee-answer --test
//! golden`):
//!
//! * `golden_suites_match_the_references` (below);
//! * `response_cache_hits_equal_fresh_responses` and
//!   `prerendered_negative_answers_equal_the_writers` (below): the workers
//!   the daemon runs, with every shortcut, decide exactly what a worker
//!   without shortcuts decides;
//! * [`alloc`]: the UDP query path allocates nothing.
//!
//! Every directory under `tests/golden/` (at the workspace root) that has a
//! `responses.jsonl` is a suite: `zones/` (zone files and manifest.json),
//! `queries/` (the query lines) and the references' recorded responses,
//! written by `tests/golden/record.py` (see tests/golden/README.md). The
//! expected answers come only from the reference servers, never from levee.
//!
//! For each exchange the recorded query octets are answered in-process by
//! the answering pipeline the daemon runs (`levee_answer::Worker::answer`,
//! a UDP worker and a TCP worker per suite) over the suite's zones, and
//! levee's response is
//! compared with the three references' using the rules of the shared
//! conformance harness (`diff.py`, ported in [`facets`]): only *hard*
//! differences fail. `tests/golden/known-differences.txt` lists the
//! exchanges allowed to differ; a listed exchange that no longer differs
//! fails the test as well (stale entry).

mod alloc;
mod facets;
pub(crate) mod json;

/// Counts allocations per thread, for [`alloc`].
#[global_allocator]
static ALLOC: levee_io::alloc_count::Counting = levee_io::alloc_count::Counting;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use levee_answer::policy::{Overload, Policy};
use levee_answer::{Decision, Dropped, Load, Meta, Options, Received, Time, Transport, Worker};
use levee_limit::cookie::Secrets;
use levee_wire::name;
use levee_zone::zonefile::record_to_text;
use levee_zone::{Acl, ZoneEntry, ZoneSet};

use facets::{Class, Diff, Facets, QueryInfo, Response, Rr, RrCase, Value};
use json::Json;

const REFS: [&str; 3] = ["knot", "nsd", "bind"];
const CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// A fixed clock for cookie timestamps (2023-11-14T22:13:20Z).
const NOW: u32 = 1_700_000_000;
/// A fixed cookie secret, so runs are reproducible.
const COOKIE_SECRET: [u8; 16] = *b"levee-golden-key";
/// diff.py's MAX_XFR_MSGS: the most messages read from one transfer.
const MAX_XFR_MSGS: usize = 500;

fn golden_root() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/golden");
    p.canonicalize().unwrap_or(p)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn read_json(path: &Path) -> Json {
    json::parse(&read(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn hex_decode(s: &str) -> Vec<u8> {
    let digit = |c: u8| (c as char).to_digit(16).unwrap_or_else(|| panic!("not hex: {s}")) as u8;
    assert!(s.len() % 2 == 0, "odd hex length: {s}");
    s.as_bytes().chunks(2).map(|p| digit(p[0]) << 4 | digit(p[1])).collect()
}

// ------------------------------------------------------------------------
// levee, configured like the daemon
// ------------------------------------------------------------------------

fn load_zones(suite: &Path) -> ZoneSet {
    let zdir = suite.join("zones");
    let manifest = read_json(&zdir.join("manifest.json"));
    let zones = manifest.get("zones").and_then(Json::as_arr).expect("manifest.json: zones");
    let mut set = ZoneSet::new();
    for z in zones {
        let origin_text = z.get("origin").and_then(Json::as_str).expect("manifest: origin");
        let file = z.get("file").and_then(Json::as_str).expect("manifest: file");
        let origin =
            name::from_text(origin_text, None).unwrap_or_else(|e| panic!("manifest: origin {origin_text}: {e}"));
        let mut acl = Acl::none();
        if z.get("allow_transfer").and_then(Json::as_bool).unwrap_or(false) {
            acl.push(CLIENT, 32);
        }
        // A zone no reference loads (a syntax error, a missing file): the
        // daemon keeps it in the set as unavailable (zones::load::load_all).
        let broken = z.get("broken").and_then(Json::as_bool).unwrap_or(false);
        match levee_zone::load_file(&zdir.join(file), &origin) {
            Ok(built) if !broken => set.insert(ZoneEntry::new(Arc::new(built.zone), acl)),
            Ok(_) => panic!("{}: zone {origin_text} is marked broken but loads", suite.display()),
            Err(_) if broken => {
                set.insert(ZoneEntry::unavailable(&name::to_lowercase(&origin), acl).expect("placeholder"))
            }
            Err(diags) => {
                let msgs: Vec<String> = diags.iter().map(|d| d.to_string()).collect();
                panic!("{}: zone {origin_text} does not load:\n  {}", suite.display(), msgs.join("\n  "))
            }
        }
    }
    set
}

/// The answering policy of the daemon with its default configuration
/// (`answer_config` in crates/levee/src/serve.rs), with the identity the
/// references reported (the recording host's name) and a fixed cookie secret.
fn answer_config(hostname: &str) -> levee_answer::Config {
    let cfg = levee_config::Config::default();
    levee_answer::Config {
        udp_payload: cfg.udp_payload,
        nsid: cfg.nsid.clone(),
        identity: Some(hostname.as_bytes().to_vec()),
        version: cfg.version.clone().map(String::into_bytes),
        cookies: cfg.cookies.enabled.then_some(Secrets { current: COOKIE_SECRET, previous: None }),
        tcp_keepalive: Some((cfg.tcp_idle_timeout.min(6553) * 10) as u16),
        keys: Default::default(),
        updates: Vec::new(),
        padding: true,
    }
}

/// A worker as the daemon builds one for `cfg` (`Options::UDP` for a UDP
/// worker, `Options::TCP` for the TCP thread), but without rate limiting
/// or overload admission (every query of a suite comes from one address),
/// its clock at [`NOW`].
fn worker(cfg: &Arc<levee_answer::Config>, opts: Options) -> Worker {
    let policy = Arc::new(Policy::new(None, Overload { enabled: false, ..Overload::default() }, 1));
    let mut w = Worker::new(Arc::clone(cfg), policy, Arc::default(), opts);
    w.tick(Time { mono_ms: 1, wall: NOW }, Load::default());
    w
}

/// The buffer a driver answers into: the configured payload size for
/// UDP (levee-io udp::run_worker), 65535 octets for TCP.
fn out_buffer(cfg: &levee_answer::Config, transport: Transport) -> Vec<u8> {
    vec![0u8; if transport == Transport::Tcp { 65535 } else { (cfg.udp_payload as usize).clamp(512, 65535) }]
}

/// levee's response from the worker of its transport (`udp`, `tcp`), read
/// the way diff.py reads a server.
fn levee_response(query: &[u8], qid: u16, q: &QueryInfo, zones: &Arc<ZoneSet>, w: &mut Worker, tcp: bool) -> Response {
    let transport = if tcp { Transport::Tcp } else { Transport::Udp };
    let mut buf = out_buffer(w.config(), transport);
    let mut msgs = Vec::new();
    match w.answer(Received { msg: query, client: CLIENT, transport }, zones, &mut buf) {
        Decision::Send(n, _) => msgs.push(buf[..n].to_vec()),
        Decision::Drop(_) => {}
        Decision::Transfer(mut x) => {
            // diff.py stops reading once the stream is complete.
            while msgs.len() < MAX_XFR_MSGS {
                let Some(n) = x.next_message(&mut buf) else { break };
                msgs.push(buf[..n].to_vec());
                if !q.xfr || facets::xfr_done(&msgs, &q.qtype) {
                    break;
                }
            }
        }
        // No golden zone grants updates: the pipeline answers them all.
        Decision::Update(_) => panic!("an update handed to the update thread"),
    }
    let status = if msgs.is_empty() {
        if tcp {
            "closed"
        } else {
            "timeout"
        }
    } else {
        "ok"
    };
    Response { msgs, status: status.into(), qid }
}

// ------------------------------------------------------------------------
// the suites
// ------------------------------------------------------------------------

struct Exchange {
    id: String,
    transport: String,
    line: String,
    qid: u16,
    query: Vec<u8>,
    refs: Vec<(&'static str, Response)>,
}

fn load_exchanges(path: &Path) -> Vec<Exchange> {
    let text = read(path);
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let where_ = format!("{}:{}", path.display(), n + 1);
        let j = json::parse(line).unwrap_or_else(|e| panic!("{where_}: {e}"));
        let s = |k: &str| j.get(k).and_then(Json::as_str).unwrap_or_else(|| panic!("{where_}: no {k}")).to_string();
        let query = hex_decode(&s("query"));
        let qid = match j.get("qid").and_then(Json::as_u64) {
            Some(q) => q as u16,
            None => u16::from_be_bytes([query.first().copied().unwrap_or(0), query.get(1).copied().unwrap_or(0)]),
        };
        // A suite may be recorded from two of the references (a zone the
        // third refuses to load: tests/golden/README.md).
        let mut refs = Vec::new();
        for r in REFS {
            let Some(o) = j.get(r) else { continue };
            let res = if let Some(msgs) = o.get("msgs").and_then(Json::as_arr) {
                Response {
                    msgs: msgs.iter().map(|m| hex_decode(m.as_str().expect("hex string"))).collect(),
                    status: o.get("status").and_then(Json::as_str).unwrap_or("ok").to_string(),
                    qid,
                }
            } else {
                let st = o
                    .get("none")
                    .and_then(Json::as_str)
                    .unwrap_or_else(|| panic!("{where_}: {r}: neither msgs nor none"));
                Response { msgs: Vec::new(), status: st.to_string(), qid }
            };
            refs.push((r, res));
        }
        assert!(refs.len() >= 2, "{where_}: fewer than two references recorded");
        out.push(Exchange { id: s("id"), transport: s("transport"), line: s("line"), qid, query, refs });
    }
    out
}

/// One exchange's verdict.
struct Verdict {
    key: String,
    line: String,
    kinds: Vec<&'static str>,
    hard: Vec<Diff>,
    soft: Vec<Diff>,
}

struct SuiteResult {
    name: String,
    verdicts: Vec<Verdict>,
}

fn run_suite(dir: &Path) -> SuiteResult {
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    let meta = read_json(&dir.join("meta.json"));
    let hostname = meta.get("hostname").and_then(Json::as_str).expect("meta.json: hostname");
    let zones = Arc::new(load_zones(dir));
    let cfg = Arc::new(answer_config(hostname));
    let (mut udp, mut tcp) = (worker(&cfg, Options::UDP), worker(&cfg, Options::TCP));
    let exchanges = load_exchanges(&dir.join("responses.jsonl"));
    assert!(!exchanges.is_empty(), "{}: no exchanges", dir.display());
    let mut verdicts = Vec::new();
    let mut seen = BTreeSet::new();
    for ex in &exchanges {
        let key = format!("{}[{}]", ex.id, ex.transport);
        assert!(seen.insert(key.clone()), "{}: exchange {key} recorded twice", dir.display());
        let q = QueryInfo::from_line(&ex.line);
        let w = if ex.transport == "tcp" { &mut tcp } else { &mut udp };
        let lv = levee_response(&ex.query, ex.qid, &q, &zones, w, ex.transport == "tcp");
        let (mut sut, _) = facets::facets_of(&q, &lv);
        let mut refs: Vec<(&str, Facets, &'static str)> = ex
            .refs
            .iter()
            .map(|(n, r)| {
                let (f, k) = facets::facets_of(&q, r);
                (*n, f, k)
            })
            .collect();
        let ctx = facets::context(&refs, &sut);
        if q.qtype == "ANY" {
            let answers: Vec<Option<Value>> = refs.iter().map(|r| r.1.get("answer").cloned()).collect();
            let mut all: Vec<&mut Facets> = vec![&mut sut];
            all.extend(refs.iter_mut().map(|r| &mut r.1));
            facets::normalise_any(&mut all, &answers);
        }
        let diffs = facets::compare(&sut, &refs, &ctx);
        let (hard, soft): (Vec<Diff>, Vec<Diff>) = diffs.into_iter().partition(|d| d.class == Class::Hard);
        verdicts.push(Verdict { key, line: ex.line.clone(), kinds: ctx.kinds.iter().copied().collect(), hard, soft });
    }
    SuiteResult { name, verdicts }
}

// ------------------------------------------------------------------------
// known differences
// ------------------------------------------------------------------------

/// One line of known-differences.txt: `[suite:]id[transport]  reason`.
struct Known {
    suite: Option<String>,
    key: String,
    reason: String,
    line: usize,
}

fn load_known(path: &Path) -> Vec<Known> {
    let Ok(text) = std::fs::read_to_string(path) else { return Vec::new() };
    let mut out = Vec::new();
    for (n, l) in text.lines().enumerate() {
        let l = l.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let (k, reason) = l.split_once(char::is_whitespace).unwrap_or((l, ""));
        let reason = reason.trim().to_string();
        assert!(
            k.ends_with(']') && k.contains('[') && !reason.is_empty(),
            "{}:{}: expected `[suite:]id[transport]  reason`, got {l:?}",
            path.display(),
            n + 1
        );
        let (suite, key) = match k.split_once(':') {
            Some((s, k)) => (Some(s.to_string()), k.to_string()),
            None => (None, k.to_string()),
        };
        out.push(Known { suite, key, reason, line: n + 1 });
    }
    out
}

// ------------------------------------------------------------------------
// the report
// ------------------------------------------------------------------------

fn rr_text(r: &Rr) -> String {
    record_to_text(&r.owner, r.ttl, r.class, r.rtype, &r.rdata)
}

fn case_text(r: &RrCase) -> String {
    format!(
        "{} {} {}",
        name::to_text(&r.owner),
        levee_wire::rtype::type_to_text(r.rtype),
        levee_zone::zonefile::rdata_to_text(r.rtype, &r.rdata)
    )
}

fn value_lines(v: &Option<Value>) -> Vec<String> {
    match v {
        None => vec!["(absent)".into()],
        Some(Value::Bool(b)) => vec![if *b { "True".into() } else { "False".into() }],
        Some(Value::Int(i)) => vec![i.to_string()],
        Some(Value::Text(s)) => vec![s.clone()],
        Some(Value::Texts(v)) => vec![format!("[{}]", v.join(", "))],
        Some(Value::Rrs(v)) if v.is_empty() => vec!["(no records)".into()],
        Some(Value::Rrs(v)) => v.iter().map(rr_text).collect(),
        Some(Value::Cases(v)) if v.is_empty() => vec!["(no records)".into()],
        Some(Value::Cases(v)) => v.iter().map(case_text).collect(),
    }
}

/// Multiset difference of two record lists: (in `a` but not `b`, in `b` but not `a`).
fn rr_delta(a: &[Rr], b: &[Rr]) -> (Vec<String>, Vec<String>) {
    let mut count: BTreeMap<&Rr, i64> = BTreeMap::new();
    for r in a {
        *count.entry(r).or_default() += 1;
    }
    for r in b {
        *count.entry(r).or_default() -= 1;
    }
    let (mut only_a, mut only_b) = (Vec::new(), Vec::new());
    for (r, c) in count {
        for _ in 0..c.max(0) {
            only_a.push(rr_text(r));
        }
        for _ in 0..(-c).max(0) {
            only_b.push(rr_text(r));
        }
    }
    (only_a, only_b)
}

fn fmt_diff(out: &mut String, d: &Diff) {
    let _ = writeln!(
        out,
        "    facet {} ({}{})",
        d.facet,
        if d.class == Class::Hard { "hard" } else { "soft" },
        if d.refs_agree { "" } else { "; the references disagree, levee must match one of them" }
    );
    // group the references with equal values
    let mut groups: Vec<(Vec<&str>, &Option<Value>)> = Vec::new();
    for (n, v) in &d.refs {
        match groups.iter_mut().find(|g| g.1 == v) {
            Some(g) => g.0.push(n),
            None => groups.push((vec![n], v)),
        }
    }
    for (names, v) in groups {
        let who = names.join(", ");
        if let (Some(Value::Rrs(e)), Some(Value::Rrs(g))) = (v, &d.sut) {
            let (missing, extra) = rr_delta(e, g);
            let _ = writeln!(out, "      {who}: {} record(s); compared with levee:", e.len());
            for m in missing {
                let _ = writeln!(out, "        missing in levee: {m}");
            }
            for x in extra {
                let _ = writeln!(out, "        extra in levee:   {x}");
            }
            continue;
        }
        write_value(out, &who, v);
    }
    if matches!((&d.refs.first().map(|r| &r.1), &d.sut), (Some(Some(Value::Rrs(_))), Some(Value::Rrs(_)))) {
        let _ = writeln!(out, "      levee: {} record(s)", if let Some(Value::Rrs(g)) = &d.sut { g.len() } else { 0 });
        return;
    }
    write_value(out, "levee", &d.sut);
}

/// Writes `who: value` on one line, or the value's lines indented below.
fn write_value(out: &mut String, who: &str, v: &Option<Value>) {
    let lines = value_lines(v);
    if lines.len() == 1 {
        let _ = writeln!(out, "      {who}: {}", lines[0]);
    } else {
        let _ = writeln!(out, "      {who}:");
        for l in lines {
            let _ = writeln!(out, "        {l}");
        }
    }
}

fn fmt_verdict(out: &mut String, suite: &str, v: &Verdict) {
    let _ = writeln!(out, "  {suite}: {}", v.key);
    let _ = writeln!(out, "    query: {}", v.line);
    let _ = writeln!(out, "    reference response kind: {}", v.kinds.join(", "));
    for d in &v.hard {
        fmt_diff(out, d);
    }
}

// ------------------------------------------------------------------------
// the test
// ------------------------------------------------------------------------

#[test]
fn golden_suites_match_the_references() {
    let root = golden_root();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir() && p.join("responses.jsonl").is_file())
        .collect();
    dirs.sort();
    assert!(!dirs.is_empty(), "no golden suite with responses.jsonl under {}", root.display());
    let known_path = root.join("known-differences.txt");
    let known = load_known(&known_path);

    let results: Vec<SuiteResult> = dirs.iter().map(|d| run_suite(d)).collect();

    let known_for =
        |suite: &str, key: &str| known.iter().find(|k| k.key == key && k.suite.as_deref().is_none_or(|s| s == suite));
    let mut summary = String::new();
    let mut unexpected = String::new();
    let mut n_unexpected = 0;
    for r in &results {
        let hard = r.verdicts.iter().filter(|v| !v.hard.is_empty()).count();
        let soft_only = r.verdicts.iter().filter(|v| v.hard.is_empty() && !v.soft.is_empty()).count();
        let _ = writeln!(
            summary,
            "golden suite {}: {} exchanges checked, {} with hard differences, {} with soft differences only",
            r.name,
            r.verdicts.len(),
            hard,
            soft_only
        );
        for v in r.verdicts.iter().filter(|v| !v.hard.is_empty()) {
            if let Some(k) = known_for(&r.name, &v.key) {
                let facets: Vec<&str> = v.hard.iter().map(|d| d.facet).collect();
                let _ = writeln!(
                    summary,
                    "  known difference: {}: {} on {} ({})",
                    r.name,
                    v.key,
                    facets.join(", "),
                    k.reason
                );
            } else {
                n_unexpected += 1;
                fmt_verdict(&mut unexpected, &r.name, v);
            }
        }
    }
    let mut stale = String::new();
    for k in &known {
        let suites: Vec<&SuiteResult> =
            results.iter().filter(|r| k.suite.as_deref().is_none_or(|s| s == r.name)).collect();
        let still = suites.iter().any(|r| r.verdicts.iter().any(|v| v.key == k.key && !v.hard.is_empty()));
        if !still {
            let exists = suites.iter().any(|r| r.verdicts.iter().any(|v| v.key == k.key));
            let _ = writeln!(
                stale,
                "  {}:{}: {}{} ({})",
                known_path.display(),
                k.line,
                k.suite.as_ref().map(|s| format!("{s}:")).unwrap_or_default(),
                k.key,
                if exists { "no hard difference any more: remove the entry" } else { "no such exchange in any suite" },
            );
        }
    }
    if n_unexpected == 0 && stale.is_empty() {
        println!("{summary}");
    } else {
        let mut msg = summary;
        if n_unexpected > 0 {
            let _ = writeln!(
                msg,
                "\n{n_unexpected} exchange(s) with hard differences from the references (expected values recorded from \
                 Knot, NSD and BIND; fix levee, or, only for a deliberate difference, add `id[transport]  reason` to {}):\n{unexpected}",
                known_path.display()
            );
        }
        if !stale.is_empty() {
            let _ = writeln!(msg, "\nstale entries in the known-differences list:\n{stale}");
        }
        panic!("{msg}");
    }
}

// ------------------------------------------------------------------------
// the response cache is exact
// ------------------------------------------------------------------------

/// Flips the letter case of the question name's letters where `bits` says
/// so, returning whether the name could be walked.
fn recase_qname(q: &mut [u8], mut bits: u64) -> bool {
    let mut pos = 12;
    while let Some(&l) = q.get(pos) {
        if l == 0 {
            return true;
        }
        if l > 63 || pos + 1 + l as usize > q.len() {
            return false;
        }
        for b in &mut q[pos + 1..pos + 1 + l as usize] {
            if b.is_ascii_alphabetic() {
                if bits & 1 == 1 {
                    *b ^= 0x20;
                }
                bits = bits.rotate_right(1);
            }
        }
        pos += 1 + l as usize;
    }
    false
}

/// What a worker decided, with a response's octets copied out.
#[derive(Debug, PartialEq)]
enum Answered {
    Sent(Vec<u8>, Meta),
    Dropped(Dropped),
    Transfer,
    Update,
}

fn answered(d: Decision, out: &[u8]) -> Answered {
    match d {
        Decision::Send(n, meta) => Answered::Sent(out[..n].to_vec(), meta),
        Decision::Drop(why) => Answered::Dropped(why),
        Decision::Transfer(_) => Answered::Transfer,
        Decision::Update(_) => Answered::Update,
    }
}

/// Every UDP query of every golden suite, sent several times with other
/// IDs and other letter cases, through a worker with a small response
/// cache and every shortcut (cache hits, plain queries answered from the
/// cache key's parse, direct name errors, pre-rendered SOAs): each
/// decision, octets and `Meta`, must be what a worker without shortcuts
/// (`Options::REFERENCE`: every query parsed, negative answers written by
/// the response writer) decides.
#[test]
fn response_cache_hits_equal_fresh_responses() {
    let root = golden_root();
    for suite in ["public", "levee"] {
        let dir = root.join(suite);
        let meta = read_json(&dir.join("meta.json"));
        let cfg = Arc::new(answer_config(meta.get("hostname").and_then(Json::as_str).expect("hostname")));
        let zones = Arc::new(load_zones(&dir));
        let exchanges: Vec<Exchange> =
            load_exchanges(&dir.join("responses.jsonl")).into_iter().filter(|e| e.transport == "udp").collect();
        assert!(exchanges.len() > 100, "{suite}: only {} UDP exchanges", exchanges.len());
        // A small cache, so entries are also replaced on the way.
        let mut fast = worker(&cfg, Options { cache_slots: 64, shortcuts: true });
        let mut reference = worker(&cfg, Options::REFERENCE);
        let (mut a, mut b) = (out_buffer(&cfg, Transport::Udp), out_buffer(&cfg, Transport::Udp));
        let mut rng: u64 = 0x9E37_79B9_7F4A_7C15;
        // Each query three times in a row (a miss, then hits), and the
        // whole suite twice (entries replaced by other queries in between).
        for pass in 0..2 {
            for ex in &exchanges {
                for variant in 0..3 {
                    let round = pass * 3 + variant;
                    let mut q = ex.query.clone();
                    if round > 0 {
                        rng ^= rng << 13;
                        rng ^= rng >> 7;
                        rng ^= rng << 17;
                        if q.len() >= 2 {
                            q[..2].copy_from_slice(&(rng as u16).to_be_bytes());
                        }
                        recase_qname(&mut q, rng >> 16);
                    }
                    let rx = Received { msg: &q, client: CLIENT, transport: Transport::Udp };
                    let want = answered(reference.answer(rx, &zones, &mut b), &b);
                    let got = answered(fast.answer(rx, &zones, &mut a), &a);
                    assert_eq!(got, want, "{suite} {} round {round}: the shortcuts differ from the reference", ex.id);
                }
            }
        }
        let c = fast.counters();
        println!("{suite}: {c:?} over {} queries", exchanges.len() * 6);
        assert!(c.hits > exchanges.len() as u64, "{suite}: only {} hits; the cache is not exercised", c.hits);
        assert!(c.misses > exchanges.len() as u64 / 2, "{suite}: only {} plain misses", c.misses);
        assert!(c.inserts > 50 && c.bypassed > 10, "{suite}: {c:?}");
        assert_eq!(reference.counters(), levee_answer::Counters::default(), "the reference takes no shortcut");
    }
}

// ------------------------------------------------------------------------
// the pre-rendered SOA of negative answers is exact
// ------------------------------------------------------------------------

/// xorshift64
fn next_rand(r: &mut u64) -> u64 {
    *r ^= *r << 13;
    *r ^= *r >> 7;
    *r ^= *r << 17;
    *r
}

/// The question of a recorded query: (flags, name, type, class).
fn question_of(q: &[u8]) -> Option<(u16, Vec<u8>, u16, u16)> {
    if q.len() < 12 || q[4..6] != [0, 1] {
        return None;
    }
    let flags = u16::from_be_bytes([q[2], q[3]]);
    let l = levee_wire::name::wire_len(q.get(12..)?).ok()?;
    let tc = q.get(12 + l..12 + l + 4)?;
    Some((flags, q[12..12 + l].to_vec(), u16::from_be_bytes([tc[0], tc[1]]), u16::from_be_bytes([tc[2], tc[3]])))
}

/// OPT variants: none, or (payload size, DO, options).
fn build_query(id: u16, flags: u16, qname: &[u8], qtype: u16, qclass: u16, opt: Option<(u16, bool, &[u8])>) -> Vec<u8> {
    let mut q = Vec::new();
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&flags.to_be_bytes());
    q.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, opt.is_some() as u8]);
    q.extend_from_slice(qname);
    q.extend_from_slice(&qtype.to_be_bytes());
    q.extend_from_slice(&qclass.to_be_bytes());
    if let Some((size, dnssec, options)) = opt {
        q.extend_from_slice(&[0, 0, 41]);
        q.extend_from_slice(&size.to_be_bytes());
        q.extend_from_slice(&[0, 0, if dnssec { 0x80 } else { 0 }, 0]);
        q.extend_from_slice(&(options.len() as u16).to_be_bytes());
        q.extend_from_slice(options);
    }
    q
}

/// Zones whose SOA compresses in the ways the golden zones may not: RNAME
/// pointing into MNAME inside the zone, and long names outside it that
/// make negative answers truncate at 512 octets.
const EXTRA_ZONES: [(&str, &str); 2] = [
    (
        "u.test.",
        "$TTL 300\n@ SOA ns1 admin.ns1 1 2 3 4 60\n@ NS ns1\nns1 A 192.0.2.1\nwww A 192.0.2.2\n*.wild A 192.0.2.3\n",
    ),
    (
        "long.test.",
        "$TTL 300\n@ 100 SOA a123456789012345678901234567890123456789012345678901234567890.b123456789012345678901234567890123456789012345678901234567890.primary.invalid. c123456789012345678901234567890123456789012345678901234567890.d123456789012345678901234567890123456789012345678901234567890.contact.invalid. 1 2 3 4 600\n@ NS ns.other.invalid.\nwww A 192.0.2.2\n",
    ),
];

/// Every question of both golden suites (and of [`EXTRA_ZONES`]), and the
/// same names below a random label and below several, answered by the
/// workers the daemon runs (UDP, with direct name errors and pre-rendered
/// SOAs; TCP, with pre-rendered SOAs) and by a worker without shortcuts,
/// whose negative answers the response writer writes: the octets and the
/// Meta must be the same. Random IDs and letter case, with and without
/// EDNS, with DO, cookies (client only, and valid), NSID, and UDP payload
/// sizes down to 512 (which truncate the long SOA), over UDP and TCP.
#[test]
fn prerendered_negative_answers_equal_the_writers() {
    let root = golden_root();
    let mut rng: u64 = 0x2545_F491_4F6C_DD1D;
    let (mut total_neg, mut total_tc) = (0u64, 0u64);
    for suite in ["public", "levee"] {
        let dir = root.join(suite);
        let meta = read_json(&dir.join("meta.json"));
        let base_cfg = answer_config(meta.get("hostname").and_then(Json::as_str).expect("hostname"));
        let mut zones = load_zones(&dir);
        let mut questions: Vec<(u16, Vec<u8>, u16, u16)> =
            load_exchanges(&dir.join("responses.jsonl")).iter().filter_map(|e| question_of(&e.query)).collect();
        for (origin, text) in EXTRA_ZONES {
            let o = name::from_text(origin, None).unwrap();
            let z = levee_zone::load(levee_zone::Source::Memory { name: origin, data: text.as_bytes() }, &o)
                .unwrap_or_else(|d| panic!("{origin}: {d:?}"));
            zones.insert(ZoneEntry::new(Arc::new(z.zone), Acl::none()));
            for n in ["", "www.", "nx.", "ns1.", "a.ns1.", "admin.ns1.", "x.admin.ns1.", "q.wild."] {
                let qn = name::from_text(&format!("{n}{origin}"), None).unwrap();
                for qtype in [1u16, 16, 28, 6, 43] {
                    questions.push((0x0100, qn.as_slice().to_vec(), qtype, 1));
                }
            }
        }
        let mut nsid_cfg = base_cfg.clone();
        nsid_cfg.nsid = Some(vec![b'n'; 64]);
        let secrets = base_cfg.cookies.expect("cookies on by default");
        // For each configuration: the UDP and the TCP worker, and the
        // reference.
        let mut workers: Vec<[Worker; 3]> = [base_cfg, nsid_cfg]
            .into_iter()
            .map(|c| {
                let c = Arc::new(c);
                [
                    worker(&c, Options { cache_slots: 64, shortcuts: true }),
                    worker(&c, Options::TCP),
                    worker(&c, Options::REFERENCE),
                ]
            })
            .collect();
        let (mut fast, mut slow) = (vec![0u8; 65535], vec![0u8; 65535]);
        // Every apex, so that a random label below it (the flood's name)
        // is asked with each flag and a spread of types.
        for e in zones.entries() {
            for (flags, qtype) in [(0x0100, 1u16), (0, 28), (0x0110, 15), (0x0100, 6), (0, 255), (0x0100, 46), (0, 2)] {
                questions.push((flags, e.zone.apex().to_vec(), qtype, 1));
            }
        }
        let (mut neg, mut tc) = (0u64, 0u64);
        let zones = Arc::new(zones);
        for (flags, qname, qtype, qclass) in &questions {
            // The name as asked, below one random label, and below several
            // (a long name).
            let mut names = vec![qname.clone()];
            if qname.len() < 200 {
                let label: Vec<u8> = (0..8).map(|_| b'a' + (next_rand(&mut rng) % 26) as u8).collect();
                names.push([&[8u8][..], &label, qname].concat());
                let mut long = qname.clone();
                while long.len() + 11 <= 255 {
                    long = [&[9u8][..], b"zz-filler", &long].concat();
                }
                names.push(long);
            }
            for n in &names {
                for variant in 0..12 {
                    let r = next_rand(&mut rng);
                    let mut qn = n.clone();
                    let mut m = build_query(0, 0, &qn, 0, 0, None);
                    recase_qname(&mut m, r >> 8);
                    let len = qn.len();
                    qn.copy_from_slice(&m[12..12 + len]);
                    let client_cookie = r.rotate_left(7).to_be_bytes();
                    let cookie_opt = |server: bool| {
                        let mut o = vec![0, 10, 0, if server { 24 } else { 8 }];
                        o.extend_from_slice(&client_cookie);
                        if server {
                            o.extend_from_slice(&levee_limit::cookie::make(&secrets, &client_cookie, CLIENT, NOW));
                        }
                        o
                    };
                    let nsid_opt: Vec<u8> = vec![0, 3, 0, 0];
                    let sizes = [512u16, 600, 1232, 4096];
                    let size = sizes[(r >> 4) as usize % 4];
                    let dnssec = r & 1 == 1;
                    let (options, ws): (Vec<u8>, &mut [Worker; 3]) = match variant % 6 {
                        0 | 1 => (Vec::new(), &mut workers[0]),
                        2 => (cookie_opt(false), &mut workers[0]),
                        3 => (cookie_opt(true), &mut workers[0]),
                        4 => (nsid_opt.clone(), &mut workers[1]),
                        _ => ([cookie_opt(true), nsid_opt.clone()].concat(), &mut workers[1]),
                    };
                    let opt = if variant == 0 { None } else { Some((size, dnssec, options.as_slice())) };
                    let q = build_query(r as u16, *flags, &qn, *qtype, *qclass, opt);
                    let [udp, tcp, reference] = ws;
                    for (transport, w) in [(Transport::Udp, udp), (Transport::Tcp, tcp)] {
                        let rx = Received { msg: &q, client: CLIENT, transport };
                        let a = answered(w.answer(rx, &zones, &mut fast), &fast);
                        let b = answered(reference.answer(rx, &zones, &mut slow), &slow);
                        assert_eq!(
                            a,
                            b,
                            "{suite}: {} type {qtype} {transport:?} variant {variant}: pre-rendered differs",
                            name::to_text(&qn)
                        );
                        if let Answered::Sent(bytes, meta) = a {
                            if matches!(meta.kind, levee_answer::Kind::NxDomain | levee_answer::Kind::NoData) {
                                neg += 1;
                                tc += (bytes[2] & 0x02 != 0) as u64;
                            }
                        }
                    }
                }
            }
        }
        let direct: u64 = workers.iter().map(|w| w[0].counters().name_errors).sum();
        println!(
            "{suite}: {neg} negative answers compared ({tc} truncated), {direct} direct name errors, over {} questions",
            questions.len()
        );
        assert!(neg > 5000, "{suite}: only {neg} negative answers");
        assert!(direct > 300, "{suite}: only {direct} direct name errors compared");
        total_neg += neg;
        total_tc += tc;
    }
    assert!(total_tc > 20, "only {total_tc} truncated negative answers");
    assert!(total_neg > 0);
}
