//! `MmdbWriter` writes databases of every supported schema; `MmdbDb` reads
//! them back. The `maxminddb` crate reads the same bytes as a check that the
//! writer follows the MaxMind DB spec.

use std::net::IpAddr;

use telltale_geo::writer::{IpVersion, MmdbWriter, Value, WriteError};
use telltale_geo::{GeoError, GeoInfo, GeoResolver, MmdbDb};

const EPOCH: u64 = 1_781_654_400; // 2026-06-17

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn writer(database_type: &str, v: IpVersion) -> MmdbWriter {
    MmdbWriter::new(database_type, v)
        .build_epoch(EPOCH)
        .description("en", &format!("{database_type} test database"))
        .languages(["en", "de"])
}

/// Reads `w`'s bytes with our reader, after the maxminddb crate's verifier
/// has accepted them.
fn open(w: &MmdbWriter) -> MmdbDb {
    let bytes = w.to_bytes();
    let check = maxminddb::Reader::from_source(bytes.clone()).expect("maxminddb opens it");
    check.verify().expect("maxminddb verifies it");
    MmdbDb::from_bytes(bytes, "test.mmdb").unwrap()
}

fn look(db: &MmdbDb, addr: &str) -> GeoInfo {
    db.lookup(ip(addr))
        .unwrap_or_else(|| panic!("{addr}: no answer"))
}

fn names(en: &str, de: &str) -> Value {
    Value::map([("en", en), ("de", de)])
}

fn maxmind_country(code: &str, en: &str, de: &str, geoname_id: u32) -> Value {
    Value::map([
        ("geoname_id", Value::U32(geoname_id)),
        ("iso_code", code.into()),
        ("names", names(en, de)),
    ])
}

fn geolite2_city(city: &str, code: &str, country: &str, lat: f64, lon: f64) -> Value {
    Value::map([
        (
            "city",
            Value::map([
                ("geoname_id", Value::U32(2_643_743)),
                ("names", names(city, city)),
            ]),
        ),
        (
            "continent",
            Value::map([
                ("code", Value::from("EU")),
                ("geoname_id", Value::U32(6_255_148)),
                ("names", names("Europe", "Europa")),
            ]),
        ),
        ("country", maxmind_country(code, country, country, 1)),
        (
            "location",
            Value::map([
                ("accuracy_radius", Value::U16(10)),
                ("latitude", Value::Double(lat)),
                ("longitude", Value::Double(lon)),
                ("time_zone", Value::from("Europe/London")),
            ]),
        ),
        ("postal", Value::map([("code", "W1")])),
        (
            "registered_country",
            maxmind_country(code, country, country, 1),
        ),
        (
            "subdivisions",
            Value::array([Value::map([
                ("iso_code", Value::from("ENG")),
                ("names", names("England", "England")),
            ])]),
        ),
    ])
}

#[test]
fn geolite2_city_ipv4_mapped_and_ipv6() {
    let mut w = writer("GeoLite2-City", IpVersion::V6);
    w.insert_cidr(
        "81.2.69.0/24",
        geolite2_city("London", "GB", "United Kingdom", 51.5142, -0.0931),
    )
    .unwrap();
    w.insert_cidr(
        "2001:db8:1::/48",
        geolite2_city("Berlin", "DE", "Germany", 52.5244, 13.4105),
    )
    .unwrap();
    let db = open(&w);

    let london = look(&db, "81.2.69.142");
    assert_eq!(london.country_code.as_deref(), Some("GB"));
    assert_eq!(london.country_name.as_deref(), Some("United Kingdom"));
    assert_eq!(london.city.as_deref(), Some("London"));
    assert_eq!(london.latitude, Some(51.5142));
    assert_eq!(london.longitude, Some(-0.0931));
    assert_eq!(london.asn, None);
    assert!(london.sources.is_empty());
    assert_eq!(look(&db, "::ffff:81.2.69.142"), london);

    let berlin = look(&db, "2001:db8:1:2::3");
    assert_eq!(berlin.country_code.as_deref(), Some("DE"));
    assert_eq!(berlin.country_name.as_deref(), Some("Germany"));
    assert_eq!(berlin.city.as_deref(), Some("Berlin"));
    assert_eq!(berlin.latitude, Some(52.5244));
    assert_eq!(berlin.longitude, Some(13.4105));

    assert_eq!(db.lookup(ip("81.2.70.1")), None);
    assert_eq!(db.lookup(ip("2001:db8:2::1")), None);
    assert_eq!(db.lookup(ip("::ffff:8.8.8.8")), None);

    // The maxminddb crate finds the same records, including through the
    // ::ffff:0:0/96 alias, and its own GeoIP2 City schema decodes them.
    let r = maxminddb::Reader::from_source(w.to_bytes()).unwrap();
    for addr in ["81.2.69.142", "::ffff:81.2.69.142"] {
        let found = r.lookup(ip(addr)).unwrap();
        let city: maxminddb::geoip2::City = found.decode().unwrap().unwrap();
        assert_eq!(city.country.iso_code, Some("GB"), "{addr}");
        assert_eq!(city.city.names.english, Some("London"), "{addr}");
        assert_eq!(city.subdivisions[0].iso_code, Some("ENG"), "{addr}");
        assert_eq!(city.location.time_zone, Some("Europe/London"), "{addr}");
    }
    let net = r
        .lookup(ip("::ffff:81.2.69.142"))
        .unwrap()
        .network()
        .unwrap();
    assert_eq!(net.to_string(), "::ffff:81.2.69.0/120");
    let net = r.lookup(ip("81.2.69.142")).unwrap().network().unwrap();
    assert_eq!(net.to_string(), "81.2.69.0/24");
    assert!(!r.lookup(ip("2001:db8:2::1")).unwrap().has_data());
}

