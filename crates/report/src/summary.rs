//! What a reader needs first, computed once for every writer of a batch
//! report: which identifiers left the device and to whom (the headline),
//! destinations by country and by organisation, and how captures group into
//! sections.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use telltale_decode::Timestamp;
use telltale_detect::{Confidence, registrable_domain};
use telltale_proto::AppProto;

use crate::destinations::destinations_of;
use crate::model::{FlowRecord, Report};

/// How an identifier travelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Wire {
    /// Readable by anyone on the path: plain HTTP, DNS, the SNI of a TLS or
    /// QUIC hello, an unknown protocol's bytes.
    Cleartext,
    /// Inside TLS, read only because session keys were given.
    Decrypted,
}

impl Wire {
    /// The value written in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Wire::Cleartext => "cleartext",
            Wire::Decrypted => "encrypted (decrypted with keys)",
        }
    }

    /// How the identifier found at `location` in `flow` travelled.
    pub fn of(flow: &FlowRecord, location: &str) -> Wire {
        let tunnel = matches!(flow.app_proto, AppProto::Tls | AppProto::Quic);
        let hello = location.starts_with("tls.") || location.starts_with("quic.");
        if tunnel && !hello {
            Wire::Decrypted
        } else {
            Wire::Cleartext
        }
    }
}

/// Where in the report a piece of evidence is: the capture (index into
/// [`Report::captures`]) and the packet number inside it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Evidence {
    /// Index of the capture in [`Report::captures`].
    pub capture: usize,
    /// Packet number (1-based, as Wireshark counts).
    pub frame: u64,
}

/// One headline row: an identifier kind that reached a destination.
#[derive(Clone, Debug, PartialEq)]
pub struct Exposure {
    /// Identifier kind (`imei`, `phone`, ...); `phone (contact)` for numbers
    /// from the device's address book.
    pub kind: &'static str,
    /// Server name, or the address for flows with no name.
    pub destination: String,
    /// Whether `destination` is a name.
    pub named: bool,
    /// Registrable domain of the name.
    pub registrable_domain: Option<String>,
    /// Organisation running the server's network (the first address's).
    pub organisation: Option<String>,
    /// AS number of that network.
    pub asn: Option<u32>,
    /// Country code of the server (the first address's).
    pub country_code: Option<String>,
    /// Country name.
    pub country_name: Option<String>,
    /// First time it was sent.
    pub first_seen: Timestamp,
    /// Last time it was sent.
    pub last_seen: Timestamp,
    /// How it travelled; both when it was seen both ways.
    pub wire: BTreeSet<Wire>,
    /// How many findings.
    pub count: u64,
    /// Packet numbers of the findings, in order (all of them).
    pub evidence: Vec<Evidence>,
    /// The values sent (pseudonyms when the report is redacted).
    pub values: BTreeSet<String>,
    /// Encodings they were sent in (`plain`, `base64`, `md5`, ...).
    pub encodings: BTreeSet<&'static str>,
    /// Where in the messages (`http.url.query:imei`, ...).
    pub locations: BTreeSet<String>,
    /// The strongest confidence among the findings.
    pub confidence: Confidence,
}

/// The headline: every (identifier kind, destination) pair among the given
/// captures' findings at `min` confidence or above, most sensitive kinds
/// and most frequent first. Order is deterministic.
pub fn exposures(report: &Report, captures: &[usize], min: Confidence) -> Vec<Exposure> {
    let mut map: BTreeMap<(&'static str, String), Exposure> = BTreeMap::new();
    for &ci in captures {
        let Some(c) = report.captures.get(ci) else {
            continue;
        };
        for i in &c.identifiers {
            if i.confidence < min {
                continue;
            }
            let Some(flow) = c.flow(i.flow) else { continue };
            let (destination, named) = match &flow.server_name.name {
                Some(n) => (n.to_ascii_lowercase(), true),
                None => (flow.summary.info.server.ip().to_string(), false),
            };
            let geo = flow.server_location.geo.as_deref();
            let kind = headline_kind(i);
            let e = map
                .entry((kind, destination.clone()))
                .or_insert_with(|| Exposure {
                    kind,
                    registrable_domain: if named {
                        registrable_domain(&destination)
                    } else {
                        None
                    },
                    destination,
                    named,
                    organisation: geo.and_then(|g| g.as_org.clone()),
                    asn: geo.and_then(|g| g.asn),
                    country_code: geo.and_then(|g| g.country_code.clone()),
                    country_name: geo.and_then(|g| g.country_name.clone()),
                    first_seen: i.ts,
                    last_seen: i.ts,
                    wire: BTreeSet::new(),
                    count: 0,
                    evidence: Vec::new(),
                    values: BTreeSet::new(),
                    encodings: BTreeSet::new(),
                    locations: BTreeSet::new(),
                    confidence: i.confidence,
                });
            e.first_seen = e.first_seen.min(i.ts);
            e.last_seen = e.last_seen.max(i.ts);
            e.wire.insert(Wire::of(flow, &i.location));
            e.count += 1;
            e.evidence.push(Evidence {
                capture: ci,
                frame: i.frame,
            });
            e.values.insert(i.value.clone());
            e.encodings.insert(i.encoding.as_str());
            e.locations.insert(i.location.clone());
            e.confidence = e.confidence.max(i.confidence);
        }
    }
    let mut v: Vec<Exposure> = map.into_values().collect();
    for e in &mut v {
        e.evidence.sort_unstable();
        e.evidence.dedup();
    }
    v.sort_by(|a, b| {
        kind_rank(a.kind)
            .cmp(&kind_rank(b.kind))
            .then_with(|| b.count.cmp(&a.count))
            .then_with(|| a.destination.cmp(&b.destination))
            .then_with(|| a.kind.cmp(b.kind))
    });
    v
}

/// The kind as the headline shows it: numbers from the address book are
/// a different story from the device's own number (the 2014 case was
/// both), so they get their own rows.
fn headline_kind(f: &telltale_detect::Finding) -> &'static str {
    let contact = f.note.is_some_and(|n| n.contains("contact"));
    if f.kind.as_str() == "phone" && contact {
        "phone (contact)"
    } else {
        f.kind.as_str()
    }
}

