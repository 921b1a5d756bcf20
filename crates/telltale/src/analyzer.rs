//! The entry point: configuration and the parallel driver.

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use telltale_decode::DecoderConfig;
use telltale_flow::FlowConfig;
use telltale_report::{InputFailure, Redactor, Report};

use crate::inputs::expand_inputs;
use crate::locate::Locator;
use crate::pipeline::{CollectBudget, analyze_capture_named};
use std::sync::Arc;
use telltale_detect::{Detector, DeviceProfile, Resolutions, Scanner};
use telltale_geo::GeoDb;
use telltale_proto::body::BodyLimits;
use telltale_proto::keylog::KeyLog;

/// Errors of the analyzer itself (an unreadable capture is not one: it is
/// recorded in [`Report::failures`] and the others are still analysed).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The thread pool could not be started.
    #[error("cannot start {threads} worker threads: {message}")]
    ThreadPool {
        /// Threads asked for.
        threads: usize,
        /// Why it failed.
        message: String,
    },
    /// A capture could not be opened or is not a capture (from the
    /// one-capture entry points, such as `Analyzer::stream_jsonl`).
    #[error(transparent)]
    Capture(#[from] telltale_decode::DecodeError),
    /// Writing the output failed.
    #[error("cannot write the output")]
    Write(#[source] std::io::Error),
    /// The temporary files that sort a large output could not be written
    /// or read back (`Analyzer::analyze_jsonl`; they go where
    /// `std::env::temp_dir` says, `TMPDIR` on Unix).
    #[error("cannot sort the output in temporary files in {}", dir.display())]
    Spill {
        /// The folder of the temporary files.
        dir: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
}

/// Which DNS answers may name a capture's flows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum DnsScope {
    /// Only the capture's own answers (the default: captures of different
    /// devices or days do not share a resolver cache).
    #[default]
    File,
    /// The answers of every capture in the batch (one device captured in
    /// several files), still only answers seen before the flow started.
    Batch,
}

/// Analyses captures. Build one with [`Analyzer::builder`].
#[derive(Clone, Debug, Default)]
pub struct Analyzer {
    pub(crate) threads: usize,
    /// Identifier detection (`None`: off). Built once, shared by every
    /// capture: one index over all known values.
    pub(crate) scanner: Option<Arc<Scanner>>,
    pub(crate) keys: Arc<KeyLog>,
    pub(crate) redactor: Option<Redactor>,
    pub(crate) dns_scope: DnsScope,
    pub(crate) decoder: DecoderConfig,
    pub(crate) flows: FlowConfig,
    /// GeoIP databases (`None`: enrichment off).
    pub(crate) geo: Option<Arc<GeoDb>>,
    pub(crate) hash_inputs: bool,
    pub(crate) progress: Option<Progress>,
    pub(crate) detectors: Detectors,
    pub(crate) body_limits: BodyLimits,
    /// Bytes of output lines `analyze_jsonl` holds before sorting them
    /// into temporary files.
    pub(crate) sort_memory: usize,
    /// Captures up to this size in all are collected by `analyze_jsonl`.
    pub(crate) collect_limit: u64,
    /// ... unless their records outgrow this estimate of memory.
    pub(crate) collect_memory: u64,
}

/// The caller's own detectors, run after the built-in identifier search.
#[derive(Clone, Default)]
pub(crate) struct Detectors(pub(crate) Vec<Arc<dyn Detector>>);

impl std::fmt::Debug for Detectors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Detectors({})", self.0.len())
    }
}

/// A caller's hook, called as each capture is finished (from worker
/// threads, in completion order).
#[derive(Clone)]
pub(crate) struct Progress(pub(crate) Arc<dyn Fn(&Path) + Send + Sync>);

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Progress(..)")
    }
}

/// Options of an [`Analyzer`].
#[derive(Clone, Debug)]
pub struct AnalyzerBuilder {
    inner: Analyzer,
}

impl AnalyzerBuilder {
    /// Worker threads; 0 (the default) uses one per CPU.
    pub fn threads(mut self, n: usize) -> Self {
        self.inner.threads = n;
        self
    }

    /// Which DNS answers may name flows (default: the capture's own).
    pub fn dns_scope(mut self, scope: DnsScope) -> Self {
        self.inner.dns_scope = scope;
        self
    }

