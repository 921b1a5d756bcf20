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
//! Push the RedMi 1S fixture's packets through a table and look at the flows
//! it ends:
//!
//! ```
//! use telltale_decode::{CaptureReader, Decoder};
//! use telltale_flow::{FlowEvent, FlowEventKind, FlowSummary, FlowTable, Proto};
//!
//! let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/redmi-1s-2014.pcap");
//! let mut reader = CaptureReader::open(path)?;
//! let mut decoder = Decoder::default();
//! let mut table = FlowTable::default();
//! let mut closed: Vec<FlowSummary> = Vec::new();
//! let mut sink = |e: FlowEvent<'_>| {
//!     if let FlowEventKind::Close(s) = e.kind {
//!         closed.push(s.clone());
//!     }
//! };
//! while let Some(frame) = reader.next_frame()? {
//!     if let Some(packet) = decoder.decode(&frame) {
//!         table.push(&packet, &mut sink);
//!     }
//! }
//! table.finish(&mut sink);
//!
//! // 5 TCP connections and 6 DNS exchanges over UDP.
//! assert_eq!(closed.len(), 11);
//! assert_eq!(closed.iter().filter(|s| s.info.proto == Proto::Tcp).count(), 5);
//! // The HTTP activation request: the phone is the client, 427 bytes went up.
//! let http = closed.iter().find(|s| s.info.server.port() == 80).unwrap();
//! assert_eq!(http.info.client.to_string(), "192.168.1.23:41822");
//! assert_eq!(http.to_server.payload_bytes, 427);
//! # Ok::<(), telltale_decode::DecodeError>(())
//! ```

#![deny(missing_docs)]

mod clock;
mod key;
mod reassembly;
mod table;

pub use clock::{CaptureClock, CaptureTime};
pub use key::{Dir, FlowId, FlowInfo, FlowKey, Proto};
pub use reassembly::StreamStats;
pub use table::{
    DirStats, EndReason, FlowConfig, FlowEvent, FlowEventKind, FlowSink, FlowSummary, FlowTable,
    FlowTableStats, TcpState,
};
