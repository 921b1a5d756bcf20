//! Identifier detection against the ground truth of a seeded corpus from
//! `../shared/bench/make_corpus.py`: recall per kind and encoding for known
//! values (a device profile built from the corpus' devices), recall and
//! precision of the pattern detectors at medium confidence and above.
//! Skips, saying so, when the generator or python3 is missing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use telltale::detect::DeviceProfile;
use telltale::{Analyzer, Report};

/// Recall of known values, every kind and encoding: the bar.
const MIN_KNOWN_RECALL: f64 = 1.0;
/// Pattern detectors at medium confidence and above (levels reached when
/// this test was written; the issue asks 0.95 and 0.99).
const MIN_PATTERN_RECALL: f64 = 0.95;
const MIN_PATTERN_PRECISION: f64 = 0.99;

fn corpus() -> Option<(PathBuf, Value)> {
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/bench/make_corpus.py");
    if !script.is_file() {
        eprintln!("SKIPPED: {} not found", script.display());
        return None;
    }
    let dir = std::env::temp_dir().join(format!("telltale-ids-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pcap = dir.join("corpus.pcap");
    let truth = dir.join("corpus.truth.json");
    let status = Command::new("python3")
        .arg(&script)
        .args(["--size-mb", "64", "--seed", "7", "--no-quic", "--out"])
        .arg(&pcap)
        .arg("--truth")
        .arg(&truth)
        .status();
    match status {
        Ok(s) if s.success() => {}
        other => {
            eprintln!("SKIPPED: make_corpus.py did not run: {other:?}");
            return None;
        }
    }
    let truth: Value = serde_json::from_str(&std::fs::read_to_string(&truth).unwrap()).unwrap();
    Some((pcap, truth))
}

fn profile(truth: &Value) -> DeviceProfile {
    let mut toml = String::new();
    for d in truth["devices"].as_array().unwrap() {
        toml.push_str(&format!(
            "[[device]]\nname = \"device {}\"\nimei = [\"{}\"]\nimsi = [\"{}\"]\nphone = [\"{}\"]\nmac = [\"{}\"]\nad_id = [\"{}\"]\n\n",
            d["device"], d["imei"].as_str().unwrap(), d["imsi"].as_str().unwrap(), d["phone"].as_str().unwrap(),
            d["mac"].as_str().unwrap(), d["ad_id"].as_str().unwrap()
        ));
    }
    DeviceProfile::from_toml(&toml).unwrap()
}

type FlowKey = (String, u16, String, u16);

fn truth_flow(f: &Value) -> FlowKey {
    (
        f["src"].as_str().unwrap().to_owned(),
        f["sport"].as_u64().unwrap() as u16,
        f["dst"].as_str().unwrap().to_owned(),
        f["dport"].as_u64().unwrap() as u16,
    )
}

/// (flow, kind, value, encoding, confidence) of every finding.
fn found(report: &Report) -> Vec<(FlowKey, String, String, String, String)> {
    let c = &report.captures[0];
    c.identifiers
        .iter()
        .filter_map(|i| {
            let f = c.flow(i.flow)?;
            let info = &f.summary.info;
            Some((
                (
                    info.client.ip().to_string(),
                    info.client.port(),
                    info.server.ip().to_string(),
                    info.server.port(),
                ),
                i.kind.as_str().to_owned(),
                i.value.clone(),
                i.encoding.as_str().to_owned(),
                i.confidence.as_str().to_owned(),
            ))
        })
        .collect()
}

fn encoding(truth: &str) -> &str {
    match truth {
        "urlenc" => "url",
        other => other,
    }
}

#[test]
fn identifiers_against_corpus_truth() {
    let Some((pcap, truth)) = corpus() else {
        return;
    };
    let ids = truth["identifiers"].as_array().unwrap();

    // Known values.
    let p = profile(&truth);
    let report = Analyzer::builder()
        .threads(2)
        .identifiers(Some(&p))
        .build()
        .analyze([&pcap])
        .unwrap();
    let got: BTreeSet<(FlowKey, String, String, String)> = found(&report)
        .into_iter()
        .map(|(f, k, v, e, _)| (f, k, v, e))
        .collect();
    let mut per: BTreeMap<(String, String), (usize, usize)> = BTreeMap::new();
    let mut missed = Vec::new();
    for i in ids {
        let key = (
            truth_flow(&i["flow"]),
            i["type"].as_str().unwrap().to_owned(),
            i["value"].as_str().unwrap().to_owned(),
            encoding(i["encoding"].as_str().unwrap()).to_owned(),
        );
        let e = per.entry((key.1.clone(), key.3.clone())).or_default();
        e.1 += 1;
        if got.contains(&key) {
            e.0 += 1;
        } else if missed.len() < 10 {
            missed.push((key, i["where"].clone(), i["literal"].clone()));
        }
    }
    let mut failures = Vec::new();
    for ((kind, enc), (tp, n)) in &per {
        let recall = *tp as f64 / *n as f64;
        eprintln!("known  {kind:7} {enc:7} recall {recall:.3} ({tp}/{n})");
        if recall < MIN_KNOWN_RECALL {
            failures.push(format!("known {kind} {enc}: {recall:.3}"));
        }
    }
    for m in &missed {
        eprintln!("  missed {m:?}");
    }

    // Patterns only: what a journalist without the device's values gets.
    let report = Analyzer::builder()
        .threads(2)
        .build()
        .analyze([&pcap])
        .unwrap();
    let strong: Vec<_> = found(&report)
        .into_iter()
        .filter(|(.., conf)| conf == "medium" || conf == "high")
        .collect();
    let plain_truth: BTreeSet<(FlowKey, String, String)> = ids
        .iter()
        .filter(|i| matches!(i["encoding"].as_str(), Some("plain" | "urlenc")))
        .map(|i| {
            (
                truth_flow(&i["flow"]),
                i["type"].as_str().unwrap().to_owned(),
                i["value"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let strong_set: BTreeSet<(FlowKey, String, String)> = strong
        .iter()
        .map(|(f, k, v, ..)| (f.clone(), k.clone(), v.clone()))
        .collect();
    let tp = plain_truth.intersection(&strong_set).count();
    let recall = tp as f64 / plain_truth.len().max(1) as f64;
    let precision = tp as f64 / strong_set.len().max(1) as f64;
    eprintln!(
        "pattern (medium+) recall {recall:.3} ({tp}/{}) precision {precision:.3} ({tp}/{})",
        plain_truth.len(),
        strong_set.len()
    );
    for fp in strong_set.difference(&plain_truth).take(10) {
        eprintln!("  not in truth: {fp:?}");
    }
    for fn_ in plain_truth.difference(&strong_set).take(10) {
        eprintln!("  missed: {fn_:?}");
    }
    if recall < MIN_PATTERN_RECALL || precision < MIN_PATTERN_PRECISION {
        failures.push(format!(
            "patterns: recall {recall:.3}, precision {precision:.3}"
        ));
    }
    std::fs::remove_dir_all(pcap.parent().unwrap_or(Path::new("/nonexistent"))).ok();
    assert!(failures.is_empty(), "{failures:#?}");
}
