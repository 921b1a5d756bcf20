//! pcapng files: sections, interfaces and the packet and side blocks readers
//! must handle.

use crate::pcap::{Endian, to_u32};

/// Block type of a Section Header Block.
pub const BT_SHB: u32 = 0x0A0D_0D0A;
/// Block type of an Interface Description Block.
pub const BT_IDB: u32 = 0x0000_0001;
/// Block type of the obsolete Packet Block.
pub const BT_OPB: u32 = 0x0000_0002;
/// Block type of a Simple Packet Block.
pub const BT_SPB: u32 = 0x0000_0003;
/// Block type of an Enhanced Packet Block.
pub const BT_EPB: u32 = 0x0000_0006;
/// Block type of a Decryption Secrets Block.
pub const BT_DSB: u32 = 0x0000_000A;
/// Block type of a Custom Block that may be copied to a new file.
pub const BT_CUSTOM_COPY: u32 = 0x0000_0BAD;
/// Block type of a Custom Block that must not be copied to a new file.
pub const BT_CUSTOM_NOCOPY: u32 = 0x4000_0BAD;
/// Decryption Secrets Block secrets type for an NSS/SSLKEYLOGFILE key log.
pub const SECRETS_TLS_KEYLOG: u32 = 0x544c_534b;
/// Byte-order magic inside every Section Header Block.
pub const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;

const OPT_ENDOFOPT: u16 = 0;
const OPT_SHB_USERAPPL: u16 = 4;
const OPT_IF_NAME: u16 = 2;
const OPT_IF_TSRESOL: u16 = 9;

#[derive(Debug, Clone, Copy)]
struct Interface {
    snaplen: u32,
    units_per_sec: u64,
}

/// Writes a pcapng file into memory, one block per call.
///
/// Interface ids are per section, as in the format: [`PcapNgWriter::section`]
/// forgets the interfaces of the previous section.
///
/// ```
/// use telltale_fixtures::pcap::Endian;
/// use telltale_fixtures::pcapng::PcapNgWriter;
/// let mut w = PcapNgWriter::new(Endian::Little);
/// let eth = w.interface(1, 65535, Some(9), None);
/// w.epb(eth, 1_000, &[0u8; 60]);
/// assert_eq!(w.into_bytes().len() % 4, 0);
/// ```
#[derive(Debug, Clone)]
pub struct PcapNgWriter {
    buf: Vec<u8>,
    endian: Endian,
    interfaces: Vec<Interface>,
}

impl PcapNgWriter {
    /// Starts a file with its first Section Header Block.
    pub fn new(endian: Endian) -> Self {
        let mut w = PcapNgWriter {
            buf: Vec::with_capacity(4096),
            endian,
            interfaces: Vec::new(),
        };
        w.section();
        w
    }

    /// Starts a new section with another Section Header Block (same byte
    /// order) and forgets the interfaces of the previous one.
    pub fn section(&mut self) {
        let e = self.endian;
        let mut body = Vec::new();
        e.put_u32(&mut body, BYTE_ORDER_MAGIC);
        e.put_u16(&mut body, 1);
        e.put_u16(&mut body, 0);
        // -1: the section length is not known to readers, which must walk it.
        e.put_u64(&mut body, u64::MAX);
        let opts = self.options(&[(OPT_SHB_USERAPPL, b"telltale-fixtures")]);
        body.extend_from_slice(&opts);
        self.block(BT_SHB, &body);
        self.interfaces.clear();
    }

    /// Adds an Interface Description Block and returns its id in this
    /// section. `tsresol` is the raw `if_tsresol` byte (6 = µs, the default
    /// when absent; 9 = ns); only powers of ten are supported here.
    pub fn interface(
        &mut self,
        linktype: u16,
        snaplen: u32,
        tsresol: Option<u8>,
        name: Option<&str>,
    ) -> u32 {
        let e = self.endian;
        let mut body = Vec::new();
        e.put_u16(&mut body, linktype);
        e.put_u16(&mut body, 0);
        e.put_u32(&mut body, snaplen);
        let mut opts: Vec<(u16, Vec<u8>)> = Vec::new();
        if let Some(n) = name {
            opts.push((OPT_IF_NAME, n.as_bytes().to_vec()));
        }
        if let Some(r) = tsresol {
            assert!(r & 0x80 == 0, "only decimal if_tsresol is supported");
            opts.push((OPT_IF_TSRESOL, vec![r]));
        }
        let opt_refs: Vec<(u16, &[u8])> = opts.iter().map(|(c, v)| (*c, v.as_slice())).collect();
        body.extend_from_slice(&self.options(&opt_refs));
        self.block(BT_IDB, &body);
        let exp = u32::from(tsresol.unwrap_or(6));
        self.interfaces.push(Interface {
            snaplen,
            units_per_sec: 10u64.pow(exp),
        });
        to_u32(self.interfaces.len() as u64 - 1)
    }

