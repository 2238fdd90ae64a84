#!/usr/bin/env python3
"""Provisioning at scale (issue 19, check 4). Two measurements:

--api N (part a): a levee primary produces catalog.scale.; N zones are
  created on it through the REST API (POST /api/v1/zones, kind primary,
  a few records, `catalog` = catalog.scale., K requests at once from
  127.55.1.1, .2, ..., eight per address); a levee
  secondary consumes only the catalog. Timed from the first POST to every
  zone answered (SOA, serial 1) by the secondary; also the POST phase
  alone and the POST latencies. Prints:
    scale api: N zones created through the API (K at once), the last POST answered X s after the first (p50 A ms, p99 B ms), all served by the secondary Y s after the first POST
  and fails if a POST is not 201 or a zone is not served within --limit.
  (The "all served" time is when the poller saw the last zone answer: at
  most pending/--rate seconds late.)

--small M (part b): M small zones (SOA, NS and four records each), files
  generated here, served from the same files by levee (a zones
  directory), Knot (knotd, a zone list) and NSD (nsd, no database), one
  after the other, each also with one zone alone (the baseline). For each:
  start-up time to serving (from the start of the process until a sample
  of 1,000 zones spread over the list, first and last included, all
  answer SOA; then every zone is asked once, and all must answer) and
  the PSS of its processes (/proc/PID/smaps_rollup, children included:
  NSD forks its servers) once serving. Prints per server:
    scale small: SERVER M zones, serving in X s, PSS T MiB, per zone P octets ((T - T1) / (M - 1))

Fixed addresses 127.55.0.1-4, port 53, management 127.55.0.1-2:8053:
run under `flock /tmp/levee-sys.lock` (tests/provision/scale.sh says so).
Every process it starts is stopped at exit (by PID), and its temporary
directory removed (--keep DIR copies it first). Bounded: every wait has a
limit, the whole run --timeout.
"""

import argparse
import base64
import http.client
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from procs import PROCS, Proc  # noqa: E402

import dns.message  # noqa: E402
import dns.rcode  # noqa: E402
import dns.rdatatype  # noqa: E402

PRIMARY, SECONDARY, KNOT, NSD = "127.55.0.1", "127.55.0.2", "127.55.0.3", "127.55.0.4"
CATALOG = "catalog.scale."
TOKEN = "scale-test-token-0123456789abcdef"
SECRET = base64.b64encode(b"levee scale test key 0123456789a").decode()
KEY_TOML = f'[[key]]\nname = "xfr"\nalgorithm = "hmac-sha256"\nsecret = "{SECRET}"\n'
RECORDS = ("$TTL 3600\n@ SOA ns1 hostmaster 1 7200 3600 1209600 3600\n@ NS ns1\nns1 A 192.0.2.1\n"
           "www A 192.0.2.2\n@ MX 10 mail\nmail A 192.0.2.3\n")


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def zone_name(i, suffix):
    return f"z{i:06d}.{suffix}."


def write(path, text, mode=0o644):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


#------------ polling ------------------------------------------------------------

class Poller:
    """SOA queries over UDP from one socket, paced: the pending zones are
    asked in turn, an answered one drops out (see tests/fleet Poller)."""

    def __init__(self, server):
        self.server = server
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setblocking(False)

    @staticmethod
    def serial(data):
        try:
            m = dns.message.from_wire(data)
        except Exception:
            return None
        if m.rcode() != dns.rcode.NOERROR:
            return None
        for rr in m.answer:
            if rr.rdtype == dns.rdatatype.SOA:
                return rr.name.to_text().lower(), rr[0].serial
        return None

    def wait(self, zones, deadline, rate, more=None):
        """Until every zone of `zones` (a set, which `more()` may grow
        while it runs; None: fixed) answers serial >= 1, or `deadline`;
        returns {zone: time answered}."""
        import collections
        wire = {}
        ring = collections.deque()
        pending, got = set(), {}
        last, budget = time.monotonic(), 0.0
        while time.monotonic() < deadline:
            if more:
                for z in more.new():
                    if z not in pending and z not in got:
                        pending.add(z)
                        ring.append(z)
            elif not ring and not got:
                pending = set(zones)
                ring.extend(sorted(zones))
            if not pending and (more is None or more.done()):
                break
            now = time.monotonic()
            budget = min(budget + (now - last) * rate, rate * 0.05)
            last = now
            while budget >= 1 and ring:
                z = ring.popleft()
                if z not in pending:
                    continue
                ring.append(z)
                budget -= 1
                if z not in wire:
                    wire[z] = dns.message.make_query(z, "SOA").to_wire()
                try:
                    self.sock.sendto(wire[z], (self.server, 53))
                except OSError:
                    pass
            r, _, _ = select.select([self.sock], [], [], 0.005)
            while r:
                try:
                    data = self.sock.recv(4096)
                except BlockingIOError:
                    break
                a = self.serial(data)
                if a and a[0] in pending and a[1] >= 1:
                    pending.discard(a[0])
                    got[a[0]] = time.monotonic()
        return got


