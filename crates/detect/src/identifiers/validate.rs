//! Validators: check digits, registries, address bits.
//!
//! The tables are deliberately compact: they only have to tell a plausible
//! identifier from an arbitrary number, not name the operator.

/// Whether `digits` (ASCII decimal digits, at least two) ends in a valid Luhn
/// check digit (ISO/IEC 7812, used by IMEI and ICCID). Anything that is not
/// a digit makes it invalid.
pub fn luhn_valid(digits: &[u8]) -> bool {
    if digits.len() < 2 || !digits.iter().all(u8::is_ascii_digit) {
        return false;
    }
    luhn_sum(digits, 10, false).is_multiple_of(10)
}

/// The Luhn check digit (ASCII) that completes `body` (ASCII digits).
pub(crate) fn luhn_check_digit(body: &[u8]) -> Option<u8> {
    if body.is_empty() || !body.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sum = luhn_sum(body, 10, true);
    // `(10 - sum % 10) % 10` is below 10, so the digit is in range.
    Some(b'0' + ((10 - sum % 10) % 10) as u8)
}

/// Luhn in base `base` (10 for IMEI/ICCID, 16 for the MEID check digit, per
/// 3GPP2 S.R0048). `body_only`: the input lacks its check digit, so the
/// doubling starts at the last digit rather than the one before it.
fn luhn_sum(digits: &[u8], base: u32, body_only: bool) -> u32 {
    let mut sum = 0u32;
    for (i, &c) in digits.iter().rev().enumerate() {
        let d = match (c as char).to_digit(base) {
            Some(d) => d,
            None => return u32::MAX,
        };
        let double = if body_only { i % 2 == 0 } else { i % 2 == 1 };
        sum += if double {
            // The digits of a doubled digit (base b) sum to 2d - (b - 1).
            let x = d * 2;
            if x >= base { x - (base - 1) } else { x }
        } else {
            d
        };
    }
    sum
}

/// Whether a 15-hex-digit MEID (14 digits + check digit) has a valid check
/// digit (Luhn in base 16).
pub(crate) fn meid_check_valid(hex15: &[u8]) -> bool {
    hex15.len() == 15
        && hex15.iter().all(u8::is_ascii_hexdigit)
        && luhn_sum(hex15, 16, false).is_multiple_of(16)
}

/// GSMA reporting bodies: the first two digits of every TAC issued since
/// 2004 name the body that allocated it. We accept the bodies that allocate
/// TACs for phones and modules; `00` (test IMEIs) and `10` (DECT) are left
/// out because a real phone never carries them.
const REPORTING_BODIES: &[&[u8; 2]] = &[
    b"01", // PTCRB (USA)
    b"30", // Iridium
    b"33", // DGPT (France)
    b"35", // BABT (UK), most handsets
    b"44", // BABT (UK)
    b"45", // NTA (Denmark)
    b"49", // BZT / BAPT (Germany)
    b"50", // BZT ETS (Germany)
    b"51", // Cetecom ICT (Germany)
    b"52", // Cetecom ICT (Germany)
    b"53", // TÜV (Germany)
    b"54", // Phoenix Test Lab (Germany)
    b"86", // TAF (China)
    b"91", // MSAI (India)
    b"98", // BABT (UK)
    b"99", // GHA (3GPP2 multi-mode devices)
];

/// Whether an IMEI (or IMEISV, or IMEI body) starts with a TAC reporting body
/// prefix that GSMA assigns to phones: `01`, `30`, `33`, `35`, `44`, `45`,
/// `49`–`54`, `86`, `91`, `98`, `99`.
pub fn imei_reporting_body_plausible(digits: &[u8]) -> bool {
    digits.len() >= 2 && REPORTING_BODIES.iter().any(|rb| digits[..2] == rb[..])
}

