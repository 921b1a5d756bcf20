//! The forms in which apps send a known value: every [`Variant`] of every
//! value of a [`DeviceProfile`].
//!
//! A value first gets its *plain forms* (case, separators, national and
//! international phone formats). Each plain form is searched as is and
//! percent-encoded; the *primary* plain forms (those without display
//! separators: what code, not people, produces) are also encoded as hex,
//! base64 (standard and URL-safe, three alignments) and hashed with MD5,
//! SHA-1 and SHA-256 (hex and base64). The list is in `docs/DETECTORS.md`.

use std::collections::HashSet;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use md5::Digest as _;

use super::phone::{groupings, split_e164, trunk_for};
use super::profile::{Device, DeviceProfile};
use super::validate::{format_mac, parse_mac};
use super::{Encoding, IdKind};

/// Shortest base64 search key: shorter stable parts would match by chance
/// inside unrelated base64 text.
const MIN_BASE64_KEY: usize = 8;

/// How far a coordinate in the traffic may be from the profile's and still
/// count as the same place: ±0.005°, about 550 m of latitude.
pub(crate) const COORD_TOLERANCE: f64 = 0.005;

/// One searchable form of one known value.
#[derive(Clone, Debug, PartialEq)]
pub struct Variant {
    /// The kind of the value.
    pub kind: IdKind,
    /// The canonical value (as in the profile).
    pub value: String,
    /// The device the value belongs to.
    pub device: String,
    /// How the plain form was transformed into the pattern.
    pub encoding: Encoding,
    /// The plain form that was encoded (or the pattern itself when `Plain`).
    pub form: String,
    /// The bytes searched for (always ASCII, except free-form strings).
    pub pattern: String,
    /// A remark carried to matches (for example that a number is a
    /// contact's).
    pub note: Option<&'static str>,
    pub(crate) rule: Rule,
}

/// How a hit of a variant's pattern is verified and extended.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Rule {
    pub(crate) case: Case,
    pub(crate) edge: Edge,
    /// For base64 patterns: which edge characters were dropped because they
    /// depend on neighbouring bytes, so that the reported literal can take
    /// them back.
    pub(crate) b64: Option<B64Edges>,
}

/// Letter case of a hit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Case {
    /// Any case (hex, digits, addresses, text: case is not an encoding).
    Insensitive,
    /// Exactly (base64: case carries bits).
    Exact,
    /// Exactly, except the hex digits of `%XX` escapes.
    ExactOutsidePercent,
}

/// What the bytes around a hit must not be.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Edge {
    /// Anything (base64 keys are long and embedded by design).
    Free,
    /// No digit next to a digit at the pattern's edge.
    Digits,
    /// No hex digit next to a hex digit at the pattern's edge.
    Hex,
    /// No letter or digit next to one at the pattern's edge.
    Alnum,
    /// No address character next to the address.
    Email,
    /// The 14 digits of an IMEI without its check digit: followed by a
    /// non-digit, or by exactly two digits (an IMEISV).
    ImeiBody,
    /// The first digits of a coordinate: the whole number is read and
    /// compared with `target` (± [`COORD_TOLERANCE`]).
    Coordinate {
        /// Latitude (else longitude).
        lat: bool,
        /// The profile's coordinate.
        target: f64,
    },
}

/// Base64 edge characters left out of a pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct B64Edges {
    pub(crate) left: bool,
    pub(crate) right: bool,
    pub(crate) url_safe: bool,
}

/// A plain form before encoding.
struct Plain {
    text: String,
    /// Encoded and hashed too (no display separators).
    primary: bool,
    edge: Edge,
}

impl Plain {
    fn primary(text: impl Into<String>, edge: Edge) -> Plain {
        Plain {
            text: text.into(),
            primary: true,
            edge,
        }
    }
    fn display(text: impl Into<String>, edge: Edge) -> Plain {
        Plain {
            text: text.into(),
            primary: false,
            edge,
        }
    }
}

/// Every variant of every value of every device, in a fixed order (device,
/// key, value, plain form, encoding), without duplicates.
pub fn variants(profile: &DeviceProfile) -> Vec<Variant> {
    let mut g = Gen::default();
    for d in &profile.devices {
        device_variants(&mut g, d);
    }
    g.out
}

#[derive(Default)]
struct Gen {
    out: Vec<Variant>,
    seen: HashSet<(String, String, IdKind, String)>,
}

