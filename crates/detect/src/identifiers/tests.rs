//! Whole-scanner tests: known values in realistic HTTP messages, patterns
//! beside them, deduplication, scale, and hostile input.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use md5::Digest as _;

use super::variants::{hex, percent_encode};
use super::*;

const REDMI: &str = r#"
[[device]]
name = "RedMi 1S"
country = "CN"
imei = ["865123456789019"]
imsi = ["460011234567890"]
phone = ["+8613812345678"]
contacts = ["+8613900001111", "+8615012345678", "+8618611112222"]
mac = ["64:cc:2e:4a:7b:19"]
android_id = ["9f1c2b3a4d5e6f70"]
ad_id = ["6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"]
email = ["li.wei@example.cn"]
serial = ["a1b2c3d4e5"]
strings = ["Li Wei"]
location = [39.9042, 116.4074]
"#;

/// `rounds` texts made of `tokens` (the n-th of n % `longest` tokens drawn
/// by a fixed xorshift), so that matches, near misses and matches cut by a
/// range's edges all come up: for holding a hand-written finder or check to
/// the regex it stands for.
pub(super) fn token_texts(
    tokens: &'static [&'static [u8]],
    rounds: usize,
    longest: usize,
) -> impl Iterator<Item = Vec<u8>> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..rounds).map(move |round| {
        let mut t = Vec::new();
        for _ in 0..round % longest {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            t.extend_from_slice(tokens[(x >> 8) as usize % tokens.len()]);
        }
        t
    })
}

fn redmi() -> Scanner {
    Scanner::new(Some(&DeviceProfile::from_toml(REDMI).unwrap()))
}

/// The known matches of a buffer.
fn known(s: &Scanner, buf: &[u8]) -> Vec<IdentifierMatch> {
    s.scan(buf)
        .into_iter()
        .filter(|m| m.source == Source::Known)
        .collect()
}

/// Exactly one known match, of this kind and encoding, covering `literal`.
fn expect_one(s: &Scanner, buf: &[u8], kind: IdKind, enc: Encoding, literal: &str) {
    let found = known(s, buf);
    assert_eq!(
        found.len(),
        1,
        "{}: {found:#?}",
        String::from_utf8_lossy(buf)
    );
    let m = &found[0];
    assert_eq!((m.kind, m.encoding), (kind, enc), "{m:#?}");
    assert_eq!(m.matched, literal, "{m:#?}");
    assert_eq!(&buf[m.start..m.end], literal.as_bytes());
    assert_eq!(m.device.as_deref(), Some("RedMi 1S"));
    assert_eq!(m.confidence, Confidence::High);
}

#[test]
fn known_values_in_a_query_string() {
    let s = redmi();
    let req = b"GET /v1/events?v=2&imei=865123456789019&os=android HTTP/1.1\r\nHost: x\r\n\r\n";
    expect_one(&s, req, IdKind::Imei, Encoding::Plain, "865123456789019");
    let m = &known(&s, req)[0];
    assert_eq!(m.value, "865123456789019");
    assert_eq!(m.key.as_deref(), Some("imei"));
    let req = b"GET /c?msisdn=%2B8613812345678&mac=64%3ACC%3A2E%3A4A%3A7B%3A19 HTTP/1.1\r\n";
    let found = known(&s, req);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert_eq!(
        (found[0].kind, found[0].encoding),
        (IdKind::Phone, Encoding::Url)
    );
    assert_eq!(found[0].value, "+8613812345678");
    assert_eq!(
        (found[1].kind, found[1].encoding),
        (IdKind::Mac, Encoding::Url)
    );
    assert_eq!(found[1].value, "64:cc:2e:4a:7b:19");
    assert_eq!(found[1].key.as_deref(), Some("mac"));
}

