//! The flow table: packets in, flow events out.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::SocketAddr;

use telltale_decode::{Packet, TcpFlags, TcpSegment, Timestamp, Transport};

use crate::clock::{CaptureClock, CaptureTime};
use crate::key::{Dir, FlowId, FlowInfo, FlowKey, Proto};
use crate::reassembly::{Limits, Out, Stream, StreamStats};

/// What the flow stage tells later stages, in capture order.
#[derive(Debug)]
pub struct FlowEvent<'a> {
    /// The flow concerned.
    pub flow: &'a FlowInfo,
    /// Capture time of the packet behind the event.
    pub ts: Timestamp,
    /// Packet number behind the event (for buffered data, the packet that
    /// carried it).
    pub frame: u64,
    /// What happened.
    pub kind: FlowEventKind<'a>,
}

/// The kinds of [`FlowEvent`].
#[derive(Debug)]
#[non_exhaustive]
pub enum FlowEventKind<'a> {
    /// The flow's first packet was seen.
    Open,
    /// In-order TCP stream bytes, starting at `offset` in that direction.
    Data {
        /// Direction.
        dir: Dir,
        /// Stream offset of the first byte.
        offset: u64,
        /// The bytes.
        bytes: &'a [u8],
    },
    /// One UDP datagram's payload.
    Datagram {
        /// Direction.
        dir: Dir,
        /// The payload as captured.
        bytes: &'a [u8],
    },
    /// Stream bytes that were lost (not captured); parsing resumes after them.
    Gap {
        /// Direction.
        dir: Dir,
        /// Stream offset of the first lost byte.
        offset: u64,
        /// How many bytes were lost.
        len: u64,
    },
    /// The flow ended; no more events for it.
    Close(&'a FlowSummary),
}

/// Receives flow events. Implemented by whatever consumes the flow stage
/// (the dissectors, a test, a caller's own code).
pub trait FlowSink {
    /// Called once per event, in capture order.
    fn on_event(&mut self, event: FlowEvent<'_>);
}

impl<F: FnMut(FlowEvent<'_>)> FlowSink for F {
    fn on_event(&mut self, event: FlowEvent<'_>) {
        self(event)
    }
}

/// TCP connection state when the flow ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TcpState {
    /// Only a SYN (or SYN and SYN-ACK) seen, no completed handshake or data.
    New,
    /// Handshake completed or data seen.
    Established,
    /// One side sent a FIN.
    Closing,
    /// Both sides sent FINs.
    Closed,
    /// A RST ended it.
    Reset,
}

impl TcpState {
    /// A lower-case name for output.
    pub fn as_str(self) -> &'static str {
        match self {
            TcpState::New => "new",
            TcpState::Established => "established",
            TcpState::Closing => "closing",
            TcpState::Closed => "closed",
            TcpState::Reset => "reset",
        }
    }
}

/// Serialised as [`TcpState::as_str`].
impl serde::Serialize for TcpState {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Why a flow was ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EndReason {
    /// TCP closed by FIN or RST.
    Closed,
    /// No packet for longer than the idle timeout.
    Timeout,
    /// Removed to keep the table within its size limit.
    Evicted,
    /// A new connection reused the same addresses and ports.
    PortReuse,
    /// The capture ended.
    CaptureEnd,
}

impl EndReason {
    /// A lower-case name for output.
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Closed => "closed",
            EndReason::Timeout => "timeout",
            EndReason::Evicted => "evicted",
            EndReason::PortReuse => "port_reuse",
            EndReason::CaptureEnd => "capture_end",
        }
    }
}

/// Serialised as [`EndReason::as_str`].
impl serde::Serialize for EndReason {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Per-direction counters of a flow.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct DirStats {
    /// Packets.
    pub packets: u64,
    /// Bytes on the wire, link headers included.
    pub bytes: u64,
    /// Transport payload bytes.
    pub payload_bytes: u64,
    /// TCP reassembly counters (zero for UDP).
    pub stream: StreamStats,
}

/// Everything known about a flow when it ends.
///
/// In JSON the fields EVE's `flow` object also has take its names: `start`,
/// `end`, `state` and `reason`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct FlowSummary {
    /// Identity and endpoints.
    pub info: FlowInfo,
    /// Time of the first packet.
    #[serde(rename = "start")]
    pub first_ts: Timestamp,
    /// Time of the last packet.
    #[serde(rename = "end")]
    pub last_ts: Timestamp,
    /// Client-to-server counters.
    pub to_server: DirStats,
    /// Server-to-client counters.
    pub to_client: DirStats,
    /// TCP state at the end (`None` for UDP).
    #[serde(rename = "state")]
    pub tcp_state: Option<TcpState>,
    /// Whether the client was known from the handshake (`false`: guessed by
    /// the port rule).
    pub client_from_handshake: bool,
    /// Why it ended.
    #[serde(rename = "reason")]
    pub end_reason: EndReason,
}

/// Limits and timeouts of a [`FlowTable`]. Defaults bound memory on any
/// capture: about `max_flows` × a few hundred bytes plus `max_buffer` per
/// direction of flows with holes.
#[derive(Clone, Copy, Debug)]
pub struct FlowConfig {
    /// Flows held at once; past it the least recently active are evicted.
    pub max_flows: usize,
    /// Out-of-order bytes buffered per direction before a hole is skipped.
    pub max_buffer: usize,
    /// Stream bytes delivered per direction; the rest is counted, not passed on.
    pub max_stream: u64,
    /// Out-of-order bytes buffered across all flows at once: a capture of
    /// many flows with holes (or an attacker opening them) cannot make
    /// `max_flows × max_buffer` real. Past it, the flow whose segment went
    /// over gives up its holes (gaps, counted in `reassembly_budget_hits`).
    pub max_buffered_total: usize,
    /// Idle timeout of established TCP flows, seconds of capture time.
    pub tcp_timeout_secs: i64,
    /// Idle timeout of UDP flows and unanswered TCP, seconds.
    pub udp_timeout_secs: i64,
    /// How long a closed TCP flow lingers to absorb late packets, seconds.
    pub closed_linger_secs: i64,
}

