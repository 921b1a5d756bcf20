//! Detectors of the caller's own: the extension point for identifier kinds
//! telltale does not know (a game's player ID, a vendor's device token).

use regex::bytes::Regex;
use telltale_proto::AppEvent;

use crate::findings::Finding;
use crate::identifiers::{Confidence, Encoding, IdKind, Source};
use crate::pieces::pieces;

/// Looks at every application event after the built-in scanner and adds
/// findings of its own. Runs on the capture's thread, once per event, so
/// it must be cheap and must not panic on any input.
pub trait Detector: Send + Sync {
    /// Appends what `event` holds to `out`.
    fn detect(&self, event: &AppEvent, out: &mut Vec<Finding>);
}

/// A detector from a regular expression and a validator, over the same
/// pieces as the built-in scanner (URL query values, headers, form and JSON
/// fields, DNS names, SNI, undissected payloads). Its findings have kind
/// [`IdKind::Custom`], source `pattern`, and the detector's name in
/// [`Finding::note`], so outputs show `kind: custom, note: <name>`.
///
/// ```
/// use telltale_detect::{Confidence, Detector, PatternDetector};
/// // Player IDs of some game: "PLY-" and 8 hex digits, the last one a checksum.
/// let d = PatternDetector::new("player_id", r"PLY-[0-9a-f]{8}", |v| v.len() == 12)
///     .unwrap()
///     .confidence(Confidence::High);
/// assert_eq!(d.name(), "player_id");
/// ```
pub struct PatternDetector {
    name: &'static str,
    regex: Regex,
    validate: Box<dyn Fn(&str) -> bool + Send + Sync>,
    confidence: Confidence,
}

impl PatternDetector {
    /// A detector named `name` that reports every match of `pattern` for
    /// which `validate` returns true (medium confidence unless changed).
    pub fn new(
        name: &'static str,
        pattern: &str,
        validate: impl Fn(&str) -> bool + Send + Sync + 'static,
    ) -> Result<PatternDetector, regex::Error> {
        Ok(PatternDetector {
            name,
            // Bounded size: a caller's pattern must not blow up the
            // automaton on the hot path.
            regex: regex::bytes::RegexBuilder::new(pattern)
                .size_limit(1 << 20)
                .build()?,
            validate: Box::new(validate),
            confidence: Confidence::Medium,
        })
    }

    /// The confidence its findings carry.
    pub fn confidence(mut self, confidence: Confidence) -> Self {
        self.confidence = confidence;
        self
    }

    /// Its name, written in each finding's `note`.
    pub fn name(&self) -> &'static str {
        self.name
    }
}

impl Detector for PatternDetector {
    fn detect(&self, event: &AppEvent, out: &mut Vec<Finding>) {
        for piece in pieces(event) {
            for m in self.regex.find_iter(&piece.bytes) {
                let Ok(text) = std::str::from_utf8(m.as_bytes()) else {
                    continue;
                };
                if !(self.validate)(text) {
                    continue;
                }
                let duplicate = out.iter().any(|f| {
                    f.location == piece.location && f.kind == IdKind::Custom && f.value == text
                });
                if duplicate {
                    continue;
                }
                out.push(Finding {
                    flow: event.flow,
                    ts: event.ts,
                    frame: event.frame,
                    kind: IdKind::Custom,
                    value: text.to_owned(),
                    matched: text.to_owned(),
                    encoding: if piece.url_decoded {
                        Encoding::Url
                    } else {
                        Encoding::Plain
                    },
                    location: piece.location.clone(),
                    source: Source::Pattern,
                    confidence: self.confidence,
                    device: None,
                    key: None,
                    offset: m.start(),
                    note: Some(self.name),
                });
            }
        }
    }
}
