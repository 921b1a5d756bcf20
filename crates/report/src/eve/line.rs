//! An EVE record as one line of JSON, written by hand for the envelope and
//! the objects most lines carry (flow with its name source and locations,
//! DNS, TLS, QUIC, HTTP) and through serde for the rare rest (gaps, limits,
//! identifiers, DHCP). serde_json spent about 150 instructions per field on
//! keys and map state, and serialising was a fifth of a whole analysis; the
//! bytes are the same as `serde_json::to_writer(&record)` gives (tested on
//! every record of the fixtures and of the benchmark corpus).

use std::io;

use serde::Serialize;

use super::{Dns, DnsSource, Fingerprint, Flow, Geo, Http, Quic, Record, Tls};
use crate::iptext::IpText;

/// Appends `r` as JSON (no newline).
pub(crate) fn write_record(r: &Record<'_>, out: &mut Vec<u8>) -> io::Result<()> {
    out.extend_from_slice(b"{\"timestamp\":");
    timestamp(out, r.timestamp);
    key(out, "flow_id");
    uint(out, r.flow_id);
    key(out, "pcap_cnt");
    uint(out, r.pcap_cnt);
    key(out, "pcap_filename");
    string(out, r.pcap_filename)?;
    key(out, "event_type");
    string(out, r.event_type)?;
    key(out, "src_ip");
    string(out, IpText::new(r.src_ip).as_str())?;
    key(out, "src_port");
    uint(out, u64::from(r.src_port));
    key(out, "dest_ip");
    string(out, IpText::new(r.dest_ip).as_str())?;
    key(out, "dest_port");
    uint(out, u64::from(r.dest_port));
    key(out, "proto");
    string(out, r.proto)?;
    key(out, "app_proto");
    string(out, r.app_proto)?;
    if let Some(f) = &r.flow {
        key(out, "flow");
        flow(f, out)?;
    }
    if let Some(d) = &r.dns {
        key(out, "dns");
        dns(d, out)?;
    }
    if let Some(t) = &r.tls {
        key(out, "tls");
        tls(t, out)?;
    }
    if let Some(h) = &r.http {
        key(out, "http");
        http(h, out)?;
    }
    if let Some(q) = &r.quic {
        key(out, "quic");
        quic(q, out)?;
    }
    if let Some(v) = &r.dhcp {
        key(out, "dhcp");
        value(out, v)?;
    }
    if let Some(v) = &r.identifier {
        key(out, "identifier");
        value(out, v)?;
    }
    out.push(b'}');
    Ok(())
}

fn flow(f: &Flow<'_>, out: &mut Vec<u8>) -> io::Result<()> {
    out.extend_from_slice(b"{\"pkts_toserver\":");
    uint(out, f.pkts_toserver);
    key(out, "pkts_toclient");
    uint(out, f.pkts_toclient);
    key(out, "bytes_toserver");
    uint(out, f.bytes_toserver);
    key(out, "bytes_toclient");
    uint(out, f.bytes_toclient);
    key(out, "start");
    timestamp(out, f.start);
    key(out, "end");
    timestamp(out, f.end);
    key(out, "state");
    string(out, f.state)?;
    key(out, "reason");
    string(out, f.reason)?;
    key(out, "server_name");
    match f.server_name {
        Some(n) => string(out, n)?,
        None => out.extend_from_slice(b"null"),
    }
    key(out, "server_name_source");
    string(out, f.server_name_source)?;
    if let Some(d) = &f.server_name_dns {
        key(out, "server_name_dns");
        dns_source(d, out)?;
    }
    if !f.server_name_flags.is_empty() {
        key(out, "server_name_flags");
        strings(out, &f.server_name_flags)?;
    }
    if let Some(g) = &f.gaps {
        key(out, "gaps");
        value(out, g)?;
    }
    if let Some(l) = &f.limits {
        key(out, "limits");
        value(out, l)?;
    }
    if let Some(i) = &f.identifiers {
        key(out, "identifiers");
        value(out, i)?;
    }
    key(out, "dest_geo");
    geo(&f.dest_geo, out)?;
    if let Some(g) = &f.src_geo {
        key(out, "src_geo");
        geo(g, out)?;
    }
    out.push(b'}');
    Ok(())
}

