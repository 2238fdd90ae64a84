# Sourced by tests/tls/run.sh and tests/quic/run.sh: the questions real
# clients ask levee over an encrypted transport, each compared with the
# same client's answer over plain TCP (issue 21, done-when check 1).
#
#   need_trixie_kdig        make the Debian 13 chroot if needed
#                           (tests/lib/trixie.sh setup) and fail unless its
#                           kdig is Knot 3.3 or later (+quic): never skip
#   tkdig ARGS...           the chroot's kdig (Knot 3.4)
#   $TKDIG                  the same as a command line (for timeout)
#   sections                read a dig/kdig answer on stdin, print its
#                           rcode, its flags and its records (sorted, blanks
#                           squeezed): what must be equal across transports
#   ENC_QUESTIONS           the questions (public conformance suite's zones):
#                           answers, a CNAME chain, NODATA, NXDOMAIN, a
#                           referral with glue, another zone, DNSSEC keys
#   check_shapes TCP_PORT   the rcodes and sections the questions must have
#                           over TCP (so equal answers are the right ones,
#                           not two identical failures)

ENC_QUESTIONS=(
	"conf.test SOA" "conf.test NS" "conf.test MX" "conf.test TXT" "conf.test HTTPS"
	"www.conf.test A" "c1.conf.test A" "mail.conf.test TXT" "nonexistent.conf.test A"
	"www.deleg.conf.test A" "sib-a.test SOA" "nsec3.test DNSKEY"
)

TRIXIE=${TRIXIE:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/trixie.sh}

TKDIG="$TRIXIE run kdig"
tkdig() { $TKDIG "$@"; }

need_trixie_kdig() {
	"$TRIXIE" setup || { echo "Debian 13 chroot: tests/lib/trixie.sh setup failed"; return 1; }
	local v
	v=$(tkdig --version 2>&1 | head -1)
	case $v in
		*"Knot DNS 3."[3-9]* | *"Knot DNS 3."[1-9][0-9]* | *"Knot DNS "[4-9].*) echo "kdig in the Debian 13 chroot: $v" ;;
		*) echo "Debian 13 chroot: no kdig 3.3+ (+quic): '$v'"; return 1 ;;
	esac
}

# kdig: ";; ->>HEADER<<- opcode: QUERY; status: NOERROR; id: 1" and
# ";; Flags: qr aa; QUERY: 1; ..."; dig: ";; ->>HEADER<<- opcode: QUERY,
# status: NOERROR, id: 1" and ";; flags: qr aa; QUERY: 1, ...". Records are
# the lines that are not comments.
sections() {
	awk '
		/->>HEADER<<-/ { s = $0; sub(/.*status: /, "", s); sub(/[,;].*/, "", s); print "rcode " s }
		/^;; [Ff]lags:/ { f = $0; sub(/^;; [Ff]lags: */, "", f); sub(/;.*/, "", f); print "flags " f }
		/^[^;]/ && NF { gsub(/[ \t]+/, " "); print "rr " $0 }
	' | sort
}

# The expected shape of each answer over TCP: rcode and what must appear.
check_shapes() {
	local port=$1 out
	shape() {
		out=$(timeout 10 kdig +tcp +norec @127.0.0.1 -p "$port" $1 | sections)
		grep -q "^rcode $2\$" <<<"$out" || { echo "over TCP, $1: not $2: $out"; return 1; }
		[ -z "${3:-}" ] || grep -Eq "$3" <<<"$out" || { echo "over TCP, $1: nothing like '$3': $out"; return 1; }
	}
	shape "conf.test SOA" NOERROR '^flags qr aa$' &&
		shape "nonexistent.conf.test A" NXDOMAIN '^rr conf.test. [0-9]+ IN SOA ' &&
		shape "mail.conf.test TXT" NOERROR '^rr conf.test. [0-9]+ IN SOA ' &&
		shape "c1.conf.test A" NOERROR '^rr www2.conf.test. [0-9]+ IN A 192.0.2.80$' &&
		shape "www.deleg.conf.test A" NOERROR '^rr deleg.conf.test. [0-9]+ IN NS ' &&
		shape "www.deleg.conf.test A" NOERROR '^rr ns1.deleg.conf.test. [0-9]+ IN A ' &&
		shape "www.deleg.conf.test A" NOERROR '^flags qr$'
}

