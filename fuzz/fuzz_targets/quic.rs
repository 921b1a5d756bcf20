//! QUIC Initial packets: the `QuicInitialReader` (both directions) on a
//! sequence of datagrams that are either raw bytes or valid Initial packets
//! sealed here (with `telltale-fixtures`' packet protection) around
//! fuzzer-chosen plaintext, so the frame parser, the CRYPTO stream
//! reassembly and the ClientHello/ServerHello walk behind the AEAD are
//! reached too. Raw datagrams also go through `long_packets` and `frames`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use telltale_fixtures::quic as seal;
use telltale_fuzz::Cursor;
use telltale_proto::quic::{self, QuicInitialReader};

const SERVER_SCID: &[u8] = b"srv-scid";
const CLIENT_SCID: &[u8] = b"cli-scid";

fuzz_target!(|data: &[u8]| {
    let mut c = Cursor::new(data);
    let odcid_len = usize::from(c.u8() % 21);
    let odcid = c.take(odcid_len).to_vec();
    let mut reader = QuicInitialReader::new();
    let mut datagrams = 0;
    while !c.is_empty() && datagrams < 40 {
        datagrams += 1;
        let h = c.u8();
        let server = h & 1 != 0;
        let datagram = if h & 2 == 0 {
            let len = usize::from(c.u16() % 1500);
            let raw = c.take(len).to_vec();
            for p in quic::long_packets(&raw).take(8) {
                std::hint::black_box((p.version, p.packet_type, p.dcid, p.scid, p.token, p.pn_offset));
            }
            for f in quic::frames(&raw).take(64) {
                std::hint::black_box(&f);
            }
            std::hint::black_box(quic::is_quic_initial(&raw));
            raw
        } else {
            let version = if h & 4 == 0 { quic::VERSION_1 } else { quic::VERSION_2 };
            let keys = seal::InitialKeys::new(version, &odcid, server);
            let (dcid, scid) = if server {
                (CLIENT_SCID, SERVER_SCID)
            } else {
                (&odcid[..], CLIENT_SCID)
            };
            let mut dgram = Vec::new();
            for _ in 0..=(h >> 3 & 3) {
                let pn = u64::from(c.u8());
                let flen = usize::from(c.u16() % 1400);
                let plain = c.take(flen);
                let frames = if h & 0x20 != 0 {
                    seal::crypto_frame(u64::from(c.u16()), plain)
                } else {
                    plain.to_vec()
                };
                let packet = seal::LongPacket::initial(version, dcid, scid, pn, frames);
                let pad = if h & 0x40 != 0 { 1200 } else { 0 };
                dgram.extend_from_slice(&packet.protect_padded(&keys, pad));
            }
            dgram
        };
        if server {
            if let Some(sh) = reader.feed_server(&datagram) {
                std::hint::black_box(format!("{sh:?}").len());
            }
        } else if let Some(hello) = reader.feed(&datagram) {
            assert!(hello.first_datagram <= hello.last_datagram);
            std::hint::black_box(format!("{hello:?}").len());
        }
    }
    std::hint::black_box((reader.stats(), reader.error(), reader.version(), reader.done()));
});
