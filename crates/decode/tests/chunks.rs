//! A capture handed over in chunks reads exactly as the same bytes read
//! from a stream, wherever the chunks are cut: records that run from one
//! chunk into the next (and across many), empty chunks, damage, gzip.

use std::io;
use std::path::Path;
use std::sync::Arc;

use proptest::prelude::*;
use telltale_decode::{CaptureReader, ChunkSource};

/// What a test keeps of a frame: (index, timestamp, link type, interface,
/// bytes, original length).
type Row = (u64, i64, u32, u32, Vec<u8>, u32);

/// Every frame, then the warnings and the bytes read.
type Seen = (Vec<Row>, Vec<String>, u64);

fn row(f: &telltale_decode::Frame<'_>) -> Row {
    (
        f.index,
        f.ts.as_nanos(),
        f.link.0,
        f.interface,
        f.data.to_vec(),
        f.orig_len,
    )
}

/// `frames`, with the warnings and the bytes read of the reader that read
/// them.
fn seen(frames: Vec<Row>, reader: &CaptureReader) -> Seen {
    let warnings = reader
        .warnings()
        .iter()
        .map(|w| format!("{:?} {} {:?} {}", w.kind, w.offset, w.packet, w.message))
        .collect();
    (frames, warnings, reader.bytes_read())
}

fn walk(reader: CaptureReader) -> Seen {
    walk_batched(reader, 0)
}

/// As [`walk`], taking up to `batch` frames at a time from
/// `for_each_buffered` before each `next_frame` (0: `next_frame` alone).
fn walk_batched(mut reader: CaptureReader, batch: usize) -> Seen {
    let mut frames = Vec::new();
    loop {
        if batch > 0 && reader.for_each_buffered(batch, |f| frames.push(row(f))) > 0 {
            continue;
        }
        let Some(f) = reader.next_frame().unwrap() else {
            break;
        };
        frames.push(row(&f));
    }
    seen(frames, &reader)
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

/// A reader of `bytes` as a stream; `None` when they are not a capture.
fn stream_reader(bytes: &[u8]) -> Option<CaptureReader> {
    CaptureReader::from_read("t", Box::new(io::Cursor::new(bytes.to_vec()))).ok()
}

/// A reader of `bytes` in chunks cut at `sizes` (see [`Cut`]).
fn cut_reader(bytes: &[u8], sizes: Vec<usize>, fail: bool) -> Option<CaptureReader> {
    let cut = Cut {
        bytes: bytes.to_vec(),
        at: 0,
        sizes,
        turn: 0,
        fail,
    };
    CaptureReader::from_chunks("t", Box::new(cut)).ok()
}

fn streamed(bytes: &[u8]) -> Seen {
    walk(stream_reader(bytes).unwrap())
}

fn chunked(bytes: &[u8], sizes: Vec<usize>, fail: bool) -> Option<Seen> {
    chunked_batched(bytes, sizes, fail, 0)
}

fn chunked_batched(bytes: &[u8], sizes: Vec<usize>, fail: bool, batch: usize) -> Option<Seen> {
    cut_reader(bytes, sizes, fail).map(|r| walk_batched(r, batch))
}

const FIXTURES: &[&str] = &[
    "redmi-1s-2014.pcap",
    "pcapng-multi.pcapng",
    "pcapng-big-endian.pcapng",
    "pcap-gzip.pcap.gz",
    "pcap-truncated.pcap",
    "pcap-nanosecond.pcap",
    "pcap-big-endian.pcap",
    "pcap-snaplen96.pcap",
    "tls-split-records.pcap",
];

/// A pcap whose records claim fewer bytes on the wire than they hold
/// (taken as at least what they hold), at microsecond and nanosecond
/// resolution, little- and big-endian.
fn lying_lengths(big_endian: bool, nanos: bool) -> Vec<u8> {
    let u32b = |v: u32| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let mut out = Vec::new();
    out.extend_from_slice(&u32b(if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 }));
    out.extend_from_slice(&if big_endian {
        [0, 2, 0, 4]
    } else {
        [2, 0, 4, 0]
    });
    for v in [0, 0, 65535, 1] {
        out.extend_from_slice(&u32b(v));
    }
    for i in 0..20u32 {
        let data = vec![i as u8; 20 + i as usize];
        for v in [1_700_000_000 + i, i * 999_999, data.len() as u32, i % 3] {
            out.extend_from_slice(&u32b(v));
        }
        out.extend_from_slice(&data);
    }
    out
}

