//! Pattern detectors: identifiers found by their shape, without a profile.
//!
//! Each regular expression only proposes candidates; a candidate becomes a
//! match after its validation (check digits, registries, address bits) and is
//! graded by the key it is the value of. The rules are tabulated in
//! `docs/DETECTORS.md`.

use regex::bytes::{Regex, RegexBuilder};

use super::keys::{KeyHint, classify_key, normalize_key, preceding_key};
use super::phone::e164_plausible;
use super::shapes;
use super::validate::{
    SHARED_ANDROID_ID, canonical_uuid, coordinates_plausible, email_is_role, email_plausible,
    format_mac, imei_reporting_body_plausible, imsi_mcc_ok, luhn_check_digit, luhn_valid,
    mac_locally_administered, mac_rejection, meid_check_valid, parse_mac,
};
use super::{Confidence, Encoding, IdKind, IdentifierMatch, Source, escape_bytes, nearest_partner};

/// Why an IMEI-shaped value under a device key is reported at `Low`.
pub(crate) const NOTE_LUHN_FAILED: &str = "IMEI-shaped (15 digits, plausible reporting body) under a device-identifier key, \
     but the Luhn check digit is wrong: a pseudo-IMEI or another stable device number, not \
     the handset's IMEI";
const NOTE_IMEI_KEY_LUHN: &str =
    "under an IMEI key, but the Luhn check digit is wrong: not a valid IMEI";
const NOTE_IMEI_NO_RB: &str =
    "Luhn-valid under an IMEI key, but the reporting-body prefix is not one GSMA assigns to phones";
const NOTE_IMEI_BARE: &str = "a Luhn-valid 15-digit number with no telling key";
const NOTE_IMEI_WORD: &str = "Luhn-valid, plausible reporting body, and glued to a device word in the same \
     token (`android-<imei>`, `IMEI:<imei>`), with no key";
const NOTE_IMEI_BODY: &str = "14 digits: an IMEI without its check digit (value completed)";
const NOTE_IMSI_MCC: &str = "under an IMSI key, but the MCC is not one in use";
const NOTE_IMSI_BARE: &str = "15 digits with an MCC in use and no telling key";
const NOTE_ICCID_LUHN: &str = "under an ICCID key, but the Luhn check digit is wrong";
const NOTE_PHONE_BARE: &str = "E.164-shaped with no telling key";
const NOTE_PHONE_NO_PLUS: &str = "digits under a phone key, read as E.164 without the +";
const NOTE_PHONE_NATIONAL: &str = "digits under a phone key, national format: country unknown";
const NOTE_MAC_LOCAL: &str = "locally administered address: likely a randomised MAC";
const NOTE_BSSID: &str = "the Wi-Fi access point's address (BSSID): it locates the device";
const NOTE_ANDROID_SHARED: &str =
    "the Android ID that a bug in Android 2.2 gave to many devices: identifies none";
const NOTE_AD_ID_ZERO: &str =
    "all-zero advertising ID: the user opted out of ad tracking; identifies no one";
const NOTE_EMAIL_ROLE: &str = "a role address (support@, noreply@...), not a person's";

/// The compiled detectors.
#[derive(Clone, Debug)]
pub(crate) struct Detectors {
    email: Option<Regex>,
    geo: Option<Regex>,
    /// `geo:`, which every match of `geo` starts with (a searcher built
    /// once: building one per window cost more than the search).
    geo_uri: memchr::memmem::Finder<'static>,
    phone: Option<Regex>,
}

/// Builds an ASCII-only byte regex. The patterns are constants covered by a
/// test, so `None` cannot happen in a build that passed its tests; if it
/// did, the detector would be skipped rather than panic.
fn re(pattern: &str) -> Option<Regex> {
    RegexBuilder::new(pattern).unicode(false).build().ok()
}

impl Detectors {
    /// The detectors, compiled once per process: compiling them was over a
    /// million instructions per pattern, and an analyzer is configured more
    /// than once (defaults, then the device profile); clones share the
    /// compiled programs.
    pub(crate) fn new() -> Detectors {
        static COMPILED: std::sync::OnceLock<Detectors> = std::sync::OnceLock::new();
        COMPILED.get_or_init(Detectors::compile).clone()
    }

    fn compile() -> Detectors {
        // MACs, UUIDs, decimal numbers and coordinate pairs are found by
        // hand (`shapes`), each equal to its regex by test.
        Detectors {
            email: re(
                r"[A-Za-z0-9._%+-]{1,64}(?:@|%40)[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){1,8}",
            ),
            geo: re(r"geo:(-?[0-9]{1,2}\.[0-9]{3,12}),(-?[0-9]{1,3}\.[0-9]{3,12})"),
            geo_uri: memchr::memmem::Finder::new(b"geo:").into_owned(),
            phone: re(concat!(
                r"(?:\+|%2[Bb])[1-9][0-9]{0,3}",
                r"(?:(?:[ .-]|%20|\+)\(?[0-9]{2,11}\)?){1,5}"
            )),
        }
    }

    /// Whether every detector compiled (for tests).
    #[cfg(test)]
    pub(crate) fn all_compiled(&self) -> bool {
        [&self.email, &self.geo, &self.phone]
            .iter()
            .all(|r| r.is_some())
    }

    /// All pattern candidates that pass validation, unsorted and possibly
    /// overlapping (the scanner resolves overlaps).
    pub(crate) fn scan(&self, buf: &[u8]) -> Vec<IdentifierMatch> {
        let mut out = Vec::new();
        let windows = candidate_windows(buf);
        for &(a, b) in &windows {
            digit_runs(buf, a, b, |s, e| digit_run(buf, s, e, &mut out));
            hex_runs(buf, a, b, |s, e| hex_run(buf, s, e, &mut out));
            shapes::macs(buf, a, b, |s, e| separated_mac(buf, s, e, &mut out));
            shapes::uuids(buf, a, b, |s, e| uuid(buf, s, e, &mut out));
        }
        // A window that cannot hold the start of a match is not searched:
        // a search costs thousands of instructions even when it finds
        // nothing, and most windows are ordinary text.
        type Check = fn(&[u8], usize, usize, &mut Vec<IdentifierMatch>);
        type MayHold = fn(&[u8]) -> bool;
        let simple: [(&Option<Regex>, Check, MayHold); 2] = [
            (&self.phone, spaced_phone, may_hold_phone),
            (&self.email, email, may_hold_email),
        ];
        for (re, check, may_hold) in simple {
            let Some(r) = re else { continue };
            for &(a, b) in &windows {
                if !may_hold(&buf[a..b]) {
                    continue;
                }
                for m in r.find_iter(&buf[a..b]) {
                    check(buf, a + m.start(), a + m.end(), &mut out);
                }
            }
        }
        self.coordinates(buf, &windows, &mut out);
        out
    }