impl Default for FlowConfig {
    fn default() -> Self {
        FlowConfig {
            max_flows: 250_000,
            max_buffer: 1 << 20,
            max_stream: 32 << 20,
            max_buffered_total: 256 << 20,
            tcp_timeout_secs: 600,
            udp_timeout_secs: 120,
            closed_linger_secs: 5,
        }
    }
}

/// Counters of the table as a whole.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct FlowTableStats {
    /// Flows created.
    pub flows: u64,
    /// Most flows held at once.
    pub peak_flows: u64,
    /// Flows evicted because the table was full.
    pub evicted: u64,
    /// Flows ended by the idle timeout.
    pub timed_out: u64,
    /// Times more than a day ahead of the capture's clock, not believed
    /// when seen ([`CaptureClock`]): lone jumps, and the first time of a
    /// jump that a later one then confirmed. Counted per frame by the
    /// clock that sees every frame.
    pub time_jumps: u64,
    /// RSTs ignored because their sequence number was out of the window.
    pub ignored_rsts: u64,
    /// Times a flow gave up its holes because the out-of-order bytes of all
    /// flows together reached `max_buffered_total`.
    pub reassembly_budget_hits: u64,
}

impl FlowTableStats {
    /// Adds another table's counters (a capture split across shards);
    /// `peak_flows` becomes the sum of the shards' peaks. That is near one
    /// table's peak but not equal to it, either way: the shards' peaks
    /// fall at different times, and each shard's table sweeps idle flows
    /// out when its next packet comes, not when the clock says.
    pub fn merge(&mut self, o: &FlowTableStats) {
        self.flows += o.flows;
        self.peak_flows += o.peak_flows;
        self.evicted += o.evicted;
        self.timed_out += o.timed_out;
        self.time_jumps += o.time_jumps;
        self.ignored_rsts += o.ignored_rsts;
        self.reassembly_budget_hits += o.reassembly_budget_hits;
    }
}

struct FlowState {
    info: FlowInfo,
    /// Whether the key's `lo` endpoint is the client.
    client_is_lo: bool,
    first_ts: Timestamp,
    last_ts: Timestamp,
    dirs: [DirStats; 2],
    tcp: Option<Box<TcpConn>>,
    client_from_handshake: bool,
    /// The earliest time this flow is queued to be looked at in
    /// [`FlowTable::deadlines`] (never later than when it can expire);
    /// `None` before its first packet is counted and once it has expired.
    queued: Option<Timestamp>,
}

impl FlowState {
    /// Out-of-order bytes this flow holds, both directions.
    fn buffered(&self) -> usize {
        self.tcp
            .as_ref()
            .map_or(0, |c| c.streams.iter().map(Stream::buffered).sum())
    }

    /// Delivers everything buffered past holes now (the holes become gaps),
    /// as at the flow's end, and goes on reading.
    fn flush_holes(&mut self, packet: &Packet<'_>, limits: &Limits, sink: &mut impl FlowSink) {
        let info = self.info;
        let Some(conn) = self.tcp.as_mut() else {
            return;
        };
        for d in [Dir::ToServer, Dir::ToClient] {
            if conn.streams[d.index()].buffered() > 0 {
                conn.streams[d.index()].flush(limits, &mut |o| {
                    emit_out(sink, &info, packet.ts, packet.frame, d, o)
                });
                self.dirs[d.index()].stream = conn.streams[d.index()].stats;
            }
        }
    }
}

struct TcpConn {
    streams: [Stream; 2],
    state: TcpState,
    closed_at: Option<Timestamp>,
    /// Sequence number of the client's SYN, to tell a retransmitted SYN from
    /// a new connection.
    syn_seq: Option<u32>,
}

/// Turns packets into bidirectional flows and ordered per-direction streams.
///
/// Who is the client: the sender of a SYN without ACK (or the receiver of a
/// SYN-ACK). Without a handshake (UDP, captures that start mid-connection) the
/// endpoint with the higher port is the client, since clients use ephemeral
/// ports; with equal ports, the sender of the first packet.
///
/// ```
/// use telltale_flow::{FlowEvent, FlowEventKind, FlowTable};
/// let mut table = FlowTable::default();
/// let mut opened = 0;
/// let mut sink = |e: FlowEvent<'_>| if matches!(e.kind, FlowEventKind::Open) { opened += 1 };
/// // for each decoded packet: table.push(&packet, &mut sink);
/// table.finish(&mut sink);
/// assert_eq!(opened, 0);
/// ```
pub struct FlowTable {
    config: FlowConfig,
    /// Keyed by a fast hash with a random seed per table (foldhash): SipHash
    /// cost a measurable share per packet, and a random seed keeps a capture
    /// crafted to collide from degrading the table (hash flooding). Order is
    /// never observed: flows are always ended in id order.
    flows: HashMap<FlowKey, FlowState, foldhash::fast::RandomState>,
    /// When each flow may next expire, earliest first, so a sweep looks at
    /// the flows due rather than every flow (walking the whole table once
    /// a second was a tenth of the table's cost). Entries are not removed
    /// when a flow ends or is queued earlier: an entry whose time is not
    /// its flow's `queued` (or whose flow is gone) is skipped.
    deadlines: BinaryHeap<Reverse<(Timestamp, FlowId, FlowKey)>>,
    /// The capture's clock as of this table's last packet: what sweeps go
    /// by.
    now: Timestamp,
    last_sweep: Timestamp,
    /// Judges the times of packets given by [`push`](Self::push); a table
    /// fed by [`push_at`](Self::push_at) is told the time instead.
    clock: CaptureClock,
    stats: FlowTableStats,
    /// Out-of-order bytes buffered by all flows now.
    buffered_total: usize,
}

impl Default for FlowTable {
    fn default() -> Self {
        FlowTable::new(FlowConfig::default())
    }
}

