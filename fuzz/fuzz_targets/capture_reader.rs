//! `CaptureReader::from_read` over arbitrary bytes (pcap, pcapng, gzip):
//! read every frame; warnings stay capped, frames stay inside the buffer.
#![no_main]

use libfuzzer_sys::fuzz_target;
use telltale_decode::CaptureReader;

fuzz_target!(|data: &[u8]| {
    let input: Box<dyn std::io::Read + Send> = Box::new(std::io::Cursor::new(data.to_vec()));
    let Ok(mut reader) = CaptureReader::from_read("fuzz", input) else {
        return;
    };
    let mut frames = 0u64;
    let mut last_index = 0u64;
    // A frame is at least a record header in the (decompressed) input, so
    // a reader that keeps yielding frames past this bound is looping.
    let bound = 1 + 64 * (data.len() as u64 + 1);
    loop {
        match reader.next_frame() {
            Ok(Some(frame)) => {
                frames += 1;
                // Packet numbers as Wireshark counts them: a damaged packet
                // that is skipped keeps its number, so they only increase.
                assert!(frame.index > last_index, "packet numbers go back");
                last_index = frame.index;
                std::hint::black_box(frame.data.iter().fold(0u8, |a, b| a ^ b));
                let _ = frame.is_truncated();
                assert!(frames <= bound * 1024, "reader yields frames forever");
            }
            Ok(None) => break,
            Err(_) => break,
        }
    }
    // Reading again after the end stays at the end.
    assert!(matches!(reader.next_frame(), Ok(None) | Err(_)));
    // At most 100 warnings kept, plus the one that ended the capture early
    // and the summary of suppressed ones.
    assert!(reader.warnings().len() <= 102, "{} warnings kept", reader.warnings().len());
    let _ = (reader.secrets().len(), reader.suppressed_warnings(), reader.bytes_read());
    let _ = (reader.format(), reader.is_gzip());
});
