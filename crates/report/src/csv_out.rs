//! CSV: one row per flow.

use std::io::{self, Write};

use crate::eve::{JsonlKey, eve_flow_id};
use crate::model::{FlowRecord, Report};
use crate::names::{rcode_name, rrtype_name};
use telltale_detect::Finding;
use telltale_geo::GeoInfo;
use telltale_proto::AppEventKind;

/// Columns of the flows CSV, in order (documented in `docs/OUTPUT.md`).
pub const FLOW_COLUMNS: &[&str] = &[
    "pcap_filename",
    "flow_id",
    "pcap_cnt",
    "start",
    "end",
    "proto",
    "app_proto",
    "src_ip",
    "src_port",
    "dest_ip",
    "dest_port",
    "pkts_toserver",
    "pkts_toclient",
    "bytes_toserver",
    "bytes_toclient",
    "state",
    "reason",
    "server_name",
    "server_name_source",
    "server_name_flags",
    "dns_query",
    "dns_answer_ts",
    "dns_resolver",
    "gap_bytes_toserver",
    "gap_bytes_toclient",
    "dest_scope",
    "dest_country",
    "dest_city",
    "dest_asn",
    "dest_as_org",
];

/// Writes one row per flow, every capture in order.
pub fn write_flows_csv(report: &Report, out: impl Write) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(FLOW_COLUMNS)?;
    for c in &report.captures {
        let name = c.path.to_string_lossy();
        for f in &c.flows {
            w.write_record(flow_row(&name, f))?;
        }
    }
    w.flush()
}

fn flow_row(name: &str, f: &FlowRecord) -> [String; 30] {
    let s = &f.summary;
    let dns = f.server_name.dns.as_ref();
    [
        cell(name),
        eve_flow_id(name, s.info.id).to_string(),
        s.info.id.0.to_string(),
        s.first_ts.to_rfc3339_micros(),
        s.last_ts.to_rfc3339_micros(),
        s.info.proto.as_str().to_owned(),
        f.app_proto.as_str().to_owned(),
        s.info.client.ip().to_string(),
        s.info.client.port().to_string(),
        s.info.server.ip().to_string(),
        s.info.server.port().to_string(),
        s.to_server.packets.to_string(),
        s.to_client.packets.to_string(),
        s.to_server.bytes.to_string(),
        s.to_client.bytes.to_string(),
        s.tcp_state.map_or("none", |t| t.as_str()).to_owned(),
        s.end_reason.as_str().to_owned(),
        cell(f.server_name.name.as_deref().unwrap_or("")),
        f.server_name.source.as_str().to_owned(),
        f.server_name.flags.names().join(" "),
        cell(dns.map_or("", |d| d.query.as_str())),
        dns.map_or_else(String::new, |d| d.answer_ts.to_rfc3339_micros()),
        dns.map_or_else(String::new, |d| d.resolver.to_string()),
        s.to_server.stream.gap_bytes.to_string(),
        s.to_client.stream.gap_bytes.to_string(),
        f.server_location.scope.as_str().to_owned(),
        geo_cell(f, |g| g.country_code.clone()),
        geo_cell(f, |g| g.city.as_deref().map(cell)),
        geo_cell(f, |g| g.asn.map(|a| a.to_string())),
        geo_cell(f, |g| g.as_org.as_deref().map(cell)),
    ]
}

/// Which CSV [`write_flow_csv_keyed`] writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CsvRows {
    /// The flows CSV ([`write_flows_csv`]): one row per flow.
    Flows,
    /// The identifiers CSV ([`write_identifiers_csv`]): one row per finding.
    Identifiers,
}

impl CsvRows {
    /// The header line, as the whole-report writer writes it.
    pub fn header(self) -> Vec<u8> {
        let columns = match self {
            CsvRows::Flows => FLOW_COLUMNS,
            CsvRows::Identifiers => IDENTIFIER_COLUMNS,
        };
        let mut w = csv::Writer::from_writer(Vec::new());
        // Writing to memory cannot fail.
        let _ = w.write_record(columns);
        w.into_inner().unwrap_or_default()
    }
}