/// Kinds that identify a person or a handset for life first.
fn kind_rank(kind: &str) -> u8 {
    match kind {
        "imei" | "imsi" | "iccid" | "phone" | "phone (contact)" | "serial" => 0,
        "email" | "gps" | "mac" | "android_id" | "advertising_id" => 1,
        _ => 2,
    }
}

/// One bar of a chart: destinations, flows, bytes and identifier findings
/// grouped under a label (a country, an organisation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tally {
    /// Short label: a country code, an organisation, `private`, `unknown`.
    pub key: String,
    /// Longer label for people: the country's name, `AS15169 Google LLC`.
    pub label: String,
    /// Distinct destinations.
    pub destinations: u64,
    /// Flows.
    pub flows: u64,
    /// Bytes both ways.
    pub bytes: u64,
    /// Identifier findings (medium confidence and above).
    pub identifiers: u64,
}

/// Destinations of the given captures grouped by the server's country
/// (special addresses under their scope, unknown ones under `unknown`);
/// most bytes first.
pub fn by_country(report: &Report, captures: &[usize]) -> Vec<Tally> {
    tally(report, captures, |f| {
        let loc = &f.server_location;
        match loc.geo.as_deref().and_then(|g| g.country_code.clone()) {
            Some(cc) => {
                let name = loc.geo.as_deref().and_then(|g| g.country_name.clone());
                (cc.clone(), name.unwrap_or(cc))
            }
            None if !loc.scope.is_public() => (
                loc.scope.as_str().into(),
                format!("{} addresses", loc.scope),
            ),
            None => ("unknown".into(), "country unknown".into()),
        }
    })
}

/// Destinations of the given captures grouped by the organisation running
/// the server's network; most bytes first.
pub fn by_organisation(report: &Report, captures: &[usize]) -> Vec<Tally> {
    tally(report, captures, |f| {
        let loc = &f.server_location;
        let g = loc.geo.as_deref();
        match (g.and_then(|g| g.asn), g.and_then(|g| g.as_org.clone())) {
            (asn, Some(org)) => (
                org.clone(),
                asn.map_or(org.clone(), |a| format!("AS{a} {org}")),
            ),
            (Some(asn), None) => (format!("AS{asn}"), format!("AS{asn}")),
            (None, None) if !loc.scope.is_public() => (
                loc.scope.as_str().into(),
                format!("{} addresses", loc.scope),
            ),
            (None, None) => ("unknown".into(), "network unknown".into()),
        }
    })
}

fn tally(
    report: &Report,
    captures: &[usize],
    group: impl Fn(&FlowRecord) -> (String, String),
) -> Vec<Tally> {
    let mut map: BTreeMap<String, (Tally, BTreeSet<String>)> = BTreeMap::new();
    for &ci in captures {
        let Some(c) = report.captures.get(ci) else {
            continue;
        };
        let by_flow = c.identifiers_by_flow();
        for f in &c.flows {
            let (key, label) = group(f);
            let (t, dests) = map.entry(key.clone()).or_insert_with(|| {
                (
                    Tally {
                        key,
                        label,
                        destinations: 0,
                        flows: 0,
                        bytes: 0,
                        identifiers: 0,
                    },
                    BTreeSet::new(),
                )
            });
            t.flows += 1;
            t.bytes += f.summary.to_server.bytes + f.summary.to_client.bytes;
            t.identifiers += by_flow
                .get(f.summary.info.id)
                .filter(|i| i.confidence >= Confidence::Medium)
                .count() as u64;
            dests.insert(match &f.server_name.name {
                Some(n) => n.to_ascii_lowercase(),
                None => f.summary.info.server.ip().to_string(),
            });
        }
    }
    let mut v: Vec<Tally> = map
        .into_values()
        .map(|(mut t, d)| {
            t.destinations = d.len() as u64;
            t
        })
        .collect();
    v.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.key.cmp(&b.key)));
    v
}

/// How a batch report forms its sections.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum GroupBy {
    /// One section per capture file.
    #[default]
    File,
    /// One section per folder holding captures (one app, device or day per
    /// folder).
    Folder,
}

/// A section of a batch report: a title and the captures in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    /// The capture's path, or the folder's.
    pub title: String,
    /// Indexes into [`Report::captures`], in report order.
    pub captures: Vec<usize>,
}

/// The report's sections, in the order their first capture appears.
pub fn sections(report: &Report, group: GroupBy) -> Vec<Section> {
    let mut out: Vec<Section> = Vec::new();
    for (i, c) in report.captures.iter().enumerate() {
        let title = match group {
            GroupBy::File => c.path.display().to_string(),
            GroupBy::Folder => c
                .path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."))
                .display()
                .to_string(),
        };
        match out.iter_mut().find(|s| s.title == title) {
            Some(s) => s.captures.push(i),
            None => out.push(Section {
                title,
                captures: vec![i],
            }),
        }
    }
    out
}

/// Destinations of a section (re-exported for writers that build a
/// section at a time).
pub fn section_destinations(report: &Report, section: &Section) -> Vec<crate::Destination> {
    destinations_of(report, &section.captures)
}
