//! One capture file read once for all the shards of a split run.
//!
//! Every shard frames the whole capture and keeps its own frames (see
//! `pipeline::drive_sharded`). Reading the file into a buffer of its own
//! cost each shard a copy of the whole file out of the page cache: a tenth
//! of a shard's time on a 1 GiB capture at two shards. Here the file is read
//! once, in 512 KiB chunks, into a small ring of buffers that every shard
//! frames in place: whichever shard first needs a chunk reads it, the
//! others find it ready. The buffers are reused in turn, so the shard that
//! comes second mostly finds a chunk still in the cache the cores share.
//! The ring's size is a trade: 4 MiB (8 slots of 512 KiB) ran as fast as
//! 16 MiB on the benchmark host, and the memory a split run holds beyond
//! one pipeline per shard is the ring, 4 to 6 MiB on any capture size
//! (`benches/runs/2026-12-03/session2.txt`).
//!
//! A shard may run ahead of the slowest by at most [`SharedFile::SLOTS`]
//! chunks; then it waits for the slowest to take the chunk that holds the
//! slot it needs. A shard that stops early (it gave up, or panicked) leaves
//! the ring when its input is dropped, so nobody waits for it.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use telltale_decode::ChunkSource;

/// A capture file shared by several readers; see the module docs.
pub(crate) struct SharedFile {
    ring: Mutex<Ring>,
    /// A chunk was made ready, or a slot freed.
    changed: Condvar,
    /// Chunks `0..ready` have been read (or failed): what a reader spinning
    /// for a chunk being read watches.
    ready: AtomicU64,
    /// Bytes per chunk.
    chunk: usize,
    /// The file and the offset it is at. Chunks are read one after another
    /// (a chunk is claimed only by a reader that took the one before it),
    /// so this lock is never waited for; it keeps reading safe without
    /// that argument.
    file: Mutex<(Box<dyn Source>, u64)>,
}

/// What the ring reads from: a file, or in tests a stand-in that fails.
trait Source: Read + Seek + Send {}

impl<T: Read + Seek + Send> Source for T {}

struct Ring {
    slots: Vec<Slot>,
    /// Every buffer made, but the one being read into; a buffer is free when
    /// only this list holds it.
    buffers: Vec<Arc<Vec<u8>>>,
    /// Chunks `0..claimed` have been claimed for reading.
    claimed: u64,
    /// The first chunk that does not exist: the file ended before it, or
    /// reading it failed.
    end: Option<u64>,
    /// The chunk whose read failed, and how: every reader hears of it.
    failed: Option<(u64, io::ErrorKind, String)>,
    /// Readers still taking chunks.
    readers: usize,
    /// Readers waiting on `changed`: a notice wakes only when there are
    /// some (each is a system call).
    sleepers: usize,
}

enum Slot {
    Free,
    /// Claimed by a reader that is reading it.
    Reading,
    Ready {
        index: u64,
        chunk: Arc<Vec<u8>>,
        /// Readers that have still to take it.
        takes_left: usize,
    },
}

impl SharedFile {
    /// Chunks the fastest reader may be ahead of the slowest.
    pub(crate) const SLOTS: usize = 8;
    const CHUNK: usize = 1 << 19;
    /// The longest a reader spins for a chunk another is reading, before it
    /// sleeps until the chunk is ready.
    const SPIN: Duration = Duration::from_micros(500);

    /// Opens `path` for `readers` readers, one input each.
    pub(crate) fn open(path: &Path, readers: usize) -> io::Result<Vec<SharedInput>> {
        Self::open_with(path, readers, Self::CHUNK, Self::SLOTS)
    }

    fn open_with(
        path: &Path,
        readers: usize,
        chunk: usize,
        slots: usize,
    ) -> io::Result<Vec<SharedInput>> {
        let file = File::open(path)?;
        // Read once, front to back: see `CaptureReader::open`.
        #[cfg(target_os = "linux")]
        let _ = rustix::fs::fadvise(&file, 0, None, rustix::fs::Advice::NoReuse);
        Ok(Self::from_source(Box::new(file), readers, chunk, slots))
    }