/// One flow's rows of a CSV, each handed to `emit` with a [`JsonlKey`]:
/// the rows of every flow of a capture, sorted by key, are those the
/// whole-report writer writes for it (after the header). `identifiers`
/// are the flow's findings in the report's order within a message (by
/// place), as for [`write_flow_jsonl_keyed`](crate::write_flow_jsonl_keyed).
pub fn write_flow_csv_keyed(
    rows: CsvRows,
    pcap_filename: &str,
    flow: &FlowRecord,
    identifiers: &[Finding],
    mut emit: impl FnMut(JsonlKey, &[u8]) -> io::Result<()>,
) -> io::Result<()> {
    let id = flow.summary.info.id.0;
    let mut row = |key, record: &[String]| {
        let mut w = csv::WriterBuilder::new()
            .buffer_capacity(512)
            .from_writer(Vec::with_capacity(512));
        w.write_record(record)?;
        let line = w.into_inner().map_err(|e| e.into_error())?;
        emit(key, &line)
    };
    match rows {
        CsvRows::Flows => {
            // Flows are in flow-number order: the number alone is the key.
            let key = JsonlKey {
                second: id,
                flow: id,
                ..JsonlKey::default()
            };
            row(key, &flow_row(pcap_filename, flow))?;
        }
        CsvRows::Identifiers => {
            for (index, i) in identifiers.iter().enumerate() {
                let key = JsonlKey {
                    ts: i.ts,
                    second: i.frame,
                    rank: 2,
                    flow: id,
                    index: index as u64,
                };
                row(key, &identifier_row(pcap_filename, flow, i))?;
            }
        }
    }
    Ok(())
}

/// A cell from the server's GeoIP answer, empty when there is none.
fn geo_cell(f: &FlowRecord, field: impl Fn(&GeoInfo) -> Option<String>) -> String {
    f.server_location
        .geo
        .as_deref()
        .and_then(field)
        .unwrap_or_default()
}

/// A cell holding text that came from a capture. Spreadsheets run cells
/// that start with `=`, `+`, `-`, `@`, tab or CR as formulas; a leading
/// apostrophe makes them plain text (OWASP's advice for CSV injection).
/// Bidirectional controls (U+202A–U+202E, U+2066–U+2069, U+200E/F) are
/// written visibly as `\u{202e}`: a name like `evil\u{202e}moc.example`
/// would otherwise show reversed, as `evilelpmaxe.com`, in a spreadsheet.
pub fn cell(text: &str) -> String {
    let text = if text.chars().any(is_bidi_control) {
        let mut out = String::with_capacity(text.len() + 8);
        for ch in text.chars() {
            if is_bidi_control(ch) {
                out.push_str(&format!("\\u{{{:x}}}", ch as u32));
            } else {
                out.push(ch);
            }
        }
        std::borrow::Cow::Owned(out)
    } else {
        std::borrow::Cow::Borrowed(text)
    };
    match text.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => format!("'{text}"),
        _ => text.into_owned(),
    }
}

