//! The GeoIP default compiled into the binary: country, AS number and
//! organisation for IPv4 and IPv6, from the `@ip-location-db` packages
//! (`crates/geo/data/README.md` says how it is built and under which
//! licences).
//!
//! The table is a sorted list of range starts per address family with, for
//! each, an index into a table of distinct answers. A lookup is one binary
//! search; the whole table is about 15 MB in memory, decompressed once on
//! first use.

use std::io::Read;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use crate::{DatabaseInfo, GeoError, GeoInfo, GeoResolver, Provides};

static DEFAULT_GZ: &[u8] = include_bytes!("../data/default-geo.bin.gz");
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
    countries: Vec<[u8; 2]>,
    orgs: Vec<Arc<str>>,
    records: Vec<Record>,
    v4_starts: Vec<u32>,
    v4_records: Vec<u32>,
    v6_starts: Vec<u128>,
    v6_records: Vec<u32>,
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
    /// The embedded table, decoded on first call and shared afterwards.
    pub fn shared() -> Result<&'static EmbeddedDb, GeoError> {
        static DB: OnceLock<Result<EmbeddedDb, String>> = OnceLock::new();
        DB.get_or_init(|| EmbeddedDb::from_gz(DEFAULT_GZ).map_err(|e| e.to_string()))
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
        (self.v4_starts.len(), self.v6_starts.len())
    }

    fn from_gz(gz: &[u8]) -> Result<EmbeddedDb, GeoError> {
        let mut raw = Vec::with_capacity(16 << 20);
        flate2::read::GzDecoder::new(gz)
            .read_to_end(&mut raw)
            .map_err(|e| bad(format!("decompressing: {e}")))?;
        EmbeddedDb::parse(&raw)
    }

    fn parse(raw: &[u8]) -> Result<EmbeddedDb, GeoError> {
        let mut r = Cursor { buf: raw, pos: 0 };
        if r.take(8)? != MAGIC {
            return Err(bad("not a telltale GeoIP table (bad magic)".into()));
        }
        let header_len = r.u32()? as usize;
        let header = std::str::from_utf8(r.take(header_len)?)
            .map_err(|_| bad("header is not UTF-8".into()))?;
        let field = |key: &str| {
            header
                .lines()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
                .unwrap_or("")
                .to_string()
        };
        let n_countries = r.u32()? as usize;
        let countries: Vec<[u8; 2]> = r
            .take(n_countries * 2)?
            .chunks_exact(2)
            .map(|c| [c[0], c[1]])
            .collect();
        let n_orgs = r.u32()? as usize;
        let blob_len = r.u32()? as usize;
        let offsets = r.u32s(n_orgs + 1)?;
        let blob = r.take(blob_len)?;
        let mut orgs = Vec::with_capacity(n_orgs);
        for w in offsets.windows(2) {
            let s = blob
                .get(w[0] as usize..w[1] as usize)
                .and_then(|b| std::str::from_utf8(b).ok())
                .ok_or_else(|| bad("organisation table is damaged".into()))?;
            orgs.push(Arc::from(s));
        }
        let n_records = r.u32()? as usize;
        let mut records = Vec::with_capacity(n_records);
        for _ in 0..n_records {
            let rec = r.take(10)?;
            records.push(Record {
                country: u16::from_le_bytes([rec[0], rec[1]]),
                asn: u32::from_le_bytes([rec[2], rec[3], rec[4], rec[5]]),
                org: u32::from_le_bytes([rec[6], rec[7], rec[8], rec[9]]),
            });
        }
        let n4 = r.u32()? as usize;
        let v4_starts = r.u32s(n4)?;
        let v4_records = r.u32s(n4)?;
        let n6 = r.u32()? as usize;
        let v6_starts: Vec<u128> = r
            .take(n6 * 16)?
            .chunks_exact(16)
            .map(|c| u128::from_le_bytes(c.try_into().expect("16-byte chunk")))
            .collect();
        let v6_records = r.u32s(n6)?;
        let v4_index = bucket_index(&v4_starts, |s| (s >> 16) as usize);
        let v6_index = bucket_index(&v6_starts, |s| (s >> 112) as usize);
        let db = EmbeddedDb {
            info: DatabaseInfo {
                name: Arc::from(field("name").as_str()),
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
            },
            sources: field("sources"),
            countries,
            orgs,
            records,
            v4_starts,
            v4_records,
            v4_index,
            v6_index,
            v6_starts,
            v6_records,
        };
        db.check()?;
        Ok(db)
    }

    /// Lookups index without checks afterwards, so everything is checked
    /// once here.
    fn check(&self) -> Result<(), GeoError> {
        let sorted4 = self.v4_starts.windows(2).all(|w| w[0] < w[1]);
        let sorted6 = self.v6_starts.windows(2).all(|w| w[0] < w[1]);
        let recs = self.v4_records.iter().chain(&self.v6_records);
        let in_range = recs
            .clone()
            .all(|&i| i == NONE32 || (i as usize) < self.records.len());
        let fields = self.records.iter().all(|r| {
            (r.country == NONE16 || (r.country as usize) < self.countries.len())
                && (r.org == NONE32 || (r.org as usize) < self.orgs.len())
        });
        if sorted4 && sorted6 && in_range && fields {
            Ok(())
        } else {
            Err(bad("range table is damaged".into()))
        }
    }

    fn record(&self, addr: IpAddr) -> Option<Record> {
        let v4 = |a: std::net::Ipv4Addr| {
            let key = u32::from(a);
            let bucket = (key >> 16) as usize;
            find(
                &self.v4_starts,
                &self.v4_records,
                &self.v4_index,
                bucket,
                key,
            )
        };
        let idx = match addr {
            IpAddr::V4(a) => v4(a),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(a) => v4(a),
                None => {
                    let key = u128::from(v6);
                    let bucket = (key >> 112) as usize;
                    find(
                        &self.v6_starts,
                        &self.v6_records,
                        &self.v6_index,
                        bucket,
                        key,
                    )
                }
            },
        }?;
        self.records.get(idx as usize).copied()
    }
}

