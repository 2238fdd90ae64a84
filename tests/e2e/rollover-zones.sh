# shellcheck shell=bash
# Sourced by the e2e bed's mkzones.sh right after signed-zones.sh (the
# hook of tests/e2e/rollover.sh): the zones are made as for
# tests/e2e/signed.sh, then every TTL of alpha.example. and the TTL of its
# DS in example. are cut to $ROLL_TTL seconds, so that a rollover of
# alpha.example. runs on an accelerated clock (its waits are these TTLs
# plus levee's propagation-delay) while resolvers keep it in their caches
# for just as long.
ROLL_TTL=${ROLL_TTL:-5}
eval "signed_sign() $(declare -f sign | tail -n +2)"
sign() { # sign ZONE OUTDIR [nsec3]
    signed_sign "$@" || return
    local z=$1 f
    f=$2/$(zone_file "$z")
    case $z in
        alpha.example.) sed -i -E "s/^([^[:space:]]+)[[:space:]]+[0-9]+[[:space:]]/\1\t$ROLL_TTL\t/" "$f";;
        example.) sed -i -E "s/^(alpha\.example\.)[[:space:]]+[0-9]+([[:space:]]+IN[[:space:]]+DS[[:space:]])/\1\t$ROLL_TTL\2/" "$f";;
    esac
}
