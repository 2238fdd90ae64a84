#!/bin/bash
# The run of tests/e2e/signed.sh, copied into the temporary bed and run
# from there (it re-executes itself in the bed's private namespace, like the
# bed's run-all.sh): the hierarchy up with levee as the SUT (two instances),
# the bed's three suites judged as run-all.sh judges them (the knotd
# baselines), then the checks that the three zones levee signs are signed
# by levee with the keys of its key directory. Exit 0 only if all pass.
set -uo pipefail
. "$(dirname "$0")/lib/common.sh"
e2e_enter_ns "$@"
. "$E2E_DIR/lib/hier.sh"
rm -rf "$E2E_RESULTS"; mkdir -p "$E2E_RESULTS"
hier_up

# Compact denial (tests/e2e/signed.sh --compact): in the zones levee signs
# with it, a name that does not exist is answered NOERROR with an NSEC owned
# by the name (RFC 9824 §3; NXDOMAIN only for a resolver that sets the CO
# flag, which unbound and kresd do not), so those cases expect NOERROR, no
# answer, AD=1. The zones are read from levee-zones.txt; no other case moves.
if [ "${LEVEE_E2E_COMPACT:-0}" = 1 ]; then
    compact_zones=$(awk '$2 == "compact" { print $1 }' "$E2E_RUN/levee-zones.txt" | tr '\n' ' ')
    [ -n "$compact_zones" ] || { echo "signed-inside.sh: --compact but no compact zone in levee-zones.txt" >&2; exit 1; }
    awk -v zones="$compact_zones" '
        BEGIN { n = split(zones, z, " ") }
        /^[[:space:]]*(#|$)/ { print; next }
        {
            for (i = 1; i <= n; i++) {
                if ($3 == "NXDOMAIN" && substr($1, length($1) - length(z[i]) + 1) == z[i] && $1 != z[i]) {
                    printf "%s %s NOERROR %s count=0\n", $1, $2, $4; next
                }
            }
            print
        }' "$E2E_DIR/cases/resolvers.txt" > "$E2E_RESULTS/resolvers-compact.txt"
    moved=$(diff "$E2E_DIR/cases/resolvers.txt" "$E2E_RESULTS/resolvers-compact.txt" | grep -c '^>')
    [ "$moved" -ge 2 ] || { echo "signed-inside.sh: only $moved NXDOMAIN case(s) in the compact zones ($compact_zones)" >&2; exit 1; }
    log "compact denial in $compact_zones: $moved NXDOMAIN cases expect NOERROR, no answer, AD=1"
    export E2E_RESOLVER_CASES=$E2E_RESULTS/resolvers-compact.txt
fi

declare -A rc
for s in resolvers zonemaster dnsviz; do
    log "===== $s ====="
    "$E2E_DIR/$s.sh"; rc[$s]=$?
done
# All resolver cases, each through both resolvers: none may go missing.
ncases=$(grep -cvE '^[[:space:]]*(#|$)' "${E2E_RESOLVER_CASES:-$E2E_DIR/cases/resolvers.txt}")
want="resolvers ($E2E_SUT): $((2 * ncases)) passed, 0 failed"
got=$(tail -n 1 "$E2E_RESULTS/resolvers.txt")
if [ "$got" != "$want" ]; then
    echo "FAIL $got (want $((2 * ncases)) passed, 0 failed)" >> "$E2E_RESULTS/resolvers.txt"; rc[resolvers]=1
fi

# ---- levee's own signatures --------------------------------------------------
LK=$E2E_RUN/levee-keys
S=$E2E_RUN/sign
OUT=$E2E_RESULTS/levee-signed.txt; : > "$OUT"
pass=0; fail=0
check() { # check OK|"" WHAT [DETAIL]
    if [ -n "$1" ]; then pass=$((pass+1)); echo "PASS $2" | tee -a "$OUT"
    else fail=$((fail+1)); echo "FAIL $2${3:+: $3}" | tee -a "$OUT"; fi
}
q() { dig -4 +norec +time=2 +tries=2 "$@" +noall +answer +nomultiline 2>/dev/null; }

# "flags algorithm public-key" of a key file, the public key derived from the
# private key by openssl (P-256: the last 64 octets of the SubjectPublicKeyInfo
# are X|Y, RFC 6605; Ed25519: the last 32, RFC 8080).
keyfile_dnskey() {
    local f=$1 flags alg n
    flags=$(sed -n 's/^flags: //p' "$f"); alg=$(sed -n 's/^algorithm: //p' "$f")
    case $alg in 13) n=64;; 15) n=32;; *) echo "unknown algorithm $alg in $f"; return;; esac
    printf '%s %s %s\n' "$flags" "$alg" "$(openssl pkey -in "$f" -pubout -outform DER | tail -c "$n" | base64 -w0)"
}
served_dnskeys() { # ADDR ZONE
    q @"$1" "$2" DNSKEY | awk '$4 == "DNSKEY" { k = ""; for (i = 8; i <= NF; i++) k = k $i; print $5, $7, k }' | sort
}
ds_set() { awk '$4 == "DS" { d = ""; for (i = 8; i <= NF; i++) d = d $i; print $5, $6, $7, toupper(d) }' | sort; }

