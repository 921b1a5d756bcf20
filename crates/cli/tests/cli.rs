//! The `telltale` command as a user runs it: outputs, exit codes, determinism.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn telltale(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_telltale"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run telltale")
}

/// Compares with a golden file; `TELLTALE_BLESS=1` rewrites it.
fn golden(name: &str, actual: &[u8]) {
    let path = root().join("fixtures/expected").join(name);
    if std::env::var_os("TELLTALE_BLESS").is_some() {
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read(&path).unwrap_or_default();
    assert!(
        expected == actual,
        "{} differs (TELLTALE_BLESS=1 to accept):\n{}",
        path.display(),
        String::from_utf8_lossy(actual)
    );
}

#[test]
fn redmi_eve_jsonl_is_exact() {
    let out = telltale(&[
        "analyze",
        "--format",
        "jsonl",
        "fixtures/redmi-1s-2014.pcap",
    ]);
    assert!(out.status.success());
    golden("redmi-1s-2014.eve.jsonl", &out.stdout);
    // Every record has the EVE envelope.
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        for key in [
            "\"timestamp\":",
            "\"event_type\":",
            "\"pcap_filename\":",
            "\"flow_id\":",
            "\"src_ip\":",
            "\"src_port\":",
            "\"dest_ip\":",
            "\"dest_port\":",
            "\"proto\":",
            "\"app_proto\":",
        ] {
            assert!(line.contains(key), "{key} missing in {line}");
        }
    }
}

