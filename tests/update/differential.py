#!/usr/bin/env python3
"""Dynamic update (RFC 2136), levee against BIND 9 (the reference).

BIND (named) and levee serve the same zone with the same TSIG key and
`allow-update { key upd; }`. The same sequence of updates (STEPS: additions,
every kind of deletion, every prerequisite kind both satisfied and failed,
the SOA serial rules, CNAME conflicts, the last apex NS, TTL changes, a zone
not served, a name outside the zone, no key, an unknown key, a wrong secret)
is sent to both, once with BIND's nsupdate and once with Knot's knsupdate
(each pass on fresh servers). After every step the response codes must be
equal and the zones (AXFR, records compared as sets, TTLs included) equal.
BIND's answers are the expectation: nothing here is levee's own output.

Deliberate differences: none in this sequence. (levee refuses updates to
signed zones and to types RRSIG/NSEC/NSEC3 handling is not exercised here.)

Exit status: 0 all equal, 1 a difference, 2 the harness failed.
Fixed ports (5481 BIND, 5482 levee): run under `flock /tmp/levee-sys.lock`.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

LEVEE = os.environ.get("LEVEE_BIN", "target/release/levee")
BIND_PORT, LEVEE_PORT = 5481, 5482
ZONE = "example.test."
KEY = "upd"
SECRET = "dXBkYXRlLXNlY3JldC1mb3ItdGhlLWRpZmZlcmVudGlhbC10ZXN0"
BAD_SECRET = "d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldC13cm9uZy1zZWNyZXQ="

ZONE_TEXT = """$ORIGIN example.test.
$TTL 300
@ SOA ns1 hostmaster 100 3600 600 86400 300
@ NS ns1
@ NS ns2
ns1 A 127.0.0.1
ns2 A 127.0.0.2
www A 192.0.2.10
www A 192.0.2.11
txt 600 TXT "hello"
alias CNAME www
multi A 192.0.2.20
multi TXT "m"
multi MX 10 www
sub NS ns.sub
ns.sub A 192.0.2.53
"""

# (name, [commands], key) where key is "good", "none", "unknown", "badsecret".
# Commands are in the syntax both nsupdate and knsupdate read.
STEPS = [
    ("add a record", ["update add new.example.test. 300 A 192.0.2.1"], "good"),
    ("add a second record to the RRset", ["update add new.example.test. 300 A 192.0.2.2"], "good"),
    ("add a duplicate (no change, no new serial)", ["update add new.example.test. 300 A 192.0.2.1"], "good"),
    ("add with another TTL (the RRset's TTL changes)", ["update add new.example.test. 60 A 192.0.2.3"], "good"),
    ("same record, other TTL", ["update add txt.example.test. 120 TXT \"hello\""], "good"),
    ("yxdomain satisfied", ["prereq yxdomain www.example.test.", "update add p1.example.test. 300 A 192.0.2.4"], "good"),
    ("yxdomain failed", ["prereq yxdomain nope.example.test.", "update add p2.example.test. 300 A 192.0.2.5"], "good"),
    ("nxdomain satisfied", ["prereq nxdomain nope.example.test.", "update add nope.example.test. 300 A 192.0.2.6"], "good"),
    ("nxdomain failed", ["prereq nxdomain www.example.test.", "update add p3.example.test. 300 A 192.0.2.7"], "good"),
    ("yxrrset satisfied", ["prereq yxrrset www.example.test. A", "update add p4.example.test. 300 A 192.0.2.8"], "good"),
    ("yxrrset failed", ["prereq yxrrset www.example.test. AAAA", "update add p5.example.test. 300 A 192.0.2.9"], "good"),
    ("yxrrset with values satisfied",
     ["prereq yxrrset www.example.test. A 192.0.2.10", "prereq yxrrset www.example.test. A 192.0.2.11",
      "update add p6.example.test. 300 A 192.0.2.12"], "good"),
    ("yxrrset with values failed (a subset)",
     ["prereq yxrrset www.example.test. A 192.0.2.10", "update add p7.example.test. 300 A 192.0.2.13"], "good"),
    ("yxrrset with values failed (other values)",
     ["prereq yxrrset www.example.test. A 192.0.2.10", "prereq yxrrset www.example.test. A 192.0.2.99",
      "update add p8.example.test. 300 A 192.0.2.14"], "good"),
    ("nxrrset satisfied", ["prereq nxrrset www.example.test. AAAA", "update add www.example.test. 300 AAAA 2001:db8::1"], "good"),
    ("nxrrset failed", ["prereq nxrrset www.example.test. A", "update add p9.example.test. 300 A 192.0.2.15"], "good"),
    ("delete one record", ["update delete www.example.test. A 192.0.2.10"], "good"),
    ("delete a record that is not there", ["update delete www.example.test. A 192.0.2.250"], "good"),
    ("delete an RRset", ["update delete txt.example.test. TXT"], "good"),
    ("delete every RRset of a name", ["update delete multi.example.test."], "good"),
    ("delete the apex NS RRset (ignored)", ["update delete example.test. NS"], "good"),
    ("delete the SOA RRset (ignored)", ["update delete example.test. SOA"], "good"),
    ("delete one of two apex NS", ["update delete example.test. NS ns1.example.test."], "good"),
    ("delete the last apex NS (ignored)", ["update delete example.test. NS ns2.example.test."], "good"),
    ("add an apex NS back", ["update add example.test. 300 NS ns1.example.test."], "good"),
    ("delete every RRset of the apex (SOA and NS stay)",
     ["update add example.test. 300 TXT \"apex\"", "update delete example.test."], "good"),
    ("delete the last NS of a delegation", ["update delete sub.example.test. NS ns.sub.example.test."], "good"),
    ("CNAME beside other data (ignored)", ["update add www.example.test. 300 CNAME elsewhere.test."], "good"),
    ("other data beside a CNAME (ignored)", ["update add alias.example.test. 300 A 192.0.2.30"], "good"),
    ("CNAME replaces CNAME", ["update add alias.example.test. 300 CNAME ns1.example.test."], "good"),
    ("CNAME at a new name", ["update add c2.example.test. 300 CNAME www.example.test."], "good"),
    ("SOA with a higher serial", ["update add example.test. 300 SOA ns1.example.test. hostmaster.example.test. 500 3600 600 86400 300"], "good"),
    ("SOA with a lower serial (ignored)", ["update add example.test. 300 SOA ns1.example.test. hostmaster.example.test. 400 3600 600 86400 300"], "good"),
    ("SOA lower serial with another change", [
        "update add example.test. 300 SOA ns1.example.test. hostmaster.example.test. 400 3600 600 86400 300",
        "update add s1.example.test. 300 A 192.0.2.40"], "good"),
    ("several changes in order", [
        "update delete www.example.test. A", "update add www.example.test. 300 A 192.0.2.50",
        "update add www.example.test. 300 A 192.0.2.51"], "good"),
    ("update outside the zone", ["update add www.other.test. 300 A 192.0.2.60"], "good"),
    ("no key", ["update add nokey.example.test. 300 A 192.0.2.61"], "none"),
    ("unknown key", ["update add badkey.example.test. 300 A 192.0.2.62"], "unknown"),
    ("wrong secret", ["update add badsig.example.test. 300 A 192.0.2.63"], "badsecret"),
]

# Updates for a zone neither server has.
OTHER_ZONE_STEP = ("a zone not served", ["update add x.notserved.test. 300 A 192.0.2.70"], "good")


class Proc:
    def __init__(self, cmd, log, cwd):
        self.f = open(log, "ab")
        self.p = subprocess.Popen(cmd, stdout=self.f, stderr=subprocess.STDOUT, cwd=cwd)

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.f.close()


def start_bind(d):
    with open(os.path.join(d, "example.test.zone"), "w") as f:
        f.write(ZONE_TEXT)
    conf = f"""options {{
    directory "{d}";
    pid-file "{d}/named.pid";
    session-keyfile "{d}/session.key";
    listen-on port {BIND_PORT} {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }};
    recursion no;
    dnssec-validation no;
    notify no;
}};
controls {{ }};
key "{KEY}" {{ algorithm hmac-sha256; secret "{SECRET}"; }};
zone "{ZONE}" {{ type primary; file "{d}/example.test.zone"; allow-update {{ key {KEY}; }}; allow-transfer {{ key {KEY}; }}; }};
"""
    path = os.path.join(d, "named.conf")
    with open(path, "w") as f:
        f.write(conf)
    return Proc(["named", "-g", "-c", path], os.path.join(d, "named.log"), d)


def start_levee(d):
    os.makedirs(os.path.join(d, "storage"), exist_ok=True)
    with open(os.path.join(d, "example.test.zone"), "w") as f:
        f.write(ZONE_TEXT)
    conf = f"""[server]