#[test]
fn geolite2_country_falls_back_to_registered_country() {
    let mut w = writer("GeoLite2-Country", IpVersion::V6);
    w.insert_cidr(
        "192.0.2.0/24",
        Value::map([
            (
                "country",
                maxmind_country("FR", "France", "Frankreich", 3_017_382),
            ),
            (
                "registered_country",
                maxmind_country("DE", "Germany", "Deutschland", 2_921_044),
            ),
        ]),
    )
    .unwrap();
    // Anycast or satellite networks: no `country`, only where registered.
    w.insert_cidr(
        "198.51.100.0/24",
        Value::map([(
            "registered_country",
            maxmind_country("NL", "Netherlands", "Niederlande", 2_750_405),
        )]),
    )
    .unwrap();
    let db = open(&w);
    let fr = look(&db, "192.0.2.1");
    assert_eq!(fr.country_code.as_deref(), Some("FR"));
    assert_eq!(fr.country_name.as_deref(), Some("France"));
    assert_eq!(fr.city, None);
    let nl = look(&db, "198.51.100.200");
    assert_eq!(nl.country_code.as_deref(), Some("NL"));
    assert_eq!(nl.country_name.as_deref(), Some("Netherlands"));

    let p = db.info().provides;
    assert!(p.country && !p.city && !p.asn);
}

#[test]
fn geolite2_asn() {
    let mut w = writer("GeoLite2-ASN", IpVersion::V6);
    let google = Value::map([
        ("autonomous_system_number", Value::U32(15169)),
        ("autonomous_system_organization", "GOOGLE".into()),
    ]);
    w.insert_cidr("8.8.8.0/24", google.clone()).unwrap();
    w.insert_cidr("2001:4860::/32", google).unwrap();
    let db = open(&w);
    for addr in ["8.8.8.8", "::ffff:8.8.8.8", "2001:4860:4860::8888"] {
        let g = look(&db, addr);
        assert_eq!(g.asn, Some(15169), "{addr}");
        assert_eq!(g.as_org.as_deref(), Some("GOOGLE"), "{addr}");
        assert_eq!(g.country_code, None, "{addr}");
    }
    let p = db.info().provides;
    assert!(!p.country && !p.city && p.asn);
}

#[test]
fn geoip2_enterprise_traits() {
    let mut w = writer("GeoIP2-Enterprise", IpVersion::V6);
    w.insert_cidr(
        "203.0.113.0/24",
        Value::map([
            (
                "country",
                maxmind_country("AU", "Australia", "Australien", 2_077_456),
            ),
            (
                "traits",
                Value::map([
                    ("autonomous_system_number", Value::U32(64_496)),
                    ("autonomous_system_organization", "Example Telecom".into()),
                    ("is_anycast", Value::Bool(false)),
                ]),
            ),
        ]),
    )
    .unwrap();
    let db = open(&w);
    let g = look(&db, "203.0.113.9");
    assert_eq!(g.country_code.as_deref(), Some("AU"));
    assert_eq!(g.asn, Some(64_496));
    assert_eq!(g.as_org.as_deref(), Some("Example Telecom"));
    let p = db.info().provides;
    assert!(p.country && p.city && p.asn);
}