    /// TLS secrets (an NSS key log, as written by `SSLKEYLOGFILE`): TLS flows
    /// whose secrets are here are decrypted and the HTTP/1.x inside is
    /// reported. Secrets inside pcapng captures are used in any case.
    pub fn key_log(mut self, keys: KeyLog) -> Self {
        self.inner.keys = Arc::new(keys);
        self
    }

    /// Looks for device identifiers by pattern, and for the known values of
    /// the devices in `profile` when given (on by default, patterns only).
    pub fn identifiers(mut self, profile: Option<&DeviceProfile>) -> Self {
        self.inner.scanner = Some(Arc::new(Scanner::new(profile)));
        self
    }

    /// Masks identifier values everywhere in the report with keyed
    /// pseudonyms (see [`Redactor`]).
    pub fn redact(mut self, redactor: Redactor) -> Self {
        self.inner.redactor = Some(redactor);
        self
    }

    /// Adds a detector of the caller's own (a [`PatternDetector`] for a new
    /// identifier kind, or any [`Detector`] over application events). It
    /// runs on every event after the built-in search, also when that is
    /// turned off with [`no_identifiers`](Self::no_identifiers).
    ///
    /// [`PatternDetector`]: telltale_detect::PatternDetector
    pub fn detector(mut self, detector: impl Detector + 'static) -> Self {
        self.inner.detectors.0.push(Arc::new(detector));
        self
    }

    /// Turns identifier detection off.
    pub fn no_identifiers(mut self) -> Self {
        self.inner.scanner = None;
        self
    }

    /// GeoIP databases for every endpoint. By default the embedded table
    /// (country, AS number, organisation); see [`GeoDb::standard`] to put
    /// `.mmdb` files in front of it.
    pub fn geo(mut self, db: GeoDb) -> Self {
        self.inner.geo = Some(Arc::new(db));
        self
    }

    /// Records each capture file's SHA-256 in its report (a second read of
    /// every file: off by default, on for reports people publish).
    pub fn hash_inputs(mut self, yes: bool) -> Self {
        self.inner.hash_inputs = yes;
        self
    }

    /// Calls `done` with each capture's path when its analysis is finished,
    /// from the worker threads, in completion order: for progress bars.
    /// The report itself stays in input order. A capture finished by a
    /// collecting run that then outgrew
    /// [`collect_memory`](Self::collect_memory) is read again, and `done`
    /// hears of it again.
    pub fn on_capture_done(mut self, done: impl Fn(&Path) + Send + Sync + 'static) -> Self {
        self.inner.progress = Some(Progress(Arc::new(done)));
        self
    }

    /// Turns GeoIP enrichment off: endpoints keep only their scope.
    pub fn no_geo(mut self) -> Self {
        self.inner.geo = None;
        self
    }

    /// Flow table limits and timeouts.
    pub fn flow_config(mut self, config: FlowConfig) -> Self {
        self.inner.flows = config;
        self
    }

    /// What one HTTP body may cost: raw bytes kept, bytes after content
    /// decoding, decompression ratio (defaults: 1 MiB, 4 MiB, 100:1; a
    /// gzip bomb stops there, counted in `http.body_limit_hit`).
    pub fn body_limits(mut self, limits: BodyLimits) -> Self {
        self.inner.body_limits = limits;
        self
    }

    /// Memory for sorting output lines in [`Analyzer::analyze_jsonl`] and
    /// [`Analyzer::analyze_sorted`] (default 32 MiB, shared by the captures
    /// read at once): beyond it, lines are sorted into temporary files and
    /// merged at the end. A few kilobytes still works, slowly: a run per
    /// few lines.
    pub fn sort_memory(mut self, bytes: usize) -> Self {
        self.inner.sort_memory = bytes;
        self
    }

    /// Captures up to this many bytes in all are collected and written
    /// from memory by [`Analyzer::analyze_jsonl`], `analyze_sorted` and
    /// `analyze_destinations` (default 2 GiB: of phone traffic, about
    /// 60 MiB of records), unless their records outgrow
    /// [`collect_memory`](Self::collect_memory); larger ones are streamed,
    /// their lines sorted in [`sort_memory`](Self::sort_memory). 0 streams
    /// every capture.
    pub fn collect_limit(mut self, bytes: u64) -> Self {
        self.inner.collect_limit = bytes;
        self
    }

