//! Hostile and broken captures through the `telltale` binary: a SYN flood,
//! a 1 GB sequence gap, conflicting TCP overlaps, IPv4 and IPv6 fragment
//! floods, a gzip bomb, DNS compression loops, pcapng blocks that lie about
//! their length, snaplen 0, timestamps running backwards, packets on
//! undescribed interfaces.
//!
//! The captures come from `telltale_fixtures::adversarial` at their small
//! size (`adversarial --small`, built here with the same cargo and
//! profile; nothing is committed to `fixtures/`). Each one holds valid
//! traffic before and after the bad part: DNS and HTTP for `before.example`
//! first and `after.example` last. For each capture the tests run
//! `telltale analyze -f jsonl -j 1` and check that it
//!
//! - exits 0 or 1, never by a signal or a panic;
//! - still reports the `before.example` and `after.example` exchanges
//!   (`after.example` only where the file can still be framed past the
//!   damage: a pcapng block whose length lies ends the capture);
//! - reports the limit it hit: `flow.gaps`/`flow.limits`, `http`
//!   `body_limit_hit`, `dns.partial`, or a `telltale: warning:` line on
//!   standard error (warnings name byte offsets);
//! - peaks under 1 GiB of resident memory, measured with
//!   `/usr/bin/time -f %M` (skipped, saying so, without `/usr/bin/time`;
//!   `.ci/run` installs Debian's `time` package).
//!
//! `benches/adversarial.sh` runs the same captures at full size in a
//! release build; `docs/RELIABILITY.md` lists the limits and the figures.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Instant;

use serde_json::Value;

/// Peak resident memory allowed for any one run, KiB.
const MAX_RSS_KIB: u64 = 1 << 20;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

/// The folder holding every small adversarial capture, written once per
/// test run by the `adversarial` generator of `telltale-fixtures`, built
/// with the cargo and profile that built this test.
fn captures() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into());
        let mut build = Command::new(cargo);
        build.args([
            "build",
            "-q",
            "-p",
            "telltale-fixtures",
            "--bin",
            "adversarial",
        ]);
        if !cfg!(debug_assertions) {
            build.arg("--release");
        }
        let out = build
            .current_dir(root())
            .output()
            .expect("run cargo build for the generator");
        assert!(
            out.status.success(),
            "building the adversarial generator failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let generator = Path::new(env!("CARGO_BIN_EXE_telltale"))
            .with_file_name(format!("adversarial{}", std::env::consts::EXE_SUFFIX));
        // Cargo's scratch folder for integration tests: rewritten each run.
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("adversarial");
        let _ = std::fs::remove_dir_all(&dir);
        let out = Command::new(&generator)
            .arg("--small")
            .arg(&dir)
            .output()
            .unwrap_or_else(|e| panic!("run {}: {e}", generator.display()));
        assert!(
            out.status.success(),
            "the adversarial generator failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        dir
    })
}

/// Whether `/usr/bin/time` is there to measure peak memory.
fn gnu_time() -> Option<&'static Path> {
    let p = Path::new("/usr/bin/time");
    p.is_file().then_some(p)
}

/// Whether the binary has a given option (some limits are recent).
fn has_option(option: &str) -> bool {
    static HELP: OnceLock<String> = OnceLock::new();
    HELP.get_or_init(|| {
        let out = Command::new(env!("CARGO_BIN_EXE_telltale"))
            .args(["analyze", "--help"])
            .output()
            .expect("run telltale --help");
        String::from_utf8_lossy(&out.stdout).into_owned()
    })
    .contains(option)
}

/// One run of `telltale analyze -f jsonl -j 1`.
struct Run {
    name: String,
    records: Vec<Value>,
    stderr: String,
}

impl Run {
    /// Records of one event type.
    fn of(&self, event_type: &str) -> impl Iterator<Item = &Value> {
        self.records
            .iter()
            .filter(move |r| r["event_type"] == event_type)
    }

