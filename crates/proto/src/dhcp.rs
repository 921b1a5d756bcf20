//! DHCPv4 (RFC 2131/2132 over the BOOTP layout) and DHCPv6 (RFC 8415)
//! messages, parsed by hand for hostile input.
//!
//! [`parse_v4`] and [`parse_v6`] each take one UDP payload and return an owned
//! [`DhcpV4`] or [`DhcpV6`]. They know nothing of flows or ports: the caller
//! decides which of the two a datagram is (67/68 for v4, 546/547 for v6).
//!
//! What the parsers promise:
//! - No input panics. Every list is capped (see the `MAX_*` constants) and
//!   every byte kept is bounded by the payload's own length.
//! - Damage past the fixed header is not an error: what parsed before it is
//!   kept, [`DhcpV4::partial`] / [`DhcpV6::partial`] is set and the `error`
//!   field says why. `Err` is only for bytes that are not a DHCP message at all
//!   (shorter than the fixed header, a wrong magic cookie, an unknown BOOTP op).
//! - Text is kept twice, see [`DhcpString`]: the bytes as sent (a host name
//!   may end in a NUL, as some NAS firmware sends it and Suricata reports it)
//!   and a display form with trailing NULs stripped and control characters
//!   escaped (what tshark shows, minus the risk of printing raw control bytes).
//! - DHCPv4 options that appear several times are concatenated in wire order,
//!   options field then `file` then `sname` (RFC 3396 §7), so a long option
//!   split by a server reads back whole and option overload (option 52) is
//!   followed.
//! - Names in DNS wire format (DHCPv4 option 81 with the E flag, DHCPv6 option
//!   39) are rendered the way [`crate::dns`] renders names, so the two can be
//!   compared.
//!
//! ```
//! use telltale_proto::dhcp;
//!
//! // A DHCPDISCOVER: fixed BOOTP header, magic cookie, then options
//! // 53 (DISCOVER), 12 (host name "nas1" with a trailing NUL), End.
//! let mut msg = vec![0u8; 236];
//! msg[..4].copy_from_slice(&[1, 1, 6, 0]); // op, htype, hlen, hops
//! msg[28..34].copy_from_slice(&[0x00, 0x11, 0x32, 0x17, 0x49, 0xf0]);
//! msg.extend_from_slice(&[99, 130, 83, 99]);
//! msg.extend_from_slice(&[53, 1, 1, 12, 5, b'n', b'a', b's', b'1', 0, 255]);
//!
//! let m = dhcp::parse_v4(&msg).unwrap();
//! assert_eq!(m.message_type_name(), Some("DISCOVER"));
//! assert_eq!(m.client_mac.as_deref(), Some("00:11:32:17:49:f0"));
//! let host = m.host_name.unwrap();
//! assert_eq!(host.display, "nas1");
//! assert_eq!(host.raw, b"nas1\0");
//! assert!(!m.partial);
//! ```

use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Length of the fixed BOOTP header, up to and excluding the magic cookie.
pub const BOOTP_HEADER_LEN: usize = 236;

/// The DHCP magic cookie 99.130.83.99 (RFC 2131 §3).
pub const MAGIC_COOKIE: [u8; 4] = [99, 130, 83, 99];

/// At most this many option instances (Pad and End excluded) are walked in
/// one DHCPv4 message, or in one DHCPv6 message or relay layer; more marks the
/// message partial.
pub const MAX_OPTIONS: usize = 1024;

/// Strings keep at most this many raw bytes; longer values are cut there.
/// Concatenated DHCPv4 options (RFC 3396) may exceed the 255 of one option.
pub const MAX_STRING_LEN: usize = 1024;

/// Lists (addresses, requested options, class strings, IAs) keep at most this
/// many entries.
pub const MAX_LIST: usize = 255;

/// Hex renderings of identifiers (client identifier, DUID, relay ids) cover at
/// most this many bytes. A DUID is at most 130 bytes (RFC 8415 §11.1).
pub const MAX_ID_LEN: usize = 256;

/// Relay-forward / relay-reply layers followed before giving up. RFC 8415
/// limits hop counts to 8 (`HOP_COUNT_LIMIT`), so honest traffic never nests
/// deeper.
pub const MAX_RELAY_DEPTH: usize = 8;

const SNAME: std::ops::Range<usize> = 44..108;
const FILE: std::ops::Range<usize> = 108..236;
const OPTIONS_START: usize = BOOTP_HEADER_LEN + 4;
const V6_HEADER_LEN: usize = 4;
const V6_RELAY_HEADER_LEN: usize = 34;

/// FQDN flag S: the server should perform the A/AAAA update (RFC 4702/4704).
pub const FQDN_FLAG_S: u8 = 0x01;
/// FQDN flag O: the server overrode the client's S preference.
pub const FQDN_FLAG_O: u8 = 0x02;
/// FQDN flag E (DHCPv4 only): the name is in DNS wire format, not ASCII.
pub const FQDN_FLAG_E: u8 = 0x04;
/// FQDN flag N: the server should perform no DNS updates.
pub const FQDN_FLAG_N: u8 = 0x08;

/// Why a payload is not a DHCP message, or why the rest of one did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[non_exhaustive]
pub enum DhcpError {
    /// Fewer bytes than the fixed header (or, recorded in a partial message,
    /// than the magic cookie or a relayed message's header) needs.
    #[error("{len} bytes are shorter than the {need} the header needs")]
    Truncated {
        /// Bytes available.
        len: usize,
        /// Bytes needed.
        need: usize,
    },
    /// A BOOTP op code other than 1 (BOOTREQUEST) or 2 (BOOTREPLY).
    #[error("BOOTP op {op} is neither request nor reply")]
    BadOp {
        /// The op code seen.
        op: u8,
    },
    /// The four bytes after the BOOTP header are not 99.130.83.99.
    #[error("bad DHCP magic cookie {found:?}")]
    BadMagicCookie {
        /// The bytes found instead.
        found: [u8; 4],
    },
    /// DHCPv6 message type 0, which RFC 8415 reserves.
    #[error("reserved DHCPv6 message type 0")]
    BadMessageType,
    /// An option's length runs past the end of its area.
    #[error("option {code} at byte offset {offset} runs past the end of its area")]
    OptionOverrun {
        /// Option code.
        code: u16,
        /// Offset of the option's code in the payload.
        offset: usize,
    },
    /// A DHCPv4 option area ended without an End option (255).
    #[error("option area ends at byte offset {offset} without an End option")]
    MissingEnd {
        /// Offset just past the area.
        offset: usize,
    },
    /// More than [`MAX_OPTIONS`] options.
    #[error("more than {MAX_OPTIONS} options")]
    TooManyOptions,
    /// A relay message without a Relay Message option (9), which RFC 8415
    /// §9 requires.
    #[error("relay message without a Relay Message option")]
    MissingRelayMessage,
    /// Relay messages nested deeper than [`MAX_RELAY_DEPTH`].
    #[error("relay messages nested deeper than {MAX_RELAY_DEPTH}")]
    RelayTooDeep,
}

/// Text from an option, kept both as sent and in a form safe to display.
///
/// `raw` is the bytes as sent (capped at [`MAX_STRING_LEN`]): a trailing NUL
/// stays, as Suricata keeps it (`nas1\u0000`). `display` drops trailing NULs,
/// as tshark and Zeek's domain-name handling do, decodes UTF-8 lossily (invalid
/// sequences become U+FFFD) and escapes what would be unsafe to print: control
/// characters (interior NULs included) as `\xHH` (C0 and DEL) or `\u{HH}` (C1
/// and the bidirectional controls that could reorder a report's text), and a
/// backslash as `\\`, so the escaping is unambiguous. Serialized, `raw`
/// is written as lossy UTF-8 text (what EVE tools expect) beside `display`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DhcpString {
    /// The bytes as sent.
    #[serde(serialize_with = "ser_lossy")]
    pub raw: Vec<u8>,
    /// Trailing NULs stripped, lossy UTF-8, control characters escaped.
    pub display: String,
}

impl DhcpString {
    /// Keep `raw` (up to [`MAX_STRING_LEN`] bytes) and derive its display form.
    pub fn new(raw: &[u8]) -> Self {
        let raw = raw.get(..MAX_STRING_LEN).unwrap_or(raw);
        let mut end = raw.len();
        while end > 0 && raw.get(end - 1) == Some(&0) {
            end -= 1;
        }
        let mut display = String::new();
        for c in String::from_utf8_lossy(raw.get(..end).unwrap_or_default()).chars() {
            push_escaped(c, &mut display);
        }
        DhcpString {
            raw: raw.to_vec(),
            display,
        }
    }

    /// The raw bytes as lossy UTF-8, NULs and control bytes unescaped: the
    /// value Suricata's EVE output carries.
    pub fn lossy(&self) -> String {
        String::from_utf8_lossy(&self.raw).into_owned()
    }
}

fn push_escaped(c: char, out: &mut String) {
    match c {
        '\\' => out.push_str("\\\\"),
        c if c.is_control() && c.is_ascii() => {
            let _ = write!(out, "\\x{:02x}", u32::from(c));
        }
        // C1 controls, and bidirectional controls that could reorder what a
        // reader sees around them.
        c if c.is_control()
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}') =>
        {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
        c => out.push(c),
    }
}

fn ser_lossy<S: serde::Serializer>(raw: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&String::from_utf8_lossy(raw))
}

fn ser_hex<S: serde::Serializer>(raw: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex_all(raw))
}

