//! X.509 certificates as a TLS server sends them: the few fields that say who
//! a server claimed to be, extracted with x509-parser and held in owned
//! strings so no parser type reaches the public API.
//!
//! Reached through [`crate::tls::Certificate`].

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use sha2::{Digest as _, Sha256};
use x509_parser::asn1_rs::{Class, Tag};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::FromDer as _;
use x509_parser::x509::{AttributeTypeAndValue, X509Name};

use crate::tls::escape_control;

/// One certificate of a server's chain. Every string is escaped for printing
/// like the SNI (lossy UTF-8, control characters and `\` escaped).
///
/// When the DER did not parse, [`parse_error`](Self::parse_error) says why,
/// [`sha256`](Self::sha256) and [`der_len`](Self::der_len) are still set and
/// every other field is empty or 0.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Certificate {
    /// Subject distinguished name, RFC 4514 style: most specific RDN first
    /// (`CN=www.example.com,O=Example,C=US`), `+` inside a multi-valued RDN,
    /// RFC 4514 special characters backslash-escaped, values that are not
    /// strings as `#` and the hex of their content octets.
    pub subject: String,
    /// The subject's most specific (last encoded) commonName.
    pub subject_cn: Option<String>,
    /// Issuer distinguished name, formatted like `subject`.
    pub issuer: String,
    /// The issuer's most specific commonName.
    pub issuer_cn: Option<String>,
    /// The issuer's most specific organizationName.
    pub issuer_o: Option<String>,
    /// Serial number, lowercase hex of its two's-complement bytes with
    /// leading zero bytes dropped (openssl's `-serial`, in lowercase).
    pub serial: String,
    /// Start of validity, Unix seconds (negative before 1970).
    pub not_before: i64,
    /// End of validity, Unix seconds.
    pub not_after: i64,
    /// dNSName entries of the subjectAltName extension(s), in order.
    pub san_dns: Vec<String>,
    /// iPAddress entries of the subjectAltName extension(s), as text
    /// (`192.0.2.1`, `2001:db8::1`).
    pub san_ips: Vec<String>,
    /// SHA-256 of the DER, lowercase hex: the usual certificate fingerprint.
    pub sha256: String,
    /// Length of the DER in bytes.
    pub der_len: usize,
    /// Why the certificate did not parse, when it did not.
    pub parse_error: Option<String>,
}

impl Certificate {
    /// Extracts the fields of one DER certificate. Never fails: a certificate
    /// that does not parse comes back with [`parse_error`](Self::parse_error)
    /// set, because a malformed certificate is itself evidence.
    pub fn from_der(der: &[u8]) -> Certificate {
        let mut cert = Certificate {
            sha256: hex(&Sha256::digest(der)),
            der_len: der.len(),
            ..Certificate::default()
        };
        let x = match X509Certificate::from_der(der) {
            Ok((_, x)) => x,
            Err(e) => {
                cert.parse_error = Some(escape_control(&e.to_string()));
                return cert;
            }
        };
        cert.subject = dn_string(x.subject());
        cert.subject_cn = last_attr(x.subject(), OID_CN);
        cert.issuer = dn_string(x.issuer());
        cert.issuer_cn = last_attr(x.issuer(), OID_CN);
        cert.issuer_o = last_attr(x.issuer(), OID_O);
        cert.serial = serial_hex(x.raw_serial());
        cert.not_before = x.validity().not_before.timestamp();
        cert.not_after = x.validity().not_after.timestamp();
        // Every SAN extension is read: a duplicate is invalid, and exactly the
        // kind of oddity worth showing rather than hiding.
        for ext in x.extensions() {
            let ParsedExtension::SubjectAlternativeName(san) = ext.parsed_extension() else {
                continue;
            };
            for name in &san.general_names {
                match name {
                    GeneralName::DNSName(s) => cert.san_dns.push(escape_control(s)),
                    // x509-parser keeps a dNSName that is not UTF-8 as Invalid;
                    // a lossy copy still shows what was claimed.
                    GeneralName::Invalid(tag, data) if tag.0 == 2 => {
                        cert.san_dns
                            .push(escape_control(&String::from_utf8_lossy(data)));
                    }
                    GeneralName::IPAddress(b) => {
                        if let Some(ip) = ip_from_bytes(b) {
                            cert.san_ips.push(ip.to_string());
                        }
                    }
                    _ => {}
                }
            }
        }
        cert
    }

