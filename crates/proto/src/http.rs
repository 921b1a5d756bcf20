//! HTTP/1.x message heads and body framing over a reassembled TCP stream.
//!
//! One reader per direction: [`HttpRequestReader`] for client-to-server bytes,
//! [`HttpResponseReader`] for server-to-client bytes. Each turns the stream,
//! whatever its segmentation, into [`HttpEvent`]s: a parsed head, the body
//! bytes (de-chunked, borrowed from the fed chunk, never buffered), the end of
//! the message, or a switch to another protocol ([`HttpEvent::Tunnel`]).
//! Heads are parsed with `httparse`, leniently where browsers are lenient.
//!
//! ```
//! use telltale_proto::http::{HttpEvent, HttpRequestReader};
//!
//! let mut reader = HttpRequestReader::new();
//! let events = reader.feed(b"GET /a HTTP/1.1\r\nHost: example.com\r\n\r\nGET /b HTTP/1.1\r\n\r\n");
//! let uris: Vec<&str> = events
//!     .iter()
//!     .filter_map(|e| match e {
//!         HttpEvent::Head(r) => Some(r.uri.as_str()),
//!         _ => None,
//!     })
//!     .collect();
//! assert_eq!(uris, ["/a", "/b"]);
//! ```

use std::collections::VecDeque;

/// Longest message head (start line and header fields) buffered; a longer
/// one stops the reader with [`HttpError::HeadTooLong`].
pub const MAX_HEAD_LEN: usize = 64 * 1024;

/// Requests a [`HttpResponseReader`] remembers while their responses are
/// outstanding; methods pushed beyond this are forgotten.
pub const MAX_PENDING_REQUESTS: usize = 256;

/// Longest chunk-size line (with extensions) accepted in a chunked body.
pub const MAX_CHUNK_LINE: usize = 4096;

/// Most trailer bytes accepted after a chunked body.
pub const MAX_TRAILERS_LEN: usize = 64 * 1024;

const HEADERS_INLINE: usize = 64;
const HEADERS_MAX: usize = 1024;

/// Request methods [`is_http_request_start`] recognises: RFC 9110, PATCH,
/// WebDAV and its extensions, and UPnP's HTTP-over-TCP verbs.
const METHODS: &[&[u8]] = &[
    b"GET",
    b"POST",
    b"HEAD",
    b"PUT",
    b"DELETE",
    b"OPTIONS",
    b"PATCH",
    b"CONNECT",
    b"TRACE",
    b"PROPFIND",
    b"PROPPATCH",
    b"MKCOL",
    b"COPY",
    b"MOVE",
    b"LOCK",
    b"UNLOCK",
    b"SEARCH",
    b"REPORT",
    b"MKACTIVITY",
    b"CHECKOUT",
    b"CHECKIN",
    b"UNCHECKOUT",
    b"MERGE",
    b"MKCALENDAR",
    b"MKWORKSPACE",
    b"VERSION-CONTROL",
    b"BASELINE-CONTROL",
    b"LABEL",
    b"UPDATE",
    b"ACL",
    b"BIND",
    b"UNBIND",
    b"REBIND",
    b"ORDERPATCH",
    b"MKREDIRECTREF",
    b"UPDATEREDIRECTREF",
    b"NOTIFY",
    b"SUBSCRIBE",
    b"UNSUBSCRIBE",
    b"M-SEARCH",
    b"PURGE",
];

/// Why an HTTP reader gave up on its stream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// The head did not parse.
    #[error("malformed HTTP head at stream offset {offset}: {reason}")]
    BadHead {
        /// Stream offset where the message starts.
        offset: u64,
        /// What `httparse` objected to.
        reason: String,
    },
    /// No end of head within [`MAX_HEAD_LEN`] bytes.
    #[error("HTTP head at stream offset {offset} is longer than {MAX_HEAD_LEN} bytes")]
    HeadTooLong {
        /// Stream offset where the message starts.
        offset: u64,
    },
    /// More header fields than the parser holds.
    #[error("HTTP head at stream offset {offset} has too many header fields")]
    TooManyHeaders {
        /// Stream offset where the message starts.
        offset: u64,
    },
    /// A Content-Length that is not a number, or several that disagree: the
    /// body cannot be delimited.
    #[error("invalid Content-Length in the message at stream offset {offset}")]
    BadContentLength {
        /// Stream offset where the message starts.
        offset: u64,
    },
    /// A request Transfer-Encoding that does not end in chunked: the body
    /// cannot be delimited.
    #[error("unusable Transfer-Encoding in the request at stream offset {offset}")]
    BadTransferEncoding {
        /// Stream offset where the message starts.
        offset: u64,
    },
    /// A chunked body with a malformed chunk-size line, chunk end or trailers.
    #[error("malformed chunked body at stream offset {offset}")]
    BadChunk {
        /// Stream offset of the offending byte's line.
        offset: u64,
    },
    /// The stream ended inside a message head.
    #[error("stream ended inside the HTTP head at stream offset {offset}")]
    TruncatedHead {
        /// Stream offset where the message starts.
        offset: u64,
    },
}

/// A request head.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Request {
    /// Method token, as sent.
    pub method: String,
    /// Request target, as sent.
    pub uri: String,
    /// Minor version: 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub version: u8,
    /// First Host header, lossy UTF-8, trimmed (see [`split_host_port`]).
    pub host: Option<String>,
    /// First User-Agent header, lossy UTF-8, trimmed.
    pub user_agent: Option<String>,
    /// All header fields in order: name as sent, raw value.
    pub headers: Vec<(String, Vec<u8>)>,
    /// Content-Length, when present and valid.
    pub content_length: Option<u64>,
    /// The body is chunked.
    pub chunked: bool,
}

impl Request {
    /// Value of the first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        find_header(&self.headers, name)
    }
}

/// A response head.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Response {
    /// Minor version: 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub version: u8,
    /// Status code.
    pub status: u16,
    /// Reason phrase ("" when missing or not valid text).
    pub reason: String,
    /// All header fields in order: name as sent, raw value.
    pub headers: Vec<(String, Vec<u8>)>,
    /// Content-Length, when present and valid.
    pub content_length: Option<u64>,
    /// The body is chunked.
    pub chunked: bool,
}

