#!/usr/bin/env python3
"""Checks levee's /metrics with the reference parser of the Prometheus
client library (prometheus_client.parser.text_string_to_metric_families)
after a known sequence of queries over UDP and TCP.

usage: check_metrics.py DNS_ADDR:PORT MGMT_ADDR:PORT   (a fresh server with
       the zones written by tests/ops/run.sh: calm.test. and attacked.test.)
"""
import sys
import urllib.request

import dns.message
import dns.query
import dns.rcode
from prometheus_client.parser import text_string_to_metric_families


def hostport(s):
    h, p = s.rsplit(":", 1)
    return h, int(p)


def main():
    (dh, dp), (mh, mp) = hostport(sys.argv[1]), hostport(sys.argv[2])
    sent = []

    def ask(name, rtype, tcp=False, want=dns.rcode.NOERROR):
        q = dns.message.make_query(name, rtype)
        r = (dns.query.tcp if tcp else dns.query.udp)(q, dh, port=dp, timeout=5)
        assert r.rcode() == want, f"{name} {rtype}: {dns.rcode.to_text(r.rcode())}"
        sent.append((name, rtype, tcp))

    for _ in range(4):
        ask("www.calm.test.", "A")
    for i in range(3):
        ask(f"r{i}.attacked.test.", "A", want=dns.rcode.NXDOMAIN)
    ask("www.calm.test.", "TXT")                          # NODATA
    ask("example.org.", "A", want=dns.rcode.REFUSED)
    ask("calm.test.", "SOA", tcp=True)
    ask("nope.attacked.test.", "AAAA", tcp=True, want=dns.rcode.NXDOMAIN)

    with urllib.request.urlopen(f"http://{mh}:{mp}/metrics", timeout=10) as resp:
        ctype = resp.headers["Content-Type"]
        text = resp.read().decode("utf-8")
    assert ctype.startswith("text/plain; version=0.0.4"), ctype

    families = {f.name: f for f in text_string_to_metric_families(text)}
    values = {}
    for f in families.values():
        assert f.documentation, f"{f.name} has no HELP"
        assert f.type in ("counter", "gauge"), f"{f.name}: {f.type}"
        for s in f.samples:
            key = (s.name, tuple(sorted(s.labels.items())))
            assert key not in values, f"duplicate series {key}"
            values[key] = s.value

    def v(name, **labels):
        key = (name, tuple(sorted(labels.items())))
        assert key in values, f"missing {name}{labels}"
        return values[key]

    expect = [
        (v("levee_queries_total", transport="udp"), 9),
        (v("levee_queries_total", transport="tcp"), 2),
        (v("levee_responses_total", kind="answer", transport="udp"), 4),
        (v("levee_responses_total", kind="nxdomain", transport="udp"), 3),
        (v("levee_responses_total", kind="nodata", transport="udp"), 1),
        (v("levee_responses_total", kind="error", transport="udp"), 1),
        (v("levee_responses_total", kind="answer", transport="tcp"), 1),
        (v("levee_responses_total", kind="nxdomain", transport="tcp"), 1),
        (v("levee_responses_by_rcode_total", rcode="REFUSED", transport="udp"), 1),
        (v("levee_queries_by_type_total", qtype="A"), 8),
        (v("levee_queries_by_type_total", qtype="TXT"), 1),
        (v("levee_queries_by_type_total", qtype="SOA"), 1),
        (v("levee_queries_by_type_total", qtype="AAAA"), 1),
        (v("levee_zone_responses_total", zone="calm.test."), 6),
        (v("levee_zone_nxdomain_total", zone="attacked.test."), 4),
        (v("levee_zone_serial", zone="calm.test."), 7),
        (v("levee_zone_serial", zone="attacked.test."), 2026112501),
        (v("levee_zones"), 2),
    ]
    bad = [(got, want) for got, want in expect if got != want]
    if bad:
        print(text)
        for (got, want) in bad:
            print(f"mismatch: got {got}, want {want}")
        sys.exit(1)
    # The prometheus_client parser maps counter samples to NAME_total:
    # check the families are counters where the names say so.
    assert families["levee_queries"].type == "counter"
    assert families["levee_zone_serial"].type == "gauge"
    print(f"/metrics: {len(families)} families, {len(values)} series parse with prometheus_client; "
          f"{len(expect)} counters match the {len(sent)} queries sent")


if __name__ == "__main__":
    main()