    fn coordinates(&self, buf: &[u8], windows: &[(usize, usize)], out: &mut Vec<IdentifierMatch>) {
        let num_edges_ok = |s: usize, e: usize| {
            (s == 0 || !(buf[s - 1].is_ascii_digit() || buf[s - 1] == b'.'))
                && (e == buf.len() || !(buf[e].is_ascii_digit() || buf[e] == b'.'))
        };
        // Every coordinate has a decimal point.
        let windows: Vec<(usize, usize)> = windows
            .iter()
            .copied()
            .filter(|&(a, b)| memchr::memchr(b'.', &buf[a..b]).is_some())
            .collect();
        let windows = &windows[..];
        for &(wa, wb) in windows {
            let w = &buf[wa..wb];
            if let Some(r) = &self.geo
                && self.geo_uri.find(w).is_some()
            {
                for c in r.captures_iter(w) {
                    let (Some(all), Some(a), Some(b)) = (c.get(0), c.get(1), c.get(2)) else {
                        continue;
                    };
                    if !num_edges_ok(wa + a.start(), wa + b.end()) {
                        continue;
                    }
                    let span = (wa + all.start(), wa + all.end());
                    let key = preceding_key(buf, span.0);
                    push_location(buf, span, a.as_bytes(), b.as_bytes(), key, out);
                }
            }
            shapes::pairs(buf, wa, wb, |p| {
                let span = p.all;
                // `geo:` URIs were reported above.
                let after_geo =
                    span.0 >= 4 && buf[span.0 - 4..span.0].eq_ignore_ascii_case(b"geo:");
                if after_geo || !num_edges_ok(span.0, span.1) {
                    return;
                }
                let key = preceding_key(buf, span.0);
                if key.map(classify_key) == Some(KeyHint::LatLon) {
                    let (a, b) = (p.first, p.second);
                    push_location(buf, span, &buf[a.0..a.1], &buf[b.0..b.1], key, out);
                }
            });
        }
        // Separate `lat` and `lon` keys: pair each latitude with the nearest
        // unused longitude within a short distance, either side.
        let mut lats: Vec<(usize, usize, Option<&str>)> = Vec::new();
        let mut lons: Vec<(usize, usize, Option<&str>)> = Vec::new();
        for &(wa, wb) in windows {
            shapes::decimals(buf, wa, wb, |s, e| {
                if !num_edges_ok(s, e) {
                    return;
                }
                let key = preceding_key(buf, s);
                match key.map(classify_key) {
                    Some(KeyHint::Lat) => lats.push((s, e, key)),
                    Some(KeyHint::Lon) => lons.push((s, e, key)),
                    _ => {}
                }
            });
        }
        let mut used = vec![false; lons.len()];
        for &(ls, le, lkey) in &lats {
            let best = nearest_partner(
                (ls, le),
                lons.iter().enumerate().map(|(i, &(s, e, _))| (i, (s, e))),
                &used,
            );
            let Some(i) = best else { continue };
            used[i] = true;
            let (os, oe, _) = lons[i];
            let span = (ls.min(os), le.max(oe));
            push_location(buf, span, &buf[ls..le], &buf[os..oe], lkey, out);
        }
    }
}

/// Whether `w` holds a `+` or `%2B` followed by a digit 1-9: every phone
/// match starts so, and `+` alone is common (base64, query strings).
fn may_hold_phone(w: &[u8]) -> bool {
    let digit = |i: usize| w.get(i).is_some_and(|c| matches!(c, b'1'..=b'9'));
    memchr::memchr2_iter(b'+', b'%', w).any(|i| {
        if w[i] == b'+' {
            digit(i + 1)
        } else {
            w.get(i + 1..i + 3)
                .is_some_and(|t| t.eq_ignore_ascii_case(b"2B"))
                && digit(i + 3)
        }
    })
}

/// Whether `w` holds an `@` or `%40`: every e-mail match does, and `%`
/// alone is common (any URL-encoded value).
fn may_hold_email(w: &[u8]) -> bool {
    memchr::memchr2_iter(b'@', b'%', w).any(|i| w[i] == b'@' || w.get(i + 1..i + 3) == Some(b"40"))
}

/// The bytes any detector's match is made of: letters, digits, and the
/// punctuation of MACs, UUIDs, e-mail addresses, numbers, phone numbers,
/// coordinate pairs and percent escapes.
const fn id_bytes() -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'.' | b':' | b'-' | b'_' | b'%' | b'+' | b'@' | b',' | b' ' | b'(' | b')'
            );
        i += 1;
    }
    t
}
const ID_BYTE: [bool; 256] = id_bytes();

/// Where matches can be: runs of [`ID_BYTE`]s at least as long as the
/// shortest match (5 bytes: `a@b.c`, `1.123`), merged when close, so that the
/// regular expressions skip binary data instead of stepping through it, and
/// are not restarted for every word of a text. No match can cross a byte
/// outside the set, so the result is the same as scanning the whole buffer.
fn candidate_windows(buf: &[u8]) -> Vec<(usize, usize)> {
    byte_windows(buf, &ID_BYTE, 5)
}

