//! Capture timestamps.

use std::fmt;

/// A capture timestamp: nanoseconds since the Unix epoch, UTC.
///
/// Captures store time in several resolutions (pcap µs or ns, pcapng per
/// interface `if_tsresol`); everything is normalised to nanoseconds here so
/// later stages compare times from different files and interfaces directly.
///
/// ```
/// use telltale_decode::Timestamp;
/// let t = Timestamp::from_nanos(1_406_714_700_123_456_789);
/// assert_eq!(t.to_rfc3339_micros(), "2014-07-30T10:05:00.123456Z");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// A timestamp from nanoseconds since the epoch.
    pub const fn from_nanos(nanos: i64) -> Self {
        Timestamp(nanos)
    }

    /// A timestamp from whole seconds and a fraction counted in `units_per_sec`.
    ///
    /// Saturates instead of overflowing: a capture can carry any bits in its
    /// timestamp fields.
    pub fn from_parts(secs: i64, frac: u64, units_per_sec: u64) -> Self {
        // Multiply before dividing, in u128 so the product cannot overflow:
        // dividing first (`1e9 / units_per_sec`) truncates to nothing for
        // binary resolutions finer than 2^-30 and is 7% off at 2^-32. The
        // result is below 1e9, so it fits an i64.
        // The two resolutions nearly every capture uses, without the u128
        // division (two library calls per packet otherwise).
        let frac_ns = if units_per_sec == 1_000_000 {
            (frac % 1_000_000 * 1_000) as i64
        } else if units_per_sec == 1_000_000_000 {
            (frac % 1_000_000_000) as i64
        } else if units_per_sec == 0 {
            0
        } else {
            let units = u128::from(units_per_sec);
            (u128::from(frac) % units * 1_000_000_000 / units) as i64
        };
        Timestamp(secs.saturating_mul(1_000_000_000).saturating_add(frac_ns))
    }

    /// Nanoseconds since the epoch.
    pub const fn as_nanos(self) -> i64 {
        self.0
    }

    /// Whole seconds since the epoch (rounded towards minus infinity).
    pub const fn secs(self) -> i64 {
        self.0.div_euclid(1_000_000_000)
    }

    /// Nanoseconds within the second, `0..1e9`.
    pub const fn subsec_nanos(self) -> u32 {
        self.0.rem_euclid(1_000_000_000) as u32
    }

    /// `self - earlier` in nanoseconds, saturating.
    pub const fn nanos_since(self, earlier: Timestamp) -> i64 {
        self.0.saturating_sub(earlier.0)
    }

    /// RFC 3339 in UTC with microseconds, e.g. `2014-07-30T10:05:00.123456Z`:
    /// the form EVE consumers and spreadsheets parse.
    pub fn to_rfc3339_micros(self) -> String {
        self.with_rfc3339(str::to_owned)
    }

    /// Hands the text of [`to_rfc3339_micros`](Self::to_rfc3339_micros) to
    /// `f` without `fmt` or an allocation: the EVE writer prints two or
    /// three timestamps per record, and `format!` was a tenth of its time.
    /// A timestamp is nanoseconds in an i64, so its year is always four
    /// digits (1677 to 2262), and the text is ASCII digits and `-:.TZ`
    /// only (nothing a JSON string would escape).
    ///
    /// ```
    /// # use telltale_decode::Timestamp;
    /// let t = Timestamp::from_nanos(1_406_714_700_123_456_789);
    /// assert_eq!(t.with_rfc3339(str::len), 27);
    /// assert_eq!(t.with_rfc3339(str::to_owned), t.to_rfc3339_micros());
    /// ```
    pub fn with_rfc3339<R>(self, f: impl FnOnce(&str) -> R) -> R {
        let secs = self.secs();
        let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
        let rem = secs.rem_euclid(86_400) as u32;
        let mut b = *b"0000-00-00T00:00:00.000000Z";
        let mut put = |at: usize, width: usize, mut v: u32| {
            for i in (at..at + width).rev() {
                b[i] = b'0' + (v % 10) as u8;
                v /= 10;
            }
        };
        put(0, 4, y.clamp(0, 9999) as u32);
        put(5, 2, m);
        put(8, 2, d);
        put(11, 2, rem / 3600);
        put(14, 2, rem / 60 % 60);
        put(17, 2, rem % 60);
        put(20, 6, self.subsec_nanos() / 1000);
        // Only ASCII digits and separators were written.
        f(std::str::from_utf8(&b).unwrap_or_default())
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.with_rfc3339(|t| f.write_str(t))
    }
}