    fn iface(&self, id: u32) -> Interface {
        *self
            .interfaces
            .get(id as usize)
            .expect("packet block names an interface this section does not have")
    }

    fn ts_units(iface: Interface, ts_nanos: u64) -> u64 {
        let secs = ts_nanos / 1_000_000_000;
        let frac =
            u128::from(ts_nanos % 1_000_000_000) * u128::from(iface.units_per_sec) / 1_000_000_000;
        secs * iface.units_per_sec + u64::try_from(frac).expect("fraction fits")
    }

    fn caplen(iface: Interface, len: usize) -> usize {
        if iface.snaplen == 0 {
            len
        } else {
            len.min(iface.snaplen as usize)
        }
    }

    /// Adds an Enhanced Packet Block; the timestamp is converted to the
    /// interface's resolution and the data truncated to its snaplen.
    pub fn epb(&mut self, interface: u32, ts_nanos: u64, data: &[u8]) {
        let iface = self.iface(interface);
        let ts = Self::ts_units(iface, ts_nanos);
        let cap = Self::caplen(iface, data.len());
        let e = self.endian;
        let mut body = Vec::new();
        e.put_u32(&mut body, interface);
        e.put_u32(&mut body, to_u32(ts >> 32));
        e.put_u32(&mut body, to_u32(ts & 0xffff_ffff));
        e.put_u32(&mut body, to_u32(cap as u64));
        e.put_u32(&mut body, to_u32(data.len() as u64));
        body.extend_from_slice(&data[..cap]);
        pad4(&mut body);
        self.block(BT_EPB, &body);
    }

    /// Adds a Simple Packet Block, which belongs to interface 0 of the
    /// section and carries no timestamp.
    pub fn spb(&mut self, data: &[u8]) {
        let iface = self.iface(0);
        let cap = Self::caplen(iface, data.len());
        let mut body = Vec::new();
        self.endian.put_u32(&mut body, to_u32(data.len() as u64));
        body.extend_from_slice(&data[..cap]);
        pad4(&mut body);
        self.block(BT_SPB, &body);
    }

    /// Adds an obsolete Packet Block (type 2), which older writers produced
    /// and readers are still expected to accept.
    pub fn opb(&mut self, interface: u16, ts_nanos: u64, data: &[u8]) {
        let iface = self.iface(u32::from(interface));
        let ts = Self::ts_units(iface, ts_nanos);
        let cap = Self::caplen(iface, data.len());
        let e = self.endian;
        let mut body = Vec::new();
        e.put_u16(&mut body, interface);
        e.put_u16(&mut body, 0);
        e.put_u32(&mut body, to_u32(ts >> 32));
        e.put_u32(&mut body, to_u32(ts & 0xffff_ffff));
        e.put_u32(&mut body, to_u32(cap as u64));
        e.put_u32(&mut body, to_u32(data.len() as u64));
        body.extend_from_slice(&data[..cap]);
        pad4(&mut body);
        self.block(BT_OPB, &body);
    }

    /// Adds a Decryption Secrets Block of any secrets type.
    pub fn dsb(&mut self, secrets_type: u32, secrets: &[u8]) {
        let e = self.endian;
        let mut body = Vec::new();
        e.put_u32(&mut body, secrets_type);
        e.put_u32(&mut body, to_u32(secrets.len() as u64));
        body.extend_from_slice(secrets);
        pad4(&mut body);
        self.block(BT_DSB, &body);
    }

    /// Adds a Decryption Secrets Block holding a TLS key log (the text of an
    /// SSLKEYLOGFILE).
    pub fn dsb_tls_keylog(&mut self, keylog: &str) {
        self.dsb(SECRETS_TLS_KEYLOG, keylog.as_bytes());
    }

