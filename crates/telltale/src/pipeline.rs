//! One capture, start to finish, on one thread.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::path::Path;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use telltale_decode::{
    CaptureReader, CaptureSecrets, CaptureWarning, DecodeError, DecodeStats, Decoder, Frame,
    LinkType, Packet, Timestamp,
};
use telltale_detect::{
    DestinationNamer, Detector, Finding, Resolutions, Scanner, ServerName, findings,
};
use telltale_flow::{
    CaptureClock, CaptureTime, FlowId, FlowInfo, FlowSummary, FlowTable, FlowTableStats,
};
use telltale_geo::Location;
use telltale_proto::{AppEvent, AppEventKind, AppProto, AppSink, DissectStats, Dissectors};
use telltale_report::{CaptureReport, FlowRecord, LimitCounts};

use crate::Analyzer;
use crate::crew::Crew;
use crate::locate::Locator;
use crate::placement::{Balancer, Code, Placements, Placer};
use crate::share::SharedFile;

struct Collect {
    events: Vec<AppEvent>,
    /// Flows as they end, named and located once the capture is read (the
    /// records are filled in place: one allocation per flow, not two).
    flows: Vec<FlowRecord>,
    detect: Detection,
    identifiers: Vec<Finding>,
    /// What the events say about their own flows (SNI, Host,
    /// certificates), learnt as they pass: reading every event again once
    /// the capture was read was the longest step left after a sharded read.
    namer: DestinationNamer,
    /// Where the DNS messages are in `events`, for their answers.
    dns: Vec<usize>,
    limits: LimitCounts,
    /// The run's budget for records, when it has one, and what this part
    /// has kept since it last told it.
    budget: Option<Arc<CollectBudget>>,
    unbilled: u64,
}

/// A collecting run's budget for the records it keeps, shared by every
/// capture and shard of the run: a report's memory follows its events,
/// not its bytes (a capture of DNS traffic keeps six times its size), so
/// a run that outgrows it stops and is streamed instead.
pub(crate) struct CollectBudget {
    limit: u64,
    /// Costs are told in steps of this much (a sixty-fourth of the limit,
    /// at most 1 MiB): the shared counter is touched rarely, and the run
    /// overshoots by at most a step per thread.
    step: u64,
    used: AtomicU64,
    over: AtomicBool,
}

impl CollectBudget {
    pub(crate) fn new(limit: u64) -> Self {
        CollectBudget {
            limit,
            step: (limit / 64).clamp(1, 1 << 20),
            used: AtomicU64::new(0),
            over: AtomicBool::new(false),
        }
    }

    /// Whether the records kept outgrew the budget.
    pub(crate) fn is_over(&self) -> bool {
        self.over.load(Ordering::Relaxed)
    }

    fn charge(&self, bytes: u64) {
        let used = self.used.fetch_add(bytes, Ordering::Relaxed) + bytes;
        if used > self.limit {
            self.over.store(true, Ordering::Relaxed);
        }
    }

    /// What keeping an event costs, roughly: a fixed part, and what grows
    /// with its content, so a hostile message (hundreds of DNS answers,
    /// 64 KiB of HTTP headers, a long certificate chain) counts for what
    /// it holds. Calibrated on a capture of DNS only: a message with one
    /// question and one answer takes about 0.6 KiB in all.
    fn event_cost(event: &AppEvent) -> u64 {
        let len = |s: &str| s.len() as u64;
        match &event.kind {
            AppEventKind::Dns(d) => {
                let m = &d.message;
                let records =
                    m.questions.len() + m.answers.len() + m.authorities.len() + m.additionals.len();
                384 + 128 * records as u64
            }
            AppEventKind::Http(h) => {
                let headers: u64 = h
                    .request_headers
                    .iter()
                    .map(|(k, v)| 48 + len(k) + v.len() as u64)
                    .sum();
                1024 + len(&h.uri) + headers
            }
            AppEventKind::Tls(t) => {
                let certs: u64 = t
                    .certificates
                    .iter()
                    .map(|c| {
                        512 + c
                            .san_dns
                            .iter()
                            .chain(&c.san_ips)
                            .map(|s| 32 + len(s))
                            .sum::<u64>()
                    })
                    .sum();
                1024 + certs
            }
            _ => 1024,
        }
    }

    fn finding_cost(f: &Finding) -> u64 {
        192 + (f.value.len() + f.matched.len() + f.location.len()) as u64
    }

    const FLOW_COST: u64 = 640;
}

impl Collect {
    fn new(detect: Detection, budget: Option<Arc<CollectBudget>>) -> Self {
        Collect {
            events: Vec::new(),
            flows: Vec::new(),
            detect,
            identifiers: Vec::new(),
            namer: DestinationNamer::empty(),
            dns: Vec::new(),
            limits: LimitCounts::default(),
            budget,
            unbilled: 0,
        }
    }

    /// Counts a record's cost against the run's budget; once the budget is
    /// spent, what was kept is dropped (the run is to be streamed).
    fn bill(&mut self, cost: u64) {
        let Some(budget) = &self.budget else { return };
        self.unbilled += cost;
        if self.unbilled >= budget.step {
            budget.charge(std::mem::take(&mut self.unbilled));
        }
        if budget.is_over() {
            self.events = Vec::new();
            self.flows = Vec::new();
            self.identifiers = Vec::new();
            self.dns = Vec::new();
        }
    }

    /// The DNS answers among this part's events; its DNS messages belong
    /// to its own flows, whose servers are the resolvers.
    fn answers(&self) -> Resolutions {
        let infos: Vec<FlowInfo> = self.flows.iter().map(|f| f.summary.info).collect();
        Resolutions::from_dns_events(self.dns.iter().map(|&i| &self.events[i]), &infos)
    }

