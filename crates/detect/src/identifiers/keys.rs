//! The key a value belongs to: `imei` in `imei=…`, `"imei": "…"`,
//! `imei: …`, `<imei>…</imei>`, and what that key tells about the value.

/// How far back from a match a key is looked for. Long enough for a JSON key
/// with spaces, a PHP-style `device[imei]=`, or a multipart part header.
const WINDOW: usize = 160;
/// Longest key we accept: keys are names, not data.
const KEY_MAX: usize = 64;
/// How much of a value may precede the match inside it (`android-` in a
/// client id, `tel:` before a number).
const VALUE_PREFIX_MAX: usize = 24;

/// The key whose value contains the match that starts at `start`, as it
/// appeared (for example `X-Device-Id`, `imei`, `deviceId`), or `None`.
///
/// Recognised forms, within a few bytes before the match: `key=value`
/// (query strings, forms, cookies, PHP `a[key]=value`), `"key": "value"` and
/// `'key': value` (JSON, also with escaped quotes or as the first element of
/// an array), `key: value` (headers, YAML), `<key>value` (XML), a multipart
/// part whose header says `name="key"`, and the URL-encoded delimiters `%3D`,
/// `%3A`, `%22`. The match may also sit a few characters into its value
/// (`did=android-<imei>`). Keys are ASCII `[A-Za-z0-9_.$:-]`, at most 64
/// bytes, with at least one letter.
pub fn preceding_key(buf: &[u8], start: usize) -> Option<&str> {
    let start = start.min(buf.len());
    let lo = start.saturating_sub(WINDOW);
    if let Some(k) = key_before_value(buf, lo, start) {
        return Some(k);
    }
    // The match may sit inside a longer value.
    let mut j = start;
    while j > lo && start - j < VALUE_PREFIX_MAX && is_value_prefix_char(buf[j - 1]) {
        j -= 1;
    }
    if j < start {
        key_before_value(buf, lo, j)
    } else {
        None
    }
}

/// A key reduced for comparison: ASCII letters and digits only, lower case
/// (`Device_ID`, `device-id` and `deviceId` all become `deviceid`).
pub fn normalize_key(key: &str) -> String {
    key.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

fn is_value_prefix_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'+')
}

fn is_key_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'$' | b':')
}

/// Steps back over one quote (`"`, `'`, `\"`, `%22`) if there is one.
fn skip_quote(buf: &[u8], lo: usize, mut j: usize) -> usize {
    if j > lo && matches!(buf[j - 1], b'"' | b'\'') {
        j -= 1;
        if j > lo && buf[j - 1] == b'\\' {
            j -= 1;
        }
    } else if j >= lo + 3 && buf[j - 3..j].eq_ignore_ascii_case(b"%22") {
        j -= 3;
    }
    j
}

fn skip_ws(buf: &[u8], lo: usize, mut j: usize) -> usize {
    let mut n = 0;
    while j > lo && n < 8 && matches!(buf[j - 1], b' ' | b'\t') {
        j -= 1;
        n += 1;
    }
    j
}

fn key_before_value(buf: &[u8], lo: usize, j: usize) -> Option<&str> {
    let mut j = skip_quote(buf, lo, j);
    if j > lo && buf[j - 1] == b'[' {
        j -= 1;
    }
    j = skip_ws(buf, lo, j);
    if j == lo {
        return None;
    }
    match buf[j - 1] {
        b'=' | b':' => token_before(buf, lo, j - 1),
        b'>' => xml_tag(buf, lo, j - 1),
        b'\n' => multipart_name(buf, lo, j),
        _ if j >= lo + 3
            && (buf[j - 3..j].eq_ignore_ascii_case(b"%3D")
                || buf[j - 3..j].eq_ignore_ascii_case(b"%3A")) =>
        {
            token_before(buf, lo, j - 3)
        }
        _ => None,
    }
}

/// The key token that ends at `j` (after optional spaces and a closing
/// quote); `a[key]` yields `key`.
fn token_before(buf: &[u8], lo: usize, j: usize) -> Option<&str> {
    let mut j = skip_quote(buf, lo, skip_ws(buf, lo, j));
    let bracket = j > lo && buf[j - 1] == b']';
    if bracket {
        j -= 1;
    }
    let end = j;
    while j > lo && end - j < KEY_MAX && is_key_char(buf[j - 1]) {
        j -= 1;
    }
    if bracket && !(j > lo && buf[j - 1] == b'[') {
        return None;
    }
    // `%22imei`: the hex digits of a percent escape are not part of the key.
    if j > lo
        && buf[j - 1] == b'%'
        && end - j >= 2
        && buf[j..j + 2].iter().all(u8::is_ascii_hexdigit)
    {
        j += 2;
    }
    token(&buf[j..end])
}

