#!/usr/bin/env python3
"""Catalog zones (RFC 9432) interop, run by .ci/run (tests/catalog/run.sh).

  A. levee produces a catalog (catalog-role = "generate"); Knot DNS 3.2,
     BIND 9.18 and NSD 4.12 (Debian 13's, tests/lib/trixie.sh) consume it. Members m1 (no group) and m2 (group g1);
     then levee restarts with m1 removed, m2 moved to no group with its
     zone changed (serial 2) and m3 added. On each consumer: every member
     is served and its AXFR equals levee's, the removed one is gone.
     Knot maps groups to templates: its g1 template allows transfers with
     the key only, the default one without, so a regrouping is seen as
     that ACL changing. NSD maps a group to the pattern of that name
     (g1: key only; catalog-member-pattern "plain" for no group): the
     same checks. BIND 9.18 has no groups (it ignores the property); its
     "changed" member is m2's new content.
  R. A member reset (RFC 9432 §5.5) with NSD 4.12: levee serves a
     catalog written as a zone file (its producer's ids are hashes of the
     names, so it never resets); m9.test.'s data changes under the same
     serial (NSD keeps the old data), then its unique id changes: NSD
     drops the zone and transfers it anew (serves the new data).
  B. Knot produces the catalog (catalog-role: generate, members with
     catalog-role: member, catalog-group); levee consumes it with two
     [[catalog-template]]s (plain: transfers from loopback; g1: with the
     key only). The same changes are made by rewriting knot.conf and
     `knotc reload`; on levee: members served, AXFR equal to Knot's, the
     removed one gone, the regrouped one's ACL changed. Then the same
     with Debian 13's Knot 3.4 as the producer (part B34).

NSD 4.12 (catalog zones since 4.9) supports one consumer catalog per
server, groups (as patterns) and resets; it does not support `coo` (its
changelog: only relevant with several consumer catalogs), so no `coo`
check is made with NSD. The Debian 13 chroot is made if missing (root);
without it the script fails, it does not skip.

Every wait is bounded; all traffic on 127.0.0.1, ports 5850-5855.
Peers run as our own foreground processes, stopped by PID.
"""

import base64
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsigkeyring

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from procs import PROCS, Proc, in_trixie, trixie_ready  # noqa: E402  (tests/lib: shared by the system tests)

LEVEE = os.environ.get("LEVEE_BIN", "levee")
SECRET = base64.b64encode(b"levee catalog test key 0123456789").decode()
KR = dns.tsigkeyring.from_text({"xfr.": ("hmac-sha256", SECRET)})
RESULTS = []
LP, KC, BC, KP, LC, NC = 5850, 5851, 5852, 5853, 5854, 5855


def check(name, ok, detail=""):
    RESULTS.append((name, bool(ok), detail))
    print(f"{'PASS' if ok else 'FAIL'}  {name}  {detail}", flush=True)


def member_text(name, serial):
    return (f"$ORIGIN {name}\n$TTL 300\n@ SOA ns1 hostmaster {serial} 3600 600 86400 60\n@ NS ns1\n"
            f"ns1 A 127.0.0.1\nwww A 192.0.2.{serial}\ntxt TXT \"{name} version {serial}\"\n")


def soa(port, zone):
    """The served SOA serial, or the rcode's name."""
    q = dns.message.make_query(zone, "SOA")
    try:
        r = dns.query.udp(q, "127.0.0.1", port=port, timeout=0.5)
    except Exception:
        return "timeout"
    if r.rcode() != dns.rcode.NOERROR:
        return dns.rcode.to_text(r.rcode())
    for rr in r.answer:
        if rr.rdtype == dns.rdatatype.SOA:
            return rr[0].serial
    return "no SOA"


def wait(pred, timeout=20):
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if pred():
            return round(time.monotonic() - start, 2)
        time.sleep(0.1)
    return None


def axfr(port, zone, keyed=True):
    """The zone as a set of canonical records; None if refused or failed."""
    recs = set()
    try:
        kw = dict(keyring=KR, keyname="xfr.", keyalgorithm="hmac-sha256") if keyed else {}
        for m in dns.query.xfr("127.0.0.1", zone, port=port, lifetime=10, **kw):
            for rrset in m.answer:
                for rd in rrset:
                    recs.add((rrset.name.canonicalize().to_text(), rrset.ttl, rd.rdtype, rd.to_text()))
    except Exception:
        return None
    return recs or None