    /// Is this certificate valid for `host` by name (RFC 6125; nothing else
    /// is checked: not dates, not signatures)?
    ///
    /// `host` is a DNS name in A-labels, matched case-insensitively against
    /// [`san_dns`](Self::san_dns); a trailing dot is ignored. A wildcard
    /// counts only as the whole left-most label and stands for exactly one
    /// non-empty label: `*.example.com` matches `a.example.com`, not
    /// `example.com` nor `a.b.example.com`; a wildcard directly over a single
    /// label (`*.com`) matches nothing. The subject CN is consulted only when
    /// the certificate has no dNSName at all. An IP address `host` matches
    /// [`san_ips`](Self::san_ips) only (or a CN equal to it when there is no
    /// SAN of either kind).
    pub fn matches_name(&self, host: &str) -> bool {
        let host = host.strip_suffix('.').unwrap_or(host);
        let bare = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        if let Ok(ip) = bare.parse::<IpAddr>() {
            if self.san_ips.iter().any(|s| s.parse::<IpAddr>() == Ok(ip)) {
                return true;
            }
            return self.san_dns.is_empty()
                && self.san_ips.is_empty()
                && self
                    .subject_cn
                    .as_deref()
                    .is_some_and(|cn| cn.parse::<IpAddr>() == Ok(ip));
        }
        if self.san_dns.is_empty() {
            return self
                .subject_cn
                .as_deref()
                .is_some_and(|cn| dns_name_matches(cn, host));
        }
        self.san_dns.iter().any(|p| dns_name_matches(p, host))
    }
}

/// RFC 6125 §6.4: `pattern` from the certificate, `host` the reference name.
fn dns_name_matches(pattern: &str, host: &str) -> bool {
    let pattern = pattern.strip_suffix('.').unwrap_or(pattern);
    if !labels_ok(host) || host.contains('*') {
        return false;
    }
    match pattern.strip_prefix("*.") {
        Some(parent) => {
            // Two labels at least under the wildcard: CAs may not issue
            // `*.com`, and a client that trusted one would match a whole TLD.
            if !labels_ok(parent) || !parent.contains('.') || parent.contains('*') {
                return false;
            }
            host.split_once('.')
                .is_some_and(|(first, rest)| !first.is_empty() && rest.eq_ignore_ascii_case(parent))
        }
        // A `*` anywhere else is not a wildcard for us, and no valid host
        // contains one, so such a pattern matches nothing.
        None => !pattern.contains('*') && labels_ok(pattern) && pattern.eq_ignore_ascii_case(host),
    }
}

fn labels_ok(name: &str) -> bool {
    !name.is_empty() && name.split('.').all(|l| !l.is_empty())
}

fn ip_from_bytes(b: &[u8]) -> Option<IpAddr> {
    if let Ok(v4) = <[u8; 4]>::try_from(b) {
        return Some(IpAddr::V4(Ipv4Addr::from(v4)));
    }
    <[u8; 16]>::try_from(b)
        .ok()
        .map(|v6| IpAddr::V6(Ipv6Addr::from(v6)))
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn serial_hex(raw: &[u8]) -> String {
    // DER pads a positive serial whose top bit is set with a 0x00 byte; the
    // number people compare against has no such byte.
    let mut raw = raw;
    while let [0, rest @ ..] = raw
        && !rest.is_empty()
    {
        raw = rest;
    }
    hex(raw)
}

const OID_CN: &str = "2.5.4.3";
const OID_O: &str = "2.5.4.10";

/// Short names of RFC 4514 §3, plus those in common use on the web PKI
/// (as OpenSSL prints them); others print as the dotted OID.
fn attr_name(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "2.5.4.3" => "CN",
        "2.5.4.4" => "SN",
        "2.5.4.5" => "serialNumber",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.9" => "STREET",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.12" => "title",
        "2.5.4.15" => "businessCategory",
        "2.5.4.17" => "postalCode",
        "2.5.4.41" => "name",
        "2.5.4.42" => "GN",
        "2.5.4.43" => "initials",
        "2.5.4.46" => "dnQualifier",
        "2.5.4.65" => "pseudonym",
        "2.5.4.97" => "organizationIdentifier",
        "0.9.2342.19200300.100.1.1" => "UID",
        "0.9.2342.19200300.100.1.25" => "DC",
        "1.2.840.113549.1.9.1" => "emailAddress",
        "1.3.6.1.4.1.311.60.2.1.1" => "jurisdictionL",
        "1.3.6.1.4.1.311.60.2.1.2" => "jurisdictionST",
        "1.3.6.1.4.1.311.60.2.1.3" => "jurisdictionC",
        _ => return None,
    })
}