fn token(bytes: &[u8]) -> Option<&str> {
    // A `:` may only join XML namespaces or JSON paths, never end a key.
    let bytes = bytes.strip_prefix(b":").unwrap_or(bytes);
    if bytes.is_empty() || !bytes.iter().any(u8::is_ascii_alphabetic) {
        return None;
    }
    std::str::from_utf8(bytes).ok()
}

/// `<key attr="…">` ending at `gt` (the index of `>`): `key`.
fn xml_tag(buf: &[u8], lo: usize, gt: usize) -> Option<&str> {
    let open = buf[lo..gt].iter().rposition(|&b| b == b'<')? + lo;
    let name_end = buf[open + 1..gt]
        .iter()
        .position(|b| b.is_ascii_whitespace() || *b == b'/')
        .map_or(gt, |p| open + 1 + p);
    let name = &buf[open + 1..name_end];
    if name.len() > KEY_MAX || !name.iter().all(|&b| is_key_char(b)) {
        return None;
    }
    token(name)
}

/// A multipart part's value starts after a blank line; its header names the
/// key: `Content-Disposition: form-data; name="imei"`.
fn multipart_name(buf: &[u8], lo: usize, j: usize) -> Option<&str> {
    let head = &buf[lo..j];
    let blank = head.ends_with(b"\r\n\r\n") || head.ends_with(b"\n\n");
    if !blank {
        return None;
    }
    let needle = b"name=\"";
    let at = head.windows(needle.len()).rposition(|w| w == needle)? + needle.len();
    let len = head[at..].iter().position(|&b| b == b'"')?;
    let name = &head[at..at + len];
    if name.len() > KEY_MAX || !name.iter().all(|&b| is_key_char(b)) {
        return None;
    }
    token(name)
}

/// What a key says about its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyHint {
    Imei,
    Imeisv,
    Meid,
    Imsi,
    Iccid,
    /// `msisdn`, `phone`, `tel`, `mobile`...
    Phone,
    /// `number`, `num`: a number of some kind, perhaps a phone number.
    PhoneWeak,
    Mac,
    AndroidId,
    AdId,
    Email,
    Lat,
    Lon,
    /// A key for a coordinate pair (`ll`, `latlng`, `location`).
    LatLon,
    /// A device identifier of unstated kind (`device_id`, `did`, `hw_id`).
    Device,
    Serial,
    /// A key that says nothing about identifiers.
    Other,
}

