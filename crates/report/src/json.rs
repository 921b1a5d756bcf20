//! `report.json`: the whole report as one JSON document, for tools that
//! want everything a batch report shows in one file. Flows, events and
//! identifiers keep their EVE shape (`docs/OUTPUT.md`), so one parser
//! reads both this file and `events.jsonl`.

use std::io::{self, Write};

use serde::Serialize;

use crate::destinations::destinations;
use crate::eve::{event_record, flow_record, identifier_record};
use crate::model::{CaptureReport, Report};
use crate::summary::{Exposure, Tally, by_country, by_organisation, exposures};
use telltale_detect::Confidence;

#[derive(Serialize)]
struct Doc<'a> {
    tool: Tool<'a>,
    options: Vec<Opt<'a>>,
    geo_databases: Vec<GeoDb<'a>>,
    failures: Vec<Failure>,
    captures: Vec<Capture<'a>>,
    /// Identifier kind × destination, medium confidence and above.
    headline: Vec<Headline<'a>>,
    by_country: Vec<Bar<'a>>,
    by_organisation: Vec<Bar<'a>>,
    destinations: Vec<Dest<'a>>,
}

#[derive(Serialize)]
struct Tool<'a> {
    name: &'static str,
    version: &'a str,
}

#[derive(Serialize)]
struct Opt<'a> {
    name: &'a str,
    value: &'a str,
}

#[derive(Serialize)]
struct GeoDb<'a> {
    name: &'a str,
    build_date: &'a str,
    origin: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attribution: Option<&'a str>,
}

#[derive(Serialize)]
struct Failure {
    path: String,
    error: String,
}

#[derive(Serialize)]
struct Capture<'a> {
    path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    sha256: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    file_size: Option<u64>,
    format: String,
    gzip: bool,
    packets: u64,
    bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    first_ts: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_ts: Option<String>,
    link_types: Vec<Link>,
    warnings: Vec<Warning<'a>>,
    notices: Vec<String>,
    /// Flow table counters: flows, the peak held at once (the memory that
    /// mattered), evictions, timeouts, reassembly budget hits.
    flow_table: &'a telltale_flow::FlowTableStats,
    /// What decoding set aside (not IP, malformed, unsupported links,
    /// fragments).
    decode: &'a telltale_decode::DecodeStats,
    flows: Records<'a>,
    events: Records<'a>,
    identifiers: Records<'a>,
}

/// One kind of a capture's records, each made as the JSON is written: a
/// capture of millions of messages was first turned into as many records
/// in memory, several times the report's own size (5 GiB for a 210 MiB
/// capture of DNS traffic).
struct Records<'a> {
    capture: &'a CaptureReport,
    name: &'a str,
    kind: RecordKind,
}

#[derive(Clone, Copy)]
enum RecordKind {
    Flows,
    Events,
    Identifiers,
}

impl Serialize for Records<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (c, name) = (self.capture, self.name);
        match self.kind {
            RecordKind::Flows => {
                let by_flow = c.identifiers_by_flow();
                s.collect_seq(c.flows.iter().map(|f| flow_record(name, f, &by_flow)))
            }
            RecordKind::Events => s.collect_seq(
                c.events
                    .iter()
                    .filter_map(|ev| event_record(name, c.flow(ev.flow)?, ev)),
            ),
            RecordKind::Identifiers => s.collect_seq(
                c.identifiers
                    .iter()
                    .filter_map(|i| Some(identifier_record(name, c.flow(i.flow)?, i))),
            ),
        }
    }
}

#[derive(Serialize)]
struct Link {
    link_type: String,
    packets: u64,
}

#[derive(Serialize)]
struct Warning<'a> {
    offset: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    packet: Option<u64>,
    message: &'a str,
}

#[derive(Serialize)]
struct Headline<'a> {
    kind: &'a str,
    destination: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    registrable_domain: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    organisation: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    asn: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    country_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    country_name: Option<&'a str>,
    first_seen: String,
    last_seen: String,
    wire: Vec<&'static str>,
    count: u64,
    confidence: &'static str,
    encodings: Vec<&'a str>,
    locations: Vec<&'a str>,
    values: Vec<&'a str>,
    /// `[capture index, packet number]` pairs.
    evidence: Vec<(usize, u64)>,
}

#[derive(Serialize)]
struct Bar<'a> {
    key: &'a str,
    label: &'a str,
    destinations: u64,
    flows: u64,
    bytes: u64,
    identifiers: u64,
}

#[derive(Serialize)]
struct Dest<'a> {
    destination: &'a str,
    named: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    registrable_domain: Option<&'a str>,
    named_by: Vec<&'a str>,
    addresses: Vec<String>,
    countries: Vec<&'a str>,
    networks: Vec<Network<'a>>,
    ports: Vec<&'a str>,
    app_protos: Vec<&'a str>,
    identifier_kinds: Vec<&'a str>,
    identifiers: u64,
    flows: u64,
    bytes_toserver: u64,
    bytes_toclient: u64,
    first_seen: String,
    last_seen: String,
}

#[derive(Serialize)]
struct Network<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    asn: Option<u32>,
    #[serde(skip_serializing_if = "str::is_empty")]
    organisation: &'a str,
}