    /// Readies this part (shard `shard` of `crew`, once its flows have
    /// ended) to be merged with the others: its flows named with the
    /// whole capture's DNS answers (the crew's, gathered) and located, and
    /// its flows, events and findings each put in the capture's order.
    fn finish(mut self, shard: usize, crew: &Crew, locator: &Locator, keep_namer: bool) -> Collect {
        // What is left under a step counts too: a batch of many small
        // captures must not slip under the budget a step at a time.
        if let Some(budget) = &self.budget {
            budget.charge(std::mem::take(&mut self.unbilled));
        }
        let over = self.budget.as_ref().is_some_and(|b| b.is_over());
        // Every shard meets, given up or not, or the others would wait.
        let answers = if over {
            Resolutions::default()
        } else {
            self.answers()
        };
        let Some(all) = crew.gather(shard, answers) else {
            return self;
        };
        // A run that gave up keeps nothing (the budget only ever runs
        // out, so the caller sees it too).
        if over {
            return self;
        }
        let mut resolutions = Resolutions::default();
        for a in all.iter() {
            resolutions.merge(a);
        }
        let namer = std::mem::replace(&mut self.namer, DestinationNamer::empty());
        self.namer = namer.with_answers(resolutions);
        // Most flows share a few addresses: each is looked up once here,
        // and the run's shared cache is not fought over by the shards.
        let mut located: HashMap<IpAddr, Location, foldhash::fast::RandomState> =
            HashMap::default();
        let mut locate = |addr: IpAddr| {
            located
                .entry(addr)
                .or_insert_with(|| locator.locate(addr))
                .clone()
        };
        for f in &mut self.flows {
            let info = &f.summary.info;
            f.server_name = self.namer.name(info, f.summary.first_ts);
            f.server_location = locate(info.server.ip());
            f.client_location = locate(info.client.ip());
        }
        // Its positions would be wrong once the events are put in order.
        self.dns = Vec::new();
        if !keep_namer {
            self.namer = DestinationNamer::empty();
        }
        sort_records(&mut self.flows, |f| f.summary.info.id);
        sort_records(&mut self.events, event_key);
        self.identifiers.sort_by(by_place);
        self
    }
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

/// The event as a report keeps it, once the detectors have seen it: bodies
/// are for the detectors that look at them as they pass, so memory follows
/// the number of events, not the bytes carried; opaque payloads are not
/// reported at all.
pub(crate) fn kept_for_report(mut event: AppEvent) -> Option<AppEvent> {
    match &mut event.kind {
        AppEventKind::Http(h) => {
            h.request_body = None;
            h.response_body = None;
        }
        AppEventKind::Opaque(_) => return None,
        _ => {}
    }
    Some(event)
}

/// The order of a capture's findings: by time and packet, then where in the
/// message they are.
pub(crate) fn by_place(a: &Finding, b: &Finding) -> std::cmp::Ordering {
    (a.ts, a.frame, &a.location, a.offset).cmp(&(b.ts, b.frame, &b.location, b.offset))
}

impl AppSink for Collect {
    fn app_event(&mut self, event: AppEvent) {
        let before = self.identifiers.len();
        self.detect.run(&event, &mut self.identifiers);
        // Findings are kept even when their event is not (opaque payload).
        let found: u64 = self.identifiers[before..]
            .iter()
            .map(CollectBudget::finding_cost)
            .sum();
        let Some(event) = kept_for_report(event) else {
            self.bill(found);
            return;
        };
        self.bill(CollectBudget::event_cost(&event) + found);
        self.limits.event(&event);
        if matches!(event.kind, AppEventKind::Dns(_)) {
            self.dns.push(self.events.len());
        } else {
            self.namer.observe(&event, None);
        }
        self.events.push(event);
    }

