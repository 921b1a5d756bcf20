//! DNS messages (RFC 1035 and successors), parsed by hand for hostile input.
//!
//! [`parse_message`] turns one message (a UDP payload, or one frame out of
//! [`TcpFramer`]) into an owned [`Message`]. Names are decompressed with loop
//! protection and rendered the way `dig` prints them (wire case kept, no
//! trailing dot, unprintable bytes escaped as `\DDD`), so they are safe to print
//! and to compare.
//!
//! ```
//! use telltale_proto::dns::{parse_message, RData};
//!
//! // A response for `a.io` with one A record that points back at the question name.
//! let msg = [
//!     0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, // header
//!     1, b'a', 2, b'i', b'o', 0, 0, 1, 0, 1, // question a.io A IN
//!     0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 1, // answer
//! ];
//! let m = parse_message(&msg).unwrap();
//! assert_eq!(m.questions[0].name, "a.io");
//! assert_eq!(m.answers[0].data, RData::A([10, 0, 0, 1].into()));
//! ```

use std::borrow::Cow;
use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

/// At most this many entries of each section are kept; a header that claims
/// more yields a [`Message::partial`] message.
pub const MAX_SECTION_ENTRIES: usize = 256;

/// Longest name on the wire (RFC 1035 §2.3.4), length octets included.
pub const MAX_NAME_WIRE_LEN: usize = 255;

/// Labels plus compression jumps one name may take before it is rejected.
pub const MAX_NAME_STEPS: usize = 128;

/// TXT records keep at most this many character-strings.
pub const MAX_TXT_STRINGS: usize = 256;

/// SVCB/HTTPS records keep at most this many parameters.
pub const MAX_SVC_PARAMS: usize = 64;

const HEADER_LEN: usize = 12;
// Root name (1) + type (2) + class (2).
const MIN_QUESTION_LEN: usize = 5;
// Root name (1) + type, class, ttl, rdlength (10).
const MIN_RECORD_LEN: usize = 11;

const TYPE_OPT: u16 = 41;

/// Why a message, or the rest of one, could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[non_exhaustive]
pub enum DnsError {
    /// Fewer than the 12 header bytes.
    #[error("message of {len} bytes is shorter than the DNS header")]
    ShortHeader {
        /// Bytes available.
        len: usize,
    },
    /// A field runs past the end of the message.
    #[error("message truncated at byte offset {offset}")]
    Truncated {
        /// Offset of the field that did not fit.
        offset: usize,
    },
    /// A compression pointer that does not point strictly backwards (a loop
    /// or a forward reference).
    #[error("bad compression pointer at byte offset {offset}")]
    BadPointer {
        /// Offset of the pointer.
        offset: usize,
    },
    /// A name longer than 255 octets or with too many labels and jumps.
    #[error("name starting at byte offset {offset} is too long")]
    NameTooLong {
        /// Offset where the name starts.
        offset: usize,
    },
    /// A label with the reserved type bits `01` or `10`.
    #[error("reserved label type at byte offset {offset}")]
    BadLabelType {
        /// Offset of the label length octet.
        offset: usize,
    },
    /// The header claims more entries in a section than are kept.
    #[error("header claims {count} entries in a section, more than the {MAX_SECTION_ENTRIES} kept")]
    TooManyEntries {
        /// The count claimed by the header.
        count: u16,
    },
}

/// One parsed DNS message.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Message {
    /// Transaction id.
    pub id: u16,
    /// QR bit: this is a response.
    pub response: bool,
    /// Operation code (0 QUERY, 4 NOTIFY, 5 UPDATE, ...; see [`opcode_name`]).
    pub opcode: u8,
    /// TC bit: the sender truncated the message.
    pub truncated: bool,
    /// The low 4 bits of the response code from the header (see [`rcode_name`];
    /// an EDNS extended rcode adds [`Edns::extended_rcode`] above them).
    pub rcode: u8,
    /// The whole 16-bit flags word as on the wire (AA, RD, RA, AD, CD, ...).
    pub flags: u16,
    /// Entry counts as the header claims them: questions, answers,
    /// authorities, additionals. They may lie.
    pub counts: [u16; 4],
    /// Question section.
    pub questions: Vec<Question>,
    /// Answer section.
    pub answers: Vec<Record>,
    /// Authority section.
    pub authorities: Vec<Record>,
    /// Additional section (the OPT pseudo-record included).
    pub additionals: Vec<Record>,
    /// EDNS information, when the additional section has an OPT record.
    pub edns: Option<Edns>,
    /// The header and questions parsed but a later part did not (or a
    /// section was longer than [`MAX_SECTION_ENTRIES`]): the sections hold
    /// what parsed before that point and [`Message::error`] says why.
    pub partial: bool,
    /// Why parsing stopped early, when [`Message::partial`] is set.
    pub error: Option<DnsError>,
}

impl Message {
    /// The authoritative-answer (AA) flag.
    pub fn authoritative(&self) -> bool {
        self.flags & 0x0400 != 0
    }

    /// The recursion-desired (RD) flag.
    pub fn recursion_desired(&self) -> bool {
        self.flags & 0x0100 != 0
    }

    /// The recursion-available (RA) flag.
    pub fn recursion_available(&self) -> bool {
        self.flags & 0x0080 != 0
    }

    /// The response code with the EDNS extension bits, when there are any.
    pub fn full_rcode(&self) -> u16 {
        let ext = self
            .edns
            .as_ref()
            .map_or(0, |e| u16::from(e.extended_rcode));
        (ext << 4) | u16::from(self.rcode)
    }
}

/// EDNS(0) fields carried by the OPT pseudo-record (RFC 6891).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Edns {
    /// Largest UDP payload the sender accepts.
    pub udp_payload_size: u16,
    /// Upper 8 bits of the 12-bit response code.
    pub extended_rcode: u8,
    /// EDNS version.
    pub version: u8,
    /// DO bit: the sender wants DNSSEC records.
    pub dnssec_ok: bool,
}

