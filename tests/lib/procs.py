"""Server processes of the Python system tests (tests/interop, tests/xot,
tests/catalog): each started with its output in a log file, listed in
PROCS so the script's cleanup stops every one it started (SIGTERM, then
SIGKILL after 10 s), never by name."""

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