/// Mobile country codes in use (ITU-T E.212), sorted. Test networks (001,
/// 999) are excluded: a real subscriber never has them.
const MCCS: &[u16] = &[
    202, 204, 206, 208, 212, 213, 214, 216, 218, 219, 220, 221, 222, 225, 226, 228, 230, 231, 232,
    234, 235, 238, 240, 242, 244, 246, 247, 248, 250, 255, 257, 259, 260, 262, 266, 268, 270, 272,
    274, 276, 278, 280, 282, 283, 284, 286, 288, 289, 290, 292, 293, 294, 295, 297, 302, 308, 310,
    311, 312, 313, 314, 315, 316, 330, 332, 334, 338, 340, 342, 344, 346, 348, 350, 352, 354, 356,
    358, 360, 362, 363, 364, 365, 366, 368, 370, 372, 374, 376, 400, 401, 402, 404, 405, 406, 410,
    412, 413, 414, 415, 416, 417, 418, 419, 420, 421, 422, 424, 425, 426, 427, 428, 429, 430, 431,
    432, 434, 436, 437, 438, 440, 441, 450, 452, 454, 455, 456, 457, 460, 461, 466, 467, 470, 472,
    502, 505, 510, 514, 515, 520, 525, 528, 530, 536, 537, 539, 540, 541, 542, 543, 544, 545, 546,
    547, 548, 549, 550, 551, 552, 553, 554, 555, 602, 603, 604, 605, 606, 607, 608, 609, 610, 611,
    612, 613, 614, 615, 616, 617, 618, 619, 620, 621, 622, 623, 624, 625, 626, 627, 628, 629, 630,
    631, 632, 633, 634, 635, 636, 637, 638, 639, 640, 641, 642, 643, 645, 646, 647, 648, 649, 650,
    651, 652, 653, 654, 655, 657, 658, 659, 702, 704, 706, 708, 710, 712, 714, 716, 722, 724, 730,
    732, 734, 736, 738, 740, 742, 744, 746, 748, 750, 901,
];

/// Whether `mcc` is a mobile country code in use (ITU-T E.212; 901 for
/// international operators included, test codes 001 and 999 excluded).
pub fn mcc_assigned(mcc: u16) -> bool {
    MCCS.binary_search(&mcc).is_ok()
}

/// The MCC of an IMSI-shaped digit string, when it has one in use.
pub(crate) fn imsi_mcc_ok(digits: &[u8]) -> bool {
    digits.len() >= 3
        && digits[..3].iter().all(u8::is_ascii_digit)
        && mcc_assigned(
            digits[..3]
                .iter()
                .fold(0u16, |a, &d| a * 10 + u16::from(d - b'0')),
        )
}

/// Parses a MAC address written with `:`, `-` or `.` separators in the usual
/// groupings, or as 12 bare hex digits.
pub(crate) fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let hex: Vec<u8> = s
        .bytes()
        .filter(|b| !matches!(b, b':' | b'-' | b'.'))
        .collect();
    if hex.len() != 12 || !hex.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    // Separators, if any, must sit between whole groups: 6×2 (`:`/`-`) or
    // 3×4 (`.`, Cisco style).
    let seps = s.len() - 12;
    if seps != 0 && seps != 5 && seps != 2 {
        return None;
    }
    let mut out = [0u8; 6];
    for (i, pair) in hex.chunks(2).enumerate() {
        out[i] = (hex_val(pair[0])? << 4) | hex_val(pair[1])?;
    }
    Some(out)
}

