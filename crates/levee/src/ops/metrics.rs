//! `GET /metrics`: Prometheus text exposition format 0.0.4.
//!
//! Every family has `# HELP` and `# TYPE`; counters end in `_total`. The
//! values are sums of the per-thread counters read at scrape time.

use std::fmt::Write;
use std::sync::atomic::Ordering;

use levee_io::tcp::TcpStats;
use levee_wire::header::rcode::NAMES as RCODES;

use crate::center::Center;
use crate::ops::api;
use crate::ops::counters::{self, Sum, KINDS, QTYPES};

/// Escapes a label value (backslash, double quote, newline).
pub fn escape(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}

struct Out(String);

impl Out {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}");
        let _ = writeln!(self.0, "# TYPE {name} {kind}");
    }
    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        self.0.push_str(name);
        if !labels.is_empty() {
            self.0.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.0.push(',');
                }
                let _ = write!(self.0, "{k}=\"{}\"", escape(v));
            }
            self.0.push('}');
        }
        let _ = writeln!(self.0, " {value}");
    }
}

/// Renders every metric.
pub fn render(c: &Center) -> String {
    let (udp, tcp) = api::sums(c);
    let mut o = Out(String::with_capacity(16 * 1024));
    queries(&mut o, c, &udp, &tcp);
    defences(&mut o, c);
    tcp_and_management(&mut o, c);
    xdp(&mut o, c);
    workers(&mut o, c);
    zones(&mut o, c, &udp, &tcp);
    dnssec_keys(&mut o, c);
    storage(&mut o, c);
    updates(&mut o, c);
    replication(&mut o, c);
    if let Some(g) = &c.gate {
        gate(&mut o, g);
    }
    if let Some(d) = &c.dnstap {
        dnstap(&mut o, d);
    }
    o.0
}

/// dnstap (only when it runs): messages sent to the collector, dropped by
/// reason, and whether a collector is connected.
fn dnstap(o: &mut Out, d: &crate::dnstap::Shared) {
    o.family("levee_dnstap_sent_total", "counter", "dnstap messages written to the collector.");
    o.sample("levee_dnstap_sent_total", &[], d.sent.load(Ordering::Relaxed));
    o.family("levee_dnstap_dropped_total", "counter", "dnstap messages dropped, by reason (queries were answered).");
    for (r, n) in crate::dnstap::REASONS.iter().zip(d.dropped()) {
        o.sample("levee_dnstap_dropped_total", &[("reason", r)], n);
    }
    o.family("levee_dnstap_connected", "gauge", "1 while a dnstap collector is connected.");
    o.sample("levee_dnstap_connected", &[], u8::from(d.connected.load(Ordering::Relaxed)));
}

/// The flood gate (only when it runs): its counters by reason, the armed
/// zones, the controller's own counts.
fn gate(o: &mut Out, g: &crate::gate::control::Status) {
    let (stats, armed) = g.read();
    if let Some(stats) = stats {
        o.family("levee_gate_packets_total", "counter", "Packets the flood gate judged below the socket, by reason.");
        for (r, n) in crate::gate::REASONS.iter().zip(stats) {
            o.sample("levee_gate_packets_total", &[("reason", r)], n);
        }
    }
    o.family("levee_gate_zone_armed", "gauge", "1 for each zone armed (its names checked, the rest budgeted).");
    for a in &armed {
        o.sample("levee_gate_zone_armed", &[("zone", &a.zone)], 1);
    }
    o.family("levee_gate_zone_armed_since_seconds", "gauge", "When each armed zone was armed (Unix seconds).");
    for a in &armed {
        o.sample("levee_gate_zone_armed_since_seconds", &[("zone", &a.zone)], format!("{:.3}", a.since));
    }
    o.family("levee_gate_zone_filter_bytes", "gauge", "Octets of each armed zone's filter of existing names.");
    for a in &armed {
        o.sample("levee_gate_zone_filter_bytes", &[("zone", &a.zone)], a.filter_octets);
    }
    if let Some((f, _)) = g.known_fill() {
        o.family(
            "levee_gate_known_entries",
            "gauge",
            "Entries in the gate's known table (capacity 65536), counted every 10 s: all, admitting now, trusted.",
        );
        for (k, n) in [("all", f.entries), ("admitting", f.live), ("trusted", f.trusted)] {
            o.sample("levee_gate_known_entries", &[("kind", k)], n);
        }
    }
    let counts = [
        ("levee_gate_armed_total", "Times a zone was armed.", &g.armed_total),
        ("levee_gate_known_written_total", "Known sources written to the gate.", &g.known_written),
        ("levee_gate_known_dropped_total", "Newly known sources lost to a full buffer or channel.", &*g.known_dropped),
        ("levee_gate_errors_total", "Calls to the gate that failed.", &g.errors),
    ];
    for (name, help, v) in counts {
        o.family(name, "counter", help);
        o.sample(name, &[], v.load(Ordering::Relaxed));
    }
}

