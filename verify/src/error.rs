//! Typed errors. [`ExtractError`] is a refused or failed archive extraction;
//! [`InputError`] is input the verifier cannot use at all (exit code 2).
//! Problems *inside* a usable fixture are findings, not errors.

use std::path::PathBuf;

/// Why an archive was not extracted. Every refusal names the entry.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error("{archive}: not a .tar.zst or .tar.gz archive (expected zstd magic 28 b5 2f fd or gzip magic 1f 8b)")]
    UnsupportedFormat { archive: PathBuf },
    #[error("{archive}: entry {entry:?} has an absolute path")]
    AbsolutePath { archive: PathBuf, entry: String },
    #[error("{archive}: entry {entry:?} contains a '..' component")]
    ParentComponent { archive: PathBuf, entry: String },
    #[error("{archive}: entry {entry:?} has an empty or non-UTF-8 path")]
    InvalidPath { archive: PathBuf, entry: String },
    #[error("{archive}: entry {entry:?} is a symlink (to {target:?}); links are refused")]
    Symlink { archive: PathBuf, entry: String, target: String },
    #[error("{archive}: entry {entry:?} is a hard link (to {target:?}); links are refused")]
    Hardlink { archive: PathBuf, entry: String, target: String },
    #[error("{archive}: entry {entry:?} is a {kind}; only regular files and directories are allowed")]
    SpecialFile { archive: PathBuf, entry: String, kind: String },
    #[error("{archive}: entry {entry:?} appears twice")]
    Duplicate { archive: PathBuf, entry: String },
    #[error("{archive}: entry {entry:?} is {size} bytes, over the per-entry limit of {limit}")]
    EntryTooLarge { archive: PathBuf, entry: String, size: u64, limit: u64 },
    #[error("{archive}: entry {entry:?} brings the expanded size to {total} bytes, over the limit of {limit}")]
    TotalTooLarge { archive: PathBuf, entry: String, total: u64, limit: u64 },
    #[error("{archive}: more than {limit} entries (at {entry:?})")]
    TooManyEntries { archive: PathBuf, entry: String, limit: u64 },
    #[error("{archive}: entry {entry:?} conflicts with an earlier entry (a file where a directory is needed, or the reverse)")]
    PathConflict { archive: PathBuf, entry: String },
    #[error("destination {dest} already exists")]
    DestinationExists { dest: PathBuf },
    #[error("{archive}: corrupt or truncated archive{}: {source}", at.as_ref().map(|e| format!(" at entry {e:?}")).unwrap_or_default())]
    Corrupt { archive: PathBuf, at: Option<String>, source: std::io::Error },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

impl ExtractError {
    /// The entry a refusal names, if any.
    pub fn entry(&self) -> Option<&str> {
        use ExtractError::*;
        match self {
            AbsolutePath { entry, .. }
            | ParentComponent { entry, .. }
            | InvalidPath { entry, .. }
            | Symlink { entry, .. }
            | Hardlink { entry, .. }
            | SpecialFile { entry, .. }
            | Duplicate { entry, .. }
            | EntryTooLarge { entry, .. }
            | TotalTooLarge { entry, .. }
            | TooManyEntries { entry, .. }
            | PathConflict { entry, .. } => Some(entry),
            Corrupt { at, .. } => at.as_deref(),
            _ => None,
        }
    }
}

/// Input that cannot be verified at all (exit code 2). Each names the file
/// and what was expected.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{path} does not exist")]
    NotFound { path: PathBuf },
    /// PATH exists but is not an archive or a fixture tree; `found` says
    /// what it is (see [`crate::input::describe`]).
    #[error("{path} is {found}; expected a .tar.zst / .tar.gz archive, a directory containing .thrum/, or a .thrum directory")]
    NotAFixture { path: PathBuf, found: String },
    /// A path of the wrong kind: `found` says what it is, `expected` what the
    /// command needs there.
    #[error("{path} is {found}; expected {expected}")]
    WrongKind { path: PathBuf, found: String, expected: &'static str },
    #[error("{path}: the archive has no .thrum/ directory at its root")]
    NoThrumRoot { path: PathBuf },
    #[error(transparent)]
    Extract(#[from] ExtractError),
    #[error("{path}: missing; expected the SQLite database var/messages.db")]
    MissingDatabase { path: PathBuf },
    #[error("{path}: expected a SQLite database: {reason}")]
    NotADatabase { path: PathBuf, reason: String },
    #[error("{path}: this is a v5 layout (messages.jsonl, no events.jsonl); expected a v13 .thrum/ — use `verify migrate` for v5 fixtures")]
    V5Layout { path: PathBuf },
    #[error("{path}: expected a v5 layout (.thrum/messages.jsonl without events.jsonl or messages/): {reason}")]
    NotV5 { path: PathBuf, reason: String },
    #[error("{path}: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

impl InputError {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> InputError {
        InputError::Io { path: path.into(), source }
    }
    pub fn db(path: impl Into<PathBuf>, e: impl std::fmt::Display) -> InputError {
        InputError::NotADatabase { path: path.into(), reason: e.to_string() }
    }
}
