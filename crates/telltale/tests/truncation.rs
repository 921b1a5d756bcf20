//! A capture cut anywhere loses nothing before the cut: for 100 random cut
//! points in each of a pcap and a multi-section pcapng, the analysis reads
//! every packet whose record ends before the cut, warns with a byte offset
//! when the cut falls inside a record, and never fails on the cut file.

use std::path::{Path, PathBuf};

use telltale::{Analyzer, analyze_capture};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures")
            .join(name),
    )
    .unwrap()
}

/// Where each packet record ends, and where the header (or the blocks
/// before the first packet) ends: the file's own framing, read by hand here
/// so the test does not trust the reader it checks.
fn pcap_record_ends(b: &[u8]) -> (usize, Vec<(usize, usize)>) {
    let le = b[..4] == [0xd4, 0xc3, 0xb2, 0xa1] || b[..4] == [0x4d, 0x3c, 0xb2, 0xa1];
    let u32_at = |i: usize| {
        let w = [b[i], b[i + 1], b[i + 2], b[i + 3]];
        if le {
            u32::from_le_bytes(w)
        } else {
            u32::from_be_bytes(w)
        }
    };
    let mut ends = Vec::new();
    let mut at = 24;
    while at + 16 <= b.len() {
        let start = at;
        at += 16 + u32_at(at + 8) as usize;
        ends.push((start, at));
    }
    (24, ends)
}

/// Packet blocks' ends in a pcapng (EPB 6, SPB 3, OPB 2), little-endian.
fn pcapng_record_ends(b: &[u8]) -> (usize, Vec<(usize, usize)>) {
    let mut ends = Vec::new();
    let mut first_packet = None;
    let mut at = 0;
    while at + 12 <= b.len() {
        let kind = u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
        let len = u32::from_le_bytes(b[at + 4..at + 8].try_into().unwrap()) as usize;
        if matches!(kind, 2 | 3 | 6) {
            first_packet.get_or_insert(at);
            ends.push((at, at + len));
        }
        at += len;
    }
    (first_packet.unwrap_or(b.len()), ends)
}

struct Rng(u64);
impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

type Framing = fn(&[u8]) -> (usize, Vec<(usize, usize)>);

fn check(name: &str, framing: Framing, seed: u64) {
    let bytes = fixture(name);
    let (header_end, records) = framing(&bytes);
    let record_ends: Vec<usize> = records.iter().map(|r| r.1).collect();
    assert!(
        record_ends.len() >= 5,
        "{name}: {} records",
        record_ends.len()
    );
    assert!(
        *record_ends.last().unwrap() <= bytes.len(),
        "{name}: framing read by hand"
    );
    let analyzer = Analyzer::builder().no_geo().build();
    let full = analyze_capture(&write(name, 0, &bytes), &analyzer).unwrap();
    assert_eq!(full.packets as usize, record_ends.len());
    let mut rng = Rng(seed);
    let mut inside_a_record = 0;
    for i in 0..100 {
        // Cuts anywhere after the header, plus the edges of records.
        let cut = match i % 10 {
            0 => record_ends[rng.below(record_ends.len())],
            1 => record_ends[rng.below(record_ends.len())] - 1,
            _ => header_end + rng.below(bytes.len() - header_end),
        };
        let path = write(name, cut, &bytes[..cut]);
        let report = analyze_capture(&path, &analyzer)
            .unwrap_or_else(|e| panic!("{name} cut at {cut}: {e}"));
        let complete = record_ends.iter().filter(|&&e| e <= cut).count();
        assert_eq!(
            report.packets as usize, complete,
            "{name} cut at {cut}: every complete packet before the cut"
        );
        // Cut strictly inside a packet record: its packet is lost, and
        // that is said with the byte offset and the packet number.
        if records.iter().any(|&(a, b)| a < cut && cut < b) {
            inside_a_record += 1;
            let w = report
                .warnings
                .first()
                .unwrap_or_else(|| panic!("{name} cut at {cut} inside a record: no warning"));
            assert!(
                w.offset as usize <= cut,
                "{name} cut at {cut}: warning at offset {} past the cut",
                w.offset
            );
            assert_eq!(w.packet, Some(complete as u64 + 1), "{name} cut at {cut}");
        }
        // What was read is the full capture's start: same flows opened at
        // the same packets, as far as the cut allows.
        let ids: Vec<u64> = report.flows.iter().map(|f| f.summary.info.id.0).collect();
        let full_ids: Vec<u64> = full
            .flows
            .iter()
            .map(|f| f.summary.info.id.0)
            .filter(|&id| id as usize <= complete)
            .collect();
        assert_eq!(ids, full_ids, "{name} cut at {cut}: flows");
        std::fs::remove_file(&path).ok();
    }
    assert!(
        inside_a_record > 20,
        "{name}: {inside_a_record} cuts inside records"
    );
}

fn write(name: &str, cut: usize, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("telltale-truncation-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{cut}-{name}"));
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn pcap_cut_anywhere_keeps_every_complete_packet() {
    check("redmi-1s-2014.pcap", pcap_record_ends, 0x5eed_0001);
}

#[test]
fn pcapng_cut_anywhere_keeps_every_complete_packet() {
    check("pcapng-multi.pcapng", pcapng_record_ends, 0x5eed_0002);
}