fn is_bidi_control(ch: char) -> bool {
    matches!(ch, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Columns of the identifiers CSV, in order (documented in `docs/OUTPUT.md`).
pub const IDENTIFIER_COLUMNS: &[&str] = &[
    "pcap_filename",
    "flow_id",
    "timestamp",
    "frame",
    "src_ip",
    "src_port",
    "dest_ip",
    "dest_port",
    "proto",
    "app_proto",
    "server_name",
    "kind",
    "value",
    "matched",
    "encoding",
    "location",
    "key",
    "source",
    "confidence",
    "device",
    "note",
    "dest_country",
    "dest_asn",
    "dest_as_org",
];

/// Writes one row per identifier finding, every capture in order.
pub fn write_identifiers_csv(report: &Report, out: impl Write) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(IDENTIFIER_COLUMNS)?;
    for c in &report.captures {
        let name = c.path.to_string_lossy();
        for i in &c.identifiers {
            let Some(f) = c.flow(i.flow) else { continue };
            w.write_record(identifier_row(&name, f, i))?;
        }
    }
    w.flush()
}

fn identifier_row(name: &str, f: &FlowRecord, i: &Finding) -> [String; 24] {
    let info = &f.summary.info;
    [
        cell(name),
        eve_flow_id(name, info.id).to_string(),
        i.ts.to_rfc3339_micros(),
        i.frame.to_string(),
        info.client.ip().to_string(),
        info.client.port().to_string(),
        info.server.ip().to_string(),
        info.server.port().to_string(),
        info.proto.as_str().to_owned(),
        f.app_proto.as_str().to_owned(),
        cell(f.server_name.name.as_deref().unwrap_or("")),
        i.kind.as_str().to_owned(),
        cell(&i.value),
        cell(&i.matched),
        i.encoding.as_str().to_owned(),
        cell(&i.location),
        cell(i.key.as_deref().unwrap_or("")),
        i.source.as_str().to_owned(),
        i.confidence.as_str().to_owned(),
        cell(i.device.as_deref().unwrap_or("")),
        i.note.unwrap_or("").to_owned(),
        geo_cell(f, |g| g.country_code.clone()),
        geo_cell(f, |g| g.asn.map(|a| a.to_string())),
        geo_cell(f, |g| g.as_org.as_deref().map(cell)),
    ]
}

/// Columns of the DNS CSV, in order (documented in `docs/OUTPUT.md`).
pub const DNS_COLUMNS: &[&str] = &[
    "pcap_filename",
    "flow_id",
    "timestamp",
    "frame",
    "src_ip",
    "src_port",
    "dest_ip",
    "dest_port",
    "protocol",
    "type",
    "id",
    "rrname",
    "rrtype",
    "rcode",
    "answers",
    "partial",
];

/// Writes one row per DNS, mDNS or LLMNR message, every capture in order:
/// the DNS timeline. `answers` holds `TYPE data` per answer record, joined
/// by `; `.
pub fn write_dns_csv(report: &Report, out: impl Write) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(DNS_COLUMNS)?;
    for c in &report.captures {
        let name = c.path.to_string_lossy();
        for ev in &c.events {
            let AppEventKind::Dns(d) = &ev.kind else {
                continue;
            };
            let Some(f) = c.flow(ev.flow) else { continue };
            let info = &f.summary.info;
            let m = &d.message;
            let q = m.questions.first();
            let answers: Vec<String> = m
                .answers
                .iter()
                .map(|a| {
                    let data = crate::eve::rdata(&a.data).unwrap_or_default();
                    format!("{} {}", rrtype_name(a.rtype), data)
                })
                .collect();
            w.write_record([
                cell(&name),
                eve_flow_id(&name, info.id).to_string(),
                ev.ts.to_rfc3339_micros(),
                ev.frame.to_string(),
                info.client.ip().to_string(),
                info.client.port().to_string(),
                info.server.ip().to_string(),
                info.server.port().to_string(),
                d.flavor.as_str().to_owned(),
                if m.response { "answer" } else { "query" }.to_owned(),
                m.id.to_string(),
                cell(q.map_or("", |q| q.name.as_str())),
                q.map_or_else(String::new, |q| rrtype_name(q.rtype)),
                if m.response {
                    rcode_name(m.full_rcode()).to_owned()
                } else {
                    String::new()
                },
                cell(&answers.join("; ")),
                m.partial.to_string(),
            ])?;
        }
    }
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::cell;

    #[test]
    fn formulas_neutralised() {
        assert_eq!(cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("example.com"), "example.com");
        assert_eq!(cell(""), "");
        assert_eq!(cell("evil\u{202e}moc.example"), "evil\\u{202e}moc.example");
        assert_eq!(cell("=\u{2066}x"), "'=\\u{2066}x");
    }
}
