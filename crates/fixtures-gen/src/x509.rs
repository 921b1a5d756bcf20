//! DER encoding (X.690, definite lengths only) and X.509 v3 certificates
//! built from it, for TLS 1.2 server flights that carry a Certificate.
//!
//! The certificates are syntactically valid but sign nothing: the public key
//! and the signature are pseudo-random bytes. Nothing in telltale verifies a
//! signature (naming only reads the subject and subjectAltName), and a real
//! key pair would add a dependency and make the bytes depend on it.

use crate::SplitMix64;

/// Tag of an INTEGER.
pub const TAG_INTEGER: u8 = 0x02;
/// Tag of a BIT STRING.
pub const TAG_BIT_STRING: u8 = 0x03;
/// Tag of an OCTET STRING.
pub const TAG_OCTET_STRING: u8 = 0x04;
/// Tag of NULL.
pub const TAG_NULL: u8 = 0x05;
/// Tag of an OBJECT IDENTIFIER.
pub const TAG_OID: u8 = 0x06;
/// Tag of a UTF8String.
pub const TAG_UTF8_STRING: u8 = 0x0c;
/// Tag of a PrintableString.
pub const TAG_PRINTABLE_STRING: u8 = 0x13;
/// Tag of a UTCTime.
pub const TAG_UTC_TIME: u8 = 0x17;
/// Tag of a SEQUENCE (constructed).
pub const TAG_SEQUENCE: u8 = 0x30;
/// Tag of a SET (constructed).
pub const TAG_SET: u8 = 0x31;

/// id-at-commonName (2.5.4.3).
pub const OID_COMMON_NAME: &[u64] = &[2, 5, 4, 3];
/// id-at-organizationName (2.5.4.10).
pub const OID_ORGANIZATION: &[u64] = &[2, 5, 4, 10];
/// rsaEncryption (1.2.840.113549.1.1.1).
pub const OID_RSA_ENCRYPTION: &[u64] = &[1, 2, 840, 113_549, 1, 1, 1];
/// sha256WithRSAEncryption (1.2.840.113549.1.1.11).
pub const OID_SHA256_WITH_RSA: &[u64] = &[1, 2, 840, 113_549, 1, 1, 11];
/// id-ce-subjectAltName (2.5.29.17).
pub const OID_SUBJECT_ALT_NAME: &[u64] = &[2, 5, 29, 17];

/// A DER definite length: short form below 128, else long form with the
/// fewest length octets.
pub fn length(len: usize) -> Vec<u8> {
    if len < 0x80 {
        return vec![u8::try_from(len).expect("below 128")];
    }
    let bytes = len.to_be_bytes();
    let skip = bytes.iter().take_while(|&&b| b == 0).count();
    let mut out = vec![0x80 | u8::try_from(bytes.len() - skip).expect("at most 8")];
    out.extend_from_slice(&bytes[skip..]);
    out
}

/// One TLV: identifier octet, definite length, contents.
pub fn tlv(tag: u8, contents: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend_from_slice(&length(contents.len()));
    out.extend_from_slice(contents);
    out
}

/// A SEQUENCE of already-encoded elements.
pub fn sequence(items: &[Vec<u8>]) -> Vec<u8> {
    tlv(TAG_SEQUENCE, &items.concat())
}

/// A SET of already-encoded elements, in the order given. DER sorts the
/// elements of a SET OF; every SET built here holds one element, so the
/// order never matters.
pub fn set(items: &[Vec<u8>]) -> Vec<u8> {
    tlv(TAG_SET, &items.concat())
}

/// A non-negative INTEGER from its big-endian magnitude: leading zero octets
/// are dropped and one is put back when the top bit is set, as DER's minimal
/// two's-complement form requires.
pub fn integer(magnitude: &[u8]) -> Vec<u8> {
    let skip = magnitude.iter().take_while(|&&b| b == 0).count();
    let digits = &magnitude[skip..];
    let mut contents = Vec::with_capacity(digits.len() + 1);
    if digits.first().is_none_or(|&b| b & 0x80 != 0) {
        contents.push(0);
    }
    contents.extend_from_slice(digits);
    tlv(TAG_INTEGER, &contents)
}

/// A non-negative INTEGER from a number.
pub fn integer_u64(value: u64) -> Vec<u8> {
    integer(&value.to_be_bytes())
}

/// An OBJECT IDENTIFIER: the first two arcs share one subidentifier, each
/// subidentifier in base 128, high bit set on all but its last octet.
pub fn oid(arcs: &[u64]) -> Vec<u8> {
    assert!(arcs.len() >= 2 && arcs[0] <= 2, "not an OID: {arcs:?}");
    let mut contents = Vec::new();
    let first = arcs[0] * 40 + arcs[1];
    for &arc in std::iter::once(&first).chain(&arcs[2..]) {
        let mut groups = vec![u8::try_from(arc & 0x7f).expect("7 bits")];
        let mut rest = arc >> 7;
        while rest > 0 {
            groups.push(0x80 | u8::try_from(rest & 0x7f).expect("7 bits"));
            rest >>= 7;
        }
        contents.extend(groups.iter().rev());
    }
    tlv(TAG_OID, &contents)
}

