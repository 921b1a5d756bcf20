//! The dissector framework: flow events in, application events out.

use std::collections::HashMap;

use telltale_decode::Timestamp;
use telltale_flow::{
    Dir, FlowEvent, FlowEventKind, FlowId, FlowInfo, FlowSink, FlowSummary, Proto,
};

use crate::dns::{self, TcpFramer};
use crate::event::HttpTransaction;
use crate::event::{AppEvent, AppEventKind, AppProto, DnsEvent, DnsFlavor, TlsHandshake};
use crate::http::{HttpEvent, HttpRequestReader, HttpResponseReader, Request, Response};
use crate::tls::{self, TlsReader};
use std::collections::VecDeque;

/// Receives what the dissectors find.
pub trait AppSink {
    /// An application event, in the order found.
    fn app_event(&mut self, event: AppEvent);
    /// A flow ended; `app` is the protocol it was recognised as.
    fn flow_end(&mut self, summary: &FlowSummary, app: AppProto);
}

/// Counters of the dissectors.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DissectStats {
    /// DNS messages that did not parse.
    pub dns_errors: u64,
    /// TLS streams abandoned on malformed records.
    pub tls_errors: u64,
    /// HTTP streams abandoned on malformed or oversized heads.
    pub http_errors: u64,
}

/// Runs the right dissector on every flow and sends what they find to an
/// [`AppSink`]. It is the [`FlowSink`] of the flow stage.
///
/// Protocols are recognised by content where the content says it (a TLS
/// record header, an HTTP method), so TLS and HTTP are found on any port; DNS,
/// mDNS and LLMNR by their well-known ports, with the message parsed to
/// confirm.
pub struct Dissectors<S> {
    flows: HashMap<FlowId, State>,
    sink: S,
    stats: DissectStats,
}

enum State {
    /// No payload yet.
    Undecided,
    /// Not a protocol we dissect; payload is ignored.
    Unknown,
    Dns(Box<DnsState>),
    Tls(Box<TlsState>),
    Http(Box<HttpState>),
}

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
}

impl<S: AppSink> Dissectors<S> {
    /// Dissectors that report to `sink`.
    pub fn new(sink: S) -> Self {
        Dissectors {
            flows: HashMap::new(),
            sink,
            stats: DissectStats::default(),
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

    fn datagram(&mut self, flow: &FlowInfo, ts: Timestamp, frame: u64, bytes: &[u8]) {
        let state = self.flows.entry(flow.id).or_insert(State::Undecided);
        if matches!(state, State::Undecided) {
            *state = match dns_flavor(flow) {
                Some(flavor) => State::Dns(Box::new(DnsState {
                    flavor,
                    framers: None,
                })),
                None => State::Unknown,
            };
        }
        if let State::Dns(d) = state {
            match dns::parse_message(bytes) {
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

    fn stream(&mut self, flow: &FlowInfo, dir: Dir, ts: Timestamp, frame: u64, bytes: &[u8]) {
        let state = self.flows.entry(flow.id).or_insert(State::Undecided);
        if matches!(state, State::Undecided) {
            // Decide on the client's first bytes; a server that speaks first
            // (SSH, SMTP banners) does not decide what the client speaks.
            if dir == Dir::ToClient {
                return;
            }
            *state = if tls::is_tls_start(bytes) {
                State::Tls(Box::new(TlsState {
                    readers: [TlsReader::new(), TlsReader::new()],
                    hello: TlsHandshake::default(),
                    at: None,
                    emitted: false,
                }))
            } else if crate::http::is_http_request_start(bytes) {
                State::Http(Box::default())
            } else if let Some(flavor) = dns_flavor(flow) {
                State::Dns(Box::new(DnsState {
                    flavor,
                    framers: Some([TcpFramer::new(), TcpFramer::new()]),
                }))
            } else {
                State::Unknown
            };
        }
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
                if t.readers[dir.index()].done() {
                    return;
                }
                if dir == Dir::ToServer && t.at.is_none() {
                    // The ClientHello opens the client's stream: it starts
                    // in the first packet that carried client bytes.
                    t.at = Some((ts, frame));
                }
                let reader = &mut t.readers[dir.index()];
                for ev in reader.feed(bytes) {
                    match ev {
                        tls::TlsEvent::ClientHello(ch) if t.hello.client.is_none() => {
                            t.hello.client = Some(ch);
                        }
                        tls::TlsEvent::ServerHello(sh) if !sh.hello_retry_request => {
                            t.hello.server = Some(sh);
                        }
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
                if t.hello.client.is_some() && t.hello.server.is_some() {
                    emit_tls(flow.id, t, &mut self.sink);
                }
            }
            State::Http(h) => {
                h.feed(dir, bytes, ts, frame);
                if h.failed() {
                    self.stats.http_errors += 1;
                }
                h.drain(flow.id, false, &mut self.sink);
            }
            State::Undecided | State::Unknown => {}
        }
    }

    fn gap(&mut self, flow: FlowId, dir: Dir, len: u64) {
        match self.flows.get_mut(&flow) {
            Some(State::Dns(d)) => {
                if let Some(f) = d.framers.as_mut() {
                    f[dir.index()].gap(len);
                }
            }
            Some(State::Tls(t)) => t.readers[dir.index()].gap(len),
            Some(State::Http(h)) => h.gap(dir, len),
            // Bytes lost before anything was seen: the protocol can still be
            // recognised from what comes after.
            _ => {}
        }
    }

    fn close(&mut self, summary: &FlowSummary) {
        let id = summary.info.id;
        let app = match self.flows.remove(&id) {
            Some(State::Dns(d)) => match d.flavor {
                DnsFlavor::Dns => AppProto::Dns,
                DnsFlavor::Mdns => AppProto::Mdns,
                DnsFlavor::Llmnr => AppProto::Llmnr,
            },
            Some(State::Tls(mut t)) => {
                emit_tls(id, &mut t, &mut self.sink);
                AppProto::Tls
            }
            Some(State::Http(mut h)) => {
                h.finish();
                h.drain(id, true, &mut self.sink);
                AppProto::Http
            }
            _ => AppProto::Unknown,
        };
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
            }
            FlowEventKind::Datagram { bytes, .. } => {
                self.datagram(event.flow, event.ts, event.frame, bytes)
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
}

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
                    let t = HttpTransaction {
                        protocol: format!("HTTP/1.{}", req.version),
                        method: req.method,
                        uri: req.uri,
                        host: req.host,
                        user_agent: req.user_agent,
                        ..HttpTransaction::default()
                    };
                    self.req_body = Some(self.pending.len());
                    self.pending.push_back((ts, frame, t, false));
                }
                HttpEvent::End { body_len, .. } => {
                    if let Some(t) = self.req_body.take().and_then(|i| self.pending.get_mut(i)) {
                        t.2.request_body_len = body_len;
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
                    // Interim 1xx responses precede the final one.
                    if (100..200).contains(&resp.status) && resp.status != 101 {
                        continue;
                    }
                    if let Some(t) = self.pending.get_mut(self.resp_at) {
                        t.2.status = Some(resp.status);
                        t.2.response_content_type = resp
                            .header("content-type")
                            .map(|v| String::from_utf8_lossy(v).into_owned());
                    }
                }
                HttpEvent::End { body_len, .. } => {
                    if let Some(t) = self.pending.get_mut(self.resp_at) {
                        t.2.response_body_len = body_len;
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
