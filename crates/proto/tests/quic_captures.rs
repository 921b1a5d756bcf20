//! QUIC Initial decryption against the project's own QUIC fixtures
//! (`fixtures/quic-*.pcap`) and against real captures from Zeek's and
//! Suricata's test suites (`../shared/captures`, read in place), checked
//! against the SNI tshark found (MANIFEST.json `quic_sni`). The real
//! captures are skipped with a message when they are not there.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use telltale_decode::{CaptureReader, Decoder, Transport};
use telltale_proto::quic::{QuicHello, QuicInitialReader, QuicServerHello, is_quic_initial};

fn captures_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/captures");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipped: {} is absent", dir.display());
        None
    }
}

#[derive(Default)]
struct Conn {
    client: Option<SocketAddr>,
    reader: QuicInitialReader,
    hello: Option<(u64, QuicHello)>,
    server_hello: Option<(u64, QuicServerHello)>,
}

/// Every QUIC connection of a capture (keyed by its unordered address
/// pair), with the frame numbers of its hellos.
fn read(name: &str) -> Option<Vec<Conn>> {
    Some(read_path(&captures_dir()?.join(name)))
}

fn fixture(name: &str) -> Vec<Conn> {
    read_path(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures")
            .join(name),
    )
}

fn read_path(path: &std::path::Path) -> Vec<Conn> {
    let name = path.display();
    let mut reader = CaptureReader::open(path).expect("opens");
    let mut decoder = Decoder::default();
    let mut conns: HashMap<(SocketAddr, SocketAddr), Conn> = HashMap::new();
    let mut order = Vec::new();
    loop {
        let frame = match reader.next_frame() {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => panic!("{name}: {e}"),
        };
        let Some(p) = decoder.decode(&frame) else {
            continue;
        };
        let Transport::Udp(u) = p.transport else {
            continue;
        };
        let src = SocketAddr::new(p.src, u.src_port);
        let dst = SocketAddr::new(p.dst, u.dst_port);
        let key = if src < dst { (src, dst) } else { (dst, src) };
        let conn = conns.entry(key).or_insert_with(|| {
            order.push(key);
            Conn::default()
        });
        if conn.client.is_none() {
            if !is_quic_initial(u.payload) {
                continue;
            }
            // The client is the side not on 443, else the first sender.
            conn.client = Some(if dst.port() == 443 || src.port() != 443 {
                src
            } else {
                dst
            });
        }
        if Some(src) == conn.client {
            if let Some(h) = conn.reader.feed(u.payload) {
                conn.hello = Some((p.frame, h));
            }
        } else if let Some(h) = conn.reader.feed_server(u.payload) {
            conn.server_hello = Some((p.frame, h));
        }
    }
    order
        .into_iter()
        .filter_map(|k| conns.remove(&k))
        .filter(|c| c.client.is_some())
        .collect()
}

fn snis(conns: &[Conn]) -> Vec<Option<String>> {
    conns
        .iter()
        .filter_map(|c| c.hello.as_ref())
        .map(|(_, h)| h.client_hello.sni.clone())
        .collect()
}

#[test]
fn chromium_v1() {
    let Some(conns) = read("zeek-quic-chromium-115-api-cirrus-com.pcap") else {
        return;
    };
    assert_eq!(conns.len(), 1);
    let c = &conns[0];
    let (frame, h) = c.hello.as_ref().expect("ClientHello");
    assert_eq!(*frame, 1);
    assert_eq!(h.version, 1);
    assert_eq!(h.client_hello.sni.as_deref(), Some("api.cirrus-ci.com"));
    assert_eq!(h.client_hello.alpn, ["h3"]);
    let (sframe, sh) = c.server_hello.as_ref().expect("ServerHello");
    assert_eq!(*sframe, 2);
    assert_eq!(sh.server_hello.selected_version, Some(0x0304));
    assert!(c.reader.done());
}

#[test]
fn client_hello_over_three_initials() {
    let Some(conns) = read("zeek-quic-multiple-initial-fragmented-crypto.pcap") else {
        return;
    };
    assert_eq!(
        snis(&conns),
        [Some("googleads.g.doubleclick.net".to_owned())]
    );
    let (frame, h) = conns[0].hello.as_ref().unwrap();
    assert_eq!(*frame, 3);
    assert_eq!((h.first_datagram, h.last_datagram), (1, 3));
}

