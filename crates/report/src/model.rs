//! The report model: everything an analysis found, ready for any writer.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use telltale_decode::{CaptureFormat, CaptureWarning, DecodeStats, LinkType, Timestamp};
use telltale_detect::{Finding, ServerName};
use telltale_flow::{FlowSummary, FlowTableStats};
use telltale_geo::{DatabaseInfo, Location};
use telltale_proto::{AppEvent, AppProto, DissectStats};

/// The result of analysing a set of captures.
///
/// Serialisable with serde as the whole model (bodies and raw bytes left
/// out); for the documented, EVE-shaped documents use the writers instead.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Report {
    /// Version of the tool that made the report.
    pub tool_version: String,
    /// One entry per capture read, in the order inputs were given (folders
    /// expanded in sorted order).
    pub captures: Vec<CaptureReport>,
    /// Inputs that could not be read at all.
    pub failures: Vec<InputFailure>,
    /// The GeoIP databases consulted, in order (empty when enrichment was
    /// off): which database's opinion each location is, and of what date.
    pub geo_databases: Vec<DatabaseInfo>,
    /// The options the report was made with, as (name, value) pairs for
    /// people (filled by the program that ran the analysis). In JSON
    /// `{"name", "value"}` objects, as in `report.json`.
    #[serde(serialize_with = "ser_options")]
    pub options: Vec<(String, String)>,
}

/// An input that could not be read.
#[derive(Clone, Debug, serde::Serialize)]
pub struct InputFailure {
    /// The path as given or found.
    #[serde(serialize_with = "ser_path")]
    pub path: PathBuf,
    /// Why, for people.
    pub error: String,
}

/// What one capture held.
#[derive(Clone, Debug, serde::Serialize)]
pub struct CaptureReport {
    /// The path as given or found.
    #[serde(serialize_with = "ser_path")]
    pub path: PathBuf,
    /// pcap or pcapng.
    pub format: CaptureFormat,
    /// Whether it was gzip-compressed.
    pub gzip: bool,
    /// SHA-256 of the file as stored (hex), when asked for
    /// (`AnalyzerBuilder::hash_inputs`) and the input is a file.
    pub sha256: Option<String>,
    /// Size of the file as stored, in bytes (`None` for standard input).
    pub file_size: Option<u64>,
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
    /// Messages and streams the dissectors could not parse.
    pub dissect: DissectStats,
    /// Flows, ordered by id (the packet number of their first packet).
    pub flows: Vec<FlowRecord>,
    /// Application events, ordered by time then packet number.
    pub events: Vec<AppEvent>,
    /// Device identifiers found, ordered by time, packet number, location.
    pub identifiers: Vec<Finding>,
    /// Flows and messages that hit a limit, counted as they were read: the
    /// notes need them also when the records were streamed, not kept.
    #[serde(skip)]
    pub limits: LimitCounts,
}

/// How many flows and HTTP messages of a capture hit a limit (for
/// [`CaptureReport::notices`]), counted record by record, and summed over
/// the parts of a capture split across threads:
///
/// ```
/// use telltale_report::LimitCounts;
/// let mut capture = LimitCounts { capped_flows: 2, ..LimitCounts::default() };
/// capture.add(&LimitCounts { capped_flows: 1, capped_bodies: 4, ..LimitCounts::default() });
/// assert_eq!(capture, LimitCounts { capped_flows: 3, far_flows: 0, capped_bodies: 4 });
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LimitCounts {
    /// Flows that hit a per-flow buffer or stream limit.
    pub capped_flows: u64,
    /// TCP flows with segments too far from the expected sequence number.
    pub far_flows: u64,
    /// HTTP messages whose body was cut at the size or decompression limit.
    pub capped_bodies: u64,
}

