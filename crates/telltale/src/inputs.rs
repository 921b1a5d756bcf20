//! Turning the paths a user gives into the captures to read.

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// Whether a file starts like a capture: pcap (any byte order or
/// resolution), pcapng, or gzip (checked when opened).
pub fn is_capture_file(path: &Path) -> io::Result<bool> {
    Ok(matches!(
        first_bytes(path)?,
        Some(
            [0xd4, 0xc3, 0xb2, 0xa1]
                | [0xa1, 0xb2, 0xc3, 0xd4]
                | [0x4d, 0x3c, 0xb2, 0xa1]
                | [0xa1, 0xb2, 0x3c, 0x4d]
                | [0x0a, 0x0d, 0x0d, 0x0a]
                | [0x1f, 0x8b, _, _]
        )
    ))
}

/// What an input path is, as the engine reads it.
enum Input {
    /// A regular file, not compressed, of this many bytes.
    Plain(u64),
    /// A gzip-compressed regular file of this many bytes.
    Gzip(u64),
    /// Standard input, a folder, or what cannot be read.
    Other,
}

fn input(path: &Path) -> Input {
    if path == Path::new("-") {
        return Input::Other;
    }
    match (fs::metadata(path), first_bytes(path)) {
        (Ok(m), Ok(Some([0x1f, 0x8b, _, _]))) if m.is_file() => Input::Gzip(m.len()),
        (Ok(m), Ok(_)) if m.is_file() => Input::Plain(m.len()),
        _ => Input::Other,
    }
}

/// Whether a capture is a regular file that is not gzip-compressed: every
/// shard of a split run then frames it itself, from chunks read once
/// (`share::SharedFile` seeks in it); others are read once and routed.
pub(crate) fn is_plain_file(path: &Path) -> bool {
    matches!(input(path), Input::Plain(_))
}

/// About how many bytes of capture a path holds, to choose between
/// collecting and streaming: a plain file's size, a gzip file's size times
/// eight (captures of phone traffic shrink two to eight times), and no
/// limit for standard input or what cannot be read.
pub(crate) fn size_estimate(path: &Path) -> u64 {
    match input(path) {
        Input::Plain(len) => len,
        Input::Gzip(len) => len.saturating_mul(8),
        Input::Other => u64::MAX,
    }
}

/// A file's first four bytes (`None` when it is shorter).
fn first_bytes(path: &Path) -> io::Result<Option<[u8; 4]>> {
    let mut magic = [0u8; 4];
    let mut f = fs::File::open(path)?;
    let mut n = 0;
    while n < 4 {
        match f.read(&mut magic[n..])? {
            0 => return Ok(None),
            k => n += k,
        }
    }
    Ok(Some(magic))
}

/// Expands the given paths: files are kept as given (whatever their content:
/// the reader will say if they are not captures), folders are walked
/// recursively and their files kept when their first bytes are a capture's.
/// Inside a folder, symbolic links to files are read but symbolic links to
/// folders are not followed, so a link back up the tree cannot make the walk
/// explode or list the same capture under many paths. Folder contents come in
/// sorted order, so the same folder always gives the same list. Unreadable
/// entries are returned as errors beside the list.
pub fn expand_inputs<P: AsRef<Path>>(
    paths: impl IntoIterator<Item = P>,
) -> (Vec<PathBuf>, Vec<(PathBuf, io::Error)>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        let p = p.as_ref();
        // A folder named by the user is walked even through a link: they
        // asked for it by name.
        if p.is_dir() {
            walk(p, &mut files, &mut errors, 0);
        } else {
            files.push(p.to_path_buf());
        }
    }
    (files, errors)
}