/// One entry of the question section.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Question {
    /// Queried name, escaped for printing (see the module docs).
    pub name: String,
    /// Queried type (see [`type_name`]).
    pub rtype: u16,
    /// Queried class with the mDNS unicast-response bit masked off.
    pub rclass: u16,
    /// mDNS: the top bit of the class asked for a unicast response.
    pub unicast_response: bool,
}

/// One resource record.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Record {
    /// Owner name, escaped for printing.
    pub name: String,
    /// Record type (see [`type_name`]).
    pub rtype: u16,
    /// Class with the mDNS cache-flush bit masked off; for OPT the raw field
    /// (the UDP payload size).
    pub rclass: u16,
    /// mDNS: the top bit of the class asked caches to flush older records.
    pub cache_flush: bool,
    /// Time to live in seconds, as on the wire (for OPT: the EDNS flags).
    pub ttl: u32,
    /// Decoded record data.
    pub data: RData,
}

/// Record data, decoded for the types a forensic reader needs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub enum RData {
    /// IPv4 address.
    A(Ipv4Addr),
    /// IPv6 address.
    Aaaa(Ipv6Addr),
    /// Canonical name.
    Cname(String),
    /// Delegation name.
    Dname(String),
    /// Reverse-lookup target.
    Ptr(String),
    /// Name server.
    Ns(String),
    /// Mail exchanger.
    Mx {
        /// Lower is preferred.
        preference: u16,
        /// Mail host.
        exchange: String,
    },
    /// Character-strings, lossy UTF-8, at most [`MAX_TXT_STRINGS`].
    Txt(Vec<String>),
    /// Start of authority.
    Soa {
        /// Primary name server.
        mname: String,
        /// Responsible mailbox.
        rname: String,
        /// Zone serial.
        serial: u32,
        /// Refresh interval.
        refresh: u32,
        /// Retry interval.
        retry: u32,
        /// Expiry.
        expire: u32,
        /// Negative-caching TTL.
        minimum: u32,
    },
    /// Service location.
    Srv {
        /// Lower is preferred.
        priority: u16,
        /// Load-balancing weight.
        weight: u16,
        /// Service port.
        port: u16,
        /// Service host.
        target: String,
    },
    /// SVCB (type 64) or HTTPS (type 65) binding; the record's `rtype` says which.
    Svcb {
        /// 0 is alias mode.
        priority: u16,
        /// Target name; "" is the root, meaning the owner name itself.
        target: String,
        /// (key, value) parameters as on the wire, at most [`MAX_SVC_PARAMS`]:
        /// 1 alpn, 4 ipv4hint, 5 ech, 6 ipv6hint, ...
        params: Vec<(u16, Vec<u8>)>,
    },
    /// EDNS options of an OPT pseudo-record: (code, value).
    Opt(Vec<(u16, Vec<u8>)>),
    /// A type not decoded here: the raw record data.
    Other(Vec<u8>),
    /// A decoded type whose data did not parse: the raw record data.
    Invalid(Vec<u8>),
}

/// Parse one DNS message.
///
/// Fails only when the header or the question section is unusable; a
/// malformed record later on yields a message with [`Message::partial`] set.
pub fn parse_message(msg: &[u8]) -> Result<Message, DnsError> {
    let header = msg
        .get(..HEADER_LEN)
        .ok_or(DnsError::ShortHeader { len: msg.len() })?;
    let word = |i: usize| be16(header, i).unwrap_or(0);
    let flags = word(2);
    let counts = [word(4), word(6), word(8), word(10)];
    let mut m = Message {
        id: word(0),
        response: flags & 0x8000 != 0,
        opcode: ((flags >> 11) & 0x0f) as u8,
        truncated: flags & 0x0200 != 0,
        rcode: (flags & 0x0f) as u8,
        flags,
        counts,
        questions: Vec::new(),
        answers: Vec::new(),
        authorities: Vec::new(),
        additionals: Vec::new(),
        edns: None,
        partial: false,
        error: None,
    };

    let mut pos = HEADER_LEN;
    let qd = usize::from(counts[0]);
    if qd > MAX_SECTION_ENTRIES {
        return Err(DnsError::TooManyEntries { count: counts[0] });
    }
    m.questions = Vec::with_capacity(qd.min(msg.len().saturating_sub(pos) / MIN_QUESTION_LEN));
    for _ in 0..qd {
        let (q, next) = parse_question(msg, pos)?;
        m.questions.push(q);
        pos = next;
    }

    for (section, count) in counts.into_iter().enumerate().skip(1) {
        if let Err(e) = parse_section(msg, &mut pos, count, section, &mut m) {
            m.partial = true;
            m.error = Some(e);
            break;
        }
    }
    m.edns = m
        .additionals
        .iter()
        .find(|r| r.rtype == TYPE_OPT && r.name.is_empty())
        .map(|r| Edns {
            udp_payload_size: r.rclass,
            extended_rcode: (r.ttl >> 24) as u8,
            version: (r.ttl >> 16) as u8,
            dnssec_ok: r.ttl & 0x8000 != 0,
        });
    Ok(m)
}

fn parse_section(
    msg: &[u8],
    pos: &mut usize,
    count: u16,
    section: usize,
    m: &mut Message,
) -> Result<(), DnsError> {
    let n = usize::from(count);
    let keep = n.min(MAX_SECTION_ENTRIES);
    let list = match section {
        1 => &mut m.answers,
        2 => &mut m.authorities,
        _ => &mut m.additionals,
    };
    // The header may lie: never reserve more than the bytes left could hold.
    list.reserve_exact(keep.min(msg.len().saturating_sub(*pos) / MIN_RECORD_LEN));
    for _ in 0..keep {
        let (r, next) = parse_record(msg, *pos)?;
        list.push(r);
        *pos = next;
    }
    if n > keep {
        return Err(DnsError::TooManyEntries { count });
    }
    Ok(())
}

