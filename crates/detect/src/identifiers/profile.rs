//! The device profile: the identifiers of the devices under test.
//!
//! Parsed from TOML text by [`DeviceProfile::from_toml`]; the caller reads the
//! file. Every value is validated and canonicalised here, so that a typo is
//! an error naming the device and the key rather than a silent miss later.

use toml::{Table, Value};

use super::phone;
use super::validate::{
    canonical_uuid, coordinates_plausible, format_mac, luhn_check_digit, luhn_valid, parse_mac,
};

/// The identifiers of the devices under test, canonicalised.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DeviceProfile {
    /// One entry per `[[device]]` table, in file order.
    pub devices: Vec<Device>,
}

/// One device's identifiers, canonicalised: digits for IMEI/IMSI/ICCID,
/// E.164 for phone numbers, lower-case colon MACs, lower-case hex and UUIDs,
/// lower-case e-mail addresses.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Device {
    /// Its name, as findings will report it.
    pub name: String,
    /// ISO 3166 country code used to read national phone numbers, if given.
    pub country: Option<String>,
    /// IMEIs (15 digits, Luhn-valid).
    pub imei: Vec<String>,
    /// IMSIs (14–15 digits).
    pub imsi: Vec<String>,
    /// ICCIDs (18–22 digits).
    pub iccid: Vec<String>,
    /// The device's own phone numbers (E.164).
    pub phone: Vec<String>,
    /// Wi-Fi, Bluetooth and other hardware addresses.
    pub mac: Vec<String>,
    /// Android IDs (8–16 hex digits).
    pub android_id: Vec<String>,
    /// Advertising IDs (UUIDs).
    pub ad_id: Vec<String>,
    /// Hardware serial numbers (as given, at least 4 characters).
    pub serial: Vec<String>,
    /// E-mail accounts on the device.
    pub email: Vec<String>,
    /// Phone numbers of the device's contacts (E.164).
    pub contacts: Vec<String>,
    /// Free-form strings to look for (as given, at least 4 bytes).
    pub strings: Vec<String>,
    /// Coordinates (latitude, longitude) such as the owner's home.
    pub location: Vec<(f64, f64)>,
}

/// Why a profile could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProfileError {
    /// The text is not TOML.
    #[error("device profile is not valid TOML: {0}")]
    Syntax(String),
    /// The document's shape is wrong (no `[[device]]` tables, a stray key).
    #[error("device profile: {0}")]
    Shape(String),
    /// A device's value is missing or invalid.
    #[error("device {device:?}: `{key}`: {message}")]
    Invalid {
        /// The device's name (or `#n`, its position, before the name is known).
        device: String,
        /// The offending key.
        key: String,
        /// What is wrong.
        message: String,
    },
}

/// The keys a `[[device]]` table may have.
const KEYS: &[&str] = &[
    "name",
    "country",
    "imei",
    "imsi",
    "iccid",
    "phone",
    "mac",
    "android_id",
    "ad_id",
    "serial",
    "email",
    "contacts",
    "strings",
    "location",
];

impl DeviceProfile {
    /// Parses and validates a profile:
    ///
    /// ```toml
    /// [[device]]
    /// name = "RedMi 1S"
    /// country = "CN"                      # to read national phone numbers
    /// imei = ["865123456789019"]
    /// phone = ["+8613812345678"]
    /// location = [39.9042, 116.4074]      # or [[lat, lon], [lat, lon]]
    /// ```
    ///
    /// Each list key also accepts a single string. See
    /// `docs/device-profile.example.toml` for every key.
    pub fn from_toml(text: &str) -> Result<DeviceProfile, ProfileError> {
        let doc: Table = text.parse().map_err(|e: toml::de::Error| {
            ProfileError::Syntax(e.to_string().trim_end().to_string())
        })?;
        for key in doc.keys() {
            if key != "device" {
                return Err(ProfileError::Shape(format!(
                    "unexpected top-level key `{key}`; devices go in [[device]] tables"
                )));
            }
        }
        let tables = match doc.get("device") {
            Some(Value::Array(a)) => a,
            Some(_) => {
                return Err(ProfileError::Shape(
                    "`device` must be an array of tables ([[device]])".into(),
                ));
            }
            None => return Err(ProfileError::Shape("no [[device]] table".into())),
        };
        let mut devices: Vec<Device> = Vec::with_capacity(tables.len());
        for (i, t) in tables.iter().enumerate() {
            let Value::Table(t) = t else {
                return Err(ProfileError::Shape(format!(
                    "device #{} is not a table",
                    i + 1
                )));
            };
            let device = parse_device(t, i + 1)?;
            if devices.iter().any(|d| d.name == device.name) {
                return Err(ProfileError::Invalid {
                    device: device.name,
                    key: "name".into(),
                    message: "two devices have this name".into(),
                });
            }
            devices.push(device);
        }
        Ok(DeviceProfile { devices })
    }