#[test]
fn dbip_city_lite() {
    let mut w = writer("DBIP-City-Lite", IpVersion::V6);
    w.insert_cidr(
        "1.0.16.0/20",
        Value::map([
            (
                "city",
                Value::map([("names", Value::map([("en", "Tokyo")]))]),
            ),
            (
                "continent",
                Value::map([
                    ("code", Value::from("AS")),
                    ("geoname_id", Value::U32(6_255_147)),
                    ("names", Value::map([("en", "Asia")])),
                ]),
            ),
            (
                "country",
                Value::map([
                    ("geoname_id", Value::U32(1_861_060)),
                    ("is_in_european_union", Value::Bool(false)),
                    ("iso_code", Value::from("JP")),
                    ("names", Value::map([("en", "Japan")])),
                ]),
            ),
            (
                "location",
                Value::map([("latitude", 35.6895), ("longitude", 139.692)]),
            ),
            (
                "subdivisions",
                Value::array([Value::map([("names", Value::map([("en", "Tokyo")]))])]),
            ),
        ]),
    )
    .unwrap();
    let db = open(&w);
    let g = look(&db, "1.0.20.1");
    assert_eq!(g.country_code.as_deref(), Some("JP"));
    assert_eq!(g.country_name.as_deref(), Some("Japan"));
    assert_eq!(g.city.as_deref(), Some("Tokyo"));
    assert_eq!(g.latitude, Some(35.6895));
    assert_eq!(g.longitude, Some(139.692));
    assert_eq!(db.lookup(ip("1.0.32.1")), None);
    let p = db.info().provides;
    assert!(p.country && p.city && !p.asn);
}

#[test]
fn dbip_asn_lite() {
    let mut w = writer("DBIP-ASN-Lite (compat=GeoLite2-ASN)", IpVersion::V6);
    w.insert_cidr(
        "1.1.1.0/24",
        Value::map([
            ("autonomous_system_number", Value::U32(13335)),
            ("autonomous_system_organization", "Cloudflare, Inc.".into()),
        ]),
    )
    .unwrap();
    let db = open(&w);
    let g = look(&db, "1.1.1.1");
    assert_eq!(g.asn, Some(13335));
    assert_eq!(g.as_org.as_deref(), Some("Cloudflare, Inc."));
    assert_eq!(
        db.info().name.as_ref(),
        "DBIP-ASN-Lite (compat=GeoLite2-ASN)"
    );
    let p = db.info().provides;
    assert!(!p.country && !p.city && p.asn);
}

#[test]
fn ipinfo_lite() {
    let mut w = writer("ipinfo lite", IpVersion::V6);
    let google = Value::map([
        ("as_domain", "google.com"),
        ("as_name", "Google LLC"),
        ("asn", "AS15169"),
        ("continent", "North America"),
        ("continent_code", "NA"),
        ("country", "United States"),
        ("country_code", "US"),
    ]);
    w.insert_cidr("8.8.8.0/24", google.clone()).unwrap();
    w.insert_cidr("2001:4860::/32", google).unwrap();
    let db = open(&w);
    for addr in ["8.8.8.8", "::ffff:8.8.8.8", "2001:4860::1"] {
        let g = look(&db, addr);
        assert_eq!(g.country_code.as_deref(), Some("US"), "{addr}");
        assert_eq!(g.country_name.as_deref(), Some("United States"), "{addr}");
        assert_eq!(g.asn, Some(15169), "{addr}");
        assert_eq!(g.as_org.as_deref(), Some("Google LLC"), "{addr}");
        assert_eq!(g.city, None, "{addr}");
    }
    let p = db.info().provides;
    assert!(p.country && !p.city && p.asn);
}

#[test]
fn ipinfo_country_asn_older_layout() {
    let mut w = writer("ipinfo country_asn.mmdb", IpVersion::V6);
    w.insert_cidr(
        "9.9.9.0/24",
        Value::map([
            ("as_domain", "quad9.net"),
            ("as_name", "Quad9"),
            ("asn", "AS19281"),
            ("continent", "EU"),
            ("continent_name", "Europe"),
            ("country", "CH"),
            ("country_name", "Switzerland"),
        ]),
    )
    .unwrap();
    // Numbers as numbers, the AS number plain: also accepted.
    w.insert_cidr(
        "9.9.10.0/24",
        Value::map([("asn", Value::U32(19281)), ("country", Value::from("ch"))]),
    )
    .unwrap();
    let db = open(&w);
    let g = look(&db, "9.9.9.9");
    assert_eq!(g.country_code.as_deref(), Some("CH"));
    assert_eq!(g.country_name.as_deref(), Some("Switzerland"));
    assert_eq!(g.asn, Some(19281));
    assert_eq!(g.as_org.as_deref(), Some("Quad9"));
    let g = look(&db, "9.9.10.10");
    assert_eq!(g.country_code.as_deref(), Some("CH"));
    assert_eq!(g.country_name.as_deref(), Some("Switzerland"));
    assert_eq!(g.asn, Some(19281));
    assert_eq!(g.as_org, None);
}

