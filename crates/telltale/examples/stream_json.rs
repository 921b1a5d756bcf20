//! Streams identifier findings as JSON Lines while a capture is read, with
//! memory bounded by the flows open at once: the way to handle a capture
//! too big to hold as a report.
//!
//! ```sh
//! cargo run -p telltale --example stream_json -- docs/device-profile.example.toml fixtures/redmi-1s-2014.pcap
//! ```

use telltale::detect::DeviceProfile;
use telltale::{Analyzer, Event};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(profile), Some(capture)) = (args.next(), args.next()) else {
        return Err("usage: stream_json PROFILE.toml CAPTURE".into());
    };
    let profile = DeviceProfile::from_toml(&std::fs::read_to_string(profile)?)?;
    let analyzer = Analyzer::builder().identifiers(Some(&profile)).build();
    let mut out = std::io::stdout().lock();
    let mut write_error = None;
    let summary = analyzer.stream(capture.as_ref(), &mut |event: Event<'_>| {
        let Event::Identifier(ctx, f) = event else {
            return;
        };
        let line = serde_json::json!({
            "timestamp": ctx.ts.to_rfc3339_micros(),
            "frame": ctx.frame,
            "src": ctx.flow.client.to_string(),
            "dest": ctx.flow.server.to_string(),
            "kind": f.kind.as_str(),
            "encoding": f.encoding.as_str(),
            "location": f.location,
            "confidence": f.confidence.as_str(),
        });
        use std::io::Write;
        if let Err(e) = writeln!(out, "{line}") {
            write_error.get_or_insert(e);
        }
    })?;
    if let Some(e) = write_error {
        return Err(e.into());
    }
    eprintln!("{} packets read", summary.packets);
    Ok(())
}
