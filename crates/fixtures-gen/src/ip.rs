//! IPv4 and IPv6 packets carrying TCP or UDP, with real checksums, and IP
//! fragmentation for both versions.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::ops::BitOr;

/// IP protocol number of TCP.
pub const PROTO_TCP: u8 = 6;
/// IP protocol number of UDP.
pub const PROTO_UDP: u8 = 17;
/// IPv6 next-header value of the Fragment extension header.
pub const PROTO_IPV6_FRAGMENT: u8 = 44;

const TTL: u8 = 64;

/// TCP header flags, combined with `|`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    /// No more data from sender.
    pub const FIN: TcpFlags = TcpFlags(0x01);
    /// Synchronize sequence numbers.
    pub const SYN: TcpFlags = TcpFlags(0x02);
    /// Reset the connection.
    pub const RST: TcpFlags = TcpFlags(0x04);
    /// Push buffered data to the application.
    pub const PSH: TcpFlags = TcpFlags(0x08);
    /// The acknowledgment field is significant.
    pub const ACK: TcpFlags = TcpFlags(0x10);

    /// Whether every flag of `other` is set in `self`.
    pub fn contains(self, other: TcpFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl BitOr for TcpFlags {
    type Output = TcpFlags;
    fn bitor(self, rhs: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 | rhs.0)
    }
}

/// The fields of a TCP header that fixtures vary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpHeaderSpec {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgment number (written whatever the flags say).
    pub ack: u32,
    /// Flags.
    pub flags: TcpFlags,
    /// Receive window.
    pub window: u16,
    /// Raw option bytes, padded with zeros (end of option list) to 32 bits.
    pub options: Vec<u8>,
}

/// Folds a sum of 16-bit words into the one's complement checksum.
fn fold(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn sum_words(data: &[u8]) -> u32 {
    let mut sum = 0u32;
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum = sum.wrapping_add(u32::from(u16::from_be_bytes([c[0], c[1]])));
    }
    if let [last] = chunks.remainder() {
        sum = sum.wrapping_add(u32::from(*last) << 8);
    }
    sum
}

/// The Internet checksum (RFC 1071) of `data`.
pub fn internet_checksum(data: &[u8]) -> u16 {
    fold(sum_words(data))
}

fn pseudo_header_sum(src: IpAddr, dst: IpAddr, protocol: u8, len: usize) -> u32 {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let mut p = Vec::with_capacity(12);
            p.extend_from_slice(&s.octets());
            p.extend_from_slice(&d.octets());
            p.push(0);
            p.push(protocol);
            p.extend_from_slice(&u16::try_from(len).expect("fits IPv4").to_be_bytes());
            sum_words(&p)
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            let mut p = Vec::with_capacity(40);
            p.extend_from_slice(&s.octets());
            p.extend_from_slice(&d.octets());
            p.extend_from_slice(&u32::try_from(len).expect("fits IPv6").to_be_bytes());
            p.extend_from_slice(&[0, 0, 0, protocol]);
            sum_words(&p)
        }
        _ => panic!("source and destination must be the same IP version"),
    }
}

/// The checksum of a transport segment (`segment` with its checksum field
/// zeroed) under the IPv4 or IPv6 pseudo-header.
pub fn transport_checksum(src: IpAddr, dst: IpAddr, protocol: u8, segment: &[u8]) -> u16 {
    let sum = pseudo_header_sum(src, dst, protocol, segment.len());
    let total = u64::from(sum) + u64::from(sum_words(segment));
    let mut s = total;
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    fold(u32::try_from(s).expect("folded"))
}

/// A TCP header plus payload with its checksum set.
pub fn tcp_segment(src: IpAddr, dst: IpAddr, hdr: &TcpHeaderSpec, payload: &[u8]) -> Vec<u8> {
    let mut options = hdr.options.clone();
    while !options.len().is_multiple_of(4) {
        options.push(0);
    }
    assert!(options.len() <= 40, "TCP options longer than 40 bytes");
    let hlen = 20 + options.len();
    let mut s = Vec::with_capacity(hlen + payload.len());
    s.extend_from_slice(&hdr.src_port.to_be_bytes());
    s.extend_from_slice(&hdr.dst_port.to_be_bytes());
    s.extend_from_slice(&hdr.seq.to_be_bytes());
    s.extend_from_slice(&hdr.ack.to_be_bytes());
    s.push(u8::try_from(hlen / 4).expect("small") << 4);
    s.push(hdr.flags.0);
    s.extend_from_slice(&hdr.window.to_be_bytes());
    s.extend_from_slice(&[0, 0, 0, 0]);
    s.extend_from_slice(&options);
    s.extend_from_slice(payload);
    let c = transport_checksum(src, dst, PROTO_TCP, &s);
    s[16..18].copy_from_slice(&c.to_be_bytes());
    s
}

