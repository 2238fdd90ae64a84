//! levee's integration tests, in one test binary so they share one link
//! step: `cargo test -p levee --test it`.
//!
//! (The golden suites under `tests/golden/`, answered in-process and
//! compared with responses recorded from Knot DNS, NSD and BIND, are
//! levee-answer's test: `cargo test -p levee-answer --test golden`.)
//!
//! * [`server`]: the real binary on loopback (UDP, TCP, IPv6, pktinfo,
//!   AXFR and its ACL, SIGHUP reload, SIGTERM, garbage).
//! * [`defences`]: response rate limiting and slip, cookies shared by
//!   several nodes and rolled over, TCP exempt from the limits.
//! * [`api`]: the REST API (`/api/v1/`, issue 19): every endpoint, bad
//!   input naming the field with nothing written, tokens by scope and
//!   zone, `levee ctl rrset-*`, writes across `kill -9`, and a write on a
//!   levee secondary within one second.
//! * [`ops`]: the operator surface: exact `/metrics` counts for a known
//!   sequence of queries, a strict Prometheus text-format checker, the
//!   JSON API and reload over HTTP, JSON logs, the privilege drop (root).
//! * [`repl`]: a levee primary and a levee secondary: AXFR, IXFR, ctl, restart.
//! * [`rollover`]: KSK, CSK and algorithm rollovers on a seconds-long
//!   clock with a second levee as the parent (its DS changed by the test
//!   from the child's CDS), every step through two validators; `levee ctl
//!   keys`, `key-rollover`, `ds-seen` and the key gauges.
//! * [`catalog`]: catalog zones (RFC 9432): a levee consumer of catalogs
//!   written in the test (add, remove, regroup, reset, coo, conflicts,
//!   malformed versions, restart) and a levee producer feeding it.
//! * [`gate`]: the flood gate on the real daemon (privileged: `#[ignore]`d,
//!   run as root by tests/gate/run.sh).
//! * [`faults`]: fault injection on the transfer-in path with a scripted
//!   fake primary ([`fakeprim`]): bad RDATA, message splits, trickling,
//!   silent and endless primaries, budgets and memory, IXFR fallback, a
//!   160k-removal IXFR, NOTIFY floods.
//! * [`security`]: the management API's Host, Origin and token checks, a
//!   scrape through 64 slow clients, the control socket's mode, path check
//!   and instance lock, `levee ctl`'s errors (issue 16).
//! * [`bounds`]: TCP memory under held and pipelining connections, and a
//!   new client served at an open-file limit of 1,024 (issue 16).
//! * [`packaging`]: issue 22: the manual pages and completions against
//!   the CLI and the schema; `levee migrate` from Knot and NSD, served.
//! * [`dnstap`]: issue 21's capture to a Frame Streams collector written
//!   in the test: handshake, every query and response octet for octet,
//!   sampling, a stalled collector (answers unhurt, drops counted), a
//!   restarted one (reconnection).
//! * [`dot`]: DNS over TLS (issue 21) with a rustls client: answers
//!   equal to TCP's, pipelining, resumption, the certificate refused at
//!   start or reloaded on SIGHUP, the handshake timeout, the per-source
//!   cap, the handshake budget per prefix and in total, dnstap's DOT
//!   protocol, the metrics.
//! * [`padding`]: EDNS padding (RFC 7830, RFC 8467) of DoT answers read
//!   by the client: 468-octet blocks, the TCP answer less the option,
//!   none without EDNS or with `tls.padding = false`, none past 65,535
//!   octets (DoQ's in [`doq`]).
//! * [`cli`]: configuration errors naming the key, and `levee check-zone`
//!   on broken and on valid zones.
//! * [`exact`]: issue 14's answers that need the real binary: zones that
//!   do not load, the root zone's file name, the semantic-check policy, a
//!   transfer with a record too large, EDNS EXPIRE on a secondary.
//! * [`storage`]: fault injection for storage and zone reading: stored
//!   copies cut or damaged, a full disk (tmpfs), names with `/`, storage
//!   ownership after the privilege drop, FIFOs, devices and a hung file
//!   system ([`hungfs`], FUSE) in zone files, `$GENERATE` panics and
//!   budgets, serial mistakes, a 65k-record RRset.
//! * [`update`]: dynamic update (RFC 2136) with TSIG: served at once over
//!   UDP and TCP, refusals as BIND answers them, `kill -9` during a burst
//!   of updates, a secondary reached by NOTIFY and IXFR.

mod api;
mod bounds;
mod catalog;
mod cli;
mod defences;
mod dnstap;
mod doq;
mod dot;
mod exact;
mod fakeprim;
mod faults;
mod gate;
mod hungfs;
mod ops;
mod packaging;
mod padding;
mod repl;
mod rollover;
mod security;
mod server;
mod sign;
mod storage;
mod support;
mod update;
