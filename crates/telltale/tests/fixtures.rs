//! The pipeline on the project's own fixtures (see `fixtures/README.md` for
//! what each capture holds): exact values, one test per edge case.

use std::path::PathBuf;

use telltale::decode::{LinkType, WarningKind};
use telltale::detect::NameSource;
use telltale::flow::{EndReason, Proto};
use telltale::proto::{AppEventKind, HttpTransaction};
use telltale::{Analyzer, CaptureReport};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(name)
}

fn analyze(name: &str) -> CaptureReport {
    let report = Analyzer::builder()
        .threads(1)
        .build()
        .analyze([fixture(name)])
        .unwrap();
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    report.captures.into_iter().next().unwrap()
}

fn http(c: &CaptureReport) -> Vec<&HttpTransaction> {
    c.events
        .iter()
        .filter_map(|e| match &e.kind {
            AppEventKind::Http(h) => Some(h),
            _ => None,
        })
        .collect()
}

fn hosts(c: &CaptureReport) -> Vec<&str> {
    http(c).iter().filter_map(|h| h.host.as_deref()).collect()
}

fn snis(c: &CaptureReport) -> Vec<(&str, u64)> {
    c.events
        .iter()
        .filter_map(|e| match &e.kind {
            AppEventKind::Tls(t) => Some((t.sni().unwrap_or("-"), e.frame)),
            _ => None,
        })
        .collect()
}

fn dns_names(c: &CaptureReport) -> Vec<String> {
    let mut v: Vec<String> = c
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            AppEventKind::Dns(d) => d.message.questions.first().map(|q| q.name.clone()),
            _ => None,
        })
        .collect();
    v.sort();
    v.dedup();
    v
}

fn dns_answers(c: &CaptureReport) -> Vec<String> {
    let mut v = Vec::new();
    for e in &c.events {
        if let AppEventKind::Dns(d) = &e.kind {
            for a in &d.message.answers {
                v.push(format!("{} {:?}", a.name, a.data));
            }
        }
    }
    v
}

#[test]
fn redmi_destinations_are_named() {
    let c = analyze("redmi-1s-2014.pcap");
    assert_eq!(c.packets, 48);
    assert_eq!(c.flows.len(), 11);
    let mut names: Vec<(String, &str, &str)> = c
        .flows
        .iter()
        .filter(|f| f.summary.info.proto == Proto::Tcp)
        .map(|f| {
            (
                f.summary.info.server.to_string(),
                f.server_name.name.as_deref().unwrap_or("-"),
                f.server_name.source.as_str(),
            )
        })
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            (
                "220.181.106.12:443".to_owned(),
                "app.chat.xiaomi.net",
                "tls_sni"
            ),
            (
                "220.181.106.73:443".to_owned(),
                "resolver.msg.xiaomi.net",
                "dns"
            ),
            (
                "220.181.90.14:80".to_owned(),
                "api.account.xiaomi.com",
                "http_host"
            ),
            (
                "220.181.90.31:443".to_owned(),
                "sdkconfig.ad.xiaomi.com",
                "tls_sni"
            ),
            (
                "220.181.90.45:443".to_owned(),
                "data.mistat.xiaomi.com",
                "tls_sni"
            ),
        ]
    );
    // The flow without SNI: named from the answer in packet 39, by the resolver.
    let no_sni = c
        .flows
        .iter()
        .find(|f| f.server_name.source == NameSource::Dns)
        .unwrap();
    let dns = no_sni.server_name.dns.as_ref().unwrap();
    assert_eq!(
        (dns.answer_frame, dns.resolver.to_string().as_str()),
        (39, "192.168.1.1")
    );
    assert_eq!(
        snis(&c),
        [
            ("sdkconfig.ad.xiaomi.com", 16),
            ("data.mistat.xiaomi.com", 25),
            ("app.chat.xiaomi.net", 34),
            ("-", 43)
        ]
    );

    let posts = http(&c);
    assert_eq!(posts.len(), 1);
    let p = posts[0];
    assert_eq!(
        (p.method.as_str(), p.uri.as_str()),
        ("POST", "/pass/v3/device/activate")
    );
    assert_eq!((p.status, p.request_body_len), (Some(200), 187));
    let post_frame = c
        .events
        .iter()
        .find(|e| matches!(e.kind, AppEventKind::Http(_)))
        .unwrap()
        .frame;
    assert_eq!(post_frame, 6);
    assert_eq!(
        dns_names(&c),
        [
            "api.account.xiaomi.com",
            "app.chat.xiaomi.net",
            "connect.rom.miui.com",
            "data.mistat.xiaomi.com",
            "resolver.msg.xiaomi.net",
            "sdkconfig.ad.xiaomi.com"
        ]
    );
    // TLS 1.3 negotiated in the ServerHello of the app.chat flow.
    let v13 = c.events.iter().find_map(|e| match &e.kind {
        AppEventKind::Tls(t) if t.sni() == Some("app.chat.xiaomi.net") => t.version(),
        _ => None,
    });
    assert_eq!(v13, Some(0x0304));
}

