//! A timeline of IP packets that can be written under any framing and file
//! format.

use crate::link::{Direction, Framing};
use crate::pcap::{Endian, PcapWriter, TsResolution};
use crate::tcp::Segment;

/// One packet of a [`Trace`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TracePacket {
    /// Capture time, nanoseconds since the Unix epoch.
    pub ts_nanos: u64,
    /// Direction seen from the capturing host.
    pub dir: Direction,
    /// The IP packet.
    pub ip: Vec<u8>,
}

/// Packets in capture order. Timestamps come from a clock that moves by a
/// fixed step per packet, so reordering segments before pushing them keeps
/// file timestamps increasing, as they are in a real capture.
#[derive(Debug, Clone)]
pub struct Trace {
    /// The packets, first captured first.
    pub packets: Vec<TracePacket>,
    clock: u64,
    step: u64,
}

impl Trace {
    /// An empty trace starting at `start_nanos`, `step_nanos` between packets.
    pub fn new(start_nanos: u64, step_nanos: u64) -> Self {
        Trace {
            packets: Vec::new(),
            clock: start_nanos,
            step: step_nanos,
        }
    }

    /// Appends a packet and returns its 1-based frame number.
    pub fn push(&mut self, dir: Direction, ip: Vec<u8>) -> usize {
        self.packets.push(TracePacket {
            ts_nanos: self.clock,
            dir,
            ip,
        });
        self.clock += self.step;
        self.packets.len()
    }

    /// Appends a TCP segment and returns its frame number.
    pub fn segment(&mut self, seg: &Segment) -> usize {
        self.push(seg.dir, seg.to_ip())
    }

    /// Appends segments in the order given; returns the last frame number.
    pub fn segments(&mut self, segs: &[Segment]) -> usize {
        segs.iter()
            .map(|s| self.segment(s))
            .last()
            .unwrap_or(self.packets.len())
    }

    /// Moves the clock on by `nanos` (think time between exchanges).
    pub fn wait(&mut self, nanos: u64) {
        self.clock += nanos;
    }

    /// Time the next packet will get.
    pub fn now(&self) -> u64 {
        self.clock
    }

    /// Number of packets.
    pub fn len(&self) -> usize {
        self.packets.len()
    }

    /// Whether no packet was pushed.
    pub fn is_empty(&self) -> bool {
        self.packets.is_empty()
    }

    /// Each packet framed for `framing`, with its timestamp.
    pub fn frames(&self, framing: &Framing) -> Vec<(u64, Vec<u8>)> {
        self.packets
            .iter()
            .map(|p| (p.ts_nanos, framing.frame(p.dir, &p.ip)))
            .collect()
    }

    /// A classic pcap file of the whole trace.
    pub fn to_pcap(
        &self,
        framing: &Framing,
        endian: Endian,
        resolution: TsResolution,
        snaplen: u32,
    ) -> Vec<u8> {
        let mut w = PcapWriter::new(endian, resolution, framing.linktype(), snaplen);
        for (ts, f) in self.frames(framing) {
            w.packet(ts, &f);
        }
        w.into_bytes()
    }

    /// The usual case: little-endian, microseconds, snaplen 262144.
    pub fn to_default_pcap(&self, framing: &Framing) -> Vec<u8> {
        self.to_pcap(framing, Endian::Little, TsResolution::Micro, 262_144)
    }
}