    /// The most memory, estimated, that the records of captures collected
    /// under [`collect_limit`](Self::collect_limit) may take (default
    /// 128 MiB). A report's memory follows its messages, not its bytes: a
    /// capture of DNS traffic keeps about six times its size. A run whose
    /// records outgrow this stops reading and is streamed instead, with the
    /// same output; what it read is read again. Not for
    /// [`Analyzer::analyze`], whose report is the records, nor when
    /// redacting or naming with a batch's DNS, which need every record.
    pub fn collect_memory(mut self, bytes: u64) -> Self {
        self.inner.collect_memory = bytes;
        self
    }

    /// Decoder limits (fragment reassembly).
    pub fn decoder_config(mut self, config: DecoderConfig) -> Self {
        self.inner.decoder = config;
        self
    }

    /// The analyzer.
    pub fn build(self) -> Analyzer {
        self.inner
    }
}

impl Analyzer {
    /// Starts configuring an analyzer.
    pub fn builder() -> AnalyzerBuilder {
        let builder = AnalyzerBuilder {
            inner: Analyzer::default(),
        }
        .identifiers(None)
        .sort_memory(32 << 20)
        .collect_limit(2 << 30)
        .collect_memory(128 << 20);
        // The embedded table is part of the binary; it fails to load only
        // if the build is broken, and then analysis goes on without it.
        match GeoDb::standard::<&Path>(&[]) {
            Ok(db) => builder.geo(db),
            Err(_) => builder,
        }
    }