struct Value<'a> {
    device: &'a str,
    kind: IdKind,
    value: &'a str,
    note: Option<&'static str>,
}

impl Gen {
    fn push(&mut self, v: &Value<'_>, encoding: Encoding, form: &str, pattern: String, rule: Rule) {
        // A case-insensitive pattern equals all its case variants; an exact
        // one only itself.
        let folded = match rule.case {
            Case::Insensitive => pattern.to_ascii_lowercase(),
            Case::Exact | Case::ExactOutsidePercent => pattern.clone(),
        };
        let id = (folded, v.device.to_string(), v.kind, v.value.to_string());
        if pattern.is_empty() || !self.seen.insert(id) {
            return;
        }
        self.out.push(Variant {
            kind: v.kind,
            value: v.value.to_string(),
            device: v.device.to_string(),
            encoding,
            form: form.to_string(),
            pattern,
            note: v.note,
            rule,
        });
    }

    fn value(&mut self, v: &Value<'_>, forms: &[Plain]) {
        let plain = |edge| Rule {
            case: Case::Insensitive,
            edge,
            b64: None,
        };
        // Plain and URL forms first, so that on equal patterns the simplest
        // description wins.
        for f in forms {
            self.push(v, Encoding::Plain, &f.text, f.text.clone(), plain(f.edge));
        }
        for f in forms {
            let pct = percent_encode(&f.text, false);
            if pct != f.text {
                self.push(v, Encoding::Url, &f.text, pct, plain(f.edge));
            }
            if f.text.contains(' ') {
                let form = percent_encode(&f.text, true);
                self.push(v, Encoding::Url, &f.text, form, plain(f.edge));
            }
        }
        for f in forms.iter().filter(|f| f.primary) {
            self.push(
                v,
                Encoding::Hex,
                &f.text,
                hex(f.text.as_bytes()),
                plain(Edge::Hex),
            );
        }
        for f in forms.iter().filter(|f| f.primary) {
            self.base64(v, &f.text);
        }
        for f in forms.iter().filter(|f| f.primary) {
            let t = f.text.as_bytes();
            self.digest(v, &f.text, Encoding::Md5, &md5::Md5::digest(t));
            self.digest(v, &f.text, Encoding::Sha1, &sha1::Sha1::digest(t));
            self.digest(v, &f.text, Encoding::Sha256, &sha2::Sha256::digest(t));
        }
    }

    /// The three alignments of a form inside a longer base64 string, in
    /// both alphabets, plus the standard one with `+/` percent-escaped (as a
    /// query string carries it).
    fn base64(&mut self, v: &Value<'_>, form: &str) {
        for k in 0..3 {
            let Some((std, left, right)) = base64_stable(form.as_bytes(), k, false) else {
                continue;
            };
            let rule = |case, url_safe| Rule {
                case,
                edge: Edge::Free,
                b64: Some(B64Edges {
                    left,
                    right,
                    url_safe,
                }),
            };
            self.push(
                v,
                Encoding::Base64,
                form,
                std.clone(),
                rule(Case::Exact, false),
            );
            if let Some((url, _, _)) = base64_stable(form.as_bytes(), k, true)
                && url != std
            {
                self.push(v, Encoding::Base64url, form, url, rule(Case::Exact, true));
            }
            if std.contains(['+', '/']) {
                let pct = std.replace('+', "%2B").replace('/', "%2F");
                self.push(
                    v,
                    Encoding::Base64,
                    form,
                    pct,
                    rule(Case::ExactOutsidePercent, false),
                );
            }
        }
    }

    /// A digest as hex (either case: one case-insensitive pattern) and as
    /// base64 (both alphabets, and percent-escaped).
    fn digest(&mut self, v: &Value<'_>, form: &str, enc: Encoding, d: &[u8]) {
        let insensitive = Rule {
            case: Case::Insensitive,
            edge: Edge::Hex,
            b64: None,
        };
        self.push(v, enc, form, hex(d), insensitive);
        let edges = |url_safe| {
            Some(B64Edges {
                left: false,
                right: false,
                url_safe,
            })
        };
        let std = STANDARD.encode(d).trim_end_matches('=').to_string();
        let url = URL_SAFE.encode(d).trim_end_matches('=').to_string();
        let rule = Rule {
            case: Case::Exact,
            edge: Edge::Free,
            b64: edges(false),
        };
        self.push(v, enc, form, std.clone(), rule);
        if url != std {
            let rule = Rule {
                case: Case::Exact,
                edge: Edge::Free,
                b64: edges(true),
            };
            self.push(v, enc, form, url, rule);
        }
        if std.contains(['+', '/']) {
            let pct = std.replace('+', "%2B").replace('/', "%2F");
            let rule = Rule {
                case: Case::ExactOutsidePercent,
                edge: Edge::Free,
                b64: edges(false),
            };
            self.push(v, enc, form, pct, rule);
        }
    }
}

