//! JSON Lines in the shape of Suricata's EVE JSON, so EVE tooling ingests them.

use std::io::{self, Write};
use std::net::IpAddr;

use serde::Serialize;
use telltale_decode::Timestamp;
use telltale_flow::FlowInfo;
use telltale_proto::dns::RData;
use telltale_proto::fingerprint::{self, Transport};
use telltale_proto::tls::ClientHello;
use telltale_proto::{
    AppEvent, AppEventKind, AppProto, DhcpEvent, DnsEvent, HttpTransaction, QuicHandshake,
    TlsHandshake,
};

use crate::iptext::IpText;

mod line;
use crate::model::{CaptureReport, FlowRecord, IdentifiersByFlow, Report};
use crate::names::{rcode_name, rrtype_name, tls_version_name};
use telltale_detect::Finding;
use telltale_geo::Location;

/// A stable, JSON-safe (below 2^53) flow id for EVE: the same capture path
/// and flow give the same id on every run and with any thread count.
pub fn eve_flow_id(pcap_filename: &str, flow: telltale_flow::FlowId) -> u64 {
    // FNV-1a: tiny, stable across versions and platforms (unlike std's hasher).
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in pcap_filename.bytes().chain(flow.0.to_le_bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h & ((1 << 53) - 1)
}

#[derive(Serialize)]
pub(crate) struct Record<'a> {
    timestamp: Timestamp,
    flow_id: u64,
    pcap_cnt: u64,
    pcap_filename: &'a str,
    event_type: &'static str,
    #[serde(serialize_with = "crate::iptext::serialize")]
    src_ip: IpAddr,
    src_port: u16,
    #[serde(serialize_with = "crate::iptext::serialize")]
    dest_ip: IpAddr,
    dest_port: u16,
    proto: &'static str,
    app_proto: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    flow: Option<Flow<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dns: Option<Dns<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tls: Option<Tls<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http: Option<Http<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    quic: Option<Quic<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dhcp: Option<Dhcp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    identifier: Option<Identifier<'a>>,
}

#[derive(Serialize)]
struct Identifier<'a> {
    kind: &'static str,
    value: &'a str,
    matched: &'a str,
    encoding: &'static str,
    location: &'a str,
    source: &'static str,
    confidence: &'static str,
    frame: u64,
    offset: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<&'a str>,
    device: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<&'static str>,
}

#[derive(Serialize)]
struct FlowIdentifiers {
    count: usize,
    kinds: Vec<&'static str>,
}

#[derive(Serialize)]
struct Flow<'a> {
    pkts_toserver: u64,
    pkts_toclient: u64,
    bytes_toserver: u64,
    bytes_toclient: u64,
    start: Timestamp,
    end: Timestamp,
    state: &'static str,
    reason: &'static str,
    server_name: Option<&'a str>,
    server_name_source: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    server_name_dns: Option<DnsSource<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    server_name_flags: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gaps: Option<Gaps>,
    #[serde(skip_serializing_if = "Option::is_none")]
    limits: Option<LimitsHit>,
    #[serde(skip_serializing_if = "Option::is_none")]
    identifiers: Option<FlowIdentifiers>,
    dest_geo: Geo<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    src_geo: Option<Geo<'a>>,
}

/// Where an endpoint is: its scope, and for public addresses what the
/// GeoIP databases (named in `db`) say.
#[derive(Serialize)]
struct Geo<'a> {
    scope: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    country_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    country_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    city: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    latitude: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    longitude: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    asn: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    as_org: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    db: Vec<&'a str>,
}

impl<'a> Geo<'a> {
    fn new(l: &'a Location) -> Geo<'a> {
        let g = l.geo.as_deref();
        Geo {
            scope: l.scope.as_str(),
            country_code: g.and_then(|g| g.country_code.as_deref()),
            country_name: g.and_then(|g| g.country_name.as_deref()),
            city: g.and_then(|g| g.city.as_deref()),
            latitude: g.and_then(|g| g.latitude),
            longitude: g.and_then(|g| g.longitude),
            asn: g.and_then(|g| g.asn),
            as_org: g.and_then(|g| g.as_org.as_deref()),
            db: g.map_or_else(Vec::new, |g| g.sources.iter().map(|s| s.as_ref()).collect()),
        }
    }
}

/// Per-flow limits that were reached, so a reader knows the flow was not
/// seen whole.
#[derive(Serialize)]
struct LimitsHit {
    buffer_cap_hits: u64,
    capped_bytes_toserver: u64,
    capped_bytes_toclient: u64,
    /// Segments more than 1 GiB from the expected byte, dropped unread.
    #[serde(skip_serializing_if = "is_zero")]
    out_of_window_segments: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[derive(Serialize)]
struct DnsSource<'a> {
    query: &'a str,
    answer_ts: Timestamp,
    answer_pcap_cnt: u64,
    #[serde(serialize_with = "crate::iptext::serialize")]
    resolver: IpAddr,
}

#[derive(Serialize)]
struct Gaps {
    toserver: u64,
    toclient: u64,
    bytes_toserver: u64,
    bytes_toclient: u64,
}

#[derive(Serialize)]
struct Dns<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: u16,
    rrname: &'a str,
    rrtype: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    rcode: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    answers: Vec<DnsAnswer<'a>>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    partial: bool,
}

