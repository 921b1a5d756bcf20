//! Hostile and broken captures, generated on demand and never committed:
//! each one attacks a limit of the analyzer (flow table, out-of-order
//! buffer, fragment pool, decompression, DNS name decompression, pcapng
//! framing, timestamps, interfaces) and is sized by its arguments, so tests
//! run small versions and `benches/adversarial.sh` big ones.
//!
//! Every capture carries the same valid traffic before and after the bad
//! part: a DNS query and answer, then an HTTP GET, for `before.example`
//! (frames first) and `after.example` (frames last). An analyzer that
//! survives the capture reports both.
//!
//! ```
//! use telltale_fixtures::adversarial::{Scale, generate, NAMES};
//! let scale = Scale::small();
//! for name in NAMES {
//!     let bytes = generate(name, &scale).expect("known name");
//!     assert!(bytes.len() > 24, "{name}");
//! }
//! let flood = telltale_fixtures::adversarial::syn_flood(10);
//! assert_eq!(&flood[..4], &[0xd4, 0xc3, 0xb2, 0xa1]);
//! ```

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use flate2::Compression;
use flate2::write::GzEncoder;

use crate::captures::{BASE_TS, CLIENT_V4, GATEWAY_MAC, HOST_MAC, RESOLVER_V4};
use crate::dns::{DnsMessage, RData, Record, TYPE_A};
use crate::http;
use crate::ip::{PROTO_UDP, ipv4_fragments, ipv6_fragments, udp_datagram, udp_packet};
use crate::link::{DLT_EN10MB, Direction, Framing};
use crate::pcap::{Endian, PcapWriter, TsResolution};
use crate::pcapng::{BT_EPB, BT_OPB, PcapNgWriter};
use crate::tcp::{Segment, TcpConversation};
use crate::trace::Trace;

const SEC: u64 = 1_000_000_000;
const MS: u64 = 1_000_000;
const US: u64 = 1_000;
/// Largest segment payload used for bulk data (Ethernet MSS with timestamps).
const MSS: usize = 1448;

/// Address the `before.example` DNS answer gives and its HTTP server uses.
pub const BEFORE_SERVER: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 10);
/// Address of `after.example`.
pub const AFTER_SERVER: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 20);
/// Server of the flow with the sequence gap ([`ooo_gap`]).
pub const GAP_SERVER: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 30);
/// Server of the flow with conflicting overlaps ([`conflicting_overlap`]).
pub const OVERLAP_SERVER: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 40);
/// Server of the decompression bomb ([`gzip_bomb`]).
pub const BOMB_SERVER: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 50);
/// Destination of the SYN flood ([`syn_flood`]).
pub const FLOOD_TARGET: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 80);

/// Sizes of every adversarial capture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scale {
    /// SYNs of distinct flows in [`syn_flood`].
    pub syn_flows: usize,
    /// Sequence jump of [`ooo_gap`], bytes.
    pub gap: u32,
    /// Out-of-order data sent beyond the hole in [`ooo_gap`], bytes.
    pub gap_beyond: usize,
    /// Incomplete fragment trains in [`frag_flood_v4`] and [`frag_flood_v6`].
    pub frag_trains: usize,
    /// Decoded size of the [`gzip_bomb`] body, bytes of zeros.
    pub bomb: u64,
    /// DNS responses with looping names in [`dns_compression_loop`].
    pub dns_loops: usize,
    /// Records with zero captured bytes in [`snaplen_zero`].
    pub zero_caplen: usize,
    /// Packets with wild timestamps in [`time_backwards`].
    pub time_packets: usize,
    /// Packet blocks naming undescribed interfaces in [`missing_interface`].
    pub bad_interfaces: usize,
    /// DNS queries (each answered) in the one flow of [`endless_flow`].
    pub endless_messages: usize,
    /// HTTP requests, each with an IMEI, in the one flow of [`endless_leak`].
    pub leak_requests: usize,
}

impl Scale {
    /// Sizes for tests in debug builds. Fragment pool, decoded-body and
    /// warning limits are hit at their defaults; the flow table needs
    /// `--max-flows 1000` and the out-of-order buffer `--max-flow-buffer 64K`.
    pub fn small() -> Self {
        Scale {
            syn_flows: 3_000,
            gap: 1_000_000_000,
            gap_beyond: 256 * 1024,
            frag_trains: 5_000,
            bomb: 16 << 20,
            dns_loops: 30,
            zero_caplen: 200,
            time_packets: 50,
            bad_interfaces: 150,
            endless_messages: 2_500,
            leak_requests: 1_500,
        }
    }

    /// Sizes for the bench: a million flows, a 1 GB sequence gap with 48 MiB
    /// beyond it, 100,000 fragment trains, 1 GiB of zeros compressed.
    pub fn full() -> Self {
        Scale {
            syn_flows: 1_000_000,
            gap: 1_000_000_000,
            gap_beyond: 48 << 20,
            frag_trains: 100_000,
            bomb: 1 << 30,
            dns_loops: 100_000,
            zero_caplen: 1_000_000,
            time_packets: 100_000,
            bad_interfaces: 100_000,
            endless_messages: 1_000_000,
            leak_requests: 500_000,
        }
    }
}

/// The ways [`pcapng_lying_lengths`] can lie about a block's length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LengthLie {
    /// Total length 0.
    Zero,
    /// Total length 37: not a multiple of 4.
    Odd,
    /// A plausible total length (under the reader's 64 MiB record cap)
    /// running past the end of the file.
    BeyondFile,
    /// Total length 0xfffffff0, past any record cap.
    Huge,
    /// Leading and trailing total lengths that differ.
    TrailerMismatch,
    /// A consistent block whose Enhanced Packet claims more captured bytes
    /// than the block holds: the one lie a reader can step over.
    CaplenBeyondBlock,
}