    fn from_source(
        file: Box<dyn Source>,
        readers: usize,
        chunk: usize,
        slots: usize,
    ) -> Vec<SharedInput> {
        let shared = Arc::new(SharedFile {
            ring: Mutex::new(Ring {
                slots: (0..slots).map(|_| Slot::Free).collect(),
                buffers: Vec::new(),
                claimed: 0,
                end: None,
                failed: None,
                readers,
                sleepers: 0,
            }),
            changed: Condvar::new(),
            ready: AtomicU64::new(0),
            chunk,
            file: Mutex::new((file, 0)),
        });
        (0..readers)
            .map(|_| SharedInput {
                shared: Arc::clone(&shared),
                next: 0,
            })
            .collect()
    }

    fn lock(&self) -> MutexGuard<'_, Ring> {
        // Nothing that could panic runs while the lock is held (the reads
        // run without it), so a poisoned lock still guards a whole ring.
        self.ring.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Claims chunk `k` (unclaimed, its slot free), reads it with the lock
    /// let go, and makes it ready (or marks the end, or the failure).
    fn read_into<'a>(
        &'a self,
        mut ring: MutexGuard<'a, Ring>,
        k: u64,
        slot: usize,
    ) -> MutexGuard<'a, Ring> {
        ring.claimed += 1;
        ring.slots[slot] = Slot::Reading;
        let mut buf = ring.free_buffer();
        drop(ring);
        let failed = match Arc::get_mut(&mut buf) {
            Some(bytes) => self.read_chunk(k, bytes).err(),
            None => unreachable!("a free buffer has no other holder"),
        };
        let mut ring = self.lock();
        ring.buffers.push(Arc::clone(&buf));
        // What was read before a failure still counts, as it does for a
        // stream: the failure is met where it happened, after those bytes.
        let whole = buf.len() == self.chunk;
        let at = if buf.is_empty() { k } else { k + 1 };
        if let Some(e) = failed {
            ring.failed = Some((at, e.kind(), e.to_string()));
        }
        if !whole || ring.failed.is_some() {
            ring.end = Some(at);
        }
        ring.slots[slot] = if buf.is_empty() {
            Slot::Free
        } else {
            Slot::Ready {
                index: k,
                chunk: buf,
                takes_left: ring.readers,
            }
        };
        self.ready.store(k + 1, Ordering::Release);
        ring.wake(&self.changed);
        ring
    }

    /// Reads chunk `index` into `buf`; its length is then what the file held,
    /// or what was read before an error.
    fn read_chunk(&self, index: u64, buf: &mut Vec<u8>) -> io::Result<()> {
        let mut guard = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        let (file, at) = &mut *guard;
        let offset = index * self.chunk as u64;
        if *at != offset {
            file.seek(SeekFrom::Start(offset))?;
            *at = offset;
        }
        buf.resize(self.chunk, 0);
        let mut filled = 0;
        while filled < buf.len() {
            match file.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // The offset is no longer known.
                    *at = u64::MAX;
                    buf.truncate(filled);
                    return Err(e);
                }
            }
        }
        *at += filled as u64;
        buf.truncate(filled);
        Ok(())
    }
}

impl Ring {
    fn wake(&self, changed: &Condvar) {
        if self.sleepers > 0 {
            changed.notify_all();
        }
    }

    /// A buffer no reader holds, taken out of the list so its holder may
    /// write to it.
    fn free_buffer(&mut self) -> Arc<Vec<u8>> {
        // Held at most: the slots but the one being claimed, and per reader
        // the chunk it frames and the next one it is taking (or, reading
        // ahead, has just taken); so past `SLOTS + 2 * readers` buffers one
        // is always free. None free makes a new one: never a wait.
        match self.buffers.iter().position(|b| Arc::strong_count(b) == 1) {
            Some(i) => self.buffers.swap_remove(i),
            None => Arc::new(Vec::new()),
        }
    }
}

/// One reader's way into a [`SharedFile`]: hand it to
/// `CaptureReader::from_chunks`.
pub(crate) struct SharedInput {
    shared: Arc<SharedFile>,
    /// The chunk this reader takes next.
    next: u64,
}

