//! Reads every generated fixture back with independent parsers (pcap-parser
//! for the files, etherparse for the packets) and checks packet counts,
//! link types and checksums.

use std::io::Read;

use etherparse::{NetSlice, SlicedPacket, TransportSlice};
use pcap_parser::pcapng::Block;
use pcap_parser::{PcapBlockOwned, PcapError, create_reader};
use telltale_fixtures::captures::{self, Fixture};

#[derive(Debug, Default)]
struct Readback {
    /// (link type, captured bytes, original length) per packet.
    packets: Vec<(i32, Vec<u8>, u32)>,
    truncated_file: bool,
    sections: usize,
    dsb: Vec<(u32, Vec<u8>)>,
    custom: usize,
    unknown: Vec<u32>,
}

fn read(f: &Fixture) -> Readback {
    let bytes = if f.name.ends_with(".gz") {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&f.bytes[..])
            .read_to_end(&mut out)
            .unwrap();
        out
    } else {
        f.bytes.clone()
    };
    let mut reader = create_reader(1 << 16, &bytes[..]).expect("recognised as pcap or pcapng");
    let mut rb = Readback::default();
    let mut legacy_link = -1;
    let mut ifaces: Vec<i32> = Vec::new();
    loop {
        match reader.next() {
            Ok((offset, block)) => {
                match block {
                    PcapBlockOwned::LegacyHeader(h) => legacy_link = h.network.0,
                    PcapBlockOwned::Legacy(b) => {
                        rb.packets.push((legacy_link, b.data.to_vec(), b.origlen))
                    }
                    PcapBlockOwned::NG(Block::SectionHeader(_)) => {
                        rb.sections += 1;
                        ifaces.clear();
                    }
                    PcapBlockOwned::NG(Block::InterfaceDescription(i)) => ifaces.push(i.linktype.0),
                    PcapBlockOwned::NG(Block::EnhancedPacket(e)) => {
                        let data = e.data[..e.caplen as usize].to_vec();
                        rb.packets.push((ifaces[e.if_id as usize], data, e.origlen));
                    }
                    PcapBlockOwned::NG(Block::SimplePacket(s)) => {
                        let data = s.data[..s.origlen as usize].to_vec();
                        rb.packets.push((ifaces[0], data, s.origlen));
                    }
                    PcapBlockOwned::NG(Block::DecryptionSecrets(d)) => rb
                        .dsb
                        .push((d.secrets_type.0, d.data[..d.secrets_len as usize].to_vec())),
                    PcapBlockOwned::NG(Block::Custom(_)) => rb.custom += 1,
                    // pcap-parser does not know the obsolete Packet Block.
                    PcapBlockOwned::NG(Block::Unknown(u)) if u.block_type == 2 => {
                        let d = u.data;
                        let le32 = |o: usize| u32::from_le_bytes(d[o..o + 4].try_into().unwrap());
                        let if_id = u16::from_le_bytes([d[0], d[1]]) as usize;
                        let caplen = le32(12) as usize;
                        rb.packets
                            .push((ifaces[if_id], d[20..20 + caplen].to_vec(), le32(16)));
                    }
                    PcapBlockOwned::NG(Block::Unknown(u)) => rb.unknown.push(u.block_type),
                    PcapBlockOwned::NG(other) => panic!("{}: unexpected block {other:?}", f.name),
                }
                reader.consume(offset);
            }
            Err(PcapError::Eof) => break,
            Err(PcapError::UnexpectedEof) => {
                rb.truncated_file = true;
                break;
            }
            Err(PcapError::Incomplete(_)) => {
                if reader.reader_exhausted() {
                    rb.truncated_file = true;
                    break;
                }
                reader.refill().unwrap();
            }
            Err(e) => panic!("{}: {e:?}", f.name),
        }
    }
    rb
}

/// Strips the link header the way a reader must, or `None` if unsupported.
fn sliced(link: i32, data: &[u8]) -> Option<SlicedPacket<'_>> {
    Some(
        match link {
            1 => SlicedPacket::from_ethernet(data),
            113 => SlicedPacket::from_linux_sll(data),
            276 => SlicedPacket::from_ip(&data[20..]),
            0 | 108 => SlicedPacket::from_ip(&data[4..]),
            101 | 228 | 229 => SlicedPacket::from_ip(data),
            _ => return None,
        }
        .expect("packet slices"),
    )
}

/// Checks IP and transport checksums; returns false for unsupported links.
fn check_checksums(name: &str, link: i32, data: &[u8]) -> bool {
    let Some(p) = sliced(link, data) else {
        return false;
    };
    match &p.net {
        Some(NetSlice::Ipv4(ip)) => {
            let h = ip.header().to_header();
            assert_eq!(
                h.header_checksum,
                h.calc_header_checksum(),
                "{name}: IPv4 header checksum"
            );
            if ip.is_payload_fragmented() {
                return true;
            }
            let (s, d) = (h.source, h.destination);
            match &p.transport {
                Some(TransportSlice::Tcp(t)) => {
                    assert_eq!(
                        t.checksum(),
                        t.calc_checksum_ipv4(s, d).unwrap(),
                        "{name}: TCP checksum"
                    )
                }
                Some(TransportSlice::Udp(u)) => {
                    let want = u
                        .to_header()
                        .calc_checksum_ipv4_raw(s, d, u.payload())
                        .unwrap();
                    assert_eq!(u.checksum(), want, "{name}: UDP checksum");
                }
                other => panic!("{name}: unexpected transport {other:?}"),
            }
        }
        Some(NetSlice::Ipv6(ip)) => {
            if ip.is_payload_fragmented() {
                return true;
            }
            let (s, d) = (ip.header().source(), ip.header().destination());
            match &p.transport {
                Some(TransportSlice::Tcp(t)) => {
                    assert_eq!(
                        t.checksum(),
                        t.calc_checksum_ipv6(s, d).unwrap(),
                        "{name}: TCP checksum"
                    )
                }
                Some(TransportSlice::Udp(u)) => {
                    let want = u
                        .to_header()
                        .calc_checksum_ipv6_raw(s, d, u.payload())
                        .unwrap();
                    assert_eq!(u.checksum(), want, "{name}: UDP checksum");
                }
                other => panic!("{name}: unexpected transport {other:?}"),
            }
        }
        other => panic!("{name}: unexpected network layer {other:?}"),
    }
    true
}

