# shellcheck shell=bash
# Sourced by the e2e bed's mkzones.sh (a temporary copy; tests/e2e/signed.sh
# inserts the line that sources it just before "# --- leaves"), after the
# bed's keygen() and sign() are defined. It changes how the three zones
# levee signs itself are prepared; every other zone is made by the bed as
# before (broken.example. and dsmismatch.example. stay pre-signed by
# dnssec-signzone, like the root, ref.example. and the unsigned ones).
#
# For example., alpha.example. and beta.example.:
#   keygen ZONE ALG      records the algorithm the bed asks for (no BIND key);
#   sign ZONE DIR [nsec3] makes the zone's keys with `levee sign-zone` into
#                        $E2E_RUN/levee-keys/<zone>/ (levee's key store
#                        layout), takes the DS record it prints ("for the
#                        parent: ...") as the dsset the bed puts into the
#                        parent, and writes the UNSIGNED zone (one record a
#                        line, absolute names: named-compilezone -s full) to
#                        DIR, for levee to sign when it loads it;
#   ldns-verify-zone     the bed's sanity check, for these three, verifies
#                        the copy `levee sign-zone` signed offline and checks
#                        that the file levee is given has no DNSSEC record.
# With LEVEE_E2E_COMPACT=1, alpha.example. and beta.example. are listed with
# the denial "compact" (their offline copy, only checked, keeps NSEC/NSEC3).
# $E2E_RUN/levee-zones.txt lists "zone denial algorithm split" for the SUT
# adapter (signed-sut.sh), which writes the matching [[dnssec-policy]].
: "${LEVEE_BIN:?LEVEE_BIN must name the levee binary}"

LEVEE_KEYS=$E2E_RUN/levee-keys
LEVEE_ZONES=$E2E_RUN/levee-zones.txt
rm -rf "$LEVEE_KEYS"; mkdir -m 0700 "$LEVEE_KEYS"
: > "$LEVEE_ZONES"
declare -A LEVEE_ALG
# KSK+ZSK or one combined key (CSK), our choice per zone: both kinds are served.
declare -A LEVEE_SPLIT=([example.]=false [alpha.example.]=true [beta.example.]=true)

levee_signs() { case $1 in example.|alpha.example.|beta.example.) return 0;; *) return 1;; esac; }

eval "bed_keygen() $(declare -f keygen | tail -n +2)"
eval "bed_sign() $(declare -f sign | tail -n +2)"

keygen() { # keygen ZONE ALG
    if levee_signs "$1"; then
        case $2 in
            ECDSAP256SHA256) LEVEE_ALG[$1]=ecdsap256sha256;;
            ED25519) LEVEE_ALG[$1]=ed25519;;
            *) echo "signed-zones.sh: levee does not sign with $2 ($1)" >&2; return 1;;
        esac
    else
        bed_keygen "$@"
    fi
}

sign() { # sign ZONE OUTDIR [nsec3]
    levee_signs "$1" || { bed_sign "$@"; return; }
    local z=$1 out=$2 denial=${3:-nsec} f args ds
    f=$(zone_file "$z")
    args=(--keys "$LEVEE_KEYS" --origin "$z" --denial "$denial" --algorithm "${LEVEE_ALG[$z]:?no keygen for $z}")
    [ "${LEVEE_SPLIT[$z]}" = true ] && args+=(--split)
    "$LEVEE_BIN" sign-zone "${args[@]}" -o "$S/$f.levee-signed" "$S/$f.unsigned" 2> "$S/$f.levee-sign.log" \
        || { cat "$S/$f.levee-sign.log" >&2; return 1; }
    # "new key 12345 in DIR; for the parent: alpha.example. 3600 IN DS 12345 13 2 ABCD..."
    ds=$(sed -n 's/.*for the parent: //p' "$S/$f.levee-sign.log")
    if [ "$(printf '%s\n' "$ds" | grep -c " IN DS ")" != 1 ]; then
        echo "signed-zones.sh: levee sign-zone printed no single DS for $z:" >&2; cat "$S/$f.levee-sign.log" >&2; return 1
    fi
    # the bed's dsset format ("owner IN DS ..."): its parent step adds the TTL
    printf '%s\n' "$ds" | sed -E 's/^([^ ]+) [0-9]+ IN DS /\1 IN DS /' > "$S/dsset-$z"
    named-compilezone -q -s full -o "$out/$f" "$z" "$S/$f.unsigned" >/dev/null
    [ "${LEVEE_E2E_COMPACT:-0}" = 1 ] && [ "$z" != example. ] && denial=compact
    printf '%s %s %s %s\n' "$z" "$denial" "${LEVEE_ALG[$z]}" "${LEVEE_SPLIT[$z]}" >> "$LEVEE_ZONES"
}

ldns-verify-zone() { # the bed calls: ldns-verify-zone FILE
    local f=${!#} z
    z=$(basename "$f"); z=${z%zone}
    if [ "$(dirname "$f")" = "$ZONES_DIR" ] && levee_signs "$z"; then
        if grep -qE '[[:space:]](RRSIG|DNSKEY|NSEC|NSEC3|NSEC3PARAM)[[:space:]]' "$f"; then
            echo "signed-zones.sh: $f, given to levee to sign, already has DNSSEC records" >&2; return 1
        fi
        command ldns-verify-zone "${@:1:$#-1}" "$S/$(basename "$f").levee-signed"
    else
        command ldns-verify-zone "$@"
    fi
}
