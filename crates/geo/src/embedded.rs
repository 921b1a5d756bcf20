//! The GeoIP default compiled into the binary: country, AS number and
//! organisation for IPv4 and IPv6, from the `@ip-location-db` packages
//! (`crates/geo/data/README.md` says how it is built and under which
//! licences).
//!
//! The table is a sorted list of range starts per address family with, for
//! each, an index into a table of distinct answers. A lookup is one binary
//! search in the bytes compiled into the binary: the build script
//! decompresses `data/default-geo.bin.gz` once, at build time, and nothing
//! is copied or decompressed when the program runs (decompressing it on
//! first use cost 455 million instructions, 0.1 s, per run:
//! `benches/runs/2026-12-02/`).

use std::borrow::Cow;
use std::net::IpAddr;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::OnceLock;

use crate::{DatabaseInfo, GeoError, GeoInfo, GeoResolver, Provides};

static DEFAULT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/default-geo.bin"));
const MAGIC: &[u8; 8] = b"TTGEO\x00\x00\x01";
const NONE16: u16 = u16::MAX;
/// What CC BY 4.0 asks of every output that shows the table's answers.
const ATTRIBUTION: &str = "IP to ASN data by RouteViews (routeviews.org) and DB-IP (db-ip.com), country data by the NRO (nro.net), via ip-location-db; CC BY 4.0";
const NONE32: u32 = u32::MAX;

/// The embedded country/ASN/organisation table.
///
/// ```
/// use telltale_geo::{EmbeddedDb, GeoResolver};
/// let db = EmbeddedDb::shared().unwrap();
/// let g = db.lookup("8.8.8.8".parse().unwrap()).unwrap();
/// assert_eq!(g.country_code.as_deref(), Some("US"));
/// assert_eq!(g.asn, Some(15169));
/// assert_eq!(db.info().name.as_ref(), "telltale-default");
/// ```
#[derive(Debug)]
pub struct EmbeddedDb {
    info: DatabaseInfo,
    /// Where the data came from and under which licences (the header's
    /// `sources` line).
    sources: String,
    /// The table as stored; the fields below are where each part lies in it.
    raw: Cow<'static, [u8]>,
    /// Two ASCII letters each.
    countries: Range<usize>,
    /// `n + 1` little-endian u32 offsets into `org_blob`.
    org_offsets: Range<usize>,
    org_blob: Range<usize>,
    /// Ten bytes each: country (u16), AS number (u32), organisation (u32).
    records: Range<usize>,
    v4_starts: Range<usize>,
    v4_records: Range<usize>,
    v6_starts: Range<usize>,
    v6_records: Range<usize>,
    /// For each value of an address's top 16 bits, the first range
    /// starting at or after it: the binary search then stays inside a few
    /// cache lines instead of touching 20 across megabytes (measured on
    /// addresses spread over the space: 1.9 → 3.0 million IPv4 lookups per
    /// second on one core).
    v4_index: Vec<u32>,
    v6_index: Vec<u32>,
}

#[derive(Clone, Copy, Debug)]
struct Record {
    country: u16,
    asn: u32,
    org: u32,
}

impl EmbeddedDb {
    /// The embedded table, indexed on first call and shared afterwards.
    ///
    /// Its framing is checked then; its contents (ranges in order, every
    /// index in range) are not: they are the bytes the build compiled in,
    /// which the test `the_compiled_in_table_is_sound` checks whole, and
    /// checking them again on every run read all 15 MB of them, 19 million
    /// instructions and page faults, a third of the program's start
    /// (`benches/runs/2026-12-03/session6.txt`). A lookup never indexes
    /// unchecked, so even a damaged table could only answer wrongly.
    pub fn shared() -> Result<&'static EmbeddedDb, GeoError> {
        static DB: OnceLock<Result<EmbeddedDb, String>> = OnceLock::new();
        DB.get_or_init(|| {
            EmbeddedDb::frame(Cow::Borrowed(DEFAULT), cfg!(debug_assertions))
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|message| GeoError::Format {
            path: PathBuf::from("embedded"),
            message: message.clone(),
        })
    }

    /// What the table is, for the report.
    pub fn info(&self) -> &DatabaseInfo {
        &self.info
    }

    /// The data's origins and licences, one line.
    pub fn attribution(&self) -> &str {
        &self.sources
    }

