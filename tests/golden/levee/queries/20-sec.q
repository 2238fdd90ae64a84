# sec.test. (NSEC) and its child kid.sec.test. (NSEC), with and without DO
sc-soa           sec.test.       SOA     do
sc-soa-nodo      sec.test.       SOA
sc-dnskey        sec.test.       DNSKEY  do
sc-ns            sec.test.       NS      do
sc-mx            sec.test.       MX      do
sc-www           www.sec.test.   A       do
sc-www-txt       www.sec.test.   TXT     do
sc-www-aaaa      www.sec.test.   AAAA    do
sc-www-aaaa-nodo www.sec.test.   AAAA
sc-www-cd        www.sec.test.   A       do cd
sc-nsec          sec.test.       NSEC    do
sc-rrsig         www.sec.test.   RRSIG   do
sc-any           www.sec.test.   ANY     do
sc-apexwild-txt  nope.sec.test.  TXT     do
sc-apexwild-a    nope.sec.test.  A       do
sc-apexwild-nodo nope.sec.test.  A
sc-w-a           foo.w.sec.test. A       do
sc-w-mx          foo.w.sec.test. MX      do
sc-w-aaaa        foo.w.sec.test. AAAA    do
sc-w-deep        bar.foo.w.sec.test. A   do
sc-w-ent         w.sec.test.     A       do
sc-w-star        *.w.sec.test.   A       do
sc-wc-a          x.wc.sec.test.  A       do
sc-wc-cname      x.wc.sec.test.  CNAME   do
sc-wc-txt        x.wc.sec.test.  TXT     do
sc-star-ent      x.star.sec.test. A      do
sc-star-ent2     a.x.star.sec.test. A    do
sc-star-exact    a.*.star.sec.test. A    do
sc-star-owner    *.star.sec.test. A      do
sc-ent-z         z.sec.test.     A       do
sc-ent-yz        y.z.sec.test.   A       do
sc-ent-nx        nope.x.y.z.sec.test. A  do
sc-ent-leaf      deep.x.y.z.sec.test. A  do
sc-tokid         tokid.sec.test. A       do
sc-tokid-nodo    tokid.sec.test. A
sc-dn            www.dn.sec.test. A      do
sc-dn-owner      dn.sec.test.    DNAME   do
sc-kid-ds        kid.sec.test.   DS      do
sc-kid-ds-nodo   kid.sec.test.   DS
sc-kid-soa       kid.sec.test.   SOA     do
sc-kid-ns        kid.sec.test.   NS      do
sc-kid-dnskey    kid.sec.test.   DNSKEY  do
sc-kid-txt       kid.sec.test.   TXT     do
sc-kid-www       www.kid.sec.test. A     do
sc-kid-wild      x.wild.kid.sec.test. AAAA do
sc-kid-wild-nd   x.wild.kid.sec.test. A  do
sc-kid-nx        nope.kid.sec.test. A    do
sc-kid-grand-ds  grand.kid.sec.test. DS  do
sc-kid-grand     www.grand.kid.sec.test. A do
sc-kid-grand-glue ns1.grand.kid.sec.test. A do
sc-kid-ns1-parent ns1.kid.sec.test. A    do
sc-plain         www.plain.sec.test. A   do
sc-plain-ds      plain.sec.test. DS      do
sc-plain-nodo    www.plain.sec.test. A
sc-far           www.far.sec.test. A     do
sc-far-ds        far.sec.test.   DS      do
sc-mail          mail.sec.test.  A       do
sc-nx-512        no.such.sec.test. A     do bufsize=512
sc-nx-tcp        no.such.x.y.z.sec.test. A do tcp
sc-case          WwW.SeC.TeSt.   A       do
sc-kid-case      WwW.KiD.SeC.TeSt. A     do
