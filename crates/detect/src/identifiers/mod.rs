//! Device identifiers in payload bytes: IMEI, IMSI, phone numbers, MACs,
//! advertising IDs, e-mail addresses, coordinates.
//!
//! Two ways of finding them, run together by one [`Scanner`]:
//!
//! - **Known values** from a [`DeviceProfile`] (the device under test): every
//!   value is expanded into the forms apps actually send ([`Variant`]: case,
//!   separators, URL encoding, hex, base64 at the three alignments, MD5/SHA-1/
//!   SHA-256 digests) and all variants of all values of all devices go into
//!   one index (patterns looked up by their first 8 bytes), so the cost of a
//!   scan does not grow with the number of values.
//! - **Patterns** (no profile needed): regular expressions whose matches are
//!   validated (Luhn, reporting-body and MCC tables, MAC address bits) and
//!   graded by the key they are the value of ([`preceding_key`]).
//!
//! Every result is an [`IdentifierMatch`] that says what was found
//! ([`IdKind`], canonical value), how it appeared ([`Encoding`], the literal
//! bytes), why it is believed ([`Source`], [`Confidence`], the key) and where
//! (byte offsets in the scanned buffer). The caller undoes transfer and
//! content encodings and knows where the buffer came from; this module only
//! looks at bytes. Rules, confidence levels and known false positives are in
//! `docs/DETECTORS.md`.
//!
//! ```
//! use telltale_detect::identifiers::{DeviceProfile, IdKind, Scanner, Source};
//!
//! let profile = DeviceProfile::from_toml(
//!     r#"
//!     [[device]]
//!     name = "RedMi 1S"
//!     imei = ["865123456789019"]
//!     phone = ["+8613812345678"]
//!     "#,
//! )
//! .unwrap();
//! let scanner = Scanner::new(Some(&profile));
//! let found = scanner.scan(b"GET /log?tel=%2B8613812345678&x=1 HTTP/1.1");
//! assert_eq!(found.len(), 1);
//! assert_eq!(found[0].kind, IdKind::Phone);
//! assert_eq!(found[0].value, "+8613812345678");
//! assert_eq!(found[0].encoding.as_str(), "url");
//! assert_eq!(found[0].source, Source::Known);
//! assert_eq!(found[0].key.as_deref(), Some("tel"));
//! ```

mod keys;
mod patterns;
mod phone;
mod profile;
mod scanner;
mod shapes;
mod validate;
mod variants;

#[cfg(test)]
mod tests;

pub use keys::{normalize_key, preceding_key};
pub use profile::{Device, DeviceProfile, ProfileError};
pub use scanner::Scanner;
pub use validate::{imei_reporting_body_plausible, luhn_valid, mcc_assigned};
pub use variants::{Variant, variants};

/// What kind of identifier a match is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum IdKind {
    /// International Mobile Equipment Identity: 15 digits, Luhn check digit.
    Imei,
    /// IMEI with a 2-digit software version instead of the check digit.
    Imeisv,
    /// Mobile Equipment Identifier (CDMA): 14 hex digits, optional check.
    Meid,
    /// International Mobile Subscriber Identity: MCC, MNC, subscriber number.
    Imsi,
    /// SIM card serial number: 19–20 digits starting 89.
    Iccid,
    /// A phone number (the device's own or one of its contacts), E.164.
    Phone,
    /// A hardware (Wi-Fi, Bluetooth, Ethernet) address.
    Mac,
    /// Android's per-app-signing-key `Settings.Secure.ANDROID_ID`.
    AndroidId,
    /// An advertising ID (Google GAID/AAID, Apple IDFA, Huawei OAID...).
    AdId,
    /// An e-mail address.
    Email,
    /// A coordinate pair (latitude, longitude).
    Location,
    /// A hardware serial number from the profile.
    Serial,
    /// A free-form string from the profile.
    Custom,
}

impl IdKind {
    /// The name written in reports (`identifier.kind`).
    pub fn as_str(self) -> &'static str {
        match self {
            IdKind::Imei => "imei",
            IdKind::Imeisv => "imeisv",
            IdKind::Meid => "meid",
            IdKind::Imsi => "imsi",
            IdKind::Iccid => "iccid",
            IdKind::Phone => "phone",
            IdKind::Mac => "mac",
            IdKind::AndroidId => "android_id",
            IdKind::AdId => "ad_id",
            IdKind::Email => "email",
            IdKind::Location => "location",
            IdKind::Serial => "serial",
            IdKind::Custom => "custom",
        }
    }
}

