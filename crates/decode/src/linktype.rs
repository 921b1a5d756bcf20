//! Link-layer types as registered for pcap and pcapng.

use std::fmt;

/// A pcap/pcapng link type (the `LINKTYPE_*` registry).
///
/// Open newtype: unknown values survive and are reported by number.
///
/// ```
/// use telltale_decode::LinkType;
/// assert_eq!(LinkType::ETHERNET.name(), Some("ETHERNET"));
/// assert_eq!(LinkType(147).to_string(), "USER0 (147)");
/// assert_eq!(LinkType(60000).to_string(), "60000");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LinkType(pub u32);

impl LinkType {
    /// BSD loopback: 4-byte address family in the capturing host's byte order.
    pub const NULL: LinkType = LinkType(0);
    /// Ethernet II / 802.3.
    pub const ETHERNET: LinkType = LinkType(1);
    /// Raw IPv4 or IPv6, version taken from the first nibble.
    pub const RAW: LinkType = LinkType(101);
    /// OpenBSD loopback: 4-byte address family in network byte order.
    pub const LOOP: LinkType = LinkType(108);
    /// Linux "cooked" capture, version 1.
    pub const LINUX_SLL: LinkType = LinkType(113);
    /// Raw IPv4.
    pub const IPV4: LinkType = LinkType(228);
    /// Raw IPv6.
    pub const IPV6: LinkType = LinkType(229);
    /// Linux netfilter NFLOG messages.
    pub const NFLOG: LinkType = LinkType(239);
    /// Linux "cooked" capture, version 2.
    pub const LINUX_SLL2: LinkType = LinkType(276);
    /// Not a registered type: stands for an interface whose description was
    /// too damaged to name its link type. The pcap and pcapng link-type fields
    /// are 16 bits, so no capture can carry this number itself.
    pub const UNKNOWN: LinkType = LinkType(u32::MAX);

    /// The registry name, where known.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "NULL",
            1 => "ETHERNET",
            6 => "IEEE802_5",
            8 => "SLIP",
            9 => "PPP",
            12 | 14 => "RAW (BSD)",
            50 => "PPP_HDLC",
            51 => "PPP_ETHER",
            101 => "RAW",
            104 => "C_HDLC",
            105 => "IEEE802_11",
            108 => "LOOP",
            113 => "LINUX_SLL",
            119 => "IEEE802_11_PRISM",
            127 => "IEEE802_11_RADIOTAP",
            147..=162 => return Some(USER_NAMES[(self.0 - 147) as usize]),
            187 => "BLUETOOTH_HCI_H4",
            192 => "PPI",
            195 => "IEEE802_15_4_WITHFCS",
            201 => "BLUETOOTH_HCI_H4_WITH_PHDR",
            220 => "USB_LINUX_MMAPPED",
            228 => "IPV4",
            229 => "IPV6",
            239 => "NFLOG",
            249 => "USBPCAP",
            252 => "WIRESHARK_UPPER_PDU",
            276 => "LINUX_SLL2",
            u32::MAX => "UNKNOWN",
            _ => return None,
        })
    }
}

const USER_NAMES: [&str; 16] = [
    "USER0", "USER1", "USER2", "USER3", "USER4", "USER5", "USER6", "USER7", "USER8", "USER9",
    "USER10", "USER11", "USER12", "USER13", "USER14", "USER15",
];

impl fmt::Display for LinkType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{n} ({})", self.0),
            None => write!(f, "{}", self.0),
        }
    }
}

/// Serialised as its [`Display`](fmt::Display) form (`ETHERNET (1)`, or the
/// bare number when unnamed), so it can key a JSON object.
impl serde::Serialize for LinkType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}
