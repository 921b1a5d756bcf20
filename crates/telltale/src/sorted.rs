//! The collected report's outputs with flat memory, for captures too large
//! to collect: each capture is streamed (flows named as they end, as
//! `Analyzer::stream_jsonl` does, split across threads by flow when there
//! are spare ones). JSON Lines and the flows and identifiers CSVs have
//! their lines sorted by [`JsonlKey`] in a bounded buffer that spills
//! sorted runs to temporary files, merged at the end (an external sort, as
//! `sort(1)` does it); destinations are added up as flows end.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;
use telltale_decode::Timestamp;
use telltale_flow::{FlowId, FlowInfo, FlowSummary};
use telltale_proto::{AppEvent, AppProto, AppSink};
use telltale_report::{
    CsvRows, Destination, DestinationTally, FlowFindings, InputFailure, JsonlKey, LimitCounts,
    Report, write_flow_csv_keyed,
};

use crate::analyzer::{DnsScope, Error, Progress};
use crate::inputs::expand_inputs;
use crate::pipeline::{CollectBudget, ShardSink, drive, drive_sharded};
use crate::stream::{FlowLines, Tracker};
use crate::{Analyzer, CaptureReport};

/// Runs of one level merged into one of the next: a capture keeps at most
/// this many runs per level open (levels grow with the logarithm of its
/// output), and every line is rewritten once per level, not once per
/// merge.
const FAN_IN: usize = 16;

/// Read buffer per run while merging.
const RUN_BUFFER: usize = 64 << 10;

/// One capture's lines, sorted by key: held in memory up to a budget, the
/// rest in sorted runs in temporary files (deleted when dropped).
pub(crate) struct SortedLines {
    budget: usize,
    /// Lines held: key, start in `text`, length.
    held: Vec<(JsonlKey, usize, usize)>,
    text: Vec<u8>,
    /// Sorted runs with their level: 0 a spill of the buffer, n + 1 a
    /// merge of `FAN_IN` runs of level n.
    runs: Vec<(u32, File)>,
    /// Runs written, merged runs included (for tests and the note).
    spills: usize,
}

/// What one held line costs beside its text.
const HELD_ENTRY: usize = std::mem::size_of::<(JsonlKey, usize, usize)>();

impl SortedLines {
    /// Lines holding at most about `budget` bytes in memory.
    pub(crate) fn new(budget: usize) -> Self {
        SortedLines {
            budget,
            held: Vec::new(),
            text: Vec::new(),
            runs: Vec::new(),
            spills: 0,
        }
    }

    /// Adds one line (with its newline).
    pub(crate) fn push(&mut self, key: JsonlKey, line: &[u8]) -> io::Result<()> {
        if self.text.capacity() == 0 {
            // Once, the whole budget (up to 256 MiB; the rest comes by
            // doubling): growing by doubling would leave up to twice the
            // budget in a buffer that is kept across spills.
            self.text.reserve_exact(self.budget.min(256 << 20));
        }
        self.held.push((key, self.text.len(), line.len()));
        self.text.extend_from_slice(line);
        if self.text.len() + self.held.len() * HELD_ENTRY >= self.budget {
            self.spill()?;
        }
        Ok(())
    }

    /// Sorts the held lines into a new run and empties the buffer.
    fn spill(&mut self) -> io::Result<()> {
        if self.held.is_empty() {
            return Ok(());
        }
        self.held.sort_unstable_by_key(|&(k, _, _)| k);
        let mut run = BufWriter::with_capacity(RUN_BUFFER, tempfile::tempfile()?);
        for &(key, start, len) in &self.held {
            write_entry(&mut run, key, &self.text[start..start + len])?;
        }
        self.push_run(0, run)?;
        self.held.clear();
        self.text.clear();
        // Merge level by level, as an LSM tree does: FAN_IN runs of one
        // level become one of the next.
        let mut level = 0;
        loop {
            let same: Vec<usize> = (0..self.runs.len())
                .filter(|&i| self.runs[i].0 == level)
                .collect();
            if same.len() < FAN_IN {
                return Ok(());
            }
            let mut files = Vec::with_capacity(same.len());
            for &i in same.iter().rev() {
                files.push(self.runs.remove(i).1);
            }
            let mut merged = BufWriter::with_capacity(RUN_BUFFER, tempfile::tempfile()?);
            merge(Vec::new(), files, |key, line| {
                write_entry(&mut merged, key, line)
            })?;
            level += 1;
            self.push_run(level, merged)?;
        }
    }

