//! The DNS message parser and the DNS-over-TCP framer. The whole input is
//! parsed as one message; then it is replayed through a `TcpFramer` as a
//! stream cut into chunks and gaps chosen by its first bytes, and every
//! framed message is parsed too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use telltale_fuzz::Cursor;
use telltale_proto::dns::{self, MAX_SECTION_ENTRIES, TcpFramer};

fn parse(msg: &[u8]) {
    if let Ok(m) = dns::parse_message(msg) {
        assert!(m.questions.len() <= MAX_SECTION_ENTRIES);
        for q in &m.questions {
            std::hint::black_box(dns::type_name(q.rtype));
        }
        std::hint::black_box((m.full_rcode(), m.authoritative(), format!("{m:?}").len()));
    }
}

fuzz_target!(|data: &[u8]| {
    parse(data);

    let mut c = Cursor::new(data);
    let nops = usize::from(c.u8() & 15);
    let ops: Vec<u8> = (0..nops).map(|_| c.u8()).collect();
    let mut stream = c.rest();
    let mut framer = TcpFramer::new();
    let mut i = 0;
    while !stream.is_empty() {
        let op = ops.get(i % nops.max(1)).copied().unwrap_or(0);
        i += 1;
        if op & 0xc0 == 0xc0 {
            // A gap in the stream: some bytes were not captured.
            let len = u64::from(op & 0x3f) + 1;
            framer.gap(len);
            let skip = (len as usize).min(stream.len());
            stream = &stream[skip..];
            continue;
        }
        let n = match op & 0x7f {
            0 => stream.len(),
            n => usize::from(n).min(stream.len()),
        };
        let (chunk, rest) = stream.split_at(n);
        stream = rest;
        {
            let mut msgs = framer.push(chunk);
            if op & 0x80 != 0 {
                // Read one message and drop the iterator: framing stays in step.
                if let Some(m) = msgs.next() {
                    parse(&m);
                }
            } else {
                for m in msgs {
                    assert!(m.len() <= 65_535);
                    parse(&m);
                }
            }
        }
        assert!(framer.buffered() <= 65_537, "{} buffered", framer.buffered());
    }
    std::hint::black_box(framer.dropped_bytes());
});