#[test]
fn known_values_in_json_and_forms() {
    let s = redmi();
    let body =
        br#"{"event":"app_open","dev":{"imsi":"460011234567890","wifi":"64:CC:2E:4A:7B:19"}}"#;
    let found = known(&s, body);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert_eq!(found[0].kind, IdKind::Imsi);
    assert_eq!(found[1].kind, IdKind::Mac);
    assert_eq!(found[1].matched, "64:CC:2E:4A:7B:19");
    let form = b"event=ping&n=3&phone=138-1234-5678&aid=9F1C2B3A4D5E6F70";
    let found = known(&s, form);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert_eq!(
        (found[0].kind, found[0].value.as_str()),
        (IdKind::Phone, "+8613812345678")
    );
    assert_eq!(found[0].form.as_deref(), Some("138-1234-5678"));
    assert_eq!(found[1].kind, IdKind::AndroidId);
    // The national number alone, spaced E.164, 00-prefixed.
    expect_one(
        &s,
        b"tel=13812345678;",
        IdKind::Phone,
        Encoding::Plain,
        "13812345678",
    );
    expect_one(
        &s,
        b"{\"p\":\"+86 138 1234 5678\"}",
        IdKind::Phone,
        Encoding::Plain,
        "+86 138 1234 5678",
    );
    expect_one(
        &s,
        b"p=008613812345678&",
        IdKind::Phone,
        Encoding::Plain,
        "008613812345678",
    );
    expect_one(
        &s,
        b"p=%2B86+138+1234+5678&",
        IdKind::Phone,
        Encoding::Url,
        "%2B86+138+1234+5678",
    );
    // E-mail, serial, free-form string, ad ID without dashes.
    expect_one(
        &s,
        b"u=Li.Wei%40Example.cn&",
        IdKind::Email,
        Encoding::Url,
        "Li.Wei%40Example.cn",
    );
    expect_one(
        &s,
        b"{\"sn\":\"A1B2C3D4E5\"}",
        IdKind::Serial,
        Encoding::Plain,
        "A1B2C3D4E5",
    );
    expect_one(
        &s,
        b"name=li wei!",
        IdKind::Custom,
        Encoding::Plain,
        "li wei",
    );
    expect_one(
        &s,
        b"ifa=6F1E2D3C4B5A49788695A4B3C2D1E0F9&",
        IdKind::AdId,
        Encoding::Plain,
        "6F1E2D3C4B5A49788695A4B3C2D1E0F9",
    );
}

#[test]
fn contacts_are_noted_and_attributed() {
    let s = redmi();
    let body = br#"{"contacts":["+8613900001111","+8615012345678","+8618611112222"]}"#;
    let found = known(&s, body);
    assert_eq!(found.len(), 3, "{found:#?}");
    for m in &found {
        assert_eq!(m.kind, IdKind::Phone);
        assert!(m.note.is_some_and(|n| n.contains("contact")));
    }
    assert_eq!(found[0].key.as_deref(), Some("contacts"));
}

#[test]
fn encoded_and_hashed_forms() {
    let s = redmi();
    let imei = "865123456789019";
    // Hex of the ASCII.
    let h = hex(imei.as_bytes());
    expect_one(
        &s,
        format!("d={h}&").as_bytes(),
        IdKind::Imei,
        Encoding::Hex,
        &h,
    );
    // MD5 lower-case hex, SHA-1 upper-case hex.
    let md5 = hex(&md5::Md5::digest(imei.as_bytes()));
    expect_one(
        &s,
        format!("{{\"did\":\"{md5}\"}}").as_bytes(),
        IdKind::Imei,
        Encoding::Md5,
        &md5,
    );
    let sha1 = hex(&sha1::Sha1::digest(b"+8613812345678")).to_uppercase();
    let buf = format!("X-Msisdn-Hash: {sha1}\r\n");
    expect_one(&s, buf.as_bytes(), IdKind::Phone, Encoding::Sha1, &sha1);
    let m = &known(&s, buf.as_bytes())[0];
    assert_eq!(m.value, "+8613812345678");
    assert_eq!(m.form.as_deref(), Some("+8613812345678"));
    // SHA-256 of the national number, as base64 with its padding.
    let b64 = STANDARD.encode(sha2::Sha256::digest(b"13812345678"));
    expect_one(
        &s,
        format!("h={b64};").as_bytes(),
        IdKind::Phone,
        Encoding::Sha256,
        &b64,
    );
    // MD5 of the upper-case MAC, URL-safe base64 without padding.
    let b64u = URL_SAFE_NO_PAD.encode(md5::Md5::digest(b"64:CC:2E:4A:7B:19"));
    expect_one(
        &s,
        format!("m={b64u}&").as_bytes(),
        IdKind::Mac,
        Encoding::Md5,
        &b64u,
    );
    // SHA-256 of the e-mail address, hex.
    let e = hex(&sha2::Sha256::digest(b"li.wei@example.cn"));
    expect_one(
        &s,
        format!("em={e}").as_bytes(),
        IdKind::Email,
        Encoding::Sha256,
        &e,
    );
}

