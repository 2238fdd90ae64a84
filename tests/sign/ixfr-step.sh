#!/bin/bash
# Issue 18, check 3 (second half): "a 1,000-change IXFR re-signed and
# published in under 1 s". A levee primary serves the benchmark's
# 1M-delegation TLD unsigned; a levee signer pulls it (a secondary zone
# with dnssec-signing: NSEC3 opt-out, KSK+ZSK, ECDSA P-256) and serves it
# signed. 1,000 delegations get a DS at the primary (serial + 1, reload:
# 1,000 secure delegations more, each an RRSIG and an NSEC3 of its own in
# the opt-out chain); the primary sends NOTIFY, the signer takes the IXFR,
# signs the difference on its served version and publishes it.
#
# Printed: the time from the primary serving the new serial to the
# signer serving it signed (NOTIFY, IXFR of 1,002 records, signing,
# publication: what a secondary of the signer waits for), the signer's
# log lines for that step, and a check that one new DS is served signed.
#
#   flock /tmp/levee-bench.lock tests/sign/ixfr-step.sh [ZONE]
#
# Loopback only (ports 5396, 5397); both servers are stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
LEVEE=${LEVEE_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/levee}
ZONE=${1:-/tmp/levee-signbench-data/zonesets/tld1m/tld.zone}
[ -f "$ZONE" ] || python3 "$ROOT/../shared/bench/gen_zones.py" --out /tmp/levee-signbench-data --tld 1000000 >/dev/null
W=$(mktemp -d /tmp/levee-ixfrstep.XXXXXX)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$W"' EXIT
P=5396 S=5397

python3 - "$ZONE" "$W/changed.zone" <<'PY'
import hashlib, sys
src, dst = sys.argv[1], sys.argv[2]
n, soa, seen = 0, False, set()
with open(src) as f, open(dst, "w") as o:
    for line in f:
        p = line.split()
        if not soa and len(p) >= 7 and "SOA" in p:
            i = p.index("SOA")
            p[i + 3] = str(int(p[i + 3]) + 1)
            line, soa = " ".join(p) + "\n", True
        o.write(line)
        # The first 1,000 delegations get a DS: each becomes a secure
        # delegation (an RRSIG over its DS, an NSEC3 of its own in the
        # opt-out chain, its neighbours relinked).
        if n < 1000 and len(p) == 4 and p[2] == "NS" and p[0] != "@" and p[0] not in seen:
            seen.add(p[0])
            digest = hashlib.sha256(p[0].encode()).hexdigest().upper()
            o.write(f"{p[0]} IN DS {10000 + n} 13 2 {digest}\n")
            if n == 0:
                open(dst + ".first", "w").write(p[0] + "\n")
            n += 1
assert soa and n == 1000, (soa, n)
PY
FIRST=$(cat "$W/changed.zone.first").tld.
cp "$ZONE" "$W/primary.zone"
mkdir -p "$W/ps" "$W/ss" && chmod 0700 "$W/ps" "$W/ss"
cat >"$W/primary.toml" <<EOF
version = 1
[server]
listen = ["127.0.0.1:$P"]
storage-dir = "$W/ps"
[[zone]]
name = "tld."
file = "$W/primary.zone"
allow-transfer = ["127.0.0.1"]
notify = ["127.0.0.1:$S"]
EOF
cat >"$W/signer.toml" <<EOF
version = 1
[server]
listen = ["127.0.0.1:$S"]
storage-dir = "$W/ss"
[[dnssec-policy]]
name = "tld"
split-keys = true
denial = "nsec3"
nsec3-opt-out = true
[[zone]]
name = "tld."
primaries = ["127.0.0.1:$P"]
allow-notify = ["127.0.0.1"]
dnssec-signing = true
dnssec-policy = "tld"
EOF
serial() { dig +short +time=1 +tries=1 -p "$1" @127.0.0.1 tld. SOA 2>/dev/null | awk '$3 ~ /^[0-9]+$/ {print $3}'; }
LEVEE_LOG=info "$LEVEE" serve --config "$W/primary.toml" 2>"$W/primary.log" &
PIDS+=($!)
for _ in $(seq 1 600); do [ -n "$(serial $P)" ] && break; sleep 0.5; done
OLD=$(serial $P)
LEVEE_LOG=info "$LEVEE" serve --config "$W/signer.toml" 2>"$W/signer.log" &
PIDS+=($!)
for _ in $(seq 1 1200); do [ "$(serial $S)" = "$OLD" ] && break; sleep 0.5; done
[ "$(serial $S)" = "$OLD" ] || { echo "the signer never served serial $OLD"; tail -5 "$W/signer.log"; exit 1; }
echo "primary and signer serve serial $OLD (signer signed the AXFR in full)"
sleep 3
cp "$W/changed.zone" "$W/primary.zone"
NEW=$((OLD + 1))
kill -HUP "${PIDS[0]}"
# t0: the primary serves the new serial; t1: the signer does.
while [ "$(serial $P)" != "$NEW" ]; do sleep 0.005; done
t0=$(date +%s.%N)
for _ in $(seq 1 6000); do [ "$(serial $S)" = "$NEW" ] && break; sleep 0.005; done
t1=$(date +%s.%N)
[ "$(serial $S)" = "$NEW" ] || { echo "the signer did not reach serial $NEW in 30 s"; tail -5 "$W/signer.log"; exit 1; }
grep -iE "ixfr|sign" "$W/signer.log" | tail -3 | sed 's/^/signer: /'
got=$(dig +dnssec +norec -p $S @127.0.0.1 "$FIRST" DS)
echo "$got" | grep -q "DS.10000 13 2" && echo "$got" | grep -q "RRSIG.DS" || { echo "the signer's $FIRST DS is missing or unsigned:"; echo "$got"; exit 1; }
echo "$FIRST DS at the signer: present and signed"
printf '1,000-change IXFR: primary serving serial %s -> signer serving it signed: %.3f s\n' "$NEW" "$(echo "$t1 - $t0" | bc)"
