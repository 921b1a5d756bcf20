//! Fills `fuzz/corpus/<target>/` with seeds taken from the project's
//! fixtures (`fixtures/*.pcap*`): frames, TCP streams and UDP datagrams
//! recovered with `telltale-decode` and `telltale-flow`, each framed the way
//! its target reads its input, plus a few synthetic seeds where fixtures
//! have none (fragments, segment sequences, QUIC plaintext, bodies).
//!
//! Usage: `cargo run --example seed -- FIXTURES_DIR CORPUS_DIR` (seed.sh).

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use telltale_decode::{CaptureReader, Decoder};
use telltale_fixtures::SplitMix64;
use telltale_fixtures::tls as tlsgen;
use telltale_flow::{Dir, FlowEvent, FlowEventKind, FlowTable, Proto};
use telltale_proto::http::{HttpEvent, HttpRequestReader};

/// The link selectors of the `decode_packet` target (index = first byte).
const LINKS: [u32; 12] = [0, 1, 101, 108, 113, 228, 229, 239, 276, 12, 14, u32::MAX];

#[derive(Default)]
struct FlowData {
    proto: Option<Proto>,
    client_port: u16,
    server_port: u16,
    streams: [Vec<u8>; 2],
    datagrams: Vec<(Dir, Vec<u8>)>,
}

struct Corpus {
    root: PathBuf,
    count: BTreeMap<&'static str, usize>,
}

impl Corpus {
    fn add(&mut self, target: &'static str, name: &str, bytes: &[u8]) {
        let dir = self.root.join(target);
        fs::create_dir_all(&dir).expect("create corpus dir");
        fs::write(dir.join(name), bytes).expect("write seed");
        *self.count.entry(target).or_default() += 1;
    }
}

fn be16(v: usize) -> [u8; 2] {
    u16::try_from(v.min(65_535)).expect("clamped").to_be_bytes()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let fixtures = Path::new(args.get(1).map_or("../fixtures", |s| s.as_str()));
    let mut corpus = Corpus {
        root: PathBuf::from(args.get(2).map_or("corpus", |s| s.as_str())),
        count: BTreeMap::new(),
    };
    let mut files: Vec<PathBuf> = fs::read_dir(fixtures)
        .expect("fixtures dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let n = p.file_name().unwrap_or_default().to_string_lossy();
            n.ends_with(".pcap") || n.ends_with(".pcapng") || n.ends_with(".pcap.gz")
        })
        .collect();
    files.sort();
    for path in &files {
        let stem = path.file_name().unwrap_or_default().to_string_lossy().replace('.', "_");
        let bytes = fs::read(path).expect("read fixture");
        corpus.add("capture_reader", &stem, &bytes);
        corpus.add("full_pipeline", &stem, &bytes);
        corpus.add("split_identity", &stem, &bytes);
        from_capture(path, &stem, &mut corpus);
    }
    synthetic(&mut corpus);
    for (target, n) in &corpus.count {
        println!("{target:16} {n:5} seeds");
    }
}

