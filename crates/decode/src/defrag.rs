//! IP fragment reassembly with a hard memory bound.

use std::cmp::Reverse;
use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use crate::Timestamp;

/// Limits of the fragment reassembly pool.
///
/// Hostile captures (fragment floods, overlapping teardrop-style fragments,
/// fragments that never complete) must not grow memory: when a limit is hit
/// the oldest incomplete datagram is dropped and counted. Besides these
/// limits, a datagram may hold at most 64 fragments (past that it is dropped
/// and counted as evicted), and each fragment is charged 64 bytes of
/// bookkeeping on top of its payload against `max_bytes`.
#[derive(Clone, Copy, Debug)]
pub struct DefragLimits {
    /// Incomplete datagrams held at once.
    pub max_datagrams: usize,
    /// Fragment bytes held at once, over all datagrams, each fragment
    /// counting 64 bytes more than its payload.
    pub max_bytes: usize,
    /// How long (capture time) an incomplete datagram is kept.
    pub timeout_secs: i64,
}

impl Default for DefragLimits {
    fn default() -> Self {
        DefragLimits {
            max_datagrams: 4096,
            max_bytes: 16 << 20,
            timeout_secs: 30,
        }
    }
}

/// Counters of the reassembly pool.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct DefragStats {
    /// Fragments received.
    pub fragments: u64,
    /// Datagrams completed.
    pub reassembled: u64,
    /// Incomplete datagrams dropped after the timeout.
    pub timed_out: u64,
    /// Incomplete datagrams dropped because a limit was hit (pool size, pool
    /// bytes, fragments per datagram).
    pub evicted: u64,
    /// Fragments that could not belong to a valid datagram (beyond 64 KiB,
    /// conflicting last fragments, non-last fragments that are empty or not a
    /// multiple of 8 bytes).
    pub invalid: u64,
}

