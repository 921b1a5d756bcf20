//! The HTML report: one self-contained page a journalist can open from disk,
//! print, or hand on, with no network at all.
//!
//! The page and the Markdown report (`markdown.rs`) are built from the same
//! tables ([`Doc`]), so they always say the same thing; only the rendering
//! differs. Everything that came from a capture is untrusted: it goes through
//! [`visible`] (control and direction-changing characters shown as
//! `\u{..}`) and then the format's own escaping, and the page carries a
//! Content-Security-Policy that lets only its own script run, so an escaping
//! mistake could still not run an injected one.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::{self, Write};

use base64::Engine as _;
use sha2::{Digest, Sha256};
use telltale_decode::Timestamp;
use telltale_detect::Confidence;
use telltale_flow::FlowId;
use telltale_proto::{AppEventKind, AppProto, DnsFlavor};

use crate::destinations::{Destination, destinations_of};
use crate::model::{CaptureReport, FlowRecord, Report};
use crate::names::{rcode_name, rrtype_name};
use crate::summary::{self, Evidence, Exposure, GroupBy, Section, Tally, Wire};

/// How the HTML/Markdown reports are written.
#[derive(Clone, Debug, Default)]
pub struct ReportOptions {
    /// How captures form the per-capture sections (one per file, or one per
    /// folder).
    pub group_by: GroupBy,
    /// Whether the report's identifier values were masked with keyed
    /// pseudonyms ([`Redactor`](crate::Redactor)) before writing. The
    /// writers do not mask: they say which state the values are in.
    pub values_masked: bool,
}

/// Rows shown per per-capture table: beyond this a page gets too heavy to
/// open, and the CSV / JSON Lines outputs hold every row anyway.
pub(crate) const MAX_ROWS: usize = 2000;
/// Packet numbers shown in one headline cell.
pub(crate) const MAX_EVIDENCE: usize = 20;
/// Values shown in one headline cell.
const MAX_VALUES: usize = 10;
/// Warnings listed per capture.
const MAX_WARNINGS: usize = 20;
/// Bars per chart before the rest are summed under "others".
const CHART_BARS: usize = 12;

// ---------------------------------------------------------------------------
// Text safety

/// Whether a character must not reach a reader as is: controls (C0, DEL,
/// C1) can end lines or drive terminals, and the invisible or
/// direction-changing ones make a name look like another (`moc.elgoog` shown
/// as `google.com`).
fn hidden_char(ch: char) -> bool {
    ch.is_control()
        || matches!(
            ch,
            '\u{ad}'
                | '\u{61c}'
                | '\u{180e}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{2069}'
                | '\u{feff}'
        )
}

/// Text from a capture made safe to look at: every control, invisible or
/// bidirectional-override character is written visibly as `\u{hex}`. Unlike
/// [`printable`](crate::printable) it never truncates: a report must show
/// the whole name.
pub(crate) fn visible(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        if hidden_char(ch) {
            let _ = write!(out, "\\u{{{:x}}}", ch as u32);
        } else {
            out.push(ch);
        }
    }
    out
}

/// HTML-escapes text already made [`visible`]; quotes too, so the result is
/// safe in attributes as well as in element content.
fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Any text, for HTML content or attributes.
fn h(s: &str) -> String {
    escape_html(&visible(s))
}

/// As [`h`], cut to `max` characters (after making it visible, so an
/// escape sequence is never half shown as something else).
fn h_cut(s: &str, max: usize) -> String {
    let v = visible(s);
    if v.chars().count() <= max {
        return escape_html(&v);
    }
    let cut: String = v.chars().take(max.saturating_sub(1)).collect();
    escape_html(&(cut + "…"))
}

// ---------------------------------------------------------------------------
// Small formatters

