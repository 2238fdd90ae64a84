#!/usr/bin/env python3
"""Runs the conformance harness's diff.py (an unmodified copy, in the
current directory) with a server under test reached over IPv6.

diff.py's UDP exchange opens AF_INET sockets only (its TCP exchange,
socket.create_connection, already takes any family), and --sut-running
splits ADDR:PORT at the last colon, so `--sut-running fe80::1%vC:53`
reaches the address. This wrapper replaces the UDP exchange with one that
picks the address family (and an IPv6 link-local scope) from the address,
and keeps everything else: same timeout, same single retry, same result.
The reference servers stay on 127.0.0.1.

    cd COPY_OF_CONFORMANCE && python3 .../diff6.py --sut-running fe80::1%vC:53 ...
"""
import os
import socket
import sys

sys.path.insert(0, os.getcwd())
import diff  # noqa: E402  (the harness copy in the current directory)


def udp_exchange(addr, port, wire, retries=1):
    """diff.udp_exchange, for any address family."""
    family, _, _, _, sockaddr = socket.getaddrinfo(addr, port, type=socket.SOCK_DGRAM)[0]
    for _ in range(retries + 1):
        s = socket.socket(family, socket.SOCK_DGRAM)
        s.settimeout(diff.UDP_TIMEOUT)
        try:
            s.sendto(wire, sockaddr)
            data, _ = s.recvfrom(65535)
            return {"status": "ok", "msgs": [data]}
        except socket.timeout:
            continue
        except OSError as e:
            return {"status": f"error:{e}", "msgs": []}
        finally:
            s.close()
    return {"status": "timeout", "msgs": []}


diff.udp_exchange = udp_exchange
sys.exit(diff.main())
