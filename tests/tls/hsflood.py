#!/usr/bin/env python3
"""A bounded TLS handshake flood for check 4 of issue 21 (run by the
integrator on a quiet machine; never in CI): many sources from
127.0.0.0/8, each a new TCP connection that sends a TLS 1.3 ClientHello
(ALPN dot, a fresh X25519 key share for each, made by Python's ssl) and
waits for the server's first flight, then closes. The server does the
expensive part of every handshake (key exchange, signature) unless its
handshake budget refuses the connection at accept.

    hsflood.py --target 127.0.0.1:5572 --rate 2000 --count 100000 --duration 20

Sources: 127.S.X.Y with S in 100..199 (never 127.0.0.0/24, where the
legitimate clients of flood-check.sh live), one /24 per --per-prefix
connections, so the flood comes from many prefixes. Bounded: --count
connections at most, --duration seconds at most (<= 120), --inflight
connections open at once at most (<= 4096); each connection is closed
after --hold seconds. Refuses targets outside 127.0.0.0/8.
Prints one JSON object: connections started, server answered (a TLS
record came back), refused or closed before answering, errors.
"""
import argparse
import ipaddress
import json
import selectors
import socket
import ssl
import time


def client_hello(ctx):
    """A fresh ClientHello (its own key share): the first flight of a
    memory-BIO TLS client."""
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname="dot.test")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def source(i, per_prefix):
    p = i // per_prefix
    return f"127.{100 + (p // 256) % 100}.{p % 256}.{1 + i % per_prefix % 250}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", required=True, help="ADDR:PORT of the DoT listener (127.0.0.0/8)")
    ap.add_argument("--rate", type=float, default=1000, help="new connections a second")
    ap.add_argument("--count", type=int, default=10000, help="connections in all")
    ap.add_argument("--duration", type=float, default=20, help="seconds at most (<= 120)")
    ap.add_argument("--per-prefix", type=int, default=20, help="connections from each /24 before the next")
    ap.add_argument("--inflight", type=int, default=1024, help="connections open at once (<= 4096)")
    ap.add_argument("--hold", type=float, default=1.0, help="seconds a connection waits for the server")
    a = ap.parse_args()
    host, port = a.target.rsplit(":", 1)
    if ipaddress.ip_address(host) not in ipaddress.ip_network("127.0.0.0/8"):
        raise SystemExit("refusing: the target must be in 127.0.0.0/8")
    if not (0 < a.duration <= 120 and 0 < a.inflight <= 4096 and a.count > 0 and a.rate > 0 and a.per_prefix > 0):
        raise SystemExit("refusing: 0 < duration <= 120, 0 < inflight <= 4096, count, rate, per-prefix > 0")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.set_alpn_protocols(["dot"])
    sel = selectors.DefaultSelector()
    st = {"started": 0, "answered": 0, "closed_unanswered": 0, "errors": 0}
    start = time.monotonic()
    end = start + a.duration
    deadline = {}

    def finish(s, key):
        st[key] += 1
        sel.unregister(s)
        deadline.pop(s, None)
        s.close()

    while time.monotonic() < end and (st["started"] < a.count or deadline):
        now = time.monotonic()
        due = min(a.count, int((now - start) * a.rate) + 1)
        while st["started"] < due and len(deadline) < a.inflight:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            try:
                s.bind((source(st["started"], a.per_prefix), 0))
                s.setblocking(False)
                s.connect_ex((host, int(port)))
            except OSError:
                st["errors"] += 1
                s.close()
                st["started"] += 1
                continue
            st["started"] += 1
            sel.register(s, selectors.EVENT_WRITE, "connecting")
            deadline[s] = now + a.hold
        for key, ev in sel.select(timeout=0.005):
            s = key.fileobj
            if key.data == "connecting":
                if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                    finish(s, "errors")
                    continue
                try:
                    s.send(client_hello(ctx))
                except OSError:
                    finish(s, "closed_unanswered")
                    continue
                sel.modify(s, selectors.EVENT_READ, "hello-sent")
            else:
                try:
                    data = s.recv(4096)
                except OSError:
                    data = b""
                finish(s, "answered" if data[:1] == b"\x16" else "closed_unanswered")
        now = time.monotonic()
        for s in [s for s, t in deadline.items() if t < now]:
            finish(s, "closed_unanswered")
    for s in list(deadline):
        finish(s, "closed_unanswered")
    st["seconds"] = round(time.monotonic() - start, 2)
    print(json.dumps(st))


if __name__ == "__main__":
    main()
