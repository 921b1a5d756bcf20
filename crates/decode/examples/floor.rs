//! The floor for the speed comparison (`benches/compare.sh`): what reading
//! a pcap and keying its packets by flow costs with nothing else done.
//! telltale's own reader frames the file (read() into a 1 MiB buffer: on
//! this project's 2-core VM that measured 0.31 CPU-s per 512 MiB against
//! 0.39 through 64 MiB memory-mapped windows, so telltale does not map
//! files), etherparse slices each frame, and a hash map counts packets per
//! 5-tuple. telltale's full analysis is measured against this.
//!
//! ```sh
//! cargo run --release -p telltale-decode --example floor -- capture.pcap
//! ```

use std::collections::HashMap;
use std::net::IpAddr;

use etherparse::{LaxNetSlice, LaxSlicedPacket, TransportSlice};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: floor CAPTURE.pcap")?;
    let mut reader = telltale_decode::CaptureReader::open(&path)?;
    let mut flows: HashMap<(IpAddr, IpAddr, u16, u16, u8), u64> = HashMap::new();
    let mut packets = 0u64;
    while let Some(f) = reader.next_frame()? {
        packets += 1;
        let frame = f.data;
        let Ok(p) = LaxSlicedPacket::from_ethernet(frame) else {
            continue;
        };
        let (src, dst) = match &p.net {
            Some(LaxNetSlice::Ipv4(v4)) => (
                IpAddr::V4(v4.header().source_addr()),
                IpAddr::V4(v4.header().destination_addr()),
            ),
            Some(LaxNetSlice::Ipv6(v6)) => (
                IpAddr::V6(v6.header().source_addr()),
                IpAddr::V6(v6.header().destination_addr()),
            ),
            _ => continue,
        };
        let key = match &p.transport {
            Some(TransportSlice::Tcp(t)) => (src, dst, t.source_port(), t.destination_port(), 6),
            Some(TransportSlice::Udp(u)) => (src, dst, u.source_port(), u.destination_port(), 17),
            _ => continue,
        };
        // Direction-free, as a flow table needs.
        let key = if (key.0, key.2) <= (key.1, key.3) {
            key
        } else {
            (key.1, key.0, key.3, key.2, key.4)
        };
        *flows.entry(key).or_default() += 1;
    }
    println!("{packets} packets, {} flows", flows.len());
    Ok(())
}
