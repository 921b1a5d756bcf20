//! Destination naming: which name each flow went to, and how we know.

use std::net::IpAddr;
use std::sync::Arc;

use telltale_decode::Timestamp;
use telltale_flow::{FlowId, FlowInfo};
use telltale_proto::dns::{Message, RData};
use telltale_proto::http::split_host_port;
use telltale_proto::tls::Certificate;
use telltale_proto::{AppEvent, AppEventKind, DnsFlavor};

/// Keyed by addresses and flow ids from the capture: a fast hash with a
/// random seed per map (foldhash), as the flow table's, rather than SipHash,
/// which showed in the profile of a streaming run; the seed keeps a capture
/// crafted to collide from degrading the maps. Their order is never
/// observed.
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// Where a flow's server name came from, best first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum NameSource {
    /// The TLS ClientHello's server name indication.
    TlsSni,
    /// The QUIC ClientHello's server name indication.
    QuicSni,
    /// The HTTP Host header.
    HttpHost,
    /// A DNS answer earlier in the capture (or batch) resolved the server's
    /// address.
    Dns,
    /// The server's TLS certificate (first DNS name of the leaf).
    Cert,
    /// No name is known.
    None,
}

impl NameSource {
    /// The value written in `server_name_source`.
    pub fn as_str(self) -> &'static str {
        match self {
            NameSource::TlsSni => "tls_sni",
            NameSource::QuicSni => "quic_sni",
            NameSource::HttpHost => "http_host",
            NameSource::Dns => "dns",
            NameSource::Cert => "cert",
            NameSource::None => "none",
        }
    }
}

/// Serialised as [`NameSource::as_str`].
impl serde::Serialize for NameSource {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// The DNS answer that resolved a flow's server address, for auditing.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DnsAttribution {
    /// The name the client asked for (CNAME chains followed back to it).
    pub query: String,
    /// When the answer was seen.
    pub answer_ts: Timestamp,
    /// Packet number of the answer (`answer_pcap_cnt` in JSON, as in EVE).
    #[serde(rename = "answer_pcap_cnt")]
    pub answer_frame: u64,
    /// The resolver that answered.
    pub resolver: IpAddr,
}

/// Inconsistencies between the ways a flow's destination can be named. Each
/// is worth a look; none is proof of anything (CDNs serve many names from one
/// address; resolvers outside the capture exist).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct NameFlags {
    /// The SNI is none of the names DNS answers gave for the server address
    /// (while some DNS answer did resolve it).
    pub sni_not_in_dns: bool,
    /// The SNI is not covered by the server certificate's names.
    pub sni_not_in_cert: bool,
    /// A TLS, QUIC or HTTP flow went to an address no DNS answer in scope
    /// resolved before the flow (hard-coded address, or a resolver not seen).
    /// `not_resolved_by_dns` in JSON, as in [`names`](Self::names).
    #[serde(rename = "not_resolved_by_dns")]
    pub not_resolved: bool,
}

impl NameFlags {
    /// The flags that are set, as written in `server_name_flags`.
    pub fn names(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        if self.sni_not_in_dns {
            v.push("sni_not_in_dns");
        }
        if self.sni_not_in_cert {
            v.push("sni_not_in_cert");
        }
        if self.not_resolved {
            v.push("not_resolved_by_dns");
        }
        v
    }
}

/// A flow's destination name.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ServerName {
    /// The name, if any.
    pub name: Option<String>,
    /// Where it came from.
    pub source: NameSource,
    /// The most recent DNS answer, before the flow started, that resolved the
    /// server's address, whatever the source of the name.
    pub dns: Option<DnsAttribution>,
    /// Inconsistencies found.
    pub flags: NameFlags,
}

impl ServerName {
    /// No name (yet): what a flow has before naming.
    pub fn unnamed() -> ServerName {
        ServerName {
            name: None,
            source: NameSource::None,
            dns: None,
            flags: NameFlags::default(),
        }
    }
}

/// One address learnt from a DNS answer.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Resolution {
    ts: Timestamp,
    frame: u64,
    /// Shared: a name answered thousands of times is stored once.
    query: Arc<str>,
    resolver: IpAddr,
}

/// A name that resolved an address, and when it first did (time, packet).
type FirstAnswer = (Arc<str>, (Timestamp, u64));

/// Addresses learnt from DNS answers, in time order per address. One per
/// capture by default; merge several for a batch in which captures share a
/// resolver cache (`--dns-scope batch`).
#[derive(Clone, Debug, Default)]
pub struct Resolutions {
    by_addr: HashMap<IpAddr, Vec<Resolution>>,
    /// For a bounded namer: each distinct name (ASCII case folded) that
    /// resolved an address, with its first answer. The answers are capped;
    /// the names a flow's SNI is checked against are kept apart from them.
    names: HashMap<IpAddr, Vec<FirstAnswer>>,
    /// For a bounded namer: addresses in the order they were last
    /// answered (stale entries skipped), and each one's last answer.
    answered: std::collections::VecDeque<(IpAddr, u64)>,
    last_answer: HashMap<IpAddr, u64>,
    answers: u64,
}

