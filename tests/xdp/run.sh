#!/bin/bash
# The AF_XDP answering path on a veth test bed (issue 23), as root:
#  - two network namespaces and a veth pair between them, created here and
#    removed on exit: server 198.18.0.1/24, client 198.18.0.2/24 (plus the
#    pair's automatic IPv6 link-local addresses);
#  - levee in the server namespace with --xdp on its end of the pair,
#    running as nobody after start-up (the path must survive the drop);
#  - from the client namespace: dig queries answered through AF_XDP,
#    checked against the zone written below (A, NXDOMAIN, a large TXT set
#    that comes back TC=1 over UDP and whole over TCP, A over IPv6
#    link-local), then ping, a plain TCP connection and a UDP datagram to
#    another port, which the XDP program must leave to the kernel;
#  - levee's /metrics: the UDP answers went through AF_XDP (levee_xdp_sent_total
#    equals the UDP answers the client got), nothing unparsable.
# With GATE=1, levee runs with --gate: the flood gate's XDP program (levee_xdp)
# feeds AF_XDP instead of the plain redirect, and every UDP answer must have
# been redirected by it (levee_gate_packets_total{reason="redirect_xsk"}).
# Exit: 0 passed; 1 failed; 77 not run (the kernel refused XDP on veth;
# the script says SKIP and why). Bounded: every query has a timeout, the
# whole script takes a few seconds.
set -euo pipefail
cd "$(dirname "$0")"
LEVEE_BIN=${LEVEE_BIN:?set LEVEE_BIN to the levee binary}
[ "$(id -u)" = 0 ] || { echo "tests/xdp/run.sh: needs root (network namespaces, XDP)"; exit 1; }
SRV=lvx-s-$$ CLI=lvx-c-$$
WORK=$(mktemp -d /tmp/levee-xdp.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	ip netns del "$SRV" 2>/dev/null || true
	ip netns del "$CLI" 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*"
	echo "--- levee log"; tail -20 "$WORK/levee.log"
	echo "--- AF_XDP counters"; S curl -s http://127.0.0.1:8053/metrics | grep '^levee_xdp_' || true
	exit 1
}
ok() { echo "ok: $*"; }
S() { ip netns exec "$SRV" "$@"; }
C() { ip netns exec "$CLI" timeout 10 "$@"; }

ip netns add "$SRV"
ip netns add "$CLI"
ip link add vS netns "$SRV" type veth peer name vC netns "$CLI"
for ns in "$SRV" "$CLI"; do ip -n "$ns" link set lo up; done
ip -n "$SRV" addr add 198.18.0.1/24 dev vS
ip -n "$CLI" addr add 198.18.0.2/24 dev vC
S sysctl -qw net.ipv6.conf.vS.accept_dad=0
ip netns exec "$CLI" sysctl -qw net.ipv6.conf.vC.accept_dad=0
ip -n "$SRV" link set vS up
ip -n "$CLI" link set vC up
# IPv6 from the IPv6 benchmarking range (RFC 5180, 2001:2::/48), only in
# these namespaces.
ip -n "$SRV" addr add 2001:2::1/64 dev vS nodad
ip -n "$CLI" addr add 2001:2::2/64 dev vC nodad
# Both link-local IPv6 addresses before XDP is attached (they come with carrier).
lladdr() { ip -n "$1" -6 addr show dev "$2" scope link | awk '/inet6/ && !/tentative/ {sub(/\/.*/, "", $2); print $2; exit}'; }
for _ in $(seq 1 50); do
	[ -n "$(lladdr "$SRV" vS)" ] && [ -n "$(lladdr "$CLI" vC)" ] && break
	sleep 0.1
done

mkdir -p "$WORK/zones"
ZONE=$WORK/zones/xdp.test.zone
{
	echo '$ORIGIN xdp.test.'
	echo '$TTL 300'
	echo '@    SOA ns1 hostmaster 1 3600 600 86400 60'
	echo '@    NS  ns1'
	echo 'ns1  A   198.18.0.1'
	echo 'www  A   192.0.2.80'
	echo 'www  A   192.0.2.81'
	# 12 TXT records of 200 octets: about 2.5 kB, more than a 1232-octet UDP answer.
	for i in $(seq -w 1 12); do
		printf 'big  TXT "%s-%s"\n' "$i" "$(printf 'x%.0s' $(seq 1 195))"
	done
} > "$ZONE"