#[test]
fn ipinfo_location_numbers_as_strings() {
    let mut w = writer("ipinfo standard_location.mmdb", IpVersion::V6);
    w.insert_cidr(
        "8.8.4.0/24",
        Value::map([
            ("city", "Mountain View"),
            ("country", "US"),
            ("latitude", "37.4056"),
            ("longitude", "-122.0775"),
            ("postal_code", "94043"),
            ("region", "California"),
        ]),
    )
    .unwrap();
    let db = open(&w);
    let g = look(&db, "8.8.4.4");
    assert_eq!(g.city.as_deref(), Some("Mountain View"));
    assert_eq!(g.country_code.as_deref(), Some("US"));
    assert_eq!(g.country_name.as_deref(), Some("United States"));
    assert_eq!(g.latitude, Some(37.4056));
    assert_eq!(g.longitude, Some(-122.0775));
    let p = db.info().provides;
    assert!(p.country && p.city && !p.asn);
}

#[test]
fn ip_location_db_country_gets_name_from_code() {
    let mut w = writer("country ipvAll", IpVersion::V6);
    w.insert_cidr("1.0.0.0/24", Value::map([("country_code", "AU")]))
        .unwrap();
    w.insert_cidr("2001:200::/23", Value::map([("country_code", "JP")]))
        .unwrap();
    let db = open(&w);
    let au = look(&db, "1.0.0.1");
    assert_eq!(au.country_code.as_deref(), Some("AU"));
    assert_eq!(au.country_name.as_deref(), telltale_geo::country_name("AU"));
    assert_eq!(au.country_name.as_deref(), Some("Australia"));
    let jp = look(&db, "2001:200::1");
    assert_eq!(jp.country_code.as_deref(), Some("JP"));
    assert_eq!(jp.country_name.as_deref(), Some("Japan"));
    let p = db.info().provides;
    assert!(p.country && !p.city && !p.asn);
}

#[test]
fn ip_location_db_city_and_asn_flat_ipv4() {
    let mut w = writer("city ipv4", IpVersion::V4);
    w.insert_cidr(
        "1.0.16.0/20",
        Value::map([
            ("city", Value::from("Tokyo")),
            ("country_code", "JP".into()),
            ("latitude", Value::Double(35.6895)),
            ("longitude", Value::Float(139.5)),
            ("postcode", "100-0001".into()),
            ("state1", "Tokyo".into()),
            ("timezone", "Asia/Tokyo".into()),
        ]),
    )
    .unwrap();
    let db = open(&w);
    let g = look(&db, "1.0.17.1");
    assert_eq!(g.city.as_deref(), Some("Tokyo"));
    assert_eq!(g.country_code.as_deref(), Some("JP"));
    assert_eq!(g.country_name.as_deref(), Some("Japan"));
    assert_eq!(g.latitude, Some(35.6895));
    assert_eq!(g.longitude, Some(139.5));
    let p = db.info().provides;
    assert!(p.country && p.city && !p.asn);

    let mut w = writer("asn ipv4", IpVersion::V4);
    w.insert_cidr(
        "1.1.1.0/24",
        Value::map([
            ("autonomous_system_number", Value::U32(13335)),
            ("autonomous_system_organization", "CLOUDFLARENET".into()),
        ]),
    )
    .unwrap();
    let db = open(&w);
    let g = look(&db, "1.1.1.1");
    assert_eq!(g.asn, Some(13335));
    assert_eq!(g.as_org.as_deref(), Some("CLOUDFLARENET"));
    let p = db.info().provides;
    assert!(!p.country && !p.city && p.asn);
}

#[test]
fn ipv4_only_database() {
    let mut w = writer("GeoLite2-Country", IpVersion::V4);
    w.insert_cidr(
        "0.0.0.0/1",
        Value::map([("country", Value::map([("iso_code", "SE")]))]),
    )
    .unwrap();
    assert!(matches!(
        w.insert_cidr("2001:db8::/32", Value::map([("x", 1u32)])),
        Err(WriteError::Ipv6InIpv4Database(_))
    ));
    let db = open(&w);
    assert_eq!(look(&db, "1.2.3.4").country_code.as_deref(), Some("SE"));
    assert_eq!(look(&db, "1.2.3.4").country_name.as_deref(), Some("Sweden"));
    assert_eq!(
        look(&db, "::ffff:1.2.3.4").country_code.as_deref(),
        Some("SE")
    );
    assert_eq!(db.lookup(ip("128.0.0.1")), None);
    assert_eq!(db.lookup(ip("2001:db8::1")), None);
    assert_eq!(db.lookup(ip("::1")), None);

    let r = maxminddb::Reader::from_source(w.to_bytes()).unwrap();
    assert_eq!(r.metadata().ip_version, 4);
}

fn asn_record(n: u32) -> Value {
    Value::map([("autonomous_system_number", Value::U32(n))])
}

