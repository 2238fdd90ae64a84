#!/bin/bash
# The public conformance suite (../shared/conformance) through levee's AF_XDP
# path (issue 23, check 1), as root:
#  - two network namespaces and a veth pair between them, created here and
#    removed on exit: server 198.18.2.1/24 (vS), client 198.18.2.2/24 (vC),
#    plus the pair's automatic IPv6 link-local addresses;
#  - levee in the server namespace on 198.18.2.1:53 (IPv6 modes: [::]:53)
#    with --xdp vS, started as the harness's levee adapter
#    (servers/levee.py) starts it: the suite's zones folder, and
#    --allow-transfer for each zone the manifest marks, from the client's
#    address (the adapter's 127.0.0.1 is where its client lives; here the
#    client is 198.18.2.2, or its link-local address);
#  - diff.py (a copy of the harness, unmodified) inside the client
#    namespace, whose lo is up, so Knot, NSD and BIND run there on its
#    127.0.0.1 as always, and levee is reached as `--sut-running
#    198.18.2.1:53` (IPv6 modes: the server's link-local address, through
#    tests/xdp/diff6.py, which only gives diff.py's UDP exchange IPv6):
#    every UDP query to levee crosses the veth pair and is answered through
#    AF_XDP; TCP (and the AXFR/IXFR streams) goes through the kernel to
#    levee's TCP listener;
#  - the hard differences checked against tests/golden/known-differences.txt
#    by .ci/check-conformance.py (the same check as the loopback run);
#  - proof that the answers came through AF_XDP, from levee's /metrics
#    before and after the suite: levee_xdp_sent_total grew by exactly the
#    number of UDP exchanges levee answered (counted in diff.py's
#    responses/levee.txt), the UDP socket workers received nothing, and
#    nothing was unparsable or lost for want of a TX frame.
# Modes (arguments, default all four): `plain` (--xdp: the minimal
# redirect program) and `gate` (--gate --xdp: the flood gate's levee_xdp
# feeds AF_XDP; every datagram AF_XDP received was redirected by it), over
# IPv4; `plain6` and `gate6`, the same over IPv6 (the suite itself is
# written for IPv4: this runs its queries through the IPv6 frame path).
# The ports (53 and 8053 in the server namespace, the harness's 5410-5430
# in the client namespace) are private to the namespaces, so this does not
# collide with the loopback harnesses; running it under
# `flock /tmp/levee-sys.lock` is still fine.
# Exit: 0 passed; 1 failed; 77 not run (the kernel refused XDP on veth;
# the script says SKIP and why). Bounded: the whole script stops (FAIL)
# after BUDGET seconds (default 170; a mode takes about 12 s with a debug
# build), each mode's suite run after at most 60 s.
# KEEP=DIR copies each mode's results (summary.md, report.md, report.json,
# responses/) to DIR/<mode>/. SUITE=levee runs levee's own suite
# (tests/golden/levee, as .ci/run's loopback step does) instead of the
# public one.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
SHARED=${SHARED:-$(cd "$ROOT/../shared" && pwd)}
LEVEE_BIN=${LEVEE_BIN:?set LEVEE_BIN to the levee binary}
[ "$(id -u)" = 0 ] || { echo "tests/xdp/conformance.sh: needs root (network namespaces, XDP)"; exit 1; }
MODES=("$@")
[ ${#MODES[@]} -gt 0 ] || MODES=(plain gate plain6 gate6)
for m in "${MODES[@]}"; do
	case $m in plain | gate | plain6 | gate6) ;; *) echo "unknown mode '$m' (plain, gate, plain6, gate6)"; exit 1 ;; esac
