//! HTTP message bodies: kept up to a cap and decoded (gzip, deflate, brotli)
//! with bounds that a decompression bomb cannot get past.

use std::io::Read;

/// Limits on what one message body may cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BodyLimits {
    /// Body bytes kept as they came off the wire (after chunked framing).
    pub max_raw: usize,
    /// Bytes kept after content decoding.
    pub max_decoded: usize,
    /// Largest decoded-to-raw ratio accepted: gzip bombs reach 1000:1, real
    /// text rarely passes 20:1.
    pub max_ratio: usize,
}

impl Default for BodyLimits {
    fn default() -> Self {
        BodyLimits {
            max_raw: 1 << 20,
            max_decoded: 4 << 20,
            max_ratio: 100,
        }
    }
}

/// How a body's decoding went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BodyStatus {
    /// Whole and decoded.
    Complete,
    /// Kept only up to a cap (raw or decoded bytes, or the ratio); what was
    /// decoded before the cap is kept.
    Capped,
    /// The content coding is not one we decode, or the data did not decode;
    /// the raw bytes are kept instead.
    Undecodable,
}

/// A decoded body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Body {
    /// The decoded bytes (or the raw ones when undecodable).
    pub bytes: Vec<u8>,
    /// How it went.
    pub status: BodyStatus,
}

/// Accumulates one message's body, up to `max_raw` bytes.
#[derive(Clone, Debug, Default)]
pub struct BodyBuf {
    raw: Vec<u8>,
    capped: bool,
}

