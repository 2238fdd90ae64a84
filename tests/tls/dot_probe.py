#!/usr/bin/env python3
"""A legitimate DNS-over-TLS client for tests/tls/flood-check.sh: like a
resolver that keeps one DoT connection to the server (ALPN dot, the
certificate checked against --ca, the session resumed when it must
reconnect), it sends --qps queries a second for host0..host999.example.com
A and counts a query as OK only if the right A record (198.18.i/256.i%256,
as ../shared/attack/probe.py expects) comes back within 1 s. A connection
that fails or times out is dropped and a new one made (that query
failed). From --src (default 127.0.0.1), to 127.0.0.0/8 only; bounded by
--duration (<= 120 s). Prints one JSON object.
"""
import argparse
import ipaddress
import json
import random
import socket
import ssl
import struct
import time

DEADLINE = 1.0


def query(qid, i):
    name = b"".join(bytes([len(p)]) + p for p in f"host{i}.example.com".encode().split(b".")) + b"\0"
    return struct.pack("!HHHHHH", qid, 0, 1, 0, 0, 0) + name + struct.pack("!HH", 1, 1)


def recvn(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise OSError("closed")
        b += c
    return b


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", required=True, help="ADDR:PORT of the DoT listener (127.0.0.0/8)")
    ap.add_argument("--ca", required=True)
    ap.add_argument("--name", default="dot.test")
    ap.add_argument("--src", default="127.0.0.1")
    ap.add_argument("--qps", type=float, default=50)
    ap.add_argument("--duration", type=float, default=10)
    a = ap.parse_args()
    host, port = a.target.rsplit(":", 1)
    if ipaddress.ip_address(host) not in ipaddress.ip_network("127.0.0.0/8") or not 0 < a.duration <= 120:
        raise SystemExit("refusing: the target must be in 127.0.0.0/8 and 0 < duration <= 120")
    ctx = ssl.create_default_context(cafile=a.ca)
    ctx.set_alpn_protocols(["dot"])
    st = {"sent": 0, "ok": 0, "wrong": 0, "connects": 0, "resumed": 0, "connect_failures": 0}
    conn, session = None, None
    start = time.monotonic()
    while time.monotonic() - start < a.duration:
        t0 = start + st["sent"] / a.qps
        if t0 > time.monotonic():
            time.sleep(t0 - time.monotonic())
        st["sent"] += 1
        i = random.randrange(1000)
        qid = random.randrange(65536)
        sent_at = time.monotonic()
        try:
            if conn is None:
                raw = socket.create_connection((host, int(port)), timeout=DEADLINE, source_address=(a.src, 0))
                try:
                    conn = ctx.wrap_socket(raw, server_hostname=a.name, session=session)
                except (OSError, ssl.SSLError):
                    raw.close()
                    st["connect_failures"] += 1
                    raise
                st["connects"] += 1
                st["resumed"] += 1 if conn.session_reused else 0
            conn.settimeout(max(0.01, DEADLINE - (time.monotonic() - sent_at)))
            q = query(qid, i)
            conn.sendall(struct.pack("!H", len(q)) + q)
            r = recvn(conn, struct.unpack("!H", recvn(conn, 2))[0])
            session = conn.session or session
        except (OSError, ssl.SSLError):
            if conn is not None:
                conn.close()
            conn = None
            continue
        want = socket.inet_aton(f"198.18.{i // 256}.{i % 256}")
        good = r[:2] == struct.pack("!H", qid) and r[3] & 0x0F == 0 and r.endswith(want)
        if good and time.monotonic() - sent_at <= DEADLINE:
            st["ok"] += 1
        elif not good:
            st["wrong"] += 1
    if conn is not None:
        conn.close()
    st["ok_pct"] = round(100.0 * st["ok"] / st["sent"], 2) if st["sent"] else None
    print(json.dumps(st))


if __name__ == "__main__":
    main()