#[test]
fn nested_networks() {
    let mut w = writer("GeoLite2-ASN", IpVersion::V6);
    w.insert_cidr("10.0.0.0/16", asn_record(1)).unwrap();
    w.insert_cidr("10.0.5.0/24", asn_record(2)).unwrap();
    w.insert_cidr("10.0.5.128/32", asn_record(3)).unwrap();
    w.insert_cidr("2001:db8::/32", asn_record(4)).unwrap();
    w.insert_cidr("2001:db8:ff::/48", asn_record(5)).unwrap();
    let db = open(&w);
    let asn = |a: &str| db.lookup(ip(a)).and_then(|g| g.asn);
    assert_eq!(asn("10.0.0.1"), Some(1));
    assert_eq!(asn("10.0.4.255"), Some(1));
    assert_eq!(asn("10.0.5.0"), Some(2));
    assert_eq!(asn("10.0.5.127"), Some(2));
    assert_eq!(asn("10.0.5.128"), Some(3));
    assert_eq!(asn("10.0.5.129"), Some(2));
    assert_eq!(asn("10.0.6.0"), Some(1));
    assert_eq!(asn("10.0.255.255"), Some(1));
    assert_eq!(asn("10.1.0.0"), None);
    assert_eq!(asn("9.255.255.255"), None);
    assert_eq!(asn("2001:db8:1::1"), Some(4));
    assert_eq!(asn("2001:db8:ff:1::1"), Some(5));
    assert_eq!(asn("2001:db9::1"), None);
    assert_eq!(asn("::1"), None);

    // A broader network inserted later replaces what was inside it.
    w.insert_cidr("10.0.0.0/8", asn_record(6)).unwrap();
    let db = open(&w);
    let asn = |a: &str| db.lookup(ip(a)).and_then(|g| g.asn);
    assert_eq!(asn("10.0.5.128"), Some(6));
    assert_eq!(asn("10.0.5.1"), Some(6));
    assert_eq!(asn("10.200.0.1"), Some(6));
    assert_eq!(asn("2001:db8:ff:1::1"), Some(5));
}

/// xorshift64*: deterministic "random" networks without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// Random IPv4 and IPv6 networks, clustered so that many nest.
fn random_networks(seed: u64, n: usize) -> Vec<(IpAddr, u8)> {
    let mut rng = Rng(seed);
    (0..n)
        .map(|_| {
            let r = rng.next();
            if r.is_multiple_of(3) {
                // 2001:db8::/32 .. with prefixes 32..=64
                let bits = (0x2001_0db8u128 << 96) | (u128::from(rng.next() & 0xffff_ffff) << 64);
                (IpAddr::V6(bits.into()), 32 + (rng.next() % 33) as u8)
            } else {
                // 10.0.0.0/12 .. with prefixes 8..=32
                let a = (10u32 << 24) | (rng.next() as u32 & 0x000f_ffff);
                (IpAddr::V4(a.into()), 8 + (rng.next() % 25) as u8)
            }
        })
        .collect()
}

fn contains(net: IpAddr, len: u8, addr: IpAddr) -> bool {
    match (net, addr) {
        (IpAddr::V4(n), IpAddr::V4(a)) => {
            len == 0 || (u32::from(n) ^ u32::from(a)) >> (32 - u32::from(len)) == 0
        }
        (IpAddr::V6(n), IpAddr::V6(a)) => {
            len == 0 || (u128::from(n) ^ u128::from(a)) >> (128 - u32::from(len)) == 0
        }
        _ => false,
    }
}

/// What the tree should answer: the last network inserted that holds the
/// address.
fn model(nets: &[(IpAddr, u8)], addr: IpAddr) -> Option<u32> {
    nets.iter()
        .enumerate()
        .rev()
        .find(|(_, (n, l))| contains(*n, *l, addr))
        .map(|(i, _)| i as u32 % 97 + 1)
}

fn probes(nets: &[(IpAddr, u8)], seed: u64) -> Vec<IpAddr> {
    let mut rng = Rng(seed);
    let mut out = Vec::new();
    for &(n, _) in nets {
        out.push(n);
        out.push(match n {
            IpAddr::V4(a) => IpAddr::V4((u32::from(a) ^ (rng.next() as u32 & 0x0000_ffff)).into()),
            IpAddr::V6(a) => IpAddr::V6((u128::from(a) ^ u128::from(rng.next())).into()),
        });
    }
    out
}