# levee gives up root after start-up (as nobody): the path must keep working.
chmod 755 "$WORK"
# coalesce-us at its maximum, so that a nap in the wrong place shows in the
# round trips measured below; response rate limiting off, since the bursts
# below come from one address.
printf 'version = 1\n[server]\nuser = "nobody"\n[rate-limit]\nenabled = false\n[xdp]\ncoalesce-us = 1000\n' > "$WORK/levee.toml"
GATE_ARGS=()
[ "${GATE:-0}" = 1 ] && GATE_ARGS=(--gate)
# Not through S(): a function in the background forks a subshell, and $!
# would be that shell, not levee (which then outlives the script).
ip netns exec "$SRV" "$LEVEE_BIN" serve --config "$WORK/levee.toml" --listen 198.18.0.1:53 --listen '[2001:2::1]:53' --zones-dir "$WORK/zones" --xdp vS \
	--management 127.0.0.1:8053 --threads 1 "${GATE_ARGS[@]}" > "$WORK/levee.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do
	grep -q "ready" "$WORK/levee.log" && break
	kill -0 "${PIDS[0]}" 2>/dev/null || fail "levee exited"
	sleep 0.1
done
grep -q "ready" "$WORK/levee.log" || fail "levee did not start"
if grep -q "AF_XDP path not available" "$WORK/levee.log"; then
	echo "SKIP (not run): the kernel refused XDP on veth: $(grep 'AF_XDP path not available' "$WORK/levee.log" | head -1)"
	exit 77
fi
grep -q "AF_XDP answering path on vS" "$WORK/levee.log" || fail "no AF_XDP path in the log"
ok "$(grep -o 'AF_XDP answering path on vS.*' "$WORK/levee.log" | head -1)"
if [ "${GATE:-0}" = 1 ]; then
	grep -q "AF_XDP answering path on vS.*gated=true" "$WORK/levee.log" || fail "not fed by the gate's XDP program"
fi
grep -q "dropped root privileges" "$WORK/levee.log" || fail "levee did not drop root"
ok "levee runs as nobody: $(grep -o 'dropped root privileges.*' "$WORK/levee.log")"

