//! Turning the paths a user gives into the captures to read.

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// Whether a file starts like a capture: pcap (any byte order or
/// resolution), pcapng, or gzip (checked when opened).
pub fn is_capture_file(path: &Path) -> io::Result<bool> {
    let mut magic = [0u8; 4];
    let mut f = fs::File::open(path)?;
    let mut n = 0;
    while n < 4 {
        match f.read(&mut magic[n..])? {
            0 => return Ok(false),
            k => n += k,
        }
    }
    Ok(matches!(
        magic,
        [0xd4, 0xc3, 0xb2, 0xa1]
            | [0xa1, 0xb2, 0xc3, 0xd4]
            | [0x4d, 0x3c, 0xb2, 0xa1]
            | [0xa1, 0xb2, 0x3c, 0x4d]
            | [0x0a, 0x0d, 0x0d, 0x0a]
            | [0x1f, 0x8b, _, _]
    ))
}

/// Expands the given paths: files are kept as given (whatever their content:
/// the reader will say if they are not captures), folders are walked
/// recursively and their files kept when their first bytes are a capture's.
/// Folder contents come in sorted order, so the same folder always gives the
/// same list. Unreadable entries are returned as errors beside the list.
pub fn expand_inputs<P: AsRef<Path>>(
    paths: impl IntoIterator<Item = P>,
) -> (Vec<PathBuf>, Vec<(PathBuf, io::Error)>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        let p = p.as_ref();
        if p.is_dir() {
            walk(p, &mut files, &mut errors, 0);
        } else {
            files.push(p.to_path_buf());
        }
    }
    (files, errors)
}

/// Folder depth beyond which we stop: a symlink loop must not recurse forever.
const MAX_DEPTH: usize = 32;

fn walk(
    dir: &Path,
    files: &mut Vec<PathBuf>,
    errors: &mut Vec<(PathBuf, io::Error)>,
    depth: usize,
) {
    if depth > MAX_DEPTH {
        return;
    }
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            errors.push((dir.to_path_buf(), e));
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            walk(&p, files, errors, depth + 1);
        } else if p.is_file() {
            match is_capture_file(&p) {
                Ok(true) => files.push(p),
                Ok(false) => {}
                Err(e) => errors.push((p, e)),
            }
        }
    }
}