/// Addresses whose answers a [`DestinationNamer::bounded`] namer keeps: the
/// least recently answered is forgotten first, so memory stays flat on a
/// capture that resolves millions of addresses. A flow is then unnamed by
/// DNS only if its address was last answered before this many others were.
pub const MAX_RESOLVED_ADDRESSES: usize = 16_384;

/// Answers kept per address by a [`DestinationNamer::bounded`] namer. A
/// bounded namer fixes a flow's DNS name when the flow starts
/// ([`DestinationNamer::start`]), from the latest answer before it, so only
/// the latest few are needed (a few, not one, for captures whose clock
/// steps back); a CDN address answered millions of times in a long capture
/// must not grow without end.
pub const MAX_RESOLUTIONS_PER_ADDRESS: usize = 4;

/// Distinct names kept per address by a [`DestinationNamer::bounded`]
/// namer, for the `sni_not_in_dns` check; a name past this many is not
/// remembered (a shared CDN address), and an SNI equal to it is flagged.
pub const MAX_NAMES_PER_ADDRESS: usize = 64;

/// The events [`Resolutions::from_answers`] reads, and
/// [`DestinationNamer::without_answers`] leaves to it: one test, so the two
/// halves always cover every event between them.
fn is_dns(ev: &AppEvent) -> bool {
    matches!(ev.kind, AppEventKind::Dns(_))
}

impl Resolutions {
    /// The DNS answers among a capture's events, every one kept; `flows`
    /// are the capture's flows (their servers are the answers' resolvers).
    pub fn from_answers(events: &[AppEvent], flows: &[FlowInfo]) -> Resolutions {
        Resolutions::from_dns_events(events, flows)
    }

    /// As [`from_answers`](Self::from_answers), over events the caller
    /// has already picked out (those that are not DNS are skipped): a
    /// caller that noted where its DNS messages are need not read every
    /// event again.
    ///
    /// The answers kept do not depend on the order the events come in, so
    /// the answers of a capture's parts (shards holding disjoint flows)
    /// can be read on their own and [`merge`](Self::merge)d.
    pub fn from_dns_events<'a>(
        events: impl IntoIterator<Item = &'a AppEvent>,
        flows: &[FlowInfo],
    ) -> Resolutions {
        let servers: HashMap<FlowId, IpAddr> =
            flows.iter().map(|f| (f.id, f.server.ip())).collect();
        let mut namer = DestinationNamer::empty();
        for ev in events.into_iter().filter(|e| is_dns(e)) {
            namer.observe(ev, servers.get(&ev.flow).copied());
        }
        namer.resolutions
    }

    /// Adds one answer in time order, keeping the latest `cap` per address
    /// and, when `max_addrs` is finite, answers for that many addresses
    /// and the names that resolved them.
    fn add(&mut self, addr: IpAddr, r: Resolution, cap: usize, max_addrs: usize) {
        let mut r = r;
        if max_addrs != usize::MAX {
            let names = self.names.entry(addr).or_default();
            let at = (r.ts, r.frame);
            let full = names.len() >= MAX_NAMES_PER_ADDRESS;
            match names
                .iter_mut()
                .find(|(n, _)| n.eq_ignore_ascii_case(&r.query))
            {
                Some((n, first)) => {
                    *first = (*first).min(at);
                    r.query = Arc::clone(n);
                }
                None if !full => names.push((Arc::clone(&r.query), at)),
                None => {}
            }
        }
        let list = self.by_addr.entry(addr).or_default();
        let mut at = list.partition_point(|x| x <= &r);
        if at > 0 && list[at - 1] == r {
            return;
        }
        // Full: the oldest goes first, so the list never outgrows `cap`
        // (inserting first would double its allocation at every address).
        if list.len() >= cap {
            if at == 0 {
                return;
            }
            list.remove(0);
            at -= 1;
        }
        list.insert(at, r);
        if max_addrs == usize::MAX {
            return;
        }
        self.answers += 1;
        self.last_answer.insert(addr, self.answers);
        self.answered.push_back((addr, self.answers));
        while self.by_addr.len() > max_addrs {
            let Some((old, n)) = self.answered.pop_front() else {
                break;
            };
            if self.last_answer.get(&old) == Some(&n) {
                self.by_addr.remove(&old);
                self.names.remove(&old);
                self.last_answer.remove(&old);
            }
        }
        // Stale queue entries (addresses answered again since) are dropped
        // once they fill the queue to twice the cap: at most the cap are
        // live, so at least as many answers come between two clean-ups, and
        // the queue's buffer stops at twice the cap (1 MiB). At four times
        // it grew to 4 MiB per namer, the largest part of a streamed
        // run's growth from 1 GiB to 10 GiB of capture, a namer per shard.
        if self.answered.len() >= 2 * max_addrs.max(1) {
            let last = &self.last_answer;
            self.answered.retain(|(a, n)| last.get(a) == Some(n));
        }
    }

    /// Adds every resolution of `other`.
    pub fn merge(&mut self, other: &Resolutions) {
        for (addr, list) in &other.by_addr {
            let mine = self.by_addr.entry(*addr).or_default();
            mine.extend(list.iter().cloned());
            mine.sort();
            mine.dedup();
        }
    }

    /// How many (address, answer) pairs are held.
    pub fn len(&self) -> usize {
        self.by_addr.values().map(Vec::len).sum()
    }

    /// Whether no address is held.
    pub fn is_empty(&self) -> bool {
        self.by_addr.is_empty()
    }

    /// Answers seen strictly before the flow's first packet: by time, and at
    /// equal times (coarse clocks, timestamp-less blocks) by packet number.
    fn before(&self, addr: IpAddr, start: (Timestamp, u64)) -> &[Resolution] {
        match self.by_addr.get(&addr) {
            Some(list) => &list[..list.partition_point(|r| (r.ts, r.frame) < start)],
            None => &[],
        }
    }
}

