#!/bin/bash
# Catalog zones (RFC 9432) interop: levee producing for Knot DNS 3.2, BIND 9.18
# and NSD 4.12 consumers (a member reset with NSD too), Knot 3.2 and Knot 3.4
# producing for levee. NSD 4.12 and Knot 3.4 come from Debian 13's chroot
# (tests/lib/trixie.sh, made here if missing; root). Needs knot, bind9,
# python3-dnspython; LEVEE_BIN (default: target/release/levee).
# Fixed ports 5850-5855: run under `flock /tmp/levee-sys.lock`. About 1 minute.
set -euo pipefail
cd "$(dirname "$0")/../.."
export LEVEE_BIN=${LEVEE_BIN:-${CARGO_TARGET_DIR:-$PWD/target}/release/levee}
exec timeout 300 python3 tests/catalog/catalog.py "$@"
