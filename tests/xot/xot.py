#!/usr/bin/env python3
"""Zone transfers over TLS (XoT, RFC 9103; issue 21): levee as the primary,
BIND 9.18, NSD 4.6 and Knot 3.4 as secondaries pulling over TLS, and the
other way; mutual TLS both ways. Run by run.sh. Knot 3.4 and NSD 4.12 are
Debian 13's, run in the chroot of tests/lib/trixie.sh (made if missing;
without it the script fails, it does not skip).

  1. A throwaway CA and a certificate for xot.test (and 127.0.0.1), made
     with openssl in a temporary directory.
  2. levee serves example.test (ZONE_RECORDS records, 100,000 by default:
     a transfer of several seconds over TLS, to show the DoT idle and
     message timeouts do not cut a long transfer) with
     allow-transfer = ["127.0.0.0/8 key xfr"] (TSIG), NOTIFY to both
     secondaries, a DoT listener; the DoT listener offers ALPN "dot"
     (RFC 9103 section 7.1) and openssl s_client must see it negotiated.
  3. BIND (`primaries { ... key xfr tls xot; }`, `tls xot { ca-file;
     remote-hostname; }`, transfers from 127.0.0.2), NSD (`request-xfr:
     127.0.0.1@DOT xfr xot`, `tls-auth:` with auth-domain-name, the CA as
     tls-cert-bundle, transfers from 127.0.0.3) and Knot 3.4 (`remote:
     tls: on`, `cert-key:` the pin of levee's key: Knot 3.4 authenticates
     a remote by its key's pin, it has no CA check; `via: 127.0.0.4`) get
     the whole zone: their serial, then levee's log of the transfers it
     served: an AXFR to each, over TLS (transport="tls"), and none over
     plain TCP.
  4. A change on levee (SIGHUP) reaches both by IXFR over TLS (levee's log:
     kind="IXFR" transport="tls" to each source), within 10 s.
  5. The zone each secondary serves (AXFR from it, plain TCP, TSIG) equals
     levee's record for record.
  6. The certificate is really checked: a BIND told to expect wrong.test
     refuses levee's certificate ("TLS peer certificate verification
     failed") and gets no zone; a Knot pinning another key refuses it
     ("unknown certificate key") and gets no zone.
  7. BIND, NSD and Knot offer ALPN "dot" when they open XoT (RFC 9103 7.1): a
     one-shot listener reads each one's ClientHello (plaintext) and
     parses its ALPN extension.

Here the secondaries are authorised by TSIG and address, as over TCP.

Part M, mutual TLS (RFC 9103 §9.3.3): a second levee serves mtls.test
with `[tls] client-ca-file` and `allow-transfer = ["tls-client
bind.test", "tls-client knot.test", "tls-client nsd.test"]` only; a BIND
9.18 secondary whose `tls` block has `cert-file`/`key-file` (a
certificate valid for bind.test from the same CA) gets the zone over TLS,
a BIND without them gets nothing, and a BIND presenting a certificate
valid for another name gets nothing. Knot 3.4 presents its server
`key-file`/`cert-file` (valid for knot.test) and gets the zone; without
them it gets nothing. NSD 4.12 presents its tls-auth's
`client-cert`/`client-key` (nsd.test) and gets the zone; without them it
is refused.

Part P, the other way: Knot 3.4 (an ACL with `cert-key:` the pin of
levee's client key, over its `listen-tls`) and NSD 4.12 (`tls-auth-port`,
`tls-auth-xfr-only`, `provide-xfr: 127.0.0.1 NOKEY levee` with
auth-domain-name levee.test) as primaries: a levee with `[transfer-in]
tls-cert-file`/`tls-key-file` (levee.test) gets the zone over TLS, a
levee without gets nothing (Knot: NOTAUTH; NSD: TLS alert
CertificateRequired). NSD 4.12's tls-auth-port aborts a handshake that
resumes a session ("session id context uninitialized"), so levee does not
resume when it presents a certificate.

Part B, the other way: BIND 9.18 as the primary with a DoT listener
(`listen-on port P tls srv`, the same certificate), levee as the secondary
(`primaries = ["127.0.0.1:P key xfr tls xot.test"]`, `[transfer-in]
tls-ca-file`): AXFR, then a change (BIND reloaded, NOTIFY to levee) by
IXFR, both over TLS (levee's entry names only BIND's TLS port); levee's
zone equals BIND's record for record. Part C: the same with NSD 4.6 as
the primary (its DoT service: tls-port, tls-service-key/-pem); NSD has no
IXFR out, so the change comes as a whole zone in answer to levee's IXFR.
Part K: the same with Knot 3.4 as the primary (`listen-tls`, `key-file`/
`cert-file`; `zonefile-load: difference`, SIGHUP): AXFR then IXFR, and
Knot's own log shows both out over TLS.

Every wait is bounded; traffic stays on 127.0.0.0/8, ports 5880-5897 and
5900-5913.
Peers run as our own foreground processes, stopped by PID.
"""

import base64
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsigkeyring

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from procs import PROCS, Proc, in_trixie, trixie_ready  # noqa: E402  (tests/lib: shared by the system tests)