#[test]
fn random_networks_match_a_model_at_every_record_size() {
    let nets = random_networks(0x5eed, 600);
    let mut base = writer("GeoLite2-ASN", IpVersion::V6);
    for (i, &(n, l)) in nets.iter().enumerate() {
        // Few distinct records, so many networks share one.
        base.insert(n, l, asn_record(i as u32 % 97 + 1)).unwrap();
    }
    let probes = probes(&nets, 7);
    let auto = base.to_bytes();
    let mut answers = Vec::new();
    for size in [24u16, 28, 32] {
        let w = base.clone().record_size(size).unwrap();
        let bytes = w.to_bytes();
        if size == 24 {
            assert_eq!(bytes, auto, "24 bits is what fits");
        }
        let r = maxminddb::Reader::from_source(bytes.clone()).unwrap();
        r.verify().unwrap();
        assert_eq!(r.metadata().record_size, size);
        let db = MmdbDb::from_bytes(bytes, "random").unwrap();
        let got: Vec<Option<u32>> = probes
            .iter()
            .map(|&a| db.lookup(a).and_then(|g| g.asn))
            .collect();
        for (a, g) in probes.iter().zip(&got) {
            assert_eq!(*g, model(&nets, *a), "{a} at {size} bits");
            // The maxminddb crate agrees, for IPv4 also via ::ffff:0:0/96.
            let mm = |a: IpAddr| {
                r.lookup(a)
                    .unwrap()
                    .decode_path::<u32>(&[maxminddb::PathElement::Key("autonomous_system_number")])
                    .unwrap()
            };
            assert_eq!(mm(*a), *g, "{a} via maxminddb");
            if let IpAddr::V4(v4) = a {
                assert_eq!(mm(IpAddr::V6(v4.to_ipv6_mapped())), *g, "{a} mapped");
            }
        }
        assert!(got.iter().filter(|g| g.is_some()).count() > probes.len() / 2);
        answers.push(got);
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[1], answers[2]);
}

#[test]
fn records_are_written_once() {
    let mut w = writer("GeoLite2-ASN", IpVersion::V6);
    w.insert_cidr("10.0.0.0/23", asn_record(1)).unwrap();
    let one = w.to_bytes();
    let mut w = writer("GeoLite2-ASN", IpVersion::V6);
    w.insert_cidr("10.0.0.0/24", asn_record(1)).unwrap();
    // An adjacent network with the same record: the two /24s become the
    // same tree as one /23, and the record is written once.
    w.insert_cidr("10.0.1.0/24", asn_record(1)).unwrap();
    assert_eq!(w.to_bytes(), one);
    // A distant network with the same record: more tree, no more data.
    let mut w2 = w.clone();
    w2.insert_cidr("192.168.0.0/24", asn_record(1)).unwrap();
    let r = maxminddb::Reader::from_source(w2.to_bytes()).unwrap();
    let a = r.lookup(ip("10.0.1.1")).unwrap().offset();
    let b = r.lookup(ip("192.168.0.1")).unwrap().offset();
    assert!(a.is_some());
    assert_eq!(a, b);
}

#[test]
fn metadata() {
    let w = writer("GeoLite2-City", IpVersion::V6).description("de", "Testdatenbank");
    let mut w = w;
    w.insert_cidr(
        "192.0.2.0/24",
        geolite2_city("X", "GB", "United Kingdom", 1.0, 2.0),
    )
    .unwrap();
    let bytes = w.to_bytes();
    let db = MmdbDb::from_bytes(bytes.clone(), "/data/GeoLite2-City.mmdb").unwrap();
    let info = db.info();
    assert_eq!(info.name.as_ref(), "GeoLite2-City");
    assert_eq!(info.build_date, "2026-06-17");
    assert_eq!(info.origin, "/data/GeoLite2-City.mmdb");
    assert_eq!(
        info.description.as_deref(),
        Some("GeoLite2-City test database")
    );
    assert!(info.provides.country && info.provides.city && !info.provides.asn);

    let r = maxminddb::Reader::from_source(bytes).unwrap();
    let m = r.metadata();
    assert_eq!(m.database_type, "GeoLite2-City");
    assert_eq!(m.build_epoch, EPOCH);
    assert_eq!(m.binary_format_major_version, 2);
    assert_eq!(m.binary_format_minor_version, 0);
    assert_eq!(m.ip_version, 6);
    assert_eq!(m.record_size, 24);
    assert_eq!(m.languages, ["en", "de"]);
    assert_eq!(m.description["de"], "Testdatenbank");
    assert!(m.node_count >= 96);

    // No description at all: None. Unknown type: claims everything.
    let mut w = MmdbWriter::new("Lab-Plan", IpVersion::V4);
    w.insert_cidr("10.0.0.0/8", Value::map([("country_code", "NL")]))
        .unwrap();
    let db = MmdbDb::from_bytes(w.to_bytes(), "lab").unwrap();
    assert_eq!(db.info().description, None);
    assert_eq!(db.info().build_date, "1970-01-01");
    let p = db.info().provides;
    assert!(p.country && p.city && p.asn);
    assert_eq!(
        look(&db, "10.1.1.1").country_name.as_deref(),
        Some("Netherlands")
    );
}

