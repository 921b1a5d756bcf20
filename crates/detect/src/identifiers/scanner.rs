//! The scanner: one index over every variant of every known value (a hashed
//! prefix lookup, plus a small Aho-Corasick automaton for the few patterns
//! shorter than the prefix), plus the pattern detectors, and the rules that turn their hits
//! into one deterministic list.

use std::collections::{BTreeMap, HashMap};

use aho_corasick::{AhoCorasick, Input, MatchKind};

use super::keys::preceding_key;
use super::patterns::{Detectors, byte_windows};
use super::profile::DeviceProfile;
use super::variants::{B64Edges, COORD_TOLERANCE, Case, Edge, Variant, variants};
use super::{Confidence, IdKind, IdentifierMatch, Source, escape_bytes, nearest_partner};

const NOTE_IMEI_NO_CHECK: &str = "the device's IMEI without its check digit";
const NOTE_IMEISV: &str = "an IMEISV: the device's IMEI body followed by a software version";

/// Finds identifiers in byte buffers: known values of a [`DeviceProfile`] in
/// all their variants, and identifier patterns.
///
/// Build it once per profile (building the index is the expensive part)
/// and call [`Scanner::scan`] on every payload; it is `Send + Sync`.
#[derive(Debug)]
pub struct Scanner {
    known: Option<Known>,
    detectors: Detectors,
    build_error: Option<String>,
}

#[derive(Debug)]
struct Known {
    /// Patterns shorter than [`PREFIX`] (coordinate prefixes, short
    /// free-form strings): few, so an automaton over them stays small.
    short: Option<AhoCorasick>,
    /// Automaton pattern id → distinct pattern id.
    short_ids: Vec<u32>,
    /// The other patterns, found by their first [`PREFIX`] bytes.
    prefixes: PrefixIndex,
    variants: Vec<Variant>,
    /// Distinct pattern id → the variants that share that pattern (equal
    /// up to ASCII case): several devices may list the same contact.
    by_pattern: Vec<Vec<u32>>,
    /// The bytes that occur in some pattern (both ASCII cases), and the
    /// shortest pattern: a hit lies inside a run of such bytes at least
    /// that long, so only those runs are searched.
    pattern_bytes: [bool; 256],
    shortest: usize,
}

/// Length of the prefix by which long patterns are looked up: one `u64`,
/// and no longer than the shortest base64 key, so that nearly every
/// pattern has one.
const PREFIX: usize = 8;

/// Finds the patterns of at least [`PREFIX`] bytes by hashing the
/// (ASCII-lower-cased) 8 bytes at every position.
///
/// Why not one Aho-Corasick automaton over everything: with 1,000 devices
/// (about 250,000 patterns of hex, digits and base64) the automaton takes
/// 80 MB, and on the hex and alphanumeric runs of ordinary traffic every
/// byte walks a few levels into the trie, each level a cache miss: the
/// known-value search was about 4× slower than with one device (measured
/// with the bench; a DFA would take gigabytes). Here the work per position
/// is a multiply and two bit tests in a bitset of 16 bits per pattern
/// (512 KB for 250,000 patterns), and the bitset only lets through about
/// 1% of positions to the exact lookup, whatever the number of patterns.
#[derive(Debug)]
struct PrefixIndex {
    bits: Vec<u64>,
    shift: u32,
    /// Folded prefix → distinct pattern ids starting with it.
    ids: HashMap<u64, Vec<u32>>,
}

/// Fibonacci hashing multiplier (2^64 / golden ratio).
const HASH_K: u64 = 0x9E37_79B9_7F4A_7C15;