impl LengthLie {
    /// Every lie, in a fixed order.
    pub const ALL: [LengthLie; 6] = [
        LengthLie::Zero,
        LengthLie::Odd,
        LengthLie::BeyondFile,
        LengthLie::Huge,
        LengthLie::TrailerMismatch,
        LengthLie::CaplenBeyondBlock,
    ];

    /// Short name, used in file names.
    pub fn name(self) -> &'static str {
        match self {
            LengthLie::Zero => "zero",
            LengthLie::Odd => "odd",
            LengthLie::BeyondFile => "beyond-file",
            LengthLie::Huge => "huge",
            LengthLie::TrailerMismatch => "trailer-mismatch",
            LengthLie::CaplenBeyondBlock => "caplen-beyond-block",
        }
    }

    /// Whether the block after the lie can still be found: only when the
    /// block's own framing (leading and trailing length) is consistent.
    pub fn framing_survives(self) -> bool {
        self == LengthLie::CaplenBeyondBlock
    }
}

/// Every capture [`generate`] knows, as file names.
pub const NAMES: &[&str] = &[
    "syn-flood.pcap",
    "ooo-gap.pcap",
    "conflicting-overlap.pcap",
    "frag-flood-v4.pcap",
    "frag-flood-v6.pcap",
    "gzip-bomb.pcap",
    "dns-compression-loop.pcap",
    "pcapng-lying-zero.pcapng",
    "pcapng-lying-odd.pcapng",
    "pcapng-lying-beyond-file.pcapng",
    "pcapng-lying-huge.pcapng",
    "pcapng-lying-trailer-mismatch.pcapng",
    "pcapng-lying-caplen-beyond-block.pcapng",
    "snaplen-zero.pcap",
    "time-backwards.pcap",
    "missing-interface.pcapng",
    "endless-flow.pcap",
    "endless-leak.pcap",
];

/// The capture called `name` (one of [`NAMES`]) at `scale`.
pub fn generate(name: &str, scale: &Scale) -> Option<Vec<u8>> {
    if let Some(lie) = name
        .strip_prefix("pcapng-lying-")
        .and_then(|n| n.strip_suffix(".pcapng"))
    {
        let lie = LengthLie::ALL.into_iter().find(|l| l.name() == lie)?;
        return Some(pcapng_lying_lengths(lie));
    }
    Some(match name {
        "syn-flood.pcap" => syn_flood(scale.syn_flows),
        "ooo-gap.pcap" => ooo_gap(scale.gap, scale.gap_beyond),
        "conflicting-overlap.pcap" => conflicting_overlap(),
        "frag-flood-v4.pcap" => frag_flood_v4(scale.frag_trains),
        "frag-flood-v6.pcap" => frag_flood_v6(scale.frag_trains),
        "gzip-bomb.pcap" => gzip_bomb(scale.bomb),
        "dns-compression-loop.pcap" => dns_compression_loop(scale.dns_loops),
        "snaplen-zero.pcap" => snaplen_zero(scale.zero_caplen),
        "time-backwards.pcap" => time_backwards(scale.time_packets),
        "missing-interface.pcapng" => missing_interface(scale.bad_interfaces),
        "endless-flow.pcap" => endless_flow(scale.endless_messages),
        "endless-leak.pcap" => endless_leak(scale.leak_requests),
        _ => return None,
    })
}

// ------------------------------------------------------------ the valid part

fn sa(ip: impl Into<IpAddr>, port: u16) -> SocketAddr {
    SocketAddr::new(ip.into(), port)
}

fn eth() -> Framing {
    Framing::ethernet(HOST_MAC, GATEWAY_MAC)
}

/// Which of the two valid exchanges.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Before,
    After,
}

impl Side {
    fn label(self) -> &'static str {
        match self {
            Side::Before => "before",
            Side::After => "after",
        }
    }

    fn server(self) -> Ipv4Addr {
        match self {
            Side::Before => BEFORE_SERVER,
            Side::After => AFTER_SERVER,
        }
    }

    fn port(self) -> u16 {
        match self {
            Side::Before => 40_001,
            Side::After => 40_002,
        }
    }
}

/// The valid exchange: DNS query and answer for `<side>.example`, then a
/// whole HTTP GET of `/<side>` to the answered address. With
/// `fragment_dns`, the DNS answer travels as two IPv4 fragments (the
/// fragment pool must still work after a flood).
fn exchange(trace: &mut Trace, side: Side, fragment_dns: bool) {
    let name = format!("{}.example", side.label());
    let client_dns = sa(CLIENT_V4, side.port() + 10_000);
    let resolver = sa(RESOLVER_V4, 53);
    let id = match side {
        Side::Before => 0xbef0,
        Side::After => 0xaf7e,
    };
    let q = DnsMessage::query(id, &name, TYPE_A);
    let r = q
        .response()
        .answer(Record::new(&name, 300, RData::A(side.server())));
    trace.push(
        Direction::Outbound,
        udp_packet(client_dns, resolver, id, &q.to_bytes()),
    );
    if fragment_dns {
        let udp = udp_datagram(resolver, client_dns, &r.to_bytes());
        for f in ipv4_fragments(RESOLVER_V4, CLIENT_V4, PROTO_UDP, id, &udp, &[16]) {
            trace.push(Direction::Inbound, f);
        }
    } else {
        trace.push(
            Direction::Inbound,
            udp_packet(resolver, client_dns, id ^ 0xffff, &r.to_bytes()),
        );
    }
    trace.wait(5 * MS);
    let isn = u32::from(side.port()) * 1_000;
    let mut conv = TcpConversation::new(
        sa(CLIENT_V4, side.port()),
        sa(side.server(), 80),
        isn,
        isn + 7,
    );
    trace.segments(&conv.handshake());
    trace.segment(&conv.client_data(&http::get(&format!("/{}", side.label()), &name)));
    trace.segment(&conv.server_data(&http::ok_text(side.label())));
    trace.segment(&conv.client_fin());
    trace.segment(&conv.server_fin());
    trace.segment(&conv.client_ack());
    trace.wait(5 * MS);
}

