//! Our writer against the reference reader: libmaxminddb's `mmdblookup`
//! (Debian package `mmdb-bin`, which `.ci/run` installs) must read every
//! database we write the way our own reader does. Skips, saying so, when
//! the tool is absent.

use std::net::IpAddr;
use std::process::Command;

use telltale_geo::writer::{IpVersion, MmdbWriter, Value};
use telltale_geo::{GeoResolver, MmdbDb};

fn have_mmdblookup() -> bool {
    Command::new("mmdblookup").arg("--version").output().is_ok()
}

/// `mmdblookup --file F --ip IP PATH...`: the printed value, or `None` when
/// the address has no entry.
fn lookup(file: &std::path::Path, ip: &str, path: &[&str]) -> Option<String> {
    let out = Command::new("mmdblookup")
        .arg("--file")
        .arg(file)
        .args(["--ip", ip])
        .args(path)
        .output()
        .expect("run mmdblookup");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let err = String::from_utf8_lossy(&out.stderr);
    if err.contains("Could not find an entry") {
        return None;
    }
    assert!(out.status.success(), "mmdblookup failed on {ip}: {err}");
    // A leaf prints as `  "Beijing" <utf8_string>` or `  23724 <uint32>`.
    let leaf = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    let value = leaf.rsplit_once(" <").map_or(leaf, |(v, _)| v);
    Some(value.trim_matches('"').to_string())
}

fn database(record_size: u16) -> Vec<u8> {
    let mut w = MmdbWriter::new("Telltale-Test-City", IpVersion::V6)
        .build_epoch(1_793_491_200)
        .description("en", "libmaxminddb conformance")
        .languages(["en"])
        .record_size(record_size)
        .unwrap();
    let city = |cc: &str, name: &str, city: &str, lat: f64, asn: u32| {
        Value::map([
            ("city", Value::map([("names", Value::map([("en", city)]))])),
            (
                "country",
                Value::map([
                    ("iso_code", Value::from(cc)),
                    ("names", Value::map([("en", name)])),
                ]),
            ),
            (
                "location",
                Value::map([
                    ("latitude", Value::from(lat)),
                    ("longitude", Value::from(-lat)),
                ]),
            ),
            ("traits", Value::map([("autonomous_system_number", asn)])),
        ])
    };
    w.insert_cidr(
        "220.181.0.0/16",
        city("CN", "China", "Beijing", 39.9, 23724),
    )
    .unwrap();
    // A more specific network inside the one above, inserted later.
    w.insert_cidr(
        "220.181.90.0/24",
        city("CN", "China", "Tianjin", 39.1, 4847),
    )
    .unwrap();
    w.insert_cidr(
        "2001:4860::/32",
        city("US", "United States", "Mountain View", 37.4, 15169),
    )
    .unwrap();
    // A long string (size escape 30) and many keys.
    let long = "x".repeat(400);
    w.insert_cidr("198.51.100.0/24", Value::map([("note", long.as_str())]))
        .unwrap();
    w.to_bytes()
}

#[test]
fn mmdblookup_reads_what_we_write() {
    if !have_mmdblookup() {
        eprintln!("skipped: mmdblookup (Debian mmdb-bin) is not installed");
        return;
    }
    let dir = std::env::temp_dir().join(format!("telltale-geo-libmmdb-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for size in [24u16, 28, 32] {
        let bytes = database(size);
        let file = dir.join(format!("test-{size}.mmdb"));
        std::fs::write(&file, &bytes).unwrap();
        let ours = MmdbDb::from_bytes(bytes, "test").unwrap();
        for (ip, city, asn) in [
            ("220.181.1.1", Some("Beijing"), Some("23724")),
            ("220.181.90.14", Some("Tianjin"), Some("4847")),
            ("::ffff:220.181.90.14", Some("Tianjin"), Some("4847")),
            ("2001:4860:4860::8888", Some("Mountain View"), Some("15169")),
            ("1.1.1.1", None, None),
            ("2606:4700::1111", None, None),
        ] {
            let c_city = lookup(&file, ip, &["city", "names", "en"]);
            let c_asn = lookup(&file, ip, &["traits", "autonomous_system_number"]);
            assert_eq!(c_city.as_deref(), city, "size {size}, {ip}: city");
            assert_eq!(c_asn.as_deref(), asn, "size {size}, {ip}: asn");
            let g = ours.lookup(ip.parse::<IpAddr>().unwrap());
            assert_eq!(
                g.as_ref().and_then(|g| g.city.as_deref()),
                city,
                "ours, {ip}"
            );
            assert_eq!(
                g.and_then(|g| g.asn).map(|a| a.to_string()).as_deref(),
                asn,
                "ours, {ip}"
            );
        }
        let lat = lookup(&file, "220.181.1.1", &["location", "latitude"]).unwrap();
        assert_eq!(lat.parse::<f64>().unwrap(), 39.9);
        let note = lookup(&file, "198.51.100.7", &["note"]).unwrap();
        assert_eq!(note.len(), 400);
        let meta = Command::new("mmdblookup")
            .args(["--verbose", "--ip", "1.1.1.1", "--file"])
            .arg(&file)
            .output()
            .unwrap();
        let meta = String::from_utf8_lossy(&meta.stdout);
        assert!(
            meta.contains(&format!("Record size:   {size} bits")),
            "{meta}"
        );
        assert!(meta.contains("Type:          Telltale-Test-City"), "{meta}");
        assert!(meta.contains("2026-11-01 00:00:00 UTC"), "{meta}");
    }
    std::fs::remove_dir_all(&dir).ok();
}
