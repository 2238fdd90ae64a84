#!/usr/bin/env python3
"""Wire sizes the conformance harness does not compare: for every plain
question of a suite (no raw=, class=, opcode= or other options; not
AXFR/IXFR/ANY), the TCP response length from levee and from each reference,
without EDNS and with EDNS (1232). Prints the questions whose levee size no
reference has, with every size. Informational: exit 0 unless a server fails.

Usage (from tests/conformance13/run.sh, which puts the Debian 13 wrappers
first in PATH; under flock /tmp/levee-sys.lock: ports 5410-5440):
    sizes.py HARNESS_COPY SUITE_DIR LEVEE_BIN
"""
import glob
import os
import socket
import struct
import subprocess
import sys
import time

import dns.message
import dns.rdatatype

harness, suite, levee = sys.argv[1:4]
sys.path.insert(0, harness)
from servers.adapters import ZoneSet, Knot, NSD, Bind  # noqa: E402

zones = os.path.join(suite, "zones")
zs = ZoneSet(zones)
qs = []
for f in sorted(glob.glob(os.path.join(suite, "queries", "*.q"))):
    for line in open(f):
        w = line.split("#")[0].split()
        if len(w) < 3 or w[1] == "-" or any("=" in x for x in w[3:]):
            continue
        if w[2] in ("AXFR", "IXFR", "ANY"):
            continue
        try:
            dns.rdatatype.from_text(w[2])
        except Exception:
            continue
        qs.append((w[0], w[1], w[2]))


def ask(port, name, qtype, edns):
    q = dns.message.make_query(name, qtype, use_edns=0 if edns else False, payload=1232)
    q.flags = 0
    d = q.to_wire()
    with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
        s.sendall(struct.pack("!H", len(d)) + d)
        hdr = b""
        while len(hdr) < 2:
            hdr += s.recv(2 - len(hdr))
        n = struct.unpack("!H", hdr)[0]
        b = b""
        while len(b) < n:
            chunk = s.recv(n - len(b))
            if not chunk:
                break
            b += chunk
    return len(b)


sizes = {}
for cls in (Knot, NSD, Bind):
    srv = cls({"knot": 5410, "nsd": 5420, "bind": 5430}[cls.name], zs)
    srv.start()
    try:
        for id_, name, t in qs:
            for e in (0, 1):
                sizes[(srv.name, id_, e)] = ask(srv.port, name, t, e)
    finally:
        srv.stop()

cmd = [levee, "serve", "--listen", "127.0.0.1:5440", "--zones-dir", zones]
lv = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    for _ in range(100):
        try:
            ask(5440, "invalid.", "SOA", 0)
            break
        except OSError:
            time.sleep(0.1)
    odd = 0
    for id_, name, t in qs:
        for e in (0, 1):
            ref = {s: sizes[(s, id_, e)] for s in ("knot", "nsd", "bind")}
            got = ask(5440, name, t, e)
            if got not in ref.values():
                odd += 1
                print(f"  {id_} {name} {t} {'edns' if e else 'noedns'}: levee {got}, "
                      + ", ".join(f"{k} {v}" for k, v in ref.items()))
finally:
    lv.terminate()
    lv.wait(timeout=10)
print(f"sizes: {len(qs)} questions x 2, {odd} with a levee size no reference has")