/// A trace holding the `before` exchange, clock at `start`.
fn before(start: u64) -> Trace {
    let mut t = Trace::new(start, 100 * US);
    exchange(&mut t, Side::Before, false);
    t
}

/// A trace holding the `after` exchange, from `start`.
fn after(start: u64, fragment_dns: bool) -> Trace {
    let mut t = Trace::new(start, 100 * US);
    exchange(&mut t, Side::After, fragment_dns);
    t
}

fn pcap_writer() -> PcapWriter {
    PcapWriter::new(Endian::Little, TsResolution::Micro, DLT_EN10MB, 262_144)
}

fn put_trace(w: &mut PcapWriter, framing: &Framing, t: &Trace) {
    for p in &t.packets {
        w.packet(p.ts_nanos, &framing.frame(p.dir, &p.ip));
    }
}

/// A pcap of `before`, whatever `middle` writes, then `after`.
fn sandwich(middle: impl FnOnce(&mut PcapWriter, &Framing, u64) -> u64) -> Vec<u8> {
    let framing = eth();
    let mut w = pcap_writer();
    let b = before(BASE_TS);
    put_trace(&mut w, &framing, &b);
    let end = middle(&mut w, &framing, b.now() + 10 * MS);
    put_trace(&mut w, &framing, &after(end + 10 * MS, false));
    w.into_bytes()
}

// ------------------------------------------------------------ the captures

/// `n` SYNs, each opening a distinct flow (distinct source address and
/// port) to one server, 1 µs apart, never answered: they all stay in the
/// flow table (the unanswered-TCP timeout is 120 s of capture time), so a
/// flood larger than `max_flows` must evict.
pub fn syn_flood(n: usize) -> Vec<u8> {
    sandwich(|w, framing, start| {
        let dst = sa(FLOOD_TARGET, 443);
        let mut ts = start;
        for i in 0..n {
            let i32 = u32::try_from(i).expect("fewer than 2^32 flows");
            let src_ip = Ipv4Addr::from(0x0a00_0000 | (i32 & 0x00ff_ffff));
            let port = 1024 + u16::try_from(i % 64_000).expect("fits");
            let mut conv =
                TcpConversation::new(sa(src_ip, port), dst, i32.wrapping_mul(2_654_435_761), 1);
            let syn = conv.syn();
            w.packet(ts, &framing.frame(Direction::Inbound, &syn.to_ip()));
            ts += US;
        }
        ts
    })
}

/// One HTTP flow to `gap.example` whose client, after a first request,
/// jumps `gap` bytes ahead in sequence space (the capture never sees those
/// bytes and the server never acknowledges them) and then sends `beyond`
/// bytes of requests past the hole, each pair of segments swapped so the
/// data keeps arriving out of order. The out-of-order buffer fills
/// (1 MiB by default) and the hole has to be given up as a gap; past
/// 32 MiB delivered, the stream cap applies.
pub fn ooo_gap(gap: u32, beyond: usize) -> Vec<u8> {
    sandwich(|w, framing, start| {
        let mut t = Trace::new(start, 20 * US);
        let mut conv = TcpConversation::new(
            sa(CLIENT_V4, 40_010),
            sa(GAP_SERVER, 80),
            0x1000_0000,
            0x2000_0000,
        );
        t.segments(&conv.handshake());
        t.segment(&conv.client_data(&http::get("/start", "gap.example")));
        t.segment(&conv.server_ack());
        conv.skip_client(gap);
        let unit = http::get("/beyond", "gap.example");
        let mut data = Vec::with_capacity(beyond + unit.len());
        while data.len() < beyond {
            data.extend_from_slice(&unit);
        }
        data.truncate(beyond);
        let cuts: Vec<usize> = (1..data.len().div_ceil(MSS)).map(|k| k * MSS).collect();
        let mut segs = conv.client_data_split(&data, &cuts);
        for pair in segs.chunks_mut(2) {
            pair.reverse();
        }
        t.segments(&segs);
        t.segment(&conv.client_fin());
        t.segment(&conv.server_fin());
        t.segment(&conv.client_ack());
        put_trace(w, framing, &t);
        t.now()
    })
}

/// One HTTP flow to `overlap.example` carrying three requests, each sent
/// twice with different bytes where the copies overlap: `/good-N` first,
/// `/evil-N` second (same length). The reassembly policy is that the
/// first copy to arrive wins, so the HTTP parser must see only `/good-1`,
/// `/good-2` and `/good-3`:
///
/// 1. in order: the first 12 bytes of the good request (`GET /good-1 `),
///    then the whole evil one from the same sequence number;
/// 2. against buffered data: the good request from byte 4 on arrives
///    first (out of order, buffered), then the whole evil request;
/// 3. buffered against buffered: good and evil copies from byte 4 on,
///    then the first 4 bytes (`GET `) that make them deliverable.
pub fn conflicting_overlap() -> Vec<u8> {
    sandwich(|w, framing, start| {
        let mut t = Trace::new(start, 100 * US);
        let mut conv = TcpConversation::new(
            sa(CLIENT_V4, 40_020),
            sa(OVERLAP_SERVER, 80),
            0x3000_0000,
            0x4000_0000,
        );
        t.segments(&conv.handshake());
        for n in 1..=3 {
            let good = http::get(&format!("/good-{n}"), "overlap.example");
            let evil = http::get(&format!("/evil-{n}"), "overlap.example");
            assert_eq!(good.len(), evil.len());
            let rel = conv.client_rel();
            let segs: Vec<Segment> = match n {
                1 => vec![conv.client_at(rel, &good[..12]), conv.client_at(rel, &evil)],
                2 => vec![
                    conv.client_at(rel + 4, &good[4..]),
                    conv.client_at(rel, &evil),
                ],
                _ => vec![
                    conv.client_at(rel + 4, &good[4..]),
                    conv.client_at(rel + 4, &evil[4..]),
                    conv.client_at(rel, &evil[..4]),
                ],
            };
            t.segments(&segs);
            conv.skip_client(u32::try_from(good.len()).expect("short"));
            t.segment(&conv.server_data(&http::ok_text(&format!("answer {n}"))));
        }
        t.segment(&conv.client_fin());
        t.segment(&conv.server_fin());
        t.segment(&conv.client_ack());
        put_trace(w, framing, &t);
        t.now()
    })
}