    /// Lines `telltale: warning: ...` on standard error.
    fn warnings(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| l.starts_with("telltale: warning: "))
            .collect()
    }

    fn has_warning(&self, text: &str) -> bool {
        self.warnings().iter().any(|w| w.contains(text))
    }

    /// The number right before `text` in a warning line, e.g.
    /// `"2125 flows ended early"` → 2125 for `" flows ended early"`.
    fn warning_count(&self, text: &str) -> Option<u64> {
        self.warnings().iter().find_map(|w| {
            let at = w.find(text)?;
            let digits: String = w[..at]
                .chars()
                .rev()
                .take_while(|c| c.is_ascii_digit())
                .collect();
            digits.chars().rev().collect::<String>().parse().ok()
        })
    }

    /// The DNS answer and the HTTP exchange of `<side>.example`.
    fn assert_exchange(&self, side: &str) {
        let host = format!("{side}.example");
        assert!(
            self.of("dns").any(|r| r["dns"]["type"] == "answer"
                && r["dns"]["rrname"] == host.as_str()
                && r["dns"]["answers"][0]["rdata"].is_string()),
            "{}: no DNS answer for {host}\n{}",
            self.name,
            self.stderr
        );
        assert!(
            self.of("http")
                .any(|r| r["http"]["hostname"] == host.as_str()
                    && r["http"]["url"] == format!("/{side}").as_str()
                    && r["http"]["status"] == 200),
            "{}: no HTTP exchange with {host}\n{}",
            self.name,
            self.stderr
        );
        assert!(
            self.of("flow")
                .any(|r| r["flow"]["server_name"] == host.as_str() && r["dest_port"] == 80),
            "{}: no flow named {host}",
            self.name
        );
    }

    fn assert_both_exchanges(&self) {
        self.assert_exchange("before");
        self.assert_exchange("after");
    }
}

/// Runs `telltale analyze -f jsonl -j 1 [extra] <capture>` and checks what
/// every capture must give: exit 0 or 1 (no signal, no panic), JSON Lines
/// that parse, peak memory under [`MAX_RSS_KIB`].
fn analyze(name: &str, extra: &[&str]) -> Run {
    let capture = captures().join(name);
    assert!(capture.is_file(), "{} was not generated", capture.display());
    let telltale = env!("CARGO_BIN_EXE_telltale");
    let rss_file = captures().join(format!("{name}.rss"));
    let mut cmd = match gnu_time() {
        Some(time) => {
            let mut c = Command::new(time);
            c.args(["-f", "%M", "-o"]).arg(&rss_file).arg(telltale);
            c
        }
        None => Command::new(telltale),
    };
    cmd.args(["analyze", "-f", "jsonl", "-j", "1"])
        .args(extra)
        .arg(&capture);
    let started = Instant::now();
    let out = cmd.output().expect("run telltale");
    let secs = started.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    // GNU time exits with 128 + the signal when the command was killed.
    assert!(
        matches!(out.status.code(), Some(0 | 1)) && !stderr.contains("panicked"),
        "{name}: telltale ended with {} \n{stderr}",
        out.status
    );
    let stdout = String::from_utf8(out.stdout).expect("UTF-8 output");
    let records = stdout
        .lines()
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("{name}: bad JSON line {l}: {e}"))
        })
        .collect();
    match gnu_time() {
        Some(_) => {
            let text = std::fs::read_to_string(&rss_file).expect("time's output");
            let kib: u64 = text
                .lines()
                .last()
                .and_then(|l| l.trim().parse().ok())
                .unwrap_or_else(|| panic!("{name}: no peak RSS in {text:?}"));
            eprintln!("{name}: {secs:.2} s, peak RSS {kib} KiB");
            assert!(
                kib < MAX_RSS_KIB,
                "{name}: peak RSS {kib} KiB is over {MAX_RSS_KIB} KiB"
            );
        }
        None => eprintln!(
            "{name}: {secs:.2} s; peak RSS not measured: /usr/bin/time is missing (Debian package `time`)"
        ),
    }
    Run {
        name: name.to_owned(),
        records,
        stderr,
    }
}

/// Flows to the flood target in the small SYN flood.
const SYN_FLOWS: u64 = 3_000;

#[test]
fn syn_flood_evicts_and_says_so() {
    if !has_option("--max-flows") {
        // Without the option the default table (1,000,000 flows) is far
        // above what a debug test can flood; the bench floods it.
        eprintln!("syn-flood: --max-flows missing; eviction not exercised here");
        let run = analyze("syn-flood.pcap", &[]);
        run.assert_both_exchanges();
        return;
    }
    let run = analyze("syn-flood.pcap", &["--max-flows", "1000"]);
    run.assert_both_exchanges();
    let flood = run
        .of("flow")
        .filter(|r| r["dest_ip"] == "203.0.113.80")
        .count() as u64;
    assert_eq!(flood, SYN_FLOWS, "every flooding flow is still reported");
    let evicted = run
        .warning_count(" flows ended early")
        .unwrap_or_else(|| panic!("no flow-table notice:\n{}", run.stderr));
    assert!(
        evicted >= SYN_FLOWS + 4 - 1000,
        "{evicted} flows evicted from a 1000-flow table"
    );
    let marked = run
        .of("flow")
        .filter(|r| r["flow"]["reason"] == "evicted")
        .count() as u64;
    assert_eq!(marked, evicted, "evicted flows say so in flow.reason");
}