/// The build, the start time, and queries and responses by transport,
/// type, class and rcode.
fn queries(o: &mut Out, c: &Center, udp: &Sum, tcp: &Sum) {
    o.family("levee_build_info", "gauge", "Always 1; the version in a label.");
    o.sample("levee_build_info", &[("version", env!("CARGO_PKG_VERSION"))], 1);
    o.family("levee_start_time_seconds", "gauge", "When the server started (Unix seconds).");
    o.sample("levee_start_time_seconds", &[], format!("{:.3}", c.started));

    o.family("levee_queries_total", "counter", "Queries answered (a response was written), by transport.");
    o.sample("levee_queries_total", &[("transport", "udp")], udp.responses());
    // `tcp` is every stream transport; DoT and DoQ apart when they run.
    let tls = c.certs.as_ref().map(|_| Sum::of([&c.counters.tls]));
    let quic = c.quic.as_ref().map(|_| Sum::of([&c.counters.quic]));
    let plain = |v: u64, t: fn(&Sum) -> u64| v - tls.as_ref().map_or(0, t) - quic.as_ref().map_or(0, t);
    o.sample("levee_queries_total", &[("transport", "tcp")], plain(tcp.responses(), Sum::responses));
    if let Some(t) = &tls {
        o.sample("levee_queries_total", &[("transport", "tls")], t.responses());
    }
    if let Some(q) = &quic {
        o.sample("levee_queries_total", &[("transport", "quic")], q.responses());
    }

    o.family("levee_queries_by_type_total", "counter", "Queries answered, by query type (common types, then other).");
    for (i, (_, n)) in QTYPES.iter().enumerate() {
        o.sample("levee_queries_by_type_total", &[("qtype", n)], udp.qtypes[i] + tcp.qtypes[i]);
    }
    let other = QTYPES.len();
    o.sample("levee_queries_by_type_total", &[("qtype", "other")], udp.qtypes[other] + tcp.qtypes[other]);

    o.family("levee_responses_total", "counter", "Responses written, by answer class and transport.");
    for (i, k) in KINDS.iter().enumerate() {
        o.sample("levee_responses_total", &[("kind", k), ("transport", "udp")], udp.kinds[i]);
        let t = tls.as_ref().map(|t| t.kinds[i]);
        let q = quic.as_ref().map(|q| q.kinds[i]);
        let plain = tcp.kinds[i] - t.unwrap_or(0) - q.unwrap_or(0);
        o.sample("levee_responses_total", &[("kind", k), ("transport", "tcp")], plain);
        if let Some(t) = t {
            o.sample("levee_responses_total", &[("kind", k), ("transport", "tls")], t);
        }
        if let Some(q) = q {
            o.sample("levee_responses_total", &[("kind", k), ("transport", "quic")], q);
        }
    }

    o.family("levee_responses_by_rcode_total", "counter", "Responses written, by rcode (low four bits) and transport.");
    for (i, r) in RCODES.iter().enumerate() {
        if i >= 12 && udp.rcodes[i] + tcp.rcodes[i] == 0 {
            continue;
        }
        o.sample("levee_responses_by_rcode_total", &[("rcode", r), ("transport", "udp")], udp.rcodes[i]);
        let t = tls.as_ref().map(|t| t.rcodes[i]);
        let q = quic.as_ref().map(|q| q.rcodes[i]);
        let plain = tcp.rcodes[i] - t.unwrap_or(0) - q.unwrap_or(0);
        o.sample("levee_responses_by_rcode_total", &[("rcode", r), ("transport", "tcp")], plain);
        if let Some(t) = t {
            o.sample("levee_responses_by_rcode_total", &[("rcode", r), ("transport", "tls")], t);
        }
        if let Some(q) = q {
            o.sample("levee_responses_by_rcode_total", &[("rcode", r), ("transport", "quic")], q);
        }
    }
}

