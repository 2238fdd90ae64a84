//! The zone and query builder shared by the `respond` benchmark and the
//! `respond_loop` example (which includes this file by path).

use levee_wire::name;

/// A small zone: answers, a CNAME chain, a wildcard, a delegation with
/// in-zone and out-of-zone servers.
pub const ZONE: &str = "$ORIGIN bench.test.
$TTL 3600
@        SOA ns1 hostmaster 1 3600 600 86400 300
@        NS  ns1
@        NS  ns2
@        MX  10 mail
ns1      A   192.0.2.1
ns2      A   192.0.2.2
mail     A   192.0.2.25
www      A   192.0.2.80
www      AAAA 2001:db8::80
alias    CNAME c2
c2       CNAME www
*.wild   A   192.0.2.99
sub      NS  ns1.sub
sub      NS  ns.elsewhere.example.
ns1.sub  A   192.0.2.53
";

/// A query as dnsperf sends it (no EDNS), or with EDNS and DO.
pub fn query(qname: &str, qtype: u16, dnssec: bool) -> Vec<u8> {
    let mut q = vec![0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, dnssec as u8];
    q.extend_from_slice(name::from_text(qname, None).unwrap().as_slice());
    q.extend_from_slice(&qtype.to_be_bytes());
    q.extend_from_slice(&1u16.to_be_bytes());
    if dnssec {
        q.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 0]);
    }
    q
}
