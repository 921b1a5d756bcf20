//! Application events: what the dissectors found, as owned values.

use telltale_decode::Timestamp;
use telltale_flow::FlowId;

/// One thing a dissector found in a flow: a DNS message, a TLS handshake, an
/// HTTP exchange. Owned, so it outlives the packet buffers it came from.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct AppEvent {
    /// The flow it was found in.
    pub flow: FlowId,
    /// Capture time of the packet where it starts.
    pub ts: Timestamp,
    /// Packet number where it starts (open it in Wireshark with `frame.number == N`).
    pub frame: u64,
    /// What was found.
    pub kind: AppEventKind,
}

/// The kinds of [`AppEvent`]. In JSON an object with one member named after
/// the kind (`{"dns": {...}}`), as EVE names its event objects.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AppEventKind {
    /// A DNS, mDNS or LLMNR message.
    Dns(DnsEvent),
    /// A TLS handshake (ClientHello, and the ServerHello when seen).
    Tls(TlsHandshake),
    /// A QUIC handshake, from its decrypted Initial packets.
    Quic(QuicHandshake),
    /// A DHCP or DHCPv6 message.
    Dhcp(DhcpEvent),
    /// Payload of a protocol not dissected (the first bytes each way), for
    /// detectors that search any payload. Transient: not worth keeping.
    Opaque(OpaquePayload),
    /// An HTTP/1.x request and, when seen, its response.
    Http(HttpTransaction),
}

/// The application protocol a flow was recognised as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum AppProto {
    /// DNS over UDP or TCP.
    Dns,
    /// Multicast DNS.
    Mdns,
    /// Link-Local Multicast Name Resolution.
    Llmnr,
    /// TLS.
    Tls,
    /// QUIC.
    Quic,
    /// DHCP.
    Dhcp,
    /// DHCPv6.
    Dhcpv6,
    /// HTTP/1.x.
    Http,
    /// Not recognised (yet): no payload, or payload of another protocol.
    Unknown,
}

impl AppProto {
    /// The EVE `app_proto` value.
    pub fn as_str(self) -> &'static str {
        match self {
            AppProto::Dns => "dns",
            AppProto::Mdns => "mdns",
            AppProto::Llmnr => "llmnr",
            AppProto::Tls => "tls",
            AppProto::Quic => "quic",
            AppProto::Dhcp => "dhcp",
            AppProto::Dhcpv6 => "dhcpv6",
            AppProto::Http => "http",
            AppProto::Unknown => "unknown",
        }
    }
}

/// Serialised as [`AppProto::as_str`].
impl serde::Serialize for AppProto {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Which name-resolution protocol a DNS-format message belongs to: `dns`,
/// `mdns` or `llmnr` in JSON, as in `app_proto`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum DnsFlavor {
    /// Unicast DNS.
    Dns,
    /// Multicast DNS (RFC 6762), UDP port 5353.
    Mdns,
    /// LLMNR (RFC 4795), port 5355.
    Llmnr,
}

impl DnsFlavor {
    /// The name written in reports (`app_proto`).
    pub fn as_str(self) -> &'static str {
        match self {
            DnsFlavor::Dns => "dns",
            DnsFlavor::Mdns => "mdns",
            DnsFlavor::Llmnr => "llmnr",
        }
    }
}

/// A DNS-format message and which protocol carried it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DnsEvent {
    /// DNS, mDNS or LLMNR.
    pub flavor: DnsFlavor,
    /// The parsed message.
    pub message: crate::dns::Message,
}

/// A TLS handshake as seen from its cleartext hellos.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct TlsHandshake {
    /// The ClientHello, when seen.
    pub client: Option<crate::tls::ClientHello>,
    /// The ServerHello, when seen.
    pub server: Option<crate::tls::ServerHello>,
    /// The server's certificate chain, leaf first (TLS 1.2 and below; TLS 1.3
    /// sends it encrypted).
    pub certificates: Vec<crate::tls::Certificate>,
}

impl TlsHandshake {
    /// Server name indication (for ECH, the outer public name).
    pub fn sni(&self) -> Option<&str> {
        self.client.as_ref()?.sni.as_deref()
    }

