//! QUIC Initial packets: from UDP datagrams to the TLS hellos they carry.
//!
//! A QUIC handshake starts with Initial packets whose protection keys come
//! from public values (RFC 9001 §5.2): anyone who saw the client's first
//! Initial can derive them from its Destination Connection ID. The TLS
//! ClientHello inside, spread over CRYPTO frames and possibly several
//! packets and datagrams, names the server (SNI) as plainly as over TCP.
//!
//! - [`QuicInitialReader`] follows one connection: feed it the client's
//!   datagrams ([`feed`](QuicInitialReader::feed)) and, if you like, the
//!   server's ([`feed_server`](QuicInitialReader::feed_server)), in capture
//!   order; it reports the [`QuicHello`] (and [`QuicServerHello`]) once and
//!   then says it is [`done`](QuicInitialReader::done).
//! - The pieces are usable on their own: [`is_quic_initial`] to recognise a
//!   client's first datagram on any port, [`long_packets`] to walk the
//!   coalesced long-header packets of a datagram, [`InitialKeys`] to remove
//!   header protection and decrypt, [`frames`] to walk the frames.
//!
//! Versions: 1 (RFC 9000/9001), 2 (RFC 9369: other packet type bits, salt
//! and HKDF labels) and IETF drafts 23 to 34 (drafts 23–28, 29–32 and 33–34
//! each share a salt). All cryptography is RustCrypto's (`hkdf`, `sha2`,
//! `aes`, `aes-gcm`); Initial packets always use AES-128-GCM.
//!
//! ```
//! use telltale_proto::quic::{is_quic_initial, version_name, QuicInitialReader};
//!
//! assert_eq!(version_name(0x6b33_43cf), "v2");
//! assert_eq!(version_name(0xff00_001d), "draft-29");
//! // DNS, not QUIC: the probe says no and the reader learns nothing.
//! let not_quic = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00";
//! assert!(!is_quic_initial(not_quic));
//! let mut reader = QuicInitialReader::new();
//! assert!(reader.feed(not_quic).is_none());
//! ```

use aes::Aes128;
use aes::cipher::{BlockCipherEncrypt, KeyInit};
use aes_gcm::Aes128Gcm;
use aes_gcm::aead::{Aead, Payload};
use hkdf::Hkdf;
use sha2::Sha256;

use crate::tls;

/// QUIC version 1 (RFC 9000).
pub const VERSION_1: u32 = 0x0000_0001;
/// QUIC version 2 (RFC 9369).
pub const VERSION_2: u32 = 0x6b33_43cf;
/// IETF draft-29, the draft most widely deployed before version 1.
pub const VERSION_DRAFT_29: u32 = 0xff00_001d;

/// CRYPTO stream bytes buffered per direction. A ClientHello is 250 bytes
/// to a few KiB (post-quantum key shares add 1.2 KiB); anything whose
/// hello lies beyond this is given up on.
pub const MAX_CRYPTO_BUFFER: usize = 64 * 1024;

/// Datagrams per direction a reader looks at before giving up: a hello
/// spans one to three datagrams in practice, retransmissions included.
pub const MAX_DATAGRAMS: u32 = 32;

/// Longest connection ID of the versions handled here (RFC 9000 §17.2).
const MAX_CID_LEN: usize = 20;

/// Key sets a reader derives at most: the original one, a Retry's, a
/// version upgrade's; more means hostile input, and each costs HKDF work.
const MAX_KEY_SETS: usize = 6;

const AEAD_TAG_LEN: usize = 16;
const SAMPLE_LEN: usize = 16;

const HS_CLIENT_HELLO: u8 = 1;
const HS_SERVER_HELLO: u8 = 2;

const SALT_V1: [u8; 20] = [
    0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad,
    0xcc, 0xbb, 0x7f, 0x0a,
];
const SALT_V2: [u8; 20] = [
    0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93, 0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb,
    0xf9, 0xbd, 0x2e, 0xd9,
];
const SALT_DRAFT_29: [u8; 20] = [
    0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97, 0x86, 0xf1, 0x9c, 0x61, 0x11, 0xe0,
    0x43, 0x90, 0xa8, 0x99,
];
const SALT_DRAFT_23: [u8; 20] = [
    0xc3, 0xee, 0xf7, 0x12, 0xc7, 0x2e, 0xbb, 0x5a, 0x11, 0xa7, 0xd2, 0x43, 0x2b, 0xb4, 0x63, 0x65,
    0xbe, 0xf9, 0xf5, 0x02,
];

/// What differs between the versions handled here.
#[derive(Debug, Clone, Copy)]
struct VersionParams {
    salt: &'static [u8; 20],
    key_label: &'static [u8],
    iv_label: &'static [u8],
    hp_label: &'static [u8],
    /// RFC 9369 rotated the long-header packet type numbers.
    v2_types: bool,
}

const PARAMS_V1: VersionParams = VersionParams {
    salt: &SALT_V1,
    key_label: b"quic key",
    iv_label: b"quic iv",
    hp_label: b"quic hp",
    v2_types: false,
};

fn params(version: u32) -> Option<VersionParams> {
    match version {
        VERSION_1 | 0xff00_0021 | 0xff00_0022 => Some(PARAMS_V1),
        VERSION_2 => Some(VersionParams {
            salt: &SALT_V2,
            key_label: b"quicv2 key",
            iv_label: b"quicv2 iv",
            hp_label: b"quicv2 hp",
            v2_types: true,
        }),
        0xff00_001d..=0xff00_0020 => Some(VersionParams {
            salt: &SALT_DRAFT_29,
            ..PARAMS_V1
        }),
        0xff00_0017..=0xff00_001c => Some(VersionParams {
            salt: &SALT_DRAFT_23,
            ..PARAMS_V1
        }),
        _ => None,
    }
}

/// Whether Initial packets of this version can be decrypted here.
pub fn is_supported_version(version: u32) -> bool {
    params(version).is_some()
}

/// A short name for a version: `v1`, `v2`, `draft-29`, `negotiation` for
/// 0 (Version Negotiation packets), else the hex value (`0x1a2a3a4a`).
pub fn version_name(version: u32) -> String {
    match version {
        0 => "negotiation".to_owned(),
        VERSION_1 => "v1".to_owned(),
        VERSION_2 => "v2".to_owned(),
        0xff00_0001..=0xff00_00ff => format!("draft-{}", version & 0xff),
        _ => format!("{version:#010x}"),
    }
}

/// Long-header packet types (RFC 9000 §17.2; RFC 9369 numbers them
/// differently on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketType {
    /// Initial: carries the hellos, keys from the client's first DCID.
    Initial,
    /// 0-RTT: early application data, keys from a resumed session.
    ZeroRtt,
    /// Handshake: keys from the TLS key exchange.
    Handshake,
    /// Retry: the server asks the client to start again with a token.
    Retry,
}

fn packet_type(first: u8, p: VersionParams) -> PacketType {
    let bits = (first >> 4) & 0x03;
    let bits = if p.v2_types {
        bits.wrapping_sub(1) & 0x03
    } else {
        bits
    };
    match bits {
        0 => PacketType::Initial,
        1 => PacketType::ZeroRtt,
        2 => PacketType::Handshake,
        _ => PacketType::Retry,
    }
}

/// Bounds-checked reads over a byte slice.
#[derive(Debug, Clone)]
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8], pos: usize) -> Self {
        Reader { buf, pos }
    }

    fn u8(&mut self) -> Option<u8> {
        let b = *self.buf.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }

    /// A QUIC variable-length integer (RFC 9000 §16).
    fn varint(&mut self) -> Option<u64> {
        let first = self.u8()?;
        let len = 1usize << (first >> 6);
        let mut v = u64::from(first & 0x3f);
        for _ in 1..len {
            v = (v << 8) | u64::from(self.u8()?);
        }
        Some(v)
    }

    fn varint_len(&mut self) -> Option<usize> {
        usize::try_from(self.varint()?).ok()
    }

    fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or_default()
    }
}

/// One long-header packet of a datagram, still protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LongPacket<'a> {
    /// Version field.
    pub version: u32,
    /// Packet type, decoded with the version's numbering.
    pub packet_type: PacketType,
    /// Destination Connection ID.
    pub dcid: &'a [u8],
    /// Source Connection ID.
    pub scid: &'a [u8],
    /// Token (Initial packets only; empty otherwise).
    pub token: &'a [u8],
    /// The whole packet, header included. For a Retry, the rest of the
    /// datagram.
    pub bytes: &'a [u8],
    /// Offset in `bytes` of the protected packet number (0 for a Retry).
    pub pn_offset: usize,
}

