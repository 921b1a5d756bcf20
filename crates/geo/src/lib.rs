//! Where an endpoint is: the enrichment stage of telltale.
//!
//! - [`Scope`] and [`scope`] classify special addresses (private, carrier-
//!   grade NAT, loopback, link-local, multicast, documentation, ...) from the
//!   IANA special-purpose registries: such addresses are not geolocated,
//!   since no database can say where a `10.x` address is.
//! - [`GeoResolver`] is what any source of locations implements, giving a
//!   [`GeoInfo`] (country, AS number and organisation, city where known).
//! - [`MmdbDb`] reads any MaxMind-format `.mmdb` (GeoLite2/GeoIP2 City,
//!   Country and ASN, DB-IP lite, IPinfo lite, `@ip-location-db`), choosing
//!   the schema from the file's `database_type`; [`EmbeddedDb`] is the
//!   country/ASN/organisation table compiled into the binary; [`GeoDb`]
//!   stacks several of them and merges their answers field by field.
//! - [`writer::MmdbWriter`] writes small `.mmdb` files (for tests, fixtures
//!   and a lab's own address plans).
//!
//! ```
//! use telltale_geo::{scope, Scope};
//! assert_eq!(scope("10.1.2.3".parse().unwrap()), Scope::Private);
//! assert_eq!(scope("100.64.0.1".parse().unwrap()), Scope::Cgnat);
//! assert_eq!(scope("::ffff:192.168.1.1".parse().unwrap()), Scope::Private);
//! assert_eq!(scope("8.8.8.8".parse().unwrap()), Scope::Public);
//! ```
//!
//! Where the RedMi 1S fixture's activation server is, from the embedded
//! default:
//!
//! ```
//! use telltale_geo::{EmbeddedDb, GeoResolver};
//! let db = EmbeddedDb::shared()?;
//! let info = db.lookup("220.181.90.14".parse().unwrap()).unwrap();
//! assert_eq!(info.country_code.as_deref(), Some("CN"));
//! assert_eq!(info.asn, Some(23724));
//! # Ok::<(), telltale_geo::GeoError>(())
//! ```

#![deny(missing_docs)]

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::sync::Arc;

mod countries;
mod db;
mod embedded;
mod mmdb;
pub mod writer;

pub use countries::country_name;
pub use db::GeoDb;
pub use embedded::EmbeddedDb;
pub use mmdb::MmdbDb;

/// What kind of address an endpoint has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Scope {
    /// Globally routable: worth geolocating.
    Public,
    /// RFC 1918 private IPv4, or an IPv6 unique local address (fc00::/7).
    Private,
    /// Shared address space of carrier-grade NAT (100.64.0.0/10, RFC 6598):
    /// mobile carriers hand these to phones.
    Cgnat,
    /// Loopback (127.0.0.0/8, ::1).
    Loopback,
    /// Link-local (169.254.0.0/16, fe80::/10).
    LinkLocal,
    /// Multicast (224.0.0.0/4, ff00::/8).
    Multicast,
    /// The IPv4 limited broadcast address.
    Broadcast,
    /// Reserved for documentation and examples (192.0.2.0/24,
    /// 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32, 3fff::/20).
    Documentation,
    /// Network benchmarking (198.18.0.0/15).
    Benchmarking,
    /// The unspecified address (0.0.0.0, ::) or "this network" (0.0.0.0/8).
    Unspecified,
    /// Reserved or protocol-assignment space (240.0.0.0/4, 192.0.0.0/24,
    /// 100::/64 discard-only).
    Reserved,
}

impl Scope {
    /// The value written in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Public => "public",
            Scope::Private => "private",
            Scope::Cgnat => "cgnat",
            Scope::Loopback => "loopback",
            Scope::LinkLocal => "link_local",
            Scope::Multicast => "multicast",
            Scope::Broadcast => "broadcast",
            Scope::Documentation => "documentation",
            Scope::Benchmarking => "benchmarking",
            Scope::Unspecified => "unspecified",
            Scope::Reserved => "reserved",
        }
    }

    /// Whether the address is globally routable (and so can be geolocated).
    pub fn is_public(self) -> bool {
        self == Scope::Public
    }
}

