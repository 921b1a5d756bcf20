//! An EVE record as one line of JSON, written by hand for the record's
//! envelope and its `flow` object (the fields every line and a third of
//! the lines have) and through serde for the rest. serde_json spent about
//! 150 instructions per field on keys and map state, and serialising was a
//! fifth of a whole analysis; the bytes are the same as
//! `serde_json::to_writer(&record)` gives (tested on every record of the
//! fixtures and of the benchmark corpus).

use std::io;

use serde::Serialize;

use super::{Dns, Flow, Geo, Record};
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
    if let Some(v) = &r.tls {
        key(out, "tls");
        value(out, v)?;
    }
    if let Some(v) = &r.http {
        key(out, "http");
        value(out, v)?;
    }
    if let Some(v) = &r.quic {
        key(out, "quic");
        value(out, v)?;
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
        value(out, d)?;
    }
    if !f.server_name_flags.is_empty() {
        key(out, "server_name_flags");
        value(out, &f.server_name_flags)?;
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
    if let Some(rcode) = d.rcode {
        key(out, "rcode");
        string(out, rcode)?;
    }
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
            if let Some(rdata) = &a.rdata {
                key(out, "rdata");
                string(out, rdata)?;
            }
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

fn geo(g: &Geo<'_>, out: &mut Vec<u8>) -> io::Result<()> {
    out.extend_from_slice(b"{\"scope\":");
    string(out, g.scope)?;
    let strings = [
        ("country_code", g.country_code),
        ("country_name", g.country_name),
        ("city", g.city),
    ];
    for (k, v) in strings {
        if let Some(v) = v {
            key(out, k);
            string(out, v)?;
        }
    }
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
    if let Some(org) = g.as_org {
        key(out, "as_org");
        string(out, org)?;
    }
    if !g.db.is_empty() {
        key(out, "db");
        value(out, &g.db)?;
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
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
        Ok(())
    } else {
        value(out, s)
    }
}

fn value<T: Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) -> io::Result<()> {
    serde_json::to_writer(&mut *out, v).map_err(io::Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;

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
            let mut a = Vec::new();
            dns(&d, &mut a).unwrap();
            assert_eq!(
                String::from_utf8(a).unwrap(),
                serde_json::to_string(&d).unwrap()
            );
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
