//! Link-layer headers: find the network-layer packet inside a frame.

use crate::LinkType;

/// What a link-layer header said was inside it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Network<'a> {
    /// An IPv4 or IPv6 packet (the version nibble tells which).
    Ip(&'a [u8]),
    /// A protocol we do not analyse (ARP, LLDP, 802.3 frames, ...).
    NotIp,
    /// The header is cut short or inconsistent.
    Malformed,
    /// A link type this decoder does not know.
    UnsupportedLink,
}

const ETH_IPV4: u16 = 0x0800;
const ETH_IPV6: u16 = 0x86dd;
const ETH_VLAN: u16 = 0x8100;
const ETH_QINQ: u16 = 0x88a8;
const ETH_QINQ_OLD: [u16; 3] = [0x9100, 0x9200, 0x9300];
const ETH_PPPOE_SESSION: u16 = 0x8864;
/// More tags than any real network stacks; a frame claiming more is malformed.
const MAX_VLAN_TAGS: usize = 8;

#[inline]
pub(crate) fn network(link: LinkType, data: &[u8]) -> Network<'_> {
    match link {
        LinkType::ETHERNET => ethernet(data),
        LinkType::RAW | LinkType(12) | LinkType(14) | LinkType::IPV4 | LinkType::IPV6 => {
            Network::Ip(data)
        }
        LinkType::NULL => {
            let Some(af) = data.get(..4) else {
                return Network::Malformed;
            };
            // Host byte order of the capturing machine: accept either.
            let le = u32::from_le_bytes([af[0], af[1], af[2], af[3]]);
            let be = u32::from_be_bytes([af[0], af[1], af[2], af[3]]);
            if is_bsd_af_inet(le) || is_bsd_af_inet(be) {
                Network::Ip(&data[4..])
            } else {
                Network::NotIp
            }
        }
        LinkType::LOOP => {
            let Some(af) = data.get(..4) else {
                return Network::Malformed;
            };
            if is_bsd_af_inet(u32::from_be_bytes([af[0], af[1], af[2], af[3]])) {
                Network::Ip(&data[4..])
            } else {
                Network::NotIp
            }
        }
        LinkType::LINUX_SLL => match data.get(14..16) {
            Some(p) => by_ethertype(u16::from_be_bytes([p[0], p[1]]), &data[16..]),
            None => Network::Malformed,
        },
        LinkType::LINUX_SLL2 => match data.get(..2) {
            Some(p) if data.len() >= 20 => {
                by_ethertype(u16::from_be_bytes([p[0], p[1]]), &data[20..])
            }
            _ => Network::Malformed,
        },
        LinkType::NFLOG => nflog(data),
        _ => Network::UnsupportedLink,
    }
}

fn is_bsd_af_inet(af: u32) -> bool {
    // AF_INET is 2 everywhere; AF_INET6 is 24 (NetBSD/OpenBSD), 28 (FreeBSD)
    // or 30 (macOS), and a capture may come from any of them.
    matches!(af, 2 | 24 | 28 | 30)
}

#[inline]
fn ethernet(data: &[u8]) -> Network<'_> {
    let Some((head, mut rest)) = data.split_first_chunk::<14>() else {
        return Network::Malformed;
    };
    let mut ethertype = u16::from_be_bytes([head[12], head[13]]);
    // Nearly every frame, first: this runs for every frame on every thread
    // that shares a capture.
    if ethertype == ETH_IPV4 || ethertype == ETH_IPV6 {
        return Network::Ip(rest);
    }
    let mut tags = 0;
    while ethertype == ETH_VLAN || ethertype == ETH_QINQ || ETH_QINQ_OLD.contains(&ethertype) {
        tags += 1;
        if tags > MAX_VLAN_TAGS || rest.len() < 4 {
            return Network::Malformed;
        }
        ethertype = u16::from_be_bytes([rest[2], rest[3]]);
        rest = &rest[4..];
    }
    by_ethertype(ethertype, rest)
}

