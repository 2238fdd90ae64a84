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
