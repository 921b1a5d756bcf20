//! Network and transport layers: frames to [`Packet`]s.

use std::collections::BTreeMap;
use std::net::IpAddr;

use etherparse::{LaxIpSlice, TcpSlice, UdpSlice};

use crate::defrag::{DefragLimits, DefragStats, Defragmenter, FragKey};
use crate::link::{self, Network};
use crate::{Frame, LinkType, Timestamp};

/// A decoded TCP or UDP packet, borrowing the frame (or, for a reassembled
/// fragmented datagram, the decoder's reassembly buffer).
#[derive(Clone, Copy, Debug)]
pub struct Packet<'a> {
    /// Packet number of the frame (for a reassembled datagram, the frame that
    /// completed it).
    pub frame: u64,
    /// Capture time.
    pub ts: Timestamp,
    /// Length of the frame on the wire, link header included (what flow byte
    /// counters add up, as Suricata's do).
    pub wire_len: u32,
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// The transport layer.
    pub transport: Transport<'a>,
}

/// Transport-layer view of a [`Packet`]. Deliberately exhaustive: the flow
/// stage matches it per packet, and a new transport would need flow support
/// anyway (a breaking change either way).
#[derive(Clone, Copy, Debug)]
pub enum Transport<'a> {
    /// A TCP segment.
    Tcp(TcpSegment<'a>),
    /// A UDP datagram.
    Udp(UdpDatagram<'a>),
}

impl Transport<'_> {
    /// Source port.
    pub fn src_port(&self) -> u16 {
        match self {
            Transport::Tcp(t) => t.src_port,
            Transport::Udp(u) => u.src_port,
        }
    }

    /// Destination port.
    pub fn dst_port(&self) -> u16 {
        match self {
            Transport::Tcp(t) => t.dst_port,
            Transport::Udp(u) => u.dst_port,
        }
    }
}

/// TCP header flags.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    /// FIN.
    pub const FIN: u8 = 0x01;
    /// SYN.
    pub const SYN: u8 = 0x02;
    /// RST.
    pub const RST: u8 = 0x04;
    /// PSH.
    pub const PSH: u8 = 0x08;
    /// ACK.
    pub const ACK: u8 = 0x10;

    /// Whether every bit of `mask` is set.
    pub fn has(self, mask: u8) -> bool {
        self.0 & mask == mask
    }
}

/// A TCP segment.
#[derive(Clone, Copy, Debug)]
pub struct TcpSegment<'a> {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgement number (meaningful when ACK is set).
    pub ack: u32,
    /// Header flags.
    pub flags: TcpFlags,
    /// Advertised window.
    pub window: u16,
    /// The payload bytes that were captured.
    pub payload: &'a [u8],
    /// How many payload bytes were on the wire: more than `payload.len()` when
    /// the capture's snaplen cut the packet.
    pub wire_len: u32,
}

/// A UDP datagram.
#[derive(Clone, Copy, Debug)]
pub struct UdpDatagram<'a> {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// The captured payload.
    pub payload: &'a [u8],
    /// Whether the capture cut the datagram short.
    pub truncated: bool,
}

/// Counters of what the decoder saw and set aside. Malformed traffic is
/// counted, never raised as an error.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct DecodeStats {
    /// Frames given to the decoder.
    pub frames: u64,
    /// Captured bytes of those frames.
    pub bytes: u64,
    /// Frames the capture cut short (captured length below wire length).
    pub truncated_frames: u64,
    /// TCP packets decoded.
    pub tcp: u64,
    /// UDP packets decoded.
    pub udp: u64,
    /// ICMP and ICMPv6 packets (counted, not analysed).
    pub icmp: u64,
    /// IP packets of other protocols (counted, not analysed).
    pub other_ip: u64,
    /// Frames carrying no IP (ARP, LLDP, ...).
    pub not_ip: u64,
    /// Frames whose link, IP or transport header was cut or inconsistent.
    pub malformed: u64,
    /// Frames on link types this decoder does not handle, by link type.
    pub unsupported_links: BTreeMap<LinkType, u64>,
    /// Fragment reassembly counters.
    pub defrag: DefragStats,
    /// Incomplete fragmented datagrams still held when the capture ended.
    pub defrag_incomplete: u64,
}

impl DecodeStats {
    /// Adds another decoder's counters (a capture decoded in shards).
    pub fn merge(&mut self, o: &DecodeStats) {
        self.frames += o.frames;
        self.bytes += o.bytes;
        self.truncated_frames += o.truncated_frames;
        self.tcp += o.tcp;
        self.udp += o.udp;
        self.icmp += o.icmp;
        self.other_ip += o.other_ip;
        self.not_ip += o.not_ip;
        self.malformed += o.malformed;
        for (link, n) in &o.unsupported_links {
            *self.unsupported_links.entry(*link).or_default() += n;
        }
        self.defrag.merge(&o.defrag);
        self.defrag_incomplete += o.defrag_incomplete;
    }
}

