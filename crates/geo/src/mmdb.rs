//! Reading MaxMind-format databases (`.mmdb`) of any of the common schemas.
//!
//! The `maxminddb` crate does the reading; none of its types leave this
//! module. Records are decoded into one private, lenient struct that covers
//! the layouts in use:
//!
//! - MaxMind City/Country/Enterprise and DB-IP City/Country/Location:
//!   `country.iso_code`, `country.names.en` (else `registered_country`),
//!   `city.names.en`, `location.latitude/longitude`,
//!   `traits.autonomous_system_number/organization`;
//! - MaxMind/DB-IP ASN and ISP: `autonomous_system_number`,
//!   `autonomous_system_organization`;
//! - IPinfo: `country_code` (or `country` when it is a code, with the name
//!   in `country_name`), `country` (a name), `asn` (`"AS15169"`), `as_name`,
//!   `city`, `latitude`, `longitude` (numbers or strings);
//! - `@ip-location-db` ("flat"): `country_code`, `city` (a string),
//!   `latitude`, `longitude`, `autonomous_system_number`,
//!   `autonomous_system_organization`.
//!
//! A field of an unexpected type is skipped rather than failing the record;
//! a record that cannot be decoded at all is no answer. The file's
//! `database_type` decides which parts of an answer the database claims to
//! provide ([`Provides`]).

use std::fmt;
use std::marker::PhantomData;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;
use serde::de::{self, DeserializeOwned, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::{DatabaseInfo, GeoError, GeoInfo, GeoResolver, Provides, epoch_to_date};

/// A MaxMind-format database (`.mmdb`) read into memory: GeoLite2/GeoIP2
/// City, Country, ASN, ISP and Enterprise, DB-IP lite, IPinfo, and the
/// `@ip-location-db` files, chosen by the file's `database_type`.
///
/// ```
/// use telltale_geo::writer::{IpVersion, MmdbWriter, Value};
/// use telltale_geo::{GeoResolver, MmdbDb};
///
/// let mut w = MmdbWriter::new("GeoLite2-Country", IpVersion::V6).build_epoch(1_781_654_400);
/// w.insert_cidr(
///     "192.0.2.0/24",
///     Value::map([("country", Value::map([("iso_code", "DE")]))]),
/// )
/// .unwrap();
/// let db = MmdbDb::from_bytes(w.to_bytes(), "example").unwrap();
/// assert_eq!(db.info().name.as_ref(), "GeoLite2-Country");
/// assert_eq!(db.info().build_date, "2026-06-17");
///
/// let geo = db.lookup("192.0.2.7".parse().unwrap()).unwrap();
/// assert_eq!(geo.country_code.as_deref(), Some("DE"));
/// assert_eq!(geo.country_name.as_deref(), Some("Germany"));
/// assert!(db.lookup("198.51.100.1".parse().unwrap()).is_none());
/// ```
pub struct MmdbDb {
    reader: maxminddb::Reader<Vec<u8>>,
    info: DatabaseInfo,
    schema: Schema,
    ipv6: bool,
}

/// Record layouts, told apart by `database_type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Schema {
    /// MaxMind/DB-IP City, Country, Enterprise, Location.
    MaxMind,
    /// MaxMind/DB-IP ASN and ISP.
    Asn,
    /// IPinfo's files.
    IpInfo,
    /// `@ip-location-db` (`country ipv4`, `asn ipvAll`, `city ipv6`, ...).
    Flat,
    /// Anything else: every known field is tried.
    Unknown,
}

impl Schema {
    fn of(database_type: &str) -> Schema {
        let t = database_type.to_ascii_lowercase();
        let words: Vec<&str> = t
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        let has = |w: &str| words.contains(&w);
        if t.contains("ipinfo") {
            Schema::IpInfo
        } else if t.contains("ip-location-db")
            || words
                .iter()
                .any(|w| matches!(*w, "ipv4" | "ipv6" | "ipvall"))
        {
            Schema::Flat
        } else if has("city") || has("country") || has("enterprise") || has("location") {
            Schema::MaxMind
        } else if has("asn") || has("isp") {
            Schema::Asn
        } else {
            Schema::Unknown
        }
    }

    /// What a database of this type can answer, by the words of its type.
    fn provides(self, database_type: &str) -> Provides {
        let t = database_type.to_ascii_lowercase();
        let words: Vec<&str> = t
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        let any = |ws: &[&str]| ws.iter().any(|w| words.contains(w));
        let ipinfo_lite = self == Schema::IpInfo && any(&["lite", "free"]);
        let p = Provides {
            country: ipinfo_lite || any(&["country", "city", "location", "enterprise"]),
            city: any(&["city", "location", "enterprise"]),
            asn: ipinfo_lite || any(&["asn", "isp", "enterprise"]),
        };
        if p == Provides::default() {
            Provides {
                country: true,
                city: true,
                asn: true,
            }
        } else {
            p
        }
    }
}