    /// The version in use: the server's choice when seen, else the highest
    /// the client offered.
    pub fn version(&self) -> Option<u16> {
        if let Some(s) = &self.server {
            return Some(s.version());
        }
        let c = self.client.as_ref()?;
        Some(
            c.supported_versions
                .iter()
                .copied()
                .filter(|v| !crate::tls::is_grease(*v))
                .max()
                .unwrap_or(c.legacy_version),
        )
    }
}

/// A QUIC handshake: the version and the ClientHello carried in the
/// client's Initial packets (decrypted with the version's public keys).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct QuicHandshake {
    /// QUIC version (1, 0x6b3343cf for v2, 0xff00001d for draft-29, ...).
    pub version: u32,
    /// The ClientHello.
    pub client: crate::tls::ClientHello,
    /// The ServerHello from the server's Initial packets, when seen.
    pub server: Option<crate::tls::ServerHello>,
}

impl QuicHandshake {
    /// Server name indication.
    pub fn sni(&self) -> Option<&str> {
        self.client.sni.as_deref()
    }
}

/// Bytes of a flow whose protocol is not dissected.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct OpaquePayload {
    /// TCP (stream bytes, in order) or UDP (one datagram).
    pub proto: telltale_flow::Proto,
    /// Which way they went.
    pub dir: telltale_flow::Dir,
    /// The bytes (serialised as their number only).
    #[serde(serialize_with = "ser_len")]
    pub bytes: Vec<u8>,
}

/// A DHCP message, either version: `{"v4": {...}}` or `{"v6": {...}}` in JSON.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DhcpEvent {
    /// DHCP for IPv4 (and BOOTP).
    V4(Box<crate::dhcp::DhcpV4>),
    /// DHCPv6.
    V6(Box<crate::dhcp::DhcpV6>),
}

/// An HTTP/1.x request and its response.
///
/// In JSON the fields EVE's `http` object also has take its names
/// (`http_method`, `url`, `hostname`, `http_user_agent`,
/// `http_content_type`); header values are lossy UTF-8 strings, and the
/// bodies are left out (their lengths stay).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct HttpTransaction {
    /// Request method.
    #[serde(rename = "http_method")]
    pub method: String,
    /// Request target as sent.
    #[serde(rename = "url")]
    pub uri: String,
    /// `HTTP/1.0` or `HTTP/1.1`.
    pub protocol: String,
    /// The Host header as sent (may include a port).
    #[serde(rename = "hostname")]
    pub host: Option<String>,
    /// The User-Agent header.
    #[serde(rename = "http_user_agent")]
    pub user_agent: Option<String>,
    /// Response status, when a response was seen.
    pub status: Option<u16>,
    /// Content-Type of the response.
    #[serde(rename = "http_content_type")]
    pub response_content_type: Option<String>,
    /// Request body length on the wire.
    pub request_body_len: u64,
    /// Response body length on the wire.
    pub response_body_len: u64,
    /// Request headers as sent, in order (names as written).
    #[serde(serialize_with = "ser_headers")]
    pub request_headers: Vec<(String, Vec<u8>)>,
    /// The request body, de-chunked and content-decoded within the body
    /// limits; `None` when there was none. Large: consumers that keep events
    /// should drop it once they have looked at it.
    #[serde(skip)]
    pub request_body: Option<crate::body::Body>,
    /// The response body, likewise.
    #[serde(skip)]
    pub response_body: Option<crate::body::Body>,
    /// Read from inside TLS, decrypted with a key log.
    pub decrypted: bool,
    /// The request body hit a body limit (raw bytes, decoded bytes or
    /// decompression ratio): only its start was kept and scanned.
    pub request_body_capped: bool,
    /// The response body hit a body limit, likewise.
    pub response_body_capped: bool,
}

/// Bytes as their number.
fn ser_len<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(bytes.len() as u64)
}

/// Header fields as `[name, value]` pairs, values as lossy UTF-8.
fn ser_headers<S: serde::Serializer>(
    headers: &[(String, Vec<u8>)],
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_seq(
        headers
            .iter()
            .map(|(name, value)| (name, String::from_utf8_lossy(value))),
    )
}
