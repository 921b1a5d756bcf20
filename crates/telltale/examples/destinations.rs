//! Lists where a capture's traffic went: each destination's name, how it
//! was learnt, its country and network, and how much was sent.
//!
//! ```sh
//! cargo run -p telltale --example destinations -- fixtures/redmi-1s-2014.pcap
//! ```

use telltale::Analyzer;
use telltale::report::destinations;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let paths: Vec<String> = std::env::args().skip(1).collect();
    if paths.is_empty() {
        return Err("usage: destinations CAPTURE...".into());
    }
    let report = Analyzer::builder().build().analyze(&paths)?;
    for failure in &report.failures {
        eprintln!("cannot read {}: {}", failure.path.display(), failure.error);
    }
    for d in destinations(&report) {
        let country = d.countries.iter().cloned().collect::<Vec<_>>().join(",");
        let network = d
            .networks
            .iter()
            .map(|(asn, org)| format!("AS{asn} {org}"))
            .collect::<Vec<_>>()
            .join("; ");
        println!(
            "{:<32} {:<9} {:<3} {:<45} {:>8} bytes sent",
            d.name,
            d.sources.iter().copied().collect::<Vec<_>>().join(","),
            if country.is_empty() { "-" } else { &country },
            if network.is_empty() { "-" } else { &network },
            d.bytes_toserver
        );
    }
    Ok(())
}