impl LimitCounts {
    /// Counts one ended flow.
    pub fn flow(&mut self, f: &FlowSummary) {
        let (a, b) = (&f.to_server.stream, &f.to_client.stream);
        if a.buffer_cap_hits + b.buffer_cap_hits + a.capped_bytes + b.capped_bytes > 0 {
            self.capped_flows += 1;
        }
        if a.out_of_window + b.out_of_window > 0 {
            self.far_flows += 1;
        }
    }

    /// Counts one application event.
    pub fn event(&mut self, e: &AppEvent) {
        if let telltale_proto::AppEventKind::Http(h) = &e.kind
            && (h.request_body_capped || h.response_body_capped)
        {
            self.capped_bodies += 1;
        }
    }

    /// Adds another part's counts (a shard of the same capture).
    pub fn add(&mut self, other: &LimitCounts) {
        self.capped_flows += other.capped_flows;
        self.far_flows += other.far_flows;
        self.capped_bodies += other.capped_bodies;
    }

    /// The counts of a capture's records.
    pub fn of(flows: &[FlowRecord], events: &[AppEvent]) -> Self {
        let mut counts = LimitCounts::default();
        flows.iter().for_each(|f| counts.flow(&f.summary));
        events.iter().for_each(|e| counts.event(e));
        counts
    }
}

/// One flow with what later stages learnt about it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct FlowRecord {
    /// Counters, endpoints, state.
    pub summary: FlowSummary,
    /// The application protocol recognised.
    pub app_proto: AppProto,
    /// The destination's name and how it was learnt.
    pub server_name: ServerName,
    /// Where the server is.
    pub server_location: Location,
    /// Where the client is (usually a private address: the device).
    pub client_location: Location,
}

/// A path as lossy UTF-8, as the writers print it (serde's own impl fails
/// on a name that is not UTF-8).
fn ser_path<S: serde::Serializer>(path: &Path, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&path.to_string_lossy())
}

fn ser_options<S: serde::Serializer>(
    options: &[(String, String)],
    s: S,
) -> Result<S::Ok, S::Error> {
    #[derive(serde::Serialize)]
    struct Opt<'a> {
        name: &'a str,
        value: &'a str,
    }
    s.collect_seq(options.iter().map(|(name, value)| Opt { name, value }))
}

impl CaptureReport {
    /// The identifiers found in one flow. This looks at every identifier of
    /// the capture: to ask for many flows, build
    /// [`identifiers_by_flow`](Self::identifiers_by_flow) once.
    pub fn flow_identifiers(&self, id: telltale_flow::FlowId) -> impl Iterator<Item = &Finding> {
        self.identifiers.iter().filter(move |f| f.flow == id)
    }

    /// The capture's identifiers indexed by flow, for asking flow after
    /// flow (a writer that asked [`flow_identifiers`](Self::flow_identifiers)
    /// for each flow took flows x identifiers steps: seconds on a 10 GiB
    /// capture, hours on a hostile one).
    ///
    /// ```
    /// # fn f(capture: &telltale_report::CaptureReport) {
    /// let index = capture.identifiers_by_flow();
    /// for flow in &capture.flows {
    ///     let n = index.get(flow.summary.info.id).count();
    ///     assert_eq!(n, capture.flow_identifiers(flow.summary.info.id).count());
    /// }
    /// # }
    /// ```
    pub fn identifiers_by_flow(&self) -> IdentifiersByFlow<'_> {
        let mut order: Vec<(telltale_flow::FlowId, usize)> = self
            .identifiers
            .iter()
            .enumerate()
            .map(|(i, f)| (f.flow, i))
            .collect();
        // By flow, and within a flow in the report's order.
        order.sort_unstable();
        IdentifiersByFlow {
            identifiers: &self.identifiers,
            order,
        }
    }

    /// The flow with the given id.
    pub fn flow(&self, id: telltale_flow::FlowId) -> Option<&FlowRecord> {
        self.flows
            .binary_search_by_key(&id, |f| f.summary.info.id)
            .ok()
            .map(|i| &self.flows[i])
    }
}

