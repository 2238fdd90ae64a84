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
# opcodes without a question section, and the flags of error responses
rw-op15-header      -  -  raw=op15-header expect=NOTIMP
rw-op15-header-tcp  -  -  raw=op15-header tcp expect=NOTIMP
rw-op15-header-all  -  -  raw=op15-header-all expect=NOTIMP
rw-op1-header       -  -  raw=op1-header expect=NOTIMP
rw-op2-header       -  -  raw=op2-header expect=NOTIMP
rw-op3-header-all   -  -  raw=op3-header-all expect=NOTIMP
rw-op6-header       -  -  raw=op6-header expect=NOTIMP
rw-op15-opt         -  -  raw=op15-opt expect=NOTIMP
rw-op15-opt-do-all  -  -  raw=op15-opt-do-all expect=NOTIMP
rw-op15-optv1       -  -  raw=op15-optv1
rw-op15-trailing    -  -  raw=op15-trailing
rw-op15-an-missing  -  -  raw=op15-an-missing
rw-op15-question-all -  - raw=op15-question-all expect=NOTIMP
rw-op15-question-opt-all - - raw=op15-question-opt-all expect=NOTIMP
rw-op4-header       -  -  raw=op4-header expect=FORMERR
rw-op5-header       -  -  raw=op5-header
rw-op0-header-all-opt - - raw=op0-header-all-opt
rw-notify-all       -  -  raw=notify-all
rw-update-all       -  -  raw=update-all
rw-refused-all      -  -  raw=refused-all expect=REFUSED
rw-formerr-all      -  -  raw=formerr-all
rw-badvers-all      -  -  raw=badvers-all expect=BADVERS
rw-badvers-cookie-nsid - - raw=badvers-cookie-nsid expect=BADVERS
rw-ch-refused-all   -  -  raw=ch-refused-all
rw-axfr-udp-all     -  -  raw=axfr-udp-all
