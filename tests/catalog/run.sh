#!/bin/bash
# Catalog zones (RFC 9432) interop: levee producing for Knot DNS 3.2 and BIND 9.18
# consumers, Knot producing for levee. NSD 4.6 (Debian 12) has no catalog zones
# (they came in NSD 4.9): the script prints `nsd -v` and says so.
# Needs knot, bind9, python3-dnspython; LEVEE_BIN (default: target/release/levee).
# Fixed ports 5850-5854: run under `flock /tmp/levee-sys.lock`. About 1 minute.
set -euo pipefail
cd "$(dirname "$0")/../.."
export LEVEE_BIN=${LEVEE_BIN:-${CARGO_TARGET_DIR:-$PWD/target}/release/levee}
exec timeout 300 python3 tests/catalog/catalog.py "$@"
