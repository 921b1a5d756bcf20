//! QUIC long-header packets, Initial packets protected as RFC 9001 (v1) and
//! RFC 9369 (v2) say: keys from the client's first Destination Connection
//! ID, AES-128-GCM payload protection, AES-128 header protection.
//!
//! The cryptography is RustCrypto's (`hkdf`, `sha2`, `aes`, `aes-gcm`); this
//! module only lays out bytes. It is written apart from
//! `telltale_proto::quic` on purpose, so that each checks the other.

use aes::Aes128;
use aes::cipher::{BlockCipherEncrypt, KeyInit};
use aes_gcm::Aes128Gcm;
use aes_gcm::aead::{Aead, Payload};
use hkdf::Hkdf;
use sha2::Sha256;

use crate::SplitMix64;

/// QUIC version 1.
pub const VERSION_1: u32 = 0x0000_0001;
/// QUIC version 2.
pub const VERSION_2: u32 = 0x6b33_43cf;

/// The smallest UDP payload a client may carry its Initial in (RFC 9000
/// §14.1); clients pad to it, and so do servers for ack-eliciting Initials.
pub const MIN_INITIAL_DATAGRAM: usize = 1200;

/// TLS extension number of quic_transport_parameters (RFC 9001 §8.2).
pub const EXT_QUIC_TRANSPORT_PARAMETERS: u16 = 0x39;

const SALT_V1: [u8; 20] = [
    0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad,
    0xcc, 0xbb, 0x7f, 0x0a,
];
const SALT_V2: [u8; 20] = [
    0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93, 0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb,
    0xf9, 0xbd, 0x2e, 0xd9,
];

/// Long-header packet types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LongType {
    /// Initial.
    Initial,
    /// 0-RTT.
    ZeroRtt,
    /// Handshake.
    Handshake,
}

impl LongType {
    /// The two type bits of the first byte (v2 numbers them one higher).
    pub fn bits(self, version: u32) -> u8 {
        let v1 = match self {
            LongType::Initial => 0,
            LongType::ZeroRtt => 1,
            LongType::Handshake => 2,
        };
        if version == VERSION_2 {
            (v1 + 1) & 3
        } else {
            v1
        }
    }
}

/// A QUIC variable-length integer in its shortest form.
pub fn varint(v: u64) -> Vec<u8> {
    match v {
        0..=0x3f => vec![u8::try_from(v).expect("fits")],
        0x40..=0x3fff => (u16::try_from(v).expect("fits") | 0x4000)
            .to_be_bytes()
            .to_vec(),
        0x4000..=0x3fff_ffff => (u32::try_from(v).expect("fits") | 0x8000_0000)
            .to_be_bytes()
            .to_vec(),
        _ => {
            assert!(v < 1 << 62, "varint too large");
            (v | 0xc000_0000_0000_0000).to_be_bytes().to_vec()
        }
    }
}

/// A CRYPTO frame.
pub fn crypto_frame(offset: u64, data: &[u8]) -> Vec<u8> {
    let mut f = vec![0x06];
    f.extend_from_slice(&varint(offset));
    f.extend_from_slice(&varint(data.len() as u64));
    f.extend_from_slice(data);
    f
}

/// An ACK frame acknowledging packets 0 to `largest`, no delay.
pub fn ack_frame(largest: u64) -> Vec<u8> {
    let mut f = vec![0x02];
    f.extend_from_slice(&varint(largest));
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(&varint(largest));
    f
}

/// A PING frame.
pub const PING: u8 = 0x01;

/// HKDF-Expand-Label (RFC 8446 §7.1) with an empty context.
fn expand_label(prk: &Hkdf<Sha256>, label: &str, out: &mut [u8]) {
    let full = format!("tls13 {label}");
    let mut info = u16::try_from(out.len())
        .expect("fits")
        .to_be_bytes()
        .to_vec();
    info.push(u8::try_from(full.len()).expect("fits"));
    info.extend_from_slice(full.as_bytes());
    info.push(0);
    prk.expand(&info, out).expect("valid output length");
}

/// Initial packet protection keys of one direction.
#[derive(Clone)]
pub struct InitialKeys {
    aead: Aes128Gcm,
    iv: [u8; 12],
    hp: Aes128,
}

impl std::fmt::Debug for InitialKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InitialKeys").finish_non_exhaustive()
    }
}