def wait_listening(port, timeout=10):
    return wait(lambda: soa(port, "version.bind.") != "timeout", timeout) is not None


#------------ levee ------------------------------------------------------------

def levee_producer(d, members, notify):
    """members: (name, serial, group or None)."""
    os.makedirs(d, exist_ok=True)
    targets = ", ".join(f'"127.0.0.1:{p} key xfr"' for p in notify)
    zones = f"""[[zone]]
name = "cat.test."
catalog-role = "generate"
allow-transfer = ["127.0.0.1 key xfr"]
notify = [{targets}]
"""
    for name, serial, group in members:
        with open(os.path.join(d, f"{name}zone"), "w") as f:
            f.write(member_text(name, serial))
        zones += f"""[[zone]]
name = "{name}"
file = "{name}zone"
allow-transfer = ["127.0.0.1 key xfr"]
notify = [{targets}]
catalog-zone = "cat.test."
"""
        if group:
            zones += f'catalog-group = "{group}"\n'
    conf = os.path.join(d, "levee.toml")
    with open(conf, "w") as f:
        f.write(f"""version = 1
[server]
listen = ["127.0.0.1:{LP}"]
threads = 1
storage-dir = "store"
[[key]]
name = "xfr"
algorithm = "hmac-sha256"
secret = "{SECRET}"
{zones}""")
    return Proc("levee-producer", [LEVEE, "serve", "-c", conf], os.path.join(d, "levee.log"), d)


def levee_consumer(d):
    os.makedirs(d, exist_ok=True)
    conf = os.path.join(d, "levee.toml")
    with open(conf, "w") as f:
        f.write(f"""version = 1
[server]
listen = ["127.0.0.1:{LC}"]
threads = 1
storage-dir = "store"
[[key]]
name = "xfr"
algorithm = "hmac-sha256"
secret = "{SECRET}"
[[catalog-template]]
name = "plain"
allow-transfer = ["127.0.0.1"]
[[catalog-template]]
name = "g1"
allow-transfer = ["127.0.0.1 key xfr"]
[[zone]]
name = "cat.test."
primaries = ["127.0.0.1:{KP} key xfr"]
allow-notify = ["127.0.0.1 key xfr"]
catalog-role = "interpret"
catalog-template = ["plain", "g1"]
""")
    return Proc("levee-consumer", [LEVEE, "serve", "-c", conf], os.path.join(d, "levee.log"), d)


#------------ Knot ---------------------------------------------------------------

KNOT_COMMON = """server:
    rundir: {d}
    listen: 127.0.0.1@{port}
log:
  - target: stderr
    any: info
database:
    storage: {d}
control:
    listen: {d}/knot.sock
key:
  - id: xfr
    algorithm: hmac-sha256
    secret: {secret}
remote:
  - id: levee
    address: 127.0.0.1@{other}
    key: xfr
acl:
  - id: notify
    address: 127.0.0.1
    key: xfr
    action: notify
  - id: xfr_key
    address: 127.0.0.1
    key: xfr
    action: transfer
  - id: xfr_any
    address: 127.0.0.1
    action: transfer
"""


def knot_consumer(d):
    os.makedirs(d, exist_ok=True)
    conf = KNOT_COMMON.format(d=d, port=KC, other=LP, secret=SECRET) + f"""template:
  - id: default
    storage: {d}
  - id: plain
    storage: {d}
    master: levee
    acl: [notify, xfr_key, xfr_any]
  - id: g1
    storage: {d}
    master: levee
    acl: [notify, xfr_key]
zone:
  - domain: cat.test.
    master: levee
    acl: [notify, xfr_key]
    catalog-role: interpret
    catalog-template: [plain, g1]
"""
    path = os.path.join(d, "knot.conf")
    with open(path, "w") as f:
        f.write(conf)
    return Proc("knotd-consumer", ["knotd", "-c", path], os.path.join(d, "knot.log"), d)


def knot_producer_conf(d, members):
    conf = KNOT_COMMON.format(d=d, port=KP, other=LC, secret=SECRET) + f"""template:
  - id: default
    storage: {d}
zone:
  - domain: cat.test.
    catalog-role: generate
    acl: [xfr_key]
    notify: levee
"""
    for name, serial, group in members:
        with open(os.path.join(d, f"{name}zone"), "w") as f:
            f.write(member_text(name, serial))
        conf += f"""  - domain: {name}
    file: {d}/{name}zone
    acl: [xfr_key]
    notify: levee
    catalog-role: member
    catalog-zone: cat.test.
"""
        if group:
            conf += f"    catalog-group: {group}\n"
    path = os.path.join(d, "knot.conf")
    with open(path, "w") as f:
        f.write(conf)
    return path


