#!/usr/bin/env python3
"""The conformance harness's server under test as levee started from a
converted Knot configuration: the harness's own Knot adapter writes the
knot.conf it would give knotd for these zones, `levee migrate knot`
converts it, and levee serves the result in the foreground (exec: the
harness stops it by PID).

usage (as diff.py --sut-cmd): knot_sut.py CONFORMANCE_DIR LEVEE {port} {zones_dir} {workdir}
"""
import os, subprocess, sys, tempfile

conf_dir, levee, port, zones_dir, workdir = sys.argv[1:6]
sys.path.insert(0, conf_dir)
from servers import adapters  # noqa: E402

tempfile.tempdir = workdir          # the adapter's own scratch directory goes here
knot = adapters.Knot(int(port), adapters.ZoneSet(zones_dir))
argv = knot.write_config()
conf = argv[argv.index("-c") + 1]
out = os.path.join(workdir, "levee.toml")
if os.path.exists(out):
    os.remove(out)
subprocess.run([levee, "migrate", "knot", conf, "-o", out], check=True)
sys.stdout.flush()
os.execv(levee, [levee, "serve", "--config", out])
