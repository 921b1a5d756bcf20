//! Redaction: identifier values masked everywhere in a report, replaced by a
//! short keyed pseudonym so the same value is recognisable across findings
//! without being published.

use aho_corasick::{AhoCorasick, MatchKind};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use telltale_proto::AppEventKind;

use crate::model::{CaptureReport, Report};

/// Masks identifier values with keyed pseudonyms.
///
/// A pseudonym is the kind and the first 12 hex digits of
/// HMAC-SHA-256(key, canonical value): `imei~3f9a0c41d2e7`. Without the key
/// nobody can test a guessed IMEI or phone number against it (the spaces of
/// such values are small enough to enumerate, so a plain hash would not
/// protect them); with the same key, the same value gets the same pseudonym
/// in every report.
///
/// ```
/// use telltale_report::Redactor;
/// let r = Redactor::new(b"newsroom secret");
/// assert_eq!(r.pseudonym("imei", "865123456789019"), r.pseudonym("imei", "865123456789019"));
/// assert!(r.pseudonym("imei", "865123456789019").starts_with("imei~"));
/// ```
#[derive(Clone)]
pub struct Redactor {
    key: Vec<u8>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Redactor { key: <hidden> }")
    }
}

impl Redactor {
    /// A redactor keyed with `key` (any length; 32 random bytes if the
    /// pseudonyms need not be stable across runs).
    pub fn new(key: &[u8]) -> Self {
        Redactor { key: key.to_vec() }
    }

    /// The pseudonym of a value of a kind.
    pub fn pseudonym(&self, kind: &str, value: &str) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key)
            .expect("HMAC takes any key length");
        mac.update(value.as_bytes());
        let digest = mac.finalize().into_bytes();
        let hex: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
        format!("{kind}~{hex}")
    }

    /// Masks every identifier of every capture: the findings' values and
    /// literals, and wherever those literals appear in other fields (URLs,
    /// host and DNS names, SNI, user agents, DHCP host names, destination
    /// names).
    pub fn redact(&self, report: &mut Report) {
        for c in &mut report.captures {
            self.redact_capture(c);
        }
    }

    fn redact_capture(&self, c: &mut CaptureReport) {
        // Longest literals first: a value and its encoded forms may overlap.
        let mut pairs: Vec<(String, String)> = Vec::new();
        for f in &c.identifiers {
            let p = self.pseudonym(f.kind.as_str(), &f.value);
            for literal in [&f.matched, &f.value] {
                if literal.len() >= 4 && !pairs.iter().any(|(l, _)| l == literal) {
                    pairs.push((literal.clone(), p.clone()));
                }
            }
        }
        for f in &mut c.identifiers {
            let p = self.pseudonym(f.kind.as_str(), &f.value);
            f.value = p.clone();
            f.matched = p;
        }
        if pairs.is_empty() {
            return;
        }
        let Ok(ac) = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostLongest)
            .build(pairs.iter().map(|(l, _)| l.as_str()))
        else {
            return;
        };
        let with: Vec<&str> = pairs.iter().map(|(_, p)| p.as_str()).collect();
        let mask = |s: &mut String| {
            if ac.is_match(s.as_str()) {
                *s = ac.replace_all(s, &with);
            }
        };
        for f in &mut c.flows {
            if let Some(n) = f.server_name.name.as_mut() {
                mask(n);
            }
            if let Some(d) = f.server_name.dns.as_mut() {
                mask(&mut d.query);
            }
        }
        for e in &mut c.events {
            match &mut e.kind {
                AppEventKind::Http(h) => {
                    mask(&mut h.uri);
                    for s in [&mut h.host, &mut h.user_agent, &mut h.response_content_type]
                        .into_iter()
                        .flatten()
                    {
                        mask(s);
                    }
                    for (_, v) in &mut h.request_headers {
                        let mut t = String::from_utf8_lossy(v).into_owned();
                        mask(&mut t);
                        *v = t.into_bytes();
                    }
                }
                AppEventKind::Dns(d) => {
                    for q in &mut d.message.questions {
                        mask(&mut q.name);
                    }
                    for a in &mut d.message.answers {
                        mask(&mut a.name);
                    }
                }
                AppEventKind::Tls(t) => {
                    if let Some(s) = t.client.as_mut().and_then(|c| c.sni.as_mut()) {
                        mask(s);
                    }
                }
                AppEventKind::Quic(q) => {
                    if let Some(s) = q.client.sni.as_mut() {
                        mask(s);
                    }
                }
                AppEventKind::Dhcp(telltale_proto::DhcpEvent::V4(d)) => {
                    if let Some(h) = d.host_name.as_mut() {
                        mask(&mut h.display);
                    }
                }
                _ => {}
            }
        }
    }
}
