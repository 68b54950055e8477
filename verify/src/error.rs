//! Typed errors. [`ExtractError`] is a refused or failed archive extraction;
//! [`InputError`] is input the verifier cannot use at all (exit code 2).
//! Problems *inside* a usable fixture are findings, not errors.

use std::path::PathBuf;

pub use thrum_io::extract::ExtractError;

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
    /// An entry the archive should hold and does not.
    #[error("{archive}: {entry} is missing from the archive; expected {expected}")]
    MissingEntry { archive: PathBuf, entry: String, expected: &'static str },
    #[error("{path}: missing; expected the SQLite database var/messages.db")]
    MissingDatabase { path: PathBuf },
    #[error("{path}: expected a SQLite database: {reason}")]
    NotADatabase { path: PathBuf, reason: String },
    #[error("{path}: this is a v5 layout (messages.jsonl, no events.jsonl); expected a v13 .thrum/ — use `verify migrate` for v5 fixtures")]
    V5Layout { path: PathBuf },
    #[error("{path}: expected a v5 layout (.thrum/messages.jsonl without events.jsonl or messages/): {reason}")]
    NotV5 { path: PathBuf, reason: String },
    /// Input beyond what the verifier can index (more event files or lines
    /// than [`crate::index::Pos`] numbers); `reason` says which limit and
    /// whether an option raises it.
    #[error("{path}: too large to verify: {reason}")]
    TooLarge { path: PathBuf, reason: String },
    #[error("{path}: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    /// A write failed because the disk or quota is full; `path` is the file
    /// being written.
    #[error("disk full while writing {path}")]
    DiskFull { path: PathBuf },
}

impl InputError {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> InputError {
        InputError::Io { path: path.into(), source }
    }
    /// An error writing `path`: [`InputError::DiskFull`] when the disk or
    /// quota is full.
    pub fn write(path: impl Into<PathBuf>, source: std::io::Error) -> InputError {
        if thrum_io::regular::is_disk_full(&source) {
            return InputError::DiskFull { path: path.into() };
        }
        InputError::Io { path: path.into(), source }
    }
    pub fn db(path: impl Into<PathBuf>, e: impl std::fmt::Display) -> InputError {
        InputError::NotADatabase { path: path.into(), reason: e.to_string() }
    }
}
