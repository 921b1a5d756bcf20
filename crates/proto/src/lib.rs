//! Stream bytes and datagrams to application events: the third stage of
//! telltale.
//!
//! - [`Dissectors`] is the flow stage's [`FlowSink`](telltale_flow::FlowSink):
//!   it recognises each flow's protocol (TLS, HTTP and QUIC by content on any
//!   port; DNS, mDNS, LLMNR, DHCP and DHCPv6 by port), runs the matching
//!   dissector on the ordered stream or the datagrams, and reports
//!   [`AppEvent`]s and each flow's [`AppProto`] to an [`AppSink`].
//! - The parsers are usable on their own: [`dns`] (messages, DNS over TCP
//!   framing), [`tls`] (hellos and TLS ≤ 1.2 server certificates from a
//!   stream), [`quic`] (Initial packets decrypted to their ClientHello),
//!   [`http`] (HTTP/1.x heads and body framing), [`dhcp`] (DHCPv4 and
//!   DHCPv6), [`fingerprint`] (JA3, JA3S, JA4). Each takes hostile bytes: no
//!   input panics, every buffer is capped.
//!
//! Dissect the flows of the RedMi 1S fixture and look at its DNS answers, its
//! HTTP request and a TLS server name:
//!
//! ```
//! use telltale_decode::{CaptureReader, Decoder};
//! use telltale_flow::{FlowSummary, FlowTable};
//! use telltale_proto::{AppEvent, AppEventKind, AppProto, AppSink, Dissectors};
//!
//! #[derive(Default)]
//! struct Collect(Vec<AppEvent>);
//! impl AppSink for Collect {
//!     fn app_event(&mut self, event: AppEvent) {
//!         self.0.push(event);
//!     }
//!     fn flow_end(&mut self, _flow: &FlowSummary, _app: AppProto) {}
//! }
//!
//! let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/redmi-1s-2014.pcap");
//! let mut reader = CaptureReader::open(path)?;
//! let mut decoder = Decoder::default();
//! let mut table = FlowTable::default();
//! let mut dissectors = Dissectors::new(Collect::default());
//! while let Some(frame) = reader.next_frame()? {
//!     if let Some(packet) = decoder.decode(&frame) {
//!         table.push(&packet, &mut dissectors);
//!     }
//! }
//! table.finish(&mut dissectors);
//! let events = dissectors.into_sink().0;
//!
//! let answered: Vec<&str> = events
//!     .iter()
//!     .filter_map(|e| match &e.kind {
//!         AppEventKind::Dns(d) if d.message.response => Some(d.message.questions[0].name.as_str()),
//!         _ => None,
//!     })
//!     .collect();
//! assert_eq!(answered.len(), 6);
//! assert!(answered.contains(&"api.account.xiaomi.com"));
//!
//! let http = events
//!     .iter()
//!     .find_map(|e| match &e.kind {
//!         AppEventKind::Http(h) => Some(h),
//!         _ => None,
//!     })
//!     .unwrap();
//! assert_eq!((http.method.as_str(), http.uri.as_str()), ("POST", "/pass/v3/device/activate"));
//! assert_eq!(http.host.as_deref(), Some("api.account.xiaomi.com"));
//! assert_eq!(http.status, Some(200));
//!
//! let sni = events.iter().find_map(|e| match &e.kind {
//!     AppEventKind::Tls(t) => t.sni(),
//!     _ => None,
//! });
//! assert_eq!(sni, Some("sdkconfig.ad.xiaomi.com"));
//! # Ok::<(), telltale_decode::DecodeError>(())
//! ```
//!
//! Or parse one message directly:
//!
//! ```
//! use telltale_proto::dns;
//! // A query for example.com, type A.
//! let q = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01";
//! let m = dns::parse_message(q).unwrap();
//! assert_eq!(m.questions[0].name, "example.com");
//! assert!(!m.response);
//! ```

#![deny(missing_docs)]

pub mod body;
pub mod dhcp;
mod dissect;
pub mod dns;
mod event;
pub mod fingerprint;
pub mod http;
pub mod keylog;
pub mod quic;
pub mod tls;
pub mod tls_decrypt;
mod x509;

pub use dissect::{AppSink, DissectStats, Dissectors};
pub use event::{
    AppEvent, AppEventKind, AppProto, DhcpEvent, DnsEvent, DnsFlavor, HttpTransaction,
    OpaquePayload, QuicHandshake, TlsHandshake,
};
