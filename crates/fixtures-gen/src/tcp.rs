//! TCP conversations: sequence and acknowledgment bookkeeping for both
//! sides, so fixtures can reorder, repeat, overlap or drop segments and still
//! be consistent everywhere else.

use std::net::SocketAddr;

use crate::ip::{TcpFlags, TcpHeaderSpec, tcp_packet};
use crate::link::Direction;

/// MSS 1460, SACK permitted, two NOPs: what a typical SYN carries.
const SYN_OPTIONS: [u8; 8] = [2, 4, 0x05, 0xb4, 4, 2, 1, 1];

/// One TCP segment, ready to become an IP packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// `Outbound` when the client sent it.
    pub dir: Direction,
    /// Sender address and port.
    pub src: SocketAddr,
    /// Receiver address and port.
    pub dst: SocketAddr,
    /// Absolute sequence number.
    pub seq: u32,
    /// Absolute acknowledgment number.
    pub ack: u32,
    /// Header flags.
    pub flags: TcpFlags,
    /// Receive window.
    pub window: u16,
    /// Raw TCP options.
    pub options: Vec<u8>,
    /// IPv4 identification of the carrying packet.
    pub ident: u16,
    /// Segment data.
    pub payload: Vec<u8>,
}

impl Segment {
    /// The whole IP packet (IPv4 or IPv6 by address family).
    pub fn to_ip(&self) -> Vec<u8> {
        let hdr = TcpHeaderSpec {
            src_port: self.src.port(),
            dst_port: self.dst.port(),
            seq: self.seq,
            ack: self.ack,
            flags: self.flags,
            window: self.window,
            options: self.options.clone(),
        };
        tcp_packet(self.src, self.dst, self.ident, &hdr, &self.payload)
    }
}

#[derive(Debug, Clone)]
struct Side {
    addr: SocketAddr,
    isn: u32,
    next: u32,
    ident: u16,
    window: u16,
}

/// Both ends of one TCP connection. Every `client_*`/`server_*` call returns
/// the next segment that side would send and advances its sequence number;
/// acknowledgments always cover everything the peer has sent so far, gaps
/// included, as if the receiver got the data the capture missed.
///
/// Relative sequence numbers (`rel`) count data bytes from the first byte
/// after the SYN, as Wireshark shows them.
#[derive(Debug, Clone)]
pub struct TcpConversation {
    client: Side,
    server: Side,
}

impl TcpConversation {
    /// A connection that has not started; call [`TcpConversation::handshake`]
    /// (or the three steps) first.
    pub fn new(client: SocketAddr, server: SocketAddr, client_isn: u32, server_isn: u32) -> Self {
        // IPv4 identifications derive from the ISNs so that connections in
        // one capture do not share them and the output stays deterministic.
        TcpConversation {
            client: Side {
                addr: client,
                isn: client_isn,
                next: client_isn,
                ident: (client_isn as u16) | 1,
                window: 64240,
            },
            server: Side {
                addr: server,
                isn: server_isn,
                next: server_isn,
                ident: (server_isn as u16) | 1,
                window: 65535,
            },
        }
    }

    /// A connection already established before the capture began: the next
    /// bytes the client and server send start at these sequence numbers.
    pub fn established(
        client: SocketAddr,
        server: SocketAddr,
        client_seq: u32,
        server_seq: u32,
    ) -> Self {
        let mut c = Self::new(
            client,
            server,
            client_seq.wrapping_sub(1),
            server_seq.wrapping_sub(1),
        );
        c.client.next = client_seq;
        c.server.next = server_seq;
        c
    }

    /// Client address.
    pub fn client(&self) -> SocketAddr {
        self.client.addr
    }

    /// Server address.
    pub fn server(&self) -> SocketAddr {
        self.server.addr
    }

    /// Relative sequence number of the client's next byte.
    pub fn client_rel(&self) -> u32 {
        self.client
            .next
            .wrapping_sub(self.client.isn)
            .wrapping_sub(1)
    }

    /// Relative sequence number of the server's next byte.
    pub fn server_rel(&self) -> u32 {
        self.server
            .next
            .wrapping_sub(self.server.isn)
            .wrapping_sub(1)
    }