/// A UDP header plus payload with its checksum set.
pub fn udp_datagram(src: SocketAddr, dst: SocketAddr, payload: &[u8]) -> Vec<u8> {
    let len = 8 + payload.len();
    let mut s = Vec::with_capacity(len);
    s.extend_from_slice(&src.port().to_be_bytes());
    s.extend_from_slice(&dst.port().to_be_bytes());
    s.extend_from_slice(
        &u16::try_from(len)
            .expect("UDP datagram too long")
            .to_be_bytes(),
    );
    s.extend_from_slice(&[0, 0]);
    s.extend_from_slice(payload);
    let mut c = transport_checksum(src.ip(), dst.ip(), PROTO_UDP, &s);
    // Zero means "no checksum" in UDP, so a computed zero is sent as all ones.
    if c == 0 {
        c = 0xffff;
    }
    s[6..8].copy_from_slice(&c.to_be_bytes());
    s
}

fn ipv4_header(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    protocol: u8,
    ident: u16,
    flags_frag: u16,
    payload_len: usize,
) -> Vec<u8> {
    let total = u16::try_from(20 + payload_len).expect("IPv4 packet too long");
    let mut h = Vec::with_capacity(20);
    h.push(0x45);
    h.push(0);
    h.extend_from_slice(&total.to_be_bytes());
    h.extend_from_slice(&ident.to_be_bytes());
    h.extend_from_slice(&flags_frag.to_be_bytes());
    h.push(TTL);
    h.push(protocol);
    h.extend_from_slice(&[0, 0]);
    h.extend_from_slice(&src.octets());
    h.extend_from_slice(&dst.octets());
    let c = internet_checksum(&h);
    h[10..12].copy_from_slice(&c.to_be_bytes());
    h
}

fn ipv6_header(src: Ipv6Addr, dst: Ipv6Addr, next_header: u8, payload_len: usize) -> Vec<u8> {
    let mut h = Vec::with_capacity(40);
    h.extend_from_slice(&[0x60, 0, 0, 0]);
    h.extend_from_slice(
        &u16::try_from(payload_len)
            .expect("IPv6 payload too long")
            .to_be_bytes(),
    );
    h.push(next_header);
    h.push(TTL);
    h.extend_from_slice(&src.octets());
    h.extend_from_slice(&dst.octets());
    h
}

/// An unfragmented IP packet. IPv4 packets get the Don't Fragment bit and
/// `ident`; IPv6 has no identification outside fragments, so it is ignored.
pub fn ip_packet(src: IpAddr, dst: IpAddr, protocol: u8, ident: u16, payload: &[u8]) -> Vec<u8> {
    let mut p = match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => ipv4_header(s, d, protocol, ident, 0x4000, payload.len()),
        (IpAddr::V6(s), IpAddr::V6(d)) => ipv6_header(s, d, protocol, payload.len()),
        _ => panic!("source and destination must be the same IP version"),
    };
    p.extend_from_slice(payload);
    p
}

/// A whole UDP/IP packet.
pub fn udp_packet(src: SocketAddr, dst: SocketAddr, ident: u16, payload: &[u8]) -> Vec<u8> {
    ip_packet(
        src.ip(),
        dst.ip(),
        PROTO_UDP,
        ident,
        &udp_datagram(src, dst, payload),
    )
}

/// A whole TCP/IP packet; the ports of `hdr` are replaced by those of `src`
/// and `dst`.
pub fn tcp_packet(
    src: SocketAddr,
    dst: SocketAddr,
    ident: u16,
    hdr: &TcpHeaderSpec,
    payload: &[u8],
) -> Vec<u8> {
    let mut h = hdr.clone();
    h.src_port = src.port();
    h.dst_port = dst.port();
    ip_packet(
        src.ip(),
        dst.ip(),
        PROTO_TCP,
        ident,
        &tcp_segment(src.ip(), dst.ip(), &h, payload),
    )
}

