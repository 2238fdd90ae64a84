#!/usr/bin/env python3
"""Saturation runs with `levee perf` as the load generator (issue 3, check 3).

For each server: start it with the shared harness's adapter
(servers/<name>/start.sh), pin its whole process tree to CPU 1, run
`levee perf` flat out on CPU 0 (the generator sends well over twice what one
server core answers, so the server is the bottleneck), then again at half
of the saturated rate to read the p99 latency there. Every run takes
/tmp/levee-bench.lock, as the harness does, and is bounded by --duration.
Loopback only (127.0.0.1).

  cp -r ../shared/bench /tmp/benchh && cp bench/levee-start.sh /tmp/benchh/servers/levee/start.sh
  python3 bench/perf-saturation.py --harness /tmp/benchh --data /tmp/bench/data \\
      --levee target/release/levee --servers knot,nsd,echo,levee --mix hit-small --repeats 3

Prints one Markdown table (and writes it with the raw JSON to --out).
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time

LOCK = "/tmp/levee-bench.lock"
HZ = os.sysconf("SC_CLK_TCK")


def tree(pid):
    """pid and all its descendants."""
    kids = {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except OSError:
            continue
        kids.setdefault(ppid, []).append(int(p))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def cpu_ticks(pids):
    t = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            t += int(fields[11]) + int(fields[12])  # utime, stime
        except OSError:
            pass
    return t


def pin(pids, cpu):
    for p in pids:
        try:
            for t in os.listdir(f"/proc/{p}/task"):
                os.sched_setaffinity(int(t), {cpu})
        except OSError:
            pass


def perf_run(args, port, mix, rate=None):
    cmd = ["flock", LOCK, "taskset", "-c", "0", args.levee, "perf", "-s", "127.0.0.1", "-p", str(port),
           "-d", os.path.join(args.data, "queries", mix + ".txt"), "-l", str(args.duration),
           "-q", str(args.outstanding), "-c", str(args.sockets), "--batch", str(args.batch), "-t", str(args.timeout),
           "--json", "--quiet"]
    if rate:
        cmd += ["-Q", str(int(rate))]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=args.duration + 3600)  # includes waiting for the lock
    if r.returncode != 0:
        raise RuntimeError(f"levee perf failed: {r.stderr}")
    return json.loads(r.stdout)


def measure(args, srv, mix, zoneset, port):
    work = tempfile.mkdtemp(prefix=f"perfsat-{srv}-")
    start = os.path.join(args.harness, "servers", srv, "start.sh")
    env = dict(os.environ, THREADS=str(args.threads), LEVEE_BIN=os.path.abspath(args.levee))
    r = subprocess.run(["flock", "-o", LOCK, start, os.path.join(args.data, "zonesets", zoneset), str(port), work],
                       capture_output=True, text=True, env=env, timeout=1800)
    if r.returncode == 3:
        return None
    if r.returncode != 0:
        raise RuntimeError(f"{srv}: start failed: {r.stderr[-2000:]}")
    pid = int(r.stdout.strip().splitlines()[-1])
    rows = []
    try:
        time.sleep(1)
        pids = tree(pid)
        pin(pids, 1)
        for rep in range(args.repeats):
            t0 = cpu_ticks(pids)
            sat = perf_run(args, port, mix)
            cpu = (cpu_ticks(pids) - t0) / HZ / sat["send_seconds"]
            half = perf_run(args, port, mix, rate=sat["qps_answered"] / 2)
            rows.append({"server": srv, "mix": mix, "rep": rep + 1, "saturated": sat, "half": half,
                         "server_cpu": cpu})
            print(f"  {srv} {mix} rep {rep + 1}: {sat['qps_answered']:.0f} QPS answered, server CPU {cpu * 100:.0f} %, "
                  f"p99 at half rate {half['latency_us']['p99']} us, lost {sat['lost']}/{half['lost']}",
                  file=sys.stderr)
    finally:
        os.kill(pid, signal.SIGTERM)
        for _ in range(600):
            if not os.path.exists(f"/proc/{pid}"):
                break
            try:
                if open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] == "Z":
                    break
            except OSError:
                break
            time.sleep(0.1)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--harness", required=True, help="writable copy of ../shared/bench with levee's adapter")
    ap.add_argument("--data", required=True, help="generated data (queries/, zonesets/)")
    ap.add_argument("--levee", required=True, help="levee binary (the generator, and the server under test)")
    ap.add_argument("--servers", default="knot,nsd,echo,levee")
    ap.add_argument("--mix", default="hit-small", help="hit-small, nxdomain (small zone set) or referral-1m (tld1m)")
    ap.add_argument("--duration", type=float, default=10)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2, help="server worker threads (on one pinned core)")
    ap.add_argument("--outstanding", type=int, default=200, help="queries in flight (the harness runs dnsperf -q 200)")
    ap.add_argument("--sockets", type=int, default=16, help="source ports (the harness runs dnsperf -c 16)")
    ap.add_argument("--batch", type=int, default=32,
                    help="queries per sendmmsg: 32 lets one generator core send about 10 %% more than 16 "
                         "(about 615k against 560k q/s to the echo floor), so the fastest servers saturate")
    ap.add_argument("--timeout", type=float, default=1.0, help="seconds until a query counts as lost")
    ap.add_argument("--port", type=int, default=5850)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    # Stopped early: still stop the server under test (the finally in measure).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    if not 5800 <= args.port <= 5899 and not 5300 <= args.port <= 5399:
        sys.exit("use a port in 5800-5899 (or the harness's 5300-5399)")
    zoneset = "tld1m" if args.mix.endswith("-1m") else "small"
    rows = []
    for srv in args.servers.split(","):
        r = measure(args, srv, args.mix, zoneset, args.port)
        if r is None:
            print(f"  {srv}: not available, skipped", file=sys.stderr)
            continue
        rows += r
    lines = [f"`levee perf` saturation, mix {args.mix}, {args.duration:g} s runs, server pinned to CPU 1 with "
             f"{args.threads} threads, generator on CPU 0 (median [min-max] of {args.repeats})", "",
             "| server | saturated QPS | server CPU % | QPS per server core | p99 at half rate (us) | lost % |",
             "|---|---:|---:|---:|---:|---:|"]
    for srv in args.servers.split(","):
        rs = [r for r in rows if r["server"] == srv]
        if not rs:
            continue
        q = [r["saturated"]["qps_answered"] for r in rs]
        c = [r["server_cpu"] * 100 for r in rs]
        per = [r["saturated"]["qps_answered"] / max(r["server_cpu"], 1e-9) for r in rs]
        p99 = [r["half"]["latency_us"]["p99"] or 0 for r in rs]
        lost = [100 * r["saturated"]["lost"] / max(r["saturated"]["sent"], 1) for r in rs]
        f = lambda v, d=0: f"{statistics.median(v):,.{d}f} [{min(v):,.{d}f}-{max(v):,.{d}f}]"
        lines.append(f"| {srv} | {f(q)} | {f(c)} | {f(per)} | {f(p99)} | {f(lost, 3)} |")
    table = "\n".join(lines)
    print(table)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(table + "\n\n<!-- raw -->\n" + json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