    fn flow_end(&mut self, summary: &FlowSummary, app: AppProto) {
        self.limits.flow(summary);
        self.bill(CollectBudget::FLOW_COST);
        let info = summary.info;
        self.flows.push(FlowRecord {
            summary: summary.clone(),
            app_proto: app,
            server_name: ServerName::unnamed(),
            server_location: Location::unlocated(info.server.ip()),
            client_location: Location::unlocated(info.client.ip()),
        });
    }
}

/// Analyses one capture with `analyzer`'s settings: decode, flows,
/// dissectors, destination naming. `Err` only when the file cannot be opened
/// or is not a capture; damage inside it becomes warnings in the result.
pub fn analyze_capture(path: &Path, analyzer: &Analyzer) -> Result<CaptureReport, DecodeError> {
    let locator = Locator::new(analyzer.geo.clone());
    analyze_capture_named(path, analyzer, &locator, 1, None).map(|(c, _)| c)
}

/// As [`analyze_capture`], keeping the namer so a batch can name flows again
/// with the DNS answers of every capture.
pub(crate) fn analyze_capture_named(
    path: &Path,
    analyzer: &Analyzer,
    locator: &Locator,
    shards: usize,
    budget: Option<&Arc<CollectBudget>>,
) -> Result<(CaptureReport, DestinationNamer), DecodeError> {
    let collect = || Collect::new(Detection::of(analyzer), budget.cloned());
    let stop = budget.map(|b| &b.over);
    // Only a batch that shares DNS answers across captures names flows
    // again; otherwise each shard drops its namer itself.
    let keep_namer = analyzer.dns_scope == crate::DnsScope::Batch;
    let finish = |shard, part: Collect, crew: &Crew| part.finish(shard, crew, locator, keep_namer);
    let (parts, run) = if shards > 1 {
        drive_sharded(path, analyzer, shards, collect, false, stop, finish)?
    } else {
        let (part, run) = drive_until(path, analyzer, collect(), |_| {}, stop)?;
        (vec![finish(0, part, &Crew::new(1))], run)
    };
    if budget.is_some_and(|b| b.is_over()) {
        // The run is to be streamed: nothing of this capture is kept, so
        // it is neither put in order nor hashed.
        let report = run.into_report_hashed(path, false);
        return Ok((report, DestinationNamer::empty()));
    }
    // Each part is in order and named (`Collect::finish`); one pipeline's
    // order is theirs merged, the earlier shard first on a tie, as a
    // stable sort of the parts one after the other would give.
    let mut namer: Option<DestinationNamer> = None;
    let mut limits = LimitCounts::default();
    let (mut flows, mut events, mut identifiers) = (Vec::new(), Vec::new(), Vec::new());
    for p in parts {
        // Every part holds the whole capture's answers: one copy is kept.
        match &mut namer {
            None => namer = Some(p.namer),
            Some(n) => n.absorb(p.namer.with_answers(Resolutions::default())),
        }
        limits.add(&p.limits);
        flows.push(p.flows);
        events.push(p.events);
        identifiers.push(p.identifiers);
    }
    let (flows, (events, identifiers)) = rayon::join(
        || merge_sorted(flows, |a, b| a.summary.info.id.cmp(&b.summary.info.id)),
        || {
            rayon::join(
                || merge_sorted(events, |a, b| event_key(a).cmp(&event_key(b))),
                || merge_sorted(identifiers, by_place),
            )
        },
    );
    let report = CaptureReport {
        limits,
        flows,
        events,
        identifiers,
        ..run.into_report(path, analyzer)
    };
    Ok((report, namer.unwrap_or_else(DestinationNamer::empty)))
}

/// The order of a capture's events: by time and packet, then flow.
fn event_key(e: &AppEvent) -> (Timestamp, u64, FlowId) {
    (e.ts, e.frame, e.flow)
}

/// Merges vectors each in `order` into one: on a tie the earlier vector's
/// item comes first, so the result is what a stable sort of the vectors
/// one after the other gives. The vectors are joined onto the first (each
/// freed as it is moved), then put in order in place: a merge into a new
/// vector held every record twice at its peak.
fn merge_sorted<T>(parts: Vec<Vec<T>>, order: impl Fn(&T, &T) -> std::cmp::Ordering) -> Vec<T> {
    let mut parts = parts.into_iter();
    let mut all = parts.next().unwrap_or_default();
    let rest: Vec<Vec<T>> = parts.collect();
    if rest.is_empty() {
        return all;
    }
    all.reserve(rest.iter().map(Vec::len).sum());
    let mut heads: Vec<std::ops::Range<usize>> = Vec::with_capacity(rest.len() + 1);
    heads.push(0..all.len());
    for p in rest {
        let start = all.len();
        all.extend(p);
        heads.push(start..all.len());
    }
    // A capture is split across a few threads: a scan of the heads is
    // cheaper than a heap.
    let mut merged = Vec::with_capacity(all.len());
    loop {
        let mut best: Option<usize> = None;
        for (i, head) in heads.iter().enumerate() {
            if head.is_empty() {
                continue;
            }
            let better = match best {
                None => true,
                Some(b) => order(&all[head.start], &all[heads[b].start]).is_lt(),
            };
            if better {
                best = Some(i);
            }
        }
        let Some(b) = best else { break };
        merged.push(heads[b].start);
        heads[b].start += 1;
    }
    apply_order(&mut all, merged);
    all
}

/// Sorts `items` stably by `key`: the keys and positions are sorted, then
/// the items put in that order in place, each settled by one swap. Flow
/// records and events are a few hundred bytes each, and a merge sort moved
/// them once per level (a tenth of the copying in an analysis).
fn sort_records<T, K: Ord>(items: &mut [T], key: impl Fn(&T) -> K) {
    if items.is_sorted_by_key(&key) {
        return;
    }
    // Positions make every key distinct, so an unstable sort is stable.
    let mut order: Vec<(K, usize)> = items.iter().enumerate().map(|(i, t)| (key(t), i)).collect();
    order.sort_unstable();
    apply_order(items, order.into_iter().map(|(_, i)| i).collect());
}

/// Puts `items` in `order` (the position of the item for each place), in
/// place, one cycle of the permutation at a time: a second vector of
/// records was tens of megabytes of fresh pages on a large capture.
fn apply_order<T>(items: &mut [T], mut order: Vec<usize>) {
    for start in 0..order.len() {
        // Place `at` takes the item at `order[at]`; a settled place points
        // at itself.
        let mut at = start;
        while order[at] != start {
            let from = order[at];
            items.swap(at, from);
            order[at] = at;
            at = from;
        }
        order[at] = at;
    }
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
    dissect: DissectStats,
}

impl CaptureRun {
    /// A capture report with no flows, events or identifiers yet.
    pub(crate) fn into_report(self, path: &Path, analyzer: &Analyzer) -> CaptureReport {
        self.into_report_hashed(path, analyzer.hash_inputs)
    }

    fn into_report_hashed(self, path: &Path, hash: bool) -> CaptureReport {
        CaptureReport {
            path: path.to_path_buf(),
            format: self.format,
            gzip: self.gzip,
            sha256: if hash { sha256_file(path) } else { None },
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
            dissect: self.dissect,
            flows: Vec::new(),
            events: Vec::new(),
            identifiers: Vec::new(),
            limits: LimitCounts::default(),
        }
    }
}

/// Decode, flows and dissectors for one sequence of frames: a whole
/// capture, or one shard of it.
pub(crate) struct Stages<S: AppSink> {
    decoder: Decoder,
    table: FlowTable,
    dissectors: Dissectors<S>,
    /// The capture's clock, fed every frame when these stages take the
    /// whole capture ([`FrameConsumer::frame`]); a shard is told the time
    /// by the placement instead ([`Stages::frame_at`]).
    clock: CaptureClock,
}

impl<S: AppSink> Stages<S> {
    pub(crate) fn new(analyzer: &Analyzer, sink: S) -> Self {
        Stages::shard(analyzer, sink, 1)
    }

    /// One of `shards` pipelines of one capture: the table-wide limits
    /// (flows held, out-of-order bytes) are shared out, so splitting a
    /// capture does not multiply its memory. Fragments never reach a
    /// shard's own decoder (each shard puts every datagram together in a
    /// spare decoder with the capture's limits: `ShardFilter::spare`, and
    /// the same in `routed`).
    pub(crate) fn shard(analyzer: &Analyzer, sink: S, shards: usize) -> Self {
        let mut dissectors = Dissectors::with_keys(sink, analyzer.keys.clone());
        dissectors.set_body_limits(analyzer.body_limits);
        let n = shards.max(1);
        let mut flows = analyzer.flows;
        flows.max_flows = (flows.max_flows / n).max(1);
        flows.max_buffered_total = (flows.max_buffered_total / n).max(1 << 20);
        Stages {
            decoder: Decoder::new(analyzer.decoder),
            table: FlowTable::new(flows),
            dissectors,
            clock: CaptureClock::default(),
        }
    }

    pub(crate) fn clock(&self) -> Timestamp {
        self.table.clock()
    }

    /// One frame, the capture's clock reading `at` once it saw it.
    #[inline(always)]
    pub(crate) fn frame_at(&mut self, frame: &Frame<'_>, at: CaptureTime) {
        if let Some(packet) = self.decoder.decode(frame) {
            self.table.push_at(&packet, at, &mut self.dissectors);
        }
    }

