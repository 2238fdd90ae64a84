#!/bin/bash
# Issue 6, "done when" 4: does watching the server cost query throughput?
# Runs levee (release) pinned to CPU 0 with one UDP worker and dnsperf on
# CPU 1, alternating runs without and with observers: a scraper fetching
# /metrics 10 times a second and the dashboard open in headless Chromium
# (which polls /api/live 2.5 times a second). Prints QPS per run and the
# mean difference. Loopback only, port 5970 (DNS) and 5971 (management);
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
[rate-limit]
enabled = false
[management]
listen = "127.0.0.1:5971"
T
# Answers, NODATA and NXDOMAIN from the built-in example.com.
for i in $(seq 1 10); do echo "host$i.example.com A"; done > "$WORK/q.txt"
echo "www.example.com AAAA" >> "$WORK/q.txt"
echo "www.example.com TXT" >> "$WORK/q.txt"
echo "nope.example.com A" >> "$WORK/q.txt"

taskset -c 0 "$LEVEE_BIN" serve --config "$WORK/levee.toml" 2>"$WORK/levee.log" &
PIDS+=($!)
for _ in $(seq 100); do grep -q ready "$WORK/levee.log" && break; sleep 0.1; done

observers_on() {
    ( end=$((SECONDS + SECS + 5)); while [ $SECONDS -lt $end ]; do
        curl -s -o /dev/null http://127.0.0.1:5971/metrics; sleep 0.1; done ) &
    SCRAPER=$!
    taskset -c 1 node "$HERE/watch.mjs" 127.0.0.1:5971 $((SECS + 5)) &
    BROWSER=$!
    sleep 3
}
observers_off() { kill "$SCRAPER" 2>/dev/null || true; wait "$SCRAPER" "$BROWSER" 2>/dev/null || true; }

run() {
    taskset -c 1 dnsperf -s 127.0.0.1 -p 5970 -d "$WORK/q.txt" -l "$SECS" -c 8 -q 200 2>/dev/null \
        | awk '/Queries per second/ {print $4}'
}

off=(); on=()
for r in $(seq "$RUNS"); do
    off+=("$(run)")
    observers_on; on+=("$(run)"); observers_off
    echo "run $r: without ${off[-1]} qps, with scraper+dashboard ${on[-1]} qps"
done
python3 - "${off[*]}" "${on[*]}" <<'P'
import sys, statistics as st
off = [float(x) for x in sys.argv[1].split()]
on = [float(x) for x in sys.argv[2].split()]
d = (st.mean(on) - st.mean(off)) / st.mean(off) * 100
print(f"without: mean {st.mean(off):.0f} qps (min {min(off):.0f}, max {max(off):.0f})")
print(f"with:    mean {st.mean(on):.0f} qps (min {min(on):.0f}, max {max(on):.0f})")
print(f"difference: {d:+.2f} %")
P
