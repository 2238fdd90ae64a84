#!/bin/bash
# Zone transfers over TLS (XoT, RFC 9103; issue 21): levee primary, BIND 9.18
# and NSD 4.6 secondaries pulling over TLS (AXFR of a 100,000-record zone,
# then IXFR of a change), certificate checked against a throwaway CA; then
# a levee secondary pulling the same way from BIND's and NSD's DoT listeners.
# See xot.py for the steps. Needs bind9, nsd, openssl, python3-dnspython;
# LEVEE_BIN (default: target/release/levee); ZONE_RECORDS (default 100000).
# Ports 127.0.0.1:5880-5892: run under `flock /tmp/levee-sys.lock`.
# Bounded: at most 300 s (about 75 s on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/../.."
export LEVEE_BIN=${LEVEE_BIN:-${CARGO_TARGET_DIR:-$PWD/target}/release/levee}
exec timeout 300 python3 tests/xot/xot.py "$@"