    fn push_run(&mut self, level: u32, run: BufWriter<File>) -> io::Result<()> {
        let mut file = run.into_inner().map_err(|e| e.into_error())?;
        file.rewind()?;
        self.runs.push((level, file));
        self.spills += 1;
        Ok(())
    }

    /// How many runs were written to disk.
    #[cfg(test)]
    pub(crate) fn spills(&self) -> usize {
        self.spills
    }

    /// Writes every line of `parts` (the shards of one capture, their keys
    /// distinct) in key order: `Error::Write` when `out` fails,
    /// `Error::Spill` when a run cannot be read back.
    pub(crate) fn write_all(parts: Vec<SortedLines>, out: &mut impl Write) -> Result<(), Error> {
        let mut held = Vec::with_capacity(parts.len());
        let mut runs = Vec::new();
        for mut p in parts {
            p.held.sort_unstable_by_key(|&(k, _, _)| k);
            runs.extend(p.runs.drain(..).map(|(_, f)| f));
            held.push((std::mem::take(&mut p.held), std::mem::take(&mut p.text)));
        }
        let mut failed = None;
        let merged = merge(held, runs, |_, line| {
            out.write_all(line).map_err(|e| {
                failed = Some(e);
                io::Error::other("the output failed")
            })
        });
        match (failed, merged) {
            (Some(e), _) => Err(Error::Write(e)),
            (None, Err(e)) => Err(spill_error(e)),
            (None, Ok(())) => Ok(()),
        }
    }
}

/// A temporary file's failure, with where temporary files go.
fn spill_error(source: io::Error) -> Error {
    Error::Spill {
        dir: std::env::temp_dir(),
        source,
    }
}

/// One entry of a run: the key, the line's length, the line.
fn write_entry(out: &mut impl Write, key: JsonlKey, line: &[u8]) -> io::Result<()> {
    let len = u32::try_from(line.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "a JSON line over 4 GiB"))?;
    out.write_all(&key.to_bytes())?;
    out.write_all(&len.to_le_bytes())?;
    out.write_all(line)
}

/// A run being read back.
struct RunReader {
    file: BufReader<File>,
    line: Vec<u8>,
}