/// Parses the long-header packet at the start of `d`.
fn parse_long(d: &[u8]) -> Option<LongPacket<'_>> {
    let mut r = Reader::new(d, 0);
    let first = r.u8()?;
    if first & 0x80 == 0 {
        return None;
    }
    let version = u32::from_be_bytes(r.take(4)?.try_into().ok()?);
    let dcid_len = usize::from(r.u8()?);
    let dcid = r.take(dcid_len)?;
    let scid_len = usize::from(r.u8()?);
    let scid = r.take(scid_len)?;
    // Version Negotiation (version 0) and unknown versions have no length
    // field we can trust: nothing after them can be delimited.
    let p = params(version)?;
    if dcid.len() > MAX_CID_LEN || scid.len() > MAX_CID_LEN {
        return None;
    }
    let packet_type = packet_type(first, p);
    let mut token: &[u8] = &[];
    match packet_type {
        PacketType::Retry => {
            return Some(LongPacket {
                version,
                packet_type,
                dcid,
                scid,
                token,
                bytes: d,
                pn_offset: 0,
            });
        }
        PacketType::Initial => {
            let n = r.varint_len()?;
            token = r.take(n)?;
        }
        PacketType::ZeroRtt | PacketType::Handshake => {}
    }
    let length = r.varint_len()?;
    let pn_offset = r.pos;
    let end = pn_offset.checked_add(length)?;
    Some(LongPacket {
        version,
        packet_type,
        dcid,
        scid,
        token,
        bytes: d.get(..end)?,
        pn_offset,
    })
}

/// The long-header packets coalesced in one UDP datagram, in order.
///
/// The walk ends at the end of the datagram, at a short-header packet (it
/// has no length and is always last), at padding after the last packet
/// (zero bytes look like a short header), at a Version Negotiation or
/// unknown-version packet, after a Retry, and at a packet that does not fit
/// in what was captured.
#[derive(Debug, Clone)]
pub struct LongPackets<'a> {
    rest: &'a [u8],
}

/// Walks the long-header packets of a datagram; see [`LongPackets`].
pub fn long_packets(datagram: &[u8]) -> LongPackets<'_> {
    LongPackets { rest: datagram }
}

impl<'a> Iterator for LongPackets<'a> {
    type Item = LongPacket<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        let Some(p) = parse_long(self.rest) else {
            self.rest = &[];
            return None;
        };
        self.rest = self.rest.get(p.bytes.len()..).unwrap_or_default();
        Some(p)
    }
}

/// Whether a UDP payload starts with a client's first Initial packet of a
/// version handled here: long header with the fixed bit, Initial type, a
/// Destination Connection ID of 8 to 20 bytes (RFC 9000 §7.2 requires at
/// least 8 from a client), and a packet that fits in the datagram and is
/// long enough to be protected. Cheap enough to run on every UDP flow.
pub fn is_quic_initial(datagram: &[u8]) -> bool {
    let Some(first) = datagram.first() else {
        return false;
    };
    if first & 0xc0 != 0xc0 {
        return false;
    }
    let Some(p) = parse_long(datagram) else {
        return false;
    };
    p.packet_type == PacketType::Initial
        && (8..=MAX_CID_LEN).contains(&p.dcid.len())
        && p.bytes.len() >= p.pn_offset + 4 + SAMPLE_LEN
}

/// Packet protection keys for Initial packets in one direction.
#[derive(Clone)]
pub struct InitialKeys {
    version: u32,
    aead: Aes128Gcm,
    iv: [u8; 12],
    hp: Aes128,
}

impl std::fmt::Debug for InitialKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Public keys, but there is nothing to learn from printing them.
        f.debug_struct("InitialKeys")
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

/// HKDF-Expand-Label of TLS 1.3 (RFC 8446 §7.1) with an empty context.
fn expand_label(prk: &Hkdf<Sha256>, label: &[u8], out: &mut [u8]) -> Option<()> {
    let mut info = Vec::with_capacity(4 + 6 + label.len());
    info.extend_from_slice(&u16::try_from(out.len()).ok()?.to_be_bytes());
    info.push(u8::try_from(6 + label.len()).ok()?);
    info.extend_from_slice(b"tls13 ");
    info.extend_from_slice(label);
    info.push(0);
    prk.expand(&info, out).ok()
}

/// The decrypted content of a protected packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    /// The full packet number, reconstructed from the truncated one.
    pub packet_number: u64,
    /// The plaintext frames.
    pub payload: Vec<u8>,
}

impl InitialKeys {
    /// The keys a client protects its Initial packets with, for `version`
    /// and the Destination Connection ID of its first Initial. `None` for a
    /// version not handled here.
    pub fn client(version: u32, dcid: &[u8]) -> Option<Self> {
        Self::derive(version, dcid, b"client in")
    }

    /// The keys a server protects its Initial packets with (same inputs).
    pub fn server(version: u32, dcid: &[u8]) -> Option<Self> {
        Self::derive(version, dcid, b"server in")
    }

    fn derive(version: u32, dcid: &[u8], side: &[u8]) -> Option<Self> {
        let p = params(version)?;
        let initial = Hkdf::<Sha256>::new(Some(p.salt), dcid);
        let mut secret = [0u8; 32];
        expand_label(&initial, side, &mut secret)?;
        let prk = Hkdf::<Sha256>::from_prk(&secret).ok()?;
        let mut key = [0u8; 16];
        let mut iv = [0u8; 12];
        let mut hp = [0u8; 16];
        expand_label(&prk, p.key_label, &mut key)?;
        expand_label(&prk, p.iv_label, &mut iv)?;
        expand_label(&prk, p.hp_label, &mut hp)?;
        Some(InitialKeys {
            version,
            aead: Aes128Gcm::new_from_slice(&key).ok()?,
            iv,
            hp: Aes128::new_from_slice(&hp).ok()?,
        })
    }

    /// The version these keys are for.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The header-protection mask for the sample that follows a packet
    /// number at `pn_offset` (RFC 9001 §5.4.2: the sample assumes a 4-byte
    /// packet number).
    fn mask(&self, bytes: &[u8], pn_offset: usize) -> Option<[u8; 16]> {
        let start = pn_offset.checked_add(4)?;
        let end = start.checked_add(SAMPLE_LEN)?;
        let sample: [u8; SAMPLE_LEN] = bytes.get(start..end)?.try_into().ok()?;
        let mut block = aes::Block::from(sample);
        self.hp.encrypt_block(&mut block);
        Some(block.into())
    }

    fn nonce(&self, pn: u64) -> aes_gcm::Nonce<aes_gcm::aead::consts::U12> {
        let mut nonce = self.iv;
        for (n, p) in nonce[4..].iter_mut().zip(pn.to_be_bytes()) {
            *n ^= p;
        }
        nonce.into()
    }

    /// Removes header protection and decrypts an Initial, 0-RTT or
    /// Handshake packet protected with these keys. `largest_pn` is the
    /// largest packet number decrypted so far in this packet number space,
    /// against which the truncated number is expanded. `None` when the
    /// packet is too short or does not authenticate (other keys, damage).
    pub fn open(&self, packet: &LongPacket<'_>, largest_pn: Option<u64>) -> Option<Opened> {
        if packet.packet_type == PacketType::Retry {
            return None;
        }
        let bytes = packet.bytes;
        let pn_offset = packet.pn_offset;
        let mask = self.mask(bytes, pn_offset)?;
        let first = bytes.first()? ^ (mask[0] & 0x0f);
        let pn_len = usize::from(first & 0x03) + 1;
        let pn_end = pn_offset.checked_add(pn_len)?;
        let mut header = bytes.get(..pn_end)?.to_vec();
        header[0] = first;
        let mut truncated = 0u64;
        for (i, m) in mask[1..=pn_len].iter().enumerate() {
            let b = &mut header[pn_offset + i];
            *b ^= m;
            truncated = (truncated << 8) | u64::from(*b);
        }
        let ciphertext = bytes.get(pn_end..)?;
        if ciphertext.len() < AEAD_TAG_LEN {
            return None;
        }
        let packet_number = decode_packet_number(largest_pn, truncated, pn_len * 8);
        let payload = self
            .aead
            .decrypt(
                &self.nonce(packet_number),
                Payload {
                    msg: ciphertext,
                    aad: &header,
                },
            )
            .ok()?;
        Some(Opened {
            packet_number,
            payload,
        })
    }

