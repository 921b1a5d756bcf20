//! Where identifiers hide in a message: the pieces of an application event
//! worth scanning, each with a location a reader can find again.

use std::borrow::Cow;

use serde_json::Value;
use telltale_flow::{Dir, Proto};
use telltale_proto::body::Body;
use telltale_proto::{AppEvent, AppEventKind, HttpTransaction};

/// One stretch of bytes to scan, and where it sits in the message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Piece<'a> {
    /// Where: `http.url.query:imei`, `http.header:X-Device-Id`,
    /// `http.body.json:$.device.imei`, `dns.rrname`, `tls.sni`, ...
    pub location: String,
    /// The bytes (JSON strings unescaped); a key is kept in front as
    /// `key=value` so detectors that read telling keys still see it.
    pub bytes: Cow<'a, [u8]>,
    /// These bytes were URL-decoded from what was on the wire (a second
    /// piece for the same location holds them as sent): what is found only
    /// here was sent URL-encoded.
    pub url_decoded: bool,
}

/// JSON documents nested deeper than this are walked only this far.
const MAX_JSON_DEPTH: usize = 32;
/// Pieces taken from one message at most (a body with a million fields is
/// scanned whole as raw bytes instead).
const MAX_PIECES: usize = 4096;

/// The pieces of an application event: HTTP request line, query values,
/// headers and bodies (form fields, JSON values at any depth, else raw);
/// DNS names; TLS and QUIC SNI; the first bytes of protocols not dissected.
pub fn pieces(event: &AppEvent) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    match &event.kind {
        AppEventKind::Http(h) => http(h, &mut out),
        AppEventKind::Dns(d) => {
            for q in &d.message.questions {
                out.push(piece("dns.rrname", q.name.as_bytes()));
            }
        }
        AppEventKind::Tls(t) => {
            if let Some(sni) = t.sni() {
                out.push(piece("tls.sni", sni.as_bytes()));
            }
        }
        AppEventKind::Quic(q) => {
            if let Some(sni) = q.sni() {
                out.push(piece("quic.sni", sni.as_bytes()));
            }
        }
        AppEventKind::Opaque(p) => {
            let at = match (p.proto, p.dir) {
                (Proto::Tcp, Dir::ToServer) => "tcp.payload.toserver",
                (Proto::Tcp, Dir::ToClient) => "tcp.payload.toclient",
                (Proto::Udp, Dir::ToServer) => "udp.payload.toserver",
                (Proto::Udp, Dir::ToClient) => "udp.payload.toclient",
            };
            out.push(piece(at, &p.bytes));
        }
        _ => {}
    }
    out
}

fn piece<'a>(location: &str, bytes: &'a [u8]) -> Piece<'a> {
    Piece {
        location: location.to_owned(),
        bytes: Cow::Borrowed(bytes),
        url_decoded: false,
    }
}

fn http<'a>(h: &'a HttpTransaction, out: &mut Vec<Piece<'a>>) {
    let (path, query) = match h.uri.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (h.uri.as_str(), None),
    };
    out.push(piece("http.url.path", path.as_bytes()));
    if let Some(q) = query {
        form_fields(q.as_bytes(), "http.url.query", out);
    }
    for (name, value) in &h.request_headers {
        // `Name: value`, so the header name reads as the value's key.
        let mut text = Vec::with_capacity(name.len() + 2 + value.len());
        text.extend_from_slice(name.as_bytes());
        text.extend_from_slice(b": ");
        text.extend_from_slice(value);
        out.push(Piece {
            location: format!("http.header:{name}"),
            bytes: Cow::Owned(text),
            url_decoded: false,
        });
    }
    let content_type = h
        .request_headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| String::from_utf8_lossy(v).to_ascii_lowercase());
    if let Some(body) = &h.request_body {
        body_pieces(body, content_type.as_deref(), "http.body", out);
    }
    if let Some(body) = &h.response_body {
        let ct = h
            .response_content_type
            .as_deref()
            .map(str::to_ascii_lowercase);
        body_pieces(body, ct.as_deref(), "http.response.body", out);
    }
    out.truncate(MAX_PIECES);
}

fn body_pieces<'a>(body: &'a Body, content_type: Option<&str>, at: &str, out: &mut Vec<Piece<'a>>) {
    let bytes = &body.bytes;
    let ct = content_type.unwrap_or("");
    let looks_json = matches!(
        bytes.iter().find(|b| !b.is_ascii_whitespace()),
        Some(b'{' | b'[')
    );
    if (ct.contains("json") || looks_json)
        && let Ok(v) = serde_json::from_slice::<Value>(bytes)
    {
        json_values(&v, "$", &format!("{at}.json"), out, 0);
        return;
    }
    if ct.contains("x-www-form-urlencoded") {
        form_fields(bytes, &format!("{at}.form"), out);
        return;
    }
    // Multipart, XML, text, unknown: the raw bytes; detectors read keys in
    // `key=value`, `"key": value` and `<key>value</key>` forms themselves.
    out.push(piece(at, bytes));
}