/// `1.5 KiB`: binary units, as file managers on most systems show them.
pub(crate) fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// `12,345`.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// A length of time for people: `340 ms`, `12.5 s`, `3 min 05 s`, `2 h 07 min`.
fn human_duration(nanos: i64) -> String {
    let ms = nanos.max(0) / 1_000_000;
    if ms < 1000 {
        return format!("{ms} ms");
    }
    let s = ms / 1000;
    if s < 60 {
        return format!("{}.{} s", s, (ms % 1000) / 100);
    }
    if s < 3600 {
        return format!("{} min {:02} s", s / 60, s % 60);
    }
    if s < 86_400 {
        return format!("{} h {:02} min", s / 3600, s / 60 % 60);
    }
    format!("{} d {:02} h", s / 86_400, s / 3600 % 24)
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

/// The file name of a capture, for cells where the whole path is too long.
fn capture_name(c: &CaptureReport) -> String {
    c.path.file_name().map_or_else(
        || c.path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

fn format_name(c: &CaptureReport) -> String {
    let f = c.format.as_str();
    if c.gzip {
        format!("{f} (gzip)")
    } else {
        f.to_owned()
    }
}

fn network_label(asn: Option<u32>, org: Option<&str>) -> String {
    match (asn, org.filter(|o| !o.is_empty())) {
        (Some(a), Some(o)) if a != 0 => format!("AS{a} {o}"),
        (_, Some(o)) => o.to_owned(),
        (Some(a), None) if a != 0 => format!("AS{a}"),
        _ => String::new(),
    }
}

fn dns_flavor(f: DnsFlavor) -> &'static str {
    f.as_str()
}

// ---------------------------------------------------------------------------
// The content, shared by the HTML and Markdown writers

/// A column of a [`Table`].
pub(crate) struct Col {
    /// Heading.
    pub(crate) name: &'static str,
    /// Numbers: right-aligned.
    pub(crate) num: bool,
    /// What the column means, for a tooltip.
    pub(crate) help: Option<&'static str>,
}

const fn col(name: &'static str) -> Col {
    Col {
        name,
        num: false,
        help: None,
    }
}

const fn num(name: &'static str) -> Col {
    Col {
        name,
        num: true,
        help: None,
    }
}

const fn helped(mut c: Col, help: &'static str) -> Col {
    c.help = Some(help);
    c
}

/// One table cell: untrusted text (escaped by the renderer), and what the
/// page needs to sort it and explain it.
pub(crate) struct Cell {
    /// What is shown.
    pub(crate) text: String,
    /// The value sorted on, when the text is not it (bytes shown as KiB).
    pub(crate) sort: Option<String>,
    /// Tooltip: the exact value behind a rounded one.
    pub(crate) title: Option<String>,
    /// CSS class.
    pub(crate) class: Option<&'static str>,
}

impl Cell {
    fn new(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            sort: None,
            title: None,
            class: None,
        }
    }

    /// Text, or a dash for nothing (sorted as empty).
    fn or_dash(text: impl Into<String>) -> Cell {
        let text = text.into();
        if text.is_empty() {
            Cell::new("-").sort("")
        } else {
            Cell::new(text)
        }
    }

    fn num(n: u64) -> Cell {
        Cell::new(thousands(n)).sort(n.to_string())
    }

    fn bytes(n: u64) -> Cell {
        Cell::new(human_bytes(n))
            .sort(n.to_string())
            .title(format!("{n} bytes"))
    }

    /// `2014-07-30 10:05:00.775` (UTC, to the millisecond: the packet
    /// number is the exact reference), the full RFC 3339 time as tooltip
    /// and sort key (it sorts as text; nanoseconds would lose precision as
    /// JavaScript numbers).
    fn ts(t: Timestamp) -> Cell {
        let full = t.to_rfc3339_micros();
        let short = match full.split_once('T') {
            Some((date, time)) => {
                let time = time.trim_end_matches('Z');
                // Drop the last three digits of the microseconds.
                let cut = time.len().saturating_sub(3);
                format!("{date} {}", &time[..cut])
            }
            None => full.clone(),
        };
        Cell::new(short).sort(full.clone()).title(full).class("ts")
    }

    fn sort(mut self, s: impl Into<String>) -> Cell {
        self.sort = Some(s.into());
        self
    }

    fn title(mut self, s: impl Into<String>) -> Cell {
        self.title = Some(s.into());
        self
    }

    fn class(mut self, c: &'static str) -> Cell {
        self.class = Some(c);
        self
    }
}

/// A table: columns, rows, and how many rows were left out to keep the
/// report light.
pub(crate) struct Table {
    pub(crate) cols: Vec<Col>,
    pub(crate) rows: Vec<Vec<Cell>>,
    /// Rows not included (the CSV / JSON Lines outputs have them).
    pub(crate) left_out: usize,
}

/// One bar of a chart (and one row of its Markdown table).
pub(crate) struct Bar {
    pub(crate) label: String,
    pub(crate) bytes: u64,
    pub(crate) flows: u64,
    pub(crate) destinations: u64,
    pub(crate) identifiers: u64,
    /// The sum of the groups beyond the first [`CHART_BARS`].
    pub(crate) others: bool,
}

/// The top groups, the rest summed into one "others" bar so a chart stays
/// readable whatever the batch size.
pub(crate) fn bars(tallies: &[Tally]) -> Vec<Bar> {
    let mut out: Vec<Bar> = tallies
        .iter()
        .take(CHART_BARS)
        .map(|t| Bar {
            label: if t.label == t.key || t.label.contains(&t.key) {
                t.label.clone()
            } else {
                format!("{} ({})", t.label, t.key)
            },
            bytes: t.bytes,
            flows: t.flows,
            destinations: t.destinations,
            identifiers: t.identifiers,
            others: false,
        })
        .collect();
    let rest = tallies.get(CHART_BARS..).unwrap_or_default();
    if !rest.is_empty() {
        out.push(Bar {
            label: format!("{} others", rest.len()),
            bytes: rest.iter().map(|t| t.bytes).sum(),
            flows: rest.iter().map(|t| t.flows).sum(),
            destinations: rest.iter().map(|t| t.destinations).sum(),
            identifiers: rest.iter().map(|t| t.identifiers).sum(),
            others: true,
        });
    }
    out
}

/// A chart's bars as a table (for Markdown, which has no charts).
pub(crate) fn bars_table(group: &'static str, bars: &[Bar]) -> Table {
    Table {
        cols: vec![
            col(group),
            num("Bytes"),
            num("Flows"),
            num("Destinations"),
            num("Identifiers sent"),
        ],
        rows: bars
            .iter()
            .map(|b| {
                vec![
                    Cell::new(b.label.clone()),
                    Cell::bytes(b.bytes),
                    Cell::num(b.flows),
                    Cell::num(b.destinations),
                    Cell::num(b.identifiers),
                ]
            })
            .collect(),
        left_out: 0,
    }
}

/// Per flow of a capture: identifier kinds at medium confidence and above,
/// and how many findings below it.
type FlowKinds = BTreeMap<FlowId, (BTreeSet<&'static str>, u64)>;

fn flow_kinds(c: &CaptureReport) -> FlowKinds {
    let mut m: FlowKinds = BTreeMap::new();
    for i in &c.identifiers {
        let e = m.entry(i.flow).or_default();
        if i.confidence >= Confidence::Medium {
            e.0.insert(i.kind.as_str());
        } else {
            e.1 += 1;
        }
    }
    m
}

fn flow_destination(f: &FlowRecord) -> String {
    match &f.server_name.name {
        Some(n) => n.to_ascii_lowercase(),
        None => f.summary.info.server.ip().to_string(),
    }
}

/// Everything both writers show, computed once.
pub(crate) struct Doc<'a> {
    pub(crate) report: &'a Report,
    pub(crate) opts: &'a ReportOptions,
    /// The headline over every capture.
    pub(crate) exposures: Vec<Exposure>,
    /// Destinations over every capture.
    pub(crate) destinations: Vec<Destination>,
    pub(crate) by_country: Vec<Tally>,
    pub(crate) by_organisation: Vec<Tally>,
    pub(crate) sections: Vec<Section>,
}

impl<'a> Doc<'a> {
    pub(crate) fn new(report: &'a Report, opts: &'a ReportOptions) -> Doc<'a> {
        let all: Vec<usize> = (0..report.captures.len()).collect();
        Doc {
            report,
            opts,
            exposures: summary::exposures(report, &all, Confidence::Medium),
            destinations: destinations_of(report, &all),
            by_country: summary::by_country(report, &all),
            by_organisation: summary::by_organisation(report, &all),
            sections: summary::sections(report, opts.group_by),
        }
    }

    fn several(&self) -> bool {
        self.report.captures.len() > 1
    }

    /// A capture as cells name it: `redmi.pcap`, or `[2] redmi.pcap` in a
    /// batch, the number matching the list of what was analysed.
    pub(crate) fn capture_label(&self, ci: usize) -> String {
        let name = self
            .report
            .captures
            .get(ci)
            .map_or_else(String::new, capture_name);
        if self.several() {
            format!("[{}] {name}", ci + 1)
        } else {
            name
        }
    }

    /// Packet numbers of evidence, `capture-name #frame`, the first
    /// [`MAX_EVIDENCE`] of them.
    fn evidence(&self, ev: &[Evidence]) -> String {
        let mut parts: Vec<String> = ev
            .iter()
            .take(MAX_EVIDENCE)
            .map(|e| format!("{} #{}", self.capture_label(e.capture), e.frame))
            .collect();
        if ev.len() > MAX_EVIDENCE {
            parts.push(format!("+{} more", ev.len() - MAX_EVIDENCE));
        }
        parts.join(", ")
    }

    pub(crate) fn title(&self) -> String {
        match self.report.captures.as_slice() {
            [one] => format!("telltale report: {}", capture_name(one)),
            many => format!("telltale report: {} captures", many.len()),
        }
    }

    /// The answer in two sentences, before any detail.
    pub(crate) fn lead(&self) -> String {
        let r = self.report;
        let packets: u64 = r.captures.iter().map(|c| c.packets).sum();
        let flows: u64 = r.captures.iter().map(|c| c.flows.len() as u64).sum();
        let mut s = format!(
            "{} with {} and {} to {}.",
            plural(r.captures.len() as u64, "capture", "captures"),
            plural(packets, "packet", "packets"),
            plural(flows, "flow", "flows"),
            plural(
                self.destinations.len() as u64,
                "destination",
                "destinations"
            ),
        );
        if self.exposures.is_empty() {
            s.push_str(
                " No device identifiers were found leaving the device at medium confidence or above.",
            );
        } else {
            let kinds: BTreeSet<&str> = self.exposures.iter().map(|e| e.kind).collect();
            let dests: BTreeSet<&str> = self
                .exposures
                .iter()
                .map(|e| e.destination.as_str())
                .collect();
            let countries: BTreeSet<&str> = self
                .exposures
                .iter()
                .filter_map(|e| e.country_code.as_deref())
                .collect();
            let cleartext = self
                .exposures
                .iter()
                .any(|e| e.wire.contains(&Wire::Cleartext));
            // Kinds in headline order (most sensitive first), not alphabetical.
            let mut ordered: Vec<&str> = Vec::new();
            for e in &self.exposures {
                if !ordered.contains(&e.kind) {
                    ordered.push(e.kind);
                }
            }
            let _ = write!(
                s,
                " {} of device identifier ({}) left the device, to {}",
                plural(kinds.len() as u64, "kind", "kinds"),
                ordered.join(", "),
                plural(dests.len() as u64, "destination", "destinations"),
            );
            if !countries.is_empty() {
                let _ = write!(
                    s,
                    " in {} ({})",
                    plural(countries.len() as u64, "country", "countries"),
                    countries.into_iter().collect::<Vec<_>>().join(", ")
                );
            }
            s.push('.');
            if cleartext {
                s.push_str(" Some were sent in cleartext, readable by anyone on the network path.");
            }
        }
        s
    }

    pub(crate) fn masking_note(&self) -> &'static str {
        if self.opts.values_masked {
            "Identifier values are masked: each is shown as a keyed pseudonym (kind~hex, \
             e.g. imei~3f9a0c41d2e7). The same value has the same pseudonym throughout, \
             but the value cannot be read or guessed back from it. Run with --show-values \
             to show the values themselves."
        } else {
            "Identifier values are shown as found (--show-values). Treat this report as \
             personal data."
        }
    }

    pub(crate) fn captures_table(&self) -> Table {
        let rows = self
            .report
            .captures
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let (first, last, dur) = match c.span {
                    Some((a, b)) => (
                        Cell::ts(a),
                        Cell::ts(b),
                        Cell::new(human_duration(b.nanos_since(a)))
                            .sort(b.nanos_since(a).to_string()),
                    ),
                    None => (Cell::or_dash(""), Cell::or_dash(""), Cell::or_dash("")),
                };
                let links: Vec<String> = c
                    .link_types
                    .iter()
                    .map(|(l, n)| format!("{l}: {}", thousands(*n)))
                    .collect();
                vec![
                    Cell::num(i as u64 + 1),
                    Cell::new(c.path.display().to_string()).class("path"),
                    Cell::new(format_name(c)),
                    match &c.sha256 {
                        Some(s) => Cell::new(s.clone()).class("hash"),
                        None => Cell::new("not computed").sort(""),
                    },
                    match c.file_size {
                        Some(n) => Cell::bytes(n),
                        None => Cell::new("standard input").sort("0"),
                    },
                    Cell::num(c.packets),
                    first,
                    last,
                    dur,
                    Cell::or_dash(links.join(", ")),
                ]
            })
            .collect();
        Table {
            cols: vec![
                num("#"),
                col("Capture"),
                col("Format"),
                helped(
                    col("SHA-256"),
                    "Hash of the file as stored: anyone can check they analyse the same file",
                ),
                num("Size"),
                num("Packets"),
                col("First packet (UTC)"),
                col("Last packet (UTC)"),
                num("Time span"),
                col("Link types"),
            ],
            rows,
            left_out: 0,
        }
    }

    /// Warnings for people: damaged files, limits reached, unreadable inputs.
    pub(crate) fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        for f in &self.report.failures {
            out.push(format!(
                "{}: could not be read: {}",
                f.path.display(),
                f.error
            ));
        }
        for (i, c) in self.report.captures.iter().enumerate() {
            let label = self.capture_label(i);
            let mut lines: Vec<String> = c.warnings.iter().map(|w| w.to_string()).collect();
            if c.decode.truncated_frames > 0 {
                lines.push(format!(
                    "{} cut short by the capture's snapshot length (their end was not recorded)",
                    plural(c.decode.truncated_frames, "packet", "packets")
                ));
            }
            lines.extend(c.notices());
            let more = lines.len().saturating_sub(MAX_WARNINGS);
            for l in lines.iter().take(MAX_WARNINGS) {
                out.push(format!("{label}: {l}"));
            }
            if more > 0 {
                out.push(format!(
                    "{label}: {} more warnings (see the JSON output)",
                    thousands(more as u64)
                ));
            }
        }
        out
    }

    pub(crate) fn geo_table(&self) -> Table {
        let rows = self
            .report
            .geo_databases
            .iter()
            .map(|d| {
                let mut provides = Vec::new();
                if d.provides.country {
                    provides.push("country");
                }
                if d.provides.city {
                    provides.push("city");
                }
                if d.provides.asn {
                    provides.push("network (AS)");
                }
                vec![
                    Cell::new(d.name.to_string()),
                    Cell::or_dash(d.build_date.clone()),
                    Cell::new(d.origin.clone()).class("path"),
                    Cell::or_dash(provides.join(", ")),
                    Cell::or_dash(d.description.clone().unwrap_or_default()),
                    Cell::or_dash(d.attribution.clone().unwrap_or_default()),
                ]
            })
            .collect();
        Table {
            cols: vec![
                col("Database"),
                col("Built"),
                col("Read from"),
                col("Answers"),
                col("Description"),
                helped(
                    col("Attribution"),
                    "Credit the database's licence asks every output to give",
                ),
            ],
            rows,
            left_out: 0,
        }
    }

    pub(crate) fn options_table(&self) -> Table {
        let mut rows: Vec<Vec<Cell>> = vec![vec![
            Cell::new("tool version"),
            Cell::new(format!("telltale {}", self.report.tool_version)),
        ]];
        // The program that ran the analysis records its options (sections
        // and masking among them); the page says the masking state on its
        // own, prominently, so nothing is added here.
        for (k, v) in &self.report.options {
            rows.push(vec![Cell::new(k.clone()), Cell::or_dash(v.clone())]);
        }
        Table {
            cols: vec![col("Option"), col("Value")],
            rows,
            left_out: 0,
        }
    }

    pub(crate) fn headline_table(&self) -> Table {
        let rows = self
            .exposures
            .iter()
            .map(|e| {
                let values: Vec<&str> = e.values.iter().map(String::as_str).collect();
                let mut shown = values
                    .iter()
                    .take(MAX_VALUES)
                    .copied()
                    .collect::<Vec<_>>()
                    .join(", ");
                if values.len() > MAX_VALUES {
                    let _ = write!(shown, ", +{} more", values.len() - MAX_VALUES);
                }
                let how = format!(
                    "{} · {}",
                    e.encodings.iter().copied().collect::<Vec<_>>().join(", "),
                    e.locations
                        .iter()
                        .map(String::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                let country = match (&e.country_code, &e.country_name) {
                    (Some(cc), Some(name)) if name != cc => {
                        Cell::new(format!("{name} ({cc})")).sort(cc.clone())
                    }
                    (Some(cc), _) => Cell::new(cc.clone()),
                    (None, _) => Cell::or_dash(""),
                };
                let wire = e
                    .wire
                    .iter()
                    .map(|w| w.as_str())
                    .collect::<Vec<_>>()
                    .join(" and ");
                let first_frame = e.evidence.first().map_or(0, |v| v.frame);
                // The issue's order first (what, to whom, where, when, how,
                // how often, the evidence), then the detail of what was sent.
                vec![
                    Cell::new(e.kind).class("kind"),
                    Cell::new(e.destination.clone()).class("host"),
                    Cell::or_dash(e.registrable_domain.clone().unwrap_or_default()),
                    Cell::or_dash(network_label(e.asn, e.organisation.as_deref())),
                    country,
                    Cell::ts(e.first_seen),
                    Cell::ts(e.last_seen),
                    Cell::new(wire).class(if e.wire.contains(&Wire::Cleartext) {
                        "cleartext"
                    } else {
                        "decrypted"
                    }),
                    Cell::num(e.count),
                    Cell::new(self.evidence(&e.evidence))
                        .class("evidence")
                        .sort(format!("{:020}", first_frame)),
                    Cell::new(shown).class("value"),
                    Cell::new(how),
                    Cell::new(e.confidence.as_str()),
                ]
            })
            .collect();
        Table {
            cols: vec![
                col("Identifier"),
                helped(
                    col("Destination"),
                    "Server name, or address when it had none",
                ),
                col("Domain"),
                helped(
                    col("Organisation"),
                    "Network that holds the server's address, per the GeoIP database",
                ),
                helped(
                    col("Country"),
                    "Where the GeoIP database places the server's address",
                ),
                col("First seen (UTC)"),
                col("Last seen (UTC)"),
                helped(
                    col("Channel"),
                    "cleartext: readable by anyone on the path; encrypted: read here only because keys were given",
                ),
                helped(num("Times"), "How many times it was found"),
                helped(
                    col("Packets"),
                    "Packet numbers of the evidence: open the capture in Wireshark, filter frame.number == N",
                ),
                helped(
                    col("Value"),
                    "The value sent, or its keyed pseudonym when values are masked",
                ),
                helped(
                    col("Sent as"),
                    "Encoding (plain, url, base64, md5...) and where in the message",
                ),
                col("Confidence"),
            ],
            rows,
            left_out: 0,
        }
    }

    pub(crate) fn destinations_table(&self) -> Table {
        let rows = self
            .destinations
            .iter()
            .map(|d| {
                let networks: Vec<String> = d
                    .networks
                    .iter()
                    .map(|(asn, org)| network_label(Some(*asn), Some(org)))
                    .filter(|s| !s.is_empty())
                    .collect();
                let sources: Vec<&str> = d
                    .sources
                    .iter()
                    .copied()
                    .filter(|s| *s != "none" || d.sources.len() == 1)
                    .collect();
                let kinds = d.identifier_kinds.iter().copied().collect::<Vec<_>>();
                vec![
                    Cell::new(d.name.clone()).class("host"),
                    Cell::or_dash(d.registrable_domain.clone().unwrap_or_default()),
                    Cell::new(sources.join(", ")),
                    Cell::new(
                        d.addresses
                            .iter()
                            .map(|a| a.to_string())
                            .collect::<Vec<_>>()
                            .join(", "),
                    ),
                    Cell::or_dash(d.countries.iter().cloned().collect::<Vec<_>>().join(", ")),
                    Cell::or_dash(networks.join("; ")),
                    Cell::new(d.ports.iter().cloned().collect::<Vec<_>>().join(", ")),
                    Cell::new(d.app_protos.iter().copied().collect::<Vec<_>>().join(", ")),
                    Cell::num(d.flows),
                    Cell::bytes(d.bytes_toserver),
                    Cell::bytes(d.bytes_toclient),
                    if kinds.is_empty() {
                        Cell::or_dash("").sort("0")
                    } else {
                        Cell::new(format!("{} ({})", kinds.join(", "), d.identifiers))
                            .sort(d.identifiers.to_string())
                            .class("kind")
                    },
                    Cell::ts(d.first_seen),
                    Cell::ts(d.last_seen),
                ]
            })
            .collect();
        Table {
            cols: vec![
                col("Destination"),
                col("Domain"),
                helped(
                    col("Named by"),
                    "tls_sni / quic_sni: the name the device asked for; http_host: the Host header; dns: the DNS answer that gave the address; cert: the server's certificate",
                ),
                col("Addresses"),
                col("Country"),
                col("Network"),
                col("Ports"),
                col("Protocols"),
                num("Flows"),
                helped(num("Sent"), "Bytes from the device to the server"),
                helped(num("Received"), "Bytes from the server to the device"),
                helped(
                    col("Identifiers"),
                    "Kinds of device identifier sent (medium confidence and above) and how many findings",
                ),
                col("First seen (UTC)"),
                col("Last seen (UTC)"),
            ],
            rows,
            left_out: 0,
        }
    }

    /// `n captures, p packets, f flows, ...` for a section.
    pub(crate) fn section_summary(&self, s: &Section) -> String {
        let caps: Vec<&CaptureReport> = s
            .captures
            .iter()
            .filter_map(|&i| self.report.captures.get(i))
            .collect();
        let packets: u64 = caps.iter().map(|c| c.packets).sum();
        let flows: u64 = caps.iter().map(|c| c.flows.len() as u64).sum();
        let dns: u64 = caps
            .iter()
            .map(|c| {
                c.events
                    .iter()
                    .filter(|e| matches!(e.kind, AppEventKind::Dns(_)))
                    .count() as u64
            })
            .sum();
        let findings: u64 = caps.iter().map(|c| c.identifiers.len() as u64).sum();
        let low: u64 = caps
            .iter()
            .map(|c| {
                c.identifiers
                    .iter()
                    .filter(|i| i.confidence < Confidence::Medium)
                    .count() as u64
            })
            .sum();
        let encrypted: u64 = caps
            .iter()
            .map(|c| {
                c.flows
                    .iter()
                    .filter(|f| matches!(f.app_proto, AppProto::Tls | AppProto::Quic))
                    .count() as u64
            })
            .sum();
        let mut out = format!(
            "{}, {}, {} ({} of them TLS or QUIC), {}, {}",
            plural(caps.len() as u64, "capture", "captures"),
            plural(packets, "packet", "packets"),
            plural(flows, "flow", "flows"),
            thousands(encrypted),
            plural(dns, "DNS message", "DNS messages"),
            plural(findings, "identifier finding", "identifier findings"),
        );
        if low > 0 {
            let _ = write!(out, " ({} of low confidence)", thousands(low));
        }
        out.push('.');
        out
    }

    /// The capture column, in sections holding several captures.
    fn capture_col(&self, s: &Section) -> bool {
        s.captures.len() > 1
    }

    pub(crate) fn flows_table(&self, s: &Section) -> Table {
        let with_capture = self.capture_col(s);
        let mut rows = Vec::new();
        let mut total = 0usize;
        for &ci in &s.captures {
            let Some(c) = self.report.captures.get(ci) else {
                continue;
            };
            let kinds = flow_kinds(c);
            for f in &c.flows {
                total += 1;
                if rows.len() >= MAX_ROWS {
                    continue;
                }
                let sm = &f.summary;
                let geo = f.server_location.geo.as_deref();
                let country = match geo.and_then(|g| g.country_code.clone()) {
                    Some(cc) => {
                        let mut place = geo
                            .and_then(|g| g.country_name.clone())
                            .unwrap_or_else(|| cc.clone());
                        if let Some(city) = geo.and_then(|g| g.city.as_deref()) {
                            place = format!("{city}, {place}");
                        }
                        Cell::new(cc).title(place)
                    }
                    None if !f.server_location.scope.is_public() => {
                        Cell::new(f.server_location.scope.as_str())
                    }
                    None => Cell::or_dash(""),
                };
                let mut named_by = f.server_name.source.as_str().to_owned();
                let flags = f.server_name.flags.names();
                if !flags.is_empty() {
                    let _ = write!(named_by, " ({})", flags.join(", "));
                }
                let ids = match kinds.get(&sm.info.id) {
                    None => Cell::or_dash(""),
                    Some((k, low)) => {
                        let mut t = k.iter().copied().collect::<Vec<_>>().join(", ");
                        if *low > 0 {
                            if !t.is_empty() {
                                t.push(' ');
                            }
                            let _ = write!(t, "(+{low} low)");
                        }
                        let cell = Cell::new(t);
                        if k.is_empty() {
                            cell
                        } else {
                            cell.class("kind")
                        }
                    }
                };
                let mut row = Vec::with_capacity(15);
                if with_capture {
                    row.push(Cell::new(self.capture_label(ci)).sort(format!("{ci:06}")));
                }
                row.extend([
                    Cell::num(sm.info.id.0),
                    Cell::ts(sm.first_ts),
                    Cell::new(format!(
                        "{} · {}",
                        sm.info.proto.as_str().to_ascii_lowercase(),
                        f.app_proto.as_str()
                    )),
                    Cell::new(sm.info.client.to_string()),
                    Cell::new(sm.info.server.to_string()),
                    Cell::or_dash(f.server_name.name.clone().unwrap_or_default()).class("host"),
                    Cell::new(named_by),
                    country,
                    Cell::or_dash(network_label(
                        geo.and_then(|g| g.asn),
                        geo.and_then(|g| g.as_org.as_deref()),
                    )),
                    Cell::new(format!(
                        "{} / {}",
                        thousands(sm.to_server.packets),
                        thousands(sm.to_client.packets)
                    ))
                    .sort((sm.to_server.packets + sm.to_client.packets).to_string()),
                    Cell::bytes(sm.to_server.bytes),
                    Cell::bytes(sm.to_client.bytes),
                    ids,
                ]);
                rows.push(row);
            }
        }
        let mut cols = Vec::new();
        if with_capture {
            cols.push(col("Capture"));
        }
        cols.extend([
            helped(num("Packet"), "Number of the flow's first packet"),
            col("Start (UTC)"),
            col("Protocol"),
            col("Device"),
            col("Server"),
            col("Destination"),
            col("Named by"),
            col("Country"),
            col("Network"),
            helped(num("Packets"), "Packets sent to / received from the server"),
            helped(num("Sent"), "Bytes from the device to the server"),
            helped(num("Received"), "Bytes from the server to the device"),
            col("Identifiers"),
        ]);
        Table {
            cols,
            left_out: total - rows.len(),
            rows,
        }
    }

    pub(crate) fn dns_table(&self, s: &Section) -> Table {
        let with_capture = self.capture_col(s);
        let mut rows = Vec::new();
        let mut total = 0usize;
        for &ci in &s.captures {
            let Some(c) = self.report.captures.get(ci) else {
                continue;
            };
            for ev in &c.events {
                let AppEventKind::Dns(d) = &ev.kind else {
                    continue;
                };
                total += 1;
                if rows.len() >= MAX_ROWS {
                    continue;
                }
                let m = &d.message;
                let q = m.questions.first();
                let mut what = if m.response { "answer" } else { "query" }.to_owned();
                if d.flavor != DnsFlavor::Dns {
                    let _ = write!(what, " ({})", dns_flavor(d.flavor));
                }
                if m.partial {
                    what.push_str(" (partial)");
                }
                let answers: Vec<String> = m
                    .answers
                    .iter()
                    .map(|a| {
                        let data = crate::eve::rdata(&a.data).unwrap_or_default();
                        format!("{} {}", rrtype_name(a.rtype), data)
                    })
                    .collect();
                let server = c
                    .flow(ev.flow)
                    .map(|f| f.summary.info.server.ip().to_string())
                    .unwrap_or_default();
                let mut row = Vec::with_capacity(9);
                if with_capture {
                    row.push(Cell::new(self.capture_label(ci)).sort(format!("{ci:06}")));
                }
                row.extend([
                    Cell::ts(ev.ts),
                    Cell::num(ev.frame),
                    Cell::new(what),
                    Cell::or_dash(q.map_or_else(String::new, |q| q.name.clone())).class("host"),
                    Cell::or_dash(q.map_or_else(String::new, |q| rrtype_name(q.rtype))),
                    Cell::or_dash(if m.response {
                        rcode_name(m.full_rcode()).to_owned()
                    } else {
                        String::new()
                    }),
                    Cell::or_dash(answers.join("; ")),
                    Cell::or_dash(server),
                ]);
                rows.push(row);
            }
        }
        let mut cols = Vec::new();
        if with_capture {
            cols.push(col("Capture"));
        }
        cols.extend([
            col("Time (UTC)"),
            num("Packet"),
            col("Message"),
            col("Name"),
            col("Type"),
            col("Result"),
            col("Answers"),
            helped(col("Resolver"), "The DNS server asked"),
        ]);
        Table {
            cols,
            left_out: total - rows.len(),
            rows,
        }
    }

    pub(crate) fn findings_table(&self, s: &Section) -> Table {
        let with_capture = self.capture_col(s);
        let mut rows = Vec::new();
        let mut total = 0usize;
        for &ci in &s.captures {
            let Some(c) = self.report.captures.get(ci) else {
                continue;
            };
            for i in &c.identifiers {
                total += 1;
                if rows.len() >= MAX_ROWS {
                    continue;
                }
                let flow = c.flow(i.flow);
                let low = i.confidence < Confidence::Medium;
                let mut row = Vec::with_capacity(12);
                if with_capture {
                    row.push(Cell::new(self.capture_label(ci)).sort(format!("{ci:06}")));
                }
                let confidence = Cell::new(if low {
                    "low (not in the headline)"
                } else {
                    i.confidence.as_str()
                })
                .sort(match i.confidence {
                    Confidence::Low => "0",
                    Confidence::Medium => "1",
                    Confidence::High => "2",
                });
                row.extend([
                    Cell::ts(i.ts),
                    Cell::num(i.frame),
                    Cell::new(i.kind.as_str()).class("kind"),
                    Cell::new(i.value.clone()).class("value"),
                    Cell::new(i.encoding.as_str()),
                    Cell::new(i.location.clone()),
                    Cell::or_dash(flow.map(flow_destination).unwrap_or_default()).class("host"),
                    Cell::or_dash(flow.map_or("", |f| Wire::of(f, &i.location).as_str())),
                    if low {
                        confidence.class("low")
                    } else {
                        confidence
                    },
                    Cell::new(match i.source.as_str() {
                        "known" => "device profile",
                        other => other,
                    }),
                    Cell::or_dash(i.note.unwrap_or_default()),
                ]);
                rows.push(row);
            }
        }
        let mut cols = Vec::new();
        if with_capture {
            cols.push(col("Capture"));
        }
        cols.extend([
            col("Time (UTC)"),
            num("Packet"),
            col("Identifier"),
            col("Value"),
            col("Encoding"),
            helped(col("Where"), "Where in the message it was found"),
            col("Destination"),
            col("Channel"),
            col("Confidence"),
            helped(
                col("Found by"),
                "device profile: a value given in the profile; pattern: the shape of an identifier",
            ),
            col("Note"),
        ]);
        Table {
            cols,
            left_out: total - rows.len(),
            rows,
        }
    }

    /// Sentence under a table that was cut.
    pub(crate) fn left_out_note(t: &Table, what: &str) -> Option<String> {
        (t.left_out > 0).then(|| {
            format!(
                "Showing the first {} {what}; {} more were left out of this report. \
                 The CSV and JSON Lines files written with it have all of them.",
                thousands(t.rows.len() as u64),
                thousands(t.left_out as u64),
            )
        })
    }

    /// What a reader must keep in mind: (heading, paragraph).
    pub(crate) fn caveats(&self) -> Vec<(&'static str, String)> {
        let flows: u64 = self
            .report
            .captures
            .iter()
            .map(|c| c.flows.len() as u64)
            .sum();
        let encrypted: u64 = self
            .report
            .captures
            .iter()
            .map(|c| {
                c.flows
                    .iter()
                    .filter(|f| matches!(f.app_proto, AppProto::Tls | AppProto::Quic))
                    .count() as u64
            })
            .sum();
        let geo = if self.report.geo_databases.is_empty() {
            "No GeoIP database was used for this report, so no country or organisation is given."
                .to_owned()
        } else {
            let dbs: Vec<String> = self
                .report
                .geo_databases
                .iter()
                .map(|d| format!("{} built {}", d.name, d.build_date))
                .collect();
            format!(
                "Countries and organisations come from GeoIP databases ({}), which map \
                 blocks of addresses to where they are registered or believed to be, as of \
                 the database's date. Addresses change hands; content delivery networks and \
                 anycast serve one address from many places. A country here is a lead to \
                 check, not proof of where the data went.",
                dbs.join("; ")
            )
        };
        vec![
            (
                "Encrypted contents are not visible without keys",
                format!(
                    "{} of the {} were TLS or QUIC. Without the session keys only the parts \
                     sent in the clear are read: DNS lookups, the server name in the TLS or \
                     QUIC hello, plain HTTP. An identifier sent inside encrypted traffic is \
                     found only when keys were given (a key log, or keys inside a pcapng). \
                     Finding nothing is not proof that nothing was sent.",
                    thousands(encrypted),
                    plural(flows, "flow", "flows"),
                ),
            ),
            (
                "A server name is the name the device asked for",
                "The name in the TLS or QUIC hello (SNI) and the HTTP Host header are what the \
                 device asked for; they do not prove who runs the server that answered. A name \
                 learnt from DNS is the last answer before the flow that gave the server's \
                 address; several names can share one address (shared hosting, CDNs). \
                 \"Named by\" says which source each name came from."
                    .to_owned(),
            ),
            ("GeoIP is a database's opinion, with a date", geo),
            (
                "How identifiers are found",
                "Values listed in a device profile are searched for in every usual encoding \
                 (URL, hex, base64, common hashes); other identifiers are recognised by their \
                 shape and context and graded. The headline shows medium and high confidence \
                 only; a low-confidence match (a number that merely has the shape of an IMEI) \
                 appears only in the per-capture findings, marked low."
                    .to_owned(),
            ),
            (
                "Packet numbers and times",
                "Packet numbers count from 1 in file order, as Wireshark does: open the capture \
                 and filter with frame.number == N to see the evidence. Times are UTC as \
                 recorded by the capturing machine, whose clock may have been wrong."
                    .to_owned(),
            ),
            ("Identifier values", self.masking_note().to_owned()),
        ]
    }
}

// ---------------------------------------------------------------------------
// HTML rendering

const STYLE: &str = r#"
:root{color-scheme:light;--ink:#1b1f24;--muted:#57606a;--line:#d0d7de;--accent:#b3261e;--bar:#2f5d8a;--bg2:#f6f8fa}
*{box-sizing:border-box}
body{margin:0 auto;max-width:1400px;padding:1.5rem;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--ink);background:#fff}
h1{font-size:1.7rem;margin:.2rem 0}
h2{font-size:1.35rem;margin:2.2rem 0 .6rem;padding-bottom:.2rem;border-bottom:2px solid var(--line)}
h3{font-size:1.1rem;margin:1.4rem 0 .4rem}
h4{font-size:1rem;margin:1.1rem 0 .3rem}
.lead{font-size:1.12rem;max-width:60rem}
nav ul{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.4rem 1.2rem}
a{color:#0b5cad}
.note{color:var(--muted);max-width:60rem}
.mask{background:#fff8c5;border:1px solid #e5d27a;padding:.5rem .8rem;border-radius:4px;max-width:60rem}
#headline{border-left:6px solid var(--accent);padding-left:1rem}
#headline h2{border-bottom-color:var(--accent)}
.scroll{overflow-x:auto;margin:.4rem 0 1rem}
table{border-collapse:collapse;font-size:.86rem}
th,td{border:1px solid var(--line);padding:.25rem .45rem;text-align:left;vertical-align:top}
th{background:var(--bg2);font-weight:600;white-space:nowrap}
td{overflow-wrap:break-word}
td.ts{min-width:6.5em}
td.hash,td.path{word-break:break-all;min-width:14em}
td.host{min-width:9em}
td.evidence{min-width:12em}
tbody tr:nth-child(even){background:#fbfcfd}
.num{text-align:right;white-space:nowrap}
.hash,.value,.path,.evidence{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.8rem}
.kind{font-weight:600}
td.cleartext{color:var(--accent);font-weight:600}
td.low{color:var(--muted);font-style:italic}
#headline-table{font-size:.9rem}
html[data-ready] table.sortable th{cursor:pointer}
th[aria-sort=ascending]::after{content:" \25B2"}
th[aria-sort=descending]::after{content:" \25BC"}
svg.chart{max-width:100%;height:auto;display:block;margin:.3rem 0 1rem}
svg.chart text{font:12px system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;fill:var(--ink)}
svg.chart .bar{fill:var(--bar)}
svg.chart .others{fill:#9aa5b1}
.filter input{font:inherit;padding:.2rem .4rem;min-width:18rem}
section.capture{border-top:1px solid var(--line);margin-top:1.5rem}
dl.caveats dt{font-weight:600;margin-top:.8rem}
dl.caveats dd{margin:.2rem 0 0;max-width:60rem}
footer{margin-top:3rem;color:var(--muted);font-size:.85rem}
@media print{body{max-width:none;padding:0;font-size:11px}.scroll{overflow:visible}td{max-width:none}.filter,nav{display:none}tr{break-inside:avoid}h2,h3{break-after:avoid}}
"#;

/// The page's one script: sorting, the destinations filter, and hooks a
/// browser test reads. Its SHA-256 goes into the page's CSP.
const SCRIPT: &str = r#"
(function () {
  "use strict";
  var root = document.documentElement;
  window.addEventListener("error", function () {
    root.dataset.scriptErrors = String((Number(root.dataset.scriptErrors) || 0) + 1);
  });
  function key(td) {
    if (!td) return "";
    var s = td.getAttribute("data-sort");
    return s === null ? td.textContent.trim() : s;
  }
  function sortBy(th) {
    var table = th.closest("table"), body = table.tBodies[0];
    if (!body) return;
    var col = Array.prototype.indexOf.call(th.parentNode.children, th);
    var dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
    var rows = Array.prototype.slice.call(body.rows);
    var keys = rows.map(function (r) { return key(r.cells[col]); });
    var numeric = keys.every(function (k) { return k === "" || isFinite(Number(k)); });
    var order = rows.map(function (r, i) { return i; });
    order.sort(function (a, b) {
      var x = keys[a], y = keys[b], c;
      if (numeric) {
        c = (x === "" ? -Infinity : Number(x)) - (y === "" ? -Infinity : Number(y));
        if (isNaN(c)) c = 0;
      } else {
        c = x < y ? -1 : x > y ? 1 : 0;
      }
      return c * dir || a - b;
    });
    order.forEach(function (i) { body.appendChild(rows[i]); });
    Array.prototype.forEach.call(th.parentNode.children, function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("table.sortable thead th").forEach(function (th) {
      th.tabIndex = 0;
      th.addEventListener("click", function () { sortBy(th); });
      th.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortBy(th); }
      });
    });
    var input = document.getElementById("destinations-filter");
    var table = document.getElementById("destinations-table");
    if (input && table && table.tBodies[0]) {
      var box = document.getElementById("destinations-filter-box");
      if (box) box.hidden = false;
      input.addEventListener("input", function () {
        var q = input.value.toLowerCase();
        Array.prototype.forEach.call(table.tBodies[0].rows, function (r) {
          r.hidden = q !== "" && r.textContent.toLowerCase().indexOf(q) < 0;
        });
      });
    }
    root.dataset.ready = "1";
  });
})();
"#;

/// `sha256-<base64>` of the inline script, as CSP wants it.
fn script_hash() -> String {
    let digest = Sha256::digest(SCRIPT.as_bytes());
    format!(
        "sha256-{}",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

macro_rules! w {
    ($dst:expr, $($arg:tt)*) => {{
        let _ = write!($dst, $($arg)*);
    }};
}

fn html_table(out: &mut String, id: Option<&str>, t: &Table) {
    out.push_str("<div class=\"scroll\"><table class=\"sortable\"");
    if let Some(id) = id {
        w!(out, " id=\"{id}\"");
    }
    out.push_str(">\n<thead><tr>");
    for c in &t.cols {
        out.push_str("<th scope=\"col\"");
        if c.num {
            out.push_str(" class=\"num\"");
        }
        if let Some(help) = c.help {
            w!(out, " title=\"{}\"", h(help));
        }
        w!(out, ">{}</th>", h(c.name));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in &t.rows {
        out.push_str("<tr>");
        for (cell, c) in row.iter().zip(&t.cols) {
            out.push_str("<td");
            match (c.num, cell.class) {
                (true, Some(k)) => w!(out, " class=\"num {k}\""),
                (true, None) => out.push_str(" class=\"num\""),
                (false, Some(k)) => w!(out, " class=\"{k}\""),
                (false, None) => {}
            }
            if let Some(s) = &cell.sort {
                w!(out, " data-sort=\"{}\"", h(s));
            }
            if let Some(t) = &cell.title {
                w!(out, " title=\"{}\"", h(t));
            }
            w!(out, ">{}</td>", h(&cell.text));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table></div>\n");
}

/// A horizontal bar chart as inline SVG: labels, bars proportional to
/// bytes, and the numbers written out, so it reads without colour or
/// tooltips and prints as it shows.
fn svg_chart(out: &mut String, id: &str, title: &str, bars: &[Bar]) {
    const WIDTH: f64 = 860.0;
    const LABEL_W: f64 = 280.0;
    const BAR_MAX: f64 = 300.0;
    const ROW: f64 = 24.0;
    let rows = bars.len().max(1) as f64;
    let height = ROW * rows + 8.0;
    w!(
        out,
        "<svg id=\"{id}\" class=\"chart\" role=\"img\" aria-labelledby=\"{id}-title\" \
         width=\"{WIDTH}\" height=\"{height}\" viewBox=\"0 0 {WIDTH} {height}\">\n\
         <title id=\"{id}-title\">{}</title>\n",
        h(title)
    );
    if bars.is_empty() {
        w!(out, "<text x=\"4\" y=\"18\">No flows.</text>\n");
    }
    let max = bars.iter().map(|b| b.bytes).max().unwrap_or(0);
    for (i, b) in bars.iter().enumerate() {
        let y = 4.0 + ROW * i as f64;
        let len = if max == 0 {
            0.0
        } else {
            (b.bytes as f64 / max as f64 * BAR_MAX).max(if b.bytes > 0 { 1.0 } else { 0.0 })
        };
        let numbers = format!(
            "{} · {} · {}{}",
            human_bytes(b.bytes),
            plural(b.flows, "flow", "flows"),
            plural(b.destinations, "destination", "destinations"),
            if b.identifiers > 0 {
                format!(
                    " · {} sent",
                    plural(b.identifiers, "identifier", "identifiers")
                )
            } else {
                String::new()
            }
        );
        w!(
            out,
            "<g><title>{}: {} bytes, {}</title>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\
             <rect class=\"{}\" x=\"{LABEL_W:.1}\" y=\"{:.1}\" width=\"{len:.1}\" height=\"{:.1}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\">{}</text></g>\n",
            h(&b.label),
            b.bytes,
            h(&numbers),
            LABEL_W - 8.0,
            y + 15.0,
            h_cut(&b.label, 36),
            if b.others { "bar others" } else { "bar" },
            y + 3.0,
            ROW - 8.0,
            LABEL_W + len + 6.0,
            y + 15.0,
            h(&numbers),
        );
    }
    out.push_str("</svg>\n");
}

fn empty(out: &mut String, text: &str) {
    w!(out, "<p class=\"note\">{}</p>\n", h(text));
}

/// Writes the batch report as one self-contained HTML page: what was
/// analysed, the identifiers that left the device (the headline),
/// destinations (charts by country and organisation, and a sortable,
/// filterable table), a section per capture or folder (flows, DNS timeline,
/// findings) and what the report can and cannot tell. No external resource
/// is loaded; the same report gives the same bytes.
pub fn write_html(report: &Report, opts: &ReportOptions, out: &mut impl Write) -> io::Result<()> {
    let doc = Doc::new(report, opts);
    let mut o = String::with_capacity(64 * 1024);
    let title = doc.title();
    w!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src '{}'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"telltale {}\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n<script>{SCRIPT}</script>\n</head>\n<body>\n",
        script_hash(),
        h(&report.tool_version),
        h(&title),
    );

    // Header: the answer first, then the way around the page.
    w!(
        o,
        "<header>\n<h1>{}</h1>\n<p class=\"lead\">{}</p>\n<p class=\"mask\">{}</p>\n\
         <nav aria-label=\"Contents\"><ul>\
         <li><a href=\"#what-was-analysed\">What was analysed</a></li>\
         <li><a href=\"#headline\">Identifiers that left the device</a></li>\
         <li><a href=\"#destinations\">Destinations</a></li>\
         <li><a href=\"#captures\">Per capture</a></li>\
         <li><a href=\"#caveats\">What this report can and cannot tell you</a></li>\
         </ul></nav>\n</header>\n<main>\n",
        h(&title),
        h(&doc.lead()),
        h(doc.masking_note()),
    );

    // What was analysed.
    o.push_str("<section id=\"what-was-analysed\">\n<h2>What was analysed</h2>\n");
    let captures = doc.captures_table();
    if captures.rows.is_empty() {
        empty(&mut o, "No capture could be read.");
    } else {
        html_table(&mut o, Some("captures-table"), &captures);
    }
    let warnings = doc.warnings();
    if !warnings.is_empty() {
        o.push_str("<h3>Warnings</h3>\n<ul class=\"warnings\">\n");
        for wline in &warnings {
            w!(o, "<li>{}</li>\n", h(wline));
        }
        o.push_str("</ul>\n");
    }
    o.push_str("<h3>GeoIP databases</h3>\n");
    let geo = doc.geo_table();
    if geo.rows.is_empty() {
        empty(
            &mut o,
            "None: enrichment was off, so no country or organisation is given.",
        );
    } else {
        html_table(&mut o, Some("geo-table"), &geo);
    }
    o.push_str("<h3>Tool and options</h3>\n");
    html_table(&mut o, Some("options-table"), &doc.options_table());
    o.push_str("</section>\n");

    // The headline.
    o.push_str(
        "<section id=\"headline\">\n<h2>Identifiers that left the device</h2>\n\
         <p class=\"note\">Each row is one kind of device identifier sent to one destination \
         (medium confidence and above), across every capture. Packet numbers point at the \
         evidence.</p>\n",
    );
    let headline = doc.headline_table();
    if headline.rows.is_empty() {
        empty(
            &mut o,
            "No device identifiers were found at medium confidence or above. \
             Low-confidence matches, if any, are listed per capture below.",
        );
        // Kept (hidden) so tools find the table whatever the result.
        o.push_str("<div hidden>");
        html_table(&mut o, Some("headline-table"), &headline);
        o.push_str("</div>\n");
    } else {
        html_table(&mut o, Some("headline-table"), &headline);
    }
    o.push_str("</section>\n");

    // Destinations.
    o.push_str(
        "<section id=\"destinations\">\n<h2>Destinations</h2>\n\
         <h3>By country</h3>\n",
    );
    svg_chart(
        &mut o,
        "chart-country",
        "Bytes exchanged, by the country of the server (GeoIP)",
        &bars(&doc.by_country),
    );
    o.push_str("<h3>By organisation</h3>\n");
    svg_chart(
        &mut o,
        "chart-organisation",
        "Bytes exchanged, by the organisation holding the server's network (GeoIP)",
        &bars(&doc.by_organisation),
    );
    o.push_str("<h3>All destinations</h3>\n");
    o.push_str(
        "<p class=\"filter\" id=\"destinations-filter-box\" hidden><label>Filter: \
         <input type=\"search\" id=\"destinations-filter\" placeholder=\"name, address, country…\" \
         autocomplete=\"off\"></label></p>\n",
    );
    let dests = doc.destinations_table();
    if dests.rows.is_empty() {
        empty(&mut o, "No flows.");
    }
    html_table(&mut o, Some("destinations-table"), &dests);
    o.push_str("</section>\n");

    // Sections.
    o.push_str("<section id=\"captures\">\n<h2>Per capture</h2>\n");
    if doc.sections.len() > 1 {
        o.push_str("<ol class=\"toc\">\n");
        for (i, s) in doc.sections.iter().enumerate() {
            w!(
                o,
                "<li><a href=\"#section-{}\">{}</a></li>\n",
                i + 1,
                h(&s.title)
            );
        }
        o.push_str("</ol>\n");
    }
    for (i, s) in doc.sections.iter().enumerate() {
        w!(
            o,
            "<section class=\"capture\" id=\"section-{}\">\n<h3>{}. {}</h3>\n<p>{}</p>\n",
            i + 1,
            i + 1,
            h(&s.title),
            h(&doc.section_summary(s)),
        );
        if s.captures.len() > 1 || opts.group_by == GroupBy::Folder {
            o.push_str("<ul>\n");
            for &ci in &s.captures {
                w!(o, "<li>{}</li>\n", h(&doc.capture_label(ci)));
            }
            o.push_str("</ul>\n");
        }
        for (heading, what, t) in [
            ("Flows", "flows", doc.flows_table(s)),
            ("DNS timeline", "DNS messages", doc.dns_table(s)),
            ("Identifier findings", "findings", doc.findings_table(s)),
        ] {
            w!(o, "<h4>{heading}</h4>\n");
            if t.rows.is_empty() {
                empty(&mut o, &format!("No {what}."));
                continue;
            }
            if let Some(note) = Doc::left_out_note(&t, what) {
                empty(&mut o, &note);
            }
            html_table(&mut o, None, &t);
        }
        o.push_str("</section>\n");
    }
    o.push_str("</section>\n");

    // Caveats.
    o.push_str(
        "<section id=\"caveats\">\n<h2>What this report can and cannot tell you</h2>\n\
         <dl class=\"caveats\">\n",
    );
    for (head, text) in doc.caveats() {
        w!(o, "<dt>{}</dt><dd>{}</dd>\n", h(head), h(&text));
    }
    o.push_str("</dl>\n");
    let credits: Vec<&str> = report
        .geo_databases
        .iter()
        .filter_map(|d| d.attribution.as_deref())
        .collect();
    for c in credits {
        w!(o, "<p class=\"note\">GeoIP data: {}</p>\n", h(c));
    }
    o.push_str("</section>\n</main>\n");
    w!(
        o,
        "<footer>Made by telltale {} from the captures listed above. This page loads nothing \
         from the network.</footer>\n</body>\n</html>\n",
        h(&report.tool_version)
    );
    out.write_all(o.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visible_escapes_controls_and_bidi() {
        assert_eq!(visible("a\u{202e}b"), "a\\u{202e}b");
        assert_eq!(visible("x\ny\u{1b}"), "x\\u{a}y\\u{1b}");
        assert_eq!(
            visible("\u{2066}\u{200f}\u{85}"),
            "\\u{2066}\\u{200f}\\u{85}"
        );
        // Never truncated, whatever the length.
        let long = "a".repeat(500);
        assert_eq!(visible(&long), long);
        assert_eq!(visible("bücher.example"), "bücher.example");
    }

    #[test]
    fn html_escaping() {
        assert_eq!(
            h("<script>\"&'\u{202e}"),
            "&lt;script&gt;&quot;&amp;&#39;\\u{202e}"
        );
        assert_eq!(h_cut("abcdef", 4), "abc…");
    }

    #[test]
    fn formatters() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_duration(1_500_000_000), "1.5 s");
        assert_eq!(human_duration(185_000_000_000), "3 min 05 s");
    }

    #[test]
    fn script_has_no_closing_tag_and_hash_is_stable() {
        assert!(!SCRIPT.contains("</"));
        assert!(script_hash().starts_with("sha256-"));
        assert_eq!(script_hash().len(), "sha256-".len() + 44);
    }

    #[test]
    fn empty_report() {
        let mut v = Vec::new();
        write_html(&Report::default(), &ReportOptions::default(), &mut v).unwrap();
        let s = String::from_utf8(v).unwrap();
        assert!(s.starts_with("<!DOCTYPE html>"));
        assert!(s.contains("id=\"headline-table\""));
        assert!(s.contains("id=\"chart-country\""));
    }
}
