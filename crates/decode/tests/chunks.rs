//! A capture handed over in chunks reads exactly as the same bytes read
//! from a stream, wherever the chunks are cut: records that run from one
//! chunk into the next (and across many), empty chunks, damage, gzip.

use std::io;
use std::path::Path;
use std::sync::Arc;

use proptest::prelude::*;
use telltale_decode::{CaptureReader, ChunkSource};

/// (index, timestamp, link type, interface, bytes, original length) of
/// every frame, then the warnings and the bytes read.
type Seen = (Vec<(u64, i64, u32, u32, Vec<u8>, u32)>, Vec<String>, u64);

fn walk(mut reader: CaptureReader) -> Seen {
    let mut frames = Vec::new();
    while let Some(f) = reader.next_frame().unwrap() {
        frames.push((
            f.index,
            f.ts.as_nanos(),
            f.link.0,
            f.interface,
            f.data.to_vec(),
            f.orig_len,
        ));
    }
    let warnings = reader
        .warnings()
        .iter()
        .map(|w| format!("{:?} {} {:?} {}", w.kind, w.offset, w.packet, w.message))
        .collect();
    (frames, warnings, reader.bytes_read())
}

/// Chunks cut at the given sizes in turn (a size of 0 is an empty chunk),
/// then, once the sizes run out, an error if `fail` says so.
struct Cut {
    bytes: Vec<u8>,
    at: usize,
    sizes: Vec<usize>,
    turn: usize,
    fail: bool,
}

impl ChunkSource for Cut {
    fn next_chunk(&mut self) -> io::Result<Option<Arc<Vec<u8>>>> {
        if self.at == self.bytes.len() || (self.fail && self.turn == self.sizes.len()) {
            return if self.fail {
                Err(io::Error::other("disk gone"))
            } else {
                Ok(None)
            };
        }
        let size = self.sizes[self.turn % self.sizes.len()];
        self.turn += 1;
        let end = (self.at + size).min(self.bytes.len());
        let chunk = self.bytes[self.at..end].to_vec();
        self.at = end;
        Ok(Some(Arc::new(chunk)))
    }
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures")
            .join(name),
    )
    .unwrap()
}

fn streamed(bytes: &[u8]) -> Seen {
    let reader = CaptureReader::from_read("t", Box::new(io::Cursor::new(bytes.to_vec()))).unwrap();
    walk(reader)
}

fn chunked(bytes: &[u8], sizes: Vec<usize>, fail: bool) -> Option<Seen> {
    let cut = Cut {
        bytes: bytes.to_vec(),
        at: 0,
        sizes,
        turn: 0,
        fail,
    };
    CaptureReader::from_chunks("t", Box::new(cut))
        .ok()
        .map(walk)
}

const FIXTURES: &[&str] = &[
    "redmi-1s-2014.pcap",
    "pcapng-multi.pcapng",
    "pcapng-big-endian.pcapng",
    "pcap-gzip.pcap.gz",
    "pcap-truncated.pcap",
    "pcap-nanosecond.pcap",
    "tls-split-records.pcap",
];

#[test]
fn every_fixture_reads_the_same_in_chunks_of_every_small_size() {
    for name in FIXTURES {
        let bytes = fixture(name);
        let whole = streamed(&bytes);
        assert!(!whole.0.is_empty(), "{name}");
        for size in [1, 2, 3, 15, 16, 17, 24, 100, 1000, 1 << 20] {
            assert_eq!(
                chunked(&bytes, vec![size], false).as_ref(),
                Some(&whole),
                "{name} in chunks of {size}"
            );
        }
    }
}

#[test]
fn a_record_larger_than_many_chunks_is_put_together() {
    // One 200 KiB frame and a small one after it, in 4 KiB chunks: the big
    // record spans fifty chunks, the small one starts inside the last.
    let mut bytes = Vec::new();
    for word in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 1 << 20, 1] {
        bytes.extend_from_slice(&word.to_le_bytes());
    }
    for (i, len) in [(1u32, 200 << 10), (2, 60)] {
        for word in [i, 0, len, len] {
            bytes.extend_from_slice(&word.to_le_bytes());
        }
        bytes.extend((0..len).map(|b| (b % 251) as u8 ^ i as u8));
    }
    let whole = streamed(&bytes);
    assert_eq!(whole.0.len(), 2);
    assert_eq!(whole.0[0].4.len(), 200 << 10);
    assert_eq!(chunked(&bytes, vec![4096], false), Some(whole));
}

#[test]
fn a_failing_source_ends_the_capture_with_a_warning_and_keeps_what_came_before() {
    let bytes = fixture("redmi-1s-2014.pcap");
    let whole = streamed(&bytes);
    // Two chunks of 2,000 bytes, then the source fails.
    let (frames, warnings, _) = chunked(&bytes, vec![2000, 2000], true).unwrap();
    assert!(!frames.is_empty() && frames.len() < whole.0.len());
    assert_eq!(frames[..], whole.0[..frames.len()]);
    let last = warnings.last().unwrap();
    assert!(
        last.starts_with("Io ") && last.ends_with("disk gone"),
        "{last}"
    );
    // A source that fails before the header is complete: no capture.
    assert_eq!(chunked(&bytes, vec![10], true), None);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn any_cut_reads_the_same(
        which in 0..FIXTURES.len(),
        sizes in proptest::collection::vec(0usize..3000, 1..12),
    ) {
        // All sizes zero would never move on.
        prop_assume!(sizes.iter().any(|&s| s > 0));
        let bytes = fixture(FIXTURES[which]);
        prop_assert_eq!(chunked(&bytes, sizes, false), Some(streamed(&bytes)));
    }

    #[test]
    fn any_cut_of_a_prefix_reads_the_same(
        which in 0..FIXTURES.len(),
        cut in 0u32..=1000,
        size in 1usize..700,
    ) {
        let bytes = fixture(FIXTURES[which]);
        let bytes = &bytes[..bytes.len() * cut as usize / 1000];
        let whole = CaptureReader::from_read("t", Box::new(io::Cursor::new(bytes.to_vec())))
            .ok()
            .map(walk);
        prop_assert_eq!(chunked(bytes, vec![size], false), whole);
    }
}
