#!/usr/bin/env python3
"""Runs the conformance harness's diff.py (an unmodified copy, in the
current directory) with the server under test's stream exchanges sent over
DNS over QUIC (RFC 9250) instead of TCP, as tests/tls/diff_tls.py does for
DNS over TLS.

diff.py sends every UDP query to the server under test and to the
references (Knot, NSD, BIND on 127.0.0.1, started by diff.py), and every
TCP query (with --tcp-all: every query) and zone transfer over TCP. This
wrapper replaces diff.py's TCP exchange by one that, for the server under
test only (`--sut-running ADDR:PORT`), opens a QUIC connection to levee's
DoQ listener (LEVEE_DOQ=ADDR:PORT) with dnspython's DoQ client (aioquic),
trusting only the throwaway CA (LEVEE_DOQ_CA, the name LEVEE_DOQ_NAME,
ALPN "doq"), and does the same exchange on one bidirectional stream: the
query with its 2-octet length prefix and FIN, then one message (or, for
a transfer, messages until diff._xfr_done) read back from the stream. The
references stay on plain TCP: they are the golden answers. UDP is
untouched.

RFC 9250 §4.2.1: a DoQ query's Message ID is 0. The wrapper sends the
harness's query with its ID set to 0, checks that every response on the
stream has ID 0 (anything else is reported as status "bad-id", no
messages), and puts the harness's ID back into each response before
diff.py compares it with the references, which got the original ID over
TCP. Nothing else in the octets is touched.

Each exchange is one QUIC connection (as diff.py's TCP exchanges are);
how many there were, how many got an answer, and the connection failures
are printed at the end and written to LEVEE_DOQ_COUNT if set, so the
caller can compare them with levee's /metrics.
"""
import os
import sys
import threading

import dns.exception
import dns.quic

sys.path.insert(0, os.getcwd())
import diff  # noqa: E402  (the harness copy in the current directory)

DOQ_ADDR, DOQ_PORT = os.environ["LEVEE_DOQ"].rsplit(":", 1)
DOQ_PORT = int(DOQ_PORT)
CA = os.environ["LEVEE_DOQ_CA"]
NAME = os.environ.get("LEVEE_DOQ_NAME", "dot.test")

SUT = None  # (addr, port) of --sut-running
COUNT = {"exchanges": 0, "answered": 0, "failures": 0}
LOCK = threading.Lock()
_tcp_exchange = diff.tcp_exchange


def quic_exchange(wire, xfr=None):
    """diff.tcp_exchange over one DoQ stream."""
    qid, zero = wire[:2], b"\0\0" + wire[2:]
    msgs = []
    status = "ok"
    failed = False
    try:
        with dns.quic.SyncQuicManager(verify_mode=CA, server_name=NAME) as mgr:
            conn = mgr.connect(DOQ_ADDR, DOQ_PORT, want_session_ticket=False, want_token=False)
            with conn.make_stream(diff.TCP_TIMEOUT) as stream:
                stream.send(zero, True)
                for _ in range(diff.MAX_XFR_MSGS if xfr else 1):
                    m = stream.receive(diff.TCP_TIMEOUT)
                    if m[:2] != b"\0\0":
                        status, msgs = "bad-id", []
                        break
                    msgs.append(qid + m[2:])
                    if not xfr or diff._xfr_done(msgs, xfr):
                        break
    except dns.exception.Timeout:
        status = "timeout" if not msgs else "timeout-after-data"
    except Exception as e:  # connection refused, closed, handshake failure
        status = f"error:{type(e).__name__}:{e}"
        failed = not msgs
    with LOCK:
        COUNT["exchanges"] += 1
        COUNT["answered"] += 1 if msgs else 0
        COUNT["failures"] += 1 if failed else 0
    return {"status": status, "msgs": msgs}


def tcp_exchange(addr, port, wire, xfr=None):
    if (addr, port) == SUT:
        return quic_exchange(wire, xfr)
    return _tcp_exchange(addr, port, wire, xfr)


def main():
    global SUT
    argv = sys.argv[1:]
    if "--sut-running" not in argv:
        sys.exit("diff_quic.py needs --sut-running ADDR:PORT (levee's UDP address)")
    a, p = argv[argv.index("--sut-running") + 1].rsplit(":", 1)
    SUT = (a, int(p))
    diff.tcp_exchange = tcp_exchange
    rc = diff.main()
    print(f"DoQ: {COUNT['exchanges']} exchanges with levee over QUIC ({COUNT['answered']} answered), "
          f"{COUNT['failures']} failures")
    out = os.environ.get("LEVEE_DOQ_COUNT")
    if out:
        with open(out, "w") as f:
            f.write(f"{COUNT['exchanges']} {COUNT['answered']} {COUNT['failures']}\n")
    return rc


if __name__ == "__main__":
    sys.exit(main())
