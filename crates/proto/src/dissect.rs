//! The dissector framework: flow events in, application events out.

use std::collections::HashMap;

use telltale_decode::Timestamp;
use telltale_flow::{
    Dir, FlowEvent, FlowEventKind, FlowId, FlowInfo, FlowSink, FlowSummary, Proto,
};

use crate::body::{BodyBuf, BodyLimits, BodyStatus};
use crate::dhcp;
use crate::dns::{self, TcpFramer};
use crate::event::HttpTransaction;
use crate::event::{
    AppEvent, AppEventKind, AppProto, DhcpEvent, DnsEvent, DnsFlavor, OpaquePayload, QuicHandshake,
    TlsHandshake,
};
use crate::http::{HttpEvent, HttpRequestReader, HttpResponseReader, Request, Response};
use crate::keylog::KeyLog;
use crate::quic::QuicInitialReader;
use crate::tls::{self, TlsReader};
use crate::tls_decrypt::TlsDecryptor;
use std::collections::VecDeque;
use std::sync::Arc;

/// Receives what the dissectors find.
pub trait AppSink {
    /// An application event, in the order found.
    fn app_event(&mut self, event: AppEvent);
    /// A flow ended; `app` is the protocol it was recognised as.
    fn flow_end(&mut self, summary: &FlowSummary, app: AppProto);
    /// A flow started, at `ts` (its first packet): its endpoints, for sinks
    /// that report events as they come and need to say which addresses an
    /// event's flow joins. Called before any event of the flow.
    fn flow_start(&mut self, _flow: &FlowInfo, _ts: Timestamp) {}
    /// The protocol a flow is recognised as, once decided: before any of
    /// its events, and the same `app` its [`flow_end`](Self::flow_end)
    /// gives (a flow's protocol never changes once decided). For sinks
    /// that write a flow's events as they come rather than when it ends.
    /// A flow that ends undecided is never told of.
    fn flow_app(&mut self, _flow: FlowId, _app: AppProto) {}
}

/// Counters of the dissectors.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct DissectStats {
    /// DNS messages that did not parse.
    pub dns_errors: u64,
    /// TLS streams abandoned on malformed records.
    pub tls_errors: u64,
    /// HTTP streams abandoned on malformed or oversized heads.
    pub http_errors: u64,
    /// DHCP datagrams that did not parse.
    pub dhcp_errors: u64,
}

impl DissectStats {
    /// Adds another set of counters (a capture split across shards).
    pub fn merge(&mut self, o: &DissectStats) {
        self.dns_errors += o.dns_errors;
        self.tls_errors += o.tls_errors;
        self.http_errors += o.http_errors;
        self.dhcp_errors += o.dhcp_errors;
    }
}

/// Runs the right dissector on every flow and sends what they find to an
/// [`AppSink`]. It is the [`FlowSink`] of the flow stage.
///
/// Protocols are recognised by content where the content says it (a TLS
/// record header, an HTTP method), so TLS and HTTP are found on any port; DNS,
/// mDNS and LLMNR by their well-known ports, with the message parsed to
/// confirm.
pub struct Dissectors<S> {
    /// Looked up per packet: a fast hash (foldhash, random seed per run)
    /// rather than SipHash; order is never observed.
    flows: HashMap<FlowId, State, foldhash::fast::RandomState>,
    sink: S,
    stats: DissectStats,
    /// TLS secrets (a user's key log, and Decryption Secrets Blocks of the
    /// capture): TLS flows whose keys are here are decrypted.
    keys: Arc<KeyLog>,
    /// What one HTTP body may cost.
    body_limits: BodyLimits,
}

enum State {
    /// No payload yet.
    Undecided,
    /// A few client bytes that do not decide yet (held, at most `PROBE_MAX`),
    /// and when the first of them came.
    Probing(Vec<u8>, Timestamp, u64),
    /// Not a protocol we dissect: the first `OPAQUE_MAX` bytes each way are
    /// handed on as they are (identifiers travel in unknown protocols too).
    Unknown([usize; 2]),
    Dns(Box<DnsState>),
    Tls(Box<TlsState>),
    Http(Box<HttpState>),
    Quic(Box<QuicState>),
    Dhcp {
        v6: bool,
    },
}

impl State {
    /// The protocol of a decided flow; `None` while undecided.
    fn app(&self) -> Option<AppProto> {
        Some(match self {
            State::Undecided | State::Probing(..) => return None,
            State::Unknown(_) => AppProto::Unknown,
            State::Dns(d) => match d.flavor {
                DnsFlavor::Dns => AppProto::Dns,
                DnsFlavor::Mdns => AppProto::Mdns,
                DnsFlavor::Llmnr => AppProto::Llmnr,
            },
            State::Tls(_) => AppProto::Tls,
            State::Http(_) => AppProto::Http,
            State::Quic(_) => AppProto::Quic,
            State::Dhcp { v6: true } => AppProto::Dhcpv6,
            State::Dhcp { v6: false } => AppProto::Dhcp,
        })
    }
}