    /// Protects a packet: `header` ends with the packet number (`pn_len`
    /// bytes, its length in the first byte's low bits and the Length field
    /// already counting the tag). Test-only: telltale never sends.
    #[cfg(test)]
    fn seal(&self, header: &[u8], pn: u64, pn_len: usize, payload: &[u8]) -> Vec<u8> {
        let mut ct = self
            .aead
            .encrypt(
                &self.nonce(pn),
                Payload {
                    msg: payload,
                    aad: header,
                },
            )
            .expect("seal");
        let pn_offset = header.len() - pn_len;
        let mut out = header.to_vec();
        out.append(&mut ct);
        let mask = self.mask(&out, pn_offset).expect("long enough to sample");
        out[0] ^= mask[0] & if out[0] & 0x80 != 0 { 0x0f } else { 0x1f };
        for i in 0..pn_len {
            out[pn_offset + i] ^= mask[1 + i];
        }
        out
    }
}

/// Expands a truncated packet number of `bits` bits to the full number
/// closest to the next expected one (RFC 9000 Appendix A.3).
pub fn decode_packet_number(largest_pn: Option<u64>, truncated: u64, bits: usize) -> u64 {
    const MAX_PN: u64 = (1 << 62) - 1;
    let bits = bits.clamp(8, 32);
    let expected = largest_pn.map_or(0, |l| l.saturating_add(1)).min(MAX_PN);
    let win = 1u64 << bits;
    let hwin = win / 2;
    let candidate = (expected & !(win - 1)) | (truncated & (win - 1));
    if candidate.saturating_add(hwin) <= expected && candidate < (1u64 << 62) - win {
        candidate + win
    } else if candidate > expected.saturating_add(hwin) && candidate >= win {
        candidate - win
    } else {
        candidate
    }
}

/// A frame of a decrypted Initial packet. Only the frames an Initial may
/// carry are decoded (RFC 9000 §12.4).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Frame<'a> {
    /// A run of PADDING bytes.
    Padding {
        /// How many.
        len: usize,
    },
    /// PING.
    Ping,
    /// ACK or ACK_ECN (contents skipped).
    Ack {
        /// Largest Acknowledged.
        largest: u64,
    },
    /// CRYPTO: TLS handshake bytes at an offset of the crypto stream.
    Crypto {
        /// Stream offset of `data`.
        offset: u64,
        /// The bytes.
        data: &'a [u8],
    },
    /// CONNECTION_CLOSE (0x1c, transport error; 0x1d, application error).
    ConnectionClose {
        /// Error code.
        error_code: u64,
        /// Frame type that caused it (transport errors only).
        frame_type: Option<u64>,
        /// Reason phrase bytes.
        reason: &'a [u8],
    },
    /// Any other type: frames are not self-delimiting, so the walk ends
    /// after reporting it.
    Other {
        /// The frame type.
        frame_type: u64,
    },
}

/// The frames of a decrypted payload, in order. The walk ends at the end,
/// after an [`Frame::Other`], and silently at a truncated frame.
#[derive(Debug, Clone)]
pub struct Frames<'a> {
    r: Reader<'a>,
    done: bool,
}

/// Walks the frames of a decrypted payload; see [`Frames`].
pub fn frames(payload: &[u8]) -> Frames<'_> {
    Frames {
        r: Reader::new(payload, 0),
        done: false,
    }
}

impl<'a> Frames<'a> {
    fn frame(&mut self) -> Option<Frame<'a>> {
        let r = &mut self.r;
        let frame_type = r.varint()?;
        Some(match frame_type {
            0x00 => {
                let zeros = r.rest().iter().take_while(|b| **b == 0).count();
                r.pos += zeros;
                Frame::Padding { len: zeros + 1 }
            }
            0x01 => Frame::Ping,
            0x02 | 0x03 => {
                let largest = r.varint()?;
                r.varint()?; // ACK Delay
                let ranges = r.varint()?;
                r.varint()?; // First ACK Range
                // Each range takes at least two bytes, so a huge count runs
                // out of payload long before it runs out of iterations.
                for _ in 0..ranges {
                    r.varint()?;
                    r.varint()?;
                }
                if frame_type == 0x03 {
                    for _ in 0..3 {
                        r.varint()?;
                    }
                }
                Frame::Ack { largest }
            }
            0x06 => {
                let offset = r.varint()?;
                let len = r.varint_len()?;
                let data = r.take(len)?;
                Frame::Crypto { offset, data }
            }
            0x1c | 0x1d => {
                let error_code = r.varint()?;
                let frame_type = if frame_type == 0x1c {
                    Some(r.varint()?)
                } else {
                    None
                };
                let len = r.varint_len()?;
                let reason = r.take(len)?;
                Frame::ConnectionClose {
                    error_code,
                    frame_type,
                    reason,
                }
            }
            other => {
                self.done = true;
                Frame::Other { frame_type: other }
            }
        })
    }
}

impl<'a> Iterator for Frames<'a> {
    type Item = Frame<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.r.rest().is_empty() {
            return None;
        }
        let f = self.frame();
        if f.is_none() {
            self.done = true;
        }
        f
    }
}

/// The CRYPTO stream of one direction, reassembled by offset. Overlapping
/// copies: the first to arrive wins (as in the TCP reassembly).
#[derive(Debug, Clone, Default)]
struct CryptoStream {
    buf: Vec<u8>,
    have: Vec<bool>,
    contiguous: usize,
}

impl CryptoStream {
    /// Adds `data` at `offset`; bytes at or beyond [`MAX_CRYPTO_BUFFER`] are
    /// dropped (no hello lies there that could still be parsed).
    fn insert(&mut self, offset: u64, data: &[u8]) {
        let Ok(start) = usize::try_from(offset) else {
            return;
        };
        if start >= MAX_CRYPTO_BUFFER {
            return;
        }
        let end = start.saturating_add(data.len()).min(MAX_CRYPTO_BUFFER);
        if end > self.buf.len() {
            self.buf.resize(end, 0);
            self.have.resize(end, false);
        }
        for (i, b) in (start..end).zip(data) {
            if !self.have[i] {
                self.have[i] = true;
                self.buf[i] = *b;
            }
        }
        while self.have.get(self.contiguous) == Some(&true) {
            self.contiguous += 1;
        }
    }

    fn prefix(&self) -> &[u8] {
        &self.buf[..self.contiguous]
    }
}

/// The hello the reader looks for at `start` of the stream: `Ok(None)`
/// while incomplete, `Ok(Some(body))` once whole.
fn handshake_message(s: &CryptoStream, start: usize, typ: u8) -> Result<Option<&[u8]>, QuicError> {
    let p = s.prefix();
    let Some(hdr) = p.get(start..start + 4) else {
        return Ok(None);
    };
    if hdr[0] != typ {
        return Err(QuicError::NotHello { msg_type: hdr[0] });
    }
    let len = usize::from(hdr[1]) << 16 | usize::from(hdr[2]) << 8 | usize::from(hdr[3]);
    let end = start + 4 + len;
    if end > MAX_CRYPTO_BUFFER {
        return Err(QuicError::HelloTooLong { len });
    }
    Ok(p.get(start + 4..end))
}

/// Why a [`QuicInitialReader`] gave up on the client's side.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QuicError {
    /// A client datagram started with a short-header packet before the
    /// hello was complete: the handshake is over (or was never seen).
    #[error("short-header packet before the ClientHello was complete")]
    HandshakeOver,
    /// [`MAX_DATAGRAMS`] datagrams without a complete hello.
    #[error("no complete ClientHello in {MAX_DATAGRAMS} datagrams")]
    TooManyDatagrams,
    /// The crypto stream does not start with the expected hello.
    #[error("crypto stream starts with handshake type {msg_type}, not a hello")]
    NotHello {
        /// The handshake message type found.
        msg_type: u8,
    },
    /// A hello that would not fit in [`MAX_CRYPTO_BUFFER`].
    #[error("hello of {len} bytes is longer than the {MAX_CRYPTO_BUFFER} buffered")]
    HelloTooLong {
        /// Length the handshake header announced.
        len: usize,
    },
    /// The hello's structure does not parse.
    #[error("malformed ClientHello in QUIC CRYPTO frames")]
    Malformed,
}

