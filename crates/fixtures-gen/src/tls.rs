//! TLS ClientHello and ServerHello messages and the record layer around them.

use crate::SplitMix64;

/// Record content type of a handshake.
pub const CT_HANDSHAKE: u8 = 22;
/// Record content type of ChangeCipherSpec.
pub const CT_CHANGE_CIPHER_SPEC: u8 = 20;
/// Record content type of application data.
pub const CT_APPLICATION_DATA: u8 = 23;

/// TLS 1.0 version number, the usual record version of a first ClientHello.
pub const TLS10: u16 = 0x0301;
/// TLS 1.2 version number.
pub const TLS12: u16 = 0x0303;
/// TLS 1.3 version number (only ever in `supported_versions`).
pub const TLS13: u16 = 0x0304;

/// Handshake type of Certificate.
pub const HS_CERTIFICATE: u8 = 11;
/// Handshake type of ServerHelloDone.
pub const HS_SERVER_HELLO_DONE: u8 = 14;
/// Largest plaintext record payload (2^14, RFC 5246 §6.2.1).
pub const MAX_RECORD_PAYLOAD: usize = 1 << 14;

/// Extension number of server_name.
pub const EXT_SERVER_NAME: u16 = 0;
/// Extension number of supported_groups.
pub const EXT_SUPPORTED_GROUPS: u16 = 10;
/// Extension number of ec_point_formats.
pub const EXT_EC_POINT_FORMATS: u16 = 11;
/// Extension number of signature_algorithms.
pub const EXT_SIGNATURE_ALGORITHMS: u16 = 13;
/// Extension number of application_layer_protocol_negotiation.
pub const EXT_ALPN: u16 = 16;
/// Extension number of padding.
pub const EXT_PADDING: u16 = 21;
/// Extension number of extended_master_secret.
pub const EXT_EXTENDED_MASTER_SECRET: u16 = 23;
/// Extension number of session_ticket.
pub const EXT_SESSION_TICKET: u16 = 35;
/// Extension number of supported_versions.
pub const EXT_SUPPORTED_VERSIONS: u16 = 43;
/// Extension number of psk_key_exchange_modes.
pub const EXT_PSK_KEY_EXCHANGE_MODES: u16 = 45;
/// Extension number of key_share.
pub const EXT_KEY_SHARE: u16 = 51;
/// Extension number of renegotiation_info.
pub const EXT_RENEGOTIATION_INFO: u16 = 0xff01;

/// Named group x25519.
pub const GROUP_X25519: u16 = 0x001d;
/// Named group secp256r1.
pub const GROUP_SECP256R1: u16 = 0x0017;
/// Named group secp384r1.
pub const GROUP_SECP384R1: u16 = 0x0018;

/// One TLS record.
pub fn record(content_type: u8, version: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(5 + payload.len());
    out.push(content_type);
    out.extend_from_slice(&version.to_be_bytes());
    out.extend_from_slice(
        &u16::try_from(payload.len())
            .expect("record too long")
            .to_be_bytes(),
    );
    out.extend_from_slice(payload);
    out
}

/// A handshake message: type, 24-bit length, body.
pub fn handshake(msg_type: u8, body: &[u8]) -> Vec<u8> {
    let len = u32::try_from(body.len()).expect("fits");
    assert!(len < 1 << 24, "handshake message too long");
    let mut out = Vec::with_capacity(4 + body.len());
    out.push(msg_type);
    out.extend_from_slice(&len.to_be_bytes()[1..]);
    out.extend_from_slice(body);
    out
}

/// A ChangeCipherSpec record (TLS 1.3 middlebox compatibility sends one too).
pub fn change_cipher_spec() -> Vec<u8> {
    record(CT_CHANGE_CIPHER_SPEC, TLS12, &[1])
}

/// An application data record of `len` pseudo-random bytes, standing in for
/// encrypted traffic.
pub fn opaque_application_data(rng: &mut SplitMix64, len: usize) -> Vec<u8> {
    record(CT_APPLICATION_DATA, TLS12, &rng.bytes(len))
}