#[derive(Serialize)]
struct DnsAnswer<'a> {
    rrname: &'a str,
    rrtype: String,
    ttl: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    rdata: Option<String>,
}

#[derive(Serialize)]
struct Tls<'a> {
    sni: Option<&'a str>,
    version: Option<String>,
    alpn: &'a [String],
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    ech: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    ja3: Option<Fingerprint>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ja3s: Option<Fingerprint>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ja4: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    issuerdn: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    serial: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fingerprint_sha256: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    notbefore: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    notafter: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    san: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    chain_len: Option<usize>,
}

#[derive(Serialize)]
struct Fingerprint {
    hash: String,
    string: String,
}

#[derive(Serialize)]
struct Quic<'a> {
    version: String,
    sni: Option<&'a str>,
    alpn: &'a [String],
    ja3: Fingerprint,
    ja4: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    server_version: Option<String>,
}

#[derive(Serialize)]
struct Dhcp {
    #[serde(rename = "type")]
    kind: &'static str,
    id: u32,
    dhcp_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_mac: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_ip: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    assigned_ip: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    requested_ip: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hostname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vendor_class_identifier: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    params: Vec<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lease_time: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    domain: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    addresses: Vec<IpAddr>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    partial: bool,
}

#[derive(Serialize)]
struct Http<'a> {
    hostname: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http_port: Option<u16>,
    url: &'a str,
    http_method: &'a str,
    protocol: &'a str,
    http_user_agent: Option<&'a str>,
    status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http_content_type: Option<&'a str>,
    length: u64,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    decrypted: bool,
    /// Which bodies hit a body limit (`request`, `response`): only their
    /// start was decoded and searched.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    body_limit_hit: Vec<&'static str>,
}

/// Writes the whole report as EVE-shaped JSON Lines: per capture, one `flow`
/// record per flow and one `dns`/`tls`/`http` record per application event,
/// ordered by time, then packet number.
pub fn write_jsonl(report: &Report, out: &mut impl Write) -> io::Result<()> {
    for capture in &report.captures {
        write_capture_jsonl(capture, out)?;
    }
    Ok(())
}

/// Writes one capture's records.
pub fn write_capture_jsonl(capture: &CaptureReport, out: &mut impl Write) -> io::Result<()> {
    let plan = JsonlPlan::new(capture);
    plan.write_range(0..plan.len(), out)
}

/// A capture's EVE records in the order [`write_capture_jsonl`] writes
/// them, so that they can be serialised in pieces (on several threads, as
/// `telltale::Analyzer::write_jsonl` does) and joined into the same bytes.
///
/// ```
/// # use telltale_report::{CaptureReport, JsonlPlan, write_capture_jsonl};
/// # fn f(capture: &CaptureReport) -> std::io::Result<()> {
/// let plan = JsonlPlan::new(capture);
/// let mid = plan.len() / 2;
/// let (mut a, mut b) = (Vec::new(), Vec::new());
/// plan.write_range(0..mid, &mut a)?;
/// plan.write_range(mid..plan.len(), &mut b)?;
/// a.extend(b);
/// let mut whole = Vec::new();
/// write_capture_jsonl(capture, &mut whole)?;
/// assert_eq!(a, whole);
/// # Ok(()) }
/// ```
pub struct JsonlPlan<'a> {
    capture: &'a CaptureReport,
    name: std::borrow::Cow<'a, str>,
    /// (rank, index): 0 a flow, 1 an event, 2 an identifier.
    order: Vec<(u8, usize)>,
    by_flow: IdentifiersByFlow<'a>,
}

