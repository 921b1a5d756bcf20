//! Link-layer framing: the headers each capture link type puts before an IP
//! packet.

use crate::pcap::Endian;

/// `LINKTYPE_NULL`: BSD loopback, 4-byte address family in the writer's byte order.
pub const DLT_NULL: u32 = 0;
/// `LINKTYPE_ETHERNET`.
pub const DLT_EN10MB: u32 = 1;
/// `LINKTYPE_RAW`: raw IPv4 or IPv6, told apart by the version nibble.
pub const DLT_RAW: u32 = 101;
/// `LINKTYPE_LOOP`: OpenBSD loopback, 4-byte address family in network byte order.
pub const DLT_LOOP: u32 = 108;
/// `LINKTYPE_LINUX_SLL`: Linux cooked capture v1 (16-byte header).
pub const DLT_LINUX_SLL: u32 = 113;
/// `LINKTYPE_USER0`: private use; no reader can decode it.
pub const DLT_USER0: u32 = 147;
/// `LINKTYPE_IPV4`: raw IPv4 only.
pub const DLT_IPV4: u32 = 228;
/// `LINKTYPE_IPV6`: raw IPv6 only.
pub const DLT_IPV6: u32 = 229;
/// `LINKTYPE_LINUX_SLL2`: Linux cooked capture v2 (20-byte header).
pub const DLT_LINUX_SLL2: u32 = 276;

/// Minimum Ethernet frame length without the FCS.
pub const ETHERNET_MIN_FRAME: usize = 60;
/// EtherType of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// EtherType of IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
/// Tag protocol identifier of an 802.1Q (customer) VLAN tag.
pub const TPID_8021Q: u16 = 0x8100;
/// Tag protocol identifier of an 802.1ad (service, outer QinQ) VLAN tag.
pub const TPID_8021AD: u16 = 0x88a8;

/// `AF_INET` on every BSD and Linux.
pub const AF_INET: u32 = 2;
/// `AF_INET6` on OpenBSD and NetBSD.
pub const AF_INET6_OPENBSD: u32 = 24;
/// `AF_INET6` on FreeBSD.
pub const AF_INET6_FREEBSD: u32 = 28;
/// `AF_INET6` on macOS and iOS.
pub const AF_INET6_DARWIN: u32 = 30;

/// Which way a packet travels, seen from the capturing host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Sent by the capturing host (the client in these fixtures).
    Outbound,
    /// Received by the capturing host.
    Inbound,
}

impl Direction {
    /// The other way.
    pub fn reverse(self) -> Self {
        match self {
            Direction::Outbound => Direction::Inbound,
            Direction::Inbound => Direction::Outbound,
        }
    }
}

/// One VLAN tag: its TPID and the tag control information fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VlanTag {
    /// [`TPID_8021AD`] for a service (outer) tag, [`TPID_8021Q`] for a customer tag.
    pub tpid: u16,
    /// Priority code point (0–7).
    pub pcp: u8,
    /// VLAN identifier (0–4095).
    pub vid: u16,
}

/// EtherType for an IP packet, from its version nibble.
pub fn ethertype_of(ip_packet: &[u8]) -> u16 {
    match ip_packet.first().map(|b| b >> 4) {
        Some(6) => ETHERTYPE_IPV6,
        _ => ETHERTYPE_IPV4,
    }
}