    fn make(
        &mut self,
        from_client: bool,
        seq: u32,
        flags: TcpFlags,
        options: &[u8],
        payload: &[u8],
    ) -> Segment {
        let (me, peer) = if from_client {
            (&mut self.client, &self.server)
        } else {
            (&mut self.server, &self.client)
        };
        let ident = me.ident;
        me.ident = me.ident.wrapping_add(1);
        let ack = if flags.contains(TcpFlags::ACK) {
            peer.next
        } else {
            0
        };
        Segment {
            dir: if from_client {
                Direction::Outbound
            } else {
                Direction::Inbound
            },
            src: me.addr,
            dst: peer.addr,
            seq,
            ack,
            flags,
            window: me.window,
            options: options.to_vec(),
            ident,
            payload: payload.to_vec(),
        }
    }

    fn send(
        &mut self,
        from_client: bool,
        flags: TcpFlags,
        options: &[u8],
        payload: &[u8],
    ) -> Segment {
        let seq = if from_client {
            self.client.next
        } else {
            self.server.next
        };
        let seg = self.make(from_client, seq, flags, options, payload);
        let me = if from_client {
            &mut self.client
        } else {
            &mut self.server
        };
        let consumed = payload.len() as u32
            + u32::from(flags.contains(TcpFlags::SYN))
            + u32::from(flags.contains(TcpFlags::FIN));
        me.next = me.next.wrapping_add(consumed);
        seg
    }

    /// The client's SYN.
    pub fn syn(&mut self) -> Segment {
        self.send(true, TcpFlags::SYN, &SYN_OPTIONS, &[])
    }

    /// The server's SYN-ACK.
    pub fn syn_ack(&mut self) -> Segment {
        self.send(false, TcpFlags::SYN | TcpFlags::ACK, &SYN_OPTIONS, &[])
    }

    /// SYN, SYN-ACK and the client's ACK.
    pub fn handshake(&mut self) -> Vec<Segment> {
        vec![self.syn(), self.syn_ack(), self.client_ack()]
    }

    /// Client data with PSH|ACK.
    pub fn client_data(&mut self, data: &[u8]) -> Segment {
        self.send(true, TcpFlags::PSH | TcpFlags::ACK, &[], data)
    }

    /// Server data with PSH|ACK.
    pub fn server_data(&mut self, data: &[u8]) -> Segment {
        self.send(false, TcpFlags::PSH | TcpFlags::ACK, &[], data)
    }

    /// Client data cut into segments at the given offsets into `data`, in
    /// sending order (reorder the result to deliver them out of order).
    pub fn client_data_split(&mut self, data: &[u8], split_at: &[usize]) -> Vec<Segment> {
        split(data, split_at)
            .into_iter()
            .map(|d| self.client_data(d))
            .collect()
    }

    /// Server data cut into segments at the given offsets into `data`.
    pub fn server_data_split(&mut self, data: &[u8], split_at: &[usize]) -> Vec<Segment> {
        split(data, split_at)
            .into_iter()
            .map(|d| self.server_data(d))
            .collect()
    }

    /// A pure ACK from the client.
    pub fn client_ack(&mut self) -> Segment {
        self.send(true, TcpFlags::ACK, &[], &[])
    }

    /// A pure ACK from the server.
    pub fn server_ack(&mut self) -> Segment {
        self.send(false, TcpFlags::ACK, &[], &[])
    }

    /// The client's FIN|ACK.
    pub fn client_fin(&mut self) -> Segment {
        self.send(true, TcpFlags::FIN | TcpFlags::ACK, &[], &[])
    }

    /// The server's FIN|ACK.
    pub fn server_fin(&mut self) -> Segment {
        self.send(false, TcpFlags::FIN | TcpFlags::ACK, &[], &[])
    }

    /// The client's RST|ACK.
    pub fn client_rst(&mut self) -> Segment {
        self.send(true, TcpFlags::RST | TcpFlags::ACK, &[], &[])
    }

    /// The server's RST|ACK.
    pub fn server_rst(&mut self) -> Segment {
        self.send(false, TcpFlags::RST | TcpFlags::ACK, &[], &[])
    }

    /// The client sends `len` bytes that the capture never sees: sequence
    /// numbers move on, no segment exists. Returns the relative sequence
    /// number where the gap starts.
    pub fn skip_client(&mut self, len: u32) -> u32 {
        let at = self.client_rel();
        self.client.next = self.client.next.wrapping_add(len);
        at
    }