/// Lower-case colon form of a MAC address.
pub(crate) fn format_mac(mac: &[u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Why a MAC address is not a device's address, if it is not.
pub(crate) fn mac_rejection(mac: &[u8; 6]) -> Option<&'static str> {
    if mac.iter().all(|&b| b == 0) {
        Some("all-zero")
    } else if mac.iter().all(|&b| b == 0xff) {
        Some("broadcast")
    } else if mac[0] & 1 == 1 {
        Some("multicast (least significant bit of the first octet set)")
    } else {
        None
    }
}

/// Whether a MAC address is locally administered (second-least significant
/// bit of the first octet): the randomised addresses of modern phones.
pub(crate) fn mac_locally_administered(mac: &[u8; 6]) -> bool {
    mac[0] & 2 == 2
}

/// The value of an ASCII hex digit.
pub(crate) fn hex_val(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Parses a UUID with dashes (8-4-4-4-12) or as 32 bare hex digits, into the
/// lower-case dashed form.
pub(crate) fn canonical_uuid(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let hex: String = match b.len() {
        36 => {
            if [8, 13, 18, 23].iter().any(|&i| b[i] != b'-') {
                return None;
            }
            s.chars().filter(|&c| c != '-').collect()
        }
        32 => s.to_string(),
        _ => return None,
    };
    if hex.len() != 32 || !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let h = hex.to_ascii_lowercase();
    Some(format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    ))
}

/// File extensions that follow `@` in asset names (`icon@2x.png`) and so are
/// not top-level domains of e-mail addresses.
const NOT_TLDS: &[&str] = &[
    "apk", "bmp", "css", "dex", "gif", "gz", "htm", "html", "ico", "jpeg", "jpg", "js", "json",
    "m3u8", "mp3", "mp4", "otf", "pdf", "png", "so", "svg", "ttf", "txt", "webm", "webp", "woff",
    "woff2", "xml", "zip",
];

/// Whether an e-mail-shaped string is plausibly an address: a sane local
/// part, and a top-level domain that is not a file extension.
pub(crate) fn email_plausible(local: &str, domain: &str) -> bool {
    if local.is_empty()
        || local.len() > 64
        || local.starts_with('.')
        || local.ends_with('.')
        || local.contains("..")
    {
        return false;
    }
    let tld = domain.rsplit('.').next().unwrap_or("");
    if domain.len() > 253 || !domain.contains('.') || domain.contains("..") {
        return false;
    }
    let tld_lower = tld.to_ascii_lowercase();
    tld.len() >= 2
        && tld.bytes().all(|b| b.is_ascii_alphabetic())
        && !NOT_TLDS.contains(&tld_lower.as_str())
}

/// Local parts of addresses that belong to an organisation, not a person.
const ROLE_LOCALS: &[&str] = &[
    "abuse",
    "admin",
    "contact",
    "help",
    "hello",
    "info",
    "mailer-daemon",
    "no-reply",
    "noreply",
    "postmaster",
    "privacy",
    "sales",
    "security",
    "support",
    "webmaster",
];

/// Whether the local part names a role (`support@`, `noreply@`).
pub(crate) fn email_is_role(local: &str) -> bool {
    ROLE_LOCALS.contains(&local.to_ascii_lowercase().as_str())
}

/// Whether a coordinate pair is plausible: in range and not the (0, 0)
/// "null island" that unset fields produce.
pub(crate) fn coordinates_plausible(lat: f64, lon: f64) -> bool {
    lat.is_finite()
        && lon.is_finite()
        && (-90.0..=90.0).contains(&lat)
        && (-180.0..=180.0).contains(&lon)
        && !(lat == 0.0 && lon == 0.0)
}

/// The Android ID that a bug in Android 2.2 gave to many devices at once; a
/// match says nothing about which device sent it.
pub(crate) const SHARED_ANDROID_ID: &str = "9774d56d682e549c";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_on_real_shaped_imeis() {
        assert!(luhn_valid(b"490154203237518"));
        assert!(luhn_valid(b"865123456789019"));
        assert!(!luhn_valid(b"490154203237519"));
        assert!(!luhn_valid(b"350672920106648"));
        assert!(!luhn_valid(b"49015420323751x"));
        assert!(!luhn_valid(b"4"));
        assert_eq!(luhn_check_digit(b"49015420323751"), Some(b'8'));
        assert_eq!(luhn_check_digit(b"86512345678901"), Some(b'9'));
        assert_eq!(luhn_check_digit(b""), None);
    }

    #[test]
    fn luhn_on_iccid() {
        // 19-digit ICCID with its Luhn digit (E.118).
        let body = b"898601123456789012";
        let d = luhn_check_digit(body).unwrap();
        let mut full = body.to_vec();
        full.push(d);
        assert!(luhn_valid(&full));
        full[5] = if full[5] == b'9' { b'0' } else { full[5] + 1 };
        assert!(!luhn_valid(&full));
    }

    #[test]
    fn meid_check_digit() {
        // Whatever the body, exactly one hex digit completes it, and a
        // 14-digit MEID has no check digit to verify.
        let body = b"A0000000002329";
        let ok = (0..16u8)
            .filter(|&d| {
                let mut v = body.to_vec();
                v.push(b"0123456789ABCDEF"[d as usize]);
                meid_check_valid(&v)
            })
            .count();
        assert_eq!(ok, 1, "exactly one check digit completes an MEID");
        assert!(!meid_check_valid(b"A000000000232"));
    }

    #[test]
    fn reporting_bodies() {
        assert!(imei_reporting_body_plausible(b"35332510"));
        assert!(imei_reporting_body_plausible(b"86512345"));
        assert!(imei_reporting_body_plausible(b"01"));
        assert!(!imei_reporting_body_plausible(b"00123456"));
        assert!(!imei_reporting_body_plausible(b"10123456"));
        assert!(!imei_reporting_body_plausible(b"1"));
    }

    #[test]
    fn mcc_table() {
        assert!(MCCS.windows(2).all(|w| w[0] < w[1]), "sorted, unique");
        for mcc in [262, 310, 234, 208, 460, 404, 724, 505, 655, 901] {
            assert!(mcc_assigned(mcc), "{mcc}");
        }
        for mcc in [1, 999, 100, 199, 353, 800, 0] {
            assert!(!mcc_assigned(mcc), "{mcc}");
        }
        assert!(imsi_mcc_ok(b"460011234567890"));
        assert!(!imsi_mcc_ok(b"123456789012345"));
        assert!(!imsi_mcc_ok(b"46"));
    }

    #[test]
    fn mac_parsing_and_rules() {
        let m = parse_mac("64:CC:2E:12:34:56").unwrap();
        assert_eq!(format_mac(&m), "64:cc:2e:12:34:56");
        assert_eq!(parse_mac("64-cc-2e-12-34-56"), Some(m));
        assert_eq!(parse_mac("64cc2e123456"), Some(m));
        assert_eq!(parse_mac("64cc.2e12.3456"), Some(m));
        assert_eq!(parse_mac("64cc2e12345"), None);
        assert_eq!(parse_mac("64:cc:2e:12:34:5g"), None);
        assert_eq!(parse_mac("6:4cc:2e:12:34:56:"), None);
        assert_eq!(mac_rejection(&m), None);
        assert_eq!(mac_rejection(&[0xff; 6]), Some("broadcast"));
        assert_eq!(mac_rejection(&[0; 6]), Some("all-zero"));
        assert!(mac_rejection(&[0x01, 0, 0x5e, 0, 0, 1]).is_some());
        assert!(mac_locally_administered(&[0x02, 0, 0, 0, 0, 1]));
        assert!(!mac_locally_administered(&m));
    }

    #[test]
    fn uuids() {
        assert_eq!(
            canonical_uuid("6F1E2D3C-4B5A-4978-8695-A4B3C2D1E0F9").as_deref(),
            Some("6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9")
        );
        assert_eq!(
            canonical_uuid("6f1e2d3c4b5a49788695a4b3c2d1e0f9").as_deref(),
            Some("6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9")
        );
        assert_eq!(canonical_uuid("6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0fz"), None);
        assert_eq!(canonical_uuid("6f1e2d3c4-b5a-4978-8695-a4b3c2d1e0f9"), None);
    }

    #[test]
    fn emails() {
        assert!(email_plausible("li.wei", "example.cn"));
        assert!(!email_plausible("icon", "2x.png"));
        assert!(!email_plausible(".x", "example.com"));
        assert!(!email_plausible("x", "localhost"));
        assert!(email_is_role("NoReply"));
        assert!(!email_is_role("li.wei"));
    }

    #[test]
    fn coordinates() {
        assert!(coordinates_plausible(39.9042, 116.4074));
        assert!(!coordinates_plausible(0.0, 0.0));
        assert!(!coordinates_plausible(91.0, 0.5));
        assert!(!coordinates_plausible(f64::NAN, 1.0));
    }
}
