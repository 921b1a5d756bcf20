//! Any prefix of a valid capture reads without panicking, and what it
//! yields is a prefix of what the whole file yields: a cut loses only the
//! packets it cuts, never the ones before it, in every container format.

use std::path::Path;

use proptest::prelude::*;
use telltale_decode::{CaptureReader, Decoder, DecoderConfig};

/// (timestamp, link type, bytes, decoded source address) of every frame.
type Seen = Vec<(i64, u32, Vec<u8>, Option<std::net::IpAddr>)>;

fn read(bytes: Vec<u8>) -> Seen {
    let Ok(mut reader) = CaptureReader::from_read("prefix", Box::new(std::io::Cursor::new(bytes)))
    else {
        return Vec::new();
    };
    let mut decoder = Decoder::new(DecoderConfig::default());
    let mut out = Vec::new();
    while let Ok(Some(frame)) = reader.next_frame() {
        let src = decoder.decode(&frame).map(|p| p.src);
        out.push((frame.ts.as_nanos(), frame.link.0, frame.data.to_vec(), src));
    }
    out
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures")
            .join(name),
    )
    .unwrap()
}

fn prefix_property(name: &str, cut_permille: u32) {
    let bytes = fixture(name);
    let full = read(bytes.clone());
    assert!(!full.is_empty(), "{name}");
    let cut = bytes.len() * cut_permille as usize / 1000;
    let part = read(bytes[..cut].to_vec());
    assert!(part.len() <= full.len(), "{name} cut at {cut}");
    assert_eq!(part[..], full[..part.len()], "{name} cut at {cut}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn pcap_prefix(cut in 0u32..=1000) {
        prefix_property("redmi-1s-2014.pcap", cut);
    }

    #[test]
    fn pcapng_prefix(cut in 0u32..=1000) {
        prefix_property("pcapng-multi.pcapng", cut);
    }

    #[test]
    fn gzip_prefix(cut in 0u32..=1000) {
        prefix_property("pcap-gzip.pcap.gz", cut);
    }

    #[test]
    fn big_endian_pcapng_prefix(cut in 0u32..=1000) {
        prefix_property("pcapng-big-endian.pcapng", cut);
    }
}