/// A client FQDN: DHCPv4 option 81 (RFC 4702) or DHCPv6 option 39 (RFC 4704).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Fqdn {
    /// Flags byte: [`FQDN_FLAG_S`], [`FQDN_FLAG_O`], [`FQDN_FLAG_E`],
    /// [`FQDN_FLAG_N`].
    pub flags: u8,
    /// The two deprecated RCODE bytes of DHCPv4 option 81; `None` for DHCPv6,
    /// which has no such fields.
    pub rcodes: Option<[u8; 2]>,
    /// The name. From DNS wire format it is rendered like [`crate::dns`]
    /// names (no trailing dot, `.` and `\` inside a label escaped, other
    /// unprintable bytes as `\DDD`); from ASCII it is a [`DhcpString`]
    /// display form.
    pub name: String,
    /// The name was decoded from DNS wire format. DHCPv4 clients without the
    /// E flag send ASCII; a name that claims wire format but does not decode
    /// as one is read as ASCII too, since some clients set E and send text.
    pub wire_format: bool,
    /// The wire-format name ended with the root label. Clients may send a
    /// partial name (just the host label) and leave the domain to the server.
    pub fully_qualified: bool,
}

/// One DHCPv4 option as sent, instances of the same code concatenated.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DhcpOption {
    /// Option code.
    pub code: u8,
    /// The value bytes (serialized as lower-case hex).
    #[serde(serialize_with = "ser_hex")]
    pub value: Vec<u8>,
}

/// One parsed DHCPv4 message.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DhcpV4 {
    /// BOOTP op: 1 BOOTREQUEST (client to server), 2 BOOTREPLY.
    pub op: u8,
    /// Hardware address type (1 Ethernet).
    pub htype: u8,
    /// Hardware address length as sent (may exceed the 16 bytes of `chaddr`).
    pub hlen: u8,
    /// Relay hops.
    pub hops: u8,
    /// Transaction id.
    pub xid: u32,
    /// Seconds since the client began acquiring or renewing.
    pub secs: u16,
    /// Flags word; see [`DhcpV4::broadcast`].
    pub flags: u16,
    /// Client address (set when the client already has one: RENEW, INFORM).
    pub ciaddr: Ipv4Addr,
    /// `yiaddr`: the address the server assigns in an OFFER or ACK.
    pub assigned_ip: Ipv4Addr,
    /// Next server address (`siaddr`).
    pub siaddr: Ipv4Addr,
    /// Relay agent address (`giaddr`).
    pub giaddr: Ipv4Addr,
    /// `chaddr` limited to `hlen` (at most 16) bytes, lower-case colon hex.
    pub chaddr: String,
    /// The client MAC address, lower-case colon hex, when `htype` is 1 and
    /// `hlen` is 6.
    pub client_mac: Option<String>,
    /// Server host name from `sname`, up to its first NUL, when set and the
    /// field is not overloaded with options.
    pub server_name: Option<DhcpString>,
    /// Boot file name from `file`, up to its first NUL, when set and the field
    /// is not overloaded with options.
    pub boot_file: Option<DhcpString>,
    /// Option 53, DHCP message type; see [`message_type_name`].
    pub message_type: Option<u8>,
    /// Option 12, host name.
    pub host_name: Option<DhcpString>,
    /// Option 15, domain name.
    pub domain_name: Option<DhcpString>,
    /// Option 60, vendor class identifier (`android-dhcp-13`, `MSFT 5.0`, ...).
    pub vendor_class_id: Option<DhcpString>,
    /// Option 61, client identifier: the whole value (type byte first) as
    /// lower-case hex.
    pub client_id: Option<String>,
    /// Option 50, requested IP address.
    pub requested_ip: Option<Ipv4Addr>,
    /// Option 54, server identifier.
    pub server_id: Option<Ipv4Addr>,
    /// Option 51, lease time in seconds.
    pub lease_time: Option<u32>,
    /// Option 58, renewal (T1) time in seconds.
    pub renewal_time: Option<u32>,
    /// Option 59, rebinding (T2) time in seconds.
    pub rebinding_time: Option<u32>,
    /// Option 1, subnet mask.
    pub subnet_mask: Option<Ipv4Addr>,
    /// Option 3, routers.
    pub routers: Vec<Ipv4Addr>,
    /// Option 6, DNS servers.
    pub dns_servers: Vec<Ipv4Addr>,
    /// Option 55, parameter request list, in the client's order (the order is
    /// what DHCP fingerprinting keys on).
    pub parameter_request_list: Vec<u8>,
    /// Option 57, maximum DHCP message size.
    pub max_message_size: Option<u16>,
    /// Option 81, client FQDN.
    pub client_fqdn: Option<Fqdn>,
    /// Option 52, option overload: 1 `file`, 2 `sname`, 3 both carry options.
    pub overload: Option<u8>,
    /// Option codes in the order they first appear (Pad and End excluded).
    pub option_codes: Vec<u8>,
    /// Every option (Pad and End excluded), concatenated per code, in order
    /// of first appearance.
    pub options: Vec<DhcpOption>,
    /// An option area was cut short (an option overran it, End was missing,
    /// the magic cookie was cut, or [`MAX_OPTIONS`] was hit): the fields hold
    /// what parsed and [`DhcpV4::error`] says why.
    pub partial: bool,
    /// The first reason parsing stopped early, when [`DhcpV4::partial`].
    pub error: Option<DhcpError>,
}

impl DhcpV4 {
    /// The name of [`DhcpV4::message_type`], e.g. `DISCOVER`.
    pub fn message_type_name(&self) -> Option<&'static str> {
        message_type_name(self.message_type?)
    }

    /// The BROADCAST flag: the client asks for replies by broadcast.
    pub fn broadcast(&self) -> bool {
        self.flags & 0x8000 != 0
    }

    /// The raw value of option `code`, instances concatenated.
    pub fn option(&self, code: u8) -> Option<&[u8]> {
        self.options
            .iter()
            .find(|o| o.code == code)
            .map(|o| o.value.as_slice())
    }
}

/// Name of a DHCPv4 message type (option 53), upper case as RFC 2131 and its
/// successors spell them without the `DHCP` prefix.
pub fn message_type_name(t: u8) -> Option<&'static str> {
    Some(match t {
        1 => "DISCOVER",
        2 => "OFFER",
        3 => "REQUEST",
        4 => "DECLINE",
        5 => "ACK",
        6 => "NAK",
        7 => "RELEASE",
        8 => "INFORM",
        9 => "FORCERENEW",
        10 => "LEASEQUERY",
        11 => "LEASEUNASSIGNED",
        12 => "LEASEUNKNOWN",
        13 => "LEASEACTIVE",
        14 => "BULKLEASEQUERY",
        15 => "LEASEQUERYDONE",
        16 => "ACTIVELEASEQUERY",
        17 => "LEASEQUERYSTATUS",
        18 => "TLS",
        _ => return None,
    })
}

/// Parse one DHCPv4 message from a UDP payload.
///
/// Errors only when the payload is shorter than the 236-byte BOOTP header,
/// has an op other than 1 or 2, or carries a wrong magic cookie. A payload cut
/// inside the cookie or the options yields a [`DhcpV4::partial`] message.
pub fn parse_v4(payload: &[u8]) -> Result<DhcpV4, DhcpError> {
    let too_short = DhcpError::Truncated {
        len: payload.len(),
        need: BOOTP_HEADER_LEN,
    };
    let header = payload.get(..BOOTP_HEADER_LEN).ok_or(too_short.clone())?;
    let mut c = Cursor(header);
    let (Some(op), Some(htype), Some(hlen), Some(hops)) = (c.u8(), c.u8(), c.u8(), c.u8()) else {
        return Err(too_short);
    };
    if op != 1 && op != 2 {
        return Err(DhcpError::BadOp { op });
    }
    let (Some(xid), Some(secs), Some(flags)) = (c.u32(), c.u16(), c.u16()) else {
        return Err(too_short);
    };
    let (Some(ciaddr), Some(yiaddr), Some(siaddr), Some(giaddr), Some(chaddr_field)) =
        (c.ipv4(), c.ipv4(), c.ipv4(), c.ipv4(), c.array::<16>())
    else {
        return Err(too_short);
    };

    let mut acc = V4Options::default();
    let mut error = None;
    match payload.get(BOOTP_HEADER_LEN..OPTIONS_START) {
        None => {
            error = Some(DhcpError::Truncated {
                len: payload.len(),
                need: OPTIONS_START,
            })
        }
        Some(cookie) if cookie != MAGIC_COOKIE => {
            let mut found = [0; 4];
            found.copy_from_slice(cookie);
            return Err(DhcpError::BadMagicCookie { found });
        }
        Some(_) => {
            let area = payload.get(OPTIONS_START..).unwrap_or_default();
            if let Err(e) = acc.walk(area, OPTIONS_START) {
                error = Some(e);
            }
        }
    }

    // RFC 2131 §4.1: option 52 only counts in the options field; areas it
    // names are read file first, then sname (RFC 3396 §7).
    let overload = acc.get(52).and_then(|v| v.first().copied());
    let ov = overload.unwrap_or(0);
    for (bit, range) in [(1, FILE), (2, SNAME)] {
        if ov & bit != 0 {
            let area = payload.get(range.clone()).unwrap_or_default();
            if let Err(e) = acc.walk(area, range.start) {
                error.get_or_insert(e);
            }
        }
    }
    let c_string = |range: std::ops::Range<usize>, bit: u8| {
        if ov & bit != 0 {
            return None;
        }
        let field = payload.get(range).unwrap_or_default();
        let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
        let s = field.get(..end).filter(|s| !s.is_empty())?;
        Some(DhcpString::new(s))
    };
    let server_name = c_string(SNAME, 2);
    let boot_file = c_string(FILE, 1);

    let hw = chaddr_field
        .get(..usize::from(hlen).min(16))
        .unwrap_or_default();
    let client_mac = (htype == 1 && hlen == 6).then(|| colon_hex(hw));

    let string = |code| acc.get(code).map(DhcpString::new);
    let addr = |code| acc.get(code).and_then(|v| Cursor(v).ipv4());
    let int = |code| acc.get(code).and_then(|v| Cursor(v).u32());
    let addrs = |code| -> Vec<Ipv4Addr> {
        let v = acc.get(code).unwrap_or_default();
        v.chunks_exact(4)
            .take(MAX_LIST)
            .filter_map(|a| Cursor(a).ipv4())
            .collect()
    };

    Ok(DhcpV4 {
        op,
        htype,
        hlen,
        hops,
        xid,
        secs,
        flags,
        ciaddr,
        assigned_ip: yiaddr,
        siaddr,
        giaddr,
        chaddr: colon_hex(hw),
        client_mac,
        server_name,
        boot_file,
        message_type: acc.get(53).and_then(|v| v.first().copied()),
        host_name: string(12),
        domain_name: string(15),
        vendor_class_id: string(60),
        client_id: acc.get(61).map(hex),
        requested_ip: addr(50),
        server_id: addr(54),
        lease_time: int(51),
        renewal_time: int(58),
        rebinding_time: int(59),
        subnet_mask: addr(1),
        routers: addrs(3),
        dns_servers: addrs(6),
        parameter_request_list: acc
            .get(55)
            .map(|v| v.iter().copied().take(MAX_LIST).collect())
            .unwrap_or_default(),
        max_message_size: acc.get(57).and_then(|v| Cursor(v).u16()),
        client_fqdn: acc.get(81).and_then(parse_fqdn_v4),
        overload,
        option_codes: acc.options.iter().map(|o| o.code).collect(),
        partial: error.is_some(),
        error,
        options: acc.options,
    })
}