#[test]
fn open_and_write_files() {
    let dir = std::env::temp_dir().join(format!("telltale-geo-mmdb-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("asn.mmdb");
    let mut w = writer("GeoLite2-ASN", IpVersion::V6);
    w.insert_cidr("8.8.8.0/24", asn_record(15169)).unwrap();
    w.write(&path).unwrap();
    let db = MmdbDb::open(&path).unwrap();
    assert_eq!(db.info().origin, path.display().to_string());
    assert_eq!(look(&db, "8.8.8.8").asn, Some(15169));

    let missing = dir.join("missing.mmdb");
    match MmdbDb::open(&missing) {
        Err(GeoError::Io { path, .. }) => assert_eq!(path, missing),
        other => panic!("expected an Io error, got {other:?}"),
    }
    assert!(matches!(
        w.write(dir.join("no-such-dir").join("x.mmdb")),
        Err(WriteError::Io { .. })
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}

fn format_error(bytes: Vec<u8>, origin: &str) -> String {
    match MmdbDb::from_bytes(bytes, origin) {
        Err(e @ GeoError::Format { .. }) => {
            let GeoError::Format { path, .. } = &e else {
                unreachable!()
            };
            assert_eq!(path.display().to_string(), origin);
            let shown = e.to_string();
            assert!(shown.starts_with(origin), "{shown}");
            shown
        }
        Err(e) => panic!("expected a Format error, got {e:?}"),
        Ok(db) => panic!("{origin}: opened {db:?}"),
    }
}

#[test]
fn unusable_files_are_format_errors() {
    let mut w = writer("GeoLite2-Country", IpVersion::V6);
    w.insert_cidr("192.0.2.0/24", Value::map([("country_code", "DE")]))
        .unwrap();
    let good = w.to_bytes();

    format_error(Vec::new(), "empty.mmdb");
    format_error(good[..good.len() / 2].to_vec(), "half.mmdb");
    format_error(good[..good.len() - 20].to_vec(), "no-end.mmdb");
    let mut rng = Rng(42);
    let noise: Vec<u8> = (0..4096).map(|_| rng.next() as u8).collect();
    format_error(noise.clone(), "noise.mmdb");
    // The marker alone, then garbage where the metadata should be.
    let mut fake = noise;
    fake.extend_from_slice(b"\xAB\xCD\xEFMaxMind.com");
    fake.extend_from_slice(&[0xe1, 0x42, b'x']);
    let shown = format_error(fake, "fake.mmdb");
    assert!(shown.contains("not a usable MaxMind database"), "{shown}");
    // Metadata that claims a tree larger than the file.
    let mut w = MmdbWriter::new("t", IpVersion::V4);
    w.insert_cidr("10.0.0.0/8", Value::map([("a", 1u32)]))
        .unwrap();
    let mut bytes = w.to_bytes();
    let at = bytes.windows(10).rposition(|x| x == b"node_count").unwrap();
    // node_count's value follows its key: a uint32 of 1 byte (0xc1, n).
    assert_eq!(bytes[at + 10], 0xc1);
    bytes[at + 10] = 0xc3;
    bytes.splice(at + 11..at + 12, [0xff, 0xff, 0xff]);
    format_error(bytes, "huge-tree.mmdb");
}

#[test]
fn records_of_the_wrong_shape_give_no_answer() {
    let mut w = writer("GeoLite2-City", IpVersion::V6);
    let bad: Vec<(&str, Value)> = vec![
        ("10.0.0.0/24", Value::map([("country", Value::U32(5))])),
        (
            "10.0.1.0/24",
            Value::map([(
                "country",
                Value::map([("iso_code", Value::U32(7)), ("names", Value::from("x"))]),
            )]),
        ),
        ("10.0.2.0/24", Value::map([("location", "here")])),
        (
            "10.0.3.0/24",
            Value::map([
                ("autonomous_system_number", Value::from("lots")),
                ("city", Value::array([1u32, 2])),
                ("latitude", Value::Bool(true)),
            ]),
        ),
        ("10.0.4.0/24", Value::from("just a string")),
        ("10.0.5.0/24", Value::U64(1 << 40)),
        (
            "10.0.6.0/24",
            Value::Array(vec![Value::map([("country_code", "DE")])]),
        ),
        (
            "10.0.7.0/24",
            Value::map([
                ("country_code", Value::from("Germany")),
                ("autonomous_system_number", Value::U64(1 << 40)),
                (
                    "location",
                    Value::map([("latitude", 95.0), ("longitude", 10.0)]),
                ),
            ]),
        ),
        ("10.0.8.0/24", Value::map([("country", ""), ("city", " ")])),
        ("10.0.9.0/24", Value::map(Vec::<(String, Value)>::new())),
    ];
    for (net, v) in bad {
        w.insert_cidr(net, v).unwrap();
    }
    // Wrong fields beside a good one: the good one is kept.
    w.insert_cidr(
        "10.0.10.0/24",
        Value::map([
            ("country", Value::I32(-3)),
            (
                "city",
                Value::map([("names", Value::map([("en", "Lyon"), ("fr", "Lyon")]))]),
            ),
            ("traits", Value::from("none")),
        ]),
    )
    .unwrap();
    let db = open(&w);
    for i in 0..10 {
        let a = format!("10.0.{i}.1");
        assert_eq!(db.lookup(ip(&a)), None, "{a}");
    }
    let lyon = look(&db, "10.0.10.1");
    assert_eq!(lyon.city.as_deref(), Some("Lyon"));
    assert_eq!(lyon.country_code, None);
}

#[test]
fn corrupt_bytes_never_panic() {
    let nets = random_networks(99, 200);
    let mut w = writer("GeoLite2-City", IpVersion::V6);
    for (i, &(n, l)) in nets.iter().enumerate() {
        let v = geolite2_city(
            &format!("City {}", i % 13),
            "GB",
            "United Kingdom",
            51.0,
            -0.1,
        );
        w.insert(n, l, v).unwrap();
    }
    let good = w.to_bytes();
    let addrs = probes(&nets, 3);
    let mut rng = Rng(1234);
    let mut opened = 0;
    let mut answered = 0;
    for _ in 0..300 {
        let mut bytes = good.clone();
        for _ in 0..1 + rng.next() % 8 {
            let at = (rng.next() % bytes.len() as u64) as usize;
            bytes[at] = rng.next() as u8;
        }
        if let Ok(db) = MmdbDb::from_bytes(bytes, "corrupt") {
            opened += 1;
            for &a in addrs.iter().take(60) {
                answered += usize::from(db.lookup(a).is_some());
            }
        }
    }
    assert!(opened > 100, "{opened}");
    assert!(answered > 0);
}

#[test]
fn resolver_is_shareable() {
    fn shareable<T: Send + Sync + 'static>(_: &T) {}
    let mut w = writer("GeoLite2-ASN", IpVersion::V6);
    w.insert_cidr("8.8.8.0/24", asn_record(15169)).unwrap();
    let db = open(&w);
    shareable(&db);
    let dynamic: Box<dyn GeoResolver> = Box::new(db);
    assert_eq!(
        dynamic.lookup(ip("8.8.8.8")).and_then(|g| g.asn),
        Some(15169)
    );
}

/// A manual check against a real `@ip-location-db` file, where one has been
/// unpacked (not in CI).
#[test]
#[ignore = "needs the @ip-location-db geo-whois-asn-country file under /tmp/geo-src"]
fn real_ip_location_db_file() {
    let path = "/tmp/geo-src/ip-location-db-geo-whois-asn-country-mmdb-2.3.2026061719/package/geo-whois-asn-country.mmdb";
    let db = MmdbDb::open(path).expect("the unpacked npm package");
    let info = db.info();
    println!("{info:?}");
    assert_eq!(info.name.as_ref(), "country ipvAll");
    for a in [
        "8.8.8.8",
        "::ffff:8.8.8.8",
        "2001:4860:4860::8888",
        "1.1.1.1",
        "193.0.6.139",
    ] {
        println!("{a} → {:?}", db.lookup(ip(a)));
    }
    let g = look(&db, "8.8.8.8");
    assert_eq!(g.country_code.as_deref(), Some("US"));
    assert_eq!(g.country_name.as_deref(), Some("United States"));
}

/// A manual check of the writer at scale: every network of the real
/// `@ip-location-db` file, rewritten, answers as the original does.
#[test]
#[ignore = "needs the @ip-location-db geo-whois-asn-country file under /tmp/geo-src"]
fn real_ip_location_db_file_rewritten() {
    let path = "/tmp/geo-src/ip-location-db-geo-whois-asn-country-mmdb-2.3.2026061719/package/geo-whois-asn-country.mmdb";
    let original = std::fs::read(path).expect("the unpacked npm package");
    let r = maxminddb::Reader::from_source(original.clone()).unwrap();
    let mut w =
        MmdbWriter::new("country ipvAll", IpVersion::V6).build_epoch(r.metadata().build_epoch);
    let mut nets = Vec::new();
    let started = std::time::Instant::now();
    for item in r.networks(Default::default()).unwrap() {
        let item = item.unwrap();
        let net = item.network().unwrap();
        let code: Option<String> = item
            .decode_path(&[maxminddb::PathElement::Key("country_code")])
            .unwrap();
        let code = code.unwrap();
        w.insert(net.ip(), net.prefix(), Value::map([("country_code", code)]))
            .unwrap();
        nets.push(net);
    }
    let bytes = w.to_bytes();
    println!(
        "{} networks: {} bytes rewritten (original {}), {:?}",
        nets.len(),
        bytes.len(),
        original.len(),
        started.elapsed()
    );
    let ours = MmdbDb::from_bytes(bytes, "rewritten").unwrap();
    let theirs = MmdbDb::from_bytes(original, path).unwrap();
    for net in nets.iter().step_by(7) {
        let a = net.ip();
        assert_eq!(ours.lookup(a), theirs.lookup(a), "{net}");
    }
}