#[test]
fn every_link_type_decodes() {
    for (file, v6_dns) in [
        ("link-ethernet.pcap", true),
        ("link-qinq.pcap", true),
        ("link-sll.pcap", true),
        ("link-sll2.pcap", true),
        ("link-raw.pcap", true),
        ("link-ipv4.pcap", false),
        ("link-ipv6.pcap", true),
        ("link-null.pcap", true),
        ("link-null-be.pcap", true),
        ("link-loop.pcap", true),
    ] {
        let c = analyze(file);
        assert_eq!(hosts(&c), ["linktest.example"], "{file}");
        assert_eq!(dns_names(&c), ["linktest.example"], "{file}");
        let v6 = c.flows.iter().any(|f| f.summary.info.server.is_ipv6());
        assert_eq!(v6, v6_dns, "{file}");
        assert_eq!(c.decode.malformed, 0, "{file}");
        let http_flow = c
            .flows
            .iter()
            .find(|f| f.summary.info.proto == Proto::Tcp)
            .unwrap();
        assert_eq!(http_flow.server_name.source, NameSource::HttpHost, "{file}");
    }
}

#[test]
fn unsupported_link_type_is_counted() {
    let c = analyze("link-user0.pcap");
    assert_eq!(c.packets, 12);
    assert!(c.flows.is_empty());
    assert_eq!(c.decode.unsupported_links.get(&LinkType(147)), Some(&12));
}

#[test]
fn pcap_variants() {
    for (file, host) in [
        ("pcap-big-endian.pcap", "bigendian.example"),
        ("pcap-nanosecond.pcap", "nanosecond.example"),
        ("pcap-gzip.pcap.gz", "gzip.example"),
        ("pcapng-big-endian.pcapng", "bigendian-ng.example"),
    ] {
        let c = analyze(file);
        assert_eq!(hosts(&c), [host], "{file}");
        assert!(c.warnings.is_empty(), "{file}");
    }
    let ns = analyze("pcap-nanosecond.pcap");
    assert_eq!(ns.span.unwrap().0.as_nanos(), 1_704_067_200_123_456_789);
    assert!(analyze("pcap-gzip.pcap.gz").gzip);
}

#[test]
fn snaplen_cut_packets_are_marked_and_survive() {
    let c = analyze("pcap-snaplen96.pcap");
    assert_eq!(c.decode.truncated_frames, 2);
    assert_eq!(dns_names(&c), ["snaplen.example"]);
    let tcp = c
        .flows
        .iter()
        .find(|f| f.summary.info.proto == Proto::Tcp)
        .unwrap();
    // 143 - 96 bytes of the request were never captured: a gap, not a crash.
    assert_eq!(tcp.summary.to_server.stream.gap_bytes, 143 - 96);
    assert_eq!(tcp.summary.to_client.stream.gap_bytes, 138 - 96);
}

#[test]
fn truncated_file_keeps_what_was_read() {
    let c = analyze("pcap-truncated.pcap");
    assert_eq!(c.packets, 6);
    assert_eq!(c.warnings.len(), 1);
    let w = &c.warnings[0];
    assert_eq!((w.kind, w.packet), (WarningKind::Truncated, Some(7)));
    assert!(w.offset > 24);
    assert_eq!(dns_names(&c), ["truncated.example"]);
}

