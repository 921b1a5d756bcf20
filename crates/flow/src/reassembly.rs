//! TCP reassembly of one direction of a connection into an ordered stream.
//!
//! Policy, written down because every IDS picks one: stream offsets count from
//! the byte after the SYN (or from the first byte seen in a capture that starts
//! mid-stream); when copies of the same range disagree, the first copy to
//! arrive wins; out-of-order data waits in a bounded buffer, and a hole that
//! will not fill is skipped with a gap so later data is still parsed. A hole is
//! given up on when the peer acknowledges data beyond it (the receiver got the
//! bytes; the capture missed them), when the buffer cap is reached, or when the
//! flow ends.

use std::collections::BTreeMap;

use telltale_decode::Timestamp;

/// What reassembly hands on: in-order bytes, or the news that some were lost.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Out<'a> {
    Data {
        offset: u64,
        bytes: &'a [u8],
        frame: u64,
        ts: Timestamp,
    },
    Gap {
        offset: u64,
        len: u64,
    },
}

struct Chunk {
    frame: u64,
    ts: Timestamp,
    data: Vec<u8>,
    /// Bytes this chunk stood for on the wire (more than `data` when the
    /// capture cut the segment); the shortfall is delivered as a gap.
    wire: u64,
}

/// Counters one direction adds to its flow's summary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct StreamStats {
    /// Bytes delivered in order.
    pub delivered: u64,
    /// Holes skipped.
    pub gaps: u64,
    /// Bytes skipped in holes.
    pub gap_bytes: u64,
    /// Segments wholly inside data already received.
    pub retransmissions: u64,
    /// Segments partly overlapping data already received (trimmed; first copy wins).
    pub overlaps: u64,
    /// Segments that arrived ahead of a hole and were buffered.
    pub out_of_order: u64,
    /// Times the out-of-order buffer cap forced a hole to be skipped.
    pub buffer_cap_hits: u64,
    /// Bytes not delivered because the per-direction stream cap was reached.
    pub capped_bytes: u64,
    /// Segments dropped because they lay more than 1 GiB from the expected
    /// byte (another sequence space, a forged or corrupt sequence number, or
    /// a capture that missed that much): nothing in them was read.
    pub out_of_window: u64,
}

pub(crate) struct Stream {
    /// Sequence number of stream offset 0, once known.
    base: Option<u32>,
    /// Offset of the next byte expected.
    next: u64,
    ooo: BTreeMap<u64, Chunk>,
    ooo_bytes: usize,
    fin: Option<u64>,
    /// The peer acknowledged up to here, beyond a hole: the hole is given up
    /// on at the next segment of this direction that does not fill it (one
    /// segment's grace, for captures that record an ACK before the data).
    acked_past_hole: Option<u64>,
    pub(crate) stats: StreamStats,
}

/// What a buffered chunk costs against the cap beyond its bytes: the map
/// node and chunk header, so empty or tiny chunks (snaplen-cut segments,
/// one-byte floods) cannot be buffered for free.
const CHUNK_OVERHEAD: usize = 64;

fn cost(len: usize) -> usize {
    len + CHUNK_OVERHEAD
}

/// Segments further than this from the expected offset are not from this
/// stream's sequence space (or are hopelessly far); half the 32-bit space.
const MAX_AHEAD: u64 = 1 << 30;

/// How far ahead of the expected byte a RST may point and still count (a
/// generous receive window).
const RST_WINDOW: u64 = 1 << 20;

impl Stream {
    pub(crate) fn new() -> Self {
        Stream {
            base: None,
            next: 0,
            ooo: BTreeMap::new(),
            ooo_bytes: 0,
            fin: None,
            acked_past_hole: None,
            stats: StreamStats::default(),
        }
    }

    pub(crate) fn syn(&mut self, seq: u32) {
        if self.base.is_none() {
            self.base = Some(seq.wrapping_add(1));
        }
    }