/// A client's hello, read from its Initial packets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuicHello {
    /// QUIC version of the Initial packets that carried it.
    pub version: u32,
    /// The Destination Connection ID the keys came from: that of the
    /// client's first Initial (or of its first Initial after a Retry).
    pub dcid: Vec<u8>,
    /// The client's Source Connection ID.
    pub scid: Vec<u8>,
    /// Whether the Initial carried a token (from a Retry or NEW_TOKEN: the
    /// client has been here before, or was asked to prove its address).
    pub token: bool,
    /// The ClientHello (`record_version` is 0: QUIC has no records).
    pub client_hello: tls::ClientHello,
    /// Which datagram, counting from 1 among those given to
    /// [`QuicInitialReader::feed`], carried the first CRYPTO bytes of it.
    pub first_datagram: u32,
    /// Which datagram completed it (the one whose `feed` returned it).
    pub last_datagram: u32,
}

/// A server's hello, read from its Initial packets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuicServerHello {
    /// QUIC version of the server's Initial packets (differs from the
    /// client's after compatible version negotiation, RFC 9368).
    pub version: u32,
    /// The server's Source Connection ID.
    pub scid: Vec<u8>,
    /// The ServerHello, or a HelloRetryRequest (see
    /// [`tls::ServerHello::hello_retry_request`]; the real one follows).
    pub server_hello: tls::ServerHello,
}

/// Counters of one reader.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QuicStats {
    /// Client datagrams looked at.
    pub client_datagrams: u64,
    /// Server datagrams looked at.
    pub server_datagrams: u64,
    /// Initial packets decrypted.
    pub initials_decrypted: u64,
    /// Initial packets that did not authenticate with any key tried.
    pub initials_undecryptable: u64,
}

/// Keys derived from one (version, DCID) pair, for both directions, with
/// each direction's largest packet number.
#[derive(Debug, Clone)]
struct KeySet {
    version: u32,
    dcid: Vec<u8>,
    client: InitialKeys,
    server: InitialKeys,
    client_largest: Option<u64>,
    server_largest: Option<u64>,
}

#[derive(Debug, Clone, Default)]
struct Side {
    stream: CryptoStream,
    /// Stream offset of the hello being waited for (moves past a
    /// HelloRetryRequest on the server side).
    msg_start: usize,
    first_datagram: Option<u32>,
    done: bool,
}

impl Side {
    fn reset(&mut self) {
        *self = Side {
            done: self.done,
            ..Side::default()
        };
    }
}

/// Reads the hellos out of one QUIC connection's Initial packets.
///
/// Feed the client's datagrams to [`feed`](Self::feed) and the server's to
/// [`feed_server`](Self::feed_server), each in capture order; the two may
/// interleave as they do on the wire. Each returns its hello once. Stop
/// feeding a side when [`client_done`](Self::client_done) or
/// [`server_done`](Self::server_done) says so, and the connection when
/// [`done`](Self::done) does.
///
/// Keys come from the Destination Connection ID of the client's first
/// Initial and serve every later Initial of both sides, whatever connection
/// IDs those carry. A client Initial that does not authenticate with them
/// is tried with keys from its own DCID (and version): if that works, the
/// client started again (after a Retry, or a new connection on the same
/// ports) and reassembly restarts. It buffers at most
/// [`MAX_CRYPTO_BUFFER`] bytes per side and looks at most at
/// [`MAX_DATAGRAMS`] datagrams per side.
#[derive(Debug, Clone, Default)]
pub struct QuicInitialReader {
    keys: Vec<KeySet>,
    /// Index in `keys` of the connection's current key set.
    current: Option<usize>,
    client: Side,
    server: Side,
    client_datagrams: u32,
    server_datagrams: u32,
    error: Option<QuicError>,
    stats: QuicStats,
}

impl QuicInitialReader {
    /// A reader that has seen nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// No more client datagrams are needed: the hello was read, or given
    /// up on ([`error`](Self::error) says why).
    pub fn client_done(&self) -> bool {
        self.client.done
    }

    /// No more server datagrams are needed: the ServerHello was read, or
    /// cannot be (no keys, limit reached, handshake over).
    pub fn server_done(&self) -> bool {
        self.server.done || (self.client.done && self.current.is_none())
    }

    /// Both sides are done: stop feeding this connection.
    pub fn done(&self) -> bool {
        self.client_done() && self.server_done()
    }

    /// Why the client side gave up, if it did.
    pub fn error(&self) -> Option<&QuicError> {
        self.error.as_ref()
    }

    /// The version of the client's Initials, once one was decrypted.
    pub fn version(&self) -> Option<u32> {
        self.current
            .and_then(|i| self.keys.get(i))
            .map(|k| k.version)
    }

    /// Counters so far.
    pub fn stats(&self) -> QuicStats {
        self.stats
    }

    fn fail(&mut self, e: QuicError) {
        self.error = Some(e);
        self.client.done = true;
        self.client.stream = CryptoStream::default();
    }

    /// Index of the key set for (version, dcid), derived if new and the cap
    /// allows.
    fn key_set(&mut self, version: u32, dcid: &[u8]) -> Option<usize> {
        if let Some(i) = self
            .keys
            .iter()
            .position(|k| k.version == version && k.dcid == dcid)
        {
            return Some(i);
        }
        if self.keys.len() >= MAX_KEY_SETS {
            return None;
        }
        self.keys.push(KeySet {
            version,
            dcid: dcid.to_vec(),
            client: InitialKeys::client(version, dcid)?,
            server: InitialKeys::server(version, dcid)?,
            client_largest: None,
            server_largest: None,
        });
        Some(self.keys.len() - 1)
    }

    fn try_client(&mut self, i: usize, p: &LongPacket<'_>) -> Option<Vec<u8>> {
        let k = self.keys.get_mut(i)?;
        let o = k.client.open(p, k.client_largest)?;
        k.client_largest = Some(
            k.client_largest
                .map_or(o.packet_number, |l| l.max(o.packet_number)),
        );
        Some(o.payload)
    }

    /// Decrypts a client Initial, switching key sets when the client has
    /// started again.
    fn open_client(&mut self, p: &LongPacket<'_>) -> Option<Vec<u8>> {
        if let Some(cur) = self.current {
            let cur_dcid = self.keys.get(cur)?.dcid.clone();
            // The connection's keys; after a compatible version upgrade,
            // the new version's keys from the same original DCID.
            if let Some(i) = self.key_set(p.version, &cur_dcid)
                && let Some(payload) = self.try_client(i, p)
            {
                self.current = Some(i);
                return Some(payload);
            }
            // Same DCID: those were the only keys to try.
            if p.dcid == cur_dcid.as_slice() {
                return None;
            }
        }
        let i = self.key_set(p.version, p.dcid)?;
        let payload = self.try_client(i, p)?;
        if self.current.is_some() {
            // The client started over with a new DCID: a Retry, or a new
            // connection on the same ports. Its hello starts again at 0.
            self.client.reset();
            self.server.reset();
        }
        self.current = Some(i);
        Some(payload)
    }

    fn open_server(&mut self, p: &LongPacket<'_>) -> Option<Vec<u8>> {
        let dcid = self.keys.get(self.current?)?.dcid.clone();
        let i = self.key_set(p.version, &dcid)?;
        let k = self.keys.get_mut(i)?;
        let o = k.server.open(p, k.server_largest)?;
        k.server_largest = Some(
            k.server_largest
                .map_or(o.packet_number, |l| l.max(o.packet_number)),
        );
        Some(o.payload)
    }

