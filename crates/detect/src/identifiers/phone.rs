//! Phone numbers: calling codes, national trunk prefixes, canonical E.164.

/// Countries a profile may name with `country = "XX"` so that its phone
/// numbers can be written in national format: ISO 3166 code, E.164 calling
/// code, national trunk prefix (what is dialled before the national number
/// inside the country; empty where there is none). Numbers of other countries
/// must be written in E.164 (`+…`).
const COUNTRIES: &[(&str, &str, &str)] = &[
    ("AE", "971", "0"),
    ("AR", "54", "0"),
    ("AT", "43", "0"),
    ("AU", "61", "0"),
    ("BD", "880", "0"),
    ("BE", "32", "0"),
    ("BG", "359", "0"),
    ("BR", "55", "0"),
    ("CA", "1", "1"),
    ("CH", "41", "0"),
    ("CL", "56", ""),
    ("CN", "86", "0"),
    ("CO", "57", ""),
    ("CZ", "420", ""),
    ("DE", "49", "0"),
    ("DK", "45", ""),
    ("EG", "20", "0"),
    ("ES", "34", ""),
    ("FI", "358", "0"),
    ("FR", "33", "0"),
    ("GB", "44", "0"),
    ("GR", "30", ""),
    ("HK", "852", ""),
    ("HU", "36", "06"),
    ("ID", "62", "0"),
    ("IE", "353", "0"),
    ("IL", "972", "0"),
    ("IN", "91", "0"),
    ("IR", "98", "0"),
    ("IT", "39", ""),
    ("JP", "81", "0"),
    ("KE", "254", "0"),
    ("KR", "82", "0"),
    ("KZ", "7", "8"),
    ("LU", "352", ""),
    ("MA", "212", "0"),
    ("MX", "52", ""),
    ("MY", "60", "0"),
    ("NG", "234", "0"),
    ("NL", "31", "0"),
    ("NO", "47", ""),
    ("NZ", "64", "0"),
    ("PE", "51", "0"),
    ("PH", "63", "0"),
    ("PK", "92", "0"),
    ("PL", "48", ""),
    ("PT", "351", ""),
    ("RO", "40", "0"),
    ("RU", "7", "8"),
    ("SA", "966", "0"),
    ("SE", "46", "0"),
    ("SG", "65", ""),
    ("SK", "421", "0"),
    ("TH", "66", "0"),
    ("TR", "90", "0"),
    ("TW", "886", "0"),
    ("UA", "380", "0"),
    ("US", "1", "1"),
    ("VN", "84", "0"),
    ("ZA", "27", "0"),
];

/// The calling code and trunk prefix of a country code (case-insensitive).
pub(crate) fn country(iso: &str) -> Option<(&'static str, &'static str)> {
    COUNTRIES
        .iter()
        .find(|(c, _, _)| c.eq_ignore_ascii_case(iso))
        .map(|&(_, cc, trunk)| (cc, trunk))
}

/// The national trunk prefix used with a calling code; `0` (the most common)
/// when the code is not in the table, since a wrong guess only adds a search
/// key that never matches.
pub(crate) fn trunk_for(cc: &str) -> &'static str {
    COUNTRIES
        .iter()
        .find(|(_, c, _)| *c == cc)
        .map_or("0", |&(_, _, t)| t)
}

/// E.164 calling codes are prefix-free: two one-digit codes, a fixed set of
/// two-digit codes, all others three digits.
const TWO_DIGIT_CODES: &[&[u8; 2]] = &[
    b"20", b"27", b"30", b"31", b"32", b"33", b"34", b"36", b"39", b"40", b"41", b"43", b"44",
    b"45", b"46", b"47", b"48", b"49", b"51", b"52", b"53", b"54", b"55", b"56", b"57", b"58",
    b"60", b"61", b"62", b"63", b"64", b"65", b"66", b"81", b"82", b"84", b"86", b"90", b"91",
    b"92", b"93", b"94", b"95", b"98",
];

/// Length of the calling code at the start of international digits (no
/// `+`), or `None` when they start with 0.
pub(crate) fn calling_code_len(digits: &[u8]) -> Option<usize> {
    match digits {
        [b'1' | b'7', ..] => Some(1),
        [a, b, ..] if TWO_DIGIT_CODES.iter().any(|c| c[..] == [*a, *b]) => Some(2),
        [b'1'..=b'9', _, _, ..] => Some(3),
        _ => None,
    }
}

/// Whether international digits (no `+`) have a plausible E.164 shape: a
/// calling code and 8–15 digits in all.
pub(crate) fn e164_plausible(digits: &[u8]) -> bool {
    (8..=15).contains(&digits.len())
        && digits.iter().all(u8::is_ascii_digit)
        && calling_code_len(digits).is_some_and(|n| digits.len() - n >= 6)
}

/// Splits a canonical `+…` number into calling code and national number.
pub(crate) fn split_e164(e164: &str) -> Option<(&str, &str)> {
    let digits = e164.strip_prefix('+')?;
    let n = calling_code_len(digits.as_bytes())?;
    Some((&digits[..n], &digits[n..]))
}