/// A hash of a frame's IP address pair, the same in both directions; `None`
/// for a frame that is not IP. For splitting one capture into parts by a
/// fixed rule (`pair_hash % n`, as `examples/split.rs` does): frames
/// between the same two addresses (both directions, every port, every
/// fragment) share it, so flows and fragment reassembly stay whole. Only
/// the link header and the IP addresses are read. (Threads that share a
/// capture place frames by [`pair_place`] instead, and mix [`pair_key`]
/// with a key of their own.)
///
/// ```
/// use telltale_decode::{CaptureReader, pair_hash};
/// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/redmi-1s-2014.pcap");
/// let mut r = CaptureReader::open(path).unwrap();
/// let query = pair_hash(&r.next_frame().unwrap().unwrap());
/// let answer = pair_hash(&r.next_frame().unwrap().unwrap());
/// assert!(query.is_some());
/// assert_eq!(query, answer);
/// ```
pub fn pair_hash(frame: &Frame<'_>) -> Option<u64> {
    pair_key(frame).map(pair_mix)
}

/// The key of a frame's IP address pair, the same both ways; `None` for a
/// frame that is not IP. What [`pair_place`] and [`Packet::pair_key`]
/// give; not a hash (an IPv4 pair's key is its two addresses), while
/// [`pair_hash`] is this key mixed.
pub fn pair_key(frame: &Frame<'_>) -> Option<u64> {
    let Network::Ip(ip) = link::network(frame.link, frame.data) else {
        return None;
    };
    let key = match ip.first().map(|v| v >> 4) {
        Some(4) => {
            let h = ip.first_chunk::<20>()?;
            pair_key_v4(word4(h, 12), word4(h, 16))
        }
        Some(6) => {
            let h = ip.first_chunk::<40>()?;
            pair_key_v6(word16(h, 8), word16(h, 24))
        }
        _ => return None,
    };
    Some(key)
}

fn word4<const N: usize>(h: &[u8; N], at: usize) -> u32 {
    u32::from_be_bytes([h[at], h[at + 1], h[at + 2], h[at + 3]])
}

fn word16<const N: usize>(h: &[u8; N], at: usize) -> u128 {
    u128::from_be_bytes(h[at..at + 16].try_into().expect("sixteen bytes"))
}

/// The pair in a fixed order (either direction gives the same key), as
/// integers: comparing the address bytes as slices went through memcmp on
/// every packet of every shard. An IPv4 pair's key is exact.
fn pair_key_v4(a: u32, b: u32) -> u64 {
    u64::from(a.min(b)) << 32 | u64::from(a.max(b))
}

fn pair_key_v6(a: u128, b: u128) -> u64 {
    let (lo, hi) = (a.min(b), a.max(b));
    let half = |x: u128| ((x >> 64) as u64, x as u64);
    let ((lo0, lo1), (hi0, hi1)) = (half(lo), half(hi));
    (lo0 ^ hi0.rotate_left(29)) ^ (lo1 ^ hi1.rotate_left(43)).rotate_left(17)
}

/// A multiply-xorshift mix: stable across runs and platforms, so a split
/// made with [`pair_hash`] is reproducible.
fn pair_mix(key: u64) -> u64 {
    let mut h = key.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    h ^= h >> 31;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 29;
    h
}

/// Where a frame belongs when one capture is split across threads by
/// address pair ([`pair_place`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PairPlace {
    /// A TCP or UDP packet whole in its frame: its address pair's key and
    /// its source and destination ports.
    Whole {
        /// The address pair's key, the same both ways and the same as
        /// [`Packet::pair_key`] once decoded. Not a hash (an IPv4 pair's
        /// key is the two addresses): mix it before using its bits;
        /// [`pair_hash`] is this key mixed.
        key: u64,
        /// Source and destination port.
        ports: [u16; 2],
    },
    /// Anything else: a fragment (the ports may be in another frame), IPv6
    /// with extension headers, another protocol, not IP, or cut before the
    /// ports: what it carries is known only once it is decoded.
    Decode,
}