impl<'a> JsonlPlan<'a> {
    /// Orders the capture's records: flows at their start, then events,
    /// then identifiers, by (time, packet).
    pub fn new(capture: &'a CaptureReport) -> Self {
        type Key = (Timestamp, u64, u8, usize);
        // Each kind is already in this order in an analysed report (events
        // and findings sorted by time and packet, flows nearly so): sort
        // only what is not, then merge the three. Sorting them together
        // was a tenth of a second per million records, on one thread.
        let sorted = |mut keys: Vec<Key>| {
            if !keys.is_sorted() {
                keys.sort_unstable();
            }
            keys
        };
        let flows = sorted(
            capture
                .flows
                .iter()
                .enumerate()
                .map(|(i, f)| (f.summary.first_ts, f.summary.info.id.0, 0, i))
                .collect(),
        );
        let events = sorted(
            capture
                .events
                .iter()
                .enumerate()
                .map(|(i, e)| (e.ts, e.frame, 1, i))
                .collect(),
        );
        let findings = sorted(
            capture
                .identifiers
                .iter()
                .enumerate()
                .map(|(i, f)| (f.ts, f.frame, 2, i))
                .collect(),
        );
        let mut order = Vec::with_capacity(flows.len() + events.len() + findings.len());
        let (mut a, mut b, mut c) = (
            flows.into_iter().peekable(),
            events.into_iter().peekable(),
            findings.into_iter().peekable(),
        );
        loop {
            let next = [a.peek(), b.peek(), c.peek()]
                .into_iter()
                .enumerate()
                .filter_map(|(k, v)| v.map(|v| (v, k)))
                .min();
            let Some((_, k)) = next else { break };
            let key = match k {
                0 => a.next(),
                1 => b.next(),
                _ => c.next(),
            }
            .expect("peeked");
            order.push((key.2, key.3));
        }
        JsonlPlan {
            capture,
            name: capture.path.to_string_lossy(),
            order,
            by_flow: capture.identifiers_by_flow(),
        }
    }

    /// Number of records planned (a few may be skipped when written: events
    /// of kinds this writer does not know).
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// True when the capture has nothing to write.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// The record at a place of the plan: `None` for an event or finding
    /// whose flow is not in the capture, or an event kind EVE has no
    /// record for.
    fn record(&self, rank: u8, i: usize) -> Option<Record<'_>> {
        let (capture, name) = (self.capture, &self.name[..]);
        match rank {
            0 => Some(flow_record(name, &capture.flows[i], &self.by_flow)),
            2 => {
                let finding = &capture.identifiers[i];
                Some(identifier_record(
                    name,
                    capture.flow(finding.flow)?,
                    finding,
                ))
            }
            _ => {
                let ev = &capture.events[i];
                event_record(name, capture.flow(ev.flow)?, ev)
            }
        }
    }

    /// Writes the records `range` of the plan, one JSON object per line.
    pub fn write_range(
        &self,
        range: std::ops::Range<usize>,
        out: &mut impl Write,
    ) -> io::Result<()> {
        let mut text = Vec::with_capacity(1024);
        for &(rank, i) in self.order.get(range).unwrap_or_default() {
            let Some(record) = self.record(rank, i) else {
                continue;
            };
            text.clear();
            line::write_record(&record, &mut text)?;
            text.push(b'\n');
            out.write_all(&text)?;
        }
        Ok(())
    }
}

/// Writes every record of `capture` both ways, the hand-written JSON Lines
/// writer and serde_json, and returns how many records there were, or the
/// first that differs. For tests over real captures (the writer is this
/// crate's, the captures are analysed by the `telltale` crate).
#[doc(hidden)]
pub fn check_jsonl_writer(capture: &CaptureReport) -> Result<usize, String> {
    let plan = JsonlPlan::new(capture);
    let mut n = 0;
    let mut fast = Vec::new();
    for &(rank, i) in &plan.order {
        let Some(record) = plan.record(rank, i) else {
            continue;
        };
        fast.clear();
        line::write_record(&record, &mut fast).map_err(|e| e.to_string())?;
        let slow = serde_json::to_vec(&record).map_err(|e| e.to_string())?;
        if fast != slow {
            return Err(format!(
                "record {n} differs:\n{}\n{}",
                String::from_utf8_lossy(&fast),
                String::from_utf8_lossy(&slow)
            ));
        }
        n += 1;
    }
    Ok(n)
}

/// Where a record goes among all of one capture's JSON Lines: lines sorted
/// by their keys are in the order [`write_capture_jsonl`] writes them.
///
/// Flow records sort by start time and flow number, events and findings by
/// time and packet number; a flow record comes before the events of the
/// same instant, events before findings; records of one packet keep their
/// flow's order (`index`, the place among the flow's records of that kind).
/// A capture's keys are all distinct, so a sort by key needs no stability
/// and gives the same lines whichever way the capture was cut up. The
/// collected writer orders one packet's findings by place (location,
/// offset); keys order them by flow, then by their place in the flow's
/// list (sorted by place): the same, because one packet belongs to one
/// flow.
///
/// ```
/// use telltale_report::JsonlKey;
/// use telltale_decode::Timestamp;
/// let flow = JsonlKey { ts: Timestamp::from_nanos(5), second: 9, rank: 0, flow: 9, index: 0 };
/// let event = JsonlKey { ts: Timestamp::from_nanos(5), second: 3, rank: 1, flow: 9, index: 0 };
/// assert!(event < flow); // packet 3 sorts before flow number 9 at the same time
/// let bytes = flow.to_bytes();
/// assert_eq!(JsonlKey::from_bytes(&bytes), flow);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JsonlKey {
    /// The flow's start, or the event's or finding's capture time.
    pub ts: Timestamp,
    /// The flow number for a flow record, the packet number otherwise.
    pub second: u64,
    /// 0 a flow record, 1 an event, 2 an identifier finding.
    pub rank: u8,
    /// The flow number.
    pub flow: u64,
    /// The record's place among its flow's records of the same rank.
    pub index: u64,
}

