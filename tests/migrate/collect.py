#!/usr/bin/env python3
"""Writes every Knot DNS and NSD configuration the project's tests use into OUT,
produced by the code that produces them for the real servers (so a change there
is seen here):

  * tests/interop/interop.py: knot() and nsd(), primary and secondary roles
    (their process starter replaced by a stub: nothing is started);
  * tests/xot/xot.py: its XoT peers (NSD secondaries with tls-auth, with
    and without a client certificate; Knot 3.4 secondary with tls and
    cert-key; Knot 3.4 primary with listen-tls; NSD 4.12 primary with
    tls-auth-port), written the same way;
  * CONFORMANCE/servers/adapters.py: Knot and NSD write_config();
  * BENCH/servers/{knot,nsd}/start.sh, run with stub knotd/nsd on PATH (the
    script writes its config, the stub exits, the script gives up);
  * ATTACK/servers/{knot,nsd}.*.conf with the harness's placeholders filled;
  * BENCH/xdp/*.conf as they are.

usage: collect.py OUT CONFORMANCE BENCH ATTACK   (writable copies of the harnesses)
Prints `kind path` per configuration (kind: knot or nsd).
"""
import glob, os, shutil, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
out, conf_dir, bench_dir, attack_dir = (os.path.abspath(a) for a in sys.argv[1:5])
os.makedirs(out, exist_ok=True)
found = []

ZONE = """$ORIGIN example.com.
$TTL 3600
@ SOA ns1 hostmaster 1 7200 3600 1209600 3600
@ NS ns1
ns1 A 127.0.0.1
www A 192.0.2.1
"""
zonedir = os.path.join(out, "zones")
os.makedirs(zonedir, exist_ok=True)
with open(os.path.join(zonedir, "example.com.zone"), "w") as f:
    f.write(ZONE)


def keep(kind, name, src):
    dst = os.path.join(out, name)
    shutil.copy(src, dst)
    found.append((kind, dst))


# --- tests/interop ---------------------------------------------------------
class Stub:
    def __init__(self, *a, **k):
        pass

    def hup(self):
        pass

sys.path.insert(0, os.path.join(ROOT, "tests/interop"))
import interop  # noqa: E402
interop.Proc = Stub
for kind, fn in (("knot", interop.knot), ("nsd", interop.nsd)):
    for role in ("primary", "secondary"):
        d = os.path.join(out, f"interop-{kind}-{role}")
        fn(d, 5301, role, 5302)
        found.append((kind, os.path.join(d, f"{kind}.conf")))

# --- tests/xot: the peers of the zone transfers over TLS -------------------
sys.path.insert(0, os.path.join(ROOT, "tests/xot"))
import xot  # noqa: E402
xot.Proc = Stub
xw = os.path.join(out, "xot")
os.makedirs(xw, exist_ok=True)
# The server certificate the DoT listeners of the converted configurations
# use (xot.key, xot.crt: read by levee at start), and a client key; the
# pins are read from the keys.
xot.make_ca(xw)
subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-out", os.path.join(xw, "leveeclient.key")], check=True, capture_output=True)
xot.nsd(os.path.join(xw, "nsd-secondary"))
found.append(("nsd", os.path.join(xw, "nsd-secondary", "nsd.conf")))
xot.nsd_mtls_secondary(xw, os.path.join(xw, "nsd-mtls-secondary"), 5300, "nsdclient")
found.append(("nsd", os.path.join(xw, "nsd-mtls-secondary", "nsd.conf")))
xot.nsd_mtls_primary(xw, os.path.join(xw, "nsd-mtls-primary"))
found.append(("nsd", os.path.join(xw, "nsd-mtls-primary", "nsd.conf")))
xot.knot_secondary(os.path.join(xw, "knot-secondary"), 5300, xot.pin(os.path.join(xw, "xot.key")))
found.append(("knot", os.path.join(xw, "knot-secondary", "knot.conf")))
xot.knot_primary(os.path.join(xw, "knot-primary"))
found.append(("knot", os.path.join(xw, "knot-primary", "knot.conf")))

# --- the conformance harness's adapters -----------------------------------
sys.path.insert(0, conf_dir)
from servers import adapters  # noqa: E402
zs = adapters.ZoneSet(os.path.join(conf_dir, "zones"))
for kind, cls in (("knot", adapters.Knot), ("nsd", adapters.NSD)):
    s = cls(5410, zs)
    argv = s.write_config()
    keep(kind, f"conformance-{kind}.conf", argv[argv.index("-c") + 1])
    shutil.rmtree(s.workdir, ignore_errors=True)

# --- the benchmark harness's start scripts ---------------------------------
stubs = os.path.join(out, "stubs")
os.makedirs(stubs, exist_ok=True)
for b in ("knotd", "nsd", "nsd-checkconf"):
    with open(os.path.join(stubs, b), "w") as f:
        f.write("#!/bin/sh\nexit 0\n")
    os.chmod(os.path.join(stubs, b), 0o755)
env = dict(os.environ, PATH=stubs + ":" + os.environ["PATH"], THREADS="2", READY_TIMEOUT="1")
for kind, conf in (("knot", "knot.conf"), ("nsd", "nsd.conf")):
    wd = os.path.join(out, f"bench-{kind}")
    subprocess.run(["bash", os.path.join(bench_dir, "servers", kind, "start.sh"), zonedir, "5399", wd],
                   env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
    found.append((kind, os.path.join(wd, conf)))

# --- the attack harness's server configurations ---------------------------
for path in sorted(glob.glob(os.path.join(attack_dir, "servers", "*.conf"))):
    base = os.path.basename(path)
    kind = base.split(".")[0]
    if kind not in ("knot", "nsd"):
        continue
    rundir = os.path.join(out, "attack-" + base.replace(".conf", ""))
    os.makedirs(rundir, exist_ok=True)
    text = open(path).read().replace("{port}", "5398").replace("{rundir}", rundir).replace("{zonedir}", zonedir)
    dst = os.path.join(out, "attack-" + base)
    with open(dst, "w") as f:
        f.write(text)
    found.append((kind, dst))

# --- the XDP benchmark's Knot configurations (converted, not served) -------
for path in sorted(glob.glob(os.path.join(bench_dir, "xdp", "*.conf"))):
    keep("knot", "xdp-" + os.path.basename(path), path)

for kind, p in found:
    if not os.path.isfile(p):
        sys.exit(f"collect.py: {p} was not written")
    print(kind, p)
