//! TLS fingerprints computed from the parsed hellos of [`tls`](crate::tls):
//! JA3 and JA3S (Salesforce) and JA4 (FoxIO).
//!
//! - [`ja3`] and [`ja3s`] give a [`Ja3`]: the comma-separated string and its
//!   MD5, as Suricata's `tls.ja3` / `tls.ja3s` log them.
//! - [`ja4`] gives a [`Ja4`]: the fingerprint (`t13d1516h2_8daaf6152771_e5627efa2ab1`)
//!   and its raw, unhashed form (`ja4_r`), for analysts who need to see which
//!   cipher or extension made two fingerprints differ.
//!
//! JA4 follows the FoxIO specification (`technical_details/JA4.md`); where
//! Suricata's implementation departs from it, this module follows the
//! specification and the differences are listed on [`ja4`].
//!
//! ```
//! use telltale_proto::fingerprint::{ja3, ja4, Transport};
//! use telltale_proto::tls::ClientHello;
//!
//! // The example of the JA4 specification.
//! let ch = ClientHello {
//!     legacy_version: 0x0303,
//!     sni: Some("example.com".into()),
//!     alpn: vec!["h2".into(), "http/1.1".into()],
//!     alpn_raw: vec![b"h2".to_vec(), b"http/1.1".to_vec()],
//!     supported_versions: vec![0x0304, 0x0303],
//!     cipher_suites: vec![
//!         0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013,
//!         0xc014, 0x009c, 0x009d, 0x002f, 0x0035,
//!     ],
//!     extensions: vec![
//!         0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d, 0x0005, 0x0023,
//!         0x0012, 0x002b, 0xff01, 0x000b, 0x000a, 0x0015,
//!     ],
//!     signature_algorithms: vec![0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601],
//!     ..ClientHello::default()
//! };
//! assert_eq!(ja4(&ch, Transport::Tcp).fingerprint, "t13d1516h2_8daaf6152771_e5627efa2ab1");
//! assert!(ja3(&ch).string.starts_with("771,4865-4866-4867-49195-"));
//! ```

use std::fmt::{self, Write as _};

use md5::Md5;
use sha2::{Digest as _, Sha256};

use crate::tls::{ClientHello, ServerHello, is_grease};

const EXT_SERVER_NAME: u16 = 0x0000;
const EXT_ALPN: u16 = 0x0010;
const EXT_SUPPORTED_VERSIONS: u16 = 0x002b;

/// What JA4 prints for an empty list, instead of the hash of nothing, so an
/// analyst sees at once that the hello had no values there.
const EMPTY_HASH: &str = "000000000000";

const HEX: &[u8; 16] = b"0123456789abcdef";

/// A JA3 (client) or JA3S (server) fingerprint.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Ja3 {
    /// The fingerprint string, e.g. `771,4865-4866,0-23-65281,29-23,0`.
    pub string: String,
    /// MD5 of [`string`](Self::string), 32 lowercase hex digits.
    pub md5_hex: String,
}

impl fmt::Display for Ja3 {
    /// Writes the MD5, the form fingerprint databases index.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.md5_hex)
    }
}

/// A JA4 fingerprint.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Ja4 {
    /// The fingerprint, e.g. `t13d1516h2_8daaf6152771_e5627efa2ab1`.
    pub fingerprint: String,
    /// The raw form (`ja4_r`): the same first part, then the sorted cipher
    /// list and the sorted extension list with the signature algorithms,
    /// unhashed.
    pub raw: String,
}

impl fmt::Display for Ja4 {
    /// Writes the fingerprint.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.fingerprint)
    }
}

/// What carried the ClientHello: JA4's first character.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Transport {
    /// TLS over TCP (`t`).
    Tcp,
    /// QUIC, TLS in CRYPTO frames (`q`).
    Quic,
}

impl Transport {
    fn code(self) -> char {
        match self {
            Transport::Tcp => 't',
            Transport::Quic => 'q',
        }
    }
}