/// `a=1&b=%2B86...`: each field as sent, and again URL-decoded when that
/// changes it, as `key=value`.
fn form_fields<'a>(text: &'a [u8], at: &str, out: &mut Vec<Piece<'a>>) {
    for pair in text.split(|&b| b == b'&') {
        if out.len() >= MAX_PIECES {
            return;
        }
        if pair.is_empty() {
            continue;
        }
        let (key, value) = match pair.iter().position(|&b| b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (&pair[..0], pair),
        };
        let key = percent_decode(key);
        let location = if key.is_empty() {
            at.to_owned()
        } else {
            format!("{at}:{}", String::from_utf8_lossy(&key))
        };
        let decoded = percent_decode(value);
        let changed = matches!(decoded, Cow::Owned(_));
        out.push(Piece {
            location: location.clone(),
            bytes: Cow::Borrowed(pair),
            url_decoded: false,
        });
        if changed {
            let mut joined = key.to_vec();
            if !key.is_empty() {
                joined.push(b'=');
            }
            joined.extend_from_slice(&decoded);
            out.push(Piece {
                location,
                bytes: Cow::Owned(joined),
                url_decoded: true,
            });
        }
    }
}

fn json_values<'a>(v: &Value, path: &str, at: &str, out: &mut Vec<Piece<'a>>, depth: usize) {
    if depth > MAX_JSON_DEPTH || out.len() >= MAX_PIECES {
        return;
    }
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                let p = format!("{path}.{k}");
                match v {
                    Value::String(s) => out.push(keyed(at, &p, k, s.as_bytes())),
                    Value::Number(n) => out.push(keyed(at, &p, k, n.to_string().as_bytes())),
                    _ => json_values(v, &p, at, out, depth + 1),
                }
            }
        }
        Value::Array(items) => {
            // The key of the array names its items (`"contacts": [...]`).
            let key = path.rsplit('.').next().unwrap_or("").trim_end_matches(']');
            for (i, v) in items.iter().enumerate() {
                let p = format!("{path}[{i}]");
                match v {
                    Value::String(s) => out.push(keyed(at, &p, key, s.as_bytes())),
                    Value::Number(n) => out.push(keyed(at, &p, key, n.to_string().as_bytes())),
                    _ => json_values(v, &p, at, out, depth + 1),
                }
            }
        }
        _ => {}
    }
}

fn keyed<'a>(at: &str, path: &str, key: &str, value: &[u8]) -> Piece<'a> {
    let mut bytes = key.as_bytes().to_vec();
    bytes.push(b'=');
    bytes.extend_from_slice(value);
    Piece {
        location: format!("{at}:{path}"),
        bytes: Cow::Owned(bytes),
        url_decoded: false,
    }
}

/// Percent-decoding of a form or query component (`+` is a space there).
pub fn percent_decode(s: &[u8]) -> Cow<'_, [u8]> {
    if !s.iter().any(|&b| b == b'%' || b == b'+') {
        return Cow::Borrowed(s);
    }
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < s.len() => match (hex(s[i + 1]), hex(s[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    Cow::Owned(out)
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use telltale_proto::body::BodyStatus;

    fn text(p: &Piece<'_>) -> String {
        format!("{} {}", p.location, String::from_utf8_lossy(&p.bytes))
    }

    #[test]
    fn http_request_pieces() {
        let h = HttpTransaction {
            method: "POST".into(),
            uri: "/a/b?imei=865123456789019&phone=%2B8613812345678&flag".into(),
            request_headers: vec![
                ("X-Device-Id".into(), b"abc".to_vec()),
                ("Content-Type".into(), b"application/json".to_vec()),
            ],
            request_body: Some(Body {
                bytes: br#"{"device":{"imei":"865123456789019","ids":[1,"x"]},"lat":52.5}"#
                    .to_vec(),
                status: BodyStatus::Complete,
            }),
            ..Default::default()
        };
        let mut out = Vec::new();
        http(&h, &mut out);
        let got: Vec<String> = out.iter().map(text).collect();
        assert_eq!(
            got,
            [
                "http.url.path /a/b",
                "http.url.query:imei imei=865123456789019",
                "http.url.query:phone phone=%2B8613812345678",
                "http.url.query:phone phone=+8613812345678",
                "http.url.query flag",
                "http.header:X-Device-Id X-Device-Id: abc",
                "http.header:Content-Type Content-Type: application/json",
                "http.body.json:$.device.imei imei=865123456789019",
                "http.body.json:$.device.ids[0] ids=1",
                "http.body.json:$.device.ids[1] ids=x",
                "http.body.json:$.lat lat=52.5",
            ]
        );
    }

    #[test]
    fn form_and_raw_bodies() {
        let h = HttpTransaction {
            request_headers: vec![(
                "content-type".into(),
                b"application/x-www-form-urlencoded; charset=UTF-8".to_vec(),
            )],
            request_body: Some(Body {
                bytes: b"contacts=%2B86139%2C%2B86150&x=1+2".to_vec(),
                status: BodyStatus::Complete,
            }),
            ..Default::default()
        };
        let mut out = Vec::new();
        http(&h, &mut out);
        let got: Vec<String> = out.iter().map(text).collect();
        assert_eq!(
            got[2..],
            [
                "http.body.form:contacts contacts=%2B86139%2C%2B86150",
                "http.body.form:contacts contacts=+86139,+86150",
                "http.body.form:x x=1+2",
                "http.body.form:x x=1 2"
            ]
        );
        assert_eq!(
            percent_decode(b"%zz%4"),
            Cow::<[u8]>::Owned(b"%zz%4".to_vec())
        );
        assert_eq!(percent_decode(b"%41%"), Cow::<[u8]>::Owned(b"A%".to_vec()));
    }

    #[test]
    fn deep_json_is_bounded() {
        let deep = "[".repeat(200) + &"]".repeat(200);
        let body = Body {
            bytes: deep.into_bytes(),
            status: BodyStatus::Complete,
        };
        let mut out = Vec::new();
        body_pieces(&body, Some("application/json"), "http.body", &mut out);
        assert!(out.len() <= 1);
    }
}