impl FlowTable {
    /// A table with the given limits.
    pub fn new(config: FlowConfig) -> Self {
        FlowTable {
            config,
            flows: HashMap::with_hasher(foldhash::fast::RandomState::default()),
            deadlines: BinaryHeap::new(),
            now: Timestamp::from_nanos(i64::MIN),
            last_sweep: Timestamp::from_nanos(i64::MIN),
            clock: CaptureClock::default(),
            stats: FlowTableStats::default(),
            buffered_total: 0,
        }
    }

    /// Table-wide counters.
    pub fn stats(&self) -> FlowTableStats {
        FlowTableStats {
            time_jumps: self.clock.jumps(),
            ..self.stats
        }
    }

    /// Flows currently held.
    pub fn len(&self) -> usize {
        self.flows.len()
    }

    /// Whether no flow is held.
    pub fn is_empty(&self) -> bool {
        self.flows.is_empty()
    }

    /// Adds one packet, sending the events it causes to `sink`. Its time
    /// moves the table's clock as [`CaptureClock`] says.
    pub fn push(&mut self, packet: &Packet<'_>, sink: &mut impl FlowSink) {
        self.clock.observe(packet.ts);
        let at = self.clock.time();
        self.push_at(packet, at, sink);
    }

    /// As [`push`](Self::push), the capture's clock reading `at` once it
    /// saw this packet's frame ([`CaptureClock::time`]): for a table given
    /// only some of a capture's packets (one thread's share of a split
    /// run), whose clock is kept by whoever sees every frame in order.
    /// Mixing this with `push` on one table mixes two clocks.
    ///
    /// The table sweeps when told of a sweep it has not made, judging at
    /// the sweep's time: every flow it holds had its last packet before
    /// that sweep (a sweep told with a packet is made before the packet),
    /// so it ends the flows one table given every packet ends.
    pub fn push_at(&mut self, packet: &Packet<'_>, at: CaptureTime, sink: &mut impl FlowSink) {
        self.now = self.now.max(at.now);
        if at.swept > self.last_sweep {
            self.sweep(at.swept, sink);
        }
        let (proto, sport, dport) = match packet.transport {
            Transport::Tcp(t) => (Proto::Tcp, t.src_port, t.dst_port),
            Transport::Udp(u) => (Proto::Udp, u.src_port, u.dst_port),
        };
        let src = SocketAddr::new(packet.src, sport);
        let dst = SocketAddr::new(packet.dst, dport);
        let (key, src_is_lo) = FlowKey::new(src, dst, proto);

        let syn_only = matches!(packet.transport, Transport::Tcp(t)
            if t.flags.has(TcpFlags::SYN) && !t.flags.has(TcpFlags::ACK));
        let syn_seq = match packet.transport {
            Transport::Tcp(t) => t.seq,
            Transport::Udp(_) => 0,
        };
        // A packet on a flow idle past its timeout starts a new flow, as if
        // a sweep had ended the old one just before: the flow's own packets
        // and the packet's time decide, not when the last sweep ran (at the
        // packet's time, unless that is a jump ahead not believed).
        // A new SYN on a closed connection's 4-tuple, or after data was
        // exchanged, is a new connection; a retransmitted SYN (same initial
        // sequence number) is not. One lookup decides both.
        // One lookup for a packet of a flow that goes on (nearly all).
        let found = self.flows.get_mut(&key);
        let end_old = found.as_deref().and_then(|old| {
            expired(&self.config, old, packet.ts.min(at.now)).or_else(|| {
                let reused = syn_only
                    && old.tcp.as_ref().is_some_and(|c| {
                        c.syn_seq != Some(syn_seq)
                            && (c.closed_at.is_some()
                                || old.dirs.iter().any(|d| d.stream.delivered > 0))
                    });
                reused.then_some(EndReason::PortReuse)
            })
        });
        let flow = match found {
            Some(flow) if end_old.is_none() => flow,
            _ => {
                if let Some(r) = end_old {
                    if r == EndReason::Timeout {
                        self.stats.timed_out += 1;
                    }
                    let old = self.flows.remove(&key).expect("present");
                    self.buffered_total -= old.buffered();
                    close(old, r, self.config.max_stream, sink);
                }
                if self.flows.len() >= self.config.max_flows.max(1) {
                    self.evict(sink);
                }
                let state = new_flow(packet, src, dst, src_is_lo, proto);
                sink.on_event(FlowEvent {
                    flow: &state.info,
                    ts: packet.ts,
                    frame: packet.frame,
                    kind: FlowEventKind::Open,
                });
                self.stats.flows += 1;
                let held = self.flows.len() as u64 + 1;
                self.stats.peak_flows = self.stats.peak_flows.max(held);
                self.flows.entry(key).or_insert(state)
            }
        };
        let dir = if src_is_lo == flow.client_is_lo {
            Dir::ToServer
        } else {
            Dir::ToClient
        };
        flow.last_ts = flow.last_ts.max(packet.ts);
        let d = &mut flow.dirs[dir.index()];
        d.packets += 1;
        d.bytes += u64::from(packet.wire_len);
        match packet.transport {
            Transport::Udp(u) => {
                d.payload_bytes += u.payload.len() as u64;
                sink.on_event(FlowEvent {
                    flow: &flow.info,
                    ts: packet.ts,
                    frame: packet.frame,
                    kind: FlowEventKind::Datagram {
                        dir,
                        bytes: u.payload,
                    },
                });
            }
            Transport::Tcp(t) => {
                d.payload_bytes += u64::from(t.wire_len);
                let limits = Limits {
                    max_buffer: self.config.max_buffer.max(1 << 16),
                    max_stream: self.config.max_stream,
                };
                let before = flow.buffered();
                tcp_segment(
                    flow,
                    dir,
                    &t,
                    packet,
                    &limits,
                    &mut self.stats.ignored_rsts,
                    sink,
                );
                self.buffered_total = self.buffered_total - before + flow.buffered();
                if self.buffered_total > self.config.max_buffered_total {
                    // The flow that went over the budget gives up its holes:
                    // cheap to find, and a flood's own flows pay for it.
                    self.stats.reassembly_budget_hits += 1;
                    let released = flow.buffered();
                    flow.flush_holes(packet, &limits, sink);
                    self.buffered_total -= released - flow.buffered();
                }
            }
        }
        // A packet only moves a flow's expiry later, except when it closes
        // the connection (a shorter linger) or its class changes: queue it
        // again only then.
        let due = deadline(&self.config, flow);
        if flow.queued.is_none_or(|q| due < q) {
            flow.queued = Some(due);
            let id = flow.info.id;
            self.queue(due, id, key);
        }
    }