/// UDP payload of every flood fragment train: 72 bytes of UDP datagram,
/// cut at 24 and 48; the last fragment is never sent.
const TRAIN_PAYLOAD: [u8; 64] = [0x5a; 64];

/// `n` fragment trains, each an IPv4/UDP datagram with its own
/// (source, identification) whose first two fragments arrive and last
/// never does, 10 µs apart: far more incomplete datagrams than the pool
/// holds (4,096 by default), all within its 30 s timeout. The `after`
/// DNS answer is itself fragmented, so reassembly must still work.
pub fn frag_flood_v4(n: usize) -> Vec<u8> {
    let framing = eth();
    let mut w = pcap_writer();
    let b = before(BASE_TS);
    put_trace(&mut w, &framing, &b);
    let mut ts = b.now() + 10 * MS;
    for i in 0..n {
        let i32 = u32::try_from(i).expect("fewer than 2^32 trains");
        let src = Ipv4Addr::new(172, 16, (i32 >> 16) as u8, 1);
        let ident = (i32 & 0xffff) as u16;
        let udp = udp_datagram(sa(src, 7_000), sa(CLIENT_V4, 7_001), &TRAIN_PAYLOAD);
        let frags = ipv4_fragments(src, CLIENT_V4, PROTO_UDP, ident, &udp, &[24, 48]);
        for f in &frags[..2] {
            w.packet(ts, &framing.frame(Direction::Inbound, f));
            ts += 5 * US;
        }
    }
    put_trace(&mut w, &framing, &after(ts + 10 * MS, true));
    w.into_bytes()
}

/// As [`frag_flood_v4`] over IPv6: `n` trains with distinct 32-bit
/// identifications, each missing its last fragment.
pub fn frag_flood_v6(n: usize) -> Vec<u8> {
    let framing = eth();
    let mut w = pcap_writer();
    let b = before(BASE_TS);
    put_trace(&mut w, &framing, &b);
    let mut ts = b.now() + 10 * MS;
    let src = Ipv6Addr::new(0x2001, 0xdb8, 0xf1, 0, 0, 0, 0, 1);
    let dst = Ipv6Addr::new(0x2001, 0xdb8, 0x56, 0, 0, 0, 0, 0x10);
    for i in 0..n {
        let ident = u32::try_from(i).expect("fewer than 2^32 trains");
        let udp = udp_datagram(sa(src, 7_000), sa(dst, 7_001), &TRAIN_PAYLOAD);
        let frags = ipv6_fragments(src, dst, PROTO_UDP, ident, &udp, &[24, 48]);
        for f in &frags[..2] {
            w.packet(ts, &framing.frame(Direction::Inbound, f));
            ts += 5 * US;
        }
    }
    put_trace(&mut w, &framing, &after(ts + 10 * MS, false));
    w.into_bytes()
}

/// `size` zero bytes, gzip-compressed (about 1,000:1), without ever
/// holding them.
fn gzip_zeros(size: u64) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    let zeros = vec![0u8; 1 << 20];
    let mut left = size;
    while left > 0 {
        let take = usize::try_from(left.min(zeros.len() as u64)).expect("fits");
        enc.write_all(&zeros[..take]).expect("in memory");
        left -= take as u64;
    }
    enc.finish().expect("in memory")
}

/// An HTTP GET of `/bomb` from `bomb.example` whose 200 response carries
/// `Content-Encoding: gzip` and a body inflating to `size` zero bytes:
/// far beyond the decoded-body cap (4 MiB) and the ratio cap (100:1).
pub fn gzip_bomb(size: u64) -> Vec<u8> {
    sandwich(|w, framing, start| {
        let mut t = Trace::new(start, 20 * US);
        let mut conv = TcpConversation::new(
            sa(CLIENT_V4, 40_030),
            sa(BOMB_SERVER, 80),
            0x5000_0000,
            0x6000_0000,
        );
        t.segments(&conv.handshake());
        t.segment(&conv.client_data(&http::get("/bomb", "bomb.example")));
        let body = gzip_zeros(size);
        let resp = http::response(
            200,
            "OK",
            &[("Content-Type", "text/plain"), ("Content-Encoding", "gzip")],
            &body,
        );
        let cuts: Vec<usize> = (1..resp.len().div_ceil(MSS)).map(|k| k * MSS).collect();
        for (k, s) in conv.server_data_split(&resp, &cuts).iter().enumerate() {
            t.segment(s);
            if k % 16 == 15 {
                t.segment(&conv.client_ack());
            }
        }
        t.segment(&conv.client_fin());
        t.segment(&conv.server_fin());
        t.segment(&conv.client_ack());
        put_trace(w, framing, &t);
        t.now()
    })
}

/// A DNS response to `query` with the answer count set to `ancount` and
/// `tail` appended after the question.
fn dns_raw_response(query: &DnsMessage, ancount: u16, tail: &[u8]) -> Vec<u8> {
    let mut m = query.response().to_bytes();
    m[6..8].copy_from_slice(&ancount.to_be_bytes());
    m.extend_from_slice(tail);
    m
}

