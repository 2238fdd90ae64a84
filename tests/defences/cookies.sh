#!/bin/bash
# Cookie interoperability with real clients (the flood-defence issue's
# acceptance check 3), run by .ci/run:
#  * `dig +cookie` and `kdig +cookie` get a server cookie from levee, and
#    that cookie is valid: sent back, it proves the client's address, so
#    a rate limit of 1 answer per second no longer applies (20 answers in
#    a row, no TC, no BADCOOKIE);
#  * a second levee with the same secret accepts it too; one that only
#    has it as `previous-secret` (a rollover) accepts it; one with another
#    secret does not (the limit applies: TC or BADCOOKIE appear).
# Loopback only, ports 5391-5394; every server is stopped by PID.
set -euo pipefail
LEVEE=${LEVEE_BIN:?set LEVEE_BIN}
WORK=$(mktemp -d /tmp/levee-cookies.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
S1=000102030405060708090a0b0c0d0e0f
S2=f0e0d0c0b0a090807060504030201000
cat > "$WORK/rl.test.zone" <<'Z'
$ORIGIN rl.test.
$TTL 300
@    SOA ns1 hostmaster 1 3600 600 86400 60
@    NS  ns1
ns1  A   192.0.2.1
www  A   192.0.2.80
Z
start() { # port secret [previous]
  local prev=""
  [ -n "${3:-}" ] && prev="previous-secret = \"$3\""
  cat > "$WORK/$1.toml" <<C
[server]
listen = ["127.0.0.1:$1"]
zones-dir = "$WORK"
[rate-limit]
responses-per-second = 1
burst = 1
[cookies]
secret = "$2"
$prev
C
  "$LEVEE" serve --config "$WORK/$1.toml" 2>"$WORK/$1.log" &
  PIDS+=($!)
  for _ in $(seq 50); do
    dig +short +tries=1 +timeout=1 @127.0.0.1 -p "$1" rl.test SOA >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "levee on port $1 did not start"; cat "$WORK/$1.log"; exit 1
}
start 5391 $S1
start 5392 $S1
start 5393 $S2 $S1
start 5394 $S2
sleep 1.5 # let the readiness probes' rate-limit buckets drain

fail=0
# 20 queries with a full cookie; prints "answered limited".
run20() { # tool port cookie
  local ok=0 lim=0 out
  for _ in $(seq 20); do
    if [ "$1" = dig ]; then
      out=$(dig +cookie="$3" +tries=1 +timeout=1 +norec @127.0.0.1 -p "$2" www.rl.test A 2>&1 || true)
    else
      out=$(kdig +cookie="$3" +retry=0 +timeout=1 +norec @127.0.0.1 -p "$2" www.rl.test A 2>&1 || true)
    fi
    if grep -qE "BADCOOKIE|flags:.* tc[ ;]" <<<"$out" || ! grep -q "192.0.2.80" <<<"$out"; then
      lim=$((lim + 1))
    else
      ok=$((ok + 1))
    fi
  done
  echo "$ok $lim"
}
for tool in dig kdig; do
  # Fresh client cookie; the server cookie comes back in the COOKIE line.
  if [ $tool = dig ]; then
    out=$(dig +cookie +norec @127.0.0.1 -p 5391 rl.test SOA)
    cookie=$(sed -n 's/^; COOKIE: \([0-9a-fA-F]*\).*/\1/p' <<<"$out")
  else
    out=$(kdig +cookie +norec @127.0.0.1 -p 5391 rl.test SOA)
    cookie=$(sed -n 's/^;; COOKIE: \([0-9a-fA-F]*\).*/\1/p;s/^ *COOKIE: \([0-9a-fA-F]*\).*/\1/p' <<<"$out" | head -1)
  fi
  if [ ${#cookie} -ne 48 ]; then
    echo "FAIL $tool: no 24-octet client+server cookie in:"; echo "$out"; fail=1; continue
  fi
  for port in 5391 5392 5393; do
    read -r ok lim < <(run20 $tool $port "$cookie")
    if [ "$ok" -eq 20 ]; then echo "ok   $tool cookie from :5391 accepted by :$port (20/20 answered at a 1/s limit)"
    else echo "FAIL $tool cookie from :5391 at :$port: $ok answered, $lim limited"; fail=1; fi
  done
  read -r ok lim < <(run20 $tool 5394 "$cookie")
  if [ "$lim" -ge 5 ]; then echo "ok   $tool cookie from :5391 rejected by :5394 (other secret): $lim/20 limited"
  else echo "FAIL $tool :5394 should not accept the cookie: $ok answered, $lim limited"; fail=1; fi
done
exit $fail