fn ext(out: &mut Vec<u8>, typ: u16, data: &[u8]) {
    out.extend_from_slice(&typ.to_be_bytes());
    out.extend_from_slice(
        &u16::try_from(data.len())
            .expect("extension too long")
            .to_be_bytes(),
    );
    out.extend_from_slice(data);
}

fn u16_list(items: &[u16]) -> Vec<u8> {
    let mut v = u16::try_from(items.len() * 2)
        .expect("fits")
        .to_be_bytes()
        .to_vec();
    for i in items {
        v.extend_from_slice(&i.to_be_bytes());
    }
    v
}

/// A ClientHello. Empty lists leave their extension out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientHello {
    /// Version of the record carrying it (0x0301 for most first flights).
    pub record_version: u16,
    /// `legacy_version` field (0x0303 in TLS 1.2 and 1.3).
    pub legacy_version: u16,
    /// Client random.
    pub random: [u8; 32],
    /// Legacy session id (32 random bytes in TLS 1.3 compatibility mode).
    pub session_id: Vec<u8>,
    /// Offered cipher suites.
    pub cipher_suites: Vec<u16>,
    /// Server name for SNI; `None` leaves the extension out.
    pub sni: Option<String>,
    /// ALPN protocol names.
    pub alpn: Vec<String>,
    /// supported_versions list.
    pub supported_versions: Vec<u16>,
    /// supported_groups list.
    pub supported_groups: Vec<u16>,
    /// key_share entries: group and public key.
    pub key_shares: Vec<(u16, Vec<u8>)>,
    /// signature_algorithms list.
    pub signature_algorithms: Vec<u16>,
    /// Further extensions, appended after the ones above and before padding.
    pub extra_extensions: Vec<(u16, Vec<u8>)>,
    /// Pad the handshake message (its 4-byte header included) to this many
    /// bytes with a padding extension; ignored when already that long.
    pub pad_to: Option<usize>,
}

impl ClientHello {
    /// A TLS 1.3 ClientHello as a current browser would send: x25519 key
    /// share, TLS 1.3 and 1.2 offered, ALPN h2 and http/1.1.
    pub fn tls13(sni: Option<&str>, rng: &mut SplitMix64) -> Self {
        let random = rng.array32();
        let session_id = rng.bytes(32);
        let key = rng.bytes(32);
        ClientHello {
            record_version: TLS10,
            legacy_version: TLS12,
            random,
            session_id,
            cipher_suites: vec![
                0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013,
                0xc014, 0x009c, 0x009d, 0x002f, 0x0035,
            ],
            sni: sni.map(str::to_owned),
            alpn: vec!["h2".into(), "http/1.1".into()],
            supported_versions: vec![TLS13, TLS12],
            supported_groups: vec![GROUP_X25519, GROUP_SECP256R1, GROUP_SECP384R1],
            key_shares: vec![(GROUP_X25519, key)],
            signature_algorithms: vec![
                0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601,
            ],
            extra_extensions: vec![
                (EXT_EXTENDED_MASTER_SECRET, Vec::new()),
                (EXT_PSK_KEY_EXCHANGE_MODES, vec![1, 1]),
            ],
            pad_to: None,
        }
    }

    /// A TLS 1.2 ClientHello as a 2014 Android phone would send: no
    /// supported_versions, no key_share, ECDHE and RSA suites.
    pub fn tls12(sni: Option<&str>, rng: &mut SplitMix64) -> Self {
        ClientHello {
            record_version: TLS10,
            legacy_version: TLS12,
            random: rng.array32(),
            session_id: Vec::new(),
            cipher_suites: vec![
                0xc02b, 0xc02f, 0x009e, 0xc00a, 0xc009, 0xc013, 0xc014, 0x0033, 0x0039, 0x009c,
                0x002f, 0x0035, 0x000a, 0x00ff,
            ],
            sni: sni.map(str::to_owned),
            alpn: vec!["http/1.1".into()],
            supported_versions: Vec::new(),
            supported_groups: vec![GROUP_SECP256R1, GROUP_SECP384R1],
            key_shares: Vec::new(),
            signature_algorithms: vec![0x0601, 0x0501, 0x0401, 0x0301, 0x0201, 0x0403, 0x0203],
            extra_extensions: vec![
                (EXT_EC_POINT_FORMATS, vec![1, 0]),
                (EXT_SESSION_TICKET, Vec::new()),
            ],
            pad_to: None,
        }
    }