while read -r z denial alg split; do
    f=$ZONES_DIR/$(zone_file "$z")
    # the file levee loads is unsigned
    n=$(awk '$4 ~ /^(RRSIG|DNSKEY|NSEC|NSEC3|NSEC3PARAM)$/' "$f" | wc -l)
    check "$([ "$n" = 0 ] && [ "$(awk '$4 == "SOA"' "$f" | wc -l)" = 1 ] && echo y)" \
        "$z: the zone file given to levee ($f) has an SOA and no DNSSEC record" "$n DNSSEC records"
    want_keys=1; [ "$split" = true ] && want_keys=2
    expect=$(for k in "$LK/${z%.}"/*.key; do keyfile_dnskey "$k"; done | sort)
    tags=$(sed -n 's/^tag: //p' "$LK/${z%.}"/*.key | sort -n | tr '\n' ' ')
    check "$([ "$(printf '%s\n' "$expect" | grep -c " $(case $alg in ed25519) echo 15;; *) echo 13;; esac) ")" = "$want_keys" ] && echo y)" \
        "$z: levee's key directory holds $want_keys $alg key(s) (tags $tags)" "$expect"
    parent_addr=$SUT_ADDR1; [ "$z" = example. ] && parent_addr=$ROOT_ADDR
    parent_ds=$(q @"$parent_addr" "$z" DS | ds_set)
    printed_ds=$(sed -E 's/^([^ ]+) IN DS /\1 0 IN DS /' "$S/dsset-$z" | ds_set)
    check "$([ -n "$parent_ds" ] && [ "$parent_ds" = "$printed_ds" ] && echo y)" \
        "$z: the parent's DS is the one levee sign-zone printed" "parent [$parent_ds] printed [$printed_ds]"
    for i in 1 2; do
        a=$SUT_ADDR1; [ "$i" = 2 ] && a=$SUT_ADDR2
        served=$(served_dnskeys "$a" "$z")
        check "$([ -n "$served" ] && [ "$served" = "$expect" ] && echo y)" \
            "$z @ns$i: the DNSKEY RRset served is exactly the keys of levee's key directory" \
            "served [$served] want [$expect]"
        # the DS of what is served (BIND's dnssec-dsfromkey) is the parent's
        ds=$(q @"$a" "$z" DNSKEY | dnssec-dsfromkey -2 -f - "$z" 2>/dev/null | sed -E 's/^([^ ]+)[[:space:]]+IN DS /\1 0 IN DS /' | ds_set)
        check "$([ -n "$ds" ] && [ "$ds" = "$parent_ds" ] && echo y)" \
            "$z @ns$i: the DS of the served KSK is the parent's DS" "[$ds] vs [$parent_ds]"
        # every signature of the apex is by a key of the directory
        q +dnssec @"$a" "$z" SOA | awk '$4 == "RRSIG" { print $11 }' | sort -u > "$E2E_RESULTS/tags"
        q +dnssec @"$a" "$z" DNSKEY | awk '$4 == "RRSIG" { print $11 }' | sort -u >> "$E2E_RESULTS/tags"
        sig_tags=$(sort -un "$E2E_RESULTS/tags" | tr '\n' ' ')
        check "$([ -n "$sig_tags" ] && [ "$sig_tags" = "$tags" ] && echo y)" \
            "$z @ns$i: the SOA and DNSKEY signatures are made by the directory's keys ($sig_tags)" "want $tags"
        if [ "$denial" = nsec3 ]; then
            p=$(q @"$a" "$z" NSEC3PARAM | awk '$4 == "NSEC3PARAM" { print $5, $6, $7, $8 }')
            check "$([ "$p" = "1 0 0 -" ] && echo y)" "$z @ns$i: NSEC3, RFC 9276 parameters (NSEC3PARAM $p)" "$p"
        elif [ "$denial" = compact ]; then
            # RFC 9824: no chain; a name that does not exist gets NOERROR and
            # one signed NSEC owned by it, next name \000.<name>, bitmap
            # RRSIG NSEC NXNAME (type 128); no NSEC3PARAM.
            out=$(dig -4 +norec +time=2 +tries=2 +dnssec @"$a" "nope.$z" A 2>&1)
            nsec=$(awk -v o="nope.$z" '$1 == o && $4 == "NSEC"' <<<"$out")
            p=$(q @"$a" "$z" NSEC3PARAM | awk '$4 == "NSEC3PARAM"' | wc -l)
            check "$(grep -q 'status: NOERROR' <<<"$out" && grep -qF "\\000.nope.$z" <<<"$nsec" \
                && grep -qwE 'TYPE128|NXNAME' <<<"$nsec" && awk -v o="nope.$z" '$1 == o && $4 == "RRSIG" && $5 == "NSEC"' <<<"$out" | grep -q . \
                && [ "$p" = 0 ] && echo y)" "$z @ns$i: compact denial, nope.$z: NOERROR, a signed NSEC \\000.nope.$z with NXNAME, no NSEC3PARAM" \
                "$(grep -E 'status|NSEC' <<<"$out") NSEC3PARAM: $p"
        else
            nsec=$(q @"$a" "$z" NSEC | awk '$4 == "NSEC"' | wc -l)
            p=$(q @"$a" "$z" NSEC3PARAM | awk '$4 == "NSEC3PARAM"' | wc -l)
            check "$([ "$nsec" = 1 ] && [ "$p" = 0 ] && echo y)" "$z @ns$i: NSEC at the apex, no NSEC3PARAM" "$nsec NSEC, $p NSEC3PARAM"
        fi
        # signed by this levee at load, with the keys it was given (none made)
        logf=$E2E_RUN/sut$i/sut.log
        signed=$(grep 'zone signed' "$logf" | grep -cF "zone=$z ")
        check "$([ "$signed" -ge 1 ] && echo y)" "$z @ns$i: levee logged 'zone signed'" "$(tail -n 5 "$logf")"
        check "$(cmp -s <(cat "$LK/${z%.}"/*.key) <(cat "$E2E_RUN/sut$i/store/keys/${z%.}"/*.key) \
            && [ "$(ls "$E2E_RUN/sut$i/store/keys/${z%.}" | wc -l)" = "$want_keys" ] && echo y)" \
            "$z @ns$i: levee's storage holds the given keys and no new one"
    done
done < "$E2E_RUN/levee-zones.txt"
for i in 1 2; do
    check "$(! grep -q 'new DNSSEC key' "$E2E_RUN/sut$i/sut.log" && echo y)" "ns$i: levee made no key of its own"
done

# ---- a change signed at reload -------------------------------------------------
# A name added to alpha.example. (NSEC) and beta.example. (NSEC3) with the
# serial left as it was; SIGHUP to both instances: levee re-signs, raises the
# serial by one, and the resolvers (restarted: empty caches, no aggressive
# NSEC use of the old chain) validate the new name, and a name the new NSEC
# record denies ("addee" sorts right after "added").
declare -A serial0
for z in alpha.example. beta.example.; do
    serial0[$z]=$(q @"$SUT_ADDR1" "$z" SOA | awk '$4 == "SOA" { print $7 }')
    echo "added.$z 3600 IN A 192.0.2.77" >> "$ZONES_DIR/$(zone_file "$z")"
done
for i in 1 2; do kill -HUP "$(cat "$PID_DIR/sut$i.pid")"; done
for i in 1 2; do
    a=$SUT_ADDR1; [ "$i" = 2 ] && a=$SUT_ADDR2
    for z in alpha.example. beta.example.; do
        want=$(( ${serial0[$z]:-0} + 1 )) got=""
        for _ in $(seq 1 50); do
            got=$(q @"$a" "$z" SOA | awk '$4 == "SOA" { print $7 }')
            [ "$got" = "$want" ] && break; sleep 0.2
        done
        check "$([ "$got" = "$want" ] && [ -n "$(q @"$a" "added.$z" A | awk '$4 == "A"')" ] && echo y)" \
            "$z @ns$i: reloaded with the change, re-signed, serial raised by levee (${serial0[$z]} -> $got)" "want $want"
    done
done
stop_one unbound; stop_one kresd; unbound_up; kresd_up
for r in "unbound=$UNBOUND_ADDR" "kresd=$KRESD_ADDR"; do
    rn=${r%%=*} ra=${r#*=}
    for z in alpha.example. beta.example.; do
        out=$(dig -4 @"$ra" "added.$z" A +time=8 +tries=2 +adflag 2>&1)
        check "$(grep -q 'status: NOERROR' <<<"$out" && grep -qE '^;; flags:[^;]* ad[ ;]' <<<"$out" \
            && grep -q '192\.0\.2\.77' <<<"$out" && echo y)" "$rn: added.$z A after the reload: NOERROR, AD=1" "$(head -n 12 <<<"$out")"
        out=$(dig -4 @"$ra" "addee.$z" A +time=8 +tries=2 +adflag 2>&1)
        nx=NXDOMAIN
        awk -v z="$z" '$1 == z && $2 == "compact" { f = 1 } END { exit !f }' "$E2E_RUN/levee-zones.txt" && nx=NOERROR
        check "$(grep -q "status: $nx" <<<"$out" && grep -qE '^;; flags:[^;]* ad[ ;]' <<<"$out" \
            && grep -q 'ANSWER: 0,' <<<"$out" && echo y)" \
            "$rn: addee.$z A after the reload: $nx, no answer, AD=1" "$(head -n 12 <<<"$out")"
    done
done

nz=$(wc -l < "$E2E_RUN/levee-zones.txt")
echo "levee-signed ($E2E_SUT): $nz zones signed by levee, $pass passed, $fail failed" | tee -a "$OUT"
rc[levee-signed]=$([ "$fail" = 0 ] && [ "$nz" = 3 ] && echo 0 || echo 1)

echo "================ e2e summary (SUT=$E2E_SUT, zones signed by levee) ================"
all=0
for s in resolvers zonemaster dnsviz levee-signed; do
    if [ "${rc[$s]}" = 0 ]; then st=PASS; else st=FAIL; all=1; fi
    printf '%-5s %-12s %s\n' "$st" "$s" "$(tail -n 1 "$E2E_RESULTS/$s.txt" 2>/dev/null)"
done
echo "results: $E2E_RESULTS"
exit $all
