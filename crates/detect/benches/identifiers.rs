//! Throughput of the identifier stage alone: one scanner over realistic
//! request text, with the values of 1 device (4 values), of 250 devices
//! (1,000 values) and of 1,000 devices. Because all variants of all values
//! share one index, the last two should cost about as much as the first.
//!
//!     cargo bench -p telltale-detect --bench identifiers

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use telltale_detect::identifiers::{DeviceProfile, Scanner};

/// A deterministic xorshift: the same payload and profiles on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + (self.next() % 10) as u8))
            .collect()
    }
}

fn luhn_complete(body: &str) -> String {
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

fn profile(devices: usize, rng: &mut Rng) -> DeviceProfile {
    let mut toml = String::new();
    for i in 0..devices {
        let imei = luhn_complete(&format!("35{}", rng.digits(12)));
        let imsi = format!("23415{}", rng.digits(10));
        let phone = format!("+44783{}", rng.digits(7));
        let mac: Vec<String> = (0..6)
            .map(|k| format!("{:02x}", if k == 0 { 0x3c } else { rng.next() as u8 }))
            .collect();
        toml.push_str(&format!(
            "[[device]]\nname = \"d{i}\"\nimei = [\"{imei}\"]\nimsi = [\"{imsi}\"]\nphone = [\"{phone}\"]\nmac = [\"{}\"]\n\n",
            mac.join(":")
        ));
    }
    DeviceProfile::from_toml(&toml).expect("valid generated profile")
}

/// About 1 MiB of request lines, headers and JSON bodies with identifiers
/// of the first device sprinkled in, as phone traffic looks.
fn payload(rng: &mut Rng) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 << 20);
    while out.len() < 1 << 20 {
        let line = format!(
            "GET /v2/config?app=com.example.app&ver=4.{}&session={:016x}&ts={} HTTP/1.1\r\nHost: api{}.example.com\r\nUser-Agent: Dalvik/2.1.0 (Linux; U; Android 14)\r\nCookie: sid={:032x}\r\n\r\n{{\"event\":\"open\",\"seq\":{},\"lat\":52.{}}}\n",
            rng.next() % 100,
            rng.next(),
            1_700_000_000_000u64 + rng.next() % 1_000_000,
            rng.next() % 50,
            u128::from(rng.next()) << 64 | u128::from(rng.next()),
            rng.next() % 1000,
            rng.digits(6)
        );
        out.extend_from_slice(line.as_bytes());
    }
    out
}

fn bench(c: &mut Criterion) {
    let mut rng = Rng(0x5eed);
    let one = profile(1, &mut rng);
    let thousand = profile(1000, &mut rng);
    let text = payload(&mut rng);
    // Generated after the payload, so that the other cases keep the
    // profiles and payload they always had.
    let values = profile(250, &mut rng);
    let mut group = c.benchmark_group("identifier scan");
    group.throughput(Throughput::Bytes(text.len() as u64));
    for (name, profile) in [
        ("patterns only", None),
        ("1 device", Some(&one)),
        // Issue 4 speaks of 1,000 values: 250 devices of 4 values each.
        ("1000 values", Some(&values)),
        ("1000 devices", Some(&thousand)),
    ] {
        let scanner = Scanner::new(profile);
        group.bench_function(name, |b| {
            b.iter(|| black_box(scanner.scan(black_box(&text))))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