    fn extensions(&self, padding: Option<usize>) -> Vec<u8> {
        let mut e = Vec::new();
        if let Some(name) = &self.sni {
            let n = name.as_bytes();
            let mut d = u16::try_from(n.len() + 3)
                .expect("fits")
                .to_be_bytes()
                .to_vec();
            d.push(0);
            d.extend_from_slice(&u16::try_from(n.len()).expect("fits").to_be_bytes());
            d.extend_from_slice(n);
            ext(&mut e, EXT_SERVER_NAME, &d);
        }
        if !self.supported_groups.is_empty() {
            ext(
                &mut e,
                EXT_SUPPORTED_GROUPS,
                &u16_list(&self.supported_groups),
            );
        }
        if !self.alpn.is_empty() {
            let mut list = Vec::new();
            for p in &self.alpn {
                list.push(u8::try_from(p.len()).expect("ALPN name too long"));
                list.extend_from_slice(p.as_bytes());
            }
            let mut d = u16::try_from(list.len())
                .expect("fits")
                .to_be_bytes()
                .to_vec();
            d.extend_from_slice(&list);
            ext(&mut e, EXT_ALPN, &d);
        }
        if !self.signature_algorithms.is_empty() {
            ext(
                &mut e,
                EXT_SIGNATURE_ALGORITHMS,
                &u16_list(&self.signature_algorithms),
            );
        }
        if !self.key_shares.is_empty() {
            let mut shares = Vec::new();
            for (g, k) in &self.key_shares {
                shares.extend_from_slice(&g.to_be_bytes());
                shares.extend_from_slice(&u16::try_from(k.len()).expect("fits").to_be_bytes());
                shares.extend_from_slice(k);
            }
            let mut d = u16::try_from(shares.len())
                .expect("fits")
                .to_be_bytes()
                .to_vec();
            d.extend_from_slice(&shares);
            ext(&mut e, EXT_KEY_SHARE, &d);
        }
        if !self.supported_versions.is_empty() {
            let mut d = vec![u8::try_from(self.supported_versions.len() * 2).expect("fits")];
            for v in &self.supported_versions {
                d.extend_from_slice(&v.to_be_bytes());
            }
            ext(&mut e, EXT_SUPPORTED_VERSIONS, &d);
        }
        for (t, d) in &self.extra_extensions {
            ext(&mut e, *t, d);
        }
        if let Some(n) = padding {
            ext(&mut e, EXT_PADDING, &vec![0; n]);
        }
        e
    }

    fn body(&self, padding: Option<usize>) -> Vec<u8> {
        let mut b = Vec::with_capacity(512);
        b.extend_from_slice(&self.legacy_version.to_be_bytes());
        b.extend_from_slice(&self.random);
        b.push(u8::try_from(self.session_id.len()).expect("session id too long"));
        b.extend_from_slice(&self.session_id);
        b.extend_from_slice(&u16_list(&self.cipher_suites));
        b.extend_from_slice(&[1, 0]);
        let e = self.extensions(padding);
        b.extend_from_slice(&u16::try_from(e.len()).expect("fits").to_be_bytes());
        b.extend_from_slice(&e);
        b
    }