impl Response {
    /// Value of the first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        find_header(&self.headers, name)
    }
}

/// What an HTTP reader found in the stream. `H` is [`Request`] or [`Response`].
///
/// Each message yields `Head`, then zero or more `Body`, then `End`. Body
/// bytes borrow from the chunk that was fed; chunked framing is removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpEvent<'a, H> {
    /// A message head.
    Head(H),
    /// The next bytes of the current message's body.
    Body(&'a [u8]),
    /// The current message is over.
    End {
        /// Body bytes delivered as `Body` events.
        body_len: u64,
        /// False when a gap hit the body or the stream ended inside it.
        complete: bool,
    },
    /// The stream switched protocol (CONNECT tunnel, 101 Switching
    /// Protocols): these are the first bytes of the new protocol, possibly
    /// none. The reader is done; hand the rest of the stream to whatever
    /// dissects the new protocol.
    Tunnel(&'a [u8]),
}

/// Events of a [`HttpRequestReader`].
pub type RequestEvent<'a> = HttpEvent<'a, Request>;

/// Events of a [`HttpResponseReader`].
pub type ResponseEvent<'a> = HttpEvent<'a, Response>;

/// Does this look like the start of an HTTP/1.x request: a known method
/// followed by a space?
pub fn is_http_request_start(bytes: &[u8]) -> bool {
    METHODS.iter().any(|m| {
        bytes
            .strip_prefix(*m)
            .is_some_and(|rest| rest.first() == Some(&b' '))
    })
}

/// Does this look like the start of an HTTP/1.x response (`HTTP/1.`)?
pub fn is_http_response_start(bytes: &[u8]) -> bool {
    bytes.starts_with(b"HTTP/1.")
}

/// Split a Host value into host and port: `example.com:8080`,
/// `[::1]:8000` (brackets removed), `example.com`, and a bare IPv6 address
/// (no port). Whitespace is trimmed; a port that is not a number is dropped.
pub fn split_host_port(host: &str) -> (&str, Option<u16>) {
    let host = host.trim();
    if let Some(inner) = host.strip_prefix('[') {
        return match inner.split_once(']') {
            Some((addr, rest)) => (addr, rest.strip_prefix(':').and_then(|p| p.parse().ok())),
            None => (host, None),
        };
    }
    match host.split_once(':') {
        Some((name, port)) if !port.contains(':') => (name, port.parse().ok()),
        _ => (host, None),
    }
}

/// Reads requests out of the client-to-server direction of a TCP stream.
///
/// Feed the bytes in order; call [`gap`](Self::gap) when bytes were lost and
/// [`finish`](Self::finish) when the stream closes. Pass every request head
/// to the peer [`HttpResponseReader::push_request_method`] so responses to
/// HEAD and CONNECT are framed right.
#[derive(Debug, Default)]
pub struct HttpRequestReader {
    inner: Reader<RequestSide>,
}

impl HttpRequestReader {
    /// A reader at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add the next bytes of the stream; returns the events they complete.
    pub fn feed<'a>(&mut self, bytes: &'a [u8]) -> Vec<RequestEvent<'a>> {
        self.inner.feed(bytes)
    }

    /// `len` bytes of the stream were lost. Inside a body of known length
    /// the reader stays in step (the message ends incomplete); otherwise it
    /// resynchronises at the next chunk that starts like a request and drops
    /// the chunks before it.
    pub fn gap(&mut self, len: u64) -> Vec<RequestEvent<'static>> {
        self.inner.gap(len)
    }

    /// The stream is closed: ends a message still in progress.
    pub fn finish(&mut self) -> Vec<RequestEvent<'static>> {
        self.inner.finish()
    }

    /// Nothing more will come out of this stream (error, tunnel, finish).
    pub fn done(&self) -> bool {
        self.inner.done()
    }

    /// Why the reader gave up, if it did.
    pub fn error(&self) -> Option<&HttpError> {
        self.inner.error.as_ref()
    }

    /// Stream bytes consumed so far (gaps included).
    pub fn offset(&self) -> u64 {
        self.inner.offset
    }
}

/// Reads responses out of the server-to-client direction of a TCP stream.
///
/// As [`HttpRequestReader`], plus [`push_request_method`](Self::push_request_method):
/// whether a response has a body depends on the request it answers.
#[derive(Debug, Default)]
pub struct HttpResponseReader {
    inner: Reader<ResponseSide>,
}

impl HttpResponseReader {
    /// A reader at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Record the method of the next request on this connection, in request
    /// order. Responses without a recorded request are framed as for GET.
    pub fn push_request_method(&mut self, method: &str) {
        let pending = &mut self.inner.side.pending;
        if pending.len() < MAX_PENDING_REQUESTS {
            pending.push_back(match method {
                "HEAD" => Pending::Head,
                "CONNECT" => Pending::Connect,
                _ => Pending::Other,
            });
        }
    }

    /// Add the next bytes of the stream; returns the events they complete.
    pub fn feed<'a>(&mut self, bytes: &'a [u8]) -> Vec<ResponseEvent<'a>> {
        self.inner.feed(bytes)
    }

    /// `len` bytes of the stream were lost; see [`HttpRequestReader::gap`].
    /// On resynchronisation the recorded request methods are forgotten, as
    /// the lost bytes may have held responses to them.
    pub fn gap(&mut self, len: u64) -> Vec<ResponseEvent<'static>> {
        self.inner.gap(len)
    }

    /// The stream is closed: ends a message still in progress (a response
    /// without length or chunking ends here, complete).
    pub fn finish(&mut self) -> Vec<ResponseEvent<'static>> {
        self.inner.finish()
    }

    /// Nothing more will come out of this stream (error, tunnel, finish).
    pub fn done(&self) -> bool {
        self.inner.done()
    }

    /// Why the reader gave up, if it did.
    pub fn error(&self) -> Option<&HttpError> {
        self.inner.error.as_ref()
    }

    /// Stream bytes consumed so far (gaps included).
    pub fn offset(&self) -> u64 {
        self.inner.offset
    }
}

