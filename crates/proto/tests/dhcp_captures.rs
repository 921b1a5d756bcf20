//! DHCP parsing checked against real captures from peer test suites, with the
//! peers' ground truth (`../shared/captures/MANIFEST.json`, `dhcp_hostnames`).
//! The captures are read in place, never copied; without them the tests skip.

use std::net::Ipv4Addr;
use std::path::PathBuf;

use telltale_decode::{CaptureReader, Decoder, Transport};
use telltale_proto::dhcp::{self, DhcpV4, DhcpV6};

fn captures() -> Option<PathBuf> {
    let shared = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    let dir = shared.join("captures");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipping: {} is absent", dir.display());
        None
    }
}

/// Every DHCP message in a capture, v4 (UDP 67/68) and v6 (UDP 546/547), in
/// capture order. A payload on those ports that does not parse fails the test.
fn dhcp_messages(file: &str) -> Option<(Vec<DhcpV4>, Vec<DhcpV6>)> {
    let path = captures()?.join(file);
    let mut reader = CaptureReader::open(&path).expect("open capture");
    let mut decoder = Decoder::default();
    let (mut v4, mut v6) = (Vec::new(), Vec::new());
    while let Some(frame) = reader.next_frame().expect("read frame") {
        let Some(p) = decoder.decode(&frame) else {
            continue;
        };
        let Transport::Udp(u) = p.transport else {
            continue;
        };
        match (u.src_port, u.dst_port) {
            (67 | 68, 67 | 68) => v4.push(
                dhcp::parse_v4(u.payload)
                    .unwrap_or_else(|e| panic!("{file} frame {}: {e}", p.frame)),
            ),
            (546 | 547, 546 | 547) => v6.push(
                dhcp::parse_v6(u.payload)
                    .unwrap_or_else(|e| panic!("{file} frame {}: {e}", p.frame)),
            ),
            _ => {}
        }
    }
    Some((v4, v6))
}

fn host_names(v4: &[DhcpV4]) -> Vec<String> {
    let mut names: Vec<String> = v4
        .iter()
        .filter_map(|m| m.host_name.as_ref())
        .map(|h| h.display.clone())
        .collect();
    names.sort();
    names.dedup();
    names
}

#[test]
fn zeek_all_message_types() {
    let Some((v4, v6)) = dhcp_messages("zeek-dhcp.pcap") else {
        return;
    };
    assert!(v6.is_empty());
    let types: Vec<_> = v4.iter().map(|m| m.message_type_name().unwrap()).collect();
    assert_eq!(
        types,
        [
            "DISCOVER", "OFFER", "REQUEST", "NAK", "REQUEST", "ACK", "DECLINE", "RELEASE", "INFORM"
        ]
    );
    for m in &v4 {
        assert!(!m.partial, "xid {:#x}: {:?}", m.xid, m.error);
        assert_eq!(m.client_mac.as_deref(), Some("90:b1:1c:99:49:29"));
    }
    // Zeek's baseline and tshark agree on the one host name.
    assert_eq!(host_names(&v4), ["btest.is.cool"]);

    let discover = &v4[0];
    assert_eq!(discover.xid, 0x7c0);
    assert_eq!(
        discover.requested_ip,
        Some(Ipv4Addr::new(192, 168, 211, 194))
    );
    let offer = &v4[1];
    assert_eq!(offer.assigned_ip, Ipv4Addr::new(128, 2, 6, 97));
    assert_eq!(offer.server_id, Some(Ipv4Addr::new(128, 2, 6, 152)));
    assert_eq!(offer.lease_time, Some(900));
    assert_eq!(offer.domain_name.as_ref().unwrap().display, "cmu.edu");
    assert_eq!(offer.vendor_class_id.as_ref().unwrap().display, "ArubaAP");
    let ack = &v4[5];
    assert_eq!(ack.assigned_ip, Ipv4Addr::new(128, 2, 6, 189));
}

#[test]
fn suricata_trailing_nul_host_name() {
    let Some((v4, _)) = dhcp_messages("suricata-verify-dhcp-eve-extended.pcap") else {
        return;
    };
    let types: Vec<_> = v4.iter().map(|m| m.message_type_name().unwrap()).collect();
    assert_eq!(types, ["REQUEST", "ACK"]);
    for m in &v4 {
        assert!(!m.partial, "{:?}", m.error);
        let h = m.host_name.as_ref().unwrap();
        // Suricata's EVE value (raw) and tshark's (display) both come out.
        assert_eq!(h.raw, b"nas1\0");
        assert_eq!(h.lossy(), "nas1\u{0}");
        assert_eq!(h.display, "nas1");
        assert_eq!(m.client_mac.as_deref(), Some("00:11:32:17:49:f0"));
    }
    assert_eq!(v4[0].parameter_request_list, [1, 28, 2, 3, 15, 6, 12]);
    let ack = &v4[1];
    assert_eq!(ack.assigned_ip, Ipv4Addr::new(10, 16, 1, 4));
    assert_eq!(ack.lease_time, Some(3600));
    assert_eq!(ack.routers, [Ipv4Addr::new(10, 16, 1, 1)]);
    assert_eq!(ack.dns_servers, [Ipv4Addr::new(10, 16, 1, 1)]);
    assert_eq!(ack.domain_name.as_ref().unwrap().display, "unx.ca");
}
