//! Decryption of TLS application data with the secrets of an NSS key log.
//!
//! [`TlsDecryptor`] follows one TCP connection: it is fed both reassembled
//! stream directions in capture order (any chunking), reads the cleartext
//! ClientHello and ServerHello itself (client random, server random,
//! version, cipher suite), looks the client random up in a
//! [`KeyLog`], and from then on opens the protected
//! records of each direction, returning the application data as
//! [`Plaintext`] chunks in stream order. [`DecryptStatus`] says why nothing
//! comes out (no key, unsupported suite, no handshake in the capture);
//! [`StopReason`] why one direction ended early (a gap, a record that does
//! not authenticate).
//!
//! Supported (see [`is_supported_cipher_suite`]):
//! - TLS 1.3: `TLS_AES_128_GCM_SHA256`, `TLS_AES_256_GCM_SHA384`,
//!   `TLS_CHACHA20_POLY1305_SHA256`, with handshake, early (0-RTT) and
//!   application traffic secrets, and KeyUpdate.
//! - TLS 1.2: AES-128/256-GCM and ChaCha20-Poly1305 with (EC)DHE or RSA key
//!   exchange.
//! - TLS 1.0–1.2: AES-128/256-CBC with HMAC-SHA1, and in TLS 1.2 with
//!   HMAC-SHA256/384, including Encrypt-then-MAC (RFC 7366).
//!
//! All cryptography is RustCrypto's (`aes-gcm`, `chacha20poly1305`, `aes`
//! with `cbc`, `hmac`, `hkdf`, `sha1`, `sha2`, `md-5`); only the TLS key
//! schedules (the TLS PRF, HKDF-Expand-Label) and the record framing are
//! written here.
//!
//! ```
//! use telltale_flow::Dir;
//! use telltale_proto::keylog::KeyLog;
//! use telltale_proto::tls_decrypt::{DecryptStatus, TlsDecryptor};
//!
//! let keys = KeyLog::parse(b"CLIENT_RANDOM ...");
//! let mut conn = TlsDecryptor::new();
//! // Not a TLS record: nothing to decrypt, and the decryptor says why.
//! let out = conn.feed(&keys, Dir::ToServer, b"GET / HTTP/1.1\r\n\r\n");
//! assert!(out.is_empty());
//! assert_eq!(conn.status(), DecryptStatus::NoHandshake);
//! assert!(conn.done());
//! ```

use std::fmt;

use aes::cipher::{BlockModeDecrypt, KeyIvInit};
use aes::{Aes128, Aes256};
use aes_gcm::aead::{Aead as _, KeyInit, Payload};
use aes_gcm::{Aes128Gcm, Aes256Gcm};
use chacha20poly1305::ChaCha20Poly1305;
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use md5::Md5;
use sha1::Sha1;
use sha2::{Sha256, Sha384};
use telltale_flow::Dir;

use crate::keylog::{ConnectionSecrets, KeyLog};
use crate::tls;

/// Largest record body accepted: TLSCiphertext may carry 2^14 + 2048 bytes
/// (RFC 5246 §6.2.3; TLS 1.3 allows less). A longer length field means the
/// stream is not (or no longer) TLS.
const MAX_RECORD: usize = 16_384 + 2_048;
/// Record header: type, version, length.
const HEADER: usize = 5;
/// Most stream bytes one direction holds while it waits for the other
/// direction's hello (a client's 0-RTT data can precede the ServerHello).
/// Past it the direction stops with [`StopReason::BufferFull`].
const MAX_PENDING: usize = 256 * 1024;
/// Largest hello message read; the TLS dissector caps hellos the same way.
const MAX_HELLO: usize = 64 * 1024;
/// Records that may fail to authenticate in a direction before any record
/// did (TLS 1.3 trial decryption: 0-RTT data without its secret, a key log
/// with only the application secrets). Bounds the work on hostile streams.
const MAX_TRIAL_FAILURES: u64 = 256;
/// Input is taken in pieces of this size so the stream buffer stays small
/// whatever chunk the caller hands over.
const FEED_PIECE: usize = 16 * 1024;

const CT_CHANGE_CIPHER_SPEC: u8 = 20;
const CT_HANDSHAKE: u8 = 22;
const CT_APPLICATION_DATA: u8 = 23;

const HS_CLIENT_HELLO: u8 = 1;
const HS_SERVER_HELLO: u8 = 2;
const HS_FINISHED: u8 = 20;
const HS_KEY_UPDATE: u8 = 24;

const EXT_ENCRYPT_THEN_MAC: u16 = 0x0016;

const TLS10: u16 = 0x0301;
const TLS12: u16 = 0x0303;
const TLS13: u16 = 0x0304;

/// AEAD tag length of every AEAD supported here.
const TAG_LEN: usize = 16;
/// AES block length (CBC).
const BLOCK_LEN: usize = 16;

/// Where a connection's decryption stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecryptStatus {
    /// The ClientHello and ServerHello have not both been read yet.
    AwaitingHellos,
    /// Keys are derived and records are being opened (each direction may
    /// still have stopped: see [`TlsDecryptor::stopped`]).
    Decrypting {
        /// Negotiated version (`0x0303` TLS 1.2, `0x0304` TLS 1.3).
        version: u16,
        /// Negotiated cipher suite.
        cipher_suite: u16,
    },
    /// The key log holds no usable secret for this connection's client
    /// random.
    NoKeys {
        /// Negotiated version.
        version: u16,
        /// Negotiated cipher suite.
        cipher_suite: u16,
    },
    /// The negotiated version is not decrypted here (SSL 3.0, unknown).
    UnsupportedVersion(u16),
    /// The negotiated cipher suite is not decrypted here.
    UnsupportedCipherSuite(u16),
    /// A direction does not start with a readable hello: the capture began
    /// mid-connection, lost the hello, or the stream is not TLS.
    NoHandshake,
}

/// Why one direction stopped being decrypted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StopReason {
    /// Stream bytes were lost: record boundaries and sequence numbers
    /// (part of every nonce or MAC) cannot be recovered.
    Gap,
    /// The bytes stopped looking like TLS records.
    Malformed,
    /// A record did not authenticate with the key log's secrets.
    DecryptFailed,
    /// The key log lacks this direction's secret (TLS 1.3 logs one per
    /// direction and phase).
    NoKeys,
    /// Renegotiation: the new keys come from a handshake that is itself
    /// encrypted, which is not followed.
    Renegotiation,
    /// Too many bytes waited for the other direction's hello.
    BufferFull,
}

/// Application data opened from one record.
#[derive(Clone, PartialEq, Eq)]
pub struct Plaintext {
    /// Direction it travelled.
    pub dir: Dir,
    /// Offset, in that direction's TCP stream, of the record that carried it
    /// (the evidence for a finding lies there).
    pub record_offset: u64,
    /// The application data.
    pub bytes: Vec<u8>,
}

impl fmt::Debug for Plaintext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Byte strings read better than lists of numbers in test failures.
        f.debug_struct("Plaintext")
            .field("dir", &self.dir)
            .field("record_offset", &self.record_offset)
            .field("bytes", &String::from_utf8_lossy(&self.bytes))
            .finish()
    }
}

/// Counters for one direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DecryptStats {
    /// Records opened.
    pub records: u64,
    /// Application data bytes returned.
    pub plaintext_bytes: u64,
    /// Records that could not be opened (skipped during TLS 1.3 trial
    /// decryption, or the one that stopped the direction).
    pub undecryptable: u64,
}