/// The JA3 fingerprint of a ClientHello:
/// `SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats`,
/// decimal values joined by `-`, GREASE values (RFC 8701) left out of every
/// list. The version is the hello's `legacy_version`, never the
/// supported_versions extension, so TLS 1.3 clients show 771.
pub fn ja3(ch: &ClientHello) -> Ja3 {
    let mut s = String::with_capacity(256);
    let _ = write!(s, "{},", ch.legacy_version);
    push_decimal(&mut s, non_grease(&ch.cipher_suites));
    s.push(',');
    push_decimal(&mut s, non_grease(&ch.extensions));
    s.push(',');
    push_decimal(&mut s, non_grease(&ch.supported_groups));
    s.push(',');
    push_decimal(&mut s, ch.ec_point_formats.iter().map(|&v| u16::from(v)));
    finish_ja3(s)
}

/// The JA3S fingerprint of a ServerHello: `SSLVersion,Cipher,Extensions`,
/// with the hello's `legacy_version` (771 for TLS 1.3 as well) and the
/// extensions in wire order, GREASE left out.
pub fn ja3s(sh: &ServerHello) -> Ja3 {
    let mut s = String::with_capacity(64);
    let _ = write!(s, "{},{},", sh.legacy_version, sh.cipher_suite);
    push_decimal(&mut s, non_grease(&sh.extensions));
    finish_ja3(s)
}

/// The JA4 fingerprint of a ClientHello and its raw form.
///
/// Rules of the FoxIO specification, GREASE values ignored everywhere:
/// - version: the highest value of supported_versions when the extension is
///   there (and holds one), else `legacy_version`; `13`, `12`, `11`, `10`,
///   `s3`, `s2`, `s1`, `d1`..`d3`, `00` for anything else (TLS 1.3 drafts too);
/// - `d` when the server_name extension is present, else `i`;
/// - cipher and extension counts capped at 99, SNI and ALPN counted;
/// - first and last character of the first ALPN value (GREASE identifiers
///   skipped), or of its hex form when either byte is not an ASCII letter or
///   digit; `00` without one or when it is empty;
/// - an empty list hashes to `000000000000`, and without signature
///   algorithms the extension list is hashed without the trailing `_`.
///
/// Suricata 8 differs on edge cases only: it hashes empty lists as SHA-256
/// of the empty string (`e3b0c44298fc`), always appends the `_`, takes the
/// version as the maximum of `legacy_version` and supported_versions, skips
/// empty ALPN values, and prints `00` for a GREASE first ALPN value.
///
/// The ALPN characters come from the escaped names of [`ClientHello::alpn`]:
/// the escaping is undone exactly, except that a name which was not valid
/// UTF-8 was stored with U+FFFD in place of the bad bytes, and is read back
/// as the bytes of U+FFFD (`ef bf bd`).
pub fn ja4(ch: &ClientHello, transport: Transport) -> Ja4 {
    let ciphers: Vec<u16> = non_grease(&ch.cipher_suites).collect();
    let extensions: Vec<u16> = non_grease(&ch.extensions).collect();

    let mut head = String::with_capacity(10);
    head.push(transport.code());
    head.push_str(version_code(client_version(ch)));
    head.push(if extensions.contains(&EXT_SERVER_NAME) {
        'd'
    } else {
        'i'
    });
    let _ = write!(
        head,
        "{:02}{:02}",
        ciphers.len().min(99),
        extensions.len().min(99)
    );
    let [a, b] = first_alpn(ch).map_or([b'0'; 2], |v| alpn_chars(&v));
    head.push(char::from(a));
    head.push(char::from(b));

    let mut sorted_ciphers = ciphers;
    sorted_ciphers.sort_unstable();
    let cipher_list = hex_list(&sorted_ciphers);

    let mut sorted_exts: Vec<u16> = extensions
        .into_iter()
        .filter(|&e| e != EXT_SERVER_NAME && e != EXT_ALPN)
        .collect();
    sorted_exts.sort_unstable();
    let mut ext_list = hex_list(&sorted_exts);
    let sigs: Vec<u16> = non_grease(&ch.signature_algorithms).collect();
    if !sigs.is_empty() {
        ext_list.push('_');
        ext_list.push_str(&hex_list(&sigs));
    }

    Ja4 {
        fingerprint: format!("{head}_{}_{}", hash12(&cipher_list), hash12(&ext_list)),
        raw: format!("{head}_{cipher_list}_{ext_list}"),
    }
}