#------------ BIND -------------------------------------------------------------

def bind_consumer(d):
    os.makedirs(os.path.join(d, "members"), exist_ok=True)
    conf = f"""options {{
    directory "{d}";
    pid-file "{d}/named.pid";
    session-keyfile "{d}/session.key";
    listen-on port {BC} {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }};
    recursion no;
    dnssec-validation no;
    notify no;
    allow-transfer {{ key xfr; }};
    catalog-zones {{
        zone "cat.test." default-primaries {{ 127.0.0.1 port {LP} key xfr; }}
            zone-directory "{d}/members" in-memory no min-update-interval 1;
    }};
}};
controls {{ }};
logging {{ category default {{ default_stderr; }}; }};
key "xfr" {{ algorithm hmac-sha256; secret "{SECRET}"; }};
zone "cat.test." {{
    type secondary; file "{d}/cat.test.db";
    primaries {{ 127.0.0.1 port {LP} key xfr; }};
}};
"""
    path = os.path.join(d, "named.conf")
    with open(path, "w") as f:
        f.write(conf)
    return Proc("named-consumer", ["named", "-g", "-c", path], os.path.join(d, "named.log"), d)


#------------ NSD 4.12 (Debian 13) -----------------------------------------------

def nsd_consumer(d):
    """NSD 4.12 from the chroot of tests/lib/trixie.sh consuming levee's
    catalog (`catalog: consumer`). NSD maps a member's group to the pattern
    of that name: g1 allows transfers with the key only; members without a
    group get `catalog-member-pattern` (plain: transfers without the key)."""
    os.makedirs(d, exist_ok=True)
    primary = f"""    request-xfr: 127.0.0.1@{LP} xfr
    allow-notify: 127.0.0.1 xfr
"""
    conf = f"""server:
    ip-address: 127.0.0.1@{NC}
    port: {NC}
    username: ""
    chroot: ""
    zonesdir: "{d}"
    database: ""
    pidfile: "{d}/nsd.pid"
    xfrdfile: "{d}/xfrd.state"
    zonelistfile: "{d}/zone.list"
    xfrdir: "{d}"
    verbosity: 2
remote-control:
    control-enable: no
key:
    name: xfr
    algorithm: hmac-sha256
    secret: "{SECRET}"
pattern:
    name: plain
    zonefile: "{d}/%s.zone"
{primary}    provide-xfr: 127.0.0.1 NOKEY
    provide-xfr: 127.0.0.1 xfr
pattern:
    name: g1
    zonefile: "{d}/%s.zone"
{primary}    provide-xfr: 127.0.0.1 xfr
zone:
    name: cat.test.
    zonefile: "{d}/cat.test.zone"
    catalog: consumer
    catalog-member-pattern: plain
{primary}"""
    path = os.path.join(d, "nsd.conf")
    with open(path, "w") as f:
        f.write(conf)
    return Proc("nsd-consumer", in_trixie("nsd", "-d", "-c", path), os.path.join(d, "nsd.log"), d)


#------------ checks -------------------------------------------------------------

def members_follow(tag, src, dst, served, gone, keyed_only=(), open_=()):
    """served: {zone: serial} the consumer `dst` must serve, with an AXFR
    equal to the producer's `src`; gone: zones it must not serve;
    keyed_only/open_: zones whose unkeyed AXFR must be refused/allowed."""
    for z, s in served.items():
        t = wait(lambda: soa(dst, z) == s)
        check(f"{tag}: {z} served with serial {s}", t is not None, f"after {t} s (now {soa(dst, z)})")
        a, b = axfr(src, z), axfr(dst, z)
        check(f"{tag}: {z} AXFR equal on both sides", a is not None and a == b,
              f"{len(a or ())} records at the producer, {len(b or ())} at the consumer")
    for z in gone:
        t = wait(lambda: soa(dst, z) in ("REFUSED", "NOTAUTH", "SERVFAIL"))
        check(f"{tag}: {z} removed", t is not None, f"answers {soa(dst, z)}")
    for z in keyed_only:
        t = wait(lambda: axfr(dst, z, keyed=False) is None and axfr(dst, z) is not None)
        check(f"{tag}: {z} in group g1: transfer with the key only", t is not None)
    for z in open_:
        t = wait(lambda: axfr(dst, z, keyed=False) is not None)
        check(f"{tag}: {z} in no group: transfer without the key", t is not None)


