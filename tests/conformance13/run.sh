#!/bin/bash
# The shared conformance harness against Debian 13's peers (Knot 3.4.6,
# NSD 4.12, BIND 9.20 from the chroot of tests/lib/trixie.sh) instead of
# the host's Debian 12 ones.
#
#   flock /tmp/levee-sys.lock tests/conformance13/run.sh [calibrate|levee|all] [public|levee]
#
#   calibrate   the three Debian 13 references against each other
#   levee       levee (LEVEE_BIN, default target/release then target/debug)
#               against them; exit 1 on a hard difference outside
#               tests/conformance13/known-differences.txt
#   all         both (default)
#   sizes       TCP response lengths of levee and the references for the
#               suite's plain questions (tests/conformance13/sizes.py;
#               the harness compares contents, not lengths); informational
#   public      the shared public suite (default); levee = tests/golden/levee
#
# A copy of ../shared/conformance (SHARED) goes to $CONFORMANCE13_OUT (default
# /tmp/levee-conformance13); the harness itself is not modified: wrapper
# scripts named knotd, nsd and named, first in PATH, run the chroot's
# /usr/sbin binaries through `tests/lib/trixie.sh run` (which keeps the
# PID, so the harness's SIGTERM reaches the daemon). Skips (exit 0, with a
# message) when the chroot is absent or when not root. Bounded: the whole
# harness run stops after BUDGET seconds (default 170; SIGINT first, so
# diff.py stops the servers it started).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
SHARED=${SHARED:-$REPO/../shared}
OUT=${CONFORMANCE13_OUT:-/tmp/levee-conformance13}
BUDGET=${BUDGET:-170}
MODE=${1:-all}
SUITE=${2:-public}
TRIXIE=$REPO/tests/lib/trixie.sh

if [ "$(id -u)" != 0 ]; then echo "conformance13: SKIP: needs root (chroot)"; exit 0; fi
if ! "$TRIXIE" run /usr/sbin/knotd --version >/dev/null 2>&1; then
    echo "conformance13: SKIP: no Debian 13 chroot ($("$TRIXIE" root)); make it with: tests/lib/trixie.sh setup"
    exit 0
fi
if [ -z "${LEVEE_BIN:-}" ]; then
    for b in "$REPO/target/release/levee" "$REPO/target/debug/levee"; do
        [ -x "$b" ] && { LEVEE_BIN=$b; break; }
    done
fi

rm -rf "$OUT"; mkdir -p "$OUT/bin"
cp -r "$SHARED/conformance" "$OUT/conformance"
chmod -R u+w "$OUT/conformance"
# Absolute paths inside the chroot: /tmp is shared with it, and a bare
# name would find these wrappers again through PATH.
for b in knotd nsd named; do
    printf '#!/bin/sh\nexec %s run /usr/sbin/%s "$@"\n' "$TRIXIE" "$b" >"$OUT/bin/$b"
    chmod 755 "$OUT/bin/$b"
done
"$TRIXIE" versions 2>/dev/null | head -4 | sed 's/^/conformance13: /' || true
export PATH="$OUT/bin:$PATH"
C=$OUT/conformance
SUITEARG=public
if [ "$SUITE" = levee ]; then
    mkdir -p "$C/hidden"
    cp -r "$REPO/tests/golden/levee/zones" "$REPO/tests/golden/levee/queries" "$C/hidden/"
    SUITEARG=hidden
fi
RES=$C/results
[ "$SUITEARG" = hidden ] && RES=$C/hidden/results

rc=0
if [ "$MODE" = calibrate ] || [ "$MODE" = all ]; then
    echo "conformance13: calibrating the Debian 13 references ($SUITE suite)"
    (cd "$C" && timeout -s INT -k 10 "$BUDGET" python3 diff.py --suite "$SUITEARG" >"$OUT/calibrate.log" 2>&1) ||
        { echo "conformance13: calibration failed"; tail -20 "$OUT/calibrate.log"; exit 2; }
    grep -A6 '^| as SUT' "$RES/calibration/summary.md" 2>/dev/null | head -8 || tail -20 "$OUT/calibrate.log"
fi
if [ "$MODE" = levee ] || [ "$MODE" = all ]; then
    [ -n "${LEVEE_BIN:-}" ] || { echo "conformance13: no levee binary (LEVEE_BIN, or cargo build)"; exit 2; }
    echo "conformance13: levee ($LEVEE_BIN) against the Debian 13 references ($SUITE suite)"
    r=0; (cd "$C" && LEVEE_BIN=$LEVEE_BIN timeout -s INT -k 10 "$BUDGET" python3 diff.py --suite "$SUITEARG" --sut levee \
        >"$OUT/levee.log" 2>&1) || r=$?
    [ "$r" -le 1 ] || { echo "conformance13: harness failed (exit $r)"; tail -20 "$OUT/levee.log"; exit 2; }
    grep -A4 '^| server' "$RES/levee/summary.md" 2>/dev/null | head -6 || true
    python3 "$REPO/.ci/check-conformance.py" "$RES/levee/report.json" \
        "$HERE/known-differences.txt" || rc=1
fi
if [ "$MODE" = sizes ]; then
    [ -n "${LEVEE_BIN:-}" ] || { echo "conformance13: no levee binary (LEVEE_BIN, or cargo build)"; exit 2; }
    SD=$C; [ "$SUITEARG" = hidden ] && SD=$C/hidden
    timeout -s INT -k 10 "$BUDGET" python3 "$HERE/sizes.py" "$C" "$SD" "$LEVEE_BIN" || exit 2
fi
echo "conformance13: reports under $OUT"
exit $rc