/// NULL (the parameters of the RSA algorithm identifiers).
pub fn null() -> Vec<u8> {
    tlv(TAG_NULL, &[])
}

/// Whether every character is in PrintableString's repertoire (X.680
/// §41.4: letters, digits, space and `'()+,-./:=?`).
pub fn is_printable(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b" '()+,-./:=?".contains(&b))
}

/// A PrintableString; panics on a character outside its repertoire.
pub fn printable_string(s: &str) -> Vec<u8> {
    assert!(is_printable(s), "not a PrintableString: {s:?}");
    tlv(TAG_PRINTABLE_STRING, s.as_bytes())
}

/// A UTF8String.
pub fn utf8_string(s: &str) -> Vec<u8> {
    tlv(TAG_UTF8_STRING, s.as_bytes())
}

/// A BIT STRING holding whole octets (0 unused bits).
pub fn bit_string(bytes: &[u8]) -> Vec<u8> {
    let mut contents = vec![0];
    contents.extend_from_slice(bytes);
    tlv(TAG_BIT_STRING, &contents)
}

/// An OCTET STRING.
pub fn octet_string(bytes: &[u8]) -> Vec<u8> {
    tlv(TAG_OCTET_STRING, bytes)
}

/// A context-specific tag `[n]` (n < 31) around `contents`: constructed for
/// EXPLICIT tagging (contents is a whole TLV), primitive for IMPLICIT
/// tagging of a primitive type (contents is that type's content octets).
pub fn context(n: u8, constructed: bool, contents: &[u8]) -> Vec<u8> {
    assert!(n < 31, "high tag numbers are not needed here");
    tlv(0x80 | if constructed { 0x20 } else { 0 } | n, contents)
}

/// A UTC date and time, second precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateTime {
    /// Year, 1950 to 2049 (UTCTime's two-digit range, RFC 5280 §4.1.2.5.1).
    pub year: u16,
    /// Month, 1 to 12.
    pub month: u8,
    /// Day of the month, 1 to 31.
    pub day: u8,
    /// Hour, 0 to 23.
    pub hour: u8,
    /// Minute.
    pub minute: u8,
    /// Second.
    pub second: u8,
}

impl DateTime {
    /// Midnight UTC on that day.
    pub const fn date(year: u16, month: u8, day: u8) -> Self {
        DateTime {
            year,
            month,
            day,
            hour: 0,
            minute: 0,
            second: 0,
        }
    }

    /// As a DER UTCTime, `YYMMDDHHMMSSZ` (RFC 5280 requires the seconds and
    /// the `Z`).
    pub fn utc_time(&self) -> Vec<u8> {
        assert!(
            (1950..2050).contains(&self.year),
            "UTCTime cannot hold {}",
            self.year
        );
        let text = format!(
            "{:02}{:02}{:02}{:02}{:02}{:02}Z",
            self.year % 100,
            self.month,
            self.day,
            self.hour,
            self.minute,
            self.second
        );
        tlv(TAG_UTC_TIME, text.as_bytes())
    }
}

/// A distinguished name of single-attribute RDNs, in encoding order (least
/// specific first, so `[O, CN]` reads `CN=…,O=…` in RFC 4514 order). Values
/// are PrintableString when they fit its repertoire and UTF8String
/// otherwise (a wildcard's `*` does not fit), as CAs commonly choose.
pub fn name(attrs: &[(&[u64], &str)]) -> Vec<u8> {
    let rdns: Vec<Vec<u8>> = attrs
        .iter()
        .map(|(typ, value)| {
            let value = if is_printable(value) {
                printable_string(value)
            } else {
                utf8_string(value)
            };
            set(&[sequence(&[oid(typ), value])])
        })
        .collect();
    sequence(&rdns)
}

/// Issuer commonName of every fixture certificate.
pub const FIXTURE_ISSUER_CN: &str = "Fixture Root";
/// Issuer organizationName of every fixture certificate.
pub const FIXTURE_ISSUER_O: &str = "telltale fixtures";

