//! The entry point: configuration and the parallel driver.

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use telltale_decode::DecoderConfig;
use telltale_flow::FlowConfig;
use telltale_report::{InputFailure, Report};

use crate::inputs::expand_inputs;
use crate::pipeline::analyze_capture;

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
}

/// Analyses captures. Build one with [`Analyzer::builder`].
#[derive(Clone, Debug, Default)]
pub struct Analyzer {
    pub(crate) threads: usize,
    pub(crate) decoder: DecoderConfig,
    pub(crate) flows: FlowConfig,
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

    /// Flow table limits and timeouts.
    pub fn flow_config(mut self, config: FlowConfig) -> Self {
        self.inner.flows = config;
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
        AnalyzerBuilder {
            inner: Analyzer::default(),
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
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(self.threads)
            .build()
            .map_err(|e| Error::ThreadPool {
                threads: self.threads,
                message: e.to_string(),
            })?;
        let results: Vec<(PathBuf, Result<_, _>)> = pool.install(|| {
            files
                .par_iter()
                .map(|p| (p.clone(), analyze_capture(p, self)))
                .collect()
        });
        let mut report = Report {
            tool_version: crate::VERSION.to_owned(),
            ..Report::default()
        };
        for (path, e) in walk_errors {
            report.failures.push(InputFailure {
                path,
                error: e.to_string(),
            });
        }
        for (path, r) in results {
            match r {
                Ok(c) => report.captures.push(c),
                Err(e) => report.failures.push(InputFailure {
                    path,
                    error: e.to_string(),
                }),
            }
        }
        Ok(report)
    }
}