    /// Number of ranges (IPv4, IPv6): a size for benchmarks and notes.
    pub fn ranges(&self) -> (usize, usize) {
        (self.v4_starts().len(), self.v6_starts().len())
    }

    /// Reads a table, checking its contents as well as its framing.
    #[cfg(test)]
    fn parse(raw: Cow<'static, [u8]>) -> Result<EmbeddedDb, GeoError> {
        Self::frame(raw, true)
    }

    /// Reads a table's framing and indexes it; with `check`, also checks
    /// its contents ([`check`](Self::check)).
    fn frame(raw: Cow<'static, [u8]>, check: bool) -> Result<EmbeddedDb, GeoError> {
        let mut r = Cursor { buf: &raw, pos: 0 };
        if r.buf.get(..8) != Some(&MAGIC[..]) {
            return Err(bad("not a telltale GeoIP table (bad magic)".into()));
        }
        r.take(8)?;
        let header_len = r.u32()? as usize;
        let header = std::str::from_utf8(&raw[r.take(header_len)?])
            .map_err(|_| bad("header is not UTF-8".into()))?;
        let field = |key: &str| {
            header
                .lines()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
                .unwrap_or("")
                .to_string()
        };
        let n_countries = r.u32()? as usize;
        let countries = r.take(n_countries.saturating_mul(2))?;
        let n_orgs = r.u32()? as usize;
        let blob_len = r.u32()? as usize;
        let org_offsets = r.take(n_orgs.saturating_add(1).saturating_mul(4))?;
        let org_blob = r.take(blob_len)?;
        let n_records = r.u32()? as usize;
        let records = r.take(n_records.saturating_mul(10))?;
        let n4 = r.u32()? as usize;
        let v4_starts = r.take(n4.saturating_mul(4))?;
        let v4_records = r.take(n4.saturating_mul(4))?;
        let n6 = r.u32()? as usize;
        let v6_starts = r.take(n6.saturating_mul(16))?;
        let v6_records = r.take(n6.saturating_mul(4))?;
        let info = DatabaseInfo {
            name: field("name").as_str().into(),
            build_date: field("build_date"),
            origin: "embedded".into(),
            description: Some(format!(
                "country, AS number and organisation; @ip-location-db {}",
                field("source_version")
            )),
            provides: Provides {
                country: true,
                city: false,
                asn: true,
            },
            attribution: Some(ATTRIBUTION.into()),
        };
        let sources = field("sources");
        let mut db = EmbeddedDb {
            info,
            sources,
            raw,
            countries,
            org_offsets,
            org_blob,
            records,
            v4_starts,
            v4_records,
            v6_starts,
            v6_records,
            v4_index: Vec::new(),
            v6_index: Vec::new(),
        };
        db.v4_index = bucket_index(db.v4_starts(), |s| (u32::from_le_bytes(*s) >> 16) as usize);
        db.v6_index = bucket_index(db.v6_starts(), |s| {
            (u128::from_le_bytes(*s) >> 112) as usize
        });
        if check {
            db.check()?;
        }
        Ok(db)
    }

    fn v4_starts(&self) -> &[[u8; 4]] {
        self.raw[self.v4_starts.clone()].as_chunks().0
    }

    fn v6_starts(&self) -> &[[u8; 16]] {
        self.raw[self.v6_starts.clone()].as_chunks().0
    }

    fn v4_records(&self) -> &[[u8; 4]] {
        self.raw[self.v4_records.clone()].as_chunks().0
    }

    fn v6_records(&self) -> &[[u8; 4]] {
        self.raw[self.v6_records.clone()].as_chunks().0
    }

    fn org_offsets(&self) -> &[[u8; 4]] {
        self.raw[self.org_offsets.clone()].as_chunks().0
    }

    fn n_records(&self) -> usize {
        self.records.len() / 10
    }

    fn n_orgs(&self) -> usize {
        self.org_offsets().len().saturating_sub(1)
    }

    /// The record at `i`, if there is one.
    fn record_at(&self, i: usize) -> Option<Record> {
        let rec = self.raw[self.records.clone()].as_chunks::<10>().0.get(i)?;
        Some(Record {
            country: u16::from_le_bytes([rec[0], rec[1]]),
            asn: u32::from_le_bytes([rec[2], rec[3], rec[4], rec[5]]),
            org: u32::from_le_bytes([rec[6], rec[7], rec[8], rec[9]]),
        })
    }