/// What the policy stage sent, dropped and slipped, and garbage.
fn defences(o: &mut Out, c: &Center) {
    let t = api::totals(c);
    o.family("levee_udp_sent_total", "counter", "UDP responses sent as written (after the policy stage).");
    let sent: u64 = c.policy.iter().map(|p| p.sent.load(Ordering::Relaxed)).sum();
    o.sample("levee_udp_sent_total", &[], sent);

    o.family("levee_dropped_total", "counter", "Queries or responses dropped without an answer, by reason.");
    o.sample("levee_dropped_total", &[("reason", "rrl")], t.rrl_dropped);
    o.sample("levee_dropped_total", &[("reason", "overload")], t.overload_dropped);
    o.sample("levee_dropped_total", &[("reason", "kernel")], t.kernel_dropped);
    let g = &c.garbage;
    o.sample("levee_dropped_total", &[("reason", "malformed")], g.other.load(Ordering::Relaxed));
    o.sample("levee_dropped_total", &[("reason", "short")], g.short.load(Ordering::Relaxed));
    o.sample("levee_dropped_total", &[("reason", "response")], g.response.load(Ordering::Relaxed));

    o.family(
        "levee_slipped_total",
        "counter",
        "Rate-limited responses replaced by a TC=1 or BADCOOKIE reply, by reason.",
    );
    o.sample("levee_slipped_total", &[("reason", "rrl")], t.rrl_slipped);
    o.family("levee_rrl_log_only_total", "counter", "Responses over the rate limit sent anyway (log-only mode).");
    o.sample("levee_rrl_log_only_total", &[], t.rrl_log_only);
}

/// The AF_XDP workers, per interface and queue (none without `--xdp`).
fn xdp(o: &mut Out, c: &Center) {
    if c.xdp.is_empty() {
        return;
    }
    o.family("levee_xdp_queue_info", "gauge", "Always 1: an AF_XDP worker, its interface, queue and mode.");
    for q in &c.xdp {
        let queue = q.queue.to_string();
        let mode = q.mode.to_string();
        o.sample("levee_xdp_queue_info", &[("interface", &q.iface), ("queue", &queue), ("mode", &mode)], 1);
    }
    type Get = fn(&levee_io::xdp::XdpStats) -> &std::sync::atomic::AtomicU64;
    let families: [(&str, &str, Get); 6] = [
        ("levee_xdp_received_total", "Frames received on the AF_XDP path.", |s| &s.received),
        ("levee_xdp_sent_total", "Replies sent on the AF_XDP path.", |s| &s.sent),
        ("levee_xdp_unparsable_total", "Frames dropped: not Ethernet/IPv4/IPv6/UDP as the path reads it.", |s| {
            &s.unparsable
        }),
        ("levee_xdp_tx_full_total", "Replies dropped: no free TX frame or ring slot.", |s| &s.tx_full),
        (
            "levee_xdp_kernel_dropped_total",
            "Frames the kernel dropped before the AF_XDP socket (RX ring full, no fill frame).",
            |s| &s.kernel_dropped,
        ),
        ("levee_xdp_naps_total", "Naps taken to coalesce the next batch ([xdp] coalesce-us).", |s| &s.naps),
    ];
    for (name, help, get) in families {
        o.family(name, "counter", help);
        for q in &c.xdp {
            let queue = q.queue.to_string();
            o.sample(name, &[("interface", &q.iface), ("queue", &queue)], get(&q.stats).load(Ordering::Relaxed));
        }
    }
}

/// A stream server's connections (`levee_<name>_connections_*`).
fn connections(o: &mut Out, name: &str, what: &str, s: &TcpStats) {
    let open = format!("levee_{name}_connections_open");
    o.family(&open, "gauge", &format!("{what} connections open now."));
    o.sample(&open, &[], s.open.load(Ordering::Relaxed));
    let acc = format!("levee_{name}_connections_accepted_total");
    o.family(&acc, "counter", &format!("{what} connections accepted."));
    o.sample(&acc, &[], s.accepted.load(Ordering::Relaxed));
    let closed = format!("levee_{name}_connections_closed_total");
    o.family(&closed, "counter", &format!("{what} connections closed by the server, by reason."));
    for (reason, v) in [
        ("cap", &s.evicted),
        ("cap_per_source", &s.evicted_per_source),
        ("idle", &s.idle_timeouts),
        ("slow", &s.io_timeouts),
        ("memory", &s.evicted_memory),
    ] {
        o.sample(&closed, &[("reason", reason)], v.load(Ordering::Relaxed));
    }
}