/// The equivalence tests above would pass if `for_each_buffered` never
/// took a frame (every frame then comes from `next_frame`): a plain pcap's
/// buffered frames are taken in runs, up to the limit asked for, and a
/// pcapng's are not.
#[test]
fn runs_take_a_pcaps_buffered_frames() {
    for (name, runs) in [
        ("redmi-1s-2014.pcap", true),
        ("pcap-big-endian.pcap", true),
        ("pcap-gzip.pcap.gz", true),
        ("pcapng-multi.pcapng", false),
    ] {
        let bytes = fixture(name);
        let frames = streamed(&bytes).0.len();
        for reader in [
            stream_reader(&bytes),
            cut_reader(&bytes, vec![1 << 20], false),
        ] {
            let mut r = reader.unwrap();
            let mut taken = 0;
            assert_eq!(
                r.for_each_buffered(2, |_| taken += 1),
                if runs { 2 } else { 0 }
            );
            while r.for_each_buffered(usize::MAX, |_| taken += 1) > 0 {}
            if runs {
                assert_eq!(
                    taken, frames,
                    "{name}: all buffered, none left to next_frame"
                );
            } else {
                assert_eq!(taken, 0, "{name}");
            }
        }
    }
}

#[test]
fn frames_taken_in_runs_keep_the_lengths_a_record_gives() {
    for big_endian in [false, true] {
        for nanos in [false, true] {
            let bytes = lying_lengths(big_endian, nanos);
            let one = streamed(&bytes);
            assert_eq!(one.0.len(), 20);
            assert!(one.0.iter().all(|f| f.5 as usize == f.4.len()));
            for batch in [1, 3, 64] {
                let runs = walk_batched(stream_reader(&bytes).unwrap(), batch);
                assert_eq!(runs, one, "batch {batch}");
                assert_eq!(
                    chunked_batched(&bytes, vec![37], false, batch),
                    Some(one.clone())
                );
            }
        }
    }
}

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
            assert_eq!(
                chunked_batched(&bytes, vec![size], false, 7).as_ref(),
                Some(&whole),
                "{name} in chunks of {size}, frames taken in runs"
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

    /// Frames taken in runs from what is buffered, then one at a time,
    /// are the frames `next_frame` gives alone, with the same warnings and
    /// bytes read: whole files, cut short, in chunks cut anywhere, gzip.
    #[test]
    fn frames_taken_in_runs_are_the_same(
        which in 0..FIXTURES.len(),
        sizes in proptest::collection::vec(1usize..3000, 1..12),
        cut in 0u32..=1000,
        batch in 1usize..40,
    ) {
        let bytes = fixture(FIXTURES[which]);
        let bytes = &bytes[..bytes.len() * cut as usize / 1000];
        let streamed_one = stream_reader(bytes).map(walk);
        let streamed_runs = stream_reader(bytes).map(|r| walk_batched(r, batch));
        prop_assert_eq!(&streamed_runs, &streamed_one);
        prop_assert_eq!(&chunked_batched(bytes, sizes, false, batch), &streamed_one);
    }

    /// Runs and single frames taken in turn, whatever each leaves pending
    /// for the other: the same frames, and after each step the bytes read
    /// that `next_frame` alone reports after as many frames.
    #[test]
    fn runs_and_single_frames_in_turn_read_the_same(
        which in 0..FIXTURES.len(),
        size in 1usize..2000,
        batch in 1usize..9,
    ) {
        let bytes = fixture(FIXTURES[which]);
        let open = || cut_reader(&bytes, vec![size], false).unwrap();
        let mut one = open();
        let mut read_after = Vec::new();
        let mut want = Vec::new();
        while let Some(f) = one.next_frame().unwrap() {
            want.push((f.index, f.data.to_vec()));
            read_after.push(one.bytes_read());
        }
        let mut turns = open();
        let mut got = Vec::new();
        loop {
            let n = turns.for_each_buffered(batch, |f| got.push((f.index, f.data.to_vec())));
            if n > 0 {
                prop_assert_eq!(turns.bytes_read(), read_after[got.len() - 1]);
            }
            let Some(f) = turns.next_frame().unwrap() else { break };
            got.push((f.index, f.data.to_vec()));
            prop_assert_eq!(turns.bytes_read(), read_after[got.len() - 1]);
        }
        prop_assert_eq!(got, want);
        prop_assert_eq!(turns.bytes_read(), one.bytes_read());
    }

    #[test]
    fn any_cut_of_a_prefix_reads_the_same(
        which in 0..FIXTURES.len(),
        cut in 0u32..=1000,
        size in 1usize..700,
    ) {
        let bytes = fixture(FIXTURES[which]);
        let bytes = &bytes[..bytes.len() * cut as usize / 1000];
        let whole = stream_reader(bytes).map(walk);
        prop_assert_eq!(chunked(bytes, vec![size], false), whole);
    }
}

