//! Hand-written finders for the fixed-shape patterns: MAC addresses with
//! separators, UUIDs, decimal numbers and coordinate pairs.
//!
//! Each one finds exactly what `find_iter` (or `captures_iter`) of the
//! regular expression in its doc finds, leftmost first and without
//! overlaps, in `buf[a..b]`; the tests hold them to that against the regex
//! crate. Why by hand: scanning one 82-byte header
//! (`User-Agent: Dalvik/2.1.0 (Linux; ...)`) cost about 15,000
//! instructions, most of them regex searches that the separators `:`, `-`
//! and `.` of ordinary text start, and identifier search was a sixth of a
//! whole analysis. These shapes have a fixed anchor byte (the first
//! separator, the dash after 8 hex digits, the decimal point), so a
//! `memchr` for it and a few byte tests around it decide each candidate.

use memchr::{memchr, memchr3};

fn hex(buf: &[u8], i: usize) -> bool {
    buf[i].is_ascii_hexdigit()
}

/// `[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}|[0-9A-Fa-f]{2}(?:-[0-9A-Fa-f]{2}){5}|[0-9A-Fa-f]{2}(?:%3[Aa][0-9A-Fa-f]{2}){5}`:
/// six hex pairs joined by one kind of separator.
pub(crate) fn macs(buf: &[u8], a: usize, b: usize, mut f: impl FnMut(usize, usize)) {
    // A match's first separator is its third byte, so every separator at
    // `j` proposes the start `j - 2`, in increasing order.
    let mut from = a + 2;
    while from < b {
        let Some(j) = memchr3(b':', b'-', b'%', &buf[from..b]).map(|k| from + k) else {
            return;
        };
        match mac_at(buf, j - 2, b) {
            Some(end) => {
                f(j - 2, end);
                from = end + 2;
            }
            None => from = j + 1,
        }
    }
}

/// The end of a MAC starting at `i` (its first separator at `i + 2`).
fn mac_at(buf: &[u8], i: usize, b: usize) -> Option<usize> {
    let sep = match buf[i + 2] {
        b':' | b'-' => 1,
        b'%' => 3,
        _ => return None,
    };
    let end = i + 2 + 5 * (sep + 2);
    if end > b || !hex(buf, i) || !hex(buf, i + 1) {
        return None;
    }
    let first = buf[i + 2];
    for k in 0..5 {
        let p = i + 2 + k * (sep + 2);
        let sep_ok = if sep == 1 {
            buf[p] == first
        } else {
            buf[p] == b'%' && buf[p + 1] == b'3' && matches!(buf[p + 2], b'A' | b'a')
        };
        if !sep_ok || !hex(buf, p + sep) || !hex(buf, p + sep + 1) {
            return None;
        }
    }
    Some(end)
}

/// `[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}`.
pub(crate) fn uuids(buf: &[u8], a: usize, b: usize, mut f: impl FnMut(usize, usize)) {
    const LEN: usize = 36;
    const DASHES: [usize; 4] = [8, 13, 18, 23];
    // The first dash is the ninth byte: each dash proposes one start.
    let mut from = a + 8;
    while from < b {
        let Some(j) = memchr(b'-', &buf[from..b]).map(|k| from + k) else {
            return;
        };
        let i = j - 8;
        let whole = i + LEN <= b
            && (0..LEN).all(|k| {
                if DASHES.contains(&k) {
                    buf[i + k] == b'-'
                } else {
                    hex(buf, i + k)
                }
            });
        if whole {
            f(i, i + LEN);
            from = i + LEN + 8;
        } else {
            from = j + 1;
        }
    }
}

/// A decimal number `-?[0-9]{1,INT}\.[0-9]{3,12}` whose point is at `t`,
/// starting no earlier than `pos`: its start and the end of its fraction,
/// the regex's leftmost and greedy choice.
fn decimal_at(buf: &[u8], pos: usize, t: usize, b: usize, int: usize) -> Option<(usize, usize)> {
    // The integer digits may not be more than `int` in a row before the
    // point, so the leftmost start is at most `int` digits back; a longer
    // run only moves the start right, to the same point.
    let mut i = t;
    while i > pos && t - i < int && buf[i - 1].is_ascii_digit() {
        i -= 1;
    }
    if i == t {
        return None;
    }
    let mut e = t + 1;
    while e < b && e - t <= 12 && buf[e].is_ascii_digit() {
        e += 1;
    }
    if e - t - 1 < 3 {
        return None;
    }
    // A sign only in front of the whole run (a digit before `i` is not a
    // sign).
    let s = if i > pos && buf[i - 1] == b'-' {
        i - 1
    } else {
        i
    };
    Some((s, e))
}

