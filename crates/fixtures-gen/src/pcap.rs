//! Classic libpcap files.

/// Byte order of a capture file (and of the DLT_NULL family word).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endian {
    /// Least significant byte first, as written by x86 and ARM hosts.
    Little,
    /// Most significant byte first, as written by SPARC, POWER or MIPS hosts.
    Big,
}

impl Endian {
    /// Appends `v` in this byte order.
    pub fn put_u16(self, out: &mut Vec<u8>, v: u16) {
        match self {
            Endian::Little => out.extend_from_slice(&v.to_le_bytes()),
            Endian::Big => out.extend_from_slice(&v.to_be_bytes()),
        }
    }

    /// Appends `v` in this byte order.
    pub fn put_u32(self, out: &mut Vec<u8>, v: u32) {
        match self {
            Endian::Little => out.extend_from_slice(&v.to_le_bytes()),
            Endian::Big => out.extend_from_slice(&v.to_be_bytes()),
        }
    }

    /// Appends `v` in this byte order.
    pub fn put_u64(self, out: &mut Vec<u8>, v: u64) {
        match self {
            Endian::Little => out.extend_from_slice(&v.to_le_bytes()),
            Endian::Big => out.extend_from_slice(&v.to_be_bytes()),
        }
    }
}

/// Timestamp resolution of a classic pcap file, chosen by its magic number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TsResolution {
    /// Magic `0xa1b2c3d4`: the fraction field counts microseconds.
    Micro,
    /// Magic `0xa1b23c4d`: the fraction field counts nanoseconds.
    Nano,
}

impl TsResolution {
    /// The magic number announcing this resolution.
    pub fn magic(self) -> u32 {
        match self {
            TsResolution::Micro => 0xa1b2_c3d4,
            TsResolution::Nano => 0xa1b2_3c4d,
        }
    }
}

/// Length of the global header at the start of every classic pcap file.
pub const PCAP_GLOBAL_HEADER_LEN: usize = 24;
/// Length of the header before each packet record.
pub const PCAP_RECORD_HEADER_LEN: usize = 16;

/// Writes a classic pcap file into memory.
///
/// ```
/// use telltale_fixtures::pcap::{Endian, PcapWriter, TsResolution};
/// let mut w = PcapWriter::new(Endian::Little, TsResolution::Micro, 1, 65535);
/// w.packet(1_500_000_000, &[0u8; 60]);
/// assert_eq!(w.as_bytes().len(), 24 + 16 + 60);
/// ```
#[derive(Debug, Clone)]
pub struct PcapWriter {
    buf: Vec<u8>,
    endian: Endian,
    resolution: TsResolution,
    snaplen: u32,
    packets: usize,
}

impl PcapWriter {
    /// Starts a file with its global header (version 2.4, zone 0, sigfigs 0).
    pub fn new(endian: Endian, resolution: TsResolution, linktype: u32, snaplen: u32) -> Self {
        let mut buf = Vec::with_capacity(4096);
        endian.put_u32(&mut buf, resolution.magic());
        endian.put_u16(&mut buf, 2);
        endian.put_u16(&mut buf, 4);
        endian.put_u32(&mut buf, 0);
        endian.put_u32(&mut buf, 0);
        endian.put_u32(&mut buf, snaplen);
        endian.put_u32(&mut buf, linktype);
        PcapWriter {
            buf,
            endian,
            resolution,
            snaplen,
            packets: 0,
        }
    }

    /// Appends one record; bytes beyond the snaplen are dropped while
    /// `orig_len` keeps the full length, as a capturing kernel would.
    pub fn packet(&mut self, ts_nanos: u64, data: &[u8]) {
        let cap = data.len().min(self.snaplen as usize);
        let secs = ts_nanos / 1_000_000_000;
        let frac = match self.resolution {
            TsResolution::Micro => (ts_nanos % 1_000_000_000) / 1_000,
            TsResolution::Nano => ts_nanos % 1_000_000_000,
        };
        let e = self.endian;
        e.put_u32(&mut self.buf, to_u32(secs));
        e.put_u32(&mut self.buf, to_u32(frac));
        e.put_u32(&mut self.buf, to_u32(cap as u64));
        e.put_u32(&mut self.buf, to_u32(data.len() as u64));
        self.buf.extend_from_slice(&data[..cap]);
        self.packets += 1;
    }

    /// Number of records written so far.
    pub fn packet_count(&self) -> usize {
        self.packets
    }

    /// The file written so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Finishes the file and hands over its bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }
}

pub(crate) fn to_u32(v: u64) -> u32 {
    u32::try_from(v).expect("value does not fit a 32-bit capture field")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_header_little_endian_micro() {
        let w = PcapWriter::new(Endian::Little, TsResolution::Micro, 1, 65535);
        assert_eq!(
            w.as_bytes(),
            &[
                0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0,
                0, 0
            ]
        );
    }

    #[test]
    fn global_header_big_endian_nano() {
        let w = PcapWriter::new(Endian::Big, TsResolution::Nano, 276, 262_144);
        assert_eq!(
            w.as_bytes(),
            &[
                0xa1, 0xb2, 0x3c, 0x4d, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 1,
                0x14
            ]
        );
    }

    #[test]
    fn record_header_micro_drops_sub_microsecond_digits() {
        let mut w = PcapWriter::new(Endian::Little, TsResolution::Micro, 1, 65535);
        w.packet(1_406_714_700_123_456_789, &[0xaa, 0xbb, 0xcc]);
        let rec = &w.as_bytes()[PCAP_GLOBAL_HEADER_LEN..];
        let mut want = Vec::new();
        want.extend_from_slice(&1_406_714_700u32.to_le_bytes());
        want.extend_from_slice(&123_456u32.to_le_bytes());
        want.extend_from_slice(&3u32.to_le_bytes());
        want.extend_from_slice(&3u32.to_le_bytes());
        want.extend_from_slice(&[0xaa, 0xbb, 0xcc]);
        assert_eq!(rec, &want[..]);
        assert_eq!(w.packet_count(), 1);
    }

    #[test]
    fn record_header_nano_big_endian() {
        let mut w = PcapWriter::new(Endian::Big, TsResolution::Nano, 1, 65535);
        w.packet(1_704_067_200_000_000_007, &[1]);
        let rec = &w.as_bytes()[PCAP_GLOBAL_HEADER_LEN..];
        assert_eq!(
            rec,
            &[
                0x65, 0x92, 0x00, 0x80, 0, 0, 0, 7, 0, 0, 0, 1, 0, 0, 0, 1, 1
            ]
        );
    }

    #[test]
    fn snaplen_truncates_but_keeps_orig_len() {
        let mut w = PcapWriter::new(Endian::Little, TsResolution::Micro, 1, 4);
        w.packet(0, &[1, 2, 3, 4, 5, 6]);
        let rec = &w.as_bytes()[PCAP_GLOBAL_HEADER_LEN..];
        assert_eq!(&rec[8..12], &4u32.to_le_bytes());
        assert_eq!(&rec[12..16], &6u32.to_le_bytes());
        assert_eq!(&rec[16..], &[1, 2, 3, 4]);
    }
}