fn parse_question(msg: &[u8], pos: usize) -> Result<(Question, usize), DnsError> {
    let (name, p) = read_name(msg, pos)?;
    let rtype = be16(msg, p).ok_or(DnsError::Truncated { offset: p })?;
    let class = be16(msg, p + 2).ok_or(DnsError::Truncated { offset: p + 2 })?;
    let q = Question {
        name,
        rtype,
        rclass: class & 0x7fff,
        unicast_response: class & 0x8000 != 0,
    };
    Ok((q, p + 4))
}

fn parse_record(msg: &[u8], pos: usize) -> Result<(Record, usize), DnsError> {
    let (name, p) = read_name(msg, pos)?;
    let fixed = msg
        .get(p..p + 10)
        .ok_or(DnsError::Truncated { offset: p })?;
    let rtype = be16(fixed, 0).unwrap_or(0);
    let class = be16(fixed, 2).unwrap_or(0);
    let ttl = be32(fixed, 4).unwrap_or(0);
    let rdlen = usize::from(be16(fixed, 8).unwrap_or(0));
    let start = p + 10;
    let end = start + rdlen;
    if end > msg.len() {
        return Err(DnsError::Truncated { offset: start });
    }
    let (rclass, cache_flush) = if rtype == TYPE_OPT {
        (class, false)
    } else {
        (class & 0x7fff, class & 0x8000 != 0)
    };
    let raw = msg.get(start..end).unwrap_or_default();
    let data = parse_rdata(msg, rtype, start, end).unwrap_or_else(|| RData::Invalid(raw.to_vec()));
    let r = Record {
        name,
        rtype,
        rclass,
        cache_flush,
        ttl,
        data,
    };
    Ok((r, end))
}

/// Decode record data spanning `msg[start..end]`; `None` when it is malformed.
/// Names inside may point anywhere earlier in the message, so `msg` is whole.
fn parse_rdata(msg: &[u8], rtype: u16, start: usize, end: usize) -> Option<RData> {
    let raw = msg.get(start..end)?;
    // A name inside the record data must also end inside it.
    let name_at = |p: usize| -> Option<(String, usize)> {
        let (n, next) = read_name(msg, p).ok()?;
        (next <= end).then_some((n, next))
    };
    let only_name = |p: usize| -> Option<String> {
        let (n, next) = name_at(p)?;
        (next == end).then_some(n)
    };
    let data = match rtype {
        1 => RData::A(<[u8; 4]>::try_from(raw).ok()?.into()),
        28 => RData::Aaaa(<[u8; 16]>::try_from(raw).ok()?.into()),
        2 => RData::Ns(only_name(start)?),
        5 => RData::Cname(only_name(start)?),
        12 => RData::Ptr(only_name(start)?),
        39 => RData::Dname(only_name(start)?),
        15 => RData::Mx {
            preference: be16(raw, 0)?,
            exchange: only_name(start + 2)?,
        },
        6 => {
            let (mname, p) = name_at(start)?;
            let (rname, p) = name_at(p)?;
            let nums = msg.get(p..end).filter(|n| n.len() == 20)?;
            RData::Soa {
                mname,
                rname,
                serial: be32(nums, 0)?,
                refresh: be32(nums, 4)?,
                retry: be32(nums, 8)?,
                expire: be32(nums, 12)?,
                minimum: be32(nums, 16)?,
            }
        }
        16 | 99 => RData::Txt(parse_txt(raw)?),
        33 => RData::Srv {
            priority: be16(raw, 0)?,
            weight: be16(raw, 2)?,
            port: be16(raw, 4)?,
            target: only_name(start + 6)?,
        },
        64 | 65 => {
            let priority = be16(raw, 0)?;
            let (target, p) = name_at(start + 2)?;
            let params = parse_tlvs(msg.get(p..end)?, MAX_SVC_PARAMS)?;
            RData::Svcb {
                priority,
                target,
                params,
            }
        }
        TYPE_OPT => RData::Opt(parse_tlvs(raw, MAX_SVC_PARAMS)?),
        _ => RData::Other(raw.to_vec()),
    };
    Some(data)
}

fn parse_txt(mut raw: &[u8]) -> Option<Vec<String>> {
    let mut out = Vec::new();
    while let Some((&len, rest)) = raw.split_first() {
        let (s, rest) = rest.split_at_checked(usize::from(len))?;
        if out.len() < MAX_TXT_STRINGS {
            out.push(String::from_utf8_lossy(s).into_owned());
        }
        raw = rest;
    }
    Some(out)
}

/// (u16 key, u16 length, value) lists, as in SVCB parameters and EDNS options.
fn parse_tlvs(mut raw: &[u8], cap: usize) -> Option<Vec<(u16, Vec<u8>)>> {
    let mut out = Vec::new();
    while !raw.is_empty() {
        let key = be16(raw, 0)?;
        let len = usize::from(be16(raw, 2)?);
        let value = raw.get(4..4 + len)?;
        if out.len() < cap {
            out.push((key, value.to_vec()));
        }
        raw = raw.get(4 + len..)?;
    }
    Some(out)
}

/// Read a possibly compressed name at `start`; returns it and the offset just
/// after it in its original place.
fn read_name(msg: &[u8], start: usize) -> Result<(String, usize), DnsError> {
    // Room for most names, so a name is not regrown label by label.
    let mut out = String::with_capacity(48);
    let mut pos = start;
    // Every pointer must go strictly below the start of the labels being read,
    // so targets strictly decrease and a loop is impossible.
    let mut segment_start = start;
    let mut after: Option<usize> = None;
    let mut wire_len = 1; // the root label
    for _ in 0..MAX_NAME_STEPS {
        let len = *msg.get(pos).ok_or(DnsError::Truncated { offset: pos })?;
        match len >> 6 {
            0 if len == 0 => return Ok((out, after.unwrap_or(pos + 1))),
            0 => {
                let l = usize::from(len);
                let label = msg
                    .get(pos + 1..pos + 1 + l)
                    .ok_or(DnsError::Truncated { offset: pos })?;
                wire_len += l + 1;
                if wire_len > MAX_NAME_WIRE_LEN {
                    return Err(DnsError::NameTooLong { offset: start });
                }
                if !out.is_empty() {
                    out.push('.');
                }
                escape_label(label, &mut out);
                pos += 1 + l;
            }
            3 => {
                let low = *msg
                    .get(pos + 1)
                    .ok_or(DnsError::Truncated { offset: pos })?;
                let target = (usize::from(len & 0x3f) << 8) | usize::from(low);
                if target >= segment_start {
                    return Err(DnsError::BadPointer { offset: pos });
                }
                after.get_or_insert(pos + 2);
                pos = target;
                segment_start = target;
            }
            _ => return Err(DnsError::BadLabelType { offset: pos }),
        }
    }
    Err(DnsError::NameTooLong { offset: start })
}