/// The DNS-over-TLS server: connections, buffers, handshakes.
fn tls(o: &mut Out, s: &TcpStats) {
    connections(o, "tls", "DNS-over-TLS", s);
    o.family(
        "levee_tls_buffer_bytes",
        "gauge",
        "Octets of DoT buffers and TLS state (estimated) held now (tls.buffer-memory-mib).",
    );
    o.sample("levee_tls_buffer_bytes", &[], s.buffered.load(Ordering::Relaxed));
    for (name, help, v) in [
        ("levee_tls_handshakes_total", "TLS handshakes completed.", &s.handshakes),
        ("levee_tls_handshakes_resumed_total", "TLS handshakes that resumed a session.", &s.handshakes_resumed),
        ("levee_tls_handshake_failures_total", "TLS handshakes failed or timed out.", &s.handshake_failures),
    ] {
        o.family(name, "counter", help);
        o.sample(name, &[], v.load(Ordering::Relaxed));
    }
    let refused = "levee_tls_handshakes_refused_total";
    o.family(
        refused,
        "counter",
        "Connections closed at accept, by reason: prefix (over tls.handshake-rate), total (over \
         tls.handshake-rate-total and the prefix not known).",
    );
    o.sample(refused, &[("reason", "prefix")], s.handshakes_refused.load(Ordering::Relaxed));
    o.sample(refused, &[("reason", "total")], s.handshakes_shed.load(Ordering::Relaxed));
}

/// The DNS-over-QUIC server: connections, handshakes, Retry, streams.
fn quic(o: &mut Out, s: &levee_io::quic::QuicStats) {
    o.family("levee_quic_connections_open", "gauge", "DNS-over-QUIC connections open now.");
    o.sample("levee_quic_connections_open", &[], s.open.load(Ordering::Relaxed));
    for (name, help, v) in [
        ("levee_quic_connections_accepted_total", "DoQ Initials taken on (a handshake started).", &s.accepted),
        ("levee_quic_handshakes_total", "DoQ handshakes completed.", &s.handshakes),
        ("levee_quic_handshake_failures_total", "DoQ handshakes failed or timed out.", &s.handshake_failures),
        ("levee_quic_retries_total", "Retry packets sent (tls.quic-retry-above passed).", &s.retries),
        ("levee_quic_streams_total", "DoQ streams opened by clients.", &s.streams),
        ("levee_quic_protocol_errors_total", "DoQ connections closed with DOQ_PROTOCOL_ERROR.", &s.protocol_errors),
        (
            "levee_quic_stream_timeouts_total",
            "DoQ streams cancelled: the query did not arrive in time.",
            &s.stream_timeouts,
        ),
    ] {
        o.family(name, "counter", help);
        o.sample(name, &[], v.load(Ordering::Relaxed));
    }
    let refused = "levee_quic_refused_total";
    o.family(
        refused,
        "counter",
        "DoQ Initials refused before any TLS work, by reason: prefix (tls.handshake-rate), total \
         (tls.handshake-rate-total, prefix not known), cap (tls.quic-max-connections or -per-prefix).",
    );
    o.sample(refused, &[("reason", "prefix")], s.handshakes_refused.load(Ordering::Relaxed));
    o.sample(refused, &[("reason", "total")], s.handshakes_shed.load(Ordering::Relaxed));
    o.sample(refused, &[("reason", "cap")], s.refused_cap.load(Ordering::Relaxed));
}

/// The TCP server's connections and buffers, the management listener's
/// refusals.
fn tcp_and_management(o: &mut Out, c: &Center) {
    connections(o, "tcp", "TCP", &c.tcp);
    o.family("levee_tcp_buffer_bytes", "gauge", "Octets held in TCP read and write buffers (tcp.buffer-memory-mib).");
    o.sample("levee_tcp_buffer_bytes", &[], c.tcp.buffered.load(Ordering::Relaxed));
    if c.certs.is_some() {
        tls(o, &c.tls);
    }
    if let Some(q) = &c.quic {
        quic(o, q);
    }
    o.family(
        "levee_management_refused_total",
        "counter",
        "Management requests refused (host, origin, token, scope), connections closed at the caps (evicted), failed TLS handshakes (tls).",
    );
    let r = &c.refused;
    for (reason, n) in [
        ("host", &r.host),
        ("origin", &r.origin),
        ("token", &r.token),
        ("scope", &r.scope),
        ("evicted", &r.evicted),
        ("tls", &r.tls),
    ] {
        o.sample("levee_management_refused_total", &[("reason", reason)], n.load(Ordering::Relaxed));
    }
}