    /// Adds a client→server datagram; returns the ClientHello once it is
    /// complete (only once). Datagrams fed after
    /// [`client_done`](Self::client_done) are ignored.
    pub fn feed(&mut self, datagram: &[u8]) -> Option<QuicHello> {
        if self.client.done {
            return None;
        }
        self.client_datagrams += 1;
        self.stats.client_datagrams += 1;
        let index = self.client_datagrams;
        if datagram.first().is_some_and(|b| b & 0x80 == 0) {
            self.fail(QuicError::HandshakeOver);
            return None;
        }
        let mut last: Option<(Vec<u8>, bool)> = None;
        for p in long_packets(datagram) {
            if p.packet_type != PacketType::Initial {
                continue;
            }
            let Some(payload) = self.open_client(&p) else {
                self.stats.initials_undecryptable += 1;
                continue;
            };
            self.stats.initials_decrypted += 1;
            for f in frames(&payload) {
                if let Frame::Crypto { offset, data } = f
                    && !data.is_empty()
                {
                    self.client.stream.insert(offset, data);
                    self.client.first_datagram.get_or_insert(index);
                }
            }
            last = Some((p.scid.to_vec(), !p.token.is_empty()));
        }
        let result = match handshake_message(&self.client.stream, 0, HS_CLIENT_HELLO) {
            Ok(Some(body)) => match tls::parse_client_hello(body) {
                Some(ch) => Some(ch),
                None => {
                    self.fail(QuicError::Malformed);
                    return None;
                }
            },
            Ok(None) => None,
            Err(e) => {
                self.fail(e);
                return None;
            }
        };
        let Some(client_hello) = result else {
            if self.client_datagrams >= MAX_DATAGRAMS {
                self.fail(QuicError::TooManyDatagrams);
            }
            return None;
        };
        self.client.done = true;
        self.client.stream = CryptoStream::default();
        let (scid, token) = last.unwrap_or_default();
        let (version, dcid) = self
            .current
            .and_then(|i| self.keys.get(i))
            .map(|k| (k.version, k.dcid.clone()))
            .unwrap_or_default();
        Some(QuicHello {
            version,
            dcid,
            scid,
            token,
            client_hello,
            first_datagram: self.client.first_datagram.unwrap_or(index),
            last_datagram: index,
        })
    }