fn from_capture(path: &Path, stem: &str, corpus: &mut Corpus) {
    let Ok(mut reader) = CaptureReader::open(path) else {
        return;
    };
    let mut decoder = Decoder::default();
    let mut table = FlowTable::default();
    let mut flows: BTreeMap<u64, FlowData> = BTreeMap::new();
    let mut sink = |e: FlowEvent<'_>| {
        let f = flows.entry(e.flow.id.0).or_default();
        f.proto = Some(e.flow.proto);
        f.client_port = e.flow.client.port();
        f.server_port = e.flow.server.port();
        match e.kind {
            FlowEventKind::Data { dir, bytes, .. } => {
                f.streams[dir.index()].extend_from_slice(bytes);
            }
            FlowEventKind::Datagram { dir, bytes } => f.datagrams.push((dir, bytes.to_vec())),
            _ => {}
        }
    };
    let mut n = 0;
    while let Ok(Some(frame)) = reader.next_frame() {
        n += 1;
        // decode_packet: link selector, wire-length mode 0, frame bytes.
        let mut seed = match LINKS.iter().position(|&l| l == frame.link.0) {
            Some(i) => vec![i as u8],
            None => {
                let mut s = vec![12];
                s.extend_from_slice(&(frame.link.0 as u16).to_be_bytes());
                s
            }
        };
        seed.push(0);
        seed.extend_from_slice(frame.data);
        if n <= 16 {
            corpus.add("decode_packet", &format!("{stem}-{n}"), &seed);
        }
        if let Some(p) = decoder.decode(&frame) {
            table.push(&p, &mut sink);
        }
    }
    table.finish(&mut sink);

    for (id, f) in &flows {
        let name = format!("{stem}-{id}");
        let ports = [f.client_port, f.server_port];
        match f.proto {
            Some(Proto::Tcp) => {
                let [up, down] = &f.streams;
                if up.is_empty() && down.is_empty() {
                    continue;
                }
                if ports.contains(&53) {
                    for (d, s) in [("up", up), ("down", down)] {
                        let mut seed = vec![0];
                        seed.extend_from_slice(s);
                        corpus.add("dns", &format!("{name}-{d}"), &seed);
                    }
                }
                if telltale_proto::tls::is_tls_start(up) {
                    for (d, s) in [("up", up), ("down", down)] {
                        let mut seed = vec![0, 0];
                        seed.extend_from_slice(s);
                        corpus.add("tls", &format!("{name}-{d}"), &seed);
                    }
                }
                if telltale_proto::http::is_http_request_start(up) {
                    let mut seed = vec![0];
                    seed.extend_from_slice(&be16(up.len()));
                    seed.extend_from_slice(&up[..up.len().min(65_535)]);
                    seed.extend_from_slice(down);
                    corpus.add("http", &name, &seed);
                    identifiers_seeds(up, &name, corpus);
                }
            }
            Some(Proto::Udp) => {
                if ports.contains(&53) || ports.contains(&5353) || ports.contains(&5355) {
                    for (i, (_, d)) in f.datagrams.iter().enumerate() {
                        corpus.add("dns", &format!("{name}-{i}"), d);
                    }
                }
                if ports.iter().any(|p| [67, 68, 546, 547].contains(p)) {
                    for (i, (_, d)) in f.datagrams.iter().enumerate() {
                        corpus.add("dhcp", &format!("{name}-{i}"), d);
                    }
                }
                let quic = f
                    .datagrams
                    .first()
                    .is_some_and(|(_, d)| telltale_proto::quic::is_quic_initial(d));
                if quic {
                    // quic: no original DCID (raw datagrams carry their own),
                    // then each datagram: direction, length, bytes.
                    let mut seed = vec![0];
                    for (dir, d) in f.datagrams.iter().take(12) {
                        seed.push(if *dir == Dir::ToServer { 0 } else { 1 });
                        seed.extend_from_slice(&be16(d.len()));
                        seed.extend_from_slice(d);
                    }
                    corpus.add("quic", &name, &seed);
                }
            }
            None => {}
        }
    }
}

/// identifiers: the request's URL, headers and body in the target's layout.
fn identifiers_seeds(stream: &[u8], name: &str, corpus: &mut Corpus) {
    let mut reader = HttpRequestReader::new();
    let mut heads = Vec::new();
    let mut body = Vec::new();
    for e in reader.feed(stream) {
        match e {
            HttpEvent::Head(r) => heads.push(r),
            HttpEvent::Body(b) if heads.len() == 1 => body.extend_from_slice(b),
            _ => {}
        }
    }
    let Some(r) = heads.first() else { return };
    let mut seed = Vec::new();
    let uri = &r.uri.as_bytes()[..r.uri.len().min(255)];
    seed.push(uri.len() as u8);
    seed.extend_from_slice(uri);
    let headers: Vec<_> = r.headers.iter().take(5).collect();
    seed.push(headers.len() as u8);
    for (n, v) in headers {
        let n = &n.as_bytes()[..n.len().min(31)];
        let v = &v[..v.len().min(255)];
        seed.extend_from_slice(&[n.len() as u8, v.len() as u8]);
        seed.extend_from_slice(n);
        seed.extend_from_slice(v);
    }
    let ct = match r.header("content-type") {
        Some(t) if t.starts_with(b"application/json") => 1,
        Some(_) => 0,
        None => 6,
    };
    seed.push(ct | 0x10);
    seed.extend_from_slice(&be16(body.len()));
    seed.extend_from_slice(&body);
    corpus.add("identifiers", name, &seed);
}

