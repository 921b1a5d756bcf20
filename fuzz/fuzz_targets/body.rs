//! HTTP body decoding: gzip, deflate (zlib and raw), brotli, stacked
//! codings and unknown ones, through `body::decode` and `BodyBuf` (fed in
//! chunks), under default or tiny `BodyLimits`. Decoded output never
//! exceeds the caps.
#![no_main]

use libfuzzer_sys::fuzz_target;
use telltale_fuzz::{Cursor, chunks};
use telltale_proto::body::{self, BodyBuf, BodyLimits, BodyStatus};

const CODINGS: [&str; 14] = [
    "gzip", "deflate", "br", "x-gzip", "identity", "gzip, br", "deflate, gzip", "br, br",
    "gzip,gzip,gzip", "compress", "", "GZIP", " Br ", "identity, deflate",
];

fuzz_target!(|data: &[u8]| {
    let mut c = Cursor::new(data);
    let pick = c.u8();
    let lim = c.u8();
    let custom;
    let coding: Option<&[u8]> = match CODINGS.get(usize::from(pick & 0x1f)) {
        Some(s) => Some(s.as_bytes()),
        None if pick & 0x20 != 0 => None,
        None => {
            let n = usize::from(c.u8() % 32);
            custom = c.take(n);
            Some(custom)
        }
    };
    let limits = if lim & 1 == 0 {
        BodyLimits::default()
    } else {
        BodyLimits {
            max_raw: usize::from(c.u16()),
            max_decoded: usize::from(c.u16()) * 4,
            max_ratio: usize::from(lim >> 1),
        }
    };
    let sizes = [lim | 1, pick, 0];
    let raw = c.rest();

    let b = body::decode(raw, coding, &limits);
    if b.status == BodyStatus::Undecodable {
        assert!(b.bytes == raw, "undecodable keeps the raw bytes");
    }
    assert!(
        b.status == BodyStatus::Undecodable || b.bytes.len() <= limits.max_decoded.max(raw.len()),
        "decoded {} bytes, cap {}",
        b.bytes.len(),
        limits.max_decoded
    );

    let mut buf = BodyBuf::default();
    for chunk in chunks(raw, &sizes) {
        buf.push(chunk, &limits);
    }
    let kept = raw.len().min(limits.max_raw);
    let b2 = buf.finish(coding, &limits);
    assert!(
        b2.status == BodyStatus::Undecodable || b2.bytes.len() <= limits.max_decoded.max(kept),
        "decoded {} bytes from {} kept",
        b2.bytes.len(),
        kept
    );
    if b2.status == BodyStatus::Undecodable {
        assert!(b2.bytes.len() <= kept);
    }
});