    /// How many identifier values the profile lists, over all devices.
    pub fn value_count(&self) -> usize {
        self.devices.iter().map(Device::value_count).sum()
    }
}

impl Device {
    /// How many identifier values this device lists.
    pub fn value_count(&self) -> usize {
        self.imei.len()
            + self.imsi.len()
            + self.iccid.len()
            + self.phone.len()
            + self.mac.len()
            + self.android_id.len()
            + self.ad_id.len()
            + self.serial.len()
            + self.email.len()
            + self.contacts.len()
            + self.strings.len()
            + self.location.len()
    }
}

fn parse_device(t: &Table, position: usize) -> Result<Device, ProfileError> {
    let anon = format!("#{position}");
    let name = match t.get("name") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
        Some(_) => return Err(invalid(&anon, "name", "must be a non-empty string")),
        None => return Err(invalid(&anon, "name", "missing")),
    };
    for key in t.keys() {
        if !KEYS.contains(&key.as_str()) {
            return Err(invalid(
                &name,
                key,
                &format!("unknown key; known keys: {}", KEYS.join(", ")),
            ));
        }
    }
    let country = match t.get("country") {
        None => None,
        Some(Value::String(s)) => {
            if phone::country(s.trim()).is_none() {
                return Err(invalid(
                    &name,
                    "country",
                    &format!(
                        "{s:?} is not in the table of countries whose national format is \
                         understood; write phone numbers in E.164 (+…) instead"
                    ),
                ));
            }
            Some(s.trim().to_ascii_uppercase())
        }
        Some(_) => return Err(invalid(&name, "country", "must be a string such as \"CN\"")),
    };
    let mut d = Device {
        name,
        country,
        ..Device::default()
    };
    let country = d.country.clone();
    let name = d.name.clone();
    let list = |key: &str| strings_of(t, &name, key);
    let each = |key: &str,
                f: &dyn Fn(&str) -> Result<String, String>|
     -> Result<Vec<String>, ProfileError> {
        let mut out: Vec<String> = Vec::new();
        for raw in list(key)? {
            let v = f(&raw).map_err(|m| invalid(&name, key, &m))?;
            if !out.contains(&v) {
                out.push(v);
            }
        }
        Ok(out)
    };
    d.imei = each("imei", &canonical_imei)?;
    d.imsi = each("imsi", &canonical_imsi)?;
    d.iccid = each("iccid", &canonical_iccid)?;
    d.phone = each("phone", &|s| phone::canonical_phone(s, country.as_deref()))?;
    d.contacts = each("contacts", &|s| {
        phone::canonical_phone(s, country.as_deref())
    })?;
    d.mac = each("mac", &canonical_mac)?;
    d.android_id = each("android_id", &canonical_android_id)?;
    d.ad_id = each("ad_id", &|s| {
        canonical_uuid(s.trim())
            .ok_or_else(|| format!("{s:?} is not a UUID (8-4-4-4-12 hex digits, or 32 hex digits)"))
    })?;
    d.serial = each("serial", &|s| min_len(s.trim(), 4))?;
    d.email = each("email", &canonical_email)?;
    // Free-form strings are taken byte for byte: leading or trailing spaces
    // may be what the user wants found.
    d.strings = each("strings", &|s| min_len(s, 4))?;
    d.location = locations(t, &name)?;
    Ok(d)
}

fn invalid(device: &str, key: &str, message: &str) -> ProfileError {
    ProfileError::Invalid {
        device: device.to_string(),
        key: key.to_string(),
        message: message.to_string(),
    }
}

/// A list key's strings: a string, or an array of strings (integers are
/// accepted too, since an IMEI written without quotes is an integer in TOML).
fn strings_of(t: &Table, device: &str, key: &str) -> Result<Vec<String>, ProfileError> {
    let one = |v: &Value| match v {
        Value::String(s) => Ok(s.clone()),
        Value::Integer(i) if *i >= 0 => Ok(i.to_string()),
        _ => Err(invalid(device, key, "values must be strings")),
    };
    match t.get(key) {
        None => Ok(Vec::new()),
        Some(Value::Array(a)) => a.iter().map(one).collect(),
        Some(v) => Ok(vec![one(v)?]),
    }
}

fn min_len(s: &str, n: usize) -> Result<String, String> {
    if s.len() < n {
        Err(format!(
            "{s:?} is too short to search for (at least {n} bytes): it would match by chance"
        ))
    } else {
        Ok(s.to_string())
    }
}

