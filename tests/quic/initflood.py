#!/usr/bin/env python3
"""A bounded DNS-over-QUIC Initial flood for check 4 of issue 21 (run by
the integrator on a quiet machine; never in CI): QUIC v1 Initial packets,
each a new connection attempt with its own connection ID and TLS 1.3
ClientHello (ALPN doq), made by aioquic, sent from many sources and
ports in 127.0.0.0/8 and never completed. Without address validation
each would cost the server a handshake; levee answers them with a Retry
once new connections pass `tls.quic-retry-above` a second.

    initflood.py --target 127.0.0.1:5572 --rate 2000 --count 100000 --duration 20

Sources: --sockets UDP sockets, each bound to its own 127.S.X.Y (S in
200..254, never 127.0.0.0/24) and an ephemeral port, used in turn; a new
set of sockets every --rotate packets, so the flood keeps coming from
new ports too. Each Initial is sent --reuse times (default 1: every
packet is a new connection ID); making an Initial costs about a
millisecond of Python, so one process sends about a thousand a second:
run several for more. Bounded: --count packets, --duration seconds
(<= 120). Refuses targets outside 127.0.0.0/8. Whatever the server sends
back (Retry, Handshake) is read and counted, never answered. Prints one
JSON object.
"""
import argparse
import ipaddress
import json
import socket
import ssl
import time

from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.connection import QuicConnection


def initial(cfg, addr):
    c = QuicConnection(configuration=cfg)
    now = time.time()
    c.connect(addr, now=now)
    return [d for d, _ in c.datagrams_to_send(now=now)]


def sockets(n, gen):
    out = []
    for i in range(n):
        k = gen * n + i
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((f"127.{200 + (k // 65536) % 55}.{(k // 256) % 256}.{1 + k % 250}", 0))
        s.setblocking(False)
        out.append(s)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", required=True, help="ADDR:PORT of the DoQ listener (127.0.0.0/8)")
    ap.add_argument("--rate", type=float, default=500, help="Initial packets a second")
    ap.add_argument("--count", type=int, default=5000, help="packets in all")
    ap.add_argument("--duration", type=float, default=20, help="seconds at most (<= 120)")
    ap.add_argument("--sockets", type=int, default=64, help="source sockets at once (<= 1024)")
    ap.add_argument("--rotate", type=int, default=2048, help="new source sockets every so many packets")
    ap.add_argument("--reuse", type=int, default=1, help="times each Initial is sent (other sources)")
    a = ap.parse_args()
    host, port = a.target.rsplit(":", 1)
    addr = (host, int(port))
    if ipaddress.ip_address(host) not in ipaddress.ip_network("127.0.0.0/8"):
        raise SystemExit("refusing: the target must be in 127.0.0.0/8")
    if not (0 < a.duration <= 120 and 0 < a.sockets <= 1024 and a.count > 0 and a.rate > 0 and a.reuse > 0):
        raise SystemExit("refusing: 0 < duration <= 120, 0 < sockets <= 1024, count, rate, reuse > 0")
    cfg = QuicConfiguration(is_client=True, alpn_protocols=["doq"], verify_mode=ssl.CERT_NONE, server_name="dot.test")
    st = {"sent": 0, "received": 0, "retry": 0, "errors": 0}
    gen, socks = 0, sockets(a.sockets, 0)
    start = time.monotonic()
    end = start + a.duration
    pending = []
    while time.monotonic() < end and st["sent"] < a.count:
        due = min(a.count, int((time.monotonic() - start) * a.rate) + 1)
        while st["sent"] < due:
            if not pending:
                pending = initial(cfg, addr) * a.reuse
            pkt = pending.pop()
            s = socks[st["sent"] % len(socks)]
            try:
                s.sendto(pkt, addr)
            except OSError:
                st["errors"] += 1
            st["sent"] += 1
            if st["sent"] % a.rotate == 0:
                for o in socks:
                    o.close()
                gen += 1
                socks = sockets(a.sockets, gen)
        for s in socks:
            while True:
                try:
                    data = s.recv(2048)
                except OSError:
                    break
                st["received"] += 1
                # Long header, type Retry (0b11 in bits 4-5 of the first octet).
                if data and data[0] & 0x80 and (data[0] >> 4) & 0x3 == 3:
                    st["retry"] += 1
        time.sleep(0.001)
    for s in socks:
        s.close()
    st["seconds"] = round(time.monotonic() - start, 2)
    print(json.dumps(st))


if __name__ == "__main__":
    main()