/// Runs of bytes marked in `table`, at least `min_run` long, merged when
/// fewer than 64 bytes apart (so that a text is one window, not one per
/// word).
///
/// Every run of `min_run` bytes or more holds three neighbours (fewer when
/// `min_run` is shorter) starting on one of every `min_run - 2` positions
/// from where the last run ended, so only those are looked at, and a run is
/// found by reaching out from marked ones. On binary data (image bodies,
/// streams picked up in the middle) a quarter of the bytes are marked at
/// random: looking at one byte in five sent the search reaching out one
/// time in four, unpredictably, while three neighbours are all marked one
/// time in fifty (a 32 MiB random buffer: 25-33 ms, against 41 ms looking
/// at single bytes). On text each byte is read at most twice.
pub(crate) fn byte_windows(buf: &[u8], table: &[bool; 256], min_run: usize) -> Vec<(usize, usize)> {
    const MERGE_GAP: usize = 64;
    let min_run = min_run.max(1);
    let marked = |i: usize| table[usize::from(buf[i])];
    // Runs shorter than three are looked for by every byte or pair.
    let width = min_run.min(3);
    let step = min_run - width + 1;
    let mut out: Vec<(usize, usize)> = Vec::new();
    let mut at = 0;
    while at + width <= buf.len() {
        if !(marked(at) & marked(at + width / 2) & marked(at + width - 1)) {
            at += step;
            continue;
        }
        // Not past the end of the last run: at most step - 1 bytes back.
        let mut start = at;
        while start > 0 && marked(start - 1) {
            start -= 1;
        }
        let mut end = at + width;
        while end < buf.len() && marked(end) {
            end += 1;
        }
        if end - start >= min_run {
            match out.last_mut() {
                Some(last) if start - last.1 <= MERGE_GAP => last.1 = end,
                _ => out.push((start, end)),
            }
        }
        // buf[end] is unmarked: the next run starts after it.
        at = end + 1;
    }
    out
}

/// Maximal runs of 7 to 22 ASCII digits in `buf[a..b]` (a hand loop: the
/// regular expression is several times slower on digit-rich text).
fn digit_runs(buf: &[u8], a: usize, b: usize, mut f: impl FnMut(usize, usize)) {
    let mut run = 0usize;
    for (i, &c) in buf[a..b].iter().enumerate() {
        let digit = usize::from(c.is_ascii_digit());
        if digit == 0 && (7..=22).contains(&run) {
            f(a + i - run, a + i);
        }
        run = (run + 1) * digit;
    }
    if (7..=22).contains(&run) {
        f(b - run, b);
    }
}

/// What the pattern `[0-9A-Fa-f]{12,16}` finds in `buf[a..b]`, leftmost
/// first and greedy as the regex crate would, by hand (a regex pass over
/// every text byte for a single byte class): in each maximal run of hex
/// digits, pieces of 16 from its start while at least 12 remain.
fn hex_runs(buf: &[u8], a: usize, b: usize, mut f: impl FnMut(usize, usize)) {
    let mut at = a;
    while at < b {
        let Some(start) = buf[at..b].iter().position(u8::is_ascii_hexdigit) else {
            return;
        };
        let start = at + start;
        let end = buf[start..b]
            .iter()
            .position(|c| !c.is_ascii_hexdigit())
            .map_or(b, |n| start + n);
        let mut pos = start;
        while end - pos >= 12 {
            let piece_end = (pos + 16).min(end);
            f(pos, piece_end);
            pos = piece_end;
        }
        at = end;
    }
}