/// The outermost transform between an identifier and the bytes that carried
/// it. Letter case is not an encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Encoding {
    /// As is (perhaps without separators or in another letter case).
    Plain,
    /// Percent-encoded (`%2B` for `+`, `%3A` for `:`, `%40` for `@`).
    Url,
    /// Standard base64 (also when its `+`, `/`, `=` were percent-escaped by
    /// a query string, which is container escaping, not another transform).
    Base64,
    /// URL-safe base64 (`-` and `_`).
    Base64url,
    /// Hex of the ASCII text.
    Hex,
    /// MD5 digest, as hex or base64.
    Md5,
    /// SHA-1 digest, as hex or base64.
    Sha1,
    /// SHA-256 digest, as hex or base64.
    Sha256,
}

impl Encoding {
    /// The name written in reports (`identifier.encoding`).
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Plain => "plain",
            Encoding::Url => "url",
            Encoding::Base64 => "base64",
            Encoding::Base64url => "base64url",
            Encoding::Hex => "hex",
            Encoding::Md5 => "md5",
            Encoding::Sha1 => "sha1",
            Encoding::Sha256 => "sha256",
        }
    }
}

/// Why a match was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    /// It is a variant of a value listed in the device profile.
    Known,
    /// It has the shape of an identifier and passed its validation.
    Pattern,
}

impl Source {
    /// The name written in reports (`identifier.source`).
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Known => "known",
            Source::Pattern => "pattern",
        }
    }
}

/// How strongly a match is believed to be the identifier it is reported as.
/// Ordered: `Low < Medium < High`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Confidence {
    /// The shape fits but nothing around it says so: worth a look, not a
    /// headline.
    Low,
    /// A strong shape (E.118 ICCID, colon MAC...) or a telling key with a
    /// weaker shape.
    Medium,
    /// A validated shape under a telling key, or a known value.
    High,
}

impl Confidence {
    /// The name written in reports (`identifier.confidence`).
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

// Serialised as their `as_str` names, the values EVE output writes.
macro_rules! serialize_as_str {
    ($($t:ty),*) => {$(
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    )*};
}
serialize_as_str!(IdKind, Encoding, Source, Confidence);

/// One identifier found in a scanned buffer.
#[derive(Clone, Debug, PartialEq)]
pub struct IdentifierMatch {
    /// What it is.
    pub kind: IdKind,
    /// The canonical identifier: IMEI digits, E.164 phone, lower-case colon
    /// MAC, lower-case UUID, lower-case e-mail, `lat,lon`. For a hashed or
    /// encoded known value, the value that was hashed or encoded.
    pub value: String,
    /// The literal bytes as they appeared (lossy UTF-8, control characters,
    /// backslashes and invalid bytes escaped).
    pub matched: String,
    /// The outermost transform.
    pub encoding: Encoding,
    /// Known value or pattern.
    pub source: Source,
    /// How strongly it is believed.
    pub confidence: Confidence,
    /// The profile device a known value belongs to.
    pub device: Option<String>,
    /// Byte offset of the first matched byte in the scanned buffer.
    pub start: usize,
    /// Byte offset one past the last matched byte.
    pub end: usize,
    /// The key the match is the value of (`imei` in `imei=…`, `X-Device-Id`
    /// in a header), as it appeared.
    pub key: Option<String>,
    /// For a known value: the plain form that was encoded or hashed (for
    /// example `+8613812345678` or `8613812345678`). Contains the identifier:
    /// redact it with `value`.
    pub form: Option<String>,
    /// Why the finding is graded as it is, where that needs saying (a Luhn
    /// check that failed, an opted-out advertising ID, a contact's number).
    pub note: Option<&'static str>,
}

/// How far apart, in bytes, a latitude and a longitude may be and still be
/// read as one coordinate pair.
pub(crate) const PAIR_DISTANCE: usize = 128;

/// The longitude to pair with the latitude at `lat`: the nearest unused
/// candidate within [`PAIR_DISTANCE`] bytes (gap between the spans), ties to
/// the earliest. `candidates` yields (index into `used`, span) for the
/// longitudes that may pair at all.
pub(crate) fn nearest_partner(
    lat: (usize, usize),
    candidates: impl Iterator<Item = (usize, (usize, usize))>,
    used: &[bool],
) -> Option<usize> {
    candidates
        .filter(|&(i, _)| !used.get(i).copied().unwrap_or(true))
        .map(|(i, (s, e))| {
            let gap = if s >= lat.1 {
                s - lat.1
            } else {
                lat.0.saturating_sub(e)
            };
            (i, gap)
        })
        .filter(|&(_, gap)| gap <= PAIR_DISTANCE)
        .min_by_key(|&(i, gap)| (gap, i))
        .map(|(i, _)| i)
}

/// Escapes the matched bytes for display: valid UTF-8 is kept, control
/// characters, backslashes and invalid bytes are escaped, so the literal is
/// both readable and exact.
pub(crate) fn escape_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                c if c.is_control() => out.extend(c.escape_default()),
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}