/// What DNS said about a flow when it started ([`DestinationNamer::start`]).
#[derive(Clone, Debug)]
struct Pinned {
    /// The latest answer before the flow that resolved its server.
    dns: Option<DnsAttribution>,
    /// Every name that resolved the server before the flow.
    names: Vec<Arc<str>>,
}

/// The names that resolved a flow's server before it started, as answers or
/// as the names pinned when it started.
enum ResolvedAs<'a> {
    Answers(&'a [Resolution]),
    Names(&'a [Arc<str>]),
}

impl ResolvedAs<'_> {
    fn includes(&self, name: &str) -> bool {
        match self {
            ResolvedAs::Answers(rs) => rs.iter().any(|r| r.query.eq_ignore_ascii_case(name)),
            ResolvedAs::Names(ns) => ns.iter().any(|n| n.eq_ignore_ascii_case(name)),
        }
    }
}

fn attribution(r: &Resolution) -> DnsAttribution {
    DnsAttribution {
        query: r.query.to_string(),
        answer_ts: r.ts,
        answer_frame: r.frame,
        resolver: r.resolver,
    }
}

/// What a capture's events say directly about one flow.
#[derive(Clone, Debug, Default)]
struct Direct {
    sni: Option<(String, NameSource)>,
    host: Option<String>,
    /// What the server's leaf certificate says, when one was seen (boxed:
    /// most entries have none, and the map moves entries as it grows).
    cert: Option<Box<CertNames>>,
    /// Whether the flow carried TLS, QUIC or HTTP (so should have been
    /// resolved by name).
    named_protocol: bool,
}

/// What naming needs of a flow's server certificate: the name it gives
/// the flow, and whether it covers the flow's SNI. The SNI is nearly always
/// known when the certificate arrives (the ClientHello comes first, in the
/// same handshake), and then the answer is kept instead of the certificate:
/// copying every leaf certificate, with its list of names (a hundred on a
/// large CDN's), was a fifth of the namer's time.
#[derive(Clone, Debug)]
struct CertNames {
    /// The first DNS name, else the subject CN.
    name: Option<String>,
    covers_sni: SniCheck,
}

/// Whether a certificate covers the flow's SNI.
#[derive(Clone, Debug)]
enum SniCheck {
    /// Decided against the SNI known when the certificate came (the
    /// flow's first, which no later one replaces).
    Decided(bool),
    /// No SNI yet: the certificate, to decide once one comes.
    Pending(Box<Certificate>),
}

impl CertNames {
    fn of(cert: &Certificate, sni: Option<&str>) -> CertNames {
        CertNames {
            name: cert.san_dns.first().or(cert.subject_cn.as_ref()).cloned(),
            covers_sni: match sni {
                Some(sni) => SniCheck::Decided(cert.matches_name(sni)),
                None => SniCheck::Pending(Box::new(cert.clone())),
            },
        }
    }

    fn covers(&self, sni: &str) -> bool {
        match &self.covers_sni {
            SniCheck::Decided(covers) => *covers,
            SniCheck::Pending(cert) => cert.matches_name(sni),
        }
    }
}

/// Names the flows of one capture.
///
/// Priority: TLS or QUIC SNI, then HTTP Host (unless an address literal),
/// then the most recent DNS answer seen before the flow started that resolved
/// the server's address, then the server certificate. Built from a whole
/// capture's events after the fact, so the answer does not depend on the
/// order flows were processed in.
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
    direct: HashMap<FlowId, Direct>,
    /// What [`start`](Self::start) fixed about open flows.
    pinned: HashMap<FlowId, Pinned>,
    resolutions: Resolutions,
    /// Answers kept per address (unbounded for a whole capture's events).
    cap: usize,
    /// Addresses kept (unbounded for a whole capture's events).
    max_addrs: usize,
}

impl DestinationNamer {
    /// Indexes a capture's events; `flows` are the capture's flows (their
    /// servers are the resolvers of DNS answers).
    ///
    /// The same as [`without_answers`](Self::without_answers) given
    /// [`Resolutions::from_answers`] by [`with_answers`](Self::with_answers):
    /// the two halves read different events, so a caller with threads can
    /// build them side by side.
    pub fn new(events: &[AppEvent], flows: &[FlowInfo]) -> Self {
        DestinationNamer::without_answers(events)
            .with_answers(Resolutions::from_answers(events, flows))
    }

    /// What the events say about their own flows (TLS and QUIC SNI, HTTP
    /// Host, certificates): every event but the DNS answers, which
    /// [`Resolutions::from_answers`] reads.
    pub fn without_answers(events: &[AppEvent]) -> Self {
        let mut namer = DestinationNamer::empty();
        let own = |e: &&AppEvent| !is_dns(e);
        // Room for every flow the events can name, at once: growing the map
        // step by step moved each entry again and touched fresh pages, a
        // third of the namer's time.
        namer.direct.reserve(events.iter().filter(own).count());
        for ev in events.iter().filter(own) {
            namer.observe(ev, None);
        }
        namer
    }