/// A pattern match with its literal.
#[allow(clippy::too_many_arguments)]
fn found(
    buf: &[u8],
    (start, end): (usize, usize),
    kind: IdKind,
    value: String,
    encoding: Encoding,
    confidence: Confidence,
    key: Option<&str>,
    note: Option<&'static str>,
) -> IdentifierMatch {
    IdentifierMatch {
        kind,
        value,
        matched: escape_bytes(&buf[start..end]),
        encoding,
        source: Source::Pattern,
        confidence,
        device: None,
        start,
        end,
        key: key.map(str::to_string),
        form: None,
        note,
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Whether a digit run stands alone: no digit on either side, not the
/// fraction or integer part of a decimal number, and not part of a longer
/// token made only of hex digits.
fn digit_run_alone(buf: &[u8], s: usize, e: usize) -> bool {
    if s > 0 && buf[s - 1].is_ascii_digit() || e < buf.len() && buf[e].is_ascii_digit() {
        return false;
    }
    if s >= 2 && buf[s - 1] == b'.' && buf[s - 2].is_ascii_digit() {
        return false;
    }
    if e + 1 < buf.len() && buf[e] == b'.' && buf[e + 1].is_ascii_digit() {
        return false;
    }
    !in_longer_hex_token(buf, s, e)
}

/// Whether `s..e` sits inside a longer run of letters and digits that are
/// all hex digits (so it is a piece of a hex string, not a number). Looks at
/// most [`HEX_TOKEN_REACH`] bytes each way: a hex run that long is a hex
/// string, and a bounded look keeps long hex strings from costing a scan of
/// the whole string per digit run inside them.
fn in_longer_hex_token(buf: &[u8], s: usize, e: usize) -> bool {
    // After a percent escape (`%2B4915…`) the token starts here.
    let escaped = s >= 3 && buf[s - 3] == b'%' && buf[s - 2..s].iter().all(u8::is_ascii_hexdigit);
    let mut a = s;
    while !escaped && a > 0 && s - a < HEX_TOKEN_REACH && buf[a - 1].is_ascii_alphanumeric() {
        if !buf[a - 1].is_ascii_hexdigit() {
            return false;
        }
        a -= 1;
    }
    let mut b = e;
    while b < buf.len() && b - e < HEX_TOKEN_REACH && buf[b].is_ascii_alphanumeric() {
        if !buf[b].is_ascii_hexdigit() {
            return false;
        }
        b += 1;
    }
    a < s || b > e
}

const HEX_TOKEN_REACH: usize = 32;

/// Words that, glued to a number in the same token (`android-865…`,
/// `imei:865…`, as MQTT client ids and log lines do), say it is a device's.
const DEVICE_WORDS: &[&str] = &[
    "android", "dev", "device", "handset", "imei", "mobile", "phone",
];

/// Whether the number at `s` is directly preceded by a device word and at
/// most one separator (`-`, `_`, `:`, `=` is a key and handled elsewhere).
fn device_word_before(buf: &[u8], s: usize) -> bool {
    let mut j = s;
    if j > 0 && matches!(buf[j - 1], b'-' | b'_' | b':') {
        j -= 1;
    }
    let end = j;
    while j > 0 && end - j < 16 && buf[j - 1].is_ascii_alphabetic() {
        j -= 1;
    }
    if j > 0 && buf[j - 1].is_ascii_alphanumeric() {
        return false;
    }
    let word = String::from_utf8_lossy(&buf[j..end]).to_ascii_lowercase();
    DEVICE_WORDS.contains(&word.as_str())
}

fn hint_of(key: Option<&str>) -> KeyHint {
    key.map_or(KeyHint::Other, classify_key)
}

fn digit_run(buf: &[u8], s: usize, e: usize, out: &mut Vec<IdentifierMatch>) {
    if !digit_run_alone(buf, s, e) {
        return;
    }
    let d = &buf[s..e];
    // `+` or `%2B` right before: an international number.
    let prefix = if s >= 1 && buf[s - 1] == b'+' {
        Some((s - 1, Encoding::Plain))
    } else if s >= 3 && buf[s - 3..s].eq_ignore_ascii_case(b"%2B") {
        Some((s - 3, Encoding::Url))
    } else {
        None
    };
    if let Some((ps, enc)) = prefix {
        if e164_plausible(d) {
            let key = preceding_key(buf, ps);
            let (conf, note) = match hint_of(key) {
                KeyHint::Phone => (Confidence::High, None),
                KeyHint::PhoneWeak => (Confidence::Medium, None),
                _ => (Confidence::Low, Some(NOTE_PHONE_BARE)),
            };
            let value = format!("+{}", text(d));
            out.push(found(
                buf,
                (ps, e),
                IdKind::Phone,
                value,
                enc,
                conf,
                key,
                note,
            ));
        }
        return;
    }
    let key = preceding_key(buf, s);
    let hint = hint_of(key);
    let plain = |kind, value: String, conf, note| {
        found(buf, (s, e), kind, value, Encoding::Plain, conf, key, note)
    };
    if hint == KeyHint::Phone {
        if let Some(intl) = d.strip_prefix(b"00").filter(|i| e164_plausible(i)) {
            let value = format!("+{}", text(intl));
            out.push(plain(IdKind::Phone, value, Confidence::High, None));
        } else if d.len() >= 10 && e164_plausible(d) {
            let value = format!("+{}", text(d));
            out.push(plain(
                IdKind::Phone,
                value,
                Confidence::Medium,
                Some(NOTE_PHONE_NO_PLUS),
            ));
        } else if d.len() <= 12 {
            out.push(plain(
                IdKind::Phone,
                text(d),
                Confidence::Low,
                Some(NOTE_PHONE_NATIONAL),
            ));
        }
        return;
    }
    let rb = imei_reporting_body_plausible(d);
    match d.len() {
        15 => {
            let luhn = luhn_valid(d);
            let mcc = imsi_mcc_ok(d);
            let (kind, conf, note) = match hint {
                KeyHint::Imsi if mcc => (IdKind::Imsi, Confidence::High, None),
                KeyHint::Imsi => (IdKind::Imsi, Confidence::Low, Some(NOTE_IMSI_MCC)),
                KeyHint::Imei if luhn && rb => (IdKind::Imei, Confidence::High, None),
                KeyHint::Imei if luhn => (IdKind::Imei, Confidence::Medium, Some(NOTE_IMEI_NO_RB)),
                KeyHint::Imei => (IdKind::Imei, Confidence::Low, Some(NOTE_IMEI_KEY_LUHN)),
                KeyHint::Device if luhn && rb => (IdKind::Imei, Confidence::High, None),
                KeyHint::Device if rb => (IdKind::Imei, Confidence::Low, Some(NOTE_LUHN_FAILED)),
                KeyHint::Device => return,
                _ if luhn && rb && device_word_before(buf, s) => {
                    (IdKind::Imei, Confidence::Medium, Some(NOTE_IMEI_WORD))
                }
                _ if luhn && rb => (IdKind::Imei, Confidence::Low, Some(NOTE_IMEI_BARE)),
                _ if mcc => (IdKind::Imsi, Confidence::Low, Some(NOTE_IMSI_BARE)),
                _ => return,
            };
            out.push(plain(kind, text(d), conf, note));
        }
        14 => match hint {
            KeyHint::Meid => out.push(plain(IdKind::Meid, text(d), Confidence::High, None)),
            KeyHint::Imei | KeyHint::Device if rb => {
                let mut v = d.to_vec();
                if let Some(c) = luhn_check_digit(d) {
                    v.push(c);
                }
                out.push(plain(
                    IdKind::Imei,
                    text(&v),
                    Confidence::Medium,
                    Some(NOTE_IMEI_BODY),
                ));
            }
            _ => {}
        },
        16 => match hint {
            KeyHint::Imeisv if rb => {
                out.push(plain(IdKind::Imeisv, text(d), Confidence::High, None))
            }
            KeyHint::Imei | KeyHint::Device if rb => {
                out.push(plain(IdKind::Imeisv, text(d), Confidence::Medium, None));
            }
            _ => {}
        },
        18 if hint == KeyHint::Meid => {
            out.push(plain(IdKind::Meid, text(d), Confidence::High, None));
        }
        19 | 20 if d.starts_with(b"89") => {
            if luhn_valid(d) {
                let conf = if hint == KeyHint::Iccid {
                    Confidence::High
                } else {
                    Confidence::Medium
                };
                out.push(plain(IdKind::Iccid, text(d), conf, None));
            } else if hint == KeyHint::Iccid {
                out.push(plain(
                    IdKind::Iccid,
                    text(d),
                    Confidence::Low,
                    Some(NOTE_ICCID_LUHN),
                ));
            }
        }
        _ => {}
    }
}

/// `+86 138 1234 5678`, `+1 (415) 555-1234`: only under a phone key, since
/// a `+` and groups of digits are common elsewhere.
fn spaced_phone(buf: &[u8], s: usize, mut e: usize, out: &mut Vec<IdentifierMatch>) {
    if buf[e - 1] == b')' {
        e -= 1;
    }
    if e < buf.len() && buf[e].is_ascii_digit() {
        return;
    }
    let digits: Vec<u8> = buf[s..e]
        .iter()
        .copied()
        .filter(u8::is_ascii_digit)
        .collect();
    // `%2B` and `%20` contribute the digits 2, 2 0: count them out.
    let raw = &buf[s..e];
    let escapes = raw.windows(3).filter(|w| w[0] == b'%').count();
    let digits: Vec<u8> = if escapes == 0 {
        digits
    } else {
        let mut out = Vec::new();
        let mut i = 0;
        while i < raw.len() {
            if raw[i] == b'%' {
                i += 3;
                continue;
            }
            if raw[i].is_ascii_digit() {
                out.push(raw[i]);
            }
            i += 1;
        }
        out
    };
    if !e164_plausible(&digits) {
        return;
    }
    let key = preceding_key(buf, s);
    let conf = match hint_of(key) {
        KeyHint::Phone => Confidence::High,
        KeyHint::PhoneWeak => Confidence::Medium,
        _ => return,
    };
    let enc = if escapes > 0 {
        Encoding::Url
    } else {
        Encoding::Plain
    };
    let value = format!("+{}", text(&digits));
    out.push(found(
        buf,
        (s, e),
        IdKind::Phone,
        value,
        enc,
        conf,
        key,
        None,
    ));
}

/// The note for a MAC address: a BSSID locates rather than identifies; a
/// locally administered address is likely randomised.
fn mac_note(mac: &[u8; 6], key: Option<&str>) -> Option<&'static str> {
    if key.is_some_and(|k| normalize_key(k).ends_with("bssid")) {
        Some(NOTE_BSSID)
    } else {
        mac_locally_administered(mac).then_some(NOTE_MAC_LOCAL)
    }
}

fn alnum_at(buf: &[u8], i: usize) -> bool {
    buf.get(i).is_some_and(u8::is_ascii_alphanumeric)
}

fn hex_run(buf: &[u8], s: usize, e: usize, out: &mut Vec<IdentifierMatch>) {
    if s > 0 && alnum_at(buf, s - 1) || alnum_at(buf, e) {
        return;
    }
    let d = &buf[s..e];
    let key = preceding_key(buf, s);
    let hint = hint_of(key);
    // Pure digits are numbers unless the key says hex.
    if d.iter().all(u8::is_ascii_digit)
        && !matches!(hint, KeyHint::Mac | KeyHint::AndroidId | KeyHint::Meid)
    {
        return;
    }
    let lower = text(d).to_ascii_lowercase();
    let plain = |kind, value: String, conf, note| {
        found(buf, (s, e), kind, value, Encoding::Plain, conf, key, note)
    };
    match (d.len(), hint) {
        (12, KeyHint::Mac | KeyHint::Device) => {
            let Some(mac) = parse_mac(&lower) else { return };
            if mac_rejection(&mac).is_some() {
                return;
            }
            let conf = if hint == KeyHint::Mac {
                Confidence::High
            } else {
                Confidence::Medium
            };
            let note = mac_note(&mac, key);
            out.push(plain(IdKind::Mac, format_mac(&mac), conf, note));
        }
        (14, KeyHint::Meid) => {
            out.push(plain(
                IdKind::Meid,
                lower.to_ascii_uppercase(),
                Confidence::High,
                None,
            ));
        }
        // MEIDs with a hex manufacturer code start at A0.
        (14, KeyHint::Device) if d[0].is_ascii_hexdigit() && !d[0].is_ascii_digit() => {
            out.push(plain(
                IdKind::Meid,
                lower.to_ascii_uppercase(),
                Confidence::Medium,
                None,
            ));
        }
        (15, KeyHint::Meid) if meid_check_valid(d) => {
            let v = lower[..14].to_ascii_uppercase();
            out.push(plain(IdKind::Meid, v, Confidence::High, None));
        }
        (16, KeyHint::AndroidId | KeyHint::Device) => {
            if d.iter().all(|&b| b == b'0') {
                return;
            }
            let (conf, note) = if lower == SHARED_ANDROID_ID {
                (Confidence::Low, Some(NOTE_ANDROID_SHARED))
            } else if hint == KeyHint::AndroidId {
                (Confidence::High, None)
            } else {
                (Confidence::Medium, None)
            };
            out.push(plain(IdKind::AndroidId, lower, conf, note));
        }
        _ => {}
    }
}

/// Whether the bytes before a separated MAC continue it (another group, or
/// an IPv6 address): a separator preceded by a short all-hex token or by
/// another separator.
fn continues_left(buf: &[u8], s: usize) -> bool {
    if s == 0 {
        return false;
    }
    let b = buf[s - 1];
    if b.is_ascii_alphanumeric() {
        return true;
    }
    if b != b':' && b != b'-' {
        return false;
    }
    let mut a = s - 1;
    while a > 0 && buf[a - 1].is_ascii_alphanumeric() {
        a -= 1;
    }
    let token = &buf[a..s - 1];
    if token.is_empty() {
        return a > 0 && buf[a - 1] == b;
    }
    token.len() <= 4 && token.iter().all(u8::is_ascii_hexdigit)
}

fn continues_right(buf: &[u8], e: usize) -> bool {
    match buf.get(e) {
        Some(b) if b.is_ascii_alphanumeric() => true,
        Some(b':' | b'-') => buf.get(e + 1).is_some_and(u8::is_ascii_hexdigit),
        Some(b'%') => {
            buf.len() >= e + 5
                && buf[e..e + 3].eq_ignore_ascii_case(b"%3A")
                && buf[e + 3].is_ascii_hexdigit()
        }
        _ => false,
    }
}

fn separated_mac(buf: &[u8], s: usize, e: usize, out: &mut Vec<IdentifierMatch>) {
    if continues_left(buf, s) || continues_right(buf, e) {
        return;
    }
    let raw = text(&buf[s..e]);
    let url = raw.contains('%');
    let plain = if url {
        raw.replace("%3A", ":").replace("%3a", ":")
    } else {
        raw
    };
    let Some(mac) = parse_mac(&plain) else { return };
    if mac_rejection(&mac).is_some() {
        return;
    }
    let key = preceding_key(buf, s);
    let digits_only = plain
        .bytes()
        .all(|b| b.is_ascii_digit() || b == b':' || b == b'-');
    let conf = match hint_of(key) {
        KeyHint::Mac => Confidence::High,
        _ if digits_only => Confidence::Low,
        _ => Confidence::Medium,
    };
    let note = mac_note(&mac, key);
    let enc = if url { Encoding::Url } else { Encoding::Plain };
    out.push(found(
        buf,
        (s, e),
        IdKind::Mac,
        format_mac(&mac),
        enc,
        conf,
        key,
        note,
    ));
}

fn uuid(buf: &[u8], s: usize, e: usize, out: &mut Vec<IdentifierMatch>) {
    if s > 0 && alnum_at(buf, s - 1) || alnum_at(buf, e) {
        return;
    }
    let key = preceding_key(buf, s);
    if hint_of(key) != KeyHint::AdId {
        return;
    }
    let Some(v) = canonical_uuid(&text(&buf[s..e])) else {
        return;
    };
    let (conf, note) = if v.bytes().all(|b| b == b'0' || b == b'-') {
        (Confidence::Low, Some(NOTE_AD_ID_ZERO))
    } else {
        (Confidence::High, None)
    };
    out.push(found(
        buf,
        (s, e),
        IdKind::AdId,
        v,
        Encoding::Plain,
        conf,
        key,
        note,
    ));
}

fn email(buf: &[u8], mut s: usize, e: usize, out: &mut Vec<IdentifierMatch>) {
    // Leading punctuation and escapes (`%22`) are not part of the address.
    while s < e {
        if buf[s] == b'%' && s + 3 <= e && !buf[s..s + 3].eq_ignore_ascii_case(b"%40") {
            s += 3;
        } else if matches!(buf[s], b'.' | b'+' | b'-' | b'_' | b'%') {
            s += 1;
        } else {
            break;
        }
    }
    let raw = &buf[s..e];
    let (at, at_len) = match raw.iter().position(|&b| b == b'@') {
        Some(i) => (i, 1),
        None => match raw.windows(3).position(|w| w.eq_ignore_ascii_case(b"%40")) {
            Some(i) => (i, 3),
            None => return,
        },
    };
    let local = text(&raw[..at]);
    let domain = text(&raw[at + at_len..]);
    if !email_plausible(&local, &domain) {
        return;
    }
    let key = preceding_key(buf, s);
    let (conf, note) = if email_is_role(&local) {
        (Confidence::Low, Some(NOTE_EMAIL_ROLE))
    } else if hint_of(key) == KeyHint::Email {
        (Confidence::High, None)
    } else {
        (Confidence::Medium, None)
    };
    let value = format!("{local}@{domain}").to_lowercase();
    let enc = if at_len == 3 {
        Encoding::Url
    } else {
        Encoding::Plain
    };
    out.push(found(
        buf,
        (s, e),
        IdKind::Email,
        value,
        enc,
        conf,
        key,
        note,
    ));
}

fn push_location(
    buf: &[u8],
    span: (usize, usize),
    lat: &[u8],
    lon: &[u8],
    key: Option<&str>,
    out: &mut Vec<IdentifierMatch>,
) {
    let (lat_s, lon_s) = (text(lat), text(lon));
    let (Ok(la), Ok(lo)) = (lat_s.parse::<f64>(), lon_s.parse::<f64>()) else {
        return;
    };
    // Both within a degree of (0, 0) is open sea, and far more often a pair
    // of normalised values (screen positions, ratios) than a place.
    if !coordinates_plausible(la, lo) || (la.abs() <= 1.0 && lo.abs() <= 1.0) {
        return;
    }
    let value = format!("{lat_s},{lon_s}");
    let enc = if buf[span.0..span.1].contains(&b'%') {
        Encoding::Url
    } else {
        Encoding::Plain
    };
    out.push(found(
        buf,
        span,
        IdKind::Location,
        value,
        enc,
        Confidence::High,
        key,
        None,
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hand loop finds exactly what `[0-9A-Fa-f]{12,16}` finds with the
    /// regex crate, on random text rich in hex digits and at run edges.
    #[test]
    fn hex_runs_equal_the_regex() {
        let re = re(r"[0-9A-Fa-f]{12,16}").unwrap();
        let alphabet = b"0123456789abcdefABCDEFxyz-:=&\" \n";
        let mut x: u64 = 0x0123_4567_89ab_cdef;
        for round in 0..2_000 {
            let len = round % 97;
            let text: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    // Mostly hex digits, so long runs occur.
                    if x % 10 < 8 {
                        alphabet[(x >> 8) as usize % 22]
                    } else {
                        alphabet[(x >> 8) as usize % alphabet.len()]
                    }
                })
                .collect();
            for (a, b) in [(0, text.len()), (len / 3, len - len / 4)] {
                let want: Vec<(usize, usize)> = re
                    .find_iter(&text[a..b])
                    .map(|m| (a + m.start(), a + m.end()))
                    .collect();
                let mut got = Vec::new();
                hex_runs(&text, a, b, |s, e| got.push((s, e)));
                assert_eq!(got, want, "{:?}", String::from_utf8_lossy(&text[a..b]));
            }
        }
    }

    fn scan(s: &str) -> Vec<IdentifierMatch> {
        let mut v = Detectors::new().scan(s.as_bytes());
        v.sort_by_key(|m| (m.start, m.end));
        v
    }

    fn one(s: &str) -> IdentifierMatch {
        let v = scan(s);
        assert_eq!(v.len(), 1, "{s}: {v:#?}");
        v.into_iter().next().unwrap()
    }

    /// The runs as a byte-by-byte walk finds them.
    fn byte_windows_reference(
        buf: &[u8],
        table: &[bool; 256],
        min_run: usize,
    ) -> Vec<(usize, usize)> {
        let mut runs = Vec::new();
        let mut i = 0;
        while i < buf.len() {
            let s = i;
            while i < buf.len() && table[usize::from(buf[i])] {
                i += 1;
            }
            if i - s >= min_run.max(1) {
                runs.push((s, i));
            }
            i = i.max(s + 1);
        }
        let mut out: Vec<(usize, usize)> = Vec::new();
        for (s, e) in runs {
            match out.last_mut() {
                Some(last) if s - last.1 <= 64 => last.1 = e,
                _ => out.push((s, e)),
            }
        }
        out
    }

    proptest::proptest! {
        /// Bytes from a small alphabet, so that runs of every length, and
        /// gaps either side of the merge distance, come up.
        #[test]
        fn byte_windows_as_a_walk(
            buf in proptest::collection::vec(proptest::prop_oneof![
                6 => proptest::strategy::Just(b'a'), 2 => proptest::strategy::Just(0u8),
                1 => proptest::strategy::Just(b'7'), 1 => proptest::strategy::Just(b'"')
            ], 0..400),
            min_run in 1usize..12,
        ) {
            proptest::prop_assert_eq!(
                byte_windows(&buf, &ID_BYTE, min_run),
                byte_windows_reference(&buf, &ID_BYTE, min_run)
            );
        }
    }

    #[test]
    fn byte_windows_at_the_edges() {
        type Case = (&'static [u8], usize, Vec<(usize, usize)>);
        let cases: [Case; 6] = [
            (b"", 5, vec![]),
            (b"abcd", 5, vec![]),
            (b"abcde", 5, vec![(0, 5)]),
            (b"\0\0abcde", 5, vec![(2, 7)]),
            (b"abcde\0", 5, vec![(0, 5)]),
            (b"a\0bcdef", 1, vec![(0, 7)]),
        ];
        for (buf, min_run, want) in cases {
            assert_eq!(byte_windows(buf, &ID_BYTE, min_run), want, "{buf:?}");
            assert_eq!(
                byte_windows_reference(buf, &ID_BYTE, min_run),
                want,
                "{buf:?}"
            );
        }
    }

    /// A window the pre-checks turn away holds no match of the regex they
    /// guard, on texts dense in near misses (`+0`, `%2b`, `%4`, `@`).
    #[test]
    fn prechecks_keep_every_match() {
        let d = Detectors::new();
        let (Some(phone), Some(email)) = (&d.phone, &d.email) else {
            panic!("detectors did not compile");
        };
        const TOKENS: &[&[u8]] = &[
            b"+", b"%2B", b"%2b", b"%2", b"%40", b"%4", b"@", b"a.b", b"0", b"86", b" 12", b"+1",
            b"x", b"-34",
        ];
        let (mut phones, mut emails) = (0, 0);
        for t in super::super::tests::token_texts(TOKENS, 5_000, 17) {
            let p = phone.find_iter(&t).count();
            let e = email.find_iter(&t).count();
            assert!(
                p == 0 || may_hold_phone(&t),
                "{:?}",
                String::from_utf8_lossy(&t)
            );
            assert!(
                e == 0 || may_hold_email(&t),
                "{:?}",
                String::from_utf8_lossy(&t)
            );
            phones += p;
            emails += e;
        }
        assert!(phones > 100 && emails > 100, "{phones} {emails}");
    }

    #[test]
    fn regexes_compile() {
        assert!(Detectors::new().all_compiled());
    }

    #[test]
    fn imei_rules() {
        let m = one("GET /a?imei=865123456789019&x=1");
        assert_eq!((m.kind, m.confidence), (IdKind::Imei, Confidence::High));
        assert_eq!((m.start, m.end, m.key.as_deref()), (12, 27, Some("imei")));
        let m = one(r#"{"deviceId":"353325101234567"}"#);
        let expect = if luhn_valid(b"353325101234567") {
            Confidence::High
        } else {
            Confidence::Low
        };
        assert_eq!((m.kind, m.confidence), (IdKind::Imei, expect));
        // Luhn-valid, plausible TAC, no key: Low.
        let m = one("blob 490154203237518 end");
        assert_eq!((m.kind, m.confidence), (IdKind::Imei, Confidence::Low));
        // ...unless glued to a device word, as in make_corpus's MQTT client
        // ids: Medium.
        let m = one("\x10\x25\x00\x04MQTT\x04\x02\x00\x3c\x00\x17android-490154203237518");
        assert_eq!((m.kind, m.confidence), (IdKind::Imei, Confidence::Medium));
        assert_eq!(
            one("x=myandroid-490154203237518").confidence,
            Confidence::Low
        );
        // The shared capture's device_id: fails Luhn, reported Low with a note.
        let m = one(r#"{"device_id":"350672920106648"}"#);
        assert_eq!((m.kind, m.confidence), (IdKind::Imei, Confidence::Low));
        assert_eq!(m.note, Some(NOTE_LUHN_FAILED));
        // Under an imei key, failing Luhn: Low.
        assert_eq!(one("imei=490154203237519").confidence, Confidence::Low);
        // 14 digits under an IMEI key: completed.
        let m = one("imei=86512345678901;");
        assert_eq!(
            (m.value.as_str(), m.confidence),
            ("865123456789019", Confidence::Medium)
        );
        // 16 digits under an imeisv key.
        let m = one("imeisv=8651234567890105");
        assert_eq!((m.kind, m.confidence), (IdKind::Imeisv, Confidence::High));
    }

    #[test]
    fn no_match_inside_longer_runs() {
        assert!(scan("imei=1865123456789019").is_empty());
        assert!(scan("imei=86512345678901912").is_empty());
        assert!(scan("x=3.865123456789019").is_empty());
        assert!(scan("x=865123456789019.5").is_empty());
        assert!(scan("h=ab865123456789019cd").is_empty());
    }

    #[test]
    fn imsi_rules() {
        let m = one("imsi=460011234567890");
        assert_eq!((m.kind, m.confidence), (IdKind::Imsi, Confidence::High));
        let m = one("subscriber_id: 262011234567890\n");
        assert_eq!((m.kind, m.confidence), (IdKind::Imsi, Confidence::High));
        assert_eq!(one("imsi=123011234567890").confidence, Confidence::Low);
        // Decoy from make_corpus: 15 digits starting 1, failing Luhn.
        assert!(scan("order_id=123456789012340").is_empty());
    }

    #[test]
    fn iccid_rules() {
        let body = b"898601123456789012";
        let mut v = body.to_vec();
        v.push(luhn_check_digit(body).unwrap());
        let id = String::from_utf8(v).unwrap();
        let m = one(&format!("iccid={id}"));
        assert_eq!((m.kind, m.confidence), (IdKind::Iccid, Confidence::High));
        assert_eq!(one(&format!("x {id} y")).confidence, Confidence::Medium);
    }

    #[test]
    fn phone_rules() {
        let m = one("msisdn=%2B4915112345678&x");
        assert_eq!(
            (m.kind, m.confidence, m.encoding),
            (IdKind::Phone, Confidence::High, Encoding::Url)
        );
        assert_eq!((m.value.as_str(), m.start), ("+4915112345678", 7));
        let m = one(r#"{"tel": "+8613812345678"}"#);
        assert_eq!(m.confidence, Confidence::High);
        assert_eq!(one("call +8613812345678 now").confidence, Confidence::Low);
        let m = one("X-Phone-Number: +86 138 1234 5678\r\n");
        assert_eq!(
            (m.value.as_str(), m.confidence),
            ("+8613812345678", Confidence::High)
        );
        let m = one("phone=%2B1%20415%20555%201234&");
        assert_eq!(
            (m.value.as_str(), m.encoding),
            ("+14155551234", Encoding::Url)
        );
        let m = one("mobile=8613812345678");
        assert_eq!(
            (m.value.as_str(), m.confidence),
            ("+8613812345678", Confidence::Medium)
        );
        assert!(scan("v=+0100 a").is_empty());
    }

    #[test]
    fn mac_rules() {
        let m = one(r#"{"wifi_mac":"3C:A6:F6:12:34:56"}"#);
        assert_eq!(
            (m.value.as_str(), m.confidence),
            ("3c:a6:f6:12:34:56", Confidence::High)
        );
        let m = one("mac=3c%3Aa6%3Af6%3A12%3A34%3A56&");
        assert_eq!(
            (m.encoding, m.confidence),
            (Encoding::Url, Confidence::High)
        );
        assert_eq!(
            one("seen 3c-a6-f6-12-34-56 x").confidence,
            Confidence::Medium
        );
        assert_eq!(one("mac=3ca6f6123456").confidence, Confidence::High);
        assert!(scan("mac=ff:ff:ff:ff:ff:ff").is_empty());
        assert!(scan("mac=01:00:5e:00:00:fb").is_empty());
        assert!(scan("mac=00:00:00:00:00:00").is_empty());
        assert!(scan("addr fe80::aa:bb:cc:dd:ee:ff x").is_empty());
        assert!(scan("aa:3c:a6:f6:12:34:56").is_empty());
        assert!(scan("x=3ca6f6123456").is_empty());
        let m = one("mac: 02:11:22:33:44:55");
        assert_eq!(m.note, Some(NOTE_MAC_LOCAL));
        let m = one(r#"{"bssid":"c0:ee:fb:01:02:03"}"#);
        assert_eq!((m.confidence, m.note), (Confidence::High, Some(NOTE_BSSID)));
    }

    #[test]
    fn android_and_ad_ids() {
        let m = one(r#"{"android_id":"9F1C2B3A4D5E6F70"}"#);
        assert_eq!(
            (m.kind, m.value.as_str()),
            (IdKind::AndroidId, "9f1c2b3a4d5e6f70")
        );
        assert!(scan("trace=9f1c2b3a4d5e6f70").is_empty());
        let m = one("gaid=6F1E2D3C-4B5A-4978-8695-A4B3C2D1E0F9");
        assert_eq!((m.kind, m.confidence), (IdKind::AdId, Confidence::High));
        assert_eq!(m.value, "6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9");
        let m = one("idfa=00000000-0000-0000-0000-000000000000");
        assert_eq!(
            (m.confidence, m.note),
            (Confidence::Low, Some(NOTE_AD_ID_ZERO))
        );
        assert!(scan("request_id=6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9").is_empty());
    }

    #[test]
    fn emails() {
        let m = one(r#"{"email":"Li.Wei@Example.CN"}"#);
        assert_eq!(
            (m.value.as_str(), m.confidence),
            ("li.wei@example.cn", Confidence::High)
        );
        let m = one("u=li.wei%40example.cn&");
        assert_eq!(
            (m.encoding, m.confidence),
            (Encoding::Url, Confidence::Medium)
        );
        assert!(scan("src=icon@2x.png").is_empty());
        assert_eq!(
            one("mailto:support@example.com").confidence,
            Confidence::Low
        );
    }

    #[test]
    fn coordinates() {
        let m = one("lat=39.904211&lon=116.407395&x=1");
        assert_eq!(
            (m.kind, m.value.as_str()),
            (IdKind::Location, "39.904211,116.407395")
        );
        assert_eq!((m.start, m.end), (4, 28));
        let m = one(r#"{"longitude": 116.407395, "latitude": 39.904211}"#);
        assert_eq!(m.value, "39.904211,116.407395");
        assert_eq!(one("geo:39.9042,116.4074?z=3").kind, IdKind::Location);
        assert_eq!(one("ll=39.9042%2C116.4074").encoding, Encoding::Url);
        assert!(scan("lat=39.90&lon=116.40").is_empty());
        assert!(scan("lat=99.123&lon=116.407").is_empty());
        assert!(scan("price=39.904,116.407").is_empty());
        assert!(scan("ll=0.500,0.250").is_empty());
    }
}
