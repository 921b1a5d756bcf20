//! One capture, start to finish, on one thread.

use std::collections::BTreeMap;
use std::path::Path;

use std::sync::Arc;
use telltale_decode::{
    CaptureReader, CaptureWarning, DecodeError, DecodeStats, Decoder, LinkType, Timestamp,
};
use telltale_detect::{DestinationNamer, Detector, Finding, Scanner, findings};
use telltale_flow::{FlowSummary, FlowTable, FlowTableStats};
use telltale_proto::{AppEvent, AppEventKind, AppProto, AppSink, Dissectors};
use telltale_report::{CaptureReport, FlowRecord};

use crate::Analyzer;
use crate::locate::Locator;

#[derive(Default)]
struct Collect {
    events: Vec<AppEvent>,
    flows: Vec<(FlowSummary, AppProto)>,
    detect: Detection,
    identifiers: Vec<Finding>,
}

/// The identifier search one capture runs on every event: the built-in
/// scanner, then the caller's detectors.
#[derive(Clone, Default)]
pub(crate) struct Detection {
    pub(crate) scanner: Option<Arc<Scanner>>,
    pub(crate) detectors: Vec<Arc<dyn Detector>>,
}

impl Detection {
    pub(crate) fn of(analyzer: &Analyzer) -> Detection {
        Detection {
            scanner: analyzer.scanner.clone(),
            detectors: analyzer.detectors.0.clone(),
        }
    }

    pub(crate) fn run(&self, event: &AppEvent, out: &mut Vec<Finding>) {
        if let Some(scanner) = &self.scanner {
            out.extend(findings(scanner, event));
        }
        for d in &self.detectors {
            d.detect(event, out);
        }
    }
}

impl AppSink for Collect {
    fn app_event(&mut self, mut event: AppEvent) {
        self.detect.run(&event, &mut self.identifiers);
        // Bodies are for the detectors that look at them as they pass; the
        // report keeps the event without them, so memory follows the number
        // of events, not the bytes carried.
        match &mut event.kind {
            AppEventKind::Http(h) => {
                h.request_body = None;
                h.response_body = None;
            }
            AppEventKind::Opaque(_) => return,
            _ => {}
        }
        self.events.push(event);
    }

    fn flow_end(&mut self, summary: &FlowSummary, app: AppProto) {
        self.flows.push((summary.clone(), app));
    }
}

/// Analyses one capture with `analyzer`'s settings: decode, flows,
/// dissectors, destination naming. `Err` only when the file cannot be opened
/// or is not a capture; damage inside it becomes warnings in the result.
pub fn analyze_capture(path: &Path, analyzer: &Analyzer) -> Result<CaptureReport, DecodeError> {
    let locator = Locator::new(analyzer.geo.clone());
    analyze_capture_named(path, analyzer, &locator).map(|(c, _)| c)
}

/// As [`analyze_capture`], keeping the namer so a batch can name flows again
/// with the DNS answers of every capture.
pub(crate) fn analyze_capture_named(
    path: &Path,
    analyzer: &Analyzer,
    locator: &Locator,
) -> Result<(CaptureReport, DestinationNamer), DecodeError> {
    let collect = Collect {
        detect: Detection::of(analyzer),
        ..Collect::default()
    };
    let (collect, run) = drive(path, analyzer, collect, |_| {})?;
    let Collect {
        mut events,
        flows,
        mut identifiers,
        ..
    } = collect;
    identifiers.sort_by(|a, b| {
        (a.ts, a.frame, &a.location, a.offset).cmp(&(b.ts, b.frame, &b.location, b.offset))
    });

    let infos: Vec<_> = flows.iter().map(|(s, _)| s.info).collect();
    let namer = DestinationNamer::new(&events, &infos);
    let mut flows: Vec<FlowRecord> = flows
        .into_iter()
        .map(|(summary, app_proto)| FlowRecord {
            server_name: namer.name(&summary.info, summary.first_ts),
            server_location: locator.locate(summary.info.server.ip()),
            client_location: locator.locate(summary.info.client.ip()),
            summary,
            app_proto,
        })
        .collect();
    flows.sort_by_key(|f| f.summary.info.id);
    events.sort_by_key(|e| (e.ts, e.frame, e.flow));

    let report = CaptureReport {
        flows,
        events,
        identifiers,
        ..run.into_report(path, analyzer)
    };
    Ok((report, namer))
}