impl JsonlKey {
    /// Bytes in [`to_bytes`](Self::to_bytes).
    pub const LEN: usize = 33;

    /// The key as fixed-size bytes (for sorted runs on disk).
    pub fn to_bytes(&self) -> [u8; Self::LEN] {
        let mut b = [0u8; Self::LEN];
        b[0..8].copy_from_slice(&self.ts.as_nanos().to_le_bytes());
        b[8..16].copy_from_slice(&self.second.to_le_bytes());
        b[16] = self.rank;
        b[17..25].copy_from_slice(&self.flow.to_le_bytes());
        b[25..33].copy_from_slice(&self.index.to_le_bytes());
        b
    }

    /// The key [`to_bytes`](Self::to_bytes) wrote.
    pub fn from_bytes(b: &[u8; Self::LEN]) -> Self {
        let word = |at: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&b[at..at + 8]);
            w
        };
        JsonlKey {
            ts: Timestamp::from_nanos(i64::from_le_bytes(word(0))),
            second: u64::from_le_bytes(word(8)),
            rank: b[16],
            flow: u64::from_le_bytes(word(17)),
            index: u64::from_le_bytes(word(25)),
        }
    }
}

/// Writes one flow's records, as [`write_capture_jsonl`] would write them
/// if this were the capture's only flow: the flow record, then its events
/// and identifier findings by time and packet. For writers that stream a
/// capture flow by flow (`telltale::Analyzer::stream_jsonl` passes no
/// events, written as they came by [`write_event_jsonl`]): each record is
/// byte for byte the one the whole-capture writer gives; only the order of
/// lines across flows differs.
///
/// `events` are the flow's events, `identifiers` the findings in them, both
/// in the order they were produced.
pub fn write_flow_jsonl(
    out: &mut impl Write,
    pcap_filename: &str,
    flow: &FlowRecord,
    events: &[AppEvent],
    identifiers: &[Finding],
) -> io::Result<()> {
    write_flow_jsonl_keyed(pcap_filename, flow, events, identifiers, |_, line| {
        out.write_all(line)
    })
}

/// As [`write_flow_jsonl`], handing each line (with its newline) to `emit`
/// with its [`JsonlKey`]: the lines of every flow of a capture, sorted by
/// key, are what [`write_capture_jsonl`] writes for it, for writers that
/// sort a capture too large to hold (`telltale::Analyzer::analyze_jsonl`).
/// `identifiers` must be in the order the whole-capture writer keeps them
/// within a message (by place: location, then offset).
pub fn write_flow_jsonl_keyed(
    pcap_filename: &str,
    flow: &FlowRecord,
    events: &[AppEvent],
    identifiers: &[Finding],
    emit: impl FnMut(JsonlKey, &[u8]) -> io::Result<()>,
) -> io::Result<()> {
    let none = FindingsWritten::default();
    write_flow_jsonl_keyed_after(pcap_filename, flow, events, identifiers, &none, emit)
}

/// As [`write_flow_jsonl_keyed`], for a flow some of whose findings were
/// written before it ended ([`write_identifier_jsonl_keyed`], counted in
/// `earlier`): the flow's record counts them too, and `identifiers` are
/// numbered after them.
pub fn write_flow_jsonl_keyed_after(
    pcap_filename: &str,
    flow: &FlowRecord,
    events: &[AppEvent],
    identifiers: &[Finding],
    earlier: &FindingsWritten,
    mut emit: impl FnMut(JsonlKey, &[u8]) -> io::Result<()>,
) -> io::Result<()> {
    let id = flow.summary.info.id.0;
    let key = |ts, second, rank, index: usize| JsonlKey {
        ts,
        second,
        rank,
        flow: id,
        index: index as u64,
    };
    let mut order: Vec<JsonlKey> = Vec::with_capacity(1 + events.len() + identifiers.len());
    order.push(key(flow.summary.first_ts, id, 0, 0));
    for (i, e) in events.iter().enumerate() {
        order.push(key(e.ts, e.frame, 1, i));
    }
    for (i, f) in identifiers.iter().enumerate() {
        order.push(key(f.ts, f.frame, 2, i));
    }
    let first_finding = earlier.count as u64;
    order.sort_unstable();
    let mut text = Vec::with_capacity(1024);
    for k in order {
        let i = k.index as usize;
        let record = match k.rank {
            0 => flow_record_after(pcap_filename, flow, identifiers.iter(), earlier),
            1 => match event_record(pcap_filename, flow, &events[i]) {
                Some(r) => r,
                None => continue,
            },
            _ => identifier_record(pcap_filename, flow, &identifiers[i]),
        };
        text.clear();
        line::write_record(&record, &mut text)?;
        text.push(b'\n');
        let k = match k.rank {
            2 => JsonlKey {
                index: first_finding + k.index,
                ..k
            },
            _ => k,
        };
        emit(k, &text)?;
    }
    Ok(())
}

