//! Framing of capture files: pcap and pcapng, optionally gzip-compressed.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{CaptureWarning, DecodeError, WarningKind};
use crate::{LinkType, Timestamp};

/// One captured frame, borrowed from the reader's buffer.
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    /// 1-based packet number in the capture, as Wireshark counts them.
    pub index: u64,
    /// When the frame was captured.
    pub ts: Timestamp,
    /// The link type of the interface it was captured on.
    pub link: LinkType,
    /// Interface number (pcapng) or 0 (pcap).
    pub interface: u32,
    /// The captured bytes (possibly fewer than were on the wire).
    pub data: &'a [u8],
    /// Length of the frame on the wire.
    pub orig_len: u32,
}

impl Frame<'_> {
    /// True when the capture kept fewer bytes than were on the wire (snaplen).
    pub fn is_truncated(&self) -> bool {
        (self.data.len() as u64) < u64::from(self.orig_len)
    }
}

/// Which container format a capture uses: `pcap` or `pcapng` in JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum CaptureFormat {
    /// Classic libpcap.
    Pcap,
    /// pcapng.
    PcapNg,
}

impl CaptureFormat {
    /// The name written in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            CaptureFormat::Pcap => "pcap",
            CaptureFormat::PcapNg => "pcapng",
        }
    }
}

/// Secrets carried inside a capture (pcapng Decryption Secrets Block).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaptureSecrets {
    /// The secrets type, e.g. `0x544c534b` (`TLSK`) for a TLS key log.
    pub kind: u32,
    /// The secrets as stored (for `TLSK`, NSS key log text).
    pub data: Vec<u8>,
}

impl CaptureSecrets {
    /// Secrets type of an NSS TLS key log.
    pub const TLS_KEY_LOG: u32 = 0x544c_534b;
}

/// Reads frames from a pcap or pcapng capture, plain or gzip-compressed.
///
/// Format and compression are recognised by magic bytes, never by file name.
/// Memory stays bounded: the file is streamed through a buffer that only grows
/// to hold the largest single record. Damage does not end the analysis:
/// everything readable is returned and [`CaptureReader::warnings`] says what
/// was skipped and where (the first 100 problems, then a count of the rest:
/// see [`CaptureReader::suppressed_warnings`]).
///
/// ```no_run
/// use telltale_decode::CaptureReader;
/// let mut reader = CaptureReader::open("fixtures/redmi-1s-2014.pcap")?;
/// while let Some(frame) = reader.next_frame()? {
///     println!("{} {} bytes on {}", frame.index, frame.data.len(), frame.link);
/// }
/// for w in reader.warnings() {
///     eprintln!("{w}");
/// }
/// # Ok::<(), telltale_decode::DecodeError>(())
/// ```
pub struct CaptureReader {
    path: PathBuf,
    input: Input,
    format: CaptureFormat,
    gzip: bool,
    state: FormatState,
    next_index: u64,
    pending_consume: usize,
    done: bool,
    warnings: Vec<CaptureWarning>,
    /// Warnings past [`MAX_WARNINGS`], counted per kind instead of kept.
    suppressed: BTreeMap<WarningKind, u64>,
    secrets: Vec<CaptureSecrets>,
}

enum FormatState {
    Pcap {
        big_endian: bool,
        units_per_sec: u64,
        link: LinkType,
    },
    PcapNg {
        big_endian: bool,
        interfaces: Vec<Interface>,
    },
}