impl CaptureReport {
    /// Sentences for people about what was set aside or cut short in this
    /// capture beyond its [`warnings`](Self::warnings): unsupported link
    /// types, fragments dropped, flows evicted, per-flow limits reached.
    pub fn notices(&self) -> Vec<String> {
        let mut notes = Vec::new();
        for (link, n) in &self.decode.unsupported_links {
            notes.push(format!(
                "{n} packets on unsupported link type {link} not decoded"
            ));
        }
        let d = &self.decode.defrag;
        if d.evicted + d.invalid + self.decode.defrag_incomplete > 0 {
            notes.push(format!(
                "IP fragments: {} datagrams dropped at the reassembly limits, {} invalid fragments, {} datagrams incomplete at the end",
                d.evicted, d.invalid, self.decode.defrag_incomplete
            ));
        }
        if self.flow_table.reassembly_budget_hits > 0 {
            notes.push(format!(
                "TCP reassembly memory limit reached {} times: the flows that went over gave up their holes (flow.gaps in JSON output)",
                self.flow_table.reassembly_budget_hits
            ));
        }
        if self.flow_table.evicted > 0 {
            notes.push(format!(
                "flow table full: {} flows ended early to stay within the limit",
                self.flow_table.evicted
            ));
        }
        let x = &self.dissect;
        if x.dns_errors + x.tls_errors + x.http_errors + x.dhcp_errors > 0 {
            notes.push(format!(
                "could not parse {} DNS messages, {} TLS streams, {} HTTP streams, {} DHCP messages (malformed or hostile; the rest of each capture was read)",
                x.dns_errors, x.tls_errors, x.http_errors, x.dhcp_errors
            ));
        }
        let d = &self.decode;
        if d.truncated_frames > 0 {
            notes.push(format!(
                "{} packets were cut short by the capture's snapshot length (their missing bytes count as gaps)",
                d.truncated_frames
            ));
        }
        if d.malformed > 0 {
            notes.push(format!(
                "{} packets had malformed or inconsistent headers and were not analysed",
                d.malformed
            ));
        }
        if self.flow_table.time_jumps > 0 {
            notes.push(format!(
                "{} packets were dated more than a day after the capture's clock and not believed for timeouts",
                self.flow_table.time_jumps
            ));
        }
        let LimitCounts {
            capped_flows: capped,
            far_flows: far,
            capped_bodies: bodies,
        } = self.limits;
        if far > 0 {
            notes.push(format!(
                "{far} TCP flows had segments more than 1 GiB from the expected sequence number, dropped unread (flow.limits.out_of_window_segments)"
            ));
        }
        if capped > 0 {
            notes.push(format!(
                "{capped} flows hit a per-flow buffer or stream limit (flow.limits in JSON output)"
            ));
        }
        if bodies > 0 {
            notes.push(format!(
                "{bodies} HTTP messages had a body cut at the body size or decompression limit (http.body_limit_hit in JSON output)"
            ));
        }
        notes
    }
}

/// A capture's identifiers indexed by flow:
/// [`CaptureReport::identifiers_by_flow`].
#[derive(Debug)]
pub struct IdentifiersByFlow<'a> {
    identifiers: &'a [Finding],
    /// (flow, index into `identifiers`), sorted.
    order: Vec<(telltale_flow::FlowId, usize)>,
}

impl<'a> IdentifiersByFlow<'a> {
    /// The identifiers found in one flow, in the report's order (as
    /// [`CaptureReport::flow_identifiers`] gives them).
    pub fn get(&self, id: telltale_flow::FlowId) -> impl Iterator<Item = &'a Finding> + '_ {
        let lo = self.order.partition_point(|&(f, _)| f < id);
        let hi = lo + self.order[lo..].partition_point(|&(f, _)| f == id);
        let identifiers = self.identifiers;
        self.order[lo..hi]
            .iter()
            .map(move |&(_, i)| &identifiers[i])
    }
}
