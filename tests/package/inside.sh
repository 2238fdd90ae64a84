#!/bin/bash
# Runs inside the booted Debian 12 container (tests/package/run.sh starts it
# as a oneshot unit after multi-user.target). Writes its log and the verdict
# (last line RESULT=PASS or RESULT=FAIL) to /root/result, then powers off.
exec > /root/result 2>&1
step() { echo "--- $*"; }
fail() { echo "FAIL: $*"; echo RESULT=FAIL; systemctl poweroff --no-block; exit 1; }
q() { dig +time=2 +tries=2 +norec @127.0.0.1 "$@"; }
tasks_clean() {   # every thread of PID: uid levee, no capability in any set
    local pid=$1 uid t
    uid=$(id -u levee)
    local st n=0
    for t in /proc/"$pid"/task/*; do
        # A thread may end between the listing and the read (the thread
        # that frees a replaced zone set after a reload does): skip it.
        st=$(cat "$t/status" 2>/dev/null) || continue
        n=$((n + 1))
        grep -q "^Uid:[[:space:]]*$uid[[:space:]]*$uid[[:space:]]*$uid[[:space:]]*$uid$" <<< "$st" || { echo "$st"; return 1; }
        for k in CapInh CapPrm CapEff CapAmb; do
            grep -q "^$k:[[:space:]]*0000000000000000$" <<< "$st" || { grep Cap <<< "$st"; return 1; }
        done
    done
    [ "$n" -gt 0 ]
}

step "dpkg -i"
dpkg -i /root/levee.deb || fail "dpkg -i"
step "the user, the directories, the conffile"
id levee || fail "no levee user"
[ "$(stat -c %U:%G:%a /var/lib/levee)" = levee:levee:750 ] || fail "/var/lib/levee: $(stat -c %U:%G:%a /var/lib/levee)"
[ "$(stat -c %U:%G:%a /etc/levee/levee.toml)" = root:levee:640 ] || fail "levee.toml: $(stat -c %U:%G:%a /etc/levee/levee.toml)"
dpkg-query -W -f='${Conffiles}\n' levee | grep -q /etc/levee/levee.toml || fail "levee.toml is not a conffile"
man -w levee >/dev/null 2>&1 || [ -f /usr/share/man/man8/levee.8.gz ] || fail "no levee(8)"
[ -f /usr/share/man/man5/levee.toml.5.gz ] || fail "no levee.toml(5)"
[ -f /usr/share/bash-completion/completions/levee ] && [ -f /usr/share/zsh/vendor-completions/_levee ] || fail "completions"

step "started by the package"
for _ in $(seq 50); do systemctl is-active -q levee && break; sleep 0.2; done
systemctl is-active levee || { journalctl -u levee --no-pager | tail -30; fail "not active after install"; }
step "a query before any zone: REFUSED"
q example.com SOA | tee /tmp/a
grep -q "status: REFUSED" /tmp/a || fail "no REFUSED before a zone exists"

step "a zone file, then systemctl reload"
install -m 644 /root/example.com.zone /etc/levee/zones/example.com.zone
systemctl reload levee || fail "reload"
for _ in $(seq 50); do q example.com SOA > /tmp/a; grep -q "status: NOERROR" /tmp/a && break; sleep 0.2; done
cat /tmp/a
grep -q "status: NOERROR" /tmp/a && grep -q "flags: qr aa" /tmp/a || fail "not served after reload"
q www.example.com A +short | grep -q 192.0.2.1 || fail "www.example.com A"

step "the process: user levee, no capability left"
PID=$(systemctl show -P MainPID levee)
grep -E "^(Name|Uid|Gid|Cap)" /proc/"$PID"/status
tasks_clean "$PID" || fail "a thread keeps root or a capability"
journalctl -u levee --no-pager | grep -q "capabilities dropped after binding" || fail "no drop logged"
levee ctl -s /run/levee/levee.sock status || fail "levee ctl"

step "stop and start"
systemctl stop levee; systemctl is-active -q levee && fail "still active after stop"
systemctl start levee || fail "start"
q example.com SOA | grep -q "status: NOERROR" || fail "not served after restart"

step "apt-get remove: stops it, keeps the zone data"
apt-get remove -y levee || fail "apt-get remove"
pgrep -x levee && fail "levee still running after remove"
[ ! -e /usr/bin/levee ] || fail "/usr/bin/levee left"
[ -d /var/lib/levee ] && [ -f /etc/levee/zones/example.com.zone ] || fail "zone data removed by remove"
step "apt-get purge: deletes it"
apt-get purge -y levee || fail "apt-get purge"
[ ! -e /var/lib/levee ] && [ ! -e /etc/levee ] || fail "purge left $(ls -d /var/lib/levee /etc/levee 2>/dev/null)"

journalctl -u levee --no-pager | tail -20
echo RESULT=PASS
systemctl poweroff --no-block