impl FormatState {
    /// A plain pcap's byte order, time units and link type; `None` for
    /// pcapng.
    #[inline(always)]
    fn pcap(&self) -> Option<(bool, u64, LinkType)> {
        match *self {
            FormatState::Pcap {
                big_endian,
                units_per_sec,
                link,
            } => Some((big_endian, units_per_sec, link)),
            FormatState::PcapNg { .. } => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Interface {
    link: LinkType,
    units_per_sec: u64,
    offset_secs: i64,
    /// Most bytes kept per packet; 0 means no limit. Needed to tell a Simple
    /// Packet Block's data from its padding.
    snaplen: u32,
}

impl Interface {
    /// What pcapng assumes when an interface gives no options.
    const fn new(link: LinkType) -> Self {
        Interface {
            link,
            units_per_sec: 1_000_000,
            offset_secs: 0,
            snaplen: 0,
        }
    }
}

/// The largest record we accept; pcapng blocks or pcap records claiming more
/// are treated as corrupt rather than buffered (no real link carries frames
/// this large, and a lying length must not make us allocate gigabytes).
const MAX_RECORD: usize = 64 << 20;
/// The most the reader ever asks to have buffered at once: a pcap record
/// header plus the largest record (a pcapng block's length includes its
/// header, so it needs less).
const MAX_BUFFER: usize = MAX_RECORD + 16;
const READ_CHUNK: usize = 1 << 20;
/// Warnings kept per capture. A crafted file can make every block a warning;
/// past this many only counts per kind are kept, so memory and the report
/// stay small while the first problems keep their offsets.
const MAX_WARNINGS: usize = 100;

impl CaptureReader {
    /// Opens a capture file; `-` reads standard input.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, DecodeError> {
        let path = path.as_ref();
        let reader: Box<dyn Read + Send> = if path == Path::new("-") {
            Box::new(io::stdin())
        } else {
            let file = File::open(path).map_err(|source| DecodeError::Io {
                path: path.to_owned(),
                source,
            })?;
            // The file is read once, front to back: telling the kernel so
            // spares marking every page cache page accessed and moving it
            // between its LRU lists on each read (several percent of an
            // analysis on Linux 6.3 and later). Only advice: failure (older
            // kernels, pipes) changes nothing.
            #[cfg(target_os = "linux")]
            let _ = rustix::fs::fadvise(&file, 0, None, rustix::fs::Advice::NoReuse);
            Box::new(file)
        };
        Self::from_read(path, reader)
    }

    /// Reads a capture from any byte stream; `name` is used in messages.
    pub fn from_read(
        name: impl AsRef<Path>,
        reader: Box<dyn Read + Send>,
    ) -> Result<Self, DecodeError> {
        Self::from_input(name.as_ref(), Input::new(reader))
    }

    /// Reads a capture from chunks that other readers may share (see
    /// [`ChunkSource`]); `name` is used in messages.
    pub fn from_chunks(
        name: impl AsRef<Path>,
        source: Box<dyn ChunkSource>,
    ) -> Result<Self, DecodeError> {
        Self::from_input(name.as_ref(), Input::from_chunks(source))
    }

    fn from_input(name: &Path, mut input: Input) -> Result<Self, DecodeError> {
        let path = name.to_owned();
        let io_err = |source| DecodeError::Io {
            path: path.clone(),
            source,
        };
        input.fill(4).map_err(io_err)?;
        let gzip = input.data().starts_with(&[0x1f, 0x8b]);
        if gzip {
            input = input.into_gzip();
            input.fill(4).map_err(io_err)?;
        }
        let head = input.data();
        if head.len() < 4 {
            return Err(DecodeError::TruncatedHeader {
                path,
                len: head.len() as u64,
            });
        }
        let magic = [head[0], head[1], head[2], head[3]];
        let (format, state) = match magic {
            [0x0a, 0x0d, 0x0d, 0x0a] => (
                CaptureFormat::PcapNg,
                FormatState::PcapNg {
                    big_endian: false,
                    interfaces: Vec::new(),
                },
            ),
            _ => {
                let (big_endian, units_per_sec) = match u32::from_le_bytes(magic) {
                    0xa1b2_c3d4 => (false, 1_000_000),
                    0xa1b2_3c4d => (false, 1_000_000_000),
                    0xd4c3_b2a1 => (true, 1_000_000),
                    0x4d3c_b2a1 => (true, 1_000_000_000),
                    _ => {
                        return Err(DecodeError::NotACapture {
                            path,
                            magic: magic.to_vec(),
                        });
                    }
                };
                input.fill(24).map_err(io_err)?;
                let h = input.data();
                if h.len() < 24 {
                    return Err(DecodeError::TruncatedHeader {
                        path,
                        len: h.len() as u64,
                    });
                }
                let link = read_u32(h, 20, big_endian);
                input.consume(24);
                (
                    CaptureFormat::Pcap,
                    FormatState::Pcap {
                        big_endian,
                        units_per_sec,
                        // The upper 16 bits of the pcap link-type field carry
                        // FCS flags; only the low bits name the link type.
                        link: LinkType(link & 0xffff),
                    },
                )
            }
        };
        Ok(CaptureReader {
            path,
            input,
            format,
            gzip,
            state,
            next_index: 1,
            pending_consume: 0,
            done: false,
            warnings: Vec::new(),
            suppressed: BTreeMap::new(),
            secrets: Vec::new(),
        })
    }

    /// The path or name the capture was opened with.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// pcap or pcapng.
    pub fn format(&self) -> CaptureFormat {
        self.format
    }

    /// Whether the input was gzip-compressed.
    pub fn is_gzip(&self) -> bool {
        self.gzip
    }

    /// Damage met so far (truncation, corrupt or skipped blocks).
    ///
    /// At most the first 100 warnings are kept, plus the one that ended the
    /// capture early, if any; once the capture has been read to its end, a
    /// last warning says how many more of which kinds were suppressed.
    pub fn warnings(&self) -> &[CaptureWarning] {
        &self.warnings
    }

    /// How many warnings were counted but not kept in
    /// [`CaptureReader::warnings`] because there were too many.
    pub fn suppressed_warnings(&self) -> u64 {
        self.suppressed.values().sum()
    }

    /// Decryption secrets found so far in pcapng Decryption Secrets Blocks.
    pub fn secrets(&self) -> &[CaptureSecrets] {
        &self.secrets
    }

    /// The number the next frame will have (frames are numbered from 1, as
    /// Wireshark numbers them; a pcapng packet skipped for damage has its
    /// number too).
    pub fn next_number(&self) -> u64 {
        self.next_index
    }

    /// Bytes of the (decompressed) capture consumed so far.
    pub fn bytes_read(&self) -> u64 {
        self.input.offset() + self.pending_consume as u64
    }

    /// The next frame, or `None` at the end of the capture (or at damage that
    /// makes the rest unreadable; see [`CaptureReader::warnings`]).
    ///
    /// `Err` only for an I/O error on the first read of a file; later I/O
    /// errors end the capture with a warning so earlier frames still count.
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, DecodeError> {
        self.input
            .consume(std::mem::take(&mut self.pending_consume));
        if self.done {
            return Ok(None);
        }
        let found = match self.state {
            FormatState::Pcap { .. } => self.next_pcap(),
            FormatState::PcapNg { .. } => self.next_pcapng(),
        };
        match found {
            Ok(Some(raw)) => {
                self.pending_consume = raw.record_len;
                self.next_index += 1;
                Ok(Some(raw.frame(self.input.data(), self.next_index - 1)))
            }
            Ok(None) => {
                self.done = true;
                self.summarise_suppressed();
                Ok(None)
            }
            Err(e) => {
                self.done = true;
                self.warn(
                    WarningKind::Io,
                    self.input.offset(),
                    format!("read error, capture ends here: {e}"),
                );
                self.summarise_suppressed();
                Ok(None)
            }
        }
    }

    /// Hands `each` the frames already read in whole, up to `max` of them,
    /// in order, as [`next_frame`](Self::next_frame) would give them one by
    /// one; returns how many. Zero when the next frame needs more input,
    /// is damaged, or is not a plain pcap record (pcapng), at the end of
    /// the capture, and when `max` is 0: call `next_frame` then, which
    /// reads on, warns or ends.
    ///
    /// For the hot loop of a caller that reads every frame: one call per
    /// run of frames instead of one per frame, with the format's state
    /// looked up once (a shard of a split capture frames every frame it
    /// cannot step over: see
    /// [`for_each_buffered_skipping`](Self::for_each_buffered_skipping)).
    ///
    /// ```
    /// use telltale_decode::CaptureReader;
    /// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/redmi-1s-2014.pcap");
    /// let (mut batched, mut single) = (Vec::new(), Vec::new());
    /// let mut r = CaptureReader::open(path).unwrap();
    /// loop {
    ///     if r.for_each_buffered(64, |f| batched.push((f.index, f.ts, f.data.to_vec()))) > 0 {
    ///         continue;
    ///     }
    ///     let Some(f) = r.next_frame().unwrap() else { break };
    ///     batched.push((f.index, f.ts, f.data.to_vec()));
    /// }
    /// let mut r = CaptureReader::open(path).unwrap();
    /// while let Some(f) = r.next_frame().unwrap() {
    ///     single.push((f.index, f.ts, f.data.to_vec()));
    /// }
    /// assert_eq!(batched, single);
    /// ```
    // Always inlined: its caller's closure then runs in the same loop,
    // which the compiler did only now and then on its own.
    #[inline(always)]
    pub fn for_each_buffered(&mut self, max: usize, each: impl FnMut(&Frame<'_>)) -> usize {
        self.for_each_buffered_skipping(max, |_| None, each)
    }

    /// As [`for_each_buffered`](Self::for_each_buffered), but first asks
    /// `skip` of each frame's number (also of the number after the last
    /// frame buffered): `Some(n)`, the frame's captured length (its
    /// `data.len()`, a pcap record's bytes without its 16-byte header),
    /// steps over it without reading its record at all (it counts among
    /// the frames returned, but `each` does not see it). For
    /// a shard of a split capture that knows from another shard which
    /// frames are not its own and how long they are: the step then costs
    /// no look at the frame's bytes, which another core read in. A length
    /// other than the frame's desynchronises the framing; one that would
    /// run past what is buffered, or past the largest record the reader
    /// takes, is ignored and the record read.
    ///
    /// ```
    /// use telltale_decode::CaptureReader;
    /// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/redmi-1s-2014.pcap");
    /// let mut r = CaptureReader::open(path).unwrap();
    /// let lens: Vec<usize> = std::iter::from_fn(|| r.next_frame().unwrap().map(|f| f.data.len())).collect();
    /// let mut r = CaptureReader::open(path).unwrap();
    /// let mut odd = Vec::new();
    /// // Every even-numbered frame stepped over, told its length.
    /// let skip = |i: u64| lens.get(i as usize - 1).copied().filter(|_| i % 2 == 0);
    /// while r.for_each_buffered_skipping(usize::MAX, skip, |f| odd.push(f.index)) > 0 {}
    /// assert_eq!(odd, (1..=lens.len() as u64).step_by(2).collect::<Vec<_>>());
    /// assert!(r.next_frame().unwrap().is_none());
    /// ```
    #[inline(always)]
    pub fn for_each_buffered_skipping(
        &mut self,
        max: usize,
        mut skip: impl FnMut(u64) -> Option<usize>,
        mut each: impl FnMut(&Frame<'_>),
    ) -> usize {
        let Some((big_endian, units_per_sec, link)) = self.buffered_pcap() else {
            return 0;
        };
        let data = self.input.data();
        let mut at = 0;
        let mut n = 0;
        while n < max {
            if let Some(len) = skip(self.next_index)
                && whole_pcap_len(len, data.len() - at)
            {
                self.next_index += 1;
                at += 16 + len;
                n += 1;
                continue;
            }
            let Some(raw) = whole_pcap_record(&data[at..], big_endian, units_per_sec, link) else {
                break;
            };
            each(&raw.frame(&data[at..], self.next_index));
            self.next_index += 1;
            at += raw.record_len;
            n += 1;
        }
        self.pending_consume = at;
        n
    }

    /// The frames [`for_each_buffered`](Self::for_each_buffered) would
    /// hand over next (at most `max`), to `each` until it says `false`,
    /// without taking them: they come again, the same, from the next call
    /// of either method or of [`next_frame`](Self::next_frame). For a
    /// shard of a split capture that places a run of frames before it
    /// takes them. Returns how many frames `each` saw, the one it said
    /// `false` to included.
    ///
    /// ```
    /// use telltale_decode::CaptureReader;
    /// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/redmi-1s-2014.pcap");
    /// let mut r = CaptureReader::open(path).unwrap();
    /// let first = r.next_frame().unwrap().unwrap().index;
    /// let mut seen = Vec::new();
    /// r.peek_buffered(8, |f| {
    ///     seen.push(f.index);
    ///     true
    /// });
    /// assert_eq!(seen, (first + 1..first + 9).collect::<Vec<_>>());
    /// assert_eq!(r.next_frame().unwrap().unwrap().index, first + 1);
    /// ```
    pub fn peek_buffered(&mut self, max: usize, mut each: impl FnMut(&Frame<'_>) -> bool) -> usize {
        // As for_each_buffered does first, so both see the same bytes.
        let Some((big_endian, units_per_sec, link)) = self.buffered_pcap() else {
            return 0;
        };
        let data = self.input.data();
        let (mut at, mut n) = (0, 0);
        while n < max {
            let Some(raw) = whole_pcap_record(&data[at..], big_endian, units_per_sec, link) else {
                break;
            };
            n += 1;
            if !each(&raw.frame(&data[at..], self.next_index + n as u64 - 1)) {
                break;
            }
            at += raw.record_len;
        }
        n
    }

    /// For taking or peeking at the frames buffered whole: a plain pcap's
    /// byte order, time units and link type, with the last frame taken
    /// consumed; `None` for pcapng or at the end.
    #[inline(always)]
    fn buffered_pcap(&mut self) -> Option<(bool, u64, LinkType)> {
        let format = self.state.pcap()?;
        if self.done {
            return None;
        }
        self.input
            .consume(std::mem::take(&mut self.pending_consume));
        Some(format)
    }

    fn warn(&mut self, kind: WarningKind, offset: u64, message: String) {
        // The warning that ends a capture early says why the rest is missing,
        // so it gets one slot beyond the cap (only one such warning can
        // happen, as reading stops right after it).
        let ends_capture = matches!(
            kind,
            WarningKind::Truncated | WarningKind::Corrupt | WarningKind::Io
        );
        let cap = if ends_capture {
            MAX_WARNINGS + 1
        } else {
            MAX_WARNINGS
        };
        if self.warnings.len() >= cap {
            *self.suppressed.entry(kind).or_default() += 1;
            return;
        }
        self.warnings.push(CaptureWarning {
            kind,
            offset,
            packet: Some(self.next_index),
            message,
        });
    }

    /// At the end of the capture, one warning counting those not kept, so
    /// whoever prints the warnings shows that there were more.
    fn summarise_suppressed(&mut self) {
        let total = self.suppressed_warnings();
        // The kind most suppressed stands for the summary (the first such in
        // kind order on a tie, so the choice is deterministic).
        let Some(kind) = self
            .suppressed
            .iter()
            .max_by_key(|&(k, n)| (*n, std::cmp::Reverse(*k)))
            .map(|(k, _)| *k)
        else {
            return;
        };
        let kinds: Vec<String> = self
            .suppressed
            .iter()
            .map(|(k, n)| format!("{n} {}", kind_label(*k)))
            .collect();
        self.warnings.push(CaptureWarning {
            kind,
            offset: self.input.offset(),
            packet: None,
            message: format!(
                "{total} more warnings suppressed after the first {MAX_WARNINGS} ({})",
                kinds.join(", ")
            ),
        });
    }

    /// Makes sure `need` bytes are buffered; `Ok(false)` at a clean end of
    /// input, and a truncation warning when the input ends part way.
    #[inline]
    fn require(&mut self, need: usize, what: &str) -> io::Result<bool> {
        // Nearly always already buffered: no call for that.
        if self.input.data().len() >= need {
            return Ok(true);
        }
        self.require_more(need, what)
    }

    #[inline(never)]
    fn require_more(&mut self, need: usize, what: &str) -> io::Result<bool> {
        self.input.fill(need)?;
        let have = self.input.data().len();
        if have >= need {
            return Ok(true);
        }
        if have > 0 {
            let offset = self.input.offset();
            self.warn(
                WarningKind::Truncated,
                offset,
                format!("file ends inside {what} ({have} of {need} bytes present)"),
            );
        }
        Ok(false)
    }

    fn next_pcap(&mut self) -> io::Result<Option<RawFrame>> {
        let Some((big_endian, units_per_sec, link)) = self.state.pcap() else {
            return Ok(None);
        };
        // Nearly every record is already buffered whole: take it without
        // the refill checks (a tenth of the reader's instructions).
        if let Some(raw) = whole_pcap_record(self.input.data(), big_endian, units_per_sec, link) {
            return Ok(Some(raw));
        }
        if !self.require(16, "a packet record header")? {
            return Ok(None);
        }
        let raw = pcap_record(self.input.data(), big_endian, units_per_sec, link);
        let caplen = raw.data_len;
        if caplen > MAX_RECORD {
            let offset = self.input.offset();
            self.warn(
                WarningKind::Corrupt,
                offset,
                format!("packet record claims {caplen} captured bytes; the rest of the file cannot be framed"),
            );
            return Ok(None);
        }
        if !self.require(16 + caplen, "a packet")? {
            return Ok(None);
        }
        Ok(Some(raw))
    }

    fn next_pcapng(&mut self) -> io::Result<Option<RawFrame>> {
        loop {
            if !self.require(12, "a block header")? {
                return Ok(None);
            }
            let offset = self.input.offset();
            let h = self.input.data();
            let raw_type = [h[0], h[1], h[2], h[3]];
            if raw_type == [0x0a, 0x0d, 0x0d, 0x0a] {
                // A Section Header Block carries its own byte order in its
                // byte-order magic, which must be read before its length.
                let big_endian = match [h[8], h[9], h[10], h[11]] {
                    [0x1a, 0x2b, 0x3c, 0x4d] => true,
                    [0x4d, 0x3c, 0x2b, 0x1a] => false,
                    bom => {
                        self.warn(
                            WarningKind::Corrupt,
                            offset,
                            format!("section header with an unknown byte-order magic {bom:02x?}"),
                        );
                        return Ok(None);
                    }
                };
                if let FormatState::PcapNg {
                    big_endian: be,
                    interfaces,
                } = &mut self.state
                {
                    *be = big_endian;
                    interfaces.clear();
                }
            }
            let big_endian = match &self.state {
                FormatState::PcapNg { big_endian, .. } => *big_endian,
                FormatState::Pcap { .. } => return Ok(None),
            };
            let h = self.input.data();
            let block_type = read_u32(h, 0, big_endian);
            let block_len = read_u32(h, 4, big_endian) as usize;
            if block_len < 12 || !block_len.is_multiple_of(4) || block_len > MAX_RECORD {
                let what = format!(
                    "block of type {block_type:#x} claims an impossible length {block_len}"
                );
                if self.resync_after(&what, offset, big_endian)? {
                    continue;
                }
                return Ok(None);
            }
            self.input.fill(block_len)?;
            if self.input.data().len() < block_len {
                // Past the end of the file: a truncated last block, or a
                // lying length with real blocks after it.
                let what = format!(
                    "block of type {block_type:#x} claims {block_len} bytes, past the end of the file"
                );
                let have = self.input.data().len();
                if have > 12 && self.resync(&what, offset, big_endian, false)? {
                    continue;
                }
                // Nothing after it frames: a capture cut inside its last
                // block, said as such.
                self.warn(
                    WarningKind::Truncated,
                    offset,
                    format!("file ends inside a block ({have} of {block_len} bytes present)"),
                );
                return Ok(None);
            }
            let block = &self.input.data()[..block_len];
            let trailer = read_u32(block, block_len - 4, big_endian) as usize;
            if trailer != block_len {
                let what = format!(
                    "block of type {block_type:#x}: leading length {block_len} and trailing length {trailer} differ"
                );
                if self.resync_after(&what, offset, big_endian)? {
                    continue;
                }
                return Ok(None);
            }
            match self.pcapng_block(block_type, block_len, big_endian, offset) {
                Some(frame) => return Ok(Some(frame)),
                None => self.input.consume(block_len),
            }
        }
    }

    /// A block at `offset` whose length cannot be trusted: looks for the
    /// next offset (in 4-byte steps, as blocks are aligned) where a block of
    /// a known type frames correctly (plausible length, trailer equal), and
    /// goes on from there, so one lying block does not cost the rest of
    /// the file. Warns either way; `false` when nothing frames within
    /// 64 MiB (the rest of the file cannot be read).
    fn resync_after(&mut self, what: &str, offset: u64, big_endian: bool) -> io::Result<bool> {
        self.resync(what, offset, big_endian, true)
    }

    /// As [`resync_after`](Self::resync_after); `warn_if_lost` false leaves
    /// the failure for the caller to describe.
    fn resync(
        &mut self,
        what: &str,
        offset: u64,
        big_endian: bool,
        warn_if_lost: bool,
    ) -> io::Result<bool> {
        // Candidates are checked whole, so they are kept small: packet
        // blocks of real captures are far below this.
        const MAX_CANDIDATE: usize = 1 << 20;
        const MAX_SCAN: usize = MAX_RECORD;
        let mut skipped = 0usize;
        let found = loop {
            self.input.consume(4);
            skipped += 4;
            if skipped > MAX_SCAN {
                break false;
            }
            self.input.fill(12)?;
            let d = self.input.data();
            if d.len() < 12 {
                break false;
            }
            let shb = d[..4] == [0x0a, 0x0d, 0x0d, 0x0a];
            let kind = read_u32(d, 0, big_endian);
            let len = read_u32(d, 4, big_endian) as usize;
            let known = shb || matches!(kind, 1 | 2 | 3 | 5 | 6 | 10);
            if !known || len < 12 || !len.is_multiple_of(4) || len > MAX_CANDIDATE {
                continue;
            }
            self.input.fill(len)?;
            let d = self.input.data();
            if d.len() >= len && read_u32(d, len - 4, big_endian) as usize == len {
                break true;
            }
        };
        if found {
            self.warn(
                WarningKind::SkippedBlock,
                offset,
                format!(
                    "{what}; skipped {skipped} bytes to the next block that frames correctly, at byte offset {}",
                    self.input.offset()
                ),
            );
        } else if warn_if_lost {
            self.warn(
                WarningKind::Corrupt,
                offset,
                format!("{what}; no block frames correctly after it, the rest of the file cannot be read"),
            );
        }
        Ok(found)
    }

    /// Handles one whole, length-checked block; returns the frame when it
    /// carries a packet.
    fn pcapng_block(
        &mut self,
        block_type: u32,
        block_len: usize,
        big_endian: bool,
        offset: u64,
    ) -> Option<RawFrame> {
        let block = &self.input.data()[..block_len];
        let body = &block[8..block_len - 4];
        match block_type {
            // Enhanced Packet Block, and the Obsolete Packet Block whose layout
            // is the same but for a 16-bit interface id (then a drop count).
            6 | 2 => {
                if body.len() < 20 {
                    self.skip(offset, block_type, "too short for a packet block");
                    return None;
                }
                let if_id = if block_type == 6 {
                    read_u32(body, 0, big_endian)
                } else {
                    u32::from(read_u16(body, 0, big_endian))
                };
                let ts = (u64::from(read_u32(body, 4, big_endian)) << 32)
                    | u64::from(read_u32(body, 8, big_endian));
                let caplen = read_u32(body, 12, big_endian) as usize;
                let orig_len = read_u32(body, 16, big_endian);
                let body_len = body.len();
                self.packet_frame(
                    body_len,
                    20,
                    caplen,
                    orig_len,
                    if_id,
                    Some(ts),
                    block_len,
                    offset,
                )
            }
            // Simple Packet Block: interface 0, no timestamp, captured length
            // implied by the block length and the interface snaplen.
            3 => {
                if body.len() < 4 {
                    self.skip(offset, block_type, "too short for a simple packet");
                    return None;
                }
                let orig_len = read_u32(body, 0, big_endian);
                // The block is padded to 4 bytes, so its length alone can
                // overstate the data by up to 3 bytes: the original length and
                // the snaplen say where the data really ends.
                let snaplen = match self.interface(0).map(|i| i.snaplen) {
                    Some(0) | None => usize::MAX,
                    Some(s) => s as usize,
                };
                let caplen = (body.len() - 4).min(orig_len as usize).min(snaplen);
                let body_len = body.len();
                self.packet_frame(body_len, 4, caplen, orig_len, 0, None, block_len, offset)
            }
            // Interface Description Block. Read by hand rather than with
            // pcap-parser, which takes `if_tsoffset` as little-endian whatever
            // the section's byte order.
            1 => {
                let (iface, damage) = parse_idb(body, big_endian);
                if let Some(why) = damage {
                    let number = match &self.state {
                        FormatState::PcapNg { interfaces, .. } => interfaces.len(),
                        FormatState::Pcap { .. } => 0,
                    };
                    self.warn(
                        WarningKind::SkippedBlock,
                        offset,
                        format!("interface description {number} {why}"),
                    );
                }
                // Pushed even when damaged, so that later interface numbers
                // still name the interfaces the file means.
                if let FormatState::PcapNg { interfaces, .. } = &mut self.state {
                    interfaces.push(iface);
                }
                None
            }
            // Decryption Secrets Block.
            0x0a => {
                if body.len() >= 8 {
                    let kind = read_u32(body, 0, big_endian);
                    let len = read_u32(body, 4, big_endian) as usize;
                    match body.get(8..8usize.saturating_add(len)) {
                        Some(data) => {
                            let data = data.to_vec();
                            self.secrets.push(CaptureSecrets { kind, data });
                        }
                        None => self.skip(offset, block_type, "secrets length exceeds the block"),
                    }
                }
                None
            }
            // Section headers were handled for byte order; every other block
            // (statistics, name resolution, custom, unknown) carries nothing
            // the analysis needs and is skipped whole.
            _ => None,
        }
    }

    fn interface(&self, if_id: u32) -> Option<Interface> {
        match &self.state {
            FormatState::PcapNg { interfaces, .. } => interfaces.get(if_id as usize).copied(),
            FormatState::Pcap { .. } => None,
        }
    }

    fn skip(&mut self, offset: u64, block_type: u32, why: &str) {
        self.warn(
            WarningKind::SkippedBlock,
            offset,
            format!("block of type {block_type:#x} skipped: {why}"),
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn packet_frame(
        &mut self,
        body_len: usize,
        data_at: usize,
        caplen: usize,
        orig_len: u32,
        if_id: u32,
        ts: Option<u64>,
        block_len: usize,
        offset: u64,
    ) -> Option<RawFrame> {
        if data_at + caplen > body_len {
            self.warn(
                WarningKind::SkippedBlock,
                offset,
                format!("packet claims {caplen} captured bytes but its block holds fewer; packet skipped"),
            );
            self.next_index += 1;
            return None;
        }
        let Some(iface) = self.interface(if_id) else {
            self.warn(
                WarningKind::UnknownInterface,
                offset,
                format!(
                    "packet names interface {if_id}, which was never described; packet skipped"
                ),
            );
            self.next_index += 1;
            return None;
        };
        let ts = match ts {
            Some(units) => {
                let per_sec = iface.units_per_sec.max(1);
                let secs = i64::try_from(units / per_sec).unwrap_or(i64::MAX);
                Timestamp::from_parts(
                    iface.offset_secs.saturating_add(secs),
                    units % per_sec,
                    per_sec,
                )
            }
            None => Timestamp::default(),
        };
        Some(RawFrame {
            record_len: block_len,
            data_start: 8 + data_at,
            data_len: caplen,
            ts,
            link: iface.link,
            interface: if_id,
            orig_len: orig_len.max(caplen as u32),
        })
    }
}

struct RawFrame {
    record_len: usize,
    data_start: usize,
    data_len: usize,
    ts: Timestamp,
    link: LinkType,
    interface: u32,
    orig_len: u32,
}

impl RawFrame {
    /// The frame, numbered `index`, in `record` (the bytes from the start
    /// of its record on).
    #[inline(always)]
    fn frame<'a>(&self, record: &'a [u8], index: u64) -> Frame<'a> {
        Frame {
            index,
            ts: self.ts,
            link: self.link,
            interface: self.interface,
            data: &record[self.data_start..self.data_start + self.data_len],
            orig_len: self.orig_len,
        }
    }
}

/// The record a pcap record header at the start of `head` (16 bytes at
/// least) describes, its bytes not checked.
#[inline(always)]
fn pcap_record(head: &[u8], big_endian: bool, units_per_sec: u64, link: LinkType) -> RawFrame {
    let caplen = read_u32(head, 8, big_endian) as usize;
    let (secs, frac) = (read_u32(head, 0, big_endian), read_u32(head, 4, big_endian));
    RawFrame {
        record_len: 16 + caplen,
        data_start: 16,
        data_len: caplen,
        ts: Timestamp::from_parts(i64::from(secs), u64::from(frac), units_per_sec),
        link,
        interface: 0,
        orig_len: read_u32(head, 12, big_endian).max(caplen as u32),
    }
}

/// The pcap record at the start of `data` when all of it is there and its
/// length is believable; `None` sends the reader the long way (refill,
/// warn, or end).
#[inline(always)]
fn whole_pcap_record(
    data: &[u8],
    big_endian: bool,
    units_per_sec: u64,
    link: LinkType,
) -> Option<RawFrame> {
    let head = data.get(..16)?;
    let caplen = read_u32(head, 8, big_endian) as usize;
    whole_pcap_len(caplen, data.len()).then(|| pcap_record(head, big_endian, units_per_sec, link))
}

/// Whether a pcap record holding `caplen` bytes is believable and whole in
/// the `buffered` bytes from its start.
#[inline(always)]
fn whole_pcap_len(caplen: usize, buffered: usize) -> bool {
    caplen <= MAX_RECORD && buffered >= 16 + caplen
}

/// Reads an Interface Description Block body: link type, snaplen and the
/// options the timestamps need (`if_tsresol`, `if_tsoffset`), in the
/// section's byte order. Always returns an interface, with what could be read
/// and defaults for the rest, and says why when the body is damaged.
fn parse_idb(body: &[u8], big_endian: bool) -> (Interface, Option<&'static str>) {
    if body.len() < 2 {
        return (
            Interface::new(LinkType::UNKNOWN),
            Some("too short to name a link type; kept as an unknown link type"),
        );
    }
    let mut iface = Interface::new(LinkType(u32::from(read_u16(body, 0, big_endian))));
    if body.len() < 8 {
        return (
            iface,
            Some("too short for its snaplen and options; microsecond timestamps assumed"),
        );
    }
    iface.snaplen = read_u32(body, 4, big_endian);
    let mut at = 8;
    // Each option: code u16, length u16, value padded to 4 bytes; code 0
    // ends the list (and so does the end of the body).
    while let Some(head) = body.get(at..at + 4) {
        let code = read_u16(head, 0, big_endian);
        let len = usize::from(read_u16(head, 2, big_endian));
        if code == 0 {
            break;
        }
        let Some(value) = body.get(at + 4..at + 4 + len) else {
            return (
                iface,
                Some("has an option running past its block; it and any after it ignored"),
            );
        };
        match (code, value) {
            (9, [resol]) => iface.units_per_sec = tsresol_units(*resol),
            (14, &[a, b, c, d, e, f, g, h]) => {
                let bytes = [a, b, c, d, e, f, g, h];
                iface.offset_secs = if big_endian {
                    i64::from_be_bytes(bytes)
                } else {
                    i64::from_le_bytes(bytes)
                };
            }
            // Other options (names, filters, ...) and options of the wrong
            // size say nothing about timing and are passed over.
            _ => {}
        }
        at += 4 + len.next_multiple_of(4);
    }
    (iface, None)
}

/// A warning kind as counted in the suppressed-warnings summary.
fn kind_label(kind: WarningKind) -> &'static str {
    match kind {
        WarningKind::Truncated => "truncation",
        WarningKind::Corrupt => "corrupt framing",
        WarningKind::SkippedBlock => "skipped block",
        WarningKind::UnknownInterface => "unknown interface",
        WarningKind::Io => "I/O error",
    }
}

/// `if_tsresol`: high bit set means a power of two, else a power of ten.
fn tsresol_units(tsresol: u8) -> u64 {
    let exp = u32::from(tsresol & 0x7f);
    if tsresol & 0x80 != 0 {
        1u64.checked_shl(exp).unwrap_or(1)
    } else {
        10u64.checked_pow(exp).unwrap_or(1_000_000)
    }
}

fn read_u32(b: &[u8], at: usize, big_endian: bool) -> u32 {
    let bytes = [b[at], b[at + 1], b[at + 2], b[at + 3]];
    if big_endian {
        u32::from_be_bytes(bytes)
    } else {
        u32::from_le_bytes(bytes)
    }
}

fn read_u16(b: &[u8], at: usize, big_endian: bool) -> u16 {
    let bytes = [b[at], b[at + 1]];
    if big_endian {
        u16::from_be_bytes(bytes)
    } else {
        u16::from_le_bytes(bytes)
    }
}

/// Where a [`CaptureReader`] can take its bytes from instead of a [`Read`]:
/// the capture's bytes in order, in chunks that other readers may hold too.
///
/// Several readers of one file can then share one copy of it: each takes
/// every chunk and frames it in place, copying only a record that runs from
/// one chunk into the next. The reader keeps a chunk only until it has
/// framed it, so a source that hands the same buffers round again needs
/// only a few more than it has readers.
///
/// ```
/// use std::sync::Arc;
/// use telltale_decode::{CaptureReader, ChunkSource};
///
/// /// A capture already in memory, handed over in small pieces.
/// struct Pieces(Vec<Arc<Vec<u8>>>);
///
/// impl ChunkSource for Pieces {
///     fn next_chunk(&mut self) -> std::io::Result<Option<Arc<Vec<u8>>>> {
///         Ok((!self.0.is_empty()).then(|| self.0.remove(0)))
///     }
/// }
///
/// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/redmi-1s-2014.pcap");
/// let bytes = std::fs::read(path)?;
/// let pieces = bytes.chunks(1000).map(|c| Arc::new(c.to_vec())).collect();
/// let mut reader = CaptureReader::from_chunks(path, Box::new(Pieces(pieces)))?;
/// let mut frames = 0;
/// while reader.next_frame()?.is_some() {
///     frames += 1;
/// }
/// assert_eq!(frames, 48);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait ChunkSource: Send {
    /// The next chunk of the capture, following the last one without a gap;
    /// `None` at the end. An error ends the capture (with a warning, once its
    /// header has been read).
    fn next_chunk(&mut self) -> io::Result<Option<Arc<Vec<u8>>>>;
}

/// A byte window over a stream: the reader asks for "at least n bytes from the
/// current position" and the window refills, compacts and grows as needed.
struct Input {
    source: Source,
    /// The window's bytes, read from a stream; from chunks, the carry: a
    /// record that runs past its chunk, put together.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Stream offset of `buf[0]`, or of `chunk[0]` while the window is the
    /// chunk itself.
    base: u64,
    eof: bool,
}

enum Source {
    Stream(Box<dyn Read + Send>),
    Chunks(Chunks),
}

struct Chunks {
    source: Box<dyn ChunkSource>,
    /// The chunk the window is in or, when the window is the carry, the one
    /// the carry has reached.
    chunk: Arc<Vec<u8>>,
    /// Whether the window is `chunk` itself rather than the carry.
    in_chunk: bool,
    /// With the carry: how much of `chunk` ends it, so the carry's last
    /// byte is `chunk[copied - 1]` (and the window's position is in `chunk`
    /// once `start + copied >= end`).
    copied: usize,
}

impl Input {
    fn new(reader: Box<dyn Read + Send>) -> Self {
        Input {
            source: Source::Stream(reader),
            buf: vec![0; READ_CHUNK],
            start: 0,
            end: 0,
            base: 0,
            eof: false,
        }
    }

    fn from_chunks(source: Box<dyn ChunkSource>) -> Self {
        Input {
            source: Source::Chunks(Chunks {
                source,
                chunk: Arc::default(),
                in_chunk: true,
                copied: 0,
            }),
            buf: Vec::new(),
            start: 0,
            end: 0,
            base: 0,
            eof: false,
        }
    }

    /// Re-reads what is buffered, and the rest of the stream, through gzip.
    fn into_gzip(self) -> Input {
        let head = self.data().to_vec();
        let rest: Box<dyn Read + Send> = match self.source {
            Source::Stream(reader) => reader,
            // The rest starts where the window ends: past the chunk's end,
            // or past the part of it the carry holds.
            Source::Chunks(c) => Box::new(ChunkReader {
                at: if c.in_chunk { c.chunk.len() } else { c.copied },
                source: c.source,
                chunk: c.chunk,
            }),
        };
        let chained = io::Cursor::new(head).chain(rest);
        Input::new(Box::new(flate2::read::MultiGzDecoder::new(chained)))
    }

    #[inline]
    fn data(&self) -> &[u8] {
        match &self.source {
            Source::Chunks(c) if c.in_chunk => &c.chunk[self.start..self.end],
            _ => &self.buf[self.start..self.end],
        }
    }

    fn offset(&self) -> u64 {
        self.base + self.start as u64
    }

    #[inline]
    fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
        if let Source::Chunks(c) = &mut self.source
            && !c.in_chunk
            && self.start + c.copied >= self.end
        {
            // The carry ends with the chunk's first `copied` bytes (or,
            // before it has reached a new chunk, with the end of the one it
            // started in), so from here on the chunk itself holds the
            // window: framing goes back to reading in place, and the carry
            // is copied only for records that cross a chunk's end.
            let at = self.start + c.copied - self.end;
            self.base = self.base + self.start as u64 - at as u64;
            self.start = at;
            self.end = c.chunk.len();
            c.in_chunk = true;
        }
    }

    fn fill(&mut self, need: usize) -> io::Result<()> {
        let reader = match &mut self.source {
            Source::Stream(reader) => reader,
            Source::Chunks(_) => return self.fill_from_chunks(need),
        };
        while self.end - self.start < need && !self.eof {
            if self.buf.len() - self.start < need.max(READ_CHUNK / 2) {
                // Compact, and grow only when one record is larger than the
                // buffer, so memory follows the largest record, not the file.
                self.buf.copy_within(self.start..self.end, 0);
                self.base += self.start as u64;
                self.end -= self.start;
                self.start = 0;
                if self.buf.len() < need {
                    // Doubling keeps growth amortised, but never past the
                    // largest request the reader makes: a 64 MiB record must
                    // not cost a 128 MiB buffer. `reserve_exact` because
                    // `resize` alone may double the capacity anyway.
                    let len = need.next_power_of_two().min(MAX_BUFFER).max(need);
                    self.buf.reserve_exact(len - self.buf.len());
                    self.buf.resize(len, 0);
                }
            }
            match reader.read(&mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// `fill` for chunks: a chunk framed to its end gives way to the next
    /// one; a record that runs past its chunk is copied into the carry, only
    /// as far as the reader asks.
    fn fill_from_chunks(&mut self, need: usize) -> io::Result<()> {
        let Source::Chunks(c) = &mut self.source else {
            unreachable!("called for chunks only")
        };
        while self.end - self.start < need && !self.eof {
            if c.in_chunk && self.start == self.end {
                match c.source.next_chunk()? {
                    Some(next) => {
                        self.base += self.end as u64;
                        c.chunk = next;
                        self.start = 0;
                        self.end = c.chunk.len();
                    }
                    None => self.eof = true,
                }
            } else if c.in_chunk {
                self.buf.clear();
                self.buf.extend_from_slice(&c.chunk[self.start..self.end]);
                self.base += self.start as u64;
                self.end -= self.start;
                self.start = 0;
                c.copied = c.chunk.len();
                c.in_chunk = false;
            } else if c.copied == c.chunk.len() {
                match c.source.next_chunk()? {
                    Some(next) => {
                        c.chunk = next;
                        c.copied = 0;
                    }
                    None => self.eof = true,
                }
            } else {
                let n = (need - (self.end - self.start)).min(c.chunk.len() - c.copied);
                self.buf.extend_from_slice(&c.chunk[c.copied..c.copied + n]);
                c.copied += n;
                self.end += n;
            }
        }
        Ok(())
    }
}

/// Chunks read as a stream: for a gzip capture handed over in chunks.
struct ChunkReader {
    source: Box<dyn ChunkSource>,
    chunk: Arc<Vec<u8>>,
    at: usize,
}

impl Read for ChunkReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.at == self.chunk.len() {
            match self.source.next_chunk()? {
                Some(next) => (self.chunk, self.at) = (next, 0),
                None => return Ok(0),
            }
        }
        let n = out.len().min(self.chunk.len() - self.at);
        out[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pcap_le(records: &[(&[u8], u32)]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        v.extend_from_slice(&2u16.to_le_bytes());
        v.extend_from_slice(&4u16.to_le_bytes());
        v.extend_from_slice(&[0; 8]);
        v.extend_from_slice(&65535u32.to_le_bytes());
        v.extend_from_slice(&1u32.to_le_bytes());
        for (i, (data, orig)) in records.iter().enumerate() {
            v.extend_from_slice(&(1000 + i as u32).to_le_bytes());
            v.extend_from_slice(&7u32.to_le_bytes());
            v.extend_from_slice(&(data.len() as u32).to_le_bytes());
            v.extend_from_slice(&orig.to_le_bytes());
            v.extend_from_slice(data);
        }
        v
    }

    type Frames = Vec<(u64, i64, Vec<u8>)>;

    fn read_all(bytes: Vec<u8>) -> (Frames, Vec<CaptureWarning>) {
        let mut r = CaptureReader::from_read("t", Box::new(io::Cursor::new(bytes))).unwrap();
        let mut out = Vec::new();
        while let Some(f) = r.next_frame().unwrap() {
            out.push((f.index, f.ts.as_nanos(), f.data.to_vec()));
        }
        (out, r.warnings().to_vec())
    }

    #[test]
    fn pcap_records_and_truncation() {
        let mut bytes = pcap_le(&[(b"abc", 3), (b"defg", 100)]);
        let (frames, warnings) = read_all(bytes.clone());
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0], (1, 1_000_000_007_000, b"abc".to_vec()));
        assert_eq!(frames[1].0, 2);
        assert!(warnings.is_empty());
        // Cut inside the second packet: the first survives, the warning names
        // the offset of the damaged record (24 + 16 + 3) and its number.
        bytes.truncate(bytes.len() - 2);
        let (frames, warnings) = read_all(bytes);
        assert_eq!(frames.len(), 1);
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].kind, WarningKind::Truncated);
        assert_eq!(warnings[0].offset, 43);
        assert_eq!(warnings[0].packet, Some(2));
    }

    #[test]
    fn gzip_detected_by_magic() {
        use std::io::Write;
        let plain = pcap_le(&[(b"hello", 5)]);
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(&plain).unwrap();
        let gz = enc.finish().unwrap();
        let (frames, _) = read_all(gz.clone());
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].2, b"hello");
        // The same, opened by path.
        let path = std::env::temp_dir().join(format!("telltale-gz-{}.pcap.gz", std::process::id()));
        std::fs::write(&path, &gz).unwrap();
        let mut r = CaptureReader::open(&path).unwrap();
        assert!(r.is_gzip());
        assert_eq!(r.next_frame().unwrap().unwrap().data, b"hello");
        assert!(r.next_frame().unwrap().is_none());
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn not_a_capture() {
        let r = CaptureReader::from_read("x", Box::new(io::Cursor::new(b"hello world".to_vec())));
        assert!(matches!(r, Err(DecodeError::NotACapture { .. })));
        let r = CaptureReader::from_read("x", Box::new(io::Cursor::new(Vec::new())));
        assert!(matches!(r, Err(DecodeError::TruncatedHeader { .. })));
    }