/// Where `frame` belongs when a capture is split by address pair, read
/// from its headers without decoding it: a few loads and compares per
/// frame, for every frame of every thread that shares the capture.
///
/// A frame is [`PairPlace::Whole`] only when [`Decoder::decode`] takes it
/// straight from the frame, never through fragment reassembly; the packet
/// it gives, if any (a damaged header gives none), has the ports read
/// here. So a thread's decoder can take only the
/// whole frames of its own pairs, while another decoder on every thread
/// takes all the rest (fragments are then put together as one pipeline
/// would, with the capture's limits), and keeps the packets of its pairs.
///
/// ```
/// use telltale_decode::{CaptureReader, Decoder, PairPlace, pair_hash, pair_place};
/// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/redmi-1s-2014.pcap");
/// let mut r = CaptureReader::open(path).unwrap();
/// let frame = r.next_frame().unwrap().unwrap();
/// let PairPlace::Whole { key, ports } = pair_place(&frame) else { panic!() };
/// let mut decoder = Decoder::default();
/// let packet = decoder.decode(&frame).unwrap();
/// assert_eq!(key, packet.pair_key());
/// assert_eq!(Some(packet.pair_hash()), pair_hash(&frame));
/// assert_eq!(ports, [packet.transport.src_port(), packet.transport.dst_port()]);
/// ```
// Always inlined: a shard of a split capture places every frame of it.
#[inline(always)]
pub fn pair_place(frame: &Frame<'_>) -> PairPlace {
    // Untagged IPv4 over Ethernet first, read in place: nearly every frame
    // of a phone's capture. Anything else, or any doubt, goes the general
    // way below, which gives the same answer for these frames.
    if frame.link == LinkType::ETHERNET
        && let Some(f) = frame.data.first_chunk::<34>()
        && f[12..15] == [0x08, 0x00, 0x45]
        && u16::from_be_bytes([f[20], f[21]]) & 0x3fff == 0
        && matches!(f[23], 6 | 17)
        && let Some(p) = frame.data.get(34..38)
    {
        let h = f[14..34].first_chunk::<20>().expect("twenty bytes");
        return PairPlace::Whole {
            key: pair_key_v4(word4(h, 12), word4(h, 16)),
            ports: [
                u16::from_be_bytes([p[0], p[1]]),
                u16::from_be_bytes([p[2], p[3]]),
            ],
        };
    }
    let Network::Ip(ip) = link::network(frame.link, frame.data) else {
        return PairPlace::Decode;
    };
    let port = |p: &[u8]| {
        [
            u16::from_be_bytes([p[0], p[1]]),
            u16::from_be_bytes([p[2], p[3]]),
        ]
    };
    match ip.first().map(|v| v >> 4) {
        Some(4) => {
            // One bounds check for the fixed header, one for the ports.
            let Some(h) = ip.first_chunk::<20>() else {
                return PairPlace::Decode;
            };
            let ihl = usize::from(h[0] & 0x0f) * 4;
            // More-fragments flag or an offset: a fragment.
            let fragment = u16::from_be_bytes([h[6], h[7]]) & 0x3fff != 0;
            if ihl < 20 || fragment || !matches!(h[9], 6 | 17) {
                return PairPlace::Decode;
            }
            let Some(p) = ip.get(ihl..ihl + 4) else {
                return PairPlace::Decode;
            };
            PairPlace::Whole {
                key: pair_key_v4(word4(h, 12), word4(h, 16)),
                ports: port(p),
            }
        }
        // Only a transport header right after the fixed header: with
        // extension headers (a fragment header among them, perhaps) the
        // decoder has the last word.
        Some(6) => match ip.first_chunk::<44>() {
            Some(h) if matches!(h[6], 6 | 17) => PairPlace::Whole {
                key: pair_key_v6(word16(h, 8), word16(h, 24)),
                ports: port(&h[40..]),
            },
            _ => PairPlace::Decode,
        },
        _ => PairPlace::Decode,
    }
}

impl Packet<'_> {
    /// The key of this packet's address pair, the same both ways: what
    /// [`pair_place`] gives its frame.
    pub fn pair_key(&self) -> u64 {
        match (self.src, self.dst) {
            (IpAddr::V4(a), IpAddr::V4(b)) => pair_key_v4(u32::from(a), u32::from(b)),
            (a, b) => pair_key_v6(v6_bits(a), v6_bits(b)),
        }
    }

    /// The hash of this packet's address pair, the same both ways: what
    /// [`pair_hash`] gives its frame (for a reassembled datagram, any of
    /// its fragments).
    pub fn pair_hash(&self) -> u64 {
        pair_mix(self.pair_key())
    }
}

