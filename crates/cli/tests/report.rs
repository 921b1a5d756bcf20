//! `telltale report`: the folder it writes, masking, batch sections, and
//! the inputs it must never overwrite.

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

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("telltale-report-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const FILES: &[&str] = &[
    "index.html",
    "report.md",
    "report.json",
    "flows.csv",
    "identifiers.csv",
    "destinations.csv",
    "dns.csv",
    "events.jsonl",
];

const IMEI: &str = "865123456789019";

#[test]
fn writes_every_file_with_values_masked() {
    let dir = scratch("masked");
    let out_dir = dir.join("out");
    let out = telltale(&[
        "report",
        "-q",
        "--device",
        "docs/device-profile.example.toml",
        "-o",
        out_dir.to_str().unwrap(),
        "fixtures/redmi-1s-2014.pcap",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8(out.stdout).unwrap();
    assert!(said.contains("index.html"), "says where it wrote: {said}");
    let mut names: Vec<String> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut want: Vec<String> = FILES.iter().map(|s| s.to_string()).collect();
    want.sort();
    // Exactly the report's files: no temporary file left behind.
    assert_eq!(names, want);
    for f in FILES {
        let text = std::fs::read_to_string(out_dir.join(f)).unwrap();
        assert!(!text.is_empty(), "{f} is empty");
        assert!(
            !text.contains(IMEI),
            "{f} shows the IMEI although values are masked"
        );
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("report.json")).unwrap())
            .unwrap();
    let cap = &json["captures"][0];
    assert_eq!(cap["path"], "fixtures/redmi-1s-2014.pcap");
    let sha = cap["sha256"].as_str().unwrap();
    assert_eq!(sha.len(), 64);
    assert_eq!(
        cap["file_size"],
        std::fs::metadata(root().join("fixtures/redmi-1s-2014.pcap"))
            .unwrap()
            .len()
    );
    assert_eq!(cap["packets"], 48);
    let imei = json["headline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["kind"] == "imei")
        .expect("an imei headline row");
    assert_eq!(imei["destination"], "api.account.xiaomi.com");
    assert_eq!(imei["country_code"], "CN");
    assert_eq!(imei["asn"], 23724);
    assert_eq!(imei["wire"][0], "cleartext");
    assert_eq!(imei["evidence"][0], serde_json::json!([0, 6]));
    assert!(imei["values"][0].as_str().unwrap().starts_with("imei~"));
    assert_eq!(json["geo_databases"][0]["name"], "telltale-default");
    let dns = std::fs::read_to_string(out_dir.join("dns.csv")).unwrap();
    assert!(dns.contains("api.account.xiaomi.com"));
    assert!(dns.contains("A 220.181.90.14"), "{dns}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn show_values_and_stable_pseudonyms() {
    let dir = scratch("values");
    let run = |name: &str, extra: &[&str]| {
        let out_dir = dir.join(name);
        let mut args = vec![
            "report",
            "-q",
            "--device",
            "docs/device-profile.example.toml",
            "-o",
            out_dir.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        args.push("fixtures/redmi-1s-2014.pcap");
        assert!(telltale(&args).status.success());
        std::fs::read_to_string(out_dir.join("identifiers.csv")).unwrap()
    };
    assert!(run("shown", &["--show-values"]).contains(IMEI));
    let a = run("a", &["--redact-key", "newsroom"]);
    let b = run("b", &["--redact-key", "newsroom"]);
    assert_eq!(a, b, "the same key gives the same pseudonyms");
    let c = run("c", &[]);
    assert_ne!(a, c, "no key: a random one");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn refuses_to_overwrite_an_input() {
    let dir = scratch("clobber");
    // A capture named like a report file, inside the output folder.
    let input = dir.join("flows.csv");
    std::fs::copy(root().join("fixtures/redmi-1s-2014.pcap"), &input).unwrap();
    let before = std::fs::read(&input).unwrap();
    let out = telltale(&[
        "report",
        "-q",
        "-o",
        dir.to_str().unwrap(),
        input.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("would replace the input"), "{err}");
    assert_eq!(std::fs::read(&input).unwrap(), before);
    assert!(!dir.join("index.html").exists());
    // The output folder given as an input capture file.
    let out = telltale(&[
        "report",
        "-q",
        "-o",
        input.to_str().unwrap(),
        input.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(std::fs::read(&input).unwrap(), before);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn batch_sections_by_file_or_folder() {
    let dir = scratch("batch");
    let phone = dir.join("captures/phone");
    let iot = dir.join("captures/iot");
    std::fs::create_dir_all(&phone).unwrap();
    std::fs::create_dir_all(&iot).unwrap();
    for (src, dst) in [
        ("fixtures/redmi-1s-2014.pcap", phone.join("day1.pcap")),
        ("fixtures/http-pipelined.pcap", phone.join("day2.pcap")),
        ("fixtures/quic-v2.pcap", iot.join("cam.pcap")),
    ] {
        std::fs::copy(root().join(src), dst).unwrap();
    }
    let captures = dir.join("captures");
    let sections = |group: &str| {
        let out_dir = dir.join(format!("out-{group}"));
        let out = telltale(&[
            "report",
            "-q",
            "--group-by",
            group,
            "-o",
            out_dir.to_str().unwrap(),
            captures.to_str().unwrap(),
        ]);
        assert!(out.status.success());
        let html = std::fs::read_to_string(out_dir.join("index.html")).unwrap();
        html.matches("<section class=\"capture\"").count()
    };
    assert_eq!(sections("file"), 3);
    assert_eq!(sections("folder"), 2);
    std::fs::remove_dir_all(&dir).ok();
}