    /// Writes `report` as EVE-shaped JSON Lines, exactly as
    /// [`telltale_report::write_jsonl`] does, serialising on as many threads
    /// as the analyzer is given: records are turned into text in blocks on
    /// every thread and the blocks written in order by the calling thread,
    /// each thread at most a few blocks ahead, so the text held stays a few
    /// megabytes whatever the report's size (besides 16 bytes per record
    /// for the order of each capture's lines). (Serialising was a fifth of
    /// a whole analysis on one thread.)
    ///
    /// ```
    /// # use telltale::Analyzer;
    /// let analyzer = Analyzer::builder().threads(2).build();
    /// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/redmi-1s-2014.pcap");
    /// let report = analyzer.analyze([path])?;
    /// let mut parallel = Vec::new();
    /// analyzer.write_jsonl(&report, &mut parallel)?;
    /// let mut serial = Vec::new();
    /// telltale::report::write_jsonl(&report, &mut serial)?;
    /// assert_eq!(parallel, serial);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn write_jsonl(
        &self,
        report: &Report,
        out: &mut impl std::io::Write,
    ) -> std::io::Result<()> {
        // Small blocks: records differ in cost (a TLS record's
        // fingerprints, a DNS answer's list), and a thread stuck on a dear
        // block holds up the writing only until the others are `AHEAD`
        // blocks further on.
        const BLOCK: usize = 512;
        const AHEAD: usize = 4;
        let threads = self.thread_count();
        if threads <= 1 {
            return telltale_report::write_jsonl(report, out);
        }
        let plans: Vec<telltale_report::JsonlPlan> = report
            .captures
            .iter()
            .map(telltale_report::JsonlPlan::new)
            .collect();
        let blocks: Vec<(usize, std::ops::Range<usize>)> = plans
            .iter()
            .enumerate()
            .flat_map(|(c, plan)| {
                (0..plan.len())
                    .step_by(BLOCK)
                    .map(move |lo| (c, lo..(lo + BLOCK).min(plan.len())))
            })
            .collect();
        let threads = threads.min(blocks.len());
        if threads <= 1 {
            return telltale_report::write_jsonl(report, out);
        }
        let render = |(c, range): &(usize, std::ops::Range<usize>)| {
            let mut text = Vec::with_capacity(BLOCK * 256);
            plans[*c]
                .write_range(range.clone(), &mut text)
                .map(|_| text)
        };
        // Each thread turns every `threads`-th block into text, a few ahead
        // of the writer, which takes them in turn: the threads render
        // without stopping while this one writes (a pool given a group of
        // blocks at a time left a core idle at every group's end: 51-66 ms
        // to write 1 GiB's records on two threads, 78 on one).
        std::thread::scope(|scope| {
            let mut texts = Vec::with_capacity(threads);
            for first in 0..threads {
                let (tx, rx) = std::sync::mpsc::sync_channel(AHEAD);
                texts.push(rx);
                let (blocks, render) = (&blocks, &render);
                // A thread that cannot start is an error like a failed
                // write: those started stop once `texts` is dropped.
                std::thread::Builder::new().spawn_scoped(scope, move || {
                    for block in blocks.iter().skip(first).step_by(threads) {
                        // The writer stopped (a write failed): so do we.
                        if tx.send(render(block)).is_err() {
                            return;
                        }
                    }
                })?;
            }
            for i in 0..blocks.len() {
                // A thread that panicked sends no more; the scope passes
                // its panic on.
                let Ok(text) = texts[i % threads].recv() else {
                    break;
                };
                out.write_all(&text?)?;
            }
            Ok(())
        })
    }

    /// How many threads the analyzer runs: as given, or for 0 what rayon
    /// would choose (`RAYON_NUM_THREADS`, else one per CPU), as [`pool`]
    /// does.
    ///
    /// [`pool`]: Self::pool
    fn thread_count(&self) -> usize {
        if self.threads > 0 {
            return self.threads;
        }
        std::env::var("RAYON_NUM_THREADS")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|&n| n > 0)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
    }

    /// The pool of this analyzer's threads.
    pub(crate) fn pool(&self) -> Result<rayon::ThreadPool, Error> {
        rayon::ThreadPoolBuilder::new()
            .num_threads(self.threads)
            .build()
            .map_err(|e| Error::ThreadPool {
                threads: self.threads,
                message: e.to_string(),
            })
    }

    /// A report of no captures yet, with the run's version and databases.
    pub(crate) fn empty_report(&self) -> Report {
        Report {
            tool_version: crate::VERSION.to_owned(),
            geo_databases: self
                .geo
                .iter()
                .flat_map(|db| db.databases().cloned())
                .collect(),
            ..Report::default()
        }
    }

    /// Analyses every capture under `paths` (files, or folders searched
    /// recursively for captures). Files are analysed in parallel; the report
    /// lists them in input order and is the same for any thread count.
    pub fn analyze<P: AsRef<Path>>(
        &self,
        paths: impl IntoIterator<Item = P>,
    ) -> Result<Report, Error> {
        let (files, walk_errors) = expand_inputs(paths);
        let report = self.analyze_files(&files, &walk_errors, None)?;
        Ok(report.expect("no budget to outgrow"))
    }

    /// [`analyze`](Self::analyze) of inputs already expanded; `None` when
    /// the records outgrew `budget` (the run stopped early).
    pub(crate) fn analyze_files(
        &self,
        files: &[PathBuf],
        walk_errors: &[(PathBuf, std::io::Error)],
        budget: Option<Arc<CollectBudget>>,
    ) -> Result<Option<Report>, Error> {
        let locator = Locator::new(self.geo.clone());
        let pool = self.pool()?;
        // Threads beyond one per file split each file by address pair (into
        // that many shard pipelines), so one big capture uses every core.
        let shards = crate::pipeline::shards_per_file(pool.current_num_threads(), files.len());
        let results: Vec<(PathBuf, Result<_, _>)> = pool.install(|| {
            files
                .par_iter()
                .map(|p| {
                    let r = analyze_capture_named(p, self, &locator, shards, budget.as_ref());
                    // A capture of a run that gave up is read again.
                    if let Some(Progress(done)) = &self.progress
                        && !budget.as_ref().is_some_and(|b| b.is_over())
                    {
                        done(p);
                    }
                    (p.clone(), r)
                })
                .collect()
        });
        if budget.is_some_and(|b| b.is_over()) {
            return Ok(None);
        }
        let mut report = self.empty_report();
        for (path, e) in walk_errors {
            report.failures.push(InputFailure {
                path: path.clone(),
                error: e.to_string(),
            });
        }
        let mut namers = Vec::new();
        for (path, r) in results {
            match r {
                Ok((c, namer)) => {
                    report.captures.push(c);
                    namers.push(namer);
                }
                Err(e) => report.failures.push(InputFailure {
                    path,
                    error: e.to_string(),
                }),
            }
        }
        let redact = |report: &mut Report| {
            if let Some(r) = &self.redactor {
                r.redact(report);
            }
        };
        if self.dns_scope == DnsScope::Batch {
            let mut shared = Resolutions::default();
            for n in &namers {
                shared.merge(n.resolutions());
            }
            for (c, namer) in report.captures.iter_mut().zip(&namers) {
                for f in &mut c.flows {
                    f.server_name = namer.name_with(&f.summary.info, f.summary.first_ts, &shared);
                }
            }
        }
        redact(&mut report);
        Ok(Some(report))
    }
}
