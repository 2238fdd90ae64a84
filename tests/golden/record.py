#!/usr/bin/env python3
"""Record golden responses from the reference servers (Knot, NSD, BIND).

    python3 tests/golden/record.py SUITE_DIR [--shared ../shared/conformance]

SUITE_DIR holds `zones/` (zone files + manifest.json) and `queries/*.q`
(plus an optional `queries/raw_packets.py`), in the format of the shared
differential conformance harness. This script

  1. copies the shared harness to a private temporary directory (it is never
     written to) and imports its diff.py and servers/adapters.py from there;
  2. starts knotd, nsd and named on SUITE_DIR/zones exactly as diff.py does
     (same adapters, same ports, same readiness check);
  3. sends every query with diff.py's own code (build_wire, qid_for,
     exchange, collect), stops the servers, and
  4. writes SUITE_DIR/responses.jsonl and SUITE_DIR/meta.json.

The expected answers in responses.jsonl therefore come only from the three
reference servers; levee is never run here.

Two additions to diff.py's setup, both read from zones/manifest.json:
  * "references": ["nsd", "bind"] (top level) records a suite from those
    references only, for zones the third refuses to load (Knot refuses
    several NSEC3PARAM records, BIND a zone without apex NS records);
  * "broken": true (per zone) marks a zone no reference can load (a syntax
    error, a missing file): the servers are not waited for on it, and its
    queries record how each answers for a configured zone it cannot serve. The Rust test
crates/levee/tests/it/golden.rs replays the queries against levee in-process
and compares with the same hard/soft rules as diff.py.

responses.jsonl: one JSON object per exchange (query x transport), in query
file order, then transport order as in the query line (udp before tcp):
  {"id": ..., "transport": "udp"|"tcp", "line": <query line>, "qid": <DNS ID>,
   "query": <hex of the exact query sent>,
   "knot": {"msgs": [hex, ...]} | {"none": <status>}, "nsd": ..., "bind": ...}
A "msgs" object also carries "status" when the stream did not end cleanly
(for example "timeout-after-data" in a transfer); "ok" is left out.
"""
import argparse
import datetime
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

REFS = ["knot", "nsd", "bind"]
NONE_RETRIES = 2          # re-ask a server that gave no response, to tell drops from load-induced timeouts


def load_harness(shared):
    """Copy the shared harness to a writable temp dir and import diff.py from it."""
    tmp = tempfile.mkdtemp(prefix="golden-harness-")
    dst = os.path.join(tmp, "conformance")
    shutil.copytree(shared, dst, ignore=shutil.ignore_patterns("results", "__pycache__", "hidden"))
    for root, dirs, files in os.walk(dst):      # the shared copy may be read-only
        for n in dirs + files:
            p = os.path.join(root, n)
            if not os.path.islink(p):
                os.chmod(p, os.stat(p).st_mode | 0o200)
    os.chmod(dst, os.stat(dst).st_mode | 0o200)
    spec = importlib.util.spec_from_file_location("conformance_diff", os.path.join(dst, "diff.py"))
    diff = importlib.util.module_from_spec(spec)
    sys.modules["conformance_diff"] = diff
    spec.loader.exec_module(diff)               # diff.py puts its own dir on sys.path for servers.adapters
    return tmp, diff


def version(argv):
    try:
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=20)
        out = p.stdout.decode("utf-8", "replace").strip().splitlines()
        return out[0].strip() if out else f"(no output, rc={p.returncode})"
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"(unavailable: {e})"


def skip_broken_zones():
    """Zones marked "broken" never answer their SOA: wait for the others
    (a wrapper around the adapters' readiness check, in this process only)."""
    from servers import adapters
    orig = adapters.Server.wait_ready

    def wait_ready(self, *a, **kw):
        zones = self.zs.zones
        self.zs.zones = [z for z in zones if not z.get("broken")]
        try:
            return orig(self, *a, **kw)
        finally:
            self.zs.zones = zones
    adapters.Server.wait_ready = wait_ready


def wait_for_ports(diff, seconds, refs):
    """The reference ports are shared with other harness runs on this machine:
    wait (bounded) until they are free rather than fail at once."""
    from servers.adapters import port_in_use
    deadline = time.time() + seconds
    while True:
        busy = [r for r in refs if port_in_use(diff.ADDR, diff.PORTS[r])]
        if not busy or time.time() >= deadline:
            return
        print(f"waiting for port(s) {', '.join(str(diff.PORTS[r]) for r in busy)} to be free ...", file=sys.stderr)
        time.sleep(2)