DIG=(dig +tries=1 +timeout=2 +nocookie)
UDP_ANSWERS=0
# A: the zone's two addresses, over the XDP path.
want=$(awk '$1=="www" && $2=="A" {print $3}' "$ZONE" | sort | tr '\n' ' ')
got=$(C "${DIG[@]}" @198.18.0.1 www.xdp.test A +short | sort | tr '\n' ' ')
[ "$got" = "$want" ] || fail "www A: got '$got', want '$want'"
UDP_ANSWERS=$((UDP_ANSWERS + 1)); ok "A www.xdp.test. = $got"
# NXDOMAIN with the zone's SOA.
out=$(C "${DIG[@]}" @198.18.0.1 nope.xdp.test A)
grep -q "status: NXDOMAIN" <<<"$out" || fail "nope: not NXDOMAIN: $out"
grep -q "xdp.test.*SOA.*ns1.xdp.test. hostmaster.xdp.test. 1 3600" <<<"$out" || fail "nope: no SOA: $out"
UDP_ANSWERS=$((UDP_ANSWERS + 1)); ok "NXDOMAIN nope.xdp.test. with the SOA"
# The large TXT set: TC=1 over UDP (no retry), then whole over TCP (kernel path).
out=$(C "${DIG[@]}" @198.18.0.1 big.xdp.test TXT +ignore +bufsize=1232)
grep -q "flags:.* tc" <<<"$out" || fail "big TXT over UDP: no TC=1: $out"
UDP_ANSWERS=$((UDP_ANSWERS + 1)); ok "big.xdp.test. TXT over UDP: TC=1"
n=$(C "${DIG[@]}" @198.18.0.1 big.xdp.test TXT +bufsize=1232 +short | wc -l)
UDP_ANSWERS=$((UDP_ANSWERS + 1)) # the truncated first try
want=$(grep -c '^big  TXT' "$ZONE")
[ "$n" = "$want" ] || fail "big TXT after the TCP retry: $n records, want $want"
ok "big.xdp.test. TXT: $n records after the TCP retry"
# A large EDNS buffer: the MTU bounds the answer (1472 octets on a 1500 MTU), still TC=1.
out=$(C "${DIG[@]}" @198.18.0.1 big.xdp.test TXT +ignore +bufsize=4096)
grep -q "flags:.* tc" <<<"$out" || fail "big TXT, bufsize 4096: no TC=1 (the MTU must bound it): $out"
UDP_ANSWERS=$((UDP_ANSWERS + 1)); ok "big.xdp.test. TXT with bufsize 4096: TC=1 (MTU-bound)"
# IPv6, over the pair's link-local addresses.
got=$(C "${DIG[@]}" @2001:2::1 www.xdp.test A +short | sort | tr "\n" " ") || fail "no answer over IPv6"
want=$(awk '$1=="www" && $2=="A" {print $3}' "$ZONE" | sort | tr '\n' ' ')
[ "$got" = "$want" ] || fail "www A over IPv6: got '$got', want '$want'"
UDP_ANSWERS=$((UDP_ANSWERS + 1)); ok "A www.xdp.test. over IPv6 (2001:2::1)"
# Only levee's addresses are taken (with the gate and without): port 53 of
# the link-local address, where levee does not listen, belongs to the
# kernel (nothing listens there, so no answer), as it would to another DNS
# server on the same interface.
ll=$(lladdr "$SRV" vS)
[ -n "$ll" ] && [ -n "$(lladdr "$CLI" vC)" ] || fail "no IPv6 link-local address on vS or vC"
if C "${DIG[@]}" "@$ll%vC" www.xdp.test A +short >/dev/null 2>&1; then
	fail "a query to $ll (not a listen address) was answered through AF_XDP"
fi
ok "a query to $ll (not a listen address) is left to the kernel"

