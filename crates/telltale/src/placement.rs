//! Which shard of a split run takes each frame.
//!
//! A file split across shards is framed by every shard (see
//! `pipeline::drive_sharded`), and every frame must go to exactly one of
//! them: the one its IP address pair was placed on ([`Balancer`]). When
//! each shard placed every frame itself, each read every frame's addresses
//! and looked its pair up, some 65 instructions per frame of the capture,
//! the other shards' frames included. So the shards share one placement
//! ([`Placements`]): the first shard to reach a run of buffered frames
//! places the whole run before it takes it, writing each frame's [`Code`]
//! in a ring indexed by frame number; a shard that comes later reads the
//! codes (about a dozen instructions a frame), and one that catches up
//! places the next run itself. Placing costs whichever shard is ahead,
//! which evens the shards out. Placing frame by frame as they were taken
//! instead kept the balancer with the shard ahead for a whole run, and
//! the other trailed it frame by frame: 140,000 to 220,000 `sched_yield`
//! calls per run on the 1 GiB benchmark corpus at `-j 2`, against under
//! a thousand with runs placed ahead
//! (`benches/runs/2026-12-03/session4.txt`). Frames that come one at a
//! time (a pcapng file's, or one at a chunk's end) are placed one at a
//! time. With each code goes the length of a frame placed ahead, so that
//! the other shards step over it without reading its record at all
//! ([`Skipper`]), and the capture's clock as it read once it saw the frame
//! ([`Placer::time`]): which times are believed, and when flows are swept,
//! depends on every frame before, so the balancer keeps the one clock and
//! each shard tells its table the time with each of its packets.
//!
//! The placements depend only on the frames, in capture order, so they are
//! the same whichever shard makes them: the output does not depend on
//! which shard was ahead.

use std::sync::atomic::{AtomicI64, AtomicU16, AtomicU32, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, TryLockError};

use telltale_decode::{Frame, PairPlace, Timestamp, pair_key, pair_place};
use telltale_flow::{CaptureClock, CaptureTime};

/// Places each IP address pair on a shard when it is first seen: on the
/// shard with the least work so far, as estimated frame by frame
/// ([`frame_cost`]). A hash alone left one shard of two with a third more
/// work on the benchmark corpus (a few heavy pairs); the slowest shard
/// sets the wall time. By flow instead of pair the bytes split evenly, but
/// two shards took more time than by pair
/// (`benches/runs/2026-12-03/session3.txt`).
///
/// The placement depends only on the frames seen so far, in order: the
/// shards of a file take turns at one balancer ([`Placements`]), and the
/// reader of a routed capture has its own. Memory is fixed: once its
/// table is three quarters full, pairs not in it go by hash; none is ever
/// taken out, so a pair never moves.
pub(crate) struct Balancer {
    /// Placed pairs, open addressing: the pair's key mixed with the run's
    /// ([`Balancer::mixed`]), its low 16 bits replaced by its shard plus
    /// one; 0 an empty slot.
    placed: Box<[u64]>,
    /// The same entries for recently seen pairs: 32 KiB that stay in a
    /// core's nearest caches, for the lookup made for every frame. An
    /// entry never goes stale, since a pair never moves.
    recent: Box<[u64]>,
    held: usize,
    load: Vec<u64>,
    /// Mixed into every pair's key ([`Balancer::KEY`] but in tests).
    key: u64,
    /// The capture's clock, fed every frame in order as it is placed: the
    /// shards' tables are told the time by it
    /// ([`FlowTable::push_at`](telltale_flow::FlowTable::push_at)), since
    /// which times are believed depends on every frame before.
    clock: CaptureClock,
}

impl Balancer {
    /// Slots of the table of placed pairs: 512 KiB.
    const SLOTS: usize = 1 << 16;
    /// Pairs placed by load; past this many, new pairs are placed by hash.
    const MAX_HELD: usize = Self::SLOTS / 4 * 3;
    /// Slots looked at for one pair; a pair that finds none free among
    /// them is placed by hash (entries are never taken out, so it always
    /// will be).
    const MAX_PROBE: usize = 64;
    const RECENT: usize = 1 << 12;
    const SHARD_BITS: u64 = 0xffff;

    /// A balancer for `shards` shards, its pairs' keys mixed with `key`.
    pub(crate) fn new(shards: usize, key: u64) -> Self {
        let n = shards.max(1);
        // More shards than the low bits can name (a split run has fewer,
        // `Code::MAX_SHARDS`): by hash alone.
        let tracked = n > 1 && n <= Self::SHARD_BITS as usize;
        Balancer {
            placed: vec![0; if tracked { Self::SLOTS } else { 0 }].into_boxed_slice(),
            recent: vec![0; if tracked { Self::RECENT } else { 0 }].into_boxed_slice(),
            held: 0,
            load: vec![0; n],
            key,
            clock: CaptureClock::default(),
        }
    }

    /// The capture's clock once it saw the last frame placed.
    pub(crate) fn time(&self) -> CaptureTime {
        self.clock.time()
    }

    /// Frames dated far ahead that were not believed when placed
    /// ([`CaptureClock::jumps`]).
    pub(crate) fn time_jumps(&self) -> u64 {
        self.clock.jumps()
    }

    /// The key of every run's balancers. Fixed, so that a capture is split
    /// the same way every time: where the limits of the flow table fall
    /// per shard, which flows a full table ends depends on the split, and a
    /// key new each run made a SYN flood's report differ from one run to
    /// the next at `-j 2`. What a capture crafted against a known key can
    /// do is bounded: its new pairs probe at most [`Self::MAX_PROBE`] slots
    /// each, and it can pile its pairs on one shard, which then runs as a
    /// single thread would.
    pub(crate) const KEY: u64 = 0x7e11_7a1e_5eed_0b1e;

    /// The pair's key mixed with the run's: every bit of the result
    /// depends on every bit of the key. One multiply only mixes upwards,
    /// and an IPv4 key whose low half is the phone's address left the
    /// fallback's `% n` on one shard for nearly every pair.
    fn mixed(&self, pair: u64) -> u64 {
        let mut h = (pair ^ self.key).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        h ^= h >> 32;
        h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
        h ^ h >> 29
    }