/// An address as IPv6 bits: IPv4 only when the other end is IPv6, which
/// no packet has.
fn v6_bits(a: IpAddr) -> u128 {
    match a {
        IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// Limits of a [`Decoder`].
#[derive(Clone, Copy, Debug, Default)]
pub struct DecoderConfig {
    /// Fragment reassembly limits.
    pub defrag: DefragLimits,
}

/// Decodes frames into TCP and UDP [`Packet`]s: link layers, IPv4 and IPv6
/// (extension headers, fragments), TCP and UDP.
///
/// One decoder per capture: fragment reassembly state belongs to one capture.
///
/// ```
/// use telltale_decode::{Decoder, Frame, LinkType, Timestamp, Transport};
/// // A raw IPv4/UDP packet: 10.0.0.1:5353 -> 10.0.0.2:53, payload "hi".
/// let ip = [
///     0x45, 0, 0, 30, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
///     0x14, 0xe9, 0, 53, 0, 10, 0, 0, b'h', b'i',
/// ];
/// let frame = Frame { index: 1, ts: Timestamp::from_nanos(0), link: LinkType::RAW,
///                     interface: 0, data: &ip, orig_len: ip.len() as u32 };
/// let mut decoder = Decoder::default();
/// let packet = decoder.decode(&frame).unwrap();
/// assert_eq!(packet.src.to_string(), "10.0.0.1");
/// assert!(matches!(packet.transport, Transport::Udp(u) if u.dst_port == 53 && u.payload == b"hi"));
/// ```
pub struct Decoder {
    defrag: Defragmenter,
    reassembled: Vec<u8>,
    stats: DecodeStats,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new(DecoderConfig::default())
    }
}

impl Decoder {
    /// A decoder with the given limits.
    pub fn new(config: DecoderConfig) -> Self {
        Decoder {
            defrag: Defragmenter::new(config.defrag),
            reassembled: Vec::new(),
            stats: DecodeStats::default(),
        }
    }

    /// What was decoded and set aside so far.
    pub fn stats(&self) -> DecodeStats {
        let mut s = self.stats.clone();
        s.defrag = self.defrag.stats;
        s.defrag_incomplete = self.defrag.pending() as u64;
        s
    }

    /// Decodes one frame. `None` when it carries no TCP or UDP packet (yet:
    /// a fragment waits for the rest of its datagram); the reason is counted
    /// in [`Decoder::stats`].
    pub fn decode<'a>(&'a mut self, frame: &Frame<'a>) -> Option<Packet<'a>> {
        self.stats.frames += 1;
        self.stats.bytes += frame.data.len() as u64;
        if frame.is_truncated() {
            self.stats.truncated_frames += 1;
        }
        let ip = match link::network(frame.link, frame.data) {
            Network::Ip(ip) => ip,
            Network::NotIp => {
                self.stats.not_ip += 1;
                return None;
            }
            Network::Malformed => {
                self.stats.malformed += 1;
                return None;
            }
            Network::UnsupportedLink => {
                *self.stats.unsupported_links.entry(frame.link).or_default() += 1;
                return None;
            }
        };
        let Ok((slice, _ext_err)) = LaxIpSlice::from_slice(ip) else {
            self.stats.malformed += 1;
            return None;
        };
        let src = slice.source_addr();
        let dst = slice.destination_addr();
        let payload = slice.payload();
        // Bytes the IP header says were there but the capture did not keep.
        let missing = if payload.incomplete {
            claimed_ip_len(ip).saturating_sub(ip.len())
        } else {
            0
        };
        if payload.fragmented {
            let (key, offset, more, data) = match fragment(&slice, ip) {
                Some(f) => f,
                None => {
                    self.stats.malformed += 1;
                    return None;
                }
            };
            if missing > 0 {
                // A cut fragment can never complete its datagram.
                self.stats.malformed += 1;
                return None;
            }
            if !self
                .defrag
                .push(key, frame.ts, offset, more, data, &mut self.reassembled)
            {
                return None;
            }
            let (proto, body) = if matches!(src, IpAddr::V6(_)) {
                skip_ipv6_extensions(key.proto, &self.reassembled)?
            } else {
                (key.proto, &self.reassembled[..])
            };
            return transport(&mut self.stats, frame, src, dst, proto, body, 0);
        }
        transport(
            &mut self.stats,
            frame,
            src,
            dst,
            payload.ip_number.0,
            payload.payload,
            missing,
        )
    }
}

fn transport<'a>(
    stats: &mut DecodeStats,
    frame: &Frame<'_>,
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    body: &'a [u8],
    missing: usize,
) -> Option<Packet<'a>> {
    let transport = match proto {
        6 => {
            let Ok(tcp) = TcpSlice::from_slice(body) else {
                stats.malformed += 1;
                return None;
            };
            stats.tcp += 1;
            let payload = tcp.payload();
            Transport::Tcp(TcpSegment {
                src_port: tcp.source_port(),
                dst_port: tcp.destination_port(),
                seq: tcp.sequence_number(),
                ack: tcp.acknowledgment_number(),
                flags: TcpFlags(tcp.header_slice()[13]),
                window: tcp.window_size(),
                payload,
                wire_len: (payload.len() + missing).min(u32::MAX as usize) as u32,
            })
        }
        17 => {
            let Ok(udp) = UdpSlice::from_slice_lax(body) else {
                stats.malformed += 1;
                return None;
            };
            stats.udp += 1;
            Transport::Udp(UdpDatagram {
                src_port: udp.source_port(),
                dst_port: udp.destination_port(),
                payload: udp.payload(),
                truncated: missing > 0,
            })
        }
        1 | 58 => {
            stats.icmp += 1;
            return None;
        }
        _ => {
            stats.other_ip += 1;
            return None;
        }
    };
    Some(Packet {
        frame: frame.index,
        ts: frame.ts,
        wire_len: frame.orig_len,
        src,
        dst,
        transport,
    })
}