#[test]
fn base64_standalone_and_percent_escaped() {
    let s = redmi();
    // As make_corpus plants it: the whole value base64-encoded, in JSON.
    let b = STANDARD.encode("+8613812345678");
    expect_one(
        &s,
        format!("{{\"msisdn\":\"{b}\"}}").as_bytes(),
        IdKind::Phone,
        Encoding::Base64,
        &b,
    );
    // ...and in a query string, where `+`, `/` and `=` are percent-escaped.
    for value in [
        "6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9",
        "64:cc:2e:4a:7b:19",
        "+8613812345678",
    ] {
        let b = STANDARD.encode(value);
        let q = percent_encode(&b, false);
        let buf = format!("GET /x?id={q}&x=1");
        let found = known(&s, buf.as_bytes());
        assert_eq!(found.len(), 1, "{buf}: {found:#?}");
        assert_eq!(found[0].encoding, Encoding::Base64);
        assert_eq!(found[0].matched, q, "{buf}");
    }
    // Digest base64 with `+` or `/`, percent-escaped: try values until the
    // digest has one, so the test does not depend on luck.
    let d = sha2::Sha256::digest(b"865123456789019");
    let b = STANDARD.encode(d);
    let q = percent_encode(&b, false);
    let found = known(&s, format!("k={q}&").as_bytes());
    assert_eq!(found.len(), 1, "{q}: {found:#?}");
    assert_eq!(found[0].encoding, Encoding::Sha256);
}

#[test]
fn base64_inside_a_longer_string_at_three_alignments() {
    let s = redmi();
    for value in [
        "865123456789019",
        "+8613812345678",
        "64:cc:2e:4a:7b:19",
        "li.wei@example.cn",
    ] {
        for prefix in 0..6usize {
            for suffix in 0..3usize {
                let mut data: Vec<u8> = (0..prefix).map(|i| (i * 89 + 7) as u8).collect();
                data.extend_from_slice(value.as_bytes());
                data.extend((0..suffix).map(|i| (i * 53 + 200) as u8));
                for url in [false, true] {
                    let enc = if url {
                        URL_SAFE_NO_PAD.encode(&data)
                    } else {
                        STANDARD.encode(&data)
                    };
                    let buf = format!("{{\"payload\":\"{enc}\"}}");
                    let found = known(&s, buf.as_bytes());
                    assert_eq!(
                        found.len(),
                        1,
                        "{value} p{prefix} s{suffix} {buf}: {found:#?}"
                    );
                    let m = &found[0];
                    assert!(matches!(m.encoding, Encoding::Base64 | Encoding::Base64url));
                    assert!(
                        url || m.encoding == Encoding::Base64,
                        "standard alphabet reported as {:?}",
                        m.encoding
                    );
                    // The literal lies inside the encoded string.
                    assert!(enc.contains(&m.matched), "{} !< {enc}", m.matched);
                }
            }
        }
    }
}

#[test]
fn no_known_match_inside_longer_digit_or_hex_runs() {
    let s = redmi();
    for buf in [
        &b"id=1865123456789019"[..],
        b"id=86512345678901912",
        b"n=98613812345678",
        b"n=861381234567890",
        b"h=a9f1c2b3a4d5e6f70",
        b"h=9f1c2b3a4d5e6f70b",
        b"x=113812345678",
    ] {
        assert!(
            known(&s, buf).is_empty(),
            "{}",
            String::from_utf8_lossy(buf)
        );
    }
}