    /// A packet decoded elsewhere (a shard's spare decoder), at `at`.
    pub(crate) fn packet_at(&mut self, packet: &Packet<'_>, at: CaptureTime) {
        self.table.push_at(packet, at, &mut self.dissectors);
    }

    /// Ends every flow as of `clock` (the capture's last time) and hands
    /// back the sink with the stages' counters.
    pub(crate) fn finish_at(mut self, clock: Timestamp) -> (S, StageStats) {
        self.table.finish_at(clock, &mut self.dissectors);
        let mut flow_table = self.table.stats();
        flow_table.time_jumps += self.clock.jumps();
        let stats = StageStats {
            decode: self.decoder.stats(),
            flow_table,
            dissect: self.dissectors.stats(),
        };
        (self.dissectors.into_sink(), stats)
    }
}

/// What the stages of one pipeline counted.
#[derive(Default)]
pub(crate) struct StageStats {
    decode: DecodeStats,
    flow_table: FlowTableStats,
    dissect: DissectStats,
}

impl StageStats {
    fn merge(&mut self, o: &StageStats) {
        self.decode.merge(&o.decode);
        self.flow_table.merge(&o.flow_table);
        self.dissect.merge(&o.dissect);
    }
}

/// Where a capture's frames go as it is read.
pub(crate) trait FrameConsumer {
    /// Takes a frame; `true` if it is counted here (packets, link types,
    /// time span): a shard of a split file counts only the frames it
    /// takes, the shards' counts are summed.
    fn frame(&mut self, frame: &Frame<'_>) -> bool;
    /// Decryption secrets met in the capture: for the flows after them.
    fn secrets(&mut self, secrets: &[CaptureSecrets]);
    /// Between runs of frames, before the reader may wait for anything;
    /// `next` is the number of the next frame.
    fn pause(&mut self, _next: u64) {}
    /// Before the reader hands over the frames it has buffered (at most
    /// `max`): a look at them first ([`CaptureReader::peek_buffered`]).
    fn ahead(&mut self, _reader: &mut CaptureReader, _max: usize) {}
}

/// A sink that can run in a shard: told of the DNS messages of the other
/// shards' flows when it names flows as they go (a collecting sink names
/// them once every shard is done, and ignores these).
pub(crate) trait ShardSink: AppSink {
    /// A DNS message of another shard's flow, in capture order among this
    /// shard's own events; `server` is its flow's server (the resolver).
    fn foreign_dns(&mut self, _event: &AppEvent, _server: Option<IpAddr>) {}
}

impl ShardSink for Collect {}

impl<S: AppSink> FrameConsumer for Stages<S> {
    fn frame(&mut self, frame: &Frame<'_>) -> bool {
        // Every frame moves the clock, decoded or not: so does the
        // placement of a split run, which sees frames, not packets.
        self.clock.observe(frame.ts);
        let at = self.clock.time();
        self.frame_at(frame, at);
        true
    }

    fn secrets(&mut self, secrets: &[CaptureSecrets]) {
        self.dissectors.add_capture_secrets(secrets);
    }
}

/// What reading a capture file found, before any stage counters.
struct ReadRun {
    format: telltale_decode::CaptureFormat,
    gzip: bool,
    packets: u64,
    bytes: u64,
    span: Option<(Timestamp, Timestamp)>,
    link_types: BTreeMap<LinkType, u64>,
    warnings: Vec<CaptureWarning>,
}

impl ReadRun {
    /// Adds the frames another shard of the file counted.
    fn count(&mut self, other: ReadRun) {
        self.packets += other.packets;
        for (link, n) in other.link_types {
            *self.link_types.entry(link).or_insert(0) += n;
        }
        self.span = match (self.span, other.span) {
            (Some((a, b)), Some((c, d))) => Some((a.min(c), b.max(d))),
            (a, b) => a.or(b),
        };
    }

