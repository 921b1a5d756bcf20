//! Throughput of each stage on a capture, cumulatively: read; read and
//! decode; then flows and reassembly; then dissectors; then everything
//! (`analyze_capture` with identifiers and GeoIP). The difference between
//! two lines is what a stage costs.
//!
//! ```sh
//! python3 ../shared/bench/make_corpus.py --size-mb 64 --seed 1 --out /tmp/c64.pcap
//! TELLTALE_BENCH_CORPUS=/tmp/c64.pcap cargo bench -p telltale --bench stages
//! ```
//!
//! Without `TELLTALE_BENCH_CORPUS` it runs on the RedMi fixture (tiny: the
//! figures then mostly measure per-capture setup).

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use telltale::decode::{CaptureReader, Decoder, DecoderConfig};
use telltale::flow::{FlowEvent, FlowTable};
use telltale::proto::{AppEvent, AppProto, AppSink, Dissectors};
use telltale::{Analyzer, analyze_capture};

fn corpus() -> PathBuf {
    std::env::var_os("TELLTALE_BENCH_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/redmi-1s-2014.pcap")
        })
}

struct Discard;

impl AppSink for Discard {
    fn app_event(&mut self, event: AppEvent) {
        black_box(event);
    }
    fn flow_end(&mut self, summary: &telltale::flow::FlowSummary, app: AppProto) {
        black_box((summary, app));
    }
}

fn stages(c: &mut Criterion) {
    let path = corpus();
    let bytes = std::fs::metadata(&path).expect("corpus").len();
    let mut g = c.benchmark_group("stages");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(bytes));
    g.bench_function("read", |b| {
        b.iter(|| {
            let mut r = CaptureReader::open(&path).unwrap();
            let mut n = 0u64;
            while let Some(f) = r.next_frame().unwrap() {
                n += f.data.len() as u64;
            }
            black_box(n)
        })
    });
    g.bench_function("read+decode", |b| {
        b.iter(|| {
            let mut r = CaptureReader::open(&path).unwrap();
            let mut d = Decoder::new(DecoderConfig::default());
            let mut n = 0u64;
            while let Some(f) = r.next_frame().unwrap() {
                n += d.decode(&f).is_some() as u64;
            }
            black_box(n)
        })
    });
    g.bench_function("read+decode+flows", |b| {
        b.iter(|| {
            let mut r = CaptureReader::open(&path).unwrap();
            let mut d = Decoder::new(DecoderConfig::default());
            let mut t = FlowTable::default();
            let mut sink = |e: FlowEvent<'_>| {
                black_box(e.frame);
            };
            while let Some(f) = r.next_frame().unwrap() {
                if let Some(p) = d.decode(&f) {
                    t.push(&p, &mut sink);
                }
            }
            t.finish(&mut sink);
        })
    });
    g.bench_function("read+decode+flows+dissect", |b| {
        b.iter(|| {
            let mut r = CaptureReader::open(&path).unwrap();
            let mut d = Decoder::new(DecoderConfig::default());
            let mut t = FlowTable::default();
            let mut sink = Dissectors::new(Discard);
            while let Some(f) = r.next_frame().unwrap() {
                if let Some(p) = d.decode(&f) {
                    t.push(&p, &mut sink);
                }
            }
            t.finish(&mut sink);
        })
    });
    let analyzer = Analyzer::builder().build();
    g.bench_function("analyze_capture (identifiers, geo)", |b| {
        b.iter(|| black_box(analyze_capture(&path, &analyzer).unwrap().flows.len()))
    });
    g.finish();
}

criterion_group!(benches, stages);
criterion_main!(benches);