LEVEE = os.environ.get("LEVEE_BIN", "levee")
RECORDS = int(os.environ.get("ZONE_RECORDS", "100000"))
SECRET = base64.b64encode(b"levee xot test key 0123456789abc").decode()
KR = dns.tsigkeyring.from_text({"xfr.": ("hmac-sha256", SECRET)})
ZONE = "example.test."
PORT, DOT, BIND_PORT, NSD_PORT, BIND_BAD, HELLO, PEER2 = 5880, 5881, 5882, 5883, 5884, 5885, 5886
# Part B: BIND primary (plain, DoT), levee secondary.
B_PLAIN, B_DOT, L_SEC = 5887, 5888, 5889
# Part C: NSD primary (plain, DoT), levee secondary.
N_PLAIN, N_DOT, L_SEC2 = 5890, 5891, 5892
# Part M: mutual TLS: levee (plain, DoT), BIND secondaries with, without and with a wrong client certificate.
M_PLAIN, M_DOT, M_GOOD, M_NONE, M_WRONG = 5893, 5894, 5895, 5896, 5897
M_ZONE = "mtls.test."
# Part K (Debian 13's Knot 3.4, tests/lib/trixie.sh): a Knot secondary of
# levee, one pinning another key; Knot as the primary of a levee secondary.
KNOT_PORT, KNOT_BAD, K_PLAIN, K_DOT, L_SEC3 = 5900, 5901, 5902, 5903, 5904
# Part M with Debian 13's peers: Knot 3.4 and NSD 4.12 (with and without a
# client certificate) as mutual-TLS secondaries of levee.
M_KNOT, M_NSD, M_NSD_NONE = 5905, 5906, 5907
# Part P: Knot 3.4 and NSD 4.12 as primaries requiring levee's client
# certificate (Knot: an ACL with its key's pin; NSD: tls-auth-port).
KM_PLAIN, KM_DOT, NM_PLAIN, NM_AUTH, LM_GOOD, LM_NONE = 5908, 5909, 5910, 5911, 5912, 5913
BIND_SRC, NSD_SRC, KNOT_SRC = "127.0.0.2", "127.0.0.3", "127.0.0.4"
RESULTS = []


def check(name, ok, detail=""):
    RESULTS.append((name, bool(ok)))
    print(f"{'PASS' if ok else 'FAIL'}  {name}  {detail}", flush=True)
    return ok


def zone_text(serial):
    """RECORDS records: the SOA, NS, and hosts; serial 2 changes a few."""
    out = ["$TTL 300", f"@ SOA ns1 hostmaster {serial} 3600 600 86400 60", "@ NS ns1", "ns1 A 127.0.0.1"]
    for i in range(RECORDS - 3):
        out.append(f"h{i} A 198.18.{(i >> 8) & 255}.{i & 255}")
    if serial >= 2:
        out[4] = "h0 A 192.0.2.2"  # changed
        out.append(f'v{serial} TXT "added at serial {serial}"')  # added
        del out[6]  # h2 removed
    return "\n".join(out) + "\n"


def serial_of(port, zone=ZONE):
    q = dns.message.make_query(zone, "SOA")
    try:
        r = dns.query.udp(q, "127.0.0.1", port=port, timeout=0.5)
    except Exception:
        return None
    if r.rcode() != dns.rcode.NOERROR:
        return None
    return next((rr[0].serial for rr in r.answer if rr.rdtype == dns.rdatatype.SOA), None)


def wait_for(pred, timeout, step=0.1):
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if pred():
            return time.monotonic() - start
        time.sleep(step)
    return None


def axfr(port):
    """The zone as a set of canonical records (plain TCP, TSIG verified by dnspython)."""
    recs = set()
    for m in dns.query.xfr("127.0.0.1", ZONE, port=port, keyring=KR, keyname="xfr.",
                           keyalgorithm="hmac-sha256", lifetime=60):
        for rrset in m.answer:
            for rd in rrset:
                recs.add((rrset.name.canonicalize().to_text(), rrset.ttl, rd.rdtype,
                          rd.to_digestable(dns.name.from_text(ZONE)).hex()))
    return recs