#[test]
fn sequence_gap_is_given_up_and_counted() {
    let extra: &[&str] = if has_option("--max-flow-buffer") {
        &["--max-flow-buffer", "64K"]
    } else {
        &[]
    };
    let run = analyze("ooo-gap.pcap", extra);
    run.assert_both_exchanges();
    let flow = run
        .of("flow")
        .find(|r| r["dest_ip"] == "198.51.100.30")
        .expect("the gap flow");
    let f = &flow["flow"];
    assert!(f["gaps"]["toserver"].as_u64() >= Some(1), "{f}");
    assert!(
        f["gaps"]["bytes_toserver"].as_u64() >= Some(1_000_000_000),
        "the 1 GB hole is counted: {f}"
    );
    assert!(f["limits"]["buffer_cap_hits"].as_u64() >= Some(1), "{f}");
    assert!(run.has_warning("flows hit a per-flow buffer or stream limit"));
    // Streamed or sorted on disk, the flows are not kept, and the notice
    // still comes.
    for way in ["--stream", "--collect-limit=0"] {
        let run = analyze("ooo-gap.pcap", &[extra, &[way]].concat());
        assert!(run.has_warning("flows hit a per-flow buffer or stream limit"));
    }
    // The request before the hole was read; parsing resumed past it.
    let urls: Vec<&str> = run
        .of("http")
        .filter(|r| r["http"]["hostname"] == "gap.example")
        .filter_map(|r| r["http"]["url"].as_str())
        .collect();
    assert_eq!(urls.first(), Some(&"/start"));
    assert!(urls.contains(&"/beyond"), "nothing parsed past the gap");
}

#[test]
fn first_copy_of_overlapping_bytes_wins() {
    let run = analyze("conflicting-overlap.pcap", &[]);
    run.assert_both_exchanges();
    let urls: Vec<&str> = run
        .of("http")
        .filter(|r| r["http"]["hostname"] == "overlap.example")
        .filter_map(|r| r["http"]["url"].as_str())
        .collect();
    // In order; against a buffered copy; buffered against buffered.
    assert_eq!(urls, ["/good-1", "/good-2", "/good-3"]);
}

/// Checks the fragment notice of a flood of `trains` incomplete datagrams:
/// every one is dropped, at the limit or at the end, and at least those
/// past the 4,096-datagram pool were dropped at the limit.
fn assert_fragment_notice(run: &Run, trains: u64) {
    let dropped = run
        .warning_count(" datagrams dropped at the reassembly limits")
        .unwrap_or_else(|| panic!("{}: no fragment notice:\n{}", run.name, run.stderr));
    let incomplete = run
        .warning_count(" datagrams incomplete at the end")
        .expect("incomplete count");
    assert!(dropped >= trains - 4096, "{dropped} dropped");
    assert_eq!(dropped + incomplete, trains, "{}", run.stderr);
}

#[test]
fn ipv4_fragment_flood_is_bounded() {
    let run = analyze("frag-flood-v4.pcap", &[]);
    // The after.example DNS answer comes in two fragments: reassembly still
    // works after the flood.
    run.assert_both_exchanges();
    assert_fragment_notice(&run, 5_000);
}

#[test]
fn ipv6_fragment_flood_is_bounded() {
    let run = analyze("frag-flood-v6.pcap", &[]);
    run.assert_both_exchanges();
    assert_fragment_notice(&run, 5_000);
}

#[test]
fn gzip_bomb_stops_at_the_body_limit() {
    let run = analyze("gzip-bomb.pcap", &[]);
    run.assert_both_exchanges();
    let bomb = run
        .of("http")
        .find(|r| r["http"]["hostname"] == "bomb.example")
        .expect("the bomb's HTTP record");
    assert_eq!(bomb["http"]["status"], 200);
    assert_eq!(
        bomb["http"]["body_limit_hit"],
        serde_json::json!(["response"]),
        "{bomb}"
    );
    assert!(run.has_warning("had a body cut at the body size or decompression limit"));
    for way in ["--stream", "--collect-limit=0"] {
        let run = analyze("gzip-bomb.pcap", &[way]);
        assert!(run.has_warning("had a body cut at the body size or decompression limit"));
    }
}