/// The total length an IP header claims for its packet.
fn claimed_ip_len(ip: &[u8]) -> usize {
    match ip.first().map(|b| b >> 4) {
        Some(4) if ip.len() >= 4 => usize::from(u16::from_be_bytes([ip[2], ip[3]])),
        Some(6) if ip.len() >= 6 => 40 + usize::from(u16::from_be_bytes([ip[4], ip[5]])),
        _ => ip.len(),
    }
}

/// Where a fragment belongs: its datagram key, byte offset, more-fragments
/// flag and fragmentable bytes.
fn fragment<'a>(slice: &LaxIpSlice<'a>, ip: &'a [u8]) -> Option<(FragKey, usize, bool, &'a [u8])> {
    match slice {
        LaxIpSlice::Ipv4(v4) => {
            let h = v4.header();
            let key = FragKey {
                src: slice.source_addr(),
                dst: slice.destination_addr(),
                id: u32::from(h.identification()),
                proto: h.protocol().0,
            };
            Some((
                key,
                usize::from(h.fragments_offset().value()) * 8,
                h.more_fragments(),
                v4.payload().payload,
            ))
        }
        LaxIpSlice::Ipv6(v6) => {
            let frag = v6.extensions().clone().into_iter().find_map(|e| match e {
                etherparse::Ipv6ExtensionSlice::Fragment(f) => Some(f),
                _ => None,
            })?;
            // The fragmentable part starts right after the fragment header:
            // locate it inside the packet rather than trust how far the
            // extension walk went in the first fragment.
            let frag_bytes = frag.slice();
            let start = (frag_bytes.as_ptr() as usize)
                .checked_sub(ip.as_ptr() as usize)?
                .checked_add(frag_bytes.len())?;
            let end = claimed_ip_len(ip).min(ip.len());
            let key = FragKey {
                src: slice.source_addr(),
                dst: slice.destination_addr(),
                id: frag.identification(),
                proto: frag.next_header().0,
            };
            Some((
                key,
                usize::from(frag.fragment_offset().value()) * 8,
                frag.more_fragments(),
                ip.get(start..end)?,
            ))
        }
    }
}

