#!/bin/bash
# levee's adapter for the shared benchmark harness (../shared/bench):
# copy it over servers/levee/start.sh in a writable copy of the harness.
#
#   cp -r ../shared/bench /tmp/benchh && cp bench/levee-start.sh /tmp/benchh/servers/levee/start.sh
#
# It serves every ZONEDIR/<zone>.zone on 127.0.0.1:PORT with THREADS UDP
# workers, with response rate limiting and overload admission turned off:
# the benchmark sends every query from 127.0.0.1, which the rate limiter
# (on by default: 200 responses/s per /24) would rightly hold back, and the
# harness runs NSD with `rrl-ratelimit: 0` for the same reason. The
# response cache stays on (it is not a setting).
#
# LEVEE_CONFIG=FILE uses FILE instead (e.g. bench/defences-measured.toml or
# bench/defences-off.toml); the address, zone directory and thread count
# are still given on the command line, which overrides the file.
. "$(dirname "$0")/../common.sh" "$@"
LEVEE_BIN=${LEVEE_BIN:-levee}
if ! command -v "$LEVEE_BIN" >/dev/null 2>&1; then
  log "levee binary '$LEVEE_BIN' not found (set LEVEE_BIN=/path/to/levee); skipping"
  exit 3
fi
if [ -n "${LEVEE_CONFIG:-}" ]; then
  "$LEVEE_BIN" serve --config "$LEVEE_CONFIG" --listen "127.0.0.1:$PORT" --zones-dir "$ZONEDIR" \
    --threads "$THREADS" </dev/null >"$LOG" 2>&1 &
  PID=$!
  wait_ready "$PID" || exit 1
  echo "$PID"
  exit 0
fi
cat >"$WORKDIR/levee.toml" <<CONF
version = 1
[server]
listen = ["127.0.0.1:$PORT"]
threads = $THREADS
zones-dir = "$ZONEDIR"
[rate-limit]
enabled = false
[overload]
enabled = false
CONF
"$LEVEE_BIN" serve --config "$WORKDIR/levee.toml" </dev/null >"$LOG" 2>&1 &
PID=$!
wait_ready "$PID" || exit 1
echo "$PID"