/// Writes one event's record as soon as it is found, for writers that do
/// not hold a flow's events until it ends (memory then follows the open
/// flows, not the events of the longest one): the line
/// [`write_flow_jsonl`] would write for it, given the flow's endpoints and
/// the protocol it was recognised as (known before its first event:
/// `AppSink::flow_app` in `telltale-proto`). Nothing is written for an
/// event EVE has no record for.
///
/// The flow's record and findings are then written at its end by
/// [`write_flow_jsonl`] with no events.
pub fn write_event_jsonl(
    out: &mut impl Write,
    pcap_filename: &str,
    flow: &FlowInfo,
    app: AppProto,
    event: &AppEvent,
) -> io::Result<()> {
    write_event_jsonl_keyed(pcap_filename, flow, app, 0, event, |_, line| {
        out.write_all(line)
    })
}

/// As [`write_event_jsonl`], handing the line to `emit` with its
/// [`JsonlKey`]; `index` is the event's place among its flow's events
/// (counting from 0, every event a report keeps: opaque payloads are not
/// kept), as [`write_flow_jsonl_keyed`] numbers the events it is given.
pub fn write_event_jsonl_keyed(
    pcap_filename: &str,
    flow: &FlowInfo,
    app: AppProto,
    index: u64,
    event: &AppEvent,
    emit: impl FnMut(JsonlKey, &[u8]) -> io::Result<()>,
) -> io::Result<()> {
    let Some(record) = event_record_of(pcap_filename, flow, app, event) else {
        return Ok(());
    };
    emit_line(&record, (event.ts, event.frame, 1), flow, index, emit)
}

/// Serialises one record of an open flow and hands it to `emit` with its
/// key: `(ts, packet, rank)`, the flow, its place in the flow.
fn emit_line(
    record: &Record<'_>,
    (ts, second, rank): (Timestamp, u64, u8),
    flow: &FlowInfo,
    index: u64,
    mut emit: impl FnMut(JsonlKey, &[u8]) -> io::Result<()>,
) -> io::Result<()> {
    let mut text = Vec::with_capacity(512);
    line::write_record(record, &mut text)?;
    text.push(b'\n');
    let key = JsonlKey {
        ts,
        second,
        rank,
        flow: flow.id.0,
        index,
    };
    emit(key, &text)
}

fn base<'a>(
    name: &'a str,
    f: &FlowRecord,
    ts: Timestamp,
    pcap_cnt: u64,
    event_type: &'static str,
) -> Record<'a> {
    base_of(name, &f.summary.info, f.app_proto, ts, pcap_cnt, event_type)
}

/// A flow's identifier findings written before it ended, for its record:
/// how many, and of which kinds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FindingsWritten {
    kinds: Vec<&'static str>,
    count: usize,
}

impl FindingsWritten {
    /// Counts one finding written.
    pub fn add(&mut self, f: &Finding) {
        self.count += 1;
        if !self.kinds.contains(&f.kind.as_str()) {
            self.kinds.push(f.kind.as_str());
        }
    }

    /// Findings written so far: the next one's place among the flow's.
    pub fn count(&self) -> usize {
        self.count
    }
}

/// Writes one identifier finding's record before its flow ends, given the
/// flow's endpoints and protocol, as [`write_event_jsonl`] writes an
/// event's: for a writer that does not hold every finding of a long flow.
/// Count it in a [`FindingsWritten`] for the flow's end
/// ([`write_flow_jsonl_keyed_after`]).
pub fn write_identifier_jsonl(
    out: &mut impl Write,
    pcap_filename: &str,
    flow: &FlowInfo,
    app: AppProto,
    finding: &Finding,
) -> io::Result<()> {
    write_identifier_jsonl_keyed(pcap_filename, flow, app, 0, finding, |_, line| {
        out.write_all(line)
    })
}