fn device_variants(g: &mut Gen, d: &Device) {
    fn val<'a>(
        d: &'a Device,
        kind: IdKind,
        value: &'a str,
        note: Option<&'static str>,
    ) -> Value<'a> {
        Value {
            device: d.name.as_str(),
            kind,
            value,
            note,
        }
    }
    for v in &d.imei {
        g.value(&val(d, IdKind::Imei, v, None), &imei_forms(v));
    }
    for v in &d.imsi {
        g.value(
            &val(d, IdKind::Imsi, v, None),
            &[Plain::primary(v.as_str(), Edge::Digits)],
        );
    }
    for v in &d.iccid {
        g.value(
            &val(d, IdKind::Iccid, v, None),
            &[Plain::primary(v.as_str(), Edge::Digits)],
        );
    }
    for v in &d.phone {
        g.value(&val(d, IdKind::Phone, v, None), &phone_forms(v));
    }
    for v in &d.contacts {
        let note = Some("a contact's phone number, not the device's own");
        g.value(&val(d, IdKind::Phone, v, note), &phone_forms(v));
    }
    for v in &d.mac {
        g.value(&val(d, IdKind::Mac, v, None), &mac_forms(v));
    }
    for v in &d.android_id {
        let forms = [
            Plain::primary(v.as_str(), Edge::Hex),
            Plain::primary(v.to_ascii_uppercase(), Edge::Hex),
        ];
        g.value(&val(d, IdKind::AndroidId, v, None), &forms);
    }
    for v in &d.ad_id {
        let bare = v.replace('-', "");
        let forms = [
            Plain::primary(v.as_str(), Edge::Hex),
            Plain::primary(v.to_ascii_uppercase(), Edge::Hex),
            Plain::display(bare.as_str(), Edge::Hex),
        ];
        g.value(&val(d, IdKind::AdId, v, None), &forms);
    }
    for v in &d.serial {
        let forms = [
            Plain::primary(v.as_str(), Edge::Alnum),
            Plain::primary(v.to_ascii_uppercase(), Edge::Alnum),
            Plain::primary(v.to_ascii_lowercase(), Edge::Alnum),
        ];
        g.value(&val(d, IdKind::Serial, v, None), &forms);
    }
    for v in &d.email {
        g.value(
            &val(d, IdKind::Email, v, None),
            &[Plain::primary(v.as_str(), Edge::Email)],
        );
    }
    for v in &d.strings {
        g.value(
            &val(d, IdKind::Custom, v, None),
            &[Plain::primary(v.as_str(), Edge::Alnum)],
        );
    }
    for &(lat, lon) in &d.location {
        let value = format!("{lat},{lon}");
        let v = val(d, IdKind::Location, &value, None);
        for (is_lat, target) in [(true, lat), (false, lon)] {
            for p in coordinate_prefixes(target) {
                let form = format!("{} {target}", if is_lat { "latitude" } else { "longitude" });
                let rule = Rule {
                    case: Case::Insensitive,
                    edge: Edge::Coordinate {
                        lat: is_lat,
                        target,
                    },
                    b64: None,
                };
                g.push(&v, Encoding::Plain, &form, p, rule);
            }
        }
    }
}

fn imei_forms(v: &str) -> Vec<Plain> {
    let mut forms = vec![Plain::primary(v, Edge::Digits)];
    if v.len() == 15 {
        forms.push(Plain::display(&v[..14], Edge::ImeiBody));
        // The grouping printed on boxes: AA-BBBBBB-CCCCCC-D.
        forms.push(Plain::display(
            format!("{}-{}-{}-{}", &v[..2], &v[2..8], &v[8..14], &v[14..]),
            Edge::Digits,
        ));
    }
    forms
}