def encode(res):
    if res["msgs"]:
        o = {"msgs": [m.hex() for m in res["msgs"]]}
        if res["status"] != "ok":
            o["status"] = res["status"]
        return o
    return {"none": res["status"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("suite_dir")
    ap.add_argument("--shared", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "conformance"),
                    help="the shared conformance harness (read only; copied to a temp dir)")
    ap.add_argument("--port-wait", type=float, default=180,
                    help="seconds to wait for ports 5410/5420/5430 if another harness run holds them")
    args = ap.parse_args()

    suite = os.path.abspath(args.suite_dir)
    zdir, qdir = os.path.join(suite, "zones"), os.path.join(suite, "queries")
    for p in (os.path.join(zdir, "manifest.json"), qdir):
        if not os.path.exists(p):
            print(f"error: {p} not found", file=sys.stderr)
            return 2

    tmp, diff = load_harness(os.path.abspath(args.shared))
    started = []
    try:
        zs = diff.ZoneSet(zdir)
        with open(os.path.join(zdir, "manifest.json")) as f:
            refs = json.load(f).get("references", REFS)
        assert len(refs) >= 2 and set(refs) <= set(REFS), f"manifest.json: references {refs}"
        skip_broken_zones()
        queries = diff.load_queries(qdir)        # also loads queries/raw_packets.py into diff.RAW
        diff.QMAP.clear()
        diff.QMAP.update({q.id: q for q in queries})
        addrs = {}
        wait_for_ports(diff, args.port_wait, refs)
        try:
            for r in refs:
                s = diff.REFERENCES[r](diff.PORTS[r], zs)
                started.append(s)
                s.start()
                addrs[r] = (diff.ADDR, diff.PORTS[r])
            raw = diff.collect(addrs, queries)
            # A missing response may be a real drop (Knot drops malformed
            # queries) or a timeout under load: ask again, one at a time.
            for r in refs:
                for q in queries:
                    for t in q.transports:
                        key = (q.id, t)
                        for _ in range(NONE_RETRIES):
                            if raw[r][key]["msgs"]:
                                break
                            again = diff.exchange(diff.ADDR, diff.PORTS[r], q, t)
                            if again["msgs"]:
                                print(f"note: {r} answered {q.id}[{t}] only when asked again "
                                      f"(first: {raw[r][key]['status']})", file=sys.stderr)
                                raw[r][key] = again
            died = [f"{s.name} (rc={s.proc.returncode})" for s in started if s.proc and s.proc.poll() is not None]
        finally:
            for s in started:
                s.stop()
                shutil.rmtree(s.workdir, ignore_errors=True)
        if died:
            print("error: server(s) exited during the run: " + ", ".join(died), file=sys.stderr)
            return 2

        n = 0
        with open(os.path.join(suite, "responses.jsonl.tmp"), "w") as f:
            for q in queries:
                for t in q.transports:
                    key = (q.id, t)
                    wires = {raw[r][key]["qwire"] for r in refs}
                    qids = {raw[r][key]["qid"] for r in refs}
                    assert len(wires) == 1 and len(qids) == 1, f"{q.id}[{t}]: query wire differs between servers"
                    rec = {"id": q.id, "transport": t, "line": q.line(), "qid": qids.pop(),
                           "query": wires.pop().hex()}
                    for r in refs:
                        rec[r] = encode(raw[r][key])
                    f.write(json.dumps(rec) + "\n")
                    n += 1
        os.replace(os.path.join(suite, "responses.jsonl.tmp"), os.path.join(suite, "responses.jsonl"))

        import dns.version
        meta = {
            "recorded": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "hostname": socket.gethostname(),
            "references": {r: version(v) for r, v in
                           (("knot", ["knotd", "-V"]), ("nsd", ["nsd", "-v"]), ("bind", ["named", "-v"])) if r in refs},
            "dnspython": dns.version.version,
            "harness": os.path.abspath(args.shared),
            "queries": len(queries),
            "exchanges": n,
            "note": "expected answers recorded from Knot, NSD and BIND only; see tests/golden/README.md",
        }
        with open(os.path.join(suite, "meta.json"), "w") as f:
            json.dump(meta, f, indent=2)
            f.write("\n")
        print(f"{suite}: {len(queries)} queries, {n} exchanges -> responses.jsonl, meta.json")
        return 0
    except RuntimeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