/// The values of a list that are not GREASE, in order.
fn non_grease(values: &[u16]) -> impl Iterator<Item = u16> + '_ {
    values.iter().copied().filter(|v| !is_grease(*v))
}

fn push_decimal(s: &mut String, values: impl Iterator<Item = u16>) {
    for (i, v) in values.enumerate() {
        if i > 0 {
            s.push('-');
        }
        push_u16(s, v);
    }
}

fn finish_ja3(string: String) -> Ja3 {
    let md5_hex = hex(&Md5::digest(string.as_bytes()));
    Ja3 { string, md5_hex }
}

/// A number in decimal, without `fmt` (fingerprints print hundreds of them
/// per handshake).
fn push_u16(s: &mut String, v: u16) {
    s.push_str(itoa::Buffer::new().format(v));
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    s
}

/// First 12 hex digits of the SHA-256 of `list`, or [`EMPTY_HASH`].
fn hash12(list: &str) -> String {
    if list.is_empty() {
        return EMPTY_HASH.to_owned();
    }
    let digest = Sha256::digest(list.as_bytes());
    hex(digest.get(..6).unwrap_or_default())
}

fn hex_list(values: &[u16]) -> String {
    let mut s = String::with_capacity(values.len() * 5);
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        for shift in [12, 8, 4, 0] {
            s.push(char::from(HEX[usize::from(v >> shift & 0x0f)]));
        }
    }
    s
}

fn client_version(ch: &ClientHello) -> u16 {
    let highest = non_grease(&ch.supported_versions).max();
    match highest {
        Some(v) if ch.extensions.contains(&EXT_SUPPORTED_VERSIONS) => v,
        // An empty or all-GREASE extension says nothing: fall back rather
        // than print "00" for a hello whose legacy_version is plain.
        _ => ch.legacy_version,
    }
}

fn version_code(v: u16) -> &'static str {
    match v {
        0x0304 => "13",
        0x0303 => "12",
        0x0302 => "11",
        0x0301 => "10",
        0x0300 => "s3",
        // SSL 2.0 appears as 0x0002 in its own hello format and as 0x0200
        // in the tools JA4 was first written against.
        0x0002 | 0x0200 => "s2",
        0x0100 => "s1",
        0xfeff => "d1",
        0xfefd => "d2",
        0xfefc => "d3",
        _ => "00",
    }
}

/// Raw bytes of the first ALPN value that is not a GREASE identifier
/// (RFC 8701 §2 reserves the two-byte names 0x0A0A ... 0xFAFA for ALPN too).
fn first_alpn(ch: &ClientHello) -> Option<Vec<u8>> {
    ch.alpn_raw
        .iter()
        .find(|raw| !matches!(raw[..], [a, b] if is_grease(u16::from_be_bytes([a, b]))))
        .cloned()
}