    /// The handshake message: header and body, padded if asked.
    pub fn handshake_bytes(&self) -> Vec<u8> {
        let plain = handshake(1, &self.body(None));
        match self.pad_to {
            Some(target) if target >= plain.len() + 4 => {
                let padded = handshake(1, &self.body(Some(target - plain.len() - 4)));
                debug_assert_eq!(padded.len(), target);
                padded
            }
            _ => plain,
        }
    }

    /// The message in one record.
    pub fn record_bytes(&self) -> Vec<u8> {
        record(CT_HANDSHAKE, self.record_version, &self.handshake_bytes())
    }

    /// The message cut at these offsets into the handshake bytes, each piece
    /// in its own record, all concatenated.
    pub fn records_split(&self, split_at: &[usize]) -> Vec<u8> {
        let hs = self.handshake_bytes();
        crate::tcp::split(&hs, split_at)
            .into_iter()
            .flat_map(|piece| record(CT_HANDSHAKE, self.record_version, piece))
            .collect()
    }
}

/// A ServerHello, TLS 1.2 or (with `tls13`) TLS 1.3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerHello {
    /// Server random.
    pub random: [u8; 32],
    /// Echoed session id.
    pub session_id: Vec<u8>,
    /// Chosen cipher suite.
    pub cipher_suite: u16,
    /// Adds supported_versions = TLS 1.3 and an x25519 key share.
    pub tls13: bool,
    /// Chosen ALPN protocol (TLS 1.2 only; TLS 1.3 sends it encrypted).
    pub alpn: Option<String>,
    /// Server key share (TLS 1.3).
    pub key_share: Vec<u8>,
}

impl ServerHello {
    /// A TLS 1.3 ServerHello answering `ch` with TLS_AES_128_GCM_SHA256.
    pub fn tls13(ch: &ClientHello, rng: &mut SplitMix64) -> Self {
        ServerHello {
            random: rng.array32(),
            session_id: ch.session_id.clone(),
            cipher_suite: 0x1301,
            tls13: true,
            alpn: None,
            key_share: rng.bytes(32),
        }
    }

    /// A TLS 1.2 ServerHello answering `ch` with ECDHE-RSA-AES128-GCM-SHA256.
    pub fn tls12(ch: &ClientHello, rng: &mut SplitMix64) -> Self {
        ServerHello {
            random: rng.array32(),
            session_id: rng.bytes(32),
            cipher_suite: 0xc02f,
            tls13: false,
            alpn: ch.alpn.first().cloned(),
            key_share: Vec::new(),
        }
    }

    /// The handshake message.
    pub fn handshake_bytes(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(128);
        b.extend_from_slice(&TLS12.to_be_bytes());
        b.extend_from_slice(&self.random);
        b.push(u8::try_from(self.session_id.len()).expect("session id too long"));
        b.extend_from_slice(&self.session_id);
        b.extend_from_slice(&self.cipher_suite.to_be_bytes());
        b.push(0);
        let mut e = Vec::new();
        if self.tls13 {
            ext(&mut e, EXT_SUPPORTED_VERSIONS, &TLS13.to_be_bytes());
            let mut ks = GROUP_X25519.to_be_bytes().to_vec();
            ks.extend_from_slice(
                &u16::try_from(self.key_share.len())
                    .expect("fits")
                    .to_be_bytes(),
            );
            ks.extend_from_slice(&self.key_share);
            ext(&mut e, EXT_KEY_SHARE, &ks);
        } else {
            ext(&mut e, EXT_RENEGOTIATION_INFO, &[0]);
            ext(&mut e, EXT_EXTENDED_MASTER_SECRET, &[]);
            if let Some(p) = &self.alpn {
                let mut d = u16::try_from(p.len() + 1)
                    .expect("fits")
                    .to_be_bytes()
                    .to_vec();
                d.push(u8::try_from(p.len()).expect("fits"));
                d.extend_from_slice(p.as_bytes());
                ext(&mut e, EXT_ALPN, &d);
            }
        }
        b.extend_from_slice(&u16::try_from(e.len()).expect("fits").to_be_bytes());
        b.extend_from_slice(&e);
        handshake(2, &b)
    }

