//! Opening an input: an archive (extracted safely into a temporary
//! directory) or a directory tree.

use crate::error::InputError;
use crate::extract::{self, Entry, Limits};
use std::path::{Path, PathBuf};

/// An opened fixture tree.
#[derive(Debug)]
pub struct Tree {
    /// The `.thrum` directory.
    pub thrum: PathBuf,
    /// The directory holding `.thrum` (paths in manifests are relative to it).
    pub base: PathBuf,
    /// The archive this tree was extracted from.
    pub archive: Option<PathBuf>,
    /// The archive's entries, when extracted.
    pub entries: Option<Vec<Entry>>,
    /// Keeps the extraction directory alive.
    pub _tmp: Option<tempfile::TempDir>,
}

impl Tree {
    /// A path inside `.thrum`.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.thrum.join(rel)
    }
    /// Whether the tree has the v5 layout (`messages.jsonl`, no `events.jsonl`, no `messages/`).
    pub fn is_v5_layout(&self) -> bool {
        self.path("messages.jsonl").is_file() && !self.path("events.jsonl").exists() && !self.path("messages").exists()
    }
    /// Display name of the input.
    pub fn display(&self) -> String {
        self.archive.as_deref().unwrap_or(&self.base).display().to_string()
    }
}

/// Opens PATH: a `.tar.zst`/`.tar.gz` archive (by magic bytes), a directory
/// containing `.thrum/`, or a `.thrum` directory itself.
pub fn open(path: &Path, limits: &Limits) -> Result<Tree, InputError> {
    let meta = std::fs::metadata(path).map_err(|_| InputError::NotFound { path: path.to_path_buf() })?;
    if meta.is_dir() {
        if path.join(".thrum").is_dir() {
            return Ok(Tree { thrum: path.join(".thrum"), base: path.to_path_buf(), archive: None, entries: None, _tmp: None });
        }
        if path.file_name().is_some_and(|n| n == ".thrum") {
            let abs = std::fs::canonicalize(path).map_err(|e| InputError::io(path, e))?;
            let base = abs.parent().map(Path::to_path_buf).unwrap_or_else(|| abs.clone());
            return Ok(Tree { thrum: abs, base, archive: None, entries: None, _tmp: None });
        }
        return Err(InputError::NotAFixture { path: path.to_path_buf() });
    }
    if !meta.is_file() || !extract::looks_like_archive(path) {
        return Err(InputError::NotAFixture { path: path.to_path_buf() });
    }
    let tmp = tempfile::Builder::new().prefix("verify-").tempdir().map_err(|e| InputError::io(std::env::temp_dir(), e))?;
    let entries = extract::unpack(path, tmp.path(), limits)?;
    let thrum = tmp.path().join(".thrum");
    if !thrum.is_dir() {
        return Err(InputError::NoThrumRoot { path: path.to_path_buf() });
    }
    Ok(Tree { thrum, base: tmp.path().to_path_buf(), archive: Some(path.to_path_buf()), entries: Some(entries), _tmp: Some(tmp) })
}