/// DHCPv4 options gathered over the areas, same codes concatenated.
#[derive(Default)]
struct V4Options {
    options: Vec<DhcpOption>,
    instances: usize,
}

impl V4Options {
    fn get(&self, code: u8) -> Option<&[u8]> {
        self.options
            .iter()
            .find(|o| o.code == code)
            .map(|o| o.value.as_slice())
    }

    /// Walk one option area (`base` is its offset in the payload) up to End.
    fn walk(&mut self, area: &[u8], base: usize) -> Result<(), DhcpError> {
        let mut pos = 0;
        loop {
            let offset = base.saturating_add(pos);
            let Some(&code) = area.get(pos) else {
                return Err(DhcpError::MissingEnd { offset });
            };
            match code {
                // Positions stay within the area, so the sums below cannot
                // overflow; saturating keeps that true without an argument.
                0 => pos = pos.saturating_add(1),
                255 => return Ok(()),
                _ => {
                    let overrun = DhcpError::OptionOverrun {
                        code: code.into(),
                        offset,
                    };
                    let len = *area.get(pos.saturating_add(1)).ok_or(overrun.clone())?;
                    let start = pos.saturating_add(2);
                    let end = start.saturating_add(usize::from(len));
                    let value = area.get(start..end).ok_or(overrun)?;
                    self.instances = self.instances.saturating_add(1);
                    if self.instances > MAX_OPTIONS {
                        return Err(DhcpError::TooManyOptions);
                    }
                    // At most 254 distinct codes, so this scan stays short;
                    // concatenated values are bounded by the payload length.
                    match self.options.iter_mut().find(|o| o.code == code) {
                        Some(o) => o.value.extend_from_slice(value),
                        None => self.options.push(DhcpOption {
                            code,
                            value: value.to_vec(),
                        }),
                    }
                    pos = end;
                }
            }
        }
    }
}

fn parse_fqdn_v4(v: &[u8]) -> Option<Fqdn> {
    let mut c = Cursor(v);
    let flags = c.u8()?;
    let rcodes = [c.u8()?, c.u8()?];
    let mut f = parse_fqdn_name(flags, c.0, flags & FQDN_FLAG_E != 0);
    f.rcodes = Some(rcodes);
    Some(f)
}

fn parse_fqdn_name(flags: u8, name: &[u8], wire: bool) -> Fqdn {
    if wire && let Some((name, fully_qualified)) = read_wire_name(name) {
        return Fqdn {
            flags,
            rcodes: None,
            name,
            wire_format: true,
            fully_qualified,
        };
    }
    let s = DhcpString::new(name);
    Fqdn {
        flags,
        rcodes: None,
        fully_qualified: s.display.ends_with('.'),
        name: s.display,
        wire_format: false,
    }
}

/// Decode an uncompressed DNS wire-format name (RFC 4702 §2.3 and RFC 4704
/// §4.2 forbid compression). Returns the rendered name and whether it ended
/// with the root label; `None` when it is not a valid wire-format name.
fn read_wire_name(mut b: &[u8]) -> Option<(String, bool)> {
    if b.len() > 255 {
        return None;
    }
    let mut out = String::new();
    loop {
        let Some((&len, rest)) = b.split_first() else {
            // A partial name: the client sent its host label without a root.
            return (!out.is_empty()).then_some((out, false));
        };
        if len == 0 {
            // Only NUL padding may follow the root label.
            return rest.iter().all(|&x| x == 0).then_some((out, true));
        }
        if len > 63 {
            return None;
        }
        let (label, rest) = rest.split_at_checked(usize::from(len))?;
        if !out.is_empty() {
            out.push('.');
        }
        escape_label(label, &mut out);
        b = rest;
    }
}

/// Render one label as [`crate::dns`] does, like `dig`: printable ASCII as
/// is, `.` and `\` escaped with a backslash, everything else as `\DDD`.
fn escape_label(label: &[u8], out: &mut String) {
    for &b in label {
        match b {
            b'.' | b'\\' => {
                out.push('\\');
                out.push(char::from(b));
            }
            0x21..=0x7e => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "\\{b:03}");
            }
        }
    }
}

// ---------------------------------------------------------------- DHCPv6

/// A DHCP Unique Identifier (RFC 8415 §11).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Duid {
    /// The whole DUID (type included) as lower-case hex, at most
    /// [`MAX_ID_LEN`] bytes of it.
    pub hex: String,
    /// DUID type: 1 LLT, 2 EN, 3 LL, 4 UUID.
    pub duid_type: Option<u16>,
    /// Hardware type of a DUID-LLT or DUID-LL (1 Ethernet).
    pub hw_type: Option<u16>,
    /// Time field of a DUID-LLT: seconds since 2000-01-01 00:00 UTC, when the
    /// DUID was generated (often first boot or install).
    pub time: Option<u32>,
    /// Enterprise number of a DUID-EN.
    pub enterprise: Option<u32>,
    /// The link-layer address of a DUID-LLT or DUID-LL with hardware type 1
    /// and six address bytes, lower-case colon hex.
    pub link_layer_address: Option<String>,
}

/// An IPv6 address lease inside an IA (IAADDR, option 5).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct IaAddress {
    /// The address.
    pub address: Ipv6Addr,
    /// Preferred lifetime in seconds.
    pub preferred_lifetime: u32,
    /// Valid lifetime in seconds.
    pub valid_lifetime: u32,
}

/// A delegated prefix inside an IA_PD (IAPREFIX, option 26).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct IaPrefix {
    /// The prefix.
    pub prefix: Ipv6Addr,
    /// Its length in bits.
    pub prefix_len: u8,
    /// Preferred lifetime in seconds.
    pub preferred_lifetime: u32,
    /// Valid lifetime in seconds.
    pub valid_lifetime: u32,
}

/// An identity association: IA_NA (option 3), IA_TA (4) or IA_PD (25).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Ia {
    /// The option code: 3 IA_NA, 4 IA_TA, 25 IA_PD.
    pub code: u16,
    /// Identity association id.
    pub iaid: u32,
    /// T1 in seconds (0 for IA_TA, which has none).
    pub t1: u32,
    /// T2 in seconds (0 for IA_TA).
    pub t2: u32,
    /// IAADDR options (IA_NA, IA_TA).
    pub addresses: Vec<IaAddress>,
    /// IAPREFIX options (IA_PD).
    pub prefixes: Vec<IaPrefix>,
}

/// A vendor class (option 16): enterprise number and its class strings.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VendorClass {
    /// IANA enterprise number (311 Microsoft, ...).
    pub enterprise: u32,
    /// The vendor-class-data strings.
    pub data: Vec<DhcpString>,
}

/// A status code option (13).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StatusCode {
    /// 0 Success, 1 UnspecFail, 2 NoAddrsAvail, ...
    pub code: u16,
    /// The status message.
    pub message: DhcpString,
}

/// One relay layer a message passed through (RELAY-FORW or RELAY-REPL).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RelayHop {
    /// 12 RELAY-FORW or 13 RELAY-REPL.
    pub msg_type: u8,
    /// Hop count.
    pub hop_count: u8,
    /// Link address: identifies the client's link.
    pub link_address: Ipv6Addr,
    /// Peer address: the client's (or previous relay's) address.
    pub peer_address: Ipv6Addr,
    /// Interface-id option (18), lower-case hex.
    pub interface_id: Option<String>,
    /// Remote-id option (37): enterprise number and id as lower-case hex.
    pub remote_id: Option<(u32, String)>,
    /// Client link-layer address option (79, RFC 6939), lower-case colon hex:
    /// the client's MAC as the first relay saw it.
    pub client_link_layer_address: Option<String>,
}

