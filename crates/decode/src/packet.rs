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
/// for a frame that is not IP. For splitting one capture across threads:
/// frames between the same two addresses (both directions, every port,
/// every fragment) share it, so flows and fragment reassembly stay whole.
/// Only the link header and the IP addresses are read.
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
    let Network::Ip(ip) = link::network(frame.link, frame.data) else {
        return None;
    };
    // The pair in a fixed order (either direction gives the same hash),
    // then a multiply-xorshift mix: stable across runs and platforms, so
    // shards (and anything that depends on them) are reproducible. Integer
    // compares: comparing the address bytes as slices went through memcmp
    // on every packet of every shard.
    let word =
        |b: &[u8], at: usize| u64::from_be_bytes(b[at..at + 8].try_into().expect("eight bytes"));
    let (lo, hi) = match ip.first().map(|v| v >> 4) {
        Some(4) if ip.len() >= 20 => {
            let a = u64::from(u32::from_be_bytes([ip[12], ip[13], ip[14], ip[15]]));
            let b = u64::from(u32::from_be_bytes([ip[16], ip[17], ip[18], ip[19]]));
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            (lo << 32 | hi, 0)
        }
        Some(6) if ip.len() >= 40 => {
            let a = (word(ip, 8), word(ip, 16));
            let b = (word(ip, 24), word(ip, 32));
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            (lo.0 ^ hi.0.rotate_left(29), lo.1 ^ hi.1.rotate_left(43))
        }
        _ => return None,
    };
    let mut h = lo.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ hi;
    h ^= h >> 31;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 29;
    Some(h)
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

    /// Both directions of a pair land on one shard, and pairs spread over
    /// the shards evenly enough to keep every core busy.
    #[test]
    fn shards_are_symmetric_and_spread() {
        fn frame(data: &[u8]) -> Frame<'_> {
            Frame {
                index: 1,
                ts: Timestamp::from_nanos(0),
                link: LinkType::RAW,
                interface: 0,
                data,
                orig_len: data.len() as u32,
            }
        }
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
            let h = pair_hash(&frame(&fwd)).unwrap();
            assert_eq!(Some(h), pair_hash(&frame(&rev)));
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
