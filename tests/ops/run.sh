#!/bin/bash
# The operator surface against the release binary (run by .ci/run):
#  1. /metrics after a known sequence of queries, parsed by Python's
#     prometheus_client (check_metrics.py);
#  2. the dashboard in headless Chromium while traffic flows
#     (dashboard.mjs, playwright-core with Debian's /usr/bin/chromium), with
#     the read token given in the URL fragment as an operator would;
#     the screenshot goes to $OPS_OUT (default: /tmp/levee-ops-out);
#  3. cross-origin POSTs, cross-origin reads and DNS rebinding from real
#     Chromium are refused, the dashboard's own origin with a write token
#     is not (csrf.mjs; an attacker page on 127.0.0.1:5962).
# Needs: chromium (apt), node + npm, python3-dnspython, prometheus_client (pip).
# Ports: 127.0.0.1:5960 (DNS), 127.0.0.1:5961 (management), 127.0.0.1:5962 (csrf.mjs's attacker page).
set -euo pipefail
cd "$(dirname "$0")"
HERE=$PWD
LEVEE_BIN=${LEVEE_BIN:?set LEVEE_BIN to the levee binary}
WORK=$(mktemp -d /tmp/levee-ops.XXXXXX)
OUT=${OPS_OUT:-/tmp/levee-ops-out}
mkdir -p "$OUT"
PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

mkdir -p "$WORK/zones"
cat > "$WORK/zones/calm.test.zone" <<'Z'
$ORIGIN calm.test.
$TTL 300
@    SOA ns1 hostmaster 7 3600 600 86400 60
@    NS  ns1
ns1  A   192.0.2.1
www  A   192.0.2.80
Z
cat > "$WORK/zones/attacked.test.zone" <<'Z'
$ORIGIN attacked.test.
$TTL 300
@    SOA ns1 hostmaster 2026112501 3600 600 86400 60
@    NS  ns1
ns1  A   192.0.2.1
www  A   192.0.2.81
Z
# Management tokens (issue 16): random per run, in files only the owner reads.
READ_TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
WRITE_TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
export READ_TOKEN WRITE_TOKEN
( umask 077; echo "$READ_TOKEN" > "$WORK/read.token"; echo "$WRITE_TOKEN" > "$WORK/write.token" )
cat > "$WORK/levee.toml" <<T
[server]
listen = ["127.0.0.1:5960"]
threads = 2
zones-dir = "$WORK/zones"
[rate-limit]
enabled = false
[management]
listen = "127.0.0.1:5961"
[[management.token]]
scope = "read"
file = "read.token"
[[management.token]]
scope = "write"
file = "write.token"
T

start() {
    "$LEVEE_BIN" serve --config "$WORK/levee.toml" 2>"$WORK/levee.log" &
    PID=$!
    for _ in $(seq 100); do
        grep -q "ready" "$WORK/levee.log" 2>/dev/null && return 0
        sleep 0.1
    done
    cat "$WORK/levee.log"; echo "levee did not start"; exit 1
}
stop() { kill "$PID"; wait "$PID" || true; PID=; }

echo "--- /metrics with prometheus_client"
start
python3 "$HERE/check_metrics.py" 127.0.0.1:5960 127.0.0.1:5961
stop

echo "--- dashboard in headless Chromium"
[ -x /usr/bin/chromium ] || { echo "FAIL: /usr/bin/chromium missing (apt-get install chromium)"; exit 1; }
[ -d node_modules/playwright-core ] || npm install --no-audit --no-fund --silent
start
node dashboard.mjs 127.0.0.1:5960 127.0.0.1:5961 "$OUT/dashboard.png"
stop
echo "screenshot: $OUT/dashboard.png"

echo "--- cross-origin requests and DNS rebinding in headless Chromium"
start
node csrf.mjs 127.0.0.1:5961 5962
stop
