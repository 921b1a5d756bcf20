//! GeoIP test databases in MaxMind format, written with telltale-geo's own
//! writer: a City database to show what `--geoip` adds over the embedded
//! default. Their contents are test data, not real measurements (the
//! cities are where the networks' operators are headquartered).

use std::net::IpAddr;

use telltale_geo::writer::{IpVersion, MmdbWriter, Value};

/// 2026-11-01T00:00:00Z: the build date the test databases claim.
pub const BUILD_EPOCH: u64 = 1_793_491_200;

/// (network, prefix, country code, country name, city, latitude, longitude)
const CITY_ROWS: &[(&str, u8, &str, &str, &str, f64, f64)] = &[
    (
        "220.181.0.0",
        16,
        "CN",
        "China",
        "Beijing",
        39.9042,
        116.4074,
    ),
    (
        "8.8.8.0",
        24,
        "US",
        "United States",
        "Mountain View",
        37.4056,
        -122.0775,
    ),
    (
        "2001:4860::",
        32,
        "US",
        "United States",
        "Mountain View",
        37.4056,
        -122.0775,
    ),
];

/// A database in the GeoLite2-City schema covering the RedMi capture's
/// servers and Google's resolver, IPv4 and IPv6.
pub fn city_mmdb() -> Vec<u8> {
    let mut w = MmdbWriter::new("Telltale-Test-City", IpVersion::V6)
        .build_epoch(BUILD_EPOCH)
        .description(
            "en",
            "telltale test data in the GeoLite2-City schema; not real locations",
        )
        .languages(["en"]);
    for &(net, len, cc, country, city, lat, lon) in CITY_ROWS {
        let addr: IpAddr = net.parse().expect("fixture network");
        let record = Value::map([
            (
                "city",
                Value::map([("names", Value::map([("en", Value::from(city))]))]),
            ),
            (
                "country",
                Value::map([
                    ("iso_code", Value::from(cc)),
                    ("names", Value::map([("en", Value::from(country))])),
                ]),
            ),
            (
                "location",
                Value::map([
                    ("latitude", Value::from(lat)),
                    ("longitude", Value::from(lon)),
                ]),
            ),
        ]);
        w.insert(addr, len, record).expect("fixture network fits");
    }
    w.to_bytes()
}
