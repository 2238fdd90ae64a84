# xp.test.: CNAME chains around the limit of five (Knot's count: the target
# of the fifth CNAME is still answered from, a sixth CNAME or DNAME is not written)
xp-c4            c4a.xp.test.    A
xp-c5            c5a.xp.test.    A
xp-c5-aaaa       c5a.xp.test.    AAAA    do
xp-c5-tcp        c5a.xp.test.    TXT     tcp
xp-c5-mx         c5a.xp.test.    MX      # NODATA at the fifth CNAME's target
xp-c5-from2      c5b.xp.test.    A
xp-c6            c6a.xp.test.    A
xp-c6-from2      c6b.xp.test.    A
xp-c6-cname      c6a.xp.test.    CNAME
xp-c6-any        c6a.xp.test.    ANY
xp-n5            n5a.xp.test.    A       # NXDOMAIN after five CNAMEs
xp-n5-from2      n5b.xp.test.    A
xp-n6            n6a.xp.test.    A       # the sixth CNAME is not written: NOERROR
xp-d5            d5a.xp.test.    A       # four CNAMEs, then a DNAME and its CNAME
xp-d5-txt        d5a.xp.test.    TXT
xp-d6            d6a.xp.test.    A       # five CNAMEs, then a DNAME: left out
xp-w5            w5a.xp.test.    A       # four CNAMEs, then a wildcard CNAME
xp-w6            w6a.xp.test.    A       # five CNAMEs, then a wildcard CNAME: left out
xp-w6-from2      w6b.xp.test.    A
# DNAME: CNAME queries are answered by the synthesised CNAME (RFC 6672 §3.2)
xp-dn-cname-nx   b.x.xp.test.    CNAME
xp-dn-cname-nx-do b.x.xp.test.   CNAME   do
xp-dn-cname-ok   q.x.xp.test.    CNAME
xp-dn-cname-deep a.b.x.xp.test.  CNAME
xp-dn-cname-out  b.x2.xp.test.   CNAME
xp-dn-cname-case B.X.Xp.TeSt.    CNAME
xp-dn-cname-tcp  b.x.xp.test.    CNAME   tcp
xp-dn-a-nx       b.x.xp.test.    A
xp-dn-a-ok       q.x.xp.test.    A
xp-dn-txt-nodata q.x.xp.test.    TXT
xp-dn-dname-nx   b.x.xp.test.    DNAME
xp-dn-dname-ok   q.x.xp.test.    DNAME
xp-dn-ns-nx      b.x.xp.test.    NS
xp-dn-any-nx     b.x.xp.test.    ANY
xp-dn-owner-cname x.xp.test.     CNAME
xp-dn-owner-dname x.xp.test.     DNAME
xp-dn-via-cname  tox.xp.test.    CNAME   # a CNAME query at a CNAME: not followed
xp-dn-via-cname-a tox.xp.test.   A
# a DS record in an unsigned zone is not sent with referrals, even with DO
xp-ds-ref-do     a.sub.xp.test.  A       do
xp-ds-ref-nodo   a.sub.xp.test.  A
xp-ds-cut-ns-do  sub.xp.test.    NS      do
xp-ds-cut-a-do   sub.xp.test.    A       do
xp-ds-cut-any-do sub.xp.test.    ANY     do
xp-ds-cut-ds-do  sub.xp.test.    DS      do
xp-ds-cut-ds     sub.xp.test.    DS
xp-ds-none-do    x.sub2.xp.test. A       do
xp-ds-mx-do      mx.sub.xp.test. MX      do tcp
# SVCB / HTTPS: the target's A/AAAA and RRset of the same type in additional
xp-svc1          svc1.xp.test.   SVCB
xp-svc1-https    svc1.xp.test.   HTTPS
xp-svc2-alias    svc2.xp.test.   HTTPS
xp-svc3          svc3.xp.test.   HTTPS
xp-svc4-dot      svc4.xp.test.   HTTPS
xp-svc5-out      svc5.xp.test.   SVCB
xp-svc6-two      svc6.xp.test.   HTTPS
xp-svc7-glue     svc7.xp.test.   HTTPS
xp-svc8-svcb     svc8.xp.test.   SVCB
xp-svc1-do       svc1.xp.test.   SVCB    do
xp-svc2-any      svc2.xp.test.   ANY
# EDNS EXPIRE (RFC 7314) on SOA and transfer answers of a primary zone
xp-expire-soa    xp.test.        SOA     opt=9:
xp-expire-soa-tcp xp.test.       SOA     opt=9: tcp
xp-expire-nodata www.xp.test.    SOA     opt=9:
xp-expire-a      www.xp.test.    A       opt=9:
xp-expire-axfr   xp.test.        AXFR    opt=9: tcp
xp-expire-ixfr   xp.test.        IXFR    opt=9: ixfr=1 tcp
xp-expire-ixfr-udp xp.test.      IXFR    opt=9: ixfr=2026120501 udp
# NSEC and RRSIG at a CNAME owner of an unsigned zone: NODATA, not followed
xp-nsec-at-cname tox.xp.test.    NSEC
xp-nsec-at-cname-do tox.xp.test. NSEC    do
xp-rrsig-at-cname tox.xp.test.   RRSIG
xp-nsec-wc-cname a.wc.xp.test.   NSEC
xp-rrsig-wc-cname a.wc.xp.test.  RRSIG   do
