#!/bin/bash
# Instructions per query through the UDP handler, counted by callgrind.
#
#   bench/callgrind.sh [LEVEE_BIN] [N]
#
# Serves the shared benchmark's zones (generated into /tmp/levee-callgrind-data
# by ../shared/bench/gen_zones.py with a 100k-delegation TLD, once) with one UDP
# worker under `valgrind --tool=callgrind`, collecting only inside the UDP
# driver's call of the handler (`<_ as levee_io::udp::UdpHandler>::handle`, so
# the figure is the user-space work per datagram: cache, answering, policy,
# counters; not the syscalls), sends the first N (default 100000) queries of
# each mix with `levee perf` at 20k q/s, stops the server and prints
# instructions per answered query:
#
#   mix        queries   Ir/query
#
# callgrind counts instructions, not time: the figure repeats for the same
# binary and inputs whatever else the machine does, so two binaries can be
# compared on a busy machine. Rate limiting is off (as in the peer benchmark's
# adapter, bench/levee-start.sh); everything talks to 127.0.0.1 only.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
LEVEE=${1:-$ROOT/target/release/levee}
N=${2:-100000}
SHARED=${SHARED:-$(cd "$ROOT/../shared" && pwd)}
DATA=${CALLGRIND_DATA:-/tmp/levee-callgrind-data}
PORT=${PORT:-5391}
WORK=$(mktemp -d /tmp/levee-callgrind.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)"; exit 2; }

if [ ! -f "$DATA/queries/referral-100k.txt" ]; then
  python3 "$SHARED/bench/gen_zones.py" --out "$DATA" --tld 100000 --hosts 100000 >/dev/null
fi
mkdir -p "$WORK/zones"
cp "$DATA"/zonesets/small/*.zone "$DATA"/zonesets/tld100k/*.zone "$WORK/zones/"

cat >"$WORK/levee.toml" <<CONF
version = 1
[server]
listen = ["127.0.0.1:$PORT"]
threads = 1
zones-dir = "$WORK/zones"
[rate-limit]
enabled = false
[overload]
enabled = false
CONF

wait_port() {
  for _ in $(seq 1 600); do
    if dig +time=1 +tries=1 @127.0.0.1 -p "$PORT" example.com SOA 2>/dev/null | grep -q 'status: NOERROR'; then
      return 0
    fi
    sleep 0.5
  done
  echo "server did not come up"; return 1
}

printf '%-14s %9s %9s\n' mix queries Ir/query
for mix in hit-small nxdomain referral-100k; do
  head -n "$N" "$DATA/queries/$mix.txt" >"$WORK/q.txt"
  out="$WORK/callgrind.$mix"
  valgrind --tool=callgrind --callgrind-out-file="$out" \
    --toggle-collect='*as levee_io::udp::UdpHandler>::handle' \
    "$LEVEE" serve --config "$WORK/levee.toml" >"$WORK/log.$mix" 2>&1 &
  pid=$!
  wait_port
  "$LEVEE" perf -s 127.0.0.1 -p "$PORT" -d "$WORK/q.txt" -Q 20000 -n "$N" -l 120 --json >"$WORK/perf.$mix" 2>/dev/null
  kill -TERM "$pid"; wait "$pid" || true
  answered=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["answered"])' "$WORK/perf.$mix")
  ir=$(callgrind_annotate "$out" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",","",$1); print $1}')
  python3 -c 'import sys; ir,n=int(sys.argv[2]),int(sys.argv[3]); print(f"{sys.argv[1]:<14} {n:>9} {ir/n:>9.0f}")' "$mix" "$ir" "$answered"
done
