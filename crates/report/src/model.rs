//! The report model: everything an analysis found, ready for any writer.

use std::collections::BTreeMap;
use std::path::PathBuf;

use telltale_decode::{CaptureFormat, CaptureWarning, DecodeStats, LinkType, Timestamp};
use telltale_detect::ServerName;
use telltale_flow::{FlowSummary, FlowTableStats};
use telltale_proto::{AppEvent, AppProto};

/// The result of analysing a set of captures.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Version of the tool that made the report.
    pub tool_version: String,
    /// One entry per capture read, in the order inputs were given (folders
    /// expanded in sorted order).
    pub captures: Vec<CaptureReport>,
    /// Inputs that could not be read at all.
    pub failures: Vec<InputFailure>,
}

/// An input that could not be read.
#[derive(Clone, Debug)]
pub struct InputFailure {
    /// The path as given or found.
    pub path: PathBuf,
    /// Why, for people.
    pub error: String,
}

/// What one capture held.
#[derive(Clone, Debug)]
pub struct CaptureReport {
    /// The path as given or found.
    pub path: PathBuf,
    /// pcap or pcapng.
    pub format: CaptureFormat,
    /// Whether it was gzip-compressed.
    pub gzip: bool,
    /// Frames read.
    pub packets: u64,
    /// Bytes of the (decompressed) capture read.
    pub bytes: u64,
    /// Time of the earliest and latest frame.
    pub span: Option<(Timestamp, Timestamp)>,
    /// Frames per link type.
    pub link_types: BTreeMap<LinkType, u64>,
    /// Damage found in the file.
    pub warnings: Vec<CaptureWarning>,
    /// What decoding set aside.
    pub decode: DecodeStats,
    /// Flow table counters.
    pub flow_table: FlowTableStats,
    /// Flows, ordered by id (the packet number of their first packet).
    pub flows: Vec<FlowRecord>,
    /// Application events, ordered by time then packet number.
    pub events: Vec<AppEvent>,
}

/// One flow with what later stages learnt about it.
#[derive(Clone, Debug)]
pub struct FlowRecord {
    /// Counters, endpoints, state.
    pub summary: FlowSummary,
    /// The application protocol recognised.
    pub app_proto: AppProto,
    /// The destination's name and how it was learnt.
    pub server_name: ServerName,
}

impl CaptureReport {
    /// The flow with the given id.
    pub fn flow(&self, id: telltale_flow::FlowId) -> Option<&FlowRecord> {
        self.flows
            .binary_search_by_key(&id, |f| f.summary.info.id)
            .ok()
            .map(|i| &self.flows[i])
    }
}
