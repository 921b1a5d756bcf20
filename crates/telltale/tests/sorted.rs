//! `Analyzer::analyze_jsonl` (streamed, sorted in bounded memory with the
//! overflow in temporary files) against the collecting writer: the same
//! bytes for every fixture and every capture of `../shared`, with buffers
//! small enough that every capture goes through runs on disk; and
//! `Analyzer::analyze_destinations` (added up as flows end, or from the
//! collected report) against the collected report's destinations.

use std::path::{Path, PathBuf};

use telltale::detect::DeviceProfile;
use telltale::report::{Redactor, destinations, write_flows_csv, write_identifiers_csv};
use telltale::{Analyzer, DnsScope, Report, SortedFormat};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

fn profile() -> DeviceProfile {
    let text =
        std::fs::read_to_string(fixtures().join("../docs/device-profile.example.toml")).unwrap();
    DeviceProfile::from_toml(&text).unwrap()
}

/// Sorts every capture (no collect limit) in `sort_memory` bytes.
fn analyzer(threads: usize, sort_memory: usize) -> Analyzer {
    Analyzer::builder()
        .identifiers(Some(&profile()))
        .threads(threads)
        .sort_memory(sort_memory)
        .collect_limit(0)
        .build()
}

fn captures(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| telltale::is_capture_file(p).unwrap_or(false))
        .collect();
    found.sort();
    found
}

fn collected(analyzer: &Analyzer, paths: &[PathBuf]) -> (Report, Vec<u8>) {
    let report = analyzer.analyze(paths).unwrap();
    let mut out = Vec::new();
    analyzer.write_jsonl(&report, &mut out).unwrap();
    (report, out)
}

/// Every capture of `dir` alone, sorted through runs of a few lines (1 KiB
/// of buffer) and of a few hundred (64 KiB), on one thread and split by
/// flow across three (each shard following the others' DNS to name its
/// flows), against the collecting writer.
fn check_each(dir: &Path) -> usize {
    let paths = captures(dir);
    let reference = analyzer(1, 32 << 20);
    for path in &paths {
        let (want, want_bytes) = collected(&reference, std::slice::from_ref(path));
        for (threads, sort_memory) in [(1, 1 << 10), (1, 64 << 10), (3, 1 << 10), (2, 64 << 10)] {
            let mut got_bytes = Vec::new();
            let got = analyzer(threads, sort_memory)
                .analyze_jsonl([path], &mut got_bytes)
                .unwrap();
            assert!(
                got_bytes == want_bytes,
                "{} differs sorted in {sort_memory} bytes on {threads} threads",
                path.display()
            );
            let (g, w) = (&got.captures[0], &want.captures[0]);
            assert_eq!((g.packets, &g.decode), (w.packets, &w.decode));
            assert_eq!(g.flow_table.flows, w.flow_table.flows, "{}", path.display());
            assert_eq!(g.warnings.len(), w.warnings.len(), "{}", path.display());
            assert_eq!(g.limits, w.limits, "{}", path.display());
            assert_eq!(g.notices(), w.notices(), "{}", path.display());
            assert!(g.flows.is_empty() && g.events.is_empty());
        }
        // The CSVs with a row per record, sorted the same way.
        let mut flows_csv = Vec::new();
        write_flows_csv(&want, &mut flows_csv).unwrap();
        let mut identifiers_csv = Vec::new();
        write_identifiers_csv(&want, &mut identifiers_csv).unwrap();
        for (format, want_csv) in [
            (SortedFormat::FlowsCsv, &flows_csv),
            (SortedFormat::IdentifiersCsv, &identifiers_csv),
        ] {
            for threads in [1, 3] {
                let mut got_csv = Vec::new();
                analyzer(threads, 1 << 10)
                    .analyze_sorted([path], format, &mut got_csv)
                    .unwrap();
                assert!(
                    &got_csv == want_csv,
                    "{} {format:?} differs on {threads} threads",
                    path.display()
                );
            }
        }
        // Destinations added up as flows end: the collected report's rows.
        let want_rows = destinations(&want);
        for threads in [1, 3] {
            let (got, rows) = analyzer(threads, 1 << 10)
                .analyze_destinations([path])
                .unwrap();
            assert!(
                rows == want_rows,
                "{} destinations differ on {threads} threads",
                path.display()
            );
            assert_eq!(got.captures[0].limits, want.captures[0].limits);
        }
    }
    paths.len()
}

#[test]
fn every_fixture_sorts_to_the_collected_bytes() {
    assert!(check_each(&fixtures()) >= 30);
}

#[test]
fn every_shared_capture_sorts_to_the_collected_bytes() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/captures");
    if !dir.join("MANIFEST.json").is_file() {
        eprintln!("SKIPPED: ../shared/captures not found; sorted JSON Lines not checked on them");
        return;
    }
    assert!(check_each(&dir) >= 20);
}