    /// Queues a flow to be looked at from `due`. Flows that ended leave
    /// their entries behind (they are skipped when they come up): when
    /// those outnumber the live ones, the queue is rebuilt from the table,
    /// so it stays the table's size even when flows churn faster than
    /// sweeps run (a SYN flood of a million flows within one second).
    fn queue(&mut self, due: Timestamp, id: FlowId, key: FlowKey) {
        self.deadlines.push(Reverse((due, id, key)));
        if self.deadlines.len() > 2 * self.flows.len() + 1024 {
            self.deadlines = self
                .flows
                .iter()
                .filter_map(|(k, f)| Some(Reverse((f.queued?, f.info.id, *k))))
                .collect();
        }
    }

    /// Ends every flow still held (end of capture), delivering buffered data.
    pub fn finish(&mut self, sink: &mut impl FlowSink) {
        let now = self.now;
        self.finish_at(now, sink);
    }

    /// As [`finish`](Self::finish), judging idle timeouts at `clock` (the
    /// capture's last time): for a table that saw only part of a capture
    /// (one shard of it), so flows end with the reason a table that saw
    /// the whole capture would give them.
    pub fn finish_at(&mut self, clock: Timestamp, sink: &mut impl FlowSink) {
        let mut all: Vec<FlowState> = self.flows.drain().map(|(_, f)| f).collect();
        all.sort_by_key(|f| f.info.id);
        for f in all {
            let reason = match expired(&self.config, &f, clock) {
                Some(EndReason::Timeout) => {
                    self.stats.timed_out += 1;
                    EndReason::Timeout
                }
                _ => match f.tcp.as_ref().and_then(|c| c.closed_at) {
                    Some(_) => EndReason::Closed,
                    None => EndReason::CaptureEnd,
                },
            };
            self.buffered_total -= f.buffered();
            close(f, reason, self.config.max_stream, sink);
        }
    }

    /// The capture's clock as of this table's last packet: the latest time
    /// believed ([`CaptureClock::now`]), as `push` judged it or `push_at`
    /// was told.
    pub fn clock(&self) -> Timestamp {
        self.now
    }

    /// Ends idle flows and closed flows past their linger time.
    fn sweep(&mut self, now: Timestamp, sink: &mut impl FlowSink) {
        self.last_sweep = now;
        let cfg = self.config;
        let mut done: Vec<(FlowId, FlowKey, EndReason)> = Vec::new();
        // Flows looked at and not expired are queued again after the loop,
        // so each is looked at once per sweep even when its next time cannot
        // be later than now (a clock at the end of time).
        let mut again: Vec<(Timestamp, FlowId, FlowKey)> = Vec::new();
        // Whether a flow has expired depends on its own packets and the
        // time asked about (see `expired`); which sweeps ran, and when, is
        // the capture clock's (see `push_at`), so tables that share one
        // clock end the flows one table would.
        while let Some(&Reverse((due, id, key))) = self.deadlines.peek() {
            if due > now {
                break;
            }
            self.deadlines.pop();
            let Some(f) = self.flows.get_mut(&key) else {
                continue;
            };
            if f.info.id != id || f.queued != Some(due) {
                continue;
            }
            if let Some(r) = expired(&cfg, f, now) {
                // Never due again, so a second entry at this time is stale.
                f.queued = None;
                done.push((id, key, r));
            } else {
                let later =
                    deadline(&cfg, f).max(Timestamp::from_nanos(now.as_nanos().saturating_add(1)));
                f.queued = Some(later);
                again.push((later, id, key));
            }
        }
        for (later, id, key) in again {
            self.queue(later, id, key);
        }
        // Queue order among flows due at once is arbitrary; ending flows in
        // id order keeps every downstream result independent of it.
        done.sort_unstable_by_key(|(id, _, _)| *id);
        for (_, k, r) in done {
            if r == EndReason::Timeout {
                self.stats.timed_out += 1;
            }
            let f = self.flows.remove(&k).expect("present");
            self.buffered_total -= f.buffered();
            close(f, r, cfg.max_stream, sink);
        }
    }

    /// Makes room by ending the least recently active eighth of the table.
    fn evict(&mut self, sink: &mut impl FlowSink) {
        let mut by_age: Vec<(Timestamp, FlowId, FlowKey)> = self
            .flows
            .iter()
            .map(|(k, f)| (f.last_ts, f.info.id, *k))
            .collect();
        let n = (by_age.len() / 8).max(1);
        by_age.select_nth_unstable(n - 1);
        by_age.truncate(n);
        by_age.sort_unstable();
        for (_, _, k) in by_age {
            let f = self.flows.remove(&k).expect("present");
            self.stats.evicted += 1;
            self.buffered_total -= f.buffered();
            close(f, EndReason::Evicted, self.config.max_stream, sink);
        }
    }
}

/// How long `f` may stay idle, and why it ends when it has: closed flows
/// linger, established TCP times out, everything else (UDP, unanswered TCP)
/// has the shorter limit. `expired` and `deadline` both read it, so the
/// queue can never disagree with the check.
fn idle_limit(cfg: &FlowConfig, f: &FlowState) -> (i64, EndReason) {
    match &f.tcp {
        Some(c) if c.closed_at.is_some() => (cfg.closed_linger_secs, EndReason::Closed),
        Some(c) if c.state != TcpState::New => (cfg.tcp_timeout_secs, EndReason::Timeout),
        _ => (cfg.udp_timeout_secs, EndReason::Timeout),
    }
}

