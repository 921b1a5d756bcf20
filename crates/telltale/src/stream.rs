//! Streaming analysis: typed events handed to the caller as each capture
//! produces them, so a 50 GB capture never becomes a 50 GB report.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;

use telltale_decode::{CaptureWarning, DecodeError, Frame, Timestamp};
use telltale_detect::{DestinationNamer, Finding};
use telltale_flow::{FlowId, FlowInfo, FlowSummary};
use telltale_proto::{
    AppEvent, AppEventKind, AppProto, AppSink, DhcpEvent, DnsEvent, HttpTransaction, QuicHandshake,
    TlsHandshake,
};
use telltale_report::{CaptureReport, FindingsWritten, FlowRecord, LimitCounts};

use crate::Analyzer;
use crate::locate::Locator;
use crate::pipeline::{Detection, FrameConsumer, Stages, by_place, drive, kept_for_report};

/// Where an event happened: its capture, its flow's endpoints, its time and
/// packet number.
#[derive(Clone, Copy, Debug)]
pub struct Context<'a> {
    /// The capture being read.
    pub capture: &'a Path,
    /// The flow the event belongs to (client = the side that started it).
    pub flow: FlowInfo,
    /// Capture time of the message.
    pub ts: Timestamp,
    /// Packet number of the message (1-based, as Wireshark counts).
    pub frame: u64,
}

