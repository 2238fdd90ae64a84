#!/bin/bash
# dnstap against real tools (issue 21, done-when check 5): Debian's
# fstrm_capture (package fstrm-bin) is the collector, on a Unix socket and
# then over TCP; levee captures the queries dig sends over UDP and TCP;
# BIND's dnstap-read (package bind9-dnsutils) decodes the file
# fstrm_capture wrote, and every query and response must be there with its
# name, type and transport, plus the identity and the addresses.
# Ports: 127.0.0.1:5975 (DNS), 127.0.0.1:5976 (the TCP collector).
# Bounded: every wait has a timeout; the whole script takes a few seconds.
set -euo pipefail
cd "$(dirname "$0")"
LEVEE_BIN=${LEVEE_BIN:?set LEVEE_BIN to the levee binary}
for t in fstrm_capture dnstap-read dig; do
	command -v "$t" >/dev/null || { echo "dnstap: $t is missing (apt-get install fstrm-bin bind9-dnsutils)"; exit 1; }
done
WORK=$(mktemp -d /tmp/levee-dnstap.XXXXXX)
LPID= CPID=
cleanup() {
	for p in $LPID $CPID; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "dnstap: FAIL: $*"; [ -f "$WORK/levee.log" ] && tail -20 "$WORK/levee.log"; exit 1; }

mkdir -p "$WORK/zones"
cat > "$WORK/zones/tap.test.zone" <<'Z'
$ORIGIN tap.test.
$TTL 300
@    SOA ns1 hostmaster 1 3600 600 86400 60
@    NS  ns1
@    MX  10 mail
ns1  A   192.0.2.1
mail A   192.0.2.25
www  A   192.0.2.80
www  AAAA 2001:db8::80
Z

# The exchanges: name type transport.
QUERIES="tap.test SOA udp
www.tap.test A udp
www.tap.test AAAA udp
nothing.tap.test A udp
tap.test MX tcp
www.tap.test TXT tcp"

# Waits up to $2 seconds for the file $1 to contain $3.
wait_for() {
	local i
	for i in $(seq 1 $(( $2 * 10 ))); do
		grep -q "$3" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

run() {
	local mode=$1 out=$WORK/$1.fstrm
	rm -f "$WORK/c.sock" "$out"
	if [ "$mode" = unix ]; then
		fstrm_capture -t protobuf:dnstap.Dnstap -u "$WORK/c.sock" -w "$out" 2>"$WORK/capture.log" &
		CPID=$!
		wait_for "$WORK/capture.log" 5 "opening Unix socket" || fail "fstrm_capture did not start"
		printf '[dnstap]\nenabled = true\nsocket-path = "c.sock"\nidentity = "tap-test"\n' > "$WORK/levee.toml"
	else
		fstrm_capture -t protobuf:dnstap.Dnstap -a 127.0.0.1 -p 5976 -w "$out" 2>"$WORK/capture.log" &
		CPID=$!
		wait_for "$WORK/capture.log" 5 "opening TCP socket" || fail "fstrm_capture did not start"
		printf '[dnstap]\nenabled = true\ntcp-address = "127.0.0.1:5976"\nidentity = "tap-test"\n' > "$WORK/levee.toml"
	fi
	sleep 0.2
	"$LEVEE_BIN" serve --config "$WORK/levee.toml" --listen 127.0.0.1:5975 --zones-dir "$WORK/zones" \
		>"$WORK/levee.log" 2>&1 &
	LPID=$!
	wait_for "$WORK/levee.log" 10 "dnstap: connected" || fail "$mode: levee did not connect to fstrm_capture"
	local name type tr flag
	while read -r name type tr; do
		flag=+notcp; [ "$tr" = tcp ] && flag=+tcp
		timeout 5 dig @127.0.0.1 -p 5975 $flag +tries=1 +time=2 "$name" "$type" >/dev/null \
			|| fail "$mode: no answer to $name $type over $tr"
	done <<< "$QUERIES"
	kill -TERM "$LPID"; wait "$LPID" || true; LPID=
	# levee sent STOP and fstrm_capture answered FINISH; stop it so it closes the file.
	sleep 0.3
	kill -TERM "$CPID"; wait "$CPID" || true; CPID=
	dnstap-read "$out" > "$WORK/$mode.txt" || fail "$mode: dnstap-read cannot read the stream"
	dnstap-read -y "$out" > "$WORK/$mode.yaml" || fail "$mode: dnstap-read -y cannot read the stream"
	local want=$(( 2 * $(wc -l <<< "$QUERIES") ))
	[ "$(wc -l < "$WORK/$mode.txt")" -eq "$want" ] || { cat "$WORK/$mode.txt"; fail "$mode: expected $want messages"; }
	local kind proto
	while read -r name type tr; do
		proto=${tr^^}
		for kind in "AQ 127.0.0.1:[0-9]* -> 127.0.0.1:5975" "AR 127.0.0.1:[0-9]* <- 127.0.0.1:5975"; do
			grep -q " $kind.* $proto [0-9]*b $name/IN/$type\$" "$WORK/$mode.txt" \
				|| { cat "$WORK/$mode.txt"; fail "$mode: no '$kind ... $proto $name/IN/$type'"; }
		done
	done <<< "$QUERIES"
	[ "$(grep -c '^identity: tap-test$' "$WORK/$mode.yaml")" -eq "$want" ] || fail "$mode: identity"
	[ "$(grep -c '^  type: AUTH_RESPONSE$' "$WORK/$mode.yaml")" -eq $(( want / 2 )) ] || fail "$mode: AUTH_RESPONSE"
	grep -q "status: NXDOMAIN" "$WORK/$mode.yaml" || fail "$mode: the NXDOMAIN response's data"
	echo "dnstap ($mode collector): $want messages decoded by dnstap-read"
	cat "$WORK/$mode.txt"
}

run unix
run tcp
echo "dnstap: PASS"