/// ASCII-lower-cases the 8 bytes packed in `x` (bytes outside `A..=Z`,
/// including non-ASCII ones, are kept), as `to_ascii_lowercase` would.
fn fold8(x: u64) -> u64 {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const ONES: u64 = 0x0101_0101_0101_0101;
    let low7 = x & !HIGH;
    // Per byte, the high bit of `ge_a` says `b >= 'A'` and that of `gt_z`
    // says `b > 'Z'` (for the low 7 bits, which cannot carry over).
    let ge_a = low7.wrapping_add(ONES * (0x80 - u64::from(b'A')));
    let gt_z = low7.wrapping_add(ONES * (0x80 - u64::from(b'Z') - 1));
    let upper = (ge_a ^ gt_z) & !x & HIGH;
    x | (upper >> 2)
}

/// The folded first [`PREFIX`] bytes of `bytes`, if it has that many.
fn prefix_key(bytes: &[u8]) -> Option<u64> {
    let head: [u8; PREFIX] = bytes.get(..PREFIX)?.try_into().ok()?;
    Some(fold8(u64::from_le_bytes(head)))
}

impl PrefixIndex {
    fn new<'a>(patterns: impl Iterator<Item = (u32, &'a [u8])>) -> PrefixIndex {
        let mut ids: HashMap<u64, Vec<u32>> = HashMap::new();
        for (id, p) in patterns {
            if let Some(key) = prefix_key(p) {
                ids.entry(key).or_default().push(id);
            }
        }
        // 16 bits per prefix, two bits set per prefix: about 1% false
        // positives.
        let log2 = (ids.len().max(1) * 16)
            .next_power_of_two()
            .trailing_zeros()
            .clamp(9, 40);
        let mut index = PrefixIndex {
            bits: vec![0; 1 << (log2 - 6)],
            shift: 64 - log2,
            ids: HashMap::new(),
        };
        for &key in ids.keys() {
            for bit in index.bit_positions(key) {
                if let Some(word) = index.bits.get_mut(bit / 64) {
                    *word |= 1 << (bit % 64);
                }
            }
        }
        index.ids = ids;
        index
    }

    /// Two independent-enough bit positions from one multiplicative hash.
    fn bit_positions(&self, key: u64) -> [usize; 2] {
        let h = key.wrapping_mul(HASH_K);
        [
            (h >> self.shift) as usize,
            ((h << 24) >> self.shift) as usize,
        ]
    }

    fn maybe(&self, key: u64) -> bool {
        self.bit_positions(key).iter().all(|&bit| {
            self.bits
                .get(bit / 64)
                .is_some_and(|w| w & (1 << (bit % 64)) != 0)
        })
    }

    /// Calls `f(start, end, pattern id)` for every occurrence, ignoring
    /// ASCII case, of an indexed pattern that starts in `buf[a..b]` and
    /// ends by `b`.
    fn find<'p>(
        &self,
        buf: &[u8],
        a: usize,
        b: usize,
        pattern: impl Fn(u32) -> Option<&'p [u8]>,
        mut f: impl FnMut(usize, usize, u32),
    ) {
        let Some(window) = buf.get(a..b) else { return };
        for (i, head) in window.windows(PREFIX).enumerate() {
            let Some(key) = prefix_key(head) else {
                continue;
            };
            if !self.maybe(key) {
                continue;
            }
            let Some(ids) = self.ids.get(&key) else {
                continue;
            };
            let s = a + i;
            for &id in ids {
                let Some(p) = pattern(id) else { continue };
                let e = s + p.len();
                if e <= b && buf[s..e].eq_ignore_ascii_case(p) {
                    f(s, e, id);
                }
            }
        }
    }
}