/// (file, packets, link types in order of first appearance)
const EXPECTED: &[(&str, usize, &[i32])] = &[
    ("redmi-1s-2014.pcap", 48, &[1]),
    ("link-ethernet.pcap", 12, &[1]),
    ("link-qinq.pcap", 12, &[1]),
    ("link-sll.pcap", 12, &[113]),
    ("link-sll2.pcap", 12, &[276]),
    ("link-raw.pcap", 12, &[101]),
    ("link-ipv4.pcap", 10, &[228]),
    ("link-ipv6.pcap", 10, &[229]),
    ("link-null.pcap", 12, &[0]),
    ("link-null-be.pcap", 12, &[0]),
    ("link-loop.pcap", 12, &[108]),
    ("link-user0.pcap", 12, &[147]),
    ("pcap-big-endian.pcap", 10, &[1]),
    ("pcap-nanosecond.pcap", 10, &[1]),
    ("pcap-snaplen96.pcap", 10, &[1]),
    ("pcap-gzip.pcap.gz", 10, &[1]),
    ("pcap-truncated.pcap", 6, &[1]),
    ("pcapng-multi.pcapng", 7, &[1, 228, 113, 101]),
    ("pcapng-big-endian.pcapng", 10, &[1]),
    ("ipv4-frag.pcap", 4, &[1]),
    ("ipv6-frag.pcap", 4, &[1]),
    ("tcp-out-of-order.pcap", 10, &[1]),
    ("tcp-retransmit.pcap", 11, &[1]),
    ("tcp-overlap.pcap", 10, &[1]),
    ("tcp-gap.pcap", 11, &[1]),
    ("tls-split-segments.pcap", 10, &[1]),
    ("tls-split-records.pcap", 8, &[1]),
    ("dns-tcp.pcap", 10, &[1]),
    ("tcp-port-reuse.pcap", 16, &[1]),
    ("tcp-midstream.pcap", 3, &[1]),
    ("http-pipelined.pcap", 9, &[1]),
    ("quic-split-hello.pcap", 3, &[1]),
    ("quic-reordered-crypto.pcap", 3, &[1]),
    ("quic-v2.pcap", 2, &[1]),
    ("naming-disagreements.pcap", 46, &[1]),
    ("hostile-names.pcap", 32, &[1]),
];

#[test]
fn every_fixture_reads_back() {
    let all = captures::all();
    assert_eq!(all.len(), EXPECTED.len());
    for (f, (name, count, links)) in all.iter().zip(EXPECTED) {
        assert_eq!(f.name, *name);
        let rb = read(f);
        assert_eq!(rb.packets.len(), *count, "{name}: packet count");
        let mut seen: Vec<i32> = Vec::new();
        for (l, _, _) in &rb.packets {
            if !seen.contains(l) {
                seen.push(*l);
            }
        }
        assert_eq!(&seen[..], *links, "{name}: link types");
        assert_eq!(
            rb.truncated_file,
            *name == "pcap-truncated.pcap",
            "{name}: truncation"
        );
        let mut short = 0;
        for (link, data, orig) in &rb.packets {
            if data.len() < *orig as usize {
                short += 1;
                continue;
            }
            let decoded = check_checksums(name, *link, data);
            assert_eq!(decoded, *link != 147, "{name}: decodability");
        }
        let want_short = if *name == "pcap-snaplen96.pcap" { 2 } else { 0 };
        assert_eq!(short, want_short, "{name}: packets cut by the snaplen");
    }
}

#[test]
fn pcapng_side_blocks() {
    let all = captures::all();
    let multi = all
        .iter()
        .find(|f| f.name == "pcapng-multi.pcapng")
        .unwrap();
    let rb = read(multi);
    assert_eq!(rb.sections, 2);
    assert_eq!(rb.custom, 2);
    assert_eq!(rb.unknown, vec![0x8000_7E57]);
    assert_eq!(rb.dsb.len(), 1);
    assert_eq!(rb.dsb[0].0, 0x544c_534b);
    assert_eq!(rb.dsb[0].1, captures::keylog_text().into_bytes());
    let big = all
        .iter()
        .find(|f| f.name == "pcapng-big-endian.pcapng")
        .unwrap();
    assert_eq!(&big.bytes[8..12], &[0x1a, 0x2b, 0x3c, 0x4d]);
}

#[test]
fn redmi_post_carries_the_identifiers() {
    let all = captures::all();
    let redmi = read(all.iter().find(|f| f.name == "redmi-1s-2014.pcap").unwrap());
    let post = &redmi.packets[5].1;
    let text = String::from_utf8_lossy(post);
    assert!(
        text.contains("POST /pass/v3/device/activate HTTP/1.1\r\nHost: api.account.xiaomi.com\r\n")
    );
    assert!(text.contains(&format!("imei={}&", captures::redmi_imei())));
    assert!(text.contains("imsi=460011234567890&"));
    assert!(text.contains("phone=%2B8613812345678&"));
    assert!(text.contains("carrier=CHN-UNICOM&"));
    assert!(text.contains("contacts=%2B8613900001111%2C%2B8615012345678%2C%2B8618611112222"));
}
