//! TLS decryption with NSS key logs against real captures in
//! `../shared/captures` (read in place, never copied): Zeek's TLS 1.2
//! decryption trace (ECDHE-RSA-AES256-GCM-SHA384) and The Illustrated TLS
//! 1.3 capture (TLS_AES_256_GCM_SHA384), once with a key log file and once with the
//! key log inside a pcapng Decryption Secrets Block. The expected plaintext
//! is what tshark shows with the same key logs. When `../shared` is absent
//! the tests say so and pass.

mod common;

use std::path::{Path, PathBuf};

use telltale_decode::CaptureReader;
use telltale_flow::{Dir, FlowEventKind};
use telltale_proto::keylog::KeyLog;
use telltale_proto::tls_decrypt::{DecryptStatus, TlsDecryptor};

fn capture(name: &str) -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/captures")
        .join(name);
    if path.is_file() {
        Some(path)
    } else {
        eprintln!("SKIPPED: {} is absent", path.display());
        None
    }
}

/// One TCP connection's decryptor and what it returned per direction.
struct Conn {
    tls: TlsDecryptor,
    plain: [Vec<u8>; 2],
    chunks: [usize; 2],
}

/// Runs every TCP flow of a capture through a [`TlsDecryptor`] as the
/// dissectors would: both directions in capture order, gaps reported.
/// `keys` is `None` to use the key log the capture carries itself.
fn decrypt(path: &Path, keys: Option<KeyLog>) -> Vec<Conn> {
    let keys = keys.unwrap_or_else(|| {
        // A Decryption Secrets Block may come anywhere before the packets it
        // serves; read the whole capture once for them.
        let mut reader = CaptureReader::open(path).expect("open capture");
        while reader.next_frame().expect("read capture").is_some() {}
        KeyLog::from_capture_secrets(reader.secrets())
    });
    assert!(!keys.is_empty(), "{}: no key log", path.display());
    let new = || Conn {
        tls: TlsDecryptor::new(),
        plain: Default::default(),
        chunks: [0; 2],
    };
    common::per_flow(path, new, |conn, e| match e.kind {
        FlowEventKind::Data { dir, bytes, .. } => {
            for p in conn.tls.feed(&keys, dir, bytes) {
                conn.chunks[p.dir.index()] += 1;
                conn.plain[p.dir.index()].extend(p.bytes);
            }
        }
        FlowEventKind::Gap { dir, .. } => conn.tls.gap(dir),
        _ => {}
    })
}

#[test]
fn zeek_tls12_aes256_gcm() {
    let (Some(pcap), Some(keys)) = (
        capture("zeek-tls12-decryption.pcap"),
        capture("zeek-tls12-decryption.keys"),
    ) else {
        return;
    };
    let keys = KeyLog::parse(&std::fs::read(keys).expect("read keys"));
    let conns = decrypt(&pcap, Some(keys));
    assert_eq!(conns.len(), 1);
    let c = &conns[0];
    assert_eq!(
        c.tls.status(),
        DecryptStatus::Decrypting {
            version: 0x0303,
            cipher_suite: 0xc030
        }
    );
    let request = String::from_utf8_lossy(&c.plain[Dir::ToServer.index()]);
    let response = String::from_utf8_lossy(&c.plain[Dir::ToClient.index()]);
    assert!(
        request.starts_with("GET / HTTP/1.1\r\nHost: heise.de\r\n"),
        "{request}"
    );
    assert!(request.ends_with("\r\n\r\n"));
    assert_eq!(request.len(), 323);
    assert!(
        response.starts_with("HTTP/1.1 301 Moved Permanently\r\n"),
        "{response}"
    );
    assert!(response.contains("Location: https://www.heise.de/\r\n"));
    assert!(response.ends_with("</body></html>\n"));
    assert_eq!(response.len(), 602);
    // The client's Finished, request and close_notify; no record failed.
    let client = c.tls.stats(Dir::ToServer);
    assert_eq!((client.records, client.undecryptable), (3, 0));
    assert_eq!(c.tls.stopped(Dir::ToServer), None);
    assert_eq!(c.tls.stopped(Dir::ToClient), None);
}

fn check_illustrated(conns: &[Conn]) {
    assert_eq!(conns.len(), 1);
    let c = &conns[0];
    assert_eq!(
        c.tls.status(),
        DecryptStatus::Decrypting {
            version: 0x0304,
            cipher_suite: 0x1302
        }
    );
    assert_eq!(c.plain[Dir::ToServer.index()], b"ping");
    assert_eq!(c.plain[Dir::ToClient.index()], b"pong");
    assert_eq!(c.chunks, [1, 1]);
    // Client: Finished, "ping"; server: EncryptedExtensions…Finished in
    // four records, two tickets, "pong". Nothing failed.
    let (client, server) = (c.tls.stats(Dir::ToServer), c.tls.stats(Dir::ToClient));
    assert_eq!((client.records, client.undecryptable), (2, 0));
    assert_eq!((server.records, server.undecryptable), (7, 0));
}

#[test]
fn illustrated_tls13_with_key_log_file() {
    let (Some(pcap), Some(keys)) = (
        capture("illustrated-tls13-capture.pcap"),
        capture("illustrated-tls13-capture.keys"),
    ) else {
        return;
    };
    let keys = KeyLog::parse(&std::fs::read(keys).expect("read keys"));
    assert_eq!(keys.len(), 1);
    assert_eq!(keys.stats().ignored, 1); // EXPORTER_SECRET
    check_illustrated(&decrypt(&pcap, Some(keys)));
}

#[test]
fn illustrated_tls13_with_decryption_secrets_block() {
    let Some(pcapng) = capture("illustrated-tls13-capture-dsb.pcapng") else {
        return;
    };
    check_illustrated(&decrypt(&pcapng, None));
}
