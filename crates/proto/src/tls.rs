//! TLS handshake extraction from one direction of a reassembled TCP stream.
//!
//! A [`TlsReader`] per direction takes the stream bytes in order and reports
//! the cleartext hellos, and below TLS 1.3 the server's certificate chain
//! ([`Certificate`]), as [`TlsEvent`]s, whatever the TCP segmentation and
//! record fragmentation. It stops by itself once nothing more can be learnt
//! in the clear ([`TlsReader::done`]).
//!
//! The ClientHello and ServerHello walks are hand-written: they keep GREASE
//! values and extension order (for JA3/JA4), tolerate a malformed inner
//! extension by skipping it, and expose only the types of this module.
//!
//! ```
//! use telltale_proto::tls::{is_tls_start, TlsEvent, TlsReader};
//!
//! // ClientHello with no extensions, in one record.
//! let mut hello = vec![0x16, 3, 1, 0, 45, 1, 0, 0, 41, 3, 3];
//! hello.extend([0; 32]); // random
//! hello.extend([0, 0, 2, 0x13, 0x01, 1, 0]); // session id, one suite, null compression
//! assert!(is_tls_start(&hello));
//! let mut reader = TlsReader::new();
//! let events = reader.feed(&hello);
//! let TlsEvent::ClientHello(ch) = &events[0] else { panic!() };
//! assert_eq!(ch.cipher_suites, [0x1301]);
//! assert!(reader.done());
//! ```

use std::fmt::Write as _;

pub use crate::x509::Certificate;

/// Largest ClientHello or ServerHello body buffered (post-quantum key shares
/// make ClientHellos of 1.8 KB; padding can push them to 16 KB).
pub const MAX_HELLO_LEN: usize = 64 * 1024;

/// Largest record accepted: 2^14 plaintext plus the 2048 bytes of expansion
/// RFC 5246 allows for ciphertext.
pub const MAX_RECORD_LEN: usize = 16384 + 2048;

/// Largest server Certificate message buffered. Real chains are 3 to 6 KB,
/// rarely 15 KB; past the cap the certificates wholly inside it are reported
/// and the reader stops with [`TlsError::CertificatesTooLong`].
pub const MAX_CERTIFICATES_LEN: usize = 64 * 1024;

/// Most certificates reported from one chain (real chains hold 2 to 5), so a
/// message of thousands of tiny entries cannot inflate into thousands of
/// events' worth of strings.
pub const MAX_CHAIN_CERTS: usize = 32;

const CONTENT_CHANGE_CIPHER_SPEC: u8 = 20;
const CONTENT_ALERT: u8 = 21;
const CONTENT_HANDSHAKE: u8 = 22;
const CONTENT_APPLICATION_DATA: u8 = 23;
const CONTENT_HEARTBEAT: u8 = 24;

const HS_CLIENT_HELLO: u8 = 1;
const HS_SERVER_HELLO: u8 = 2;
const HS_CERTIFICATE: u8 = 11;
const HS_SERVER_HELLO_DONE: u8 = 14;

/// The first version whose server certificate is encrypted.
const TLS13: u16 = 0x0304;

const EXT_SERVER_NAME: u16 = 0;
const EXT_SUPPORTED_GROUPS: u16 = 10;
const EXT_EC_POINT_FORMATS: u16 = 11;
const EXT_SIGNATURE_ALGORITHMS: u16 = 13;
const EXT_ALPN: u16 = 16;
const EXT_SUPPORTED_VERSIONS: u16 = 43;
const EXT_KEY_SHARE: u16 = 51;
const EXT_ENCRYPTED_CLIENT_HELLO: u16 = 0xfe0d;

/// ServerHello.random of a HelloRetryRequest (RFC 8446 §4.1.3).
const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// Why a [`TlsReader`] gave up on its stream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// The bytes at this stream offset are not a TLS record header.
    #[error("not a TLS record at stream offset {offset}")]
    NotTls {
        /// Stream offset of the bad header.
        offset: u64,
    },
    /// A record longer than [`MAX_RECORD_LEN`].
    #[error("TLS record of {len} bytes at stream offset {offset} is too long")]
    RecordTooLong {
        /// Stream offset of the record header.
        offset: u64,
        /// Length the header announced.
        len: usize,
    },
    /// A hello longer than [`MAX_HELLO_LEN`].
    #[error("TLS hello of {len} bytes is longer than the {MAX_HELLO_LEN} buffered")]
    HelloTooLong {
        /// Length the handshake header announced.
        len: usize,
    },
    /// A hello whose structure does not parse.
    #[error("malformed TLS {what}")]
    Malformed {
        /// Which message.
        what: &'static str,
    },
    /// The server's Certificate message was longer than
    /// [`MAX_CERTIFICATES_LEN`] or held more than [`MAX_CHAIN_CERTS`]
    /// certificates; those before the cap were reported.
    #[error(
        "TLS certificate chain of {len} bytes is over the cap of {MAX_CERTIFICATES_LEN} bytes or {MAX_CHAIN_CERTS} certificates"
    )]
    CertificatesTooLong {
        /// Length the handshake header announced.
        len: usize,
    },
    /// Stream bytes were lost before the handshake was read.
    #[error("stream gap before the TLS handshake was complete")]
    Gap,
}

/// What a [`TlsReader`] learnt from the stream.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
// One event per hello or chain, short-lived in a small Vec: boxing would
// cost an allocation for nothing.
#[allow(clippy::large_enum_variant)]
#[non_exhaustive]
pub enum TlsEvent {
    /// The client's first hello.
    ClientHello(ClientHello),
    /// A ServerHello (also a HelloRetryRequest, see [`ServerHello::hello_retry_request`]).
    ServerHello(ServerHello),
    /// A cleartext alert before the handshake completed (e.g. a server
    /// refusing the hello).
    Alert {
        /// 1 warning, 2 fatal.
        level: u8,
        /// Alert description (40 handshake_failure, 112 unrecognized_name, ...).
        description: u8,
    },
    /// An SSL 2.0-format ClientHello (recognised only, no extensions exist there).
    Sslv2ClientHello {
        /// Highest version the client offered.
        version: u16,
    },
    /// The server's certificate chain (TLS 1.2 and below; TLS 1.3 sends it
    /// encrypted), in the order sent: normally the server's own (leaf)
    /// certificate first. Never empty; at most [`MAX_CHAIN_CERTS`].
    Certificates(Vec<Certificate>),
}

