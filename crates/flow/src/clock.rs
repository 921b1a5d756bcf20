//! The capture's clock: what time it is, as far as idle timeouts go.

use telltale_decode::Timestamp;

/// The latest time seen in a capture, where a time far ahead is believed
/// only once a later one confirms it.
///
/// Capture time may step backwards (merged or badly clocked captures):
/// the clock follows the latest time. A lone packet dated far in the
/// future must not expire every flow and then freeze expiry for the rest
/// of the capture, so a jump of more than a day is believed only when a
/// later time ahead of the clock comes within a day of it; a time ahead
/// of the clock that does not drops it (and is a jump waiting in its
/// turn, if it too is more than a day ahead).
///
/// The clock also says when flows are swept: at the first time it stands a
/// second or more past the last sweep ([`CaptureTime::swept`]). Which
/// flows a sweep ends is a matter of the time it judges at, and which times
/// are believed depends on every time before, so a run split across
/// threads keeps one clock, fed every frame of the capture in order, and
/// tells each table what it read at each of its packets
/// ([`FlowTable::push_at`](crate::FlowTable::push_at)): each table then
/// ends the same flows at the same times as one table given every packet.
///
/// ```
/// use telltale_decode::Timestamp;
/// use telltale_flow::CaptureClock;
///
/// let day = 86_400_000_000_000;
/// let mut clock = CaptureClock::default();
/// assert!(clock.observe(Timestamp::from_nanos(0)));
/// // A lone time years ahead is not believed...
/// assert!(!clock.observe(Timestamp::from_nanos(10_000 * day)));
/// assert_eq!(clock.now(), Timestamp::from_nanos(0));
/// // ...unless the next one confirms it.
/// assert!(!clock.observe(Timestamp::from_nanos(20_000 * day)));
/// assert!(clock.observe(Timestamp::from_nanos(20_000 * day + 1)));
/// assert_eq!(clock.now(), Timestamp::from_nanos(20_000 * day + 1));
/// assert_eq!(clock.jumps(), 2);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct CaptureClock {
    now: Timestamp,
    swept: Timestamp,
    pending_jump: Option<Timestamp>,
    jumps: u64,
}

/// What a [`CaptureClock`] read after one frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CaptureTime {
    /// The latest time believed ([`CaptureClock::now`]).
    pub now: Timestamp,
    /// When flows were last swept: the time the clock stood at when it
    /// first stood a second or more past the sweep before. Never more
    /// than a second before `now`.
    pub swept: Timestamp,
}

impl Default for CaptureClock {
    fn default() -> Self {
        CaptureClock {
            now: Self::NEVER,
            swept: Self::NEVER,
            pending_jump: None,
            jumps: 0,
        }
    }
}

impl CaptureClock {
    /// Before any time is seen.
    const NEVER: Timestamp = Timestamp::from_nanos(i64::MIN);
    /// A step ahead larger than this waits for confirmation: a day.
    const MAX_JUMP: i64 = 86_400 * 1_000_000_000;
    /// Flows are swept when the clock is this far past the last sweep: a
    /// second.
    pub const SWEEP: i64 = 1_000_000_000;

    /// Sees the next time of the capture; `false` when it is a jump ahead
    /// not (yet) believed, which leaves the clock where it was.
    pub fn observe(&mut self, ts: Timestamp) -> bool {
        let believed = self.believe(ts);
        if self.now != Self::NEVER && self.now.nanos_since(self.swept) >= Self::SWEEP {
            self.swept = self.now;
        }
        believed
    }

    fn believe(&mut self, ts: Timestamp) -> bool {
        if ts <= self.now {
            return true;
        }
        if self.now == Self::NEVER || ts.nanos_since(self.now) <= Self::MAX_JUMP {
            self.now = ts;
            self.pending_jump = None;
            return true;
        }
        match self.pending_jump {
            Some(prev) if ts.nanos_since(prev).abs() <= Self::MAX_JUMP => {
                self.now = ts;
                self.pending_jump = None;
                true
            }
            _ => {
                self.pending_jump = Some(ts);
                self.jumps += 1;
                false
            }
        }
    }

    /// The latest time believed; `i64::MIN` nanoseconds before any.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// The time now, and of the last sweep.
    pub fn time(&self) -> CaptureTime {
        CaptureTime {
            now: self.now,
            swept: self.swept,
        }
    }

    /// Times seen far ahead that were not believed when seen
    /// ([`FlowTableStats::time_jumps`](crate::FlowTableStats::time_jumps)).
    pub fn jumps(&self) -> u64 {
        self.jumps
    }
}
