//! Reading a capture file through memory-mapped windows: the one place in
//! telltale that uses `unsafe`.
//!
//! Why: reading with `read()` copies every byte from the page cache into a
//! buffer; a mapping hands the reader the page cache itself. On the 512 MiB
//! benchmark corpus the copy and its bookkeeping were the largest single
//! cost in the kernel profile (`benches/runs/2026-12-02/`).
//!
//! Memory stays bounded: the file is mapped a window at a time (64 MiB by
//! default), and a window is unmapped when the reader moves past it, so the
//! mapped pages counted in the resident set follow the window, not the file.

#![allow(unsafe_code)]

use std::fs::File;
use std::io;

use memmap2::{Advice, Mmap, MmapOptions};

/// Maps `len` bytes of `file` from `offset`, read-only.
///
/// # Safety argument
///
/// `Mmap` hands out `&[u8]` over the file's pages. Rust's aliasing rules
/// would be broken if the bytes changed while borrowed, and the process gets
/// `SIGBUS` if a mapped page no longer exists because the file was truncated.
/// Neither can happen through this program: the mapping is read-only and
/// telltale never writes to a capture. Another process could still truncate
/// or rewrite the file while it is read; for that case (captures on a share
/// that others write to, a capture still being rotated) `ReadMode::Read`
/// (`--no-mmap`) reads with `read()` instead, as ripgrep's `--no-mmap` does.
/// A file growing while it is read (tcpdump still writing) is safe: only the
/// length seen when a window is mapped is touched.
///
/// The caller checks `offset + len <= file length` before calling.
pub(crate) fn map_window(file: &File, offset: u64, len: usize) -> io::Result<Mmap> {
    // SAFETY: see the function's documentation: read-only mapping of a file
    // this process never writes; the range lies within the file's length as
    // just read from its metadata.
    let map = unsafe { MmapOptions::new().offset(offset).len(len).map(file)? };
    // Only a hint: the reader goes through the window once, front to back,
    // so the kernel may read ahead and drop pages behind.
    let _ = map.advise(Advice::Sequential);
    Ok(map)
}

/// A capture file read through mapped windows.
pub(crate) struct Mapped {
    file: File,
    /// The file's length when last looked at (it is looked at again at the
    /// end of each window, for a file still being written).
    len: u64,
    window: usize,
    map: Option<Mmap>,
    /// File offset of the window's first byte.
    base: u64,
    /// Position in the window.
    start: usize,
}

impl Mapped {
    /// Default window: large enough that mapping costs nothing per byte,
    /// small enough that the mapped pages stay a small part of the memory.
    pub(crate) const WINDOW: usize = 64 << 20;

    pub(crate) fn new(file: File, len: u64, window: usize) -> Self {
        Mapped {
            file,
            len,
            window: window.max(1),
            map: None,
            base: 0,
            start: 0,
        }
    }

    /// Hands back the file, positioned at its start (for gzip, which is
    /// read through a stream decoder).
    pub(crate) fn into_file(self) -> File {
        self.file
    }

    pub(crate) fn data(&self) -> &[u8] {
        self.map.as_deref().map_or(&[], |m| &m[self.start..])
    }

    pub(crate) fn offset(&self) -> u64 {
        self.base + self.start as u64
    }

    pub(crate) fn consume(&mut self, n: usize) {
        let have = self.map.as_ref().map_or(0, |m| m.len());
        self.start = (self.start + n).min(have);
    }

    /// Makes at least `need` bytes available from the current position, or
    /// all that the file has left.
    pub(crate) fn fill(&mut self, need: usize) -> io::Result<()> {
        if self.data().len() >= need {
            return Ok(());
        }
        let at = self.offset();
        if at + need as u64 > self.len {
            // Perhaps the file grew since it was last looked at.
            self.len = self.file.metadata()?.len();
        }
        let left = self.len.saturating_sub(at);
        if left <= self.data().len() as u64 {
            return Ok(());
        }
        let len = usize::try_from(left)
            .unwrap_or(usize::MAX)
            .min(self.window.max(need));
        // Unmap first: two windows are never mapped at once.
        self.map = None;
        self.map = Some(map_window(&self.file, at, len)?);
        self.base = at;
        self.start = 0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn temp_file(name: &str, bytes: &[u8]) -> (std::path::PathBuf, File) {
        let dir = std::env::temp_dir().join(format!("telltale-mmap-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::File::create(&path)
            .unwrap()
            .write_all(bytes)
            .unwrap();
        let file = File::open(&path).unwrap();
        (path, file)
    }

    /// Windows smaller than the requests and than the file, at unaligned
    /// offsets: every byte comes back once, in order.
    #[test]
    fn windows_cover_the_file_in_order() {
        let bytes: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let (path, file) = temp_file("windows", &bytes);
        let mut m = Mapped::new(file, bytes.len() as u64, 4099);
        let mut got = Vec::new();
        let mut step = 1;
        loop {
            m.fill(step).unwrap();
            let d = m.data();
            if d.is_empty() {
                break;
            }
            let n = d.len().min(step);
            assert_eq!(&d[..n], &bytes[got.len()..got.len() + n]);
            assert_eq!(m.offset(), got.len() as u64);
            got.extend_from_slice(&d[..n]);
            m.consume(n);
            step = step % 9000 + 37;
        }
        assert_eq!(got, bytes);
        std::fs::remove_file(path).unwrap();
    }

    /// A request larger than the window maps that much at once.
    #[test]
    fn a_request_larger_than_the_window_is_met() {
        let bytes = vec![5u8; 50_000];
        let (path, file) = temp_file("large", &bytes);
        let mut m = Mapped::new(file, bytes.len() as u64, 1000);
        m.consume(0);
        m.fill(30_000).unwrap();
        assert!(m.data().len() >= 30_000);
        m.consume(30_000);
        m.fill(30_000).unwrap();
        assert_eq!(m.data().len(), 20_000, "only what the file has left");
        std::fs::remove_file(path).unwrap();
    }

    /// A file still being written: what was appended after opening is read.
    #[test]
    fn a_growing_file_is_read_to_its_new_end() {
        let (path, file) = temp_file("growing", b"0123456789");
        let mut m = Mapped::new(file, 10, 1 << 20);
        m.fill(10).unwrap();
        m.consume(10);
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"abcdef")
            .unwrap();
        m.fill(4).unwrap();
        assert_eq!(m.data(), b"abcdef");
        assert_eq!(m.offset(), 10);
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn an_empty_file_has_no_data() {
        let (path, file) = temp_file("empty", b"");
        let mut m = Mapped::new(file, 0, 4096);
        m.fill(4).unwrap();
        assert!(m.data().is_empty());
        std::fs::remove_file(path).unwrap();
    }
}