/// A phone number in the formats of code (E.164 with and without `+`, `00`,
/// national with and without trunk prefix) and of people (grouped with
/// spaces or dashes, North American parentheses).
fn phone_forms(e164: &str) -> Vec<Plain> {
    let Some((cc, nsn)) = split_e164(e164) else {
        return vec![Plain::primary(e164, Edge::Digits)];
    };
    let trunk = trunk_for(cc);
    let mut forms = vec![
        Plain::primary(e164, Edge::Digits),
        Plain::primary(format!("{cc}{nsn}"), Edge::Digits),
        Plain::primary(format!("00{cc}{nsn}"), Edge::Digits),
        Plain::primary(nsn, Edge::Digits),
    ];
    if !trunk.is_empty() {
        forms.push(Plain::primary(format!("{trunk}{nsn}"), Edge::Digits));
    }
    let mut display = vec![format!("+{cc} {nsn}"), format!("+{cc}-{nsn}")];
    for g in groupings(nsn, cc) {
        for sep in [" ", "-"] {
            let joined = g.join(sep);
            display.push(format!("+{cc}{sep}{joined}"));
            display.push(joined.clone());
            if trunk == "0" {
                display.push(format!("0{joined}"));
            } else if !trunk.is_empty() {
                display.push(format!("{trunk}{sep}{joined}"));
            }
        }
    }
    if cc == "1" && nsn.len() == 10 {
        let (a, b, c) = (&nsn[..3], &nsn[3..6], &nsn[6..]);
        display.push(format!("({a}) {b}-{c}"));
        display.push(format!("({a}){b}-{c}"));
        display.push(format!("+1 ({a}) {b}-{c}"));
        display.push(format!("1 ({a}) {b}-{c}"));
        display.push(format!("{a}.{b}.{c}"));
    }
    forms.extend(display.into_iter().map(|t| Plain::display(t, Edge::Digits)));
    forms
}

fn mac_forms(v: &str) -> Vec<Plain> {
    let Some(m) = parse_mac(v) else {
        return vec![Plain::primary(v, Edge::Hex)];
    };
    let lower = format_mac(&m);
    let bare = lower.replace(':', "");
    let dash = lower.replace(':', "-");
    let dotted = format!("{}.{}.{}", &bare[..4], &bare[4..8], &bare[8..]);
    vec![
        Plain::primary(lower.as_str(), Edge::Hex),
        Plain::primary(lower.to_ascii_uppercase(), Edge::Hex),
        Plain::primary(bare.as_str(), Edge::Hex),
        Plain::primary(bare.to_ascii_uppercase(), Edge::Hex),
        Plain::primary(dash.as_str(), Edge::Hex),
        Plain::primary(dash.to_ascii_uppercase(), Edge::Hex),
        Plain::display(dotted, Edge::Hex),
    ]
}

/// The first characters (sign, whole degrees, two decimals) that any
/// rendering of a coordinate within the tolerance starts with.
fn coordinate_prefixes(x: f64) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for y in [x - COORD_TOLERANCE, x, x + COORD_TOLERANCE] {
        let s = format!("{y:.6}");
        let Some(dot) = s.find('.') else { continue };
        let p = s[..(dot + 3).min(s.len())].to_string();
        if !out.contains(&p) {
            out.push(p);
        }
    }
    out
}

