#!/bin/bash
# Compact denial under a water-torture flood (issue 18, check 4):
# legitimate success and p99 with compact denial on, and levee's CPU per
# attack query against the same zone pre-signed with NSEC3.
#
#   flock /tmp/levee-bench.lock tests/sign/flood-compact.sh [DURATION]
#
# The shared flood (../shared/attack/flood/flood.c) sends its water-torture
# queries with DO=0, which a compact-denial zone answers unsigned (no
# signature at query time): it would measure nothing of the signer. This
# script runs the shared harness from a writable copy in which that one
# call is changed to set DO (checked: the script stops if the line is not
# found), so every random name asks for a signed denial, as a validating
# resolver relaying the flood does. Everything else (probe, CPU pinning,
# accounting, bounds: a flood lasts at most DURATION s, default 20, and
# at most 30M queries) is the shared harness's.
#
# Two runs, each the harness's `water` scenario against levee (release
# binary, LEVEE_BIN to override):
#   presigned-nsec3  the harness's unsigned example.com signed beforehand by
#                    BIND's dnssec-signzone (ECDSA P-256, NSEC3 with no
#                    extra iterations and no salt), served as a file;
#   compact          the same unsigned zone signed by levee at load with
#                    denial = "compact" (the default budget of online
#                    signatures per second).
# Output: one line per run (legitimate %, p99, server CPU %, attack
# queries sent, read by levee and answered, CPU microseconds per attack
# query read) and the
# compact/presigned ratio of CPU per attack query. Raw JSON stays in
# /tmp/levee-attack-do/results/raw.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
LEVEE=${LEVEE_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/levee}
DURATION=${1:-20}
W=/tmp/levee-attack-do
rm -rf "$W"
cp -r "$ROOT/../shared/attack" "$W"
rm -rf "$W/results" "$W/.build"

# The one change: DO=1 on the water-torture queries.
before='return build_query(p, name, (rnd() \& 3) ? 1 : 28, 1, 1232, 0);'
after='return build_query(p, name, (rnd() \& 3) ? 1 : 28, 1, 1232, 1);'
grep -q "(rnd() & 3) ? 1 : 28, 1, 1232, 0);" "$W/flood/flood.c" || { echo "flood.c changed: water query line not found" >&2; exit 1; }
sed -i "s/$before/$after/" "$W/flood/flood.c"
grep -q "(rnd() & 3) ? 1 : 28, 1, 1232, 1);" "$W/flood/flood.c" || { echo "DO patch did not apply" >&2; exit 1; }
mkdir -p "$W/.build"
gcc -O2 -o "$W/.build/flood" "$W/flood/flood.c"

# The zone: the harness's unsigned example.com, signed two ways.
Z=$W/zonework
mkdir -p "$Z"
bash "$W/zone/make_zone.sh" "$Z" >/dev/null
PRE=$W/zone-presigned
CMP=$W/zone-compact
mkdir -p "$PRE" "$CMP" "$W/storage"
(
    cd "$Z"
    rm -f Kexample.com.*
    dnssec-keygen -q -a ECDSAP256SHA256 -f KSK -n ZONE example.com >/dev/null
    dnssec-keygen -q -a ECDSAP256SHA256 -n ZONE example.com >/dev/null
    cp example.com.unsigned tosign
    for k in Kexample.com.*.key; do cat "$k" >>tosign; done
    dnssec-signzone -q -P -3 - -H 0 -o example.com -K . -e +31536000 -f "$PRE/example.com.zone" tosign >/dev/null
)
cp "$Z/example.com.unsigned" "$CMP/example.com.zone"
cat >"$W/compact.toml" <<EOF
version = 1
[server]
listen = ["127.0.0.1:5571"]
storage-dir = "$W/storage"

[[dnssec-policy]]
name = "compact"
denial = "compact"

[[zone]]
name = "example.com."
file = "$CMP/example.com.zone"
dnssec-signing = true
dnssec-policy = "compact"
EOF
chmod 0700 "$W/storage"

run() { # run NAME CMD: one water run of the harness with levee started as CMD
    local name=$1 cmd=$2
    printf '# written by tests/sign/flood-compact.sh\ncmd_default = %s\ncmd_hardened = %s\n' "$cmd" "$cmd" >"$W/servers/levee.conf"
    (cd "$W" && LEVEE_BIN=$LEVEE LEVEE_ZONEDIR=$Z timeout $((DURATION + 120)) \
        python3 harness.py run --server levee --profile default --scenario water --duration "$DURATION" >/dev/null)
    mv "$W/results/raw/levee__default__water.json" "$W/results/raw/$name.json"
}
run presigned-nsec3 "{levee_bin} serve --listen 127.0.0.1:{port} --zones-dir $PRE"
run compact "{levee_bin} serve --config $W/compact.toml"

python3 - "$W/results/raw" "$DURATION" <<'PY'
import json, sys
raw, dur = sys.argv[1], float(sys.argv[2])
per = {}
for name in ("presigned-nsec3", "compact"):
    r = json.load(open(f"{raw}/{name}.json"))
    if "error" in r:
        sys.exit(f"{name}: {r['error']}")
    p, f = r["probe"], r.get("flood", {})
    sent = f.get("sent", 0)
    # Queries levee read: sent less those the kernel dropped at its socket.
    read = sent - r.get("server_udp_drops", 0)
    answered = f.get("resp_pkts", 0)
    cpu_s = r["server_cpu_pct"] / 100.0 * dur
    us = 1e6 * cpu_s / read if read > 0 else float("nan")
    per[name] = us
    print(f"{name}: legitimate {p.get('ok_pct')} % p99 {p.get('p99_ms')} ms, server CPU {r['server_cpu_pct']} %, "
          f"attack sent {sent} read {read} answered {answered} (nxdomain {f.get('resp_nxdomain')}, tc {f.get('resp_tc')}), "
          f"{us:.2f} CPU us per attack query read, exited={r['server_exited']}")
print(f"CPU per attack query, compact / presigned NSEC3: {per['compact'] / per['presigned-nsec3']:.2f}")
PY