#------------ (a) zones created through the API ------------------------------------

def primary_conf(d, n):
    return (f'version = 1\n[server]\nlisten = ["{PRIMARY}:53"]\nthreads = 1\nstorage-dir = "store"\n'
            f'max-runtime-zones = {max(n, 1000)}\n[log]\nlevel = "warn"\n'
            f'[management]\nlisten = "{PRIMARY}:8053"\n[[management.token]]\nscope = "write"\nsecret = "{TOKEN}"\n'
            f'[rate-limit]\nexempt = ["127.0.0.0/8"]\n[notify]\nsource = "{PRIMARY}"\n{KEY_TOML}'
            f'[[zone]]\nname = "{CATALOG}"\ncatalog-role = "generate"\nallow-transfer = ["{SECONDARY} key xfr"]\n'
            f'notify = ["{SECONDARY}:53 key xfr"]\n')


def secondary_conf(d, n):
    return (f'version = 1\n[server]\nlisten = ["{SECONDARY}:53"]\nthreads = 1\nstorage-dir = "store"\n'
            f'max-runtime-zones = {max(n, 1000)}\n[log]\nlevel = "warn"\n'
            f'[management]\nlisten = "{SECONDARY}:8053"\n[rate-limit]\nexempt = ["127.0.0.0/8"]\n'
            f'[transfer-in]\nsource = "{SECONDARY}"\n{KEY_TOML}'
            f'[[zone]]\nname = "{CATALOG}"\nprimaries = ["{PRIMARY}:53 key xfr"]\n'
            f'allow-notify = ["{PRIMARY} key xfr"]\ncatalog-role = "interpret"\n')


def start_levee(levee, work, name, conf):
    d = os.path.join(work, name)
    os.makedirs(d, exist_ok=True)
    write(os.path.join(d, "levee.toml"), conf, 0o600)
    return Proc(name, [levee, "serve", "-c", os.path.join(d, "levee.toml")], os.path.join(d, "log"), d)


def wait_soa(server, zone, limit):
    end = time.monotonic() + limit
    p = Poller(server)
    while time.monotonic() < end:
        if p.wait({zone}, time.monotonic() + 0.5, 100):
            return True
    return False