/// The fields of a ClientHello that identify the client (and feed JA3/JA4).
/// Lists are in wire order, GREASE values included.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ClientHello {
    /// Version field of the record that carried the hello's first byte.
    pub record_version: u16,
    /// `legacy_version` of the hello (0x0303 for TLS 1.2 and 1.3).
    pub legacy_version: u16,
    /// First host_name of the server_name extension, escaped for printing
    /// (lossy UTF-8; control characters and `\` escaped).
    pub sni: Option<String>,
    /// ALPN protocol names, escaped like `sni`.
    pub alpn: Vec<String>,
    /// ALPN protocol names as sent (unescaped bytes), in wire order.
    #[serde(skip)]
    pub alpn_raw: Vec<Vec<u8>>,
    /// supported_versions extension.
    pub supported_versions: Vec<u16>,
    /// Offered cipher suites.
    pub cipher_suites: Vec<u16>,
    /// Offered compression methods.
    pub compression_methods: Vec<u8>,
    /// Extension types in order.
    pub extensions: Vec<u16>,
    /// supported_groups (elliptic curves) extension.
    pub supported_groups: Vec<u16>,
    /// ec_point_formats extension.
    pub ec_point_formats: Vec<u8>,
    /// signature_algorithms extension.
    pub signature_algorithms: Vec<u16>,
    /// Groups of the key_share entries (shows post-quantum hybrids).
    pub key_share_groups: Vec<u16>,
    /// The encrypted_client_hello extension (0xfe0d) is present: the real
    /// SNI is encrypted and `sni` is the public (outer) name.
    pub ech: bool,
}

/// The fields of a ServerHello that describe what the server chose.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ServerHello {
    /// `legacy_version` of the hello.
    pub legacy_version: u16,
    /// supported_versions extension: the version really negotiated (TLS 1.3).
    pub selected_version: Option<u16>,
    /// Chosen cipher suite.
    pub cipher_suite: u16,
    /// Chosen compression method.
    pub compression_method: u8,
    /// Chosen ALPN protocol (TLS 1.2 and below; 1.3 sends it encrypted).
    pub alpn: Option<String>,
    /// Extension types in order.
    pub extensions: Vec<u16>,
    /// Group of the key_share extension.
    pub key_share_group: Option<u16>,
    /// This is a HelloRetryRequest: the client will send a second ClientHello.
    pub hello_retry_request: bool,
}

impl ServerHello {
    /// The negotiated version: `selected_version` if present, else `legacy_version`.
    pub fn version(&self) -> u16 {
        self.selected_version.unwrap_or(self.legacy_version)
    }
}

#[derive(Debug, Clone, Copy)]
struct HsMessage {
    typ: u8,
    len: usize,
    remaining: usize,
    keep: bool,
}

/// Reads the TLS handshake out of one direction of a TCP stream.
///
/// Call [`feed`](Self::feed) with the stream bytes in order, [`gap`](Self::gap)
/// when bytes were lost, and stop feeding once [`done`](Self::done) is true.
/// It buffers at most one record header, one handshake header and one hello
/// body ([`MAX_HELLO_LEN`]) or certificate chain ([`MAX_CERTIFICATES_LEN`]).
///
/// It is done after the first ClientHello; after a TLS 1.3 ServerHello that
/// is not a HelloRetryRequest; after a ServerHello below TLS 1.3, once the
/// rest of the server's cleartext flight is read: at ServerHelloDone (the
/// Certificate before it is reported as [`TlsEvent::Certificates`]); at the
/// first ChangeCipherSpec (except the compatibility one after a
/// HelloRetryRequest) or application-data record (a resumed session goes
/// straight there); after an alert, on a gap and on an error (the
/// certificate cap among them).
#[derive(Debug, Clone, Default)]
pub struct TlsReader {
    offset: u64,
    records: u64,
    rec_hdr: [u8; 5],
    rec_hdr_len: usize,
    // Content type and bytes left of the record being read, if inside one.
    record: Option<(u8, usize)>,
    record_version: u16,
    alert: Vec<u8>,
    hs_hdr: [u8; 4],
    hs_hdr_len: usize,
    hs: Option<HsMessage>,
    hs_record_version: u16,
    hs_buf: Vec<u8>,
    hrr_seen: bool,
    // A ServerHello below TLS 1.3 was read: the server's flight goes on in
    // the clear up to ServerHelloDone.
    server_flight: bool,
    certs_seen: bool,
    done: bool,
    error: Option<TlsError>,
}

