//! Decompresses the embedded GeoIP table once, at build time, so that the
//! program reads it in place instead of inflating 15 MB on every run (the
//! repository and the published crate keep the 4.4 MB gzip file).

use std::io::Read;
use std::path::PathBuf;

fn main() {
    let src = "data/default-geo.bin.gz";
    println!("cargo::rerun-if-changed={src}");
    let gz = std::fs::read(src).unwrap_or_else(|e| panic!("reading {src}: {e}"));
    let mut raw = Vec::with_capacity(16 << 20);
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut raw)
        .unwrap_or_else(|e| panic!("decompressing {src}: {e}"));
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR set by cargo"));
    std::fs::write(out.join("default-geo.bin"), raw).expect("writing the table to OUT_DIR");
}
