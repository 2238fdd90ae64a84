#!/bin/bash
# DNS over TLS (RFC 7858, issue 21, done-when check 1) against real clients
# and the public conformance suite, with the release binary:
#  1. a throwaway CA and a certificate for dot.test and 127.0.0.1, made with
#     openssl in a temporary directory (removed on exit);
#  2. levee serving the public conformance zones (a copy of
#     ../shared/conformance) on 127.0.0.1:5441 (UDP, TCP) and DoT on
#     127.0.0.1:5853, with --allow-transfer for the zones the manifest
#     marks (as the harness's levee adapter does) and [tls] handshake
#     budget raised: the harness opens a new connection per exchange, ~900
#     handshakes in a few seconds from 127.0.0.1, which the default budget
#     (100/s per /24) would refuse, by design;
#  3. kdig +tls (the host's Knot 3.2 and Debian 13's Knot 3.4, from the
#     chroot of tests/lib/trixie.sh, made here if missing) and dig +tls
#     (verifying the certificate against the CA) must give the same rcode,
#     flags and sections as the same tool over +tcp, for the questions of
#     tests/lib/encrypted-clients.sh (NXDOMAIN and a referral included);
#     and EDNS padding (RFC 7830, RFC 8467) against Debian 13's knotd 3.4
#     on the same zones and certificate (127.0.0.1:5861, DoT 5862): kdig
#     3.4 +tls gets the same response size from both, padded or not alike,
#     for those questions and a REFUSED, a BADVERS, no EDNS, DNSSEC
#     answers and a transfer (compare_padding);
#  4. the suite through tests/tls/diff_tls.py (diff.py unmodified, levee's
#     TCP exchanges over TLS, Knot/NSD/BIND on TCP as the golden answers),
#     with --tcp-all, so every query of the suite reaches levee over TLS:
#     0 hard differences beyond tests/golden/known-differences.txt (and
#     the [tcp] twin of each of its [udp] entries: --tcp-all repeats the
#     same query over TCP, i.e. here over TLS);
#  5. levee's /metrics: levee_queries_total{transport="tls"} grew by the
#     answered TLS exchanges the wrapper counted (less the transfers levee
#     logged serving, which the query counters leave out, as over TCP),
#     {transport="tcp"} did not grow at all during the suite, no handshake
#     failed, none was refused.
# SUITE=levee runs levee's own suite (tests/golden/levee, as .ci/run's
# loopback step does) instead of the public one; step 3 queries the public
# suite's zones, so it runs with SUITE=public only. (With --tcp-all that
# suite has two hard differences over plain TCP too, not listed in
# known-differences.txt: rw-op15-an-missing[tcp] rcode and
# rw-axfr-udp-all[tcp] CD; over DoT it has the same two and no other.)
# Ports: 127.0.0.1:5441, 5853, 5851 (metrics), 5861-5862 (Knot), and the harness's 5410-5430:
# run under `flock /tmp/levee-sys.lock`. Bounded: the suite at most 120 s,
# every wait has a timeout.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
SHARED=${SHARED:-$(cd "$ROOT/../shared" && pwd)}
LEVEE_BIN=${LEVEE_BIN:?set LEVEE_BIN to the levee binary}
for t in openssl kdig dig python3 curl; do
	command -v "$t" >/dev/null || { echo "tls: $t is missing"; exit 1; }
done
# shellcheck source=tests/lib/encrypted-clients.sh
. tests/lib/encrypted-clients.sh
PORT=5441 DOT=5853 MGMT=5851 KNOT_PLAIN=5861 KNOT_DOT=5862
WORK=$(mktemp -d /tmp/levee-tls.XXXXXX)
LPID= KNOT_PID=
cleanup() {
	if [ -n "$LPID" ]; then kill "$LPID" 2>/dev/null || true; wait "$LPID" 2>/dev/null || true; fi
	if [ -n "$KNOT_PID" ]; then kill "$KNOT_PID" 2>/dev/null || true; wait "$KNOT_PID" 2>/dev/null || true; fi
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 143' TERM INT
fail() { echo "tls: FAIL: $*"; [ -f "$WORK/levee.log" ] && tail -20 "$WORK/levee.log"; exit 1; }
ok() { echo "tls: ok: $*"; }

# 1. The throwaway CA and certificate.
(
	cd "$WORK"
	ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
	openssl req -x509 "${ec[@]}" -keyout ca.key -out ca.crt -days 1 -subj "/CN=levee throwaway CA" 2>/dev/null
	openssl req "${ec[@]}" -keyout dot.key -out dot.csr -subj "/CN=dot.test" 2>/dev/null
	echo "subjectAltName=DNS:dot.test,IP:127.0.0.1" > ext
	openssl x509 -req -in dot.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out dot.crt -days 1 -extfile ext 2>/dev/null
	chmod 600 dot.key ca.key
) || fail "openssl could not make the certificates"

# 2. levee on the suite's zones.
cp -r "$SHARED/conformance" "$WORK/conformance"
chmod -R u+w "$WORK/conformance"
SUITE=${SUITE:-public}
case $SUITE in
	public) ZONES=$WORK/conformance/zones ;;
	levee)
		mkdir -p "$WORK/conformance/hidden"
		cp -r tests/golden/levee/zones tests/golden/levee/queries "$WORK/conformance/hidden/"
		SUITE=hidden ZONES=$WORK/conformance/hidden/zones
		;;
	*) fail "unknown SUITE '$SUITE' (public, levee)" ;;