impl TlsReader {
    /// A reader at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add the next bytes of the stream; returns what they completed.
    /// Bytes fed after [`done`](Self::done) are ignored.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<TlsEvent> {
        let mut events = Vec::new();
        let mut rest = bytes;
        while !rest.is_empty() && !self.done {
            let before = rest.len();
            match self.record {
                None => self.record_header(&mut rest, &mut events),
                Some((typ, remaining)) => {
                    let (payload, tail) = rest.split_at(remaining.min(rest.len()));
                    rest = tail;
                    let left = remaining - payload.len();
                    self.record = Some((typ, left));
                    self.record_payload(typ, payload, &mut events);
                    if left == 0 {
                        self.record = None;
                        self.record_end(typ, &mut events);
                    }
                }
            }
            self.offset = self.offset.saturating_add((before - rest.len()) as u64);
        }
        events
    }

    /// Tell the reader that `len` bytes of the stream were lost. A handshake
    /// cannot be trusted across a hole, so an unfinished reader gives up
    /// ([`error`](Self::error) becomes [`TlsError::Gap`]).
    pub fn gap(&mut self, len: u64) {
        self.offset = self.offset.saturating_add(len);
        if !self.done {
            self.fail(TlsError::Gap);
        }
    }

    /// Nothing more can be learnt from this stream: stop feeding it.
    pub fn done(&self) -> bool {
        self.done
    }

    /// Why the reader gave up, if it did.
    pub fn error(&self) -> Option<&TlsError> {
        self.error.as_ref()
    }

    /// Stream bytes consumed so far (gaps included).
    pub fn offset(&self) -> u64 {
        self.offset
    }

    fn fail(&mut self, e: TlsError) {
        self.error = Some(e);
        self.done = true;
        self.hs_buf = Vec::new();
    }

    fn record_header(&mut self, rest: &mut &[u8], events: &mut Vec<TlsEvent>) {
        let start = self.offset.saturating_sub(self.rec_hdr_len as u64);
        let n = (5 - self.rec_hdr_len).min(rest.len());
        let (head, tail) = rest.split_at(n);
        self.rec_hdr[self.rec_hdr_len..self.rec_hdr_len + n].copy_from_slice(head);
        self.rec_hdr_len += n;
        *rest = tail;
        if self.rec_hdr_len < 5 {
            return;
        }
        self.rec_hdr_len = 0;
        let [typ, major, minor, hi, lo] = self.rec_hdr;
        if self.records == 0 && typ & 0x80 != 0 {
            match sslv2_client_hello_version(&self.rec_hdr) {
                Some(version) => {
                    events.push(TlsEvent::Sslv2ClientHello { version });
                    self.done = true;
                }
                None => self.fail(TlsError::NotTls { offset: start }),
            }
            return;
        }
        self.records += 1;
        let len = usize::from(u16::from_be_bytes([hi, lo]));
        if !(CONTENT_CHANGE_CIPHER_SPEC..=CONTENT_HEARTBEAT).contains(&typ) || major != 3 {
            return self.fail(TlsError::NotTls { offset: start });
        }
        if len > MAX_RECORD_LEN {
            return self.fail(TlsError::RecordTooLong { offset: start, len });
        }
        self.record_version = u16::from_be_bytes([major, minor]);
        match typ {
            CONTENT_CHANGE_CIPHER_SPEC if !self.hrr_seen => self.done = true,
            CONTENT_APPLICATION_DATA => self.done = true,
            _ => {}
        }
        if self.done {
            return;
        }
        self.alert.clear();
        self.record = Some((typ, len));
        if len == 0 {
            self.record = None;
            self.record_end(typ, events);
        }
    }

    fn record_payload(&mut self, typ: u8, payload: &[u8], events: &mut Vec<TlsEvent>) {
        match typ {
            CONTENT_HANDSHAKE => self.handshake_bytes(payload, events),
            CONTENT_ALERT => {
                let room = 2usize.saturating_sub(self.alert.len()).min(payload.len());
                self.alert
                    .extend_from_slice(payload.get(..room).unwrap_or_default());
            }
            _ => {}
        }
    }

    fn record_end(&mut self, typ: u8, events: &mut Vec<TlsEvent>) {
        if typ == CONTENT_ALERT {
            if let [level, description] = self.alert[..] {
                events.push(TlsEvent::Alert { level, description });
            }
            self.done = true;
        }
    }

    fn handshake_bytes(&mut self, mut data: &[u8], events: &mut Vec<TlsEvent>) {
        while !data.is_empty() && !self.done {
            let Some(mut m) = self.hs else {
                // Common case: the whole message is in this record, parse in place.
                if self.hs_hdr_len == 0
                    && let Some((&[typ, a, b, c], body)) = data.split_first_chunk::<4>()
                    && let Some((msg, tail)) = body.split_at_checked(u24(a, b, c))
                {
                    self.hs_record_version = self.record_version;
                    self.handshake_message(typ, msg, events);
                    data = tail;
                    continue;
                }
                let n = (4 - self.hs_hdr_len).min(data.len());
                let (head, tail) = data.split_at(n);
                if self.hs_hdr_len == 0 {
                    self.hs_record_version = self.record_version;
                }
                self.hs_hdr[self.hs_hdr_len..self.hs_hdr_len + n].copy_from_slice(head);
                self.hs_hdr_len += n;
                data = tail;
                if self.hs_hdr_len == 4 {
                    self.hs_hdr_len = 0;
                    let [typ, a, b, c] = self.hs_hdr;
                    self.begin_message(typ, u24(a, b, c), events);
                }
                continue;
            };
            let n = m.remaining.min(data.len());
            let (part, tail) = data.split_at(n);
            if m.keep {
                // Only a certificate chain can reach the cap: a longer hello
                // was refused at its header.
                let room = MAX_CERTIFICATES_LEN.saturating_sub(self.hs_buf.len());
                self.hs_buf
                    .extend_from_slice(part.get(..room.min(n)).unwrap_or_default());
            }
            m.remaining -= n;
            data = tail;
            self.hs = Some(m);
            if m.keep && m.remaining > 0 && self.hs_buf.len() >= MAX_CERTIFICATES_LEN {
                // Report the leaf now rather than wait for bytes that a
                // hostile length may never deliver.
                self.hs = None;
                let body = std::mem::take(&mut self.hs_buf);
                self.certificates(&body, Some(m.len), events);
                continue;
            }
            if m.remaining == 0 {
                self.hs = None;
                if m.keep {
                    let body = std::mem::take(&mut self.hs_buf);
                    self.handshake_message(m.typ, &body, events);
                }
            }
        }
    }

    fn begin_message(&mut self, typ: u8, len: usize, events: &mut Vec<TlsEvent>) {
        let hello = matches!(typ, HS_CLIENT_HELLO | HS_SERVER_HELLO);
        if hello && len > MAX_HELLO_LEN {
            return self.fail(TlsError::HelloTooLong { len });
        }
        let keep = hello || (typ == HS_CERTIFICATE && self.wants_certificates());
        if len == 0 {
            return self.handshake_message(typ, &[], events);
        }
        if keep {
            // Announced lengths are hostile: grow with the bytes that arrive.
            self.hs_buf = Vec::with_capacity(len.min(4096));
        }
        self.hs = Some(HsMessage {
            typ,
            len,
            remaining: len,
            keep,
        });
    }

    fn wants_certificates(&self) -> bool {
        self.server_flight && !self.certs_seen
    }

    /// Reports the chain in a Certificate body (`capped_len`: the message's
    /// announced length when `body` is only its first
    /// [`MAX_CERTIFICATES_LEN`] bytes).
    fn certificates(&mut self, body: &[u8], capped_len: Option<usize>, events: &mut Vec<TlsEvent>) {
        self.certs_seen = true;
        let (certs, more) = parse_certificate_list(body);
        if !certs.is_empty() {
            events.push(TlsEvent::Certificates(certs));
        }
        if capped_len.is_some() || more {
            self.fail(TlsError::CertificatesTooLong {
                len: capped_len.unwrap_or(body.len()),
            });
        }
    }

    fn handshake_message(&mut self, typ: u8, body: &[u8], events: &mut Vec<TlsEvent>) {
        match typ {
            HS_CLIENT_HELLO => match parse_client_hello(body) {
                Some(mut ch) => {
                    ch.record_version = self.hs_record_version;
                    events.push(TlsEvent::ClientHello(ch));
                    self.done = true;
                }
                None => self.fail(TlsError::Malformed {
                    what: "ClientHello",
                }),
            },
            HS_SERVER_HELLO if !self.server_flight => match parse_server_hello(body) {
                Some(sh) => {
                    self.hrr_seen |= sh.hello_retry_request;
                    if !sh.hello_retry_request {
                        // Draft and future versions sort above 0x0304 and
                        // encrypt like TLS 1.3.
                        if sh.version() < TLS13 {
                            self.server_flight = true;
                        } else {
                            self.done = true;
                        }
                    }
                    events.push(TlsEvent::ServerHello(sh));
                }
                None => self.fail(TlsError::Malformed {
                    what: "ServerHello",
                }),
            },
            HS_CERTIFICATE if self.wants_certificates() => self.certificates(body, None, events),
            HS_SERVER_HELLO_DONE if self.server_flight => self.done = true,
            _ => {}
        }
    }
}

fn u24(a: u8, b: u8, c: u8) -> usize {
    (usize::from(a) << 16) | (usize::from(b) << 8) | usize::from(c)
}

/// SSL 2.0 record: 2-byte length with the top bit set, then
/// msg_type 1 (CLIENT-HELLO) and the offered version.
fn sslv2_client_hello_version(h: &[u8; 5]) -> Option<u16> {
    let [b0, b1, msg, major, minor] = *h;
    let len = (usize::from(b0 & 0x7f) << 8) | usize::from(b1);
    let version = u16::from_be_bytes([major, minor]);
    let known = version == 0x0002 || (0x0300..=0x0303).contains(&version);
    (b0 & 0x80 != 0 && msg == 1 && len >= 9 && known).then_some(version)
}