/// A DNS record's object: two in five records are DNS.
fn dns(d: &Dns<'_>, out: &mut Vec<u8>) -> io::Result<()> {
    out.extend_from_slice(b"{\"type\":");
    string(out, d.kind)?;
    key(out, "id");
    uint(out, u64::from(d.id));
    key(out, "rrname");
    string(out, d.rrname)?;
    key(out, "rrtype");
    string(out, &d.rrtype)?;
    field(out, "rcode", d.rcode)?;
    if !d.answers.is_empty() {
        key(out, "answers");
        out.push(b'[');
        for (i, a) in d.answers.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"rrname\":");
            string(out, a.rrname)?;
            key(out, "rrtype");
            string(out, &a.rrtype)?;
            key(out, "ttl");
            uint(out, u64::from(a.ttl));
            field(out, "rdata", a.rdata.as_deref())?;
            out.push(b'}');
        }
        out.push(b']');
    }
    if d.partial {
        out.extend_from_slice(b",\"partial\":true");
    }
    out.push(b'}');
    Ok(())
}

fn tls(t: &Tls<'_>, out: &mut Vec<u8>) -> io::Result<()> {
    out.extend_from_slice(b"{\"sni\":");
    string_or_null(out, t.sni)?;
    key(out, "version");
    string_or_null(out, t.version.as_deref())?;
    key(out, "alpn");
    strings(out, t.alpn)?;
    if t.ech {
        out.extend_from_slice(b",\"ech\":true");
    }
    for (k, f) in [("ja3", &t.ja3), ("ja3s", &t.ja3s)] {
        if let Some(f) = f {
            key(out, k);
            fingerprint(out, f)?;
        }
    }
    field(out, "ja4", t.ja4.as_deref())?;
    field(out, "subject", t.subject)?;
    field(out, "issuerdn", t.issuerdn)?;
    field(out, "serial", t.serial)?;
    field(out, "fingerprint_sha256", t.fingerprint_sha256)?;
    field(out, "notbefore", t.notbefore.as_deref())?;
    field(out, "notafter", t.notafter.as_deref())?;
    if let Some(san) = t.san {
        key(out, "san");
        strings(out, san)?;
    }
    if let Some(n) = t.chain_len {
        key(out, "chain_len");
        uint(out, n as u64);
    }
    out.push(b'}');
    Ok(())
}

fn quic(q: &Quic<'_>, out: &mut Vec<u8>) -> io::Result<()> {
    out.extend_from_slice(b"{\"version\":");
    string(out, &q.version)?;
    key(out, "sni");
    string_or_null(out, q.sni)?;
    key(out, "alpn");
    strings(out, q.alpn)?;
    key(out, "ja3");
    fingerprint(out, &q.ja3)?;
    key(out, "ja4");
    string(out, &q.ja4)?;
    field(out, "server_version", q.server_version.as_deref())?;
    out.push(b'}');
    Ok(())
}

fn http(h: &Http<'_>, out: &mut Vec<u8>) -> io::Result<()> {
    out.extend_from_slice(b"{\"hostname\":");
    string_or_null(out, h.hostname)?;
    if let Some(port) = h.http_port {
        key(out, "http_port");
        uint(out, u64::from(port));
    }
    key(out, "url");
    string(out, h.url)?;
    key(out, "http_method");
    string(out, h.http_method)?;
    key(out, "protocol");
    string(out, h.protocol)?;
    key(out, "http_user_agent");
    string_or_null(out, h.http_user_agent)?;
    key(out, "status");
    match h.status {
        Some(s) => uint(out, u64::from(s)),
        None => out.extend_from_slice(b"null"),
    }
    field(out, "http_content_type", h.http_content_type)?;
    key(out, "length");
    uint(out, h.length);
    if h.decrypted {
        out.extend_from_slice(b",\"decrypted\":true");
    }
    if !h.body_limit_hit.is_empty() {
        key(out, "body_limit_hit");
        strings(out, &h.body_limit_hit)?;
    }
    out.push(b'}');
    Ok(())
}