/// As [`write_identifier_jsonl`], handing the line to `emit` with its
/// [`JsonlKey`]; `index` is the finding's place among its flow's findings
/// in the order the whole-capture writer keeps them (by time and packet,
/// then place in the message).
pub fn write_identifier_jsonl_keyed(
    pcap_filename: &str,
    flow: &FlowInfo,
    app: AppProto,
    index: u64,
    finding: &Finding,
    emit: impl FnMut(JsonlKey, &[u8]) -> io::Result<()>,
) -> io::Result<()> {
    let record = identifier_record_of(pcap_filename, flow, app, finding);
    emit_line(&record, (finding.ts, finding.frame, 2), flow, index, emit)
}

/// What every record says of its flow: an event's and a finding's lines
/// need only the flow's endpoints and protocol, both known before it ends.
fn base_of<'a>(
    name: &'a str,
    info: &FlowInfo,
    app: AppProto,
    ts: Timestamp,
    pcap_cnt: u64,
    event_type: &'static str,
) -> Record<'a> {
    Record {
        timestamp: ts,
        flow_id: eve_flow_id(name, info.id),
        pcap_cnt,
        pcap_filename: name,
        event_type,
        src_ip: info.client.ip(),
        src_port: info.client.port(),
        dest_ip: info.server.ip(),
        dest_port: info.server.port(),
        proto: info.proto.as_str(),
        app_proto: app.as_str(),
        flow: None,
        dns: None,
        tls: None,
        http: None,
        quic: None,
        dhcp: None,
        identifier: None,
    }
}

pub(crate) fn flow_record<'a>(
    name: &'a str,
    f: &'a FlowRecord,
    identifiers: &IdentifiersByFlow<'_>,
) -> Record<'a> {
    flow_record_with(name, f, identifiers.get(f.summary.info.id))
}

/// A flow's record, given the identifiers found in it.
fn flow_record_with<'a, 'i>(
    name: &'a str,
    f: &'a FlowRecord,
    found: impl Iterator<Item = &'i Finding>,
) -> Record<'a> {
    flow_record_after(name, f, found, &FindingsWritten::default())
}

/// A flow's record, given the identifiers found in it besides those
/// already written.
fn flow_record_after<'a, 'i>(
    name: &'a str,
    f: &'a FlowRecord,
    found: impl Iterator<Item = &'i Finding>,
    earlier: &FindingsWritten,
) -> Record<'a> {
    let s = &f.summary;
    let mut r = base(name, f, s.first_ts, s.info.id.0, "flow");
    let (ts, tc) = (&s.to_server.stream, &s.to_client.stream);
    r.flow = Some(Flow {
        pkts_toserver: s.to_server.packets,
        pkts_toclient: s.to_client.packets,
        bytes_toserver: s.to_server.bytes,
        bytes_toclient: s.to_client.bytes,
        start: s.first_ts,
        end: s.last_ts,
        state: s.tcp_state.map_or("none", |t| t.as_str()),
        reason: s.end_reason.as_str(),
        server_name: f.server_name.name.as_deref(),
        server_name_source: f.server_name.source.as_str(),
        server_name_dns: f.server_name.dns.as_ref().map(|d| DnsSource {
            query: &d.query,
            answer_ts: d.answer_ts,
            answer_pcap_cnt: d.answer_frame,
            resolver: d.resolver,
        }),
        server_name_flags: f.server_name.flags.names(),
        gaps: (ts.gaps + tc.gaps > 0).then_some(Gaps {
            toserver: ts.gaps,
            toclient: tc.gaps,
            bytes_toserver: ts.gap_bytes,
            bytes_toclient: tc.gap_bytes,
        }),
        limits: (ts.buffer_cap_hits
            + tc.buffer_cap_hits
            + ts.capped_bytes
            + tc.capped_bytes
            + ts.out_of_window
            + tc.out_of_window
            > 0)
        .then_some(LimitsHit {
            buffer_cap_hits: ts.buffer_cap_hits + tc.buffer_cap_hits,
            capped_bytes_toserver: ts.capped_bytes,
            capped_bytes_toclient: tc.capped_bytes,
            out_of_window_segments: ts.out_of_window + tc.out_of_window,
        }),
        dest_geo: Geo::new(&f.server_location),
        src_geo: f
            .client_location
            .scope
            .is_public()
            .then(|| Geo::new(&f.client_location)),
        identifiers: {
            let mut all = earlier.clone();
            found.for_each(|i| all.add(i));
            let FindingsWritten { mut kinds, count } = all;
            kinds.sort_unstable();
            (count > 0).then_some(FlowIdentifiers { count, kinds })
        },
    });
    r
}

pub(crate) fn identifier_record<'a>(
    name: &'a str,
    flow: &FlowRecord,
    i: &'a Finding,
) -> Record<'a> {
    identifier_record_of(name, &flow.summary.info, flow.app_proto, i)
}

