# cnsec.test. (NSEC) and cnn3.test. (NSEC3): NSEC and RRSIG beside a CNAME
# (RFC 4035 §2.5) are answered from the name itself; other types follow it
cn-nsec          cn.cnsec.test.   NSEC
cn-nsec-do       cn.cnsec.test.   NSEC    do
cn-nsec-tcp      cn.cnsec.test.   NSEC    do tcp
cn-nsec-nx       cnx.cnsec.test.  NSEC    do    # the CNAME's target does not exist
cn-nsec-out      cnout.cnsec.test. NSEC   do
cn-rrsig-nx      cnx.cnsec.test.  RRSIG   do
cn-cname-do      cn.cnsec.test.   CNAME   do
cn-a-do          cn.cnsec.test.   A       do
cn-nx-a-do       cnx.cnsec.test.  A       do
cn-nsec3-do      cn.cnsec.test.   NSEC3   do
cn-dnskey-do     cn.cnsec.test.   DNSKEY  do
cn-ds-do         cn.cnsec.test.   DS      do
cn-nxt-do        cn.cnsec.test.   NXT     do
cn-any-do        cn.cnsec.test.   ANY     do
cn-wc-a-do       a.wcn.cnsec.test. A      do
cn-wc-txt-do     a.wcn.cnsec.test. TXT    do
cn-dname-nsec    dn.cnsec.test.   NSEC    do
cn-below-dname-nsec a.dn.cnsec.test. NSEC do
cn-sub-nsec      sub.cnsec.test.  NSEC    do
cn-sub-ref-do    a.sub.cnsec.test. A      do
n3cn-nsec-do     cn.cnn3.test.    NSEC    do
n3cn-nsec-nodo   cn.cnn3.test.    NSEC
n3cn-nsec-nx-do  cnx.cnn3.test.   NSEC    do
n3cn-nsec3-do    cn.cnn3.test.    NSEC3   do
n3cn-a-do        cn.cnn3.test.    A       do
n3cn-nx-a-do     cnx.cnn3.test.   A       do
n3cn-wc-a-do     a.wcn.cnn3.test. A       do
n3cn-sub-ref-do  a.sub.cnn3.test. A       do
cn-rrsig-do      cn.cnsec.test.   RRSIG   do
cn-wc-nsec-do    a.wcn.cnsec.test. NSEC   do
cn-wc-rrsig-do   a.wcn.cnsec.test. RRSIG  do
