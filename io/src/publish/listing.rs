//! Helpers for recognisers: which entries of a directory tree are not in
//! the set of files a tool writes.

use super::Entries;
use crate::text::shown_path;
use std::collections::HashSet;
use std::path::Path;

/// Walks `dir` without following links and adds to `foreign` every
/// entry that is not a regular file in `files` (relative paths with
/// `/`): a directory is entered when some file of `files` lies below
/// it, passes when empty, and is reported whole (`name/`) otherwise.
/// An unreadable directory is an error (the caller refuses).
pub fn foreign_entries(
    dir: &Path,
    files: &HashSet<String>,
    foreign: &mut Entries,
) -> Result<(), String> {
    let mut dirs = HashSet::new();
    for f in files {
        let mut at = f.as_str();
        while let Some((d, _)) = at.rsplit_once('/') {
            if !dirs.insert(d.to_string()) {
                break;
            }
            at = d;
        }
    }
    walk(dir, "", files, &dirs, foreign)
}

fn walk(
    dir: &Path,
    rel: &str,
    files: &HashSet<String>,
    dirs: &HashSet<String>,
    foreign: &mut Entries,
) -> Result<(), String> {
    let rd = std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", shown_path(dir)))?;
    for e in rd {
        let e = e.map_err(|e| format!("cannot read {}: {e}", shown_path(dir)))?;
        let name = e.file_name().to_string_lossy().into_owned();
        let path = if rel.is_empty() { name.clone() } else { format!("{rel}/{name}") };
        let ft = e
            .file_type()
            .map_err(|err| format!("cannot inspect {}: {err}", shown_path(&e.path())))?;
        if ft.is_dir() {
            if dirs.contains(&path) {
                walk(&e.path(), &path, files, dirs, foreign)?;
            } else if !is_empty_dir(&e.path()) {
                foreign.add(format!("{path}/"));
            }
        } else if !(ft.is_file() && e.file_name().to_str().is_some() && files.contains(&path)) {
            foreign.add(path);
        }
    }
    Ok(())
}

/// True for a directory with no entries at all.
pub fn is_empty_dir(p: &Path) -> bool {
    std::fs::read_dir(p).is_ok_and(|mut rd| rd.next().is_none())
}
