//! GeoIP enrichment for a run: one database lookup per distinct address,
//! shared by every capture the run analyses.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use telltale_geo::{GeoDb, Location};

/// Addresses whose answers are kept at once.
const MAX_CACHED: usize = 16_384;

/// The run's answers so far. Captures on several threads ask at once; the
/// lock is held only to read or insert, never during a lookup, so two
/// threads may rarely look up the same new address twice (same answer).
#[derive(Default)]
pub(crate) struct Locator {
    db: Option<Arc<GeoDb>>,
    cache: Mutex<HashMap<IpAddr, Location>>,
}

impl Locator {
    pub(crate) fn new(db: Option<Arc<GeoDb>>) -> Locator {
        Locator {
            db,
            cache: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn locate(&self, addr: IpAddr) -> Location {
        let Some(db) = &self.db else {
            return Location::unlocated(addr);
        };
        if let Some(hit) = self.lock().get(&addr) {
            return hit.clone();
        }
        let found = db.locate(addr);
        let mut cache = self.lock();
        // A cache, so it may forget: emptied when full, memory stays flat
        // on a capture with millions of addresses (a lookup costs a third of
        // a microsecond; the answers are the same).
        if cache.len() >= MAX_CACHED {
            cache.clear();
        }
        cache.entry(addr).or_insert(found).clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, Location>> {
        // A panic elsewhere while holding the lock leaves a map that is
        // still valid: every entry is inserted whole.
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }
}
