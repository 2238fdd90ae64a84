#!/usr/bin/env python3
"""Reload a big zone under load (the large-zone issue's acceptance check 2).

While dnsperf sends the referral mix to levee serving the 1M-delegation TLD,
the zone's SOA serial is changed and levee reloaded (SIGHUP) three times,
then the zone is broken and reloaded once more. Reports: queries lost,
whether answers switched to each new serial, the broken zone's error line,
and steady vs peak RSS during the reloads.

    python3 tests/large/reload-under-load.py --levee target/release/levee \
        --zone /tmp/bench/data/zonesets/tld1m/tld.zone \
        --queries /tmp/bench/data/queries/referral-1m.txt

Loopback only (port 5389); dnsperf is bounded by -l; levee is stopped by PID.
Takes the benchmark lock (/tmp/levee-bench.lock) so it never overlaps one.
"""
import argparse, fcntl, os, re, shutil, signal, subprocess, sys, tempfile, threading, time

PORT = 5389


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for l in f:
            if l.startswith("VmRSS:"):
                return int(l.split()[1])
    return 0


def serial(port):
    out = subprocess.run(["dig", "+short", "+tries=1", "+timeout=1", "-p", str(port), "@127.0.0.1", "tld.", "SOA"],
                         capture_output=True, text=True).stdout
    m = re.search(r"^\S+ \S+ (\d+) ", out, re.M)
    return int(m.group(1)) if m else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--levee", required=True)
    ap.add_argument("--zone", required=True)
    ap.add_argument("--queries", required=True)
    ap.add_argument("--rate", type=int, default=50000)
    a = ap.parse_args()
    lock = open("/tmp/levee-bench.lock", "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    work = tempfile.mkdtemp(prefix="levee-reload.")
    srv = None
    try:
        # The body once, the SOA in a small head that $INCLUDEs it, so a
        # serial change rewrites a few lines, not 125 MB.
        body = os.path.join(work, "body")
        directives, soa = [], None
        with open(a.zone) as src, open(body, "w") as dst:
            for line in src:
                if soa is None and " SOA " in line:
                    soa = line
                elif soa is None and line.startswith("$"):
                    directives.append(line)
                else:
                    dst.write(line)
        head_lines = directives + [soa]
        base = int(re.search(r"SOA \S+ \S+ (\d+)", soa).group(1))
        zdir = os.path.join(work, "zones")
        os.mkdir(zdir)
        zfile = os.path.join(zdir, "tld.zone")

        def write_head(ser, extra=""):
            tmp = zfile + ".tmp"
            with open(tmp, "w") as f:
                f.writelines(directives)
                f.write(re.sub(r"(SOA \S+ \S+ )\d+", lambda m: m.group(1) + str(ser), soa))
                f.write(extra)
                f.write(f"$INCLUDE {body}\n")
            os.rename(tmp, zfile)

        write_head(base)
        cfg = os.path.join(work, "levee.toml")
        with open(cfg, "w") as f:
            # The load generator is one source: measure reloads, not rate limiting.
            f.write("version = 1\n[rate-limit]\nlog-only = true\n[overload]\nenabled = false\n")
        log = open(os.path.join(work, "levee.log"), "w+")
        srv = subprocess.Popen([a.levee, "serve", "--config", cfg, "--listen", f"127.0.0.1:{PORT}",
                                "--zones-dir", zdir], stderr=log)
        t0 = time.time()
        while serial(PORT) != base:
            if time.time() - t0 > 120 or srv.poll() is not None:
                sys.exit("levee did not start")
            time.sleep(0.2)
        print(f"loaded in {time.time() - t0:.1f} s", flush=True)
        time.sleep(2)
        steady = rss_kb(srv.pid)
        peak = [steady]
        stop = threading.Event()

        def sample():
            while not stop.is_set():
                peak[0] = max(peak[0], rss_kb(srv.pid))
                time.sleep(0.05)

        th = threading.Thread(target=sample)
        th.start()
        perf = subprocess.Popen(["dnsperf", "-s", "127.0.0.1", "-p", str(PORT), "-d", a.queries, "-l", "45",
                                 "-Q", str(a.rate), "-c", "8", "-t", "2"], stdout=subprocess.PIPE, text=True)
        time.sleep(3)
        switched = []
        for k in range(1, 4):
            write_head(base + k)
            srv.send_signal(signal.SIGHUP)
            t = time.time()
            while serial(PORT) != base + k and time.time() - t < 60:
                time.sleep(0.1)
            switched.append((base + k, serial(PORT) == base + k, round(time.time() - t, 1)))
            time.sleep(3)
        # Broken: a bad record in the head; the old zone must keep answering.
        write_head(base + 10, "broken IN A 999.1.1.1\n")
        srv.send_signal(signal.SIGHUP)
        time.sleep(8)
        kept = serial(PORT)
        out, _ = perf.communicate(timeout=120)
        stop.set()
        th.join()
        log.seek(0)
        errs = [l.strip() for l in log if "tld.zone:" in l and ("ERROR" in l or "error" in l)]
        lost = re.search(r"Queries lost:\s+(\d+)", out)
        sent = re.search(r"Queries sent:\s+(\d+)", out)
        print(f"dnsperf: sent {sent.group(1) if sent else '?'}, lost {lost.group(1) if lost else '?'}")
        for ser, ok, s in switched:
            print(f"reload to serial {ser}: {'answers switched' if ok else 'NOT switched'} after {s} s")
        print(f"broken zone: serial still {kept} (expected {base + 3}); error logged: {errs[:1]}")
        print(f"RSS steady {steady // 1024} MiB, peak during reloads {peak[0] // 1024} MiB "
              f"({peak[0] / steady:.2f}x)")
        srv.terminate()
        srv.wait(timeout=10)
        ok = lost and lost.group(1) == "0" and all(s[1] for s in switched) and kept == base + 3 and errs
        sys.exit(0 if ok else 1)
    finally:
        if srv is not None and srv.poll() is None:
            srv.kill()
            srv.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
