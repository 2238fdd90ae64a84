#!/usr/bin/env python3
"""Converts every configuration collect.py listed (stdin: `kind path` lines)
with `levee migrate`, then serves each converted configuration whose zone
files all exist (on 127.0.0.1:PORT, overriding its listen addresses) and
checks that every zone with a file answers its SOA authoritatively.
Secondary zones (their primaries are not running) and configurations whose
zone files are absent (the XDP benchmark's) are converted and validated
only; the report says which. Exit 1 on any failure.

usage: check.py LEVEE PORT < list
"""
import os, re, signal, ssl, subprocess, sys, time, tomllib

import dns.flags, dns.message, dns.query, dns.rcode

levee, port = sys.argv[1], int(sys.argv[2])
failures = []
served = converted = 0
for line in sys.stdin:
    kind, path = line.split()
    out = path + ".levee.toml"
    if os.path.exists(out):
        os.remove(out)
    r = subprocess.run([levee, "migrate", kind, path, "-o", out], capture_output=True, text=True, timeout=30)
    notes = [l for l in r.stderr.splitlines() if ": not carried over: " in l]
    if r.returncode != 0:
        failures.append(f"{path}: levee migrate failed: {r.stderr.strip()}")
        continue
    converted += 1
    # Every listed setting names the file and a line that exists in it.
    nlines = len(open(path).read().splitlines())
    for n in notes:
        m = re.match(re.escape(path) + r":(\d+): ", n)
        if not m or not 1 <= int(m.group(1)) <= nlines:
            failures.append(f"{path}: bad note {n!r}")
    cfg = tomllib.load(open(out, "rb"))
    zones = [z for z in cfg.get("zone", []) if "file" in z]
    missing = [z["file"] for z in zones if not os.path.isfile(z["file"])]
    print(f"{os.path.basename(os.path.dirname(path))}/{os.path.basename(path)} ({kind}): "
          f"{len(cfg.get('zone', []))} zone(s), {len(notes)} setting(s) listed", end="")
    if missing or not zones:
        print(f"; not served ({'zone files absent' if missing else 'no zone with a file'})")
        continue
    log = open(out + ".log", "w")
    p = subprocess.Popen([levee, "serve", "--config", out, "--listen", f"127.0.0.1:{port}"],
                         stdout=log, stderr=subprocess.STDOUT)
    try:
        pending = {z["name"] for z in zones}
        deadline = time.time() + 20
        while pending and time.time() < deadline and p.poll() is None:
            for name in list(pending):
                try:
                    a = dns.query.udp(dns.message.make_query(name, "SOA"), "127.0.0.1", port=port, timeout=0.5)
                except Exception:
                    continue
                if a.rcode() == dns.rcode.NOERROR and a.flags & dns.flags.AA and a.answer:
                    pending.discard(name)
            time.sleep(0.1)
        if pending:
            failures.append(f"{path}: zones not served: {sorted(pending)}; log: {open(out + '.log').read()[-800:]}")
        else:
            served += 1
            print(f"; served, {len(zones)} SOA answered", end="")
            # A converted DNS-over-TLS listener (Knot listen-tls, NSD
            # tls-service-* with an ip-address on the tls-port) answers too.
            dot = cfg.get("tls", {}).get("listen", [])
            if dot:
                host, _, dport = dot[0].rpartition(":")
                ctx = ssl.create_default_context()
                ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
                q = dns.message.make_query(zones[0]["name"], "SOA")
                try:
                    a = dns.query.tls(q, host.strip("[]"), port=int(dport), ssl_context=ctx, timeout=5)
                    assert a.rcode() == dns.rcode.NOERROR and a.answer, a
                    print(f", and over TLS on {dot[0]}", end="")
                except Exception as e:  # noqa: BLE001
                    failures.append(f"{path}: the converted DoT listener {dot[0]} does not answer: {e!r}")
            print()
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(10)
for f in failures:
    print("FAIL:", f)
print(f"{converted} converted, {served} served, {len(failures)} failure(s)")
sys.exit(1 if failures else 0)
