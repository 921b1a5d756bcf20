//! HTTP/1.1 message text.

/// A request with `Host` first, then `headers`, then `Content-Length` when
/// there is a body.
pub fn request(
    method: &str,
    path: &str,
    host: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Vec<u8> {
    let mut s = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\n");
    for (k, v) in headers {
        s.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() {
        s.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    s.push_str("\r\n");
    let mut out = s.into_bytes();
    out.extend_from_slice(body);
    out
}

/// A bare GET with a fixed user agent.
pub fn get(path: &str, host: &str) -> Vec<u8> {
    request(
        "GET",
        path,
        host,
        &[("User-Agent", "telltale-fixtures/1.0"), ("Accept", "*/*")],
        b"",
    )
}

/// A response with `headers`, then `Content-Length` (always, so the body
/// end is known without closing the connection).
pub fn response(status: u16, reason: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut s = format!("HTTP/1.1 {status} {reason}\r\n");
    for (k, v) in headers {
        s.push_str(&format!("{k}: {v}\r\n"));
    }
    s.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut out = s.into_bytes();
    out.extend_from_slice(body);
    out
}

/// A `text/plain` 200 OK.
pub fn ok_text(body: &str) -> Vec<u8> {
    response(
        200,
        "OK",
        &[("Content-Type", "text/plain")],
        body.as_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_text() {
        assert_eq!(
            request("POST", "/p", "h.example", &[("X-A", "1")], b"k=v"),
            b"POST /p HTTP/1.1\r\nHost: h.example\r\nX-A: 1\r\nContent-Length: 3\r\n\r\nk=v"
                .to_vec()
        );
    }

    #[test]
    fn parses_with_httparse() {
        let raw = get("/x", "linktest.example");
        let mut headers = [httparse::EMPTY_HEADER; 8];
        let mut req = httparse::Request::new(&mut headers);
        assert!(req.parse(&raw).unwrap().is_complete());
        assert_eq!(req.path, Some("/x"));
        let resp = ok_text("hi");
        let mut headers = [httparse::EMPTY_HEADER; 8];
        let mut r = httparse::Response::new(&mut headers);
        let n = r.parse(&resp).unwrap().unwrap();
        assert_eq!(&resp[n..], b"hi");
    }
}
