# configured zones that did not load: SERVFAIL, not REFUSED
bk-soa           bad.test.        SOA
bk-soa-noedns    bad.test.        SOA      noedns
bk-a             www.bad.test.    A
bk-a-do          www.bad.test.    A        do
bk-a-tcp         www.bad.test.    A        tcp
bk-a-rd-cd       www.bad.test.    A        rd cd
bk-nx            nx.bad.test.     A
bk-any           bad.test.        ANY
bk-ds            bad.test.        DS       do
bk-dnskey        bad.test.        DNSKEY   do
bk-axfr          bad.test.        AXFR     tcp
bk-ixfr          bad.test.        IXFR     ixfr=0 tcp
bk-axfr-denied   missing.test.    AXFR     tcp
bk-notify        bad.test.        SOA      opcode=4 aa
bk-ch            bad.test.        TXT      class=CH
mi-soa           missing.test.    SOA
mi-a             www.missing.test. A       do
kid-soa          kid.good.test.   SOA
kid-a            www.kid.good.test. A
kid-ds           kid.good.test.   DS
kid-ns           kid.good.test.   NS
gd-www           www.good.test.   A
gd-ref           a.kid.good.test. A       # the child is the closest zone
gd-soa           good.test.       SOA
