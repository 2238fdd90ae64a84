#!/bin/bash
# The run of tests/e2e/rollover.sh, copied into the temporary bed and run
# from there (it re-executes itself in the bed's private namespace): the
# hierarchy up with levee as the SUT (instance 1 signs alpha.example. with
# short timers, instance 2 is its secondary), unbound and kresd up once
# (their caches kept through the rollovers, as a real resolver's), then
# three rollovers of alpha.example.: a ZSK rollover and a KSK rollover
# started by `levee ctl key-rollover`, and an algorithm rollover (ECDSA
# P-256 to Ed25519) started by changing the policy and restarting
# instance 1. The script plays the registry: when alpha.example. publishes
# a CDS that the parent example. lacks, it writes the CDS into example.'s
# zone file as the DS and reloads example. on both instances (as a
# registry's CDS scanner would); levee's parent check sees the DS at both
# and the rollover goes on. At every state of alpha.example. met (DNSKEYs,
# CDS, signing keys), both validating resolvers must validate its names
# (AD=1, and a denial) and DNSViz must report nothing beyond the bed's
# knotd baseline. Exit 0 only if every check passed and each rollover
# ended.
set -uo pipefail
. "$(dirname "$0")/lib/common.sh"
e2e_enter_ns "$@"
. "$E2E_DIR/lib/hier.sh"
rm -rf "$E2E_RESULTS"; mkdir -p "$E2E_RESULTS"
hier_up
unbound_up
kresd_up
export PYTHONPATH=$E2E_DIR/lib/pyshim${PYTHONPATH:+:$PYTHONPATH}
OUT=$E2E_RESULTS/rollover.txt; : > "$OUT"
pass=0; fail=0
check() { # check OK|"" WHAT [DETAIL]
    if [ -n "$1" ]; then pass=$((pass+1)); echo "PASS $2" | tee -a "$OUT"
    else fail=$((fail+1)); echo "FAIL $2${3:+: $3}" | tee -a "$OUT"; fi
}
q() { dig -4 +norec +time=2 +tries=2 "$@" +noall +answer +nomultiline 2>/dev/null; }
ctl() { "$LEVEE_BIN" ctl --socket "$E2E_RUN/$1/store/levee.sock" "${@:2}"; }
Z=alpha.example.

# The state of alpha.example. at instance 1: "flags/alg/tag" of each DNSKEY,
# the CDS, the key tags signing the SOA.
state() {
    local keys cds sigs
    keys=$(q @"$SUT_ADDR1" "$Z" DNSKEY | dnssec-dsfromkey -1 -f - "$Z" 2>/dev/null | awk '{print $4"/"$5}' | sort | tr '\n' ' ')
    keys="$keys| flags $(q @"$SUT_ADDR1" "$Z" DNSKEY | awk '$4 == "DNSKEY" {print $5"/"$7}' | sort | tr '\n' ' ')"
    cds=$(q @"$SUT_ADDR1" "$Z" CDS | awk '$4 == "CDS" {print $5"/"$6}' | sort | tr '\n' ' ')
    sigs=$(q +dnssec @"$SUT_ADDR1" "$Z" SOA | awk '$4 == "RRSIG" {print $11"/"$6}' | sort | tr '\n' ' ')
    echo "keys [$keys] cds [$cds] soa-signers [$sigs]"
}
serial() { q @"$1" "$2" SOA | awk '$4 == "SOA" {print $7}'; }

# The registry: the CDS of alpha.example., if example. does not serve it
# as the DS yet, goes into example.'s file; example. reloaded on both.
registry() {
    local cds ds f s
    cds=$(q @"$SUT_ADDR1" "$Z" CDS | awk '$4 == "CDS" { d = ""; for (i = 8; i <= NF; i++) d = d $i; print $5, $6, $7, toupper(d) }' | sort)
    [ -n "$cds" ] || return 0
    ds=$(q @"$SUT_ADDR1" "$Z" DS | awk '$4 == "DS" { d = ""; for (i = 8; i <= NF; i++) d = d $i; print $5, $6, $7, toupper(d) }' | sort)
    [ "$cds" = "$ds" ] && return 0
    f=$ZONES_DIR/example.zone
    s=$(awk '$4 == "SOA" {print $7}' "$f")
    awk -v z="$Z" '!($1 == z && $4 == "DS")' "$f" | awk -v s="$s" 'BEGIN{OFS="\t"} $4 == "SOA" {$7 = s + 1} {print}' > "$f.new"
    printf '%s\n' "$cds" | while read -r a b c d; do printf '%s\t%s\tIN\tDS\t%s %s %s %s\n' "$Z" "${ROLL_TTL:-5}" "$a" "$b" "$c" "$d"; done >> "$f.new"
    mv "$f.new" "$f"
    ctl sut1 reload example. >/dev/null && ctl sut2 reload example. >/dev/null
    log "registry: example. now serves the DS of alpha.example.: $(printf '%s\n' "$cds" | awk '{print $1"/"$2}' | tr '\n' ' ')"
}