impl RunReader {
    /// The next entry's key, its line left in `self.line`; `None` at the
    /// end of the run.
    fn next(&mut self) -> io::Result<Option<JsonlKey>> {
        let mut key = [0u8; JsonlKey::LEN];
        // The run ends at an entry boundary: no byte there is the end, a
        // part of a key is damage (the file was cut or changed under us).
        let mut got = 0;
        while got < key.len() {
            match self.file.read(&mut key[got..]) {
                Ok(0) if got == 0 => return Ok(None),
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        let mut len = [0u8; 4];
        self.file.read_exact(&mut len)?;
        self.line.resize(u32::from_le_bytes(len) as usize, 0);
        self.file.read_exact(&mut self.line)?;
        Ok(Some(JsonlKey::from_bytes(&key)))
    }
}

/// Lines held in memory, sorted: entries (key, start, length) into a text.
type Held = (Vec<(JsonlKey, usize, usize)>, Vec<u8>);

/// Merges sorted lines held in memory (any number of sorted buffers) with
/// sorted runs, handing every line to `emit` in key order.
fn merge(
    held: Vec<Held>,
    runs: Vec<File>,
    mut emit: impl FnMut(JsonlKey, &[u8]) -> io::Result<()>,
) -> io::Result<()> {
    let mut readers: Vec<RunReader> = runs
        .into_iter()
        .map(|f| RunReader {
            file: BufReader::with_capacity(RUN_BUFFER, f),
            line: Vec::new(),
        })
        .collect();
    // Sources past the runs are the buffers held in memory, each with the
    // place of its next line.
    let first_held = readers.len();
    let mut next = vec![0usize; held.len()];
    let mut heap = BinaryHeap::with_capacity(readers.len() + held.len());
    for (i, r) in readers.iter_mut().enumerate() {
        if let Some(k) = r.next()? {
            heap.push(Reverse((k, i)));
        }
    }
    for (j, (entries, _)) in held.iter().enumerate() {
        if let Some(&(k, _, _)) = entries.first() {
            heap.push(Reverse((k, first_held + j)));
        }
    }
    while let Some(Reverse((key, i))) = heap.pop() {
        if let Some(j) = i.checked_sub(first_held) {
            let (entries, text) = &held[j];
            let (_, start, len) = entries[next[j]];
            emit(key, &text[start..start + len])?;
            next[j] += 1;
            if let Some(&(k, _, _)) = entries.get(next[j]) {
                heap.push(Reverse((k, i)));
            }
        } else {
            emit(key, &readers[i].line)?;
            if let Some(k) = readers[i].next()? {
                heap.push(Reverse((k, i)));
            }
        }
    }
    Ok(())
}

/// What [`Analyzer::analyze_sorted`] writes: the line-per-record outputs,
/// whose records can be sorted on disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SortedFormat {
    /// EVE-shaped JSON Lines ([`telltale_report::write_jsonl`]).
    Jsonl,
    /// One CSV row per flow ([`telltale_report::write_flows_csv`]).
    FlowsCsv,
    /// One CSV row per identifier finding
    /// ([`telltale_report::write_identifiers_csv`]).
    IdentifiersCsv,
}

/// The dissectors' sink for [`Analyzer::analyze_sorted`]: as
/// `stream_jsonl`'s, with each flow's lines going to a [`SortedLines`].
struct SortingStreamer {
    format: SortedFormat,
    name: String,
    tracker: Tracker<FlowLines>,
    lines: SortedLines,
    error: Option<io::Error>,
}

impl AppSink for SortingStreamer {
    fn flow_start(&mut self, flow: &FlowInfo, ts: Timestamp) {
        self.tracker.start(flow, ts);
    }

    fn flow_app(&mut self, flow: FlowId, app: AppProto) {
        self.tracker.app(flow, app);
    }

    fn app_event(&mut self, event: AppEvent) {
        if self.format == SortedFormat::FlowsCsv {
            // A flow's row needs none of its findings: none are kept.
            self.tracker.observe(&event);
            return;
        }
        // Only JSON Lines write events; the identifiers CSV names each
        // finding's destination, known when its flow ends, so it keeps
        // them until then.
        let (lines, name, error) = (&mut self.lines, &self.name, &mut self.error);
        self.tracker
            .hold(event, self.format == SortedFormat::Jsonl, |line| {
                if error.is_none() {
                    *error = line.write(name, |key, text| lines.push(key, text)).err();
                }
            });
    }

