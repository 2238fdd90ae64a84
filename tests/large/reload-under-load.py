#!/usr/bin/env python3
"""Reload a big zone under load (the large-zone issue's acceptance check 2).

While dnsperf sends the referral mix to levee serving the 1M-delegation TLD,
the zone is changed and levee reloaded (SIGHUP) three times, then the zone
is broken and reloaded once more. Each change bumps the serial, changes the
NS of one delegation, adds a DS to another, adds a new delegation and
deletes one; after each reload the changed delegation's referral and the
new delegation are checked. Reports: queries lost, whether answers switched
to each new serial (and the changed answers with it), the broken zone's
error line, how levee reloaded (incremental or full), and steady vs peak
RSS during the reloads.

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


def referral(port, qname):
    """The authority section of a non-recursive NS query (a referral)."""
    return subprocess.run(["dig", "+norec", "+tries=1", "+timeout=1", "-p", str(port), "@127.0.0.1", qname, "NS"],
                          capture_output=True, text=True).stdout


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
        # The first few delegations (NS and glue) go to the head too, so
        # the reloads can change them without rewriting the body.
        body = os.path.join(work, "body")
        directives, soa = [], None
        deleg = []  # delegation labels moved to the head, in file order
        moved = {}  # label -> its lines
        with open(a.zone) as src, open(body, "w") as dst:
            for line in src:
                if soa is None and " SOA " in line:
                    soa = line
                elif soa is None and line.startswith("$"):
                    directives.append(line)
                else:
                    owner = line.split(" ", 1)[0]
                    label = owner[4:] if owner.startswith("ns1.") else owner
                    if label not in moved and len(deleg) < 8 and " NS " in line and owner not in ("@", ""):
                        deleg.append(label)
                        moved[label] = []
                    if label in moved:
                        moved[label].append(line)
                    else:
                        dst.write(line)
        assert len(deleg) == 8, "zone has fewer than 8 delegations"
        base = int(re.search(r"SOA \S+ \S+ (\d+)", soa).group(1))
        zdir = os.path.join(work, "zones")
        os.mkdir(zdir)
        zfile = os.path.join(zdir, "tld.zone")

        def write_head(ser, extra="", k=0):
            """Version k of the zone: k = 0 is the original; version k
            changes the NS of delegations 0..k-1, adds a DS to delegations
            1..k, adds delegations new-1..new-k, deletes delegations 8-k..7."""
            tmp = zfile + ".tmp"
            with open(tmp, "w") as f:
                f.writelines(directives)
                f.write(re.sub(r"(SOA \S+ \S+ )\d+", lambda m: m.group(1) + str(ser), soa))
                f.write(extra)
                for i, label in enumerate(deleg):
                    if 1 <= k and i >= 8 - k:
                        continue  # deleted
                    for line in moved[label]:
                        if i < k and " NS " in line and not f"ns1.{label}." in line:
                            line = re.sub(r"NS \S+$", f"NS ns{i}.changed-{k}.net.", line.rstrip()) + "\n"
                        f.write(line)
                    if 1 <= i <= k:
                        f.write(f"{label} IN DS {1000 + i} 8 2 {'AB' * 32}\n")
                for j in range(1, k + 1):
                    f.write(f"new-{j}-reload IN NS ns1.new-{j}-reload.tld.\n")
                    f.write(f"ns1.new-{j}-reload IN A 192.0.2.{j}\n")
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
        changed = []
        for k in range(1, 4):
            write_head(base + k, k=k)
            srv.send_signal(signal.SIGHUP)
            t = time.time()
            while serial(PORT) != base + k and time.time() - t < 60:
                time.sleep(0.1)
            switched.append((base + k, serial(PORT) == base + k, round(time.time() - t, 1)))
            # The changed answers: delegation k-1's new NS, the new
            # delegation, the deleted one (NXDOMAIN), a DS.
            lab = deleg[k - 1]
            ok_ns = f"ns{k - 1}.changed-{k}.net." in referral(PORT, f"{lab}.tld.")
            ok_new = f"ns1.new-{k}-reload.tld." in referral(PORT, f"new-{k}-reload.tld.")
            ok_del = "NXDOMAIN" in referral(PORT, f"{deleg[8 - k]}.tld.")
            ds = subprocess.run(["dig", "+norec", "+short", "-p", str(PORT), "@127.0.0.1", f"{deleg[k]}.tld.", "DS"],
                                capture_output=True, text=True).stdout
            ok_ds = f"{1000 + k} 8 2" in ds
            changed.append((k, ok_ns, ok_new, ok_del, ok_ds))
            time.sleep(3)
        # Broken: a bad record in the head; the old zone must keep answering.
        write_head(base + 10, "broken IN A 999.1.1.1\n", k=3)
        srv.send_signal(signal.SIGHUP)
        time.sleep(8)
        kept = serial(PORT)
        out, _ = perf.communicate(timeout=120)
        stop.set()
        th.join()
        log.seek(0)
        lines = log.readlines()
        errs = [l.strip() for l in lines if "tld.zone:" in l and ("ERROR" in l or "error" in l)]
        kinds = [re.sub(r"\x1b\[[0-9;]*m", "", l.strip()) for l in lines if "reload" in l and ("incremental" in l or "full reload" in l)]
        lost = re.search(r"Queries lost:\s+(\d+)", out)
        sent = re.search(r"Queries sent:\s+(\d+)", out)
        print(f"dnsperf: sent {sent.group(1) if sent else '?'}, lost {lost.group(1) if lost else '?'}")
        for ser, ok, s in switched:
            print(f"reload to serial {ser}: {'answers switched' if ok else 'NOT switched'} after {s} s")
        for k, ok_ns, ok_new, ok_del, ok_ds in changed:
            print(f"reload {k}: changed NS {'ok' if ok_ns else 'WRONG'}, new delegation {'ok' if ok_new else 'WRONG'}, "
                  f"deleted delegation {'ok' if ok_del else 'WRONG'}, new DS {'ok' if ok_ds else 'WRONG'}")
        for l in kinds:
            print("levee:", l[l.find("INFO"):] if "INFO" in l else l)
        print(f"broken zone: serial still {kept} (expected {base + 3}); error logged: {errs[:1]}")
        print(f"RSS steady {steady // 1024} MiB, peak during reloads {peak[0] // 1024} MiB "
              f"({peak[0] / steady:.2f}x)")
        srv.terminate()
        srv.wait(timeout=10)
        ok = (lost and lost.group(1) == "0" and all(s[1] for s in switched) and kept == base + 3 and errs
              and all(all(c[1:]) for c in changed) and peak[0] < 2 * steady)
        sys.exit(0 if ok else 1)
    finally:
        if srv is not None and srv.poll() is None:
            srv.kill()
            srv.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
