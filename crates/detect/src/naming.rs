//! Destination naming: which name each flow went to, and how we know.

use std::collections::HashMap;
use std::net::IpAddr;

use telltale_decode::Timestamp;
use telltale_flow::{FlowId, FlowInfo};
use telltale_proto::dns::{Message, RData};
use telltale_proto::http::split_host_port;
use telltale_proto::{AppEvent, AppEventKind, DnsFlavor};

/// Where a flow's server name came from, best first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum NameSource {
    /// The TLS ClientHello's server name indication.
    TlsSni,
    /// The HTTP Host header.
    HttpHost,
    /// A DNS answer earlier in the capture resolved the server's address.
    Dns,
    /// No name is known.
    None,
}

impl NameSource {
    /// The value written in `server_name_source`.
    pub fn as_str(self) -> &'static str {
        match self {
            NameSource::TlsSni => "tls_sni",
            NameSource::HttpHost => "http_host",
            NameSource::Dns => "dns",
            NameSource::None => "none",
        }
    }
}

/// The DNS answer a flow was named from, for auditing the attribution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsAttribution {
    /// The name the client asked for (CNAME chains followed back to it).
    pub query: String,
    /// When the answer was seen.
    pub answer_ts: Timestamp,
    /// Packet number of the answer.
    pub answer_frame: u64,
    /// The resolver that answered.
    pub resolver: IpAddr,
}

/// A flow's destination name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerName {
    /// The name, if any.
    pub name: Option<String>,
    /// Where it came from.
    pub source: NameSource,
    /// The DNS answer behind it, when `source` is [`NameSource::Dns`].
    pub dns: Option<DnsAttribution>,
}

/// One address learnt from a DNS answer.
#[derive(Clone, Debug)]
struct Resolution {
    ts: Timestamp,
    frame: u64,
    query: String,
    resolver: IpAddr,
}

/// Names the flows of one capture.
///
/// Priority: TLS SNI, then HTTP Host (unless it is an address literal), then
/// the most recent DNS answer, seen before the flow started, that resolved the
/// server's address. Built from a whole capture's events after the fact, so
/// the answer does not depend on the order flows were processed in.
///
/// ```
/// use telltale_detect::{DestinationNamer, NameSource};
/// let namer = DestinationNamer::new(&[], &[]);
/// # let info = telltale_flow::FlowInfo { id: telltale_flow::FlowId(1), proto: telltale_flow::Proto::Tcp,
/// #     client: "10.0.0.2:40000".parse().unwrap(), server: "1.1.1.1:443".parse().unwrap() };
/// let name = namer.name(&info, telltale_decode::Timestamp::from_nanos(0));
/// assert_eq!(name.source, NameSource::None);
/// ```
pub struct DestinationNamer {
    /// Per flow: the best direct name (SNI or Host) and its source.
    direct: HashMap<FlowId, (String, NameSource)>,
    /// Per address: resolutions in time order.
    resolved: HashMap<IpAddr, Vec<Resolution>>,
}

impl DestinationNamer {
    /// Indexes a capture's events. `dns_server_of` gives, for DNS events, the
    /// flow's server (the resolver); pass the flows of the capture.
    pub fn new(events: &[AppEvent], flows: &[FlowInfo]) -> Self {
        let servers: HashMap<FlowId, IpAddr> =
            flows.iter().map(|f| (f.id, f.server.ip())).collect();
        let mut direct: HashMap<FlowId, (String, NameSource)> = HashMap::new();
        let mut resolved: HashMap<IpAddr, Vec<Resolution>> = HashMap::new();
        for ev in events {
            match &ev.kind {
                AppEventKind::Tls(t) => {
                    if let Some(sni) = t.sni().filter(|s| !s.is_empty()) {
                        let e = direct
                            .entry(ev.flow)
                            .or_insert_with(|| (sni.to_owned(), NameSource::TlsSni));
                        if e.1 != NameSource::TlsSni {
                            *e = (sni.to_owned(), NameSource::TlsSni);
                        }
                    }
                }
                AppEventKind::Http(h) => {
                    if let Some(host) = h.host.as_deref().map(|h| split_host_port(h).0)
                        && !host.is_empty()
                        && host.parse::<IpAddr>().is_err()
                    {
                        direct
                            .entry(ev.flow)
                            .or_insert_with(|| (host.to_owned(), NameSource::HttpHost));
                    }
                }
                AppEventKind::Dns(d) if d.message.response && d.flavor == DnsFlavor::Dns => {
                    let resolver = servers
                        .get(&ev.flow)
                        .copied()
                        .unwrap_or(IpAddr::from([0, 0, 0, 0]));
                    for (addr, query) in resolutions(&d.message) {
                        resolved.entry(addr).or_default().push(Resolution {
                            ts: ev.ts,
                            frame: ev.frame,
                            query,
                            resolver,
                        });
                    }
                }
                _ => {}
            }
        }
        for list in resolved.values_mut() {
            list.sort_by_key(|r| (r.ts, r.frame));
        }
        DestinationNamer { direct, resolved }
    }