listen = ["127.0.0.1:{LEVEE_PORT}"]
storage-dir = "{d}/storage"
threads = 1

[rate-limit]
enabled = false

[[key]]
name = "{KEY}"
algorithm = "hmac-sha256"
secret = "{SECRET}"

[[zone]]
name = "{ZONE}"
file = "{d}/example.test.zone"
allow-update = ["key {KEY}"]
allow-transfer = ["key {KEY}"]
"""
    path = os.path.join(d, "levee.toml")
    with open(path, "w") as f:
        f.write(conf)
    return Proc([LEVEE, "serve", "--config", path], os.path.join(d, "levee.log"), d)


def soa_serial(port):
    p = subprocess.run(["dig", "+short", "+time=1", "+tries=1", "-p", str(port), "@127.0.0.1", ZONE, "SOA"],
                       capture_output=True, text=True)
    out = p.stdout.split()
    # dig prints its errors on stdout too: only a well-formed SOA counts.
    if p.returncode != 0 or len(out) != 7 or not out[2].isdigit():
        return None
    return out[2]


def wait_up(port, what):
    for _ in range(100):
        if soa_serial(port):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not answer on port {port}")


def axfr(port):
    """The zone's records (AXFR with the key), as lower-cased text lines;
    a transfer that fails is a harness failure, never an empty zone."""
    for _ in range(3):
        recs = axfr_once(port)
        if any(r.split()[2] == "soa" for r in recs):
            return recs
        time.sleep(0.5)
    raise RuntimeError(f"AXFR from port {port} failed")


def axfr_once(port):
    out = subprocess.run(
        ["dig", "-y", f"hmac-sha256:{KEY}:{SECRET}", "-p", str(port), "@127.0.0.1", ZONE, "AXFR",
         "+nocmd", "+nostats", "+noall", "+answer", "+time=2", "+tries=1"],
        capture_output=True, text=True).stdout
    recs = set()
    for line in out.splitlines():
        f = line.split()
        if len(f) < 4 or line.startswith(";") or f[3] == "TSIG":
            continue
        recs.add(" ".join([f[0].lower(), f[1], f[3]] + f[4:]).lower())
    return recs


def send(tool, port, zone, commands, key):
    script = [f"server 127.0.0.1 {port}", f"zone {zone}"] + commands + ["send"]
    if tool == "knsupdate":
        script.append("answer")
    args = [tool, "-d"] if tool == "nsupdate" else [tool]
    args += ["-t", "3"] if tool == "nsupdate" else ["-t", "3", "-r", "0"]
    secret = BAD_SECRET if key == "badsecret" else SECRET
    name = "unknown-key" if key == "unknown" else KEY
    if key != "none":
        args += ["-y", f"hmac-sha256:{name}:{secret}"]
    p = subprocess.run(args, input="\n".join(script) + "\n", capture_output=True, text=True, timeout=30)
    text = p.stdout + p.stderr
    m = re.search(r"update failed: (\S+)", text) or re.search(r"(NOTAUTH|BADKEY|BADSIG)", text) \
        if tool == "nsupdate" else None
    if tool == "knsupdate":
        m = re.search(r"status: (\w+)", text) or re.search(r"failed with error '([^']+)'", text) \
            or re.search(r"error '([^']+)'", text)
    if m:
        return m.group(1).rstrip(";")
    if tool == "nsupdate":
        statuses = re.findall(r"status: (\w+)", text)
        if statuses:
            return statuses[-1].rstrip(",")
        if p.returncode == 0:
            return "NOERROR"
    return f"ERROR({p.returncode}): {text.strip()[-200:]}"


def run_pass(tool, work):
    bd, ld = os.path.join(work, f"bind-{tool}"), os.path.join(work, f"levee-{tool}")
    os.makedirs(bd)
    os.makedirs(ld)
    procs = [start_bind(bd), start_levee(ld)]
    diffs = 0
    try:
        wait_up(BIND_PORT, "named")
        wait_up(LEVEE_PORT, "levee")
        if axfr(BIND_PORT) != axfr(LEVEE_PORT):
            print(f"{tool}: the zones differ before any update")
            return 1
        for name, cmds, key in STEPS + [OTHER_ZONE_STEP]:
            zone = "notserved.test." if name == OTHER_ZONE_STEP[0] else ZONE
            rb = send(tool, BIND_PORT, zone, cmds, key)
            rl = send(tool, LEVEE_PORT, zone, cmds, key)
            zb, zl = axfr(BIND_PORT), axfr(LEVEE_PORT)
            same = rb == rl and zb == zl
            print(f"{'ok  ' if same else 'DIFF'} {tool}: {name}: BIND {rb}, levee {rl}, serial {soa_serial(BIND_PORT)}/{soa_serial(LEVEE_PORT)}")
            if rb.startswith("ERROR") or rl.startswith("ERROR"):
                print(f"     {rb}\n     {rl}")
            if zb != zl:
                for r in sorted(zb - zl):
                    print(f"     only BIND:  {r}")
                for r in sorted(zl - zb):
                    print(f"     only levee: {r}")
            diffs += not same
    finally:
        for p in procs:
            p.stop()
    return diffs


def main():
    for tool in ["named", "nsupdate", "knsupdate", "dig"]:
        if not shutil.which(tool):
            print(f"{tool} is not installed")
            return 2
    if not os.access(LEVEE, os.X_OK):
        print(f"no levee binary at {LEVEE} (set LEVEE_BIN)")
        return 2
    work = tempfile.mkdtemp(prefix="levee-update-")
    try:
        diffs = sum(run_pass(tool, work) for tool in ["nsupdate", "knsupdate"])
    except Exception as e:  # noqa: BLE001 - a harness failure, reported as such
        print(f"harness failed: {e} (logs in {work})")
        return 2
    steps = 2 * (len(STEPS) + 1)
    print(f"{steps - diffs}/{steps} steps equal (rcode and zone) to BIND 9")
    if diffs == 0:
        shutil.rmtree(work, ignore_errors=True)
        return 0
    print(f"logs in {work}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
