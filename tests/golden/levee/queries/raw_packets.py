def _tsig(keyname="unknown-key", alg="hmac-sha256", mac=b"\x00"*32, err=0):
    rd = _name(alg) + struct.pack("!HIH", 0, 1700000000, 300) + struct.pack("!H", len(mac)) + mac + struct.pack("!HHH", 0x1234, err, 0)
    return _name(keyname) + struct.pack("!HHIH", 250, 255, 0, len(rd)) + rd
RAW = {
  "ext-label": lambda i: _hdr(i) + b"\x41abc\x00" + struct.pack("!HH", 1, 1),
  "ptr-to-header": lambda i: _hdr(i) + b"\xc0\x02" + struct.pack("!HH", 1, 1),
  "ns-garbage": lambda i: _hdr(i, ns=1) + _q("www.lv.test") + b"\x01",
  "ar-a-record": lambda i: _hdr(i, ar=1) + _q("www.lv.test") + b"\x00" + struct.pack("!HHIH", 1, 1, 0, 4) + b"\x01\x02\x03\x04",
  "opt-code0": lambda i: _hdr(i, ar=1) + _q("www.lv.test") + _opt(_eopt(0, b"")),
  "tsig-unknown": lambda i: _hdr(i, ar=1) + _q("www.lv.test") + _tsig(),
  "tsig-unknown-edns": lambda i: _hdr(i, ar=2) + _q("www.lv.test") + _opt() + _tsig(),
  "tsig-not-last": lambda i: _hdr(i, ar=2) + _q("www.lv.test") + _tsig() + _opt(),
  "tsig-axfr": lambda i: _hdr(i, ar=1) + _q("lv.test", 252) + _tsig(),
  "edns-size-100": lambda i: _hdr(i, ar=1) + _q("www.lv.test") + _opt(size=100),
  "qd1-an-opt-nonroot": lambda i: _hdr(i, ar=1) + _q("www.lv.test") + _opt(owner=b"\xc0\x0c"),
  "zero-id-opcode3-tc": lambda i: _hdr(i, flags=0x1A00) + _q("www.lv.test"),
  "qtype-any-class-any": lambda i: _hdr(i) + _q("www.lv.test", 255, 255),
  "cookie-8-plus-7": lambda i: _hdr(i, ar=1) + _q("www.lv.test") + _opt(_eopt(10, CLIENT_COOKIE + bytes(7))),
  "cookie-in-error": lambda i: _hdr(i, ar=1) + _q("www.example.org") + _opt(_eopt(10, CLIENT_COOKIE), ver=1),
  "nsid-badvers": lambda i: _hdr(i, ar=1) + _q("www.lv.test") + _opt(_eopt(3, b""), ver=1),
  "long-question-ok": lambda i: _hdr(i) + (b"\x3f" + b"a" * 63) * 3 + b"\x3d" + b"b"*61 + b"\x00" + struct.pack("!HH", 1, 1),
}
