#!/bin/bash
# Dynamic update (RFC 2136): levee against BIND 9 with nsupdate and knsupdate
# (tests/update/differential.py). Needs bind9, bind9-dnsutils, knot-dnsutils;
# LEVEE_BIN (default: target/release/levee). Fixed ports 5481-5482: run under
# `flock /tmp/levee-sys.lock`. About 30 seconds; stopped after 300.
set -euo pipefail
cd "$(dirname "$0")/../.."
export LEVEE_BIN=${LEVEE_BIN:-${CARGO_TARGET_DIR:-$PWD/target}/release/levee}
exec timeout 300 python3 tests/update/differential.py "$@"