impl InitialKeys {
    /// Keys for `version` from the client's first Destination Connection
    /// ID; `server` picks the server's direction.
    pub fn new(version: u32, original_dcid: &[u8], server: bool) -> Self {
        let (salt, prefix) = match version {
            VERSION_1 => (&SALT_V1, "quic"),
            VERSION_2 => (&SALT_V2, "quicv2"),
            _ => panic!("unsupported QUIC version {version:#x}"),
        };
        let initial = Hkdf::<Sha256>::new(Some(salt), original_dcid);
        let mut secret = [0u8; 32];
        expand_label(
            &initial,
            if server { "server in" } else { "client in" },
            &mut secret,
        );
        let prk = Hkdf::<Sha256>::from_prk(&secret).expect("32-byte PRK");
        let (mut key, mut iv, mut hp) = ([0u8; 16], [0u8; 12], [0u8; 16]);
        expand_label(&prk, &format!("{prefix} key"), &mut key);
        expand_label(&prk, &format!("{prefix} iv"), &mut iv);
        expand_label(&prk, &format!("{prefix} hp"), &mut hp);
        InitialKeys {
            aead: Aes128Gcm::new_from_slice(&key).expect("16-byte key"),
            iv,
            hp: Aes128::new_from_slice(&hp).expect("16-byte key"),
        }
    }

    /// Protects a packet whose unprotected header (ending with a
    /// `pn_len`-byte packet number `pn`) is `header`.
    pub fn protect(&self, header: &[u8], pn: u64, pn_len: usize, payload: &[u8]) -> Vec<u8> {
        let mut nonce = self.iv;
        for (n, p) in nonce[4..].iter_mut().zip(pn.to_be_bytes()) {
            *n ^= p;
        }
        let sealed = self
            .aead
            .encrypt(
                &nonce.into(),
                Payload {
                    msg: payload,
                    aad: header,
                },
            )
            .expect("AES-GCM seal");
        let pn_offset = header.len() - pn_len;
        let mut out = header.to_vec();
        out.extend_from_slice(&sealed);
        let start = pn_offset + 4;
        let sample: [u8; 16] = out[start..start + 16]
            .try_into()
            .expect("packet long enough to sample");
        let mut mask = aes::Block::from(sample);
        self.hp.encrypt_block(&mut mask);
        out[0] ^= mask[0] & 0x0f;
        for i in 0..pn_len {
            out[pn_offset + i] ^= mask[1 + i];
        }
        out
    }
}

/// A long-header packet before protection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LongPacket {
    /// Version.
    pub version: u32,
    /// Type.
    pub typ: LongType,
    /// Destination Connection ID.
    pub dcid: Vec<u8>,
    /// Source Connection ID.
    pub scid: Vec<u8>,
    /// Token (Initial only).
    pub token: Vec<u8>,
    /// Packet number.
    pub pn: u64,
    /// Bytes of packet number on the wire, 1 to 4.
    pub pn_len: usize,
    /// Frames (plaintext payload).
    pub frames: Vec<u8>,
}

impl LongPacket {
    /// An Initial with a 1-byte packet number and no token.
    pub fn initial(version: u32, dcid: &[u8], scid: &[u8], pn: u64, frames: Vec<u8>) -> Self {
        LongPacket {
            version,
            typ: LongType::Initial,
            dcid: dcid.to_vec(),
            scid: scid.to_vec(),
            token: Vec::new(),
            pn,
            pn_len: 1,
            frames,
        }
    }

    /// The unprotected header for a payload of `payload_len` bytes (the
    /// Length field always takes 2 bytes, so sizes are easy to plan).
    fn header(&self, payload_len: usize) -> Vec<u8> {
        assert!((1..=4).contains(&self.pn_len));
        let pn_bits = u8::try_from(self.pn_len - 1).expect("fits");
        let mut h = vec![0xc0 | (self.typ.bits(self.version) << 4) | pn_bits];
        h.extend_from_slice(&self.version.to_be_bytes());
        h.push(u8::try_from(self.dcid.len()).expect("CID length"));
        h.extend_from_slice(&self.dcid);
        h.push(u8::try_from(self.scid.len()).expect("CID length"));
        h.extend_from_slice(&self.scid);
        if self.typ == LongType::Initial {
            h.extend_from_slice(&varint(self.token.len() as u64));
            h.extend_from_slice(&self.token);
        }
        let length = self.pn_len + payload_len + 16;
        assert!(length < 0x4000, "packet too long for a 2-byte Length");
        h.extend_from_slice(&(u16::try_from(length).expect("fits") | 0x4000).to_be_bytes());
        h.extend_from_slice(&self.pn.to_be_bytes()[8 - self.pn_len..]);
        h
    }

    /// Size of the protected packet.
    pub fn protected_len(&self) -> usize {
        self.header(self.frames.len()).len() + self.frames.len() + 16
    }

    /// The protected packet, its frames followed by PADDING up to `len`
    /// bytes in all (and at least enough to sample for header protection).
    pub fn protect_padded(&self, keys: &InitialKeys, len: usize) -> Vec<u8> {
        let mut payload = self.frames.clone();
        // Header protection samples 16 bytes starting 4 bytes after the
        // packet number offset: the payload must make up for a short one.
        let min = (4 - self.pn_len).saturating_sub(payload.len());
        let fill = len.saturating_sub(self.protected_len()).max(min);
        payload.resize(payload.len() + fill, 0);
        keys.protect(&self.header(payload.len()), self.pn, self.pn_len, &payload)
    }