/// A finding's record, given its flow's endpoints and protocol.
fn identifier_record_of<'a>(
    name: &'a str,
    info: &FlowInfo,
    app: AppProto,
    i: &'a Finding,
) -> Record<'a> {
    let mut r = base_of(name, info, app, i.ts, i.frame, "identifier");
    r.identifier = Some(Identifier {
        kind: i.kind.as_str(),
        value: &i.value,
        matched: &i.matched,
        encoding: i.encoding.as_str(),
        location: &i.location,
        source: i.source.as_str(),
        confidence: i.confidence.as_str(),
        frame: i.frame,
        offset: i.offset,
        key: i.key.as_deref(),
        device: i.device.as_deref(),
        note: i.note,
    });
    r
}

pub(crate) fn event_record<'a>(
    name: &'a str,
    f: &FlowRecord,
    ev: &'a AppEvent,
) -> Option<Record<'a>> {
    event_record_of(name, &f.summary.info, f.app_proto, ev)
}

/// An event's record, given its flow's endpoints and protocol.
fn event_record_of<'a>(
    name: &'a str,
    info: &FlowInfo,
    app: AppProto,
    ev: &'a AppEvent,
) -> Option<Record<'a>> {
    Some(match &ev.kind {
        AppEventKind::Dns(d) => {
            let mut r = base_of(name, info, app, ev.ts, ev.frame, "dns");
            r.app_proto = d.flavor.as_str();
            r.dns = Some(dns(d));
            r
        }
        AppEventKind::Tls(t) => {
            let mut r = base_of(name, info, app, ev.ts, ev.frame, "tls");
            r.tls = Some(tls(t));
            r
        }
        AppEventKind::Http(h) => {
            let mut r = base_of(name, info, app, ev.ts, ev.frame, "http");
            r.http = Some(http(h));
            r
        }
        AppEventKind::Quic(q) => {
            let mut r = base_of(name, info, app, ev.ts, ev.frame, "quic");
            r.quic = Some(quic(q));
            r
        }
        AppEventKind::Dhcp(d) => {
            let mut r = base_of(name, info, app, ev.ts, ev.frame, "dhcp");
            r.dhcp = Some(dhcp(d));
            r
        }
        // Kinds added later are skipped by writers that predate them.
        _ => return None,
    })
}

fn dns(d: &DnsEvent) -> Dns<'_> {
    let m = &d.message;
    let q = m.questions.first();
    Dns {
        kind: if m.response { "answer" } else { "query" },
        id: m.id,
        rrname: q.map_or("", |q| q.name.as_str()),
        rrtype: q.map_or_else(String::new, |q| rrtype_name(q.rtype)),
        rcode: m.response.then(|| rcode_name(m.full_rcode())),
        answers: m
            .answers
            .iter()
            .map(|a| DnsAnswer {
                rrname: &a.name,
                rrtype: rrtype_name(a.rtype),
                ttl: a.ttl,
                rdata: rdata(&a.data),
            })
            .collect(),
        partial: m.partial,
    }
}

/// Record data as text, in the presentation form `dig` would show.
pub(crate) fn rdata(d: &RData) -> Option<String> {
    Some(match d {
        RData::A(a) => IpText::new((*a).into()).as_str().to_owned(),
        RData::Aaaa(a) => IpText::new((*a).into()).as_str().to_owned(),
        RData::Cname(n) | RData::Dname(n) | RData::Ptr(n) | RData::Ns(n) => n.clone(),
        RData::Mx {
            preference,
            exchange,
        } => format!("{preference} {exchange}"),
        RData::Txt(t) => t.join(" "),
        RData::Srv {
            priority,
            weight,
            port,
            target,
        } => format!("{priority} {weight} {port} {target}"),
        RData::Soa {
            mname,
            rname,
            serial,
            ..
        } => format!("{mname} {rname} {serial}"),
        RData::Svcb {
            priority, target, ..
        } => format!("{priority} {target}"),
        _ => return None,
    })
}

fn ja3(ch: &ClientHello) -> Fingerprint {
    let j = fingerprint::ja3(ch);
    Fingerprint {
        hash: j.md5_hex,
        string: j.string,
    }
}