/// Whether a flow has expired at `now`: closed and past its linger time, or
/// idle past its timeout. Depends only on the flow and `now`.
fn expired(cfg: &FlowConfig, f: &FlowState, now: Timestamp) -> Option<EndReason> {
    let idle = now.nanos_since(f.last_ts) / 1_000_000_000;
    let (limit, reason) = idle_limit(cfg, f);
    (idle >= limit).then_some(reason)
}

/// The earliest time at which `f` can have expired (see `expired`): its
/// last packet plus its idle limit. `expired` counts whole seconds of
/// idleness, so a limit of zero or less is taken a second early.
fn deadline(cfg: &FlowConfig, f: &FlowState) -> Timestamp {
    let (secs, _) = idle_limit(cfg, f);
    let secs = if secs >= 1 {
        secs
    } else {
        secs.saturating_sub(1)
    };
    let nanos = secs.saturating_mul(1_000_000_000);
    Timestamp::from_nanos(f.last_ts.as_nanos().saturating_add(nanos))
}

fn new_flow(
    packet: &Packet<'_>,
    src: SocketAddr,
    dst: SocketAddr,
    src_is_lo: bool,
    proto: Proto,
) -> FlowState {
    let (src_is_client, from_handshake) = match packet.transport {
        Transport::Tcp(t) if t.flags.has(TcpFlags::SYN) => (!t.flags.has(TcpFlags::ACK), true),
        _ if src.port() != dst.port() => (src.port() > dst.port(), false),
        _ => (true, false),
    };
    let (client, server) = if src_is_client {
        (src, dst)
    } else {
        (dst, src)
    };
    FlowState {
        info: FlowInfo {
            id: FlowId(packet.frame),
            proto,
            client,
            server,
        },
        client_is_lo: src_is_client == src_is_lo,
        first_ts: packet.ts,
        last_ts: packet.ts,
        dirs: [DirStats::default(); 2],
        tcp: (proto == Proto::Tcp).then(|| {
            Box::new(TcpConn {
                streams: [Stream::new(), Stream::new()],
                state: TcpState::New,
                closed_at: None,
                syn_seq: match packet.transport {
                    Transport::Tcp(t)
                        if t.flags.has(TcpFlags::SYN) && !t.flags.has(TcpFlags::ACK) =>
                    {
                        Some(t.seq)
                    }
                    _ => None,
                },
            })
        }),
        client_from_handshake: from_handshake,
        // Queued at the end of its first packet.
        queued: None,
    }
}

fn tcp_segment(
    flow: &mut FlowState,
    dir: Dir,
    t: &TcpSegment<'_>,
    packet: &Packet<'_>,
    limits: &Limits,
    ignored_rsts: &mut u64,
    sink: &mut impl FlowSink,
) {
    let info = flow.info;
    let Some(conn) = flow.tcp.as_mut() else {
        return;
    };
    let flags = t.flags;
    if flags.has(TcpFlags::SYN) {
        conn.streams[dir.index()].syn(t.seq);
    }
    if flags.has(TcpFlags::ACK) {
        let other = dir.reverse();
        conn.streams[other.index()].acked(t.ack);
        if conn.state == TcpState::New && !flags.has(TcpFlags::SYN) {
            conn.state = TcpState::Established;
        }
    }
    let seq = if flags.has(TcpFlags::SYN) {
        t.seq.wrapping_add(1)
    } else {
        t.seq
    };
    conn.streams[dir.index()].segment(
        seq,
        t.payload,
        u64::from(t.wire_len),
        flags.has(TcpFlags::FIN),
        packet.frame,
        packet.ts,
        limits,
        &mut |o| emit_out(sink, &info, packet.ts, packet.frame, dir, o),
    );
    if t.wire_len > 0 && conn.state == TcpState::New {
        conn.state = TcpState::Established;
    }
    if flags.has(TcpFlags::RST) {
        if conn.streams[dir.index()].rst_in_window(t.seq) {
            conn.state = TcpState::Reset;
            conn.closed_at.get_or_insert(packet.ts);
        } else {
            *ignored_rsts += 1;
        }
    } else if flags.has(TcpFlags::FIN) && conn.state != TcpState::Reset {
        let both = conn.streams.iter().all(|s| s.finished())
            || conn.streams[dir.reverse().index()].finished();
        conn.state = if both {
            TcpState::Closed
        } else {
            TcpState::Closing
        };
        if both {
            conn.closed_at.get_or_insert(packet.ts);
        }
    }
    flow.dirs[dir.index()].stream = conn.streams[dir.index()].stats;
    let other = dir.reverse().index();
    flow.dirs[other].stream = conn.streams[other].stats;
}

/// Ends a flow: what its directions still buffer is delivered (holes as
/// gaps), within the stream cap `max_stream` like everything before it.
fn close(mut f: FlowState, reason: EndReason, max_stream: u64, sink: &mut impl FlowSink) {
    let info = f.info;
    let last = f.last_ts;
    if let Some(conn) = f.tcp.as_mut() {
        for d in [Dir::ToServer, Dir::ToClient] {
            let mut emit = |o: Out<'_>| emit_out(sink, &info, last, info.id.0, d, o);
            if conn.streams[d.index()].buffered() > 0 {
                let limits = Limits {
                    max_buffer: usize::MAX,
                    max_stream,
                };
                conn.streams[d.index()].flush(&limits, &mut emit);
            }
            f.dirs[d.index()].stream = conn.streams[d.index()].stats;
        }
    }
    let summary = FlowSummary {
        info,
        first_ts: f.first_ts,
        last_ts: f.last_ts,
        to_server: f.dirs[0],
        to_client: f.dirs[1],
        tcp_state: f.tcp.as_ref().map(|c| c.state),
        client_from_handshake: f.client_from_handshake,
        end_reason: reason,
    };
    sink.on_event(FlowEvent {
        flow: &info,
        ts: last,
        frame: info.id.0,
        kind: FlowEventKind::Close(&summary),
    });
}