# What the program must leave to the kernel.
command -v ping >/dev/null || fail "ping is not installed (apt-get install iputils-ping)"
C ping -c 2 -W 2 198.18.0.1 >/dev/null || fail "ping"
ok "ICMP echo"
S python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.18.0.1", 2222)); s.listen(1); s.settimeout(8)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("198.18.0.1", 5300)); u.settimeout(8)
c, _ = s.accept(); c.sendall(b"SSH-2.0-bed " + c.recv(64))
d, a = u.recvfrom(64); u.sendto(b"udp:" + d, a)
' &
PIDS+=($!)
sleep 0.3
got=$(C python3 -c '
import socket
c = socket.create_connection(("198.18.0.1", 2222), timeout=3); c.sendall(b"hello")
print(c.recv(64).decode())
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(3)
u.sendto(b"x", ("198.18.0.1", 5300)); print(u.recv(64).decode())
') || fail "TCP/UDP on other ports"
[ "$got" = $'SSH-2.0-bed hello\nudp:x' ] || fail "other ports: got '$got'"
ok "TCP to port 2222 and UDP to port 5300 still reach the kernel"

# Coalescing ([xdp] coalesce-us = 1000 here). A client that asks, waits
# for the answer and asks again must never wait for a nap: the median round
# trip stays far below the 1 ms nap (a worker that napped after every batch
# would hold each next query for most of a millisecond).
rtt=$(C python3 -c '
import socket, struct, time, statistics
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
q = lambda i: struct.pack(">HHHHHH", i, 0x0100, 1, 0, 0, 0) + b"\x03www\x03xdp\x04test\x00\x00\x01\x00\x01"
t = []
for i in range(200):
    a = time.perf_counter(); s.sendto(q(i), ("198.18.0.1", 53))
    while struct.unpack(">H", s.recv(2048)[:2])[0] != i: pass
    t.append(time.perf_counter() - a)
print(int(statistics.median(t) * 1e6))') || fail "ping-pong queries"
[ "$rtt" -lt 500 ] || fail "ping-pong: median round trip ${rtt} us with coalesce-us = 1000 (a nap held the next query)"
UDP_ANSWERS=$((UDP_ANSWERS + 200)); ok "coalescing: 200 queries one after another, median round trip ${rtt} us"
# A burst, sent without waiting: every query answered, and the worker
# napped to gather batches (levee_xdp_naps_total grew). A nap needs two
# frames in one batch: on a loaded machine the sender can be slow enough
# that every frame comes alone, so the burst is sent up to 10 times
# (bounded) until one nap is seen.
naps0=$(S curl -sf http://127.0.0.1:8053/metrics | awk '$1 ~ /^levee_xdp_naps_total/ {s += $2} END {print s + 0}')
attempts=0
while :; do
attempts=$((attempts + 1))
got=$(C python3 -c '
import socket, struct, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
q = lambda i: struct.pack(">HHHHHH", i, 0x0100, 1, 0, 0, 0) + b"\x03www\x03xdp\x04test\x00\x00\x01\x00\x01"
seen = set()
s.settimeout(2)
for r in range(5):
    pkts = [q(r * 100 + i) for i in range(100)]
    for p in pkts:
        s.sendto(p, ("198.18.0.1", 53))
    while len(seen) < (r + 1) * 100:
        seen.add(struct.unpack(">H", s.recv(2048)[:2])[0])
print(len(seen))') || fail "burst: not every query answered within 2 s"
[ "$got" = 500 ] || fail "burst: $got answers, want 500"
UDP_ANSWERS=$((UDP_ANSWERS + 500))
naps=$(S curl -sf http://127.0.0.1:8053/metrics | awk '$1 ~ /^levee_xdp_naps_total/ {s += $2} END {print s + 0}')
[ "$naps" -gt "$naps0" ] && break
[ "$attempts" -lt 10 ] || fail "burst: levee_xdp_naps_total stayed at $naps after $attempts bursts (no batch was coalesced)"
done
ok "coalescing: $attempts x 5 bursts of 100 queries all answered, $((naps - naps0)) naps"

# The counters: every UDP answer went out through AF_XDP.
M=$(S curl -sf http://127.0.0.1:8053/metrics) || fail "metrics"
metric() { awk -v n="$1" '$1 ~ "^"n"[{ ]" || $1 == n {s += $2} END {print s + 0}' <<<"$M"; }
sent=$(metric levee_xdp_sent_total)
recv=$(metric levee_xdp_received_total)
bad=$(metric levee_xdp_unparsable_total)
grep -q 'levee_xdp_queue_info{interface="vS",queue="0"' <<<"$M" || fail "no levee_xdp_queue_info for vS"
[ "$sent" = "$UDP_ANSWERS" ] || fail "levee_xdp_sent_total = $sent, want $UDP_ANSWERS (the UDP answers the client got)"
[ "$recv" = "$UDP_ANSWERS" ] || fail "levee_xdp_received_total = $recv, want $UDP_ANSWERS"
[ "$bad" = 0 ] || fail "levee_xdp_unparsable_total = $bad"
ok "metrics: $recv received and $sent sent through AF_XDP, 0 unparsable"
if [ "${GATE:-0}" = 1 ]; then
	# The gate's counters reach /metrics with its controller's next sample (1 s).
	for _ in $(seq 1 30); do
		M=$(S curl -sf http://127.0.0.1:8053/metrics) || fail "metrics"
		[ "$(metric 'levee_gate_packets_total{reason="redirect_xsk"}')" = "$UDP_ANSWERS" ] && break
		sleep 0.1
	done
	red=$(metric 'levee_gate_packets_total{reason="redirect_xsk"}')
	[ "$red" = "$UDP_ANSWERS" ] || fail "the gate redirected $red queries to AF_XDP, want $UDP_ANSWERS"
	ok "gate: $red queries admitted and redirected to AF_XDP by levee_xdp"
fi
echo "PASS: tests/xdp/run.sh"