impl Scanner {
    /// Builds a scanner for a profile (or for patterns only).
    ///
    /// Patterns are matched ASCII-case-insensitively (letter case is not an
    /// encoding; base64 hits are re-checked exactly) and every occurrence
    /// of every variant is seen, overlapping ones included, so that a
    /// variant rejected by its edge check cannot hide a shorter one that
    /// passes, and the choice between overlapping hits is made by explicit
    /// rules rather than by search order. If the automaton for the short
    /// patterns cannot be built (only for absurdly large profiles), known
    /// values are not searched and [`Scanner::build_error`] says why;
    /// patterns still run.
    pub fn new(profile: Option<&DeviceProfile>) -> Scanner {
        let detectors = Detectors::new();
        let all = profile.map(variants).unwrap_or_default();
        if all.is_empty() {
            return Scanner {
                known: None,
                detectors,
                build_error: None,
            };
        }
        let mut index: HashMap<Vec<u8>, usize> = HashMap::new();
        let mut patterns: Vec<&[u8]> = Vec::new();
        let mut by_pattern: Vec<Vec<u32>> = Vec::new();
        for (i, v) in all.iter().enumerate() {
            let Ok(i) = u32::try_from(i) else { break };
            let folded = v.pattern.as_bytes().to_ascii_lowercase();
            let id = *index.entry(folded).or_insert_with(|| {
                patterns.push(v.pattern.as_bytes());
                by_pattern.push(Vec::new());
                patterns.len() - 1
            });
            by_pattern[id].push(i);
        }
        let short: Vec<(u32, &[u8])> = patterns
            .iter()
            .enumerate()
            .filter(|(_, p)| p.len() < PREFIX)
            .filter_map(|(id, p)| Some((u32::try_from(id).ok()?, *p)))
            .collect();
        let prefixes = PrefixIndex::new(
            patterns
                .iter()
                .enumerate()
                .filter_map(|(id, p)| Some((u32::try_from(id).ok()?, *p))),
        );
        let built = if short.is_empty() {
            Ok(None)
        } else {
            AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::Standard)
                // The prefilter looks for the patterns' first bytes; ours
                // start with digits, which are everywhere in payloads, so it
                // mostly adds false starts.
                .prefilter(false)
                .build(short.iter().map(|&(_, p)| p))
                .map(Some)
        };
        let short_ids = short.iter().map(|&(id, _)| id).collect();
        let mut pattern_bytes = [false; 256];
        for b in patterns.iter().flat_map(|p| p.iter()) {
            pattern_bytes[usize::from(b.to_ascii_lowercase())] = true;
            pattern_bytes[usize::from(b.to_ascii_uppercase())] = true;
        }
        let shortest = patterns.iter().map(|p| p.len()).min().unwrap_or(1);
        match built {
            Ok(short) => Scanner {
                known: Some(Known {
                    short,
                    short_ids,
                    prefixes,
                    variants: all,
                    by_pattern,
                    pattern_bytes,
                    shortest,
                }),
                detectors,
                build_error: None,
            },
            Err(e) => Scanner {
                known: None,
                detectors,
                build_error: Some(e.to_string()),
            },
        }
    }

    /// Why known values are not searched, if the automaton could not be
    /// built.
    pub fn build_error(&self) -> Option<&str> {
        self.build_error.as_deref()
    }

    /// The number of distinct patterns searched for (0 without a
    /// profile).
    pub fn pattern_count(&self) -> usize {
        self.known.as_ref().map_or(0, |k| k.by_pattern.len())
    }

    /// Every variant searched for, in generation order.
    pub fn variants(&self) -> &[Variant] {
        self.known.as_ref().map_or(&[], |k| &k.variants)
    }

    /// Every identifier in `buf`, sorted by start offset (then end, source,
    /// kind, value, device) and deduplicated:
    ///
    /// - hits of the same known value (device, kind, value) that overlap
    ///   keep the longest (the most specific variant);
    /// - a pattern match inside a known match, or overlapping a known match
    ///   of the same kind, is dropped: the known one explains those bytes;
    /// - overlapping pattern matches keep the most confident, then the
    ///   longest.
    pub fn scan(&self, buf: &[u8]) -> Vec<IdentifierMatch> {
        let known = match &self.known {
            Some(k) => k.scan(buf),
            None => Vec::new(),
        };
        let patterns = self.detectors.scan(buf);
        resolve(known, patterns)
    }
}