/// One thing a streaming analysis found, handed over as soon as it is
/// known: application events and identifier findings as their message is
/// read, a flow when it ends (with its destination name and location),
/// damage warnings when the capture has been read.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event<'a> {
    /// A flow ended: counters, protocol, destination name, locations.
    Flow(&'a FlowRecord),
    /// A DNS, mDNS or LLMNR message.
    Dns(Context<'a>, &'a DnsEvent),
    /// A TLS handshake (hellos, certificates).
    Tls(Context<'a>, &'a TlsHandshake),
    /// A QUIC connection's decrypted Initial packets.
    Quic(Context<'a>, &'a QuicHandshake),
    /// An HTTP/1.x request with its response, bodies included.
    Http(Context<'a>, &'a HttpTransaction),
    /// A DHCP or DHCPv6 message.
    Dhcp(Context<'a>, &'a DhcpEvent),
    /// A device identifier found in the message at `Context`.
    Identifier(Context<'a>, &'a Finding),
    /// Damage in the capture file (everything readable around it is still
    /// reported).
    Warning(&'a CaptureWarning),
}

/// Receives a streaming analysis's events. Any `FnMut(Event<'_>)` is one.
pub trait EventSink {
    /// One event; called in the order events are produced (application
    /// events by capture order, a flow when it ends).
    fn event(&mut self, event: Event<'_>);
}

impl<F: FnMut(Event<'_>)> EventSink for F {
    fn event(&mut self, event: Event<'_>) {
        self(event)
    }
}

/// What every streaming sink keeps: the open flows (each with the sink's
/// own state `T`), the names learnt so far, the run's locations, and the
/// identifier search.
pub(crate) struct Tracker<T> {
    detect: Detection,
    namer: DestinationNamer,
    locator: Locator,
    /// Looked up per event: foldhash with a random seed, not SipHash.
    open: HashMap<FlowId, (FlowInfo, T), foldhash::fast::RandomState>,
    /// The last event's findings.
    found: Vec<Finding>,
    /// Flows and messages that hit a limit, for the capture's notices.
    pub(crate) limits: LimitCounts,
}

impl<T: Default> Tracker<T> {
    pub(crate) fn new(analyzer: &Analyzer) -> Self {
        Tracker {
            detect: Detection::of(analyzer),
            namer: DestinationNamer::bounded(),
            locator: Locator::new(analyzer.geo.clone()),
            open: HashMap::default(),
            found: Vec::new(),
            limits: LimitCounts::default(),
        }
    }

    pub(crate) fn start(&mut self, flow: &FlowInfo, ts: Timestamp) {
        self.open.insert(flow.id, (*flow, T::default()));
        self.namer.start(flow, ts);
    }

    /// Learns the names an event gives and searches it for identifiers;
    /// returns its flow, if open, and the findings.
    pub(crate) fn observe(
        &mut self,
        event: &AppEvent,
    ) -> (Option<&mut (FlowInfo, T)>, &mut Vec<Finding>) {
        let open = self.open.get_mut(&event.flow);
        let server: Option<IpAddr> = open.as_ref().map(|(f, _)| f.server.ip());
        self.namer.observe(event, server);
        self.limits.event(event);
        self.found.clear();
        self.detect.run(event, &mut self.found);
        (open, &mut self.found)
    }

    /// Learns the names a DNS message of a flow it does not hold gives (a
    /// flow of another shard of the capture; `server` is its resolver).
    pub(crate) fn observe_foreign(&mut self, event: &AppEvent, server: Option<IpAddr>) {
        self.namer.observe(event, server);
    }

    /// A flow's record, named and located now that it has ended, and the
    /// sink's state for it; what was kept for naming it is dropped.
    pub(crate) fn end(&mut self, summary: &FlowSummary, app: AppProto) -> (FlowRecord, Option<T>) {
        let info = summary.info;
        self.limits.flow(summary);
        let record = FlowRecord {
            server_name: self.namer.name(&info, summary.first_ts),
            server_location: self.locator.locate(info.server.ip()),
            client_location: self.locator.locate(info.client.ip()),
            summary: summary.clone(),
            app_proto: app,
        };
        self.namer.forget(info.id);
        (record, self.open.remove(&info.id).map(|(_, t)| t))
    }
}

/// The dissectors' sink for a streaming run: names, locates and forwards,
/// holding only what open flows need.
struct Streamer<'s, 'p, E: EventSink> {
    sink: &'s mut E,
    path: &'p Path,
    tracker: Tracker<()>,
}

impl<'s, 'p, E: EventSink> Streamer<'s, 'p, E> {
    fn new(analyzer: &Analyzer, path: &'p Path, sink: &'s mut E) -> Self {
        Streamer {
            sink,
            path,
            tracker: Tracker::new(analyzer),
        }
    }
}

impl<E: EventSink> AppSink for Streamer<'_, '_, E> {
    fn flow_start(&mut self, flow: &FlowInfo, ts: Timestamp) {
        self.tracker.start(flow, ts);
    }

    fn app_event(&mut self, event: AppEvent) {
        let (open, found) = self.tracker.observe(&event);
        let Some(&mut (flow, ())) = open else {
            return;
        };
        let ctx = Context {
            capture: self.path,
            flow,
            ts: event.ts,
            frame: event.frame,
        };
        let typed = match &event.kind {
            AppEventKind::Dns(d) => Some(Event::Dns(ctx, d)),
            AppEventKind::Tls(t) => Some(Event::Tls(ctx, t)),
            AppEventKind::Quic(q) => Some(Event::Quic(ctx, q)),
            AppEventKind::Http(h) => Some(Event::Http(ctx, h)),
            AppEventKind::Dhcp(d) => Some(Event::Dhcp(ctx, d)),
            _ => None,
        };
        if let Some(e) = typed {
            self.sink.event(e);
        }
        for f in found.iter() {
            self.sink.event(Event::Identifier(ctx, f));
        }
    }

    fn flow_end(&mut self, summary: &FlowSummary, app: AppProto) {
        let (record, _) = self.tracker.end(summary, app);
        self.sink.event(Event::Flow(&record));
    }
}

impl Analyzer {
    /// Analyses one capture, handing every event to `sink` as it is
    /// produced instead of collecting a report: memory follows the flows
    /// open at once (and the DNS answers kept to name them), not the size
    /// of the capture. Returns the capture's summary (counters, warnings,
    /// link types; no flows or events: those went to the sink).
    ///
    /// Names are the same as [`analyze`](Self::analyze) gives when capture
    /// order follows time (what DNS says of a flow is fixed when it starts,
    /// from the answers read so far, of which the latest
    /// [`MAX_RESOLUTIONS_PER_ADDRESS`] per address are kept, for the
    /// [`MAX_RESOLVED_ADDRESSES`] addresses answered last; the rest when it
    /// ends);
    /// redaction is not applied (the caller holds the values); the DNS scope
    /// is always the file.
    ///
    /// [`MAX_RESOLUTIONS_PER_ADDRESS`]: telltale_detect::MAX_RESOLUTIONS_PER_ADDRESS
    /// [`MAX_RESOLVED_ADDRESSES`]: telltale_detect::MAX_RESOLVED_ADDRESSES
    ///
    /// ```
    /// use telltale::{Analyzer, Event};
    /// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/redmi-1s-2014.pcap");
    /// let mut names = Vec::new();
    /// let summary = Analyzer::builder()
    ///     .build()
    ///     .stream(path.as_ref(), &mut |e: Event<'_>| {
    ///         if let Event::Flow(f) = e {
    ///             names.extend(f.server_name.name.clone());
    ///         }
    ///     })
    ///     .unwrap();
    /// assert_eq!(summary.packets, 48);
    /// assert!(names.iter().any(|n| n == "api.account.xiaomi.com"));
    /// ```
    pub fn stream(
        &self,
        path: &Path,
        sink: &mut impl EventSink,
    ) -> Result<CaptureReport, DecodeError> {
        let mut warnings: Vec<CaptureWarning> = Vec::new();
        let streamer = Streamer::new(self, path, &mut *sink);
        let (streamer, run) = drive(path, self, streamer, |w| warnings.push(w.clone()))?;
        let limits = streamer.tracker.limits;
        for w in &warnings {
            sink.event(Event::Warning(w));
        }
        Ok(CaptureReport {
            limits,
            ..run.into_report(path, self)
        })
    }
}

/// Packets the caller already has (from a live capture library, another
/// reader, a network tap), analysed as one capture with events streamed to
/// a sink as with [`Analyzer::stream`]. Frames must come in capture order.
///
/// ```
/// use telltale::decode::CaptureReader;
/// use telltale::{Analyzer, Event};
/// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/redmi-1s-2014.pcap");
/// let mut reader = CaptureReader::open(path).unwrap();
/// let mut flows = 0;
/// let analyzer = Analyzer::builder().build();
/// let mut sink = |e: Event<'_>| {
///     if let Event::Flow(_) = e {
///         flows += 1;
///     }
/// };
/// let mut feed = analyzer.feed("live".as_ref(), &mut sink);
/// while let Some(frame) = reader.next_frame().unwrap() {
///     feed.push(&frame);
/// }
/// let packets = feed.finish();
/// assert_eq!(packets, 48);
/// assert_eq!(flows, 11);
/// ```
pub struct PacketFeed<'s, 'p, E: EventSink> {
    /// The stages [`Analyzer::stream`] reads a file through, so a feed and
    /// a stream of the same frames give the same events.
    stages: Stages<Streamer<'s, 'p, E>>,
    packets: u64,
}

impl<E: EventSink> PacketFeed<'_, '_, E> {
    /// Analyses one frame: decoded, put in its flow, dissected; events
    /// reach the sink as they are found.
    pub fn push(&mut self, frame: &Frame<'_>) {
        self.packets += 1;
        self.stages.frame(frame);
    }

    /// Ends every open flow (their records reach the sink) and returns how
    /// many frames were pushed.
    pub fn finish(self) -> u64 {
        let clock = self.stages.clock();
        self.stages.finish_at(clock);
        self.packets
    }
}

impl Analyzer {
    /// Starts analysing packets the caller pushes one at a time (see
    /// [`PacketFeed`]); `name` stands for the capture in events' context.
    pub fn feed<'s, 'p, E: EventSink>(
        &self,
        name: &'p Path,
        sink: &'s mut E,
    ) -> PacketFeed<'s, 'p, E> {
        PacketFeed {
            stages: Stages::new(self, Streamer::new(self, name, sink)),
            packets: 0,
        }
    }
}

/// What an open flow's lines need kept until it ends: its findings (the
/// flow's record lists their kinds), and the events that could not be
/// written as they came.
#[derive(Default)]
pub(crate) struct FlowLines {
    /// Events held for the flow's end: only while its protocol is unknown,
    /// which the dissectors say before its first event, so in practice
    /// none. Holding every event until the end let one endless flow (a
    /// keep-alive connection polled for days) fill memory.
    pub(crate) events: Vec<AppEvent>,
    pub(crate) findings: Vec<Finding>,
    /// The protocol the flow was recognised as, once decided.
    app: Option<AppProto>,
    /// Events written so far: the next one's place among the flow's events.
    written: u64,
    /// Findings written before the flow's end (past [`FINDINGS_HELD`]).
    pub(crate) findings_written: FindingsWritten,
}

/// Findings an open flow holds, at most, before they are written: a flow
/// that leaks on every message for days must not fill memory. Up to this
/// many, every line is the collected report's to the byte and in its
/// order; past it, findings of one packet that straddle a write may come
/// in another order among themselves.
pub(crate) const FINDINGS_HELD: usize = 1024;

/// A line written before its flow ends.
pub(crate) enum Early<'a> {
    /// An event, its flow's endpoints and protocol, and its place among
    /// the flow's events.
    Event {
        flow: &'a FlowInfo,
        app: AppProto,
        index: u64,
        event: &'a AppEvent,
    },
    /// A finding, and its place among the flow's findings.
    Finding {
        flow: &'a FlowInfo,
        app: AppProto,
        index: u64,
        finding: &'a Finding,
    },
}

impl Early<'_> {
    /// Writes the line of capture `name`, handing it to `emit` with its key.
    pub(crate) fn write(
        self,
        name: &str,
        emit: impl FnMut(telltale_report::JsonlKey, &[u8]) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        match self {
            Early::Event {
                flow,
                app,
                index,
                event,
            } => telltale_report::write_event_jsonl_keyed(name, flow, app, index, event, emit),
            Early::Finding {
                flow,
                app,
                index,
                finding,
            } => {
                telltale_report::write_identifier_jsonl_keyed(name, flow, app, index, finding, emit)
            }
        }
    }
}

