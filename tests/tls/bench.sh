#!/bin/bash
# DNS-over-TLS queries a second per server core: levee against Knot 3.4,
# NSD 4.6 and BIND 9.18 over DoT. Knot is Debian 13's knotd 3.4.6, run in
# the chroot of tests/lib/trixie.sh (made if missing; root): Debian 12's
# Knot 3.2 has no DoT (`listen-tls` came with Knot 3.3). KNOT_DOT=0 leaves
# Knot out. The load comes from the host's dnsperf, the same client for
# every server (DNSPERF=trixie: Debian 13's dnsperf 2.14 instead).
# FOR THE INTEGRATOR, ON A QUIET MACHINE: it saturates a core. Run under the
# benchmark lock: flock /tmp/levee-bench.lock tests/tls/bench.sh
#
# What it does, per server: a throwaway certificate (openssl), a zone of
# 1,000 hosts, the server started on 127.0.0.1 (DoT port 5391, plain 5390)
# with THREADS workers (default 2) and pinned to CPU 1 (taskset), then
#   dnsperf -m dot -c CLIENTS -q OUTSTANDING -l DURATION
# on CPU 0: dnsperf opens CLIENTS persistent TLS connections (one
# handshake each) and pipelines OUTSTANDING queries over them, so this is
# the steady state of resolvers that keep their connections (RFC 7858
# §3.4), not handshakes. Reported: QPS, the server's CPU seconds during
# the run (from /proc/PID/stat of its whole process tree), QPS per server
# core (QPS / CPU share), lost queries, and for levee its
# levee_tls_handshakes_total. HANDSHAKES=1 adds a run of short connections
# (dnsperf has none: kdig +tls in a loop, bounded by HS_COUNT, default 500)
# timing full handshakes.
# Bounded: each dnsperf run is -l DURATION (default 20) seconds; every
# server is stopped by PID.
set -euo pipefail
cd "$(dirname "$0")/../.."
LEVEE_BIN=${LEVEE_BIN:?set LEVEE_BIN to the (release) levee binary}
DURATION=${DURATION:-20} CLIENTS=${CLIENTS:-16} OUTSTANDING=${OUTSTANDING:-200} THREADS=${THREADS:-2}
KNOT_DOT=${KNOT_DOT:-1}
SERVERS=${SERVERS:-levee knot nsd bind}
TRIXIE=tests/lib/trixie.sh
PERF=(dnsperf)
if [ "${DNSPERF:-host}" = trixie ]; then PERF=("$TRIXIE" run dnsperf); fi
RATE=${RATE:-}   # dnsperf -Q (a cap, for a smoke test); empty: as fast as it goes
PORT=5390 DOT=5391
WORK=$(mktemp -d /tmp/levee-dot-bench.XXXXXX)
PID=
cleanup() {
	if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 143' TERM INT
for t in dnsperf openssl kdig taskset; do command -v $t >/dev/null || { echo "bench: $t missing"; exit 1; }; done
if [ "$KNOT_DOT" = 1 ] && [[ " $SERVERS " == *" knot "* ]]; then
	"$TRIXIE" setup || { echo "bench: no Debian 13 chroot for Knot 3.4 (tests/lib/trixie.sh setup; KNOT_DOT=0 skips Knot)"; exit 1; }
fi

(
	cd "$WORK"
	ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
	openssl req -x509 "${ec[@]}" -keyout ca.key -out ca.crt -days 1 -subj "/CN=bench CA" 2>/dev/null
	openssl req "${ec[@]}" -keyout dot.key -out dot.csr -subj "/CN=dot.test" 2>/dev/null
	echo "subjectAltName=DNS:dot.test,IP:127.0.0.1" > ext
	openssl x509 -req -in dot.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out dot.crt -days 1 -extfile ext 2>/dev/null
	chmod 600 dot.key
)
mkdir -p "$WORK/zones"
{
	printf '$ORIGIN bench.test.\n$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.1\n'
	for i in $(seq 1 1000); do printf 'h%d A 192.0.2.%d\nh%d AAAA 2001:db8::%x\n' $i $((i % 250 + 1)) $i $i; done
} > "$WORK/zones/bench.test.zone"
for i in $(seq 1 1000); do printf 'h%d.bench.test A\nh%d.bench.test AAAA\n' $i $i; done > "$WORK/queries"

start_levee() {
	printf '[tls]\nlisten = ["127.0.0.1:%s"]\ncertificate = "dot.crt"\nkey = "dot.key"\n[rate-limit]\nenabled = false\n' $DOT > "$WORK/levee.toml"
	"$LEVEE_BIN" serve --config "$WORK/levee.toml" --listen 127.0.0.1:$PORT --zones-dir "$WORK/zones" \
		--threads "$THREADS" --management 127.0.0.1:5392 > "$WORK/levee.log" 2>&1 &
	PID=$!
}
start_nsd() {
	cat > "$WORK/nsd.conf" <<-C
	server:
	  ip-address: 127.0.0.1@$PORT
	  ip-address: 127.0.0.1@$DOT
	  tls-port: $DOT
	  tls-service-key: "$WORK/dot.key"
	  tls-service-pem: "$WORK/dot.crt"
	  server-count: $THREADS
	  reuseport: yes
	  username: ""
	  chroot: ""
	  database: ""
	  zonelistfile: "$WORK/zone.list"
	  xfrdfile: "$WORK/xfrd.state"
	  pidfile: "$WORK/nsd.pid"
	  rrl-ratelimit: 0
	  rrl-whitelist-ratelimit: 0
	remote-control:
	  control-enable: no
	zone:
	  name: "bench.test"
	  zonefile: "$WORK/zones/bench.test.zone"
	C
	nsd -d -c "$WORK/nsd.conf" > "$WORK/nsd.log" 2>&1 &
	PID=$!
}
start_bind() {
	cat > "$WORK/named.conf" <<-C
	tls local-tls { key-file "$WORK/dot.key"; cert-file "$WORK/dot.crt"; };
	options {
	  directory "$WORK";
	  pid-file "$WORK/named.pid";
	  session-keyfile "$WORK/session.key";
	  listen-on port $PORT { 127.0.0.1; };
	  listen-on port $DOT tls local-tls { 127.0.0.1; };
	  listen-on-v6 { none; };
	  recursion no;
	  notify no;
	  dnssec-validation no;
	};
	controls { };
	zone "bench.test" { type primary; file "$WORK/zones/bench.test.zone"; };
	C
	named -g -c "$WORK/named.conf" -n "$THREADS" > "$WORK/named.log" 2>&1 &
	PID=$!
}
# Knot 3.4 from the Debian 13 chroot (its PID is knotd's: stopped and
# pinned like the others); rundir and storage in $WORK (/tmp is shared).
start_knot() {
	[ "$KNOT_DOT" = 1 ] || { echo "knot: left out (KNOT_DOT=0)"; return 1; }
	mkdir -p "$WORK/knot"
	cat > "$WORK/knot.conf" <<-C
	server:
	    rundir: $WORK/knot
	    listen: 127.0.0.1@$PORT
	    listen-tls: 127.0.0.1@$DOT
	    key-file: $WORK/dot.key
	    cert-file: $WORK/dot.crt
	    background-workers: 1
	    udp-workers: $THREADS
	    tcp-workers: $THREADS
	database:
	    storage: $WORK/knot
	zone:
	  - domain: bench.test
	    file: $WORK/zones/bench.test.zone
	C
	"$TRIXIE" run knotd -c "$WORK/knot.conf" > "$WORK/knot.log" 2>&1 &
	PID=$!
}
# CPU ticks (utime + stime) of a process and its descendants.
ticks() {
	local total=0 p
	for p in $1 $(pgrep -P "$1" || true); do
		[ -r /proc/$p/stat ] && total=$((total + $(awk '{print $14 + $15}' /proc/$p/stat)))
	done
	echo $total
}

printf '| server | QPS | server CPU %% | QPS per server core | lost | avg latency ms |\n|---|---|---|---|---|---|\n'
for srv in $SERVERS; do
	"start_$srv" || continue
	for _ in $(seq 1 100); do
		kdig +tls +tls-ca="$WORK/ca.crt" +tls-hostname=dot.test +timeout=1 +retry=0 @127.0.0.1 -p $DOT bench.test SOA 2>/dev/null | grep -q "status: NOERROR" && break
		kill -0 "$PID" 2>/dev/null || { echo "$srv exited: $(tail -3 "$WORK/$srv.log")"; PID=; continue 2; }
		sleep 0.1
	done
	for p in $PID $(pgrep -P "$PID" || true); do taskset -a -p -c 1 "$p" >/dev/null 2>&1 || true; done
	t0=$(ticks "$PID")
	q=()
	[ -n "$RATE" ] && q=(-Q "$RATE")
	taskset -c 0 "${PERF[@]}" -m dot -s 127.0.0.1 -p $DOT -d "$WORK/queries" -c "$CLIENTS" -q "$OUTSTANDING" \
		-l "$DURATION" -t 2 "${q[@]}" > "$WORK/$srv.perf" 2>&1 || true
	t1=$(ticks "$PID")
	qps=$(awk '/Queries per second/ {print $4}' "$WORK/$srv.perf")
	lost=$(awk '/Queries lost/ {print $3 " " $4}' "$WORK/$srv.perf")
	lat=$(awk '/Average Latency/ {printf "%.3f", $4 * 1000; exit}' "$WORK/$srv.perf")
	hz=$(getconf CLK_TCK)
	cpu=$(awk -v d=$((t1 - t0)) -v hz="$hz" -v s="$DURATION" 'BEGIN {printf "%.1f", 100 * d / hz / s}')
	per=$(awk -v q="${qps:-0}" -v c="$cpu" 'BEGIN {if (c > 0) printf "%.0f", q / (c / 100); else print "-"}')
	echo "| $srv | ${qps:-?} | $cpu | $per | $lost | $lat |"
	if [ "$srv" = levee ]; then
		curl -sf http://127.0.0.1:5392/metrics | grep -E '^levee_tls_handshakes_total|^levee_queries_total\{transport="tls"' | sed 's/^/    /'
	fi
	[ "$srv" = knot ] && echo "    $(grep -m1 -o 'Knot DNS [0-9.]*' "$WORK/knot.log")"
	if [ "${HANDSHAKES:-0}" = 1 ]; then
		n=${HS_COUNT:-500} t=$(date +%s.%N)
		for _ in $(seq 1 "$n"); do
			kdig +tls +tls-ca="$WORK/ca.crt" +tls-hostname=dot.test +timeout=2 +retry=0 @127.0.0.1 -p $DOT bench.test SOA >/dev/null 2>&1 || true
		done
		echo "    $srv: $n kdig +tls connections (a full handshake each) in $(awk -v a="$t" -v b="$(date +%s.%N)" 'BEGIN {printf "%.2f", b - a}') s"
	fi
	kill "$PID" 2>/dev/null || true
	wait "$PID" 2>/dev/null || true
	PID=
	sleep 0.5
done