    fn with_stats(self, stats: StageStats) -> CaptureRun {
        let StageStats {
            decode,
            flow_table,
            dissect,
        } = stats;
        CaptureRun {
            dissect,
            format: self.format,
            gzip: self.gzip,
            packets: self.packets,
            bytes: self.bytes,
            span: self.span,
            link_types: self.link_types,
            warnings: self.warnings,
            decode,
            flow_table,
        }
    }
}

/// Reads a capture file into `consumer`; `on_warning` hears of each damage
/// warning as the reader finds it.
fn read_capture(
    path: &Path,
    consumer: &mut impl FrameConsumer,
    on_warning: impl FnMut(&CaptureWarning),
    stop: Option<&AtomicBool>,
) -> Result<ReadRun, DecodeError> {
    read_frames(CaptureReader::open(path)?, consumer, on_warning, stop)
}

/// [`read_capture`] from a reader already opened.
fn read_frames(
    reader: CaptureReader,
    consumer: &mut impl FrameConsumer,
    on_warning: impl FnMut(&CaptureWarning),
    stop: Option<&AtomicBool>,
) -> Result<ReadRun, DecodeError> {
    read_frames_skipping(reader, consumer, |_| None, on_warning, stop)
}

/// [`read_frames`], stepping over the buffered frames `skip` gives the
/// length of ([`CaptureReader::for_each_buffered_skipping`]): the
/// consumer neither sees nor counts them.
fn read_frames_skipping(
    mut reader: CaptureReader,
    consumer: &mut impl FrameConsumer,
    mut skip: impl FnMut(u64) -> Option<usize>,
    mut on_warning: impl FnMut(&CaptureWarning),
    stop: Option<&AtomicBool>,
) -> Result<ReadRun, DecodeError> {
    let mut secrets_seen = 0;
    let mut warnings_seen = 0;
    let mut link_types = BTreeMap::new();
    let mut run = (LinkType::UNKNOWN, 0u64);
    let mut packets = 0u64;
    // Frames read, counted or not: the cadence of looks at `stop`.
    let mut seen = 0u64;
    let mut span = None;
    loop {
        // Here, and so before the reader may read or wait: after a run of
        // frames, or a single one.
        consumer.pause(reader.next_number());
        // Secrets found in the capture serve the flows that start after them
        // (a Decryption Secrets Block precedes the packets it is for).
        if reader.secrets().len() > secrets_seen {
            consumer.secrets(&reader.secrets()[secrets_seen..]);
            secrets_seen = reader.secrets().len();
        }
        if reader.warnings().len() > warnings_seen {
            for w in &reader.warnings()[warnings_seen..] {
                on_warning(w);
            }
            warnings_seen = reader.warnings().len();
        }
        // Looked at now and then: a run that gave up (its records outgrew
        // the collecting budget) need not read the rest.
        if seen.is_multiple_of(4096) && stop.is_some_and(|s| s.load(Ordering::Relaxed)) {
            break;
        }
        let before = 4096 - (seen % 4096) as usize;
        consumer.ahead(&mut reader, before);
        let mut take = |frame: &Frame<'_>| {
            if !consumer.frame(frame) {
                return;
            }
            packets += 1;
            // Counted in runs: a capture's frames nearly all share a link
            // type, and a map lookup per frame showed in the profile.
            if frame.link == run.0 {
                run.1 += 1;
            } else {
                if run.1 > 0 {
                    *link_types.entry(run.0).or_insert(0u64) += run.1;
                }
                run = (frame.link, 1);
            }
            span = Some(match span {
                None => (frame.ts, frame.ts),
                Some((lo, hi)) => (frame.ts.min(lo), frame.ts.max(hi)),
            });
        };
        // The frames already read in whole, in one call (up to the next
        // look at `stop`); then one at a time, through whatever the reader
        // must read, warn about or skip first.
        let n = reader.for_each_buffered_skipping(before, &mut skip, &mut take);
        if n > 0 {
            seen += n as u64;
            continue;
        }
        let Some(frame) = reader.next_frame()? else {
            break;
        };
        seen += 1;
        take(&frame);
    }
    for w in &reader.warnings()[warnings_seen..] {
        on_warning(w);
    }
    if run.1 > 0 {
        *link_types.entry(run.0).or_insert(0u64) += run.1;
    }
    Ok(ReadRun {
        format: reader.format(),
        gzip: reader.is_gzip(),
        packets,
        bytes: reader.bytes_read(),
        span,
        link_types,
        warnings: reader.warnings().to_vec(),
    })
}

/// Reads one capture through decode, flows and dissectors into `sink`;
/// `on_warning` hears of each damage warning as the reader finds it.
pub(crate) fn drive<S: AppSink>(
    path: &Path,
    analyzer: &Analyzer,
    sink: S,
    on_warning: impl FnMut(&CaptureWarning),
) -> Result<(S, CaptureRun), DecodeError> {
    drive_until(path, analyzer, sink, on_warning, None)
}

/// As [`drive`], reading no further once `stop` is set.
fn drive_until<S: AppSink>(
    path: &Path,
    analyzer: &Analyzer,
    sink: S,
    on_warning: impl FnMut(&CaptureWarning),
    stop: Option<&AtomicBool>,
) -> Result<(S, CaptureRun), DecodeError> {
    let mut stages = Stages::new(analyzer, sink);
    let read = read_capture(path, &mut stages, on_warning, stop)?;
    let clock = stages.clock();
    let (sink, stats) = stages.finish_at(clock);
    Ok((sink, read.with_stats(stats)))
}

/// Frames copied out of the reader for one shard, sent as one message so a
/// channel is crossed once per few hundred frames, not per frame.
#[derive(Default)]
struct Batch {
    data: Vec<u8>,
    frames: Vec<BatchFrame>,
}

/// A frame's fields in a [`Batch`], where its bytes are, and how the shard
/// takes it.
struct BatchFrame {
    index: u64,
    ts: Timestamp,
    link: LinkType,
    interface: u32,
    orig_len: u32,
    start: usize,
    len: usize,
    take: Take,
    /// The capture's clock once it saw the frame ([`Balancer::time`]).
    at: CaptureTime,
}

/// How a shard takes a frame the reader sent it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Take {
    /// A whole packet of one of its pairs: through its pipeline.
    Own,
    /// A frame sent to every shard, for its spare decoder (see
    /// `ShardFilter::spare`); `true` when the packet it gives, if any, is
    /// of one of this shard's pairs.
    Spare(bool),
}

impl Batch {
    const FRAMES: usize = 512;

    fn push(&mut self, f: &Frame<'_>, take: Take, at: CaptureTime) {
        let start = self.data.len();
        self.data.extend_from_slice(f.data);
        self.frames.push(BatchFrame {
            index: f.index,
            ts: f.ts,
            link: f.link,
            interface: f.interface,
            orig_len: f.orig_len,
            start,
            len: f.data.len(),
            take,
            at,
        });
    }

    /// Hands each frame to `to` with how it is taken and the time.
    fn replay(&self, mut to: impl FnMut(&Frame<'_>, Take, CaptureTime)) {
        for f in &self.frames {
            let frame = Frame {
                index: f.index,
                ts: f.ts,
                link: f.link,
                interface: f.interface,
                data: &self.data[f.start..f.start + f.len],
                orig_len: f.orig_len,
            };
            to(&frame, f.take, f.at);
        }
    }
}

enum ShardMsg {
    Frames(Batch),
    Secrets(Vec<CaptureSecrets>),
}

/// The reader's side of a sharded run: routes each frame to the shard of
/// its IP address pair ([`Balancer`]), and a frame that must be decoded
/// first (a fragment, above all) to every shard.
struct Router {
    senders: Vec<std::sync::mpsc::SyncSender<ShardMsg>>,
    batches: Vec<Batch>,
    balancer: Balancer,
}

impl Router {
    fn send(&mut self, shard: usize) {
        let batch = std::mem::take(&mut self.batches[shard]);
        // A worker that stopped (it panicked) is reported when joined.
        let _ = self.senders[shard].send(ShardMsg::Frames(batch));
    }

    fn flush(&mut self) {
        for shard in 0..self.batches.len() {
            if !self.batches[shard].frames.is_empty() {
                self.send(shard);
            }
        }
    }
}

impl FrameConsumer for Router {
    fn frame(&mut self, frame: &Frame<'_>) -> bool {
        let code = Code::of(frame, &mut self.balancer);
        let now = self.balancer.time();
        if code.decode_first() {
            for shard in 0..self.batches.len() {
                self.batches[shard].push(frame, Take::Spare(code.shard() == Some(shard)), now);
                if self.batches[shard].frames.len() >= Batch::FRAMES {
                    self.send(shard);
                }
            }
            return true;
        }
        let shard = code.shard().expect("a whole packet has its pair's shard");
        self.batches[shard].push(frame, Take::Own, now);
        if self.batches[shard].frames.len() >= Batch::FRAMES {
            self.send(shard);
        }
        true
    }

