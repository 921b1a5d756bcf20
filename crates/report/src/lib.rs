//! The report model and its writers: the last stage of telltale.
//!
//! - [`Report`] holds, per capture ([`CaptureReport`]), its flows
//!   ([`FlowRecord`]: counters, application protocol, server name) and
//!   application events, with what was damaged or set aside.
//! - Writers: [`write_jsonl`] (Suricata EVE-shaped JSON Lines),
//!   [`write_report_json`] (the whole report as one document), CSV
//!   ([`write_flows_csv`] one row per flow, [`write_identifiers_csv`],
//!   [`write_dns_csv`], [`write_destinations_csv`]),
//!   [`write_destinations_table`] (a terminal table, one row per
//!   destination), and the publishable [`write_markdown`] and [`write_html`].
//!   Every field is described in `docs/OUTPUT.md`.
//!
//! Output is deterministic: the same report gives the same bytes. Reports
//! are made by `telltale::Analyzer`; a writer only needs a [`Report`]:
//!
//! ```
//! use std::path::PathBuf;
//! use telltale_report::{FLOW_COLUMNS, InputFailure, Report, write_flows_csv, write_report_json};
//!
//! let report = Report {
//!     tool_version: "0.1.0".into(),
//!     failures: vec![InputFailure { path: PathBuf::from("lost.pcap"), error: "not found".into() }],
//!     ..Report::default()
//! };
//! let mut csv = Vec::new();
//! write_flows_csv(&report, &mut csv)?;
//! assert_eq!(String::from_utf8(csv).unwrap(), FLOW_COLUMNS.join(",") + "\n");
//! let mut json = Vec::new();
//! write_report_json(&report, &mut json)?;
//! assert!(String::from_utf8(json).unwrap().contains(r#""path": "lost.pcap""#));
//! # Ok::<(), std::io::Error>(())
//! ```

#![deny(missing_docs)]

mod csv_out;
mod destinations;
mod eve;
mod html;
mod iptext;
mod json;
mod markdown;
mod model;
mod names;
mod redact;
pub mod summary;
mod table;

pub use csv_out::{
    CsvRows, DNS_COLUMNS, FLOW_COLUMNS, IDENTIFIER_COLUMNS, cell as csv_cell, write_dns_csv,
    write_flow_csv_keyed, write_flows_csv, write_identifiers_csv,
};
pub use destinations::{
    DESTINATION_COLUMNS, Destination, DestinationTally, FlowFindings, destinations,
    destinations_of, write_destination_rows_csv, write_destinations_csv,
};
pub use eve::{
    FindingsWritten, JsonlKey, JsonlPlan, check_jsonl_writer, eve_flow_id, write_capture_jsonl,
    write_event_jsonl, write_event_jsonl_keyed, write_flow_jsonl, write_flow_jsonl_keyed,
    write_flow_jsonl_keyed_after, write_identifier_jsonl, write_identifier_jsonl_keyed,
    write_jsonl,
};
pub use html::{ReportOptions, write_html};
pub use json::write_report_json;
pub use markdown::write_markdown;
pub use model::{CaptureReport, FlowRecord, IdentifiersByFlow, InputFailure, LimitCounts, Report};
pub use redact::Redactor;
pub use table::{printable, write_destination_rows_table, write_destinations_table};