fn fingerprint(out: &mut Vec<u8>, f: &Fingerprint) -> io::Result<()> {
    out.extend_from_slice(b"{\"hash\":");
    string(out, &f.hash)?;
    key(out, "string");
    string(out, &f.string)?;
    out.push(b'}');
    Ok(())
}

/// A JSON array of strings.
fn strings<S: AsRef<str>>(out: &mut Vec<u8>, items: &[S]) -> io::Result<()> {
    out.push(b'[');
    for (i, s) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        string(out, s.as_ref())?;
    }
    out.push(b']');
    Ok(())
}

/// `,"name":"value"`, or nothing when there is no value (serde's
/// `skip_serializing_if = "Option::is_none"`).
fn field(out: &mut Vec<u8>, name: &str, v: Option<&str>) -> io::Result<()> {
    match v {
        Some(v) => {
            key(out, name);
            string(out, v)
        }
        None => Ok(()),
    }
}

fn string_or_null(out: &mut Vec<u8>, s: Option<&str>) -> io::Result<()> {
    match s {
        Some(s) => string(out, s),
        None => {
            out.extend_from_slice(b"null");
            Ok(())
        }
    }
}

/// The DNS answer that named a flow (on three flows in four: through serde
/// it cost more than the rest of the flow object).
fn dns_source(d: &DnsSource<'_>, out: &mut Vec<u8>) -> io::Result<()> {
    out.extend_from_slice(b"{\"query\":");
    string(out, d.query)?;
    key(out, "answer_ts");
    timestamp(out, d.answer_ts);
    key(out, "answer_pcap_cnt");
    uint(out, d.answer_pcap_cnt);
    key(out, "resolver");
    string(out, IpText::new(d.resolver).as_str())?;
    out.push(b'}');
    Ok(())
}

fn geo(g: &Geo<'_>, out: &mut Vec<u8>) -> io::Result<()> {
    out.extend_from_slice(b"{\"scope\":");
    string(out, g.scope)?;
    field(out, "country_code", g.country_code)?;
    field(out, "country_name", g.country_name)?;
    field(out, "city", g.city)?;
    for (k, v) in [("latitude", g.latitude), ("longitude", g.longitude)] {
        if let Some(v) = v {
            key(out, k);
            value(out, &v)?;
        }
    }
    if let Some(asn) = g.asn {
        key(out, "asn");
        uint(out, u64::from(asn));
    }
    field(out, "as_org", g.as_org)?;
    if !g.db.is_empty() {
        key(out, "db");
        strings(out, &g.db)?;
    }
    out.push(b'}');
    Ok(())
}

/// `,"name":` (names are plain ASCII constants).
fn key(out: &mut Vec<u8>, name: &str) {
    out.extend_from_slice(b",\"");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":");
}

/// A timestamp as its `Serialize` writes it: RFC 3339 text, which needs no
/// escaping.
fn timestamp(out: &mut Vec<u8>, t: telltale_decode::Timestamp) {
    t.with_rfc3339(|text| {
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    });
}