    /// Adds a Custom Block for Private Enterprise Number `pen`; `copyable`
    /// picks type 0x00000BAD over 0x40000BAD.
    pub fn custom_block(&mut self, pen: u32, data: &[u8], copyable: bool) {
        let mut body = Vec::new();
        self.endian.put_u32(&mut body, pen);
        body.extend_from_slice(data);
        pad4(&mut body);
        let bt = if copyable {
            BT_CUSTOM_COPY
        } else {
            BT_CUSTOM_NOCOPY
        };
        self.block(bt, &body);
    }

    /// Adds a block of any type with the given body (padded to 32 bits),
    /// for block types a reader does not know and must skip.
    pub fn raw_block(&mut self, block_type: u32, body: &[u8]) {
        let mut b = body.to_vec();
        pad4(&mut b);
        self.block(block_type, &b);
    }

    /// The file written so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Finishes the file and hands over its bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    fn options(&self, opts: &[(u16, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        if opts.is_empty() {
            return out;
        }
        for (code, value) in opts {
            self.endian.put_u16(&mut out, *code);
            self.endian
                .put_u16(&mut out, u16::try_from(value.len()).expect("option fits"));
            out.extend_from_slice(value);
            pad4(&mut out);
        }
        self.endian.put_u16(&mut out, OPT_ENDOFOPT);
        self.endian.put_u16(&mut out, 0);
        out
    }

    fn block(&mut self, block_type: u32, body: &[u8]) {
        debug_assert_eq!(body.len() % 4, 0);
        let total = to_u32(body.len() as u64 + 12);
        let e = self.endian;
        e.put_u32(&mut self.buf, block_type);
        e.put_u32(&mut self.buf, total);
        self.buf.extend_from_slice(body);
        e.put_u32(&mut self.buf, total);
    }
}

