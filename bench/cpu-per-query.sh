#!/bin/bash
# CPU per answered query of a running server, split into user and kernel
# time: loads the server with `levee perf` flat out (on CPU 0) for SECONDS
# and reads the server's utime/stime from /proc before and after.
#
#   bench/cpu-per-query.sh LEVEE_BIN PID PORT QUERYFILE [SECONDS]
#
# Start the server pinned to CPU 1 first (e.g. `taskset -c 1 levee serve ...`
# or the echo floor `taskset -c 1 ./echo PORT 1 127.0.0.1`). Loopback only;
# bounded by SECONDS (default 6). Take the benchmark lock around it.
set -euo pipefail
bin=$1 pid=$2 port=$3 queries=$4 secs=${5:-6}
tck=$(getconf CLK_TCK)
read -r u0 s0 < <(awk '{print $14, $15}' "/proc/$pid/stat")
out=$(taskset -c 0 "$bin" perf -p "$port" -d "$queries" -l "$secs" --json)
read -r u1 s1 < <(awk '{print $14, $15}' "/proc/$pid/stat")
n=$(printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["answered"])')
python3 -c "
u = ($u1 - $u0) / $tck; s = ($s1 - $s0) / $tck; n = $n
print(f'answered {n}: user {u * 1e6 / n:.3f} us/query, kernel {s * 1e6 / n:.3f} us/query, total {(u + s) * 1e6 / n:.3f} us/query')"