fn by_ethertype(ethertype: u16, rest: &[u8]) -> Network<'_> {
    match ethertype {
        ETH_IPV4 | ETH_IPV6 => Network::Ip(rest),
        ETH_PPPOE_SESSION => {
            // PPPoE session header (6 bytes), then a 2-byte PPP protocol.
            let Some(p) = rest.get(6..8) else {
                return Network::Malformed;
            };
            match u16::from_be_bytes([p[0], p[1]]) {
                0x0021 | 0x0057 => Network::Ip(&rest[8..]),
                _ => Network::NotIp,
            }
        }
        _ => Network::NotIp,
    }
}

/// NFLOG: a 4-byte header, then type-length-value attributes in the capturing
/// host's byte order (little-endian in practice), padded to 4 bytes; the packet
/// is attribute 9 (NFULA_PAYLOAD).
fn nflog(data: &[u8]) -> Network<'_> {
    let Some(&family) = data.first() else {
        return Network::Malformed;
    };
    let mut rest = data.get(4..).unwrap_or_default();
    while rest.len() >= 4 {
        let len = usize::from(u16::from_le_bytes([rest[0], rest[1]]));
        let kind = u16::from_le_bytes([rest[2], rest[3]]) & 0x7fff;
        if len < 4 || len > rest.len() {
            return Network::Malformed;
        }
        if kind == 9 {
            return match family {
                2 | 10 => Network::Ip(&rest[4..len]),
                _ => Network::NotIp,
            };
        }
        let padded = (len + 3) & !3;
        rest = rest.get(padded..).unwrap_or_default();
    }
    Network::NotIp
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP: &[u8] = &[0x45, 0, 0, 20];

    #[test]
    fn ethernet_with_stacked_vlans() {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x88, 0xa8, 0, 10, 0x81, 0x00, 0, 20, 0x08, 0x00]);
        f.extend_from_slice(IP);
        assert_eq!(network(LinkType::ETHERNET, &f), Network::Ip(IP));
        f[12..14].copy_from_slice(&[0x08, 0x06]);
        assert_eq!(network(LinkType::ETHERNET, &f), Network::NotIp);
        assert_eq!(network(LinkType::ETHERNET, &f[..13]), Network::Malformed);
    }

    #[test]
    fn null_and_loop_families() {
        let mut f = 2u32.to_le_bytes().to_vec();
        f.extend_from_slice(IP);
        assert_eq!(network(LinkType::NULL, &f), Network::Ip(IP));
        let mut f = 30u32.to_be_bytes().to_vec();
        f.extend_from_slice(IP);
        assert_eq!(network(LinkType::NULL, &f), Network::Ip(IP));
        assert_eq!(network(LinkType::LOOP, &f), Network::Ip(IP));
        let mut f = 7u32.to_be_bytes().to_vec();
        f.extend_from_slice(IP);
        assert_eq!(network(LinkType::LOOP, &f), Network::NotIp);
    }

    #[test]
    fn cooked_captures() {
        let mut sll = vec![0u8; 14];
        sll.extend_from_slice(&[0x08, 0x00]);
        sll.extend_from_slice(IP);
        assert_eq!(network(LinkType::LINUX_SLL, &sll), Network::Ip(IP));
        let mut sll2 = vec![0x86, 0xdd];
        sll2.extend_from_slice(&[0u8; 18]);
        sll2.extend_from_slice(IP);
        assert_eq!(network(LinkType::LINUX_SLL2, &sll2), Network::Ip(IP));
        assert_eq!(
            network(LinkType::LINUX_SLL2, &sll2[..19]),
            Network::Malformed
        );
    }

    #[test]
    fn nflog_payload_attribute() {
        let mut f = vec![2, 0, 0, 0];
        // A 5-byte attribute padded to 8, then the payload attribute.
        f.extend_from_slice(&[5, 0, 1, 0, 0xaa, 0, 0, 0]);
        f.extend_from_slice(&[8, 0, 9, 0]);
        f.extend_from_slice(IP);
        assert_eq!(network(LinkType::NFLOG, &f), Network::Ip(IP));
        f[12] = 200;
        assert_eq!(network(LinkType::NFLOG, &f), Network::Malformed);
    }

    #[test]
    fn unknown_link() {
        assert_eq!(network(LinkType(147), IP), Network::UnsupportedLink);
    }
}