/// Per UDP worker: datagrams, batches, batches while overloaded.
fn workers(o: &mut Out, c: &Center) {
    o.family("levee_worker_packets_total", "counter", "Datagrams received, per UDP worker.");
    for (i, w) in c.counters.udp.iter().enumerate() {
        o.sample("levee_worker_packets_total", &[("worker", &i.to_string())], w.packets.load(Ordering::Relaxed));
    }
    o.family("levee_worker_batches_total", "counter", "Receive batches, per UDP worker.");
    for (i, w) in c.counters.udp.iter().enumerate() {
        o.sample("levee_worker_batches_total", &[("worker", &i.to_string())], w.batches.load(Ordering::Relaxed));
    }
    o.family(
        "levee_worker_overload_batches_total",
        "counter",
        "Receive batches handled while overloaded, per UDP worker.",
    );
    for (i, p) in c.policy.iter().enumerate() {
        o.sample(
            "levee_worker_overload_batches_total",
            &[("worker", &i.to_string())],
            p.overload_batches.load(Ordering::Relaxed),
        );
    }
}

/// Zones served, reloads, and per zone: serial, records, load time,
/// responses and NXDOMAIN.
/// The keys of the zones levee signs, by role and state (read from the
/// key store: tags, roles and times only, never key material).
fn dnssec_keys(o: &mut Out, c: &Center) {
    let now = crate::clock::wall();
    let signed: Vec<(String, crate::zones::sign::SignPlan)> = c
        .cfg
        .zones
        .iter()
        .filter_map(|z| crate::zones::sign::SignPlan::of_zone(&c.cfg, z).map(|s| (z.name.clone(), s)))
        .collect();
    if signed.is_empty() {
        return;
    }
    let read: Vec<_> =
        signed.iter().filter_map(|(z, s)| crate::zones::keyroll::gauges(s, z, now).ok().map(|g| (z, g))).collect();
    o.family("levee_dnssec_keys", "gauge", "Keys of a zone levee signs, by role (KSK, ZSK, CSK) and rollover state.");
    for (z, (counts, _)) in &read {
        for (role, state, n) in counts {
            o.sample("levee_dnssec_keys", &[("zone", z.as_str()), ("role", role), ("state", state)], n);
        }
    }
    o.family("levee_dnssec_awaiting_parent_ds", "gauge", "1 while a key rollover waits for the parent's DS.");
    for (z, (_, waiting)) in &read {
        o.sample("levee_dnssec_awaiting_parent_ds", &[("zone", z.as_str())], u8::from(*waiting));
    }
}

fn zones(o: &mut Out, c: &Center, udp: &Sum, tcp: &Sum) {
    let set = c.zones.load();
    let ids = &c.zone_ids;
    o.family("levee_zones", "gauge", "Zones served.");
    o.sample("levee_zones", &[], set.len());
    o.family("levee_reloads_total", "counter", "Reloads since start (SIGHUP or API).");
    o.sample("levee_reloads_total", &[], c.reloads.done.load(Ordering::Relaxed));
    o.family("levee_reload_failures_total", "counter", "Reloads in which at least one zone failed to load.");
    o.sample("levee_reload_failures_total", &[], c.reloads.failed.load(Ordering::Relaxed));

    let zones: Vec<(String, &levee_zone::ZoneEntry, u16)> = set
        .entries()
        .iter()
        .zip(set.stat_ids())
        .map(|(e, &id)| (levee_wire::name::to_text(e.zone.apex()), e, id))
        .collect();
    o.family("levee_zone_serial", "gauge", "SOA serial of the zone being served.");
    for (n, e, _) in &zones {
        o.sample("levee_zone_serial", &[("zone", n)], e.zone.serial());
    }
    o.family("levee_zone_records", "gauge", "Records in the zone being served.");
    for (n, e, _) in &zones {
        o.sample("levee_zone_records", &[("zone", n)], e.zone.record_count());
    }
    o.family(
        "levee_zone_loaded_timestamp_seconds",
        "gauge",
        "When the served version of the zone was loaded (Unix seconds).",
    );
    for (n, _, id) in &zones {
        if let Some(t) = ids.loaded_at(*id) {
            o.sample("levee_zone_loaded_timestamp_seconds", &[("zone", n)], format!("{t:.3}"));
        }
    }
    // Per-zone counters: every zone that ever had an id, so a counter
    // does not vanish while a zone is briefly missing.
    let all = ids.all();
    let zsum = |i: usize| (udp.zone_responses[i] + tcp.zone_responses[i], udp.zone_nxdomain[i] + tcp.zone_nxdomain[i]);
    let overflow = zsum(counters::ZONE_SLOTS - 1);
    o.family("levee_zone_responses_total", "counter", "Responses written from the zone.");
    for (id, n) in &all {
        o.sample("levee_zone_responses_total", &[("zone", n)], zsum(*id as usize).0);
    }
    if overflow.0 > 0 {
        o.sample("levee_zone_responses_total", &[("zone", "(other)")], overflow.0);
    }
    o.family("levee_zone_nxdomain_total", "counter", "NXDOMAIN responses written from the zone.");
    for (id, n) in &all {
        o.sample("levee_zone_nxdomain_total", &[("zone", n)], zsum(*id as usize).1);
    }
    if overflow.1 > 0 {
        o.sample("levee_zone_nxdomain_total", &[("zone", "(other)")], overflow.1);
    }
}

