#!/bin/bash
# A fleet of levee secondaries behind a hidden primary (issue 20): see
# tests/fleet/fleet.py for what it builds, measures and checks.
#   tests/fleet/run.sh [--nodes N] [--zones Z] [--changes C] [--faults] [--mixed] [--timeout S]
#   tests/fleet/run.sh [--nodes N] --catalog Z [--catalog-limit S]   (provisioned through a catalog zone)
# Needs root (network namespaces lvf-*, a bridge lvf-br0, 198.18.100.0/24),
# python3 with dnspython, libfaketime for --faults, knot/nsd/bind9 for --mixed.
# Builds the release binary unless LEVEE names one. One run at a time (a lock);
# everything it creates is removed at exit, also on errors and timeouts.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" != 0 ]; then echo "tests/fleet/run.sh: needs root" >&2; exit 2; fi
if [ -z "${LEVEE:-}" ]; then
    cargo build --release -p levee >&2
    LEVEE=${CARGO_TARGET_DIR:-$PWD/target}/release/levee
fi
export LEVEE
cleanup() {
    # Whatever a killed driver left behind: only names of this test (lvf-).
    for ns in $(ip netns list 2>/dev/null | awk '/^lvf-/ {print $1}'); do ip netns del "$ns" 2>/dev/null || true; done
    ip link del lvf-br0 2>/dev/null || true
}
trap cleanup EXIT
exec 9>/tmp/levee-fleet.lock
flock -w 900 9
# The driver has its own --timeout (default 900 s); `timeout` is the
# backstop. It runs in a process group of its own, so a Ctrl-C or a TERM
# to this script is handed on (the driver then stops its servers and
# removes the namespaces itself), and the trap above cleans up after it.
timeout -k 10 1800 python3 tests/fleet/fleet.py "$@" &
driver=$!
trap 'kill -TERM "$driver" 2>/dev/null' INT TERM
rc=0
while kill -0 "$driver" 2>/dev/null; do
    wait "$driver" && rc=0 || rc=$?
done
exit "$rc"