def levee_produces(work, peers):
    d = os.path.join(work, "A")
    lev = levee_producer(os.path.join(d, "levee"), [("m1.test.", 1, None), ("m2.test.", 1, "g1")],
                         [PEERS_PORT[p] for p in peers])
    if not wait_listening(LP):
        check("A: levee producer starts", False, lev.text()[-800:])
        return
    cat = axfr(LP, "cat.test.")
    check("A: levee serves the catalog", cat is not None and any("TXT" in r[3] or r[3] == '"2"' for r in cat),
          f"{len(cat or ())} records")
    cons = {p: MAKERS[p](os.path.join(d, p)) for p in peers}
    for p in peers:
        port = PEERS_PORT[p]
        if not wait_listening(port):
            check(f"A: {p} starts", False, cons[p].text()[-800:])
            continue
        extra = {"keyed_only": ["m2.test."], "open_": ["m1.test."]} if p in GROUPS else {}
        members_follow(f"levee->{p} initial", LP, port, {"m1.test.": 1, "m2.test.": 1}, [], **extra)
    # m1 removed, m2 regrouped (g1 -> none) with new content, m3 added.
    lev.stop()
    time.sleep(0.5)
    lev = levee_producer(os.path.join(d, "levee"), [("m2.test.", 2, None), ("m3.test.", 1, "g1")],
                         [PEERS_PORT[p] for p in peers])
    if not wait_listening(LP):
        check("A: levee producer restarts", False, lev.text()[-800:])
        return
    for p in peers:
        extra = {"keyed_only": ["m3.test."], "open_": ["m2.test."]} if p in GROUPS else {}
        members_follow(f"levee->{p} changed", LP, PEERS_PORT[p], {"m2.test.": 2, "m3.test.": 1}, ["m1.test."], **extra)
    for c in cons.values():
        c.stop()
    lev.stop()


def knot_produces(work, debian13=False):
    """Part B with the host's Knot 3.2, or (debian13) Debian 13's Knot 3.4
    from the chroot of tests/lib/trixie.sh (knotd and knotc in it)."""
    part, tag = ("B34", "knot3.4") if debian13 else ("B", "knot")
    wrap = in_trixie if debian13 else (lambda *cmd: list(cmd))
    d = os.path.join(work, part, "knot")
    os.makedirs(d, exist_ok=True)
    path = knot_producer_conf(d, [("m1.test.", 1, None), ("m2.test.", 1, "g1")])
    knot = Proc(f"knotd-producer-{tag}", wrap("knotd", "-c", path), os.path.join(d, "knot.log"), d)
    if not wait_listening(KP) or wait(lambda: axfr(KP, "cat.test.") is not None) is None:
        check(f"{part}: Knot producer serves its catalog", False, knot.text()[-800:])
        return
    check(f"{part}: Knot producer is {'3.4' if debian13 else '3.2'}",
          f"Knot DNS {'3.4' if debian13 else '3.2'}" in knot.text(), knot.text().splitlines()[0][:120])
    lev = levee_consumer(os.path.join(work, part, "levee"))
    if not wait_listening(LC):
        check(f"{part}: levee consumer starts", False, lev.text()[-800:])
        return
    members_follow(f"{tag}->levee initial", KP, LC, {"m1.test.": 1, "m2.test.": 1}, [],
                   keyed_only=["m2.test."], open_=["m1.test."])
    time.sleep(1.1)  # Knot's generated catalog serial is the Unix time
    knot_producer_conf(d, [("m2.test.", 2, None), ("m3.test.", 1, "g1")])
    r = subprocess.run(wrap("knotc", "-c", path, "reload"), capture_output=True, text=True, timeout=20)
    check(f"{part}: knotc reload", r.returncode == 0, (r.stdout + r.stderr).strip())
    members_follow(f"{tag}->levee changed", KP, LC, {"m2.test.": 2, "m3.test.": 1}, ["m1.test."],
                   keyed_only=["m3.test."], open_=["m2.test."])
    log = lev.text()
    check(f"{part}: levee logged the member changes", "runtime zone removed" in log and "runtime zone added" in log
          and "settings changed" in log, "")
    lev.stop()
    knot.stop()


def a_record(port, name):
    q = dns.message.make_query(name, "A")
    try:
        r = dns.query.udp(q, "127.0.0.1", port=port, timeout=0.5)
    except Exception:
        return None
    return next((rr[0].address for rr in r.answer if rr.rdtype == dns.rdatatype.A), None)


