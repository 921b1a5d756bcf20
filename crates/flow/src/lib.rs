//! Packets to flows: the second stage of telltale.
//!
//! - [`FlowTable`] groups [`Packet`](telltale_decode::Packet)s into
//!   bidirectional flows on a direction-free [`FlowKey`], decides who is
//!   client and server ([`FlowInfo`]), reassembles each TCP direction into an
//!   ordered stream, and ends flows on close, idle timeout or eviction.
//! - It pushes [`FlowEvent`]s (open, stream data, datagrams, gaps, close with a
//!   [`FlowSummary`]) to a [`FlowSink`]; it knows no application protocol.
//!
//! Memory is bounded by [`FlowConfig`]: the table size, the out-of-order
//! buffer per direction, and timeouts. Every limit that bites is counted.
//!
//! ```no_run
//! use telltale_decode::{CaptureReader, Decoder};
//! use telltale_flow::{FlowEvent, FlowEventKind, FlowTable};
//!
//! let mut reader = CaptureReader::open("fixtures/redmi-1s-2014.pcap")?;
//! let mut decoder = Decoder::default();
//! let mut table = FlowTable::default();
//! let mut sink = |e: FlowEvent<'_>| {
//!     if let FlowEventKind::Close(s) = e.kind {
//!         println!("{} -> {}: {} bytes to server", s.info.client, s.info.server, s.to_server.bytes);
//!     }
//! };
//! while let Some(frame) = reader.next_frame()? {
//!     if let Some(packet) = decoder.decode(&frame) {
//!         table.push(&packet, &mut sink);
//!     }
//! }
//! table.finish(&mut sink);
//! # Ok::<(), telltale_decode::DecodeError>(())
//! ```

mod key;
mod reassembly;
mod table;

pub use key::{Dir, FlowId, FlowInfo, FlowKey, Proto};
pub use reassembly::StreamStats;
pub use table::{
    DirStats, EndReason, FlowConfig, FlowEvent, FlowEventKind, FlowSink, FlowSummary, FlowTable,
    FlowTableStats, TcpState,
};
