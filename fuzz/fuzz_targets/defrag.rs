//! IPv4 and IPv6 fragment reassembly through the `Decoder`: the input is a
//! list of fragment descriptions (family, datagram key, offset, more-flag,
//! payload, clock step) turned into well-formed raw IP frames, under default
//! or tiny `DefragLimits` so that eviction and timeouts run too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use telltale_decode::{
    DecoderConfig, DefragLimits, Decoder, Frame, LinkType, Timestamp, Transport,
};
use telltale_fuzz::Cursor;

const PROTOS: [u8; 8] = [6, 17, 6, 17, 58, 0, 60, 44];

fn ipv4(id: u16, proto: u8, src: u8, offset: u16, more: bool, payload: &[u8]) -> Vec<u8> {
    let total = (20 + payload.len()) as u16;
    let frag = (offset & 0x1fff) | if more { 0x2000 } else { 0 };
    let mut p = vec![0x45, 0];
    p.extend_from_slice(&total.to_be_bytes());
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&frag.to_be_bytes());
    p.extend_from_slice(&[64, proto, 0, 0, 10, 0, 0, src, 10, 0, 0, 99]);
    p.extend_from_slice(payload);
    p
}

fn ipv6(id: u32, proto: u8, src: u8, offset: u16, more: bool, payload: &[u8]) -> Vec<u8> {
    let plen = (8 + payload.len()) as u16;
    let mut p = vec![0x60, 0, 0, 0];
    p.extend_from_slice(&plen.to_be_bytes());
    p.extend_from_slice(&[44, 64]);
    let mut s = [0u8; 16];
    s[0] = 0xfd;
    s[15] = src;
    let mut d = [0u8; 16];
    d[0] = 0xfd;
    d[15] = 99;
    p.extend_from_slice(&s);
    p.extend_from_slice(&d);
    let frag = ((offset & 0x1fff) << 3) | u16::from(more);
    p.extend_from_slice(&[proto, 0]);
    p.extend_from_slice(&frag.to_be_bytes());
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

fuzz_target!(|data: &[u8]| {
    let mut c = Cursor::new(data);
    let mode = c.u8();
    let limits = if mode & 1 == 0 {
        DefragLimits::default()
    } else {
        DefragLimits {
            max_datagrams: usize::from(mode >> 5),
            max_bytes: usize::from(c.u16()),
            timeout_secs: i64::from(mode >> 1 & 0xf),
        }
    };
    let mut decoder = Decoder::new(DecoderConfig { defrag: limits });
    let mut secs = 0i64;
    let mut index = 0u64;
    let mut frames = 0;
    while !c.is_empty() && frames < 4096 {
        frames += 1;
        let h = c.u8();
        let v6 = h & 1 != 0;
        let key = (h >> 1) & 3;
        let more = h & 8 != 0;
        secs += i64::from(h >> 4);
        let proto = PROTOS[usize::from(c.u8() & 7)];
        let offset = c.u16();
        // Lengths in 8-byte units most of the time (what valid middles
        // need), raw otherwise.
        let l = c.u8();
        let len = if l & 0x80 != 0 { usize::from(l & 0x7f) * 8 } else { usize::from(l) };
        let body = c.take(len);
        let mut payload = body.to_vec();
        payload.resize(len, 0xaa);
        let ip = if v6 {
            ipv6(u32::from(key), proto, key, offset, more, &payload)
        } else {
            ipv4(u16::from(key), proto, key, offset, more, &payload)
        };
        index += 1;
        let frame = Frame {
            index,
            ts: Timestamp::from_nanos(secs.saturating_mul(1_000_000_000)),
            link: LinkType::RAW,
            interface: 0,
            data: &ip,
            orig_len: ip.len() as u32,
        };
        if let Some(p) = decoder.decode(&frame) {
            let len = match p.transport {
                Transport::Tcp(t) => t.payload.len(),
                Transport::Udp(u) => u.payload.len(),
            };
            assert!(len <= 65_535, "reassembled {len} bytes");
        }
    }
    let s = decoder.stats();
    assert!(s.defrag.reassembled <= s.defrag.fragments);
    if limits.max_datagrams > 0 {
        assert!(s.defrag_incomplete <= limits.max_datagrams as u64);
    }
});
