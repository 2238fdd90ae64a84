#!/bin/bash
# Signing speed (issue 18, check 3): the benchmark's 1M-delegation TLD
# signed from scratch with NSEC3 opt-out (ECDSA P-256, KSK+ZSK, no extra
# iterations, no salt) by levee (`levee sign-zone`, the daemon's signer),
# BIND (`dnssec-signzone`, post-signing verification off: -P) and Knot DNS
# (`knotc -b zone-sign` on the loaded zone), one after the other, on this
# machine; wall and CPU seconds of each. Then levee's re-signing of the
# same zone after 1,000 changes (the previous signed version given), as a
# reload does it.
#
#   flock /tmp/levee-bench.lock tests/sign/bench.sh [ZONE]
#
# ZONE defaults to the benchmark's tld1m (made with ../shared/bench/gen_zones.py
# if missing). Loopback only (knotd on 127.0.0.1:5395); everything it starts
# it stops.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
LEVEE=${LEVEE_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/levee}
W=$(mktemp -d /tmp/levee-signbench.XXXXXX)
trap 'knotc -c "$W/knot.conf" stop >/dev/null 2>&1 || true; sleep 0.5; rm -rf "$W"' EXIT
ZONE=${1:-}
if [ -z "$ZONE" ]; then
    ZONE=/tmp/levee-signbench-data/zonesets/tld1m/tld.zone
    [ -f "$ZONE" ] || python3 "$ROOT/../shared/bench/gen_zones.py" --out /tmp/levee-signbench-data --tld 1000000 >/dev/null
fi
echo "zone: $ZONE ($(wc -l < "$ZONE") lines), $(nproc) cores"
timed() { # timed NAME CMD...: prints wall and user+sys seconds
    local name=$1; shift
    /usr/bin/time -f "$name: %e s wall, %U s user, %S s sys, %M KiB peak" "$@" 2>&1 >/dev/null | tail -1
}

# levee: keys made first (not timed), then the timed signing.
"$LEVEE" sign-zone --keys "$W/lk" --split --denial nsec3 --opt-out -o "$W/levee.signed" "$ZONE" 2>/dev/null
timed "levee sign-zone" "$LEVEE" sign-zone --keys "$W/lk" --denial nsec3 --opt-out -o "$W/levee.signed" "$ZONE"

# BIND
mkdir -p "$W/bk"
dnssec-keygen -q -K "$W/bk" -a ECDSAP256SHA256 -f KSK -n ZONE tld. >/dev/null
dnssec-keygen -q -K "$W/bk" -a ECDSAP256SHA256 -n ZONE tld. >/dev/null
cp "$ZONE" "$W/bind.zone"
timed "dnssec-signzone" dnssec-signzone -q -d "$W" -S -K "$W/bk" -3 - -A -H 0 -P -o tld. -f "$W/bind.signed" "$W/bind.zone"

# Knot: load (and first signing) untimed, then a timed re-sign from scratch.
mkdir -p "$W/kdb" "$W/kkeys"
cp "$ZONE" "$W/tld.zone"
cat > "$W/knot.conf" <<CONF
server:
    rundir: "$W"
    listen: 127.0.0.1@5395
database:
    storage: "$W/kdb"
keystore:
  - id: ks
    backend: pem
    config: "$W/kkeys"
policy:
  - id: p
    algorithm: ecdsap256sha256
    nsec3: on
    nsec3-opt-out: on
    nsec3-iterations: 0
    nsec3-salt-length: 0
    keystore: ks
template:
  - id: default
    storage: "$W"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
zone:
  - domain: tld.
    file: tld.zone
    dnssec-signing: on
    dnssec-policy: p
CONF
knotd -c "$W/knot.conf" -d
for _ in $(seq 1 600); do
    knotc -c "$W/knot.conf" zone-status tld. 2>/dev/null | grep -q "serial: [0-9]" && break
    sleep 0.5
done
# The first signing finishes before the zone answers; then sign again.
for _ in $(seq 1 600); do
    [ -n "$(dig +short +norec -p 5395 @127.0.0.1 tld. DNSKEY 2>/dev/null)" ] && break
    sleep 0.5
done
KPID=$(cat "$W/knot.pid" 2>/dev/null || pgrep -f "knotd -c $W/knot.conf" | head -1)
k0=$(awk '{print $14+$15}' /proc/"$KPID"/stat)
t0=$(date +%s.%N)
knotc -c "$W/knot.conf" -b -t 600 zone-sign tld. >/dev/null
t1=$(date +%s.%N)
k1=$(awk '{print $14+$15}' /proc/"$KPID"/stat)
printf 'knotc zone-sign: %.2f s wall, %.2f s CPU (user+sys of knotd)\n' "$(echo "$t1 - $t0" | bc)" "$(echo "($k1 - $k0) / $(getconf CLK_TCK)" | bc -l)"
knotc -c "$W/knot.conf" stop >/dev/null

# levee: 1,000 changes re-signed with the previous version's signatures kept.
python3 - "$ZONE" "$W/changed.zone" <<'PY'
import sys
src, dst = sys.argv[1], sys.argv[2]
n = 0
with open(src) as f, open(dst, "w") as o:
    for line in f:
        p = line.split()
        if n < 1000 and len(p) >= 4 and p[-2] == "A" and p[0].startswith("ns1."):
            line = " ".join(p[:-1]) + f" 198.18.{n // 250}.{n % 250}\n"
            n += 1
        o.write(line)
print(f"{n} A records changed", file=sys.stderr)
PY
mkdir -p "$W/ls/keys" && cp -r "$W/lk/tld" "$W/ls/keys/tld"
cp "$ZONE" "$W/served.zone"
cat > "$W/levee.toml" <<CONF
[server]
listen = ["127.0.0.1:5396"]
storage-dir = "$W/ls"
[[dnssec-policy]]
name = "tld"
split-keys = true
denial = "nsec3"
nsec3-opt-out = true
[[zone]]
name = "tld."
file = "$W/served.zone"
dnssec-signing = true
dnssec-policy = "tld"
CONF
LEVEE_LOG=info "$LEVEE" serve --config "$W/levee.toml" 2> "$W/levee.log" &
LPID=$!
for _ in $(seq 1 600); do grep -q "zone signed" "$W/levee.log" && break; sleep 0.5; done
grep "zone signed" "$W/levee.log" | tail -1 | sed 's/^/levee start: /'
cp "$W/changed.zone" "$W/served.zone"
t0=$(date +%s.%N)
kill -HUP $LPID
for _ in $(seq 1 1200); do grep -q "reload done" "$W/levee.log" && break; sleep 0.05; done
t1=$(date +%s.%N)
grep "zone signed" "$W/levee.log" | tail -1 | sed 's/^/levee reload, 1,000 changes: /'
printf 'levee reload with 1,000 changes, SIGHUP to published: %.2f s\n' "$(echo "$t1 - $t0" | bc)"
kill $LPID; wait $LPID 2>/dev/null || true
