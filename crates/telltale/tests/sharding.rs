//! One capture split by address pair across threads gives byte-identical output to
//! one thread, for every fixture and for a generated multi-flow capture.

use std::path::{Path, PathBuf};

use telltale::detect::DeviceProfile;
use telltale::report::{
    write_destinations_csv, write_flows_csv, write_identifiers_csv, write_jsonl,
};
use telltale::{Analyzer, AnalyzerBuilder, Report};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

fn render(report: &Report) -> Vec<u8> {
    let mut out = Vec::new();
    write_jsonl(report, &mut out).unwrap();
    write_flows_csv(report, &mut out).unwrap();
    write_identifiers_csv(report, &mut out).unwrap();
    write_destinations_csv(report, &mut out).unwrap();
    out
}

fn builder(threads: usize) -> AnalyzerBuilder {
    let text =
        std::fs::read_to_string(fixtures().join("../docs/device-profile.example.toml")).unwrap();
    let profile = DeviceProfile::from_toml(&text).unwrap();
    Analyzer::builder()
        .identifiers(Some(&profile))
        .threads(threads)
}

fn analyzer(threads: usize) -> Analyzer {
    builder(threads).build()
}

#[test]
fn every_fixture_is_the_same_split_across_threads() {
    let one = analyzer(1);
    let many = [analyzer(2), analyzer(3), analyzer(5)];
    let mut checked = 0;
    for entry in std::fs::read_dir(fixtures()).unwrap() {
        let path = entry.unwrap().path();
        if !telltale::is_capture_file(&path).unwrap_or(false) {
            continue;
        }
        let want = one.analyze([&path]).unwrap();
        let want_bytes = render(&want);
        for a in &many {
            let got = a.analyze([&path]).unwrap();
            assert_eq!(got.captures[0].packets, want.captures[0].packets);
            assert_eq!(
                got.captures[0].decode,
                want.captures[0].decode,
                "{}",
                path.display()
            );
            assert_eq!(
                got.captures[0].flow_table.flows,
                want.captures[0].flow_table.flows
            );
            assert!(
                render(&got) == want_bytes,
                "{} differs when split across threads",
                path.display()
            );
        }
        checked += 1;
    }
    assert!(checked >= 30);
}