/// Forwards one reassembly output as a flow event; gaps are dated by the
/// packet that revealed them.
fn emit_out(
    sink: &mut impl FlowSink,
    info: &FlowInfo,
    ts: Timestamp,
    frame: u64,
    dir: Dir,
    o: Out<'_>,
) {
    let (ts, frame, kind) = match o {
        Out::Data {
            offset,
            bytes,
            frame,
            ts,
        } => (ts, frame, FlowEventKind::Data { dir, offset, bytes }),
        Out::Gap { offset, len } => (ts, frame, FlowEventKind::Gap { dir, offset, len }),
    };
    sink.on_event(FlowEvent {
        flow: info,
        ts,
        frame,
        kind,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use telltale_decode::TcpSegment;

    fn tcp(
        frame: u64,
        secs: i64,
        from_client: bool,
        seq: u32,
        flags: u8,
        payload: &'static [u8],
    ) -> Packet<'static> {
        let (c, s) = ("10.0.0.2".parse().unwrap(), "10.0.0.1".parse().unwrap());
        let (src, dst, sp, dp) = if from_client {
            (c, s, 40000, 80)
        } else {
            (s, c, 80, 40000)
        };
        Packet {
            frame,
            ts: Timestamp::from_nanos(secs * 1_000_000_000),
            wire_len: 60,
            src,
            dst,
            transport: Transport::Tcp(TcpSegment {
                src_port: sp,
                dst_port: dp,
                seq,
                ack: 0,
                flags: TcpFlags(flags),
                window: 1000,
                payload,
                wire_len: payload.len() as u32,
            }),
        }
    }

    fn run(packets: &[Packet<'static>]) -> (Vec<FlowSummary>, FlowTableStats) {
        let mut table = FlowTable::default();
        let mut closed = Vec::new();
        let mut sink = |e: FlowEvent<'_>| {
            if let FlowEventKind::Close(s) = e.kind {
                closed.push(s.clone());
            }
        };
        for p in packets {
            table.push(p, &mut sink);
        }
        table.finish(&mut sink);
        (closed, table.stats())
    }

    const SYN: u8 = TcpFlags::SYN;
    const ACK: u8 = TcpFlags::ACK;

    /// Found by the `tcp_reassembly` fuzz target (input, hex, in that
    /// target's layout: `max_stream` 0, a segment, one beyond a hole, then
    /// the end of the capture):
    /// `45000200000000001700c808c808110000000c110c000000110000000c110c00000000`.
    /// Ending a flow delivered what it still buffered past the stream cap.
    #[test]
    fn flow_end_keeps_the_stream_cap() {
        let config = FlowConfig {
            max_stream: 4,
            ..FlowConfig::default()
        };
        let mut table = FlowTable::new(config);
        let mut got = String::new();
        let mut sink = |e: FlowEvent<'_>| match e.kind {
            FlowEventKind::Data { offset, bytes, .. } => {
                assert_eq!(offset, got.len() as u64);
                got.push_str(std::str::from_utf8(bytes).unwrap());
            }
            FlowEventKind::Gap { offset, len, .. } => panic!("gap {offset}+{len} past the cap"),
            _ => {}
        };
        table.push(&tcp(1, 0, true, 0, SYN, b""), &mut sink);
        table.push(&tcp(2, 0, true, 1, ACK, b"abcdef"), &mut sink);
        table.push(&tcp(3, 0, true, 20, ACK, b"xyz"), &mut sink);
        table.finish(&mut sink);
        assert_eq!(got, "abcd");
    }

    /// Many flows with holes cannot buffer more than the table-wide budget:
    /// the flow that goes over gives up its holes (gaps) and reading goes on.
    #[test]
    fn out_of_order_bytes_of_all_flows_stay_within_the_budget() {
        static BIG: [u8; 60_000] = [b'x'; 60_000];
        let config = FlowConfig {
            max_buffered_total: 200_000,
            ..FlowConfig::default()
        };
        let mut table = FlowTable::new(config);
        let mut gaps = 0u64;
        let mut sink = |e: FlowEvent<'_>| {
            if let FlowEventKind::Gap { .. } = e.kind {
                gaps += 1;
            }
        };
        let seg = |frame: u64, port: u16, seq: u32, flags: u8, payload: &'static [u8]| Packet {
            frame,
            ts: Timestamp::from_nanos(frame as i64 * 1_000_000),
            wire_len: 60,
            src: "10.0.0.2".parse().unwrap(),
            dst: "10.0.0.1".parse().unwrap(),
            transport: Transport::Tcp(TcpSegment {
                src_port: port,
                dst_port: 80,
                seq,
                ack: 0,
                flags: TcpFlags(flags),
                window: 1000,
                payload,
                wire_len: payload.len() as u32,
            }),
        };
        let mut frame = 0;
        for port in 40_000..40_010u16 {
            frame += 1;
            table.push(&seg(frame, port, 1000, SYN, b""), &mut sink);
            // A hole of 500 bytes, then 60 kB waiting behind it.
            frame += 1;
            table.push(&seg(frame, port, 1501, ACK, &BIG), &mut sink);
            assert!(
                table.buffered_total <= 200_000,
                "{} buffered after flow {port}",
                table.buffered_total
            );
        }
        let stats = table.stats();
        table.finish(&mut sink);
        assert_eq!(table.buffered_total, 0);
        assert!(stats.reassembly_budget_hits >= 3, "{stats:?}");
        assert!(gaps >= 10, "every hole ends as a gap: {gaps}");
    }

    #[test]
    fn retransmitted_syn_is_not_a_new_flow_but_a_new_isn_is() {
        let p = [
            tcp(1, 0, true, 100, SYN, b""),
            tcp(2, 0, false, 500, SYN | ACK, b""),
            tcp(3, 0, true, 101, ACK, b"GET"),
            tcp(4, 1, true, 100, SYN, b""),
        ];
        assert_eq!(run(&p).0.len(), 1);
        let mut q = p.to_vec();
        q[3] = tcp(4, 1, true, 9000, SYN, b"");
        let (flows, _) = run(&q);
        assert_eq!(flows.len(), 2);
        assert_eq!(flows[0].end_reason, EndReason::PortReuse);
    }

    #[test]
    fn out_of_window_rst_is_ignored() {
        let p = [
            tcp(1, 0, true, 100, SYN, b""),
            tcp(2, 0, false, 500, SYN | ACK, b""),
            tcp(3, 0, true, 101, ACK, b"GET"),
            tcp(4, 0, false, 77_000_000, TcpFlags::RST, b""),
        ];
        let (flows, stats) = run(&p);
        assert_eq!(flows[0].tcp_state, Some(TcpState::Established));
        assert_eq!(stats.ignored_rsts, 1);
        let mut q = p.to_vec();
        q[3] = tcp(4, 0, false, 501, TcpFlags::RST, b"");
        assert_eq!(run(&q).0[0].tcp_state, Some(TcpState::Reset));
    }

    mod sweeps {
        use super::*;
        use proptest::prelude::*;

        /// (conversation, seconds after the previous packet, TCP flags or
        /// UDP when 0xff).
        type Step = (u8, u16, u8);

        fn packet(frame: u64, ts: Timestamp, (who, _, flags): Step) -> Packet<'static> {
            let src = std::net::IpAddr::from([10, 0, 0, who % 16]);
            let dst = "10.9.9.9".parse().unwrap();
            let sport = 40000 + u16::from(who / 16);
            let transport = if flags == 0xff {
                Transport::Udp(telltale_decode::UdpDatagram {
                    src_port: sport,
                    dst_port: 53,
                    payload: b"",
                    truncated: false,
                })
            } else {
                Transport::Tcp(TcpSegment {
                    src_port: sport,
                    dst_port: 443,
                    seq: 1000 + frame as u32,
                    ack: 0,
                    flags: TcpFlags(flags & 0x17),
                    window: 1000,
                    payload: b"",
                    wire_len: 0,
                })
            };
            Packet {
                frame,
                ts,
                wire_len: 60,
                src,
                dst,
                transport,
            }
        }

        /// How every flow of a run ended, whatever table held it.
        fn ends(closed: &[FlowSummary]) -> Vec<(FlowId, Timestamp, Timestamp, String, u64)> {
            let mut v: Vec<_> = closed
                .iter()
                .map(|f| {
                    let packets = f.to_server.packets + f.to_client.packets;
                    (
                        f.info.id,
                        f.first_ts,
                        f.last_ts,
                        format!("{:?}", f.end_reason),
                        packets,
                    )
                })
                .collect();
            v.sort();
            v
        }

        proptest! {
            /// Conversations spread over several tables, each told the time
            /// by one clock fed every packet in order, end as in one table
            /// given them all: with times that jump far ahead (alone, or
            /// confirmed) and step back, whichever table sees a jump first.
            /// Found by the `split_identity` fuzz target: each table judged
            /// jumps by its own packets, so a table whose first packet was a
            /// lone jump believed it, and its flows and the capture's last
            /// time followed it; and a packet dated before the clock found
            /// its flow idle or not by whether its table's last sweep ran.
            #[test]
            fn tables_told_by_one_clock_end_flows_as_one_table(
                steps in proptest::collection::vec(
                    (any::<u8>(), prop_oneof![
                        4 => (0i64..200).prop_map(|s| s * 1_000_000_000),
                        3 => (0i64..1_500).prop_map(|ms| ms * 1_000_000),
                        2 => (-120i64..0).prop_map(|s| s * 1_000_000_000),
                        1 => Just(40_000 * 86_400 * 1_000_000_000),
                        1 => Just(-40_000 * 86_400 * 1_000_000_000),
                    ], any::<u8>()),
                    1..200,
                ),
                tables in 2usize..5,
            ) {
                let config = FlowConfig {
                    udp_timeout_secs: 60,
                    tcp_timeout_secs: 300,
                    ..FlowConfig::default()
                };
                let mut base = 1_700_000_000_000_000_000i64;
                let packets: Vec<Packet<'static>> = steps
                    .iter()
                    .enumerate()
                    .map(|(i, &(who, step, flags))| {
                        // A jump is one packet's; the next goes on from before it
                        // (a lone jump) or from it (confirmed): odd `who` for lone.
                        let ts = base.saturating_add(step);
                        if step.abs() < 86_400 * 1_000_000_000 || who % 2 == 0 {
                            base = ts;
                        }
                        packet(i as u64 + 1, Timestamp::from_nanos(ts), (who % 24, 0, flags))
                    })
                    .collect();
                let mut one = FlowTable::new(config);
                let mut want = Vec::new();
                let mut sink = |e: FlowEvent<'_>| {
                    if let FlowEventKind::Close(s) = e.kind {
                        want.push(s.clone());
                    }
                };
                for p in &packets {
                    one.push(p, &mut sink);
                }
                one.finish(&mut sink);

                let mut clock = CaptureClock::default();
                let mut split: Vec<FlowTable> = (0..tables).map(|_| FlowTable::new(config)).collect();
                let mut got = Vec::new();
                let mut sink = |e: FlowEvent<'_>| {
                    if let FlowEventKind::Close(s) = e.kind {
                        got.push(s.clone());
                    }
                };
                for p in &packets {
                    clock.observe(p.ts);
                    let who = match p.src { std::net::IpAddr::V4(a) => a.octets()[3], _ => 0 };
                    split[usize::from(who) % tables].push_at(p, clock.time(), &mut sink);
                }
                let last = split.iter().map(FlowTable::clock).max().expect("tables");
                prop_assert_eq!(last, one.clock());
                for t in &mut split {
                    t.finish_at(last, &mut sink);
                }
                prop_assert_eq!(clock.jumps(), one.stats().time_jumps);
                prop_assert_eq!(ends(&got), ends(&want));
            }

            /// The sweep looks only at the flows the queue says are due, so
            /// check it against looking at every flow: after each sweep no
            /// flow left has expired (and `expired` guards every end, so
            /// none ended early); the queue stays within its bound.
            #[test]
            fn a_sweep_ends_every_expired_flow_and_only_those(
                steps in proptest::collection::vec(
                    (any::<u8>(), prop_oneof![0u16..3, 0u16..200, 0u16..1300], any::<u8>()),
                    1..300,
                ),
                linger in 0i64..8,
                udp in 1i64..150,
                tcp in 1i64..700,
            ) {
                let config = FlowConfig {
                    closed_linger_secs: linger,
                    udp_timeout_secs: udp,
                    tcp_timeout_secs: tcp,
                    max_flows: 64,
                    ..FlowConfig::default()
                };
                let mut table = FlowTable::new(config);
                let mut sink = |_: FlowEvent<'_>| {};
                let mut ts = 1_000_000_000_000i64;
                for (i, step) in steps.iter().enumerate() {
                    ts += i64::from(step.1) * 1_000_000_000 + 1;
                    let before = table.last_sweep;
                    table.push(&packet(i as u64 + 1, Timestamp::from_nanos(ts), *step), &mut sink);
                    if table.last_sweep != before {
                        let at = table.last_sweep;
                        // The packet's own flow moved after the sweep.
                        let stale: Vec<_> = table
                            .flows
                            .values()
                            .filter(|f| f.last_ts < at && expired(&config, f, at).is_some())
                            .map(|f| f.info.id)
                            .collect();
                        prop_assert!(stale.is_empty(), "left after the sweep at {:?}: {:?}", at, stale);
                    }
                    prop_assert!(table.deadlines.len() <= 2 * table.flows.len() + 1024);
                    for f in table.flows.values() {
                        prop_assert!(f.queued.is_some_and(|q| q <= deadline(&config, f)));
                    }
                }
            }
        }

        #[test]
        fn the_queue_stays_the_size_of_the_table_under_churn() {
            let config = FlowConfig {
                max_flows: 100,
                ..FlowConfig::default()
            };
            let mut table = FlowTable::new(config);
            let mut sink = |_: FlowEvent<'_>| {};
            // 20,000 one-packet flows, a new one every 10 µs: evicted long
            // before they could time out, and all within one sweep period.
            for i in 0..20_000u64 {
                let step = ((i % 256) as u8, 0, 0xff);
                let mut p = packet(i + 1, Timestamp::from_nanos(i as i64 * 10_000), step);
                if let Transport::Udp(u) = &mut p.transport {
                    u.src_port = 1024 + (i / 256) as u16;
                }
                table.push(&p, &mut sink);
                assert!(table.deadlines.len() <= 2 * table.flows.len() + 1024);
            }
            assert!(table.stats().evicted > 0);
        }
    }

    /// Whether an idle flow's next packet starts a new flow does not depend
    /// on when other flows' packets made the table sweep: with a sweep just
    /// before the timeout, and with none, the outcome is the same.
    #[test]
    fn expiry_does_not_depend_on_sweep_timing() {
        let other = |frame: u64, ms: i64| Packet {
            frame,
            ts: Timestamp::from_nanos(ms * 1_000_000),
            wire_len: 60,
            src: "10.0.0.3".parse().unwrap(),
            dst: "10.0.0.1".parse().unwrap(),
            transport: Transport::Udp(telltale_decode::UdpDatagram {
                src_port: 5000,
                dst_port: 53,
                payload: b"",
                truncated: false,
            }),
        };
        let own = [
            tcp(1, 0, true, 100, SYN, b""),
            tcp(2, 0, false, 500, SYN | ACK, b""),
            tcp(3, 0, true, 101, ACK, b"GET"),
        ];
        // 600.2 s later, the same connection goes on.
        let mut late = tcp(5, 0, true, 104, ACK, b"x");
        late.ts = Timestamp::from_nanos(600_200_000_000);
        let alone: Vec<Packet<'static>> = own.iter().copied().chain([late]).collect();
        let with_sweep: Vec<Packet<'static>> = own
            .iter()
            .copied()
            .chain([other(4, 599_900), late])
            .collect();
        let ends = |p: &[Packet<'static>]| {
            run(p)
                .0
                .iter()
                .filter(|f| f.info.proto == Proto::Tcp)
                .map(|f| (f.info.id.0, f.end_reason))
                .collect::<Vec<_>>()
        };
        assert_eq!(ends(&alone), ends(&with_sweep));
        assert_eq!(
            ends(&alone),
            [(1, EndReason::Timeout), (5, EndReason::CaptureEnd)]
        );
    }

    /// A flow due at the last representable time that has not expired by
    /// then cannot be queued later than now: the sweep must still end.
    #[test]
    fn a_sweep_at_the_end_of_time_ends() {
        let at = |frame: u64, ns: i64| {
            let mut p = tcp(frame, 0, true, 100 + frame as u32, SYN, b"");
            p.ts = Timestamp::from_nanos(ns);
            p
        };
        // Due at the last representable time (its timeout saturates), not
        // expired when the clock gets there.
        let p = [at(1, i64::MAX - 2_000_000_000), at(2, i64::MAX)];
        let (flows, _) = run(&p);
        // One connection (a retransmitted SYN), ended with the capture.
        assert_eq!(flows.len(), 1);
        assert_eq!(flows[0].end_reason, EndReason::CaptureEnd);
    }

    #[test]
    fn one_future_timestamp_does_not_expire_everything() {
        // UDP-like idle limits do not matter here: a TCP flow, a packet
        // dated a century later, then normal traffic on the same flow.
        let p = [
            tcp(1, 1_000, true, 100, SYN, b""),
            tcp(2, 1_000, false, 500, SYN | ACK, b""),
            tcp(3, 4_102_444_800, true, 101, ACK, b"x"),
            tcp(4, 1_001, true, 102, ACK, b"y"),
        ];
        let (flows, stats) = run(&p);
        assert_eq!(flows.len(), 1);
        assert_eq!(flows[0].end_reason, EndReason::CaptureEnd);
        assert_eq!(stats.time_jumps, 1);
        assert_eq!(stats.timed_out, 0);
    }
}