    /// The server's first flight as it appears on the wire: for TLS 1.3 the
    /// ServerHello record, a ChangeCipherSpec and `encrypted_len` bytes of
    /// application data; for TLS 1.2 ServerHello and ServerHelloDone in one
    /// record (the certificate is left out to keep fixtures small;
    /// [`flight_with_certificates`](Self::flight_with_certificates) has it).
    pub fn flight(&self, rng: &mut SplitMix64, encrypted_len: usize) -> Vec<u8> {
        if self.tls13 {
            let mut out = record(CT_HANDSHAKE, TLS12, &self.handshake_bytes());
            out.extend_from_slice(&change_cipher_spec());
            out.extend_from_slice(&opaque_application_data(rng, encrypted_len));
            out
        } else {
            let mut hs = self.handshake_bytes();
            hs.extend_from_slice(&handshake(HS_SERVER_HELLO_DONE, &[]));
            record(CT_HANDSHAKE, TLS12, &hs)
        }
    }

    /// A TLS 1.2 server flight with the certificate chain: ServerHello,
    /// Certificate and ServerHelloDone in one handshake record (as many
    /// servers send a small flight). The key exchange message is left out:
    /// nothing reads it and it would only make the fixtures bigger.
    pub fn flight_with_certificates(&self, chain: &[Vec<u8>]) -> Vec<u8> {
        assert!(!self.tls13, "TLS 1.3 encrypts the Certificate message");
        let mut hs = self.handshake_bytes();
        hs.extend_from_slice(&certificate_message(chain));
        hs.extend_from_slice(&handshake(HS_SERVER_HELLO_DONE, &[]));
        assert!(
            hs.len() <= MAX_RECORD_PAYLOAD,
            "flight needs several records"
        );
        record(CT_HANDSHAKE, TLS12, &hs)
    }
}

fn u24_prefixed(out: &mut Vec<u8>, data: &[u8]) {
    let len = u32::try_from(data.len()).expect("fits");
    assert!(len < 1 << 24, "too long for a 24-bit length");
    out.extend_from_slice(&len.to_be_bytes()[1..]);
    out.extend_from_slice(data);
}

