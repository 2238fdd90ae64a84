# lv.test. apex, apex wildcard, ENTs, wildcards below ENTs
lv-soa           lv.test.        SOA     both
lv-ns            lv.test.        NS
lv-a             lv.test.        A
lv-mx-null       lv.test.        MX
lv-txt-escapes   lv.test.        TXT
lv-spf           lv.test.        SPF
lv-any           lv.test.        ANY
lv-any-tcp       lv.test.        ANY     tcp
lv-ds-noparent   lv.test.        DS      do
lv-dnskey-none   lv.test.        DNSKEY  do
lw-a             foo.lv.test.    A
lw-mx            foo.lv.test.    MX
lw-txt           foo.lv.test.    TXT
lw-aaaa          foo.lv.test.    AAAA
lw-deep          a.b.foo.lv.test. A
lw-any           foo.lv.test.    ANY
lw-star          *.lv.test.      TXT
lw-star-aaaa     *.lv.test.      AAAA
lw-case          FoO.Lv.TeSt.    MX
ent-c            c.lv.test.      A
ent-bc           b.c.lv.test.    TXT
ent-nx           q.c.lv.test.    A       # CE is the ENT c.: no *.c, so NXDOMAIN
ent-nx-deep      x.y.b.c.lv.test. A
ent-leaf         a.b.c.lv.test.  A
ent-below-leaf   x.a.b.c.lv.test. A
ef-wild          anything.e.f.lv.test. A
ef-wild-txt      anything.e.f.lv.test. TXT
ef-wild-deep     p.q.e.f.lv.test. A
ef-explicit      g.e.f.lv.test.  A
ef-explicit-txt  g.e.f.lv.test.  TXT
ef-ent           e.f.lv.test.    A
ef-ent-f         f.lv.test.      A
ws-alias         x.alias.lv.test. A
ws-alias-aaaa    x.alias.lv.test. AAAA
ws-alias-cname   x.alias.lv.test. CNAME
ws-alias-mx      x.alias.lv.test. MX
ws-toent         x.toent.lv.test. A
ws-wc2           host.wc2.lv.test. AAAA
# CNAMEs
cn-apex          toapex.lv.test. A
cn-apex-mx       toapex.lv.test. MX
cn-ent           toent.lv.test.  A
cn-deleg         todeleg.lv.test. A
cn-deleg-tcp     todeleg.lv.test. A      tcp
cn-wild          towild.lv.test. A
cn-nx            tonx.lv.test.   A
cn-out           toout.lv.test.  A
cn-cname-out     tocname.lv.test. A
cn-chain7        ch1.lv.test.    A
cn-chain4        ch4.lv.test.    A
cn-chain-aaaa    ch2.lv.test.    AAAA
cn-chain-any     ch1.lv.test.    ANY
cn-self-type     ch7.lv.test.    CNAME
# DNAME
dn-wild          x.red.lv.test.  A
dn-wild-txt      x.red.lv.test.  TXT
dn-owner-txt     red.lv.test.    TXT
dn-owner-dname   red.lv.test.    DNAME
dn-owner-a       red.lv.test.    A
dn-explicit      g.red.lv.test.  TXT
dn-deep          a.b.red.lv.test. A
dn-to-apexwild   x.void.lv.test. A
dn-case          X.ReD.lV.tEsT.  A
dn-any           x.red.lv.test.  ANY
# delegations
dl-www           www.deleg.lv.test. A
dl-ns            deleg.lv.test.  NS
dl-ds            deleg.lv.test.  DS
dl-glue-a        ns1.deleg.lv.test. A
dl-glue-aaaa     ns1.deleg.lv.test. AAAA
dl-wild-below    x.deleg.lv.test. A
dl-apex-any      deleg.lv.test.  ANY
dl-deep-glue     www.deleg2.lv.test. A
dl-deep-glue-ns  ns.a.b.deleg2.lv.test. A
dl-out           www.outdeleg.lv.test. MX
dl-out-ds        outdeleg.lv.test. DS
dl-noedns        www.deleg.lv.test. A    noedns
dl-small         www.deleg.lv.test. A    bufsize=512
# names
nm-mixed         mixed.case.lv.test. A
nm-mixed-upper   MIXED.CASE.lv.test. A
nm-at            a\@b.lv.test.   TXT
nm-dollar        a\$b.lv.test.   TXT
nm-paren         paren\(x\).lv.test. TXT
nm-utf8          \195\164.lv.test. TXT
nm-utf8-upper    \195\132.lv.test. TXT
nm-semi          semi\;colon.lv.test. TXT
nm-www-ns        www.lv.test.    NS
nm-www-soa       www.lv.test.    SOA
nm-www-aaaa      www.lv.test.    AAAA
# the type zoo
tz-srv           srv.lv.test.    SRV
tz-xmpp          _xmpp._tcp.lv.test. SRV
tz-naptr         naptr.lv.test.  NAPTR
tz-caa           caa.lv.test.    CAA
tz-tlsa          tlsa.lv.test.   TLSA
tz-smimea        smimea.lv.test. SMIMEA
tz-sshfp         sshfp.lv.test.  SSHFP
tz-hinfo         hinfo.lv.test.  HINFO
tz-rp            rp.lv.test.     RP
tz-afsdb         afsdb.lv.test.  AFSDB
tz-loc           loc.lv.test.    LOC
tz-uri           uri.lv.test.    URI
tz-ptr           ptr.lv.test.    PTR
tz-cert          cert.lv.test.   CERT
tz-dhcid         dhcid.lv.test.  DHCID
tz-openpgpkey    openpgpkey.lv.test. OPENPGPKEY
tz-eui48         eui48.lv.test.  EUI48
tz-eui64         eui64.lv.test.  EUI64
tz-kx            kx.lv.test.     KX
tz-csync         csync.lv.test.  CSYNC
tz-svcb          svc.lv.test.    SVCB
tz-https         https.lv.test.  HTTPS
tz-https-alias   httpsalias.lv.test. HTTPS
tz-apl           apl.lv.test.    APL
tz-unknown       unk.lv.test.    TYPE65432
tz-generic-a     gena.lv.test.   A
tz-empty-txt     empty-txt.lv.test. TXT
tz-wrong-type    srv.lv.test.    TXT
# sizes
sz-bigtxt        bigtxt.lv.test. TXT
sz-bigtxt-4096   bigtxt.lv.test. TXT     bufsize=4096
sz-bigtxt-tcp    bigtxt.lv.test. TXT     tcp
sz-bigtxt-noedns bigtxt.lv.test. TXT     noedns
sz-many          many.lv.test.   AAAA
sz-many-512      many.lv.test.   AAAA    bufsize=512
sz-many-noedns   many.lv.test.   AAAA    noedns
sz-many-tcp      many.lv.test.   AAAA    tcp
sz-many-1000     many.lv.test.   AAAA    bufsize=1000
# DNAME at a zone apex
da-soa           dnapex.test.    SOA
da-dname         dnapex.test.    DNAME
da-txt           dnapex.test.    TXT
da-a             dnapex.test.    A
da-www           www.dnapex.test. A
da-wild          x.y.dnapex.test. A
da-mx            mx.dnapex.test. AAAA
# transfers
xf-lv            lv.test.        AXFR    tcp
xf-dnapex-denied dnapex.test.    AXFR    tcp
xf-n3            n3.test.        AXFR    tcp
xf-sec           sec.test.       AXFR    tcp
xf-kid-denied    kid.sec.test.   AXFR    tcp
xf-ixfr-old      lv.test.        IXFR    tcp ixfr=2025010101
xf-ixfr-same     lv.test.        IXFR    tcp ixfr=2026010101