struct QuicState {
    reader: QuicInitialReader,
    /// Frames of the client datagrams fed so far, to date the hello by the
    /// datagram its first CRYPTO bytes came in.
    client_frames: Vec<(Timestamp, u64)>,
    hello: Option<(Timestamp, u64, QuicHandshake)>,
    emitted: bool,
}

/// Client bytes held, at most, before a TCP flow's protocol is decided.
const PROBE_MAX: usize = 16;

/// The dissector for a TCP flow whose client sent `probe` first; `None`
/// while `probe` is a prefix that could still become TLS or HTTP.
fn recognise(flow: &FlowInfo, probe: &[u8]) -> Option<State> {
    if tls::is_tls_start(probe) {
        return Some(State::Tls(Box::new(TlsState {
            readers: [TlsReader::new(), TlsReader::new()],
            hello: TlsHandshake::default(),
            at: None,
            emitted: false,
            decrypt: None,
        })));
    }
    if crate::http::is_http_request_start(probe) {
        return Some(State::Http(Box::default()));
    }
    if let Some(flavor) = dns_flavor(flow) {
        return Some(State::Dns(Box::new(DnsState {
            flavor,
            framers: Some([TcpFramer::new(), TcpFramer::new()]),
        })));
    }
    let maybe_tls = probe.first() == Some(&0x16) && probe.get(1).is_none_or(|&b| b == 3);
    let maybe_http = probe
        .iter()
        .all(|b| b.is_ascii_uppercase() || *b == b'-' || *b == b'_');
    if maybe_tls || maybe_http {
        None
    } else {
        Some(State::Unknown([0; 2]))
    }
}

/// Client datagrams remembered per QUIC flow; a ClientHello spans a few.
const MAX_QUIC_DATAGRAMS: usize = 64;

struct DnsState {
    flavor: DnsFlavor,
    /// DNS over TCP: one framer per direction.
    framers: Option<[TcpFramer; 2]>,
}

struct TlsState {
    readers: [TlsReader; 2],
    hello: TlsHandshake,
    /// Where the ClientHello started.
    at: Option<(Timestamp, u64)>,
    emitted: bool,
    /// Decryption, when a key log was given, and what the plaintext holds.
    decrypt: Option<Box<Decrypt>>,
}

struct Decrypt {
    decryptor: TlsDecryptor,
    /// HTTP/1.x inside, once the client's plaintext shows it.
    http: Option<HttpState>,
    /// The client's plaintext did not start like HTTP/1.x.
    not_http: bool,
}

impl<S: AppSink> Dissectors<S> {
    /// Dissectors that report to `sink`.
    pub fn new(sink: S) -> Self {
        Dissectors::with_keys(sink, Arc::new(KeyLog::new()))
    }

    /// Dissectors that also decrypt TLS flows whose secrets are in `keys`
    /// (HTTP/1.x found inside is reported like cleartext HTTP, marked
    /// decrypted).
    pub fn with_keys(sink: S, keys: Arc<KeyLog>) -> Self {
        Dissectors {
            flows: HashMap::with_hasher(foldhash::fast::RandomState::default()),
            sink,
            stats: DissectStats::default(),
            keys,
            body_limits: BodyLimits::default(),
        }
    }

    /// Sets what one HTTP body may cost (kept raw bytes, decoded bytes,
    /// decompression ratio); the defaults hold a gzip bomb to 4 MiB.
    pub fn set_body_limits(&mut self, limits: BodyLimits) {
        self.body_limits = limits;
    }

