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
//! ```
//! use telltale_proto::dns;
//! // A query for example.com, type A.
//! let q = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01";
//! let m = dns::parse_message(q).unwrap();
//! assert_eq!(m.questions[0].name, "example.com");
//! assert!(!m.response);
//! ```

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