class Posts:
    """N POSTs from `workers` threads, one connection each per request
    (the management listener answers one request per connection)."""

    def __init__(self, n, workers):
        self.n, self.next, self.lock, self.last = n, 0, threading.Lock(), time.monotonic()
        self.created, self.failed, self.lat = [], [], []
        self.threads = [threading.Thread(target=self.worker, daemon=True) for _ in range(workers)]

    def source(self):
        """The client address of this thread: 8 threads per address (the
        listener takes at most 8 connections per client address)."""
        i = self.threads.index(threading.current_thread())
        return f"127.55.1.{1 + i // 8}"

    def take(self):
        with self.lock:
            if self.next >= self.n:
                return None
            self.next += 1
            return self.next - 1

    def worker(self):
        while (i := self.take()) is not None:
            z = zone_name(i, "api")
            body = json.dumps({"name": z, "kind": "primary", "zone": RECORDS,
                               "allow-transfer": [f"{SECONDARY} key xfr"], "catalog": CATALOG})
            t = time.monotonic()
            try:
                c = http.client.HTTPConnection(PRIMARY, 8053, timeout=60, source_address=(self.source(), 0))
                c.request("POST", "/api/v1/zones", body,
                          {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
                r = c.getresponse()
                text = r.read().decode(errors="replace")
                c.close()
                ok = r.status == 201
            except Exception as e:
                ok, text = False, str(e)
            with self.lock:
                self.last = time.monotonic()
                self.lat.append(self.last - t)
                (self.created if ok else self.failed).append(z if ok else (z, text[:200]))

    def new(self):
        with self.lock:
            out, self.created = self.created, []
        return out

    def done(self):
        return all(not t.is_alive() for t in self.threads)


def run_api(a, work):
    n = a.api
    p = start_levee(a.levee, work, "primary", primary_conf(work, n))
    s = start_levee(a.levee, work, "secondary", secondary_conf(work, n))
    if not (wait_soa(PRIMARY, CATALOG, 30) and wait_soa(SECONDARY, CATALOG, 30)):
        raise RuntimeError(f"the catalog is not served by both servers within 30 s\n{p.text()[-2000:]}\n{s.text()[-2000:]}")
    log("primary and secondary serve the catalog")
    posts = Posts(n, a.workers)
    t0 = time.monotonic()
    for t in posts.threads:
        t.start()
    poller = Poller(SECONDARY)
    got = poller.wait(None, t0 + a.limit, a.rate, more=posts)
    t_all = time.monotonic() - t0
    for t in posts.threads:
        t.join(1)
    lat = sorted(posts.lat)

    def pct(q):
        return lat[min(len(lat) - 1, int(len(lat) * q / 100))] * 1000 if lat else float("nan")
    bad = []
    if posts.failed:
        bad.append(f"{len(posts.failed)} POSTs failed, e.g. {posts.failed[:3]}")
    if len(got) != n:
        bad.append(f"{n - len(got)} of {n} zones not served by the secondary within {a.limit} s")
    for b in bad:
        print(f"  FAIL {b}")
    print(f"scale api: {n} zones created through the API ({a.workers} at once), the last POST answered "
          f"{posts.last - t0:.1f} s after the first (p50 {pct(50):.1f} ms, p99 {pct(99):.1f} ms), "
          f"all served by the secondary {t_all:.1f} s after the first POST", flush=True)
    for x in (s, p):
        x.stop()
    log("primary and secondary stopped")
    return bool(bad)


#------------ (b) many small zones: levee, Knot, NSD ------------------------------

def make_zones(d, m):
    os.makedirs(d, exist_ok=True)
    for i in range(m):
        write(os.path.join(d, zone_name(i, "small") + "zone"), RECORDS)


def levee_small(a, work, zdir, m):
    conf = (f'version = 1\n[server]\nlisten = ["{PRIMARY}:53"]\nthreads = 1\nzones-dir = "{zdir}"\n'
            f'[log]\nlevel = "warn"\n[rate-limit]\nexempt = ["127.0.0.0/8"]\n')
    return start_levee(a.levee, work, f"levee-{m}", conf), PRIMARY


def knot_small(a, work, zdir, m):
    d = os.path.join(work, f"knot-{m}")
    os.makedirs(os.path.join(d, "db"))
    zones = "".join(f"  - domain: {zone_name(i, 'small')}\n" for i in range(m))
    conf = (f"server:\n  listen: {KNOT}@53\n  rundir: {d}\n  background-workers: 2\n"
            f"database:\n  storage: {d}/db\n"
            f"template:\n  - id: default\n    storage: {zdir}\n    file: \"%s.zone\"\n    journal-content: none\n"
            f"    zonefile-sync: -1\n    semantic-checks: off\n"
            f"log:\n  - target: stderr\n    any: warning\n"
            f"zone:\n{zones}")
    write(os.path.join(d, "knot.conf"), conf)
    return Proc("knot", ["knotd", "-c", os.path.join(d, "knot.conf")], os.path.join(d, "log"), d), KNOT


def nsd_small(a, work, zdir, m):
    d = os.path.join(work, f"nsd-{m}")
    os.makedirs(d)
    zones = "".join(f"zone:\n  name: {zone_name(i, 'small')}\n  zonefile: {zone_name(i, 'small')}zone\n"
                    for i in range(m))
    conf = (f'server:\n  ip-address: {NSD}@53\n  server-count: 1\n  zonesdir: "{zdir}"\n  database: ""\n'
            f'  zonelistfile: "{d}/zone.list"\n  xfrdfile: "{d}/xfrd.state"\n  pidfile: "{d}/nsd.pid"\n'
            f'  username: ""\n  chroot: ""\n  verbosity: 0\n  logfile: "{d}/nsd.log"\n'
            f"remote-control:\n  control-enable: no\n{zones}")
    write(os.path.join(d, "nsd.conf"), conf)
    return Proc("nsd", ["nsd", "-d", "-c", os.path.join(d, "nsd.conf")], os.path.join(d, "log"), d), NSD


def tree(pid):
    """pid and its descendants."""
    kids = {}
    for e in os.listdir("/proc"):
        if e.isdigit():
            try:
                with open(f"/proc/{e}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                kids.setdefault(ppid, []).append(int(e))
            except (OSError, ValueError, IndexError):
                pass
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def pss_kib(pid):
    total = 0
    for p in tree(pid):
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def measure(a, work, make, zdir, m):
    """(seconds to serving, PSS KiB, zones answered in the full pass)."""
    t0 = time.monotonic()
    proc, ip = make(a, work, zdir, m)
    names = [zone_name(i, "small") for i in range(m)]
    step = max(1, m // 1000)
    sample = set(names[::step]) | {names[-1]}
    got = Poller(ip).wait(sample, t0 + a.limit, a.rate)
    t = time.monotonic() - t0
    if len(got) != len(sample):
        proc.stop()
        raise RuntimeError(f"{proc.name}: {len(sample) - len(got)} of the sample not served within {a.limit} s:\n"
                           f"{proc.text()[-2000:]}")
    everyone = Poller(ip).wait(set(names), time.monotonic() + a.limit, a.rate)
    time.sleep(2)
    pss = pss_kib(proc.p.pid)
    proc.stop()
    return t, pss, len(everyone)


def run_small(a, work):
    m = a.small
    big, one = os.path.join(work, "zones"), os.path.join(work, "zones1")
    t = time.monotonic()
    make_zones(big, m)
    make_zones(one, 1)
    log(f"{m} zone files written in {time.monotonic() - t:.1f} s")
    bad = False
    for name, make in (("levee", levee_small), ("knot", knot_small), ("nsd", nsd_small)):
        if name in a.skip:
            continue
        _, base, _ = measure(a, work, make, one, 1)
        secs, pss, answered = measure(a, work, make, big, m)
        per = (pss - base) * 1024 / max(1, m - 1)
        print(f"scale small: {name} {m} zones, serving in {secs:.1f} s, PSS {pss / 1024:.1f} MiB "
              f"(one zone: {base / 1024:.1f} MiB), per zone {per:.0f} octets, {answered}/{m} answered", flush=True)
        if answered != m:
            print(f"  FAIL {name}: {m - answered} zones not answered")
            bad = True
    return bad


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--api", type=int, default=0, metavar="N", help="(a) N zones created through the REST API")
    ap.add_argument("--workers", type=int, default=32,
                    help="(a) POSTs at once, from 127.55.1.1, .2, ... (8 each: the listener takes 8 per client address)")
    ap.add_argument("--small", type=int, default=0, metavar="M", help="(b) M small zones: levee, Knot, NSD")
    ap.add_argument("--skip", default="", help="(b) servers to leave out, comma-separated (levee,knot,nsd)")
    ap.add_argument("--rate", type=int, default=5000, help="SOA queries a second of the pollers")
    ap.add_argument("--limit", type=float, default=300, help="seconds a wait may take")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds the whole run may take")
    ap.add_argument("--keep", help="copy the logs and configurations here at the end")
    a = ap.parse_args()
    a.levee = os.environ["LEVEE"]
    a.skip = set(filter(None, a.skip.split(",")))
    if not (a.api or a.small):
        sys.exit("scale: give --api N and/or --small M")
    work = tempfile.mkdtemp(prefix="levee-scale.")
    signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(TimeoutError(f"--timeout {a.timeout} s")))
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    signal.alarm(int(a.timeout))
    failed = True
    try:
        failed = False
        if a.api:
            failed |= run_api(a, work)
        if a.small:
            failed |= run_small(a, work)
    except (Exception, KeyboardInterrupt) as e:
        print(f"scale: FAIL {type(e).__name__}: {e}", flush=True)
        failed = True
    finally:
        signal.alarm(0)
        for p in PROCS:
            p.stop()
        if a.keep:
            shutil.copytree(work, a.keep, dirs_exist_ok=True, ignore=shutil.ignore_patterns("zones", "zones1"))
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