fn check_splits(len: usize, split_at: &[usize]) -> Vec<(usize, usize)> {
    let mut bounds = vec![0];
    for &s in split_at {
        assert!(
            s.is_multiple_of(8),
            "fragment offsets must be multiples of 8 bytes"
        );
        assert!(
            s > *bounds.last().expect("nonempty") && s < len,
            "split points must increase inside the payload"
        );
        bounds.push(s);
    }
    bounds.push(len);
    bounds.windows(2).map(|w| (w[0], w[1])).collect()
}

/// Splits an IPv4 payload (a transport header and its data, checksum already
/// computed over the whole) into fragments starting at each offset of
/// `split_at` (bytes, multiples of 8), in offset order.
pub fn ipv4_fragments(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    protocol: u8,
    ident: u16,
    payload: &[u8],
    split_at: &[usize],
) -> Vec<Vec<u8>> {
    let pieces = check_splits(payload.len(), split_at);
    let n = pieces.len();
    pieces
        .into_iter()
        .enumerate()
        .map(|(i, (a, b))| {
            let more = if i + 1 < n { 0x2000 } else { 0 };
            let off = u16::try_from(a / 8).expect("offset fits 13 bits");
            let mut p = ipv4_header(src, dst, protocol, ident, more | off, b - a);
            p.extend_from_slice(&payload[a..b]);
            p
        })
        .collect()
}