/// Does this look like the first bytes a TLS client sends? A handshake record
/// (0x16, version 3.0 to 3.4, a plausible length) whose first message is a
/// ClientHello, checked as far as the bytes go (at least 3 are needed); or an
/// SSL 2.0-format ClientHello (at least 5 bytes).
pub fn is_tls_start(bytes: &[u8]) -> bool {
    match bytes {
        [CONTENT_HANDSHAKE, 3, minor, rest @ ..] if *minor <= 4 => {
            let len_ok = match rest {
                [hi, lo, ..] => {
                    (1..=MAX_RECORD_LEN).contains(&usize::from(u16::from_be_bytes([*hi, *lo])))
                }
                _ => true,
            };
            len_ok && rest.get(2).is_none_or(|&t| t == HS_CLIENT_HELLO)
        }
        [a, b, c, d, e, ..] if a & 0x80 != 0 => {
            sslv2_client_hello_version(&[*a, *b, *c, *d, *e]).is_some()
        }
        _ => false,
    }
}

/// Is this a GREASE value (RFC 8701: 0x0a0a, 0x1a1a, ... 0xfafa)?
pub fn is_grease(v: u16) -> bool {
    let [hi, lo] = v.to_be_bytes();
    hi == lo && lo & 0x0f == 0x0a
}

/// Human name of a protocol version: "SSLv3", "TLS 1.0" ... "TLS 1.3",
/// "TLS 1.3 draft 28" for 0x7f1c, "DTLS 1.2", "GREASE", else "0x...." (hex).
pub fn version_name(v: u16) -> String {
    match v {
        0x0002 | 0x0200 => "SSLv2".into(),
        0x0300 => "SSLv3".into(),
        0x0301 => "TLS 1.0".into(),
        0x0302 => "TLS 1.1".into(),
        0x0303 => "TLS 1.2".into(),
        0x0304 => "TLS 1.3".into(),
        0xfeff => "DTLS 1.0".into(),
        0xfefd => "DTLS 1.2".into(),
        0xfefc => "DTLS 1.3".into(),
        0x7f00..=0x7fff => format!("TLS 1.3 draft {}", v & 0xff),
        v if is_grease(v) => "GREASE".into(),
        v => format!("0x{v:04x}"),
    }
}

/// Lossy UTF-8 with control characters and `\` escaped, so a hostile name is
/// safe to print and unambiguous.
fn printable(bytes: &[u8]) -> String {
    escape_control(&String::from_utf8_lossy(bytes))
}

/// `s` with control characters (as `\xNN`) and `\` escaped.
pub(crate) fn escape_control(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

/// A bounds-checked reader over a handshake body.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, tail) = self.0.split_at_checked(n)?;
        self.0 = tail;
        Some(head)
    }

    fn u8(&mut self) -> Option<u8> {
        let (&b, tail) = self.0.split_first()?;
        self.0 = tail;
        Some(b)
    }

    fn u16(&mut self) -> Option<u16> {
        let (b, tail) = self.0.split_first_chunk::<2>()?;
        self.0 = tail;
        Some(u16::from_be_bytes(*b))
    }

    fn vec8(&mut self) -> Option<&'a [u8]> {
        let n = self.u8()?;
        self.take(usize::from(n))
    }

    fn vec16(&mut self) -> Option<&'a [u8]> {
        let n = self.u16()?;
        self.take(usize::from(n))
    }

    fn u24(&mut self) -> Option<usize> {
        let (&[a, b, c], tail) = self.0.split_first_chunk::<3>()?;
        self.0 = tail;
        Some(u24(a, b, c))
    }

    fn vec24(&mut self) -> Option<&'a [u8]> {
        let n = self.u24()?;
        self.take(n)
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn u16_list(b: &[u8]) -> Vec<u16> {
    b.chunks_exact(2)
        .map(|c| {
            u16::from_be_bytes([
                c.first().copied().unwrap_or(0),
                c.get(1).copied().unwrap_or(0),
            ])
        })
        .collect()
}

/// Walk the extensions block, calling `f` with each (type, data); `None` if
/// the block's own framing is broken.
fn walk_extensions<'a>(c: &mut Cursor<'a>, mut f: impl FnMut(u16, &'a [u8])) -> Option<()> {
    if c.is_empty() {
        return Some(());
    }
    let mut exts = Cursor(c.vec16()?);
    while !exts.is_empty() {
        let typ = exts.u16()?;
        let data = exts.vec16()?;
        f(typ, data);
    }
    Some(())
}

/// Parses a ClientHello handshake body (after the 4-byte handshake header),
/// wherever it came from: a TLS record stream or QUIC CRYPTO frames.
/// `record_version` is left 0 (QUIC has no records). `None` when the body is
/// too malformed to hold a hello.
pub fn parse_client_hello(body: &[u8]) -> Option<ClientHello> {
    let mut c = Cursor(body);
    let mut ch = ClientHello {
        legacy_version: c.u16()?,
        ..ClientHello::default()
    };
    c.take(32)?;
    c.vec8()?; // session id
    ch.cipher_suites = u16_list(c.vec16()?);
    ch.compression_methods = c.vec8()?.to_vec();
    walk_extensions(&mut c, |typ, data| {
        ch.extensions.push(typ);
        // A malformed inner extension is skipped: the hello still identifies
        // the client, and servers differ in what they tolerate.
        let mut d = Cursor(data);
        match typ {
            EXT_SERVER_NAME if ch.sni.is_none() => ch.sni = parse_sni(&mut d),
            EXT_ALPN => {
                ch.alpn_raw = parse_alpn_raw(&mut d).unwrap_or_default();
                ch.alpn = ch.alpn_raw.iter().map(|a| printable(a)).collect();
            }
            EXT_SUPPORTED_VERSIONS => {
                ch.supported_versions = d.vec8().map(u16_list).unwrap_or_default()
            }
            EXT_SUPPORTED_GROUPS => {
                ch.supported_groups = d.vec16().map(u16_list).unwrap_or_default()
            }
            EXT_EC_POINT_FORMATS => {
                ch.ec_point_formats = d.vec8().map(<[u8]>::to_vec).unwrap_or_default()
            }
            EXT_SIGNATURE_ALGORITHMS => {
                ch.signature_algorithms = d.vec16().map(u16_list).unwrap_or_default();
            }
            EXT_KEY_SHARE => ch.key_share_groups = parse_key_share_groups(&mut d),
            EXT_ENCRYPTED_CLIENT_HELLO => ch.ech = true,
            _ => {}
        }
    })?;
    Some(ch)
}

fn parse_sni(d: &mut Cursor<'_>) -> Option<String> {
    let mut list = Cursor(d.vec16()?);
    while !list.is_empty() {
        let typ = list.u8()?;
        let name = list.vec16()?;
        if typ == 0 && !name.is_empty() {
            return Some(printable(name));
        }
    }
    None
}