    /// Adds a server→client datagram; returns the ServerHello once it is
    /// complete (a HelloRetryRequest first, if the server sent one). Server
    /// datagrams before the client's first Initial cannot be decrypted and
    /// count towards [`MAX_DATAGRAMS`].
    pub fn feed_server(&mut self, datagram: &[u8]) -> Option<QuicServerHello> {
        if self.server_done() {
            return None;
        }
        self.server_datagrams += 1;
        self.stats.server_datagrams += 1;
        if datagram.first().is_some_and(|b| b & 0x80 == 0) {
            self.server.done = true;
        }
        let mut last: Option<(u32, Vec<u8>)> = None;
        if !self.server.done {
            for p in long_packets(datagram) {
                if p.packet_type != PacketType::Initial {
                    continue;
                }
                let Some(payload) = self.open_server(&p) else {
                    self.stats.initials_undecryptable += 1;
                    continue;
                };
                self.stats.initials_decrypted += 1;
                for f in frames(&payload) {
                    if let Frame::Crypto { offset, data } = f {
                        self.server.stream.insert(offset, data);
                    }
                }
                last = Some((p.version, p.scid.to_vec()));
            }
        }
        let mut found = None;
        while !self.server.done {
            match handshake_message(&self.server.stream, self.server.msg_start, HS_SERVER_HELLO) {
                Ok(Some(body)) => {
                    let end = self.server.msg_start + 4 + body.len();
                    match tls::parse_server_hello(body) {
                        Some(sh) if sh.hello_retry_request => {
                            self.server.msg_start = end;
                            found = Some(sh);
                        }
                        Some(sh) => {
                            self.server.done = true;
                            found = Some(sh);
                        }
                        None => self.server.done = true,
                    }
                }
                Ok(None) => break,
                Err(_) => self.server.done = true,
            }
        }
        if self.server_datagrams >= MAX_DATAGRAMS {
            self.server.done = true;
        }
        if self.server.done {
            self.server.stream = CryptoStream::default();
        }
        let server_hello = found?;
        let (version, scid) = last.unwrap_or_default();
        Some(QuicServerHello {
            version,
            scid,
            server_hello,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    const RFC_DCID: &str = "8394c8f03e515708";

    /// RFC 9001 A.2 and RFC 9369 A.2: the CRYPTO frame of the client
    /// Initial (a ClientHello for example.com), before 917 bytes of PADDING.
    const RFC_CLIENT_CRYPTO: &str = "
        060040f1010000ed0303ebf8fa56f12939b9584a3896472ec40bb863cfd3e868
        04fe3a47f06a2b69484c00000413011302010000c000000010000e00000b6578
        616d706c652e636f6dff01000100000a00080006001d00170018001000070005
        04616c706e000500050100000000003300260024001d00209370b2c9caa47fba
        baf4559fedba753de171fa71f50f1ce15d43e994ec74d748002b000302030400
        0d0010000e0403050306030203080408050806002d00020101001c0002400100
        3900320408ffffffffffffffff05048000ffff07048000ffff08011001048000
        75300901100f088394c8f03e51570806048000ffff";

    /// RFC 9001 A.2: the protected client Initial (1200 bytes).
    const RFC9001_CLIENT: &str = "
        c000000001088394c8f03e5157080000449e7b9aec34d1b1c98dd7689fb8ec11
        d242b123dc9bd8bab936b47d92ec356c0bab7df5976d27cd449f63300099f399
        1c260ec4c60d17b31f8429157bb35a1282a643a8d2262cad67500cadb8e7378c
        8eb7539ec4d4905fed1bee1fc8aafba17c750e2c7ace01e6005f80fcb7df6212
        30c83711b39343fa028cea7f7fb5ff89eac2308249a02252155e2347b63d58c5
        457afd84d05dfffdb20392844ae812154682e9cf012f9021a6f0be17ddd0c208
        4dce25ff9b06cde535d0f920a2db1bf362c23e596d11a4f5a6cf3948838a3aec
        4e15daf8500a6ef69ec4e3feb6b1d98e610ac8b7ec3faf6ad760b7bad1db4ba3
        485e8a94dc250ae3fdb41ed15fb6a8e5eba0fc3dd60bc8e30c5c4287e53805db
        059ae0648db2f64264ed5e39be2e20d82df566da8dd5998ccabdae053060ae6c
        7b4378e846d29f37ed7b4ea9ec5d82e7961b7f25a9323851f681d582363aa5f8
        9937f5a67258bf63ad6f1a0b1d96dbd4faddfcefc5266ba6611722395c906556
        be52afe3f565636ad1b17d508b73d8743eeb524be22b3dcbc2c7468d54119c74
        68449a13d8e3b95811a198f3491de3e7fe942b330407abf82a4ed7c1b311663a
        c69890f4157015853d91e923037c227a33cdd5ec281ca3f79c44546b9d90ca00
        f064c99e3dd97911d39fe9c5d0b23a229a234cb36186c4819e8b9c5927726632
        291d6a418211cc2962e20fe47feb3edf330f2c603a9d48c0fcb5699dbfe58964
        25c5bac4aee82e57a85aaf4e2513e4f05796b07ba2ee47d80506f8d2c25e50fd
        14de71e6c418559302f939b0e1abd576f279c4b2e0feb85c1f28ff18f58891ff
        ef132eef2fa09346aee33c28eb130ff28f5b766953334113211996d20011a198
        e3fc433f9f2541010ae17c1bf202580f6047472fb36857fe843b19f5984009dd
        c324044e847a4f4a0ab34f719595de37252d6235365e9b84392b061085349d73
        203a4a13e96f5432ec0fd4a1ee65accdd5e3904df54c1da510b0ff20dcc0c77f
        cb2c0e0eb605cb0504db87632cf3d8b4dae6e705769d1de354270123cb11450e
        fc60ac47683d7b8d0f811365565fd98c4c8eb936bcab8d069fc33bd801b03ade
        a2e1fbc5aa463d08ca19896d2bf59a071b851e6c239052172f296bfb5e724047
        90a2181014f3b94a4e97d117b438130368cc39dbb2d198065ae3986547926cd2
        162f40a29f0c3c8745c0f50fba3852e566d44575c29d39a03f0cda721984b6f4
        40591f355e12d439ff150aab7613499dbd49adabc8676eef023b15b65bfc5ca0
        6948109f23f350db82123535eb8a7433bdabcb909271a6ecbcb58b936a88cd4e
        8f2e6ff5800175f113253d8fa9ca8885c2f552e657dc603f252e1a8e308f76f0
        be79e2fb8f5d5fbbe2e30ecadd220723c8c0aea8078cdfcb3868263ff8f09400
        54da48781893a7e49ad5aff4af300cd804a6b6279ab3ff3afb64491c85194aab
        760d58a606654f9f4400e8b38591356fbf6425aca26dc85244259ff2b19c41b9
        f96f3ca9ec1dde434da7d2d392b905ddf3d1f9af93d1af5950bd493f5aa731b4
        056df31bd267b6b90a079831aaf579be0a39013137aac6d404f518cfd4684064
        7e78bfe706ca4cf5e9c5453e9f7cfd2b8b4c8d169a44e55c88d4a9a7f9474241
        e221af44860018ab0856972e194cd934";

    /// RFC 9001 A.3: the server's Initial (ACK + ServerHello).
    const RFC9001_SERVER: &str = "
        cf000000010008f067a5502a4262b5004075c0d95a482cd0991cd25b0aac406a
        5816b6394100f37a1c69797554780bb38cc5a99f5ede4cf73c3ec2493a1839b3
        dbcba3f6ea46c5b7684df3548e7ddeb9c3bf9c73cc3f3bded74b562bfb19fb84
        022f8ef4cdd93795d77d06edbb7aaf2f58891850abbdca3d20398c276456cbc4
        2158407dd074ee";

    /// RFC 9369 A.2: the protected v2 client Initial (1200 bytes).
    const RFC9369_CLIENT: &str = "
        d76b3343cf088394c8f03e5157080000449ea0c95e82ffe67b6abcdb4298b485
        dd04de806071bf03dceebfa162e75d6c96058bdbfb127cdfcbf903388e99ad04
        9f9a3dd4425ae4d0992cfff18ecf0fdb5a842d09747052f17ac2053d21f57c5d
        250f2c4f0e0202b70785b7946e992e58a59ac52dea6774d4f03b55545243cf1a
        12834e3f249a78d395e0d18f4d766004f1a2674802a747eaa901c3f10cda5500
        cb9122faa9f1df66c392079a1b40f0de1c6054196a11cbea40afb6ef5253cd68
        18f6625efce3b6def6ba7e4b37a40f7732e093daa7d52190935b8da58976ff33
        12ae50b187c1433c0f028edcc4c2838b6a9bfc226ca4b4530e7a4ccee1bfa2a3
        d396ae5a3fb512384b2fdd851f784a65e03f2c4fbe11a53c7777c023462239dd
        6f7521a3f6c7d5dd3ec9b3f233773d4b46d23cc375eb198c63301c21801f6520
        bcfb7966fc49b393f0061d974a2706df8c4a9449f11d7f3d2dcbb90c6b877045
        636e7c0c0fe4eb0f697545460c806910d2c355f1d253bc9d2452aaa549e27a1f
        ac7cf4ed77f322e8fa894b6a83810a34b361901751a6f5eb65a0326e07de7c12
        16ccce2d0193f958bb3850a833f7ae432b65bc5a53975c155aa4bcb4f7b2c4e5
        4df16efaf6ddea94e2c50b4cd1dfe06017e0e9d02900cffe1935e0491d77ffb4
        fdf85290fdd893d577b1131a610ef6a5c32b2ee0293617a37cbb08b847741c3b
        8017c25ca9052ca1079d8b78aebd47876d330a30f6a8c6d61dd1ab5589329de7
        14d19d61370f8149748c72f132f0fc99f34d766c6938597040d8f9e2bb522ff9
        9c63a344d6a2ae8aa8e51b7b90a4a806105fcbca31506c446151adfeceb51b91
        abfe43960977c87471cf9ad4074d30e10d6a7f03c63bd5d4317f68ff325ba3bd
        80bf4dc8b52a0ba031758022eb025cdd770b44d6d6cf0670f4e990b22347a7db
        848265e3e5eb72dfe8299ad7481a408322cac55786e52f633b2fb6b614eaed18
        d703dd84045a274ae8bfa73379661388d6991fe39b0d93debb41700b41f90a15
        c4d526250235ddcd6776fc77bc97e7a417ebcb31600d01e57f32162a8560cacc
        7e27a096d37a1a86952ec71bd89a3e9a30a2a26162984d7740f81193e8238e61
        f6b5b984d4d3dfa033c1bb7e4f0037febf406d91c0dccf32acf423cfa1e70710
        10d3f270121b493ce85054ef58bada42310138fe081adb04e2bd901f2f13458b
        3d6758158197107c14ebb193230cd1157380aa79cae1374a7c1e5bbcb80ee23e
        06ebfde206bfb0fcbc0edc4ebec309661bdd908d532eb0c6adc38b7ca7331dce
        8dfce39ab71e7c32d318d136b6100671a1ae6a6600e3899f31f0eed19e3417d1
        34b90c9058f8632c798d4490da4987307cba922d61c39805d072b589bd52fdf1
        e86215c2d54e6670e07383a27bbffb5addf47d66aa85a0c6f9f32e59d85a44dd
        5d3b22dc2be80919b490437ae4f36a0ae55edf1d0b5cb4e9a3ecabee93dfc6e3
        8d209d0fa6536d27a5d6fbb17641cde27525d61093f1b28072d111b2b4ae5f89
        d5974ee12e5cf7d5da4d6a31123041f33e61407e76cffcdcfd7e19ba58cf4b53
        6f4c4938ae79324dc402894b44faf8afbab35282ab659d13c93f70412e85cb19
        9a37ddec600545473cfb5a05e08d0b209973b2172b4d21fb69745a262ccde96b
        a18b2faa745b6fe189cf772a9f84cbfc";

    /// RFC 9369 A.3: the v2 server Initial.
    const RFC9369_SERVER: &str = "
        dc6b3343cf0008f067a5502a4262b5004075d92faaf16f05d8a4398c47089698
        baeea26b91eb761d9b89237bbf87263017915358230035f7fd3945d88965cf17
        f9af6e16886c61bfc703106fbaf3cb4cfa52382dd16a393e42757507698075b2
        c984c707f0a0812d8cd5a6881eaf21ceda98f4bd23f6fe1a3e2c43edd9ce7ca8
        4bed8521e2e140";

    /// Builds a protected Initial: header fields, packet number, frames
    /// (padded to at least 20 bytes of payload so the sample exists).
    fn initial(
        version: u32,
        dcid: &[u8],
        scid: &[u8],
        key_dcid: &[u8],
        pn: u64,
        pn_len: usize,
        frames: &[u8],
    ) -> Vec<u8> {
        let mut payload = frames.to_vec();
        if payload.len() < 20 {
            payload.resize(20, 0);
        }
        let v2 = version == VERSION_2;
        let mut h = vec![0xc0 | if v2 { 0x10 } else { 0 } | (pn_len as u8 - 1)];
        h.extend(version.to_be_bytes());
        h.push(dcid.len() as u8);
        h.extend(dcid);
        h.push(scid.len() as u8);
        h.extend(scid);
        h.push(0); // token length
        let len = (pn_len + payload.len() + 16) as u16;
        h.extend((0x4000 | len).to_be_bytes());
        h.extend(&pn.to_be_bytes()[8 - pn_len..]);
        let keys = InitialKeys::client(version, key_dcid).unwrap();
        keys.seal(&h, pn, pn_len, &payload)
    }

    /// A CRYPTO frame with a 4-byte offset and a 2-byte length varint.
    fn crypto_frame(offset: u64, data: &[u8]) -> Vec<u8> {
        let mut f = vec![0x06];
        f.extend((offset as u32 | 0x8000_0000).to_be_bytes());
        f.extend((data.len() as u16 | 0x4000).to_be_bytes());
        f.extend(data);
        f
    }

    /// A ClientHello handshake message naming `sni`, padded with a padding
    /// extension to `total` bytes.
    fn client_hello(sni: &str, total: usize) -> Vec<u8> {
        let mut ext = Vec::new();
        let name = sni.as_bytes();
        ext.extend([0, 0]);
        ext.extend(((name.len() + 5) as u16).to_be_bytes());
        ext.extend(((name.len() + 3) as u16).to_be_bytes());
        ext.push(0);
        ext.extend((name.len() as u16).to_be_bytes());
        ext.extend(name);
        ext.extend([0, 16, 0, 5, 0, 3, 2, b'h', b'3']);
        let mut body = vec![3, 3];
        body.extend([7u8; 32]);
        body.push(0);
        body.extend([0, 2, 0x13, 0x01, 1, 0]);
        let fixed = body.len() + 2 + ext.len() + 4;
        if total > fixed + 4 {
            let pad = total - fixed - 4;
            ext.extend([0, 21]);
            ext.extend((pad as u16).to_be_bytes());
            ext.extend(std::iter::repeat_n(0, pad));
        }
        body.extend((ext.len() as u16).to_be_bytes());
        body.extend(ext);
        let mut m = vec![1, 0];
        m.extend((body.len() as u16).to_be_bytes());
        m.extend(body);
        m
    }

    #[test]
    fn rfc9001_key_derivation() {
        let k = InitialKeys::client(VERSION_1, &hex(RFC_DCID)).unwrap();
        assert_eq!(k.iv, hex("fa044b2f42a3fd3b46fb255c")[..]);
        let s = InitialKeys::server(VERSION_1, &hex(RFC_DCID)).unwrap();
        assert_eq!(s.iv, hex("0ac1493ca1905853b0bba03e")[..]);
        let v2 = InitialKeys::client(VERSION_2, &hex(RFC_DCID)).unwrap();
        assert_eq!(v2.iv, hex("91f73e2351d8fa91660e909f")[..]);
        // The header-protection key, through its effect on the A.2 sample
        // (which the mask computation expects 4 bytes after the packet
        // number offset).
        assert!(
            k.mask(&hex("d1b1c98dd7689fb8ec11d242b123dc9b"), 0)
                .is_none()
        );
        let mut s = vec![0; 4];
        s.extend(hex("d1b1c98dd7689fb8ec11d242b123dc9b"));
        assert_eq!(k.mask(&s, 0).unwrap()[..5], hex("437b9aec36")[..]);
    }

    #[test]
    fn rfc9001_client_initial_decrypts() {
        let pkt = hex(RFC9001_CLIENT);
        assert_eq!(pkt.len(), 1200);
        assert!(is_quic_initial(&pkt));
        let packets: Vec<_> = long_packets(&pkt).collect();
        assert_eq!(packets.len(), 1);
        let p = packets[0];
        assert_eq!(p.version, VERSION_1);
        assert_eq!(p.packet_type, PacketType::Initial);
        assert_eq!(p.dcid, hex(RFC_DCID));
        assert!(p.scid.is_empty());
        assert_eq!(p.pn_offset, 18);
        let keys = InitialKeys::client(VERSION_1, p.dcid).unwrap();
        let o = keys.open(&p, None).unwrap();
        assert_eq!(o.packet_number, 2);
        let crypto = hex(RFC_CLIENT_CRYPTO);
        assert_eq!(o.payload.len(), crypto.len() + 917);
        assert_eq!(o.payload[..crypto.len()], crypto[..]);
        let fs: Vec<_> = frames(&o.payload).collect();
        assert_eq!(fs.len(), 2);
        assert_eq!(
            fs[0],
            Frame::Crypto {
                offset: 0,
                data: &crypto[4..]
            }
        );
        assert_eq!(fs[1], Frame::Padding { len: 917 });
        // The server's keys do not open the client's packet.
        assert!(
            InitialKeys::server(VERSION_1, p.dcid)
                .unwrap()
                .open(&p, None)
                .is_none()
        );
    }

    fn check_rfc_exchange(version: u32, client: &str, server: &str) {
        let mut r = QuicInitialReader::new();
        let hello = r.feed(&hex(client)).expect("hello");
        assert_eq!(hello.version, version);
        assert_eq!(hello.dcid, hex(RFC_DCID));
        assert_eq!(hello.client_hello.sni.as_deref(), Some("example.com"));
        assert_eq!(hello.client_hello.alpn, ["alpn"]);
        assert_eq!(hello.client_hello.cipher_suites, [0x1301, 0x1302]);
        assert_eq!(hello.client_hello.supported_versions, [0x0304]);
        assert_eq!((hello.first_datagram, hello.last_datagram), (1, 1));
        assert!(!hello.token);
        assert!(r.client_done());
        assert!(!r.done());
        assert_eq!(r.version(), Some(version));
        // Once done, the same datagram gives nothing more.
        assert!(r.feed(&hex(client)).is_none());
        let sh = r.feed_server(&hex(server)).expect("server hello");
        assert_eq!(sh.version, version);
        assert_eq!(sh.scid, hex("f067a5502a4262b5"));
        assert_eq!(sh.server_hello.cipher_suite, 0x1301);
        assert_eq!(sh.server_hello.selected_version, Some(0x0304));
        assert_eq!(sh.server_hello.key_share_group, Some(0x001d));
        assert!(r.done());
        assert_eq!(r.stats().initials_decrypted, 2);
    }

    #[test]
    fn rfc9001_exchange() {
        check_rfc_exchange(VERSION_1, RFC9001_CLIENT, RFC9001_SERVER);
    }

    #[test]
    fn rfc9369_v2_exchange() {
        let pkt = hex(RFC9369_CLIENT);
        assert!(is_quic_initial(&pkt));
        let p = long_packets(&pkt).next().unwrap();
        assert_eq!(p.packet_type, PacketType::Initial);
        // v1 keys do not open a v2 packet (other salt and labels).
        assert!(
            InitialKeys::client(VERSION_1, p.dcid)
                .unwrap()
                .open(&p, None)
                .is_none()
        );
        let o = InitialKeys::client(VERSION_2, p.dcid)
            .unwrap()
            .open(&p, None)
            .unwrap();
        assert_eq!(o.packet_number, 2);
        let crypto = hex(RFC_CLIENT_CRYPTO);
        assert_eq!(o.payload[..crypto.len()], crypto[..]);
        check_rfc_exchange(VERSION_2, RFC9369_CLIENT, RFC9369_SERVER);
    }

    #[test]
    fn v2_packet_types() {
        let p = |first: u8| packet_type(first, params(VERSION_2).unwrap());
        assert_eq!(p(0xd0), PacketType::Initial);
        assert_eq!(p(0xe0), PacketType::ZeroRtt);
        assert_eq!(p(0xf0), PacketType::Handshake);
        assert_eq!(p(0xc0), PacketType::Retry);
        let p1 = |first: u8| packet_type(first, params(VERSION_1).unwrap());
        assert_eq!(p1(0xc0), PacketType::Initial);
        assert_eq!(p1(0xf0), PacketType::Retry);
    }

    #[test]
    fn names() {
        assert_eq!(version_name(1), "v1");
        assert_eq!(version_name(VERSION_2), "v2");
        assert_eq!(version_name(VERSION_DRAFT_29), "draft-29");
        assert_eq!(version_name(0x1a2a_3a4a), "0x1a2a3a4a");
        assert_eq!(version_name(0), "negotiation");
        assert!(is_supported_version(0xff00_0022));
        assert!(!is_supported_version(0x5130_3530)); // gQUIC Q050
    }

    #[test]
    fn packet_number_decoding() {
        // RFC 9000 A.3 example.
        assert_eq!(
            decode_packet_number(Some(0xa82f30ea), 0x9b32, 16),
            0xa82f9b32
        );
        assert_eq!(decode_packet_number(None, 2, 32), 2);
        assert_eq!(decode_packet_number(Some(0xff), 0x01, 8), 0x101);
        assert_eq!(decode_packet_number(Some(0x100), 0xff, 8), 0xff);
        assert_eq!(decode_packet_number(Some(u64::MAX), 0xff, 8), (1 << 62) - 1);
    }

    #[test]
    fn split_reversed_and_overlapping_crypto_across_datagrams() {
        let dcid = [0x11; 8];
        let scid = [0x22; 4];
        let ch = client_hello("split.example", 1500);
        // Datagram 1: the tail of the hello, its CRYPTO frames in reverse
        // offset order.
        let d1 = initial(
            VERSION_DRAFT_29,
            &dcid,
            &scid,
            &dcid,
            0,
            1,
            &[
                crypto_frame(1000, &ch[1000..]),
                crypto_frame(600, &ch[600..1000]),
            ]
            .concat(),
        );
        let mut forged = ch[0..700].to_vec();
        for b in &mut forged[600..700] {
            *b = b'X';
        }
        // Datagram 2 (after the server changed the CID): ACK, PING, the
        // head, a forged overlap of 600..700, then an unknown frame type.
        let mut frames2 = vec![0x02, 0x00, 0x00, 0x00, 0x00, 0x01];
        frames2.extend(crypto_frame(0, &ch[..600]));
        frames2.extend(crypto_frame(0, &forged));
        frames2.extend([0x30, 0xff]);
        let d2 = initial(VERSION_DRAFT_29, &[0x33; 8], &scid, &dcid, 1, 2, &frames2);
        assert!(is_quic_initial(&d1));
        let mut r = QuicInitialReader::new();
        assert!(r.feed(&d1).is_none());
        let h = r.feed(&d2).expect("hello");
        assert_eq!(h.version, VERSION_DRAFT_29);
        assert_eq!(h.client_hello.sni.as_deref(), Some("split.example"));
        assert_eq!(h.client_hello.alpn, ["h3"]);
        assert_eq!((h.first_datagram, h.last_datagram), (1, 2));
        assert_eq!(h.dcid, dcid);
        assert_eq!(h.scid, scid);
    }

    #[test]
    fn coalesced_packets_and_trailing_padding() {
        let dcid = [0x44; 8];
        let ch = client_hello("coalesced.example", 300);
        let mut d = initial(VERSION_1, &dcid, &[], &dcid, 0, 4, &[0x01]);
        // A Handshake packet (opaque to us) with a 1-byte length.
        d.extend([0xe0, 0, 0, 0, 1, 8]);
        d.extend(dcid);
        d.extend([0, 0x20]);
        d.extend([0xaa; 0x20]);
        d.extend(initial(
            VERSION_1,
            &dcid,
            &[],
            &dcid,
            1,
            4,
            &crypto_frame(0, &ch),
        ));
        d.extend([0u8; 100]); // datagram padding
        let types: Vec<_> = long_packets(&d).map(|p| p.packet_type).collect();
        assert_eq!(
            types,
            [
                PacketType::Initial,
                PacketType::Handshake,
                PacketType::Initial
            ]
        );
        let mut r = QuicInitialReader::new();
        let h = r.feed(&d).expect("hello");
        assert_eq!(h.client_hello.sni.as_deref(), Some("coalesced.example"));
        assert_eq!(r.stats().initials_decrypted, 2);
    }

    #[test]
    fn retry_restarts_with_new_dcid() {
        let ch = client_hello("retry.example", 400);
        let first = initial(
            VERSION_1,
            &[1; 8],
            &[],
            &[1; 8],
            0,
            1,
            &crypto_frame(0, &ch[..100]),
        );
        // After a Retry the client derives keys from the server's new CID.
        let again = initial(
            VERSION_1,
            &[2; 8],
            &[],
            &[2; 8],
            0,
            1,
            &crypto_frame(0, &ch),
        );
        let mut r = QuicInitialReader::new();
        assert!(r.feed(&first).is_none());
        let h = r.feed(&again).expect("hello after retry");
        assert_eq!(h.dcid, [2; 8]);
        assert_eq!(h.first_datagram, 2);
        assert_eq!(h.client_hello.sni.as_deref(), Some("retry.example"));
    }

    #[test]
    fn gives_up() {
        let mut r = QuicInitialReader::new();
        assert!(r.feed(&[0x40, 1, 2, 3]).is_none());
        assert_eq!(r.error(), Some(&QuicError::HandshakeOver));
        assert!(r.done(), "no keys: the server side cannot be read either");

        let mut r = QuicInitialReader::new();
        for _ in 0..MAX_DATAGRAMS {
            assert!(!r.client_done());
            r.feed(&[0xc0, 0, 0, 0, 1]);
        }
        assert_eq!(r.error(), Some(&QuicError::TooManyDatagrams));

        // A crypto stream that starts with a Finished, not a ClientHello.
        let mut r = QuicInitialReader::new();
        let d = initial(
            VERSION_1,
            &[9; 8],
            &[],
            &[9; 8],
            0,
            1,
            &crypto_frame(0, &[20, 0, 0, 1, 0]),
        );
        assert!(r.feed(&d).is_none());
        assert_eq!(r.error(), Some(&QuicError::NotHello { msg_type: 20 }));

        // A hello announcing more than the buffer holds.
        let mut r = QuicInitialReader::new();
        let d = initial(
            VERSION_1,
            &[9; 8],
            &[],
            &[9; 8],
            0,
            1,
            &crypto_frame(0, &[1, 1, 0, 0]),
        );
        assert!(r.feed(&d).is_none());
        assert_eq!(r.error(), Some(&QuicError::HelloTooLong { len: 0x10000 }));
    }

    #[test]
    fn hand_built_packet_with_wild_offsets() {
        let keys = InitialKeys::client(VERSION_1, &[0; 8]).unwrap();
        let bytes = [0xc0u8; 64];
        for pn_offset in [usize::MAX, usize::MAX - 5, usize::MAX - 19, 60, 0] {
            let p = LongPacket {
                version: VERSION_1,
                packet_type: PacketType::Initial,
                dcid: &[],
                scid: &[],
                token: &[],
                bytes: &bytes,
                pn_offset,
            };
            assert!(keys.open(&p, Some(u64::MAX)).is_none());
        }
    }

    #[test]
    fn crypto_beyond_the_cap_is_dropped() {
        let mut s = CryptoStream::default();
        s.insert(u64::MAX, b"abc");
        s.insert((MAX_CRYPTO_BUFFER - 2) as u64, b"abcdef");
        assert_eq!(s.buf.len(), MAX_CRYPTO_BUFFER);
        assert_eq!(s.prefix(), b"");
        s.insert(0, b"xy");
        s.insert(1, b"zw");
        assert_eq!(s.prefix(), b"xyw");
    }

    #[test]
    fn connection_close_and_ack_ecn_frames() {
        let payload = [
            0x03, 0x05, 0x00, 0x01, 0x00, 0x01, 0x02, 0x0a, 0x0b, 0x0c, // ACK_ECN
            0x1c, 0x0a, 0x06, 0x03, b'b', b'a', b'd', // CONNECTION_CLOSE
            0x1d, 0x01, 0x00, // application close
        ];
        let fs: Vec<_> = frames(&payload).collect();
        assert_eq!(
            fs,
            [
                Frame::Ack { largest: 5 },
                Frame::ConnectionClose {
                    error_code: 0x0a,
                    frame_type: Some(6),
                    reason: b"bad"
                },
                Frame::ConnectionClose {
                    error_code: 1,
                    frame_type: None,
                    reason: b""
                },
            ]
        );
        // Truncated ACK: the walk ends without a frame.
        assert_eq!(frames(&[0x02, 0x05]).count(), 0);
        // A huge range count does not loop for long.
        let huge = [
            0x02, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00,
        ];
        assert_eq!(frames(&huge).count(), 0);
    }

    /// Fixed-seed xorshift: garbage and mutated valid packets never panic.
    #[test]
    fn garbage_never_panics() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let valid = [
            hex(RFC9001_CLIENT),
            hex(RFC9369_CLIENT),
            hex(RFC9001_SERVER),
            initial(
                VERSION_DRAFT_29,
                &[5; 8],
                &[],
                &[5; 8],
                0,
                2,
                &crypto_frame(0, &client_hello("g.example", 300)),
            ),
        ];
        for round in 0..3000 {
            let mut d = if round % 3 == 0 {
                let len = (next() % 1400) as usize;
                (0..len).map(|_| next() as u8).collect::<Vec<_>>()
            } else {
                valid[(next() % valid.len() as u64) as usize].clone()
            };
            let flips = next() % 6;
            for _ in 0..flips {
                if d.is_empty() {
                    break;
                }
                let i = (next() % d.len() as u64) as usize;
                d[i] ^= 1 << (next() % 8);
            }
            if next() % 4 == 0 {
                let cut = (next() % (d.len() as u64 + 1)) as usize;
                d.truncate(cut);
            }
            let _ = is_quic_initial(&d);
            for p in long_packets(&d) {
                if let Some(k) = InitialKeys::client(p.version, p.dcid) {
                    let _ = k.open(&p, Some(next() >> 2));
                }
            }
            let _ = frames(&d).count();
            let mut r = QuicInitialReader::new();
            let _ = r.feed(&d);
            let _ = r.feed_server(&d);
            let _ = r.feed(&d);
        }
    }
}