    /// Adds what `other` learnt, for namers of disjoint flows (the shards
    /// of one capture) that keep every answer ([`empty`](Self::empty), not
    /// [`bounded`](Self::bounded): a bounded namer's caps and what it
    /// fixed at each flow's start are its own): its flows' SNI, Host and
    /// certificates, and its DNS answers. A flow both know keeps what this
    /// namer learnt.
    pub fn absorb(&mut self, other: DestinationNamer) {
        for (flow, d) in other.direct {
            self.direct.entry(flow).or_insert(d);
        }
        for (flow, p) in other.pinned {
            self.pinned.entry(flow).or_insert(p);
        }
        self.resolutions.merge(&other.resolutions);
    }

    /// This namer with `answers` as its DNS answers (those it had are
    /// dropped).
    pub fn with_answers(mut self, answers: Resolutions) -> Self {
        self.resolutions = answers;
        self
    }

    /// A namer that has seen nothing yet, to feed event by event with
    /// [`observe`](Self::observe). It keeps every DNS answer.
    pub fn empty() -> Self {
        DestinationNamer {
            direct: HashMap::default(),
            pinned: HashMap::default(),
            resolutions: Resolutions::default(),
            cap: usize::MAX,
            max_addrs: usize::MAX,
        }
    }

    /// As [`empty`](Self::empty), keeping at most
    /// [`MAX_RESOLUTIONS_PER_ADDRESS`] answers per address and answers for
    /// at most [`MAX_RESOLVED_ADDRESSES`] addresses, for captures
    /// streamed without end: a flow started long after many answers for its
    /// address is still named by the latest ones. Call
    /// [`start`](Self::start) as each flow starts, so a long flow is named
    /// by the answers before it, not by those still kept when it ends.
    pub fn bounded() -> Self {
        DestinationNamer {
            cap: MAX_RESOLUTIONS_PER_ADDRESS,
            max_addrs: MAX_RESOLVED_ADDRESSES,
            ..DestinationNamer::empty()
        }
    }

    /// Learns what one event says: a flow's SNI, Host or certificate, or
    /// the addresses a DNS answer resolved. `server` is the server address
    /// of the event's flow (for a DNS answer, the resolver).
    pub fn observe(&mut self, ev: &AppEvent, server: Option<IpAddr>) {
        match &ev.kind {
            AppEventKind::Tls(t) => {
                let d = self.direct.entry(ev.flow).or_default();
                d.named_protocol = true;
                // The SNI first: the certificate is then checked against
                // the flow's SNI, fixed by the first one seen.
                if let Some(sni) = t.sni().filter(|s| !s.is_empty()) {
                    d.sni
                        .get_or_insert_with(|| (sni.to_owned(), NameSource::TlsSni));
                }
                if let Some(leaf) = t.certificates.first()
                    && leaf.parse_error.is_none()
                    && d.cert.is_none()
                {
                    let sni = d.sni.as_ref().map(|(n, _)| n.as_str());
                    d.cert = Some(Box::new(CertNames::of(leaf, sni)));
                }
            }
            AppEventKind::Quic(q) => {
                let d = self.direct.entry(ev.flow).or_default();
                d.named_protocol = true;
                if let Some(sni) = q.sni().filter(|s| !s.is_empty()) {
                    d.sni
                        .get_or_insert_with(|| (sni.to_owned(), NameSource::QuicSni));
                }
            }
            AppEventKind::Http(h) => {
                let d = self.direct.entry(ev.flow).or_default();
                d.named_protocol = true;
                if let Some(host) = h.host.as_deref().map(|h| split_host_port(h).0)
                    && !host.is_empty()
                    && host.parse::<IpAddr>().is_err()
                {
                    d.host.get_or_insert_with(|| host.to_owned());
                }
            }
            AppEventKind::Dns(d) if d.message.response && d.flavor == DnsFlavor::Dns => {
                let resolver = server.unwrap_or(IpAddr::from([0, 0, 0, 0]));
                let Some((query, addrs)) = resolutions(&d.message) else {
                    return;
                };
                for addr in addrs {
                    self.resolutions.add(
                        addr,
                        Resolution {
                            ts: ev.ts,
                            frame: ev.frame,
                            query: Arc::clone(&query),
                            resolver,
                        },
                        self.cap,
                        self.max_addrs,
                    );
                }
            }
            _ => {}
        }
    }

    /// Drops what was learnt about one flow (its SNI, Host, certificate):
    /// a streaming caller calls this once the flow is named, so memory
    /// follows the open flows, not all flows seen.
    pub fn forget(&mut self, flow: FlowId) {
        self.direct.remove(&flow);
        self.pinned.remove(&flow);
    }