#[test]
fn imei_without_check_digit_and_as_imeisv() {
    let s = redmi();
    let found = known(&s, b"imei=86512345678901&x");
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(
        (found[0].kind, found[0].value.as_str()),
        (IdKind::Imei, "865123456789019")
    );
    let found = known(&s, b"imeisv=8651234567890105&x");
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(
        (found[0].kind, found[0].value.as_str()),
        (IdKind::Imeisv, "8651234567890105")
    );
}

#[test]
fn known_location_pairs() {
    let s = redmi();
    let found = known(&s, b"GET /w?lat=39.90436&lon=116.40751&units=metric");
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(
        (found[0].kind, found[0].value.as_str()),
        (IdKind::Location, "39.9042,116.4074")
    );
    assert_eq!(found[0].matched, "39.90436&lon=116.40751");
    // Too far, too imprecise, or alone: nothing.
    assert!(known(&s, b"lat=39.95436&lon=116.40751").is_empty());
    assert!(known(&s, b"lat=39.90&lon=116.41").is_empty());
    assert!(known(&s, b"lat=39.90436&x=1").is_empty());
    assert!(known(&s, b"lat=-39.90436&lon=116.40751").is_empty());
}

#[test]
fn known_beats_pattern_on_the_same_bytes() {
    let s = redmi();
    let buf = b"imei=865123456789019&imei2=490154203237518";
    let found = s.scan(buf);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert_eq!(
        (found[0].source, found[0].kind),
        (Source::Known, IdKind::Imei)
    );
    assert_eq!(
        (found[1].source, found[1].kind),
        (Source::Pattern, IdKind::Imei)
    );
    assert_eq!(found[1].confidence, Confidence::High);
    assert!(found[1].device.is_none());
    // Without a profile both are pattern matches.
    let found = Scanner::new(None).scan(buf);
    assert_eq!(found.len(), 2);
    assert!(found.iter().all(|m| m.source == Source::Pattern));
}

#[test]
fn overlapping_variants_keep_the_longest() {
    let s = redmi();
    // `+8613812345678` contains the variant `8613812345678`, whose edges
    // pass (`+` is not a digit): the longer hit of the same value is kept.
    let found = known(&s, b"tel=+8613812345678;");
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].matched, "+8613812345678");
    // Two devices listing the same contact: one match per device.
    let p = DeviceProfile::from_toml(
        "[[device]]\nname = \"a\"\ncontacts = \"+8613900001111\"\n\
         [[device]]\nname = \"b\"\ncontacts = \"+8613900001111\"\n",
    )
    .unwrap();
    let found = Scanner::new(Some(&p)).scan(b"c=+8613900001111;");
    let devices: Vec<_> = found.iter().filter_map(|m| m.device.as_deref()).collect();
    assert_eq!(devices, ["a", "b"]);
}

/// A request shaped like make_corpus.py's: identifiers under its keys, in
/// its encodings, beside its decoys.
#[test]
fn corpus_shaped_request() {
    let imei = "353325101234569";
    assert!(luhn_valid(imei.as_bytes()));
    let profile = DeviceProfile::from_toml(&format!(
        "[[device]]\nname = \"0\"\nimei = \"{imei}\"\nimsi = \"262011234567890\"\n\
         phone = \"+4915112345678\"\nmac = \"3c:a6:f6:12:34:56\"\n\
         ad_id = \"6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9\"\n"
    ))
    .unwrap();
    let md5_imsi = hex(&md5::Md5::digest(b"262011234567890"));
    let b64_ad = percent_encode(
        &STANDARD.encode("6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"),
        false,
    );
    let req = format!(
        "GET /sdk/track?v=2&app=fitlife&os=android&lang=en_US&order_id=123456789012344\
         &ts=1710406800123&request_id=0b3d2f7e-8a41-4c1e-9d2a-5f6e7a8b9c0d\
         &session=9a8b7c6d5e4f30211203f4e5d6c7b8a9&msisdn=%2B4915112345678\
         &sim_id={md5_imsi}&ifa={b64_ad} HTTP/1.1\r\n\
         Host: track.sdk-analytics.example.org\r\nUser-Agent: Dalvik/2.1.0\r\n\
         X-Device-Id: {imei}\r\nX-Wifi-Mac: 3C:A6:F6:12:34:56\r\n\
         Cookie: gaid=6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9\r\n\r\n"
    );
    let s = Scanner::new(Some(&profile));
    let found = s.scan(req.as_bytes());
    let got: Vec<(IdKind, Encoding, Source)> = found
        .iter()
        .map(|m| (m.kind, m.encoding, m.source))
        .collect();
    assert_eq!(
        got,
        [
            (IdKind::Phone, Encoding::Url, Source::Known),
            (IdKind::Imsi, Encoding::Md5, Source::Known),
            (IdKind::AdId, Encoding::Base64, Source::Known),
            (IdKind::Imei, Encoding::Plain, Source::Known),
            (IdKind::Mac, Encoding::Plain, Source::Known),
            (IdKind::AdId, Encoding::Plain, Source::Known),
        ],
        "{found:#?}"
    );
    // Without the profile, the plain and URL-encoded ones are found by
    // pattern at high confidence, and no decoy is reported.
    let found = Scanner::new(None).scan(req.as_bytes());
    let got: Vec<(IdKind, Confidence, Option<&str>)> = found
        .iter()
        .map(|m| (m.kind, m.confidence, m.key.as_deref()))
        .collect();
    assert_eq!(
        got,
        [
            (IdKind::Phone, Confidence::High, Some("msisdn")),
            (IdKind::Imei, Confidence::High, Some("X-Device-Id")),
            (IdKind::Mac, Confidence::High, Some("X-Wifi-Mac")),
            (IdKind::AdId, Confidence::High, Some("gaid")),
        ],
        "{found:#?}"
    );
}