/// Render one label like `dig`: printable ASCII as is, `.` and `\` escaped
/// with a backslash, everything else as `\DDD` (decimal).
fn escape_label(label: &[u8], out: &mut String) {
    // Nearly every label is plain (letters, digits, hyphens): one copy.
    let plain = |b: u8| matches!(b, 0x21..=0x7e) && b != b'.' && b != b'\\';
    if label.iter().all(|&b| plain(b))
        && let Ok(text) = std::str::from_utf8(label)
    {
        out.push_str(text);
        return;
    }
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

fn be16(b: &[u8], i: usize) -> Option<u16> {
    let s = b.get(i..i.checked_add(2)?)?;
    Some(u16::from_be_bytes([*s.first()?, *s.get(1)?]))
}

fn be32(b: &[u8], i: usize) -> Option<u32> {
    let s: [u8; 4] = b.get(i..i.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_be_bytes(s))
}

/// Mnemonic of a record type, for the common types.
pub fn type_name(rtype: u16) -> Option<&'static str> {
    Some(match rtype {
        1 => "A",
        2 => "NS",
        3 => "MD",
        4 => "MF",
        5 => "CNAME",
        6 => "SOA",
        7 => "MB",
        8 => "MG",
        9 => "MR",
        10 => "NULL",
        11 => "WKS",
        12 => "PTR",
        13 => "HINFO",
        14 => "MINFO",
        15 => "MX",
        16 => "TXT",
        17 => "RP",
        18 => "AFSDB",
        24 => "SIG",
        25 => "KEY",
        28 => "AAAA",
        29 => "LOC",
        33 => "SRV",
        35 => "NAPTR",
        36 => "KX",
        37 => "CERT",
        39 => "DNAME",
        41 => "OPT",
        42 => "APL",
        43 => "DS",
        44 => "SSHFP",
        45 => "IPSECKEY",
        46 => "RRSIG",
        47 => "NSEC",
        48 => "DNSKEY",
        49 => "DHCID",
        50 => "NSEC3",
        51 => "NSEC3PARAM",
        52 => "TLSA",
        53 => "SMIMEA",
        55 => "HIP",
        59 => "CDS",
        60 => "CDNSKEY",
        61 => "OPENPGPKEY",
        62 => "CSYNC",
        63 => "ZONEMD",
        64 => "SVCB",
        65 => "HTTPS",
        99 => "SPF",
        108 => "EUI48",
        109 => "EUI64",
        249 => "TKEY",
        250 => "TSIG",
        251 => "IXFR",
        252 => "AXFR",
        253 => "MAILB",
        254 => "MAILA",
        255 => "ANY",
        256 => "URI",
        257 => "CAA",
        32768 => "TA",
        32769 => "DLV",
        _ => return None,
    })
}

/// Mnemonic of a response code (4-bit header rcode or 12-bit extended one,
/// see [`Message::full_rcode`]); `"UNKNOWN"` for unassigned values.
pub fn rcode_name(rcode: u16) -> &'static str {
    match rcode {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        11 => "DSOTYPENI",
        16 => "BADVERS",
        17 => "BADKEY",
        18 => "BADTIME",
        19 => "BADMODE",
        20 => "BADNAME",
        21 => "BADALG",
        22 => "BADTRUNC",
        23 => "BADCOOKIE",
        _ => "UNKNOWN",
    }
}

/// Mnemonic of an opcode; `"UNKNOWN"` for unassigned values.
pub fn opcode_name(opcode: u8) -> &'static str {
    match opcode {
        0 => "QUERY",
        1 => "IQUERY",
        2 => "STATUS",
        4 => "NOTIFY",
        5 => "UPDATE",
        6 => "DSO",
        _ => "UNKNOWN",
    }
}

/// Splits a DNS-over-TCP stream (RFC 1035 §4.2.2: each message behind a
/// 2-byte big-endian length) into messages.
///
/// Feed it the bytes of one direction in order with [`TcpFramer::push`] and
/// iterate what it returns. A message wholly inside one pushed chunk is
/// returned borrowed from that chunk; only a message split across chunks is
/// buffered (at most 65535 bytes, the largest a length prefix can announce).
///
/// ```
/// use telltale_proto::dns::TcpFramer;
///
/// let mut framer = TcpFramer::new();
/// let first: Vec<Vec<u8>> = framer.push(&[0, 3, 1, 2, 3, 0, 2, 9]).map(|m| m.into_owned()).collect();
/// assert_eq!(first, [vec![1, 2, 3]]);
/// let second: Vec<Vec<u8>> = framer.push(&[8]).map(|m| m.into_owned()).collect();
/// assert_eq!(second, [vec![9, 8]]);
/// ```
#[derive(Debug, Default, Clone)]
pub struct TcpFramer {
    prefix: [u8; 2],
    prefix_len: u8,
    // Body of a message whose prefix is complete but whose bytes are not all
    // here yet; only meaningful when `prefix_len == 2`.
    body: Vec<u8>,
    skip: usize,
    resync: bool,
    dropped: u64,
}

impl TcpFramer {
    /// A framer at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add the next bytes of the stream; the iterator yields every message
    /// completed by them. Dropping the iterator early skips the messages it
    /// did not yield but keeps the framing in step (a trailing partial
    /// message is still buffered).
    pub fn push<'a>(&'a mut self, bytes: &'a [u8]) -> TcpMessages<'a> {
        TcpMessages {
            framer: self,
            rest: bytes,
        }
    }