    /// For a namer fed as a capture is read: fixes what DNS says about a
    /// flow that starts now, at `start` (its first packet), from the
    /// answers seen so far, which are all the answers before it when the
    /// capture is in time order. [`name`](Self::name) then uses them, so a
    /// [`bounded`](Self::bounded) namer need keep only the latest answers
    /// per address, however long the flow lasts and however often its
    /// address is answered meanwhile. Forgotten with [`forget`](Self::forget).
    pub fn start(&mut self, flow: &FlowInfo, start: Timestamp) {
        let addr = flow.server.ip();
        let at = (start, flow.id.0);
        let earlier = self.resolutions.before(addr, at);
        let Some(last) = earlier.last() else {
            return;
        };
        let names = match self.resolutions.names.get(&addr) {
            Some(names) => names
                .iter()
                .filter(|(_, first)| *first < at)
                .map(|(n, _)| Arc::clone(n))
                .collect(),
            None => {
                let mut names: Vec<Arc<str>> = Vec::new();
                for r in earlier {
                    if !names.iter().any(|n| n.eq_ignore_ascii_case(&r.query)) {
                        names.push(Arc::clone(&r.query));
                    }
                }
                names
            }
        };
        let dns = Some(attribution(last));
        self.pinned.insert(flow.id, Pinned { dns, names });
    }

    /// The DNS answers of this capture, to share across a batch.
    pub fn resolutions(&self) -> &Resolutions {
        &self.resolutions
    }

    /// The name of a flow that started at `start`, from this capture's DNS.
    pub fn name(&self, flow: &FlowInfo, start: Timestamp) -> ServerName {
        self.name_with(flow, start, &self.resolutions)
    }

    /// The name of a flow, with DNS answers from `resolutions` (for a batch
    /// that shares them).
    pub fn name_with(
        &self,
        flow: &FlowInfo,
        start: Timestamp,
        resolutions: &Resolutions,
    ) -> ServerName {
        let direct = self.direct.get(&flow.id);
        let (dns, resolved_as) = match self.pinned.get(&flow.id) {
            Some(p) => (p.dns.clone(), ResolvedAs::Names(&p.names)),
            None => {
                let earlier = resolutions.before(flow.server.ip(), (start, flow.id.0));
                (
                    earlier.last().map(attribution),
                    ResolvedAs::Answers(earlier),
                )
            }
        };
        let cert = direct.and_then(|d| d.cert.as_ref());
        let cert_name = cert.and_then(|c| c.name.as_ref());
        let (name, source) = match direct {
            Some(Direct {
                sni: Some((n, s)), ..
            }) => (Some(n.clone()), *s),
            Some(Direct { host: Some(h), .. }) => (Some(h.clone()), NameSource::HttpHost),
            _ => match (&dns, cert_name) {
                (Some(d), _) => (Some(d.query.clone()), NameSource::Dns),
                (None, Some(c)) => (Some(c.clone()), NameSource::Cert),
                (None, None) => (None, NameSource::None),
            },
        };
        let sni = direct.and_then(|d| d.sni.as_ref()).map(|(n, _)| n.as_str());
        let flags = NameFlags {
            sni_not_in_dns: sni.is_some_and(|sni| dns.is_some() && !resolved_as.includes(sni)),
            sni_not_in_cert: match (sni, cert) {
                (Some(sni), Some(c)) => !c.covers(sni),
                _ => false,
            },
            not_resolved: direct.is_some_and(|d| d.named_protocol) && dns.is_none(),
        };
        ServerName {
            name,
            source,
            dns,
            flags,
        }
    }
}

