//! TLS: the `TlsReader` walking a stream (records, ClientHello, ServerHello,
//! alerts, SSLv2 hellos, the TLS <= 1.2 Certificate message) cut into chunks
//! by the input's first bytes, with an optional gap; the hello parsers on
//! the raw bytes; certificate parsing; JA3/JA3S/JA4 on whatever parsed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use telltale_fuzz::{Cursor, chunks};
use telltale_proto::fingerprint::{self, Transport};
use telltale_proto::tls::{self, Certificate, ClientHello, TlsEvent, TlsReader};

fn hello(ch: &ClientHello) {
    std::hint::black_box(fingerprint::ja3(ch).to_string());
    std::hint::black_box(fingerprint::ja4(ch, Transport::Tcp).to_string());
    std::hint::black_box(fingerprint::ja4(ch, Transport::Quic).to_string());
}

fn cert(c: &Certificate) {
    for name in c.san_dns.iter().take(4) {
        std::hint::black_box(c.matches_name(name));
    }
    std::hint::black_box(c.matches_name("www.example.com"));
}

fuzz_target!(|data: &[u8]| {
    let mut c = Cursor::new(data);
    let nsizes = usize::from(c.u8() & 7);
    let sizes: Vec<u8> = (0..nsizes).map(|_| c.u8()).collect();
    let gap_at = usize::from(c.u8());
    let stream = c.rest();

    let mut reader = TlsReader::new();
    let mut fed = 0usize;
    for (i, chunk) in chunks(stream, &sizes).into_iter().enumerate() {
        if i > 0 && i == gap_at {
            reader.gap(chunk.len() as u64);
            fed += chunk.len();
            assert!(reader.done());
            continue;
        }
        for e in reader.feed(chunk) {
            match &e {
                TlsEvent::ClientHello(ch) => hello(ch),
                TlsEvent::ServerHello(sh) => {
                    std::hint::black_box((fingerprint::ja3s(sh).to_string(), sh.version()));
                }
                TlsEvent::Certificates(certs) => {
                    assert!(!certs.is_empty() && certs.len() <= tls::MAX_CHAIN_CERTS);
                    certs.iter().for_each(cert);
                }
                _ => {}
            }
        }
        fed += chunk.len();
        assert!(reader.offset() <= fed as u64, "offset past the bytes fed");
    }
    std::hint::black_box((reader.error(), tls::is_tls_start(stream)));

    if let Some(ch) = tls::parse_client_hello(stream) {
        hello(&ch);
    }
    if let Some(sh) = tls::parse_server_hello(stream) {
        std::hint::black_box(fingerprint::ja3s(&sh).to_string());
    }
    cert(&Certificate::from_der(stream));
});