/// Serialised as [`Scope::as_str`].
impl serde::Serialize for Scope {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The scope of an address. IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`)
/// take the scope of the IPv4 address inside.
pub fn scope(addr: IpAddr) -> Scope {
    match addr {
        IpAddr::V4(v4) => scope_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => scope_v4(v4),
            None => scope_v6(v6),
        },
    }
}

fn scope_v4(a: Ipv4Addr) -> Scope {
    let o = a.octets();
    match o {
        [255, 255, 255, 255] => Scope::Broadcast,
        [0, ..] => Scope::Unspecified,
        [10, ..] | [192, 168, ..] => Scope::Private,
        [172, b, ..] if (16..32).contains(&b) => Scope::Private,
        [100, b, ..] if (64..128).contains(&b) => Scope::Cgnat,
        [127, ..] => Scope::Loopback,
        [169, 254, ..] => Scope::LinkLocal,
        [192, 0, 2, _] | [198, 51, 100, _] | [203, 0, 113, _] => Scope::Documentation,
        [198, 18 | 19, ..] => Scope::Benchmarking,
        [192, 0, 0, _] => Scope::Reserved,
        [a, ..] if (224..240).contains(&a) => Scope::Multicast,
        [a, ..] if a >= 240 => Scope::Reserved,
        _ => Scope::Public,
    }
}

fn scope_v6(a: Ipv6Addr) -> Scope {
    let s = a.segments();
    if a.is_unspecified() {
        Scope::Unspecified
    } else if a.is_loopback() {
        Scope::Loopback
    } else if s[0] & 0xff00 == 0xff00 {
        Scope::Multicast
    } else if s[0] & 0xffc0 == 0xfe80 {
        Scope::LinkLocal
    } else if s[0] & 0xfe00 == 0xfc00 {
        Scope::Private
    } else if (s[0] == 0x2001 && s[1] == 0x0db8) || s[0] & 0xfff0 == 0x3ff0 {
        Scope::Documentation
    } else if s[0] == 0x0100 && s[1] == 0 && s[2] == 0 && s[3] == 0 {
        Scope::Reserved
    } else {
        Scope::Public
    }
}

/// What a database says about an address. Fields a database does not have
/// stay `None`.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct GeoInfo {
    /// ISO 3166-1 alpha-2 country code.
    pub country_code: Option<String>,
    /// Country name (English).
    pub country_name: Option<String>,
    /// City, where the database has it.
    pub city: Option<String>,
    /// Latitude of the database's location for the network.
    pub latitude: Option<f64>,
    /// Longitude of the database's location for the network.
    pub longitude: Option<f64>,
    /// Autonomous system number.
    pub asn: Option<u32>,
    /// Organisation that runs the autonomous system.
    pub as_org: Option<String>,
    /// Names of the databases whose answers make up this one, in the order
    /// they were consulted ([`DatabaseInfo::name`]). Single databases leave
    /// it empty; [`GeoDb`] fills it. `db` in JSON, as in EVE output.
    #[serde(rename = "db")]
    pub sources: Vec<Arc<str>>,
}

impl GeoInfo {
    /// Whether the answer says nothing at all.
    pub fn is_empty(&self) -> bool {
        self.country_code.is_none()
            && self.city.is_none()
            && self.latitude.is_none()
            && self.asn.is_none()
            && self.as_org.is_none()
    }
}

/// Where an address is: its scope, and for a public address what the
/// databases say about it (shared: one answer serves every flow to it).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Location {
    /// The address's scope.
    pub scope: Scope,
    /// The databases' answer; `None` for special addresses, when nothing
    /// is known, or when enrichment is off.
    pub geo: Option<Arc<GeoInfo>>,
}

impl Location {
    /// The scope alone, with no database consulted.
    pub fn unlocated(addr: IpAddr) -> Location {
        Location {
            scope: scope(addr),
            geo: None,
        }
    }
}

/// What a database is: recorded in every report, so that a reader can say
/// which database's opinion a location was, and of what date.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DatabaseInfo {
    /// Short name: the file's `database_type` (e.g. `GeoLite2-City`), or
    /// `telltale-default` for the embedded table.
    pub name: Arc<str>,
    /// Build date, `YYYY-MM-DD` (UTC), from the database's metadata.
    pub build_date: String,
    /// Where it was read from: a path, or `embedded`.
    pub origin: String,
    /// The database's own description (English), if it has one.
    pub description: Option<String>,
    /// Which fields it can answer.
    pub provides: Provides,
    /// The credit its licence asks outputs to give, when it asks one.
    pub attribution: Option<String>,
}

/// Which parts of a [`GeoInfo`] a database can fill.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Provides {
    /// Country code and name.
    pub country: bool,
    /// City and coordinates.
    pub city: bool,
    /// AS number and organisation.
    pub asn: bool,
}

/// Why a database could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GeoError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The file is not a MaxMind database, or not one this reader can use.
    #[error("{path}: not a usable MaxMind database: {message}")]
    Format {
        /// The file (or `embedded`).
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
}

/// A build date as `YYYY-MM-DD` from seconds since the Unix epoch (UTC).
pub fn epoch_to_date(epoch: u64) -> String {
    // Civil-from-days (Howard Hinnant's algorithm): no date crate for one
    // conversion.
    let days = (epoch / 86_400) as i64;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// A source of locations for addresses: a MaxMind-format database, an
/// embedded default, or a caller's own. Called once per distinct address.
pub trait GeoResolver: Send + Sync {
    /// What the source knows about `addr`, or `None`.
    fn lookup(&self, addr: IpAddr) -> Option<GeoInfo>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(a: &str) -> &'static str {
        scope(a.parse().unwrap()).as_str()
    }

    #[test]
    fn ipv4_registry() {
        for (a, want) in [
            ("8.8.8.8", "public"),
            ("10.0.0.1", "private"),
            ("172.16.0.1", "private"),
            ("172.31.255.255", "private"),
            ("172.32.0.1", "public"),
            ("192.168.1.1", "private"),
            ("100.64.0.1", "cgnat"),
            ("100.127.255.255", "cgnat"),
            ("100.128.0.1", "public"),
            ("127.0.0.1", "loopback"),
            ("169.254.1.1", "link_local"),
            ("224.0.0.251", "multicast"),
            ("239.255.255.250", "multicast"),
            ("255.255.255.255", "broadcast"),
            ("0.0.0.0", "unspecified"),
            ("192.0.2.1", "documentation"),
            ("198.51.100.7", "documentation"),
            ("203.0.113.80", "documentation"),
            ("198.18.0.1", "benchmarking"),
            ("240.0.0.1", "reserved"),
            ("192.0.0.9", "reserved"),
            ("220.181.90.14", "public"),
        ] {
            assert_eq!(s(a), want, "{a}");
        }
    }

    #[test]
    fn dates() {
        assert_eq!(epoch_to_date(0), "1970-01-01");
        assert_eq!(epoch_to_date(951_782_400), "2000-02-29");
        assert_eq!(epoch_to_date(1_781_654_400), "2026-06-17");
    }

    #[test]
    fn ipv6_registry() {
        for (a, want) in [
            ("2001:4860:4860::8888", "public"),
            ("::", "unspecified"),
            ("::1", "loopback"),
            ("fe80::1", "link_local"),
            ("fd12:3456::1", "private"),
            ("ff02::fb", "multicast"),
            ("2001:db8::1", "documentation"),
            ("3fff::1", "documentation"),
            ("100::1", "reserved"),
            ("::ffff:10.0.0.1", "private"),
            ("::ffff:8.8.8.8", "public"),
        ] {
            assert_eq!(s(a), want, "{a}");
        }
    }
}