def make_ca(d):
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    run = lambda *a: subprocess.run(a, cwd=d, check=True, capture_output=True)  # noqa: E731
    run("openssl", "req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "1",
        "-subj", "/CN=levee xot throwaway CA")
    run("openssl", "req", *ec, "-keyout", "xot.key", "-out", "xot.csr", "-subj", "/CN=xot.test")
    with open(os.path.join(d, "ext"), "w") as f:
        f.write("subjectAltName=DNS:xot.test,IP:127.0.0.1\n")
    run("openssl", "x509", "-req", "-in", "xot.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "xot.crt", "-days", "1", "-extfile", "ext")
    os.chmod(os.path.join(d, "xot.key"), 0o600)


def levee(d):
    with open(os.path.join(d, "example.test.zone"), "w") as f:
        f.write(zone_text(1))
    with open(os.path.join(d, "levee.toml"), "w") as f:
        f.write(f"""version = 1
[server]
listen = ["127.0.0.1:{PORT}"]
threads = 1
storage-dir = "store"
[tls]
listen = ["127.0.0.1:{DOT}"]
certificate = "xot.crt"
key = "xot.key"
[[key]]
name = "xfr"
algorithm = "hmac-sha256"
secret = "{SECRET}"
[[zone]]
name = "{ZONE}"
file = "example.test.zone"
allow-transfer = ["127.0.0.0/8 key xfr"]
notify = ["127.0.0.1:{BIND_PORT} key xfr", "127.0.0.1:{NSD_PORT} key xfr", "127.0.0.1:{KNOT_PORT} key xfr"]
""")
    return Proc("levee", [LEVEE, "serve", "-c", "levee.toml"], os.path.join(d, "levee.log"), d)


def bind(d, port, hostname, primary=DOT):
    os.makedirs(d, exist_ok=True)
    conf = f"""options {{
    directory "{d}";
    pid-file "{d}/named.pid";
    session-keyfile "{d}/session.key";
    listen-on port {port} {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }};
    recursion no;
    dnssec-validation no;
    transfer-source {BIND_SRC};
    notify-source {BIND_SRC};
}};
controls {{ }};
logging {{ category default {{ default_stderr; }}; category xfer-in {{ default_stderr; }};
    category notify {{ default_stderr; }}; }};
key "xfr" {{ algorithm hmac-sha256; secret "{SECRET}"; }};
tls xot {{ ca-file "{os.path.dirname(d)}/ca.crt"; remote-hostname "{hostname}"; }};
zone "{ZONE}" {{
    type secondary; file "{d}/example.test.db";
    primaries {{ 127.0.0.1 port {primary} key xfr tls xot; }};
    allow-notify {{ key xfr; }}; notify no;
    allow-transfer {{ key xfr; }};
}};
"""
    with open(os.path.join(d, "named.conf"), "w") as f:
        f.write(conf)
    return Proc("named", ["named", "-g", "-c", os.path.join(d, "named.conf")], os.path.join(d, "named.log"), d)


def nsd_server(d, ports, ca, extra=""):
    """The `server:` and `remote-control:` clauses of an NSD configuration
    kept in `d` (no chroot, no user change, no database), listening on
    127.0.0.1 at `ports` (the first is `port:`), trusting the CA bundle
    `ca` for TLS, with `extra` server lines (indented) added."""
    listen = "".join(f"    ip-address: 127.0.0.1@{p}\n" for p in ports)
    return f"""server:
{listen}    port: {ports[0]}
{extra}    username: ""
    chroot: ""
    zonesdir: "{d}"
    database: ""
    pidfile: "{d}/nsd.pid"
    xfrdfile: "{d}/xfrd.state"
    zonelistfile: "{d}/zone.list"
    xfrdir: "{d}"
    verbosity: 2
    tls-cert-bundle: "{ca}"
remote-control:
    control-enable: no
"""


def nsd(d, port=NSD_PORT, primary=DOT):
    os.makedirs(d, exist_ok=True)
    conf = nsd_server(d, [port], f"{os.path.dirname(d)}/ca.crt") + f"""key:
    name: xfr
    algorithm: hmac-sha256
    secret: "{SECRET}"
tls-auth:
    name: xot
    auth-domain-name: "xot.test"
zone:
    name: {ZONE}
    zonefile: "{d}/example.test.zone"
    request-xfr: 127.0.0.1@{primary} xfr xot
    outgoing-interface: {NSD_SRC}
    allow-notify: 127.0.0.1 xfr
    provide-xfr: 127.0.0.1 xfr
"""
    with open(os.path.join(d, "nsd.conf"), "w") as f:
        f.write(conf)
    return Proc("nsd", ["nsd", "-d", "-c", os.path.join(d, "nsd.conf")], os.path.join(d, "nsd.log"), d)


def pin(keyfile):
    """A key's pin as Knot's `cert-key` and kdig's +tls-pin take it: the
    base64 SHA-256 of its SubjectPublicKeyInfo (RFC 7858 section 4.2)."""
    der = subprocess.run(["openssl", "pkey", "-in", keyfile, "-pubout", "-outform", "DER"],
                         check=True, capture_output=True).stdout
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


def knot(d, tag, server, remotes="", acls="", zones=""):
    """Debian 13's knotd (3.4) in the chroot of tests/lib/trixie.sh, as root,
    its rundir and storage in d (under /tmp, visible inside); server: the
    lines of its server section (listen, listen-tls, key-file, ...). The
    test's own AXFR reader (dnspython, canonical forms of 100,000 records)
    is slower than Knot's 500 ms per message budget (`tcp-io-timeout`),
    which would cut it: 20 s here (0, no limit, makes Knot 3.4 reset
    every TLS handshake at once)."""
    os.makedirs(d, exist_ok=True)
    lines = "".join(f"    {line}\n" for line in server + ["tcp-io-timeout: 20000"])
    conf = f"""server:
    rundir: {d}
{lines}log:
  - target: stderr
    any: info
database:
    storage: {d}
key:
  - id: xfr
    algorithm: hmac-sha256
    secret: {SECRET}
{f"remote:{chr(10)}{remotes}{chr(10)}" if remotes else ""}acl:
{acls}
zone:
{zones}"""
    path = os.path.join(d, "knot.conf")
    with open(path, "w") as f:
        f.write(conf)
    return Proc(tag, in_trixie("knotd", "-c", path), os.path.join(d, "knot.log"), d)


def knot_secondary(d, port, key_pin, primary=DOT, client=None):
    """Knot 3.4 pulling example.test (or mtls.test with `client`: the
    certificate it presents, "" for its own) from levee over TLS (`remote: tls: on`),
    levee's certificate authenticated by its key's pin (`cert-key`: Knot
    3.4 has no CA check for remotes), transfers from KNOT_SRC."""
    zone = M_ZONE if client is not None else ZONE
    server = [f"listen: 127.0.0.1@{port}"]
    if client:
        server += [f"key-file: {client}.key", f"cert-file: {client}.crt"]
    return knot(d, f"knotd-{os.path.basename(d)}", server,
                remotes=f"""  - id: levee
    address: 127.0.0.1@{primary}
    via: {KNOT_SRC}
    tls: on
    cert-key: {key_pin}
{"" if client is not None else "    key: xfr"}""",
                acls="""  - id: notify
    address: 127.0.0.0/8
    key: xfr
    action: notify
  - id: xfr
    address: 127.0.0.1
    key: xfr
    action: transfer""",
                zones=f"""  - domain: {zone}
    storage: {d}
    master: levee
    acl: [notify, xfr]
    zonefile-sync: -1
""")


def served(log, kind, src, transport, serial):
    pat = rf'outgoing zone transfer.*serial={serial} client={re.escape(src)}:\d+ kind="{kind}" transport="{transport}"'
    return len(re.findall(pat, log))


def alpn(d):
    """What ALPN levee's DoT listener negotiates with a client offering `dot`."""
    r = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{DOT}", "-alpn", "dot",
                        "-CAfile", os.path.join(d, "ca.crt"), "-servername", "xot.test", "-verify_return_error"],
                       input=b"", capture_output=True, timeout=10)
    out = r.stdout.decode(errors="replace")
    m = re.search(r"ALPN protocol: (\S+)", out)
    v = re.search(r"Protocol\s*:\s*(TLSv\S+)", out) or re.search(r"New, (TLSv\S+)", out)
    return (m.group(1) if m else None), (v.group(1) if v else None), ("Verify return code: 0 (ok)" in out)


def offered_alpn(start_peer):
    """The ALPN protocols a secondary offers when it opens XoT: a one-shot
    listener on HELLO reads its TLS ClientHello (plaintext) and closes."""
    import socket
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", HELLO))
    ls.listen(4)
    ls.settimeout(30)
    peer = start_peer()
    try:
        c, _ = ls.accept()
        c.settimeout(5)
        data = b""
        while len(data) < 5 or len(data) < 5 + int.from_bytes(data[3:5], "big"):
            chunk = c.recv(4096)
            if not chunk:
                break
            data += chunk
        c.close()
    finally:
        ls.close()
        peer.stop()
    return parse_alpn(data)


