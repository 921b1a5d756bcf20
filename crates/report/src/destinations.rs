//! The destinations view: one entry per name a capture's flows went to.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};
use std::net::IpAddr;

use telltale_decode::Timestamp;
use telltale_detect::{Confidence, registrable_domain};

use crate::csv_out::cell;
use crate::model::{FlowRecord, Report};
use telltale_detect::Finding;

/// Everything the flows to one destination add up to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Destination {
    /// The server name (lower-cased), or the address for flows with no name.
    pub name: String,
    /// Whether `name` is a name (true) or an address (false).
    pub named: bool,
    /// Registrable domain of the name (Public Suffix List, ICANN section).
    pub registrable_domain: Option<String>,
    /// How the flows were named (`tls_sni`, `dns`, ...).
    pub sources: BTreeSet<&'static str>,
    /// Server addresses.
    pub addresses: BTreeSet<IpAddr>,
    /// Countries of the server addresses (ISO codes), as the GeoIP
    /// databases say.
    pub countries: BTreeSet<String>,
    /// Networks of the server addresses: AS number and organisation.
    pub networks: BTreeSet<(u32, String)>,
    /// Server ports with transport, e.g. `443/tcp`.
    pub ports: BTreeSet<String>,
    /// Application protocols seen.
    pub app_protos: BTreeSet<&'static str>,
    /// Kinds of device identifiers its flows carried (medium confidence and
    /// above: a bare number that merely looks like an IMEI is left to the
    /// identifiers output).
    pub identifier_kinds: BTreeSet<&'static str>,
    /// How many such identifier findings.
    pub identifiers: u64,
    /// Flows.
    pub flows: u64,
    /// Bytes client to server.
    pub bytes_toserver: u64,
    /// Bytes server to client.
    pub bytes_toclient: u64,
    /// First packet of the first flow.
    pub first_seen: Timestamp,
    /// Last packet of the last flow.
    pub last_seen: Timestamp,
}

impl Destination {
    /// The organisations of its networks, without repeats, in AS order.
    pub fn organisations(&self) -> Vec<&str> {
        let mut v: Vec<&str> = Vec::new();
        for (_, org) in &self.networks {
            if !org.is_empty() && !v.contains(&org.as_str()) {
                v.push(org);
            }
        }
        v
    }
}

/// Groups every flow of every capture by destination; busiest first (bytes
/// both ways), then by name, so the order is stable.
pub fn destinations(report: &Report) -> Vec<Destination> {
    let all: Vec<usize> = (0..report.captures.len()).collect();
    destinations_of(report, &all)
}

/// As [`destinations`], over the captures at the given indexes only (a
/// section of a batch report).
pub fn destinations_of(report: &Report, captures: &[usize]) -> Vec<Destination> {
    let mut tally = DestinationTally::default();
    for c in captures.iter().filter_map(|&i| report.captures.get(i)) {
        let by_flow = c.identifiers_by_flow();
        for f in &c.flows {
            tally.add(f, by_flow.get(f.summary.info.id));
        }
    }
    tally.into_rows()
}

/// Destinations added up flow by flow, for writers that do not hold the
/// flows (`telltale::Analyzer::analyze_destinations`): memory follows the
/// number of destinations, not of flows. The rows are those of
/// [`destinations`] whatever order the flows come in, and however they are
/// split into tallies that are then merged (tested against the collected
/// report in `telltale`'s `tests/sorted.rs`). The use:
///
/// ```
/// use telltale_report::{Destination, DestinationTally, FlowRecord};
/// use telltale_detect::Finding;
/// /// Each flow as it ends, with the findings in it.
/// fn rows<'a>(ended: impl Iterator<Item = (&'a FlowRecord, &'a [Finding])>) -> Vec<Destination> {
///     let mut tally = DestinationTally::default();
///     for (flow, findings) in ended {
///         tally.add(flow, findings);
///     }
///     tally.into_rows()
/// }
/// ```
#[derive(Clone, Debug, Default)]
pub struct DestinationTally {
    map: BTreeMap<String, Destination>,
}

/// What a destination's row needs of one flow's identifier findings: the
/// kinds and number of those of medium confidence or more. A streaming
/// caller keeps this per open flow instead of the findings, so a flow that
/// leaks on every message for days costs a few bytes, not a finding each.
/// [`DestinationTally::add`] counts through it, so the rows are the same.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FlowFindings {
    kinds: BTreeSet<&'static str>,
    count: u64,
}

impl FlowFindings {
    /// Counts one finding (those under medium confidence are not counted).
    pub fn add(&mut self, i: &Finding) {
        if i.confidence >= Confidence::Medium {
            self.kinds.insert(i.kind.as_str());
            self.count += 1;
        }
    }

    /// Findings counted.
    pub fn count(&self) -> u64 {
        self.count
    }
}

