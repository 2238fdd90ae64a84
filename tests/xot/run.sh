#!/bin/bash
# Zone transfers over TLS (XoT, RFC 9103; issue 21): levee primary, BIND 9.18,
# NSD 4.6 and Knot 3.4 secondaries pulling over TLS (AXFR of a
# 100,000-record zone, then IXFR of a change), levee's certificate checked
# (CA and name; Knot: its key's pin); then a levee secondary pulling the
# same way from BIND's, NSD's and Knot 3.4's DoT listeners; mutual TLS both
# ways (BIND 9.18, Knot 3.4 and NSD 4.12 presenting client certificates to
# levee; Knot 3.4 and NSD 4.12 requiring levee's). Knot 3.4 and NSD 4.12
# come from Debian 13's chroot (tests/lib/trixie.sh; made here if missing,
# as root). See xot.py for the steps. Needs bind9, nsd, openssl,
# python3-dnspython; LEVEE_BIN (default: target/release/levee); ZONE_RECORDS
# (default 100000). Ports 127.0.0.1:5880-5897 and 5900-5913: run under
# `flock /tmp/levee-sys.lock`. Bounded: at most 600 s (3.5 minutes with a debug
# binary on the shared 2-core machine).
set -euo pipefail
cd "$(dirname "$0")/../.."
export LEVEE_BIN=${LEVEE_BIN:-${CARGO_TARGET_DIR:-$PWD/target}/release/levee}
exec timeout 600 python3 tests/xot/xot.py "$@"
