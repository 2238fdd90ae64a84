"""Server processes of the Python system tests (tests/interop, tests/xot,
tests/catalog): each started with its output in a log file, listed in
PROCS so the script's cleanup stops every one it started (SIGTERM, then
SIGKILL after 10 s), never by name."""

import os
import signal
import subprocess

PROCS = []


class Proc:
    def __init__(self, name, cmd, log, cwd):
        self.name, self.log = name, log
        self.f = open(log, "ab")
        self.p = subprocess.Popen(cmd, stdout=self.f, stderr=subprocess.STDOUT, cwd=cwd)
        PROCS.append(self)

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(5)
        if not self.f.closed:
            self.f.close()

    def hup(self):
        self.p.send_signal(signal.SIGHUP)

    def text(self):
        with open(self.log, "r", errors="replace") as f:
            return f.read()


# Debian 13's peers (Knot 3.4, NSD 4.12, BIND 9.20) run in the chroot that
# tests/lib/trixie.sh makes; the command's PID is the daemon's, so a Proc
# of in_trixie(...) is stopped by PID like any other.
TRIXIE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "trixie.sh")


def in_trixie(*cmd):
    """The command line that runs cmd in the Debian 13 chroot."""
    return [TRIXIE, "run", *cmd]


def trixie_ready():
    """Make the chroot if it is missing (tests/lib/trixie.sh setup); its
    peers' versions, or None (with the reason printed) if it cannot be had."""
    r = subprocess.run([TRIXIE, "setup"], capture_output=True, text=True, timeout=900)
    if r.returncode != 0:
        print(f"tests/lib/trixie.sh setup failed: {(r.stdout + r.stderr).strip()[-800:]}", flush=True)
        return None
    r = subprocess.run([TRIXIE, "versions"], capture_output=True, text=True, timeout=60)
    return r.stdout.strip() if r.returncode == 0 else None
