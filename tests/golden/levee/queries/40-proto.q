# protocol details on signed and unsigned data
pr-do-noedns-size  www.sec.test.  A      do bufsize=0
pr-do-big          www.sec.test.  A      do bufsize=65535
pr-do-rd-cd-ad     www.n3.test.   A      do rd cd ad
pr-ad-only         www.sec.test.  A      ad
pr-nsid-cookie     www.lv.test.   A      nsid cookie
pr-cookie-do       www.sec.test.  A      cookie do
pr-ednsflags-do    www.sec.test.  A      do ednsflags=0x0100
pr-padding-udp     www.lv.test.   A      opt=12:0000
pr-two-opts        www.lv.test.   A      opt=65001:01 opt=65002:0203
pr-ch-other        foo.bind.      TXT    class=CH
pr-ch-a            version.bind.  A      class=CH
pr-ch-tcp          hostname.bind. TXT    class=CH tcp
pr-any-class-do    www.sec.test.  A      class=ANY do
pr-dnskey-nonapex  www.sec.test.  DNSKEY do
pr-ds-nondeleg     www.sec.test.  DS     do
pr-ds-nondeleg-n3  www.n3.test.   DS     do
pr-param-nonapex   www.n3.test.   NSEC3PARAM do
pr-nsec-n3zone     www.n3.test.   NSEC   do
pr-wild-any-do     foo.w.sec.test. ANY   do
pr-wild-any-n3     foo.wild.n3.test. ANY do
pr-long-nx-n3      a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.n3.test. A do
pr-long-nx-sec     a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.sec.test. A do
pr-ixfr-udp-sec    sec.test.      IXFR   udp ixfr=1
pr-axfr-udp-lv     lv.test.       AXFR   udp
pr-axfr-kid        kid.sec.test.  AXFR   tcp
pr-axfr-sub        www.lv.test.   AXFR   tcp
pr-notify-sec      sec.test.      SOA    opcode=4 aa
pr-refused-parent  test.          NS     do
pr-refused-sibling nope.test.     A      do
pr-kid-parent-ns   kid.sec.test.  NS
pr-kid-ds-tcp      kid.sec.test.  DS     do tcp
pr-grand-any       grand.kid.sec.test. ANY do
pr-deleg-any-do    plain.sec.test. ANY   do
pr-deleg-ns-do     plain.sec.test. NS    do
pr-deleg-ns-nodo   deleg.lv.test. NS     rd
pr-nodata-cd       www.sec.test.  MX     do cd