    fn flow_end(&mut self, summary: &FlowSummary, app: AppProto) {
        let Some((record, lines)) = self.tracker.release(summary, app) else {
            return;
        };
        if self.error.is_none() {
            let sorted = &mut self.lines;
            let (name, findings) = (&self.name, &lines.findings);
            let emit = |key, line: &[u8]| sorted.push(key, line);
            let written = match self.format {
                SortedFormat::Jsonl => telltale_report::write_flow_jsonl_keyed_after(
                    name,
                    &record,
                    &lines.events,
                    findings,
                    &lines.findings_written,
                    emit,
                ),
                SortedFormat::FlowsCsv => {
                    write_flow_csv_keyed(CsvRows::Flows, name, &record, findings, emit)
                }
                SortedFormat::IdentifiersCsv => {
                    write_flow_csv_keyed(CsvRows::Identifiers, name, &record, findings, emit)
                }
            };
            self.error = written.err();
        }
    }
}

impl ShardSink for SortingStreamer {
    fn foreign_dns(&mut self, event: &AppEvent, server: Option<IpAddr>) {
        self.tracker.observe_foreign(event, server);
    }
}

impl SortingStreamer {
    fn new(analyzer: &Analyzer, format: SortedFormat, path: &Path, budget: usize) -> Self {
        SortingStreamer {
            format,
            name: path.to_string_lossy().into_owned(),
            tracker: Tracker::new(analyzer),
            lines: SortedLines::new(budget),
            error: None,
        }
    }
}

impl Analyzer {
    /// Analyses every capture under `paths` and writes it as EVE-shaped JSON
    /// Lines, the bytes [`write_jsonl`](Self::write_jsonl) writes for
    /// [`analyze`](Self::analyze)'s report, with memory that does not grow
    /// with the captures' size: each capture is streamed (flows named when
    /// they end, as [`stream_jsonl`](Self::stream_jsonl) names them) and its
    /// lines sorted in a buffer of [`sort_memory`] bytes shared by the
    /// captures read at once, the overflow in sorted temporary files (in
    /// [`std::env::temp_dir`]) merged at the end.
    ///
    /// The names are those of the collected report when capture order
    /// follows time and a flow's server was answered among the
    /// [`MAX_RESOLVED_ADDRESSES`] addresses answered last before it (the
    /// streaming namer's bounds, see [`stream`](Self::stream)): an answer
    /// recorded after a flow but dated before it names the flow only in
    /// the collected report.
    ///
    /// [`MAX_RESOLVED_ADDRESSES`]: telltale_detect::MAX_RESOLVED_ADDRESSES
    ///
    /// Captures are read in parallel and written in input order; threads
    /// beyond one per capture split a plain file by flow, each shard
    /// following the other shards' DNS flows (port 53) to name its own as
    /// one pipeline would. The report is collected and written instead
    /// (the same bytes) when the captures are [`collect_limit`] bytes or
    /// less in all (2 GiB by default: their records take about 75 MiB per
    /// GiB, and writing from memory is faster), and with redaction or
    /// [`DnsScope::Batch`], which need every capture's records at once. The returned report has the captures' counters,
    /// warnings and the inputs that failed, and their flows, events and
    /// findings only when they were collected.
    ///
    /// [`sort_memory`]: crate::AnalyzerBuilder::sort_memory
    /// [`collect_limit`]: crate::AnalyzerBuilder::collect_limit
    ///
    /// ```
    /// use telltale::Analyzer;
    /// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/redmi-1s-2014.pcap");
    /// // Sorted however small the capture, in a tiny buffer: the lines go
    /// // through many sorted runs on disk.
    /// let analyzer = Analyzer::builder().collect_limit(0).sort_memory(4096).build();
    /// let mut sorted = Vec::new();
    /// let summary = analyzer.analyze_jsonl([path], &mut sorted)?;
    /// assert_eq!(summary.captures[0].packets, 48);
    /// let mut collected = Vec::new();
    /// analyzer.write_jsonl(&analyzer.analyze([path])?, &mut collected)?;
    /// assert_eq!(sorted, collected);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn analyze_jsonl<P: AsRef<Path>>(
        &self,
        paths: impl IntoIterator<Item = P>,
        out: &mut impl Write,
    ) -> Result<Report, Error> {
        self.analyze_sorted(paths, SortedFormat::Jsonl, out)
    }