/// An Ethernet II frame, with VLAN tags stacked outermost first.
pub fn ethernet(
    dst: [u8; 6],
    src: [u8; 6],
    vlans: &[VlanTag],
    ethertype: u16,
    payload: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(14 + 4 * vlans.len() + payload.len());
    out.extend_from_slice(&dst);
    out.extend_from_slice(&src);
    for tag in vlans {
        out.extend_from_slice(&tag.tpid.to_be_bytes());
        let tci = (u16::from(tag.pcp & 7) << 13) | (tag.vid & 0x0fff);
        out.extend_from_slice(&tci.to_be_bytes());
    }
    out.extend_from_slice(&ethertype.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// SLL packet type: addressed to this host.
pub const SLL_HOST: u16 = 0;
/// SLL packet type: sent by this host.
pub const SLL_OUTGOING: u16 = 4;
/// ARPHRD type of Ethernet.
pub const ARPHRD_ETHER: u16 = 1;

/// A Linux cooked v1 header (16 bytes) before `payload`; `addr` is the
/// sender's link address (up to 8 bytes are kept).
pub fn sll(packet_type: u16, arphrd: u16, addr: &[u8], protocol: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + payload.len());
    out.extend_from_slice(&packet_type.to_be_bytes());
    out.extend_from_slice(&arphrd.to_be_bytes());
    let n = addr.len().min(8);
    out.extend_from_slice(&u16::try_from(addr.len()).unwrap_or(u16::MAX).to_be_bytes());
    let mut a = [0u8; 8];
    a[..n].copy_from_slice(&addr[..n]);
    out.extend_from_slice(&a);
    out.extend_from_slice(&protocol.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// A Linux cooked v2 header (20 bytes) before `payload`.
pub fn sll2(
    protocol: u16,
    ifindex: u32,
    arphrd: u16,
    packet_type: u8,
    addr: &[u8],
    payload: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(20 + payload.len());
    out.extend_from_slice(&protocol.to_be_bytes());
    out.extend_from_slice(&0u16.to_be_bytes());
    out.extend_from_slice(&ifindex.to_be_bytes());
    out.extend_from_slice(&arphrd.to_be_bytes());
    out.push(packet_type);
    let n = addr.len().min(8);
    out.push(u8::try_from(addr.len()).unwrap_or(u8::MAX));
    let mut a = [0u8; 8];
    a[..n].copy_from_slice(&addr[..n]);
    out.extend_from_slice(&a);
    out.extend_from_slice(payload);
    out
}

/// A BSD NULL header: the address family as 4 bytes in the byte order of
/// the host that wrote the file (so, of the file itself).
pub fn null(af: u32, endian: Endian, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + payload.len());
    endian.put_u32(&mut out, af);
    out.extend_from_slice(payload);
    out
}

/// An OpenBSD LOOP header: the address family in network byte order.
pub fn loop_header(af: u32, payload: &[u8]) -> Vec<u8> {
    null(af, Endian::Big, payload)
}

/// How to put IP packets on a link: one value per capture link type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Framing {
    /// Ethernet II between the capturing host and its gateway, with optional VLAN tags.
    Ethernet {
        /// MAC address of the capturing host.
        host: [u8; 6],
        /// MAC address of the peer (gateway).
        peer: [u8; 6],
        /// VLAN tags, outermost first.
        vlans: Vec<VlanTag>,
    },
    /// Linux cooked v1, sender address = `host` for outbound, `peer` for inbound.
    Sll {
        /// MAC address of the capturing host.
        host: [u8; 6],
        /// MAC address of the peer.
        peer: [u8; 6],
    },
    /// Linux cooked v2 on interface `ifindex`.
    Sll2 {
        /// MAC address of the capturing host.
        host: [u8; 6],
        /// MAC address of the peer.
        peer: [u8; 6],
        /// Interface index recorded in every header.
        ifindex: u32,
    },
    /// `LINKTYPE_RAW` (101).
    Raw,
    /// `LINKTYPE_IPV4` (228).
    RawIpv4,
    /// `LINKTYPE_IPV6` (229).
    RawIpv6,
    /// BSD NULL (0) with the given file byte order and `AF_INET6` value.
    Null {
        /// Byte order of the family word (the file's byte order).
        endian: Endian,
        /// Value used for IPv6 packets (24, 28 or 30).
        af_inet6: u32,
    },
    /// OpenBSD LOOP (108) with the given `AF_INET6` value.
    Loop {
        /// Value used for IPv6 packets (24, 28 or 30).
        af_inet6: u32,
    },
    /// Ethernet frames stored under a link type no reader decodes.
    Opaque {
        /// The link type written to the file header.
        linktype: u32,
        /// MAC address of the capturing host.
        host: [u8; 6],
        /// MAC address of the peer.
        peer: [u8; 6],
    },
}

impl Framing {
    /// Plain Ethernet between the two addresses.
    pub fn ethernet(host: [u8; 6], peer: [u8; 6]) -> Self {
        Framing::Ethernet {
            host,
            peer,
            vlans: Vec::new(),
        }
    }

    /// The link type number for file headers.
    pub fn linktype(&self) -> u32 {
        match self {
            Framing::Ethernet { .. } => DLT_EN10MB,
            Framing::Sll { .. } => DLT_LINUX_SLL,
            Framing::Sll2 { .. } => DLT_LINUX_SLL2,
            Framing::Raw => DLT_RAW,
            Framing::RawIpv4 => DLT_IPV4,
            Framing::RawIpv6 => DLT_IPV6,
            Framing::Null { .. } => DLT_NULL,
            Framing::Loop { .. } => DLT_LOOP,
            Framing::Opaque { linktype, .. } => *linktype,
        }
    }

    /// Frames one IP packet travelling in `dir`.
    pub fn frame(&self, dir: Direction, ip: &[u8]) -> Vec<u8> {
        let ethertype = ethertype_of(ip);
        let is_v6 = ethertype == ETHERTYPE_IPV6;
        match self {
            Framing::Ethernet { host, peer, vlans } => {
                let (src, dst) = ends(dir, *host, *peer);
                let mut f = ethernet(dst, src, vlans, ethertype, ip);
                // A NIC hands over received runts padded to the 60-byte
                // minimum while locally sent frames are captured unpadded, so
                // readers must trust IP lengths, not frame lengths.
                if dir == Direction::Inbound && f.len() < ETHERNET_MIN_FRAME {
                    f.resize(ETHERNET_MIN_FRAME, 0);
                }
                f
            }
            Framing::Opaque { host, peer, .. } => {
                let (src, dst) = ends(dir, *host, *peer);
                ethernet(dst, src, &[], ethertype, ip)
            }
            Framing::Sll { host, peer } => {
                let (src, _) = ends(dir, *host, *peer);
                sll(sll_type(dir), ARPHRD_ETHER, &src, ethertype, ip)
            }
            Framing::Sll2 {
                host,
                peer,
                ifindex,
            } => {
                let (src, _) = ends(dir, *host, *peer);
                let pt = u8::try_from(sll_type(dir)).expect("small");
                sll2(ethertype, *ifindex, ARPHRD_ETHER, pt, &src, ip)
            }
            Framing::Raw | Framing::RawIpv4 | Framing::RawIpv6 => ip.to_vec(),
            Framing::Null { endian, af_inet6 } => {
                let af = if is_v6 { *af_inet6 } else { AF_INET };
                null(af, *endian, ip)
            }
            Framing::Loop { af_inet6 } => {
                let af = if is_v6 { *af_inet6 } else { AF_INET };
                loop_header(af, ip)
            }
        }
    }
}

fn ends(dir: Direction, host: [u8; 6], peer: [u8; 6]) -> ([u8; 6], [u8; 6]) {
    match dir {
        Direction::Outbound => (host, peer),
        Direction::Inbound => (peer, host),
    }
}

fn sll_type(dir: Direction) -> u16 {
    match dir {
        Direction::Outbound => SLL_OUTGOING,
        Direction::Inbound => SLL_HOST,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: [u8; 6] = [2, 0, 0, 0, 0, 1];
    const B: [u8; 6] = [2, 0, 0, 0, 0, 2];

    #[test]
    fn qinq_tags_in_order() {
        let f = ethernet(
            B,
            A,
            &[
                VlanTag {
                    tpid: TPID_8021AD,
                    pcp: 0,
                    vid: 100,
                },
                VlanTag {
                    tpid: TPID_8021Q,
                    pcp: 5,
                    vid: 200,
                },
            ],
            ETHERTYPE_IPV4,
            &[0x45],
        );
        assert_eq!(
            &f[12..],
            &[
                0x88, 0xa8, 0x00, 100, 0x81, 0x00, 0xa0, 200, 0x08, 0x00, 0x45
            ]
        );
    }

    #[test]
    fn sll_header_is_16_bytes() {
        let f = sll(SLL_OUTGOING, ARPHRD_ETHER, &A, ETHERTYPE_IPV4, &[0x45]);
        assert_eq!(
            f,
            vec![0, 4, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x08, 0x00, 0x45]
        );
    }

    #[test]
    fn sll2_header_is_20_bytes() {
        let f = sll2(ETHERTYPE_IPV6, 3, ARPHRD_ETHER, 0, &B, &[0x60]);
        assert_eq!(
            f,
            vec![
                0x86, 0xdd, 0, 0, 0, 0, 0, 3, 0, 1, 0, 6, 2, 0, 0, 0, 0, 2, 0, 0, 0x60
            ]
        );
    }

    #[test]
    fn null_and_loop_byte_orders() {
        let v6 = [0x60u8];
        let n = Framing::Null {
            endian: Endian::Little,
            af_inet6: AF_INET6_DARWIN,
        };
        assert_eq!(n.frame(Direction::Outbound, &v6), vec![30, 0, 0, 0, 0x60]);
        assert_eq!(
            n.frame(Direction::Outbound, &[0x45]),
            vec![2, 0, 0, 0, 0x45]
        );
        let l = Framing::Loop {
            af_inet6: AF_INET6_OPENBSD,
        };
        assert_eq!(l.frame(Direction::Inbound, &v6), vec![0, 0, 0, 24, 0x60]);
        assert_eq!(l.linktype(), DLT_LOOP);
    }

    #[test]
    fn ethernet_direction_swaps_addresses() {
        let f = Framing::ethernet(A, B);
        let out = f.frame(Direction::Outbound, &[0x45]);
        assert_eq!(&out[0..6], &B);
        assert_eq!(&out[6..12], &A);
        let inb = f.frame(Direction::Inbound, &[0x45]);
        assert_eq!(&inb[0..6], &A);
        assert_eq!(inb.len(), ETHERNET_MIN_FRAME);
        assert_eq!(out.len(), 15);
    }
}