/// Many captures at once on several threads (read in parallel, written in
/// input order), with a broken one among them: the batch's bytes, and the
/// failure reported beside the others.
#[test]
fn a_batch_sorts_to_the_collected_bytes_in_input_order() {
    let dir = std::env::temp_dir().join(format!("telltale-sorted-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut paths = captures(&fixtures());
    let broken = dir.join("broken.pcap");
    std::fs::write(&broken, b"not a capture at all").unwrap();
    paths.insert(3, broken.clone());
    let (want, want_bytes) = collected(&analyzer(1, 32 << 20), &paths);
    assert_eq!(want.failures.len(), 1);
    for threads in [1, 3] {
        let mut got_bytes = Vec::new();
        let got = analyzer(threads, 4 << 10)
            .analyze_jsonl(&paths, &mut got_bytes)
            .unwrap();
        assert!(
            got_bytes == want_bytes,
            "batch differs on {threads} threads"
        );
        let (_, rows) = analyzer(threads, 4 << 10)
            .analyze_destinations(&paths)
            .unwrap();
        assert!(rows == destinations(&want), "batch destinations differ");
        assert_eq!(got.failures.len(), 1);
        assert_eq!(got.failures[0].path, broken);
        let order: Vec<&Path> = got.captures.iter().map(|c| c.path.as_path()).collect();
        let want_order: Vec<&Path> = want.captures.iter().map(|c| c.path.as_path()).collect();
        assert_eq!(order, want_order);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// One capture sorted on one thread or on three, and collected (under the
/// collect limit, the default) and split by flow across three threads:
/// the same bytes.
#[test]
fn one_capture_sorted_or_collected_on_many_threads_is_the_same() {
    let path = fixtures().join("redmi-1s-2014.pcap");
    let mut one = Vec::new();
    analyzer(1, 1 << 10)
        .analyze_jsonl([&path], &mut one)
        .unwrap();
    let mut many = Vec::new();
    let got = analyzer(3, 1 << 10)
        .analyze_jsonl([&path], &mut many)
        .unwrap();
    assert!(one == many);
    assert!(
        got.captures[0].flows.is_empty(),
        "sorted: the records went out"
    );
    let collecting = Analyzer::builder()
        .identifiers(Some(&profile()))
        .threads(3)
        .build();
    let mut split = Vec::new();
    let got = collecting.analyze_jsonl([&path], &mut split).unwrap();
    // Collected: the records are in the report too.
    assert_eq!(got.captures[0].flows.len(), 11);
    assert!(split == one);
}

/// A batch under the collect limit whose records outgrow the collecting
/// budget gives up collecting and is streamed (its report holds no
/// records then), with the same bytes and destinations as collected, the
/// broken input still reported once; within the budget it is collected.
#[test]
fn records_over_the_collect_budget_are_streamed_instead() {
    let dir = std::env::temp_dir().join(format!("telltale-budget-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut paths = captures(&fixtures());
    let broken = dir.join("broken.pcap");
    std::fs::write(&broken, b"not a capture at all").unwrap();
    paths.insert(2, broken.clone());
    let (want, want_bytes) = collected(&analyzer(1, 32 << 20), &paths);
    let budgeted = |threads: usize, collect_memory: u64| {
        Analyzer::builder()
            .identifiers(Some(&profile()))
            .threads(threads)
            .collect_memory(collect_memory)
            .build()
    };
    for threads in [1, 2] {
        // Some tens of kilobytes of records in all: a 4 KiB budget is
        // spent on the first capture or two.
        let tight = budgeted(threads, 4 << 10);
        let mut got_bytes = Vec::new();
        let got = tight.analyze_jsonl(&paths, &mut got_bytes).unwrap();
        assert!(
            got_bytes == want_bytes,
            "streamed instead, {threads} threads"
        );
        assert!(got.captures.iter().all(|c| c.flows.is_empty()), "streamed");
        assert_eq!(got.failures.len(), 1);
        assert_eq!(got.captures.len(), want.captures.len());
        let (summary, rows) = tight.analyze_destinations(&paths).unwrap();
        assert!(
            rows == destinations(&want),
            "destinations, {threads} threads"
        );
        assert!(summary.captures.iter().all(|c| c.flows.is_empty()));

        let roomy = budgeted(threads, 128 << 20);
        let mut got_bytes = Vec::new();
        let got = roomy.analyze_jsonl(&paths, &mut got_bytes).unwrap();
        assert!(got_bytes == want_bytes, "collected, {threads} threads");
        assert!(
            got.captures.iter().any(|c| !c.flows.is_empty()),
            "collected"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Hundreds of small captures, each holding less than the budget's step
/// (a sixty-fourth of it), together past it: what each leaves under a
/// step still counts, and the batch is streamed.
#[test]
fn many_small_captures_add_up_against_the_collect_budget() {
    let dir = std::env::temp_dir().join(format!("telltale-many-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let small = std::fs::read(fixtures().join("dns-tcp.pcap")).unwrap();
    let paths: Vec<PathBuf> = (0..300)
        .map(|i| {
            let p = dir.join(format!("small-{i:03}.pcap"));
            std::fs::write(&p, &small).unwrap();
            p
        })
        .collect();
    let (want, want_bytes) = collected(&analyzer(1, 32 << 20), &paths);
    assert!(want.captures.iter().all(|c| !c.flows.is_empty()));
    let budgeted = Analyzer::builder()
        .identifiers(Some(&profile()))
        .threads(2)
        .collect_memory(256 << 10)
        .build();
    let mut got_bytes = Vec::new();
    let got = budgeted.analyze_jsonl(&paths, &mut got_bytes).unwrap();
    assert!(got_bytes == want_bytes);
    assert!(got.captures.iter().all(|c| c.flows.is_empty()), "streamed");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Captures under the collect limit (the default) are collected, then
/// added up by destination, and the rows must not depend on the thread
/// count: each fixture alone (split across two or three shards) and all of
/// them at once (a file per thread) give what one thread's report gives,
/// also when a batch is named with every capture's DNS or redacted, which
/// rename flows after the captures are read.
#[test]
fn collected_destinations_are_the_reports_on_any_thread_count() {
    let paths = captures(&fixtures());
    let build = |threads: usize| {
        Analyzer::builder()
            .identifiers(Some(&profile()))
            .threads(threads)
    };
    let alone = build(1).build();
    let want: Vec<_> = paths
        .iter()
        .map(|p| destinations(&alone.analyze([p]).unwrap()))
        .collect();
    assert!(
        want.iter()
            .filter(|rows| rows.iter().any(|d| d.identifiers > 0))
            .count()
            >= 2,
        "fixtures with identifiers in their destinations"
    );
    let want_batch = destinations(&alone.analyze(&paths).unwrap());
    let named = |threads| build(threads).dns_scope(DnsScope::Batch).build();
    let redacted = |threads| build(threads).redact(Redactor::new(b"test key")).build();
    let want_named = destinations(&named(1).analyze(&paths).unwrap());
    let want_redacted = destinations(&redacted(1).analyze(&paths).unwrap());
    for threads in [1, 2, 3] {
        let analyzer = build(threads).build();
        for (path, want) in paths.iter().zip(&want) {
            let (_, rows) = analyzer.analyze_destinations([path]).unwrap();
            assert!(
                rows == *want,
                "{} destinations differ on {threads} threads",
                path.display()
            );
        }
        let (_, rows) = analyzer.analyze_destinations(&paths).unwrap();
        assert!(
            rows == want_batch,
            "the batch's destinations differ on {threads} threads"
        );
        let (_, rows) = named(threads).analyze_destinations(&paths).unwrap();
        assert!(
            rows == want_named,
            "named by the batch on {threads} threads"
        );
        let (_, rows) = redacted(threads).analyze_destinations(&paths).unwrap();
        assert!(rows == want_redacted, "redacted on {threads} threads");
    }
}

/// Redaction masks an identifier wherever it shows, the names of servers
/// included: a host named after the device's IMEI is a destination under
/// its pseudonym. The destinations must be added up from the redacted
/// flows, never from the flows as the shards name them.
#[test]
fn redacted_destinations_never_show_the_identifier_in_a_name() {
    use telltale_fixtures::link::Framing;
    use telltale_fixtures::tcp::TcpConversation;
    use telltale_fixtures::trace::Trace;
    let imei = telltale_fixtures::captures::redmi_imei();
    let host = format!("{imei}.beacon.example");
    let mut t = Trace::new(1_700_000_000_000_000_000, 1_000_000);
    let mut conv = TcpConversation::new(
        "192.168.1.22:40000".parse().unwrap(),
        "198.51.100.60:80".parse().unwrap(),
        1_000,
        9_000,
    );
    t.segments(&conv.handshake());
    let get = telltale_fixtures::http::get(&format!("/ping?imei={imei}"), &host);
    t.segment(&conv.client_data(&get));
    t.segment(&conv.server_data(&telltale_fixtures::http::ok_text("ok")));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("imei-host.pcap");
    let framing = Framing::ethernet([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]);
    std::fs::write(&path, t.to_default_pcap(&framing)).unwrap();
    let plain = Analyzer::builder().threads(2).build();
    let (_, rows) = plain.analyze_destinations([&path]).unwrap();
    assert!(
        rows.iter().any(|d| d.name == host),
        "the host is a destination"
    );
    for threads in [1, 2] {
        let redacted = Analyzer::builder()
            .threads(threads)
            .redact(Redactor::new(b"test key"))
            .build();
        let (_, rows) = redacted.analyze_destinations([&path]).unwrap();
        for d in &rows {
            assert!(!d.name.contains(&imei), "{} on {threads} threads", d.name);
        }
        let masked = format!(
            "{}.beacon.example",
            Redactor::new(b"test key").pseudonym("imei", &imei)
        );
        assert!(
            rows.iter().any(|d| d.name == masked),
            "{masked} on {threads} threads"
        );
    }
}