impl ChunkSource for SharedInput {
    fn next_chunk(&mut self) -> io::Result<Option<Arc<Vec<u8>>>> {
        let k = self.next;
        let shared = &*self.shared;
        let mut ring = shared.lock();
        let slot = (k % ring.slots.len() as u64) as usize;
        let mut spun = false;
        loop {
            if let Some((at, kind, message)) = &ring.failed
                && *at == k
            {
                return Err(io::Error::new(*kind, message.clone()));
            }
            if ring.end.is_some_and(|end| k >= end) {
                return Ok(None);
            }
            let unclaimed = ring.claimed == k;
            match &mut ring.slots[slot] {
                Slot::Ready {
                    index,
                    chunk,
                    takes_left,
                } if *index == k => {
                    *takes_left -= 1;
                    let chunk = Arc::clone(chunk);
                    if *takes_left == 0 {
                        ring.slots[slot] = Slot::Free;
                        ring.wake(&shared.changed);
                    }
                    self.next += 1;
                    // Read the next chunk now, before framing this one, if
                    // nobody has: a reader right behind then finds it ready
                    // instead of waiting for it to be read (which it did a
                    // couple of hundred times per GiB at two shards).
                    let next_slot = ((k + 1) % ring.slots.len() as u64) as usize;
                    if ring.claimed == k + 1
                        && ring.end.is_none()
                        && matches!(ring.slots[next_slot], Slot::Free)
                    {
                        drop(shared.read_into(ring, k + 1, next_slot));
                    }
                    return Ok(Some(chunk));
                }
                Slot::Free if unclaimed => ring = shared.read_into(ring, k, slot),
                Slot::Reading if !spun => {
                    // Another reader is reading this very chunk, which takes
                    // tens of microseconds: spin for it rather than sleep,
                    // since a sleep and a wake-up cost about as much again
                    // (at two shards they met this way a few hundred times
                    // per GiB, 25-50 ms asleep in all). A read that takes
                    // longer (a cold cache, a slow disk) is slept through.
                    spun = true;
                    drop(ring);
                    let since = Instant::now();
                    let mut spins = 0u32;
                    while shared.ready.load(Ordering::Acquire) <= k {
                        spins += 1;
                        if spins.is_multiple_of(64) {
                            if since.elapsed() >= SharedFile::SPIN {
                                break;
                            }
                            // More shards than cores: let the reader run.
                            std::thread::yield_now();
                        } else {
                            std::hint::spin_loop();
                        }
                    }
                    ring = shared.lock();
                }
                _ => {
                    ring.sleepers += 1;
                    ring = shared
                        .changed
                        .wait(ring)
                        .unwrap_or_else(PoisonError::into_inner);
                    ring.sleepers -= 1;
                }
            }
        }
    }
}

impl Drop for SharedInput {
    /// Leaves the ring: the chunks this reader has not taken stop waiting
    /// for it.
    fn drop(&mut self) {
        let mut ring = self.shared.lock();
        ring.readers -= 1;
        for slot in &mut ring.slots {
            if let Slot::Ready {
                index, takes_left, ..
            } = slot
                && *index >= self.next
            {
                *takes_left -= 1;
                if *takes_left == 0 {
                    *slot = Slot::Free;
                }
            }
        }
        ring.wake(&self.shared.changed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A temporary file of `len` bytes, each its offset's low byte mixed a
    /// little (so a chunk put in the wrong place shows).
    fn file_of(len: usize, name: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        let bytes: Vec<u8> = (0..len).map(|i| (i ^ (i >> 8) ^ (i >> 16)) as u8).collect();
        std::fs::write(&path, bytes).unwrap();
        (dir, path)
    }

    /// Runs `f` on a thread of its own and gives its result, failing after
    /// ten seconds: a reader wrongly left waiting fails the test instead of
    /// hanging it.
    fn within<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || tx.send(f()));
        rx.recv_timeout(Duration::from_secs(10))
            .expect("finished without waiting for ever")
    }

