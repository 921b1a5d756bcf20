//! HTTP/1.x: an `HttpRequestReader` and an `HttpResponseReader` over
//! arbitrary stream bytes in both directions, fed in chunks, with gaps and
//! the request methods passed to the response side as the dissector does.
//! Checks the event grammar (Head, Body*, End; Tunnel last) and that each
//! End's `body_len` counts the Body bytes delivered.
#![no_main]

use libfuzzer_sys::fuzz_target;
use telltale_fuzz::Cursor;
use telltale_proto::http::{HttpEvent, HttpRequestReader, HttpResponseReader};

#[derive(Default)]
struct Grammar {
    in_message: bool,
    body: u64,
    tunnel: bool,
}

impl Grammar {
    fn check<H>(&mut self, e: &HttpEvent<'_, H>) {
        assert!(!self.tunnel, "event after Tunnel");
        match e {
            HttpEvent::Head(_) => {
                assert!(!self.in_message, "Head inside a message");
                self.in_message = true;
                self.body = 0;
            }
            HttpEvent::Body(b) => {
                assert!(self.in_message, "Body outside a message");
                self.body += b.len() as u64;
            }
            HttpEvent::End { body_len, .. } => {
                assert!(self.in_message, "End outside a message");
                assert_eq!(*body_len, self.body, "body_len");
                self.in_message = false;
            }
            HttpEvent::Tunnel(_) => self.tunnel = true,
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut c = Cursor::new(data);
    let nops = usize::from(c.u8() & 15);
    let ops: Vec<u8> = (0..nops).map(|_| c.u8()).collect();
    let split = usize::from(c.u16());
    let rest = c.rest();
    let (mut req, mut resp) = rest.split_at(split.min(rest.len()));

    let mut requests = HttpRequestReader::new();
    let mut responses = HttpResponseReader::new();
    let (mut gq, mut gs) = (Grammar::default(), Grammar::default());
    let mut i = 0;
    while !req.is_empty() || !resp.is_empty() {
        let op = ops.get(i % nops.max(1)).copied().unwrap_or(0);
        i += 1;
        let to_server = (op & 0x80 == 0 && !req.is_empty()) || resp.is_empty();
        let stream = if to_server { &mut req } else { &mut resp };
        let n = match op & 0x3f {
            0 => stream.len(),
            n => usize::from(n) * 7 % (stream.len() + 1),
        }
        .max(1)
        .min(stream.len());
        let (chunk, tail) = stream.split_at(n);
        *stream = tail;
        let gap = op & 0x40 != 0 && i % 3 == 0;
        if to_server {
            let events = if gap { requests.gap(n as u64) } else { requests.feed(chunk) };
            for e in &events {
                gq.check(e);
                if let HttpEvent::Head(r) = e {
                    responses.push_request_method(&r.method);
                    std::hint::black_box((r.header("content-type"), &r.host));
                }
            }
        } else {
            let events = if gap { responses.gap(n as u64) } else { responses.feed(chunk) };
            for e in &events {
                gs.check(e);
                if let HttpEvent::Head(r) = e {
                    std::hint::black_box((r.header("content-encoding"), r.status));
                }
            }
        }
    }
    for e in &requests.finish() {
        gq.check(e);
    }
    for e in &responses.finish() {
        gs.check(e);
    }
    assert!(requests.done() && responses.done());
    assert!(!gq.in_message && !gs.in_message, "a message was left open by finish");
    std::hint::black_box((requests.error(), responses.error(), requests.offset(), responses.offset()));
});
