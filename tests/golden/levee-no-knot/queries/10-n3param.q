# NSEC3PARAM records to ignore (flags not zero, unknown algorithm, no chain)
# before the one the NSEC3 chain uses: the proofs use the chain
p-nx-do          nx.n3p.test.     A        do
p-nx-deep-do     x.nx.n3p.test.   A        do
p-nodata-do      www.n3p.test.    TXT      do
p-ent-do         b.c.n3p.test.    A        do
p-wild-do        a.w.n3p.test.    TXT      do
p-wild-nodata-do a.w.n3p.test.    A        do
p-ref-do         a.sub.n3p.test.  A        do
p-ds-do          sub.n3p.test.    DS       do
p-param-do       n3p.test.        NSEC3PARAM do
p-nx-nodo        nx.n3p.test.     A
p-nx-tcp         nx.n3p.test.     A        do tcp
q-nx-do          nx.n3q.test.     A        do
q-nodata-do      www.n3q.test.    TXT      do
q-wild-do        a.w.n3q.test.    TXT      do
q-ref-do         a.sub.n3q.test.  A        do
q-param-do       n3q.test.        NSEC3PARAM do
# only an NSEC3PARAM with flags 1: nothing to prove with
r-nx-do          nx.n3r.test.     A        do
r-nodata-do      www.n3r.test.    TXT      do
r-ref-do         a.sub.n3r.test.  A        do
r-param-do       n3r.test.        NSEC3PARAM do