    fn secrets(&mut self, secrets: &[CaptureSecrets]) {
        // Frames before the secrets must reach each shard before them.
        self.flush();
        for tx in &self.senders {
            let _ = tx.send(ShardMsg::Secrets(secrets.to_vec()));
        }
    }
}

/// Passes on only the frames of one shard's pairs: for a shard that reads
/// the whole capture itself.
struct ShardFilter<'a, 'p, S: AppSink> {
    shard: usize,
    placer: Placer<'p>,
    inner: &'a mut Stages<S>,
    /// Frames to be decoded before their transport is known
    /// ([`Code::decode_first`]): fragments, above all. Every shard decodes
    /// them all, as one pipeline's decoder would, so datagrams are put
    /// together within the capture's own limits whatever the thread count
    /// (one pool per shard, each with a share of the limits, gave other
    /// counts past them); each keeps the packets of its own pairs. Only
    /// shard 0 keeps this decoder's counters.
    spare: Decoder,
    /// The other shards' DNS flows, for a sink that names flows as it goes.
    watch: Option<DnsWatch>,
}

impl<S: ShardSink> FrameConsumer for ShardFilter<'_, '_, S> {
    #[inline(always)]
    fn frame(&mut self, frame: &Frame<'_>) -> bool {
        let code = self.placer.code(frame);
        // The clock's reading is read only for a frame this shard decodes.
        let at = || self.placer.time(frame.index);
        if !code.decode_first() {
            if code.shard() == Some(self.shard) {
                self.inner.frame_at(frame, at());
                return true;
            }
            if code.dns()
                && let Some(watch) = &mut self.watch
            {
                watch.frame(frame, at(), self.inner.dissectors.sink_mut());
            }
            return false;
        }
        let now = at();
        // Every shard decodes it; shard 0 counts it.
        let counted = self.shard == 0;
        // Placed by the frame's own addresses (a fragment has its
        // datagram's), as the reader of a routed capture does.
        let Some(packet) = self.spare.decode(frame) else {
            return counted;
        };
        let st = &mut *self.inner;
        if code.shard() == Some(self.shard) {
            st.packet_at(&packet, now);
        } else if let Some(watch) = &mut self.watch {
            watch.packet(&packet, now, st.dissectors.sink_mut());
        }
        counted
    }

    fn secrets(&mut self, secrets: &[CaptureSecrets]) {
        self.inner.secrets(secrets);
    }

    fn pause(&mut self, next: u64) {
        self.placer.pause(next);
    }

    fn ahead(&mut self, reader: &mut CaptureReader, max: usize) {
        let placer = &mut self.placer;
        let mut taken = None;
        reader.peek_buffered(max, |frame| {
            let mine = *taken.get_or_insert_with(|| placer.take_run(frame.index));
            if mine {
                placer.place_ahead(frame);
            }
            mine
        });
        if taken == Some(true) {
            placer.end_run();
        }
    }
}

/// How many shards each of `files` captures is split into on `threads`
/// threads: the threads beyond one per file, up to what a placement can
/// name ([`Code::MAX_SHARDS`]).
pub(crate) fn shards_per_file(threads: usize, files: usize) -> usize {
    (threads / files.max(1)).clamp(1, Code::MAX_SHARDS)
}

/// Analyses one capture on `shards` worker threads, each a whole pipeline
/// for the flows routed to it (by IP address pair, [`Balancer`]; what must
/// be decoded first, fragments above all, by every shard, each keeping its
/// own pairs' packets: `ShardFilter::spare`); returns what `finish` made of each shard's
/// sink (in shard order) and the capture's counters, summed.
///
/// A plain file is framed by every shard itself, each keeping its own
/// frames: framing costs a few percent of the analysis, less than one
/// thread framing for all and copying every frame across, and nothing is
/// left serial. The file's bytes are read once, into chunks every shard
/// frames in place ([`SharedFile`]), and each frame is placed once, by
/// whichever shard reaches it first, for all ([`Placements`]); a shard
/// steps over the frames of the others' pairs unread where the placement
/// says how long they are. Gzip and
/// standard input are read once, on this thread, and routed to the
/// shards in batches.
///
/// The shards end their flows together, at the capture's last time, and
/// `finish` then runs on each shard's thread with the shard's number and
/// the [`Crew`] of shards, to meet again if it needs what the others found.
///
/// With `watch_dns`, each shard also follows the other shards' DNS flows
/// (port 53) in a pipeline of its own, whose counters are dropped, and
/// hands their messages to its sink in capture order
/// ([`ShardSink::foreign_dns`]): what a sink that names flows as they go
/// needs to name them as one pipeline would. Only for plain files.
pub(crate) fn drive_sharded<S: ShardSink + Send, T: Send>(
    path: &Path,
    analyzer: &Analyzer,
    shards: usize,
    make_sink: impl Fn() -> S + Sync,
    watch_dns: bool,
    stop: Option<&AtomicBool>,
    finish: impl Fn(usize, S, &Crew) -> T + Sync,
) -> Result<(Vec<T>, CaptureRun), DecodeError> {
    let plain = crate::inputs::is_plain_file(path);
    debug_assert!(plain || !watch_dns, "DNS watching needs a plain file");
    let crew = Crew::new(shards);
    // Time jumps are counted by the one clock that saw every frame, the
    // placement's: the shards' tables are told the time.
    let (done, read, time_jumps) = if plain {
        let placements = Placements::new(shards, Balancer::KEY);
        let inputs = SharedFile::open(path, shards).map_err(|source| DecodeError::Io {
            path: path.to_owned(),
            source,
        })?;
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..shards)
                .zip(inputs)
                .map(|(shard, input)| {
                    let (make_sink, finish, crew) = (&make_sink, &finish, &crew);
                    let placements = &placements;
                    scope.spawn(move || {
                        let _here = crew.member();
                        let mut stages = Stages::shard(analyzer, make_sink(), shards);
                        let mut filter = ShardFilter {
                            shard,
                            placer: placements.placer(shard),
                            inner: &mut stages,
                            spare: Decoder::new(analyzer.decoder),
                            watch: watch_dns.then(|| DnsWatch::new(analyzer, shards)),
                        };
                        // Frames another shard placed elsewhere are
                        // stepped over unread (unless this shard follows
                        // the other shards' DNS).
                        let mut skipper = placements.skipper(shard, watch_dns);
                        let skip = |i| skipper.skip(i);
                        let read =
                            CaptureReader::from_chunks(path, Box::new(input)).and_then(|reader| {
                                read_frames_skipping(reader, &mut filter, skip, |_| {}, stop)
                            });
                        #[cfg(test)]
                        tests::STEPPED.fetch_add(skipper.stepped, Ordering::Relaxed);
                        // Done with the placements: the other shards
                        // need not wait for this one to read codes.
                        let ShardFilter { spare, placer, .. } = filter;
                        drop(placer);
                        let (sink, stats) = finish_shard(shard, stages, &spare, crew);
                        ((finish(shard, sink, crew), stats), read)
                    })
                })
                .collect();
            let mut done = Vec::with_capacity(shards);
            let mut reads = Vec::with_capacity(shards);
            for w in workers {
                let (d, read) = w.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
                done.push(d);
                reads.push(read);
            }
            // Every shard read the same file: the first one's account of
            // it (bytes, warnings; or its failure) is the capture's, with
            // the frames every shard counted of its own.
            let mut reads = reads.into_iter();
            let mut read = reads.next().expect("at least one shard")?;
            for other in reads {
                read.count(other?);
            }
            Ok::<_, DecodeError>((done, read))
        })
        .map(|(done, read)| (done, read, placements.time_jumps()))?
    } else {
        routed(path, analyzer, shards, &make_sink, stop, &crew, &finish)?
    };
    let mut outs = Vec::with_capacity(shards);
    let mut stats = StageStats::default();
    for (out, s) in done {
        stats.merge(&s);
        outs.push(out);
    }
    stats.flow_table.time_jumps += time_jumps;
    Ok((outs, read.with_stats(stats)))
}

