#!/bin/bash
# The flood gate's privileged tests (issue 23, docs/gate.md): needs root or CAP_BPF plus
# CAP_NET_ADMIN. Runs the #[ignore]d tests of levee_io::gate:
#   - test_run_matches_the_model: BPF_PROG_TEST_RUN of levee_xdp and levee_sock on a corpus
#     (a frame for each admission step, mutations, random bytes) against levee_limit's model,
#     verdicts and counters;
#   - live_socket_filter_on_loopback: levee_sock on a UDP socket on 127.0.0.1, which
#     datagrams arrive (garbage, known and unknown sources, an armed zone);
#   - live_xdp_on_a_private_loopback: levee_xdp on the lo of a network namespace the test
#     creates (unshare in one thread), which datagrams arrive, detach on drop;
#   - zone_changes_judge_the_next_packet: a republished, withdrawn or new zone reaches the next
#     packet (the programs keep a per-CPU copy of the zone last found while config.gen stays);
#   - a_replaced_filter_keeps_its_room_for_the_grace: the region of a republished zone's old
#     filter is not written over by the next publication before RETIRE_GRACE;
#   - cost_per_packet: ns per packet, BPF_PROG_TEST_RUN with repeat 1,000,000 (no traffic);
# then the daemon with --gate (crates/levee/tests/it/gate.rs): garbage dropped below the socket,
# a zone armed by a random-subdomain flood, its random names budgeted, existing names answered;
# levee ctl gate (placement, settings, known table, the packets as /metrics has them) and a
# reload's new prefix budget applied to the running gate.
# Loopback only; the host's interfaces are not touched. Bounded: a few seconds.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" != 0 ] && ! capsh --has-p=cap_bpf 2>/dev/null; then
    echo "tests/gate/run.sh: needs root (CAP_BPF and CAP_NET_ADMIN); not run" >&2
    exit 1
fi
timeout 600 cargo test -p levee-io --lib gate::tests -- --ignored --test-threads=1 --nocapture
# The daemon with the gate on: socket filter, arming under a random-subdomain flood.
timeout 300 cargo test -p levee --test it gate:: -- --ignored --test-threads=1