#[test]
fn pcapng_sections_interfaces_and_blocks() {
    let c = analyze("pcapng-multi.pcapng");
    assert_eq!(c.packets, 7);
    assert_eq!(
        dns_names(&c),
        [
            "if0.example",
            "if1.example",
            "if2.example",
            "opb.example",
            "s2-if0.example",
            "s2-if1.example",
            "spb.example"
        ]
    );
    let links: Vec<u32> = c.link_types.keys().map(|l| l.0).collect();
    assert_eq!(links, [1, 101, 113, 228]);
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    // if_tsresol 9 on interface 1: nanoseconds kept.
    let if1 = c
        .events
        .iter()
        .find(|e| matches!(&e.kind, AppEventKind::Dns(d) if d.message.questions[0].name == "if1.example"))
        .unwrap();
    assert_eq!(if1.ts.as_nanos(), 1_704_067_202_123_456_789);
}

#[test]
fn ip_fragments_reassemble() {
    let v4 = analyze("ipv4-frag.pcap");
    let a = dns_answers(&v4);
    assert_eq!(a.len(), 9);
    assert!(a[0].starts_with("frag4.example A(198.51.100.1)"), "{a:?}");
    assert_eq!(v4.decode.defrag.reassembled, 1);
    let v6 = analyze("ipv6-frag.pcap");
    let a = dns_answers(&v6);
    assert_eq!(a.len(), 9);
    assert!(
        a[7].starts_with("frag6.example Aaaa(2001:db8:f6::8)"),
        "{a:?}"
    );
}

#[test]
fn tcp_out_of_order_retransmit_overlap() {
    let c = analyze("tcp-out-of-order.pcap");
    assert_eq!(hosts(&c), ["ooo.example"]);
    assert_eq!(http(&c)[0].uri, "/out-of-order");
    let r = analyze("tcp-retransmit.pcap");
    assert_eq!(hosts(&r), ["retransmit.example"]);
    assert_eq!(http(&r).len(), 1);
    let tcp = r
        .flows
        .iter()
        .find(|f| f.summary.info.proto == Proto::Tcp)
        .unwrap();
    assert_eq!(tcp.summary.to_server.stream.retransmissions, 1);
    let o = analyze("tcp-overlap.pcap");
    assert_eq!(hosts(&o), ["overlap.example"]);
}

#[test]
fn tcp_gap_is_skipped_and_later_requests_parsed() {
    let c = analyze("tcp-gap.pcap");
    let uris: Vec<&str> = http(&c).iter().map(|h| h.uri.as_str()).collect();
    assert_eq!(uris, ["/before-gap", "/after-gap"]);
    let tcp = &c
        .flows
        .iter()
        .find(|f| f.summary.info.proto == Proto::Tcp)
        .unwrap()
        .summary;
    assert_eq!(
        (tcp.to_server.stream.gaps, tcp.to_server.stream.gap_bytes),
        (1, 117)
    );
}

#[test]
fn split_client_hellos() {
    assert_eq!(
        snis(&analyze("tls-split-segments.pcap")),
        [("split-segments.example", 4)]
    );
    assert_eq!(
        snis(&analyze("tls-split-records.pcap")),
        [("split-records.example", 4)]
    );
}

#[test]
fn dns_over_tcp_merged_and_split_messages() {
    let c = analyze("dns-tcp.pcap");
    assert_eq!(dns_names(&c), ["tcp1.example", "tcp2.example"]);
    let a = dns_answers(&c);
    assert_eq!(
        a,
        [
            "tcp1.example A(192.0.2.53)",
            "tcp2.example Aaaa(2001:db8::53)"
        ]
    );
    let frames: Vec<u64> = c.events.iter().map(|e| e.frame).collect();
    assert_eq!(frames, [4, 4, 5, 7]);
}

#[test]
fn port_reuse_starts_a_new_flow() {
    let c = analyze("tcp-port-reuse.pcap");
    let tcp: Vec<_> = c
        .flows
        .iter()
        .filter(|f| f.summary.info.proto == Proto::Tcp)
        .collect();
    assert_eq!(tcp.len(), 2);
    assert_eq!(tcp[0].summary.end_reason, EndReason::PortReuse);
    assert_eq!(tcp[0].server_name.name.as_deref(), Some("reuse-1.example"));
    assert_eq!(tcp[1].server_name.name.as_deref(), Some("reuse-2.example"));
    assert_eq!(tcp[1].summary.info.id.0, 9);
}

#[test]
fn midstream_capture_picks_the_client_by_port() {
    let c = analyze("tcp-midstream.pcap");
    assert_eq!(c.flows.len(), 1);
    let s = &c.flows[0].summary;
    assert_eq!(s.info.client.port(), 51000);
    assert!(!s.client_from_handshake);
    assert_eq!(hosts(&c), ["midstream.example"]);
    assert_eq!(http(&c)[0].status, Some(200));
}