/// Walks IPv6 extension headers that sit inside a reassembled payload (the
/// unfragmentable part was already walked) to the transport header.
fn skip_ipv6_extensions(mut next: u8, mut body: &[u8]) -> Option<(u8, &[u8])> {
    for _ in 0..16 {
        let len = match next {
            0 | 43 | 60 | 135 | 139 | 140 => (usize::from(*body.get(1)?) + 1) * 8,
            51 => (usize::from(*body.get(1)?) + 2) * 4,
            _ => return Some((next, body)),
        };
        next = *body.first()?;
        body = body.get(len..)?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// An IP packet from `src` to `dst` (both IPv4 or both IPv6) carrying a
    /// TCP or UDP header and `body`; IPv4 with `options` words of options
    /// and `frag` as its flags-and-offset field.
    fn ip_frame(
        src: (IpAddr, u16),
        dst: (IpAddr, u16),
        tcp: bool,
        options: usize,
        frag: u16,
        body: &[u8],
    ) -> Vec<u8> {
        let mut l4 = Vec::new();
        l4.extend_from_slice(&src.1.to_be_bytes());
        l4.extend_from_slice(&dst.1.to_be_bytes());
        if tcp {
            l4.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0]);
        } else {
            l4.extend_from_slice(&((8 + body.len()) as u16).to_be_bytes());
            l4.extend_from_slice(&[0, 0]);
        }
        l4.extend_from_slice(body);
        let proto = if tcp { 6 } else { 17 };
        match (src.0, dst.0) {
            (IpAddr::V4(a), IpAddr::V4(b)) => {
                let ihl = 20 + options * 4;
                let mut p = vec![0u8; ihl];
                p[0] = 0x40 | (ihl / 4) as u8;
                p[2..4].copy_from_slice(&((ihl + l4.len()) as u16).to_be_bytes());
                p[6..8].copy_from_slice(&frag.to_be_bytes());
                p[8] = 64;
                p[9] = proto;
                p[12..16].copy_from_slice(&a.octets());
                p[16..20].copy_from_slice(&b.octets());
                p.extend_from_slice(&l4);
                p
            }
            (IpAddr::V6(a), IpAddr::V6(b)) => {
                let mut p = vec![0u8; 40];
                p[0] = 0x60;
                p[4..6].copy_from_slice(&(l4.len() as u16).to_be_bytes());
                p[6] = proto;
                p[7] = 64;
                p[8..24].copy_from_slice(&a.octets());
                p[24..40].copy_from_slice(&b.octets());
                p.extend_from_slice(&l4);
                p
            }
            _ => unreachable!("one family"),
        }
    }

    fn raw(data: &[u8]) -> Frame<'_> {
        Frame {
            index: 1,
            ts: Timestamp::from_nanos(0),
            link: LinkType::RAW,
            interface: 0,
            data,
            orig_len: data.len() as u32,
        }
    }

    fn endpoints() -> impl Strategy<Value = ((IpAddr, u16), (IpAddr, u16))> {
        prop_oneof![
            (any::<[u8; 4]>(), any::<[u8; 4]>())
                .prop_map(|(a, b)| (IpAddr::from(a), IpAddr::from(b))),
            (any::<[u8; 16]>(), any::<[u8; 16]>())
                .prop_map(|(a, b)| (IpAddr::from(a), IpAddr::from(b))),
            // The same address both ways (a flow to itself).
            any::<[u8; 4]>().prop_map(|a| (IpAddr::from(a), IpAddr::from(a))),
        ]
        .prop_flat_map(|(a, b)| {
            (any::<u16>(), any::<u16>()).prop_map(move |(p, q)| ((a, p), (b, q)))
        })
    }

    proptest! {
        /// A whole TCP or UDP packet is placed from its headers with the
        /// pair hash and ports its decoded packet has, the same both ways;
        /// a fragment is left to the decoder.
        #[test]
        fn pair_place_agrees_with_the_decoder(
            (src, dst) in endpoints(),
            tcp in any::<bool>(),
            options in 0usize..4,
            df in any::<bool>(),
            body in proptest::collection::vec(any::<u8>(), 0..40),
        ) {
            let df = if df { 0x4000 } else { 0 };
            let fwd = ip_frame(src, dst, tcp, options, df, &body);
            let rev = ip_frame(dst, src, tcp, options, df, &body);
            let PairPlace::Whole { key: hash, ports } = pair_place(&raw(&fwd)) else {
                panic!("a whole packet");
            };
            prop_assert_eq!(ports, [src.1, dst.1]);
            let mut decoder = Decoder::default();
            let packet = decoder.decode(&raw(&fwd)).expect("decoded");
            prop_assert_eq!(packet.pair_key(), hash);
            let PairPlace::Whole { key: back, ports: back_ports } = pair_place(&raw(&rev)) else {
                panic!("a whole packet");
            };
            prop_assert_eq!(back, hash);
            prop_assert_eq!(back_ports, [dst.1, src.1]);
            let packet = decoder.decode(&raw(&rev)).expect("decoded");
            prop_assert_eq!(packet.pair_key(), hash);
            // The pair's hash, whatever the ports and transport.
            prop_assert_eq!(pair_hash(&raw(&fwd)), Some(packet.pair_hash()));
            let other = ip_frame((src.0, 7), (dst.0, 9), !tcp, options, df, &body);
            prop_assert_eq!(pair_place(&raw(&other)), PairPlace::Whole { key: hash, ports: [7, 9] });
            if src.0.is_ipv4() {
                for frag in [0x2000, 0x0001, 0x2010, 0x4000 | 0x2000] {
                    let f = ip_frame(src, dst, tcp, options, frag, &body);
                    prop_assert_eq!(pair_place(&raw(&f)), PairPlace::Decode);
                    prop_assert_eq!(pair_hash(&raw(&f)), Some(packet.pair_hash()));
                }
            }
        }
    }

    proptest! {
        /// Whatever the header says (lengths, flags, next header, options,
        /// bytes cut off): a frame placed whole never goes through
        /// reassembly, and a packet it gives has the ports and pair read
        /// from its headers.
        #[test]
        fn a_whole_frame_never_reaches_reassembly(
            v6 in any::<bool>(),
            head in proptest::collection::vec(any::<u8>(), 0..80),
            proto in prop_oneof![Just(6u8), Just(17u8), any::<u8>()],
            cut in 0usize..80,
        ) {
            let mut ip = head;
            if let Some(first) = ip.first_mut() {
                *first = if v6 { 0x60 | (*first & 0x0f) } else { 0x40 | (*first & 0x0f) };
            }
            let at = if v6 { 6 } else { 9 };
            if let Some(p) = ip.get_mut(at) {
                *p = proto;
            }
            ip.truncate(cut.max(1));
            let frame = raw(&ip);
            let mut decoder = Decoder::default();
            let placed = pair_place(&frame);
            let packet = decoder.decode(&frame);
            if let PairPlace::Whole { key, ports } = placed {
                if let Some(packet) = packet {
                    prop_assert_eq!(packet.pair_key(), key);
                    prop_assert_eq!(ports, [packet.transport.src_port(), packet.transport.dst_port()]);
                }
                prop_assert_eq!(decoder.stats().defrag.fragments, 0);
            }
        }
    }

    proptest! {
        /// Over Ethernet (untagged, VLAN-tagged, any ethertype), a frame
        /// is placed as its IP packet alone is: the fast path for untagged
        /// IPv4 gives what the general way gives.
        #[test]
        fn pair_place_over_ethernet_is_pair_place_of_the_packet(
            ip in proptest::collection::vec(any::<u8>(), 0..70),
            ihl in prop_oneof![Just(5u8), 0u8..16],
            v4 in any::<bool>(),
            frag in prop_oneof![Just(0u16), Just(0x4000), Just(0x2000), any::<u16>()],
            proto in prop_oneof![Just(6u8), Just(17u8), any::<u8>()],
            vlan in any::<bool>(),
            ethertype in prop_oneof![Just(0x0800u16), Just(0x86dd), any::<u16>()],
        ) {
            let mut ip = ip;
            if v4 && ip.len() >= 20 {
                ip[0] = 0x40 | ihl;
                ip[6..8].copy_from_slice(&frag.to_be_bytes());
                ip[9] = proto;
            }
            let mut eth = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
            if vlan {
                eth.extend_from_slice(&[0x81, 0x00, 0x00, 0x05]);
            }
            eth.extend_from_slice(&ethertype.to_be_bytes());
            eth.extend_from_slice(&ip);
            let framed = Frame { link: LinkType::ETHERNET, ..raw(&eth) };
            let alone = match ethertype {
                0x0800 | 0x86dd => pair_place(&raw(&ip)),
                _ => PairPlace::Decode,
            };
            prop_assert_eq!(pair_place(&framed), alone);
            let key = match alone {
                PairPlace::Whole { key, .. } => Some(key),
                PairPlace::Decode => None,
            };
            if let Some(key) = key {
                prop_assert_eq!(pair_key(&framed), Some(key));
            }
        }
    }

    /// What the decoder must see first: IPv6 extension headers (a fragment
    /// header, perhaps), other protocols, frames cut inside the ports,
    /// frames that are not IP.
    #[test]
    fn pair_place_leaves_the_rest_to_the_decoder() {
        let a = IpAddr::from([10, 0, 0, 1]);
        let b = IpAddr::from([10, 0, 0, 2]);
        let v4 = ip_frame((a, 1000), (b, 53), false, 0, 0, b"q");
        assert!(matches!(
            pair_place(&raw(&v4)),
            PairPlace::Whole {
                ports: [1000, 53],
                ..
            }
        ));
        let mut icmp = v4.clone();
        icmp[9] = 1;
        assert_eq!(pair_place(&raw(&icmp)), PairPlace::Decode);
        assert_eq!(pair_place(&raw(&v4[..21])), PairPlace::Decode);
        let mut bad_ihl = v4.clone();
        bad_ihl[0] = 0x44;
        assert_eq!(pair_place(&raw(&bad_ihl)), PairPlace::Decode);
        let (a6, b6) = (IpAddr::from([1u8; 16]), IpAddr::from([2u8; 16]));
        let v6 = ip_frame((a6, 1000), (b6, 443), true, 0, 0, b"");
        assert!(matches!(
            pair_place(&raw(&v6)),
            PairPlace::Whole {
                ports: [1000, 443],
                ..
            }
        ));
        for next in [0u8, 43, 44, 60, 58] {
            let mut ext = v6.clone();
            ext[6] = next;
            assert_eq!(
                pair_place(&raw(&ext)),
                PairPlace::Decode,
                "next header {next}"
            );
        }
        assert_eq!(pair_place(&raw(&v6[..43])), PairPlace::Decode);
        assert_eq!(pair_place(&raw(b"not ip at all")), PairPlace::Decode);
        let arp = Frame {
            link: LinkType::ETHERNET,
            ..raw(&[0u8; 42])
        };
        assert_eq!(pair_place(&arp), PairPlace::Decode);
    }

    /// Both directions of a pair land on one shard, and pairs spread over
    /// the shards evenly enough to keep every core busy.
    #[test]
    fn shards_are_symmetric_and_spread() {
        let mut counts = [0usize; 4];
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for i in 0..4000u32 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let (a, b) = (x.to_be_bytes(), x.rotate_left(17).to_be_bytes());
            let (fwd, rev) = if i % 2 == 0 {
                let mut f = vec![0x45u8; 20];
                f[12..16].copy_from_slice(&a[..4]);
                f[16..20].copy_from_slice(&b[..4]);
                let mut r = f.clone();
                r[12..16].copy_from_slice(&b[..4]);
                r[16..20].copy_from_slice(&a[..4]);
                (f, r)
            } else {
                let mut f = vec![0x60u8; 40];
                f[8..16].copy_from_slice(&a);
                f[16..24].copy_from_slice(&b);
                f[24..32].copy_from_slice(&b);
                f[32..40].copy_from_slice(&a);
                let mut r = f.clone();
                r[8..24].copy_from_slice(&f[24..40]);
                r[24..40].copy_from_slice(&f[8..24]);
                (f, r)
            };
            let h = pair_hash(&raw(&fwd)).unwrap();
            assert_eq!(Some(h), pair_hash(&raw(&rev)));
            let s = (h % 4) as usize;
            counts[s] += 1;
        }
        for c in counts {
            assert!((800..1200).contains(&c), "{counts:?}");
        }
    }

    fn frame(data: &[u8], link: LinkType, index: u64) -> Frame<'_> {
        Frame {
            index,
            ts: Timestamp::from_nanos(index as i64),
            link,
            interface: 0,
            data,
            orig_len: data.len() as u32,
        }
    }

    fn ipv4_udp_fragment(id: u16, offset8: u16, more: bool, payload: &[u8]) -> Vec<u8> {
        let total = 20 + payload.len();
        let flags_off = (if more { 0x2000 } else { 0 }) | offset8;
        let mut v = vec![0x45, 0];
        v.extend_from_slice(&(total as u16).to_be_bytes());
        v.extend_from_slice(&id.to_be_bytes());
        v.extend_from_slice(&flags_off.to_be_bytes());
        v.extend_from_slice(&[64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn ipv4_fragments_reassemble_out_of_order() {
        let mut udp = vec![0x30, 0x39, 0, 53, 0, 24, 0, 0];
        udp.extend_from_slice(b"0123456789abcdef");
        let f1 = ipv4_udp_fragment(7, 0, true, &udp[..16]);
        let f2 = ipv4_udp_fragment(7, 2, false, &udp[16..]);
        let mut d = Decoder::default();
        assert!(d.decode(&frame(&f2, LinkType::RAW, 1)).is_none());
        let p = d
            .decode(&frame(&f1, LinkType::RAW, 2))
            .expect("reassembled");
        assert_eq!(p.frame, 2);
        match p.transport {
            Transport::Udp(u) => {
                assert_eq!(u.dst_port, 53);
                assert_eq!(u.payload, b"0123456789abcdef");
            }
            _ => panic!("udp expected"),
        }
        assert_eq!(d.stats().defrag.reassembled, 1);
    }

    #[test]
    fn snaplen_cut_tcp_reports_wire_length() {
        let mut ip = vec![
            0x45, 0, 0, 60, 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        let mut tcp = vec![0u8; 20];
        tcp[0..2].copy_from_slice(&1234u16.to_be_bytes());
        tcp[2..4].copy_from_slice(&80u16.to_be_bytes());
        tcp[12] = 5 << 4;
        tcp[13] = TcpFlags::ACK | TcpFlags::PSH;
        ip.extend_from_slice(&tcp);
        ip.extend_from_slice(b"GET ");
        let mut f = frame(&ip, LinkType::RAW, 1);
        f.orig_len = 60;
        let mut d = Decoder::default();
        let p = d.decode(&f).unwrap();
        let Transport::Tcp(t) = p.transport else {
            panic!()
        };
        assert_eq!(t.payload, b"GET ");
        assert_eq!(t.wire_len, 20);
        assert!(t.flags.has(TcpFlags::ACK));
        assert_eq!(d.stats().truncated_frames, 1);
    }

    #[test]
    fn garbage_is_counted_not_fatal() {
        let mut d = Decoder::default();
        let mut x: u32 = 0x1234_5678;
        for len in 0..300usize {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    x as u8
                })
                .collect();
            for link in [
                LinkType::ETHERNET,
                LinkType::RAW,
                LinkType::LINUX_SLL2,
                LinkType::NFLOG,
            ] {
                let _ = d.decode(&frame(&bytes, link, len as u64));
            }
        }
        assert!(d.stats().malformed > 0);
    }
}