def parse_alpn(rec):
    """ALPN names in a TLS record holding a ClientHello (RFC 8446 4.1.2, RFC 7301)."""
    if len(rec) < 9 or rec[0] != 22 or rec[5] != 1:
        return None
    b, i = rec[9:], 2 + 32
    i += 1 + b[i]
    i += 2 + int.from_bytes(b[i:i + 2], "big")
    i += 1 + b[i]
    end = i + 2 + int.from_bytes(b[i:i + 2], "big")
    i += 2
    while i + 4 <= end:
        typ, ln = int.from_bytes(b[i:i + 2], "big"), int.from_bytes(b[i + 2:i + 4], "big")
        if typ == 16:
            lst, j, out = b[i + 6:i + 4 + ln], 0, []
            while j < len(lst):
                out.append(lst[j + 1:j + 1 + lst[j]].decode(errors="replace"))
                j += 1 + lst[j]
            return out
        i += 4 + ln
    return []


def scenario(work):
    make_ca(work)
    lev = levee(work)
    if not check("levee starts with a DoT listener", wait_for(lambda: serial_of(PORT) == 1, 60)
                 and "DNS over TLS on 127.0.0.1" in lev.text()):
        print(lev.text()[-2000:])
        return
    proto, version, verified = alpn(work)
    check("levee's DoT listener negotiates ALPN dot (RFC 9103 7.1)", proto == "dot" and verified,
          f"ALPN {proto}, {version}, certificate verified: {verified}")

    b = bind(os.path.join(work, "bind"), BIND_PORT, "xot.test")
    n = nsd(os.path.join(work, "nsd"))
    k = knot_secondary(os.path.join(work, "knot"), KNOT_PORT, pin(os.path.join(work, "xot.key")))
    peers = (("BIND", BIND_PORT, BIND_SRC, b), ("NSD", NSD_PORT, NSD_SRC, n), ("Knot 3.4", KNOT_PORT, KNOT_SRC, k))
    for name, port, src, p in peers:
        t = wait_for(lambda: serial_of(port) == 1, 90, 0.3)
        check(f"{name}: the whole zone over TLS ({RECORDS} records)", t is not None,
              f"serial 1 after {t and round(t, 1)} s")
        log = lev.text()
        check(f"{name}: levee served it an AXFR over TLS, none over plain TCP",
              served(log, "AXFR", src, "tls", 1) >= 1 and served(log, "[AI]XFR", src, "tcp", r"\d+") == 0,
              f"AXFR over TLS: {served(log, 'AXFR', src, 'tls', 1)}, over TCP: {served(log, '[AI]XFR', src, 'tcp', r'[0-9]+')}")
        if t is None:
            print(p.text()[-3000:])

    with open(os.path.join(work, "example.test.zone"), "w") as f:
        f.write(zone_text(2))
    lev.p.send_signal(signal.SIGHUP)
    for name, port, src, p in peers:
        t = wait_for(lambda: serial_of(port) == 2, 30, 0.2)
        log = lev.text()
        check(f"{name}: the change reached it by IXFR over TLS", t is not None and served(log, "IXFR", src, "tls", 2) >= 1,
              f"serial 2 after {t and round(t, 1)} s; IXFR over TLS: {served(log, 'IXFR', src, 'tls', 2)}, "
              f"AXFR over TLS: {served(log, 'AXFR', src, 'tls', 2)}")
        if t is None:
            print(p.text()[-3000:])
    # The peers' own word: serial 2 came from levee's DoT port, as a
    # difference (a few records), not the whole zone.
    m = re.search(rf"from 127\.0\.0\.1#{DOT}: Transfer completed: \d+ messages, (\d+) records.*\(serial 2\)", b.text())
    check("BIND: its log has serial 2 from levee's DoT port, a few records (IXFR)",
          m is not None and int(m.group(1)) < 20, m.group(0) if m else "no such line")
    m = re.search(rf"received update to serial 2 at \S+ from 127\.0\.0\.1@{DOT} TSIG verified with key xfr of (\d+) bytes",
                  n.text())
    check("NSD: its log has serial 2 from levee's DoT port, a few records (IXFR)",
          m is not None and int(m.group(1)) < 2000, m.group(0) if m else "no such line")
    m = re.search(rf"IXFR, incoming, remote 127\.0\.0\.1@{DOT} TLS, key xfr\., finished, remote serial 2, "
                  rf"\S+ seconds, \d+ messages, (\d+) bytes", k.text())
    check("Knot 3.4: its log has an IXFR to serial 2 from levee's DoT port over TLS, a few records",
          m is not None and int(m.group(1)) < 2000, m.group(0) if m else "no such line")

    want = axfr(PORT)
    for name, port in (("BIND", BIND_PORT), ("NSD", NSD_PORT), ("Knot 3.4", KNOT_PORT)):
        try:
            got = axfr(port)
            check(f"{name}: its zone equals levee's record for record", got == want and len(want) >= RECORDS,
                  f"{len(want)} records on levee, {len(got)} on {name}, {len(got ^ want)} differ")
        except Exception as e:
            check(f"{name}: its zone equals levee's record for record", False, str(e))
    b.stop()
    n.stop()
    k.stop()

    # Knot 3.4 authenticates levee by its key's pin (`cert-key`): a Knot
    # pinning another key refuses levee's certificate and gets no zone.
    kb = knot_secondary(os.path.join(work, "knot-bad"), KNOT_BAD, pin(os.path.join(work, "ca.key")))
    wait_for(lambda: "unknown certificate key" in kb.text(), 20, 0.3)
    check("a Knot 3.4 pinning another key refuses levee's certificate (no zone)",
          serial_of(KNOT_BAD) is None and "failed (unknown certificate key)" in kb.text(),
          f"serial {serial_of(KNOT_BAD)}")
    kb.stop()

    # A secondary expecting another name refuses levee's certificate: the
    # certificate really is checked (else the test above proves little).
    bad = bind(os.path.join(work, "bind-bad"), BIND_BAD, "wrong.test")
    wait_for(lambda: "TLS peer certificate verification failed" in bad.text(), 20, 0.3)
    check("a BIND told to expect wrong.test refuses levee's certificate (no zone)",
          serial_of(BIND_BAD) is None and "TLS peer certificate verification failed" in bad.text(),
          f"serial {serial_of(BIND_BAD)}")
    bad.stop()
    lev.stop()

    # What ALPN the secondaries offer (RFC 9103 7.1: XoT uses "dot"; levee
    # refuses a client offering only other protocols).
    for name, mk in (("BIND", lambda: bind(os.path.join(work, "bind-hello"), PEER2, "xot.test", HELLO)),
                     ("NSD", lambda: nsd(os.path.join(work, "nsd-hello"), PEER2, HELLO)),
                     ("Knot 3.4", lambda: knot_secondary(os.path.join(work, "knot-hello"), PEER2, pin(os.path.join(work, "xot.key")), HELLO))):
        got = offered_alpn(mk)
        check(f"{name} offers ALPN dot when it opens XoT", got is not None and "dot" in got, f"ALPN offered: {got}")


