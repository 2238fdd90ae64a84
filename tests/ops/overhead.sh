#!/bin/bash
# Issue 6, "done when" 4: does watching the server cost query throughput?
# Runs levee (release) pinned to CPU 0 with one UDP worker and dnsperf on
# CPU 1, alternating runs without and with observers: a scraper fetching
# /metrics 10 times a second and the dashboard open in headless Chromium
# (which polls /api/live 2.5 times a second). Prints, per run, the QPS and
# the QPS per server core (queries answered / CPU seconds levee used,
# which includes serving the scrapes: every levee thread is on CPU 0),
# and the mean differences. The observers share CPU 1 with dnsperf, so
# raw QPS can drop because the load generator is slowed; QPS per core is
# the figure issue 6 asks about. Loopback only, port 5970 (DNS) and 5971 (management);
# every run bounded by dnsperf -l; the whole thing under
# flock /tmp/levee-bench.lock.
#
# usage: LEVEE_BIN=target/release/levee tests/ops/overhead.sh [RUNS] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")"
HERE=$PWD
LEVEE_BIN=${LEVEE_BIN:?set LEVEE_BIN}
RUNS=${1:-3}
SECS=${2:-10}
WORK=$(mktemp -d /tmp/levee-ops-overhead.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

cat > "$WORK/levee.toml" <<T
[server]
listen = ["127.0.0.1:5970"]
threads = 1
zones-dir = "$(cd "$HERE/../../examples/zones" && pwd)"
[rate-limit]
enabled = false
[overload]
enabled = false
[management]
listen = "127.0.0.1:5971"
[[management.token]]
scope = "read"
file = "read.token"
T
export READ_TOKEN=overhead-read-token-$$-$RANDOM
( umask 077; echo "$READ_TOKEN" > "$WORK/read.token" )
# Answers, NODATA and NXDOMAIN from the built-in example.com.
for i in $(seq 1 10); do echo "host$i.example.com A"; done > "$WORK/q.txt"
echo "www.example.com AAAA" >> "$WORK/q.txt"
echo "www.example.com TXT" >> "$WORK/q.txt"
echo "nope.example.com A" >> "$WORK/q.txt"

taskset -c 0 "$LEVEE_BIN" serve --config "$WORK/levee.toml" 2>"$WORK/levee.log" &
LPID=$!
PIDS+=($LPID)
TICK=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$LPID/stat"; }
for _ in $(seq 100); do grep -qs ready "$WORK/levee.log" && break; sleep 0.1; done
dig +short +tries=1 @127.0.0.1 -p 5970 host1.example.com | grep -q 198.51.100.1 || { cat "$WORK/levee.log"; echo "levee does not answer"; exit 1; }

observers_on() {
    ( end=$((SECONDS + SECS + 5)); while [ $SECONDS -lt $end ]; do
        curl -s -o /dev/null http://127.0.0.1:5971/metrics; sleep 0.1; done ) &
    SCRAPER=$!
    taskset -c 1 node "$HERE/watch.mjs" 127.0.0.1:5971 $((SECS + 5)) &
    BROWSER=$!
    sleep 3
}
observers_off() { kill "$SCRAPER" 2>/dev/null || true; wait "$SCRAPER" "$BROWSER" 2>/dev/null || true; }

# Prints "QPS QPS_PER_CORE" for one bounded dnsperf run.
run() {
    local c0 c1 q
    c0=$(cpu)
    q=$(taskset -c 1 dnsperf -s 127.0.0.1 -p 5970 -d "$WORK/q.txt" -l "$SECS" -c 8 -q 200 2>/dev/null \
        | awk '/Queries completed/ {print $3}')
    c1=$(cpu)
    python3 -c "q=$q; s=$SECS; cpu=($c1-$c0)/$TICK; print(f'{q/s:.0f} {q/max(cpu,1e-3):.0f}')"
}

off=(); on=()
for r in $(seq "$RUNS"); do
    off+=("$(run)")
    observers_on; on+=("$(run)"); observers_off
    echo "run $r: without: ${off[-1]% *} qps, ${off[-1]#* } per core; with scraper+dashboard: ${on[-1]% *} qps, ${on[-1]#* } per core"
done
python3 - "$(printf '%s\n' "${off[@]}")" "$(printf '%s\n' "${on[@]}")" <<'P'
import sys, statistics as st
off = [tuple(map(float, l.split())) for l in sys.argv[1].splitlines() if l.strip()]
on = [tuple(map(float, l.split())) for l in sys.argv[2].splitlines() if l.strip()]
for i, what in ((0, "QPS"), (1, "QPS per core")):
    a, b = st.mean(x[i] for x in off), st.mean(x[i] for x in on)
    print(f"{what}: without {a:.0f}, with {b:.0f}, difference {(b - a) / a * 100:+.2f} %")
P