/// True when records of `cipher_suite` can be decrypted (given the right
/// version and a key log entry).
pub fn is_supported_cipher_suite(cipher_suite: u16) -> bool {
    suite(cipher_suite).is_some()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cipher {
    Aes128Gcm,
    Aes256Gcm,
    ChaCha20Poly1305,
    Aes128Cbc,
    Aes256Cbc,
}

impl Cipher {
    fn key_len(self) -> usize {
        match self {
            Cipher::Aes128Gcm | Cipher::Aes128Cbc => 16,
            Cipher::Aes256Gcm | Cipher::Aes256Cbc | Cipher::ChaCha20Poly1305 => 32,
        }
    }

    fn is_cbc(self) -> bool {
        matches!(self, Cipher::Aes128Cbc | Cipher::Aes256Cbc)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Hash {
    Md5,
    Sha1,
    Sha256,
    Sha384,
}

impl Hash {
    fn len(self) -> usize {
        match self {
            Hash::Md5 => 16,
            Hash::Sha1 => 20,
            Hash::Sha256 => 32,
            Hash::Sha384 => 48,
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Suite {
    cipher: Cipher,
    /// Record MAC of CBC suites.
    mac: Hash,
    /// TLS 1.2 PRF hash, or TLS 1.3 HKDF hash.
    prf: Hash,
    tls13: bool,
}

impl Suite {
    /// Whether the suite can be used at `version` (AEAD and SHA-2 MACs came
    /// with TLS 1.2; TLS 1.3 has suites of its own).
    fn fits(&self, version: u16) -> bool {
        if self.tls13 {
            version == TLS13
        } else if self.cipher.is_cbc() && self.mac == Hash::Sha1 {
            (TLS10..=TLS12).contains(&version)
        } else {
            version == TLS12
        }
    }
}

fn suite(id: u16) -> Option<Suite> {
    use Cipher::*;
    use Hash::*;
    let (cipher, mac, prf, tls13) = match id {
        0x1301 => (Aes128Gcm, Sha256, Sha256, true),
        0x1302 => (Aes256Gcm, Sha384, Sha384, true),
        0x1303 => (ChaCha20Poly1305, Sha256, Sha256, true),
        // RSA, DHE_RSA, ECDHE_ECDSA, ECDHE_RSA with AES-GCM (RFC 5288, 5289).
        0x009c | 0x009e | 0xc02b | 0xc02f => (Aes128Gcm, Sha256, Sha256, false),
        0x009d | 0x009f | 0xc02c | 0xc030 => (Aes256Gcm, Sha384, Sha384, false),
        // ECDHE_RSA, ECDHE_ECDSA, DHE_RSA with ChaCha20-Poly1305 (RFC 7905).
        0xcca8..=0xccaa => (ChaCha20Poly1305, Sha256, Sha256, false),
        // RSA, DHE_RSA, ECDHE_ECDSA, ECDHE_RSA with AES-CBC and SHA-1.
        0x002f | 0x0033 | 0xc009 | 0xc013 => (Aes128Cbc, Sha1, Sha256, false),
        0x0035 | 0x0039 | 0xc00a | 0xc014 => (Aes256Cbc, Sha1, Sha256, false),
        // The same with SHA-256 and SHA-384 MACs (TLS 1.2 only).
        0x003c | 0x0067 | 0xc023 | 0xc027 => (Aes128Cbc, Sha256, Sha256, false),
        0x003d | 0x006b => (Aes256Cbc, Sha256, Sha256, false),
        0xc024 | 0xc028 => (Aes256Cbc, Sha384, Sha384, false),
        _ => return None,
    };
    Some(Suite {
        cipher,
        mac,
        prf,
        tls13,
    })
}

/// HMAC over the concatenation of `parts`.
fn hmac(hash: Hash, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    macro_rules! run {
        ($d:ty) => {{
            // HMAC takes keys of any length, so this cannot fail; an empty
            // result would just not match any tag.
            let Ok(mut m) = <Hmac<$d> as KeyInit>::new_from_slice(key) else {
                return Vec::new();
            };
            for p in parts {
                m.update(p);
            }
            m.finalize().into_bytes().to_vec()
        }};
    }
    match hash {
        Hash::Md5 => run!(Md5),
        Hash::Sha1 => run!(Sha1),
        Hash::Sha256 => run!(Sha256),
        Hash::Sha384 => run!(Sha384),
    }
}

/// P_hash of RFC 5246 §5: HMAC chained over `seed`, `len` bytes.
fn p_hash(hash: Hash, secret: &[u8], seed: &[u8], len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + hash.len());
    let mut a = hmac(hash, secret, &[seed]);
    while out.len() < len && !a.is_empty() {
        out.extend(hmac(hash, secret, &[&a, seed]));
        a = hmac(hash, secret, &[&a]);
    }
    out.truncate(len);
    out
}

/// The TLS PRF: P_<prf hash> in TLS 1.2 (RFC 5246 §5), P_MD5 ⊕ P_SHA1 over
/// the two halves of the secret in TLS 1.0 and 1.1 (RFC 2246 §5).
fn prf(version: u16, hash: Hash, secret: &[u8], label: &[u8], seed: &[u8], len: usize) -> Vec<u8> {
    let mut full = Vec::with_capacity(label.len() + seed.len());
    full.extend_from_slice(label);
    full.extend_from_slice(seed);
    if version >= TLS12 {
        return p_hash(hash, secret, &full, len);
    }
    let half = secret.len().div_ceil(2);
    let s1 = secret.get(..half).unwrap_or_default();
    let s2 = secret.get(secret.len() - half..).unwrap_or_default();
    let mut out = p_hash(Hash::Md5, s1, &full, len);
    for (o, x) in out.iter_mut().zip(p_hash(Hash::Sha1, s2, &full, len)) {
        *o ^= x;
    }
    out
}

/// HKDF-Expand-Label of TLS 1.3 (RFC 8446 §7.1) with an empty context.
/// `None` when `secret` is not a PRK of the hash's length.
fn expand_label(hash: Hash, secret: &[u8], label: &[u8], len: usize) -> Option<Vec<u8>> {
    if secret.len() != hash.len() {
        return None;
    }
    let mut info = Vec::with_capacity(4 + 6 + label.len());
    info.extend_from_slice(&u16::try_from(len).ok()?.to_be_bytes());
    info.push(u8::try_from(6 + label.len()).ok()?);
    info.extend_from_slice(b"tls13 ");
    info.extend_from_slice(label);
    info.push(0);
    let mut out = vec![0; len];
    match hash {
        Hash::Sha256 => Hkdf::<Sha256>::from_prk(secret)
            .ok()?
            .expand(&info, &mut out)
            .ok()?,
        Hash::Sha384 => Hkdf::<Sha384>::from_prk(secret)
            .ok()?
            .expand(&info, &mut out)
            .ok()?,
        Hash::Md5 | Hash::Sha1 => return None,
    }
    Some(out)
}

/// One AEAD key, boxed: the expanded AES key schedules are large and a
/// connection holds up to five keys.
enum Aead {
    Aes128Gcm(Box<Aes128Gcm>),
    Aes256Gcm(Box<Aes256Gcm>),
    ChaCha20Poly1305(Box<ChaCha20Poly1305>),
}

impl Aead {
    fn new(cipher: Cipher, key: &[u8]) -> Option<Aead> {
        Some(match cipher {
            Cipher::Aes128Gcm => Aead::Aes128Gcm(Box::new(Aes128Gcm::new_from_slice(key).ok()?)),
            Cipher::Aes256Gcm => Aead::Aes256Gcm(Box::new(Aes256Gcm::new_from_slice(key).ok()?)),
            Cipher::ChaCha20Poly1305 => {
                Aead::ChaCha20Poly1305(Box::new(ChaCha20Poly1305::new_from_slice(key).ok()?))
            }
            Cipher::Aes128Cbc | Cipher::Aes256Cbc => return None,
        })
    }

    /// Decrypts and authenticates `msg` (ciphertext and tag).
    fn open(&self, nonce: [u8; 12], aad: &[u8], msg: &[u8]) -> Option<Vec<u8>> {
        let payload = Payload { msg, aad };
        match self {
            Aead::Aes128Gcm(a) => a.decrypt(&nonce.into(), payload).ok(),
            Aead::Aes256Gcm(a) => a.decrypt(&nonce.into(), payload).ok(),
            Aead::ChaCha20Poly1305(a) => a.decrypt(&nonce.into(), payload).ok(),
        }
    }
}

/// How one direction's records are protected.
enum Protection {
    /// TLS 1.2 AES-GCM (RFC 5288): 4-byte implicit salt from the key block,
    /// 8-byte explicit nonce at the start of each record.
    Gcm12 { aead: Aead, salt: [u8; 4] },
    /// TLS 1.2 ChaCha20-Poly1305 (RFC 7905): IV ⊕ sequence number.
    ChaCha12 { aead: Aead, iv: [u8; 12] },
    /// TLS 1.3 (RFC 8446 §5.2–5.3): IV ⊕ sequence number, the record header
    /// as additional data, the real content type inside.
    Tls13 { aead: Aead, iv: [u8; 12] },
    /// AES-CBC with an HMAC (RFC 5246 §6.2.3.2, RFC 7366 when `etm`).
    Cbc {
        cipher: Cipher,
        key: Vec<u8>,
        mac: Hash,
        mac_key: Vec<u8>,
        /// TLS 1.0 chains the IV from record to record (the last ciphertext
        /// block); TLS 1.1 and later send it in front of each record.
        chained_iv: Option<[u8; BLOCK_LEN]>,
        etm: bool,
    },
}

/// A key and its record sequence number.
struct RecordKeys {
    protection: Protection,
    seq: u64,
}

impl RecordKeys {
    fn new(protection: Protection) -> Self {
        RecordKeys { protection, seq: 0 }
    }

    /// Opens one record: the content type and plaintext, or `None` when it
    /// does not authenticate (the sequence number then stays, so a record
    /// under another key can be tried against this one later).
    fn open(&mut self, header: [u8; HEADER], body: &[u8]) -> Option<(u8, Vec<u8>)> {
        let [typ, v0, v1, ..] = header;
        let version = [v0, v1];
        let seq = self.seq;
        let opened = match &mut self.protection {
            Protection::Tls13 { aead, iv } => {
                let mut inner = aead.open(xor_nonce(iv, seq), &header, body)?;
                // TLSInnerPlaintext: content, real type, zero padding. All
                // zeros is a protocol error; it authenticated, so the
                // sequence number still advances, but there is no content.
                match inner.iter().rposition(|&b| b != 0) {
                    Some(i) => {
                        let t = inner.get(i).copied().unwrap_or(0);
                        inner.truncate(i);
                        (t, inner)
                    }
                    None => (0, Vec::new()),
                }
            }
            Protection::ChaCha12 { aead, iv } => {
                let len = body.len().checked_sub(TAG_LEN)?;
                let aad = aad12(seq, typ, version, len)?;
                (typ, aead.open(xor_nonce(iv, seq), &aad, body)?)
            }
            Protection::Gcm12 { aead, salt } => {
                let (explicit, sealed) = body.split_at_checked(8)?;
                let len = sealed.len().checked_sub(TAG_LEN)?;
                let aad = aad12(seq, typ, version, len)?;
                let mut nonce = [0; 12];
                for (n, b) in nonce.iter_mut().zip(salt.iter().chain(explicit)) {
                    *n = *b;
                }
                (typ, aead.open(nonce, &aad, sealed)?)
            }
            Protection::Cbc {
                cipher,
                key,
                mac,
                mac_key,
                chained_iv,
                etm,
            } => {
                let c = CbcRecord {
                    cipher: *cipher,
                    key,
                    mac: *mac,
                    mac_key,
                    etm: *etm,
                    seq,
                    typ,
                    version,
                };
                (typ, c.open(chained_iv, body)?)
            }
        };
        // 2^64 records is out of reach of any capture; wrapping only keeps
        // arithmetic panic-free.
        self.seq = seq.wrapping_add(1);
        Some(opened)
    }
}

/// TLS 1.3 and ChaCha20-Poly1305 nonce: the IV with the sequence number
/// XORed into its last 8 bytes.
fn xor_nonce(iv: &[u8; 12], seq: u64) -> [u8; 12] {
    let mut nonce = *iv;
    for (n, s) in nonce.iter_mut().skip(4).zip(seq.to_be_bytes()) {
        *n ^= s;
    }
    nonce
}

/// TLS 1.2 additional data / MAC header: seq_num, type, version, length.
fn aad12(seq: u64, typ: u8, version: [u8; 2], len: usize) -> Option<[u8; 13]> {
    let mut aad = [0; 13];
    let len = u16::try_from(len).ok()?.to_be_bytes();
    for (a, b) in aad.iter_mut().zip(
        seq.to_be_bytes()
            .into_iter()
            .chain([typ])
            .chain(version)
            .chain(len),
    ) {
        *a = b;
    }
    Some(aad)
}

/// The parameters of one CBC record.
struct CbcRecord<'a> {
    cipher: Cipher,
    key: &'a [u8],
    mac: Hash,
    mac_key: &'a [u8],
    etm: bool,
    seq: u64,
    typ: u8,
    version: [u8; 2],
}

impl CbcRecord<'_> {
    fn mac_of(&self, data: &[u8]) -> Option<Vec<u8>> {
        let header = aad12(self.seq, self.typ, self.version, data.len())?;
        Some(hmac(self.mac, self.mac_key, &[&header, data]))
    }

    /// Checks the MAC and padding and returns the content. Tags are compared
    /// plainly: this runs offline, there is no timing oracle to protect.
    fn open(&self, chained_iv: &mut Option<[u8; BLOCK_LEN]>, body: &[u8]) -> Option<Vec<u8>> {
        let mac_len = self.mac.len();
        let enc = if self.etm {
            let (enc, tag) = body.split_at_checked(body.len().checked_sub(mac_len)?)?;
            if self.mac_of(enc)? != tag {
                return None;
            }
            enc
        } else {
            body
        };
        let (iv, ct): ([u8; BLOCK_LEN], &[u8]) = match chained_iv {
            Some(iv) => (*iv, enc),
            None => {
                let (iv, ct) = enc.split_at_checked(BLOCK_LEN)?;
                (iv.try_into().ok()?, ct)
            }
        };
        if ct.is_empty() || !ct.len().is_multiple_of(BLOCK_LEN) {
            return None;
        }
        let mut pt = ct.to_vec();
        cbc_decrypt(self.cipher, self.key, &iv, &mut pt)?;
        // Padding: `pad` bytes of value `pad`, then `pad` itself.
        let pad = usize::from(*pt.last()?);
        let unpadded = pt.len().checked_sub(pad + 1)?;
        if pt.get(unpadded..)?.iter().any(|&b| usize::from(b) != pad) {
            return None;
        }
        pt.truncate(unpadded);
        if !self.etm {
            let content_len = pt.len().checked_sub(mac_len)?;
            let tag = pt.split_off(content_len);
            if self.mac_of(&pt)? != tag {
                return None;
            }
        }
        if let Some(next) = chained_iv {
            let last = ct.get(ct.len() - BLOCK_LEN..)?;
            next.copy_from_slice(last);
        }
        Some(pt)
    }
}

/// AES-CBC decryption in place; `data` is a whole number of blocks.
fn cbc_decrypt(cipher: Cipher, key: &[u8], iv: &[u8], data: &mut [u8]) -> Option<()> {
    macro_rules! run {
        ($c:ty) => {{
            let mut d = cbc::Decryptor::<$c>::new_from_slices(key, iv).ok()?;
            for chunk in data.chunks_exact_mut(BLOCK_LEN) {
                let mut block = aes::Block::try_from(&*chunk).ok()?;
                d.decrypt_block(&mut block);
                chunk.copy_from_slice(&block);
            }
        }};
    }
    match cipher {
        Cipher::Aes128Cbc => run!(Aes128),
        Cipher::Aes256Cbc => run!(Aes256),
        _ => return None,
    }
    Some(())
}

/// Reassembles handshake messages from record payloads, keeping the body
/// only of the message types asked for (up to [`MAX_HELLO`]).
#[derive(Default)]
struct HsAssembler {
    header: [u8; 4],
    have: usize,
    remaining: usize,
    body: Option<Vec<u8>>,
}

/// A complete handshake message: its type and, when kept, its body.
type HsMessage = (u8, Option<Vec<u8>>);

impl HsAssembler {
    fn feed(&mut self, mut data: &[u8], keep: impl Fn(u8) -> bool, done: &mut Vec<HsMessage>) {
        loop {
            if self.have < 4 {
                let n = (4 - self.have).min(data.len());
                let (head, rest) = data.split_at(n);
                for (h, b) in self.header.iter_mut().skip(self.have).zip(head) {
                    *h = *b;
                }
                self.have += n;
                data = rest;
                if self.have < 4 {
                    return;
                }
                let [typ, a, b, c] = self.header;
                self.remaining = usize::from(a) << 16 | usize::from(b) << 8 | usize::from(c);
                self.body = (keep(typ) && self.remaining <= MAX_HELLO)
                    .then(|| Vec::with_capacity(self.remaining));
            } else {
                let n = self.remaining.min(data.len());
                let (part, rest) = data.split_at(n);
                if let Some(body) = &mut self.body {
                    body.extend_from_slice(part);
                }
                self.remaining -= n;
                data = rest;
            }
            if self.remaining == 0 {
                done.push((self.header[0], self.body.take()));
                self.have = 0;
            }
            if data.is_empty() {
                return;
            }
        }
    }
}

/// What the ServerHello chose.
#[derive(Clone, Copy)]
struct ServerParams {
    random: [u8; 32],
    version: u16,
    cipher_suite: u16,
    etm: bool,
}

/// Which key opened a TLS 1.3 record.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Early,
    Handshake,
    Application,
}

/// One direction of the connection.
#[derive(Default)]
struct Side {
    /// Stream bytes not yet taken as whole records.
    buf: Vec<u8>,
    /// Stream offset of `buf[0]`.
    offset: u64,
    hs: HsAssembler,
    /// This direction's hello (ClientHello; the ServerHello that is not a
    /// HelloRetryRequest) has been read.
    hello: bool,
    stopped: Option<StopReason>,
    stats: DecryptStats,
    /// TLS ≤ 1.2: ChangeCipherSpec seen, records are protected by `keys`.
    ccs: bool,
    keys: Option<RecordKeys>,
    /// TLS 1.3 keys, tried in phase order.
    early: Option<RecordKeys>,
    handshake: Option<RecordKeys>,
    app: Option<RecordKeys>,
    /// The current application traffic secret (KeyUpdate derives the next).
    app_secret: Option<Vec<u8>>,
    /// The handshake key has opened a record (early data is over).
    handshake_opened: bool,
    /// Finished was seen, or the application key opened a record.
    app_phase: bool,
    /// Some record was opened.
    opened_any: bool,
}

impl Side {
    fn stop(&mut self, why: StopReason) {
        if self.stopped.is_none() {
            self.stopped = Some(why);
        }
        self.buf = Vec::new();
    }
}

/// Decrypts one TLS connection's records with secrets from a [`KeyLog`].
///
/// Feed each direction's reassembled stream bytes with
/// [`feed`](Self::feed) in capture order (chunks of any size), report lost
/// bytes with [`gap`](Self::gap), and stop feeding once
/// [`done`](Self::done). Each call returns the application data it could
/// open, per direction and in stream order. Memory stays bounded: one
/// partial record per direction, or at most 256 KiB while a direction waits
/// for the other's hello.
///
/// The decryptor reads the ClientHello and ServerHello itself, so it must
/// see each stream from its first byte.
pub struct TlsDecryptor {
    status: DecryptStatus,
    client_random: Option<[u8; 32]>,
    server: Option<ServerParams>,
    suite: Option<Suite>,
    sides: [Side; 2],
}

impl Default for TlsDecryptor {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for TlsDecryptor {
    // Keys stay out of debug output.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsDecryptor")
            .field("status", &self.status)
            .field("stopped", &[self.sides[0].stopped, self.sides[1].stopped])
            .field("stats", &[self.sides[0].stats, self.sides[1].stats])
            .finish_non_exhaustive()
    }
}

fn dir_of(d: usize) -> Dir {
    if d == 0 { Dir::ToServer } else { Dir::ToClient }
}

impl TlsDecryptor {
    /// A decryptor for a connection not yet seen.
    pub fn new() -> Self {
        TlsDecryptor {
            status: DecryptStatus::AwaitingHellos,
            client_random: None,
            server: None,
            suite: None,
            sides: [Side::default(), Side::default()],
        }
    }

    /// Feeds the next stream bytes of direction `dir`, looking the
    /// connection up in `keys` once both hellos are read. Returns the
    /// application data opened, possibly also of the other direction (its
    /// records may have waited for this one's hello).
    pub fn feed(&mut self, keys: &KeyLog, dir: Dir, bytes: &[u8]) -> Vec<Plaintext> {
        let mut out = Vec::new();
        let d = dir.index();
        for piece in bytes.chunks(FEED_PIECE) {
            if !self.accepting(d) {
                break;
            }
            self.sides[d].buf.extend_from_slice(piece);
            // Reading one direction can complete the key setup the other
            // waits for, so go round until neither moves.
            while self.pump(keys, 0, &mut out) | self.pump(keys, 1, &mut out) {}
            for side in &mut self.sides {
                if side.buf.len() > MAX_PENDING {
                    side.stop(StopReason::BufferFull);
                }
            }
        }
        out
    }

    /// Stream bytes of `dir` were lost: that direction is not decrypted any
    /// further (a lost hello means the connection cannot be).
    pub fn gap(&mut self, dir: Dir) {
        let d = dir.index();
        if self.status == DecryptStatus::AwaitingHellos && !self.sides[d].hello {
            self.status = DecryptStatus::NoHandshake;
        }
        self.sides[d].stop(StopReason::Gap);
    }

    /// Where decryption stands.
    pub fn status(&self) -> DecryptStatus {
        self.status
    }

    /// Why `dir` stopped being decrypted, if it did.
    pub fn stopped(&self, dir: Dir) -> Option<StopReason> {
        self.sides[dir.index()].stopped
    }

    /// Counters of `dir`.
    pub fn stats(&self, dir: Dir) -> DecryptStats {
        self.sides[dir.index()].stats
    }

    /// The ClientHello random, once read (the key log's lookup key).
    pub fn client_random(&self) -> Option<[u8; 32]> {
        self.client_random
    }

    /// True when nothing more can come out: the connection cannot be
    /// decrypted, or both directions stopped.
    pub fn done(&self) -> bool {
        !matches!(
            self.status,
            DecryptStatus::AwaitingHellos | DecryptStatus::Decrypting { .. }
        ) || self.sides.iter().all(|s| s.stopped.is_some())
    }

    /// Whether direction `d` still takes bytes.
    fn accepting(&self, d: usize) -> bool {
        matches!(
            self.status,
            DecryptStatus::AwaitingHellos | DecryptStatus::Decrypting { .. }
        ) && self.sides[d].stopped.is_none()
    }

    /// Whether direction `d` can handle its next record now (not while its
    /// hello is read and the other's is awaited).
    fn ready(&self, d: usize) -> bool {
        match self.status {
            DecryptStatus::AwaitingHellos => !self.sides[d].hello,
            DecryptStatus::Decrypting { .. } => true,
            _ => false,
        }
    }

    /// Handles the whole records buffered in direction `d`; true if any.
    fn pump(&mut self, keys: &KeyLog, d: usize, out: &mut Vec<Plaintext>) -> bool {
        let buf = std::mem::take(&mut self.sides[d].buf);
        let mut pos = 0;
        while self.accepting(d) && self.ready(d) {
            let rest = buf.get(pos..).unwrap_or_default();
            let Some(&[typ, major, minor, l0, l1]) = rest.get(..HEADER) else {
                break;
            };
            let len = usize::from(u16::from_be_bytes([l0, l1]));
            if !(20..=24).contains(&typ) || major != 3 || len > MAX_RECORD {
                if self.status == DecryptStatus::AwaitingHellos {
                    self.status = DecryptStatus::NoHandshake;
                } else {
                    self.sides[d].stop(StopReason::Malformed);
                }
                break;
            }
            let Some(body) = rest.get(HEADER..HEADER + len) else {
                break;
            };
            let offset = self.sides[d].offset + pos as u64;
            pos += HEADER + len;
            self.record(keys, d, [typ, major, minor, l0, l1], body, offset, out);
        }
        let live = self.status_live();
        let side = &mut self.sides[d];
        side.offset += pos as u64;
        if live && side.stopped.is_none() {
            side.buf = buf;
            side.buf.drain(..pos);
        }
        pos > 0
    }

    fn status_live(&self) -> bool {
        matches!(
            self.status,
            DecryptStatus::AwaitingHellos | DecryptStatus::Decrypting { .. }
        )
    }

    fn record(
        &mut self,
        keys: &KeyLog,
        d: usize,
        header: [u8; HEADER],
        body: &[u8],
        offset: u64,
        out: &mut Vec<Plaintext>,
    ) {
        match self.status {
            DecryptStatus::AwaitingHellos => self.hello_record(keys, d, header[0], body),
            DecryptStatus::Decrypting { version, .. } if version == TLS13 => {
                self.record13(d, header, body, offset, out)
            }
            DecryptStatus::Decrypting { .. } => self.record12(d, header, body, offset, out),
            _ => {}
        }
    }

    /// A record before both hellos are known: it must carry this
    /// direction's hello.
    fn hello_record(&mut self, keys: &KeyLog, d: usize, typ: u8, body: &[u8]) {
        if typ == CT_CHANGE_CIPHER_SPEC {
            // TLS 1.3 middlebox compatibility after a HelloRetryRequest.
            return;
        }
        if typ != CT_HANDSHAKE {
            self.status = DecryptStatus::NoHandshake;
            return;
        }
        let want = if d == 0 {
            HS_CLIENT_HELLO
        } else {
            HS_SERVER_HELLO
        };
        let mut done = Vec::new();
        self.sides[d].hs.feed(body, |t| t == want, &mut done);
        for (typ, body) in done {
            if self.sides[d].hello {
                // The rest of the server's cleartext flight (Certificate…).
                break;
            }
            let Some(body) = body.filter(|_| typ == want) else {
                self.status = DecryptStatus::NoHandshake;
                return;
            };
            let random: Option<[u8; 32]> = body.get(2..34).and_then(|r| r.try_into().ok());
            if d == 0 {
                match (random, tls::parse_client_hello(&body)) {
                    (Some(random), Some(_)) => self.client_random = Some(random),
                    _ => {
                        self.status = DecryptStatus::NoHandshake;
                        return;
                    }
                }
            } else {
                let (Some(random), Some(sh)) = (random, tls::parse_server_hello(&body)) else {
                    self.status = DecryptStatus::NoHandshake;
                    return;
                };
                if sh.hello_retry_request {
                    // The real ServerHello follows the client's second hello.
                    continue;
                }
                self.server = Some(ServerParams {
                    random,
                    version: sh.version(),
                    cipher_suite: sh.cipher_suite,
                    etm: sh.extensions.contains(&EXT_ENCRYPT_THEN_MAC),
                });
            }
            self.sides[d].hello = true;
        }
        if self.sides.iter().all(|s| s.hello) {
            self.setup(keys);
        }
    }

    /// Derives the record keys once both hellos are known.
    fn setup(&mut self, keys: &KeyLog) {
        let (Some(client_random), Some(sp)) = (self.client_random, self.server) else {
            return;
        };
        let (version, cipher_suite) = (sp.version, sp.cipher_suite);
        if !(TLS10..=TLS13).contains(&version) {
            self.status = DecryptStatus::UnsupportedVersion(version);
            return;
        }
        let Some(suite) = suite(cipher_suite).filter(|s| s.fits(version)) else {
            self.status = DecryptStatus::UnsupportedCipherSuite(cipher_suite);
            return;
        };
        self.suite = Some(suite);
        let no_keys = DecryptStatus::NoKeys {
            version,
            cipher_suite,
        };
        let Some(secrets) = keys.get(&client_random) else {
            self.status = no_keys;
            return;
        };
        let ok = if version == TLS13 {
            self.setup13(suite, secrets)
        } else {
            self.setup12(suite, sp, client_random, secrets)
        };
        self.status = if ok {
            DecryptStatus::Decrypting {
                version,
                cipher_suite,
            }
        } else {
            no_keys
        };
    }

    fn setup13(&mut self, suite: Suite, secrets: &ConnectionSecrets) -> bool {
        let [client, server] = &mut self.sides;
        client.early = keys13(suite, secrets.client_early_traffic_secret.as_deref());
        client.handshake = keys13(suite, secrets.client_handshake_traffic_secret.as_deref());
        server.handshake = keys13(suite, secrets.server_handshake_traffic_secret.as_deref());
        client.app = keys13(suite, secrets.client_traffic_secret_0.as_deref());
        server.app = keys13(suite, secrets.server_traffic_secret_0.as_deref());
        client.app_secret = secrets.client_traffic_secret_0.clone();
        server.app_secret = secrets.server_traffic_secret_0.clone();
        for side in [&mut *client, &mut *server] {
            if side.early.is_none() && side.handshake.is_none() && side.app.is_none() {
                side.stop(StopReason::NoKeys);
            }
        }
        client.stopped.is_none() || server.stopped.is_none()
    }

    fn setup12(
        &mut self,
        suite: Suite,
        sp: ServerParams,
        client_random: [u8; 32],
        secrets: &ConnectionSecrets,
    ) -> bool {
        let Some(master) = secrets.master_secret else {
            return false;
        };
        // Key block layout (RFC 5246 §6.3): MAC keys, encryption keys, IVs,
        // client's before server's. CBC in TLS 1.1+ has no implicit IV.
        let mac_len = if suite.cipher.is_cbc() {
            suite.mac.len()
        } else {
            0
        };
        let key_len = suite.cipher.key_len();
        let iv_len = match suite.cipher {
            Cipher::Aes128Gcm | Cipher::Aes256Gcm => 4,
            Cipher::ChaCha20Poly1305 => 12,
            Cipher::Aes128Cbc | Cipher::Aes256Cbc if sp.version == TLS10 => BLOCK_LEN,
            Cipher::Aes128Cbc | Cipher::Aes256Cbc => 0,
        };
        let mut seed = sp.random.to_vec();
        seed.extend_from_slice(&client_random);
        let block = prf(
            sp.version,
            suite.prf,
            &master,
            b"key expansion",
            &seed,
            2 * (mac_len + key_len + iv_len),
        );
        let mut rest = block.as_slice();
        let mut take = |n: usize| -> &[u8] {
            let (head, tail) = rest.split_at_checked(n).unwrap_or((rest, &[]));
            rest = tail;
            head
        };
        let (client_mac, server_mac) = (take(mac_len), take(mac_len));
        let (client_key, server_key) = (take(key_len), take(key_len));
        let (client_iv, server_iv) = (take(iv_len), take(iv_len));
        let client = protection12(suite, sp, client_mac, client_key, client_iv);
        let server = protection12(suite, sp, server_mac, server_key, server_iv);
        let (Some(client), Some(server)) = (client, server) else {
            return false;
        };
        self.sides[0].keys = Some(RecordKeys::new(client));
        self.sides[1].keys = Some(RecordKeys::new(server));
        true
    }

    /// A TLS ≤ 1.2 record after the hellos.
    fn record12(
        &mut self,
        d: usize,
        header: [u8; HEADER],
        body: &[u8],
        offset: u64,
        out: &mut Vec<Plaintext>,
    ) {
        let side = &mut self.sides[d];
        if !side.ccs {
            // Cleartext handshake messages and alerts carry no application
            // data; ChangeCipherSpec switches this direction to its keys.
            side.ccs = header[0] == CT_CHANGE_CIPHER_SPEC;
            return;
        }
        let Some(keys) = side.keys.as_mut() else {
            side.stop(StopReason::NoKeys);
            return;
        };
        let Some((typ, plain)) = keys.open(header, body) else {
            side.stats.undecryptable += 1;
            side.stop(StopReason::DecryptFailed);
            return;
        };
        side.stats.records += 1;
        match typ {
            CT_APPLICATION_DATA => emit(side, d, offset, plain, out),
            CT_CHANGE_CIPHER_SPEC => side.stop(StopReason::Renegotiation),
            // Finished, alerts, a renegotiation's hellos: nothing to return.
            _ => {}
        }
    }

    /// A TLS 1.3 record after the hellos.
    fn record13(
        &mut self,
        d: usize,
        header: [u8; HEADER],
        body: &[u8],
        offset: u64,
        out: &mut Vec<Plaintext>,
    ) {
        if header[0] != CT_APPLICATION_DATA {
            // Cleartext: a second ClientHello, compatibility
            // ChangeCipherSpec, an alert before the keys.
            return;
        }
        let Some(suite) = self.suite else {
            return;
        };
        let hash = suite.prf;
        let side = &mut self.sides[d];
        let mut opened = None;
        if !side.app_phase {
            opened = try_open(&mut side.handshake, header, body).map(|r| (Phase::Handshake, r));
            if opened.is_none() && !side.handshake_opened {
                opened = try_open(&mut side.early, header, body).map(|r| (Phase::Early, r));
            }
        }
        if opened.is_none() {
            opened = try_open(&mut side.app, header, body).map(|r| (Phase::Application, r));
        }
        let Some((phase, (typ, plain))) = opened else {
            side.stats.undecryptable += 1;
            // Before anything opened, a failure may be a record under a key
            // the log lacks (0-RTT, handshake); after, keys are lost.
            if side.opened_any || side.stats.undecryptable > MAX_TRIAL_FAILURES {
                let why = if side.app_phase && side.app.is_none() {
                    StopReason::NoKeys
                } else {
                    StopReason::DecryptFailed
                };
                side.stop(why);
            }
            return;
        };
        side.opened_any = true;
        side.stats.records += 1;
        match phase {
            Phase::Handshake => side.handshake_opened = true,
            Phase::Application if !side.app_phase => {
                side.app_phase = true;
                side.hs = HsAssembler::default();
            }
            _ => {}
        }
        let mut finished = false;
        let mut key_update = false;
        match typ {
            CT_APPLICATION_DATA => emit(side, d, offset, plain, out),
            CT_HANDSHAKE => {
                let mut done = Vec::new();
                side.hs.feed(&plain, |_| false, &mut done);
                for (msg, _) in done {
                    finished |= phase == Phase::Handshake && msg == HS_FINISHED;
                    key_update |= phase == Phase::Application && msg == HS_KEY_UPDATE;
                }
            }
            _ => {}
        }
        // Handshake messages never span a key change (RFC 8446 §5.1), so
        // the assembler starts afresh under the next key.
        if finished {
            side.app_phase = true;
            side.hs = HsAssembler::default();
            if side.app.is_none() {
                side.stop(StopReason::NoKeys);
            }
        }
        if key_update {
            // RFC 8446 §7.2: the next secret is derived from the current one.
            let next = side
                .app_secret
                .as_deref()
                .and_then(|s| expand_label(hash, s, b"traffic upd", hash.len()));
            side.app = keys13(suite, next.as_deref());
            side.app_secret = next;
            side.hs = HsAssembler::default();
            if side.app.is_none() {
                side.stop(StopReason::NoKeys);
            }
        }
    }
}

fn try_open(
    keys: &mut Option<RecordKeys>,
    header: [u8; HEADER],
    body: &[u8],
) -> Option<(u8, Vec<u8>)> {
    keys.as_mut()?.open(header, body)
}

fn emit(side: &mut Side, d: usize, offset: u64, bytes: Vec<u8>, out: &mut Vec<Plaintext>) {
    if bytes.is_empty() {
        return;
    }
    side.stats.plaintext_bytes += bytes.len() as u64;
    out.push(Plaintext {
        dir: dir_of(d),
        record_offset: offset,
        bytes,
    });
}

/// TLS 1.3 record keys from a traffic secret (RFC 8446 §7.3).
fn keys13(suite: Suite, secret: Option<&[u8]>) -> Option<RecordKeys> {
    let secret = secret?;
    let key = expand_label(suite.prf, secret, b"key", suite.cipher.key_len())?;
    let iv = expand_label(suite.prf, secret, b"iv", 12)?
        .try_into()
        .ok()?;
    Some(RecordKeys::new(Protection::Tls13 {
        aead: Aead::new(suite.cipher, &key)?,
        iv,
    }))
}

/// TLS ≤ 1.2 protection of one direction from its part of the key block.
fn protection12(
    suite: Suite,
    sp: ServerParams,
    mac_key: &[u8],
    key: &[u8],
    iv: &[u8],
) -> Option<Protection> {
    Some(match suite.cipher {
        Cipher::Aes128Gcm | Cipher::Aes256Gcm => Protection::Gcm12 {
            aead: Aead::new(suite.cipher, key)?,
            salt: iv.try_into().ok()?,
        },
        Cipher::ChaCha20Poly1305 => Protection::ChaCha12 {
            aead: Aead::new(suite.cipher, key)?,
            iv: iv.try_into().ok()?,
        },
        Cipher::Aes128Cbc | Cipher::Aes256Cbc => Protection::Cbc {
            cipher: suite.cipher,
            key: key.to_vec(),
            mac: suite.mac,
            mac_key: mac_key.to_vec(),
            chained_iv: if sp.version == TLS10 {
                Some(iv.try_into().ok()?)
            } else {
                None
            },
            etm: sp.etm,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aes::cipher::BlockModeEncrypt;

    /// Hex with any whitespace in between.
    fn h(s: &str) -> Vec<u8> {
        let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        digits
            .chunks(2)
            .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
            .collect()
    }

    #[test]
    fn tls12_prf_sha256_vector() {
        // The TLS 1.2 PRF test vector posted to the IETF TLS WG list
        // (msg03416), reproduced in many TLS test suites.
        let out = prf(
            TLS12,
            Hash::Sha256,
            &h("9b be 43 6b a9 40 f0 17 b1 76 52 84 9a 71 db 35"),
            b"test label",
            &h("a0 ba 9f 93 6c da 31 18 27 a6 f7 96 ff d5 19 8c"),
            100,
        );
        assert_eq!(
            out,
            h(
                "e3 f2 29 ba 72 7b e1 7b 8d 12 26 20 55 7c d4 53 c2 aa b2 1d 07 c3 d4 95
               32 9b 52 d4 e6 1e db 5a 6b 30 17 91 e9 0d 35 c9 c9 a4 6b 4e 14 ba f9 af
               0f a0 22 f7 07 7d ef 17 ab fd 37 97 c0 56 4b ab 4f bc 91 66 6e 9d ef 9b
               97 fc e3 4f 79 67 89 ba a4 80 82 d1 22 ee 42 c5 a7 2e 5a 51 10 ff f7 01
               87 34 7b 66"
            )
        );
    }

    #[test]
    fn tls12_prf_sha384_vector() {
        // The SHA-384 companion of the vector above.
        let out = prf(
            TLS12,
            Hash::Sha384,
            &h("b8 0b 73 3d 6c ee fc dc 71 56 6e a4 8e 55 67 df"),
            b"test label",
            &h("cd 66 5c f6 a8 44 7d d6 ff 8b 27 55 5e db 74 65"),
            148,
        );
        assert_eq!(
            out,
            h(
                "7b 0c 18 e9 ce d4 10 ed 18 04 f2 cf a3 4a 33 6a 1c 14 df fb 49 00 bb 5f
               d7 94 21 07 e8 1c 83 cd e9 ca 0f aa 60 be 9f e3 4f 82 b1 23 3c 91 46 a0
               e5 34 cb 40 0f ed 27 00 88 4f 9d c2 36 f8 0e dd 8b fa 96 11 44 c9 e8 d7
               92 ec a7 22 a7 b3 2f c3 d4 16 d4 73 eb c2 c5 fd 4a bf da d0 5d 91 84 25
               9b 5b f8 cd 4d 90 fa 0d 31 e2 de c4 79 e4 f1 a2 60 66 f2 ee a9 a6 92 36
               a3 e5 26 55 c9 e9 ae e6 91 c8 f3 a2 68 54 30 8d 5e aa 3b e8 5e 09 90 70
               3d 73 e5 6f"
            )
        );
    }

    #[test]
    fn tls10_prf_vector() {
        // TLS 1.0 PRF (P_MD5 xor P_SHA1) vector of the tlslite and
        // scapy test suites.
        let out = prf(
            TLS10,
            Hash::Sha256,
            &[0xab; 48],
            b"PRF Testvector",
            &[0xcd; 64],
            104,
        );
        assert_eq!(
            out,
            h(
                "d3d4d1e349b5d515044666d51de32bab258cb521b6b053463e354832fd976754
               443bcf9a296519bc289abcbc1187e4ebd31e602353776c408aafb74cbc85eff6
               9255f9788faa184cbb957a9819d84a5d7eb006eb459d3ae8de9810454b8b2d8f
               1afbc655a8c9a013"
            )
        );
    }

    // RFC 8448 §3 "Simple 1-RTT Handshake": the records on the wire and the
    // traffic secrets, as printed in the RFC.
    const R8448_CLIENT_HELLO: &str = "
        16030100c4010000c00303cb34ecb1e78163ba1c38c6dacb196a6dffa21a8d99
        12ec18a2ef6283024dece7000006130113031302010000910000000b00090000
        06736572766572ff01000100000a00140012001d001700180019010001010102
        0103010400230000003300260024001d002099381de560e4bd43d23d8e435a7d
        bafeb3c06e51c13cae4d5413691e529aaf2c002b0003020304000d0020001e04
        0305030603020308040805080604010501060102010402050206020202002d00
        020101001c00024001";
    const R8448_SERVER_HELLO: &str = "
        160303005a020000560303a6af06a4121860dc5e6e60249cd34c95930c8ac5cb
        1434dac155772ed3e2692800130100002e00330024001d0020c9828876112095
        fe66762bdbf7c672e156d6cc253b833df1dd69b1b04e751f0f002b00020304";
    const R8448_SERVER_FLIGHT: &str = "
        17030302a2d1ff334a56f5bff6594a07cc87b580233f500f45e489e7f33af35e
        df7869fcf40aa40aa2b8ea73f848a7ca07612ef9f945cb960b4068905123ea78
        b111b429ba9191cd05d2a389280f526134aadc7fc78c4b729df828b5ecf7b13b
        d9aefb0e57f271585b8ea9bb355c7c79020716cfb9b1183ef3ab20e37d57a6b9
        d7477609aee6e122a4cf51427325250c7d0e509289444c9b3a648f1d71035d2e
        d65b0e3cdd0cbae8bf2d0b227812cbb360987255cc744110c453baa4fcd61092
        8d809810e4b7ed1a8fd991f06aa6248204797e36a6a73b70a2559c09ead68694
        5ba246ab66e5edd8044b4c6de3fcf2a89441ac66272fd8fb330ef8190579b368
        4596c960bd596eea520a56a8d650f563aad27409960dca63d3e688611ea5e22f
        4415cf9538d51a200c27034272968a264ed6540c84838d89f72c24461aad6d26
        f59ecaba9acbbb317b66d902f4f292a36ac1b639c637ce343117b65962224531
        7b49eeda0c6258f100d7d961ffb138647e92ea330faeea6dfa31c7a84dc3bd7e
        1b7a6c7178af36879018e3f252107f243d243dc7339d5684c8b0378bf30244da
        8c87c843f5e56eb4c5e8280a2b48052cf93b16499a66db7cca71e4599426f7d4
        61e66f99882bd89fc50800becca62d6c74116dbd2972fda1fa80f85df881edbe
        5a37668936b335583b599186dc5c6918a396fa48a181d6b6fa4f9d62d513afbb
        992f2b992f67f8afe67f76913fa388cb5630c8ca01e0c65d11c66a1e2ac4c859
        77b7c7a6999bbf10dc35ae69f5515614636c0b9b68c19ed2e31c0b3b66763038
        ebba42f3b38edc0399f3a9f23faa63978c317fc9fa66a73f60f0504de93b5b84
        5e275592c12335ee340bbc4fddd502784016e4b3be7ef04dda49f4b440a30cb5
        d2af939828fd4ae3794e44f94df5a631ede42c1719bfdabf0253fe5175be898e
        750edc53370d2b";
    const R8448_CLIENT_FINISHED: &str = "
        170303003575ec4dc238cce60b298044a71e219c56cc77b0517fe9b93c7a4bfc
        44d87f38f80338ac98fc46deb384bd1caeacab6867d726c40546";
    const R8448_NEW_SESSION_TICKET: &str = "
        17030300de3a6b8f90414a97d6959c3487680de5134a2b240e6cffac116e95d4
        1d6af8f6b580dcf3d11d63c758db289a015940252f55713e061dc13e078891a3
        8efbcf5753ad8ef170ad3c7353d16d9da773b9ca7f2b9fa1b6c0d4a3d03f75e0
        9c30ba1e62972ac46f75f7b981be63439b2999ce13064615139891d5e4c5b406
        f16e3fc181a77ca475840025db2f0a77f81b5ab05b94c01346755f69232c8651
        9d86cbeeac87aac347d143f9605d64f650db4d023e70e952ca49fe5137121c74
        bc2697687e248746d6df353005f3bce18696129c8153556b3b6c6779b37bf159
        85684f";
    const R8448_CLIENT_APP: &str = "
        1703030043a23f7054b62c94d0affafe8228ba55cbefacea42f914aa66bcab3f
        2b9819a8a5b46b395bd54a9a20441e2b62974e1f5a6292a2977014bd1e3deae6
        3aeebb21694915e4";
    const R8448_SERVER_APP: &str = "
        17030300432e937e11ef4ac740e538ad36005fc4a46932fc3225d05f82aa1b36
        e30efaf97d90e6dffc602dcb501a59a8fcc49c4bf2e5f0a21c0047c2abf33254
        0dd032e167c2955d";
    const R8448_CLIENT_ALERT: &str = "1703030013c9872760655666b74d7ff1153efd6db6d0b0e3";
    const R8448_SERVER_ALERT: &str = "1703030013b58fd67166ebf599d24720cfbe7efa7a8864a9";
    const R8448_RANDOM: &str = "cb34ecb1e78163ba1c38c6dacb196a6dffa21a8d9912ec18a2ef6283024dece7";
    const R8448_C_HS: &str = "b3eddb126e067f35a780b3abf45e2d8f3b1a950738f52e9600746a0e27a55a21";
    const R8448_S_HS: &str = "b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38";
    const R8448_C_AP: &str = "9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5";
    const R8448_S_AP: &str = "a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643";

    fn r8448_keylog(handshake: bool) -> KeyLog {
        let mut text = String::new();
        if handshake {
            text += &format!("CLIENT_HANDSHAKE_TRAFFIC_SECRET {R8448_RANDOM} {R8448_C_HS}\n");
            text += &format!("SERVER_HANDSHAKE_TRAFFIC_SECRET {R8448_RANDOM} {R8448_S_HS}\n");
        }
        text += &format!("CLIENT_TRAFFIC_SECRET_0 {R8448_RANDOM} {R8448_C_AP}\n");
        text += &format!("SERVER_TRAFFIC_SECRET_0 {R8448_RANDOM} {R8448_S_AP}\n");
        KeyLog::parse(text.as_bytes())
    }

    /// The RFC 8448 §3 exchange in capture order: (direction, record).
    fn r8448_records() -> Vec<(Dir, Vec<u8>)> {
        use Dir::{ToClient, ToServer};
        [
            (ToServer, R8448_CLIENT_HELLO),
            (ToClient, R8448_SERVER_HELLO),
            (ToClient, R8448_SERVER_FLIGHT),
            (ToServer, R8448_CLIENT_FINISHED),
            (ToClient, R8448_NEW_SESSION_TICKET),
            (ToServer, R8448_CLIENT_APP),
            (ToClient, R8448_SERVER_APP),
            (ToServer, R8448_CLIENT_ALERT),
            (ToClient, R8448_SERVER_ALERT),
        ]
        .into_iter()
        .map(|(d, r)| (d, h(r)))
        .collect()
    }

    /// Feeds records in `chunk`-byte pieces; returns the plaintext per
    /// direction.
    fn run(
        conn: &mut TlsDecryptor,
        keys: &KeyLog,
        records: &[(Dir, Vec<u8>)],
        chunk: usize,
    ) -> [Vec<u8>; 2] {
        let mut out: [Vec<u8>; 2] = Default::default();
        for (dir, rec) in records {
            for piece in rec.chunks(chunk) {
                for p in conn.feed(keys, *dir, piece) {
                    out[p.dir.index()].extend(p.bytes);
                }
            }
        }
        out
    }

    #[test]
    fn rfc8448_key_schedule() {
        // RFC 8448 §3: "derive write traffic keys for application data".
        let s = suite(0x1301).unwrap();
        let sap = h(R8448_S_AP);
        assert_eq!(
            expand_label(s.prf, &sap, b"key", 16).unwrap(),
            h("9f02283b6c9c07efc26bb9f2ac92e356")
        );
        assert_eq!(
            expand_label(s.prf, &sap, b"iv", 12).unwrap(),
            h("cf782b88dd83549aadf1e984")
        );
        let shs = h(R8448_S_HS);
        assert_eq!(
            expand_label(s.prf, &shs, b"key", 16).unwrap(),
            h("3fce516009c21727d0f2e4e86ee403bc")
        );
    }

    #[test]
    fn rfc8448_simple_1rtt() {
        let payload: Vec<u8> = (0u8..50).collect();
        let keys = r8448_keylog(true);
        for chunk in [1, 7, 100, 100_000] {
            let mut conn = TlsDecryptor::new();
            let out = run(&mut conn, &keys, &r8448_records(), chunk);
            assert_eq!(out[0], payload, "client data, chunk {chunk}");
            assert_eq!(out[1], payload, "server data, chunk {chunk}");
            assert_eq!(
                conn.status(),
                DecryptStatus::Decrypting {
                    version: 0x0304,
                    cipher_suite: 0x1301
                }
            );
            assert_eq!(
                conn.client_random(),
                Some(h(R8448_RANDOM).try_into().unwrap())
            );
            // Finished, data, alert / flight, ticket, data, alert.
            let c = conn.stats(Dir::ToServer);
            let s = conn.stats(Dir::ToClient);
            assert_eq!((c.records, c.undecryptable, c.plaintext_bytes), (3, 0, 50));
            assert_eq!((s.records, s.undecryptable, s.plaintext_bytes), (4, 0, 50));
            assert_eq!(conn.stopped(Dir::ToServer), None);
            assert_eq!(conn.stopped(Dir::ToClient), None);
            assert!(!conn.done());
        }
    }

    #[test]
    fn rfc8448_record_offsets() {
        let keys = r8448_keylog(true);
        let mut conn = TlsDecryptor::new();
        let mut found = Vec::new();
        let mut offsets = [0u64; 2];
        for (dir, rec) in r8448_records() {
            for p in conn.feed(&keys, dir, &rec) {
                found.push((p.dir, p.record_offset));
            }
            offsets[dir.index()] += rec.len() as u64;
        }
        // Client: hello 201 + Finished 58; server: hello 95 + flight 679 + ticket 227.
        assert_eq!(found, [(Dir::ToServer, 259), (Dir::ToClient, 1001)]);
    }

    #[test]
    fn rfc8448_with_only_application_secrets() {
        // Many key logs lack the handshake secrets: the handshake records are
        // skipped by trial decryption and the data still comes out.
        let payload: Vec<u8> = (0u8..50).collect();
        let keys = r8448_keylog(false);
        let mut conn = TlsDecryptor::new();
        let out = run(&mut conn, &keys, &r8448_records(), 13);
        assert_eq!(out, [payload.clone(), payload]);
        assert_eq!(conn.stats(Dir::ToServer).undecryptable, 1);
        assert_eq!(conn.stats(Dir::ToClient).undecryptable, 1);
    }

    #[test]
    fn rfc8448_without_keys_or_with_wrong_keys() {
        let mut conn = TlsDecryptor::new();
        let out = run(&mut conn, &KeyLog::new(), &r8448_records(), 50);
        assert_eq!(out, [Vec::<u8>::new(), Vec::new()]);
        assert_eq!(
            conn.status(),
            DecryptStatus::NoKeys {
                version: 0x0304,
                cipher_suite: 0x1301
            }
        );
        assert!(conn.done());

        // Secrets swapped between directions: nothing authenticates.
        let text = format!(
            "CLIENT_TRAFFIC_SECRET_0 {R8448_RANDOM} {R8448_S_AP}\nSERVER_TRAFFIC_SECRET_0 {R8448_RANDOM} {R8448_C_AP}\n"
        );
        let mut conn = TlsDecryptor::new();
        let out = run(
            &mut conn,
            &KeyLog::parse(text.as_bytes()),
            &r8448_records(),
            50,
        );
        assert_eq!(out, [Vec::<u8>::new(), Vec::new()]);
        assert_eq!(conn.stats(Dir::ToClient).records, 0);
    }

    #[test]
    fn rfc8448_gap_stops_one_direction() {
        let payload: Vec<u8> = (0u8..50).collect();
        let keys = r8448_keylog(true);
        let mut conn = TlsDecryptor::new();
        let records = r8448_records();
        let mut out: [Vec<u8>; 2] = Default::default();
        for (i, (dir, rec)) in records.iter().enumerate() {
            if i == 3 {
                // The client's Finished is lost.
                conn.gap(*dir);
                continue;
            }
            for p in conn.feed(&keys, *dir, rec) {
                out[p.dir.index()].extend(p.bytes);
            }
        }
        assert_eq!(out, [Vec::new(), payload]);
        assert_eq!(conn.stopped(Dir::ToServer), Some(StopReason::Gap));
        assert_eq!(conn.stopped(Dir::ToClient), None);
    }

    #[test]
    fn rfc8448_server_first_still_works() {
        // Capture order can put the server's bytes first (the flow stage
        // delivers what it has): records wait for the other hello.
        let payload: Vec<u8> = (0u8..50).collect();
        let keys = r8448_keylog(true);
        let mut conn = TlsDecryptor::new();
        let records = r8448_records();
        let (client, server): (Vec<_>, Vec<_>) =
            records.into_iter().partition(|(d, _)| *d == Dir::ToServer);
        let mut out: [Vec<u8>; 2] = Default::default();
        for (dir, rec) in server.iter().chain(&client) {
            for p in conn.feed(&keys, *dir, rec) {
                out[p.dir.index()].extend(p.bytes);
            }
        }
        assert_eq!(out, [payload.clone(), payload]);
    }

    #[test]
    fn key_update_is_followed() {
        // A TLS 1.3 direction whose sender updates its key after a record.
        let s = suite(0x1303).unwrap();
        let secret0 = vec![7u8; 32];
        let secret1 = expand_label(s.prf, &secret0, b"traffic upd", 32).unwrap();
        let seal13 = |secret: &[u8], seq: u64, typ: u8, content: &[u8]| -> Vec<u8> {
            let key = expand_label(s.prf, secret, b"key", 32).unwrap();
            let iv: [u8; 12] = expand_label(s.prf, secret, b"iv", 12)
                .unwrap()
                .try_into()
                .unwrap();
            let mut inner = content.to_vec();
            inner.push(typ);
            inner.extend([0; 3]); // padding
            let len = (inner.len() + TAG_LEN) as u16;
            let mut rec = vec![23, 3, 3];
            rec.extend(len.to_be_bytes());
            let aead = ChaCha20Poly1305::new_from_slice(&key).unwrap();
            let ct = aead
                .encrypt(
                    &xor_nonce(&iv, seq).into(),
                    Payload {
                        msg: &inner,
                        aad: &rec,
                    },
                )
                .unwrap();
            rec.extend(ct);
            rec
        };
        let random = [0x42; 32];
        let keys = KeyLog::parse(
            format!(
                "SERVER_TRAFFIC_SECRET_0 {} {}\nCLIENT_TRAFFIC_SECRET_0 {} {}\n",
                "42".repeat(32),
                "07".repeat(32),
                "42".repeat(32),
                "09".repeat(32),
            )
            .as_bytes(),
        );
        let mut conn = TlsDecryptor::new();
        conn.feed(&keys, Dir::ToServer, &client_hello(random));
        conn.feed(&keys, Dir::ToClient, &server_hello(0x1303, TLS13, false));
        let mut data = Vec::new();
        let mut stream = seal13(&secret0, 0, 23, b"before ");
        stream.extend(seal13(&secret0, 1, 22, &[HS_KEY_UPDATE, 0, 0, 1, 0]));
        stream.extend(seal13(&secret1, 0, 23, b"after"));
        for p in conn.feed(&keys, Dir::ToClient, &stream) {
            data.extend(p.bytes);
        }
        assert_eq!(data, b"before after");
        assert_eq!(conn.stats(Dir::ToClient).records, 3);
    }

    /// A ClientHello record with `random`.
    fn client_hello(random: [u8; 32]) -> Vec<u8> {
        let mut body = vec![3, 3];
        body.extend(random);
        body.push(0); // session id
        body.extend([0, 2, 0x13, 0x01]); // cipher suites
        body.extend([1, 0]); // compression
        handshake_record(HS_CLIENT_HELLO, &body)
    }

    /// A ServerHello record choosing `cipher_suite` at `version`.
    fn server_hello(cipher_suite: u16, version: u16, etm: bool) -> Vec<u8> {
        server_hello_with([0x53; 32], cipher_suite, version, etm)
    }

    fn server_hello_with(random: [u8; 32], cipher_suite: u16, version: u16, etm: bool) -> Vec<u8> {
        let mut body = vec![3, 3];
        body.extend(random);
        body.push(0); // session id
        body.extend(cipher_suite.to_be_bytes());
        body.push(0);
        let mut exts = Vec::new();
        if version == TLS13 {
            exts.extend([0, 0x2b, 0, 2, 3, 4]);
        } else {
            body[..2].copy_from_slice(&version.to_be_bytes());
        }
        if etm {
            exts.extend([0, 0x16, 0, 0]);
        }
        body.extend((exts.len() as u16).to_be_bytes());
        body.extend(exts);
        handshake_record(HS_SERVER_HELLO, &body)
    }

    fn handshake_record(typ: u8, body: &[u8]) -> Vec<u8> {
        let len = body.len() as u32;
        let mut msg = vec![typ, (len >> 16) as u8, (len >> 8) as u8, len as u8];
        msg.extend(body);
        record(CT_HANDSHAKE, 0x0301, &msg)
    }

    fn record(typ: u8, version: u16, body: &[u8]) -> Vec<u8> {
        let mut r = vec![typ];
        r.extend(version.to_be_bytes());
        r.extend((body.len() as u16).to_be_bytes());
        r.extend(body);
        r
    }

    /// Seals TLS ≤ 1.2 records the way a peer would, from the key block
    /// half of one direction (test-only: telltale never encrypts).
    struct Sealer {
        suite: Suite,
        version: u16,
        mac_key: Vec<u8>,
        key: Vec<u8>,
        iv: Vec<u8>,
        etm: bool,
        seq: u64,
    }

    impl Sealer {
        fn new(
            cipher_suite: u16,
            version: u16,
            etm: bool,
            master: &[u8; 48],
            client: bool,
        ) -> Self {
            let suite = suite(cipher_suite).unwrap();
            let mac_len = if suite.cipher.is_cbc() {
                suite.mac.len()
            } else {
                0
            };
            let key_len = suite.cipher.key_len();
            let iv_len = match suite.cipher {
                Cipher::Aes128Gcm | Cipher::Aes256Gcm => 4,
                Cipher::ChaCha20Poly1305 => 12,
                _ if version == TLS10 => 16,
                _ => 0,
            };
            let mut seed = vec![0x53; 32];
            seed.extend([0x11; 32]);
            let kb = prf(
                version,
                suite.prf,
                master,
                b"key expansion",
                &seed,
                2 * (mac_len + key_len + iv_len),
            );
            let pick = |i: usize| -> Vec<u8> {
                let lens = [mac_len, mac_len, key_len, key_len, iv_len, iv_len];
                let start: usize = lens[..i].iter().sum();
                kb[start..start + lens[i]].to_vec()
            };
            let side = usize::from(!client);
            Sealer {
                suite,
                version,
                mac_key: pick(side),
                key: pick(2 + side),
                iv: pick(4 + side),
                etm,
                seq: 0,
            }
        }

        fn seal(&mut self, typ: u8, content: &[u8]) -> Vec<u8> {
            let ver = self.version.to_be_bytes();
            let seq = self.seq;
            self.seq += 1;
            let body = match self.suite.cipher {
                Cipher::Aes128Gcm | Cipher::Aes256Gcm => {
                    let explicit = seq.wrapping_mul(0x0101_0101).to_be_bytes();
                    let mut nonce = self.iv.clone();
                    nonce.extend(explicit);
                    let nonce: [u8; 12] = nonce.try_into().unwrap();
                    let aad = aad12(seq, typ, ver, content.len()).unwrap();
                    let payload = Payload {
                        msg: content,
                        aad: &aad,
                    };
                    let ct = if self.suite.cipher == Cipher::Aes128Gcm {
                        Aes128Gcm::new_from_slice(&self.key)
                            .unwrap()
                            .encrypt(&nonce.into(), payload)
                    } else {
                        Aes256Gcm::new_from_slice(&self.key)
                            .unwrap()
                            .encrypt(&nonce.into(), payload)
                    };
                    let mut b = explicit.to_vec();
                    b.extend(ct.unwrap());
                    b
                }
                Cipher::ChaCha20Poly1305 => {
                    let aad = aad12(seq, typ, ver, content.len()).unwrap();
                    let iv: [u8; 12] = self.iv.clone().try_into().unwrap();
                    ChaCha20Poly1305::new_from_slice(&self.key)
                        .unwrap()
                        .encrypt(
                            &xor_nonce(&iv, seq).into(),
                            Payload {
                                msg: content,
                                aad: &aad,
                            },
                        )
                        .unwrap()
                }
                Cipher::Aes128Cbc | Cipher::Aes256Cbc => {
                    let mac = |data: &[u8]| {
                        let hdr = aad12(seq, typ, ver, data.len()).unwrap();
                        hmac(self.suite.mac, &self.mac_key, &[&hdr, data])
                    };
                    let mut plain = content.to_vec();
                    if !self.etm {
                        plain.extend(mac(content));
                    }
                    let pad = 15 - plain.len() % 16 + 16; // some extra padding
                    plain.extend(std::iter::repeat_n(pad as u8, pad + 1));
                    let iv: Vec<u8> = if self.version == TLS10 {
                        self.iv.clone()
                    } else {
                        (0..16).map(|i| i as u8 ^ seq as u8).collect()
                    };
                    self.cbc_encrypt(&iv, &mut plain);
                    if self.version == TLS10 {
                        self.iv = plain[plain.len() - 16..].to_vec();
                    }
                    let mut b = if self.version == TLS10 {
                        Vec::new()
                    } else {
                        iv
                    };
                    b.extend(&plain);
                    if self.etm {
                        let tag = mac(&b);
                        b.extend(tag);
                    }
                    b
                }
            };
            record(typ, self.version, &body)
        }

        fn cbc_encrypt(&self, iv: &[u8], data: &mut [u8]) {
            macro_rules! run {
                ($c:ty) => {{
                    let mut e = cbc::Encryptor::<$c>::new_from_slices(&self.key, iv).unwrap();
                    for chunk in data.chunks_exact_mut(16) {
                        let mut block = aes::Block::try_from(&*chunk).unwrap();
                        e.encrypt_block(&mut block);
                        chunk.copy_from_slice(&block);
                    }
                }};
            }
            match self.suite.cipher {
                Cipher::Aes128Cbc => run!(Aes128),
                _ => run!(Aes256),
            }
        }
    }

    /// A whole TLS ≤ 1.2 conversation under `cipher_suite`; returns what
    /// came out per direction and the decryptor.
    fn tls12_conversation(
        cipher_suite: u16,
        version: u16,
        etm: bool,
    ) -> ([Vec<u8>; 2], TlsDecryptor) {
        let master = [0x5a; 48];
        let keys = KeyLog::parse(
            format!("CLIENT_RANDOM {} {}\n", "11".repeat(32), "5a".repeat(48)).as_bytes(),
        );
        let mut c = Sealer::new(cipher_suite, version, etm, &master, true);
        let mut s = Sealer::new(cipher_suite, version, etm, &master, false);
        let ccs = record(CT_CHANGE_CIPHER_SPEC, version, &[1]);
        let mut conn = TlsDecryptor::new();
        let mut out: [Vec<u8>; 2] = Default::default();
        let mut feed = |conn: &mut TlsDecryptor, dir: Dir, bytes: &[u8]| {
            for p in conn.feed(&keys, dir, bytes) {
                out[p.dir.index()].extend(p.bytes);
            }
        };
        feed(&mut conn, Dir::ToServer, &client_hello([0x11; 32]));
        let mut flight = server_hello(cipher_suite, version, etm);
        flight.extend(handshake_record(11, &[0; 300])); // Certificate
        feed(&mut conn, Dir::ToClient, &flight);
        let mut cflight = handshake_record(16, &[0; 66]); // ClientKeyExchange
        cflight.extend(&ccs);
        cflight.extend(c.seal(
            CT_HANDSHAKE,
            &[20, 0, 0, 12, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
        ));
        feed(&mut conn, Dir::ToServer, &cflight);
        let mut sflight = ccs.clone();
        sflight.extend(s.seal(
            CT_HANDSHAKE,
            &[20, 0, 0, 12, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
        ));
        feed(&mut conn, Dir::ToClient, &sflight);
        feed(
            &mut conn,
            Dir::ToServer,
            &c.seal(CT_APPLICATION_DATA, b"GET / HTTP/1.1\r\n"),
        );
        feed(
            &mut conn,
            Dir::ToServer,
            &c.seal(CT_APPLICATION_DATA, b"Host: a.example\r\n\r\n"),
        );
        let big: Vec<u8> = (0..16_384u32).map(|i| (i % 251) as u8).collect();
        let mut sdata = s.seal(CT_APPLICATION_DATA, b"HTTP/1.1 200 OK\r\n\r\n");
        sdata.extend(s.seal(CT_APPLICATION_DATA, &big));
        for piece in sdata.chunks(999) {
            feed(&mut conn, Dir::ToClient, piece);
        }
        feed(&mut conn, Dir::ToServer, &c.seal(21, &[1, 0])); // close_notify
        (out, conn)
    }

    #[test]
    fn tls12_suites_round_trip() {
        let big: Vec<u8> = (0..16_384u32).map(|i| (i % 251) as u8).collect();
        let mut server_expected = b"HTTP/1.1 200 OK\r\n\r\n".to_vec();
        server_expected.extend(&big);
        let cases = [
            (0x009c, TLS12, false),
            (0x009d, TLS12, false),
            (0xc02b, TLS12, false),
            (0xc02c, TLS12, false),
            (0xc02f, TLS12, false),
            (0xc030, TLS12, false),
            (0xcca8, TLS12, false),
            (0xcca9, TLS12, false),
            (0xccaa, TLS12, false),
            (0xc013, TLS12, false),
            (0xc014, TLS12, true),
            (0x002f, 0x0302, false),
            (0x0035, TLS10, false),
            (0xc013, TLS10, true),
            (0xc027, TLS12, false),
            (0xc028, TLS12, true),
            (0x003d, TLS12, false),
        ];
        for (cs, version, etm) in cases {
            let (out, conn) = tls12_conversation(cs, version, etm);
            let what = format!("suite {cs:#06x} version {version:#06x} etm {etm}");
            assert_eq!(
                conn.status(),
                DecryptStatus::Decrypting {
                    version,
                    cipher_suite: cs
                },
                "{what}"
            );
            assert_eq!(
                out[0], b"GET / HTTP/1.1\r\nHost: a.example\r\n\r\n",
                "{what}"
            );
            assert_eq!(out[1], server_expected, "{what}");
            assert_eq!(conn.stats(Dir::ToServer).records, 4, "{what}");
            assert_eq!(conn.stopped(Dir::ToServer), None, "{what}");
            assert_eq!(conn.stopped(Dir::ToClient), None, "{what}");
        }
    }

    /// A TLS ≤ 1.2 conversation recorded between OpenSSL 3.0 `s_client`
    /// and `s_server -rev` (which echoes each line reversed) over loopback,
    /// with the key log `s_client -keylogfile` wrote: the hello parameters
    /// and each direction's records after ChangeCipherSpec (Finished, data,
    /// close_notify). Real peers, so the record formats are checked against
    /// an independent implementation, not against our own sealing.
    struct Openssl12 {
        cipher_suite: u16,
        version: u16,
        etm: bool,
        client_random: &'static str,
        server_random: &'static str,
        master_secret: &'static str,
        client: &'static str,
        server: &'static str,
    }

    /// ECDHE-RSA-CHACHA20-POLY1305, TLS 1.2.
    const OPENSSL_CHACHA12: Openssl12 = Openssl12 {
        cipher_suite: 0xcca8,
        version: 0x0303,
        etm: false,
        client_random: "5615ffdf747a0387757ae0726d1490664b6c3b0357691df6ac4bd5f6387bd02d",
        server_random: "dc96e6f629fdd7adbe0a6ecaa6faa30af55fb0473c4bea9a444f574e47524401",
        master_secret: "e44b614449278758e9ed196cc1bfac7a0b9cf2db32b8d02de354893c5a905e404b39c6ccda3ec07572e3bf38f408fed4",
        client: "
        1603030020023faa2c002e9a7e806dc90e74c031865000cd69198dda8481f513
        f8007d2d8a170303001dffe70f2f1df0e869e96c96b4dfce7aa269ca8a9d8db0
        475869bf0447aa15030300124f48922cfedb96dc9eceac0eb926e116b555",
        server: "
        1603030020a8648fcb2fbf5f368ea5984f898e07aa71f538f1251c850a8618e0
        8eb284788a170303001dcaa41d877f1c37b0ccc98d6b13109facaa73bb444ef0
        d6b6179f65f7d31503030012d0e71d131e319b31c6118bdc820d933ee643",
    };
    /// ECDHE-RSA-AES128-SHA, TLS 1.2, Encrypt-then-MAC.
    const OPENSSL_CBCETM12: Openssl12 = Openssl12 {
        cipher_suite: 0xc013,
        version: 0x0303,
        etm: true,
        client_random: "df6e74b48d9ab01483514673e0e8ae7cda49e0c1b6c32279a4961ba63883a12a",
        server_random: "6e3aa3024b2af4a452fae633b0815586389bebf96c6f22e4444f574e47524401",
        master_secret: "97d4cfd26ea6483eadac1996a76208a26f993cf4d186c971a9e81bb68099fca752190ec66996b6a616a953f1ef1727e8",
        client: "
        16030300447e5cd96c0988145dffd245b12df3338c1c5ea6398258f8ff546ae7
        59820b07c9f9b26f92ae62dcd95f6d070b28a0724fbf59e5e05fa930bb9799bf
        cd41a84029fd0ae51a1703030034288a1f86d2ba9f985f5080c6a9c66bc393cc
        9f3e7e7ec61a125c82cbbe958e99c684a294fe1c79ae96e9c0583a39b6e5b83a
        92d6150303003435c97d049627cca97c0065d877a23967e8627ea2943a85f297
        d0ed4d9ab5e9e7a62515d163416d0240d6dc670aa2f4c43583a4c4",
        server: "
        1603030044a26ca9e4a0d9f43a38d28877f8a520240e199fcb62cab780983ebd
        3d880b2294f9655b85218faeae94132c5308530301635a1086b78b35b22b47d6
        4d76554374ddb265311703030034f776b95646eab913c42ad29c8141562aded3
        7159fd982130857eab6aa7de72c75ea801bcacc7777197717aa970352b59dcbd
        c60115030300340b73291dc90a8812ddfea1c401dda3a04d70de98fac41e8546
        5e377b5078842c05651170fae6f37bc665a209c961259a1fc3b4d3",
    };
    /// AES256-SHA256, TLS 1.2, MAC-then-encrypt.
    const OPENSSL_CBC256SHA256: Openssl12 = Openssl12 {
        cipher_suite: 0x003d,
        version: 0x0303,
        etm: false,
        client_random: "4494d96e3a47a48fe95b1b4f14cec35233bce78971e5fdcd82595495acc573d4",
        server_random: "826381c5bd5de2ad8befe4fe27f18aa8cc72248eb28dce7d444f574e47524401",
        master_secret: "5ec8c83b42753939a900a8072c2bc38604d2d7fe612ac991aa03b90e0fdb727e02f0fab47657c49f07fca86904cdd0ca",
        client: "
        16030300503670d89acb86c469f7adcaa309fb226841fe16a444a54c0150e1c4
        85d6b9acca53ee5f75e9dfb6f3e60ea52805e635f1c459822f9b6df0e74c2f8c
        4353f5111588323edd323383fd5453e4654915bd1817030300504a1449fe12df
        59dad2bea417c8a221607202c75aa71577c82df3c26558e6dee4dc6daf7baf48
        96236bec6f9d0e1eed48c2306b26bd847941c40c34eda97929ee573c90c00b3c
        764a25dce9bf11dc652e1503030040902d1e3f1b723be557cfa4fb00d8028c17
        5e45277b42aca65b428a07e0addeadba52991434b547612b81a028a502da375a
        0fa9f627b558c92bbc4884d287d43f",
        server: "
        1603030050e75db4ecacdc7bbc9fbc9aa12a516ea43182745ef7af755df56df0
        299ca0c0cecd7715ab8323f1decaec2e088d81f5cf72b373c90ec297fc319e3c
        ea65b01a4eb8ea82484c3d3a089f09cfcab6fff6841703030050b5e55cc2db2d
        6e19ad324bfe6311776148f145fe7d049f0a05f35853b38ebab0549410b51eb1
        2844ee45aec06236e9b8d286225c49bb4a2ffb6b26d2c2cd5ad9a3ea709182a4
        20ff011aa272a7738deb150303004057b2f62a0c2eb9c9cc458c2ba87cea8651
        326b4c1e35a72b5334f8ff9c288a735a2124e316c4ba4e3fb78a914dfc8c8b0b
        ff04f0046c6257312748ccda9cca01",
    };
    /// ECDHE-RSA-AES256-SHA384, TLS 1.2.
    const OPENSSL_CBC384: Openssl12 = Openssl12 {
        cipher_suite: 0xc028,
        version: 0x0303,
        etm: true,
        client_random: "321a0bcf5bb8244508d0c253d182f647107091f4c806ade7fbfb6023712a2155",
        server_random: "6a226679cbd4f63d3b13b2ea482f1459a2a241d411f399e3444f574e47524401",
        master_secret: "41cd08327b4d44d352e8f39dc0e9baae4561b735b10357e408040b7ffc2edcebf864f18eb5544a9a391d1da3aabca3c2",
        client: "
        16030300600f21ea44480a2cdbca0d71d6f4e277aa05cf37ed3dff31e980960c
        c4df7f982c87ea4a1076500194c8f6f4fe2b1041ed1e767556b472e4e5738702
        4be08c862f7df630c978c5e4fd8a86fad672387511fefc215df0fd4beef00f52
        02598e90531703030050ec3dab31b00eee0ed69abe8029b68dc15c49df692898
        86b90015d43dfe739401a0fa43a79b0c62e5d9503ee7f06e279cf31b3a76d60d
        29a934b184732f6dbdf71ce4a6e2e730adbf523eb138068e8054150303005020
        a3c6e871235b4eef4be437fbe98a485804aa58968208536a8af84e729708993f
        0632d49a17bc2c6b13b5d356ee1b6399ba328793da085dd8c1c90ace60c28fe8
        73efeb4b382c85fc005664e4205665",
        server: "
        1603030060fbe178da6974d76b102ffa40e43b596154fe15bb7891baf69fb1c1
        8404346f146dfa70cbbbd013ee594ddf675be7476c079d1c8b462afc8ed17871
        b60dafa4458bf56ede3109df0e6e3034d463cf7474ab022747570c673a50a486
        137f3d075617030300506c54a168008371224e1f34638bb08f43634d80a00452
        9f40413a9dbe4c5cca124dfbb3441c644ce5d0e27019f345f10f50faa844cfb2
        51a2663142b855d9d934526f370baed5eae6748fd7915213298e150303005062
        1632b5aa00bf91a387d284f38369a9180150030f5e07f336ce3a9c2b64463f54
        9c667ad22f165a400d1a2ed4cac69af6db0150b36500d0ba1c4e6c6bfc2871e3
        d95c01b95335b981b409a6fd558ee6",
    };
    /// AES128-SHA, TLS 1.1, MAC-then-encrypt.
    const OPENSSL_CBC11: Openssl12 = Openssl12 {
        cipher_suite: 0x002f,
        version: 0x0302,
        etm: false,
        client_random: "64540faf3e6777b2f58911632ae84689ccee4bad20df3c01f157fd36b3fc7983",
        server_random: "8ed90fa643b1ffd154bdc7d4c72d1f9a3c791dfe55bd89ef444f574e47524400",
        master_secret: "62712df86664a90fb82536060befdfc9b4817f4117f68036ec3266f600b6a8dbb76336f2ff9e36aff75930f054ac272e",
        client: "
        16030200403d5dd3e60dde7f0eead146e74e5d9f088fc6eeda651fee129d9e36
        dbd6838ad0a291cb38f137a5f86748d1983e62832faad26246f0cba67a1bb25c
        252bb0e1d21703020040715901d2d569d248220c3952ecc5ed1aa508a546b045
        fc6b4a5f180fe870c335390b9e4c7e05f50dcc6ffdd6304b135561ae9fa56b6d
        c08f433ca3c166c696511503020030a57f458a0f833dd98de41b63b214afc14d
        16d257e46e57194dcc385920eccc4a86a874c6cbfe811734764e6a5061a7b4",
        server: "
        160302004053b051d7eb0c8429666e8dc74b06de6e1e434e47ca73a73070a423
        514cd2cc7e8d3ad6dd16f1bcb9a703618db8c03f72cd2d1428e846b89ecd78dd
        13bd7a08eb170302004057fe8216e696cca6acbab630cacfe30f5e9035fa796b
        71448bd9a803b59e1c7c19ee4a5663e829cf887849356cd5bf2cfd4c77be2c4b
        ece1f0d3da42caeaae3415030200308f885ea6847777a29412fd65f63764c80f
        9f69b773331e03918c0f4d06453159d04ad98a37a639395bf6b5f71d40f9a5",
    };
    /// ECDHE-RSA-AES256-SHA, TLS 1.0, Encrypt-then-MAC (chained IVs, 1/n-1 split).
    const OPENSSL_CBC10: Openssl12 = Openssl12 {
        cipher_suite: 0xc014,
        version: 0x0301,
        etm: true,
        client_random: "16e4d0f68a0f6a3b0dad8a04eb2a2bfa5d6f24a2ed03a82be61a8a7a0189406f",
        server_random: "3466367f8a28897f068562bd436cbd6ca58f78c5cf82c62e444f574e47524400",
        master_secret: "49ec6fb6903485a164d14c79d2b67bb590a48e50dd4bfdfde85b72165056b8a8b8b538d63f7658265a16e8ee21216f99",
        client: "
        1603010034d154d3feffffc78d285e182d5809ce7ed69cc229db363cd91fa7af
        7ceb5f5b9e90455f30bb89f92c272e763c91d03cd9403e8b8817030100248df0
        5489c77f89f55fb7b7f81e4c17b5794db89d3b365edf787f75ca57f3b8f1ad70
        c623170301003437811f7ab280142bb9803f4864f139be710dbc0c54e3221e15
        76edcc13063c0773abe55bc4dbc3e9920ad671a224d0abeefd81bb1503010024
        8dd274d6ae0e89f3a88baf69404eebba18f2970fac4230a0706f6cf60e001b3a
        47315e38",
        server: "
        1603010034d1017b843119e02de2d9f5f4f23c68e4d1c2319e44437dd3138435
        94ac83b4c1ea13266bef17210579d1a13f36bfb4112f9ea5dd17030100247f2e
        971ba6c4e6ab1110db14ff15399867079375bbfcb8f39d7925e7a067d96ff8e8
        017c170301003416d90ca08a4a25f142727cb8ef92a31178a323a85c4ed135de
        06d8655030869854312881b799d20f8f09f59f77439792b126460c1703010024
        5cf3ab6e81c7f003e62756d3bd30d9bca20706c2a8fb79038101a64d2cc3421b
        8a2b63d61703010024d10ad8aef739a64aebc0daeaaec0f01fbc04bdb46b0590
        290bf4343dc0f54e9561f1f21515030100244406698253acb06ad7dc46b12104
        3e9a9c3a3447845fb56c17db32a60cbfc7364ba082e1",
    };
    /// ECDHE-RSA-AES256-SHA, TLS 1.0, MAC-then-encrypt.
    const OPENSSL_CBC10MTE: Openssl12 = Openssl12 {
        cipher_suite: 0xc014,
        version: 0x0301,
        etm: false,
        client_random: "11dce3a32ead161bd20c89594ae08d9cd688656e63599c82ed55d0d8ea9147b5",
        server_random: "36642b64a08d5d5a84bf66520266b74987ba513da78d1674444f574e47524400",
        master_secret: "5c85d5bcad8b8ad9cdca237aab5517f43f450360061e9a73e695f69fbc3569c921af47e91d540d5935472388ce5bfe25",
        client: "
        160301003016d6e92961c253183e14e536e9f2c83133f90e7827913d905f646c
        29e233da7c44bea5d710490f6fbb56b2e20c7c5b8517030100204f4e30a0b35a
        1a8b67a636c66438b1ee3d6eb3819fa441ddba443172a5dac87e170301003070
        5d1e425a7e67cd2a7741981fcef725db61423a9bb988ce346638b6aad994c159
        be79c053276cfcd4c405ca5c1e5fff1503010020017a60fe689bb494f16e3aa8
        5d66b07cbd8c5cf57eb7ce31e113c88e982b7f09",
        server: "
        160301003008e81987f9aab7db5b72b870f62ae4faec4267371a8a854d798836
        5c9e31b92de99d3d35a4714582a4ef180642d5c72e170301002040980f22388f
        58da40a1ceaf8bfefe452a576c687b9cb28f8abbe07cbfbbe56b170301003006
        bffb8e2e76dcf5edf1f4504a1e8dd0f915692f547e921f2b0c093a9293a6dfea
        7684dd2e453e57d4fb8cb0b0a0e113150301002033ca364ff9ffa3021b2ce9cf
        ef9fde737d2d8857cd07364242b826911b8341c0",
    };

    #[test]
    fn openssl_tls12_and_older_conversations() {
        let cases = [
            (&OPENSSL_CHACHA12, "hello chacha\n"),
            (&OPENSSL_CBCETM12, "hello cbc etm\n"),
            (&OPENSSL_CBC256SHA256, "hello cbc no etm\n"),
            (&OPENSSL_CBC384, "hello sha384\n"),
            (&OPENSSL_CBC11, "hello tls11\n"),
            (&OPENSSL_CBC10, "hello tls10 first\nsecond line\n"),
            (&OPENSSL_CBC10MTE, "hello tls10 mte\n"),
        ];
        for (v, said) in cases {
            let keys = KeyLog::parse(
                format!("CLIENT_RANDOM {} {}\n", v.client_random, v.master_secret).as_bytes(),
            );
            let random = |s: &str| -> [u8; 32] { h(s).try_into().unwrap() };
            let ccs = record(CT_CHANGE_CIPHER_SPEC, v.version, &[1]);
            let mut client = client_hello(random(v.client_random));
            client.extend(&ccs);
            client.extend(h(v.client));
            let mut server =
                server_hello_with(random(v.server_random), v.cipher_suite, v.version, v.etm);
            server.extend(&ccs);
            server.extend(h(v.server));
            let mut conn = TlsDecryptor::new();
            let out = run(
                &mut conn,
                &keys,
                &[(Dir::ToServer, client), (Dir::ToClient, server)],
                61,
            );
            let what = format!("suite {:#06x} version {:#06x}", v.cipher_suite, v.version);
            let reversed: String = said
                .lines()
                .map(|l| l.chars().rev().collect::<String>() + "\n")
                .collect();
            assert_eq!(String::from_utf8_lossy(&out[0]), said, "{what}");
            assert_eq!(String::from_utf8_lossy(&out[1]), reversed, "{what}");
            assert_eq!(conn.stopped(Dir::ToServer), None, "{what}");
            assert_eq!(conn.stopped(Dir::ToClient), None, "{what}");
        }
    }

    // TLS_CHACHA20_POLY1305_SHA256 between OpenSSL 3.0 peers where the
    // client sent KeyUpdate with update_requested (`s_client` command `K`)
    // and the server answered with its own: each direction's records from
    // the first under the application secret on (two tickets first on the
    // server side).
    const OPENSSL_KEY_UPDATE_RANDOM: &str =
        "88ff029b3a8eef8a72d8668b0c0992e72b18866b8cc8dc7083939464638e6a00";
    const OPENSSL_KEY_UPDATE_CLIENT_SECRET: &str =
        "4e5a5edbfb4e0b94b731eb30f6a94ae047cee191d63a742afbcce1becf3714b8";
    const OPENSSL_KEY_UPDATE_SERVER_SECRET: &str =
        "34a3ba9cbea84670a303fa1b53c1b7e88471e1af56df0ecfc825471acab048a5";
    const OPENSSL_KEY_UPDATE_CLIENT: &str = "
        170303001f415c535ea9f3f13e014250b90e4ef752a5697d82df0ed56a9a2da7
        3ecf7f6317030300163845e95dbb666730009fd2c7466973a48e9c16a452e417
        0303001e8801beb2380c672c6bd08c942f425df140d516eb1fe3fabfb2acd417
        af3f170303001393a4de43ae472dd1c38c726a2b00d395f07c35";
    const OPENSSL_KEY_UPDATE_SERVER: &str = "
        17030300eae5fd0635395d976295b4ae17bfe21b91551b0df96390a92f1b66a1
        2cacb7d7dfbbfe11e662ad8a77822f4722ba9bb2be30f4ea1d2b4da5d4c97f69
        9a59348600cc67806fd32d4c9d4945167b77d63882ae459f30fefd04d1c8935a
        bfaea88f39476cf991165c04e5dfae27578f404e2f907a8259a134d31f88bfe6
        fe572299c9ee16033dda41c3a3c330d89635122ebfa15e271a77be81b7a916e5
        723826afa8209174179c4904d203f9c0f062801f7f337774b3a520c39c25a7b5
        c0101c093ef61ae2b3badd635b5187e660102af4022e4148f83937068d84e75e
        7aa39b084bdce9d305a04263b27a7317030300ead360f9710c74ee1c89b56932
        e76f715914df415aa1ed6308bb2fd0c67588cd5899e3ae4751151158fa3b1a7c
        ad875f018dc320dee54c13cfa19310e2a42a1578d2bd593b95c5015395ccc197
        9cac0298fbb8ceb9f606ab37d8b5f89879d2a6a9a392f850d364e0acff493cce
        2bb52ea2e3d0ec33fc76c183c57ced15f1829d926c9cfb7b038759686e40f8d6
        5c6f293a79674399d47425ec5fb4165eb9e7a95bfa9e391639986ce278950d4f
        d3f1b0fc52260b256e1ec97508bf94645f2c92ef4d52627ad835a7a41d1755fe
        135e9d6092ad25b0d61b21544681e16a0cfde3cac9a60398ccad0ff487471703
        03001fa0b4db696dce172d9610c5f48bbc372758b7db9cebdbcea91ea6272422
        2d111703030016b212ef6553471d818cb0ac28aef7b5117e9edb9281ae170303
        001e328c734a4e721fb8a5e8475e2fbed2a1acff8946a7ed3230362c7afc8db5
        170303001335298d997ef339b859a68accc740fa83d50139";

    #[test]
    fn openssl_tls13_key_update() {
        let r = OPENSSL_KEY_UPDATE_RANDOM;
        let keys = KeyLog::parse(
            format!(
                "CLIENT_TRAFFIC_SECRET_0 {r} {OPENSSL_KEY_UPDATE_CLIENT_SECRET}\nSERVER_TRAFFIC_SECRET_0 {r} {OPENSSL_KEY_UPDATE_SERVER_SECRET}\n"
            )
            .as_bytes(),
        );
        let mut client = client_hello(h(r).try_into().unwrap());
        client.extend(h(OPENSSL_KEY_UPDATE_CLIENT));
        let mut server = server_hello(0x1303, TLS13, false);
        server.extend(h(OPENSSL_KEY_UPDATE_SERVER));
        let mut conn = TlsDecryptor::new();
        let out = run(
            &mut conn,
            &keys,
            &[(Dir::ToServer, client), (Dir::ToClient, server)],
            100,
        );
        assert_eq!(out[0], b"before update\nafter update\n");
        assert_eq!(out[1], b"etadpu erofeb\netadpu retfa\n");
        // Data, KeyUpdate, data, alert / two tickets and the same.
        assert_eq!(conn.stats(Dir::ToServer).records, 4);
        assert_eq!(conn.stats(Dir::ToClient).records, 6);
        assert_eq!(conn.stats(Dir::ToClient).undecryptable, 0);
    }

    #[test]
    fn tls12_unsupported_and_mismatched() {
        let keys = KeyLog::parse(
            format!("CLIENT_RANDOM {} {}\n", "11".repeat(32), "5a".repeat(48)).as_bytes(),
        );
        let status = |cs: u16, version: u16| {
            let mut conn = TlsDecryptor::new();
            conn.feed(&keys, Dir::ToServer, &client_hello([0x11; 32]));
            conn.feed(&keys, Dir::ToClient, &server_hello(cs, version, false));
            conn.status()
        };
        // RC4-SHA, 3DES: not decrypted here.
        assert_eq!(
            status(0x0005, TLS12),
            DecryptStatus::UnsupportedCipherSuite(0x0005)
        );
        assert_eq!(
            status(0x000a, TLS12),
            DecryptStatus::UnsupportedCipherSuite(0x000a)
        );
        // GCM is TLS 1.2 only; TLS 1.3 suites only in TLS 1.3.
        assert_eq!(
            status(0xc02f, TLS10),
            DecryptStatus::UnsupportedCipherSuite(0xc02f)
        );
        assert_eq!(
            status(0x1301, TLS12),
            DecryptStatus::UnsupportedCipherSuite(0x1301)
        );
        assert_eq!(
            status(0xc02f, 0x0300),
            DecryptStatus::UnsupportedVersion(0x0300)
        );
        // A TLS 1.3 connection with only a TLS 1.2 master secret logged.
        assert_eq!(
            status(0x1301, TLS13),
            DecryptStatus::NoKeys {
                version: TLS13,
                cipher_suite: 0x1301
            }
        );
        assert!(is_supported_cipher_suite(0xc030));
        assert!(!is_supported_cipher_suite(0x0005));
    }

    #[test]
    fn tls12_tampered_record_stops_the_direction() {
        let master = [0x5a; 48];
        let keys = KeyLog::parse(
            format!("CLIENT_RANDOM {} {}\n", "11".repeat(32), "5a".repeat(48)).as_bytes(),
        );
        let mut c = Sealer::new(0xc02f, TLS12, false, &master, true);
        let mut conn = TlsDecryptor::new();
        conn.feed(&keys, Dir::ToServer, &client_hello([0x11; 32]));
        conn.feed(&keys, Dir::ToClient, &server_hello(0xc02f, TLS12, false));
        let mut stream = record(CT_CHANGE_CIPHER_SPEC, TLS12, &[1]);
        stream.extend(c.seal(CT_HANDSHAKE, &[20, 0, 0, 0]));
        let mut bad = c.seal(CT_APPLICATION_DATA, b"secret");
        *bad.last_mut().unwrap() ^= 1;
        stream.extend(bad);
        stream.extend(c.seal(CT_APPLICATION_DATA, b"more"));
        assert!(conn.feed(&keys, Dir::ToServer, &stream).is_empty());
        assert_eq!(conn.stopped(Dir::ToServer), Some(StopReason::DecryptFailed));
        assert_eq!(conn.stats(Dir::ToServer).undecryptable, 1);
        assert!(!conn.done());
    }

    #[test]
    fn not_tls_and_midstream() {
        let keys = KeyLog::new();
        let mut conn = TlsDecryptor::new();
        // Application data first: the capture began after the handshake.
        conn.feed(&keys, Dir::ToServer, &record(23, TLS12, &[0; 40]));
        assert_eq!(conn.status(), DecryptStatus::NoHandshake);
        assert!(conn.done());
        let mut conn = TlsDecryptor::new();
        conn.gap(Dir::ToServer);
        assert_eq!(conn.status(), DecryptStatus::NoHandshake);
        // A record claiming more than TLS allows.
        let mut conn = TlsDecryptor::new();
        conn.feed(&keys, Dir::ToClient, &[22, 3, 3, 0xff, 0xff]);
        assert_eq!(conn.status(), DecryptStatus::NoHandshake);
    }

    #[test]
    fn waiting_direction_is_bounded() {
        // The client talks on and on while the server never answers.
        let keys = KeyLog::new();
        let mut conn = TlsDecryptor::new();
        conn.feed(&keys, Dir::ToServer, &client_hello([1; 32]));
        let rec = record(23, TLS12, &[0; 16_000]);
        for _ in 0..20 {
            conn.feed(&keys, Dir::ToServer, &rec);
        }
        assert_eq!(conn.stopped(Dir::ToServer), Some(StopReason::BufferFull));
        assert_eq!(conn.status(), DecryptStatus::AwaitingHellos);
    }

    #[test]
    fn garbage_never_panics() {
        let keys = r8448_keylog(true);
        let mut seed = 0x9e37_79b9_u32;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed
        };
        let records = r8448_records();
        for round in 0..300 {
            let mut conn = TlsDecryptor::new();
            // Real records with bytes flipped, truncated or duplicated, plus
            // record-shaped noise.
            for (dir, rec) in &records {
                let mut rec = rec.clone();
                match next() % 4 {
                    0 => {
                        let i = next() as usize % rec.len();
                        rec[i] ^= 1 << (next() % 8);
                    }
                    1 => rec.truncate(next() as usize % rec.len()),
                    2 => rec.extend_from_within(..),
                    _ => {}
                }
                if round % 3 == 0 {
                    let n = next() as usize % 64;
                    let typ = 20 + (next() % 5) as u8;
                    let mut noise = vec![typ, 3, (next() % 5) as u8, 0, n as u8];
                    noise.extend((0..n).map(|_| next() as u8));
                    rec.extend(noise);
                }
                let _ = conn.feed(&keys, *dir, &rec);
                let _ = conn.status();
            }
        }
        for len in 0..200 {
            let mut conn = TlsDecryptor::new();
            let bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let _ = conn.feed(&keys, Dir::ToServer, &bytes);
            let _ = conn.feed(&keys, Dir::ToClient, &bytes);
        }
    }

    #[test]
    fn assembler_spans_records_and_zero_length_messages() {
        let mut a = HsAssembler::default();
        let mut done = Vec::new();
        // HelloRequest (empty), then a ClientHello split over three pieces.
        a.feed(&[0, 0, 0, 0, 1, 0], |t| t == 1, &mut done);
        a.feed(&[0, 3, 9], |t| t == 1, &mut done);
        a.feed(&[8, 7, 20, 0], |t| t == 1, &mut done);
        assert_eq!(done, [(0, None), (1, Some(vec![9, 8, 7]))]);
        a.feed(&[0, 1, 5], |_| false, &mut done);
        assert_eq!(done.last(), Some(&(20, None)));
    }
}