impl Tracker<FlowLines> {
    /// Notes the protocol an open flow was recognised as.
    pub(crate) fn app(&mut self, flow: FlowId, app: AppProto) {
        if let Some((_, lines)) = self.open.get_mut(&flow) {
            lines.app = Some(app);
        }
    }

    /// Keeps an event's findings with its open flow, for the flow's end.
    /// With `keep_event`, the event itself goes to `write` at once, with
    /// its flow's endpoints and protocol and its place among the flow's
    /// events; it is held for the flow's end only while the protocol is
    /// not known (then every later event of the flow is held too, so the
    /// places stay in order). Past [`FINDINGS_HELD`] findings, those held
    /// go to `write` too, in the collected report's order (by place), and
    /// are counted for the flow's record.
    pub(crate) fn hold(
        &mut self,
        event: AppEvent,
        keep_event: bool,
        mut write: impl FnMut(Early<'_>),
    ) {
        let (open, found) = self.observe(&event);
        let Some((info, lines)) = open else {
            return;
        };
        lines.findings.append(found);
        if !keep_event {
            return;
        }
        if let Some(app) = lines.app
            && lines.findings.len() > FINDINGS_HELD
        {
            lines.findings.sort_by(by_place);
            for finding in lines.findings.drain(..) {
                let index = lines.findings_written.count() as u64;
                write(Early::Finding {
                    flow: info,
                    app,
                    index,
                    finding: &finding,
                });
                lines.findings_written.add(&finding);
            }
        }
        let Some(event) = kept_for_report(event) else {
            return;
        };
        match lines.app {
            Some(app) if lines.events.is_empty() => {
                write(Early::Event {
                    flow: info,
                    app,
                    index: lines.written,
                    event: &event,
                });
                lines.written += 1;
            }
            _ => {
                // Held events are numbered from 0 at the flow's end.
                debug_assert_eq!(lines.written, 0, "a flow's events both written and held");
                lines.events.push(event);
            }
        }
    }

    /// An ended flow's record and what was held for it, its findings in
    /// the collected report's order within a message (by place).
    pub(crate) fn release(
        &mut self,
        summary: &FlowSummary,
        app: AppProto,
    ) -> Option<(FlowRecord, FlowLines)> {
        let (record, lines) = self.end(summary, app);
        let mut lines = lines?;
        debug_assert!(
            lines.app.is_none_or(|a| a == app),
            "a flow's protocol changed"
        );
        lines.findings.sort_by(by_place);
        Some((record, lines))
    }
}

/// The dissectors' sink for [`Analyzer::stream_jsonl`]: writes each event
/// as it comes, and each flow's record and findings when it ends.
struct JsonlStreamer<'o, W: std::io::Write> {
    out: &'o mut W,
    name: String,
    tracker: Tracker<FlowLines>,
    error: Option<std::io::Error>,
}