/// Canonicalises a phone number to E.164 (`+` and digits). Accepts `+…`,
/// `00…`, and, with a `country`, the national format with or without the
/// trunk prefix; spaces, dashes, dots and parentheses are ignored.
pub(crate) fn canonical_phone(input: &str, country_code: Option<&str>) -> Result<String, String> {
    let trimmed = input.trim();
    let mut digits = String::new();
    for (i, c) in trimmed.char_indices() {
        match c {
            '0'..='9' => digits.push(c),
            '+' if i == 0 => {}
            ' ' | '-' | '.' | '(' | ')' | '/' => {}
            _ => {
                return Err(format!(
                    "unexpected character {c:?} in phone number {input:?}"
                ));
            }
        }
    }
    let intl = if trimmed.starts_with('+') {
        digits
    } else if let Some(rest) = digits.strip_prefix("00") {
        rest.to_string()
    } else {
        let Some(iso) = country_code else {
            return Err(format!(
                "{input:?} is not in E.164 (+<country code><number>); write it so, or set \
                 `country` on the device"
            ));
        };
        let Some((cc, trunk)) = country(iso) else {
            return Err(format!("unknown country {iso:?}"));
        };
        let national = if !trunk.is_empty() && digits.len() > trunk.len() {
            digits.strip_prefix(trunk).unwrap_or(&digits)
        } else {
            &digits
        };
        format!("{cc}{national}")
    };
    if !e164_plausible(intl.as_bytes()) {
        return Err(format!(
            "{input:?} is not a plausible phone number (E.164: a country code and 8 to 15 \
             digits in all)"
        ));
    }
    Ok(format!("+{intl}"))
}

/// The national number split into the groupings people and apps write:
/// 3-4-4 (China), 3-3-rest (North America, Australia), 3-rest (Germany),
/// and for the countries that use them 4-rest (United Kingdom) and pairs
/// (France, Belgium). Fewer groupings keep the automaton small: each one
/// costs about four patterns per number.
pub(crate) fn groupings<'a>(nsn: &'a str, cc: &str) -> Vec<Vec<&'a str>> {
    let mut out: Vec<Vec<&str>> = Vec::new();
    let n = nsn.len();
    let split = |sizes: &[usize]| -> Vec<&str> {
        let mut parts = Vec::new();
        let mut at = 0;
        for &s in sizes {
            if at + s >= n {
                break;
            }
            parts.push(&nsn[at..at + s]);
            at += s;
        }
        parts.push(&nsn[at..]);
        parts
    };
    if n >= 9 {
        out.push(split(&[3, 4]));
        out.push(split(&[3, 3]));
    }
    if n >= 6 {
        out.push(split(&[3]));
    }
    if n >= 8 && cc == "44" {
        out.push(split(&[4]));
    }
    if n >= 8 && matches!(cc, "33" | "32") {
        // An odd leading digit, then pairs: 6 12 34 56 78.
        let mut sizes = Vec::new();
        if n % 2 == 1 {
            sizes.push(1);
        }
        sizes.extend(std::iter::repeat_n(2, n / 2));
        out.push(split(&sizes));
    }
    out.retain(|g| g.len() > 1);
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_forms() {
        assert_eq!(
            canonical_phone("+8613812345678", None).unwrap(),
            "+8613812345678"
        );
        assert_eq!(
            canonical_phone("+86 138-1234-5678", None).unwrap(),
            "+8613812345678"
        );
        assert_eq!(
            canonical_phone("008613812345678", None).unwrap(),
            "+8613812345678"
        );
        assert_eq!(
            canonical_phone("138 1234 5678", Some("CN")).unwrap(),
            "+8613812345678"
        );
        assert_eq!(
            canonical_phone("0151 12345678", Some("de")).unwrap(),
            "+4915112345678"
        );
        assert_eq!(
            canonical_phone("(415) 555-1234", Some("US")).unwrap(),
            "+14155551234"
        );
        assert_eq!(
            canonical_phone("1 415 555 1234", Some("US")).unwrap(),
            "+14155551234"
        );
        assert_eq!(
            canonical_phone("333 123 4567", Some("IT")).unwrap(),
            "+393331234567"
        );
        assert!(canonical_phone("13812345678", None).is_err());
        assert!(canonical_phone("13812345678", Some("XX")).is_err());
        assert!(canonical_phone("+86 138x", None).is_err());
        assert!(canonical_phone("+0123456789", None).is_err());
        assert!(canonical_phone("+1234", None).is_err());
        assert!(canonical_phone("1+86138", None).is_err());
    }

    #[test]
    fn calling_codes() {
        assert_eq!(split_e164("+8613812345678"), Some(("86", "13812345678")));
        assert_eq!(split_e164("+14155551234"), Some(("1", "4155551234")));
        assert_eq!(split_e164("+35312345678"), Some(("353", "12345678")));
        assert_eq!(split_e164("8613812345678"), None);
        assert_eq!(trunk_for("7"), "8");
        assert_eq!(trunk_for("39"), "");
        assert_eq!(trunk_for("999"), "0");
    }

    #[test]
    fn national_groupings() {
        let g = groupings("13812345678", "86");
        assert!(g.contains(&vec!["138", "1234", "5678"]));
        assert!(g.contains(&vec!["138", "123", "45678"]));
        assert!(g.contains(&vec!["138", "12345678"]));
        assert_eq!(g.len(), 3);
        let g = groupings("612345678", "33");
        assert!(g.contains(&vec!["6", "12", "34", "56", "78"]));
        assert!(groupings("7700900123", "44").contains(&vec!["7700", "900123"]));
        assert!(groupings("12345", "86").is_empty());
    }
}