/// As [`walk_batched`], but first peeking at the frames each run will
/// take (stopping after `stop_after` of them): what is peeked is what the
/// run then takes, and peeking changes nothing of what is read. Returns
/// how many frames were peeked, too.
fn walk_peeking(mut reader: CaptureReader, batch: usize, stop_after: usize) -> (Seen, usize) {
    let mut frames = Vec::new();
    let mut peeked_in_all = 0;
    loop {
        let mut peeked = Vec::new();
        let n = reader.peek_buffered(batch, |f| {
            peeked.push(row(f));
            peeked.len() < stop_after
        });
        assert_eq!(n, peeked.len());
        peeked_in_all += n;
        let before = frames.len();
        if reader.for_each_buffered(batch, |f| frames.push(row(f))) > 0 {
            assert!(frames.len() - before >= peeked.len());
            assert_eq!(frames[before..before + peeked.len()], peeked[..]);
            continue;
        }
        assert!(peeked.is_empty(), "peeked frames a run did not take");
        let Some(f) = reader.next_frame().unwrap() else {
            break;
        };
        frames.push(row(&f));
    }
    (seen(frames, &reader), peeked_in_all)
}

/// A shard of a split capture peeks at a run of frames to place them
/// before it takes them: the run it then takes begins with exactly those
/// frames, whatever the chunks, and the capture reads as it would
/// without peeking. A pcap's runs are peeked at; a pcapng's frames all
/// come one at a time, with nothing to peek at.
#[test]
fn peeking_at_a_run_shows_the_frames_it_takes() {
    for name in FIXTURES {
        let bytes = fixture(name);
        let whole = streamed(&bytes);
        for (batch, stop_after) in [(1, usize::MAX), (7, 3), (64, usize::MAX), (4096, 50)] {
            let (seen, peeked) = walk_peeking(stream_reader(&bytes).unwrap(), batch, stop_after);
            assert_eq!(seen, whole, "{name}, runs of {batch}");
            assert_eq!(
                peeked > 0,
                !name.ends_with(".pcapng"),
                "{name}: {peeked} peeked"
            );
            for size in [1, 17, 100, 1 << 20] {
                let r = cut_reader(&bytes, vec![size], false).unwrap();
                assert_eq!(
                    walk_peeking(r, batch, stop_after).0,
                    whole,
                    "{name} in {size}s"
                );
            }
        }
    }
}

/// As [`walk_batched`], stepping over the frames `skip` names (told their
/// true lengths, found by a first walk), and, for `liar`, naming the rest
/// with a length past anything buffered (ignored: the record is read).
fn walk_skipping(
    mut reader: CaptureReader,
    batch: usize,
    lens: &[usize],
    skip: impl Fn(u64) -> bool,
    liar: bool,
) -> (Seen, u64) {
    let mut frames = Vec::new();
    let mut stepped = 0u64;
    loop {
        let hint = |i: u64| {
            // Asked of the frame after the last, too: none to name.
            let len = lens.get(i as usize - 1).copied();
            if skip(i) && len.is_some() {
                len
            } else {
                // Past the largest record taken, or within it but past
                // anything buffered.
                liar.then_some(if i.is_multiple_of(2) {
                    1 << 30
                } else {
                    64 << 20
                })
            }
        };
        let mut taken = 0;
        let n = reader.for_each_buffered_skipping(batch, hint, |f| {
            taken += 1;
            frames.push(row(f))
        });
        if n > 0 {
            stepped += (n - taken) as u64;
            continue;
        }
        let Some(f) = reader.next_frame().unwrap() else {
            break;
        };
        frames.push(row(&f));
    }
    (seen(frames, &reader), stepped)
}

/// A shard told which buffered frames are another's, and how long they
/// are, steps over them unread: it sees every other frame as it would
/// have, with the same warnings and bytes read, wherever the chunks are
/// cut; frames not buffered whole are read as usual, and a length that
/// runs past what is buffered is not believed.
#[test]
fn frames_stepped_over_leave_the_rest_as_read() {
    for name in FIXTURES {
        let bytes = fixture(name);
        let whole = streamed(&bytes);
        let lens: Vec<usize> = whole.0.iter().map(|f| f.4.len()).collect();
        for (modulo, liar) in [(2u64, false), (3, true), (1, false)] {
            let skip = |i: u64| i % modulo != 1 % modulo;
            let want: Vec<_> = whole.0.iter().filter(|f| !skip(f.0)).cloned().collect();
            let readers = [
                stream_reader(&bytes).unwrap(),
                cut_reader(&bytes, vec![17], false).unwrap(),
                cut_reader(&bytes, vec![1000], false).unwrap(),
            ];
            for (k, r) in readers.into_iter().enumerate() {
                let ((frames, warnings, read), stepped) = walk_skipping(r, 64, &lens, skip, liar);
                let label = format!("{name}, every {modulo}, reader {k}");
                // Only a frame read another way (not buffered whole) is
                // seen although named.
                assert!(frames.len() >= want.len(), "{label}");
                let seen: Vec<_> = frames.iter().filter(|f| !skip(f.0)).cloned().collect();
                assert_eq!(seen, want, "{label}");
                assert_eq!((&warnings, read), (&whole.1, whole.2), "{label}");
                if name.ends_with(".pcap") && k == 0 && modulo == 2 {
                    assert!(stepped > 0, "{label}: none stepped over");
                }
            }
        }
    }
}
