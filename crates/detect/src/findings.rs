//! Identifier findings: what the scanner matched, placed in a flow, a
//! packet and a location in the message.

use telltale_decode::Timestamp;
use telltale_flow::FlowId;
use telltale_proto::AppEvent;

use crate::identifiers::{Confidence, Encoding, IdKind, IdentifierMatch, Scanner, Source};
use crate::pieces::pieces;

/// An identifier found in a flow: the unit a report is built from.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Finding {
    /// The flow that carried it.
    pub flow: FlowId,
    /// When the message carrying it was captured.
    pub ts: Timestamp,
    /// Packet number of the message carrying it (open it in Wireshark with
    /// `frame.number == N`).
    pub frame: u64,
    /// What it is.
    pub kind: IdKind,
    /// Canonical value (IMEI digits, E.164 phone, lower-case MAC, ...).
    pub value: String,
    /// The literal text as it appeared.
    pub matched: String,
    /// The outermost transform (`plain`, `url`, `base64`, `md5`, ...).
    pub encoding: Encoding,
    /// Where in the message: `http.url.query:imei`,
    /// `http.body.json:$.device.imei`, `http.header:X-Device-Id`,
    /// `dns.rrname`, `tcp.payload.toserver`, ...
    pub location: String,
    /// Known value (from a device profile) or pattern.
    pub source: Source,
    /// How strongly it is believed.
    pub confidence: Confidence,
    /// The profile device it belongs to, for known values.
    pub device: Option<String>,
    /// The key it was the value of, when there was one.
    pub key: Option<String>,
    /// Byte offset of the match in the piece at `location`.
    pub offset: usize,
    /// Why it is graded as it is, where that needs saying.
    pub note: Option<&'static str>,
}

/// Scans every piece of an application event; each identifier is reported
/// once per location (the same value found again in the same place, e.g. by
/// an overlapping variant, is one finding).
pub fn findings(scanner: &Scanner, event: &AppEvent) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    for piece in pieces(event) {
        for m in scanner.scan(&piece.bytes) {
            let IdentifierMatch {
                kind,
                value,
                matched,
                mut encoding,
                source,
                confidence,
                device,
                start,
                key,
                note,
                ..
            } = m;
            if piece.url_decoded && encoding == Encoding::Plain {
                encoding = Encoding::Url;
            }
            // Found as sent and again in the decoded copy: one finding, the
            // first (as sent).
            if out
                .iter()
                .any(|f| f.location == piece.location && f.kind == kind && f.value == value)
            {
                continue;
            }
            out.push(Finding {
                flow: event.flow,
                ts: event.ts,
                frame: event.frame,
                kind,
                value,
                matched,
                encoding,
                location: piece.location.clone(),
                source,
                confidence,
                device,
                key,
                offset: start,
                note,
            });
        }
    }
    out
}