#[test]
fn the_redmi_example_profile_builds() {
    let text = include_str!("../../../../docs/device-profile.example.toml");
    let p = DeviceProfile::from_toml(text).unwrap();
    let s = Scanner::new(Some(&p));
    assert!(s.build_error().is_none());
    let found =
        s.scan(b"POST /api HTTP/1.1\r\n\r\n{\"imei\":\"865123456789019\",\"tel\":\"13812345678\"}");
    let kinds: Vec<IdKind> = found.iter().map(|m| m.kind).collect();
    assert_eq!(kinds, [IdKind::Imei, IdKind::Phone]);
}

/// Fixed-seed xorshift64*, so the "random" tests are reproducible.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn a_thousand_values_build_one_automaton() {
    let mut r = XorShift(0x5eed_1000);
    let mut imeis = Vec::new();
    while imeis.len() < 1000 {
        let body: String = (0..14)
            .map(|i| {
                if i < 2 {
                    char::from(b"35"[i])
                } else {
                    char::from(b'0' + r.below(10) as u8)
                }
            })
            .collect();
        let check = validate_check_digit(&body);
        let imei = format!("{body}{check}");
        if !imeis.contains(&imei) {
            imeis.push(imei);
        }
    }
    let list = imeis
        .iter()
        .map(|i| format!("\"{i}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let p = DeviceProfile::from_toml(&format!("[[device]]\nname = \"many\"\nimei = [{list}]\n"))
        .unwrap();
    assert_eq!(p.value_count(), 1000);
    let s = Scanner::new(Some(&p));
    assert!(s.build_error().is_none());
    let per_value = Scanner::new(Some(
        &DeviceProfile::from_toml(&format!(
            "[[device]]\nname = \"one\"\nimei = \"{}\"\n",
            imeis[0]
        ))
        .unwrap(),
    ))
    .pattern_count();
    assert!(per_value >= 15, "{per_value} patterns for one IMEI");
    // One automaton holding every variant of every value.
    assert_eq!(s.pattern_count(), s.variants().len());
    assert!(s.pattern_count() >= 1000 * 15, "{}", s.pattern_count());
    let needle = &imeis[777];
    let found = s.scan(format!("imei={needle}&").as_bytes());
    assert_eq!(found.len(), 1);
    assert_eq!(&found[0].value, needle);
}

fn validate_check_digit(body: &str) -> char {
    char::from(validate::luhn_check_digit(body.as_bytes()).unwrap_or(b'0'))
}