    /// As [`analyze_jsonl`](Self::analyze_jsonl), for any output with a
    /// line per record: JSON Lines, the flows CSV or the identifiers CSV,
    /// the bytes their whole-report writers write for
    /// [`analyze`](Self::analyze)'s report.
    ///
    /// ```
    /// use telltale::{Analyzer, SortedFormat};
    /// use telltale::report::write_identifiers_csv;
    /// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/redmi-1s-2014.pcap");
    /// let analyzer = Analyzer::builder().collect_limit(0).build();
    /// let mut sorted = Vec::new();
    /// analyzer.analyze_sorted([path], SortedFormat::IdentifiersCsv, &mut sorted)?;
    /// let mut collected = Vec::new();
    /// write_identifiers_csv(&analyzer.analyze([path])?, &mut collected)?;
    /// assert_eq!(sorted, collected);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn analyze_sorted<P: AsRef<Path>>(
        &self,
        paths: impl IntoIterator<Item = P>,
        format: SortedFormat,
        out: &mut impl Write,
    ) -> Result<Report, Error> {
        let (files, walk_errors) = expand_inputs(paths);
        if let Some(report) = self.try_collect(&files, &walk_errors)? {
            match format {
                SortedFormat::Jsonl => self.write_jsonl(&report, out),
                SortedFormat::FlowsCsv => telltale_report::write_flows_csv(&report, &mut *out),
                SortedFormat::IdentifiersCsv => {
                    telltale_report::write_identifiers_csv(&report, &mut *out)
                }
            }
            .map_err(Error::Write)?;
            return Ok(report);
        }
        let header = match format {
            SortedFormat::Jsonl => Vec::new(),
            SortedFormat::FlowsCsv => CsvRows::Flows.header(),
            SortedFormat::IdentifiersCsv => CsvRows::Identifiers.header(),
        };
        out.write_all(&header).map_err(Error::Write)?;
        let make = |path: &Path, budget: usize| SortingStreamer::new(self, format, path, budget);
        self.stream_captures(files, walk_errors, make, |parts| {
            let lines = parts.into_iter().map(|p| p.lines).collect();
            SortedLines::write_all(lines, out)
        })
    }

    /// The destinations of every capture under `paths`, as
    /// [`destinations`](telltale_report::destinations) gives them for
    /// [`analyze`](Self::analyze)'s report, with memory that does not grow
    /// with the captures' size (when they are over [`collect_limit`] in
    /// all): flows are named as they end, as with
    /// [`analyze_jsonl`](Self::analyze_jsonl), and added up at once
    /// ([`DestinationTally`]), so memory follows the destinations and the
    /// open flows. Also returns the report: the captures' counters,
    /// warnings and failed inputs, and their records when they were
    /// collected.
    ///
    /// [`collect_limit`]: crate::AnalyzerBuilder::collect_limit
    ///
    /// ```
    /// use telltale::Analyzer;
    /// use telltale::report::destinations;
    /// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/redmi-1s-2014.pcap");
    /// let analyzer = Analyzer::builder().collect_limit(0).build();
    /// let (summary, rows) = analyzer.analyze_destinations([path])?;
    /// assert!(summary.captures[0].flows.is_empty());
    /// assert_eq!(rows, destinations(&analyzer.analyze([path])?));
    /// assert!(rows.iter().any(|d| d.name == "api.account.xiaomi.com"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn analyze_destinations<P: AsRef<Path>>(
        &self,
        paths: impl IntoIterator<Item = P>,
    ) -> Result<(Report, Vec<Destination>), Error> {
        let (files, walk_errors) = expand_inputs(paths);
        if let Some(report) = self.try_collect(&files, &walk_errors)? {
            let rows = telltale_report::destinations(&report);
            return Ok((report, rows));
        }
        let mut all = DestinationTally::default();
        let make = |_: &Path, _: usize| TallyStreamer::new(self);
        let report = self.stream_captures(files, walk_errors, make, |parts| {
            for p in parts {
                all.merge(p.tally);
            }
            Ok(())
        })?;
        Ok((report, all.into_rows()))
    }

    /// The captures' collected report, when they are to be collected
    /// instead of streamed: always for redaction and [`DnsScope::Batch`],
    /// which need every capture's records at once; for captures small in
    /// all unless their records outgrow `collect_memory` (`None`: they
    /// are to be streamed). Writing records from memory after the analysis
    /// costs a tenth less than writing each flow as it ends (and, split by
    /// flow, than following the other shards' DNS).
    fn try_collect(
        &self,
        files: &[PathBuf],
        walk_errors: &[(PathBuf, io::Error)],
    ) -> Result<Option<Report>, Error> {
        if self.redactor.is_some() || self.dns_scope == DnsScope::Batch {
            return self.analyze_files(files, walk_errors, None);
        }
        let size: u64 = files
            .iter()
            .map(|f| crate::inputs::size_estimate(f))
            .fold(0, u64::saturating_add);
        if size > self.collect_limit {
            return Ok(None);
        }
        let budget = Arc::new(CollectBudget::new(self.collect_memory));
        self.analyze_files(files, walk_errors, Some(budget))
    }

    /// Streams every capture through sinks from `make(path, sort budget)`,
    /// a few per thread at a time, and hands each capture's sinks (one per
    /// shard) to `each` in input order; returns the report of the
    /// captures' counters and the failed inputs.
    fn stream_captures<S: Streamed>(
        &self,
        files: Vec<PathBuf>,
        walk_errors: Vec<(PathBuf, io::Error)>,
        make: impl Fn(&Path, usize) -> S + Sync,
        mut each: impl FnMut(Vec<S>) -> Result<(), Error>,
    ) -> Result<Report, Error> {
        let pool = self.pool()?;
        let threads = pool.current_num_threads();
        // A few captures per thread are in flight, each with its share of
        // the sort buffer: a finished capture waits for those before it.
        let in_flight = (threads * 2).min(files.len()).max(1);
        // Threads beyond one per capture split each capture by address pair.
        let shards = crate::pipeline::shards_per_file(threads, files.len());
        let budget = self.sort_memory / in_flight;
        let mut report = self.empty_report();
        for (path, e) in walk_errors {
            report.failures.push(InputFailure {
                path,
                error: e.to_string(),
            });
        }
        for group in files.chunks(in_flight) {
            let done: Vec<Result<(CaptureReport, Vec<S>), Error>> = pool.install(|| {
                group
                    .par_iter()
                    .map(|p| {
                        let r = self.stream_capture(p, shards, |parts| make(p, budget / parts));
                        if let Some(Progress(done)) = &self.progress {
                            done(p);
                        }
                        r
                    })
                    .collect()
            });
            for (path, r) in group.iter().zip(done) {
                match r {
                    Ok((capture, parts)) => {
                        each(parts)?;
                        report.captures.push(capture);
                    }
                    Err(Error::Capture(e)) => report.failures.push(InputFailure {
                        path: path.clone(),
                        error: e.to_string(),
                    }),
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(report)
    }

    /// One capture through sinks from `make(parts)`, split by address pair across
    /// `shards` threads when it is a plain file (each shard follows the
    /// others' DNS flows to name its own as one pipeline would).
    fn stream_capture<S: Streamed>(
        &self,
        path: &Path,
        shards: usize,
        make: impl Fn(usize) -> S + Sync,
    ) -> Result<(CaptureReport, Vec<S>), Error> {
        let (mut sinks, run) = if shards > 1 && crate::inputs::is_plain_file(path) {
            drive_sharded(path, self, shards, || make(shards), true, None, |_, s, _| s)?
        } else {
            let (sink, run) = drive(path, self, make(1), |_| {})?;
            (vec![sink], run)
        };
        let mut limits = LimitCounts::default();
        for sink in &mut sinks {
            if let Some(e) = sink.failure() {
                return Err(spill_error(e));
            }
            limits.add(&sink.limits());
        }
        let report = CaptureReport {
            limits,
            ..run.into_report(path, self)
        };
        Ok((report, sinks))
    }
}

/// A sink of a bounded output: what it counted of limits, and the error
/// that stopped it.
trait Streamed: ShardSink + Send {
    fn limits(&self) -> LimitCounts;
    fn failure(&mut self) -> Option<io::Error>;
}

impl Streamed for SortingStreamer {
    fn limits(&self) -> LimitCounts {
        self.tracker.limits
    }

    fn failure(&mut self) -> Option<io::Error> {
        self.error.take()
    }
}

/// The dissectors' sink for [`Analyzer::analyze_destinations`]: each flow's
/// findings counted until it ends, then the flow named and added up.
struct TallyStreamer {
    tracker: Tracker<FlowFindings>,
    tally: DestinationTally,
}

impl TallyStreamer {
    fn new(analyzer: &Analyzer) -> Self {
        TallyStreamer {
            tracker: Tracker::new(analyzer),
            tally: DestinationTally::default(),
        }
    }
}

impl AppSink for TallyStreamer {
    fn flow_start(&mut self, flow: &FlowInfo, ts: Timestamp) {
        self.tracker.start(flow, ts);
    }

    fn app_event(&mut self, event: AppEvent) {
        let (open, found) = self.tracker.observe(&event);
        if let Some((_, counted)) = open {
            found.iter().for_each(|f| counted.add(f));
        }
    }

    fn flow_end(&mut self, summary: &FlowSummary, app: AppProto) {
        let (record, counted) = self.tracker.end(summary, app);
        self.tally
            .add_counted(&record, &counted.unwrap_or_default());
    }
}

impl ShardSink for TallyStreamer {
    fn foreign_dns(&mut self, event: &AppEvent, server: Option<IpAddr>) {
        self.tracker.observe_foreign(event, server);
    }
}

impl Streamed for TallyStreamer {
    fn limits(&self) -> LimitCounts {
        self.tracker.limits
    }

    fn failure(&mut self) -> Option<io::Error> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use telltale_decode::Timestamp;

    fn key(ts: i64, second: u64, rank: u8, flow: u64, index: u64) -> JsonlKey {
        JsonlKey {
            ts: Timestamp::from_nanos(ts),
            second,
            rank,
            flow,
            index,
        }
    }

    /// Lines pushed in a scrambled order, with every budget from "all in
    /// memory" down to "a run per line" (which also merges runs into runs),
    /// come out sorted and whole.
    #[test]
    fn lines_come_out_in_key_order_whatever_the_budget() {
        let mut lines: Vec<(JsonlKey, Vec<u8>)> = (0..500u64)
            .map(|i| {
                let k = key((i % 7) as i64 - 3, i % 11, (i % 3) as u8, i % 5, i);
                let text = format!(
                    "{{\"n\":{i},\"pad\":\"{}\"}}\n",
                    "x".repeat((i % 37) as usize)
                );
                (k, text.into_bytes())
            })
            .collect();
        // A fixed scramble (a multiplicative step through the indices).
        let scrambled: Vec<(JsonlKey, Vec<u8>)> =
            (0..500).map(|i| lines[(i * 263) % 500].clone()).collect();
        lines.sort();
        let expected: Vec<u8> = lines.iter().flat_map(|(_, l)| l.clone()).collect();
        for budget in [usize::MAX, 1 << 20, 4096, 300, 1] {
            let mut sorted = SortedLines::new(budget);
            for (k, l) in &scrambled {
                sorted.push(*k, l).unwrap();
            }
            let spills = sorted.spills();
            let mut out = Vec::new();
            SortedLines::write_all(vec![sorted], &mut out)
                .map_err(|e| e.to_string())
                .unwrap();
            assert_eq!(out, expected, "budget {budget}");
            match budget {
                usize::MAX | 1_048_576 => assert_eq!(spills, 0),
                // One run per line, and the merges of each level: 500
                // lines, 31 merges of 16, one of 16 of those.
                1 => assert_eq!(spills, 500 + 31 + 1, "{spills} runs"),
                _ => assert!(spills > 1, "{spills} runs at {budget}"),
            }
        }
    }

    #[test]
    fn keys_round_trip_through_bytes() {
        for k in [
            key(i64::MIN, 0, 0, 0, 0),
            key(-1, u64::MAX, 2, u64::MAX, u64::MAX),
            key(1_700_000_000_000_000_000, 42, 1, 7, 3),
        ] {
            assert_eq!(JsonlKey::from_bytes(&k.to_bytes()), k);
        }
    }

    /// A run cut inside an entry is an error, not a short output.
    #[test]
    fn a_cut_run_is_an_error() {
        let mut file = tempfile::tempfile().unwrap();
        write_entry(&mut file, key(1, 1, 1, 1, 1), b"{}\n").unwrap();
        file.write_all(&key(2, 2, 2, 2, 2).to_bytes()[..10])
            .unwrap();
        file.rewind().unwrap();
        let err = merge(Vec::new(), vec![file], |_, _| Ok(())).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }
}
