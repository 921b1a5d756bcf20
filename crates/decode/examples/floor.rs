//! The floor for the speed comparison (`benches/compare.sh`): what reading
//! a pcap and keying its packets by flow costs with nothing else done.
//! The file is read whole, records are framed by hand, etherparse slices
//! each frame, and a hash map counts packets per 5-tuple. telltale's full
//! analysis is measured against this.
//!
//! ```sh
//! cargo run --release -p telltale-decode --example floor -- capture.pcap
//! ```

use std::collections::HashMap;
use std::net::IpAddr;

use etherparse::{LaxNetSlice, LaxSlicedPacket, TransportSlice};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: floor CAPTURE.pcap")?;
    let data = std::fs::read(&path)?;
    if data.len() < 24 || data[..4] != [0xd4, 0xc3, 0xb2, 0xa1] {
        return Err("floor reads little-endian microsecond pcap only".into());
    }
    let mut flows: HashMap<(IpAddr, IpAddr, u16, u16, u8), u64> = HashMap::new();
    let mut at = 24;
    let mut packets = 0u64;
    while at + 16 <= data.len() {
        let caplen = u32::from_le_bytes(data[at + 8..at + 12].try_into()?) as usize;
        let Some(frame) = data.get(at + 16..at + 16 + caplen) else {
            break;
        };
        at += 16 + caplen;
        packets += 1;
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