/// Ends a shard's flows as of the capture's last time (the latest of every
/// shard's clock), as one pipeline would at the end of the capture. Every
/// shard decoded the frames placed by decoding in its `spare` decoder:
/// shard 0's counts them.
fn finish_shard<S: AppSink>(
    shard: usize,
    stages: Stages<S>,
    spare: &Decoder,
    crew: &Crew,
) -> (S, StageStats) {
    let own = stages.clock();
    // Only when the crew broke (another shard panicked) is `own` used:
    // the run's results are then thrown away.
    let clock = crew
        .gather(shard, own)
        .and_then(|all| all.iter().copied().max())
        .unwrap_or(own);
    let (sink, mut stats) = stages.finish_at(clock);
    if shard == 0 {
        stats.decode.merge(&spare.stats());
    }
    (sink, stats)
}

/// A shard's pipeline for the other shards' DNS flows: frames to or from
/// port 53 only, through a decoder, flow table and dissectors of its own,
/// so their messages (with the flow's server, the resolver) come out as
/// the one-pipeline run gives them.
struct DnsWatch {
    stages: Stages<DnsMessages>,
}

impl DnsWatch {
    fn new(analyzer: &Analyzer, shards: usize) -> Self {
        DnsWatch {
            stages: Stages::shard(analyzer, DnsMessages::default(), shards),
        }
    }

    /// Follows one frame of another shard's DNS flow, whole in its frame
    /// ([`telltale_decode::PairPlace::Whole`]); the DNS messages it completes go to `sink`
    /// at once, so they reach it in capture order.
    fn frame(&mut self, frame: &Frame<'_>, now: CaptureTime, sink: &mut impl ShardSink) {
        let st = &mut self.stages;
        if let Some(packet) = st.decoder.decode(frame) {
            Self::follow(&mut st.table, &mut st.dissectors, &packet, now, sink);
        }
    }

    /// As [`frame`](Self::frame), for a packet of another shard's flow
    /// decoded by this shard's spare decoder (a reassembled fragment
    /// among them): only DNS is followed.
    fn packet(&mut self, packet: &Packet<'_>, now: CaptureTime, sink: &mut impl ShardSink) {
        if packet.transport.src_port() == 53 || packet.transport.dst_port() == 53 {
            let st = &mut self.stages;
            Self::follow(&mut st.table, &mut st.dissectors, packet, now, sink);
        }
    }

    fn follow(
        table: &mut FlowTable,
        dissectors: &mut Dissectors<DnsMessages>,
        packet: &Packet<'_>,
        now: CaptureTime,
        sink: &mut impl ShardSink,
    ) {
        table.push_at(packet, now, dissectors);
        for (event, server) in dissectors.sink_mut().messages.drain(..) {
            sink.foreign_dns(&event, server);
        }
    }
}

/// What a [`DnsWatch`] found, until its shard takes it.
#[derive(Default)]
struct DnsMessages {
    /// The open flows' servers.
    servers: HashMap<FlowId, IpAddr, foldhash::fast::RandomState>,
    messages: Vec<(AppEvent, Option<IpAddr>)>,
}

impl AppSink for DnsMessages {
    fn flow_start(&mut self, flow: &FlowInfo, _ts: Timestamp) {
        self.servers.insert(flow.id, flow.server.ip());
    }

    fn app_event(&mut self, event: AppEvent) {
        if matches!(event.kind, AppEventKind::Dns(_)) {
            let server = self.servers.get(&event.flow).copied();
            self.messages.push((event, server));
        }
    }

    fn flow_end(&mut self, summary: &FlowSummary, _app: AppProto) {
        self.servers.remove(&summary.info.id);
    }
}

/// What each shard of a split capture made, with its counters; what reading
/// the capture found; and the frames dated ahead that the capture's clock
/// did not believe (counted where every frame is seen: the placement).
type ShardsRead<T> = (Vec<(T, StageStats)>, ReadRun, u64);