    /// The shard of the pair with key `pair` ([`pair_key`]), for a frame
    /// estimated to cost it `cost` ([`frame_cost`]).
    // Inlined: it runs for every frame, and a call saved and restored
    // registers for a sixth of its instructions.
    #[inline(always)]
    pub(crate) fn place(&mut self, pair: u64, cost: u64) -> usize {
        let n = self.load.len();
        if n == 1 {
            return 0;
        }
        let h = self.mixed(pair);
        if self.placed.is_empty() {
            return (h % n as u64) as usize;
        }
        let tag = h & !Self::SHARD_BITS;
        let recent = (h >> 16) as usize & (Self::RECENT - 1);
        if let Some(&e) = self.recent.get(recent)
            && e & !Self::SHARD_BITS == tag
            && e != 0
        {
            let shard = (e & Self::SHARD_BITS) as usize - 1;
            self.load[shard] += cost;
            return shard;
        }
        let mask = Self::SLOTS - 1;
        // The high bits for the slot: the low ones hold the shard.
        let mut at = (h >> 48) as usize & mask;
        let mut found = None;
        for _ in 0..Self::MAX_PROBE {
            match self.placed[at] {
                0 if self.held >= Self::MAX_HELD => break,
                0 => {
                    let s = (0..n).min_by_key(|&i| (self.load[i], i)).unwrap_or(0);
                    self.placed[at] = tag | (s as u64 + 1);
                    self.held += 1;
                    found = Some(self.placed[at]);
                    break;
                }
                e if e & !Self::SHARD_BITS == tag => {
                    found = Some(e);
                    break;
                }
                _ => at = (at + 1) & mask,
            }
        }
        let shard = match found {
            Some(e) => {
                self.recent[recent] = e;
                (e & Self::SHARD_BITS) as usize - 1
            }
            None => (h % n as u64) as usize,
        };
        self.load[shard] += cost;
        shard
    }
}

/// The work a frame is counted as on its shard, for [`Balancer::place`]:
/// a quarter of a nanosecond or so a unit. What a frame costs depends
/// less on its bytes than on what is done with them. Timed per frame on
/// the 1 GiB benchmark corpus (`benches/runs/2026-12-03/session5.txt`):
/// a frame to or from port 443 (TLS, QUIC: past the handshake only
/// counted) took 250 ns, one of plain HTTP 2,400 ns (its bodies are
/// searched for identifiers byte by byte), one of DNS 1,800 ns (every
/// message parsed and kept), any other 380 ns. Counting bytes alone (256
/// plus the length) left the 128 MiB corpus's HTTP mostly on one shard,
/// which then did 64% of the work; with these weights, 52-54%. The
/// weights are the best of a few tried, not the measured ratios: a pair
/// stays where it was first placed, so the split follows each estimate
/// in jumps, and both larger and smaller weights split the 1 GiB corpus
/// worse in single trials. There these split the work 50.6-51.4% to the
/// busier shard against 50.2-50.4% by bytes, the same wall time within
/// the noise.
#[inline(always)]
fn frame_cost(len: usize, ports: Option<[u16; 2]>) -> u64 {
    let len = len as u64;
    match ports {
        Some(p) if p.iter().any(|&p| p == 80 || p == 8080) => 1280 + 8 * len,
        Some(p) if p.contains(&53) => 1280 + len,
        _ => 256 + len,
    }
}

/// Where one frame goes, as placed: its shard, and how it is taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Code(u16);

impl Code {
    /// Decoded before its transport is known ([`PairPlace::Decode`]): by
    /// every shard's spare decoder.
    const DECODE: u16 = 0x8000;
    /// A whole packet to or from port 53.
    const DNS: u16 = 0x4000;
    const SHARD: u16 = 0x3fff;
    /// A frame to be decoded whose addresses could not be read.
    const NO_PAIR: u16 = Self::SHARD;
    /// More shards than a code can name: a split run has at most this
    /// many.
    pub(crate) const MAX_SHARDS: usize = Self::NO_PAIR as usize;

    /// Places `frame` with `balancer`, and moves the balancer's clock to
    /// it ([`Balancer::time`]): the one way frames are placed, whether the
    /// shards share a file's placement or one reader routes the frames.
    #[inline(always)]
    pub(crate) fn of(frame: &Frame<'_>, balancer: &mut Balancer) -> Code {
        balancer.clock.observe(frame.ts);
        let len = frame.data.len();
        match pair_place(frame) {
            PairPlace::Whole { key, ports } => {
                let shard = balancer.place(key, frame_cost(len, Some(ports))) as u16;
                Code(shard | if ports.contains(&53) { Self::DNS } else { 0 })
            }
            PairPlace::Decode => Code(
                Self::DECODE
                    | pair_key(frame).map_or(Self::NO_PAIR, |k| {
                        balancer.place(k, frame_cost(len, None)) as u16
                    }),
            ),
        }
    }

    /// The frame must be decoded before it is placed (a fragment, above
    /// all): every shard decodes it, and the packet it gives goes to
    /// [`shard`](Self::shard).
    pub(crate) fn decode_first(self) -> bool {
        self.0 & Self::DECODE != 0
    }

    /// The shard of the frame's address pair; `None` for a frame to be
    /// decoded first whose addresses could not be read (no shard has
    /// index [`Self::NO_PAIR`]: a run has at most [`Self::MAX_SHARDS`]).
    pub(crate) fn shard(self) -> Option<usize> {
        let s = self.0 & Self::SHARD;
        (s != Self::NO_PAIR).then_some(usize::from(s))
    }

    /// A whole packet to or from port 53 (not said of frames to be decoded
    /// first).
    pub(crate) fn dns(self) -> bool {
        self.0 & Self::DNS != 0
    }
}