#[test]
fn redmi_table_and_csv_are_exact() {
    let out = telltale(&["analyze", "fixtures/redmi-1s-2014.pcap"]);
    assert!(out.status.success());
    golden("redmi-1s-2014.table.txt", &out.stdout);
    let out = telltale(&["analyze", "-f", "csv", "fixtures/redmi-1s-2014.pcap"]);
    golden("redmi-1s-2014.flows.csv", &out.stdout);
    let out = telltale(&[
        "analyze",
        "-f",
        "destinations-csv",
        "fixtures/redmi-1s-2014.pcap",
    ]);
    golden("redmi-1s-2014.destinations.csv", &out.stdout);
    let out = telltale(&[
        "analyze",
        "-f",
        "identifiers-csv",
        "--device",
        "docs/device-profile.example.toml",
        "fixtures/redmi-1s-2014.pcap",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    golden("redmi-1s-2014.identifiers.csv", &out.stdout);
}

#[test]
fn output_is_identical_for_any_thread_count() {
    let one = telltale(&["analyze", "-f", "jsonl", "-j", "1", "fixtures"]);
    let four = telltale(&["analyze", "-f", "jsonl", "-j", "4", "fixtures"]);
    assert!(one.status.success());
    assert!(one.stdout.len() > 10_000);
    assert!(one.stdout == four.stdout, "-j 1 and -j 4 differ");
    assert_eq!(one.stderr, four.stderr);
}

#[test]
fn exit_codes_and_warnings() {
    // A damaged capture still succeeds, with a warning naming offset and packet.
    let out = telltale(&["analyze", "fixtures/pcap-truncated.pcap"]);
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("pcap-truncated.pcap: byte offset") && err.contains("packet 7"),
        "{err}"
    );
    // An unreadable input: the others are still reported, exit 1.
    let out = telltale(&[
        "analyze",
        "-f",
        "csv",
        "fixtures/README.md",
        "fixtures/tcp-midstream.pcap",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("README.md: not a pcap or pcapng capture")
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 2);
    // Usage error.
    assert_eq!(telltale(&["analyze"]).status.code(), Some(2));
    assert_eq!(
        telltale(&["analyze", "--format", "xml", "x"]).status.code(),
        Some(2)
    );
}

#[test]
fn standard_input_and_output_file() {
    let dir = std::env::temp_dir().join(format!("telltale-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out_file = dir.join("out.jsonl");
    let input = std::fs::File::open(root().join("fixtures/pcap-gzip.pcap.gz")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_telltale"))
        .args(["analyze", "-f", "jsonl", "-o"])
        .arg(&out_file)
        .arg("-")
        .stdin(input)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = std::fs::read_to_string(&out_file).unwrap();
    assert!(text.contains("\"hostname\":\"gzip.example\""));
    assert!(text.contains("\"pcap_filename\":\"-\""));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn redaction_masks_identifiers_everywhere() {
    let run = |key: &str| {
        let out = telltale(&[
            "analyze",
            "-f",
            "jsonl",
            "--device",
            "docs/device-profile.example.toml",
            "--redact",
            "--redact-key",
            key,
            "fixtures/redmi-1s-2014.pcap",
        ]);
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    };
    let a = run("one");
    for secret in [
        "865123456789019",
        "460011234567890",
        "8613812345678",
        "8613900001111",
    ] {
        assert!(!a.contains(secret), "{secret} leaked");
    }
    assert!(a.contains("\"kind\":\"imei\",\"value\":\"imei~"));
    // Same key, same pseudonyms; another key, others.
    assert_eq!(a, run("one"));
    assert_ne!(a, run("two"));
}

/// The issue's own example: Google's resolver over both families, and a
/// private address that is classified, not looked up.
#[test]
fn geo_table_names_country_and_network() {
    let out = telltale(&["geo", "8.8.8.8", "2001:4860:4860::8888", "10.0.0.1"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<Vec<&str>> = text
        .lines()
        .skip(1)
        .take(3)
        .map(|l| l.split_whitespace().collect())
        .collect();
    for row in &rows[..2] {
        assert_eq!(&row[1..4], ["public", "US", "United"], "{text}");
        assert!(row.contains(&"AS15169"), "{text}");
    }
    assert_eq!(&rows[2][..3], ["10.0.0.1", "private", "-"], "{text}");
    assert!(text.contains("telltale-default built 2026-06-17"), "{text}");
    assert!(text.contains("DB-IP"), "attribution: {text}");
    assert_eq!(telltale(&["geo", "not-an-ip"]).status.code(), Some(2));
}

#[test]
fn geo_json_scopes_and_answers() {
    let out = telltale(&[
        "geo",
        "--json",
        "8.8.8.8",
        "::ffff:8.8.8.8",
        "10.0.0.1",
        "::ffff:100.64.0.9",
        "52.74.0.1",
    ]);
    assert!(out.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let scopes: Vec<&str> = lines.iter().map(|l| l["scope"].as_str().unwrap()).collect();
    assert_eq!(scopes, ["public", "public", "private", "cgnat", "public"]);
    for l in &lines[..2] {
        assert_eq!(l["asn"], 15169);
        assert_eq!(l["country_code"], "US");
        assert_eq!(l["db"][0], "telltale-default");
    }
    assert!(lines[2].get("country_code").is_none());
    // An AWS address in Singapore.
    assert_eq!(lines[4]["country_code"], "SG");
    assert_eq!(lines[4]["asn"], 16509);
    assert!(lines[4]["as_org"].as_str().unwrap().contains("Amazon"));
    // With GeoIP off, only the scope.
    let out = telltale(&["geo", "--json", "--no-geo", "8.8.8.8"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v, serde_json::json!({"ip": "8.8.8.8", "scope": "public"}));
}

/// A City database given with `--geoip` adds the city and coordinates to
/// `dest_geo`; the embedded default still gives the network.
#[test]
fn user_city_database_adds_the_city() {
    let out = telltale(&[
        "analyze",
        "-f",
        "jsonl",
        "--geoip",
        "fixtures/geoip-test-city.mmdb",
        "fixtures/redmi-1s-2014.pcap",
    ]);
    assert!(out.status.success());
    let flows: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["event_type"] == "flow" && v["dest_ip"] == "220.181.90.14")
        .collect();
    assert_eq!(flows.len(), 1);
    let geo = &flows[0]["flow"]["dest_geo"];
    assert_eq!(geo["city"], "Beijing");
    assert_eq!(geo["latitude"], 39.9042);
    assert_eq!(geo["country_code"], "CN");
    assert_eq!(geo["asn"], 23724);
    assert_eq!(
        geo["db"],
        serde_json::json!(["Telltale-Test-City", "telltale-default"])
    );

    // Without GeoIP, the scope alone.
    let out = telltale(&[
        "analyze",
        "-f",
        "jsonl",
        "--no-geo",
        "fixtures/redmi-1s-2014.pcap",
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains(r#""dest_geo":{"scope":"public"}"#), "{text}");
    assert!(!text.contains("as_org"));

    // A file that is not a database is a clear error naming it.
    let out = telltale(&[
        "analyze",
        "--geoip",
        "README.md",
        "fixtures/redmi-1s-2014.pcap",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("README.md"), "{err}");
}

/// Limits are options; hitting one is said, and the rest is still read.
#[test]
fn limit_options_are_applied_and_reported() {
    let out = telltale(&[
        "analyze",
        "-f",
        "csv",
        "--max-flows",
        "2",
        "fixtures/redmi-1s-2014.pcap",
    ]);
    assert!(out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("flow table full"), "{err}");
    // Every flow is still reported, the evicted ones ended early.
    let csv = String::from_utf8(out.stdout).unwrap();
    assert_eq!(csv.lines().count(), 1 + 11, "{csv}");
    assert!(csv.contains("api.account.xiaomi.com"));

    let bad = telltale(&[
        "analyze",
        "--max-decompressed",
        "lots",
        "fixtures/redmi-1s-2014.pcap",
    ]);
    assert_eq!(bad.status.code(), Some(2));
}

/// `--stream` writes the very lines of `-f jsonl` as they come, for every
/// fixture; it wants JSON Lines and refuses what it cannot do while
/// streaming.
#[test]
fn streamed_lines_are_the_collected_lines() {
    let sorted = |o: &Output| {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let mut lines: Vec<String> = String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(str::to_owned)
            .collect();
        lines.sort();
        lines
    };
    let streamed = telltale(&["analyze", "--stream", "-f", "jsonl", "fixtures"]);
    let collected = telltale(&["analyze", "-f", "jsonl", "fixtures"]);
    let (s, c) = (sorted(&streamed), sorted(&collected));
    assert!(s.len() > 200, "{}", s.len());
    assert!(s == c, "streamed and collected lines differ");
    assert_eq!(streamed.stderr, collected.stderr, "same warnings");
    // Events come as they are read, each flow's record when it ends: after
    // every event of its flow (the first line of the redmi capture is a
    // DNS query, its flow's record comes later).
    let text = String::from_utf8_lossy(&streamed.stdout);
    let flow_of = |line: &str| {
        let at = line.find("\"flow_id\":").expect("flow_id") + 10;
        let id: String = line[at..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        let file = line.split("\"pcap_filename\":").nth(1).unwrap_or("");
        (file.split(',').next().unwrap_or("").to_owned(), id)
    };
    let mut ended = std::collections::HashSet::new();
    let mut events_before_their_flow = 0;
    for line in text.lines() {
        if line.contains("\"event_type\":\"flow\"") {
            ended.insert(flow_of(line));
        } else if !line.contains("\"event_type\":\"identifier\"") {
            assert!(
                !ended.contains(&flow_of(line)),
                "an event after its flow ended: {line}"
            );
            events_before_their_flow += 1;
        }
    }
    assert!(events_before_their_flow > 100, "{events_before_their_flow}");
    let first = text.lines().next().unwrap();
    assert!(!first.contains("\"event_type\":\"flow\""), "{first}");
    // Not JSON Lines, or not possible while streaming: usage errors.
    let out = telltale(&["analyze", "--stream", "fixtures/redmi-1s-2014.pcap"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("-f jsonl"));
    let out = telltale(&["analyze", "--stream", "--redact", "-f", "jsonl", "fixtures"]);
    assert_eq!(out.status.code(), Some(2));
}

/// `-f jsonl` sorts through temporary files beyond --sort-memory: the same
/// bytes with a buffer of a few lines as with the default, and a clear
/// error naming the folder when temporary files cannot be made.
#[test]
fn jsonl_sorted_on_disk_is_the_same_and_says_where_it_failed() {
    let whole = telltale(&["analyze", "-j", "1", "-f", "jsonl", "fixtures"]);
    assert!(whole.status.success());
    let spilled = telltale(&[
        "analyze",
        "-j",
        "1",
        "-f",
        "jsonl",
        "--sort-memory",
        "1K",
        "--collect-limit",
        "0",
        "fixtures",
    ]);
    assert!(spilled.status.success());
    assert!(whole.stdout.len() > 100_000);
    assert!(
        spilled.stdout == whole.stdout,
        "sorted on disk, lines differ"
    );
    assert_eq!(spilled.stderr, whole.stderr, "same warnings");

    let missing = root().join("target/no-such-tmp-dir");
    let out = Command::new(env!("CARGO_BIN_EXE_telltale"))
        .args(["analyze", "-j", "1", "-f", "jsonl", "--sort-memory", "1K"])
        .args(["--collect-limit", "0"])
        .arg("fixtures/redmi-1s-2014.pcap")
        .env("TMPDIR", &missing)
        .current_dir(root())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot sort the output in temporary files in")
            && err.contains("no-such-tmp-dir"),
        "{err}"
    );
    let out = telltale(&["analyze", "-f", "jsonl", "--sort-memory", "12Q", "fixtures"]);
    assert_eq!(out.status.code(), Some(2));
}

/// The destination table and CSV added up as flows end, and the flows and
/// identifiers CSV sorted on disk (the captures over --collect-limit), are
/// those of the collected report.
#[test]
fn streamed_outputs_are_the_collected_ones() {
    for format in ["table", "destinations-csv", "csv", "identifiers-csv"] {
        for threads in ["1", "3"] {
            let args = ["analyze", "-j", threads, "-f", format, "fixtures"];
            let collected = telltale(&args);
            let extra = ["--collect-limit", "0", "--sort-memory", "1K"];
            let streamed = telltale(&[&args[..], &extra].concat());
            assert!(collected.status.success() && streamed.status.success());
            assert!(collected.stdout.len() > 900, "{format}");
            assert!(
                streamed.stdout == collected.stdout,
                "{format} on {threads} threads differs"
            );
            assert_eq!(streamed.stderr, collected.stderr);
        }
    }
}