def bind_primary(d):
    """BIND as an XoT primary: DoT on B_DOT with levee's test certificate."""
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "example.test.zone"), "w") as f:
        f.write(zone_text(1))
    w = os.path.dirname(d)
    conf = f"""options {{
    directory "{d}";
    pid-file "{d}/named.pid";
    session-keyfile "{d}/session.key";
    listen-on port {B_PLAIN} {{ 127.0.0.1; }};
    listen-on port {B_DOT} tls srv {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }};
    recursion no;
    dnssec-validation no;
    notify-source 127.0.0.1;
}};
controls {{ }};
logging {{ category default {{ default_stderr; }}; category xfer-out {{ default_stderr; }};
    category notify {{ default_stderr; }}; }};
key "xfr" {{ algorithm hmac-sha256; secret "{SECRET}"; }};
tls srv {{ key-file "{w}/xot.key"; cert-file "{w}/xot.crt"; }};
zone "{ZONE}" {{
    type primary; file "{d}/example.test.zone"; ixfr-from-differences yes; max-ixfr-ratio unlimited;
    notify explicit; also-notify {{ 127.0.0.1 port {L_SEC} key xfr; }}; notify-delay 0;
    allow-transfer {{ key xfr; }};
}};
"""
    with open(os.path.join(d, "named.conf"), "w") as f:
        f.write(conf)
    return Proc("named-primary", ["named", "-g", "-c", os.path.join(d, "named.conf")], os.path.join(d, "named.log"), d)


def nsd_primary(d):
    """NSD as an XoT primary: its DoT service (tls-port) with the test certificate."""
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "example.test.zone"), "w") as f:
        f.write(zone_text(1))
    w = os.path.dirname(d)
    conf = f"""server:
    ip-address: 127.0.0.1@{N_PLAIN}
    ip-address: 127.0.0.1@{N_DOT}
    port: {N_PLAIN}
    tls-port: {N_DOT}
    tls-service-key: "{w}/xot.key"
    tls-service-pem: "{w}/xot.crt"
    username: ""
    chroot: ""
    zonesdir: "{d}"
    database: ""
    pidfile: "{d}/nsd.pid"
    xfrdfile: "{d}/xfrd.state"
    zonelistfile: "{d}/zone.list"
    xfrdir: "{d}"
    verbosity: 2
remote-control:
    control-enable: no
key:
    name: xfr
    algorithm: hmac-sha256
    secret: "{SECRET}"
zone:
    name: {ZONE}
    zonefile: "{d}/example.test.zone"
    notify: 127.0.0.1@{L_SEC2} xfr
    provide-xfr: 127.0.0.1 xfr
"""
    with open(os.path.join(d, "nsd.conf"), "w") as f:
        f.write(conf)
    return Proc("nsd-primary", ["nsd", "-d", "-c", os.path.join(d, "nsd.conf")], os.path.join(d, "nsd.log"), d)


def knot_primary(d):
    """Knot 3.4 as an XoT primary: DoT (`listen-tls`) with levee's test
    certificate, IXFR from the differences of the zone file."""
    os.makedirs(d, exist_ok=True)
    zf = os.path.join(d, "example.test.zone")
    with open(zf, "w") as f:
        f.write(zone_text(1))
    w = os.path.dirname(d)
    return knot(d, "knotd-primary", [f"listen: 127.0.0.1@{K_PLAIN}", f"listen-tls: 127.0.0.1@{K_DOT}",
                                     f"key-file: {w}/xot.key", f"cert-file: {w}/xot.crt"],
                remotes=f"""  - id: levee
    address: 127.0.0.1@{L_SEC3}
    key: xfr""",
                acls="""  - id: xfr
    address: 127.0.0.1
    key: xfr
    action: transfer""",
                zones=f"""  - domain: {ZONE}
    storage: {d}
    file: {zf}
    acl: [xfr]
    notify: levee
    zonefile-load: difference
""")


def levee_secondary(d, port=L_SEC, primary=B_DOT):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "levee.toml"), "w") as f:
        f.write(f"""version = 1
[server]
listen = ["127.0.0.1:{port}"]
threads = 1
storage-dir = "store"
[transfer-in]
tls-ca-file = "{os.path.dirname(d)}/ca.crt"
[[key]]
name = "xfr"
algorithm = "hmac-sha256"
secret = "{SECRET}"
[[zone]]
name = "{ZONE}"
primaries = ["127.0.0.1:{primary} key xfr tls xot.test"]
allow-notify = ["127.0.0.1 key xfr"]
allow-transfer = ["127.0.0.1 key xfr"]
""")
    return Proc("levee-secondary", [LEVEE, "serve", "-c", "levee.toml"], os.path.join(d, "levee.log"), d)