/// A capture of thousands of flows and DNS messages (more records than one
/// block of the parallel JSON Lines writer), as a plain file (each shard
/// reads it) and gzip-compressed (read once and routed): the same report
/// and the same bytes from the parallel writer as from the serial one.
#[test]
fn a_large_capture_is_the_same_on_any_thread_count() {
    let dir = std::env::temp_dir().join(format!("telltale-sharding-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bytes = telltale_fixtures::adversarial::dns_compression_loop(6_000);
    let plain = dir.join("many.pcap");
    std::fs::write(&plain, &bytes).unwrap();
    let gz = dir.join("many.pcap.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut enc, &bytes).unwrap();
    std::fs::write(&gz, enc.finish().unwrap()).unwrap();
    for path in [&plain, &gz] {
        let one = analyzer(1);
        let want = one.analyze([path]).unwrap();
        assert!(want.captures[0].events.len() > 5_000);
        let want_bytes = render(&want);
        for threads in [2, 3] {
            let a = analyzer(threads);
            let got = a.analyze([path]).unwrap();
            assert!(
                render(&got) == want_bytes,
                "{} on {threads} threads",
                path.display()
            );
            let mut parallel = Vec::new();
            a.write_jsonl(&got, &mut parallel).unwrap();
            let mut serial = Vec::new();
            write_jsonl(&got, &mut serial).unwrap();
            assert!(parallel == serial, "parallel JSON Lines differ");
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A clock that jumps ahead (alone, or to stay) and steps back (minutes, or
/// decades) across hundreds of conversations, as pcap (framed by every
/// shard, timed by the shared placement), pcapng (frames placed one at a
/// time) and gzip (timed by the one reader), and once across thousands
/// (many chunks, the placement's ring reused): flows end, go idle and are
/// swept as on one thread, collected or sorted as they end (each shard
/// then following the others' DNS). Found by the `split_identity` fuzz
/// target: each shard's table judged the capture's time by its own
/// packets.
#[test]
fn a_clock_that_jumps_and_steps_back_ends_flows_as_one_thread_does() {
    use telltale_fixtures::adversarial::{clock_jumps, clock_jumps_pcapng};
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (seed, n) in [(1, 300), (2, 300), (3, 300), (4, 1_500)] {
        let bytes = clock_jumps(n, seed);
        let plain = dir.path().join(format!("clock-{seed}.pcap"));
        std::fs::write(&plain, &bytes).unwrap();
        let gz = dir.path().join(format!("clock-{seed}.pcap.gz"));
        std::fs::write(&gz, telltale_fixtures::captures::gzip(&bytes)).unwrap();
        let ng = dir.path().join(format!("clock-{seed}.pcapng"));
        std::fs::write(&ng, clock_jumps_pcapng(n, seed)).unwrap();
        files.extend([plain, gz, ng]);
    }
    let sorted = |threads| {
        builder(threads)
            .collect_limit(0)
            .sort_memory(64 << 10)
            .build()
    };
    for path in &files {
        let one = analyzer(1);
        let want = one.analyze([path]).unwrap();
        let c = &want.captures[0];
        // Lone jumps (never believed) and month jumps (believed by the
        // next time ahead) both count.
        assert!(c.flow_table.time_jumps > 10, "{:?}", c.flow_table);
        assert!(c.flow_table.timed_out > 10, "{:?}", c.flow_table);
        let want_bytes = render(&want);
        let mut want_jsonl = Vec::new();
        one.write_jsonl(&want, &mut want_jsonl).unwrap();
        for threads in [2, 3, 5] {
            let got = analyzer(threads).analyze([path]).unwrap();
            let g = &got.captures[0].flow_table;
            assert_eq!(
                (g.time_jumps, g.timed_out),
                (c.flow_table.time_jumps, c.flow_table.timed_out)
            );
            assert!(
                render(&got) == want_bytes,
                "{} on {threads} threads",
                path.display()
            );
        }
        for threads in [1, 2, 3] {
            let mut got = Vec::new();
            sorted(threads).analyze_jsonl([path], &mut got).unwrap();
            assert!(
                got == want_jsonl,
                "{} sorted on {threads} threads",
                path.display()
            );
        }
    }
}

/// A capture larger than the ring of chunks the shards of a plain file
/// share (4 MiB), with one heavy flow: the shard that has it falls far
/// behind the other, which must wait for it rather than reuse a chunk it
/// has not framed yet. The same bytes on any thread count.
#[test]
fn a_capture_larger_than_the_shared_ring_is_the_same_on_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("leak.pcap");
    let bytes = telltale_fixtures::adversarial::endless_leak(28_000);
    assert!(bytes.len() > 8 << 20, "{} bytes", bytes.len());
    std::fs::write(&path, &bytes).unwrap();
    let want = analyzer(1).analyze([&path]).unwrap();
    assert!(want.captures[0].identifiers.len() > 25_000);
    let want_bytes = render(&want);
    for threads in [2, 3] {
        let got = analyzer(threads).analyze([&path]).unwrap();
        assert_eq!(got.captures[0].packets, want.captures[0].packets);
        assert!(render(&got) == want_bytes, "{threads} threads");
    }
}

/// Fails every write once `left` bytes have been taken.
struct FailingWriter {
    left: usize,
}

impl std::io::Write for FailingWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            return Err(std::io::Error::other("disk full"));
        }
        let n = buf.len().min(self.left);
        self.left -= n;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The parallel JSON Lines writer stops at a failed write and says so, its
/// threads stopping too: were one left waiting to hand over a block nobody
/// takes, the test fails at a timeout instead of hanging.
#[test]
fn the_parallel_writer_stops_at_a_failed_write() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("many.pcap");
    std::fs::write(
        &path,
        telltale_fixtures::adversarial::dns_compression_loop(6_000),
    )
    .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let a = analyzer(3);
        let report = a.analyze([&path]).unwrap();
        let mut whole = Vec::new();
        a.write_jsonl(&report, &mut whole).unwrap();
        assert!(whole.len() > 1 << 20, "{} bytes", whole.len());
        for left in [0, 1000, whole.len() / 2, whole.len() - 1] {
            let err = a
                .write_jsonl(&report, &mut FailingWriter { left })
                .unwrap_err();
            assert_eq!(err.to_string(), "disk full", "after {left} bytes");
        }
        a.write_jsonl(&report, &mut FailingWriter { left: whole.len() })
            .unwrap();
        tx.send(()).unwrap();
    });
    rx.recv_timeout(std::time::Duration::from_secs(120))
        .expect("the writer returned every time");
}

/// `flows` DNS exchanges over UDP, IPv4 and IPv6 in turn, each a whole
/// query and an answer cut into fragments, then a datagram to the address
/// answered; their frames interleaved so that fragments of one answer fall
/// between other flows' packets.
fn fragmented_answers(flows: u16) -> Vec<u8> {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
    use telltale_fixtures::dns::{DnsMessage, RData, Record};
    use telltale_fixtures::ip::{ipv4_fragments, ipv6_fragments, udp_datagram, udp_packet};
    use telltale_fixtures::link::{Direction, Framing};
    use telltale_fixtures::pcap::{Endian, PcapWriter, TsResolution};
    let framing = Framing::ethernet([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]);
    let mut w = PcapWriter::new(
        Endian::Little,
        TsResolution::Micro,
        framing.linktype(),
        65535,
    );
    let mut frames: Vec<Vec<Vec<u8>>> = Vec::new();
    for i in 0..flows {
        let name = format!("host{i}.example");
        let addr = Ipv4Addr::new(93, 184, (i >> 8) as u8, i as u8);
        let query = DnsMessage::query(i, &name, 16);
        let txt = format!("record {i} of {flows}");
        let answer = query
            .response()
            .answer(Record::new(&name, 60, RData::Txt(vec![txt; 6])))
            .answer(Record::new(&name, 60, RData::A(addr)))
            .to_bytes();
        let port = 20_000 + i;
        let mut flow = Vec::new();
        if i % 2 == 0 {
            let (client, server) = (Ipv4Addr::new(10, 0, 0, 5), Ipv4Addr::new(10, 0, 0, 1));
            let c = SocketAddr::new(IpAddr::V4(client), port);
            let s = SocketAddr::new(IpAddr::V4(server), 53);
            flow.push(framing.frame(Direction::Outbound, &udp_packet(c, s, i, &query.to_bytes())));
            let udp = udp_datagram(s, c, &answer);
            for f in ipv4_fragments(server, client, 17, i, &udp, &[48, 96]) {
                flow.push(framing.frame(Direction::Inbound, &f));
            }
        } else {
            let client = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 5);
            let server = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
            let c = SocketAddr::new(IpAddr::V6(client), port);
            let s = SocketAddr::new(IpAddr::V6(server), 53);
            flow.push(framing.frame(Direction::Outbound, &udp_packet(c, s, i, &query.to_bytes())));
            let udp = udp_datagram(s, c, &answer);
            for f in ipv6_fragments(server, client, 17, u32::from(i), &udp, &[48, 96]) {
                flow.push(framing.frame(Direction::Inbound, &f));
            }
        }
        // Then a datagram to the address answered: a flow named by the
        // answer, often on another shard than the DNS flow.
        let c = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 5)), 30_000 + i);
        let s = SocketAddr::new(IpAddr::V4(addr), 443);
        flow.push(framing.frame(Direction::Outbound, &udp_packet(c, s, i, b"hello")));
        frames.push(flow);
    }
    // Round robin over the flows, a frame of each at a time.
    let mut ts = 1_700_000_000_000_000_000u64;
    for step in 0..5 {
        for flow in &frames {
            if let Some(f) = flow.get(step) {
                w.packet(ts, f);
                ts += 10_000;
            }
        }
    }
    w.into_bytes()
}

