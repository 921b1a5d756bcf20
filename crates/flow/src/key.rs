//! Flow identity: keys, ids, directions and endpoints.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

/// Transport protocol of a flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Proto {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
}

impl Proto {
    /// `"TCP"` or `"UDP"`, as EVE writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "TCP",
            Proto::Udp => "UDP",
        }
    }
}

impl fmt::Display for Proto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Serialised as [`Proto::as_str`].
impl serde::Serialize for Proto {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A direction-free flow key: both packets of a conversation map to the same
/// key, whichever way they travel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct FlowKey {
    /// The lower of the two endpoints.
    pub lo: SocketAddr,
    /// The higher of the two endpoints.
    pub hi: SocketAddr,
    /// Transport protocol.
    pub proto: Proto,
}

/// A word or two per endpoint instead of the derived field-by-field hash of
/// `SocketAddr` (IPv6 flow label and scope included): the key is hashed
/// once per packet. Equal keys still hash equally (a subset of the fields).
impl std::hash::Hash for FlowKey {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        fn endpoint<H: std::hash::Hasher>(a: &SocketAddr, h: &mut H) {
            match a {
                SocketAddr::V4(v) => {
                    h.write_u64(u64::from(u32::from(*v.ip())) << 16 | u64::from(v.port()))
                }
                SocketAddr::V6(v) => {
                    h.write_u128(u128::from(*v.ip()));
                    h.write_u16(v.port());
                }
            }
        }
        endpoint(&self.lo, h);
        endpoint(&self.hi, h);
        h.write_u8(self.proto as u8);
    }
}

impl FlowKey {
    /// The key of a packet from `src` to `dst`, and whether `src` is `lo`.
    pub fn new(src: SocketAddr, dst: SocketAddr, proto: Proto) -> (FlowKey, bool) {
        if src <= dst {
            (
                FlowKey {
                    lo: src,
                    hi: dst,
                    proto,
                },
                true,
            )
        } else {
            (
                FlowKey {
                    lo: dst,
                    hi: src,
                    proto,
                },
                false,
            )
        }
    }
}

/// Identifies a flow within one capture: the packet number of its first
/// packet. Stable whatever the order flows are processed in, so results are
/// identical however the work is split. Serialised as the bare number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct FlowId(pub u64);

/// Which way a packet or byte travels within a flow: `toserver` or
/// `toclient` in JSON, as EVE spells them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Dir {
    /// From the client (originator) to the server (responder).
    ToServer,
    /// From the server to the client.
    ToClient,
}

impl Dir {
    /// The other direction.
    pub fn reverse(self) -> Dir {
        match self {
            Dir::ToServer => Dir::ToClient,
            Dir::ToClient => Dir::ToServer,
        }
    }

    /// 0 for to-server, 1 for to-client: an index for per-direction arrays.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// The identity of a flow as later stages see it: who is client and server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct FlowInfo {
    /// The flow's id.
    pub id: FlowId,
    /// Transport protocol.
    pub proto: Proto,
    /// The originator.
    pub client: SocketAddr,
    /// The responder.
    pub server: SocketAddr,
}

impl FlowInfo {
    /// The server's address.
    pub fn server_ip(&self) -> IpAddr {
        self.server.ip()
    }
}