fn find_header<'h>(headers: &'h [(String, Vec<u8>)], name: &str) -> Option<&'h [u8]> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_slice())
}

fn header_text(headers: &[(String, Vec<u8>)], name: &str) -> Option<String> {
    find_header(headers, name).map(|v| String::from_utf8_lossy(v).trim().to_owned())
}

/// How the body after a head is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    NoBody,
    Length(u64),
    Chunked,
    UntilClose,
    Tunnel,
    /// A CONNECT or Upgrade request: the next bytes are a tunnel unless they
    /// start another request (the server refused).
    MaybeTunnel,
}

/// Content-Length values (a list, possibly over several fields) must all be
/// the same number. `Ok(None)`: absent.
fn content_length(headers: &[(String, Vec<u8>)]) -> Result<Option<u64>, ()> {
    let mut found = None;
    for (_, v) in headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("content-length"))
    {
        for part in v.split(|&b| b == b',') {
            let digits = part.trim_ascii();
            if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
                return Err(());
            }
            let n = digits
                .iter()
                .try_fold(0u64, |acc, d| {
                    acc.checked_mul(10)?.checked_add(u64::from(d - b'0'))
                })
                .ok_or(())?;
            if found.is_some_and(|f| f != n) {
                return Err(());
            }
            found = Some(n);
        }
    }
    Ok(found)
}

/// `None` without Transfer-Encoding; else whether the last coding is chunked.
fn chunked_coding(headers: &[(String, Vec<u8>)]) -> Option<bool> {
    let mut last = None;
    for (_, v) in headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("transfer-encoding"))
    {
        for part in v.split(|&b| b == b',') {
            let coding = part.trim_ascii();
            if !coding.is_empty() {
                last = Some(coding.eq_ignore_ascii_case(b"chunked"));
            }
        }
    }
    last
}

