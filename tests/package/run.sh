#!/bin/bash
# The Debian package on a clean Debian 12 machine booted with systemd
# (issue 22, check 1): tests/package/inside.sh runs in a systemd-nspawn
# container (its own network namespace: loopback only) and checks dpkg -i,
# the user and directories, `systemctl start`/`reload`/`stop`, a query
# answered, the process's user and capabilities (every thread, every set),
# `levee ctl`, `apt-get remove` (stops it, keeps zone data) and `purge`.
#
#   tests/package/run.sh target/debian/levee_*.deb
#
# The Debian tree comes from debootstrap once and is cached in
# /var/cache/levee-pkgtest (about 300 MB); each run boots a fresh copy.
# Needs root, systemd-container and debootstrap. Bounded: the container is
# stopped after 240 s whatever happens.
set -euo pipefail
DEB=$(readlink -f "${1:?usage: run.sh LEVEE.deb}")
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=/var/cache/levee-pkgtest/bookworm
MIRROR=${MIRROR:-http://deb.debian.org/debian}
if [ ! -x "$CACHE/lib/systemd/systemd" ]; then
    rm -rf "$CACHE.new"
    mkdir -p "$(dirname "$CACHE")"
    timeout 900 debootstrap --variant=minbase \
        --include=systemd,systemd-sysv,dbus,bind9-dnsutils,procps,adduser,man-db \
        bookworm "$CACHE.new" "$MIRROR" >/dev/null
    mv "$CACHE.new" "$CACHE"
fi
ROOT=$(mktemp -d /tmp/levee-pkgtest.XXXXXX)
trap 'rm -rf "$ROOT"' EXIT
cp -a "$CACHE/." "$ROOT/"
cp "$DEB" "$ROOT/root/levee.deb"
install -m 755 "$HERE/inside.sh" "$ROOT/root/inside.sh"
cat > "$ROOT/root/example.com.zone" <<'ZONE'
$ORIGIN example.com.
$TTL 3600
@    SOA ns1 hostmaster 2026120601 7200 3600 1209600 300
@    NS  ns1
ns1  A   127.0.0.1
www  A   192.0.2.1
ZONE
cat > "$ROOT/etc/systemd/system/levee-pkgtest.service" <<'UNIT'
[Unit]
Description=levee package test (tests/package/inside.sh)
After=multi-user.target
[Service]
Type=oneshot
ExecStart=/root/inside.sh
UNIT
mkdir -p "$ROOT/etc/systemd/system/multi-user.target.wants"
ln -sf /etc/systemd/system/levee-pkgtest.service "$ROOT/etc/systemd/system/multi-user.target.wants/"
# --register=no --keep-unit: no machined or system bus needed on the host.
rc=0
timeout 240 systemd-nspawn -q -D "$ROOT" -M "levee-pkgtest-$$" --register=no --keep-unit \
    --private-network -b --console=pipe >"$ROOT.console" 2>&1 || rc=$?
cat "$ROOT/root/result" 2>/dev/null || { echo "no result; the container's console:"; tail -40 "$ROOT.console"; }
rm -f "$ROOT.console"
if [ "$(tail -1 "$ROOT/root/result" 2>/dev/null)" != RESULT=PASS ]; then
    echo "package test FAILED (nspawn exit $rc)"
    exit 1
fi
echo "package test passed"