/// Addresses a DNS response resolves, each with the name the client asked
/// for: CNAME chains are followed back from the address record to the
/// question, so `api.example.com CNAME edge.cdn.net A 1.2.3.4` names 1.2.3.4
/// `api.example.com`.
fn resolutions(m: &Message) -> Option<(Arc<str>, Vec<IpAddr>)> {
    let question = m.questions.first()?;
    // Names on the CNAME chain from the question; only their address
    // records count, so a stray or injected record does not name an address.
    // Compared without case and without lower-cased copies: this ran for
    // every record of every answer, an allocation each time.
    let on_chain = |chain: &[&str], name: &str| chain.iter().any(|c| c.eq_ignore_ascii_case(name));
    let mut chain: Vec<&str> = vec![&question.name];
    for _ in 0..16 {
        let before = chain.len();
        for a in &m.answers {
            if let RData::Cname(target) = &a.data
                && on_chain(&chain, &a.name)
                && !on_chain(&chain, target)
            {
                chain.push(target);
            }
        }
        if chain.len() == before {
            break;
        }
    }
    let addrs: Vec<IpAddr> = m
        .answers
        .iter()
        .filter(|a| on_chain(&chain, &a.name))
        .filter_map(|a| match a.data {
            RData::A(v4) => Some(IpAddr::V4(v4)),
            RData::Aaaa(v6) => Some(IpAddr::V6(v6)),
            _ => None,
        })
        .collect();
    // One shared copy of the name for all the addresses it resolved.
    (!addrs.is_empty()).then(|| (Arc::from(question.name.as_str()), addrs))
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
        // The question is the first answer's owner.
        name(&mut m, answers[0].0);
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
            certificates: Vec::new(),
        })
    }

    /// The CNAME chain is followed without regard to ASCII case, loops and
    /// stray records change nothing, and every address is named by the
    /// question as asked.
    #[test]
    fn resolutions_follow_the_chain_in_any_case() {
        let AppEventKind::Dns(d) = dns_response(&[
            ("Api.Example.com", 5, "edge.CDN.net"),
            ("stray.example", 1, "6.6.6.6"),
            ("EDGE.cdn.NET", 5, "e1.cdn.net"),
            ("e1.cdn.net", 5, "api.example.com"),
            ("E1.CDN.NET", 1, "192.0.2.7"),
            ("e1.cdn.net", 28, "2001:db8::7"),
            ("other.cdn.net", 1, "192.0.2.8"),
        ]) else {
            unreachable!()
        };
        let (query, addrs) = resolutions(&d.message).unwrap();
        assert_eq!(&*query, "Api.Example.com");
        assert_eq!(
            addrs,
            [
                "192.0.2.7".parse::<IpAddr>().unwrap(),
                "2001:db8::7".parse().unwrap()
            ]
        );
        // A chain that never reaches an address names nothing.
        let AppEventKind::Dns(d) = dns_response(&[("a.example", 5, "b.example")]) else {
            unreachable!()
        };
        assert!(resolutions(&d.message).is_none());
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
        // The SNI flow's address was resolved for another name: flagged.
        let n = namer.name(&flows[1], t);
        assert!(n.flags.sni_not_in_dns);
        assert!(!n.flags.not_resolved);
        // The HTTP flow to a literal address was never named, but resolved.
        assert!(!namer.name(&flows[4], t).flags.not_resolved);
        // Built in halves (as `new` does), the namer names every flow as
        // one fed every event in turn does.
        let mut one_pass = DestinationNamer::empty();
        for ev in &events {
            let server = flows
                .iter()
                .find(|f| f.id == ev.flow)
                .map(|f| f.server.ip());
            one_pass.observe(ev, server);
        }
        for f in &flows {
            for t in [5, 20, 40].map(Timestamp::from_nanos) {
                assert_eq!(namer.name(f, t), one_pass.name(f, t));
            }
        }
        let no_dns = DestinationNamer::without_answers(&events);
        assert_eq!(no_dns.name(&flows[3], t).source, NameSource::None);
        let unresolved = info(9, "198.51.100.7:443");
        let namer = DestinationNamer::new(&[ev(9, 30, tls("x.example"))], &[unresolved]);
        assert!(namer.name(&unresolved, t).flags.not_resolved);
    }

    /// A capture's flows split into parts (as shards split them), each
    /// part's namer built from its own events and answers, then absorbed
    /// into one: every flow is named as by the namer of the whole.
    #[test]
    fn parts_absorbed_name_as_the_whole() {
        let events = vec![
            ev(1, 10, dns_response(&[("a.example", 1, "203.0.113.5")])),
            ev(2, 12, dns_response(&[("b.example", 1, "203.0.113.5")])),
            ev(2, 14, dns_response(&[("c.example", 1, "203.0.113.6")])),
            ev(3, 20, tls("sni.example")),
            ev(4, 22, tls("other.example")),
            ev(1, 25, dns_response(&[("d.example", 1, "203.0.113.6")])),
        ];
        let flows = [
            info(1, "192.168.1.1:53"),
            info(2, "192.168.1.2:53"),
            info(3, "203.0.113.5:443"),
            info(4, "203.0.113.6:443"),
            info(5, "203.0.113.5:80"),
            info(6, "203.0.113.6:80"),
        ];
        let whole = DestinationNamer::new(&events, &flows);
        let part = |ids: &[u64]| {
            let evs: Vec<AppEvent> = events
                .iter()
                .filter(|e| ids.contains(&e.flow.0))
                .cloned()
                .collect();
            let infos: Vec<FlowInfo> = flows
                .iter()
                .filter(|f| ids.contains(&f.id.0))
                .copied()
                .collect();
            DestinationNamer::without_answers(&evs)
                .with_answers(Resolutions::from_dns_events(&evs, &infos))
        };
        let mut merged = part(&[1, 3, 5]);
        merged.absorb(part(&[2, 4, 6]));
        assert_eq!(merged.resolutions().len(), whole.resolutions().len());
        for f in &flows {
            for t in [5, 11, 13, 21, 30].map(Timestamp::from_nanos) {
                assert_eq!(merged.name(f, t), whole.name(f, t), "{f:?} at {t:?}");
            }
        }
        // The answers from both parts name the flows: the latest before 13
        // came from the second part's resolver.
        let n = merged.name(&flows[4], Timestamp::from_nanos(13));
        assert_eq!(n.name.as_deref(), Some("b.example"));
        assert_eq!(n.dns.unwrap().resolver.to_string(), "192.168.1.2");
    }

    /// A bounded namer keeps answers for the addresses answered last: the
    /// oldest is forgotten first, one answered again is kept.
    #[test]
    fn bounded_namer_forgets_the_least_recently_answered_address() {
        let mut namer = DestinationNamer::bounded();
        let resolver = Some("9.9.9.9".parse().unwrap());
        let addr = |i: usize| std::net::Ipv4Addr::from(0x0a00_0000 + i as u32).to_string();
        let n = MAX_RESOLVED_ADDRESSES + 10;
        for i in 0..n {
            let name = format!("host{i}.example");
            let e = ev(1, i as i64 * 10, dns_response(&[(&name, 1, &addr(i))]));
            namer.observe(&e, resolver);
            if i == n - 5 {
                // The first address, answered again late: kept.
                let again = ev(
                    1,
                    i as i64 * 10 + 1,
                    dns_response(&[("host0.example", 1, &addr(0))]),
                );
                namer.observe(&again, resolver);
            }
        }
        assert_eq!(namer.resolutions().by_addr.len(), MAX_RESOLVED_ADDRESSES);
        let late = Timestamp::from_nanos(n as i64 * 10);
        let name = |i: usize| {
            let f = info(9, &format!("{}:443", addr(i)));
            namer.name(&f, late).name
        };
        assert_eq!(name(0).as_deref(), Some("host0.example"));
        assert_eq!(name(1), None, "forgotten");
        assert_eq!(
            name(n - 1).as_deref(),
            Some(format!("host{}.example", n - 1).as_str())
        );
        assert!(namer.resolutions().answered.len() < 2 * MAX_RESOLVED_ADDRESSES);
    }

    /// Addresses answered over and over leave stale entries in the queue
    /// of last answers; they are cleared before its buffer outgrows twice
    /// the cap, however many answers come.
    #[test]
    fn the_queue_of_last_answers_stays_within_twice_the_cap() {
        let mut namer = DestinationNamer::bounded();
        let resolver = Some("9.9.9.9".parse().unwrap());
        let addrs: Vec<String> = (0..100u32)
            .map(|i| std::net::Ipv4Addr::from(0x0a00_0000 + i).to_string())
            .collect();
        for i in 0..5 * MAX_RESOLVED_ADDRESSES {
            let a = &addrs[i % addrs.len()];
            namer.observe(
                &ev(1, i as i64, dns_response(&[("cdn.example", 1, a)])),
                resolver,
            );
        }
        let r = namer.resolutions();
        assert_eq!(r.by_addr.len(), addrs.len());
        assert!(
            r.answered.len() < 2 * MAX_RESOLVED_ADDRESSES,
            "{}",
            r.answered.len()
        );
        assert!(
            r.answered.capacity() <= 2 * MAX_RESOLVED_ADDRESSES,
            "{}",
            r.answered.capacity()
        );
        // Every address is still named by its latest answer.
        let late = Timestamp::from_nanos(10 * MAX_RESOLVED_ADDRESSES as i64);
        for a in &addrs {
            let f = info(9, &format!("{a}:443"));
            assert_eq!(namer.name(&f, late).name.as_deref(), Some("cdn.example"));
        }
    }

    /// A bounded namer keeps a few answers per address, so it fixes a flow's
    /// DNS when the flow starts: a long flow whose address is answered many
    /// times meanwhile (a CDN address, for other names) is still named by
    /// the answer before it, and its SNI checked against every name that
    /// resolved the address before it, as a namer that kept everything does.
    #[test]
    fn bounded_namer_pins_a_flow_at_its_start() {
        let resolver = Some("9.9.9.9".parse().unwrap());
        let mut events = vec![
            ev(1, 10, dns_response(&[("api.example", 1, "203.0.113.7")])),
            ev(2, 20, dns_response(&[("cdn.example", 1, "203.0.113.7")])),
        ];
        let flow = info(100, "203.0.113.7:443");
        let start = Timestamp::from_nanos(30);
        // After the flow started: many answers for the same address.
        let later = 2 * MAX_RESOLUTIONS_PER_ADDRESS + 2 * MAX_NAMES_PER_ADDRESS;
        for i in 0..later {
            let name = format!("other{}.example", i % (MAX_NAMES_PER_ADDRESS + 5));
            events.push(ev(
                3,
                40 + i as i64,
                dns_response(&[(&name, 1, "203.0.113.7")]),
            ));
        }
        events.push(ev(100, 5_000, tls("api.example")));

        let mut bounded = DestinationNamer::bounded();
        for (i, e) in events.iter().enumerate() {
            if i == 2 {
                bounded.start(&flow, start);
            }
            bounded.observe(e, resolver);
        }
        let resolvers: Vec<FlowInfo> = (1..=3).map(|i| info(i, "9.9.9.9:53")).collect();
        let whole = DestinationNamer::new(&events, &resolvers);
        let a = bounded.name(&flow, start);
        let b = whole.name(&flow, start);
        assert_eq!(a, b);
        let dns = a.dns.expect("named by DNS");
        assert_eq!((dns.query.as_str(), dns.answer_frame), ("cdn.example", 2));
        assert!(!a.flags.sni_not_in_dns, "api.example resolved it before");
        assert!(
            bounded
                .resolutions()
                .by_addr
                .values()
                .all(|l| l.len() <= MAX_RESOLUTIONS_PER_ADDRESS)
                && bounded
                    .resolutions()
                    .names
                    .values()
                    .all(|n| n.len() <= MAX_NAMES_PER_ADDRESS)
        );
        // Forgotten with the flow.
        bounded.forget(flow.id);
        assert!(bounded.pinned.is_empty());
    }

    /// Without [`DestinationNamer::start`] a bounded namer names from what
    /// it kept: the latest answers only.
    #[test]
    fn an_unpinned_flow_is_named_from_the_answers_kept() {
        let resolver = Some("9.9.9.9".parse().unwrap());
        let mut namer = DestinationNamer::bounded();
        namer.observe(
            &ev(1, 10, dns_response(&[("a.example", 1, "203.0.113.8")])),
            resolver,
        );
        namer.observe(
            &ev(2, 20, dns_response(&[("b.example", 1, "203.0.113.8")])),
            resolver,
        );
        let flow = info(100, "203.0.113.8:443");
        let n = namer.name(&flow, Timestamp::from_nanos(15));
        assert_eq!(n.name.as_deref(), Some("a.example"));
        let n = namer.name(&flow, Timestamp::from_nanos(25));
        assert_eq!(n.name.as_deref(), Some("b.example"));
    }

    #[test]
    fn most_recent_answer_wins_and_cname_loops_end() {
        let events = vec![
            ev(1, 10, dns_response(&[("old.example", 1, "10.1.1.1")])),
            ev(
                2,
                20,
                dns_response(&[
                    ("new.example", 5, "x.example"),
                    ("x.example", 5, "y.example"),
                    ("y.example", 5, "x.example"),
                    ("y.example", 1, "10.1.1.1"),
                ]),
            ),
            // A record off the chain from the question names nothing.
            ev(
                3,
                22,
                dns_response(&[
                    ("asked.example", 1, "10.9.9.9"),
                    ("stray.example", 1, "10.1.1.1"),
                ]),
            ),
        ];
        let namer = DestinationNamer::new(
            &events,
            &[
                info(1, "9.9.9.9:53"),
                info(2, "9.9.9.9:53"),
                info(3, "9.9.9.9:53"),
            ],
        );
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

#[cfg(test)]
mod more_tests {
    use super::*;

    #[test]
    fn certificate_names_flow_without_sni_and_flags_mismatch() {
        use telltale_proto::{TlsHandshake, tls::ClientHello};
        let flow = FlowInfo {
            id: FlowId(3),
            proto: telltale_flow::Proto::Tcp,
            client: "10.0.0.2:40000".parse().unwrap(),
            server: "203.0.113.5:443".parse().unwrap(),
        };
        let leaf = Certificate {
            san_dns: vec!["*.cdn.example".into()],
            ..Default::default()
        };
        let tls = |sni: Option<&str>| AppEvent {
            flow: FlowId(3),
            ts: Timestamp::from_nanos(1),
            frame: 4,
            kind: AppEventKind::Tls(TlsHandshake {
                client: Some(ClientHello {
                    sni: sni.map(str::to_owned),
                    ..Default::default()
                }),
                server: None,
                certificates: vec![leaf.clone()],
            }),
        };
        let namer = DestinationNamer::new(&[tls(None)], &[flow]);
        let n = namer.name(&flow, Timestamp::from_nanos(1));
        assert_eq!(
            (n.name.as_deref(), n.source),
            (Some("*.cdn.example"), NameSource::Cert)
        );
        let namer = DestinationNamer::new(&[tls(Some("a.cdn.example"))], &[flow]);
        assert!(
            !namer
                .name(&flow, Timestamp::from_nanos(1))
                .flags
                .sni_not_in_cert
        );
        let namer = DestinationNamer::new(&[tls(Some("evil.example"))], &[flow]);
        assert!(
            namer
                .name(&flow, Timestamp::from_nanos(1))
                .flags
                .sni_not_in_cert
        );
        // The certificate before any SNI (kept whole until one comes), or
        // after a first SNI that a later one does not replace: the flag
        // judges the flow's first SNI either way, and the name stays the SNI.
        let sni_only = |sni: &str| {
            let mut e = tls(Some(sni));
            if let AppEventKind::Tls(t) = &mut e.kind {
                t.certificates.clear();
            }
            e
        };
        for (events, flagged) in [
            (vec![tls(None), sni_only("evil.example")], true),
            (vec![tls(None), sni_only("a.cdn.example")], false),
            (
                vec![tls(Some("a.cdn.example")), sni_only("evil.example")],
                false,
            ),
            (
                vec![sni_only("evil.example"), tls(Some("a.cdn.example"))],
                true,
            ),
        ] {
            let n = DestinationNamer::new(&events, &[flow]).name(&flow, Timestamp::from_nanos(1));
            assert_eq!(n.flags.sni_not_in_cert, flagged, "{events:?}");
            assert_eq!(n.source, NameSource::TlsSni);
        }
    }

    #[test]
    fn batch_scope_shares_answers() {
        let mut shared = Resolutions::default();
        let mut a = Resolutions::default();
        a.by_addr.insert(
            "203.0.113.5".parse().unwrap(),
            vec![Resolution {
                ts: Timestamp::from_nanos(1),
                frame: 2,
                query: "other-file.example".into(),
                resolver: "10.0.0.1".parse().unwrap(),
            }],
        );
        shared.merge(&a);
        shared.merge(&a);
        assert_eq!(shared.len(), 1);
        let flow = FlowInfo {
            id: FlowId(3),
            proto: telltale_flow::Proto::Tcp,
            client: "10.0.0.2:40000".parse().unwrap(),
            server: "203.0.113.5:443".parse().unwrap(),
        };
        let namer = DestinationNamer::new(&[], &[flow]);
        assert_eq!(
            namer.name(&flow, Timestamp::from_nanos(5)).source,
            NameSource::None
        );
        let n = namer.name_with(&flow, Timestamp::from_nanos(5), &shared);
        assert_eq!(n.name.as_deref(), Some("other-file.example"));
    }
}