/// Fixed part of an answer record after its owner name.
fn rr_fixed(rtype: u16, rdlen: u16) -> Vec<u8> {
    let mut v = Vec::with_capacity(10);
    v.extend_from_slice(&rtype.to_be_bytes());
    v.extend_from_slice(&1u16.to_be_bytes());
    v.extend_from_slice(&60u32.to_be_bytes());
    v.extend_from_slice(&rdlen.to_be_bytes());
    v
}

fn pointer(to: usize) -> [u8; 2] {
    let to = u16::try_from(to).expect("pointer target in the first 16 KiB");
    (0xc000 | to).to_be_bytes()
}

/// `n` DNS queries for `loopN.example`, each answered with a name whose
/// compression pointers loop, in turn:
///
/// 0. the answer's owner name is a pointer to itself;
/// 1. a CNAME whose target is a label then a pointer back to that label;
/// 2. two answers whose owner names point at each other (the first points
///    forward to the second, the second back to the first);
/// 3. the question name itself is a pointer to itself (the response cannot
///    even be matched to its question).
pub fn dns_compression_loop(n: usize) -> Vec<u8> {
    sandwich(|w, framing, start| {
        let mut t = Trace::new(start, 50 * US);
        let resolver = sa(RESOLVER_V4, 53);
        for i in 0..n {
            let id = (i & 0xffff) as u16;
            let client = sa(CLIENT_V4, 20_000 + (i % 20_000) as u16);
            let q = DnsMessage::query(id, &format!("loop{i}.example"), TYPE_A);
            let base = q.to_bytes().len();
            let resp = match i % 4 {
                0 => {
                    let mut tail = pointer(base).to_vec();
                    tail.extend(rr_fixed(TYPE_A, 4));
                    tail.extend_from_slice(&[192, 0, 2, 1]);
                    dns_raw_response(&q, 1, &tail)
                }
                1 => {
                    let mut tail = pointer(12).to_vec();
                    tail.extend(rr_fixed(5, 4));
                    let rdata_at = base + tail.len();
                    tail.extend_from_slice(&[1, b'a']);
                    tail.extend_from_slice(&pointer(rdata_at));
                    dns_raw_response(&q, 1, &tail)
                }
                2 => {
                    // Owner 1 at `base` -> owner 2 at `base + 16`; owner 2 -> owner 1.
                    let second = base + 2 + 10 + 4;
                    let mut tail = pointer(second).to_vec();
                    tail.extend(rr_fixed(TYPE_A, 4));
                    tail.extend_from_slice(&[192, 0, 2, 2]);
                    assert_eq!(base + tail.len(), second);
                    tail.extend_from_slice(&pointer(base));
                    tail.extend(rr_fixed(TYPE_A, 4));
                    tail.extend_from_slice(&[192, 0, 2, 3]);
                    dns_raw_response(&q, 2, &tail)
                }
                _ => {
                    let mut m = q.response().to_bytes();
                    m.truncate(12);
                    m.extend_from_slice(&pointer(12));
                    m.extend_from_slice(&TYPE_A.to_be_bytes());
                    m.extend_from_slice(&1u16.to_be_bytes());
                    m
                }
            };
            t.push(
                Direction::Outbound,
                udp_packet(client, resolver, id, &q.to_bytes()),
            );
            t.push(Direction::Inbound, udp_packet(resolver, client, !id, &resp));
        }
        put_trace(w, framing, &t);
        t.now()
    })
}

/// One flow that does not end before the capture does: `n` DNS queries
/// from one source port to one resolver, each answered, 50 µs apart (a
/// device whose resolver keeps one socket, polled for days). An analyzer
/// that keeps a flow's events until it ends holds all `2n` of them.
pub fn endless_flow(n: usize) -> Vec<u8> {
    sandwich(|w, framing, start| {
        let mut t = Trace::new(start, 50 * US);
        let (client, resolver) = (sa(CLIENT_V4, 5_353), sa(RESOLVER_V4, 53));
        for i in 0..n {
            let id = (i & 0xffff) as u16;
            let name = format!("poll{i}.endless.example");
            let q = DnsMessage::query(id, &name, TYPE_A);
            let addr = Ipv4Addr::new(192, 0, 2, (i % 250) as u8 + 1);
            let r = q.response().answer(Record::new(&name, 60, RData::A(addr)));
            t.push(
                Direction::Outbound,
                udp_packet(client, resolver, id, &q.to_bytes()),
            );
            t.push(
                Direction::Inbound,
                udp_packet(resolver, client, !id, &r.to_bytes()),
            );
        }
        put_trace(w, framing, &t);
        t.now()
    })
}

/// Server of the keep-alive connection of [`endless_leak`].
pub const LEAK_SERVER: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 60);

/// One HTTP keep-alive connection that does not end before the capture
/// does, carrying `n` requests that each send the device's IMEI, each
/// answered (a tracker beaconing for days). An analyzer that keeps a
/// flow's findings until it ends holds all `n`.
pub fn endless_leak(n: usize) -> Vec<u8> {
    sandwich(|w, framing, start| {
        let mut t = Trace::new(start, 50 * US);
        let mut conv =
            TcpConversation::new(sa(CLIENT_V4, 40_060), sa(LEAK_SERVER, 80), 60_000, 60_007);
        t.segments(&conv.handshake());
        let imei = crate::captures::redmi_imei();
        for i in 0..n {
            let path = format!("/ping?imei={imei}&seq={i}");
            t.segment(&conv.client_data(&http::get(&path, "beacon.example")));
            t.segment(&conv.server_data(&http::ok_text("ok")));
        }
        put_trace(w, framing, &t);
        t.now()
    })
}

/// The blocks of a pcapng section after its header and interface 0
/// (Ethernet, microseconds): Enhanced Packet Blocks for every packet of
/// `t`, as bytes to splice into another file.
fn epb_bytes(framing: &Framing, t: &Trace) -> Vec<u8> {
    let mut w = PcapNgWriter::new(Endian::Little);
    w.interface(1, 262_144, None, None);
    let head = w.as_bytes().len();
    for (ts, f) in t.frames(framing) {
        w.epb(0, ts, &f);
    }
    w.into_bytes()[head..].to_vec()
}

