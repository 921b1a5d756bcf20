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
//! Read the RedMi 1S fixture, count its packets and look at the request in
//! packet 6:
//!
//! ```
//! use telltale_decode::{CaptureReader, Decoder, Transport};
//!
//! let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/redmi-1s-2014.pcap");
//! let mut reader = CaptureReader::open(path)?;
//! let mut decoder = Decoder::default();
//! let (mut frames, mut tcp, mut udp) = (0, 0, 0);
//! while let Some(frame) = reader.next_frame()? {
//!     frames += 1;
//!     let Some(p) = decoder.decode(&frame) else { continue };
//!     match p.transport {
//!         Transport::Tcp(t) => {
//!             tcp += 1;
//!             if p.frame == 6 {
//!                 // The phone's activation request, in one segment.
//!                 assert_eq!((t.dst_port, t.payload.len()), (80, 427));
//!                 assert!(t.payload.starts_with(b"POST /pass/v3/device/activate"));
//!             }
//!         }
//!         Transport::Udp(_) => udp += 1,
//!     }
//! }
//! assert_eq!((frames, tcp, udp), (48, 36, 12));
//! assert_eq!(decoder.stats().malformed, 0);
//! # Ok::<(), telltale_decode::DecodeError>(())
//! ```

#![deny(missing_docs)]

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
    DecodeStats, Decoder, DecoderConfig, Packet, PairPlace, TcpFlags, TcpSegment, Transport,
    UdpDatagram, pair_hash, pair_key, pair_place,
};
pub use reader::{CaptureFormat, CaptureReader, CaptureSecrets, ChunkSource, Frame};
pub use time::Timestamp;
