#!/bin/bash
# Replication interop (issue 5): levee with Knot DNS, NSD and BIND, both ways, with TSIG.
# Needs knot, nsd, bind9, python3-dnspython; LEVEE_BIN (default: target/release/levee).
# Usage: tests/interop/run.sh [knot] [nsd] [bind]      (about 1 minute)
set -euo pipefail
cd "$(dirname "$0")/../.."
export LEVEE_BIN=${LEVEE_BIN:-${CARGO_TARGET_DIR:-$PWD/target}/release/levee}
exec timeout 600 python3 tests/interop/interop.py "$@"