/// Serialised as [`Timestamp::to_rfc3339_micros`], the form EVE writes.
impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.with_rfc3339(|t| s.serialize_str(t))
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
/// algorithm), so no calendar crate is needed for one conversion.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_dates() {
        assert_eq!(
            Timestamp::from_nanos(0).to_rfc3339_micros(),
            "1970-01-01T00:00:00.000000Z"
        );
        assert_eq!(
            Timestamp::from_parts(951_782_400, 5, 1_000_000).to_rfc3339_micros(),
            "2000-02-29T00:00:00.000005Z"
        );
        // Before 1970 (a pre-1970 TLS capture exists in the wild).
        assert_eq!(
            Timestamp::from_nanos(-1).to_rfc3339_micros(),
            "1969-12-31T23:59:59.999999Z"
        );
    }

    /// The hand-written digits agree with `format!` over the whole range a
    /// timestamp can hold (1677 to 2262), nanoseconds included.
    #[test]
    fn fixed_formatting_equals_format() {
        let formatted = |t: Timestamp| {
            let secs = t.secs();
            let rem = secs.rem_euclid(86_400);
            let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
            format!(
                "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:06}Z",
                rem / 3600,
                rem / 60 % 60,
                rem % 60,
                t.subsec_nanos() / 1000
            )
        };
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let ends = [i64::MIN, i64::MAX, 0, -1];
        for i in 0..20_004 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let ns = ends.get(i).copied().unwrap_or(x as i64);
            let t = Timestamp::from_nanos(ns);
            assert_eq!(t.to_rfc3339_micros(), formatted(t), "{ns}");
            assert_eq!(t.to_string(), formatted(t));
        }
    }

    #[test]
    fn resolutions() {
        assert_eq!(
            Timestamp::from_parts(1, 1, 1_000_000).as_nanos(),
            1_000_001_000
        );
        assert_eq!(
            Timestamp::from_parts(1, 1, 1_000_000_000).as_nanos(),
            1_000_000_001
        );
        // 3/1024 s = 2_929_687.5 ns, truncated: dividing 1e9 by 1024 first
        // would give 2_929_686.
        assert_eq!(Timestamp::from_parts(0, 3, 1 << 10).as_nanos(), 2_929_687);
        // Picoseconds lose precision but do not overflow.
        assert_eq!(
            Timestamp::from_parts(0, 5_000, 1_000_000_000_000).as_nanos(),
            5
        );
        assert_eq!(Timestamp::from_parts(i64::MAX, 0, 1).as_nanos(), i64::MAX);
    }

    #[test]
    fn fine_resolutions_keep_their_precision() {
        // 2^-30: half a second must not vanish (1e9 / 2^30 truncates to 0).
        assert_eq!(
            Timestamp::from_parts(7, 1 << 29, 1 << 30).as_nanos(),
            7_500_000_000
        );
        assert_eq!(Timestamp::from_parts(0, 1, 1 << 30).as_nanos(), 0);
        assert_eq!(Timestamp::from_parts(0, 3, 1 << 30).as_nanos(), 2);
        // 2^-32: dividing by 2^32 / 1e9 = 4 gave 536_870_912 here.
        assert_eq!(
            Timestamp::from_parts(0, 1 << 31, 1 << 32).as_nanos(),
            500_000_000
        );
        assert_eq!(
            Timestamp::from_parts(0, u64::from(u32::MAX), 1 << 32).as_nanos(),
            999_999_999
        );
        // 10^-12: picoseconds truncate to nanoseconds.
        assert_eq!(
            Timestamp::from_parts(0, 999_999_999_999, 1_000_000_000_000).as_nanos(),
            999_999_999
        );
        // A fraction that is not below the unit wraps instead of carrying
        // (the caller splits whole seconds off first) and never overflows.
        assert_eq!(Timestamp::from_parts(0, u64::MAX, u64::MAX).as_nanos(), 0);
        assert_eq!(
            Timestamp::from_parts(0, u64::MAX - 1, u64::MAX).as_nanos(),
            999_999_999
        );
    }
}