/// The value of a name attribute as text, or `None` when it is not a string
/// type. String types are decoded leniently: certificates in the wild put
/// Latin-1 in TeletexStrings and `*` in PrintableStrings.
fn attr_text(attr: &AttributeTypeAndValue<'_>) -> Option<String> {
    let v = attr.attr_value();
    if v.class() != Class::Universal {
        return None;
    }
    let data = v.data;
    match v.tag() {
        Tag::BmpString => Some(String::from_utf16_lossy(
            &data
                .chunks(2)
                .map(|c| {
                    u16::from_be_bytes([
                        c.first().copied().unwrap_or(0),
                        c.get(1).copied().unwrap_or(0),
                    ])
                })
                .collect::<Vec<_>>(),
        )),
        Tag::UniversalString => Some(
            data.chunks(4)
                .map(|c| {
                    let mut b = [0u8; 4];
                    b[..c.len()].copy_from_slice(c);
                    char::from_u32(u32::from_be_bytes(b)).unwrap_or('\u{fffd}')
                })
                .collect(),
        ),
        Tag::Utf8String
        | Tag::PrintableString
        | Tag::Ia5String
        | Tag::NumericString
        | Tag::VisibleString
        | Tag::TeletexString
        | Tag::VideotexString
        | Tag::GraphicString
        | Tag::GeneralString => Some(String::from_utf8_lossy(data).into_owned()),
        _ => None,
    }
}

fn last_attr(name: &X509Name<'_>, oid: &str) -> Option<String> {
    name.iter_attributes()
        .filter(|a| a.attr_type().to_id_string() == oid)
        .filter_map(attr_text)
        .last()
        .map(|s| escape_control(&s))
}

fn dn_string(name: &X509Name<'_>) -> String {
    let rdns: Vec<_> = name.iter_rdn().collect();
    let mut out = String::new();
    for (i, rdn) in rdns.iter().rev().enumerate() {
        if i > 0 {
            out.push(',');
        }
        for (j, attr) in rdn.iter().enumerate() {
            if j > 0 {
                out.push('+');
            }
            let oid = attr.attr_type().to_id_string();
            out.push_str(attr_name(&oid).unwrap_or(&oid));
            out.push('=');
            match attr_text(attr) {
                Some(s) => push_dn_value(&mut out, &s),
                None => {
                    out.push('#');
                    out.push_str(&hex(attr.attr_value().data));
                }
            }
        }
    }
    out
}

