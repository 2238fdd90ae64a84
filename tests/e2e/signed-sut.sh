#!/bin/bash
# The e2e bed's SUT command for tests/e2e/signed.sh (LEVEE_CMD of the bed's
# lib/sut/levee.sh):  signed-sut.sh ADDR RUN_DIR ZONES_DIR
# One levee instance: its own storage directory (RUN_DIR/store) holding a
# copy of the keys made by `levee sign-zone` (E2E_RUN/levee-keys), and a
# configuration serving every <zone>zone file of ZONES_DIR; the zones listed
# in E2E_RUN/levee-zones.txt ("zone denial algorithm split", written by
# signed-zones.sh) are loaded unsigned and signed by levee with the
# [[dnssec-policy]] that matches how their keys were made.
set -euo pipefail
addr=$1 run=$2 zones=$3
: "${LEVEE_BIN:?}"
e2e_run=$(dirname "$run")
store=$run/store
rm -rf "$store"; mkdir -m 0700 "$store"
cp -a "$e2e_run/levee-keys" "$store/keys"
conf=$run/levee.toml
{
    echo 'version = 1'
    echo '[server]'
    echo "listen = [\"$addr:53\"]"
    echo "storage-dir = \"$store\""
    while read -r z denial alg split; do
        echo '[[dnssec-policy]]'
        echo "name = \"e2e-${z%.}\""
        echo "algorithm = \"$alg\""
        echo "denial = \"$denial\""
        echo "split-keys = $split"
    done < "$e2e_run/levee-zones.txt"
    for f in "$zones"/*.zone; do
        z=$(basename "$f"); z=${z%zone}
        echo '[[zone]]'
        echo "name = \"$z\""
        echo "file = \"$f\""
        if awk -v z="$z" '$1 == z { found = 1 } END { exit !found }' "$e2e_run/levee-zones.txt"; then
            echo 'dnssec-signing = true'
            echo "dnssec-policy = \"e2e-${z%.}\""
        fi
    done
} > "$conf"
exec "$LEVEE_BIN" serve -c "$conf"