    fn drain(mut input: SharedInput) -> Vec<u8> {
        let mut all = Vec::new();
        while let Some(chunk) = input.next_chunk().unwrap() {
            assert!(!chunk.is_empty());
            all.extend_from_slice(&chunk);
        }
        // At the end it stays at the end.
        assert!(input.next_chunk().unwrap().is_none());
        all
    }

    #[test]
    fn every_reader_gets_the_whole_file_in_order_while_the_ring_wraps() {
        // 4 KiB chunks, 3 slots: 40 and a half chunks go round the ring
        // thirteen times; readers on their own threads, one much slower.
        let len = 40 * 4096 + 2048;
        let (_dir, path) = file_of(len, "ring");
        let want = std::fs::read(&path).unwrap();
        let inputs = SharedFile::open_with(&path, 3, 4096, 3).unwrap();
        let got: Vec<Vec<u8>> = within(move || {
            std::thread::scope(|scope| {
                let readers: Vec<_> = inputs
                    .into_iter()
                    .enumerate()
                    .map(|(i, mut input)| {
                        scope.spawn(move || {
                            let mut all = Vec::new();
                            while let Some(chunk) = input.next_chunk().unwrap() {
                                all.extend_from_slice(&chunk);
                                if i == 2 {
                                    std::thread::sleep(Duration::from_micros(300));
                                }
                            }
                            all
                        })
                    })
                    .collect();
                readers.into_iter().map(|r| r.join().unwrap()).collect()
            })
        });
        for (i, bytes) in got.iter().enumerate() {
            assert!(bytes == &want, "reader {i}: {} of {len} bytes", bytes.len());
        }
    }

    #[test]
    fn buffers_are_reused_not_made_per_chunk() {
        let (_dir, path) = file_of(64 * 1024, "reuse");
        let inputs = SharedFile::open_with(&path, 2, 1024, 4).unwrap();
        let shared = Arc::clone(&inputs[0].shared);
        // Taken in turn on one thread: neither may run a ring ahead.
        let (mut inputs, mut total) = (inputs, 0);
        for _ in 0..64 {
            for input in &mut inputs {
                total += input.next_chunk().unwrap().unwrap().len();
            }
        }
        assert_eq!(total, 2 * 64 * 1024);
        // At most the bound `free_buffer` gives (slots and two chunks per
        // reader): not one per chunk.
        let made = shared.lock().buffers.len();
        assert!(
            (1..=4 + 2 * 2).contains(&made),
            "{made} buffers for 64 chunks"
        );
    }

    #[test]
    fn a_reader_that_leaves_holds_up_nobody() {
        // Two readers, 2 slots. One takes a chunk and leaves; the other
        // takes two chunks, both still waiting for a third reader that
        // leaves then: the ring must not keep them for either.
        let (_dir, path) = file_of(20 * 512, "leave");
        let mut inputs = SharedFile::open_with(&path, 3, 512, 2).unwrap();
        let (mut stay, mut late) = (inputs.pop().unwrap(), inputs.pop().unwrap());
        let mut early = inputs.pop().unwrap();
        assert_eq!(early.next_chunk().unwrap().unwrap().len(), 512);
        drop(early);
        let mut got = Vec::new();
        for _ in 0..2 {
            got.extend_from_slice(&stay.next_chunk().unwrap().unwrap());
        }
        drop(late.next_chunk().unwrap());
        drop(late);
        got.extend(within(move || drain(stay)));
        assert_eq!(got, std::fs::read(&path).unwrap());
    }

    /// A file that fails to read at byte `fail_at`, giving each read at
    /// most 300 bytes (short reads, as from a pipe or a network share)
    /// after a `pause` (a slow disk).
    struct FailAt {
        len: usize,
        at: usize,
        fail_at: usize,
        pause: Duration,
    }