#[test]
fn pipelined_requests_pair_with_responses() {
    let c = analyze("http-pipelined.pcap");
    let pairs: Vec<(&str, Option<u16>)> = http(&c)
        .iter()
        .map(|h| (h.uri.as_str(), h.status))
        .collect();
    assert_eq!(pairs, [("/one", Some(200)), ("/two", Some(404))]);
}

#[test]
fn per_flow_limits_are_reported() {
    let flows = telltale::flow::FlowConfig {
        max_stream: 100,
        ..Default::default()
    };
    let report = Analyzer::builder()
        .threads(1)
        .flow_config(flows)
        .build()
        .analyze([fixture("redmi-1s-2014.pcap")])
        .unwrap();
    let c = &report.captures[0];
    let post = c
        .flows
        .iter()
        .find(|f| f.summary.info.server.port() == 80)
        .unwrap();
    // The POST is 427 bytes in one segment: 100 delivered, 327 counted.
    assert_eq!(post.summary.to_server.stream.capped_bytes, 327);
    assert!(
        c.notices()
            .iter()
            .any(|n| n.contains("per-flow buffer or stream limit")),
        "{:?}",
        c.notices()
    );
    // Its head is cut, so no HTTP event; the flow itself is still reported.
    assert!(hosts(c).is_empty());
}

/// Splits a little-endian µs pcap into a new pcap holding the given
/// 1-based frame range, so a test can make a batch out of one capture.
fn pcap_slice(src: &[u8], frames: std::ops::RangeInclusive<usize>, out: &std::path::Path) {
    let mut bytes = src[..24].to_vec();
    let (mut at, mut n) = (24, 1);
    while at + 16 <= src.len() {
        let caplen = u32::from_le_bytes(src[at + 8..at + 12].try_into().unwrap()) as usize;
        if frames.contains(&n) {
            bytes.extend_from_slice(&src[at..at + 16 + caplen]);
        }
        at += 16 + caplen;
        n += 1;
    }
    std::fs::write(out, bytes).unwrap();
}

