#!/bin/bash
# levee migrate on every Knot DNS and NSD configuration the project's tests
# use (issue 22, check 3), under `flock /tmp/levee-sys.lock` (fixed ports):
#  1. collect.py writes them, each from the code that makes it for the real
#     server (tests/interop, the shared conformance, bench and attack
#     harnesses, from writable copies);
#  2. check.py converts each (exit 0, every listed setting with a real line),
#     serves each converted configuration whose zone files exist on
#     127.0.0.1:5391 and checks every zone's SOA;
#  3. the public conformance suite against levee started from the knot.conf
#     the harness's Knot adapter writes, converted (tests/migrate/knot_sut.py):
#     no hard difference beyond tests/golden/known-differences.txt
#     (class-ch-version).
# LEVEE_BIN: the binary (default target/release/levee); SHARED: ../shared.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
LEVEE=$(readlink -f "${LEVEE_BIN:-target/release/levee}")
SHARED=${SHARED:-$(cd "$ROOT/../shared" && pwd)}
WORK=$(mktemp -d /tmp/levee-migrate.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
for h in conformance bench attack; do
    cp -r "$SHARED/$h" "$WORK/$h"
    chmod -R u+w "$WORK/$h"
done
python3 tests/migrate/collect.py "$WORK/configs" "$WORK/conformance" "$WORK/bench" "$WORK/attack" > "$WORK/list"
echo "configurations: $(wc -l < "$WORK/list")"
timeout 300 python3 tests/migrate/check.py "$LEVEE" 5391 < "$WORK/list"

echo "--- conformance (public suite): levee from the converted knot.conf"
rc=0
(cd "$WORK/conformance" && timeout 600 python3 diff.py --suite public --sut-name levee --out "$WORK/results" \
    --sut-cmd "python3 $ROOT/tests/migrate/knot_sut.py $WORK/conformance $LEVEE {port} {zones_dir} {workdir}") || rc=$?
[ "$rc" -le 1 ] || { echo "conformance harness failed (exit $rc)"; exit 1; }
python3 .ci/check-conformance.py "$WORK/results/report.json" tests/golden/known-differences.txt
echo "migrate: all configurations converted; conformance from the converted knot.conf as expected"
