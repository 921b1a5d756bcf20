//! Where an endpoint is: the enrichment stage of telltale.
//!
//! - [`Scope`] and [`scope`] classify special addresses (private, carrier-
//!   grade NAT, loopback, link-local, multicast, documentation, ...) from the
//!   IANA special-purpose registries: such addresses are not geolocated,
//!   since no database can say where a `10.x` address is.
//! - [`GeoResolver`] is what any source of locations implements, giving a
//!   [`GeoInfo`] (country, AS number and organisation, city where known).
//!   Databases come with the GeoIP issue; the trait is the seam.
//!
//! ```
//! use telltale_geo::{scope, Scope};
//! assert_eq!(scope("10.1.2.3".parse().unwrap()), Scope::Private);
//! assert_eq!(scope("100.64.0.1".parse().unwrap()), Scope::Cgnat);
//! assert_eq!(scope("::ffff:192.168.1.1".parse().unwrap()), Scope::Private);
//! assert_eq!(scope("8.8.8.8".parse().unwrap()), Scope::Public);
//! ```

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

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
#[derive(Clone, Debug, Default, PartialEq)]
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