/// One placement shared by the shards of a split file; see the module
/// docs. Each shard reads it through a [`Placer`] of its own.
pub(crate) struct Placements {
    /// Held by the shard placing; the others only read codes.
    balancer: Mutex<Balancer>,
    /// The codes of the last frames placed, by frame number (a power of
    /// two of them: [`Self::RING`] but in tests).
    codes: Box<[AtomicU16]>,
    /// The bytes each frame placed ahead holds ([`Placer::UNREAD`] for
    /// the others), by frame number as `codes`: for a shard to step over
    /// a frame of another's without reading it.
    lens: Box<[AtomicU32]>,
    /// The capture's clock once it saw each frame ([`Balancer::time`]), by
    /// frame number as `codes`: what a shard tells its table with each of
    /// its packets. The time in nanoseconds; the last sweep's, in
    /// `swept_before`, as nanoseconds before it (under a second).
    nows: Box<[AtomicI64]>,
    swept_before: Box<[AtomicU32]>,
    /// Frames numbered below this have their codes written.
    placed: AtomicU64,
    /// For each shard, the frame numbers below which it has read every
    /// code, length and time it needs: none is written over until every
    /// shard is past it. `u64::MAX` once a shard reads no more.
    passed: Box<[AtomicU64]>,
}

impl Placements {
    /// Frames whose codes, lengths and times are kept: 2.25 MiB in all
    /// (256 KiB of codes, 512 KiB of lengths, 1.5 MiB of times). A shard
    /// ahead is held back by the shared read to a few MiB of the capture
    /// ahead of the slowest (`share::SharedFile`): some 70,000 records of
    /// 70 bytes (frames cut to their headers) or 160,000 of 32. Past this
    /// many, or where frame numbers jump further (a pcapng file's skipped
    /// packets are numbered), it waits until the others have read the
    /// codes it would write over, which they always can, as a shard
    /// waiting for a code has said it needs none below it: only a capture
    /// of records under 32 bytes (16 bytes or less captured of each frame)
    /// has its shards wait on this ring. Twice as many frames cost 2.25 MiB
    /// more per split run, whatever the capture, for none of the captures
    /// a phone or a network tap writes.
    const RING: usize = 1 << 17;

    /// One placement for `shards` shards (at most [`Code::MAX_SHARDS`]),
    /// whose balancer has the run's `key`.
    pub(crate) fn new(shards: usize, key: u64) -> Self {
        Self::with_ring(shards, key, Self::RING)
    }

    fn with_ring(shards: usize, key: u64, ring: usize) -> Self {
        assert!(shards <= Code::MAX_SHARDS, "{shards} shards");
        assert!(ring.is_power_of_two());
        Placements {
            balancer: Mutex::new(Balancer::new(shards, key)),
            codes: (0..ring).map(|_| AtomicU16::new(0)).collect(),
            lens: (0..ring).map(|_| AtomicU32::new(0)).collect(),
            nows: (0..ring).map(|_| AtomicI64::new(0)).collect(),
            swept_before: (0..ring).map(|_| AtomicU32::new(0)).collect(),
            placed: AtomicU64::new(0),
            passed: (0..shards).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// A shard's way in.
    pub(crate) fn placer(&self, shard: usize) -> Placer<'_> {
        Placer {
            shared: self,
            shard,
            known: 0,
            room: 0,
            ahead_limit: 0,
            balancer: None,
        }
    }

    /// Where frame `index`'s code, length and time are kept.
    fn at(&self, index: u64) -> usize {
        index as usize & (self.codes.len() - 1)
    }

    /// The frame number below which shard `shard` may write codes: waits
    /// while frame `i`'s slot in the ring still holds a code another
    /// shard has to read.
    #[cold]
    #[inline(never)]
    fn room(&self, shard: usize, i: u64) -> u64 {
        loop {
            let slowest = (self.passed.iter().enumerate())
                .filter(|&(s, _)| s != shard)
                .map(|(_, p)| p.load(Ordering::Acquire))
                .min()
                .unwrap_or(u64::MAX);
            let room = slowest.saturating_add(self.codes.len() as u64);
            if i < room {
                return room;
            }
            std::thread::yield_now();
        }
    }

    /// What steps shard `shard` over the frames of other shards' pairs
    /// without reading them ([`Skipper`]); with `watch_dns` it reads those
    /// of other shards' DNS.
    pub(crate) fn skipper(&self, shard: usize, watch_dns: bool) -> Skipper<'_> {
        Skipper {
            shared: self,
            shard,
            watch_dns,
            known: 0,
            #[cfg(test)]
            stepped: 0,
        }
    }

    fn code(&self, index: u64) -> Code {
        Code(self.codes[self.at(index)].load(Ordering::Relaxed))
    }

    /// Frames dated far ahead that were not believed when placed, once
    /// every frame is placed.
    pub(crate) fn time_jumps(&self) -> u64 {
        let balancer = self.balancer.lock();
        // A shard that panicked while placing ends the run with its panic.
        balancer.map_or_else(|p| p.into_inner().time_jumps(), |b| b.time_jumps())
    }
}

/// Where a shard stands with the next frame to place ([`Placer::turn`]).
enum Turn {
    /// Another shard placed it.
    Placed,
    /// This shard holds the balancer and places it.
    Mine,
    /// Another shard holds the balancer.
    Busy,
}

/// One shard's reading and making of a file's [`Placements`].
pub(crate) struct Placer<'a> {
    shared: &'a Placements,
    shard: usize,
    /// Frames numbered below this are placed (as of the last look).
    known: u64,
    /// Frames numbered below this may have their codes written without
    /// looking at how far the other shards are.
    room: u64,
    /// Frames numbered from this on are not placed ahead in the run being
    /// placed: their codes would go over codes of the run's own that this
    /// shard has still to read.
    ahead_limit: u64,
    /// The balancer, while this shard is the one placing; let go at every
    /// [`pause`](Self::pause).
    balancer: Option<MutexGuard<'a, Balancer>>,
}

