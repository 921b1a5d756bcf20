//! Finds one known IMEI across a folder of captures, in every encoding apps
//! use (plain, URL-encoded, base64, hex, MD5/SHA-1/SHA-256), and prints
//! where each copy went with the packet number to check in Wireshark.
//!
//! ```sh
//! cargo run -p telltale --example find_imei -- 865123456789019 fixtures/
//! ```

use telltale::Analyzer;
use telltale::detect::{DeviceProfile, IdKind, Source};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(imei), Some(folder)) = (args.next(), args.next()) else {
        return Err("usage: find_imei IMEI FOLDER".into());
    };
    // A device profile is TOML; one device with one known value is enough.
    let profile = DeviceProfile::from_toml(&format!(
        "[[device]]\nname = \"device under test\"\nimei = [\"{imei}\"]\n"
    ))?;
    let report = Analyzer::builder()
        .identifiers(Some(&profile))
        .build()
        .analyze([folder])?;
    let mut found = 0;
    for capture in &report.captures {
        for f in &capture.identifiers {
            if f.kind != IdKind::Imei || f.source != Source::Known {
                continue;
            }
            let Some(flow) = capture.flow(f.flow) else {
                continue;
            };
            let to = flow
                .server_name
                .name
                .clone()
                .unwrap_or_else(|| flow.summary.info.server.ip().to_string());
            println!(
                "{} packet {}: {} as {} in {} to {}",
                capture.path.display(),
                f.frame,
                f.kind.as_str(),
                f.encoding.as_str(),
                f.location,
                to
            );
            found += 1;
        }
    }
    println!(
        "{found} copies of the IMEI in {} captures",
        report.captures.len()
    );
    Ok(())
}
