//! Errors and warnings of the decode stage.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Why a capture could not be read at all, or stopped being readable.
///
/// Malformed content inside a readable capture is not an error: it becomes a
/// [`CaptureWarning`] and reading goes on where it can.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The file could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        /// The capture's path as given.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The first bytes are neither pcap, pcapng nor gzip.
    #[error("{path}: not a pcap or pcapng capture (first bytes {magic:02x?})")]
    NotACapture {
        /// The capture's path as given.
        path: PathBuf,
        /// Up to the first four bytes of the input.
        magic: Vec<u8>,
    },
    /// The file is empty or ends inside the file header.
    #[error("{path}: file ends inside the capture header ({len} bytes)")]
    TruncatedHeader {
        /// The capture's path as given.
        path: PathBuf,
        /// How many bytes there were.
        len: u64,
    },
}

/// What kind of damage a [`CaptureWarning`] reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum WarningKind {
    /// The file ends inside a packet record or block: normal for a capture
    /// that was cut or still being written.
    Truncated,
    /// A record or block header is impossible (lengths that lie); reading stops
    /// because nothing after it can be framed reliably.
    Corrupt,
    /// A block whose length could be trusted but whose body did not parse; it
    /// was skipped and reading went on.
    SkippedBlock,
    /// A packet names an interface that no Interface Description Block declared.
    UnknownInterface,
    /// An I/O error stopped reading part way.
    Io,
}

/// A problem inside a capture that did not stop it from being read up to that
/// point. Names the byte offset and, where there is one, the packet number, so
/// an analyst can open the same spot in another tool.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct CaptureWarning {
    /// What kind of problem.
    pub kind: WarningKind,
    /// Byte offset in the (decompressed) capture where the problem starts.
    pub offset: u64,
    /// The 1-based number of the packet concerned, or of the next packet that
    /// would have been read.
    pub packet: Option<u64>,
    /// A sentence for people.
    pub message: String,
}

impl fmt::Display for CaptureWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "byte offset {}", self.offset)?;
        if let Some(p) = self.packet {
            write!(f, ", packet {p}")?;
        }
        write!(f, ": {}", self.message)
    }
}