impl Placer<'_> {
    /// In [`Placements::lens`]: not to be stepped over unread.
    const UNREAD: u32 = u32::MAX;

    /// Where the frame goes. Frames must come in capture order, each
    /// numbered as the reader numbers it, as every shard reads them.
    #[inline(always)]
    pub(crate) fn code(&mut self, frame: &Frame<'_>) -> Code {
        if frame.index < self.known {
            return self.shared.code(frame.index);
        }
        self.place(frame, false)
    }

    /// The code of a frame not yet known to be placed: read once another
    /// shard places it, or placed here.
    ///
    /// `whole`: the frame is a record whole in the reader's buffer, as
    /// [`CaptureReader::peek_buffered`](telltale_decode::CaptureReader::peek_buffered)
    /// gives them, which another shard may step over knowing its length
    /// ([`Skipper`]). Frames placed one by one as they are taken (a record
    /// put together across chunks, a pcapng block, a frame a shard that
    /// caught up placed itself) are read by every shard.
    #[inline(always)]
    fn place(&mut self, frame: &Frame<'_>, whole: bool) -> Code {
        let i = frame.index;
        let shared = self.shared;
        let Some(balancer) = &mut self.balancer else {
            return self.take_turn(frame);
        };
        if i >= self.room {
            self.room = shared.room(self.shard, i);
        }
        let code = Code::of(frame, balancer);
        let at = shared.at(i);
        let len = if whole {
            u32::try_from(frame.data.len()).unwrap_or(Self::UNREAD)
        } else {
            Self::UNREAD
        };
        shared.lens[at].store(len, Ordering::Relaxed);
        let time = balancer.time();
        let before = time.now.nanos_since(time.swept);
        debug_assert!(before < CaptureClock::SWEEP, "swept {before} ns before now");
        shared.nows[at].store(time.now.as_nanos(), Ordering::Relaxed);
        shared.swept_before[at].store(before as u32, Ordering::Relaxed);
        shared.codes[at].store(code.0, Ordering::Relaxed);
        // Release: a shard that sees `placed` past `i` sees the code.
        shared.placed.store(i + 1, Ordering::Release);
        self.known = i + 1;
        code
    }

    /// Waits until the code of frame `i` is written, or until this shard
    /// may write it itself.
    #[cold]
    #[inline(never)]
    fn take_turn(&mut self, frame: &Frame<'_>) -> Code {
        let i = frame.index;
        let mut spins = 0u32;
        loop {
            match self.turn(i) {
                Turn::Placed => return self.shared.code(i),
                Turn::Mine => return self.place(frame, false),
                Turn::Busy => {
                    // The shard placing is at this frame too and will
                    // place it in a moment, or let go at its next pause.
                    spins += 1;
                    if spins < 64 {
                        std::hint::spin_loop();
                    } else {
                        std::thread::yield_now();
                    }
                }
            }
        }
    }

    /// Whether frame `i`, the next this shard takes, is placed, or this
    /// shard may place it (it then holds the balancer), or another shard
    /// holds the balancer.
    fn turn(&mut self, i: u64) -> Turn {
        let shared = self.shared;
        // Every code below `i` this shard needs is read (frames come in
        // order): said now, as the shard placing may be waiting for room
        // when frame numbers jump (a pcapng file's skipped packets).
        shared.passed[self.shard].store(i, Ordering::Release);
        self.known = shared.placed.load(Ordering::Acquire);
        if i < self.known {
            return Turn::Placed;
        }
        self.balancer = match shared.balancer.try_lock() {
            Ok(guard) => Some(guard),
            // A shard that panicked while placing: the run ends with its
            // panic, whatever is placed here.
            Err(TryLockError::Poisoned(p)) => Some(p.into_inner()),
            Err(TryLockError::WouldBlock) => return Turn::Busy,
        };
        // Holding the balancer, nobody else places: look once more.
        self.known = shared.placed.load(Ordering::Acquire);
        if i < self.known {
            self.balancer = None;
            return Turn::Placed;
        }
        Turn::Mine
    }

    /// Before a run of frames starting at frame `first`: takes the turn
    /// to place the run ahead ([`place_ahead`](Self::place_ahead), then
    /// [`end_run`](Self::end_run)) if this shard is the first to reach it
    /// and no other is placing. Placing a run before taking it, rather
    /// than frame by frame as they are taken, lets go of the balancer
    /// soon: a shard that catches up finds the run placed, or places the
    /// next one itself, instead of trailing the one placing frame by frame.
    pub(crate) fn take_run(&mut self, first: u64) -> bool {
        if first < self.known || !matches!(self.turn(first), Turn::Mine) {
            return false;
        }
        self.ahead_limit = first.saturating_add(self.shared.codes.len() as u64);
        true
    }

    /// Places the next frame of a run whose turn this shard took
    /// ([`take_run`](Self::take_run)), unless its number is so far on
    /// (numbers can jump) that its code would go over one of the run's
    /// own: it and the frames after it are then placed as they are taken.
    #[inline(always)]
    pub(crate) fn place_ahead(&mut self, frame: &Frame<'_>) {
        if frame.index >= self.known && frame.index < self.ahead_limit {
            self.place(frame, true);
        }
    }

    /// The capture's clock once it saw frame `index`, whose
    /// [`code`](Self::code) this shard has just read and has not
    /// [`pause`](Self::pause)d since.
    #[inline(always)]
    pub(crate) fn time(&self, index: u64) -> CaptureTime {
        let shared = self.shared;
        let at = shared.at(index);
        let now = Timestamp::from_nanos(shared.nows[at].load(Ordering::Relaxed));
        let before = shared.swept_before[at].load(Ordering::Relaxed);
        CaptureTime {
            now,
            swept: Timestamp::from_nanos(now.as_nanos().saturating_sub(i64::from(before))),
        }
    }

    /// The end of a run placed ahead: lets go of the balancer.
    pub(crate) fn end_run(&mut self) {
        self.balancer = None;
    }

    /// Between runs of frames: lets go of the balancer, so that a shard
    /// that catches up need not wait for this one, and says that every
    /// frame below `next` is taken or stepped over. Call it before the reader may wait
    /// (for a chunk of the shared read, above all): a shard holding the
    /// balancer must not wait for one that may need it. (Waiting for room
    /// in the ring while holding it is safe: the shards waited for are
    /// behind, and read codes already written.)
    pub(crate) fn pause(&mut self, next: u64) {
        self.balancer = None;
        self.shared.passed[self.shard].store(next, Ordering::Release);
    }
}

