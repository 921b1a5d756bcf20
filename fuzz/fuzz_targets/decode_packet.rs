//! `Decoder::decode` on arbitrary frame bytes for every link type. The first
//! input byte picks the link type (a known one, or any 16-bit number from the
//! next two bytes), the second how the wire length relates to the captured
//! one; the rest is the frame.
#![no_main]

use libfuzzer_sys::fuzz_target;
use telltale_decode::{Decoder, Frame, LinkType, Timestamp, Transport};
use telltale_fuzz::Cursor;

const LINKS: [LinkType; 12] = [
    LinkType::NULL,
    LinkType::ETHERNET,
    LinkType::RAW,
    LinkType::LOOP,
    LinkType::LINUX_SLL,
    LinkType::IPV4,
    LinkType::IPV6,
    LinkType::NFLOG,
    LinkType::LINUX_SLL2,
    LinkType(12),
    LinkType(14),
    LinkType::UNKNOWN,
];

fuzz_target!(|data: &[u8]| {
    let mut c = Cursor::new(data);
    let pick = c.u8();
    let link = match LINKS.get(usize::from(pick) % 16) {
        Some(&l) => l,
        None => LinkType(u32::from(c.u16())),
    };
    let extra = c.u8();
    let frame_data = c.rest();
    let orig_len = match extra {
        0..=127 => frame_data.len() as u32,
        128..=191 => frame_data.len() as u32 + u32::from(extra),
        192..=254 => (frame_data.len() as u32).saturating_sub(u32::from(extra - 191)),
        255 => u32::MAX,
    };
    let frame = Frame {
        index: 1,
        ts: Timestamp::from_nanos(0),
        link,
        interface: 0,
        data: frame_data,
        orig_len,
    };
    let range = frame_data.as_ptr_range();
    let mut decoder = Decoder::default();
    if let Some(p) = decoder.decode(&frame) {
        assert_eq!(p.frame, 1);
        // One frame cannot complete a fragmented datagram: the packet is a
        // view into the frame (zero-copy).
        let payload = match p.transport {
            Transport::Tcp(t) => t.payload,
            Transport::Udp(u) => u.payload,
        };
        let r = payload.as_ptr_range();
        assert!(
            payload.is_empty() || (r.start >= range.start && r.end <= range.end),
            "payload outside the frame"
        );
        std::hint::black_box((p.src, p.dst, p.transport.src_port(), p.transport.dst_port()));
    }
    let stats = decoder.stats();
    assert_eq!(stats.frames, 1);
});
