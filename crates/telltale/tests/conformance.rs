//! Conformance against mature peers on real captures.
//!
//! Runs over every capture in `../shared/captures/` and compares the names
//! telltale finds with the ground truth in its `MANIFEST.json` (Zeek or
//! Suricata expected output where the peer logged the field, tshark's
//! otherwise). Prints recall and precision per file and field, and fails if a
//! field's totals fall under the levels reached when this test was written.
//! When `../shared` is absent the test says so and passes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde_json::Value;
use telltale::Analyzer;
use telltale::proto::{AppEventKind, DhcpEvent};

const FIELDS: [&str; 5] = [
    "tls_sni",
    "quic_sni",
    "dns_queries",
    "http_hosts",
    "dhcp_hostnames",
];

/// Values the manifest's truth misses because its peer run did not look
/// where the traffic was, with the peer command that shows them. The test
/// re-runs that command when tshark is installed and fails if it no longer
/// agrees, so a correction cannot outlive its evidence.
const CORRECTIONS: &[(&str, &str, &str, &[&str])] = &[(
    // A real `GET` sent to an SSH server's port 22: the manifest's tshark run
    // dissects HTTP by port only, so it has no HTTP host for this file.
    "zeek-http-get-to-ssh-server.pcap",
    "http_hosts",
    "128.3.50.246",
    &[
        "-d",
        "tcp.port==22,http",
        "-Y",
        "http.request",
        "-T",
        "fields",
        "-e",
        "http.host",
    ],
)];

/// Levels reached (recall, precision), per field.
const MIN: [(&str, f64, f64); 5] = [
    ("tls_sni", 1.0, 1.0),
    ("quic_sni", 1.0, 1.0),
    ("dns_queries", 1.0, 1.0),
    ("http_hosts", 1.0, 1.0),
    ("dhcp_hostnames", 1.0, 1.0),
];

/// The bar for all fields together.
const MIN_TOTAL: f64 = 0.98;

fn shared_captures() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/captures");
    dir.join("MANIFEST.json").is_file().then_some(dir)
}

/// Compare case-insensitively, without trailing dots, HTTP hosts without
/// port or IPv6 brackets (as Suricata's `http.hostname`), DHCP host names
/// without the trailing NUL some clients send (Suricata keeps it, tshark
/// strips it; telltale shows it stripped).
fn norm(field: &str, v: &str) -> String {
    let mut v = v
        .trim_end_matches('\0')
        .trim()
        .trim_end_matches('.')
        .to_ascii_lowercase();
    if field == "http_hosts" {
        v = telltale::proto::http::split_host_port(&v).0.to_owned();
        v = v.trim_start_matches('[').trim_end_matches(']').to_owned();
    }
    v
}

/// Runs tshark, when installed, and checks it prints `value`.
fn confirm_with_tshark(capture: &std::path::Path, args: &[&str], value: &str) {
    let Ok(out) = std::process::Command::new("tshark")
        .arg("-r")
        .arg(capture)
        .args(args)
        .output()
    else {
        eprintln!("tshark not installed: correction {value:?} taken as documented");
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines().any(|l| l.trim() == value),
        "tshark {args:?} on {} no longer shows {value:?}: {text}",
        capture.display()
    );
}