fn owned_headers(headers: &[httparse::Header<'_>]) -> Vec<(String, Vec<u8>)> {
    headers
        .iter()
        .map(|h| (h.name.to_owned(), h.value.to_vec()))
        .collect()
}

fn head_error(e: httparse::Error, offset: u64) -> HttpError {
    match e {
        httparse::Error::TooManyHeaders => HttpError::TooManyHeaders { offset },
        e => HttpError::BadHead {
            offset,
            reason: e.to_string(),
        },
    }
}

/// Parse with a small header array, and once more with a large one only for
/// the rare head that needs it.
fn with_headers<'b, T>(
    mut parse: impl FnMut(&mut [httparse::Header<'b>]) -> Result<T, HttpError>,
) -> Result<T, HttpError> {
    let mut inline: [httparse::Header<'b>; HEADERS_INLINE] =
        [httparse::EMPTY_HEADER; HEADERS_INLINE];
    match parse(&mut inline) {
        Err(HttpError::TooManyHeaders { .. }) => {
            parse(&mut vec![httparse::EMPTY_HEADER; HEADERS_MAX])
        }
        r => r,
    }
}

/// What differs between the two directions.
trait Side: Default {
    type Head;
    fn is_start(bytes: &[u8]) -> bool;
    fn parse(&mut self, head: &[u8], offset: u64) -> Result<(Self::Head, Framing), HttpError>;
    fn resynced(&mut self) {}
}

#[derive(Debug, Default)]
struct RequestSide;

impl Side for RequestSide {
    type Head = Request;

    fn is_start(bytes: &[u8]) -> bool {
        is_http_request_start(bytes)
    }

    fn parse(&mut self, head: &[u8], offset: u64) -> Result<(Request, Framing), HttpError> {
        let (method, uri, version, headers) = with_headers(|slots| {
            let mut req = httparse::Request::new(slots);
            let mut config = httparse::ParserConfig::default();
            config
                .allow_multiple_spaces_in_request_line_delimiters(true)
                .allow_space_before_first_header_name(true)
                .ignore_invalid_headers_in_requests(true);
            match config.parse_request(&mut req, head) {
                Ok(httparse::Status::Complete(_)) => Ok((
                    req.method.unwrap_or_default().to_owned(),
                    req.path.unwrap_or_default().to_owned(),
                    req.version.unwrap_or(1),
                    owned_headers(req.headers),
                )),
                Ok(httparse::Status::Partial) => Err(HttpError::BadHead {
                    offset,
                    reason: "incomplete head".into(),
                }),
                Err(e) => Err(head_error(e, offset)),
            }
        })?;
        let te = chunked_coding(&headers);
        let cl = content_length(&headers);
        let mut framing = match (te, cl) {
            _ if method == "CONNECT" => Framing::MaybeTunnel,
            (Some(true), _) => Framing::Chunked,
            // A server cannot find the end of such a request either (RFC 9112 §6.3).
            (Some(false), _) => return Err(HttpError::BadTransferEncoding { offset }),
            (None, Err(())) => return Err(HttpError::BadContentLength { offset }),
            (None, Ok(Some(n))) => Framing::Length(n),
            (None, Ok(None)) => Framing::NoBody,
        };
        let bodiless = matches!(framing, Framing::NoBody | Framing::Length(0));
        if bodiless && find_header(&headers, "upgrade").is_some() {
            framing = Framing::MaybeTunnel;
        }
        let request = Request {
            host: header_text(&headers, "host"),
            user_agent: header_text(&headers, "user-agent"),
            content_length: cl.ok().flatten(),
            chunked: te == Some(true),
            method,
            uri,
            version,
            headers,
        };
        Ok((request, framing))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    Head,
    Connect,
    Other,
}

#[derive(Debug, Default)]
struct ResponseSide {
    pending: VecDeque<Pending>,
}

impl Side for ResponseSide {
    type Head = Response;

    fn is_start(bytes: &[u8]) -> bool {
        is_http_response_start(bytes)
    }

    fn parse(&mut self, head: &[u8], offset: u64) -> Result<(Response, Framing), HttpError> {
        let (version, status, reason, headers) = with_headers(|slots| {
            let mut resp = httparse::Response::new(slots);
            let mut config = httparse::ParserConfig::default();
            config
                .allow_multiple_spaces_in_response_status_delimiters(true)
                .allow_spaces_after_header_name_in_responses(true)
                .allow_obsolete_multiline_headers_in_responses(true)
                .allow_space_before_first_header_name(true)
                .ignore_invalid_headers_in_responses(true);
            match config.parse_response(&mut resp, head) {
                Ok(httparse::Status::Complete(_)) => Ok((
                    resp.version.unwrap_or(1),
                    resp.code.unwrap_or_default(),
                    resp.reason.unwrap_or_default().to_owned(),
                    owned_headers(resp.headers),
                )),
                Ok(httparse::Status::Partial) => Err(HttpError::BadHead {
                    offset,
                    reason: "incomplete head".into(),
                }),
                Err(e) => Err(head_error(e, offset)),
            }
        })?;
        // Interim responses (1xx but 101) precede the final one for the same request.
        let request = if status >= 200 || status == 101 {
            self.pending.pop_front().unwrap_or(Pending::Other)
        } else {
            Pending::Other
        };
        let te = chunked_coding(&headers);
        let cl = content_length(&headers);
        // RFC 9112 §6.3, in its order.
        let framing = match (te, cl) {
            _ if status == 101 => Framing::Tunnel,
            _ if (100..200).contains(&status) => Framing::NoBody,
            _ if request == Pending::Head => Framing::NoBody,
            _ if request == Pending::Connect && (200..300).contains(&status) => Framing::Tunnel,
            _ if status == 204 || status == 304 => Framing::NoBody,
            (Some(true), _) => Framing::Chunked,
            (Some(false), _) => Framing::UntilClose,
            (None, Err(())) => return Err(HttpError::BadContentLength { offset }),
            (None, Ok(Some(n))) => Framing::Length(n),
            (None, Ok(None)) => Framing::UntilClose,
        };
        let response = Response {
            version,
            status,
            reason,
            content_length: cl.ok().flatten(),
            chunked: te == Some(true),
            headers,
        };
        Ok((response, framing))
    }

    fn resynced(&mut self) {
        self.pending.clear();
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    Size {
        value: u64,
        digits: u8,
        // After the digits: extensions, whitespace or CR, skipped to the LF.
        tail: bool,
        line: usize,
    },
    Data(u64),
    DataEnd {
        cr: bool,
    },
    Trailers {
        line: usize,
        total: usize,
    },
}

const CHUNK_SIZE_START: Chunk = Chunk::Size {
    value: 0,
    digits: 0,
    tail: false,
    line: 0,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Body {
    Length(u64),
    Chunked(Chunk),
    UntilClose,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum State {
    #[default]
    Head,
    Body(Body),
    MaybeTunnel,
    Resync,
    Done,
}

#[derive(Debug, Default)]
struct Reader<S: Side> {
    side: S,
    state: State,
    head: Vec<u8>,
    // How much of `head` has been searched for the end of the head.
    scanned: usize,
    offset: u64,
    msg_start: u64,
    body_len: u64,
    body_complete: bool,
    error: Option<HttpError>,
}

impl<S: Side> Reader<S> {
    fn done(&self) -> bool {
        self.state == State::Done
    }

    fn fail(&mut self, e: HttpError) {
        self.error = Some(e);
        self.state = State::Done;
        self.head = Vec::new();
    }

    fn feed<'a>(&mut self, bytes: &'a [u8]) -> Vec<HttpEvent<'a, S::Head>> {
        let mut events = Vec::new();
        let mut rest = bytes;
        // Every round consumes a byte or changes to a state that will.
        while !rest.is_empty() {
            let before = rest.len();
            match self.state {
                State::Done => break,
                State::Resync => {
                    if S::is_start(rest) {
                        self.state = State::Head;
                    } else {
                        rest = &[];
                    }
                }
                State::MaybeTunnel => {
                    if S::is_start(rest) {
                        self.state = State::Head;
                    } else {
                        events.push(HttpEvent::Tunnel(rest));
                        rest = &[];
                        self.state = State::Done;
                    }
                }
                State::Head => self.head_step(&mut rest, &mut events),
                State::Body(body) => self.body_step(body, &mut rest, &mut events),
            }
            self.offset = self.offset.saturating_add((before - rest.len()) as u64);
        }
        events
    }

    fn head_step<'a>(&mut self, rest: &mut &'a [u8], events: &mut Vec<HttpEvent<'a, S::Head>>) {
        if self.head.is_empty() {
            // Empty lines before a message are ignored (RFC 9112 §2.2), e.g.
            // the stray CRLF some clients send after a POST body.
            let blank = rest
                .iter()
                .take_while(|&&b| b == b'\r' || b == b'\n')
                .count();
            if blank > 0 {
                *rest = rest.get(blank..).unwrap_or_default();
                return;
            }
            self.msg_start = self.offset;
            let window = rest.get(..MAX_HEAD_LEN).unwrap_or(rest);
            match find_head_end(window, 0) {
                Some(end) => {
                    let (head, tail) = rest.split_at(end);
                    *rest = tail;
                    self.on_head(head, rest, events);
                }
                None if window.len() >= MAX_HEAD_LEN => self.fail(HttpError::HeadTooLong {
                    offset: self.msg_start,
                }),
                None => {
                    self.head.extend_from_slice(rest);
                    self.scanned = rest.len();
                    *rest = &[];
                }
            }
            return;
        }
        let old = self.head.len();
        let take = MAX_HEAD_LEN.saturating_sub(old).min(rest.len());
        let (part, _) = rest.split_at(take);
        self.head.extend_from_slice(part);
        // The end marker is at most 3 bytes long: look back 2 from the old end.
        match find_head_end(&self.head, self.scanned.saturating_sub(2)) {
            Some(end) => {
                let used = end.saturating_sub(old).min(take);
                self.head.truncate(end);
                *rest = rest.get(used..).unwrap_or_default();
                let head = std::mem::take(&mut self.head);
                self.on_head(&head, rest, events);
            }
            None if self.head.len() >= MAX_HEAD_LEN => self.fail(HttpError::HeadTooLong {
                offset: self.msg_start,
            }),
            None => {
                self.scanned = self.head.len();
                *rest = rest.get(take..).unwrap_or_default();
            }
        }
    }

    fn on_head<'a>(
        &mut self,
        head: &[u8],
        rest: &mut &'a [u8],
        events: &mut Vec<HttpEvent<'a, S::Head>>,
    ) {
        let (parsed, framing) = match self.side.parse(head, self.msg_start) {
            Ok(p) => p,
            Err(e) => return self.fail(e),
        };
        events.push(HttpEvent::Head(parsed));
        self.body_len = 0;
        self.body_complete = true;
        self.state = State::Head;
        match framing {
            Framing::NoBody | Framing::Length(0) => self.end_message(events),
            Framing::Length(n) => self.state = State::Body(Body::Length(n)),
            Framing::Chunked => self.state = State::Body(Body::Chunked(CHUNK_SIZE_START)),
            Framing::UntilClose => self.state = State::Body(Body::UntilClose),
            Framing::MaybeTunnel => {
                self.end_message(events);
                self.state = State::MaybeTunnel;
            }
            Framing::Tunnel => {
                self.end_message(events);
                events.push(HttpEvent::Tunnel(rest));
                *rest = &[];
                self.state = State::Done;
            }
        }
    }

    fn end_message<'a>(&mut self, events: &mut Vec<HttpEvent<'a, S::Head>>) {
        events.push(HttpEvent::End {
            body_len: self.body_len,
            complete: self.body_complete,
        });
        self.state = State::Head;
    }

    /// Deliver up to `n` body bytes; returns how many are left.
    fn body_bytes<'a>(
        &mut self,
        n: u64,
        rest: &mut &'a [u8],
        events: &mut Vec<HttpEvent<'a, S::Head>>,
    ) -> u64 {
        let take = usize::try_from(n).unwrap_or(usize::MAX).min(rest.len());
        let (data, tail) = rest.split_at(take);
        *rest = tail;
        if !data.is_empty() {
            self.body_len = self.body_len.saturating_add(data.len() as u64);
            events.push(HttpEvent::Body(data));
        }
        n - take as u64
    }

    fn body_step<'a>(
        &mut self,
        body: Body,
        rest: &mut &'a [u8],
        events: &mut Vec<HttpEvent<'a, S::Head>>,
    ) {
        match body {
            Body::Length(n) => match self.body_bytes(n, rest, events) {
                0 => self.end_message(events),
                left => self.state = State::Body(Body::Length(left)),
            },
            Body::UntilClose => {
                self.body_bytes(u64::MAX, rest, events);
            }
            Body::Chunked(chunk) => self.chunk_step(chunk, rest, events),
        }
    }

    fn chunk_step<'a>(
        &mut self,
        chunk: Chunk,
        rest: &mut &'a [u8],
        events: &mut Vec<HttpEvent<'a, S::Head>>,
    ) {
        let bad = |r: &Self, i: usize| HttpError::BadChunk {
            offset: r.offset.saturating_add(i as u64),
        };
        let next = match chunk {
            Chunk::Data(n) => match self.body_bytes(n, rest, events) {
                0 => Chunk::DataEnd { cr: false },
                left => Chunk::Data(left),
            },
            Chunk::DataEnd { cr } => {
                let Some((&b, tail)) = rest.split_first() else {
                    return;
                };
                *rest = tail;
                match (cr, b) {
                    (_, b'\n') => CHUNK_SIZE_START,
                    (false, b'\r') => Chunk::DataEnd { cr: true },
                    _ => return self.fail(bad(self, 0)),
                }
            }
            Chunk::Size {
                mut value,
                mut digits,
                mut tail,
                mut line,
            } => {
                for (i, &b) in rest.iter().enumerate() {
                    line += 1;
                    if line > MAX_CHUNK_LINE {
                        return self.fail(bad(self, i));
                    }
                    if b == b'\n' {
                        if digits == 0 {
                            return self.fail(bad(self, i));
                        }
                        *rest = rest.get(i + 1..).unwrap_or_default();
                        let next = match value {
                            0 => Chunk::Trailers { line: 0, total: 0 },
                            n => Chunk::Data(n),
                        };
                        self.state = State::Body(Body::Chunked(next));
                        return;
                    }
                    match (tail, char::from(b).to_digit(16)) {
                        (true, _) => {}
                        (false, Some(d)) if digits < 16 => {
                            value = (value << 4) | u64::from(d);
                            digits += 1;
                        }
                        (false, None) if matches!(b, b';' | b' ' | b'\t' | b'\r') => tail = true,
                        _ => return self.fail(bad(self, i)),
                    }
                }
                *rest = &[];
                Chunk::Size {
                    value,
                    digits,
                    tail,
                    line,
                }
            }
            Chunk::Trailers {
                mut line,
                mut total,
            } => {
                for (i, &b) in rest.iter().enumerate() {
                    total += 1;
                    if total > MAX_TRAILERS_LEN {
                        return self.fail(bad(self, i));
                    }
                    match b {
                        b'\n' if line == 0 => {
                            *rest = rest.get(i + 1..).unwrap_or_default();
                            return self.end_message(events);
                        }
                        b'\n' => line = 0,
                        b'\r' => {}
                        _ => line += 1,
                    }
                }
                *rest = &[];
                Chunk::Trailers { line, total }
            }
        };
        self.state = State::Body(Body::Chunked(next));
    }

    fn gap(&mut self, len: u64) -> Vec<HttpEvent<'static, S::Head>> {
        let mut events = Vec::new();
        self.offset = self.offset.saturating_add(len);
        // A gap as long as what is left of a known-length body keeps us in step.
        let known = |n: u64| match len.cmp(&n) {
            std::cmp::Ordering::Less => Some(Some(n - len)),
            std::cmp::Ordering::Equal => Some(None),
            std::cmp::Ordering::Greater => None,
        };
        match self.state {
            State::Done | State::Resync => {}
            State::Head | State::MaybeTunnel => self.resync(),
            State::Body(Body::UntilClose) => self.body_complete = false,
            State::Body(Body::Length(n)) => {
                self.body_complete = false;
                match known(n) {
                    Some(Some(left)) => self.state = State::Body(Body::Length(left)),
                    Some(None) => self.end_message(&mut events),
                    None => {
                        self.end_message(&mut events);
                        self.resync();
                    }
                }
            }
            State::Body(Body::Chunked(chunk)) => {
                self.body_complete = false;
                let next = match chunk {
                    Chunk::Data(n) => known(n),
                    _ => None,
                };
                match next {
                    Some(Some(left)) => self.state = State::Body(Body::Chunked(Chunk::Data(left))),
                    Some(None) => {
                        self.state = State::Body(Body::Chunked(Chunk::DataEnd { cr: false }));
                    }
                    None => {
                        self.end_message(&mut events);
                        self.resync();
                    }
                }
            }
        }
        events
    }

    fn resync(&mut self) {
        self.head = Vec::new();
        self.state = State::Resync;
        self.side.resynced();
    }

    fn finish(&mut self) -> Vec<HttpEvent<'static, S::Head>> {
        let mut events = Vec::new();
        match self.state {
            State::Body(Body::UntilClose) => self.end_message(&mut events),
            State::Body(_) => {
                self.body_complete = false;
                self.end_message(&mut events);
            }
            State::Head if !self.head.is_empty() => {
                self.error = Some(HttpError::TruncatedHead {
                    offset: self.msg_start,
                });
            }
            _ => {}
        }
        self.head = Vec::new();
        self.state = State::Done;
        events
    }
}

