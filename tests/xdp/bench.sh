#!/bin/bash
# Benchmark of the AF_XDP path on the veth bed, for the integrator (root,
# on a quiet machine; never run it while others work). Servers, one at a
# time, in the server namespace pinned to CPU 1:
#   levee-xdp   levee serve --xdp vS (AF_XDP; TCP and fallback UDP on sockets)
#   levee-sock  levee serve (sockets only)
#   floor       ../shared/bench/floor/echo.c (the socket path's floor: echo + one A)
#   knot-xdp    knotd with ../shared/bench/xdp/knot-xdp.conf (Knot's AF_XDP mode)
# Load: dnsperf from the client namespace pinned to CPU 0, DURATION seconds,
# RATE queries per second (-Q; empty = as fast as it goes), hit-small
# style queries (www.example.com A and a few other names that exist).
#
# Cost accounting. On veth, the receive half of a packet (including the
# XDP program and the AF_XDP copy) runs in the softirq of the *sending*
# side's CPU: queries are processed on CPU 0 (dnsperf's), replies on CPU 1
# (the server's). A figure from the server process's CPU alone flatters
# the XDP path, so every run records /proc/stat deltas of BOTH cores
# (user, system, softirq, idle) and prints:
#   qps                 answered queries per second (dnsperf)
#   cpu0, cpu1          busy share of each core (100 = one core), softirq in brackets
#   server              the server process's own CPU (utime + stime)
#   qps_per_total_core  qps / (cpu0 + cpu1): queries per fully accounted core,
#                       load generator included (the same for every server,
#                       so the comparison is fair; it understates all of them)
#   qps_per_server_core qps / (server + softirq of both cores)
#
# Usage: tests/xdp/bench.sh [SERVER...]   (default: all four)
#   LEVEE_BIN=target/release/levee  DURATION=10  RATE=  CLIENTS=16
# Smoke test at low rate: RATE=2000 DURATION=3 tests/xdp/bench.sh
set -euo pipefail
cd "$(dirname "$0")"
HERE=$PWD
LEVEE_BIN=${LEVEE_BIN:-$HERE/../../target/release/levee}
SHARED=${SHARED:-$(cd "$HERE/../../../shared" 2>/dev/null && pwd || echo /work/shared)}
DURATION=${DURATION:-10}
RATE=${RATE:-}
CLIENTS=${CLIENTS:-16}
SERVERS=("$@")
[ ${#SERVERS[@]} -gt 0 ] || SERVERS=(levee-xdp levee-sock floor knot-xdp)
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

start() {
	local cmd
	case $1 in
	levee-xdp) cmd=("$LEVEE_BIN" serve --config "$WORK/levee.toml" --listen 198.18.0.1:53 --zones-dir "$WORK/zones" --threads 1 --xdp vS) ;;
	levee-sock) cmd=("$LEVEE_BIN" serve --config "$WORK/levee.toml" --listen 198.18.0.1:53 --zones-dir "$WORK/zones" --threads 1) ;;
	floor) cmd=("$WORK/echo" 53 1 198.18.0.1) ;;
	knot-xdp) cmd=(knotd -c "$WORK/knot-xdp.conf") ;;
	*) echo "unknown server $1"; exit 1 ;;
	esac
	ip netns exec "$SRV" taskset -c 1 "${cmd[@]}" > "$WORK/$1.log" 2>&1 &
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
	out=$(ip netns exec "$CLI" taskset -c 0 timeout $((DURATION + 10)) dnsperf -s 198.18.0.1 -d "$WORK/q.txt" \
		-c "$CLIENTS" -q 200 -T 1 -t 2 -l "$DURATION" ${RATE:+-Q "$RATE"} 2>&1)
	read -r b0b s0b t0b < <(cpu 0)
	read -r b1b s1b t1b < <(cpu 1)
	p1=$(proc_cpu "$pid")
	qps=$(awk '/Queries per second/ {print $4}' <<<"$out")
	lost=$(awk '/Queries lost/ {print $3}' <<<"$out")
	python3 - "$label" "$qps" "$lost" "$b0a" "$s0a" "$t0a" "$b0b" "$s0b" "$t0b" "$b1a" "$s1a" "$t1a" "$b1b" "$s1b" "$t1b" "$p0" "$p1" "$DURATION" "$(getconf CLK_TCK)" <<'PY'
import sys
label, qps, lost = sys.argv[1], float(sys.argv[2] or 0), sys.argv[3]
v = [int(x) for x in sys.argv[4:18]]
dur, tck = float(sys.argv[18]), int(sys.argv[19])
def share(a, b):  # busy, softirq fractions of one core
    busy, soft, tot = (b[0] - a[0]), (b[1] - a[1]), (b[2] - a[2])
    return busy / tot if tot else 0.0, soft / tot if tot else 0.0
c0, s0 = share(v[0:3], v[3:6])
c1, s1 = share(v[6:9], v[9:12])
server = (v[13] - v[12]) / tck / dur
tot = c0 + c1
srv = server + s0 + s1
print(f"{label:11} qps={qps:.0f} lost={lost} cpu0={100*c0:.1f}%(softirq {100*s0:.1f}%) "
      f"cpu1={100*c1:.1f}%(softirq {100*s1:.1f}%) server={100*server:.1f}% "
      f"qps_per_total_core={qps/tot if tot else 0:.0f} qps_per_server_core={qps/srv if srv else 0:.0f}")
PY
}

echo "# veth bed, DURATION=$DURATION RATE=${RATE:-max} CLIENTS=$CLIENTS, kernel $(uname -r), $(date -u +%FT%TZ)"
for s in "${SERVERS[@]}"; do
	start "$s"
	measure "$s" "$PID"
	if [ "$s" = levee-xdp ]; then
		grep -q "AF_XDP answering path on vS" "$WORK/$s.log" || echo "  (levee-xdp ran WITHOUT the AF_XDP path: $(grep -o 'AF_XDP path not available.*' "$WORK/$s.log"))"
	fi
	kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
	sleep 0.5
done