esac
XFR=()
for z in $(python3 -c 'import json,sys; print(" ".join(z["origin"] for z in json.load(open(sys.argv[1]))["zones"] if z.get("allow_transfer")))' "$ZONES/manifest.json"); do
	XFR+=(--allow-transfer "$z=127.0.0.1")
done
cat > "$WORK/levee.toml" <<C
[tls]
listen = ["127.0.0.1:$DOT"]
certificate = "dot.crt"
key = "dot.key"
handshake-rate = 100000
handshake-burst = 100000
handshake-rate-total = 100000
handshake-burst-total = 100000
C
"$LEVEE_BIN" serve --config "$WORK/levee.toml" --listen 127.0.0.1:$PORT --zones-dir "$ZONES" \
	--management 127.0.0.1:$MGMT "${XFR[@]}" > "$WORK/levee.log" 2>&1 &
LPID=$!
for _ in $(seq 1 100); do
	grep -qs " ready" "$WORK/levee.log" && break
	kill -0 "$LPID" 2>/dev/null || fail "levee exited"
	sleep 0.1
done
grep -q "DNS over TLS on 127.0.0.1:$DOT" "$WORK/levee.log" || fail "no DoT listener in the log"
ok "levee serves the suite's zones, DoT on 127.0.0.1:$DOT"

# 3. Three clients over DoT, each against its own +tcp answer (they print
# records differently): the host's kdig (Knot 3.2) and dig (BIND 9.18),
# and the Debian 13 chroot's kdig (Knot 3.4, tests/lib/trixie.sh), for
# the questions of tests/lib/encrypted-clients.sh (answers, a CNAME chain,
# NODATA, NXDOMAIN, a referral with glue): rcode, flags and every section.
if [ "$SUITE" = public ]; then
	need_trixie_kdig || fail "no Debian 13 kdig (+tls, +quic)"
	check_shapes $PORT || fail "levee's TCP answers are not what the questions need"
	tls=(+tls-ca="$WORK/ca.crt" +tls-hostname=dot.test)
	for q in "${ENC_QUESTIONS[@]}"; do
		for tool in kdig dig "$TKDIG"; do
			# shellcheck disable=SC2086
			want=$(timeout 20 $tool +tcp +norec @127.0.0.1 -p $PORT $q | sections)
			grep -q '^rcode ' <<<"$want" || fail "$tool: no TCP answer for $q"
			# shellcheck disable=SC2086
			case $tool in
				dig) got=$(timeout 10 dig +tls "${tls[@]}" +norec @127.0.0.1 -p $DOT $q | sections) ;;
				*) got=$(timeout 20 $tool "${tls[@]}" +norec @127.0.0.1 -p $DOT $q | sections) ;;
			esac
			[ "$got" = "$want" ] || fail "$tool +tls $q: $(printf '%s\n--- over TCP:\n%s' "$got" "$want")"
		done
	done
	for tool in kdig "$TKDIG"; do
		# shellcheck disable=SC2086
		$tool +tls-ca="$WORK/ca.crt" +tls-hostname=dot.test @127.0.0.1 -p $DOT conf.test SOA | grep -q ";; TLS session (TLS1.3)" \
			|| fail "$tool did not report a TLS 1.3 session"
		# A client that does not trust the certificate's name is refused by itself (the certificate is checked).
		if timeout 20 $tool +tls-ca="$WORK/ca.crt" +tls-hostname=wrong.test @127.0.0.1 -p $DOT conf.test SOA 2>&1 | grep -q "status: NOERROR"; then
			fail "$tool accepted the certificate for another name: the test does not check certificates"
		fi
	done
	ok "kdig 3.2, kdig 3.4 (Debian 13) and dig 9.18 over DoT (certificate verified) answer like TCP for ${#ENC_QUESTIONS[@]} questions"
	# EDNS padding: Knot 3.4 (Debian 13) on the same zones is the golden
	# behaviour: the same response sizes, padded (RFC 8467) or not alike.
	start_knot_peer "$WORK" "$ZONES" $KNOT_PLAIN $KNOT_DOT "$WORK/dot.crt" "$WORK/dot.key" || fail "Knot 3.4 did not start"
	pad=$(compare_padding +tls $DOT $KNOT_DOT "$WORK/ca.crt") || fail "EDNS padding over DoT: $pad"
	kill "$KNOT_PID"; wait "$KNOT_PID" 2>/dev/null || true; KNOT_PID=
	ok "$pad"