impl MmdbDb {
    /// Reads the database at `path` into memory.
    pub fn open(path: impl AsRef<Path>) -> Result<MmdbDb, GeoError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| GeoError::Io {
            path: path.to_owned(),
            source,
        })?;
        MmdbDb::from_bytes(bytes, &path.display().to_string())
    }

    /// A database from its bytes. `origin` (a path, or a label such as
    /// `embedded`) is recorded in [`DatabaseInfo::origin`] and named in
    /// errors.
    pub fn from_bytes(bytes: Vec<u8>, origin: &str) -> Result<MmdbDb, GeoError> {
        let format = |message: String| GeoError::Format {
            path: origin.into(),
            message,
        };
        let reader = maxminddb::Reader::from_source(bytes).map_err(|e| format(e.to_string()))?;
        let meta = reader.metadata();
        let ipv6 = match meta.ip_version {
            4 => false,
            6 => true,
            v => return Err(format(format!("ip_version {v} is neither 4 nor 6"))),
        };
        let schema = Schema::of(&meta.database_type);
        let info = DatabaseInfo {
            name: Arc::from(meta.database_type.as_str()),
            build_date: epoch_to_date(meta.build_epoch),
            origin: origin.to_owned(),
            description: meta
                .description
                .get("en")
                .map(|d| d.trim())
                .filter(|d| !d.is_empty())
                .map(str::to_owned),
            provides: schema.provides(&meta.database_type),
            attribution: None,
        };
        Ok(MmdbDb {
            reader,
            info,
            schema,
            ipv6,
        })
    }

    /// What the database is: name (`database_type`), build date, origin,
    /// description and what it provides.
    pub fn info(&self) -> &DatabaseInfo {
        &self.info
    }

    fn record(&self, addr: IpAddr) -> Option<Record> {
        let addr = match addr {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None if !self.ipv6 => return None,
                None => addr,
            },
            v4 => v4,
        };
        self.reader.lookup(addr).ok()?.decode::<Record>().ok()?
    }
}

impl fmt::Debug for MmdbDb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MmdbDb")
            .field("info", &self.info)
            .field("schema", &self.schema)
            .field("ipv6", &self.ipv6)
            .finish_non_exhaustive()
    }
}

impl GeoResolver for MmdbDb {
    /// What the database says about `addr`. IPv4-mapped IPv6 addresses are
    /// looked up as IPv4; an IPv6 address in an IPv4-only database, an
    /// address in no network, and a record that cannot be decoded give
    /// `None`. [`GeoInfo::sources`] is left empty.
    fn lookup(&self, addr: IpAddr) -> Option<GeoInfo> {
        let info = self.record(addr)?.into_geo(self.schema);
        (!info.is_empty()).then_some(info)
    }
}

// ---------------------------------------------------------------------------
// The record, decoded leniently.