/// `-?[0-9]{1,3}\.[0-9]{3,12}`.
pub(crate) fn decimals(buf: &[u8], a: usize, b: usize, mut f: impl FnMut(usize, usize)) {
    by_point(
        buf,
        a,
        b,
        |pos, t| decimal_at(buf, pos, t, b, 3).map(|span| (span, span.1)),
        |(s, e)| f(s, e),
    );
}

/// The search both number shapes share: every match has a decimal point
/// that decides it (`at(pos, t)`: the match whose first point is at `t`,
/// starting no earlier than `pos`, and its end), and points come in
/// order, so matches do.
fn by_point<T>(
    buf: &[u8],
    a: usize,
    b: usize,
    at: impl Fn(usize, usize) -> Option<(T, usize)>,
    mut f: impl FnMut(T),
) {
    let mut pos = a;
    let mut from = a;
    while from < b {
        let Some(t) = memchr(b'.', &buf[from..b]).map(|k| from + k) else {
            return;
        };
        match at(pos, t) {
            Some((m, end)) => {
                f(m);
                pos = end;
                from = end;
            }
            None => from = t + 1,
        }
    }
}

/// A coordinate pair as the regex
/// `(-?[0-9]{1,2}\.[0-9]{3,12}) ?(?:,|%2[Cc]) ?(-?[0-9]{1,3}\.[0-9]{3,12})`
/// captures it: the whole match and its two numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Pair {
    pub(crate) all: (usize, usize),
    pub(crate) first: (usize, usize),
    pub(crate) second: (usize, usize),
}

/// Every [`Pair`] in `buf[a..b]`.
pub(crate) fn pairs(buf: &[u8], a: usize, b: usize, f: impl FnMut(Pair)) {
    by_point(
        buf,
        a,
        b,
        |pos, t| pair_at(buf, pos, t, b).map(|p| (p, p.all.1)),
        f,
    );
}