    /// The name of a flow that started at `start`.
    pub fn name(&self, flow: &FlowInfo, start: Timestamp) -> ServerName {
        if let Some((name, source)) = self.direct.get(&flow.id) {
            return ServerName {
                name: Some(name.clone()),
                source: *source,
                dns: None,
            };
        }
        let found = self.resolved.get(&flow.server.ip()).and_then(|list| {
            let n = list.partition_point(|r| r.ts <= start);
            n.checked_sub(1).map(|i| &list[i])
        });
        match found {
            Some(r) => ServerName {
                name: Some(r.query.clone()),
                source: NameSource::Dns,
                dns: Some(DnsAttribution {
                    query: r.query.clone(),
                    answer_ts: r.ts,
                    answer_frame: r.frame,
                    resolver: r.resolver,
                }),
            },
            None => ServerName {
                name: None,
                source: NameSource::None,
                dns: None,
            },
        }
    }
}

/// Addresses a DNS response resolves, each with the name the client asked
/// for: CNAME chains are followed back from the address record to the
/// question, so `api.example.com CNAME edge.cdn.net A 1.2.3.4` names 1.2.3.4
/// `api.example.com`.
fn resolutions(m: &Message) -> Vec<(IpAddr, String)> {
    // alias target (lower case) -> owner name
    let mut owner_of: HashMap<String, &str> = HashMap::new();
    for a in &m.answers {
        if let RData::Cname(target) = &a.data {
            owner_of
                .entry(target.to_ascii_lowercase())
                .or_insert(&a.name);
        }
    }
    let mut out = Vec::new();
    for a in &m.answers {
        let addr = match a.data {
            RData::A(v4) => IpAddr::V4(v4),
            RData::Aaaa(v6) => IpAddr::V6(v6),
            _ => continue,
        };
        let mut name: &str = &a.name;
        // Bounded walk: a response can contain a CNAME loop.
        for _ in 0..16 {
            match owner_of.get(&name.to_ascii_lowercase()) {
                Some(owner) if !owner.eq_ignore_ascii_case(name) => name = owner,
                _ => break,
            }
        }
        out.push((addr, name.to_owned()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use telltale_flow::Proto;
    use telltale_proto::dns::parse_message;
    use telltale_proto::{DnsEvent, HttpTransaction, TlsHandshake, tls::ClientHello};

    fn info(id: u64, server: &str) -> FlowInfo {
        FlowInfo {
            id: FlowId(id),
            proto: Proto::Tcp,
            client: "192.168.1.23:40000".parse().unwrap(),
            server: server.parse().unwrap(),
        }
    }

    fn ev(flow: u64, ts: i64, kind: AppEventKind) -> AppEvent {
        AppEvent {
            flow: FlowId(flow),
            ts: Timestamp::from_nanos(ts),
            frame: flow,
            kind,
        }
    }

    /// A DNS response with one question and the given answers, built as wire
    /// bytes: (owner, type, data) with data a dotted name or an address.
    fn dns_response(answers: &[(&str, u16, &str)]) -> AppEventKind {
        fn name(out: &mut Vec<u8>, n: &str) {
            for l in n.split('.') {
                out.push(l.len() as u8);
                out.extend_from_slice(l.as_bytes());
            }
            out.push(0);
        }
        let mut m = vec![0, 1, 0x81, 0x80, 0, 1, 0, answers.len() as u8, 0, 0, 0, 0];
        name(&mut m, "api.account.xiaomi.com");
        m.extend_from_slice(&[0, 1, 0, 1]);
        for (owner, t, data) in answers {
            name(&mut m, owner);
            m.extend_from_slice(&t.to_be_bytes());
            m.extend_from_slice(&[0, 1, 0, 0, 0, 60]);
            let mut rdata = Vec::new();
            match data.parse::<IpAddr>() {
                Ok(IpAddr::V4(a)) => rdata.extend_from_slice(&a.octets()),
                Ok(IpAddr::V6(a)) => rdata.extend_from_slice(&a.octets()),
                Err(_) => name(&mut rdata, data),
            }
            m.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
            m.extend_from_slice(&rdata);
        }
        AppEventKind::Dns(DnsEvent {
            flavor: DnsFlavor::Dns,
            message: parse_message(&m).unwrap(),
        })
    }

    fn tls(sni: &str) -> AppEventKind {
        AppEventKind::Tls(TlsHandshake {
            client: Some(ClientHello {
                sni: Some(sni.into()),
                ..Default::default()
            }),
            server: None,
        })
    }

    #[test]
    fn priority_and_cname_chain() {
        let resolver = info(1, "192.168.1.1:53");
        let events = vec![
            ev(
                1,
                10,
                dns_response(&[
                    ("api.account.xiaomi.com", 5, "a.cdn.example"),
                    ("A.cdn.example", 5, "b.cdn.example"),
                    ("b.cdn.example", 1, "220.181.1.2"),
                ]),
            ),
            ev(5, 30, tls("sni.example")),
            ev(
                6,
                30,
                AppEventKind::Http(HttpTransaction {
                    host: Some("host.example:8080".into()),
                    ..Default::default()
                }),
            ),
            ev(
                8,
                30,
                AppEventKind::Http(HttpTransaction {
                    host: Some("220.181.1.2".into()),
                    ..Default::default()
                }),
            ),
        ];
        let flows = [
            resolver,
            info(5, "220.181.1.2:443"),
            info(6, "220.181.1.2:8080"),
            info(7, "220.181.1.2:443"),
            info(8, "220.181.1.2:80"),
        ];
        let namer = DestinationNamer::new(&events, &flows);
        let t = Timestamp::from_nanos(20);
        let n = namer.name(&flows[1], t);
        assert_eq!(
            (n.name.as_deref(), n.source),
            (Some("sni.example"), NameSource::TlsSni)
        );
        let n = namer.name(&flows[2], t);
        assert_eq!(
            (n.name.as_deref(), n.source),
            (Some("host.example"), NameSource::HttpHost)
        );
        for f in [&flows[3], &flows[4]] {
            let n = namer.name(f, t);
            assert_eq!(
                (n.name.as_deref(), n.source),
                (Some("api.account.xiaomi.com"), NameSource::Dns)
            );
            let dns = n.dns.unwrap();
            assert_eq!(dns.resolver.to_string(), "192.168.1.1");
            assert_eq!(dns.answer_ts, Timestamp::from_nanos(10));
        }
        // A flow that started before the answer is not named by it.
        let n = namer.name(&flows[3], Timestamp::from_nanos(5));
        assert_eq!(n.source, NameSource::None);
    }

    #[test]
    fn most_recent_answer_wins_and_cname_loops_end() {
        let events = vec![
            ev(1, 10, dns_response(&[("old.example", 1, "10.1.1.1")])),
            ev(
                2,
                20,
                dns_response(&[
                    ("x.example", 5, "y.example"),
                    ("y.example", 5, "x.example"),
                    ("new.example", 1, "10.1.1.1"),
                ]),
            ),
        ];
        let namer = DestinationNamer::new(&events, &[info(1, "9.9.9.9:53"), info(2, "9.9.9.9:53")]);
        let f = info(3, "10.1.1.1:443");
        assert_eq!(
            namer.name(&f, Timestamp::from_nanos(15)).name.as_deref(),
            Some("old.example")
        );
        assert_eq!(
            namer.name(&f, Timestamp::from_nanos(25)).name.as_deref(),
            Some("new.example")
        );
    }
}