    /// Whether the FIN's position has been reached.
    pub(crate) fn finished(&self) -> bool {
        self.fin.is_some_and(|f| self.next >= f)
    }

    pub(crate) fn buffered(&self) -> usize {
        self.ooo_bytes
    }

    /// Maps a sequence number to the stream offset nearest the expected one,
    /// so wrap-around of the 32-bit space is invisible.
    fn offset_of(&self, seq: u32) -> Option<u64> {
        let base = self.base?;
        let rel = seq.wrapping_sub(base);
        let delta = rel.wrapping_sub(self.next as u32) as i32 as i64;
        let off = self.next as i64 + delta;
        (off >= 0).then_some(off as u64)
    }

    #[allow(clippy::too_many_arguments)]
    #[inline]
    pub(crate) fn segment(
        &mut self,
        seq: u32,
        data: &[u8],
        wire: u64,
        fin: bool,
        frame: u64,
        ts: Timestamp,
        limits: &Limits,
        emit: &mut impl FnMut(Out<'_>),
    ) {
        if self.base.is_none() {
            if wire == 0 && !fin {
                return;
            }
            // Mid-stream: the first byte seen is offset 0.
            self.base = Some(seq);
        }
        let Some(off) = self.offset_of(seq) else {
            self.stats.retransmissions += 1;
            return;
        };
        if fin {
            let end = off + wire;
            self.fin = Some(self.fin.map_or(end, |f| f.min(end)));
        }
        if wire > 0 {
            self.data(off, data, wire, frame, ts, limits, emit);
        }
        if let Some(acked) = self.acked_past_hole.take() {
            while let Some((&s, _)) = self.ooo.first_key_value() {
                if s > acked || s <= self.next {
                    break;
                }
                self.skip_hole(limits, emit);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn data(
        &mut self,
        off: u64,
        data: &[u8],
        wire: u64,
        frame: u64,
        ts: Timestamp,
        limits: &Limits,
        emit: &mut impl FnMut(Out<'_>),
    ) {
        let end = off + wire;
        if end <= self.next {
            if self.next - end > MAX_AHEAD {
                self.stats.out_of_window += 1;
            } else {
                self.stats.retransmissions += 1;
            }
            return;
        }
        if off > self.next.saturating_add(MAX_AHEAD) {
            self.stats.out_of_window += 1;
            return;
        }
        let (off, data, wire) = if off < self.next {
            self.stats.overlaps += 1;
            let k = (self.next - off) as usize;
            (
                self.next,
                data.get(k..).unwrap_or_default(),
                wire - k as u64,
            )
        } else {
            (off, data, wire)
        };
        if off == self.next {
            if self.ooo.first_key_value().is_some_and(|(&s, _)| s < end) {
                // Buffered bytes arrived before these for part of the range:
                // merge through the buffer so the first copy wins there too.
                self.insert(off, data, wire, frame, ts);
            } else {
                self.deliver(off, data, wire, frame, ts, limits, emit);
            }
            self.drain(limits, emit);
            return;
        }
        self.stats.out_of_order += 1;
        if self.ooo_bytes + cost(data.len()) > limits.max_buffer {
            self.stats.buffer_cap_hits += 1;
            while self.ooo_bytes + cost(data.len()) > limits.max_buffer && !self.ooo.is_empty() {
                self.skip_hole(limits, emit);
            }
            if off <= self.next {
                // The holes closed up to or past this segment: take it now.
                return self.data(off, data, wire, frame, ts, limits, emit);
            }
        }
        self.insert(off, data, wire, frame, ts);
    }

    /// Buffers an out-of-order segment, keeping only the parts no earlier
    /// segment covers (first copy wins).
    fn insert(&mut self, off: u64, data: &[u8], wire: u64, frame: u64, ts: Timestamp) {
        let end = off + wire;
        let mut pieces = Vec::new();
        let mut cursor = off;
        // Chunks that may overlap [off, end), in order.
        let first = self
            .ooo
            .range(..off)
            .next_back()
            .map(|(s, _)| *s)
            .unwrap_or(off);
        for (&s, c) in self.ooo.range(first..end) {
            let e = s + c.wire;
            if e <= cursor {
                continue;
            }
            if s > cursor {
                pieces.push((cursor, s));
            }
            cursor = cursor.max(e);
        }
        if cursor < end {
            pieces.push((cursor, end));
        }
        if pieces.len() != 1 || pieces[0] != (off, end) {
            self.stats.overlaps += 1;
        }
        for (s, e) in pieces {
            let lo = ((s - off) as usize).min(data.len());
            let hi = ((e - off) as usize).min(data.len());
            let bytes = data[lo..hi].to_vec();
            self.ooo_bytes += cost(bytes.len());
            self.ooo.insert(
                s,
                Chunk {
                    frame,
                    ts,
                    data: bytes,
                    wire: e - s,
                },
            );
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn deliver(
        &mut self,
        off: u64,
        data: &[u8],
        wire: u64,
        frame: u64,
        ts: Timestamp,
        limits: &Limits,
        emit: &mut impl FnMut(Out<'_>),
    ) {
        let room = limits.max_stream.saturating_sub(self.stats.delivered);
        let take = data.len().min(room.min(usize::MAX as u64) as usize);
        if take > 0 {
            emit(Out::Data {
                offset: off,
                bytes: &data[..take],
                frame,
                ts,
            });
            self.stats.delivered += take as u64;
        }
        let dropped = (data.len() - take) as u64;
        self.stats.capped_bytes += dropped;
        let missing = wire.saturating_sub(data.len() as u64);
        if missing > 0 && room > data.len() as u64 {
            self.stats.gaps += 1;
            self.stats.gap_bytes += missing;
            emit(Out::Gap {
                offset: off + data.len() as u64,
                len: missing,
            });
        }
        self.next = off + wire;
    }

    /// Delivers buffered chunks that have become contiguous.
    fn drain(&mut self, limits: &Limits, emit: &mut impl FnMut(Out<'_>)) {
        while let Some(entry) = self.ooo.first_entry() {
            if *entry.key() > self.next {
                break;
            }
            let (s, c) = entry.remove_entry();
            self.ooo_bytes -= cost(c.data.len());
            let e = s + c.wire;
            if e <= self.next {
                continue;
            }
            let k = (self.next - s) as usize;
            let data = c.data.get(k..).unwrap_or_default();
            self.deliver(self.next, data, e - self.next, c.frame, c.ts, limits, emit);
        }
    }

    /// Gives up on the hole before the first buffered chunk.
    fn skip_hole(&mut self, limits: &Limits, emit: &mut impl FnMut(Out<'_>)) {
        let Some((&s, _)) = self.ooo.first_key_value() else {
            return;
        };
        // Past the delivery cap nothing is passed on, holes included: a gap
        // there would follow bytes that were never delivered.
        if s > self.next && self.stats.delivered < limits.max_stream {
            self.stats.gaps += 1;
            self.stats.gap_bytes += s - self.next;
            emit(Out::Gap {
                offset: self.next,
                len: s - self.next,
            });
        }
        self.next = self.next.max(s);
        self.drain(limits, emit);
    }

    /// The peer acknowledged `ack`: a hole below it will not fill (the
    /// receiver has the bytes; the capture missed them). Given up on at this
    /// direction's next segment, unless that segment fills it.
    pub(crate) fn acked(&mut self, ack: u32) {
        let Some(ack_off) = self.offset_of(ack) else {
            return;
        };
        if self
            .ooo
            .first_key_value()
            .is_some_and(|(&s, _)| s > self.next && s <= ack_off)
        {
            self.acked_past_hole = Some(self.acked_past_hole.map_or(ack_off, |a| a.max(ack_off)));
        }
    }

    /// Whether a RST with this sequence number belongs to the stream: near
    /// the next expected byte, as a real endpoint's RST is. Blind or stale
    /// RSTs (injected, or from an old connection) do not end the flow.
    pub(crate) fn rst_in_window(&self, seq: u32) -> bool {
        match self.base {
            None => true,
            Some(_) => self
                .offset_of(seq)
                .is_some_and(|off| off + 1 >= self.next && off <= self.next + RST_WINDOW),
        }
    }

    /// End of the flow: everything buffered is delivered, holes as gaps.
    pub(crate) fn flush(&mut self, limits: &Limits, emit: &mut impl FnMut(Out<'_>)) {
        while !self.ooo.is_empty() {
            self.skip_hole(limits, emit);
        }
    }
}

/// Reassembly limits, per direction of a flow.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Out-of-order bytes buffered before a hole is skipped.
    pub max_buffer: usize,
    /// Bytes delivered before the rest of the direction is dropped (and counted).
    pub max_stream: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        max_buffer: 1 << 20,
        max_stream: u64::MAX,
    };

    /// Feeds `(seq, bytes)` segments and returns the stream as text, with `_`
    /// for each byte lost in a gap.
    fn run(isn: u32, segs: &[(u32, &[u8])], limits: Limits) -> (String, StreamStats) {
        let mut s = Stream::new();
        s.syn(isn);
        let mut out = String::new();
        let mut expect = 0;
        let mut emit = |o: Out<'_>| match o {
            Out::Data { offset, bytes, .. } => {
                assert_eq!(offset, expect);
                out.push_str(std::str::from_utf8(bytes).unwrap());
                expect += bytes.len() as u64;
            }
            Out::Gap { offset, len } => {
                assert_eq!(offset, expect);
                out.push_str(&"_".repeat(len as usize));
                expect += len;
            }
        };
        for (i, (seq, b)) in segs.iter().enumerate() {
            s.segment(
                *seq,
                b,
                b.len() as u64,
                false,
                i as u64,
                Timestamp::default(),
                &limits,
                &mut emit,
            );
        }
        s.flush(&limits, &mut emit);
        (out, s.stats)
    }

    #[test]
    fn in_order_out_of_order_and_retransmit() {
        let (s, st) = run(
            99,
            &[(100, b"abc"), (106, b"ghi"), (103, b"def"), (103, b"def")],
            LIMITS,
        );
        assert_eq!(s, "abcdefghi");
        assert_eq!(st.out_of_order, 1);
        assert_eq!(st.retransmissions, 1);
    }

    #[test]
    fn overlap_first_copy_wins() {
        // "XYZ" overlaps "def" already buffered; "QQ" overlaps delivered "bc".
        let (s, st) = run(
            99,
            &[
                (100, b"a"),
                (104, b"efg"),
                (103, b"dXYZh"),
                (101, b"bc"),
                (102, b"QQ"),
            ],
            LIMITS,
        );
        assert_eq!(s, "abcdefgh");
        assert_eq!((st.overlaps, st.retransmissions), (1, 1));
    }

    #[test]
    fn gap_skipped_at_end_and_by_cap() {
        let (s, st) = run(0, &[(1, b"ab"), (6, b"fg")], LIMITS);
        assert_eq!(s, "ab___fg");
        assert_eq!(st.gaps, 1);
        assert_eq!(st.gap_bytes, 3);
        // Room for one small chunk and its overhead, not two.
        let small = Limits {
            max_buffer: 130,
            max_stream: u64::MAX,
        };
        let (s, st) = run(0, &[(1, b"a"), (4, b"de"), (8, b"hij"), (20, b"t")], small);
        assert_eq!(s, "a__de__hij_________t");
        assert_eq!(st.buffer_cap_hits, 2);
    }

    #[test]
    fn ack_beyond_hole_skips_it() {
        let mut s = Stream::new();
        s.syn(0);
        let mut got = Vec::new();
        let t = Timestamp::default();
        s.segment(1, b"ab", 2, false, 1, t, &LIMITS, &mut |o| {
            got.push(format!("{o:?}"))
        });
        s.segment(5, b"ef", 2, false, 2, t, &LIMITS, &mut |o| {
            got.push(format!("{o:?}"))
        });
        // A duplicate ACK at the hole: the receiver is still waiting.
        s.acked(3);
        s.segment(7, b"gh", 2, false, 3, t, &LIMITS, &mut |o| {
            got.push(format!("{o:?}"))
        });
        assert_eq!(got.len(), 1);
        // ACK past the hole, then the data that was reordered behind it in
        // the capture: it still fills the hole.
        s.acked(9);
        s.segment(3, b"cd", 2, false, 4, t, &LIMITS, &mut |o| {
            got.push(format!("{o:?}"))
        });
        assert_eq!(got.len(), 4);
        assert!(got.iter().all(|g| !g.contains("Gap")), "{got:?}");
        // A new hole acked past, and a later segment that does not fill it.
        s.segment(11, b"kl", 2, false, 5, t, &LIMITS, &mut |o| {
            got.push(format!("{o:?}"))
        });
        s.acked(13);
        s.segment(13, b"mn", 2, false, 6, t, &LIMITS, &mut |o| {
            got.push(format!("{o:?}"))
        });
        assert!(got[4].contains("Gap { offset: 8, len: 2 }"), "{got:?}");
        assert_eq!(got.len(), 7);
    }

    #[test]
    fn buffer_cap_holds_against_tiny_and_empty_chunks() {
        let small = Limits {
            max_buffer: 4096,
            max_stream: u64::MAX,
        };
        let mut s = Stream::new();
        s.syn(0);
        let mut gaps = 0;
        // A hole at offset 0, then 10,000 snaplen-cut (empty) segments.
        for i in 0..10_000u32 {
            s.segment(
                2 + i * 10,
                b"",
                10,
                false,
                u64::from(i),
                Timestamp::default(),
                &small,
                &mut |o| {
                    if matches!(o, Out::Gap { .. }) {
                        gaps += 1
                    }
                },
            );
            assert!(s.ooo_bytes <= small.max_buffer);
        }
        assert!(gaps > 0);
    }

    #[test]
    fn rst_window() {
        let mut s = Stream::new();
        s.syn(1000);
        assert!(s.rst_in_window(1001));
        assert!(!s.rst_in_window(1001 + (1 << 21)));
        assert!(!s.rst_in_window(500));
    }

    #[test]
    fn sequence_wraparound() {
        let (s, _) = run(
            u32::MAX - 2,
            &[(u32::MAX - 1, b"ab"), (1, b"de"), (0, b"c")],
            LIMITS,
        );
        assert_eq!(s, "abcde");
    }

    /// Found by the `tcp_reassembly` fuzz target: a hole skipped after the
    /// stream cap was hit came out as a `Gap` at an offset past the bytes
    /// delivered. The input (that target's layout: `max_stream` 0, data,
    /// then segments beyond a hole, then the end of the flow), in hex:
    /// `070002000000000412000000000800001000000818000000640c18000000c808`
    /// `11000000000c10fffff900`.
    #[test]
    fn no_gap_past_the_stream_cap() {
        let cap = Limits {
            max_buffer: 1 << 20,
            max_stream: 2,
        };
        // `run` checks that every event starts where the previous one ended.
        let (s, st) = run(0, &[(1, b"abc"), (10, b"xyz")], cap);
        assert_eq!(s, "ab");
        assert_eq!((st.gaps, st.capped_bytes), (0, 4));
        let nothing = Limits {
            max_buffer: 1 << 20,
            max_stream: 0,
        };
        let (s, st) = run(0, &[(1, b"abc"), (10, b"xyz"), (20, b"!")], nothing);
        assert_eq!((s.as_str(), st.gaps), ("", 0));
    }

    #[test]
    fn stream_cap_counts_dropped_bytes() {
        let cap = Limits {
            max_buffer: 1 << 20,
            max_stream: 4,
        };
        let (s, st) = run(0, &[(1, b"abc"), (4, b"def")], cap);
        assert_eq!(s, "abcd");
        assert_eq!(st.capped_bytes, 2);
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    /// A stream, cut into segments that are then shuffled, duplicated and
    /// re-cut so they overlap: any arrival order must give back the stream.
    fn arrivals() -> impl Strategy<Value = (Vec<u8>, Vec<(usize, usize)>, u32)> {
        (1usize..3000, any::<u32>())
            .prop_flat_map(|(len, isn)| {
                let data = proptest::collection::vec(any::<u8>(), len);
                let cuts = proptest::collection::vec(0..len, 0..40);
                let extra = proptest::collection::vec((0..len, 1usize..400), 0..20);
                (data, cuts, extra, Just(isn), any::<u64>())
            })
            .prop_map(|(data, mut cuts, extra, isn, seed)| {
                cuts.push(0);
                cuts.push(data.len());
                cuts.sort_unstable();
                cuts.dedup();
                let mut segs: Vec<(usize, usize)> = cuts.windows(2).map(|w| (w[0], w[1])).collect();
                for (start, len) in extra {
                    segs.push((start, (start + len).min(data.len())));
                }
                // Deterministic shuffle from the seed (Fisher-Yates, xorshift).
                let mut x = seed | 1;
                for i in (1..segs.len()).rev() {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    segs.swap(i, (x % (i as u64 + 1)) as usize);
                }
                (data, segs, isn)
            })
    }

    proptest! {
        #[test]
        fn any_order_gives_the_same_stream((data, segs, isn) in arrivals()) {
            let limits = Limits { max_buffer: 1 << 20, max_stream: u64::MAX };
            let mut s = Stream::new();
            s.syn(isn);
            let mut out = Vec::new();
            let mut gaps = 0;
            let mut emit = |o: Out<'_>| match o {
                Out::Data { offset, bytes, .. } => {
                    assert_eq!(offset, out.len() as u64);
                    out.extend_from_slice(bytes);
                }
                Out::Gap { .. } => gaps += 1,
            };
            for (i, (a, b)) in segs.iter().enumerate() {
                let seq = isn.wrapping_add(1).wrapping_add(*a as u32);
                let bytes = &data[*a..*b];
                s.segment(seq, bytes, bytes.len() as u64, false, i as u64, Timestamp::default(), &limits, &mut emit);
            }
            s.flush(&limits, &mut emit);
            prop_assert_eq!(gaps, 0);
            prop_assert_eq!(out, data);
        }

        #[test]
        fn conflicting_copies_keep_the_first((len, cut, over) in (10usize..500, 1usize..9, 1usize..9)) {
            // Original stream of 'a'; a second copy of a middle range says 'b'
            // and arrives later: the stream is all 'a'.
            let limits = Limits { max_buffer: 1 << 20, max_stream: u64::MAX };
            let data = vec![b'a'; len];
            let mut s = Stream::new();
            s.syn(0);
            let mut out = Vec::new();
            let mut emit = |o: Out<'_>| if let Out::Data { bytes, .. } = o { out.extend_from_slice(bytes) };
            let c = len * cut / 10;
            // Tail first (buffered), then the conflicting copy, then the head.
            s.segment(1 + c as u32, &data[c..], (len - c) as u64, false, 0, Timestamp::default(), &limits, &mut emit);
            let o = len * over / 10;
            let fake = vec![b'b'; len - o];
            s.segment(1 + o as u32, &fake, fake.len() as u64, false, 1, Timestamp::default(), &limits, &mut emit);
            s.segment(1, &data[..c], c as u64, false, 2, Timestamp::default(), &limits, &mut emit);
            s.flush(&limits, &mut emit);
            // Where the fake copy arrived before the head, the head's own bytes
            // came later: first copy wins there, so 'b' may only appear in the
            // range the fake copy covered before the head arrived.
            let expect: Vec<u8> = (0..len).map(|i| if i >= o.min(c) && i < c { b'b' } else { b'a' }).collect();
            prop_assert_eq!(out, expect);
        }
    }
}
