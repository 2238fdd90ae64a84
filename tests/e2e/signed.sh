#!/bin/bash
# Issue 18, "done when" 1 (its NSEC and NSEC3 part): the shared e2e bed
# (../shared/e2e: a local signed root, unbound and kresd validating,
# Zonemaster, DNSViz) with levee as the server under test, where levee is
# given example. (NSEC3, one combined ECDSA key), alpha.example. (NSEC,
# ECDSA P-256 KSK+ZSK) and beta.example. (NSEC3, Ed25519 KSK+ZSK) UNSIGNED
# and signs them itself; broken.example. and dsmismatch.example. stay
# pre-signed by the bed (dnssec-signzone), as in the plain e2e run.
#
# The keys are made beforehand by `levee sign-zone` into a key directory
# (levee's key-store layout); the DS it prints goes into the parents (the
# root for example., example. for alpha and beta) through the bed's own
# zone flow (signed-zones.sh, sourced by a copy of mkzones.sh). Each of the
# two levee instances (ns1, ns2) gets a copy of the key directory as its
# storage and a configuration with the matching [[dnssec-policy]] per zone
# (signed-sut.sh). Then signed-inside.sh runs the bed's resolvers.sh (every
# case through both resolvers must pass), zonemaster.sh and dnsviz.sh (no
# message beyond the bed's knotd baseline), and checks that what is served
# is levee's signing: the files levee loads have no DNSSEC record, the
# DNSKEYs served equal the keys of the key directory (public keys derived
# by openssl from the private keys), the parents' DS are those of the
# served KSKs, the signatures are by those keys, levee logged signing and
# made no key of its own; then a name added to alpha.example. and
# beta.example. (serial kept) and SIGHUP: both instances re-sign and raise
# the serial, and both resolvers validate the new name and a denial from
# the new chain.
#
# With --compact, alpha.example. and beta.example. are signed with compact
# denial (RFC 9824, `denial = "compact"`) instead of NSEC and NSEC3: the
# bed's resolver cases that expect NXDOMAIN in those two zones expect what
# RFC 9824 §3 says a resolver that does not set the CO flag gets instead,
# NOERROR with no answer, still AD=1; the checks of what levee serves ask
# for the NSEC owned by the name with NXNAME in its bitmap.
#
# Root only (port 53, unshare); run under `flock /tmp/levee-sys.lock`.
# Bounded: the whole run is killed after 600 s (it takes about 1-2 min).
#   LEVEE_BIN=target/release/levee SHARED=../shared tests/e2e/signed.sh [--compact]
set -euo pipefail
export LEVEE_E2E_COMPACT=0
case "${1:-}" in
    --compact) LEVEE_E2E_COMPACT=1 ;;
    "") ;;
    *) echo "usage: tests/e2e/signed.sh [--compact]" >&2; exit 2 ;;
esac
cd "$(dirname "$0")/../.."
ROOT=$PWD
SHARED=${SHARED:-$(cd "$ROOT/../shared" && pwd)}
export LEVEE_BIN=${LEVEE_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/levee}
LEVEE_BIN=$(cd "$(dirname "$LEVEE_BIN")" && pwd)/$(basename "$LEVEE_BIN")
[ "$(id -u)" = 0 ] || { echo "tests/e2e/signed.sh: must run as root (port 53, unshare)" >&2; exit 2; }
[ -x "$LEVEE_BIN" ] || { echo "tests/e2e/signed.sh: no levee binary at $LEVEE_BIN" >&2; exit 2; }
for t in named-compilezone ldns-verify-zone dnssec-dsfromkey openssl dig unbound kresd zonemaster-cli dnsviz knotd; do
    command -v "$t" >/dev/null || { echo "tests/e2e/signed.sh: $t is not installed" >&2; exit 2; }
done

WORK=$(mktemp -d /tmp/levee-e2e-signed.XXXXXX)
BED=$WORK/e2e
cp -r "$SHARED/e2e" "$BED"
chmod -R u+w "$BED"
rm -rf "$BED/run" "$BED/results"
cp tests/e2e/signed-zones.sh tests/e2e/signed-sut.sh tests/e2e/signed-inside.sh "$BED/"
# The hook goes in right after the bed defines keygen() and sign().
grep -q '^# --- leaves' "$BED/mkzones.sh" || { echo "the bed's mkzones.sh has no '# --- leaves' line to hook into" >&2; exit 2; }
sed -i '/^# --- leaves/i . "$E2E_DIR/signed-zones.sh"' "$BED/mkzones.sh"
grep -q '^\. "\$E2E_DIR/signed-zones.sh"$' "$BED/mkzones.sh" || { echo "hooking into mkzones.sh failed" >&2; exit 2; }

export E2E_SUT=levee
export LEVEE_CMD="$BED/signed-sut.sh {addr} {run_dir} {zones_dir}"
rc=0
timeout -k 10 600 "$BED/signed-inside.sh" || rc=$?
if [ "$rc" = 0 ]; then
    rm -rf "$WORK"
else
    [ "$rc" = 124 ] && echo "tests/e2e/signed.sh: timed out after 600 s" >&2
    echo "tests/e2e/signed.sh: FAILED (exit $rc); results and logs kept in $BED/results and $BED/run" >&2
fi
exit "$rc"