#[test]
fn version_2() {
    let Some(conns) = read("zeek-quicv2-http3-443.pcap") else {
        return;
    };
    // Zeek logs no server_name here (the client sent none), ALPN h3, and
    // TLS_AES_128_GCM_SHA256 with x25519; tshark 4.0 cannot decrypt v2.
    assert_eq!(conns.len(), 1);
    let c = &conns[0];
    let (frame, h) = c.hello.as_ref().expect("ClientHello");
    assert_eq!(*frame, 1);
    assert_eq!(h.version, 0x6b33_43cf);
    assert_eq!(
        h.dcid,
        [
            0xbd, 0xf0, 0xc5, 0xb2, 0x79, 0x27, 0xcc, 0x66, 0x7e, 0x58, 0xd9, 0x5b
        ]
    );
    assert_eq!(h.client_hello.sni, None);
    assert_eq!(h.client_hello.alpn, ["h3"]);
    let (_, sh) = c.server_hello.as_ref().expect("ServerHello");
    assert_eq!(sh.version, 0x6b33_43cf);
    assert_eq!(sh.server_hello.cipher_suite, 0x1301);
    assert_eq!(sh.server_hello.key_share_group, Some(0x001d));
}

#[test]
fn suricata_quic_ietf() {
    let Some(conns) = read("suricata-verify-quic-ietf.pcap") else {
        return;
    };
    assert_eq!(snis(&conns), [Some("msquic.net".to_owned())]);
    // The manifest calls it draft-29, but the packets say version 1.
    assert_eq!(conns[0].hello.as_ref().unwrap().1.version, 1);
}

#[test]
fn truncated_capture_keeps_what_is_whole() {
    let Some(conns) = read("truncated-suricata-verify-quic-ietf.pcap") else {
        return;
    };
    assert_eq!(snis(&conns), [Some("msquic.net".to_owned())]);
}

#[test]
fn fixture_split_hello() {
    let conns = fixture("quic-split-hello.pcap");
    assert_eq!(conns.len(), 1);
    let c = &conns[0];
    let (frame, h) = c.hello.as_ref().expect("ClientHello");
    assert_eq!(*frame, 2);
    assert_eq!((h.first_datagram, h.last_datagram), (1, 2));
    assert_eq!(h.version, 1);
    assert_eq!(h.dcid, [0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8]);
    assert_eq!(h.scid, [0xc1, 0xc2, 0xc3, 0xc4]);
    assert_eq!(h.client_hello.sni.as_deref(), Some("quic-split.example"));
    assert_eq!(h.client_hello.alpn, ["h3"]);
    assert_eq!(h.client_hello.cipher_suites, [0x1301, 0x1302, 0x1303]);
    assert!(h.client_hello.extensions.contains(&0x39));
    let (sframe, sh) = c.server_hello.as_ref().expect("ServerHello");
    assert_eq!(*sframe, 3);
    assert_eq!(sh.scid, [0x5e, 0, 0, 1]);
    assert_eq!(sh.server_hello.cipher_suite, 0x1301);
    assert_eq!(sh.server_hello.selected_version, Some(0x0304));
    assert!(c.reader.done());
}

#[test]
fn fixture_reordered_crypto() {
    let conns = fixture("quic-reordered-crypto.pcap");
    assert_eq!(conns.len(), 1);
    let c = &conns[0];
    let (frame, h) = c.hello.as_ref().expect("ClientHello");
    assert_eq!(*frame, 1);
    assert_eq!(
        h.client_hello.sni.as_deref(),
        Some("quic-reordered.example")
    );
    assert_eq!(h.client_hello.alpn, ["h3"]);
    assert_eq!(h.dcid, [0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8]);
    // Frame 2 (PING + PADDING Initial, 0-RTT) comes after the hello: the
    // reader was done and did not look at it.
    assert_eq!(c.reader.stats().client_datagrams, 1);
    let (sframe, _) = c.server_hello.as_ref().expect("ServerHello");
    assert_eq!(*sframe, 3);
}

#[test]
fn fixture_v2() {
    let conns = fixture("quic-v2.pcap");
    assert_eq!(conns.len(), 1);
    let c = &conns[0];
    let (frame, h) = c.hello.as_ref().expect("ClientHello");
    assert_eq!(*frame, 1);
    assert_eq!(h.version, 0x6b33_43cf);
    assert_eq!(h.client_hello.sni.as_deref(), Some("quic-v2.example"));
    let (_, sh) = c.server_hello.as_ref().expect("ServerHello");
    assert_eq!(sh.version, 0x6b33_43cf);
    assert_eq!(sh.scid, [0x5e, 0, 0, 3]);
}
