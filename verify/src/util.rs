//! Small helpers: hex, SHA-256, line counting, timestamps, file walking.

use std::path::{Path, PathBuf};

pub use thrum_io::hash::{hex, sha256_file, sha256_hex};

/// Lines as `wc -l` counts them plus a final unterminated line.
pub fn count_lines(bytes: &[u8]) -> u64 {
    let nl = bytes.iter().filter(|&&b| b == b'\n').count() as u64;
    if bytes.last().is_some_and(|&b| b != b'\n') {
        nl + 1
    } else {
        nl
    }
}

/// Microseconds of an RFC 3339 timestamp.
pub fn ts(s: &str) -> Option<i64> {
    thrum_schemas::time::parse_rfc3339(s)
}

/// A timestamp the daemon would write: RFC 3339, UTC (`Z`).
pub fn is_utc_timestamp(s: &str) -> bool {
    s.ends_with('Z') && ts(s).is_some()
}

/// Every regular file under `root` (recursively), as `/`-separated paths
/// relative to `base`, sorted. Symlinks and other non-regular entries are
/// returned in the second list.
pub fn walk_files(base: &Path, root: &Path) -> std::io::Result<(Vec<String>, Vec<String>)> {
    let mut files = Vec::new();
    let mut other = Vec::new();
    let mut stack: Vec<PathBuf> = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let ft = entry.file_type()?;
            let p = entry.path();
            let rel = rel_path(base, &p);
            if ft.is_dir() {
                stack.push(p);
            } else if ft.is_file() {
                files.push(rel);
            } else {
                other.push(rel);
            }
        }
    }
    files.sort();
    other.sort();
    Ok((files, other))
}

/// `path` relative to `base` with `/` separators (lossy for non-UTF-8 names).
pub fn rel_path(base: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(base).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn hex_and_lines() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(count_lines(b""), 0);
        assert_eq!(count_lines(b"a\nb\n"), 2);
        assert_eq!(count_lines(b"a\nb"), 2);
        assert!(is_utc_timestamp("2026-01-01T00:00:00.000001Z"));
        assert!(!is_utc_timestamp("2026-01-01T00:00:00+01:00"));
    }
}
