# zones loaded under the default semantic-check policy (warn, as Knot and NSD)
ns-soa           nons.test.       SOA
ns-ns            nons.test.       NS
ns-a             www.nons.test.   A
ns-nx            nx.nons.test.    A
ns-any           nons.test.       ANY
ns-mx            mail.nons.test.  MX
ns-ref           a.sub.nons.test. A
ns-wild          a.w.nons.test.   A
ns-axfr          nons.test.       AXFR     tcp
ng-ns            noglue.test.     NS
ng-soa           noglue.test.     SOA
ng-ns1           ns1.noglue.test. A
ng-ns2           ns2.noglue.test. A
ng-www           www.noglue.test. A
ng-mx            mx.noglue.test.  MX
ng-ref           a.sub.noglue.test. A
ng-ref-ns        sub.noglue.test. NS
ng-ref2          a.sub2.noglue.test. A
ng-ref-do        a.sub.noglue.test. A      do