/// Reads a capture once, on this thread, routing its frames to `shards`
/// workers over bounded channels.
fn routed<S: AppSink + Send, T: Send>(
    path: &Path,
    analyzer: &Analyzer,
    shards: usize,
    make_sink: &(impl Fn() -> S + Sync),
    stop: Option<&AtomicBool>,
    crew: &Crew,
    finish: &(impl Fn(usize, S, &Crew) -> T + Sync),
) -> Result<ShardsRead<T>, DecodeError> {
    std::thread::scope(|scope| {
        let mut senders = Vec::with_capacity(shards);
        let mut workers = Vec::with_capacity(shards);
        for shard in 0..shards {
            // A few batches in flight per shard: the reader stays ahead
            // without holding the capture in memory.
            let (tx, rx) = std::sync::mpsc::sync_channel::<ShardMsg>(4);
            senders.push(tx);
            workers.push(scope.spawn(move || {
                let _here = crew.member();
                let mut stages = Stages::shard(analyzer, make_sink(), shards);
                let mut spare = Decoder::new(analyzer.decoder);
                for msg in rx {
                    match msg {
                        ShardMsg::Frames(batch) => batch.replay(|frame, take, now| match take {
                            Take::Own => stages.frame_at(frame, now),
                            Take::Spare(mine) => {
                                if let Some(packet) = spare.decode(frame)
                                    && mine
                                {
                                    stages.packet_at(&packet, now);
                                }
                            }
                        }),
                        ShardMsg::Secrets(s) => stages.secrets(&s),
                    }
                }
                let (sink, stats) = finish_shard(shard, stages, &spare, crew);
                (finish(shard, sink, crew), stats)
            }));
        }
        let mut router = Router {
            senders,
            batches: (0..shards).map(|_| Batch::default()).collect(),
            balancer: Balancer::new(shards, Balancer::KEY),
        };
        let read = read_capture(path, &mut router, |_| {}, stop);
        router.flush();
        let time_jumps = router.balancer.time_jumps();
        drop(router);
        let done: Vec<(T, StageStats)> = workers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect();
        Ok((done, read?, time_jumps))
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Frames the shards of split runs stepped over unread, over every
    /// test of this crate (only split runs of plain files add to it).
    pub(super) static STEPPED: AtomicU64 = AtomicU64::new(0);

    /// The placement tells the shards of a split file how long the other
    /// shards' frames are, so that they step over them unread: a run
    /// whose shards read every frame gives the same output, only slower,
    /// so no output test would notice it stopped doing so. 20,000 SYNs
    /// from as many address pairs, split between two shards: each steps
    /// over most of the other's.
    #[test]
    fn a_split_run_steps_over_the_other_shards_frames() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("flood.pcap");
        std::fs::write(&path, telltale_fixtures::adversarial::syn_flood(20_000)).unwrap();
        let before = STEPPED.load(Ordering::Relaxed);
        let report = Analyzer::builder()
            .no_identifiers()
            .no_geo()
            .threads(2)
            .build()
            .analyze([&path])
            .unwrap();
        assert!(report.captures[0].packets > 20_000);
        let stepped = STEPPED.load(Ordering::Relaxed) - before;
        assert!(stepped > 15_000, "{stepped} frames stepped over");
    }

    /// Counts frames, and sets `stop` at the `at`-th.
    struct StopAt<'a> {
        seen: u64,
        at: u64,
        stop: &'a AtomicBool,
    }

    impl FrameConsumer for StopAt<'_> {
        fn frame(&mut self, _: &Frame<'_>) -> bool {
            self.seen += 1;
            if self.seen == self.at {
                self.stop.store(true, Ordering::Relaxed);
            }
            true
        }
        fn secrets(&mut self, _: &[CaptureSecrets]) {}
    }

    /// A read whose run gave up (its records outgrew the collecting
    /// budget) stops at the next check, every 4,096 packets: none at all
    /// when stopped before it starts.
    #[test]
    fn a_stopped_read_reads_no_further() {
        let path = std::env::temp_dir().join(format!("telltale-stop-{}.pcap", std::process::id()));
        std::fs::write(&path, telltale_fixtures::adversarial::syn_flood(10_000)).unwrap();
        let run = |at: u64, stopped: bool| {
            let stop = AtomicBool::new(stopped);
            let mut c = StopAt {
                seen: 0,
                at,
                stop: &stop,
            };
            let read = read_capture(&path, &mut c, |_| {}, Some(&stop)).unwrap();
            (c.seen, read.packets)
        };
        let (all, _) = run(0, false);
        assert!(all > 10_000, "{all}");
        assert_eq!(run(10, false), (4_096, 4_096));
        assert_eq!(run(5_000, false), (8_192, 8_192));
        assert_eq!(run(0, true), (0, 0));
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn a_merge_of_sorted_parts_is_a_stable_sort_of_them_in_turn() {
        // (key, tag): equal keys across and within parts, parts of every
        // length including none.
        let parts = vec![
            vec![(1, 'a'), (3, 'b'), (3, 'c'), (7, 'd')],
            vec![],
            vec![(0, 'e'), (3, 'f'), (7, 'g'), (9, 'h')],
            vec![(3, 'i')],
        ];
        let mut whole: Vec<(i32, char)> = parts.iter().flatten().copied().collect();
        whole.sort_by_key(|p| p.0);
        let merged = merge_sorted(parts, |a, b| a.0.cmp(&b.0));
        assert_eq!(merged, whole);
        assert_eq!(
            merge_sorted(vec![vec![(2, 'x')]], |a, b| a.0.cmp(&b.0)),
            vec![(2, 'x')]
        );
        assert!(merge_sorted(Vec::<Vec<u8>>::new(), u8::cmp).is_empty());
    }

    #[test]
    fn apply_order_gathers_in_place() {
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for n in [0, 1, 2, 3, 7, 64, 1000] {
            // Random permutations: cycles of every length, fixed points.
            let mut keyed: Vec<(u64, usize)> = (0..n)
                .map(|i| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x % 97, i)
                })
                .collect();
            keyed.sort();
            let order: Vec<usize> = keyed.iter().map(|&(_, i)| i).collect();
            let items: Vec<String> = (0..n).map(|i| format!("item {i}")).collect();
            let want: Vec<String> = order.iter().map(|&i| items[i].clone()).collect();
            let mut got = items;
            apply_order(&mut got, order);
            assert_eq!(got, want, "{n}");
        }
    }

    #[test]
    fn sort_records_is_a_stable_sort() {
        // Keys with many ties, so stability shows.
        let items: Vec<(u8, usize)> = (0..500).map(|i| (((i * 37) % 11) as u8, i)).collect();
        let mut ours = items.clone();
        sort_records(&mut ours, |t| t.0);
        let mut std_sorted = items;
        std_sorted.sort_by_key(|t| t.0);
        assert_eq!(ours, std_sorted);
        let mut sorted = ours.clone();
        sort_records(&mut sorted, |t| t.0);
        assert_eq!(sorted, ours);
    }
}