/// An Enhanced Packet Block body (interface, microsecond timestamp,
/// lengths, data padded), for blocks the writer would refuse to make.
fn epb_body(interface: u32, ts_nanos: u64, caplen: u32, data: &[u8]) -> Vec<u8> {
    let ts = ts_nanos / 1_000;
    let mut b = Vec::new();
    b.extend_from_slice(&interface.to_le_bytes());
    b.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
    b.extend_from_slice(&(ts as u32).to_le_bytes());
    b.extend_from_slice(&caplen.to_le_bytes());
    b.extend_from_slice(&u32::try_from(data.len()).expect("short").to_le_bytes());
    b.extend_from_slice(data);
    while !b.len().is_multiple_of(4) {
        b.push(0);
    }
    b
}

/// A whole block with the given leading and trailing total lengths.
fn block_with_lengths(block_type: u32, lead: u32, body: &[u8], trail: u32) -> Vec<u8> {
    let mut b = Vec::with_capacity(body.len() + 12);
    b.extend_from_slice(&block_type.to_le_bytes());
    b.extend_from_slice(&lead.to_le_bytes());
    b.extend_from_slice(body);
    b.extend_from_slice(&trail.to_le_bytes());
    b
}

/// A little-endian pcapng file: section header, an Ethernet interface,
/// the `before` packets, one block that lies about its length as `lie`
/// says, a valid Enhanced Packet Block, then the `after` packets.
pub fn pcapng_lying_lengths(lie: LengthLie) -> Vec<u8> {
    let framing = eth();
    let mut w = PcapNgWriter::new(Endian::Little);
    w.interface(1, 262_144, None, Some("eth0"));
    let b = before(BASE_TS);
    for (ts, f) in b.frames(&framing) {
        w.epb(0, ts, &f);
    }
    let mut out = w.into_bytes();
    let a = after(b.now() + 10 * MS, false);
    let tail = epb_bytes(&framing, &a);
    let probe = udp_packet(
        sa(CLIENT_V4, 9_999),
        sa(RESOLVER_V4, 9_999),
        1,
        b"lying block",
    );
    let body = epb_body(
        0,
        b.now(),
        u32::try_from(probe.len()).expect("short"),
        &framing.frame(Direction::Outbound, &probe),
    );
    let len = u32::try_from(body.len() + 12).expect("short");
    let bad = match lie {
        LengthLie::Zero => block_with_lengths(BT_EPB, 0, &body, 0),
        LengthLie::Odd => block_with_lengths(BT_EPB, 37, &body, 37),
        LengthLie::BeyondFile => {
            // Past the end of the file, well under the 64 MiB record cap.
            let claimed = len + u32::try_from(tail.len()).expect("short") + 4_096;
            block_with_lengths(BT_EPB, claimed, &body, claimed)
        }
        LengthLie::Huge => block_with_lengths(BT_EPB, 0xffff_fff0, &body, 0xffff_fff0),
        LengthLie::TrailerMismatch => block_with_lengths(BT_EPB, len, &body, len + 4),
        LengthLie::CaplenBeyondBlock => {
            let lying = epb_body(
                0,
                b.now(),
                60_000,
                &framing.frame(Direction::Outbound, &probe),
            );
            block_with_lengths(BT_EPB, len, &lying, len)
        }
    };
    out.extend_from_slice(&bad);
    out.extend_from_slice(&tail);
    out
}

/// A pcap whose header says snaplen 0: the `before` packets whole, then
/// `n` records with zero captured bytes (original lengths 60 to 1,500, and
/// one of 0), then the `after` packets whole.
pub fn snaplen_zero(n: usize) -> Vec<u8> {
    let framing = eth();
    let header = PcapWriter::new(Endian::Little, TsResolution::Micro, DLT_EN10MB, 0).into_bytes();
    let mut out = header;
    let record = |out: &mut Vec<u8>, ts: u64, data: &[u8], orig: u32| {
        out.extend_from_slice(&((ts / SEC) as u32).to_le_bytes());
        out.extend_from_slice(&(((ts % SEC) / US) as u32).to_le_bytes());
        out.extend_from_slice(&u32::try_from(data.len()).expect("short").to_le_bytes());
        out.extend_from_slice(&orig.to_le_bytes());
        out.extend_from_slice(data);
    };
    let b = before(BASE_TS);
    for (ts, f) in b.frames(&framing) {
        let orig = u32::try_from(f.len()).expect("short");
        record(&mut out, ts, &f, orig);
    }
    let mut ts = b.now() + 10 * MS;
    for i in 0..n {
        let orig = if i == 0 { 0 } else { 60 + (i % 1_441) as u32 };
        record(&mut out, ts, &[], orig);
        ts += 10 * US;
    }
    for (ts, f) in after(ts + 10 * MS, false).frames(&framing) {
        let orig = u32::try_from(f.len()).expect("short");
        record(&mut out, ts, &f, orig);
    }
    out
}