/// Replication: transfers in by kind, failed refreshes, NOTIFYs out, and
/// per secondary zone how far it is behind its primary.
fn replication(o: &mut Out, c: &Center) {
    let n = &c.repl.counts;
    let get = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
    o.family(
        "levee_transfers_in_total",
        "counter",
        "Transfers in that brought a new version of a secondary zone, by kind (ixfr: differences; axfr: the whole zone, also an IXFR answered with it).",
    );
    o.sample("levee_transfers_in_total", &[("kind", "ixfr")], get(&n.ixfr_in));
    o.sample("levee_transfers_in_total", &[("kind", "axfr")], get(&n.axfr_in));
    o.family(
        "levee_zone_publications_total",
        "counter",
        "New zone sets published for received zones and expiries (zones::publish::coalesced), and the changes they carried: many changes per publication means zones arrived together and were published in batches.",
    );
    o.sample("levee_zone_publications_total", &[("count", "sets")], get(&c.pending.publications));
    o.sample("levee_zone_publications_total", &[("count", "changes")], get(&c.pending.changes));
    o.family(
        "levee_refresh_failures_total",
        "counter",
        "Refreshes of secondary zones that failed (network failures are retried after 1, 2, 4... s up to the SOA retry, others after the SOA retry).",
    );
    o.sample("levee_refresh_failures_total", &[], get(&n.refresh_failed));
    o.family(
        "levee_notify_out_total",
        "counter",
        "NOTIFYs sent to secondaries, by outcome (retry: an attempt not acknowledged in time).",
    );
    o.sample("levee_notify_out_total", &[("result", "acknowledged")], get(&n.notify_acked));
    o.sample("levee_notify_out_total", &[("result", "retry")], get(&n.notify_retries));
    o.sample("levee_notify_out_total", &[("result", "given-up")], get(&n.notify_given_up));
    if c.repl.secondaries.is_empty() {
        return;
    }
    let mut secs: Vec<_> = c.repl.secondaries.values();
    secs.sort_by(|a, b| a.name.cmp(&b.name));
    o.family(
        "levee_secondary_serial_lag",
        "gauge",
        "Serials the served version of a secondary zone is behind the newest one its primaries announced or answered (0: current).",
    );
    for s in &secs {
        let served = s.status.lock().ok().and_then(|x| x.serial);
        o.sample("levee_secondary_serial_lag", &[("zone", &s.name)], s.serial_lag(served));
    }
    o.family(
        "levee_secondary_expired",
        "gauge",
        "1 while a secondary zone is past its SOA expire (answering SERVFAIL).",
    );
    for s in &secs {
        let expired = s.status.lock().map(|x| x.expired).unwrap_or(false);
        o.sample("levee_secondary_expired", &[("zone", &s.name)], u8::from(expired));
    }
}