/// Folder depth beyond which we stop: links are not followed, but a tree can
/// still be absurdly deep (or loop through a bind mount).
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
    // `DirEntry::file_type` describes the entry itself, not what a link
    // points to, unlike `Path::is_dir`.
    let mut entries: Vec<(PathBuf, io::Result<fs::FileType>)> = entries
        .filter_map(|e| e.ok().map(|e| (e.path(), e.file_type())))
        .collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    for (p, kind) in entries {
        let kind = match kind {
            Ok(k) => k,
            Err(e) => {
                errors.push((p, e));
                continue;
            }
        };
        if kind.is_dir() {
            walk(&p, files, errors, depth + 1);
            continue;
        }
        let is_file = if kind.is_symlink() {
            // Only a link to a regular file is read; links to folders are
            // where loops come from, and dangling links are passed over as
            // before.
            fs::metadata(&p).is_ok_and(|m| m.is_file())
        } else {
            kind.is_file()
        };
        if is_file {
            match is_capture_file(&p) {
                Ok(true) => files.push(p),
                Ok(false) => {}
                Err(e) => errors.push((p, e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh, empty folder under the system temp folder.
    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("telltale-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// A pcap file header and one 4-byte record.
    fn minimal_pcap() -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        v.extend_from_slice(&2u16.to_le_bytes());
        v.extend_from_slice(&4u16.to_le_bytes());
        v.extend_from_slice(&[0; 8]);
        v.extend_from_slice(&65535u32.to_le_bytes());
        v.extend_from_slice(&1u32.to_le_bytes());
        v.extend_from_slice(&1u32.to_le_bytes());
        v.extend_from_slice(&0u32.to_le_bytes());
        v.extend_from_slice(&4u32.to_le_bytes());
        v.extend_from_slice(&4u32.to_le_bytes());
        v.extend_from_slice(b"abcd");
        v
    }

    /// Only a plain, uncompressed regular file is read again by each shard;
    /// sizes are estimated from the same classes.
    #[test]
    fn a_plain_file_is_a_regular_file_not_gzip() {
        let dir = temp_dir("plain-file");
        let plain = dir.join("a.pcap");
        fs::write(&plain, minimal_pcap()).unwrap();
        let gz = dir.join("a.pcap.gz");
        fs::write(&gz, [0x1f, 0x8b, 8, 0, 0, 0]).unwrap();
        assert!(is_plain_file(&plain));
        assert!(!is_plain_file(&gz));
        assert!(!is_plain_file(Path::new("-")));
        assert!(!is_plain_file(&dir));
        assert!(!is_plain_file(&dir.join("missing.pcap")));
        // The same classes decide between collecting and streaming.
        assert_eq!(size_estimate(&plain), minimal_pcap().len() as u64);
        assert_eq!(size_estimate(&gz), 6 * 8);
        assert_eq!(size_estimate(Path::new("-")), u64::MAX);
        assert_eq!(size_estimate(&dir), u64::MAX);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn walk_does_not_follow_folder_links() {
        use std::os::unix::fs::symlink;
        let dir = temp_dir("symlinks");
        fs::write(dir.join("x.pcap"), minimal_pcap()).unwrap();
        fs::write(dir.join("notes.txt"), b"not a capture").unwrap();
        fs::create_dir(dir.join("sub")).unwrap();
        fs::write(dir.join("sub").join("y.pcap"), minimal_pcap()).unwrap();
        // A link back to the folder itself: followed, it listed every
        // capture 33 times under longer and longer paths (and two such links
        // made 2^33 walks, too slow to be a test).
        symlink(".", dir.join("a")).unwrap();
        // A link to a file is still read, a dangling link is passed over.
        symlink("x.pcap", dir.join("link.pcap")).unwrap();
        symlink("missing.pcap", dir.join("dangling.pcap")).unwrap();

        let (files, errors) = expand_inputs([&dir]);
        let _ = fs::remove_dir_all(&dir);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            files,
            [
                dir.join("link.pcap"),
                dir.join("sub").join("y.pcap"),
                dir.join("x.pcap"),
            ]
        );
    }

    #[test]
    fn walk_keeps_captures_in_sorted_order() {
        let dir = temp_dir("sorted");
        fs::write(dir.join("b.pcap"), minimal_pcap()).unwrap();
        fs::write(dir.join("a.pcap"), minimal_pcap()).unwrap();
        fs::write(dir.join("short"), b"ab").unwrap();
        let (files, errors) = expand_inputs([&dir]);
        let _ = fs::remove_dir_all(&dir);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(files, [dir.join("a.pcap"), dir.join("b.pcap")]);
    }
}
