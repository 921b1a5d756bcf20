//! Adds an identifier kind telltale does not know: here the mobile carrier
//! name a phone reports (`CHN-UNICOM`), found by a pattern and a validator,
//! reported beside the built-in kinds.
//!
//! ```sh
//! cargo run -p telltale --example custom_kind -- fixtures/redmi-1s-2014.pcap
//! ```

use telltale::Analyzer;
use telltale::detect::{Confidence, PatternDetector};

/// Carrier names as Android reports them for Chinese operators.
const CARRIERS: &[&str] = &["CHN-UNICOM", "CHINA MOBILE", "CHN-CT"];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let paths: Vec<String> = std::env::args().skip(1).collect();
    if paths.is_empty() {
        return Err("usage: custom_kind CAPTURE...".into());
    }
    let carrier = PatternDetector::new("carrier", r"CHN-[A-Z]{2,8}|CHINA MOBILE", |v| {
        CARRIERS.contains(&v)
    })?
    .confidence(Confidence::Medium);
    let report = Analyzer::builder()
        .detector(carrier)
        .build()
        .analyze(&paths)?;
    for capture in &report.captures {
        for f in &capture.identifiers {
            // Our findings: kind `custom`, the detector's name in `note`.
            if f.note != Some("carrier") {
                continue;
            }
            println!(
                "{} packet {}: carrier {} in {}",
                capture.path.display(),
                f.frame,
                f.value,
                f.location
            );
        }
    }
    Ok(())
}
