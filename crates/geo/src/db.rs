//! Several databases as one: the user's files first, then the embedded
//! default for whatever those files cannot answer.

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use crate::{
    DatabaseInfo, EmbeddedDb, GeoError, GeoInfo, GeoResolver, Location, MmdbDb, Provides, scope,
};

/// A stack of databases whose answers merge field group by field group
/// (country; city and coordinates; AS number and organisation): each group
/// comes whole from the first database that has it, so a country never
/// comes from one database and its name from another.
///
/// ```
/// use telltale_geo::{GeoDb, Scope};
/// let db = GeoDb::standard::<&str>(&[]).unwrap(); // the embedded default alone
/// let here = db.locate("8.8.8.8".parse().unwrap());
/// assert_eq!(here.scope, Scope::Public);
/// assert_eq!(here.geo.unwrap().asn, Some(15169));
/// let here = db.locate("10.0.0.1".parse().unwrap());
/// assert_eq!((here.scope, here.geo), (Scope::Private, None));
/// ```
#[derive(Default)]
pub struct GeoDb {
    layers: Vec<Layer>,
}

struct Layer {
    resolver: Box<dyn GeoResolver>,
    info: DatabaseInfo,
    /// The groups this layer may answer: all it provides, or for the
    /// default, only what no file before it provides.
    used_for: Provides,
}

impl GeoDb {
    /// No databases: every lookup says nothing.
    pub fn empty() -> GeoDb {
        GeoDb::default()
    }

    /// The usual stack: the `.mmdb` files in the order given, then the
    /// embedded default answering only the field groups none of the files
    /// provides. With a City and an ASN file the default is not consulted
    /// at all; with a City file alone it still gives AS numbers.
    pub fn standard<P: AsRef<Path>>(files: &[P]) -> Result<GeoDb, GeoError> {
        let mut db = GeoDb::empty();
        for f in files {
            db.push_mmdb(f)?;
        }
        db.push_default()?;
        Ok(db)
    }

    /// Adds a `.mmdb` file below the databases already there.
    pub fn push_mmdb(&mut self, path: impl AsRef<Path>) -> Result<(), GeoError> {
        let mmdb = MmdbDb::open(path)?;
        let info = mmdb.info().clone();
        self.push(mmdb, info);
        Ok(())
    }

    /// Adds the embedded default for the field groups no database above it
    /// provides (nothing is added when they cover everything it has).
    pub fn push_default(&mut self) -> Result<(), GeoError> {
        let default = EmbeddedDb::shared()?;
        let taken = self
            .layers
            .iter()
            .fold(Provides::default(), |acc, l| Provides {
                country: acc.country || l.used_for.country,
                city: acc.city || l.used_for.city,
                asn: acc.asn || l.used_for.asn,
            });
        let have = default.info().provides;
        let used_for = Provides {
            country: have.country && !taken.country,
            city: have.city && !taken.city,
            asn: have.asn && !taken.asn,
        };
        if used_for != Provides::default() {
            self.layers.push(Layer {
                resolver: Box::new(StaticRef(default)),
                info: default.info().clone(),
                used_for,
            });
        }
        Ok(())
    }

    /// Adds any resolver, described by `info`, below those already there.
    pub fn push(&mut self, resolver: impl GeoResolver + 'static, info: DatabaseInfo) {
        let used_for = info.provides;
        self.layers.push(Layer {
            resolver: Box::new(resolver),
            info,
            used_for,
        });
    }

    /// The databases consulted, in order: what a report must record.
    pub fn databases(&self) -> impl Iterator<Item = &DatabaseInfo> {
        self.layers.iter().map(|l| &l.info)
    }

    /// Whether there is any database at all.
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }

    /// The address's scope, and for public addresses what the databases
    /// say. Special addresses are never looked up: no database can place
    /// a `10.x` address.
    pub fn locate(&self, addr: IpAddr) -> Location {
        let scope = scope(addr);
        let geo = if scope.is_public() {
            self.lookup(addr).map(Arc::new)
        } else {
            None
        };
        Location { scope, geo }
    }
}