/// ALPN names as sent; JA4 needs the raw first and last bytes.
fn parse_alpn_raw(d: &mut Cursor<'_>) -> Option<Vec<Vec<u8>>> {
    let mut list = Cursor(d.vec16()?);
    let mut out = Vec::new();
    while !list.is_empty() && out.len() < 64 {
        out.push(list.vec8()?.to_vec());
    }
    Some(out)
}

fn parse_alpn(d: &mut Cursor<'_>) -> Option<Vec<String>> {
    let mut list = Cursor(d.vec16()?);
    let mut out = Vec::new();
    while !list.is_empty() {
        out.push(printable(list.vec8()?));
    }
    Some(out)
}

fn parse_key_share_groups(d: &mut Cursor<'_>) -> Vec<u16> {
    let mut out = Vec::new();
    let Some(entries) = d.vec16() else {
        return out;
    };
    let mut list = Cursor(entries);
    while let (Some(group), Some(_)) = (list.u16(), list.vec16()) {
        out.push(group);
    }
    out
}

/// The certificates of a TLS 1.2-and-below Certificate body, in order, and
/// whether entries beyond [`MAX_CHAIN_CERTS`] were left out. `body` may be a
/// prefix of the message (the cap): entries wholly inside it are read.
fn parse_certificate_list(body: &[u8]) -> (Vec<Certificate>, bool) {
    let mut c = Cursor(body);
    let Some(list_len) = c.u24() else {
        return (Vec::new(), false);
    };
    let mut list = Cursor(c.0.get(..list_len).unwrap_or(c.0));
    let mut out = Vec::new();
    while let Some(der) = list.vec24() {
        if out.len() == MAX_CHAIN_CERTS {
            return (out, true);
        }
        out.push(Certificate::from_der(der));
    }
    (out, false)
}