/// A verified hit of a variant.
struct Hit {
    start: usize,
    end: usize,
    variant: u32,
    /// The hit was an IMEI body followed by two digits: an IMEISV.
    imeisv: bool,
}

impl Known {
    fn scan(&self, buf: &[u8]) -> Vec<IdentifierMatch> {
        let mut hits: Vec<Hit> = Vec::new();
        let mut coords: Vec<(usize, usize, u32)> = Vec::new();
        // Every occurrence of every pattern (overlapping ones too: a variant
        // rejected by its edge check must not hide a shorter one that
        // passes), as (start, end, distinct pattern id).
        let mut found: Vec<(usize, usize, u32)> = Vec::new();
        for (a, b) in byte_windows(buf, &self.pattern_bytes, self.shortest) {
            if let Some(ac) = &self.short
                && let Ok(it) = ac.try_find_overlapping_iter(Input::new(buf).range(a..b))
            {
                for m in it {
                    if let Some(&id) = self.short_ids.get(m.pattern().as_usize()) {
                        found.push((m.start(), m.end(), id));
                    }
                }
            }
            self.prefixes.find(
                buf,
                a,
                b,
                |id| self.pattern(id),
                |s, e, id| found.push((s, e, id)),
            );
        }
        // The order in which hits are verified decides ties between equal
        // matches later: make it the same whatever found them.
        found.sort_unstable();
        for (start, end, id) in found {
            let Some(ids) = self.by_pattern.get(id as usize) else {
                continue;
            };
            for &vi in ids {
                let Some(v) = self.variants.get(vi as usize) else {
                    continue;
                };
                if !case_ok(v, &buf[start..end]) {
                    continue;
                }
                if let Edge::Coordinate { target, .. } = v.rule.edge {
                    if let Some(e) = coordinate_end(buf, start, end, &v.pattern, target) {
                        coords.push((start, e, vi));
                    }
                    continue;
                }
                if let Some(hit) = verify(v, vi, buf, start, end) {
                    hits.push(hit);
                }
            }
        }
        let mut out: Vec<IdentifierMatch> = hits
            .into_iter()
            .filter_map(|h| self.to_match(buf, &h))
            .collect();
        self.pair_coordinates(buf, &coords, &mut out);
        out
    }

    /// The bytes of a distinct pattern (those of its first variant).
    fn pattern(&self, id: u32) -> Option<&[u8]> {
        let vi = *self.by_pattern.get(id as usize)?.first()?;
        Some(self.variants.get(vi as usize)?.pattern.as_bytes())
    }

    fn to_match(&self, buf: &[u8], h: &Hit) -> Option<IdentifierMatch> {
        let v = self.variants.get(h.variant as usize)?;
        let (kind, value, note) = if h.imeisv {
            (
                IdKind::Imeisv,
                String::from_utf8_lossy(&buf[h.start..h.end]).into_owned(),
                Some(NOTE_IMEISV),
            )
        } else if v.rule.edge == Edge::ImeiBody {
            (v.kind, v.value.clone(), Some(NOTE_IMEI_NO_CHECK))
        } else {
            (v.kind, v.value.clone(), v.note)
        };
        Some(IdentifierMatch {
            kind,
            value,
            matched: escape_bytes(&buf[h.start..h.end]),
            encoding: v.encoding,
            source: Source::Known,
            confidence: Confidence::High,
            device: Some(v.device.clone()),
            start: h.start,
            end: h.end,
            key: preceding_key(buf, h.start).map(str::to_string),
            form: Some(v.form.clone()),
            note,
        })
    }