/// One parsed DHCPv6 message; for relayed messages, the innermost one, with
/// the layers it came through in [`DhcpV6::relays`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DhcpV6 {
    /// Message type of the innermost message reached; see
    /// [`v6_message_type_name`]. 12/13 when a relay layer carries no
    /// (readable) Relay Message option.
    pub msg_type: u8,
    /// The 24-bit transaction id; `None` when the innermost message reached is
    /// a relay layer.
    pub transaction_id: Option<u32>,
    /// Relay layers, outermost first; empty for a message sent directly.
    pub relays: Vec<RelayHop>,
    /// Option 1, client identifier.
    pub client_duid: Option<Duid>,
    /// Option 2, server identifier.
    pub server_duid: Option<Duid>,
    /// IA_NA, IA_TA and IA_PD options with their addresses and prefixes.
    pub ias: Vec<Ia>,
    /// Option 6, option request list.
    pub oro: Vec<u16>,
    /// Option 8, elapsed time in hundredths of a second.
    pub elapsed_time: Option<u16>,
    /// Option 13, status code.
    pub status: Option<StatusCode>,
    /// Option 15, user class strings.
    pub user_class: Vec<DhcpString>,
    /// Option 16, vendor classes.
    pub vendor_class: Vec<VendorClass>,
    /// Option 23, DNS recursive name servers (RFC 3646).
    pub dns_servers: Vec<Ipv6Addr>,
    /// Option 39, client FQDN (RFC 4704).
    pub fqdn: Option<Fqdn>,
    /// Option codes of the innermost message in wire order (duplicates kept).
    pub option_codes: Vec<u16>,
    /// Some option or relayed message was cut short, or a cap was hit: the
    /// fields hold what parsed and [`DhcpV6::error`] says why.
    pub partial: bool,
    /// The first reason parsing stopped early, when [`DhcpV6::partial`].
    pub error: Option<DhcpError>,
}

impl DhcpV6 {
    /// The name of [`DhcpV6::msg_type`], e.g. `SOLICIT`.
    pub fn message_type_name(&self) -> Option<&'static str> {
        v6_message_type_name(self.msg_type)
    }

    /// All IA_NA and IA_TA addresses, in order.
    pub fn addresses(&self) -> impl Iterator<Item = &IaAddress> {
        self.ias.iter().flat_map(|ia| ia.addresses.iter())
    }
}

/// Name of a DHCPv6 message type, as the RFCs spell them.
pub fn v6_message_type_name(t: u8) -> Option<&'static str> {
    Some(match t {
        1 => "SOLICIT",
        2 => "ADVERTISE",
        3 => "REQUEST",
        4 => "CONFIRM",
        5 => "RENEW",
        6 => "REBIND",
        7 => "REPLY",
        8 => "RELEASE",
        9 => "DECLINE",
        10 => "RECONFIGURE",
        11 => "INFORMATION-REQUEST",
        12 => "RELAY-FORW",
        13 => "RELAY-REPL",
        14 => "LEASEQUERY",
        15 => "LEASEQUERY-REPLY",
        16 => "LEASEQUERY-DONE",
        17 => "LEASEQUERY-DATA",
        18 => "RECONFIGURE-REQUEST",
        19 => "RECONFIGURE-REPLY",
        20 => "DHCPV4-QUERY",
        21 => "DHCPV4-RESPONSE",
        22 => "ACTIVELEASEQUERY",
        23 => "STARTTLS",
        24 => "BNDUPD",
        25 => "BNDREPLY",
        26 => "POOLREQ",
        27 => "POOLRESP",
        28 => "UPDREQ",
        29 => "UPDREQALL",
        30 => "UPDDONE",
        31 => "CONNECT",
        32 => "CONNECTREPLY",
        33 => "DISCONNECT",
        34 => "STATE",
        35 => "CONTACT",
        _ => return None,
    })
}

const RELAY_FORW: u8 = 12;
const RELAY_REPL: u8 = 13;

/// Parse one DHCPv6 message from a UDP payload, following relay layers into
/// their Relay Message option (at most [`MAX_RELAY_DEPTH`] deep).
///
/// Errors only when the payload is shorter than the outer header or has the
/// reserved message type 0; anything cut short later yields a
/// [`DhcpV6::partial`] message.
pub fn parse_v6(payload: &[u8]) -> Result<DhcpV6, DhcpError> {
    let mut msg = payload;
    let mut base = 0usize;
    let mut relays = Vec::new();
    let mut error = None;
    loop {
        let msg_type = msg.first().copied();
        let is_relay = matches!(msg_type, Some(RELAY_FORW | RELAY_REPL));
        let need = if is_relay {
            V6_RELAY_HEADER_LEN
        } else {
            V6_HEADER_LEN
        };
        let problem = if msg.len() < need {
            Some(DhcpError::Truncated {
                len: msg.len(),
                need,
            })
        } else if msg_type == Some(0) {
            Some(DhcpError::BadMessageType)
        } else if is_relay && relays.len() >= MAX_RELAY_DEPTH {
            Some(DhcpError::RelayTooDeep)
        } else {
            None
        };
        if let Some(e) = problem {
            if relays.is_empty() {
                return Err(e);
            }
            // The relay layers parsed; the message they carry did not.
            return Ok(DhcpV6::relay_only(relays, error.or(Some(e))));
        }
        if !is_relay {
            let mut v6 = parse_v6_body(msg, base, relays);
            v6.error = error.or(v6.error);
            v6.partial = v6.error.is_some();
            return Ok(v6);
        }

        let mut c = Cursor(msg.get(1..).unwrap_or_default());
        let (Some(hop_count), Some(link_address), Some(peer_address)) =
            (c.u8(), c.ipv6(), c.ipv6())
        else {
            // Unreachable after the length check; kept total rather than
            // trusting the arithmetic.
            return Err(DhcpError::Truncated {
                len: msg.len(),
                need,
            });
        };
        let mut hop = RelayHop {
            msg_type: msg_type.unwrap_or(RELAY_FORW),
            hop_count,
            link_address,
            peer_address,
            interface_id: None,
            remote_id: None,
            client_link_layer_address: None,
        };
        let mut inner = None;
        let opts_base = base.saturating_add(V6_RELAY_HEADER_LEN);
        for opt in V6Options::new(c.0, opts_base) {
            let (code, data, offset) = match opt {
                Ok(o) => o,
                Err(e) => {
                    error.get_or_insert(e);
                    break;
                }
            };
            match code {
                9 if inner.is_none() => inner = Some((data, offset.saturating_add(4))),
                18 => hop.interface_id = Some(hex(data)),
                37 => {
                    let mut c = Cursor(data);
                    hop.remote_id = c.u32().map(|ent| (ent, hex(c.0)));
                }
                79 => {
                    let mut c = Cursor(data);
                    if c.u16() == Some(1) && c.0.len() == 6 {
                        hop.client_link_layer_address = Some(colon_hex(c.0));
                    }
                }
                _ => {}
            }
        }
        relays.push(hop);
        let Some((data, data_base)) = inner else {
            let e = error.or(Some(DhcpError::MissingRelayMessage));
            return Ok(DhcpV6::relay_only(relays, e));
        };
        msg = data;
        base = data_base;
    }
}

impl DhcpV6 {
    fn empty(msg_type: u8, relays: Vec<RelayHop>) -> Self {
        DhcpV6 {
            msg_type,
            transaction_id: None,
            relays,
            client_duid: None,
            server_duid: None,
            ias: Vec::new(),
            oro: Vec::new(),
            elapsed_time: None,
            status: None,
            user_class: Vec::new(),
            vendor_class: Vec::new(),
            dns_servers: Vec::new(),
            fqdn: None,
            option_codes: Vec::new(),
            partial: false,
            error: None,
        }
    }

    /// A message whose innermost layer reached is a relay.
    fn relay_only(relays: Vec<RelayHop>, error: Option<DhcpError>) -> Self {
        let msg_type = relays.last().map_or(RELAY_FORW, |r| r.msg_type);
        let mut v6 = DhcpV6::empty(msg_type, relays);
        v6.partial = error.is_some();
        v6.error = error;
        v6
    }
}

/// Parse a client/server message whose header (4 bytes) is known present.
fn parse_v6_body(msg: &[u8], base: usize, relays: Vec<RelayHop>) -> DhcpV6 {
    let mut c = Cursor(msg);
    let msg_type = c.u8().unwrap_or_default();
    let mut v6 = DhcpV6::empty(msg_type, relays);
    v6.transaction_id = c
        .array::<3>()
        .map(|[a, b, d]| u32::from_be_bytes([0, a, b, d]));
    let opts_base = base.saturating_add(V6_HEADER_LEN);
    for opt in V6Options::new(c.0, opts_base) {
        let (code, data, offset) = match opt {
            Ok(o) => o,
            Err(e) => {
                v6.error.get_or_insert(e);
                break;
            }
        };
        if v6.option_codes.len() < MAX_LIST {
            v6.option_codes.push(code);
        }
        let data_base = offset.saturating_add(4);
        match code {
            1 if v6.client_duid.is_none() => v6.client_duid = Some(parse_duid(data)),
            2 if v6.server_duid.is_none() => v6.server_duid = Some(parse_duid(data)),
            3 | 4 | 25 if v6.ias.len() < MAX_LIST => {
                if let Some(ia) = parse_ia(code, data, data_base, &mut v6.error) {
                    v6.ias.push(ia);
                }
            }
            6 => {
                for pair in data.chunks_exact(2) {
                    if v6.oro.len() >= MAX_LIST {
                        break;
                    }
                    if let Some(o) = Cursor(pair).u16() {
                        v6.oro.push(o);
                    }
                }
            }
            8 => v6.elapsed_time = Cursor(data).u16(),
            13 if v6.status.is_none() => {
                let mut c = Cursor(data);
                v6.status = c.u16().map(|code| StatusCode {
                    code,
                    message: DhcpString::new(c.0),
                });
            }
            15 => read_class_strings(data, &mut v6.user_class),
            16 if v6.vendor_class.len() < MAX_LIST => {
                let mut c = Cursor(data);
                if let Some(enterprise) = c.u32() {
                    let mut strings = Vec::new();
                    read_class_strings(c.0, &mut strings);
                    v6.vendor_class.push(VendorClass {
                        enterprise,
                        data: strings,
                    });
                }
            }
            23 => {
                for a in data.chunks_exact(16) {
                    if v6.dns_servers.len() >= MAX_LIST {
                        break;
                    }
                    if let Some(a) = Cursor(a).ipv6() {
                        v6.dns_servers.push(a);
                    }
                }
            }
            39 if v6.fqdn.is_none() => {
                if let Some((&flags, name)) = data.split_first() {
                    v6.fqdn = Some(parse_fqdn_name(flags, name, true));
                }
            }
            _ => {}
        }
    }
    v6.partial = v6.error.is_some();
    v6
}