/// RFC 4514 §2.4 escaping, with control characters as `\xNN` like every
/// other string here (RFC 4514 would write `\NN`).
fn push_dn_value(out: &mut String, s: &str) {
    let last = s.chars().count().saturating_sub(1);
    for (i, c) in s.chars().enumerate() {
        match c {
            ',' | '+' | '"' | '\\' | '<' | '>' | ';' => {
                out.push('\\');
                out.push(c);
            }
            '#' if i == 0 => out.push_str("\\#"),
            ' ' if i == 0 || i == last => out.push_str("\\ "),
            c if c.is_control() => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::ops::Not as _;

    use super::*;

    /// Decodes the standard base64 alphabet, ignoring whitespace; test data only.
    pub(crate) fn base64(s: &str) -> Vec<u8> {
        let mut out = Vec::new();
        let (mut acc, mut bits) = (0u32, 0);
        for c in s.bytes() {
            let v = match c {
                b'A'..=b'Z' => c - b'A',
                b'a'..=b'z' => c - b'a' + 26,
                b'0'..=b'9' => c - b'0' + 52,
                b'+' => 62,
                b'/' => 63,
                _ => continue,
            };
            acc = (acc << 6) | u32::from(v);
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                out.push((acc >> bits) as u8);
            }
        }
        out
    }

    #[test]
    fn leaf_and_intermediate_fields() {
        let leaf = Certificate::from_der(&base64(LEAF));
        assert_eq!(
            leaf,
            Certificate {
                subject: "CN=lists.for-our.info".into(),
                subject_cn: Some("lists.for-our.info".into()),
                issuer: "CN=Let's Encrypt Authority X3,O=Let's Encrypt,C=US".into(),
                issuer_cn: Some("Let's Encrypt Authority X3".into()),
                issuer_o: Some("Let's Encrypt".into()),
                serial: "032048030bbb3410f9093c57f2cb8308c805".into(),
                not_before: 1_562_929_950, // 2019-07-12 11:12:30 UTC
                not_after: 1_570_705_950,
                san_dns: vec!["lists.for-our.info".into()],
                san_ips: vec![],
                // openssl x509 -fingerprint -sha256
                sha256: "8fa4cb4e938b5a855fb1497fa288ac55723e0109d0518b505481348dec0de471".into(),
                der_len: 1375,
                parse_error: None,
            }
        );
        let ca = Certificate::from_der(&base64(INTERMEDIATE));
        assert_eq!(
            ca.subject,
            "CN=Let's Encrypt Authority X3,O=Let's Encrypt,C=US"
        );
        assert_eq!(ca.issuer, "CN=DST Root CA X3,O=Digital Signature Trust Co.");
        assert_eq!(ca.issuer_o.as_deref(), Some("Digital Signature Trust Co."));
        // Leading zero nibble kept, as openssl prints it: 0A0141...
        assert_eq!(ca.serial, "0a0141420000015385736a0b85eca708");
        assert_eq!(
            (ca.not_before, ca.not_after),
            (1_458_232_846, 1_615_999_246)
        );
        assert!(ca.san_dns.is_empty());
        assert_eq!(
            ca.sha256,
            "25847d668eb4f04fdd40b12b6b0740c567da7d024308eb6c2c96fe41d9de218d"
        );
    }

    #[test]
    fn ed25519_without_extensions_matches_by_cn() {
        let c = Certificate::from_der(&base64(ED25519));
        assert_eq!(c.subject, "CN=www.example.com,C=DE");
        assert_eq!(c.issuer, c.subject);
        assert_eq!(c.issuer_o, None);
        assert_eq!(c.serial, "77e5f4c03488a1226cf5cd45f3cdf04991f81543");
        assert!(c.matches_name("WWW.example.com."));
        assert!(!c.matches_name("example.com"));
    }

    /// The Ed25519 certificate with its two CN values (subject and issuer)
    /// rewritten; signatures are not checked, so it still parses.
    fn ed25519_with_cn(cn: &[u8; 15]) -> Certificate {
        let mut der = base64(ED25519);
        let mut i = 0;
        while let Some(at) = der[i..].windows(15).position(|w| w == b"www.example.com") {
            der[i + at..i + at + 15].copy_from_slice(cn);
            i += at + 15;
        }
        Certificate::from_der(&der)
    }

    #[test]
    fn hostile_names_are_escaped() {
        let c = ed25519_with_cn(b"a\\\x07b,c+d\"e<f;gh");
        assert_eq!(c.parse_error, None);
        assert_eq!(c.subject_cn.as_deref(), Some("a\\\\\\x07b,c+d\"e<f;gh"));
        assert_eq!(c.subject, "CN=a\\\\\\x07b\\,c\\+d\\\"e\\<f\\;gh,C=DE");
        let c = ed25519_with_cn(b"# leading, end ");
        assert_eq!(c.subject, "CN=\\# leading\\, end\\ ,C=DE");
        assert_eq!(c.subject_cn.as_deref(), Some("# leading, end "));
        let c = ed25519_with_cn(b" leading # end.");
        assert_eq!(c.subject, "CN=\\ leading # end.,C=DE");
    }

    #[test]
    fn unparsable_certificate_keeps_fingerprint_and_reason() {
        for der in [&b""[..], b"\x30\x03\x02\x01\x01", &base64(LEAF)[..900]] {
            let c = Certificate::from_der(der);
            assert!(c.parse_error.is_some(), "{der:?}");
            assert_eq!(c.der_len, der.len());
            assert_eq!(c.sha256.len(), 64);
            assert!(c.subject.is_empty() && c.san_dns.is_empty());
        }
        assert_eq!(
            Certificate::from_der(b"").sha256,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn garbage_never_panics() {
        let mut s: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        let certs = [base64(LEAF), base64(INTERMEDIATE), base64(ED25519)];
        for round in 0..3_000 {
            let mut der = certs[round % 3].clone();
            for _ in 0..1 + next() % 6 {
                let i = (next() as usize) % der.len();
                der[i] = next() as u8;
            }
            let cut = (next() as usize) % (der.len() + 1);
            let c = Certificate::from_der(&der[..if round % 4 == 0 { cut } else { der.len() }]);
            let _ = c.matches_name("lists.for-our.info");
        }
    }

    fn with_names(dns: &[&str], ips: &[&str], cn: Option<&str>) -> Certificate {
        Certificate {
            san_dns: dns.iter().map(|s| s.to_string()).collect(),
            san_ips: ips.iter().map(|s| s.to_string()).collect(),
            subject_cn: cn.map(Into::into),
            ..Certificate::default()
        }
    }

    #[test]
    fn name_matching() {
        let wild = with_names(
            &["*.example.com", "example.org"],
            &[],
            Some("cn.example.net"),
        );
        let table = [
            ("a.example.com", true),
            ("A.EXAMPLE.COM", true),
            ("a.example.com.", true),
            ("xn--bcher-kva.example.com", true),
            ("example.com", false),
            ("a.b.example.com", false),
            (".example.com", false),
            ("*.example.com", false),
            ("aexample.com", false),
            ("example.org", true),
            ("Example.Org", true),
            ("www.example.org", false),
            // The CN is not looked at when there are dNSNames.
            ("cn.example.net", false),
            ("", false),
            (".", false),
            ("a..example.com", false),
        ];
        for (host, want) in table {
            assert_eq!(wild.matches_name(host), want, "{host}");
        }

        for (pattern, host, want) in [
            ("*.com", "example.com", false),
            ("*", "example", false),
            ("f*.example.com", "foo.example.com", false),
            ("*.*.example.com", "a.b.example.com", false),
            ("a.*.example.com", "a.b.example.com", false),
            ("*.example.com.", "a.example.com", true),
            ("www.example.com", "www.example.com", true),
            ("www..com", "www..com", false),
        ] {
            let c = with_names(&[pattern], &[], None);
            assert_eq!(c.matches_name(host), want, "{pattern} vs {host}");
        }

        // CN fallback only without dNSNames, wildcard rules alike.
        let cn = with_names(&[], &["192.0.2.1"], Some("*.example.net"));
        assert!(cn.matches_name("www.example.net"));
        assert!(!cn.matches_name("example.net"));
        assert!(with_names(&[], &[], None).matches_name("x").not());

        // IP addresses match iPAddress entries, not names.
        let ip = with_names(&["192.0.2.9"], &["192.0.2.1", "2001:db8::1"], None);
        assert!(ip.matches_name("192.0.2.1"));
        assert!(ip.matches_name("2001:DB8:0::1"));
        assert!(ip.matches_name("[2001:db8::1]"));
        assert!(!ip.matches_name("192.0.2.9"));
        assert!(with_names(&[], &[], Some("192.0.2.7")).matches_name("192.0.2.7"));
        assert!(!with_names(&[], &["192.0.2.8"], Some("192.0.2.7")).matches_name("192.0.2.7"));
    }

    // The three certificates below are test data of the x509-parser crate
    // (rusticata/x509-parser, MIT/Apache-2.0), `assets/certificate.der`,
    // `assets/lets-encrypt-x3-cross-signed.der` and `assets/ed25519.der`:
    // a real Let's Encrypt leaf, the intermediate that signed it, and a small
    // self-signed Ed25519 certificate without extensions.

    /// CN=lists.for-our.info, issued by Let's Encrypt Authority X3.
    pub(crate) const LEAF: &str = "\
MIIFWzCCBEOgAwIBAgISAyBIAwu7NBD5CTxX8suDCMgFMA0GCSqGSIb3DQEBCwUAMEoxCzAJBgNV
BAYTAlVTMRYwFAYDVQQKEw1MZXQncyBFbmNyeXB0MSMwIQYDVQQDExpMZXQncyBFbmNyeXB0IEF1
dGhvcml0eSBYMzAeFw0xOTA3MTIxMTEyMzBaFw0xOTEwMTAxMTEyMzBaMB0xGzAZBgNVBAMTEmxp
c3RzLmZvci1vdXIuaW5mbzCCASIwDQYJKoZIhvcNAQEBBQADggEPADCCAQoCggEBAMVoti34X46D
aI2nX24C+aZ2OfkmhKbidiXiRTon1MLSMGl1oNW9MyRyYYCzP4j6DNKChJnr8ZnVShh2oZD+yHWP
9lpnXMGkbsUxejRMU9hnaAB50pXRIDAzavkVFCguFlJ8nKkv/Y1Avlw7tc2aZOd3lOZBEr8gJ8mR
DGqqsNU+Z12I6slEstzGMpsq6AewCVw4lMjdWWgugzUrxQTRAsG87on6gOiQH2cMODN3L7Fq4KOL
QIjb3/luQhAQhpdKmEGFLin3c+f5or3thCDuwwDtOU1lZf+8t9S8pZPLrZrIs6H2xjXqCRuUY7iR
NbO18Ukc6rlDYhBj9LT+cpmBbHECAwEAAaOCAmYwggJiMA4GA1UdDwEB/wQEAwIFoDAdBgNVHSUE
FjAUBggrBgEFBQcDAQYIKwYBBQUHAwIwDAYDVR0TAQH/BAIwADAdBgNVHQ4EFgQUJj2pvRtl3Glo
H3He6FX1ds3X0VEwHwYDVR0jBBgwFoAUqEpqYwR93brm0Tm3pkVl7/Oo7KEwbwYIKwYBBQUHAQEE
YzBhMC4GCCsGAQUFBzABhiJodHRwOi8vb2NzcC5pbnQteDMubGV0c2VuY3J5cHQub3JnMC8GCCsG
AQUFBzAChiNodHRwOi8vY2VydC5pbnQteDMubGV0c2VuY3J5cHQub3JnLzAdBgNVHREEFjAUghJs
aXN0cy5mb3Itb3VyLmluZm8wTAYDVR0gBEUwQzAIBgZngQwBAgEwNwYLKwYBBAGC3xMBAQEwKDAm
BggrBgEFBQcCARYaaHR0cDovL2Nwcy5sZXRzZW5jcnlwdC5vcmcwggEDBgorBgEEAdZ5AgQCBIH0
BIHxAO8AdgApPFGWVMg5ZbqqUPxYB9S3b79Yeily3KTDDPTlRUf0eAAAAWvmGV7yAAAEAwBHMEUC
ICQL2Sm14aCMLxX9a9RbySgyBfichMRdbu6QA2Mbrl4eAiEA1vgJ7snqUWCgoqEE3SEfK3ioMopz
WBsPvG6LdCuCMRAAdQBvU3asMfAxGdiZAKRRFf93FRwR2QLBACkGjbIImjfZEwAAAWvmGV9oAAAE
AwBGMEQCIExGqw3Lo0nSCyUuTRf92FgGASwWYji5UGnXuYnpJrAvAiBw8AWVag8fzZ4ogAhY9EFR
NdLrUcBjStipL888vyuxKzANBgkqhkiG9w0BAQsFAAOCAQEAF8BBLDvSWZg57B6aDtzfUTSGetCY
s3k0vJqCJlL+Pz7/UruCSsojQzp5R6jvvgYQ83MaIdwe2mgt+OCQB5v7ylctyBzBmYIw9nPnxEC7
HlcJL2K/k5ZjJFRnv4kV1Si8+TIpEAV0ksf39KGKemG8kGi4GXV1v03zSv0p8aCarpuoSKBJ4qlB
0CvmS2MqV4KnzO0O2h0c/ZQ4jg7l53eiN7VPdRMMO1DRw+MaW6I/hEZp+oZQ7hhKXgKUBvF4IGwy
rfyIZ8AeWKG4IP98COgyRbz7qtrAVevRKCM0ZC2t04A2Fcix40FKEeiE093Aj3cweMYxNLPgwgQP
8Xu3kA5QEw==
";

    /// CN=Let's Encrypt Authority X3, cross-signed by DST Root CA X3.
    pub(crate) const INTERMEDIATE: &str = "\
MIIEkjCCA3qgAwIBAgIQCgFBQgAAAVOFc2oLheynCDANBgkqhkiG9w0BAQsFADA/MSQwIgYDVQQK
ExtEaWdpdGFsIFNpZ25hdHVyZSBUcnVzdCBDby4xFzAVBgNVBAMTDkRTVCBSb290IENBIFgzMB4X
DTE2MDMxNzE2NDA0NloXDTIxMDMxNzE2NDA0NlowSjELMAkGA1UEBhMCVVMxFjAUBgNVBAoTDUxl
dCdzIEVuY3J5cHQxIzAhBgNVBAMTGkxldCdzIEVuY3J5cHQgQXV0aG9yaXR5IFgzMIIBIjANBgkq
hkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAnNMM8FrlLke3cl03g7NoYzDq1zUmGSXhvb418XCSL7e4
S0EFq6meNQhY7LEqxGiHC6PjdeTm86dicbp5gWAf15Gan/PQeGdxyGkOlZHP/uaZ6WA8SMx+yk13
EiSdRxta67nsHjcAHJyse6cF6s5K671B5TaYucv9bTyWaN8jKkKQDIZ0Z8h/pZq4UmEUEz9l6YKH
y9v6Dlb2honzhT+Xhq+w3Brvaw2VFn3EK6BlspkENnWAa6xK8xuQSXgvopZPKiAlKQTGdMDQMc2P
MTiVFrqoM7hD8bEfwzB/onkxEz0tNvjj/PIzark5McWvxI0NHWQWM6r6hCm21AvA2H3DkwIDAQAB
o4IBfTCCAXkwEgYDVR0TAQH/BAgwBgEB/wIBADAOBgNVHQ8BAf8EBAMCAYYwfwYIKwYBBQUHAQEE
czBxMDIGCCsGAQUFBzABhiZodHRwOi8vaXNyZy50cnVzdGlkLm9jc3AuaWRlbnRydXN0LmNvbTA7
BggrBgEFBQcwAoYvaHR0cDovL2FwcHMuaWRlbnRydXN0LmNvbS9yb290cy9kc3Ryb290Y2F4My5w
N2MwHwYDVR0jBBgwFoAUxKexpHsscfrb4UuQdf/EFWCFiRAwVAYDVR0gBE0wSzAIBgZngQwBAgEw
PwYLKwYBBAGC3xMBAQEwMDAuBggrBgEFBQcCARYiaHR0cDovL2Nwcy5yb290LXgxLmxldHNlbmNy
eXB0Lm9yZzA8BgNVHR8ENTAzMDGgL6AthitodHRwOi8vY3JsLmlkZW50cnVzdC5jb20vRFNUUk9P
VENBWDNDUkwuY3JsMB0GA1UdDgQWBBSoSmpjBH3duubRObemRWXv86jsoTANBgkqhkiG9w0BAQsF
AAOCAQEA3TPXEfNjWDjdGBX7CVW+dla5cEilaUcne8IkCJLxWh9KEik3JHRRHGJouM2VcGfl96S8
TihRzZvoroed6ti6WqEBmtzw3Wodatg+VyOeph4EYpr/1wXKtx8/wApIvJSwtmVi4MFU5aMqrSDE
6ea73Mj2tcMyo5jMd6jmeWUHK8so/joWUoHOUgwuX4Po1QYz+3dszkDqMp4fklxBwXRsW10KXzPM
TZ+sOPAveyxindmjkW8lGy+QsRlGPfZ+G6Z6h7mjem0Y+iWlkYcV4PIWL1iwBi8saCbGS5jN2p8M
+X+Q7UNKEkROb3N6KOqkqm57TH2H3eDJAkSnh6/DNFu0Qg==
";

    /// C=DE, CN=www.example.com, self-signed Ed25519, no extensions.
    pub(crate) const ED25519: &str = "\
MIIBCDCBuwIUd+X0wDSIoSJs9c1F883wSZH4FUMwBQYDK2VwMCcxCzAJBgNVBAYTAkRFMRgwFgYD
VQQDDA93d3cuZXhhbXBsZS5jb20wHhcNMjEwNzI3MTIzNzE0WhcNMjMwNjI3MTIzNzE0WjAnMQsw
CQYDVQQGEwJERTEYMBYGA1UEAwwPd3d3LmV4YW1wbGUuY29tMCowBQYDK2VwAyEAPqQF0u8Z9eCr
8z5N9U7lHQVEeT2Y4mclN/T/yvhgmEwwBQYDK2VwA0EAINt65vrCiOlZ9GrKstcsSA1VvA8nVzJS
aD/oAaqeg9Ijw7SMF5Nwa94NxKo2cciDg7HkGm5Si9a8AqYm6o3VAg==
";
}