#[test]
fn no_high_confidence_match_on_random_digits() {
    let mut r = XorShift(0xd1_6175);
    let seps = [b' ', b',', b'\n', b'.', b'-', b'/', b'|'];
    let mut buf = Vec::new();
    for _ in 0..20_000 {
        let n = 1 + r.below(24) as usize;
        for _ in 0..n {
            buf.push(b'0' + r.below(10) as u8);
        }
        buf.push(seps[r.below(seps.len() as u64) as usize]);
    }
    let found = Scanner::new(None).scan(&buf);
    let high: Vec<_> = found
        .iter()
        .filter(|m| m.confidence >= Confidence::Medium)
        .collect();
    // ICCIDs (89…, Luhn, 19–20 digits) are Medium even bare; random digits
    // make about one run of that length in 1,000 one. Nothing may be High.
    assert!(
        high.iter()
            .all(|m| m.confidence == Confidence::Medium && m.kind == IdKind::Iccid),
        "{high:#?}"
    );
    assert!(
        found
            .iter()
            .any(|m| m.kind == IdKind::Imei && m.confidence == Confidence::Low)
    );
}

#[test]
fn garbage_never_panics() {
    let s = redmi();
    let mut r = XorShift(0x0bad_5eed);
    // Bytes drawn mostly from the characters the detectors care about.
    let alphabet: &[u8] =
        b"0123456789abcdefABCDEF:-.=%&\"'<>[]{}\n\r +/@_xXimeiIMEIlatonLATON2B3A40";
    for round in 0..300 {
        let len = r.below(2048) as usize;
        let buf: Vec<u8> = (0..len)
            .map(|_| {
                if r.below(8) == 0 {
                    r.next() as u8
                } else {
                    alphabet[r.below(alphabet.len() as u64) as usize]
                }
            })
            .collect();
        let found = s.scan(&buf);
        for w in found.windows(2) {
            assert!(w[0].start <= w[1].start, "round {round}: unsorted");
        }
        for m in &found {
            assert!(
                m.start <= m.end && m.end <= buf.len(),
                "round {round}: {m:#?}"
            );
            let _ = preceding_key(&buf, m.start);
        }
        for i in [0, len / 2, len] {
            let _ = preceding_key(&buf, i);
        }
    }
    // Edge cases: empty, lone delimiters, a buffer of one repeated value.
    assert!(s.scan(b"").is_empty());
    for buf in [&b"%"[..], b"=", b"%2", b"+", b"geo:", b"@", b"\xff\xfe"] {
        let _ = s.scan(buf);
    }
    let many = "865123456789019,".repeat(2000);
    let found = s.scan(many.as_bytes());
    assert_eq!(found.len(), 2000);
}

#[test]
fn escaping_the_literal() {
    assert_eq!(escape_bytes(b"a\\b\n\xff\xc3\xa9"), "a\\\\b\\n\\xff\u{e9}");
}

#[test]
fn names_are_as_listed() {
    let kinds = [
        (IdKind::Imei, "imei"),
        (IdKind::Imeisv, "imeisv"),
        (IdKind::Meid, "meid"),
        (IdKind::Imsi, "imsi"),
        (IdKind::Iccid, "iccid"),
        (IdKind::Phone, "phone"),
        (IdKind::Mac, "mac"),
        (IdKind::AndroidId, "android_id"),
        (IdKind::AdId, "ad_id"),
        (IdKind::Email, "email"),
        (IdKind::Location, "location"),
        (IdKind::Serial, "serial"),
        (IdKind::Custom, "custom"),
    ];
    for (k, s) in kinds {
        assert_eq!(k.as_str(), s);
    }
    let encs = [
        (Encoding::Plain, "plain"),
        (Encoding::Url, "url"),
        (Encoding::Base64, "base64"),
        (Encoding::Base64url, "base64url"),
        (Encoding::Hex, "hex"),
        (Encoding::Md5, "md5"),
        (Encoding::Sha1, "sha1"),
        (Encoding::Sha256, "sha256"),
    ];
    for (e, s) in encs {
        assert_eq!(e.as_str(), s);
    }
    assert_eq!(Source::Known.as_str(), "known");
    assert_eq!(Confidence::Medium.as_str(), "medium");
}