fn parse_duid(d: &[u8]) -> Duid {
    let mut duid = Duid {
        hex: hex(d),
        duid_type: None,
        hw_type: None,
        time: None,
        enterprise: None,
        link_layer_address: None,
    };
    let mut c = Cursor(d);
    duid.duid_type = c.u16();
    let has_lladdr = match duid.duid_type {
        Some(1) => {
            duid.hw_type = c.u16();
            duid.time = c.u32();
            duid.time.is_some()
        }
        Some(2) => {
            duid.enterprise = c.u32();
            false
        }
        Some(3) => {
            duid.hw_type = c.u16();
            duid.hw_type.is_some()
        }
        _ => false,
    };
    if has_lladdr && duid.hw_type == Some(1) && c.0.len() == 6 {
        duid.link_layer_address = Some(colon_hex(c.0));
    }
    duid
}

/// Parse an IA_NA, IA_TA or IA_PD and the addresses or prefixes inside.
fn parse_ia(code: u16, data: &[u8], base: usize, error: &mut Option<DhcpError>) -> Option<Ia> {
    let mut c = Cursor(data);
    let iaid = c.u32()?;
    let (t1, t2) = if code == 4 {
        (0, 0)
    } else {
        (c.u32()?, c.u32()?)
    };
    let mut ia = Ia {
        code,
        iaid,
        t1,
        t2,
        addresses: Vec::new(),
        prefixes: Vec::new(),
    };
    let inner_base = base.saturating_add(data.len().saturating_sub(c.0.len()));
    for opt in V6Options::new(c.0, inner_base) {
        let (sub, value, _) = match opt {
            Ok(o) => o,
            Err(e) => {
                error.get_or_insert(e);
                break;
            }
        };
        let mut v = Cursor(value);
        match sub {
            5 if code != 25 && ia.addresses.len() < MAX_LIST => {
                if let (Some(address), Some(p), Some(vl)) = (v.ipv6(), v.u32(), v.u32()) {
                    ia.addresses.push(IaAddress {
                        address,
                        preferred_lifetime: p,
                        valid_lifetime: vl,
                    });
                }
            }
            26 if code == 25 && ia.prefixes.len() < MAX_LIST => {
                if let (Some(p), Some(vl), Some(len), Some(prefix)) =
                    (v.u32(), v.u32(), v.u8(), v.ipv6())
                {
                    ia.prefixes.push(IaPrefix {
                        prefix,
                        prefix_len: len,
                        preferred_lifetime: p,
                        valid_lifetime: vl,
                    });
                }
            }
            _ => {}
        }
    }
    Some(ia)
}

/// Read `u16 length, bytes` strings (user class, vendor-class-data) until the
/// data or the cap runs out; a string that overruns the data is dropped.
fn read_class_strings(mut data: &[u8], out: &mut Vec<DhcpString>) {
    while out.len() < MAX_LIST {
        let mut c = Cursor(data);
        let Some(len) = c.u16() else { return };
        let Some((s, rest)) = c.0.split_at_checked(usize::from(len)) else {
            return;
        };
        out.push(DhcpString::new(s));
        data = rest;
    }
}

/// Iterator over DHCPv6 options `(code, data, offset of the code)`; yields one
/// `Err` and stops when an option overruns the area or the cap is hit.
struct V6Options<'a> {
    rest: &'a [u8],
    offset: usize,
    count: usize,
    done: bool,
}

impl<'a> V6Options<'a> {
    fn new(area: &'a [u8], base: usize) -> Self {
        V6Options {
            rest: area,
            offset: base,
            count: 0,
            done: false,
        }
    }
}

impl<'a> Iterator for V6Options<'a> {
    type Item = Result<(u16, &'a [u8], usize), DhcpError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.rest.is_empty() {
            return None;
        }
        let mut c = Cursor(self.rest);
        let offset = self.offset;
        let header = (c.u16(), c.u16());
        let code = header.0.unwrap_or_default();
        let data = match header {
            (Some(_), Some(len)) => c.0.split_at_checked(usize::from(len)),
            _ => None,
        };
        self.count = self.count.saturating_add(1);
        let item = match data {
            _ if self.count > MAX_OPTIONS => Err(DhcpError::TooManyOptions),
            None => Err(DhcpError::OptionOverrun { code, offset }),
            Some((data, rest)) => {
                let used = self.rest.len().saturating_sub(rest.len());
                self.offset = self.offset.saturating_add(used);
                self.rest = rest;
                return Some(Ok((code, data, offset)));
            }
        };
        self.done = true;
        Some(item)
    }
}

// ---------------------------------------------------------------- helpers

/// A read cursor: each read takes bytes off the front or returns `None`.
struct Cursor<'a>(&'a [u8]);

impl Cursor<'_> {
    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*head)
    }

    fn u8(&mut self) -> Option<u8> {
        self.array::<1>().map(|[b]| b)
    }

    fn u16(&mut self) -> Option<u16> {
        self.array().map(u16::from_be_bytes)
    }

    fn u32(&mut self) -> Option<u32> {
        self.array().map(u32::from_be_bytes)
    }

    fn ipv4(&mut self) -> Option<Ipv4Addr> {
        self.array::<4>().map(Ipv4Addr::from)
    }

    fn ipv6(&mut self) -> Option<Ipv6Addr> {
        self.array::<16>().map(Ipv6Addr::from)
    }
}

/// Lower-case hex of at most [`MAX_ID_LEN`] bytes, for identifiers.
fn hex(b: &[u8]) -> String {
    hex_all(b.get(..MAX_ID_LEN).unwrap_or(b))
}

fn hex_all(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len().saturating_mul(2));
    for x in b {
        let _ = write!(s, "{x:02x}");
    }
    s
}