    /// Pairs verified latitude and longitude hits of the same location:
    /// each latitude with the nearest unused longitude within
    /// [`PAIR_DISTANCE`](super::PAIR_DISTANCE) bytes. A lone coordinate is not reported: one
    /// number near a latitude is too common to mean anything.
    fn pair_coordinates(
        &self,
        buf: &[u8],
        coords: &[(usize, usize, u32)],
        out: &mut Vec<IdentifierMatch>,
    ) {
        let mut lats: Vec<(usize, usize, &Variant)> = Vec::new();
        let mut lons: Vec<(usize, usize, &Variant)> = Vec::new();
        for &(s, e, vi) in coords {
            let Some(v) = self.variants.get(vi as usize) else {
                continue;
            };
            match v.rule.edge {
                Edge::Coordinate { lat: true, .. } => lats.push((s, e, v)),
                Edge::Coordinate { lat: false, .. } => lons.push((s, e, v)),
                _ => {}
            }
        }
        // Two prefixes of one coordinate can hit the same number.
        lats.sort_by_key(|&(s, e, v)| (s, e, v.device.clone(), v.value.clone()));
        lats.dedup_by(|a, b| {
            (a.0, a.1, &a.2.device, &a.2.value) == (b.0, b.1, &b.2.device, &b.2.value)
        });
        lons.sort_by_key(|&(s, e, v)| (s, e, v.device.clone(), v.value.clone()));
        lons.dedup_by(|a, b| {
            (a.0, a.1, &a.2.device, &a.2.value) == (b.0, b.1, &b.2.device, &b.2.value)
        });
        let mut used = vec![false; lons.len()];
        for &(ls, le, lv) in &lats {
            let best = nearest_partner(
                (ls, le),
                lons.iter()
                    .enumerate()
                    .filter(|&(_, &(s, e, v))| {
                        (s, e) != (ls, le) && v.device == lv.device && v.value == lv.value
                    })
                    .map(|(i, &(s, e, _))| (i, (s, e))),
                &used,
            );
            let Some(i) = best else { continue };
            used[i] = true;
            let (os, oe, _) = lons[i];
            let (start, end) = (ls.min(os), le.max(oe));
            out.push(IdentifierMatch {
                kind: IdKind::Location,
                value: lv.value.clone(),
                matched: escape_bytes(&buf[start..end]),
                encoding: lv.encoding,
                source: Source::Known,
                confidence: Confidence::High,
                device: Some(lv.device.clone()),
                start,
                end,
                key: preceding_key(buf, start).map(str::to_string),
                form: Some(lv.value.clone()),
                note: None,
            });
        }
    }
}

/// Whether the hit has the variant's letter case where case matters.
fn case_ok(v: &Variant, hay: &[u8]) -> bool {
    let p = v.pattern.as_bytes();
    match v.rule.case {
        Case::Insensitive => true,
        Case::Exact => hay == p,
        Case::ExactOutsidePercent => {
            if hay.len() != p.len() {
                return false;
            }
            let mut i = 0;
            while i < p.len() {
                if p[i] == b'%' && i + 2 < p.len() {
                    if hay[i] != b'%' || !hay[i + 1..i + 3].eq_ignore_ascii_case(&p[i + 1..i + 3]) {
                        return false;
                    }
                    i += 3;
                } else {
                    if hay[i] != p[i] {
                        return false;
                    }
                    i += 1;
                }
            }
            true
        }
    }
}