    /// One pcapng block in the given byte order, body padded to 4 bytes.
    fn block(be: bool, block_type: u32, body: &[u8]) -> Vec<u8> {
        let u32b = |v: u32| if be { v.to_be_bytes() } else { v.to_le_bytes() };
        let padded = body.len().next_multiple_of(4);
        let len = (12 + padded) as u32;
        let mut v = Vec::new();
        v.extend_from_slice(&u32b(block_type));
        v.extend_from_slice(&u32b(len));
        v.extend_from_slice(body);
        v.resize(8 + padded, 0);
        v.extend_from_slice(&u32b(len));
        v
    }

    fn u16b(be: bool, v: u16) -> [u8; 2] {
        if be { v.to_be_bytes() } else { v.to_le_bytes() }
    }

    fn u32b(be: bool, v: u32) -> [u8; 4] {
        if be { v.to_be_bytes() } else { v.to_le_bytes() }
    }

    fn shb(be: bool) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(&u32b(be, 0x1a2b_3c4d));
        body.extend_from_slice(&u16b(be, 1));
        body.extend_from_slice(&u16b(be, 0));
        body.extend_from_slice(&[0xff; 8]);
        block(be, 0x0a0d_0d0a, &body)
    }

    /// An IDB with the given options, each `(code, value)`.
    fn idb(be: bool, link: u16, snaplen: u32, options: &[(u16, &[u8])]) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(&u16b(be, link));
        body.extend_from_slice(&[0, 0]);
        body.extend_from_slice(&u32b(be, snaplen));
        for (code, value) in options {
            body.extend_from_slice(&u16b(be, *code));
            body.extend_from_slice(&u16b(be, value.len() as u16));
            body.extend_from_slice(value);
            body.resize(body.len().next_multiple_of(4), 0);
        }
        if !options.is_empty() {
            body.extend_from_slice(&[0; 4]);
        }
        block(be, 1, &body)
    }

    fn epb(be: bool, if_id: u32, ts: u64, data: &[u8]) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(&u32b(be, if_id));
        body.extend_from_slice(&u32b(be, (ts >> 32) as u32));
        body.extend_from_slice(&u32b(be, ts as u32));
        body.extend_from_slice(&u32b(be, data.len() as u32));
        body.extend_from_slice(&u32b(be, data.len() as u32));
        body.extend_from_slice(data);
        block(be, 6, &body)
    }

    fn spb(orig_len: u32, data: &[u8]) -> Vec<u8> {
        let mut body = orig_len.to_le_bytes().to_vec();
        body.extend_from_slice(data);
        block(false, 3, &body)
    }

    struct Read {
        frames: Vec<(u32, LinkType, i64, Vec<u8>, u32)>,
        warnings: Vec<CaptureWarning>,
        suppressed: u64,
    }

    fn read_ng(bytes: Vec<u8>) -> Read {
        let mut r = CaptureReader::from_read("t", Box::new(io::Cursor::new(bytes))).unwrap();
        let mut frames = Vec::new();
        while let Some(f) = r.next_frame().unwrap() {
            frames.push((
                f.interface,
                f.link,
                f.ts.as_nanos(),
                f.data.to_vec(),
                f.orig_len,
            ));
        }
        Read {
            frames,
            warnings: r.warnings().to_vec(),
            suppressed: r.suppressed_warnings(),
        }
    }

    #[test]
    fn a_lying_block_length_costs_only_that_block() {
        for lie in ["zero", "odd", "huge", "trailer", "beyond"] {
            let mut bytes = shb(false);
            bytes.extend(idb(false, 1, 0, &[]));
            bytes.extend(epb(false, 0, 0, b"before"));
            let mut bad = epb(false, 0, 0, b"lying block");
            let len = bad.len();
            match lie {
                "zero" => bad[4..8].copy_from_slice(&0u32.to_le_bytes()),
                "odd" => bad[4..8].copy_from_slice(&37u32.to_le_bytes()),
                "huge" => bad[4..8].copy_from_slice(&0xffff_fff0u32.to_le_bytes()),
                "trailer" => bad[len - 4..].copy_from_slice(&8u32.to_le_bytes()),
                _ => bad[4..8].copy_from_slice(&100_000u32.to_le_bytes()),
            }
            bytes.extend(bad);
            bytes.extend(epb(false, 0, 0, b"after"));
            let r = read_ng(bytes);
            let data: Vec<&[u8]> = r.frames.iter().map(|f| &f.3[..]).collect();
            assert_eq!(data, [&b"before"[..], b"after"], "{lie}");
            assert_eq!(r.warnings.len(), 1, "{lie}: {:?}", r.warnings);
            assert_eq!(r.warnings[0].kind, WarningKind::SkippedBlock, "{lie}");
            assert!(r.warnings[0].message.contains("skipped"), "{lie}");
        }
        // Nothing frames after the lie: the rest is lost, and said so.
        let mut bytes = shb(false);
        bytes.extend(idb(false, 1, 0, &[]));
        bytes.extend(epb(false, 0, 0, b"before"));
        bytes.extend([0x06, 0, 0, 0, 0x25, 0, 0, 0]);
        bytes.extend([0xee; 64]);
        let r = read_ng(bytes);
        assert_eq!(r.frames.len(), 1);
        assert_eq!(r.warnings[0].kind, WarningKind::Corrupt);
    }

    #[test]
    fn warnings_are_capped_and_summarised() {
        let mut bytes = shb(false);
        bytes.extend(idb(false, 1, 0, &[]));
        for _ in 0..1000 {
            bytes.extend(epb(false, 5, 0, b"x"));
        }
        for _ in 0..300 {
            bytes.extend(block(false, 6, &[0; 8]));
        }
        bytes.extend(epb(false, 0, 0, b"kept"));
        let r = read_ng(bytes.clone());
        // Reading went on past all of them.
        assert_eq!(r.frames.len(), 1);
        assert_eq!(r.frames[0].3, b"kept");
        assert_eq!(r.suppressed, 1200);
        assert_eq!(r.warnings.len(), MAX_WARNINGS + 1);
        assert!(
            r.warnings[..MAX_WARNINGS]
                .iter()
                .all(|w| w.kind == WarningKind::UnknownInterface)
        );
        let summary = &r.warnings[MAX_WARNINGS];
        assert_eq!(summary.kind, WarningKind::UnknownInterface);
        assert_eq!(
            summary.message,
            "1200 more warnings suppressed after the first 100 (300 skipped block, 900 unknown interface)"
        );
        // The warning that ends the capture is still kept, before the summary.
        bytes.extend(&epb(false, 0, 0, b"cut")[..20]);
        let r = read_ng(bytes);
        assert_eq!(r.suppressed, 1200);
        assert_eq!(r.warnings.len(), MAX_WARNINGS + 2);
        assert_eq!(r.warnings[MAX_WARNINGS].kind, WarningKind::Truncated);
        assert!(
            r.warnings[MAX_WARNINGS + 1]
                .message
                .starts_with("1200 more")
        );
        // Below the cap nothing is suppressed and no summary is added.
        let mut few = shb(false);
        few.extend(epb(false, 3, 0, b"x"));
        let r = read_ng(few);
        assert_eq!((r.warnings.len(), r.suppressed), (1, 0));
    }

    #[test]
    fn interface_options_follow_the_section_byte_order() {
        for be in [false, true] {
            let offset = if be {
                1_000_000i64.to_be_bytes()
            } else {
                1_000_000i64.to_le_bytes()
            };
            let mut bytes = shb(be);
            bytes.extend(idb(
                be,
                1,
                0,
                &[(2, b"eth0"), (1, b"odd"), (9, &[9]), (14, &offset)],
            ));
            // Binary resolution 2^-10 and a negative offset.
            let back = if be {
                (-10i64).to_be_bytes()
            } else {
                (-10i64).to_le_bytes()
            };
            bytes.extend(idb(be, 101, 0, &[(9, &[0x8a]), (14, &back)]));
            bytes.extend(epb(be, 0, 2_500_000_000, b"a"));
            bytes.extend(epb(be, 1, 1024 * 20 + 512, b"b"));
            let r = read_ng(bytes);
            assert!(r.warnings.is_empty(), "{:?}", r.warnings);
            assert_eq!(r.frames.len(), 2);
            assert_eq!(r.frames[0].1, LinkType::ETHERNET);
            assert_eq!(r.frames[0].2, 1_000_002_500_000_000, "big endian: {be}");
            assert_eq!(r.frames[1].1, LinkType::RAW);
            assert_eq!(r.frames[1].2, 10_500_000_000, "big endian: {be}");
        }
    }

    #[test]
    fn damaged_interface_descriptions_keep_numbering() {
        let mut bytes = shb(false);
        // Interface 0: link type only; interface 1: empty body; interface 2:
        // an option overrunning its block; interface 3: whole.
        bytes.extend(block(false, 1, &[113, 0, 0, 0]));
        bytes.extend(block(false, 1, &[]));
        let mut overrun = vec![1, 0, 0, 0, 0, 0, 0, 0];
        overrun.extend_from_slice(&9u16.to_le_bytes());
        overrun.extend_from_slice(&200u16.to_le_bytes());
        bytes.extend(block(false, 1, &overrun));
        bytes.extend(idb(false, 101, 0, &[(9, &[9])]));
        for if_id in 0..4 {
            bytes.extend(epb(false, if_id, 3_000_000, b"p"));
        }
        let r = read_ng(bytes);
        let links: Vec<_> = r.frames.iter().map(|f| (f.0, f.1, f.2)).collect();
        assert_eq!(
            links,
            [
                (0, LinkType::LINUX_SLL, 3_000_000_000),
                (1, LinkType::UNKNOWN, 3_000_000_000),
                (2, LinkType::ETHERNET, 3_000_000_000),
                (3, LinkType::RAW, 3_000_000),
            ]
        );
        assert_eq!(r.warnings.len(), 3);
        assert!(
            r.warnings
                .iter()
                .all(|w| w.kind == WarningKind::SkippedBlock)
        );
        assert!(
            r.warnings[1]
                .message
                .starts_with("interface description 1 ")
        );
        assert_eq!(r.warnings[1].offset, 28 + 16);
    }

    #[test]
    fn simple_packet_block_leaves_out_padding() {
        // Snaplen 5: the 3 padding bytes after 5 data bytes are not data,
        // though the wire had 100.
        let mut bytes = shb(false);
        bytes.extend(idb(false, 1, 5, &[]));
        bytes.extend(spb(100, b"abcde"));
        let r = read_ng(bytes);
        assert_eq!(r.frames[0].3, b"abcde");
        assert_eq!(r.frames[0].4, 100);
        // No snaplen: the original length bounds the data.
        let mut bytes = shb(false);
        bytes.extend(idb(false, 1, 0, &[]));
        bytes.extend(spb(5, b"abcde"));
        bytes.extend(spb(100, b"abcdefgh"));
        let r = read_ng(bytes);
        assert_eq!(r.frames[0].3, b"abcde");
        assert_eq!(r.frames[1].3, b"abcdefgh");
        assert!(r.warnings.is_empty());
    }

    #[test]
    fn buffer_stays_within_the_record_cap() {
        use std::io::Read as _;
        // A pcap holding one record of the largest accepted size, streamed
        // without building it in memory.
        let mut head = pcap_le(&[]);
        head.extend_from_slice(&[0; 8]);
        head.extend_from_slice(&(MAX_RECORD as u32).to_le_bytes());
        head.extend_from_slice(&(MAX_RECORD as u32).to_le_bytes());
        let body = io::repeat(7).take(MAX_RECORD as u64);
        let stream = io::Cursor::new(head).chain(body);
        let mut r = CaptureReader::from_read("big", Box::new(stream)).unwrap();
        let f = r.next_frame().unwrap().unwrap();
        assert_eq!(f.data.len(), MAX_RECORD);
        assert!(r.next_frame().unwrap().is_none());
        // Doubling from 1 MiB would have reached 128 MiB.
        assert!(r.input.buf.capacity() <= MAX_BUFFER);
        assert!(r.warnings().is_empty());
    }

    #[test]
    fn tsresol() {
        assert_eq!(tsresol_units(6), 1_000_000);
        assert_eq!(tsresol_units(9), 1_000_000_000);
        assert_eq!(tsresol_units(0x8a), 1024);
        assert_eq!(tsresol_units(0xff), 1);
        assert_eq!(tsresol_units(60), 1_000_000);
    }
}