fi

# 4. The suite over DoT.
metric() { curl -sf --max-time 5 "http://127.0.0.1:$MGMT/metrics" | awk -v n="$1" '$1 == n {print $2}'; }
tls0=$(metric 'levee_queries_total{transport="tls"}')
tcp0=$(metric 'levee_queries_total{transport="tcp"}')
# (each kdig refusing the wrong name above aborted one handshake: counted.)
hsf0=$(metric levee_tls_handshake_failures_total)
# Transfers served before the suite (step 3's) are not the suite's.
streams0=$(grep -c "outgoing zone transfer" "$WORK/levee.log" || true)
[ "$SUITE" != public ] || [ "$hsf0" -ge 2 ] || fail "the handshake kdig aborted was not counted as failed"
grep -v '^#' tests/golden/known-differences.txt | sed -n 's/^\([^ ]*\)\[udp\]\(.*\)/\1[tcp]\2 (the same query over TLS, --tcp-all)/p' \
	> "$WORK/known-tcp.txt"
cat tests/golden/known-differences.txt "$WORK/known-tcp.txt" > "$WORK/known.txt"
rc=0
(cd "$WORK/conformance" && LEVEE_DOT=127.0.0.1:$DOT LEVEE_DOT_CA="$WORK/ca.crt" LEVEE_DOT_COUNT="$WORK/count" \
	timeout 120 python3 "$ROOT/tests/tls/diff_tls.py" --suite "$SUITE" --sut-running 127.0.0.1:$PORT \
	--sut-name levee --tcp-all --out "$WORK/results") > "$WORK/diff.log" 2>&1 || rc=$?
[ "$rc" -le 1 ] || { tail -30 "$WORK/diff.log"; fail "conformance harness failed (exit $rc)"; }
grep -E '^\| levee |^DoT:' "$WORK/diff.log" || true
python3 .ci/check-conformance.py "$WORK/results/report.json" "$WORK/known.txt" \
	|| fail "hard differences over DoT beyond the known ones (report: $WORK/results/report.md)"
read -r n answered failures < "$WORK/count"
[ "$failures" = 0 ] || fail "$failures TLS handshakes failed"
# Every stream exchange of the run (the harness's own record of levee's
# responses) went over TLS, and there are as many as UDP ones (--tcp-all).
read -r n_tcp n_udp < <(python3 - "$WORK/results/responses/levee.txt" <<-'PY'
	import re, sys
	blocks = re.split(r"^==== ", open(sys.argv[1]).read(), flags=re.M)[1:]
	print(sum(1 for b in blocks if re.match(r"\S+ \[tcp\]", b)), sum(1 for b in blocks if re.match(r"\S+ \[udp\]", b)))
	PY
)
[ "$n" = "$n_tcp" ] || fail "$n exchanges over TLS, but the harness made $n_tcp stream exchanges with levee"
[ "$n_tcp" -ge "$n_udp" ] && [ "$n_udp" -gt 200 ] || fail "$n_tcp stream and $n_udp UDP exchanges: --tcp-all not in effect?"

# 5. What levee counted.
tls1=$(metric 'levee_queries_total{transport="tls"}')
tcp1=$(metric 'levee_queries_total{transport="tcp"}')
[ "$tcp1" = "$tcp0" ] || fail "levee answered $((tcp1 - tcp0)) queries over plain TCP during the suite"
# Transfers served are streams, which the query counters leave out (as
# over TCP): levee logs each one.
streams=$(( $(grep -c "outgoing zone transfer" "$WORK/levee.log" || true) - streams0 ))
[ "$((tls1 - tls0))" = "$((answered - streams))" ] \
	|| fail "levee counted $((tls1 - tls0)) DoT queries answered; the harness got $answered answers, $streams of them transfers"
[ "$(metric levee_tls_handshake_failures_total)" = "$hsf0" ] || fail "levee counted failed handshakes during the suite"
[ "$(metric 'levee_tls_handshakes_refused_total{reason="prefix"}')" = 0 ] || fail "levee refused handshakes (prefix)"
[ "$(metric 'levee_tls_handshakes_refused_total{reason="total"}')" = 0 ] || fail "levee refused handshakes (total)"
kill -0 "$LPID" 2>/dev/null || fail "levee exited during the suite"
ok "$SUITE suite over DoT (--tcp-all): $n exchanges over TLS, 0 hard differences beyond the known ones"
echo "PASS: tests/tls/run.sh"