/// A pcap whose clock misbehaves between the valid exchanges: an HTTP
/// flow to `time.example` whose packets are dated backwards (the response
/// a day before the request), then `n` UDP packets cycling through dates
/// before the capture (a second, a day, 30 years back, the epoch), a lone
/// jump 20 years ahead that nothing confirms, and the largest date a
/// 32-bit pcap second can hold; then a confirmed jump (two packets a year
/// ahead); then the `after` exchange dated back at the capture's start.
pub fn time_backwards(n: usize) -> Vec<u8> {
    let framing = eth();
    let mut w = pcap_writer();
    let b = before(BASE_TS);
    put_trace(&mut w, &framing, &b);
    let t0 = b.now() + 10 * MS;
    // An HTTP exchange whose timestamps run backwards.
    let mut conv = TcpConversation::new(
        sa(CLIENT_V4, 40_040),
        sa(Ipv4Addr::new(198, 51, 100, 60), 80),
        0x7000_0000,
        0x7100_0000,
    );
    let mut segs = conv.handshake();
    segs.push(conv.client_data(&http::get("/backwards", "time.example")));
    segs.push(conv.server_data(&http::ok_text("backwards")));
    for (k, s) in segs.iter().enumerate() {
        let back = (k as u64) * 3_600 * SEC;
        w.packet(t0 - back, &framing.frame(s.dir, &s.to_ip()));
    }
    let year = 365 * 86_400 * SEC;
    let dates = [
        t0 - SEC,
        t0 - 86_400 * SEC,
        t0 - 30 * year,
        0,
        t0 + 20 * year,
        u64::from(u32::MAX) * SEC + 999_999 * US,
    ];
    let mut ts = t0;
    for i in 0..n {
        ts += 10 * US;
        let p = udp_packet(
            sa(CLIENT_V4, 41_000),
            sa(Ipv4Addr::new(198, 51, 100, 61), 9_000),
            i as u16,
            format!("tick {i}").as_bytes(),
        );
        let when = if i % 2 == 0 {
            ts
        } else {
            dates[(i / 2) % dates.len()]
        };
        w.packet(when, &framing.frame(Direction::Outbound, &p));
    }
    // A jump a year ahead that the next packet confirms.
    for k in 0..2u16 {
        let p = udp_packet(
            sa(CLIENT_V4, 41_001),
            sa(Ipv4Addr::new(198, 51, 100, 61), 9_001),
            k,
            b"a year later",
        );
        w.packet(
            ts + year + u64::from(k) * MS,
            &framing.frame(Direction::Outbound, &p),
        );
    }
    put_trace(&mut w, &framing, &after(ts + 10 * MS, false));
    w.into_bytes()
}

/// A pcapng file whose packets name interfaces that were never described:
/// a section with interface 0 holding the `before` packets, then `n`
/// Enhanced Packet Blocks on interfaces 1, 7, 0xffffffff and an obsolete
/// Packet Block on interface 5, in turn; then a second section whose first
/// packet comes before any interface description, then its interface 0 and
/// the `after` packets.
pub fn missing_interface(n: usize) -> Vec<u8> {
    let framing = eth();
    let mut w = PcapNgWriter::new(Endian::Little);
    w.interface(1, 262_144, None, Some("eth0"));
    let b = before(BASE_TS);
    for (ts, f) in b.frames(&framing) {
        w.epb(0, ts, &f);
    }
    let probe = framing.frame(
        Direction::Outbound,
        &udp_packet(
            sa(CLIENT_V4, 9_998),
            sa(RESOLVER_V4, 9_998),
            2,
            b"no such interface",
        ),
    );
    let caplen = u32::try_from(probe.len()).expect("short");
    let mut ts = b.now() + 10 * MS;
    for i in 0..n {
        match i % 4 {
            0 => w.raw_block(BT_EPB, &epb_body(1, ts, caplen, &probe)),
            1 => w.raw_block(BT_EPB, &epb_body(7, ts, caplen, &probe)),
            2 => w.raw_block(BT_EPB, &epb_body(u32::MAX, ts, caplen, &probe)),
            _ => {
                // The obsolete Packet Block: 16-bit interface, drop count.
                let mut body = epb_body(0, ts, caplen, &probe);
                body[0..4].copy_from_slice(&[5, 0, 0, 0]);
                w.raw_block(BT_OPB, &body);
            }
        }
        ts += 10 * US;
    }
    w.section();
    w.raw_block(BT_EPB, &epb_body(0, ts, caplen, &probe));
    w.interface(1, 262_144, None, Some("eth0"));
    let a = after(ts + 10 * MS, false);
    for (ts, f) in a.frames(&framing) {
        w.epb(0, ts, &f);
    }
    w.into_bytes()
}

/// A pcap whose clock jumps and steps back across many conversations, for
/// checking that a capture split across threads ends its flows as one
/// thread does: `n` HTTP conversations (each on its own address pair, so
/// the pairs spread over the shards) and DNS-like UDP exchanges, their
/// packets interleaved, dated from a clock (seeded by `seed`) that mostly
/// moves on by milliseconds to minutes, and now and then:
///
/// - dates one packet decades ahead, alone: no later time comes within a
///   day of it, so it is never believed (the second packet of the capture
///   is one, and the first of a pair of its own: what the `split_identity`
///   fuzz target found, that pair's shard believed it);
/// - jumps a month ahead and stays (the next time ahead confirms it);
/// - steps back minutes, or decades (a merged capture);
/// - puts in a frame that is not IP, which moves the clock all the same
///   (a second on, or a lone jump).
///
/// Flows then go idle, come back, and reach sweeps at different points
/// in each shard.
pub fn clock_jumps(n: usize, seed: u64) -> Vec<u8> {
    let mut w = pcap_writer();
    for (ts, frame) in clock_jumps_frames(n, seed) {
        w.packet(ts, &frame);
    }
    w.into_bytes()
}

/// [`clock_jumps`] as pcapng: one Enhanced Packet Block a frame.
pub fn clock_jumps_pcapng(n: usize, seed: u64) -> Vec<u8> {
    let mut w = PcapNgWriter::new(Endian::Little);
    w.interface(1, 262_144, None, Some("eth0"));
    for (ts, frame) in clock_jumps_frames(n, seed) {
        w.epb(0, ts, &frame);
    }
    w.into_bytes()
}