    /// Tell the framer that `len` bytes of the stream were lost here.
    ///
    /// A gap inside a message whose length is known costs that message only:
    /// framing continues after it. Otherwise the framer drops buffered bytes and
    /// resynchronises at the next pushed chunk if that chunk starts with a
    /// plausible length prefix and header; chunks that do not are discarded.
    pub fn gap(&mut self, len: u64) {
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        self.dropped = self
            .dropped
            .saturating_add(self.body.len() as u64)
            .saturating_add(u64::from(self.prefix_len));
        if self.resync {
            return;
        }
        if self.skip > 0 {
            if len < self.skip {
                self.skip -= len;
            } else {
                self.resync = len > self.skip;
                self.skip = 0;
            }
            return;
        }
        if self.prefix_len == 2 {
            let remaining = usize::from(u16::from_be_bytes(self.prefix)) - self.body.len();
            if len < remaining {
                self.skip = remaining - len;
            } else {
                self.resync = len > remaining;
            }
        } else {
            self.resync = true;
        }
        self.prefix_len = 0;
        self.body.clear();
    }

    /// Bytes currently held back waiting for the rest of a message.
    pub fn buffered(&self) -> usize {
        self.body.len() + usize::from(self.prefix_len)
    }

    /// Bytes thrown away because of gaps and failed resynchronisation
    /// (buffered partial messages, skipped message tails, discarded chunks).
    pub fn dropped_bytes(&self) -> u64 {
        self.dropped
    }

    fn take_from<'a>(&mut self, rest: &mut &'a [u8]) -> Option<Cow<'a, [u8]>> {
        loop {
            if self.skip > 0 {
                let n = self.skip.min(rest.len());
                *rest = rest.get(n..).unwrap_or_default();
                self.skip -= n;
                self.dropped = self.dropped.saturating_add(n as u64);
            }
            if rest.is_empty() {
                return None;
            }
            if self.resync {
                if !plausible_start(rest) {
                    self.dropped = self.dropped.saturating_add(rest.len() as u64);
                    *rest = &[];
                    return None;
                }
                self.resync = false;
            }
            if self.prefix_len == 0 {
                // The common case: a whole message inside the chunk, no copy.
                if let Some(len) = be16(rest, 0) {
                    let end = 2 + usize::from(len);
                    if let Some(msg) = rest.get(2..end) {
                        *rest = rest.get(end..).unwrap_or_default();
                        return Some(Cow::Borrowed(msg));
                    }
                }
            }
            // Buffer: complete the prefix first, then the body.
            while self.prefix_len < 2 {
                let (&b, tail) = rest.split_first()?;
                self.prefix[usize::from(self.prefix_len)] = b;
                self.prefix_len += 1;
                *rest = tail;
            }
            let len = usize::from(u16::from_be_bytes(self.prefix));
            let n = (len - self.body.len()).min(rest.len());
            let (head, tail) = rest.split_at(n);
            self.body.extend_from_slice(head);
            *rest = tail;
            if self.body.len() == len {
                self.prefix_len = 0;
                return Some(Cow::Owned(std::mem::take(&mut self.body)));
            }
            if rest.is_empty() {
                return None;
            }
        }
    }
}

/// A resynchronisation point must look like a DNS message: a length that can
/// hold a header, and a whole header in the chunk with an assigned opcode and
/// entry counts that fit in that length. Two bytes alone are too easy to
/// match by chance, so a shorter chunk is not a resynchronisation point.
fn plausible_start(b: &[u8]) -> bool {
    let Some(len) = be16(b, 0) else {
        return false;
    };
    let len = usize::from(len);
    if len < HEADER_LEN {
        return false;
    }
    let Some(h) = b.get(2..2 + HEADER_LEN) else {
        return false;
    };
    let flags = be16(h, 2).unwrap_or(0);
    let opcode = (flags >> 11) & 0x0f;
    let count = |i| usize::from(be16(h, i).unwrap_or(0));
    let need = count(4) * MIN_QUESTION_LEN + (count(6) + count(8) + count(10)) * MIN_RECORD_LEN;
    matches!(opcode, 0..=2 | 4..=6) && count(4) <= 16 && HEADER_LEN + need <= len
}

/// Messages completed by one [`TcpFramer::push`]; see there.
#[derive(Debug)]
pub struct TcpMessages<'a> {
    framer: &'a mut TcpFramer,
    rest: &'a [u8],
}

impl<'a> Iterator for TcpMessages<'a> {
    type Item = Cow<'a, [u8]>;

    fn next(&mut self) -> Option<Self::Item> {
        self.framer.take_from(&mut self.rest)
    }
}