def peer_to_levee(work, name):
    """Parts B, C and K: levee as the XoT secondary of BIND, of NSD, of Knot 3.4.
    levee's entry names only the peer's DoT port, where it speaks nothing
    but TLS, so every SOA query and transfer levee makes goes over TLS."""
    if name == "BIND":
        plain, dot, sec, pp = B_PLAIN, B_DOT, L_SEC, bind_primary(os.path.join(work, "bind-primary"))
    elif name == "NSD":
        plain, dot, sec, pp = N_PLAIN, N_DOT, L_SEC2, nsd_primary(os.path.join(work, "nsd-primary"))
    else:
        plain, dot, sec, pp = K_PLAIN, K_DOT, L_SEC3, knot_primary(os.path.join(work, "knot-primary"))
    if not check(f"{name} primary serves the zone", wait_for(lambda: serial_of(plain) == 1, 60, 0.3)):
        print(pp.text()[-3000:])
        return
    ls = levee_secondary(os.path.join(work, f"levee-secondary-{name}"), sec, dot)
    t = wait_for(lambda: serial_of(sec) == 1, 90, 0.3)
    log = ls.text()
    check(f"{name}->levee: the whole zone over TLS ({RECORDS} records)", t is not None and
          re.search(r'zone transferred .*serial=1 primary=127\.0\.0\.1:%d kind="AXFR"' % dot, log) is not None,
          f"serial 1 after {t and round(t, 1)} s")
    if t is None:
        print(log[-3000:])
        print(pp.text()[-3000:])
    with open(os.path.join(work, f"{name.lower()}-primary", "example.test.zone"), "w") as f:
        f.write(zone_text(2))
    pp.p.send_signal(signal.SIGHUP)
    t = wait_for(lambda: serial_of(sec) == 2, 30, 0.2)
    log = ls.text()
    m = re.search(r'zone transferred .*serial=2 primary=127\.0\.0\.1:%d kind="([^"]+)"' % dot, log)
    # NSD 4.6 sends no IXFR (it answers one with the whole zone).
    want = "IXFR (full)" if name == "NSD" else "IXFR"
    check(f"{name}->levee: the change over TLS as {want} (after the NOTIFY)", t is not None and m is not None
          and m.group(1) == want, f"serial 2 after {t and round(t, 1)} s, kind {m and m.group(1)}")
    if name == "BIND":
        bl = pp.text()
        check("BIND->levee: BIND's log has an AXFR and an IXFR out to levee", "AXFR ended" in bl and "IXFR ended" in bl,
              "; ".join(re.findall(r"transfer of '[^']+': ([AI]XFR ended[^\n]*)", bl))[:300])
    if name == "Knot":
        kl = pp.text()
        out = re.findall(r"([AI]XFR), outgoing, remote 127\.0\.0\.1@\d+ (TLS), key xfr\., (?:started|finished)[^\n]*", kl)
        check("Knot->levee: Knot 3.4's log has an AXFR and an IXFR out to levee over TLS",
              ("AXFR", "TLS") in out and ("IXFR", "TLS") in out, f"{sorted(set(out))}")
    try:
        a, b = axfr(plain), axfr(sec)
        check(f"{name}->levee: levee's zone equals {name}'s record for record", a == b and len(a) >= RECORDS,
              f"{len(a)} records on {name}, {len(b)} on levee, {len(a ^ b)} differ")
    except Exception as e:
        check(f"{name}->levee: levee's zone equals {name}'s record for record", False, str(e))
    ls.stop()
    pp.stop()


def client_cert(d, name, san):
    """A certificate valid for `san` from the throwaway CA of `d`."""
    run = lambda *a: subprocess.run(a, cwd=d, check=True, capture_output=True)  # noqa: E731
    run("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={san}")
    with open(os.path.join(d, f"{name}.ext"), "w") as f:
        f.write(f"subjectAltName=DNS:{san}\n")
    run("openssl", "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", f"{name}.crt", "-days", "1", "-extfile", f"{name}.ext")
    os.chmod(os.path.join(d, f"{name}.key"), 0o600)


def mutual_tls(work):
    """Part M: levee requires a client certificate valid for bind.test,
    knot.test or nsd.test."""
    d = os.path.join(work, "mtls")
    os.makedirs(d)
    client_cert(work, "bindclient", "bind.test")
    client_cert(work, "otherclient", "other.test")
    client_cert(work, "knotclient", "knot.test")
    client_cert(work, "nsdclient", "nsd.test")
    with open(os.path.join(d, "mtls.test.zone"), "w") as f:
        f.write("$TTL 300\n@ SOA ns1 h 7 3600 600 86400 60\n@ NS ns1\nns1 A 127.0.0.1\nwww A 192.0.2.7\n")
    with open(os.path.join(d, "levee.toml"), "w") as f:
        f.write(f"""version = 1
[server]
listen = ["127.0.0.1:{M_PLAIN}"]
threads = 1
[tls]
listen = ["127.0.0.1:{M_DOT}"]
certificate = "{work}/xot.crt"
key = "{work}/xot.key"
client-ca-file = "{work}/ca.crt"
[[zone]]
name = "mtls.test."
file = "mtls.test.zone"
allow-transfer = ["tls-client bind.test", "tls-client knot.test", "tls-client nsd.test"]
""")
    lev = Proc("levee-mtls", [LEVEE, "serve", "-c", "levee.toml"], os.path.join(d, "levee.log"), d)
    if not check("mTLS: levee starts requiring tls-client bind.test", wait_for(lambda: serial_of(M_PLAIN, M_ZONE) == 7, 60)):
        print(lev.text()[-2000:])
        return

    def secondary(tag, port, pair):
        b = os.path.join(d, tag)
        os.makedirs(b)
        certs = f'cert-file "{work}/{pair}.crt"; key-file "{work}/{pair}.key"; ' if pair else ""
        with open(os.path.join(b, "named.conf"), "w") as f:
            f.write(f"""options {{ directory "{b}"; pid-file "{b}/named.pid"; session-keyfile "{b}/s.key";
    listen-on port {port} {{ 127.0.0.1; }}; listen-on-v6 {{ none; }}; recursion no; dnssec-validation no; }};
controls {{ }};
logging {{ category default {{ default_stderr; }}; category xfer-in {{ default_stderr; }}; }};
tls m {{ ca-file "{work}/ca.crt"; remote-hostname "xot.test"; {certs}}};
zone "mtls.test." {{ type secondary; file "{b}/mtls.db"; primaries {{ 127.0.0.1 port {M_DOT} tls m; }}; }};
""")
        return Proc(f"named-{tag}", ["named", "-g", "-c", os.path.join(b, "named.conf")], os.path.join(b, "named.log"), b)

    good = secondary("good", M_GOOD, "bindclient")
    t = wait_for(lambda: serial_of(M_GOOD, M_ZONE) == 7, 30, 0.3)
    check("mTLS: BIND 9.18 presenting a certificate for bind.test gets the zone over TLS", t is not None
          and len(re.findall(r'outgoing zone transfer.*kind="AXFR" transport="tls"', lev.text())) == 1,
          f"serial 7 after {t and round(t, 1)} s")
    good.stop()
    for tag, port, pair, what in (("none", M_NONE, None, "no certificate"),
                                  ("wrong", M_WRONG, "otherclient", "a certificate for other.test")):
        before = lev.text().count("AXFR refused")
        secondary(tag, port, pair)
        refused = wait_for(lambda: lev.text().count("AXFR refused") > before, 30, 0.3)
        check(f"mTLS: BIND with {what} is refused (no zone)", refused is not None and serial_of(port, M_ZONE) is None,
              f"levee refused it: {refused is not None}; its serial: {serial_of(port, M_ZONE)}")
    mutual_tls_debian13(work, d, lev)
    check("mTLS: only the accepted secondaries got a transfer (BIND, Knot 3.4, NSD 4.12)",
          len(re.findall(r"outgoing zone transfer", lev.text())) == 3)


