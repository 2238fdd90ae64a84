#!/bin/bash
# DNS over QUIC (RFC 9250, issue 21, done-when check 1) against an
# independent client and the public conformance suite:
#  1. a throwaway CA and a certificate for dot.test and 127.0.0.1, made with
#     openssl in a temporary directory (removed on exit);
#  2. levee serving the public conformance zones (a copy of
#     ../shared/conformance) on 127.0.0.1:5442 (UDP, TCP) and DoQ on
#     127.0.0.1:5854 (UDP), with --allow-transfer for the zones the manifest
#     marks and the [tls] handshake budget raised (the harness opens a new
#     connection per exchange, ~1,100 handshakes in a minute from 127.0.0.1,
#     which the default budget of 100/s per /24 would refuse, by design);
#  3. dnspython's DoQ client (aioquic underneath) must get the same rcode,
#     answer and authority as kdig +tcp for several names
#     (tests/quic/doq_vs_kdig.py); and Debian 13's kdig 3.4 +quic (Debian
#     12's kdig 3.2 has none; from the chroot of tests/lib/trixie.sh, made
#     here if missing) the same rcode, flags and sections as itself over
#     +tcp for the questions of tests/lib/encrypted-clients.sh (NXDOMAIN
#     and a referral included); and EDNS padding against Debian 13's knotd
#     3.4 on the same zones (127.0.0.1:5863, DoQ 5864): the same response
#     sizes, padded or not alike (tests/lib/encrypted-clients.sh,
#     compare_padding);
#  4. the suite through tests/quic/diff_quic.py (diff.py unmodified, levee's
#     stream exchanges over DoQ, Knot/NSD/BIND on TCP as the golden
#     answers), with --tcp-all, so every query reaches levee over QUIC: 0
#     hard differences beyond tests/golden/known-differences.txt, the
#     [tcp] twin of each of its [udp] entries, and tests/quic/known-doq.txt
#     (what RFC 9250 would make differ: empty today);
#  5. levee's /metrics: levee_queries_total{transport="quic"} grew by the
#     answered DoQ exchanges (less the transfers levee logged serving),
#     {transport="tcp"} did not grow, no connection was refused.
# Ports: 127.0.0.1:5442, 5854 (UDP), 5852 (metrics), 5863-5864 (Knot), and the harness's
# 5410-5430: run under `flock /tmp/levee-sys.lock`. Bounded: the suite at
# most 240 s, every wait has a timeout.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
SHARED=${SHARED:-$(cd "$ROOT/../shared" && pwd)}
LEVEE_BIN=${LEVEE_BIN:?set LEVEE_BIN to the levee binary}
for t in openssl kdig python3 curl; do
	command -v "$t" >/dev/null || { echo "quic: $t is missing"; exit 1; }
done
# shellcheck source=tests/lib/encrypted-clients.sh
. tests/lib/encrypted-clients.sh
python3 -c 'import dns.quic; assert dns.quic.have_quic' 2>/dev/null \
	|| { echo "quic: dnspython's DoQ needs aioquic (pip install aioquic)"; exit 1; }