/// The record of the last range starting at or before `key`, searching only
/// the ranges that start in `key`'s bucket (the range before the bucket's
/// first covers the addresses before that first start).
fn find<K: Ord + Copy>(
    starts: &[K],
    records: &[u32],
    index: &[u32],
    bucket: usize,
    key: K,
) -> Option<u32> {
    let lo = *index.get(bucket)? as usize;
    let hi = *index.get(bucket + 1)? as usize;
    let within = starts.get(lo..hi)?;
    let i = (lo + within.partition_point(|&s| s <= key)).checked_sub(1)?;
    records.get(i).copied().filter(|&r| r != NONE32)
}

/// `index[b]` = the number of starts whose bucket is below `b`, for every
/// bucket of 16 bits, plus one entry for the end.
fn bucket_index<K: Copy>(starts: &[K], bucket: impl Fn(K) -> usize) -> Vec<u32> {
    let mut index = vec![0u32; (1 << 16) + 1];
    let mut i = 0;
    for (b, slot) in index.iter_mut().enumerate() {
        while i < starts.len() && bucket(starts[i]) < b {
            i += 1;
        }
        *slot = i as u32;
    }
    index
}

impl GeoResolver for EmbeddedDb {
    fn lookup(&self, addr: IpAddr) -> Option<GeoInfo> {
        let rec = self.record(addr)?;
        let code = self
            .countries
            .get(rec.country as usize)
            .and_then(|c| std::str::from_utf8(c).ok());
        Some(GeoInfo {
            country_code: code.map(str::to_string),
            country_name: code.and_then(crate::country_name).map(str::to_string),
            asn: (rec.asn != 0).then_some(rec.asn),
            as_org: self.orgs.get(rec.org as usize).map(|o| o.to_string()),
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

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], GeoError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        let end = end.ok_or_else(|| bad(format!("truncated at byte {}", self.pos)))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u32(&mut self) -> Result<u32, GeoError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u32s(&mut self, n: usize) -> Result<Vec<u32>, GeoError> {
        let b = self.take(n.saturating_mul(4))?;
        Ok(b.chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
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
        let plain = |key: u32| {
            let i = db.v4_starts.partition_point(|&s| s <= key).checked_sub(1)?;
            Some(db.v4_records[i]).filter(|&r| r != NONE32)
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
        keys.extend(
            db.v4_starts
                .iter()
                .step_by(97)
                .flat_map(|&s| [s, s.wrapping_sub(1)]),
        );
        for key in keys {
            let got = find(
                &db.v4_starts,
                &db.v4_records,
                &db.v4_index,
                (key >> 16) as usize,
                key,
            );
            assert_eq!(got, plain(key), "{}", std::net::Ipv4Addr::from(key));
        }
        for &s in db.v6_starts.iter().step_by(53) {
            for key in [s, s.wrapping_sub(1), s | 0xffff] {
                let i = db.v6_starts.partition_point(|&t| t <= key).checked_sub(1);
                let want = i.map(|i| db.v6_records[i]).filter(|&r| r != NONE32);
                let got = find(
                    &db.v6_starts,
                    &db.v6_records,
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

    #[test]
    fn damaged_tables_are_errors_not_panics() {
        assert!(EmbeddedDb::from_gz(b"not gzip").is_err());
        let mut raw = Vec::new();
        flate2::read::GzDecoder::new(DEFAULT_GZ)
            .read_to_end(&mut raw)
            .unwrap();
        for cut in [0, 7, 12, 100, raw.len() / 2, raw.len() - 1] {
            assert!(EmbeddedDb::parse(&raw[..cut]).is_err(), "cut at {cut}");
        }
        let mut bad_magic = raw.clone();
        bad_magic[0] = b'X';
        assert!(EmbeddedDb::parse(&bad_magic).is_err());
    }
}