/// Fragments are put together whatever shard their datagram's pair is on
/// (every shard decodes every fragment and keeps its own pairs'), with
/// the capture's reassembly limits: a flood past those limits counts the
/// same on any thread count, and flows whose answers come in fragments
/// stay whole and name the flows to the addresses answered, collected
/// from a plain file and gzip-compressed (read once and routed), and
/// streamed from a plain file (each shard following the others' DNS; a
/// streamed gzip file is read on one thread).
#[test]
fn fragments_are_the_same_on_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for (name, bytes) in [
        ("answers.pcap", fragmented_answers(400)),
        (
            "flood-v4.pcap",
            telltale_fixtures::adversarial::frag_flood_v4(9_000),
        ),
        (
            "flood-v6.pcap",
            telltale_fixtures::adversarial::frag_flood_v6(9_000),
        ),
    ] {
        let plain = dir.path().join(name);
        std::fs::write(&plain, &bytes).unwrap();
        let gz = dir.path().join(format!("{name}.gz"));
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut enc, &bytes).unwrap();
        std::fs::write(&gz, enc.finish().unwrap()).unwrap();
        paths.push(plain);
        paths.push(gz);
    }
    for path in &paths {
        let want = analyzer(1).analyze([path]).unwrap();
        let capture = &want.captures[0];
        if path.to_string_lossy().contains("answers") {
            assert_eq!(capture.flows.len(), 800, "{}", path.display());
            let named = capture.flows.iter().filter(|f| {
                f.server_name
                    .name
                    .as_deref()
                    .is_some_and(|n| n.starts_with("host"))
            });
            assert_eq!(named.count(), 400, "every datagram to an answered address");
            assert_eq!(capture.decode.defrag.reassembled, 400);
            assert!(capture.events.len() >= 800, "{}", capture.events.len());
        } else {
            assert!(capture.decode.defrag.evicted > 0, "{}", path.display());
        }
        let want_bytes = render(&want);
        // Streamed, each shard following the other shards' DNS flows
        // (reassembled answers among them) to name its own as they end.
        let mut want_jsonl = Vec::new();
        write_jsonl(&want, &mut want_jsonl).unwrap();
        for threads in [1, 2, 3] {
            let streaming = builder(threads).collect_limit(0).build();
            let mut got = Vec::new();
            let report = streaming.analyze_jsonl([path], &mut got).unwrap();
            assert!(report.captures[0].flows.is_empty(), "streamed");
            assert!(
                got == want_jsonl,
                "{} streamed on {threads} threads",
                path.display()
            );
        }
        for threads in [2, 3, 4] {
            let got = analyzer(threads).analyze([path]).unwrap();
            assert_eq!(
                got.captures[0].decode,
                capture.decode,
                "{} on {threads} threads",
                path.display()
            );
            assert!(
                render(&got) == want_bytes,
                "{} on {threads} threads",
                path.display()
            );
        }
    }
}