/// Percent-encodes every byte outside RFC 3986's unreserved set, with
/// upper-case hex (matching is case-insensitive); `space_plus` writes spaces
/// as `+` (HTML forms).
pub(crate) fn percent_encode(s: &str, space_plus: bool) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else if b == b' ' && space_plus {
            out.push('+');
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// The characters of the base64 encoding of `form` that do not depend on its
/// neighbours when it starts `k` bytes (0–2) into a 3-byte group, and whether
/// a partly-dependent character was dropped on the left and on the right.
///
/// Output character `i` carries input bits `6i..6i+6`; the form occupies
/// bits `8k..8k+8n`, so exactly the characters from `ceil(8k/6)` to
/// `floor((8k+8n)/6)` are fixed by it.
pub(crate) fn base64_stable(form: &[u8], k: usize, url_safe: bool) -> Option<(String, bool, bool)> {
    let n = form.len();
    let mut input = vec![0u8; k];
    input.extend_from_slice(form);
    while !input.len().is_multiple_of(3) {
        input.push(0);
    }
    let enc = if url_safe {
        URL_SAFE.encode(&input)
    } else {
        STANDARD.encode(&input)
    };
    let first = (8 * k).div_ceil(6);
    let last = (8 * k + 8 * n) / 6;
    if last <= first || last - first < MIN_BASE64_KEY {
        return None;
    }
    let key = enc.get(first..last)?.to_string();
    Some((
        key,
        !(8 * k).is_multiple_of(6),
        !(8 * k + 8 * n).is_multiple_of(6),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(toml: &str) -> DeviceProfile {
        DeviceProfile::from_toml(toml).unwrap()
    }

    #[test]
    fn base64_stable_parts_are_substrings_at_every_alignment() {
        let value = b"865123456789019";
        for k in 0..3 {
            let (key, _, _) = base64_stable(value, k, false).unwrap();
            for prefix_len in [k, k + 3, k + 6] {
                for suffix in [&b""[..], b"x", b"xy", b"xyz"] {
                    let mut data: Vec<u8> = (0..prefix_len).map(|i| (i * 37 + 1) as u8).collect();
                    data.extend_from_slice(value);
                    data.extend_from_slice(suffix);
                    let enc = STANDARD.encode(&data);
                    assert!(
                        enc.contains(&key),
                        "k={k} prefix={prefix_len} {enc} !~ {key}"
                    );
                }
            }
        }
        // The standalone encoding at alignment 0 is the whole string.
        assert_eq!(
            base64_stable(value, 0, false).unwrap().0,
            STANDARD.encode(value)
        );
        assert_eq!(base64_stable(b"short", 0, false), None);
    }

    #[test]
    fn variant_list_for_an_imei() {
        let p = profile("[[device]]\nname = \"d\"\nimei = \"865123456789019\"\n");
        let vs = variants(&p);
        let has =
            |enc: Encoding, pat: &str| vs.iter().any(|v| v.encoding == enc && v.pattern == pat);
        assert!(has(Encoding::Plain, "865123456789019"));
        assert!(has(Encoding::Plain, "86512345678901"));
        assert!(has(Encoding::Plain, "86-512345-678901-9"));
        assert!(has(Encoding::Hex, "383635313233343536373839303139"));
        assert!(has(Encoding::Base64, "ODY1MTIzNDU2Nzg5MDE5"));
        assert!(has(
            Encoding::Md5,
            &hex(&md5::Md5::digest(b"865123456789019"))
        ));
        assert!(has(
            Encoding::Sha1,
            &hex(&sha1::Sha1::digest(b"865123456789019"))
        ));
        assert!(has(
            Encoding::Sha256,
            &hex(&sha2::Sha256::digest(b"865123456789019"))
        ));
        assert!(
            vs.iter()
                .all(|v| v.kind == IdKind::Imei && v.value == "865123456789019")
        );
        // No duplicate (pattern, identity).
        let mut seen = HashSet::new();
        for v in &vs {
            assert!(
                seen.insert((v.pattern.to_ascii_lowercase(), v.encoding)),
                "{}",
                v.pattern
            );
        }
    }

    #[test]
    fn phone_and_mac_forms() {
        let p = profile(
            "[[device]]\nname = \"d\"\nphone = \"+8613812345678\"\nmac = \"64:cc:2e:12:34:56\"\n",
        );
        let vs = variants(&p);
        let pats: HashSet<&str> = vs.iter().map(|v| v.pattern.as_str()).collect();
        for p in [
            "+8613812345678",
            "8613812345678",
            "008613812345678",
            "13812345678",
            "013812345678",
            "+86 138 1234 5678",
            "138-1234-5678",
            "%2B8613812345678",
            "%2B86%20138%201234%205678",
            "%2B86+138+1234+5678",
            "64:cc:2e:12:34:56",
            "64cc2e123456",
            "64-cc-2e-12-34-56",
            "64cc.2e12.3456",
            "64%3Acc%3A2e%3A12%3A34%3A56",
        ] {
            assert!(pats.contains(p), "missing {p}");
        }
        // Upper-case MAC forms are hashed separately (the digest differs)...
        let up = hex(&md5::Md5::digest(b"64:CC:2E:12:34:56"));
        assert!(pats.contains(up.as_str()));
        // ...but not searched separately (matching ignores case).
        assert!(!pats.contains("64:CC:2E:12:34:56"));
    }

    #[test]
    fn percent_encoding() {
        assert_eq!(percent_encode("+86 1", false), "%2B86%201");
        assert_eq!(percent_encode("+86 1", true), "%2B86+1");
        assert_eq!(percent_encode("a@b.c", false), "a%40b.c");
    }

    #[test]
    fn coordinate_prefix_set() {
        assert_eq!(coordinate_prefixes(39.9042), ["39.89", "39.90"]);
        assert_eq!(coordinate_prefixes(-33.8688), ["-33.87", "-33.86"]);
    }
}
