# hand-made packets (raw_packets.py): label types, pointers, stray records, TSIG with an unknown key
rw-ext-label        -  -  raw=ext-label expect=FORMERR|DROP
rw-ptr-to-header    -  -  raw=ptr-to-header
rw-ns-garbage       -  -  raw=ns-garbage expect=FORMERR|DROP
rw-ar-a-record      -  -  raw=ar-a-record
rw-opt-code0        -  -  raw=opt-code0
rw-tsig-unknown     -  -  raw=tsig-unknown expect=NOTAUTH
rw-tsig-unknown-edns -  - raw=tsig-unknown-edns expect=NOTAUTH
rw-tsig-not-last    -  -  raw=tsig-not-last expect=FORMERR
rw-tsig-axfr        -  -  raw=tsig-axfr tcp expect=NOTAUTH
rw-tsig-tcp         -  -  raw=tsig-unknown tcp expect=NOTAUTH
rw-edns-size-100    -  -  raw=edns-size-100
rw-opt-ptr-owner    -  -  raw=qd1-an-opt-nonroot
rw-opcode3-tc       -  -  raw=zero-id-opcode3-tc expect=NOTIMP
rw-any-any          -  -  raw=qtype-any-class-any
rw-cookie-15        -  -  raw=cookie-8-plus-7
rw-cookie-badvers   -  -  raw=cookie-in-error expect=BADVERS
rw-nsid-badvers     -  -  raw=nsid-badvers expect=BADVERS
rw-long-question    -  -  raw=long-question-ok