/// Offset just past the empty line that ends a head (`\n\n` or `\n\r\n`),
/// searching from `from`.
fn find_head_end(buf: &[u8], from: usize) -> Option<usize> {
    let tail = buf.get(from..)?;
    tail.iter().enumerate().find_map(|(i, &b)| {
        if b != b'\n' {
            return None;
        }
        match tail.get(i + 1..) {
            Some([b'\n', ..]) => Some(from + i + 2),
            Some([b'\r', b'\n', ..]) => Some(from + i + 3),
            _ => None,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    type Ev<'a> = HttpEvent<'a, String>;

    /// Replace each head by a short summary so events compare easily.
    fn summarize<'a, H>(
        events: Vec<HttpEvent<'a, H>>,
        out: &mut Vec<Ev<'a>>,
        head: impl Fn(&H) -> String,
    ) {
        for e in events {
            out.push(match e {
                HttpEvent::Head(h) => HttpEvent::Head(head(&h)),
                HttpEvent::Body(b) => HttpEvent::Body(b),
                HttpEvent::End { body_len, complete } => HttpEvent::End { body_len, complete },
                HttpEvent::Tunnel(b) => HttpEvent::Tunnel(b),
            });
        }
    }

    fn summarize_req<'a>(events: Vec<RequestEvent<'a>>, out: &mut Vec<Ev<'a>>) {
        summarize(events, out, |r| format!("{} {}", r.method, r.uri));
    }

    fn summarize_resp<'a>(events: Vec<ResponseEvent<'a>>, out: &mut Vec<Ev<'a>>) {
        summarize(events, out, |r| r.status.to_string());
    }

    /// Merge adjacent body events, so results compare across chunkings.
    fn merge_bodies(events: Vec<Ev<'_>>) -> Vec<(String, Vec<u8>)> {
        let mut out: Vec<(String, Vec<u8>)> = Vec::new();
        for e in events {
            match e {
                HttpEvent::Body(b) => match out.last_mut() {
                    Some((k, v)) if k == "body" => v.extend_from_slice(b),
                    _ => out.push(("body".into(), b.to_vec())),
                },
                HttpEvent::Head(h) => out.push((format!("head {h}"), vec![])),
                HttpEvent::End { body_len, complete } => {
                    out.push((format!("end {body_len} {complete}"), vec![]))
                }
                HttpEvent::Tunnel(b) => out.push(("tunnel".into(), b.to_vec())),
            }
        }
        out
    }

    fn requests(chunks: &[&[u8]]) -> (Vec<(String, Vec<u8>)>, HttpRequestReader) {
        let mut r = HttpRequestReader::new();
        let mut ev = Vec::new();
        for c in chunks {
            summarize_req(r.feed(c), &mut ev);
        }
        summarize_req(r.finish(), &mut ev);
        (merge_bodies(ev), r)
    }

    fn entry(k: &str, v: &[u8]) -> (String, Vec<u8>) {
        (k.to_owned(), v.to_vec())
    }

    #[test]
    fn pipelined_gets_in_one_chunk() {
        let stream = b"GET /1 HTTP/1.1\r\nHost: a.example\r\nUser-Agent: UA/1.0\r\n\r\nGET /2 HTTP/1.1\r\nHost: a.example\r\n\r\nHEAD /3 HTTP/1.0\n\n";
        let mut r = HttpRequestReader::new();
        let ev = r.feed(stream);
        let heads: Vec<&Request> = ev
            .iter()
            .filter_map(|e| match e {
                HttpEvent::Head(r) => Some(r),
                _ => None,
            })
            .collect();
        assert_eq!(heads.len(), 3);
        assert_eq!(heads[0].host.as_deref(), Some("a.example"));
        assert_eq!(heads[0].user_agent.as_deref(), Some("UA/1.0"));
        assert_eq!(heads[0].version, 1);
        assert_eq!(heads[2].method, "HEAD");
        assert_eq!(heads[2].version, 0);
        assert_eq!(heads[0].header("HOST"), Some(&b"a.example"[..]));
        assert_eq!(ev.len(), 6);
        assert!(matches!(
            ev[5],
            HttpEvent::End {
                body_len: 0,
                complete: true
            }
        ));
        assert!(!r.done());
        assert_eq!(r.offset(), stream.len() as u64);
    }

    #[test]
    fn post_with_body_then_get() {
        let stream = b"POST /up HTTP/1.1\r\nContent-Length: 11\r\n\r\nhello world\r\nGET /next HTTP/1.1\r\n\r\n";
        let (ev, r) = requests(&[stream]);
        assert_eq!(
            ev,
            [
                entry("head POST /up", b""),
                entry("body", b"hello world"),
                entry("end 11 true", b""),
                entry("head GET /next", b""),
                entry("end 0 true", b""),
            ]
        );
        assert_eq!(r.error(), None);
    }

    const CHUNKED: &[u8] = b"POST /c HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 99\r\n\r\n5;ext=1\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-Trailer: 1\r\n\r\nGET /after HTTP/1.1\r\n\r\n";

    #[test]
    fn chunked_body_with_trailers() {
        let (ev, r) = requests(&[CHUNKED]);
        assert_eq!(
            ev,
            [
                entry("head POST /c", b""),
                entry("body", b"hello0123456789"),
                entry("end 15 true", b""),
                entry("head GET /after", b""),
                entry("end 0 true", b""),
            ]
        );
        assert_eq!(r.error(), None);
    }

    #[test]
    fn any_split_gives_the_same_events() {
        let (whole, _) = requests(&[CHUNKED]);
        for cut in 0..=CHUNKED.len() {
            let (ev, r) = requests(&[&CHUNKED[..cut], &CHUNKED[cut..]]);
            assert_eq!(ev, whole, "cut at {cut}");
            assert_eq!(r.error(), None);
        }
        let bytes: Vec<&[u8]> = CHUNKED.chunks(1).collect();
        assert_eq!(requests(&bytes).0, whole);
    }

    #[test]
    fn head_split_at_every_byte_keeps_fields() {
        let stream = b"GET /x?q=1 HTTP/1.1\r\nHost: [::1]:8000\r\nAccept: */*\r\n\r\n";
        for cut in 0..=stream.len() {
            let mut r = HttpRequestReader::new();
            let mut ev = r.feed(&stream[..cut]);
            ev.extend(r.feed(&stream[cut..]));
            let [HttpEvent::Head(req), HttpEvent::End { .. }] = &ev[..] else {
                panic!("cut at {cut}: {ev:?}");
            };
            assert_eq!(req.uri, "/x?q=1");
            assert_eq!(req.headers.len(), 2);
            assert_eq!(
                split_host_port(req.host.as_deref().unwrap()),
                ("::1", Some(8000))
            );
        }
    }

    fn responses(
        methods: &[&str],
        chunks: &[&[u8]],
    ) -> (Vec<(String, Vec<u8>)>, HttpResponseReader) {
        let mut r = HttpResponseReader::new();
        for m in methods {
            r.push_request_method(m);
        }
        let mut ev = Vec::new();
        for c in chunks {
            summarize_resp(r.feed(c), &mut ev);
        }
        summarize_resp(r.finish(), &mut ev);
        (merge_bodies(ev), r)
    }

    #[test]
    fn head_response_has_no_body_and_interim_responses() {
        let stream = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.0 200 OK\r\n\r\nrest until close";
        let (ev, r) = responses(&["HEAD", "POST", "GET", "GET", "GET"], &[stream]);
        assert_eq!(
            ev,
            [
                entry("head 200", b""),
                entry("end 0 true", b""),
                entry("head 100", b""),
                entry("end 0 true", b""),
                entry("head 204", b""),
                entry("end 0 true", b""),
                entry("head 304", b""),
                entry("end 0 true", b""),
                entry("head 200", b""),
                entry("body", b"ok"),
                entry("end 2 true", b""),
                entry("head 200", b""),
                entry("body", b"rest until close"),
                entry("end 16 true", b""),
            ]
        );
        assert!(r.done());
    }

    #[test]
    fn chunked_response_split_everywhere() {
        let stream = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
        let (whole, _) = responses(&[], &[stream]);
        assert_eq!(
            whole,
            [
                entry("head 200", b""),
                entry("body", b"abc"),
                entry("end 3 true", b""),
                entry("head 404", b""),
                entry("end 0 true", b""),
            ]
        );
        for cut in 0..=stream.len() {
            assert_eq!(
                responses(&[], &[&stream[..cut], &stream[cut..]]).0,
                whole,
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn connect_tunnel_both_directions() {
        let hello = [0x16, 3, 1, 0, 5];
        let mut req = b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n".to_vec();
        let (ev, r) = requests(&[&req, &hello]);
        assert_eq!(ev.last(), Some(&entry("tunnel", &hello)));
        assert!(r.done());
        // Refused with 407 and retried: the second CONNECT is parsed too.
        req.extend(b"CONNECT example.com:443 HTTP/1.1\r\nProxy-Authorization: x\r\n\r\n");
        let (ev, _) = requests(&[&req]);
        assert_eq!(
            ev.iter()
                .filter(|(k, _)| k.starts_with("head CONNECT"))
                .count(),
            2
        );

        let mut resp = b"HTTP/1.1 200 Connection established\r\n\r\n".to_vec();
        resp.extend(hello);
        let (ev, r) = responses(&["CONNECT"], &[&resp]);
        assert_eq!(
            ev,
            [
                entry("head 200", b""),
                entry("end 0 true", b""),
                entry("tunnel", &hello)
            ]
        );
        assert!(r.done());
        let (ev, _) = responses(
            &["GET"],
            &[b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"],
        );
        assert_eq!(ev.last(), Some(&entry("tunnel", b"")));
    }

    #[test]
    fn gaps() {
        // Inside a body of known length: stay in step.
        let mut r = HttpRequestReader::new();
        let mut ev = Vec::new();
        summarize_req(
            r.feed(b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123"),
            &mut ev,
        );
        summarize_req(r.gap(4), &mut ev);
        summarize_req(r.feed(b"89GET /n HTTP/1.1\r\n\r\n"), &mut ev);
        assert_eq!(
            merge_bodies(ev),
            [
                entry("head POST /", b""),
                entry("body", b"012389"),
                entry("end 6 false", b""),
                entry("head GET /n", b""),
                entry("end 0 true", b""),
            ]
        );
        // Inside a head: resync at the next chunk that starts a request.
        let mut r = HttpRequestReader::new();
        let mut ev = Vec::new();
        summarize_req(r.feed(b"GET /lost HTTP/1.1\r\nHo"), &mut ev);
        summarize_req(r.gap(100), &mut ev);
        summarize_req(r.feed(b"tail of something\r\n\r\n"), &mut ev);
        summarize_req(r.feed(b"GET /found HTTP/1.1\r\n\r\n"), &mut ev);
        assert_eq!(
            merge_bodies(ev),
            [entry("head GET /found", b""), entry("end 0 true", b"")]
        );
        // Past the end of a body: the message ends incomplete, then resync.
        let mut r = HttpResponseReader::new();
        let mut ev = Vec::new();
        summarize_resp(
            r.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\na"),
            &mut ev,
        );
        summarize_resp(r.gap(50), &mut ev);
        summarize_resp(r.feed(b"HTTP/1.1 204 No Content\r\n\r\n"), &mut ev);
        assert_eq!(
            merge_bodies(ev),
            [
                entry("head 200", b""),
                entry("body", b"a"),
                entry("end 1 false", b""),
                entry("head 204", b""),
                entry("end 0 true", b""),
            ]
        );
    }

    #[test]
    fn errors_and_caps() {
        let mut r = HttpRequestReader::new();
        r.feed(b"\x16\x03\x01\x00\x05hello\r\n\r\n");
        assert!(matches!(
            r.error(),
            Some(HttpError::BadHead { offset: 0, .. })
        ));
        assert!(r.done());
        let mut r = HttpRequestReader::new();
        r.feed(b"POST / HTTP/1.1\r\nContent-Length: 5, 6\r\n\r\n");
        assert_eq!(r.error(), Some(&HttpError::BadContentLength { offset: 0 }));
        let mut r = HttpRequestReader::new();
        r.feed(b"GET / HTTP/1.1\r\nX: ");
        for _ in 0..70 {
            r.feed(&[b'a'; 1000]);
        }
        assert_eq!(r.error(), Some(&HttpError::HeadTooLong { offset: 0 }));
        let mut r = HttpRequestReader::new();
        r.feed(&vec![b'G'; MAX_HEAD_LEN + 10]);
        assert_eq!(r.error(), Some(&HttpError::HeadTooLong { offset: 0 }));
        let mut r = HttpResponseReader::new();
        r.feed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
        assert_eq!(r.error(), Some(&HttpError::BadChunk { offset: 47 }));
        let mut r = HttpRequestReader::new();
        r.feed(b"GET / HTTP/1.1\r\nHost: x");
        assert!(r.finish().is_empty());
        assert_eq!(r.error(), Some(&HttpError::TruncatedHead { offset: 0 }));
        // Many headers: past the inline array, still parsed.
        let mut many = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..200 {
            many.extend(format!("X-{i}: v\r\n").as_bytes());
        }
        many.extend(b"\r\n");
        let ev = HttpRequestReader::new().feed(&many);
        let HttpEvent::Head(req) = &ev[0] else {
            panic!()
        };
        assert_eq!(req.headers.len(), 200);
    }

    #[test]
    fn probes_and_host_port() {
        assert!(is_http_request_start(b"GET / HTTP/1.1"));
        assert!(is_http_request_start(b"PROPFIND /dav "));
        assert!(is_http_request_start(b"M-SEARCH * HTTP/1.1"));
        assert!(!is_http_request_start(b"GET"));
        assert!(!is_http_request_start(b"GETS /"));
        assert!(!is_http_request_start(b"get / HTTP/1.1"));
        assert!(!is_http_request_start(b"PRI * HTTP/2.0"));
        assert!(is_http_response_start(b"HTTP/1.1 200 OK"));
        assert!(!is_http_response_start(b"HTTP/2 200"));
        assert_eq!(split_host_port("example.com"), ("example.com", None));
        assert_eq!(
            split_host_port(" example.com:8080 "),
            ("example.com", Some(8080))
        );
        assert_eq!(split_host_port("[::1]:8000"), ("::1", Some(8000)));
        assert_eq!(split_host_port("[2001:db8::1]"), ("2001:db8::1", None));
        assert_eq!(split_host_port("2001:db8::1"), ("2001:db8::1", None));
        assert_eq!(split_host_port("example.com:http"), ("example.com", None));
        assert_eq!(split_host_port("example.com:99999"), ("example.com", None));
        assert_eq!(split_host_port("[::1"), ("[::1", None));
        assert_eq!(split_host_port(""), ("", None));
    }

    fn xorshift(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    fn garbage_never_panics() {
        let mut s = 0x1234_5678_9abc_def1;
        let alphabet =
            b"GET HTTP/1.1\r\n:0123456789abcdefxContent-Length: Transfer-Encoding: chunked;\t ";
        for round in 0..5_000 {
            let len = (xorshift(&mut s) % 400) as usize;
            let mut buf: Vec<u8> = (0..len)
                .map(|_| {
                    let r = xorshift(&mut s);
                    if round % 2 == 0 {
                        alphabet[(r as usize) % alphabet.len()]
                    } else {
                        r as u8
                    }
                })
                .collect();
            if round % 3 == 0 {
                let mut v = CHUNKED.to_vec();
                let i = (xorshift(&mut s) as usize) % v.len();
                v[i] = xorshift(&mut s) as u8;
                v.extend(&buf);
                buf = v;
            }
            let cut = (xorshift(&mut s) as usize) % (buf.len() + 1);
            let mut q = HttpRequestReader::new();
            let _ = q.feed(&buf[..cut]);
            let _ = q.gap(xorshift(&mut s) % 16);
            let _ = q.feed(&buf[cut..]);
            let _ = q.finish();
            let mut p = HttpResponseReader::new();
            p.push_request_method("HEAD");
            let mut resp = b"HTTP/1.1 200 OK\r\n".to_vec();
            resp.extend(&buf);
            let _ = p.feed(&resp[..cut]);
            let _ = p.feed(&resp[cut..]);
            let _ = p.finish();
            let _ = split_host_port(std::str::from_utf8(&buf).unwrap_or("[:"));
        }
    }
}
