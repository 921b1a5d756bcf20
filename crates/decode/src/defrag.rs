//! IP fragment reassembly with a hard memory bound.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::Timestamp;

/// Limits of the fragment reassembly pool.
///
/// Hostile captures (fragment floods, overlapping teardrop-style fragments,
/// fragments that never complete) must not grow memory: when a limit is hit
/// the oldest incomplete datagram is dropped and counted.
#[derive(Clone, Copy, Debug)]
pub struct DefragLimits {
    /// Incomplete datagrams held at once.
    pub max_datagrams: usize,
    /// Fragment bytes held at once, over all datagrams.
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
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DefragStats {
    /// Fragments received.
    pub fragments: u64,
    /// Datagrams completed.
    pub reassembled: u64,
    /// Incomplete datagrams dropped after the timeout.
    pub timed_out: u64,
    /// Incomplete datagrams dropped because a limit was hit.
    pub evicted: u64,
    /// Fragments that could not belong to a valid datagram (beyond 64 KiB,
    /// conflicting last fragments).
    pub invalid: u64,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct FragKey {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub id: u32,
    pub proto: u8,
}

struct Pending {
    first_seen: Timestamp,
    /// In arrival order: when fragments overlap, the first to arrive wins, as
    /// in most IDS reassembly policies.
    frags: Vec<(usize, Vec<u8>)>,
    total: Option<usize>,
    bytes: usize,
}

/// Largest reassembled payload: an IP datagram's length field is 16 bits.
const MAX_DATAGRAM: usize = 65_535;

pub(crate) struct Defragmenter {
    limits: DefragLimits,
    pending: HashMap<FragKey, Pending>,
    bytes: usize,
    last_sweep: Timestamp,
    pub(crate) stats: DefragStats,
}

impl Defragmenter {
    pub(crate) fn new(limits: DefragLimits) -> Self {
        Defragmenter {
            limits,
            pending: HashMap::new(),
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
        let end = offset + data.len();
        if end > MAX_DATAGRAM || (more && data.is_empty()) {
            self.stats.invalid += 1;
            return false;
        }
        self.sweep(ts);
        if !self.pending.contains_key(&key) {
            while self.pending.len() >= self.limits.max_datagrams.max(1) {
                self.evict_oldest();
            }
        }
        while self.bytes + data.len() > self.limits.max_bytes && !self.pending.is_empty() {
            self.evict_oldest();
        }
        if data.len() > self.limits.max_bytes {
            self.stats.evicted += 1;
            return false;
        }
        let p = self.pending.entry(key).or_insert_with(|| Pending {
            first_seen: ts,
            frags: Vec::new(),
            total: None,
            bytes: 0,
        });
        if !more {
            match p.total {
                Some(t) if t != end => {
                    self.stats.invalid += 1;
                    return false;
                }
                _ => p.total = Some(end),
            }
        }
        p.frags.push((offset, data.to_vec()));
        p.bytes += data.len();
        self.bytes += data.len();

        let Some(total) = p.total else { return false };
        let mut ranges: Vec<(usize, usize)> =
            p.frags.iter().map(|(o, d)| (*o, o + d.len())).collect();
        ranges.sort_unstable();
        let mut covered = 0;
        for (start, end) in ranges {
            if start > covered {
                return false;
            }
            covered = covered.max(end);
        }
        if covered < total {
            return false;
        }
        let p = self.pending.remove(&key).expect("present: just inserted");
        self.bytes -= p.bytes;
        out.clear();
        out.resize(total, 0);
        // Later arrivals are written first so the earliest copy of any byte
        // is the one left standing.
        for (off, d) in p.frags.iter().rev() {
            let end = (off + d.len()).min(total);
            if *off < end {
                out[*off..end].copy_from_slice(&d[..end - off]);
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
        let before = self.pending.len();
        let mut freed = 0;
        self.pending.retain(|_, p| {
            let keep = now.nanos_since(p.first_seen) <= timeout;
            if !keep {
                freed += p.bytes;
            }
            keep
        });
        self.bytes -= freed;
        self.stats.timed_out += (before - self.pending.len()) as u64;
    }

    fn evict_oldest(&mut self) {
        let oldest = self
            .pending
            .iter()
            .min_by_key(|(_, p)| p.first_seen)
            .map(|(k, _)| *k);
        if let Some(k) = oldest
            && let Some(p) = self.pending.remove(&k)
        {
            self.bytes -= p.bytes;
            self.stats.evicted += 1;
        }
    }

    /// Incomplete datagrams still held (counted as lost at the end).
    pub(crate) fn pending(&self) -> usize {
        self.pending.len()
    }
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
            b"x",
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
}