def nsd_reset(work):
    """Part R: a member reset (RFC 9432 §5.5: the same zone under a new
    unique id) with NSD 4.12 as the consumer. levee's producer makes ids
    from the zone's name, so it never resets a member; here levee serves
    a catalog written as a plain zone file. m9.test. keeps serial 1 with
    new data: a refresh cannot see it (same serial, NSD keeps the old data),
    a reset must (the zone is dropped and transferred anew)."""
    d = os.path.join(work, "R", "levee")
    os.makedirs(d, exist_ok=True)

    def write(member_id, catalog_serial, address):
        with open(os.path.join(d, "cat.zone"), "w") as f:
            f.write(f"$ORIGIN cat.test.\n$TTL 0\n@ SOA invalid. invalid. {catalog_serial} 3600 600 86400 0\n"
                    f"@ NS invalid.\nversion TXT \"2\"\n{member_id}.zones PTR m9.test.\n")
        with open(os.path.join(d, "m9.zone"), "w") as f:
            f.write(member_text("m9.test.", 1).replace("192.0.2.1\n", f"{address}\n"))

    write("ida", 1, "192.0.2.1")
    conf = os.path.join(d, "levee.toml")
    with open(conf, "w") as f:
        f.write(f"""version = 1
[server]
listen = ["127.0.0.1:{LP}"]
threads = 1
storage-dir = "store"
[[key]]
name = "xfr"
algorithm = "hmac-sha256"
secret = "{SECRET}"
[[zone]]
name = "cat.test."
file = "cat.zone"
allow-transfer = ["127.0.0.1 key xfr"]
notify = ["127.0.0.1:{NC} key xfr"]
[[zone]]
name = "m9.test."
file = "m9.zone"
allow-transfer = ["127.0.0.1 key xfr"]
notify = ["127.0.0.1:{NC} key xfr"]
""")
    lev = Proc("levee-catalog-file", [LEVEE, "serve", "-c", conf], os.path.join(d, "levee.log"), d)
    if not wait_listening(LP):
        check("R: levee starts", False, lev.text()[-800:])
        return
    n = nsd_consumer(os.path.join(work, "R", "nsd"))
    t = wait(lambda: a_record(NC, "www.m9.test.") == "192.0.2.1")
    check("R: NSD 4.12 serves m9.test. (unique id ida)", t is not None, f"after {t} s")
    write("ida", 1, "192.0.2.99")
    lev.hup()
    time.sleep(3)
    check("R: m9.test. changed under the same serial: NSD keeps the old data (no reset yet)",
          a_record(NC, "www.m9.test.") == "192.0.2.1", f"www.m9.test. {a_record(NC, 'www.m9.test.')}")
    write("idb", 2, "192.0.2.99")
    lev.hup()
    t = wait(lambda: a_record(NC, "www.m9.test.") == "192.0.2.99")
    check("R: m9.test. under a new unique id (idb): NSD drops it and transfers it anew (reset)", t is not None,
          f"after {t} s, www.m9.test. {a_record(NC, 'www.m9.test.')}")
    n.stop()
    lev.stop()


MAKERS = {"knot": knot_consumer, "bind": bind_consumer, "nsd": nsd_consumer}
PEERS_PORT = {"knot": KC, "bind": BC, "nsd": NC}
GROUPS = ("knot", "nsd")  # consumers mapping groups to templates/patterns


def main():
    for tool in ("knotd", "knotc", "named"):
        if shutil.which(tool) is None:
            print(f"FAIL  {tool} is not installed", flush=True)
            return 1
    versions = trixie_ready()
    check("Debian 13 peers (tests/lib/trixie.sh): NSD 4.12, Knot 3.4", versions is not None
          and "NSD version 4.12" in versions and "Knot DNS 3.4" in versions, (versions or "").replace("\n", "; "))
    if versions is None:
        return 1
    work = tempfile.mkdtemp(prefix="levee-catalog-")
    try:
        levee_produces(work, ["knot", "bind", "nsd"])
        nsd_reset(work)
        knot_produces(work)
        knot_produces(work, debian13=True)
    finally:
        for p in PROCS:
            p.stop()
    failed = [r for r in RESULTS if not r[1]]
    print(f"\ncatalog interop: {len(RESULTS) - len(failed)} passed, {len(failed)} failed (logs in {work})", flush=True)
    if not failed:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
