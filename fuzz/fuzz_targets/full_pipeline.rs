//! The whole pipeline through the `telltale` facade: arbitrary capture bytes
//! written to a temporary file (one per fuzzing process, rewritten for each
//! input) and analysed by `analyze_capture` with a device profile and the
//! embedded GeoIP table, then written as EVE JSON Lines; the same bytes are
//! also streamed through `Analyzer::feed` from an in-memory `CaptureReader`.
#![no_main]

use std::path::PathBuf;
use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use telltale::decode::CaptureReader;
use telltale::detect::DeviceProfile;
use telltale::{Analyzer, Event, analyze_capture};

static ANALYZER: LazyLock<Analyzer> = LazyLock::new(|| {
    let profile = DeviceProfile::from_toml(telltale_fuzz::PROFILE).expect("profile");
    Analyzer::builder().threads(1).identifiers(Some(&profile)).build()
});

static PATH: LazyLock<PathBuf> = LazyLock::new(|| {
    std::env::temp_dir().join(format!("telltale-fuzz-{}.pcap", std::process::id()))
});

fuzz_target!(|data: &[u8]| {
    std::fs::write(&*PATH, data).expect("write the temporary capture");
    if let Ok(capture) = analyze_capture(&PATH, &ANALYZER) {
        let mut out = std::io::sink();
        telltale::report::write_capture_jsonl(&capture, &mut out).expect("write to a sink");
        assert!(capture.warnings.len() <= 102, "{} warnings", capture.warnings.len());
    }

    let input: Box<dyn std::io::Read + Send> = Box::new(std::io::Cursor::new(data.to_vec()));
    if let Ok(mut reader) = CaptureReader::from_read("fuzz", input) {
        let mut sink = |e: Event<'_>| {
            std::hint::black_box(&e);
        };
        let mut feed = ANALYZER.feed("fuzz".as_ref(), &mut sink);
        while let Ok(Some(frame)) = reader.next_frame() {
            feed.push(&frame);
        }
        feed.finish();
    }
});
