#!/usr/bin/env python3
"""Floods against a server held to a fraction of one core (issue 23, checks 2 and 3).

    flock /tmp/levee-bench.lock bench/floods-quota.py --bed loopback \
        --servers levee,levee-gate,knot --scenarios water,water-same,plain,garbage \
        --quota 0.1 --factor 8 --duration 15 --levee target/release/levee

For each server: start it pinned to CPU 0 inside a cgroup (v1 `cpu`) whose
CFS quota is `--quota` of one core; measure what the *socket path without
the gate* answers flat out under that quota (`levee perf`, 5 s; the
capacity C, measured once per run on the plain `levee` server); then run
each flood at `--factor` x C with the legitimate-resolver probe beside it,
both from `../shared/attack` (the flood on CPU 1, the probe at nice -10).

Scenarios (flood modes of ../shared/attack/flood):
  water       random names under example.com from many spoofed sources
  water-same  random names from the probe's own address (the resolver the
              legitimate queries come from)
  plain       one existing name from 4 sources
  garbage     malformed packets (`--mode malformed`)

`--bed veth` runs the same inside two network namespaces joined by a veth
pair (server 198.18.0.1 in `lvfA`, clients in `lvfB`, the resolver's own
address 198.18.1.1), the flood sending Ethernet frames (`--packet-if`),
and adds the servers `levee-xdp` (the XDP gate and AF_XDP) and `knot-xdp`.

The server's CPU is read from /proc (utime+stime of the process) and the
softirq time of both CPUs from /proc/stat: on loopback and veth the
receive path, and XDP, run in the *sender's* softirq, outside the server's
quota; the table shows it so the comparison is fair.

Bounded: every flood and probe ends by itself (at most 60 s each); the
namespaces and the cgroup are removed on exit. Prints a markdown table and
writes JSON lines to --out.
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.normpath(os.path.join(HERE, "..", "..", "shared"))
WORK = "/tmp/levee-floods"
CG = "/sys/fs/cgroup/cpu/levee-floods"
PORT = 5571
NS_S, NS_C = "lvfA", "lvfB"
SCEN = {
    "water": ["--mode", "water"],
    "water-same": ["--mode", "water", "--src", "{resolver}", "--sports", "5500-5549"],
    "plain": ["--mode", "plain"],
    "garbage": ["--mode", "malformed"],
}


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def prepare(a):
    os.makedirs(WORK, exist_ok=True)
    att = os.path.join(WORK, "attack")
    if not os.path.isdir(att):
        shutil.copytree(os.path.join(SHARED, "attack"), att, ignore=shutil.ignore_patterns("results", ".build"))
    os.makedirs(os.path.join(att, ".build"), exist_ok=True)
    flood = os.path.join(att, ".build", "flood")
    if not os.path.exists(flood):
        sh(["gcc", "-O2", "-pthread", "-o", flood, os.path.join(att, "flood", "flood.c")])
    zdir = os.path.join(WORK, "zone")
    sh(["bash", os.path.join(att, "zone", "make_zone.sh"), zdir], stdout=subprocess.DEVNULL)
    with open(os.path.join(WORK, "perf.txt"), "w") as f:
        for i in range(1000):
            f.write("host%d.example.com A\n" % i)
    return att, flood, zdir


def bed_up(a):
    if a.bed != "veth":
        return
    bed_down()
    for c in (["ip", "netns", "add", NS_S], ["ip", "netns", "add", NS_C],
              ["ip", "link", "add", "vfA", "type", "veth", "peer", "name", "vfB"],
              ["ip", "link", "set", "vfA", "netns", NS_S], ["ip", "link", "set", "vfB", "netns", NS_C],
              ["ip", "-n", NS_S, "addr", "add", "198.18.0.1/24", "dev", "vfA"],
              ["ip", "-n", NS_C, "addr", "add", "198.18.0.2/24", "dev", "vfB"],
              ["ip", "-n", NS_C, "addr", "add", "198.18.1.1/32", "dev", "vfB"],
              ["ip", "-n", NS_S, "link", "set", "vfA", "up"], ["ip", "-n", NS_C, "link", "set", "vfB", "up"],
              ["ip", "-n", NS_S, "link", "set", "lo", "up"], ["ip", "-n", NS_C, "link", "set", "lo", "up"],
              # Replies to spoofed sources go to the client's MAC (one neighbour
              # entry, not one per address) and die there: not a local address.
              ["ip", "-n", NS_S, "route", "add", "198.18.0.0/15", "via", "198.18.0.2", "dev", "vfA"]):
        sh(c)
    # Fill the neighbour tables both ways (the flood's --packet-if needs the MAC).
    sh(["ip", "netns", "exec", NS_C, "ping", "-c", "1", "-W", "1", "198.18.0.1"], stdout=subprocess.DEVNULL)


def bed_down():
    for ns in (NS_S, NS_C):
        subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)


def cgroup(quota):
    os.makedirs(CG, exist_ok=True)
    with open(os.path.join(CG, "cpu.cfs_period_us"), "w") as f:
        f.write("100000")
    with open(os.path.join(CG, "cpu.cfs_quota_us"), "w") as f:
        f.write(str(int(quota * 100000)) if quota > 0 else "-1")


def cgroup_free():
    try:
        with open(os.path.join(CG, "cgroup.procs")) as f:
            for pid in f.read().split():
                with open("/sys/fs/cgroup/cpu/cgroup.procs", "w") as g:
                    g.write(pid)
        os.rmdir(CG)
    except OSError:
        pass


def in_server(a, cmd):
    return (["ip", "netns", "exec", NS_S] if a.bed == "veth" else []) + cmd


def in_client(a, cmd):
    return (["ip", "netns", "exec", NS_C] if a.bed == "veth" else []) + cmd


def server_cmd(a, name, zdir, rundir):
    addr = "198.18.0.1" if a.bed == "veth" else "127.0.0.1"
    if name.startswith("levee"):
        cmd = [a.levee, "serve", "--listen", "%s:%d" % (addr, PORT), "--zones-dir", zdir]
        if name in ("levee-gate", "levee-xdp"):
            cmd += ["--gate"]
        if name == "levee-xdp":
            cmd += ["--xdp", "vfA"]
        return cmd
    os.makedirs(os.path.join(rundir, "db"), exist_ok=True)
    conf = ["server:", '    rundir: "%s"' % rundir, "    listen: %s@%d" % (addr, PORT),
            "    udp-workers: 1", "    tcp-workers: 1", "    background-workers: 1"]
    if name == "knot-xdp":
        conf += ["xdp:", "    listen: vfA@%d" % PORT, "    udp: on"]
    conf += ["log:", "  - target: stderr", "    any: notice", "database:", '    storage: "%s/db"' % rundir,
             "template:", "  - id: default", '    storage: "%s"' % zdir, '    file: "%s.zone"',
             "    zonefile-sync: -1", "    journal-content: none", "zone:", "  - domain: example.com"]
    path = os.path.join(rundir, "knot.conf")
    with open(path, "w") as f:
        f.write("\n".join(conf) + "\n")
    return ["knotd", "-c", path]


def start(a, name, zdir):
    rundir = os.path.join(WORK, "run-" + name)
    shutil.rmtree(rundir, ignore_errors=True)
    os.makedirs(rundir)
    cmd = server_cmd(a, name, zdir, rundir)
    wrap = ["sh", "-c", 'echo $$ > %s/cgroup.procs && exec "$@"' % CG, "sh"]
    log = open(os.path.join(rundir, "server.log"), "w")
    # Join the cgroup before entering the namespace: `ip netns exec`
    # remounts /sys, where the cgroup hierarchy is not mounted.
    p = subprocess.Popen(wrap + in_server(a, ["taskset", "-c", "0"] + cmd), stdout=log, stderr=log,
                         start_new_session=True)
    addr = "198.18.0.1" if a.bed == "veth" else "127.0.0.1"
    src = "198.18.1.1" if a.bed == "veth" else "127.0.0.1"
    chk = in_client(a, ["python3", os.path.join(WORK, "attack", "probe.py"), "--check", "--server", addr,
                        "--port", str(PORT), "--src", src, "--duration", "20"]
                    + (["--netns-bench"] if a.bed == "veth" else []))
    r = subprocess.run(chk, capture_output=True, text=True)
    if r.returncode != 0:
        stop(p)
        raise SystemExit("%s did not become ready; see %s/server.log" % (name, rundir))
    # knotd pins its own threads: pin every thread of the server to CPU 0 again.
    pid = server_pid(p)
    subprocess.run(["taskset", "-a", "-p", "-c", "0", str(pid)], stdout=subprocess.DEVNULL)
    return p, pid


def server_pid(p):
    # The server is the deepest descendant of the wrapper chain (ip netns exec, taskset, sh exec).
    pid = p.pid
    for _ in range(5):
        try:
            kids = open("/proc/%d/task/%d/children" % (pid, pid)).read().split()
        except OSError:
            break
        if not kids:
            break
        pid = int(kids[0])
    return pid


def stop(p):
    try:
        os.killpg(p.pid, signal.SIGTERM)
        p.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait()


def cpu_of(pid):
    with open("/proc/%d/stat" % pid) as f:
        v = f.read().rsplit(")", 1)[1].split()
    return (int(v[11]) + int(v[12])) / os.sysconf("SC_CLK_TCK")


def softirq():
    out = {}
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu") and line[3] != " ":
                v = line.split()
                out[v[0]] = int(v[7]) / os.sysconf("SC_CLK_TCK")
    return out


def capacity(a):
    addr = "198.18.0.1" if a.bed == "veth" else "127.0.0.1"
    cmd = in_client(a, ["taskset", "-c", "1", a.levee, "perf", "-s", addr, "-p", str(PORT), "-d",
                        os.path.join(WORK, "perf.txt"), "-l", "5", "--json", "--quiet"]
                    + (["--allow-remote"] if a.bed == "veth" else []))
    r = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(r.stdout)["answered"] / 5.0


def one(a, name, scen, rate, flood):
    addr = "198.18.0.1" if a.bed == "veth" else "127.0.0.1"
    src = "198.18.1.1" if a.bed == "veth" else "127.0.0.1"
    nb = ["--netns-bench"] if a.bed == "veth" else []
    args = [x.replace("{resolver}", src) for x in SCEN[scen]]
    fl = in_client(a, ["taskset", "-c", "1", flood] + args + nb +
                   (["--packet-if", "vfB"] if a.bed == "veth" else []) +
                   ["--target", addr, "--port", str(PORT), "--rate", str(int(rate)),
                    "--duration", str(a.duration), "--count", str(int(rate * a.duration))])
    pr = in_client(a, ["taskset", "-c", "1", "nice", "-n", "-10", "python3",
                       os.path.join(WORK, "attack", "probe.py"), "--server", addr, "--port", str(PORT),
                       "--src", src, "--duration", str(a.duration - 2)] + nb)
    return fl, pr


def measure(a, name, pid, scen, rate, flood):
    fl, pr = one(a, name, scen, rate, flood)
    c0, s0 = cpu_of(pid), softirq()
    fp = subprocess.Popen(fl, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)
    pp = subprocess.Popen(pr, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    pout, _ = pp.communicate(timeout=a.duration + 60)
    fout, ferr = fp.communicate(timeout=a.duration + 60)
    c1, s1 = cpu_of(pid), softirq()
    probe = json.loads(pout.strip().splitlines()[-1])
    try:
        fj = json.loads(fout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        fj = {"raw": (fout + ferr)[-300:]}
    return {"server": name, "scenario": scen, "bed": a.bed, "quota": a.quota, "rate": int(rate),
            "flood": fj, "probe": probe, "server_cpu_s": round(c1 - c0, 2),
            "softirq_s": {k: round(s1[k] - s0[k], 2) for k in s1}}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bed", choices=["loopback", "veth"], default="loopback")
    ap.add_argument("--servers", default="levee,levee-gate,knot")
    ap.add_argument("--scenarios", default="water,water-same,plain,garbage")
    ap.add_argument("--quota", type=float, default=0.1, help="fraction of one core for the server")
    ap.add_argument("--factor", type=float, default=8.0, help="flood rate as a multiple of capacity")
    ap.add_argument("--rate", type=float, default=0, help="flood rate (default: factor x measured capacity)")
    ap.add_argument("--duration", type=int, default=15)
    ap.add_argument("--levee", default=os.path.join(HERE, "..", "target", "release", "levee"))
    ap.add_argument("--out", default=os.path.join(WORK, "results.jsonl"))
    a = ap.parse_args()
    a.duration = max(5, min(a.duration, 50))
    a.levee = os.path.abspath(a.levee)
    servers = a.servers.split(",")
    scens = a.scenarios.split(",")
    _, flood, zdir = prepare(a)
    rows = []
    try:
        bed_up(a)
        cgroup(a.quota)
        cap = None
        if not a.rate:
            p, pid = start(a, "levee", zdir)
            try:
                cap = capacity(a)
            finally:
                stop(p)
            print("capacity of the socket path without the gate at %.2f core: %.0f qps" % (a.quota, cap),
                  flush=True)
        rate = a.rate or a.factor * cap
        for name in servers:
            p, pid = start(a, name, zdir)
            try:
                for scen in scens:
                    r = measure(a, name, pid, scen, rate, flood)
                    r["capacity_qps"] = cap
                    rows.append(r)
                    with open(a.out, "a") as f:
                        f.write(json.dumps(r) + "\n")
                    pr = r["probe"]
                    print("%-10s %-10s rate %7d  legit %6s%%  p99 %7s ms  server cpu %.2f s  softirq %s" % (
                        name, scen, rate, pr["ok_pct"], pr["p99_ms"], r["server_cpu_s"], r["softirq_s"]),
                        flush=True)
                    time.sleep(1)
            finally:
                stop(p)
    finally:
        cgroup_free()
        if a.bed == "veth":
            bed_down()
    print()
    print("| bed | server | scenario | flood asked/sent pps | x capacity | legit ok % | p99 ms | server CPU s | softirq s (cpu0/cpu1) |")
    print("|---|---|---|---:|---:|---:|---:|---:|---|")
    for r in rows:
        s = r["softirq_s"]
        sent = r["flood"].get("pps", 0)
        x = "%.1f" % (sent / r["capacity_qps"]) if r.get("capacity_qps") else "-"
        print("| %s | %s | %s | %d/%s | %s | %s | %s | %.2f | %s/%s |" % (
            r["bed"], r["server"], r["scenario"], r["rate"], sent, x, r["probe"]["ok_pct"], r["probe"]["p99_ms"],
            r["server_cpu_s"], s.get("cpu0"), s.get("cpu1")))


if __name__ == "__main__":
    main()
