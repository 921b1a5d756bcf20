//! The report model and its writers: the last stage of telltale.
//!
//! - [`Report`] holds, per capture ([`CaptureReport`]), its flows
//!   ([`FlowRecord`]: counters, application protocol, server name) and
//!   application events, with what was damaged or set aside.
//! - Writers: [`write_jsonl`] (Suricata EVE-shaped JSON Lines),
//!   [`write_flows_csv`] (one row per flow) and [`write_destinations_table`]
//!   (a terminal table, one row per destination). Every field is described in
//!   `docs/OUTPUT.md`.
//!
//! Output is deterministic: the same report gives the same bytes.

mod csv_out;
mod destinations;
mod eve;
mod html;
mod json;
mod markdown;
mod model;
mod names;
mod redact;
pub mod summary;
mod table;

pub use csv_out::{
    DNS_COLUMNS, FLOW_COLUMNS, IDENTIFIER_COLUMNS, cell as csv_cell, write_dns_csv,
    write_flows_csv, write_identifiers_csv,
};
pub use destinations::{
    DESTINATION_COLUMNS, Destination, destinations, destinations_of, write_destinations_csv,
};
pub use eve::{eve_flow_id, write_capture_jsonl, write_jsonl};
pub use html::{ReportOptions, write_html};
pub use json::write_report_json;
pub use markdown::write_markdown;
pub use model::{CaptureReport, FlowRecord, InputFailure, Report};
pub use redact::Redactor;
pub use table::{printable, write_destinations_table};