/// What reading a capture left besides its events.
pub(crate) struct CaptureRun {
    format: telltale_decode::CaptureFormat,
    gzip: bool,
    packets: u64,
    bytes: u64,
    span: Option<(Timestamp, Timestamp)>,
    link_types: BTreeMap<LinkType, u64>,
    warnings: Vec<CaptureWarning>,
    decode: DecodeStats,
    flow_table: FlowTableStats,
}

impl CaptureRun {
    /// A capture report with no flows, events or identifiers yet.
    pub(crate) fn into_report(self, path: &Path, analyzer: &Analyzer) -> CaptureReport {
        CaptureReport {
            path: path.to_path_buf(),
            format: self.format,
            gzip: self.gzip,
            sha256: if analyzer.hash_inputs {
                sha256_file(path)
            } else {
                None
            },
            file_size: (path != Path::new("-"))
                .then(|| std::fs::metadata(path).ok().map(|m| m.len()))
                .flatten(),
            packets: self.packets,
            bytes: self.bytes,
            span: self.span,
            link_types: self.link_types,
            warnings: self.warnings,
            decode: self.decode,
            flow_table: self.flow_table,
            flows: Vec::new(),
            events: Vec::new(),
            identifiers: Vec::new(),
        }
    }
}

/// Reads one capture through decode, flows and dissectors into `sink`;
/// `on_warning` hears of each damage warning as the reader finds it.
pub(crate) fn drive<S: AppSink>(
    path: &Path,
    analyzer: &Analyzer,
    sink: S,
    mut on_warning: impl FnMut(&CaptureWarning),
) -> Result<(S, CaptureRun), DecodeError> {
    let mut reader = CaptureReader::open(path)?;
    let mut decoder = Decoder::new(analyzer.decoder);
    let mut table = FlowTable::new(analyzer.flows);
    let mut dissectors = Dissectors::with_keys(sink, analyzer.keys.clone());
    dissectors.set_body_limits(analyzer.body_limits);
    let mut secrets_seen = 0;
    let mut warnings_seen = 0;
    let mut link_types = BTreeMap::new();
    let mut packets = 0u64;
    let mut span = None;
    loop {
        // Secrets found in the capture serve the flows that start after them
        // (a Decryption Secrets Block precedes the packets it is for).
        if reader.secrets().len() > secrets_seen {
            dissectors.add_capture_secrets(&reader.secrets()[secrets_seen..]);
            secrets_seen = reader.secrets().len();
        }
        if reader.warnings().len() > warnings_seen {
            for w in &reader.warnings()[warnings_seen..] {
                on_warning(w);
            }
            warnings_seen = reader.warnings().len();
        }
        let Some(frame) = reader.next_frame()? else {
            break;
        };
        packets += 1;
        *link_types.entry(frame.link).or_insert(0u64) += 1;
        span = Some(match span {
            None => (frame.ts, frame.ts),
            Some((lo, hi)) => (frame.ts.min(lo), frame.ts.max(hi)),
        });
        if let Some(packet) = decoder.decode(&frame) {
            table.push(&packet, &mut dissectors);
        }
    }
    table.finish(&mut dissectors);
    for w in &reader.warnings()[warnings_seen..] {
        on_warning(w);
    }
    let run = CaptureRun {
        format: reader.format(),
        gzip: reader.is_gzip(),
        packets,
        bytes: reader.bytes_read(),
        span,
        link_types,
        warnings: reader.warnings().to_vec(),
        decode: decoder.stats(),
        flow_table: table.stats(),
    };
    Ok((dissectors.into_sink(), run))
}

/// The SHA-256 of a file as stored, for the record of what was analysed; a
/// second read, so the hot path pays nothing when it is not asked for.
/// `None` for standard input or when the file cannot be read again.
fn sha256_file(path: &Path) -> Option<String> {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    if path == Path::new("-") {
        return None;
    }
    let mut file = std::fs::File::open(path).ok()?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return None,
        }
    }
    Some(
        hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
    )
}
