//! Cuts a capture into many small pcap files, for the batch row of the
//! speed comparison (`benches/compare.sh`): the issue asks that a folder of
//! small captures is not slower per byte than one large one, and a folder
//! cut from the benchmark corpus holds the same traffic.
//!
//! By size (the default), each output file gets the frames that follow
//! until it reaches the size asked for (a frame is never cut), as
//! `part-00001.pcap`, `part-00002.pcap`, ... in nanosecond pcap with the
//! first frame's link type (a frame of another link type starts a new
//! file). Flows that cross a cut become two flows, as they would in
//! captures rotated by size, and the second half of each is picked up in
//! the middle.
//!
//! By address pair (`pairs`), the capture's size divided by the size asked
//! for gives the number of files, and each frame goes to the file of its
//! address pair ([`pair_hash`]; frames that are not IP to the first): every
//! flow stays whole, but most flows land in another file than the DNS
//! answer that named them, so a batch of these files does less naming and
//! writes less than the capture (a lower bound for what a batch costs; the
//! rotated files give an upper one). (Only captures of one link type.)
//!
//! ```sh
//! cargo run --release -p telltale-decode --example split -- corpus.pcap OUT_DIR 4 [pairs]
//! ```

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use telltale_decode::{CaptureReader, LinkType, pair_hash};

/// One output file being written.
struct Part {
    out: BufWriter<File>,
    link: LinkType,
    bytes: u64,
}

impl Part {
    fn create(path: &Path, link: LinkType) -> std::io::Result<Part> {
        let mut out = BufWriter::new(File::create(path)?);
        // Little-endian nanosecond pcap header, snaplen 262144.
        out.write_all(&0xa1b2_3c4d_u32.to_le_bytes())?;
        out.write_all(&2u16.to_le_bytes())?;
        out.write_all(&4u16.to_le_bytes())?;
        out.write_all(&[0; 8])?;
        out.write_all(&262_144u32.to_le_bytes())?;
        out.write_all(&link.0.to_le_bytes())?;
        Ok(Part {
            out,
            link,
            bytes: 24,
        })
    }
}

impl Part {
    fn write(&mut self, f: &telltale_decode::Frame<'_>) -> std::io::Result<()> {
        let nanos = f.ts.as_nanos().max(0) as u64;
        let (secs, frac) = (nanos / 1_000_000_000, nanos % 1_000_000_000);
        self.out.write_all(&(secs as u32).to_le_bytes())?;
        self.out.write_all(&(frac as u32).to_le_bytes())?;
        self.out.write_all(&(f.data.len() as u32).to_le_bytes())?;
        self.out.write_all(&f.orig_len.to_le_bytes())?;
        self.out.write_all(f.data)?;
        self.bytes += 16 + f.data.len() as u64;
        Ok(())
    }
}

/// Writes `n` files, each frame to the file of its address pair.
fn split_by_pair(input: &str, dir: &Path, n: u64) -> Result<(), Box<dyn std::error::Error>> {
    let mut reader = CaptureReader::open(input)?;
    let mut parts: Vec<Part> = Vec::new();
    while let Some(f) = reader.next_frame()? {
        if parts.is_empty() {
            for i in 1..=n {
                parts.push(Part::create(
                    &dir.join(format!("part-{i:05}.pcap")),
                    f.link,
                )?);
            }
        }
        if f.link != parts[0].link {
            return Err(format!("frame {}: a second link type", f.index).into());
        }
        let i = pair_hash(&f).map_or(0, |h| (h % n) as usize);
        parts[i].write(&f)?;
    }
    for mut p in parts {
        p.out.flush()?;
    }
    println!("{n} files in {}", dir.display());
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: split CAPTURE OUT_DIR [MIB_PER_FILE] [pairs]";
    let input = args.next().ok_or(usage)?;
    let dir = PathBuf::from(args.next().ok_or(usage)?);
    let mib: u64 = args.next().map_or(Ok(4), |s| s.parse())?;
    let limit = mib.max(1) << 20;
    let by_pair = args.next().is_some_and(|a| a == "pairs");
    fs::create_dir_all(&dir)?;
    if by_pair {
        let n = fs::metadata(&input)?.len().div_ceil(limit).max(1);
        return split_by_pair(&input, &dir, n);
    }
    let mut reader = CaptureReader::open(&input)?;
    let mut part: Option<Part> = None;
    let mut files = 0u32;
    while let Some(f) = reader.next_frame()? {
        let full = part
            .as_ref()
            .is_none_or(|p| p.link != f.link || p.bytes + 16 + f.data.len() as u64 > limit);
        if full {
            if let Some(mut p) = part.take() {
                p.out.flush()?;
            }
            files += 1;
            part = Some(Part::create(
                &dir.join(format!("part-{files:05}.pcap")),
                f.link,
            )?);
        }
        part.as_mut().expect("a part is open").write(&f)?;
    }
    if let Some(mut p) = part {
        p.out.flush()?;
    }
    for w in reader.warnings() {
        eprintln!("split: warning: {w}");
    }
    println!("{files} files in {}", dir.display());
    Ok(())
}
