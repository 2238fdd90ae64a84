#!/bin/bash
# Issue 18, "done when" 1 (its rollover part): the shared e2e bed
# (../shared/e2e: a local signed root, unbound and kresd validating,
# DNSViz) with levee as the server under test, set up as by
# tests/e2e/signed.sh (levee signs example., alpha.example. and
# beta.example. from unsigned files), with alpha.example.'s TTLs cut to
# 5 s and its policy's timers to seconds (rollover-zones.sh,
# rollover-sut.sh); then rollover-inside.sh runs a ZSK, a KSK and an
# algorithm rollover (P-256 to Ed25519) of alpha.example., the script
# playing the registry of example. (the CDS copied into the DS), with
# unbound, kresd and DNSViz checking every state on the way.
#
# Root only (port 53, unshare); run under `flock /tmp/levee-sys.lock`.
# Bounded: the whole run is killed after 540 s (it takes about 3-5 min).
#   LEVEE_BIN=target/release/levee SHARED=../shared tests/e2e/rollover.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
SHARED=${SHARED:-$(cd "$ROOT/../shared" && pwd)}
export LEVEE_BIN=${LEVEE_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/levee}
LEVEE_BIN=$(cd "$(dirname "$LEVEE_BIN")" && pwd)/$(basename "$LEVEE_BIN")
[ "$(id -u)" = 0 ] || { echo "tests/e2e/rollover.sh: must run as root (port 53, unshare)" >&2; exit 2; }
[ -x "$LEVEE_BIN" ] || { echo "tests/e2e/rollover.sh: no levee binary at $LEVEE_BIN" >&2; exit 2; }
for t in named-compilezone ldns-verify-zone dnssec-dsfromkey dig unbound kresd dnsviz knotd; do
    command -v "$t" >/dev/null || { echo "tests/e2e/rollover.sh: $t is not installed" >&2; exit 2; }
done

WORK=$(mktemp -d /tmp/levee-e2e-rollover.XXXXXX)
BED=$WORK/e2e
cp -r "$SHARED/e2e" "$BED"
chmod -R u+w "$BED"
rm -rf "$BED/run" "$BED/results"
cp tests/e2e/signed-zones.sh tests/e2e/rollover-zones.sh tests/e2e/rollover-sut.sh tests/e2e/rollover-inside.sh "$BED/"
grep -q '^# --- leaves' "$BED/mkzones.sh" || { echo "the bed's mkzones.sh has no '# --- leaves' line to hook into" >&2; exit 2; }
sed -i '/^# --- leaves/i . "$E2E_DIR/signed-zones.sh"\n. "$E2E_DIR/rollover-zones.sh"' "$BED/mkzones.sh"
grep -q '^\. "\$E2E_DIR/rollover-zones.sh"$' "$BED/mkzones.sh" || { echo "hooking into mkzones.sh failed" >&2; exit 2; }

export E2E_SUT=levee
export LEVEE_CMD="$BED/rollover-sut.sh {addr} {run_dir} {zones_dir}"
rc=0
timeout -k 10 540 "$BED/rollover-inside.sh" || rc=$?
if [ "$rc" = 0 ]; then
    rm -rf "$WORK"
else
    [ "$rc" = 124 ] && echo "tests/e2e/rollover.sh: timed out after 540 s" >&2
    echo "tests/e2e/rollover.sh: FAILED (exit $rc); results and logs kept in $BED/results and $BED/run" >&2
fi
exit "$rc"