# EDNS padding (RFC 7830, RFC 8467) against Knot 3.4, the golden behaviour:
#
#   start_knot_peer WORK ZONES PLAIN PORT CRT KEY
#                           Debian 13's knotd 3.4 (the chroot) serving the
#                           zones of ZONES/manifest.json (transfers from
#                           127.0.0.1 where the manifest allows them) on
#                           127.0.0.1: PLAIN for UDP and TCP, PORT for DoT
#                           (TCP) and DoQ (UDP), with CRT and KEY; its PID in
#                           KNOT_PID (the caller kills it); waits until it
#                           answers (at most 10 s)
#   compare_padding PROTO LEVEE_PORT KNOT_PORT CA
#                           kdig 3.4 over PROTO (+tls or +quic) asks levee
#                           and Knot the questions of ENC_QUESTIONS and
#                           PAD_QUESTIONS; each response must have Knot's
#                           size and be padded (an EDNS Padding option) or
#                           not as Knot's is; fails naming the question
#
# (Knot 3.4.6 pads every response with OPT over DoT and DoQ, whether or
# not the query had a Padding option, to a multiple of 468 octets: errors,
# BADVERS, each transfer message too; none without EDNS.)
PAD_QUESTIONS=(
	"other.example A" "www.conf.test A +edns=1" "conf.test SOA +noedns" "conf.test SOA +dnssec"
	"nsec3.test DNSKEY +dnssec" "nonexistent.nsec3.test A +dnssec" "sib-a.test AXFR"
)

start_knot_peer() {
	local wd=$1 zones=$2 plain=$3 port=$4 crt=$5 key=$6 i
	mkdir -p "$wd/knot"
	{
		printf 'server:\n    rundir: %s/knot\n    listen: 127.0.0.1@%s\n' "$wd" "$plain"
		printf '    listen-tls: 127.0.0.1@%s\n    listen-quic: 127.0.0.1@%s\n' "$port" "$port"
		printf '    key-file: %s\n    cert-file: %s\n' "$key" "$crt"
		printf 'acl:\n  - id: local_xfr\n    address: 127.0.0.1\n    action: transfer\n'
		printf 'database:\n    storage: %s/knot\n' "$wd"
		printf 'template:\n  - id: default\n    storage: %s\n    zonefile-sync: -1\n' "$zones"
		printf '    zonefile-load: whole\n    journal-content: none\n    semantic-checks: off\nzone:\n'
		python3 - "$zones/manifest.json" <<-'PY'
			import json, sys
			for z in json.load(open(sys.argv[1]))["zones"]:
			    print(f"  - domain: {z['origin']}\n    file: {z['file']}")
			    if z.get("knot_semantic_checks"):
			        print(f"    semantic-checks: {z['knot_semantic_checks']}")
			    if z.get("allow_transfer"):
			        print("    acl: local_xfr")
		PY
	} > "$wd/knot.conf"
	"$TRIXIE" run knotd -c "$wd/knot.conf" > "$wd/knot.log" 2>&1 &
	KNOT_PID=$!
	for i in $(seq 1 100); do
		timeout 2 kdig +tcp +timeout=1 +retry=0 @127.0.0.1 -p "$plain" conf.test SOA 2>/dev/null | grep -q "status: NOERROR" && return 0
		kill -0 "$KNOT_PID" 2>/dev/null || { tail -5 "$wd/knot.log"; return 1; }
		sleep 0.1
	done
	echo "Knot 3.4 did not answer within 10 s"; tail -5 "$wd/knot.log"; return 1
}

# "SIZE padded" or "SIZE unpadded" of kdig 3.4's exchange (ARGS...).
padding_of() {
	timeout 20 $TKDIG "$@" 2>&1 | awk '/^;; Received/ { r = $3 } /^;; PADDING:/ { p = 1 }
		END { if (r != "") print r, (p ? "padded" : "unpadded") }'
}

compare_padding() {
	local proto=$1 lp=$2 kp=$3 ca=$4 q l k padded=0
	local tls=(+tls-ca="$ca" +tls-hostname=dot.test +norec @127.0.0.1)
	for q in "${ENC_QUESTIONS[@]}" "${PAD_QUESTIONS[@]}"; do
		# shellcheck disable=SC2086
		k=$(padding_of "$proto" "${tls[@]}" -p "$kp" $q)
		# shellcheck disable=SC2086
		l=$(padding_of "$proto" "${tls[@]}" -p "$lp" $q)
		[ -n "$k" ] || { echo "Knot 3.4 $proto: no answer for $q"; return 1; }
		[ "$l" = "$k" ] || { echo "$proto $q: levee '$l', Knot 3.4 '$k'"; return 1; }
		case $k in
			*" padded")
				[ $(( ${k%% *} % 468 )) = 0 ] || { echo "$proto $q: Knot's $k is not a multiple of 468"; return 1; }
				padded=$((padded + 1))
				;;
		esac
	done
	[ "$padded" -ge 15 ] || { echo "$proto: only $padded padded answers: is padding compared at all?"; return 1; }
	echo "$proto: levee's sizes and padding equal Knot 3.4's for $(( ${#ENC_QUESTIONS[@]} + ${#PAD_QUESTIONS[@]} )) questions ($padded padded)"
}
