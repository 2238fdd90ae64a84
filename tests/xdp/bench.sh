#!/bin/bash
# Benchmark of the AF_XDP path on the veth bed, for the integrator (root,
# on a quiet machine; never run it while others work). Servers, one at a
# time, in the server namespace pinned to CPU $SRV_CPU (default 0):
#   levee-xdp   levee serve --xdp vS (AF_XDP; TCP and fallback UDP on
#               sockets), default [xdp] coalesce-us (100)
#   levee-xdp0  the same with coalesce-us = 0 (a wake-up per batch)
#   levee-sock  levee serve (sockets only)
#   floor       ../shared/bench/floor/echo.c (the socket path's floor: echo + one A)
#   knot-xdp    knotd with ../shared/bench/xdp/knot-xdp.conf (Knot's AF_XDP mode)
# Load: dnsperf from the client namespace pinned to CPU $CLI_CPU (default 1),
# DURATION seconds, RATE queries per second (-Q; empty = as fast as it
# goes), hit-small style queries (www.example.com A and a few other names
# that exist).
#
# Why the server is on CPU 0: knotd pins its worker threads itself, the
# first to CPU 0, whatever taskset said. With the server on CPU 1 and
# dnsperf on CPU 0, Knot ran on the generator's core and every other
# server alone on its own (session 8's figures); with the server on CPU 0
# every server, Knot included, has a core to itself.
#
# Cost accounting. On veth, the receive half of a packet (including the
# XDP program and the AF_XDP copy) runs in the softirq of the *sending*
# side's CPU: queries are received on the generator's core, replies on the
# server's. Every run records /proc/stat deltas of both cores (user,
# system, softirq, idle) and prints:
#   qps                 answered queries per second (dnsperf), lost, and
#                       dnsperf's average latency
#   cpu0, cpu1          busy share of each core (100 = one core), softirq in brackets
#   server              the server process's own CPU (utime + stime)
#   qps_per_accounted_core
#                       qps / (busy share of the server's core + softirq share
#                       of the generator's core): the server's whole core
#                       counted once (its process and every softirq run on
#                       it, which also holds the generator's receive half of
#                       the replies, the same for every server), plus the
#                       receive half of the queries. THE FIGURE OF CHECK 1.
#   qps_per_total_core  qps / (cpu0 + cpu1), load generator included
#   qps_per_server_core qps / (server + softirq of both cores): session 8's
#                       figure. It counts twice the softirq that runs in the
#                       server's own context (this kernel has no
#                       IRQ_TIME_ACCOUNTING: a tick in softirq is charged to
#                       the interrupted task AND to the softirq column).
#
# Usage: tests/xdp/bench.sh [SERVER...]   (default: all five)
#   LEVEE_BIN=target/release/levee  DURATION=10  RATE=  CLIENTS=16
#   SRV_CPU=0  CLI_CPU=1  COALESCE= (levee-xdp's [xdp] coalesce-us; empty: the default)
# Smoke test at low rate: RATE=2000 DURATION=3 tests/xdp/bench.sh
set -euo pipefail
cd "$(dirname "$0")"
HERE=$PWD
LEVEE_BIN=${LEVEE_BIN:-$HERE/../../target/release/levee}
SHARED=${SHARED:-$(cd "$HERE/../../../shared" 2>/dev/null && pwd || echo /work/shared)}
DURATION=${DURATION:-10}
RATE=${RATE:-}
CLIENTS=${CLIENTS:-16}
SRV_CPU=${SRV_CPU:-0}
CLI_CPU=${CLI_CPU:-1}
SERVERS=("$@")
[ ${#SERVERS[@]} -gt 0 ] || SERVERS=(levee-xdp levee-xdp0 levee-sock floor knot-xdp)
[ "$(id -u)" = 0 ] || { echo "bench.sh: needs root"; exit 1; }
command -v dnsperf >/dev/null || { echo "bench.sh: needs dnsperf"; exit 1; }
SRV=lvb-s-$$ CLI=lvb-c-$$
WORK=$(mktemp -d /tmp/levee-xdpbench.XXXXXX)
PID=
cleanup() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null || true
	wait 2>/dev/null || true
	ip netns del "$SRV" 2>/dev/null || true
	ip netns del "$CLI" 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT

ip netns add "$SRV"
ip netns add "$CLI"
ip link add vS netns "$SRV" type veth peer name vC netns "$CLI"
for ns in "$SRV" "$CLI"; do ip -n "$ns" link set lo up; done
ip -n "$SRV" addr add 198.18.0.1/24 dev vS
ip -n "$CLI" addr add 198.18.0.2/24 dev vC
ip -n "$SRV" link set vS up
ip -n "$CLI" link set vC up

mkdir -p "$WORK/zones"
cat > "$WORK/zones/example.com.zone" <<'Z'
$ORIGIN example.com.
$TTL 3600
@    SOA ns1 hostmaster 1 3600 600 86400 60
@    NS  ns1
ns1  A   198.18.0.1
www  A   192.0.2.1
mail A   192.0.2.2
@    MX  10 mail
api  AAAA 2001:db8::1
Z
printf 'www.example.com A\nmail.example.com A\nexample.com MX\napi.example.com AAAA\nwww.example.com A\n' > "$WORK/q.txt"

# Knot's configuration: the shared one, on our interface and directory.
sed -e "s|/tmp/xdpt|$WORK|g" -e "s|vA@53|vS@53|" "$SHARED/bench/xdp/knot-xdp.conf" > "$WORK/knot-xdp.conf"
cp "$WORK/zones/example.com.zone" "$WORK/example.com.zone"
cc -O2 -pthread -o "$WORK/echo" "$SHARED/bench/floor/echo.c"
# levee as the shared bench adapter configures it: rate limiting and
# overload admission off (every query comes from one address).
printf 'version = 1\n[rate-limit]\nenabled = false\n[overload]\nenabled = false\n' > "$WORK/levee.toml"
{ cat "$WORK/levee.toml"; printf '[xdp]\ncoalesce-us = 0\n'; } > "$WORK/levee-nocoalesce.toml"
# COALESCE=N: levee-xdp with [xdp] coalesce-us = N instead of the default.
[ -n "${COALESCE:-}" ] && printf '[xdp]\ncoalesce-us = %s\n' "$COALESCE" >> "$WORK/levee.toml"

start() {
	local cmd
	case $1 in
	levee-xdp) cmd=("$LEVEE_BIN" serve --config "$WORK/levee.toml" --listen 198.18.0.1:53 --zones-dir "$WORK/zones" --threads 1 --xdp vS) ;;
	levee-xdp0) cmd=("$LEVEE_BIN" serve --config "$WORK/levee-nocoalesce.toml" --listen 198.18.0.1:53 --zones-dir "$WORK/zones" --threads 1 --xdp vS) ;;
	levee-sock) cmd=("$LEVEE_BIN" serve --config "$WORK/levee.toml" --listen 198.18.0.1:53 --zones-dir "$WORK/zones" --threads 1) ;;
	floor) cmd=("$WORK/echo" 53 1 198.18.0.1) ;;
	knot-xdp) cmd=(knotd -c "$WORK/knot-xdp.conf") ;;
	*) echo "unknown server $1"; exit 1 ;;
	esac
	ip netns exec "$SRV" taskset -c "$SRV_CPU" "${cmd[@]}" > "$WORK/$1.log" 2>&1 &
	PID=$!
	for _ in $(seq 1 50); do
		if ip netns exec "$CLI" dig +tries=1 +timeout=1 @198.18.0.1 www.example.com A +short 2>/dev/null | grep -q .; then
			return 0
		fi
		sleep 0.2
	done
	echo "$1 did not answer"; tail -5 "$WORK/$1.log"; exit 1
}

