//! Identifier detection: `Scanner::scan` (every pattern detector plus the
//! known values of a small device profile in all their encodings) over the
//! raw input, and `pieces`/`findings` over an HTTP transaction built from
//! it (URL with query, headers, a request body with a content type - form,
//! JSON, anything - and a response body), and an opaque payload.
#![no_main]

use std::borrow::Cow;
use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use telltale_decode::Timestamp;
use telltale_detect::pieces::pieces;
use telltale_detect::{DeviceProfile, Scanner, findings};
use telltale_flow::{Dir, FlowId, Proto};
use telltale_fuzz::Cursor;
use telltale_proto::body::{Body, BodyStatus};
use telltale_proto::{AppEvent, AppEventKind, HttpTransaction, OpaquePayload};

static SCANNER: LazyLock<Scanner> = LazyLock::new(|| {
    let profile = DeviceProfile::from_toml(telltale_fuzz::PROFILE).expect("profile");
    Scanner::new(Some(&profile))
});

const CONTENT_TYPES: [&str; 6] = [
    "application/x-www-form-urlencoded",
    "application/json",
    "text/plain",
    "application/json; charset=utf-8",
    "multipart/form-data; boundary=x",
    "application/octet-stream",
];

fn scan(buf: &[u8]) {
    for m in SCANNER.scan(buf) {
        assert!(m.start <= m.end && m.end <= buf.len(), "{}..{} of {}", m.start, m.end, buf.len());
        assert!(!m.value.is_empty());
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fuzz_target!(|data: &[u8]| {
    scan(data);

    let mut c = Cursor::new(data);
    let n = usize::from(c.u8());
    let uri = text(c.take(n));
    let mut headers = Vec::new();
    for _ in 0..c.u8() % 6 {
        let (nl, vl) = (usize::from(c.u8() % 32), usize::from(c.u8()));
        let name = text(c.take(nl));
        headers.push((name, c.take(vl).to_vec()));
    }
    let ct = c.u8();
    if let Some(t) = CONTENT_TYPES.get(usize::from(ct & 7)) {
        headers.push(("Content-Type".to_owned(), t.as_bytes().to_vec()));
    }
    let split = usize::from(c.u16());
    let rest = c.rest();
    let (req_body, resp_body) = rest.split_at(split.min(rest.len()));
    let http = HttpTransaction {
        method: "POST".to_owned(),
        uri,
        protocol: "HTTP/1.1".to_owned(),
        host: Some("example.com".to_owned()),
        request_body_len: req_body.len() as u64,
        response_body_len: resp_body.len() as u64,
        request_headers: headers,
        request_body: Some(Body { bytes: req_body.to_vec(), status: BodyStatus::Complete }),
        response_body: Some(Body { bytes: resp_body.to_vec(), status: BodyStatus::Capped }),
        response_content_type: CONTENT_TYPES.get(usize::from(ct >> 4 & 7)).map(|s| s.to_string()),
        ..HttpTransaction::default()
    };
    let event = |kind| AppEvent { flow: FlowId(1), ts: Timestamp::from_nanos(0), frame: 1, kind };

    let e = event(AppEventKind::Http(http));
    let ps = pieces(&e);
    assert!(ps.len() <= 4096);
    for p in &ps {
        assert!(!p.location.is_empty());
        scan(&p.bytes);
        std::hint::black_box(matches!(p.bytes, Cow::Borrowed(_)));
    }
    std::hint::black_box(findings(&SCANNER, &e).len());

    let e = event(AppEventKind::Opaque(OpaquePayload {
        proto: Proto::Udp,
        dir: Dir::ToServer,
        bytes: data.to_vec(),
    }));
    std::hint::black_box(findings(&SCANNER, &e).len());
});
