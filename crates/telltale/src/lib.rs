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
//! Analyse the RedMi 1S fixture:
//!
//! ```
//! use telltale::Analyzer;
//!
//! let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/redmi-1s-2014.pcap");
//! let report = Analyzer::builder().threads(2).build().analyze([path])?;
//! let capture = &report.captures[0];
//! assert_eq!((capture.packets, capture.flows.len()), (48, 11));
//!
//! // The activation request went to api.account.xiaomi.com (named by its
//! // HTTP Host), in China...
//! let http = capture.flows.iter().find(|f| f.summary.info.server.port() == 80).unwrap();
//! assert_eq!(http.server_name.name.as_deref(), Some("api.account.xiaomi.com"));
//! let geo = http.server_location.geo.as_ref().unwrap();
//! assert_eq!(geo.country_code.as_deref(), Some("CN"));
//! // ...and carried the phone's IMEI, found by its pattern (Luhn-valid).
//! assert!(capture.identifiers.iter().any(|f| f.value == "865123456789019"));
//! # Ok::<(), telltale::Error>(())
//! ```

#![deny(missing_docs)]

mod analyzer;
mod crew;
mod inputs;
mod locate;
mod pipeline;
mod placement;
mod share;
mod sorted;
mod stream;

pub use analyzer::{Analyzer, AnalyzerBuilder, DnsScope, Error};
pub use inputs::{expand_inputs, is_capture_file};
pub use pipeline::analyze_capture;
pub use sorted::SortedFormat;
pub use stream::{Context, Event, EventSink, PacketFeed};

pub use telltale_decode as decode;
pub use telltale_detect as detect;
pub use telltale_flow as flow;
pub use telltale_geo as geo;
pub use telltale_proto as proto;
pub use telltale_report as report;
pub use telltale_report::{CaptureReport, FlowRecord, InputFailure, Report};

/// The version of telltale, as recorded in reports.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