/// An X.509 v3 certificate with an RSA key and a subjectAltName of DNS
/// names: the fields a TLS server certificate needs to name a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    /// Serial number, big-endian magnitude (encoded as a positive INTEGER).
    pub serial: Vec<u8>,
    /// Issuer commonName.
    pub issuer_cn: String,
    /// Issuer organizationName.
    pub issuer_o: String,
    /// Start of validity.
    pub not_before: DateTime,
    /// End of validity.
    pub not_after: DateTime,
    /// Subject commonName (the subject has no other attribute).
    pub subject_cn: String,
    /// dNSName entries of the subjectAltName extension, in order; empty
    /// leaves the extension (and the whole extensions field) out.
    pub san_dns: Vec<String>,
    /// RSA modulus, big-endian magnitude.
    pub modulus: Vec<u8>,
    /// RSA public exponent.
    pub exponent: u64,
    /// Signature value. Never verified by anything, so random bytes do.
    pub signature: Vec<u8>,
}

impl Certificate {
    /// A leaf as the fixtures use it: issued by `CN=Fixture Root,O=telltale
    /// fixtures`, valid 2024-01-01 to 2025-01-01, 1024-bit RSA modulus,
    /// exponent 65537, and random serial, modulus and signature from `rng`.
    pub fn fixture(subject_cn: &str, san_dns: &[&str], rng: &mut SplitMix64) -> Self {
        let mut serial = rng.bytes(16);
        // Positive and 16 octets long without a sign octet, like the serials
        // of public CAs (RFC 5280 allows at most 20 octets).
        serial[0] = (serial[0] & 0x7f) | 0x40;
        let mut modulus = rng.bytes(128);
        // Top bit set so the key really is 1024 bits; odd like any RSA
        // modulus (a product of two odd primes).
        modulus[0] |= 0x80;
        modulus[127] |= 1;
        Certificate {
            serial,
            issuer_cn: FIXTURE_ISSUER_CN.into(),
            issuer_o: FIXTURE_ISSUER_O.into(),
            not_before: DateTime::date(2024, 1, 1),
            not_after: DateTime::date(2025, 1, 1),
            subject_cn: subject_cn.into(),
            san_dns: san_dns.iter().map(|&s| s.to_owned()).collect(),
            modulus,
            exponent: 65_537,
            signature: rng.bytes(128),
        }
    }

    fn signature_algorithm() -> Vec<u8> {
        sequence(&[oid(OID_SHA256_WITH_RSA), null()])
    }

    /// The TBSCertificate: the part a real CA would sign.
    pub fn tbs_der(&self) -> Vec<u8> {
        let version = context(0, true, &integer_u64(2)); // 2 means v3
        let issuer = name(&[
            (OID_ORGANIZATION, &self.issuer_o),
            (OID_COMMON_NAME, &self.issuer_cn),
        ]);
        let validity = sequence(&[self.not_before.utc_time(), self.not_after.utc_time()]);
        let subject = name(&[(OID_COMMON_NAME, &self.subject_cn)]);
        let rsa_key = sequence(&[integer(&self.modulus), integer_u64(self.exponent)]);
        let spki = sequence(&[
            sequence(&[oid(OID_RSA_ENCRYPTION), null()]),
            bit_string(&rsa_key),
        ]);
        let mut fields = vec![
            version,
            integer(&self.serial),
            Self::signature_algorithm(),
            issuer,
            validity,
            subject,
            spki,
        ];
        if !self.san_dns.is_empty() {
            // GeneralName dNSName is [2] IMPLICIT IA5String: a primitive
            // context tag straight around the ASCII text.
            let names: Vec<Vec<u8>> = self
                .san_dns
                .iter()
                .map(|n| {
                    assert!(n.is_ascii(), "dNSName must be IA5: {n:?}");
                    context(2, false, n.as_bytes())
                })
                .collect();
            // Not critical: the subject is not empty (RFC 5280 §4.2.1.6), and
            // DER leaves out a BOOLEAN at its DEFAULT FALSE.
            let san = sequence(&[oid(OID_SUBJECT_ALT_NAME), octet_string(&sequence(&names))]);
            fields.push(context(3, true, &sequence(&[san])));
        }
        sequence(&fields)
    }

