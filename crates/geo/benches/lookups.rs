//! Lookups on the embedded default: the figure the GeoIP issue asks for
//! (at least 2 million lookups per second on one core).
//!
//! `cargo bench -p telltale-geo --bench lookups`

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use telltale_geo::{EmbeddedDb, GeoDb, GeoResolver};

/// Addresses spread over the whole space (a fixed xorshift sequence), so
/// the binary search does not stay in cache the way one busy server would.
fn addresses(n: usize) -> (Vec<IpAddr>, Vec<IpAddr>) {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let v4 = (0..n)
        .map(|_| IpAddr::V4(Ipv4Addr::from(next() as u32)))
        .collect();
    // Inside 2000::/3 (global unicast), where the v6 ranges are.
    let v6 = (0..n)
        .map(|_| {
            let hi = (next() & 0x1fff_ffff_ffff_ffff) | 0x2000_0000_0000_0000;
            IpAddr::V6(Ipv6Addr::from((u128::from(hi) << 64) | u128::from(next())))
        })
        .collect();
    (v4, v6)
}

fn lookups(c: &mut Criterion) {
    let db = EmbeddedDb::shared().expect("embedded table");
    let stacked = GeoDb::standard::<&str>(&[]).expect("embedded table");
    let (v4, v6) = addresses(10_000);
    let mut g = c.benchmark_group("geo");
    g.throughput(Throughput::Elements(v4.len() as u64));
    g.bench_function("embedded_ipv4", |b| {
        b.iter(|| {
            for a in &v4 {
                black_box(db.lookup(black_box(*a)));
            }
        })
    });
    g.bench_function("embedded_ipv6", |b| {
        b.iter(|| {
            for a in &v6 {
                black_box(db.lookup(black_box(*a)));
            }
        })
    });
    g.bench_function("geodb_locate_ipv4", |b| {
        b.iter(|| {
            for a in &v4 {
                black_box(stacked.locate(black_box(*a)));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, lookups);
criterion_main!(benches);