/// A TLS 1.2 Certificate handshake message: a 24-bit-length list of
/// 24-bit-length DER certificates, leaf first.
pub fn certificate_message(chain: &[Vec<u8>]) -> Vec<u8> {
    let mut list = Vec::new();
    for der in chain {
        u24_prefixed(&mut list, der);
    }
    let mut body = Vec::with_capacity(list.len() + 3);
    u24_prefixed(&mut body, &list);
    handshake(HS_CERTIFICATE, &body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tls_parser::{
        TlsExtension, TlsMessage, TlsMessageHandshake, parse_tls_extensions, parse_tls_plaintext,
    };

    fn sni_of(ext_bytes: &[u8]) -> Option<String> {
        let (_, exts) = parse_tls_extensions(ext_bytes).expect("extensions parse");
        exts.iter().find_map(|e| match e {
            TlsExtension::SNI(list) => Some(String::from_utf8(list[0].1.to_vec()).unwrap()),
            _ => None,
        })
    }

    #[test]
    fn client_hello_parses_with_sni_and_padding() {
        let mut rng = SplitMix64::new(1);
        let mut ch = ClientHello::tls13(Some("sni.example"), &mut rng);
        ch.pad_to = Some(512);
        let hs = ch.handshake_bytes();
        assert_eq!(hs.len(), 512);
        let rec = ch.record_bytes();
        assert_eq!(&rec[..5], &[22, 3, 1, 2, 0]);
        let (rest, plain) = parse_tls_plaintext(&rec).expect("record parses");
        assert!(rest.is_empty());
        let TlsMessage::Handshake(TlsMessageHandshake::ClientHello(c)) = &plain.msg[0] else {
            panic!("not a ClientHello")
        };
        assert_eq!(c.random, &ch.random[..]);
        assert_eq!(c.ciphers.len(), 15);
        assert_eq!(sni_of(c.ext.unwrap()).as_deref(), Some("sni.example"));
    }

    #[test]
    fn no_sni_means_no_server_name_extension() {
        let mut rng = SplitMix64::new(2);
        let ch = ClientHello::tls12(None, &mut rng);
        let rec = ch.record_bytes();
        let (_, plain) = parse_tls_plaintext(&rec).expect("parses");
        let TlsMessage::Handshake(TlsMessageHandshake::ClientHello(c)) = &plain.msg[0] else {
            panic!()
        };
        assert_eq!(sni_of(c.ext.unwrap()), None);
    }

    #[test]
    fn split_records_concatenate_to_the_message() {
        let mut rng = SplitMix64::new(3);
        let ch = ClientHello::tls13(Some("records.example"), &mut rng);
        let hs = ch.handshake_bytes();
        let recs = ch.records_split(&[100]);
        assert_eq!(recs.len(), hs.len() + 10);
        assert_eq!(&recs[..5], &[22, 3, 1, 0, 100]);
        assert_eq!(&recs[5..105], &hs[..100]);
        assert_eq!(&recs[105..108], &[22, 3, 1]);
        assert_eq!(&recs[110..], &hs[100..]);
    }

    #[test]
    fn server_hello_versions() {
        let mut rng = SplitMix64::new(4);
        let ch = ClientHello::tls13(Some("x.example"), &mut rng);
        let sh = ServerHello::tls13(&ch, &mut rng);
        let flight = sh.flight(&mut rng, 40);
        let (rest, plain) = parse_tls_plaintext(&flight).expect("parses");
        let TlsMessage::Handshake(TlsMessageHandshake::ServerHello(s)) = &plain.msg[0] else {
            panic!()
        };
        assert_eq!(s.version.0, TLS12);
        let (_, exts) = parse_tls_extensions(s.ext.unwrap()).unwrap();
        assert!(
            exts.iter()
                .any(|e| matches!(e, TlsExtension::SupportedVersions(v) if v[0].0 == TLS13))
        );
        assert_eq!(&rest[..6], &[20, 3, 3, 0, 1, 1]);

        let sh12 = ServerHello::tls12(&ch, &mut rng).flight(&mut rng, 0);
        let (rest, plain) = parse_tls_plaintext(&sh12).expect("parses");
        assert!(rest.is_empty());
        assert_eq!(plain.msg.len(), 2);
    }

    #[test]
    fn tls12_flight_with_certificates() {
        let mut rng = SplitMix64::new(5);
        let ch = ClientHello::tls12(Some("c.example"), &mut rng);
        let chain = vec![vec![0x30, 0x03, 1, 2, 3], vec![0x30; 300]];
        let flight = ServerHello::tls12(&ch, &mut rng).flight_with_certificates(&chain);
        let (rest, plain) = parse_tls_plaintext(&flight).expect("parses");
        assert!(rest.is_empty());
        assert_eq!(plain.hdr.record_type.0, CT_HANDSHAKE);
        let [
            TlsMessage::Handshake(TlsMessageHandshake::ServerHello(sh)),
            TlsMessage::Handshake(TlsMessageHandshake::Certificate(c)),
            TlsMessage::Handshake(TlsMessageHandshake::ServerDone(done)),
        ] = &plain.msg[..]
        else {
            panic!("unexpected messages {:?}", plain.msg)
        };
        assert_eq!(sh.version.0, TLS12);
        let (_, exts) = parse_tls_extensions(sh.ext.unwrap()).unwrap();
        assert!(
            !exts
                .iter()
                .any(|e| matches!(e, TlsExtension::SupportedVersions(_)))
        );
        let got: Vec<&[u8]> = c.cert_chain.iter().map(|r| r.data).collect();
        assert_eq!(got, [&chain[0][..], &chain[1][..]]);
        assert!(done.is_empty());
    }
}