const EXACT: &[(&str, KeyHint)] = &[
    ("aaid", KeyHint::AdId),
    ("account", KeyHint::Email),
    ("accountname", KeyHint::Email),
    ("adid", KeyHint::AdId),
    ("adidentifier", KeyHint::AdId),
    ("advertiserid", KeyHint::AdId),
    ("advertisingid", KeyHint::AdId),
    ("advertisingidentifier", KeyHint::AdId),
    ("afai", KeyHint::AdId),
    ("aid", KeyHint::AndroidId),
    ("androidid", KeyHint::AndroidId),
    ("bluetoothaddress", KeyHint::Mac),
    ("bssid", KeyHint::Mac),
    ("btaddr", KeyHint::Mac),
    ("callerid", KeyHint::Phone),
    ("cell", KeyHint::Phone),
    ("cellphone", KeyHint::Phone),
    ("coordinates", KeyHint::LatLon),
    ("coords", KeyHint::LatLon),
    ("devid", KeyHint::Device),
    ("deviceidentifier", KeyHint::Device),
    ("deviceuid", KeyHint::Device),
    ("deviceuuid", KeyHint::Device),
    ("did", KeyHint::Device),
    ("duid", KeyHint::Device),
    ("email", KeyHint::Email),
    ("emailaddress", KeyHint::Email),
    ("esn", KeyHint::Meid),
    ("gadid", KeyHint::AdId),
    ("gaid", KeyHint::AdId),
    ("geo", KeyHint::LatLon),
    ("geolocation", KeyHint::LatLon),
    ("gps", KeyHint::LatLon),
    ("gpsadid", KeyHint::AdId),
    ("hardwareid", KeyHint::Device),
    ("hwaddr", KeyHint::Mac),
    ("hwaddress", KeyHint::Mac),
    ("hwid", KeyHint::Device),
    ("icc", KeyHint::Iccid),
    ("iccid", KeyHint::Iccid),
    ("idfa", KeyHint::AdId),
    ("ifa", KeyHint::AdId),
    ("imei", KeyHint::Imei),
    ("imeisv", KeyHint::Imeisv),
    ("imsi", KeyHint::Imsi),
    ("lat", KeyHint::Lat),
    ("latitude", KeyHint::Lat),
    ("latlng", KeyHint::LatLon),
    ("latlon", KeyHint::LatLon),
    ("latlong", KeyHint::LatLon),
    ("line1number", KeyHint::Phone),
    ("ll", KeyHint::LatLon),
    ("lng", KeyHint::Lon),
    ("loc", KeyHint::LatLon),
    ("location", KeyHint::LatLon),
    ("login", KeyHint::Email),
    ("lon", KeyHint::Lon),
    ("long", KeyHint::Lon),
    ("longitude", KeyHint::Lon),
    ("mail", KeyHint::Email),
    ("mdn", KeyHint::Phone),
    ("meid", KeyHint::Meid),
    ("mobile", KeyHint::Phone),
    ("msai", KeyHint::AdId),
    ("msisdn", KeyHint::Phone),
    ("num", KeyHint::PhoneWeak),
    ("number", KeyHint::PhoneWeak),
    ("oaid", KeyHint::AdId),
    ("phone", KeyHint::Phone),
    ("rida", KeyHint::AdId),
    ("serial", KeyHint::Serial),
    ("simid", KeyHint::Imsi),
    ("simserial", KeyHint::Iccid),
    ("sn", KeyHint::Serial),
    ("ssaid", KeyHint::AndroidId),
    ("subscriber", KeyHint::Imsi),
    ("subscriberid", KeyHint::Imsi),
    ("tel", KeyHint::Phone),
    ("telephone", KeyHint::Phone),
    ("udid", KeyHint::Device),
    ("uniqueid", KeyHint::Device),
    ("username", KeyHint::Email),
    ("wlan", KeyHint::Mac),
];

/// Suffixes that keep their meaning after a prefix (`wifi_mac`,
/// `user_phone`, `x_device_id`), longest meaning first.
const SUFFIXES: &[(&str, KeyHint)] = &[
    ("imeisv", KeyHint::Imeisv),
    ("imei", KeyHint::Imei),
    ("meid", KeyHint::Meid),
    ("imsi", KeyHint::Imsi),
    ("iccid", KeyHint::Iccid),
    ("simserialnumber", KeyHint::Iccid),
    ("msisdn", KeyHint::Phone),
    ("phonenumber", KeyHint::Phone),
    ("phoneno", KeyHint::Phone),
    ("phonenum", KeyHint::Phone),
    ("phone", KeyHint::Phone),
    ("mobilenumber", KeyHint::Phone),
    ("mobileno", KeyHint::Phone),
    ("telnumber", KeyHint::Phone),
    ("macaddress", KeyHint::Mac),
    ("macaddr", KeyHint::Mac),
    ("mac", KeyHint::Mac),
    ("androidid", KeyHint::AndroidId),
    ("advertisingid", KeyHint::AdId),
    ("adid", KeyHint::AdId),
    ("gaid", KeyHint::AdId),
    ("idfa", KeyHint::AdId),
    ("email", KeyHint::Email),
    ("latitude", KeyHint::Lat),
    ("longitude", KeyHint::Lon),
    ("deviceid", KeyHint::Device),
    ("serialnumber", KeyHint::Serial),
    ("serialno", KeyHint::Serial),
];

