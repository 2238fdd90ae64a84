#!/bin/bash
# Provisioning at scale (issue 19, check 4): see tests/provision/scale.py.
#   flock /tmp/levee-sys.lock tests/provision/scale.sh --api 10000          (a) REST API -> catalog -> secondary
#   flock /tmp/levee-sys.lock tests/provision/scale.sh --small 100000       (b) levee, Knot, NSD: start-up and PSS
# Fixed addresses 127.55.0.1-4 port 53 (and 8053): run it under the lock.
# Builds the release binary unless LEVEE names one. Needs python3 with
# dnspython; knotd and nsd for --small (--skip knot,nsd leaves them out).
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -z "${LEVEE:-}" ]; then
    cargo build --release -p levee >&2
    LEVEE=${CARGO_TARGET_DIR:-$PWD/target}/release/levee
fi
export LEVEE
exec timeout -k 10 3600 python3 tests/provision/scale.py "$@"