/// The pair whose first number has its point at `t`. Every step is forced:
/// a first fraction of more than 12 digits fails on the digit that follows
/// (it is neither space nor comma), and an optional space, when present,
/// must be taken (without it the next byte would have to be the space
/// itself).
fn pair_at(buf: &[u8], pos: usize, t: usize, b: usize) -> Option<Pair> {
    let first = decimal_at(buf, pos, t, b, 2)?;
    let mut p = first.1;
    let at = |p: usize| buf.get(p).copied().filter(|_| p < b);
    if at(p) == Some(b' ') {
        p += 1;
    }
    if at(p) == Some(b',') {
        p += 1;
    } else if at(p) == Some(b'%')
        && at(p + 1) == Some(b'2')
        && matches!(at(p + 2), Some(b'C' | b'c'))
    {
        p += 3;
    } else {
        return None;
    }
    if at(p) == Some(b' ') {
        p += 1;
    }
    let start = p;
    if at(p) == Some(b'-') {
        p += 1;
    }
    let digits = buf[p..b].iter().take_while(|c| c.is_ascii_digit()).count();
    if !(1..=3).contains(&digits) || at(p + digits) != Some(b'.') {
        return None;
    }
    let (_, end) = decimal_at(buf, p, p + digits, b, 3)?;
    Some(Pair {
        all: (first.0, end),
        first,
        second: (start, end),
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::token_texts;
    use super::*;
    use regex::bytes::{Regex, RegexBuilder};

    fn re(p: &str) -> Regex {
        RegexBuilder::new(p).unicode(false).build().unwrap()
    }

    fn ranges(len: usize) -> [(usize, usize); 3] {
        [(0, len), (len / 3, len - len / 4), (len / 2, len)]
    }

    type Finder = fn(&[u8], usize, usize, &mut Vec<(usize, usize)>);

    /// The finder's spans equal the regex's on texts of `tokens`, which
    /// yield at least `min_seen` matches in all.
    fn check_spans(
        pattern: &str,
        tokens: &'static [&'static [u8]],
        min_seen: usize,
        finder: Finder,
    ) {
        let re = re(pattern);
        let mut seen = 0;
        for text in token_texts(tokens, 3_000, 29) {
            for (a, b) in ranges(text.len()) {
                let want: Vec<(usize, usize)> = re
                    .find_iter(&text[a..b])
                    .map(|m| (a + m.start(), a + m.end()))
                    .collect();
                seen += want.len();
                let mut got = Vec::new();
                finder(&text, a, b, &mut got);
                assert_eq!(got, want, "{:?}", String::from_utf8_lossy(&text[a..b]));
            }
        }
        assert!(seen >= min_seen, "{pattern}: {seen} matches");
    }

    #[test]
    fn macs_equal_the_regex() {
        check_spans(
            concat!(
                r"[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}",
                r"|[0-9A-Fa-f]{2}(?:-[0-9A-Fa-f]{2}){5}",
                r"|[0-9A-Fa-f]{2}(?:%3[Aa][0-9A-Fa-f]{2}){5}"
            ),
            &[
                b"0a",
                b"F9",
                b"e",
                b":",
                b"-",
                b"%3A",
                b"%2C",
                b"x",
                b"0a:",
                b"0a:0b:0c:",
                b"0a:0b:",
                b"0a-",
                b"0a-0b-0c-",
                b"0a%3A",
                b"0a%3a0b%3A",
                b"0a%3A0b%3a0c%3A",
            ],
            300,
            |t, a, b, out| macs(t, a, b, |s, e| out.push((s, e))),
        );
    }

    #[test]
    fn uuids_equal_the_regex() {
        check_spans(
            r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}",
            &[
                b"0aF9",
                b"e",
                b"-",
                b"x",
                b"0aF9e3b1-",
                b"0aF9-",
                b"0aF9-",
                b"0aF9-",
                b"0aF9e3b10aF9",
                b"0aF9e3b1-0aF9-",
                b"0aF9-0aF9e3b10aF9",
            ],
            100,
            |t, a, b, out| uuids(t, a, b, |s, e| out.push((s, e))),
        );
    }

    const NUMBER_TOKENS: &[&[u8]] = &[
        b"1",
        b"52",
        b"913",
        b"5200",
        b".",
        b"123",
        b"4567",
        b"1234567890123",
        b"-",
        b",",
        b" ",
        b"%2C",
        b"%2c",
        b"x",
        b"52.5200",
        b"-1.234",
        b"13.404954",
        b"123.45678",
        b", ",
        b"0.1234567890123",
    ];

    #[test]
    fn decimals_equal_the_regex() {
        check_spans(
            r"-?[0-9]{1,3}\.[0-9]{3,12}",
            NUMBER_TOKENS,
            1_000,
            |t, a, b, out| decimals(t, a, b, |s, e| out.push((s, e))),
        );
    }

    #[test]
    fn pairs_equal_the_regex() {
        let re = re(r"(-?[0-9]{1,2}\.[0-9]{3,12}) ?(?:,|%2[Cc]) ?(-?[0-9]{1,3}\.[0-9]{3,12})");
        let mut seen = 0;
        for text in token_texts(NUMBER_TOKENS, 3_000, 29) {
            for (a, b) in ranges(text.len()) {
                let want: Vec<Pair> = re
                    .captures_iter(&text[a..b])
                    .map(|c| {
                        let span = |i: usize| {
                            let m = c.get(i).unwrap();
                            (a + m.start(), a + m.end())
                        };
                        Pair {
                            all: span(0),
                            first: span(1),
                            second: span(2),
                        }
                    })
                    .collect();
                seen += want.len();
                let mut got = Vec::new();
                pairs(&text, a, b, |p| got.push(p));
                assert_eq!(got, want, "{:?}", String::from_utf8_lossy(&text[a..b]));
            }
        }
        assert!(seen >= 300, "{seen} pairs");
    }

    #[test]
    fn shapes_at_the_edges() {
        let mut got = Vec::new();
        macs(b"aa:bb:cc:dd:ee:ff", 0, 17, |s, e| got.push((s, e)));
        macs(b"aa:bb:cc:dd:ee:ff", 0, 16, |s, e| got.push((s, e)));
        macs(b"aa-bb:cc:dd:ee:ff", 0, 17, |s, e| got.push((s, e)));
        macs(b"xaa%3Abb%3acc%3Add%3Aee%3Aff", 1, 28, |s, e| {
            got.push((s, e))
        });
        assert_eq!(got, [(0, 17), (1, 28)]);
        let mut got = Vec::new();
        decimals(b"1234.5678 -1.234 .123 1.12", 0, 26, |s, e| {
            got.push((s, e))
        });
        assert_eq!(got, [(1, 9), (10, 16)]);
        let mut got = Vec::new();
        pairs(b"52.520008, 13.404954", 0, 20, |p| got.push(p));
        assert_eq!(
            got,
            [Pair {
                all: (0, 20),
                first: (0, 9),
                second: (11, 20)
            }]
        );
    }
}