    /// The whole certificate, DER.
    pub fn to_der(&self) -> Vec<u8> {
        sequence(&[
            self.tbs_der(),
            Self::signature_algorithm(),
            bit_string(&self.signature),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use x509_parser::oid_registry::{OID_PKCS1_RSAENCRYPTION, OID_PKCS1_SHA256WITHRSA};
    use x509_parser::prelude::{FromDer as _, GeneralName, X509Certificate, X509Version};
    use x509_parser::public_key::PublicKey;

    #[test]
    fn lengths_short_and_long() {
        assert_eq!(length(0), [0x00]);
        assert_eq!(length(127), [0x7f]);
        assert_eq!(length(128), [0x81, 0x80]);
        assert_eq!(length(255), [0x81, 0xff]);
        assert_eq!(length(256), [0x82, 0x01, 0x00]);
        assert_eq!(length(0x01_0000), [0x83, 0x01, 0x00, 0x00]);
        let long = tlv(TAG_OCTET_STRING, &[7; 300]);
        assert_eq!(&long[..4], &[0x04, 0x82, 0x01, 0x2c]);
        assert_eq!(long.len(), 304);
    }

    #[test]
    fn integers_are_minimal_and_positive() {
        assert_eq!(integer_u64(0), [0x02, 0x01, 0x00]);
        assert_eq!(integer_u64(2), [0x02, 0x01, 0x02]);
        assert_eq!(integer_u64(127), [0x02, 0x01, 0x7f]);
        assert_eq!(integer_u64(128), [0x02, 0x02, 0x00, 0x80]);
        assert_eq!(integer_u64(65_537), [0x02, 0x03, 0x01, 0x00, 0x01]);
        assert_eq!(integer(&[0, 0, 0x12]), [0x02, 0x01, 0x12]);
        assert_eq!(integer(&[]), [0x02, 0x01, 0x00]);
    }

    #[test]
    fn oids_match_known_encodings() {
        assert_eq!(
            oid(OID_SHA256_WITH_RSA),
            [
                0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b
            ]
        );
        assert_eq!(oid(OID_COMMON_NAME), [0x06, 0x03, 0x55, 0x04, 0x03]);
        assert_eq!(oid(OID_SUBJECT_ALT_NAME), [0x06, 0x03, 0x55, 0x1d, 0x11]);
    }

    #[test]
    fn strings_times_and_tags() {
        assert!(is_printable("Fixture Root"));
        assert!(!is_printable("*.evil.example"));
        assert_eq!(
            DateTime::date(2024, 1, 1).utc_time(),
            b"\x17\x0d240101000000Z"
        );
        assert_eq!(bit_string(&[0xaa]), [0x03, 0x02, 0x00, 0xaa]);
        assert_eq!(context(2, false, b"a"), [0x82, 0x01, b'a']);
        assert_eq!(context(3, true, &null()), [0xa3, 0x02, 0x05, 0x00]);
        assert_eq!(
            name(&[(OID_COMMON_NAME, "*.x")]),
            [
                0x30, 0x0e, 0x31, 0x0c, 0x30, 0x0a, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x03, b'*',
                b'.', b'x'
            ]
        );
    }

    #[test]
    fn certificate_parses_with_x509_parser() {
        let mut rng = SplitMix64::new(0x509);
        let cert = Certificate::fixture(
            "*.evil.example",
            &["*.evil.example", "evil.example"],
            &mut rng,
        );
        let der = cert.to_der();
        let (rest, x) = X509Certificate::from_der(&der).expect("certificate parses");
        assert!(rest.is_empty());
        assert_eq!(x.version(), X509Version::V3);
        assert_eq!(x.raw_serial(), &cert.serial[..]);
        assert_eq!(x.signature_algorithm.algorithm, OID_PKCS1_SHA256WITHRSA);
        assert_eq!(
            x.tbs_certificate.signature.algorithm,
            OID_PKCS1_SHA256WITHRSA
        );
        assert_eq!(
            x.issuer().to_string(),
            "O=telltale fixtures, CN=Fixture Root"
        );
        assert_eq!(x.subject().to_string(), "CN=*.evil.example");
        let cn: Vec<_> = x
            .subject()
            .iter_common_name()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert_eq!(cn, ["*.evil.example"]);
        assert_eq!(x.validity().not_before.timestamp(), 1_704_067_200);
        assert_eq!(x.validity().not_after.timestamp(), 1_735_689_600);
        let san = x
            .subject_alternative_name()
            .expect("one valid SAN")
            .expect("SAN present");
        assert!(!san.critical);
        let names: Vec<_> = san
            .value
            .general_names
            .iter()
            .map(|g| match g {
                GeneralName::DNSName(s) => *s,
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(names, ["*.evil.example", "evil.example"]);
        assert_eq!(x.public_key().algorithm.algorithm, OID_PKCS1_RSAENCRYPTION);
        let Ok(PublicKey::RSA(rsa)) = x.public_key().parsed() else {
            panic!("not an RSA key")
        };
        assert_eq!(rsa.key_size(), 1024);
        assert_eq!(rsa.modulus[0], 0, "sign octet before a set top bit");
        assert_eq!(&rsa.modulus[1..], &cert.modulus[..]);
        assert_eq!(rsa.try_exponent().unwrap(), 65_537);
        assert_eq!(x.signature_value.data.as_ref(), &cert.signature[..]);
    }

    #[test]
    fn no_san_means_no_extensions() {
        let mut rng = SplitMix64::new(1);
        let der = Certificate::fixture("only-cn.example", &[], &mut rng).to_der();
        let (_, x) = X509Certificate::from_der(&der).expect("parses");
        assert!(x.extensions().is_empty());
        assert_eq!(x.subject().to_string(), "CN=only-cn.example");
    }
}