#[test]
fn dns_compression_loops_end_as_partial_answers() {
    let run = analyze("dns-compression-loop.pcap", &[]);
    run.assert_both_exchanges();
    let queries = run
        .of("dns")
        .filter(|r| r["dns"]["type"] == "query")
        .filter(|r| {
            r["dns"]["rrname"]
                .as_str()
                .is_some_and(|n| n.starts_with("loop"))
        })
        .count();
    assert_eq!(queries, 30, "every query is reported");
    // Owner names that loop (variants 0 and 2 of the generator): the
    // answer is reported with its question and marked partial.
    let partial: Vec<&str> = run
        .of("dns")
        .filter(|r| r["dns"]["partial"] == true)
        .filter_map(|r| r["dns"]["rrname"].as_str())
        .collect();
    assert_eq!(partial.len(), 15, "{partial:?}");
    assert!(partial.iter().all(|n| {
        let i: usize = n["loop".len()..n.len() - ".example".len()].parse().unwrap();
        i.is_multiple_of(2)
    }));
}

/// Byte offset of the first block that lies: the first whose framing does
/// not hold, or an Enhanced Packet Block claiming more bytes than it has.
fn first_lying_block(file: &[u8]) -> u64 {
    let u32_at = |o: usize| u32::from_le_bytes(file[o..o + 4].try_into().unwrap()) as usize;
    let mut off = 0;
    while off + 12 <= file.len() {
        let len = u32_at(off + 4);
        if len < 12
            || !len.is_multiple_of(4)
            || off + len > file.len()
            || u32_at(off + len - 4) != len
        {
            break;
        }
        if u32_at(off) == 6 && 20 + u32_at(off + 20) > len - 12 {
            break;
        }
        off += len;
    }
    off as u64
}

#[test]
fn pcapng_blocks_lying_about_their_length() {
    for lie in [
        "zero",
        "odd",
        "beyond-file",
        "huge",
        "trailer-mismatch",
        "caplen-beyond-block",
    ] {
        let name = format!("pcapng-lying-{lie}.pcapng");
        let bytes = std::fs::read(captures().join(&name)).expect("generated");
        let offset = first_lying_block(&bytes);
        assert!(offset > 0 && offset < bytes.len() as u64, "{name}");
        let run = analyze(&name, &[]);
        run.assert_exchange("before");
        assert!(
            run.has_warning(&format!("byte offset {offset}")),
            "{name}: no warning at byte offset {offset}:\n{}",
            run.stderr
        );
        if lie == "caplen-beyond-block" {
            // The block's own framing holds: only the packet is skipped.
            assert!(run.has_warning("packet skipped"), "{}", run.stderr);
        } else {
            // No length to trust: the reader finds the next block that
            // frames correctly and says how much it skipped.
            assert!(
                run.has_warning("to the next block that frames correctly"),
                "{name}: {}",
                run.stderr
            );
        }
        // Either way the traffic after the lie is read.
        run.assert_exchange("after");
    }
}

#[test]
fn snaplen_zero_and_empty_records() {
    let run = analyze("snaplen-zero.pcap", &[]);
    run.assert_both_exchanges();
}

#[test]
fn timestamps_backwards_and_jumping() {
    let run = analyze("time-backwards.pcap", &[]);
    run.assert_both_exchanges();
    assert!(
        run.of("http")
            .any(|r| r["http"]["hostname"] == "time.example" && r["http"]["status"] == 200),
        "the exchange dated backwards is still read"
    );
}

#[test]
fn packets_on_undescribed_interfaces() {
    let run = analyze("missing-interface.pcapng", &[]);
    run.assert_both_exchanges();
    for interface in ["1", "7", "4294967295", "5"] {
        assert!(
            run.has_warning(&format!(
                "packet names interface {interface}, which was never described"
            )),
            "interface {interface}:\n{}",
            run.stderr
        );
    }
    assert!(
        run.warnings()
            .iter()
            .all(|w| !w.contains("never described") || w.contains("byte offset ")),
        "warnings name their byte offset"
    );
    // 150 such packets plus the one of the second section: 100 warnings
    // kept, the rest counted.
    assert!(
        run.has_warning("more warnings suppressed after the first 100"),
        "{}",
        run.stderr
    );
}

