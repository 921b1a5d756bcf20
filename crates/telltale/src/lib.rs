//! Offline forensic analysis of packet captures: which flows carried device
//! identifiers, and where they went.
//!
//! This crate wires the stages together and owns all parallelism:
//!
//! ```text
//! files ─► decode ─► flow ─► proto ─► detect ─► report
//! ```
//!
//! [`Analyzer`] is the entry point: build one, give it paths (files or
//! folders), get a [`Report`]. Captures are analysed in parallel, one
//! sequential pipeline per file, and the report is identical whatever the
//! thread count. The stage crates are re-exported for callers who want to
//! drive a stage themselves.
//!
//! ```no_run
//! use telltale::Analyzer;
//!
//! let analyzer = Analyzer::builder().threads(2).build();
//! let report = analyzer.analyze(["fixtures/redmi-1s-2014.pcap"])?;
//! for capture in &report.captures {
//!     for flow in &capture.flows {
//!         println!("{} -> {:?}", flow.summary.info.server, flow.server_name.name);
//!     }
//! }
//! # Ok::<(), telltale::Error>(())
//! ```

mod analyzer;
mod inputs;
mod locate;
mod pipeline;

pub use analyzer::{Analyzer, AnalyzerBuilder, DnsScope, Error};
pub use inputs::{expand_inputs, is_capture_file};
pub use pipeline::analyze_capture;

pub use telltale_decode as decode;
pub use telltale_detect as detect;
pub use telltale_flow as flow;
pub use telltale_geo as geo;
pub use telltale_proto as proto;
pub use telltale_report as report;
pub use telltale_report::{CaptureReport, FlowRecord, InputFailure, Report};

/// The version of telltale, as recorded in reports.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
