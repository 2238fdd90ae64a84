#!/usr/bin/env python3
"""Issue 5, criterion 4: query latency for other zones while a large zone
transfers in, compared with idle. Not part of CI (it needs a generated
1M-delegation zone and minutes of CPU); run it by hand, alone:

    python3 ../shared/bench/gen_zones.py --out /tmp/bench --tld 1000000
    flock /tmp/levee-bench.lock python3 tests/interop/xfr_latency.py \
        --levee target/release/levee --bench /tmp/bench

A levee primary (port 5760, SCHED_IDLE) serves tld. (1M delegations); the levee under
test (port 5761) serves example.com. and is a secondary of tld. After its
first transfer, dnsperf sends example.com queries at a fixed rate for
--seconds while idle, then again while `levee ctl retransfer tld.` runs a
full AXFR (transfer, build, swap). Reported: dnsperf's average latency and
the transfer's duration from the log.

With --control the same windows are also measured while kdig, not levee,
pulls the same AXFR from the primary (kdig and the primary at SCHED_IDLE):
what a bulk loopback TCP transfer costs the other queries on this machine
by itself (softirq work is not subject to priorities), for comparison with
what levee's transfer in, build and swap add.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time


PIN = {"server": [], "tools": []}


def dnsperf(port, queries, seconds, rate):
    out = subprocess.run(PIN["tools"] + ["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", queries, "-l", str(seconds),
                          "-Q", str(rate), "-t", "2", "-v"], capture_output=True, text=True, timeout=seconds + 30).stdout
    # -v: one "> RCODE NAME TYPE LATENCY" line per answered query.
    lat = sorted(float(l.split()[-1]) * 1000 for l in out.splitlines() if l.startswith("> "))
    pct = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] if lat else float("nan")
    avg = re.search(r"Average Latency \(s\):\s+([\d.]+) \(min ([\d.]+), max ([\d.]+)\)", out)
    sd = re.search(r"Latency StdDev \(s\):\s+([\d.]+)", out)
    lost = re.search(r"Queries lost:\s+(\d+)", out)
    qps = re.search(r"Queries per second:\s+([\d.]+)", out)
    return {"p50_ms": pct(0.5), "p99_ms": pct(0.99), "p999_ms": pct(0.999),
            "avg_ms": float(avg.group(1)) * 1000, "max_ms": float(avg.group(3)) * 1000,
            "sd_ms": float(sd.group(1)) * 1000, "lost": int(lost.group(1)), "qps": float(qps.group(1))}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--levee", required=True)
    ap.add_argument("--bench", required=True)
    ap.add_argument("--seconds", type=int, default=3)
    ap.add_argument("--trials", type=int, default=3)
    ap.add_argument("--rate", type=int, default=5000)
    ap.add_argument("--control", action="store_true", help="also measure during a kdig AXFR (see above)")
    ap.add_argument("--pin", action="store_true",
                    help="the server under test on CPU 1, dnsperf, the primary and kdig on CPU 0 (as ../shared/bench pins)")
    a = ap.parse_args()
    if a.pin:
        PIN.update(server=["taskset", "-c", "1"], tools=["taskset", "-c", "0"])
    d = tempfile.mkdtemp(prefix="levee-xfrlat.")
    tld = os.path.join(a.bench, "zonesets/tld1m/tld.zone")
    small = os.path.join(a.bench, "zonesets/small/example.com.zone")
    queries = os.path.join(a.bench, "queries/hit-small.txt")
    with open(os.path.join(d, "p.toml"), "w") as f:
        f.write(f'version = 1\n[server]\nlisten = ["127.0.0.1:5760"]\nthreads = 1\n[rate-limit]\nenabled = false\n'
                f'[[zone]]\nname = "tld."\nfile = "{tld}"\nallow-transfer = ["127.0.0.1"]\n')
    with open(os.path.join(d, "s.toml"), "w") as f:
        f.write(f'version = 1\n[server]\nlisten = ["127.0.0.1:5761"]\nthreads = 1\nstorage-dir = "{d}/store"\n'
                f'[rate-limit]\nenabled = false\n'
                f'[[zone]]\nname = "example.com."\nfile = "{small}"\n'
                f'[[zone]]\nname = "tld."\nprimaries = ["127.0.0.1:5760"]\n')
    plog, slog = open(os.path.join(d, "p.log"), "w"), open(os.path.join(d, "s.log"), "w")
    # The primary stands for a remote machine: on this one it runs in the
    # idle scheduling class so it takes CPU from the server under test only
    # when a core is idle (on 2 cores it would otherwise compete with it).
    p = subprocess.Popen(PIN["tools"] + ["chrt", "--idle", "0", a.levee, "serve", "-c", os.path.join(d, "p.toml")], stderr=plog)
    s = None
    try:
        t0 = time.monotonic()
        while "ready" not in open(os.path.join(d, "p.log")).read():
            if "not served" in open(os.path.join(d, "p.log")).read():
                sys.exit(f"the primary could not load {tld} (see {d}/p.log)")
            if time.monotonic() - t0 > 120:
                sys.exit("primary did not start")
            time.sleep(0.5)
        s = subprocess.Popen(PIN["server"] + [a.levee, "serve", "-c", os.path.join(d, "s.toml")], stderr=slog)
        t0 = time.monotonic()
        while "zone transferred" not in open(os.path.join(d, "s.log")).read():
            if time.monotonic() - t0 > 300:
                sys.exit("first transfer did not finish")
            time.sleep(0.5)
        first = time.monotonic() - t0
        time.sleep(5)
        idle, busy, durations = [], [], []
        for _ in range(a.trials):
            idle.append(dnsperf(5761, queries, a.seconds, a.rate))
        for _ in range(a.trials):
            n = open(os.path.join(d, "s.log")).read().count("zone transferred")
            subprocess.run([a.levee, "ctl", "-c", os.path.join(d, "s.toml"), "retransfer", "tld."], check=True,
                           capture_output=True)
            t1 = time.monotonic()
            busy.append(dnsperf(5761, queries, a.seconds, a.rate))
            while open(os.path.join(d, "s.log")).read().count("zone transferred") == n:
                if time.monotonic() - t1 > 300:
                    sys.exit("retransfer did not finish")
                time.sleep(0.1)
            durations.append(round(time.monotonic() - t1, 1))
            time.sleep(8)  # the zone file is written after the swap
        control = []
        for _ in range(a.trials if a.control else 0):
            kd = subprocess.Popen(f"{' '.join(PIN['tools'])} chrt --idle 0 kdig -p 5760 @127.0.0.1 tld. AXFR +tcp > /dev/null", shell=True)
            control.append(dnsperf(5761, queries, a.seconds, a.rate))
            kd.wait()
            time.sleep(2)
        print(f"first transfer (AXFR of tld., 3.25M records, start to served): {first:.1f} s")
        print(f"retransfers (ctl to served, upper bound): {durations} s; dnsperf window {a.seconds} s at {a.rate} q/s")
        for name, runs in (("idle", idle), ("during", busy), ("control", control)):
            for r in runs:
                print(f"{name:7} p50 {r['p50_ms']:.3f} ms  p99 {r['p99_ms']:.3f} ms  p99.9 {r['p999_ms']:.2f} ms  "
                      f"avg {r['avg_ms']:.3f} ms  max {r['max_ms']:.2f} ms  lost {r['lost']}  qps {r['qps']:.0f}")
        ia = sum(r["avg_ms"] for r in idle) / len(idle)
        ba = sum(r["avg_ms"] for r in busy) / len(busy)
        print(f"average latency: idle {ia:.3f} ms, during transfer {ba:.3f} ms, ratio {ba / ia:.2f}")
        if control:
            ca = sum(r["avg_ms"] for r in control) / len(control)
            print(f"average latency during the kdig control transfer {ca:.3f} ms, ratio {ca / ia:.2f}")
        for k in ("p50_ms", "p99_ms", "p999_ms"):
            med = lambda runs: sorted(r[k] for r in runs)[len(runs) // 2]
            i, b = med(idle), med(busy)
            extra = f"; control {med(control):.3f} ms, ratio {med(control) / i:.2f}" if control else ""
            print(f"median over runs of {k[:-3]}: idle {i:.3f} ms, during {b:.3f} ms, ratio {b / i:.2f}{extra}")
        print(f"logs: {d}")
    finally:
        for x in (s, p):
            if x:
                x.terminate()
                x.wait(10)


if __name__ == "__main__":
    main()