/// What a key (as it appeared) says about its value.
pub(crate) fn classify_key(key: &str) -> KeyHint {
    let mut k = normalize_key(key);
    // Header names: `X-Device-Id` is the key `device_id`.
    let lower = key.to_ascii_lowercase();
    if (lower.starts_with("x-") || lower.starts_with("x_")) && k.len() > 1 {
        k.remove(0);
    }
    // `imei1`, `imei_2`: numbered slots of a dual-SIM phone.
    let trimmed = k.trim_end_matches(|c: char| c.is_ascii_digit());
    let k = if trimmed.is_empty() {
        k.as_str()
    } else {
        trimmed
    };
    if let Some(&(_, h)) = EXACT.iter().find(|(name, _)| *name == k) {
        return h;
    }
    // `hmac` ends in `mac` but is a signature.
    if k.ends_with("hmac") {
        return KeyHint::Other;
    }
    SUFFIXES
        .iter()
        .find(|(s, _)| k.ends_with(s))
        .map_or(KeyHint::Other, |&(_, h)| h)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The key before the `|` marker, or "" when there is none.
    fn key(s: &str) -> String {
        let at = s.find('|').unwrap();
        let buf = s.replacen('|', "", 1);
        preceding_key(buf.as_bytes(), at).unwrap_or("").to_string()
    }

    #[test]
    fn forms() {
        assert_eq!(key("GET /a?x=1&imei=|865123456789019 HTTP/1.1"), "imei");
        assert_eq!(key(r#"{"device":{"imei": "|865123456789019"}}"#), "imei");
        assert_eq!(key(r#"{"imei":|865123456789019}"#), "imei");
        assert_eq!(key(r#"{\"imei\":\"|865123456789019\"}"#), "imei");
        assert_eq!(key(r#"{'imei': '|865123456789019'}"#), "imei");
        assert_eq!(key(r#"{"imeis":["|865123456789019"]}"#), "imeis");
        assert_eq!(key("X-Device-Id: |865123456789019\r\n"), "X-Device-Id");
        assert_eq!(key("Cookie: a=b; did=|865123456789019"), "did");
        assert_eq!(key("<req><ns:imei>|865123456789019</ns:imei>"), "ns:imei");
        assert_eq!(key("<imei type=\"x\">|865123456789019</imei>"), "imei");
        assert_eq!(key("device[imei]=|865123456789019"), "imei");
        assert_eq!(key("q=%7B%22imei%22%3A%22|865123456789019"), "imei");
        assert_eq!(key("client_id=android-|865123456789019"), "client_id");
        assert_eq!(key(r#"{"phone":"tel:|+8613812345678"}"#), "tel");
        assert_eq!(
            key("--b\r\nContent-Disposition: form-data; name=\"imei\"\r\n\r\n|865123456789019"),
            "imei"
        );
        assert_eq!(key("|865123456789019"), "");
        assert_eq!(key("at 12:|34"), "");
        assert_eq!(key("</x>|865123456789019"), "");
        assert_eq!(key("some text |865123456789019"), "");
    }

    #[test]
    fn never_panics_at_edges() {
        assert_eq!(preceding_key(b"", 0), None);
        assert_eq!(preceding_key(b"=", 1), None);
        assert_eq!(preceding_key(b"a=", 99), Some("a"));
        assert_eq!(preceding_key(b"[", 1), None);
        assert_eq!(preceding_key(b"<", 1), None);
        assert_eq!(preceding_key(b"\n\n", 2), None);
        assert_eq!(preceding_key(b"\"", 1), None);
        assert_eq!(preceding_key(b"%3D", 3), None);
        assert_eq!(preceding_key(b"a[b]=", 5), Some("b"));
        assert_eq!(preceding_key(b"b]=", 3), None);
    }

    #[test]
    fn classification() {
        assert_eq!(normalize_key("Device_ID"), "deviceid");
        assert_eq!(classify_key("imei"), KeyHint::Imei);
        assert_eq!(classify_key("IMEI_2"), KeyHint::Imei);
        assert_eq!(classify_key("device_id"), KeyHint::Device);
        assert_eq!(classify_key("deviceId"), KeyHint::Device);
        assert_eq!(classify_key("X-Device-Id"), KeyHint::Device);
        assert_eq!(classify_key("X-Deviceid"), KeyHint::Device);
        assert_eq!(classify_key("hw_id"), KeyHint::Device);
        assert_eq!(classify_key("subscriber_id"), KeyHint::Imsi);
        assert_eq!(classify_key("sim_id"), KeyHint::Imsi);
        assert_eq!(classify_key("phone_number"), KeyHint::Phone);
        assert_eq!(classify_key("X-Msisdn"), KeyHint::Phone);
        assert_eq!(classify_key("wifi_mac"), KeyHint::Mac);
        assert_eq!(classify_key("mac_addr"), KeyHint::Mac);
        assert_eq!(classify_key("hmac"), KeyHint::Other);
        assert_eq!(classify_key("advertising_id"), KeyHint::AdId);
        assert_eq!(classify_key("ifa"), KeyHint::AdId);
        assert_eq!(classify_key("android_id"), KeyHint::AndroidId);
        assert_eq!(classify_key("lng"), KeyHint::Lon);
        assert_eq!(classify_key("order_id"), KeyHint::Other);
        assert_eq!(classify_key("request_id"), KeyHint::Other);
        assert_eq!(classify_key("x"), KeyHint::Other);
        assert_eq!(classify_key("123"), KeyHint::Other);
    }
}