/// Splits an IPv6 payload into fragments, each an IPv6 header followed by a
/// Fragment extension header (next header `next_header`, id `ident`).
pub fn ipv6_fragments(
    src: Ipv6Addr,
    dst: Ipv6Addr,
    next_header: u8,
    ident: u32,
    payload: &[u8],
    split_at: &[usize],
) -> Vec<Vec<u8>> {
    let pieces = check_splits(payload.len(), split_at);
    let n = pieces.len();
    pieces
        .into_iter()
        .enumerate()
        .map(|(i, (a, b))| {
            let more = u16::from(i + 1 < n);
            let off = u16::try_from(a / 8).expect("offset fits 13 bits");
            let mut p = ipv6_header(src, dst, PROTO_IPV6_FRAGMENT, 8 + b - a);
            p.push(next_header);
            p.push(0);
            p.extend_from_slice(&((off << 3) | more).to_be_bytes());
            p.extend_from_slice(&ident.to_be_bytes());
            p.extend_from_slice(&payload[a..b]);
            p
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::{NetSlice, SlicedPacket, TransportSlice};

    fn v4(a: [u8; 4], port: u16) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::from(a), port))
    }

    fn v6(last: u16, port: u16) -> SocketAddr {
        SocketAddr::from((Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, last), port))
    }

    fn spec(flags: TcpFlags) -> TcpHeaderSpec {
        TcpHeaderSpec {
            src_port: 0,
            dst_port: 0,
            seq: 0x0102_0304,
            ack: 0x0a0b_0c0d,
            flags,
            window: 64240,
            options: vec![2, 4, 0x05, 0xb4],
        }
    }

    #[test]
    fn rfc1071_example() {
        assert_eq!(
            internet_checksum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            !0xddf2
        );
    }

    #[test]
    fn ipv4_tcp_checksums_verify_with_etherparse() {
        let (c, s) = (v4([192, 168, 1, 23], 40000), v4([220, 181, 90, 14], 80));
        let p = tcp_packet(
            c,
            s,
            7,
            &spec(TcpFlags::PSH | TcpFlags::ACK),
            b"GET / HTTP/1.1\r\n\r\n!",
        );
        let sliced = SlicedPacket::from_ip(&p).expect("parses");
        let Some(NetSlice::Ipv4(ip)) = &sliced.net else {
            panic!("not IPv4")
        };
        let h = ip.header().to_header();
        assert_eq!(h.header_checksum, h.calc_header_checksum());
        assert!(h.dont_fragment);
        assert_eq!(h.identification, 7);
        let Some(TransportSlice::Tcp(tcp)) = &sliced.transport else {
            panic!("not TCP")
        };
        assert_eq!(
            tcp.checksum(),
            tcp.calc_checksum_ipv4(h.source, h.destination).unwrap()
        );
        assert_eq!(tcp.sequence_number(), 0x0102_0304);
        assert_eq!(tcp.payload(), b"GET / HTTP/1.1\r\n\r\n!");
        assert!(tcp.psh() && tcp.ack() && !tcp.syn());
    }

    #[test]
    fn ipv6_tcp_and_udp_checksums_verify_with_etherparse() {
        let (c, s) = (v6(1, 40000), v6(2, 443));
        let p = tcp_packet(c, s, 0, &spec(TcpFlags::SYN), b"");
        let sliced = SlicedPacket::from_ip(&p).expect("parses");
        let Some(NetSlice::Ipv6(ip)) = &sliced.net else {
            panic!("not IPv6")
        };
        let (src, dst) = (ip.header().source(), ip.header().destination());
        let Some(TransportSlice::Tcp(tcp)) = &sliced.transport else {
            panic!("not TCP")
        };
        assert_eq!(tcp.checksum(), tcp.calc_checksum_ipv6(src, dst).unwrap());

        let u = udp_packet(v6(1, 5353), v6(2, 53), 0, b"odd");
        let sliced = SlicedPacket::from_ip(&u).expect("parses");
        let Some(TransportSlice::Udp(udp)) = &sliced.transport else {
            panic!("not UDP")
        };
        let want = udp
            .to_header()
            .calc_checksum_ipv6_raw(src, dst, udp.payload())
            .unwrap();
        assert_eq!(udp.checksum(), want);
    }

    #[test]
    fn ipv4_udp_checksum_verifies() {
        let u = udp_packet(v4([10, 0, 0, 1], 1), v4([10, 0, 0, 2], 53), 1, b"hello");
        let sliced = SlicedPacket::from_ip(&u).expect("parses");
        let Some(TransportSlice::Udp(udp)) = &sliced.transport else {
            panic!("not UDP")
        };
        let want = udp
            .to_header()
            .calc_checksum_ipv4_raw([10, 0, 0, 1], [10, 0, 0, 2], udp.payload())
            .unwrap();
        assert_eq!(udp.checksum(), want);
    }

    #[test]
    fn ipv4_fragments_reassemble() {
        let (c, s) = (v4([10, 0, 0, 1], 53), v4([10, 0, 0, 2], 5000));
        let body: Vec<u8> = (0..100u8).collect();
        let dgram = udp_datagram(c, s, &body);
        let frags = ipv4_fragments(
            Ipv4Addr::new(10, 0, 0, 1),
            Ipv4Addr::new(10, 0, 0, 2),
            PROTO_UDP,
            0x1234,
            &dgram,
            &[32, 64],
        );
        assert_eq!(frags.len(), 3);
        let mut joined = Vec::new();
        for (i, f) in frags.iter().enumerate() {
            let sliced = SlicedPacket::from_ip(f).expect("parses");
            let Some(NetSlice::Ipv4(ip)) = &sliced.net else {
                panic!()
            };
            let h = ip.header().to_header();
            assert_eq!(h.header_checksum, h.calc_header_checksum());
            assert_eq!(h.identification, 0x1234);
            assert_eq!(h.more_fragments, i < 2);
            assert_eq!(h.fragment_offset.byte_offset() as usize, [0, 32, 64][i]);
            joined.extend_from_slice(&f[20..]);
        }
        assert_eq!(joined, dgram);
    }

    #[test]
    fn ipv6_fragments_carry_fragment_header() {
        let (c, s) = (v6(53, 53), v6(9, 5000));
        let dgram = udp_datagram(c, s, &[0xab; 60]);
        let IpAddr::V6(a) = c.ip() else {
            unreachable!()
        };
        let IpAddr::V6(b) = s.ip() else {
            unreachable!()
        };
        let frags = ipv6_fragments(a, b, PROTO_UDP, 0xdead_beef, &dgram, &[48]);
        assert_eq!(frags.len(), 2);
        let sliced = SlicedPacket::from_ip(&frags[1]).expect("parses");
        assert!(sliced.is_ip_payload_fragmented());
        assert_eq!(frags[0][6], PROTO_IPV6_FRAGMENT);
        assert_eq!(&frags[0][40..48], &[17, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(&frags[1][40..48], &[17, 0, 0, 48, 0xde, 0xad, 0xbe, 0xef]);
        let mut joined = frags[0][48..].to_vec();
        joined.extend_from_slice(&frags[1][48..]);
        assert_eq!(joined, dgram);
    }
}
