//! The streaming API against the collecting one: the same flows, names,
//! events and findings for every fixture, handed over as they are found.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use telltale::detect::{Confidence, DeviceProfile, PatternDetector};
use telltale::{Analyzer, Event, analyze_capture};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

fn profile() -> DeviceProfile {
    let text = std::fs::read_to_string(fixtures().join("../docs/device-profile.example.toml"))
        .expect("example profile");
    DeviceProfile::from_toml(&text).unwrap()
}

type FlowKey = (u64, Option<String>, &'static str);
type FindingKey = (u64, &'static str, String, String);

#[derive(Default)]
struct Seen {
    flows: BTreeSet<FlowKey>,
    findings: BTreeSet<FindingKey>,
    events: usize,
}

#[test]
fn streaming_equals_collecting_on_every_fixture() {
    let analyzer = Analyzer::builder().identifiers(Some(&profile())).build();
    let mut checked = 0;
    for entry in std::fs::read_dir(fixtures()).unwrap() {
        let path = entry.unwrap().path();
        if !telltale::is_capture_file(&path).unwrap_or(false) {
            continue;
        }
        let report = analyze_capture(&path, &analyzer).unwrap();
        let mut seen = Seen::default();
        let summary = analyzer
            .stream(&path, &mut |e: Event<'_>| match e {
                Event::Flow(f) => {
                    seen.flows.insert((
                        f.summary.info.id.0,
                        f.server_name.name.clone(),
                        f.server_name.source.as_str(),
                    ));
                }
                Event::Identifier(_, f) => {
                    seen.findings.insert((
                        f.frame,
                        f.kind.as_str(),
                        f.value.clone(),
                        f.location.clone(),
                    ));
                }
                Event::Warning(_) => {}
                _ => seen.events += 1,
            })
            .unwrap();
        let flows: BTreeSet<FlowKey> = report
            .flows
            .iter()
            .map(|f| {
                (
                    f.summary.info.id.0,
                    f.server_name.name.clone(),
                    f.server_name.source.as_str(),
                )
            })
            .collect();
        let findings: BTreeSet<FindingKey> = report
            .identifiers
            .iter()
            .map(|f| {
                (
                    f.frame,
                    f.kind.as_str(),
                    f.value.clone(),
                    f.location.clone(),
                )
            })
            .collect();
        let name = path.display();
        assert_eq!(seen.flows, flows, "{name}: flows and their names");
        assert_eq!(seen.findings, findings, "{name}: findings");
        assert_eq!(seen.events, report.events.len(), "{name}: events");
        assert_eq!(summary.packets, report.packets, "{name}");
        assert_eq!(summary.warnings.len(), report.warnings.len(), "{name}");
        assert!(summary.flows.is_empty() && summary.events.is_empty());
        checked += 1;
    }
    assert!(checked >= 30, "only {checked} fixtures");
}

/// Events reach the sink while their flow is open: the HTTP request of the
/// RedMi flow (and its identifiers) before the flow's own record.
#[test]
fn events_arrive_before_their_flow_ends() {
    let analyzer = Analyzer::builder().identifiers(Some(&profile())).build();
    let mut order = Vec::new();
    analyzer
        .stream(&fixtures().join("redmi-1s-2014.pcap"), &mut |e: Event<
            '_,
        >| {
            match e {
                Event::Http(ctx, h) => {
                    assert_eq!(ctx.flow.server.port(), 80);
                    assert_eq!(h.host.as_deref(), Some("api.account.xiaomi.com"));
                    order.push(("http", ctx.flow.id.0));
                }
                Event::Identifier(ctx, _) => order.push(("identifier", ctx.flow.id.0)),
                Event::Flow(f) => order.push(("flow", f.summary.info.id.0)),
                _ => {}
            }
        })
        .unwrap();
    let http = order.iter().position(|(k, _)| *k == "http").unwrap();
    let id = order[http].1;
    let ident = order.iter().position(|e| *e == ("identifier", id)).unwrap();
    let flow = order.iter().position(|e| *e == ("flow", id)).unwrap();
    assert!(http < flow && ident < flow, "{order:?}");
}

/// A caller's detector adds its own kind, through both entry points.
#[test]
fn custom_detector_findings() {
    let carrier = || {
        PatternDetector::new("carrier", r"CHN-[A-Z]{2,8}", |v| v == "CHN-UNICOM")
            .unwrap()
            .confidence(Confidence::High)
    };
    let analyzer = Analyzer::builder()
        .no_identifiers()
        .detector(carrier())
        .build();
    let path = fixtures().join("redmi-1s-2014.pcap");
    let report = analyze_capture(&path, &analyzer).unwrap();
    let found: Vec<_> = report
        .identifiers
        .iter()
        .map(|f| {
            (
                f.kind.as_str(),
                f.value.as_str(),
                f.note,
                f.frame,
                f.location.as_str(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [(
            "custom",
            "CHN-UNICOM",
            Some("carrier"),
            6,
            "http.body.form:carrier"
        )]
    );
    let mut streamed = 0;
    analyzer
        .stream(&path, &mut |e: Event<'_>| {
            if let Event::Identifier(_, f) = e {
                assert_eq!(f.note, Some("carrier"));
                streamed += 1;
            }
        })
        .unwrap();
    assert_eq!(streamed, 1);
}

/// Frames pushed through `Analyzer::feed` give the events, in order, that
/// `Analyzer::stream` gives reading the same capture (but the damage
/// warnings, which only a reader finds): every fixture, and a capture whose
/// clock jumps and steps back, where a pipeline that timed flows by packets
/// instead of frames, or swept on another schedule, would end flows
/// differently.
#[test]
fn a_feed_gives_the_events_a_stream_gives() {
    let analyzer = Analyzer::builder().identifiers(Some(&profile())).build();
    let dir = tempfile::tempdir().unwrap();
    let jumps = dir.path().join("clock-jumps.pcap");
    std::fs::write(&jumps, telltale_fixtures::adversarial::clock_jumps(300, 7)).unwrap();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| telltale::is_capture_file(p).unwrap_or(false))
        .collect();
    paths.sort();
    paths.push(jumps);
    let mut compared = 0;
    for path in &paths {
        let mut streamed = Vec::new();
        let mut sink = |e: Event<'_>| {
            if !matches!(e, Event::Warning(_)) {
                streamed.push(format!("{e:?}"));
            }
        };
        analyzer.stream(path, &mut sink).unwrap();
        let mut fed = Vec::new();
        let mut sink = |e: Event<'_>| fed.push(format!("{e:?}"));
        let mut feed = analyzer.feed(path, &mut sink);
        let mut reader = telltale::decode::CaptureReader::open(path).unwrap();
        while let Some(frame) = reader.next_frame().unwrap() {
            feed.push(&frame);
        }
        feed.finish();
        assert!(fed == streamed, "{} differs fed", path.display());
        compared += fed.len();
    }
    assert!(compared > 3_000, "{compared} events");
}