impl<W: std::io::Write> AppSink for JsonlStreamer<'_, W> {
    fn flow_start(&mut self, flow: &FlowInfo, ts: Timestamp) {
        self.tracker.start(flow, ts);
    }

    fn flow_app(&mut self, flow: FlowId, app: AppProto) {
        self.tracker.app(flow, app);
    }

    fn app_event(&mut self, event: AppEvent) {
        let (out, name, error) = (&mut *self.out, &self.name, &mut self.error);
        self.tracker.hold(event, true, |line| {
            if error.is_none() {
                *error = line.write(name, |_, text| out.write_all(text)).err();
            }
        });
    }

    fn flow_end(&mut self, summary: &FlowSummary, app: AppProto) {
        let Some((record, lines)) = self.tracker.release(summary, app) else {
            return;
        };
        if self.error.is_none() {
            let out = &mut *self.out;
            let written = telltale_report::write_flow_jsonl_keyed_after(
                &self.name,
                &record,
                &lines.events,
                &lines.findings,
                &lines.findings_written,
                |_, line| out.write_all(line),
            );
            self.error = written.err();
        }
    }
}

impl Analyzer {
    /// Analyses one capture and writes it as EVE-shaped JSON Lines while it
    /// is read, with memory that follows the flows open at once, not the
    /// capture's size: the way to read a capture larger than memory.
    ///
    /// Each `dns`/`tls`/`http`/`quic`/`dhcp` record is written as its
    /// message is read; when a flow ends, its `flow` record, then its
    /// `identifier` records by time (the flow's record lists their kinds,
    /// so findings wait for it). Every line is byte for byte the one
    /// [`telltale_report::write_jsonl`] writes for the same capture (when
    /// capture order follows time, as [`stream`](Self::stream) explains for
    /// names); only the order of lines across flows differs. Redaction is
    /// not applied (it masks a value wherever it appears in the whole
    /// report). Returns the capture's summary, or the first write error.
    ///
    /// ```
    /// use telltale::Analyzer;
    /// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/redmi-1s-2014.pcap");
    /// let analyzer = Analyzer::builder().build();
    /// let mut streamed = Vec::new();
    /// analyzer.stream_jsonl(path.as_ref(), &mut streamed)?;
    /// let mut collected = Vec::new();
    /// telltale::report::write_jsonl(&analyzer.analyze([path])?, &mut collected)?;
    /// let mut a: Vec<&[u8]> = streamed.split(|&b| b == b'\n').collect();
    /// let mut b: Vec<&[u8]> = collected.split(|&b| b == b'\n').collect();
    /// a.sort();
    /// b.sort();
    /// assert_eq!(a, b);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn stream_jsonl(
        &self,
        path: &Path,
        out: &mut impl std::io::Write,
    ) -> Result<CaptureReport, crate::Error> {
        let sink = JsonlStreamer {
            out,
            name: path.to_string_lossy().into_owned(),
            tracker: Tracker::new(self),
            error: None,
        };
        let (sink, run) = drive(path, self, sink, |_| {})?;
        if let Some(e) = sink.error {
            return Err(crate::Error::Write(e));
        }
        Ok(CaptureReport {
            limits: sink.tracker.limits,
            ..run.into_report(path, self)
        })
    }
}