/// A shard's view of frames placed already, for stepping over those of
/// other shards' pairs unread
/// ([`CaptureReader::for_each_buffered_skipping`](telltale_decode::CaptureReader::for_each_buffered_skipping)):
/// where the shard frames every frame of the capture, the frames of the
/// others cost it a look at their record each, memory another core read
/// in; from the ring of codes the same step costs two reads of memory
/// that holds thousands of frames' worth. Apart from the [`Placer`], so
/// that the reader can ask it while the placer is lent to the pipeline.
pub(crate) struct Skipper<'a> {
    shared: &'a Placements,
    shard: usize,
    watch_dns: bool,
    /// Frames numbered below this are placed (as of the last look).
    known: u64,
    /// Frames stepped over: for a test that a split run does.
    #[cfg(test)]
    pub(crate) stepped: u64,
}

impl Skipper<'_> {
    /// The bytes frame `index` holds, if it was placed ahead (whole in its
    /// record), is not decoded first, and is of another shard's pair (and
    /// not DNS, for a shard that follows the others');
    /// `None` for a frame this shard must see, or not placed yet.
    #[inline(always)]
    pub(crate) fn skip(&mut self, index: u64) -> Option<usize> {
        if index >= self.known {
            // Looked at again only when past it: the line it is on is
            // written by the shard placing, for every frame.
            self.known = self.shared.placed.load(Ordering::Acquire);
            if index >= self.known {
                return None;
            }
        }
        let at = self.shared.at(index);
        let code = Code(self.shared.codes[at].load(Ordering::Relaxed));
        if code.decode_first() || code.shard() == Some(self.shard) || (self.watch_dns && code.dns())
        {
            return None;
        }
        let len = self.shared.lens[at].load(Ordering::Relaxed);
        if len == Placer::UNREAD {
            return None;
        }
        #[cfg(test)]
        {
            self.stepped += 1;
        }
        Some(len as usize)
    }
}