fn synthetic(corpus: &mut Corpus) {
    // defrag: one UDP datagram in three fragments, IPv4 and IPv6, in order
    // and reversed. Record: flags (v6, key, more, clock), protocol index,
    // offset in 8-byte units, length (0x80 | units of 8), payload.
    for v6 in [0u8, 1] {
        let mut udp = vec![0x30, 0x39, 0, 53, 0, 40, 0, 0];
        udp.extend_from_slice(&[b'x'; 32]);
        let frags = [(0u16, true, &udp[..16]), (2, true, &udp[16..32]), (4, false, &udp[32..])];
        let rec = |(off, more, data): (u16, bool, &[u8])| {
            let mut r = vec![v6 | if more { 8 } else { 0 }, 1];
            r.extend_from_slice(&off.to_be_bytes());
            r.push(data.len() as u8);
            r.extend_from_slice(data);
            r
        };
        let mut seed = vec![0];
        frags.iter().for_each(|f| seed.extend(rec(*f)));
        corpus.add("defrag", &format!("in-order-v{}", 4 + 2 * v6), &seed);
        let mut seed = vec![0];
        frags.iter().rev().for_each(|f| seed.extend(rec(*f)));
        corpus.add("defrag", &format!("reversed-v{}", 4 + 2 * v6), &seed);
    }

    // tcp_reassembly: handshake, data both ways (one out of order), FIN.
    // Record: flow/dir/clock, flags, seq mode, [seq], [ack], length.
    let mut seed = vec![0];
    let rec = |h: u8, flags: u8, len: u8| vec![h, flags, 0, 0, 0, len];
    for r in [
        rec(0x00, 0x02, 0),
        rec(0x04, 0x12, 0),
        rec(0x08, 0x10, 0),
        rec(0x08, 0x18, 100),
        rec(0x0c, 0x18, 200),
        rec(0x08, 0x11, 0),
        rec(0x0c, 0x11, 0),
    ] {
        seed.extend(r);
    }
    corpus.add("tcp_reassembly", "handshake-data-fin", &seed);
    let mut seed = vec![0];
    // A segment sent ahead (seq +50), then the hole filled by a retransmit.
    seed.extend([0x00, 0x02, 0, 0, 0, 0]);
    seed.extend([0x08, 0x18, 0x80, 50, 0, 30]);
    seed.extend([0x08, 0x18, 0, 0, 0, 80]);
    corpus.add("tcp_reassembly", "out-of-order", &seed);

    // quic: a ClientHello sealed in a v1 and a v2 Initial (CRYPTO frame at
    // offset 0, padded to 1200 bytes), original DCID of 8 bytes.
    let mut rng = SplitMix64::new(7);
    let ch = tlsgen::ClientHello::tls13(Some("fuzz.example"), &mut rng).handshake_bytes();
    for (v, bit) in [("v1", 0u8), ("v2", 4)] {
        let mut seed = vec![8];
        seed.extend_from_slice(b"\x83\x94\xc8\xf0\x3e\x51\x57\x08");
        seed.push(0x02 | 0x20 | 0x40 | bit);
        seed.push(0);
        seed.extend_from_slice(&be16(ch.len()));
        seed.extend_from_slice(&ch);
        seed.extend_from_slice(&[0, 0]);
        corpus.add("quic", &format!("sealed-hello-{v}"), &seed);
    }

    // tls: a ClientHello record stream and the hello body alone.
    let mut seed = vec![0, 0];
    seed.extend_from_slice(&tlsgen::ClientHello::tls12(Some("fuzz.example"), &mut rng).record_bytes());
    corpus.add("tls", "client-hello-tls12", &seed);

    // body: gzip and zlib of a form body with identifiers.
    let text = b"imei=865123456789019&phone=%2B8613812345678&mac=64:cc:2e:4a:7b:19".repeat(4);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&text).expect("gzip");
    let mut seed = vec![0, 0];
    seed.extend(gz.finish().expect("gzip"));
    corpus.add("body", "gzip", &seed);
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&text).expect("zlib");
    let mut seed = vec![1, 0];
    seed.extend(z.finish().expect("zlib"));
    corpus.add("body", "deflate", &seed);
    let mut seed = vec![4, 0];
    seed.extend_from_slice(&text);
    corpus.add("body", "identity", &seed);
    // The shortest brotli streams: empty, and "a" as an uncompressed block.
    corpus.add("body", "br-empty", &[2, 0, 0x06]);

    // dhcp: a minimal DHCPDISCOVER with a host name, and a DHCPv6 SOLICIT.
    let mut d = vec![1, 1, 6, 0, 0x12, 0x34, 0x56, 0x78];
    d.resize(28, 0);
    d.extend_from_slice(&[0x64, 0xcc, 0x2e, 0x4a, 0x7b, 0x19]);
    d.resize(236, 0);
    d.extend_from_slice(&[99, 130, 83, 99, 53, 1, 1, 12, 5, b'p', b'h', b'o', b'n', b'e', 255]);
    corpus.add("dhcp", "discover", &d);
    let v6 = [
        1, 0x12, 0x34, 0x56, 0, 1, 0, 10, 0, 3, 0, 1, 0x64, 0xcc, 0x2e, 0x4a, 0x7b, 0x19, 0, 39,
        0, 7, 0, 5, b'p', b'h', b'o', b'n', b'e',
    ];
    corpus.add("dhcp", "solicit-v6", &v6);
}
