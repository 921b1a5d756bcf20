//! `adversarial [--small] OUTDIR`: writes every hostile capture of
//! `telltale_fixtures::adversarial` into `OUTDIR`, at full size (the
//! bench's: a million-flow SYN flood, a 1 GB sequence gap, a 1 GiB gzip
//! bomb, ...) or, with `--small`, at the size the tests use. Optional
//! capture names after `OUTDIR` limit it to those.

use std::path::PathBuf;
use std::process::ExitCode;

use telltale_fixtures::adversarial::{NAMES, Scale, generate};

fn main() -> ExitCode {
    let mut small = false;
    let mut rest = Vec::new();
    for a in std::env::args_os().skip(1) {
        if a == "--small" {
            small = true;
        } else {
            rest.push(a);
        }
    }
    let mut rest = rest.into_iter();
    let Some(dir) = rest.next().map(PathBuf::from) else {
        eprintln!("usage: adversarial [--small] OUTDIR [NAME...]");
        return ExitCode::from(2);
    };
    let only: Vec<String> = rest.map(|a| a.to_string_lossy().into_owned()).collect();
    if let Some(bad) = only.iter().find(|n| !NAMES.contains(&n.as_str())) {
        eprintln!(
            "adversarial: unknown capture {bad}; known: {}",
            NAMES.join(" ")
        );
        return ExitCode::from(2);
    }
    let scale = if small { Scale::small() } else { Scale::full() };
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("adversarial: cannot create {}: {e}", dir.display());
        return ExitCode::FAILURE;
    }
    for name in NAMES {
        if !only.is_empty() && !only.iter().any(|n| n == name) {
            continue;
        }
        let bytes = generate(name, &scale).expect("a known name");
        let path = dir.join(name);
        if let Err(e) = std::fs::write(&path, &bytes) {
            eprintln!("adversarial: cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
        println!("{:>12}  {}", bytes.len(), path.display());
    }
    ExitCode::SUCCESS
}