/// The two ALPN characters of JA4 from a raw protocol name.
fn alpn_chars(raw: &[u8]) -> [u8; 2] {
    let (Some(&first), Some(&last)) = (raw.first(), raw.last()) else {
        return [b'0'; 2];
    };
    if first.is_ascii_alphanumeric() && last.is_ascii_alphanumeric() {
        [first, last]
    } else {
        // The hex form's first and last digits: high nibble of the first
        // byte, low nibble of the last.
        [HEX[usize::from(first >> 4)], HEX[usize::from(last & 0x0f)]]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ClientHello of the JA4 specification's example (FoxIO
    /// `technical_details/JA4.md`), with GREASE sprinkled in.
    fn spec_hello() -> ClientHello {
        ClientHello {
            record_version: 0x0301,
            legacy_version: 0x0303,
            sni: Some("example.com".into()),
            alpn: vec!["h2".into(), "http/1.1".into()],
            alpn_raw: vec![b"h2".to_vec(), b"http/1.1".to_vec()],
            supported_versions: vec![0x7a7a, 0x0304, 0x0303],
            cipher_suites: vec![
                0x2a2a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8,
                0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035,
            ],
            compression_methods: vec![0],
            extensions: vec![
                0x0a0a, 0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d, 0x0005,
                0x0023, 0x0012, 0x002b, 0xff01, 0x000b, 0x000a, 0x0015, 0xfafa,
            ],
            supported_groups: vec![0x3a3a, 0x001d, 0x0017, 0x0018],
            ec_point_formats: vec![0],
            signature_algorithms: vec![
                0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601,
            ],
            key_share_groups: vec![0x3a3a, 0x001d],
            ech: false,
        }
    }

    #[test]
    fn ja4_spec_example() {
        let j = ja4(&spec_hello(), Transport::Tcp);
        assert_eq!(j.fingerprint, "t13d1516h2_8daaf6152771_e5627efa2ab1");
        assert_eq!(
            j.raw,
            "t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,\
             cca8,cca9_0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,\
             ff01_0403,0804,0401,0503,0805,0501,0806,0601"
        );
        assert_eq!(j.to_string(), j.fingerprint);
        let q = ja4(&spec_hello(), Transport::Quic);
        assert_eq!(q.fingerprint, "q13d1516h2_8daaf6152771_e5627efa2ab1");
    }

    #[test]
    fn ja4_without_signature_algorithms_has_no_trailing_underscore() {
        // The specification's second vector: the extension list alone.
        let mut ch = spec_hello();
        ch.signature_algorithms.clear();
        let j = ja4(&ch, Transport::Tcp);
        assert_eq!(j.fingerprint, "t13d1516h2_8daaf6152771_6d807ffa2a79");
        assert!(j.raw.ends_with(",4469,ff01"));
        // GREASE alone counts as none.
        ch.signature_algorithms = vec![0x0a0a];
        assert_eq!(ja4(&ch, Transport::Tcp), j);
    }

    #[test]
    fn ja4_empty_lists_and_bare_hello() {
        let ch = ClientHello {
            legacy_version: 0x0303,
            ..ClientHello::default()
        };
        let j = ja4(&ch, Transport::Tcp);
        assert_eq!(j.fingerprint, "t12i000000_000000000000_000000000000");
        assert_eq!(j.raw, "t12i000000__");

        // Only SNI and ALPN: counted, but nothing left to hash.
        let ch = ClientHello {
            legacy_version: 0x0301,
            cipher_suites: vec![0x0a0a, 0x002f],
            extensions: vec![0, 16],
            sni: Some("a.example".into()),
            alpn: vec!["h2".into()],
            alpn_raw: vec![b"h2".to_vec()],
            ..ClientHello::default()
        };
        let j = ja4(&ch, Transport::Tcp);
        assert_eq!(j.raw, "t10d0102h2_002f_");
        assert!(j.fingerprint.ends_with("_000000000000"));
        // Signature algorithms without extensions still hash.
        let mut ch = ch;
        ch.extensions.push(13);
        ch.signature_algorithms = vec![0x0403];
        let j = ja4(&ch, Transport::Tcp);
        assert_eq!(j.raw, "t10d0103h2_002f_000d_0403");
    }

    #[test]
    fn ja4_version_rules() {
        let mut ch = ClientHello {
            legacy_version: 0x0303,
            ..ClientHello::default()
        };
        // Versions without the extension listed (a hand-built hello only)
        // are not trusted.
        ch.supported_versions = vec![0x0304];
        assert!(ja4(&ch, Transport::Tcp).fingerprint.starts_with("t12"));
        ch.extensions = vec![43];
        assert!(ja4(&ch, Transport::Tcp).fingerprint.starts_with("t13"));
        // The highest, not the first; GREASE ignored.
        ch.supported_versions = vec![0x0303, 0xfafa, 0x0304, 0x0302];
        assert!(ja4(&ch, Transport::Tcp).fingerprint.starts_with("t13"));
        // A draft version is the highest and unknown.
        ch.supported_versions = vec![0x7f1c, 0x0304, 0x0303];
        assert!(ja4(&ch, Transport::Tcp).fingerprint.starts_with("t00"));
        // Empty or GREASE-only: legacy_version.
        ch.supported_versions = vec![0x1a1a];
        assert!(ja4(&ch, Transport::Tcp).fingerprint.starts_with("t12"));
        for (v, code) in [
            (0x0301, "10"),
            (0x0302, "11"),
            (0x0300, "s3"),
            (0x0002, "s2"),
            (0x0200, "s2"),
            (0x0100, "s1"),
            (0xfeff, "d1"),
            (0xfefd, "d2"),
            (0xfefc, "d3"),
            (0x0305, "00"),
        ] {
            assert_eq!(version_code(v), code, "{v:#06x}");
        }
    }

    #[test]
    fn ja4_counts_cap_at_99() {
        let ch = ClientHello {
            legacy_version: 0x0303,
            cipher_suites: (1..200).collect(),
            extensions: (1..200).collect(),
            ..ClientHello::default()
        };
        assert!(
            ja4(&ch, Transport::Tcp)
                .fingerprint
                .starts_with("t12i999900_")
        );
    }

    #[test]
    fn alpn_characters_follow_the_spec() {
        // The specification's examples.
        assert_eq!(&alpn_chars(b"h2"), b"h2");
        assert_eq!(&alpn_chars(b"http/1.1"), b"h1");
        assert_eq!(&alpn_chars(b"h3-29"), b"h9");
        assert_eq!(&alpn_chars(b"b"), b"bb");
        assert_eq!(&alpn_chars(b""), b"00");
        assert_eq!(&alpn_chars(&[0xab]), b"ab");
        assert_eq!(&alpn_chars(&[0xab, 0xcd]), b"ad");
        assert_eq!(&alpn_chars(&[0x30, 0xab]), b"3b");
        assert_eq!(&alpn_chars(&[0x30, 0x31, 0xab, 0xcd]), b"3d");
        assert_eq!(&alpn_chars(&[0x30, 0xab, 0xcd, 0x31]), b"01");
        assert_eq!(&alpn_chars(b"/x"), b"28");
    }

    fn alpn_of(names: &[&[u8]]) -> String {
        let ch = ClientHello {
            legacy_version: 0x0303,
            alpn_raw: names.iter().map(|n| n.to_vec()).collect(),
            extensions: vec![16],
            ..ClientHello::default()
        };
        ja4(&ch, Transport::Tcp).fingerprint[8..10].to_owned()
    }

    #[test]
    fn alpn_from_raw_names() {
        assert_eq!(alpn_of(&[]), "00");
        assert_eq!(alpn_of(&[b"", b"h2"]), "00");
        assert_eq!(alpn_of(&[b"spdy/3", b"h2"]), "s3");
        // A control byte first: hex rule, 0x01 .. 0x62.
        assert_eq!(alpn_of(&[b"\x01ab"]), "02");
        assert_eq!(alpn_of(&[&[0x01, b'a', b'b']]), "02");
        assert_eq!(alpn_of(&[b"a\\"]), "6c");
        // Bytes that are not UTF-8 are kept as they were sent.
        assert_eq!(alpn_of(&[&[0xab]]), "ab");
        // GREASE identifiers (RFC 8701), UTF-8 or not, are skipped.
        assert_eq!(alpn_of(&[&[0x0a, 0x0a], b"h2"]), "h2");
        assert_eq!(alpn_of(&[&[0xfa, 0xfa], b"h2"]), "h2");
    }

    #[test]
    fn ja3_known_vector() {
        // Salesforce's example string and MD5 (ja3 README).
        let ch = ClientHello {
            legacy_version: 769,
            cipher_suites: vec![47, 53, 5, 10, 49161, 49162, 49171, 49172, 50, 56, 19, 4],
            extensions: vec![0, 10, 11],
            supported_groups: vec![23, 24, 25],
            ec_point_formats: vec![0],
            ..ClientHello::default()
        };
        let j = ja3(&ch);
        assert_eq!(
            j.string,
            "769,47-53-5-10-49161-49162-49171-49172-50-56-19-4,0-10-11,23-24-25,0"
        );
        assert_eq!(j.md5_hex, "ada70206e40642a3e4461f35503241d5");
        assert_eq!(j.to_string(), j.md5_hex);
    }

    #[test]
    fn ja3_drops_grease_and_keeps_empty_fields() {
        let j = ja3(&spec_hello());
        assert_eq!(
            j.string,
            "771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53,\
             27-0-51-16-17513-23-45-13-5-35-18-43-65281-11-10-21,29-23-24,0"
        );
        assert_eq!(j.md5_hex.len(), 32);
        let bare = ja3(&ClientHello {
            legacy_version: 0x0301,
            cipher_suites: vec![0x0a0a],
            ..ClientHello::default()
        });
        assert_eq!(bare.string, "769,,,,");
        // MD5 of "769,,,,".
        assert_eq!(bare.md5_hex, hex(&Md5::digest(b"769,,,,")));
    }

    #[test]
    fn ja3s_string() {
        let sh = ServerHello {
            legacy_version: 0x0303,
            selected_version: Some(0x0304),
            cipher_suite: 0x1301,
            extensions: vec![43, 51],
            ..ServerHello::default()
        };
        let j = ja3s(&sh);
        assert_eq!(j.string, "771,4865,43-51");
        let sh = ServerHello {
            legacy_version: 0x0303,
            cipher_suite: 0xc02f,
            extensions: vec![0xff01, 0x2a2a, 11],
            ..ServerHello::default()
        };
        assert_eq!(ja3s(&sh).string, "771,49199,65281-11");
        assert_eq!(ja3s(&ServerHello::default()).string, "0,0,");
    }

    #[test]
    fn numbers_print_as_fmt_would() {
        for v in [0u16, 7, 9, 10, 99, 100, 4865, 49195, 65535] {
            let mut s = String::new();
            push_u16(&mut s, v);
            assert_eq!(s, v.to_string());
        }
        assert_eq!(
            hex_list(&[0x002f, 0xc02b, 0xffff, 0]),
            "002f,c02b,ffff,0000"
        );
    }

    #[test]
    fn hash12_is_lowercase_prefix() {
        assert_eq!(hash12(""), EMPTY_HASH);
        assert_eq!(
            hash12("002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9"),
            "8daaf6152771"
        );
    }

    #[test]
    fn hostile_hellos_never_panic() {
        let mut s: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        let alphabet = ['\\', 'x', '0', 'a', 'f', '/', '\u{fffd}', '\u{e9}', 'h'];
        for _ in 0..2_000 {
            let n = (next() % 8) as usize;
            let name: String = (0..n)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            let ch = ClientHello {
                legacy_version: next() as u16,
                alpn_raw: vec![name.into_bytes()],
                supported_versions: (0..next() % 4).map(|_| next() as u16).collect(),
                cipher_suites: (0..next() % 150).map(|_| next() as u16).collect(),
                extensions: (0..next() % 150).map(|_| next() as u16).collect(),
                signature_algorithms: (0..next() % 5).map(|_| next() as u16).collect(),
                ..ClientHello::default()
            };
            let j = ja4(&ch, Transport::Quic);
            assert_eq!(j.fingerprint.len(), 36, "{j:?}");
            let _ = ja3(&ch);
        }
    }
}