impl DestinationTally {
    /// Adds one flow and the identifier findings in it.
    pub fn add<'a>(&mut self, f: &FlowRecord, identifiers: impl IntoIterator<Item = &'a Finding>) {
        let mut found = FlowFindings::default();
        identifiers.into_iter().for_each(|i| found.add(i));
        self.add_counted(f, &found);
    }

    /// As [`add`](Self::add), with the flow's findings already counted.
    pub fn add_counted(&mut self, f: &FlowRecord, found: &FlowFindings) {
        let s = &f.summary;
        let (key, named) = match &f.server_name.name {
            Some(n) => (n.to_ascii_lowercase(), true),
            None => (s.info.server.ip().to_string(), false),
        };
        let d = self.map.entry(key.clone()).or_insert_with(|| Destination {
            registrable_domain: if named {
                registrable_domain(&key)
            } else {
                None
            },
            name: key,
            named,
            sources: BTreeSet::new(),
            addresses: BTreeSet::new(),
            countries: BTreeSet::new(),
            networks: BTreeSet::new(),
            ports: BTreeSet::new(),
            app_protos: BTreeSet::new(),
            identifier_kinds: BTreeSet::new(),
            identifiers: 0,
            flows: 0,
            bytes_toserver: 0,
            bytes_toclient: 0,
            first_seen: s.first_ts,
            last_seen: s.last_ts,
        });
        d.sources.insert(f.server_name.source.as_str());
        d.addresses.insert(s.info.server.ip());
        if let Some(g) = f.server_location.geo.as_deref() {
            if let Some(cc) = &g.country_code {
                d.countries.insert(cc.clone());
            }
            if g.asn.is_some() || g.as_org.is_some() {
                d.networks
                    .insert((g.asn.unwrap_or(0), g.as_org.clone().unwrap_or_default()));
            }
        }
        d.ports.insert(format!(
            "{}/{}",
            s.info.server.port(),
            s.info.proto.as_str().to_ascii_lowercase()
        ));
        d.app_protos.insert(f.app_proto.as_str());
        d.identifier_kinds.extend(&found.kinds);
        d.identifiers += found.count;
        d.flows += 1;
        d.bytes_toserver += s.to_server.bytes;
        d.bytes_toclient += s.to_client.bytes;
        d.first_seen = d.first_seen.min(s.first_ts);
        d.last_seen = d.last_seen.max(s.last_ts);
    }

    /// Adds another tally (of other flows: another shard or capture).
    pub fn merge(&mut self, other: DestinationTally) {
        for (key, o) in other.map {
            let Some(d) = self.map.get_mut(&key) else {
                self.map.insert(key, o);
                continue;
            };
            d.sources.extend(o.sources);
            d.addresses.extend(o.addresses);
            d.countries.extend(o.countries);
            d.networks.extend(o.networks);
            d.ports.extend(o.ports);
            d.app_protos.extend(o.app_protos);
            d.identifier_kinds.extend(o.identifier_kinds);
            d.identifiers += o.identifiers;
            d.flows += o.flows;
            d.bytes_toserver += o.bytes_toserver;
            d.bytes_toclient += o.bytes_toclient;
            d.first_seen = d.first_seen.min(o.first_seen);
            d.last_seen = d.last_seen.max(o.last_seen);
        }
    }

    /// Destinations counted so far.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when no flow was added.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The rows: busiest first (bytes both ways), then by name.
    pub fn into_rows(self) -> Vec<Destination> {
        let mut v: Vec<Destination> = self.map.into_values().collect();
        v.sort_by(|a, b| {
            (b.bytes_toserver + b.bytes_toclient)
                .cmp(&(a.bytes_toserver + a.bytes_toclient))
                .then_with(|| a.name.cmp(&b.name))
        });
        v
    }
}

/// Columns of the destinations CSV, in order (documented in `docs/OUTPUT.md`).
pub const DESTINATION_COLUMNS: &[&str] = &[
    "destination",
    "registrable_domain",
    "named_by",
    "addresses",
    "countries",
    "asns",
    "organisations",
    "ports",
    "app_protos",
    "identifier_kinds",
    "identifiers",
    "flows",
    "bytes_toserver",
    "bytes_toclient",
    "first_seen",
    "last_seen",
];

/// Writes one row per destination; list cells are joined with spaces.
pub fn write_destinations_csv(report: &Report, out: impl Write) -> io::Result<()> {
    write_destination_rows_csv(&destinations(report), out)
}

/// As [`write_destinations_csv`], for rows already added up (by a
/// [`DestinationTally`]).
pub fn write_destination_rows_csv(rows: &[Destination], out: impl Write) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(DESTINATION_COLUMNS)?;
    for d in rows {
        let join = |it: &mut dyn Iterator<Item = String>| it.collect::<Vec<_>>().join(" ");
        w.write_record([
            cell(&d.name),
            cell(d.registrable_domain.as_deref().unwrap_or_default()),
            join(&mut d.sources.iter().map(|s| s.to_string())),
            join(&mut d.addresses.iter().map(|a| a.to_string())),
            join(&mut d.countries.iter().cloned()),
            join(&mut d.networks.iter().map(|(a, _)| a.to_string())),
            // Organisation names hold spaces and commas: "; " between them.
            cell(&d.organisations().join("; ")),
            join(&mut d.ports.iter().cloned()),
            join(&mut d.app_protos.iter().map(|s| s.to_string())),
            join(&mut d.identifier_kinds.iter().map(|s| s.to_string())),
            d.identifiers.to_string(),
            d.flows.to_string(),
            d.bytes_toserver.to_string(),
            d.bytes_toclient.to_string(),
            d.first_seen.to_rfc3339_micros(),
            d.last_seen.to_rfc3339_micros(),
        ])?;
    }
    w.flush()
}