/// Applies the variant's edge rule to a hit, and widens base64 hits to the
/// edge characters and padding that belong to the value.
fn verify(v: &Variant, vi: u32, buf: &[u8], s: usize, e: usize) -> Option<Hit> {
    let p = v.pattern.as_bytes();
    let (&first, &last) = (p.first()?, p.last()?);
    let left = s.checked_sub(1).and_then(|i| buf.get(i)).copied();
    let right = buf.get(e).copied();
    let edges = |class: fn(&u8) -> bool| {
        let joins_left = class(&first) && left.is_some_and(|b| class(&b));
        let joins_right = class(&last) && right.is_some_and(|b| class(&b));
        !joins_left && !joins_right
    };
    let hit = |start, end, imeisv| Hit {
        start,
        end,
        variant: vi,
        imeisv,
    };
    match v.rule.edge {
        Edge::Free => {
            let (s, e) = match v.rule.b64 {
                Some(x) => widen_base64(buf, s, e, x),
                None => (s, e),
            };
            Some(hit(s, e, false))
        }
        Edge::Digits => edges(u8::is_ascii_digit).then(|| hit(s, e, false)),
        Edge::Hex => edges(u8::is_ascii_hexdigit).then(|| hit(s, e, false)),
        Edge::Alnum => edges(u8::is_ascii_alphanumeric).then(|| hit(s, e, false)),
        Edge::Email => {
            let local = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'+' | b'-');
            let domain_continues = match right {
                Some(b) if b.is_ascii_alphanumeric() || b == b'-' => true,
                Some(b'.') => buf.get(e + 1).is_some_and(u8::is_ascii_alphanumeric),
                _ => false,
            };
            (!left.is_some_and(local) && !domain_continues).then(|| hit(s, e, false))
        }
        Edge::ImeiBody => {
            if left.is_some_and(|b| b.is_ascii_digit()) {
                return None;
            }
            let following = buf[e..]
                .iter()
                .take(3)
                .take_while(|b| b.is_ascii_digit())
                .count();
            match following {
                0 => Some(hit(s, e, false)),
                2 => Some(hit(s, e + 2, true)),
                _ => None,
            }
        }
        // Coordinates are verified and paired separately.
        Edge::Coordinate { .. } => None,
    }
}

/// Takes back the base64 characters that were left out of the pattern
/// because they also carry neighbouring bits, and trailing padding, when
/// they are there.
fn widen_base64(buf: &[u8], mut s: usize, mut e: usize, x: B64Edges) -> (usize, usize) {
    let alpha = |b: u8| {
        b.is_ascii_alphanumeric()
            || if x.url_safe {
                matches!(b, b'-' | b'_')
            } else {
                matches!(b, b'+' | b'/')
            }
    };
    // A query string escapes the standard alphabet's `+`, `/` and `=`
    // whether or not the pattern itself needed escaping.
    let escaped = |w: Option<&[u8]>| {
        !x.url_safe
            && w.is_some_and(|w| w.eq_ignore_ascii_case(b"%2B") || w.eq_ignore_ascii_case(b"%2F"))
    };
    if x.left {
        if s > 0 && alpha(buf[s - 1]) {
            s -= 1;
        } else if s >= 3 && escaped(buf.get(s - 3..s)) {
            s -= 3;
        }
    }
    if x.right {
        if buf.get(e).is_some_and(|&b| alpha(b)) {
            e += 1;
        } else if escaped(buf.get(e..e + 3)) {
            e += 3;
        }
    }
    for _ in 0..2 {
        if buf.get(e) == Some(&b'=') {
            e += 1;
        } else if buf
            .get(e..e + 3)
            .is_some_and(|w| w.eq_ignore_ascii_case(b"%3D"))
        {
            e += 3;
        } else {
            break;
        }
    }
    (s, e)
}

/// Reads the whole number a coordinate prefix starts, and returns its end
/// if it has at least three decimals and lies within the tolerance of
/// `target`.
fn coordinate_end(buf: &[u8], s: usize, e: usize, pattern: &str, target: f64) -> Option<usize> {
    // A digit or point before means a longer number; a minus before a
    // positive pattern means the opposite coordinate.
    if let Some(&b) = s.checked_sub(1).and_then(|i| buf.get(i))
        && (b.is_ascii_digit() || b == b'.' || (b == b'-' && !pattern.starts_with('-')))
    {
        return None;
    }
    let mut end = e;
    while buf.get(end).is_some_and(u8::is_ascii_digit) && end - e < 12 {
        end += 1;
    }
    if buf.get(end).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let number = std::str::from_utf8(&buf[s..end]).ok()?;
    let dot = number.find('.')?;
    if number.len() - dot - 1 < 3 {
        return None;
    }
    let x: f64 = number.parse().ok()?;
    ((x - target).abs() <= COORD_TOLERANCE + 1e-9).then_some(end)
}