/// Rough throughput of the whole scanner with 1 and with 1,000 known values
/// (mixed kinds) on synthetic HTTP traffic. Not a benchmark (the criterion
/// bench is the reference); run with
/// `cargo test --release -p telltale-detect throughput -- --ignored --nocapture`.
#[test]
#[ignore = "timing, release mode only"]
fn throughput_with_1_and_1000_values() {
    let mut r = XorShift(0x7417_7a1e);
    // Two mixes of the same HTTP exchanges: followed by up to 4 kB of binary
    // (text-heavy: base64 and hex make up most bytes), or by up to 30 kB (as
    // when image responses dominate, as in make_corpus captures).
    let mut mixes = Vec::new();
    for binary_max in [4_000, 30_000] {
        let mut buf = Vec::new();
        while buf.len() < 8 << 20 {
            let blob: Vec<u8> = (0..r.below(3000)).map(|_| r.next() as u8).collect();
            let cfg: Vec<u8> = (0..r.below(900)).map(|_| r.next() as u8).collect();
            buf.extend_from_slice(
                format!(
                    "POST /v1/events?v=2&app=fitlife&os=android&lang=en_US&ts={} HTTP/1.1\r\n\
                     Host: api.example.com\r\nUser-Agent: Dalvik/2.1.0 (Linux; U; Android 14)\r\n\
                     Content-Type: application/json\r\n\r\n\
                     {{\"event\":\"app_open\",\"sdk\":\"3.12.4\",\"model\":\"Pixel 7\",\
                     \"payload\":\"{}\"}}\r\n\
                     HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n\
                     {{\"status\":\"ok\",\"config\":\"{}\"}}\r\n",
                    1_710_406_800_000u64 + r.below(1 << 30),
                    STANDARD.encode(&blob),
                    hex(&cfg)
                )
                .as_bytes(),
            );
            let bin: Vec<u8> = (0..r.below(binary_max)).map(|_| r.next() as u8).collect();
            buf.extend_from_slice(&bin);
        }
        mixes.push((binary_max, buf));
    }
    let digits = |r: &mut XorShift, n: usize| -> String {
        (0..n)
            .map(|_| char::from(b'0' + r.below(10) as u8))
            .collect()
    };
    let mut lines = vec!["[[device]]".to_string(), "name = \"many\"".to_string()];
    let (mut imeis, mut phones, mut macs, mut ads, mut emails) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..200 {
        let body = format!("35{}", digits(&mut r, 12));
        imeis.push(format!("\"{body}{}\"", validate_check_digit(&body)));
        phones.push(format!("\"+4915{}\"", digits(&mut r, 9)));
        macs.push(format!(
            "\"3c:a6:f6:{:02x}:{:02x}:{:02x}\"",
            r.below(256),
            r.below(256),
            r.below(256)
        ));
        ads.push(format!(
            "\"{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}\"",
            r.below(1 << 32),
            r.below(1 << 16),
            r.below(1 << 12),
            r.below(1 << 12),
            r.below(1 << 48)
        ));
        emails.push(format!("\"user{}@example.com\"", r.below(1_000_000)));
    }
    for (k, v) in [
        ("imei", imeis),
        ("phone", phones),
        ("mac", macs),
        ("ad_id", ads),
        ("email", emails),
    ] {
        lines.push(format!("{k} = [{}]", v.join(", ")));
    }
    let many = DeviceProfile::from_toml(&lines.join("\n")).unwrap();
    let one = DeviceProfile::from_toml(REDMI.split("imsi").next().unwrap_or(REDMI)).unwrap();
    for (binary_max, buf) in &mixes {
        for (name, p) in [
            ("none", None),
            ("1 value", Some(&one)),
            ("1,000 values", Some(&many)),
        ] {
            let t = std::time::Instant::now();
            let s = Scanner::new(p);
            let build = t.elapsed();
            let t = std::time::Instant::now();
            let mut n = 0;
            for chunk in buf.chunks(64 * 1024) {
                n += s.scan(chunk).len();
            }
            let secs = t.elapsed().as_secs_f64();
            println!(
                "binary up to {binary_max} B: {name:>13}: {} patterns, built in {build:?}, \
                 {:.0} MB/s, {n} matches",
                s.pattern_count(),
                buf.len() as f64 / secs / 1e6
            );
        }
    }
}
