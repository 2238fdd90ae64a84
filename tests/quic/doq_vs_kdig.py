#!/usr/bin/env python3
"""Asks levee one question over DNS over QUIC with dnspython (aioquic
underneath: a client independent of levee and of quinn) and the same
question over TCP with kdig, and fails unless the rcode, the flags and
the answer and authority sections are equal (records compared as
dnspython parses them, kdig's text read back with dnspython).

Debian 12's kdig (Knot 3.2) has no +quic (QUIC came in Knot 3.3), so
kdig is the TCP side only.

    doq_vs_kdig.py DOQ_ADDR:PORT CA_FILE CERT_NAME TCP_ADDR:PORT NAME TYPE
"""
import subprocess
import sys

import dns.message
import dns.query
import dns.rdataclass
import dns.rdatatype
import dns.rrset

doq, ca, cert_name, tcp, name, qtype = sys.argv[1:7]
doq_addr, doq_port = doq.rsplit(":", 1)
tcp_addr, tcp_port = tcp.rsplit(":", 1)

q = dns.message.make_query(name, qtype, use_edns=0)
q.flags &= ~dns.flags.RD
r = dns.query.quic(q, doq_addr, port=int(doq_port), timeout=5, verify=ca, hostname=cert_name)
assert r.id == 0, f"DoQ response ID {r.id}, not 0"


def kdig_records(section_flag):
    out = subprocess.run(
        ["kdig", "+tcp", "+norec", "+noall", section_flag, f"@{tcp_addr}", "-p", tcp_port, name, qtype],
        capture_output=True, text=True, timeout=10, check=True).stdout
    rrs = set()
    for line in out.splitlines():
        if not line.strip() or line.startswith(";"):
            continue
        owner, ttl, cls, typ, *rdata = line.split(None, 4)
        rrs.add(dns.rrset.from_text(owner, int(ttl), cls, typ, rdata[0] if rdata else "").to_text())
    return rrs


def doq_records(section):
    out = set()
    for rrset in section:
        for rd in rrset:
            one = dns.rrset.from_rdata(rrset.name, rrset.ttl, rd)
            # Read back from text, as the kdig side is.
            out.add(dns.rrset.from_text(one.name, one.ttl, one.rdclass, one.rdtype, rd.to_text()).to_text())
    return out


head = subprocess.run(["kdig", "+tcp", "+norec", f"@{tcp_addr}", "-p", tcp_port, name, qtype],
                      capture_output=True, text=True, timeout=10, check=True).stdout
status = head.split("status: ", 1)[1].split()[0].rstrip(",;")
ok = True
if dns.rcode.to_text(r.rcode()) != status:
    print(f"{name} {qtype}: rcode {dns.rcode.to_text(r.rcode())} over DoQ, {status} over TCP")
    ok = False
for label, flag, section in (("answer", "+answer", r.answer), ("authority", "+authority", r.authority)):
    want, got = kdig_records(flag), doq_records(section)
    if want != got:
        print(f"{name} {qtype} {label}: over DoQ {sorted(got)}, over TCP (kdig) {sorted(want)}")
        ok = False
if not ok:
    sys.exit(1)
print(f"{name} {qtype}: {status}, {len(r.answer)} answer and {len(r.authority)} authority RRsets equal")