/// Writes of stored zone copies and journals (`crate::storage`).
fn storage(o: &mut Out, c: &Center) {
    let stores: Vec<(crate::storage::Status, String, &'static str)> =
        c.stores.all().iter().map(|s| (s.status(), s.zone.clone(), s.kind().as_str())).collect();
    o.family(
        "levee_storage_write_failures_total",
        "counter",
        "Failed writes of a stored zone copy or journal (each is retried with backoff).",
    );
    for (st, zone, file) in &stores {
        o.sample("levee_storage_write_failures_total", &[("zone", zone), ("file", file)], st.failures);
    }
    o.family(
        "levee_storage_write_pending",
        "gauge",
        "1 while data of a zone copy or journal waits to be written (after a failure, or being written).",
    );
    for (st, zone, file) in &stores {
        o.sample("levee_storage_write_pending", &[("zone", zone), ("file", file)], u8::from(st.pending));
    }
}

/// Dynamic updates (`crate::update`): replies by rcode, changes applied,
/// refusals by reason. Present whether or not a zone takes updates.
fn updates(o: &mut Out, c: &Center) {
    use std::sync::atomic::Ordering::Relaxed;
    let u = &c.updates;
    o.family(
        "levee_updates_total",
        "counter",
        "UPDATE messages answered by the update thread (or SERVFAIL for a full queue), by rcode.",
    );
    for (i, n) in u.by_rcode.iter().enumerate() {
        let n = n.load(Relaxed);
        if n > 0 || i == 0 {
            o.sample("levee_updates_total", &[("rcode", levee_wire::header::rcode::NAMES[i])], n);
        }
    }
    o.family("levee_updates_applied_total", "counter", "Updates that changed a zone (journaled, new serial).");
    o.sample("levee_updates_applied_total", &[], u.applied.load(Relaxed));
    o.family(
        "levee_updates_refused_total",
        "counter",
        "Updates not evaluated: not granted by allow-update (REFUSED), queue full or journal/build failure (SERVFAIL).",
    );
    o.sample("levee_updates_refused_total", &[("reason", "grant")], c.repl.update_refused.load(Relaxed));
    o.sample("levee_updates_refused_total", &[("reason", "queue_full")], u.queue_full.load(Relaxed));
    o.sample("levee_updates_refused_total", &[("reason", "failed")], u.failed.load(Relaxed));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gate::control::{ArmedZone, Status};

    #[test]
    fn the_gate_families() {
        let g = Status::default();
        let mut stats = [0u64; crate::gate::NSTATS];
        stats[crate::gate::DROP_NX_BUDGET] = 41;
        let armed = ArmedZone {
            zone: "a.test.".into(),
            since: 1_700_000_000.5,
            nxdomain_rate: 900.0,
            armed_rate: 2500.0,
            nx: crate::gate::ZoneBudget { rate: 1000, burst: 2000 },
            keys: 10,
            filter_octets: 2048,
            build_ms: 0.1,
            all: false,
        };
        *g.state.lock().unwrap() = (Some(stats), vec![armed]);
        g.known_dropped.store(3, Ordering::Relaxed);
        *g.known.lock().unwrap() = Some((levee_io::gate::KnownFill { entries: 9, live: 8, trusted: 2 }, 0.0));
        let mut o = Out(String::new());
        gate(&mut o, &g);
        for line in [
            "levee_gate_packets_total{reason=\"drop_nx_budget\"} 41",
            "levee_gate_packets_total{reason=\"pass_no_xsk\"} 0",
            "levee_gate_zone_armed{zone=\"a.test.\"} 1",
            "levee_gate_zone_armed_since_seconds{zone=\"a.test.\"} 1700000000.500",
            "levee_gate_zone_filter_bytes{zone=\"a.test.\"} 2048",
            "levee_gate_known_dropped_total 3",
            "levee_gate_known_entries{kind=\"all\"} 9",
            "levee_gate_known_entries{kind=\"admitting\"} 8",
            "levee_gate_known_entries{kind=\"trusted\"} 2",
            "# TYPE levee_gate_packets_total counter",
        ] {
            assert!(o.0.lines().any(|l| l == line), "no '{line}' in\n{}", o.0);
        }
        let j = g.json();
        assert_eq!(j["packets"]["drop_nx_budget"], 41);
        assert_eq!(j["armed"][0]["zone"], "a.test.");
        assert_eq!(j["armed"][0]["nx_rate"], 1000);
        assert_eq!(j["known"]["entries"], 9);
        assert_eq!(j["settings"]["prefix-rate"], "2000");
    }
}
