//! One capture analysed on one thread and split across two and three
//! (`Analyzer::analyze` of a single plain file shards it by address pair,
//! every shard framing the file and stepping over the others' frames):
//! every rendering of the report must be byte for byte the same, and a
//! capture one run refuses the others must refuse too. Hostile bytes reach
//! what only a split run does: the shared placement of frames, the shards'
//! ring of chunks, fragments decoded by every shard, DNS heard across
//! shards, the merge of the shards' records. The same bytes gzip-compressed
//! go through the other split path, one reader routing batches of frames
//! to the shards: one thread and two must agree there too.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use telltale::detect::DeviceProfile;
use telltale::report::{
    write_destinations_csv, write_flows_csv, write_identifiers_csv, write_jsonl,
};
use telltale::{Analyzer, Report};

static ANALYZERS: LazyLock<[Analyzer; 3]> = LazyLock::new(|| {
    let profile = DeviceProfile::from_toml(telltale_fuzz::PROFILE).expect("profile");
    [1, 2, 3].map(|threads| {
        Analyzer::builder()
            .threads(threads)
            .identifiers(Some(&profile))
            .build()
    })
});

static PATH: LazyLock<PathBuf> = LazyLock::new(|| {
    std::env::temp_dir().join(format!("telltale-fuzz-split-{}.pcap", std::process::id()))
});

static GZ_PATH: LazyLock<PathBuf> = LazyLock::new(|| PATH.with_extension("pcap.gz"));

fn render(report: &Report) -> Vec<u8> {
    let mut out = Vec::new();
    write_jsonl(report, &mut out).expect("to memory");
    write_flows_csv(report, &mut out).expect("to memory");
    write_identifiers_csv(report, &mut out).expect("to memory");
    write_destinations_csv(report, &mut out).expect("to memory");
    out
}

fuzz_target!(|data: &[u8]| {
    std::fs::write(&*PATH, data).expect("write the temporary capture");
    let [one, two, three] = &*ANALYZERS;
    same_on_any_thread_count(&PATH, one, &[(2, two), (3, three)]);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, data).expect("to memory");
    std::fs::write(&*GZ_PATH, gz.finish().expect("to memory"))
        .expect("write the temporary capture");
    same_on_any_thread_count(&GZ_PATH, one, &[(2, two)]);
});

fn same_on_any_thread_count(path: &Path, one: &Analyzer, others: &[(usize, &Analyzer)]) {
    let want = one.analyze([path]).map(|r| render(&r));
    for &(threads, a) in others {
        let got = a.analyze([path]).map(|r| render(&r));
        match (&want, &got) {
            (Ok(w), Ok(g)) => assert!(
                w == g,
                "{}: {threads} threads differ from one:\n--- one\n{}\n--- {threads}\n{}",
                path.display(),
                String::from_utf8_lossy(w),
                String::from_utf8_lossy(g)
            ),
            (Err(_), Err(_)) => {}
            (w, g) => panic!(
                "{}: one thread: {:?}; {threads} threads: {:?}",
                path.display(),
                w.as_ref().map(|_| "a report"),
                g.as_ref().map(|_| "a report")
            ),
        }
    }
}