done
SRV=lvc-s-$$ CLI=lvc-c-$$
SADDR=198.18.2.1 CADDR=198.18.2.2
WORK=$(mktemp -d /tmp/levee-xdp-conf.XXXXXX)
LEVEE_PID= LOG=/dev/null
cleanup() {
	set +e
	if [ -n "$LEVEE_PID" ]; then kill "$LEVEE_PID" 2>/dev/null; wait "$LEVEE_PID" 2>/dev/null; fi
	# Anything else still in the namespaces was started here (the harness's
	# reference servers, if it was cut short): stopped by PID.
	local p
	for p in $(ip netns pids "$SRV" 2>/dev/null) $(ip netns pids "$CLI" 2>/dev/null); do kill "$p" 2>/dev/null || true; done
	ip netns del "$SRV" 2>/dev/null || true
	ip netns del "$CLI" 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 143' TERM INT
DEADLINE=$((SECONDS + ${BUDGET:-170}))
MODE=
fail() {
	echo "FAIL ($MODE): $*"
	echo "--- levee log"; tail -20 "$LOG" 2>/dev/null || true
	exit 1
}
ok() { echo "ok ($MODE): $*"; }
in_time() { [ "$SECONDS" -lt "$DEADLINE" ] || fail "out of time (BUDGET=${BUDGET:-170} s)"; }
C() { ip netns exec "$CLI" "$@"; }

ip netns add "$SRV"
ip netns add "$CLI"
ip link add vS netns "$SRV" type veth peer name vC netns "$CLI"
for ns in "$SRV" "$CLI"; do ip -n "$ns" link set lo up; done
ip -n "$SRV" addr add "$SADDR/24" dev vS
ip -n "$CLI" addr add "$CADDR/24" dev vC
ip netns exec "$SRV" sysctl -qw net.ipv6.conf.vS.accept_dad=0
ip netns exec "$CLI" sysctl -qw net.ipv6.conf.vC.accept_dad=0
ip -n "$SRV" link set vS up
ip -n "$CLI" link set vC up
# Both link-local IPv6 addresses (they come with carrier).
lladdr() { ip -n "$1" -6 addr show dev "$2" scope link | awk '/inet6/ && !/tentative/ {sub(/\/.*/, "", $2); print $2; exit}'; }
for _ in $(seq 1 50); do
	SLL=$(lladdr "$SRV" vS) CLL=$(lladdr "$CLI" vC)
	[ -n "$SLL" ] && [ -n "$CLL" ] && break
	sleep 0.1
done
[ -n "$SLL" ] && [ -n "$CLL" ] || { echo "FAIL: no IPv6 link-local address on vS or vC"; exit 1; }

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
	*) echo "unknown SUITE '$SUITE' (public, levee)"; exit 1 ;;
esac
# The zones whose transfer the adapter allows ({transfer_flags}).
XFR_ZONES=$(python3 -c 'import json,sys; print(" ".join(z["origin"] for z in json.load(open(sys.argv[1]))["zones"] if z.get("allow_transfer")))' \
	"$ZONES/manifest.json")
ORIGINS=$(python3 -c 'import json,sys; print(" ".join(z["origin"] for z in json.load(open(sys.argv[1]))["zones"]))' "$ZONES/manifest.json")

metrics() { ip netns exec "$SRV" curl -sf --max-time 5 http://127.0.0.1:8053/metrics; }
metric() { awk -v n="$1" '$1 ~ "^"n"[{ ]" || $1 == n {s += $2} END {printf "%d\n", s + 0}' <<<"$2"; }

# Per mode: levee's listen address, the client's address, and levee's
# address as the client reaches it.
LISTEN= CLIENT= TARGET=
start_levee() {
	local args=() z
	case $MODE in gate*) args=(--gate) ;; esac
	for z in $XFR_ZONES; do args+=(--allow-transfer "$z=$CLIENT"); done
	# A log of its own per mode: the background job creates it only after
	# this shell has gone on, which must not find the previous mode's log.
	LOG=$WORK/levee-$MODE.log
	# Not through a shell function: $! must be levee itself.
	ip netns exec "$SRV" "$LEVEE_BIN" serve --listen "$LISTEN" --zones-dir "$ZONES" \
		--xdp vS --management 127.0.0.1:8053 "${args[@]}" > "$LOG" 2>&1 &
	LEVEE_PID=$!
	for _ in $(seq 1 100); do
		grep -qs "ready" "$LOG" && break
		kill -0 "$LEVEE_PID" 2>/dev/null || fail "levee exited"
		sleep 0.1
	done
	grep -q "ready" "$LOG" || fail "levee did not start"
	if grep -q "AF_XDP path not available" "$LOG"; then
		echo "SKIP (not run): the kernel refused XDP on veth: $(grep 'AF_XDP path not available' "$LOG" | head -1)"
		exit 77
	fi
	grep -q "AF_XDP answering path on vS" "$LOG" || fail "no AF_XDP path in the log"
	if [ "$GATE" = 1 ]; then
		grep -q "AF_XDP answering path on vS.*gated=true" "$LOG" || fail "not fed by the gate's XDP program"
	fi
	# Every zone answers its apex SOA with AA=1 from the client (as the harness waits for its own servers).
	for z in $ORIGINS; do
		for _ in $(seq 1 40); do
			in_time
			C timeout 3 dig +tries=1 +timeout=1 +norec @"$TARGET" "$z" SOA 2>/dev/null | grep -q "flags: qr aa" && continue 2
			sleep 0.25
		done
		fail "zone $z not served"
	done
	ok "levee serves $ORIGINS through AF_XDP on vS ($(grep -o 'mode=[^ ]*' "$LOG" | head -1))"
}

stop_levee() {
	kill "$LEVEE_PID" 2>/dev/null || true
	wait "$LEVEE_PID" 2>/dev/null || true
	LEVEE_PID=
}

# The UDP exchanges of the run and how many of them levee answered, from
# the harness's own record of levee's responses.
udp_exchanges() {
	python3 - "$1" <<-'EOF'
	import re, sys
	text = open(sys.argv[1]).read()
	blocks = re.split(r"^==== ", text, flags=re.M)[1:]
	udp = [b for b in blocks if re.match(r"\S+ \[udp\]", b)]
	print(len(udp), sum(1 for b in udp if ";; no response (" not in b))
	EOF
}

