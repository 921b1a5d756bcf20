//! Writes telltale's test captures from code, byte for byte the same on
//! every run.
//!
//! The crate has two layers:
//!
//! - builders for the bytes of a capture: [`pcap::PcapWriter`] and
//!   [`pcapng::PcapNgWriter`] for files, [`link::Framing`] for link-layer
//!   headers, [`ip`] for IPv4/IPv6 with TCP/UDP checksums and
//!   fragmentation, [`tcp::TcpConversation`] for consistent sequence numbers
//!   under reordering, loss and overlap, [`dns`], [`tls`] and [`http`]
//!   for application messages, [`x509`] for DER certificates, and
//!   [`quic`] for protected QUIC Initials;
//! - [`captures`], which uses them to produce every fixture of the project
//!   (`fixtures/README.md` lists what each one holds).
//!
//! Nothing reads the clock or an operating-system random source: times are
//! fixed and random-looking bytes come from [`SplitMix64`] with fixed seeds.
//!
//! ```
//! use telltale_fixtures::{captures, link::{Direction, Framing}, tcp::TcpConversation, trace::Trace};
//! let mut conv = TcpConversation::new(
//!     "192.0.2.1:40000".parse().unwrap(),
//!     "198.51.100.1:80".parse().unwrap(),
//!     1,
//!     2,
//! );
//! let mut trace = Trace::new(0, 1_000);
//! trace.segments(&conv.handshake());
//! trace.segment(&conv.client_data(b"GET / HTTP/1.1\r\nHost: a.example\r\n\r\n"));
//! let pcap = trace.to_default_pcap(&Framing::ethernet([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]));
//! assert_eq!(&pcap[..4], &[0xd4, 0xc3, 0xb2, 0xa1]);
//! assert!(captures::all().iter().any(|f| f.name == "redmi-1s-2014.pcap"));
//! ```

pub mod adversarial;
pub mod captures;
pub mod dns;
pub mod geoip;
pub mod http;
pub mod ip;
pub mod link;
pub mod pcap;
pub mod pcapng;
pub mod quic;
pub mod tcp;
pub mod tls;
pub mod trace;
pub mod x509;

/// The SplitMix64 generator (Steele, Lea and Flood): tiny, fixed-seed, and
/// good enough for bytes that only have to look random.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    /// The next 64 bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// `n` bytes.
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(n + 8);
        while out.len() < n {
            out.extend_from_slice(&self.next_u64().to_le_bytes());
        }
        out.truncate(n);
        out
    }

    /// 32 bytes, the size of a TLS random.
    pub fn array32(&mut self) -> [u8; 32] {
        let mut a = [0u8; 32];
        a.copy_from_slice(&self.bytes(32));
        a
    }
}

/// The Luhn check digit for a string of decimal digits (IMEIs end with one).
///
/// ```
/// assert_eq!(telltale_fixtures::luhn_check_digit("7992739871"), 3);
/// ```
pub fn luhn_check_digit(digits: &str) -> u8 {
    let mut sum = 0u32;
    for (i, c) in digits.bytes().rev().enumerate() {
        assert!(c.is_ascii_digit(), "not a digit: {c}");
        let mut d = u32::from(c - b'0');
        // Counting from the right with the check digit still to come, the
        // first digit seen is the one that gets doubled.
        if i.is_multiple_of(2) {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    u8::try_from((10 - sum % 10) % 10).expect("single digit")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_reference_values() {
        // First outputs for seed 0, as published with the algorithm.
        let mut r = SplitMix64::new(0);
        assert_eq!(r.next_u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(r.next_u64(), 0x6e78_9e6a_a1b9_65f4);
    }

    #[test]
    fn luhn() {
        assert_eq!(luhn_check_digit("7992739871"), 3);
        assert_eq!(luhn_check_digit("49015420323751"), 8);
    }
}