def nsd_mtls_secondary(work, d, port, client):
    """NSD 4.12 pulling mtls.test from levee over TLS (`tls-auth` checks
    levee's certificate for xot.test), presenting `client`'s certificate
    (`client-cert`/`client-key` of its tls-auth) or none."""
    os.makedirs(d)
    certs = f'    client-cert: "{work}/{client}.crt"\n    client-key: "{work}/{client}.key"\n' if client else ""
    conf = nsd_server(d, [port], f"{work}/ca.crt") + f"""tls-auth:
    name: m
    auth-domain-name: "xot.test"
{certs}zone:
    name: {M_ZONE}
    zonefile: "{d}/mtls.test.zone"
    request-xfr: 127.0.0.1@{M_DOT} NOKEY m
    outgoing-interface: {NSD_SRC}
"""
    with open(os.path.join(d, "nsd.conf"), "w") as f:
        f.write(conf)
    return Proc(f"nsd-{os.path.basename(d)}", in_trixie("nsd", "-d", "-c", os.path.join(d, "nsd.conf")),
                os.path.join(d, "nsd.log"), d)


def mutual_tls_debian13(work, d, lev):
    """Part M with Debian 13's peers: Knot 3.4 presents its server
    certificate (`key-file`/`cert-file`) when it opens TLS to a primary;
    NSD 4.12 its tls-auth's `client-cert`. Both are accepted; an NSD 4.12
    without a client certificate is refused."""
    k = knot_secondary(os.path.join(d, "knot"), M_KNOT, pin(os.path.join(work, "xot.key")),
                       M_DOT, client=os.path.join(work, "knotclient"))
    t = wait_for(lambda: serial_of(M_KNOT, M_ZONE) == 7, 30, 0.3)
    check("mTLS: Knot 3.4 presenting a certificate for knot.test gets the zone over TLS", t is not None
          and served(lev.text(), "AXFR", KNOT_SRC, "tls", 7) == 1, f"serial 7 after {t and round(t, 1)} s")
    if t is None:
        print(k.text()[-2000:])
    k.stop()
    # Without key-file/cert-file Knot has no certificate from the client CA
    # (it makes a self-signed one for its own listeners): no transfer.
    k = knot_secondary(os.path.join(d, "knot-own"), M_KNOT, pin(os.path.join(work, "xot.key")), M_DOT, client="")
    failed = wait_for(lambda: "failed" in k.text(), 30, 0.3)
    why = re.findall(r"refresh, remote levee[^\n]*failed[^\n]*", k.text()) or ["-"]
    check("mTLS: Knot 3.4 without key-file/cert-file gets no zone", failed is not None
          and serial_of(M_KNOT, M_ZONE) is None and served(lev.text(), "AXFR", KNOT_SRC, "tls", 7) == 1,
          f"serial {serial_of(M_KNOT, M_ZONE)}; {why[0]}")
    k.stop()
    n = nsd_mtls_secondary(work, os.path.join(d, "nsd"), M_NSD, "nsdclient")
    t = wait_for(lambda: serial_of(M_NSD, M_ZONE) == 7, 30, 0.3)
    check("mTLS: NSD 4.12 presenting a certificate for nsd.test (tls-auth client-cert) gets the zone over TLS",
          t is not None and served(lev.text(), "AXFR", NSD_SRC, "tls", 7) == 1, f"serial 7 after {t and round(t, 1)} s")
    if t is None:
        print(n.text()[-2000:])
    n.stop()
    before = lev.text().count("AXFR refused")
    n = nsd_mtls_secondary(work, os.path.join(d, "nsd-none"), M_NSD_NONE, None)
    refused = wait_for(lambda: lev.text().count("AXFR refused") > before, 30, 0.3)
    check("mTLS: NSD 4.12 without a client certificate is refused (no zone)",
          refused is not None and serial_of(M_NSD_NONE, M_ZONE) is None,
          f"levee refused it: {refused is not None}; its serial: {serial_of(M_NSD_NONE, M_ZONE)}")
    n.stop()


def levee_mtls_secondary(work, d, port, primary, client):
    """levee pulling mtls.test over TLS from `primary` (its certificate
    checked for xot.test), presenting `client`'s certificate or none."""
    os.makedirs(d)
    certs = f'tls-cert-file = "{work}/{client}.crt"\ntls-key-file = "{work}/{client}.key"\n' if client else ""
    with open(os.path.join(d, "levee.toml"), "w") as f:
        f.write(f"""version = 1
[server]
listen = ["127.0.0.1:{port}"]
threads = 1
storage-dir = "store"
[transfer-in]
tls-ca-file = "{work}/ca.crt"
{certs}[[zone]]
name = "{M_ZONE}"
primaries = ["127.0.0.1:{primary} tls xot.test"]
""")
    return Proc(f"levee-{os.path.basename(d)}", [LEVEE, "serve", "-c", "levee.toml"], os.path.join(d, "levee.log"), d)


