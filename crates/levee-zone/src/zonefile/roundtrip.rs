//! Tests of the formatters' one invariant: the text `rdata_format.rs`
//! writes reads back through `rdata_parse.rs` into exactly the octets it
//! came from (or is the RFC 3597 generic form), for samples of every
//! formatted type, their prefixes and junk suffixes, malformed and random
//! RDATA. They sit above both modules, so the formatter does not depend
//! on the reader.

use levee_wire::name;
use levee_wire::rtype::{self, t};

use crate::zonefile::codec;
use crate::zonefile::fields::Fields;
use crate::zonefile::lexer::{Entry, Lexer};
use crate::zonefile::rdata_format::{generic, rdata_to_text, record_to_text, sig_time};
use crate::zonefile::rdata_parse::parse_rdata;
use proptest::prelude::*;

/// Reads zone-file RDATA text of type `rt` (origin `example.`) into wire form.
fn parse(rt: u16, text: &str) -> Result<Vec<u8>, String> {
    let origin = name::from_text("example.", None).unwrap();
    let mut lexer = Lexer::new(text.as_bytes());
    let mut entry = Entry::default();
    let found = lexer.next_entry(&mut entry).map_err(|(_, m)| m.to_string())?;
    let tokens = if found { entry.tokens.clone() } else { Vec::new() };
    if lexer.next_entry(&mut entry).map_err(|(_, m)| m.to_string())? {
        return Err("RDATA text spans more than one entry".into());
    }
    let mut f = Fields::new(text.as_bytes(), &tokens, &origin);
    let (mut out, mut scratch) = (Vec::new(), Vec::new());
    parse_rdata(rt, &mut f, &mut out, &mut scratch)?;
    Ok(out)
}

fn unhex(s: &str) -> Vec<u8> {
    let clean: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let mut v = Vec::new();
    codec::hex_decode(&clean, &mut v).unwrap();
    v
}

/// The property every output must have: generic text is exactly
/// [`generic`], and anything else reads back into the same octets.
fn check_reads_back(rt: u16, wire: &[u8]) -> String {
    let text = rdata_to_text(rt, wire);
    if text.starts_with("\\#") {
        assert_eq!(text, generic(wire));
    } else {
        let back = parse(rt, &text).unwrap_or_else(|e| {
            panic!("{} text {text:?} of {} does not read back: {e}", rtype::type_to_text(rt), generic(wire))
        });
        assert_eq!(back, wire, "{} text {text:?} reads back differently", rtype::type_to_text(rt));
    }
    text
}

const DNSKEY_4034: &str = "AQPSKmynfzW4kyBv015MUG2DeIQ3Cbl+BBZH4b/0PY1kxkmvHjcZc8nokfzj31GajIQKY+5CptLr3buXA10hWqTk\
                           F7H6RfoRqXQeogmMHfpftf6zMv1LyBUgia7za6ZEzOJBOztyvhjL742iU/TpPSEDhm2SNKLijfUppn1UaNvv4w==";
const RRSIG_4034: &str = "oJB1W6WNGv+ldvQ3WDG0MQkg5IEhjRip8WTrPYGv07h108dUKGMeDPKijVCHX3DDKdfb+v6oB9wfuh3DTJXUAfI/\
                          M0zmO/zz8bW0Rznl8O3tGNazPwQKkRN20XPXV6nwwfoXmJQbsLNrLfkGJ5D6fwFm8nN+6pBzeDQfsS3Ap3o=";
const HIP_KEY_8005: &str = "AwEAAbdxyhNuSutc5EMzxTs9LBPCIkOFH8cIvM4p9+LrV4e19WzK00+CI6zBCQTdtWsuxKbWIy87UOoJTwkUs7lB\
                            u+Upr1gsNrut79ryra+bSRGQb1slImA8YVJyuIDsj7kwzG7jnERNqnWxZ48AWkskmdHaVDP4BcelrTI3rMXdXF5D";
const IPSECKEY_4025: &str = "AQNRU3mG7TVTO2BkR47usntb102uFJtugbo6BSGvgqt4AQ==";