#[test]
fn dns_scope_batch_names_across_captures() {
    let dir = std::env::temp_dir().join(format!("telltale-scope-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = std::fs::read(fixture("redmi-1s-2014.pcap")).unwrap();
    // Frames 38-39: the answer for resolver.msg.xiaomi.net; 40-46: the TLS
    // flow without SNI to that address.
    let (a, b) = (dir.join("a-dns.pcap"), dir.join("b-tls.pcap"));
    pcap_slice(&src, 38..=39, &a);
    pcap_slice(&src, 40..=46, &b);
    let tls_flow = |scope| {
        let r = Analyzer::builder()
            .threads(2)
            .dns_scope(scope)
            .build()
            .analyze([&a, &b])
            .unwrap();
        r.captures[1].flows[0].server_name.clone()
    };
    let own = tls_flow(telltale::DnsScope::File);
    assert_eq!(own.source, NameSource::None);
    assert!(own.flags.not_resolved);
    let shared = tls_flow(telltale::DnsScope::Batch);
    assert_eq!(
        (shared.name.as_deref(), shared.source),
        (Some("resolver.msg.xiaomi.net"), NameSource::Dns)
    );
    assert!(!shared.flags.not_resolved);
    // So are its destinations, added up from the flows as named again
    // once every capture is read.
    let (_, rows) = Analyzer::builder()
        .threads(2)
        .dns_scope(telltale::DnsScope::Batch)
        .build()
        .analyze_destinations([&a, &b])
        .unwrap();
    assert!(
        rows.iter()
            .any(|d| d.name == "resolver.msg.xiaomi.net" && d.ports.contains("443/tcp")),
        "{:?}",
        rows.iter().map(|d| &d.name).collect::<Vec<_>>()
    );
    std::fs::remove_dir_all(&dir).ok();
}

fn quic_hellos(c: &CaptureReport) -> Vec<(String, u32, u64)> {
    c.events
        .iter()
        .filter_map(|e| match &e.kind {
            AppEventKind::Quic(q) => Some((q.sni().unwrap_or("-").to_owned(), q.version, e.frame)),
            _ => None,
        })
        .collect()
}

#[test]
fn quic_client_hello_across_two_initials() {
    let c = analyze("quic-split-hello.pcap");
    // Dated by the first packet that carried CRYPTO bytes of the hello.
    assert_eq!(quic_hellos(&c), [("quic-split.example".to_owned(), 1, 1)]);
    let f = &c.flows[0];
    assert_eq!(f.app_proto.as_str(), "quic");
    assert_eq!(
        (f.server_name.name.as_deref(), f.server_name.source),
        (Some("quic-split.example"), NameSource::QuicSni)
    );
    // The server's Initial was decrypted too: TLS 1.3 chosen.
    let server = c.events.iter().find_map(|e| match &e.kind {
        AppEventKind::Quic(q) => q.server.as_ref().map(|s| s.version()),
        _ => None,
    });
    assert_eq!(server, Some(0x0304));
}

#[test]
fn quic_reordered_crypto_frames_and_v2() {
    let c = analyze("quic-reordered-crypto.pcap");
    assert_eq!(
        quic_hellos(&c),
        [("quic-reordered.example".to_owned(), 1, 1)]
    );
    let c = analyze("quic-v2.pcap");
    assert_eq!(
        quic_hellos(&c),
        [("quic-v2.example".to_owned(), 0x6b33_43cf, 1)]
    );
}

#[test]
fn naming_disagreements_are_flagged() {
    let c = analyze("naming-disagreements.pcap");
    let tls: Vec<(&str, &str, Vec<&str>, Option<&str>)> = c
        .flows
        .iter()
        .filter(|f| f.summary.info.proto == Proto::Tcp)
        .map(|f| {
            let n = &f.server_name;
            (
                n.name.as_deref().unwrap_or("-"),
                n.source.as_str(),
                n.flags.names(),
                n.dns.as_ref().map(|d| d.query.as_str()),
            )
        })
        .collect();
    assert_eq!(
        tls,
        [
            (
                "other.example",
                "tls_sni",
                vec!["sni_not_in_dns"],
                Some("cdn.example")
            ),
            (
                "hardcoded.example",
                "tls_sni",
                vec!["not_resolved_by_dns"],
                None
            ),
            (
                "bank.example",
                "tls_sni",
                vec!["sni_not_in_cert"],
                Some("bank.example")
            ),
            (
                "named-by-cert.example",
                "cert",
                vec!["not_resolved_by_dns"],
                None
            ),
            ("good.example", "tls_sni", vec![], Some("good.example")),
        ]
    );
    // Every flow, DNS ones included, says where its name came from.
    assert!(
        c.flows
            .iter()
            .all(|f| !f.server_name.source.as_str().is_empty())
    );
}

#[test]
fn redmi_identifiers_with_the_example_profile() {
    let text = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/device-profile.example.toml"),
    )
    .unwrap();
    let profile = telltale::detect::DeviceProfile::from_toml(&text).unwrap();
    let report = Analyzer::builder()
        .threads(1)
        .identifiers(Some(&profile))
        .build()
        .analyze([fixture("redmi-1s-2014.pcap")])
        .unwrap();
    let c = &report.captures[0];
    let found: Vec<(&str, &str, &str, &str, u64, &str)> = c
        .identifiers
        .iter()
        .map(|i| {
            (
                i.kind.as_str(),
                i.value.as_str(),
                i.encoding.as_str(),
                i.location.as_str(),
                i.frame,
                i.source.as_str(),
            )
        })
        .collect();
    // The POST in packet 6 carried the IMEI, the IMSI, the phone number
    // (URL-encoded) and three contacts' numbers.
    for want in [
        (
            "imei",
            "865123456789019",
            "plain",
            "http.body.form:imei",
            6,
            "known",
        ),
        (
            "imsi",
            "460011234567890",
            "plain",
            "http.body.form:imsi",
            6,
            "known",
        ),
        (
            "phone",
            "+8613812345678",
            "url",
            "http.body.form:phone",
            6,
            "known",
        ),
        (
            "phone",
            "+8613900001111",
            "url",
            "http.body.form:contacts",
            6,
            "known",
        ),
    ] {
        assert!(found.contains(&want), "{want:?} not in {found:#?}");
    }
    assert!(
        c.identifiers
            .iter()
            .all(|i| i.device.as_deref() == Some("RedMi 1S"))
    );
    // Nothing else in the capture is taken for an identifier.
    assert!(c.identifiers.iter().all(|i| i.frame == 6), "{found:#?}");
}