    /// The server sends `len` bytes the capture never sees.
    pub fn skip_server(&mut self, len: u32) -> u32 {
        let at = self.server_rel();
        self.server.next = self.server.next.wrapping_add(len);
        at
    }

    /// A client segment at relative sequence number `rel` carrying `data`,
    /// without moving the client's state: use it for overlapping segments
    /// whose bytes differ from what was first sent there.
    pub fn client_at(&mut self, rel: u32, data: &[u8]) -> Segment {
        let seq = self.client.isn.wrapping_add(1).wrapping_add(rel);
        self.make(true, seq, TcpFlags::PSH | TcpFlags::ACK, &[], data)
    }

    /// A server segment at relative sequence number `rel` (see [`TcpConversation::client_at`]).
    pub fn server_at(&mut self, rel: u32, data: &[u8]) -> Segment {
        let seq = self.server.isn.wrapping_add(1).wrapping_add(rel);
        self.make(false, seq, TcpFlags::PSH | TcpFlags::ACK, &[], data)
    }

    /// A retransmission of `seg`: same sequence numbers and bytes, the next
    /// IP identification of its sender.
    pub fn retransmit(&mut self, seg: &Segment) -> Segment {
        let me = if seg.dir == Direction::Outbound {
            &mut self.client
        } else {
            &mut self.server
        };
        let mut copy = seg.clone();
        copy.ident = me.ident;
        me.ident = me.ident.wrapping_add(1);
        copy
    }
}

/// Cuts `data` at increasing offsets.
pub fn split<'a>(data: &'a [u8], split_at: &[usize]) -> Vec<&'a [u8]> {
    let mut out = Vec::with_capacity(split_at.len() + 1);
    let mut start = 0;
    for &s in split_at {
        assert!(
            s > start && s < data.len(),
            "split points must increase inside the data"
        );
        out.push(&data[start..s]);
        start = s;
    }
    out.push(&data[start..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};

    fn conv() -> TcpConversation {
        let c = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 40000);
        let s = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)), 80);
        TcpConversation::new(c, s, 1000, 5000)
    }

    #[test]
    fn handshake_numbers() {
        let mut t = conv();
        let h = t.handshake();
        assert_eq!((h[0].seq, h[0].ack, h[0].flags), (1000, 0, TcpFlags::SYN));
        assert_eq!((h[1].seq, h[1].ack), (5000, 1001));
        assert_eq!(
            (h[2].seq, h[2].ack, h[2].flags),
            (1001, 5001, TcpFlags::ACK)
        );
        let d = t.client_data(b"abc");
        assert_eq!((d.seq, d.ack), (1001, 5001));
        let r = t.server_data(b"xy");
        assert_eq!((r.seq, r.ack), (5001, 1004));
        assert_eq!((t.client_rel(), t.server_rel()), (3, 2));
    }

    #[test]
    fn gap_is_acknowledged_past() {
        let mut t = conv();
        t.handshake();
        t.client_data(b"abc");
        assert_eq!(t.skip_client(10), 3);
        let after = t.client_data(b"z");
        assert_eq!(after.seq, 1001 + 13);
        assert_eq!(t.server_ack().ack, 1001 + 14);
    }

    #[test]
    fn fin_consumes_one_and_overlap_keeps_state() {
        let mut t = conv();
        t.handshake();
        t.client_data(b"hello");
        let o = t.client_at(2, b"XY");
        assert_eq!(o.seq, 1003);
        let f = t.client_fin();
        assert_eq!(f.seq, 1006);
        assert_eq!(t.server_fin().ack, 1007);
        let again = t.retransmit(&o);
        assert_eq!((again.seq, again.payload.clone()), (1003, b"XY".to_vec()));
        assert_ne!(again.ident, o.ident);
    }

    #[test]
    fn established_starts_mid_stream() {
        let c = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 51000);
        let s = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)), 80);
        let mut t = TcpConversation::established(c, s, 7_000_000, 9_000_000);
        let d = t.client_data(b"GET");
        assert_eq!((d.seq, d.ack), (7_000_000, 9_000_000));
        assert_eq!(t.client_rel(), 3);
    }

    #[test]
    fn split_cuts_at_offsets() {
        assert_eq!(split(b"abcdef", &[1, 4]), vec![&b"a"[..], b"bcd", b"ef"]);
    }
}