/// Zone-file RDATA for every type with a formatter, and for most the
/// text dig prints, written from the RFC examples and dig's output
/// conventions (names absolute, strings quoted, hex upper case, Base64
/// and hex unsplit, TTL-style units as seconds, bitmaps in type order).
fn samples() -> Vec<(u16, String, Option<String>)> {
    let s = |rt: u16, input: &str, expected: Option<&str>| (rt, input.to_string(), expected.map(str::to_string));
    vec![
        s(t::A, "192.0.2.1", Some("192.0.2.1")),
        s(t::AAAA, "2001:DB8:0:0:0:0:0:1", Some("2001:db8::1")),
        s(t::AAAA, "::ffff:192.0.2.1", Some("::ffff:192.0.2.1")),
        s(t::NS, "ns1", Some("ns1.example.")),
        s(t::CNAME, "www.example.com.", Some("www.example.com.")),
        s(t::DNAME, "target.example.net.", Some("target.example.net.")),
        s(t::PTR, "@", Some("example.")),
        s(t::PTR, "odd\\.dot\\032space\\200.example.", Some("odd\\.dot\\032space\\200.example.")),
        s(t::MB, "madison.tis.com.", Some("madison.tis.com.")),
        s(t::MD, "md.example.", None),
        s(t::MF, "mf.example.", None),
        s(t::MG, "mg.example.", None),
        s(t::MR, "mr.example.", None),
        s(
            t::SOA,
            "ns.example. hostmaster.example. ( 2024010101 2h 1h 2w 1h )",
            Some("ns.example. hostmaster.example. 2024010101 7200 3600 1209600 3600"),
        ),
        s(t::MX, "10 mail.example.", Some("10 mail.example.")),
        s(t::MX, "0 .", Some("0 .")),
        s(t::AFSDB, "1 BIGBIRD.TOAD.COM.", Some("1 BIGBIRD.TOAD.COM.")),
        s(t::RT, "2 Relay.Prime.COM.", Some("2 Relay.Prime.COM.")),
        s(t::KX, "10 kx1.example.", Some("10 kx1.example.")),
        s(t::LP, "10 l64-subnet1.example.com.", Some("10 l64-subnet1.example.com.")),
        s(t::MINFO, "rmailbx.example. emailbx.example.", Some("rmailbx.example. emailbx.example.")),
        s(t::RP, "louie.trantor.umd.edu. LAM1.people.umd.edu.", Some("louie.trantor.umd.edu. LAM1.people.umd.edu.")),
        s(t::TALINK, "prev.example. next.example.", Some("prev.example. next.example.")),
        s(t::PX, "50 ab.net2.it. O-ab.PRMD-net2.ADMDb.C-it.", Some("50 ab.net2.it. O-ab.PRMD-net2.ADMDb.C-it.")),
        s(t::TXT, "\"v=spf1 -all\"", Some("\"v=spf1 -all\"")),
        s(t::TXT, "hello world", Some("\"hello\" \"world\"")),
        s(
            t::TXT,
            r#""a\"b" "c\\d" "\007x" "tab\009" "" "semi;colon (paren)" "caf\195\169""#,
            Some(r#""a\"b" "c\\d" "\007x" "tab\009" "" "semi;colon (paren)" "caf\195\169""#),
        ),
        s(t::SPF, "\"v=spf1 mx -all\"", Some("\"v=spf1 mx -all\"")),
        s(t::NINFO, "\"Status: up\"", Some("\"Status: up\"")),
        s(
            t::RESINFO,
            "qnamemin exterr=15,16,17 infourl=https://resolver.example.com/guide",
            Some("\"qnamemin\" \"exterr=15,16,17\" \"infourl=https://resolver.example.com/guide\""),
        ),
        s(t::WALLET, "\"BTC\" \"bc1qexample\"", Some("\"BTC\" \"bc1qexample\"")),
        s(t::AVC, "\"app-name:WebEx|app-class:OAM\"", Some("\"app-name:WebEx|app-class:OAM\"")),
        s(t::HINFO, "\"Generic PC clone\" \"NetBSD-1.4\"", Some("\"Generic PC clone\" \"NetBSD-1.4\"")),
        s(t::HINFO, "DEC-2060 TOPS20", Some("\"DEC-2060\" \"TOPS20\"")),
        s(t::X25, "311061700956", Some("\"311061700956\"")),
        s(t::ISDN, "150862028003217 004", Some("\"150862028003217\" \"004\"")),
        s(t::ISDN, "150862028003217", Some("\"150862028003217\"")),
        s(t::GPOS, "-32.6882 116.8652 10.0", Some("\"-32.6882\" \"116.8652\" \"10.0\"")),
        s(t::SRV, "0 5 5060 sipserver.example.com.", Some("0 5 5060 sipserver.example.com.")),
        s(
            t::NAPTR,
            "100 50 \"s\" \"z3950+I2L+I2C\" \"\" _z3950._tcp.gatech.edu.",
            Some("100 50 \"s\" \"z3950+I2L+I2C\" \"\" _z3950._tcp.gatech.edu."),
        ),
        s(
            t::NAPTR,
            r#"100 10 "" "" "!^urn:cid:.+@([^\\.]+\\.)(.*)$!\\2!i" ."#,
            Some(r#"100 10 "" "" "!^urn:cid:.+@([^\\.]+\\.)(.*)$!\\2!i" ."#),
        ),
        s(t::CERT, "PGP 0 0 AQIDBAU=", Some("PGP 0 0 AQIDBAU=")),
        s(t::CERT, "1 12345 8 AQIDBAU=", Some("PKIX 12345 RSASHA256 AQIDBAU=")),
        s(t::CERT, "URI 0 0 aHR0cHM6Ly9leGFtcGxlLm5ldC9jZXJ0", Some("URI 0 0 aHR0cHM6Ly9leGFtcGxlLm5ldC9jZXJ0")),
        s(t::CERT, "65000 1 7 AQID", Some("65000 1 7 AQID")),
        s(
            t::DS,
            "60485 5 1 ( 2BB183AF5F22588179A53B0A98631FAD1A292118 )",
            Some("60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118"),
        ),
        s(
            t::DS,
            "60485 RSASHA1 1 2bb183af5f22588179a53b0a 98631fad1a292118",
            Some("60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118"),
        ),
        s(t::CDS, "0 0 0 00", Some("0 0 0 00")),
        s(t::DLV, "60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118", None),
        s(t::TA, "60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118", None),
        s(
            t::DNSKEY,
            "256 3 5 ( AQPSKmynfzW4kyBv015MUG2DeIQ3\n Cbl+BBZH4b/0PY1kxkmvHjcZc8no\n kfzj31GajIQKY+5CptLr3buXA10h\n \
             WqTkF7H6RfoRqXQeogmMHfpftf6z\n Mv1LyBUgia7za6ZEzOJBOztyvhjL\n 742iU/TpPSEDhm2SNKLijfUppn1U\n aNvv4w== )",
            Some(&format!("256 3 5 {DNSKEY_4034}")),
        ),
        s(t::CDNSKEY, "0 3 0 AA==", Some("0 3 0 AA==")),
        s(t::KEY, "256 3 5 AQPSKmynfzW4kyBv015MUG2DeIQ3", Some("256 3 5 AQPSKmynfzW4kyBv015MUG2DeIQ3")),
        s(t::KEY, "49152 3 0", Some("49152 3 0")),
        s(t::RKEY, "0 1 1 AQPSKmynfzW4kyBv015MUG2DeIQ3", None),
        s(
            t::RRSIG,
            "A 5 3 86400 20030322173103 ( 20030220173103 2642 example.com.\n\
             oJB1W6WNGv+ldvQ3WDG0MQkg5IEhjRip8WTr\n PYGv07h108dUKGMeDPKijVCHX3DDKdfb+v6o\n\
             B9wfuh3DTJXUAfI/M0zmO/zz8bW0Rznl8O3t\n GNazPwQKkRN20XPXV6nwwfoXmJQbsLNrLfkG\n\
             J5D6fwFm8nN+6pBzeDQfsS3Ap3o= )",
            Some(&format!("A 5 3 86400 20030322173103 20030220173103 2642 example.com. {RRSIG_4034}")),
        ),
        s(
            t::RRSIG,
            "TYPE65280 13 2 300 1700000000 1690000000 1 . AQID",
            Some("TYPE65280 13 2 300 20231114221320 20230722042640 1 . AQID"),
        ),
        s(t::SIG, "NXT 1 3 3600 20010226064002 20010127064002 24381 example. AQID", None),
        s(
            t::NSEC,
            "host.example.com. ( A MX RRSIG NSEC TYPE1234 )",
            Some("host.example.com. A MX RRSIG NSEC TYPE1234"),
        ),
        s(t::NSEC, "next.example.", Some("next.example.")),
        s(t::NSEC, "\\000.example. NSAP-PTR CAA TYPE0 TYPE65535", Some("\\000.example. TYPE0 NSAP-PTR CAA TYPE65535")),
        s(
            t::NSEC3,
            "1 1 12 aabbccdd ( 2t7b4g4vsa5smi47k61mv5bv1a22bojr MX DNSKEY NS SOA NSEC3PARAM RRSIG )",
            Some("1 1 12 AABBCCDD 2t7b4g4vsa5smi47k61mv5bv1a22bojr NS SOA MX RRSIG DNSKEY NSEC3PARAM"),
        ),
        s(t::NSEC3, "1 0 0 - 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR", Some("1 0 0 - 2t7b4g4vsa5smi47k61mv5bv1a22bojr")),
        s(t::NSEC3PARAM, "1 0 12 aabbccdd", Some("1 0 12 AABBCCDD")),
        s(t::NSEC3PARAM, "1 0 0 -", Some("1 0 0 -")),
        s(
            t::SSHFP,
            "2 1 123456789abcdef67890123456789abcdef67890",
            Some("2 1 123456789ABCDEF67890123456789ABCDEF67890"),
        ),
        s(
            t::TLSA,
            "( 0 0 1 d2abde240d7cd3ee6b4b28c54df034b9\n 7983a1d16e8a410e4561cb106618e971 )",
            Some("0 0 1 D2ABDE240D7CD3EE6B4B28C54DF034B97983A1D16E8A410E4561CB106618E971"),
        ),
        s(
            t::SMIMEA,
            "3 0 1 D2ABDE240D7CD3EE6B4B28C54DF034B97983A1D16E8A410E4561CB106618E971",
            Some("3 0 1 D2ABDE240D7CD3EE6B4B28C54DF034B97983A1D16E8A410E4561CB106618E971"),
        ),
        s(
            t::OPENPGPKEY,
            "mQINBFit2jsBEADrbl5vjVxYeAE0g0IDYCBpHirv1Sjlqxx5gjtPhb2YhvyDMXjq",
            Some("mQINBFit2jsBEADrbl5vjVxYeAE0g0IDYCBpHirv1Sjlqxx5gjtPhb2YhvyDMXjq"),
        ),
        s(
            t::DHCID,
            "( AAIBY2/AuCccgoJbsaxcQc9TUapptP69lOjxfNuVAA2kjEA= )",
            Some("AAIBY2/AuCccgoJbsaxcQc9TUapptP69lOjxfNuVAA2kjEA="),
        ),
        s(t::CSYNC, "66 3 A NS AAAA", Some("66 3 A NS AAAA")),
        s(t::CSYNC, "0 0", Some("0 0")),
        s(
            t::ZONEMD,
            "2018031900 1 1 ( c68090d90a7aed71 6bc459f9340e3d7c 1370d4d24b7e2fc3\n a1ddc0b9a87153b9 a9713b3c9ae5cc27 777f98b8e730044c )",
            Some(
                "2018031900 1 1 C68090D90A7AED716BC459F9340E3D7C1370D4D24B7E2FC3\
                 A1DDC0B9A87153B9A9713B3C9AE5CC27777F98B8E730044C",
            ),
        ),
        // RFC 9460 Appendix D, as dig writes them.
        s(t::HTTPS, "0 foo.example.com.", Some("0 foo.example.com.")),
        s(t::SVCB, "1 .", Some("1 .")),
        s(t::SVCB, "16 foo.example.com. port=53", Some("16 foo.example.com. port=53")),
        s(t::SVCB, "1 foo.example.com. key667=hello", Some("1 foo.example.com. key667=\"hello\"")),
        s(
            t::SVCB,
            "1 foo.example.com. key667=\"hello\\210qoo\"",
            Some("1 foo.example.com. key667=\"hello\\210qoo\""),
        ),
        s(
            t::SVCB,
            "1 foo.example.com. ( ipv6hint=\"2001:db8::1,2001:db8::53:1\" )",
            Some("1 foo.example.com. ipv6hint=2001:db8::1,2001:db8::53:1"),
        ),
        s(
            t::SVCB,
            "1 example.com. ( ipv6hint=\"2001:db8:122:344::192.0.2.33\" )",
            Some("1 example.com. ipv6hint=2001:db8:122:344::c000:221"),
        ),
        s(
            t::SVCB,
            "16 foo.example.org. ( alpn=h2,h3-19 mandatory=ipv4hint,alpn ipv4hint=192.0.2.1 )",
            Some("16 foo.example.org. mandatory=alpn,ipv4hint alpn=\"h2,h3-19\" ipv4hint=192.0.2.1"),
        ),
        s(
            t::HTTPS,
            "1 . alpn=h3,h2 ipv4hint=104.16.132.229,104.16.133.229",
            Some("1 . alpn=\"h3,h2\" ipv4hint=104.16.132.229,104.16.133.229"),
        ),
        s(
            t::SVCB,
            "1 dns.example. ohttp dohpath=\"/dns-query{?dns}\" ech=AEj+DQ== port=8443 no-default-alpn alpn=h2",
            Some("1 dns.example. alpn=\"h2\" no-default-alpn port=8443 ech=AEj+DQ== dohpath=\"/dns-query{?dns}\" ohttp"),
        ),
        s(t::SVCB, "1 . key65000 key9=\"\"", Some("1 . key9 key65000")),
        s(t::SVCB, "1 . mandatory=key65000 key65000=\"a\\\"b\"", Some("1 . mandatory=key65000 key65000=\"a\\\"b\"")),
        // A comma and a backslash inside one alpn-id (levee's single level of escaping).
        s(t::SVCB, "1 . alpn=f\\\\oo\\,bar,h2", Some("1 . alpn=\"f\\\\oo\\,bar,h2\"")),
        // RFC 8659 §4.
        s(t::CAA, "0 issue \"ca.example.net\"", Some("0 issue \"ca.example.net\"")),
        s(
            t::CAA,
            "0 issue \"ca.example.net; account=230123\"",
            Some("0 issue \"ca.example.net; account=230123\""),
        ),
        s(t::CAA, "0 issue \";\"", Some("0 issue \";\"")),
        s(t::CAA, "0 iodef \"mailto:security@example.com\"", Some("0 iodef \"mailto:security@example.com\"")),
        s(t::CAA, "128 tbs \"Unknown\"", Some("128 tbs \"Unknown\"")),
        s(t::CAA, "0 issue \"\"", Some("0 issue \"\"")),
        // RFC 7553 §4.
        s(t::URI, "10 1 \"ftp://ftp1.example.com/public\"", Some("10 1 \"ftp://ftp1.example.com/public\"")),
        s(t::URI, "10 1 \"https://www.example.com/path\"", Some("10 1 \"https://www.example.com/path\"")),
        // RFC 7043 §3.2, §4.2.
        s(t::EUI48, "00-00-5E-00-53-2A", Some("00-00-5e-00-53-2a")),
        s(t::EUI64, "00-00-5e-ef-10-00-00-2a", Some("00-00-5e-ef-10-00-00-2a")),
        // RFC 6742 §2.
        s(t::NID, "10 0014:4fff:ff20:ee64", Some("10 0014:4fff:ff20:ee64")),
        s(t::L64, "10 2001:0DB8:1140:1000", Some("10 2001:0db8:1140:1000")),
        s(t::L32, "10 10.1.2.0", Some("10 10.1.2.0")),
        // RFC 4025 §3.3.
        s(t::IPSECKEY, &format!("( 10 1 2 192.0.2.38 {IPSECKEY_4025} )"), Some(&format!("10 1 2 192.0.2.38 {IPSECKEY_4025}"))),
        s(t::IPSECKEY, &format!("10 0 2 . {IPSECKEY_4025}"), Some(&format!("10 0 2 . {IPSECKEY_4025}"))),
        s(
            t::IPSECKEY,
            &format!("10 2 2 2001:0DB8:0:8002::2000:1 {IPSECKEY_4025}"),
            Some(&format!("10 2 2 2001:db8:0:8002::2000:1 {IPSECKEY_4025}")),
        ),
        s(
            t::IPSECKEY,
            &format!("10 3 2 mygateway.example.com. {IPSECKEY_4025}"),
            Some(&format!("10 3 2 mygateway.example.com. {IPSECKEY_4025}")),
        ),
        s(t::IPSECKEY, "10 1 0 192.0.2.3", Some("10 1 0 192.0.2.3")),
        // RFC 8777 §4.4.
        s(t::AMTRELAY, "10 0 0 .", Some("10 0 0 .")),
        s(t::AMTRELAY, "10 0 0", Some("10 0 0 .")),
        s(t::AMTRELAY, "10 0 1 203.0.113.15", Some("10 0 1 203.0.113.15")),
        s(
            t::AMTRELAY,
            "10 0 2 2600:1f16:17c:3950:47ac:cb79:62ba:702e",
            Some("10 0 2 2600:1f16:17c:3950:47ac:cb79:62ba:702e"),
        ),
        s(t::AMTRELAY, "128 1 3 amtrelays.example.com.", Some("128 1 3 amtrelays.example.com.")),
        // RFC 3123 §4.
        s(t::APL, "1:192.168.32.0/21 !1:192.168.38.0/28", Some("1:192.168.32.0/21 !1:192.168.38.0/28")),
        s(
            t::APL,
            "1:192.168.42.0/26 1:192.168.42.64/26 1:192.168.42.128/25",
            Some("1:192.168.42.0/26 1:192.168.42.64/26 1:192.168.42.128/25"),
        ),
        s(t::APL, "1:127.0.0.1/32 1:172.16.64.0/22", Some("1:127.0.0.1/32 1:172.16.64.0/22")),
        s(t::APL, "1:224.0.0.0/4 2:FF00:0:0:0:0:0:0:0/8", Some("1:224.0.0.0/4 2:ff00::/8")),
        s(t::APL, "1:0.0.0.0/0 2:::/0", Some("1:0.0.0.0/0 2:::/0")),
        s(t::APL, "", Some("")),
        // RFC 8005 §6.
        s(
            t::HIP,
            &format!("( 2 200100107B1A74DF365639CC39F1D578\n {HIP_KEY_8005}\n rvs.example.com. )"),
            Some(&format!("2 200100107B1A74DF365639CC39F1D578 {HIP_KEY_8005} rvs.example.com.")),
        ),
        s(t::HIP, "2 200100107b1a74df365639cc39f1d578 AQID", Some("2 200100107B1A74DF365639CC39F1D578 AQID")),
        // RFC 1706 §6.
        s(
            t::NSAP,
            "0x47.0005.80.005a00.0000.0001.e133.aaaaaa000151.00",
            Some("0x47000580005a0000000001e133aaaaaa00015100"),
        ),
        // RFC 1876 §3 and the brief's example, as BIND writes them.
        s(
            t::LOC,
            "52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m",
            Some("52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m"),
        ),
        s(t::LOC, "42 21 54 N 71 06 18 W -24m 30m", Some("42 21 54.000 N 71 6 18.000 W -24.00m 30m 10000m 10m")),
        s(
            t::LOC,
            "42 21 43.952 N 71 5 6.344 W -24m 1m 200m",
            Some("42 21 43.952 N 71 5 6.344 W -24.00m 1m 200m 10m"),
        ),
        s(t::LOC, "32 7 19 S 116 2 25 E 10m", Some("32 7 19.000 S 116 2 25.000 E 10.00m 1m 10000m 10m")),
        s(t::LOC, "90 S 180 W 42849672.95m 0.5m 0.05 90000000m", Some("90 0 0.000 S 180 0 0.000 W 42849672.95m 0.50m 0.05m 90000000m")),
        s(t::LOC, "0 N 0 E -100000m", Some("0 0 0.000 N 0 0 0.000 E -100000.00m 1m 10000m 10m")),
    ]
}

/// Every type `parse_rdata` reads, which must all have a formatter.
#[rustfmt::skip]
const FORMATTED: &[u16] = &[
    t::A, t::AAAA, t::NS, t::CNAME, t::DNAME, t::PTR, t::MB, t::MD, t::MF, t::MG, t::MR, t::SOA, t::MX, t::AFSDB,
    t::RT, t::KX, t::LP, t::MINFO, t::RP, t::TALINK, t::PX, t::TXT, t::SPF, t::NINFO, t::RESINFO, t::WALLET,
    t::AVC, t::HINFO, t::X25, t::ISDN, t::GPOS, t::SRV, t::NAPTR, t::CERT, t::DS, t::CDS, t::DLV, t::TA,
    t::DNSKEY, t::CDNSKEY, t::KEY, t::RKEY, t::RRSIG, t::SIG, t::NSEC, t::NSEC3, t::NSEC3PARAM, t::SSHFP,
    t::TLSA, t::SMIMEA, t::OPENPGPKEY, t::DHCID, t::CSYNC, t::ZONEMD, t::SVCB, t::HTTPS, t::CAA, t::URI,
    t::EUI48, t::EUI64, t::NID, t::L64, t::L32, t::IPSECKEY, t::AMTRELAY, t::APL, t::HIP, t::NSAP, t::LOC,
];

/// Wire RDATA of every sample, with its type.
fn sample_wires() -> Vec<(u16, Vec<u8>)> {
    samples()
        .into_iter()
        .map(|(rt, input, _)| {
            let wire = parse(rt, &input)
                .unwrap_or_else(|e| panic!("sample {} {input:?} does not parse: {e}", rtype::type_to_text(rt)));
            (rt, wire)
        })
        .collect()
}

#[test]
fn every_type_has_samples() {
    let samples = samples();
    for &rt in FORMATTED {
        assert!(samples.iter().any(|s| s.0 == rt), "no sample for {}", rtype::type_to_text(rt));
    }
}

#[test]
fn samples_read_back_and_match_dig() {
    for (rt, input, expected) in samples() {
        let name = rtype::type_to_text(rt);
        let wire = parse(rt, &input).unwrap_or_else(|e| panic!("sample {name} {input:?} does not parse: {e}"));
        let text = check_reads_back(rt, &wire);
        assert!(!text.starts_with("\\#"), "{name} {input:?} fell back to the generic form");
        if let Some(expected) = expected {
            assert_eq!(text, expected, "{name} {input:?}");
        }
    }
}

#[test]
fn every_prefix_and_junk_suffix() {
    for (rt, wire) in sample_wires() {
        for n in 0..wire.len() {
            check_reads_back(rt, &wire[..n]);
        }
        for junk in [&[0x00][..], &[0xFF], &[0xC0, 0x0C], &[0x01, 0x02, 0x03]] {
            let mut w = wire.clone();
            w.extend_from_slice(junk);
            check_reads_back(rt, &w);
        }
    }
}

#[test]
fn empty_rdata_is_generic() {
    for &rt in FORMATTED {
        // An APL record may list no prefixes at all (RFC 3123 §4).
        let expected = if rt == t::APL { "" } else { "\\# 0" };
        assert_eq!(rdata_to_text(rt, &[]), expected, "{}", rtype::type_to_text(rt));
    }
}

#[test]
fn fixed_size_types_reject_truncation_and_junk() {
    // Types whose wire form has no optional or open-ended tail: every
    // strict prefix and every extension must be generic.
    #[rustfmt::skip]
    let strict = [
        t::A, t::AAAA, t::NS, t::CNAME, t::SOA, t::MX, t::MINFO, t::PX, t::HINFO, t::X25, t::GPOS, t::SRV,
        t::NAPTR, t::NSEC3PARAM, t::EUI48, t::EUI64, t::NID, t::L64, t::L32, t::LOC, t::AMTRELAY,
    ];
    for (rt, wire) in sample_wires().into_iter().filter(|(rt, _)| strict.contains(rt)) {
        for n in 0..wire.len() {
            assert_eq!(rdata_to_text(rt, &wire[..n]), generic(&wire[..n]), "{} prefix {n}", rtype::type_to_text(rt));
        }
        let mut w = wire.clone();
        w.push(0);
        assert_eq!(rdata_to_text(rt, &w), generic(&w), "{} with junk", rtype::type_to_text(rt));
    }
}

#[test]
fn malformed_rdata_is_generic() {
    let long_label = {
        let mut v = vec![64];
        v.extend_from_slice(&[b'a'; 64]);
        v.push(0);
        codec::hex_encode(&v)
    };
    let long_name = {
        // 128 labels of one octet plus the root: 257 octets.
        let mut v = [1u8, b'a'].repeat(128);
        v.push(0);
        codec::hex_encode(&v)
    };
    let cases: &[(u16, &str)] = &[
        (t::A, "C00002"),
        (t::A, "C000020101"),
        (t::AAAA, "20010DB8000000000000000000000000FF"),
        (t::NS, "03777777"),
        (t::NS, "C00C"),
        (t::NS, &long_label),
        (t::NS, &long_name),
        (t::NS, "0000"),
        (t::MX, "000A"),
        (t::MX, "000A00FF"),
        (t::TXT, "05616263"),
        (t::TXT, "0361626304"),
        (t::HINFO, "03616263"),
        (t::ISDN, "0161016201"),
        // NSEC bitmaps: windows out of order, repeated, empty, too long,
        // with a zero last octet, truncated.
        (t::NSEC, "00 01 01 40 00 01 40"),
        (t::NSEC, "00 00 01 40 00 01 40"),
        (t::NSEC, "00 00 00"),
        (t::NSEC, &format!("00 00 21 {}", "FF".repeat(33))),
        (t::NSEC, "00 00 02 40 00"),
        (t::NSEC, "00 00 02 40"),
        (t::NSEC, "00 00"),
        // NSEC3 with an empty hash; salt running past the end.
        (t::NSEC3, "01 00 000C 00 00"),
        (t::NSEC3, "01 00 000C 05 AABB"),
        (t::NSEC3PARAM, "01 00 000C 01"),
        (t::DS, "EC45 05 01"),
        (t::DNSKEY, "0100 03 08"),
        (t::CERT, "0001 0000 08"),
        (t::RRSIG, "0001 08 02 00000E10 5F5E1000 5E5E1000 1234 00"),
        (t::SSHFP, "02 01"),
        (t::TLSA, "03 01 01"),
        (t::ZONEMD, "7862A6DC 01 01 0102030405060708090A0B"),
        (t::SVCB, "0001"),
        // SvcParams out of order, repeated, reserved key, bad values.
        (t::SVCB, "0001 00 0003 0002 0035 0001 0003 026832"),
        (t::SVCB, "0001 00 0003 0002 0035 0003 0002 0035"),
        (t::SVCB, "0001 00 FFFF 0000"),
        (t::SVCB, "0001 00 0003 0003 000035"),
        (t::SVCB, "0001 00 0003 0000"),
        (t::SVCB, "0001 00 0001 0000"),
        (t::SVCB, "0001 00 0001 0001 00"),
        (t::SVCB, "0001 00 0001 0003 036832"),
        (t::SVCB, "0001 00 0002 0001 00"),
        (t::SVCB, "0001 00 0000 0003 000100"),
        (t::SVCB, "0001 00 0000 0004 00040001"),
        (t::SVCB, "0001 00 0000 0004 00010001"),
        (t::SVCB, "0001 00 0000 0002 FFFF"),
        (t::SVCB, "0001 00 0004 0005 C000020100"),
        (t::SVCB, "0001 00 0006 0004 20010DB8"),
        (t::SVCB, "0001 00 0005 0000"),
        (t::SVCB, "0001 00 0008 0001 00"),
        (t::SVCB, "0001 00 0007 0005 6162"),
        (t::CAA, "00 00"),
        (t::CAA, "00 06 69732D737565"),
        (t::CAA, "00 09 6973737565"),
        (t::URI, "000A 00"),
        (t::EUI48, "00005E0053"),
        (t::EUI48, "00005E00532A00"),
        (t::EUI64, "00005EEF1000002A00"),
        (t::NID, "000A 00144FFFFF20EE"),
        (t::IPSECKEY, "0A 04 02 00"),
        (t::IPSECKEY, "0A 01 02 C00002"),
        (t::AMTRELAY, "0A 04 00"),
        (t::AMTRELAY, "0A 00 00"),
        (t::AMTRELAY, "0A 01 C00002"),
        (t::AMTRELAY, "0A 02 C0000201"),
        // APL: unknown family, trailing zero octet, prefix too long,
        // address too long, truncated address.
        (t::APL, "0003 08 01 0A"),
        (t::APL, "0001 18 03 C0A800"),
        (t::APL, "0001 21 01 0A"),
        (t::APL, "0001 20 05 0102030405"),
        (t::APL, "0002 81 01 FF"),
        (t::APL, "0001 08 02 0A"),
        (t::HIP, "00 02 0003 010203"),
        (t::HIP, "01 02 0000 AA"),
        (t::HIP, "01 02 0004 AA010203"),
        (t::HIP, "01 02 0001 AA01 03"),
        (t::NSAP, ""),
        // LOC: version 1, latitude and longitude beyond the poles and
        // the antimeridian, bad precisions, wrong length.
        (t::LOC, "01 12 16 13 8B3CF018 810CBCE0 009895B8"),
        (t::LOC, "00 12 16 13 9350D601 810CBCE0 009895B8"),
        (t::LOC, "00 12 16 13 6CAF29FF 810CBCE0 009895B8"),
        (t::LOC, "00 12 16 13 8B3CF018 A6A1AC01 009895B8"),
        (t::LOC, "00 A2 16 13 8B3CF018 810CBCE0 009895B8"),
        (t::LOC, "00 12 1A 13 8B3CF018 810CBCE0 009895B8"),
        (t::LOC, "00 12 16 03 8B3CF018 810CBCE0 009895B8"),
        (t::LOC, "00 12 16 13 8B3CF018 810CBCE0 009895"),
        (t::LOC, "00 12 16 13 8B3CF018 810CBCE0 009895B8 00"),
        // Types without a formatter.
        (t::NULL, "0102"),
        (t::WKS, "C000020106E0"),
        (t::NXT, "0000"),
        (t::A6, "00"),
        (t::DOA, "00"),
        (65280, "DEADBEEF"),
    ];
    for (rt, hex) in cases {
        let wire = unhex(hex);
        assert_eq!(rdata_to_text(*rt, &wire), generic(&wire), "{} {hex}", rtype::type_to_text(*rt));
    }
}

#[test]
fn generic_form() {
    assert_eq!(generic(&[]), "\\# 0");
    assert_eq!(rdata_to_text(65280, &[0xDE, 0xAD]), "\\# 2 DEAD");
    assert_eq!(rdata_to_text(t::A, &[192, 0, 2]), "\\# 3 C00002");
}

#[test]
fn signature_times() {
    assert_eq!(sig_time(0), "19700101000000");
    assert_eq!(sig_time(951_782_400), "20000229000000");
    assert_eq!(sig_time(1_709_164_799), "20240228235959");
    assert_eq!(sig_time(1_709_164_800), "20240229000000");
    assert_eq!(sig_time(u32::MAX), "21060207062815");
    for secs in [0, 1, 59, 86_399, 86_400, 951_868_799, 1_048_354_263, 4_102_444_800, u32::MAX - 1, u32::MAX] {
        assert_eq!(crate::zonefile::rdata_parse::sig_time(sig_time(secs).as_bytes()), Ok(secs), "{secs}");
    }
}

#[test]
fn whole_records() {
    let owner = name::from_text("www.example.", None).unwrap();
    let mx = parse(t::MX, "10 mail.example.").unwrap();
    assert_eq!(record_to_text(&owner, 3600, 1, t::MX, &mx), "www.example. 3600 IN MX 10 mail.example.");
    assert_eq!(record_to_text(&owner, 60, 1, 65280, &[1]), "www.example. 60 IN TYPE65280 \\# 1 01");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    /// Random octets never panic, and whatever is not generic reads back.
    #[test]
    fn random_rdata(i in 0..FORMATTED.len(), data in proptest::collection::vec(any::<u8>(), 0..48)) {
        check_reads_back(FORMATTED[i], &data);
    }

    /// Valid samples with one octet changed, inserted or removed.
    #[test]
    fn mutated_samples(i in any::<usize>(), at in any::<usize>(), b in any::<u8>(), how in 0..3u8) {
        let wires = sample_wires();
        let (rt, mut wire) = wires[i % wires.len()].clone();
        let at = at % (wire.len() + 1);
        match how {
            0 if at < wire.len() => wire[at] = b,
            1 => wire.insert(at, b),
            _ if at < wire.len() => { wire.remove(at); }
            _ => wire.push(b),
        }
        check_reads_back(rt, &wire);
    }
}