    /// Adds secrets met in the capture itself (pcapng Decryption Secrets
    /// Blocks); flows that start after this can use them.
    pub fn add_capture_secrets(&mut self, secrets: &[telltale_decode::CaptureSecrets]) {
        let found = KeyLog::from_capture_secrets(secrets);
        if !found.is_empty() {
            Arc::make_mut(&mut self.keys).merge(found);
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> DissectStats {
        self.stats
    }

    /// The sink, with everything reported to it.
    pub fn into_sink(self) -> S {
        self.sink
    }

    /// The sink, while dissecting goes on.
    pub fn sink_mut(&mut self) -> &mut S {
        &mut self.sink
    }

    fn datagram(&mut self, flow: &FlowInfo, dir: Dir, ts: Timestamp, frame: u64, bytes: &[u8]) {
        let state = self.flows.entry(flow.id).or_insert(State::Undecided);
        if matches!(state, State::Undecided) {
            *state = if let Some(flavor) = dns_flavor(flow) {
                State::Dns(Box::new(DnsState {
                    flavor,
                    framers: None,
                }))
            } else if let Some(v6) = dhcp_version(flow) {
                State::Dhcp { v6 }
            } else if dir == Dir::ToServer && crate::quic::is_quic_initial(bytes) {
                State::Quic(Box::new(QuicState {
                    reader: QuicInitialReader::new(),
                    client_frames: Vec::new(),
                    hello: None,
                    emitted: false,
                }))
            } else if dir == Dir::ToClient {
                // A server speaking first does not decide; wait for the client.
                return;
            } else {
                State::Unknown([0; 2])
            };
            if let Some(app) = state.app() {
                self.sink.flow_app(flow.id, app);
            }
        }
        match state {
            State::Dns(d) => match dns::parse_message(bytes) {
                Ok(message) => self.sink.app_event(AppEvent {
                    flow: flow.id,
                    ts,
                    frame,
                    kind: AppEventKind::Dns(DnsEvent {
                        flavor: d.flavor,
                        message,
                    }),
                }),
                Err(_) => self.stats.dns_errors += 1,
            },
            State::Dhcp { v6 } => {
                let parsed = if *v6 {
                    dhcp::parse_v6(bytes).map(|m| DhcpEvent::V6(Box::new(m)))
                } else {
                    dhcp::parse_v4(bytes).map(|m| DhcpEvent::V4(Box::new(m)))
                };
                match parsed {
                    Ok(ev) => self.sink.app_event(AppEvent {
                        flow: flow.id,
                        ts,
                        frame,
                        kind: AppEventKind::Dhcp(ev),
                    }),
                    Err(_) => self.stats.dhcp_errors += 1,
                }
            }
            State::Quic(q) => {
                if q.reader.done() {
                    return;
                }
                match dir {
                    Dir::ToServer => {
                        if q.client_frames.len() < MAX_QUIC_DATAGRAMS {
                            q.client_frames.push((ts, frame));
                        }
                        if let Some(h) = q.reader.feed(bytes) {
                            let first = (h.first_datagram as usize).saturating_sub(1);
                            let (ts, frame) =
                                q.client_frames.get(first).copied().unwrap_or((ts, frame));
                            q.hello = Some((
                                ts,
                                frame,
                                QuicHandshake {
                                    version: h.version,
                                    client: h.client_hello,
                                    server: None,
                                },
                            ));
                        }
                    }
                    Dir::ToClient => {
                        if let Some(sh) = q.reader.feed_server(bytes)
                            && !sh.server_hello.hello_retry_request
                            && let Some((_, _, h)) = q.hello.as_mut()
                        {
                            h.server = Some(sh.server_hello);
                        }
                    }
                }
                if q.reader.done() || q.hello.as_ref().is_some_and(|h| h.2.server.is_some()) {
                    emit_quic(flow.id, q, &mut self.sink);
                }
            }
            State::Unknown(sent) => opaque(
                flow.id,
                Proto::Udp,
                dir,
                ts,
                frame,
                bytes,
                sent,
                &mut self.sink,
            ),
            _ => {}
        }
    }

    fn stream(&mut self, flow: &FlowInfo, dir: Dir, ts: Timestamp, frame: u64, bytes: &[u8]) {
        let state = self.flows.entry(flow.id).or_insert(State::Undecided);
        // The client's first bytes, held while too few to decide on.
        let mut held: Option<Vec<u8>> = None;
        let mut first_at = (ts, frame);
        if matches!(state, State::Undecided | State::Probing(..)) {
            // Decide on the client's first bytes; a server that speaks first
            // (SSH, SMTP banners) does not decide what the client speaks.
            if dir == Dir::ToClient {
                return;
            }
            if let State::Probing(prev, first_ts, first_frame) = state {
                let mut all = std::mem::take(prev);
                all.extend_from_slice(bytes);
                held = Some(all);
                first_at = (*first_ts, *first_frame);
            }
            let probe = held.as_deref().unwrap_or(bytes);
            *state = match recognise(flow, probe) {
                Some(new) => new,
                None if probe.len() < PROBE_MAX => {
                    // Evasion tools split the first segment into 1-2 bytes
                    // (`\x16`, `GE`): wait for more before giving up.
                    State::Probing(probe.to_vec(), first_at.0, first_at.1)
                }
                None => State::Unknown([0; 2]),
            };
            if let Some(app) = state.app() {
                self.sink.flow_app(flow.id, app);
            }
        }
        let bytes = held.as_deref().unwrap_or(bytes);
        match state {
            State::Dns(d) => {
                let Some(framers) = d.framers.as_mut() else {
                    return;
                };
                for msg in framers[dir.index()].push(bytes) {
                    match dns::parse_message(&msg) {
                        Ok(message) => self.sink.app_event(AppEvent {
                            flow: flow.id,
                            ts,
                            frame,
                            kind: AppEventKind::Dns(DnsEvent {
                                flavor: d.flavor,
                                message,
                            }),
                        }),
                        Err(_) => self.stats.dns_errors += 1,
                    }
                }
            }
            State::Tls(t) => {
                if t.decrypt.is_none() && !self.keys.is_empty() && t.at.is_none() {
                    t.decrypt = Some(Box::new(Decrypt {
                        decryptor: TlsDecryptor::new(),
                        http: None,
                        not_http: false,
                    }));
                }
                if dir == Dir::ToServer && t.at.is_none() {
                    // The ClientHello opens the client's stream: it starts
                    // in the first packet that carried client bytes.
                    t.at = Some(first_at);
                }
                if let Some(d) = t.decrypt.as_mut() {
                    decrypted(
                        flow.id,
                        d,
                        &self.keys,
                        &self.body_limits,
                        dir,
                        ts,
                        frame,
                        bytes,
                        &mut self.sink,
                    );
                }
                let reader = &mut t.readers[dir.index()];
                if reader.done() {
                    return;
                }
                for ev in reader.feed(bytes) {
                    match ev {
                        tls::TlsEvent::ClientHello(ch) if t.hello.client.is_none() => {
                            t.hello.client = Some(ch);
                        }
                        tls::TlsEvent::ServerHello(sh) if !sh.hello_retry_request => {
                            t.hello.server = Some(sh);
                        }
                        tls::TlsEvent::Certificates(chain) => t.hello.certificates = chain,
                        _ => {}
                    }
                }
                if reader.done()
                    && reader
                        .error()
                        .is_some_and(|e| !matches!(e, tls::TlsError::Gap))
                {
                    self.stats.tls_errors += 1;
                }
                // Certificates follow the ServerHello in TLS ≤ 1.2: report once
                // the server side has nothing more to say in the clear.
                if t.hello.client.is_some() && t.readers[Dir::ToClient.index()].done() {
                    emit_tls(flow.id, t, &mut self.sink);
                }
            }
            State::Http(h) => {
                h.limits = self.body_limits;
                h.feed(dir, bytes, ts, frame);
                if h.failed() {
                    self.stats.http_errors += 1;
                }
                h.drain(flow.id, false, &mut self.sink);
            }
            State::Unknown(sent) => opaque(
                flow.id,
                Proto::Tcp,
                dir,
                ts,
                frame,
                bytes,
                sent,
                &mut self.sink,
            ),
            State::Undecided | State::Probing(..) | State::Quic(_) | State::Dhcp { .. } => {}
        }
    }

    fn gap(&mut self, flow: FlowId, dir: Dir, len: u64) {
        match self.flows.get_mut(&flow) {
            Some(State::Dns(d)) => {
                if let Some(f) = d.framers.as_mut() {
                    f[dir.index()].gap(len);
                }
            }
            Some(State::Tls(t)) => {
                t.readers[dir.index()].gap(len);
                if let Some(d) = t.decrypt.as_mut() {
                    d.decryptor.gap(dir);
                }
            }
            Some(State::Http(h)) => h.gap(dir, len),
            // Bytes lost before anything was seen: the protocol can still be
            // recognised from what comes after.
            _ => {}
        }
    }

    fn close(&mut self, summary: &FlowSummary) {
        let id = summary.info.id;
        let state = self.flows.remove(&id);
        let app = state
            .as_ref()
            .and_then(State::app)
            .unwrap_or(AppProto::Unknown);
        match state {
            Some(State::Tls(mut t)) => {
                emit_tls(id, &mut t, &mut self.sink);
                if let Some(h) = t.decrypt.as_mut().and_then(|d| d.http.as_mut()) {
                    h.finish();
                    h.drain(id, true, &mut self.sink);
                }
            }
            Some(State::Quic(mut q)) => emit_quic(id, &mut q, &mut self.sink),
            Some(State::Http(mut h)) => {
                h.finish();
                h.drain(id, true, &mut self.sink);
            }
            _ => {}
        }
        self.sink.flow_end(summary, app);
    }
}

fn emit_tls(flow: FlowId, t: &mut TlsState, sink: &mut impl AppSink) {
    if t.emitted || t.hello.client.is_none() && t.hello.server.is_none() {
        return;
    }
    t.emitted = true;
    let (ts, frame) = t.at.unwrap_or((Timestamp::default(), flow.0));
    sink.app_event(AppEvent {
        flow,
        ts,
        frame,
        kind: AppEventKind::Tls(std::mem::take(&mut t.hello)),
    });
}

/// Decrypts a TLS flow's bytes and dissects the HTTP/1.x inside.
#[allow(clippy::too_many_arguments)]
fn decrypted(
    flow: FlowId,
    d: &mut Decrypt,
    keys: &KeyLog,
    limits: &BodyLimits,
    dir: Dir,
    ts: Timestamp,
    frame: u64,
    bytes: &[u8],
    sink: &mut impl AppSink,
) {
    if d.decryptor.done() || d.not_http {
        return;
    }
    for plain in d.decryptor.feed(keys, dir, bytes) {
        if d.http.is_none() {
            if plain.dir == Dir::ToServer && crate::http::is_http_request_start(&plain.bytes) {
                d.http = Some(HttpState {
                    decrypted: true,
                    ..HttpState::default()
                });
            } else if plain.dir == Dir::ToServer {
                // HTTP/2 or another protocol: nothing more to read here.
                d.not_http = true;
                return;
            } else {
                continue;
            }
        }
        if let Some(h) = d.http.as_mut() {
            h.limits = *limits;
            h.feed(plain.dir, &plain.bytes, ts, frame);
            h.drain(flow, false, sink);
        }
    }
}

/// Payload bytes of unknown protocols handed on, per direction, at most.
const OPAQUE_MAX: usize = 64 * 1024;

#[allow(clippy::too_many_arguments)]
fn opaque(
    flow: FlowId,
    proto: Proto,
    dir: Dir,
    ts: Timestamp,
    frame: u64,
    bytes: &[u8],
    sent: &mut [usize; 2],
    sink: &mut impl AppSink,
) {
    let room = OPAQUE_MAX.saturating_sub(sent[dir.index()]);
    let take = bytes.len().min(room);
    if take == 0 {
        return;
    }
    sent[dir.index()] += take;
    sink.app_event(AppEvent {
        flow,
        ts,
        frame,
        kind: AppEventKind::Opaque(OpaquePayload {
            proto,
            dir,
            bytes: bytes[..take].to_vec(),
        }),
    });
}

fn emit_quic(flow: FlowId, q: &mut QuicState, sink: &mut impl AppSink) {
    if q.emitted {
        return;
    }
    if let Some((ts, frame, hello)) = q.hello.take() {
        q.emitted = true;
        sink.app_event(AppEvent {
            flow,
            ts,
            frame,
            kind: AppEventKind::Quic(hello),
        });
    }
}

/// DHCP by its fixed ports: `Some(false)` for DHCPv4 (67/68), `Some(true)`
/// for DHCPv6 (546/547).
fn dhcp_version(flow: &FlowInfo) -> Option<bool> {
    if flow.proto != Proto::Udp {
        return None;
    }
    let ports = [flow.server.port(), flow.client.port()];
    if ports.contains(&67) || ports.contains(&68) {
        Some(false)
    } else if ports.contains(&546) || ports.contains(&547) {
        Some(true)
    } else {
        None
    }
}

/// Name-resolution protocols by well-known port (either end).
fn dns_flavor(flow: &FlowInfo) -> Option<DnsFlavor> {
    let ports = [flow.server.port(), flow.client.port()];
    if ports.contains(&53) {
        Some(DnsFlavor::Dns)
    } else if ports.contains(&5353) && flow.proto == Proto::Udp {
        Some(DnsFlavor::Mdns)
    } else if ports.contains(&5355) {
        Some(DnsFlavor::Llmnr)
    } else {
        None
    }
}

impl<S: AppSink> FlowSink for Dissectors<S> {
    fn on_event(&mut self, event: FlowEvent<'_>) {
        match event.kind {
            FlowEventKind::Open => {
                self.flows.insert(event.flow.id, State::Undecided);
                self.sink.flow_start(event.flow, event.ts);
            }
            FlowEventKind::Datagram { dir, bytes } => {
                self.datagram(event.flow, dir, event.ts, event.frame, bytes)
            }
            FlowEventKind::Data { dir, bytes, .. } => {
                self.stream(event.flow, dir, event.ts, event.frame, bytes)
            }
            FlowEventKind::Gap { dir, len, .. } => self.gap(event.flow.id, dir, len),
            FlowEventKind::Close(summary) => self.close(summary),
            _ => {}
        }
    }
}

/// HTTP/1.x on one connection: requests and responses paired first in,
/// first out, as HTTP/1.1 pipelining requires.
#[derive(Default)]
struct HttpState {
    requests: HttpRequestReader,
    responses: HttpResponseReader,
    /// Requests whose response has not been read, with where they started.
    pending: VecDeque<(Timestamp, u64, HttpTransaction, bool)>,
    /// Index in `pending` of the request whose body is being read.
    req_body: Option<usize>,
    /// Index in `pending` of the request whose response is being read.
    resp_at: usize,
    /// Transactions ready to report, in order.
    ready: usize,
    /// Whether the last chunk made a reader give up (counted once).
    failed_now: bool,
    /// An interim (1xx) response is being read: its end is not the end of
    /// the request's response.
    interim: bool,
    /// Requests pushed out of `pending` by its cap, to report unanswered.
    overflow: Vec<(Timestamp, u64, HttpTransaction, bool)>,
    /// The body being read in each direction, and its Content-Encoding.
    bodies: [(BodyBuf, Option<Vec<u8>>); 2],
    /// This HTTP was read from decrypted TLS.
    decrypted: bool,
    /// What one body may cost (the dissectors' setting, copied in before
    /// each feed).
    limits: BodyLimits,
}

/// Requests awaiting a response, at most; as many as the response reader
/// remembers methods for.
const MAX_PENDING_HTTP: usize = 256;

impl HttpState {
    fn feed(&mut self, dir: Dir, bytes: &[u8], ts: Timestamp, frame: u64) {
        let was_ok = self.requests.error().is_none() && self.responses.error().is_none();
        match dir {
            Dir::ToServer => {
                if !self.requests.done() {
                    let events = self.requests.feed(bytes);
                    self.on_requests(events, ts, frame);
                }
            }
            Dir::ToClient => {
                if !self.responses.done() {
                    let events = self.responses.feed(bytes);
                    self.on_responses(events);
                }
            }
        }
        let is_ok = self.requests.error().is_none() && self.responses.error().is_none();
        self.failed_now = was_ok && !is_ok;
    }

    fn failed(&self) -> bool {
        self.failed_now
    }

    fn gap(&mut self, dir: Dir, len: u64) {
        match dir {
            Dir::ToServer => {
                let events = self.requests.gap(len);
                self.on_requests(events, Timestamp::default(), 0);
            }
            Dir::ToClient => {
                let events = self.responses.gap(len);
                self.on_responses(events);
            }
        }
    }

    fn finish(&mut self) {
        let events = self.requests.finish();
        self.on_requests(events, Timestamp::default(), 0);
        let events = self.responses.finish();
        self.on_responses(events);
    }

    fn on_requests(&mut self, events: Vec<HttpEvent<'_, Request>>, ts: Timestamp, frame: u64) {
        for ev in events {
            match ev {
                HttpEvent::Head(req) => {
                    self.responses.push_request_method(&req.method);
                    self.bodies[0] = (
                        BodyBuf::default(),
                        req.header("content-encoding").map(<[u8]>::to_vec),
                    );
                    let t = HttpTransaction {
                        decrypted: self.decrypted,
                        protocol: format!("HTTP/1.{}", req.version),
                        request_headers: req.headers.clone(),
                        method: req.method,
                        uri: req.uri,
                        host: req.host,
                        user_agent: req.user_agent,
                        ..HttpTransaction::default()
                    };
                    if self.pending.len() >= MAX_PENDING_HTTP
                        && let Some(oldest) = self.pending.pop_front()
                    {
                        self.overflow.push(oldest);
                        self.resp_at = self.resp_at.saturating_sub(1);
                        self.ready = self.ready.saturating_sub(1);
                        self.req_body = self.req_body.and_then(|i| i.checked_sub(1));
                    }
                    self.req_body = Some(self.pending.len());
                    self.pending.push_back((ts, frame, t, false));
                }
                HttpEvent::Body(chunk) => self.bodies[0].0.push(chunk, &self.limits),
                HttpEvent::End { body_len, .. } => {
                    let (buf, coding) = std::mem::take(&mut self.bodies[0]);
                    if let Some(t) = self.req_body.take().and_then(|i| self.pending.get_mut(i)) {
                        t.2.request_body_len = body_len;
                        if !buf.is_empty() {
                            let body = buf.finish(coding.as_deref(), &self.limits);
                            t.2.request_body_capped = body.status == BodyStatus::Capped;
                            t.2.request_body = Some(body);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    fn on_responses(&mut self, events: Vec<HttpEvent<'_, Response>>) {
        for ev in events {
            match ev {
                HttpEvent::Head(resp) => {
                    // Interim 1xx responses (100-continue, 103 hints) precede
                    // the final one: skip the head and its end.
                    if (100..200).contains(&resp.status) && resp.status != 101 {
                        self.interim = true;
                        continue;
                    }
                    self.bodies[1] = (
                        BodyBuf::default(),
                        resp.header("content-encoding").map(<[u8]>::to_vec),
                    );
                    if let Some(t) = self.pending.get_mut(self.resp_at) {
                        t.2.status = Some(resp.status);
                        t.2.response_content_type = resp
                            .header("content-type")
                            .map(|v| String::from_utf8_lossy(v).into_owned());
                    }
                }
                HttpEvent::Body(chunk) => self.bodies[1].0.push(chunk, &self.limits),
                HttpEvent::End { body_len, .. } => {
                    if std::mem::take(&mut self.interim) {
                        continue;
                    }
                    let (buf, coding) = std::mem::take(&mut self.bodies[1]);
                    if let Some(t) = self.pending.get_mut(self.resp_at) {
                        t.2.response_body_len = body_len;
                        if !buf.is_empty() {
                            let body = buf.finish(coding.as_deref(), &self.limits);
                            t.2.response_body_capped = body.status == BodyStatus::Capped;
                            t.2.response_body = Some(body);
                        }
                        t.3 = true;
                        self.resp_at += 1;
                        self.ready = self.resp_at;
                    }
                }
                _ => {}
            }
        }
    }

    /// Reports finished transactions (all of them when the flow ended).
    fn drain(&mut self, flow: FlowId, all: bool, sink: &mut impl AppSink) {
        for (ts, frame, t, _) in self.overflow.drain(..) {
            sink.app_event(AppEvent {
                flow,
                ts,
                frame,
                kind: AppEventKind::Http(t),
            });
        }
        let n = if all {
            self.pending.len()
        } else {
            self.ready.min(self.pending.len())
        };
        for (ts, frame, t, _) in self.pending.drain(..n) {
            sink.app_event(AppEvent {
                flow,
                ts,
                frame,
                kind: AppEventKind::Http(t),
            });
        }
        self.resp_at = self.resp_at.saturating_sub(n);
        self.ready = self.ready.saturating_sub(n);
        self.req_body = self.req_body.and_then(|i| i.checked_sub(n));
    }
}

#[cfg(test)]
mod tests_support {
    use super::*;
    use telltale_flow::{DirStats, EndReason};

    /// Events, each flow's protocol at its end, and each protocol decided
    /// with the number of events seen by then.
    #[derive(Default)]
    pub(super) struct Collect(
        pub(super) Vec<AppEvent>,
        pub(super) Vec<AppProto>,
        pub(super) Vec<(AppProto, usize)>,
    );

    impl AppSink for Collect {
        fn app_event(&mut self, event: AppEvent) {
            self.0.push(event);
        }
        fn flow_end(&mut self, _: &FlowSummary, app: AppProto) {
            self.1.push(app);
        }
        fn flow_app(&mut self, _: FlowId, app: AppProto) {
            self.2.push((app, self.0.len()));
        }
    }

    fn info(server_port: u16) -> FlowInfo {
        FlowInfo {
            id: FlowId(1),
            proto: Proto::Tcp,
            client: "10.0.0.2:40000".parse().unwrap(),
            server: format!("10.0.0.1:{server_port}").parse().unwrap(),
        }
    }

    /// Feeds stream chunks `(dir, bytes)` through a fresh dissector set.
    pub(super) fn run(port: u16, chunks: &[(Dir, &[u8])]) -> Collect {
        let flow = info(port);
        let mut d = Dissectors::new(Collect::default());
        let ev = |kind| FlowEvent {
            flow: &flow,
            ts: Timestamp::from_nanos(0),
            frame: 1,
            kind,
        };
        d.on_event(ev(FlowEventKind::Open));
        let mut offsets = [0u64; 2];
        for (i, (dir, bytes)) in chunks.iter().enumerate() {
            let offset = offsets[dir.index()];
            offsets[dir.index()] += bytes.len() as u64;
            d.on_event(FlowEvent {
                flow: &flow,
                ts: Timestamp::from_nanos(i as i64),
                frame: i as u64 + 1,
                kind: FlowEventKind::Data {
                    dir: *dir,
                    offset,
                    bytes,
                },
            });
        }
        let summary = FlowSummary {
            info: flow,
            first_ts: Timestamp::from_nanos(0),
            last_ts: Timestamp::from_nanos(0),
            to_server: DirStats::default(),
            to_client: DirStats::default(),
            tcp_state: None,
            client_from_handshake: true,
            end_reason: EndReason::CaptureEnd,
        };
        d.on_event(ev(FlowEventKind::Close(&summary)));
        d.into_sink()
    }

    #[test]
    fn first_segment_split_into_tiny_pieces_is_still_recognised() {
        let mut hello = vec![0x16, 3, 1, 0, 45, 1, 0, 0, 41, 3, 3];
        hello.extend([0; 32]);
        hello.extend([0, 0, 2, 0x13, 0x01, 1, 0]);
        let c = run(
            8443,
            &[
                (Dir::ToServer, &hello[..1]),
                (Dir::ToServer, &hello[1..2]),
                (Dir::ToServer, &hello[2..]),
            ],
        );
        assert_eq!(c.1, [AppProto::Tls]);
        // Told once the probe decided, before the event, as the end says.
        assert_eq!(c.2, [(AppProto::Tls, 0)]);
        assert_eq!(c.0.len(), 1);
        // The hello is dated by the packet that carried its first byte.
        assert_eq!(c.0[0].frame, 1);
        let c = run(
            80,
            &[
                (Dir::ToServer, b"GE"),
                (
                    Dir::ToServer,
                    b"T / HTTP/1.1\r\nHost: split.example\r\n\r\n",
                ),
            ],
        );
        assert_eq!(c.1, [AppProto::Http]);
        assert_eq!(c.2, [(AppProto::Http, 0)]);
        let AppEventKind::Http(h) = &c.0[0].kind else {
            panic!()
        };
        assert_eq!(h.host.as_deref(), Some("split.example"));
        // Not a protocol we know: decided at once, nothing held.
        let c = run(22, &[(Dir::ToServer, b"SSH-2.0-x\r\n")]);
        assert_eq!(c.1, [AppProto::Unknown]);
        assert_eq!(c.2, [(AppProto::Unknown, 0)]);
        // A flow that ends undecided is never told of.
        let c = run(8443, &[(Dir::ToServer, &hello[..1])]);
        assert_eq!(
            (c.1.as_slice(), c.2.as_slice()),
            ([AppProto::Unknown].as_slice(), [].as_slice())
        );
    }

    /// Datagram flows are decided on their first datagram (DNS by port,
    /// whichever side sends it), or on the client's first when the server
    /// speaks first; the sink hears of it before the flow's first event.
    #[test]
    fn datagram_flows_are_told_their_protocol_before_their_events() {
        // A DNS query for a.example, type A.
        let query = [
            0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, b'a', 7, b'e', b'x', b'a', b'm', b'p',
            b'l', b'e', 0, 0, 1, 0, 1,
        ];
        let run = |port: u16, datagrams: &[(Dir, &[u8])]| {
            let flow = FlowInfo {
                id: FlowId(1),
                proto: Proto::Udp,
                client: "10.0.0.2:40000".parse().unwrap(),
                server: format!("10.0.0.1:{port}").parse().unwrap(),
            };
            let mut d = Dissectors::new(Collect::default());
            for (i, (dir, bytes)) in datagrams.iter().enumerate() {
                d.on_event(FlowEvent {
                    flow: &flow,
                    ts: Timestamp::from_nanos(i as i64),
                    frame: i as u64 + 1,
                    kind: FlowEventKind::Datagram { dir: *dir, bytes },
                });
            }
            d.into_sink()
        };
        let c = run(53, &[(Dir::ToServer, &query[..])]);
        assert_eq!(
            (c.2.as_slice(), c.0.len()),
            ([(AppProto::Dns, 0)].as_slice(), 1)
        );
        // The server speaks first: nothing is decided until the client does.
        let c = run(9999, &[(Dir::ToClient, b"hello"), (Dir::ToServer, b"hi")]);
        assert_eq!(c.2, [(AppProto::Unknown, 0)]);
        assert!(!c.0.is_empty(), "the client's bytes, as opaque payload");
        let c = run(9999, &[(Dir::ToClient, b"hello")]);
        assert!(c.2.is_empty());
    }

    #[test]
    fn interim_response_does_not_end_the_exchange() {
        let c = run(
            80,
            &[
                (Dir::ToServer, b"POST /up HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n"),
                (Dir::ToClient, b"HTTP/1.1 100 Continue\r\n\r\n"),
                (Dir::ToServer, b"abc"),
                (Dir::ToClient, b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"),
            ],
        );
        let statuses: Vec<Option<u16>> =
            c.0.iter()
                .map(|e| match &e.kind {
                    AppEventKind::Http(h) => h.status,
                    _ => None,
                })
                .collect();
        assert_eq!(statuses, [Some(201)]);
    }
}

#[cfg(test)]
mod body_tests {
    use super::tests_support::*;
    use super::*;
    use std::io::Write;

    #[test]
    fn request_and_response_bodies_are_decoded() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(b"imei=865123456789019").unwrap();
        let body = gz.finish().unwrap();
        let mut req = format!(
            "POST /a HTTP/1.1\r\nHost: h\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        req.extend_from_slice(&body);
        let c = run(
            80,
            &[
                (Dir::ToServer, &req),
                (
                    Dir::ToClient,
                    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{}\n\r\n0\r\n\r\n",
                ),
            ],
        );
        let AppEventKind::Http(h) = &c.0[0].kind else {
            panic!()
        };
        let b = h.request_body.as_ref().unwrap();
        assert_eq!(b.bytes, b"imei=865123456789019");
        assert_eq!(h.response_body.as_ref().unwrap().bytes, b"{}\n");
        assert!(
            h.request_headers
                .iter()
                .any(|(n, v)| n == "Content-Encoding" && v == b"gzip")
        );
    }
}
