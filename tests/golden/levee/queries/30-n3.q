# n3.test. (NSEC3, salt, 5 iterations) and oo.test. (NSEC3 opt-out)
n3-soa           n3.test.        SOA     do
n3-param         n3.test.        NSEC3PARAM do
n3-dnskey        n3.test.        DNSKEY  do
n3-a             n3.test.        A       do
n3-www           www.n3.test.    A       do
n3-www-txt       www.n3.test.    TXT     do
n3-www-nodo      www.n3.test.    TXT
n3-nx            nope.n3.test.   A       do
n3-nx-deep       a.b.nope.n3.test. A     do
n3-nx-nodo       nope.n3.test.   A
n3-wild-txt      foo.wild.n3.test. TXT   do
n3-wild-a        foo.wild.n3.test. A     do
n3-wild-aaaa     foo.wild.n3.test. AAAA  do
n3-wild-deep     x.foo.wild.n3.test. A   do
n3-wild-owner    *.wild.n3.test. TXT     do
n3-wild-ent      wild.n3.test.   A       do
n3-wcn           x.wcn.n3.test.  A       do
n3-ent2          ent2.n3.test.   A       do
n3-ent1          ent1.ent2.n3.test. A    do
n3-ent-nx        x.ent1.ent2.n3.test. A  do
n3-leaf          leaf.ent1.ent2.n3.test. A do
n3-leaf-nd       leaf.ent1.ent2.n3.test. AAAA do
n3-alias         alias.n3.test.  A       do
n3-ext           ext.n3.test.    A       do
n3-dn            x.dn.n3.test.   A       do
n3-dn-owner      dn.n3.test.     DNAME   do
n3-sd            www.sd.n3.test. A       do
n3-sd-ds         sd.n3.test.     DS      do
n3-sd-glue       ns1.sd.n3.test. A       do
n3-ins           www.ins.n3.test. A      do
n3-ins-ds        ins.n3.test.    DS      do
n3-ins2          www.ins2.n3.test. A     do
n3-ins2-ds       ins2.n3.test.   DS      do
n3-any           www.n3.test.    ANY     do
n3-rrsig         www.n3.test.    RRSIG   do
n3-nsec3-type    www.n3.test.    NSEC3   do
n3-case          WwW.N3.TeSt.    AAAA    do
n3-nx-512        nope.n3.test.   A       do bufsize=512
n3-nx-tcp        nope.n3.test.   A       do tcp
oo-soa           oo.test.        SOA     do
oo-param         oo.test.        NSEC3PARAM do
oo-www           www.oo.test.    A       do
oo-www-nd        www.oo.test.    TXT     do
oo-nx            nope.oo.test.   A       do
oo-d1            www.d1.oo.test. A       do
oo-d1-ds         d1.oo.test.     DS      do
oo-sub           sub.oo.test.    A       do
oo-sub-nx        x.sub.oo.test.  A       do
oo-d2            www.d2.sub.oo.test. A   do
oo-d2-ds         d2.sub.oo.test. DS      do
oo-sec           www.sec.oo.test. A      do
oo-sec-ds        sec.oo.test.    DS      do
oo-wild          x.wild.oo.test. A       do
oo-wild-nd       x.wild.oo.test. MX      do
oo-wild-nodo     x.wild.oo.test. A