/// Past the flow table's limit, which flows a full table ends depends on
/// how the capture was split (each shard has its share of the limit), so
/// the split must be the same every run: a SYN flood of more address
/// pairs than the placement table holds (those beyond go by hash) gives
/// the same report every time at two threads, plain and gzip-compressed.
#[test]
fn a_flood_past_the_flow_limit_is_split_the_same_every_run() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = telltale_fixtures::adversarial::syn_flood(60_000);
    let plain = dir.path().join("flood.pcap");
    std::fs::write(&plain, &bytes).unwrap();
    let gz = dir.path().join("flood.pcap.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut enc, &bytes).unwrap();
    std::fs::write(&gz, enc.finish().unwrap()).unwrap();
    let config = telltale::flow::FlowConfig {
        max_flows: 4_000,
        ..Default::default()
    };
    for path in [&plain, &gz] {
        let run = || {
            let report = Analyzer::builder()
                .no_identifiers()
                .no_geo()
                .flow_config(config)
                .threads(2)
                .build()
                .analyze([path])
                .unwrap();
            let evicted = report.captures[0].flow_table.evicted;
            let mut out = Vec::new();
            write_jsonl(&report, &mut out).unwrap();
            (evicted, out)
        };
        let (evicted, first) = run();
        assert!(evicted > 50_000, "the table filled: {evicted}");
        for _ in 0..2 {
            let (again_evicted, again) = run();
            assert_eq!(again_evicted, evicted, "{}", path.display());
            assert!(again == first, "{}: the report changed", path.display());
        }
    }
}