    fn country(&self, i: u16) -> Option<&str> {
        let c = self.raw[self.countries.clone()]
            .as_chunks::<2>()
            .0
            .get(usize::from(i))?;
        std::str::from_utf8(c).ok()
    }

    fn org(&self, i: u32) -> Option<&str> {
        let offsets = self.org_offsets();
        let i = i as usize;
        let at = |k: usize| offsets.get(k).map(|o| u32::from_le_bytes(*o) as usize);
        let (lo, hi) = (at(i)?, at(i + 1)?);
        let blob = &self.raw[self.org_blob.clone()];
        std::str::from_utf8(blob.get(lo..hi)?).ok()
    }

    /// Lookups index without checks afterwards, so everything is checked
    /// once here (a few milliseconds: it reads every range once).
    fn check(&self) -> Result<(), GeoError> {
        let sorted4 = self
            .v4_starts()
            .windows(2)
            .all(|w| u32::from_le_bytes(w[0]) < u32::from_le_bytes(w[1]));
        let sorted6 = self
            .v6_starts()
            .windows(2)
            .all(|w| u128::from_le_bytes(w[0]) < u128::from_le_bytes(w[1]));
        let n_records = self.n_records();
        let in_range = self
            .v4_records()
            .iter()
            .chain(self.v6_records())
            .map(|r| u32::from_le_bytes(*r))
            .all(|i| i == NONE32 || (i as usize) < n_records);
        let n_countries = self.countries.len() / 2;
        let n_orgs = self.n_orgs();
        let fields = (0..n_records).filter_map(|i| self.record_at(i)).all(|r| {
            (r.country == NONE16 || (r.country as usize) < n_countries)
                && (r.org == NONE32 || (r.org as usize) < n_orgs)
        });
        let blob_len = self.org_blob.len();
        let offsets_ok = self
            .org_offsets()
            .windows(2)
            .all(|w| u32::from_le_bytes(w[0]) <= u32::from_le_bytes(w[1]))
            && self
                .org_offsets()
                .last()
                .is_none_or(|o| u32::from_le_bytes(*o) as usize <= blob_len);
        if sorted4 && sorted6 && in_range && fields && offsets_ok {
            Ok(())
        } else {
            Err(bad("range table is damaged".into()))
        }
    }

    fn record(&self, addr: IpAddr) -> Option<Record> {
        let v4 = |a: std::net::Ipv4Addr| {
            let key = u32::from(a);
            find(
                self.v4_starts(),
                u32::from_le_bytes,
                self.v4_records(),
                &self.v4_index,
                (key >> 16) as usize,
                key,
            )
        };
        let idx = match addr {
            IpAddr::V4(a) => v4(a),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(a) => v4(a),
                None => {
                    let key = u128::from(v6);
                    find(
                        self.v6_starts(),
                        u128::from_le_bytes,
                        self.v6_records(),
                        &self.v6_index,
                        (key >> 112) as usize,
                        key,
                    )
                }
            },
        }?;
        self.record_at(idx as usize)
    }
}

/// The record of the last range starting at or before `key`, searching only
/// the ranges that start in `key`'s bucket (the range before the bucket's
/// first covers the addresses before that first start).
fn find<const N: usize, K: Ord + Copy>(
    starts: &[[u8; N]],
    key_of: impl Fn([u8; N]) -> K,
    records: &[[u8; 4]],
    index: &[u32],
    bucket: usize,
    key: K,
) -> Option<u32> {
    let lo = *index.get(bucket)? as usize;
    let hi = *index.get(bucket + 1)? as usize;
    let within = starts.get(lo..hi)?;
    let i = (lo + within.partition_point(|s| key_of(*s) <= key)).checked_sub(1)?;
    records
        .get(i)
        .map(|r| u32::from_le_bytes(*r))
        .filter(|&r| r != NONE32)
}