# cpu N -> "busy softirq total" jiffies from /proc/stat.
cpu() { awk -v c="cpu$1" '$1==c {b=$2+$3+$4+$7+$8+$9; print b, $8, b+$5+$6}' /proc/stat; }
proc_cpu() { awk '{print $14+$15}' "/proc/$1/stat"; }

measure() {
	local label=$1 pid=$2 c0 c1 p0 out qps
	read -r b0a s0a t0a < <(cpu 0)
	read -r b1a s1a t1a < <(cpu 1)
	p0=$(proc_cpu "$pid")
	out=$(ip netns exec "$CLI" taskset -c "$CLI_CPU" timeout $((DURATION + 10)) dnsperf -s 198.18.0.1 -d "$WORK/q.txt" \
		-c "$CLIENTS" -q 200 -T 1 -t 2 -l "$DURATION" ${RATE:+-Q "$RATE"} 2>&1)
	read -r b0b s0b t0b < <(cpu 0)
	read -r b1b s1b t1b < <(cpu 1)
	p1=$(proc_cpu "$pid")
	qps=$(awk '/Queries per second/ {print $4}' <<<"$out")
	lost=$(awk '/Queries lost/ {print $3}' <<<"$out")
	lat=$(awk '/Average Latency/ {print $4 * 1e6 "us"; exit}' <<<"$out")
	LAT=$lat python3 - "$label" "$qps" "$lost" "$b0a" "$s0a" "$t0a" "$b0b" "$s0b" "$t0b" "$b1a" "$s1a" "$t1a" "$b1b" "$s1b" "$t1b" "$p0" "$p1" "$DURATION" "$(getconf CLK_TCK)" "$SRV_CPU" <<'PY'
import os, sys
label, qps, lost = sys.argv[1], float(sys.argv[2] or 0), sys.argv[3]
lat = os.environ.get("LAT", "?")
v = [int(x) for x in sys.argv[4:18]]
dur, tck, scpu = float(sys.argv[18]), int(sys.argv[19]), int(sys.argv[20])
def share(a, b):  # busy, softirq fractions of one core
    busy, soft, tot = (b[0] - a[0]), (b[1] - a[1]), (b[2] - a[2])
    return busy / tot if tot else 0.0, soft / tot if tot else 0.0
c0, s0 = share(v[0:3], v[3:6])
c1, s1 = share(v[6:9], v[9:12])
server = (v[13] - v[12]) / tck / dur
tot = c0 + c1
srv = server + s0 + s1
# The server's core counted once (its process, and the softirq run on it),
# plus the softirq of the generator's core (the receive half of queries).
acct = (c0 + s1) if scpu == 0 else (c1 + s0)
print(f"{label:11} qps={qps:.0f} lost={lost} latency={lat} cpu0={100*c0:.1f}%(softirq {100*s0:.1f}%) "
      f"cpu1={100*c1:.1f}%(softirq {100*s1:.1f}%) server={100*server:.1f}% "
      f"qps_per_total_core={qps/tot if tot else 0:.0f} qps_per_server_core={qps/srv if srv else 0:.0f} "
      f"qps_per_accounted_core={qps/acct if acct else 0:.0f}")
PY
}

echo "# veth bed, DURATION=$DURATION RATE=${RATE:-max} CLIENTS=$CLIENTS, kernel $(uname -r), $(date -u +%FT%TZ)"
for s in "${SERVERS[@]}"; do
	start "$s"
	measure "$s" "$PID"
	# Which threads worked, and where they may run (name:CPUs:CPU time in ticks).
	echo "  $s threads: $(for t in /proc/"$PID"/task/*; do
		printf '%s:%s:%s\n' "$(tr ' ' _ < "$t/comm")" "$(awk '/Cpus_allowed_list/ {print $2}' "$t/status")" \
			"$(awk '{print $14 + $15}' "$t/stat")"; done | tr '\n' ' ')"
	if [ "$s" = levee-xdp ] || [ "$s" = levee-xdp0 ]; then
		grep -q "AF_XDP answering path on vS" "$WORK/$s.log" || echo "  (levee-xdp ran WITHOUT the AF_XDP path: $(grep -o 'AF_XDP path not available.*' "$WORK/$s.log"))"
	fi
	kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
	sleep 0.5
done
