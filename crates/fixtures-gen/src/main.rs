//! `telltale-fixtures [DIR]`: writes every fixture capture into `DIR`
//! (default `fixtures/`), the same bytes on every run.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let dir = args
        .next()
        .map_or_else(|| PathBuf::from("fixtures"), PathBuf::from);
    if args.next().is_some() {
        eprintln!("usage: telltale-fixtures [DIR]");
        return ExitCode::from(2);
    }
    match telltale_fixtures::captures::write_all(&dir) {
        Ok(written) => {
            let total: usize = written.iter().map(|(_, n)| n).sum();
            for (name, size) in &written {
                println!("{size:>8}  {}", dir.join(name).display());
            }
            println!("{total:>8}  total, {} files", written.len());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!(
                "telltale-fixtures: cannot write into {}: {e}",
                dir.display()
            );
            ExitCode::FAILURE
        }
    }
}