fn pad4(v: &mut Vec<u8>) {
    while !v.len().is_multiple_of(4) {
        v.push(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u32_at(b: &[u8], off: usize, e: Endian) -> u32 {
        let a: [u8; 4] = b[off..off + 4].try_into().unwrap();
        match e {
            Endian::Little => u32::from_le_bytes(a),
            Endian::Big => u32::from_be_bytes(a),
        }
    }

    /// Walks blocks, checking leading and trailing lengths agree.
    fn blocks(b: &[u8], e: Endian) -> Vec<(u32, Vec<u8>)> {
        let mut out = Vec::new();
        let mut off = 0;
        while off < b.len() {
            let bt = u32_at(b, off, e);
            let len = u32_at(b, off + 4, e) as usize;
            assert_eq!(len % 4, 0);
            assert_eq!(u32_at(b, off + len - 4, e) as usize, len, "trailing length");
            out.push((bt, b[off + 8..off + len - 4].to_vec()));
            off += len;
        }
        assert_eq!(off, b.len());
        out
    }

    #[test]
    fn shb_is_byte_exact() {
        let w = PcapNgWriter::new(Endian::Little);
        let b = w.as_bytes();
        // 12 framing + 16 fixed + userappl (4 + 17 + 3 pad) + end (4) = 56
        assert_eq!(b.len(), 56);
        assert_eq!(&b[0..4], &[0x0a, 0x0d, 0x0d, 0x0a]);
        assert_eq!(&b[4..8], &56u32.to_le_bytes());
        assert_eq!(&b[8..12], &[0x4d, 0x3c, 0x2b, 0x1a]);
        assert_eq!(&b[12..16], &[1, 0, 0, 0]);
        assert_eq!(&b[16..24], &[0xff; 8]);
        assert_eq!(&b[24..28], &[4, 0, 17, 0]);
        assert_eq!(&b[28..45], b"telltale-fixtures");
        assert_eq!(&b[45..48], &[0, 0, 0]);
        assert_eq!(&b[48..52], &[0, 0, 0, 0]);
        assert_eq!(&b[52..56], &56u32.to_le_bytes());
    }

    #[test]
    fn big_endian_shb_magic() {
        let w = PcapNgWriter::new(Endian::Big);
        let b = w.as_bytes();
        assert_eq!(&b[0..4], &[0x0a, 0x0d, 0x0d, 0x0a]);
        assert_eq!(&b[8..12], &[0x1a, 0x2b, 0x3c, 0x4d]);
        assert_eq!(&b[12..16], &[0, 1, 0, 0]);
        blocks(b, Endian::Big);
    }

    #[test]
    fn idb_and_epb_lengths() {
        let mut w = PcapNgWriter::new(Endian::Little);
        let shb_len = w.as_bytes().len();
        let id = w.interface(228, 65535, Some(9), None);
        assert_eq!(id, 0);
        let after_idb = w.as_bytes().len();
        // 12 framing + 8 fixed + tsresol (4 + 1 + 3 pad) + end (4) = 32
        assert_eq!(after_idb - shb_len, 32);
        let idb = &w.as_bytes()[shb_len..after_idb];
        assert_eq!(&idb[0..8], &[1, 0, 0, 0, 32, 0, 0, 0]);
        assert_eq!(&idb[8..16], &[228, 0, 0, 0, 0xff, 0xff, 0, 0]);
        assert_eq!(&idb[16..24], &[9, 0, 1, 0, 9, 0, 0, 0]);
        w.epb(id, 1_000_000_000 + 5, &[7u8; 5]);
        let epb = &w.as_bytes()[after_idb..];
        // 12 framing + 20 fixed + 5 data + 3 pad = 40
        assert_eq!(epb.len(), 40);
        assert_eq!(&epb[0..8], &[6, 0, 0, 0, 40, 0, 0, 0]);
        assert_eq!(&epb[8..12], &[0, 0, 0, 0]);
        let ts = 1_000_000_005u64;
        assert_eq!(&epb[12..16], &((ts >> 32) as u32).to_le_bytes());
        assert_eq!(&epb[16..20], &(ts as u32).to_le_bytes());
        assert_eq!(&epb[20..24], &5u32.to_le_bytes());
        assert_eq!(&epb[24..28], &5u32.to_le_bytes());
        assert_eq!(&epb[28..33], &[7u8; 5]);
        assert_eq!(&epb[33..36], &[0, 0, 0]);
        assert_eq!(&epb[36..40], &40u32.to_le_bytes());
    }

    #[test]
    fn default_resolution_is_microseconds() {
        let mut w = PcapNgWriter::new(Endian::Little);
        let id = w.interface(1, 65535, None, Some("eth0"));
        let before = w.as_bytes().len();
        w.epb(id, 3_000_004_999, &[0u8; 4]);
        let epb = &w.as_bytes()[before..];
        assert_eq!(&epb[16..20], &3_000_004u32.to_le_bytes());
    }

    #[test]
    fn every_block_type_frames_correctly() {
        let mut w = PcapNgWriter::new(Endian::Big);
        w.interface(1, 64, None, None);
        w.epb(0, 0, &[1u8; 100]);
        w.spb(&[2u8; 10]);
        w.opb(0, 0, &[3u8; 3]);
        w.dsb_tls_keylog("CLIENT_RANDOM 00 11\n");
        w.custom_block(32473, b"hello", true);
        w.custom_block(32473, b"hello", false);
        w.raw_block(0x8000_7E57, b"abc");
        w.section();
        let types: Vec<u32> = blocks(w.as_bytes(), Endian::Big)
            .iter()
            .map(|b| b.0)
            .collect();
        assert_eq!(
            types,
            vec![
                BT_SHB,
                BT_IDB,
                BT_EPB,
                BT_SPB,
                BT_OPB,
                BT_DSB,
                BT_CUSTOM_COPY,
                BT_CUSTOM_NOCOPY,
                0x8000_7E57,
                BT_SHB
            ]
        );
        let bl = blocks(w.as_bytes(), Endian::Big);
        // EPB truncated to the 64-byte snaplen, original length kept.
        assert_eq!(u32_at(&bl[2].1, 12, Endian::Big), 64);
        assert_eq!(u32_at(&bl[2].1, 16, Endian::Big), 100);
        // SPB: original length, then data.
        assert_eq!(u32_at(&bl[3].1, 0, Endian::Big), 10);
        assert_eq!(bl[3].1.len(), 4 + 12);
        // DSB: type and length of the key log.
        assert_eq!(u32_at(&bl[5].1, 0, Endian::Big), SECRETS_TLS_KEYLOG);
        assert_eq!(u32_at(&bl[5].1, 4, Endian::Big), 20);
    }
}