impl GeoResolver for GeoDb {
    fn lookup(&self, addr: IpAddr) -> Option<GeoInfo> {
        let mut out = GeoInfo::default();
        for layer in &self.layers {
            let want = layer.used_for;
            let need_country = want.country && out.country_code.is_none();
            let need_city = want.city && out.city.is_none() && out.latitude.is_none();
            let need_asn = want.asn && out.asn.is_none() && out.as_org.is_none();
            if !(need_country || need_city || need_asn) {
                continue;
            }
            let Some(g) = layer.resolver.lookup(addr) else {
                continue;
            };
            let mut used = false;
            if need_country && g.country_code.is_some() {
                out.country_code = g.country_code;
                out.country_name = g.country_name;
                used = true;
            }
            if need_city && (g.city.is_some() || g.latitude.is_some()) {
                out.city = g.city;
                out.latitude = g.latitude;
                out.longitude = g.longitude;
                used = true;
            }
            if need_asn && (g.asn.is_some() || g.as_org.is_some()) {
                out.asn = g.asn;
                out.as_org = g.as_org;
                used = true;
            }
            if used {
                out.sources.push(layer.info.name.clone());
            }
        }
        (!out.is_empty()).then_some(out)
    }
}

impl std::fmt::Debug for GeoDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.databases()).finish()
    }
}

/// The shared default behind a `Box<dyn GeoResolver>`.
struct StaticRef(&'static EmbeddedDb);

impl GeoResolver for StaticRef {
    fn lookup(&self, addr: IpAddr) -> Option<GeoInfo> {
        self.0.lookup(addr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Scope;

    /// A resolver answering the same for every address.
    struct Fixed(GeoInfo);

    impl GeoResolver for Fixed {
        fn lookup(&self, _: IpAddr) -> Option<GeoInfo> {
            Some(self.0.clone())
        }
    }

    fn info(name: &str, country: bool, city: bool, asn: bool) -> DatabaseInfo {
        DatabaseInfo {
            name: Arc::from(name),
            build_date: "2026-01-01".into(),
            origin: "test".into(),
            description: None,
            provides: Provides { country, city, asn },
            attribution: None,
        }
    }

    #[test]
    fn city_file_keeps_the_default_for_asn_only() {
        let mut db = GeoDb::empty();
        let city = GeoInfo {
            country_code: Some("SG".into()),
            country_name: Some("Singapore".into()),
            city: Some("Singapore".into()),
            latitude: Some(1.29),
            longitude: Some(103.85),
            ..GeoInfo::default()
        };
        db.push(Fixed(city), info("Test-City", true, true, false));
        db.push_default().unwrap();
        let g = db.lookup("8.8.8.8".parse().unwrap()).unwrap();
        // Country from the file even though the default says US; ASN from
        // the default.
        assert_eq!(g.country_code.as_deref(), Some("SG"));
        assert_eq!(g.city.as_deref(), Some("Singapore"));
        assert_eq!(g.asn, Some(15169));
        let names: Vec<&str> = g.sources.iter().map(|s| s.as_ref()).collect();
        assert_eq!(names, ["Test-City", "telltale-default"]);
    }

    #[test]
    fn files_covering_everything_replace_the_default() {
        let mut db = GeoDb::empty();
        db.push(Fixed(GeoInfo::default()), info("A", true, false, true));
        db.push_default().unwrap();
        assert_eq!(db.databases().count(), 1);
        assert_eq!(db.lookup("8.8.8.8".parse().unwrap()), None);
    }

    #[test]
    fn first_database_wins_per_group() {
        let mut db = GeoDb::empty();
        let a = GeoInfo {
            asn: Some(1),
            as_org: Some("First".into()),
            ..GeoInfo::default()
        };
        let b = GeoInfo {
            country_code: Some("FR".into()),
            asn: Some(2),
            as_org: Some("Second".into()),
            ..GeoInfo::default()
        };
        db.push(Fixed(a), info("A", false, false, true));
        db.push(Fixed(b), info("B", true, false, true));
        let g = db.lookup("9.9.9.9".parse().unwrap()).unwrap();
        assert_eq!((g.asn, g.as_org.as_deref()), (Some(1), Some("First")));
        assert_eq!(g.country_code.as_deref(), Some("FR"));
        assert_eq!(g.sources.len(), 2);
    }

    #[test]
    fn special_addresses_are_classified_not_looked_up() {
        let mut db = GeoDb::empty();
        db.push(
            Fixed(GeoInfo {
                country_code: Some("US".into()),
                ..GeoInfo::default()
            }),
            info("A", true, false, false),
        );
        for (a, s) in [
            ("10.0.0.1", Scope::Private),
            ("100.64.1.1", Scope::Cgnat),
            ("fe80::1", Scope::LinkLocal),
            ("224.0.0.251", Scope::Multicast),
            ("::ffff:192.168.0.1", Scope::Private),
        ] {
            let here = db.locate(a.parse().unwrap());
            assert_eq!((here.scope, here.geo), (s, None), "{a}");
        }
        assert!(db.locate("8.8.8.8".parse().unwrap()).geo.is_some());
    }
}