/// `index[b]` = the number of starts whose bucket is below `b`, for every
/// bucket of 16 bits, plus one entry for the end.
///
/// Found by galloping from one bucket's first start to the next's rather
/// than by stepping over every start: the index is made on every run,
/// and stepping cost 7 million instructions, half the program's start
/// (`benches/runs/2026-12-03/session6.txt`). Starts out of order give
/// some index, never a panic.
fn bucket_index<T>(starts: &[T], bucket: impl Fn(&T) -> usize) -> Vec<u32> {
    let n = starts.len();
    let mut index = Vec::with_capacity((1 << 16) + 1);
    let mut i = 0;
    for b in 0..=(1usize << 16) {
        if i < n && bucket(&starts[i]) < b {
            // starts[lo] is below `b`; starts[hi], if any, is not.
            let (mut lo, mut step) = (i, 1);
            let mut hi = i + 1;
            while hi < n && bucket(&starts[hi]) < b {
                lo = hi;
                step *= 2;
                hi = lo + step;
            }
            let hi = hi.min(n);
            i = lo + 1 + starts[lo + 1..hi].partition_point(|s| bucket(s) < b);
        }
        index.push(i as u32);
    }
    index
}

impl GeoResolver for EmbeddedDb {
    fn lookup(&self, addr: IpAddr) -> Option<GeoInfo> {
        let rec = self.record(addr)?;
        let code = self.country(rec.country);
        Some(GeoInfo {
            country_code: code.map(str::to_string),
            country_name: code.and_then(crate::country_name).map(str::to_string),
            asn: (rec.asn != 0).then_some(rec.asn),
            as_org: self.org(rec.org).map(str::to_string),
            ..GeoInfo::default()
        })
    }
}

fn bad(message: String) -> GeoError {
    GeoError::Format {
        path: PathBuf::from("embedded"),
        message,
    }
}