fn colon_hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len().saturating_mul(3));
    for (i, x) in b.iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        let _ = write!(s, "{x:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The 236-byte BOOTP header, field by field, then the magic cookie.
    fn bootp(op: u8, xid: u32, flags: u16, addrs: [[u8; 4]; 4], mac: [u8; 6]) -> Vec<u8> {
        let mut m = vec![op, 1, 6, 0];
        m.extend_from_slice(&xid.to_be_bytes());
        m.extend_from_slice(&[0, 0]); // secs
        m.extend_from_slice(&flags.to_be_bytes());
        for a in addrs {
            m.extend_from_slice(&a); // ciaddr, yiaddr, siaddr, giaddr
        }
        m.extend_from_slice(&mac);
        m.extend_from_slice(&[0; 10]); // chaddr padding
        m.extend_from_slice(&[0; 64]); // sname
        m.extend_from_slice(&[0; 128]); // file
        assert_eq!(m.len(), BOOTP_HEADER_LEN);
        m.extend_from_slice(&MAGIC_COOKIE);
        m
    }

    const MAC: [u8; 6] = [0x00, 0x0b, 0x82, 0x01, 0xfc, 0x42];
    const ZERO: [u8; 4] = [0; 4];

    fn discover() -> Vec<u8> {
        let mut m = bootp(1, 0x3903_f326, 0x8000, [ZERO; 4], MAC);
        #[rustfmt::skip]
        m.extend_from_slice(&[
            53, 1, 1,
            61, 7, 1, 0x00, 0x0b, 0x82, 0x01, 0xfc, 0x42,
            50, 4, 192, 168, 0, 10,
            57, 2, 0x05, 0xdc,
            60, 15, b'a', b'n', b'd', b'r', b'o', b'i', b'd', b'-', b'd', b'h', b'c', b'p', b'-', b'1', b'3',
            12, 7, b'P', b'i', b'x', b'e', b'l', b'-', b'7',
            55, 6, 1, 3, 6, 15, 119, 252,
            255,
        ]);
        assert_eq!(m.len(), 240 + 57);
        m
    }

    fn request() -> Vec<u8> {
        let mut m = bootp(1, 0x3903_f326, 0, [ZERO; 4], MAC);
        #[rustfmt::skip]
        m.extend_from_slice(&[
            53, 1, 3,
            50, 4, 192, 168, 0, 10,
            54, 4, 192, 168, 0, 1,
            12, 10, b'G', b'a', b'l', b'a', b'x', b'y', b'-', b'S', b'2', b'3',
            // Client FQDN: flags S|E, two RCODE bytes, then a wire-format name.
            81, 20, 0x05, 0, 0,
                10, b'g', b'a', b'l', b'a', b'x', b'y', b'-', b's', b'2', b'3',
                4, b'h', b'o', b'm', b'e', 0,
            55, 4, 1, 3, 6, 15,
            255,
        ]);
        m
    }

    fn ack() -> Vec<u8> {
        let addrs = [ZERO, [192, 168, 0, 10], [192, 168, 0, 1], ZERO];
        let mut m = bootp(2, 0x3903_f326, 0, addrs, MAC);
        #[rustfmt::skip]
        m.extend_from_slice(&[
            53, 1, 5,
            54, 4, 192, 168, 0, 1,
            51, 4, 0x00, 0x01, 0x51, 0x80,
            58, 4, 0x00, 0x00, 0xa8, 0xc0,
            59, 4, 0x00, 0x01, 0x27, 0x50,
            1, 4, 255, 255, 255, 0,
            3, 8, 192, 168, 0, 1, 192, 168, 0, 254,
            6, 8, 1, 1, 1, 1, 8, 8, 8, 8,
            15, 8, b'h', b'o', b'm', b'e', b'.', b'l', b'a', b'n',
            255,
        ]);
        m
    }

    fn with_options(op: u8, opts: &[u8]) -> Vec<u8> {
        let mut m = bootp(op, 1, 0, [ZERO; 4], MAC);
        m.extend_from_slice(opts);
        m
    }

    #[test]
    fn discover_fields() {
        let m = parse_v4(&discover()).unwrap();
        assert_eq!(m.op, 1);
        assert_eq!((m.htype, m.hlen, m.hops), (1, 6, 0));
        assert_eq!(m.xid, 0x3903_f326);
        assert!(m.broadcast());
        assert_eq!(m.chaddr, "00:0b:82:01:fc:42");
        assert_eq!(m.client_mac.as_deref(), Some("00:0b:82:01:fc:42"));
        assert_eq!(m.message_type, Some(1));
        assert_eq!(m.message_type_name(), Some("DISCOVER"));
        assert_eq!(m.client_id.as_deref(), Some("01000b8201fc42"));
        assert_eq!(m.requested_ip, Some(Ipv4Addr::new(192, 168, 0, 10)));
        assert_eq!(m.max_message_size, Some(1500));
        assert_eq!(
            m.vendor_class_id.as_ref().unwrap().display,
            "android-dhcp-13"
        );
        assert_eq!(m.host_name.as_ref().unwrap().display, "Pixel-7");
        assert_eq!(m.parameter_request_list, [1, 3, 6, 15, 119, 252]);
        assert_eq!(m.option_codes, [53, 61, 50, 57, 60, 12, 55]);
        assert_eq!(m.option(57), Some(&[0x05, 0xdc][..]));
        assert_eq!(m.server_name, None);
        assert_eq!(m.boot_file, None);
        assert_eq!(m.assigned_ip, Ipv4Addr::UNSPECIFIED);
        assert!(!m.partial);
        assert_eq!(m.error, None);
    }

    #[test]
    fn request_with_wire_format_fqdn() {
        let m = parse_v4(&request()).unwrap();
        assert_eq!(m.message_type_name(), Some("REQUEST"));
        assert!(!m.broadcast());
        assert_eq!(m.server_id, Some(Ipv4Addr::new(192, 168, 0, 1)));
        assert_eq!(m.host_name.unwrap().display, "Galaxy-S23");
        let f = m.client_fqdn.unwrap();
        assert_eq!(f.flags, FQDN_FLAG_S | FQDN_FLAG_E);
        assert_eq!(f.rcodes, Some([0, 0]));
        assert_eq!(f.name, "galaxy-s23.home");
        assert!(f.wire_format);
        assert!(f.fully_qualified);
        assert_eq!(m.parameter_request_list, [1, 3, 6, 15]);
        assert!(!m.partial);
    }

    #[test]
    fn ack_fields() {
        let m = parse_v4(&ack()).unwrap();
        assert_eq!(m.op, 2);
        assert_eq!(m.message_type_name(), Some("ACK"));
        assert_eq!(m.assigned_ip, Ipv4Addr::new(192, 168, 0, 10));
        assert_eq!(m.siaddr, Ipv4Addr::new(192, 168, 0, 1));
        assert_eq!(m.server_id, Some(Ipv4Addr::new(192, 168, 0, 1)));
        assert_eq!(m.lease_time, Some(86_400));
        assert_eq!(m.renewal_time, Some(43_200));
        assert_eq!(m.rebinding_time, Some(75_600));
        assert_eq!(m.subnet_mask, Some(Ipv4Addr::new(255, 255, 255, 0)));
        assert_eq!(
            m.routers,
            [
                Ipv4Addr::new(192, 168, 0, 1),
                Ipv4Addr::new(192, 168, 0, 254)
            ]
        );
        assert_eq!(
            m.dns_servers,
            [Ipv4Addr::new(1, 1, 1, 1), Ipv4Addr::new(8, 8, 8, 8)]
        );
        assert_eq!(m.domain_name.unwrap().display, "home.lan");
        assert!(!m.partial);
    }

    #[test]
    fn every_prefix_is_safe_and_partial_past_the_header() {
        for msg in [discover(), request(), ack()] {
            for n in 0..msg.len() {
                let prefix = msg.get(..n).unwrap();
                match parse_v4(prefix) {
                    Err(DhcpError::Truncated { len, need }) => {
                        assert!(n < BOOTP_HEADER_LEN, "{n}");
                        assert_eq!((len, need), (n, BOOTP_HEADER_LEN));
                    }
                    Err(e) => panic!("prefix {n}: {e}"),
                    Ok(m) => {
                        assert!(n >= BOOTP_HEADER_LEN);
                        assert!(m.partial, "prefix {n} not partial");
                        assert!(m.error.is_some());
                        assert_eq!(m.xid, 0x3903_f326);
                        assert_eq!(m.client_mac.as_deref(), Some("00:0b:82:01:fc:42"));
                    }
                }
            }
            assert!(!parse_v4(&msg).unwrap().partial);
        }
        // Options before the cut survive it.
        let d = discover();
        let m = parse_v4(d.get(..d.len() - 5).unwrap()).unwrap();
        assert_eq!(m.host_name.unwrap().display, "Pixel-7");
        assert_eq!(m.parameter_request_list, Vec::<u8>::new());
        assert!(matches!(
            m.error,
            Some(DhcpError::OptionOverrun { code: 55, .. })
        ));
        let m = parse_v4(d.get(..238).unwrap()).unwrap();
        assert_eq!(
            m.error,
            Some(DhcpError::Truncated {
                len: 238,
                need: 240
            })
        );
    }

    #[test]
    fn missing_end_and_overrun_keep_what_parsed() {
        let m = parse_v4(&with_options(1, &[53, 1, 3, 12, 2, b'h', b'i', 0, 0])).unwrap();
        assert!(m.partial);
        assert_eq!(m.error, Some(DhcpError::MissingEnd { offset: 249 }));
        assert_eq!(m.message_type, Some(3));
        assert_eq!(m.host_name.unwrap().display, "hi");

        let m = parse_v4(&with_options(1, &[53, 1, 3, 12, 200, b'h', b'i', 255])).unwrap();
        assert!(m.partial);
        assert_eq!(
            m.error,
            Some(DhcpError::OptionOverrun {
                code: 12,
                offset: 243
            })
        );
        assert_eq!(m.message_type, Some(3));
        assert_eq!(m.host_name, None);

        // No options at all, not even End.
        let m = parse_v4(&with_options(1, &[])).unwrap();
        assert_eq!(m.error, Some(DhcpError::MissingEnd { offset: 240 }));
    }

    #[test]
    fn overload_into_file_and_sname() {
        let mut m = with_options(1, &[53, 1, 1, 52, 1, 3, 12, 3, b'a', b'b', b'c', 255]);
        // file (108..236) is read before sname (44..108), per RFC 3396 §7.
        let file = [12, 3, b'd', b'e', b'f', 60, 4, b'M', b'S', b'F', b'T', 255];
        m.get_mut(108..108 + file.len())
            .unwrap()
            .copy_from_slice(&file);
        let sname = [15, 4, b'c', b'o', b'r', b'p', 0, 0, 255];
        m.get_mut(44..44 + sname.len())
            .unwrap()
            .copy_from_slice(&sname);
        let d = parse_v4(&m).unwrap();
        assert!(!d.partial, "{:?}", d.error);
        assert_eq!(d.overload, Some(3));
        // RFC 3396: instances of one option concatenate in reading order.
        assert_eq!(d.host_name.unwrap().display, "abcdef");
        assert_eq!(d.vendor_class_id.unwrap().display, "MSFT");
        assert_eq!(d.domain_name.unwrap().display, "corp");
        assert_eq!(d.option_codes, [53, 52, 12, 60, 15]);
        // Overloaded fields are not names.
        assert_eq!(d.server_name, None);
        assert_eq!(d.boot_file, None);
    }

    #[test]
    fn overload_sname_only_keeps_the_boot_file() {
        let mut m = with_options(1, &[53, 1, 1, 52, 1, 2, 255]);
        m.get_mut(108..118).unwrap().copy_from_slice(b"pxelinux.0");
        let sname = [12, 4, b'h', b'o', b's', b't', 255];
        m.get_mut(44..44 + sname.len())
            .unwrap()
            .copy_from_slice(&sname);
        let d = parse_v4(&m).unwrap();
        assert_eq!(d.host_name.unwrap().display, "host");
        assert_eq!(d.boot_file.unwrap().display, "pxelinux.0");
        assert_eq!(d.server_name, None);
        assert!(!d.partial);

        // An overloaded area without End is partial, its options kept.
        let mut m = with_options(1, &[52, 1, 1, 255]);
        m.get_mut(108..115)
            .unwrap()
            .copy_from_slice(&[12, 5, b'a', b'b', b'c', b'd', b'e']);
        let d = parse_v4(&m).unwrap();
        assert_eq!(d.host_name.unwrap().display, "abcde");
        assert_eq!(d.error, Some(DhcpError::MissingEnd { offset: 236 }));
        // Plain names when nothing is overloaded.
        let mut m = with_options(2, &[53, 1, 2, 255]);
        m.get_mut(44..50).unwrap().copy_from_slice(b"server");
        let d = parse_v4(&m).unwrap();
        assert_eq!(d.server_name.unwrap().display, "server");
    }

    #[test]
    fn trailing_nul_host_name() {
        let m = parse_v4(&with_options(1, &[12, 5, b'n', b'a', b's', b'1', 0, 255])).unwrap();
        let h = m.host_name.unwrap();
        assert_eq!(h.raw, b"nas1\0");
        assert_eq!(h.display, "nas1");
        // What Suricata's EVE reports.
        assert_eq!(h.lossy(), "nas1\u{0}");
    }

    #[test]
    fn display_escapes_controls_and_decodes_lossily() {
        let s = DhcpString::new(b"a\x07b\\c\x00d\x00\x00");
        assert_eq!(s.display, "a\\x07b\\\\c\\x00d");
        assert_eq!(s.raw, b"a\x07b\\c\x00d\x00\x00");
        let s = DhcpString::new("J\u{fc}rgen\u{85}\u{202e}".as_bytes());
        assert_eq!(s.display, "J\u{fc}rgen\\u{85}\\u{202e}");
        let s = DhcpString::new(b"ab\xffcd\x7f");
        assert_eq!(s.display, "ab\u{fffd}cd\\x7f");
        assert_eq!(DhcpString::new(&[0; 4]).display, "");
        assert_eq!(DhcpString::new(&[b'x'; 5000]).raw.len(), MAX_STRING_LEN);
    }

    #[test]
    fn fqdn_variants() {
        // E clear: ASCII, as Windows sends it.
        let m = parse_v4(&with_options(
            1,
            &[81, 8, 0, 0, 0, b'p', b'c', b'.', b'a', b'.', 255],
        ))
        .unwrap();
        let f = m.client_fqdn.unwrap();
        assert_eq!(
            (f.name.as_str(), f.wire_format, f.fully_qualified),
            ("pc.a.", false, true)
        );
        // E set, but text inside: read as ASCII.
        let m = parse_v4(&with_options(
            1,
            &[81, 7, 4, 0, 0, b'h', b'o', b's', b't', 255],
        ))
        .unwrap();
        let f = m.client_fqdn.unwrap();
        assert_eq!((f.name.as_str(), f.wire_format), ("host", false));
        // E set, partial name (no root label), with a dot and a space inside.
        let m = parse_v4(&with_options(
            1,
            &[81, 7, 4, 0, 0, 3, b'a', b'.', b' ', 255],
        ))
        .unwrap();
        let f = m.client_fqdn.unwrap();
        assert_eq!(
            (f.name.as_str(), f.wire_format, f.fully_qualified),
            ("a\\.\\032", true, false)
        );
        // Too short for the flags and RCODEs.
        let m = parse_v4(&with_options(1, &[81, 2, 4, 0, 255])).unwrap();
        assert_eq!(m.client_fqdn, None);
        assert!(!m.partial);
    }

    #[test]
    fn hardware_address_follows_htype_and_hlen() {
        let mut m = discover();
        m[1] = 6; // IEEE 802
        let d = parse_v4(&m).unwrap();
        assert_eq!(d.client_mac, None);
        assert_eq!(d.chaddr, "00:0b:82:01:fc:42");
        m[1] = 1;
        m[2] = 200;
        let d = parse_v4(&m).unwrap();
        assert_eq!(d.client_mac, None);
        assert_eq!(d.chaddr.len(), 16 * 3 - 1);
        m[2] = 0;
        assert_eq!(parse_v4(&m).unwrap().chaddr, "");
    }

    #[test]
    fn not_dhcp() {
        let mut m = discover();
        m[236] = 0;
        assert_eq!(
            parse_v4(&m).unwrap_err(),
            DhcpError::BadMagicCookie {
                found: [0, 130, 83, 99]
            }
        );
        let mut m = discover();
        m[0] = 3;
        assert_eq!(parse_v4(&m).unwrap_err(), DhcpError::BadOp { op: 3 });
    }

    #[test]
    fn option_cap() {
        let mut opts = [224, 0].repeat(MAX_OPTIONS + 1);
        opts.push(255);
        let m = parse_v4(&with_options(1, &opts)).unwrap();
        assert_eq!(m.error, Some(DhcpError::TooManyOptions));
        assert_eq!(m.options.len(), 1);
        assert_eq!(m.option_codes, [224]);
    }

    #[test]
    fn message_type_names() {
        let names: Vec<_> = (1..=8).filter_map(message_type_name).collect();
        assert_eq!(
            names,
            [
                "DISCOVER", "OFFER", "REQUEST", "DECLINE", "ACK", "NAK", "RELEASE", "INFORM"
            ]
        );
        assert_eq!(message_type_name(0), None);
        assert_eq!(message_type_name(200), None);
        assert_eq!(v6_message_type_name(11), Some("INFORMATION-REQUEST"));
        assert_eq!(v6_message_type_name(12), Some("RELAY-FORW"));
        assert_eq!(v6_message_type_name(0), None);
    }

    // ------------------------------------------------------------ DHCPv6

    fn opt6(code: u16, data: &[u8]) -> Vec<u8> {
        let mut o = code.to_be_bytes().to_vec();
        o.extend_from_slice(&u16::try_from(data.len()).unwrap().to_be_bytes());
        o.extend_from_slice(data);
        o
    }

    /// SOLICIT options, each hand-written with its header.
    fn solicit_options() -> Vec<Vec<u8>> {
        #[rustfmt::skip]
        let opts: Vec<Vec<u8>> = vec![
            // Client id: DUID-LLT, hw type 1, time, MAC.
            vec![0, 1, 0, 14, 0, 1, 0, 1, 0x2a, 0x3b, 0x4c, 0x5d, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55],
            // IA_NA iaid 1, T1 3600, T2 5400, with an IAADDR hint 2001:db8::10.
            vec![0, 3, 0, 40, 0, 0, 0, 1, 0, 0, 0x0e, 0x10, 0, 0, 0x15, 0x18,
                 0, 5, 0, 24, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
                 0, 0, 0, 0, 0, 0, 0, 0],
            // Elapsed time 0.
            vec![0, 8, 0, 2, 0, 0],
            // FQDN: flags S, android.home.
            vec![0, 39, 0, 15, 0x01, 7, b'a', b'n', b'd', b'r', b'o', b'i', b'd', 4, b'h', b'o', b'm', b'e', 0],
            // ORO: 23, 24, 39.
            vec![0, 6, 0, 6, 0, 23, 0, 24, 0, 39],
            // Vendor class: enterprise 311, "MSFT 5.0".
            vec![0, 16, 0, 14, 0, 0, 0x01, 0x37, 0, 8, b'M', b'S', b'F', b'T', b' ', b'5', b'.', b'0'],
            // User class: "Pixel-7a".
            vec![0, 15, 0, 10, 0, 8, b'P', b'i', b'x', b'e', b'l', b'-', b'7', b'a'],
        ];
        opts
    }

    fn solicit() -> Vec<u8> {
        let mut m = vec![1, 0x12, 0x34, 0x56];
        for o in solicit_options() {
            m.extend_from_slice(&o);
        }
        m
    }

    fn relay_forw(inner: &[u8]) -> Vec<u8> {
        let mut m = vec![12, 0];
        m.extend_from_slice(&"2001:db8::1".parse::<Ipv6Addr>().unwrap().octets());
        m.extend_from_slice(
            &"fe80::211:22ff:fe33:4455"
                .parse::<Ipv6Addr>()
                .unwrap()
                .octets(),
        );
        m.extend_from_slice(&opt6(18, b"eth0"));
        m.extend_from_slice(&opt6(79, &[0, 1, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55]));
        m.extend_from_slice(&opt6(9, inner));
        m
    }

    fn check_solicit(m: &DhcpV6) {
        assert_eq!(m.msg_type, 1);
        assert_eq!(m.message_type_name(), Some("SOLICIT"));
        assert_eq!(m.transaction_id, Some(0x12_3456));
        let duid = m.client_duid.as_ref().unwrap();
        assert_eq!(duid.hex, "000100012a3b4c5d001122334455");
        assert_eq!(duid.duid_type, Some(1));
        assert_eq!(duid.hw_type, Some(1));
        assert_eq!(duid.time, Some(0x2a3b_4c5d));
        assert_eq!(
            duid.link_layer_address.as_deref(),
            Some("00:11:22:33:44:55")
        );
        assert_eq!(m.server_duid, None);
        assert_eq!(m.ias.len(), 1);
        let ia = &m.ias[0];
        assert_eq!((ia.code, ia.iaid, ia.t1, ia.t2), (3, 1, 3600, 5400));
        assert_eq!(
            ia.addresses,
            [IaAddress {
                address: "2001:db8::10".parse().unwrap(),
                preferred_lifetime: 0,
                valid_lifetime: 0,
            }]
        );
        assert_eq!(m.elapsed_time, Some(0));
        let f = m.fqdn.as_ref().unwrap();
        assert_eq!((f.flags, f.rcodes), (FQDN_FLAG_S, None));
        assert_eq!(f.name, "android.home");
        assert!(f.wire_format && f.fully_qualified);
        assert_eq!(m.oro, [23, 24, 39]);
        assert_eq!(m.vendor_class.len(), 1);
        assert_eq!(m.vendor_class[0].enterprise, 311);
        assert_eq!(m.vendor_class[0].data[0].display, "MSFT 5.0");
        assert_eq!(m.user_class.len(), 1);
        assert_eq!(m.user_class[0].display, "Pixel-7a");
        assert_eq!(m.option_codes, [1, 3, 8, 39, 6, 16, 15]);
        assert!(!m.partial, "{:?}", m.error);
    }

    #[test]
    fn v6_solicit() {
        let m = parse_v6(&solicit()).unwrap();
        assert!(m.relays.is_empty());
        check_solicit(&m);
    }

    #[test]
    fn v6_reply() {
        let mut m = vec![7, 0x12, 0x34, 0x56];
        // Server id: DUID-LL.
        m.extend_from_slice(&opt6(2, &[0, 3, 0, 1, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]));
        let mut iaaddr = "2001:db8::10"
            .parse::<Ipv6Addr>()
            .unwrap()
            .octets()
            .to_vec();
        iaaddr.extend_from_slice(&[0, 0, 0x0e, 0x10, 0, 0, 0x1c, 0x20]);
        let mut ia = vec![0, 0, 0, 1, 0, 0, 0x0e, 0x10, 0, 0, 0x15, 0x18];
        ia.extend_from_slice(&opt6(5, &iaaddr));
        ia.extend_from_slice(&opt6(13, b"\x00\x00ok"));
        m.extend_from_slice(&opt6(3, &ia));
        m.extend_from_slice(&opt6(
            23,
            &"2001:4860:4860::8888".parse::<Ipv6Addr>().unwrap().octets(),
        ));
        m.extend_from_slice(&opt6(13, b"\x00\x00all good"));
        // Server id as DUID-EN, second one ignored.
        m.extend_from_slice(&opt6(2, &[0, 2, 0, 0, 0x01, 0x37, 1, 2]));
        let r = parse_v6(&m).unwrap();
        assert_eq!(r.message_type_name(), Some("REPLY"));
        let s = r.server_duid.as_ref().unwrap();
        assert_eq!((s.duid_type, s.hw_type, s.time), (Some(3), Some(1), None));
        assert_eq!(s.link_layer_address.as_deref(), Some("aa:bb:cc:dd:ee:ff"));
        let a: Vec<_> = r.addresses().collect();
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].address, "2001:db8::10".parse::<Ipv6Addr>().unwrap());
        assert_eq!((a[0].preferred_lifetime, a[0].valid_lifetime), (3600, 7200));
        assert_eq!(
            r.dns_servers,
            ["2001:4860:4860::8888".parse::<Ipv6Addr>().unwrap()]
        );
        let st = r.status.unwrap();
        assert_eq!((st.code, st.message.display.as_str()), (0, "all good"));
        assert!(!r.partial);

        let en = parse_duid(&[0, 2, 0, 0, 0x01, 0x37, 1, 2]);
        assert_eq!((en.enterprise, en.link_layer_address), (Some(311), None));
    }

    #[test]
    fn v6_ia_pd() {
        let mut pfx = vec![0, 0, 0x0e, 0x10, 0, 0, 0x1c, 0x20, 56];
        pfx.extend_from_slice(&"2001:db8:1200::".parse::<Ipv6Addr>().unwrap().octets());
        let mut ia = vec![0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0];
        ia.extend_from_slice(&opt6(26, &pfx));
        let mut m = vec![7, 0, 0, 1];
        m.extend_from_slice(&opt6(25, &ia));
        let r = parse_v6(&m).unwrap();
        assert_eq!(r.ias[0].code, 25);
        assert_eq!(r.ias[0].prefixes[0].prefix_len, 56);
        assert_eq!(
            r.ias[0].prefixes[0].prefix,
            "2001:db8:1200::".parse::<Ipv6Addr>().unwrap()
        );
        assert_eq!(r.addresses().count(), 0);
    }

    #[test]
    fn v6_relay_forward_wrapping_a_solicit() {
        let m = parse_v6(&relay_forw(&solicit())).unwrap();
        check_solicit(&m);
        assert_eq!(m.relays.len(), 1);
        let r = &m.relays[0];
        assert_eq!((r.msg_type, r.hop_count), (12, 0));
        assert_eq!(r.link_address, "2001:db8::1".parse::<Ipv6Addr>().unwrap());
        assert_eq!(
            r.peer_address,
            "fe80::211:22ff:fe33:4455".parse::<Ipv6Addr>().unwrap()
        );
        assert_eq!(r.interface_id.as_deref(), Some("65746830"));
        assert_eq!(
            r.client_link_layer_address.as_deref(),
            Some("00:11:22:33:44:55")
        );

        // Two relays, outermost first.
        let mut inner = relay_forw(&solicit());
        inner[1] = 1;
        let m = parse_v6(&relay_forw(&inner)).unwrap();
        check_solicit(&m);
        assert_eq!(
            m.relays.iter().map(|r| r.hop_count).collect::<Vec<_>>(),
            [0, 1]
        );
    }

    #[test]
    fn v6_relay_depth_is_bounded() {
        let mut m = solicit();
        for _ in 0..MAX_RELAY_DEPTH {
            m = relay_forw(&m);
        }
        let r = parse_v6(&m).unwrap();
        assert_eq!(r.relays.len(), MAX_RELAY_DEPTH);
        check_solicit(&r);
        let r = parse_v6(&relay_forw(&m)).unwrap();
        assert_eq!(r.relays.len(), MAX_RELAY_DEPTH);
        assert_eq!(r.error, Some(DhcpError::RelayTooDeep));
        assert!(r.partial);
        assert_eq!(r.msg_type, 12);
        assert_eq!(r.transaction_id, None);
    }

    #[test]
    fn v6_relay_with_cut_inner_message() {
        let r = parse_v6(&relay_forw(&[1, 0x12])).unwrap();
        assert!(r.partial);
        assert_eq!(r.error, Some(DhcpError::Truncated { len: 2, need: 4 }));
        assert_eq!((r.msg_type, r.relays.len()), (12, 1));
        let r = parse_v6(&relay_forw(&[])).unwrap();
        assert!(r.partial);
        assert_eq!(r.transaction_id, None);
        let r = parse_v6(&relay_forw(&[0, 0, 0, 0])).unwrap();
        assert_eq!(r.error, Some(DhcpError::BadMessageType));
    }

    #[test]
    fn v6_every_prefix_is_safe() {
        let msg = solicit();
        let mut boundaries = vec![4];
        for o in solicit_options() {
            boundaries.push(boundaries.last().unwrap() + o.len());
        }
        for n in 0..=msg.len() {
            let prefix = msg.get(..n).unwrap();
            match parse_v6(prefix) {
                Err(e) => {
                    assert!(n < 4, "{n}: {e}");
                    assert_eq!(e, DhcpError::Truncated { len: n, need: 4 });
                }
                Ok(m) => {
                    assert_eq!(m.transaction_id, Some(0x12_3456));
                    assert_eq!(m.partial, !boundaries.contains(&n), "prefix {n}");
                    if n >= 4 + 18 {
                        assert!(m.client_duid.is_some());
                    }
                }
            }
        }
        // The same through a relay: nothing panics, the relay always parses.
        let msg = relay_forw(&solicit());
        for n in 0..msg.len() {
            if let Ok(m) = parse_v6(msg.get(..n).unwrap()) {
                assert_eq!(m.relays.len(), 1);
                assert!(m.partial);
            }
        }
        assert_eq!(parse_v6(&[0, 1, 2, 3]), Err(DhcpError::BadMessageType));
    }

    #[test]
    fn v6_nested_overrun_is_partial() {
        let mut ia = vec![0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
        ia.extend_from_slice(&[0, 5, 0, 99, 1, 2]);
        let mut m = vec![7, 0, 0, 1];
        m.extend_from_slice(&opt6(3, &ia));
        let r = parse_v6(&m).unwrap();
        assert_eq!(r.ias.len(), 1);
        assert_eq!(
            r.error,
            Some(DhcpError::OptionOverrun {
                code: 5,
                offset: 20
            })
        );
        assert!(r.partial);
    }

    // ------------------------------------------------------------ garbage

    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            usize::try_from(self.next() % u64::try_from(n).unwrap()).unwrap()
        }

        fn byte(&mut self) -> u8 {
            self.next().to_le_bytes()[0]
        }
    }

    #[test]
    fn garbage_never_panics() {
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        let seeds = [
            discover(),
            request(),
            ack(),
            solicit(),
            relay_forw(&solicit()),
        ];
        for round in 0..30_000 {
            let mut buf: Vec<u8> = if round % 2 == 0 {
                let len = rng.below(700);
                (0..len).map(|_| rng.byte()).collect()
            } else {
                // Mutations of valid messages reach deeper than pure noise.
                let mut b = seeds[rng.below(seeds.len())].clone();
                for _ in 0..=rng.below(8) {
                    let i = rng.below(b.len());
                    b[i] = rng.byte();
                }
                let cut = rng.below(b.len() + 1);
                b.truncate(cut);
                b
            };
            if round % 4 == 0 && buf.len() > OPTIONS_START {
                // Force a valid header so the option walker sees the noise.
                buf[0] = 1;
                buf[236..240].copy_from_slice(&MAGIC_COOKIE);
                buf[240] = 52;
            }
            let _ = parse_v4(&buf);
            let _ = parse_v6(&buf);
        }
    }
}
