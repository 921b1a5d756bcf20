//! TCP reassembly: a `FlowTable` fed an arbitrary sequence of TCP segments
//! on up to four connections (both directions, any flags, sequence and
//! acknowledgement numbers near or far from the expected ones, payload
//! lengths, clock steps including idle timeouts and jumps), under default
//! or tiny `FlowConfig` limits.
//!
//! Every payload byte is the low byte of its own sequence number, so the
//! stream a direction delivers can be checked whatever the segmentation,
//! overlaps or retransmissions: consecutive bytes, across events too, are
//! consecutive numbers, and a gap of `len` bytes skips `len` numbers. Stream
//! offsets must follow each other exactly (data or gap).
#![no_main]

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use telltale_decode::{Packet, TcpFlags, TcpSegment, Timestamp, Transport};
use telltale_flow::{Dir, FlowConfig, FlowEvent, FlowEventKind, FlowSink, FlowTable};
use telltale_fuzz::Cursor;

/// `PATTERN[i] == i as u8`: the payload of a segment whose first byte has
/// sequence number `s` is `PATTERN[s % 256..][..len]`.
static PATTERN: LazyLock<Vec<u8>> = LazyLock::new(|| (0..70_000u32).map(|i| i as u8).collect());

#[derive(Default)]
struct DirCheck {
    /// Next stream offset expected.
    offset: u64,
    /// The sequence byte expected next (None before the first byte).
    next_byte: Option<u8>,
}

#[derive(Default)]
struct Check {
    dirs: HashMap<(u64, Dir), DirCheck>,
    closed: Vec<u64>,
    events: u64,
}

impl FlowSink for Check {
    fn on_event(&mut self, e: FlowEvent<'_>) {
        self.events += 1;
        let id = e.flow.id.0;
        assert!(!self.closed.contains(&id), "event after close for flow {id}");
        match e.kind {
            FlowEventKind::Data { dir, offset, bytes } => {
                assert!(!bytes.is_empty(), "empty data event");
                let d = self.dirs.entry((id, dir)).or_default();
                assert_eq!(offset, d.offset, "data offset of flow {id} {dir:?}");
                if let Some(b) = d.next_byte {
                    assert_eq!(bytes[0], b, "stream of flow {id} {dir:?} at {offset}");
                }
                for w in bytes.windows(2) {
                    assert_eq!(w[1], w[0].wrapping_add(1), "stream of flow {id} {dir:?}");
                }
                d.offset += bytes.len() as u64;
                d.next_byte = Some(bytes[bytes.len() - 1].wrapping_add(1));
            }
            FlowEventKind::Gap { dir, offset, len } => {
                assert!(len > 0, "empty gap");
                let d = self.dirs.entry((id, dir)).or_default();
                assert_eq!(offset, d.offset, "gap offset of flow {id} {dir:?}");
                d.offset += len;
                d.next_byte = d.next_byte.map(|b| b.wrapping_add(len as u8));
            }
            FlowEventKind::Close(s) => {
                assert_eq!(s.info.id.0, id);
                self.closed.push(id);
            }
            _ => {}
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut c = Cursor::new(data);
    let mode = c.u8();
    let mut config = FlowConfig::default();
    if mode & 1 != 0 {
        config.max_flows = usize::from(mode >> 6) + 1;
        config.max_buffer = usize::from(c.u16());
        config.max_stream = u64::from(c.u16()) * 4;
    }
    let mut table = FlowTable::new(config);
    let mut check = Check::default();
    // Per flow and direction: the sequence number this harness would send next.
    let mut next_seq = [[0u32; 2]; 4];
    for (i, f) in next_seq.iter_mut().enumerate() {
        *f = [1000 * i as u32 + 0xffff_f000, 0x8000_0000 + 77 * i as u32];
    }
    let mut secs = 1_000_000i64;
    let mut frame = 0u64;
    while !c.is_empty() && frame < 2048 {
        frame += 1;
        let h = c.u8();
        let flow = usize::from(h & 3);
        let dir = usize::from(h >> 2 & 1);
        secs += match h >> 3 {
            0..=23 => i64::from(h >> 3),
            24..=28 => 100 * i64::from(h >> 3),
            29 => 3 * 86_400,
            30 => -5,
            _ => -3 * 86_400,
        };
        let flags = c.u8();
        let m = c.u8();
        let seq = if m & 1 != 0 {
            c.u32()
        } else {
            let delta = i32::from(c.u8() as i8) << (m >> 1 & 7);
            next_seq[flow][dir].wrapping_add(delta as u32)
        };
        let ack = if m & 0x10 != 0 {
            c.u32()
        } else {
            next_seq[flow][1 - dir].wrapping_add((c.u8() as i8) as u32)
        };
        let l = c.u8();
        let len = if m & 0x20 != 0 { usize::from(l) * 256 } else { usize::from(l) };
        // Data on a SYN starts after the SYN's own sequence number.
        let first = seq.wrapping_add(u32::from(flags & TcpFlags::SYN != 0));
        let payload = &PATTERN[(first % 256) as usize..][..len];
        let wire_extra = if m & 0x40 != 0 { u32::from(c.u8()) } else { 0 };
        let mut end = seq.wrapping_add(len as u32);
        if flags & (TcpFlags::SYN | TcpFlags::FIN) != 0 {
            end = end.wrapping_add(1);
        }
        // Mostly move on from what was sent; sometimes stay put so the next
        // segment is a retransmission.
        if m & 0x80 == 0 {
            next_seq[flow][dir] = end;
        }
        let client = (Ipv4Addr::new(10, 0, 0, 1 + flow as u8), 40_000 + flow as u16);
        let server = (Ipv4Addr::new(10, 0, 0, 99), 443);
        let (src, dst) = if dir == 0 { (client, server) } else { (server, client) };
        let packet = Packet {
            frame,
            ts: Timestamp::from_nanos(secs.saturating_mul(1_000_000_000)),
            wire_len: 54 + len as u32,
            src: IpAddr::V4(src.0),
            dst: IpAddr::V4(dst.0),
            transport: Transport::Tcp(TcpSegment {
                src_port: src.1,
                dst_port: dst.1,
                seq,
                ack,
                flags: TcpFlags(flags),
                window: 65_535,
                payload,
                wire_len: len as u32 + wire_extra,
            }),
        };
        table.push(&packet, &mut check);
        assert!(table.len() <= config.max_flows);
    }
    table.finish(&mut check);
    assert!(table.is_empty(), "flows left after finish");
    let delivered: u64 = check.dirs.values().map(|d| d.offset).sum();
    std::hint::black_box(delivered);
});