impl BodyBuf {
    /// Adds body bytes.
    pub fn push(&mut self, bytes: &[u8], limits: &BodyLimits) {
        let room = limits.max_raw.saturating_sub(self.raw.len());
        if bytes.len() > room {
            self.capped = true;
        }
        self.raw.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    /// Whether nothing was kept.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// Decodes what was kept according to a `Content-Encoding` header value.
    pub fn finish(self, content_encoding: Option<&[u8]>, limits: &BodyLimits) -> Body {
        let mut body = decode(&self.raw, content_encoding, limits);
        if self.capped && body.status == BodyStatus::Complete {
            body.status = BodyStatus::Capped;
        }
        body
    }
}

/// Decodes `raw` according to a `Content-Encoding` value: codings listed in
/// the order applied, so they are undone from the last (`identity` and
/// unknown tokens aside).
pub fn decode(raw: &[u8], content_encoding: Option<&[u8]>, limits: &BodyLimits) -> Body {
    let codings: Vec<String> = content_encoding
        .map(|v| {
            String::from_utf8_lossy(v)
                .split(',')
                .map(|t| t.trim().to_ascii_lowercase())
                .filter(|t| !t.is_empty() && t != "identity")
                .collect()
        })
        .unwrap_or_default();
    let mut bytes = raw.to_vec();
    let mut status = BodyStatus::Complete;
    // A list longer than this is not a real server's; decoding it would
    // multiply the work.
    if codings.len() > 4 {
        return Body {
            bytes,
            status: BodyStatus::Undecodable,
        };
    }
    for coding in codings.iter().rev() {
        let budget = limits
            .max_decoded
            .min(bytes.len().saturating_mul(limits.max_ratio).max(4096));
        let out = match coding.as_str() {
            "gzip" | "x-gzip" => read_capped(flate2::read::MultiGzDecoder::new(&bytes[..]), budget),
            "deflate" => {
                // "deflate" is zlib-wrapped by the standard and raw deflate
                // by some servers: try the standard first.
                let z = read_capped(flate2::read::ZlibDecoder::new(&bytes[..]), budget);
                if z.1 == Outcome::Error {
                    read_capped(flate2::read::DeflateDecoder::new(&bytes[..]), budget)
                } else {
                    z
                }
            }
            "br" => read_capped(
                brotli_decompressor::Decompressor::new(&bytes[..], 4096),
                budget,
            ),
            // Not undone: the raw bytes, not a half-undone layer (which
            // would still be encoded, and could be larger than the body).
            _ => {
                return Body {
                    bytes: raw.to_vec(),
                    status: BodyStatus::Undecodable,
                };
            }
        };
        match out.1 {
            Outcome::Done => bytes = out.0,
            Outcome::Capped => {
                bytes = out.0;
                status = BodyStatus::Capped;
            }
            Outcome::Error if !out.0.is_empty() => {
                // A body cut by the capture: keep what decoded.
                bytes = out.0;
                status = BodyStatus::Capped;
            }
            Outcome::Error => {
                return Body {
                    bytes: raw.to_vec(),
                    status: BodyStatus::Undecodable,
                };
            }
        }
    }
    Body { bytes, status }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Done,
    Capped,
    Error,
}

fn read_capped(mut r: impl Read, budget: usize) -> (Vec<u8>, Outcome) {
    let mut out = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        match r.read(&mut chunk) {
            Ok(0) => return (out, Outcome::Done),
            Ok(n) => {
                let room = budget - out.len();
                if n > room {
                    out.extend_from_slice(&chunk[..room]);
                    return (out, Outcome::Capped);
                }
                out.extend_from_slice(&chunk[..n]);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return (out, Outcome::Error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn gzip_deflate_and_layers() {
        let l = BodyLimits::default();
        let text = b"imei=865123456789019&phone=%2B8613812345678".repeat(3);
        let b = decode(&gzip(&text), Some(b"gzip"), &l);
        assert_eq!(
            (b.bytes.as_slice(), b.status),
            (&text[..], BodyStatus::Complete)
        );
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(&text).unwrap();
        assert_eq!(
            decode(&z.finish().unwrap(), Some(b"deflate"), &l).bytes,
            text
        );
        let mut raw =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        raw.write_all(&text).unwrap();
        assert_eq!(
            decode(&raw.finish().unwrap(), Some(b"Deflate"), &l).bytes,
            text
        );
        // Two layers, applied gzip then gzip: undone in reverse.
        assert_eq!(
            decode(&gzip(&gzip(&text)), Some(b"gzip, identity, gzip"), &l).bytes,
            text
        );
        let u = decode(b"abc", Some(b"zstd"), &l);
        assert_eq!(
            (u.bytes.as_slice(), u.status),
            (&b"abc"[..], BodyStatus::Undecodable)
        );
    }

    #[test]
    fn bombs_stop_at_the_caps() {
        let l = BodyLimits::default();
        let bomb = gzip(&vec![0u8; 50 << 20]);
        let b = decode(&bomb, Some(b"gzip"), &l);
        assert_eq!(b.status, BodyStatus::Capped);
        assert!(b.bytes.len() <= bomb.len() * l.max_ratio);
        assert!(b.bytes.len() <= l.max_decoded);
    }

    /// Found by the `body` fuzz target (input, hex: coding pick 8 = "gzip,
    /// gzip,gzip", default limits, then the body):
    /// `08001f8b0800000000d5ffcc3b3002cbcb5a5a5a5b000008`. The outer gzip
    /// layer decoded, the next did not, and the half-undone bytes came back
    /// as `Undecodable` instead of the raw body.
    #[test]
    fn undecodable_keeps_the_raw_bytes() {
        let l = BodyLimits::default();
        let raw = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\xd5\xff\xcc\x3b\x30\x02\xcb\xcb\x5a\x5a\x5a\x5b\x00\x00\x08";
        let b = decode(raw, Some(b"gzip,gzip,gzip"), &l);
        assert_eq!(
            (b.bytes.as_slice(), b.status),
            (&raw[..], BodyStatus::Undecodable)
        );
        // A layer that decodes, under one that is not a gzip stream.
        let inner = gzip(b"not gzip inside");
        let b = decode(&inner, Some(b"gzip, gzip"), &l);
        assert_eq!(
            (b.bytes.as_slice(), b.status),
            (&inner[..], BodyStatus::Undecodable)
        );
        // An unknown coding under a known one.
        let b = decode(&inner, Some(b"zstd, gzip"), &l);
        assert_eq!(
            (b.bytes.as_slice(), b.status),
            (&inner[..], BodyStatus::Undecodable)
        );
    }

    #[test]
    fn cut_bodies_keep_what_decoded() {
        let text: Vec<u8> = (0..100_000u32).flat_map(|i| i.to_le_bytes()).collect();
        let g = gzip(&text);
        let b = decode(&g[..g.len() / 2], Some(b"gzip"), &BodyLimits::default());
        assert_eq!(b.status, BodyStatus::Capped);
        assert!(!b.bytes.is_empty() && text.starts_with(&b.bytes));
        let mut buf = BodyBuf::default();
        let small = BodyLimits {
            max_raw: 4,
            ..BodyLimits::default()
        };
        buf.push(b"abcdef", &small);
        let b = buf.finish(None, &small);
        assert_eq!(
            (b.bytes.as_slice(), b.status),
            (&b"abcd"[..], BodyStatus::Capped)
        );
        let _ = decode(b"\x1f\x8bgarbage", Some(b"gzip"), &BodyLimits::default());
        let _ = decode(b"\xffgarbage", Some(b"br"), &BodyLimits::default());
    }
}