/// Writes the report as one pretty-printed JSON document (layout in
/// `docs/OUTPUT.md`). Deterministic: the same report gives the same bytes.
pub fn write_report_json(report: &Report, out: &mut impl Write) -> io::Result<()> {
    let all: Vec<usize> = (0..report.captures.len()).collect();
    let names: Vec<String> = report
        .captures
        .iter()
        .map(|c| c.path.to_string_lossy().into_owned())
        .collect();
    let head = exposures(report, &all, Confidence::Medium);
    let countries = by_country(report, &all);
    let orgs = by_organisation(report, &all);
    let dests = destinations(report);
    let doc = Doc {
        tool: Tool {
            name: "telltale",
            version: &report.tool_version,
        },
        options: report
            .options
            .iter()
            .map(|(n, v)| Opt { name: n, value: v })
            .collect(),
        geo_databases: report
            .geo_databases
            .iter()
            .map(|d| GeoDb {
                name: &d.name,
                build_date: &d.build_date,
                origin: &d.origin,
                description: d.description.as_deref(),
                attribution: d.attribution.as_deref(),
            })
            .collect(),
        failures: report
            .failures
            .iter()
            .map(|f| Failure {
                path: f.path.to_string_lossy().into_owned(),
                error: f.error.clone(),
            })
            .collect(),
        captures: report
            .captures
            .iter()
            .zip(&names)
            .map(|(c, name)| capture(c, name))
            .collect(),
        headline: head.iter().map(headline).collect(),
        by_country: countries.iter().map(bar).collect(),
        by_organisation: orgs.iter().map(bar).collect(),
        destinations: dests
            .iter()
            .map(|d| Dest {
                destination: &d.name,
                named: d.named,
                registrable_domain: d.registrable_domain.as_deref(),
                named_by: d.sources.iter().copied().collect(),
                addresses: d.addresses.iter().map(|a| a.to_string()).collect(),
                countries: d.countries.iter().map(String::as_str).collect(),
                networks: d
                    .networks
                    .iter()
                    .map(|(asn, org)| Network {
                        asn: (*asn != 0).then_some(*asn),
                        organisation: org,
                    })
                    .collect(),
                ports: d.ports.iter().map(String::as_str).collect(),
                app_protos: d.app_protos.iter().copied().collect(),
                identifier_kinds: d.identifier_kinds.iter().copied().collect(),
                identifiers: d.identifiers,
                flows: d.flows,
                bytes_toserver: d.bytes_toserver,
                bytes_toclient: d.bytes_toclient,
                first_seen: d.first_seen.to_rfc3339_micros(),
                last_seen: d.last_seen.to_rfc3339_micros(),
            })
            .collect(),
    };
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    out.write_all(b"\n")
}

fn capture<'a>(c: &'a CaptureReport, name: &'a str) -> Capture<'a> {
    Capture {
        path: name.to_owned(),
        sha256: c.sha256.as_deref(),
        file_size: c.file_size,
        format: format!("{:?}", c.format).to_ascii_lowercase(),
        gzip: c.gzip,
        packets: c.packets,
        bytes: c.bytes,
        first_ts: c.span.map(|(a, _)| a.to_rfc3339_micros()),
        last_ts: c.span.map(|(_, b)| b.to_rfc3339_micros()),
        link_types: c
            .link_types
            .iter()
            .map(|(l, n)| Link {
                link_type: l.to_string(),
                packets: *n,
            })
            .collect(),
        warnings: c
            .warnings
            .iter()
            .map(|w| Warning {
                offset: w.offset,
                packet: w.packet,
                message: &w.message,
            })
            .collect(),
        notices: c.notices(),
        flow_table: &c.flow_table,
        decode: &c.decode,
        flows: Records {
            capture: c,
            name,
            kind: RecordKind::Flows,
        },
        events: Records {
            capture: c,
            name,
            kind: RecordKind::Events,
        },
        identifiers: Records {
            capture: c,
            name,
            kind: RecordKind::Identifiers,
        },
    }
}

fn headline(e: &Exposure) -> Headline<'_> {
    Headline {
        kind: e.kind,
        destination: &e.destination,
        registrable_domain: e.registrable_domain.as_deref(),
        organisation: e.organisation.as_deref(),
        asn: e.asn,
        country_code: e.country_code.as_deref(),
        country_name: e.country_name.as_deref(),
        first_seen: e.first_seen.to_rfc3339_micros(),
        last_seen: e.last_seen.to_rfc3339_micros(),
        wire: e.wire.iter().map(|w| w.as_str()).collect(),
        count: e.count,
        confidence: e.confidence.as_str(),
        encodings: e.encodings.iter().copied().collect(),
        locations: e.locations.iter().map(String::as_str).collect(),
        values: e.values.iter().map(String::as_str).collect(),
        evidence: e.evidence.iter().map(|v| (v.capture, v.frame)).collect(),
    }
}

fn bar(t: &Tally) -> Bar<'_> {
    Bar {
        key: &t.key,
        label: &t.label,
        destinations: t.destinations,
        flows: t.flows,
        bytes: t.bytes,
        identifiers: t.identifiers,
    }
}