impl Drop for TcpMessages<'_> {
    fn drop(&mut self) {
        // Each round consumes at least one message, so this ends.
        while self.framer.take_from(&mut self.rest).is_some() {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(id: u16, flags: u16, counts: [u16; 4]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&id.to_be_bytes());
        v.extend_from_slice(&flags.to_be_bytes());
        for c in counts {
            v.extend_from_slice(&c.to_be_bytes());
        }
        v
    }

    fn name(labels: &[&[u8]]) -> Vec<u8> {
        let mut v = Vec::new();
        for l in labels {
            v.push(l.len() as u8);
            v.extend_from_slice(l);
        }
        v.push(0);
        v
    }

    fn rr(owner: &[u8], rtype: u16, class: u16, ttl: u32, rdata: &[u8]) -> Vec<u8> {
        let mut v = owner.to_vec();
        v.extend_from_slice(&rtype.to_be_bytes());
        v.extend_from_slice(&class.to_be_bytes());
        v.extend_from_slice(&ttl.to_be_bytes());
        v.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        v.extend_from_slice(rdata);
        v
    }

    #[test]
    fn query_exact_bytes() {
        let msg = [
            0xab, 0xcd, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, //
            3, b'w', b'w', b'w', 7, b'E', b'x', b'a', b'm', b'p', b'l', b'e', 3, b'c', b'o', b'm',
            0, 0, 28, 0, 1,
        ];
        let m = parse_message(&msg).unwrap();
        assert_eq!(m.id, 0xabcd);
        assert!(!m.response);
        assert!(m.recursion_desired());
        assert_eq!(m.opcode, 0);
        assert_eq!(m.counts, [1, 0, 0, 0]);
        assert_eq!(
            m.questions,
            [Question {
                name: "www.Example.com".into(),
                rtype: 28,
                rclass: 1,
                unicast_response: false
            }]
        );
        assert!(!m.partial);
    }

    #[test]
    fn response_with_compression_and_cname_chain() {
        // Question at offset 12: "www.example.com" A.
        let mut msg = header(7, 0x8180, [1, 3, 0, 0]);
        msg.extend(name(&[b"www", b"example", b"com"]));
        msg.extend([0, 1, 0, 1]);
        // www.example.com CNAME cdn.example.com (cdn + pointer to "example.com" at 16)
        let cname1 = [3, b'c', b'd', b'n', 0xc0, 16];
        let cdn_at = msg.len() + 12; // owner pointer (2) + fixed (10)
        msg.extend(rr(&[0xc0, 12], 5, 1, 300, &cname1));
        // cdn.example.com CNAME edge.net.
        let edge_at = msg.len() + 12;
        msg.extend(rr(
            &[0xc0, cdn_at as u8],
            5,
            1,
            60,
            &name(&[b"edge", b"net"]),
        ));
        // edge.net AAAA 2001:db8::1
        let mut v6 = [0u8; 16];
        v6[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
        v6[15] = 1;
        msg.extend(rr(&[0xc0, edge_at as u8], 28, 1, 20, &v6));
        let m = parse_message(&msg).unwrap();
        assert!(m.response);
        assert_eq!(m.rcode, 0);
        assert_eq!(rcode_name(m.full_rcode()), "NOERROR");
        let names: Vec<(&str, &RData)> = m
            .answers
            .iter()
            .map(|r| (r.name.as_str(), &r.data))
            .collect();
        assert_eq!(
            names,
            [
                ("www.example.com", &RData::Cname("cdn.example.com".into())),
                ("cdn.example.com", &RData::Cname("edge.net".into())),
                ("edge.net", &RData::Aaaa("2001:db8::1".parse().unwrap())),
            ]
        );
        assert_eq!(m.answers[0].ttl, 300);
        assert!(!m.partial);
    }

    #[test]
    fn pointer_loop_is_an_error_not_a_hang() {
        // Question name is a pointer to itself.
        let mut msg = header(1, 0, [1, 0, 0, 0]);
        msg.extend([0xc0, 12, 0, 1, 0, 1]);
        assert_eq!(
            parse_message(&msg),
            Err(DnsError::BadPointer { offset: 12 })
        );
        // Two names pointing at each other: 12 -> "a" then pointer to 17, 17 -> pointer to 12.
        let mut msg = header(1, 0, [2, 0, 0, 0]);
        msg.extend([1, b'a', 0xc0, 17, 0]); // 12..17, the trailing 0 is never reached
        msg.extend([0xc0, 12]); // 17
        assert!(matches!(
            parse_message(&msg),
            Err(DnsError::BadPointer { .. })
        ));
        // A forward pointer.
        let mut msg = header(1, 0, [1, 0, 0, 0]);
        msg.extend([0xc0, 20, 0, 1, 0, 1, 0, 0, 1, b'x', 0]);
        assert!(matches!(
            parse_message(&msg),
            Err(DnsError::BadPointer { .. })
        ));
    }

    #[test]
    fn loop_in_answer_keeps_question() {
        let mut msg = header(1, 0x8180, [1, 1, 0, 0]);
        msg.extend(name(&[b"a"]));
        msg.extend([0, 1, 0, 1]);
        let at = msg.len() as u8;
        msg.extend(rr(&[0xc0, at], 1, 1, 1, &[1, 2, 3, 4]));
        let m = parse_message(&msg).unwrap();
        assert_eq!(m.questions.len(), 1);
        assert!(m.answers.is_empty());
        assert!(m.partial);
        assert_eq!(m.error, Some(DnsError::BadPointer { offset: 19 }));
    }

    #[test]
    fn truncated_message() {
        assert_eq!(
            parse_message(&[0; 11]),
            Err(DnsError::ShortHeader { len: 11 })
        );
        let mut msg = header(1, 0x8180, [1, 2, 0, 0]);
        msg.extend(name(&[b"host"]));
        msg.extend([0, 1, 0, 1]);
        msg.extend(rr(&[0xc0, 12], 1, 1, 9, &[192, 0, 2, 1]));
        let full = msg.len();
        msg.extend(rr(&[0xc0, 12], 1, 1, 9, &[192, 0, 2, 2]));
        // Cut inside the second answer's data.
        let m = parse_message(&msg[..msg.len() - 1]).unwrap();
        assert!(m.partial);
        assert_eq!(m.answers.len(), 1);
        assert_eq!(m.answers[0].data, RData::A(Ipv4Addr::new(192, 0, 2, 1)));
        assert_eq!(m.error, Some(DnsError::Truncated { offset: full + 12 }));
        // Cut inside the question: an error.
        assert_eq!(
            parse_message(&msg[..15]),
            Err(DnsError::Truncated { offset: 12 })
        );
        // Every prefix is handled without panicking.
        for n in 0..msg.len() {
            let _ = parse_message(&msg[..n]);
        }
    }

    #[test]
    fn lying_counts_are_capped() {
        let mut msg = header(1, 0x8180, [0, 0xffff, 0, 0]);
        msg.extend(rr(&[0], 1, 1, 1, &[1, 1, 1, 1]));
        let m = parse_message(&msg).unwrap();
        assert!(m.partial);
        assert_eq!(m.answers.len(), 1);
        assert!(m.answers.capacity() < 16);
        let msg = header(1, 0, [300, 0, 0, 0]);
        assert_eq!(
            parse_message(&msg),
            Err(DnsError::TooManyEntries { count: 300 })
        );
    }

    #[test]
    fn escaping_and_root() {
        let mut msg = header(1, 0, [2, 0, 0, 0]);
        msg.extend([3, b'a', b'.', 0x07, 2, b'\\', b' ', 0, 0, 12, 0, 1]);
        msg.extend([0, 0, 2, 0, 1]); // root name, NS
        let m = parse_message(&msg).unwrap();
        assert_eq!(m.questions[0].name, "a\\.\\007.\\\\\\032");
        assert_eq!(m.questions[1].name, "");
        assert_eq!(m.questions[1].rtype, 2);
    }

    #[test]
    fn name_length_cap() {
        // 5 labels of 63 bytes = 320 wire bytes > 255.
        let label = [b'x'; 63];
        let mut msg = header(1, 0, [1, 0, 0, 0]);
        msg.extend(name(&[&label, &label, &label, &label, &label]));
        msg.extend([0, 1, 0, 1]);
        assert_eq!(
            parse_message(&msg),
            Err(DnsError::NameTooLong { offset: 12 })
        );
        // 3 x 63 + 61 = 4*1 + 250 + 1 = 255 exactly: fine.
        let mut msg = header(1, 0, [1, 0, 0, 0]);
        msg.extend(name(&[&label, &label, &label, &[b'y'; 61]]));
        msg.extend([0, 1, 0, 1]);
        assert_eq!(parse_message(&msg).unwrap().questions[0].name.len(), 253);
        // Reserved label type.
        let mut msg = header(1, 0, [1, 0, 0, 0]);
        msg.extend([0x41, 0, 0, 1, 0, 1]);
        assert_eq!(
            parse_message(&msg),
            Err(DnsError::BadLabelType { offset: 12 })
        );
    }

    #[test]
    fn mdns_class_bits_and_txt_srv_ptr() {
        let mut msg = header(0, 0x8400, [1, 3, 0, 0]);
        msg.extend(name(&[b"_ipp", b"_tcp", b"local"]));
        msg.extend([0, 12, 0x80, 1]); // PTR, QU bit
        let svc = name(&[b"Printer", b"_ipp", b"_tcp", b"local"]);
        msg.extend(rr(&[0xc0, 12], 12, 1, 4500, &svc));
        let mut txt = vec![6];
        txt.extend(b"txtv=1");
        txt.extend([2, 0xff, b'a']);
        txt.push(0);
        msg.extend(rr(&[0xc0, 12], 16, 0x8001, 4500, &txt));
        let mut srv = vec![0, 0, 0, 0, 0x02, 0x77];
        srv.extend(name(&[b"pr", b"local"]));
        msg.extend(rr(&[0xc0, 12], 33, 0x8001, 120, &srv));
        let m = parse_message(&msg).unwrap();
        assert!(m.authoritative());
        assert_eq!(m.questions[0].rclass, 1);
        assert!(m.questions[0].unicast_response);
        assert_eq!(
            m.answers[0].data,
            RData::Ptr("Printer._ipp._tcp.local".into())
        );
        assert!(!m.answers[0].cache_flush);
        assert_eq!(
            m.answers[1].data,
            RData::Txt(vec!["txtv=1".into(), "\u{fffd}a".into(), String::new()])
        );
        assert_eq!((m.answers[1].rclass, m.answers[1].cache_flush), (1, true));
        assert_eq!(
            m.answers[2].data,
            RData::Srv {
                priority: 0,
                weight: 0,
                port: 631,
                target: "pr.local".into()
            }
        );
    }

    #[test]
    fn invalid_rdata_is_kept_raw_and_parsing_continues() {
        let mut msg = header(1, 0x8180, [0, 2, 0, 1]);
        msg.extend(rr(&[0], 1, 1, 1, &[1, 2, 3])); // A with 3 bytes
        msg.extend(rr(&[0], 5, 1, 1, &[1, b'a', 0, 9])); // CNAME with trailing byte
        msg.extend(rr(&[0], 41, 1232, 0x0000_8000, &[0, 10, 0, 2, 0xaa, 0xbb]));
        let m = parse_message(&msg).unwrap();
        assert!(!m.partial);
        assert_eq!(m.answers[0].data, RData::Invalid(vec![1, 2, 3]));
        assert_eq!(m.answers[1].data, RData::Invalid(vec![1, b'a', 0, 9]));
        assert_eq!(
            m.additionals[0].data,
            RData::Opt(vec![(10, vec![0xaa, 0xbb])])
        );
        assert_eq!(
            m.edns,
            Some(Edns {
                udp_payload_size: 1232,
                extended_rcode: 0,
                version: 0,
                dnssec_ok: true
            })
        );
    }

    #[test]
    fn soa_mx_https() {
        let mut msg = header(1, 0x8183, [0, 1, 1, 0]);
        let mut mx = vec![0, 10];
        mx.extend(name(&[b"mx", b"example"]));
        msg.extend(rr(&[0], 15, 1, 1, &mx));
        let mut soa = name(&[b"ns"]);
        soa.extend([0xc0, 12 + 13]); // "mx.example" inside the MX rdata above (offset 25)
        for n in 1u32..=5 {
            soa.extend(n.to_be_bytes());
        }
        msg.extend(rr(&[0], 6, 1, 1, &soa));
        let m = parse_message(&msg).unwrap();
        assert_eq!(rcode_name(u16::from(m.rcode)), "NXDOMAIN");
        assert_eq!(
            m.answers[0].data,
            RData::Mx {
                preference: 10,
                exchange: "mx.example".into()
            }
        );
        assert_eq!(
            m.authorities[0].data,
            RData::Soa {
                mname: "ns".into(),
                rname: "mx.example".into(),
                serial: 1,
                refresh: 2,
                retry: 3,
                expire: 4,
                minimum: 5
            }
        );
        let mut msg = header(1, 0x8180, [0, 1, 0, 0]);
        msg.extend(rr(&[0], 65, 1, 1, &[0, 1, 0, 0, 1, 0, 3, 2, b'h', b'2']));
        let m = parse_message(&msg).unwrap();
        assert_eq!(
            m.answers[0].data,
            RData::Svcb {
                priority: 1,
                target: String::new(),
                params: vec![(1, vec![2, b'h', b'2'])]
            }
        );
    }

    #[test]
    fn names_of_registries() {
        assert_eq!(type_name(65), Some("HTTPS"));
        assert_eq!(type_name(64), Some("SVCB"));
        assert_eq!(type_name(255), Some("ANY"));
        assert_eq!(type_name(257), Some("CAA"));
        assert_eq!(type_name(4242), None);
        assert_eq!(rcode_name(3), "NXDOMAIN");
        assert_eq!(rcode_name(16), "BADVERS");
        assert_eq!(rcode_name(999), "UNKNOWN");
        assert_eq!(opcode_name(5), "UPDATE");
    }

    fn framed(msg: &[u8]) -> Vec<u8> {
        let mut v = (msg.len() as u16).to_be_bytes().to_vec();
        v.extend_from_slice(msg);
        v
    }

    fn collect(f: &mut TcpFramer, bytes: &[u8]) -> Vec<Vec<u8>> {
        f.push(bytes).map(Cow::into_owned).collect()
    }

    fn sample_messages() -> Vec<Vec<u8>> {
        let mut q = header(1, 0x0100, [1, 0, 0, 0]);
        q.extend(name(&[b"example", b"org"]));
        q.extend([0, 1, 0, 1]);
        let mut r = header(1, 0x8180, [1, 1, 0, 0]);
        r.extend(name(&[b"example", b"org"]));
        r.extend([0, 1, 0, 1]);
        r.extend(rr(&[0xc0, 12], 1, 1, 5, &[93, 184, 216, 34]));
        vec![q, r]
    }

    #[test]
    fn tcp_framing_merged_and_split() {
        let msgs = sample_messages();
        let mut stream = Vec::new();
        for m in &msgs {
            stream.extend(framed(m));
        }
        // Merged: both in one chunk, borrowed without copying.
        let mut f = TcpFramer::new();
        let got: Vec<Cow<'_, [u8]>> = f.push(&stream).collect();
        assert!(got.iter().all(|m| matches!(m, Cow::Borrowed(_))));
        assert_eq!(got.len(), 2);
        drop(got);
        assert_eq!(f.buffered(), 0);
        // Split at every position, and byte by byte.
        for cut in 0..=stream.len() {
            let mut f = TcpFramer::new();
            let mut got = collect(&mut f, &stream[..cut]);
            got.extend(collect(&mut f, &stream[cut..]));
            assert_eq!(got, msgs, "cut at {cut}");
            assert_eq!(f.buffered(), 0);
        }
        let mut f = TcpFramer::new();
        let mut got = Vec::new();
        for b in &stream {
            got.extend(collect(&mut f, std::slice::from_ref(b)));
        }
        assert_eq!(got, msgs);
        assert_eq!(parse_message(&got[1]).unwrap().answers.len(), 1);
    }

    #[test]
    fn tcp_framing_early_drop_stays_in_step() {
        let msgs = sample_messages();
        let mut stream = Vec::new();
        for m in &msgs {
            stream.extend(framed(m));
        }
        stream.extend(&framed(&msgs[0])[..5]);
        let mut f = TcpFramer::new();
        let first = f.push(&stream).next().map(Cow::into_owned);
        assert_eq!(first.as_deref(), Some(&msgs[0][..]));
        assert_eq!(f.buffered(), 5);
        assert_eq!(collect(&mut f, &framed(&msgs[0])[5..]), [msgs[0].clone()]);
    }

    #[test]
    fn tcp_gap_inside_known_message_keeps_framing() {
        let msgs = sample_messages();
        let a = framed(&msgs[1]);
        let b = framed(&msgs[0]);
        let mut f = TcpFramer::new();
        assert!(collect(&mut f, &a[..10]).is_empty());
        f.gap(5);
        let mut rest = a[15..].to_vec();
        rest.extend(&b);
        assert_eq!(collect(&mut f, &rest), [msgs[0].clone()]);
        assert_eq!(f.dropped_bytes(), 10 + (a.len() as u64 - 15));
    }

    #[test]
    fn tcp_gap_resyncs_at_plausible_chunk() {
        let msgs = sample_messages();
        let mut f = TcpFramer::new();
        assert!(collect(&mut f, &[0]).is_empty());
        f.gap(100);
        // Garbage chunk: discarded.
        assert!(collect(&mut f, &[0xff, 0xff, 1, 2, 3]).is_empty());
        // Still resyncing: a chunk starting with a tiny length is no message,
        // nor is a header whose counts cannot fit its length.
        assert!(collect(&mut f, &[0, 3, 1, 2, 3]).is_empty());
        assert!(collect(&mut f, &[0, 12, 0, 0, 0, 0, 0, 1, 0, 9, 0, 0, 0, 0]).is_empty());
        assert_eq!(collect(&mut f, &framed(&msgs[1])), [msgs[1].clone()]);
        // A gap that ends exactly at a boundary keeps framing.
        let a = framed(&msgs[0]);
        assert!(collect(&mut f, &a[..4]).is_empty());
        f.gap((a.len() - 4) as u64);
        assert_eq!(collect(&mut f, &[0, 3, 1, 2, 3]), [vec![1, 2, 3]]);
    }

    fn xorshift(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    fn garbage_never_panics() {
        let mut s = 0x9e37_79b9_7f4a_7c15;
        let mut seed = sample_messages().pop().unwrap();
        for round in 0..20_000 {
            let len = (xorshift(&mut s) % 96) as usize;
            let mut buf: Vec<u8> = (0..len).map(|_| xorshift(&mut s) as u8).collect();
            if round % 2 == 0 {
                // Mutate a valid message so the parser gets past the header.
                for _ in 0..3 {
                    let i = (xorshift(&mut s) as usize) % seed.len();
                    seed[i] = xorshift(&mut s) as u8;
                }
                buf = seed.clone();
            }
            let _ = parse_message(&buf);
            let mut f = TcpFramer::new();
            for m in f.push(&buf) {
                let _ = parse_message(&m);
            }
            f.gap(xorshift(&mut s) % 70_000);
            let _ = f.push(&buf).count();
        }
    }
}
