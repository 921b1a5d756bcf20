//! Capture files to packets: the first stage of telltale.
//!
//! - [`CaptureReader`] reads pcap (both byte orders, µs and ns) and pcapng
//!   (several sections, interfaces of different link types and timestamp
//!   resolutions, EPB/SPB/OPB, Decryption Secrets Blocks), plain or
//!   gzip-compressed, recognised by magic bytes; it yields [`Frame`]s and keeps
//!   reading past damage, recording [`CaptureWarning`]s with byte offsets.
//! - [`Decoder`] turns frames into TCP and UDP [`Packet`]s: Ethernet with
//!   stacked VLANs, Linux SLL and SLL2, raw IP, BSD NULL/LOOP, NFLOG; IPv4 and
//!   IPv6 with extension headers and bounded fragment reassembly. What it
//!   cannot decode is counted in [`DecodeStats`], never raised.
//!
//! Both are zero-copy: a frame borrows the reader's buffer, a packet borrows
//! the frame, and memory stays bounded on any capture size.
//!
//! ```no_run
//! use telltale_decode::{CaptureReader, Decoder, Transport};
//!
//! let mut reader = CaptureReader::open("fixtures/redmi-1s-2014.pcap")?;
//! let mut decoder = Decoder::default();
//! while let Some(frame) = reader.next_frame()? {
//!     if let Some(p) = decoder.decode(&frame) {
//!         if let Transport::Tcp(t) = p.transport {
//!             println!("#{} {}:{} -> {}:{}", p.frame, p.src, t.src_port, p.dst, t.dst_port);
//!         }
//!     }
//! }
//! # Ok::<(), telltale_decode::DecodeError>(())
//! ```

mod defrag;
mod error;
mod link;
mod linktype;
mod packet;
mod reader;
mod time;

pub use defrag::{DefragLimits, DefragStats};
pub use error::{CaptureWarning, DecodeError, WarningKind};
pub use linktype::LinkType;
pub use packet::{
    DecodeStats, Decoder, DecoderConfig, Packet, TcpFlags, TcpSegment, Transport, UdpDatagram,
};
pub use reader::{CaptureFormat, CaptureReader, CaptureSecrets, Frame};
pub use time::Timestamp;
