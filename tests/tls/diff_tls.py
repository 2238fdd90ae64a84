#!/usr/bin/env python3
"""Runs the conformance harness's diff.py (an unmodified copy, in the
current directory) with the server under test's TCP exchanges sent over
DNS over TLS (RFC 7858) instead.

diff.py sends every UDP query to the server under test and to the
references (Knot, NSD, BIND on 127.0.0.1, started by diff.py), and every
TCP query (with --tcp-all: every query) and zone transfer over TCP. This
wrapper replaces diff.py's TCP exchange by one that, for the server under
test only (`--sut-running ADDR:PORT`), connects to levee's DoT listener
(LEVEE_DOT=ADDR:PORT) with Python's ssl module, trusting only the
throwaway CA (LEVEE_DOT_CA, the name LEVEE_DOT_NAME, ALPN "dot"), and
does the same exchange over it: same length framing, same timeout, same
end of a transfer (diff._xfr_done). The references stay on plain TCP:
they are the golden answers. UDP is untouched.

Each TLS exchange is one connection (as diff.py's TCP exchanges are); how
many there were, how many got an answer, and the TLS failures are printed
at the end, and written to LEVEE_DOT_COUNT if set, so the caller can
compare them with levee's /metrics.

    cd COPY_OF_CONFORMANCE && LEVEE_DOT=127.0.0.1:5853 LEVEE_DOT_CA=ca.crt \\
        python3 .../diff_tls.py --sut-running 127.0.0.1:5441 --sut-name levee --tcp-all ...
"""
import os
import socket
import ssl
import struct
import sys
import threading

sys.path.insert(0, os.getcwd())
import diff  # noqa: E402  (the harness copy in the current directory)

DOT_ADDR, DOT_PORT = os.environ["LEVEE_DOT"].rsplit(":", 1)
DOT_PORT = int(DOT_PORT)
CONTEXT = ssl.create_default_context(cafile=os.environ["LEVEE_DOT_CA"])
CONTEXT.minimum_version = ssl.TLSVersion.TLSv1_2
CONTEXT.set_alpn_protocols(["dot"])
NAME = os.environ.get("LEVEE_DOT_NAME", "dot.test")

SUT = None  # (addr, port) of --sut-running
COUNT = {"exchanges": 0, "answered": 0, "tls_failures": 0}
LOCK = threading.Lock()
_tcp_exchange = diff.tcp_exchange


def tls_exchange(wire, xfr=None):
    """diff.tcp_exchange over TLS to the DoT listener."""
    msgs = []
    try:
        raw = socket.create_connection((DOT_ADDR, DOT_PORT), timeout=diff.TCP_TIMEOUT)
    except OSError as e:
        return {"status": f"connect-error:{e}", "msgs": []}
    status = "ok"
    try:
        s = CONTEXT.wrap_socket(raw, server_hostname=NAME)
    except (OSError, ssl.SSLError) as e:
        raw.close()
        with LOCK:
            COUNT["tls_failures"] += 1
        return {"status": f"tls-error:{e}", "msgs": []}
    try:
        s.settimeout(diff.TCP_TIMEOUT)
        s.sendall(struct.pack("!H", len(wire)) + wire)
        for _ in range(diff.MAX_XFR_MSGS if xfr else 1):
            ln = diff._recvn(s, 2)
            if ln is None:
                status = "closed" if not msgs else status
                break
            data = diff._recvn(s, struct.unpack("!H", ln)[0])
            if data is None:
                status = "closed-mid-message"
                break
            msgs.append(data)
            if not xfr or diff._xfr_done(msgs, xfr):
                break
    except socket.timeout:
        status = "timeout" if not msgs else "timeout-after-data"
    except OSError as e:
        status = f"error:{e}"
    finally:
        s.close()
    with LOCK:
        COUNT["exchanges"] += 1
        COUNT["answered"] += 1 if msgs else 0
    return {"status": status, "msgs": msgs}


def tcp_exchange(addr, port, wire, xfr=None):
    if (addr, port) == SUT:
        return tls_exchange(wire, xfr)
    return _tcp_exchange(addr, port, wire, xfr)


def main():
    global SUT
    argv = sys.argv[1:]
    if "--sut-running" not in argv:
        sys.exit("diff_tls.py needs --sut-running ADDR:PORT (levee's UDP address)")
    a, p = argv[argv.index("--sut-running") + 1].rsplit(":", 1)
    SUT = (a, int(p))
    diff.tcp_exchange = tcp_exchange
    rc = diff.main()
    print(f"DoT: {COUNT['exchanges']} exchanges with levee over TLS ({COUNT['answered']} answered), "
          f"{COUNT['tls_failures']} TLS failures")
    out = os.environ.get("LEVEE_DOT_COUNT")
    if out:
        with open(out, "w") as f:
            f.write(f"{COUNT['exchanges']} {COUNT['answered']} {COUNT['tls_failures']}\n")
    return rc


if __name__ == "__main__":
    sys.exit(main())