impl DefragStats {
    /// Adds another pool's counters (a capture decoded in shards).
    pub fn merge(&mut self, o: &DefragStats) {
        self.fragments += o.fragments;
        self.reassembled += o.reassembled;
        self.timed_out += o.timed_out;
        self.evicted += o.evicted;
        self.invalid += o.invalid;
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct FragKey {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub id: u32,
    pub proto: u8,
}

struct Fragment {
    offset: usize,
    /// Arrival rank within its datagram: when fragments overlap, the first to
    /// arrive wins, as in most IDS reassembly policies.
    arrival: u32,
    data: Vec<u8>,
}

struct Pending {
    first_seen: Timestamp,
    /// Pool-wide insertion number: breaks ties between datagrams first seen
    /// at the same time, so eviction does not depend on hash order.
    seq: u64,
    /// Sorted by (offset, arrival), so the coverage check is one linear pass.
    frags: Vec<Fragment>,
    total: Option<usize>,
    arrivals: u32,
    /// What this datagram is charged against `max_bytes`.
    cost: usize,
}

/// Largest reassembled payload: an IP datagram's length field is 16 bits.
const MAX_DATAGRAM: usize = 65_535;

/// Fragments one datagram may hold. A 64 KiB datagram needs 45 fragments on
/// a 1500-byte MTU and 52 on IPv6's 1280 minimum; more than this is a flood
/// (thousands of copies of one fragment that never completes), and the cap
/// keeps every push at a bounded cost.
const MAX_FRAGMENTS: usize = 64;

/// Bookkeeping charged per fragment on top of its bytes, so empty or tiny
/// fragments are not free: without it, zero-length last fragments piled up
/// while the byte count stayed at 0.
const FRAGMENT_OVERHEAD: usize = 64;

pub(crate) struct Defragmenter {
    limits: DefragLimits,
    pending: HashMap<FragKey, Pending>,
    /// The pending datagrams oldest first, by (first seen, insertion number):
    /// eviction and timeouts take from the front in O(log n), in the same
    /// order on every run.
    order: BTreeMap<(Timestamp, u64), FragKey>,
    next_seq: u64,
    /// Bytes charged against `max_bytes`: fragment bytes plus overhead.
    bytes: usize,
    last_sweep: Timestamp,
    pub(crate) stats: DefragStats,
}

impl Defragmenter {
    pub(crate) fn new(limits: DefragLimits) -> Self {
        Defragmenter {
            limits,
            pending: HashMap::new(),
            order: BTreeMap::new(),
            next_seq: 0,
            bytes: 0,
            last_sweep: Timestamp::default(),
            stats: DefragStats::default(),
        }
    }

    /// Adds one fragment; when it completes its datagram, writes the payload
    /// into `out` and returns true.
    pub(crate) fn push(
        &mut self,
        key: FragKey,
        ts: Timestamp,
        offset: usize,
        more: bool,
        data: &[u8],
        out: &mut Vec<u8>,
    ) -> bool {
        self.stats.fragments += 1;
        let end = offset.saturating_add(data.len());
        // Every fragment but the last carries a non-empty multiple of 8 bytes
        // (offsets count in 8-byte units, RFC 791 and RFC 8200); anything
        // else cannot be part of a valid datagram.
        let bad_middle = more && (data.is_empty() || !data.len().is_multiple_of(8));
        if end > MAX_DATAGRAM || bad_middle {
            self.stats.invalid += 1;
            return false;
        }
        self.sweep(ts);
        if let Some(p) = self.pending.get(&key) {
            if !more && p.total.is_some_and(|t| t != end) {
                self.stats.invalid += 1;
                return false;
            }
            if p.frags.len() >= MAX_FRAGMENTS {
                self.remove(&key);
                self.stats.evicted += 1;
                return false;
            }
        }
        let cost = data.len() + FRAGMENT_OVERHEAD;
        if cost > self.limits.max_bytes {
            // This fragment can never be held, so its datagram can never
            // complete: drop what there is of it rather than other datagrams.
            self.remove(&key);
            self.stats.evicted += 1;
            return false;
        }
        if !self.pending.contains_key(&key) {
            while self.pending.len() >= self.limits.max_datagrams.max(1) && self.evict_oldest() {}
        }
        while self.bytes + cost > self.limits.max_bytes && self.evict_oldest() {}

        let p = match self.pending.entry(key) {
            Entry::Occupied(o) => o.into_mut(),
            Entry::Vacant(v) => {
                let seq = self.next_seq;
                self.next_seq += 1;
                self.order.insert((ts, seq), key);
                v.insert(Pending {
                    first_seen: ts,
                    seq,
                    frags: Vec::new(),
                    total: None,
                    arrivals: 0,
                    cost: 0,
                })
            }
        };
        if !more {
            p.total = Some(end);
        }
        // After any equal offsets, so equal offsets stay in arrival order.
        let at = p.frags.partition_point(|f| f.offset <= offset);
        p.frags.insert(
            at,
            Fragment {
                offset,
                arrival: p.arrivals,
                data: data.to_vec(),
            },
        );
        p.arrivals += 1;
        p.cost += cost;
        self.bytes += cost;

        // Only a datagram whose length is known can be complete.
        let Some(total) = p.total else { return false };
        if !covers(&p.frags, total) {
            return false;
        }
        let Some(p) = self.remove(&key) else {
            return false;
        };
        out.clear();
        out.resize(total, 0);
        // Later arrivals are written first so the earliest copy of any byte
        // is the one left standing.
        let mut latest_first: Vec<&Fragment> = p.frags.iter().collect();
        latest_first.sort_unstable_by_key(|f| Reverse(f.arrival));
        for f in latest_first {
            let end = (f.offset + f.data.len()).min(total);
            if f.offset < end {
                out[f.offset..end].copy_from_slice(&f.data[..end - f.offset]);
            }
        }
        self.stats.reassembled += 1;
        true
    }

    fn sweep(&mut self, now: Timestamp) {
        if now.nanos_since(self.last_sweep) < 1_000_000_000 {
            return;
        }
        self.last_sweep = now;
        let timeout = self.limits.timeout_secs.saturating_mul(1_000_000_000);
        // Oldest first: the expired datagrams are a prefix of `order`.
        while let Some((&(first_seen, _), &key)) = self.order.first_key_value() {
            if now.nanos_since(first_seen) <= timeout {
                break;
            }
            self.remove(&key);
            self.stats.timed_out += 1;
        }
    }

    /// Drops the oldest incomplete datagram; false when there is none.
    fn evict_oldest(&mut self) -> bool {
        let Some((_, key)) = self.order.pop_first() else {
            return false;
        };
        if let Some(p) = self.pending.remove(&key) {
            self.bytes -= p.cost;
            self.stats.evicted += 1;
        }
        true
    }

    fn remove(&mut self, key: &FragKey) -> Option<Pending> {
        let p = self.pending.remove(key)?;
        self.order.remove(&(p.first_seen, p.seq));
        self.bytes -= p.cost;
        Some(p)
    }

    /// Incomplete datagrams still held (counted as lost at the end).
    pub(crate) fn pending(&self) -> usize {
        self.pending.len()
    }
}

/// Whether fragments sorted by offset leave no hole in `0..total`.
fn covers(frags: &[Fragment], total: usize) -> bool {
    let mut covered = 0;
    for f in frags {
        if covered >= total {
            break;
        }
        if f.offset > covered {
            return false;
        }
        covered = covered.max(f.offset + f.data.len());
    }
    covered >= total
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: u32) -> FragKey {
        FragKey {
            src: "10.0.0.1".parse().unwrap(),
            dst: "10.0.0.2".parse().unwrap(),
            id,
            proto: 17,
        }
    }

    #[test]
    fn out_of_order_and_overlap_first_wins() {
        let mut d = Defragmenter::new(DefragLimits::default());
        let mut out = Vec::new();
        let t = Timestamp::from_nanos(0);
        assert!(!d.push(key(1), t, 16, false, b"CCCCCCCC", &mut out));
        assert!(!d.push(key(1), t, 8, true, b"BBBBBBBB", &mut out));
        // Overlaps the B fragment with other bytes: B arrived first and stays.
        assert!(!d.push(key(1), t, 8, true, b"XXXXXXXX", &mut out));
        assert!(d.push(key(1), t, 0, true, b"AAAAAAAA", &mut out));
        assert_eq!(out, b"AAAAAAAABBBBBBBBCCCCCCCC");
        assert_eq!(d.pending(), 0);
        assert_eq!(d.bytes, 0);
    }

    #[test]
    fn limits_evict_and_timeout() {
        let limits = DefragLimits {
            max_datagrams: 2,
            max_bytes: 1 << 20,
            timeout_secs: 30,
        };
        let mut d = Defragmenter::new(limits);
        let mut out = Vec::new();
        for id in 0..10 {
            d.push(
                key(id),
                Timestamp::from_nanos(id as i64),
                0,
                true,
                b"12345678",
                &mut out,
            );
        }
        assert_eq!(d.pending(), 2);
        assert_eq!(d.stats.evicted, 8);
        d.push(
            key(99),
            Timestamp::from_nanos(100_000_000_000),
            0,
            true,
            b"12345678",
            &mut out,
        );
        assert_eq!(d.stats.timed_out, 2);
        assert_eq!(d.pending(), 1);
        // Beyond the 64 KiB a datagram can have.
        assert!(!d.push(
            key(5),
            Timestamp::from_nanos(0),
            65_530,
            false,
            b"0123456789",
            &mut out
        ));
        assert_eq!(d.stats.invalid, 1);
    }

    #[test]
    fn fragment_flood_on_one_datagram_stays_bounded() {
        let mut d = Defragmenter::new(DefragLimits::default());
        let mut out = Vec::new();
        let t = Timestamp::from_nanos(0);
        // The reviewer's input: a last fragment, then 100k one-byte
        // more-fragments copies at one offset. One byte is not a multiple of
        // 8, so none of them is held.
        assert!(!d.push(key(1), t, 64, false, b"LLLLLLLL", &mut out));
        for _ in 0..100_000 {
            assert!(!d.push(key(1), t, 8, true, b"x", &mut out));
        }
        assert_eq!(d.stats.invalid, 100_000);
        assert_eq!(d.pending[&key(1)].frags.len(), 1);
        // Well-formed copies are held up to the cap, then the datagram goes
        // and a new one starts: never more than 64 fragments per datagram.
        for _ in 0..100_000 {
            assert!(!d.push(key(1), t, 8, true, b"12345678", &mut out));
            let held = d.pending.get(&key(1)).map_or(0, |p| p.frags.len());
            assert!(held <= MAX_FRAGMENTS);
        }
        assert!(d.stats.evicted >= 100_000 / (MAX_FRAGMENTS as u64 + 1));
        assert!(d.pending() <= 1);
        // Empty non-last fragments are invalid too.
        assert!(!d.push(key(2), t, 0, true, b"", &mut out));
        assert_eq!(d.stats.invalid, 100_001);
    }

    #[test]
    fn empty_last_fragments_are_charged() {
        let limits = DefragLimits {
            max_datagrams: 4096,
            max_bytes: 10 * FRAGMENT_OVERHEAD,
            timeout_secs: 30,
        };
        let mut d = Defragmenter::new(limits);
        let mut out = Vec::new();
        for id in 0..1000 {
            d.push(key(id), Timestamp::from_nanos(0), 800, false, b"", &mut out);
            assert!(d.bytes <= 10 * FRAGMENT_OVERHEAD);
        }
        assert_eq!(d.pending(), 10);
        assert_eq!(d.stats.evicted, 990);
        // Zero-length last fragments on one datagram: bounded by the cap.
        let mut d = Defragmenter::new(DefragLimits::default());
        for _ in 0..1000 {
            d.push(key(1), Timestamp::from_nanos(0), 800, false, b"", &mut out);
            let held = d.pending.get(&key(1)).map_or(0, |p| p.frags.len());
            assert!(held <= MAX_FRAGMENTS);
            assert_eq!(d.bytes, held * FRAGMENT_OVERHEAD);
        }
        assert!(d.stats.evicted >= 1000 / MAX_FRAGMENTS as u64);
    }

    #[test]
    fn eviction_order_is_deterministic() {
        // Every HashMap gets its own random hash seed: run the same input on
        // many pools. All datagrams are first seen at the same time, so only
        // the insertion order can decide which one goes.
        for _ in 0..32 {
            let limits = DefragLimits {
                max_datagrams: 3,
                max_bytes: 1 << 20,
                timeout_secs: 30,
            };
            let mut d = Defragmenter::new(limits);
            let mut out = Vec::new();
            let t = Timestamp::from_nanos(5);
            for id in 0..10 {
                d.push(key(id), t, 0, true, b"AAAAAAAA", &mut out);
            }
            let mut held: Vec<u32> = d.pending.keys().map(|k| k.id).collect();
            held.sort_unstable();
            assert_eq!(held, [7, 8, 9]);
            assert_eq!(d.order.len(), 3);
            assert!(d.push(key(8), t, 8, false, b"BB", &mut out));
            assert_eq!(out, b"AAAAAAAABB");
        }
    }

    #[test]
    fn overlaps_at_one_offset_first_wins() {
        let mut d = Defragmenter::new(DefragLimits::default());
        let mut out = Vec::new();
        let t = Timestamp::from_nanos(0);
        assert!(!d.push(key(1), t, 8, true, b"XXXXXXXXXXXXXXXX", &mut out));
        assert!(!d.push(key(1), t, 8, true, b"BBBBBBBB", &mut out));
        assert!(!d.push(key(1), t, 0, true, b"AAAAAAAA", &mut out));
        assert!(d.push(key(1), t, 16, false, b"CC", &mut out));
        // X arrived before B and C at the same places, so it stands.
        assert_eq!(out, b"AAAAAAAAXXXXXXXXXX");
        assert_eq!(d.bytes, 0);
        assert!(d.order.is_empty());
    }
}