run_mode() {
	MODE=$1
	local diff=(diff.py)
	case $MODE in
		gate*) GATE=1 ;;
		*) GATE=0 ;;
	esac
	case $MODE in
		*6)
			LISTEN="[::]:53" CLIENT=$CLL TARGET="$SLL%vC"
			diff=("$ROOT/tests/xdp/diff6.py")
			;;
		*) LISTEN="$SADDR:53" CLIENT=$CADDR TARGET=$SADDR ;;
	esac
	echo "===== conformance through AF_XDP: $MODE (levee --listen $LISTEN --xdp vS$([ "$GATE" = 1 ] && echo ' --gate'); queries to $TARGET)"
	start_levee
	local before after out rc=0
	# The gate's counters reach /metrics with its controller's next sample (1 s).
	[ "$GATE" = 1 ] && sleep 1.2
	before=$(metrics) || fail "metrics"
	out=$WORK/results-$MODE
	in_time
	local left=$((DEADLINE - SECONDS))
	(cd "$WORK/conformance" && C timeout $((left < 60 ? left : 60)) python3 "${diff[@]}" --suite "$SUITE" --sut-running "$TARGET:53" \
		--sut-name levee --out "$out") > "$WORK/diff-$MODE.log" 2>&1 || rc=$?
	[ "$rc" -le 1 ] || { tail -30 "$WORK/diff-$MODE.log"; fail "conformance harness failed (exit $rc)"; }
	grep -E '^\| levee ' "$WORK/diff-$MODE.log" || true
	kill -0 "$LEVEE_PID" 2>/dev/null || fail "levee exited during the suite"
	[ "$GATE" = 1 ] && sleep 1.2
	after=$(metrics) || fail "metrics"
	delta() { echo $(($(metric "$1" "$after") - $(metric "$1" "$before"))); }
	local sent recv bad full sock red n_udp n_ans
	sent=$(delta levee_xdp_sent_total)
	recv=$(delta levee_xdp_received_total)
	bad=$(delta levee_xdp_unparsable_total)
	full=$(delta levee_xdp_tx_full_total)
	# The UDP workers' datagrams: the socket workers' plus the AF_XDP workers' own.
	sock=$(($(delta levee_worker_packets_total) - recv))
	read -r n_udp n_ans < <(udp_exchanges "$out/responses/levee.txt")
	[ -n "${KEEP:-}" ] && { mkdir -p "$KEEP/$MODE"; cp -r "$out/." "$KEEP/$MODE/"; cp "$LOG" "$KEEP/$MODE/"; }
	echo "AF_XDP ($MODE): $n_udp UDP exchanges, $n_ans answered by levee; levee_xdp_received_total +$recv," \
		"levee_xdp_sent_total +$sent, socket path +$sock, unparsable +$bad, tx_full +$full"
	[ "$n_udp" -gt 200 ] || fail "only $n_udp UDP exchanges in the run"
	[ "$sent" = "$n_ans" ] || fail "levee_xdp_sent_total grew by $sent, but levee answered $n_ans UDP exchanges"
	# Unanswered exchanges were sent twice (the harness retries once).
	local gone=0
	if [ "$GATE" = 1 ]; then
		# The gate drops garbage (too short, QR=1, bad question) before AF_XDP.
		gone=$(($(delta 'levee_gate_packets_total{reason="garbage_short"}') \
			+ $(delta 'levee_gate_packets_total{reason="garbage_response"}') \
			+ $(delta 'levee_gate_packets_total{reason="garbage_question"}')))
		echo "the gate dropped $gone garbage datagrams before AF_XDP"
	fi
	[ $((recv + gone)) = $((n_ans + 2 * (n_udp - n_ans))) ] \
		|| fail "AF_XDP received $recv (+$gone dropped by the gate): want $n_ans + 2 x $((n_udp - n_ans)) unanswered"
	[ "$sock" = 0 ] || fail "the UDP socket path received $sock datagrams"
	[ "$bad" = 0 ] || fail "levee_xdp_unparsable_total grew by $bad"
	[ "$full" = 0 ] || fail "levee_xdp_tx_full_total grew by $full"
	if [ "$GATE" = 1 ]; then
		red=$(delta 'levee_gate_packets_total{reason="redirect_xsk"}')
		[ "$red" = "$recv" ] || fail "the gate redirected $red datagrams to AF_XDP, AF_XDP received $recv"
		ok "the gate's levee_xdp redirected all $red datagrams to AF_XDP"
	fi
	ok "every UDP answer came through AF_XDP ($sent sent), none through the socket"
	python3 .ci/check-conformance.py "$out/report.json" tests/golden/known-differences.txt \
		|| fail "hard differences through AF_XDP beyond tests/golden/known-differences.txt (report: $out/report.md)"
	stop_levee
}

for m in "${MODES[@]}"; do run_mode "$m"; done
echo "PASS: tests/xdp/conformance.sh (${MODES[*]})"