impl Drop for Placer<'_> {
    fn drop(&mut self) {
        self.balancer = None;
        self.shared.passed[self.shard].store(u64::MAX, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A key for a test: placement must work with any.
    fn random_key() -> u64 {
        use std::hash::BuildHasher;
        std::collections::hash_map::RandomState::new().hash_one(0x7e11_7a1e_u64)
    }

    /// A balancer places by pair key: these numbers stand for pairs' keys.
    fn spread(b: &mut Balancer, pairs: impl IntoIterator<Item = u64>) -> Vec<usize> {
        pairs.into_iter().map(|f| b.place(f, 100)).collect()
    }

    /// New pairs go where the least work is; a pair keeps its shard; two
    /// balancers fed the same pairs agree (each shard of a file runs its
    /// own).
    #[test]
    fn balancer_spreads_by_load_and_agrees_with_itself() {
        let key = random_key();
        let (mut a, mut b) = (Balancer::new(2, key), Balancer::new(2, key));
        let heavy = 0x1234_5678_9abc_def0;
        let first = a.place(heavy, 1500);
        assert_eq!(b.place(heavy, 1500), first);
        for _ in 0..100 {
            assert_eq!(a.place(heavy, 1500), first);
            b.place(heavy, 1500);
        }
        // The next new pairs all go to the other shard until it catches up.
        let light: Vec<u64> = (1..=20u64)
            .map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15))
            .collect();
        let placed = spread(&mut a, light.iter().copied());
        assert!(placed.iter().all(|&s| s == 1 - first), "{placed:?}");
        assert_eq!(spread(&mut b, light.iter().copied()), placed);
        assert!(a.load[0] > 0 && a.load[1] > 0);
        assert_eq!(Balancer::new(1, key).place(heavy, 1500), 0);
    }

    /// Pairs whose hashes share a slot each keep their own shard however
    /// they alternate; a run of more colliding
    /// pairs than a lookup probes sends the rest by hash, each always to
    /// the same shard.
    #[test]
    fn pairs_that_collide_keep_their_shards() {
        let mut b = Balancer::new(3, 0);
        let slot = |b: &Balancer, p: u64| b.mixed(p) >> 48;
        let target = slot(&b, 1);
        let colliding: Vec<u64> = (1..u64::MAX)
            .filter(|&p| slot(&b, p) == target)
            .take(Balancer::MAX_PROBE + 20)
            .collect();
        let first = spread(&mut b, colliding.iter().copied());
        assert_eq!(&first[..3], &[0, 1, 2], "each new pair to the least loaded");
        assert_eq!(b.held, Balancer::MAX_PROBE, "the rest went by hash");
        for (&p, &s) in colliding.iter().zip(&first).skip(Balancer::MAX_PROBE) {
            assert_eq!(s, (b.mixed(p) % 3) as usize);
        }
        for _ in 0..5 {
            assert_eq!(spread(&mut b, colliding.iter().copied()), first);
            assert_eq!(spread(&mut b, colliding.iter().rev().copied()), {
                let mut r = first.clone();
                r.reverse();
                r
            });
        }
    }

    /// Pairs placed by hash (here: all of them, on a full table) spread
    /// over the shards even when their keys differ only in one address, as
    /// a phone's pairs do: keys are two IPv4 addresses, the phone's the
    /// higher or the lower.
    #[test]
    fn pairs_placed_by_hash_spread_over_the_shards() {
        for shards in [2u64, 3, 4] {
            for phone in [0xc0a8_0117u64, 0x0a00_0017, 0xffff_ff01] {
                let mut b = Balancer::new(shards as usize, random_key());
                b.held = Balancer::MAX_HELD;
                let mut counts = vec![0u64; shards as usize];
                for i in 0..20_000u64 {
                    // Servers in a few providers' blocks.
                    let server = [0x1f0d_0000u64, 0x6810_0000, 0x8efa_0000, 0xd83a_0000]
                        [(i % 4) as usize]
                        + i * 7;
                    let key = phone.min(server) << 32 | phone.max(server);
                    counts[b.place(key, 100)] += 1;
                }
                let fair = 20_000 / shards;
                for c in &counts {
                    assert!(
                        c * 10 > fair * 9 && c * 10 < fair * 11,
                        "{shards} shards, phone {phone:#x}: {counts:?}"
                    );
                }
            }
        }
    }

    /// Once the table is three quarters full, new pairs go by hash, and a
    /// pair placed by load before keeps its shard: none ever moves.
    #[test]
    fn a_full_table_places_new_pairs_by_hash() {
        let mut b = Balancer::new(2, 7);
        let pair = |i: u64| (i + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let mut early = Vec::new();
        let mut i = 0;
        while b.held < Balancer::MAX_HELD {
            early.push(b.place(pair(i), 100));
            i += 1;
        }
        // Load alone would send every one of these to the lighter shard.
        b.load[0] += 1 << 40;
        for i in 0..1000u64 {
            let p = pair(1 << 32 | i);
            let by_hash = (b.mixed(p) % 2) as usize;
            assert_eq!(b.place(p, 100), by_hash);
            assert_eq!(b.place(p, 100), by_hash);
        }
        assert_eq!(b.held, Balancer::MAX_HELD);
        for (i, &s) in early.iter().enumerate().step_by(97) {
            assert_eq!(b.place(pair(i as u64), 100), s);
        }
    }

    /// An Ethernet frame numbered `index`: mostly TCP among a few hundred
    /// address pairs, with DNS, IPv4 fragments, IPv6 and ARP among them.
    fn frame_bytes(index: u64) -> Vec<u8> {
        let mut x = index.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        x ^= x >> 29;
        let mut f = vec![0u8; 12];
        match x % 20 {
            0 => {
                // ARP: not IP, decoded first, no pair.
                f.extend_from_slice(&[0x08, 0x06]);
                f.extend_from_slice(&[0; 28]);
            }
            1 => {
                // IPv6 UDP.
                f.extend_from_slice(&[0x86, 0xdd, 0x60, 0, 0, 0, 0, 8, 17, 64]);
                f.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
                f.extend_from_slice(&[0; 11]);
                f.push((x >> 8) as u8 % 7);
                f.extend_from_slice(&[0xfe, 0x80]);
                f.extend_from_slice(&[0; 13]);
                f.push(1);
                f.extend_from_slice(&[0x30, 0x39, 0x01, 0xbb, 0, 8, 0, 0]);
            }
            n => {
                let server = 0x0a00_0000 | ((x >> 16) as u32 % 300);
                let (proto, ports) = match n {
                    2 | 3 => (17u8, [0x30, 0x39, 0, 53]),
                    _ => (6, [0x30, 0x39, 0x01, 0xbb]),
                };
                // A fragment now and then: more fragments, offset 0.
                let flags = if n == 4 { 0x20 } else { 0 };
                f.extend_from_slice(&[0x08, 0x00, 0x45, 0, 0, 40, 0, 1, flags, 0, 64, proto, 0, 0]);
                f.extend_from_slice(&[192, 168, 1, 22]);
                f.extend_from_slice(&server.to_be_bytes());
                f.extend_from_slice(&ports);
                f.extend_from_slice(&[0; 16]);
            }
        }
        // Lengths that differ from frame to frame, so that a length read
        // from the wrong slot shows.
        f.resize(f.len() + (index % 13) as usize, 0);
        f
    }

    /// Frame `index`'s time: a millisecond a frame, a month ahead to stay
    /// every 1,009 frames, twenty years ahead alone every 97th (never
    /// confirmed: each lands days past the last), an hour back every 301st.
    fn ts_of(index: u64) -> Timestamp {
        const MS: i64 = 1_000_000;
        const DAY: i64 = 86_400_000 * MS;
        // Frame numbers run far on in some tests: any time will do there.
        let i = (index % 1_000_000) as i64;
        let base = 1_700_000_000_000 * MS + i * MS + (i / 1009) * 30 * DAY;
        Timestamp::from_nanos(match i {
            _ if i % 97 == 0 => base + 7_300 * DAY + (i / 97) * 2 * DAY,
            _ if i % 301 == 0 => base - 3_600_000 * MS,
            _ => base,
        })
    }

    fn frame(index: u64, data: &[u8]) -> Frame<'_> {
        Frame {
            index,
            ts: ts_of(index),
            link: telltale_decode::LinkType::ETHERNET,
            interface: 0,
            data,
            orig_len: data.len() as u32,
        }
    }

    /// What one balancer alone makes of frames `1..=n`.
    fn placed_alone(shards: usize, key: u64, frames: &[Vec<u8>]) -> Vec<Code> {
        let mut b = Balancer::new(shards, key);
        (1..)
            .zip(frames)
            .map(|(i, d)| Code::of(&frame(i, d), &mut b))
            .collect()
    }

    /// Runs `f` on a thread of its own: a placement that waits for ever
    /// fails the test instead of hanging it.
    fn within<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || tx.send(f()));
        rx.recv_timeout(std::time::Duration::from_secs(20))
            .expect("finished without waiting for ever")
    }

    /// Shards each taking frames in runs of their own lengths, placing a
    /// run ahead when first to reach it and reading codes otherwise (or
    /// placing frame by frame, as they take the frames of a pcapng file),
    /// place as one balancer alone, on a ring of 64 codes that frame
    /// numbers jump past again and again (as a pcapng file's skipped
    /// packets make them).
    #[test]
    fn runs_placed_ahead_and_numbering_gaps_place_as_one_balancer() {
        within(|| {
            let frames: Vec<Vec<u8>> = (1..=20_000).map(frame_bytes).collect();
            // Numbers with gaps: every 500th frame comes 100 to 1,000 on.
            let mut numbers = Vec::with_capacity(frames.len());
            let mut n = 0u64;
            for i in 0..frames.len() as u64 {
                n += if i % 500 == 499 { 100 + i % 901 } else { 1 };
                numbers.push(n);
            }
            let key = random_key();
            let mut b = Balancer::new(2, key);
            let want: Vec<Code> = numbers
                .iter()
                .zip(&frames)
                .map(|(&i, d)| Code::of(&frame(i, d), &mut b))
                .collect();
            let shared = Placements::with_ring(2, key, 64);
            let got: Vec<Vec<Code>> = std::thread::scope(|scope| {
                let workers: Vec<_> = [(7usize, 5usize), (40, 3)]
                    .into_iter()
                    .enumerate()
                    .map(|(s, (run, single_every))| {
                        let (shared, frames, numbers) = (&shared, &frames, &numbers);
                        scope.spawn(move || {
                            let mut placer = shared.placer(s);
                            let mut skipper = shared.skipper(s, false);
                            let mut codes = Vec::with_capacity(frames.len());
                            let mut at = 0;
                            let mut k = 0;
                            while at < frames.len() {
                                k += 1;
                                let len = if k % single_every == 0 { 1 } else { run };
                                let end = (at + len).min(frames.len());
                                placer.pause(numbers[at]);
                                if len > 1 && placer.take_run(numbers[at]) {
                                    for j in at..end {
                                        placer.place_ahead(&frame(numbers[j], &frames[j]));
                                    }
                                    placer.end_run();
                                }
                                for j in at..end {
                                    // A length read beside the code is the
                                    // frame's, however the ring wraps.
                                    if let Some(len) = skipper.skip(numbers[j]) {
                                        assert_eq!(len, frames[j].len(), "frame {}", numbers[j]);
                                    }
                                    codes.push(placer.code(&frame(numbers[j], &frames[j])));
                                }
                                if k % 97 == 0 {
                                    std::thread::yield_now();
                                }
                                at = end;
                            }
                            codes
                        })
                    })
                    .collect();
                workers.into_iter().map(|w| w.join().unwrap()).collect()
            });
            for (s, codes) in got.iter().enumerate() {
                let first = codes.iter().zip(&want).position(|(a, b)| a != b);
                assert!(
                    codes == &want,
                    "shard {s} differs at {first:?} of {}: {:?}",
                    codes.len(),
                    first.map(|f| (codes[f], want[f], numbers[f]))
                );
            }
        });
    }

    /// The fixed key places pairs past the table by hash the same in
    /// every process (a key drawn once per process would pass a test that
    /// compares runs within one): these shards were computed once.
    #[test]
    fn the_fixed_key_places_the_same_in_every_process() {
        let mut b = Balancer::new(3, Balancer::KEY);
        b.held = Balancer::MAX_HELD;
        let placed: Vec<usize> = (0..24u64)
            .map(|i| b.place(0xc0a8_0116 << 32 | (0x8efa_0000 + i * 977), 100))
            .collect();
        assert_eq!(
            placed,
            [
                0, 0, 1, 0, 2, 2, 2, 2, 2, 2, 2, 1, 1, 2, 1, 2, 2, 0, 1, 1, 1, 1, 1, 2
            ]
        );
    }

    /// Shards taking turns at one placement, each pausing after runs of
    /// its own lengths and some of them yielding, read the codes one
    /// balancer alone gives, whichever shard placed each frame; a ring of
    /// 64 codes makes the shard ahead wait for the others again and again.
    #[test]
    fn shards_taking_turns_place_as_one_balancer() {
        let frames: Vec<Vec<u8>> = (1..=20_000).map(frame_bytes).collect();
        // The clock's reading after each frame, kept by one clock alone.
        let mut clock = CaptureClock::default();
        let want_times: Vec<CaptureTime> = (1..=frames.len() as u64)
            .map(|i| {
                clock.observe(ts_of(i));
                clock.time()
            })
            .collect();
        assert!(clock.jumps() > 200, "{}", clock.jumps());
        for shards in [2usize, 3] {
            let key = random_key();
            let want = placed_alone(shards, key, &frames);
            assert!(want.iter().any(|c| c.decode_first() && c.shard().is_none()));
            assert!(want.iter().any(|c| c.decode_first() && c.shard().is_some()));
            assert!(want.iter().any(|c| c.dns()));
            for s in 0..shards {
                assert!(
                    want.iter()
                        .any(|c| !c.decode_first() && c.shard() == Some(s))
                );
            }
            for ring in [64, Placements::RING] {
                let shared = Placements::with_ring(shards, key, ring);
                let got: Vec<(Vec<Code>, Vec<CaptureTime>)> = std::thread::scope(|scope| {
                    let workers: Vec<_> = (0..shards)
                        .map(|s| {
                            let (shared, frames) = (&shared, &frames);
                            scope.spawn(move || {
                                let mut placer = shared.placer(s);
                                let mut codes = Vec::with_capacity(frames.len());
                                let mut times = Vec::with_capacity(frames.len());
                                for (i, d) in (1..).zip(frames) {
                                    codes.push(placer.code(&frame(i, d)));
                                    times.push(placer.time(i));
                                    if i % (37 + 13 * s as u64) == 0 {
                                        placer.pause(i + 1);
                                    }
                                    if i % (501 + 97 * s as u64) == 0 {
                                        std::thread::yield_now();
                                    }
                                }
                                (codes, times)
                            })
                        })
                        .collect();
                    workers.into_iter().map(|w| w.join().unwrap()).collect()
                });
                for (s, (codes, times)) in got.iter().enumerate() {
                    assert!(
                        codes == &want,
                        "{shards} shards, ring {ring}: shard {s} differs"
                    );
                    assert!(
                        times == &want_times,
                        "{shards} shards, ring {ring}: shard {s} was told other times"
                    );
                }
            }
        }
    }

    /// A shard that reads no further (it gave up, or failed) leaves the
    /// placement: the others neither wait for it to read codes nor for it
    /// to let go of the balancer.
    #[test]
    fn a_shard_that_stops_holds_up_nobody() {
        within(a_shard_stops);
    }

    fn a_shard_stops() {
        let frames: Vec<Vec<u8>> = (1..=5_000).map(frame_bytes).collect();
        let key = random_key();
        let want = placed_alone(2, key, &frames);
        let shared = Placements::with_ring(2, key, 64);
        {
            // Placing, so holding the balancer, when it stops.
            let mut early = shared.placer(1);
            for (i, d) in (1..).zip(&frames[..10]) {
                assert_eq!(early.code(&frame(i, d)), want[i as usize - 1]);
            }
        }
        let mut late = shared.placer(0);
        for (i, d) in (1..).zip(&frames) {
            assert_eq!(late.code(&frame(i, d)), want[i as usize - 1]);
        }
    }

    /// Another shard steps over a frame unread only when it is whole in
    /// its record, placed ahead, of another shard's pair, not decoded
    /// first, and not DNS when that shard follows the others' DNS; a
    /// frame placed as it was taken (perhaps cut short, or put together)
    /// and a frame not placed yet are read.
    #[test]
    fn a_shard_steps_over_only_what_it_may() {
        let frames: Vec<Vec<u8>> = (1..=400).map(frame_bytes).collect();
        let shared = Placements::new(2, random_key());
        let mut placer = shared.placer(0);
        assert!(placer.take_run(1));
        let mut codes = Vec::new();
        for (i, d) in (1..).zip(&frames[..300]) {
            placer.place_ahead(&frame(i, d));
        }
        placer.end_run();
        for (i, d) in (1..).zip(&frames) {
            codes.push(placer.code(&frame(i, d)));
        }
        for watch in [false, true] {
            let mut skipper = shared.skipper(1, watch);
            let mut stepped = 0;
            for (i, (d, code)) in (1..).zip(frames.iter().zip(&codes)) {
                let may = i <= 300
                    && !code.decode_first()
                    && code.shard() == Some(0)
                    && !(watch && code.dns());
                assert_eq!(
                    skipper.skip(i),
                    may.then_some(d.len()),
                    "frame {i}, watch {watch}"
                );
                stepped += usize::from(may);
            }
            assert!(stepped > 50, "{stepped}");
            assert_eq!(skipper.skip(401), None, "not placed");
        }
        // Shard 0's own frames are not stepped over by shard 0.
        let mut own = shared.skipper(0, false);
        for (i, code) in (1..).zip(&codes) {
            if code.shard() == Some(0) {
                assert_eq!(own.skip(i), None);
            }
        }
    }

    /// An Ethernet IPv4 TCP frame from 192.168.1.22 to `server` on port
    /// `port`, `len` bytes in all (at least 54: the headers).
    fn tcp_frame(server: u8, port: u16, len: usize) -> Vec<u8> {
        assert!(len >= 54);
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x00, 0x45, 0]);
        f.extend_from_slice(&((len - 14) as u16).to_be_bytes());
        f.extend_from_slice(&[0, 1, 0, 0, 64, 6, 0, 0]);
        f.extend_from_slice(&[192, 168, 1, 22, 10, 0, 0, server]);
        f.extend_from_slice(&0xc000_u16.to_be_bytes());
        f.extend_from_slice(&port.to_be_bytes());
        // Sequence and acknowledgement numbers, then a 20-byte header.
        f.extend_from_slice(&[0; 8]);
        f.extend_from_slice(&[0x50, 0x10, 0xff, 0xff, 0, 0, 0, 0]);
        f.resize(len, 0);
        f
    }

    /// Pairs are spread by the work their frames are counted as, not by
    /// their bytes: after as many bytes of plain HTTP on one shard as of
    /// TLS on the other, new pairs go to the TLS shard until it has
    /// about as much work; so too after DNS, per message.
    #[test]
    fn pairs_spread_by_estimated_work_not_bytes() {
        for (heavy, frames, len) in [(80, 10, 1000), (8080, 10, 1000), (53, 40, 100)] {
            let mut b = Balancer::new(2, Balancer::KEY);
            let mut place = |server, port, len, n| {
                let f = tcp_frame(server, port, len);
                let codes: Vec<_> = (0..n).map(|i| Code::of(&frame(i, &f), &mut b)).collect();
                assert!(
                    codes.windows(2).all(|w| w[0] == w[1]),
                    "a pair keeps its shard"
                );
                codes[0].shard().unwrap()
            };
            let plain = place(1, heavy, len, frames);
            let tls = place(2, 443, len, frames);
            assert_ne!(plain, tls);
            // Counted by bytes alone the shards would now be even, and a
            // new pair would go to the first.
            let next: Vec<usize> = (3..5).map(|s| place(s, 443, len, frames)).collect();
            assert_eq!(next, [tls; 2], "after port {heavy}");
        }
    }

    /// A frame to be decoded first with no address pair is nobody's; one
    /// with a pair is its shard's, as is a whole packet.
    #[test]
    fn codes_say_whose_a_frame_is() {
        let mut b = Balancer::new(2, 0);
        // The code of the first generated frame that `is` says is of a kind.
        let mut code_of = |index, is: fn(&[u8]) -> bool| {
            let f = (1..).map(frame_bytes).find(|f| is(f)).unwrap();
            Code::of(&frame(index, &f), &mut b)
        };
        let arp = code_of(1, |f| f[12..14] == [8, 6]);
        assert!(arp.decode_first() && !arp.dns());
        assert_eq!(arp.shard(), None);
        let dns = code_of(2, |f| f.len() > 37 && f[37] == 53);
        assert!(dns.dns() && !dns.decode_first());
        assert!(dns.shard().is_some_and(|s| s < 2));
        let frag = code_of(3, |f| f.len() > 20 && f[20] == 0x20);
        assert!(frag.decode_first() && !frag.dns());
        assert!(frag.shard().is_some_and(|s| s < 2));
    }
}