#[test]
fn names_match_peers_on_shared_captures() {
    let Some(dir) = shared_captures() else {
        eprintln!("SKIPPED: ../shared/captures/MANIFEST.json not found; conformance not checked");
        return;
    };
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("MANIFEST.json")).unwrap()).unwrap();
    let manifest = manifest.as_object().unwrap();
    let paths: Vec<PathBuf> = manifest.keys().map(|k| dir.join(k)).collect();
    // As the manifest's tshark run did: with the key logs that sit beside
    // some captures.
    let mut keys = telltale::proto::keylog::KeyLog::new();
    for entry in manifest.values() {
        if let Some(file) = entry["key_log"]["file"].as_str() {
            keys.add(&std::fs::read(dir.join(file)).unwrap());
        }
    }
    let report = Analyzer::builder()
        .threads(2)
        .key_log(keys)
        .build()
        .analyze(&paths)
        .unwrap();

    // field -> (true positives, truth size, found size)
    let mut totals: BTreeMap<&str, (usize, usize, usize)> = BTreeMap::new();
    for (name, entry) in manifest {
        let capture = report
            .captures
            .iter()
            .find(|c| c.path.file_name().unwrap().to_str() == Some(name.as_str()));
        let mut found: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
        if let Some(c) = capture {
            for ev in &c.events {
                match &ev.kind {
                    AppEventKind::Tls(t) => {
                        if let Some(s) = t.sni() {
                            found
                                .entry("tls_sni")
                                .or_default()
                                .insert(norm("tls_sni", s));
                        }
                    }
                    AppEventKind::Dns(d) => {
                        for q in &d.message.questions {
                            found
                                .entry("dns_queries")
                                .or_default()
                                .insert(norm("dns_queries", &q.name));
                        }
                    }
                    AppEventKind::Http(h) => {
                        if let Some(host) = &h.host {
                            found
                                .entry("http_hosts")
                                .or_default()
                                .insert(norm("http_hosts", host));
                        }
                    }
                    AppEventKind::Quic(q) => {
                        if let Some(s) = q.sni() {
                            found
                                .entry("quic_sni")
                                .or_default()
                                .insert(norm("quic_sni", s));
                        }
                    }
                    AppEventKind::Dhcp(DhcpEvent::V4(m)) => {
                        if let Some(h) = &m.host_name {
                            found
                                .entry("dhcp_hostnames")
                                .or_default()
                                .insert(norm("dhcp_hostnames", &h.display));
                        }
                    }
                    _ => {}
                }
            }
        }
        for field in FIELDS {
            let truth_set = entry["peer"]["sets"]
                .get(field)
                .or_else(|| entry["tshark"].get(field))
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let mut truth: BTreeSet<String> = truth_set
                .iter()
                .filter_map(Value::as_str)
                .map(|v| norm(field, v))
                .filter(|v| !v.is_empty())
                .collect();
            for (file, f, value, tshark_args) in CORRECTIONS {
                if file == name && *f == field {
                    confirm_with_tshark(&dir.join(file), tshark_args, value);
                    eprintln!(
                        "{name}: truth corrected with {value:?} (tshark {})",
                        tshark_args.join(" ")
                    );
                    truth.insert(norm(field, value));
                }
            }
            let got = found.remove(field).unwrap_or_default();
            let tp = truth.intersection(&got).count();
            if !truth.is_empty() || !got.is_empty() {
                let missed: Vec<_> = truth.difference(&got).collect();
                let extra: Vec<_> = got.difference(&truth).collect();
                eprintln!(
                    "{name:55} {field:12} truth {:3} found {:3} tp {:3}{}{}",
                    truth.len(),
                    got.len(),
                    tp,
                    if missed.is_empty() {
                        String::new()
                    } else {
                        format!(" missed {missed:?}")
                    },
                    if extra.is_empty() {
                        String::new()
                    } else {
                        format!(" extra {extra:?}")
                    },
                );
            }
            let t = totals.entry(field).or_default();
            t.0 += tp;
            t.1 += truth.len();
            t.2 += got.len();
        }
    }
    let mut failures = Vec::new();
    for (field, min_recall, min_precision) in MIN {
        let (tp, truth, got) = totals[field];
        let recall = tp as f64 / truth.max(1) as f64;
        let precision = tp as f64 / got.max(1) as f64;
        eprintln!(
            "TOTAL {field:12} recall {recall:.3} ({tp}/{truth})  precision {precision:.3} ({tp}/{got})"
        );
        if recall < min_recall || precision < min_precision {
            failures.push(format!(
                "{field}: recall {recall:.3}, precision {precision:.3}"
            ));
        }
    }
    let (tp, truth, got) = totals
        .values()
        .fold((0, 0, 0), |a, b| (a.0 + b.0, a.1 + b.1, a.2 + b.2));
    eprintln!(
        "TOTAL all          recall {:.3} ({tp}/{truth})  precision {:.3} ({tp}/{got})",
        tp as f64 / truth as f64,
        tp as f64 / got as f64
    );
    let (recall, precision) = (tp as f64 / truth as f64, tp as f64 / got as f64);
    if recall < MIN_TOTAL || precision < MIN_TOTAL {
        failures.push(format!("all: recall {recall:.3}, precision {precision:.3}"));
    }
    assert!(
        failures.is_empty(),
        "below the recorded levels: {failures:?}"
    );
}

/// Identifier patterns on real captures: nothing a person would call false
/// at high confidence. The one 15-digit `device_id` that fails the Luhn
/// check (suricata-verify-http-encoding-gzip-uncompressed.pcap) is reported
/// as IMEI-shaped at low confidence with a note (docs/DETECTORS.md says why).
#[test]
fn no_false_high_confidence_identifiers_on_shared_captures() {
    let Some(dir) = shared_captures() else {
        eprintln!("SKIPPED: ../shared/captures not found");
        return;
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
        .collect();
    paths.sort();
    let report = Analyzer::builder()
        .threads(2)
        .build()
        .analyze(&paths)
        .unwrap();
    let mut all = Vec::new();
    for c in &report.captures {
        for i in &c.identifiers {
            eprintln!(
                "{}: {} {} {} at {} ({})",
                c.path.display(),
                i.kind.as_str(),
                i.value,
                i.confidence.as_str(),
                i.location,
                i.note.unwrap_or("")
            );
            all.push((
                c.path.file_name().unwrap().to_string_lossy().into_owned(),
                i.clone(),
            ));
        }
    }
    assert!(all.iter().all(|(_, i)| i.confidence.as_str() != "high"));
    let device_id = all
        .iter()
        .find(|(f, i)| {
            f == "suricata-verify-http-encoding-gzip-uncompressed.pcap"
                && i.key.as_deref() == Some("device_id")
        })
        .expect("the device_id is reported");
    assert_eq!(
        (device_id.1.kind.as_str(), device_id.1.confidence.as_str()),
        ("imei", "low")
    );
    assert!(device_id.1.note.is_some());
}