/// Reads the table's parts in order, handing back where each lies.
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn take(&mut self, n: usize) -> Result<Range<usize>, GeoError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        let end = end.ok_or_else(|| bad(format!("truncated at byte {}", self.pos)))?;
        let r = self.pos..end;
        self.pos = end;
        Ok(r)
    }

    fn u32(&mut self) -> Result<u32, GeoError> {
        let r = self.take(4)?;
        let b = &self.buf[r];
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn look(a: &str) -> GeoInfo {
        EmbeddedDb::shared()
            .unwrap()
            .lookup(a.parse().unwrap())
            .unwrap_or_else(|| panic!("{a}: no answer"))
    }

    #[test]
    fn real_answers() {
        let g = look("8.8.8.8");
        assert_eq!(g.country_code.as_deref(), Some("US"));
        assert_eq!(g.country_name.as_deref(), Some("United States"));
        assert_eq!(g.asn, Some(15169));
        assert!(g.as_org.as_deref().unwrap().contains("Google"), "{g:?}");
        let g = look("2001:4860:4860::8888");
        assert_eq!(
            (g.country_code.as_deref(), g.asn),
            (Some("US"), Some(15169))
        );
        let g = look("::ffff:8.8.8.8");
        assert_eq!(g.asn, Some(15169));
        // An AWS address in Singapore (ap-southeast-1).
        let g = look("52.74.0.1");
        assert_eq!(
            (g.country_code.as_deref(), g.asn),
            (Some("SG"), Some(16509))
        );
        assert!(g.as_org.as_deref().unwrap().contains("Amazon"), "{g:?}");
        // Cloudflare's resolver, and a Chinese backbone address.
        assert_eq!(look("1.1.1.1").asn, Some(13335));
        assert_eq!(look("220.181.90.14").country_code.as_deref(), Some("CN"));
    }

    #[test]
    fn info_names_the_data() {
        let db = EmbeddedDb::shared().unwrap();
        assert_eq!(db.info().name.as_ref(), "telltale-default");
        assert_eq!(db.info().build_date, "2026-06-17");
        assert!(db.attribution().contains("DB-IP"));
        let (v4, v6) = db.ranges();
        assert!(v4 > 100_000 && v6 > 10_000, "{v4} {v6}");
    }

    /// The bucketed search answers exactly as a plain binary search over
    /// all ranges would, at bucket edges too.
    #[test]
    fn bucketed_search_equals_plain_search() {
        let db = EmbeddedDb::shared().unwrap();
        let v4: Vec<u32> = db
            .v4_starts()
            .iter()
            .map(|s| u32::from_le_bytes(*s))
            .collect();
        let v4_rec: Vec<u32> = db
            .v4_records()
            .iter()
            .map(|s| u32::from_le_bytes(*s))
            .collect();
        let plain = |key: u32| {
            let i = v4.partition_point(|&s| s <= key).checked_sub(1)?;
            Some(v4_rec[i]).filter(|&r| r != NONE32)
        };
        let mut x: u32 = 0x1234_5678;
        let mut keys: Vec<u32> = (0..20_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x
            })
            .collect();
        keys.extend([0, 1, 0xffff, 0x1_0000, u32::MAX, 0x0808_0808]);
        keys.extend(v4.iter().step_by(97).flat_map(|&s| [s, s.wrapping_sub(1)]));
        for key in keys {
            let got = find(
                db.v4_starts(),
                u32::from_le_bytes,
                db.v4_records(),
                &db.v4_index,
                (key >> 16) as usize,
                key,
            );
            assert_eq!(got, plain(key), "{}", std::net::Ipv4Addr::from(key));
        }
        let v6: Vec<u128> = db
            .v6_starts()
            .iter()
            .map(|s| u128::from_le_bytes(*s))
            .collect();
        for &s in v6.iter().step_by(53) {
            for key in [s, s.wrapping_sub(1), s | 0xffff] {
                let i = v6.partition_point(|&t| t <= key).checked_sub(1);
                let want = i
                    .map(|i| u32::from_le_bytes(db.v6_records()[i]))
                    .filter(|&r| r != NONE32);
                let got = find(
                    db.v6_starts(),
                    u128::from_le_bytes,
                    db.v6_records(),
                    &db.v6_index,
                    (key >> 112) as usize,
                    key,
                );
                assert_eq!(got, want);
            }
        }
    }

    #[test]
    fn unrouted_space_has_no_answer() {
        let db = EmbeddedDb::shared().unwrap();
        assert_eq!(db.lookup("0.0.0.1".parse().unwrap()), None);
        assert_eq!(db.lookup("255.255.255.254".parse().unwrap()), None);
    }

    /// What [`EmbeddedDb::shared`] does not check on every run.
    #[test]
    fn the_compiled_in_table_is_sound() {
        let db = EmbeddedDb::shared().unwrap();
        db.check().unwrap();
    }

    /// The galloping index says what stepping over every start would.
    #[test]
    fn bucket_index_counts_the_starts_below_each_bucket() {
        let stepping = |starts: &[u32]| -> Vec<u32> {
            (0..=1usize << 16)
                .map(|b| starts.partition_point(|&s| ((s >> 16) as usize) < b) as u32)
                .collect()
        };
        // Spread over the whole space by a multiplicative hash.
        let mut sparse: Vec<u32> = (0..5_000u32).map(|i| i.wrapping_mul(0x9e37_79b1)).collect();
        sparse.sort_unstable();
        sparse.dedup();
        let cases: Vec<Vec<u32>> = vec![
            vec![],
            vec![0],
            vec![u32::MAX],
            vec![0x0001_0000, 0x0001_ffff, 0x0002_0000, 0xffff_0000, u32::MAX],
            (0..70_000u32).map(|i| 0x0505_0000 + i).collect(),
            (0..200_000u32).map(|i| i * 3).collect(),
            (0..200_000u32).map(|i| i * 21_000).collect(),
            sparse,
        ];
        for starts in &cases {
            let got = bucket_index(starts, |s| (*s >> 16) as usize);
            assert_eq!(got, stepping(starts), "{} starts", starts.len());
        }
    }

    #[test]
    fn damaged_tables_are_errors_not_panics() {
        let parse = |b: &[u8]| EmbeddedDb::parse(Cow::Owned(b.to_vec()));
        assert!(parse(b"not a table").is_err());
        for cut in [0, 7, 12, 100, DEFAULT.len() / 2, DEFAULT.len() - 1] {
            assert!(parse(&DEFAULT[..cut]).is_err(), "cut at {cut}");
        }
        let mut bad_magic = DEFAULT.to_vec();
        bad_magic[0] = b'X';
        assert!(parse(&bad_magic).is_err());
        // A range table out of order is refused, not searched.
        let db = EmbeddedDb::shared().unwrap();
        let mut unsorted = DEFAULT.to_vec();
        let at = db.v4_starts.start;
        unsorted[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(parse(&unsorted).is_err());
        // So is a record naming an organisation that does not exist.
        let mut bad_org = DEFAULT.to_vec();
        let at = db.records.start + 6;
        bad_org[at..at + 4].copy_from_slice(&(NONE32 - 1).to_le_bytes());
        assert!(parse(&bad_org).is_err());
    }
}