    impl Read for FailAt {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            std::thread::sleep(self.pause);
            if self.at == self.fail_at {
                return Err(io::Error::other("boom"));
            }
            let n = out.len().min(300).min(self.fail_at.min(self.len) - self.at);
            for (i, b) in out[..n].iter_mut().enumerate() {
                *b = (self.at + i) as u8;
            }
            self.at += n;
            Ok(n)
        }
    }

    impl Seek for FailAt {
        fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
            let SeekFrom::Start(to) = to else {
                unreachable!("the ring seeks from the start")
            };
            self.at = to as usize;
            Ok(to)
        }
    }

    #[test]
    fn a_read_error_reaches_every_reader_after_the_bytes_before_it() {
        // Failing inside chunk 2 (of 1,024 bytes), and at its very start.
        for (fail_at, kept) in [(2500, 2500), (2048, 2048)] {
            let source = FailAt {
                len: 10_000,
                at: 0,
                fail_at,
                pause: Duration::ZERO,
            };
            let inputs = SharedFile::from_source(Box::new(source), 2, 1024, 4);
            let got = within(move || {
                std::thread::scope(|scope| {
                    let readers: Vec<_> = inputs
                        .into_iter()
                        .map(|mut input| {
                            scope.spawn(move || {
                                let mut all = Vec::new();
                                loop {
                                    match input.next_chunk() {
                                        Ok(Some(chunk)) => all.extend_from_slice(&chunk),
                                        Ok(None) => return (all, None),
                                        Err(e) => return (all, Some(e.to_string())),
                                    }
                                }
                            })
                        })
                        .collect();
                    readers
                        .into_iter()
                        .map(|r| r.join().unwrap())
                        .collect::<Vec<_>>()
                })
            });
            for (bytes, error) in got {
                assert_eq!(bytes.len(), kept, "failing at {fail_at}");
                assert!(bytes.iter().enumerate().all(|(i, &b)| b == i as u8));
                assert_eq!(error.as_deref(), Some("boom"), "failing at {fail_at}");
            }
        }
    }

    /// Every reader's bytes, each reader on a thread of its own.
    fn read_all_on_threads(inputs: Vec<SharedInput>) -> Vec<Vec<u8>> {
        within(move || {
            std::thread::scope(|scope| {
                let readers: Vec<_> = inputs
                    .into_iter()
                    .map(|input| scope.spawn(move || drain(input)))
                    .collect();
                readers.into_iter().map(|r| r.join().unwrap()).collect()
            })
        })
    }

    #[test]
    fn a_reader_waiting_longer_than_its_spin_is_woken_when_the_chunk_is_ready() {
        // Each chunk takes the reader that reads it about 8 ms (4 reads of
        // 2 ms), far past the 0.5 ms spin: the other reader sleeps, and
        // must be woken. A lost wake-up fails at `within`'s timeout.
        let source = FailAt {
            len: 10 * 1024,
            at: 0,
            fail_at: usize::MAX,
            pause: Duration::from_millis(2),
        };
        let got = read_all_on_threads(SharedFile::from_source(Box::new(source), 2, 1024, 4));
        for bytes in got {
            assert_eq!(bytes.len(), 10 * 1024);
            assert!(bytes.iter().enumerate().all(|(i, &b)| b == i as u8));
        }
    }

    #[test]
    fn taking_a_chunk_reads_the_next_one_ahead() {
        let (_dir, path) = file_of(4 * 1024, "ahead");
        let mut inputs = SharedFile::open_with(&path, 2, 1024, 4).unwrap();
        let shared = Arc::clone(&inputs[0].shared);
        assert_eq!(inputs[0].next_chunk().unwrap().unwrap().len(), 1024);
        let ring = shared.lock();
        assert_eq!(ring.claimed, 2);
        assert!(matches!(ring.slots[1], Slot::Ready { index: 1, .. }));
    }

    #[test]
    fn a_file_of_whole_chunks_and_an_empty_file_end_cleanly() {
        let (_dir, path) = file_of(8 * 1024, "whole");
        let input = SharedFile::open_with(&path, 1, 1024, 4)
            .unwrap()
            .pop()
            .unwrap();
        assert_eq!(drain(input), std::fs::read(&path).unwrap());
        let (_dir, path) = file_of(0, "empty");
        let input = SharedFile::open_with(&path, 1, 1024, 4)
            .unwrap()
            .pop()
            .unwrap();
        assert!(drain(input).is_empty());
    }
}