fn tls(t: &TlsHandshake) -> Tls<'_> {
    let leaf = t.certificates.first().filter(|c| c.parse_error.is_none());
    let time =
        |secs: i64| Timestamp::from_nanos(secs.saturating_mul(1_000_000_000)).to_rfc3339_micros();
    Tls {
        sni: t.sni(),
        version: t.version().map(tls_version_name),
        alpn: t.client.as_ref().map_or(&[], |c| c.alpn.as_slice()),
        ech: t.client.as_ref().is_some_and(|c| c.ech),
        ja3: t.client.as_ref().map(ja3),
        ja3s: t.server.as_ref().map(|sh| {
            let j = fingerprint::ja3s(sh);
            Fingerprint {
                hash: j.md5_hex,
                string: j.string,
            }
        }),
        ja4: t
            .client
            .as_ref()
            .map(|c| fingerprint::ja4(c, Transport::Tcp).fingerprint),
        subject: leaf.map(|c| c.subject.as_str()),
        issuerdn: leaf.map(|c| c.issuer.as_str()),
        serial: leaf.map(|c| c.serial.as_str()),
        fingerprint_sha256: leaf.map(|c| c.sha256.as_str()),
        notbefore: leaf.map(|c| time(c.not_before)),
        notafter: leaf.map(|c| time(c.not_after)),
        san: leaf.map(|c| c.san_dns.as_slice()),
        chain_len: (!t.certificates.is_empty()).then_some(t.certificates.len()),
    }
}

fn quic(q: &QuicHandshake) -> Quic<'_> {
    Quic {
        version: telltale_proto::quic::version_name(q.version),
        sni: q.sni(),
        alpn: &q.client.alpn,
        ja3: ja3(&q.client),
        ja4: fingerprint::ja4(&q.client, Transport::Quic).fingerprint,
        server_version: q.server.as_ref().map(|s| tls_version_name(s.version())),
    }
}

fn dhcp(d: &DhcpEvent) -> Dhcp {
    let v4ip = |a: std::net::Ipv4Addr| (!a.is_unspecified()).then_some(IpAddr::V4(a));
    match d {
        DhcpEvent::V4(m) => Dhcp {
            kind: if m.op == 2 { "reply" } else { "request" },
            id: m.xid,
            dhcp_type: m.message_type_name().map(str::to_ascii_lowercase),
            client_mac: m.client_mac.clone(),
            client_ip: v4ip(m.ciaddr),
            assigned_ip: v4ip(m.assigned_ip),
            requested_ip: m.requested_ip.map(IpAddr::V4),
            hostname: m.host_name.as_ref().map(|h| h.display.clone()),
            vendor_class_identifier: m.vendor_class_id.as_ref().map(|v| v.display.clone()),
            client_id: m.client_id.clone(),
            params: m
                .parameter_request_list
                .iter()
                .map(|&p| u16::from(p))
                .collect(),
            lease_time: m.lease_time,
            domain: m.domain_name.as_ref().map(|d| d.display.clone()),
            addresses: Vec::new(),
            partial: m.partial,
        },
        DhcpEvent::V6(m) => Dhcp {
            kind: match m.msg_type {
                2 | 7 | 10 | 13 => "reply",
                _ => "request",
            },
            id: m.transaction_id.unwrap_or(0),
            dhcp_type: m.message_type_name().map(str::to_ascii_lowercase),
            client_mac: m
                .client_duid
                .as_ref()
                .and_then(|d| d.link_layer_address.clone()),
            client_ip: None,
            assigned_ip: None,
            requested_ip: None,
            hostname: m.fqdn.as_ref().map(|f| f.name.clone()),
            vendor_class_identifier: m
                .vendor_class
                .first()
                .and_then(|v| v.data.first())
                .map(|d| d.display.clone()),
            client_id: m.client_duid.as_ref().map(|d| d.hex.clone()),
            params: m.oro.clone(),
            lease_time: None,
            domain: None,
            addresses: m.addresses().map(|a| IpAddr::V6(a.address)).collect(),
            partial: m.partial,
        },
        _ => Dhcp {
            kind: "unknown",
            id: 0,
            dhcp_type: None,
            client_mac: None,
            client_ip: None,
            assigned_ip: None,
            requested_ip: None,
            hostname: None,
            vendor_class_identifier: None,
            client_id: None,
            params: Vec::new(),
            lease_time: None,
            domain: None,
            addresses: Vec::new(),
            partial: false,
        },
    }
}

fn http(h: &HttpTransaction) -> Http<'_> {
    let (hostname, port) = match h.host.as_deref() {
        Some(host) => {
            let (name, port) = telltale_proto::http::split_host_port(host);
            (Some(name), port)
        }
        None => (None, None),
    };
    Http {
        hostname,
        http_port: port,
        url: &h.uri,
        http_method: &h.method,
        protocol: &h.protocol,
        http_user_agent: h.user_agent.as_deref(),
        status: h.status,
        http_content_type: h.response_content_type.as_deref(),
        length: h.response_body_len,
        decrypted: h.decrypted,
        body_limit_hit: [
            (h.request_body_capped, "request"),
            (h.response_body_capped, "response"),
        ]
        .into_iter()
        .filter_map(|(hit, which)| hit.then_some(which))
        .collect(),
    }
}