/// Digits of a value, ignoring the spaces, dashes and slashes people type.
fn digits_of(s: &str, what: &str) -> Result<String, String> {
    let mut out = String::new();
    for c in s.trim().chars() {
        match c {
            '0'..='9' => out.push(c),
            ' ' | '-' | '/' | '.' => {}
            _ => return Err(format!("unexpected character {c:?} in {what} {s:?}")),
        }
    }
    Ok(out)
}

fn canonical_imei(s: &str) -> Result<String, String> {
    let mut d = digits_of(s, "IMEI")?;
    match d.len() {
        // Printed without its check digit (as `*#06#` shows on some phones):
        // complete it, since apps send the 15-digit form.
        14 => {
            if let Some(c) = luhn_check_digit(d.as_bytes()) {
                d.push(char::from(c));
            }
        }
        15 => {
            if !luhn_valid(d.as_bytes()) {
                return Err(format!(
                    "{s:?} fails the Luhn check that every IMEI passes (a typo?)"
                ));
            }
        }
        16 => {
            return Err(format!(
                "{s:?} has 16 digits (an IMEISV?); give the 15-digit IMEI, whose first 14 \
                 digits it shares"
            ));
        }
        _ => return Err(format!("{s:?} is not 15 digits")),
    }
    Ok(d)
}

fn canonical_imsi(s: &str) -> Result<String, String> {
    let d = digits_of(s, "IMSI")?;
    if !(14..=15).contains(&d.len()) {
        return Err(format!("{s:?} is not 14 or 15 digits"));
    }
    // An MCC missing from our table is not fatal (the table may lag behind
    // ITU), but a test-network code is most likely a typo for the real one.
    if d.starts_with("001") || d.starts_with("999") {
        return Err(format!("{s:?} has a test-network MCC"));
    }
    Ok(d)
}

fn canonical_iccid(s: &str) -> Result<String, String> {
    // The SIM stores the ICCID in nibbles padded with F; readers sometimes
    // print that padding.
    let t = s.trim().trim_end_matches(['f', 'F']);
    let d = digits_of(t, "ICCID")?;
    if !(18..=22).contains(&d.len()) {
        return Err(format!("{s:?} is not 18 to 22 digits"));
    }
    Ok(d)
}

fn canonical_mac(s: &str) -> Result<String, String> {
    parse_mac(s.trim())
        .map(|m| format_mac(&m))
        .ok_or_else(|| format!("{s:?} is not a MAC address (six hex pairs)"))
}

fn canonical_android_id(s: &str) -> Result<String, String> {
    let t = s.trim();
    if !(8..=16).contains(&t.len()) || !t.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("{s:?} is not an Android ID (8 to 16 hex digits)"));
    }
    Ok(t.to_ascii_lowercase())
}

fn canonical_email(s: &str) -> Result<String, String> {
    let t = s.trim();
    match t.split_once('@') {
        Some((l, d))
            if !l.is_empty()
                && d.contains('.')
                && !d.contains('@')
                && !t.contains(char::is_whitespace) =>
        {
            Ok(t.to_lowercase())
        }
        _ => Err(format!("{s:?} is not an e-mail address")),
    }
}