    /// The protected packet.
    pub fn protect(&self, keys: &InitialKeys) -> Vec<u8> {
        self.protect_padded(keys, 0)
    }
}

/// A Handshake or 0-RTT packet of `len` bytes whose payload is random bytes:
/// what such a packet looks like to anyone without the handshake keys.
pub fn opaque_packet(
    version: u32,
    typ: LongType,
    dcid: &[u8],
    scid: &[u8],
    len: usize,
    rng: &mut SplitMix64,
) -> Vec<u8> {
    assert!(typ != LongType::Initial, "Initials are never opaque");
    let mut h = vec![0xc0 | (typ.bits(version) << 4) | (rng.next_u64() as u8 & 0x0f)];
    h.extend_from_slice(&version.to_be_bytes());
    h.push(u8::try_from(dcid.len()).expect("CID length"));
    h.extend_from_slice(dcid);
    h.push(u8::try_from(scid.len()).expect("CID length"));
    h.extend_from_slice(scid);
    let rest = len
        .checked_sub(h.len() + 2)
        .expect("opaque packet too short");
    h.extend_from_slice(&(u16::try_from(rest).expect("fits") | 0x4000).to_be_bytes());
    h.extend_from_slice(&rng.bytes(rest));
    h
}

/// QUIC transport parameters as a client sends them in its ClientHello
/// (RFC 9000 §18.2): idle timeout, UDP payload size, flow-control limits
/// and its Source Connection ID.
pub fn client_transport_parameters(scid: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut param = |id: u64, value: &[u8]| {
        out.extend_from_slice(&varint(id));
        out.extend_from_slice(&varint(value.len() as u64));
        out.extend_from_slice(value);
    };
    param(0x01, &varint(30_000)); // max_idle_timeout, ms
    param(0x03, &varint(1472)); // max_udp_payload_size
    param(0x04, &varint(15_728_640)); // initial_max_data
    param(0x05, &varint(6_291_456)); // initial_max_stream_data_bidi_local
    param(0x08, &varint(100)); // initial_max_streams_bidi
    param(0x0f, scid); // initial_source_connection_id
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// RFC 9001 A.2 and RFC 9369 A.2: the same CRYPTO frame and 917 bytes of
    /// PADDING, protected as v1 and as v2. Matching the first bytes and the
    /// final tag (which covers everything) checks keys, AEAD and header
    /// protection.
    #[test]
    fn rfc_client_initials() {
        let crypto = hex(concat!(
            "060040f1010000ed0303ebf8fa56f12939b9584a3896472ec40bb863cfd3e868",
            "04fe3a47f06a2b69484c00000413011302010000c000000010000e00000b6578",
            "616d706c652e636f6dff01000100000a00080006001d00170018001000070005",
            "04616c706e000500050100000000003300260024001d00209370b2c9caa47fba",
            "baf4559fedba753de171fa71f50f1ce15d43e994ec74d748002b000302030400",
            "0d0010000e0403050306030203080408050806002d00020101001c0002400100",
            "3900320408ffffffffffffffff05048000ffff07048000ffff08011001048000",
            "75300901100f088394c8f03e51570806048000ffff"
        ));
        let dcid = hex("8394c8f03e515708");
        for (version, head, tail) in [
            (
                VERSION_1,
                "c000000001088394c8f03e5157080000449e7b9aec34d1b1c98dd7689fb8ec11",
                "e221af44860018ab0856972e194cd934",
            ),
            (
                VERSION_2,
                "d76b3343cf088394c8f03e5157080000449ea0c95e82ffe67b6abcdb4298b485",
                "a18b2faa745b6fe189cf772a9f84cbfc",
            ),
        ] {
            let mut p = LongPacket::initial(version, &dcid, &[], 2, crypto.clone());
            p.pn_len = 4;
            let keys = InitialKeys::new(version, &dcid, false);
            let out = p.protect_padded(&keys, 1200);
            assert_eq!(out.len(), 1200);
            assert_eq!(out[..32], hex(head)[..], "{version:#x}");
            assert_eq!(out[1184..], hex(tail)[..], "{version:#x}");
        }
    }

    #[test]
    fn varints() {
        assert_eq!(varint(37), [0x25]);
        assert_eq!(varint(15293), [0x7b, 0xbd]);
        assert_eq!(varint(494_878_333), [0x9d, 0x7f, 0x3e, 0x7d]);
        assert_eq!(
            varint(151_288_809_941_952_652),
            [0xc2, 0x19, 0x7c, 0x5e, 0xff, 0x14, 0xe8, 0x8c]
        );
    }

    #[test]
    fn opaque_packet_has_the_asked_length() {
        let mut rng = SplitMix64::new(1);
        let p = opaque_packet(
            VERSION_2,
            LongType::Handshake,
            &[1; 4],
            &[2; 4],
            300,
            &mut rng,
        );
        assert_eq!(p.len(), 300);
        assert_eq!(p[0] & 0xf0, 0xf0, "v2 Handshake type bits are 3");
    }
}