/// A number as serde_json writes it (it uses the same `itoa`).
fn uint(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// A JSON string: as is when nothing in it needs escaping (the common
/// case), else through serde_json, so escapes are exactly its own.
fn string(out: &mut Vec<u8>, s: &str) -> io::Result<()> {
    if !needs_escape(s.as_bytes()) {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
        Ok(())
    } else {
        value(out, s)
    }
}

/// Whether `b` holds a byte JSON escapes: a control byte, `"` or `\`.
/// Eight bytes at a time: every string of every record passes here.
fn needs_escape(b: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // The high bit of a byte of the result is set where `x`'s byte is
    // below `n` (for n <= 0x80): the usual has-less test, exact about
    // whether any byte is.
    let below = |x: u64, n: u64| x.wrapping_sub(ONES * n) & !x & HIGH;
    let mut words = b.chunks_exact(8);
    for w in &mut words {
        let x = u64::from_le_bytes(w.try_into().unwrap_or_default());
        if below(x, 0x20)
            | below(x ^ (ONES * u64::from(b'"')), 1)
            | below(x ^ (ONES * u64::from(b'\\')), 1)
            != 0
        {
            return true;
        }
    }
    words
        .remainder()
        .iter()
        .any(|&c| c < 0x20 || c == b'"' || c == b'\\')
}

fn value<T: Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) -> io::Result<()> {
    serde_json::to_writer(&mut *out, v).map_err(io::Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `write` gives the bytes serde_json gives for `v`.
    fn as_serde<T: Serialize + ?Sized>(v: &T, write: impl Fn(&T, &mut Vec<u8>) -> io::Result<()>) {
        let mut a = Vec::new();
        write(v, &mut a).unwrap();
        assert_eq!(
            String::from_utf8(a).unwrap(),
            serde_json::to_string(v).unwrap()
        );
    }

    /// Every optional part of a DNS object, present and absent, with a
    /// name that needs escaping.
    #[test]
    fn dns_objects_as_serde_writes_them() {
        use super::super::DnsAnswer;
        let answers = || {
            vec![
                DnsAnswer {
                    rrname: "a\"b.example",
                    rrtype: "A".into(),
                    ttl: 300,
                    rdata: Some("192.0.2.1".into()),
                },
                DnsAnswer {
                    rrname: "x.example",
                    rrtype: "TYPE65280".into(),
                    ttl: u32::MAX,
                    rdata: None,
                },
                DnsAnswer {
                    rrname: "",
                    rrtype: "TXT".into(),
                    ttl: 0,
                    rdata: Some(String::new()),
                },
            ]
        };
        for (rcode, answers, partial) in [
            (None, Vec::new(), false),
            (Some("NOERROR"), answers(), false),
            (Some("SERVFAIL"), answers(), true),
            (None, Vec::new(), true),
        ] {
            let d = Dns {
                kind: if rcode.is_some() { "answer" } else { "query" },
                id: 4660,
                rrname: "tab\there.example",
                rrtype: "AAAA".into(),
                rcode,
                answers,
                partial,
            };
            as_serde(&d, dns);
        }
    }

    fn fp(h: &str, s: &str) -> Fingerprint {
        Fingerprint {
            hash: h.into(),
            string: s.into(),
        }
    }

    /// TLS, QUIC and HTTP objects with every optional part present and
    /// absent, as serde writes them.
    /// The DNS source of a flow's name (both address families, a query
    /// that needs escaping) and lists of flag names, as serde writes them.
    #[test]
    fn name_sources_and_flag_lists_as_serde_writes_them() {
        for (query, resolver, ts) in [
            ("api.\"x\".example", "192.0.2.53", 1_700_000_000_123_456_789),
            ("b.example", "2001:db8::35", -1),
        ] {
            let d = DnsSource {
                query,
                answer_ts: telltale_decode::Timestamp::from_nanos(ts),
                answer_pcap_cnt: 77,
                resolver: resolver.parse().unwrap(),
            };
            as_serde(&d, dns_source);
        }
        for list in [
            &["sni_not_in_dns"][..],
            &["sni_not_in_dns", "sni_not_in_cert", "not_resolved_by_dns"],
            &["a\"b"],
        ] {
            as_serde(list, |l, out| strings(out, l));
        }
    }

    /// Locations with every part and with none, as serde writes them.
    #[test]
    fn geo_objects_as_serde_writes_them() {
        for full in [false, true] {
            let g = Geo {
                scope: "public",
                country_code: full.then_some("DE"),
                country_name: full.then_some("Germany \"DE\""),
                city: full.then_some("Köln"),
                latitude: full.then_some(50.9375),
                longitude: full.then_some(-6.96),
                asn: full.then_some(3320),
                as_org: full.then_some("Deutsche Telekom AG"),
                db: if full {
                    vec!["GeoLite2-City 2026-11-01", "embedded"]
                } else {
                    Vec::new()
                },
            };
            as_serde(&g, geo);
        }
    }

    #[test]
    fn tls_quic_http_objects_as_serde_writes_them() {
        let alpn = vec!["h2".to_string(), "http/1.1".to_string()];
        let san = vec!["a.example".to_string(), "*.b\"example".to_string()];
        for full in [false, true] {
            let t = Tls {
                sni: full.then_some("sni.example"),
                version: full.then(|| "TLS 1.3".to_string()),
                alpn: if full { &alpn } else { &[] },
                ech: full,
                ja3: full.then(|| fp("5afd", "771,4865")),
                ja3s: full.then(|| fp("f4fe", "771,4865,43-51")),
                ja4: full.then(|| "t13d1516h2_8daaf6152771_e5627efa2ab1".to_string()),
                subject: full.then_some("CN=a\tb"),
                issuerdn: full.then_some("CN=CA"),
                serial: full.then_some("01:02"),
                fingerprint_sha256: full.then_some("ab:cd"),
                notbefore: full.then(|| "2024-01-01T00:00:00Z".to_string()),
                notafter: full.then(|| "2025-01-01T00:00:00Z".to_string()),
                san: full.then_some(san.as_slice()),
                chain_len: full.then_some(3),
            };
            as_serde(&t, tls);
            let q = Quic {
                version: "v1".into(),
                sni: full.then_some("q.example"),
                alpn: &alpn,
                ja3: fp("aa", "771"),
                ja4: "q13d".into(),
                server_version: full.then(|| "TLS 1.3".to_string()),
            };
            as_serde(&q, quic);
            let h = Http {
                hostname: full.then_some("h.example"),
                http_port: full.then_some(8080),
                url: "/a?b=\"c\"",
                http_method: "GET",
                protocol: "HTTP/1.1",
                http_user_agent: full.then_some("UA \u{1}"),
                status: full.then_some(200),
                http_content_type: full.then_some("text/html"),
                length: 42,
                decrypted: full,
                body_limit_hit: if full {
                    vec!["request", "response"]
                } else {
                    Vec::new()
                },
            };
            as_serde(&h, http);
        }
    }

    /// The word-at-a-time check agrees with a byte-by-byte one for every
    /// byte value at every position of a word, and on text around them.
    #[test]
    fn escape_check_byte_by_byte() {
        let slow = |b: &[u8]| b.iter().any(|&c| c < 0x20 || c == b'"' || c == b'\\');
        for len in 0..20 {
            for at in 0..len {
                for v in 0..=255u8 {
                    let mut b = vec![b'a'; len];
                    b[at] = v;
                    if at + 1 < len {
                        b[at + 1] = 0xff;
                    }
                    assert_eq!(needs_escape(&b), slow(&b), "{b:?}");
                }
            }
        }
    }

    #[test]
    fn strings_and_numbers_as_serde_writes_them() {
        for s in [
            "",
            "plain",
            "q\"uote",
            "back\\slash",
            "tab\there",
            "\u{1}\u{1f}",
            "é ü 中",
            "\u{7f}",
        ] {
            let mut a = Vec::new();
            string(&mut a, s).unwrap();
            assert_eq!(a, serde_json::to_vec(s).unwrap(), "{s:?}");
        }
        for nanos in [i64::MIN, -1, 0, 1_406_714_700_123_456_789, i64::MAX] {
            let t = telltale_decode::Timestamp::from_nanos(nanos);
            let mut a = Vec::new();
            timestamp(&mut a, t);
            assert_eq!(a, serde_json::to_vec(&t).unwrap(), "{nanos}");
        }
        for n in [0, 1, 9, 10, 99, 100, 12345, u64::from(u32::MAX), u64::MAX] {
            let mut a = Vec::new();
            uint(&mut a, n);
            assert_eq!(a, serde_json::to_vec(&n).unwrap());
        }
    }
}