/// The frames of [`clock_jumps`], with their times.
fn clock_jumps_frames(n: usize, seed: u64) -> Vec<(u64, Vec<u8>)> {
    let framing = eth();
    let mut out = Vec::new();
    let mut rng = crate::SplitMix64::new(seed);
    let year = 365 * 86_400 * SEC;
    let day = 86_400 * SEC;
    let mut clock = BASE_TS;
    // Lone jumps ahead so far: each lands two days past the one before,
    // so none confirms another.
    let mut lone_jumps = 0u64;
    let mut lone = |clock: u64| {
        lone_jumps += 1;
        clock + 20 * year + lone_jumps * 2 * day
    };
    let far = udp_packet(
        sa(Ipv4Addr::new(203, 0, 49, 80), 80),
        sa(CLIENT_V4, 40_400),
        1,
        b"from the future",
    );
    let mut convs: Vec<(TcpConversation, Vec<Segment>)> = (0..n)
        .map(|i| {
            let server = Ipv4Addr::new(198, 51, 100, 100 + (i % 150) as u8);
            let client = sa(CLIENT_V4, 42_000 + i as u16);
            let mut conv = TcpConversation::new(client, sa(server, 80), 0x1000 * i as u32, 0x9000);
            let mut segs = conv.handshake();
            segs.push(conv.client_data(&http::get(&format!("/c{i}"), &format!("c{i}.example"))));
            segs.push(conv.server_data(&http::ok_text("ok")));
            segs.push(conv.client_fin());
            segs.push(conv.server_fin());
            segs.push(conv.client_ack());
            segs.reverse();
            (conv, segs)
        })
        .collect();
    let mut sent = 0u64;
    while !convs.is_empty() {
        let k = (rng.next_u64() % convs.len() as u64) as usize;
        let seg = convs[k].1.pop().expect("conversations with segments left");
        if convs[k].1.is_empty() {
            convs.swap_remove(k);
        }
        let roll = rng.next_u64() % 100;
        let step = rng.next_u64();
        let when = match roll {
            0..=39 => {
                clock += step % (900 * MS);
                clock
            }
            40..=69 => {
                clock += step % (120 * SEC);
                clock
            }
            70..=79 => {
                clock += step % (700 * SEC);
                clock
            }
            80..=86 => clock.saturating_sub(step % (300 * SEC)),
            87..=90 => clock.saturating_sub(30 * year),
            91..=94 => lone(clock),
            95..=96 => {
                clock += 30 * day;
                clock
            }
            _ => clock + step % SEC,
        };
        out.push((when, framing.frame(seg.dir, &seg.to_ip())));
        sent += 1;
        if sent == 1 {
            out.push((lone(clock), framing.frame(Direction::Inbound, &far)));
        }
        if sent.is_multiple_of(7) {
            // A DNS-like exchange on a pair of its own, a packet alone.
            let p = udp_packet(
                sa(CLIENT_V4, 50_000 + (sent % 1000) as u16),
                sa(RESOLVER_V4, 53),
                sent as u16,
                b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x01x\x07example\x00\x00\x01\x00\x01",
            );
            out.push((clock, framing.frame(Direction::Outbound, &p)));
        }
        if sent.is_multiple_of(11) {
            // A frame that is not IP: it moves the capture's clock (a
            // second on, or alone far ahead) though no flow holds it.
            let when = if sent.is_multiple_of(55) {
                lone(clock)
            } else {
                clock += SEC;
                clock
            };
            let f = crate::link::ethernet(GATEWAY_MAC, HOST_MAC, &[], 0x88b5, b"not ip");
            out.push((when, f));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Walks pcapng blocks while their framing holds; returns the offset
    /// where it stops.
    fn walk(b: &[u8]) -> usize {
        let mut off = 0;
        while off + 12 <= b.len() {
            let len = u32::from_le_bytes(b[off + 4..off + 8].try_into().unwrap()) as usize;
            if len < 12 || !len.is_multiple_of(4) || off + len > b.len() {
                break;
            }
            let trail = u32::from_le_bytes(b[off + len - 4..off + len].try_into().unwrap());
            if trail as usize != len {
                break;
            }
            off += len;
        }
        off
    }

    #[test]
    fn every_name_generates() {
        let s = Scale::small();
        for name in NAMES {
            assert!(generate(name, &s).is_some(), "{name}");
        }
        assert!(generate("nope.pcap", &s).is_none());
    }

    #[test]
    fn pcap_files_parse_to_the_end() {
        let s = Scale {
            syn_flows: 50,
            gap_beyond: 10_000,
            frag_trains: 20,
            bomb: 1 << 16,
            ..Scale::small()
        };
        for name in NAMES.iter().filter(|n| n.ends_with(".pcap")) {
            let bytes = generate(name, &s).unwrap();
            let mut off = 24;
            let mut packets = 0;
            while off < bytes.len() {
                let caplen = u32::from_le_bytes(bytes[off + 8..off + 12].try_into().unwrap());
                off += 16 + caplen as usize;
                packets += 1;
            }
            assert_eq!(off, bytes.len(), "{name}");
            assert!(packets > 20, "{name}");
        }
    }

    #[test]
    fn lying_blocks_sit_between_valid_ones() {
        for lie in LengthLie::ALL {
            let b = pcapng_lying_lengths(lie);
            let stop = walk(&b);
            if lie.framing_survives() {
                assert_eq!(stop, b.len(), "{lie:?}");
            } else {
                assert!(stop > 200 && stop < b.len() - 200, "{lie:?} at {stop}");
            }
        }
        // Missing interfaces are a matter of content, not framing.
        let b = missing_interface(8);
        assert_eq!(walk(&b), b.len());
    }

    #[test]
    fn the_bomb_is_small_on_the_wire() {
        let z = gzip_zeros(16 << 20);
        assert!(z.len() < 40_000, "{}", z.len());
        let mut d = flate2::read::GzDecoder::new(&z[..]);
        let n = std::io::copy(&mut d, &mut std::io::sink()).unwrap();
        assert_eq!(n, 16 << 20);
    }
}