STEP=0
# Every check of one state: both instances serve the same version, both
# resolvers validate alpha.example.'s names and a denial, DNSViz is clean.
check_state() {
    local st=$1 i r a n s1 s2
    STEP=$((STEP + 1))
    for i in $(seq 1 40); do
        s1=$(serial "$SUT_ADDR1" "$Z"); s2=$(serial "$SUT_ADDR2" "$Z")
        [ -n "$s1" ] && [ "$s1" = "$s2" ] && break
        sleep 0.25
    done
    check "$([ -n "$s1" ] && [ "$s1" = "$s2" ] && echo y)" "step $STEP ($st): ns2 serves ns1's serial" "$s1 vs $s2"
    for r in "unbound=$UNBOUND_ADDR" "kresd=$KRESD_ADDR"; do
        a=${r#*=}
        for n in "www.$Z A NOERROR" "foo.wild.$Z TXT NOERROR" "$Z MX NOERROR" "$Z DNSKEY NOERROR" "nx.$Z A NXDOMAIN"; do
            set -- $n
            out=$(dig -4 @"$a" "$1" "$2" +time=5 +tries=2 +adflag +noall +comments +answer 2>&1)
            rc=$(printf '%s\n' "$out" | sed -n 's/.*status: \([A-Z]*\),.*/\1/p' | head -1)
            ad=$(printf '%s\n' "$out" | grep -qE '^;; flags:[^;]* ad[ ;]' && echo 1 || echo 0)
            check "$([ "$rc" = "$3" ] && [ "$ad" = 1 ] && echo y)" "step $STEP: ${r%%=*} validates $1 $2 ($3, AD)" "rc=$rc ad=$ad"
        done
    done
    if E2E_DV_NAMES="$Z www.$Z foo.wild.$Z www.broken.example." "$E2E_DIR/dnsviz.sh" > "$E2E_RESULTS/dnsviz-step$STEP.log" 2>&1; then
        check y "step $STEP: DNSViz clean (nothing beyond the knotd baseline)"
    else
        check "" "step $STEP: DNSViz clean" "$(grep FAIL "$E2E_RESULTS/dnsviz.txt" | head -5 | tr '\n' ' ')"
    fi
    cp "$E2E_RESULTS/dnsviz.txt" "$E2E_RESULTS/dnsviz-step$STEP.txt" 2>/dev/null
}

# follow NAME LIMIT DONE-TEST: checks every new state until DONE-TEST passes.
follow() {
    local name=$1 limit=$2 done_test=$3 last="" st t0=$SECONDS states=0
    while [ $((SECONDS - t0)) -lt "$limit" ]; do
        registry
        st=$(state)
        if [ "$st" != "$last" ]; then
            log "$name: $st"; echo "state $name: $st" >> "$OUT"
            check_state "$name: $st"; last=$st; states=$((states + 1))
            continue
        fi
        if $done_test "$st"; then
            check "$([ "$states" -ge "${4:-3}" ] && echo y)" "$name: ended after $states states" "$states"
            return 0
        fi
        sleep 1
    done
    check "" "$name ended within ${limit}s" "last state $last"
}
one_zsk() { [ "$(ctl sut1 keys "$Z" | grep -c 'role=ZSK')" = 1 ]; }
one_ksk() { [ "$(ctl sut1 keys "$Z" | grep -c 'role=KSK')" = 1 ] && ! ctl sut1 keys "$Z" | grep -q 'state=ready'; }
only_ed25519() { ! ctl sut1 keys "$Z" | grep -q 'algorithm=13'; }

check_state "start: $(state)"
zsk0=$(ctl sut1 keys "$Z" | awk '/role=ZSK/ {print $2}')
ctl sut1 key-rollover "$Z" zsk >> "$OUT" 2>&1
follow "ZSK rollover" 120 one_zsk 3
check "$([ "$(ctl sut1 keys "$Z" | awk '/role=ZSK/ {print $2}')" != "$zsk0" ] && echo y)" "ZSK rollover: a new ZSK replaced $zsk0"

ksk0=$(ctl sut1 keys "$Z" | awk '/role=KSK/ {print $2}')
ctl sut1 key-rollover "$Z" ksk >> "$OUT" 2>&1
follow "KSK rollover" 150 one_ksk 3
check "$([ "$(ctl sut1 keys "$Z" | awk '/role=KSK/ {print $2}')" != "$ksk0" ] && echo y)" "KSK rollover: a new KSK replaced $ksk0"
check "$(grep -q 'the parent serves the new DS' "$E2E_RUN/sut1/sut.log" && echo y)" "KSK rollover: levee's parent check saw the DS at both servers"

echo ed25519 > "$E2E_RUN/alpha-alg"
# The restart loads alpha.example. from its file, whose serial is below
# the one served (each re-signing raised it; levee does not keep it across
# a restart, a known problem): the operator raises the file's serial, or
# the secondary would keep the older version.
s=$(serial "$SUT_ADDR1" "$Z")
f=$ZONES_DIR/alpha.example.zone
awk -v s="$s" 'BEGIN{OFS="\t"} $4 == "SOA" {$7 = s + 1} {print}' "$f" > "$f.new" && mv "$f.new" "$f"
stop_one sut1
start_bg sut1 "$E2E_RUN/sut1/sut2.log" "$E2E_DIR/rollover-sut.sh" "$SUT_ADDR1" "$E2E_RUN/sut1" "$ZONES_DIR"
for i in $(seq 1 60); do [ -n "$(serial "$SUT_ADDR1" "$Z")" ] && break; sleep 0.5; done
follow "algorithm rollover" 200 only_ed25519 4
check "$(q @"$SUT_ADDR1" "$Z" DNSKEY | awk '$4 == "DNSKEY" && $7 != 15' | grep -q . || echo y)" "algorithm rollover: only Ed25519 DNSKEYs left"

echo "rollover ($E2E_SUT): $pass passed, $fail failed" | tee -a "$OUT"
[ "$fail" = 0 ]
