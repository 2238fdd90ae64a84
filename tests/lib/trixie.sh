#!/bin/bash
# Debian 13 (trixie) peers beside the machine's Debian 12 ones.
#
# Debian 12's Knot 3.2, NSD 4.6 and kdig lack what several checks need:
# Knot serves DoT, DoQ and XoT only from 3.3/3.4, NSD consumes catalog
# zones from 4.9 and serves XoT from 4.7, and kdig speaks QUIC (+quic)
# only when built with ngtcp2. Debian 13 ships Knot 3.4.6 (kdig with
# +tls and +quic), NSD 4.12.0, BIND 9.20 and dnsperf 2.14 (-m dot). They
# live in a chroot made by debootstrap, so the host's packages stay as
# they are; the chroot shares the host's network (loopback included).
#
#   tests/lib/trixie.sh setup        make the chroot if it is not there
#                                    (debootstrap + apt-get; ~1 min, ~400 MB;
#                                    root; idempotent)
#   tests/lib/trixie.sh run CMD...   run CMD in it. The host's /tmp and the
#                                    directories in $TRIXIE_BIND (space
#                                    separated; the repository by default)
#                                    appear at the same paths inside, with
#                                    /proc and /dev. The mounts are made in a
#                                    private mount namespace and vanish with
#                                    CMD. The PID of this command is CMD's
#                                    (each step execs the next), so a daemon
#                                    started in the background is stopped by
#                                    killing that PID.
#   tests/lib/trixie.sh root         print the chroot's path
#   tests/lib/trixie.sh versions     print the peers' versions
#
# The chroot's path: $LEVEE_TRIXIE (default /var/lib/levee-tests/trixie).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
R=${LEVEE_TRIXIE:-/var/lib/levee-tests/trixie}
MIRROR=${TRIXIE_MIRROR:-http://deb.debian.org/debian}
PACKAGES="knot knot-dnsutils nsd bind9 bind9-dnsutils dnsperf ca-certificates openssl"
# The marker names the package list: a changed list makes a new chroot.
MARK="$R/.levee-ready-$(echo "$PACKAGES" | md5sum | cut -c1-8)"

die() { echo "tests/lib/trixie.sh: $*" >&2; exit 2; }

setup() {
    [ -e "$MARK" ] && return 0
    [ "$(id -u)" = 0 ] || die "setup must run as root (debootstrap, chroot)"
    command -v debootstrap >/dev/null || apt-get install -y -q debootstrap >/dev/null
    local new="$R.new"
    rm -rf "$new"
    mkdir -p "$(dirname "$R")"
    echo "trixie: debootstrap into $new" >&2
    debootstrap --variant=minbase trixie "$new" "$MIRROR" >"$new.log" 2>&1 ||
        { tail -20 "$new.log" >&2; die "debootstrap failed (log: $new.log)"; }
    # No service starts inside the chroot when a package is installed.
    printf '#!/bin/sh\nexit 101\n' >"$new/usr/sbin/policy-rc.d"
    chmod 755 "$new/usr/sbin/policy-rc.d"
    unshare -m sh -c "mount -t proc proc '$new/proc' && mount --bind /dev '$new/dev' &&
        chroot '$new' sh -c 'apt-get update -q && DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -q --no-install-recommends $PACKAGES'" >>"$new.log" 2>&1 ||
        { tail -20 "$new.log" >&2; die "apt-get in the chroot failed (log: $new.log)"; }
    rm -rf "$R"
    mv "$new" "$R"
    touch "$R/.levee-ready-$(echo "$PACKAGES" | md5sum | cut -c1-8)"
    echo "trixie: ready at $R" >&2
}

run() {
    [ -e "$MARK" ] || die "no chroot at $R: run 'tests/lib/trixie.sh setup' first"
    [ "$(id -u)" = 0 ] || die "run needs root (chroot)"
    [ $# -gt 0 ] || die "run: no command"
    local binds="/tmp ${TRIXIE_BIND-$REPO}" script="" d
    for d in $binds; do
        d=$(cd "$d" && pwd -P) || die "TRIXIE_BIND: no directory $d"
        script+="mkdir -p '$R$d' && mount --rbind '$d' '$R$d' && "
    done
    # $0 is "trixie", the command and its arguments follow as "$@".
    exec unshare -m sh -c "mount -t proc proc '$R/proc' && mount --rbind /dev '$R/dev' &&
        ${script}exec chroot '$R' \"\$@\"" trixie "$@"
}

case "${1:-}" in
    setup) setup ;;
    run) shift; run "$@" ;;
    root) echo "$R" ;;
    versions)
        run sh -c 'knotd --version; kdig --version; nsd -v 2>&1 | head -1; named -v; dnsperf -h 2>&1 | head -1 || true'
        ;;
    *) die "usage: tests/lib/trixie.sh setup | run CMD... | root | versions" ;;
esac