/// One flow that never ends before the capture does: its events are
/// written as they come, not held until it ends (which let such a flow
/// fill memory). With `--stream` every one of its DNS lines comes before
/// its flow record; sorted on disk (`--collect-limit 0`) the lines are
/// those of the collected run.
#[test]
fn an_endless_flow_is_written_as_it_goes() {
    let endless = |r: &Value| r["src_port"] == 5353 && r["dest_port"] == 53;
    let run = analyze("endless-flow.pcap", &["--stream"]);
    run.assert_both_exchanges();
    let flow_at = run
        .records
        .iter()
        .position(|r| r["event_type"] == "flow" && endless(r))
        .expect("the endless flow's record");
    let dns: Vec<usize> = (0..run.records.len())
        .filter(|&i| run.records[i]["event_type"] == "dns" && endless(&run.records[i]))
        .collect();
    assert_eq!(dns.len(), 5_000, "every query and answer");
    assert!(
        dns.iter().all(|&i| i < flow_at),
        "events of the open flow waited for its end"
    );
    let sorted = analyze(
        "endless-flow.pcap",
        &["--collect-limit", "0", "--sort-memory", "64K"],
    );
    let collected = analyze("endless-flow.pcap", &[]);
    assert_eq!(sorted.records, collected.records);
    assert_eq!(sorted.records.len(), run.records.len());
}

/// One flow that never ends and sends the IMEI in every request: past
/// 1,024 held findings they are written before the flow ends, and the
/// flow's record still counts them all. Sorted on disk, the lines are the
/// collected ones; streamed, the same lines.
#[test]
fn an_endless_leak_is_written_as_it_goes() {
    let leak = |r: &Value| r["dest_port"] == 80 && r["src_port"] == 40060;
    let sorted_lines = |run: &Run| {
        let mut v: Vec<String> = run.records.iter().map(Value::to_string).collect();
        v.sort();
        v
    };
    let run = analyze("endless-leak.pcap", &["--stream"]);
    run.assert_both_exchanges();
    let flow_at = run
        .records
        .iter()
        .position(|r| r["event_type"] == "flow" && leak(r))
        .expect("the leaking flow's record");
    assert_eq!(run.records[flow_at]["flow"]["identifiers"]["count"], 1_500);
    let found: Vec<usize> = (0..run.records.len())
        .filter(|&i| run.records[i]["event_type"] == "identifier" && leak(&run.records[i]))
        .collect();
    assert_eq!(found.len(), 1_500);
    let early = found.iter().filter(|&&i| i < flow_at).count();
    assert!(
        early >= 1_024,
        "findings waited for the flow's end: {early} early"
    );
    let sorted = analyze(
        "endless-leak.pcap",
        &["--collect-limit", "0", "--sort-memory", "64K"],
    );
    let collected = analyze("endless-leak.pcap", &[]);
    assert_eq!(sorted.records, collected.records);
    assert_eq!(sorted_lines(&run), sorted_lines(&collected));
}

/// Sorting thousands of flows' lines in a tiny buffer on four threads
/// keeps more temporary files open than a soft limit of 48 allows: the
/// command raises its soft limit toward the hard one and finishes with the
/// collected bytes; with the hard limit that low it fails cleanly, saying
/// why.
#[cfg(target_os = "linux")]
#[test]
fn sorting_on_disk_lives_within_the_open_file_limit() {
    let capture = captures().join("syn-flood.pcap");
    let telltale = env!("CARGO_BIN_EXE_telltale");
    let collected = Command::new(telltale)
        .args(["analyze", "-q", "-j", "1", "-f", "jsonl"])
        .arg(&capture)
        .output()
        .unwrap();
    assert!(collected.status.success());
    assert!(collected.stdout.len() > 1_000_000);
    let limited = |how: &str| {
        Command::new("sh")
            .arg("-c")
            .arg(format!(
                "ulimit {how} 48 && exec \"$0\" analyze -q -j 4 --collect-limit 0 \
                 --sort-memory 1K -f jsonl \"$1\""
            ))
            .arg(telltale)
            .arg(&capture)
            .output()
            .unwrap()
    };
    let soft = limited("-Sn");
    assert!(
        soft.status.success(),
        "{}",
        String::from_utf8_lossy(&soft.stderr)
    );
    assert!(soft.stdout == collected.stdout, "sorted lines differ");
    let hard = limited("-n");
    assert_eq!(hard.status.code(), Some(1));
    let err = String::from_utf8_lossy(&hard.stderr);
    assert!(
        err.contains("cannot sort the output in temporary files"),
        "{err}"
    );
}