/// Every field any supported schema uses. Unknown fields are skipped; a
/// known field of an unexpected type reads as absent.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Record {
    // MaxMind / DB-IP City and Country (`country` is a string in IPinfo).
    country: Place,
    registered_country: Place,
    city: Place,
    location: Lenient<Location>,
    traits: Lenient<Traits>,
    // MaxMind / DB-IP ASN and ISP, ip-location-db.
    autonomous_system_number: Asn,
    autonomous_system_organization: Text,
    // IPinfo and ip-location-db.
    country_code: Text,
    country_name: Text,
    asn: Asn,
    as_name: Text,
    name: Text,
    latitude: Number,
    longitude: Number,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Location {
    latitude: Number,
    longitude: Number,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Traits {
    autonomous_system_number: Asn,
    autonomous_system_organization: Text,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PlaceMap {
    iso_code: Text,
    names: Lenient<Names>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Names {
    en: Text,
}

/// `country` or `city`: a map with `iso_code` and `names` (MaxMind), or a
/// plain string (IPinfo, ip-location-db).
#[derive(Default)]
struct Place {
    text: Option<String>,
    iso_code: Option<String>,
    name: Option<String>,
}

impl Place {
    fn map_name(&self) -> Option<String> {
        self.name.clone()
    }
}

impl Record {
    fn into_geo(self, schema: Schema) -> GeoInfo {
        let mut country_code = None;
        let mut country_name = None;
        // The database's own code, and the name that goes with it.
        if let Some(code) = self.country_code.0.as_deref().and_then(iso_code) {
            country_code = Some(code);
            country_name = self
                .country_name
                .0
                .clone()
                .or_else(|| self.country.text.clone().filter(|t| iso_code(t).is_none()));
        } else if let Some(code) = self.country.iso_code.as_deref().and_then(iso_code) {
            country_code = Some(code);
            country_name = self.country.map_name();
        } else if let Some(code) = self.country.text.as_deref().and_then(iso_code) {
            // Older IPinfo: the code in `country`, the name in `country_name`.
            country_code = Some(code);
            country_name = self.country_name.0.clone();
        } else if let Some(code) = self
            .registered_country
            .iso_code
            .as_deref()
            .and_then(iso_code)
        {
            country_code = Some(code);
            country_name = self.registered_country.map_name();
        }
        if country_name.is_none() {
            country_name = country_code
                .as_deref()
                .and_then(crate::country_name)
                .map(str::to_owned);
        }

        let city = self.city.name.clone().or_else(|| self.city.text.clone());

        let location = self.location.0.unwrap_or_default();
        let (lat, lon) = match (location.latitude.0, location.longitude.0) {
            (Some(lat), Some(lon)) => (Some(lat), Some(lon)),
            _ => (self.latitude.0, self.longitude.0),
        };
        let (latitude, longitude) = match (lat, lon) {
            (Some(lat), Some(lon))
                if (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon) =>
            {
                (Some(lat), Some(lon))
            }
            _ => (None, None),
        };

        let traits = self.traits.0.unwrap_or_default();
        let asn = self
            .autonomous_system_number
            .0
            .or(traits.autonomous_system_number.0)
            .or(self.asn.0);
        let mut as_org = self
            .autonomous_system_organization
            .0
            .or(traits.autonomous_system_organization.0)
            .or(self.as_name.0);
        if as_org.is_none() && schema == Schema::IpInfo && asn.is_some() {
            // IPinfo's ASN files name the AS in `name`.
            as_org = self.name.0;
        }

        GeoInfo {
            country_code,
            country_name,
            city,
            latitude,
            longitude,
            asn,
            as_org,
            sources: Vec::new(),
        }
    }
}

/// A country code as two upper-case ASCII letters, if `s` is one.
fn iso_code(s: &str) -> Option<String> {
    let s = s.trim();
    (s.len() == 2 && s.bytes().all(|b| b.is_ascii_alphabetic())).then(|| s.to_ascii_uppercase())
}

// ---------------------------------------------------------------------------
// Lenient leaf types: each accepts any value and keeps what it understands.

/// A value read with `deserialize_any`: each kind of value goes to one of
/// these; the default for each is "not understood".
trait Lenience: Default {
    const EXPECTING: &'static str;
    fn from_str(_: &str) -> Self {
        Self::default()
    }
    fn from_f64(_: f64) -> Self {
        Self::default()
    }
    fn from_u128(_: u128) -> Self {
        Self::default()
    }
    fn from_i128(_: i128) -> Self {
        Self::default()
    }
    fn from_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Self::default())
    }
}

struct LenientVisitor<T>(PhantomData<T>);

impl<'de, T: Lenience> Visitor<'de> for LenientVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(T::EXPECTING)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<T, E> {
        Ok(T::default())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        Ok(T::from_i128(i128::from(v)))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<T, E> {
        Ok(T::from_i128(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        Ok(T::from_u128(u128::from(v)))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<T, E> {
        Ok(T::from_u128(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
        Ok(T::from_f64(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        Ok(T::from_str(v))
    }
    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<T, E> {
        Ok(T::default())
    }
    fn visit_unit<E: de::Error>(self) -> Result<T, E> {
        Ok(T::default())
    }
    fn visit_none<E: de::Error>(self) -> Result<T, E> {
        Ok(T::default())
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<T, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(T::default())
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::from_map(map)
    }
}

macro_rules! lenient_deserialize {
    ($($t:ty),*) => {$(
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_any(LenientVisitor::<Self>(PhantomData))
            }
        }
    )*};
}

lenient_deserialize!(Text, Number, Asn, Place);

/// A non-empty string.
#[derive(Default)]
struct Text(Option<String>);

impl Lenience for Text {
    const EXPECTING: &'static str = "a string";
    fn from_str(s: &str) -> Self {
        let s = s.trim();
        Text((!s.is_empty()).then(|| s.to_owned()))
    }
}

/// A finite number, or a string holding one.
#[derive(Default)]
struct Number(Option<f64>);

impl Lenience for Number {
    const EXPECTING: &'static str = "a number";
    fn from_str(s: &str) -> Self {
        Number::from_f64(s.trim().parse().unwrap_or(f64::NAN))
    }
    fn from_f64(v: f64) -> Self {
        Number(v.is_finite().then_some(v))
    }
    fn from_u128(v: u128) -> Self {
        Number(Some(v as f64))
    }
    fn from_i128(v: i128) -> Self {
        Number(Some(v as f64))
    }
}

/// An AS number: an integer, or a string like `AS15169` or `15169`.
#[derive(Default)]
struct Asn(Option<u32>);

impl Lenience for Asn {
    const EXPECTING: &'static str = "an AS number";
    fn from_str(s: &str) -> Self {
        let s = s.trim();
        let digits = s
            .strip_prefix("AS")
            .or_else(|| s.strip_prefix("as"))
            .or_else(|| s.strip_prefix("As"))
            .unwrap_or(s);
        Asn(digits.parse().ok())
    }
    fn from_u128(v: u128) -> Self {
        Asn(u32::try_from(v).ok())
    }
    fn from_i128(v: i128) -> Self {
        Asn(u32::try_from(v).ok())
    }
}

impl Lenience for Place {
    const EXPECTING: &'static str = "a place name or a map of names";
    fn from_str(s: &str) -> Self {
        Place {
            text: Text::from_str(s).0,
            ..Place::default()
        }
    }
    fn from_map<'de, A: MapAccess<'de>>(map: A) -> Result<Self, A::Error> {
        let m = PlaceMap::deserialize(de::value::MapAccessDeserializer::new(map))?;
        Ok(Place {
            text: None,
            iso_code: m.iso_code.0,
            name: m.names.0.and_then(|n| n.en.0),
        })
    }
}

/// A map decoded as `T`, or absent when the value is not a map.
struct Lenient<T>(Option<T>);

impl<T> Default for Lenient<T> {
    fn default() -> Self {
        Lenient(None)
    }
}

impl<T: DeserializeOwned> Lenience for Lenient<T> {
    const EXPECTING: &'static str = "a map";
    fn from_map<'de, A: MapAccess<'de>>(map: A) -> Result<Self, A::Error> {
        T::deserialize(de::value::MapAccessDeserializer::new(map)).map(|t| Lenient(Some(t)))
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LenientVisitor::<Self>(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_by_type() {
        for (t, want) in [
            ("GeoLite2-City", Schema::MaxMind),
            ("GeoIP2-Country", Schema::MaxMind),
            ("GeoIP2-Enterprise", Schema::MaxMind),
            ("DBIP-City-Lite", Schema::MaxMind),
            ("DBIP-Location-ISP (compat=Enterprise)", Schema::MaxMind),
            ("GeoLite2-ASN", Schema::Asn),
            ("DBIP-ASN-Lite (compat=GeoLite2-ASN)", Schema::Asn),
            ("GeoIP2-ISP", Schema::Asn),
            ("ipinfo lite", Schema::IpInfo),
            ("IPinfo country_asn.mmdb", Schema::IpInfo),
            ("country ipvAll", Schema::Flat),
            ("asn ipv4", Schema::Flat),
            ("city ipv6", Schema::Flat),
            ("Lab-Plan", Schema::Unknown),
        ] {
            assert_eq!(Schema::of(t), want, "{t}");
        }
    }

    #[test]
    fn provides_by_type() {
        let p = |t: &str| {
            let p = Schema::of(t).provides(t);
            (p.country, p.city, p.asn)
        };
        assert_eq!(p("GeoLite2-City"), (true, true, false));
        assert_eq!(p("GeoLite2-Country"), (true, false, false));
        assert_eq!(p("GeoLite2-ASN"), (false, false, true));
        assert_eq!(p("GeoIP2-Enterprise"), (true, true, true));
        assert_eq!(p("ipinfo lite"), (true, false, true));
        assert_eq!(p("ipinfo country_asn.mmdb"), (true, false, true));
        assert_eq!(p("country ipvAll"), (true, false, false));
        assert_eq!(p("city ipv4"), (true, true, false));
        assert_eq!(p("Lab-Plan"), (true, true, true));
    }

    #[test]
    fn leaves() {
        assert_eq!(Asn::from_str("AS15169").0, Some(15169));
        assert_eq!(Asn::from_str(" 64500 ").0, Some(64500));
        assert_eq!(Asn::from_str("AS").0, None);
        assert_eq!(Asn::from_u128(1 << 40).0, None);
        assert_eq!(Asn::from_i128(-1).0, None);
        assert_eq!(Number::from_str("37.4056").0, Some(37.4056));
        assert_eq!(Number::from_str("north").0, None);
        assert_eq!(Number::from_f64(f64::NAN).0, None);
        assert_eq!(Text::from_str("  ").0, None);
        assert_eq!(iso_code("us").as_deref(), Some("US"));
        assert_eq!(iso_code("USA"), None);
        assert_eq!(iso_code("1A"), None);
    }
}