/// `location = [lat, lon]` or `location = [[lat, lon], …]`.
fn locations(t: &Table, device: &str) -> Result<Vec<(f64, f64)>, ProfileError> {
    let bad = |m: &str| invalid(device, "location", m);
    let num = |v: &Value| match v {
        Value::Float(f) => Some(*f),
        // Integer coordinates are whole degrees; i64 to f64 is exact below
        // 2^53, and larger ones fail the range check anyway.
        Value::Integer(i) => Some(*i as f64),
        _ => None,
    };
    let pair = |v: &Value| -> Result<(f64, f64), ProfileError> {
        let Value::Array(a) = v else {
            return Err(bad("expected [latitude, longitude]"));
        };
        let (Some(lat), Some(lon)) = (a.first().and_then(num), a.get(1).and_then(num)) else {
            return Err(bad("expected [latitude, longitude] as two numbers"));
        };
        if a.len() != 2 {
            return Err(bad("expected [latitude, longitude] as two numbers"));
        }
        if !coordinates_plausible(lat, lon) {
            return Err(bad(&format!(
                "[{lat}, {lon}] is out of range (latitude -90..90, longitude -180..180, not 0,0)"
            )));
        }
        Ok((lat, lon))
    };
    match t.get("location") {
        None => Ok(Vec::new()),
        Some(v @ Value::Array(a)) => {
            if a.iter().all(|x| matches!(x, Value::Array(_))) && !a.is_empty() {
                a.iter().map(pair).collect()
            } else {
                Ok(vec![pair(v)?])
            }
        }
        Some(_) => Err(bad("expected [latitude, longitude]")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = include_str!("../../../../docs/device-profile.example.toml");

    #[test]
    fn example_profile_parses() {
        let p = DeviceProfile::from_toml(EXAMPLE).unwrap();
        let d = &p.devices[0];
        assert_eq!(d.name, "RedMi 1S");
        assert_eq!(d.imei, ["865123456789019"]);
        assert_eq!(d.imsi, ["460011234567890"]);
        assert_eq!(d.phone, ["+8613812345678"]);
        assert_eq!(
            d.contacts,
            ["+8613900001111", "+8615012345678", "+8618611112222"]
        );
        assert_eq!(d.mac.len(), 2);
        assert!(
            d.mac
                .iter()
                .all(|m| m.len() == 17 && m == &m.to_lowercase())
        );
        assert_eq!(d.android_id.len(), 1);
        assert_eq!(d.location.len(), 1);
    }

    #[test]
    fn canonicalises() {
        let p = DeviceProfile::from_toml(
            r#"
            [[device]]
            name = "a"
            country = "de"
            imei = "86-512345-678901-9"
            phone = ["0151 1234 5678", "+49 160 1234567"]
            mac = "64-CC-2E-12-34-56"
            ad_id = "6F1E2D3C4B5A49788695A4B3C2D1E0F9"
            email = "Li.Wei@Example.CN"
            iccid = ["8986011234567890123F"]
            location = [[52.52, 13.405], [48, 11]]
            "#,
        )
        .unwrap();
        let d = &p.devices[0];
        assert_eq!(d.country.as_deref(), Some("DE"));
        assert_eq!(d.imei, ["865123456789019"]);
        assert_eq!(d.phone, ["+4915112345678", "+491601234567"]);
        assert_eq!(d.mac, ["64:cc:2e:12:34:56"]);
        assert_eq!(d.ad_id, ["6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"]);
        assert_eq!(d.email, ["li.wei@example.cn"]);
        assert_eq!(d.iccid, ["8986011234567890123"]);
        assert_eq!(d.location, [(52.52, 13.405), (48.0, 11.0)]);
        assert_eq!(p.value_count(), 9);
    }

    #[test]
    fn errors_name_device_and_key() {
        let err = |t: &str| DeviceProfile::from_toml(t).unwrap_err();
        let e = err("[[device]]\nname = \"x\"\nimei = [\"865123456789018\"]\n");
        assert!(
            matches!(&e, ProfileError::Invalid { device, key, .. } if device == "x" && key == "imei"),
            "{e}"
        );
        assert!(e.to_string().contains("Luhn"));
        let e = err("[[device]]\nname = \"x\"\nphone = \"13812345678\"\n");
        assert!(
            matches!(&e, ProfileError::Invalid { key, .. } if key == "phone"),
            "{e}"
        );
        let e = err("[[device]]\nname = \"x\"\nimie = \"1\"\n");
        assert!(
            matches!(&e, ProfileError::Invalid { key, .. } if key == "imie"),
            "{e}"
        );
        let e = err("[[device]]\nimei = \"865123456789019\"\n");
        assert!(
            matches!(&e, ProfileError::Invalid { device, key, .. } if device == "#1" && key == "name")
        );
        let e = err("[[device]]\nname = \"x\"\nmac = \"ff:ff:ff:ff:ff\"\n");
        assert!(matches!(&e, ProfileError::Invalid { key, .. } if key == "mac"));
        let e = err("[[device]]\nname = \"x\"\nlocation = [91.0, 0.0]\n");
        assert!(matches!(&e, ProfileError::Invalid { key, .. } if key == "location"));
        let e = err("[[device]]\nname = \"x\"\ncountry = \"ZZ\"\n");
        assert!(matches!(&e, ProfileError::Invalid { key, .. } if key == "country"));
        let e = err("[[device]]\nname = \"x\"\nstrings = [\"ab\"]\n");
        assert!(matches!(&e, ProfileError::Invalid { key, .. } if key == "strings"));
        let e = err("[[device]]\nname = \"x\"\n[[device]]\nname = \"x\"\n");
        assert!(matches!(&e, ProfileError::Invalid { key, .. } if key == "name"));
        assert!(matches!(err("name = 1"), ProfileError::Shape(_)));
        assert!(matches!(err(""), ProfileError::Shape(_)));
        assert!(matches!(err("[[device]"), ProfileError::Syntax(_)));
        assert!(matches!(err("device = 3"), ProfileError::Shape(_)));
    }
}