PORT=5442 DOQ=5854 MGMT=5852 KNOT_PLAIN=5863 KNOT_DOQ=5864
WORK=$(mktemp -d /tmp/levee-quic.XXXXXX)
LPID= KNOT_PID=
cleanup() {
	if [ -n "$LPID" ]; then kill "$LPID" 2>/dev/null || true; wait "$LPID" 2>/dev/null || true; fi
	if [ -n "$KNOT_PID" ]; then kill "$KNOT_PID" 2>/dev/null || true; wait "$KNOT_PID" 2>/dev/null || true; fi
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 143' TERM INT
fail() { echo "quic: FAIL: $*"; [ -f "$WORK/levee.log" ] && tail -20 "$WORK/levee.log"; exit 1; }
ok() { echo "quic: ok: $*"; }

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
ZONES=$WORK/conformance/zones
XFR=()
for z in $(python3 -c 'import json,sys; print(" ".join(z["origin"] for z in json.load(open(sys.argv[1]))["zones"] if z.get("allow_transfer")))' "$ZONES/manifest.json"); do
	XFR+=(--allow-transfer "$z=127.0.0.1")
done
cat > "$WORK/levee.toml" <<C
[tls]
listen-quic = ["127.0.0.1:$DOQ"]
certificate = "dot.crt"
key = "dot.key"
handshake-rate = 100000
handshake-burst = 100000
handshake-rate-total = 100000
handshake-burst-total = 100000
quic-retry-above = 100000
C
"$LEVEE_BIN" serve --config "$WORK/levee.toml" --listen 127.0.0.1:$PORT --zones-dir "$ZONES" \
	--management 127.0.0.1:$MGMT "${XFR[@]}" > "$WORK/levee.log" 2>&1 &
LPID=$!
for _ in $(seq 1 100); do
	grep -qs " ready" "$WORK/levee.log" && break
	kill -0 "$LPID" 2>/dev/null || fail "levee exited"
	sleep 0.1
done
grep -q "DNS over QUIC on 127.0.0.1:$DOQ" "$WORK/levee.log" || fail "no DoQ listener in the log"
ok "levee serves the suite's zones, DoQ on 127.0.0.1:$DOQ"

# 3. dnspython over DoQ against kdig +tcp.
for q in "conf.test SOA" "conf.test NS" "www.conf.test A" "nonexistent.conf.test A" "sib-a.test SOA" "nsec3.test DNSKEY"; do
	# shellcheck disable=SC2086
	timeout 20 python3 tests/quic/doq_vs_kdig.py 127.0.0.1:$DOQ "$WORK/ca.crt" dot.test 127.0.0.1:$PORT $q \
		|| fail "dnspython over DoQ and kdig +tcp differ for $q"
done
# The client checks the certificate: another name is refused by it.
if timeout 20 python3 tests/quic/doq_vs_kdig.py 127.0.0.1:$DOQ "$WORK/ca.crt" wrong.test 127.0.0.1:$PORT conf.test SOA \
	>/dev/null 2>&1; then
	fail "dnspython accepted the certificate for another name: the test does not check certificates"
fi
ok "dnspython over DoQ (certificate verified) answers like kdig +tcp for 6 questions"
# Debian 13's kdig (Knot 3.4, built with ngtcp2) over DoQ against its own
# +tcp answer: rcode, flags and every section, for the questions of
# tests/lib/encrypted-clients.sh (NXDOMAIN and a referral with glue included).
need_trixie_kdig || fail "no Debian 13 kdig (+quic)"
check_shapes $PORT || fail "levee's TCP answers are not what the questions need"
quic=(+quic +tls-ca="$WORK/ca.crt" +tls-hostname=dot.test)
for q in "${ENC_QUESTIONS[@]}"; do
	# shellcheck disable=SC2086
	want=$(timeout 20 $TKDIG +tcp +norec @127.0.0.1 -p $PORT $q | sections)
	grep -q '^rcode ' <<<"$want" || fail "kdig 3.4: no TCP answer for $q"
	# shellcheck disable=SC2086
	got=$(timeout 20 $TKDIG "${quic[@]}" +norec @127.0.0.1 -p $DOQ $q | sections)
	[ "$got" = "$want" ] || fail "kdig 3.4 +quic $q: $(printf '%s\n--- over TCP:\n%s' "$got" "$want")"
done
tkdig "${quic[@]}" @127.0.0.1 -p $DOQ conf.test SOA | grep -q ";; QUIC session" \
	|| fail "kdig 3.4 did not report a QUIC session"
if timeout 20 $TKDIG +quic +tls-ca="$WORK/ca.crt" +tls-hostname=wrong.test @127.0.0.1 -p $DOQ conf.test SOA 2>&1 | grep -q "status: NOERROR"; then
	fail "kdig 3.4 +quic accepted the certificate for another name: the test does not check certificates"
fi
ok "kdig 3.4 (Debian 13) +quic (certificate verified) answers like TCP for ${#ENC_QUESTIONS[@]} questions"
# EDNS padding against Knot 3.4 (Debian 13) on the same zones, over DoQ.
start_knot_peer "$WORK" "$ZONES" $KNOT_PLAIN $KNOT_DOQ "$WORK/dot.crt" "$WORK/dot.key" || fail "Knot 3.4 did not start"
pad=$(compare_padding +quic $DOQ $KNOT_DOQ "$WORK/ca.crt") || fail "EDNS padding over DoQ: $pad"
kill "$KNOT_PID"; wait "$KNOT_PID" 2>/dev/null || true; KNOT_PID=
ok "$pad"

# 4. The suite over DoQ.
metric() { curl -sf --max-time 5 "http://127.0.0.1:$MGMT/metrics" | awk -v n="$1" '$1 == n {print $2}'; }
quic0=$(metric 'levee_queries_total{transport="quic"}')
# Transfers served before the suite (step 3's) are not the suite's.
streams0=$(grep -c "outgoing zone transfer" "$WORK/levee.log" || true)
tcp0=$(metric 'levee_queries_total{transport="tcp"}')
grep -v '^#' tests/golden/known-differences.txt | sed -n 's/^\([^ ]*\)\[udp\]\(.*\)/\1[tcp]\2 (the same query over DoQ, --tcp-all)/p' \
	> "$WORK/known-tcp.txt"
cat tests/golden/known-differences.txt "$WORK/known-tcp.txt" tests/quic/known-doq.txt > "$WORK/known.txt"
rc=0
(cd "$WORK/conformance" && LEVEE_DOQ=127.0.0.1:$DOQ LEVEE_DOQ_CA="$WORK/ca.crt" LEVEE_DOQ_COUNT="$WORK/count" \
	timeout 240 python3 "$ROOT/tests/quic/diff_quic.py" --suite public --sut-running 127.0.0.1:$PORT \
	--sut-name levee --tcp-all --out "$WORK/results") > "$WORK/diff.log" 2>&1 || rc=$?
[ "$rc" -le 1 ] || { tail -30 "$WORK/diff.log"; fail "conformance harness failed (exit $rc)"; }
grep -E '^\| levee |^DoQ:' "$WORK/diff.log" || true
python3 .ci/check-conformance.py "$WORK/results/report.json" "$WORK/known.txt" \
	|| fail "hard differences over DoQ beyond the known ones (report: $WORK/results/report.md)"
# The known DoQ differences are still differences (the test sees them).
for k in $(grep -v '^#' tests/quic/known-doq.txt | awk 'NF {print $1}'); do
	python3 - "$WORK/results/report.json" "$k" <<-'PY' || fail "$k: expected to differ over DoQ (RFC 9250), but does not"
	import json, sys
	r = json.load(open(sys.argv[1])); key = sys.argv[2]
	rows = [s for s in r["sections"] if s["sut"] == "levee"][0]["rows"]
	sys.exit(0 if any(f"{x['query']}[{x['transport']}]" == key and x["hard"] for x in rows) else 1)
	PY
done
read -r n answered failures < "$WORK/count"
read -r n_tcp n_udp < <(python3 - "$WORK/results/responses/levee.txt" <<-'PY'
	import re, sys
	blocks = re.split(r"^==== ", open(sys.argv[1]).read(), flags=re.M)[1:]
	print(sum(1 for b in blocks if re.match(r"\S+ \[tcp\]", b)), sum(1 for b in blocks if re.match(r"\S+ \[udp\]", b)))
	PY
)
[ "$n" = "$n_tcp" ] || fail "$n exchanges over DoQ, but the harness made $n_tcp stream exchanges with levee"
[ "$n_tcp" -ge "$n_udp" ] && [ "$n_udp" -gt 200 ] || fail "$n_tcp stream and $n_udp UDP exchanges: --tcp-all not in effect?"
# Exchanges allowed to fail: one per entry of known-doq.txt (none today;
# the keepalive queries once closed their connection).
nk=$(grep -cv '^#' tests/quic/known-doq.txt || true)
[ "$failures" -le "$nk" ] || fail "$failures DoQ exchanges failed (at most $nk, the entries of known-doq.txt)"

# 5. What levee counted.
quic1=$(metric 'levee_queries_total{transport="quic"}')
tcp1=$(metric 'levee_queries_total{transport="tcp"}')
[ "$tcp1" = "$tcp0" ] || fail "levee answered $((tcp1 - tcp0)) queries over plain TCP during the suite"
streams=$(( $(grep -c "outgoing zone transfer" "$WORK/levee.log" || true) - streams0 ))
[ "$((quic1 - quic0))" = "$((answered - streams))" ] \
	|| fail "levee counted $((quic1 - quic0)) DoQ queries answered; the harness got $answered answers, $streams of them transfers"
# A query levee does not answer over TCP either (it closes the connection:
# a response, a short message) is a protocol error over DoQ: never more
# of them than unanswered exchanges.
pe=$(metric 'levee_quic_protocol_errors_total')
[ "$pe" -le "$((n - answered))" ] || fail "$pe protocol errors, but only $((n - answered)) exchanges were not answered"
for r in prefix total cap; do
	[ "$(metric "levee_quic_refused_total{reason=\"$r\"}")" = 0 ] || fail "levee refused DoQ connections ($r)"
done
kill -0 "$LPID" 2>/dev/null || fail "levee exited during the suite"
ok "public suite over DoQ (--tcp-all): $n exchanges over QUIC, 0 hard differences beyond the known ones"
echo "PASS: tests/quic/run.sh"