/// Parses a ServerHello handshake body (after the 4-byte handshake header).
pub fn parse_server_hello(body: &[u8]) -> Option<ServerHello> {
    let mut c = Cursor(body);
    let mut sh = ServerHello {
        legacy_version: c.u16()?,
        ..ServerHello::default()
    };
    sh.hello_retry_request = c.take(32)? == HRR_RANDOM;
    c.vec8()?; // session id
    sh.cipher_suite = c.u16()?;
    sh.compression_method = c.u8()?;
    walk_extensions(&mut c, |typ, data| {
        sh.extensions.push(typ);
        let mut d = Cursor(data);
        match typ {
            EXT_SUPPORTED_VERSIONS => sh.selected_version = d.u16(),
            EXT_ALPN => sh.alpn = parse_alpn(&mut d).and_then(|v| v.into_iter().next()),
            EXT_KEY_SHARE => sh.key_share_group = d.u16(),
            _ => {}
        }
    })?;
    Some(sh)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ext(typ: u16, data: &[u8]) -> Vec<u8> {
        let mut v = typ.to_be_bytes().to_vec();
        v.extend((data.len() as u16).to_be_bytes());
        v.extend(data);
        v
    }

    fn vec16(data: &[u8]) -> Vec<u8> {
        let mut v = (data.len() as u16).to_be_bytes().to_vec();
        v.extend(data);
        v
    }

    fn handshake(typ: u8, body: &[u8]) -> Vec<u8> {
        let len = body.len() as u32;
        let mut v = vec![typ, (len >> 16) as u8, (len >> 8) as u8, len as u8];
        v.extend(body);
        v
    }

    fn records(typ: u8, version: u16, payload: &[u8], max: usize) -> Vec<u8> {
        let mut v = Vec::new();
        for part in payload.chunks(max) {
            v.push(typ);
            v.extend(version.to_be_bytes());
            v.extend((part.len() as u16).to_be_bytes());
            v.extend(part);
        }
        v
    }

    /// A Chrome-shaped ClientHello body: GREASE, SNI, ALPN, versions,
    /// groups with an ML-KEM hybrid key share, ECH.
    fn client_hello_body() -> Vec<u8> {
        let mut b = vec![0x03, 0x03];
        b.extend((0u8..32).collect::<Vec<_>>()); // random
        b.push(32);
        b.extend([0xee; 32]); // session id
        b.extend(vec16(&[
            0x7a, 0x7a, 0x13, 0x01, 0x13, 0x02, 0xc0, 0x2b, 0x00, 0x9c,
        ]));
        b.extend([1, 0]); // compression: null
        let mut exts = Vec::new();
        exts.extend(ext(0x0a0a, &[]));
        let mut sni = vec![0];
        sni.extend(vec16(b"www.example.com"));
        exts.extend(ext(0, &vec16(&sni)));
        exts.extend(ext(23, &[]));
        exts.extend(ext(
            10,
            &vec16(&[0x2a, 0x2a, 0x11, 0xec, 0x00, 0x1d, 0x00, 0x17]),
        ));
        exts.extend(ext(11, &[1, 0]));
        exts.extend(ext(13, &vec16(&[0x04, 0x03, 0x08, 0x04, 0x04, 0x01])));
        exts.extend(ext(
            16,
            &vec16(&[
                2, b'h', b'2', 8, b'h', b't', b't', b'p', b'/', b'1', b'.', b'1',
            ]),
        ));
        let mut ks = Vec::new();
        ks.extend([0x2a, 0x2a, 0, 1, 0]);
        ks.extend([0x11, 0xec]);
        ks.extend(vec16(&[0x55; 1216]));
        ks.extend([0x00, 0x1d]);
        ks.extend(vec16(&[0x66; 32]));
        exts.extend(ext(51, &vec16(&ks)));
        exts.extend(ext(43, &[6, 0x3a, 0x3a, 0x03, 0x04, 0x03, 0x03]));
        exts.extend(ext(0xfe0d, &[0, 0, 1, 0, 1, 0x42]));
        exts.extend(ext(0x1a1a, &[0]));
        b.extend(vec16(&exts));
        b
    }

    fn expected_client_hello() -> ClientHello {
        ClientHello {
            record_version: 0x0301,
            legacy_version: 0x0303,
            sni: Some("www.example.com".into()),
            alpn: vec!["h2".into(), "http/1.1".into()],
            alpn_raw: vec![b"h2".to_vec(), b"http/1.1".to_vec()],
            supported_versions: vec![0x3a3a, 0x0304, 0x0303],
            cipher_suites: vec![0x7a7a, 0x1301, 0x1302, 0xc02b, 0x009c],
            compression_methods: vec![0],
            extensions: vec![0x0a0a, 0, 23, 10, 11, 13, 16, 51, 43, 0xfe0d, 0x1a1a],
            supported_groups: vec![0x2a2a, 0x11ec, 0x001d, 0x0017],
            ec_point_formats: vec![0],
            signature_algorithms: vec![0x0403, 0x0804, 0x0401],
            key_share_groups: vec![0x2a2a, 0x11ec, 0x001d],
            ech: true,
        }
    }

    fn feed_all(r: &mut TlsReader, chunks: &[&[u8]]) -> Vec<TlsEvent> {
        chunks.iter().flat_map(|c| r.feed(c)).collect()
    }

    #[test]
    fn client_hello_any_split_into_two_chunks() {
        let stream = records(22, 0x0301, &handshake(1, &client_hello_body()), 16384);
        assert!(is_tls_start(&stream));
        let want = vec![TlsEvent::ClientHello(expected_client_hello())];
        for cut in 0..=stream.len() {
            let mut r = TlsReader::new();
            let got = feed_all(&mut r, &[&stream[..cut], &stream[cut..]]);
            assert_eq!(got, want, "cut at {cut}");
            assert!(r.done());
            assert_eq!(r.error(), None);
        }
    }

    #[test]
    fn client_hello_split_over_records_and_byte_by_byte() {
        let hs = handshake(1, &client_hello_body());
        // Two records, the second one starting mid-message; then 1-byte records
        // (a DPI-evasion trick).
        for max in [hs.len() / 2 + 1, 700, 1] {
            let stream = records(22, 0x0301, &hs, max);
            let mut r = TlsReader::new();
            let got = feed_all(&mut r, &[&stream]);
            assert_eq!(
                got,
                [TlsEvent::ClientHello(expected_client_hello())],
                "records of {max}"
            );
            let mut r = TlsReader::new();
            let mut got = Vec::new();
            for b in &stream {
                got.extend(r.feed(std::slice::from_ref(b)));
            }
            assert_eq!(got, [TlsEvent::ClientHello(expected_client_hello())]);
        }
    }

    #[test]
    fn agrees_with_tls_parser() {
        let hs = handshake(1, &client_hello_body());
        let (_, msg) = tls_parser::parse_tls_message_handshake(&hs).unwrap();
        let tls_parser::TlsMessage::Handshake(tls_parser::TlsMessageHandshake::ClientHello(ch)) =
            msg
        else {
            panic!("not a ClientHello");
        };
        let ours = expected_client_hello();
        let suites: Vec<u16> = ch.ciphers.iter().map(|c| c.0).collect();
        assert_eq!(suites, ours.cipher_suites);
        let (_, exts) = tls_parser::parse_tls_client_hello_extensions(ch.ext.unwrap()).unwrap();
        // tls-parser folds every GREASE type into 0xfafa; take the value it kept.
        let types: Vec<u16> = exts
            .iter()
            .map(|e| match e {
                tls_parser::TlsExtension::Grease(v, _) => *v,
                e => u16::from(tls_parser::TlsExtensionType::from(e)),
            })
            .collect();
        assert_eq!(types, ours.extensions);
        assert!(exts.iter().any(
            |e| matches!(e, tls_parser::TlsExtension::SNI(v) if v[0].1 == b"www.example.com")
        ));
    }

    #[test]
    fn several_messages_in_one_record() {
        // A HelloRequest (empty) ahead of the ClientHello, both in one record.
        let mut payload = handshake(0, &[]);
        payload.extend(handshake(1, &client_hello_body()));
        let stream = records(22, 0x0303, &payload, 16384);
        let mut r = TlsReader::new();
        let got = r.feed(&stream);
        let mut want = expected_client_hello();
        want.record_version = 0x0303;
        assert_eq!(got, [TlsEvent::ClientHello(want)]);
    }

    fn server_hello(version_ext: Option<u16>, alpn: Option<&[u8]>, hrr: bool) -> Vec<u8> {
        let mut b = vec![0x03, 0x03];
        b.extend(if hrr { HRR_RANDOM } else { [7; 32] });
        b.push(0);
        b.extend([0xc0, 0x2f, 0]);
        let mut exts = Vec::new();
        exts.extend(ext(0xff01, &[0]));
        if let Some(v) = version_ext {
            exts.extend(ext(43, &v.to_be_bytes()));
            exts.extend(ext(51, &[0x00, 0x1d, 0, 2, 9, 9]));
        }
        if let Some(a) = alpn {
            let mut l = vec![a.len() as u8];
            l.extend(a);
            exts.extend(ext(16, &vec16(&l)));
        }
        b.extend(vec16(&exts));
        handshake(2, &b)
    }

    #[test]
    fn server_hello_tls12_then_certificate() {
        let mut payload = server_hello(None, Some(b"http/1.1"), false);
        // An empty chain (only clients should send one) reports nothing.
        payload.extend(handshake(11, &[0; 3]));
        let stream = records(22, 0x0303, &payload, 16384);
        let mut r = TlsReader::new();
        let mut got = r.feed(&stream);
        assert!(!r.done(), "the TLS 1.2 flight goes on to ServerHelloDone");
        got.extend(r.feed(&records(22, 0x0303, &handshake(14, &[]), 16384)));
        let want = ServerHello {
            legacy_version: 0x0303,
            selected_version: None,
            cipher_suite: 0xc02f,
            compression_method: 0,
            alpn: Some("http/1.1".into()),
            extensions: vec![0xff01, 16],
            key_share_group: None,
            hello_retry_request: false,
        };
        assert_eq!(got, [TlsEvent::ServerHello(want.clone())]);
        assert_eq!(want.version(), 0x0303);
        assert!(r.done());
    }

    #[test]
    fn server_hello_tls13_and_hello_retry() {
        let mut stream = records(22, 0x0303, &server_hello(Some(0x0304), None, true), 16384);
        stream.extend([20, 3, 3, 0, 1, 1]); // compatibility CCS after the HRR
        stream.extend(records(
            22,
            0x0303,
            &server_hello(Some(0x0304), None, false),
            16384,
        ));
        stream.extend([23, 3, 3, 0, 3, 1, 2, 3]);
        let mut r = TlsReader::new();
        let got = r.feed(&stream);
        assert_eq!(got.len(), 2);
        let TlsEvent::ServerHello(hrr) = &got[0] else {
            panic!()
        };
        assert!(hrr.hello_retry_request);
        let TlsEvent::ServerHello(sh) = &got[1] else {
            panic!()
        };
        assert!(!sh.hello_retry_request);
        assert_eq!(sh.version(), 0x0304);
        assert_eq!(sh.key_share_group, Some(0x001d));
        assert_eq!(sh.extensions, [0xff01, 43, 51]);
        assert!(r.done());
    }

    #[test]
    fn stops_at_change_cipher_spec_alert_and_gap() {
        let mut r = TlsReader::new();
        assert!(r.feed(&[20, 3, 3, 0, 1, 1, 22, 3, 3]).is_empty());
        assert!(r.done());
        assert_eq!(r.error(), None);
        let mut r = TlsReader::new();
        assert_eq!(
            r.feed(&[21, 3, 3, 0, 2, 2, 40]),
            [TlsEvent::Alert {
                level: 2,
                description: 40
            }]
        );
        assert!(r.done());
        let mut r = TlsReader::new();
        assert!(r.feed(&[22, 3, 1, 0, 100, 1, 0]).is_empty());
        r.gap(10);
        assert_eq!(r.error(), Some(&TlsError::Gap));
        assert!(r.done());
    }

    #[test]
    fn rejects_non_tls_and_huge_hellos() {
        let mut r = TlsReader::new();
        r.feed(b"GET / HTTP/1.1\r\n");
        assert_eq!(r.error(), Some(&TlsError::NotTls { offset: 0 }));
        let mut r = TlsReader::new();
        r.feed(&[22, 3, 1, 0x50, 0x01]);
        assert_eq!(
            r.error(),
            Some(&TlsError::RecordTooLong {
                offset: 0,
                len: 0x5001
            })
        );
        let mut r = TlsReader::new();
        r.feed(&[22, 3, 1, 0, 4, 1, 0x01, 0, 1]);
        assert_eq!(r.error(), Some(&TlsError::HelloTooLong { len: 0x10001 }));
        let mut r = TlsReader::new();
        r.feed(&[22, 3, 1, 0, 6, 1, 0, 0, 2, 3, 3]);
        assert_eq!(
            r.error(),
            Some(&TlsError::Malformed {
                what: "ClientHello"
            })
        );
    }

    #[test]
    fn sslv2_client_hello() {
        let hello = [0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15, 0, 0, 0, 0x10];
        assert!(is_tls_start(&hello));
        let mut r = TlsReader::new();
        assert_eq!(
            r.feed(&hello),
            [TlsEvent::Sslv2ClientHello { version: 0x0301 }]
        );
        assert!(r.done());
    }

    #[test]
    fn probe() {
        assert!(is_tls_start(&[22, 3, 1]));
        assert!(is_tls_start(&[22, 3, 1, 2, 0, 1]));
        assert!(!is_tls_start(&[22, 3, 1, 2, 0, 2])); // ServerHello
        assert!(!is_tls_start(&[22, 3, 5, 2, 0, 1]));
        assert!(!is_tls_start(&[22, 3, 1, 0, 0, 1]));
        assert!(!is_tls_start(&[22, 3, 1, 0xff, 0, 1]));
        assert!(!is_tls_start(&[23, 3, 3, 0, 10]));
        assert!(!is_tls_start(b"GET /"));
        assert!(!is_tls_start(&[22, 3]));
    }

    #[test]
    fn names() {
        assert_eq!(version_name(0x0300), "SSLv3");
        assert_eq!(version_name(0x0301), "TLS 1.0");
        assert_eq!(version_name(0x0304), "TLS 1.3");
        assert_eq!(version_name(0x7f1c), "TLS 1.3 draft 28");
        assert_eq!(version_name(0x4a4a), "GREASE");
        assert_eq!(version_name(0xfefd), "DTLS 1.2");
        assert_eq!(version_name(0x1234), "0x1234");
        assert!(is_grease(0xfafa) && !is_grease(0xfafb) && !is_grease(0x0b0b));
    }

    #[test]
    fn hostile_sni_is_escaped_and_bad_extensions_skipped() {
        let mut b = vec![0x03, 0x03];
        b.extend([0; 32]);
        b.extend([0, 0, 2, 0x13, 0x01, 1, 0]);
        let mut sni = vec![0];
        sni.extend(vec16(b"ev\x07il\\.com\n\xff"));
        let mut exts = ext(0, &vec16(&sni));
        exts.extend(ext(16, &[0, 9, 1])); // ALPN whose list runs past its extension
        exts.extend(ext(43, &[2, 3, 4]));
        b.extend(vec16(&exts));
        let stream = records(22, 0x0301, &handshake(1, &b), 16384);
        let got = TlsReader::new().feed(&stream);
        let TlsEvent::ClientHello(ch) = &got[0] else {
            panic!()
        };
        assert_eq!(ch.sni.as_deref(), Some("ev\\x07il\\\\.com\\x0a\u{fffd}"));
        assert!(ch.alpn.is_empty());
        assert_eq!(ch.supported_versions, [0x0304]);
        assert_eq!(ch.extensions, [0, 16, 43]);
    }

    fn cert_der(b64: &str) -> Vec<u8> {
        crate::x509::tests::base64(b64)
    }

    /// A TLS 1.2 Certificate body holding these DER certificates.
    fn certificate_body(certs: &[&[u8]]) -> Vec<u8> {
        let mut list: Vec<u8> = Vec::new();
        for c in certs {
            list.extend(&(c.len() as u32).to_be_bytes()[1..]);
            list.extend(*c);
        }
        let mut body = (list.len() as u32).to_be_bytes()[1..].to_vec();
        body.extend(list);
        body
    }

    /// ServerHello, Certificate (leaf and intermediate), ServerKeyExchange,
    /// ServerHelloDone: the shape of a TLS 1.2 ECDHE server flight.
    fn server_flight(max_record: usize) -> Vec<u8> {
        let (leaf, ca) = (
            cert_der(crate::x509::tests::LEAF),
            cert_der(crate::x509::tests::INTERMEDIATE),
        );
        let mut payload = server_hello(None, None, false);
        payload.extend(handshake(11, &certificate_body(&[&leaf, &ca])));
        payload.extend(handshake(12, &[0x03, 0x00, 0x1d, 32]));
        payload.extend(handshake(14, &[]));
        records(22, 0x0303, &payload, max_record)
    }

    fn expected_flight() -> Vec<TlsEvent> {
        let sh = parse_server_hello(&server_hello(None, None, false)[4..]).unwrap();
        vec![
            TlsEvent::ServerHello(sh),
            TlsEvent::Certificates(vec![
                Certificate::from_der(&cert_der(crate::x509::tests::LEAF)),
                Certificate::from_der(&cert_der(crate::x509::tests::INTERMEDIATE)),
            ]),
        ]
    }

    #[test]
    fn server_flight_any_split_into_two_chunks() {
        let want = expected_flight();
        let TlsEvent::Certificates(chain) = &want[1] else {
            panic!()
        };
        assert_eq!(chain[0].subject_cn.as_deref(), Some("lists.for-our.info"));
        assert_eq!(
            chain[1].subject_cn.as_deref(),
            Some("Let's Encrypt Authority X3")
        );
        // One record per message boundary, and records cutting the chain.
        for max in [16384, 1000] {
            let stream = server_flight(max);
            for cut in 0..=stream.len() {
                let mut r = TlsReader::new();
                let got = feed_all(&mut r, &[&stream[..cut], &stream[cut..]]);
                assert_eq!(got, want, "records of {max}, cut at {cut}");
                assert!(r.done());
                assert_eq!(r.error(), None);
                assert_eq!(r.offset(), stream.len() as u64);
            }
        }
    }

    #[test]
    fn server_flight_byte_by_byte_and_in_tiny_records() {
        let stream = server_flight(7);
        let mut r = TlsReader::new();
        let mut got = Vec::new();
        for b in &stream {
            got.extend(r.feed(std::slice::from_ref(b)));
        }
        assert_eq!(got, expected_flight());
        assert!(r.done());
    }

    #[test]
    fn server_flight_stops_at_ccs_for_resumption_and_ignores_after_done() {
        // Abbreviated handshake: ServerHello, then ChangeCipherSpec.
        let mut stream = records(22, 0x0303, &server_hello(None, None, false), 16384);
        stream.extend([20, 3, 3, 0, 1, 1]);
        stream.extend(server_flight(16384));
        let mut r = TlsReader::new();
        let got = r.feed(&stream);
        assert_eq!(got.len(), 1);
        assert!(r.done());
        assert_eq!(r.error(), None);

        // Bytes after ServerHelloDone (the client's turn, then encrypted
        // records) are not read.
        let mut stream = server_flight(16384);
        let leaf = cert_der(crate::x509::tests::LEAF);
        stream.extend(records(
            22,
            0x0303,
            &handshake(11, &certificate_body(&[&leaf])),
            16384,
        ));
        let mut r = TlsReader::new();
        assert_eq!(r.feed(&stream), expected_flight());
        assert_eq!(r.offset(), server_flight(16384).len() as u64);
    }

    #[test]
    fn tls13_server_certificate_is_not_looked_for() {
        let leaf = cert_der(crate::x509::tests::LEAF);
        for version in [0x0304, 0x7f1c] {
            let mut payload = server_hello(Some(version), None, false);
            // Were it in the clear, it would not be read.
            payload.extend(handshake(11, &certificate_body(&[&leaf])));
            let stream = records(22, 0x0303, &payload, 16384);
            let mut r = TlsReader::new();
            let got = r.feed(&stream);
            assert_eq!(got.len(), 1, "{version:#x}");
            assert!(r.done());
        }
    }

    #[test]
    fn certificate_chain_over_the_cap_reports_what_fits() {
        let leaf = cert_der(crate::x509::tests::LEAF);
        let filler = vec![0x30; 5000];
        let mut certs: Vec<&[u8]> = vec![&leaf];
        certs.extend(std::iter::repeat_n(&filler[..], 20));
        let body = certificate_body(&certs);
        assert!(body.len() > MAX_CERTIFICATES_LEN);
        let mut payload = server_hello(None, None, false);
        payload.extend(handshake(11, &body));
        payload.extend(handshake(14, &[]));
        let stream = records(22, 0x0303, &payload, 16384);
        let mut r = TlsReader::new();
        let got = r.feed(&stream);
        let [TlsEvent::ServerHello(_), TlsEvent::Certificates(chain)] = &got[..] else {
            panic!("{got:?}")
        };
        // The leaf and the fillers wholly inside the first 64 KiB.
        assert_eq!(
            chain.len(),
            1 + (MAX_CERTIFICATES_LEN - 3 - 3 - leaf.len()) / 5003
        );
        assert_eq!(chain[0].subject_cn.as_deref(), Some("lists.for-our.info"));
        assert!(chain[1].parse_error.is_some());
        assert_eq!(
            r.error(),
            Some(&TlsError::CertificatesTooLong { len: body.len() })
        );
        assert!(r.done());

        // A hostile announced length: the leaf is reported once the cap is
        // reached, without waiting for 16 MB.
        let mut payload = server_hello(None, None, false);
        payload.extend([11, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfc]);
        payload.extend(&(leaf.len() as u32).to_be_bytes()[1..]);
        payload.extend(&leaf);
        payload.resize(payload.len() + 70_000, 0);
        let mut r = TlsReader::new();
        let got = r.feed(&records(22, 0x0303, &payload, 16384));
        assert_eq!(got.len(), 2);
        assert_eq!(
            r.error(),
            Some(&TlsError::CertificatesTooLong { len: 0xff_ffff })
        );

        // Too many (tiny) certificates.
        let tiny = [0x30, 0];
        let body = certificate_body(&[&tiny[..]; MAX_CHAIN_CERTS + 5]);
        let mut payload = server_hello(None, None, false);
        payload.extend(handshake(11, &body));
        let mut r = TlsReader::new();
        let got = r.feed(&records(22, 0x0303, &payload, 16384));
        let TlsEvent::Certificates(chain) = &got[1] else {
            panic!()
        };
        assert_eq!(chain.len(), MAX_CHAIN_CERTS);
        assert_eq!(
            r.error(),
            Some(&TlsError::CertificatesTooLong { len: body.len() })
        );
    }

    #[test]
    fn malformed_certificate_list_keeps_what_parsed() {
        let leaf = cert_der(crate::x509::tests::LEAF);
        let mut body = certificate_body(&[&leaf, b"not a certificate"]);
        // A third entry whose length runs past the message.
        body.extend([0, 0x10, 0, 1, 2]);
        let (chain, more) = parse_certificate_list(&body);
        assert!(!more);
        assert_eq!(chain.len(), 2);
        assert_eq!(chain[0].san_dns, ["lists.for-our.info"]);
        assert!(chain[1].parse_error.is_some());
        assert_eq!(chain[1].der_len, 17);
        assert_eq!(parse_certificate_list(&[0, 0]), (Vec::new(), false));
    }

    fn xorshift(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    fn garbage_never_panics() {
        let mut s = 0x2545_f491_4f6c_dd1d;
        let valid = records(22, 0x0301, &handshake(1, &client_hello_body()), 16384);
        for round in 0..3_000 {
            let mut buf = if round % 2 == 0 {
                let mut v = valid.clone();
                for _ in 0..1 + xorshift(&mut s) % 4 {
                    let i = (xorshift(&mut s) as usize) % v.len();
                    v[i] = xorshift(&mut s) as u8;
                }
                v
            } else {
                let len = (xorshift(&mut s) % 300) as usize;
                (0..len).map(|_| xorshift(&mut s) as u8).collect()
            };
            if round % 3 == 0 && buf.len() > 6 {
                buf[..6].copy_from_slice(&[22, 3, 1, 0x40, 0, 1]);
            }
            let _ = is_tls_start(&buf);
            let mut r = TlsReader::new();
            let cut = (xorshift(&mut s) as usize) % (buf.len() + 1);
            let _ = r.feed(&buf[..cut]);
            let _ = r.feed(&buf[cut..]);
            let _ = parse_client_hello(&buf);
            let _ = parse_server_hello(&buf);
        }
    }

    #[test]
    fn garbage_server_flights_never_panic() {
        let mut s = 0x9e37_79b9_7f4a_7c15;
        let valid = server_flight(1000);
        for _ in 0..2_000 {
            let mut buf = valid.clone();
            for _ in 0..1 + xorshift(&mut s) % 8 {
                let i = (xorshift(&mut s) as usize) % buf.len();
                buf[i] = xorshift(&mut s) as u8;
            }
            let mut r = TlsReader::new();
            let cut = (xorshift(&mut s) as usize) % (buf.len() + 1);
            let _ = r.feed(&buf[..cut]);
            let _ = r.feed(&buf[cut..]);
            let _ = parse_certificate_list(&buf);
        }
    }
}