/// Disjoint intervals, for "does this overlap anything accepted?".
#[derive(Default)]
struct Intervals(BTreeMap<usize, usize>);

impl Intervals {
    /// Whether `[s, e)` overlaps an interval of the set. The set is
    /// disjoint, so only the last interval starting before `e` can.
    fn overlaps(&self, s: usize, e: usize) -> bool {
        self.0
            .range(..e.max(s + 1))
            .next_back()
            .is_some_and(|(_, &end)| end > s)
    }
    fn insert(&mut self, s: usize, e: usize) {
        self.0.insert(s, e);
    }
}

fn resolve(known: Vec<IdentifierMatch>, patterns: Vec<IdentifierMatch>) -> Vec<IdentifierMatch> {
    // Known hits: per value, the longest of overlapping hits.
    let mut known = known;
    known.sort_by(|a, b| {
        (&a.device, a.kind, &a.value)
            .cmp(&(&b.device, b.kind, &b.value))
            .then((b.end - b.start).cmp(&(a.end - a.start)))
            .then(a.start.cmp(&b.start))
            .then(a.encoding.cmp(&b.encoding))
    });
    let mut kept: Vec<IdentifierMatch> = Vec::with_capacity(known.len());
    let mut group: Option<(Option<String>, IdKind, String)> = None;
    let mut taken = Intervals::default();
    for m in known {
        let id = (m.device.clone(), m.kind, m.value.clone());
        if group.as_ref() != Some(&id) {
            group = Some(id);
            taken = Intervals::default();
        }
        if !taken.overlaps(m.start, m.end) {
            taken.insert(m.start, m.end);
            kept.push(m);
        }
    }
    kept.sort_by_key(|m| (m.start, m.end));
    let longest_known = kept.iter().map(|m| m.end - m.start).max().unwrap_or(0);

    // Pattern hits explained by a known hit are dropped.
    let explained = |p: &IdentifierMatch| {
        // Known hits starting before `p.end`, scanning back only as far as
        // the longest known hit can reach.
        let upto = kept.partition_point(|k| k.start < p.end);
        kept[..upto]
            .iter()
            .rev()
            .take_while(|k| k.start + longest_known > p.start)
            .any(|k| {
                let overlap = k.start < p.end && p.start < k.end;
                let inside = k.start <= p.start && p.end <= k.end;
                inside || (overlap && k.kind == p.kind)
            })
    };
    let mut pats: Vec<IdentifierMatch> = patterns.into_iter().filter(|p| !explained(p)).collect();
    pats.sort_by(|a, b| {
        b.confidence
            .cmp(&a.confidence)
            .then((b.end - b.start).cmp(&(a.end - a.start)))
            .then(a.start.cmp(&b.start))
            .then(a.kind.cmp(&b.kind))
            .then(a.value.cmp(&b.value))
    });
    let mut taken = Intervals::default();
    for p in pats {
        if !taken.overlaps(p.start, p.end) {
            taken.insert(p.start, p.end);
            kept.push(p);
        }
    }
    kept.sort_by(|a, b| {
        (a.start, a.end, a.source, a.kind, &a.value, &a.device)
            .cmp(&(b.start, b.end, b.source, b.kind, &b.value, &b.device))
    });
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals() {
        let mut t = Intervals::default();
        t.insert(10, 20);
        t.insert(30, 40);
        assert!(t.overlaps(15, 16));
        assert!(t.overlaps(5, 11));
        assert!(t.overlaps(19, 31));
        assert!(!t.overlaps(20, 30));
        assert!(!t.overlaps(0, 10));
        assert!(!t.overlaps(40, 50));
        assert!(t.overlaps(0, 100));
    }
}
