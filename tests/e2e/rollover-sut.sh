#!/bin/bash
# The e2e bed's SUT command for tests/e2e/rollover.sh:
#   rollover-sut.sh ADDR RUN_DIR ZONES_DIR
# As signed-sut.sh (the zones levee signs, with the keys `levee sign-zone`
# made), except alpha.example.: instance 1 (127.53.0.2) signs it with a
# policy of short timers and the parent check asking both instances for
# the DS in example.; instance 2 takes it from instance 1 by transfer (one
# signer, its secondaries: two signers would each roll their own keys).
# The algorithm of alpha.example.'s policy is read from RUN_DIR/../alpha-alg
# when that file exists (the algorithm rollover writes it and restarts
# instance 1). The key store is made on the first start only: a restart
# keeps the rollover's keys.
set -euo pipefail
addr=$1 run=$2 zones=$3
: "${LEVEE_BIN:?}"
e2e_run=$(dirname "$run")
store=$run/store
if [ ! -d "$store/keys" ]; then
    rm -rf "$store"; mkdir -m 0700 "$store"
    cp -a "$e2e_run/levee-keys" "$store/keys"
fi
primary=127.53.0.2 secondary=127.53.0.4
conf=$run/levee.toml
{
    echo 'version = 1'
    echo '[server]'
    echo "listen = [\"$addr:53\"]"
    echo "storage-dir = \"$store\""
    while read -r z denial alg split; do
        echo '[[dnssec-policy]]'
        echo "name = \"e2e-${z%.}\""
        if [ "$z" = alpha.example. ] && [ -f "$e2e_run/alpha-alg" ]; then alg=$(cat "$e2e_run/alpha-alg"); fi
        echo "algorithm = \"$alg\""
        echo "denial = \"$denial\""
        echo "split-keys = $split"
        if [ "$z" = alpha.example. ]; then
            echo 'zsk-lifetime = 0'
            echo "propagation-delay = ${ROLL_PROPAGATION:-4}"
            echo "ds-ttl = ${ROLL_TTL:-5}"
            echo "parent-ds-check = [\"$primary:53\", \"$secondary:53\"]"
            echo 'ds-check-interval = 2'
        fi
    done < "$e2e_run/levee-zones.txt"
    for f in "$zones"/*.zone; do
        z=$(basename "$f"); z=${z%zone}
        echo '[[zone]]'
        echo "name = \"$z\""
        if [ "$z" = alpha.example. ] && [ "$addr" = "$secondary" ]; then
            echo "primaries = [\"$primary:53\"]"
            # (on lo every address is this host's: the NOTIFY may come from any)
            echo 'allow-notify = ["127.53.0.0/24"]'
            continue
        fi
        echo "file = \"$f\""
        if [ "$z" = alpha.example. ]; then
            echo 'allow-transfer = ["127.53.0.0/24"]'
            echo "notify = [\"$secondary:53\"]"
        fi
        if awk -v z="$z" '$1 == z { found = 1 } END { exit !found }' "$e2e_run/levee-zones.txt"; then
            echo 'dnssec-signing = true'
            echo "dnssec-policy = \"e2e-${z%.}\""
        fi
    done
} > "$conf"
exec "$LEVEE_BIN" serve -c "$conf"