def mtls_zone(d):
    os.makedirs(d, exist_ok=True)
    zf = os.path.join(d, "mtls.test.zone")
    with open(zf, "w") as f:
        f.write("$TTL 300\n@ SOA ns1 h 9 3600 600 86400 60\n@ NS ns1\nns1 A 127.0.0.1\nwww A 192.0.2.9\n")
    return zf


def knot_mtls_primary(work, d):
    """Knot 3.4 allowing transfers of mtls.test only to the holder of the
    key levee presents (ACL `cert-key`: its pin), over its DoT listener."""
    zf = mtls_zone(d)
    return knot(d, "knotd-mtls-primary", [f"listen: 127.0.0.1@{KM_PLAIN}", f"listen-tls: 127.0.0.1@{KM_DOT}",
                                          f"key-file: {work}/xot.key", f"cert-file: {work}/xot.crt"],
                acls=f"""  - id: levee_cert
    cert-key: {pin(os.path.join(work, "leveeclient.key"))}
    action: transfer""",
                zones=f"""  - domain: {M_ZONE}
    storage: {d}
    file: {zf}
    acl: [levee_cert]
""")


def nsd_mtls_primary(work, d):
    """NSD 4.12 serving transfers of mtls.test only on its tls-auth-port,
    to a client whose certificate is valid for levee.test
    (`tls-auth-xfr-only`, `provide-xfr: ... NOKEY levee`)."""
    zf = mtls_zone(d)
    tls = f"""    tls-auth-port: {NM_AUTH}
    tls-service-key: "{work}/xot.key"
    tls-service-pem: "{work}/xot.crt"
    tls-auth-xfr-only: yes
"""
    conf = nsd_server(d, [NM_PLAIN, NM_AUTH], f"{work}/ca.crt", tls) + f"""tls-auth:
    name: levee
    auth-domain-name: "levee.test"
zone:
    name: {M_ZONE}
    zonefile: "{zf}"
    provide-xfr: 127.0.0.1 NOKEY levee
"""
    with open(os.path.join(d, "nsd.conf"), "w") as f:
        f.write(conf)
    return Proc("nsd-mtls-primary", in_trixie("nsd", "-d", "-c", os.path.join(d, "nsd.conf")),
                os.path.join(d, "nsd.log"), d)


def primaries_require_levee_cert(work):
    """Part P: Knot 3.4 and NSD 4.12 as primaries that authenticate levee
    by its client certificate ([transfer-in] tls-cert-file/tls-key-file):
    a levee presenting it gets mtls.test over TLS, a levee without it
    gets nothing."""
    d = os.path.join(work, "mtls-primaries")
    client_cert(work, "leveeclient", "levee.test")
    for name, plain, dot, mk in (("Knot 3.4", KM_PLAIN, KM_DOT, knot_mtls_primary),
                                 ("NSD 4.12", NM_PLAIN, NM_AUTH, nsd_mtls_primary)):
        tag = name.split()[0].lower()
        pp = mk(work, os.path.join(d, tag))
        if not check(f"P: {name} primary serves mtls.test", wait_for(lambda: serial_of(plain, M_ZONE) == 9, 60, 0.3)):
            print(pp.text()[-2000:])
            continue
        good = levee_mtls_secondary(work, os.path.join(d, f"{tag}-levee"), LM_GOOD, dot, "leveeclient")
        t = wait_for(lambda: serial_of(LM_GOOD, M_ZONE) == 9, 30, 0.3)
        check(f"P: levee presenting a certificate for levee.test gets mtls.test from {name} over TLS",
              t is not None and re.search(r'zone transferred .*serial=9 primary=127\.0\.0\.1:%d kind="AXFR"' % dot,
                                          good.text()) is not None, f"serial 9 after {t and round(t, 1)} s")
        if t is None:
            print(good.text()[-2000:])
            print(pp.text()[-2000:])
        good.stop()
        bad = levee_mtls_secondary(work, os.path.join(d, f"{tag}-levee-none"), LM_NONE, dot, None)
        warned = wait_for(lambda: re.search(r"WARN.*mtls\.test", bad.text()) is not None, 30, 0.3)
        why = (re.findall(r"WARN[^\n]*", bad.text()) or ["-"])[-1][-240:]
        check(f"P: levee without a client certificate gets nothing from {name}", warned is not None
              and serial_of(LM_NONE, M_ZONE) != 9 and "zone transferred" not in bad.text(),
              f"serial {serial_of(LM_NONE, M_ZONE)}; {why}")
        bad.stop()
        pp.stop()


def main():
    for t in ("named", "nsd", "openssl"):
        if shutil.which(t) is None:
            print(f"xot: {t} is missing")
            return 1
    versions = trixie_ready()
    if not check("Debian 13 peers (tests/lib/trixie.sh): Knot 3.4, NSD 4.12", versions is not None
                 and "Knot DNS 3.4" in versions and "NSD version 4.12" in versions, (versions or "").replace("\n", "; ")):
        print("FAIL: tests/xot/run.sh")
        return 1
    work = tempfile.mkdtemp(prefix="levee-xot.")
    try:
        scenario(work)
        peer_to_levee(work, "BIND")
        peer_to_levee(work, "NSD")
        peer_to_levee(work, "Knot")
        mutual_tls(work)
        primaries_require_levee_cert(work)
    finally:
        for p in PROCS:
            try:
                p.stop()
            except Exception:
                pass
        if os.environ.get("KEEP"):
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    failed = [n for n, ok in RESULTS if not ok]
    print(f"{len(RESULTS) - len(failed)}/{len(RESULTS)} checks passed")
    if failed or not RESULTS:
        print("FAIL: tests/xot/run.sh")
        return 1
    print("PASS: tests/xot/run.sh")
    return 0


if __name__ == "__main__":
    sys.exit(main())
